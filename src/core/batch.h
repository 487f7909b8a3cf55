/* batch.h - the columnar batch: one shape from parser to sink.
 *
 * A schema names typed columns; a batch holds up to `cap` rows as one array per column
 * plus a null bitmap, and strings as offsets into an interning pool (a day of 5-minute
 * prices stores each node name once). Batches are reused (au_batch_clear) so memory is
 * flat whatever the length of a backfill. */
#ifndef AU_BATCH_H
#define AU_BATCH_H
#include "core/au.h"
#include "core/time.h"

enum au_type {
  AU_T_TIME = 1,   /* au_time; stored as "YYYY-MM-DDTHH:MM:SSZ" text in SQLite, timestamptz in PG */
  AU_T_TIMESTAMP,  /* au_time with µs precision; text "YYYY-MM-DDTHH:MM:SS.ffffffZ" in SQLite */
  AU_T_DOUBLE,
  AU_T_INT,        /* int64 */
  AU_T_TEXT,
  AU_T_BOOL
};

enum au_col_flags {
  AU_COL_KEY = 1 << 0,       /* part of the primary key */
  AU_COL_NULLABLE = 1 << 1,
  AU_COL_SEQUENCE = 1 << 2,  /* the SCD sequence column (ingestion_time) */
  AU_COL_CURSOR = 1 << 3,    /* data-time cursor for the watermark */
  AU_COL_VALUE = 1 << 4      /* a measured value (for change detection & watermarks) */
};

struct au_column {
  const char *name;
  enum au_type type;
  unsigned flags;
  const char *doc;
};

struct au_schema {
  const struct au_column *cols;
  int ncols;
  /* Primary-key column order (indexes into cols); NULL = the AU_COL_KEY columns in
   * schema order. */
  const int *key_order;
  int nkey;
};

/* The primary-key columns in key order: fills idx (capacity max), returns the count. */
int au_schema_key_cols(const struct au_schema *s, int *idx, int max);

const char *au_type_name(enum au_type t);
int au_schema_find(const struct au_schema *s, const char *name); /* index or -1 */

union au_cell {
  int64_t i; /* AU_T_TIME, AU_T_TIMESTAMP, AU_T_INT, AU_T_BOOL */
  double d;  /* AU_T_DOUBLE */
  uint32_t s; /* AU_T_TEXT: string id in the batch's pool */
};

struct au_strpool; /* interning pool, private to batch.c */

struct au_batch {
  const struct au_schema *schema;
  size_t nrows;
  size_t cap;
  union au_cell **cols; /* cols[c][r] */
  uint8_t **nulls;      /* nulls[c][r] != 0 when NULL */
  struct au_strpool *pool;
  bool in_row;
};

/* Allocate for `cap` rows (grows if exceeded). Aborts on OOM. */
struct au_batch *au_batch_new(const struct au_schema *schema, size_t cap);
void au_batch_free(struct au_batch *b);
/* Drop all rows and strings; keep the memory. */
void au_batch_clear(struct au_batch *b);

/* Start a row: every cell begins NULL. Returns the row index. */
size_t au_batch_add_row(struct au_batch *b);
/* Remove the last row (e.g. when a parser rejects it half-way). */
void au_batch_drop_last(struct au_batch *b);

/* Set cells of the last row (or any row r < nrows with the _at variants). */
void au_batch_set_time(struct au_batch *b, int col, au_time v);
void au_batch_set_double(struct au_batch *b, int col, double v);
void au_batch_set_int(struct au_batch *b, int col, int64_t v);
void au_batch_set_bool(struct au_batch *b, int col, bool v);
void au_batch_set_text(struct au_batch *b, int col, const char *s, size_t len);
void au_batch_set_null(struct au_batch *b, int col);

void au_batch_set_time_at(struct au_batch *b, size_t r, int col, au_time v);
void au_batch_set_double_at(struct au_batch *b, size_t r, int col, double v);
void au_batch_set_text_at(struct au_batch *b, size_t r, int col, const char *s, size_t len);

static inline bool au_batch_is_null(const struct au_batch *b, size_t r, int col) {
  return b->nulls[col][r] != 0;
}
static inline int64_t au_batch_int(const struct au_batch *b, size_t r, int col) {
  return b->cols[col][r].i;
}
static inline double au_batch_double(const struct au_batch *b, size_t r, int col) {
  return b->cols[col][r].d;
}
/* String of a TEXT cell (NUL-terminated, owned by the batch); len optional. */
const char *au_batch_text(const struct au_batch *b, size_t r, int col, size_t *len);

/* Intern a string; returns its id (stable until au_batch_clear). */
uint32_t au_batch_intern(struct au_batch *b, const char *s, size_t len);
const char *au_batch_str(const struct au_batch *b, uint32_t id, size_t *len);
/* Number of interned strings (ids are 0 .. n-1). */
uint32_t au_batch_nstrings(const struct au_batch *b);

/* A finite double as the shortest of %.15g / %.16g / %.17g that reads back as v, without
 * printf or strtod when v has at most 15 significant digits; d >= 32 bytes. Returns the
 * length (d is NUL-terminated). */
size_t au_fmt_double(double v, char *d);
/* An int64 in decimal; d >= 24 bytes. Returns the length. */
size_t au_fmt_i64(int64_t v, char *d);

/* Format cell as text for CSV/JSON/SQL params: times as ISO UTC; doubles with %.17g
 * trimmed (shortest round-trip); bools true/false. Returns false for NULL. */
bool au_batch_cell_str(const struct au_batch *b, size_t r, int col, char *buf, size_t bufsz,
                       const char **out, size_t *outlen);

#endif

/* store.h - the store plug-in interface: a sink that also keeps state.
 *
 * A store holds the data tables and aurum's own state (watermarks, run history). Its
 * commit writes the batch's rows and the new watermark in one transaction, so a
 * watermark never moves past rows that were not stored. Implementations: sqlite.c,
 * (postgres.c). Each embeds struct au_store as its first member. */
#ifndef AU_STORE_H
#define AU_STORE_H
#include "core/au.h"
#include "core/batch.h"
#include "core/time.h"

struct au_err;

/* A destination table bound to a schema. */
struct au_table_ref {
  const char *key;      /* state key, e.g. "aeso.pool_price" */
  const char *dest;     /* destination table name, e.g. "aeso_pool_price" (an identifier:
                           [A-Za-z_][A-Za-z0-9_]*, optionally "schema.table") */
  const struct au_schema *schema;
  int seq_col;          /* index of the SCD sequence column (ingestion_time), or -1 */
};

/* SCD type 1 merge outcome per row:
 *   inserted  - new key;
 *   updated   - existing key, incoming sequence >= stored and some value differs;
 *   unchanged - existing key with equal values, or a stored row with a newer sequence
 *               (an older ingestion never overwrites a newer one). */
struct au_merge_stats {
  uint64_t inserted, updated, unchanged;
  /* Optional, caller-provided array of batch->nrows entries; when non-NULL the store
   * writes each row's outcome (AU_ROW_*), so sinks can forward only stored changes. */
  uint8_t *outcome;
};
enum { AU_ROW_UNCHANGED = 0, AU_ROW_INSERTED = 1, AU_ROW_UPDATED = 2 };

struct au_state {
  char key[128];
  au_time watermark;   /* AU_TIME_NONE if never set */
  au_time updated_at;
  char details[1024];  /* JSON text, "{}" if none */
};

struct au_state_update {
  const char *key;
  au_time watermark;   /* new watermark; the store keeps max(old, new) */
  const char *details; /* JSON or NULL */
};

struct au_run_record {
  int64_t id;
  const char *key;
  au_time started_at, finished_at;
  const char *status;  /* "running", "ok", "failed" */
  uint64_t inserted, updated, unchanged, requests, batches;
  const char *error;
};

struct au_store;

struct au_store_ops {
  const char *scheme; /* "sqlite", "postgresql" */
  int (*open)(const char *url, struct au_store **out, struct au_err *err);
  void (*close)(struct au_store *s);
  /* Create the table if missing (and its indexes). */
  int (*ensure_table)(struct au_store *s, const struct au_table_ref *t, struct au_err *err);
  int (*begin)(struct au_store *s, struct au_err *err);
  /* Merge rows (SCD type 1, see au_merge_stats) inside the open transaction. */
  int (*write)(struct au_store *s, const struct au_table_ref *t, const struct au_batch *b,
               struct au_merge_stats *st, struct au_err *err);
  /* Commit the transaction, with the state update (may be NULL) in it. */
  int (*commit)(struct au_store *s, const struct au_state_update *up, struct au_err *err);
  void (*rollback)(struct au_store *s);
  /* State. state_get returns AU_E_NOTFOUND when the key has none. */
  int (*state_get)(struct au_store *s, const char *key, struct au_state *out, struct au_err *err);
  int (*state_list)(struct au_store *s, int (*cb)(void *arg, const struct au_state *st), void *arg,
                    struct au_err *err);
  int (*state_reset)(struct au_store *s, const char *key, struct au_err *err);
  /* Run history: run_begin fills r->id. */
  int (*run_begin)(struct au_store *s, struct au_run_record *r, struct au_err *err);
  int (*run_end)(struct au_store *s, const struct au_run_record *r, struct au_err *err);
  /* Exclusive lock on a table key across processes (timeout seconds; 0 = try once).
   * Returns AU_E_LOCK when not acquired. */
  int (*lock)(struct au_store *s, const char *key, double timeout, struct au_err *err);
  void (*unlock)(struct au_store *s, const char *key);
  /* Count rows of a destination table (for reports and tests); -1 on error. */
  int64_t (*count_rows)(struct au_store *s, const struct au_table_ref *t, struct au_err *err);
};

struct au_store {
  const struct au_store_ops *ops;
};

/* Open by URL: "sqlite:PATH", "sqlite://PATH", "PATH.db", "postgresql://...", "postgres://...". */
int au_store_open(const char *url, struct au_store **out, struct au_err *err);
void au_store_close(struct au_store *s);
/* Validate a destination identifier (see au_table_ref.dest). */
bool au_ident_valid(const char *s);

#endif

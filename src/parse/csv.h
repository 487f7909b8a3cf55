/* csv.h - an incremental (push) RFC-4180 CSV parser plus small field helpers.
 *
 * No I/O: feed bytes in any chunking with au_csv_feed(), then call au_csv_finish() to
 * flush a last record that has no trailing newline. Each complete record is passed to the
 * row callback; its fields are NUL-terminated and point into an internal buffer that is
 * reused for the next record (copy what you keep).
 *
 * Accepted input: quoted fields with "" escapes and embedded delimiters / newlines; LF,
 * CRLF and lone CR line ends; a UTF-8 BOM at the very start (dropped); blank lines
 * (skipped, still counted in `line`); spaces and tabs after a closing quote (ignored).
 * Spaces inside unquoted fields are preserved (callers trim). A line holding only
 * delimiters is a record of empty fields, not a blank line.
 *
 * Errors name the position: "csv line 12, field 3: quote inside unquoted field"
 * (AU_E_PARSE), "csv line 4, field 1: field exceeds 1048576 bytes" (AU_E_TOOBIG).
 * After an error every later feed/finish returns the same code. */
#ifndef AU_PARSE_CSV_H
#define AU_PARSE_CSV_H
#include "core/au.h"
#include "core/err.h"

struct au_csv_limits {
  size_t max_field;  /* bytes in one field (after unquoting); default 1 MiB */
  size_t max_fields; /* fields in one record; default 4096 */
  size_t max_rows;   /* records in the whole input; default SIZE_MAX */
};

#define AU_CSV_DEFAULT_MAX_FIELD ((size_t)1 << 20)
#define AU_CSV_DEFAULT_MAX_FIELDS ((size_t)4096)

struct au_csv_row {
  const char *const *fields; /* nfields NUL-terminated strings */
  const size_t *lens;        /* their lengths (fields may hold NUL bytes) */
  size_t nfields;
  uint64_t row;  /* 1-based record number (blank lines not counted) */
  uint64_t line; /* 1-based physical line where the record starts */
};

/* Called once per record. Return 0 to go on; non-zero aborts the parse and is returned
 * by au_csv_feed()/au_csv_finish() (negative AU_E_* as is, positive as AU_E_CANCELLED).
 * Fill err to explain; a generic message is used otherwise. */
typedef int (*au_csv_row_cb)(void *arg, const struct au_csv_row *row, struct au_err *err);

struct au_csv;

/* lim NULL = defaults; a zero member of lim also means its default. Aborts on OOM. */
struct au_csv *au_csv_new(const struct au_csv_limits *lim, char delim, au_csv_row_cb cb,
                          void *arg);
/* Parse len more bytes. 0 or a negative AU_E_* (AU_E_PARSE, AU_E_TOOBIG, AU_E_NOMEM, ...). */
int au_csv_feed(struct au_csv *p, const char *data, size_t len, struct au_err *err);
/* End of input: emit the last record if it lacks a newline; error on an open quote. */
int au_csv_finish(struct au_csv *p, struct au_err *err);
/* Records emitted so far. */
uint64_t au_csv_rows(const struct au_csv *p);
void au_csv_free(struct au_csv *p);

/* Header lookup flags. */
#define AU_CSV_ICASE 1u /* ASCII case-insensitive */
#define AU_CSV_LOOSE 2u /* case-insensitive, ignore surrounding spaces, ' ' == '_' */

/* Index of the first field of hdr equal to name under flags, or -1. */
int au_csv_header_index(const struct au_csv_row *hdr, const char *name, unsigned flags);

/* Parse a decimal number in s[0..len) (not NUL-terminated necessarily). Surrounding
 * spaces/tabs are trimmed. Accepts [+-]digits[.digits][e[+-]digits], ".92", "-.67", "5.";
 * rejects empty, garbage, hex, inf, nan, overflow. Locale-independent. 0 or AU_E_PARSE. */
int au_parse_double(const char *s, size_t len, double *out);
/* Parse [+-]digits (trimmed) into an int64; overflow and garbage are AU_E_PARSE. */
int au_parse_int64(const char *s, size_t len, int64_t *out);
/* True for empty, all spaces, "-", "N/A", "NA" (trimmed, case-insensitive). */
bool au_str_is_blank_or_dash(const char *s, size_t len);

#endif

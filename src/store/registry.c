/* registry.c - store plug-ins by URL scheme (one line per store). */
#include "core/au.h"
#include "core/err.h"
#include "store/store.h"

#include <ctype.h>
#include <string.h>

extern const struct au_store_ops au_store_sqlite;
/* postgres.c always defines it (a stub that reports AU_E_UNSUPPORTED without libpq). */
extern const struct au_store_ops au_store_postgres;

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int au_store_open(const char *url, struct au_store **out, struct au_err *err) {
  *out = NULL;
  if (!url || !*url)
    return au_err_set(err, AU_E_CONFIG, "empty store URL");
  if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://") ||
      has_prefix(url, "postgresql:") || has_prefix(url, "host=") || has_prefix(url, "dbname=")) {
    return au_store_postgres.open(url, out, err);
  }
  if (has_prefix(url, "sqlite:") || strcmp(url, ":memory:") == 0 || strchr(url, ':') == NULL)
    return au_store_sqlite.open(url, out, err);
  return au_err_set(err, AU_E_CONFIG,
                    "unknown store URL '%s' (use sqlite:PATH or postgresql://...)", url);
}

void au_store_close(struct au_store *s) {
  if (s)
    s->ops->close(s);
}

bool au_ident_valid(const char *s) {
  if (!s || !*s || strlen(s) > 120)
    return false;
  int parts = 0;
  const char *p = s;
  for (;;) {
    if (!(isalpha((unsigned char)*p) || *p == '_'))
      return false;
    p++;
    while (isalnum((unsigned char)*p) || *p == '_')
      p++;
    parts++;
    if (*p == 0)
      return true;
    if (*p != '.' || parts >= 2)
      return false;
    p++;
  }
}

static bool col_ident_ok(const char *n, size_t max) {
  if (!n || !*n || strlen(n) > max)
    return false;
  if (!(isalpha((unsigned char)*n) || *n == '_'))
    return false;
  for (const char *q = n + 1; *q; q++)
    if (!(isalnum((unsigned char)*q) || *q == '_'))
      return false;
  return true;
}

int au_store_check_ref(const struct au_table_ref *t, size_t max_ident, struct au_err *err) {
  if (!t || !t->dest || !au_ident_valid(t->dest))
    return au_err_set(err, AU_E_INVAL, "invalid destination table name '%s'",
                      t && t->dest ? t->dest : "(null)");
  if (!t->schema || t->schema->ncols <= 0 || !t->schema->cols)
    return au_err_set(err, AU_E_INVAL, "table %s: empty schema", t->dest);
  if (t->seq_col >= t->schema->ncols)
    return au_err_set(err, AU_E_INVAL, "table %s: sequence column %d out of range", t->dest,
                      t->seq_col);
  for (int c = 0; c < t->schema->ncols; c++)
    if (!col_ident_ok(t->schema->cols[c].name, max_ident))
      return au_err_set(err, AU_E_INVAL, "table %s: invalid column name '%s'", t->dest,
                        t->schema->cols[c].name ? t->schema->cols[c].name : "(null)");
  return 0;
}

int au_store_key_cols(const struct au_schema *sc, int **order, bool **is_key) {
  *order = au_xcalloc((size_t)sc->ncols, sizeof(int));
  *is_key = au_xcalloc((size_t)sc->ncols, sizeof(bool));
  int n = au_schema_key_cols(sc, *order, sc->ncols);
  int k = 0;
  for (int i = 0; i < n; i++) {
    int c = (*order)[i];
    if (c < 0 || c >= sc->ncols || (*is_key)[c])
      continue; /* ignore bad or repeated indexes */
    (*is_key)[c] = true;
    (*order)[k++] = c;
  }
  return k;
}

/* registry.c - store plug-ins by URL scheme (one line per store). */
#include "core/au.h"
#include "core/err.h"
#include "store/store.h"

#include <ctype.h>
#include <stdlib.h>
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

/* --- key order ---------------------------------------------------------------------- */

struct sort_ctx {
  const struct au_batch *b;
  const int *key;
  int nkey;
};

static int cmp_key(const void *pa, const void *pb, void *arg) {
  const struct sort_ctx *cx = arg;
  const struct au_batch *b = cx->b;
  uint32_t r1 = *(const uint32_t *)pa, r2 = *(const uint32_t *)pb;
  for (int i = 0; i < cx->nkey; i++) {
    int c = cx->key[i];
    bool n1 = b->nulls[c][r1] != 0, n2 = b->nulls[c][r2] != 0;
    if (n1 || n2) {
      if (n1 != n2)
        return n1 ? -1 : 1;
      continue;
    }
    const union au_cell *x = &b->cols[c][r1], *y = &b->cols[c][r2];
    int d = 0;
    switch (b->schema->cols[c].type) {
    case AU_T_DOUBLE:
      d = (x->d > y->d) - (x->d < y->d);
      break;
    case AU_T_TEXT: {
      if (x->s == y->s)
        break;
      size_t l1 = 0, l2 = 0;
      const char *s1 = au_batch_str(b, x->s, &l1), *s2 = au_batch_str(b, y->s, &l2);
      d = memcmp(s1, s2, l1 < l2 ? l1 : l2);
      if (d == 0)
        d = (l1 > l2) - (l1 < l2);
      break;
    }
    default:
      d = (x->i > y->i) - (x->i < y->i);
    }
    if (d)
      return d;
  }
  return (r1 > r2) - (r1 < r2); /* stable: batch order among equal keys */
}

uint32_t *au_store_key_perm(const struct au_batch *b, const int *key, int nkey) {
  uint32_t *p = au_xmalloc((b->nrows ? b->nrows : 1) * sizeof(uint32_t));
  for (size_t i = 0; i < b->nrows; i++)
    p[i] = (uint32_t)i;
  if (nkey <= 0 || b->nrows < 2)
    return p;
  struct sort_ctx cx = {b, key, nkey};
  bool sorted = true;
  for (size_t i = 1; i < b->nrows && sorted; i++)
    sorted = cmp_key(&p[i - 1], &p[i], &cx) < 0;
  if (!sorted)
    qsort_r(p, b->nrows, sizeof(uint32_t), cmp_key, &cx);
  return p;
}

int au_store_check_batch(const struct au_table_ref *t, const struct au_batch *b, struct au_err *err) {
  if (!b || !b->schema || b->schema->ncols != t->schema->ncols)
    return au_err_set(err, AU_E_INVAL, "table %s: batch schema does not match the table", t->dest);
  for (int c = 0; c < t->schema->ncols; c++)
    if (b->schema->cols[c].type != t->schema->cols[c].type)
      return au_err_set(err, AU_E_INVAL, "table %s: batch column %d (%s) has type %s, not %s", t->dest, c,
                        t->schema->cols[c].name, au_type_name(b->schema->cols[c].type),
                        au_type_name(t->schema->cols[c].type));
  return 0;
}

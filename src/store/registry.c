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

/* registry.c - the list of sources (one line per operator) and the helpers every
 * source shares: option sets and request lists. */
#include "core/au.h"
#include "core/err.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

extern const struct au_source_ops au_source_aeso;
extern const struct au_source_ops au_source_ercot;
extern const struct au_source_ops au_source_spp;
extern const struct au_source_ops au_source_nyiso;
extern const struct au_source_ops au_source_caiso;
extern const struct au_source_ops au_source_isone;
extern const struct au_source_ops au_source_ieso;
extern const struct au_source_ops au_source_pjm;
extern const struct au_source_ops au_source_miso;

static const struct au_source_ops *const registry[] = {
    &au_source_aeso,
    &au_source_ercot,
    &au_source_spp,
    &au_source_nyiso,
    &au_source_caiso,
    &au_source_isone,
    &au_source_ieso,
    &au_source_pjm,
    &au_source_miso,
};

const struct au_source_ops *const *au_sources(size_t *n) {
  *n = AU_ARRAY_LEN(registry);
  return registry;
}

const struct au_source_ops *au_source_find(const char *name) {
  for (size_t i = 0; i < AU_ARRAY_LEN(registry); i++)
    if (strcmp(registry[i]->name, name) == 0)
      return registry[i];
  return NULL;
}

int au_table_find(const char *qualified, const struct au_source_ops **src,
                  const struct au_table_def **table, struct au_err *err) {
  const char *dot = strchr(qualified, '.');
  if (dot) {
    char sname[64];
    size_t n = (size_t)(dot - qualified);
    if (n >= sizeof(sname))
      return au_err_set(err, AU_E_NOTFOUND, "unknown source in '%s'", qualified);
    memcpy(sname, qualified, n);
    sname[n] = 0;
    const struct au_source_ops *s = au_source_find(sname);
    if (!s)
      return au_err_set(err, AU_E_NOTFOUND, "unknown source '%s' (see `aurum sources`)", sname);
    for (size_t i = 0; i < s->ntables; i++)
      if (strcmp(s->tables[i].name, dot + 1) == 0) {
        *src = s;
        *table = &s->tables[i];
        return 0;
      }
    return au_err_set(err, AU_E_NOTFOUND, "source '%s' has no table '%s' (see `aurum sources %s`)",
                      sname, dot + 1, sname);
  }
  const struct au_source_ops *fs = NULL;
  const struct au_table_def *ft = NULL;
  int found = 0;
  for (size_t i = 0; i < AU_ARRAY_LEN(registry); i++)
    for (size_t j = 0; j < registry[i]->ntables; j++)
      if (strcmp(registry[i]->tables[j].name, qualified) == 0) {
        fs = registry[i];
        ft = &registry[i]->tables[j];
        found++;
      }
  if (found == 1) {
    *src = fs;
    *table = ft;
    return 0;
  }
  if (found > 1)
    return au_err_set(err, AU_E_NOTFOUND, "table '%s' exists in several sources; write SOURCE.%s",
                      qualified, qualified);
  return au_err_set(err, AU_E_NOTFOUND, "unknown table '%s' (see `aurum sources`)", qualified);
}

const struct au_option_def *au_option_find(const struct au_source_ops *src,
                                           const struct au_table_def *t, const char *name) {
  if (t && t->opts)
    for (const struct au_option_def *o = t->opts; o->name; o++)
      if (strcmp(o->name, name) == 0)
        return o;
  if (src && src->opts)
    for (const struct au_option_def *o = src->opts; o->name; o++)
      if (strcmp(o->name, name) == 0)
        return o;
  return NULL;
}

/* --- option sets --- */
void au_opts_set(struct au_opts *o, const char *key, const char *value) {
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->v[i].key, key) == 0) {
      free(o->v[i].value);
      o->v[i].value = au_xstrdup(value ? value : "");
      return;
    }
  if (o->n == o->cap) {
    o->cap = o->cap ? o->cap * 2 : 8;
    o->v = au_xrealloc(o->v, o->cap * sizeof(*o->v));
  }
  o->v[o->n].key = au_xstrdup(key);
  o->v[o->n].value = au_xstrdup(value ? value : "");
  o->n++;
}

const char *au_opts_get(const struct au_opts *o, const char *key) {
  if (!o)
    return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->v[i].key, key) == 0)
      return o->v[i].value;
  return NULL;
}

void au_opts_release(struct au_opts *o) {
  for (size_t i = 0; i < o->n; i++) {
    free(o->v[i].key);
    free(o->v[i].value);
  }
  free(o->v);
  memset(o, 0, sizeof(*o));
}

void au_opts_copy(struct au_opts *dst, const struct au_opts *src) {
  for (size_t i = 0; i < src->n; i++)
    au_opts_set(dst, src->v[i].key, src->v[i].value);
}

/* --- requests --- */
struct au_request *au_reqlist_push(struct au_reqlist *l) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = au_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  struct au_request *r = &l->v[l->n++];
  memset(r, 0, sizeof(*r));
  return r;
}

void au_request_set_url(struct au_request *r, const char *url) {
  free(r->url);
  r->url = au_xstrdup(url);
}

void au_request_add_header(struct au_request *r, const char *name, const char *value) {
  r->headers = au_xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
  r->headers[r->nheaders].name = au_xstrdup(name);
  r->headers[r->nheaders].value = au_xstrdup(value);
  r->nheaders++;
}

void au_request_release(struct au_request *r) {
  free(r->url);
  for (size_t i = 0; i < r->nheaders; i++) {
    free((char *)r->headers[i].name);
    free((char *)r->headers[i].value);
  }
  free(r->headers);
  free(r->method);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

void au_reqlist_clear(struct au_reqlist *l) {
  for (size_t i = 0; i < l->n; i++)
    au_request_release(&l->v[i]);
  l->n = 0;
}

void au_reqlist_release(struct au_reqlist *l) {
  au_reqlist_clear(l);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

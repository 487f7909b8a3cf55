/* config.c - YAML config, Lakeflow pipeline spec, environment, and their merge. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "pipeline/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Options every source accepts (HTTP politeness and endpoint). */
static const struct au_option_def common_source_opts[] = {
    {"base_url", AU_OPT_STR, NULL, NULL, "base URL including its path (overrides the default)", false},
    {"rate_limit", AU_OPT_DOUBLE, NULL, NULL, "requests per minute (token bucket)", false},
    {"min_spacing", AU_OPT_DOUBLE, NULL, NULL, "minimum seconds between request starts", false},
    {"timeout", AU_OPT_DOUBLE, NULL, NULL, "whole-request timeout, seconds", false},
    {"connect_timeout", AU_OPT_DOUBLE, NULL, NULL, "connect timeout, seconds", false},
    {"retry_attempts", AU_OPT_INT, NULL, NULL, "tries per request", false},
    {"backoff_factor", AU_OPT_DOUBLE, NULL, NULL, "base of the exponential backoff, seconds", false},
    {"backoff_max", AU_OPT_DOUBLE, NULL, NULL, "cap of one backoff sleep, seconds", false},
    {"breaker_threshold", AU_OPT_INT, NULL, NULL, "consecutive failures that open the circuit", false},
    {"breaker_cooldown", AU_OPT_DOUBLE, NULL, NULL, "seconds before a half-open trial", false},
    {"user_agent", AU_OPT_STR, NULL, NULL, "User-Agent header", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

void au_config_init(struct au_config *c) {
  memset(c, 0, sizeof(*c));
  c->lock_timeout = 0;
  c->batch_retries = 1;
}

static void table_cfg_release(struct au_table_cfg *t) {
  free(t->qualified);
  free(t->dest);
  free(t->dest_schema);
  free(t->dest_catalog);
  free(t->start_date);
  free(t->sequence_by);
  free(t->scd_type);
  au_opts_release(&t->opts);
  for (size_t i = 0; i < t->nsinks; i++)
    free(t->sinks[i]);
  free(t->sinks);
  au_opts_release(&t->kafka);
}

void au_config_release(struct au_config *c) {
  free(c->path);
  free(c->store_url);
  free(c->log_format);
  free(c->log_level);
  for (size_t i = 0; i < c->nsources; i++) {
    free(c->sources[i].name);
    au_opts_release(&c->sources[i].opts);
  }
  free(c->sources);
  for (size_t i = 0; i < c->ntables; i++)
    table_cfg_release(&c->tables[i]);
  free(c->tables);
  au_opts_release(&c->kafka);
  memset(c, 0, sizeof(*c));
}

static void set_str(char **dst, const char *v) {
  free(*dst);
  *dst = v ? au_xstrdup(v) : NULL;
}

struct au_source_cfg *au_config_source(struct au_config *c, const char *name) {
  for (size_t i = 0; i < c->nsources; i++)
    if (strcmp(c->sources[i].name, name) == 0)
      return &c->sources[i];
  c->sources = au_xrealloc(c->sources, (c->nsources + 1) * sizeof(*c->sources));
  struct au_source_cfg *s = &c->sources[c->nsources++];
  memset(s, 0, sizeof(*s));
  s->name = au_xstrdup(name);
  return s;
}

const struct au_table_cfg *au_config_find_table(const struct au_config *c, const char *qualified) {
  for (size_t i = 0; i < c->ntables; i++)
    if (strcmp(c->tables[i].qualified, qualified) == 0)
      return &c->tables[i];
  return NULL;
}

struct au_table_cfg *au_config_table(struct au_config *c, const char *name, struct au_err *err) {
  const struct au_source_ops *src;
  const struct au_table_def *def;
  if (au_table_find(name, &src, &def, err) != 0)
    return NULL;
  char q[160];
  snprintf(q, sizeof(q), "%s.%s", src->name, def->name);
  for (size_t i = 0; i < c->ntables; i++)
    if (strcmp(c->tables[i].qualified, q) == 0)
      return &c->tables[i];
  c->tables = au_xrealloc(c->tables, (c->ntables + 1) * sizeof(*c->tables));
  struct au_table_cfg *t = &c->tables[c->ntables++];
  memset(t, 0, sizeof(*t));
  t->qualified = au_xstrdup(q);
  t->src = src;
  t->def = def;
  t->dest = au_xstrdup(def->dest_table);
  t->lookback_hours = def->default_lookback_hours;
  t->batch_size_days = def->default_batch_days;
  t->rate_limit_delay = def->default_rate_delay;
  t->sequence_by = au_xstrdup("ingestion_time");
  t->scd_type = au_xstrdup("SCD_TYPE_1");
  return t;
}

int au_table_window_days(const struct au_config *c, const struct au_table_cfg *t) {
  if (!t->batch_size_days_set && t->src && t->src->window_days) {
    const struct au_opts *so = NULL;
    for (size_t i = 0; c && i < c->nsources; i++)
      if (c->sources[i].name && !strcmp(c->sources[i].name, t->src->name))
        so = &c->sources[i].opts;
    int d = t->src->window_days(t->def, &t->opts, so);
    if (d > 0)
      return d;
  }
  return t->batch_size_days > 0 ? t->batch_size_days : 1;
}

/* --- ${ENV} expansion --- */
char *au_config_expand_env(const char *s) {
  struct au_buf b = AU_BUF_INIT(0);
  int rc = 0;
  for (const char *p = s; *p && rc == 0;) {
    if (p[0] == '$' && p[1] == '{') {
      const char *end = strchr(p + 2, '}');
      if (!end) {
        rc = au_buf_adds(&b, p);
        break;
      }
      char name[256];
      size_t n = (size_t)(end - (p + 2));
      if (n >= sizeof(name))
        n = sizeof(name) - 1;
      memcpy(name, p + 2, n);
      name[n] = 0;
      const char *def = NULL;
      char *colon = strstr(name, ":-");
      if (colon) {
        *colon = 0;
        def = colon + 2;
      }
      const char *v = getenv(name);
      if ((!v || !*v) && def)
        v = def;
      if (v)
        rc = au_buf_adds(&b, v);
      p = end + 1;
    } else {
      rc = au_buf_addc(&b, *p++);
    }
  }
  if (rc || !b.ptr) {
    au_buf_release(&b);
    return au_xstrdup("");
  }
  return au_buf_detach(&b, NULL);
}

/* --- a small YAML tree built from libyaml events --- */
enum ynode_kind { Y_SCALAR, Y_MAP, Y_SEQ };
struct ynode {
  enum ynode_kind kind;
  char *value;          /* scalar (after env expansion) */
  char **keys;          /* map keys */
  struct ynode **items; /* map values or seq items */
  size_t n;
  int line;
};

static void ynode_free(struct ynode *y) {
  if (!y)
    return;
  free(y->value);
  for (size_t i = 0; i < y->n; i++) {
    if (y->keys)
      free(y->keys[i]);
    ynode_free(y->items[i]);
  }
  free(y->keys);
  free(y->items);
  free(y);
}

static struct ynode *ynode_parse(yaml_parser_t *p, yaml_event_t *first, struct au_err *err);

static struct ynode *ynode_parse_next(yaml_parser_t *p, struct au_err *err) {
  yaml_event_t ev;
  if (!yaml_parser_parse(p, &ev)) {
    au_err_set(err, AU_E_CONFIG, "YAML line %zu, column %zu: %s", p->problem_mark.line + 1,
               p->problem_mark.column + 1, p->problem ? p->problem : "syntax error");
    return NULL;
  }
  struct ynode *y = ynode_parse(p, &ev, err);
  yaml_event_delete(&ev);
  return y;
}

static struct ynode *ynode_parse(yaml_parser_t *p, yaml_event_t *ev, struct au_err *err) {
  struct ynode *y = au_xcalloc(1, sizeof(*y));
  y->line = (int)ev->start_mark.line + 1;
  if (ev->type == YAML_SCALAR_EVENT) {
    y->kind = Y_SCALAR;
    y->value = au_config_expand_env((const char *)ev->data.scalar.value);
    return y;
  }
  if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) {
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    y->kind = is_map ? Y_MAP : Y_SEQ;
    for (;;) {
      yaml_event_t e;
      if (!yaml_parser_parse(p, &e)) {
        au_err_set(err, AU_E_CONFIG, "YAML line %zu, column %zu: %s", p->problem_mark.line + 1,
                   p->problem_mark.column + 1, p->problem ? p->problem : "syntax error");
        ynode_free(y);
        return NULL;
      }
      if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
        yaml_event_delete(&e);
        return y;
      }
      char *key = NULL;
      if (is_map) {
        if (e.type != YAML_SCALAR_EVENT) {
          au_err_set(err, AU_E_CONFIG, "YAML line %zu: mapping keys must be plain scalars",
                     e.start_mark.line + 1);
          yaml_event_delete(&e);
          ynode_free(y);
          return NULL;
        }
        key = au_xstrdup((const char *)e.data.scalar.value);
        yaml_event_delete(&e);
        struct ynode *v = ynode_parse_next(p, err);
        if (!v) {
          free(key);
          ynode_free(y);
          return NULL;
        }
        y->keys = au_xrealloc(y->keys, (y->n + 1) * sizeof(char *));
        y->items = au_xrealloc(y->items, (y->n + 1) * sizeof(*y->items));
        y->keys[y->n] = key;
        y->items[y->n++] = v;
      } else {
        struct ynode *v = ynode_parse(p, &e, err);
        yaml_event_delete(&e);
        if (!v) {
          ynode_free(y);
          return NULL;
        }
        y->items = au_xrealloc(y->items, (y->n + 1) * sizeof(*y->items));
        y->items[y->n++] = v;
      }
    }
  }
  if (ev->type == YAML_ALIAS_EVENT)
    au_err_set(err, AU_E_CONFIG, "YAML line %d: aliases are not supported", y->line);
  else
    au_err_set(err, AU_E_CONFIG, "YAML line %d: unexpected event", y->line);
  ynode_free(y);
  return NULL;
}

static int scalar_text(const struct ynode *y, const char *what, const char **out, struct au_err *err) {
  if (y->kind != Y_SCALAR)
    return au_err_set(err, AU_E_CONFIG, "config line %d: %s must be a scalar", y->line, what);
  *out = y->value;
  return 0;
}

static int parse_int(const char *s, const char *what, int *out, struct au_err *err) {
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || *end || errno || d != (double)(long)d || d < -1e9 || d > 1e9)
    return au_err_set(err, AU_E_CONFIG, "%s: expected an integer, got '%s'", what, s);
  *out = (int)d;
  return 0;
}

static int parse_double(const char *s, const char *what, double *out, struct au_err *err) {
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || *end || errno || d != d)
    return au_err_set(err, AU_E_CONFIG, "%s: expected a number, got '%s'", what, s);
  *out = d;
  return 0;
}

bool au_config_option_known(const struct au_source_ops *src, const struct au_table_def *t, const char *key) {
  if (au_option_find(src, t, key))
    return true;
  for (const struct au_option_def *c = common_source_opts; c->name; c++)
    if (strcmp(c->name, key) == 0)
      return true;
  return false;
}

static int validate_opt(const struct au_source_ops *src, const struct au_table_def *t, const char *key,
                        const char *value, const char *where, struct au_err *err) {
  const struct au_option_def *o = au_option_find(src, t, key);
  if (!o)
    for (const struct au_option_def *c = common_source_opts; c->name; c++)
      if (strcmp(c->name, key) == 0)
        o = c;
  if (!o)
    return au_err_set(err, AU_E_CONFIG, "%s: unknown option '%s' for source %s%s%s", where, key,
                      src->name, t ? "." : "", t ? t->name : "");
  double d;
  int i;
  if (o->type == AU_OPT_INT && parse_int(value, key, &i, err))
    return err->code;
  if (o->type == AU_OPT_DOUBLE && parse_double(value, key, &d, err))
    return err->code;
  if (o->type == AU_OPT_BOOL && strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") &&
      strcmp(value, "0"))
    return au_err_set(err, AU_E_CONFIG, "%s: option %s expects true/false, got '%s'", where, key, value);
  return 0;
}

/* Turn a scalar or a sequence of scalars into option text ("a,b,c" for lists). */
static int node_to_opt_text(const struct ynode *v, struct au_buf *b, struct au_err *err) {
  if (v->kind == Y_SCALAR)
    return au_buf_adds(b, v->value) ? au_err_set(err, AU_E_NOMEM, "out of memory") : 0;
  if (v->kind == Y_SEQ) {
    for (size_t i = 0; i < v->n; i++) {
      if (v->items[i]->kind != Y_SCALAR)
        return au_err_set(err, AU_E_CONFIG, "config line %d: list items must be scalars", v->items[i]->line);
      if ((i && au_buf_addc(b, ',')) || au_buf_adds(b, v->items[i]->value))
        return au_err_set(err, AU_E_NOMEM, "out of memory");
    }
    return 0;
  }
  return au_err_set(err, AU_E_CONFIG, "config line %d: expected a scalar or a list", v->line);
}

/* Set a table setting shared by YAML and the pipeline spec. Returns 1 if key is not a
 * table setting (caller treats it as a source option). */
static int table_setting(struct au_table_cfg *t, const char *key, const char *v, struct au_err *err) {
  char what[128];
  snprintf(what, sizeof(what), "%s: %s", t->qualified, key);
  if (!strcmp(key, "destination") || !strcmp(key, "destination_table")) {
    set_str(&t->dest, v);
  } else if (!strcmp(key, "destination_schema")) {
    set_str(&t->dest_schema, v);
  } else if (!strcmp(key, "destination_catalog")) {
    set_str(&t->dest_catalog, v);
  } else if (!strcmp(key, "start_date")) {
    au_time tmp;
    if (au_time_parse_iso(v, (size_t)-1, &tmp, NULL) != 0)
      return au_err_set(err, AU_E_CONFIG, "%s: expected YYYY-MM-DD, got '%s'", what, v);
    set_str(&t->start_date, v);
  } else if (!strcmp(key, "lookback_hours")) {
    if (parse_int(v, what, &t->lookback_hours, err))
      return err->code;
    if (t->lookback_hours < 0)
      return au_err_set(err, AU_E_CONFIG, "%s must be >= 0", what);
  } else if (!strcmp(key, "batch_size_days")) {
    if (parse_int(v, what, &t->batch_size_days, err))
      return err->code;
    if (t->batch_size_days < 1 || t->batch_size_days > 3660)
      return au_err_set(err, AU_E_CONFIG, "%s must be between 1 and 3660", what);
    t->batch_size_days_set = true;
  } else if (!strcmp(key, "rate_limit_delay")) {
    if (parse_double(v, what, &t->rate_limit_delay, err))
      return err->code;
    if (t->rate_limit_delay < 0)
      return au_err_set(err, AU_E_CONFIG, "%s must be >= 0", what);
  } else if (!strcmp(key, "sequence_by")) {
    if (au_schema_find(t->def->schema, v) < 0)
      return au_err_set(err, AU_E_CONFIG, "%s: table has no column '%s'", what, v);
    set_str(&t->sequence_by, v);
  } else if (!strcmp(key, "scd_type")) {
    if (strcmp(v, "SCD_TYPE_1") && strcmp(v, "1"))
      return au_err_set(err, AU_E_CONFIG,
                        "%s: only SCD_TYPE_1 is supported (got '%s'); aurum upserts by primary key", what, v);
    set_str(&t->scd_type, "SCD_TYPE_1");
  } else if (!strcmp(key, "max_records_per_hour") || !strcmp(key, "max_bytes_per_hour")) {
    double *dst = !strcmp(key, "max_records_per_hour") ? &t->max_records_per_hour : &t->max_bytes_per_hour;
    if (parse_double(v, what, dst, err))
      return err->code;
    if (*dst < 0)
      return au_err_set(err, AU_E_CONFIG, "%s must be >= 0", what);
  } else if (!strcmp(key, "max_concurrent_requests")) {
    if (parse_int(v, what, &t->max_concurrent_requests, err))
      return err->code;
    if (t->max_concurrent_requests < 0)
      return au_err_set(err, AU_E_CONFIG, "%s must be >= 0", what);
  } else if (!strcmp(key, "priority")) {
    if (parse_int(v, what, &t->priority, err))
      return err->code;
  } else if (!strcmp(key, "primary_keys")) {
    /* accepted for compatibility; the key is the table's own */
  } else if (!strcmp(key, "table") || !strcmp(key, "source_table")) {
    /* handled by the caller */
  } else {
    return 1;
  }
  return 0;
}

static void add_sink(struct au_table_cfg *t, const char *name) {
  for (size_t i = 0; i < t->nsinks; i++)
    if (!strcmp(t->sinks[i], name))
      return;
  t->sinks = au_xrealloc(t->sinks, (t->nsinks + 1) * sizeof(char *));
  t->sinks[t->nsinks++] = au_xstrdup(name);
}

static int yaml_table(struct au_config *c, const char *name, const struct ynode *y, struct au_err *err) {
  if (y->kind != Y_MAP)
    return au_err_set(err, AU_E_CONFIG, "config line %d: table %s must be a mapping", y->line,
                      name ? name : "entry");
  if (!name) {
    for (size_t i = 0; i < y->n; i++)
      if (!strcmp(y->keys[i], "table") || !strcmp(y->keys[i], "source_table"))
        if (scalar_text(y->items[i], "table", &name, err))
          return err->code;
    if (!name)
      return au_err_set(err, AU_E_CONFIG, "config line %d: table entry without 'table: SOURCE.TABLE'", y->line);
  }
  struct au_table_cfg *t = au_config_table(c, name, err);
  if (!t) {
    au_err_prefix(err, "config line %d", y->line);
    return err->code;
  }
  for (size_t i = 0; i < y->n; i++) {
    const char *k = y->keys[i];
    const struct ynode *v = y->items[i];
    if (!strcmp(k, "sinks")) {
      struct au_buf b = AU_BUF_INIT(0);
      if (node_to_opt_text(v, &b, err)) {
        au_buf_release(&b);
        return err->code;
      }
      char *save = NULL;
      for (char *tok = strtok_r(b.ptr, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
          tok++;
        if (strcmp(tok, "store") && strcmp(tok, "kafka")) {
          au_buf_release(&b);
          return au_err_set(err, AU_E_CONFIG, "config line %d: unknown sink '%s' (store, kafka)", v->line, tok);
        }
        add_sink(t, tok);
      }
      au_buf_release(&b);
      continue;
    }
    if (!strcmp(k, "kafka") || !strcmp(k, "options")) {
      if (v->kind != Y_MAP)
        return au_err_set(err, AU_E_CONFIG, "config line %d: %s must be a mapping", v->line, k);
      for (size_t j = 0; j < v->n; j++) {
        struct au_buf b = AU_BUF_INIT(0);
        if (node_to_opt_text(v->items[j], &b, err)) {
          au_buf_release(&b);
          return err->code;
        }
        const char *val = b.ptr ? b.ptr : "";
        if (!strcmp(k, "options")) {
          if (validate_opt(t->src, t->def, v->keys[j], val, t->qualified, err)) {
            au_buf_release(&b);
            return err->code;
          }
          au_opts_set(&t->opts, v->keys[j], val);
        } else {
          au_opts_set(&t->kafka, v->keys[j], val);
        }
        au_buf_release(&b);
      }
      continue;
    }
    struct au_buf b = AU_BUF_INIT(0);
    if (node_to_opt_text(v, &b, err)) {
      au_buf_release(&b);
      return err->code;
    }
    const char *val = b.ptr ? b.ptr : "";
    int rc = table_setting(t, k, val, err);
    if (rc == 1) {
      rc = validate_opt(t->src, t->def, k, val, t->qualified, err);
      if (rc == 0)
        au_opts_set(&t->opts, k, val);
    }
    au_buf_release(&b);
    if (rc) {
      au_err_prefix(err, "config line %d", v->line);
      return rc;
    }
  }
  return 0;
}

static int yaml_root(struct au_config *c, const struct ynode *root, struct au_err *err) {
  if (root->kind != Y_MAP)
    return au_err_set(err, AU_E_CONFIG, "config: the top level must be a mapping");
  for (size_t i = 0; i < root->n; i++) {
    const char *k = root->keys[i];
    const struct ynode *v = root->items[i];
    const char *s = NULL;
    if (!strcmp(k, "store")) {
      if (scalar_text(v, k, &s, err))
        return err->code;
      set_str(&c->store_url, s);
    } else if (!strcmp(k, "log_format") || !strcmp(k, "log_level")) {
      if (scalar_text(v, k, &s, err))
        return err->code;
      set_str(!strcmp(k, "log_format") ? &c->log_format : &c->log_level, s);
    } else if (!strcmp(k, "lock_timeout")) {
      if (scalar_text(v, k, &s, err) || parse_double(s, k, &c->lock_timeout, err))
        return err->code;
    } else if (!strcmp(k, "batch_retries")) {
      if (scalar_text(v, k, &s, err) || parse_int(s, k, &c->batch_retries, err))
        return err->code;
    } else if (!strcmp(k, "kafka")) {
      if (v->kind != Y_MAP)
        return au_err_set(err, AU_E_CONFIG, "config line %d: kafka must be a mapping", v->line);
      for (size_t j = 0; j < v->n; j++) {
        struct au_buf b = AU_BUF_INIT(0);
        if (node_to_opt_text(v->items[j], &b, err)) {
          au_buf_release(&b);
          return err->code;
        }
        au_opts_set(&c->kafka, v->keys[j], b.ptr ? b.ptr : "");
        au_buf_release(&b);
      }
    } else if (!strcmp(k, "sources")) {
      if (v->kind != Y_MAP)
        return au_err_set(err, AU_E_CONFIG, "config line %d: sources must be a mapping", v->line);
      for (size_t j = 0; j < v->n; j++) {
        const struct au_source_ops *src = au_source_find(v->keys[j]);
        if (!src)
          return au_err_set(err, AU_E_CONFIG, "config line %d: unknown source '%s'", v->items[j]->line,
                            v->keys[j]);
        const struct ynode *sv = v->items[j];
        if (sv->kind != Y_MAP)
          return au_err_set(err, AU_E_CONFIG, "config line %d: sources.%s must be a mapping", sv->line,
                            v->keys[j]);
        struct au_source_cfg *sc = au_config_source(c, src->name);
        for (size_t m = 0; m < sv->n; m++) {
          struct au_buf b = AU_BUF_INIT(0);
          if (node_to_opt_text(sv->items[m], &b, err)) {
            au_buf_release(&b);
            return err->code;
          }
          const char *val = b.ptr ? b.ptr : "";
          /* source-level keys may also be any table option of the source */
          const struct au_option_def *o = NULL;
          for (size_t tt = 0; tt < src->ntables && !o; tt++)
            o = au_option_find(src, &src->tables[tt], sv->keys[m]);
          int rc = o ? 0 : validate_opt(src, NULL, sv->keys[m], val, "sources", err);
          if (rc) {
            au_buf_release(&b);
            au_err_prefix(err, "config line %d", sv->items[m]->line);
            return rc;
          }
          au_opts_set(&sc->opts, sv->keys[m], val);
          au_buf_release(&b);
        }
      }
    } else if (!strcmp(k, "tables")) {
      if (v->kind == Y_SEQ) {
        for (size_t j = 0; j < v->n; j++)
          if (yaml_table(c, NULL, v->items[j], err))
            return err->code;
      } else if (v->kind == Y_MAP) {
        for (size_t j = 0; j < v->n; j++)
          if (yaml_table(c, v->keys[j], v->items[j], err))
            return err->code;
      } else {
        return au_err_set(err, AU_E_CONFIG, "config line %d: tables must be a list or mapping", v->line);
      }
    } else {
      return au_err_set(err, AU_E_CONFIG, "config line %d: unknown key '%s' (store, log_format, log_level, "
                        "lock_timeout, batch_retries, sources, tables, kafka)", v->line, k);
    }
  }
  return 0;
}

int au_config_parse_yaml(struct au_config *c, const char *text, size_t len, struct au_err *err) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p))
    return au_err_set(err, AU_E_NOMEM, "yaml: cannot initialise parser");
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  struct ynode *root = NULL;
  int rc = 0;
  yaml_event_t ev;
  for (;;) {
    if (!yaml_parser_parse(&p, &ev)) {
      rc = au_err_set(err, AU_E_CONFIG, "YAML line %zu, column %zu: %s", p.problem_mark.line + 1,
                      p.problem_mark.column + 1, p.problem ? p.problem : "syntax error");
      break;
    }
    yaml_event_type_t type = ev.type;
    if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT || type == YAML_SCALAR_EVENT) {
      if (root) {
        yaml_event_delete(&ev);
        rc = au_err_set(err, AU_E_CONFIG, "config: only one YAML document is allowed");
        break;
      }
      root = ynode_parse(&p, &ev, err);
      yaml_event_delete(&ev);
      if (!root) {
        rc = err->code;
        break;
      }
      continue;
    }
    yaml_event_delete(&ev);
    if (type == YAML_STREAM_END_EVENT)
      break;
  }
  yaml_parser_delete(&p);
  if (rc == 0 && root && !(root->kind == Y_SCALAR && root->value[0] == 0))
    rc = yaml_root(c, root, err);
  ynode_free(root);
  return rc;
}

static char *read_file(const char *path, size_t *len, struct au_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    au_err_set(err, AU_E_IO, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  struct au_buf b = AU_BUF_INIT(64u << 20);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if (au_buf_add(&b, chunk, n)) {
      au_err_set(err, AU_E_TOOBIG, "%s is larger than 64 MiB", path);
      au_buf_release(&b);
      fclose(f);
      return NULL;
    }
  fclose(f);
  if (!b.ptr && au_buf_add(&b, "", 0)) {
    au_err_set(err, AU_E_NOMEM, "out of memory");
    return NULL;
  }
  return au_buf_detach(&b, len);
}

int au_config_load_yaml(struct au_config *c, const char *path, bool explicit, struct au_err *err) {
  size_t len;
  struct au_err e2 = AU_ERR_INIT;
  char *text = read_file(path, &len, &e2);
  if (!text) {
    if (!explicit)
      return 0;
    return au_err_set(err, AU_E_CONFIG, "%s", e2.msg);
  }
  set_str(&c->path, path);
  int rc = au_config_parse_yaml(c, text, len, err);
  free(text);
  if (rc)
    au_err_prefix(err, "%s", path);
  return rc;
}

/* --- Lakeflow pipeline spec --- */
static int json_scalar_text(json_t *v, char *buf, size_t bufsz, const char *what, struct au_err *err) {
  if (json_is_string(v))
    snprintf(buf, bufsz, "%s", json_string_value(v));
  else if (json_is_integer(v))
    snprintf(buf, bufsz, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    snprintf(buf, bufsz, "%.17g", json_real_value(v));
  else if (json_is_boolean(v))
    snprintf(buf, bufsz, "%s", json_is_true(v) ? "true" : "false");
  else if (json_is_array(v)) {
    size_t i, off = 0;
    json_t *it;
    buf[0] = 0;
    json_array_foreach(v, i, it) {
      char one[512];
      if (json_scalar_text(it, one, sizeof(one), what, err))
        return err->code;
      off += (size_t)snprintf(buf + off, off < bufsz ? bufsz - off : 0, "%s%s", i ? "," : "", one);
    }
  } else
    return au_err_set(err, AU_E_CONFIG, "%s: expected a string or number", what);
  return 0;
}

int au_config_parse_pipeline_spec(struct au_config *c, const char *spec, size_t spec_len, const char *conn,
                                  size_t conn_len, struct au_err *err) {
  json_error_t je;
  json_t *sroot = NULL, *croot = NULL;
  int rc = 0;
  const char *conn_source = NULL;
  if (conn) {
    croot = json_loadb(conn, conn_len, 0, &je);
    if (!croot || !json_is_object(croot)) {
      rc = au_err_set(err, AU_E_CONFIG, "connection JSON line %d, column %d: %s", je.line, je.column,
                      croot ? "expected an object" : je.text);
      goto out;
    }
    json_t *sn = json_object_get(croot, "source_name");
    if (!sn)
      sn = json_object_get(croot, "source");
    if (sn && json_is_string(sn))
      conn_source = json_string_value(sn);
  }
  if (!spec)
    goto conn_only;
  sroot = json_loadb(spec, spec_len, 0, &je);
  if (!sroot) {
    rc = au_err_set(err, AU_E_CONFIG, "pipeline spec JSON line %d, column %d: %s", je.line, je.column, je.text);
    goto out;
  }
  json_t *ps = json_object_get(sroot, "pipeline_spec");
  if (!ps)
    ps = sroot;
  json_t *objs = json_object_get(ps, "object");
  if (!objs || !json_is_array(objs)) {
    rc = au_err_set(err, AU_E_CONFIG, "pipeline spec: pipeline_spec.object must be a list of {\"table\": {...}}");
    goto out;
  }
  const char *conn_name = json_string_value(json_object_get(ps, "connection_name"));
  size_t i;
  json_t *obj;
  json_array_foreach(objs, i, obj) {
    json_t *tbl = json_object_get(obj, "table");
    if (!tbl || !json_is_object(tbl)) {
      rc = au_err_set(err, AU_E_CONFIG, "pipeline spec: object[%zu] has no \"table\" object", i);
      goto out;
    }
    const char *stable = json_string_value(json_object_get(tbl, "source_table"));
    if (!stable) {
      rc = au_err_set(err, AU_E_CONFIG, "pipeline spec: object[%zu].table.source_table is required", i);
      goto out;
    }
    char qname[200];
    if (strchr(stable, '.'))
      snprintf(qname, sizeof(qname), "%s", stable);
    else if (conn_source)
      snprintf(qname, sizeof(qname), "%s.%s", conn_source, stable);
    else {
      /* a connection named after its source ("aeso", "aeso_conn") picks the source */
      qname[0] = 0;
      size_t ns;
      const struct au_source_ops *const *all = au_sources(&ns);
      for (size_t k = 0; conn_name && k < ns; k++)
        if (!strncmp(conn_name, all[k]->name, strlen(all[k]->name)))
          snprintf(qname, sizeof(qname), "%s.%s", all[k]->name, stable);
      if (!qname[0])
        snprintf(qname, sizeof(qname), "%s", stable);
    }
    struct au_table_cfg *t = au_config_table(c, qname, err);
    if (!t) {
      rc = err->code;
      au_err_prefix(err, "pipeline spec object[%zu]", i);
      goto out;
    }
    const char *k;
    json_t *v;
    /* table-level keys, then table_configuration (which may also hold scd_type etc.) */
    json_t *levels[2] = {tbl, json_object_get(tbl, "table_configuration")};
    for (int l = 0; l < 2; l++) {
      if (!levels[l])
        continue;
      if (!json_is_object(levels[l])) {
        rc = au_err_set(err, AU_E_CONFIG, "pipeline spec object[%zu]: table_configuration must be an object", i);
        goto out;
      }
      json_object_foreach(levels[l], k, v) {
        if (l == 0 && (!strcmp(k, "table_configuration") || !strcmp(k, "source_table")))
          continue;
        char val[4096], what[160];
        snprintf(what, sizeof(what), "pipeline spec object[%zu].%s", i, k);
        if (json_is_null(v))
          continue;
        if (json_is_object(v)) {
          rc = au_err_set(err, AU_E_CONFIG, "%s: nested objects are not supported", what);
          goto out;
        }
        if ((rc = json_scalar_text(v, val, sizeof(val), what, err)))
          goto out;
        rc = table_setting(t, k, val, err);
        if (rc == 1) {
          rc = validate_opt(t->src, t->def, k, val, what, err);
          if (rc == 0)
            au_opts_set(&t->opts, k, val);
        }
        if (rc) {
          au_err_prefix(err, "pipeline spec object[%zu]", i);
          goto out;
        }
      }
    }
    if (!conn_source)
      conn_source = t->src->name;
  }
conn_only:
  if (croot) {
    if (!conn_source) {
      rc = au_err_set(err, AU_E_CONFIG, "connection JSON: add \"source_name\" (e.g. \"aeso\") or pass a pipeline spec");
      goto out;
    }
    const struct au_source_ops *src = au_source_find(conn_source);
    if (!src) {
      rc = au_err_set(err, AU_E_CONFIG, "connection JSON: unknown source '%s'", conn_source);
      goto out;
    }
    struct au_source_cfg *sc = au_config_source(c, src->name);
    const char *k;
    json_t *v;
    json_object_foreach(croot, k, v) {
      if (!strcmp(k, "source_name") || !strcmp(k, "source") || json_is_null(v))
        continue;
      char val[4096], what[160];
      snprintf(what, sizeof(what), "connection JSON %s", k);
      if ((rc = json_scalar_text(v, val, sizeof(val), what, err)))
        goto out;
      const struct au_option_def *o = NULL;
      for (size_t tt = 0; tt < src->ntables && !o; tt++)
        o = au_option_find(src, &src->tables[tt], k);
      if (!o && (rc = validate_opt(src, NULL, k, val, "connection JSON", err)))
        goto out;
      au_opts_set(&sc->opts, k, val);
    }
  }
out:
  json_decref(sroot);
  json_decref(croot);
  return rc;
}

int au_config_load_pipeline_spec(struct au_config *c, const char *spec_path, const char *conn_path,
                                 struct au_err *err) {
  size_t sl = 0, cl = 0;
  char *s = NULL, *cn = NULL;
  int rc = 0;
  if (spec_path && !(s = read_file(spec_path, &sl, err)))
    return err->code;
  if (conn_path && !(cn = read_file(conn_path, &cl, err))) {
    free(s);
    return err->code;
  }
  rc = au_config_parse_pipeline_spec(c, s, sl, cn, cl, err);
  if (rc)
    au_err_prefix(err, "%s", spec_path ? spec_path : conn_path);
  free(s);
  free(cn);
  return rc;
}

/* --- resolution --- */
static void apply_env_opts(const struct au_option_def *defs, struct au_opts *o) {
  for (const struct au_option_def *d = defs; d && d->name; d++) {
    if (d->def && !au_opts_get(o, d->name))
      au_opts_set(o, d->name, d->def);
    if (d->env) {
      const char *v = getenv(d->env);
      if (v && *v)
        au_opts_set(o, d->name, v);
    }
  }
}

int au_config_resolve(const struct au_config *c, const struct au_table_cfg *t, struct au_opts *opts,
                      char **base_url, struct au_err *err) {
  const struct au_source_ops *src = t->src;
  apply_env_opts(src->opts, opts);
  apply_env_opts(t->def->opts, opts);
  const char *base = src->default_base;
  for (const char *const *e = src->base_env; e && *e; e++) {
    const char *v = getenv(*e);
    if (v && *v) {
      base = v;
      break;
    }
  }
  for (size_t i = 0; i < c->nsources; i++)
    if (!strcmp(c->sources[i].name, src->name))
      au_opts_copy(opts, &c->sources[i].opts);
  au_opts_copy(opts, &t->opts);
  /* seed-style aliases: "<source>_<option>" (e.g. caiso_timeout, caiso_base_url) set the
   * common option when it is not set itself */
  for (const struct au_option_def *co = common_source_opts; co->name; co++) {
    char alias[96];
    snprintf(alias, sizeof(alias), "%s_%s", src->name, co->name);
    const char *av = au_opts_get(opts, alias), *cv = au_opts_get(opts, co->name);
    if (av && *av && !(cv && *cv))
      au_opts_set(opts, co->name, av);
  }
  const char *b = au_opts_get(opts, "base_url");
  if (b && *b)
    base = b;
  if (!base || !*base)
    return au_err_set(err, AU_E_CONFIG, "%s: no base URL", src->name);
  size_t n = strlen(base);
  while (n > 1 && base[n - 1] == '/')
    n--;
  *base_url = au_xstrndup(base, n);
  return 0;
}

int au_config_http_policy(const struct au_source_ops *src, const struct au_opts *opts, double rate_limit_delay,
                          struct au_http_policy *p, struct au_err *err) {
  *p = src->policy;
  const char *v;
  double d = 0;
  int i = 0;
#define DOPT(name, field)                                                                \
  if ((v = au_opts_get(opts, name)) && *v) {                                            \
    if (parse_double(v, name, &d, err))                                                 \
      return err->code;                                                                 \
    p->field = d;                                                                       \
  }
  DOPT("rate_limit", rate_per_min);
  DOPT("min_spacing", min_spacing);
  DOPT("timeout", timeout);
  DOPT("connect_timeout", connect_timeout);
  DOPT("backoff_factor", backoff_base);
  DOPT("backoff_max", backoff_max);
  DOPT("breaker_cooldown", breaker_cooldown);
#undef DOPT
  if ((v = au_opts_get(opts, "retry_attempts")) && *v) {
    if (parse_int(v, "retry_attempts", &i, err))
      return err->code;
    p->max_attempts = i < 1 ? 1 : i;
  }
  if ((v = au_opts_get(opts, "breaker_threshold")) && *v) {
    if (parse_int(v, "breaker_threshold", &i, err))
      return err->code;
    p->breaker_threshold = i;
  }
  if ((v = au_opts_get(opts, "user_agent")) && *v)
    p->user_agent = v;
  if (rate_limit_delay > p->min_spacing)
    p->min_spacing = rate_limit_delay;
  au_http_policy_defaults(p);
  return 0;
}

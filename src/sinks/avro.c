/* avro.c - Kafka record encoding: topic, key, JSON and Confluent-Avro values. See avro.h.
 *
 * The Avro binary encoding is written by hand (zig-zag varints, little-endian doubles,
 * length-prefixed strings, union branch indexes) from a plan bound to the registered
 * schema text; avro-c is only used by the tests to decode what is written here. */
#include "core/au.h"
#include "sinks/avro.h"
#include "core/err.h"
#include "core/time.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- topic ------------------------------------------------------------------------- */

static const char *const market_runs[] = {"dam", "da", "rtm", "rt", "rtpd", "hasp", "ruc", "ifm",
                                          "fmm", "rtd", "rtbm", "dayahead", "realtime", NULL};

void au_kafka_default_topic(const char *source, const char *table, char *out, size_t outsz) {
  char t[128];
  snprintf(t, sizeof(t), "%s", table);
  for (char *p = t; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  char *us = strrchr(t, '_');
  if (us && us != t) {
    for (const char *const *m = market_runs; *m; m++)
      if (strcmp(us + 1, *m) == 0) {
        *us = '.';
        break;
      }
  }
  snprintf(out, outsz, "ingestion.market.%s.%s.raw.v1", source, t);
  for (char *p = out; *p; p++)
    *p = (char)tolower((unsigned char)*p);
}

bool au_kafka_topic_valid(const char *topic) {
  size_t n = strlen(topic);
  if (n == 0 || n > 249 || !strcmp(topic, ".") || !strcmp(topic, ".."))
    return false;
  for (const char *p = topic; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
      return false;
  return true;
}

/* --- envelope -------------------------------------------------------------------- */

static int occurred(const struct au_envelope *env, const struct au_batch *b, size_t r, au_time *t) {
  if (env->cursor_col < 0 || au_batch_is_null(b, r, env->cursor_col))
    return 0;
  *t = au_batch_int(b, r, env->cursor_col);
  return 1;
}

/* --- Avro schema generation ---------------------------------------------------------- */

int au_avro_schema_gen(const struct au_schema *s, const char *name, const char *ns, struct au_buf *out) {
  json_t *root = json_object();
  json_object_set_new(root, "type", json_string("record"));
  json_object_set_new(root, "name", json_string(name));
  json_object_set_new(root, "namespace", json_string(ns));
  json_t *fields = json_array();
  static const struct {
    const char *name, *type, *logical, *doc;
  } env[] = {
      {"event_id", "string", "uuid", "deterministic v5 UUID of the record's key"},
      {"occurred_at", "long", "timestamp-micros", "interval start (the table's cursor), UTC"},
      {"tenant_id", "string", NULL, "tenant (config tenant_id)"},
      {"schema_version", "int", NULL, "version of this record schema"},
      {"producer", "string", NULL, "aurum/<version>"},
  };
  for (size_t i = 0; i < AU_ARRAY_LEN(env); i++) {
    json_t *f = json_object(), *ty;
    json_object_set_new(f, "name", json_string(env[i].name));
    if (env[i].logical) {
      ty = json_object();
      json_object_set_new(ty, "type", json_string(env[i].type));
      json_object_set_new(ty, "logicalType", json_string(env[i].logical));
    } else {
      ty = json_string(env[i].type);
    }
    json_object_set_new(f, "type", ty);
    json_object_set_new(f, "doc", json_string(env[i].doc));
    json_array_append_new(fields, f);
  }
  for (int c = 0; c < s->ncols; c++) {
    const struct au_column *col = &s->cols[c];
    json_t *f = json_object(), *ty;
    json_object_set_new(f, "name", json_string(col->name));
    switch (col->type) {
    case AU_T_TIME:
    case AU_T_TIMESTAMP:
      ty = json_object();
      json_object_set_new(ty, "type", json_string("long"));
      json_object_set_new(ty, "logicalType", json_string("timestamp-micros"));
      break;
    case AU_T_DOUBLE: ty = json_string("double"); break;
    case AU_T_INT: ty = json_string("long"); break;
    case AU_T_BOOL: ty = json_string("boolean"); break;
    default: ty = json_string("string"); break;
    }
    if (col->flags & AU_COL_NULLABLE) {
      json_t *u = json_array();
      json_array_append_new(u, json_string("null"));
      json_array_append_new(u, ty);
      ty = u;
    }
    json_object_set_new(f, "type", ty);
    if (col->flags & AU_COL_NULLABLE)
      json_object_set_new(f, "default", json_null());
    if (col->doc)
      json_object_set_new(f, "doc", json_string(col->doc));
    json_array_append_new(fields, f);
  }
  json_object_set_new(root, "fields", fields);
  char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!txt)
    return AU_E_NOMEM;
  int rc = au_buf_adds(out, txt);
  if (rc == 0)
    rc = au_buf_addc(out, '\n');
  free(txt);
  return rc;
}

/* --- Avro plan ------------------------------------------------------------------------ */

enum fsrc { F_EVENT_ID = 1, F_OCCURRED, F_TENANT, F_SCHEMA_VERSION, F_PRODUCER, F_COL };
enum atype { A_LONG = 1, A_INT, A_DOUBLE, A_STRING, A_BOOL };

struct field {
  enum fsrc src;
  int col;
  enum atype type;
  int null_branch;  /* -1: not a union */
  int value_branch;
  const char *name; /* column name (schema-owned) */
};

struct au_avro_plan {
  struct field *f;
  int n;
};

void au_avro_plan_free(struct au_avro_plan *p) {
  if (!p)
    return;
  free(p->f);
  free(p);
}

/* Primitive type of a (non-union) schema node; logical gets logicalType or NULL. */
static int prim(json_t *t, enum atype *out, const char **logical) {
  *logical = NULL;
  if (json_is_object(t)) {
    json_t *lt = json_object_get(t, "logicalType");
    if (json_is_string(lt))
      *logical = json_string_value(lt);
    t = json_object_get(t, "type");
  }
  if (!json_is_string(t))
    return -1;
  const char *s = json_string_value(t);
  if (!strcmp(s, "long")) *out = A_LONG;
  else if (!strcmp(s, "int")) *out = A_INT;
  else if (!strcmp(s, "double")) *out = A_DOUBLE;
  else if (!strcmp(s, "string")) *out = A_STRING;
  else if (!strcmp(s, "boolean")) *out = A_BOOL;
  else return -1;
  return 0;
}

static bool is_null_type(json_t *t) {
  if (json_is_object(t))
    t = json_object_get(t, "type");
  return json_is_string(t) && !strcmp(json_string_value(t), "null");
}

int au_avro_plan_new(const char *schema_json, size_t len, const struct au_schema *s, struct au_avro_plan **out,
                     struct au_err *err) {
  json_error_t je;
  json_t *root = json_loadb(schema_json, len, 0, &je);
  if (!root)
    return au_err_set(err, AU_E_PARSE, "avro schema: line %d column %d: %s", je.line, je.column, je.text);
  int rc = 0;
  struct au_avro_plan *p = au_xcalloc(1, sizeof(*p));
  json_t *fields = json_object_get(root, "fields");
  json_t *type = json_object_get(root, "type");
  bool *seen = au_xcalloc((size_t)s->ncols + 1, sizeof(bool));
  if (!json_is_string(type) || strcmp(json_string_value(type), "record") || !json_is_array(fields)) {
    rc = au_err_set(err, AU_E_CONFIG, "avro schema: the top level must be a record with fields");
    goto out;
  }
  p->n = (int)json_array_size(fields);
  p->f = au_xcalloc((size_t)p->n + 1, sizeof(*p->f));
  for (int i = 0; i < p->n; i++) {
    json_t *fj = json_array_get(fields, (size_t)i);
    const char *name = json_string_value(json_object_get(fj, "name"));
    json_t *ft = json_object_get(fj, "type");
    struct field *f = &p->f[i];
    if (!name || !ft) {
      rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %d has no name or type", i + 1);
      goto out;
    }
    f->null_branch = -1;
    f->col = -1;
    json_t *vt = ft;
    if (json_is_array(ft)) {
      if (json_array_size(ft) != 2) {
        rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %s: only [\"null\", T] unions are supported", name);
        goto out;
      }
      int nb = is_null_type(json_array_get(ft, 0)) ? 0 : is_null_type(json_array_get(ft, 1)) ? 1 : -1;
      if (nb < 0) {
        rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %s: union without \"null\"", name);
        goto out;
      }
      f->null_branch = nb;
      f->value_branch = 1 - nb;
      vt = json_array_get(ft, (size_t)f->value_branch);
    }
    const char *logical;
    if (prim(vt, &f->type, &logical)) {
      rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %s: unsupported type", name);
      goto out;
    }
    bool ok;
    if (!strcmp(name, "event_id")) {
      f->src = F_EVENT_ID;
      ok = f->type == A_STRING;
    } else if (!strcmp(name, "occurred_at")) {
      f->src = F_OCCURRED;
      ok = f->type == A_LONG && (!logical || !strcmp(logical, "timestamp-micros"));
    } else if (!strcmp(name, "tenant_id")) {
      f->src = F_TENANT;
      ok = f->type == A_STRING;
    } else if (!strcmp(name, "schema_version")) {
      f->src = F_SCHEMA_VERSION;
      ok = f->type == A_INT || f->type == A_LONG;
    } else if (!strcmp(name, "producer")) {
      f->src = F_PRODUCER;
      ok = f->type == A_STRING;
    } else {
      int c = au_schema_find(s, name);
      if (c < 0) {
        rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %s is not a column of the table", name);
        goto out;
      }
      f->src = F_COL;
      f->col = c;
      f->name = s->cols[c].name;
      seen[c] = true;
      switch (s->cols[c].type) {
      case AU_T_TIME:
      case AU_T_TIMESTAMP: ok = f->type == A_LONG && (!logical || !strcmp(logical, "timestamp-micros")); break;
      case AU_T_DOUBLE: ok = f->type == A_DOUBLE; break;
      case AU_T_INT: ok = f->type == A_LONG || f->type == A_INT; break;
      case AU_T_BOOL: ok = f->type == A_BOOL; break;
      default: ok = f->type == A_STRING; break;
      }
      if (ok && (s->cols[c].flags & AU_COL_NULLABLE) && f->null_branch < 0) {
        rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %s: the column is nullable, the field is not", name);
        goto out;
      }
    }
    if (!ok) {
      rc = au_err_set(err, AU_E_CONFIG, "avro schema: field %s: type does not match the table", name);
      goto out;
    }
  }
  for (int c = 0; c < s->ncols; c++)
    if (!seen[c]) {
      rc = au_err_set(err, AU_E_CONFIG, "avro schema: column %s of the table has no field", s->cols[c].name);
      goto out;
    }
out:
  free(seen);
  json_decref(root);
  if (rc) {
    au_avro_plan_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* --- Avro binary ---------------------------------------------------------------------- */

static inline size_t put_long(uint8_t *d, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (z >= 0x80) {
    d[n++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  d[n++] = (uint8_t)z;
  return n;
}

static int a_long(struct au_buf *b, int64_t v) {
  int rc = au_buf_grow(b, 10);
  if (rc == 0)
    b->len += put_long((uint8_t *)b->ptr + b->len, v);
  return rc;
}

static int a_double(struct au_buf *b, double v) {
  int rc = au_buf_grow(b, 8);
  if (rc)
    return rc;
  uint64_t u;
  memcpy(&u, &v, 8);
  for (int i = 0; i < 8; i++)
    b->ptr[b->len++] = (char)(uint8_t)(u >> (8 * i));
  return 0;
}

static int a_string(struct au_buf *b, const char *s, size_t n) {
  int rc = au_buf_grow(b, n + 10);
  if (rc)
    return rc;
  b->len += put_long((uint8_t *)b->ptr + b->len, (int64_t)n);
  memcpy(b->ptr + b->len, s, n);
  b->len += n;
  return 0;
}

int au_avro_value(const struct au_avro_plan *p, uint32_t schema_id, const struct au_envelope *env,
                  const struct au_batch *b, size_t r, const char *event_id, struct au_buf *out,
                  struct au_err *err) {
  int rc = au_buf_grow(out, 5);
  if (rc)
    return au_err_set(err, rc, "avro: value too large");
  uint8_t *h = (uint8_t *)out->ptr + out->len;
  h[0] = 0;
  h[1] = (uint8_t)(schema_id >> 24);
  h[2] = (uint8_t)(schema_id >> 16);
  h[3] = (uint8_t)(schema_id >> 8);
  h[4] = (uint8_t)schema_id;
  out->len += 5;
  for (int i = 0; rc == 0 && i < p->n; i++) {
    const struct field *f = &p->f[i];
    bool null = false;
    int64_t iv = 0;
    double dv = 0;
    const char *sv = NULL;
    size_t sl = 0;
    switch (f->src) {
    case F_EVENT_ID: sv = event_id; sl = 36; break;
    case F_OCCURRED: null = !occurred(env, b, r, &iv); break;
    case F_TENANT: sv = env->tenant; sl = strlen(sv); break;
    case F_SCHEMA_VERSION: iv = env->schema_version; break;
    case F_PRODUCER: sv = "aurum/" AU_VERSION; sl = strlen(sv); break;
    case F_COL:
      null = au_batch_is_null(b, r, f->col);
      if (null)
        break;
      if (f->type == A_DOUBLE)
        dv = au_batch_double(b, r, f->col);
      else if (f->type == A_STRING)
        sv = au_batch_text(b, r, f->col, &sl);
      else
        iv = au_batch_int(b, r, f->col);
      break;
    }
    if (f->null_branch >= 0) {
      rc = a_long(out, null ? f->null_branch : f->value_branch);
      if (null || rc)
        continue;
    } else if (null) {
      return au_err_set(err, AU_E_INVAL, "avro: row %zu: field %s is NULL but the schema does not allow null", r + 1,
                        f->name ? f->name : "occurred_at");
    }
    switch (f->type) {
    case A_LONG:
    case A_INT: rc = a_long(out, iv); break;
    case A_DOUBLE: rc = a_double(out, dv); break;
    case A_STRING: rc = a_string(out, sv, sl); break;
    case A_BOOL: rc = au_buf_addc(out, iv ? 1 : 0); break;
    }
  }
  if (rc == 0 && out->ptr)
    out->ptr[out->len] = 0;
  if (rc)
    return au_err_set(err, rc, "avro: value too large");
  return 0;
}

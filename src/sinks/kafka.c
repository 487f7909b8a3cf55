/* kafka.c - the Kafka sink: stored rows as JSON or Confluent-Avro records.
 *
 * Settings (environment < top-level `kafka:` < the table's `kafka:`):
 *   bootstrap_servers    KAFKA_BOOTSTRAP_SERVERS
 *   topic                default ingestion.market.<iso>.<dataset>[.<market>].raw.v1
 *   format               json (default) | avro
 *   schema_registry_url  SCHEMA_REGISTRY_URL (avro)
 *   schema_file          .avsc to register (avro; default: see find_schema)
 *   schema_dir           directory of .avsc files (env AURUM_SCHEMA_DIR)
 *   tenant_id            envelope tenant (default "default")
 *   schema_version       envelope schema version (default 1)
 *   headers              true (default): source, table, schema_version headers on every record
 *   flush_timeout_ms     longest wait for delivery reports (default message.timeout.ms + 10 s)
 *   properties.<name>    passed to librdkafka as <name>; so is any other key with a dot
 *
 * Delivery: one idempotent producer (enable.idempotence=true, acks=all) per table run;
 * keys are partitioned with murmur2 as Java clients do (properties.partitioner overrides).
 * write() queues the changed rows; flush() waits for every delivery report. A batch with
 * any failed report fails (retryable), so the pipeline rolls back the store and retries
 * the batch with the watermark unchanged. Messages of a failed attempt that *were*
 * delivered are remembered (64-bit digest of key + value, computed by re-encoding their
 * rows only when an attempt fails) and skipped when the retry queues the identical record
 * again, so an in-process retry neither loses nor duplicates; the set is cleared when a
 * batch flushes cleanly.
 *
 * A large write() encodes on a second thread (struct enc) while this thread produces, with
 * RD_KAFKA_MSG_F_COPY from the chunk ring; small ones do both on the calling thread. */
#include "core/au.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "sinks/sink.h"

#ifdef AU_HAVE_RDKAFKA
#include "net/http.h"
#include "sinks/avro.h"
#include "sinks/jsonenc.h"
#include "sources/canonical.h"

#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern volatile sig_atomic_t au_cancel_requested;
extern const struct au_sink_ops au_sink_kafka;

enum { FMT_JSON = 0, FMT_AVRO = 1 };

/* open-addressing set of 64-bit digests (0 is the empty slot) */
struct dset {
  uint64_t *v;
  size_t cap, n;
};

struct pend { /* a message of the current attempt */
  uint32_t row; /* its row in the batch */
  bool ok;      /* delivered */
};

/* Encoded records of up to CHUNK_ROWS rows: keys and values back to back in data. */
enum { CHUNK_ROWS = 2048, NCHUNKS = 8 };
struct ent {
  uint32_t koff, klen, voff, vlen, row;
  uint64_t digest; /* only while retrying (skip set not empty) */
};
struct chunk {
  struct au_buf data;
  struct ent *e;
  size_t n, cap;
  int rc;
  struct au_err err;
};

/* write() of a large batch: a second thread encodes chunks into a ring of NCHUNKS while
 * the calling thread produces the chunks already encoded (librdkafka's produce call
 * costs about as much as the encoding, so the two overlap). */
struct enc {
  struct ksink *s;
  const struct au_batch *b;
  const uint8_t *mask;
  size_t nchunks;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t encoded, consumed; /* chunks encoded by the worker / released by the producer */
  bool stop;
};

struct ksink {
  struct au_sink base;
  char source[64], table[96];
  const struct au_schema *schema;
  int keycols[16], nkey;
  struct au_envelope env;
  char tenant[128];
  char topic[256];
  int format;
  struct au_opts props; /* librdkafka properties */
  char bootstrap[1024];
  char registry[1024];
  char schema_path[1600];
  struct au_avro_plan *plan;
  struct au_jenc *jenc; /* keys, event ids, JSON values (one thread at a time) */
  uint32_t schema_id;
  bool registered;
  long flush_timeout_ms;
  bool headers; /* send source/table/schema_version headers (librdkafka: ~1.7 us per message) */

  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  bool fatal;

  /* current attempt */
  struct pend *pend;
  size_t npend, pend_cap;
  uint64_t delivered, failed;
  char first_error[256];
  struct dset skip; /* delivered in a failed attempt, not yet committed */
  const struct au_batch *cur; /* the batch of the current attempt (valid until flush) */

  struct chunk ring[NCHUNKS];
  uint64_t total_msgs, total_bytes, total_skipped;
};

static const char *comp = "kafka";

/* --- digest set ------------------------------------------------------------------ */

static inline uint64_t mix(uint64_t h, uint64_t w) {
  h ^= w * 0x9e3779b97f4a7c15ULL;
  h = (h << 27 | h >> 37) * 0xff51afd7ed558ccdULL;
  return h;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const uint8_t *c = p;
  /* four independent lanes over 32-byte blocks (the multiplies overlap), then words */
  uint64_t l[4] = {h, h ^ 0x9e3779b97f4a7c15ULL, h ^ 0xbf58476d1ce4e5b9ULL, h ^ 0x94d049bb133111ebULL};
  while (n >= 32) {
    for (int i = 0; i < 4; i++) {
      uint64_t w;
      memcpy(&w, c + 8 * i, 8);
      l[i] = mix(l[i], w);
    }
    c += 32;
    n -= 32;
  }
  h = mix(mix(mix(l[0], l[1]), l[2]), l[3]);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, c, 8);
    h = mix(h, w);
    c += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, c, n);
  return mix(h, w ^ ((uint64_t)n << 56));
}

/* 64-bit digest of a record (key, value); word at a time. */
static uint64_t digest(const void *a, size_t an, const void *b, size_t bn) {
  uint64_t h = hash_bytes(0xcbf29ce484222325ULL ^ an, a, an);
  h = hash_bytes(h ^ bn, b, bn);
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h ? h : 1;
}

static bool dset_has(const struct dset *s, uint64_t d) {
  if (!s->n)
    return false;
  for (size_t i = d & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (s->v[i] == d)
      return true;
    if (s->v[i] == 0)
      return false;
  }
}

static void dset_add(struct dset *s, uint64_t d) {
  if ((s->n + 1) * 2 > s->cap) {
    struct dset g = {au_xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(uint64_t)), s->cap ? s->cap * 2 : 1024, 0};
    for (size_t i = 0; i < s->cap; i++)
      if (s->v[i])
        dset_add(&g, s->v[i]);
    free(s->v);
    *s = g;
  }
  size_t i = d & (s->cap - 1);
  while (s->v[i] && s->v[i] != d)
    i = (i + 1) & (s->cap - 1);
  if (!s->v[i]) {
    s->v[i] = d;
    s->n++;
  }
}

static void dset_clear(struct dset *s) {
  if (s->n)
    memset(s->v, 0, s->cap * sizeof(uint64_t));
  s->n = 0;
}

/* --- librdkafka callbacks ------------------------------------------------------------ */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  AU_UNUSED(rk);
  struct ksink *s = opaque;
  size_t idx = (size_t)(uintptr_t)m->_private;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    s->delivered++;
    if (idx >= 1 && idx <= s->npend)
      s->pend[idx - 1].ok = true;
  } else {
    if (s->failed++ == 0)
      snprintf(s->first_error, sizeof(s->first_error), "%s", rd_kafka_err2str(m->err));
  }
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
  AU_UNUSED(rk);
  struct ksink *s = opaque;
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    s->fatal = true;
    au_warn(comp, "fatal producer error: %s", reason);
  } else {
    au_debug(comp, "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)code), reason);
  }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  AU_UNUSED(rk);
  if (level <= 3)
    au_warn(comp, "librdkafka %s: %s", fac, buf);
  else
    au_debug(comp, "librdkafka %s: %s", fac, buf);
}

/* --- settings ---------------------------------------------------------------------- */

static void merge(struct au_opts *dst, const struct au_opts *src) {
  for (size_t i = 0; src && i < src->n; i++)
    au_opts_set(dst, src->v[i].key, src->v[i].value);
}

static int parse_int(const char *k, const char *v, long lo, long hi, long *out, struct au_err *err) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi)
    return au_err_set(err, AU_E_CONFIG, "kafka: %s must be an integer in [%ld, %ld], got '%s'", k, lo, hi, v);
  *out = x;
  return 0;
}

static int apply_settings(struct ksink *s, const struct au_opts *o, struct au_err *err) {
  for (size_t i = 0; i < o->n; i++) {
    const char *k = o->v[i].key, *v = o->v[i].value;
    long x = 0;
    if (!strcmp(k, "bootstrap_servers")) {
      snprintf(s->bootstrap, sizeof(s->bootstrap), "%s", v);
    } else if (!strcmp(k, "topic")) {
      if (!au_kafka_topic_valid(v))
        return au_err_set(err, AU_E_CONFIG, "kafka: invalid topic name '%s'", v);
      snprintf(s->topic, sizeof(s->topic), "%s", v);
    } else if (!strcmp(k, "format")) {
      if (!strcmp(v, "json"))
        s->format = FMT_JSON;
      else if (!strcmp(v, "avro"))
        s->format = FMT_AVRO;
      else
        return au_err_set(err, AU_E_CONFIG, "kafka: format must be json or avro, got '%s'", v);
    } else if (!strcmp(k, "schema_registry_url")) {
      snprintf(s->registry, sizeof(s->registry), "%s", v);
      size_t n = strlen(s->registry);
      while (n > 0 && s->registry[n - 1] == '/')
        s->registry[--n] = 0;
    } else if (!strcmp(k, "schema_file")) {
      snprintf(s->schema_path, sizeof(s->schema_path), "%s", v);
    } else if (!strcmp(k, "schema_dir")) {
      /* handled by find_schema */
    } else if (!strcmp(k, "tenant_id")) {
      snprintf(s->tenant, sizeof(s->tenant), "%s", v);
    } else if (!strcmp(k, "schema_version")) {
      if (parse_int(k, v, 1, INT_MAX, &x, err))
        return err->code;
      s->env.schema_version = (int)x;
    } else if (!strcmp(k, "headers")) {
      if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        s->headers = true;
      else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        s->headers = false;
      else
        return au_err_set(err, AU_E_CONFIG, "kafka: headers must be true or false, got '%s'", v);
    } else if (!strcmp(k, "flush_timeout_ms")) {
      if (parse_int(k, v, 1, LONG_MAX / 2, &x, err))
        return err->code;
      s->flush_timeout_ms = x;
    } else if (!strncmp(k, "properties.", 11) && k[11]) {
      au_opts_set(&s->props, k + 11, v);
    } else if (strchr(k, '.')) {
      au_opts_set(&s->props, k, v);
    } else {
      return au_err_set(err, AU_E_CONFIG,
                        "kafka: unknown setting '%s' (bootstrap_servers, topic, format, schema_registry_url, "
                        "schema_file, schema_dir, tenant_id, schema_version, headers, flush_timeout_ms, properties.*)",
                        k);
    }
  }
  return 0;
}

/* --- producer ----------------------------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, struct au_err *err) {
  char es[512];
  if (rd_kafka_conf_set(conf, k, v, es, sizeof(es)) != RD_KAFKA_CONF_OK)
    return au_err_set(err, AU_E_CONFIG, "kafka: property %s=%s: %s", k, v, es);
  return 0;
}

static int producer_new(struct ksink *s, struct au_err *err) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  int rc = conf_set(conf, "bootstrap.servers", s->bootstrap, err);
  if (!rc)
    rc = conf_set(conf, "client.id", "aurum", err);
  if (!rc)
    rc = conf_set(conf, "linger.ms", "20", err);
  if (!rc) /* a whole pipeline batch fits in the queue (memory is bounded by the kbytes limit) */
    rc = conf_set(conf, "queue.buffering.max.messages", "1000000", err);
  if (!rc) /* the Java client's key -> partition mapping (Kafka Streams joins, JVM producers
            * of the same keys), and cheaper than the default crc32 one */
    rc = conf_set(conf, "partitioner", "murmur2_random", err);
  for (size_t i = 0; !rc && i < s->props.n; i++) {
    const char *k = s->props.v[i].key, *v = s->props.v[i].value;
    if ((!strcmp(k, "enable.idempotence") && strcmp(v, "true")) ||
        ((!strcmp(k, "acks") || !strcmp(k, "request.required.acks")) && strcmp(v, "all") && strcmp(v, "-1")))
      rc = au_err_set(err, AU_E_CONFIG, "kafka: %s=%s is not allowed (the sink needs an idempotent producer "
                      "with acks=all)", k, v);
    else
      rc = conf_set(conf, k, v, err);
  }
  if (!rc)
    rc = conf_set(conf, "enable.idempotence", "true", err);
  if (!rc)
    rc = conf_set(conf, "acks", "all", err);
  if (rc) {
    rd_kafka_conf_destroy(conf);
    return rc;
  }
  if (s->flush_timeout_ms == 0) {
    char v[64];
    size_t n = sizeof(v);
    long mt = 300000;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", v, &n) == RD_KAFKA_CONF_OK)
      mt = atol(v);
    s->flush_timeout_ms = mt + 10000;
  }
  rd_kafka_conf_set_opaque(conf, s);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  char es[512];
  s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
  if (!s->rk) {
    rd_kafka_conf_destroy(conf);
    return au_err_set(err, AU_E_CONFIG, "kafka: cannot create the producer: %s", es);
  }
  s->rkt = rd_kafka_topic_new(s->rk, s->topic, NULL);
  if (!s->rkt) {
    rd_kafka_destroy(s->rk);
    s->rk = NULL;
    return au_err_set(err, AU_E_SINK, "kafka: topic %s: %s", s->topic, rd_kafka_err2str(rd_kafka_last_error()));
  }
  s->fatal = false;
  return 0;
}

static void producer_free(struct ksink *s) {
  if (s->rkt)
    rd_kafka_topic_destroy(s->rkt);
  if (s->rk) {
    rd_kafka_flush(s->rk, 5000);
    rd_kafka_destroy(s->rk);
  }
  s->rkt = NULL;
  s->rk = NULL;
}

/* --- Avro schema + registry ------------------------------------------------------------ */

static bool file_exists(const char *p) {
  return access(p, R_OK) == 0;
}

/* The .avsc of this table: schema_file, else <dir>/<source>.<table>.avsc or the canonical
 * lmp.avsc / load.avsc, in dirs schema_dir, $AURUM_SCHEMA_DIR, <exe>/../schemas,
 * <exe>/../share/aurum/schemas, /usr/share/aurum/schemas. Empty when none. */
static void find_schema(struct ksink *s, const struct au_opts *o) {
  if (s->schema_path[0])
    return;
  char exe[900] = "", exedir[1000] = "";
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = 0;
    char *sl = strrchr(exe, '/');
    if (sl)
      *sl = 0;
    snprintf(exedir, sizeof(exedir), "%s", exe);
  }
  char d1[1100] = "", d2[1100] = "";
  if (exedir[0]) {
    snprintf(d1, sizeof(d1), "%s/../schemas", exedir);
    snprintf(d2, sizeof(d2), "%s/../share/aurum/schemas", exedir);
  }
  const char *dirs[] = {au_opts_get(o, "schema_dir"), getenv("AURUM_SCHEMA_DIR"), d1, d2, "/usr/share/aurum/schemas"};
  char names[2][256];
  snprintf(names[0], sizeof(names[0]), "%s.%s.avsc", s->source, s->table);
  snprintf(names[1], sizeof(names[1]), "%s",
           s->schema == &au_lmp_schema ? "lmp.avsc" : s->schema == &au_load_schema ? "load.avsc" : "");
  for (size_t d = 0; d < AU_ARRAY_LEN(dirs); d++) {
    if (!dirs[d] || !dirs[d][0])
      continue;
    for (int k = 0; k < 2; k++) {
      if (!names[k][0])
        continue;
      char p[1500];
      snprintf(p, sizeof(p), "%s/%s", dirs[d], names[k]);
      if (file_exists(p)) {
        snprintf(s->schema_path, sizeof(s->schema_path), "%s", p);
        return;
      }
    }
  }
}

static int read_file(const char *path, struct au_buf *out, struct au_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return au_err_set(err, AU_E_CONFIG, "kafka: cannot read %s: %s", path, strerror(errno));
  char tmp[8192];
  size_t n;
  int rc = 0;
  while (rc == 0 && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
    rc = au_buf_add(out, tmp, n);
  fclose(f);
  if (rc)
    return au_err_set(err, rc, "kafka: %s is too large", path);
  return 0;
}

static int register_schema(struct ksink *s, const char *text, size_t len, struct au_err *err) {
  json_t *body = json_object();
  json_object_set_new(body, "schema", json_stringn(text, len));
  char *bt = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  struct au_buf url = AU_BUF_INIT(0);
  int rc = au_buf_printf(&url, "%s/subjects/", s->registry);
  if (rc == 0)
    rc = au_url_encode(&url, s->topic);
  if (rc == 0)
    rc = au_buf_adds(&url, "-value/versions");
  struct au_http_policy pol = {0};
  pol.max_attempts = 3;
  pol.backoff_base = 0.2;
  pol.timeout = 15;
  pol.connect_timeout = 5;
  au_http_policy_defaults(&pol);
  struct au_http_client *hc = au_http_client_new("schema-registry", &pol);
  static const struct au_http_header hdr[] = {
      {"Content-Type", "application/vnd.schemaregistry.v1+json"},
      {"Accept", "application/vnd.schemaregistry.v1+json, application/json"}};
  struct au_http_request rq = {"POST", url.ptr, hdr, 2, bt, strlen(bt), NULL, "schema registry register"};
  struct au_http_response resp;
  au_http_response_init(&resp);
  if (rc == 0)
    rc = au_http_do(hc, &rq, &resp, err);
  if (rc == 0) {
    json_error_t je;
    json_t *r = resp.body.ptr ? json_loadb(resp.body.ptr, resp.body.len, 0, &je) : NULL;
    json_t *id = r ? json_object_get(r, "id") : NULL;
    if (resp.status / 100 != 2 || !json_is_integer(id) || json_integer_value(id) < 0 ||
        json_integer_value(id) > (json_int_t)UINT32_MAX) {
      rc = au_err_set_retry(err, AU_E_SINK, "schema registry %s: HTTP %ld: %.300s", url.ptr, resp.status,
                            resp.body.ptr ? resp.body.ptr : "");
      if (resp.status / 100 == 4)
        err->retryable = false, err->code = rc = AU_E_CONFIG;
    } else {
      s->schema_id = (uint32_t)json_integer_value(id);
      s->registered = true;
      au_info(comp, "schema %s registered as subject %s-value, id %u", s->schema_path[0] ? s->schema_path : "(generated)",
              s->topic, s->schema_id);
    }
    json_decref(r);
  } else {
    au_err_prefix(err, "schema registry");
  }
  au_http_response_release(&resp);
  au_http_client_free(hc);
  au_buf_release(&url);
  free(bt);
  return rc;
}

/* Load (or generate) the schema text and bind the plan; register it at first use. */
static int avro_prepare(struct ksink *s, const struct au_opts *o, struct au_err *err) {
  struct au_buf text = AU_BUF_INIT(16u << 20);
  int rc;
  find_schema(s, o);
  if (s->schema_path[0]) {
    rc = read_file(s->schema_path, &text, err);
  } else {
    char ns[128];
    snprintf(ns, sizeof(ns), "aurum.market.%s", s->source);
    rc = au_avro_schema_gen(s->schema, s->table, ns, &text);
    if (rc == 0)
      au_info(comp, "no .avsc for %s.%s; using the schema generated from the table", s->source, s->table);
    else
      au_err_set(err, rc, "kafka: cannot generate the Avro schema");
  }
  if (rc == 0) {
    rc = au_avro_plan_new(text.ptr, text.len, s->schema, &s->plan, err);
    if (rc)
      au_err_prefix(err, "kafka: %s", s->schema_path[0] ? s->schema_path : "generated schema");
  }
  if (rc == 0)
    rc = register_schema(s, text.ptr, text.len, err);
  au_buf_release(&text);
  return rc;
}

/* --- sink ops ------------------------------------------------------------------------- */

static void kafka_close(struct au_sink *base);

static int kafka_open(const struct au_sink_info *info, struct au_sink **out, struct au_err *err) {
  struct ksink *s = au_xcalloc(1, sizeof(*s));
  s->base.ops = &au_sink_kafka;
  snprintf(s->source, sizeof(s->source), "%s", info->source);
  snprintf(s->table, sizeof(s->table), "%s", info->table);
  s->schema = info->ref->schema;
  s->nkey = au_schema_key_cols(s->schema, s->keycols, (int)AU_ARRAY_LEN(s->keycols));
  snprintf(s->tenant, sizeof(s->tenant), "default");
  s->headers = true;
  s->env = (struct au_envelope){s->source, s->table, s->tenant, 1, -1};
  for (int c = 0; c < s->schema->ncols; c++)
    if (s->schema->cols[c].flags & AU_COL_CURSOR)
      s->env.cursor_col = c;
  au_kafka_default_topic(s->source, s->table, s->topic, sizeof(s->topic));
  for (int i = 0; i < NCHUNKS; i++)
    au_buf_init(&s->ring[i].data, 1u << 30);

  struct au_opts o = {0};
  const char *e;
  if ((e = getenv("KAFKA_BOOTSTRAP_SERVERS")) && *e)
    au_opts_set(&o, "bootstrap_servers", e);
  if ((e = getenv("SCHEMA_REGISTRY_URL")) && *e)
    au_opts_set(&o, "schema_registry_url", e);
  merge(&o, info->global);
  merge(&o, info->table_opts);
  int rc = apply_settings(s, &o, err);
  if (rc == 0 && !s->bootstrap[0])
    rc = au_err_set(err, AU_E_CONFIG,
                    "kafka: bootstrap_servers is not set (kafka.bootstrap_servers in the config or "
                    "KAFKA_BOOTSTRAP_SERVERS)");
  if (rc == 0 && s->format == FMT_AVRO && !s->registry[0])
    rc = au_err_set(err, AU_E_CONFIG,
                    "kafka: format avro needs schema_registry_url (config or SCHEMA_REGISTRY_URL)");
  if (rc == 0 && s->nkey <= 0)
    rc = au_err_set(err, AU_E_CONFIG, "kafka: table %s.%s has no primary key", s->source, s->table);
  if (rc == 0)
    s->jenc = au_jenc_new(s->schema, &s->env, s->keycols, s->nkey);
  if (rc == 0)
    rc = producer_new(s, err);
  if (rc == 0 && s->format == FMT_AVRO)
    rc = avro_prepare(s, &o, err);
  au_opts_release(&o);
  if (rc) {
    kafka_close(&s->base);
    return rc;
  }
  au_info(comp, "%s.%s -> topic %s (%s, bootstrap %s)", s->source, s->table, s->topic,
          s->format == FMT_AVRO ? "avro" : "json", s->bootstrap);
  *out = &s->base;
  return 0;
}

/* Wait for every report of the current attempt. Returns the number still unreported. */
static uint64_t wait_reports(struct ksink *s) {
  double deadline = au_mono() + (double)s->flush_timeout_ms / 1000.0;
  while (s->delivered + s->failed < s->npend) {
    if (au_cancel_requested || au_mono() > deadline)
      break;
    rd_kafka_flush(s->rk, 100);
  }
  if (s->delivered + s->failed < s->npend) {
    /* give up: purged messages are reported as failed */
    rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    double until = au_mono() + 5;
    while (s->delivered + s->failed < s->npend && au_mono() < until)
      rd_kafka_poll(s->rk, 50);
  }
  return s->npend - (s->delivered + s->failed);
}

static int encode_row(struct ksink *s, const struct au_batch *b, size_t r, struct au_buf *out, size_t *klen,
                      struct au_err *err);

/* End the current attempt: if it failed, remember what was delivered (the digests of the
 * delivered rows of s->cur, encoded again: the same bytes as were sent). */
static void end_attempt(struct ksink *s, bool success) {
  if (success) {
    dset_clear(&s->skip);
  } else if (s->cur) {
    struct au_buf tmp = AU_BUF_INIT(0);
    struct au_err e2 = AU_ERR_INIT;
    au_jenc_begin(s->jenc, s->cur);
    for (size_t i = 0; i < s->npend; i++) {
      if (!s->pend[i].ok)
        continue;
      size_t klen = 0;
      au_buf_reset(&tmp);
      if (encode_row(s, s->cur, s->pend[i].row, &tmp, &klen, &e2) == 0)
        dset_add(&s->skip, digest(tmp.ptr, klen, tmp.ptr + klen, tmp.len - klen));
    }
    au_buf_release(&tmp);
  }
  s->npend = 0;
  s->delivered = s->failed = 0;
  s->first_error[0] = 0;
}

/* Key then value of row r appended to out; *klen = the key's length. */
static int encode_row(struct ksink *s, const struct au_batch *b, size_t r, struct au_buf *out, size_t *klen,
                      struct au_err *err) {
  size_t koff = out->len;
  *klen = 0;
  int rc = au_jenc_key(s->jenc, b, r, out);
  if (rc)
    return au_err_set(err, rc, "kafka: row %zu: key too large", r + 1);
  *klen = out->len - koff;
  char eid[37];
  au_jenc_event_id(s->jenc, out->ptr + koff, *klen, eid);
  if (s->format == FMT_AVRO)
    return au_avro_value(s->plan, s->schema_id, &s->env, b, r, eid, out, err);
  if ((rc = au_jenc_value(s->jenc, b, r, eid, out)))
    return au_err_set(err, rc, "kafka: row %zu: value too large", r + 1);
  return 0;
}

/* Encode rows [first, last) of b (skipping unchanged ones) into c. Runs on one thread at a
 * time (the encoding thread, or the caller for small batches): it uses s->jenc's caches;
 * everything else it reads from s is immutable after open. */
static int encode_chunk(struct ksink *s, const struct au_batch *b, const uint8_t *mask, size_t first,
                        size_t last, struct chunk *c) {
  au_buf_reset(&c->data);
  c->n = 0;
  c->rc = 0;
  c->err = (struct au_err)AU_ERR_INIT;
  if (c->cap < last - first) {
    c->cap = CHUNK_ROWS > last - first ? CHUNK_ROWS : last - first;
    c->e = au_xrealloc(c->e, c->cap * sizeof(*c->e));
  }
  bool retrying = s->skip.n > 0; /* read-only while the encoder runs */
  for (size_t r = first; r < last; r++) {
    if (mask && mask[r] == AU_ROW_UNCHANGED)
      continue;
    size_t koff = c->data.len, klen = 0;
    int rc = encode_row(s, b, r, &c->data, &klen, &c->err);
    if (rc)
      return c->rc = rc;
    size_t voff = koff + klen, vlen = c->data.len - voff;
    if (voff > UINT32_MAX || vlen > UINT32_MAX || r > UINT32_MAX)
      return c->rc = au_err_set(&c->err, AU_E_TOOBIG, "kafka: row %zu: batch too large", r + 1);
    /* offsets, not pointers: data may move while the chunk grows */
    c->e[c->n++] = (struct ent){(uint32_t)koff, (uint32_t)klen, (uint32_t)voff, (uint32_t)vlen, (uint32_t)r,
                                retrying ? digest(c->data.ptr + koff, klen, c->data.ptr + voff, vlen) : 0};
  }
  return 0;
}

static void *enc_main(void *arg) {
  struct enc *q = arg;
  for (size_t i = 0; i < q->nchunks; i++) {
    pthread_mutex_lock(&q->mu);
    while (!q->stop && i - q->consumed >= NCHUNKS)
      pthread_cond_wait(&q->cv, &q->mu);
    bool stop = q->stop;
    pthread_mutex_unlock(&q->mu);
    if (stop)
      break;
    size_t first = i * CHUNK_ROWS, last = first + CHUNK_ROWS < q->b->nrows ? first + CHUNK_ROWS : q->b->nrows;
    int rc = encode_chunk(q->s, q->b, q->mask, first, last, &q->s->ring[i % NCHUNKS]);
    pthread_mutex_lock(&q->mu);
    q->encoded = i + 1;
    if (rc)
      q->stop = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (rc)
      break;
  }
  return NULL;
}

/* Produce the records of chunk c. */
static int produce_chunk(struct ksink *s, const struct chunk *c, const char *ver_hdr, struct au_err *err) {
  /* the records' CreateTime, read once per chunk (librdkafka would read the clock for each) */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t ts = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  for (size_t i = 0; i < c->n; i++) {
    if (au_cancel_requested)
      return au_err_set(err, AU_E_CANCELLED, "interrupted");
    const struct ent *m = &c->e[i];
    const char *kp = c->data.ptr + m->koff, *vp = c->data.ptr + m->voff;
    if (s->skip.n && dset_has(&s->skip, m->digest)) {
      s->total_skipped++;
      continue;
    }
    if (s->npend == s->pend_cap) {
      s->pend_cap = s->pend_cap ? s->pend_cap * 2 : 4096;
      s->pend = au_xrealloc(s->pend, s->pend_cap * sizeof(*s->pend));
    }
    s->pend[s->npend] = (struct pend){m->row, false};
    size_t idx = ++s->npend;
    for (;;) {
      rd_kafka_resp_err_t e =
          s->headers
              ? rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(kp, m->klen), RD_KAFKA_V_VALUE((void *)vp, m->vlen),
                                  RD_KAFKA_V_HEADER("source", s->source, -1), RD_KAFKA_V_HEADER("table", s->table, -1),
                                  RD_KAFKA_V_HEADER("schema_version", ver_hdr, -1),
                                  RD_KAFKA_V_OPAQUE((void *)(uintptr_t)idx), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END)
              : rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(kp, m->klen), RD_KAFKA_V_VALUE((void *)vp, m->vlen),
                                  RD_KAFKA_V_OPAQUE((void *)(uintptr_t)idx), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        break;
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !au_cancel_requested) {
        rd_kafka_poll(s->rk, 5);
        continue;
      }
      s->npend--;
      if (e == RD_KAFKA_RESP_ERR__FATAL)
        s->fatal = true;
      return au_err_set_retry(err, AU_E_SINK, "kafka: message %zu of the batch: produce to %s: %s", idx, s->topic,
                              rd_kafka_err2str(e));
    }
    s->total_msgs++;
    s->total_bytes += m->klen + m->vlen;
    if ((s->npend & 1023) == 0)
      rd_kafka_poll(s->rk, 0);
  }
  return 0;
}

static int write_batch(struct ksink *s, const struct au_batch *b, const uint8_t *mask, struct au_err *err);

static int kafka_write(struct au_sink *base, const struct au_batch *b, const uint8_t *mask, struct au_err *err) {
  struct ksink *s = (struct ksink *)base;
  if (s->npend) { /* written without a flush (not done by the pipeline): its batch is gone */
    s->cur = NULL;
    wait_reports(s);
    end_attempt(s, false);
  }
  s->cur = b;
  int rc = write_batch(s, b, mask, err);
  if (rc && s->npend) { /* the attempt ends here, while b still holds its rows */
    wait_reports(s);
    end_attempt(s, false);
  }
  return rc;
}

static int write_batch(struct ksink *s, const struct au_batch *b, const uint8_t *mask, struct au_err *err) {
  if (s->fatal || !s->rk) {
    au_warn(comp, "recreating the producer after a fatal error");
    producer_free(s);
    int rc = producer_new(s, err);
    if (rc)
      return rc;
  }
  char ver[16];
  snprintf(ver, sizeof(ver), "%d", s->env.schema_version);
  size_t nchunks = (b->nrows + CHUNK_ROWS - 1) / CHUNK_ROWS;
  au_jenc_begin(s->jenc, b);
  if (nchunks < 4) { /* small batch: encode and produce on this thread */
    for (size_t i = 0; i < nchunks; i++) {
      size_t first = i * CHUNK_ROWS, last = first + CHUNK_ROWS < b->nrows ? first + CHUNK_ROWS : b->nrows;
      struct chunk *c = &s->ring[0];
      if (encode_chunk(s, b, mask, first, last, c)) {
        *err = c->err;
        return c->rc;
      }
      int rc = produce_chunk(s, c, ver, err);
      if (rc)
        return rc;
    }
    return 0;
  }
  struct enc q = {.s = s, .b = b, .mask = mask, .nchunks = nchunks};
  pthread_mutex_init(&q.mu, NULL);
  pthread_cond_init(&q.cv, NULL);
  pthread_t th;
  int rc = 0;
  if (pthread_create(&th, NULL, enc_main, &q)) {
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.cv);
    return au_err_set_retry(err, AU_E_SINK, "kafka: cannot start the encoding thread");
  }
  for (size_t i = 0; i < nchunks && rc == 0; i++) {
    pthread_mutex_lock(&q.mu);
    while (q.encoded <= i && !q.stop)
      pthread_cond_wait(&q.cv, &q.mu);
    bool ready = q.encoded > i;
    pthread_mutex_unlock(&q.mu);
    if (!ready) /* cannot happen: the worker stops only on an error in a chunk it published */
      break;
    struct chunk *c = &s->ring[i % NCHUNKS];
    if (c->rc) {
      *err = c->err;
      rc = c->rc;
      break;
    }
    rc = produce_chunk(s, c, ver, err);
    pthread_mutex_lock(&q.mu);
    q.consumed = i + 1;
    if (rc)
      q.stop = true;
    pthread_cond_broadcast(&q.cv);
    pthread_mutex_unlock(&q.mu);
  }
  pthread_mutex_lock(&q.mu);
  q.stop = true;
  pthread_cond_broadcast(&q.cv);
  pthread_mutex_unlock(&q.mu);
  pthread_join(th, NULL);
  pthread_mutex_destroy(&q.mu);
  pthread_cond_destroy(&q.cv);
  return rc;
}

static int kafka_flush(struct au_sink *base, struct au_err *err) {
  struct ksink *s = (struct ksink *)base;
  if (!s->rk)
    return au_err_set_retry(err, AU_E_SINK, "kafka: no producer");
  uint64_t n = s->npend;
  uint64_t missing = wait_reports(s);
  uint64_t failed = s->failed;
  char fe[256];
  snprintf(fe, sizeof(fe), "%s", s->first_error);
  char fatal[512] = "";
  if (rd_kafka_fatal_error(s->rk, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR)
    s->fatal = true;
  bool ok = missing == 0 && failed == 0 && !s->fatal;
  end_attempt(s, ok);
  s->cur = NULL;
  if (ok)
    return 0;
  if (au_cancel_requested)
    return au_err_set(err, AU_E_CANCELLED, "interrupted while waiting for Kafka delivery reports");
  if (s->fatal && fatal[0])
    return au_err_set_retry(err, AU_E_SINK, "kafka: fatal producer error: %s", fatal);
  return au_err_set_retry(err, AU_E_SINK, "kafka: %llu of %llu messages to %s not delivered%s%s%s",
                          (unsigned long long)(failed + missing), (unsigned long long)n, s->topic,
                          fe[0] ? " (" : "", fe, fe[0] ? ")" : "");
}

static void kafka_close(struct au_sink *base) {
  struct ksink *s = (struct ksink *)base;
  if (!s)
    return;
  if (s->rk && s->total_msgs)
    au_info(comp, "%s: %llu messages, %llu bytes%s", s->topic, (unsigned long long)s->total_msgs,
            (unsigned long long)s->total_bytes, s->total_skipped ? " (some skipped: delivered by an earlier attempt)" : "");
  producer_free(s);
  au_avro_plan_free(s->plan);
  au_jenc_free(s->jenc);
  au_opts_release(&s->props);
  for (int i = 0; i < NCHUNKS; i++) {
    au_buf_release(&s->ring[i].data);
    free(s->ring[i].e);
  }
  free(s->pend);
  free(s->skip.v);
  free(s);
}

const struct au_sink_ops au_sink_kafka = {"kafka", kafka_open, kafka_write, kafka_flush, kafka_close};

#else /* !AU_HAVE_RDKAFKA */

extern const struct au_sink_ops au_sink_kafka;

static int kafka_open(const struct au_sink_info *info, struct au_sink **out, struct au_err *err) {
  AU_UNUSED(info);
  AU_UNUSED(out);
  return au_err_set(err, AU_E_UNSUPPORTED, "kafka: this build has no librdkafka");
}
static int kafka_write(struct au_sink *s, const struct au_batch *b, const uint8_t *mask, struct au_err *err) {
  AU_UNUSED(s);
  AU_UNUSED(b);
  AU_UNUSED(mask);
  return au_err_set(err, AU_E_UNSUPPORTED, "kafka: this build has no librdkafka");
}
static int kafka_flush(struct au_sink *s, struct au_err *err) {
  AU_UNUSED(s);
  return au_err_set(err, AU_E_UNSUPPORTED, "kafka: this build has no librdkafka");
}
static void kafka_close(struct au_sink *s) {
  AU_UNUSED(s);
}
const struct au_sink_ops au_sink_kafka = {"kafka", kafka_open, kafka_write, kafka_flush, kafka_close};

#endif

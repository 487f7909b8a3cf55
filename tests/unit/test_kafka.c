/* test_kafka.c - Kafka record encoding (topic, key, event id, JSON, Confluent Avro decoded
 * with avro-c against the shipped schemas/lmp.avsc) and the sink itself against an
 * in-process librdkafka mock cluster: delivery, injected produce errors, retry without
 * duplicates, read back with a consumer. */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/uuid.h"
#include "sinks/avro.h"
#include "sinks/jsonenc.h"
#include "sinks/sink.h"
#include "sources/canonical.h"
#include "sources/source.h"
#include "store/store.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#ifdef AU_HAVE_AVRO
#include <avro.h>
#endif
#ifdef AU_HAVE_RDKAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

static const char *schema_dir(void) {
  static char p[1024];
  snprintf(p, sizeof(p), "%s/../../schemas", getenv("AU_TEST_DATA") ? getenv("AU_TEST_DATA") : "tests/data");
  return p;
}

/* A canonical LMP row: DAM, node, hour h of 2024-01-01 (UTC). */
static void lmp_row(struct au_batch *b, const char *node, int h, double lmp, bool null_parts) {
  au_batch_add_row(b);
  au_batch_set_time(b, AU_LMP_START, au_time_utc(2024, 1, 1, h, 0, 0));
  au_batch_set_time(b, AU_LMP_END, au_time_utc(2024, 1, 1, h + 1, 0, 0));
  au_batch_set_text(b, AU_LMP_LOC_ID, node, strlen(node));
  au_batch_set_text(b, AU_LMP_LOC_TYPE, "NODE", 4);
  au_batch_set_double(b, AU_LMP_LMP, lmp);
  if (!null_parts) {
    au_batch_set_double(b, AU_LMP_ENERGY, lmp - 1.5);
    au_batch_set_double(b, AU_LMP_CONG, 1.0);
    au_batch_set_double(b, AU_LMP_LOSS, 0.5);
  }
  au_lmp_set_meta(b, "CAISO", "DAM", "USD/MWh", "America/Los_Angeles", 60, au_time_utc(2024, 1, 2, 3, 4, 5) + 123456);
}

TEST(default_topic) {
  char t[256];
  au_kafka_default_topic("caiso", "lmp_dam", t, sizeof(t));
  CHECK_EQ_STR(t, "ingestion.market.caiso.lmp.dam.raw.v1");
  au_kafka_default_topic("aeso", "pool_price", t, sizeof(t));
  CHECK_EQ_STR(t, "ingestion.market.aeso.pool_price.raw.v1");
  au_kafka_default_topic("pjm", "lmp_rt", t, sizeof(t));
  CHECK_EQ_STR(t, "ingestion.market.pjm.lmp.rt.raw.v1");
  au_kafka_default_topic("CAISO", "LMP_RTPD", t, sizeof(t));
  CHECK_EQ_STR(t, "ingestion.market.caiso.lmp.rtpd.raw.v1");
  au_kafka_default_topic("ercot", "load_forecast", t, sizeof(t));
  CHECK_EQ_STR(t, "ingestion.market.ercot.load_forecast.raw.v1");
  CHECK(au_kafka_topic_valid("ingestion.market.caiso.lmp.dam.raw.v1"));
  CHECK(!au_kafka_topic_valid("bad topic"));
  CHECK(!au_kafka_topic_valid(".."));
  CHECK(!au_kafka_topic_valid(""));
}

TEST(key_event_id_json) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 4);
  lmp_row(b, "TH_NP15\"GEN", 8, 42.25, true);
  int kc[8];
  int nk = au_schema_key_cols(&au_lmp_schema, kc, 8);
  struct au_buf k = AU_BUF_INIT(0), v = AU_BUF_INIT(0);
  struct au_envelope env = {"caiso", "lmp_dam", "default", 1, AU_LMP_START};
  struct au_jenc *e = au_jenc_new(&au_lmp_schema, &env, kc, nk);
  au_jenc_begin(e, b);
  CHECK_EQ_INT(au_jenc_key(e, b, 0, &k), 0);
  CHECK_EQ_STR(k.ptr, "[\"DAM\",\"TH_NP15\\\"GEN\",\"2024-01-01T08:00:00Z\"]");
  char id[37], want[37];
  au_jenc_event_id(e, k.ptr, k.len, id);
  char name[256];
  int n = snprintf(name, sizeof(name), "caiso.lmp_dam\n%s", k.ptr);
  au_uuid_v5(au_uuid_ns_aurum, name, (size_t)n, want);
  CHECK_EQ_STR(id, want);
  CHECK_EQ_INT(id[14], '5');
  /* same key, another run: same id; another key: another id */
  char id2[37];
  au_jenc_event_id(e, k.ptr, k.len, id2);
  CHECK_EQ_STR(id, id2);
  au_jenc_event_id(e, "[\"x\"]", 5, id2);
  CHECK(strcmp(id, id2) != 0);

  CHECK_EQ_INT(au_jenc_value(e, b, 0, id, &v), 0);
  char exp[1024];
  snprintf(exp, sizeof(exp),
           "{\"event_id\":\"%s\",\"occurred_at\":\"2024-01-01T08:00:00Z\",\"tenant_id\":\"default\","
           "\"schema_version\":1,\"producer\":\"aurum/" AU_VERSION "\","
           "\"interval_start_utc\":\"2024-01-01T08:00:00Z\",\"interval_end_utc\":\"2024-01-01T09:00:00Z\","
           "\"iso_code\":\"CAISO\",\"iso_market\":\"DAM\",\"location_id\":\"TH_NP15\\\"GEN\","
           "\"location_name\":null,\"location_type\":\"NODE\",\"lmp\":42.25,\"energy\":null,\"congestion\":null,"
           "\"loss\":null,\"ghg\":null,\"iso_unit\":\"USD/MWh\",\"iso_timezone\":\"America/Los_Angeles\","
           "\"iso_interval_minutes\":60,\"ingestion_time\":\"2024-01-02T03:04:05.123456Z\"}",
           id);
  CHECK_EQ_STR(v.ptr, exp);
  au_jenc_free(e);
  au_buf_release(&k);
  au_buf_release(&v);
  au_batch_free(b);
}

/* au_fmt_double (JSON values, au_batch_cell_str) gives exactly the shortest of %.15g/16g/17g
 * that reads back, computed here the slow way. */
TEST(fmt_double_shortest) {
  static const double fixed[] = {0.0, -0.0, 1, -1, 0.1, 0.2, 0.1 + 0.2, 57.19, 17.31, 1e-4, 9.9999e-5, 1.5e-4,
                                 -0.00012345678, 999999999999999.0, 1e15, 1e15 + 2, 1e16, 123456789.12345678,
                                 4503599627370497.0, 5e-324, 1.7976931348623157e308, 2.5e-7, 33.333333333333336,
                                 -12.3456789, 100.0000001, 0.30000000000000004};
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  size_t bad = 0;
  for (int i = 0; i < 200000; i++) {
    double v;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (i < (int)AU_ARRAY_LEN(fixed)) {
      v = fixed[i];
    } else if (i % 3 == 0) { /* any bit pattern */
      memcpy(&v, &x, sizeof(v));
      if (!isfinite(v))
        continue;
    } else { /* prices: up to 8 decimals, sometimes negative, sometimes computed */
      int k = (int)(x % 9);
      double p = 1;
      for (int j = 0; j < k; j++)
        p *= 10;
      v = (double)(int64_t)((x >> 8) % 100000000000ULL) / p;
      if (x & 0x10)
        v = -v;
      if (i % 5 == 0)
        v = v - 3.25 * (double)(x % 7);
    }
    char want[64], got[64];
    int wl = 0;
    for (int prec = 15; prec <= 17; prec++) {
      wl = snprintf(want, sizeof(want), "%.*g", prec, v);
      if (strtod(want, NULL) == v)
        break;
    }
    const char *w = want;
    size_t wn = (size_t)wl;
    size_t gn = au_fmt_double(v, got);
    if (gn != wn || memcmp(got, w, wn)) {
      if (bad++ < 5)
        fprintf(stderr, "  %.17g: cell_str %.*s, json %s\n", v, (int)wn, w, got);
    }
  }
  CHECK_EQ_INT((long)bad, 0);
}

/* The caching encoder against a plain one built from au_batch_cell_str, over batches that
 * are cleared and refilled (string ids reused for other strings, times repeated). */
static void plain_value(const struct au_batch *b, size_t r, const char *id, struct au_buf *o) {
  char t[64], tb[40];
  const char *p;
  size_t n;
  CHECK_EQ_INT(au_buf_printf(o, "{\"event_id\":\"%s\",\"occurred_at\":", id), 0);
  if (au_batch_is_null(b, r, AU_LMP_START)) {
    CHECK_EQ_INT(au_buf_adds(o, "null"), 0);
  } else {
    n = au_time_fmt(au_batch_int(b, r, AU_LMP_START), tb);
    CHECK_EQ_INT(au_buf_add_json_str(o, tb, n), 0);
  }
  CHECK_EQ_INT(au_buf_adds(o, ",\"tenant_id\":\"t\\\"x\",\"schema_version\":3,\"producer\":\"aurum/" AU_VERSION "\""),
               0);
  for (int c = 0; c < b->schema->ncols; c++) {
    CHECK_EQ_INT(au_buf_printf(o, ",\"%s\":", b->schema->cols[c].name), 0);
    enum au_type ty = b->schema->cols[c].type;
    if (!au_batch_cell_str(b, r, c, t, sizeof(t), &p, &n) || (ty == AU_T_DOUBLE && !isfinite(au_batch_double(b, r, c))))
      CHECK_EQ_INT(au_buf_adds(o, "null"), 0);
    else if (ty == AU_T_TEXT || ty == AU_T_TIME || ty == AU_T_TIMESTAMP)
      CHECK_EQ_INT(au_buf_add_json_str(o, p, n), 0);
    else
      CHECK_EQ_INT(au_buf_add(o, p, n), 0);
  }
  CHECK_EQ_INT(au_buf_addc(o, '}'), 0);
}

TEST(json_encoder_caches) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  int kc[8];
  int nk = au_schema_key_cols(&au_lmp_schema, kc, 8);
  struct au_envelope env = {"caiso", "lmp_dam", "t\"x", 3, AU_LMP_START};
  struct au_jenc *e = au_jenc_new(&au_lmp_schema, &env, kc, nk);
  struct au_buf k = AU_BUF_INIT(0), v = AU_BUF_INIT(0), want = AU_BUF_INIT(0);
  static const char *const nodes[][3] = {{"A", "B\\n", "C\tD"}, {"X\"Y", "A", "\x01"}, {"", "Z", "B\\n"}};
  for (int round = 0; round < 3; round++) {
    au_batch_clear(b);
    for (int i = 0; i < 6; i++) {
      lmp_row(b, nodes[round][i % 3], round + i / 3, 10.125 * i - 3, i == 4);
      if (i == 5)
        au_batch_set_double(b, AU_LMP_CONG, NAN);
    }
    au_jenc_begin(e, b);
    for (size_t r = 0; r < b->nrows; r++) {
      au_buf_reset(&k);
      au_buf_reset(&v);
      au_buf_reset(&want);
      CHECK_EQ_INT(au_jenc_key(e, b, r, &k), 0);
      char id[37], idw[37], name[256];
      au_jenc_event_id(e, k.ptr, k.len, id);
      int n = snprintf(name, sizeof(name), "caiso.lmp_dam\n%s", k.ptr);
      au_uuid_v5(au_uuid_ns_aurum, name, (size_t)n, idw);
      CHECK_EQ_STR(id, idw);
      CHECK_EQ_INT(au_jenc_value(e, b, r, id, &v), 0);
      plain_value(b, r, id, &want);
      CHECK_EQ_STR(v.ptr, want.ptr);
      CHECK_EQ_INT((long)strlen(v.ptr), (long)v.len);
    }
  }
  au_jenc_free(e);
  au_buf_release(&k);
  au_buf_release(&v);
  au_buf_release(&want);
  au_batch_free(b);
}

TEST(avro_plan_checks) {
  struct au_err err = AU_ERR_INIT;
  struct au_avro_plan *p = NULL;
  struct au_buf g = AU_BUF_INIT(0);
  CHECK_EQ_INT(au_avro_schema_gen(&au_lmp_schema, "lmp", "aurum.market.canonical", &g), 0);
  /* the shipped file is what the generator produces (regenerate both together) */
  char path[1200];
  snprintf(path, sizeof(path), "%s/lmp.avsc", schema_dir());
  size_t len;
  char *shipped = au_test_read_file(path, &len);
  CHECK_EQ_STR(g.ptr, shipped);
  CHECK_EQ_INT(au_avro_plan_new(shipped, len, &au_lmp_schema, &p, &err), 0);
  au_avro_plan_free(p);
  /* the pool price schema does not fit the LMP table */
  snprintf(path, sizeof(path), "%s/aeso.pool_price.avsc", schema_dir());
  char *pp = au_test_read_file(path, &len);
  CHECK_EQ_INT(au_avro_plan_new(pp, len, &au_lmp_schema, &p, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "not a column") != NULL);
  /* a nullable column needs a union; a type must match */
  au_err_clear(&err);
  char *bad = strdup(shipped);
  char *q = strstr(bad, "\"name\": \"lmp\",\n      \"type\": [\n        \"null\",\n        \"double\"\n      ]");
  CHECK(q != NULL);
  if (q) {
    memcpy(strstr(q, "\"double\""), "\"string\"", 8);
    CHECK_EQ_INT(au_avro_plan_new(bad, strlen(bad), &au_lmp_schema, &p, &err), AU_E_CONFIG);
    CHECK(strstr(err.msg, "field lmp: type does not match") != NULL);
  }
  au_err_clear(&err);
  const char *empty = "{\"type\":\"record\",\"name\":\"x\",\"fields\":[]}";
  CHECK_EQ_INT(au_avro_plan_new(empty, strlen(empty), &au_lmp_schema, &p, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "has no field") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(au_avro_plan_new("{\"type\":", 8, &au_lmp_schema, &p, &err), AU_E_PARSE);
  free(bad);
  free(pp);
  free(shipped);
  au_buf_release(&g);
}

TEST(avro_value_decodes) {
#ifdef AU_HAVE_AVRO
  char path[1200];
  snprintf(path, sizeof(path), "%s/lmp.avsc", schema_dir());
  size_t len;
  char *text = au_test_read_file(path, &len);
  struct au_err err = AU_ERR_INIT;
  struct au_avro_plan *p = NULL;
  CHECK_EQ_INT(au_avro_plan_new(text, len, &au_lmp_schema, &p, &err), 0);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 4);
  lmp_row(b, "SP15", 23, -12.5, false);
  lmp_row(b, "NP15", 0, 1e300, true);
  struct au_envelope env = {"caiso", "lmp_dam", "t1", 3, AU_LMP_START};
  avro_schema_t sch;
  CHECK_EQ_INT(avro_schema_from_json_length(text, len, &sch), 0);
  avro_value_iface_t *iface = avro_generic_class_from_schema(sch);
  for (size_t r = 0; r < 2; r++) {
    struct au_buf v = AU_BUF_INIT(0);
    CHECK_EQ_INT(au_avro_value(p, 0x01020304u, &env, b, r, "01234567-89ab-5def-8123-456789abcdef", &v, &err), 0);
    CHECK_EQ_INT((unsigned char)v.ptr[0], 0);
    CHECK_EQ_INT((unsigned char)v.ptr[1], 1);
    CHECK_EQ_INT((unsigned char)v.ptr[4], 4);
    avro_value_t rec, f, br;
    avro_generic_value_new(iface, &rec);
    avro_reader_t rd = avro_reader_memory(v.ptr + 5, (int64_t)v.len - 5);
    CHECK_EQ_INT(avro_value_read(rd, &rec), 0);
    size_t dsz = 0;
    avro_value_sizeof(&rec, &dsz);
    CHECK_EQ_INT(dsz, v.len - 5); /* the datum is exactly the bytes after the header */
    const char *s;
    size_t sl;
    int64_t l;
    int32_t i32;
    double d;
    avro_value_get_by_name(&rec, "event_id", &f, NULL);
    avro_value_get_string(&f, &s, &sl);
    CHECK_EQ_STR(s, "01234567-89ab-5def-8123-456789abcdef");
    avro_value_get_by_name(&rec, "tenant_id", &f, NULL);
    avro_value_get_string(&f, &s, &sl);
    CHECK_EQ_STR(s, "t1");
    avro_value_get_by_name(&rec, "schema_version", &f, NULL);
    avro_value_get_int(&f, &i32);
    CHECK_EQ_INT(i32, 3);
    avro_value_get_by_name(&rec, "occurred_at", &f, NULL);
    avro_value_get_long(&f, &l);
    CHECK_EQ_INT(l, au_batch_int(b, r, AU_LMP_START));
    avro_value_get_by_name(&rec, "ingestion_time", &f, NULL);
    avro_value_get_long(&f, &l);
    CHECK_EQ_INT(l, au_time_utc(2024, 1, 2, 3, 4, 5) + 123456);
    avro_value_get_by_name(&rec, "location_id", &f, NULL);
    avro_value_get_string(&f, &s, &sl);
    CHECK_EQ_STR(s, r == 0 ? "SP15" : "NP15");
    avro_value_get_by_name(&rec, "lmp", &f, NULL);
    int disc;
    avro_value_get_discriminant(&f, &disc);
    CHECK_EQ_INT(disc, 1);
    avro_value_get_current_branch(&f, &br);
    avro_value_get_double(&br, &d);
    CHECK(d == (r == 0 ? -12.5 : 1e300));
    avro_value_get_by_name(&rec, "energy", &f, NULL);
    avro_value_get_discriminant(&f, &disc);
    CHECK_EQ_INT(disc, r == 0 ? 1 : 0);
    avro_value_get_by_name(&rec, "location_name", &f, NULL);
    avro_value_get_discriminant(&f, &disc);
    CHECK_EQ_INT(disc, 0);
    avro_value_get_by_name(&rec, "iso_interval_minutes", &f, NULL);
    avro_value_get_long(&f, &l);
    CHECK_EQ_INT(l, 60);
    avro_reader_free(rd);
    avro_value_decref(&rec);
    au_buf_release(&v);
  }
  /* NULL in a non-nullable column is an error with the row */
  au_batch_add_row(b);
  struct au_buf v = AU_BUF_INIT(0);
  CHECK_EQ_INT(au_avro_value(p, 1, &env, b, 2, "01234567-89ab-5def-8123-456789abcdef", &v, &err), AU_E_INVAL);
  CHECK(strstr(err.msg, "row 3") != NULL);
  au_buf_release(&v);
  avro_value_iface_decref(iface);
  avro_schema_decref(sch);
  au_batch_free(b);
  au_avro_plan_free(p);
  free(text);
#endif
}

#ifdef AU_HAVE_RDKAFKA
/* Messages in topic: the sum of the partitions' high watermarks. */
static long topic_count(const char *bs, const char *topic) {
  char es[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bs, es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es));
  long total = 0;
  for (int p = 0; p < 4; p++) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return -1;
    total += (long)(hi - lo);
  }
  rd_kafka_destroy(rk);
  return total;
}
#endif

TEST(sink_against_mock_cluster) {
#ifdef AU_HAVE_RDKAFKA
  char es[256];
  rd_kafka_conf_t *mconf = rd_kafka_conf_new();
  rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, es, sizeof(es));
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 3);
  const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
  rd_kafka_mock_topic_create(mc, "t.unit", 4, 3);

  struct au_opts g = {0}, t = {0};
  au_opts_set(&g, "bootstrap_servers", bs);
  au_opts_set(&g, "properties.message.timeout.ms", "5000");
  au_opts_set(&t, "topic", "t.unit");
  struct au_table_ref ref = {"caiso.lmp_dam", "caiso_lmp_dam", &au_lmp_schema, AU_LMP_INGEST};
  struct au_sink_info info = {"caiso", "lmp_dam", &ref, &g, &t};
  const struct au_sink_ops *ops = au_sink_find("kafka");
  CHECK(ops != NULL);
  struct au_sink *s = NULL;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(ops->open(&info, &s, &err), 0);
  if (s) {
    struct au_batch *b = au_batch_new(&au_lmp_schema, 2000);
    uint8_t mask[2000];
    char node[32];
    for (int i = 0; i < 2000; i++) {
      snprintf(node, sizeof(node), "N%d", i % 500);
      lmp_row(b, node, i / 500, i * 0.25, i % 3 == 0);
      mask[i] = i % 4 == 3 ? AU_ROW_UNCHANGED : i % 4 == 2 ? AU_ROW_UPDATED : AU_ROW_INSERTED;
    }
    /* batch 1: 1500 changed rows */
    CHECK_EQ_INT(ops->write(s, b, mask, &err), 0);
    CHECK_EQ_INT(ops->flush(s, &err), 0);
    /* batch 2: the unchanged rows, with produce requests failing (not retriable): the
     * flush fails, the retry re-sends only what was not delivered */
    for (int i = 0; i < 2000; i++)
      mask[i] = mask[i] == AU_ROW_UNCHANGED ? AU_ROW_INSERTED : AU_ROW_UNCHANGED;
    rd_kafka_mock_push_request_errors(mc, 0, 2, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    CHECK_EQ_INT(ops->write(s, b, mask, &err), 0);
    int rc = ops->flush(s, &err);
    CHECK_EQ_INT(rc, AU_E_SINK);
    CHECK(err.retryable);
    CHECK(strstr(err.msg, "not delivered") != NULL);
    /* the pipeline's retry: write + flush again after a pause until it succeeds */
    int attempts = 1;
    do {
      au_err_clear(&err);
      usleep(300000);
      attempts++;
      rc = ops->write(s, b, mask, &err);
      if (rc == 0)
        rc = ops->flush(s, &err);
    } while (rc != 0 && attempts < 30);
    CHECK_EQ_INT(rc, 0);
    CHECK(attempts >= 2);
    /* retriable errors are absorbed by the idempotent producer */
    rd_kafka_mock_push_request_errors(mc, 0, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    for (int i = 0; i < 2000; i++)
      mask[i] = AU_ROW_UNCHANGED;
    au_batch_clear(b);
    for (int i = 0; i < 100; i++) {
      snprintf(node, sizeof(node), "M%d", i);
      lmp_row(b, node, 1, i, false);
    }
    CHECK_EQ_INT(ops->write(s, b, NULL, &err), 0);
    CHECK_EQ_INT(ops->flush(s, &err), 0);
    ops->close(s);
    au_batch_free(b);
    /* 2100 distinct records were written: exactly 2100 messages, none lost or repeated */
    CHECK_EQ_INT(topic_count(bs, "t.unit"), 2100);
  }
  /* configuration errors */
  au_opts_set(&t, "format", "xml");
  au_err_clear(&err);
  CHECK_EQ_INT(ops->open(&info, &s, &err), AU_E_CONFIG);
  au_opts_set(&t, "format", "json");
  au_opts_set(&t, "properties.enable.idempotence", "false");
  au_err_clear(&err);
  CHECK_EQ_INT(ops->open(&info, &s, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "idempotent") != NULL);
  au_opts_release(&g);
  au_opts_release(&t);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);
  rd_kafka_wait_destroyed(5000);
#endif
}

#ifdef AU_HAVE_RDKAFKA
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All messages of topic (4 partitions) as sorted "key|value|source,table,schema_version". */
static size_t consume_all(const char *bs, const char *topic, size_t want, char **out) {
  char es[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bs, es, sizeof(es));
  rd_kafka_conf_set(c, "group.id", "t", es, sizeof(es));
  rd_kafka_conf_set(c, "enable.auto.commit", "false", es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof(es));
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 4; p++)
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  size_t n = 0;
  double until = au_mono() + 30;
  while (au_mono() < until) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (!m) {
      if (n >= want) /* nothing more within 200 ms */
        break;
      continue;
    }
    if (!m->err && n < want + 100) {
      const char *hv[3] = {"", "", ""};
      const char *hn[3] = {"source", "table", "schema_version"};
      rd_kafka_headers_t *h = NULL;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && rd_kafka_header_cnt(h) == 3)
        for (int i = 0; i < 3; i++) {
          const void *v;
          size_t vl;
          if (rd_kafka_header_get_last(h, hn[i], &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR)
            hv[i] = strndup(v, vl);
        }
      size_t len = m->key_len + m->len + 64;
      out[n] = au_xmalloc(len);
      snprintf(out[n], len, "%.*s|%.*s|%s,%s,%s", (int)m->key_len, (const char *)m->key, (int)m->len,
               (const char *)m->payload, hv[0], hv[1], hv[2]);
      for (int i = 0; i < 3; i++)
        if (hv[i][0])
          free((void *)hv[i]);
      n++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  qsort(out, n < want + 100 ? n : want + 100, sizeof(*out), cmp_str);
  return n;
}
#endif

/* A batch large enough for the two-thread write path (encoding thread + producer), with a
 * mask, a failed attempt and its retry: exactly the expected messages, byte for byte. */
TEST(large_batch_exact_messages) {
#ifdef AU_HAVE_RDKAFKA
  char es[256];
  rd_kafka_conf_t *mconf = rd_kafka_conf_new();
  rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, es, sizeof(es));
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 3);
  const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
  rd_kafka_mock_topic_create(mc, "t.large", 4, 3);
  struct au_opts g = {0}, t = {0};
  au_opts_set(&g, "bootstrap_servers", bs);
  au_opts_set(&g, "properties.message.timeout.ms", "5000");
  au_opts_set(&t, "topic", "t.large");
  struct au_table_ref ref = {"caiso.lmp_dam", "caiso_lmp_dam", &au_lmp_schema, AU_LMP_INGEST};
  struct au_sink_info info = {"caiso", "lmp_dam", &ref, &g, &t};
  const struct au_sink_ops *ops = au_sink_find("kafka");
  struct au_sink *s = NULL;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(ops->open(&info, &s, &err), 0);
  enum { N = 30001 };
  struct au_batch *b = au_batch_new(&au_lmp_schema, N);
  uint8_t *mask = au_xmalloc(N);
  char node[32];
  size_t want = 0;
  for (int i = 0; i < N; i++) {
    snprintf(node, sizeof(node), "L%d", i % 1000);
    lmp_row(b, node, i / 1000, i * 0.01, i % 7 == 0);
    mask[i] = i % 5 == 4 ? AU_ROW_UNCHANGED : AU_ROW_INSERTED;
    want += mask[i] != AU_ROW_UNCHANGED;
  }
  if (s) {
    /* first attempt: some produce requests fail, so the flush fails */
    rd_kafka_mock_push_request_errors(mc, 0, 2, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    int rc = ops->write(s, b, mask, &err);
    if (rc == 0)
      rc = ops->flush(s, &err);
    CHECK_EQ_INT(rc, AU_E_SINK);
    for (int attempts = 0; rc != 0 && attempts < 30; attempts++) {
      au_err_clear(&err);
      usleep(200000);
      rc = ops->write(s, b, mask, &err);
      if (rc == 0)
        rc = ops->flush(s, &err);
    }
    CHECK_EQ_INT(rc, 0);
    ops->close(s);
  }
  /* expected records, encoded one by one */
  char **exp = au_xcalloc(want, sizeof(char *)), **got = au_xcalloc(want + 100, sizeof(char *));
  int kc[8];
  int nk = au_schema_key_cols(&au_lmp_schema, kc, 8);
  struct au_envelope env = {"caiso", "lmp_dam", "default", 1, AU_LMP_START};
  struct au_buf k = AU_BUF_INIT(0), v = AU_BUF_INIT(0);
  struct au_jenc *je = au_jenc_new(&au_lmp_schema, &env, kc, nk);
  au_jenc_begin(je, b);
  size_t ne = 0;
  for (size_t r = 0; r < N; r++) {
    if (mask[r] == AU_ROW_UNCHANGED)
      continue;
    au_buf_reset(&k);
    au_buf_reset(&v);
    char id[37];
    CHECK_EQ_INT(au_jenc_key(je, b, r, &k), 0);
    au_jenc_event_id(je, k.ptr, k.len, id);
    CHECK_EQ_INT(au_jenc_value(je, b, r, id, &v), 0);
    size_t len = k.len + v.len + 64;
    exp[ne] = au_xmalloc(len);
    snprintf(exp[ne], len, "%s|%s|caiso,lmp_dam,1", k.ptr, v.ptr);
    ne++;
  }
  au_jenc_free(je);
  qsort(exp, ne, sizeof(*exp), cmp_str);
  size_t ng = consume_all(bs, "t.large", want, got);
  CHECK_EQ_INT((long)ng, (long)want);
  size_t diff = 0;
  for (size_t i = 0; i < ne && i < ng; i++)
    diff += strcmp(exp[i], got[i]) != 0;
  CHECK_EQ_INT((long)diff, 0);
  for (size_t i = 0; i < ne; i++)
    free(exp[i]);
  for (size_t i = 0; i < ng && i < want + 100; i++)
    free(got[i]);
  free(exp);
  free(got);
  au_buf_release(&k);
  au_buf_release(&v);
  free(mask);
  au_batch_free(b);
  au_opts_release(&g);
  au_opts_release(&t);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);
  rd_kafka_wait_destroyed(5000);
#endif
}

TEST_LIST{T(default_topic), T(key_event_id_json), T(fmt_double_shortest), T(json_encoder_caches), T(avro_plan_checks), T(avro_value_decodes),
          T(sink_against_mock_cluster), T(large_batch_exact_messages)};
AU_TEST_MAIN()

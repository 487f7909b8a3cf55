/* test_miso.c - MISO: golden parse of the real da_expost_lmp report, fixed-EST hours on
 * the DST days (24 HE, no gap, no repeat), BlobNotFound handling, bad input positions,
 * Data Exchange paging/EST stamps, key configuration, and every table on the 2024 DST
 * days through the in-process simulator. */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "sim/sim.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct au_source_ops *src;

static const struct au_table_def *table(const char *name) {
  struct au_err err = AU_ERR_INIT;
  const struct au_table_def *t = NULL;
  char q[64];
  snprintf(q, sizeof(q), "miso.%s", name);
  CHECK(au_table_find(q, &src, &t, &err) == 0);
  return t;
}

static void setup(struct au_source_ctx *ctx, struct au_opts *opts, const char *tname, const char *base) {
  memset(opts, 0, sizeof(*opts));
  au_opts_set(opts, "api_base", "http://api/pricing/v1");
  au_opts_set(opts, "lgi_base", "http://api/lgi/v1");
  au_opts_set(opts, "preliminary_final", "Final");
  au_opts_set(opts, "geo_resolution", "region");
  memset(ctx, 0, sizeof(*ctx));
  ctx->table = table(tname);
  ctx->src = src;
  ctx->base_url = base ? base : "http://docs/marketreports";
  ctx->opts = opts;
  ctx->now = au_time_utc(2026, 7, 20, 12, 0, 0);
  ctx->ingestion_time = ctx->now + 7;
}

static int64_t day_of(int y, int m, int d) { return au_days_from_civil(y, m, d); }

static int parse_file(const char *tname, const char *rel, long status, int64_t day, au_time now,
                      struct au_batch *b, struct au_reqlist *more, struct au_err *err) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, tname, NULL);
  au_opts_set(&opts, "api_key", "k");
  if (now != AU_TIME_NONE)
    ctx.now = now;
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  struct au_response resp = {status, body, len, "application/octet-stream"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.url = "http://api/pricing/v1/real-time/2024-11-03/lmp-expost?preliminaryFinal=Final&timeResolution=5min";
  struct au_http_header h = {"Ocp-Apim-Subscription-Key", "k"};
  req.headers = &h;
  req.nheaders = 1;
  req.credential = "MISO_API_KEY";
  req.cookie = day;
  req.cookie2 = 1;
  snprintf(req.label, sizeof(req.label), "miso.t");
  struct au_reqlist local = {0};
  int rc = src->parse(&ctx, &req, &resp, b, more ? more : &local, err);
  au_reqlist_release(&local);
  free(body);
  au_opts_release(&opts);
  return rc;
}

static const char *txt(const struct au_batch *b, size_t r, int c) {
  return au_batch_is_null(b, r, c) ? "(null)" : au_batch_text(b, r, c, NULL);
}

static size_t find_row(const struct au_batch *b, const char *loc, au_time t) {
  for (size_t r = 0; r < b->nrows; r++)
    if (!strcmp(txt(b, r, AU_LMP_LOC_ID), loc) && au_batch_int(b, r, AU_LMP_START) == t)
      return r;
  return (size_t)-1;
}

TEST(real_report_golden) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 128);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/miso_20260714_da_expost_lmp_cut_hubs.csv", 200, day_of(2026, 7, 14),
                          AU_TIME_NONE, b, NULL, &err), 0);
  CHECK_EQ_INT(b->nrows, 72); /* 3 hubs x 24 HE */
  au_time he1 = au_time_utc(2026, 7, 14, 5, 0, 0); /* HE 1 = 00:00-01:00 EST */
  size_t r = find_row(b, "ILLINOIS.HUB", he1);
  CHECK(r != (size_t)-1);
  CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP), 36.24, 1e-12);
  CHECK_NEAR(au_batch_double(b, r, AU_LMP_CONG), 1.32, 1e-12);
  CHECK_NEAR(au_batch_double(b, r, AU_LMP_LOSS), 0.3, 1e-12);
  CHECK_NEAR(au_batch_double(b, r, AU_LMP_ENERGY), 34.62, 1e-12);
  CHECK_EQ_STR(txt(b, r, AU_LMP_LOC_TYPE), "HUB");
  CHECK_EQ_STR(txt(b, r, AU_LMP_MARKET), "DA_EXPOST");
  CHECK_EQ_STR(txt(b, r, AU_LMP_TZ), "Etc/GMT+5");
  CHECK(au_batch_int(b, r, AU_LMP_END) == he1 + AU_HOUR);
  /* the system energy component is the same for all hubs: 34.62 at HE 1 */
  CHECK_NEAR(au_batch_double(b, find_row(b, "INDIANA.HUB", he1), AU_LMP_ENERGY), 34.62, 1e-12);
  CHECK_NEAR(au_batch_double(b, find_row(b, "MICHIGAN.HUB", he1), AU_LMP_ENERGY), 34.62, 1e-12);
  /* "-.67" (INDIANA.HUB MCC HE 8), ".92" (ILLINOIS.HUB MCC HE 2) */
  CHECK_NEAR(au_batch_double(b, find_row(b, "INDIANA.HUB", he1 + 7 * AU_HOUR), AU_LMP_CONG), -0.67, 1e-12);
  CHECK_NEAR(au_batch_double(b, find_row(b, "ILLINOIS.HUB", he1 + AU_HOUR), AU_LMP_CONG), 0.92, 1e-12);
  /* HE 24 starts 23:00 EST = 04:00Z next day; LMP 62.67 */
  size_t last = find_row(b, "ILLINOIS.HUB", au_time_utc(2026, 7, 15, 4, 0, 0));
  CHECK(last != (size_t)-1);
  CHECK_NEAR(au_batch_double(b, last, AU_LMP_LMP), 62.67, 1e-12);
  for (size_t i = 0; i < b->nrows; i++)
    CHECK_NEAR(au_batch_double(b, i, AU_LMP_LMP),
               au_batch_double(b, i, AU_LMP_ENERGY) + au_batch_double(b, i, AU_LMP_CONG) +
                   au_batch_double(b, i, AU_LMP_LOSS),
               1e-6);
  au_batch_free(b);
}

TEST(dst_days_are_24_fixed_est_hours) {
  static const struct {
    const char *file;
    int y, m, d;
  } days[] = {{"miso/dst_20240310_da_expost_lmp.csv", 2024, 3, 10}, {"miso/dst_20241103_da_expost_lmp.csv", 2024, 11, 3}};
  for (size_t i = 0; i < AU_ARRAY_LEN(days); i++) {
    struct au_batch *b = au_batch_new(&au_lmp_schema, 128);
    struct au_err err = AU_ERR_INIT;
    CHECK_EQ_INT(parse_file("lmp_da_hourly", days[i].file, 200, day_of(days[i].y, days[i].m, days[i].d), AU_TIME_NONE,
                            b, NULL, &err), 0);
    CHECK_EQ_INT(b->nrows, 72);
    au_time d0 = au_time_utc(days[i].y, days[i].m, days[i].d, 5, 0, 0);
    for (int h = 0; h < 24; h++) /* every HE present once, one hour apart, 05:00Z .. 04:00Z */
      CHECK(find_row(b, "MICHIGAN.HUB", d0 + h * AU_HOUR) != (size_t)-1);
    CHECK(find_row(b, "MICHIGAN.HUB", d0 - AU_HOUR) == (size_t)-1);
    CHECK(find_row(b, "MICHIGAN.HUB", d0 + 24 * AU_HOUR) == (size_t)-1);
    au_batch_free(b);
  }
}

TEST(blob_not_found) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  au_time now = au_time_utc(2026, 7, 14, 12, 0, 0); /* 07:00 EST on 07-14 */
  /* today and tomorrow: not published yet -> empty window */
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/blob_not_found.xml", 404, day_of(2026, 7, 14), now, b, NULL, &err),
               AU_E_NODATA);
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/blob_not_found.xml", 404, day_of(2026, 7, 15), now, b, NULL, &err),
               AU_E_NODATA);
  /* yesterday: an error */
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/blob_not_found.xml", 404, day_of(2026, 7, 13), now, b, NULL, &err),
               AU_E_HTTP);
  CHECK(strstr(err.msg, "BlobNotFound") != NULL);
  au_err_clear(&err);
  /* 2026-07-14 05:00Z is still 07-14 00:00 EST; 04:59Z is 07-13 */
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/blob_not_found.xml", 404, day_of(2026, 7, 13),
                          au_time_utc(2026, 7, 14, 4, 59, 0), b, NULL, &err), AU_E_NODATA);
  /* RT final is published days later: 7-day lag by default */
  CHECK_EQ_INT(parse_file("lmp_rt_hourly_final", "miso/blob_not_found.xml", 404, day_of(2026, 7, 8), now, b, NULL,
                          &err), AU_E_NODATA);
  CHECK_EQ_INT(parse_file("lmp_rt_hourly_final", "miso/blob_not_found.xml", 404, day_of(2026, 7, 6), now, b, NULL,
                          &err), AU_E_HTTP);
  au_batch_free(b);
}

TEST(bad_input_positions) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  int64_t d = day_of(2026, 7, 14);
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/bad_number.csv", 200, d, AU_TIME_NONE, b, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 7, field 5 (HE 2)") != NULL);
  CHECK(strstr(err.msg, "3O.49") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/bad_value.csv", 200, d, AU_TIME_NONE, b, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 8, field 3") != NULL && strstr(err.msg, "MEC") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/bad_header.csv", 200, d, AU_TIME_NONE, b, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 5") != NULL && strstr(err.msg, "28 fields") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/bad_date.csv", 200, d, AU_TIME_NONE, b, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 2") != NULL && strstr(err.msg, "07/15/2026") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "miso/rt5_page1.json", 200, d, AU_TIME_NONE, b, NULL, &err), AU_E_PARSE);
  au_batch_free(b);
}

TEST(data_exchange_parse_and_paging) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  CHECK_EQ_INT(parse_file("lmp_rt_5min", "miso/rt5_page1.json", 200, day_of(2024, 11, 3), AU_TIME_NONE, b, &more,
                          &err), 0);
  CHECK_EQ_INT(b->nrows, 2);
  char ts[32];
  au_time_fmt(au_batch_int(b, 0, AU_LMP_START), ts);
  CHECK_EQ_STR(ts, "2024-11-03T05:00:00Z"); /* 00:00 EST */
  au_time_fmt(au_batch_int(b, 1, AU_LMP_START), ts);
  CHECK_EQ_STR(ts, "2024-11-03T06:55:00Z"); /* 01:55 EST: no fold, EST is fixed */
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 20.94, 0);
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_LMP), -3.5, 0);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT5_EXPOST");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 5);
  CHECK_EQ_INT(more.n, 1);
  CHECK_EQ_STR(more.v[0].url, "http://api/pricing/v1/real-time/2024-11-03/lmp-expost?preliminaryFinal=Final&"
                              "timeResolution=5min&pageNumber=2");
  CHECK_EQ_STR(more.v[0].headers[0].value, "k");
  CHECK_EQ_STR(more.v[0].credential, "MISO_API_KEY");
  au_reqlist_release(&more);
  au_batch_free(b);
  b = au_batch_new(&au_load_schema, 16);
  CHECK_EQ_INT(parse_file("load_actual", "miso/load_actual.json", 200, day_of(2024, 3, 10), AU_TIME_NONE, b, NULL,
                          &err), 0);
  CHECK_EQ_INT(b->nrows, 3);
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "NORTH");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_TYPE), "REGION");
  CHECK(au_batch_is_null(b, 1, AU_LOAD_MW));
  au_time_fmt(au_batch_int(b, 2, AU_LOAD_START), ts);
  CHECK_EQ_STR(ts, "2024-03-10T07:00:00Z"); /* 02:00 EST exists in MISO's clock on the spring day */
  au_time_fmt(au_batch_int(b, 2, AU_LOAD_PUBLISHED), ts);
  CHECK_EQ_STR(ts, "2024-03-10T08:00:00Z");
  au_batch_free(b);
}

/* parse a Data Exchange body given as text (lmp_rt_5min unless tname says otherwise) */
static int parse_body(const char *tname, const char *body, struct au_batch *b, struct au_reqlist *more,
                      struct au_err *err) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, tname, NULL);
  au_opts_set(&opts, "api_key", "k");
  struct au_response resp = {200, body, strlen(body), "application/json"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.url = "http://api/pricing/v1/real-time/2024-11-03/lmp-expost?timeResolution=5min&pageNumber=3";
  req.cookie = day_of(2024, 11, 3);
  req.cookie2 = 3;
  snprintf(req.label, sizeof(req.label), "miso.t page 3");
  struct au_reqlist local = {0};
  au_err_clear(err);
  int rc = src->parse(&ctx, &req, &resp, b, more ? more : &local, err);
  au_reqlist_release(&local);
  au_opts_release(&opts);
  return rc;
}

/* The Data Exchange body streams through yajl: keys in any order, unknown values of any
 * shape skipped, every bad item reported by its index, nothing kept from a failed page. */
TEST(data_exchange_streaming_edges) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  /* page first, item keys reversed, nested unknowns, an escaped node name */
  const char *ok = "{\"page\":{\"lastPage\":false,\"pageNumber\":3,\"x\":[1,{\"a\":[]}]},"
                   "\"meta\":{\"data\":[1,2]},"
                   "\"data\":[{\"mlc\":0.5,\"mcc\":null,\"extra\":{\"lmp\":\"no\"},\"mec\":20,\"lmp\":20.5,"
                   "\"node\":\"A\\u002EB\",\"timeInterval\":{\"value\":[0],\"end\":\"2024-11-03 01:05:00.000\","
                   "\"start\":\"2024-11-03 01:00:00.000\"}},"
                   "{\"timeInterval\":{\"start\":\"2024-11-03T06:05:00Z\"},\"node\":\"C\"}]}";
  CHECK_EQ_INT(parse_body("lmp_rt_5min", ok, b, &more, &err), 0);
  CHECK_EQ_INT(b->nrows, 2);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "A.B");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_START), au_time_utc(2024, 11, 3, 6, 0, 0));
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_END), au_time_utc(2024, 11, 3, 6, 5, 0));
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 20.5, 0);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 20, 0);
  CHECK(au_batch_is_null(b, 0, AU_LMP_CONG));
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LOSS), 0.5, 0);
  /* an explicit offset is kept; no end: start + 5 minutes; no prices: NULLs */
  CHECK_EQ_INT(au_batch_int(b, 1, AU_LMP_START), au_time_utc(2024, 11, 3, 6, 5, 0));
  CHECK_EQ_INT(au_batch_int(b, 1, AU_LMP_END), au_time_utc(2024, 11, 3, 6, 10, 0));
  CHECK(au_batch_is_null(b, 1, AU_LMP_LMP));
  CHECK_EQ_INT(more.n, 1);
  CHECK(strstr(more.v[0].url, "timeResolution=5min&pageNumber=4") != NULL);
  CHECK_EQ_STR(more.v[0].label, "miso.t page 4");
  au_reqlist_release(&more);

  /* errors name the item; a failed page leaves no rows behind */
  struct {
    const char *body, *want;
  } bad[] = {
      {"{\"data\":[{\"timeInterval\":{\"start\":\"2024-11-03 00:00:00.000\"},\"node\":\"A\"},"
       "{\"timeInterval\":{\"start\":\"2024-11-03 00:05:00.000\"},\"node\":\"B\",\"mcc\":\"1.5\"}]}",
       "data[1], field mcc: not a number"},
      {"{\"data\":[{\"timeInterval\":{\"start\":\"x\"},\"node\":\"A\"}]}",
       "data[0], field timeInterval.start: missing or not a time"},
      {"{\"data\":[{\"timeInterval\":[\"2024-11-03 00:00:00.000\"],\"node\":\"A\"}]}",
       "data[0], field timeInterval.start: missing or not a time"},
      {"{\"data\":[{\"timeInterval\":{\"start\":\"2024-11-03 00:05:00.000\",\"end\":\"2024-11-03 "
       "00:05:00.000\"},\"node\":\"A\"}]}",
       "data[0], field timeInterval.end: not a time after start"},
      {"{\"data\":[{\"timeInterval\":{\"start\":\"2024-11-03 00:00:00.000\"},\"node\":{\"id\":\"A\"}}]}",
       "data[0], field node: missing"},
      {"{\"data\":[{\"timeInterval\":{\"start\":\"2024-11-03 00:00:00.000\"},\"node\":\"A\",\"lmp\":[1]}]}",
       "data[0], field lmp: not a number"},
      {"{\"data\":[7]}", "data[0], field timeInterval.start: missing or not a time"},
      {"{\"data\":[[7]]}", "data[0], field timeInterval.start: missing or not a time"},
      {"{\"data\":{\"a\":1}}", "response has no \"data\" array"},
      {"[1,2]", "JSON top level is not an object"},
      {"{\"data\":[{\"timeInterval\":{\"start\":\"2024-11-03 00:00:00.000\"},\n\"node\":\"A\",,}]}",
       "invalid JSON at line 2, column 13"},
      {"{\"data\":[], \"page\":{\"lastPage\":false,\"pageNumber\":2}}", "page.pageNumber 2 does not advance"},
  };
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    b->nrows = 0;
    int rc = parse_body("lmp_rt_5min", bad[i].body, b, &more, &err);
    CHECK_EQ_INT(rc, AU_E_PARSE);
    if (!strstr(err.msg, bad[i].want))
      fprintf(stderr, "  case %zu: got '%s', want '%s'\n", i, err.msg, bad[i].want);
    CHECK(strstr(err.msg, bad[i].want) != NULL);
    CHECK_EQ_INT(b->nrows, 0);
    CHECK_EQ_INT(more.n, 0);
  }
  /* a node name longer than the parser's limit is an error, not a truncation */
  char big[700];
  int n = snprintf(big, sizeof(big), "{\"data\":[{\"timeInterval\":{\"start\":\"2024-11-03 00:00:00.000\"},\"node\":\"");
  memset(big + n, 'N', 300);
  snprintf(big + n + 300, sizeof(big) - (size_t)n - 300, "\"}]}");
  CHECK_EQ_INT(parse_body("lmp_rt_5min", big, b, &more, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "data[0], field node: longer than 255 bytes") != NULL);
  /* lastPage true, missing, or not a boolean: no next page; an empty last page has no data */
  CHECK_EQ_INT(parse_body("lmp_rt_5min", "{\"data\":[],\"page\":{\"lastPage\":\"false\"}}", b, &more, &err),
               AU_E_NODATA);
  CHECK_EQ_INT(more.n, 0);
  au_batch_free(b);

  /* load: region or local resource zone, upper-cased */
  b = au_batch_new(&au_load_schema, 4);
  CHECK_EQ_INT(parse_body("load_actual",
                          "{\"data\":[{\"region\":\"South\",\"load\":12.5,\"localResourceZone\":\"LRZ8\","
                          "\"timeInterval\":{\"start\":\"2024-03-10 02:00:00.000\",\"end\":\"2024-03-10 03:00:00.000\"}}]}",
                          b, NULL, &err),
               0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "SOUTH");
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 12.5, 0);
  CHECK_EQ_INT(parse_body("load_actual", "{\"data\":[{\"load\":1,\"timeInterval\":{\"start\":\"2024-03-10 02:00:00.000\"}}]}",
                          b, NULL, &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "data[0], field region: missing") != NULL);
  au_batch_free(b);
}

TEST(plan_urls_and_keys) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  setup(&ctx, &opts, "lmp_da_exante_hourly", NULL);
  /* [2024-03-09 00:00 EST, 2024-03-11 00:00 EST): two files */
  CHECK_EQ_INT(src->plan(&ctx, au_time_utc(2024, 3, 9, 5, 0, 0), au_time_utc(2024, 3, 11, 5, 0, 0), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://docs/marketreports/20240309_da_exante_lmp.csv");
  CHECK_EQ_STR(q.v[1].url, "http://docs/marketreports/20240310_da_exante_lmp.csv");
  CHECK_EQ_INT(q.v[1].nheaders, 0); /* anonymous */
  CHECK(q.v[1].win_end - q.v[1].win_start == 24 * AU_HOUR); /* 24 h even on the spring day */
  au_reqlist_clear(&q);
  au_opts_release(&opts);
  setup(&ctx, &opts, "lmp_rt_5min", NULL);
  CHECK_EQ_INT(src->plan(&ctx, au_time_utc(2024, 3, 10, 5, 0, 0), au_time_utc(2024, 3, 11, 5, 0, 0), &q, &err),
               AU_E_CONFIG);
  CHECK(strstr(err.msg, "MISO_API_KEY") != NULL);
  au_err_clear(&err);
  au_opts_set(&opts, "api_key", "pk");
  CHECK_EQ_INT(src->plan(&ctx, au_time_utc(2024, 3, 10, 5, 0, 0), au_time_utc(2024, 3, 11, 5, 0, 0), &q, &err), 0);
  CHECK_EQ_STR(q.v[0].url, "http://api/pricing/v1/real-time/2024-03-10/lmp-expost?preliminaryFinal=Final&timeResolution=5min");
  CHECK_EQ_STR(q.v[0].headers[0].name, "Ocp-Apim-Subscription-Key");
  CHECK_EQ_STR(q.v[0].credential, "MISO_API_KEY");
  au_reqlist_clear(&q);
  au_opts_release(&opts);
  setup(&ctx, &opts, "load_actual", NULL);
  au_opts_set(&opts, "api_key", "pk");
  au_opts_set(&opts, "lgi_api_key", "lk");
  CHECK_EQ_INT(src->plan(&ctx, au_time_utc(2024, 3, 10, 5, 0, 0), au_time_utc(2024, 3, 11, 5, 0, 0), &q, &err), 0);
  CHECK_EQ_STR(q.v[0].url, "http://api/lgi/v1/real-time/2024-03-10/demand/actual?timeResolution=hourly&geoResolution=region");
  CHECK_EQ_STR(q.v[0].headers[0].value, "lk");
  CHECK_EQ_STR(q.v[0].credential, "MISO_LGI_API_KEY");
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

/* --- every table on the DST days, through the simulator ------------------------------ */

static int run_table(struct au_sim *s, const char *tname, au_time now, au_time a, au_time z, struct au_batch *out,
                     size_t *requests) {
  char base[96], api[96], lgi[96];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d/marketreports", au_sim_port(s));
  snprintf(api, sizeof(api), "http://127.0.0.1:%d/pricing/v1", au_sim_port(s));
  snprintf(lgi, sizeof(lgi), "http://127.0.0.1:%d/lgi/v1", au_sim_port(s));
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, tname, base);
  au_opts_set(&opts, "api_base", api);
  au_opts_set(&opts, "lgi_base", lgi);
  au_opts_set(&opts, "api_key", "pk");
  ctx.now = now;
  struct au_http_policy pol = {.max_attempts = 1};
  au_http_policy_defaults(&pol);
  struct au_http_client *http = au_http_client_new("miso", &pol);
  struct au_reqlist q = {0}, more = {0};
  struct au_err err = AU_ERR_INIT;
  int rc = src->plan(&ctx, a, z, &q, &err);
  *requests = 0;
  for (size_t i = 0; rc == 0 && i < q.n; i++) {
    struct au_http_request hr = {NULL, q.v[i].url, q.v[i].headers, q.v[i].nheaders, NULL, 0, q.v[i].credential, "t"};
    struct au_http_response resp;
    au_http_response_init(&resp);
    rc = au_http_do(http, &hr, &resp, &err);
    (*requests)++;
    if (rc == 0) {
      struct au_response sr = {resp.status, resp.body.ptr ? resp.body.ptr : "", resp.body.len, resp.content_type};
      rc = src->parse(&ctx, &q.v[i], &sr, out, &more, &err);
      if (rc == AU_E_NODATA)
        rc = 0;
    }
    au_http_response_release(&resp);
    for (size_t k = 0; k < more.n; k++) {
      *au_reqlist_push(&q) = more.v[k];
      memset(&more.v[k], 0, sizeof(more.v[k]));
    }
    au_reqlist_clear(&more);
  }
  if (rc)
    fprintf(stderr, "  run_table %s: %s\n", tname, err.msg);
  au_reqlist_release(&q);
  au_reqlist_release(&more);
  au_http_client_free(http);
  au_opts_release(&opts);
  return rc;
}

TEST(every_table_on_dst_days_via_sim) {
  setenv("AURUM_SIM_MISO_PAGE_SIZE", "1000", 1);
  au_http_global_init();
  au_time now = au_time_utc(2024, 11, 20, 12, 0, 0);
  struct au_sim_config cfg = {.seed = 5, .now = now, .listen = "127.0.0.1:0", .quiet = true};
  struct au_sim *s = NULL;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_sim_start(&cfg, &s, &err), 0);
  static const struct {
    int m, d;
  } days[] = {{3, 10}, {11, 3}};
  static const struct {
    const char *name;
    int minutes;
    size_t locs;
    bool lmp;
  } tabs[] = {{"lmp_da_hourly", 60, 20, true},
              {"lmp_da_exante_hourly", 60, 20, true},
              {"lmp_rt_hourly_final", 60, 20, true},
              {"lmp_rt_5min", 5, 20, true},
              {"load_actual", 60, 3, false}};
  for (size_t di = 0; di < AU_ARRAY_LEN(days); di++)
    for (size_t ti = 0; ti < AU_ARRAY_LEN(tabs); ti++) {
      const struct au_table_def *t = table(tabs[ti].name);
      struct au_batch *b = au_batch_new(t->schema, 1024);
      au_time a = au_time_utc(2024, days[di].m, days[di].d, 5, 0, 0); /* 00:00 EST */
      size_t nreq = 0;
      CHECK_EQ_INT(run_table(s, tabs[ti].name, now, a, a + AU_DAY, b, &nreq), 0);
      size_t intervals = 24 * 60 / (size_t)tabs[ti].minutes; /* always 24 hours: fixed EST */
      CHECK_EQ_INT(b->nrows, intervals * tabs[ti].locs);
      if (!strcmp(tabs[ti].name, "lmp_rt_5min"))
        CHECK_EQ_INT(nreq, 6); /* 5760 rows in pages of 1000 */
      au_time lo = INT64_MAX, hi = INT64_MIN;
      for (size_t r = 0; r < b->nrows; r++) {
        au_time st = au_batch_int(b, r, 0);
        lo = st < lo ? st : lo;
        hi = st > hi ? st : hi;
        if (tabs[ti].lmp)
          CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
                     au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                         au_batch_double(b, r, AU_LMP_LOSS),
                     1e-6);
      }
      CHECK(lo == a);
      CHECK(hi == a + AU_DAY - (au_time)tabs[ti].minutes * AU_MINUTE);
      au_batch_free(b);
    }
  au_sim_stop(s);
}

TEST(unpublished_days_are_empty_windows_via_sim) {
  au_http_global_init();
  /* 2024-03-10 10:00 EST: DA for 03-11 is not out yet (13:00 EST), RT final for 03-06 neither */
  au_time now = au_time_utc(2024, 3, 10, 15, 0, 0);
  struct au_sim_config cfg = {.seed = 5, .now = now, .listen = "127.0.0.1:0", .quiet = true};
  struct au_sim *s = NULL;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_sim_start(&cfg, &s, &err), 0);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
  size_t nreq;
  CHECK_EQ_INT(run_table(s, "lmp_da_hourly", now, au_time_utc(2024, 3, 10, 5, 0, 0), au_time_utc(2024, 3, 12, 5, 0, 0),
                         b, &nreq), 0);
  CHECK_EQ_INT(nreq, 2);
  CHECK_EQ_INT(b->nrows, 24 * 20); /* only 03-10 */
  au_batch_clear(b);
  CHECK_EQ_INT(run_table(s, "lmp_rt_hourly_final", now, au_time_utc(2024, 3, 5, 5, 0, 0),
                         au_time_utc(2024, 3, 7, 5, 0, 0), b, &nreq), 0);
  CHECK_EQ_INT(b->nrows, 24 * 20); /* 03-05 published (D+5 00:00 EST), 03-06 not yet */
  au_batch_free(b);
  au_sim_stop(s);
}

/* The simulator's Data Exchange limit (100/minute; 2 here) answers 429 + Retry-After;
 * market reports are not limited. */
TEST(sim_rate_limit_429) {
  au_http_global_init();
  struct au_sim_config cfg = {.seed = 5, .now = au_time_utc(2024, 11, 20, 12, 0, 0), .listen = "127.0.0.1:0",
                              .quiet = true};
  struct au_sim *s = NULL;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_sim_start(&cfg, &s, &err), 0);
  while ((au_now_real() / AU_USEC) % 60 >= 57)
    au_sleep(0.5);
  setenv("AURUM_SIM_MISO_RATE_PER_MIN", "2", 1);
  struct au_http_policy pol = {.max_attempts = 1};
  au_http_policy_defaults(&pol);
  struct au_http_client *http = au_http_client_new("miso", &pol);
  struct au_http_header h = {"Ocp-Apim-Subscription-Key", "rate-test-key"};
  char api[160], rep[160];
  snprintf(api, sizeof(api), "http://127.0.0.1:%d/lgi/v1/real-time/2024-11-03/demand/actual?timeResolution=hourly",
           au_sim_port(s));
  snprintf(rep, sizeof(rep), "http://127.0.0.1:%d/marketreports/20241103_da_expost_lmp.csv", au_sim_port(s));
  int rcs[4];
  for (int i = 0; i < 4; i++) {
    struct au_http_request hr = {NULL, i == 3 ? rep : api, &h, 1, NULL, 0, "MISO_API_KEY", "rate"};
    struct au_http_response resp;
    au_http_response_init(&resp);
    au_err_clear(&err);
    rcs[i] = au_http_do(http, &hr, &resp, &err);
    au_http_response_release(&resp);
  }
  unsetenv("AURUM_SIM_MISO_RATE_PER_MIN");
  CHECK_EQ_INT(rcs[0], 0);
  CHECK_EQ_INT(rcs[1], 0);
  CHECK_EQ_INT(rcs[2], AU_E_RATE);
  CHECK_EQ_INT(rcs[3], 0);
  au_http_client_free(http);
  au_sim_stop(s);
}

TEST_LIST{T(sim_rate_limit_429), T(real_report_golden),       T(dst_days_are_24_fixed_est_hours),        T(blob_not_found),
          T(bad_input_positions),      T(data_exchange_parse_and_paging), T(data_exchange_streaming_edges),         T(plan_urls_and_keys),
          T(every_table_on_dst_days_via_sim), T(unpublished_days_are_empty_windows_via_sim)};
AU_TEST_MAIN()

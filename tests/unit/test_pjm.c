/* test_pjm.c - PJM Data Miner 2: planning (UTC filters, paging, 366-day and archive
 * splits), golden parsing of the real recorded responses and of the reference item,
 * versions, bad input positions, and every table on the 2024 DST days through the
 * in-process simulator (plan -> HTTP -> parse, pages included). */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "sim/sim.h"
#include "sources/canonical.h"
#include "sources/pjm.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct au_source_ops *src;

static const struct au_table_def *table(const char *name) {
  struct au_err err = AU_ERR_INIT;
  const struct au_table_def *t = NULL;
  char q[64];
  snprintf(q, sizeof(q), "pjm.%s", name);
  CHECK(au_table_find(q, &src, &t, &err) == 0);
  return t;
}

static void setup(struct au_source_ctx *ctx, struct au_opts *opts, const char *tname, const char *base) {
  memset(opts, 0, sizeof(*opts));
  au_opts_set(opts, "api_key", "k3y");
  au_opts_set(opts, "row_count", "50000");
  memset(ctx, 0, sizeof(*ctx));
  ctx->table = table(tname);
  ctx->src = src;
  ctx->base_url = base ? base : "http://sim/api/v1";
  ctx->opts = opts;
  ctx->now = au_time_utc(2026, 11, 22, 0, 0, 0);
  ctx->ingestion_time = au_time_utc(2026, 11, 22, 0, 0, 0) + 42;
}

static int parse_body(const char *tname, const char *rel, int64_t start_row, struct au_batch *b,
                      struct au_reqlist *more, struct au_err *err) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, tname, NULL);
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  struct au_response resp = {200, body, len, "application/json"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.url = "http://sim/api/v1/da_hrl_lmps?rowCount=2&fields=x&datetime_beginning_utc=a&startRow=1";
  struct au_http_header h = {"Ocp-Apim-Subscription-Key", "k3y"};
  req.headers = &h;
  req.nheaders = 1;
  req.cookie = start_row;
  req.cookie2 = 2 << 1;
  snprintf(req.label, sizeof(req.label), "test");
  int rc = src->parse(&ctx, &req, &resp, b, more, err);
  free(body);
  au_opts_release(&opts);
  return rc;
}

static const char *txt(const struct au_batch *b, size_t r, int c) {
  return au_batch_is_null(b, r, c) ? "(null)" : au_batch_text(b, r, c, NULL);
}

static void fmt(au_time t, char *buf) { au_time_fmt(t, buf); }

/* --- planning ---------------------------------------------------------------------- */

TEST(plan_dst_days_filter_on_utc) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, "lmp_da_hourly", NULL);
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *ny = au_tz_get("America/New_York", &err);
  struct au_reqlist q = {0};
  /* spring forward: the EPT day 2024-03-10 is 23 hours, 05:00Z .. 04:00Z */
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(ny, 2024, 3, 10), au_tz_day_start(ny, 2024, 3, 11), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK_EQ_STR(q.v[0].url,
               "http://sim/api/v1/da_hrl_lmps?rowCount=50000&fields=datetime_beginning_utc,pnode_id,pnode_name,type,"
               "system_energy_price_da,total_lmp_da,congestion_price_da,marginal_loss_price_da,row_is_current,"
               "version_nbr&datetime_beginning_utc=03%2F10%2F2024%2005%3A00to03%2F11%2F2024%2003%3A00&startRow=1");
  CHECK_EQ_STR(q.v[0].headers[0].name, "Ocp-Apim-Subscription-Key");
  CHECK_EQ_STR(q.v[0].headers[0].value, "k3y");
  CHECK_EQ_STR(q.v[0].credential, "PJM_API_KEY");
  CHECK(q.v[0].win_end - q.v[0].win_start == 23 * AU_HOUR);
  au_reqlist_clear(&q);
  /* fall back: 25 hours, 04:00Z .. 04:00Z next day (last start 2024-11-04T04:00Z) */
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(ny, 2024, 11, 3), au_tz_day_start(ny, 2024, 11, 4), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK(strstr(q.v[0].url, "datetime_beginning_utc=11%2F03%2F2024%2004%3A00to11%2F04%2F2024%2004%3A00&") != NULL);
  CHECK(q.v[0].win_end - q.v[0].win_start == 25 * AU_HOUR);
  au_reqlist_clear(&q);
  /* 5-minute: the inclusive end is the last 5-minute start */
  au_opts_release(&opts);
  setup(&ctx, &opts, "lmp_rt_5min", NULL);
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(ny, 2024, 11, 3), au_tz_day_start(ny, 2024, 11, 4), &q, &err), 0);
  CHECK(strstr(q.v[0].url, "to11%2F04%2F2024%2004%3A55&") != NULL);
  CHECK(strstr(q.v[0].url, "rt_fivemin_hrl_lmps?") != NULL);
  CHECK(strstr(q.v[0].url, "total_lmp_rt") != NULL);
  au_reqlist_clear(&q);
  /* the forecast filters on the forecast interval; areas are ;-joined and encoded */
  au_opts_release(&opts);
  setup(&ctx, &opts, "load_forecast", NULL);
  au_opts_set(&opts, "areas", "RTO_COMBINED, BG&E/MIDATL");
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(ny, 2024, 3, 10), au_tz_day_start(ny, 2024, 3, 11), &q, &err), 0);
  CHECK(strstr(q.v[0].url, "load_frcstd_7_day?") != NULL);
  CHECK(strstr(q.v[0].url, "&forecast_datetime_beginning_utc=03%2F10%2F2024%2005%3A00to03%2F11%2F2024%2003%3A00") != NULL);
  CHECK(strstr(q.v[0].url, "&forecast_area=RTO_COMBINED%3BBG%26E%2FMIDATL&startRow=1") != NULL);
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

TEST(plan_splits_366_days_archive_and_years) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist q = {0};
  setup(&ctx, &opts, "lmp_rt_hourly", NULL);
  au_opts_set(&opts, "nodes", "1, 51217");
  /* 400 days of standard data: 365 + 35 */
  au_time a = au_time_utc(2025, 1, 1, 5, 0, 0);
  CHECK_EQ_INT(src->plan(&ctx, a, a + 400 * AU_DAY, &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK(q.v[0].win_end - q.v[0].win_start == 365 * AU_DAY);
  CHECK(strstr(q.v[0].url, "&pnode_id=1%3B51217&startRow=1") != NULL);
  CHECK(strstr(q.v[0].label, "archive") == NULL);
  au_reqlist_clear(&q);
  /* now = 2026-11-22T00:00Z (11-21 EST): hourly data before 2024-11-20 00:00 EST is archived.
   * [2023-12-15, 2024-12-01) -> [..2024-01-01) archive, [..cut-off) archive, [cut-off..) */
  CHECK_EQ_INT(src->plan(&ctx, au_time_utc(2023, 12, 15, 5, 0, 0), au_time_utc(2024, 12, 1, 5, 0, 0), &q, &err), 0);
  CHECK_EQ_INT(q.n, 3);
  char s0[32], s1[32];
  fmt(q.v[0].win_end, s0);
  CHECK_EQ_STR(s0, "2024-01-01T00:00:00Z");
  fmt(q.v[1].win_end, s1);
  CHECK_EQ_STR(s1, "2024-11-20T05:00:00Z"); /* 2026-11-21 EST - 731 days */
  CHECK(strstr(q.v[0].url, "&pnode_id=") == NULL); /* archived: no pnode filter */
  CHECK(strstr(q.v[1].url, "&pnode_id=") == NULL);
  CHECK(strstr(q.v[2].url, "&pnode_id=1%3B51217") != NULL);
  CHECK(q.v[0].cookie2 & 1);
  CHECK(!(q.v[2].cookie2 & 1));
  au_reqlist_clear(&q);
  /* 5-minute data archives after 186 days */
  au_opts_release(&opts);
  setup(&ctx, &opts, "lmp_rt_5min", NULL);
  CHECK_EQ_INT(src->plan(&ctx, au_time_utc(2026, 5, 1, 4, 0, 0), au_time_utc(2026, 6, 1, 4, 0, 0), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  fmt(q.v[0].win_end, s0);
  CHECK_EQ_STR(s0, "2026-05-19T04:00:00Z"); /* 2026-11-21 EST - 186 days = 2026-05-19 EDT midnight */
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

TEST(plan_config_errors) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist q = {0};
  setup(&ctx, &opts, "lmp_da_hourly", NULL);
  au_opts_set(&opts, "api_key", "");
  CHECK_EQ_INT(src->plan(&ctx, 0, AU_DAY, &q, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "PJM_API_KEY") != NULL);
  au_err_clear(&err);
  au_opts_set(&opts, "api_key", "k");
  au_opts_set(&opts, "nodes", "1,WESTERN HUB");
  CHECK_EQ_INT(src->plan(&ctx, 0, AU_DAY, &q, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "WESTERN HUB") != NULL);
  au_err_clear(&err);
  au_opts_set(&opts, "nodes", "");
  au_opts_set(&opts, "row_count", "60000");
  CHECK_EQ_INT(src->plan(&ctx, 0, AU_DAY, &q, &err), AU_E_CONFIG);
  CHECK_EQ_INT(q.n, 0);
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

/* --- parsing ----------------------------------------------------------------------- */

TEST(reference_item_versions_and_identity) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  CHECK_EQ_INT(parse_body("lmp_da_hourly", "pjm/da_hrl_lmps_reference.json", 1, b, &more, &err), 0);
  CHECK_EQ_INT(more.n, 0);
  CHECK_EQ_INT(b->nrows, 3); /* superseded WESTERN HUB v1 dropped, MID-ATL/APS v1 replaced by v3 */
  char ts[32];
  fmt(au_batch_int(b, 0, AU_LMP_START), ts);
  CHECK_EQ_STR(ts, "2024-02-20T05:00:00Z");
  fmt(au_batch_int(b, 0, AU_LMP_END), ts);
  CHECK_EQ_STR(ts, "2024-02-20T06:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "1");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_NAME), "PJM-RTO");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_TYPE), "ZONE");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "DA");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_ISO), "PJM");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_TZ), "America/New_York");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 60);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 23.632196, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 23.49, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_CONG), -0.045139, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LOSS), 0.187335, 1e-12);
  CHECK_EQ_STR(txt(b, 1, AU_LMP_LOC_TYPE), "HUB");
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_LMP), 24.118, 1e-12);
  CHECK_EQ_STR(txt(b, 2, AU_LMP_LOC_ID), "3");
  CHECK_NEAR(au_batch_double(b, 2, AU_LMP_LMP), 18.201796, 1e-12);
  CHECK_NEAR(au_batch_double(b, 2, AU_LMP_CONG), -0.033939, 1e-12);
  for (size_t r = 0; r < b->nrows; r++)
    CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
               au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                   au_batch_double(b, r, AU_LMP_LOSS),
               1e-9);
  au_reqlist_release(&more);
  au_batch_free(b);
}

TEST(paging_pushes_next_page) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  CHECK_EQ_INT(parse_body("lmp_da_hourly", "pjm/da_hrl_lmps_page1.json", 1, b, &more, &err), 0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_INT(more.n, 1);
  CHECK_EQ_STR(more.v[0].url, "http://sim/api/v1/da_hrl_lmps?rowCount=2&fields=x&datetime_beginning_utc=a&startRow=3");
  CHECK_EQ_INT(more.v[0].cookie, 3);
  CHECK_EQ_STR(more.v[0].headers[0].value, "k3y");
  CHECK_EQ_STR(more.v[0].credential, "PJM_API_KEY");
  au_reqlist_clear(&more);
  /* the last page (startRow 5 of 5 rows) asks for nothing more */
  au_batch_clear(b);
  CHECK_EQ_INT(parse_body("lmp_da_hourly", "pjm/da_hrl_lmps_page1.json", 4, b, &more, &err), 0);
  CHECK_EQ_INT(more.n, 0);
  au_reqlist_release(&more);
  au_batch_free(b);
}

TEST(load_tables) {
  struct au_batch *b = au_batch_new(&au_load_schema, 16);
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  CHECK_EQ_INT(parse_body("load_forecast", "pjm/load_frcstd_7_day_small.json", 1, b, &more, &err), 0);
  CHECK_EQ_INT(b->nrows, 12); /* 3 hours x 2 areas x 2 vintages: every vintage is kept */
  char ts[32];
  fmt(au_batch_int(b, 0, AU_LOAD_PUBLISHED), ts);
  CHECK_EQ_STR(ts, "2024-11-02T12:00:00Z");
  fmt(au_batch_int(b, 1, AU_LOAD_PUBLISHED), ts);
  CHECK_EQ_STR(ts, "2024-11-03T00:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "RTO_COMBINED");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_TYPE), "SYSTEM");
  CHECK_EQ_STR(txt(b, 2, AU_LOAD_LOC_ID), "BG&E/MIDATL");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_MARKET), "7DAY");
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 71000, 0);
  au_batch_free(b);
  b = au_batch_new(&au_load_schema, 16);
  CHECK_EQ_INT(parse_body("load_metered", "pjm/hrl_load_metered_small.json", 1, b, &more, &err), 0);
  CHECK_EQ_INT(b->nrows, 3);
  /* the fall-back hour: two rows at 01:00 EPT have distinct UTC keys 05:00Z and 06:00Z */
  fmt(au_batch_int(b, 1, AU_LOAD_START), ts);
  CHECK_EQ_STR(ts, "2024-11-03T05:00:00Z");
  fmt(au_batch_int(b, 2, AU_LOAD_START), ts);
  CHECK_EQ_STR(ts, "2024-11-03T06:00:00Z");
  fmt(au_batch_int(b, 2, AU_LOAD_PUBLISHED), ts);
  CHECK_EQ_STR(ts, "2024-11-03T07:00:00Z"); /* actuals: publish = interval end */
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_MARKET), "ACTUAL");
  CHECK_NEAR(au_batch_double(b, 2, AU_LOAD_MW), 1002.5, 1e-12);
  au_reqlist_release(&more);
  au_batch_free(b);
}

TEST(bad_input_positions) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  CHECK_EQ_INT(parse_body("lmp_da_hourly", "pjm/da_hrl_lmps_bad_number.json", 1, b, &more, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "items[2]") != NULL);
  CHECK(strstr(err.msg, "total_lmp_da") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_body("lmp_da_hourly", "pjm/da_hrl_lmps_truncated.json", 1, b, &more, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "invalid JSON at byte") != NULL);
  au_err_clear(&err);
  /* a feed without pnode ids is rejected with the item and field */
  CHECK_EQ_INT(parse_body("lmp_da_hourly", "pjm/pjm_dataminer_gen_by_fuel.json", 1, b, &more, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "items[0]") != NULL && strstr(err.msg, "pnode_id") != NULL);
  au_err_clear(&err);
  /* a 400 about archived data asks the pipeline to split the window */
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, "lmp_da_hourly", NULL);
  size_t len;
  char *body = au_test_read_file(au_test_data("pjm/error_400_archive.json"), &len);
  struct au_response resp = {400, body, len, "application/json"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  CHECK_EQ_INT(src->parse(&ctx, &req, &resp, b, &more, &err), AU_E_SPLIT);
  au_err_clear(&err);
  resp.status = 200; /* an {"errors": [...]} body is an error even with 200 */
  CHECK_EQ_INT(src->parse(&ctx, &req, &resp, b, &more, &err), AU_E_HTTP);
  CHECK(strstr(err.msg, "spans over archived") != NULL);
  free(body);
  au_opts_release(&opts);
  au_reqlist_release(&more);
  au_batch_free(b);
}

/* Golden checks on every real PJM sample: envelope, counts, UTC keys (incl. DST end). */
TEST(real_samples_envelope) {
  static const struct {
    const char *file, *field;
    size_t nitems;
    int64_t total;
    size_t ndistinct;
    const char *tmin, *tmax;
  } s[] = {
      {"pjm/pjm_dataminer_gen_by_fuel.json", "datetime_beginning_utc", 220, 220, 22, "2025-02-09T00:00:00Z",
       "2025-02-09T21:00:00Z"},
      /* 2023-11-05 00:00 EPT .. 2023-11-07 00:00 EPT: 25 + 24 + 1 = 50 distinct UTC hours */
      {"pjm/pjm_da_marginal_value_2023-11-05_2023-11-07_dst_end.json", "datetime_beginning_utc", 387, 387, 50,
       "2023-11-05T04:00:00Z", "2023-11-07T05:00:00Z"},
      {"pjm/pjm_da_transconstraints_2024-09-02_2024-09-04.json", "datetime_beginning_utc", 62, 62, 33,
       "2024-09-02T04:00:00Z", "2024-09-04T04:00:00Z"},
      {"pjm/pjm_five_min_solar_power_forecast_2024-10-01_trimmed.json", "datetime_beginning_utc", 2, 10368, 2,
       "2024-10-01T04:00:00Z", "2024-10-02T09:45:00Z"},
  };
  for (size_t i = 0; i < AU_ARRAY_LEN(s); i++) {
    size_t len;
    char *body = au_test_read_file(au_test_data(s[i].file), &len);
    struct au_pjm_scan sc;
    struct au_err err = AU_ERR_INIT;
    CHECK_EQ_INT(au_pjm_scan_envelope(body, len, s[i].field, &sc, &err), 0);
    CHECK_EQ_INT(sc.nitems, s[i].nitems);
    CHECK_EQ_INT(sc.total_rows, s[i].total);
    CHECK_EQ_INT(sc.ndistinct, s[i].ndistinct);
    char a[32], b[32];
    fmt(sc.tmin, a);
    fmt(sc.tmax, b);
    CHECK_EQ_STR(a, s[i].tmin);
    CHECK_EQ_STR(b, s[i].tmax);
    free(body);
  }
  /* the repeated 01:00 EPT of 2023-11-05 is two UTC hours in the DST-end sample */
  size_t len;
  char *body = au_test_read_file(au_test_data("pjm/pjm_da_marginal_value_2023-11-05_2023-11-07_dst_end.json"), &len);
  CHECK(strstr(body, "\"datetime_beginning_utc\":\"2023-11-05T05:00:00\"") != NULL);
  CHECK(strstr(body, "\"datetime_beginning_utc\":\"2023-11-05T06:00:00\"") != NULL);
  struct au_pjm_scan sc;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_pjm_scan_envelope(body, len, "no_such_field", &sc, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "items[0]") != NULL);
  free(body);
}

/* --- every table on the DST days, through the simulator ----------------------------- */

struct run_out {
  size_t rows, requests;
  size_t distinct_starts;
  au_time first, last;
};

static struct au_sim *sim_start(au_time now) {
  static bool inited;
  if (!inited) {
    au_http_global_init();
    inited = true;
  }
  struct au_sim_config cfg = {.seed = 3, .now = now, .listen = "127.0.0.1:0", .quiet = true};
  struct au_sim *s = NULL;
  struct au_err err = AU_ERR_INIT;
  if (au_sim_start(&cfg, &s, &err)) {
    fprintf(stderr, "au_sim_start: %s\n", err.msg);
    abort();
  }
  return s;
}

static int run_table(struct au_sim *s, const char *tname, au_time now, au_time a, au_time b, const char *rows,
                     struct au_batch *out, struct run_out *ro) {
  char base[64];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/v1", au_sim_port(s));
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, tname, base);
  ctx.now = now;
  if (rows)
    au_opts_set(&opts, "row_count", rows);
  struct au_http_policy pol = {.max_attempts = 1};
  au_http_policy_defaults(&pol);
  struct au_http_client *http = au_http_client_new("pjm", &pol);
  struct au_reqlist q = {0}, more = {0};
  struct au_err err = AU_ERR_INIT;
  int rc = src->plan(&ctx, a, b, &q, &err);
  memset(ro, 0, sizeof(*ro));
  for (size_t i = 0; rc == 0 && i < q.n; i++) {
    struct au_http_request hr = {NULL, q.v[i].url, q.v[i].headers, q.v[i].nheaders, NULL, 0, q.v[i].credential, "t"};
    struct au_http_response resp;
    au_http_response_init(&resp);
    rc = au_http_do(http, &hr, &resp, &err);
    ro->requests++;
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
  ro->rows = out->nrows;
  ro->first = ro->last = AU_TIME_NONE;
  for (size_t r = 0; r < out->nrows; r++) {
    au_time t = au_batch_int(out, r, 0);
    bool seen = false;
    for (size_t k = 0; k < r && !seen; k++)
      seen = au_batch_int(out, k, 0) == t;
    if (!seen)
      ro->distinct_starts++;
    if (ro->first == AU_TIME_NONE || t < ro->first)
      ro->first = t;
    if (ro->last == AU_TIME_NONE || t > ro->last)
      ro->last = t;
  }
  au_reqlist_release(&q);
  au_reqlist_release(&more);
  au_http_client_free(http);
  au_opts_release(&opts);
  return rc;
}

TEST(every_table_on_dst_days_via_sim) {
  au_time now = au_time_utc(2024, 11, 20, 12, 0, 0);
  struct au_sim *s = sim_start(now);
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *ny = au_tz_get("America/New_York", &err);
  static const struct {
    int m, d;
    int hours;
    const char *first, *last;
  } days[] = {{3, 10, 23, "2024-03-10T05:00:00Z", "2024-03-11T03:00:00Z"},
              {11, 3, 25, "2024-11-03T04:00:00Z", "2024-11-04T04:00:00Z"}};
  static const struct {
    const char *name;
    int minutes;
    size_t per_interval; /* rows per interval start */
    const char *rows;    /* page size (forces paging) */
  } tabs[] = {{"lmp_da_hourly", 60, 24, "100"}, {"lmp_rt_hourly", 60, 24, "200"}, {"lmp_rt_5min", 5, 24, "5000"},
              {"load_metered", 60, 14, "50"}, {"load_forecast", 60, 7 * 14, "500"}};
  for (size_t di = 0; di < AU_ARRAY_LEN(days); di++)
    for (size_t ti = 0; ti < AU_ARRAY_LEN(tabs); ti++) {
      const struct au_table_def *t = table(tabs[ti].name);
      struct au_batch *b = au_batch_new(t->schema, 1024);
      struct run_out ro;
      au_time a = au_tz_day_start(ny, 2024, days[di].m, days[di].d);
      au_time z = au_tz_day_start(ny, 2024, days[di].m, days[di].d + 1);
      CHECK_EQ_INT(run_table(s, tabs[ti].name, now, a, z, tabs[ti].rows, b, &ro), 0);
      size_t intervals = (size_t)days[di].hours * (60 / (size_t)tabs[ti].minutes);
      CHECK_EQ_INT(ro.distinct_starts, intervals);
      /* forecast: 14 vintages (every 12 h within 7 days) per hour and area */
      CHECK_EQ_INT(ro.rows, intervals * tabs[ti].per_interval);
      CHECK(ro.requests > 1); /* paged */
      char f[32], l[32];
      fmt(ro.first, f);
      au_time last = ro.last + (au_time)tabs[ti].minutes * AU_MINUTE - AU_HOUR;
      fmt(last, l);
      CHECK_EQ_STR(f, days[di].first);
      CHECK_EQ_STR(l, days[di].last);
      if (t->schema == &au_lmp_schema)
        for (size_t r = 0; r < b->nrows; r++)
          CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
                     au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                         au_batch_double(b, r, AU_LMP_LOSS),
                     1e-6);
      au_batch_free(b);
    }
  au_sim_stop(s);
}

TEST(revised_interval_keeps_current_version_only) {
  au_time now = au_time_utc(2024, 11, 20, 12, 0, 0);
  struct au_sim *s = sim_start(now);
  /* revise one hour: the sim serves version 1 (not current) and version 2 (current) */
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/revise?start=2024-11-03T06:00:00Z&end=2024-11-03T07:00:00Z&delta=5",
           au_sim_port(s));
  struct au_http_policy pol = {.max_attempts = 1};
  au_http_policy_defaults(&pol);
  struct au_http_client *http = au_http_client_new("t", &pol);
  struct au_http_request hr = {"POST", url, NULL, 0, NULL, 0, NULL, "revise"};
  struct au_http_response resp;
  au_http_response_init(&resp);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_http_do(http, &hr, &resp, &err), 0);
  CHECK_EQ_INT(resp.status, 200);
  au_http_response_release(&resp);
  au_http_client_free(http);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
  struct run_out ro;
  au_time a = au_time_utc(2024, 11, 3, 6, 0, 0);
  /* pages of 10 rows: the 24 nodes x 2 versions cross page boundaries */
  CHECK_EQ_INT(run_table(s, "lmp_da_hourly", now, a, a + AU_HOUR, "10", b, &ro), 0);
  CHECK_EQ_INT(ro.rows, 24);
  CHECK_EQ_INT(ro.requests, 5);
  au_batch_free(b);
  au_sim_stop(s);
}

/* The simulator's per-key limit (600/minute by default; 2 here) answers 429 + Retry-After. */
TEST(sim_rate_limit_429) {
  au_time now = au_time_utc(2024, 11, 20, 12, 0, 0);
  struct au_sim *s = sim_start(now);
  while ((au_now_real() / AU_USEC) % 60 >= 57) /* keep the three calls in one minute */
    au_sleep(0.5);
  setenv("AURUM_SIM_PJM_RATE_PER_MIN", "2", 1);
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/da_hrl_lmps?rowCount=5&startRow=1&"
           "datetime_beginning_utc=11/03/2024%%2004:00to11/03/2024%%2004:00", au_sim_port(s));
  struct au_http_policy pol = {.max_attempts = 1};
  au_http_policy_defaults(&pol);
  struct au_http_client *http = au_http_client_new("pjm", &pol);
  struct au_http_header h = {"Ocp-Apim-Subscription-Key", "rate-test-key"};
  int rcs[3];
  struct au_err err = AU_ERR_INIT;
  for (int i = 0; i < 3; i++) {
    struct au_http_request hr = {NULL, url, &h, 1, NULL, 0, "PJM_API_KEY", "rate"};
    struct au_http_response resp;
    au_http_response_init(&resp);
    au_err_clear(&err);
    rcs[i] = au_http_do(http, &hr, &resp, &err);
    if (i < 2)
      CHECK_EQ_INT(resp.status, 200);
    au_http_response_release(&resp);
  }
  unsetenv("AURUM_SIM_PJM_RATE_PER_MIN");
  CHECK_EQ_INT(rcs[0], 0);
  CHECK_EQ_INT(rcs[1], 0);
  CHECK_EQ_INT(rcs[2], AU_E_RATE);
  CHECK(err.retry_after > 0);
  au_http_client_free(http);
  au_sim_stop(s);
}

TEST_LIST{T(sim_rate_limit_429), T(plan_dst_days_filter_on_utc), T(plan_splits_366_days_archive_and_years), T(plan_config_errors),
          T(reference_item_versions_and_identity), T(paging_pushes_next_page), T(load_tables),
          T(bad_input_positions), T(real_samples_envelope), T(every_table_on_dst_days_via_sim),
          T(revised_interval_keeps_current_version_only)};
AU_TEST_MAIN()

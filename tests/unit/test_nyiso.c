/* test_nyiso.c - NYISO: planning (daily vs monthly ZIP, zone/gen), golden parsing of every
 * real sample, the fall-back hour by file order, the spring gap, congestion sign, ZIP
 * archives, 404 rules and error positions. */
#include "core/au.h"
#include "au_test.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/zipwrite.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

static const struct au_source_ops *src;

static const struct au_table_def *table(const char *name) {
  struct au_err err = AU_ERR_INIT;
  const struct au_table_def *t = NULL;
  char q[64];
  snprintf(q, sizeof(q), "nyiso.%s", name);
  CHECK(au_table_find(q, &src, &t, &err) == 0);
  return t;
}

struct env {
  struct au_source_ctx ctx;
  struct au_opts opts;
};

static void setup(struct env *e, const char *tname) {
  memset(e, 0, sizeof(*e));
  e->ctx.table = table(tname);
  e->ctx.src = src;
  e->ctx.base_url = "http://sim/public/csv";
  e->ctx.opts = &e->opts;
  e->ctx.ingestion_time = au_time_utc(2025, 4, 1, 0, 0, 0);
}

static int parse_req(struct env *e, const char *body, size_t len, long status, const struct au_request *req,
                     struct au_batch *b, struct au_err *err) {
  struct au_response resp = {status, body, len, "text/csv"};
  struct au_reqlist more = {0};
  int rc = src->parse(&e->ctx, req, &resp, b, &more, err);
  CHECK_EQ_INT(more.n, 0);
  au_reqlist_release(&more);
  return rc;
}

/* Parse a daily file of local day (y, m, d). */
static int parse_day(const char *tname, const char *body, size_t len, int y, int m, int d, struct au_batch *b,
                     struct au_err *err) {
  struct env e;
  setup(&e, tname);
  const struct au_tz *tz = au_tz_get("America/New_York", err);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = au_tz_day_start(tz, y, m, d);
  req.win_end = req.win_start + AU_DAY;
  int rc = parse_req(&e, body, len, 200, &req, b, err);
  au_opts_release(&e.opts);
  return rc;
}

static int parse_file(const char *tname, const char *rel, int y, int m, int d, struct au_batch *b,
                      struct au_err *err) {
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  int rc = parse_day(tname, body, len, y, m, d, b, err);
  free(body);
  return rc;
}

static const char *txt(const struct au_batch *b, size_t r, int col) {
  return au_batch_is_null(b, r, col) ? "(null)" : au_batch_text(b, r, col, NULL);
}

static const char *ts(const struct au_batch *b, size_t r, int col) {
  static char buf[8][32];
  static int k;
  k = (k + 1) % 8;
  au_time_fmt(au_batch_int(b, r, col), buf[k]);
  return buf[k];
}

TEST(golden_rtlbmp_fallback_day) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("lmp_rt_hourly", "nyiso/nyiso_20251102rtlbmp_zone_cut_DST.csv", 2025, 11, 2, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 75); /* 25 hours x 3 zones */
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2025-11-02T04:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "N.Y.C.");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_NAME), "61761");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_TYPE), "ZONE");
  CHECK_EQ_STR(txt(b, 1, AU_LMP_LOC_TYPE), "INTERFACE"); /* PJM proxy */
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT_HOURLY");
  /* the two "11/02/2025 01:00" groups: first EDT (05:00Z), then EST (06:00Z) */
  CHECK_EQ_STR(ts(b, 3, AU_LMP_START), "2025-11-02T05:00:00Z");
  CHECK_NEAR(au_batch_double(b, 3, AU_LMP_LMP), 56.71, 1e-9);
  CHECK_EQ_STR(ts(b, 6, AU_LMP_START), "2025-11-02T06:00:00Z");
  CHECK_NEAR(au_batch_double(b, 6, AU_LMP_LMP), 38.03, 1e-9);
  CHECK_EQ_STR(ts(b, 9, AU_LMP_START), "2025-11-02T07:00:00Z"); /* 02:00 EST */
  CHECK_EQ_STR(ts(b, 74, AU_LMP_START), "2025-11-03T04:00:00Z"); /* 23:00 EST */
  CHECK_EQ_STR(ts(b, 74, AU_LMP_END), "2025-11-03T05:00:00Z");
  /* all 25 starts per zone distinct and consecutive; identity */
  for (size_t r = 3; r < b->nrows; r++)
    CHECK_EQ_INT(au_batch_int(b, r, AU_LMP_START) - au_batch_int(b, r - 3, AU_LMP_START), AU_HOUR);
  for (size_t r = 0; r < b->nrows; r++)
    CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
               au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                   au_batch_double(b, r, AU_LMP_LOSS),
               1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 66.30 - 2.50, 1e-9);
  au_batch_free(b);
}

TEST(golden_realtime_fixture) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("lmp_rt_5min", "nyiso/nyiso_realtime_zone_5min_20160218_fixture.csv", 2016, 2, 18, b,
                          &err),
               0);
  CHECK_EQ_INT(b->nrows, 45);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "CAPITL");
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2016-02-18T05:15:00Z"); /* 00:15 EST, interval beginning */
  CHECK_EQ_STR(ts(b, 0, AU_LMP_END), "2016-02-18T05:20:00Z");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 5);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 21.53, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LOSS), 1.69, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 19.84, 1e-9);
  CHECK_EQ_STR(txt(b, 4, AU_LMP_LOC_ID), "H Q");
  CHECK_EQ_STR(ts(b, 44, AU_LMP_START), "2016-02-18T05:45:00Z");
  au_batch_free(b);
}

TEST(congestion_sign_flipped_unquoted) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("lmp_da_hourly", "nyiso/damlbmp_sign_20250309.csv", 2025, 3, 9, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 3);
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2025-03-09T06:00:00Z"); /* 01:00 EST */
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "DA");
  /* published -0.89 -> stored +0.89; energy = 53.07 - 2.06 - 0.89 = 50.12 (NYISO rounding) */
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_CONG), 0.89, 1e-12);
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_CONG), 1.88, 1e-12);
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_ENERGY), 50.13, 1e-9);
  CHECK_NEAR(au_batch_double(b, 2, AU_LMP_ENERGY), 50.13, 1e-9);
  CHECK(!(au_batch_double(b, 2, AU_LMP_CONG) < 0) && !(au_batch_double(b, 2, AU_LMP_CONG) > 0));
  for (size_t r = 0; r < 3; r++)
    CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
               au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                   au_batch_double(b, r, AU_LMP_LOSS),
               1e-9);
  au_batch_free(b);
}

TEST(spring_day_and_gap) {
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("lmp_rt_hourly", "nyiso/rtlbmp_spring_20240310.csv", 2024, 3, 10, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 46);
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2024-03-10T05:00:00Z");
  CHECK_EQ_STR(ts(b, 2, AU_LMP_START), "2024-03-10T06:00:00Z"); /* 01:00 EST */
  CHECK_EQ_STR(ts(b, 4, AU_LMP_START), "2024-03-10T07:00:00Z"); /* 03:00 EDT */
  CHECK_EQ_STR(ts(b, 45, AU_LMP_START), "2024-03-11T03:00:00Z");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_CONG), 2.0, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 27.0, 1e-12);
  au_batch_clear(b);
  CHECK_EQ_INT(parse_file("lmp_rt_hourly", "nyiso/rtlbmp_nonexistent.csv", 2024, 3, 10, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 3, field 1") != NULL);
  CHECK(strstr(err.msg, "does not exist") != NULL);
  au_batch_free(b);
}

TEST(golden_pal_with_totals) {
  struct au_batch *b = au_batch_new(&au_load_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("load_actual", "nyiso/nyiso_20171122pal.csv", 2017, 11, 22, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 3190 + 290); /* 11 zones x 290 stamps + one TOTAL per stamp */
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "CAPITL");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_TYPE), "ZONE");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_MARKET), "ACTUAL");
  CHECK_EQ_STR(ts(b, 0, AU_LOAD_START), "2017-11-22T05:00:00Z");
  CHECK_EQ_STR(ts(b, 0, AU_LOAD_END), "2017-11-22T05:05:00Z");
  CHECK_EQ_STR(ts(b, 0, AU_LOAD_PUBLISHED), "2017-11-22T05:05:00Z");
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 1140.5, 1e-9);
  CHECK_EQ_STR(txt(b, 11, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_EQ_STR(txt(b, 11, AU_LOAD_LOC_TYPE), "SYSTEM");
  double sum = 0;
  for (size_t r = 0; r < 11; r++)
    sum += au_batch_double(b, r, AU_LOAD_MW);
  CHECK_NEAR(au_batch_double(b, 11, AU_LOAD_MW), sum, 1e-6);
  CHECK_EQ_INT(au_batch_int(b, 11, AU_LOAD_START), au_batch_int(b, 0, AU_LOAD_START));
  /* an off-grid stamp (00:07:34) is kept as its own instant */
  CHECK_EQ_STR(ts(b, 24, AU_LOAD_START), "2017-11-22T05:07:34Z");
  CHECK_EQ_STR(txt(b, b->nrows - 1, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_EQ_STR(ts(b, b->nrows - 1, AU_LOAD_START), "2017-11-23T04:55:00Z");
  au_batch_free(b);
}

TEST(pal_fallback_time_zone_column) {
  struct au_batch *b = au_batch_new(&au_load_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("load_actual", "nyiso/pal_fallback_20241103.csv", 2024, 11, 3, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 27 * 3);
  /* 27 stamps 00:55 EDT .. 02:05 EST, 5 minutes apart in UTC */
  CHECK_EQ_STR(ts(b, 0, AU_LOAD_START), "2024-11-03T04:55:00Z");
  for (size_t r = 3; r < b->nrows; r++)
    CHECK_EQ_INT(au_batch_int(b, r, AU_LOAD_START) - au_batch_int(b, r - 3, AU_LOAD_START), 5 * AU_MINUTE);
  CHECK_EQ_STR(ts(b, 13 * 3, AU_LOAD_START), "2024-11-03T06:00:00Z"); /* 01:00 EST */
  CHECK_NEAR(au_batch_double(b, 2, AU_LOAD_MW), 3000.75, 1e-9);
  au_batch_free(b);
}

TEST(golden_isolf) {
  struct au_batch *b = au_batch_new(&au_load_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("load_forecast", "nyiso/nyiso_20250219isolf.csv", 2025, 2, 19, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 144 * 12);
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "CAPITL");
  CHECK_EQ_STR(txt(b, 4, AU_LOAD_LOC_ID), "HUD VL");
  CHECK_EQ_STR(txt(b, 11, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_EQ_STR(txt(b, 11, AU_LOAD_LOC_TYPE), "SYSTEM");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_MARKET), "FORECAST");
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 1492, 0);
  CHECK_NEAR(au_batch_double(b, 11, AU_LOAD_MW), 18054, 0);
  CHECK_EQ_STR(ts(b, 0, AU_LOAD_START), "2025-02-19T05:00:00Z");
  CHECK_EQ_STR(ts(b, 0, AU_LOAD_PUBLISHED), "2025-02-19T05:00:00Z"); /* issue = file date 00:00 ET */
  CHECK_EQ_STR(ts(b, b->nrows - 1, AU_LOAD_START), "2025-02-25T04:00:00Z");
  CHECK_EQ_STR(ts(b, b->nrows - 1, AU_LOAD_PUBLISHED), "2025-02-19T05:00:00Z");
  au_batch_free(b);
}

TEST(plan_daily_zip_and_kinds) {
  struct env e;
  setup(&e, "lmp_da_hourly");
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/New_York", &err);
  struct au_reqlist q = {0};
  e.ctx.now = au_tz_day_start(tz, 2024, 11, 20) + 12 * AU_HOUR;
  /* Oct 25 .. Nov 18: October days and Nov 1..9 are > 10 days old -> two ZIPs; Nov 10.. daily */
  CHECK_EQ_INT(src->plan(&e.ctx, au_tz_day_start(tz, 2024, 10, 25), au_tz_day_start(tz, 2024, 11, 19), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2 + 9);
  CHECK_EQ_STR(q.v[0].url, "http://sim/public/csv/damlbmp/20241001damlbmp_zone_csv.zip");
  CHECK_EQ_INT(q.v[0].win_start, au_tz_day_start(tz, 2024, 10, 25));
  CHECK_EQ_INT(q.v[0].win_end, au_tz_day_start(tz, 2024, 11, 1));
  CHECK_EQ_STR(q.v[1].url, "http://sim/public/csv/damlbmp/20241101damlbmp_zone_csv.zip");
  CHECK_EQ_INT(q.v[1].win_end, au_tz_day_start(tz, 2024, 11, 10));
  CHECK_EQ_STR(q.v[2].url, "http://sim/public/csv/damlbmp/20241110damlbmp_zone.csv");
  CHECK_EQ_STR(q.v[10].url, "http://sim/public/csv/damlbmp/20241118damlbmp_zone.csv");
  au_reqlist_clear(&q);
  /* fall-back day window spans 25 hours; gen files; daily forced */
  au_opts_set(&e.opts, "location_kind", "gen");
  au_opts_set(&e.opts, "archive", "daily");
  CHECK_EQ_INT(src->plan(&e.ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 4), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK_EQ_STR(q.v[0].url, "http://sim/public/csv/damlbmp/20241103damlbmp_gen.csv");
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 25 * AU_HOUR);
  au_reqlist_clear(&q);
  au_opts_set(&e.opts, "archive", "weekly");
  CHECK_EQ_INT(src->plan(&e.ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 4), &q, &err),
               AU_E_CONFIG);
  au_err_clear(&err);
  au_opts_release(&e.opts);
  /* load tables: no suffix; monthly forced */
  setup(&e, "load_actual");
  au_opts_set(&e.opts, "archive", "monthly");
  CHECK_EQ_INT(src->plan(&e.ctx, au_tz_day_start(tz, 2024, 3, 10), au_tz_day_start(tz, 2024, 3, 11), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK_EQ_STR(q.v[0].url, "http://sim/public/csv/pal/20240301pal_csv.zip");
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 23 * AU_HOUR);
  au_reqlist_release(&q);
  au_opts_release(&e.opts);
}

TEST(zip_members_in_window_only) {
  const char *hdr = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\","
                    "\"Marginal Cost Congestion ($/MWHr)\"\r\n";
  char d2[512], d3[512];
  snprintf(d2, sizeof(d2), "%s\"11/02/2024 23:00\",\"WEST\",61752,10.00,1.00,-1.00\r\n", hdr);
  snprintf(d3, sizeof(d3),
           "%s\"11/03/2024 01:00\",\"WEST\",61752,20.00,1.00,0.00\r\n\"11/03/2024 01:00\",\"WEST\",61752,21.00,1.00,"
           "0.00\r\n",
           hdr);
  const char *names[] = {"20241102rtlbmp_zone.csv", "20241103rtlbmp_zone.csv", "20241103rtlbmp_gen.csv",
                         "readme.txt"};
  const char *datas[] = {d2, d3, "garbage", "x"};
  size_t lens[] = {strlen(d2), strlen(d3), 7, 1};
  struct au_buf zb = AU_BUF_INIT(1 << 20);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_zipw_build(&zb, names, datas, lens, 4, &err), 0);
  struct env e;
  setup(&e, "lmp_rt_hourly");
  const struct au_tz *tz = au_tz_get("America/New_York", &err);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = 1;
  req.win_start = au_tz_day_start(tz, 2024, 11, 3);
  req.win_end = au_tz_day_start(tz, 2024, 11, 4);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  CHECK_EQ_INT(parse_req(&e, zb.ptr, zb.len, 200, &req, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 2);
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2024-11-03T05:00:00Z");
  CHECK_EQ_STR(ts(b, 1, AU_LMP_START), "2024-11-03T06:00:00Z");
  /* a bad member names itself and the position */
  au_batch_clear(b);
  req.win_start = au_tz_day_start(tz, 2024, 11, 2);
  au_opts_set(&e.opts, "location_kind", "gen");
  CHECK_EQ_INT(parse_req(&e, zb.ptr, zb.len, 200, &req, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "20241103rtlbmp_gen.csv") != NULL);
  CHECK(strstr(err.msg, "line 1") != NULL);
  au_batch_free(b);
  au_buf_release(&zb);
  au_opts_release(&e.opts);
}

TEST(not_found_and_errors) {
  struct env e;
  setup(&e, "lmp_da_hourly");
  struct au_err err = AU_ERR_INIT;
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = au_time_utc(2024, 6, 1, 4, 0, 0);
  req.win_end = req.win_start + AU_DAY;
  snprintf(req.label, sizeof(req.label), "nyiso.lmp_da_hourly 20240601damlbmp_zone.csv");
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  e.ctx.now = req.win_start - AU_HOUR;
  CHECK_EQ_INT(parse_req(&e, "", 0, 404, &req, b, &err), AU_E_NODATA);
  e.ctx.now = req.win_start + AU_HOUR;
  CHECK_EQ_INT(parse_req(&e, "", 0, 404, &req, b, &err), AU_E_HTTP);
  CHECK(strstr(err.msg, "20240601damlbmp_zone.csv") != NULL);
  au_err_clear(&err);
  req.cookie = 1; /* monthly archive missing: always an error */
  e.ctx.now = req.win_start - AU_HOUR;
  CHECK_EQ_INT(parse_req(&e, "", 0, 404, &req, b, &err), AU_E_HTTP);
  au_err_clear(&err);
  req.cookie = 0;
  const char *bad = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\","
                    "\"Marginal Cost Congestion ($/MWHr)\"\n\"06/01/2024 00:00\",\"WEST\",61752,1.00,x,0.00\n";
  CHECK_EQ_INT(parse_req(&e, bad, strlen(bad), 200, &req, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 2, field 5 (Marginal Cost Losses)") != NULL);
  au_err_clear(&err);
  const char *nohdr = "\"Stamp\",\"Name\"\n1,2\n";
  CHECK_EQ_INT(parse_req(&e, nohdr, strlen(nohdr), 200, &req, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "Time Stamp") != NULL);
  au_err_clear(&err);
  const char *onlyhdr = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\","
                        "\"Marginal Cost Congestion ($/MWHr)\"\r\n";
  CHECK_EQ_INT(parse_req(&e, onlyhdr, strlen(onlyhdr), 200, &req, b, &err), AU_E_NODATA);
  CHECK_EQ_INT(b->nrows, 0);
  au_batch_free(b);
  au_opts_release(&e.opts);
}

TEST_LIST{T(golden_rtlbmp_fallback_day), T(golden_realtime_fixture),  T(congestion_sign_flipped_unquoted),
          T(spring_day_and_gap),         T(golden_pal_with_totals),   T(pal_fallback_time_zone_column),
          T(golden_isolf),               T(plan_daily_zip_and_kinds), T(zip_members_in_window_only),
          T(not_found_and_errors)};

AU_TEST_MAIN()

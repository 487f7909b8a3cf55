/* test_spp.c - SPP: file naming (DST, folders), golden parsing of every real sample,
 * header variants, DST days, 404 rules and error positions. */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

static const struct au_source_ops *src;
static const struct au_table_def *t_da, *t_rt;

static void lookup(void) {
  struct au_err err = AU_ERR_INIT;
  if (!src) {
    CHECK(au_table_find("spp.lmp_da_hourly", &src, &t_da, &err) == 0);
    CHECK(au_table_find("spp.lmp_rt_5min", &src, &t_rt, &err) == 0);
  }
}

static void setup(struct au_source_ctx *ctx, struct au_opts *opts, const struct au_table_def *t) {
  lookup();
  memset(opts, 0, sizeof(*opts));
  memset(ctx, 0, sizeof(*ctx));
  ctx->src = src;
  ctx->table = t;
  ctx->base_url = "http://sim/file-browser-api/download";
  ctx->opts = opts;
  ctx->ingestion_time = au_time_utc(2025, 4, 1, 0, 0, 0);
}

static int parse_body(const struct au_table_def *t, const char *body, size_t len, long status, au_time now,
                      au_time ws, au_time we, struct au_batch *b, struct au_err *err) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts, t);
  ctx.now = now;
  struct au_response resp = {status, body, len, "text/csv"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = ws;
  req.win_end = we;
  snprintf(req.label, sizeof(req.label), "test");
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, &req, &resp, b, &more, err);
  CHECK_EQ_INT(more.n, 0);
  au_reqlist_release(&more);
  au_opts_release(&opts);
  return rc;
}

static int parse_file(const struct au_table_def *t, const char *rel, struct au_batch *b, struct au_err *err) {
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  int rc = parse_body(t, body, len, 200, 0, 0, 0, b, err);
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

static void check_identity(const struct au_batch *b, double eps) {
  int bad = 0;
  for (size_t r = 0; r < b->nrows; r++) {
    double l = au_batch_double(b, r, AU_LMP_LMP), e = au_batch_double(b, r, AU_LMP_ENERGY),
           c = au_batch_double(b, r, AU_LMP_CONG), s = au_batch_double(b, r, AU_LMP_LOSS);
    if (au_batch_is_null(b, r, AU_LMP_LMP) || fabs(l - (e + c + s)) > eps)
      bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

static size_t find_loc(const struct au_batch *b, const char *id) {
  for (size_t r = 0; r < b->nrows; r++)
    if (strcmp(txt(b, r, AU_LMP_LOC_ID), id) == 0)
      return r;
  return (size_t)-1;
}

TEST(golden_rt_0840) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(t_rt, "spp/spp_RTBM-LMP-SL-202503310840.csv", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1234);
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2025-03-31T13:35:00Z");
  CHECK_EQ_STR(ts(b, 0, AU_LMP_END), "2025-03-31T13:40:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_ISO), "SPP");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "AEC");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_NAME), "SOUC");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 35.6875, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 290.0589, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_CONG), -247.3823, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LOSS), -6.9891, 1e-9);
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 5);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_TZ), "America/Chicago");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_UNIT), "USD/MWh");
  /* every row: same interval, LMP = MEC + MCC + MLC (4-decimal rounding) */
  int other = 0;
  for (size_t r = 0; r < b->nrows; r++)
    other += au_batch_int(b, r, AU_LMP_START) != au_batch_int(b, 0, AU_LMP_START);
  CHECK_EQ_INT(other, 0);
  check_identity(b, 2.5e-4);
  size_t h = find_loc(b, "SPPNORTH_HUB"), i = find_loc(b, "ERCOTN"), x = find_loc(b, "ALTW"),
         s = find_loc(b, "ANTELOPE");
  CHECK(h != (size_t)-1 && i != (size_t)-1 && x != (size_t)-1 && s != (size_t)-1);
  if (h != (size_t)-1 && i != (size_t)-1 && x != (size_t)-1 && s != (size_t)-1) {
    CHECK_EQ_STR(txt(b, h, AU_LMP_LOC_TYPE), "HUB");
    CHECK_EQ_STR(txt(b, i, AU_LMP_LOC_TYPE), "INTERFACE");
    CHECK_EQ_STR(txt(b, x, AU_LMP_LOC_TYPE), "INTERFACE");
    CHECK_EQ_STR(txt(b, s, AU_LMP_LOC_TYPE), "SETTLEMENT_LOCATION");
  }
  au_batch_free(b);
}

TEST(golden_rt_0850) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(t_rt, "spp/spp_RTBM-LMP-SL-202503310850.csv", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1234);
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2025-03-31T13:45:00Z");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 29.0038, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 29.81, 1e-9);
  check_identity(b, 2.5e-4);
  au_batch_free(b);
}

TEST(golden_da_first200) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(t_da, "spp/spp_DA-LMP-SL-202503190100_first200lines.csv", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 199);
  /* hour ending 01:00 CDT = 06:00Z: the interval starts 05:00Z */
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2025-03-19T05:00:00Z");
  CHECK_EQ_STR(ts(b, 0, AU_LMP_END), "2025-03-19T06:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "DA");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 60);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 9.6667, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 11.7148, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_CONG), -2.1891, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LOSS), 0.1410, 1e-9);
  check_identity(b, 2.5e-4);
  au_batch_free(b);
}

TEST(golden_uppercase_baa_variant) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(t_da, "spp/spp_DA-LMP-SL-202606040100_cut_uppercase_variant.csv", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 72); /* 24 hours x 3 locations */
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), "2026-06-04T05:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "AEC");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_NAME), "SOUC");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 16.9072, 1e-9);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 12.8191, 1e-9);
  CHECK_EQ_STR(txt(b, 1, AU_LMP_LOC_ID), "SPPNORTH_HUB");
  CHECK_EQ_STR(txt(b, 1, AU_LMP_LOC_TYPE), "HUB");
  CHECK_EQ_STR(ts(b, 71, AU_LMP_END), "2026-06-05T05:00:00Z");
  check_identity(b, 2.5e-4);
  au_batch_free(b);
}

/* distinct starts, all one hour apart */
static void check_hours(const struct au_batch *b, int nloc, int hours, const char *first) {
  CHECK_EQ_INT(b->nrows, (size_t)(nloc * hours));
  CHECK_EQ_STR(ts(b, 0, AU_LMP_START), first);
  for (size_t r = (size_t)nloc; r < b->nrows; r++)
    CHECK_EQ_INT(au_batch_int(b, r, AU_LMP_START) - au_batch_int(b, r - (size_t)nloc, AU_LMP_START), AU_HOUR);
}

TEST(dst_days_da) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(t_da, "spp/da_fallback_20241103.csv", b, &err), 0);
  check_hours(b, 2, 25, "2024-11-03T05:00:00Z");
  /* the two "11/03/2024 01:00:00" Interval groups: ends 06:00Z (CDT) and 07:00Z (CST) */
  CHECK_EQ_STR(ts(b, 0, AU_LMP_END), "2024-11-03T06:00:00Z");
  CHECK_EQ_STR(ts(b, 2, AU_LMP_END), "2024-11-03T07:00:00Z");
  CHECK_EQ_STR(ts(b, 49, AU_LMP_START), "2024-11-04T05:00:00Z");
  au_batch_clear(b);
  CHECK_EQ_INT(parse_file(t_da, "spp/da_spring_20240310.csv", b, &err), 0);
  check_hours(b, 2, 23, "2024-03-10T06:00:00Z");
  CHECK_EQ_STR(ts(b, 45, AU_LMP_START), "2024-03-11T04:00:00Z");
  au_batch_free(b);
}

TEST(plan_da_days) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  lookup();
  setup(&ctx, &opts, t_da);
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/Chicago", &err);
  struct au_reqlist q = {0};
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(tz, 2024, 3, 10), au_tz_day_start(tz, 2024, 3, 12), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://sim/file-browser-api/download/da-lmp-by-location?path=/2024/03/By_Day/"
                           "DA-LMP-SL-202403100100.csv");
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 23 * AU_HOUR);
  CHECK_EQ_INT(q.v[1].win_end - q.v[1].win_start, 24 * AU_HOUR);
  au_reqlist_clear(&q);
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 4), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK(strstr(q.v[0].url, "/2024/11/By_Day/DA-LMP-SL-202411030100.csv") != NULL);
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 25 * AU_HOUR);
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

static int count_sub(const struct au_reqlist *q, const char *s) {
  int n = 0;
  for (size_t i = 0; i < q->n; i++)
    n += strstr(q->v[i].url, s) != NULL;
  return n;
}

TEST(plan_rt_interval_files_dst) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  lookup();
  setup(&ctx, &opts, t_rt);
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/Chicago", &err);
  struct au_reqlist q = {0};
  /* spring: 23 hours = 276 files; no wall time 02:xx; the last file ends 00:00 in the 10th's folder */
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(tz, 2024, 3, 10), au_tz_day_start(tz, 2024, 3, 11), &q, &err), 0);
  CHECK_EQ_INT(q.n, 276);
  CHECK_EQ_STR(q.v[0].url, "http://sim/file-browser-api/download/rtbm-lmp-by-location?path=/2024/03/By_Interval/10/"
                           "RTBM-LMP-SL-202403100005.csv");
  CHECK(strstr(q.v[275].url, "/2024/03/By_Interval/10/RTBM-LMP-SL-202403110000.csv") != NULL);
  CHECK_EQ_INT(count_sub(&q, "RTBM-LMP-SL-2024031002"), 0);
  CHECK_EQ_INT(count_sub(&q, "RTBM-LMP-SL-202403100300.csv"), 1);
  CHECK_EQ_INT(q.v[0].win_start, au_time_utc(2024, 3, 10, 6, 0, 0));
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 5 * AU_MINUTE);
  au_reqlist_clear(&q);
  /* fall: 25 hours = 300 files; the repeated wall times 01:00..01:55 get a "d" the second time */
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 4), &q, &err), 0);
  CHECK_EQ_INT(q.n, 300);
  CHECK_EQ_INT(count_sub(&q, "d.csv"), 12);
  CHECK_EQ_INT(count_sub(&q, "RTBM-LMP-SL-202411030105.csv"), 1);
  CHECK_EQ_INT(count_sub(&q, "RTBM-LMP-SL-202411030105d.csv"), 1);
  CHECK_EQ_INT(count_sub(&q, "RTBM-LMP-SL-202411030100d.csv"), 1);
  for (size_t i = 0; i < q.n; i++)
    if (strstr(q.v[i].url, "0105d.csv"))
      CHECK_EQ_INT(q.v[i].win_start, au_time_utc(2024, 11, 3, 7, 0, 0));
  au_reqlist_clear(&q);
  /* month boundary: the 00:00 file of Nov 1 sits in the Oct 31 folder */
  au_time t = au_tz_day_start(tz, 2024, 11, 1) - 5 * AU_MINUTE;
  CHECK_EQ_INT(src->plan(&ctx, t, t + 5 * AU_MINUTE, &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK(strstr(q.v[0].url, "path=/2024/10/By_Interval/31/RTBM-LMP-SL-202411010000.csv") != NULL);
  au_reqlist_clear(&q);
  /* intervals that have not ended are not requested */
  ctx.now = au_tz_day_start(tz, 2024, 6, 1) + 62 * AU_MINUTE;
  CHECK_EQ_INT(src->plan(&ctx, au_tz_day_start(tz, 2024, 6, 1), au_tz_day_start(tz, 2024, 6, 2), &q, &err), 0);
  CHECK_EQ_INT(q.n, 12);
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

TEST(not_found_rules) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  au_time ws = au_time_utc(2024, 6, 1, 12, 0, 0), we = ws + 5 * AU_MINUTE;
  /* RT: within an hour of the interval end = not published yet */
  CHECK_EQ_INT(parse_body(t_rt, "", 0, 404, we + 10 * AU_MINUTE, ws, we, b, &err), AU_E_NODATA);
  CHECK_EQ_INT(parse_body(t_rt, "", 0, 404, we + 3 * AU_HOUR, ws, we, b, &err), AU_E_HTTP);
  CHECK(strstr(err.msg, "404") != NULL);
  au_err_clear(&err);
  /* DA: missing before the operating day starts = not published yet */
  CHECK_EQ_INT(parse_body(t_da, "", 0, 404, ws - AU_HOUR, ws, ws + AU_DAY, b, &err), AU_E_NODATA);
  CHECK_EQ_INT(parse_body(t_da, "", 0, 404, ws + AU_HOUR, ws, ws + AU_DAY, b, &err), AU_E_HTTP);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_body(t_da, "oops", 4, 500, 0, ws, we, b, &err), AU_E_HTTP);
  au_err_clear(&err);
  /* header only = empty */
  const char *hdr = "Interval,GMTIntervalEnd,Settlement Location,Pnode,LMP,MLC,MCC,MEC\r\n";
  CHECK_EQ_INT(parse_body(t_rt, hdr, strlen(hdr), 200, 0, ws, we, b, &err), AU_E_NODATA);
  CHECK_EQ_INT(b->nrows, 0);
  au_batch_free(b);
}

TEST(errors_name_positions) {
  lookup();
  struct au_batch *b = au_batch_new(&au_lmp_schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(t_da, "spp/bad_number.csv", b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 3") != NULL);
  CHECK(strstr(err.msg, "9 fields, the header has 8") != NULL);
  au_err_clear(&err);
  au_batch_clear(b);
  const char *nohdr = "Interval,GMT,Settlement Location,LMP,MLC,MCC,MEC\n1,2,3,4,5,6,7\n";
  CHECK_EQ_INT(parse_body(t_da, nohdr, strlen(nohdr), 200, 0, 0, 0, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "GMTIntervalEnd") != NULL);
  au_err_clear(&err);
  const char *badts = "Interval,GMTIntervalEnd,Settlement Location,Pnode,LMP,MLC,MCC,MEC\n"
                      "x,13/45/2025 01:00,AEC,SOUC,1,2,3,4\n";
  CHECK_EQ_INT(parse_body(t_da, badts, strlen(badts), 200, 0, 0, 0, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 2, field 2") != NULL);
  au_err_clear(&err);
  const char *badnum = "Interval,GMTIntervalEnd,Settlement Location,Pnode,LMP,MLC,MCC,MEC\n"
                       "x,03/19/2025 06:00:00,AEC,SOUC,1,2,abc,4\n";
  CHECK_EQ_INT(parse_body(t_da, badnum, strlen(badnum), 200, 0, 0, 0, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 2, field 7 (MCC)") != NULL);
  au_err_clear(&err);
  /* blank components are NULL; a missing LMP is filled from the parts */
  const char *blank = "interval,gmt_interval_end,SETTLEMENT LOCATION,LMP,MLC,MCC,MEC\n"
                      "x,2025-03-19 06:00:00,AEC,,0.5,1.5,10\n";
  CHECK_EQ_INT(parse_body(t_da, blank, strlen(blank), 200, 0, 0, 0, b, &err), AU_E_PARSE); /* gmt_interval_end != GMTIntervalEnd */
  au_err_clear(&err);
  const char *blank2 = "interval,GMTINTERVALEND,SETTLEMENT LOCATION,LMP,MLC,MCC,MEC\n"
                       "x,2025-03-19 06:00:00,AEC,,0.5,1.5,10\n";
  CHECK_EQ_INT(parse_body(t_da, blank2, strlen(blank2), 200, 0, 0, 0, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 12.0, 1e-12);
  CHECK(au_batch_is_null(b, 0, AU_LMP_LOC_NAME));
  au_batch_free(b);
}

TEST_LIST{T(golden_rt_0840),          T(golden_rt_0850),  T(golden_da_first200),
          T(golden_uppercase_baa_variant), T(dst_days_da), T(plan_da_days),
          T(plan_rt_interval_files_dst), T(not_found_rules), T(errors_name_positions)};

AU_TEST_MAIN()

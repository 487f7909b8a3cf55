/* test_caiso.c - CAISO OASIS: request planning (Pacific trade days, DST, 31-day and 10-node
 * splits, ALL_APNODES), golden parsing of the real OASIS samples (SLD_FCST CSV-in-ZIP, XML,
 * the 1000 error ZIP, the malformed ENE_SLRS sample), pivoting of unsorted component rows and
 * the OASIS error codes. */
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

struct fx {
  const struct au_source_ops *src;
  const struct au_table_def *tbl;
  struct au_opts opts;
  struct au_source_ctx ctx;
};

static void fx_open(struct fx *f, const char *table, const char *const *kv) {
  struct au_err err = AU_ERR_INIT;
  memset(f, 0, sizeof(*f));
  CHECK(au_table_find(table, &f->src, &f->tbl, &err) == 0);
  for (; kv && kv[0]; kv += 2)
    au_opts_set(&f->opts, kv[0], kv[1]);
  f->ctx.src = f->src;
  f->ctx.table = f->tbl;
  f->ctx.base_url = "http://sim/oasisapi";
  f->ctx.opts = &f->opts;
  f->ctx.ingestion_time = au_time_utc(2024, 4, 19, 3, 30, 0);
  int rc = f->src->init(&f->ctx, &err);
  if (rc)
    fprintf(stderr, "  init: %s\n", err.msg);
  CHECK_EQ_INT(rc, 0);
}

static void fx_close(struct fx *f) {
  f->src->fini(&f->ctx);
  au_opts_release(&f->opts);
}

static const struct au_tz *la(void) { return au_tz_get("America/Los_Angeles", NULL); }
static au_time day(int y, int m, int d) { return au_tz_day_start(la(), y, m, d); }

static size_t count_str(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

TEST(plan_dst_days) {
  struct fx f;
  fx_open(&f, "caiso.lmp_dam", NULL);
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 3, 10), day(2024, 3, 11), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK(strstr(q.v[0].url, "startdatetime=20240310T08:00-0000&enddatetime=20240311T07:00-0000") != NULL);
  CHECK(strstr(q.v[0].url, "http://sim/oasisapi/SingleZip?resultformat=6&queryname=PRC_LMP&version=1") != NULL);
  CHECK(strstr(q.v[0].url, "market_run_id=DAM&node=TH_NP15_GEN-APND,TH_SP15_GEN-APND,TH_ZP26_GEN-APND") != NULL);
  CHECK_EQ_INT((q.v[0].win_end - q.v[0].win_start) / AU_HOUR, 23);
  au_reqlist_clear(&q);
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 11, 3), day(2024, 11, 4), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK(strstr(q.v[0].url, "startdatetime=20241103T07:00-0000&enddatetime=20241104T08:00-0000") != NULL);
  CHECK_EQ_INT((q.v[0].win_end - q.v[0].win_start) / AU_HOUR, 25);
  au_reqlist_release(&q);
  fx_close(&f);
}

TEST(plan_splits_nodes_and_days) {
  static const char *const kv[] = {"nodes", "N1,N2,N3,N4,N5,N6,N7,N8,N9,N10,N11", NULL};
  struct fx f;
  fx_open(&f, "caiso.lmp_dam", kv);
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  /* 40 trade days x 2 node groups = 2 windows (31 + 9 days) x 2 */
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 1, 1), day(2024, 2, 10), &q, &err), 0);
  CHECK_EQ_INT(q.n, 4);
  CHECK(strstr(q.v[0].url, "node=N1,N2,N3,N4,N5,N6,N7,N8,N9,N10&") || strstr(q.v[0].url, "node=N1,N2,N3,N4,N5,N6,N7,N8,N9,N10"));
  CHECK(strstr(q.v[1].url, "node=N11") != NULL);
  CHECK_EQ_INT(count_str(q.v[0].url, ","), 9);
  CHECK_EQ_INT(q.v[0].win_start, day(2024, 1, 1));
  CHECK_EQ_INT(q.v[0].win_end, day(2024, 2, 1));
  CHECK_EQ_INT(q.v[2].win_start, day(2024, 2, 1));
  CHECK_EQ_INT(q.v[2].win_end, day(2024, 2, 10));
  for (size_t i = 0; i < q.n; i++)
    CHECK((q.v[i].win_end - q.v[i].win_start) <= 31 * AU_DAY);
  au_reqlist_release(&q);
  fx_close(&f);
}

TEST(plan_all_apnodes) {
  static const char *const kv[] = {"grp_type", "ALL_APNODES", NULL};
  struct fx f;
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  fx_open(&f, "caiso.lmp_dam", kv);
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 3, 9), day(2024, 3, 12), &q, &err), 0);
  CHECK_EQ_INT(q.n, 3); /* one trade day each */
  CHECK(strstr(q.v[1].url, "grp_type=ALL_APNODES") != NULL);
  CHECK(strstr(q.v[1].url, "node=") == NULL);
  CHECK_EQ_INT(q.v[1].win_end - q.v[1].win_start, 23 * AU_HOUR);
  au_reqlist_release(&q);
  fx_close(&f);
  fx_open(&f, "caiso.lmp_rtm", kv);
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 3, 10), day(2024, 3, 11), &q, &err), 0);
  CHECK_EQ_INT(q.n, 23); /* one hour each */
  CHECK(strstr(q.v[0].url, "queryname=PRC_INTVL_LMP&version=3") != NULL);
  au_reqlist_clear(&q);
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 11, 3), day(2024, 11, 4), &q, &err), 0);
  CHECK_EQ_INT(q.n, 25);
  au_reqlist_release(&q);
  fx_close(&f);
}

TEST(plan_load_and_xml) {
  static const char *const kv[] = {"oasis_result_format", "0", "oasis_version", "2", NULL};
  struct fx f;
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  fx_open(&f, "caiso.load_forecast", kv);
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 1, 1), day(2024, 1, 2), &q, &err), 0);
  CHECK_EQ_INT(q.n, 5);
  CHECK(strstr(q.v[0].url, "resultformat") == NULL);
  CHECK(strstr(q.v[0].url, "queryname=SLD_FCST&version=2") != NULL);
  CHECK(strstr(q.v[3].url, "market_run_id=RTM&execution_type=RTD") != NULL);
  CHECK(strstr(q.v[4].url, "market_run_id=RTM&execution_type=RTPD") != NULL);
  au_reqlist_release(&q);
  fx_close(&f);
}

TEST(base_url_seed_alias) {
  static const char *const kv[] = {"caiso_base_url", "http://alias.example/oasisapi/", NULL};
  struct fx f;
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  fx_open(&f, "caiso.as_dam", kv);
  CHECK_EQ_INT(f.src->plan(&f.ctx, day(2024, 1, 1), day(2024, 1, 3), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2); /* PRC_AS: one day per request */
  CHECK(strncmp(q.v[0].url, "http://alias.example/oasisapi/SingleZip?", 40) == 0);
  CHECK(strstr(q.v[0].url, "anc_type=ALL&anc_region=ALL") != NULL);
  au_reqlist_release(&q);
  fx_close(&f);
}

static int parse_body(struct fx *f, const char *body, size_t len, struct au_batch *b, struct au_err *err) {
  struct au_request req;
  memset(&req, 0, sizeof(req));
  struct au_reqlist more = {0};
  struct au_response resp = {200, body, len, "application/x-zip-compressed"};
  int rc = f->src->parse(&f->ctx, &req, &resp, b, &more, err);
  au_reqlist_release(&more);
  return rc;
}

static int parse_file(struct fx *f, const char *rel, struct au_batch *b, struct au_err *err) {
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  int rc = parse_body(f, body, len, b, err);
  free(body);
  return rc;
}

static long find_load(const struct au_batch *b, const char *mkt, const char *loc, au_time start) {
  for (size_t r = 0; r < b->nrows; r++)
    if (au_batch_int(b, r, AU_LOAD_START) == start && !strcmp(au_batch_text(b, r, AU_LOAD_MARKET, NULL), mkt) &&
        !strcmp(au_batch_text(b, r, AU_LOAD_LOC_ID, NULL), loc))
      return (long)r;
  return -1;
}

TEST(golden_sld_fcst_all_horizons) {
  struct fx f;
  fx_open(&f, "caiso.load_forecast", NULL);
  struct au_batch *b = au_batch_new(&au_load_schema, 64);
  struct au_err err = AU_ERR_INIT;
  int rc = parse_file(&f, "caiso/caiso_oasis_SLD_FCST_20230812_csv.zip", b, &err);
  if (rc)
    fprintf(stderr, "  %s\n", err.msg);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(b->nrows, 16728); /* every data line: no key collides */
  size_t n7 = 0, nrtd = 0, nrtpd = 0, nact = 0;
  for (size_t r = 0; r < b->nrows; r++) {
    const char *m = au_batch_text(b, r, AU_LOAD_MARKET, NULL);
    n7 += !strcmp(m, "7DA");
    nrtd += !strcmp(m, "RTD");
    nrtpd += !strcmp(m, "RTPD");
    nact += !strcmp(m, "ACTUAL");
  }
  CHECK_EQ_INT(n7, 816);
  CHECK_EQ_INT(nrtd, 10080);
  CHECK_EQ_INT(nrtpd, 3360);
  CHECK_EQ_INT(nact, 840);
  /* 2023-08-13T01:00:00-00:00,...,2DA,AVA,Demand Forecast 2-Day Ahead,SYS_FCST_2DA_MW,1.8,1501.95,2DA,1 */
  long r = find_load(b, "2DA", "AVA", au_time_utc(2023, 8, 13, 1, 0, 0));
  CHECK(r >= 0);
  if (r >= 0) {
    CHECK_NEAR(au_batch_double(b, (size_t)r, AU_LOAD_MW), 1501.95, 1e-9);
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_END), au_time_utc(2023, 8, 13, 2, 0, 0));
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_MINUTES), 60);
    /* trade day 2023-08-12 (PDT), 2 days ahead: issued at local midnight of 2023-08-10 */
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_PUBLISHED), au_time_utc(2023, 8, 10, 7, 0, 0));
    CHECK_EQ_STR(au_batch_text(b, (size_t)r, AU_LOAD_LOC_TYPE, NULL), "TAC");
    CHECK_EQ_STR(au_batch_text(b, (size_t)r, AU_LOAD_ISO, NULL), "CAISO");
  }
  /* 2023-08-13T00:00:00-00:00,2023-08-13T00:15:00-00:00,...,RTM,AVA,RTM 15Min Load Forecast,...,1555.85,RTPD */
  r = find_load(b, "RTPD", "AVA", au_time_utc(2023, 8, 13, 0, 0, 0));
  CHECK(r >= 0);
  if (r >= 0) {
    CHECK_NEAR(au_batch_double(b, (size_t)r, AU_LOAD_MW), 1555.85, 1e-9);
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_MINUTES), 15);
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_PUBLISHED), au_time_utc(2023, 8, 12, 23, 45, 0));
  }
  /* actuals are published at the interval end */
  r = find_load(b, "ACTUAL", "CA ISO-TAC", au_time_utc(2023, 8, 13, 0, 0, 0));
  CHECK(r >= 0);
  if (r >= 0) {
    CHECK_NEAR(au_batch_double(b, (size_t)r, AU_LOAD_MW), 34495, 1e-9);
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_PUBLISHED), au_time_utc(2023, 8, 13, 1, 0, 0));
  }
  au_batch_free(b);
  fx_close(&f);
}

TEST(golden_sld_fcst_7da) {
  struct fx f;
  fx_open(&f, "caiso.load_forecast", NULL);
  struct au_batch *b = au_batch_new(&au_load_schema, 64);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(&f, "caiso/caiso_oasis_SLD_FCST_7DA_csv.zip", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 6432);
  /* 2025-02-19T08:00:00-00:00,...,7DA,AVA,Demand Forecast 7-Day Ahead,SYS_FCST_7DA_MW,0.8,1275.14,7DA,1 */
  long r = find_load(b, "7DA", "AVA", au_time_utc(2025, 2, 19, 8, 0, 0));
  CHECK(r >= 0);
  if (r >= 0) {
    CHECK_NEAR(au_batch_double(b, (size_t)r, AU_LOAD_MW), 1275.14, 1e-9);
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_PUBLISHED), au_time_utc(2025, 2, 12, 8, 0, 0));
  }
  au_batch_free(b);
  fx_close(&f);
}

TEST(golden_sld_fcst_xml) {
  struct fx f;
  fx_open(&f, "caiso.load_forecast", NULL);
  struct au_batch *b = au_batch_new(&au_load_schema, 64);
  struct au_err err = AU_ERR_INIT;
  /* bare XML body and the same document inside a ZIP */
  CHECK_EQ_INT(parse_file(&f, "caiso/caiso_oasis_SLD_FCST_RTM_xml_trimmed.xml", b, &err), 0);
  size_t n = b->nrows;
  CHECK(n >= 3);
  long r = find_load(b, "RTPD", "CA ISO-TAC", au_time_utc(2014, 5, 8, 19, 15, 0));
  CHECK(r >= 0);
  if (r >= 0) {
    CHECK_NEAR(au_batch_double(b, (size_t)r, AU_LOAD_MW), 26723, 1e-9);
    CHECK_EQ_INT(au_batch_int(b, (size_t)r, AU_LOAD_MINUTES), 15);
  }
  r = find_load(b, "RTD", "PGE-TAC", au_time_utc(2014, 5, 8, 19, 5, 0));
  CHECK(r >= 0);
  if (r >= 0)
    CHECK_NEAR(au_batch_double(b, (size_t)r, AU_LOAD_MW), 11530, 1e-9);
  size_t len;
  char *xml = au_test_read_file(au_test_data("caiso/caiso_oasis_SLD_FCST_RTM_xml_trimmed.xml"), &len);
  struct au_buf z = AU_BUF_INIT(0);
  const char *names[1] = {"20140508_20140509_SLD_FCST_RTM_20140509_10_50_06_v1.xml"};
  const char *datas[1] = {xml};
  CHECK_EQ_INT(au_zipw_build(&z, names, datas, &len, 1, &err), 0);
  au_batch_clear(b);
  CHECK_EQ_INT(parse_body(&f, z.ptr, z.len, b, &err), 0);
  CHECK_EQ_INT(b->nrows, n);
  au_buf_release(&z);
  free(xml);
  au_batch_free(b);
  fx_close(&f);
}

TEST(malformed_xml_sample) {
  struct fx f;
  fx_open(&f, "caiso.lmp_dam", NULL);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
  struct au_err err = AU_ERR_INIT;
  int rc = parse_file(&f, "caiso/caiso_oasis_ENE_SLRS_DAM_xml_trimmed.xml", b, &err);
  CHECK_EQ_INT(rc, AU_E_PARSE);
  CHECK(strstr(err.msg, "xml line 78") != NULL);
  if (!strstr(err.msg, "xml line 78"))
    fprintf(stderr, "  got: %s\n", err.msg);
  au_batch_free(b);
  fx_close(&f);
}

TEST(error_zip_1000_is_nodata) {
  struct fx f;
  fx_open(&f, "caiso.load_forecast", NULL);
  struct au_batch *b = au_batch_new(&au_load_schema, 64);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file(&f, "caiso/caiso_oasis_error_1000_no_data_xml.zip", b, &err), AU_E_NODATA);
  CHECK_EQ_INT(b->nrows, 0);
  au_batch_free(b);
  fx_close(&f);
}

static int parse_error_code(struct fx *f, int code, const char *member, struct au_err *err) {
  size_t len;
  char *xml = au_test_read_file(au_test_data("caiso/caiso_oasis_error_1000_no_data_xml.zip"), &len);
  free(xml);
  char doc[1024];
  int n = snprintf(doc, sizeof(doc),
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<m:OASISReport xmlns:m=\"http://www.caiso.com/"
                   "soa/OASISReport_v1.xsd\"><m:MessagePayload><m:RTO><m:name>CAISO</m:name><m:ERROR>"
                   "<m:ERR_CODE>%d</m:ERR_CODE><m:ERR_DESC>desc %d</m:ERR_DESC></m:ERROR></m:RTO>"
                   "</m:MessagePayload></m:OASISReport>",
                   code, code);
  struct au_buf z = AU_BUF_INIT(0);
  const char *names[1] = {member};
  const char *datas[1] = {doc};
  size_t lens[1] = {(size_t)n};
  CHECK_EQ_INT(au_zipw_build(&z, names, datas, lens, 1, err), 0);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  int rc = parse_body(f, z.ptr, z.len, b, err);
  au_batch_free(b);
  au_buf_release(&z);
  return rc;
}

TEST(error_codes) {
  struct fx f;
  fx_open(&f, "caiso.lmp_dam", NULL);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_error_code(&f, 1000, "INVALID_REQUEST.xml", &err), AU_E_NODATA);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_error_code(&f, 1004, "20240101_20240301_PRC_LMP_DAM_x_v1.xml", &err), AU_E_SPLIT);
  au_err_clear(&err);
  int rc = parse_error_code(&f, 1015, "whatever.csv", &err);
  CHECK(rc < 0 && rc != AU_E_NODATA && rc != AU_E_SPLIT);
  CHECK(err.retryable);
  CHECK(strstr(err.msg, "1015") != NULL);
  au_err_clear(&err);
  rc = parse_error_code(&f, 1019, "INVALID_REQUEST.xml", &err);
  CHECK(rc < 0 && !err.retryable);
  CHECK(strstr(err.msg, "OASIS error 1019: desc 1019") != NULL);
  fx_close(&f);
}

/* PRC_INTVL_LMP layout (value column VALUE), components and intervals shuffled */
static const char intvl_csv[] =
    "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,"
    "XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,VALUE,OPR_INTERVAL,GROUP\n"
    "2024-01-01T08:05:00-00:00,2024-01-01T08:10:00-00:00,2024-01-01,1,B,B,B,RTM,MCC,LMP_CONG_PRC,B,ALL,2,-1.5,2,1\n"
    "2024-01-01T08:00:00-00:00,2024-01-01T08:05:00-00:00,2024-01-01,1,A,A,A,RTM,LMP,LMP_PRC,A,ALL,1,30.5,1,1\n"
    "2024-01-01T08:05:00-00:00,2024-01-01T08:10:00-00:00,2024-01-01,1,A,A,A,RTM,MCE,LMP_ENE_PRC,A,ALL,1,29,2,1\n"
    "2024-01-01T08:00:00-00:00,2024-01-01T08:05:00-00:00,2024-01-01,1,B,B,B,RTM,MGHG,LMP_GHG_PRC,B,ALL,2,0.25,1,1\n"
    "2024-01-01T08:05:00-00:00,2024-01-01T08:10:00-00:00,2024-01-01,1,A,A,A,RTM,MCL,LMP_LOSS_PRC,A,ALL,1,0.75,2,1\n"
    "2024-01-01T08:00:00-00:00,2024-01-01T08:05:00-00:00,2024-01-01,1,A,A,A,RTM,MCE,LMP_ENE_PRC,A,ALL,1,29.5,1,1\n"
    "2024-01-01T08:05:00-00:00,2024-01-01T08:10:00-00:00,2024-01-01,1,A,A,A,RTM,LMP,LMP_PRC,A,ALL,1,31,2,1\n"
    "2024-01-01T08:00:00-00:00,2024-01-01T08:05:00-00:00,2024-01-01,1,A,A,A,RTM,MCC,LMP_CONG_PRC,A,ALL,1,0.5,1,1\n"
    "2024-01-01T08:05:00-00:00,2024-01-01T08:10:00-00:00,2024-01-01,1,A,A,A,RTM,MCC,LMP_CONG_PRC,A,ALL,1,1.25,2,1\n"
    "2024-01-01T08:00:00-00:00,2024-01-01T08:05:00-00:00,2024-01-01,1,A,A,A,RTM,MCL,LMP_LOSS_PRC,A,ALL,1,0.5,1,1\n"
    "2024-01-01T08:00:00-00:00,2024-01-01T08:05:00-00:00,2024-01-01,1,B,B,B,RTM,LMP,LMP_PRC,B,ALL,2,25,1,1\n"
    "2024-01-01T08:05:00-00:00,2024-01-01T08:10:00-00:00,2024-01-01,1,B,B,B,RTM,LMP,LMP_PRC,B,ALL,2,26,2,1\n";

static int parse_csv_zip(struct fx *f, const char *csv, struct au_batch *b, struct au_err *err) {
  struct au_buf z = AU_BUF_INIT(0);
  const char *names[1] = {"20240101_20240101_PRC_INTVL_LMP_RTM_20240101_00_05_00_v3.csv"};
  const char *datas[1] = {csv};
  size_t lens[1] = {strlen(csv)};
  CHECK_EQ_INT(au_zipw_build(&z, names, datas, lens, 1, err), 0);
  int rc = parse_body(f, z.ptr, z.len, b, err);
  au_buf_release(&z);
  return rc;
}

TEST(unsorted_rows_pivot) {
  struct fx f;
  fx_open(&f, "caiso.lmp_rtm", NULL);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  struct au_err err = AU_ERR_INIT;
  int rc = parse_csv_zip(&f, intvl_csv, b, &err);
  if (rc)
    fprintf(stderr, "  %s\n", err.msg);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(b->nrows, 4);
  au_time t0 = au_time_utc(2024, 1, 1, 8, 0, 0), t1 = au_time_utc(2024, 1, 1, 8, 5, 0);
  /* sorted: A@t0, A@t1, B@t0, B@t1 */
  CHECK_EQ_STR(au_batch_text(b, 0, AU_LMP_LOC_ID, NULL), "A");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_START), t0);
  CHECK_EQ_INT(au_batch_int(b, 1, AU_LMP_START), t1);
  CHECK_EQ_STR(au_batch_text(b, 2, AU_LMP_LOC_ID, NULL), "B");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 30.5, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 29.5, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_CONG), 0.5, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LOSS), 0.5, 1e-12);
  CHECK(au_batch_is_null(b, 0, AU_LMP_GHG));
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_LMP), 31, 1e-12);
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_ENERGY), 29, 1e-12);
  CHECK_NEAR(au_batch_double(b, 1, AU_LMP_CONG), 1.25, 1e-12);
  CHECK_NEAR(au_batch_double(b, 2, AU_LMP_GHG), 0.25, 1e-12);
  CHECK(au_batch_is_null(b, 2, AU_LMP_CONG));
  CHECK_NEAR(au_batch_double(b, 3, AU_LMP_CONG), -1.5, 1e-12);
  CHECK_EQ_STR(au_batch_text(b, 0, AU_LMP_MARKET, NULL), "RTM");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 5);
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_END), t1);
  CHECK_EQ_STR(au_batch_text(b, 0, AU_LMP_UNIT, NULL), "USD/MWh");
  CHECK_EQ_STR(au_batch_text(b, 0, AU_LMP_TZ, NULL), "America/Los_Angeles");
  CHECK_EQ_STR(au_batch_text(b, 0, AU_LMP_LOC_TYPE, NULL), "NODE");
  au_batch_free(b);
  fx_close(&f);
}

TEST(bad_value_names_member_line_field) {
  struct fx f;
  fx_open(&f, "caiso.lmp_rtm", NULL);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  struct au_err err = AU_ERR_INIT;
  char *csv = au_xstrdup(intvl_csv);
  char *p = strstr(csv, ",29,2,1\n");
  memcpy(p, ",2x,2,1\n", 8);
  CHECK_EQ_INT(parse_csv_zip(&f, csv, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "zip member '20240101_20240101_PRC_INTVL_LMP_RTM_20240101_00_05_00_v3.csv'") != NULL);
  CHECK(strstr(err.msg, "csv line 4, field 14 (VALUE): not a number: '2x'") != NULL);
  if (!strstr(err.msg, "csv line 4, field 14 (VALUE)"))
    fprintf(stderr, "  got: %s\n", err.msg);
  free(csv);
  au_batch_free(b);
  fx_close(&f);
}

TEST(window_filter_and_non_zip) {
  struct fx f;
  fx_open(&f, "caiso.lmp_rtm", NULL);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  struct au_err err = AU_ERR_INIT;
  struct au_buf z = AU_BUF_INIT(0);
  const char *names[1] = {"x.csv"};
  const char *datas[1] = {intvl_csv};
  size_t lens[1] = {strlen(intvl_csv)};
  CHECK_EQ_INT(au_zipw_build(&z, names, datas, lens, 1, &err), 0);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = au_time_utc(2024, 1, 1, 8, 5, 0);
  req.win_end = au_time_utc(2024, 1, 1, 9, 0, 0);
  struct au_reqlist more = {0};
  struct au_response resp = {200, z.ptr, z.len, "application/x-zip-compressed"};
  CHECK_EQ_INT(f.src->parse(&f.ctx, &req, &resp, b, &more, &err), 0);
  CHECK_EQ_INT(b->nrows, 2); /* only the 08:05 interval lies inside the window */
  au_buf_release(&z);
  static const char html[] = "<html><body><p>CAISO Acceptable Use Policy Violation.</p></body></html>";
  struct au_response r2 = {200, html, sizeof(html) - 1, "text/html"};
  au_batch_clear(b);
  CHECK_EQ_INT(f.src->parse(&f.ctx, &req, &r2, b, &more, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "not a ZIP") != NULL);
  au_batch_free(b);
  fx_close(&f);
}

TEST_LIST{T(plan_dst_days),
          T(plan_splits_nodes_and_days),
          T(plan_all_apnodes),
          T(plan_load_and_xml),
          T(base_url_seed_alias),
          T(golden_sld_fcst_all_horizons),
          T(golden_sld_fcst_7da),
          T(golden_sld_fcst_xml),
          T(malformed_xml_sample),
          T(error_zip_1000_is_nodata),
          T(error_codes),
          T(unsorted_rows_pivot),
          T(bad_value_names_member_line_field),
          T(window_filter_and_non_zip)};

AU_TEST_MAIN()

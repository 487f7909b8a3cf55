/* test_ercot.c - ERCOT: golden parsing of every real sample (MIS ZIPs, document list, API
 * archive listing, the 2-day AS disclosures incl. the DST-end day), the clock (hour-ending
 * spellings, DSTFlag, both DST days), field-name decoding, paging, the id-token flow, and
 * every table on 2024-03-10 / 2024-11-03 against the in-process simulator (API and MIS). */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "parse/csv.h"
#include "parse/zip.h"
#include "sim/sim.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

int au_ercot_interval_start(int y, int m, int d, int he, int interval, int minutes, bool repeated, au_time *out);
int au_ercot_elapsed_hour_start(int y, int m, int d, int he, au_time *out);
int au_ercot_cdr_name_time(const char *name, au_time *out);
int au_ercot_parse_mis_body(struct au_source_ctx *ctx, const char *body, size_t len, au_time publish,
                            struct au_batch *out, struct au_err *err);

static const struct au_source_ops *src;

struct fix {
  struct au_source_ctx ctx;
  struct au_opts opts;
  const struct au_table_def *t;
  struct au_batch *b;
};

static void fix_init(struct fix *f, const char *table) {
  struct au_err err = AU_ERR_INIT;
  memset(f, 0, sizeof(*f));
  char q[96];
  snprintf(q, sizeof(q), "ercot.%s", table);
  CHECK(au_table_find(q, &src, &f->t, &err) == 0);
  f->ctx.src = src;
  f->ctx.table = f->t;
  f->ctx.base_url = "http://sim/api/public-reports";
  f->ctx.opts = &f->opts;
  f->ctx.ingestion_time = au_time_utc(2024, 12, 1, 0, 0, 0);
  au_opts_set(&f->opts, "id_token", "tok");
  au_opts_set(&f->opts, "api_key", "key");
  CHECK(src->init(&f->ctx, &err) == 0);
  f->b = au_batch_new(f->t->schema, 64);
}

static void fix_free(struct fix *f) {
  src->fini(&f->ctx);
  au_opts_release(&f->opts);
  au_batch_free(f->b);
}

static const char *txt(struct au_batch *b, size_t r, int c) { return au_batch_text(b, r, c, NULL); }
static const char *ts(au_time t) {
  static char buf[4][32];
  static int k;
  char *o = buf[k++ & 3];
  au_time_fmt(t, o);
  return o;
}

/* --- real samples --------------------------------------------------------------------- */

TEST(golden_np6_345_actual_load) {
  struct fix f;
  fix_init(&f, "load_actual_weather_zone");
  size_t len;
  char *body = au_test_read_file(au_test_data("ercot/ercot_mis_NP6-345-CD_actual_load_wzn_csv.zip"), &len);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_ercot_parse_mis_body(&f.ctx, body, len, AU_TIME_NONE, f.b, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 24 * 9);
  /* 11/17/2023,01:00,10135.49,...: HE 01 CST = 06:00Z .. 07:00Z */
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LOAD_START)), "2023-11-17T06:00:00Z");
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LOAD_END)), "2023-11-17T07:00:00Z");
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_LOC_ID), "COAST");
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_LOC_TYPE), "WEATHER_ZONE");
  CHECK_NEAR(au_batch_double(f.b, 0, AU_LOAD_MW), 10135.49, 1e-9);
  CHECK_EQ_STR(txt(f.b, 2, AU_LOAD_LOC_ID), "FAR_WEST");
  CHECK_EQ_STR(txt(f.b, 4, AU_LOAD_LOC_ID), "NORTH_C");
  CHECK_EQ_STR(txt(f.b, 6, AU_LOAD_LOC_ID), "SOUTH_C");
  CHECK_EQ_STR(txt(f.b, 8, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_EQ_STR(txt(f.b, 8, AU_LOAD_LOC_TYPE), "SYSTEM");
  CHECK_NEAR(au_batch_double(f.b, 8, AU_LOAD_MW), 38647.60, 1e-9);
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_MARKET), "ACTUAL");
  /* actuals: publish = interval end; HE 24 ends at the next local midnight */
  CHECK_EQ_INT(au_batch_int(f.b, 0, AU_LOAD_PUBLISHED), au_batch_int(f.b, 0, AU_LOAD_END));
  size_t last = f.b->nrows - 1;
  CHECK_EQ_STR(ts(au_batch_int(f.b, last, AU_LOAD_START)), "2023-11-18T05:00:00Z");
  CHECK_NEAR(au_batch_double(f.b, last, AU_LOAD_MW), 40783.49, 1e-9);
  free(body);
  fix_free(&f);
}

TEST(golden_doc_list_and_np3_560_forecast) {
  /* the document list selects the _csv postings of the window ... */
  struct fix f;
  fix_init(&f, "load_forecast");
  au_opts_set(&f.opts, "mode", "mis");
  au_opts_set(&f.opts, "mis_base", "http://mis.example/");
  const struct au_tz *tz = au_tz_get("America/Chicago", NULL);
  struct au_reqlist q = {0}, more = {0};
  struct au_err err = AU_ERR_INIT;
  au_time ws = au_tz_day_start(tz, 2025, 3, 13), we = au_tz_day_start(tz, 2025, 3, 14);
  CHECK_EQ_INT(src->plan(&f.ctx, ws, we, &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK_EQ_STR(q.v[0].url, "http://mis.example/misapp/servlets/IceDocListJsonWS?reportTypeId=12311");
  size_t len;
  char *body = au_test_read_file(au_test_data("ercot/ercot_mis_IceDocListJsonWS_12311.json"), &len);
  struct au_response resp = {200, body, len, "application/json"};
  CHECK_EQ_INT(src->parse(&f.ctx, &q.v[0], &resp, f.b, &more, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 0);
  CHECK_EQ_INT(more.n, 13); /* 00:30 .. 12:30 CDT, csv only (the xml twins are skipped) */
  size_t k = more.n;
  for (size_t i = 0; i < more.n; i++)
    if (strstr(more.v[i].url, "doclookupId=1085273815"))
      k = i;
  CHECK(k < more.n);
  CHECK_EQ_STR(ts((au_time)more.v[k].cookie), "2025-03-13T17:30:00Z"); /* 12:30 CDT */
  free(body);
  /* ... and the posting's CSV (trailing spaces in the header) becomes vintage rows */
  body = au_test_read_file(au_test_data("ercot/ercot_mis_NP3-560-CD_load_forecast_by_zone_csv.zip"), &len);
  struct au_response r2 = {200, body, len, "application/zip"};
  CHECK_EQ_INT(src->parse(&f.ctx, &more.v[k], &r2, f.b, NULL, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 192 * 5);
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LOAD_START)), "2025-03-13T05:00:00Z"); /* 1:00 -> 00:00 CDT */
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_LOC_ID), "NORTH");
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_LOC_TYPE), "FORECAST_ZONE");
  CHECK_NEAR(au_batch_double(f.b, 0, AU_LOAD_MW), 13005.493749755861875, 1e-6);
  CHECK_EQ_STR(txt(f.b, 3, AU_LOAD_LOC_ID), "HOUSTON");
  CHECK_EQ_STR(txt(f.b, 4, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_NEAR(au_batch_double(f.b, 4, AU_LOAD_MW), 43797.76989746094, 1e-6);
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LOAD_PUBLISHED)), "2025-03-13T17:30:00Z");
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_MARKET), "7DA");
  CHECK_EQ_STR(ts(au_batch_int(f.b, f.b->nrows - 1, AU_LOAD_START)), "2025-03-21T04:00:00Z");
  /* the member name carries the same posting time */
  au_time t;
  CHECK_EQ_INT(au_ercot_cdr_name_time("cdr.00012311.0000000000000000.20250313.123000.LFCCONGESTNP3560.csv", &t), 0);
  CHECK_EQ_STR(ts(t), "2025-03-13T17:30:00Z");
  free(body);
  au_reqlist_release(&q);
  au_reqlist_release(&more);
  fix_free(&f);
}

TEST(golden_np3_561_weather_zone_forecast) {
  struct fix f;
  fix_init(&f, "load_forecast");
  size_t len;
  char *body = au_test_read_file(au_test_data("ercot/ercot_mis_NP3-561-CD_load_forecast_wzn_csv.zip"), &len);
  struct au_err err = AU_ERR_INIT;
  au_time pub = au_time_utc(2023, 11, 20, 5, 30, 0);
  CHECK_EQ_INT(au_ercot_parse_mis_body(&f.ctx, body, len, pub, f.b, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 192 * 9);
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_LOC_ID), "COAST");
  CHECK_EQ_STR(txt(f.b, 0, AU_LOAD_LOC_TYPE), "WEATHER_ZONE");
  CHECK_EQ_STR(txt(f.b, 2, AU_LOAD_LOC_ID), "FAR_WEST");
  CHECK_EQ_STR(txt(f.b, 4, AU_LOAD_LOC_ID), "NORTH_C");
  CHECK_EQ_STR(txt(f.b, 5, AU_LOAD_LOC_ID), "SOUTH_C");
  CHECK_EQ_STR(txt(f.b, 6, AU_LOAD_LOC_ID), "SOUTHERN");
  CHECK_NEAR(au_batch_double(f.b, 8, AU_LOAD_MW), 38374.3309, 1e-9);
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LOAD_START)), "2023-11-19T06:00:00Z");
  free(body);
  fix_free(&f);
}

/* NP4-732/737 (wind, solar) are not aurum tables: the load parser refuses them with a position. */
TEST(golden_wind_solar_rejected_with_position) {
  const char *files[] = {"ercot/ercot_mis_NP4-732-CD_wind_hourly_csv.zip",
                         "ercot/ercot_mis_NP4-737-CD_solar_hourly_csv.zip"};
  for (size_t i = 0; i < 2; i++) {
    struct fix f;
    fix_init(&f, "load_actual_weather_zone");
    size_t len;
    char *body = au_test_read_file(au_test_data(files[i]), &len);
    struct au_err err = AU_ERR_INIT;
    CHECK_EQ_INT(au_ercot_parse_mis_body(&f.ctx, body, len, AU_TIME_NONE, f.b, &err), AU_E_PARSE);
    CHECK(strstr(err.msg, "csv line 1") != NULL);
    CHECK(strstr(err.msg, "zip member 'cdr.000") != NULL);
    CHECK_EQ_INT(f.b->nrows, 0);
    free(body);
    fix_free(&f);
  }
}

/* The API archive listing is not a report: the API parser says so. */
TEST(golden_api_archive_listing_rejected) {
  struct fix f;
  fix_init(&f, "spp_da_hourly");
  size_t len;
  char *body = au_test_read_file(au_test_data("ercot/ercot_api_archive_np3-911-er_listing_20241018.json"), &len);
  struct au_response resp = {200, body, len, "application/json"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = 1;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(src->parse(&f.ctx, &req, &resp, f.b, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "\"fields\"") != NULL);
  free(body);
  fix_free(&f);
}

/* 2-day AS disclosures: Hour Ending 1..25 on the DST-end day (no flag), 1..24 otherwise. */
struct asd {
  bool want;
  int y, m, d;
  au_time hours[32];
  int nh, rows, members;
  bool header;
  struct au_csv *csv;
};

static int as_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  AU_UNUSED(err);
  struct asd *a = arg;
  if (!a->header) {
    a->header = true;
    return au_csv_header_index(row, "Hour Ending", AU_CSV_LOOSE) == 1 ? 0 : AU_E_PARSE;
  }
  int he = atoi(row->fields[1]);
  au_time t;
  sscanf(row->fields[0], "%d/%d/%d", &a->m, &a->d, &a->y);
  if (au_ercot_elapsed_hour_start(a->y, a->m, a->d, he, &t))
    return AU_E_PARSE;
  if (a->nh < 32 && (a->nh == 0 || a->hours[a->nh - 1] != t))
    a->hours[a->nh++] = t;
  a->rows++;
  return 0;
}
static int as_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  AU_UNUSED(size);
  AU_UNUSED(err);
  struct asd *a = arg;
  if (strncmp(name, "2d_Cleared_DAM_AS_", 18) != 0)
    return 1;
  a->members++;
  a->header = false;
  a->nh = 0;
  a->csv = au_csv_new(NULL, ',', as_row, a);
  return 0;
}
static int as_data(void *arg, const char *d, size_t n, struct au_err *err) {
  return au_csv_feed(((struct asd *)arg)->csv, d, n, err);
}
static int as_end(void *arg, struct au_err *err) {
  struct asd *a = arg;
  int rc = au_csv_finish(a->csv, err);
  au_csv_free(a->csv);
  a->csv = NULL;
  return rc;
}

TEST(golden_as_disclosure_dst_end) {
  const char *files[] = {"ercot/ercot_np3-911-er_2_Day_AS_Disclosure_20241105_dst_end.zip",
                         "ercot/ercot_np3-911-er_2_Day_AS_Disclosure_20241018.zip"};
  int want_hours[] = {25, 24};
  const char *first[] = {"2024-11-03T05:00:00Z", "2024-10-16T05:00:00Z"};
  const char *last[] = {"2024-11-04T05:00:00Z", "2024-10-17T04:00:00Z"};
  for (int i = 0; i < 2; i++) {
    size_t len;
    char *body = au_test_read_file(au_test_data(files[i]), &len);
    struct asd a;
    memset(&a, 0, sizeof(a));
    struct au_err err = AU_ERR_INIT;
    CHECK_EQ_INT(au_zip_each(body, len, NULL, as_member, as_data, as_end, &a, &err), 0);
    CHECK_EQ_INT(a.members, 8);
    CHECK_EQ_INT(a.nh, want_hours[i]); /* of the last member */
    CHECK_EQ_STR(ts(a.hours[0]), first[i]);
    CHECK_EQ_STR(ts(a.hours[a.nh - 1]), last[i]);
    for (int h = 1; h < a.nh; h++)
      CHECK_EQ_INT(a.hours[h] - a.hours[h - 1], AU_HOUR);
    free(body);
  }
  /* hour 25 exists only on the 25-hour day */
  au_time t;
  CHECK_EQ_INT(au_ercot_elapsed_hour_start(2024, 11, 4, 25, &t), AU_E_INVAL);
  CHECK_EQ_INT(au_ercot_elapsed_hour_start(2024, 3, 10, 24, &t), AU_E_INVAL);
}

/* --- clock ----------------------------------------------------------------------------- */

TEST(clock_dst_days) {
  au_time t;
  /* fall back 2024-11-03: HE 02 N = 01:00 CDT (06:00Z), HE 02 Y = 01:00 CST (07:00Z) */
  CHECK_EQ_INT(au_ercot_interval_start(2024, 11, 3, 1, 1, 60, false, &t), 0);
  CHECK_EQ_STR(ts(t), "2024-11-03T05:00:00Z");
  au_ercot_interval_start(2024, 11, 3, 2, 1, 60, false, &t);
  CHECK_EQ_STR(ts(t), "2024-11-03T06:00:00Z");
  au_ercot_interval_start(2024, 11, 3, 2, 1, 60, true, &t);
  CHECK_EQ_STR(ts(t), "2024-11-03T07:00:00Z");
  au_ercot_interval_start(2024, 11, 3, 3, 1, 60, false, &t);
  CHECK_EQ_STR(ts(t), "2024-11-03T08:00:00Z");
  au_ercot_interval_start(2024, 11, 3, 24, 1, 60, false, &t);
  CHECK_EQ_STR(ts(t), "2024-11-04T05:00:00Z");
  /* 15-min, repeated hour 2 interval 4 (second instance) = 07:45Z */
  au_ercot_interval_start(2024, 11, 3, 2, 4, 15, true, &t);
  CHECK_EQ_STR(ts(t), "2024-11-03T07:45:00Z");
  /* spring forward 2024-03-10: HE 02 = 01:00 CST (07:00Z); a label HE 03 (start 02:00, which
   * does not exist) is the same hour; HE 04 = 03:00 CDT (08:00Z) */
  au_ercot_interval_start(2024, 3, 10, 2, 1, 60, false, &t);
  CHECK_EQ_STR(ts(t), "2024-03-10T07:00:00Z");
  au_ercot_interval_start(2024, 3, 10, 3, 1, 60, false, &t);
  CHECK_EQ_STR(ts(t), "2024-03-10T07:00:00Z");
  au_ercot_interval_start(2024, 3, 10, 4, 1, 60, false, &t);
  CHECK_EQ_STR(ts(t), "2024-03-10T08:00:00Z");
  au_ercot_interval_start(2024, 3, 10, 3, 2, 15, false, &t);
  CHECK_EQ_STR(ts(t), "2024-03-10T07:15:00Z");
  au_ercot_interval_start(2024, 3, 10, 24, 4, 15, false, &t);
  CHECK_EQ_STR(ts(t), "2024-03-11T04:45:00Z");
}

/* --- API decoding ------------------------------------------------------------------------ */

static int parse_json(struct fix *f, const char *json, int64_t page, struct au_reqlist *more, struct au_err *err) {
  struct au_response resp = {200, json, strlen(json), "application/json"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = page;
  req.win_start = au_time_utc(2024, 11, 3, 5, 0, 0);
  req.win_end = au_time_utc(2024, 11, 4, 6, 0, 0);
  return src->parse(&f->ctx, &req, &resp, f->b, more, err);
}

TEST(api_fields_by_name_spellings_and_types) {
  struct fix f;
  fix_init(&f, "spp_da_hourly");
  /* fields in an unusual order; hour-ending spellings 01:00, 1:00, 14, 24:00; DSTFlag bool */
  const char *json =
      "{\"_meta\":{\"totalRecords\":6,\"pageSize\":6,\"totalPages\":1,\"currentPage\":1},"
      "\"fields\":[{\"name\":\"DSTFlag\"},{\"name\":\"settlementPointPrice\"},{\"name\":\"hourEnding\"},"
      "{\"name\":\"settlementPoint\"},{\"name\":\"deliveryDate\"}],"
      "\"data\":[[false,20.5,\"01:00\",\"HB_HOUSTON\",\"2024-11-03\"],"
      "[false,-3.25,\"2:00\",\"LZ_NORTH\",\"2024-11-03\"],"
      "[true,21,\"2\",\"LZ_NORTH\",\"2024-11-03\"],"
      "[false,30,\"14\",\"DC_E\",\"2024-11-03\"],"
      "[false,31.5,\"24:00\",\"ADL_RN\",\"2024-11-03\"],"
      "[false,null,\"23:00\",\"HB_WEST\",\"2024-11-03\"]]}";
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_json(&f, json, 1, NULL, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 6);
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LMP_START)), "2024-11-03T05:00:00Z");
  CHECK_EQ_STR(txt(f.b, 0, AU_LMP_LOC_TYPE), "HUB");
  CHECK_NEAR(au_batch_double(f.b, 0, AU_LMP_LMP), 20.5, 0);
  CHECK(au_batch_is_null(f.b, 0, AU_LMP_ENERGY) && au_batch_is_null(f.b, 0, AU_LMP_CONG) &&
        au_batch_is_null(f.b, 0, AU_LMP_LOSS));
  CHECK_EQ_STR(ts(au_batch_int(f.b, 1, AU_LMP_START)), "2024-11-03T06:00:00Z");
  CHECK_EQ_STR(ts(au_batch_int(f.b, 2, AU_LMP_START)), "2024-11-03T07:00:00Z");
  CHECK_EQ_STR(txt(f.b, 1, AU_LMP_LOC_TYPE), "ZONE");
  CHECK_EQ_STR(txt(f.b, 3, AU_LMP_LOC_TYPE), "DC_TIE");
  CHECK_EQ_STR(ts(au_batch_int(f.b, 3, AU_LMP_START)), "2024-11-03T19:00:00Z"); /* 13:00 CST */
  CHECK_EQ_STR(txt(f.b, 4, AU_LMP_LOC_TYPE), "NODE");
  CHECK_EQ_STR(ts(au_batch_int(f.b, 4, AU_LMP_END)), "2024-11-04T06:00:00Z");
  CHECK(au_batch_is_null(f.b, 5, AU_LMP_LMP));
  CHECK_EQ_STR(txt(f.b, 0, AU_LMP_MARKET), "DAM");
  CHECK_EQ_INT(au_batch_int(f.b, 0, AU_LMP_MINUTES), 60);
  CHECK_EQ_STR(txt(f.b, 0, AU_LMP_TZ), "America/Chicago");
  fix_free(&f);
}

TEST(api_rt_types_ew_suffix_and_errors) {
  struct fix f;
  fix_init(&f, "spp_rt_15min");
  const char *json =
      "{\"_meta\":{\"totalPages\":3,\"currentPage\":2},"
      "\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"deliveryHour\"},{\"name\":\"deliveryInterval\"},"
      "{\"name\":\"settlementPointName\"},{\"name\":\"settlementPointType\"},{\"name\":\"settlementPointPrice\"},"
      "{\"name\":\"DSTFlag\"}],"
      "\"data\":[[\"2024-11-03\",2,1,\"LZ_HOUSTON\",\"LZ\",1,\"Y\"],[\"2024-11-03\",2,1,\"LZ_HOUSTON\",\"LZEW\",2,\"Y\"],"
      "[\"2024-11-03\",2,1,\"HB_BUSAVG\",\"SH\",3,\"N\"],[\"2024-11-03\",2,1,\"DC_E\",\"LZ_DC\",4,\"N\"]]}";
  struct au_reqlist more = {0};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_json(&f, json, 2, &more, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 4);
  CHECK_EQ_STR(ts(au_batch_int(f.b, 0, AU_LMP_START)), "2024-11-03T07:00:00Z"); /* 11/02/2025,2,1,...,Y rule */
  CHECK_EQ_STR(txt(f.b, 1, AU_LMP_LOC_ID), "LZ_HOUSTON_EW");
  CHECK_EQ_STR(txt(f.b, 1, AU_LMP_LOC_NAME), "LZ_HOUSTON");
  CHECK_EQ_STR(txt(f.b, 1, AU_LMP_LOC_TYPE), "ZONE_EW");
  CHECK_EQ_STR(txt(f.b, 2, AU_LMP_LOC_TYPE), "HUB");
  CHECK_EQ_STR(txt(f.b, 3, AU_LMP_LOC_TYPE), "DC_TIE");
  CHECK_EQ_STR(ts(au_batch_int(f.b, 2, AU_LMP_START)), "2024-11-03T06:00:00Z");
  CHECK_EQ_INT(au_batch_int(f.b, 0, AU_LMP_END) - au_batch_int(f.b, 0, AU_LMP_START), 15 * AU_MINUTE);
  /* page 2 of 3: the next page is requested, with both credentials */
  CHECK_EQ_INT(more.n, 1);
  CHECK(strstr(more.v[0].url, "&page=3&") != NULL);
  CHECK(strstr(more.v[0].url, "/np6-905-cd/spp_node_zone_hub?deliveryDateFrom=2024-11-03&deliveryDateTo=2024-11-03") !=
        NULL);
  CHECK_EQ_INT(more.v[0].nheaders, 3);
  CHECK_EQ_STR(more.v[0].headers[0].value, "Bearer tok");
  CHECK_EQ_STR(more.v[0].headers[1].name, "Ocp-Apim-Subscription-Key");
  au_reqlist_release(&more);
  /* errors name the row and column */
  au_batch_clear(f.b);
  const char *bad = "{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"deliveryHour\"},{\"name\":\"deliveryInterval\"},"
                    "{\"name\":\"settlementPoint\"},{\"name\":\"settlementPointPrice\"}],"
                    "\"data\":[[\"2024-11-03\",2,1,\"X\",1],[\"2024-11-03\",2,5,\"X\",1]]}";
  CHECK_EQ_INT(parse_json(&f, bad, 1, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "data row 2 (page 1), column 3") != NULL);
  au_err_clear(&err);
  const char *bad2 = "{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"settlementPoint\"}],\"data\":[]}";
  CHECK_EQ_INT(parse_json(&f, bad2, 1, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "no hour column") != NULL);
  au_err_clear(&err);
  const char *empty = "{\"_meta\":{\"totalPages\":0,\"currentPage\":1},\"fields\":[{\"name\":\"deliveryDate\"},"
                      "{\"name\":\"deliveryHour\"},{\"name\":\"deliveryInterval\"},{\"name\":\"settlementPoint\"},"
                      "{\"name\":\"settlementPointPrice\"}],\"data\":[]}";
  CHECK_EQ_INT(parse_json(&f, empty, 1, NULL, &err), AU_E_NODATA);
  au_err_clear(&err);
  CHECK_EQ_INT(parse_json(&f, "{\"fields\": [", 1, NULL, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "column") != NULL);
  fix_free(&f);
}

/* The API body streams through yajl: rows before their field names (read in a second
 * pass), unknown values of any shape skipped, and shape errors named by row and column;
 * a failed page keeps no rows. */
TEST(api_streaming_order_and_shapes) {
  struct fix f;
  fix_init(&f, "spp_da_hourly");
  struct au_err err = AU_ERR_INIT;
  struct au_reqlist more = {0};
  /* data, then fields, then _meta (page 1 of 2); extra keys and nested values everywhere */
  const char *late =
      "{\"report\":{\"name\":\"x\",\"a\":[{\"b\":[1,[2]]}]},"
      "\"data\":[[\"2024-11-03\",\"01:00\",\"HB_\\u0048OUSTON\",20.50,false],"
      "[\"2024-11-03\",\"02:00\",\"LZ_NORTH\",1e1,null]],"
      "\"fields\":[{\"name\":\"deliveryDate\",\"dataType\":{\"t\":[\"DATE\"]}},{\"name\":\"hourEnding\"},"
      "{\"label\":\"SP\",\"name\":\"settlementPoint\"},{\"name\":\"settlementPointPrice\"},{\"name\":\"DSTFlag\"}],"
      "\"_meta\":{\"totalPages\":2,\"currentPage\":1,\"query\":{\"page\":[1]}}}";
  CHECK_EQ_INT(parse_json(&f, late, 1, &more, &err), 0);
  CHECK_EQ_INT(f.b->nrows, 2);
  CHECK_EQ_STR(txt(f.b, 0, AU_LMP_LOC_ID), "HB_HOUSTON");
  CHECK_NEAR(au_batch_double(f.b, 0, AU_LMP_LMP), 20.5, 0);
  CHECK_NEAR(au_batch_double(f.b, 1, AU_LMP_LMP), 10, 0);
  CHECK_EQ_STR(ts(au_batch_int(f.b, 1, AU_LMP_START)), "2024-11-03T06:00:00Z");
  CHECK_EQ_INT(more.n, 1);
  CHECK(strstr(more.v[0].url, "&page=2&") != NULL);
  au_reqlist_release(&more);
  /* "data": null is an empty page; a message is quoted when there are no fields */
  au_batch_clear(f.b);
  CHECK_EQ_INT(parse_json(&f, "{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},"
                              "{\"name\":\"settlementPoint\"},{\"name\":\"settlementPointPrice\"}],\"data\":null}",
                          1, NULL, &err),
               AU_E_NODATA);
  static const struct {
    const char *body, *want;
  } bad[] = {
      {"{\"statusCode\":401,\"message\":\"Access denied due to invalid subscription key.\"}",
       "response has no \"fields\" array: Access denied due to invalid subscription key."},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},\"hourEnding\"],\"data\":[]}", "fields[1] has no \"name\""},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},{\"label\":\"x\"}],\"data\":[]}", "fields[1] has no \"name\""},
      {"{\"fields\":[],\"data\":[]}", "response has 0 fields"},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},"
       "{\"name\":\"settlementPointPrice\"}],\"data\":{\"rows\":[]}}",
       "response \"data\" is not an array"},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},"
       "{\"name\":\"settlementPointPrice\"}],\"data\":[[\"2024-11-03\",\"01:00\",\"A\",1],[\"2024-11-03\",\"02:00\",\"A\"]]}",
       "data row 2 (page 1): not an array of 4 values"},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},"
       "{\"name\":\"settlementPointPrice\"}],\"data\":[[\"2024-11-03\",\"01:00\",\"A\",1,2]]}",
       "data row 1 (page 1): not an array of 4 values"},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},"
       "{\"name\":\"settlementPointPrice\"}],\"data\":[[\"2024-11-03\",\"01:00\",\"A\",1],{\"a\":1}]}",
       "data row 2 (page 1): not an array of 4 values"},
      {"{\"fields\":[{\"name\":\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},"
       "{\"name\":\"settlementPointPrice\"}],\"data\":[[\"2024-11-03\",\"01:00\",\"A\",[1]]]}",
       "data row 1 (page 1), column 4 (settlementPointPrice): unexpected JSON value"},
      {"{\"data\":[[\"2024-11-03\",\"01:00\",\"A\",1],[\"2024-11-03\",\"1:00\",\"A\"]],\"fields\":[{\"name\":"
       "\"deliveryDate\"},{\"name\":\"hourEnding\"},{\"name\":\"settlementPoint\"},{\"name\":\"settlementPointPrice\"}]}",
       "data row 2 (page 1): not an array of 4 values"},
      {"[]", "JSON top level is not an object"},
  };
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    au_batch_clear(f.b);
    au_err_clear(&err);
    CHECK_EQ_INT(parse_json(&f, bad[i].body, 1, &more, &err), AU_E_PARSE);
    if (!strstr(err.msg, bad[i].want))
      fprintf(stderr, "  case %zu: got '%s', want '%s'\n", i, err.msg, bad[i].want);
    CHECK(strstr(err.msg, bad[i].want) != NULL);
    CHECK_EQ_INT(f.b->nrows, 0);
    CHECK_EQ_INT(more.n, 0);
  }
  fix_free(&f);
}

TEST(plan_urls_and_missing_credentials) {
  struct fix f;
  fix_init(&f, "lmp_sced");
  const struct au_tz *tz = au_tz_get("America/Chicago", NULL);
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(src->plan(&f.ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 5), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2); /* max_request_days = 1 */
  CHECK_EQ_STR(q.v[0].url, "http://sim/api/public-reports/np6-788-cd/lmp_node_zone_hub?SCEDTimestampFrom=2024-11-03T00:00:00"
                           "&SCEDTimestampTo=2024-11-03T23:59:59&page=1&size=50000");
  au_reqlist_release(&q);
  fix_free(&f);
  /* no key -> configuration error naming ERCOT_API_KEY; no account -> naming the user/password */
  fix_init(&f, "spp_da_hourly");
  au_opts_set(&f.opts, "api_key", "");
  unsetenv("ERCOT_PUBLIC_API_SUBSCRIPTION_KEY");
  CHECK_EQ_INT(src->plan(&f.ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 4), &q, &err),
               AU_E_CONFIG);
  CHECK(strstr(err.msg, "ERCOT_API_KEY") != NULL);
  au_err_clear(&err);
  au_opts_set(&f.opts, "api_key", "k");
  au_opts_set(&f.opts, "id_token", "");
  CHECK_EQ_INT(src->plan(&f.ctx, au_tz_day_start(tz, 2024, 11, 3), au_tz_day_start(tz, 2024, 11, 4), &q, &err),
               AU_E_CONFIG);
  CHECK(strstr(err.msg, "ERCOT_API_USERNAME") != NULL);
  au_reqlist_release(&q);
  fix_free(&f);
}

/* --- against the simulator --------------------------------------------------------------- */

static struct au_sim *sim;
static char sim_base[128];

static void sim_up(au_time now) {
  if (sim)
    au_sim_stop(sim);
  setenv("ERCOT_SIM_RATE_PER_MIN", "0", 1);
  setenv("ERCOT_SIM_NODES", "3", 1);
  setenv("ERCOT_SIM_USERNAME", "user", 1);
  setenv("ERCOT_SIM_PASSWORD", "pw", 1);
  setenv("ERCOT_SIM_API_KEY", "key", 1);
  struct au_sim_config cfg = {.seed = 3, .now = now, .quiet = true};
  struct au_err err = AU_ERR_INIT;
  CHECK(au_sim_start(&cfg, &sim, &err) == 0);
  snprintf(sim_base, sizeof(sim_base), "http://127.0.0.1:%d/ercot", au_sim_port(sim));
}

/* Run one window like the sync pipeline: plan, fetch, parse, follow-ups. */
static int run(const char *table, bool mis, const char *pw, au_time ws, au_time we, struct au_batch **out,
               int *ntoken, struct au_err *err) {
  struct fix f;
  fix_init(&f, table);
  char api[192], tok[256], mb[192];
  snprintf(api, sizeof(api), "%s/api/public-reports", sim_base);
  snprintf(tok, sizeof(tok), "%s/b2c/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token", sim_base);
  snprintf(mb, sizeof(mb), "%s/mis", sim_base);
  f.ctx.base_url = api;
  au_opts_set(&f.opts, "id_token", "");
  au_opts_set(&f.opts, "username", "user");
  au_opts_set(&f.opts, "password", pw);
  au_opts_set(&f.opts, "token_url", tok);
  au_opts_set(&f.opts, "mis_base", mb);
  au_opts_set(&f.opts, "page_size", "500");
  if (mis)
    au_opts_set(&f.opts, "mode", "mis");
  struct au_http_policy pol = {.max_attempts = 1};
  au_http_policy_defaults(&pol);
  f.ctx.http = au_http_client_new("ercot", &pol);
  struct au_reqlist q = {0}, more = {0};
  int rc = src->plan(&f.ctx, ws, we, &q, err);
  int requests = 0;
  for (size_t i = 0; rc == 0 && i < q.n; i++) {
    struct au_request *r = &q.v[i];
    struct au_http_request hr = {.method = r->method, .url = r->url, .headers = r->headers, .nheaders = r->nheaders,
                                 .credential = r->credential, .label = r->label};
    struct au_http_response resp;
    au_http_response_init(&resp);
    rc = au_http_do(f.ctx.http, &hr, &resp, err);
    requests++;
    if (rc == 0) {
      struct au_response sr = {resp.status, resp.body.ptr ? resp.body.ptr : "", resp.body.len, resp.content_type};
      size_t before = f.b->nrows;
      rc = src->parse(&f.ctx, r, &sr, f.b, &more, err);
      if (rc == AU_E_NODATA) {
        f.b->nrows = before;
        rc = 0;
        au_err_clear(err);
      }
    }
    au_http_response_release(&resp);
    for (size_t k = 0; rc == 0 && k < more.n; k++) {
      *au_reqlist_push(&q) = more.v[k];
      memset(&more.v[k], 0, sizeof(more.v[k]));
    }
    au_reqlist_clear(&more);
  }
  AU_UNUSED(ntoken);
  au_reqlist_release(&q);
  au_reqlist_release(&more);
  au_http_client_free(f.ctx.http);
  *out = f.b;
  f.b = NULL;
  src->fini(&f.ctx);
  au_opts_release(&f.opts);
  return rc;
}

static size_t distinct_times(struct au_batch *b, int col, au_time *minv, au_time *maxv) {
  au_time *v = malloc(b->nrows * sizeof(*v) + 1);
  size_t n = 0;
  for (size_t r = 0; r < b->nrows; r++) {
    au_time t = au_batch_int(b, r, col);
    bool seen = false;
    for (size_t k = 0; k < n && !seen; k++)
      seen = v[k] == t;
    if (!seen)
      v[n++] = t;
  }
  *minv = *maxv = n ? v[0] : 0;
  for (size_t k = 0; k < n; k++) {
    if (v[k] < *minv)
      *minv = v[k];
    if (v[k] > *maxv)
      *maxv = v[k];
  }
  free(v);
  return n;
}

struct dstcase {
  const char *table;
  int minutes;
  int npoints; /* rows per interval */
};

TEST(sim_every_table_both_dst_days_api_and_mis) {
  const struct dstcase cases[] = {
      {"spp_rt_15min", 15, 24 + 3}, {"spp_da_hourly", 60, 20 + 3}, {"lmp_sced", 5, 15 + 3},
      {"load_actual_weather_zone", 60, 9},
  };
  const int days[2][3] = {{2024, 3, 10}, {2024, 11, 3}};
  const int hours[2] = {23, 25};
  const struct au_tz *tz = au_tz_get("America/Chicago", NULL);
  for (int dd = 0; dd < 2; dd++) {
    au_time ws = au_tz_day_start(tz, days[dd][0], days[dd][1], days[dd][2]);
    au_time we = ws + (au_time)hours[dd] * AU_HOUR;
    sim_up(we + 12 * AU_HOUR); /* the actual-load file of the day is posted 05:50 the next day */
    for (int mis = 0; mis < 2; mis++)
      for (size_t c = 0; c < AU_ARRAY_LEN(cases); c++) {
        struct au_batch *b = NULL;
        struct au_err err = AU_ERR_INIT;
        int rc = run(cases[c].table, mis, "pw", ws, we, &b, NULL, &err);
        if (rc)
          fprintf(stderr, "%s %s: %s\n", cases[c].table, mis ? "mis" : "api", err.msg);
        CHECK_EQ_INT(rc, 0);
        int per_hour = 60 / cases[c].minutes;
        au_time lo, hi;
        size_t n = distinct_times(b, 0, &lo, &hi);
        CHECK_EQ_INT(n, (size_t)(hours[dd] * per_hour));
        CHECK_EQ_INT(b->nrows, (size_t)(hours[dd] * per_hour * cases[c].npoints));
        CHECK_EQ_INT(lo, ws);
        CHECK_EQ_INT(hi, we - (au_time)cases[c].minutes * AU_MINUTE);
        au_batch_free(b);
      }
  }
  au_sim_stop(sim);
  sim = NULL;
}

TEST(sim_forecast_vintages_on_dst_days) {
  const struct au_tz *tz = au_tz_get("America/Chicago", NULL);
  const int days[2][3] = {{2024, 3, 10}, {2024, 11, 3}};
  const int hours[2] = {23, 25};
  for (int dd = 0; dd < 2; dd++) {
    au_time ws = au_tz_day_start(tz, days[dd][0], days[dd][1], days[dd][2]);
    au_time we = ws + (au_time)hours[dd] * AU_HOUR;
    sim_up(we + AU_HOUR);
    for (int mis = 0; mis < 2; mis++) {
      struct au_batch *b = NULL;
      struct au_err err = AU_ERR_INIT;
      int rc = run("load_forecast", mis, "pw", ws, we, &b, NULL, &err);
      if (rc)
        fprintf(stderr, "load_forecast %s: %s\n", mis ? "mis" : "api", err.msg);
      CHECK_EQ_INT(rc, 0);
      au_time lo, hi;
      /* one vintage per hour at :30, also in the repeated hour (postedDatetime is ambiguous
       * there; the MIS list marks it xhr) */
      CHECK_EQ_INT(distinct_times(b, AU_LOAD_PUBLISHED, &lo, &hi), (size_t)hours[dd]);
      CHECK_EQ_INT(lo, ws + 30 * AU_MINUTE);
      CHECK_EQ_INT(hi, we - 30 * AU_MINUTE);
      /* each vintage: 8 trade days from its posting day, 5 columns */
      CHECK_EQ_INT(b->nrows, (size_t)hours[dd] * (size_t)(hours[dd] + 7 * 24) * 5);
      au_batch_free(b);
    }
  }
  au_sim_stop(sim);
  sim = NULL;
}

TEST(sim_token_refresh_and_auth_failures) {
  const struct au_tz *tz = au_tz_get("America/Chicago", NULL);
  au_time ws = au_tz_day_start(tz, 2024, 11, 3);
  sim_up(ws + 30 * AU_HOUR);
  struct au_batch *b = NULL;
  struct au_err err = AU_ERR_INIT;
  /* wrong password: the token endpoint answers 401 -> AU_E_AUTH naming the account */
  CHECK_EQ_INT(run("spp_da_hourly", false, "wrong", ws, ws + 25 * AU_HOUR, &b, NULL, &err), AU_E_AUTH);
  CHECK(strstr(err.msg, "ERCOT_API_USERNAME") != NULL);
  au_batch_free(b);
  /* expired token: a 1 s lifetime is refetched before every use (margin = ttl / 4) */
  setenv("ERCOT_SIM_TOKEN_TTL", "1", 1);
  au_err_clear(&err);
  CHECK_EQ_INT(run("spp_da_hourly", false, "pw", ws, ws + 25 * AU_HOUR, &b, NULL, &err), 0);
  CHECK_EQ_INT(b->nrows, 25 * 23);
  au_batch_free(b);
  unsetenv("ERCOT_SIM_TOKEN_TTL");
  /* wrong subscription key: 401 -> AU_E_AUTH naming ERCOT_API_KEY */
  setenv("ERCOT_SIM_API_KEY", "other", 1);
  au_err_clear(&err);
  CHECK_EQ_INT(run("spp_da_hourly", false, "pw", ws, ws + 25 * AU_HOUR, &b, NULL, &err), AU_E_AUTH);
  CHECK(strstr(err.msg, "ERCOT_API_KEY") != NULL);
  au_batch_free(b);
  au_sim_stop(sim);
  sim = NULL;
}

TEST_LIST{
    T(golden_np6_345_actual_load),
    T(golden_doc_list_and_np3_560_forecast),
    T(golden_np3_561_weather_zone_forecast),
    T(golden_wind_solar_rejected_with_position),
    T(golden_api_archive_listing_rejected),
    T(golden_as_disclosure_dst_end),
    T(clock_dst_days),
    T(api_fields_by_name_spellings_and_types), T(api_streaming_order_and_shapes),
    T(api_rt_types_ew_suffix_and_errors),
    T(plan_urls_and_missing_credentials),
    T(sim_every_table_both_dst_days_api_and_mis),
    T(sim_forecast_vintages_on_dst_days),
    T(sim_token_refresh_and_auth_failures),
};
AU_TEST_MAIN()

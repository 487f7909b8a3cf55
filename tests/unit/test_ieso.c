/* test_ieso.c - IESO report server: planning (file names, hourly/daily/yearly), golden
 * parsing of the real HOEP yearly CSV, preamble/header detection, hours 1-24 EST on the 2024
 * DST days for every table (fixed UTC-5: 24 hours each), revisions (_vN), bad input with
 * positions, and a round trip through the simulator. */
#include "core/au.h"
#include "au_test.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "sim/sim.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

int ieso_file_version(const char *name); /* ieso.c */

static const struct au_source_ops *src;

struct env {
  struct au_source_ctx ctx;
  struct au_opts opts;
};

static void setup(struct env *e, const char *tname, const char *base) {
  memset(e, 0, sizeof(*e));
  char q[64];
  snprintf(q, sizeof(q), "ieso.%s", tname);
  struct au_err err = AU_ERR_INIT;
  const struct au_table_def *t = NULL;
  CHECK(au_table_find(q, &src, &t, &err) == 0);
  e->ctx.table = t;
  e->ctx.src = src;
  e->ctx.base_url = base;
  e->ctx.opts = &e->opts;
  e->ctx.ingestion_time = au_time_utc(2025, 11, 20, 0, 0, 0);
}

static const char *ts(au_time t) {
  static char buf[8][32];
  static int k;
  k = (k + 1) % 8;
  au_time_fmt(t, buf[k]);
  return buf[k];
}

static const char *txt(const struct au_batch *b, size_t r, int c) {
  return au_batch_is_null(b, r, c) ? "(null)" : au_batch_text(b, r, c, NULL);
}

/* Parse body as the response to the request the planner makes for [a, b) (first one). */
static int parse_as(const char *tname, au_time a, au_time b, const char *body, size_t len, struct au_batch *out,
                    struct au_err *err) {
  struct env e;
  setup(&e, tname, "http://x");
  struct au_reqlist q = {0};
  CHECK_EQ_INT(src->plan(&e.ctx, a, b, &q, err), 0);
  CHECK(q.n >= 1);
  struct au_response resp = {200, body, len, "text/csv"};
  struct au_reqlist more = {0};
  int rc = q.n ? src->parse(&e.ctx, &q.v[0], &resp, out, &more, err) : -1;
  au_reqlist_release(&more);
  au_reqlist_release(&q);
  return rc;
}

static au_time est(int y, int m, int d, int h) { return au_time_utc(y, m, d, 5 + h - 1, 0, 0); }

TEST(plan_file_names) {
  struct env e;
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  setup(&e, "lmp_da_hourly", "http://h/public");
  CHECK_EQ_INT(src->plan(&e.ctx, est(2025, 11, 2, 1), est(2025, 11, 4, 1), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://h/public/DAHourlyEnergyLMP/PUB_DAHourlyEnergyLMP_20251102.csv");
  CHECK_EQ_STR(q.v[1].url, "http://h/public/DAHourlyEnergyLMP/PUB_DAHourlyEnergyLMP_20251103.csv");
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 24 * AU_HOUR);
  CHECK_EQ_STR(ts(q.v[0].win_start), "2025-11-02T05:00:00Z");
  au_reqlist_release(&q);
  setup(&e, "lmp_rt_5min", "http://h/public");
  CHECK_EQ_INT(src->plan(&e.ctx, est(2024, 11, 3, 1), est(2024, 11, 4, 1), &q, &err), 0);
  CHECK_EQ_INT(q.n, 24); /* the fall-back day has 24 EST hours */
  CHECK_EQ_STR(q.v[0].url, "http://h/public/RealtimeEnergyLMP/PUB_RealtimeEnergyLMP_2024110301.csv");
  CHECK_EQ_STR(q.v[23].url, "http://h/public/RealtimeEnergyLMP/PUB_RealtimeEnergyLMP_2024110324.csv");
  CHECK_EQ_STR(ts(q.v[23].win_start), "2024-11-04T04:00:00Z");
  au_reqlist_release(&q);
  CHECK_EQ_INT(src->plan(&e.ctx, est(2024, 3, 10, 1), est(2024, 3, 11, 1), &q, &err), 0);
  CHECK_EQ_INT(q.n, 24); /* and so has the spring-forward day */
  au_reqlist_release(&q);
  setup(&e, "ontario_zonal_rt_5min", "http://h/public");
  CHECK_EQ_INT(src->plan(&e.ctx, est(2025, 11, 2, 3), est(2025, 11, 2, 5), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url,
               "http://h/public/RealtimeOntarioZonalPrice/PUB_RealtimeOntarioZonalPrice_2025110203.xml");
  au_reqlist_release(&q);
  setup(&e, "ontario_zonal_da_hourly", "http://h/public");
  CHECK_EQ_INT(src->plan(&e.ctx, est(2025, 11, 2, 1), est(2025, 11, 3, 1), &q, &err), 0);
  CHECK_EQ_STR(q.v[0].url,
               "http://h/public/DAHourlyOntarioZonalPrice/PUB_DAHourlyOntarioZonalPrice_20251102.xml");
  au_reqlist_release(&q);
  setup(&e, "hoep_hourly", "http://h/public");
  CHECK_EQ_INT(src->plan(&e.ctx, est(2023, 12, 30, 1), est(2024, 1, 2, 1), &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://h/public/PriceHOEPPredispOR/PUB_PriceHOEPPredispOR_2023.csv");
  CHECK_EQ_STR(q.v[1].url, "http://h/public/PriceHOEPPredispOR/PUB_PriceHOEPPredispOR_2024.csv");
  CHECK_EQ_STR(ts(q.v[0].win_start), "2023-12-30T05:00:00Z");
  CHECK_EQ_STR(ts(q.v[0].win_end), "2024-01-01T05:00:00Z");
  CHECK_EQ_STR(ts(q.v[1].win_end), "2024-01-02T05:00:00Z");
  au_reqlist_release(&q);
  setup(&e, "load_actual", "http://h/public");
  CHECK_EQ_INT(src->plan(&e.ctx, est(2024, 3, 1, 1), est(2024, 4, 1, 1), &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK_EQ_STR(q.v[0].url, "http://h/public/Demand/PUB_Demand_2024.csv");
  au_reqlist_release(&q);
}

TEST(file_versions) {
  CHECK_EQ_INT(ieso_file_version("PUB_DAHourlyEnergyLMP_20250501_v3.csv"), 3);
  CHECK_EQ_INT(ieso_file_version("http://x/public/Demand/PUB_Demand_2026_v123.csv"), 123);
  CHECK_EQ_INT(ieso_file_version("PUB_DAHourlyEnergyLMP_20250501.csv"), 1);
  CHECK_EQ_INT(ieso_file_version("PUB_DAHourlyOntarioZonalPrice.xml"), 1);
  CHECK_EQ_INT(ieso_file_version("index.html"), 0);
}

/* Golden: the real yearly HOEP file (preamble of three "\\" lines). */
TEST(golden_hoep_2023) {
  struct env e;
  setup(&e, "hoep_hourly", "http://x");
  size_t len;
  char *body = au_test_read_file(au_test_data("ieso/ieso_PUB_PriceHOEPPredispOR_2023.csv"), &len);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 1024);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_as("hoep_hourly", est(2023, 1, 1, 1), est(2024, 1, 1, 1), body, len, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 6264); /* 2023-01-01 .. 2023-09-18, 261 days x 24 */
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LMP_START)), "2023-01-01T05:00:00Z");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 14.42, 1e-12);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "HOEP");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "ONTARIO");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_UNIT), "CAD/MWh");
  CHECK(au_batch_is_null(b, 0, AU_LMP_ENERGY));
  CHECK_EQ_STR(ts(au_batch_int(b, b->nrows - 1, AU_LMP_START)), "2023-09-19T04:00:00Z");
  CHECK_NEAR(au_batch_double(b, b->nrows - 1, AU_LMP_LMP), 28.31, 1e-12);
  /* 2023-03-12 (spring forward in Toronto): 24 hours, contiguous, hour 1 at 05:00Z */
  size_t n = 0;
  au_time prev = 0;
  for (size_t i = 0; i < b->nrows; i++) {
    au_time t = au_batch_int(b, i, AU_LMP_START);
    if (t < est(2023, 3, 12, 1) || t >= est(2023, 3, 13, 1))
      continue;
    if (n)
      CHECK_EQ_INT(t - prev, AU_HOUR);
    if (n == 0)
      CHECK_NEAR(au_batch_double(b, i, AU_LMP_LMP), 22.12, 1e-12);
    if (n == 2) /* hour 3 = 07:00Z */
      CHECK_NEAR(au_batch_double(b, i, AU_LMP_LMP), 30.19, 1e-12);
    prev = t;
    n++;
  }
  CHECK_EQ_INT(n, 24);
  /* a window inside the year keeps only the window's rows */
  au_batch_clear(b);
  CHECK_EQ_INT(parse_as("hoep_hourly", est(2023, 3, 12, 1), est(2023, 3, 13, 1), body, len, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 24);
  au_batch_clear(b);
  CHECK_EQ_INT(parse_as("hoep_hourly", est(2023, 11, 1, 1), est(2023, 11, 8, 1), body, len, b, &err), AU_E_NODATA);
  free(body);
  au_batch_free(b);
}

/* Bodies of the renewed-market reports for one delivery date, built in the documented
 * layouts (iso-apis.md §9; XML element names from the published schemas). */
static void build_day(struct au_buf *b, const char *kind, int y, int m, int d) {
  au_buf_reset(b);
  int rc = 0;
  if (!strcmp(kind, "da_lmp")) {
    rc |= au_buf_printf(b, "CREATED AT %04d/%02d/%02d 12:31:00 FOR %04d/%02d/%02d\r\n", y, m, d - 1, y, m, d);
    rc |= au_buf_adds(b, "Delivery Hour,Pricing Location,LMP,Energy Loss Price,Energy Congestion Price\r\n");
    for (int h = 1; h <= 24; h++)
      rc |= au_buf_printf(b, "%d,TORONTO:HUB,%d.50,0.25,-1.00\r\n%d,NODE001.AG,%d.00,,\r\n", h, 20 + h, h, 10 + h);
  } else if (!strcmp(kind, "demand")) {
    rc |= au_buf_printf(b, "\\Hourly Demand Report,,,\n\\Created at %04d-12-31 00:00:00,,,\n\\For %04d,,,\n", y, y);
    rc |= au_buf_adds(b, "Date,Hour,Market Demand,Ontario Demand\n");
    for (int h = 1; h <= 24; h++)
      rc |= au_buf_printf(b, "%04d-%02d-%02d,%d,%d,%d\n", y, m, d, h, 17000 + h, 15000 + h);
  } else if (!strcmp(kind, "da_ozp")) {
    rc |= au_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document docID=\"DAHourlyOntarioZonalPrice\" "
                           "xmlns=\"http://www.ieso.ca/schema\">\n<DocHeader><CreatedAt>2024-01-01T12:31:16</CreatedAt>"
                           "</DocHeader>\n<DocBody>\n<DeliveryDate>%04d-%02d-%02d</DeliveryDate>\n",
                        y, m, d);
    for (int h = 1; h <= 24; h++)
      rc |= au_buf_printf(b, "<HourlyPriceComponents>\n<PricingHour>%d</PricingHour>\n<ZonalPrice>%d.76</ZonalPrice>\n"
                             "<LossPriceCapped>0.02</LossPriceCapped>\n<CongestionPriceCapped>-0.26"
                             "</CongestionPriceCapped>\n<Flag>DSO-RD</Flag>\n</HourlyPriceComponents>\n",
                          h, 10 + h);
    rc |= au_buf_adds(b, "</DocBody>\n</Document>\n");
  }
  CHECK_EQ_INT(rc, 0);
}

static void build_hour(struct au_buf *b, const char *kind, int y, int m, int d, int h) {
  au_buf_reset(b);
  int rc = 0;
  if (!strcmp(kind, "rt_lmp")) {
    rc |= au_buf_printf(b, "CREATED AT %04d/%02d/%02d 00:00:00 FOR %04d/%02d/%02d\r\n", y, m, d, y, m, d);
    rc |= au_buf_adds(b, "Delivery Hour,Interval,Pricing Location,LMP,Energy Loss Price,Energy Congestion Price\r\n");
    for (int i = 1; i <= 12; i++)
      rc |= au_buf_printf(b, "%d,%d,OTTAWA:HUB,%d.10,0.30,0.40\r\n", h, i, 30 + i);
  } else {
    rc |= au_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document docID=\"RealtimeOntarioZonalPrice\" "
                           "xmlns=\"http://www.ieso.ca/schema\">\n<DocHeader><CreatedAt>x</CreatedAt></DocHeader>\n"
                           "<DocBody>\n<DeliveryDate>%04d-%02d-%02d</DeliveryDate>\n<DeliveryHour>%d</DeliveryHour>\n",
                        y, m, d, h);
    for (int i = 1; i <= 12; i++)
      rc |= au_buf_printf(b, "<ZonalPrice>\n<Interval>%d</Interval>\n<Flag>DSO-RD</Flag>\n<LmpCap>%d.50</LmpCap>\n"
                             "<LossPriceCap>0.10</LossPriceCap>\n<CongPriceCap>1.00</CongPriceCap>\n</ZonalPrice>\n",
                          i, 40 + i);
    rc |= au_buf_adds(b, "<AveragePrice>\n<LmpCap>47.00</LmpCap>\n<LossPriceCap>0.10</LossPriceCap>\n"
                         "<CongPriceCap>1.00</CongPriceCap>\n</AveragePrice>\n</DocBody>\n</Document>\n");
  }
  CHECK_EQ_INT(rc, 0);
}

static void check_energy(const struct au_batch *b) {
  for (size_t r = 0; r < b->nrows; r++)
    if (!au_batch_is_null(b, r, AU_LMP_LOSS))
      CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
                 au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                     au_batch_double(b, r, AU_LMP_LOSS),
                 1e-9);
}

/* Every table on 2024-03-10 and 2024-11-03: 24 hours (288 intervals), hour 1 at 05:00Z. */
TEST(dst_days_24_hours_every_table) {
  static const int days[2][3] = {{2024, 3, 10}, {2024, 11, 3}};
  struct au_buf body;
  au_buf_init(&body, 0);
  for (int k = 0; k < 2; k++) {
    int y = days[k][0], m = days[k][1], d = days[k][2];
    au_time a = est(y, m, d, 1), e = est(y, m, d, 25);
    struct au_err err = AU_ERR_INIT;
    /* daily files */
    static const struct {
      const char *kind, *table;
      size_t per_hour;
    } daily[] = {{"da_lmp", "lmp_da_hourly", 2}, {"da_ozp", "ontario_zonal_da_hourly", 1},
                 {"demand", "load_actual", 2}};
    for (size_t i = 0; i < AU_ARRAY_LEN(daily); i++) {
      build_day(&body, daily[i].kind, y, m, d);
      const struct au_schema *sc = strcmp(daily[i].table, "load_actual") ? &au_lmp_schema : &au_load_schema;
      struct au_batch *b = au_batch_new(sc, 64);
      CHECK_EQ_INT(parse_as(daily[i].table, a, e, body.ptr, body.len, b, &err), 0);
      if (err.code)
        fprintf(stderr, "  %s: %s\n", daily[i].table, err.msg);
      CHECK_EQ_INT(b->nrows, 24 * daily[i].per_hour);
      CHECK_EQ_STR(ts(au_batch_int(b, 0, 0)), ts(a));
      CHECK_EQ_STR(ts(au_batch_int(b, b->nrows - 1, 0)), ts(e - AU_HOUR));
      for (size_t r = 0; r < b->nrows; r++) { /* hour h -> a + (h-1) h */
        au_time t = au_batch_int(b, r, 0);
        CHECK_EQ_INT(t, a + (au_time)(r / daily[i].per_hour) * AU_HOUR);
        CHECK_EQ_INT(au_batch_int(b, r, 1) - t, AU_HOUR);
      }
      if (sc == &au_lmp_schema)
        check_energy(b);
      au_batch_free(b);
    }
    /* hourly files: 24 of them, 12 intervals each */
    static const struct {
      const char *kind, *table;
    } hourly[] = {{"rt_lmp", "lmp_rt_5min"}, {"rt_ozp", "ontario_zonal_rt_5min"}};
    for (size_t i = 0; i < AU_ARRAY_LEN(hourly); i++) {
      struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
      struct env en;
      setup(&en, hourly[i].table, "http://x");
      struct au_reqlist q = {0};
      CHECK_EQ_INT(src->plan(&en.ctx, a, e, &q, &err), 0);
      CHECK_EQ_INT(q.n, 24);
      for (size_t r = 0; r < q.n; r++) {
        build_hour(&body, hourly[i].kind, y, m, d, (int)q.v[r].cookie2);
        struct au_response resp = {200, body.ptr, body.len, "text/csv"};
        struct au_reqlist more = {0};
        CHECK_EQ_INT(src->parse(&en.ctx, &q.v[r], &resp, b, &more, &err), 0);
      }
      au_reqlist_release(&q);
      CHECK_EQ_INT(b->nrows, 288);
      for (size_t r = 0; r < b->nrows; r++)
        CHECK_EQ_INT(au_batch_int(b, r, 0), a + (au_time)r * 5 * AU_MINUTE);
      CHECK_EQ_INT(au_batch_int(b, 287, 1), e);
      check_energy(b);
      CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT");
      CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 5);
      au_batch_free(b);
    }
    /* HOEP yearly layout for the same day */
    au_buf_reset(&body);
    CHECK_EQ_INT(au_buf_printf(&body, "\\\\Yearly HOEP OR Predispatch Report,,,,,,,,\n\\\\Created at x,,,,,,,,\n"
                                      "\\\\For %d,,,,,,,,\nDate,Hour,HOEP,Hour 1 Predispatch,Hour 2 Predispatch,"
                                      "Hour 3 Predispatch,OR 10 Min Sync,OR 10 Min non-sync,OR 30 Min\n",
                               y),
                 0);
    for (int h = 1; h <= 24; h++)
      CHECK_EQ_INT(au_buf_printf(&body, "%04d-%02d-%02d,%d,%d.00,1,2,3,0.1,0.1,0.1\n", y, m, d, h, h), 0);
    struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
    CHECK_EQ_INT(parse_as("hoep_hourly", a, e, body.ptr, body.len, b, &err), 0);
    CHECK_EQ_INT(b->nrows, 24);
    for (size_t r = 0; r < b->nrows; r++)
      CHECK_EQ_INT(au_batch_int(b, r, 0), a + (au_time)r * AU_HOUR);
    au_batch_free(b);
  }
  au_buf_release(&body);
}

TEST(values_and_columns) {
  struct au_buf body;
  au_buf_init(&body, 0);
  build_day(&body, "da_lmp", 2025, 11, 2);
  struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_as("lmp_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), body.ptr, body.len, b, &err), 0);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "TORONTO:HUB");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_TYPE), "HUB");
  CHECK_EQ_STR(txt(b, 1, AU_LMP_LOC_TYPE), "NODE");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 21.5, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 22.25, 1e-12); /* 21.50 - 0.25 - (-1.00) */
  CHECK(au_batch_is_null(b, 1, AU_LMP_LOSS)); /* blank parts are NULL, energy unknown */
  CHECK(au_batch_is_null(b, 1, AU_LMP_ENERGY));
  CHECK_EQ_STR(txt(b, 0, AU_LMP_UNIT), "CAD/MWh");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_TZ), "EST");
  au_batch_free(b);
  build_day(&body, "demand", 2024, 3, 10);
  b = au_batch_new(&au_load_schema, 64);
  CHECK_EQ_INT(parse_as("load_actual", est(2024, 3, 10, 1), est(2024, 3, 11, 1), body.ptr, body.len, b, &err), 0);
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 15001, 0);
  CHECK_EQ_STR(txt(b, 1, AU_LOAD_LOC_ID), "MARKET");
  CHECK_NEAR(au_batch_double(b, 1, AU_LOAD_MW), 17001, 0);
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LOAD_PUBLISHED), est(2024, 3, 10, 2));
  au_batch_free(b);
  /* a RealtimeOntarioZonalPrice slot not yet published (empty values) is skipped */
  const char *partial = "<Document xmlns=\"http://www.ieso.ca/schema\"><DocBody><DeliveryDate>2025-11-02</DeliveryDate>"
                        "<DeliveryHour>2</DeliveryHour><ZonalPrice><Interval>1</Interval><Flag>DSO-RD</Flag><LmpCap>"
                        "10.00</LmpCap><LossPriceCap>0.5</LossPriceCap><CongPriceCap>0</CongPriceCap></ZonalPrice>"
                        "<ZonalPrice><Interval>2</Interval><Flag></Flag><LmpCap></LmpCap><LossPriceCap></LossPriceCap>"
                        "<CongPriceCap></CongPriceCap></ZonalPrice><AveragePrice><LmpCap>10.00</LmpCap></AveragePrice>"
                        "</DocBody></Document>";
  b = au_batch_new(&au_lmp_schema, 64);
  CHECK_EQ_INT(parse_as("ontario_zonal_rt_5min", est(2025, 11, 2, 2), est(2025, 11, 2, 3), partial, strlen(partial), b,
                        &err),
               0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, 0)), "2025-11-02T06:00:00Z");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_ENERGY), 9.5, 1e-12);
  au_batch_free(b);
  au_buf_release(&body);
}

TEST(bad_input_positions) {
  struct au_err err = AU_ERR_INIT;
  struct au_batch *b = au_batch_new(&au_lmp_schema, 64);
  const char *badnum = "CREATED AT x FOR 2025/11/02\nDelivery Hour,Pricing Location,LMP,Energy Loss Price,"
                       "Energy Congestion Price\n1,A,1.0,0,0\n2,A,x1.0,0,0\n";
  CHECK_EQ_INT(parse_as("lmp_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), badnum, strlen(badnum), b, &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "csv line 4, column 3 (LMP)") != NULL);
  au_err_clear(&err);
  const char *badhour = "Delivery Hour,Pricing Location,LMP,Energy Loss Price,Energy Congestion Price\n25,A,1,0,0\n";
  CHECK_EQ_INT(parse_as("lmp_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), badhour, strlen(badhour), b, &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "csv line 2, column 1 (Delivery Hour)") != NULL);
  au_err_clear(&err);
  const char *short_row = "Delivery Hour,Pricing Location,LMP,Energy Loss Price,Energy Congestion Price\n1,A,1\n";
  CHECK_EQ_INT(parse_as("lmp_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), short_row, strlen(short_row), b,
                        &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "csv line 2") != NULL);
  au_err_clear(&err);
  const char *wrongday = "CREATED AT x FOR 2025/11/05\nDelivery Hour,Pricing Location,LMP,Energy Loss Price,"
                         "Energy Congestion Price\n1,A,1.0,0,0\n";
  CHECK_EQ_INT(parse_as("lmp_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), wrongday, strlen(wrongday), b,
                        &err),
               AU_E_PARSE);
  au_err_clear(&err);
  const char *nohdr = "a,b,c\n1,2,3\n";
  CHECK_EQ_INT(parse_as("hoep_hourly", est(2023, 1, 1, 1), est(2023, 1, 2, 1), nohdr, strlen(nohdr), b, &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "header") != NULL);
  au_err_clear(&err);
  const char *badxml = "<Document><DocBody>\n<DeliveryDate>2025-11-02</DeliveryDate>\n<HourlyPriceComponents>\n"
                       "<PricingHour>1</PricingHour><ZonalPrice>abc</ZonalPrice></HourlyPriceComponents></DocBody>"
                       "</Document>";
  CHECK_EQ_INT(parse_as("ontario_zonal_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), badxml, strlen(badxml), b,
                        &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "xml line 3, field ZonalPrice") != NULL);
  au_err_clear(&err);
  const char *cut = "<Document><DocBody>\n<DeliveryDate>2025-11-02</DeliveryDate>\n<HourlyPriceComponents>\n"
                    "<PricingHour>1</PricingHour><ZonalPrice>1</Zon";
  CHECK_EQ_INT(parse_as("ontario_zonal_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), cut, strlen(cut), b, &err),
               AU_E_PARSE);
  CHECK(strstr(err.msg, "line") != NULL);
  au_err_clear(&err);
  /* other IESO datasets (real samples) are not mistaken for these reports */
  au_batch_clear(b); /* (the pipeline drops the rows of a failed parse; this test does not) */
  size_t len;
  char *body = au_test_read_file(au_test_data("ieso/ieso_PUB_RealtimeConstTotals_2017070101.xml"), &len);
  CHECK_EQ_INT(parse_as("ontario_zonal_rt_5min", est(2017, 7, 1, 1), est(2017, 7, 1, 2), body, len, b, &err),
               AU_E_PARSE); /* docID="RealtimeConstTotals" */
  CHECK(strstr(err.msg, "RealtimeConstTotals") != NULL);
  free(body);
  au_err_clear(&err);
  body = au_test_read_file(au_test_data("ieso/ieso_PUB_GenOutputCapability_20250228.xml"), &len);
  CHECK(parse_as("ontario_zonal_da_hourly", est(2025, 2, 28, 1), est(2025, 3, 1, 1), body, len, b, &err) != 0);
  free(body);
  CHECK_EQ_INT(b->nrows, 0);
  /* 404 = not published = empty window */
  struct env e;
  setup(&e, "lmp_da_hourly", "http://x");
  struct au_request req;
  memset(&req, 0, sizeof(req));
  struct au_response r404 = {404, "nf", 2, "text/html"}, r500 = {500, "err", 3, "text/html"};
  struct au_reqlist more = {0};
  CHECK_EQ_INT(src->parse(&e.ctx, &req, &r404, b, &more, &err), AU_E_NODATA);
  CHECK_EQ_INT(src->parse(&e.ctx, &req, &r500, b, &more, &err), AU_E_HTTP);
  au_batch_free(b);
}

/* --- simulator round trip ------------------------------------------------------------ */
static struct au_sim *sim;
static char sim_base[128];

static long get(const char *path, struct au_buf *out) {
  struct au_http_policy pol = {.max_attempts = 1};
  struct au_http_client *hc = au_http_client_new("ieso", &pol);
  char url[512];
  snprintf(url, sizeof(url), "%s%s", sim_base, path);
  struct au_http_request hr = {.url = url};
  struct au_http_response resp;
  au_http_response_init(&resp);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_http_do(hc, &hr, &resp, &err), 0);
  long st = resp.status;
  au_buf_reset(out);
  if (resp.body.len)
    CHECK_EQ_INT(au_buf_add(out, resp.body.ptr, resp.body.len), 0);
  au_http_response_release(&resp);
  au_http_client_free(hc);
  return st;
}

static size_t sync_window(const char *tname, au_time a, au_time e, struct au_batch *out, size_t *empty) {
  struct env en;
  setup(&en, tname, sim_base);
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(src->plan(&en.ctx, a, e, &q, &err), 0);
  struct au_buf body;
  au_buf_init(&body, 0);
  *empty = 0;
  for (size_t i = 0; i < q.n; i++) {
    long st = get(q.v[i].url + strlen(sim_base), &body);
    struct au_response resp = {st, body.ptr ? body.ptr : "", body.len, "text/plain"};
    struct au_reqlist more = {0};
    int rc = src->parse(&en.ctx, &q.v[i], &resp, out, &more, &err);
    if (rc && rc != AU_E_NODATA)
      fprintf(stderr, "  %s: %s\n", q.v[i].url, err.msg);
    CHECK(rc == 0 || rc == AU_E_NODATA);
    *empty += rc == AU_E_NODATA;
    au_err_clear(&err);
  }
  size_t n = q.n;
  au_reqlist_release(&q);
  au_buf_release(&body);
  return n;
}

TEST(sim_round_trip) {
  au_http_global_init();
  struct au_sim_config cfg = {.seed = 5, .now = au_time_utc(2025, 11, 3, 12, 2, 0), .quiet = true,
                              .listen = "127.0.0.1:0"};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_sim_start(&cfg, &sim, &err), 0);
  snprintf(sim_base, sizeof(sim_base), "http://127.0.0.1:%d/ieso/public", au_sim_port(sim));
  size_t empty;
  /* fall-back day 2025-11-02 (renewed market): 24 hours */
  struct au_batch *b = au_batch_new(&au_lmp_schema, 1024);
  CHECK_EQ_INT(sync_window("lmp_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), b, &empty), 1);
  CHECK_EQ_INT(b->nrows, 24 * 50);
  check_energy(b);
  au_batch_clear(b);
  CHECK_EQ_INT(sync_window("lmp_rt_5min", est(2025, 11, 2, 1), est(2025, 11, 3, 1), b, &empty), 24);
  CHECK_EQ_INT(b->nrows, 288 * 50);
  au_batch_clear(b);
  CHECK_EQ_INT(sync_window("ontario_zonal_rt_5min", est(2025, 11, 2, 1), est(2025, 11, 3, 1), b, &empty), 24);
  CHECK_EQ_INT(b->nrows, 288);
  check_energy(b);
  au_batch_clear(b);
  CHECK_EQ_INT(sync_window("ontario_zonal_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 5, 1), b, &empty), 3);
  CHECK_EQ_INT(b->nrows, 48); /* 11-04 is published at 13:00 EST on 11-03, after the clock */
  CHECK_EQ_INT(empty, 1);
  au_batch_clear(b);
  /* today: RT intervals up to the clock (07:02 EST: hour 8 has interval 1... not ended) */
  CHECK_EQ_INT(sync_window("ontario_zonal_rt_5min", est(2025, 11, 3, 1), est(2025, 11, 4, 1), b, &empty), 24);
  CHECK_EQ_INT(b->nrows, 7 * 12);
  CHECK_EQ_INT(empty, 17);
  au_batch_clear(b);
  /* before the market renewal: 404 -> nothing */
  CHECK_EQ_INT(sync_window("lmp_da_hourly", est(2024, 11, 3, 1), est(2024, 11, 4, 1), b, &empty), 1);
  CHECK_EQ_INT(b->nrows, 0);
  /* HOEP on the 2024 DST days */
  CHECK_EQ_INT(sync_window("hoep_hourly", est(2024, 3, 10, 1), est(2024, 3, 11, 1), b, &empty), 1);
  CHECK_EQ_INT(b->nrows, 24);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, 0)), "2024-03-10T05:00:00Z");
  au_batch_clear(b);
  CHECK_EQ_INT(sync_window("hoep_hourly", est(2024, 11, 3, 1), est(2024, 11, 4, 1), b, &empty), 1);
  CHECK_EQ_INT(b->nrows, 24);
  CHECK_EQ_STR(ts(au_batch_int(b, 23, 0)), "2024-11-04T04:00:00Z");
  au_batch_free(b);
  b = au_batch_new(&au_load_schema, 64);
  CHECK_EQ_INT(sync_window("load_actual", est(2024, 11, 3, 1), est(2024, 11, 4, 1), b, &empty), 1);
  CHECK_EQ_INT(b->nrows, 48);
  au_batch_free(b);

  /* revisions: _v2 appears, the unversioned name serves it, _v3 is 404 */
  struct au_buf v1, v2, cur;
  au_buf_init(&v1, 0);
  au_buf_init(&v2, 0);
  au_buf_init(&cur, 0);
  const char *f = "/DAHourlyOntarioZonalPrice/PUB_DAHourlyOntarioZonalPrice_20251102";
  char p[256];
  snprintf(p, sizeof(p), "%s_v2.xml", f);
  CHECK_EQ_INT(get(p, &v2), 404);
  snprintf(p, sizeof(p), "%s_v1.xml", f);
  CHECK_EQ_INT(get(p, &v1), 200);
  char admin[256];
  snprintf(admin, sizeof(admin), "http://127.0.0.1:%d/_sim/revise?start=2025-11-02T10:00:00Z&end=2025-11-02T11:00:00Z"
                                 "&delta=3&iso=ieso",
           au_sim_port(sim));
  struct au_http_policy pol = {.max_attempts = 1};
  struct au_http_client *hc = au_http_client_new("ieso", &pol);
  struct au_http_request hr = {.method = "POST", .url = admin};
  struct au_http_response resp;
  au_http_response_init(&resp);
  CHECK_EQ_INT(au_http_do(hc, &hr, &resp, &err), 0);
  CHECK_EQ_INT(resp.status, 200);
  au_http_response_release(&resp);
  au_http_client_free(hc);
  snprintf(p, sizeof(p), "%s_v2.xml", f);
  CHECK_EQ_INT(get(p, &v2), 200);
  snprintf(p, sizeof(p), "%s.xml", f);
  CHECK_EQ_INT(get(p, &cur), 200);
  CHECK(v1.len != v2.len || memcmp(v1.ptr, v2.ptr, v1.len) != 0);
  CHECK(strstr(cur.ptr, "<PricingHour>6</PricingHour>") != NULL);
  snprintf(p, sizeof(p), "%s_v3.xml", f);
  CHECK_EQ_INT(get(p, &v1), 404);
  /* the parsed hour-6 price moved by exactly the revision */
  struct au_batch *b1 = au_batch_new(&au_lmp_schema, 64), *b2 = au_batch_new(&au_lmp_schema, 64);
  snprintf(p, sizeof(p), "%s_v1.xml", f);
  get(p, &v1);
  CHECK_EQ_INT(parse_as("ontario_zonal_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), v1.ptr, v1.len, b1, &err),
               0);
  CHECK_EQ_INT(parse_as("ontario_zonal_da_hourly", est(2025, 11, 2, 1), est(2025, 11, 3, 1), cur.ptr, cur.len, b2,
                        &err),
               0);
  CHECK_NEAR(au_batch_double(b2, 5, AU_LMP_LMP) - au_batch_double(b1, 5, AU_LMP_LMP), 3.0, 0.011);
  CHECK_NEAR(au_batch_double(b2, 4, AU_LMP_LMP) - au_batch_double(b1, 4, AU_LMP_LMP), 0.0, 1e-9);
  au_batch_free(b1);
  au_batch_free(b2);
  au_buf_release(&v1);
  au_buf_release(&v2);
  au_buf_release(&cur);
  au_sim_stop(sim);
  sim = NULL;
}

TEST_LIST{T(plan_file_names), T(file_versions), T(golden_hoep_2023), T(dst_days_24_hours_every_table),
          T(values_and_columns), T(bad_input_positions), T(sim_round_trip)};

int main(int argc, char **argv) { return au_test_main(au_tests, AU_ARRAY_LEN(au_tests), argc, argv); }

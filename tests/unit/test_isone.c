/* test_isone.c - ISO-NE web services: request planning (Basic auth, endpoints, versions),
 * golden parsing of the real recorded payloads (incl. the 2024-11-03 fall-back day), the
 * array-or-object quirk, bad input with positions, and DST days of every table against the
 * simulator (plan -> HTTP -> parse). */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "sim/sim.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

static const struct au_source_ops *src;

static const struct au_table_def *table(const char *name) {
  const struct au_table_def *t = NULL;
  struct au_err err = AU_ERR_INIT;
  char q[64];
  snprintf(q, sizeof(q), "isone.%s", name);
  CHECK(au_table_find(q, &src, &t, &err) == 0);
  return t;
}

struct env {
  struct au_source_ctx ctx;
  struct au_opts opts;
};

static void setup(struct env *e, const char *tname, const char *base) {
  memset(e, 0, sizeof(*e));
  au_opts_set(&e->opts, "username", "user");
  au_opts_set(&e->opts, "password", "pa:ss");
  e->ctx.table = table(tname);
  e->ctx.src = src;
  e->ctx.base_url = base;
  e->ctx.opts = &e->opts;
  e->ctx.ingestion_time = au_time_utc(2024, 11, 20, 0, 0, 0);
}

static int parse_body(struct env *e, const char *body, size_t len, int64_t cookie, struct au_batch *b,
                      struct au_err *err) {
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = cookie;
  struct au_response resp = {200, body, len, "application/json"};
  struct au_reqlist more = {0};
  int rc = src->parse(&e->ctx, &req, &resp, b, &more, err);
  CHECK_EQ_INT(more.n, 0);
  au_reqlist_release(&more);
  return rc;
}

static int parse_file(const char *tname, const char *rel, struct au_batch **out, struct au_err *err) {
  struct env e;
  setup(&e, tname, "http://x");
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  *out = au_batch_new(e.ctx.table->schema, 64);
  int rc = parse_body(&e, body, len, 1, *out, err);
  free(body);
  au_opts_release(&e.opts);
  return rc;
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

/* --- planning -------------------------------------------------------------------- */
TEST(plan_endpoints_and_auth) {
  struct env e;
  setup(&e, "lmp_da_hourly", "http://h/api/v1.1");
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/New_York", &err);
  au_time a = au_tz_day_start(tz, 2024, 11, 3), b = au_tz_day_start(tz, 2024, 11, 5);
  CHECK_EQ_INT(src->plan(&e.ctx, a, b, &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://h/api/v1.1/hourlylmp/da/final/day/20241103.json");
  CHECK_EQ_STR(q.v[1].url, "http://h/api/v1.1/hourlylmp/da/final/day/20241104.json");
  CHECK_EQ_STR(q.v[0].headers[0].name, "Authorization");
  CHECK_EQ_STR(q.v[0].headers[0].value, "Basic dXNlcjpwYTpzcw=="); /* base64("user:pa:ss") */
  CHECK(strstr(q.v[0].credential, "ISONE_USERNAME") && strstr(q.v[0].credential, "ISONE_PASSWORD"));
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 25 * AU_HOUR); /* the fall-back day */
  au_reqlist_release(&q);
  au_opts_release(&e.opts);

  setup(&e, "lmp_rt_hourly", "http://h");
  CHECK_EQ_INT(src->plan(&e.ctx, a, a + AU_HOUR, &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://h/hourlylmp/rt/prelim/day/20241103.json");
  CHECK_EQ_STR(q.v[1].url, "http://h/hourlylmp/rt/final/day/20241103.json");
  CHECK_EQ_INT(q.v[0].cookie, 1);
  CHECK_EQ_INT(q.v[1].cookie, 2);
  au_reqlist_release(&q);
  au_opts_set(&e.opts, "version", "final");
  au_opts_set(&e.opts, "locations", "4000, 4001");
  CHECK_EQ_INT(src->plan(&e.ctx, a, a + AU_HOUR, &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK_EQ_STR(q.v[0].url, "http://h/hourlylmp/rt/final/day/20241103/location/4000.json");
  CHECK_EQ_STR(q.v[1].url, "http://h/hourlylmp/rt/final/day/20241103/location/4001.json");
  au_reqlist_release(&q);
  au_opts_set(&e.opts, "version", "daily");
  CHECK_EQ_INT(src->plan(&e.ctx, a, a + AU_HOUR, &q, &err), AU_E_CONFIG);
  au_reqlist_release(&q);
  au_opts_release(&e.opts);

  setup(&e, "lmp_rt_5min", "http://h");
  au_err_clear(&err);
  CHECK_EQ_INT(src->plan(&e.ctx, a, a + AU_HOUR, &q, &err), 0);
  CHECK_EQ_INT(q.n, 24);
  CHECK_EQ_STR(q.v[0].url, "http://h/fiveminutelmp/prelim/day/20241103/starthour/00.json");
  CHECK_EQ_STR(q.v[23].url, "http://h/fiveminutelmp/prelim/day/20241103/starthour/23.json");
  au_reqlist_release(&q);
  au_opts_release(&e.opts);

  static const struct {
    const char *t, *url;
  } one[] = {{"load_actual", "http://h/hourlysysload/day/20241103.json"},
             {"load_forecast", "http://h/hourlyloadforecast/all/day/20241103.json"},
             {"fuel_mix", "http://h/genfuelmix/day/20241103.json"}};
  for (size_t i = 0; i < AU_ARRAY_LEN(one); i++) {
    setup(&e, one[i].t, "http://h");
    CHECK_EQ_INT(src->plan(&e.ctx, a, a + AU_HOUR, &q, &err), 0);
    CHECK_EQ_INT(q.n, 1);
    CHECK_EQ_STR(q.v[0].url, one[i].url);
    au_reqlist_release(&q);
    au_opts_release(&e.opts);
  }

  /* no credentials: a configuration error naming both variables */
  setup(&e, "load_actual", "http://h");
  au_opts_set(&e.opts, "password", "");
  au_err_clear(&err);
  CHECK_EQ_INT(src->plan(&e.ctx, a, b, &q, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "ISONE_USERNAME") && strstr(err.msg, "ISONE_PASSWORD"));
  au_reqlist_release(&q);
  au_opts_release(&e.opts);
}

/* --- golden: real payloads ------------------------------------------------------------ */
TEST(golden_hourlysysload_dst_end) {
  struct au_batch *b;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("load_actual", "isone/isone_ws_hourlysysload_day_20241103_dst_end.json", &b, &err), 0);
  CHECK_EQ_INT(b->nrows, 25);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LOAD_START)), "2024-11-03T04:00:00Z");
  CHECK_EQ_STR(ts(au_batch_int(b, 1, AU_LOAD_START)), "2024-11-03T05:00:00Z"); /* 01:00 EDT */
  CHECK_EQ_STR(ts(au_batch_int(b, 2, AU_LOAD_START)), "2024-11-03T06:00:00Z"); /* 01:00 EST */
  CHECK_EQ_STR(ts(au_batch_int(b, 24, AU_LOAD_START)), "2024-11-04T04:00:00Z");
  for (size_t i = 1; i < b->nrows; i++)
    CHECK_EQ_INT(au_batch_int(b, i, AU_LOAD_START) - au_batch_int(b, i - 1, AU_LOAD_START), AU_HOUR);
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 10376.719, 1e-9);
  CHECK_NEAR(au_batch_double(b, 24, AU_LOAD_MW), 11315.751, 1e-9);
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_ID), "TOTAL");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_LOC_TYPE), "SYSTEM");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_MARKET), "ACTUAL");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_ISO), "ISONE");
  CHECK_EQ_INT(au_batch_int(b, 2, AU_LOAD_PUBLISHED), au_batch_int(b, 2, AU_LOAD_END));
  CHECK_EQ_INT(au_batch_int(b, 2, AU_LOAD_END) - au_batch_int(b, 2, AU_LOAD_START), AU_HOUR);
  au_batch_free(b);
}

TEST(golden_loadforecast_all_vintages_dst_end) {
  struct au_batch *b;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("load_forecast", "isone/isone_ws_hourlyloadforecast_all_day_20241103_dst_end.json", &b,
                          &err),
               0);
  CHECK_EQ_INT(b->nrows, 175); /* 25 hours x 7 vintages */
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LOAD_START)), "2024-11-03T04:00:00Z");
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LOAD_PUBLISHED)), "2024-11-01T07:55:29Z");
  CHECK_NEAR(au_batch_double(b, 0, AU_LOAD_MW), 10220, 0);
  /* a vintage issued after the fall-back: CreationDate -05:00 */
  CHECK_EQ_STR(ts(au_batch_int(b, 5, AU_LOAD_PUBLISHED)), "2024-11-03T09:14:54Z");
  CHECK_EQ_STR(ts(au_batch_int(b, 174, AU_LOAD_START)), "2024-11-04T04:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LOAD_MARKET), "FORECAST");
  /* keys are unique: (start, publish) */
  int dup = 0, hours = 0;
  for (size_t i = 0; i < b->nrows; i++) {
    if (i == 0 || au_batch_int(b, i, AU_LOAD_START) != au_batch_int(b, i - 1, AU_LOAD_START))
      hours++;
    for (size_t j = i + 1; j < b->nrows; j++)
      dup += au_batch_int(b, i, AU_LOAD_START) == au_batch_int(b, j, AU_LOAD_START) &&
             au_batch_int(b, i, AU_LOAD_PUBLISHED) == au_batch_int(b, j, AU_LOAD_PUBLISHED);
  }
  CHECK_EQ_INT(dup, 0);
  CHECK_EQ_INT(hours, 25);
  au_batch_free(b);
}

TEST(golden_genfuelmix_day_dst_end) {
  struct au_batch *b;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("fuel_mix", "isone/isone_ws_genfuelmix_day_20241103_dst_end.json", &b, &err), 0);
  CHECK_EQ_INT(b->nrows, 2154);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, 0)), "2024-11-03T04:08:35Z");
  CHECK_EQ_STR(txt(b, 0, 1), "Hydro");
  CHECK_EQ_STR(txt(b, 1, 1), "Natural Gas");
  CHECK(au_batch_int(b, 1, 4) == 1); /* MarginalFlag Y */
  CHECK(au_batch_int(b, 0, 4) == 0);
  CHECK_NEAR(au_batch_double(b, 1, 3), 7129, 0);
  CHECK_EQ_STR(ts(au_batch_int(b, b->nrows - 1, 0)), "2024-11-04T04:58:37Z");
  /* the last EDT snapshot (01:51:34-04:00) precedes the first EST one (01:01:16-05:00) */
  int found = 0;
  for (size_t i = 0; i < b->nrows; i++) {
    if (!strcmp(ts(au_batch_int(b, i, 0)), "2024-11-03T05:51:34Z"))
      found |= 1;
    if (!strcmp(ts(au_batch_int(b, i, 0)), "2024-11-03T06:01:16Z"))
      found |= 2;
    if (i)
      CHECK(au_batch_int(b, i, 0) >= au_batch_int(b, i - 1, 0)); /* monotonic in UTC */
  }
  CHECK_EQ_INT(found, 3);
  au_batch_free(b);
}

TEST(golden_genfuelmix_current) {
  struct au_batch *b;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("fuel_mix", "isone/isone_ws_genfuelmix_current.json", &b, &err), 0);
  CHECK_EQ_INT(b->nrows, 10);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, 0)), "2024-11-04T20:05:14Z");
  int marg = 0;
  for (size_t i = 0; i < b->nrows; i++)
    marg += (int)au_batch_int(b, i, 4);
  CHECK_EQ_INT(marg, 2); /* Natural Gas and Wind */
  CHECK_EQ_STR(txt(b, 5, 2), "Renewables");
  CHECK_EQ_STR(txt(b, 5, 1), "Landfill Gas");
  au_batch_free(b);
}

/* Payloads of other datasets are rejected with a message naming the missing container,
 * never parsed into rows (the morning report, locations, zonal RT demand, website chart). */
TEST(other_datasets_rejected) {
  static const struct {
    const char *t, *f;
  } c[] = {{"load_actual", "isone/isone_ws_morningreport_day_20160101.json"},
           {"lmp_da_hourly", "isone/isone_ws_locations.json"},
           {"load_actual", "isone/isone_ws_realtimehourlydemand_day_20241103_location_4001.json"},
           {"load_actual", "isone/isone_wsclient_load_20250317.json"}};
  for (size_t i = 0; i < AU_ARRAY_LEN(c); i++) {
    struct au_batch *b;
    struct au_err err = AU_ERR_INIT;
    CHECK_EQ_INT(parse_file(c[i].t, c[i].f, &b, &err), AU_E_PARSE);
    CHECK(strstr(err.msg, "response has no") || strstr(err.msg, "top level"));
    CHECK_EQ_INT(b->nrows, 0);
    au_batch_free(b);
  }
}

/* The documented LMP shape (iso-apis.md §7): array, single object, empty. */
TEST(lmp_array_object_empty) {
  struct env e;
  setup(&e, "lmp_rt_hourly", "http://x");
  const char *arr =
      "{\"HourlyLmps\":{\"HourlyLmp\":[{\"BeginDate\":\"2024-01-01T08:00:00.000-05:00\","
      "\"Location\":{\"@LocId\":\"321\",\"@LocType\":\"NETWORK NODE\",\"$\":\"UN.FRNKLNSQ13.810CC\"},"
      "\"LmpTotal\":24.46,\"EnergyComponent\":24.63,\"CongestionComponent\":0,\"LossComponent\":-0.17},"
      "{\"BeginDate\":\"2024-01-01T08:00:00.000-05:00\",\"Location\":{\"@LocId\":4000,\"@LocType\":\"HUB\","
      "\"$\":\".H.INTERNAL_HUB\"},\"LmpTotal\":\"25.10\",\"EnergyComponent\":24.63,\"CongestionComponent\":0.5,"
      "\"LossComponent\":-0.03}]}}";
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_body(&e, arr, strlen(arr), 2, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 2);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LMP_START)), "2024-01-01T13:00:00Z");
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LMP_END)), "2024-01-01T14:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_ID), "321");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_NAME), "UN.FRNKLNSQ13.810CC");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_LOC_TYPE), "NETWORK NODE");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT_FINAL");
  CHECK_EQ_STR(txt(b, 1, AU_LMP_LOC_ID), "4000"); /* integer LocId accepted */
  CHECK_EQ_STR(txt(b, 0, AU_LMP_UNIT), "USD/MWh");
  for (size_t r = 0; r < 2; r++)
    CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
               au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                   au_batch_double(b, r, AU_LMP_LOSS),
               1e-9);
  CHECK(au_batch_is_null(b, 0, AU_LMP_GHG));
  au_batch_clear(b);

  const char *one = "{\"HourlyLmps\":{\"HourlyLmp\":{\"BeginDate\":\"2024-07-01T08:00:00.000-04:00\","
                    "\"Location\":{\"@LocId\":\"4001\",\"@LocType\":\"LOAD ZONE\",\"$\":\".Z.MAINE\"},"
                    "\"EnergyComponent\":30.5,\"CongestionComponent\":-1.25,\"LossComponent\":0.5}}}";
  CHECK_EQ_INT(parse_body(&e, one, strlen(one), 1, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LMP_START)), "2024-07-01T12:00:00Z");
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT_PRELIM");
  CHECK_NEAR(au_batch_double(b, 0, AU_LMP_LMP), 29.75, 1e-12); /* completed from the parts */
  au_batch_clear(b);

  static const char *const empties[] = {"{\"HourlyLmps\":\"\"}", "{\"HourlyLmps\":null}", "{\"HourlyLmps\":{}}",
                                        "{\"HourlyLmps\":{\"HourlyLmp\":[]}}"};
  for (size_t i = 0; i < AU_ARRAY_LEN(empties); i++)
    CHECK_EQ_INT(parse_body(&e, empties[i], strlen(empties[i]), 1, b, &err), AU_E_NODATA);
  au_batch_free(b);
  au_opts_release(&e.opts);

  /* /current answers without the outer container */
  setup(&e, "lmp_rt_5min", "http://x");
  const char *cur = "{\"FiveMinLmp\":[{\"BeginDate\":\"2024-03-10T03:05:00.000-04:00\",\"Location\":{\"@LocId\":"
                    "\"4000\",\"@LocType\":\"HUB\",\"$\":\".H.INTERNAL_HUB\"},\"LmpTotal\":20,\"EnergyComponent\":"
                    "19,\"CongestionComponent\":0.5,\"LossComponent\":0.5}]}";
  b = au_batch_new(&au_lmp_schema, 8);
  CHECK_EQ_INT(parse_body(&e, cur, strlen(cur), 1, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_STR(ts(au_batch_int(b, 0, AU_LMP_START)), "2024-03-10T07:05:00Z");
  CHECK_EQ_INT(au_batch_int(b, 0, AU_LMP_MINUTES), 5);
  au_batch_free(b);
  au_opts_release(&e.opts);
}

/* Location names longer than the id buffer (found by fuzz_isone: a stack overflow when the
 * name became the id) */
TEST(long_location_names) {
  struct env e;
  char name[400];
  memset(name, 'N', sizeof(name) - 1);
  name[sizeof(name) - 1] = 0;
  char body[2048];
  struct au_err err = AU_ERR_INIT;
  setup(&e, "load_actual", "http://x");
  snprintf(body, sizeof(body),
           "{\"HourlySystemLoads\":{\"HourlySystemLoad\":[{\"BeginDate\":\"2024-11-03T00:00:00.000-04:00\","
           "\"Location\":{\"$\":\"%s\",\"@LocId\":\"32\"},\"Load\":12000}]}}",
           name);
  struct au_batch *b = au_batch_new(e.ctx.table->schema, 4);
  CHECK_EQ_INT(parse_body(&e, body, strlen(body), 1, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_INT((long)strlen(txt(b, 0, AU_LOAD_LOC_ID)), 255);
  au_batch_free(b);
  au_opts_release(&e.opts);
  setup(&e, "lmp_da_hourly", "http://x");
  snprintf(body, sizeof(body),
           "{\"HourlyLmps\":{\"HourlyLmp\":{\"BeginDate\":\"2024-01-01T08:00:00.000-05:00\","
           "\"Location\":\"%s\",\"LmpTotal\":1,\"EnergyComponent\":1,\"CongestionComponent\":0,\"LossComponent\":0}}}",
           name);
  b = au_batch_new(&au_lmp_schema, 4);
  CHECK_EQ_INT(parse_body(&e, body, strlen(body), 1, b, &err), 0);
  CHECK_EQ_INT(b->nrows, 1);
  CHECK_EQ_INT((long)strlen(txt(b, 0, AU_LMP_LOC_ID)), 255);
  au_batch_free(b);
  au_opts_release(&e.opts);
}

TEST(bad_input_positions) {
  struct env e;
  setup(&e, "lmp_da_hourly", "http://x");
  struct au_batch *b = au_batch_new(&au_lmp_schema, 8);
  struct au_err err = AU_ERR_INIT;
  const char *trunc = "{\"HourlyLmps\":{\"HourlyLmp\":[{\"BeginDate\":\n\"2024-01-01T08:00";
  CHECK_EQ_INT(parse_body(&e, trunc, strlen(trunc), 2, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "line 2") != NULL);
  CHECK(strstr(err.msg, "column") != NULL);
  au_err_clear(&err);
  const char *badnum = "{\"HourlyLmps\":{\"HourlyLmp\":[{\"BeginDate\":\"2024-01-01T08:00:00.000-05:00\","
                       "\"Location\":{\"@LocId\":\"1\"},\"LmpTotal\":1},{\"BeginDate\":\"2024-01-01T09:00:00.000-05:00\","
                       "\"Location\":{\"@LocId\":\"1\"},\"LmpTotal\":\"abc\"}]}}";
  CHECK_EQ_INT(parse_body(&e, badnum, strlen(badnum), 2, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "record 2, field LmpTotal") != NULL);
  au_err_clear(&err);
  const char *nooff = "{\"HourlyLmps\":{\"HourlyLmp\":{\"BeginDate\":\"2024-01-01T08:00:00\","
                      "\"Location\":{\"@LocId\":\"1\"},\"LmpTotal\":1}}}";
  CHECK_EQ_INT(parse_body(&e, nooff, strlen(nooff), 2, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "record 1, field BeginDate") != NULL);
  au_err_clear(&err);
  const char *noloc = "{\"HourlyLmps\":{\"HourlyLmp\":[{\"BeginDate\":\"2024-01-01T08:00:00-05:00\",\"LmpTotal\":1}]}}";
  CHECK_EQ_INT(parse_body(&e, noloc, strlen(noloc), 2, b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "Location") != NULL);
  au_err_clear(&err);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  struct au_response r500 = {500, "oops", 4, "text/plain"};
  struct au_reqlist more = {0};
  CHECK_EQ_INT(src->parse(&e.ctx, &req, &r500, b, &more, &err), AU_E_HTTP);
  au_batch_free(b);
  au_opts_release(&e.opts);
}

/* --- DST days of every table against the simulator ------------------------------------- */
static struct au_sim *sim;
static char sim_base[128];

static void sim_up(void) {
  if (sim)
    return;
  au_http_global_init();
  struct au_sim_config cfg = {.seed = 3, .now = au_time_utc(2024, 11, 20, 12, 0, 0), .quiet = true,
                              .listen = "127.0.0.1:0"};
  struct au_err err = AU_ERR_INIT;
  if (au_sim_start(&cfg, &sim, &err)) {
    fprintf(stderr, "au_sim_start: %s\n", err.msg);
    abort();
  }
  snprintf(sim_base, sizeof(sim_base), "http://127.0.0.1:%d/api/v1.1", au_sim_port(sim));
}

/* plan [day, next day) -> fetch -> parse; returns the batch */
static struct au_batch *sync_day(const char *tname, const char *version, int y, int m, int d, size_t *requests) {
  sim_up();
  struct env e;
  setup(&e, tname, sim_base);
  if (version)
    au_opts_set(&e.opts, "version", version);
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/New_York", &err);
  au_time a = au_tz_day_start(tz, y, m, d), b = au_tz_day_start(tz, y, m, d + 1);
  struct au_reqlist q = {0};
  CHECK_EQ_INT(src->plan(&e.ctx, a, b, &q, &err), 0);
  struct au_http_policy pol = {.max_attempts = 1};
  struct au_http_client *hc = au_http_client_new("isone", &pol);
  struct au_batch *out = au_batch_new(e.ctx.table->schema, 1024);
  for (size_t i = 0; i < q.n; i++) {
    struct au_http_request hr = {.url = q.v[i].url, .headers = q.v[i].headers, .nheaders = q.v[i].nheaders,
                                 .credential = q.v[i].credential};
    struct au_http_response resp;
    au_http_response_init(&resp);
    CHECK_EQ_INT(au_http_do(hc, &hr, &resp, &err), 0);
    struct au_response sr = {resp.status, resp.body.ptr ? resp.body.ptr : "", resp.body.len, resp.content_type};
    struct au_reqlist more = {0};
    int rc = src->parse(&e.ctx, &q.v[i], &sr, out, &more, &err);
    if (rc != 0 && rc != AU_E_NODATA)
      fprintf(stderr, "  %s: %s\n", q.v[i].url, err.msg);
    CHECK(rc == 0 || rc == AU_E_NODATA);
    au_err_clear(&err);
    au_reqlist_release(&more);
    au_http_response_release(&resp);
  }
  *requests = q.n;
  au_reqlist_release(&q);
  au_http_client_free(hc);
  au_opts_release(&e.opts);
  return out;
}

static size_t distinct_times(const struct au_batch *b, au_time *min, au_time *max) {
  size_t n = 0;
  au_time *v = malloc((b->nrows + 1) * sizeof(*v));
  *min = INT64_MAX;
  *max = INT64_MIN;
  for (size_t i = 0; i < b->nrows; i++) {
    au_time t = au_batch_int(b, i, 0);
    if (t < *min)
      *min = t;
    if (t > *max)
      *max = t;
    bool seen = false;
    for (size_t k = 0; k < n && !seen; k++)
      seen = v[k] == t;
    if (!seen)
      v[n++] = t;
  }
  free(v);
  return n;
}

static void check_day(const char *tname, const char *version, bool spring, size_t per_interval, int minutes,
                      size_t want_requests) {
  size_t nreq = 0;
  struct au_batch *b = spring ? sync_day(tname, version, 2024, 3, 10, &nreq) : sync_day(tname, version, 2024, 11, 3, &nreq);
  size_t intervals = (size_t)((spring ? 23 : 25) * 60 / minutes);
  au_time mn, mx;
  size_t nt = distinct_times(b, &mn, &mx);
  if (b->nrows != intervals * per_interval)
    fprintf(stderr, "  %s %s %s: %zu rows\n", tname, version ? version : "", spring ? "spring" : "fall", b->nrows);
  CHECK_EQ_INT(b->nrows, intervals * per_interval);
  CHECK_EQ_INT(nt, intervals);
  CHECK_EQ_INT(nreq, want_requests);
  if (!strcmp(tname, "fuel_mix")) { /* irregular stamps: within the day */
    CHECK(mn >= (spring ? au_time_utc(2024, 3, 10, 5, 0, 0) : au_time_utc(2024, 11, 3, 4, 0, 0)));
    CHECK(mx < (spring ? au_time_utc(2024, 3, 11, 4, 0, 0) : au_time_utc(2024, 11, 4, 5, 0, 0)));
  } else {
    CHECK_EQ_STR(ts(mn), spring ? "2024-03-10T05:00:00Z" : "2024-11-03T04:00:00Z");
    au_time last = (spring ? au_time_utc(2024, 3, 11, 4, 0, 0) : au_time_utc(2024, 11, 4, 5, 0, 0)) -
                   (au_time)minutes * AU_MINUTE;
    CHECK_EQ_STR(ts(mx), ts(last));
  }
  if (b->schema == &au_lmp_schema)
    for (size_t r = 0; r < b->nrows; r++)
      CHECK_NEAR(au_batch_double(b, r, AU_LMP_LMP),
                 au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                     au_batch_double(b, r, AU_LMP_LOSS),
                 1e-9);
  au_batch_free(b);
}

#define SIM_LOCS 56
TEST(dst_days_every_table) {
  for (int s = 0; s < 2; s++) {
    bool spring = s == 0;
    check_day("lmp_da_hourly", NULL, spring, SIM_LOCS, 60, 1);
    check_day("lmp_rt_hourly", NULL, spring, 2 * SIM_LOCS, 60, 2); /* prelim + final */
    check_day("lmp_rt_5min", "prelim", spring, SIM_LOCS, 5, 24);
    check_day("lmp_rt_5min", "final", spring, SIM_LOCS, 5, 24);
    check_day("load_actual", NULL, spring, 1, 60, 1);
    check_day("load_forecast", NULL, spring, 6, 60, 1); /* six vintages */
    check_day("fuel_mix", NULL, spring, 10, 5, 1);
  }
}

TEST(sim_rt_final_differs_from_prelim_and_auth) {
  size_t n;
  struct au_batch *b = sync_day("lmp_rt_hourly", "both", 2024, 11, 4, &n);
  CHECK_EQ_INT(b->nrows, 2 * 24 * SIM_LOCS);
  size_t diff = 0;
  for (size_t i = 0; i < 24 * SIM_LOCS; i++)
    diff += au_batch_double(b, i, AU_LMP_LMP) != au_batch_double(b, i + 24 * SIM_LOCS, AU_LMP_LMP);
  CHECK(diff > 24 * SIM_LOCS / 2);
  CHECK_EQ_STR(txt(b, 0, AU_LMP_MARKET), "RT_PRELIM");
  CHECK_EQ_STR(txt(b, 24 * SIM_LOCS, AU_LMP_MARKET), "RT_FINAL");
  au_batch_free(b);
  /* the clock (2024-11-20 07:00 EST): RT prelim up to now, DA for tomorrow not before 13:30 */
  b = sync_day("lmp_rt_hourly", "prelim", 2024, 11, 20, &n);
  CHECK_EQ_INT(b->nrows, 7 * SIM_LOCS);
  au_batch_free(b);
  b = sync_day("lmp_rt_hourly", "final", 2024, 11, 19, &n);
  CHECK_EQ_INT(b->nrows, 0); /* final 48 h after the day */
  au_batch_free(b);
  b = sync_day("lmp_da_hourly", NULL, 2024, 11, 20, &n);
  CHECK_EQ_INT(b->nrows, 24 * SIM_LOCS);
  au_batch_free(b);
  b = sync_day("lmp_da_hourly", NULL, 2024, 11, 21, &n);
  CHECK_EQ_INT(b->nrows, 0);
  au_batch_free(b);
  /* no Authorization -> 401 -> AU_E_AUTH naming the credentials */
  struct au_http_policy pol = {.max_attempts = 1};
  struct au_http_client *hc = au_http_client_new("isone", &pol);
  char url[256];
  snprintf(url, sizeof(url), "%s/hourlysysload/day/20241103.json", sim_base);
  struct au_http_request hr = {.url = url, .credential = "ISONE_USERNAME/ISONE_PASSWORD"};
  struct au_http_response resp;
  au_http_response_init(&resp);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_http_do(hc, &hr, &resp, &err), AU_E_AUTH);
  CHECK(strstr(err.msg, "ISONE_USERNAME") != NULL);
  au_http_response_release(&resp);
  au_http_client_free(hc);
}

TEST_LIST{T(plan_endpoints_and_auth),
          T(golden_hourlysysload_dst_end),
          T(golden_loadforecast_all_vintages_dst_end),
          T(golden_genfuelmix_day_dst_end),
          T(golden_genfuelmix_current),
          T(other_datasets_rejected),
          T(lmp_array_object_empty),
          T(bad_input_positions),
          T(dst_days_every_table),
          T(sim_rt_final_differs_from_prelim_and_auth), T(long_location_names)};

int main(int argc, char **argv) {
  int rc = au_test_main(au_tests, AU_ARRAY_LEN(au_tests), argc, argv);
  if (sim)
    au_sim_stop(sim);
  return rc;
}

/* test_aeso.c - AESO pool price: request planning and golden parsing of the real shape. */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

static const struct au_source_ops *src;
static const struct au_table_def *tbl;

static void setup(struct au_source_ctx *ctx, struct au_opts *opts) {
  struct au_err err = AU_ERR_INIT;
  if (!src)
    CHECK(au_table_find("aeso.pool_price", &src, &tbl, &err) == 0);
  memset(opts, 0, sizeof(*opts));
  au_opts_set(opts, "api_key", "k3y");
  memset(ctx, 0, sizeof(*ctx));
  ctx->src = src;
  ctx->table = tbl;
  ctx->base_url = "http://sim";
  ctx->opts = opts;
  ctx->ingestion_time = au_time_utc(2024, 4, 19, 3, 30, 0) + 123456;
}

static int parse_file(const char *rel, struct au_batch *b, struct au_err *err) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts);
  size_t len;
  char *body = au_test_read_file(au_test_data(rel), &len);
  struct au_response resp = {200, body, len, "application/json"};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, &req, &resp, b, &more, err);
  CHECK_EQ_INT(more.n, 0);
  au_reqlist_release(&more);
  free(body);
  au_opts_release(&opts);
  return rc;
}

TEST(reference_shape) {
  struct au_batch *b = au_batch_new(tbl ? tbl->schema : NULL, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("aeso/pool_price_reference.json", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 2);
  char ts[32];
  au_time_fmt(au_batch_int(b, 0, 0), ts);
  CHECK_EQ_STR(ts, "2024-04-14T06:00:00Z");
  CHECK_NEAR(au_batch_double(b, 0, 1), 28.89, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, 2), 28.77, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, 3), 66.02, 1e-12);
  au_time_fmt(au_batch_int(b, 1, 0), ts);
  CHECK_EQ_STR(ts, "2024-04-14T07:00:00Z");
  CHECK_NEAR(au_batch_double(b, 1, 1), 32.81, 1e-12);
  char us[32];
  au_time_fmt_us(au_batch_int(b, 1, 4), us);
  CHECK_EQ_STR(us, "2024-04-19T03:30:00.123456Z");
  au_batch_free(b);
}

TEST(blanks_dashes_negative_missing) {
  struct au_batch *b = au_batch_new(tbl->schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("aeso/pool_price_edge.json", b, &err), 0);
  CHECK_EQ_INT(b->nrows, 4);
  /* negative prices are valid */
  CHECK_NEAR(au_batch_double(b, 0, 1), -12.5, 1e-12);
  CHECK_NEAR(au_batch_double(b, 0, 2), -10.0, 1e-12);
  /* 0.00 is a value, "-" is NULL */
  CHECK(!au_batch_is_null(b, 1, 1));
  CHECK_NEAR(au_batch_double(b, 1, 1), 0.0, 0);
  CHECK(au_batch_is_null(b, 1, 2));
  /* "" is NULL (future hour: forecast only) */
  CHECK(au_batch_is_null(b, 2, 1));
  CHECK(au_batch_is_null(b, 2, 3));
  CHECK_NEAR(au_batch_double(b, 2, 2), 41.37, 1e-12);
  /* missing fields are NULL */
  CHECK(au_batch_is_null(b, 3, 1));
  CHECK(au_batch_is_null(b, 3, 3));
  /* the fall-back hour: two rows with the same MPT stamp have distinct UTC keys */
  CHECK(au_batch_int(b, 1, 0) - au_batch_int(b, 0, 0) == AU_HOUR);
  au_batch_free(b);
}

TEST(bad_number_reports_row_and_field) {
  struct au_batch *b = au_batch_new(tbl->schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("aeso/pool_price_bad_number.json", b, &err), AU_E_PARSE);
  CHECK(strstr(err.msg, "row 2") != NULL);
  CHECK(strstr(err.msg, "pool_price") != NULL);
  CHECK(strstr(err.msg, "12,5") != NULL);
  au_batch_free(b);
}

TEST(truncated_json_reports_position) {
  struct au_batch *b = au_batch_new(tbl->schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("aeso/pool_price_truncated.json", b, &err), AU_E_PARSE);
  fprintf(stderr, "  message: %s\n", err.msg);
  CHECK(strstr(err.msg, "line 3") != NULL);
  CHECK(strstr(err.msg, "column") != NULL);
  au_batch_free(b);
}

TEST(empty_report_is_nodata) {
  struct au_batch *b = au_batch_new(tbl->schema, 16);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(parse_file("aeso/pool_price_empty.json", b, &err), AU_E_NODATA);
  CHECK_EQ_INT(b->nrows, 0);
  au_batch_free(b);
}

TEST(plan_uses_alberta_trade_days) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts);
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/Edmonton", &err);
  CHECK(tz != NULL);
  /* [2024-03-09, 2024-03-11) Alberta days: spans the spring-forward day */
  au_time a = au_tz_day_start(tz, 2024, 3, 9), b = au_tz_day_start(tz, 2024, 3, 11);
  CHECK_EQ_INT(src->plan(&ctx, a, b, &q, &err), 0);
  CHECK_EQ_INT(q.n, 1);
  CHECK_EQ_STR(q.v[0].url,
               "http://sim/public/poolprice-api/v1.1/price/poolPrice?startDate=2024-03-09&endDate=2024-03-10");
  CHECK_EQ_STR(q.v[0].headers[0].name, "API-KEY");
  CHECK_EQ_STR(q.v[0].headers[0].value, "k3y");
  CHECK_EQ_INT(q.v[0].win_end - q.v[0].win_start, 47 * AU_HOUR);
  au_reqlist_clear(&q);
  /* a 400-day window splits into <= 366-day requests */
  au_time c = au_tz_day_start(tz, 2023, 1, 1);
  CHECK_EQ_INT(src->plan(&ctx, c, c + 400 * AU_DAY, &q, &err), 0);
  CHECK_EQ_INT(q.n, 2);
  CHECK(strstr(q.v[0].url, "startDate=2023-01-01&endDate=2024-01-01") != NULL);
  CHECK(strstr(q.v[1].url, "startDate=2024-01-02") != NULL);
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

TEST(plan_without_key_is_config_error) {
  struct au_source_ctx ctx;
  struct au_opts opts;
  setup(&ctx, &opts);
  au_opts_set(&opts, "api_key", "");
  struct au_reqlist q = {0};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(src->plan(&ctx, 0, AU_DAY, &q, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "AESO_API_KEY") != NULL);
  au_reqlist_release(&q);
  au_opts_release(&opts);
}

TEST_LIST{
    T(plan_without_key_is_config_error), T(reference_shape), T(blanks_dashes_negative_missing),
    T(bad_number_reports_row_and_field), T(truncated_json_reports_position), T(empty_report_is_nodata),
    T(plan_uses_alberta_trade_days),
};

int main(int argc, char **argv) {
  struct au_err err = AU_ERR_INIT;
  if (au_table_find("aeso.pool_price", &src, &tbl, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  return au_test_main(au_tests, AU_ARRAY_LEN(au_tests), argc, argv);
}

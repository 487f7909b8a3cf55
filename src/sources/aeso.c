/* aeso.c - Alberta Electric System Operator: hourly pool price from the APIM gateway.
 *
 *   GET {base}/public/poolprice-api/v1.1/price/poolPrice?startDate=YYYY-MM-DD&endDate=YYYY-MM-DD
 *   header API-KEY: <key>
 *
 * startDate/endDate are Alberta trade days (America/Edmonton, prevailing time), both
 * inclusive. Rows sit under return."Pool Price Report"; every number is a JSON string;
 * "" / "-" / missing mean NULL (future hours carry only a forecast). begin_datetime_utc
 * ("YYYY-MM-DD HH:MM") is UTC and is the key; begin_datetime_mpt is ignored (ambiguous
 * in the fall-back hour). Prices are CAD/MWh and may be negative. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/source.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_BEGIN, C_PRICE, C_FORECAST, C_AVG30, C_INGEST, C_N };

static const struct au_column pool_price_cols[C_N] = {
    [C_BEGIN] = {"begin_datetime_utc", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR,
                 "start of the settlement hour, UTC"},
    [C_PRICE] = {"pool_price", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE,
                 "actual pool price, CAD/MWh (NULL until the hour settles)"},
    [C_FORECAST] = {"forecast_pool_price", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE,
                    "forecast pool price, CAD/MWh"},
    [C_AVG30] = {"rolling_30day_avg", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE,
                 "30-day rolling average pool price, CAD/MWh"},
    [C_INGEST] = {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE,
                  "when aurum fetched the row (SCD type 1 sequence)"},
};
static const struct au_schema pool_price_schema = {pool_price_cols, C_N, NULL, 0};

static const struct au_option_def aeso_opts[] = {
    {"api_key", AU_OPT_STR, NULL, "AESO_API_KEY", "AESO API key (header API-KEY)", true},
    {NULL, 0, NULL, NULL, NULL, false},
};

static const struct au_table_def aeso_tables[] = {
    {
        .name = "pool_price",
        .description = "Hourly Alberta pool price, forecast and 30-day rolling average",
        .schema = &pool_price_schema,
        .dest_table = "aeso_pool_price",
        .cursor_col = "begin_datetime_utc",
        .watermark_requires = "pool_price",
        .trade_tz = "America/Edmonton",
        .interval_minutes = 60,
        .default_batch_days = 30,
        .default_lookback_hours = 24,
        .default_history_days = 30,
        .default_rate_delay = 0.1,
        .max_request_days = 366,
    },
};

static const char *const aeso_base_env[] = {"AURUM_AESO_BASE", "AESO_BASE_URL", NULL};

static int aeso_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                     struct au_err *err) {
  const char *key = au_opts_get(ctx->opts, "api_key");
  if (!key || !*key)
    return au_err_set(err, AU_E_CONFIG,
                      "aeso: no API key: set AESO_API_KEY or sources.aeso.api_key in the config "
                      "(or api_key in the connection JSON)");
  const struct au_tz *tz = au_tz_get(ctx->table->trade_tz, err);
  if (!tz)
    return err->code;
  if (end <= start)
    return 0;
  int y, m, d, ey, em, ed;
  au_tz_local_date(tz, start, &y, &m, &d);
  au_tz_local_date(tz, end - 1, &ey, &em, &ed);
  int64_t day = au_days_from_civil(y, m, d), last = au_days_from_civil(ey, em, ed);
  int max_days = ctx->table->max_request_days > 0 ? ctx->table->max_request_days : 366;
  while (day <= last) {
    int64_t stop = day + max_days - 1 < last ? day + max_days - 1 : last;
    int sy, sm, sd, ty, tm, td;
    au_civil_from_days(day, &sy, &sm, &sd);
    au_civil_from_days(stop, &ty, &tm, &td);
    char url[1024];
    snprintf(url, sizeof(url),
             "%s/public/poolprice-api/v1.1/price/poolPrice?startDate=%04d-%02d-%02d&endDate=%04d-%02d-%02d",
             ctx->base_url, sy, sm, sd, ty, tm, td);
    struct au_request *r = au_reqlist_push(out);
    au_request_set_url(r, url);
    au_request_add_header(r, "API-KEY", key);
    au_request_add_header(r, "Cache-Control", "no-cache");
    r->credential = "AESO_API_KEY";
    r->win_start = au_tz_day_start(tz, sy, sm, sd);
    int ny, nm, nd;
    au_civil_from_days(stop + 1, &ny, &nm, &nd);
    r->win_end = au_tz_day_start(tz, ny, nm, nd);
    snprintf(r->label, sizeof(r->label), "aeso.pool_price %04d-%02d-%02d..%04d-%02d-%02d", sy, sm, sd,
             ty, tm, td);
    day = stop + 1;
  }
  return 0;
}

/* A numeric field: JSON string (AESO's encoding) or number. Blank, "-" or missing
 * mean NULL. Returns 0, or AU_E_PARSE for text that is not a number. */
static int num_field(json_t *row, const char *name, bool *isnull, double *out) {
  json_t *v = json_object_get(row, name);
  *isnull = true;
  if (!v || json_is_null(v))
    return 0;
  if (json_is_number(v)) {
    *out = json_number_value(v);
    *isnull = false;
    return 0;
  }
  if (!json_is_string(v))
    return AU_E_PARSE;
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0 || (n == 1 && s[0] == '-'))
    return 0;
  if (n > 64)
    return AU_E_PARSE;
  char tmp[65];
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char *endp;
  double d = strtod(tmp, &endp);
  if (*endp != 0 || endp == tmp || d != d || d > 1e300 || d < -1e300)
    return AU_E_PARSE;
  *out = d;
  *isnull = false;
  return 0;
}

static int aeso_parse(struct au_source_ctx *ctx, const struct au_request *req,
                      const struct au_response *resp, struct au_batch *out,
                      struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  json_error_t jerr;
  json_t *root = json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return au_err_set(err, AU_E_PARSE, "invalid JSON at line %d, column %d (byte %d): %s", jerr.line,
                      jerr.column, jerr.position, jerr.text);
  int rc = 0;
  json_t *ret = json_object_get(root, "return");
  json_t *rows = ret ? json_object_get(ret, "Pool Price Report") : NULL;
  if (!rows || !json_is_array(rows)) {
    json_t *msg = json_object_get(root, "message");
    rc = au_err_set(err, AU_E_PARSE, "response has no return.\"Pool Price Report\" array%s%s",
                    msg && json_is_string(msg) ? ": " : "",
                    msg && json_is_string(msg) ? json_string_value(msg) : "");
    goto out;
  }
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if (!json_is_object(row)) {
      rc = au_err_set(err, AU_E_PARSE, "\"Pool Price Report\" row %zu: not an object", i + 1);
      goto out;
    }
    json_t *b = json_object_get(row, "begin_datetime_utc");
    au_time t;
    if (!b || !json_is_string(b) ||
        au_time_parse_iso(json_string_value(b), json_string_length(b), &t, NULL) != 0) {
      rc = au_err_set(err, AU_E_PARSE, "\"Pool Price Report\" row %zu, field begin_datetime_utc: "
                      "missing or not a \"YYYY-MM-DD HH:MM\" time", i + 1);
      goto out;
    }
    au_batch_add_row(out);
    au_batch_set_time(out, C_BEGIN, t);
    static const struct { int col; const char *name; } nums[] = {
        {C_PRICE, "pool_price"}, {C_FORECAST, "forecast_pool_price"}, {C_AVG30, "rolling_30day_avg"}};
    for (size_t k = 0; k < AU_ARRAY_LEN(nums); k++) {
      bool isnull;
      double v = 0;
      if (num_field(row, nums[k].name, &isnull, &v) != 0) {
        json_t *raw = json_object_get(row, nums[k].name);
        rc = au_err_set(err, AU_E_PARSE, "\"Pool Price Report\" row %zu, field %s: not a number: %.40s",
                        i + 1, nums[k].name, raw && json_is_string(raw) ? json_string_value(raw) : "(non-string)");
        goto out;
      }
      if (!isnull)
        au_batch_set_double(out, nums[k].col, v);
    }
    au_batch_set_time(out, C_INGEST, ctx->ingestion_time);
  }
  if (json_array_size(rows) == 0)
    rc = AU_E_NODATA;
out:
  json_decref(root);
  AU_UNUSED(req);
  return rc;
}

const struct au_source_ops au_source_aeso = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "aeso",
    .title = "Alberta Electric System Operator (APIM gateway)",
    .default_base = "https://apimgw.aeso.ca",
    .base_env = aeso_base_env,
    .opts = aeso_opts,
    .tables = aeso_tables,
    .ntables = AU_ARRAY_LEN(aeso_tables),
    .policy = {.rate_per_min = 120, .burst = 1, .max_attempts = 6},
    .plan = aeso_plan,
    .parse = aeso_parse,
};

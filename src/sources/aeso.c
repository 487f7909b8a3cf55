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
#include "parse/json.h"
#include "sources/source.h"

#include <stdarg.h>
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

/* The body is parsed in one streaming pass (yajl callbacks): no document tree, no
 * per-row allocation. Only return."Pool Price Report"[*] objects are read; anything
 * else in the envelope is skipped. */
enum { F_NONE = -1, F_BEGIN = 0, F_PRICE, F_FORECAST, F_AVG30, F_OTHER };

struct pp_state {
  struct au_source_ctx *ctx;
  struct au_batch *out;
  struct au_err *err;
  int depth;          /* current nesting depth (maps and arrays) */
  int return_depth;   /* depth of the "return" map, or -1 */
  int report_depth;   /* depth of the report array, or -1 */
  int key_is_return;  /* last key at depth 1 was "return" */
  int key_is_report;  /* last key at the return map's depth was "Pool Price Report" */
  bool in_row;
  bool seen_report;
  bool has_begin;
  int field;          /* field of the current key in a row */
  size_t row;         /* 1-based row number in the report */
  int rc;
};

static int pp_fail(struct pp_state *st, int code, const char *fmt, ...) AU_PRINTF(3, 4);
static int pp_fail(struct pp_state *st, int code, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  st->rc = au_err_set(st->err, code, "\"Pool Price Report\" row %zu%s", st->row, msg);
  return 0; /* stop yajl */
}

static int field_of(const unsigned char *k, size_t n) {
#define IS(s) (n == sizeof(s) - 1 && memcmp(k, s, n) == 0)
  if (IS("begin_datetime_utc")) return F_BEGIN;
  if (IS("pool_price")) return F_PRICE;
  if (IS("forecast_pool_price")) return F_FORECAST;
  if (IS("rolling_30day_avg")) return F_AVG30;
#undef IS
  return F_OTHER;
}

/* A number field as AESO writes it: a JSON string ("" and "-" mean NULL) or a number. */
static int pp_number(struct pp_state *st, int f, const char *s, size_t n) {
  static const int col[] = {[F_PRICE] = C_PRICE, [F_FORECAST] = C_FORECAST, [F_AVG30] = C_AVG30};
  static const char *const name[] = {[F_PRICE] = "pool_price", [F_FORECAST] = "forecast_pool_price",
                                     [F_AVG30] = "rolling_30day_avg"};
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0 || (n == 1 && s[0] == '-'))
    return 1;
  char tmp[65];
  if (n > 64)
    return pp_fail(st, AU_E_PARSE, ", field %s: number too long", name[f]);
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char *endp;
  double d = strtod(tmp, &endp);
  if (*endp != 0 || endp == tmp || d != d || d > 1e300 || d < -1e300)
    return pp_fail(st, AU_E_PARSE, ", field %s: not a number: %.40s", name[f], tmp);
  au_batch_set_double(st->out, col[f], d);
  return 1;
}

static int pp_scalar(struct pp_state *st, const char *s, size_t n, bool is_string) {
  if (st->report_depth > 0 && st->depth == st->report_depth) {
    st->row++;
    return pp_fail(st, AU_E_PARSE, ": not an object");
  }
  if (!st->in_row || st->depth != st->report_depth + 1)
    return 1;
  int f = st->field;
  st->field = F_NONE;
  if (f == F_BEGIN) {
    au_time t;
    if (!is_string || au_time_parse_iso(s, n, &t, NULL) != 0) {
      char v[48];
      snprintf(v, sizeof(v), "%.*s", (int)(n > 40 ? 40 : n), s);
      return pp_fail(st, AU_E_PARSE, ", field begin_datetime_utc: not a \"YYYY-MM-DD HH:MM\" time: %s",
                     is_string ? v : "(not a string)");
    }
    au_batch_set_time(st->out, C_BEGIN, t);
    st->has_begin = true;
    return 1;
  }
  if (f == F_PRICE || f == F_FORECAST || f == F_AVG30)
    return pp_number(st, f, s, n);
  return 1;
}

static int pp_null(void *ctx) {
  struct pp_state *st = ctx;
  if (st->report_depth > 0 && st->depth == st->report_depth) {
    st->row++;
    return pp_fail(st, AU_E_PARSE, ": not an object");
  }
  if (st->in_row && st->depth == st->report_depth + 1)
    st->field = F_NONE;
  return 1;
}
static int pp_bool(void *ctx, int b) {
  AU_UNUSED(b);
  return pp_scalar(ctx, "", 0, false);
}
static int pp_num(void *ctx, const char *s, size_t n) { return pp_scalar(ctx, s, n, false); }
static int pp_str(void *ctx, const unsigned char *s, size_t n) { return pp_scalar(ctx, (const char *)s, n, true); }

static int pp_start_map(void *ctx) {
  struct pp_state *st = ctx;
  st->depth++;
  if (st->key_is_return && st->depth == 2)
    st->return_depth = 2;
  if (st->report_depth >= 0 && st->depth == st->report_depth + 1 && !st->in_row) {
    st->in_row = true;
    st->has_begin = false;
    st->field = F_NONE;
    st->row++;
    au_batch_add_row(st->out);
    au_batch_set_time(st->out, C_INGEST, st->ctx->ingestion_time);
  }
  st->key_is_return = 0;
  st->key_is_report = 0;
  return 1;
}

static int pp_map_key(void *ctx, const unsigned char *k, size_t n) {
  struct pp_state *st = ctx;
  if (st->depth == 1)
    st->key_is_return = n == 6 && memcmp(k, "return", 6) == 0;
  else if (st->depth == st->return_depth)
    st->key_is_report = n == 17 && memcmp(k, "Pool Price Report", 17) == 0;
  else if (st->in_row && st->depth == st->report_depth + 1)
    st->field = field_of(k, n);
  return 1;
}

static int pp_end_map(void *ctx) {
  struct pp_state *st = ctx;
  if (st->in_row && st->depth == st->report_depth + 1) {
    st->in_row = false;
    if (!st->has_begin)
      return pp_fail(st, AU_E_PARSE, ", field begin_datetime_utc: missing");
  }
  if (st->depth == st->return_depth)
    st->return_depth = -1;
  st->depth--;
  return 1;
}

static int pp_start_array(void *ctx) {
  struct pp_state *st = ctx;
  st->depth++;
  if (st->key_is_report && st->depth == st->return_depth + 1 && st->report_depth < 0) {
    st->report_depth = st->depth;
    st->seen_report = true;
  } else if (st->in_row && st->depth == st->report_depth + 2) {
    return pp_fail(st, AU_E_PARSE, ": unexpected array in a row");
  }
  st->key_is_report = 0;
  return 1;
}

static int pp_end_array(void *ctx) {
  struct pp_state *st = ctx;
  if (st->depth == st->report_depth)
    st->report_depth = -2; /* done: a second report array is ignored */
  st->depth--;
  return 1;
}

static const yajl_callbacks pp_callbacks = {
    pp_null, pp_bool, NULL, NULL, pp_num, pp_str, pp_start_map, pp_map_key, pp_end_map, pp_start_array,
    pp_end_array,
};

static int aeso_parse(struct au_source_ctx *ctx, const struct au_request *req,
                      const struct au_response *resp, struct au_batch *out,
                      struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  AU_UNUSED(req);
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  struct pp_state st = {ctx, out, err, 0, -1, -1, 0, 0, false, false, false, F_NONE, 0, 0};
  size_t first = out->nrows;
  st.rc = au_json_stream(&pp_callbacks, &st, resp->body, resp->len, &st.rc, err);
  if (st.rc == 0 && !st.seen_report)
    st.rc = au_err_set(err, AU_E_PARSE, "response has no return.\"Pool Price Report\" array");
  if (st.rc != 0) {
    out->nrows = first;
    return st.rc;
  }
  return out->nrows == first ? AU_E_NODATA : 0;
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

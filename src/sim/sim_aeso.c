/* sim_aeso.c - AESO APIM gateway (apimgw.aeso.ca/public/...): pool price and Alberta
 * internal load, in the JSON shape of iso-apis.md §1.3 (numbers as strings, UTC and
 * Mountain Prevailing Time stamps "YYYY-MM-DD HH:MM", hour-beginning intervals). */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AESO_ISO "aeso"
#define AESO_ZONE "America/Edmonton"
#define POOL_PRICE_PATH "/public/poolprice-api/v1.1/price/poolPrice"
#define AIL_PATH "/public/actualforecast-api/v1/load/albertaInternalLoad"
#define MAX_DAYS 366
#define ROLL_HOURS 720 /* 30 days */

/* "2024-04-19 03:29:58.480+0000" */
static void fmt_stamp(au_time t, char *buf, size_t n) {
  struct au_civil c;
  au_time_to_civil(t, &c);
  snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d.%03d+0000", c.year, c.month, c.day, c.hour,
           c.minute, c.second, c.usec / 1000);
}

static void aeso_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status,
                       const char *message, struct au_sim_reply *rep) {
  char ts[40];
  fmt_stamp(au_sim_now(ctx), ts, sizeof(ts));
  struct au_buf *b = &rep->body;
  au_buf_reset(b);
  rep->status = status;
  rep->content_type = "application/json";
  rep->rows = 0;
  if (au_buf_printf(b, "{\"timestamp\": \"%s\", \"message\": ", ts) ||
      au_buf_add_json_str(b, message, strlen(message)) ||
      au_buf_adds(b, ", \"details\": \"uri=") ||
      au_buf_add(b, req->path, strlen(req->path)) || au_buf_adds(b, "\"}"))
    au_buf_reset(b);
}

/* Strict YYYY-MM-DD; returns days since the epoch via *days. */
static bool parse_day(const char *s, int64_t *days, int *y, int *m, int *d) {
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return false;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return false;
  *y = atoi(s);
  *m = (s[5] - '0') * 10 + (s[6] - '0');
  *d = (s[8] - '0') * 10 + (s[9] - '0');
  if (*m < 1 || *m > 12 || *d < 1 || *d > 31)
    return false;
  *days = au_days_from_civil(*y, *m, *d);
  int ry, rm, rd;
  au_civil_from_days(*days, &ry, &rm, &rd);
  return ry == *y && rm == *m && rd == *d;
}

/* Validate the key and the date range; on failure the reply is filled and false returned.
 * On success [*t0, *t1) is the span of the Alberta trade days. */
static bool aeso_window(struct au_sim_ctx *ctx, const struct au_sim_request *req,
                        struct au_sim_reply *rep, au_time *t0, au_time *t1) {
  const struct au_sim_config *cfg = au_sim_ctx_config(ctx);
  const char *key = req->header(req, "API-KEY");
  if (!key || !*key || (cfg->aeso_api_key && strcmp(key, cfg->aeso_api_key) != 0)) {
    aeso_error(ctx, req, 401,
               key && *key ? "Access denied due to invalid API-KEY. Make sure to provide a "
                             "valid key for an active subscription."
                           : "Access denied due to missing API-KEY header. Make sure to "
                             "include the API-KEY header when making requests to an API.",
               rep);
    return false;
  }
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    aeso_error(ctx, req, 405, "Method not allowed", rep);
    return false;
  }
  const char *sv = req->arg(req, "startDate"), *ev = req->arg(req, "endDate");
  int64_t sd, ed;
  int sy, sm, sdd, ey, em, edd;
  if (!sv || !*sv) {
    aeso_error(ctx, req, 400, "startDate is required (YYYY-MM-DD)", rep);
    return false;
  }
  if (!parse_day(sv, &sd, &sy, &sm, &sdd)) {
    aeso_error(ctx, req, 400, "Invalid startDate: expected format YYYY-MM-DD", rep);
    return false;
  }
  if (ev && *ev) {
    if (!parse_day(ev, &ed, &ey, &em, &edd)) {
      aeso_error(ctx, req, 400, "Invalid endDate: expected format YYYY-MM-DD", rep);
      return false;
    }
  } else {
    ed = sd;
  }
  if (ed < sd) {
    aeso_error(ctx, req, 400, "endDate must be on or after startDate", rep);
    return false;
  }
  if (ed - sd + 1 > MAX_DAYS) {
    aeso_error(ctx, req, 400, "Date range exceeds the maximum of 366 days", rep);
    return false;
  }
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get(AESO_ZONE, &err);
  if (!tz) {
    aeso_error(ctx, req, 500, err.msg, rep);
    return false;
  }
  au_civil_from_days(ed + 1, &ey, &em, &edd);
  *t0 = au_tz_day_start(tz, sy, sm, sdd);
  *t1 = au_tz_day_start(tz, ey, em, edd);
  return true;
}

static int add_head(struct au_sim_ctx *ctx, struct au_buf *b, const char *report) {
  char ts[40];
  fmt_stamp(au_sim_now(ctx), ts, sizeof(ts));
  return au_buf_printf(b, "{\"timestamp\": \"%s\", \"responseCode\": \"200\", \"return\": {\"%s\": [",
                       ts, report);
}

static int add_times(struct au_buf *b, const struct au_tz *tz, au_time t) {
  struct au_civil u, l;
  au_time_to_civil(t, &u);
  au_tz_to_local(tz, t, &l);
  int rc = au_buf_adds(b, "{\"begin_datetime_utc\": \"");
  if (!rc)
    rc = au_sim_buf_civil_min(b, &u);
  if (!rc)
    rc = au_buf_adds(b, "\", \"begin_datetime_mpt\": \"");
  if (!rc)
    rc = au_sim_buf_civil_min(b, &l);
  return rc;
}

static int add_str_num(struct au_buf *b, const char *field, double v, bool present) {
  int rc = au_buf_adds(b, field);
  if (!rc && present)
    rc = au_sim_buf_fixed2(b, v);
  if (!rc)
    rc = au_buf_addc(b, '"');
  return rc;
}

static int pool_price(struct au_sim_ctx *ctx, const struct au_sim_request *req,
                      struct au_sim_reply *rep) {
  au_time t0, t1;
  if (!aeso_window(ctx, req, rep, &t0, &t1))
    return 0;
  const struct au_tz *tz = au_tz_get(AESO_ZONE, NULL);
  uint64_t seed = au_sim_seed(ctx);
  au_time now = au_sim_now(ctx);
  size_t n = (size_t)((t1 - t0) / AU_HOUR);

  /* Prices in cents for the 720 hours before t0 and the window: the rolling average is an
   * exact 30-day (720 h) mean of the served hourly prices ending at the hour. */
  long long *cents = au_xmalloc((n + ROLL_HOURS) * sizeof(*cents));
  for (size_t i = 0; i < n + ROLL_HOURS; i++) {
    au_time t = t0 + ((au_time)i - ROLL_HOURS) * AU_HOUR;
    cents[i] = llround(au_sim_served_price(ctx, AESO_ISO, NULL, t, AU_SIM_LMP) * 100.0);
  }
  long long sum = 0;
  for (size_t i = 1; i <= ROLL_HOURS; i++)
    sum += cents[i];

  struct au_buf *b = &rep->body;
  int rc = au_buf_grow(b, 128 + n * 200);
  if (!rc)
    rc = add_head(ctx, b, "Pool Price Report");
  for (size_t i = 0; i < n && !rc; i++) {
    au_time t = t0 + (au_time)i * AU_HOUR;
    if (i) /* window of 720 hours ending at hour i */
      sum += cents[i + ROLL_HOURS] - cents[i];
    double price = (double)cents[i + ROLL_HOURS] / 100.0;
    bool settled = t + AU_HOUR <= now;
    double sigma = 2.0 + 0.06 * fabs(price);
    double forecast = price + sigma * au_sim_gauss(seed, "aeso.forecast", t);
    if (i)
      rc = au_buf_adds(b, ", ");
    if (!rc)
      rc = add_times(b, tz, t);
    if (!rc)
      rc = add_str_num(b, "\", \"pool_price\": \"", price, settled);
    if (!rc)
      rc = add_str_num(b, ", \"forecast_pool_price\": \"", forecast, true);
    if (!rc)
      rc = add_str_num(b, ", \"rolling_30day_avg\": \"", (double)sum / ROLL_HOURS / 100.0,
                       settled);
    if (!rc)
      rc = au_buf_addc(b, '}');
  }
  if (!rc)
    rc = au_buf_adds(b, "]}}");
  free(cents);
  if (rc)
    return rc;
  rep->rows = n;
  return 0;
}

static int internal_load(struct au_sim_ctx *ctx, const struct au_sim_request *req,
                         struct au_sim_reply *rep) {
  au_time t0, t1;
  if (!aeso_window(ctx, req, rep, &t0, &t1))
    return 0;
  const struct au_tz *tz = au_tz_get(AESO_ZONE, NULL);
  uint64_t seed = au_sim_seed(ctx);
  au_time now = au_sim_now(ctx);
  size_t n = (size_t)((t1 - t0) / AU_HOUR);
  struct au_buf *b = &rep->body;
  int rc = au_buf_grow(b, 128 + n * 160);
  if (!rc)
    rc = add_head(ctx, b, "Actual Forecast Report");
  for (size_t i = 0; i < n && !rc; i++) {
    au_time t = t0 + (au_time)i * AU_HOUR;
    double mw = round(au_sim_served_load(ctx, AESO_ISO, NULL, t));
    double fc = round(mw * (1.0 + 0.015 * au_sim_gauss(seed, "aeso.ail.forecast", t)));
    bool settled = t + AU_HOUR <= now;
    if (i)
      rc = au_buf_adds(b, ", ");
    if (!rc)
      rc = add_times(b, tz, t);
    if (!rc)
      rc = settled ? au_buf_printf(b, "\", \"alberta_internal_load\": \"%.0f\"", mw)
                   : au_buf_adds(b, "\", \"alberta_internal_load\": \"\"");
    if (!rc)
      rc = au_buf_printf(b, ", \"forecast_alberta_internal_load\": \"%.0f\"}", fc);
  }
  if (!rc)
    rc = au_buf_adds(b, "]}}");
  if (rc)
    return rc;
  rep->rows = n;
  return 0;
}

static int aeso_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req,
                       struct au_sim_reply *rep) {
  if (strcmp(req->path, POOL_PRICE_PATH) == 0)
    return pool_price(ctx, req, rep);
  if (strcmp(req->path, AIL_PATH) == 0)
    return internal_load(ctx, req, rep);
  aeso_error(ctx, req, 404, "Resource not found", rep);
  return 0;
}

const struct au_sim_handler au_sim_aeso = {"aeso", "/public/poolprice-api/", aeso_handle, aeso_error};
/* AESO's other report API (the rest of /public/ is IESO's report server) */
const struct au_sim_handler au_sim_aeso_ail = {"aeso", "/public/actualforecast-api/", aeso_handle, aeso_error};

/* isone.c - ISO New England web services v1.1 (JSON, HTTP Basic auth).
 *
 *   {base}/hourlylmp/da/final/day/YYYYMMDD.json               lmp_da_hourly   (DA)
 *   {base}/hourlylmp/rt/{prelim|final}/day/YYYYMMDD.json      lmp_rt_hourly   (RT_PRELIM, RT_FINAL)
 *   {base}/fiveminutelmp/{prelim|final}/day/YYYYMMDD/starthour/HH.json
 *                                                             lmp_rt_5min     (RT_PRELIM, RT_FINAL)
 *   {base}/hourlysysload/day/YYYYMMDD.json                    load_actual     (ACTUAL)
 *   {base}/hourlyloadforecast/all/day/YYYYMMDD.json           load_forecast   (FORECAST, every vintage)
 *   {base}/genfuelmix/day/YYYYMMDD.json                       fuel_mix
 * With the option `locations` (list of LocIds) the LMP tables ask per location instead:
 *   .../day/YYYYMMDD/location/ID.json (5-min prelim: fiveminutelmp/day/..., final:
 *   fiveminutelmp/final/day/...).
 *
 * Days are Eastern prevailing days (America/New_York). Every record carries `BeginDate`,
 * ISO-8601 with its offset ("2024-11-03T01:00:00.000-05:00"): it is converted to UTC
 * directly, so the repeated fall-back hour needs no rule. Bodies are XML-style JSON:
 * {"HourlyLmps":{"HourlyLmp":[{..., "Location":{"@LocId":"321","@LocType":"NETWORK NODE",
 * "$":"UN.FRNKLNSQ13.810CC"}, "LmpTotal":..}]}}; a single record may arrive as an object
 * instead of a one-element array, and an empty result as "" / null / {} (all accepted;
 * empty = no data for the request). 401/403 are answered by the HTTP core (exit 3). */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISONE_TZ "America/New_York"
#define ISONE_CRED "ISONE_USERNAME/ISONE_PASSWORD"

enum isone_kind { K_LMP_DA, K_LMP_RT_HOURLY, K_LMP_RT_5MIN, K_LOAD_ACTUAL, K_LOAD_FORECAST, K_FUEL_MIX };

struct isone_table {
  enum isone_kind kind;
  const char *container; /* "HourlyLmps" */
  const char *element;   /* "HourlyLmp" */
};

/* --- fuel mix schema ------------------------------------------------------------ */
enum { FM_START, FM_FUEL, FM_ROLLUP, FM_MW, FM_MARGINAL, FM_TZ, FM_INGEST, FM_N };
static const struct au_column fuel_mix_cols[FM_N] = {
    [FM_START] = {"interval_start_utc", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR,
                  "BeginDate of the fuel-mix snapshot, UTC (irregular, ~1-5 min)"},
    [FM_FUEL] = {"fuel_category", AU_T_TEXT, AU_COL_KEY, "FuelCategory (Natural Gas, Nuclear, Wind, ...)"},
    [FM_ROLLUP] = {"fuel_category_rollup", AU_T_TEXT, AU_COL_NULLABLE, "FuelCategoryRollup (Renewables, ...)"},
    [FM_MW] = {"gen_mw", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "generation, MW"},
    [FM_MARGINAL] = {"marginal_flag", AU_T_BOOL, AU_COL_NULLABLE | AU_COL_VALUE,
                     "the fuel is on the margin (MarginalFlag Y/N)"},
    [FM_TZ] = {"iso_timezone", AU_T_TEXT, 0, "the operator's IANA time zone"},
    [FM_INGEST] = {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "when aurum fetched the row"},
};
static const int fuel_mix_key[] = {FM_FUEL, FM_START};
static const struct au_schema fuel_mix_schema = {fuel_mix_cols, FM_N, fuel_mix_key, 2};

/* --- options -------------------------------------------------------------------- */
static const struct au_option_def isone_opts[] = {
    {"username", AU_OPT_STR, NULL, "ISONE_USERNAME", "ISO Express web-services user (HTTP Basic)", false},
    {"password", AU_OPT_STR, NULL, "ISONE_PASSWORD", "ISO Express web-services password (HTTP Basic)", true},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def lmp_opts[] = {
    {"locations", AU_OPT_LIST, NULL, NULL,
     "LocIds to fetch one by one (.../location/ID); default: all locations in one request", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def rt_opts[] = {
    {"version", AU_OPT_STR, NULL, NULL,
     "prelim, final or both (iso_market RT_PRELIM / RT_FINAL); default both for hourly, prelim for 5-min",
     false},
    {"locations", AU_OPT_LIST, NULL, NULL,
     "LocIds to fetch one by one (.../location/ID); default: all locations", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

static const struct isone_table t_da = {K_LMP_DA, "HourlyLmps", "HourlyLmp"};
static const struct isone_table t_rth = {K_LMP_RT_HOURLY, "HourlyLmps", "HourlyLmp"};
static const struct isone_table t_rt5 = {K_LMP_RT_5MIN, "FiveMinLmps", "FiveMinLmp"};
static const struct isone_table t_load = {K_LOAD_ACTUAL, "HourlySystemLoads", "HourlySystemLoad"};
static const struct isone_table t_fcst = {K_LOAD_FORECAST, "HourlyLoadForecasts", "HourlyLoadForecast"};
static const struct isone_table t_fuel = {K_FUEL_MIX, "GenFuelMixes", "GenFuelMix"};

static const struct au_table_def isone_tables[] = {
    {.name = "lmp_da_hourly", .description = "Day-ahead hourly LMP (final) of every location, with components",
     .schema = &au_lmp_schema, .dest_table = "isone_lmp_da_hourly", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = ISONE_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 48, .default_history_days = 30, .default_rate_delay = 0.2,
     .max_request_days = 1, .opts = lmp_opts, .priv = &t_da},
    {.name = "lmp_rt_hourly", .description = "Real-time hourly LMP, preliminary and final (iso_market RT_PRELIM / RT_FINAL)",
     .schema = &au_lmp_schema, .dest_table = "isone_lmp_rt_hourly", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = ISONE_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 72, .default_history_days = 30, .default_rate_delay = 0.2,
     .max_request_days = 1, .opts = rt_opts, .priv = &t_rth},
    {.name = "lmp_rt_5min", .description = "Real-time five-minute LMP (prelim by default; final with version)",
     .schema = &au_lmp_schema, .dest_table = "isone_lmp_rt_5min", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = ISONE_TZ, .interval_minutes = 5, .default_batch_days = 1,
     .default_lookback_hours = 6, .default_history_days = 3, .default_rate_delay = 0.2,
     .max_request_days = 1, .opts = rt_opts, .priv = &t_rt5},
    {.name = "load_actual", .description = "Hourly system load (NEPOOL area), canonical load row",
     .schema = &au_load_schema, .dest_table = "isone_load_actual", .cursor_col = "interval_start_utc",
     .watermark_requires = "load_mw", .trade_tz = ISONE_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 48, .default_history_days = 30, .default_rate_delay = 0.2,
     .max_request_days = 1, .priv = &t_load},
    {.name = "load_forecast", .description = "Hourly system load forecast, every issued vintage (publish_time_utc = CreationDate)",
     .schema = &au_load_schema, .dest_table = "isone_load_forecast", .cursor_col = "interval_start_utc",
     .watermark_requires = "load_mw", .trade_tz = ISONE_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 48, .default_history_days = 14, .default_rate_delay = 0.2,
     .max_request_days = 1, .priv = &t_fcst},
    {.name = "fuel_mix", .description = "Generation by fuel category with the marginal flag (irregular snapshots)",
     .schema = &fuel_mix_schema, .dest_table = "isone_fuel_mix", .cursor_col = "interval_start_utc",
     .watermark_requires = "gen_mw", .trade_tz = ISONE_TZ, .interval_minutes = 5, .default_batch_days = 1,
     .default_lookback_hours = 6, .default_history_days = 3, .default_rate_delay = 0.2,
     .max_request_days = 1, .priv = &t_fuel},
};

static const char *const isone_base_env[] = {"AURUM_ISONE_BASE", "ISONE_BASE_URL", NULL};

/* --- plan ----------------------------------------------------------------------- */
static void b64(const char *in, size_t n, char *out) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)(unsigned char)in[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)(unsigned char)in[i + 1] << 8;
    if (i + 2 < n)
      v |= (unsigned char)in[i + 2];
    out[o++] = tab[(v >> 18) & 63];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? tab[v & 63] : '=';
  }
  out[o] = 0;
}

/* Which RT versions to fetch: bit 0 prelim, bit 1 final. */
static int versions(const struct au_source_ctx *ctx, struct au_err *err) {
  const struct isone_table *it = ctx->table->priv;
  const char *v = au_opts_get(ctx->opts, "version");
  if (it->kind == K_LMP_DA)
    return 2;
  if (!v || !*v)
    return it->kind == K_LMP_RT_HOURLY ? 3 : 1;
  if (!strcmp(v, "prelim"))
    return 1;
  if (!strcmp(v, "final"))
    return 2;
  if (!strcmp(v, "both"))
    return 3;
  return au_err_set(err, AU_E_CONFIG, "isone.%s: option version must be prelim, final or both, not '%s'",
                    ctx->table->name, v);
}

static void add_req(struct au_source_ctx *ctx, struct au_reqlist *out, const char *auth, const char *path,
                    au_time ws, au_time we, int64_t ver) {
  char url[1024];
  snprintf(url, sizeof(url), "%s/%s.json", ctx->base_url, path);
  struct au_request *r = au_reqlist_push(out);
  au_request_set_url(r, url);
  au_request_add_header(r, "Authorization", auth);
  au_request_add_header(r, "Accept", "application/json");
  r->credential = ISONE_CRED;
  r->win_start = ws;
  r->win_end = we;
  r->cookie = ver; /* 1 prelim, 2 final */
  snprintf(r->label, sizeof(r->label), "isone.%.24s %.120s", ctx->table->name, path);
}

static int isone_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                      struct au_err *err) {
  const struct isone_table *it = ctx->table->priv;
  const char *user = au_opts_get(ctx->opts, "username"), *pass = au_opts_get(ctx->opts, "password");
  if (!user || !*user || !pass || !*pass)
    return au_err_set(err, AU_E_CONFIG,
                      "isone: no web-services credentials: set ISONE_USERNAME and ISONE_PASSWORD "
                      "(or sources.isone.username / password in the config)");
  if (strlen(user) + strlen(pass) > 400)
    return au_err_set(err, AU_E_CONFIG, "isone: username/password too long");
  int vers = versions(ctx, err);
  if (vers < 0)
    return vers;
  char up[512], auth[700];
  int n = snprintf(up, sizeof(up), "%s:%s", user, pass);
  memcpy(auth, "Basic ", 6);
  b64(up, (size_t)n, auth + 6);
  const struct au_tz *tz = au_tz_get(ISONE_TZ, err);
  if (!tz)
    return err->code;
  if (end <= start)
    return 0;
  const char *locs = au_opts_get(ctx->opts, "locations");
  int y, m, d, ey, em, ed;
  au_tz_local_date(tz, start, &y, &m, &d);
  au_tz_local_date(tz, end - 1, &ey, &em, &ed);
  int64_t last = au_days_from_civil(ey, em, ed);
  for (int64_t day = au_days_from_civil(y, m, d); day <= last; day++) {
    au_civil_from_days(day, &y, &m, &d);
    int ny, nm, nd;
    au_civil_from_days(day + 1, &ny, &nm, &nd);
    au_time ws = au_tz_day_start(tz, y, m, d), we = au_tz_day_start(tz, ny, nm, nd);
    char ymd[16], path[512];
    snprintf(ymd, sizeof(ymd), "%04d%02d%02d", y, m, d);
    switch (it->kind) {
    case K_LOAD_ACTUAL:
      snprintf(path, sizeof(path), "hourlysysload/day/%s", ymd);
      add_req(ctx, out, auth, path, ws, we, 0);
      continue;
    case K_LOAD_FORECAST:
      snprintf(path, sizeof(path), "hourlyloadforecast/all/day/%s", ymd);
      add_req(ctx, out, auth, path, ws, we, 0);
      continue;
    case K_FUEL_MIX:
      snprintf(path, sizeof(path), "genfuelmix/day/%s", ymd);
      add_req(ctx, out, auth, path, ws, we, 0);
      continue;
    default:
      break;
    }
    for (int v = 1; v <= 2; v++) {
      if (!(vers & v))
        continue;
      const char *vn = v == 1 ? "prelim" : "final";
      if (locs && *locs) {
        const char *p = locs;
        while (*p) {
          size_t k = strcspn(p, ",");
          char id[64];
          size_t idn = 0;
          for (size_t q = 0; q < k && idn + 1 < sizeof(id); q++)
            if (p[q] != ' ')
              id[idn++] = p[q];
          id[idn] = 0;
          if (idn) {
            for (size_t q = 0; q < idn; q++)
              if (!((id[q] >= '0' && id[q] <= '9') || (id[q] >= 'A' && id[q] <= 'Z') ||
                    (id[q] >= 'a' && id[q] <= 'z') || id[q] == '_' || id[q] == '.' || id[q] == '-'))
                return au_err_set(err, AU_E_CONFIG, "isone: bad location id '%s'", id);
            if (it->kind == K_LMP_RT_5MIN)
              snprintf(path, sizeof(path), "fiveminutelmp/%sday/%s/location/%s", v == 2 ? "final/" : "", ymd, id);
            else
              snprintf(path, sizeof(path), "hourlylmp/%s/%s/day/%s/location/%s",
                       it->kind == K_LMP_DA ? "da" : "rt", vn, ymd, id);
            add_req(ctx, out, auth, path, ws, we, v);
          }
          p += k;
          if (*p == ',')
            p++;
        }
      } else if (it->kind == K_LMP_RT_5MIN) {
        /* hourly chunks by local start hour: on the fall-back day starthour/01 holds both
         * 01:00 hours, on the spring-forward day starthour/02 is empty */
        for (int h = 0; h < 24; h++) {
          snprintf(path, sizeof(path), "fiveminutelmp/%s/day/%s/starthour/%02d", vn, ymd, h);
          add_req(ctx, out, auth, path, ws, we, v);
        }
      } else {
        snprintf(path, sizeof(path), "hourlylmp/%s/%s/day/%s", it->kind == K_LMP_DA ? "da" : "rt", vn, ymd);
        add_req(ctx, out, auth, path, ws, we, v);
      }
    }
  }
  return 0;
}

/* --- parse ---------------------------------------------------------------------- */

/* A number (JSON number or numeric string). Missing/null/"" = NULL. 0 or AU_E_PARSE. */
static int jnum(json_t *o, const char *name, bool *isnull, double *out) {
  json_t *v = json_object_get(o, name);
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
  if (n == 0)
    return 0;
  if (n > 64)
    return AU_E_PARSE;
  char tmp[65];
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char *endp;
  double d = strtod(tmp, &endp);
  if (*endp || endp == tmp || d != d || d > 1e300 || d < -1e300)
    return AU_E_PARSE;
  *out = d;
  *isnull = false;
  return 0;
}

/* Text of a string or integer member into buf; returns length or -1. */
static int jtext(json_t *o, const char *name, char *buf, size_t bufsz) {
  json_t *v = o ? json_object_get(o, name) : NULL;
  if (!v)
    return -1;
  if (json_is_string(v)) {
    size_t n = json_string_length(v);
    if (n >= bufsz)
      n = bufsz - 1;
    memcpy(buf, json_string_value(v), n);
    buf[n] = 0;
    return (int)n;
  }
  if (json_is_integer(v))
    return snprintf(buf, bufsz, "%lld", (long long)json_integer_value(v));
  return -1;
}

/* Find the records: root.container.element (or root.element, as /current answers). Sets
 * *arr to an array, *one to a single object, or both NULL for an empty result. */
static int find_records(json_t *root, const struct isone_table *it, json_t **arr, json_t **one,
                        struct au_err *err) {
  *arr = *one = NULL;
  if (!json_is_object(root))
    return au_err_set(err, AU_E_PARSE, "JSON top level is not an object");
  json_t *c = json_object_get(root, it->container);
  json_t *e = NULL;
  if (c) {
    if (json_is_null(c) || (json_is_string(c) && json_string_length(c) == 0))
      return 0;
    if (!json_is_object(c))
      return au_err_set(err, AU_E_PARSE, "\"%s\" is neither an object nor empty", it->container);
    e = json_object_get(c, it->element);
  } else {
    e = json_object_get(root, it->element);
    if (!e) {
      const char *k = NULL;
      json_t *v;
      json_object_foreach(root, k, v) break;
      return au_err_set(err, AU_E_PARSE, "response has no \"%s\" (first key: %.60s)", it->container,
                        k ? k : "(none)");
    }
  }
  if (!e || json_is_null(e) || (json_is_string(e) && json_string_length(e) == 0))
    return 0;
  if (json_is_array(e))
    *arr = e;
  else if (json_is_object(e))
    *one = e;
  else
    return au_err_set(err, AU_E_PARSE, "\"%s\" is neither an array nor an object", it->element);
  return 0;
}

static int begin_date(json_t *row, const char *field, au_time *t) {
  json_t *b = json_object_get(row, field);
  bool had = false;
  if (!b || !json_is_string(b) || au_time_parse_iso(json_string_value(b), json_string_length(b), t, &had) != 0 ||
      !had)
    return AU_E_PARSE;
  return 0;
}

struct pctx {
  struct au_source_ctx *ctx;
  const struct isone_table *it;
  const char *market;
  int minutes;
  struct au_batch *out;
};

static int bad(struct au_err *err, const struct pctx *p, size_t i, const char *field, const char *what) {
  return au_err_set(err, AU_E_PARSE, "JSON %s record %zu, field %s: %s", p->it->element, i + 1, field, what);
}

static int lmp_row(const struct pctx *p, json_t *row, size_t i, struct au_err *err) {
  au_time t;
  if (begin_date(row, "BeginDate", &t))
    return bad(err, p, i, "BeginDate", "missing or not an ISO-8601 time with offset");
  json_t *loc = json_object_get(row, "Location");
  char id[128], name[256], type[64];
  int idn = -1, nn = -1, tn = -1;
  if (loc && json_is_object(loc)) {
    idn = jtext(loc, "@LocId", id, sizeof(id));
    nn = jtext(loc, "$", name, sizeof(name));
    tn = jtext(loc, "@LocType", type, sizeof(type));
  } else if (loc && json_is_string(loc)) {
    nn = jtext(row, "Location", name, sizeof(name));
  }
  if (idn <= 0 && nn > 0) { /* no LocId: the name is the id */
    memcpy(id, name, (size_t)nn + 1);
    idn = nn;
  }
  if (idn <= 0)
    return bad(err, p, i, "Location", "missing @LocId");
  struct au_batch *b = p->out;
  au_batch_add_row(b);
  au_batch_set_time(b, AU_LMP_START, t);
  au_batch_set_time(b, AU_LMP_END, t + (au_time)p->minutes * AU_MINUTE);
  au_batch_set_text(b, AU_LMP_LOC_ID, id, (size_t)idn);
  if (nn > 0)
    au_batch_set_text(b, AU_LMP_LOC_NAME, name, (size_t)nn);
  if (tn > 0)
    au_batch_set_text(b, AU_LMP_LOC_TYPE, type, (size_t)tn);
  static const struct {
    int col;
    const char *name;
  } nums[] = {{AU_LMP_LMP, "LmpTotal"},
              {AU_LMP_ENERGY, "EnergyComponent"},
              {AU_LMP_CONG, "CongestionComponent"},
              {AU_LMP_LOSS, "LossComponent"}};
  for (size_t k = 0; k < AU_ARRAY_LEN(nums); k++) {
    bool isnull;
    double v = 0;
    if (jnum(row, nums[k].name, &isnull, &v)) {
      au_batch_drop_last(b);
      return bad(err, p, i, nums[k].name, "not a number");
    }
    if (!isnull)
      au_batch_set_double(b, nums[k].col, v);
  }
  au_lmp_set_meta(b, "ISONE", p->market, "USD/MWh", ISONE_TZ, p->minutes, p->ctx->ingestion_time);
  return 0;
}

static int load_row(const struct pctx *p, json_t *row, size_t i, struct au_err *err) {
  au_time t, pub;
  if (begin_date(row, "BeginDate", &t))
    return bad(err, p, i, "BeginDate", "missing or not an ISO-8601 time with offset");
  bool fc = p->it->kind == K_LOAD_FORECAST;
  const char *vf = fc ? "LoadMw" : "Load";
  if (fc && begin_date(row, "CreationDate", &pub))
    return bad(err, p, i, "CreationDate", "missing or not an ISO-8601 time with offset");
  bool isnull;
  double v = 0;
  if (jnum(row, vf, &isnull, &v))
    return bad(err, p, i, vf, "not a number");
  char id[128] = "TOTAL", name[256];
  const char *type = "SYSTEM";
  json_t *loc = json_object_get(row, "Location");
  int nn = loc && json_is_object(loc) ? jtext(loc, "$", name, sizeof(name)) : -1;
  if (nn > 0 && strcmp(name, "NEPOOL AREA") != 0) {
    memcpy(id, name, (size_t)nn + 1);
    type = "ZONE";
  }
  struct au_batch *b = p->out;
  au_batch_add_row(b);
  au_batch_set_time(b, AU_LOAD_START, t);
  au_batch_set_time(b, AU_LOAD_END, t + AU_HOUR);
  au_batch_set_text(b, AU_LOAD_LOC_ID, id, strlen(id));
  au_batch_set_text(b, AU_LOAD_LOC_TYPE, type, strlen(type));
  if (!isnull)
    au_batch_set_double(b, AU_LOAD_MW, v);
  au_batch_set_time(b, AU_LOAD_PUBLISHED, fc ? pub : t + AU_HOUR);
  au_load_set_meta(b, "ISONE", fc ? "FORECAST" : "ACTUAL", ISONE_TZ, 60, p->ctx->ingestion_time);
  return 0;
}

static int fuel_row(const struct pctx *p, json_t *row, size_t i, struct au_err *err) {
  au_time t;
  if (begin_date(row, "BeginDate", &t))
    return bad(err, p, i, "BeginDate", "missing or not an ISO-8601 time with offset");
  char fuel[128], roll[128], flag[8];
  int fn = jtext(row, "FuelCategory", fuel, sizeof(fuel));
  int rn = jtext(row, "FuelCategoryRollup", roll, sizeof(roll));
  int gn = jtext(row, "MarginalFlag", flag, sizeof(flag));
  if (fn <= 0)
    return bad(err, p, i, "FuelCategory", "missing");
  bool isnull;
  double v = 0;
  if (jnum(row, "GenMw", &isnull, &v))
    return bad(err, p, i, "GenMw", "not a number");
  if (gn > 0 && strcmp(flag, "Y") && strcmp(flag, "N"))
    return bad(err, p, i, "MarginalFlag", "not Y or N");
  struct au_batch *b = p->out;
  au_batch_add_row(b);
  au_batch_set_time(b, FM_START, t);
  au_batch_set_text(b, FM_FUEL, fuel, (size_t)fn);
  if (rn > 0)
    au_batch_set_text(b, FM_ROLLUP, roll, (size_t)rn);
  if (!isnull)
    au_batch_set_double(b, FM_MW, v);
  if (gn > 0)
    au_batch_set_bool(b, FM_MARGINAL, flag[0] == 'Y');
  au_batch_set_text(b, FM_TZ, ISONE_TZ, strlen(ISONE_TZ));
  au_batch_set_time(b, FM_INGEST, p->ctx->ingestion_time);
  return 0;
}

static int one_row(const struct pctx *p, json_t *row, size_t i, struct au_err *err) {
  if (!json_is_object(row))
    return au_err_set(err, AU_E_PARSE, "JSON %s record %zu: not an object", p->it->element, i + 1);
  switch (p->it->kind) {
  case K_LOAD_ACTUAL:
  case K_LOAD_FORECAST: return load_row(p, row, i, err);
  case K_FUEL_MIX: return fuel_row(p, row, i, err);
  default: return lmp_row(p, row, i, err);
  }
}

static int isone_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                       struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  const struct isone_table *it = ctx->table->priv;
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  if (resp->len > ((size_t)1 << 31))
    return au_err_set(err, AU_E_TOOBIG, "response of %zu bytes exceeds the 2 GiB limit", resp->len);
  json_error_t jerr;
  json_t *root = json_loadb(resp->body, resp->len, 0, &jerr);
  if (!root)
    return au_err_set(err, AU_E_PARSE, "invalid JSON at line %d, column %d (byte %d): %s", jerr.line, jerr.column,
                      jerr.position, jerr.text);
  struct pctx p = {ctx, it, "DA", 60, out};
  if (it->kind == K_LMP_RT_HOURLY || it->kind == K_LMP_RT_5MIN)
    p.market = req->cookie == 2 ? "RT_FINAL" : "RT_PRELIM";
  if (it->kind == K_LMP_RT_5MIN)
    p.minutes = 5;
  json_t *arr, *one;
  size_t before = out->nrows;
  int rc = find_records(root, it, &arr, &one, err);
  if (rc == 0 && one)
    rc = one_row(&p, one, 0, err);
  if (rc == 0 && arr) {
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) {
      if ((rc = one_row(&p, row, i, err)))
        break;
    }
  }
  if (rc == 0 && it->kind <= K_LMP_RT_5MIN)
    au_lmp_complete(out, before);
  if (rc == 0 && out->nrows == before)
    rc = AU_E_NODATA;
  json_decref(root);
  return rc;
}

const struct au_source_ops au_source_isone = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "isone",
    .title = "ISO New England (web services v1.1)",
    .default_base = "https://webservices.iso-ne.com/api/v1.1",
    .base_env = isone_base_env,
    .opts = isone_opts,
    .tables = isone_tables,
    .ntables = AU_ARRAY_LEN(isone_tables),
    .policy = {.rate_per_min = 60, .burst = 2, .max_attempts = 5},
    .plan = isone_plan,
    .parse = isone_parse,
};

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
#include "parse/json.h"
#include "sources/source.h"

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

/* --- parse ----------------------------------------------------------------------
 *
 * Streaming (yajl): the records are read field by field as the document goes by; no
 * document tree is built. Only the fields aurum maps are kept (copied into a per-record
 * scratch buffer); everything else, however nested, is skipped. */

enum fld { F_BEGIN, F_CREATION, F_LMP, F_ENE, F_CONG, F_LOSS, F_LOAD, F_LOADMW, F_FUEL, F_ROLLUP, F_FLAG,
           F_GENMW, F_LOCATION, F_LOC_ID, F_LOC_NAME, F_LOC_TYPE, F_N };
enum vkind { V_NONE = 0, V_NULL, V_STR, V_NUM, V_OTHER };

static const char *const rec_names[] = {"BeginDate", "CreationDate", "LmpTotal", "EnergyComponent",
                                        "CongestionComponent", "LossComponent", "Load", "LoadMw",
                                        "FuelCategory", "FuelCategoryRollup", "MarginalFlag", "GenMw",
                                        "Location"};
static const char *const loc_names[] = {"@LocId", "$", "@LocType"};

struct fv {
  enum vkind k;
  uint32_t off, n; /* text in rec.buf (strings unescaped, numbers as written) */
};

struct rec {
  struct fv f[F_N];
  struct au_buf buf;
};

struct pctx {
  struct au_source_ctx *ctx;
  const struct isone_table *it;
  const char *market;
  int minutes;
  struct au_batch *out;
};

/* field text (NUL-terminated in the scratch buffer) */
static const char *fs(const struct rec *r, int f) { return r->buf.ptr + r->f[f].off; }

/* A number (JSON number or numeric string). Missing/null/"" = NULL. 0 or AU_E_PARSE. */
static int jnum(const struct rec *r, int f, bool *isnull, double *out) {
  const struct fv *v = &r->f[f];
  *isnull = true;
  if (v->k == V_NONE || v->k == V_NULL)
    return 0;
  if (v->k != V_STR && v->k != V_NUM)
    return AU_E_PARSE;
  const char *s = fs(r, f);
  size_t n = v->n;
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0)
    return v->k == V_STR ? 0 : AU_E_PARSE;
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

/* Text of a string or integer field into buf; returns length or -1. */
static int jtext(const struct rec *r, int f, char *buf, size_t bufsz) {
  const struct fv *v = &r->f[f];
  if (v->k == V_STR) {
    size_t n = v->n;
    if (n >= bufsz)
      n = bufsz - 1;
    memcpy(buf, fs(r, f), n);
    buf[n] = 0;
    return (int)n;
  }
  if (v->k == V_NUM) { /* integers only, as written */
    const char *s = fs(r, f);
    for (size_t i = 0; i < v->n; i++)
      if (!(s[i] == '-' && i == 0) && (s[i] < '0' || s[i] > '9'))
        return -1;
    char *endp;
    long long x = strtoll(s, &endp, 10);
    if (*endp)
      return -1;
    return snprintf(buf, bufsz, "%lld", x);
  }
  return -1;
}

static int begin_date(const struct rec *r, int f, au_time *t) {
  bool had = false;
  if (r->f[f].k != V_STR || au_time_parse_iso(fs(r, f), r->f[f].n, t, &had) != 0 || !had)
    return AU_E_PARSE;
  return 0;
}

static int bad(struct au_err *err, const struct pctx *p, size_t i, const char *field, const char *what) {
  return au_err_set(err, AU_E_PARSE, "JSON %s record %zu, field %s: %s", p->it->element, i + 1, field, what);
}

static int lmp_row(const struct pctx *p, const struct rec *row, size_t i, struct au_err *err) {
  au_time t;
  if (begin_date(row, F_BEGIN, &t))
    return bad(err, p, i, "BeginDate", "missing or not an ISO-8601 time with offset");
  char id[256], name[256], type[64];
  int idn = -1, nn = -1, tn = -1;
  if (row->f[F_LOC_ID].k || row->f[F_LOC_NAME].k || row->f[F_LOC_TYPE].k) { /* "Location": {...} */
    idn = jtext(row, F_LOC_ID, id, sizeof(id));
    nn = jtext(row, F_LOC_NAME, name, sizeof(name));
    tn = jtext(row, F_LOC_TYPE, type, sizeof(type));
  } else if (row->f[F_LOCATION].k == V_STR) {
    nn = jtext(row, F_LOCATION, name, sizeof(name));
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
    int col, f;
  } nums[] = {{AU_LMP_LMP, F_LMP}, {AU_LMP_ENERGY, F_ENE}, {AU_LMP_CONG, F_CONG}, {AU_LMP_LOSS, F_LOSS}};
  for (size_t k = 0; k < AU_ARRAY_LEN(nums); k++) {
    bool isnull;
    double v = 0;
    if (jnum(row, nums[k].f, &isnull, &v)) {
      au_batch_drop_last(b);
      return bad(err, p, i, rec_names[nums[k].f], "not a number");
    }
    if (!isnull)
      au_batch_set_double(b, nums[k].col, v);
  }
  au_lmp_set_meta(b, "ISONE", p->market, "USD/MWh", ISONE_TZ, p->minutes, p->ctx->ingestion_time);
  return 0;
}

static int load_row(const struct pctx *p, const struct rec *row, size_t i, struct au_err *err) {
  au_time t, pub;
  if (begin_date(row, F_BEGIN, &t))
    return bad(err, p, i, "BeginDate", "missing or not an ISO-8601 time with offset");
  bool fc = p->it->kind == K_LOAD_FORECAST;
  int vf = fc ? F_LOADMW : F_LOAD;
  if (fc && begin_date(row, F_CREATION, &pub))
    return bad(err, p, i, "CreationDate", "missing or not an ISO-8601 time with offset");
  bool isnull;
  double v = 0;
  if (jnum(row, vf, &isnull, &v))
    return bad(err, p, i, rec_names[vf], "not a number");
  char id[256] = "TOTAL", name[256];
  const char *type = "SYSTEM";
  int nn = jtext(row, F_LOC_NAME, name, sizeof(name));
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

static int fuel_row(const struct pctx *p, const struct rec *row, size_t i, struct au_err *err) {
  au_time t;
  if (begin_date(row, F_BEGIN, &t))
    return bad(err, p, i, "BeginDate", "missing or not an ISO-8601 time with offset");
  char fuel[128], roll[128], flag[8];
  int fn = jtext(row, F_FUEL, fuel, sizeof(fuel));
  int rn = jtext(row, F_ROLLUP, roll, sizeof(roll));
  int gn = jtext(row, F_FLAG, flag, sizeof(flag));
  if (fn <= 0)
    return bad(err, p, i, "FuelCategory", "missing");
  bool isnull;
  double v = 0;
  if (jnum(row, F_GENMW, &isnull, &v))
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

static int one_row(const struct pctx *p, const struct rec *row, size_t i, struct au_err *err) {
  switch (p->it->kind) {
  case K_LOAD_ACTUAL:
  case K_LOAD_FORECAST: return load_row(p, row, i, err);
  case K_FUEL_MIX: return fuel_row(p, row, i, err);
  default: return lmp_row(p, row, i, err);
  }
}

/* Where the reader is. Depth counts open maps and arrays; the records are the maps at
 * rec_depth (elements of the element array, or the element object itself). */
enum where { W_TOP, W_ROOT, W_CONTAINER, W_ELEMENT, W_ELEMENT_ARRAY, W_RECORD, W_LOCATION, W_SKIP };

struct js {
  const struct pctx *p;
  struct au_err *err;
  int rc;
  int depth;
  enum where w;
  int skip_from;      /* depth at which the skipped value started (W_SKIP) */
  enum where back;    /* where to return after a skip */
  int cur;            /* field the next value belongs to (-1 = none) */
  enum { K_NONE, K_CONTAINER, K_ELEMENT, K_OTHER } rootkey, contkey;
  bool via_root;      /* records come from root.element (no container seen yet) */
  bool saw_container, saw_element;
  size_t rows_via_root; /* rows added from root.element (dropped if a container follows) */
  char first_key[64];
  struct rec rec;
  size_t nrec;        /* records seen (for positions) */
  bool rec_in_array;
};

static int js_fail(struct js *j, int rc) {
  j->rc = rc;
  return 0; /* stop yajl */
}

static void rec_reset(struct rec *r) {
  for (int i = 0; i < F_N; i++)
    r->f[i].k = V_NONE;
  au_buf_reset(&r->buf);
}

static int rec_set(struct js *j, enum vkind k, const char *s, size_t n) {
  if (j->cur < 0)
    return 1;
  struct fv *v = &j->rec.f[j->cur];
  v->k = k;
  v->off = (uint32_t)j->rec.buf.len;
  v->n = (uint32_t)n;
  if (n > 1u << 20 || au_buf_add(&j->rec.buf, s ? s : "", n) || au_buf_addc(&j->rec.buf, 0))
    return js_fail(j, au_err_set(j->err, AU_E_TOOBIG, "JSON %s record %zu: field too long", j->p->it->element,
                                 j->nrec));
  j->cur = -1;
  return 1;
}

/* The element's value at the container or root level. */
static int element_value(struct js *j, enum vkind k, const char *s, size_t n) {
  if (k == V_NULL || (k == V_STR && n == 0))
    return 1; /* empty */
  return js_fail(j, au_err_set(j->err, AU_E_PARSE, "\"%s\" is neither an array nor an object", j->p->it->element));
}

static int scalar(struct js *j, enum vkind k, const char *s, size_t n) {
  switch (j->w) {
  case W_TOP:
    return js_fail(j, au_err_set(j->err, AU_E_PARSE, "JSON top level is not an object"));
  case W_ROOT:
    if (j->rootkey == K_CONTAINER) {
      if (k == V_NULL || (k == V_STR && n == 0))
        return 1;
      return js_fail(j, au_err_set(j->err, AU_E_PARSE, "\"%s\" is neither an object nor empty", j->p->it->container));
    }
    if (j->rootkey == K_ELEMENT && !j->saw_container)
      return element_value(j, k, s, n);
    return 1;
  case W_CONTAINER:
    if (j->contkey == K_ELEMENT)
      return element_value(j, k, s, n);
    return 1;
  case W_ELEMENT_ARRAY:
    return js_fail(j, au_err_set(j->err, AU_E_PARSE, "JSON %s record %zu: not an object", j->p->it->element,
                                 j->nrec + 1));
  case W_RECORD:
  case W_LOCATION:
    return rec_set(j, k, s, n);
  default:
    return 1;
  }
}

static int cb_null(void *ctx) { return scalar(ctx, V_NULL, NULL, 0); }
static int cb_bool(void *ctx, int v) {
  AU_UNUSED(v);
  return scalar(ctx, V_OTHER, NULL, 0);
}
static int cb_num(void *ctx, const char *s, size_t n) { return scalar(ctx, V_NUM, s, n); }
static int cb_str(void *ctx, const unsigned char *s, size_t n) { return scalar(ctx, V_STR, (const char *)s, n); }

static void skip_value(struct js *j) {
  j->back = j->w;
  j->w = W_SKIP;
  j->skip_from = j->depth;
}

static int cb_start(struct js *j, bool map) {
  j->depth++;
  switch (j->w) {
  case W_TOP:
    if (!map)
      return js_fail(j, au_err_set(j->err, AU_E_PARSE, "JSON top level is not an object"));
    j->w = W_ROOT;
    return 1;
  case W_ROOT:
    if (j->rootkey == K_CONTAINER) {
      if (!map)
        return js_fail(j, au_err_set(j->err, AU_E_PARSE, "\"%s\" is neither an object nor empty",
                                     j->p->it->container));
      j->w = W_CONTAINER;
      j->contkey = K_NONE;
      return 1;
    }
    if (j->rootkey == K_ELEMENT && !j->saw_container) {
      j->via_root = true;
      j->rows_via_root = j->p->out->nrows;
      goto element;
    }
    skip_value(j);
    return 1;
  case W_CONTAINER:
    if (j->contkey == K_ELEMENT)
      goto element;
    skip_value(j);
    return 1;
  case W_ELEMENT_ARRAY:
    if (!map)
      return js_fail(j, au_err_set(j->err, AU_E_PARSE, "JSON %s record %zu: not an object", j->p->it->element,
                                   j->nrec + 1));
    j->w = W_RECORD;
    j->rec_in_array = true;
    rec_reset(&j->rec);
    j->cur = -1;
    return 1;
  case W_RECORD:
    if (map && j->cur == F_LOCATION) {
      j->w = W_LOCATION;
      j->cur = -1;
      return 1;
    }
    j->cur = -1;
    skip_value(j);
    return 1;
  case W_LOCATION:
    j->cur = -1;
    skip_value(j);
    return 1;
  default:
    return 1;
  }
element:
  if (map) { /* a single record */
    j->w = W_RECORD;
    j->rec_in_array = false;
    rec_reset(&j->rec);
    j->cur = -1;
  } else {
    j->w = W_ELEMENT_ARRAY;
  }
  return 1;
}

static int cb_start_map(void *ctx) { return cb_start(ctx, true); }
static int cb_start_array(void *ctx) { return cb_start(ctx, false); }

static int cb_end(struct js *j) {
  j->depth--;
  switch (j->w) {
  case W_SKIP:
    if (j->depth < j->skip_from)
      j->w = j->back;
    return 1;
  case W_LOCATION:
    j->w = W_RECORD;
    return 1;
  case W_RECORD: {
    int rc = one_row(j->p, &j->rec, j->nrec, j->err);
    j->nrec++;
    if (rc)
      return js_fail(j, rc);
    j->w = j->rec_in_array ? W_ELEMENT_ARRAY : (j->via_root ? W_ROOT : W_CONTAINER);
    return 1;
  }
  case W_ELEMENT_ARRAY:
    j->w = j->via_root ? W_ROOT : W_CONTAINER;
    return 1;
  case W_CONTAINER:
    j->w = W_ROOT;
    return 1;
  case W_ROOT:
    j->w = W_TOP;
    return 1;
  default:
    return 1;
  }
}

static int cb_end_map(void *ctx) { return cb_end(ctx); }
static int cb_end_array(void *ctx) { return cb_end(ctx); }

static int cb_key(void *ctx, const unsigned char *k, size_t n) {
  struct js *j = ctx;
  switch (j->w) {
  case W_ROOT:
    if (!j->first_key[0])
      snprintf(j->first_key, sizeof(j->first_key), "%.*s", (int)(n < 60 ? n : 60), (const char *)k);
    if (n == strlen(j->p->it->container) && !memcmp(k, j->p->it->container, n)) {
      j->rootkey = K_CONTAINER;
      j->saw_container = true;
      if (j->via_root) { /* the container wins over a bare element seen before it */
        while (j->p->out->nrows > j->rows_via_root)
          au_batch_drop_last(j->p->out);
        j->via_root = false;
        j->nrec = 0;
      }
    } else if (n == strlen(j->p->it->element) && !memcmp(k, j->p->it->element, n)) {
      j->rootkey = K_ELEMENT;
      j->saw_element = true;
    } else {
      j->rootkey = K_OTHER;
    }
    return 1;
  case W_CONTAINER:
    j->contkey = (n == strlen(j->p->it->element) && !memcmp(k, j->p->it->element, n)) ? K_ELEMENT : K_OTHER;
    return 1;
  case W_RECORD:
    j->cur = -1;
    for (int f = 0; f < (int)AU_ARRAY_LEN(rec_names); f++)
      if (n == strlen(rec_names[f]) && !memcmp(k, rec_names[f], n)) {
        j->cur = f;
        break;
      }
    return 1;
  case W_LOCATION:
    j->cur = -1;
    for (int f = 0; f < (int)AU_ARRAY_LEN(loc_names); f++)
      if (n == strlen(loc_names[f]) && !memcmp(k, loc_names[f], n)) {
        j->cur = F_LOC_ID + f;
        break;
      }
    return 1;
  default:
    return 1;
  }
}

static const yajl_callbacks js_callbacks = {
    cb_null, cb_bool, NULL, NULL, cb_num, cb_str, cb_start_map, cb_key, cb_end_map, cb_start_array, cb_end_array,
};

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
  struct pctx p = {ctx, it, "DA", 60, out};
  if (it->kind == K_LMP_RT_HOURLY || it->kind == K_LMP_RT_5MIN)
    p.market = req->cookie == 2 ? "RT_FINAL" : "RT_PRELIM";
  if (it->kind == K_LMP_RT_5MIN)
    p.minutes = 5;
  size_t before = out->nrows;
  struct js j;
  memset(&j, 0, sizeof(j));
  j.p = &p;
  j.err = err;
  j.cur = -1;
  j.w = W_TOP;
  au_buf_init(&j.rec.buf, 0);
  int rc = au_json_stream(&js_callbacks, &j, resp->body, resp->len, &j.rc, err);
  au_buf_release(&j.rec.buf);
  if (rc == 0 && !j.saw_container && !j.saw_element)
    rc = au_err_set(err, AU_E_PARSE, "response has no \"%s\" (first key: %.60s)", it->container,
                    j.first_key[0] ? j.first_key : "(none)");
  if (rc) {
    while (out->nrows > before)
      au_batch_drop_last(out);
    return rc;
  }
  if (it->kind <= K_LMP_RT_5MIN)
    au_lmp_complete(out, before);
  if (out->nrows == before)
    return AU_E_NODATA;
  return 0;
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

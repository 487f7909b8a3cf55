/* sim_ercot.c - ERCOT: the public API (api.ercot.com/api/public-reports), its B2C token
 * endpoint, and the MIS document list + report downloads (www.ercot.com/misapp,
 * /misdownload), at their real paths and in their real formats (iso-apis.md §3).
 *
 *   POST /ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token?username=&password=
 *        &grant_type=password&client_id=...&response_type=id_token  -> {"id_token", "expires_in"}
 *   GET  /api/public-reports/np6-905-cd/spp_node_zone_hub?deliveryDateFrom=&deliveryDateTo=&page=&size=
 *   GET  /api/public-reports/np4-190-cd/dam_stlmnt_pnt_prices?deliveryDateFrom=&deliveryDateTo=...
 *   GET  /api/public-reports/np6-788-cd/lmp_node_zone_hub?SCEDTimestampFrom=&SCEDTimestampTo=...
 *   GET  /api/public-reports/np6-345-cd/act_sys_load_by_wzn?operatingDayFrom=&operatingDayTo=...
 *   GET  /api/public-reports/np3-560-cd/7d_load_fcast_by_fzn?postedDatetimeFrom=&postedDatetimeTo=...
 *        headers Authorization: Bearer <id_token>, Ocp-Apim-Subscription-Key
 *   GET  /misapp/servlets/IceDocListJsonWS?reportTypeId=12301|12331|12300|13101|12311
 *   GET  /misdownload/servlets/mirDownload?doclookupId=<DocID>  -> ZIP with one CSV
 *
 * ERCOT uses three hosts whose paths share no prefix, so the simulator serves them under
 * /ercot/<host>/ with the real path below it (point the base URLs there):
 *   api.ercot.com           -> /ercot/api/public-reports/...        (AURUM_ERCOT_BASE=$SIM/ercot/api/public-reports)
 *   ercotb2c.b2clogin.com   -> /ercot/b2c/ercotb2c.onmicrosoft.com/... (AURUM_ERCOT_TOKEN_URL=$SIM/ercot/b2c/...)
 *   www.ercot.com (MIS)     -> /ercot/mis/misapp/..., /ercot/mis/misdownload/... (AURUM_ERCOT_MIS_BASE=$SIM/ercot/mis)
 *
 * Settings come from the simulator's environment (the sim CLI has no ERCOT flags):
 *   ERCOT_SIM_USERNAME, ERCOT_SIM_PASSWORD, ERCOT_SIM_API_KEY  required values (unset: any
 *                                   non-empty value is accepted)
 *   ERCOT_SIM_TOKEN_TTL             id token lifetime, seconds (3600), real time
 *   ERCOT_SIM_RATE_PER_MIN          API requests per window per key (30; 0 = off)
 *   ERCOT_SIM_RATE_WINDOW           the window, seconds (60)
 *   ERCOT_SIM_NODES                 number of resource nodes (16, at most 5000)
 *
 * Clock: Central prevailing time; hour-ending labels are the interval start's wall clock
 * + 1 h, so the spring-forward day has no hour 03 and the fall-back day has hour 02 twice,
 * the second with DSTFlag Y / RepeatedHourFlag Y. Only intervals that have ended by the
 * simulator clock are served (DAM: once posted at 12:30 the day before; forecasts: vintages
 * posted by the clock). */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/zipwrite.h"
#include "sim/sim.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO "ercot"
#define SIM_PREFIX "/ercot" /* one simulator prefix; below it, one segment per ERCOT host */
#define ZONE_NAME "America/Chicago"
#define API "/api/public-reports"
#define TOKEN_PATH "/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
#define MIS_LIST "/misapp/servlets/IceDocListJsonWS"
#define MIS_DL "/misdownload/servlets/mirDownload"
#define CLIENT_ID "fec253ea-0d06-4272-a5e6-b478baeecd70"
#define MAX_SPAN_DAYS 31

enum rep { R_RT = 1, R_DA, R_SCED, R_ACT, R_FC, R_N };
static const int rep_type_id[R_N] = {0, 12301, 12331, 12300, 13101, 12311};
static const char *const rep_friendly[R_N] = {"", "SPPHLZNP6905", "DAMSPNP4190", "LMPSROSNODENP6788",
                                              "ACTUALSYSLOADWZNP6345", "LFCCONGESTNP3560"};
static const char *const rep_name[R_N] = {"", "Settlement Point Prices at Resource Nodes, Hubs and Load Zones",
                                          "DAM Settlement Point Prices", "LMPs by Resource Nodes, Load Zones and Trading Hubs",
                                          "Actual System Load by Weather Zone", "Seven-Day Load Forecast by Forecast Zone"};
static const int rep_retention_days[R_N] = {0, 2, 31, 2, 31, 7};

/* --- settlement points ---------------------------------------------------------------- */

struct sp {
  const char *name, *type;
};
static const struct sp fixed_points[] = {
    {"HB_BUSAVG", "SH"},  {"HB_HOUSTON", "HU"}, {"HB_HUBAVG", "SH"}, {"HB_NORTH", "HU"},   {"HB_PAN", "HU"},
    {"HB_SOUTH", "HU"},   {"HB_WEST", "HU"},    {"LZ_AEN", "LZ"},    {"LZ_CPS", "LZ"},     {"LZ_HOUSTON", "LZ"},
    {"LZ_LCRA", "LZ"},    {"LZ_NORTH", "LZ"},   {"LZ_RAYBN", "LZ"},  {"LZ_SOUTH", "LZ"},   {"LZ_WEST", "LZ"},
    {"LZ_HOUSTON", "LZEW"}, {"LZ_NORTH", "LZEW"}, {"LZ_SOUTH", "LZEW"}, {"LZ_WEST", "LZEW"}, {"DC_E", "LZ_DC"},
    {"DC_L", "LZ_DC"},    {"DC_N", "LZ_DC"},    {"DC_R", "LZ_DC"},   {"DC_S", "LZ_DC"},
};

static int env_int(const char *name, int def, int lo, int hi) {
  const char *v = getenv(name);
  if (!v || !*v)
    return def;
  int n = atoi(v);
  return n < lo ? lo : n > hi ? hi : n;
}

static int nodes_count(void) { return env_int("ERCOT_SIM_NODES", 16, 0, 5000); }

/* The i-th point of a report (name into buf), its type; false past the end. RT has the
 * energy-weighted zones; DAM and SCED do not. */
static bool point_at(enum rep r, int i, char *buf, size_t n, const char **type) {
  int nfixed = (int)AU_ARRAY_LEN(fixed_points);
  for (int k = 0; k < nfixed; k++) {
    if (r != R_RT && !strcmp(fixed_points[k].type, "LZEW"))
      continue;
    if (r == R_SCED && !strcmp(fixed_points[k].type, "LZ_DC"))
      continue;
    if (i-- == 0) {
      snprintf(buf, n, "%s", fixed_points[k].name);
      *type = fixed_points[k].type;
      return true;
    }
  }
  if (i < nodes_count()) {
    snprintf(buf, n, "SIM%04d_RN", i + 1);
    *type = "RN";
    return true;
  }
  return false;
}

static int points_total(enum rep r) {
  char b[32];
  const char *t;
  int n = 0;
  while (point_at(r, n, b, sizeof(b), &t))
    n++;
  return n;
}

/* --- clock helpers ------------------------------------------------------------------- */

static const struct au_tz *ctz(void) { return au_tz_get(ZONE_NAME, NULL); }

/* Hour-ending label of the interval starting at t: the start's wall clock + 1 h; repeated =
 * the second instance of a repeated wall time. */
struct label {
  struct au_civil l; /* local wall clock of the start */
  int he;            /* 1..24 */
  int interval;      /* 1..4 within the hour */
  bool repeated;
};

static void label_of(au_time t, struct label *o) {
  const struct au_tz *tz = ctz();
  au_tz_to_local(tz, t, &o->l);
  o->he = o->l.hour + 1;
  o->interval = o->l.minute / 15 + 1;
  au_time e;
  o->repeated = au_tz_from_local(tz, o->l.year, o->l.month, o->l.day, o->l.hour, o->l.minute, o->l.second,
                                 AU_FOLD_EARLIER, false, &e) == 0 &&
                e != t;
}

static bool parse_ymd(const char *s, int *y, int *m, int *d) {
  if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
    return false;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return false;
  *y = atoi(s);
  *m = atoi(s + 5);
  *d = atoi(s + 8);
  if (*m < 1 || *m > 12 || *d < 1 || *d > 31)
    return false;
  int ry, rm, rd;
  au_civil_from_days(au_days_from_civil(*y, *m, *d), &ry, &rm, &rd);
  return ry == *y && rm == *m && rd == *d;
}

/* "YYYY-MM-DDTHH:MM:SS" local -> UTC (earlier fold). */
static bool parse_local_ts(const char *s, au_time *out) {
  int y, m, d;
  if (!parse_ymd(s, &y, &m, &d) || strlen(s) < 16 || (s[10] != 'T' && s[10] != ' '))
    return false;
  int h = atoi(s + 11), mi = atoi(s + 14), sec = strlen(s) >= 19 ? atoi(s + 17) : 0;
  return au_tz_from_local(ctz(), y, m, d, h, mi, sec, AU_FOLD_EARLIER, true, out) == 0;
}

static au_time day_start(int64_t day) {
  int y, m, d;
  au_civil_from_days(day, &y, &m, &d);
  return au_tz_day_start(ctz(), y, m, d);
}

/* --- errors, auth, throttling ----------------------------------------------------------- */

static void apim_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status, const char *message,
                       struct au_sim_reply *rep) {
  AU_UNUSED(ctx);
  AU_UNUSED(req);
  struct au_buf *b = &rep->body;
  au_buf_reset(b);
  rep->status = status;
  rep->content_type = "application/json";
  rep->rows = 0;
  int rc;
  if (status == 429)
    rc = au_buf_adds(b, "{\"error_key\":\"throttled\",\"error_message\":\"Too Many Requests\"}");
  else {
    rc = au_buf_printf(b, "{\"statusCode\": %d, \"message\": ", status);
    if (!rc)
      rc = au_buf_add_json_str(b, message, strlen(message));
    if (!rc)
      rc = au_buf_addc(b, '}');
  }
  if (rc)
    au_buf_reset(b);
}

static uint64_t token_mac(uint64_t seed, int64_t exp) { return au_sim_hash(seed, "ercot.id_token", exp); }

static bool check_expected(const char *env, const char *got) {
  const char *want = getenv(env);
  if (!got || !*got)
    return false;
  return !want || !*want || strcmp(want, got) == 0;
}

static int token(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  if (strcmp(req->method, "POST") != 0) {
    apim_error(ctx, req, 405, "Method not allowed: use POST", rep);
    return 0;
  }
  const char *gt = req->arg(req, "grant_type"), *cid = req->arg(req, "client_id");
  if (!gt || strcmp(gt, "password") != 0 || !cid || strcmp(cid, CLIENT_ID) != 0) {
    rep->status = 400;
    return au_buf_adds(&rep->body, "{\"error\":\"unsupported_grant_type\",\"error_description\":"
                                   "\"AADB2C90086: The supplied grant_type or client_id is not supported.\"}");
  }
  if (!check_expected("ERCOT_SIM_USERNAME", req->arg(req, "username")) ||
      !check_expected("ERCOT_SIM_PASSWORD", req->arg(req, "password"))) {
    rep->status = 401;
    return au_buf_adds(&rep->body, "{\"error\":\"invalid_grant\",\"error_description\":"
                                   "\"AADB2C90225: The username or password provided in the request are invalid.\"}");
  }
  int ttl = env_int("ERCOT_SIM_TOKEN_TTL", 3600, 1, 86400);
  int64_t exp = au_now_real() / 1000 + (int64_t)ttl * 1000; /* ms */
  char tok[96];
  snprintf(tok, sizeof(tok), "simtok.%lld.%016llx", (long long)exp,
           (unsigned long long)token_mac(au_sim_seed(ctx), exp));
  return au_buf_printf(&rep->body,
                       "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":\"%d\","
                       "\"refresh_token\":\"simrefresh\",\"id_token\":\"%s\"}",
                       tok, ttl, tok);
}

static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER;
static double rate_ring[1024];
static size_t rate_n, rate_head;

/* Sliding-window limit; returns seconds to wait (> 0) when throttled. */
static double rate_check(void) {
  int lim = env_int("ERCOT_SIM_RATE_PER_MIN", 30, 0, 1024);
  double win = env_int("ERCOT_SIM_RATE_WINDOW", 60, 1, 3600);
  if (lim <= 0)
    return 0;
  double now = au_mono(), wait = 0;
  pthread_mutex_lock(&rate_mu);
  while (rate_n && now - rate_ring[rate_head] >= win) {
    rate_head = (rate_head + 1) % 1024;
    rate_n--;
  }
  if (rate_n >= (size_t)lim) {
    wait = win - (now - rate_ring[rate_head]);
    if (wait <= 0)
      wait = 0.001;
  } else {
    rate_ring[(rate_head + rate_n) % 1024] = now;
    rate_n++;
  }
  pthread_mutex_unlock(&rate_mu);
  return wait;
}

/* 401 / 429 checks for API paths; false when the reply is already filled. */
static bool api_gate(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *key = req->header(req, "Ocp-Apim-Subscription-Key");
  if (!key)
    key = req->arg(req, "subscription-key");
  if (!key || !*key) {
    apim_error(ctx, req, 401,
               "Access denied due to missing subscription key. Make sure to include subscription key when making "
               "requests to an API.",
               rep);
    au_sim_reply_header(rep, "WWW-Authenticate",
                        "AzureApiManagementKey realm=\"https://api.ercot.com/public-reports\","
                        "name=\"Ocp-Apim-Subscription-Key\",type=\"header\"");
    return false;
  }
  if (!check_expected("ERCOT_SIM_API_KEY", key)) {
    apim_error(ctx, req, 401,
               "Access denied due to invalid subscription key. Make sure to provide a valid key for an active "
               "subscription.",
               rep);
    return false;
  }
  const char *auth = req->header(req, "Authorization");
  long long exp = 0;
  unsigned long long mac = 0;
  if (!auth || strncmp(auth, "Bearer ", 7) != 0 || sscanf(auth + 7, "simtok.%lld.%llx", &exp, &mac) != 2 ||
      mac != token_mac(au_sim_seed(ctx), exp)) {
    apim_error(ctx, req, 401, "Invalid or missing id token (Authorization: Bearer)", rep);
    return false;
  }
  if (exp <= au_now_real() / 1000) {
    apim_error(ctx, req, 401, "The id token has expired", rep);
    return false;
  }
  double wait = rate_check();
  if (wait > 0) {
    apim_error(ctx, req, 429, "Too Many Requests", rep);
    char ra[32];
    snprintf(ra, sizeof(ra), "%d", (int)ceil(wait));
    au_sim_reply_header(rep, "Retry-After", ra);
    return false;
  }
  return true;
}

/* --- row generation ----------------------------------------------------------------------- */

/* Visitor: called for every row in order; returns non-zero to abort. */
struct gen {
  struct au_sim_ctx *ctx;
  enum rep r;
  bool api;            /* JSON arrays vs CSV lines */
  struct au_buf *b;
  size_t count;        /* rows visited */
  size_t lo, hi;       /* rows [lo, hi) are formatted */
  const char *only;    /* settlementPoint filter */
  au_time publish;     /* forecast vintage */
};

static int sep(struct gen *g) {
  if (g->api)
    return g->count - 1 > g->lo ? au_buf_addc(g->b, ',') : 0; /* count includes this row */
  return 0;
}

static int fmt_date(struct au_buf *b, const struct au_civil *c, bool api) {
  return api ? au_buf_printf(b, "\"%04d-%02d-%02d\"", c->year, c->month, c->day)
             : au_buf_printf(b, "%02d/%02d/%04d", c->month, c->day, c->year);
}

static double served_price(struct gen *g, const char *tag, const char *name, au_time t) {
  char node[64];
  snprintf(node, sizeof(node), "%s/%s", tag, name);
  return au_sim_served_price(g->ctx, ISO, node, t, 0);
}

/* A price row of RT / DAM for the interval starting at t. */
static int price_row(struct gen *g, au_time t, const char *name, const char *type) {
  if (g->only && strcmp(g->only, name) != 0)
    return 0;
  size_t idx = g->count++;
  if (idx < g->lo || idx >= g->hi)
    return 0;
  struct label L;
  label_of(t, &L);
  double p = served_price(g, g->r == R_RT ? "RT" : "DA", name, t);
  struct au_buf *b = g->b;
  int rc = sep(g);
  if (g->api) {
    if (!rc)
      rc = au_buf_addc(b, '[');
    if (!rc)
      rc = fmt_date(b, &L.l, true);
    if (!rc && g->r == R_RT)
      rc = au_buf_printf(b, ",%d,%d,\"%s\",\"%s\",", L.he, L.interval, name, type);
    else if (!rc)
      rc = au_buf_printf(b, ",\"%02d:00\",\"%s\",", L.he, name);
    if (!rc)
      rc = au_sim_buf_fixed2(b, p);
    if (!rc)
      rc = au_buf_adds(b, L.repeated ? ",true]" : ",false]");
  } else {
    rc = fmt_date(b, &L.l, false);
    if (!rc && g->r == R_RT)
      rc = au_buf_printf(b, ",%d,%d,%s,%s,", L.he, L.interval, name, type);
    else if (!rc)
      rc = au_buf_printf(b, ",%02d:00,%s,", L.he, name);
    if (!rc)
      rc = au_sim_buf_fixed2(b, p);
    if (!rc)
      rc = au_buf_adds(b, L.repeated ? ",Y\r\n" : ",N\r\n");
  }
  return rc;
}

static au_time sced_stamp(uint64_t seed, au_time t) {
  return t + (au_time)(10 + (au_sim_hash(seed, "ercot.sced", t / AU_USEC) % 40)) * AU_USEC;
}

static int sced_row(struct gen *g, au_time t, const char *name) {
  if (g->only && strcmp(g->only, name) != 0)
    return 0;
  size_t idx = g->count++;
  if (idx < g->lo || idx >= g->hi)
    return 0;
  au_time ts = sced_stamp(au_sim_seed(g->ctx), t);
  struct label L;
  label_of(ts, &L);
  double p = served_price(g, "SCED", name, t);
  struct au_buf *b = g->b;
  struct au_civil *c = &L.l;
  int rc = sep(g);
  if (g->api) {
    if (!rc)
      rc = au_buf_printf(b, "[\"%04d-%02d-%02dT%02d:%02d:%02d\",%s,\"%s\",", c->year, c->month, c->day, c->hour,
                         c->minute, c->second, L.repeated ? "true" : "false", name);
    if (!rc)
      rc = au_sim_buf_fixed2(b, p);
    if (!rc)
      rc = au_buf_addc(b, ']');
  } else {
    if (!rc)
      rc = au_buf_printf(b, "%02d/%02d/%04d %02d:%02d:%02d,%s,%s,", c->month, c->day, c->year, c->hour, c->minute,
                         c->second, L.repeated ? "Y" : "N", name);
    if (!rc)
      rc = au_sim_buf_fixed2(b, p);
    if (!rc)
      rc = au_buf_adds(b, "\r\n");
  }
  return rc;
}

static const char *const wzones[] = {"COAST", "EAST", "FAR_WEST", "NORTH", "NORTH_C", "SOUTHERN", "SOUTH_C", "WEST"};
static const char *const fzones[] = {"NORTH", "SOUTH", "WEST", "HOUSTON"};

static double zone_load(struct gen *g, const char *prefix, const char *zone, au_time t) {
  char z[48];
  snprintf(z, sizeof(z), "%s%s", prefix, zone);
  return round(au_sim_served_load(g->ctx, ISO, z, t) / 4.0 * 100.0) / 100.0; /* ERCOT zones are ~1/4 of a "system" */
}

static int load_row(struct gen *g, au_time t) {
  size_t idx = g->count++;
  if (idx < g->lo || idx >= g->hi)
    return 0;
  struct label L;
  label_of(t, &L);
  struct au_buf *b = g->b;
  int rc = sep(g);
  bool fc = g->r == R_FC;
  if (!rc && g->api)
    rc = au_buf_addc(b, '[');
  if (!rc && fc && g->api) {
    struct au_civil p;
    au_tz_to_local(ctz(), g->publish, &p);
    rc = au_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d\",", p.year, p.month, p.day, p.hour, p.minute, p.second);
  }
  if (!rc)
    rc = fmt_date(b, &L.l, g->api);
  if (!rc)
    rc = g->api ? au_buf_printf(b, ",\"%02d:00\"", L.he)
                : fc ? au_buf_printf(b, ",%d:00", L.he) : au_buf_printf(b, ",%02d:00", L.he);
  double total = 0;
  size_t nz = fc ? AU_ARRAY_LEN(fzones) : AU_ARRAY_LEN(wzones);
  for (size_t k = 0; k < nz && !rc; k++) {
    double v = zone_load(g, fc ? "FZ_" : "WZ_", fc ? fzones[k] : wzones[k], t);
    if (fc) { /* the vintage's forecast error */
      double e = au_sim_gauss(au_sim_seed(g->ctx), fzones[k], (t / AU_MINUTE) * 1000003 + g->publish / AU_MINUTE);
      v = round(v * (1.0 + 0.02 * e) * 100.0) / 100.0;
    }
    total += v;
    rc = au_buf_addc(b, ',');
    if (!rc)
      rc = au_sim_buf_fixed2(b, v);
  }
  if (!rc)
    rc = au_buf_addc(b, ',');
  if (!rc)
    rc = au_sim_buf_fixed2(b, total);
  if (!rc && fc && g->api)
    rc = au_buf_adds(b, ",true");
  if (!rc)
    rc = g->api ? au_buf_adds(b, L.repeated ? ",true]" : ",false]") : au_buf_adds(b, L.repeated ? ",Y\r\n" : ",N\r\n");
  return rc;
}

/* Rows of one trade day of report r (RT/DAM/SCED/ACT), visiting only what the clock allows. */
static int gen_day(struct gen *g, int64_t day, au_time now) {
  au_time t0 = day_start(day), t1 = day_start(day + 1);
  int rc = 0;
  char name[32];
  const char *type;
  switch (g->r) {
  case R_RT:
    for (au_time t = t0; t < t1 && !rc && t + 15 * AU_MINUTE <= now; t += 15 * AU_MINUTE)
      for (int i = 0; !rc && point_at(R_RT, i, name, sizeof(name), &type); i++)
        rc = price_row(g, t, name, type);
    break;
  case R_DA: {
    /* posted at 12:30 the day before */
    int y, m, d;
    au_civil_from_days(day - 1, &y, &m, &d);
    au_time post;
    au_tz_from_local(ctz(), y, m, d, 12, 30, 0, AU_FOLD_EARLIER, true, &post);
    if (post > now)
      break;
    for (au_time t = t0; t < t1 && !rc; t += AU_HOUR)
      for (int i = 0; !rc && point_at(R_DA, i, name, sizeof(name), &type); i++)
        rc = price_row(g, t, name, type);
    break;
  }
  case R_SCED:
    for (au_time t = t0; t < t1 && !rc && sced_stamp(au_sim_seed(g->ctx), t) <= now; t += 5 * AU_MINUTE)
      for (int i = 0; !rc && point_at(R_SCED, i, name, sizeof(name), &type); i++)
        rc = sced_row(g, t, name);
    break;
  case R_ACT:
    for (au_time t = t0; t < t1 && !rc && t + AU_HOUR <= now; t += AU_HOUR)
      rc = load_row(g, t);
    break;
  default:
    break;
  }
  return rc;
}

/* A forecast vintage: 8 trade days from the posting's local date. */
static int gen_vintage(struct gen *g, au_time publish) {
  int y, m, d;
  au_tz_local_date(ctz(), publish, &y, &m, &d);
  int64_t day = au_days_from_civil(y, m, d);
  g->publish = publish;
  int rc = 0;
  for (au_time t = day_start(day); t < day_start(day + 8) && !rc; t += AU_HOUR)
    rc = load_row(g, t);
  return rc;
}

/* Forecast postings: hourly at :30 local (every UTC hour + 30 min). */
static au_time first_post_at_or_after(au_time t) {
  au_time h = t - (((t % AU_HOUR) + AU_HOUR) % AU_HOUR) + 30 * AU_MINUTE;
  return h < t ? h + AU_HOUR : h;
}

/* --- API ---------------------------------------------------------------------------------- */

struct api_report {
  const char *path;
  enum rep r;
  const char *emil, *name, *display;
  const char *fields; /* JSON array text */
  const char *from, *to;
  bool days; /* from/to are dates (else local timestamps) */
};

static const struct api_report api_reports[] = {
    {API "/np6-905-cd/spp_node_zone_hub", R_RT, "NP6-905-CD", "spp_node_zone_hub",
     "Settlement Point Prices at Resource Nodes, Hubs and Load Zones",
     "[{\"name\":\"deliveryDate\",\"label\":\"Delivery Date\",\"dataType\":\"DATE\"},"
     "{\"name\":\"deliveryHour\",\"label\":\"Delivery Hour\",\"dataType\":\"INTEGER\"},"
     "{\"name\":\"deliveryInterval\",\"label\":\"Delivery Interval\",\"dataType\":\"INTEGER\"},"
     "{\"name\":\"settlementPoint\",\"label\":\"Settlement Point Name\",\"dataType\":\"VARCHAR\"},"
     "{\"name\":\"settlementPointType\",\"label\":\"Settlement Point Type\",\"dataType\":\"VARCHAR\"},"
     "{\"name\":\"settlementPointPrice\",\"label\":\"Settlement Point Price\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"DSTFlag\",\"label\":\"DST Flag\",\"dataType\":\"BOOLEAN\"}]",
     "deliveryDateFrom", "deliveryDateTo", true},
    {API "/np4-190-cd/dam_stlmnt_pnt_prices", R_DA, "NP4-190-CD", "dam_stlmnt_pnt_prices",
     "DAM Settlement Point Prices",
     "[{\"name\":\"deliveryDate\",\"label\":\"Delivery Date\",\"dataType\":\"DATE\"},"
     "{\"name\":\"hourEnding\",\"label\":\"Hour Ending\",\"dataType\":\"VARCHAR\"},"
     "{\"name\":\"settlementPoint\",\"label\":\"Settlement Point\",\"dataType\":\"VARCHAR\"},"
     "{\"name\":\"settlementPointPrice\",\"label\":\"Settlement Point Price\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"DSTFlag\",\"label\":\"DST Flag\",\"dataType\":\"BOOLEAN\"}]",
     "deliveryDateFrom", "deliveryDateTo", true},
    {API "/np6-788-cd/lmp_node_zone_hub", R_SCED, "NP6-788-CD", "lmp_node_zone_hub",
     "LMPs by Resource Nodes, Load Zones and Trading Hubs",
     "[{\"name\":\"SCEDTimestamp\",\"label\":\"SCED Time Stamp\",\"dataType\":\"DATETIME\"},"
     "{\"name\":\"repeatHourFlag\",\"label\":\"Repeated Hour Flag\",\"dataType\":\"BOOLEAN\"},"
     "{\"name\":\"settlementPoint\",\"label\":\"Settlement Point\",\"dataType\":\"VARCHAR\"},"
     "{\"name\":\"LMP\",\"label\":\"LMP\",\"dataType\":\"DOUBLE\"}]",
     "SCEDTimestampFrom", "SCEDTimestampTo", false},
    {API "/np6-345-cd/act_sys_load_by_wzn", R_ACT, "NP6-345-CD", "act_sys_load_by_wzn",
     "Actual System Load by Weather Zone",
     "[{\"name\":\"operatingDay\",\"dataType\":\"DATE\"},{\"name\":\"hourEnding\",\"dataType\":\"VARCHAR\"},"
     "{\"name\":\"coast\",\"dataType\":\"DOUBLE\"},{\"name\":\"east\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"farWest\",\"dataType\":\"DOUBLE\"},{\"name\":\"north\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"northCentral\",\"dataType\":\"DOUBLE\"},{\"name\":\"southern\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"southCentral\",\"dataType\":\"DOUBLE\"},{\"name\":\"west\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"total\",\"dataType\":\"DOUBLE\"},{\"name\":\"DSTFlag\",\"dataType\":\"BOOLEAN\"}]",
     "operatingDayFrom", "operatingDayTo", true},
    {API "/np3-560-cd/7d_load_fcast_by_fzn", R_FC, "NP3-560-CD", "7d_load_fcast_by_fzn",
     "Seven-Day Load Forecast by Forecast Zone",
     "[{\"name\":\"postedDatetime\",\"dataType\":\"DATETIME\"},{\"name\":\"deliveryDate\",\"dataType\":\"DATE\"},"
     "{\"name\":\"hourEnding\",\"dataType\":\"VARCHAR\"},{\"name\":\"north\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"south\",\"dataType\":\"DOUBLE\"},{\"name\":\"west\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"houston\",\"dataType\":\"DOUBLE\"},{\"name\":\"systemTotal\",\"dataType\":\"DOUBLE\"},"
     "{\"name\":\"inUseFlag\",\"dataType\":\"BOOLEAN\"},{\"name\":\"DSTFlag\",\"dataType\":\"BOOLEAN\"}]",
     "postedDatetimeFrom", "postedDatetimeTo", false},
};

static int api_report(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep,
                      const struct api_report *ar) {
  if (!api_gate(ctx, req, rep))
    return 0;
  const char *fv = req->arg(req, ar->from), *tv = req->arg(req, ar->to);
  char msg[160];
  long page = 1, size = 1000;
  const char *pv = req->arg(req, "page"), *sv = req->arg(req, "size");
  if (pv && *pv)
    page = strtol(pv, NULL, 10);
  if (sv && *sv)
    size = strtol(sv, NULL, 10);
  if (page < 1 || size < 1 || size > 1000000) {
    apim_error(ctx, req, 400, "page must be >= 1 and size 1..1000000", rep);
    return 0;
  }
  au_time now = au_sim_now(ctx);
  struct au_buf data = AU_BUF_INIT(AU_SIM_MAX_BODY);
  struct gen g = {ctx, ar->r, true, &data, 0, (size_t)(page - 1) * (size_t)size, (size_t)page * (size_t)size,
                  NULL, 0};
  if (ar->r != R_ACT && ar->r != R_FC) {
    const char *sp = req->arg(req, "settlementPoint");
    g.only = sp && *sp ? sp : NULL;
  }
  int rc = 0;
  if (ar->days) {
    int y0, m0, d0, y1, m1, d1;
    if (!parse_ymd(fv, &y0, &m0, &d0) || !parse_ymd(tv, &y1, &m1, &d1)) {
      snprintf(msg, sizeof(msg), "%s and %s are required (yyyy-MM-dd)", ar->from, ar->to);
      apim_error(ctx, req, 400, msg, rep);
      au_buf_release(&data);
      return 0;
    }
    int64_t a = au_days_from_civil(y0, m0, d0), z = au_days_from_civil(y1, m1, d1);
    if (z < a || z - a >= MAX_SPAN_DAYS) {
      apim_error(ctx, req, 400, "date range must be 1..31 days", rep);
      au_buf_release(&data);
      return 0;
    }
    for (int64_t day = a; day <= z && !rc; day++)
      rc = gen_day(&g, day, now);
  } else {
    au_time a, z;
    if (!parse_local_ts(fv, &a) || !parse_local_ts(tv, &z) || z < a || z - a > MAX_SPAN_DAYS * AU_DAY) {
      snprintf(msg, sizeof(msg), "%s and %s are required (yyyy-MM-ddTHH:mm:ss), at most 31 days apart", ar->from,
               ar->to);
      apim_error(ctx, req, 400, msg, rep);
      au_buf_release(&data);
      return 0;
    }
    if (ar->r == R_FC) {
      for (au_time p = first_post_at_or_after(a); p <= z && p <= now && !rc; p += AU_HOUR)
        rc = gen_vintage(&g, p);
    } else { /* SCED: stamps in [a, z] */
      int y, m, d;
      au_tz_local_date(ctz(), a - AU_HOUR, &y, &m, &d);
      int64_t day = au_days_from_civil(y, m, d);
      au_tz_local_date(ctz(), z, &y, &m, &d);
      int64_t last = au_days_from_civil(y, m, d);
      char name[32];
      const char *type;
      for (; day <= last && !rc; day++)
        for (au_time t = day_start(day); t < day_start(day + 1) && !rc; t += 5 * AU_MINUTE) {
          au_time ts = sced_stamp(au_sim_seed(ctx), t);
          if (ts < a || ts > z || ts > now)
            continue;
          for (int i = 0; !rc && point_at(R_SCED, i, name, sizeof(name), &type); i++)
            rc = sced_row(&g, t, name);
        }
    }
  }
  if (rc) {
    au_buf_release(&data);
    return rc;
  }
  size_t total = g.count, pages = total ? (total + (size_t)size - 1) / (size_t)size : 0;
  size_t served = g.hi < total ? g.hi - g.lo : total > g.lo ? total - g.lo : 0;
  struct au_buf *b = &rep->body;
  rc = au_buf_grow(b, data.len + 2048);
  if (!rc)
    rc = au_buf_printf(b,
                       "{\"_meta\":{\"totalRecords\":%zu,\"pageSize\":%ld,\"totalPages\":%zu,\"currentPage\":%ld,"
                       "\"query\":{\"parameterCount\":2,\"parameters\":{\"%s\":\"%s\",\"%s\":\"%s\"}}},"
                       "\"report\":{\"reportEMIL\":\"%s\",\"reportName\":\"%s\",\"reportDisplayName\":\"%s\"},"
                       "\"fields\":%s,\"data\":[",
                       total, size, pages, page, ar->from, fv, ar->to, tv, ar->emil, ar->name, ar->display, ar->fields);
  if (!rc && data.len)
    rc = au_buf_add(b, data.ptr, data.len);
  if (!rc)
    rc = au_buf_adds(b, "],\"_links\":null}");
  au_buf_release(&data);
  rep->rows = served;
  return rc;
}

/* --- MIS ---------------------------------------------------------------------------------- */

/* DocID = ((posting unix seconds) * 8 + report) * 2 + xml */
static uint64_t doc_id(au_time post, enum rep r, bool xml) {
  return ((uint64_t)(post / AU_USEC) * 8 + (uint64_t)r) * 2 + (xml ? 1 : 0);
}

/* Posting times of report r in [from, to], oldest first: calls fn for each. */
typedef int (*post_fn)(void *arg, au_time post);

static int each_post(enum rep r, uint64_t seed, au_time from, au_time to, post_fn fn, void *arg) {
  int rc = 0;
  const struct au_tz *tz = ctz();
  switch (r) {
  case R_RT: { /* 90 s after each 15-minute interval ends */
    au_time e = from - 90 * AU_USEC;
    au_time rem = ((e % (15 * AU_MINUTE)) + 15 * AU_MINUTE) % (15 * AU_MINUTE);
    if (rem)
      e += 15 * AU_MINUTE - rem; /* the first interval end at or after from - 90 s */
    for (; e + 90 * AU_USEC <= to && !rc; e += 15 * AU_MINUTE)
      if (e + 90 * AU_USEC >= from)
        rc = fn(arg, e + 90 * AU_USEC);
    break;
  }
  case R_SCED: { /* 60 s after each SCED run */
    au_time t = from - 2 * AU_MINUTE - 5 * AU_MINUTE;
    t -= ((t % (5 * AU_MINUTE)) + 5 * AU_MINUTE) % (5 * AU_MINUTE);
    for (; !rc; t += 5 * AU_MINUTE) {
      au_time p = sced_stamp(seed, t) + 60 * AU_USEC;
      if (p > to)
        break;
      if (p >= from)
        rc = fn(arg, p);
    }
    break;
  }
  case R_FC:
    for (au_time p = first_post_at_or_after(from); p <= to && !rc; p += AU_HOUR)
      rc = fn(arg, p);
    break;
  case R_DA:
  case R_ACT: { /* daily: DAM 12:30, actual load 05:50 */
    int y, m, d;
    au_tz_local_date(tz, from, &y, &m, &d);
    int64_t day = au_days_from_civil(y, m, d);
    for (;; day++) {
      au_civil_from_days(day, &y, &m, &d);
      au_time p;
      au_tz_from_local(tz, y, m, d, r == R_DA ? 12 : 5, r == R_DA ? 30 : 50, 0, AU_FOLD_EARLIER, true, &p);
      if (p > to || rc)
        break;
      if (p >= from)
        rc = fn(arg, p);
    }
    break;
  }
  default:
    break;
  }
  return rc;
}

/* The content's time reference of a posting: RT interval start, SCED interval start, DAM /
 * actual trade day (as days), forecast posting. */
static void friendly_of(enum rep r, uint64_t seed, au_time post, char *buf, size_t n, bool *xhr) {
  AU_UNUSED(seed);
  struct label L;
  label_of(post, &L);
  *xhr = L.repeated;
  if (r == R_RT) {
    struct au_civil e;
    au_tz_to_local(ctz(), post - 90 * AU_USEC, &e);
    snprintf(buf, n, "%s_%04d%02d%02d_%02d%02d%s", rep_friendly[r], e.year, e.month, e.day, e.hour, e.minute,
             *xhr ? "_xhr" : "");
  } else {
    snprintf(buf, n, "%s%s", rep_friendly[r], *xhr ? "_xhr" : "");
  }
}

struct listst {
  struct au_sim_ctx *ctx;
  enum rep r;
  struct au_buf *b;
  int32_t now_off; /* ERCOT stamps the offset in force now on every date */
  size_t n;
};

static int list_one(void *arg, au_time post) {
  struct listst *ls = arg;
  struct au_civil c, x;
  au_tz_to_local(ctz(), post, &c);
  au_tz_to_local(ctz(), post + 7 * AU_DAY, &x);
  char fr[96];
  bool xhr;
  friendly_of(ls->r, au_sim_seed(ls->ctx), post, fr, sizeof(fr), &xhr);
  int oh = -ls->now_off / 3600;
  int rc = 0;
  for (int xml = 1; xml >= 0 && !rc; xml--) {
    rc = au_buf_printf(
        ls->b,
        "%s{\"Document\":{\"ExpiredDate\":\"%04d-%02d-%02dT23:59:59-%02d:00\",\"ILMStatus\":\"EXT\","
        "\"SecurityStatus\":\"P\",\"ContentSize\":\"%d\",\"Extension\":\"zip\",\"ReportTypeID\":\"%d\","
        "\"Prefix\":\"cdr\",\"FriendlyName\":\"%s_%s\",\"ConstructedName\":\"cdr.%08d.0000000000000000.%04d%02d%02d."
        "%02d%02d%02d%03d.%s_%s.zip\",\"DocID\":\"%llu\",\"PublishDate\":\"%04d-%02d-%02dT%02d:%02d:%02d-%02d:00\","
        "\"ReportName\":\"%s\",\"DUNS\":\"0000000000000000\",\"DocCount\":\"0\"}}",
        ls->n ? "," : "", x.year, x.month, x.day, oh, 1000 + xml * 200, rep_type_id[ls->r], fr, xml ? "xml" : "csv",
        rep_type_id[ls->r], c.year, c.month, c.day, c.hour, c.minute, c.second, xml ? 495 : 586, fr,
        xml ? "xml" : "csv", (unsigned long long)doc_id(post, ls->r, xml), c.year, c.month, c.day, c.hour, c.minute,
        c.second, oh, rep_name[ls->r]);
    ls->n++;
  }
  return rc;
}

static int mis_list(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *v = req->arg(req, "reportTypeId");
  enum rep r = 0;
  for (int k = 1; k < R_N; k++)
    if (v && atoi(v) == rep_type_id[k])
      r = (enum rep)k;
  rep->content_type = "application/json;charset=UTF-8";
  if (r == 0) /* unknown report types list nothing */
    return au_buf_adds(&rep->body, "{\"ListDocsByRptTypeRes\":{\"DocumentList\":null}}");
  au_time now = au_sim_now(ctx);
  struct listst ls = {ctx, r, &rep->body, au_tz_offset(ctz(), now), 0};
  struct au_buf tmp = AU_BUF_INIT(AU_SIM_MAX_BODY);
  ls.b = &tmp;
  int rc = each_post(r, au_sim_seed(ctx), now - (au_time)rep_retention_days[r] * AU_DAY, now, list_one, &ls);
  if (!rc)
    rc = au_buf_adds(&rep->body, "{\"ListDocsByRptTypeRes\":{\"DocumentList\":[");
  if (!rc && tmp.len)
    rc = au_buf_add(&rep->body, tmp.ptr, tmp.len);
  if (!rc)
    rc = au_buf_adds(&rep->body, "]}}");
  au_buf_release(&tmp);
  rep->rows = ls.n;
  return rc;
}

static int match_post(void *arg, au_time post) {
  return *(au_time *)arg == post ? 1 : 0;
}

static bool is_posting(enum rep r, uint64_t seed, au_time post) {
  au_time want = post;
  return each_post(r, seed, post, post, match_post, &want) == 1;
}

static int mis_download(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *v = req->arg(req, "doclookupId");
  unsigned long long id = v ? strtoull(v, NULL, 10) : 0;
  bool xml = id & 1;
  enum rep r = (enum rep)((id >> 1) % 8);
  au_time post = (au_time)((id >> 1) / 8) * AU_USEC;
  au_time now = au_sim_now(ctx);
  if (!v || r < R_RT || r >= R_N || xml || post > now || post < now - (au_time)rep_retention_days[r] * AU_DAY) {
    rep->status = 404;
    rep->content_type = "text/html";
    return au_buf_adds(&rep->body, "<html><body>The requested document was not found.</body></html>");
  }
  /* the document must be one that is listed */
  if (!is_posting(r, au_sim_seed(ctx), post)) {
    rep->status = 404;
    rep->content_type = "text/html";
    return au_buf_adds(&rep->body, "<html><body>The requested document was not found.</body></html>");
  }
  struct au_buf csv = AU_BUF_INIT(AU_SIM_MAX_BODY);
  struct gen g = {ctx, r, false, &csv, 0, 0, SIZE_MAX, NULL, 0};
  const char *hdr = NULL;
  int rc = 0;
  switch (r) {
  case R_RT:
    hdr = "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,SettlementPointPrice,"
          "DSTFlag\r\n";
    break;
  case R_DA: hdr = "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\r\n"; break;
  case R_SCED: hdr = "SCEDTimestamp,RepeatedHourFlag,SettlementPoint,LMP\r\n"; break;
  case R_ACT: hdr = "OperDay,HourEnding,COAST,EAST,FAR_WEST,NORTH,NORTH_C,SOUTHERN,SOUTH_C,WEST,TOTAL,DSTFlag\r\n"; break;
  default: hdr = "DeliveryDate,HourEnding,North,South,West,Houston,SystemTotal,DSTFlag    \r\n"; break;
  }
  rc = au_buf_adds(&csv, hdr);
  char name[32];
  const char *type;
  int y, m, d;
  au_tz_local_date(ctz(), post, &y, &m, &d);
  int64_t pday = au_days_from_civil(y, m, d);
  if (!rc) {
    switch (r) {
    case R_RT: {
      au_time t = post - 90 * AU_USEC - 15 * AU_MINUTE;
      for (int i = 0; !rc && point_at(R_RT, i, name, sizeof(name), &type); i++)
        rc = price_row(&g, t, name, type);
      break;
    }
    case R_SCED: {
      au_time ts = post - 60 * AU_USEC, t = ts - (((ts % (5 * AU_MINUTE)) + 5 * AU_MINUTE) % (5 * AU_MINUTE));
      for (int i = 0; !rc && point_at(R_SCED, i, name, sizeof(name), &type); i++)
        rc = sced_row(&g, t, name);
      break;
    }
    case R_DA: rc = gen_day(&g, pday + 1, now); break;
    case R_ACT: rc = gen_day(&g, pday - 1, now); break;
    default: rc = gen_vintage(&g, post); break;
    }
  }
  char fr[96], member[192];
  bool xhr;
  friendly_of(r, au_sim_seed(ctx), post, fr, sizeof(fr), &xhr);
  struct au_civil c;
  au_tz_to_local(ctz(), post, &c);
  snprintf(member, sizeof(member), "cdr.%08d.0000000000000000.%04d%02d%02d.%02d%02d%02d.%s.csv", rep_type_id[r],
           c.year, c.month, c.day, c.hour, c.minute, c.second, fr);
  if (!rc) {
    const char *names[1] = {member}, *datas[1] = {csv.ptr};
    size_t lens[1] = {csv.len};
    struct au_err err = AU_ERR_INIT;
    /* the member's time is the document's post time: same request, same bytes */
    rc = au_zipw_build_at(&rep->body, names, datas, lens, 1, post, au_sim_ctx_config(ctx)->zip_level, &err);
  }
  rep->content_type = "application/zip";
  rep->rows = g.count;
  au_buf_release(&csv);
  return rc;
}

static int ercot_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  if (!ctz())
    return AU_E_INVAL;
  const char *p = req->path + strlen(SIM_PREFIX);
  if (strcmp(p, "/b2c" TOKEN_PATH) == 0)
    return token(ctx, req, rep);
  if (strcmp(p, "/mis" MIS_LIST) == 0)
    return mis_list(ctx, req, rep);
  if (strcmp(p, "/mis" MIS_DL) == 0)
    return mis_download(ctx, req, rep);
  if (strncmp(p, API "/", sizeof(API)) == 0)
    for (size_t i = 0; i < AU_ARRAY_LEN(api_reports); i++)
      if (strcmp(p, api_reports[i].path) == 0)
        return api_report(ctx, req, rep, &api_reports[i]);
  apim_error(ctx, req, 404, "Resource not found", rep);
  return 0;
}

/* Exposed for the benchmark and tests: the number of settlement points of RT / DAM / SCED. */
int au_sim_ercot_points(int report);
int au_sim_ercot_points(int report) { return report >= R_RT && report <= R_SCED ? points_total((enum rep)report) : 0; }

const struct au_sim_handler au_sim_ercot = {"ercot", SIM_PREFIX "/", ercot_handle, apim_error};

/* ERCOT's real paths on each of its hosts, mapped onto the /ercot/<host> layout above:
 * api.ercot.com/api/public-reports/..., ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/...,
 * www.ercot.com/misapp/... and /misdownload/... */
static int ercot_handle_real(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  char path[1024];
  const char *host = "";
  if (strncmp(req->path, "/ercotb2c.onmicrosoft.com/", 26) == 0)
    host = "/b2c";
  else if (strncmp(req->path, "/misapp/", 8) == 0 || strncmp(req->path, "/misdownload/", 13) == 0)
    host = "/mis";
  snprintf(path, sizeof(path), SIM_PREFIX "%s%s", host, req->path);
  struct au_sim_request r2 = *req;
  r2.path = path;
  return ercot_handle(ctx, &r2, rep);
}
const struct au_sim_handler au_sim_ercot_api = {"ercot", API "/", ercot_handle_real, apim_error};
const struct au_sim_handler au_sim_ercot_b2c = {"ercot", "/ercotb2c.onmicrosoft.com/", ercot_handle_real, apim_error};
const struct au_sim_handler au_sim_ercot_misapp = {"ercot", "/misapp/", ercot_handle_real, apim_error};
const struct au_sim_handler au_sim_ercot_misdl = {"ercot", "/misdownload/", ercot_handle_real, apim_error};

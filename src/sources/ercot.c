/* ercot.c - ERCOT: settlement point prices, SCED LMPs and load, from the public API
 * (api.ercot.com, default) or the legacy MIS report files (option mode: mis).
 *
 * Public API (iso-apis.md §3.1):
 *   POST {token_url}  username, password, grant_type=password, scope, client_id,
 *                     response_type=id_token  -> {"id_token": ..., "expires_in": 3600}
 *   GET  {base}/<emil>/<report>?<filters>&page=P&size=S
 *        Authorization: Bearer <id_token>, Ocp-Apim-Subscription-Key: <key>
 *   -> {"_meta": {"totalPages", "currentPage", ...}, "fields": [{"name", ...}], "data": [[...]]}
 * The id token lives one hour and cannot be refreshed: it is fetched (through ctx->http,
 * the one allowed pre-flight) on first use, cached in ctx->priv and fetched again shortly
 * before it expires. `data` rows are arrays decoded through the `fields` names (never by
 * position). Further pages (_meta.currentPage < totalPages) are pushed to `more`.
 *
 * MIS (iso-apis.md §3.2, no auth):
 *   GET {mis_base}/misapp/servlets/IceDocListJsonWS?reportTypeId=N  -> document list
 *   GET {mis_base}/misdownload/servlets/mirDownload?doclookupId=ID   -> ZIP with one CSV
 * The list is filtered to the `_csv` documents posted in the window (shifted per report,
 * see mis_lo/mis_hi); each is downloaded as a follow-up request.
 *
 * Clock: Central prevailing time (America/Chicago). Hour-ending in several spellings
 * ("01:00", "1:00", "14", "24:00"); DeliveryHour + DeliveryInterval (1-4) for 15-minute
 * data; DSTFlag / RepeatedHourFlag = Y marks the second (standard-time) instance of the
 * repeated hour on the fall-back day (AU_FOLD_LATER). A label whose interval start falls
 * in the spring-forward gap is read one hour earlier (ERCOT's "start + 1 h" labelling).
 * Rows are keyed on the UTC interval start; the conversion happens once, here.
 *
 * ERCOT publishes settlement point prices and LMPs without components: energy,
 * congestion and loss stay NULL. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "parse/csv.h"
#include "parse/json.h"
#include "parse/zip.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERCOT_TZ "America/Chicago"
#define ERCOT_ISO "ERCOT"
#define DEFAULT_TOKEN_URL                                                                          \
  "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
#define DEFAULT_CLIENT_ID "fec253ea-0d06-4272-a5e6-b478baeecd70"
#define CRED_KEY "ERCOT_API_KEY"
#define CRED_LOGIN "ERCOT_API_USERNAME/ERCOT_API_PASSWORD"
#define MAX_ZONES 16
#define MAX_DOCS_DEFAULT "3000"

enum kind { K_SPP_RT = 0, K_SPP_DA, K_SCED, K_LOAD_ACT, K_LOAD_FC };

/* Per-table private data. */
struct tpriv {
  enum kind kind;
  const char *api_path;   /* under the API base */
  const char *day_param;  /* "deliveryDate" -> deliveryDateFrom/To (NULL: time params) */
  const char *time_param; /* "SCEDTimestamp" / "postedDatetime" -> ...From/To */
  int report_type_id;     /* MIS */
  const char *market;
  int minutes;
  int64_t mis_lo_min, mis_hi_min; /* MIS: documents posted in [ws+lo, we+hi) (minutes) */
};

static const struct tpriv tp_spp_rt = {K_SPP_RT, "/np6-905-cd/spp_node_zone_hub", "deliveryDate", NULL,
                                       12301, "RTM", 15, 0, 60};
static const struct tpriv tp_spp_da = {K_SPP_DA, "/np4-190-cd/dam_stlmnt_pnt_prices", "deliveryDate", NULL,
                                       12331, "DAM", 60, -1440, -1440 + 60 * 23};
static const struct tpriv tp_sced = {K_SCED, "/np6-788-cd/lmp_node_zone_hub", NULL, "SCEDTimestamp",
                                     12300, "SCED", 5, 0, 10};
static const struct tpriv tp_load_act = {K_LOAD_ACT, "/np6-345-cd/act_sys_load_by_wzn", "operatingDay", NULL,
                                         13101, "ACTUAL", 60, 0, 1440 + 720};
static const struct tpriv tp_load_fc = {K_LOAD_FC, "/np3-560-cd/7d_load_fcast_by_fzn", NULL, "postedDatetime",
                                        12311, "7DA", 60, 0, 0};

static const struct au_option_def ercot_opts[] = {
    {"username", AU_OPT_STR, NULL, "ERCOT_API_USERNAME", "ERCOT API account (B2C user name / e-mail)", false},
    {"password", AU_OPT_STR, NULL, "ERCOT_API_PASSWORD", "ERCOT API account password", true},
    {"api_key", AU_OPT_STR, NULL, "ERCOT_API_KEY",
     "subscription key (header Ocp-Apim-Subscription-Key); ERCOT_PUBLIC_API_SUBSCRIPTION_KEY also read", true},
    {"id_token", AU_OPT_STR, NULL, "ERCOT_API_ID_TOKEN",
     "a ready id token (skips the username/password token request)", true},
    {"token_url", AU_OPT_STR, DEFAULT_TOKEN_URL, "AURUM_ERCOT_TOKEN_URL", "B2C ROPC token endpoint", false},
    {"client_id", AU_OPT_STR, DEFAULT_CLIENT_ID, NULL, "B2C client id (also in scope)", false},
    {"mode", AU_OPT_STR, "api", "AURUM_ERCOT_MODE", "api (public API, default) or mis (MIS report files)", false},
    {"mis_base", AU_OPT_STR, "https://www.ercot.com", "AURUM_ERCOT_MIS_BASE",
     "MIS host (mode mis): {mis_base}/misapp/servlets/IceDocListJsonWS, .../misdownload/servlets/mirDownload",
     false},
    {"page_size", AU_OPT_INT, "50000", NULL, "API rows per page (size parameter)", false},
    {"mis_max_docs", AU_OPT_INT, MAX_DOCS_DEFAULT, NULL, "MIS: most documents downloaded per window", false},
    {"settlement_point", AU_OPT_STR, NULL, NULL, "API: only this settlement point (price tables)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

static const struct au_table_def ercot_tables[] = {
    {.name = "spp_rt_15min",
     .description = "Real-time settlement point prices, 15 min (NP6-905-CD), hubs, load zones, resource nodes",
     .schema = &au_lmp_schema, .dest_table = "ercot_spp_rt_15min", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = ERCOT_TZ, .interval_minutes = 15, .default_batch_days = 1,
     .default_lookback_hours = 2, .default_history_days = 7, .default_rate_delay = 0, .max_request_days = 1,
     .priv = &tp_spp_rt},
    {.name = "spp_da_hourly", .description = "Day-ahead settlement point prices, hourly (NP4-190-CD)",
     .schema = &au_lmp_schema, .dest_table = "ercot_spp_da_hourly", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = ERCOT_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 24, .default_history_days = 30, .default_rate_delay = 0, .max_request_days = 7,
     .priv = &tp_spp_da},
    {.name = "lmp_sced", .description = "LMPs per SCED run at resource nodes, hubs and load zones (NP6-788-CD)",
     .schema = &au_lmp_schema, .dest_table = "ercot_lmp_sced", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = ERCOT_TZ, .interval_minutes = 5, .default_batch_days = 1,
     .default_lookback_hours = 1, .default_history_days = 2, .default_rate_delay = 0, .max_request_days = 1,
     .priv = &tp_sced},
    {.name = "load_actual_weather_zone", .description = "Actual system load by weather zone, hourly (NP6-345-CD)",
     .schema = &au_load_schema, .dest_table = "ercot_load_actual_weather_zone",
     .cursor_col = "interval_start_utc", .watermark_requires = "load_mw", .trade_tz = ERCOT_TZ,
     .interval_minutes = 60, .default_batch_days = 7, .default_lookback_hours = 48, .default_history_days = 30,
     .default_rate_delay = 0, .max_request_days = 31, .priv = &tp_load_act},
    {.name = "load_forecast",
     .description = "Seven-day load forecast by forecast zone, every vintage (NP3-560-CD); window = posting time",
     .schema = &au_load_schema, .dest_table = "ercot_load_forecast", .cursor_col = "publish_time_utc",
     .watermark_requires = NULL, .trade_tz = ERCOT_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 2, .default_history_days = 2, .default_rate_delay = 0, .max_request_days = 1,
     .priv = &tp_load_fc},
};

static const char *const ercot_base_env[] = {"AURUM_ERCOT_BASE", "ERCOT_BASE_URL", NULL};

/* --- private state ---------------------------------------------------------------- */

struct fc_seen { /* forecast rows with an ambiguous (repeated-hour) postedDatetime */
  au_time publish, start;
  uint32_t loc;
};

struct epriv {
  char *token;
  double token_expires; /* au_mono() seconds */
  int token_fetches;
  struct fc_seen *seen;
  size_t nseen, capseen;
};

static int ercot_init(struct au_source_ctx *ctx, struct au_err *err) {
  const char *mode = au_opts_get(ctx->opts, "mode");
  if (mode && *mode && strcmp(mode, "api") != 0 && strcmp(mode, "mis") != 0)
    return au_err_set(err, AU_E_CONFIG, "ercot: option mode: want 'api' or 'mis', got '%s'", mode);
  ctx->priv = au_xcalloc(1, sizeof(struct epriv));
  return 0;
}

static void ercot_fini(struct au_source_ctx *ctx) {
  struct epriv *p = ctx->priv;
  if (p) {
    free(p->token);
    free(p->seen);
    free(p);
  }
  ctx->priv = NULL;
}

static bool mis_mode(const struct au_source_ctx *ctx) {
  const char *m = au_opts_get(ctx->opts, "mode");
  return m && strcmp(m, "mis") == 0;
}

static int opt_int(const struct au_source_ctx *ctx, const char *name, int def) {
  const char *v = au_opts_get(ctx->opts, name);
  if (!v || !*v)
    return def;
  int n = atoi(v);
  return n > 0 ? n : def;
}

static const char *api_key(const struct au_source_ctx *ctx) {
  const char *k = au_opts_get(ctx->opts, "api_key");
  if (!k || !*k)
    k = getenv("ERCOT_PUBLIC_API_SUBSCRIPTION_KEY");
  return k && *k ? k : NULL;
}

/* --- the id token -------------------------------------------------------------------- */

static int form_add(struct au_buf *b, const char *name, const char *value) {
  if (b->len && au_buf_addc(b, '&'))
    return AU_E_TOOBIG;
  if (au_buf_adds(b, name) || au_buf_addc(b, '='))
    return AU_E_TOOBIG;
  return au_url_encode(b, value);
}

static int fetch_token(struct au_source_ctx *ctx, struct epriv *p, struct au_err *err) {
  const char *user = au_opts_get(ctx->opts, "username"), *pass = au_opts_get(ctx->opts, "password");
  if (!user || !*user || !pass || !*pass)
    return au_err_set(err, AU_E_CONFIG,
                      "ercot: no API account: set ERCOT_API_USERNAME and ERCOT_API_PASSWORD (or "
                      "sources.ercot.username/password), or use mode: mis");
  if (!ctx->http)
    return au_err_set(err, AU_E_CONFIG, "ercot: no HTTP client for the id token request");
  const char *url = au_opts_get(ctx->opts, "token_url");
  const char *cid = au_opts_get(ctx->opts, "client_id");
  if (!url || !*url)
    url = DEFAULT_TOKEN_URL;
  if (!cid || !*cid)
    cid = DEFAULT_CLIENT_ID;
  char scope[160];
  snprintf(scope, sizeof(scope), "openid %s offline_access", cid);
  /* The parameters go in the query string of the POST (as gridstatus does; the form body is
   * equivalent for B2C); "password" is redacted from logged URLs by the HTTP core. */
  struct au_buf body = AU_BUF_INIT(1 << 16);
  int rc = au_buf_adds(&body, url) || au_buf_addc(&body, strchr(url, '?') ? '&' : '?') ? AU_E_TOOBIG : 0;
  struct au_buf form = AU_BUF_INIT(1 << 16);
  if (!rc)
    rc = form_add(&form, "username", user);
  if (!rc)
    rc = form_add(&form, "password", pass);
  if (!rc)
    rc = form_add(&form, "grant_type", "password");
  if (!rc)
    rc = form_add(&form, "scope", scope);
  if (!rc)
    rc = form_add(&form, "client_id", cid);
  if (!rc)
    rc = form_add(&form, "response_type", "id_token");
  if (!rc && au_buf_add(&body, form.ptr, form.len))
    rc = AU_E_TOOBIG;
  au_buf_release(&form);
  if (rc) {
    au_buf_release(&body);
    return au_err_set(err, rc, "ercot: token request too large");
  }
  struct au_http_header hdr[] = {{"Accept", "application/json"}};
  struct au_http_request hr = {.method = "POST", .url = body.ptr, .headers = hdr, .nheaders = 1,
                               .body = "", .body_len = 0, .credential = CRED_LOGIN,
                               .label = "ercot id token"};
  struct au_http_response resp;
  au_http_response_init(&resp);
  rc = au_http_do(ctx->http, &hr, &resp, err);
  au_buf_release(&body);
  if (rc) {
    au_err_prefix(err, "ercot id token");
    au_http_response_release(&resp);
    return rc;
  }
  json_error_t jerr;
  json_t *root = resp.body.len ? json_loadb(resp.body.ptr, resp.body.len, 0, &jerr) : NULL;
  if (resp.status != 200) {
    json_t *e = root ? json_object_get(root, "error") : NULL;
    json_t *d = root ? json_object_get(root, "error_description") : NULL;
    bool denied = resp.status == 400 && e && json_is_string(e) &&
                  (!strcmp(json_string_value(e), "invalid_grant") ||
                   !strcmp(json_string_value(e), "invalid_request"));
    rc = au_err_set(err, denied ? AU_E_AUTH : AU_E_HTTP,
                    "ercot id token: HTTP %ld from the token endpoint%s%s%s: check the credential %s",
                    resp.status, e && json_is_string(e) ? ": " : "", e && json_is_string(e) ? json_string_value(e) : "",
                    d && json_is_string(d) ? " (see error_description)" : "", CRED_LOGIN);
  } else if (!root) {
    rc = au_err_set(err, AU_E_PARSE, "ercot id token: invalid JSON at line %d, column %d (byte %d): %s",
                    jerr.line, jerr.column, jerr.position, jerr.text);
  } else {
    json_t *t = json_object_get(root, "id_token");
    json_t *x = json_object_get(root, "expires_in");
    double ttl = 3600;
    if (x && json_is_number(x))
      ttl = json_number_value(x);
    else if (x && json_is_string(x))
      ttl = atof(json_string_value(x));
    if (!t || !json_is_string(t) || !json_string_length(t)) {
      rc = au_err_set(err, AU_E_PARSE, "ercot id token: the token response has no id_token");
    } else {
      free(p->token);
      p->token = au_xstrdup(json_string_value(t));
      if (ttl < 1)
        ttl = 1;
      double margin = ttl / 4 < 300 ? ttl / 4 : 300;
      p->token_expires = au_mono() + ttl - margin;
      p->token_fetches++;
      au_debug("ercot", "id token fetched (valid %.0fs, refetched after %.0fs)", ttl, ttl - margin);
    }
  }
  json_decref(root);
  au_http_response_release(&resp);
  return rc;
}

/* The bearer token to send now (fetched or fetched again when close to expiry). */
static int bearer(struct au_source_ctx *ctx, const char **out, struct au_err *err) {
  const char *given = au_opts_get(ctx->opts, "id_token");
  if (given && *given) {
    *out = given;
    return 0;
  }
  struct epriv *p = ctx->priv;
  if (!p)
    return au_err_set(err, AU_E_INVAL, "ercot: source not initialised");
  if (!p->token || au_mono() >= p->token_expires) {
    int rc = fetch_token(ctx, p, err);
    if (rc)
      return rc;
  }
  *out = p->token;
  return 0;
}

/* --- planning -------------------------------------------------------------------------- */

static void fmt_local_date(const struct au_tz *tz, au_time t, char *buf, size_t n) {
  int y, m, d;
  au_tz_local_date(tz, t, &y, &m, &d);
  snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
}

static void fmt_local_time(const struct au_tz *tz, au_time t, char *buf, size_t n) {
  struct au_civil c;
  au_tz_to_local(tz, t, &c);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute, c.second);
}

static int api_request(struct au_source_ctx *ctx, const struct tpriv *tp, const struct au_tz *tz, au_time ws,
                       au_time we, int page, struct au_reqlist *out, struct au_err *err) {
  const char *key = api_key(ctx);
  if (!key)
    return au_err_set(err, AU_E_CONFIG,
                      "ercot: no subscription key: set ERCOT_API_KEY (or sources.ercot.api_key), or use mode: mis");
  const char *tok = NULL;
  int rc = bearer(ctx, &tok, err);
  if (rc)
    return rc;
  struct au_buf u = AU_BUF_INIT(8192);
  char a[32], b[32];
  if (tp->day_param) {
    fmt_local_date(tz, ws, a, sizeof(a));
    fmt_local_date(tz, we - 1, b, sizeof(b));
    rc = au_buf_printf(&u, "%s%s?%sFrom=%s&%sTo=%s", ctx->base_url, tp->api_path, tp->day_param, a, tp->day_param, b);
  } else {
    fmt_local_time(tz, ws, a, sizeof(a));
    fmt_local_time(tz, we - AU_USEC, b, sizeof(b));
    rc = au_buf_printf(&u, "%s%s?%sFrom=%s&%sTo=%s", ctx->base_url, tp->api_path, tp->time_param, a,
                       tp->time_param, b);
  }
  const char *sp = au_opts_get(ctx->opts, "settlement_point");
  if (!rc && sp && *sp && (tp->kind == K_SPP_RT || tp->kind == K_SPP_DA || tp->kind == K_SCED)) {
    rc = au_buf_adds(&u, "&settlementPoint=");
    if (!rc)
      rc = au_url_encode(&u, sp);
  }
  if (!rc)
    rc = au_buf_printf(&u, "&page=%d&size=%d", page, opt_int(ctx, "page_size", 50000));
  if (rc) {
    au_buf_release(&u);
    return au_err_set(err, AU_E_CONFIG, "ercot: request URL too long");
  }
  struct au_request *r = au_reqlist_push(out);
  au_request_set_url(r, u.ptr);
  au_buf_release(&u);
  char auth[4096];
  snprintf(auth, sizeof(auth), "Bearer %s", tok);
  au_request_add_header(r, "Authorization", auth);
  au_request_add_header(r, "Ocp-Apim-Subscription-Key", key);
  au_request_add_header(r, "Accept", "application/json");
  r->credential = CRED_KEY " (or the id token of " CRED_LOGIN ")";
  r->win_start = ws;
  r->win_end = we;
  r->cookie = page;
  r->cookie2 = 0;
  snprintf(r->label, sizeof(r->label), "ercot.%s %s..%s page %d", ctx->table->name, a, b, page);
  return 0;
}

static int mis_list_request(struct au_source_ctx *ctx, const struct tpriv *tp, const struct au_tz *tz, au_time ws,
                            au_time we, struct au_reqlist *out) {
  const char *mb = au_opts_get(ctx->opts, "mis_base");
  if (!mb || !*mb)
    mb = "https://www.ercot.com";
  size_t n = strlen(mb);
  while (n > 1 && mb[n - 1] == '/')
    n--;
  char url[1024];
  snprintf(url, sizeof(url), "%.*s/misapp/servlets/IceDocListJsonWS?reportTypeId=%d", (int)n, mb,
           tp->report_type_id);
  struct au_request *r = au_reqlist_push(out);
  au_request_set_url(r, url);
  r->credential = NULL;
  r->win_start = ws;
  r->win_end = we;
  r->cookie = 0;
  r->cookie2 = 1; /* document list */
  char a[32], b[32];
  fmt_local_date(tz, ws, a, sizeof(a));
  fmt_local_date(tz, we - 1, b, sizeof(b));
  snprintf(r->label, sizeof(r->label), "ercot.%s mis list %d %s..%s", ctx->table->name, tp->report_type_id, a, b);
  return 0;
}

static int ercot_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                      struct au_err *err) {
  const struct tpriv *tp = ctx->table->priv;
  const struct au_tz *tz = au_tz_get(ERCOT_TZ, err);
  if (!tz)
    return err->code;
  if (end <= start)
    return 0;
  if (mis_mode(ctx))
    return mis_list_request(ctx, tp, tz, start, end, out);
  /* API: split into pieces of max_request_days trade days */
  int maxd = ctx->table->max_request_days > 0 ? ctx->table->max_request_days : 1;
  au_time ws = start;
  while (ws < end) {
    int y, m, d;
    au_tz_local_date(tz, ws, &y, &m, &d);
    int64_t day = au_days_from_civil(y, m, d) + maxd;
    au_civil_from_days(day, &y, &m, &d);
    au_time we = au_tz_day_start(tz, y, m, d);
    if (we > end || we <= ws)
      we = end;
    int rc = api_request(ctx, tp, tz, ws, we, 1, out, err);
    if (rc)
      return rc;
    ws = we;
  }
  return 0;
}

/* --- clock ----------------------------------------------------------------------------- */

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return n > 0;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* "MM/DD/YYYY" (MIS) or "YYYY-MM-DD" (API), optionally followed by a time part that is
 * ignored here. */
static bool parse_date(const char *s, size_t n, int *y, int *m, int *d) {
  while (n && (*s == ' ' || *s == '"')) {
    s++;
    n--;
  }
  if (n >= 10 && s[2] == '/' && s[5] == '/' && digits(s, 2) && digits(s + 3, 2) && digits(s + 6, 4)) {
    *m = num2(s);
    *d = num2(s + 3);
    *y = num2(s + 6) * 100 + num2(s + 8);
  } else if (n >= 10 && s[4] == '-' && s[7] == '-' && digits(s, 4) && digits(s + 5, 2) && digits(s + 8, 2)) {
    *y = num2(s) * 100 + num2(s + 2);
    *m = num2(s + 5);
    *d = num2(s + 8);
  } else {
    return false;
  }
  if (*m < 1 || *m > 12 || *d < 1 || *d > 31)
    return false;
  int ry, rm, rd;
  au_civil_from_days(au_days_from_civil(*y, *m, *d), &ry, &rm, &rd);
  return ry == *y && rm == *m && rd == *d;
}

/* Hour-ending "01:00", "1:00", "14", "24:00", "24" (and "25" of 25-hour files) -> 1..25. */
static bool parse_hour_ending(const char *s, size_t n, int *he) {
  while (n && (*s == ' ' || *s == '"'))
    s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '"' || s[n - 1] == '\r'))
    n--;
  size_t k = 0;
  while (k < n && s[k] >= '0' && s[k] <= '9')
    k++;
  if (k == 0 || k > 2)
    return false;
  int h = k == 1 ? s[0] - '0' : num2(s);
  if (k < n) {
    if (n - k != 3 || s[k] != ':' || s[k + 1] != '0' || s[k + 2] != '0')
      return false;
  }
  if (h < 1 || h > 25)
    return false;
  *he = h;
  return true;
}

/* Y/N, true/false, 1/0; empty = N. */
static bool parse_flag(const char *s, size_t n, bool *out) {
  while (n && *s == ' ')
    s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
    n--;
  if (n == 0) {
    *out = false;
    return true;
  }
  char c = (char)(s[0] | 0x20);
  if (n == 1 && (c == 'y' || c == '1'))
    *out = true;
  else if (n == 1 && (c == 'n' || c == '0'))
    *out = false;
  else if (n == 4 && !strncasecmp(s, "true", 4))
    *out = true;
  else if (n == 5 && !strncasecmp(s, "false", 5))
    *out = false;
  else if (n == 3 && !strncasecmp(s, "yes", 3))
    *out = true;
  else if (n == 2 && !strncasecmp(s, "no", 2))
    *out = false;
  else
    return false;
  return true;
}

/* UTC instant of the local wall time (y, m, d) + minute_of_day. `later` picks the second
 * instance of a repeated time. A time in the spring-forward gap belongs to the hour ERCOT
 * labels one hour "late" (its wall clock read one hour earlier, in standard time). */
static int local_to_utc(const struct au_tz *tz, int y, int m, int d, int minute_of_day, bool later, au_time *out) {
  int h = minute_of_day / 60, mi = minute_of_day % 60;
  if (au_tz_from_local(tz, y, m, d, h, mi, 0, later ? AU_FOLD_LATER : AU_FOLD_EARLIER, false, out) == 0)
    return 0;
  if (au_tz_from_local(tz, y, m, d, h + 1, mi, 0, AU_FOLD_EARLIER, false, out) == 0) {
    *out -= AU_HOUR;
    return 0;
  }
  return AU_E_INVAL;
}

/* Start (UTC) of the interval labelled (date, hour-ending he, interval 1..per_hour) of
 * `minutes` length; `repeated` = DSTFlag Y. Exposed for tests and the simulator's checks. */
int au_ercot_interval_start(int y, int m, int d, int he, int interval, int minutes, bool repeated, au_time *out);
int au_ercot_interval_start(int y, int m, int d, int he, int interval, int minutes, bool repeated, au_time *out) {
  const struct au_tz *tz = au_tz_get(ERCOT_TZ, NULL);
  if (!tz || he < 1 || he > 24 || interval < 1 || minutes < 1 || interval * minutes > 60)
    return AU_E_INVAL;
  return local_to_utc(tz, y, m, d, (he - 1) * 60 + (interval - 1) * minutes, repeated, out);
}

/* Files with hours 1..25 on the fall-back day (no flag): hour-ending counts elapsed hours
 * of the trade day. */
int au_ercot_elapsed_hour_start(int y, int m, int d, int he, au_time *out);
int au_ercot_elapsed_hour_start(int y, int m, int d, int he, au_time *out) {
  const struct au_tz *tz = au_tz_get(ERCOT_TZ, NULL);
  if (!tz || he < 1 || he > 25)
    return AU_E_INVAL;
  au_time t0 = au_tz_day_start(tz, y, m, d);
  int64_t day = au_days_from_civil(y, m, d) + 1;
  int ny, nm, nd;
  au_civil_from_days(day, &ny, &nm, &nd);
  au_time t1 = au_tz_day_start(tz, ny, nm, nd);
  au_time t = t0 + (au_time)(he - 1) * AU_HOUR;
  if (t >= t1)
    return AU_E_INVAL;
  *out = t;
  return 0;
}

/* "MM/DD/YYYY HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS" local wall time. */
static bool parse_local_stamp(const char *s, size_t n, int *y, int *mo, int *d, int *h, int *mi, int *sec) {
  if (!parse_date(s, n, y, mo, d))
    return false;
  while (n && *s == ' ')
    s++, n--;
  if (n < 16 || (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2))
    return false;
  *h = num2(s + 11);
  *mi = num2(s + 14);
  *sec = 0;
  if (n >= 19 && s[16] == ':' && digits(s + 17, 2))
    *sec = num2(s + 17);
  return *h < 24 && *mi < 60 && *sec < 61;
}

/* --- settlement point types ---------------------------------------------------------------- */

/* Location type (and whether the id gets the _EW suffix) from SettlementPointType, or from
 * the name when there is no type column. */
static const char *loc_type(const char *type, size_t tn, const char *name, size_t nn, bool *ew) {
  *ew = false;
  if (type && tn) {
    char t[16];
    size_t k = 0;
    for (size_t i = 0; i < tn && k + 1 < sizeof(t); i++)
      if (type[i] != ' ' && type[i] != '_')
        t[k++] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
    t[k] = 0;
    if (!strcmp(t, "HU") || !strcmp(t, "SH") || !strcmp(t, "AH") || !strcmp(t, "HUB"))
      return "HUB";
    if (!strcmp(t, "LZ"))
      return "ZONE";
    if (!strcmp(t, "LZEW")) {
      *ew = true;
      return "ZONE_EW";
    }
    if (!strcmp(t, "LZDC"))
      return "DC_TIE";
    if (!strcmp(t, "LZDCEW")) {
      *ew = true;
      return "DC_TIE_EW";
    }
    if (!strcmp(t, "RN") || !strcmp(t, "PCCRN") || !strcmp(t, "PUN"))
      return "NODE";
  }
  if (nn >= 3 && !strncmp(name, "HB_", 3))
    return "HUB";
  if (nn >= 3 && !strncmp(name, "LZ_", 3))
    return "ZONE";
  if (nn >= 3 && !strncmp(name, "DC_", 3))
    return "DC_TIE";
  return "NODE";
}

/* --- record decoding (shared by API JSON and MIS CSV) ---------------------------------------- */

enum fld { F_DATE, F_HOUR, F_INTERVAL, F_POINT, F_TYPE, F_PRICE, F_DST, F_TS, F_POSTED, F_INUSE, NF };
static const char *const fld_names[NF] = {"date", "hour", "interval", "settlement point", "settlement point type",
                                          "price", "DSTFlag", "SCEDTimestamp", "postedDatetime", "inUseFlag"};

struct alias {
  const char *norm;
  enum fld f;
};
static const struct alias aliases[] = {
    {"deliverydate", F_DATE},        {"operday", F_DATE},
    {"operatingday", F_DATE},        {"hourending", F_HOUR},
    {"deliveryhour", F_HOUR},        {"deliveryinterval", F_INTERVAL},
    {"settlementpoint", F_POINT},    {"settlementpointname", F_POINT},
    {"busname", F_POINT},            {"electricalbus", F_POINT},
    {"settlementpointtype", F_TYPE}, {"settlementpointprice", F_PRICE},
    {"lmp", F_PRICE},                {"dstflag", F_DST},
    {"repeatedhourflag", F_DST},     {"repeathourflag", F_DST},
    {"scedtimestamp", F_TS},         {"posteddatetime", F_POSTED},
    {"inuseflag", F_INUSE},
};

struct zone {
  const char *norm, *id, *type;
};
/* Weather zones (NP6-345-CD, NP3-561/565-CD), forecast zones (NP3-560-CD), totals. */
static const struct zone wz[] = {
    {"coast", "COAST", "WEATHER_ZONE"},      {"east", "EAST", "WEATHER_ZONE"},
    {"farwest", "FAR_WEST", "WEATHER_ZONE"}, {"north", "NORTH", "WEATHER_ZONE"},
    {"northc", "NORTH_C", "WEATHER_ZONE"},   {"northcentral", "NORTH_C", "WEATHER_ZONE"},
    {"southern", "SOUTHERN", "WEATHER_ZONE"}, {"southc", "SOUTH_C", "WEATHER_ZONE"},
    {"southcentral", "SOUTH_C", "WEATHER_ZONE"}, {"west", "WEST", "WEATHER_ZONE"},
    {"total", "TOTAL", "SYSTEM"},            {"systemtotal", "TOTAL", "SYSTEM"},
};
static const struct zone fz[] = {
    {"north", "NORTH", "FORECAST_ZONE"}, {"south", "SOUTH", "FORECAST_ZONE"},
    {"west", "WEST", "FORECAST_ZONE"},   {"houston", "HOUSTON", "FORECAST_ZONE"},
    {"total", "TOTAL", "SYSTEM"},        {"systemtotal", "TOTAL", "SYSTEM"},
};

static size_t normalise(const char *s, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      out[k++] = (char)(c + 32);
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      out[k++] = c;
  }
  out[k] = 0;
  return k;
}

struct pst {
  struct au_source_ctx *ctx;
  const struct tpriv *tp;
  const struct au_tz *tz;
  struct au_batch *out;
  int fcol[NF];
  int nz;
  struct {
    int col;
    const char *id, *type;
    uint32_t id_sid;
  } z[MAX_ZONES];
  bool mapped;
  au_time publish; /* MIS forecast: the document's posting time; AU_TIME_NONE otherwise */
  bool filter;     /* keep rows whose start is in [ws, we) */
  au_time ws, we;
  const char *member; /* zip member name (MIS) */
  uint64_t emitted;
};

static int map_header(struct pst *ps, const char *const *names, const size_t *lens, size_t n, struct au_err *err) {
  for (int f = 0; f < NF; f++)
    ps->fcol[f] = -1;
  ps->nz = 0;
  /* which zone family: weather zones if any weather-only name is present */
  bool weather = false;
  char nb[64];
  for (size_t i = 0; i < n; i++) {
    normalise(names[i], lens[i], nb, sizeof(nb));
    if (!strcmp(nb, "coast") || !strcmp(nb, "east") || !strcmp(nb, "farwest") || !strncmp(nb, "northc", 6) ||
        !strncmp(nb, "southc", 6) || !strcmp(nb, "southern"))
      weather = true;
  }
  const struct zone *zt = weather ? wz : fz;
  size_t nzt = weather ? AU_ARRAY_LEN(wz) : AU_ARRAY_LEN(fz);
  bool is_load = ps->tp->kind == K_LOAD_ACT || ps->tp->kind == K_LOAD_FC;
  for (size_t i = 0; i < n; i++) {
    normalise(names[i], lens[i], nb, sizeof(nb));
    bool hit = false;
    for (size_t a = 0; a < AU_ARRAY_LEN(aliases); a++)
      if (!strcmp(nb, aliases[a].norm)) {
        if (ps->fcol[aliases[a].f] < 0)
          ps->fcol[aliases[a].f] = (int)i;
        hit = true;
        break;
      }
    if (hit || !is_load)
      continue;
    for (size_t k = 0; k < nzt; k++)
      if (!strcmp(nb, zt[k].norm) && ps->nz < MAX_ZONES) {
        ps->z[ps->nz].col = (int)i;
        ps->z[ps->nz].id = zt[k].id;
        ps->z[ps->nz].type = zt[k].type;
        ps->z[ps->nz].id_sid = au_batch_intern(ps->out, zt[k].id, strlen(zt[k].id));
        ps->nz++;
        break;
      }
  }
  static const enum fld need_rt[] = {F_DATE, F_HOUR, F_INTERVAL, F_POINT, F_PRICE};
  static const enum fld need_da[] = {F_DATE, F_HOUR, F_POINT, F_PRICE};
  static const enum fld need_sced[] = {F_TS, F_POINT, F_PRICE};
  static const enum fld need_load[] = {F_DATE, F_HOUR};
  const enum fld *need;
  size_t nneed;
  switch (ps->tp->kind) {
  case K_SPP_RT: need = need_rt, nneed = AU_ARRAY_LEN(need_rt); break;
  case K_SPP_DA: need = need_da, nneed = AU_ARRAY_LEN(need_da); break;
  case K_SCED: need = need_sced, nneed = AU_ARRAY_LEN(need_sced); break;
  default: need = need_load, nneed = AU_ARRAY_LEN(need_load); break;
  }
  for (size_t k = 0; k < nneed; k++)
    if (ps->fcol[need[k]] < 0)
      return au_err_set(err, AU_E_PARSE, "header has no %s column (%zu columns)", fld_names[need[k]], n);
  if (is_load && ps->nz == 0)
    return au_err_set(err, AU_E_PARSE, "header has no zone columns (%zu columns)", n);
  if (ps->tp->kind == K_LOAD_FC && ps->fcol[F_POSTED] < 0 && ps->publish == AU_TIME_NONE)
    return au_err_set(err, AU_E_PARSE, "forecast has no postedDatetime column and no posting time");
  ps->mapped = true;
  return 0;
}

/* Remember forecast rows posted in a repeated hour; a second row with the same
 * (posting, interval, zone) is the later (standard-time) posting. */
static bool seen_before(struct epriv *p, au_time publish, au_time start, uint32_t loc) {
  for (size_t i = 0; i < p->nseen; i++)
    if (p->seen[i].publish == publish && p->seen[i].start == start && p->seen[i].loc == loc)
      return true;
  if (p->nseen == p->capseen) {
    p->capseen = p->capseen ? p->capseen * 2 : 256;
    p->seen = au_xrealloc(p->seen, p->capseen * sizeof(*p->seen));
  }
  p->seen[p->nseen++] = (struct fc_seen){publish, start, loc};
  return false;
}

/* Put the record's name in front of an error of emit(), which leaves it out (its messages
 * start ", column 3 ..." or ": ..."): the name is formatted only when a record fails, not
 * for every row. */
static int lead_error(struct au_err *err, const char *where) {
  char tmp[AU_ERR_MSG_MAX];
  size_t a = strnlen(where, sizeof(tmp) - 1), b = strnlen(err->msg, sizeof(tmp) - 1 - a);
  memcpy(tmp, where, a);
  memcpy(tmp + a, err->msg, b);
  tmp[a + b] = 0;
  memcpy(err->msg, tmp, a + b + 1);
  return err->code;
}

/* One record: v[i]/vl[i] the cells of the source row (ncells of them). Errors leave out the
 * record's name; the caller adds it with lead_error(). */
static int emit(struct pst *ps, const char *const *v, const size_t *vl, size_t ncells, struct au_err *err) {
#define CELL(f) (ps->fcol[f] >= 0 && (size_t)ps->fcol[f] < ncells)
#define S(f) v[ps->fcol[f]]
#define L(f) vl[ps->fcol[f]]
  const struct tpriv *tp = ps->tp;
  bool rep = false;
  if (CELL(F_DST) && !parse_flag(S(F_DST), L(F_DST), &rep))
    return au_err_set(err, AU_E_PARSE, ", column %d (%s): not a Y/N flag: '%.20s'", ps->fcol[F_DST] + 1,
                      fld_names[F_DST], S(F_DST));
  au_time start;
  int y = 0, m = 0, d = 0;
  if (tp->kind == K_SCED) {
    int h, mi, sec;
    if (!CELL(F_TS) || !parse_local_stamp(S(F_TS), L(F_TS), &y, &m, &d, &h, &mi, &sec))
      return au_err_set(err, AU_E_PARSE, ", column %d (SCEDTimestamp): not a local time: '%.30s'",
                        ps->fcol[F_TS] + 1, CELL(F_TS) ? S(F_TS) : "");
    au_time ts;
    if (au_tz_from_local(ps->tz, y, m, d, h, mi, sec, rep ? AU_FOLD_LATER : AU_FOLD_EARLIER, true, &ts))
      return au_err_set(err, AU_E_PARSE, ", column %d (SCEDTimestamp): invalid time", ps->fcol[F_TS] + 1);
    start = ts - (((ts % (5 * AU_MINUTE)) + 5 * AU_MINUTE) % (5 * AU_MINUTE));
  } else {
    if (!CELL(F_DATE) || !parse_date(S(F_DATE), L(F_DATE), &y, &m, &d))
      return au_err_set(err, AU_E_PARSE, ", column %d (%s): not a date: '%.30s'", ps->fcol[F_DATE] + 1,
                        fld_names[F_DATE], CELL(F_DATE) ? S(F_DATE) : "");
    int he;
    if (!CELL(F_HOUR) || !parse_hour_ending(S(F_HOUR), L(F_HOUR), &he) || he > 24)
      return au_err_set(err, AU_E_PARSE, ", column %d (hour ending): not an hour 1-24: '%.20s'",
                        ps->fcol[F_HOUR] + 1, CELL(F_HOUR) ? S(F_HOUR) : "");
    int iv = 1;
    if (tp->kind == K_SPP_RT) {
      int64_t x;
      if (!CELL(F_INTERVAL) || au_parse_int64(S(F_INTERVAL), L(F_INTERVAL), &x) || x < 1 || x > 4)
        return au_err_set(err, AU_E_PARSE, ", column %d (DeliveryInterval): not an interval 1-4: '%.20s'",
                          ps->fcol[F_INTERVAL] + 1, CELL(F_INTERVAL) ? S(F_INTERVAL) : "");
      iv = (int)x;
    }
    if (local_to_utc(ps->tz, y, m, d, (he - 1) * 60 + (iv - 1) * tp->minutes, rep, &start))
      return au_err_set(err, AU_E_PARSE, ": no such local time (%04d-%02d-%02d hour %d)", y, m, d, he);
  }
  if (ps->filter && (start < ps->ws || start >= ps->we))
    return 0;
  au_time end = start + (au_time)tp->minutes * AU_MINUTE;

  if (tp->kind == K_SPP_RT || tp->kind == K_SPP_DA || tp->kind == K_SCED) {
    const char *name = S(F_POINT);
    size_t nn = L(F_POINT);
    while (nn && name[nn - 1] == ' ')
      nn--;
    while (nn && *name == ' ')
      name++, nn--;
    if (nn == 0 || nn > 128)
      return au_err_set(err, AU_E_PARSE, ", column %d (settlement point): empty or too long",
                        ps->fcol[F_POINT] + 1);
    bool ew;
    const char *lt = loc_type(CELL(F_TYPE) ? S(F_TYPE) : NULL, CELL(F_TYPE) ? L(F_TYPE) : 0, name, nn, &ew);
    double price = 0;
    bool has = !au_str_is_blank_or_dash(S(F_PRICE), L(F_PRICE));
    if (has && au_parse_double(S(F_PRICE), L(F_PRICE), &price))
      return au_err_set(err, AU_E_PARSE, ", column %d (price): not a number: '%.30s'",
                        ps->fcol[F_PRICE] + 1, S(F_PRICE));
    struct au_batch *b = ps->out;
    au_batch_add_row(b);
    au_batch_set_time(b, AU_LMP_START, start);
    au_batch_set_time(b, AU_LMP_END, end);
    if (ew) {
      char id[160];
      memcpy(id, name, nn);
      memcpy(id + nn, "_EW", 3);
      au_batch_set_text(b, AU_LMP_LOC_ID, id, nn + 3);
    } else {
      au_batch_set_text(b, AU_LMP_LOC_ID, name, nn);
    }
    au_batch_set_text(b, AU_LMP_LOC_NAME, name, nn);
    au_batch_set_text(b, AU_LMP_LOC_TYPE, lt, strlen(lt));
    if (has)
      au_batch_set_double(b, AU_LMP_LMP, price);
    au_lmp_set_meta(b, ERCOT_ISO, tp->market, "USD/MWh", ERCOT_TZ, tp->minutes, ps->ctx->ingestion_time);
    ps->emitted++;
    return 0;
  }

  /* load: one row per zone column */
  au_time publish = end;
  bool ambiguous_post = false;
  if (tp->kind == K_LOAD_FC) {
    if (CELL(F_INUSE)) {
      bool inuse;
      if (!parse_flag(S(F_INUSE), L(F_INUSE), &inuse))
        return au_err_set(err, AU_E_PARSE, ", column %d (inUseFlag): not a flag", ps->fcol[F_INUSE] + 1);
      if (!inuse)
        return 0;
    }
    if (ps->publish != AU_TIME_NONE) {
      publish = ps->publish;
    } else {
      int py, pm, pd, ph, pmi, psec;
      if (!CELL(F_POSTED) || !parse_local_stamp(S(F_POSTED), L(F_POSTED), &py, &pm, &pd, &ph, &pmi, &psec))
        return au_err_set(err, AU_E_PARSE, ", column %d (postedDatetime): not a local time: '%.30s'",
                          ps->fcol[F_POSTED] + 1, CELL(F_POSTED) ? S(F_POSTED) : "");
      au_time e, l;
      au_tz_from_local(ps->tz, py, pm, pd, ph, pmi, psec, AU_FOLD_EARLIER, true, &e);
      au_tz_from_local(ps->tz, py, pm, pd, ph, pmi, psec, AU_FOLD_LATER, true, &l);
      publish = e;
      ambiguous_post = e != l;
      if (ambiguous_post && ps->ctx->priv &&
          seen_before(ps->ctx->priv, e, start, (uint32_t)(CELL(F_DST) && rep ? 1 : 0)))
        publish = l;
    }
  }
  for (int k = 0; k < ps->nz; k++) {
    if ((size_t)ps->z[k].col >= ncells)
      return au_err_set(err, AU_E_PARSE, ": %zu cells, zone column %d missing", ncells, ps->z[k].col + 1);
    const char *s = v[ps->z[k].col];
    size_t n = vl[ps->z[k].col];
    double mw = 0;
    bool has = !au_str_is_blank_or_dash(s, n);
    if (has && au_parse_double(s, n, &mw))
      return au_err_set(err, AU_E_PARSE, ", column %d (%s): not a number: '%.30s'", ps->z[k].col + 1,
                        ps->z[k].id, s);
    struct au_batch *b = ps->out;
    au_batch_add_row(b);
    au_batch_set_time(b, AU_LOAD_START, start);
    au_batch_set_time(b, AU_LOAD_END, end);
    au_batch_set_text(b, AU_LOAD_LOC_ID, ps->z[k].id, strlen(ps->z[k].id));
    au_batch_set_text(b, AU_LOAD_LOC_TYPE, ps->z[k].type, strlen(ps->z[k].type));
    if (has)
      au_batch_set_double(b, AU_LOAD_MW, mw);
    au_batch_set_time(b, AU_LOAD_PUBLISHED, publish);
    au_load_set_meta(b, ERCOT_ISO, tp->market, ERCOT_TZ, tp->minutes, ps->ctx->ingestion_time);
    ps->emitted++;
  }
  return 0;
#undef CELL
#undef S
#undef L
}

/* --- API JSON ---------------------------------------------------------------------------- */

static int http_error(const struct au_response *resp, struct au_err *err) {
  int n = resp->len > 300 ? 300 : (int)resp->len;
  return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
}

/* The body streams through yajl (parse/json.h): {"_meta":{..},"fields":[{"name":..},..],
 * "data":[[v,..],..]}. Each data row's cells are copied into one small arena until the row
 * closes, then decoded like a CSV record; a page costs its rows, not a document tree. When
 * "data" comes before "fields" (ERCOT sends fields first), a second pass over the same
 * bytes reads the rows with the names the first pass collected. */
#define API_MAX_FIELDS 256
#define API_MAX_CELL (1u << 16)

enum ew { EW_TOP, EW_ROOT, EW_FIELDS, EW_FIELD, EW_DATA, EW_ROW, EW_META, EW_SKIP };

struct eapi {
  struct pst *ps;
  const struct au_request *req;
  struct au_err *err;
  int rc;
  int pass;            /* 1: everything in document order; 2: data only (fields came after it) */
  enum ew w, back;
  int depth, skip_from;
  enum { ER_OTHER, ER_FIELDS, ER_DATA, ER_META, ER_MESSAGE } rootkey;
  int cur;             /* in a field: 1 = "name"; in _meta: 1 = totalPages, 2 = currentPage */
  /* fields */
  bool fields_seen, fields_done, data_before_fields;
  size_t nf;
  bool field_named;
  struct au_buf names;  /* NUL-separated names */
  size_t name_off[API_MAX_FIELDS], name_len[API_MAX_FIELDS];
  char message[160];
  /* data */
  bool data_seen, data_bad;
  size_t nrows;
  size_t ncell;
  struct au_buf cells;  /* the current row's cells, each NUL-terminated */
  size_t cell_off[API_MAX_FIELDS], cell_len[API_MAX_FIELDS];
  /* _meta */
  bool total_set, cur_set;
  int64_t total, current;
};

static int ea_fail(struct eapi *a, int rc) {
  a->rc = rc;
  return 0; /* stop yajl */
}

static void ea_skip(struct eapi *a) {
  a->back = a->w;
  a->w = EW_SKIP;
  a->skip_from = a->depth;
}

static void ea_where(const struct eapi *a, char *buf, size_t n) {
  snprintf(buf, n, "data row %zu (page %lld)", a->nrows + 1, (long long)(a->req->cookie ? a->req->cookie : 1));
}

static int fields_done(struct eapi *a) {
  a->fields_done = true;
  if (a->nf == 0 || a->nf > API_MAX_FIELDS)
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "response has %zu fields", a->nf));
  const char *names[API_MAX_FIELDS];
  for (size_t i = 0; i < a->nf; i++)
    names[i] = a->names.ptr + a->name_off[i];
  struct pst *ps = a->ps;
  const struct tpriv *tp = ps->tp;
  if (tp->kind == K_LOAD_FC && a->req->cookie <= 1 && ps->ctx->priv)
    ((struct epriv *)ps->ctx->priv)->nseen = 0;
  int rc = map_header(ps, names, a->name_len, a->nf, a->err);
  if (rc) {
    au_err_prefix(a->err, "\"fields\"");
    return ea_fail(a, rc);
  }
  return 1;
}

static int cell_add(struct eapi *a, const char *s, size_t n) {
  char where[64];
  if (a->ncell >= a->nf) {
    ea_where(a, where, sizeof(where));
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "%s: not an array of %zu values", where, a->nf));
  }
  if (n > API_MAX_CELL) {
    ea_where(a, where, sizeof(where));
    return ea_fail(a, au_err_set(a->err, AU_E_TOOBIG, "%s, column %zu: value longer than %u bytes", where, a->ncell + 1,
                                 API_MAX_CELL));
  }
  a->cell_off[a->ncell] = a->cells.len;
  a->cell_len[a->ncell] = n;
  if (au_buf_add(&a->cells, s, n) || au_buf_addc(&a->cells, 0))
    return ea_fail(a, au_err_set(a->err, AU_E_NOMEM, "out of memory"));
  a->ncell++;
  return 1;
}

static int row_done(struct eapi *a) {
  char where[64];
  if (a->ncell != a->nf) {
    ea_where(a, where, sizeof(where));
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "%s: not an array of %zu values", where, a->nf));
  }
  const char *v[API_MAX_FIELDS];
  for (size_t i = 0; i < a->nf; i++)
    v[i] = a->cells.ptr + a->cell_off[i];
  int rc = emit(a->ps, v, a->cell_len, a->nf, a->err);
  if (rc) {
    ea_where(a, where, sizeof(where));
    lead_error(a->err, where);
  }
  a->nrows++;
  return rc ? ea_fail(a, rc) : 1;
}

/* a scalar: s/n is the text (NULL for null, "Y"/"N" for booleans) */
static int ea_scalar(struct eapi *a, bool is_str, const char *s, size_t n) {
  switch (a->w) {
  case EW_TOP:
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "JSON top level is not an object"));
  case EW_ROOT:
    if (a->rootkey == ER_MESSAGE && is_str && a->pass == 1)
      snprintf(a->message, sizeof(a->message), "%.*s", (int)(n < 150 ? n : 150), s);
    else if (a->rootkey == ER_DATA && s) /* "data": null is an empty page */
      a->data_bad = true;
    return 1;
  case EW_FIELDS: /* a field that is not an object */
    if (a->pass == 2)
      return 1;
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "fields[%zu] has no \"name\"", a->nf));
  case EW_FIELD:
    if (a->cur == 1 && is_str && a->pass == 1 && a->nf < API_MAX_FIELDS) {
      a->name_off[a->nf] = a->names.len;
      a->name_len[a->nf] = n < 200 ? n : 200;
      if (au_buf_add(&a->names, s, a->name_len[a->nf]) || au_buf_addc(&a->names, 0))
        return ea_fail(a, au_err_set(a->err, AU_E_NOMEM, "out of memory"));
      a->field_named = true;
    }
    a->cur = 0;
    return 1;
  case EW_DATA: { /* a row that is not an array */
    char where[64];
    ea_where(a, where, sizeof(where));
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "%s: not an array of %zu values", where, a->nf));
  }
  case EW_ROW:
    return cell_add(a, s ? s : "", s ? n : 0);
  case EW_META:
    if (a->cur && !is_str && s && n < 19 && !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
      char tmp[24];
      memcpy(tmp, s, n);
      tmp[n] = 0;
      if (a->cur == 1) {
        a->total = strtoll(tmp, NULL, 10);
        a->total_set = true;
      } else {
        a->current = strtoll(tmp, NULL, 10);
        a->cur_set = true;
      }
    }
    a->cur = 0;
    return 1;
  default:
    return 1;
  }
}

static int ea_null(void *c) { return ea_scalar(c, false, NULL, 0); }
static int ea_bool(void *c, int v) { return ea_scalar(c, false, v ? "Y" : "N", 1); }
static int ea_number(void *c, const char *s, size_t n) { return ea_scalar(c, false, s, n); }
static int ea_string(void *c, const unsigned char *s, size_t n) { return ea_scalar(c, true, (const char *)s, n); }

static int ea_start(struct eapi *a, bool map) {
  a->depth++;
  switch (a->w) {
  case EW_TOP:
    if (!map)
      return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "JSON top level is not an object"));
    a->w = EW_ROOT;
    return 1;
  case EW_ROOT:
    if (a->rootkey == ER_FIELDS && !map && a->pass == 1) {
      a->fields_seen = true;
      a->w = EW_FIELDS;
      return 1;
    }
    if (a->rootkey == ER_DATA) {
      if (map) {
        a->data_bad = true;
      } else if (a->pass == 1 && !a->fields_done) { /* rows before names: read them in pass 2 */
        a->data_before_fields = true;
        a->data_seen = true;
      } else {
        a->data_seen = true;
        a->w = EW_DATA;
        return 1;
      }
    }
    if (a->rootkey == ER_META && map && a->pass == 1) {
      a->w = EW_META;
      a->cur = 0;
      return 1;
    }
    ea_skip(a);
    return 1;
  case EW_FIELDS:
    if (!map)
      return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "fields[%zu] has no \"name\"", a->nf));
    a->w = EW_FIELD;
    a->field_named = false;
    a->cur = 0;
    return 1;
  case EW_DATA:
    if (map) {
      char where[64];
      ea_where(a, where, sizeof(where));
      return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "%s: not an array of %zu values", where, a->nf));
    }
    a->w = EW_ROW;
    a->ncell = 0;
    au_buf_reset(&a->cells);
    return 1;
  case EW_ROW: {
    char where[64];
    ea_where(a, where, sizeof(where));
    size_t i = a->ncell < a->nf ? a->ncell : a->nf - 1;
    return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "%s, column %zu (%s): unexpected JSON value", where, a->ncell + 1,
                                 a->names.ptr + a->name_off[i]));
  }
  case EW_SKIP:
    return 1;
  default: /* EW_FIELD, EW_META: a nested value */
    a->cur = 0;
    ea_skip(a);
    return 1;
  }
}

static int ea_start_map(void *c) { return ea_start(c, true); }
static int ea_start_array(void *c) { return ea_start(c, false); }

static int ea_end(void *c) {
  struct eapi *a = c;
  a->depth--;
  switch (a->w) {
  case EW_SKIP:
    if (a->depth < a->skip_from)
      a->w = a->back;
    return 1;
  case EW_FIELD:
    a->w = EW_FIELDS;
    if (!a->field_named)
      return ea_fail(a, au_err_set(a->err, AU_E_PARSE, "fields[%zu] has no \"name\"", a->nf));
    a->nf++;
    return 1;
  case EW_FIELDS:
    a->w = EW_ROOT;
    return fields_done(a);
  case EW_ROW:
    a->w = EW_DATA;
    return row_done(a);
  case EW_DATA:
  case EW_META:
    a->w = EW_ROOT;
    return 1;
  case EW_ROOT:
    a->w = EW_TOP;
    return 1;
  default:
    return 1;
  }
}

static int ea_key(void *c, const unsigned char *k, size_t n) {
  struct eapi *a = c;
  switch (a->w) {
  case EW_ROOT:
    a->rootkey = AU_JSON_KEY_IS(k, n, "fields")    ? ER_FIELDS
                 : AU_JSON_KEY_IS(k, n, "data")    ? ER_DATA
                 : AU_JSON_KEY_IS(k, n, "_meta")   ? ER_META
                 : AU_JSON_KEY_IS(k, n, "message") ? ER_MESSAGE
                                     : ER_OTHER;
    return 1;
  case EW_FIELD:
    a->cur = AU_JSON_KEY_IS(k, n, "name") ? 1 : 0;
    return 1;
  case EW_META:
    a->cur = AU_JSON_KEY_IS(k, n, "totalPages") ? 1 : AU_JSON_KEY_IS(k, n, "currentPage") ? 2 : 0;
    return 1;
  default:
    return 1;
  }
}

static const yajl_callbacks ea_callbacks = {
    ea_null, ea_bool, NULL, NULL, ea_number, ea_string, ea_start_map, ea_key, ea_end, ea_start_array, ea_end,
};

static int parse_api(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                     struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  const struct tpriv *tp = ctx->table->priv;
  if (resp->status == 404 && req->cookie > 1)
    return AU_E_NODATA;
  if (resp->status != 200)
    return http_error(resp, err);
  if (resp->len > ((size_t)1 << 31))
    return au_err_set(err, AU_E_TOOBIG, "response of %zu bytes exceeds the 2 GiB limit", resp->len);
  struct pst *ps = au_xcalloc(1, sizeof(*ps));
  ps->ctx = ctx;
  ps->tp = tp;
  ps->tz = au_tz_get(ERCOT_TZ, err);
  ps->out = out;
  ps->publish = AU_TIME_NONE;
  ps->filter = tp->kind == K_SCED;
  ps->ws = req->win_start;
  ps->we = req->win_end;
  struct eapi *a = au_xcalloc(1, sizeof(*a));
  a->ps = ps;
  a->req = req;
  a->err = err;
  a->pass = 1;
  au_buf_init(&a->names, 0);
  au_buf_init(&a->cells, 0);
  size_t before = out->nrows;
  int rc = ps->tz ? 0 : err->code;
  if (rc == 0)
    rc = au_json_stream(&ea_callbacks, a, resp->body, resp->len, &a->rc, err);
  if (rc == 0 && !a->fields_seen)
    rc = au_err_set(err, AU_E_PARSE, "response has no \"fields\" array%s%s", a->message[0] ? ": " : "", a->message);
  if (rc == 0 && a->data_bad)
    rc = au_err_set(err, AU_E_PARSE, "response \"data\" is not an array");
  if (rc == 0 && a->data_before_fields) { /* pass 2: the rows, now that the names are mapped */
    a->pass = 2;
    a->w = EW_TOP;
    a->depth = 0;
    a->rootkey = ER_OTHER;
    rc = au_json_stream(&ea_callbacks, a, resp->body, resp->len, &a->rc, err);
  }
  if (rc)
    goto out;
  /* paging */
  int64_t total = a->total_set ? a->total : 1, cur = req->cookie ? req->cookie : 1;
  if (a->cur_set)
    cur = a->current;
  if (cur < total && total < 100000 && more) {
    rc = api_request(ctx, tp, ps->tz, req->win_start, req->win_end, (int)cur + 1, more, err);
    if (rc)
      goto out;
  }
  if (a->nrows == 0 && cur <= 1)
    rc = AU_E_NODATA;
out:
  if (rc && rc != AU_E_NODATA)
    while (out->nrows > before)
      au_batch_drop_last(out);
  au_buf_release(&a->names);
  au_buf_release(&a->cells);
  free(a);
  free(ps);
  return rc;
}

/* --- MIS ------------------------------------------------------------------------------------ */

/* PublishDate "2025-03-13T12:30:00-05:00": ERCOT stamps the offset in force when the list is
 * served, not at posting, so the offset is ignored and the wall time read as Central
 * prevailing time; a document posted in the repeated hour has "xhr" in its FriendlyName. */
static int mis_publish(const struct au_tz *tz, const char *pd, const char *friendly, au_time *out) {
  int y, m, d, h, mi, s;
  if (!pd || !parse_local_stamp(pd, strlen(pd), &y, &m, &d, &h, &mi, &s))
    return AU_E_PARSE;
  bool xhr = friendly && strcasestr(friendly, "xhr") != NULL;
  return au_tz_from_local(tz, y, m, d, h, mi, s, xhr ? AU_FOLD_LATER : AU_FOLD_EARLIER, true, out);
}

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return v && json_is_string(v) ? json_string_value(v) : NULL;
}

static int parse_mis_list(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                          struct au_reqlist *more, struct au_err *err) {
  const struct tpriv *tp = ctx->table->priv;
  if (resp->status != 200)
    return http_error(resp, err);
  const struct au_tz *tz = au_tz_get(ERCOT_TZ, err);
  if (!tz)
    return err->code;
  json_error_t jerr;
  json_t *root = json_loadb(resp->body, resp->len, 0, &jerr);
  if (!root)
    return au_err_set(err, AU_E_PARSE, "document list: invalid JSON at line %d, column %d (byte %d): %s", jerr.line,
                      jerr.column, jerr.position, jerr.text);
  int rc = 0;
  json_t *one = NULL;
  json_t *res = json_object_get(root, "ListDocsByRptTypeRes");
  json_t *list = res ? json_object_get(res, "DocumentList") : NULL;
  if (!res || !json_is_object(res)) {
    rc = au_err_set(err, AU_E_PARSE, "document list: no ListDocsByRptTypeRes object");
    goto out;
  }
  if (!list || json_is_null(list)) {
    rc = AU_E_NODATA;
    goto out;
  }
  if (json_is_object(list)) { /* a single document may come as an object */
    one = json_array();
    json_array_append(one, list);
    list = one;
  }
  if (!json_is_array(list)) {
    rc = au_err_set(err, AU_E_PARSE, "document list: DocumentList is not an array");
    goto out;
  }
  au_time lo = req->win_start + tp->mis_lo_min * AU_MINUTE, hi = req->win_end + tp->mis_hi_min * AU_MINUTE;
  int maxdocs = opt_int(ctx, "mis_max_docs", atoi(MAX_DOCS_DEFAULT));
  const char *mb = au_opts_get(ctx->opts, "mis_base");
  if (!mb || !*mb)
    mb = "https://www.ercot.com";
  size_t mbn = strlen(mb);
  while (mbn > 1 && mb[mbn - 1] == '/')
    mbn--;
  int picked = 0;
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    json_t *doc = json_is_object(e) ? json_object_get(e, "Document") : NULL;
    if (!doc || !json_is_object(doc)) {
      rc = au_err_set(err, AU_E_PARSE, "document list: entry %zu has no Document object", i + 1);
      break;
    }
    const char *friendly = jstr(doc, "FriendlyName"), *cons = jstr(doc, "ConstructedName");
    const char *id = jstr(doc, "DocID"), *pd = jstr(doc, "PublishDate");
    bool csv = (friendly && strlen(friendly) >= 4 && !strcasecmp(friendly + strlen(friendly) - 4, "_csv")) ||
               (cons && strcasestr(cons, "_csv.zip"));
    if (!csv)
      continue;
    au_time pub;
    if (!id || !*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 20) {
      rc = au_err_set(err, AU_E_PARSE, "document list: entry %zu: missing or bad DocID", i + 1);
      break;
    }
    if (mis_publish(tz, pd, friendly, &pub)) {
      rc = au_err_set(err, AU_E_PARSE, "document list: entry %zu (DocID %s): bad PublishDate '%.40s'", i + 1, id,
                      pd ? pd : "");
      break;
    }
    if (pub < lo || pub >= hi)
      continue;
    if (picked >= maxdocs) {
      au_warn("ercot", "%s: more than %d documents in the window; the rest are skipped (mis_max_docs)", req->label,
              maxdocs);
      break;
    }
    char url[1200];
    snprintf(url, sizeof(url), "%.*s/misdownload/servlets/mirDownload?doclookupId=%s", (int)mbn, mb, id);
    struct au_request *r = au_reqlist_push(more);
    au_request_set_url(r, url);
    r->win_start = req->win_start;
    r->win_end = req->win_end;
    r->cookie = pub;
    r->cookie2 = 2; /* document */
    snprintf(r->label, sizeof(r->label), "ercot.%s mis doc %s (%.60s)", ctx->table->name, id,
             friendly ? friendly : "?");
    picked++;
  }
  if (!rc && picked == 0)
    rc = AU_E_NODATA;
out:
  if (one)
    json_decref(one);
  json_decref(root);
  return rc;
}

struct csvst {
  struct pst *ps;
  bool header;
};

static int csv_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct csvst *cs = arg;
  struct pst *ps = cs->ps;
  if (!cs->header) {
    cs->header = true;
    int rc = map_header(ps, (const char *const *)row->fields, row->lens, row->nfields, err);
    if (rc)
      au_err_prefix(err, "csv line %llu", (unsigned long long)row->line);
    return rc;
  }
  if (row->nfields == 1 && row->lens[0] == 0)
    return 0;
  int rc = emit(ps, (const char *const *)row->fields, row->lens, row->nfields, err);
  if (rc) {
    char where[48];
    snprintf(where, sizeof(where), "csv line %llu", (unsigned long long)row->line);
    lead_error(err, where);
  }
  return rc;
}

struct zipst {
  struct pst *ps;
  struct au_csv *csv;
  struct csvst cs;
  int members;
};

static int z_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  AU_UNUSED(size);
  AU_UNUSED(err);
  struct zipst *z = arg;
  size_t n = strlen(name);
  if (n < 4 || strcasecmp(name + n - 4, ".csv") != 0)
    return 1;
  z->members++;
  z->cs = (struct csvst){z->ps, false};
  z->csv = au_csv_new(NULL, ',', csv_row, &z->cs);
  return 0;
}

static int z_data(void *arg, const char *data, size_t len, struct au_err *err) {
  struct zipst *z = arg;
  return au_csv_feed(z->csv, data, len, err);
}

static int z_end(void *arg, struct au_err *err) {
  struct zipst *z = arg;
  int rc = au_csv_finish(z->csv, err);
  au_csv_free(z->csv);
  z->csv = NULL;
  if (!rc && !z->cs.header)
    rc = au_err_set(err, AU_E_PARSE, "empty CSV (no header line)");
  return rc;
}

/* Parse a MIS CSV report body (ZIP with CSV members, or a bare CSV). publish: the
 * document's posting time (AU_TIME_NONE if unknown). */
static int parse_mis_doc(struct au_source_ctx *ctx, const struct au_request *req, const char *body, size_t len,
                         au_time publish, struct au_batch *out, struct au_err *err) {
  const struct tpriv *tp = ctx->table->priv;
  struct pst *ps = au_xcalloc(1, sizeof(*ps));
  ps->ctx = ctx;
  ps->tp = tp;
  ps->tz = au_tz_get(ERCOT_TZ, err);
  ps->out = out;
  ps->publish = publish;
  ps->filter = tp->kind != K_LOAD_FC && req->win_end > req->win_start;
  ps->ws = req->win_start;
  ps->we = req->win_end;
  int rc = 0;
  if (!ps->tz) {
    rc = err->code;
  } else if (au_zip_looks_like(body, len)) {
    struct zipst z = {ps, NULL, {ps, false}, 0};
    struct au_zip_limits lim = {(uint64_t)1 << 31, (uint64_t)1 << 32, 64, 1000.0};
    rc = au_zip_each(body, len, &lim, z_member, z_data, z_end, &z, err);
    if (z.csv)
      au_csv_free(z.csv);
    if (!rc && z.members == 0)
      rc = au_err_set(err, AU_E_PARSE, "zip has no .csv member");
  } else if (len > 0 && (body[0] == '<' || body[0] == '{')) {
    rc = au_err_set(err, AU_E_PARSE, "byte 0: not a ZIP or CSV report (starts with '%c')", body[0]);
  } else {
    struct csvst cs = {ps, false};
    struct au_csv *c = au_csv_new(NULL, ',', csv_row, &cs);
    rc = au_csv_feed(c, body, len, err);
    if (!rc)
      rc = au_csv_finish(c, err);
    au_csv_free(c);
    if (!rc && !cs.header)
      rc = au_err_set(err, AU_E_PARSE, "empty CSV (no header line)");
  }
  if (!rc && ps->emitted == 0)
    rc = AU_E_NODATA;
  free(ps);
  return rc;
}

/* Posting time from a CDR member name "cdr.<id>.<duns>.YYYYMMDD.HHMMSS[mmm].<NAME>[_xhr].csv". */
int au_ercot_cdr_name_time(const char *name, au_time *out);
int au_ercot_cdr_name_time(const char *name, au_time *out) {
  const struct au_tz *tz = au_tz_get(ERCOT_TZ, NULL);
  if (!tz || strncmp(name, "cdr.", 4) != 0)
    return AU_E_PARSE;
  const char *p = name + 4;
  for (int k = 0; k < 2; k++) {
    p = strchr(p, '.');
    if (!p)
      return AU_E_PARSE;
    p++;
  }
  if (strlen(p) < 15 || !digits(p, 8) || p[8] != '.' || !digits(p + 9, 6))
    return AU_E_PARSE;
  int y = num2(p) * 100 + num2(p + 2), m = num2(p + 4), d = num2(p + 6);
  int h = num2(p + 9), mi = num2(p + 11), s = num2(p + 13);
  bool xhr = strcasestr(p, "xhr") != NULL;
  return au_tz_from_local(tz, y, m, d, h, mi, s, xhr ? AU_FOLD_LATER : AU_FOLD_EARLIER, true, out);
}

static int ercot_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                       struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  if (req->cookie2 == 1)
    return parse_mis_list(ctx, req, resp, more, err);
  if (req->cookie2 == 2) {
    if (resp->status == 404)
      return AU_E_NODATA; /* expired between list and download */
    if (resp->status != 200)
      return http_error(resp, err);
    return parse_mis_doc(ctx, req, resp->body, resp->len, (au_time)req->cookie, out, err);
  }
  return parse_api(ctx, req, resp, out, more, err);
}

/* For tests and the fuzzer: parse a MIS report body for table `t` (no window filter). */
int au_ercot_parse_mis_body(struct au_source_ctx *ctx, const char *body, size_t len, au_time publish,
                            struct au_batch *out, struct au_err *err);
int au_ercot_parse_mis_body(struct au_source_ctx *ctx, const char *body, size_t len, au_time publish,
                            struct au_batch *out, struct au_err *err) {
  struct au_request req;
  memset(&req, 0, sizeof(req));
  return parse_mis_doc(ctx, &req, body, len, publish, out, err);
}

const struct au_source_ops au_source_ercot = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "ercot",
    .title = "Electric Reliability Council of Texas (public API / MIS)",
    .default_base = "https://api.ercot.com/api/public-reports",
    .base_env = ercot_base_env,
    .opts = ercot_opts,
    .tables = ercot_tables,
    .ntables = AU_ARRAY_LEN(ercot_tables),
    .policy = {.rate_per_min = 30, .burst = 1, .max_attempts = 6},
    .init = ercot_init,
    .fini = ercot_fini,
    .plan = ercot_plan,
    .parse = ercot_parse,
};

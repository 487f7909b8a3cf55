/* caiso.c - CAISO OASIS (oasis.caiso.com/oasisapi/SingleZip): LMPs of every market run,
 * ancillary-service prices, CRR clearing prices and the system load forecasts.
 *
 *   GET {base}/SingleZip?resultformat=6&queryname=PRC_LMP&version=1&market_run_id=DAM
 *       &startdatetime=20240101T08:00-0000&enddatetime=20240102T08:00-0000&node=A,B,C
 *
 * Request rules (iso-apis.md §2): trade days are Pacific prevailing time, so a window is
 * built from the GMT instants of local midnights (23 h on the spring-forward day, 25 h on
 * the fall-back day); at most 31 days per request (error 1004 beyond) and at most 10
 * nodes (error 1017); grp_type=ALL_APNODES returns one trade day (DAM) or one hour
 * (real-time reports) whatever the end.
 *
 * Every answer is a ZIP. Members are streamed: CSV members go chunk by chunk from the
 * inflater into the push CSV parser, never copied whole; XML members (resultformat
 * absent, or an error document) are buffered per member and read record by record. An
 * OASIS error is an XML ERR_CODE/ERR_DESC in any member, whatever it is called:
 * 1000 = no data (AU_E_NODATA), 1015 = retry later (retryable), 1004 = split the window
 * (AU_E_SPLIT), anything else fails the window with the code and text.
 *
 * OASIS sends one row per price component (LMP/MCE/MCC/MCL/MGHG), unsorted. Rows are
 * pivoted through a hash map keyed on (location string, interval start) that lives for
 * one response only, then emitted sorted by location and time. Columns are found by
 * header name (the value column is MW, VALUE or PRC depending on the report). */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "parse/csv.h"
#include "parse/xml.h"
#include "parse/zip.h"
#include "pipeline/config.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CAISO_TZ "America/Los_Angeles"
#define CAISO_ISO "CAISO"
#define MAX_NODES_PER_REQ 10
#define MAX_REQ_DAYS 31
#define XML_MEMBER_MAX ((size_t)512 << 20)
#define SEP '\x1f' /* separates the parts of a composite location key */

/* --- schemas of the non-canonical tables --------------------------------------------- */

enum { AS_START, AS_END, AS_ISO, AS_MARKET, AS_TYPE, AS_REGION, AS_PRICE, AS_UNIT, AS_TZ, AS_MINUTES,
       AS_INGEST, AS_NCOLS };
static const struct au_column as_cols[AS_NCOLS] = {
    [AS_START] = {"interval_start_utc", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, "interval start, UTC"},
    [AS_END] = {"interval_end_utc", AU_T_TIME, 0, "interval end, UTC"},
    [AS_ISO] = {"iso_code", AU_T_TEXT, 0, "CAISO"},
    [AS_MARKET] = {"iso_market", AU_T_TEXT, AU_COL_KEY, "market run (DAM, RTPD, RTM, HASP)"},
    [AS_TYPE] = {"anc_type", AU_T_TEXT, AU_COL_KEY, "ancillary service: RU, RD, SP, NS, RMU, RMD"},
    [AS_REGION] = {"anc_region", AU_T_TEXT, AU_COL_KEY, "AS region (AS_CAISO_EXP, AS_SP26_EXP, ...)"},
    [AS_PRICE] = {"price", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "clearing price, USD/MW"},
    [AS_UNIT] = {"iso_unit", AU_T_TEXT, 0, "USD/MW"},
    [AS_TZ] = {"iso_timezone", AU_T_TEXT, 0, "America/Los_Angeles"},
    [AS_MINUTES] = {"iso_interval_minutes", AU_T_INT, 0, "interval length, minutes"},
    [AS_INGEST] = {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "when aurum fetched the row"},
};
static const int as_key[] = {AS_MARKET, AS_TYPE, AS_REGION, AS_START};
static const struct au_schema as_schema = {as_cols, AS_NCOLS, as_key, 4};

enum { CRR_START, CRR_END, CRR_ISO, CRR_MKT, CRR_TERM, CRR_LOC, CRR_TOU, CRR_PRICE, CRR_INGEST, CRR_NCOLS };
static const struct au_column crr_cols[CRR_NCOLS] = {
    [CRR_START] = {"start_utc", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, "start of the CRR term, UTC"},
    [CRR_END] = {"end_utc", AU_T_TIME, AU_COL_NULLABLE, "end of the CRR term, UTC"},
    [CRR_ISO] = {"iso_code", AU_T_TEXT, 0, "CAISO"},
    [CRR_MKT] = {"crr_market_name", AU_T_TEXT, AU_COL_KEY, "CRR auction / allocation name"},
    [CRR_TERM] = {"market_term", AU_T_TEXT, AU_COL_NULLABLE, "market term (MONTHLY, SEASONAL, LT, ...)"},
    [CRR_LOC] = {"location_id", AU_T_TEXT, AU_COL_KEY, "APNode id"},
    [CRR_TOU] = {"time_of_use", AU_T_TEXT, AU_COL_KEY, "ON or OFF (peak / off-peak)"},
    [CRR_PRICE] = {"price", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "clearing price, USD/MW"},
    [CRR_INGEST] = {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "when aurum fetched the row"},
};
static const int crr_key[] = {CRR_MKT, CRR_LOC, CRR_TOU, CRR_START};
static const struct au_schema crr_schema = {crr_cols, CRR_NCOLS, crr_key, 4};

/* --- tables ---------------------------------------------------------------------------- */

enum kind { K_LMP, K_AS, K_LOAD, K_CRR };

struct tinfo {
  enum kind kind;
  const char *query;      /* OASIS queryname */
  const char *market_run; /* market_run_id sent (NULL: none) */
  const char *market;     /* iso_market stored */
  const char *version;    /* default version parameter */
  bool hourly_all;        /* ALL_APNODES returns one hour (real-time reports) */
};

static const struct tinfo ti_lmp_dam = {K_LMP, "PRC_LMP", "DAM", "DAM", "1", false};
static const struct tinfo ti_lmp_fmm = {K_LMP, "PRC_RTPD_LMP", "RTPD", "RTPD", "3", true};
static const struct tinfo ti_lmp_rtm = {K_LMP, "PRC_INTVL_LMP", "RTM", "RTM", "3", true};
static const struct tinfo ti_lmp_hasp = {K_LMP, "PRC_HASP_LMP", "HASP", "HASP", "3", true};
static const struct tinfo ti_as_dam = {K_AS, "PRC_AS", "DAM", "DAM", "1", false};
static const struct tinfo ti_as_fmm = {K_AS, "PRC_INTVL_AS", "RTM", "RTPD", "1", false};
static const struct tinfo ti_as_rtm = {K_AS, "PRC_AS", "RTM", "RTM", "1", false};
static const struct tinfo ti_crr = {K_CRR, "CRR_CLEARING", NULL, NULL, "1", false};
static const struct tinfo ti_load = {K_LOAD, "SLD_FCST", NULL, NULL, "1", false};

static const struct au_option_def lmp_opts[] = {
    {"nodes", AU_OPT_LIST, NULL, NULL,
     "nodes to fetch (comma list, split into requests of 10); default default_node or the three "
     "trading hubs TH_NP15_GEN-APND, TH_SP15_GEN-APND, TH_ZP26_GEN-APND", false},
    {"grp_type", AU_OPT_STR, NULL, NULL,
     "ALL_APNODES: every APNode (one trade day per request for DAM, one hour for real time)", false},
    {"market_run_id", AU_OPT_STR, NULL, NULL, "market_run_id sent and stored (default the table's)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def as_opts[] = {
    {"anc_type", AU_OPT_STR, "ALL", NULL, "ancillary service type (ALL, RU, RD, SP, NS, RMU, RMD)", false},
    {"anc_region", AU_OPT_STR, "ALL", NULL, "AS region (ALL or a region id)", false},
    {"market_run_id", AU_OPT_STR, NULL, NULL, "market_run_id sent and stored (default the table's)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def load_opts[] = {
    {"market_run_id", AU_OPT_LIST, "DAM,2DA,7DA,RTM", NULL,
     "forecast horizons to fetch (DAM, 2DA, 7DA, RTM, ACTUAL); one request each", false},
    {"execution_type", AU_OPT_LIST, "RTD,RTPD", NULL,
     "RTM execution types (RTD = 5-minute, RTPD = 15-minute); one request each", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def crr_opts[] = {
    {"market_name", AU_OPT_STR, "ALL", NULL, "CRR market name (ALL or e.g. AUC_MN_2024_M01_TR)", false},
    {"market_term", AU_OPT_STR, "ALL", NULL, "CRR market term", false},
    {"time_of_use", AU_OPT_STR, "ALL", NULL, "ON, OFF or ALL", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

#define LMP_TABLE(nm, desc, dest, ti, minutes, batch)                                              \
  {                                                                                               \
    .name = nm, .description = desc, .schema = &au_lmp_schema, .dest_table = dest,                \
    .cursor_col = "interval_start_utc", .watermark_requires = "lmp", .trade_tz = CAISO_TZ,        \
    .interval_minutes = minutes, .default_batch_days = batch, .default_lookback_hours = 24,        \
    .default_history_days = 7, .default_rate_delay = 0, .max_request_days = MAX_REQ_DAYS,          \
    .opts = lmp_opts, .priv = &ti                                                                 \
  }

static const struct au_table_def caiso_tables[] = {
    LMP_TABLE("lmp_dam", "Day-ahead hourly LMP by node (PRC_LMP, DAM)", "caiso_lmp_dam", ti_lmp_dam, 60, 31),
    LMP_TABLE("lmp_fmm", "Fifteen-minute market LMP (PRC_RTPD_LMP, RTPD)", "caiso_lmp_fmm", ti_lmp_fmm, 15, 1),
    LMP_TABLE("lmp_rtm", "Real-time 5-minute LMP (PRC_INTVL_LMP, RTM)", "caiso_lmp_rtm", ti_lmp_rtm, 5, 1),
    LMP_TABLE("lmp_hasp", "Hour-ahead scheduling process LMP (PRC_HASP_LMP, HASP)", "caiso_lmp_hasp", ti_lmp_hasp,
              15, 1),
    {.name = "as_dam", .description = "Day-ahead ancillary-service clearing prices (PRC_AS, DAM)",
     .schema = &as_schema, .dest_table = "caiso_as_dam", .cursor_col = "interval_start_utc",
     .watermark_requires = "price", .trade_tz = CAISO_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 24, .default_history_days = 7, .max_request_days = 1, .opts = as_opts,
     .priv = &ti_as_dam},
    {.name = "as_fmm", .description = "Fifteen-minute market AS prices (PRC_INTVL_AS, market_run_id RTM)",
     .schema = &as_schema, .dest_table = "caiso_as_fmm", .cursor_col = "interval_start_utc",
     .watermark_requires = "price", .trade_tz = CAISO_TZ, .interval_minutes = 15, .default_batch_days = 1,
     .default_lookback_hours = 24, .default_history_days = 7, .max_request_days = 1, .opts = as_opts,
     .priv = &ti_as_fmm},
    {.name = "as_rtm", .description = "Real-time hourly AS prices (PRC_AS, market_run_id RTM)",
     .schema = &as_schema, .dest_table = "caiso_as_rtm", .cursor_col = "interval_start_utc",
     .watermark_requires = "price", .trade_tz = CAISO_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 24, .default_history_days = 7, .max_request_days = 1, .opts = as_opts,
     .priv = &ti_as_rtm},
    {.name = "crr", .description = "CRR auction clearing prices by APNode and time of use (CRR_CLEARING)",
     .schema = &crr_schema, .dest_table = "caiso_crr", .cursor_col = "start_utc", .watermark_requires = "price",
     .trade_tz = CAISO_TZ, .interval_minutes = 0, .default_batch_days = 31, .default_lookback_hours = 0,
     .default_history_days = 62, .max_request_days = MAX_REQ_DAYS, .opts = crr_opts, .priv = &ti_crr},
    {.name = "load_forecast",
     .description = "System load forecasts by TAC area (SLD_FCST: DAM, 2DA, 7DA, RTM RTD/RTPD, ACTUAL)",
     .schema = &au_load_schema, .dest_table = "caiso_load_forecast", .cursor_col = "interval_start_utc",
     .watermark_requires = "load_mw", .trade_tz = CAISO_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 24, .default_history_days = 7, .max_request_days = MAX_REQ_DAYS,
     .opts = load_opts, .priv = &ti_load},
};

static const struct au_option_def caiso_opts[] = {
    {"caiso_base_url", AU_OPT_STR, NULL, NULL, "seed alias of base_url (includes the path, .../oasisapi)", false},
    {"caiso_timeout", AU_OPT_DOUBLE, NULL, "CAISO_OASIS_TIMEOUT", "seed alias of timeout (seconds)", false},
    {"caiso_rate_limit", AU_OPT_DOUBLE, NULL, NULL, "seed alias of rate_limit (requests per minute)", false},
    {"caiso_retry_attempts", AU_OPT_INT, NULL, NULL, "seed alias of retry_attempts", false},
    {"caiso_backoff_factor", AU_OPT_DOUBLE, NULL, NULL, "seed alias of backoff_factor (seconds)", false},
    {"caiso_user_agent", AU_OPT_STR, NULL, NULL, "seed alias of user_agent", false},
    {"oasis_version", AU_OPT_STR, NULL, NULL, "version parameter for every query (default per report)", false},
    {"oasis_result_format", AU_OPT_INT, "6", NULL, "6 = CSV in ZIP; anything else = XML in ZIP", false},
    {"default_market_run_id", AU_OPT_STR, NULL, NULL,
     "market_run_id of LMP tables without their own market_run_id option", false},
    {"default_node", AU_OPT_STR, NULL, NULL, "node of LMP tables without a nodes option", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

static const char *const caiso_base_env[] = {"CAISO_OASIS_BASE_URL", "AURUM_CAISO_BASE", NULL};
static const char *const default_hubs[] = {"TH_NP15_GEN-APND", "TH_SP15_GEN-APND", "TH_ZP26_GEN-APND"};

/* --- per-run state ------------------------------------------------------------------------ */

struct strlist {
  char **v;
  size_t n;
};

struct cpriv {
  const struct tinfo *ti;
  char *base;
  struct strlist nodes;
  bool all_nodes;
  const char *version;
  bool csv;
  char market_run[32]; /* LMP / AS */
  struct strlist mruns;  /* load: horizons */
  struct strlist execs;  /* load: RTM execution types */
  struct au_opts http_opts; /* kept alive for the policy strings */
  const struct au_tz *tz;
};

static void strlist_split(struct strlist *l, const char *s) {
  if (!s)
    return;
  const char *p = s;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    const char *a = p, *b = p + n;
    while (a < b && (*a == ' ' || *a == '\t'))
      a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
      b--;
    if (b > a) {
      l->v = au_xrealloc(l->v, (l->n + 1) * sizeof(char *));
      l->v[l->n++] = au_xstrndup(a, (size_t)(b - a));
    }
    if (!e)
      break;
    p = e + 1;
  }
}

static void strlist_free(struct strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

static void caiso_fini(struct au_source_ctx *ctx) {
  struct cpriv *p = ctx->priv;
  if (!p)
    return;
  free(p->base);
  strlist_free(&p->nodes);
  strlist_free(&p->mruns);
  strlist_free(&p->execs);
  au_opts_release(&p->http_opts);
  free(p);
  ctx->priv = NULL;
}

static bool valid_token(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '-' || *s == '.' || *s == ' '))
      return false;
  return true;
}

static int caiso_init(struct au_source_ctx *ctx, struct au_err *err) {
  struct cpriv *p = au_xcalloc(1, sizeof(*p));
  ctx->priv = p;
  p->ti = ctx->table->priv;
  p->tz = au_tz_get(CAISO_TZ, err);
  if (!p->tz)
    return err->code;
  const struct au_opts *o = ctx->opts;
  const char *v;
  /* base: an explicit base_url wins, then the seed key caiso_base_url, then env/default */
  v = au_opts_get(o, "caiso_base_url");
  const char *bu = au_opts_get(o, "base_url");
  const char *base = (v && *v && !(bu && *bu)) ? v : ctx->base_url;
  if (!base || !*base)
    return au_err_set(err, AU_E_CONFIG, "caiso: no base URL");
  size_t n = strlen(base);
  while (n > 1 && base[n - 1] == '/')
    n--;
  p->base = au_xstrndup(base, n);
  const char *hostp = strstr(p->base, "://");
  if (hostp && !strchr(hostp + 3, '/')) { /* a bare scheme://host[:port]: OASIS lives under /oasisapi */
    char *nb = au_xmalloc(n + 10);
    snprintf(nb, n + 10, "%s/oasisapi", p->base);
    free(p->base);
    p->base = nb;
  }
  /* the seed's caiso_* HTTP keys (caiso_timeout, caiso_rate_limit, ...) are mapped onto the
   * common options by au_config_resolve(), so the pipeline's HTTP policy already has them */
  v = au_opts_get(o, "oasis_result_format");
  p->csv = !v || !*v || strcmp(v, "6") == 0;
  v = au_opts_get(o, "oasis_version");
  p->version = v && *v ? v : p->ti->version;
  if (!valid_token(p->version))
    return au_err_set(err, AU_E_CONFIG, "caiso: oasis_version '%s' is not a version number", p->version);

  if (p->ti->kind == K_LMP || p->ti->kind == K_AS) {
    v = au_opts_get(o, "market_run_id");
    if ((!v || !*v) && p->ti->kind == K_LMP)
      v = au_opts_get(o, "default_market_run_id");
    snprintf(p->market_run, sizeof(p->market_run), "%s", v && *v ? v : p->ti->market_run);
    if (!valid_token(p->market_run))
      return au_err_set(err, AU_E_CONFIG, "caiso: bad market_run_id '%s'", p->market_run);
  }
  if (p->ti->kind == K_LMP) {
    v = au_opts_get(o, "grp_type");
    if (v && *v) {
      if (strcmp(v, "ALL_APNODES") && strcmp(v, "ALL"))
        return au_err_set(err, AU_E_CONFIG, "caiso.%s: grp_type must be ALL_APNODES or ALL (got '%s')",
                          ctx->table->name, v);
      p->all_nodes = true;
    }
    v = au_opts_get(o, "nodes");
    if (!v || !*v)
      v = au_opts_get(o, "default_node");
    strlist_split(&p->nodes, v);
    if (p->nodes.n == 0)
      for (size_t i = 0; i < AU_ARRAY_LEN(default_hubs); i++)
        strlist_split(&p->nodes, default_hubs[i]);
    for (size_t i = 0; i < p->nodes.n; i++)
      if (!valid_token(p->nodes.v[i]))
        return au_err_set(err, AU_E_CONFIG, "caiso.%s: bad node name '%s'", ctx->table->name, p->nodes.v[i]);
  }
  if (p->ti->kind == K_LOAD) {
    strlist_split(&p->mruns, au_opts_get(o, "market_run_id"));
    strlist_split(&p->execs, au_opts_get(o, "execution_type"));
    if (p->mruns.n == 0)
      strlist_split(&p->mruns, "DAM,2DA,7DA,RTM");
    if (p->execs.n == 0)
      strlist_split(&p->execs, "RTD,RTPD");
    for (size_t i = 0; i < p->mruns.n; i++)
      if (!valid_token(p->mruns.v[i]))
        return au_err_set(err, AU_E_CONFIG, "caiso.load_forecast: bad market_run_id '%s'", p->mruns.v[i]);
    for (size_t i = 0; i < p->execs.n; i++)
      if (strcmp(p->execs.v[i], "RTD") && strcmp(p->execs.v[i], "RTPD"))
        return au_err_set(err, AU_E_CONFIG, "caiso.load_forecast: execution_type must be RTD or RTPD (got '%s')",
                          p->execs.v[i]);
  }
  return 0;
}

/* --- planning ---------------------------------------------------------------------------- */

/* "20240101T08:00-0000" */
static void fmt_oasis(au_time t, char *buf, size_t n) {
  struct au_civil c;
  au_time_to_civil(t, &c);
  snprintf(buf, n, "%04d%02d%02dT%02d:%02d-0000", c.year, c.month, c.day, c.hour, c.minute);
}

static au_time local_day_start_of(const struct au_tz *tz, au_time t, int add_days) {
  int y, m, d;
  au_tz_local_date(tz, t, &y, &m, &d);
  int64_t day = au_days_from_civil(y, m, d) + add_days;
  au_civil_from_days(day, &y, &m, &d);
  return au_tz_day_start(tz, y, m, d);
}

static void push_req(struct au_source_ctx *ctx, struct au_reqlist *out, au_time a, au_time b,
                     const char *params, const char *what) {
  struct cpriv *p = ctx->priv;
  char sa[32], sb[32];
  fmt_oasis(a, sa, sizeof(sa));
  fmt_oasis(b, sb, sizeof(sb));
  struct au_buf u = AU_BUF_INIT(0);
  int rc = au_buf_printf(&u, "%s/SingleZip?%squeryname=%s&version=%s&startdatetime=%s&enddatetime=%s%s",
                         p->base, p->csv ? "resultformat=6&" : "", p->ti->query, p->version, sa, sb, params);
  if (rc)
    abort();
  struct au_request *r = au_reqlist_push(out);
  au_request_set_url(r, u.ptr);
  au_buf_release(&u);
  au_request_add_header(r, "Accept", "application/zip, application/x-zip-compressed, */*");
  r->win_start = a;
  r->win_end = b;
  char la[24], lb[24];
  au_time_fmt(a, la);
  au_time_fmt(b, lb);
  snprintf(r->label, sizeof(r->label), "caiso.%s %s..%s%s%s", ctx->table->name, la, lb, what ? " " : "",
           what ? what : "");
}

static int caiso_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                      struct au_err *err) {
  struct cpriv *p = ctx->priv;
  if (!p)
    return au_err_set(err, AU_E_INVAL, "caiso: plan before init");
  /* OASIS takes whole minutes; requests are hour-aligned */
  start -= ((start % AU_HOUR) + AU_HOUR) % AU_HOUR;
  if (end % AU_HOUR)
    end += AU_HOUR - ((end % AU_HOUR) + AU_HOUR) % AU_HOUR;
  if (end <= start)
    return 0;
  int max_days = ctx->table->max_request_days > 0 ? ctx->table->max_request_days : MAX_REQ_DAYS;
  if (max_days > MAX_REQ_DAYS)
    max_days = MAX_REQ_DAYS;
  bool hourly = false;
  if (p->ti->kind == K_LMP && p->all_nodes) {
    if (p->ti->hourly_all)
      hourly = true;
    else
      max_days = 1;
  }
  au_time a = start;
  while (a < end) {
    au_time b;
    if (hourly) {
      b = a + AU_HOUR;
    } else {
      /* whole Pacific trade days: the GMT instant of local midnight max_days later */
      b = local_day_start_of(p->tz, a, max_days);
      if (b <= a)
        b = a + AU_DAY;
    }
    if (b > end)
      b = end;
    char params[1024];
    switch (p->ti->kind) {
    case K_LMP:
      if (p->all_nodes) {
        snprintf(params, sizeof(params), "&market_run_id=%s&grp_type=ALL_APNODES", p->market_run);
        push_req(ctx, out, a, b, params, "ALL_APNODES");
      } else {
        for (size_t i = 0; i < p->nodes.n; i += MAX_NODES_PER_REQ) {
          struct au_buf q = AU_BUF_INIT(0);
          if (au_buf_printf(&q, "&market_run_id=%s&node=", p->market_run))
            abort();
          size_t k = i;
          for (; k < p->nodes.n && k < i + MAX_NODES_PER_REQ; k++) {
            if ((k > i && au_buf_addc(&q, ',')) || au_url_encode(&q, p->nodes.v[k]))
              abort();
          }
          char what[64];
          snprintf(what, sizeof(what), "nodes %zu-%zu of %zu", i + 1, k, p->nodes.n);
          push_req(ctx, out, a, b, q.ptr, what);
          au_buf_release(&q);
        }
      }
      break;
    case K_AS: {
      struct au_buf q = AU_BUF_INIT(0);
      const char *at = au_opts_get(ctx->opts, "anc_type"), *ar = au_opts_get(ctx->opts, "anc_region");
      if (au_buf_printf(&q, "&market_run_id=%s&anc_type=", p->market_run) || au_url_encode(&q, at && *at ? at : "ALL") ||
          au_buf_adds(&q, "&anc_region=") || au_url_encode(&q, ar && *ar ? ar : "ALL"))
        abort();
      push_req(ctx, out, a, b, q.ptr, NULL);
      au_buf_release(&q);
      break;
    }
    case K_CRR: {
      struct au_buf q = AU_BUF_INIT(0);
      const char *mn = au_opts_get(ctx->opts, "market_name"), *mt = au_opts_get(ctx->opts, "market_term");
      const char *tu = au_opts_get(ctx->opts, "time_of_use");
      if (au_buf_adds(&q, "&market_name=") || au_url_encode(&q, mn && *mn ? mn : "ALL") ||
          au_buf_adds(&q, "&market_term=") || au_url_encode(&q, mt && *mt ? mt : "ALL") ||
          au_buf_adds(&q, "&time_of_use=") || au_url_encode(&q, tu && *tu ? tu : "ALL"))
        abort();
      push_req(ctx, out, a, b, q.ptr, NULL);
      au_buf_release(&q);
      break;
    }
    case K_LOAD:
      for (size_t i = 0; i < p->mruns.n; i++) {
        if (strcmp(p->mruns.v[i], "RTM") == 0) {
          for (size_t k = 0; k < p->execs.n; k++) {
            snprintf(params, sizeof(params), "&market_run_id=RTM&execution_type=%s", p->execs.v[k]);
            char what[32];
            snprintf(what, sizeof(what), "RTM/%s", p->execs.v[k]);
            push_req(ctx, out, a, b, params, what);
          }
        } else {
          snprintf(params, sizeof(params), "&market_run_id=%s", p->mruns.v[i]);
          push_req(ctx, out, a, b, params, p->mruns.v[i]);
        }
      }
      break;
    }
    a = b;
  }
  return 0;
}

/* --- the pivot map -------------------------------------------------------------------------- */

struct entry {
  au_time start, end;
  double v[5];
  uint32_t sid;
  uint8_t mask;
};

struct pivot {
  /* interned location strings */
  struct au_buf arena;     /* NUL-separated strings */
  uint32_t *soff;          /* offset of string i in arena */
  uint32_t *shash;
  size_t ns, scap;
  uint32_t *sslots;        /* 0 = empty, else index + 1 */
  size_t sslot_n;
  /* entries */
  struct entry *e;
  size_t ne, ecap;
  uint32_t *eslots;
  size_t eslot_n;
};

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static void pivot_init(struct pivot *pv) {
  memset(pv, 0, sizeof(*pv));
  au_buf_init(&pv->arena, (size_t)1 << 30);
}

static void pivot_free(struct pivot *pv) {
  au_buf_release(&pv->arena);
  free(pv->soff);
  free(pv->shash);
  free(pv->sslots);
  free(pv->e);
  free(pv->eslots);
  memset(pv, 0, sizeof(*pv));
}

static const char *pv_str(const struct pivot *pv, uint32_t sid) { return pv->arena.ptr + pv->soff[sid]; }

static void sslots_rebuild(struct pivot *pv, size_t n) {
  free(pv->sslots);
  pv->sslot_n = n;
  pv->sslots = au_xcalloc(n, sizeof(*pv->sslots));
  for (size_t i = 0; i < pv->ns; i++) {
    size_t j = pv->shash[i] & (n - 1);
    while (pv->sslots[j])
      j = (j + 1) & (n - 1);
    pv->sslots[j] = (uint32_t)i + 1;
  }
}

static int pv_intern(struct pivot *pv, const char *s, size_t n, uint32_t *out, struct au_err *err) {
  if (pv->ns * 2 >= pv->sslot_n)
    sslots_rebuild(pv, pv->sslot_n ? pv->sslot_n * 2 : 1024);
  uint32_t h = (uint32_t)hash_bytes(s, n);
  size_t j = h & (pv->sslot_n - 1);
  while (pv->sslots[j]) {
    uint32_t i = pv->sslots[j] - 1;
    if (pv->shash[i] == h) {
      const char *t = pv->arena.ptr + pv->soff[i];
      if (strncmp(t, s, n) == 0 && t[n] == 0) {
        *out = i;
        return 0;
      }
    }
    j = (j + 1) & (pv->sslot_n - 1);
  }
  if (pv->ns == pv->scap) {
    pv->scap = pv->scap ? pv->scap * 2 : 1024;
    pv->soff = au_xrealloc(pv->soff, pv->scap * sizeof(*pv->soff));
    pv->shash = au_xrealloc(pv->shash, pv->scap * sizeof(*pv->shash));
  }
  if (pv->arena.len > UINT32_MAX - n - 1)
    return au_err_set(err, AU_E_TOOBIG, "too many distinct locations in one response");
  pv->soff[pv->ns] = (uint32_t)pv->arena.len;
  pv->shash[pv->ns] = h;
  if (au_buf_add(&pv->arena, s, n) || au_buf_addc(&pv->arena, 0))
    return au_err_set(err, AU_E_TOOBIG, "too many distinct locations in one response");
  pv->sslots[j] = (uint32_t)pv->ns + 1;
  *out = (uint32_t)pv->ns++;
  return 0;
}

static uint64_t ekey_hash(uint32_t sid, au_time start) { return mix64((uint64_t)start * 31u + sid * 0x9E3779B97F4A7C15ULL); }

static void eslots_rebuild(struct pivot *pv, size_t n) {
  free(pv->eslots);
  pv->eslot_n = n;
  pv->eslots = au_xcalloc(n, sizeof(*pv->eslots));
  for (size_t i = 0; i < pv->ne; i++) {
    size_t j = ekey_hash(pv->e[i].sid, pv->e[i].start) & (n - 1);
    while (pv->eslots[j])
      j = (j + 1) & (n - 1);
    pv->eslots[j] = (uint32_t)i + 1;
  }
}

static struct entry *pv_get(struct pivot *pv, uint32_t sid, au_time start, au_time end) {
  if (pv->ne * 2 >= pv->eslot_n)
    eslots_rebuild(pv, pv->eslot_n ? pv->eslot_n * 2 : 4096);
  size_t j = ekey_hash(sid, start) & (pv->eslot_n - 1);
  while (pv->eslots[j]) {
    struct entry *e = &pv->e[pv->eslots[j] - 1];
    if (e->sid == sid && e->start == start)
      return e;
    j = (j + 1) & (pv->eslot_n - 1);
  }
  if (pv->ne == pv->ecap) {
    pv->ecap = pv->ecap ? pv->ecap * 2 : 4096;
    pv->e = au_xrealloc(pv->e, pv->ecap * sizeof(*pv->e));
  }
  struct entry *e = &pv->e[pv->ne];
  memset(e, 0, sizeof(*e));
  e->sid = sid;
  e->start = start;
  e->end = end;
  pv->eslots[j] = (uint32_t)pv->ne + 1;
  pv->ne++;
  return e;
}

/* --- response parsing ------------------------------------------------------------------------ */

enum col_role { R_START, R_END, R_NODE, R_COMP, R_VALUE, R_ANC_TYPE, R_ANC_REGION, R_MKT_RUN, R_EXEC, R_TAC,
                R_ITEM, R_CRR_MKT, R_CRR_TERM, R_TOU, R_NROLES };

static const char *const role_names[R_NROLES][5] = {
    [R_START] = {"INTERVALSTARTTIME_GMT", "INTERVAL_START_GMT", "START_DATE_TIME", "START_DATE_GMT", NULL},
    [R_END] = {"INTERVALENDTIME_GMT", "INTERVAL_END_GMT", "END_DATE_TIME", "END_DATE_GMT", NULL},
    [R_NODE] = {"NODE_ID", "NODE", "NODE_ID_XML", "RESOURCE_NAME", "APNODE_ID"},
    [R_COMP] = {"LMP_TYPE", NULL},
    [R_VALUE] = {"MW", "VALUE", "PRC", "PRICE", NULL},
    [R_ANC_TYPE] = {"ANC_TYPE", NULL},
    [R_ANC_REGION] = {"ANC_REGION", "RESOURCE_NAME", NULL},
    [R_MKT_RUN] = {"MARKET_RUN_ID", "MKT_TYPE", NULL},
    [R_EXEC] = {"EXECUTION_TYPE", NULL},
    [R_TAC] = {"TAC_AREA_NAME", "TAC_ZONE_NAME", "RESOURCE_NAME", NULL},
    [R_ITEM] = {"XML_DATA_ITEM", "DATA_ITEM", NULL},
    [R_CRR_MKT] = {"CRR_MARKET_NAME", "MARKET_NAME", NULL},
    [R_CRR_TERM] = {"MARKET_TERM", "REASON", NULL},
    [R_TOU] = {"TIME_OF_USE", "TOU", NULL},
};

struct pstate {
  struct au_source_ctx *ctx;
  struct cpriv *p;
  const struct au_request *req;
  struct pivot *pv;
  /* current member */
  const char *member;
  int mode; /* 0 = undecided, 1 = CSV, 2 = XML */
  struct au_csv *csv;
  struct au_buf xml;
  int col[R_NROLES];
  char colname[R_NROLES][32];
  uint64_t cur_line;
  struct {
    char s[26];
    au_time t;
  } tcache[64];
  /* fast path for quote-free CSV: own line/field splitter; the generic parser takes over
   * (st->slow) from the first chunk holding a quote */
  bool slow;
  uint64_t fline, frow, line_base;
  struct au_buf carry;
  char *lb;
  size_t lbcap;
  const char **fv;
  size_t *fl;
  size_t fcap;
  bool have_header;
  /* outcome */
  int oasis_code;
  char oasis_desc[512];
  uint64_t rows_in;
  uint64_t rows_kept;
  struct au_buf scratch;
};

/* "2024-01-01T08:00:00-00:00" fast path; anything else via the general parser. */
static int parse_gmt(const char *s, size_t n, au_time *out) {
  if (n == 25 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
      ((s[19] == '-' || s[19] == '+') && s[20] == '0' && s[21] == '0' && s[22] == ':' && s[23] == '0' &&
       s[24] == '0')) {
    int d[14];
    static const int pos[14] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    for (int i = 0; i < 14; i++) {
      unsigned c = (unsigned)(s[pos[i]] - '0');
      if (c > 9)
        return AU_E_PARSE;
      d[i] = (int)c;
    }
    int y = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3], mo = d[4] * 10 + d[5], dd = d[6] * 10 + d[7];
    int h = d[8] * 10 + d[9], mi = d[10] * 10 + d[11], se = d[12] * 10 + d[13];
    if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || se > 60)
      return AU_E_PARSE;
    *out = (au_days_from_civil(y, mo, dd) * 86400LL + h * 3600LL + mi * 60LL + se) * AU_USEC;
    return 0;
  }
  bool had_off = false;
  if (au_time_parse_iso(s, n, out, &had_off))
    return AU_E_PARSE;
  return 0;
}

/* Decimal without exponent, at most 15 significant digits: exact mantissa / exact power of
 * ten is correctly rounded (Clinger's fast path). Anything else goes to au_parse_double. */
static int fast_double(const char *s, size_t n, double *out) {
  static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  size_t i = 0;
  bool neg = false;
  if (n && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  uint64_t m = 0;
  int digits = 0, frac = -1;
  for (; i < n; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      m = m * 10 + (uint64_t)(c - '0');
      if (++digits > 15)
        return au_parse_double(s, n, out);
      if (frac >= 0)
        frac++;
    } else if (c == '.' && frac < 0) {
      frac = 0;
    } else {
      return au_parse_double(s, n, out);
    }
  }
  if (digits == 0)
    return au_parse_double(s, n, out);
  double v = (double)m;
  if (frac > 0)
    v /= p10[frac];
  *out = neg ? -v : v;
  return 0;
}

/* parse_gmt through a small direct-mapped cache: a response repeats each stamp many times */
static int cached_gmt(struct pstate *st, const char *s, size_t n, au_time *out) {
  if (n != 25)
    return parse_gmt(s, n, out);
  unsigned h = ((unsigned)s[9] * 31u + (unsigned)s[12] * 7u + (unsigned)s[15] + (unsigned)s[14] * 3u) & 63u;
  if (memcmp(st->tcache[h].s, s, 25) == 0) {
    *out = st->tcache[h].t;
    return 0;
  }
  int rc = parse_gmt(s, n, out);
  if (rc == 0) {
    memcpy(st->tcache[h].s, s, 25);
    st->tcache[h].t = *out;
  }
  return rc;
}

/* Component slot of an LMP_TYPE or XML data item; -1 if not a price component. */
static int comp_slot(const char *s) {
  if (s[0] == 'M' && s[1] == 'C' && s[3] == 0) {
    switch (s[2]) {
    case 'E': return 1;
    case 'C': return 2;
    case 'L': return 3;
    default: break;
    }
  }
  if (!strcmp(s, "LMP") || !strcmp(s, "LMP_PRC"))
    return 0;
  if (!strcmp(s, "MCE") || !strcmp(s, "LMP_ENE_PRC"))
    return 1;
  if (!strcmp(s, "MCC") || !strcmp(s, "LMP_CONG_PRC"))
    return 2;
  if (!strcmp(s, "MCL") || !strcmp(s, "LMP_LOSS_PRC"))
    return 3;
  if (!strcmp(s, "MGHG") || !strcmp(s, "LMP_GHG_PRC") || !strcmp(s, "GHG"))
    return 4;
  return -1;
}

/* Horizon of a load forecast row: MARKET_RUN_ID (RTM: the execution type), else the item. */
static const char *load_horizon(const char *mkt, const char *exec, const char *item) {
  static const char *const known[] = {"DAM", "2DA", "7DA", "ACTUAL", "RTD", "RTPD", "HASP", "RTM"};
  if (mkt && *mkt) {
    if (!strcmp(mkt, "RTM")) {
      if (exec && (!strcmp(exec, "RTD") || !strcmp(exec, "RTPD")))
        return !strcmp(exec, "RTD") ? "RTD" : "RTPD";
    } else {
      for (size_t i = 0; i < AU_ARRAY_LEN(known); i++)
        if (!strcmp(mkt, known[i]))
          return known[i];
      return NULL;
    }
  }
  if (item) {
    if (strstr(item, "_7DA_"))
      return "7DA";
    if (strstr(item, "_2DA_"))
      return "2DA";
    if (strstr(item, "_DA_"))
      return "DAM";
    if (strstr(item, "_ACT_"))
      return "ACTUAL";
    if (strstr(item, "_15MIN_"))
      return "RTPD";
    if (strstr(item, "_5MIN_"))
      return "RTD";
  }
  return mkt && !strcmp(mkt, "RTM") ? "RTM" : NULL;
}

/* One logical record, from a CSV row or an XML REPORT_DATA. get(role) gives the field. */
struct rec {
  const char *f[R_NROLES];
  size_t n[R_NROLES];
};

/* "csv line 12, field 15 (MW)" / "xml line 40, REPORT_DATA VALUE" */
static const char *pos(char *buf, size_t n, const char *where, const struct pstate *st, bool csv, int role,
                       const char *xmlname) {
  if (csv && st->col[role] >= 0)
    snprintf(buf, n, "csv line %llu, field %d (%s)", (unsigned long long)st->cur_line, st->col[role] + 1,
             st->colname[role]);
  else if (csv)
    snprintf(buf, n, "csv line %llu", (unsigned long long)st->cur_line);
  else
    snprintf(buf, n, "%s %s", where, xmlname);
  return buf;
}

static const char *wh(char *wb, const char *where, const struct pstate *st) {
  if (where)
    return where;
  snprintf(wb, 48, "csv line %llu", (unsigned long long)st->cur_line);
  return wb;
}
#define WH wh(wb, where, st)

static int add_record(struct pstate *st, const struct rec *r, const char *where, bool cols,
                      struct au_err *err) {
  char pb[128], wb[48];
  st->rows_in++;
  enum kind k = st->p->ti->kind;
  au_time t0, t1 = AU_TIME_NONE;
  if (!r->f[R_START] || cached_gmt(st, r->f[R_START], r->n[R_START], &t0))
    return au_err_set(err, AU_E_PARSE, "%s: not a GMT time: '%.40s'",
                      pos(pb, sizeof(pb), where, st, cols, R_START, "INTERVAL_START_GMT"), r->f[R_START] ? r->f[R_START] : "");
  if (r->f[R_END] && r->n[R_END] && cached_gmt(st, r->f[R_END], r->n[R_END], &t1))
    return au_err_set(err, AU_E_PARSE, "%s: not a GMT time: '%.40s'",
                      pos(pb, sizeof(pb), where, st, cols, R_END, "INTERVAL_END_GMT"), r->f[R_END]);
  if (st->req && st->req->win_end > st->req->win_start && (t0 < st->req->win_start || t0 >= st->req->win_end))
    return 0; /* outside the window asked for (OASIS rounds to its own days) */
  double v = 0;
  bool has_v = false;
  if (r->f[R_VALUE] && !au_str_is_blank_or_dash(r->f[R_VALUE], r->n[R_VALUE])) {
    if (fast_double(r->f[R_VALUE], r->n[R_VALUE], &v))
      return au_err_set(err, AU_E_PARSE, "%s: not a number: '%.40s'",
                        pos(pb, sizeof(pb), where, st, cols, R_VALUE, "VALUE"), r->f[R_VALUE]);
    has_v = true;
  }
  struct au_buf *sb = &st->scratch;
  uint32_t sid;
  int slot = 0;
  switch (k) {
  case K_LMP: {
    const char *c = r->f[R_COMP] ? r->f[R_COMP] : r->f[R_ITEM];
    if (!c)
      return au_err_set(err, AU_E_PARSE, "%s: no LMP_TYPE / data item", WH);
    slot = comp_slot(c);
    if (slot < 0)
      return 0; /* another item (e.g. a shadow price): not part of the LMP row */
    if (!r->f[R_NODE] || !r->n[R_NODE])
      return au_err_set(err, AU_E_PARSE, "%s: empty node id", WH);
    if (pv_intern(st->pv, r->f[R_NODE], r->n[R_NODE], &sid, err))
      return err->code;
    break;
  }
  case K_AS: {
    const char *ty = r->f[R_ANC_TYPE];
    size_t tyn = r->n[R_ANC_TYPE];
    if (!ty && r->f[R_ITEM]) { /* "RU_CLR_PRC" -> "RU" */
      ty = r->f[R_ITEM];
      const char *u = strstr(ty, "_CLR_PRC");
      tyn = u ? (size_t)(u - ty) : r->n[R_ITEM];
    }
    if (!ty || !r->f[R_ANC_REGION])
      return au_err_set(err, AU_E_PARSE, "%s: no ANC_TYPE / ANC_REGION", WH);
    au_buf_reset(sb);
    if (au_buf_add(sb, ty, tyn) || au_buf_addc(sb, SEP) || au_buf_add(sb, r->f[R_ANC_REGION], r->n[R_ANC_REGION]))
      return au_err_set(err, AU_E_NOMEM, "out of memory");
    if (pv_intern(st->pv, sb->ptr, sb->len, &sid, err))
      return err->code;
    break;
  }
  case K_LOAD: {
    const char *h = load_horizon(r->f[R_MKT_RUN], r->f[R_EXEC], r->f[R_ITEM]);
    if (!h)
      return au_err_set(err, AU_E_PARSE, "%s: unknown forecast horizon (MARKET_RUN_ID '%s', item '%s')", WH,
                        r->f[R_MKT_RUN] ? r->f[R_MKT_RUN] : "", r->f[R_ITEM] ? r->f[R_ITEM] : "");
    if (!r->f[R_TAC] || !r->n[R_TAC])
      return au_err_set(err, AU_E_PARSE, "%s: empty TAC area", WH);
    au_buf_reset(sb);
    if (au_buf_adds(sb, h) || au_buf_addc(sb, SEP) || au_buf_add(sb, r->f[R_TAC], r->n[R_TAC]))
      return au_err_set(err, AU_E_NOMEM, "out of memory");
    if (pv_intern(st->pv, sb->ptr, sb->len, &sid, err))
      return err->code;
    break;
  }
  case K_CRR: {
    const char *tou = r->f[R_TOU];
    size_t toun = r->n[R_TOU];
    if (!tou && r->f[R_ITEM]) { /* ON_PRC / LT_OFF_PRC / OFF_PRC */
      tou = strstr(r->f[R_ITEM], "OFF") ? "OFF" : "ON";
      toun = strlen(tou);
    }
    if (!r->f[R_CRR_MKT] || !r->f[R_NODE] || !tou)
      return au_err_set(err, AU_E_PARSE, "%s: no market name / APNode / time of use", WH);
    au_buf_reset(sb);
    if (au_buf_add(sb, r->f[R_CRR_MKT], r->n[R_CRR_MKT]) || au_buf_addc(sb, SEP) ||
        au_buf_add(sb, r->f[R_CRR_TERM] ? r->f[R_CRR_TERM] : "", r->f[R_CRR_TERM] ? r->n[R_CRR_TERM] : 0) ||
        au_buf_addc(sb, SEP) || au_buf_add(sb, r->f[R_NODE], r->n[R_NODE]) || au_buf_addc(sb, SEP) ||
        au_buf_add(sb, tou, toun))
      return au_err_set(err, AU_E_NOMEM, "out of memory");
    if (pv_intern(st->pv, sb->ptr, sb->len, &sid, err))
      return err->code;
    break;
  }
  }
  struct entry *e = pv_get(st->pv, sid, t0, t1);
  if (t1 != AU_TIME_NONE)
    e->end = t1;
  if (has_v) {
    e->v[slot] = v;
    e->mask |= (uint8_t)(1u << slot);
  }
  st->rows_kept++;
  return 0;
}

#undef WH

/* --- CSV members --- */

static int csv_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct pstate *st = arg;
  if (!st->have_header) {
    for (int r = 0; r < R_NROLES; r++) {
      st->col[r] = -1;
      for (int i = 0; i < 5 && role_names[r][i] && st->col[r] < 0; i++)
        st->col[r] = au_csv_header_index(row, role_names[r][i], AU_CSV_LOOSE);
      if (st->col[r] >= 0)
        snprintf(st->colname[r], sizeof(st->colname[r]), "%s", row->fields[st->col[r]]);
    }
    /* the value column by report: MW (PRC_LMP, PRC_AS, SLD_FCST), VALUE (PRC_INTVL_LMP), PRC (PRC_RTPD_LMP) */
    if (st->col[R_START] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no INTERVALSTARTTIME_GMT column",
                        (unsigned long long)row->line);
    if (st->col[R_VALUE] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no value column (MW, VALUE or PRC)",
                        (unsigned long long)row->line);
    enum kind k = st->p->ti->kind;
    if (k == K_LMP && st->col[R_NODE] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no NODE_ID column", (unsigned long long)row->line);
    if (k == K_LMP && st->col[R_COMP] < 0 && st->col[R_ITEM] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no LMP_TYPE column", (unsigned long long)row->line);
    if (k == K_LOAD && st->col[R_TAC] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no TAC_AREA_NAME column",
                        (unsigned long long)row->line);
    if (k == K_AS && st->col[R_ANC_REGION] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no ANC_REGION column", (unsigned long long)row->line);
    if (k == K_AS && st->col[R_ANC_TYPE] < 0 && st->col[R_ITEM] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no ANC_TYPE column", (unsigned long long)row->line);
    if (k == K_CRR && (st->col[R_CRR_MKT] < 0 || st->col[R_NODE] < 0))
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no CRR market name / APNode column",
                        (unsigned long long)row->line);
    st->have_header = true;
    return 0;
  }
  struct rec r;
  for (int i = 0; i < R_NROLES; i++) {
    int c = st->col[i];
    if (c >= 0 && (size_t)c < row->nfields) {
      r.f[i] = row->fields[c];
      r.n[i] = row->lens[c];
    } else {
      r.f[i] = NULL;
      r.n[i] = 0;
    }
  }
  if (!r.f[R_START])
    return au_err_set(err, AU_E_PARSE, "csv line %llu: %zu fields, shorter than the header",
                      (unsigned long long)row->line, row->nfields);
  st->cur_line = row->line + st->line_base;
  return add_record(st, &r, NULL, true, err);
}

/* --- XML members --- */

static int xml_rec(void *arg, const struct au_xml_record *x, struct au_err *err) {
  struct pstate *st = arg;
  struct rec r;
  memset(&r, 0, sizeof(r));
  for (size_t i = 0; i < x->n; i++) {
    const char *nm = x->names[i];
    int role = -1;
    if (!strcmp(nm, "INTERVAL_START_GMT") || !strcmp(nm, "START_DATE_TIME"))
      role = R_START;
    else if (!strcmp(nm, "INTERVAL_END_GMT") || !strcmp(nm, "END_DATE_TIME"))
      role = R_END;
    else if (!strcmp(nm, "VALUE"))
      role = R_VALUE;
    else if (!strcmp(nm, "DATA_ITEM"))
      role = R_ITEM;
    else if (!strcmp(nm, "ANC_TYPE"))
      role = R_ANC_TYPE;
    else if (!strcmp(nm, "ANC_REGION"))
      role = R_ANC_REGION;
    else if (!strcmp(nm, "MARKET_RUN_ID"))
      role = R_MKT_RUN;
    else if (!strcmp(nm, "EXECUTION_TYPE"))
      role = R_EXEC;
    else if (!strcmp(nm, "CRR_MARKET_NAME"))
      role = R_CRR_MKT;
    else if (!strcmp(nm, "REASON") || !strcmp(nm, "MARKET_TERM"))
      role = R_CRR_TERM;
    else if (!strcmp(nm, "TIME_OF_USE"))
      role = R_TOU;
    if (role >= 0) {
      r.f[role] = x->values[i];
      r.n[role] = strlen(x->values[i]);
    } else if (!strcmp(nm, "RESOURCE_NAME") || !strcmp(nm, "NODE_ID") || !strcmp(nm, "PNODE_ID")) {
      size_t n = strlen(x->values[i]);
      r.f[R_NODE] = r.f[R_TAC] = x->values[i];
      r.n[R_NODE] = r.n[R_TAC] = n;
      if (!r.f[R_ANC_REGION]) {
        r.f[R_ANC_REGION] = x->values[i];
        r.n[R_ANC_REGION] = n;
      }
    }
  }
  char where[64];
  snprintf(where, sizeof(where), "xml line %d, REPORT_DATA", x->line);
  return add_record(st, &r, where, false, err);
}

static int xml_finish(struct pstate *st, struct au_err *err) {
  const char *b = st->xml.ptr ? st->xml.ptr : "";
  size_t n = st->xml.len;
  if (memmem(b, n, "ERR_CODE", 8)) {
    char code[32] = "", desc[512] = "";
    int rc = au_xml_find_text(b, n, "ERR_CODE", code, sizeof(code));
    if (rc == 0) {
      au_xml_find_text(b, n, "ERR_DESC", desc, sizeof(desc));
      st->oasis_code = atoi(code);
      if (st->oasis_code == 0)
        st->oasis_code = -1;
      snprintf(st->oasis_desc, sizeof(st->oasis_desc), "%s", desc);
      return 0;
    }
  }
  return au_xml_records(b, n, "REPORT_DATA", xml_rec, st, err);
}

/* --- fast CSV path --- */

static int fast_line(struct pstate *st, const char *line, size_t n, struct au_err *err) {
  st->fline++;
  if (n && line[n - 1] == '\r')
    n--;
  if (n == 0)
    return 0;
  if (n + 1 > st->lbcap) {
    st->lbcap = (n + 1) * 2;
    st->lb = au_xrealloc(st->lb, st->lbcap);
  }
  memcpy(st->lb, line, n);
  st->lb[n] = 0;
  size_t nf = 0;
  char *p = st->lb, *e = st->lb + n;
  for (;;) {
    if (nf == st->fcap) {
      st->fcap = st->fcap ? st->fcap * 2 : 32;
      if (st->fcap > AU_CSV_DEFAULT_MAX_FIELDS)
        return au_err_set(err, AU_E_TOOBIG, "csv line %llu: more than %zu fields", (unsigned long long)st->fline,
                          (size_t)AU_CSV_DEFAULT_MAX_FIELDS);
      st->fv = au_xrealloc(st->fv, st->fcap * sizeof(*st->fv));
      st->fl = au_xrealloc(st->fl, st->fcap * sizeof(*st->fl));
    }
    char *c = p;
    while (c < e && *c != ',')
      c++;
    if (c == e)
      c = NULL;
    char *fe = c ? c : e;
    *fe = 0;
    st->fv[nf] = p;
    st->fl[nf] = (size_t)(fe - p);
    nf++;
    if (!c)
      break;
    p = c + 1;
  }
  struct au_csv_row row = {st->fv, st->fl, nf, ++st->frow, st->fline};
  return csv_row(st, &row, err);
}

static int fast_feed(struct pstate *st, const char *data, size_t len, struct au_err *err) {
  if (memchr(data, '"', len)) { /* quoted fields: the generic parser from here on */
    st->slow = true;
    st->line_base = st->fline;
    au_csv_free(st->csv);
    st->csv = au_csv_new(NULL, ',', csv_row, st);
    int rc = 0;
    if (st->carry.len)
      rc = au_csv_feed(st->csv, st->carry.ptr, st->carry.len, err);
    au_buf_reset(&st->carry);
    return rc ? rc : au_csv_feed(st->csv, data, len, err);
  }
  const char *p = data, *end = data + len;
  if (st->carry.len) {
    const char *nl = memchr(p, '\n', len);
    if (!nl) {
      if (au_buf_add(&st->carry, p, len))
        return au_err_set(err, AU_E_TOOBIG, "csv line %llu: line too long", (unsigned long long)st->fline + 1);
      return 0;
    }
    if (au_buf_add(&st->carry, p, (size_t)(nl - p)))
      return au_err_set(err, AU_E_TOOBIG, "csv line %llu: line too long", (unsigned long long)st->fline + 1);
    int rc = fast_line(st, st->carry.ptr, st->carry.len, err);
    au_buf_reset(&st->carry);
    if (rc)
      return rc;
    p = nl + 1;
  }
  const char *nl;
  while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
    int rc = fast_line(st, p, (size_t)(nl - p), err);
    if (rc)
      return rc;
    p = nl + 1;
  }
  if (p < end && au_buf_add(&st->carry, p, (size_t)(end - p)))
    return au_err_set(err, AU_E_TOOBIG, "csv line %llu: line too long", (unsigned long long)st->fline + 1);
  return 0;
}

/* --- ZIP callbacks --- */

static int on_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  AU_UNUSED(size);
  AU_UNUSED(err);
  struct pstate *st = arg;
  st->member = name;
  st->mode = 0;
  st->have_header = false;
  st->slow = false;
  st->fline = st->frow = st->line_base = 0;
  au_buf_reset(&st->carry);
  au_buf_reset(&st->xml);
  return 0;
}

static int on_data(void *arg, const char *data, size_t len, struct au_err *err) {
  struct pstate *st = arg;
  if (st->mode == 0) {
    size_t i = 0;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF)
      i = 3;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
      i++;
    if (i == len)
      return 0; /* still undecided: whitespace only so far */
    st->mode = data[i] == '<' ? 2 : 1;
    if (i >= 3 && (unsigned char)data[0] == 0xEF) { /* drop the BOM */
      data += 3;
      len -= 3;
    }
  }
  if (st->mode == 1)
    return st->slow ? au_csv_feed(st->csv, data, len, err) : fast_feed(st, data, len, err);
  if (au_buf_add(&st->xml, data, len))
    return au_err_set(err, AU_E_TOOBIG, "XML member exceeds %zu bytes", XML_MEMBER_MAX);
  return 0;
}

static int on_end(void *arg, struct au_err *err) {
  struct pstate *st = arg;
  if (st->mode == 1) {
    if (st->slow)
      return au_csv_finish(st->csv, err);
    int rc = st->carry.len ? fast_line(st, st->carry.ptr, st->carry.len, err) : 0;
    au_buf_reset(&st->carry);
    return rc;
  }
  if (st->mode == 2)
    return xml_finish(st, err);
  return 0;
}

/* --- emission --- */

/* Comparators take their context through qsort_r: parsers run on several backfill
 * threads at once, so no sort state may live in statics. */
static int cmp_sid(const void *a, const void *b, void *arg) {
  const struct pivot *pv = arg;
  return strcmp(pv_str(pv, *(const uint32_t *)a), pv_str(pv, *(const uint32_t *)b));
}
static int cmp_entry(const void *a, const void *b, void *arg) {
  const uint32_t *rank = arg;
  const struct entry *x = a, *y = b;
  if (x->sid != y->sid)
    return rank[x->sid] < rank[y->sid] ? -1 : 1;
  return x->start < y->start ? -1 : x->start > y->start;
}

static const char *loc_type(const char *node) {
  if (!strncmp(node, "TH_", 3))
    return "HUB";
  if (!strncmp(node, "DLAP_", 5))
    return "DLAP";
  if (!strncmp(node, "ELAP_", 5))
    return "ELAP";
  if (!strncmp(node, "SLAP_", 5))
    return "SLAP";
  if (strstr(node, "_ISL") || strstr(node, "-ISL"))
    return "INTERFACE";
  size_t n = strlen(node);
  if (n > 5 && !strcmp(node + n - 5, "-APND"))
    return "APNODE";
  return "NODE";
}

static au_time load_publish(const struct cpriv *p, const char *h, const struct entry *e) {
  au_time len = e->end != AU_TIME_NONE && e->end > e->start ? e->end - e->start : AU_HOUR;
  if (!strcmp(h, "ACTUAL"))
    return e->start + len;
  if (!strcmp(h, "RTD") || !strcmp(h, "RTPD") || !strcmp(h, "RTM") || !strcmp(h, "HASP"))
    return e->start - len;
  int days = !strcmp(h, "7DA") ? 7 : !strcmp(h, "2DA") ? 2 : 1;
  /* nominal issue: local midnight starting trade day D - days (D = the interval's trade day) */
  return local_day_start_of(p->tz, e->start, -days);
}

static void emit(struct pstate *st, struct au_batch *out) {
  struct pivot *pv = st->pv;
  struct cpriv *p = st->p;
  /* sort by location name (ranked once), then time */
  uint32_t *ids = au_xmalloc((pv->ns + 1) * sizeof(*ids));
  uint32_t *rank = au_xmalloc((pv->ns + 1) * sizeof(*rank));
  for (size_t i = 0; i < pv->ns; i++)
    ids[i] = (uint32_t)i;
  qsort_r(ids, pv->ns, sizeof(*ids), cmp_sid, pv);
  for (size_t i = 0; i < pv->ns; i++)
    rank[ids[i]] = (uint32_t)i;
  qsort_r(pv->e, pv->ne, sizeof(*pv->e), cmp_entry, rank);
  free(ids);
  free(rank);
  size_t first = out->nrows;
  au_time ing = st->ctx->ingestion_time;
  const char *mkt = p->ti->kind == K_LMP || p->ti->kind == K_AS
                        ? (strcmp(p->market_run, p->ti->market_run) ? p->market_run : p->ti->market)
                        : NULL;
  for (size_t i = 0; i < pv->ne; i++) {
    const struct entry *e = &pv->e[i];
    const char *loc = pv_str(pv, e->sid);
    au_time end = e->end;
    int minutes = end != AU_TIME_NONE && end > e->start ? (int)((end - e->start) / AU_MINUTE) : st->ctx->table->interval_minutes;
    au_batch_add_row(out);
    switch (p->ti->kind) {
    case K_LMP:
      au_batch_set_time(out, AU_LMP_START, e->start);
      if (end != AU_TIME_NONE)
        au_batch_set_time(out, AU_LMP_END, end);
      else
        au_batch_set_time(out, AU_LMP_END, e->start + (au_time)minutes * AU_MINUTE);
      au_lmp_set_meta(out, CAISO_ISO, mkt, "USD/MWh", CAISO_TZ, minutes, ing);
      au_batch_set_text(out, AU_LMP_LOC_ID, loc, strlen(loc));
      au_batch_set_text(out, AU_LMP_LOC_NAME, loc, strlen(loc));
      au_batch_set_text(out, AU_LMP_LOC_TYPE, loc_type(loc), strlen(loc_type(loc)));
      for (int c = 0; c < 5; c++)
        if (e->mask & (1u << c))
          au_batch_set_double(out, AU_LMP_LMP + c, e->v[c]);
      break;
    case K_AS: {
      const char *sep = strchr(loc, SEP);
      au_batch_set_time(out, AS_START, e->start);
      au_batch_set_time(out, AS_END, end != AU_TIME_NONE ? end : e->start + (au_time)minutes * AU_MINUTE);
      au_batch_set_text(out, AS_ISO, CAISO_ISO, 5);
      au_batch_set_text(out, AS_MARKET, mkt, strlen(mkt));
      au_batch_set_text(out, AS_TYPE, loc, (size_t)(sep - loc));
      au_batch_set_text(out, AS_REGION, sep + 1, strlen(sep + 1));
      if (e->mask & 1)
        au_batch_set_double(out, AS_PRICE, e->v[0]);
      au_batch_set_text(out, AS_UNIT, "USD/MW", 6);
      au_batch_set_text(out, AS_TZ, CAISO_TZ, strlen(CAISO_TZ));
      au_batch_set_int(out, AS_MINUTES, minutes);
      au_batch_set_time(out, AS_INGEST, ing);
      break;
    }
    case K_LOAD: {
      const char *sep = strchr(loc, SEP);
      char h[16];
      snprintf(h, sizeof(h), "%.*s", (int)(sep - loc), loc);
      struct entry ee = *e;
      if (ee.end == AU_TIME_NONE)
        ee.end = e->start + (au_time)minutes * AU_MINUTE;
      au_batch_set_time(out, AU_LOAD_START, e->start);
      au_batch_set_time(out, AU_LOAD_END, ee.end);
      au_load_set_meta(out, CAISO_ISO, h, CAISO_TZ, minutes, ing);
      au_batch_set_text(out, AU_LOAD_LOC_ID, sep + 1, strlen(sep + 1));
      au_batch_set_text(out, AU_LOAD_LOC_TYPE, "TAC", 3);
      if (e->mask & 1)
        au_batch_set_double(out, AU_LOAD_MW, e->v[0]);
      au_batch_set_time(out, AU_LOAD_PUBLISHED, load_publish(p, h, &ee));
      break;
    }
    case K_CRR: {
      const char *s1 = strchr(loc, SEP), *s2 = strchr(s1 + 1, SEP), *s3 = strchr(s2 + 1, SEP);
      au_batch_set_time(out, CRR_START, e->start);
      if (end != AU_TIME_NONE)
        au_batch_set_time(out, CRR_END, end);
      au_batch_set_text(out, CRR_ISO, CAISO_ISO, 5);
      au_batch_set_text(out, CRR_MKT, loc, (size_t)(s1 - loc));
      if (s2 > s1 + 1)
        au_batch_set_text(out, CRR_TERM, s1 + 1, (size_t)(s2 - s1 - 1));
      au_batch_set_text(out, CRR_LOC, s2 + 1, (size_t)(s3 - s2 - 1));
      au_batch_set_text(out, CRR_TOU, s3 + 1, strlen(s3 + 1));
      if (e->mask & 1)
        au_batch_set_double(out, CRR_PRICE, e->v[0]);
      au_batch_set_time(out, CRR_INGEST, ing);
      break;
    }
    }
  }
  if (p->ti->kind == K_LMP)
    au_lmp_complete(out, first);
}

static int oasis_error(const struct pstate *st, struct au_err *err) {
  int c = st->oasis_code;
  switch (c) {
  case 1000:
    return AU_E_NODATA;
  case 1004:
    au_err_set(err, AU_E_SPLIT, "OASIS error 1004: %s", st->oasis_desc);
    return AU_E_SPLIT;
  case 1015:
    return au_err_set_retry(err, AU_E_RATE, "OASIS error 1015 (retry later): %s", st->oasis_desc);
  default:
    return au_err_set(err, c == 1001 || c == 1002 || c == 1005 || c == 1017 || c == 1020 ? AU_E_CONFIG : AU_E_HTTP,
                      "OASIS error %d: %s", c, st->oasis_desc);
  }
}

static int caiso_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                       struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  struct cpriv *p = ctx->priv;
  if (!p)
    return au_err_set(err, AU_E_INVAL, "caiso: parse before init");
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    if (resp->status == 429 || resp->status >= 500)
      return au_err_set_retry(err, resp->status == 429 ? AU_E_RATE : AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n,
                              resp->body ? resp->body : "");
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  struct pivot pv;
  pivot_init(&pv);
  struct pstate st;
  memset(&st, 0, sizeof(st));
  st.ctx = ctx;
  st.p = p;
  st.req = req;
  st.pv = &pv;
  au_buf_init(&st.xml, XML_MEMBER_MAX);
  au_buf_init(&st.scratch, 1 << 20);
  au_buf_init(&st.carry, AU_CSV_DEFAULT_MAX_FIELD);
  int rc;
  if (au_zip_looks_like(resp->body, resp->len)) {
    rc = au_zip_each(resp->body, resp->len, NULL, on_member, on_data, on_end, &st, err);
  } else {
    /* not a ZIP: a bare XML document is accepted, anything else is an error */
    size_t i = 0;
    while (i < resp->len && (resp->body[i] == ' ' || resp->body[i] == '\n' || resp->body[i] == '\r' || resp->body[i] == '\t'))
      i++;
    if (i < resp->len && resp->body[i] == '<' && (resp->len - i < 5 || strncasecmp(resp->body + i, "<html", 5))) {
      st.mode = 2;
      if (au_buf_add(&st.xml, resp->body, resp->len))
        rc = au_err_set(err, AU_E_TOOBIG, "XML body too large");
      else
        rc = xml_finish(&st, err);
    } else {
      int n = resp->len > 120 ? 120 : (int)resp->len;
      rc = au_err_set(err, AU_E_PARSE, "response is not a ZIP (content type %s, %zu bytes): %.*s",
                      resp->content_type && *resp->content_type ? resp->content_type : "none", resp->len, n,
                      resp->body ? resp->body : "");
    }
  }
  if (rc == 0 && st.oasis_code)
    rc = oasis_error(&st, err);
  if (rc == 0) {
    if (pv.ne == 0)
      rc = AU_E_NODATA;
    else
      emit(&st, out);
  }
  au_csv_free(st.csv);
  au_buf_release(&st.carry);
  free(st.lb);
  free(st.fv);
  free(st.fl);
  au_buf_release(&st.xml);
  au_buf_release(&st.scratch);
  pivot_free(&pv);
  return rc;
}




/* Every-node mode answers one trade day (DAM) or one hour (RT) per request: windows of one
 * day keep a day of every APNode in memory (57,600 DAM rows) instead of 31 days. */
static int caiso_window_days(const struct au_table_def *def, const struct au_opts *topts,
                             const struct au_opts *sopts) {
  const struct tinfo *ti = def->priv;
  if (!ti || ti->kind != K_LMP)
    return 0;
  const char *v = au_opts_get(topts, "grp_type");
  if ((!v || !*v) && sopts)
    v = au_opts_get(sopts, "grp_type");
  return v && *v ? 1 : 0;
}

const struct au_source_ops au_source_caiso = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "caiso",
    .title = "California ISO OASIS (SingleZip, CSV or XML in ZIP)",
    .default_base = "https://oasis.caiso.com/oasisapi",
    .base_env = caiso_base_env,
    .opts = caiso_opts,
    .tables = caiso_tables,
    .ntables = AU_ARRAY_LEN(caiso_tables),
    .policy = {.rate_per_min = 0, .burst = 1, .min_spacing = 5, .max_attempts = 6, .backoff_base = 5},
    .init = caiso_init,
    .fini = caiso_fini,
    .plan = caiso_plan,
    .parse = caiso_parse,
    .window_days = caiso_window_days,
};

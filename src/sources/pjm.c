/* pjm.c - PJM Data Miner 2 (api.pjm.com/api/v1): LMPs (day-ahead hourly, real-time hourly,
 * real-time 5-minute), hourly metered load and the seven-day load forecast.
 *
 *   GET {base}/{feed}?rowCount=N&fields=...&{time_field}=MM/DD/YYYY HH:MMtoMM/DD/YYYY HH:MM
 *       [&pnode_id=1;3;48579][&load_area=..|&forecast_area=..]&startRow=1
 *   header Ocp-Apim-Subscription-Key: <key>
 *
 * Windows are filtered on the UTC column (datetime_beginning_utc, or
 * forecast_datetime_beginning_utc for the forecast): the range is inclusive at both ends,
 * so the end sent is the start of the last interval of the window. The EPT columns are
 * never read (they repeat 01:00 on the fall-back day).
 *
 * Paging: rowCount <= 50,000 rows per call, startRow 1-based; the next page is pushed to
 * `more` until startRow - 1 + items >= totalRows. Query windows are < 366 days. Archived
 * data (LMPs older than 731 days, 5-minute LMPs older than 186 days) must be asked for
 * within one UTC calendar year, cannot straddle the archive cut-off and cannot be filtered
 * by pnode: the planner splits windows at the cut-off and at year boundaries, and for
 * archived requests drops pnode_id from the query and filters the rows locally. A 400
 * saying the range "spans over archived and standard data" (the cut-off moved) asks the
 * pipeline to split the window.
 *
 * Revisions: LMP rows carry row_is_current / version_nbr. Rows with row_is_current=false
 * are superseded (a newer version exists) and are skipped; among rows of one response with
 * the same (pnode, interval) the highest version_nbr wins. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/csv.h"
#include "sources/canonical.h"
#include "sources/pjm.h"
#include "sources/source.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PJM_ISO "PJM"
#define PJM_TZ "America/New_York"
#define PJM_MAX_ROWS 50000
#define PJM_MAX_DAYS 365 /* "Date range cannot exceed 366 days": stay strictly below */
#define PJM_MAX_NODES 512

enum pjm_kind { K_LMP, K_LOAD_METERED, K_LOAD_FORECAST };

struct pjm_table {
  const char *feed;
  enum pjm_kind kind;
  const char *suffix;      /* "_da" / "_rt" for the price columns */
  const char *market;      /* iso_market */
  const char *time_field;  /* UTC column filtered and keyed on */
  const char *fields;      /* fields= list */
  const char *area_filter; /* filter name for the `areas` option (load tables) */
  int archive_days;        /* 0 = no archive */
};

static const struct pjm_table t_da = {
    "da_hrl_lmps", K_LMP, "_da", "DA", "datetime_beginning_utc",
    "datetime_beginning_utc,pnode_id,pnode_name,type,system_energy_price_da,total_lmp_da,"
    "congestion_price_da,marginal_loss_price_da,row_is_current,version_nbr",
    NULL, 731};
static const struct pjm_table t_rt = {
    "rt_hrl_lmps", K_LMP, "_rt", "RT", "datetime_beginning_utc",
    "datetime_beginning_utc,pnode_id,pnode_name,type,system_energy_price_rt,total_lmp_rt,"
    "congestion_price_rt,marginal_loss_price_rt,row_is_current,version_nbr",
    NULL, 731};
static const struct pjm_table t_rt5 = {
    "rt_fivemin_hrl_lmps", K_LMP, "_rt", "RT5", "datetime_beginning_utc",
    "datetime_beginning_utc,pnode_id,pnode_name,type,system_energy_price_rt,total_lmp_rt,"
    "congestion_price_rt,marginal_loss_price_rt,row_is_current,version_nbr",
    NULL, 186};
static const struct pjm_table t_load = {
    "hrl_load_metered", K_LOAD_METERED, NULL, "ACTUAL", "datetime_beginning_utc",
    "datetime_beginning_utc,load_area,zone,mw,is_verified", "load_area", 0};
static const struct pjm_table t_fcst = {
    "load_frcstd_7_day", K_LOAD_FORECAST, NULL, "7DAY", "forecast_datetime_beginning_utc",
    "evaluated_at_datetime_utc,forecast_area,forecast_datetime_beginning_utc,"
    "forecast_datetime_ending_utc,forecast_load_mw",
    "forecast_area", 0};

static const struct au_option_def pjm_opts[] = {
    {"api_key", AU_OPT_STR, NULL, "PJM_API_KEY",
     "Data Miner 2 subscription key (header Ocp-Apim-Subscription-Key)", true},
    {"row_count", AU_OPT_INT, "50000", NULL, "rows per page (rowCount, 1..50000)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def lmp_opts[] = {
    {"nodes", AU_OPT_LIST, NULL, NULL,
     "pnode ids to fetch (pnode_id filter; all nodes when unset)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def load_opts[] = {
    {"areas", AU_OPT_LIST, NULL, NULL,
     "areas to fetch (load_area / forecast_area filter; all when unset)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

static const struct au_table_def pjm_tables[] = {
    {.name = "lmp_da_hourly", .description = "Day-ahead hourly LMPs with components (da_hrl_lmps)",
     .schema = &au_lmp_schema, .dest_table = "pjm_lmp_da_hourly", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = PJM_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 24, .default_history_days = 7, .default_rate_delay = 0,
     .max_request_days = PJM_MAX_DAYS, .opts = lmp_opts, .priv = &t_da},
    {.name = "lmp_rt_hourly", .description = "Real-time hourly LMPs with components (rt_hrl_lmps)",
     .schema = &au_lmp_schema, .dest_table = "pjm_lmp_rt_hourly", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = PJM_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 72, .default_history_days = 7, .default_rate_delay = 0,
     .max_request_days = PJM_MAX_DAYS, .opts = lmp_opts, .priv = &t_rt},
    {.name = "lmp_rt_5min", .description = "Real-time 5-minute LMPs with components (rt_fivemin_hrl_lmps)",
     .schema = &au_lmp_schema, .dest_table = "pjm_lmp_rt_5min", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = PJM_TZ, .interval_minutes = 5, .default_batch_days = 1,
     .default_lookback_hours = 72, .default_history_days = 2, .default_rate_delay = 0,
     .max_request_days = PJM_MAX_DAYS, .opts = lmp_opts, .priv = &t_rt5},
    {.name = "load_metered", .description = "Hourly metered load by load area (hrl_load_metered)",
     .schema = &au_load_schema, .dest_table = "pjm_load_metered", .cursor_col = "interval_start_utc",
     .watermark_requires = "load_mw", .trade_tz = PJM_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 24 * 7, .default_history_days = 30, .default_rate_delay = 0,
     .max_request_days = PJM_MAX_DAYS, .opts = load_opts, .priv = &t_load},
    {.name = "load_forecast", .description = "Seven-day hourly load forecast, every vintage (load_frcstd_7_day)",
     .schema = &au_load_schema, .dest_table = "pjm_load_forecast", .cursor_col = "interval_start_utc",
     .watermark_requires = NULL, .trade_tz = PJM_TZ, .interval_minutes = 60, .default_batch_days = 7,
     .default_lookback_hours = 24, .default_history_days = 1, .default_rate_delay = 0,
     .max_request_days = PJM_MAX_DAYS, .opts = load_opts, .priv = &t_fcst},
};

static const char *const pjm_base_env[] = {"AURUM_PJM_BASE", "PJM_BASE_URL", NULL};

/* --- planning ------------------------------------------------------------------ */

/* Validate a comma list (option text) into "a;b;c" for the query. digits: ids only. */
static int list_param(const char *opt, const char *what, bool digits, char *out, size_t outsz,
                      struct au_err *err) {
  size_t o = 0, n = 0;
  out[0] = 0;
  if (!opt || !*opt)
    return 0;
  const char *p = opt;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *s = p;
    while (*p && *p != ',')
      p++;
    const char *e = p;
    while (e > s && e[-1] == ' ')
      e--;
    if (e == s)
      continue;
    for (const char *c = s; c < e; c++)
      if ((digits && (*c < '0' || *c > '9')) || *c == ';')
        return au_err_set(err, AU_E_CONFIG, "pjm: option %s: '%.*s' is not a valid %s", what,
                          (int)(e - s), s, digits ? "pnode id (digits)" : "name");
    if (++n > PJM_MAX_NODES || o + (size_t)(e - s) + 2 > outsz)
      return au_err_set(err, AU_E_CONFIG, "pjm: option %s: too many values (max %d)", what,
                        PJM_MAX_NODES);
    if (o)
      out[o++] = ';';
    memcpy(out + o, s, (size_t)(e - s));
    o += (size_t)(e - s);
    out[o] = 0;
  }
  return 0;
}

static int row_count_opt(const struct au_source_ctx *ctx, struct au_err *err) {
  const char *v = au_opts_get(ctx->opts, "row_count");
  if (!v || !*v)
    return PJM_MAX_ROWS;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < 1 || n > PJM_MAX_ROWS)
    return au_err_set(err, AU_E_CONFIG, "pjm: row_count must be 1..%d, got '%s'", PJM_MAX_ROWS, v);
  return (int)n;
}

/* First instant that is not archived: EPT midnight of (today - days). */
static au_time archive_cutoff(au_time now, int days) {
  const struct au_tz *tz = au_tz_get(PJM_TZ, NULL);
  int y, m, d;
  au_tz_local_date(tz, now, &y, &m, &d);
  au_civil_from_days(au_days_from_civil(y, m, d) - days, &y, &m, &d);
  return au_tz_day_start(tz, y, m, d);
}

static void fmt_pjm_time(au_time t, char *buf, size_t n) {
  struct au_civil c;
  au_time_to_civil(t, &c);
  snprintf(buf, n, "%02d/%02d/%04d %02d:%02d", c.month, c.day, c.year, c.hour, c.minute);
}

static struct au_request *push_req(struct au_reqlist *out, const struct au_source_ctx *ctx,
                                   const char *url, const char *key) {
  struct au_request *r = au_reqlist_push(out);
  au_request_set_url(r, url);
  au_request_add_header(r, "Ocp-Apim-Subscription-Key", key);
  au_request_add_header(r, "Accept", "application/json");
  r->credential = "PJM_API_KEY";
  AU_UNUSED(ctx);
  return r;
}

static int add_window(struct au_source_ctx *ctx, const struct pjm_table *pt, au_time a, au_time b,
                      bool archived, int rows, const char *ids, const char *areas, const char *key,
                      struct au_reqlist *out, struct au_err *err) {
  char t0[32], t1[32], range[80];
  fmt_pjm_time(a, t0, sizeof(t0));
  fmt_pjm_time(b - (au_time)ctx->table->interval_minutes * AU_MINUTE, t1, sizeof(t1));
  snprintf(range, sizeof(range), "%sto%s", t0, t1);
  struct au_buf u = AU_BUF_INIT(16384);
  int rc = au_buf_printf(&u, "%s/%s?rowCount=%d&fields=%s&%s=", ctx->base_url, pt->feed, rows,
                         pt->fields, pt->time_field);
  if (!rc)
    rc = au_url_encode(&u, range);
  if (!rc && ids[0] && !archived) {
    rc = au_buf_adds(&u, "&pnode_id=");
    if (!rc)
      rc = au_url_encode(&u, ids);
  }
  if (!rc && areas[0] && pt->area_filter) {
    rc = au_buf_printf(&u, "&%s=", pt->area_filter);
    if (!rc)
      rc = au_url_encode(&u, areas);
  }
  if (!rc)
    rc = au_buf_adds(&u, "&startRow=1");
  if (rc) {
    au_buf_release(&u);
    return au_err_set(err, AU_E_TOOBIG, "pjm: request URL too long");
  }
  struct au_request *r = push_req(out, ctx, u.ptr, key);
  au_buf_release(&u);
  r->win_start = a;
  r->win_end = b;
  r->cookie = 1;                                         /* startRow */
  r->cookie2 = (archived ? 1 : 0) | ((int64_t)rows << 1); /* flags | rowCount */
  char d0[24], d1[24];
  au_time_fmt(a, d0);
  au_time_fmt(b, d1);
  snprintf(r->label, sizeof(r->label), "pjm.%s %s..%s%s", ctx->table->name, d0, d1,
           archived ? " (archive)" : "");
  return 0;
}

static int pjm_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                    struct au_err *err) {
  const struct pjm_table *pt = ctx->table->priv;
  const char *key = au_opts_get(ctx->opts, "api_key");
  if (!key || !*key)
    return au_err_set(err, AU_E_CONFIG,
                      "pjm: no API key: set PJM_API_KEY or sources.pjm.api_key in the config "
                      "(Data Miner 2 subscription key)");
  int rows = row_count_opt(ctx, err);
  if (rows < 0)
    return rows;
  char ids[8192], areas[8192];
  int rc = list_param(pt->kind == K_LMP ? au_opts_get(ctx->opts, "nodes") : NULL, "nodes", true, ids,
                      sizeof(ids), err);
  if (!rc)
    rc = list_param(pt->kind != K_LMP ? au_opts_get(ctx->opts, "areas") : NULL, "areas", false, areas,
                    sizeof(areas), err);
  if (rc)
    return rc;
  au_time step = (au_time)ctx->table->interval_minutes * AU_MINUTE;
  start -= ((start % step) + step) % step; /* whole intervals */
  if (end <= start)
    return 0;
  au_time cutoff = pt->archive_days ? archive_cutoff(ctx->now, pt->archive_days) : AU_TIME_NONE;
  au_time a = start;
  while (a < end) {
    au_time b = end;
    bool archived = cutoff != AU_TIME_NONE && a < cutoff;
    if (archived) {
      if (b > cutoff)
        b = cutoff; /* never straddle the archive cut-off */
      struct au_civil c;
      au_time_to_civil(a, &c);
      au_time year_end = au_time_utc(c.year + 1, 1, 1, 0, 0, 0);
      if (b > year_end)
        b = year_end; /* archive queries stay in one UTC calendar year */
    }
    if (b - a > (au_time)PJM_MAX_DAYS * AU_DAY)
      b = a + (au_time)PJM_MAX_DAYS * AU_DAY;
    if ((rc = add_window(ctx, pt, a, b, archived, rows, ids, areas, key, out, err)))
      return rc;
    a = b;
  }
  return 0;
}

/* --- parsing ------------------------------------------------------------------- */

static int load_envelope(const char *body, size_t len, json_t **root_out, json_t **items_out,
                         int64_t *total, struct au_err *err) {
  json_error_t jerr;
  json_t *root = json_loadb(body, len, 0, &jerr);
  if (!root)
    return au_err_set(err, AU_E_PARSE, "invalid JSON at line %d, column %d (byte %d): %s", jerr.line,
                      jerr.column, jerr.position, jerr.text);
  json_t *errs = json_object_get(root, "errors");
  if (json_is_array(errs) && json_array_size(errs) > 0) {
    json_t *e0 = json_array_get(errs, 0);
    json_t *m = json_object_get(e0, "message");
    int rc = au_err_set(err, AU_E_HTTP, "Data Miner error: %s",
                        json_is_string(m) ? json_string_value(m) : "(no message)");
    json_decref(root);
    return rc;
  }
  json_t *items = json_is_array(root) ? root : json_object_get(root, "items");
  if (!json_is_array(items)) {
    json_decref(root);
    return au_err_set(err, AU_E_PARSE, "response has no \"items\" array");
  }
  json_t *tr = json_is_object(root) ? json_object_get(root, "totalRows") : NULL;
  if (tr && !json_is_integer(tr)) {
    json_decref(root);
    return au_err_set(err, AU_E_PARSE, "\"totalRows\" is not an integer");
  }
  *total = tr ? json_integer_value(tr) : (int64_t)json_array_size(items);
  *root_out = root;
  *items_out = items;
  return 0;
}

static int time_field(json_t *it, const char *name, au_time *out) {
  json_t *v = json_object_get(it, name);
  if (!json_is_string(v))
    return AU_E_PARSE;
  return au_time_parse_iso(json_string_value(v), json_string_length(v), out, NULL);
}

int au_pjm_scan_envelope(const char *body, size_t len, const char *tf, struct au_pjm_scan *out,
                         struct au_err *err) {
  json_t *root, *items;
  int64_t total;
  memset(out, 0, sizeof(*out));
  int rc = load_envelope(body, len, &root, &items, &total, err);
  if (rc)
    return rc;
  out->nitems = json_array_size(items);
  out->total_rows = total;
  out->tmin = out->tmax = AU_TIME_NONE;
  au_time *ts = au_xmalloc((out->nitems + 1) * sizeof(*ts));
  for (size_t i = 0; i < out->nitems; i++) {
    json_t *it = json_array_get(items, i);
    if (!json_is_object(it) || time_field(it, tf, &ts[i]) != 0) {
      rc = au_err_set(err, AU_E_PARSE, "items[%zu], field %s: missing or not a \"YYYY-MM-DDTHH:MM:SS\" time",
                      i, tf);
      break;
    }
    if (out->tmin == AU_TIME_NONE || ts[i] < out->tmin)
      out->tmin = ts[i];
    if (out->tmax == AU_TIME_NONE || ts[i] > out->tmax)
      out->tmax = ts[i];
    bool seen = false;
    for (size_t k = 0; k < i && !seen; k++) /* small recorded samples only */
      seen = ts[k] == ts[i];
    if (!seen)
      out->ndistinct++;
  }
  free(ts);
  json_decref(root);
  return rc;
}

/* (pnode, start) -> row index, version: open addressing, per response. */
struct dedup {
  struct slot {
    int64_t node, start, version;
    size_t row;
    bool used;
  } *v;
  size_t cap, used;
};

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static struct slot *dedup_find(struct dedup *d, int64_t node, int64_t start) {
  size_t i = (size_t)mix((uint64_t)node * 0x9e3779b97f4a7c15ULL ^ (uint64_t)start) & (d->cap - 1);
  while (d->v[i].used && (d->v[i].node != node || d->v[i].start != start))
    i = (i + 1) & (d->cap - 1);
  return &d->v[i];
}

static void dedup_grow(struct dedup *d) {
  struct dedup n = {au_xcalloc(d->cap * 2, sizeof(*d->v)), d->cap * 2, d->used};
  for (size_t i = 0; i < d->cap; i++)
    if (d->v[i].used)
      *dedup_find(&n, d->v[i].node, d->v[i].start) = d->v[i];
  free(d->v);
  *d = n;
}

static bool in_list(const char *list, const char *s, size_t n) {
  const char *p = list;
  while (*p) {
    const char *e = strchr(p, ';');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && memcmp(p, s, n) == 0)
      return true;
    if (!e)
      break;
    p = e + 1;
  }
  return false;
}

static void loc_type(const char *s, size_t n, char *out, size_t outsz) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < outsz; i++) {
    char c = s[i];
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    else if (c == ' ' || c == '-')
      c = '_';
    out[k++] = c;
  }
  out[k] = 0;
}

/* --- the fast path: a flat-object JSON reader for the items array ------------------ *
 * Data Miner items are flat objects of scalars. The reader walks the body once without
 * building a tree: top-level keys other than "items" / "totalRows" / "errors" are
 * skipped (any JSON value, nesting limited), each item's wanted fields are kept as spans
 * into the body. Errors give the byte offset. */

enum jv_kind { JV_ABSENT = 0, JV_STR, JV_NUM, JV_TRUE, JV_FALSE, JV_NULL, JV_OTHER };
struct jv {
  enum jv_kind k;
  const char *s; /* string contents (without quotes) or number text */
  size_t n;
  bool esc; /* string has backslash escapes */
};

struct jr {
  const char *b, *p, *e;
};

#define JR_MAX_DEPTH 64

static int jr_fail(struct jr *r, struct au_err *err, const char *what) {
  return au_err_set(err, AU_E_PARSE, "invalid JSON at byte %zu: %s", (size_t)(r->p - r->b), what);
}

static void jr_ws(struct jr *r) {
  while (r->p < r->e && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
    r->p++;
}

static int jr_str(struct jr *r, struct jv *v, struct au_err *err) {
  if (r->p >= r->e || *r->p != '"')
    return jr_fail(r, err, "expected a string");
  const char *s = ++r->p;
  bool esc = false;
  while (r->p < r->e && *r->p != '"') {
    unsigned char c = (unsigned char)*r->p;
    if (c < 0x20)
      return jr_fail(r, err, "control character in string");
    if (c == '\\') {
      esc = true;
      if (++r->p >= r->e)
        break;
      if (*r->p == 'u') {
        for (int k = 1; k <= 4; k++)
          if (r->p + k >= r->e || !((r->p[k] >= '0' && r->p[k] <= '9') || ((r->p[k] | 32) >= 'a' && (r->p[k] | 32) <= 'f')))
            return jr_fail(r, err, "bad \\u escape");
        r->p += 4;
      } else if (!strchr("\"\\/bfnrt", *r->p)) {
        return jr_fail(r, err, "bad escape");
      }
    }
    r->p++;
  }
  if (r->p >= r->e)
    return jr_fail(r, err, "unterminated string");
  *v = (struct jv){JV_STR, s, (size_t)(r->p - s), esc};
  r->p++;
  return 0;
}

static int jr_num(struct jr *r, struct jv *v, struct au_err *err) {
  const char *s = r->p;
  if (r->p < r->e && *r->p == '-')
    r->p++;
  const char *d = r->p;
  while (r->p < r->e && *r->p >= '0' && *r->p <= '9')
    r->p++;
  if (r->p == d)
    return jr_fail(r, err, "bad number");
  if (r->p < r->e && *r->p == '.') {
    const char *f = ++r->p;
    while (r->p < r->e && *r->p >= '0' && *r->p <= '9')
      r->p++;
    if (r->p == f)
      return jr_fail(r, err, "bad number");
  }
  if (r->p < r->e && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->e && (*r->p == '+' || *r->p == '-'))
      r->p++;
    const char *x = r->p;
    while (r->p < r->e && *r->p >= '0' && *r->p <= '9')
      r->p++;
    if (r->p == x)
      return jr_fail(r, err, "bad number");
  }
  *v = (struct jv){JV_NUM, s, (size_t)(r->p - s), false};
  return 0;
}

static int jr_lit(struct jr *r, const char *lit, enum jv_kind k, struct jv *v, struct au_err *err) {
  size_t n = strlen(lit);
  if ((size_t)(r->e - r->p) < n || memcmp(r->p, lit, n) != 0)
    return jr_fail(r, err, "unexpected character");
  *v = (struct jv){k, r->p, n, false};
  r->p += n;
  return 0;
}

static int jr_value(struct jr *r, struct jv *v, int depth, struct au_err *err);

static int jr_container(struct jr *r, int depth, struct au_err *err) {
  if (depth > JR_MAX_DEPTH)
    return jr_fail(r, err, "nesting too deep");
  char close = *r->p == '{' ? '}' : ']';
  bool obj = close == '}';
  r->p++;
  jr_ws(r);
  if (r->p < r->e && *r->p == close) {
    r->p++;
    return 0;
  }
  for (;;) {
    struct jv v;
    int rc;
    if (obj) {
      if ((rc = jr_str(r, &v, err)))
        return rc;
      jr_ws(r);
      if (r->p >= r->e || *r->p != ':')
        return jr_fail(r, err, "expected ':'");
      r->p++;
    }
    if ((rc = jr_value(r, &v, depth + 1, err)))
      return rc;
    jr_ws(r);
    if (r->p < r->e && *r->p == ',') {
      r->p++;
      jr_ws(r);
      continue;
    }
    if (r->p < r->e && *r->p == close) {
      r->p++;
      return 0;
    }
    return jr_fail(r, err, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int jr_value(struct jr *r, struct jv *v, int depth, struct au_err *err) {
  jr_ws(r);
  if (r->p >= r->e)
    return jr_fail(r, err, "unexpected end of input");
  switch (*r->p) {
  case '"': return jr_str(r, v, err);
  case 't': return jr_lit(r, "true", JV_TRUE, v, err);
  case 'f': return jr_lit(r, "false", JV_FALSE, v, err);
  case 'n': return jr_lit(r, "null", JV_NULL, v, err);
  case '{':
  case '[': {
    const char *s = r->p;
    int rc = jr_container(r, depth, err);
    *v = (struct jv){JV_OTHER, s, (size_t)(r->p - s), false};
    return rc;
  }
  default:
    if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
      return jr_num(r, v, err);
    return jr_fail(r, err, "unexpected character");
  }
}

static bool jv_is(const struct jv *v, const char *s) {
  return v->k == JV_STR && !v->esc && v->n == strlen(s) && memcmp(v->s, s, v->n) == 0;
}

/* Decode a JSON string span into buf (UTF-8, truncated to n-1 bytes); returns the length. */
static size_t jv_text(const struct jv *v, char *buf, size_t n) {
  size_t o = 0;
  if (v->k == JV_NUM || !v->esc) {
    o = v->n < n - 1 ? v->n : n - 1;
    memcpy(buf, v->s, o);
    buf[o] = 0;
    return o;
  }
  for (size_t i = 0; i < v->n && o + 4 < n; i++) {
    char c = v->s[i];
    if (c != '\\') {
      buf[o++] = c;
      continue;
    }
    c = v->s[++i];
    switch (c) {
    case 'b': buf[o++] = '\b'; break;
    case 'f': buf[o++] = '\f'; break;
    case 'n': buf[o++] = '\n'; break;
    case 'r': buf[o++] = '\r'; break;
    case 't': buf[o++] = '\t'; break;
    case 'u': {
      unsigned cp = (unsigned)strtoul((char[5]){v->s[i + 1], v->s[i + 2], v->s[i + 3], v->s[i + 4], 0}, NULL, 16);
      i += 4;
      if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD; /* lone or paired surrogates: replacement character */
      if (cp < 0x80) {
        buf[o++] = (char)cp;
      } else if (cp < 0x800) {
        buf[o++] = (char)(0xC0 | (cp >> 6));
        buf[o++] = (char)(0x80 | (cp & 0x3F));
      } else {
        buf[o++] = (char)(0xE0 | (cp >> 12));
        buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[o++] = (char)(0x80 | (cp & 0x3F));
      }
      break;
    }
    default: buf[o++] = c; break; /* \" \\ \/ */
    }
  }
  buf[o] = 0;
  return o;
}

/* Number (JSON number or numeric string); absent/null/"" -> NULL. */
static int jv_double(const struct jv *v, bool *isnull, double *out) {
  *isnull = v->k == JV_ABSENT || v->k == JV_NULL || (v->k == JV_STR && v->n == 0);
  if (*isnull)
    return 0;
  if ((v->k != JV_NUM && v->k != JV_STR) || v->esc)
    return AU_E_PARSE;
  return au_parse_double(v->s, v->n, out);
}

static int jv_time(const struct jv *v, au_time *out) {
  if (v->k != JV_STR || v->esc)
    return AU_E_PARSE;
  return au_time_parse_iso(v->s, v->n, out, NULL);
}

/* The fields each table reads, in a fixed order (index = F_*). */
enum { F_TIME, F_PNODE, F_NAME, F_TYPE, F_ENERGY, F_TOTAL, F_CONG, F_LOSS, F_CUR, F_VER, F_MAX };
enum { G_TIME, G_AREA, G_MW, G_EVAL, G_END };

struct items {
  struct au_source_ctx *ctx;
  const struct pjm_table *pt;
  struct au_batch *out;
  struct dedup d;
  const char *only;
  int64_t first;
  au_time step;
  const char *names[F_MAX];
  size_t nnames;
  size_t n; /* items seen */
};

static int bad(struct au_err *err, const struct items *it, size_t off, const char *field, const char *what) {
  return au_err_set(err, AU_E_PARSE, "items[%zu] (row %lld of the query, byte %zu), field %s: %s", it->n,
                    (long long)(it->first + (int64_t)it->n), off, field, what);
}

static int lmp_item(struct items *it, const struct jv *f, size_t off, struct au_err *err) {
  struct au_batch *out = it->out;
  au_time t;
  if (jv_time(&f[F_TIME], &t))
    return bad(err, it, off, it->names[F_TIME], "missing or not a \"YYYY-MM-DDTHH:MM:SS\" time");
  int64_t node;
  if (f[F_PNODE].k != JV_NUM || au_parse_int64(f[F_PNODE].s, f[F_PNODE].n, &node))
    return bad(err, it, off, "pnode_id", "missing or not an integer");
  if (it->only && !in_list(it->only, f[F_PNODE].s, f[F_PNODE].n))
    return 0;
  const struct jv *cur = &f[F_CUR];
  if (cur->k != JV_ABSENT && cur->k != JV_TRUE && cur->k != JV_FALSE && cur->k != JV_NULL)
    return bad(err, it, off, "row_is_current", "not true/false");
  if (cur->k == JV_FALSE)
    return 0; /* superseded by a newer version */
  int64_t version = 0;
  const struct jv *ver = &f[F_VER];
  if (ver->k != JV_ABSENT && ver->k != JV_NULL && (ver->k != JV_NUM || au_parse_int64(ver->s, ver->n, &version)))
    return bad(err, it, off, "version_nbr", "not an integer");
  static const int fi[4] = {F_TOTAL, F_ENERGY, F_CONG, F_LOSS};
  static const int vc[4] = {AU_LMP_LMP, AU_LMP_ENERGY, AU_LMP_CONG, AU_LMP_LOSS};
  double v[4];
  bool isnull[4];
  for (int k = 0; k < 4; k++)
    if (jv_double(&f[fi[k]], &isnull[k], &v[k]))
      return bad(err, it, off, it->names[fi[k]], "not a number");
  if ((it->d.used + 1) * 2 > it->d.cap)
    dedup_grow(&it->d);
  struct slot *s = dedup_find(&it->d, node, t);
  size_t r;
  if (s->used) {
    if (version <= s->version)
      return 0; /* an equal or newer version is already in the batch */
    r = s->row;
    s->version = version;
  } else {
    r = au_batch_add_row(out);
    *s = (struct slot){node, t, version, r, true};
    it->d.used++;
    au_batch_set_time(out, AU_LMP_START, t);
    au_batch_set_time(out, AU_LMP_END, t + it->step);
    au_lmp_set_meta(out, PJM_ISO, it->pt->market, "USD/MWh", PJM_TZ, it->ctx->table->interval_minutes,
                    it->ctx->ingestion_time);
    au_batch_set_text(out, AU_LMP_LOC_ID, f[F_PNODE].s, f[F_PNODE].n);
  }
  char buf[256];
  if (f[F_NAME].k == JV_STR) {
    size_t n = jv_text(&f[F_NAME], buf, sizeof(buf));
    au_batch_set_text_at(out, r, AU_LMP_LOC_NAME, buf, n);
  }
  if (f[F_TYPE].k == JV_STR) {
    char ty[64];
    size_t n = jv_text(&f[F_TYPE], buf, sizeof(buf));
    loc_type(buf, n, ty, sizeof(ty));
    au_batch_set_text_at(out, r, AU_LMP_LOC_TYPE, ty, strlen(ty));
  }
  for (int k = 0; k < 4; k++) {
    if (!isnull[k])
      au_batch_set_double_at(out, r, vc[k], v[k]);
    else
      out->nulls[vc[k]][r] = 1;
  }
  return 0;
}

static int load_item(struct items *it, const struct jv *f, size_t off, struct au_err *err) {
  bool fc = it->pt->kind == K_LOAD_FORECAST;
  au_time t, te = AU_TIME_NONE, pub = AU_TIME_NONE;
  if (jv_time(&f[G_TIME], &t))
    return bad(err, it, off, it->names[G_TIME], "missing or not a \"YYYY-MM-DDTHH:MM:SS\" time");
  if (fc) {
    if (jv_time(&f[G_EVAL], &pub))
      return bad(err, it, off, it->names[G_EVAL], "missing or not a \"YYYY-MM-DDTHH:MM:SS\" time");
    if (f[G_END].k != JV_ABSENT && f[G_END].k != JV_NULL && jv_time(&f[G_END], &te))
      return bad(err, it, off, it->names[G_END], "not a \"YYYY-MM-DDTHH:MM:SS\" time");
  }
  if (te == AU_TIME_NONE)
    te = t + it->step;
  if (te <= t)
    return bad(err, it, off, it->names[G_END], "interval ends before it starts");
  if (f[G_AREA].k != JV_STR || f[G_AREA].n == 0)
    return bad(err, it, off, it->names[G_AREA], "missing");
  double mw = 0;
  bool isnull;
  if (jv_double(&f[G_MW], &isnull, &mw))
    return bad(err, it, off, it->names[G_MW], "not a number");
  char area[128];
  size_t al = jv_text(&f[G_AREA], area, sizeof(area));
  struct au_batch *out = it->out;
  au_batch_add_row(out);
  au_batch_set_time(out, AU_LOAD_START, t);
  au_batch_set_time(out, AU_LOAD_END, te);
  au_load_set_meta(out, PJM_ISO, it->pt->market, PJM_TZ, it->ctx->table->interval_minutes, it->ctx->ingestion_time);
  au_batch_set_text(out, AU_LOAD_LOC_ID, area, al);
  bool rto = strstr(area, "RTO") != NULL;
  au_batch_set_text(out, AU_LOAD_LOC_TYPE, rto ? "SYSTEM" : "AREA", rto ? 6 : 4);
  if (!isnull)
    au_batch_set_double(out, AU_LOAD_MW, mw);
  au_batch_set_time(out, AU_LOAD_PUBLISHED, fc ? pub : te);
  return 0;
}

static int jr_items(struct jr *r, struct items *it, struct au_err *err) {
  r->p++; /* '[' */
  jr_ws(r);
  if (r->p < r->e && *r->p == ']') {
    r->p++;
    return 0;
  }
  for (;;) {
    jr_ws(r);
    size_t off = (size_t)(r->p - r->b);
    if (r->p >= r->e || *r->p != '{')
      return au_err_set(err, AU_E_PARSE, "items[%zu] at byte %zu: not an object", it->n, off);
    r->p++;
    struct jv f[F_MAX];
    memset(f, 0, sizeof(f));
    jr_ws(r);
    if (r->p < r->e && *r->p == '}')
      r->p++;
    else
      for (;;) {
        struct jv key, val;
        int rc = jr_str(r, &key, err);
        if (rc)
          return rc;
        jr_ws(r);
        if (r->p >= r->e || *r->p != ':')
          return jr_fail(r, err, "expected ':'");
        r->p++;
        if ((rc = jr_value(r, &val, 2, err)))
          return rc;
        for (size_t k = 0; k < it->nnames; k++)
          if (key.n == strlen(it->names[k]) && memcmp(key.s, it->names[k], key.n) == 0) {
            f[k] = val;
            break;
          }
        jr_ws(r);
        if (r->p < r->e && *r->p == ',') {
          r->p++;
          jr_ws(r);
          continue;
        }
        if (r->p < r->e && *r->p == '}') {
          r->p++;
          break;
        }
        return jr_fail(r, err, "expected ',' or '}'");
      }
    int rc = it->pt->kind == K_LMP ? lmp_item(it, f, off, err) : load_item(it, f, off, err);
    if (rc)
      return rc;
    it->n++;
    jr_ws(r);
    if (r->p < r->e && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->e && *r->p == ']') {
      r->p++;
      return 0;
    }
    return jr_fail(r, err, "expected ',' or ']' after an item");
  }
}

/* Parse a whole response body: rows go to it->out; *total = totalRows (or the item count). */
static int parse_items(const char *body, size_t len, struct items *it, int64_t *total, struct au_err *err) {
  struct jr r = {body, body, body + len};
  bool have_items = false, have_total = false, have_errors = false;
  jr_ws(&r);
  int rc = 0;
  if (r.p < r.e && *r.p == '[') { /* download=true: a bare array */
    rc = jr_items(&r, it, err);
    have_items = true;
  } else if (r.p < r.e && *r.p == '{') {
    r.p++;
    jr_ws(&r);
    if (r.p < r.e && *r.p == '}')
      r.p++;
    else
      for (;;) {
        struct jv key, val;
        if ((rc = jr_str(&r, &key, err)))
          return rc;
        jr_ws(&r);
        if (r.p >= r.e || *r.p != ':')
          return jr_fail(&r, err, "expected ':'");
        r.p++;
        jr_ws(&r);
        if (jv_is(&key, "items") && r.p < r.e && *r.p == '[') {
          if ((rc = jr_items(&r, it, err)))
            return rc;
          have_items = true;
        } else {
          if ((rc = jr_value(&r, &val, 1, err)))
            return rc;
          if (jv_is(&key, "totalRows")) {
            if (val.k != JV_NUM || au_parse_int64(val.s, val.n, total) || *total < 0)
              return au_err_set(err, AU_E_PARSE, "\"totalRows\" is not an integer (byte %zu)", (size_t)(val.s - body));
            have_total = true;
          } else if (jv_is(&key, "errors") && val.k == JV_OTHER && val.n > 2) {
            have_errors = true;
          }
        }
        jr_ws(&r);
        if (r.p < r.e && *r.p == ',') {
          r.p++;
          jr_ws(&r);
          continue;
        }
        if (r.p < r.e && *r.p == '}') {
          r.p++;
          break;
        }
        return jr_fail(&r, err, "expected ',' or '}'");
      }
  } else {
    return jr_fail(&r, err, "expected '{' or '['");
  }
  if (rc)
    return rc;
  jr_ws(&r);
  if (r.p != r.e)
    return jr_fail(&r, err, "trailing characters after the JSON value");
  if (have_errors) { /* {"errors":[{"message": ...}]}: let jansson pick out the message */
    json_t *root, *items;
    int64_t t;
    rc = load_envelope(body, len, &root, &items, &t, err);
    if (rc == 0) {
      json_decref(root);
      rc = au_err_set(err, AU_E_HTTP, "Data Miner error");
    }
    return rc;
  }
  if (!have_items)
    return au_err_set(err, AU_E_PARSE, "response has no \"items\" array");
  if (!have_total)
    *total = (int64_t)it->n;
  return 0;
}

/* The next page: same URL with startRow replaced (startRow is always the last param). */
static int push_next_page(struct au_source_ctx *ctx, const struct au_request *req, int64_t next,
                          struct au_reqlist *more, struct au_err *err) {
  const char *p = strstr(req->url, "&startRow=");
  if (!p)
    return au_err_set(err, AU_E_INVAL, "pjm: request URL has no startRow");
  char *url = au_xmalloc((size_t)(p - req->url) + 40);
  memcpy(url, req->url, (size_t)(p - req->url));
  snprintf(url + (p - req->url), 40, "&startRow=%lld", (long long)next);
  const char *key = NULL;
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcmp(req->headers[i].name, "Ocp-Apim-Subscription-Key") == 0)
      key = req->headers[i].value;
  struct au_request *r = push_req(more, ctx, url, key ? key : "");
  free(url);
  r->win_start = req->win_start;
  r->win_end = req->win_end;
  r->cookie = next;
  r->cookie2 = req->cookie2;
  snprintf(r->label, sizeof(r->label), "%.120s startRow=%lld", req->label, (long long)next);
  char *q = strstr(r->label, " startRow=");
  if (q && strstr(q + 1, " startRow=")) /* keep one startRow in the label */
    memmove(q, strstr(q + 1, " startRow="), strlen(strstr(q + 1, " startRow=")) + 1);
  return 0;
}

static int pjm_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                     struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  const struct pjm_table *pt = ctx->table->priv;
  if (resp->status != 200) {
    int n = resp->len > 300 ? 300 : (int)resp->len;
    const char *b = resp->body ? resp->body : "";
    if (resp->status == 400 && memmem(b, resp->len, "archived", 8))
      return au_err_set(err, AU_E_SPLIT, "window straddles the archive cut-off: %.*s", n, b);
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, b);
  }
  struct items it;
  memset(&it, 0, sizeof(it));
  it.ctx = ctx;
  it.pt = pt;
  it.out = out;
  it.first = req->cookie > 0 ? req->cookie : 1;
  it.step = (au_time)ctx->table->interval_minutes * AU_MINUTE;
  char ids[8192], names[F_MAX][40];
  if (pt->kind == K_LMP) {
    static const char *const sfx_names[F_MAX] = {NULL, "pnode_id", "pnode_name", "type", "system_energy_price",
                                                 "total_lmp", "congestion_price", "marginal_loss_price",
                                                 "row_is_current", "version_nbr"};
    for (int k = 0; k < F_MAX; k++) {
      snprintf(names[k], sizeof(names[k]), "%s%s", k == F_TIME ? pt->time_field : sfx_names[k],
               (k >= F_ENERGY && k <= F_LOSS) ? pt->suffix : "");
      it.names[k] = names[k];
    }
    it.nnames = F_MAX;
    size_t cap = 64;
    while (cap < resp->len / 64 && cap < ((size_t)1 << 22))
      cap <<= 1; /* a real item is ~300 bytes: no rehash in practice */
    it.d.cap = cap;
    it.d.v = au_xcalloc(cap, sizeof(*it.d.v));
    if ((req->cookie2 & 1) && list_param(au_opts_get(ctx->opts, "nodes"), "nodes", true, ids, sizeof(ids), err) == 0 &&
        ids[0])
      it.only = ids; /* archived: the server cannot filter by pnode */
  } else {
    bool fc = pt->kind == K_LOAD_FORECAST;
    it.names[G_TIME] = pt->time_field;
    it.names[G_AREA] = fc ? "forecast_area" : "load_area";
    it.names[G_MW] = fc ? "forecast_load_mw" : "mw";
    it.names[G_EVAL] = "evaluated_at_datetime_utc";
    it.names[G_END] = "forecast_datetime_ending_utc";
    it.nnames = fc ? 5 : 3;
  }
  size_t before = out->nrows;
  int64_t total = 0;
  int rc = parse_items(resp->body, resp->len, &it, &total, err);
  free(it.d.v);
  if (rc)
    return rc;
  int64_t first = it.first;
  size_t n = it.n;
  bool paged = false;
  if (n > 0 && first - 1 + (int64_t)n < total) {
    if ((rc = push_next_page(ctx, req, first + (int64_t)n, more, err)))
      return rc;
    paged = true;
  } else if (n == 0 && first - 1 < total && first > 1) {
    return au_err_set(err, AU_E_PARSE, "page at startRow=%lld is empty but totalRows is %lld", (long long)first,
                      (long long)total);
  }
  if (out->nrows == before && !paged)
    return AU_E_NODATA;
  return 0;
}

const struct au_source_ops au_source_pjm = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "pjm",
    .title = "PJM Interconnection (Data Miner 2)",
    .default_base = "https://api.pjm.com/api/v1",
    .base_env = pjm_base_env,
    .opts = pjm_opts,
    .tables = pjm_tables,
    .ntables = AU_ARRAY_LEN(pjm_tables),
    /* Non-member keys: 6 calls/minute (members 600); raise with rate_limit. */
    .policy = {.rate_per_min = 6, .burst = 1, .max_attempts = 5},
    .plan = pjm_plan,
    .parse = pjm_parse,
};

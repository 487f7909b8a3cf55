/* nyiso.c - New York ISO: LBMP, actual load and the ISO load forecast from the MIS public
 * CSV files (no auth).
 *
 *   daily:   {base}/<ds>/<YYYYMMDD><ds>[_zone|_gen].csv
 *   monthly: {base}/<ds>/<YYYYMM01><ds>[_zone|_gen]_csv.zip  (one CSV per day inside)
 *
 * base defaults to http://mis.nyiso.com/public/csv (AURUM_NYISO_BASE). ds is damlbmp
 * (DA hourly), realtime (RT 5-min), rtlbmp (RT hourly), pal (5-min actual load, no
 * suffix), isolf (hourly load forecast, no suffix). Days older than archive_after_days
 * (default 10) before today (Eastern) come from the monthly ZIP (archive: auto), or
 * always daily / always monthly (archive: daily|monthly).
 *
 * Time: Eastern prevailing (America/New_York), interval beginning, no offset column in
 * the LBMP and isolf files. The fall-back hour appears twice in file order (EDT first,
 * then EST): per location the last instant seen is kept and a repeated local time that
 * would not move forward takes the later (EST) reading. pal has a Time Zone column
 * (EDT/EST), used directly.
 *
 * Sign: NYISO publishes "Marginal Cost Congestion" with the opposite sign (LBMP = energy +
 * losses - congestion). We store congestion = -published so that lmp = energy +
 * congestion + loss as for every ISO; energy = LBMP - loss - congestion. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/csv.h"
#include "parse/zip.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NY_TZ "America/New_York"

enum ny_kind { K_LBMP, K_PAL, K_ISOLF };

struct ny_table {
  const char *ds;
  const char *market;
  int minutes;
  enum ny_kind kind;
};

static const struct ny_table ny_da = {"damlbmp", "DA", 60, K_LBMP};
static const struct ny_table ny_rt5 = {"realtime", "RT", 5, K_LBMP};
static const struct ny_table ny_rth = {"rtlbmp", "RT_HOURLY", 60, K_LBMP};
static const struct ny_table ny_pal = {"pal", "ACTUAL", 5, K_PAL};
static const struct ny_table ny_isolf = {"isolf", "FORECAST", 60, K_ISOLF};

static const struct au_option_def ny_opts[] = {
    {"archive", AU_OPT_STR, "auto", NULL,
     "auto (monthly ZIP for days older than archive_after_days), daily, or monthly", false},
    {"archive_after_days", AU_OPT_INT, "10", NULL, "age in days from which auto uses the monthly ZIP", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

static const struct au_option_def ny_lmp_opts[] = {
    {"location_kind", AU_OPT_STR, "zone", NULL, "zone (_zone files) or gen (_gen generator files)", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

#define NY_LMP_TABLE(nm, desc, dest, mins, bd, lb, pv)                                                     \
  {                                                                                                      \
    .name = nm, .description = desc, .schema = &au_lmp_schema, .dest_table = dest,                      \
    .cursor_col = "interval_start_utc", .trade_tz = NY_TZ, .interval_minutes = mins,                     \
    .default_batch_days = bd, .default_lookback_hours = lb, .default_history_days = 7,                   \
    .default_rate_delay = 0, .max_request_days = 31, .opts = ny_lmp_opts, .priv = pv                     \
  }

static const struct au_table_def ny_tables[] = {
    NY_LMP_TABLE("lmp_da_hourly", "Day-ahead hourly LBMP (damlbmp), zones or generators", "nyiso_lmp_da_hourly",
                 60, 7, 24, &ny_da),
    NY_LMP_TABLE("lmp_rt_5min", "Real-time 5-minute LBMP (realtime), zones or generators", "nyiso_lmp_rt_5min", 5,
                 1, 2, &ny_rt5),
    NY_LMP_TABLE("lmp_rt_hourly", "Real-time hourly integrated LBMP (rtlbmp), zones or generators",
                 "nyiso_lmp_rt_hourly", 60, 7, 24, &ny_rth),
    {
        .name = "load_actual",
        .description = "Real-time actual load by zone (pal, 5-minute) plus the NYISO total",
        .schema = &au_load_schema,
        .dest_table = "nyiso_load_actual",
        .cursor_col = "interval_start_utc",
        .trade_tz = NY_TZ,
        .interval_minutes = 5,
        .default_batch_days = 1,
        .default_lookback_hours = 2,
        .default_history_days = 7,
        .max_request_days = 31,
        .priv = &ny_pal,
    },
    {
        .name = "load_forecast",
        .description = "ISO hourly load forecast by zone and NYISO total (isolf); every daily issue kept",
        .schema = &au_load_schema,
        .dest_table = "nyiso_load_forecast",
        .cursor_col = "publish_time_utc",
        .trade_tz = NY_TZ,
        .interval_minutes = 60,
        .default_batch_days = 7,
        .default_lookback_hours = 24,
        .default_history_days = 7,
        .max_request_days = 31,
        .priv = &ny_isolf,
    },
};

static const char *const ny_base_env[] = {"AURUM_NYISO_BASE", NULL};

/* --- options and planning -------------------------------------------------------- */

static const char *suffix_of(const struct au_source_ctx *ctx, const struct ny_table *nt) {
  if (nt->kind != K_LBMP)
    return "";
  const char *k = au_opts_get(ctx->opts, "location_kind");
  return k && strcmp(k, "gen") == 0 ? "_gen" : "_zone";
}

static int ny_init(struct au_source_ctx *ctx, struct au_err *err) {
  const char *a = au_opts_get(ctx->opts, "archive");
  if (a && *a && strcmp(a, "auto") && strcmp(a, "daily") && strcmp(a, "monthly"))
    return au_err_set(err, AU_E_CONFIG, "nyiso: archive must be auto, daily or monthly (got '%s')", a);
  const char *k = au_opts_get(ctx->opts, "location_kind");
  if (k && *k && strcmp(k, "zone") && strcmp(k, "gen"))
    return au_err_set(err, AU_E_CONFIG, "nyiso: location_kind must be zone or gen (got '%s')", k);
  const char *d = au_opts_get(ctx->opts, "archive_after_days");
  int64_t v;
  if (d && *d && (au_parse_int64(d, strlen(d), &v) != 0 || v < 0 || v > 100000))
    return au_err_set(err, AU_E_CONFIG, "nyiso: archive_after_days must be a whole number >= 0 (got '%s')", d);
  return 0;
}

static int ny_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                   struct au_err *err) {
  const struct ny_table *nt = ctx->table->priv;
  int rc = ny_init(ctx, err);
  if (rc)
    return rc;
  const struct au_tz *tz = au_tz_get(NY_TZ, err);
  if (!tz)
    return err->code;
  if (end <= start)
    return 0;
  const char *mode = au_opts_get(ctx->opts, "archive");
  if (!mode || !*mode)
    mode = "auto";
  int64_t after = 10;
  const char *ad = au_opts_get(ctx->opts, "archive_after_days");
  if (ad && *ad)
    au_parse_int64(ad, strlen(ad), &after);
  int y, m, d, ey, em, ed;
  au_tz_local_date(tz, ctx->now, &y, &m, &d);
  int64_t today = au_days_from_civil(y, m, d);
  au_tz_local_date(tz, start, &y, &m, &d);
  au_tz_local_date(tz, end - 1, &ey, &em, &ed);
  int64_t first = au_days_from_civil(y, m, d), last = au_days_from_civil(ey, em, ed);
  const char *sfx = suffix_of(ctx, nt);
  char url[1024];
  for (int64_t day = first; day <= last;) {
    au_civil_from_days(day, &y, &m, &d);
    bool zip = strcmp(mode, "monthly") == 0 || (strcmp(mode, "auto") == 0 && day < today - after);
    int64_t stop = day; /* last day of this request */
    if (zip) {
      int ny, nm, nd;
      while (stop + 1 <= last) {
        au_civil_from_days(stop + 1, &ny, &nm, &nd);
        if (nm != m || (strcmp(mode, "auto") == 0 && stop + 1 >= today - after))
          break;
        stop++;
      }
      snprintf(url, sizeof(url), "%s/%s/%04d%02d01%s%s_csv.zip", ctx->base_url, nt->ds, y, m, nt->ds, sfx);
    } else {
      snprintf(url, sizeof(url), "%s/%s/%04d%02d%02d%s%s.csv", ctx->base_url, nt->ds, y, m, d, nt->ds, sfx);
    }
    struct au_request *r = au_reqlist_push(out);
    au_request_set_url(r, url);
    r->win_start = au_tz_day_start(tz, y, m, d);
    int ny, nm, nd;
    au_civil_from_days(stop + 1, &ny, &nm, &nd);
    r->win_end = au_tz_day_start(tz, ny, nm, nd);
    r->cookie = zip ? 1 : 0;
    r->cookie2 = day;
    const char *slash = strrchr(url, '/');
    snprintf(r->label, sizeof(r->label), "nyiso.%.20s %.100s", ctx->table->name, slash ? slash + 1 : url);
    if (zip && stop > day) {
      int sy, sm, sd;
      au_civil_from_days(stop, &sy, &sm, &sd);
      size_t l = strlen(r->label);
      snprintf(r->label + l, sizeof(r->label) - l, " (days %02d..%02d)", d, sd);
    }
    day = stop + 1;
  }
  return 0;
}

/* --- last instant per location (fall-back hour by file order) ------------------- */

struct lastmap {
  char **keys;
  au_time *vals;
  size_t cap, n;
};

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static void lm_free(struct lastmap *m) {
  for (size_t i = 0; i < m->cap; i++)
    free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof(*m));
}

static void lm_grow(struct lastmap *m) {
  struct lastmap nm = {0};
  nm.cap = m->cap ? m->cap * 2 : 64;
  nm.keys = au_xcalloc(nm.cap, sizeof(*nm.keys));
  nm.vals = au_xcalloc(nm.cap, sizeof(*nm.vals));
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      size_t j = fnv(m->keys[i], strlen(m->keys[i])) & (nm.cap - 1);
      while (nm.keys[j])
        j = (j + 1) & (nm.cap - 1);
      nm.keys[j] = m->keys[i];
      nm.vals[j] = m->vals[i];
      nm.n++;
    }
  free(m->keys);
  free(m->vals);
  *m = nm;
}

/* Slot of key (inserted with AU_TIME_NONE when new). */
static au_time *lm_slot(struct lastmap *m, const char *k, size_t n) {
  if ((m->n + 1) * 2 > m->cap)
    lm_grow(m);
  size_t j = fnv(k, n) & (m->cap - 1);
  while (m->keys[j]) {
    if (strlen(m->keys[j]) == n && memcmp(m->keys[j], k, n) == 0)
      return &m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  m->keys[j] = au_xstrndup(k, n);
  m->vals[j] = AU_TIME_NONE;
  m->n++;
  return &m->vals[j];
}

/* --- parsing --------------------------------------------------------------------- */

static int digits(const char *s, size_t n, size_t *i, int min, int max, int *out) {
  int v = 0, k = 0;
  while (*i < n && s[*i] >= '0' && s[*i] <= '9' && k < max) {
    v = v * 10 + (s[*i] - '0');
    (*i)++;
    k++;
  }
  if (k < min)
    return -1;
  *out = v;
  return 0;
}

/* "MM/DD/YYYY HH:MM[:SS]" (1- or 2-digit month/day/hour accepted). */
static int parse_stamp(const char *s, size_t n, struct au_civil *c) {
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  memset(c, 0, sizeof(*c));
  size_t i = 0;
  if (digits(s, n, &i, 1, 2, &c->month) || i >= n || s[i++] != '/' || digits(s, n, &i, 1, 2, &c->day) ||
      i >= n || s[i++] != '/' || digits(s, n, &i, 4, 4, &c->year) || i >= n || s[i] != ' ')
    return -1;
  while (i < n && s[i] == ' ')
    i++;
  if (digits(s, n, &i, 1, 2, &c->hour) || i >= n || s[i++] != ':' || digits(s, n, &i, 2, 2, &c->minute))
    return -1;
  if (i < n && s[i] == ':') {
    i++;
    if (digits(s, n, &i, 2, 2, &c->second))
      return -1;
  }
  if (i != n || c->month < 1 || c->month > 12 || c->day < 1 || c->day > 31 || c->hour > 23 ||
      c->minute > 59 || c->second > 59 || c->year < 1900 || c->year > 2999)
    return -1;
  int y, m, d;
  au_civil_from_days(au_days_from_civil(c->year, c->month, c->day), &y, &m, &d);
  return y == c->year && m == c->month && d == c->day ? 0 : -1;
}

enum { L_TIME, L_NAME, L_PTID, L_LBMP, L_LOSS, L_CONG, L_N };
enum { P_TIME, P_TZ, P_NAME, P_PTID, P_LOAD, P_N };
#define MAX_WIDE 64

struct ny_parse {
  struct au_source_ctx *ctx;
  const struct ny_table *nt;
  const struct au_tz *tz;
  struct au_batch *out;
  bool gen;
  bool have_header;
  int idx[8];
  size_t need;
  au_time publish;      /* isolf: issue time of the file */
  struct lastmap last;  /* per location */
  uint64_t rows;
  const char *member;   /* zip member being parsed, for messages */
  /* isolf columns */
  int nwide;
  int wide_col[MAX_WIDE];
  char wide_id[MAX_WIDE][32];
  bool wide_total[MAX_WIDE];
  /* pal TOTAL accumulation */
  char grp_key[64];
  au_time grp_t;
  double grp_sum;
  int grp_n;
  bool grp_null;
};

/* Header index: exact (loose) match, else the first field starting with prefix (icase). */
static int hdr_find(const struct au_csv_row *row, const char *name, const char *prefix) {
  int i = au_csv_header_index(row, name, AU_CSV_LOOSE);
  if (i >= 0 || !prefix)
    return i;
  size_t pl = strlen(prefix);
  for (size_t k = 0; k < row->nfields; k++) {
    const char *f = row->fields[k];
    size_t n = row->lens[k];
    while (n && *f == ' ') {
      f++;
      n--;
    }
    if (n >= pl && strncasecmp(f, prefix, pl) == 0)
      return (int)k;
  }
  return -1;
}

static int header(struct ny_parse *p, const struct au_csv_row *row, struct au_err *err) {
  size_t need = 0;
  if (p->nt->kind == K_LBMP) {
    static const char *const names[L_N][2] = {{"Time Stamp", NULL},
                                               {"Name", NULL},
                                               {"PTID", NULL},
                                               {"LBMP ($/MWHr)", "LBMP"},
                                               {"Marginal Cost Losses ($/MWHr)", "Marginal Cost Losses"},
                                               {"Marginal Cost Congestion ($/MWHr)", "Marginal Cost Congestion"}};
    for (int k = 0; k < L_N; k++) {
      p->idx[k] = hdr_find(row, names[k][0], names[k][1]);
      if (p->idx[k] < 0 && k != L_PTID)
        return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no column \"%s\"",
                          (unsigned long long)row->line, names[k][0]);
      if (p->idx[k] >= 0 && (size_t)p->idx[k] + 1 > need)
        need = (size_t)p->idx[k] + 1;
    }
  } else if (p->nt->kind == K_PAL) {
    static const char *const names[P_N] = {"Time Stamp", "Time Zone", "Name", "PTID", "Load"};
    for (int k = 0; k < P_N; k++) {
      p->idx[k] = hdr_find(row, names[k], NULL);
      if (p->idx[k] < 0 && k != P_PTID && k != P_TZ)
        return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no column \"%s\"",
                          (unsigned long long)row->line, names[k]);
      if (p->idx[k] >= 0 && (size_t)p->idx[k] + 1 > need)
        need = (size_t)p->idx[k] + 1;
    }
  } else {
    p->idx[0] = hdr_find(row, "Time Stamp", NULL);
    if (p->idx[0] < 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no column \"Time Stamp\"",
                        (unsigned long long)row->line);
    p->nwide = 0;
    for (size_t k = 0; k < row->nfields; k++) {
      if ((int)k == p->idx[0])
        continue;
      const char *f = row->fields[k];
      size_t n = row->lens[k];
      while (n && *f == ' ') {
        f++;
        n--;
      }
      while (n && f[n - 1] == ' ')
        n--;
      if (n == 0)
        continue;
      if (p->nwide >= MAX_WIDE || n >= sizeof(p->wide_id[0]))
        return au_err_set(err, AU_E_PARSE, "csv line %llu, field %zu: too many or too long zone columns",
                          (unsigned long long)row->line, k + 1);
      int w = p->nwide++;
      p->wide_col[w] = (int)k;
      p->wide_total[w] = n == 5 && strncasecmp(f, "NYISO", 5) == 0;
      if (p->wide_total[w]) {
        strcpy(p->wide_id[w], "TOTAL");
      } else {
        for (size_t i = 0; i < n; i++)
          p->wide_id[w][i] = (char)toupper((unsigned char)f[i]);
        p->wide_id[w][n] = 0;
      }
      if (k + 1 > need)
        need = k + 1;
    }
    if (p->nwide == 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no zone columns", (unsigned long long)row->line);
    if ((size_t)p->idx[0] + 1 > need)
      need = (size_t)p->idx[0] + 1;
  }
  p->need = need;
  p->have_header = true;
  return 0;
}

static void trim(const char **s, size_t *n) {
  while (*n && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*n)--;
  }
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
    (*n)--;
}

/* Local stamp -> UTC interval start, resolving the repeated hour by file order per key
 * (or by an explicit EDT/EST marker: fold 0/1; -1 = none). */
static int to_utc(struct ny_parse *p, const struct au_csv_row *row, int f, const char *key, size_t klen,
                  int fold, au_time *out, struct au_err *err) {
  struct au_civil c;
  if (parse_stamp(row->fields[f], row->lens[f], &c) != 0)
    return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (Time Stamp): not a time stamp: %.40s",
                      (unsigned long long)row->line, f + 1, row->fields[f]);
  au_time t;
  if (au_tz_from_local(p->tz, c.year, c.month, c.day, c.hour, c.minute, c.second,
                       fold == 1 ? AU_FOLD_LATER : AU_FOLD_EARLIER, false, &t) != 0)
    return au_err_set(err, AU_E_PARSE,
                      "csv line %llu, field %d (Time Stamp): %.40s does not exist in " NY_TZ
                      " (skipped spring-forward hour)",
                      (unsigned long long)row->line, f + 1, row->fields[f]);
  au_time *last = lm_slot(&p->last, key, klen);
  if (fold < 0 && *last != AU_TIME_NONE && t <= *last) {
    au_time t2;
    if (au_tz_from_local(p->tz, c.year, c.month, c.day, c.hour, c.minute, c.second, AU_FOLD_LATER, false,
                         &t2) == 0 &&
        t2 > *last)
      t = t2;
  }
  *last = t;
  *out = t;
  return 0;
}

static int num(const struct au_csv_row *row, int f, const char *name, bool *isnull, double *v,
               struct au_err *err) {
  *isnull = au_str_is_blank_or_dash(row->fields[f], row->lens[f]);
  if (!*isnull && au_parse_double(row->fields[f], row->lens[f], v) != 0)
    return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (%s): not a number: %.40s",
                      (unsigned long long)row->line, f + 1, name, row->fields[f]);
  return 0;
}

static void load_row(struct ny_parse *p, au_time t, const char *id, size_t idlen, const char *type, bool isnull,
                     double v, au_time publish) {
  struct au_batch *b = p->out;
  au_batch_add_row(b);
  au_time end = t + (au_time)p->nt->minutes * AU_MINUTE;
  au_batch_set_time(b, AU_LOAD_START, t);
  au_batch_set_time(b, AU_LOAD_END, end);
  au_batch_set_text(b, AU_LOAD_LOC_ID, id, idlen);
  au_batch_set_text(b, AU_LOAD_LOC_TYPE, type, strlen(type));
  if (!isnull)
    au_batch_set_double(b, AU_LOAD_MW, v);
  au_batch_set_time(b, AU_LOAD_PUBLISHED, publish == AU_TIME_NONE ? end : publish);
  au_load_set_meta(b, "NYISO", p->nt->market, NY_TZ, p->nt->minutes, p->ctx->ingestion_time);
  p->rows++;
}

static void flush_total(struct ny_parse *p) {
  if (p->grp_n > 0 && !p->grp_null)
    load_row(p, p->grp_t, "TOTAL", 5, "SYSTEM", false, p->grp_sum, AU_TIME_NONE);
  p->grp_n = 0;
  p->grp_sum = 0;
  p->grp_null = false;
  p->grp_key[0] = 0;
}

static const char *zone_type(const char *name, size_t n) {
  static const char *const ext[] = {"H Q", "NPX", "O H", "PJM"};
  for (size_t i = 0; i < AU_ARRAY_LEN(ext); i++)
    if (strlen(ext[i]) == n && memcmp(ext[i], name, n) == 0)
      return "INTERFACE";
  return "ZONE";
}

static int ny_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct ny_parse *p = arg;
  if (!p->have_header) {
    if (row->nfields == 1 && row->lens[0] == 0)
      return 0;
    return header(p, row, err);
  }
  if (row->nfields == 1 && row->lens[0] == 0)
    return 0;
  if (row->nfields < p->need)
    return au_err_set(err, AU_E_PARSE, "csv line %llu: %zu fields, the header needs %zu",
                      (unsigned long long)row->line, row->nfields, p->need);
  int rc;
  au_time t;
  if (p->nt->kind == K_LBMP) {
    const char *nm = row->fields[p->idx[L_NAME]];
    size_t nl = row->lens[p->idx[L_NAME]];
    trim(&nm, &nl);
    if (nl == 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (Name): empty", (unsigned long long)row->line,
                        p->idx[L_NAME] + 1);
    if ((rc = to_utc(p, row, p->idx[L_TIME], nm, nl, -1, &t, err)))
      return rc;
    double lbmp = 0, loss = 0, cong = 0;
    bool n1, n2, n3;
    if ((rc = num(row, p->idx[L_LBMP], "LBMP", &n1, &lbmp, err)) ||
        (rc = num(row, p->idx[L_LOSS], "Marginal Cost Losses", &n2, &loss, err)) ||
        (rc = num(row, p->idx[L_CONG], "Marginal Cost Congestion", &n3, &cong, err)))
      return rc;
    struct au_batch *b = p->out;
    au_batch_add_row(b);
    au_batch_set_time(b, AU_LMP_START, t);
    au_batch_set_time(b, AU_LMP_END, t + (au_time)p->nt->minutes * AU_MINUTE);
    au_batch_set_text(b, AU_LMP_LOC_ID, nm, nl);
    if (p->idx[L_PTID] >= 0) {
      const char *pt = row->fields[p->idx[L_PTID]];
      size_t pl = row->lens[p->idx[L_PTID]];
      trim(&pt, &pl);
      if (pl)
        au_batch_set_text(b, AU_LMP_LOC_NAME, pt, pl);
    }
    const char *lt = p->gen ? "GENERATOR" : zone_type(nm, nl);
    au_batch_set_text(b, AU_LMP_LOC_TYPE, lt, strlen(lt));
    if (!n1)
      au_batch_set_double(b, AU_LMP_LMP, lbmp);
    if (!n2)
      au_batch_set_double(b, AU_LMP_LOSS, loss);
    if (!n3)
      au_batch_set_double(b, AU_LMP_CONG, cong == 0 ? 0.0 : -cong); /* NYISO sign flipped */
    au_lmp_set_meta(b, "NYISO", p->nt->market, "USD/MWh", NY_TZ, p->nt->minutes, p->ctx->ingestion_time);
    p->rows++;
    return 0;
  }
  if (p->nt->kind == K_PAL) {
    const char *nm = row->fields[p->idx[P_NAME]];
    size_t nl = row->lens[p->idx[P_NAME]];
    trim(&nm, &nl);
    if (nl == 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (Name): empty", (unsigned long long)row->line,
                        p->idx[P_NAME] + 1);
    int fold = -1;
    const char *zs = "";
    size_t zl = 0;
    if (p->idx[P_TZ] >= 0) {
      zs = row->fields[p->idx[P_TZ]];
      zl = row->lens[p->idx[P_TZ]];
      trim(&zs, &zl);
      if (zl == 3 && strncasecmp(zs, "EDT", 3) == 0)
        fold = 0;
      else if (zl == 3 && strncasecmp(zs, "EST", 3) == 0)
        fold = 1;
      else if (zl != 0)
        return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (Time Zone): expected EST or EDT, got %.20s",
                          (unsigned long long)row->line, p->idx[P_TZ] + 1, row->fields[p->idx[P_TZ]]);
    }
    if ((rc = to_utc(p, row, p->idx[P_TIME], nm, nl, fold, &t, err)))
      return rc;
    double v = 0;
    bool isnull;
    if ((rc = num(row, p->idx[P_LOAD], "Load", &isnull, &v, err)))
      return rc;
    char key[64];
    snprintf(key, sizeof(key), "%.40s|%.3s", row->fields[p->idx[P_TIME]], zs);
    if (strcmp(key, p->grp_key) != 0) {
      flush_total(p);
      snprintf(p->grp_key, sizeof(p->grp_key), "%s", key);
      p->grp_t = t;
    }
    p->grp_n++;
    if (isnull)
      p->grp_null = true;
    else
      p->grp_sum += v;
    load_row(p, t, nm, nl, "ZONE", isnull, v, AU_TIME_NONE);
    return 0;
  }
  /* isolf: one row per hour, one column per zone + NYISO */
  if ((rc = to_utc(p, row, p->idx[0], "", 0, -1, &t, err)))
    return rc;
  for (int w = 0; w < p->nwide; w++) {
    double v = 0;
    bool isnull;
    if ((rc = num(row, p->wide_col[w], p->wide_id[w], &isnull, &v, err)))
      return rc;
    load_row(p, t, p->wide_id[w], strlen(p->wide_id[w]), p->wide_total[w] ? "SYSTEM" : "ZONE", isnull, v,
             p->publish);
  }
  return 0;
}

static void reset_file(struct ny_parse *p) {
  lm_free(&p->last);
  p->have_header = false;
  p->grp_n = 0;
  p->grp_sum = 0;
  p->grp_null = false;
  p->grp_key[0] = 0;
}

static int parse_csv(struct ny_parse *p, const char *data, size_t len, struct au_err *err) {
  reset_file(p);
  struct au_csv_limits lim = {64 * 1024, 256, 0};
  struct au_csv *csv = au_csv_new(&lim, ',', ny_row, p);
  int rc = au_csv_feed(csv, data, len, err);
  if (rc == 0)
    rc = au_csv_finish(csv, err);
  au_csv_free(csv);
  if (rc == 0 && p->nt->kind == K_PAL)
    flush_total(p);
  if (rc == 0 && !p->have_header && len > 0) {
    size_t i = 0;
    while (i < len && (data[i] == '\r' || data[i] == '\n' || data[i] == ' '))
      i++;
    if (i < len)
      rc = au_err_set(err, AU_E_PARSE, "byte 0: no CSV header");
  }
  return rc;
}

/* --- ZIP members ----------------------------------------------------------------- */

struct zip_state {
  struct ny_parse *p;
  struct au_csv *csv;
  char want[64]; /* "<ds><sfx>.csv" */
  int64_t first_day, last_day;
};

static int z_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  AU_UNUSED(size);
  struct zip_state *z = arg;
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  size_t n = strlen(base), wl = strlen(z->want);
  if (n != 8 + wl || strcasecmp(base + 8, z->want) != 0)
    return 1;
  int y, m, d;
  for (int i = 0; i < 8; i++)
    if (base[i] < '0' || base[i] > '9')
      return 1;
  y = (base[0] - '0') * 1000 + (base[1] - '0') * 100 + (base[2] - '0') * 10 + (base[3] - '0');
  m = (base[4] - '0') * 10 + (base[5] - '0');
  d = (base[6] - '0') * 10 + (base[7] - '0');
  if (m < 1 || m > 12 || d < 1 || d > 31)
    return 1;
  int64_t day = au_days_from_civil(y, m, d);
  if (day < z->first_day || day > z->last_day)
    return 1;
  reset_file(z->p);
  z->p->publish = au_tz_day_start(z->p->tz, y, m, d);
  struct au_csv_limits lim = {64 * 1024, 256, 0};
  z->csv = au_csv_new(&lim, ',', ny_row, z->p);
  AU_UNUSED(err);
  return 0;
}

static int z_data(void *arg, const char *data, size_t len, struct au_err *err) {
  struct zip_state *z = arg;
  return au_csv_feed(z->csv, data, len, err);
}

static int z_end(void *arg, struct au_err *err) {
  struct zip_state *z = arg;
  int rc = au_csv_finish(z->csv, err);
  au_csv_free(z->csv);
  z->csv = NULL;
  if (rc == 0 && z->p->nt->kind == K_PAL)
    flush_total(z->p);
  return rc;
}

static int ny_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                    struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  const struct ny_table *nt = ctx->table->priv;
  if (resp->status == 404) {
    if (req->cookie == 0 && ctx->now < req->win_start)
      return AU_E_NODATA; /* a day that has not started: the file is not published yet */
    return au_err_set(err, AU_E_HTTP, "HTTP 404: %s is missing although it should be published by now",
                      req->label[0] ? req->label : "file");
  }
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  struct ny_parse p;
  memset(&p, 0, sizeof(p));
  p.ctx = ctx;
  p.nt = nt;
  p.out = out;
  p.tz = au_tz_get(NY_TZ, err);
  if (!p.tz)
    return err->code;
  p.gen = strcmp(suffix_of(ctx, nt), "_gen") == 0;
  size_t from = out->nrows;
  int rc;
  if (req->cookie == 1 || au_zip_looks_like(resp->body, resp->len)) {
    struct zip_state z;
    memset(&z, 0, sizeof(z));
    z.p = &p;
    snprintf(z.want, sizeof(z.want), "%s%s.csv", nt->ds, suffix_of(ctx, nt));
    int y, m, d;
    au_tz_local_date(p.tz, req->win_start, &y, &m, &d);
    z.first_day = au_days_from_civil(y, m, d);
    au_tz_local_date(p.tz, req->win_end - 1, &y, &m, &d);
    z.last_day = au_days_from_civil(y, m, d);
    rc = au_zip_each(resp->body, resp->len, NULL, z_member, z_data, z_end, &z, err);
    if (z.csv)
      au_csv_free(z.csv);
  } else {
    int y, m, d;
    au_tz_local_date(p.tz, req->win_start, &y, &m, &d);
    p.publish = au_tz_day_start(p.tz, y, m, d);
    rc = parse_csv(&p, resp->body, resp->len, err);
  }
  lm_free(&p.last);
  if (rc)
    return rc;
  if (p.rows == 0)
    return AU_E_NODATA;
  if (nt->kind == K_LBMP)
    au_lmp_complete(out, from);
  return 0;
}

const struct au_source_ops au_source_nyiso = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "nyiso",
    .title = "New York ISO (MIS public CSV)",
    .default_base = "http://mis.nyiso.com/public/csv",
    .base_env = ny_base_env,
    .opts = ny_opts,
    .tables = ny_tables,
    .ntables = AU_ARRAY_LEN(ny_tables),
    .policy = {.rate_per_min = 120, .burst = 4, .max_attempts = 5},
    .init = ny_init,
    .plan = ny_plan,
    .parse = ny_parse,
};

/* spp.c - Southwest Power Pool: LMP by settlement location from the Marketplace file
 * browser (no auth).
 *
 *   GET {base}/da-lmp-by-location?path=/YYYY/MM/By_Day/DA-LMP-SL-YYYYMMDD0100.csv
 *   GET {base}/rtbm-lmp-by-location?path=/YYYY/MM/By_Interval/DD/RTBM-LMP-SL-YYYYMMDDHHMM.csv
 *
 * base defaults to https://portal.spp.org/file-browser-api/download (AURUM_SPP_BASE).
 * The DA file of operating day D (Central prevailing time) holds the hours ending
 * 01:00 D .. 00:00 D+1. An RT file holds one 5-minute interval and is named by the
 * interval END on the Central wall clock; its folder (YYYY/MM and DD) is the local date of
 * the interval START, so the file ending 00:00 sits in the previous day's folder. On the
 * fall-back day the wall-clock names 01:05 .. 02:00 (ends 01:05 .. 01:55 and 01:00 of
 * the repeated hour) occur twice: the first occurrence (CDT) has the plain name, the
 * second (CST) gets a "d" suffix ("RTBM-LMP-SL-202411030105d.csv"), the convention used
 * by gridstatus and other clients.
 *
 * Rows are keyed on GMTIntervalEnd (UTC): interval start = end - interval. Headers vary
 * by year: they are matched case-insensitively with ' ' == '_', an optional BAA column is
 * accepted (and ignored), stamps are "MM/DD/YYYY HH:MM:SS" or "M/D/YYYY H:MM[:SS]".
 * LMP = MEC + MCC + MLC: energy = MEC, congestion = MCC, loss = MLC.
 *
 * A 404 for a file that cannot be published yet (DA: before the operating day starts;
 * RT: within an hour of the interval end) is an empty window; later it is an error. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/csv.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPP_TZ "America/Chicago"
#define SPP_RT_GRACE (60 * AU_MINUTE)

struct spp_table {
  const char *fs;     /* file-browser folder */
  const char *market; /* iso_market */
  int minutes;
  bool rt;
};

static const struct spp_table spp_da = {"da-lmp-by-location", "DA", 60, false};
static const struct spp_table spp_rt = {"rtbm-lmp-by-location", "RT", 5, true};

static const struct au_table_def spp_tables[] = {
    {
        .name = "lmp_da_hourly",
        .description = "Day-ahead hourly LMP by settlement location (DA-LMP-SL daily files)",
        .schema = &au_lmp_schema,
        .dest_table = "spp_lmp_da_hourly",
        .cursor_col = "interval_start_utc",
        .trade_tz = SPP_TZ,
        .interval_minutes = 60,
        .default_batch_days = 7,
        .default_lookback_hours = 24,
        .default_history_days = 7,
        .default_rate_delay = 0,
        .max_request_days = 1,
        .priv = &spp_da,
    },
    {
        .name = "lmp_rt_5min",
        .description = "Real-time (RTBM) 5-minute LMP by settlement location (one file per interval)",
        .schema = &au_lmp_schema,
        .dest_table = "spp_lmp_rt_5min",
        .cursor_col = "interval_start_utc",
        .trade_tz = SPP_TZ,
        .interval_minutes = 5,
        .default_batch_days = 1,
        .default_lookback_hours = 2,
        .default_history_days = 1,
        .default_rate_delay = 0,
        .max_request_days = 1,
        .priv = &spp_rt,
    },
};

static const char *const spp_base_env[] = {"AURUM_SPP_BASE", NULL};

/* --- file names ------------------------------------------------------------------ */

/* Path of the RT file of the interval starting at t (UTC). Returns the length. */
static int rt_path(const struct au_tz *tz, au_time t, char *buf, size_t n) {
  struct au_civil s, e;
  au_tz_to_local(tz, t, &s);
  au_time end = t + 5 * AU_MINUTE;
  au_tz_to_local(tz, end, &e);
  au_time first;
  bool second = au_tz_from_local(tz, e.year, e.month, e.day, e.hour, e.minute, 0, AU_FOLD_EARLIER,
                                 false, &first) == 0 &&
                first != end;
  return snprintf(buf, n, "/%04d/%02d/By_Interval/%02d/RTBM-LMP-SL-%04d%02d%02d%02d%02d%s.csv", s.year,
                  s.month, s.day, e.year, e.month, e.day, e.hour, e.minute, second ? "d" : "");
}

static int spp_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                    struct au_err *err) {
  const struct spp_table *st = ctx->table->priv;
  const struct au_tz *tz = au_tz_get(SPP_TZ, err);
  if (!tz)
    return err->code;
  if (end <= start)
    return 0;
  char url[1024], path[256];
  if (!st->rt) {
    int y, m, d, ey, em, ed;
    au_tz_local_date(tz, start, &y, &m, &d);
    au_tz_local_date(tz, end - 1, &ey, &em, &ed);
    int64_t last = au_days_from_civil(ey, em, ed);
    for (int64_t day = au_days_from_civil(y, m, d); day <= last; day++) {
      au_civil_from_days(day, &y, &m, &d);
      snprintf(path, sizeof(path), "/%04d/%02d/By_Day/DA-LMP-SL-%04d%02d%02d0100.csv", y, m, y, m, d);
      snprintf(url, sizeof(url), "%s/%s?path=%s", ctx->base_url, st->fs, path);
      struct au_request *r = au_reqlist_push(out);
      au_request_set_url(r, url);
      r->win_start = au_tz_day_start(tz, y, m, d);
      int ny, nm, nd;
      au_civil_from_days(day + 1, &ny, &nm, &nd);
      r->win_end = au_tz_day_start(tz, ny, nm, nd);
      snprintf(r->label, sizeof(r->label), "spp.lmp_da_hourly %.120s", path);
    }
    return 0;
  }
  au_time step = 5 * AU_MINUTE;
  au_time t = start - ((start % step) + step) % step;
  for (; t < end; t += step) {
    if (ctx->now != 0 && t + step > ctx->now) /* the interval has not ended: no file yet */
      break;
    rt_path(tz, t, path, sizeof(path));
    snprintf(url, sizeof(url), "%s/%s?path=%s", ctx->base_url, st->fs, path);
    struct au_request *r = au_reqlist_push(out);
    au_request_set_url(r, url);
    r->win_start = t;
    r->win_end = t + step;
    snprintf(r->label, sizeof(r->label), "spp.lmp_rt_5min %.120s", path);
  }
  return 0;
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

/* "MM/DD/YYYY HH:MM[:SS]" with 1- or 2-digit month, day, hour, or ISO "YYYY-MM-DD HH:MM[:SS]". */
static int parse_stamp(const char *s, size_t n, struct au_civil *c) {
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  memset(c, 0, sizeof(*c));
  size_t i = 0;
  if (n >= 10 && s[4] == '-') {
    if (digits(s, n, &i, 4, 4, &c->year) || i >= n || s[i++] != '-' || digits(s, n, &i, 2, 2, &c->month) ||
        i >= n || s[i++] != '-' || digits(s, n, &i, 2, 2, &c->day))
      return -1;
  } else {
    if (digits(s, n, &i, 1, 2, &c->month) || i >= n || s[i++] != '/' || digits(s, n, &i, 1, 2, &c->day) ||
        i >= n || s[i++] != '/' || digits(s, n, &i, 4, 4, &c->year))
      return -1;
  }
  if (i >= n || (s[i] != ' ' && s[i] != 'T'))
    return -1;
  while (i < n && (s[i] == ' ' || s[i] == 'T'))
    i++;
  if (digits(s, n, &i, 1, 2, &c->hour) || i >= n || s[i++] != ':' || digits(s, n, &i, 2, 2, &c->minute))
    return -1;
  if (i < n && s[i] == ':') {
    i++;
    if (digits(s, n, &i, 2, 2, &c->second))
      return -1;
  }
  if (i != n)
    return -1;
  if (c->month < 1 || c->month > 12 || c->day < 1 || c->day > 31 || c->hour > 24 || c->minute > 59 ||
      c->second > 59 || c->year < 1900 || c->year > 2999)
    return -1;
  int64_t days = au_days_from_civil(c->year, c->month, c->day);
  int y, m, d;
  au_civil_from_days(days, &y, &m, &d);
  if (y != c->year || m != c->month || d != c->day)
    return -1;
  if (c->hour == 24 && (c->minute || c->second))
    return -1;
  return 0;
}

/* Location type from the settlement location and its pnode (see docs/sources/spp.md). */
static const char *location_type(const char *sl, size_t sl_len, const char *pnode, size_t pn_len) {
  static const char *const proxies[] = {"MISO", "PJM", "SOUC", "VACS", "AECI"};
  if (pnode && pn_len) {
    if (pn_len == sl_len && memcmp(sl, pnode, sl_len) == 0)
      return "INTERFACE";
    for (size_t i = 0; i < AU_ARRAY_LEN(proxies); i++)
      if (strlen(proxies[i]) == pn_len && memcmp(proxies[i], pnode, pn_len) == 0)
        return "INTERFACE";
  }
  if (sl_len >= 4 && strncasecmp(sl + sl_len - 4, "_HUB", 4) == 0)
    return "HUB";
  return "SETTLEMENT_LOCATION";
}

enum { F_GMT, F_SL, F_PNODE, F_LMP, F_MLC, F_MCC, F_MEC, F_N };

struct spp_parse {
  struct au_source_ctx *ctx;
  const struct spp_table *st;
  struct au_batch *out;
  int idx[F_N];
  size_t need; /* fields a data row must have */
  size_t nhdr; /* fields of the header */
  bool have_header;
  uint64_t rows;
};

static const char *const spp_names[F_N] = {"GMTIntervalEnd", "Settlement Location", "Pnode", "LMP",
                                           "MLC", "MCC", "MEC"};

static void trim(const char **s, size_t *n) {
  while (*n && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*n)--;
  }
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
    (*n)--;
}

static int spp_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct spp_parse *p = arg;
  if (!p->have_header) {
    size_t need = 0;
    for (int k = 0; k < F_N; k++) {
      p->idx[k] = au_csv_header_index(row, spp_names[k], AU_CSV_LOOSE);
      if (p->idx[k] < 0 && k != F_PNODE)
        return au_err_set(err, AU_E_PARSE, "csv line %llu: header has no column \"%s\"",
                          (unsigned long long)row->line, spp_names[k]);
      if (p->idx[k] >= 0 && (size_t)p->idx[k] + 1 > need)
        need = (size_t)p->idx[k] + 1;
    }
    p->need = need;
    p->nhdr = row->nfields;
    p->have_header = true;
    return 0;
  }
  if (row->nfields == 1 && row->lens[0] == 0)
    return 0;
  if (row->nfields != p->nhdr)
    return au_err_set(err, AU_E_PARSE, "csv line %llu: %zu fields, the header has %zu",
                      (unsigned long long)row->line, row->nfields, p->nhdr);
  struct au_civil c;
  const char *gs = row->fields[p->idx[F_GMT]];
  if (parse_stamp(gs, row->lens[p->idx[F_GMT]], &c) != 0)
    return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (GMTIntervalEnd): not a time stamp: %.40s",
                      (unsigned long long)row->line, p->idx[F_GMT] + 1, gs);
  au_time end = au_time_utc(c.year, c.month, c.day, c.hour, c.minute, c.second);
  const char *sl = row->fields[p->idx[F_SL]];
  size_t sl_len = row->lens[p->idx[F_SL]];
  trim(&sl, &sl_len);
  if (sl_len == 0)
    return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (Settlement Location): empty",
                      (unsigned long long)row->line, p->idx[F_SL] + 1);
  const char *pn = NULL;
  size_t pn_len = 0;
  if (p->idx[F_PNODE] >= 0) {
    pn = row->fields[p->idx[F_PNODE]];
    pn_len = row->lens[p->idx[F_PNODE]];
    trim(&pn, &pn_len);
  }
  double v[4];
  bool isnull[4];
  static const int vf[4] = {F_LMP, F_MEC, F_MCC, F_MLC};
  for (int k = 0; k < 4; k++) {
    int f = p->idx[vf[k]];
    isnull[k] = au_str_is_blank_or_dash(row->fields[f], row->lens[f]);
    if (!isnull[k] && au_parse_double(row->fields[f], row->lens[f], &v[k]) != 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (%s): not a number: %.40s",
                        (unsigned long long)row->line, f + 1, spp_names[vf[k]], row->fields[f]);
  }
  struct au_batch *b = p->out;
  au_batch_add_row(b);
  au_batch_set_time(b, AU_LMP_START, end - (au_time)p->st->minutes * AU_MINUTE);
  au_batch_set_time(b, AU_LMP_END, end);
  au_batch_set_text(b, AU_LMP_LOC_ID, sl, sl_len);
  if (pn_len)
    au_batch_set_text(b, AU_LMP_LOC_NAME, pn, pn_len);
  const char *lt = location_type(sl, sl_len, pn, pn_len);
  au_batch_set_text(b, AU_LMP_LOC_TYPE, lt, strlen(lt));
  static const int cols[4] = {AU_LMP_LMP, AU_LMP_ENERGY, AU_LMP_CONG, AU_LMP_LOSS};
  for (int k = 0; k < 4; k++)
    if (!isnull[k])
      au_batch_set_double(b, cols[k], v[k]);
  au_lmp_set_meta(b, "SPP", p->st->market, "USD/MWh", SPP_TZ, p->st->minutes, p->ctx->ingestion_time);
  p->rows++;
  return 0;
}

static int spp_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                     struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  const struct spp_table *st = ctx->table->priv;
  if (resp->status == 404) {
    bool unpublished = st->rt ? ctx->now < req->win_end + SPP_RT_GRACE : ctx->now < req->win_start;
    if (unpublished)
      return AU_E_NODATA;
    return au_err_set(err, AU_E_HTTP, "HTTP 404: %s is missing although it should be published by now",
                      req->label[0] ? req->label : "file");
  }
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  struct spp_parse p;
  memset(&p, 0, sizeof(p));
  p.ctx = ctx;
  p.st = st;
  p.out = out;
  size_t from = out->nrows;
  struct au_csv_limits lim = {64 * 1024, 64, 0};
  struct au_csv *csv = au_csv_new(&lim, ',', spp_row, &p);
  int rc = au_csv_feed(csv, resp->body, resp->len, err);
  if (rc == 0)
    rc = au_csv_finish(csv, err);
  au_csv_free(csv);
  if (rc)
    return rc;
  if (!p.have_header) {
    if (resp->len == 0)
      return AU_E_NODATA;
    return au_err_set(err, AU_E_PARSE, "byte 0: no CSV header");
  }
  if (p.rows == 0)
    return AU_E_NODATA;
  au_lmp_complete(out, from);
  return 0;
}

const struct au_source_ops au_source_spp = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "spp",
    .title = "Southwest Power Pool (Marketplace file browser)",
    .default_base = "https://portal.spp.org/file-browser-api/download",
    .base_env = spp_base_env,
    .opts = NULL,
    .tables = spp_tables,
    .ntables = AU_ARRAY_LEN(spp_tables),
    .policy = {.rate_per_min = 600, .burst = 10, .max_attempts = 5},
    .plan = spp_plan,
    .parse = spp_parse,
};

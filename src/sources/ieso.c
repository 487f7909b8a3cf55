/* ieso.c - IESO (Ontario) public report server: reports-public.ieso.ca/public/<Report>/.
 *
 *   lmp_da_hourly           DAHourlyEnergyLMP/PUB_DAHourlyEnergyLMP_YYYYMMDD.csv          (nodal, DA)
 *   lmp_rt_5min             RealtimeEnergyLMP/PUB_RealtimeEnergyLMP_YYYYMMDDHH.csv        (nodal, RT)
 *   ontario_zonal_da_hourly DAHourlyOntarioZonalPrice/PUB_DAHourlyOntarioZonalPrice_YYYYMMDD.xml
 *   ontario_zonal_rt_5min   RealtimeOntarioZonalPrice/PUB_RealtimeOntarioZonalPrice_YYYYMMDDHH.xml
 *   hoep_hourly             PriceHOEPPredispOR/PUB_PriceHOEPPredispOR_YYYY.csv            (legacy, to 2025-04-30)
 *   load_actual             Demand/PUB_Demand_YYYY.csv                                    (Ontario + market demand)
 *
 * Time: "Hours 1-24 ... Eastern Standard Time is used year-round": delivery hour H of date
 * D is [D 00:00 + (H-1) h, + 1 h) at fixed UTC-5, and 5-minute interval I of that hour
 * starts (I-1)*5 min later. No DST rule applies; every day has 24 hours.
 *
 * Revisions: IESO publishes revised files as PUB_<Report>_<stamp>_vN; the unversioned name
 * is the newest revision. aurum always requests the unversioned name (so the newest version
 * wins) and re-reads the lookback window on every run, where the upsert replaces older
 * values. ieso_file_version() parses N from a file name for tools that list directories.
 *
 * CSVs carry preamble lines ("\Hourly Demand Report", "CREATED AT ... FOR ...") before the
 * header: the header is found by its column names. Prices are CAD/MWh; energy =
 * LMP - loss - congestion (IESO publishes the LMP and the loss and congestion parts).
 * 404 means "not published" (future hour, outside retention, before the May 2025 market
 * renewal for the LMP reports) and is an empty window. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/csv.h"
#include "parse/xml.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IESO_TZ "EST"

enum ieso_kind { K_DA_LMP, K_RT_LMP, K_DA_OZP, K_RT_OZP, K_HOEP, K_DEMAND };
enum ieso_period { P_DAY, P_HOUR, P_YEAR };

struct ieso_table {
  enum ieso_kind kind;
  enum ieso_period period;
  const char *report;
  const char *ext;
};

static const struct ieso_table t_da_lmp = {K_DA_LMP, P_DAY, "DAHourlyEnergyLMP", "csv"};
static const struct ieso_table t_rt_lmp = {K_RT_LMP, P_HOUR, "RealtimeEnergyLMP", "csv"};
static const struct ieso_table t_da_ozp = {K_DA_OZP, P_DAY, "DAHourlyOntarioZonalPrice", "xml"};
static const struct ieso_table t_rt_ozp = {K_RT_OZP, P_HOUR, "RealtimeOntarioZonalPrice", "xml"};
static const struct ieso_table t_hoep = {K_HOEP, P_YEAR, "PriceHOEPPredispOR", "csv"};
static const struct ieso_table t_demand = {K_DEMAND, P_YEAR, "Demand", "csv"};

#define LMP_TABLE(nm, desc, dest, mins, batch, look, hist, pv)                                                    \
  {.name = nm, .description = desc, .schema = &au_lmp_schema, .dest_table = dest,                                \
   .cursor_col = "interval_start_utc", .watermark_requires = "lmp", .trade_tz = IESO_TZ,                          \
   .interval_minutes = mins, .default_batch_days = batch, .default_lookback_hours = look,                         \
   .default_history_days = hist, .default_rate_delay = 0.1, .max_request_days = 1, .priv = pv}

static const struct au_table_def ieso_tables[] = {
    LMP_TABLE("lmp_da_hourly", "Day-ahead hourly nodal LMP (renewed market, since 2025-05-01), CAD/MWh",
              "ieso_lmp_da_hourly", 60, 7, 48, 14, &t_da_lmp),
    LMP_TABLE("lmp_rt_5min", "Real-time 5-minute nodal LMP (renewed market), hourly files, CAD/MWh",
              "ieso_lmp_rt_5min", 5, 1, 6, 2, &t_rt_lmp),
    LMP_TABLE("ontario_zonal_da_hourly", "Day-ahead hourly Ontario zonal price, CAD/MWh",
              "ieso_ontario_zonal_da_hourly", 60, 7, 48, 30, &t_da_ozp),
    LMP_TABLE("ontario_zonal_rt_5min", "Real-time 5-minute Ontario zonal price, hourly files, CAD/MWh",
              "ieso_ontario_zonal_rt_5min", 5, 1, 6, 2, &t_rt_ozp),
    {.name = "hoep_hourly", .description = "Legacy Hourly Ontario Energy Price (to 2025-04-30), yearly files, CAD/MWh",
     .schema = &au_lmp_schema, .dest_table = "ieso_hoep_hourly", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = IESO_TZ, .interval_minutes = 60, .default_batch_days = 366,
     .default_lookback_hours = 72, .default_history_days = 365, .default_rate_delay = 0.1, .max_request_days = 0,
     .priv = &t_hoep},
    {.name = "load_actual", .description = "Hourly Ontario demand (TOTAL) and market demand (MARKET), yearly files",
     .schema = &au_load_schema, .dest_table = "ieso_load_actual", .cursor_col = "interval_start_utc",
     .watermark_requires = "load_mw", .trade_tz = IESO_TZ, .interval_minutes = 60, .default_batch_days = 31,
     .default_lookback_hours = 72, .default_history_days = 60, .default_rate_delay = 0.1, .max_request_days = 0,
     .priv = &t_demand},
};

static const char *const ieso_base_env[] = {"AURUM_IESO_BASE", "IESO_BASE_URL", NULL};

/* Revision number N of "..._vN.ext" (1 for an unversioned name, 0 if not a PUB_ name). */
int ieso_file_version(const char *name);
int ieso_file_version(const char *name) {
  const char *slash = strrchr(name, '/');
  if (slash)
    name = slash + 1;
  if (strncmp(name, "PUB_", 4) != 0)
    return 0;
  const char *dot = strrchr(name, '.');
  if (!dot)
    dot = name + strlen(name);
  const char *p = dot;
  while (p > name && p[-1] >= '0' && p[-1] <= '9')
    p--;
  if (p == dot || p - name < 3 || p[-1] != 'v' || p[-2] != '_' || dot - p > 6)
    return 1;
  return atoi(p);
}

/* UTC start of delivery hour h (1..24) of EST day `day` (days since 1970-01-01). */
static au_time est_hour(int64_t day, int h) {
  return day * AU_DAY + 5 * AU_HOUR + (au_time)(h - 1) * AU_HOUR;
}

static void add_req(struct au_source_ctx *ctx, struct au_reqlist *out, const char *stamp, au_time ws, au_time we,
                    int64_t c1, int64_t c2) {
  const struct ieso_table *it = ctx->table->priv;
  char url[1024];
  snprintf(url, sizeof(url), "%s/%s/PUB_%s_%s.%s", ctx->base_url, it->report, it->report, stamp, it->ext);
  struct au_request *r = au_reqlist_push(out);
  au_request_set_url(r, url);
  r->win_start = ws;
  r->win_end = we;
  r->cookie = c1;
  r->cookie2 = c2;
  snprintf(r->label, sizeof(r->label), "ieso.%.24s PUB_%.30s_%.12s.%.4s", ctx->table->name, it->report, stamp, it->ext);
}

static int ieso_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                     struct au_err *err) {
  AU_UNUSED(err);
  const struct ieso_table *it = ctx->table->priv;
  if (end <= start)
    return 0;
  /* EST days: day d covers [d*DAY + 5h, (d+1)*DAY + 5h) */
  int64_t d0 = (start - 5 * AU_HOUR) >= 0 ? (start - 5 * AU_HOUR) / AU_DAY
                                           : -((-(start - 5 * AU_HOUR) + AU_DAY - 1) / AU_DAY);
  int64_t d1 = (end - 1 - 5 * AU_HOUR) >= 0 ? (end - 1 - 5 * AU_HOUR) / AU_DAY
                                             : -((-(end - 1 - 5 * AU_HOUR) + AU_DAY - 1) / AU_DAY);
  char stamp[32];
  if (it->period == P_YEAR) {
    int y0, y1, m, d;
    au_civil_from_days(d0, &y0, &m, &d);
    au_civil_from_days(d1, &y1, &m, &d);
    for (int y = y0; y <= y1; y++) {
      au_time ys = au_days_from_civil(y, 1, 1) * AU_DAY + 5 * AU_HOUR;
      au_time ye = au_days_from_civil(y + 1, 1, 1) * AU_DAY + 5 * AU_HOUR;
      snprintf(stamp, sizeof(stamp), "%04d", y);
      add_req(ctx, out, stamp, ys > start ? ys : start, ye < end ? ye : end, y, 0);
    }
    return 0;
  }
  for (int64_t day = d0; day <= d1; day++) {
    int y, m, d;
    au_civil_from_days(day, &y, &m, &d);
    if (it->period == P_DAY) {
      snprintf(stamp, sizeof(stamp), "%04d%02d%02d", y, m, d);
      add_req(ctx, out, stamp, est_hour(day, 1), est_hour(day, 25), day, 0);
      continue;
    }
    for (int h = 1; h <= 24; h++) {
      if (est_hour(day, h) >= end || est_hour(day, h + 1) <= start)
        continue;
      snprintf(stamp, sizeof(stamp), "%04d%02d%02d%02d", y, m, d, h);
      add_req(ctx, out, stamp, est_hour(day, h), est_hour(day, h + 1), day, h);
    }
  }
  return 0;
}

/* --- CSV ---------------------------------------------------------------------- */
enum { C_DATE, C_HOUR, C_INTERVAL, C_LOC, C_LMP, C_LOSS, C_CONG, C_V1, C_V2, C_NCOL };

struct csvp {
  struct au_source_ctx *ctx;
  const struct au_request *req;
  const struct ieso_table *it;
  struct au_batch *out;
  int col[C_NCOL];
  const char *colname[C_NCOL];
  bool have_header;
  int64_t for_day; /* from a "CREATED AT ... FOR YYYY-MM-DD" preamble, or -1 */
  size_t added;
};

static bool parse_date(const char *s, size_t n, int64_t *day) {
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    n--;
  if (n != 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4])
    return false;
  int v[8], k = 0;
  for (size_t i = 0; i < 10; i++) {
    if (i == 4 || i == 7)
      continue;
    if (s[i] < '0' || s[i] > '9')
      return false;
    v[k++] = s[i] - '0';
  }
  int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], m = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
  if (m < 1 || m > 12 || d < 1 || d > 31)
    return false;
  *day = au_days_from_civil(y, m, d);
  int ry, rm, rd;
  au_civil_from_days(*day, &ry, &rm, &rd);
  return ry == y && rm == m && rd == d;
}

static int try_header(struct csvp *p, const struct au_csv_row *row) {
  static const char *const names[C_NCOL] = {"Date", "Delivery Hour", "Interval", "Pricing Location", "LMP",
                                            "Energy Loss Price", "Energy Congestion Price", NULL, NULL};
  bool need[C_NCOL] = {0};
  const char *nm[C_NCOL];
  memcpy(nm, names, sizeof(nm));
  switch (p->it->kind) {
  case K_DA_LMP: need[C_HOUR] = need[C_LOC] = need[C_LMP] = need[C_LOSS] = need[C_CONG] = true; break;
  case K_RT_LMP:
    need[C_HOUR] = need[C_INTERVAL] = need[C_LOC] = need[C_LMP] = need[C_LOSS] = need[C_CONG] = true;
    break;
  case K_HOEP:
    nm[C_HOUR] = "Hour";
    nm[C_V1] = "HOEP";
    need[C_DATE] = need[C_HOUR] = need[C_V1] = true;
    break;
  default:
    nm[C_HOUR] = "Hour";
    nm[C_V1] = "Ontario Demand";
    nm[C_V2] = "Market Demand";
    need[C_DATE] = need[C_HOUR] = need[C_V1] = need[C_V2] = true;
    break;
  }
  for (int c = 0; c < C_NCOL; c++) {
    p->col[c] = -1;
    p->colname[c] = nm[c];
    if (!need[c])
      continue;
    p->col[c] = au_csv_header_index(row, nm[c], AU_CSV_LOOSE);
    if (p->col[c] < 0)
      return 0;
  }
  return 1;
}

static int cell_double(const struct csvp *p, const struct au_csv_row *row, int c, bool *isnull, double *v,
                       struct au_err *err) {
  size_t i = (size_t)p->col[c];
  *isnull = au_str_is_blank_or_dash(row->fields[i], row->lens[i]);
  if (*isnull)
    return 0;
  if (au_parse_double(row->fields[i], row->lens[i], v))
    return au_err_set(err, AU_E_PARSE, "csv line %llu, column %zu (%s): not a number: %.40s",
                      (unsigned long long)row->line, i + 1, p->colname[c], row->fields[i]);
  return 0;
}

static int cell_int(const struct csvp *p, const struct au_csv_row *row, int c, int lo, int hi, int *v,
                    struct au_err *err) {
  size_t i = (size_t)p->col[c];
  int64_t x;
  if (au_parse_int64(row->fields[i], row->lens[i], &x) || x < lo || x > hi)
    return au_err_set(err, AU_E_PARSE, "csv line %llu, column %zu (%s): want an integer %d..%d, got '%.20s'",
                      (unsigned long long)row->line, i + 1, p->colname[c], lo, hi, row->fields[i]);
  *v = (int)x;
  return 0;
}

static int on_csv_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct csvp *p = arg;
  if (!p->have_header) {
    if (row->nfields >= 1) { /* "CREATED AT 2025-05-01 12:31:00 FOR 2025-05-02" */
      const char *f = strstr(row->fields[0], " FOR ");
      int64_t dd;
      if (f && parse_date(f + 5, strlen(f + 5), &dd))
        p->for_day = dd;
    }
    if (try_header(p, row)) {
      p->have_header = true;
      return 0;
    }
    if (row->row >= 20)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: no %s header in the first 20 records",
                        (unsigned long long)row->line, p->it->report);
    return 0;
  }
  for (int c = 0; c < C_NCOL; c++)
    if (p->col[c] >= 0 && (size_t)p->col[c] >= row->nfields)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: %zu fields, column %d (%s) missing",
                        (unsigned long long)row->line, row->nfields, p->col[c] + 1, p->colname[c]);
  struct au_batch *b = p->out;
  int hour = 0, iv = 1;
  int rc = cell_int(p, row, C_HOUR, 1, 24, &hour, err);
  if (rc)
    return rc;
  int64_t day;
  if (p->col[C_DATE] >= 0) {
    size_t i = (size_t)p->col[C_DATE];
    if (!parse_date(row->fields[i], row->lens[i], &day))
      return au_err_set(err, AU_E_PARSE, "csv line %llu, column %zu (Date): not YYYY-MM-DD: '%.20s'",
                        (unsigned long long)row->line, i + 1, row->fields[i]);
  } else {
    day = p->req->cookie;
    if (p->for_day >= 0 && p->for_day != day)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: file is FOR another delivery date than requested",
                        (unsigned long long)row->line);
  }
  if (p->col[C_INTERVAL] >= 0 && (rc = cell_int(p, row, C_INTERVAL, 1, 12, &iv, err)))
    return rc;
  au_time t = est_hour(day, hour) + (au_time)(iv - 1) * 5 * AU_MINUTE;
  if (p->it->period == P_YEAR && (t < p->req->win_start || t >= p->req->win_end))
    return 0; /* yearly files: keep the window's rows */
  if (p->it->kind == K_DEMAND) {
    static const struct {
      int col;
      const char *id, *type;
    } ls[2] = {{C_V1, "TOTAL", "SYSTEM"}, {C_V2, "MARKET", "MARKET"}};
    for (int k = 0; k < 2; k++) {
      bool isnull;
      double v = 0;
      if ((rc = cell_double(p, row, ls[k].col, &isnull, &v, err)))
        return rc;
      au_batch_add_row(b);
      p->added++;
      au_batch_set_time(b, AU_LOAD_START, t);
      au_batch_set_time(b, AU_LOAD_END, t + AU_HOUR);
      au_batch_set_text(b, AU_LOAD_LOC_ID, ls[k].id, strlen(ls[k].id));
      au_batch_set_text(b, AU_LOAD_LOC_TYPE, ls[k].type, strlen(ls[k].type));
      if (!isnull)
        au_batch_set_double(b, AU_LOAD_MW, v);
      au_batch_set_time(b, AU_LOAD_PUBLISHED, t + AU_HOUR);
      au_load_set_meta(b, "IESO", "ACTUAL", IESO_TZ, 60, p->ctx->ingestion_time);
    }
    return 0;
  }
  bool n1, n2 = true, n3 = true;
  double lmp = 0, loss = 0, cong = 0;
  if ((rc = cell_double(p, row, p->it->kind == K_HOEP ? C_V1 : C_LMP, &n1, &lmp, err)))
    return rc;
  if (p->it->kind != K_HOEP && ((rc = cell_double(p, row, C_LOSS, &n2, &loss, err)) ||
                                (rc = cell_double(p, row, C_CONG, &n3, &cong, err))))
    return rc;
  au_batch_add_row(b);
  p->added++;
  au_batch_set_time(b, AU_LMP_START, t);
  int minutes = p->it->kind == K_RT_LMP ? 5 : 60;
  au_batch_set_time(b, AU_LMP_END, t + (au_time)minutes * AU_MINUTE);
  if (p->it->kind == K_HOEP) {
    au_batch_set_text(b, AU_LMP_LOC_ID, "ONTARIO", 7);
    au_batch_set_text(b, AU_LMP_LOC_NAME, "HOEP", 4);
    au_batch_set_text(b, AU_LMP_LOC_TYPE, "ZONE", 4);
  } else {
    size_t i = (size_t)p->col[C_LOC], n = row->lens[i];
    const char *s = row->fields[i];
    while (n && (*s == ' ' || *s == '\t')) {
      s++;
      n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
      n--;
    if (!n) {
      au_batch_drop_last(b);
      return au_err_set(err, AU_E_PARSE, "csv line %llu, column %zu (Pricing Location): empty",
                        (unsigned long long)row->line, i + 1);
    }
    au_batch_set_text(b, AU_LMP_LOC_ID, s, n);
    size_t sl = n > 4 && !memcmp(s + n - 4, ":HUB", 4) ? 1 : 0;
    au_batch_set_text(b, AU_LMP_LOC_TYPE, sl ? "HUB" : "NODE", sl ? 3 : 4);
  }
  if (!n1)
    au_batch_set_double(b, AU_LMP_LMP, lmp);
  if (!n2)
    au_batch_set_double(b, AU_LMP_LOSS, loss);
  if (!n3)
    au_batch_set_double(b, AU_LMP_CONG, cong);
  au_lmp_set_meta(b, "IESO", p->it->kind == K_HOEP ? "HOEP" : p->it->kind == K_DA_LMP ? "DA" : "RT", "CAD/MWh",
                  IESO_TZ, minutes, p->ctx->ingestion_time);
  return 0;
}

static int parse_csv(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                     struct au_batch *out, struct au_err *err) {
  struct csvp p = {.ctx = ctx, .req = req, .it = ctx->table->priv, .out = out, .for_day = -1};
  struct au_csv_limits lim = {.max_field = 4096, .max_fields = 256, .max_rows = 20u * 1000u * 1000u};
  struct au_csv *c = au_csv_new(&lim, ',', on_csv_row, &p);
  int rc = au_csv_feed(c, resp->body, resp->len, err);
  if (rc == 0)
    rc = au_csv_finish(c, err);
  au_csv_free(c);
  if (rc == 0 && !p.have_header)
    rc = resp->len == 0 ? AU_E_NODATA
                        : au_err_set(err, AU_E_PARSE, "csv: no %s header found (%zu bytes)", p.it->report, resp->len);
  if (rc == 0 && p.added == 0)
    rc = AU_E_NODATA;
  return rc;
}

/* --- XML (Ontario zonal price) ---------------------------------------------------- */
struct xmlp {
  struct au_source_ctx *ctx;
  const struct ieso_table *it;
  struct au_batch *out;
  int64_t day;
  int hour; /* RT: DeliveryHour */
  size_t added;
};

static const char *rec_get(const struct au_xml_record *r, const char *name) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->names[i], name))
      return r->values[i];
  return NULL;
}

static int xml_num(const struct au_xml_record *r, const char *name, bool *isnull, double *v, struct au_err *err) {
  const char *s = rec_get(r, name);
  *isnull = !s || !*s;
  if (*isnull)
    return 0;
  if (au_parse_double(s, strlen(s), v))
    return au_err_set(err, AU_E_PARSE, "xml line %d, field %s: not a number: %.40s", r->line, name, s);
  return 0;
}

static int on_xml_rec(void *arg, const struct au_xml_record *r, struct au_err *err) {
  struct xmlp *p = arg;
  bool rt = p->it->kind == K_RT_OZP;
  const char *hs = rec_get(r, rt ? "Interval" : "PricingHour");
  int64_t k;
  int hi = rt ? 12 : 24;
  if (!hs || au_parse_int64(hs, strlen(hs), &k) || k < 1 || k > hi)
    return au_err_set(err, AU_E_PARSE, "xml line %d, field %s: want 1..%d, got '%.20s'", r->line,
                      rt ? "Interval" : "PricingHour", hi, hs ? hs : "(missing)");
  bool n1, n2, n3;
  double lmp = 0, loss = 0, cong = 0;
  int rc;
  if ((rc = xml_num(r, rt ? "LmpCap" : "ZonalPrice", &n1, &lmp, err)) ||
      (rc = xml_num(r, rt ? "LossPriceCap" : "LossPriceCapped", &n2, &loss, err)) ||
      (rc = xml_num(r, rt ? "CongPriceCap" : "CongestionPriceCapped", &n3, &cong, err)))
    return rc;
  if (n1 && n2 && n3)
    return 0; /* slot not published yet */
  au_time t = rt ? est_hour(p->day, p->hour) + (au_time)(k - 1) * 5 * AU_MINUTE : est_hour(p->day, (int)k);
  int minutes = rt ? 5 : 60;
  struct au_batch *b = p->out;
  au_batch_add_row(b);
  p->added++;
  au_batch_set_time(b, AU_LMP_START, t);
  au_batch_set_time(b, AU_LMP_END, t + (au_time)minutes * AU_MINUTE);
  au_batch_set_text(b, AU_LMP_LOC_ID, "ONTARIO", 7);
  au_batch_set_text(b, AU_LMP_LOC_NAME, "Ontario Zonal Price", 19);
  au_batch_set_text(b, AU_LMP_LOC_TYPE, "ZONE", 4);
  if (!n1)
    au_batch_set_double(b, AU_LMP_LMP, lmp);
  if (!n2)
    au_batch_set_double(b, AU_LMP_LOSS, loss);
  if (!n3)
    au_batch_set_double(b, AU_LMP_CONG, cong);
  au_lmp_set_meta(b, "IESO", rt ? "RT" : "DA", "CAD/MWh", IESO_TZ, minutes, p->ctx->ingestion_time);
  return 0;
}

static int xml_noop(void *arg, const struct au_xml_record *r, struct au_err *err) {
  AU_UNUSED(arg);
  AU_UNUSED(r);
  AU_UNUSED(err);
  return 0;
}

static int parse_xml(struct au_source_ctx *ctx, const struct au_response *resp, struct au_batch *out,
                     struct au_err *err) {
  struct xmlp p = {.ctx = ctx, .it = ctx->table->priv, .out = out};
  bool rt = p.it->kind == K_RT_OZP;
  char buf[64];
  /* <Document docID="RealtimeOntarioZonalPrice" ...>: refuse another report's document */
  size_t scan = resp->len < 4096 ? resp->len : 4096;
  const char *dk = memmem(resp->body, scan, "docID=\"", 7);
  if (dk) {
    const char *v = dk + 7, *q = memchr(v, '"', scan - (size_t)(v - resp->body));
    size_t rl = strlen(p.it->report);
    if (!q || (size_t)(q - v) != rl || memcmp(v, p.it->report, rl) != 0)
      return au_err_set(err, AU_E_PARSE, "xml byte %zu: document is docID=\"%.*s\", expected %s",
                        (size_t)(dk - resp->body), q ? (int)(q - v < 60 ? q - v : 60) : 0, v, p.it->report);
  }
  int rc = au_xml_find_text(resp->body, resp->len, "DeliveryDate", buf, sizeof(buf));
  if (rc == AU_E_PARSE) /* malformed before DeliveryDate: let the record reader name the line */
    return au_xml_records(resp->body, resp->len, "DocBody", xml_noop, NULL, err) ? err->code
                                                                               : au_err_set(err, AU_E_PARSE, "xml: malformed");
  if (rc || !parse_date(buf, strlen(buf), &p.day))
    return au_err_set(err, AU_E_PARSE, "xml: missing or bad DeliveryDate '%.20s'", rc ? "" : buf);
  if (rt) {
    int64_t h;
    if (au_xml_find_text(resp->body, resp->len, "DeliveryHour", buf, sizeof(buf)) ||
        au_parse_int64(buf, strlen(buf), &h) || h < 1 || h > 24)
      return au_err_set(err, AU_E_PARSE, "xml: missing or bad DeliveryHour");
    p.hour = (int)h;
  }
  rc = au_xml_records(resp->body, resp->len, rt ? "ZonalPrice" : "HourlyPriceComponents", on_xml_rec, &p, err);
  if (rc == 0 && p.added == 0)
    rc = AU_E_NODATA;
  return rc;
}

static int ieso_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                      struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  AU_UNUSED(more);
  const struct ieso_table *it = ctx->table->priv;
  if (resp->status == 404)
    return AU_E_NODATA; /* not (yet) published, or outside the server's retention */
  if (resp->status != 200) {
    int n = resp->len > 200 ? 200 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  size_t before = out->nrows;
  int rc = it->kind == K_DA_OZP || it->kind == K_RT_OZP ? parse_xml(ctx, resp, out, err)
                                                        : parse_csv(ctx, req, resp, out, err);
  if (rc == 0 && it->kind != K_DEMAND)
    au_lmp_complete(out, before);
  return rc;
}

const struct au_source_ops au_source_ieso = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "ieso",
    .title = "Independent Electricity System Operator, Ontario (public report server)",
    .default_base = "https://reports-public.ieso.ca/public",
    .base_env = ieso_base_env,
    .tables = ieso_tables,
    .ntables = AU_ARRAY_LEN(ieso_tables),
    .policy = {.rate_per_min = 120, .burst = 4, .max_attempts = 5},
    .plan = ieso_plan,
    .parse = ieso_parse,
};

/* sim_caiso.c - CAISO OASIS: GET /oasisapi/SingleZip for PRC_LMP, PRC_RTPD_LMP, PRC_INTVL_LMP,
 * PRC_HASP_LMP, PRC_AS, PRC_INTVL_AS, SLD_FCST and CRR_CLEARING, in OASIS's layout
 * (iso-apis.md §2): a ZIP holding one CSV (resultformat=6) or XML members named like
 * 20240101_20240102_PRC_LMP_DAM_20240102_08_00_00_v1.csv, report-specific column order,
 * "-00:00" GMT stamps, one row per price component, rows in a scrambled (deterministic)
 * order, and XML error ZIPs (ERR_CODE/ERR_DESC) for 1000 no data, 1001/1002/1005/1011/1020
 * bad requests, 1004 more than 31 days, 1017 more than 10 nodes. Throttled requests get
 * OASIS's HTML "Acceptable Use Policy Violation" 429 body.
 *
 * Test hook: /oasisapi/_err/CODE/SingleZip answers every request with error CODE, and
 * /oasisapi/_err/CODE/LO-HI/SingleZip only the simulator's requests number LO..HI (the
 * count `--fault ...@n=` uses); anything else is served normally. ZIP member times are
 * pinned to the simulator clock, so the same request at the same clock gives the same
 * bytes. grp_type=ALL_APNODES serves 2,400 deterministic APNodes. */
#include "core/au.h"
#include "core/batch.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/zipwrite.h"
#include "sim/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO "caiso"
#define TZNAME "America/Los_Angeles"
#define N_ALL_NODES 2400
#define MAX_NODES 10
#define MAX_DAYS 31

static const char *const hubs[] = {"TH_NP15_GEN-APND", "TH_SP15_GEN-APND", "TH_ZP26_GEN-APND",
                                   "DLAP_PGAE-APND",   "DLAP_SCE-APND",    "DLAP_SDGE-APND",
                                   "DLAP_VEA-APND",    "ELAP_PACE-APND",   "ELAP_PACW-APND"};
static const char *const syl[] = {"ADL", "BAR", "CAS", "DEL", "ELK", "FRE", "GAT", "HUM", "IMP", "JUN",
                                  "KER", "LAG", "MOS", "NAP", "OAK", "PIT", "QUI", "RIV", "SAN", "TES"};
static const char *const tacs[] = {"CA ISO-TAC", "PGE-TAC", "SCE-TAC", "SDGE-TAC", "VEA-TAC", "MWD-TAC",
                                   "AZPS",       "BANC",    "NEVP",    "PACE",     "PACW",    "PSEI"};
static const char *const anc_types[] = {"NR", "RD", "RMD", "RMU", "RU", "SR"};
static const char *const anc_items[] = {"NS_CLR_PRC", "RD_CLR_PRC", "RMD_CLR_PRC",
                                        "RMU_CLR_PRC", "RU_CLR_PRC", "SP_CLR_PRC"};
static const char *const anc_regions[] = {"AS_CAISO_EXP", "AS_CAISO", "AS_NP26_EXP", "AS_SP26_EXP"};
static const char *const lmp_types[] = {"LMP", "MCE", "MCC", "MCL", "MGHG"};
static const char *const lmp_items[] = {"LMP_PRC", "LMP_ENE_PRC", "LMP_CONG_PRC", "LMP_LOSS_PRC", "LMP_GHG_PRC"};
static const int comp_of[] = {AU_SIM_LMP, AU_SIM_ENERGY, AU_SIM_CONGESTION, AU_SIM_LOSS, AU_SIM_GHG};

/* One data row before formatting. */
struct srow {
  au_time t0, t1;
  int loc;  /* index into the location names */
  int item; /* component / anc type / horizon / TOU */
  double v;
};

struct rows {
  struct srow *v;
  size_t n, cap;
};

static void rows_push(struct rows *r, au_time t0, au_time t1, int loc, int item, double v) {
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 1024;
    r->v = au_xrealloc(r->v, r->cap * sizeof(*r->v));
  }
  r->v[r->n++] = (struct srow){t0, t1, loc, item, v};
}

/* --- formatting helpers --- */

static char *put2(char *d, int v) {
  d[0] = (char)('0' + v / 10 % 10);
  d[1] = (char)('0' + v % 10);
  return d + 2;
}

static void fmt_gmt(au_time t, char *b) { /* 2024-01-01T08:00:00-00:00 */
  struct au_civil c;
  au_time_to_civil(t, &c);
  if (c.year < 0 || c.year > 9999) {
    snprintf(b, 32, "%04d-%02d-%02dT%02d:%02d:%02d-00:00", c.year, c.month, c.day, c.hour, c.minute, c.second);
    return;
  }
  char *d = put2(put2(b, c.year / 100), c.year % 100);
  *d++ = '-';
  d = put2(d, c.month);
  *d++ = '-';
  d = put2(d, c.day);
  *d++ = 'T';
  d = put2(d, c.hour);
  *d++ = ':';
  d = put2(d, c.minute);
  *d++ = ':';
  d = put2(d, c.second);
  memcpy(d, "-00:00", 7);
}

/* Append s then a comma (the CSV writer's hot path; au_buf_printf per row was most of the
 * simulator's time for big answers). */
static int add_field(struct au_buf *b, const char *s) {
  size_t n = strlen(s);
  int rc = au_buf_grow(b, n + 1);
  if (rc)
    return rc;
  memcpy(b->ptr + b->len, s, n);
  b->len += n;
  b->ptr[b->len++] = ',';
  b->ptr[b->len] = 0;
  return 0;
}

static int add_int_field(struct au_buf *b, int v) {
  char t[24];
  au_fmt_i64(v, t);
  return add_field(b, t);
}

/* number with up to `dec` decimals, trailing zeros trimmed (OASIS style: 55.5152, 1501.95, 0) */
static int add_num(struct au_buf *b, double v, int dec) {
  char t[48];
  int n = snprintf(t, sizeof(t), "%.*f", dec, v);
  if (n <= 0 || (size_t)n >= sizeof(t))
    return au_buf_printf(b, "%g", v);
  if (strchr(t, '.')) {
    while (n > 0 && t[n - 1] == '0')
      n--;
    if (n > 0 && t[n - 1] == '.')
      n--;
  }
  t[n] = 0;
  if (!strcmp(t, "-0"))
    return au_buf_adds(b, "0");
  return au_buf_add(b, t, (size_t)n);
}

struct opr {
  char date[11];
  int hr;       /* hour ending 1..24, 25 = the repeated fall-back hour */
  int interval; /* 1.. within the hour, 0 for hourly */
};

static void opr_of(const struct au_tz *tz, au_time t, int minutes, struct opr *o) {
  struct au_civil c, p;
  au_tz_to_local(tz, t, &c);
  snprintf(o->date, sizeof(o->date), "%04d-%02d-%02d", c.year, c.month, c.day);
  o->hr = c.hour + 1;
  au_time hstart = t - (au_time)c.minute * AU_MINUTE;
  au_tz_to_local(tz, hstart - AU_HOUR, &p);
  if (p.hour == c.hour && p.day == c.day)
    o->hr = 25;
  o->interval = minutes >= 60 ? 0 : c.minute / minutes + 1;
}

/* --- request parsing --- */

static bool parse_oasis_time(const char *s, au_time *out) { /* 20240101T08:00-0000 */
  if (!s || strlen(s) != 19 || s[8] != 'T' || s[11] != ':' || strcmp(s + 14, "-0000"))
    return false;
  for (int i = 0; i < 14; i++)
    if (i != 8 && i != 11 && (s[i] < '0' || s[i] > '9'))
      return false;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'), mo = (s[4] - '0') * 10 + s[5] - '0', d = (s[6] - '0') * 10 + s[7] - '0';
  int h = (s[9] - '0') * 10 + s[10] - '0', mi = (s[12] - '0') * 10 + s[13] - '0';
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
    return false;
  *out = au_time_utc(y, mo, d, h, mi, 0);
  return true;
}

static void local_ymd(const struct au_tz *tz, au_time t, char *b) {
  int y, m, d;
  au_tz_local_date(tz, t, &y, &m, &d);
  snprintf(b, 9, "%04d%02d%02d", y, m, d);
}

static void member_name(const struct au_tz *tz, au_time now, au_time a, au_time b, const char *query,
                        const char *mkt, const char *version, const char *ext, char *out, size_t n) {
  char sa[9], sb[9];
  local_ymd(tz, a, sa);
  local_ymd(tz, b, sb);
  struct au_civil c;
  au_tz_to_local(tz, now, &c);
  snprintf(out, n, "%s_%s_%s_%s_%04d%02d%02d_%02d_%02d_%02d_v%s.%s", sa, sb, query, mkt && *mkt ? mkt : "N", c.year,
           c.month, c.day, c.hour, c.minute, c.second, version && *version ? version : "1", ext);
}

static int zip_reply(struct au_sim_ctx *ctx, struct au_sim_reply *rep, const char *const *names,
                     const char *const *datas, const size_t *lens, size_t n) {
  struct au_err err = AU_ERR_INIT;
  au_buf_reset(&rep->body);
  int rc = au_zipw_build_at(&rep->body, names, datas, lens, n, au_sim_now(ctx),
                            au_sim_ctx_config(ctx)->zip_level, &err);
  if (rc)
    return rc;
  rep->status = 200;
  rep->content_type = "application/x-zip-compressed";
  char cd[300];
  snprintf(cd, sizeof(cd), "inline; filename=%.200s.zip;", n ? names[0] : "empty");
  (void)au_sim_reply_header(rep, "Content-Disposition", cd);
  return 0;
}

static int error_zip(struct au_sim_ctx *ctx, struct au_sim_reply *rep, const char *member, int code,
                     const char *desc) {
  struct au_buf x = AU_BUF_INIT(0);
  struct au_civil c;
  au_time_to_civil(au_sim_now(ctx), &c);
  int rc = au_buf_printf(
      &x,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<m:OASISReport xmlns:m=\"http://www.caiso.com/soa/OASISReport_v1.xsd\">\n<m:MessageHeader>\n"
      "\t<m:TimeDate>%04d-%02d-%02dT%02d:%02d:%02d.000Z</m:TimeDate>\n\t<m:Source>OASIS</m:Source>\n"
      "\t<m:Version>v20131201</m:Version>\n</m:MessageHeader>\n<m:MessagePayload>\n<m:RTO>\n"
      "<m:name>CAISO</m:name>\n<m:DISCLAIMER_ITEM>\n<m:DISCLAIMER>The contents of these pages are subject to "
      "change without notice. Decisions based on information contained within the California ISO's web site "
      "are the visitor's sole responsibility.</m:DISCLAIMER>\n</m:DISCLAIMER_ITEM>\n<m:ERROR>\n"
      "<m:ERR_CODE>%d</m:ERR_CODE>\n<m:ERR_DESC>%s</m:ERR_DESC>\n</m:ERROR>\n\n</m:RTO>\n"
      "</m:MessagePayload>\n</m:OASISReport>",
      c.year, c.month, c.day, c.hour, c.minute, c.second, code, desc);
  if (rc) {
    au_buf_release(&x);
    return rc;
  }
  const char *names[1] = {member};
  const char *datas[1] = {x.ptr};
  size_t lens[1] = {x.len};
  rc = zip_reply(ctx, rep, names, datas, lens, 1);
  au_buf_release(&x);
  rep->rows = 0;
  return rc;
}

static const char *err_desc(int code) {
  switch (code) {
  case 1000: return "No data returned for the specified selection";
  case 1001: return "Invalid Parameters";
  case 1002: return "Invalid datetime format";
  case 1004: return "Data can be requested for period of 31 days only";
  case 1005: return "Report name does not exist";
  case 1011: return "Empty Query";
  case 1015: return "GroupZip DownLoad is in Processing, Please Submit request after Sometime";
  case 1017: return "Maximum of 10 nodes can be requested";
  case 1020: return "Version is missing or invalid";
  default: return "System Error";
  }
}

static void caiso_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status, const char *message,
                        struct au_sim_reply *rep) {
  AU_UNUSED(ctx);
  AU_UNUSED(req);
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->content_type = "text/html";
  rep->rows = 0;
  int rc;
  if (status == 429)
    rc = au_buf_adds(&rep->body, "<html><body><p>CAISO Acceptable Use Policy Violation. Please retry your request "
                                 "after 5 seconds.</p></body></html>");
  else
    rc = au_buf_printf(&rep->body, "<html><head><title>%d</title></head><body><h1>%d</h1><p>%s</p></body></html>",
                       status, status, message);
  if (rc)
    au_buf_reset(&rep->body);
}

/* --- data --- */

struct q {
  const struct au_tz *tz;
  uint64_t seed;
  au_time now, t0, t1;
  const char *query, *mkt, *version, *exec;
  int minutes;
  bool csv;
  char **locs;
  size_t nlocs;
  bool all;
};

static char *all_node_name(size_t i) {
  if (i < AU_ARRAY_LEN(hubs))
    return au_xstrdup(hubs[i]);
  char b[48];
  uint64_t h = au_sim_hash(1, "caiso.apnode", (int64_t)i);
  snprintf(b, sizeof(b), "%s%s_%d_N%03d", syl[h % 20], syl[(h >> 8) % 20], (int)((i / 1000) % 10), (int)(i % 1000));
  if (h & 0x10000) /* about half are aggregated APNodes */
    strcat(b, "-APND");
  return au_xstrdup(b);
}

/* Latest interval start the operator has published at `now` for this report. */
static au_time horizon(const struct q *q, const char *kind) {
  int y, m, d;
  au_tz_local_date(q->tz, q->now, &y, &m, &d);
  int64_t today = au_days_from_civil(y, m, d);
  int ahead = 0;
  if (!strcmp(kind, "DAM"))
    ahead = 2; /* tomorrow's DAM is published in the afternoon: serve through tomorrow */
  else if (!strcmp(kind, "2DA"))
    ahead = 3;
  else if (!strcmp(kind, "7DA"))
    ahead = 9;
  else
    return q->now; /* real time / actuals: up to now */
  au_civil_from_days(today + ahead, &y, &m, &d);
  return au_tz_day_start(q->tz, y, m, d);
}

static void gen_lmp(const struct au_sim_ctx *ctx, const struct q *q, struct rows *r) {
  au_time lim = horizon(q, !strcmp(q->mkt, "DAM") ? "DAM" : "RT");
  char key[96];
  for (au_time t = q->t0; t < q->t1 && t < lim; t += (au_time)q->minutes * AU_MINUTE) {
    if (!strcmp(q->mkt, "RTM") || !strcmp(q->mkt, "RTPD") || !strcmp(q->mkt, "HASP"))
      if (t + (au_time)q->minutes * AU_MINUTE > q->now)
        break;
    for (size_t n = 0; n < q->nlocs; n++) {
      double parts[AU_SIM_NCOMPONENTS];
      const char *node = q->locs[n];
      if (strcmp(q->mkt, "DAM")) {
        snprintf(key, sizeof(key), "%s:%s", q->mkt, node);
        node = key;
      }
      au_sim_served_parts(ctx, ISO, node, t, parts);
      for (int c = 0; c < 5; c++)
        rows_push(r, t, t + (au_time)q->minutes * AU_MINUTE, (int)n, c, parts[comp_of[c]]);
    }
  }
}

static void gen_as(const struct q *q, struct rows *r) {
  au_time lim = horizon(q, !strcmp(q->mkt, "DAM") ? "DAM" : "RT");
  for (au_time t = q->t0; t < q->t1 && t < lim; t += (au_time)q->minutes * AU_MINUTE)
    for (size_t g = 0; g < AU_ARRAY_LEN(anc_regions); g++)
      for (size_t a = 0; a < AU_ARRAY_LEN(anc_types); a++) {
        char tag[64];
        snprintf(tag, sizeof(tag), "caiso.as.%s.%s.%s", q->mkt, anc_types[a], anc_regions[g]);
        double base = 2.0 + 4.0 * (double)a + 1.5 * (double)g;
        double v = au_sim_round5(fmax(0.0, base * (1.0 + 0.35 * au_sim_gauss(q->seed, tag, t))));
        v = round(v * 100.0) / 100.0;
        rows_push(r, t, t + (au_time)q->minutes * AU_MINUTE, (int)g, (int)a, v);
      }
}

static const char *const horizons[] = {"DAM", "2DA", "7DA", "ACTUAL", "RTD", "RTPD"};
static const char *const load_items[] = {"SYS_FCST_DA_MW", "SYS_FCST_2DA_MW", "SYS_FCST_7DA_MW",
                                         "SYS_FCST_ACT_MW", "SYS_FCST_5MIN_MW", "SYS_FCST_15MIN_MW"};
static const char *const load_labels[] = {"Demand Forecast Day Ahead", "Demand Forecast 2-Day Ahead",
                                          "Demand Forecast 7-Day Ahead", "Total Actual Hourly Integrated Load",
                                          "RTM 5Min Load Forecast", "RTM 15Min Load Forecast"};
static const int load_type[] = {1, 2, 0, 0, 0, 0};
static const double load_sigma[] = {0.02, 0.03, 0.05, 0.0, 0.005, 0.01};
static const int load_minutes[] = {60, 60, 60, 60, 5, 15};

static void gen_load_h(const struct au_sim_ctx *ctx, const struct q *q, int h, struct rows *r) {
  au_time lim = h == 3 ? q->now : h >= 4 ? q->now + AU_HOUR : horizon(q, horizons[h]);
  au_time step = (au_time)load_minutes[h] * AU_MINUTE;
  for (au_time t = q->t0; t < q->t1; t += step) {
    if ((h == 3 && t + step > lim) || (h != 3 && t >= lim))
      break;
    for (size_t z = 0; z < AU_ARRAY_LEN(tacs); z++) {
      double share = z == 0 ? 1.0 : 0.04 + 0.03 * (double)(z % 5);
      double mw = au_sim_served_load(ctx, ISO, NULL, t) * share;
      if (load_sigma[h] > 0) {
        char tag[64];
        snprintf(tag, sizeof(tag), "caiso.fcst.%s.%s", horizons[h], tacs[z]);
        mw *= 1.0 + load_sigma[h] * au_sim_gauss(q->seed, tag, t);
      }
      rows_push(r, t, t + step, (int)z, h, round(mw * 100.0) / 100.0);
    }
  }
}

static void gen_crr(const struct q *q, struct rows *r) {
  /* one monthly auction per calendar month starting in [t0, t1) (Pacific month start) */
  int y, m, d;
  au_tz_local_date(q->tz, q->t0, &y, &m, &d);
  for (int k = 0; k < 3; k++) {
    int yy = y + (m - 1 + k) / 12, mm = (m - 1 + k) % 12 + 1;
    au_time s = au_tz_day_start(q->tz, yy, mm, 1);
    if (s < q->t0 || s >= q->t1)
      continue;
    int ny = yy + mm / 12, nm = mm % 12 + 1;
    au_time e = au_tz_day_start(q->tz, ny, nm, 1);
    for (size_t n = 0; n < q->nlocs; n++)
      for (int tou = 0; tou < 2; tou++) {
        char tag[96];
        snprintf(tag, sizeof(tag), "caiso.crr.%s.%d", q->locs[n], tou);
        double v = round(200.0 * au_sim_gauss(q->seed, tag, s)) / 100.0;
        rows_push(r, s, e, (int)n, tou, v);
      }
  }
}

/* --- writers --- */

static size_t perm_step(size_t n) {
  static const size_t primes[] = {7919, 104729, 15485863};
  for (size_t i = 0; i < AU_ARRAY_LEN(primes); i++)
    if (n % primes[i])
      return primes[i] % (n ? n : 1) ? primes[i] : 1;
  return 1;
}

static int write_csv(const struct q *q, const struct rows *r, struct au_buf *b, const char *hdr_kind) {
  int rc = 0;
  char s0[32], s1[32];
  bool intvl = !strcmp(q->query, "PRC_INTVL_LMP") || !strcmp(q->query, "PRC_RTPD_LMP") ||
               !strcmp(q->query, "PRC_HASP_LMP");
  const char *vcol = !strcmp(q->query, "PRC_INTVL_LMP") ? "VALUE" : !strcmp(q->query, "PRC_RTPD_LMP") ? "PRC" : "MW";
  if (!strcmp(hdr_kind, "lmp")) {
    rc = intvl ? au_buf_printf(b,
                               "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,NODE_ID_XML,NODE_ID,NODE,"
                               "MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,%s,OPR_INTERVAL,GROUP\n",
                               vcol)
               : au_buf_adds(b, "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,"
                                "NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,"
                                "GROUP\n");
  } else if (!strcmp(hdr_kind, "as")) {
    rc = !strcmp(q->query, "PRC_INTVL_AS")
             ? au_buf_adds(b, "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_TYPE,ANC_TYPE,"
                              "XML_DATA_ITEM,MARKET_RUN_ID,MW,ANC_REGION,OPR_INTERVAL,GROUP\n")
             : au_buf_adds(b, "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,OPR_TYPE,"
                              "ANC_TYPE,ANC_REGION,MARKET_RUN_ID,XML_DATA_ITEM,MW,GROUP\n");
  } else if (!strcmp(hdr_kind, "load")) {
    rc = au_buf_adds(b, "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,LOAD_TYPE,OPR_DT,OPR_HR,OPR_INTERVAL,"
                        "MARKET_RUN_ID,TAC_AREA_NAME,LABEL,XML_DATA_ITEM,POS,MW,EXECUTION_TYPE,GROUP\n");
  } else {
    rc = au_buf_adds(b, "START_DATE_TIME,END_DATE_TIME,CRR_MARKET_NAME,MARKET_TERM,APNODE_ID,TIME_OF_USE,"
                        "XML_DATA_ITEM,PRC,GROUP\n");
  }
  size_t n = r->n, step = perm_step(n), off = n ? (size_t)(q->seed % n) : 0;
  if (!rc)
    rc = au_buf_grow(b, n * 180);
  for (size_t i = 0; i < n && !rc; i++) {
    const struct srow *w = &r->v[(off + i * (step % n)) % n];
    fmt_gmt(w->t0, s0);
    fmt_gmt(w->t1, s1);
    int mins = (int)((w->t1 - w->t0) / AU_MINUTE);
    struct opr o;
    opr_of(q->tz, w->t0, mins, &o);
    const char *loc = q->locs ? q->locs[w->loc] : "";
    if (!strcmp(hdr_kind, "lmp")) {
      const char *grp = q->all ? "ALL_APNODES" : "ALL";
      /* intvl: ..,OPR_HR,NODE_ID_XML,..  else: ..,OPR_HR,OPR_INTERVAL,NODE_ID_XML,.. */
      const char *f[] = {s0, s1, o.date, NULL, loc, loc, loc, q->mkt, lmp_types[w->item], lmp_items[w->item], loc,
                         grp};
      for (size_t k = 0; k < AU_ARRAY_LEN(f) && !rc; k++) {
        if (!f[k]) {
          rc = add_int_field(b, o.hr);
          if (!rc && !intvl)
            rc = add_int_field(b, o.interval);
        } else {
          rc = add_field(b, f[k]);
        }
      }
      if (!rc)
        rc = add_int_field(b, 1 + w->item % 2);
      if (!rc)
        rc = add_num(b, w->v, 5);
      if (!rc)
        rc = intvl ? au_buf_printf(b, ",%d,%d\n", o.interval, 1 + (int)(i / 50000)) : au_buf_printf(b, ",%d\n", 1 + (int)(i / 50000));
    } else if (!strcmp(hdr_kind, "as")) {
      const char *reg = anc_regions[w->loc];
      if (!strcmp(q->query, "PRC_INTVL_AS")) {
        rc = au_buf_printf(b, "%s,%s,%s,%d,PROC,%s,%s,%s,", s0, s1, o.date, o.hr, anc_types[w->item],
                           anc_items[w->item], q->mkt);
        if (!rc)
          rc = add_num(b, w->v, 5);
        if (!rc)
          rc = au_buf_printf(b, ",%s,%d,1\n", reg, o.interval);
      } else {
        rc = au_buf_printf(b, "%s,%s,%s,%d,%d,PROC,%s,%s,%s,%s,", s0, s1, o.date, o.hr, o.interval, anc_types[w->item],
                           reg, q->mkt, anc_items[w->item]);
        if (!rc)
          rc = add_num(b, w->v, 5);
        if (!rc)
          rc = au_buf_adds(b, ",1\n");
      }
    } else if (!strcmp(hdr_kind, "load")) {
      int h = w->item;
      const char *mk = h >= 4 ? "RTM" : horizons[h];
      rc = au_buf_printf(b, "%s,%s,%d,%s,%d,%d,%s,%s,%s,%s,%.1f,", s0, s1, load_type[h], o.date, o.hr, o.interval, mk,
                         tacs[w->loc], load_labels[h], load_items[h], 0.8 + (double)h);
      if (!rc)
        rc = add_num(b, w->v, 2);
      if (!rc)
        rc = au_buf_printf(b, ",%s,1\n", horizons[h]);
    } else {
      rc = au_buf_printf(b, "%s,%s,AUC_MN_%.7s_TR,MONTHLY,%s,%s,%s,", s0, s1, o.date, loc, w->item ? "OFF" : "ON",
                         w->item ? "LT_OFF_PRC" : "ON_PRC");
      if (!rc)
        rc = add_num(b, w->v, 5);
      if (!rc)
        rc = au_buf_adds(b, ",1\n");
    }
  }
  return rc;
}

/* XML (no resultformat): REPORT_ITEM per data item, REPORT_DATA records. */
static int write_xml(const struct au_sim_ctx *ctx, const struct q *q, const struct rows *r, const char *kind,
                     int only_item, struct au_buf *b) {
  struct au_civil c;
  au_time_to_civil(au_sim_now(ctx), &c);
  int rc = au_buf_printf(b,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OASISReport "
                         "xmlns=\"http://www.caiso.com/soa/OASISReport_v1.xsd\">\n<MessageHeader>\n"
                         "<TimeDate>%04d-%02d-%02dT%02d:%02d:%02d-00:00</TimeDate>\n<Source>OASIS</Source>\n"
                         "<Version>v20131201</Version>\n</MessageHeader>\n<MessagePayload>\n<RTO>\n<name>CAISO</name>\n"
                         "<REPORT_ITEM>\n<REPORT_HEADER>\n<SYSTEM>OASIS</SYSTEM>\n<TZ>PPT</TZ>\n<REPORT>%s</REPORT>\n"
                         "<MKT_TYPE>%s</MKT_TYPE>\n<UOM>%s</UOM>\n<INTERVAL>ENDING</INTERVAL>\n"
                         "<SEC_PER_INTERVAL>%d</SEC_PER_INTERVAL>\n</REPORT_HEADER>\n",
                         c.year, c.month, c.day, c.hour, c.minute, c.second, q->query, q->mkt ? q->mkt : "",
                         !strcmp(kind, "load") ? "MW" : "US$", q->minutes * 60);
  char s0[32], s1[32];
  for (size_t i = 0; i < r->n && !rc; i++) {
    const struct srow *w = &r->v[i];
    if (only_item >= 0 && w->item != only_item)
      continue;
    fmt_gmt(w->t0, s0);
    fmt_gmt(w->t1, s1);
    struct opr o;
    opr_of(q->tz, w->t0, (int)((w->t1 - w->t0) / AU_MINUTE), &o);
    const char *item, *res;
    if (!strcmp(kind, "lmp")) {
      item = lmp_items[w->item];
      res = q->locs[w->loc];
    } else if (!strcmp(kind, "as")) {
      item = anc_items[w->item];
      res = anc_regions[w->loc];
    } else if (!strcmp(kind, "load")) {
      item = load_items[w->item];
      res = tacs[w->loc];
    } else {
      item = w->item ? "LT_OFF_PRC" : "ON_PRC";
      res = q->locs[w->loc];
    }
    rc = au_buf_printf(b, "<REPORT_DATA>\n<DATA_ITEM>%s</DATA_ITEM>\n<RESOURCE_NAME>%s</RESOURCE_NAME>\n", item, res);
    if (!rc && !strcmp(kind, "crr"))
      rc = au_buf_printf(b, "<CRR_MARKET_NAME>AUC_MN_%.7s_TR</CRR_MARKET_NAME>\n<REASON>MONTHLY</REASON>\n"
                            "<START_DATE_TIME>%s</START_DATE_TIME>\n<END_DATE_TIME>%s</END_DATE_TIME>\n",
                         o.date, s0, s1);
    else if (!rc)
      rc = au_buf_printf(b,
                         "<OPR_DATE>%s</OPR_DATE>\n<INTERVAL_NUM>%d</INTERVAL_NUM>\n<INTERVAL_START_GMT>%s"
                         "</INTERVAL_START_GMT>\n<INTERVAL_END_GMT>%s</INTERVAL_END_GMT>\n",
                         o.date, o.hr, s0, s1);
    if (!rc)
      rc = au_buf_adds(b, "<VALUE>");
    if (!rc)
      rc = add_num(b, w->v, 5);
    if (!rc)
      rc = au_buf_adds(b, "</VALUE>\n</REPORT_DATA>\n");
  }
  if (!rc)
    rc = au_buf_adds(b, "</REPORT_ITEM>\n<DISCLAIMER_ITEM>\n<DISCLAIMER>The contents of these pages are subject to "
                        "change without notice.  Decisions based on information contained within the California "
                        "ISO's web site are the visitor's sole responsibility.</DISCLAIMER>\n</DISCLAIMER_ITEM>\n"
                        "</RTO>\n</MessagePayload>\n</OASISReport>\n");
  return rc;
}

/* --- the handler --- */

static int forced_error(struct au_sim_ctx *ctx, const char *path, int *code) {
  /* /oasisapi/_err/CODE[/LO-HI]/SingleZip */
  const char *p = strstr(path, "/_err/");
  if (!p)
    return 0;
  p += 6;
  *code = atoi(p);
  const char *sl = strchr(p, '/');
  if (sl && strncmp(sl, "/SingleZip", 10) != 0) {
    unsigned long long lo = 0, hi = 0;
    if (sscanf(sl + 1, "%llu-%llu", &lo, &hi) == 2) {
      uint64_t n = au_sim_request_number(ctx);
      return n >= lo && n <= hi;
    }
  }
  return *code > 0;
}

static int caiso_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  size_t pl = strlen(req->path);
  if (pl < 10 || strcmp(req->path + pl - 10, "/SingleZip") != 0) {
    caiso_error(ctx, req, 404, "Not Found", rep);
    return 0;
  }
  struct au_err err = AU_ERR_INIT;
  struct q q;
  memset(&q, 0, sizeof(q));
  q.tz = au_tz_get(TZNAME, &err);
  if (!q.tz)
    return AU_E_INVAL;
  q.seed = au_sim_seed(ctx);
  q.now = au_sim_now(ctx);
  q.query = req->arg(req, "queryname");
  q.mkt = req->arg(req, "market_run_id");
  q.version = req->arg(req, "version");
  q.exec = req->arg(req, "execution_type");
  const char *rf = req->arg(req, "resultformat");
  q.csv = rf && !strcmp(rf, "6");
  const char *sv = req->arg(req, "startdatetime"), *ev = req->arg(req, "enddatetime");
  bool times = parse_oasis_time(sv, &q.t0) && parse_oasis_time(ev, &q.t1);
  char member[256];
  if (times)
    member_name(q.tz, q.now, q.t0, q.t1, q.query ? q.query : "INVALID", q.mkt, q.version, "xml", member,
                sizeof(member));
  else
    snprintf(member, sizeof(member), "INVALID_REQUEST.xml");
  int code = 0;
  if (forced_error(ctx, req->path, &code))
    return error_zip(ctx, rep, member, code, err_desc(code));
  if (!q.query || !*q.query)
    return error_zip(ctx, rep, member, 1011, err_desc(1011));
  if (!q.version || !*q.version)
    return error_zip(ctx, rep, member, 1020, err_desc(1020));
  if (!times || q.t1 <= q.t0)
    return error_zip(ctx, rep, member, 1002, err_desc(1002));
  if (q.t1 - q.t0 > (au_time)MAX_DAYS * AU_DAY + AU_HOUR) /* 31 trade days (+1 h for a fall-back day) */
    return error_zip(ctx, rep, member, 1004, err_desc(1004));

  const char *kind;
  int only_h = -1;
  if (!strcmp(q.query, "PRC_LMP") || !strcmp(q.query, "PRC_RTPD_LMP") || !strcmp(q.query, "PRC_INTVL_LMP") ||
      !strcmp(q.query, "PRC_HASP_LMP")) {
    kind = "lmp";
    const char *want = !strcmp(q.query, "PRC_LMP") ? "DAM" : !strcmp(q.query, "PRC_RTPD_LMP") ? "RTPD"
                       : !strcmp(q.query, "PRC_INTVL_LMP")                                  ? "RTM"
                                                                                            : "HASP";
    if (!q.mkt || strcmp(q.mkt, want))
      return error_zip(ctx, rep, member, 1001, err_desc(1001));
    q.minutes = !strcmp(want, "DAM") ? 60 : !strcmp(want, "RTM") ? 5 : 15;
  } else if (!strcmp(q.query, "PRC_AS") || !strcmp(q.query, "PRC_INTVL_AS")) {
    kind = "as";
    if (!q.mkt || (strcmp(q.mkt, "DAM") && strcmp(q.mkt, "RTM") && strcmp(q.mkt, "HASP")))
      return error_zip(ctx, rep, member, 1001, err_desc(1001));
    q.minutes = !strcmp(q.query, "PRC_INTVL_AS") ? 15 : 60;
    if (!strcmp(q.query, "PRC_AS") && q.t1 - q.t0 > AU_DAY + AU_HOUR) /* "only for a single day at a time" */
      return error_zip(ctx, rep, member, 1001, err_desc(1001));
  } else if (!strcmp(q.query, "SLD_FCST")) {
    kind = "load";
    q.minutes = 60;
    if (q.mkt && *q.mkt) {
      if (!strcmp(q.mkt, "RTM")) {
        if (!q.exec || (strcmp(q.exec, "RTD") && strcmp(q.exec, "RTPD")))
          return error_zip(ctx, rep, member, 1001, err_desc(1001));
        only_h = !strcmp(q.exec, "RTD") ? 4 : 5;
        q.minutes = !strcmp(q.exec, "RTD") ? 5 : 15;
      } else {
        for (int h = 0; h < 4; h++)
          if (!strcmp(q.mkt, horizons[h]))
            only_h = h;
        if (only_h < 0)
          return error_zip(ctx, rep, member, 1001, err_desc(1001));
      }
    }
  } else if (!strcmp(q.query, "CRR_CLEARING")) {
    kind = "crr";
    q.minutes = 0;
  } else {
    return error_zip(ctx, rep, member, 1005, err_desc(1005));
  }

  /* locations */
  char **own = NULL;
  size_t nown = 0;
  if (!strcmp(kind, "lmp")) {
    const char *grp = req->arg(req, "grp_type");
    const char *nodes = req->arg(req, "node");
    if (grp && (!strcmp(grp, "ALL_APNODES") || !strcmp(grp, "ALL"))) {
      q.all = true;
      nown = N_ALL_NODES;
      own = au_xcalloc(nown, sizeof(char *));
      for (size_t i = 0; i < nown; i++)
        own[i] = all_node_name(i);
      /* enddatetime is ignored: one trade day (DAM) or one hour (real time) */
      if (!strcmp(q.mkt, "DAM")) {
        int y, m, d;
        au_tz_local_date(q.tz, q.t0, &y, &m, &d);
        au_civil_from_days(au_days_from_civil(y, m, d) + 1, &y, &m, &d);
        q.t1 = au_tz_day_start(q.tz, y, m, d);
      } else {
        q.t1 = q.t0 + AU_HOUR;
      }
    } else if (nodes && *nodes) {
      for (const char *p = nodes; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
          own = au_xrealloc(own, (nown + 1) * sizeof(char *));
          own[nown++] = au_xstrndup(p, n);
        }
        if (!e)
          break;
        p = e + 1;
      }
      if (nown > MAX_NODES) {
        for (size_t i = 0; i < nown; i++)
          free(own[i]);
        free(own);
        return error_zip(ctx, rep, member, 1017, err_desc(1017));
      }
    } else {
      return error_zip(ctx, rep, member, 1001, err_desc(1001));
    }
  } else if (!strcmp(kind, "crr")) {
    nown = AU_ARRAY_LEN(hubs) + 11;
    own = au_xcalloc(nown, sizeof(char *));
    for (size_t i = 0; i < nown; i++)
      own[i] = i < AU_ARRAY_LEN(hubs) ? au_xstrdup(hubs[i]) : all_node_name(i * 97);
  }
  q.locs = own;
  q.nlocs = nown;

  struct rows r = {0};
  if (!strcmp(kind, "lmp"))
    gen_lmp(ctx, &q, &r);
  else if (!strcmp(kind, "as"))
    gen_as(&q, &r);
  else if (!strcmp(kind, "crr"))
    gen_crr(&q, &r);
  else
    for (int h = 0; h < 6; h++)
      if (only_h < 0 ? h != 4 && h != 5 : h == only_h)
        gen_load_h(ctx, &q, h, &r);
  /* anc_type / anc_region filters */
  if (!strcmp(kind, "as")) {
    const char *at = req->arg(req, "anc_type"), *ar = req->arg(req, "anc_region");
    size_t k = 0;
    for (size_t i = 0; i < r.n; i++) {
      bool ok = (!at || !strcmp(at, "ALL") || !strcmp(at, anc_types[r.v[i].item])) &&
                (!ar || !strcmp(ar, "ALL") || !strcmp(ar, anc_regions[r.v[i].loc]));
      if (ok)
        r.v[k++] = r.v[i];
    }
    r.n = k;
  }

  int rc = 0;
  if (r.n == 0) {
    rc = error_zip(ctx, rep, member, 1000, err_desc(1000));
  } else if (q.csv) {
    struct au_buf b = AU_BUF_INIT(AU_SIM_MAX_BODY);
    const char *mk = q.mkt;
    if (!strcmp(kind, "load") && !q.mkt)
      mk = NULL;
    char name[256];
    member_name(q.tz, q.now, q.t0, q.t1, q.query, mk, q.version, "csv", name, sizeof(name));
    rc = write_csv(&q, &r, &b, kind);
    if (!rc) {
      const char *names[1] = {name};
      const char *datas[1] = {b.ptr};
      size_t lens[1] = {b.len};
      rc = zip_reply(ctx, rep, names, datas, lens, 1);
    }
    au_buf_release(&b);
    rep->rows = r.n;
  } else {
    /* XML: LMP has one member per price component (as OASIS does for DAM), others one */
    int nm = !strcmp(kind, "lmp") ? 5 : 1;
    struct au_buf bufs[5];
    char names_s[5][300];
    const char *names[5], *datas[5];
    size_t lens[5];
    for (int i = 0; i < nm; i++)
      au_buf_init(&bufs[i], AU_SIM_MAX_BODY);
    for (int i = 0; i < nm && !rc; i++) {
      char base[256];
      member_name(q.tz, q.now, q.t0, q.t1, q.query, q.mkt, q.version, "xml", base, sizeof(base));
      if (nm > 1) {
        base[strlen(base) - 4] = 0;
        snprintf(names_s[i], sizeof(names_s[i]), "%s_%s.xml", base, lmp_items[i]);
      } else {
        snprintf(names_s[i], sizeof(names_s[i]), "%s", base);
      }
      rc = write_xml(ctx, &q, &r, kind, nm > 1 ? i : -1, &bufs[i]);
      names[i] = names_s[i];
      datas[i] = bufs[i].ptr;
      lens[i] = bufs[i].len;
    }
    if (!rc)
      rc = zip_reply(ctx, rep, names, datas, lens, (size_t)nm);
    for (int i = 0; i < nm; i++)
      au_buf_release(&bufs[i]);
    rep->rows = r.n;
  }
  free(r.v);
  for (size_t i = 0; i < nown; i++)
    free(own[i]);
  free(own);
  return rc;
}

const struct au_sim_handler au_sim_caiso = {"caiso", "/oasisapi/", caiso_handle, caiso_error};

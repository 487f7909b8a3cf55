/* sim_miso.c - MISO: market-report CSVs (docs.misoenergy.org/marketreports/) and the keyed
 * Data Exchange APIs (apim.misoenergy.org/pricing/v1/..., /lgi/v1/...).
 *
 *   GET /marketreports/YYYYMMDD_{da_expost_lmp|da_exante_lmp|rt_lmp_final}.csv
 *       4-line preamble, Node,Type,Value,HE 1..HE 24, LMP/MCC/MLC rows, numbers without
 *       the leading zero (".92"), hour-ending EST all year. A file not yet published (DA
 *       from 13:00 EST the day before, RT final 5 days after the market day) is a 404 with
 *       Azure's XML BlobNotFound body.
 *   GET /pricing/v1/real-time/YYYY-MM-DD/lmp-expost?preliminaryFinal=..&timeResolution=5min[&pageNumber=N]
 *   GET /lgi/v1/real-time/YYYY-MM-DD/demand/actual?timeResolution=hourly&geoResolution=region|localResourceZone
 *       Ocp-Apim-Subscription-Key (or subscription-key=) required (401); when
 *       AURUM_SIM_MISO_API_KEY is set the key must equal it. 100 calls/minute per key (429 +
 *       Retry-After; AURUM_SIM_MISO_RATE_PER_MIN) and 24,000 calls/day (403 quota;
 *       AURUM_SIM_MISO_QUOTA_PER_DAY). Pages of AURUM_SIM_MISO_PAGE_SIZE (default 1000) rows.
 *
 * The handler's prefix is "/" (the three MISO hosts share no path prefix); paths of other
 * operators have longer prefixes and never reach it, unknown paths get MISO's 404. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/sim.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ISO "miso"
#define EST_OFF (5 * AU_HOUR)

struct mnode {
  const char *name, *type;
};
static const struct mnode mnodes[] = {
    {"ARKANSAS.HUB", "Hub"},   {"ILLINOIS.HUB", "Hub"},  {"INDIANA.HUB", "Hub"},  {"LOUISIANA.HUB", "Hub"},
    {"MICHIGAN.HUB", "Hub"},   {"MINN.HUB", "Hub"},      {"MS.HUB", "Hub"},       {"TEXAS.HUB", "Hub"},
    {"AMIL.BGS6", "Loadzone"}, {"CIN.CINERGY", "Loadzone"}, {"CONS.CETR", "Loadzone"}, {"NSP.NSPP", "Loadzone"},
    {"MHEB", "Interface"},     {"ONT", "Interface"},     {"PJM", "Interface"},    {"SOCO", "Interface"},
    {"ALTW.WELLS1", "Gennode"}, {"AMMO.LABADIE1", "Gennode"}, {"EES.WATERFORD3", "Gennode"},
    {"MEC.NEAL4", "Gennode"},
};
static const char *const regions[] = {"North", "Central", "South"};
static const char *const lrzs[] = {"LRZ1", "LRZ2_7", "LRZ3_5", "LRZ4", "LRZ6", "LRZ8_9_10"};

/* --- limits (per key; real clock) ---------------------------------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char key[64];
  int64_t minute, day;
  int nmin, nday;
} lim[16];

static int env_int(const char *name, int def) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : def;
}

/* 0 ok, else -1 quota exhausted, or seconds to wait (rate). */
static int limits_check(const char *key) {
  int per_min = env_int("AURUM_SIM_MISO_RATE_PER_MIN", 100), per_day = env_int("AURUM_SIM_MISO_QUOTA_PER_DAY", 24000);
  au_time now = au_now_real();
  int64_t minute = now / AU_MINUTE, day = now / AU_DAY;
  int rc = 0;
  pthread_mutex_lock(&mu);
  size_t s = 0;
  bool found = false;
  for (size_t i = 0; i < AU_ARRAY_LEN(lim) && !found; i++)
    if (!strncmp(lim[i].key, key, sizeof(lim[i].key) - 1) && lim[i].key[0]) {
      s = i;
      found = true;
    }
  if (!found) {
    for (size_t i = 0; i < AU_ARRAY_LEN(lim); i++)
      if (!lim[i].key[0] || lim[i].minute < lim[s].minute)
        s = i;
    memset(&lim[s], 0, sizeof(lim[s]));
    snprintf(lim[s].key, sizeof(lim[s].key), "%s", key);
  }
  if (lim[s].minute != minute) {
    lim[s].minute = minute;
    lim[s].nmin = 0;
  }
  if (lim[s].day != day) {
    lim[s].day = day;
    lim[s].nday = 0;
  }
  if (per_day > 0 && lim[s].nday >= per_day)
    rc = -1;
  else if (per_min > 0 && lim[s].nmin >= per_min)
    rc = (int)(((minute + 1) * AU_MINUTE - now + AU_USEC - 1) / AU_USEC);
  else {
    lim[s].nmin++;
    lim[s].nday++;
  }
  pthread_mutex_unlock(&mu);
  return rc;
}

/* --- errors -------------------------------------------------------------------------- */

static void blob_not_found(struct au_sim_ctx *ctx, struct au_sim_reply *rep, int status, const char *code,
                           const char *msg) {
  struct au_civil c;
  au_time_to_civil(au_sim_now(ctx), &c);
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->content_type = "application/xml";
  rep->rows = 0;
  if (au_buf_printf(&rep->body,
                    "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s\n"
                    "RequestId:00000000-0000-0000-0000-000000000000\nTime:%04d-%02d-%02dT%02d:%02d:%02d.0000000Z"
                    "</Message></Error>",
                    code, msg, c.year, c.month, c.day, c.hour, c.minute, c.second))
    au_buf_reset(&rep->body);
}

static void apim_error(struct au_sim_reply *rep, int status, const char *msg) {
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->content_type = "application/json";
  rep->rows = 0;
  if (au_buf_printf(&rep->body, "{ \"statusCode\": %d, \"message\": ", status) ||
      au_buf_add_json_str(&rep->body, msg, strlen(msg)) || au_buf_adds(&rep->body, " }"))
    au_buf_reset(&rep->body);
}

static void miso_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status, const char *message,
                       struct au_sim_reply *rep) {
  if (!strncmp(req->path, "/marketreports/", 15)) {
    if (status == 404)
      blob_not_found(ctx, rep, 404, "BlobNotFound", "The specified blob does not exist.");
    else
      blob_not_found(ctx, rep, status, status == 503 ? "ServerBusy" : "InternalError", message);
  } else {
    apim_error(rep, status, message);
  }
}

/* --- numbers as MISO writes them: 2 decimals, no trailing zeros, no leading zero --- */
static int add_miso_num(struct au_buf *b, double v) {
  long long c = llround(v * 100.0);
  char tmp[40];
  bool neg = c < 0;
  unsigned long long u = neg ? (unsigned long long)(-c) : (unsigned long long)c;
  unsigned long long ip = u / 100, fp = u % 100;
  size_t n = 0;
  if (neg && u)
    tmp[n++] = '-';
  if (ip || !fp)
    n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%llu", ip);
  if (fp) {
    tmp[n++] = '.';
    tmp[n++] = (char)('0' + fp / 10);
    if (fp % 10)
      tmp[n++] = (char)('0' + fp % 10);
  }
  return au_buf_add(b, tmp, n);
}

/* --- market reports -------------------------------------------------------------------- */

enum rkind { R_DA_EXPOST, R_DA_EXANTE, R_RT_FINAL };

static void report_parts(struct au_sim_ctx *ctx, enum rkind k, const char *node, au_time t, double p[3]) {
  double parts[AU_SIM_NCOMPONENTS];
  if (k == R_RT_FINAL) {
    double s[AU_SIM_NCOMPONENTS] = {0};
    for (int i = 0; i < 12; i++) {
      au_sim_served_parts(ctx, ISO, node, t + i * 5 * AU_MINUTE, parts);
      for (int c = 0; c < AU_SIM_NCOMPONENTS; c++)
        s[c] += parts[c];
    }
    for (int c = 0; c < AU_SIM_NCOMPONENTS; c++)
      parts[c] = s[c] / 12.0;
  } else {
    au_sim_served_parts(ctx, ISO, node, t, parts);
    if (k == R_DA_EXANTE) /* ex-ante differs from ex-post by a small deterministic amount */
      parts[AU_SIM_LMP] += 0.8 * au_sim_gauss(au_sim_seed(ctx), "miso.exante", t);
  }
  p[0] = parts[AU_SIM_LMP];
  p[1] = parts[AU_SIM_CONGESTION];
  p[2] = parts[AU_SIM_LOSS];
}

static int report(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *f = req->path + 15;
  int y, m, d, n = 0;
  char name[64];
  if (sscanf(f, "%4d%2d%2d_%63[a-z_].csv%n", &y, &m, &d, name, &n) != 4 || f[n] || m < 1 || m > 12 || d < 1 ||
      d > 31) {
    blob_not_found(ctx, rep, 404, "BlobNotFound", "The specified blob does not exist.");
    return 0;
  }
  enum rkind k;
  const char *title;
  if (!strcmp(name, "da_expost_lmp")) {
    k = R_DA_EXPOST;
    title = "Day Ahead Market ExPost LMPs";
  } else if (!strcmp(name, "da_exante_lmp")) {
    k = R_DA_EXANTE;
    title = "Day Ahead Market ExAnte LMPs";
  } else if (!strcmp(name, "rt_lmp_final")) {
    k = R_RT_FINAL;
    title = "Realtime Market LMPs";
  } else {
    blob_not_found(ctx, rep, 404, "BlobNotFound", "The specified blob does not exist.");
    return 0;
  }
  int64_t day = au_days_from_civil(y, m, d);
  au_time d0 = day * AU_DAY + EST_OFF, now = au_sim_now(ctx);
  au_time avail = k == R_RT_FINAL ? d0 + 5 * AU_DAY : d0 - 11 * AU_HOUR; /* D+5 00:00 / D-1 13:00 EST */
  if (now < avail) {
    blob_not_found(ctx, rep, 404, "BlobNotFound", "The specified blob does not exist.");
    return 0;
  }
  rep->content_type = "application/octet-stream";
  struct au_buf *b = &rep->body;
  int rc = au_buf_printf(b, "%s\n%02d/%02d/%04d\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\nNode,Type,Value",
                         title, m, d, y);
  for (int h = 1; h <= 24 && !rc; h++)
    rc = au_buf_printf(b, ",HE %d", h);
  if (!rc)
    rc = au_buf_addc(b, '\n');
  static const char *const vals[3] = {"LMP", "MCC", "MLC"};
  double (*p)[24][3] = au_xmalloc(AU_ARRAY_LEN(mnodes) * sizeof(*p));
  for (size_t i = 0; i < AU_ARRAY_LEN(mnodes); i++)
    for (int h = 0; h < 24; h++)
      report_parts(ctx, k, mnodes[i].name, d0 + (au_time)h * AU_HOUR, p[i][h]);
  for (int v = 0; v < 3 && !rc; v++)
    for (size_t i = 0; i < AU_ARRAY_LEN(mnodes) && !rc; i++) {
      rc = au_buf_printf(b, "%s,%s,%s", mnodes[i].name, mnodes[i].type, vals[v]);
      for (int h = 0; h < 24 && !rc; h++) {
        rc = au_buf_addc(b, ',');
        if (!rc)
          rc = add_miso_num(b, p[i][h][v]);
      }
      if (!rc)
        rc = au_buf_addc(b, '\n');
    }
  free(p);
  if (rc)
    return rc;
  rep->rows = AU_ARRAY_LEN(mnodes) * 3;
  char lm[64];
  struct au_civil c;
  au_time_to_civil(avail + 4 * AU_MINUTE, &c);
  static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char *const mn[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  snprintf(lm, sizeof(lm), "%s, %02d %s %04d %02d:%02d:%02d GMT",
           wd[au_weekday(au_days_from_civil(c.year, c.month, c.day)) - 1], c.day, mn[c.month - 1], c.year, c.hour,
           c.minute, c.second);
  return au_sim_reply_header(rep, "Last-Modified", lm);
}

/* --- Data Exchange ----------------------------------------------------------------------- */

static bool parse_date(const char *s, int64_t *day, const char **rest) {
  int y, m, d, n = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 || m > 12 || d < 1 || d > 31)
    return false;
  *day = au_days_from_civil(y, m, d);
  *rest = s + n;
  return true;
}

static int add_est(struct au_buf *b, au_time t) {
  struct au_civil c;
  au_time_to_civil(t - EST_OFF, &c);
  return au_buf_printf(b, "%04d-%02d-%02d %02d:%02d:00.000", c.year, c.month, c.day, c.hour, c.minute);
}

static int page_json(struct au_buf *b, long page, long size, long total) {
  long pages = total ? (total + size - 1) / size : 0;
  return au_buf_printf(b, "],\"page\":{\"pageNumber\":%ld,\"pageSize\":%ld,\"totalElements\":%ld,\"totalPages\":%ld,"
                          "\"lastPage\":%s}}",
                       page, size, total, pages, page >= pages ? "true" : "false");
}

static int api(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep, bool lgi) {
  const char *key = req->header(req, "Ocp-Apim-Subscription-Key");
  if (!key || !*key)
    key = req->arg(req, "subscription-key");
  const char *want = getenv(lgi ? "AURUM_SIM_MISO_LGI_API_KEY" : "AURUM_SIM_MISO_API_KEY");
  if (lgi && (!want || !*want))
    want = getenv("AURUM_SIM_MISO_API_KEY");
  if (!key || !*key) {
    apim_error(rep, 401, "Access denied due to missing subscription key. Make sure to include subscription key when "
                         "making requests to an API.");
    return 0;
  }
  if (want && *want && strcmp(key, want)) {
    apim_error(rep, 401, "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
                         "active subscription.");
    return 0;
  }
  int lc = limits_check(key);
  if (lc < 0) {
    apim_error(rep, 403, "Out of call volume quota. Quota will be replenished in 23:59:59.");
    return 0;
  }
  if (lc > 0) {
    char msg[80], ra[16];
    snprintf(msg, sizeof(msg), "Rate limit is exceeded. Try again in %d seconds.", lc);
    apim_error(rep, 429, msg);
    snprintf(ra, sizeof(ra), "%d", lc);
    return au_sim_reply_header(rep, "Retry-After", ra);
  }
  const char *p = req->path + (lgi ? strlen("/lgi/v1/real-time/") : strlen("/pricing/v1/real-time/"));
  int64_t day;
  const char *rest;
  if (!parse_date(p, &day, &rest) || strcmp(rest, lgi ? "/demand/actual" : "/lmp-expost")) {
    apim_error(rep, 404, "Resource not found");
    return 0;
  }
  long page = 1;
  const char *pv = req->arg(req, "pageNumber");
  if (pv && *pv) {
    char *e;
    page = strtol(pv, &e, 10);
    if (*e || page < 1) {
      apim_error(rep, 400, "pageNumber must be a positive integer");
      return 0;
    }
  }
  long size = env_int("AURUM_SIM_MISO_PAGE_SIZE", 1000);
  if (size < 1)
    size = 1000;
  au_time d0 = day * AU_DAY + EST_OFF, now = au_sim_now(ctx);
  struct au_buf *b = &rep->body;
  long idx = 0, rows = 0, lo = (page - 1) * size + 1, hi = page * size;
  int rc = au_buf_adds(b, "{\"data\":[");
  if (lgi) {
    const char *geo = req->arg(req, "geoResolution");
    bool lrz = geo && !strcmp(geo, "localResourceZone");
    if (geo && !lrz && strcmp(geo, "region")) {
      au_buf_reset(b);
      apim_error(rep, 400, "geoResolution must be region or localResourceZone");
      return 0;
    }
    const char *const *locs = lrz ? lrzs : regions;
    size_t nl = lrz ? AU_ARRAY_LEN(lrzs) : AU_ARRAY_LEN(regions);
    for (int h = 0; h < 24 && !rc; h++) {
      au_time t = d0 + (au_time)h * AU_HOUR;
      if (t + AU_HOUR > now)
        break;
      for (size_t k = 0; k < nl && !rc; k++) {
        if (++idx < lo || idx > hi)
          continue;
        double mw = au_sim_served_load(ctx, ISO, locs[k], t);
        rc = au_buf_printf(b, "%s{\"interval\":\"%d\",\"timeInterval\":{\"resolution\":\"hourly\",\"start\":\"",
                           rows++ ? "," : "", h + 1);
        if (!rc)
          rc = add_est(b, t);
        if (!rc)
          rc = au_buf_adds(b, "\",\"end\":\"");
        if (!rc)
          rc = add_est(b, t + AU_HOUR);
        if (!rc)
          rc = au_buf_printf(b, "\",\"value\":\"%d\"},\"%s\":\"%s\",\"load\":%.2f}", h + 1,
                             lrz ? "localResourceZone" : "region", locs[k], mw);
      }
    }
  } else {
    const char *pf = req->arg(req, "preliminaryFinal");
    const char *res = req->arg(req, "timeResolution");
    if ((pf && strcmp(pf, "Preliminary") && strcmp(pf, "Final")) || (res && strcmp(res, "5min") && strcmp(res, "hourly"))) {
      au_buf_reset(b);
      apim_error(rep, 400, "invalid preliminaryFinal or timeResolution");
      return 0;
    }
    bool fin = !pf || !strcmp(pf, "Final");
    bool five = res && !strcmp(res, "5min");
    au_time step = five ? 5 * AU_MINUTE : AU_HOUR;
    au_time ready = fin ? now - AU_DAY : now; /* final prices a day after the interval */
    for (au_time t = d0; t < d0 + AU_DAY && !rc; t += step) {
      if (t + step > ready)
        break;
      for (size_t k = 0; k < AU_ARRAY_LEN(mnodes) && !rc; k++) {
        if (++idx < lo || idx > hi)
          continue;
        double parts[AU_SIM_NCOMPONENTS];
        au_sim_served_parts(ctx, ISO, mnodes[k].name, t, parts);
        struct au_civil c;
        au_time_to_civil(t - EST_OFF, &c);
        rc = au_buf_printf(b, "%s{\"interval\":\"%02d:%02d\",\"timeInterval\":{\"resolution\":\"%s\",\"start\":\"",
                           rows++ ? "," : "", c.hour, c.minute, five ? "5min" : "hourly");
        if (!rc)
          rc = add_est(b, t);
        if (!rc)
          rc = au_buf_adds(b, "\",\"end\":\"");
        if (!rc)
          rc = add_est(b, t + step);
        if (!rc)
          rc = au_buf_printf(b, "\",\"value\":\"%04d-%02d-%02d %02d:%02d\"},\"node\":\"%s\",\"lmp\":%.5f,\"mcc\":%.5f,"
                                "\"mec\":%.5f,\"mlc\":%.5f}",
                             c.year, c.month, c.day, c.hour, c.minute, mnodes[k].name, parts[AU_SIM_LMP],
                             parts[AU_SIM_CONGESTION], parts[AU_SIM_ENERGY], parts[AU_SIM_LOSS]);
      }
    }
  }
  /* idx counts every published row: the loops run to the end and format only the page */
  if (!rc)
    rc = page_json(b, page, size, idx);
  if (rc)
    return rc;
  rep->rows = (size_t)rows;
  return 0;
}

static int miso_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
    apim_error(rep, 405, "Method not allowed");
    return 0;
  }
  if (!strncmp(req->path, "/marketreports/", 15))
    return report(ctx, req, rep);
  if (!strncmp(req->path, "/pricing/v1/real-time/", 22))
    return api(ctx, req, rep, false);
  if (!strncmp(req->path, "/lgi/v1/real-time/", 18))
    return api(ctx, req, rep, true);
  au_sim_reply_error(rep, 404, "no simulated operator serves this path");
  return 0;
}

const struct au_sim_handler au_sim_miso = {"miso", "/", miso_handle, miso_error};

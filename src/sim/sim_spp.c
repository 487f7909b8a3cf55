/* sim_spp.c - SPP Marketplace file browser (portal.spp.org/file-browser-api/download/...):
 * DA and RTBM LMP by settlement location CSVs at their real paths.
 *
 *   GET /file-browser-api/download/da-lmp-by-location?path=/YYYY/MM/By_Day/DA-LMP-SL-YYYYMMDD0100.csv
 *   GET /file-browser-api/download/rtbm-lmp-by-location?path=/YYYY/MM/By_Interval/DD/RTBM-LMP-SL-YYYYMMDDHHMM[d].csv
 *
 * DA files of operating day D are published at 13:00 Central on D-1; an RT file when its
 * interval has ended; earlier (and for malformed names) the answer is 404. RT files are
 * named by the interval end on the Central wall clock, in the folder of the interval
 * start's local date; the second occurrence of a repeated fall-back wall time carries a
 * "d" suffix. Files for operating days in 2026 or later use the upper-case layout with a
 * BAA column and M/D/YYYY H:MM stamps; earlier ones the 2025 layout. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPP_ISO "spp"
#define SPP_TZ "America/Chicago"
#define SPP_PREFIX "/file-browser-api/download/"

/* A cut of the real settlement-location roster (names and pnodes as SPP writes them). */
static const char *const spp_locs[][2] = {
    {"AEC", "SOUC"},
    {"AECC_CSWS", "CSWS_AECC_LA"},
    {"AECC_ELKINS", "CSWSELKINSUNELKINS_RA"},
    {"AECC_FITZHUGH", "CSWSFITZHUGHPLT1"},
    {"AECI", "AECI"},
    {"AEPM_CSWS", "CSWS_LA"},
    {"ALTW", "MISO"},
    {"AMRN", "MISO"},
    {"ANTELOPE", "SPSANTELOPEUNANT1_RA"},
    {"BEPM_ER01", "BEPM_ER01_LA"},
    {"BLKW", "BLKW"},
    {"BLUECANYON1", "WFECBLUCAN14UNUN1_BLUCAN14_RA"},
    {"BUFFALO_DUNES_WIND", "SPSFINNEY1UNBUFFDUNE_WIND_RA"},
    {"CANADIAN_HILLS_1", "OKGECIMARRONUNCANADN1_WIND_RA"},
    {"CASS_CO_1", "OPPDCASSCNTYUN1_RA"},
    {"COWP", "COWP_LA"},
    {"EES", "MISO"},
    {"ERCOTE", "ERCOTE"},
    {"ERCOTN", "ERCOTN"},
    {"GRDA_HUB", "GRDA_HUB"},
    {"KCPLHUB", "KCPLHUB"},
    {"MISO", "MISO"},
    {"PJM", "PJM"},
    {"SPA", "SPA"},
    {"SPPNORTH_HUB", "SPPNORTH_H"},
    {"SPPSOUTH_HUB", "SPPSOUTH_H"},
    {"TVA", "TVA"},
    {"WR_LA", "WR_LA"},
};

static void not_found(struct au_sim_reply *rep, const char *what) {
  au_buf_reset(&rep->body);
  rep->status = 404;
  rep->content_type = "application/json";
  rep->rows = 0;
  if (au_buf_printf(&rep->body, "{\"status\":404,\"error\":\"Not Found\",\"message\":\"File not found: %.200s\"}",
                    what))
    au_buf_reset(&rep->body);
}

static int num(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* "MM/DD/YYYY HH:MM:SS" (2025 layout) or "M/D/YYYY H:MM" (2026 layout). */
static int add_stamp(struct au_buf *b, const struct au_civil *c, bool upper) {
  if (upper)
    return au_buf_printf(b, "%d/%d/%04d %d:%02d", c->month, c->day, c->year, c->hour, c->minute);
  return au_buf_printf(b, "%02d/%02d/%04d %02d:%02d:%02d", c->month, c->day, c->year, c->hour, c->minute,
                       c->second);
}

/* Rows of one interval (end `end`, length `minutes`) for every location. */
static int add_interval(struct au_sim_ctx *ctx, struct au_buf *b, const struct au_tz *tz, au_time end, int minutes,
                        bool upper) {
  struct au_civil lc, uc;
  au_tz_to_local(tz, end, &lc);
  au_time_to_civil(end, &uc);
  au_time start = end - (au_time)minutes * AU_MINUTE;
  int rc = 0;
  for (size_t i = 0; i < AU_ARRAY_LEN(spp_locs) && !rc; i++) {
    double parts[AU_SIM_NCOMPONENTS];
    au_sim_served_parts(ctx, SPP_ISO, spp_locs[i][0], start, parts);
    double e = round(parts[AU_SIM_ENERGY] * 1e4) / 1e4, c = round(parts[AU_SIM_CONGESTION] * 1e4) / 1e4,
           l = round(parts[AU_SIM_LOSS] * 1e4) / 1e4;
    rc = add_stamp(b, &lc, upper);
    if (!rc)
      rc = au_buf_addc(b, ',');
    if (!rc)
      rc = add_stamp(b, &uc, upper);
    if (!rc)
      rc = au_buf_printf(b, ",%s%s,%s,%.4f,%.4f,%.4f,%.4f\r\n", upper ? "SPP," : "", spp_locs[i][0],
                         spp_locs[i][1], e + c + l, l, c, e);
  }
  return rc;
}

static int header(struct au_buf *b, bool upper) {
  return au_buf_adds(b, upper ? "INTERVAL,GMTINTERVALEND,BAA,SETTLEMENT_LOCATION,PNODE,LMP,MLC,MCC,MEC\r\n"
                              : "Interval,GMTIntervalEnd,Settlement Location,Pnode,LMP,MLC,MCC,MEC\r\n");
}

static int da_file(struct au_sim_ctx *ctx, const char *path, struct au_sim_reply *rep) {
  /* /YYYY/MM/By_Day/DA-LMP-SL-YYYYMMDD0100.csv */
  int fy, fm, y, m, d;
  if (strlen(path) != 42 || path[0] != '/' || num(path + 1, 4, &fy) || path[5] != '/' || num(path + 6, 2, &fm) ||
      strncmp(path + 8, "/By_Day/DA-LMP-SL-", 18) != 0 || num(path + 26, 4, &y) || num(path + 30, 2, &m) ||
      num(path + 32, 2, &d) || strcmp(path + 34, "0100.csv") != 0 || fy != y || fm != m || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    not_found(rep, path);
    return 0;
  }
  const struct au_tz *tz = au_tz_get(SPP_TZ, NULL);
  int64_t day = au_days_from_civil(y, m, d);
  int ny, nm, nd, py, pm, pd;
  au_civil_from_days(day + 1, &ny, &nm, &nd);
  au_civil_from_days(day - 1, &py, &pm, &pd);
  au_time t0 = au_tz_day_start(tz, y, m, d), t1 = au_tz_day_start(tz, ny, nm, nd);
  au_time published;
  au_tz_from_local(tz, py, pm, pd, 13, 0, 0, AU_FOLD_EARLIER, true, &published);
  if (au_sim_now(ctx) < published) {
    not_found(rep, path);
    return 0;
  }
  bool upper = y >= 2026;
  struct au_buf *b = &rep->body;
  size_t hours = (size_t)((t1 - t0) / AU_HOUR);
  int rc = au_buf_grow(b, 128 + hours * AU_ARRAY_LEN(spp_locs) * 110);
  if (!rc)
    rc = header(b, upper);
  for (au_time t = t0; t < t1 && !rc; t += AU_HOUR)
    rc = add_interval(ctx, b, tz, t + AU_HOUR, 60, upper);
  if (rc)
    return rc;
  rep->content_type = "text/csv";
  rep->rows = hours * AU_ARRAY_LEN(spp_locs);
  return 0;
}

static int rt_file(struct au_sim_ctx *ctx, const char *path, struct au_sim_reply *rep) {
  /* /YYYY/MM/By_Interval/DD/RTBM-LMP-SL-YYYYMMDDHHMM[d].csv */
  int fy, fm, fd, y, m, d, hh, mi;
  size_t n = strlen(path);
  bool dflag = n == 53 && path[48] == 'd';
  if ((n != 52 && !dflag) || path[0] != '/' || num(path + 1, 4, &fy) || path[5] != '/' || num(path + 6, 2, &fm) ||
      strncmp(path + 8, "/By_Interval/", 13) != 0 || num(path + 21, 2, &fd) ||
      strncmp(path + 23, "/RTBM-LMP-SL-", 13) != 0 || num(path + 36, 4, &y) || num(path + 40, 2, &m) ||
      num(path + 42, 2, &d) || num(path + 44, 2, &hh) || num(path + 46, 2, &mi) ||
      strcmp(path + (dflag ? 49 : 48), ".csv") != 0 || m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 ||
      mi > 59 || mi % 5 != 0) {
    not_found(rep, path);
    return 0;
  }
  const struct au_tz *tz = au_tz_get(SPP_TZ, NULL);
  au_time end, early;
  if (au_tz_from_local(tz, y, m, d, hh, mi, 0, dflag ? AU_FOLD_LATER : AU_FOLD_EARLIER, false, &end) != 0 ||
      (dflag && (au_tz_from_local(tz, y, m, d, hh, mi, 0, AU_FOLD_EARLIER, false, &early) != 0 || early == end))) {
    not_found(rep, path); /* a wall time that does not exist, or a "d" name outside the repeated hour */
    return 0;
  }
  struct au_civil sc;
  au_tz_to_local(tz, end - 5 * AU_MINUTE, &sc);
  if (sc.year != fy || sc.month != fm || sc.day != fd || end > au_sim_now(ctx)) {
    not_found(rep, path);
    return 0;
  }
  bool upper = sc.year >= 2026;
  struct au_buf *b = &rep->body;
  int rc = header(b, upper);
  if (!rc)
    rc = add_interval(ctx, b, tz, end, 5, upper);
  if (rc)
    return rc;
  rep->content_type = "text/csv";
  rep->rows = AU_ARRAY_LEN(spp_locs);
  return 0;
}

static int spp_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *fs = req->path + strlen(SPP_PREFIX);
  const char *path = req->arg(req, "path");
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    au_sim_reply_error(rep, 405, "Method not allowed");
    return 0;
  }
  if (!path || !*path) {
    au_sim_reply_error(rep, 400, "path is required");
    return 0;
  }
  if (strcmp(fs, "da-lmp-by-location") == 0)
    return da_file(ctx, path, rep);
  if (strcmp(fs, "rtbm-lmp-by-location") == 0)
    return rt_file(ctx, path, rep);
  not_found(rep, req->path);
  return 0;
}

const struct au_sim_handler au_sim_spp = {"spp", SPP_PREFIX, spp_handle, NULL};

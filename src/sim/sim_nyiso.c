/* sim_nyiso.c - NYISO MIS public CSVs (mis.nyiso.com/public/csv/...): LBMP (damlbmp,
 * realtime, rtlbmp; _zone and _gen files), pal (actual load) and isolf (load forecast),
 * as daily CSVs and monthly ZIP archives.
 *
 *   GET /public/csv/<ds>/<YYYYMMDD><ds>[_zone|_gen].csv
 *   GET /public/csv/<ds>/<YYYYMM01><ds>[_zone|_gen]_csv.zip
 *
 * Eastern prevailing time, interval beginning, quoted stamps and names, CRLF lines. The
 * fall-back hour is written twice in time order (EDT then EST) with no flag, the spring
 * day lacks 02:00. Congestion is written with NYISO's sign (LBMP = energy + losses -
 * published congestion). Publication: damlbmp of day D at 11:00 ET on D-1 (all hours);
 * isolf of D at 00:00 ET on D (6 days from D); realtime/rtlbmp/pal rows appear once the
 * interval has ended (files exist from the start of D). Before that: 404. A monthly ZIP
 * holds the daily files of that month published so far (404 if none). Daily files are
 * served for any date (the real MIS removes them after ~10-14 days). */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/zipwrite.h"
#include "sim/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NY_ISO "nyiso"
#define NY_TZ "America/New_York"
#define NY_PREFIX "/public/csv/"

struct loc {
  const char *name;
  int ptid;
};

static const struct loc ny_zones[] = {
    {"CAPITL", 61757}, {"CENTRL", 61754}, {"DUNWOD", 61760}, {"GENESE", 61753}, {"H Q", 61844},
    {"HUD VL", 61758}, {"LONGIL", 61762}, {"MHK VL", 61756}, {"MILLWD", 61759}, {"N.Y.C.", 61761},
    {"NORTH", 61755},  {"NPX", 61845},    {"O H", 61846},    {"PJM", 61847},    {"WEST", 61752},
};
/* Simulated generator buses (names and PTIDs are synthetic). */
static const struct loc ny_gens[] = {
    {"SIM GEN ALBANY 1", 90001},  {"SIM GEN BUFFALO 1", 90002}, {"SIM GEN HUDSON 1", 90003},
    {"SIM GEN LI 1", 90004},      {"SIM GEN NYC 1", 90005},     {"SIM GEN NYC 2", 90006},
    {"SIM GEN OSWEGO 1", 90007},  {"SIM GEN ROCH 1", 90008},
};
/* Internal load zones (pal and isolf), in file order; isolf writes them title-cased. */
static const struct loc ny_load_zones[] = {
    {"CAPITL", 61757}, {"CENTRL", 61754}, {"DUNWOD", 61760}, {"GENESE", 61753}, {"HUD VL", 61758}, {"LONGIL", 61762},
    {"MHK VL", 61756}, {"MILLWD", 61759}, {"N.Y.C.", 61761}, {"NORTH", 61755},  {"WEST", 61752},
};
static const char *const isolf_cols[] = {"Capitl", "Centrl", "Dunwod", "Genese", "Hud Vl", "Longil",
                                         "Mhk Vl", "Millwd", "N.Y.C.", "North",  "West"};

enum ds_kind { D_DAM, D_RT5, D_RTH, D_PAL, D_ISOLF };

static void not_found(struct au_sim_reply *rep) {
  au_buf_reset(&rep->body);
  rep->status = 404;
  rep->content_type = "text/html";
  rep->rows = 0;
  if (au_buf_adds(&rep->body, "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
                              "<p>The requested URL was not found on this server.</p></body></html>\n"))
    au_buf_reset(&rep->body);
}

static int add_stamp(struct au_buf *b, const struct au_civil *c, bool secs) {
  if (secs)
    return au_buf_printf(b, "\"%02d/%02d/%04d %02d:%02d:%02d\"", c->month, c->day, c->year, c->hour, c->minute,
                         c->second);
  return au_buf_printf(b, "\"%02d/%02d/%04d %02d:%02d\"", c->month, c->day, c->year, c->hour, c->minute);
}

static double r2(double v) {
  double r = round(v * 100.0) / 100.0;
  return r == 0 ? 0.0 : r;
}

/* Append the daily file of ds for local day `day` as published at `now`. Returns 0 with
 * *published false when the file does not exist yet. */
static int day_file(struct au_sim_ctx *ctx, enum ds_kind k, bool gen, int64_t day, struct au_buf *b, bool *published,
                    size_t *rows) {
  const struct au_tz *tz = au_tz_get(NY_TZ, NULL);
  au_time now = au_sim_now(ctx);
  int y, m, d, ny, nm, nd, py, pm, pd;
  au_civil_from_days(day, &y, &m, &d);
  au_civil_from_days(day + 1, &ny, &nm, &nd);
  au_civil_from_days(day - 1, &py, &pm, &pd);
  au_time t0 = au_tz_day_start(tz, y, m, d), t1 = au_tz_day_start(tz, ny, nm, nd);
  *published = false;
  *rows = 0;
  if (k == D_DAM) {
    au_time pub;
    au_tz_from_local(tz, py, pm, pd, 11, 0, 0, AU_FOLD_EARLIER, true, &pub);
    if (now < pub)
      return 0;
  } else if (now < t0) {
    return 0;
  }
  *published = true;
  int rc = 0;
  struct au_civil c;
  if (k == D_DAM || k == D_RT5 || k == D_RTH) {
    const struct loc *locs = gen ? ny_gens : ny_zones;
    size_t nloc = gen ? AU_ARRAY_LEN(ny_gens) : AU_ARRAY_LEN(ny_zones);
    au_time step = k == D_RT5 ? 5 * AU_MINUTE : AU_HOUR;
    rc = au_buf_grow(b, (size_t)((t1 - t0) / step) * nloc * 70 + 200);
    if (!rc)
      rc = au_buf_adds(b, "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\","
                          "\"Marginal Cost Congestion ($/MWHr)\"\r\n");
    for (au_time t = t0; t < t1 && !rc; t += step) {
      if (k != D_DAM && t + step > now)
        break;
      au_tz_to_local(tz, t, &c);
      for (size_t i = 0; i < nloc && !rc; i++) {
        double parts[AU_SIM_NCOMPONENTS];
        au_sim_served_parts(ctx, NY_ISO, locs[i].name, t, parts);
        double e = r2(parts[AU_SIM_ENERGY]), cg = r2(parts[AU_SIM_CONGESTION]), l = r2(parts[AU_SIM_LOSS]);
        rc = add_stamp(b, &c, k == D_RT5);
        if (!rc)
          rc = au_buf_printf(b, ",\"%s\",%d,%.2f,%.2f,%.2f\r\n", locs[i].name, locs[i].ptid, r2(e + l + cg), l,
                             r2(-cg));
        (*rows)++;
      }
    }
    return rc;
  }
  if (k == D_PAL) {
    size_t nloc = AU_ARRAY_LEN(ny_load_zones);
    rc = au_buf_grow(b, 288 * nloc * 60 + 100);
    if (!rc)
      rc = au_buf_adds(b, "\"Time Stamp\",\"Time Zone\",\"Name\",\"PTID\",\"Load\"\r\n");
    for (au_time t = t0; t < t1 && !rc; t += 5 * AU_MINUTE) {
      if (t + 5 * AU_MINUTE > now)
        break;
      au_tz_to_local(tz, t, &c);
      const char *zn = au_tz_is_dst(tz, t) ? "EDT" : "EST";
      for (size_t i = 0; i < nloc && !rc; i++) {
        double mw = round(au_sim_served_load(ctx, NY_ISO, ny_load_zones[i].name, t) * 10.0) / 10.0;
        rc = add_stamp(b, &c, true);
        if (!rc)
          rc = au_buf_printf(b, ",\"%s\",\"%s\",%d,%.1f\r\n", zn, ny_load_zones[i].name, ny_load_zones[i].ptid, mw);
        (*rows)++;
      }
    }
    return rc;
  }
  /* isolf: issued at the start of D, 6 local days of hourly forecasts */
  int ey, em, ed;
  au_civil_from_days(day + 6, &ey, &em, &ed);
  au_time t6 = au_tz_day_start(tz, ey, em, ed);
  rc = au_buf_grow(b, (size_t)((t6 - t0) / AU_HOUR) * 100 + 200);
  if (!rc)
    rc = au_buf_adds(b, "\"Time Stamp\"");
  for (size_t i = 0; i < AU_ARRAY_LEN(isolf_cols) && !rc; i++)
    rc = au_buf_printf(b, ",\"%s\"", isolf_cols[i]);
  if (!rc)
    rc = au_buf_adds(b, ",\"NYISO\"\r\n");
  uint64_t seed = au_sim_seed(ctx);
  for (au_time t = t0; t < t6 && !rc; t += AU_HOUR) {
    au_tz_to_local(tz, t, &c);
    rc = add_stamp(b, &c, false);
    long long total = 0;
    double horizon = (double)(t - t0) / (double)AU_DAY;
    for (size_t i = 0; i < AU_ARRAY_LEN(ny_load_zones) && !rc; i++) {
      double mw = au_sim_served_load(ctx, NY_ISO, ny_load_zones[i].name, t);
      char tag[64];
      snprintf(tag, sizeof(tag), "nyiso.isolf.%lld.%s", (long long)day, ny_load_zones[i].name);
      long long f = llround(mw * (1.0 + (0.01 + 0.005 * horizon) * au_sim_gauss(seed, tag, t)));
      total += f;
      rc = au_buf_printf(b, ",%lld", f);
    }
    if (!rc)
      rc = au_buf_printf(b, ",%lld\r\n", total);
    (*rows)++;
  }
  return rc;
}

static int nyiso_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    au_sim_reply_error(rep, 405, "Method not allowed");
    return 0;
  }
  static const struct {
    const char *ds;
    enum ds_kind k;
    bool lbmp;
  } dss[] = {{"damlbmp", D_DAM, true},
             {"realtime", D_RT5, true},
             {"rtlbmp", D_RTH, true},
             {"pal", D_PAL, false},
             {"isolf", D_ISOLF, false}};
  const char *rest = req->path + strlen(NY_PREFIX);
  const char *slash = strchr(rest, '/');
  if (!slash) {
    not_found(rep);
    return 0;
  }
  size_t dl = (size_t)(slash - rest);
  const char *file = slash + 1;
  for (size_t i = 0; i < AU_ARRAY_LEN(dss); i++) {
    if (strlen(dss[i].ds) != dl || strncmp(rest, dss[i].ds, dl) != 0)
      continue;
    /* <YYYYMMDD><ds>[_zone|_gen](.csv|_csv.zip) */
    size_t fl = strlen(file);
    int y = 0, m = 0, d = 0;
    for (int k = 0; k < 8; k++)
      if (k >= (int)fl || file[k] < '0' || file[k] > '9') {
        not_found(rep);
        return 0;
      }
    y = atoi((char[]){file[0], file[1], file[2], file[3], 0});
    m = (file[4] - '0') * 10 + (file[5] - '0');
    d = (file[6] - '0') * 10 + (file[7] - '0');
    const char *p = file + 8;
    if (strncmp(p, dss[i].ds, dl) != 0) {
      not_found(rep);
      return 0;
    }
    p += dl;
    bool gen = false;
    if (dss[i].lbmp) {
      if (strncmp(p, "_zone", 5) == 0) {
        p += 5;
      } else if (strncmp(p, "_gen", 4) == 0) {
        gen = true;
        p += 4;
      } else {
        not_found(rep);
        return 0;
      }
    }
    bool zip = strcmp(p, "_csv.zip") == 0;
    if ((!zip && strcmp(p, ".csv") != 0) || m < 1 || m > 12 || d < 1 || d > 31 || (zip && d != 1)) {
      not_found(rep);
      return 0;
    }
    int64_t day = au_days_from_civil(y, m, d);
    int cy, cm, cd;
    au_civil_from_days(day, &cy, &cm, &cd);
    if (cd != d) {
      not_found(rep);
      return 0;
    }
    if (!zip) {
      bool pub;
      size_t rows;
      int rc = day_file(ctx, dss[i].k, gen, day, &rep->body, &pub, &rows);
      if (rc)
        return rc;
      if (!pub) {
        not_found(rep);
        return 0;
      }
      rep->content_type = "text/csv";
      rep->rows = rows;
      return 0;
    }
    /* monthly archive: every published day of the month */
    char *names[31];
    char *datas[31];
    size_t lens[31], n = 0, total = 0;
    int rc = 0;
    for (int64_t dd = day; rc == 0; dd++) {
      int yy, mm, ddd;
      au_civil_from_days(dd, &yy, &mm, &ddd);
      if (mm != m)
        break;
      struct au_buf tmp;
      au_buf_init(&tmp, AU_SIM_MAX_BODY);
      bool pub;
      size_t rows;
      rc = day_file(ctx, dss[i].k, gen, dd, &tmp, &pub, &rows);
      if (rc || !pub) {
        au_buf_release(&tmp);
        continue;
      }
      char nm[64];
      snprintf(nm, sizeof(nm), "%04d%02d%02d%s%s.csv", yy, mm, ddd, dss[i].ds,
               dss[i].lbmp ? (gen ? "_gen" : "_zone") : "");
      names[n] = au_xstrdup(nm);
      lens[n] = tmp.len;
      datas[n] = au_buf_detach(&tmp, &lens[n]);
      if (!datas[n])
        datas[n] = au_xstrdup("");
      total += rows;
      n++;
    }
    if (rc == 0 && n == 0) {
      not_found(rep);
    } else if (rc == 0) {
      struct au_err err = AU_ERR_INIT;
      rc = au_zipw_build_at(&rep->body, (const char *const *)names, (const char *const *)datas, lens, n,
                            au_sim_now(ctx), au_sim_ctx_config(ctx)->zip_level, &err); /* deterministic bytes */
      rep->content_type = "application/zip";
      rep->rows = total;
    }
    for (size_t k = 0; k < n; k++) {
      free(names[k]);
      free(datas[k]);
    }
    return rc;
  }
  not_found(rep);
  return 0;
}

const struct au_sim_handler au_sim_nyiso = {"nyiso", NY_PREFIX, nyiso_handle, NULL};

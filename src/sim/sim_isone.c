/* sim_isone.c - ISO-NE web services v1.1 (webservices.iso-ne.com/api/v1.1/...): hourly and
 * five-minute LMPs, hourly system load, hourly load forecast (every vintage) and the
 * generation fuel mix, as XML-style JSON with BeginDate in ISO-8601 with its offset.
 *
 * HTTP Basic auth: without valid credentials every path answers 401 with
 * WWW-Authenticate. The accepted user:password is $AURUM_SIM_ISONE_AUTH when set, else
 * any non-empty user and password. Publication (against the simulator clock):
 *   DA day D        from 13:30 Eastern on D-1
 *   RT prelim       intervals that have ended (hourly and 5-min)
 *   RT final        whole day D from 48 h after the day's end
 *   load            hours that have ended
 *   load forecast   vintages issued at 04:15 and 09:15 Eastern on D-2, D-1 and D (if issued)
 *   fuel mix        5-minute snapshots that have begun
 * An unpublished day answers 200 with an empty container ({"HourlyLmps":""}). */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO "isone"
#define TZNAME "America/New_York"
#define PREFIX "/api/v1.1/"

struct loc {
  int id;
  const char *type;
  char name[40];
};

#define N_NETWORK 41
#define N_LOCS (1 + 8 + 6 + N_NETWORK)
static const struct {
  int id;
  const char *type, *name;
} fixed_locs[] = {
    {4000, "HUB", ".H.INTERNAL_HUB"},       {4001, "LOAD ZONE", ".Z.MAINE"},
    {4002, "LOAD ZONE", ".Z.NEWHAMPSHIRE"}, {4003, "LOAD ZONE", ".Z.VERMONT"},
    {4004, "LOAD ZONE", ".Z.CONNECTICUT"},  {4005, "LOAD ZONE", ".Z.RHODEISLAND"},
    {4006, "LOAD ZONE", ".Z.SEMASS"},       {4007, "LOAD ZONE", ".Z.WCMASS"},
    {4008, "LOAD ZONE", ".Z.NEMASSBOST"},   {4010, "EXTERNAL NODE", ".I.SALBRYNB345 1"},
    {4011, "EXTERNAL NODE", ".I.ROSETON 345 1"}, {4012, "EXTERNAL NODE", ".I.HQ_P1_P2345 5"},
    {4013, "EXTERNAL NODE", ".I.HQHIGATE120 2"}, {4014, "EXTERNAL NODE", ".I.SHOREHAM138 99"},
    {4017, "EXTERNAL NODE", ".I.NRTHPORT138 5"}, {321, "NETWORK NODE", "UN.FRNKLNSQ13.810CC"},
};

static void get_locs(struct loc *out) {
  size_t n = 0;
  for (size_t i = 0; i < AU_ARRAY_LEN(fixed_locs); i++, n++) {
    out[n].id = fixed_locs[i].id;
    out[n].type = fixed_locs[i].type;
    snprintf(out[n].name, sizeof(out[n].name), "%s", fixed_locs[i].name);
  }
  for (int k = 1; n < N_LOCS; n++, k++) {
    out[n].id = 10000 + 17 * k;
    out[n].type = "NETWORK NODE";
    snprintf(out[n].name, sizeof(out[n].name), "LD.NODE%03d    115", k);
  }
}

static void isone_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status, const char *message,
                        struct au_sim_reply *rep) {
  AU_UNUSED(ctx);
  AU_UNUSED(req);
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->rows = 0;
  rep->content_type = "text/html;charset=utf-8";
  if (status == 401)
    (void)au_sim_reply_header(rep, "WWW-Authenticate", "Basic realm=\"webservices.iso-ne.com\"");
  if (au_buf_printf(&rep->body, "<html><head><title>Error %d</title></head><body><h1>HTTP Status %d</h1><p>", status,
                    status) ||
      au_buf_adds(&rep->body, message) || au_buf_adds(&rep->body, "</p></body></html>\n"))
    au_buf_reset(&rep->body);
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decode "Basic xxx" into out; false when malformed. */
static bool basic_decode(const char *h, char *out, size_t outsz) {
  if (!h || strncasecmp(h, "Basic ", 6) != 0)
    return false;
  h += 6;
  while (*h == ' ')
    h++;
  size_t n = strlen(h), o = 0;
  if (n == 0 || n % 4 || n / 4 * 3 >= outsz)
    return false;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    for (int k = 0; k < 4; k++) {
      v[k] = h[i + k] == '=' && i + 4 == n && k >= 2 ? 0 : b64val(h[i + k]);
      if (v[k] < 0)
        return false;
    }
    unsigned x = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out[o++] = (char)(x >> 16);
    if (h[i + 2] != '=')
      out[o++] = (char)(x >> 8 & 255);
    if (h[i + 3] != '=')
      out[o++] = (char)(x & 255);
  }
  out[o] = 0;
  return strlen(out) == o;
}

static bool authorized(const struct au_sim_request *req) {
  char up[512];
  if (!basic_decode(req->header(req, "Authorization"), up, sizeof(up)))
    return false;
  const char *want = getenv("AURUM_SIM_ISONE_AUTH");
  if (want && *want)
    return strcmp(up, want) == 0;
  const char *c = strchr(up, ':');
  return c && c > up && c[1];
}

/* "2024-11-03T01:00:00.000-05:00" */
static int add_begin(struct au_buf *b, const char *field, const struct au_tz *tz, au_time t) {
  struct au_civil c;
  au_tz_to_local(tz, t, &c);
  int off = au_tz_offset(tz, t) / 60;
  char sign = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  return au_buf_printf(b, "\"%s\":\"%04d-%02d-%02dT%02d:%02d:%02d.000%c%02d:%02d\"", field, c.year, c.month, c.day,
                       c.hour, c.minute, c.second, sign, off / 60, off % 60);
}

static bool parse_ymd(const char *s, int *y, int *m, int *d) {
  if (strlen(s) != 8)
    return false;
  for (int i = 0; i < 8; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  *m = (s[4] - '0') * 10 + (s[5] - '0');
  *d = (s[6] - '0') * 10 + (s[7] - '0');
  int ry, rm, rd;
  au_civil_from_days(au_days_from_civil(*y, *m, *d), &ry, &rm, &rd);
  return *m >= 1 && *m <= 12 && *d >= 1 && ry == *y && rm == *m && rd == *d && *y >= 2000 && *y < 2100;
}

/* The request after the prefix, split on '/', ".json" removed from the last part. */
struct parts {
  char buf[256];
  char *p[12];
  int n;
};

static bool split(const char *path, struct parts *sp) {
  size_t n = strlen(path);
  if (n < 5 || n >= sizeof(sp->buf) || strcmp(path + n - 5, ".json") != 0)
    return false;
  memcpy(sp->buf, path, n - 5);
  sp->buf[n - 5] = 0;
  sp->n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(sp->buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
    if (sp->n == 12)
      return false;
    sp->p[sp->n++] = tok;
  }
  return true;
}

struct lmp_q {
  bool five, final, da;
  int y, m, d;
  int loc;       /* LocId or -1 for all */
  int starthour; /* local hour or -1 */
};

/* Price parts in cents: [lmp, energy, congestion, loss]. */
static void price_cents(struct au_sim_ctx *ctx, const struct loc *l, au_time t, bool da, bool final, long long c[4]) {
  double parts[AU_SIM_NCOMPONENTS];
  char node[64];
  snprintf(node, sizeof(node), "%s%s", da ? "DA:" : "", l->name);
  au_sim_served_parts(ctx, ISO, node, t, parts);
  c[1] = llround(parts[AU_SIM_ENERGY] * 100.0);
  c[2] = llround(parts[AU_SIM_CONGESTION] * 100.0);
  c[3] = llround(parts[AU_SIM_LOSS] * 100.0);
  if (l->type[0] == 'H' || !strcmp(l->type, "LOAD ZONE"))
    c[2] = c[2] / 4; /* hubs and zones are averages: less congestion */
  if (final) /* settlement corrections move the energy part */
    c[1] += llround(au_sim_gauss(au_sim_seed(ctx), "isone.final", t + l->id) * 40.0);
  c[0] = c[1] + c[2] + c[3];
}

static int empty(struct au_sim_reply *rep, const char *container) {
  rep->rows = 0;
  return au_buf_printf(&rep->body, "{\"%s\":\"\"}", container);
}

static int lmp(struct au_sim_ctx *ctx, const struct lmp_q *q, struct au_sim_reply *rep) {
  const struct au_tz *tz = au_tz_get(TZNAME, NULL);
  au_time now = au_sim_now(ctx);
  int64_t day = au_days_from_civil(q->y, q->m, q->d);
  int ny, nm, nd, py, pm, pd;
  au_civil_from_days(day + 1, &ny, &nm, &nd);
  au_civil_from_days(day - 1, &py, &pm, &pd);
  au_time ds = au_tz_day_start(tz, q->y, q->m, q->d), de = au_tz_day_start(tz, ny, nm, nd);
  const char *container = q->five ? "FiveMinLmps" : "HourlyLmps", *elem = q->five ? "FiveMinLmp" : "HourlyLmp";
  struct loc locs[N_LOCS];
  get_locs(locs);
  size_t nl = N_LOCS, first = 0;
  if (q->loc >= 0) {
    bool found = false;
    for (size_t i = 0; i < N_LOCS; i++)
      if (locs[i].id == q->loc) {
        first = i;
        found = true;
      }
    if (!found) {
      isone_error(ctx, NULL, 404, "Unknown location", rep);
      return 0;
    }
    nl = 1;
  }
  /* publication */
  au_time limit = now; /* intervals must end by this */
  if (q->da) {
    au_time pub = au_tz_day_start(tz, py, pm, pd) + 13 * AU_HOUR + 30 * AU_MINUTE;
    limit = now >= pub ? de : ds;
  } else if (q->final) {
    limit = now >= de + 2 * AU_DAY ? de : ds;
  }
  au_time step = q->five ? 5 * AU_MINUTE : AU_HOUR;
  struct au_buf *b = &rep->body;
  size_t rows = 0;
  int rc = au_buf_grow(b, 64 + (size_t)((de - ds) / step) * nl * 180);
  if (!rc)
    rc = au_buf_printf(b, "{\"%s\":{\"%s\":[", container, elem);
  for (au_time t = ds; t < de && !rc; t += step) {
    if (t + step > limit)
      break;
    if (q->starthour >= 0) {
      struct au_civil c;
      au_tz_to_local(tz, t, &c);
      if (c.hour != q->starthour)
        continue;
    }
    for (size_t i = first; i < first + nl && !rc; i++) {
      long long c[4];
      price_cents(ctx, &locs[i], t, q->da, q->final, c);
      if (rows++)
        rc = au_buf_addc(b, ',');
      if (!rc)
        rc = au_buf_addc(b, '{');
      if (!rc)
        rc = add_begin(b, "BeginDate", tz, t);
      if (!rc)
        rc = au_buf_printf(b, ",\"Location\":{\"@LocId\":\"%d\",\"@LocType\":\"%s\",\"$\":", locs[i].id,
                           locs[i].type);
      if (!rc)
        rc = au_buf_add_json_str(b, locs[i].name, strlen(locs[i].name));
      static const char *const names[4] = {"},\"LmpTotal\":", ",\"EnergyComponent\":", ",\"CongestionComponent\":",
                                           ",\"LossComponent\":"};
      for (int k = 0; k < 4 && !rc; k++) {
        rc = au_buf_adds(b, names[k]);
        if (!rc)
          rc = au_sim_buf_fixed2(b, (double)c[k] / 100.0);
      }
      if (!rc)
        rc = au_buf_addc(b, '}');
    }
  }
  if (!rc)
    rc = au_buf_adds(b, "]}}");
  if (rc)
    return rc;
  if (rows == 0) {
    au_buf_reset(b);
    return empty(rep, container);
  }
  rep->rows = rows;
  return 0;
}

static int sysload(struct au_sim_ctx *ctx, int y, int m, int d, struct au_sim_reply *rep) {
  const struct au_tz *tz = au_tz_get(TZNAME, NULL);
  au_time now = au_sim_now(ctx);
  int ny, nm, nd;
  au_civil_from_days(au_days_from_civil(y, m, d) + 1, &ny, &nm, &nd);
  au_time ds = au_tz_day_start(tz, y, m, d), de = au_tz_day_start(tz, ny, nm, nd);
  struct au_buf *b = &rep->body;
  size_t rows = 0;
  int rc = au_buf_adds(b, "{\"HourlySystemLoads\":{\"HourlySystemLoad\":[");
  for (au_time t = ds; t < de && t + AU_HOUR <= now && !rc; t += AU_HOUR) {
    long long mw = llround(au_sim_served_load(ctx, ISO, NULL, t) * 1000.0);
    long long ard = llround((150.0 + 100.0 * au_sim_unit(au_sim_seed(ctx), "isone.ard", t)) * 1000.0);
    if (rows++)
      rc = au_buf_addc(b, ',');
    if (!rc)
      rc = au_buf_addc(b, '{');
    if (!rc)
      rc = add_begin(b, "BeginDate", tz, t);
    if (!rc)
      rc = au_buf_printf(b,
                         ",\"Location\":{\"@LocId\":\"32\",\"$\":\"NEPOOL AREA\"},\"Load\":%lld.%03lld,"
                         "\"NativeLoad\":%lld.%03lld,\"ArdDemand\":%lld.%03lld}",
                         mw / 1000, mw % 1000, (mw - ard) / 1000, (mw - ard) % 1000, ard / 1000, ard % 1000);
  }
  if (!rc)
    rc = au_buf_adds(b, "]}}");
  if (rc)
    return rc;
  if (!rows) {
    au_buf_reset(b);
    return empty(rep, "HourlySystemLoads");
  }
  rep->rows = rows;
  return 0;
}

static int forecast(struct au_sim_ctx *ctx, int y, int m, int d, struct au_sim_reply *rep) {
  const struct au_tz *tz = au_tz_get(TZNAME, NULL);
  au_time now = au_sim_now(ctx);
  int64_t day = au_days_from_civil(y, m, d);
  int ny, nm, nd;
  au_civil_from_days(day + 1, &ny, &nm, &nd);
  au_time ds = au_tz_day_start(tz, y, m, d), de = au_tz_day_start(tz, ny, nm, nd);
  au_time vint[6];
  int nv = 0;
  for (int k = -2; k <= 0; k++) {
    int vy, vm, vd;
    au_civil_from_days(day + k, &vy, &vm, &vd);
    static const int hm[2][2] = {{4, 15}, {9, 15}};
    for (int j = 0; j < 2; j++) {
      au_time v;
      au_tz_from_local(tz, vy, vm, vd, hm[j][0], hm[j][1], 0, AU_FOLD_EARLIER, true, &v);
      if (v <= now)
        vint[nv++] = v;
    }
  }
  struct au_buf *b = &rep->body;
  size_t rows = 0;
  int rc = au_buf_adds(b, "{\"HourlyLoadForecasts\":{\"HourlyLoadForecast\":[");
  for (au_time t = ds; t < de && !rc; t += AU_HOUR) {
    double base = au_sim_load(au_sim_seed(ctx), ISO, NULL, t);
    for (int k = 0; k < nv && !rc; k++) {
      double err = 0.03 * au_sim_gauss(au_sim_seed(ctx), "isone.fcst", t ^ vint[k]);
      long long mw = llround(base * (1.0 + err) / 10.0) * 10;
      if (rows++)
        rc = au_buf_addc(b, ',');
      if (!rc)
        rc = au_buf_addc(b, '{');
      if (!rc)
        rc = add_begin(b, "BeginDate", tz, t);
      if (!rc)
        rc = au_buf_addc(b, ',');
      if (!rc)
        rc = add_begin(b, "CreationDate", tz, vint[k]);
      if (!rc)
        rc = au_buf_printf(b, ",\"LoadMw\":%lld,\"NetLoadMw\":%lld}", mw, mw);
    }
  }
  if (!rc)
    rc = au_buf_adds(b, "]}}");
  if (rc)
    return rc;
  if (!rows) {
    au_buf_reset(b);
    return empty(rep, "HourlyLoadForecasts");
  }
  rep->rows = rows;
  return 0;
}

static int fuelmix(struct au_sim_ctx *ctx, int y, int m, int d, struct au_sim_reply *rep) {
  static const struct {
    const char *rollup, *fuel;
    double share;
  } fuels[] = {{"Hydro", "Hydro", 0.05},          {"Natural Gas", "Natural Gas", 0.55},
               {"Nuclear", "Nuclear", 0.22},      {"Oil", "Oil", 0.002},
               {"Other", "Other", 0.001},         {"Renewables", "Landfill Gas", 0.003},
               {"Renewables", "Refuse", 0.025},   {"Renewables", "Solar", 0.04},
               {"Renewables", "Wind", 0.06},      {"Renewables", "Wood", 0.02}};
  const struct au_tz *tz = au_tz_get(TZNAME, NULL);
  au_time now = au_sim_now(ctx);
  int ny, nm, nd;
  au_civil_from_days(au_days_from_civil(y, m, d) + 1, &ny, &nm, &nd);
  au_time ds = au_tz_day_start(tz, y, m, d), de = au_tz_day_start(tz, ny, nm, nd);
  uint64_t seed = au_sim_seed(ctx);
  struct au_buf *b = &rep->body;
  size_t rows = 0;
  int rc = au_buf_adds(b, "{\"GenFuelMixes\":{\"GenFuelMix\":[");
  for (au_time g = ds; g < de && !rc; g += 5 * AU_MINUTE) {
    au_time t = g + (au_time)(au_sim_hash(seed, "isone.fm.sec", g) % 240) * AU_USEC; /* irregular stamps */
    if (t > now)
      break;
    double load = au_sim_load(seed, ISO, NULL, g);
    for (size_t k = 0; k < AU_ARRAY_LEN(fuels) && !rc; k++) {
      long long mw = llround(load * fuels[k].share * (1.0 + 0.05 * au_sim_gauss(seed, fuels[k].fuel, g)));
      bool marg = k == 1 || (k == 8 && au_sim_unit(seed, "isone.fm.marg", g) < 0.3);
      if (rows++)
        rc = au_buf_addc(b, ',');
      if (!rc)
        rc = au_buf_addc(b, '{');
      if (!rc)
        rc = add_begin(b, "BeginDate", tz, t);
      if (!rc)
        rc = au_buf_printf(b, ",\"GenMw\":%lld,\"FuelCategoryRollup\":\"%s\",\"FuelCategory\":\"%s\",\"MarginalFlag\":\"%c\"}",
                           mw < 0 ? 0 : mw, fuels[k].rollup, fuels[k].fuel, marg ? 'Y' : 'N');
    }
  }
  if (!rc)
    rc = au_buf_adds(b, "]}}");
  if (rc)
    return rc;
  if (!rows) {
    au_buf_reset(b);
    return empty(rep, "GenFuelMixes");
  }
  rep->rows = rows;
  return 0;
}

static bool parse_int(const char *s, int lo, int hi, int *out) {
  if (!*s || strlen(s) > 6)
    return false;
  int v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    v = v * 10 + (*p - '0');
  }
  *out = v;
  return v >= lo && v <= hi;
}

static int isone_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  if (!authorized(req)) {
    isone_error(ctx, req, 401, "This request requires HTTP authentication.", rep);
    return 0;
  }
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    isone_error(ctx, req, 405, "Method not allowed", rep);
    return 0;
  }
  struct parts sp;
  rep->content_type = "application/json";
  if (!split(req->path + strlen(PREFIX), &sp) || sp.n < 3)
    goto notfound;
  char **p = sp.p;
  int n = sp.n, y, m, d;
  if (!strcmp(p[0], "hourlylmp") || !strcmp(p[0], "fiveminutelmp")) {
    struct lmp_q q = {.five = p[0][0] == 'f', .loc = -1, .starthour = -1};
    int i = 1;
    if (!q.five) {
      if (n < 5)
        goto notfound;
      q.da = !strcmp(p[1], "da");
      if (!q.da && strcmp(p[1], "rt"))
        goto notfound;
      if (!strcmp(p[2], "final"))
        q.final = true;
      else if (q.da || strcmp(p[2], "prelim"))
        goto notfound;
      i = 3;
    } else if (!strcmp(p[1], "final") || !strcmp(p[1], "prelim")) {
      q.final = p[1][0] == 'f';
      i = 2;
    }
    if (i + 1 >= n || strcmp(p[i], "day") || !parse_ymd(p[i + 1], &q.y, &q.m, &q.d))
      goto notfound;
    i += 2;
    if (i + 1 < n && !strcmp(p[i], "location") && parse_int(p[i + 1], 0, 999999, &q.loc))
      i += 2;
    else if (q.five && i + 1 < n && !strcmp(p[i], "starthour") && parse_int(p[i + 1], 0, 23, &q.starthour))
      i += 2;
    if (i != n || (q.five && q.loc < 0 && q.starthour < 0))
      goto notfound;
    return lmp(ctx, &q, rep);
  }
  if (!strcmp(p[0], "hourlysysload") && n == 3 && !strcmp(p[1], "day") && parse_ymd(p[2], &y, &m, &d))
    return sysload(ctx, y, m, d, rep);
  if (!strcmp(p[0], "hourlyloadforecast") && n == 4 && !strcmp(p[1], "all") && !strcmp(p[2], "day") &&
      parse_ymd(p[3], &y, &m, &d))
    return forecast(ctx, y, m, d, rep);
  if (!strcmp(p[0], "genfuelmix") && n == 3 && !strcmp(p[1], "day") && parse_ymd(p[2], &y, &m, &d))
    return fuelmix(ctx, y, m, d, rep);
notfound:
  isone_error(ctx, req, 404, "The requested resource is not available.", rep);
  return 0;
}

const struct au_sim_handler au_sim_isone = {"isone", PREFIX, isone_handle, isone_error};

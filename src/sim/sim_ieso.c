/* sim_ieso.c - IESO public report server (reports-public.ieso.ca/public/<Report>/...), served
 * under /ieso/public/ because AESO's simulator owns the /public/ prefix: point
 * AURUM_IESO_BASE at http://HOST:PORT/ieso/public. Files:
 *   DAHourlyEnergyLMP/PUB_DAHourlyEnergyLMP_YYYYMMDD[_vN].csv
 *   RealtimeEnergyLMP/PUB_RealtimeEnergyLMP_YYYYMMDDHH[_vN].csv
 *   DAHourlyOntarioZonalPrice/PUB_DAHourlyOntarioZonalPrice_YYYYMMDD[_vN].xml
 *   RealtimeOntarioZonalPrice/PUB_RealtimeOntarioZonalPrice_YYYYMMDDHH[_vN].xml
 *   PriceHOEPPredispOR/PUB_PriceHOEPPredispOR_YYYY[_vN].csv
 *   Demand/PUB_Demand_YYYY[_vN].csv
 * Hours 1-24 EST (UTC-5) all year. Publication against the simulator clock: DA files for D
 * from 13:00 EST on D-1; real-time hourly files once their first interval has ended (with the
 * intervals ended so far); yearly files up to the last ended hour. The LMP and zonal reports
 * exist from delivery date 2025-05-01 (market renewal); HOEP ends with 2025-04-30. Anything
 * else is 404. Revisions: _v1 holds the model values; when a /_sim/revise covers the file,
 * _v2 holds the revised values. The unversioned name is the newest version; a version past
 * the newest is 404. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO "ieso"
#define PREFIX "/ieso/public/"
#define MRP_DAY 20209 /* 2025-05-01 as days since 1970-01-01 */

static const char *const hubs[] = {"BRUCE:HUB", "EAST:HUB", "ESSA:HUB", "NIAGARA:HUB", "NORTHEAST:HUB",
                                   "NORTHWEST:HUB", "OTTAWA:HUB", "SOUTHWEST:HUB", "TORONTO:HUB", "WEST:HUB"};
#define N_NODES 40
#define N_LOCS (10 + N_NODES)

static void loc_name(int i, char *buf, size_t n) {
  if (i < 10)
    snprintf(buf, n, "%s", hubs[i]);
  else
    snprintf(buf, n, "NODE%03d.AG", i - 9);
}

static au_time est_hour(int64_t day, int h) { return day * AU_DAY + 5 * AU_HOUR + (au_time)(h - 1) * AU_HOUR; }

static void ieso_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status, const char *message,
                       struct au_sim_reply *rep) {
  AU_UNUSED(ctx);
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->rows = 0;
  rep->content_type = "text/html; charset=iso-8859-1";
  if (au_buf_printf(&rep->body,
                    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>%d</title>\n"
                    "</head><body>\n<h1>%s</h1>\n<p>",
                    status, status == 404 ? "Not Found" : "Error") ||
      au_buf_adds(&rep->body, message) || au_buf_adds(&rep->body, " (") ||
      au_buf_adds(&rep->body, req ? req->path : "") || au_buf_adds(&rep->body, ")</p>\n</body></html>\n"))
    au_buf_reset(&rep->body);
}

/* Price parts in cents [lmp, energy, congestion, loss]; served (with revisions) or model. */
static void cents(struct au_sim_ctx *ctx, const char *node, au_time t, bool served, long long c[4]) {
  double p[AU_SIM_NCOMPONENTS];
  if (served)
    au_sim_served_parts(ctx, ISO, node, t, p);
  else
    au_sim_price_parts(au_sim_seed(ctx), ISO, node, t, p);
  c[1] = llround(p[AU_SIM_ENERGY] * 100.0);
  c[2] = llround(p[AU_SIM_CONGESTION] * 100.0);
  c[3] = llround(p[AU_SIM_LOSS] * 100.0);
  c[0] = c[1] + c[2] + c[3];
}

static int put2(struct au_buf *b, long long c) { return au_sim_buf_fixed2(b, (double)c / 100.0); }

static int created(struct au_buf *b, au_time now, bool xml) {
  struct au_civil c;
  au_time_to_civil(now - 5 * AU_HOUR, &c);
  if (xml)
    return au_buf_printf(b, "<CreatedAt>%04d-%02d-%02dT%02d:%02d:%02d</CreatedAt>\n", c.year, c.month, c.day, c.hour,
                         c.minute, c.second);
  return au_buf_printf(b, "CREATED AT %04d/%02d/%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
                       c.second);
}

struct file {
  const char *report;
  int64_t day;  /* daily / hourly: delivery day */
  int hour;     /* hourly: 1..24 */
  int year;     /* yearly */
  int version;  /* 0 = unversioned */
  au_time now;
};

/* Whether any served value in [a, b) (step) differs from the model (a revision covers it). */
static bool revised(struct au_sim_ctx *ctx, au_time a, au_time b, au_time step) {
  for (au_time t = a; t < b; t += step)
    if (au_sim_revision_delta(ctx, ISO, t) != 0.0)
      return true;
  return false;
}

static int xml_head(struct au_buf *b, const char *doc, const char *title, au_time now) {
  int rc = au_buf_printf(b,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document docID=\"%s\" "
                         "xmlns=\"http://www.ieso.ca/schema\" "
                         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<DocHeader>\n<DocTitle>%s</DocTitle>\n"
                         "<DocRevision>1</DocRevision>\n<DocConfidentiality>\n<DocConfClass>PUB</DocConfClass>\n"
                         "</DocConfidentiality>\n",
                         doc, title);
  if (!rc)
    rc = created(b, now, true);
  if (!rc)
    rc = au_buf_adds(b, "</DocHeader>\n<DocBody>\n");
  return rc;
}

static int serve(struct au_sim_ctx *ctx, const struct file *f, struct au_sim_reply *rep) {
  struct au_buf *b = &rep->body;
  au_time now = f->now;
  bool daily = f->year == 0;
  int y, m, d;
  if (daily)
    au_civil_from_days(f->day, &y, &m, &d);
  else
    y = f->year, m = d = 1;
  au_time a, e, step = AU_HOUR; /* span of the file's intervals */
  bool rt = !strcmp(f->report, "RealtimeEnergyLMP") || !strcmp(f->report, "RealtimeOntarioZonalPrice");
  bool is_lmp_report = strcmp(f->report, "PriceHOEPPredispOR") && strcmp(f->report, "Demand");
  if (is_lmp_report && f->day < MRP_DAY)
    return 1;
  if (rt) {
    a = est_hour(f->day, f->hour);
    e = a + AU_HOUR;
    step = 5 * AU_MINUTE;
    if (a + step > now)
      return 1; /* not yet published */
  } else if (daily) {
    a = est_hour(f->day, 1);
    e = est_hour(f->day, 25);
    if (now < est_hour(f->day - 1, 14)) /* 13:00 EST the day before */
      return 1;
  } else {
    a = au_days_from_civil(y, 1, 1) * AU_DAY + 5 * AU_HOUR;
    e = au_days_from_civil(y + 1, 1, 1) * AU_DAY + 5 * AU_HOUR;
    if (!strcmp(f->report, "PriceHOEPPredispOR")) {
      au_time hoep_end = (au_time)MRP_DAY * AU_DAY + 5 * AU_HOUR;
      if (e > hoep_end)
        e = hoep_end;
      if (y < 2002)
        return 1;
    }
    au_time lim = now - now % AU_HOUR; /* up to the last ended hour */
    if (e > lim)
      e = lim;
    if (e <= a)
      return 1;
  }
  int latest = revised(ctx, a, e, step) ? 2 : 1;
  if (f->version > latest)
    return 1;
  bool served = f->version == 0 || f->version == 2;
  size_t rows = 0;
  int rc = 0;
  char node[64];
  if (!strcmp(f->report, "DAHourlyEnergyLMP") || !strcmp(f->report, "RealtimeEnergyLMP")) {
    rep->content_type = "text/csv";
    rc = au_buf_grow(b, (size_t)((e - a) / step) * N_LOCS * 48 + 256);
    if (!rc)
      rc = created(b, now, false);
    if (!rc)
      rc = au_buf_printf(b, " FOR %04d/%02d/%02d\r\n%s\r\n", y, m, d,
                         rt ? "Delivery Hour,Interval,Pricing Location,LMP,Energy Loss Price,Energy Congestion Price"
                            : "Delivery Hour,Pricing Location,LMP,Energy Loss Price,Energy Congestion Price");
    for (au_time t = a; t < e && !rc; t += step) {
      if (rt && t + step > now)
        break;
      int h = (int)((t - est_hour(f->day, 1)) / AU_HOUR) + 1;
      int iv = (int)((t - est_hour(f->day, h)) / (5 * AU_MINUTE)) + 1;
      for (int i = 0; i < N_LOCS && !rc; i++) {
        loc_name(i, node, sizeof(node));
        char key[80];
        snprintf(key, sizeof(key), "%s%s", rt ? "" : "DA:", node);
        long long c[4];
        cents(ctx, key, t, served, c);
        rc = rt ? au_buf_printf(b, "%d,%d,%s,", h, iv, node) : au_buf_printf(b, "%d,%s,", h, node);
        if (!rc)
          rc = put2(b, c[0]);
        if (!rc)
          rc = au_buf_addc(b, ',');
        if (!rc)
          rc = put2(b, c[3]);
        if (!rc)
          rc = au_buf_addc(b, ',');
        if (!rc)
          rc = put2(b, c[2]);
        if (!rc)
          rc = au_buf_adds(b, "\r\n");
        rows++;
      }
    }
  } else if (!strcmp(f->report, "DAHourlyOntarioZonalPrice")) {
    rep->content_type = "text/xml";
    rc = xml_head(b, "DAHourlyOntarioZonalPrice", "Day Ahead Hourly Ontario Zonal Energy Price Report", now);
    if (!rc)
      rc = au_buf_printf(b, "<DeliveryDate>%04d-%02d-%02d</DeliveryDate>\n", y, m, d);
    for (int h = 1; h <= 24 && !rc; h++) {
      long long c[4];
      cents(ctx, "DA:ONTARIO", est_hour(f->day, h), served, c);
      rc = au_buf_printf(b, "<HourlyPriceComponents>\n<PricingHour>%d</PricingHour>\n<ZonalPrice>", h);
      if (!rc)
        rc = put2(b, c[0]);
      if (!rc)
        rc = au_buf_adds(b, "</ZonalPrice>\n<LossPriceCapped>");
      if (!rc)
        rc = put2(b, c[3]);
      if (!rc)
        rc = au_buf_adds(b, "</LossPriceCapped>\n<CongestionPriceCapped>");
      if (!rc)
        rc = put2(b, c[2]);
      if (!rc)
        rc = au_buf_adds(b, "</CongestionPriceCapped>\n<Flag>DSO-RD</Flag>\n</HourlyPriceComponents>\n");
      rows++;
    }
    if (!rc)
      rc = au_buf_adds(b, "</DocBody>\n</Document>\n");
  } else if (!strcmp(f->report, "RealtimeOntarioZonalPrice")) {
    rep->content_type = "text/xml";
    rc = xml_head(b, "RealtimeOntarioZonalPrice", "Real-Time 5-Min Ontario Zonal Energy Price Report", now);
    if (!rc)
      rc = au_buf_printf(b, "<DeliveryDate>%04d-%02d-%02d</DeliveryDate>\n<DeliveryHour>%d</DeliveryHour>\n", y, m, d,
                         f->hour);
    long long sum[4] = {0, 0, 0, 0};
    int np = 0;
    for (int iv = 1; iv <= 12 && !rc; iv++) {
      au_time t = a + (au_time)(iv - 1) * step;
      rc = au_buf_printf(b, "<ZonalPrice>\n<Interval>%d</Interval>\n", iv);
      if (t + step > now) {
        if (!rc)
          rc = au_buf_adds(b, "<Flag></Flag>\n<LmpCap></LmpCap>\n<LossPriceCap></LossPriceCap>\n"
                              "<CongPriceCap></CongPriceCap>\n</ZonalPrice>\n");
        continue;
      }
      long long c[4];
      cents(ctx, "ONTARIO", t, served, c);
      for (int k = 0; k < 4; k++)
        sum[k] += c[k];
      np++;
      if (!rc)
        rc = au_buf_adds(b, "<Flag>DSO-RD</Flag>\n<LmpCap>");
      if (!rc)
        rc = put2(b, c[0]);
      if (!rc)
        rc = au_buf_adds(b, "</LmpCap>\n<LossPriceCap>");
      if (!rc)
        rc = put2(b, c[3]);
      if (!rc)
        rc = au_buf_adds(b, "</LossPriceCap>\n<CongPriceCap>");
      if (!rc)
        rc = put2(b, c[2]);
      if (!rc)
        rc = au_buf_adds(b, "</CongPriceCap>\n</ZonalPrice>\n");
      rows++;
    }
    if (!rc && np) {
      rc = au_buf_printf(b, "<AveragePrice>\n<LmpCap>%.2f</LmpCap>\n<LossPriceCap>%.2f</LossPriceCap>\n"
                            "<CongPriceCap>%.2f</CongPriceCap>\n</AveragePrice>\n",
                         (double)sum[0] / np / 100.0, (double)sum[3] / np / 100.0, (double)sum[2] / np / 100.0);
    }
    if (!rc)
      rc = au_buf_adds(b, "</DocBody>\n</Document>\n");
  } else { /* yearly CSVs */
    bool hoep = !strcmp(f->report, "PriceHOEPPredispOR");
    rep->content_type = "text/csv";
    struct au_civil cr;
    au_time_to_civil(now - 5 * AU_HOUR, &cr);
    rc = au_buf_grow(b, (size_t)((e - a) / AU_HOUR) * 64 + 512);
    if (!rc)
      rc = hoep ? au_buf_printf(b,
                                "\\\\Yearly HOEP OR Predispatch Report,,,,,,,,\n\\\\Created at %04d-%02d-%02d "
                                "%02d:%02d:%02d,,,,,,,,\n\\\\For %d,,,,,,,,\nDate,Hour,HOEP,Hour 1 Predispatch,"
                                "Hour 2 Predispatch,Hour 3 Predispatch,OR 10 Min Sync,OR 10 Min non-sync,OR 30 Min\n",
                                cr.year, cr.month, cr.day, cr.hour, cr.minute, cr.second, y)
                : au_buf_printf(b,
                                "\\Hourly Demand Report,,,\n\\Created at %04d-%02d-%02d %02d:%02d:%02d,,,\n"
                                "\\For %d,,,\nDate,Hour,Market Demand,Ontario Demand\n",
                                cr.year, cr.month, cr.day, cr.hour, cr.minute, cr.second, y);
    uint64_t seed = au_sim_seed(ctx);
    for (au_time t = a; t < e && !rc; t += AU_HOUR) {
      int64_t day = (t - 5 * AU_HOUR) / AU_DAY;
      int h = (int)((t - est_hour(day, 1)) / AU_HOUR) + 1, dy, dm, dd;
      au_civil_from_days(day, &dy, &dm, &dd);
      rc = au_buf_printf(b, "%04d-%02d-%02d,%d,", dy, dm, dd, h);
      if (hoep) {
        long long c[4];
        cents(ctx, "HOEP", t, served, c);
        if (!rc)
          rc = put2(b, c[0]);
        for (int k = 1; k <= 3 && !rc; k++) {
          rc = au_buf_addc(b, ',');
          if (!rc)
            rc = put2(b, c[0] + llround(300.0 * au_sim_gauss(seed, "ieso.pd", t + k)));
        }
        if (!rc)
          rc = au_buf_printf(b, ",%.2f,%.2f,%.2f\n", 0.15 + au_sim_unit(seed, "ieso.or1", t),
                             0.15 + au_sim_unit(seed, "ieso.or2", t) / 2, 0.1 + au_sim_unit(seed, "ieso.or3", t) / 4);
      } else {
        double ld = served ? au_sim_served_load(ctx, ISO, NULL, t) : au_sim_load(seed, ISO, NULL, t);
        long long ont = llround(ld), mkt = ont + 1500 + llround(400.0 * au_sim_gauss(seed, "ieso.exports", t));
        if (!rc)
          rc = au_buf_printf(b, "%lld,%lld\n", mkt, ont);
      }
      rows++;
    }
  }
  if (rc)
    return rc;
  rep->rows = rows;
  return 0;
}

/* Parse "<Report>/PUB_<Report>_<stamp>[_vN].<ext>". Returns false for unknown names. */
static bool parse_path(const char *path, struct file *f) {
  static const struct {
    const char *report, *ext;
    int stamp_len;
  } reports[] = {{"DAHourlyEnergyLMP", "csv", 8},         {"RealtimeEnergyLMP", "csv", 10},
                 {"DAHourlyOntarioZonalPrice", "xml", 8}, {"RealtimeOntarioZonalPrice", "xml", 10},
                 {"PriceHOEPPredispOR", "csv", 4},        {"Demand", "csv", 4}};
  for (size_t i = 0; i < AU_ARRAY_LEN(reports); i++) {
    size_t rl = strlen(reports[i].report);
    if (strncmp(path, reports[i].report, rl) || path[rl] != '/')
      continue;
    const char *p = path + rl + 1;
    if (strncmp(p, "PUB_", 4) || strncmp(p + 4, reports[i].report, rl) || p[4 + rl] != '_')
      return false;
    p += 5 + rl;
    int sl = reports[i].stamp_len;
    for (int k = 0; k < sl; k++)
      if (p[k] < '0' || p[k] > '9')
        return false;
    char st[16];
    memcpy(st, p, (size_t)sl);
    st[sl] = 0;
    p += sl;
    f->version = 0;
    if (p[0] == '_' && p[1] == 'v') {
      p += 2;
      int v = 0, nd = 0;
      while (*p >= '0' && *p <= '9' && nd < 4) {
        v = v * 10 + (*p++ - '0');
        nd++;
      }
      if (!nd || v < 1)
        return false;
      f->version = v;
    }
    if (*p != '.' || strcmp(p + 1, reports[i].ext))
      return false;
    f->report = reports[i].report;
    if (sl == 4) {
      f->year = atoi(st);
      return f->year >= 1990 && f->year < 2100;
    }
    int y = (st[0] - '0') * 1000 + (st[1] - '0') * 100 + (st[2] - '0') * 10 + (st[3] - '0');
    int m = (st[4] - '0') * 10 + (st[5] - '0'), d = (st[6] - '0') * 10 + (st[7] - '0');
    f->day = au_days_from_civil(y, m, d);
    int ry, rm, rd;
    au_civil_from_days(f->day, &ry, &rm, &rd);
    if (ry != y || rm != m || rd != d || y < 1990 || y >= 2100)
      return false;
    if (sl == 10) {
      f->hour = (st[8] - '0') * 10 + (st[9] - '0');
      if (f->hour < 1 || f->hour > 24)
        return false;
    }
    return true;
  }
  return false;
}

static int ieso_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    ieso_error(ctx, req, 405, "Method Not Allowed", rep);
    return 0;
  }
  struct file f;
  memset(&f, 0, sizeof(f));
  f.now = au_sim_now(ctx);
  if (!parse_path(req->path + strlen(PREFIX), &f)) {
    ieso_error(ctx, req, 404, "The requested URL was not found on this server.", rep);
    return 0;
  }
  int rc = serve(ctx, &f, rep);
  if (rc == 1) {
    au_buf_reset(&rep->body);
    ieso_error(ctx, req, 404, "The requested URL was not found on this server.", rep);
    return 0;
  }
  return rc;
}

const struct au_sim_handler au_sim_ieso = {"ieso", PREFIX, ieso_handle, ieso_error};

/* The real path (reports-public.ieso.ca/public/...): served as /ieso/public/... */
static int ieso_handle_real(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  char path[1024];
  snprintf(path, sizeof(path), "/ieso%s", req->path);
  struct au_sim_request r2 = *req;
  r2.path = path;
  return ieso_handle(ctx, &r2, rep);
}
const struct au_sim_handler au_sim_ieso_real = {"ieso", "/public/", ieso_handle_real, ieso_error};

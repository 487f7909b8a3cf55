/* bench_nyiso.c - parse+normalize throughput of the NYISO source on a simulated full day:
 * realtime (5-min) and damlbmp generator files with 600 generator buses (about the size of
 * NYISO's _gen roster), the zone files (15 zones), pal (11 zones, TOTAL rows added) and a
 * 6-day isolf, plus the same realtime day read from a monthly ZIP. Bodies are generated up
 * front in the MIS format (quoted); only src->parse() is timed. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/zipwrite.h"
#include "sim/model.h"
#include "sources/source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct au_tz *tz;
static au_time d0;

static void lbmp_day(struct au_buf *b, int nloc, au_time step, bool secs) {
  if (au_buf_adds(b, "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\","
                     "\"Marginal Cost Congestion ($/MWHr)\"\r\n"))
    abort();
  for (au_time t = d0; t < d0 + AU_DAY; t += step) {
    struct au_civil c;
    au_tz_to_local(tz, t, &c);
    for (int i = 0; i < nloc; i++) {
      char nm[32];
      snprintf(nm, sizeof(nm), "GEN %04d", i);
      double p[AU_SIM_NCOMPONENTS];
      au_sim_price_parts(1, "nyiso", nm, t, p);
      double e = round(p[1] * 100) / 100, g = round(p[2] * 100) / 100, l = round(p[3] * 100) / 100;
      int rc = secs ? au_buf_printf(b, "\"%02d/%02d/%04d %02d:%02d:00\"", c.month, c.day, c.year, c.hour, c.minute)
                    : au_buf_printf(b, "\"%02d/%02d/%04d %02d:%02d\"", c.month, c.day, c.year, c.hour, c.minute);
      if (rc || au_buf_printf(b, ",\"%s\",%d,%.2f,%.2f,%.2f\r\n", nm, 300000 + i, e + g + l, l, -g))
        abort();
    }
  }
}

static void run(const char *tname, const char *kind, const char *body, size_t len, int64_t cookie) {
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(tname, &src, &t, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  struct au_opts opts = {0};
  au_opts_set(&opts, "location_kind", kind);
  struct au_source_ctx ctx = {src, t, "http://x", &opts, 0, au_time_utc(2025, 1, 1, 0, 0, 0), NULL, NULL};
  struct au_batch *b = au_batch_new(t->schema, 1 << 16);
  double best = 1e9;
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = d0;
  req.win_end = d0 + AU_DAY;
  req.cookie = cookie;
  for (int rep = 0; rep < 5; rep++) {
    au_batch_clear(b);
    double t0 = au_mono();
    struct au_response resp = {200, body, len, "text/csv"};
    struct au_reqlist more = {0};
    if (src->parse(&ctx, &req, &resp, b, &more, &err)) {
      fprintf(stderr, "%s: parse: %s\n", tname, err.msg);
      exit(1);
    }
    double dt = au_mono() - t0;
    if (dt < best)
      best = dt;
  }
  printf("%-20s %-4s %-4s %8zu rows %6.1f MB  best of 5: %.4f s  %10.0f rows/s  %6.1f MB/s\n", tname, kind,
         cookie ? "zip" : "csv", b->nrows, (double)len / 1e6, best, (double)b->nrows / best,
         (double)len / 1e6 / best);
  au_batch_free(b);
  au_opts_release(&opts);
}

int main(void) {
  struct au_err err = AU_ERR_INIT;
  tz = au_tz_get("America/New_York", &err);
  if (!tz)
    return 1;
  d0 = au_tz_day_start(tz, 2024, 7, 16);
  struct au_buf b = AU_BUF_INIT(1u << 30);
  lbmp_day(&b, 600, 5 * AU_MINUTE, true);
  run("nyiso.lmp_rt_5min", "gen", b.ptr, b.len, 0);
  struct au_buf z = AU_BUF_INIT(1u << 30);
  const char *nm[] = {"20240716realtime_gen.csv"};
  const char *dt[] = {b.ptr};
  size_t ln[] = {b.len};
  if (au_zipw_build(&z, nm, dt, ln, 1, &err))
    return 1;
  run("nyiso.lmp_rt_5min", "gen", z.ptr, z.len, 1);
  au_buf_reset(&b);
  lbmp_day(&b, 15, 5 * AU_MINUTE, true);
  run("nyiso.lmp_rt_5min", "zone", b.ptr, b.len, 0);
  au_buf_reset(&b);
  lbmp_day(&b, 600, AU_HOUR, false);
  run("nyiso.lmp_da_hourly", "gen", b.ptr, b.len, 0);
  /* pal: 11 zones x 288 */
  au_buf_reset(&b);
  if (au_buf_adds(&b, "\"Time Stamp\",\"Time Zone\",\"Name\",\"PTID\",\"Load\"\r\n"))
    return 1;
  for (au_time t = d0; t < d0 + AU_DAY; t += 5 * AU_MINUTE) {
    struct au_civil c;
    au_tz_to_local(tz, t, &c);
    for (int i = 0; i < 11; i++)
      if (au_buf_printf(&b, "\"%02d/%02d/%04d %02d:%02d:00\",\"EDT\",\"ZONE%02d\",%d,%.1f\r\n", c.month, c.day, c.year,
                        c.hour, c.minute, i, 61750 + i, au_sim_load(1, "nyiso", "z", t)))
        return 1;
  }
  run("nyiso.load_actual", "-", b.ptr, b.len, 0);
  /* isolf: 6 days x 24 h x 12 columns */
  au_buf_reset(&b);
  if (au_buf_adds(&b, "\"Time Stamp\",\"Capitl\",\"Centrl\",\"Dunwod\",\"Genese\",\"Hud Vl\",\"Longil\",\"Mhk Vl\","
                      "\"Millwd\",\"N.Y.C.\",\"North\",\"West\",\"NYISO\"\r\n"))
    return 1;
  for (au_time t = d0; t < d0 + 6 * AU_DAY; t += AU_HOUR) {
    struct au_civil c;
    au_tz_to_local(tz, t, &c);
    if (au_buf_printf(&b, "\"%02d/%02d/%04d %02d:00\"", c.month, c.day, c.year, c.hour))
      return 1;
    for (int i = 0; i < 12; i++)
      if (au_buf_printf(&b, ",%d", 1000 + i * 37))
        return 1;
    if (au_buf_adds(&b, "\r\n"))
      return 1;
  }
  run("nyiso.load_forecast", "-", b.ptr, b.len, 0);
  au_buf_release(&b);
  au_buf_release(&z);
  return 0;
}

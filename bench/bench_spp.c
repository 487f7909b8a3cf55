/* bench_spp.c - parse+normalize throughput of the SPP source on a simulated full day of
 * every settlement location: the 288 RTBM interval files (1,234 locations each, the real
 * roster size, 2025 layout) and the DA file (24 hours x 1,234 locations). Bodies are
 * generated up front from the deterministic model; only src->parse() is timed. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/model.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NLOC 1234

static void gen_interval(struct au_buf *b, const struct au_tz *tz, au_time end, int minutes) {
  struct au_civil l, u;
  au_tz_to_local(tz, end, &l);
  au_time_to_civil(end, &u);
  for (int i = 0; i < NLOC; i++) {
    char sl[32], pn[32];
    snprintf(sl, sizeof(sl), "LOC_%04d", i);
    snprintf(pn, sizeof(pn), "PNODE_%04d_RA", i);
    double p[AU_SIM_NCOMPONENTS];
    au_sim_price_parts(1, "spp", sl, end - (au_time)minutes * AU_MINUTE, p);
    double e = round(p[AU_SIM_ENERGY] * 1e4) / 1e4, c = round(p[AU_SIM_CONGESTION] * 1e4) / 1e4,
           s = round(p[AU_SIM_LOSS] * 1e4) / 1e4;
    if (au_buf_printf(b, "%02d/%02d/%04d %02d:%02d:00,%02d/%02d/%04d %02d:%02d:00,%s,%s,%.4f,%.4f,%.4f,%.4f\n", l.month,
                      l.day, l.year, l.hour, l.minute, u.month, u.day, u.year, u.hour, u.minute, sl, pn, e + c + s, s,
                      c, e))
      abort();
  }
}

static const char *HDR = "Interval,GMTIntervalEnd,Settlement Location,Pnode,LMP,MLC,MCC,MEC\n";

static void run(const char *tname, struct au_buf *bodies, size_t n, size_t bytes) {
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(tname, &src, &t, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  struct au_opts opts = {0};
  struct au_source_ctx ctx = {src, t, "http://x", &opts, 0, au_time_utc(2025, 1, 1, 0, 0, 0), NULL, NULL};
  struct au_batch *b = au_batch_new(t->schema, 1 << 16);
  double best = 1e9;
  size_t rows = 0;
  for (int rep = 0; rep < 5; rep++) {
    au_batch_clear(b);
    double t0 = au_mono();
    for (size_t i = 0; i < n; i++) {
      struct au_request req;
      memset(&req, 0, sizeof(req));
      struct au_response resp = {200, bodies[i].ptr, bodies[i].len, "text/csv"};
      struct au_reqlist more = {0};
      if (src->parse(&ctx, &req, &resp, b, &more, &err)) {
        fprintf(stderr, "parse: %s\n", err.msg);
        exit(1);
      }
    }
    double dt = au_mono() - t0;
    if (dt < best)
      best = dt;
    rows = b->nrows;
  }
  printf("%-18s %4zu files %8zu rows %7.1f MB  best of 5: %.3f s  %10.0f rows/s  %6.1f MB/s\n", tname, n, rows,
         (double)bytes / 1e6, best, (double)rows / best, (double)bytes / 1e6 / best);
  au_batch_free(b);
}

int main(void) {
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get("America/Chicago", &err);
  if (!tz)
    return 1;
  au_time d0 = au_tz_day_start(tz, 2024, 7, 16);
  /* RT: 288 interval files */
  struct au_buf *rt = calloc(288, sizeof(*rt));
  size_t bytes = 0;
  for (int i = 0; i < 288; i++) {
    au_buf_init(&rt[i], 1u << 30);
    if (au_buf_adds(&rt[i], HDR))
      return 1;
    gen_interval(&rt[i], tz, d0 + (i + 1) * 5 * AU_MINUTE, 5);
    bytes += rt[i].len;
  }
  run("spp.lmp_rt_5min", rt, 288, bytes);
  /* DA: one file */
  struct au_buf da;
  au_buf_init(&da, 1u << 30);
  if (au_buf_adds(&da, HDR))
    return 1;
  for (int h = 1; h <= 24; h++)
    gen_interval(&da, tz, d0 + h * AU_HOUR, 60);
  run("spp.lmp_da_hourly", &da, 1, da.len);
  for (int i = 0; i < 288; i++)
    au_buf_release(&rt[i]);
  free(rt);
  au_buf_release(&da);
  return 0;
}

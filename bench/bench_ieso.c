/* bench_ieso.c - parse+normalize throughput of the IESO report parsers on a simulated full
 * day of every pricing location (~1,050 locations): the 24 hourly RealtimeEnergyLMP CSVs
 * (5-minute rows), the day's DAHourlyEnergyLMP CSV, and a year of the HOEP CSV. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCS 1054

static const struct au_source_ops *src;

static double parse_all(const char *table, struct au_buf *bodies, size_t nb, size_t *rows, size_t *bytes) {
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(table, &src, &t, &err))
    abort();
  struct au_opts opts = {0};
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://bench", .opts = &opts};
  struct au_reqlist q = {0};
  au_time a = au_time_utc(strcmp(table, "ieso.hoep_hourly") ? 2025 : 2024, strcmp(table, "ieso.hoep_hourly") ? 11 : 1,
                          strcmp(table, "ieso.hoep_hourly") ? 2 : 1, 5, 0, 0);
  au_time e = strcmp(table, "ieso.hoep_hourly") ? a + AU_DAY : au_time_utc(2025, 1, 1, 5, 0, 0);
  if (src->plan(&ctx, a, e, &q, &err) || q.n != nb)
    abort();
  struct au_batch *b = au_batch_new(t->schema, 1 << 16);
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    au_batch_clear(b);
    *bytes = 0;
    double t0 = au_mono();
    for (size_t i = 0; i < nb; i++) {
      struct au_response resp = {200, bodies[i].ptr, bodies[i].len, "text/csv"};
      struct au_reqlist more = {0};
      if (src->parse(&ctx, &q.v[i], &resp, b, &more, &err)) {
        fprintf(stderr, "%s: %s\n", table, err.msg);
        exit(1);
      }
      *bytes += bodies[i].len;
    }
    double dt = au_mono() - t0;
    if (dt < best)
      best = dt;
    *rows = b->nrows;
  }
  au_batch_free(b);
  au_reqlist_release(&q);
  return best;
}

static void report(const char *table, size_t rows, size_t bytes, double s) {
  printf("%-20s %9zu rows  %6.1f MB  best of 3: %.3f s  %10.0f rows/s  %6.1f MB/s\n", table, rows, (double)bytes / 1e6,
         s, (double)rows / s, (double)bytes / 1e6 / s);
}

int main(void) {
  printf("IESO parse+normalize (CSV -> canonical LMP rows), %d pricing locations\n", LOCS);
  struct au_buf rt[24];
  for (int h = 1; h <= 24; h++) {
    struct au_buf *b = &rt[h - 1];
    au_buf_init(b, 0);
    if (au_buf_adds(b, "CREATED AT 2025/11/02 00:05:00 FOR 2025/11/02\r\nDelivery Hour,Interval,Pricing Location,LMP,"
                       "Energy Loss Price,Energy Congestion Price\r\n"))
      abort();
    for (int i = 1; i <= 12; i++)
      for (int k = 0; k < LOCS; k++)
        if (au_buf_printf(b, "%d,%d,NODE%04d.AG,%.2f,%.2f,%.2f\r\n", h, i, k, 30.0 + (k % 50) * 0.3, (k % 7) * 0.05,
                          (k % 11) * -0.1))
          abort();
  }
  size_t rows, bytes;
  double s = parse_all("ieso.lmp_rt_5min", rt, 24, &rows, &bytes);
  report("ieso.lmp_rt_5min", rows, bytes, s);
  struct au_buf da;
  au_buf_init(&da, 0);
  if (au_buf_adds(&da, "CREATED AT 2025/11/01 12:31:00 FOR 2025/11/02\r\nDelivery Hour,Pricing Location,LMP,"
                       "Energy Loss Price,Energy Congestion Price\r\n"))
    abort();
  for (int h = 1; h <= 24; h++)
    for (int k = 0; k < LOCS; k++)
      if (au_buf_printf(&da, "%d,NODE%04d.AG,%.2f,%.2f,%.2f\r\n", h, k, 30.0 + (k % 50) * 0.3, (k % 7) * 0.05,
                        (k % 11) * -0.1))
        abort();
  s = parse_all("ieso.lmp_da_hourly", &da, 1, &rows, &bytes);
  report("ieso.lmp_da_hourly", rows, bytes, s);
  struct au_buf hoep;
  au_buf_init(&hoep, 0);
  if (au_buf_adds(&hoep, "\\\\Yearly HOEP OR Predispatch Report,,,,,,,,\n\\\\Created at x,,,,,,,,\n\\\\For 2024,,,,,,,,\n"
                         "Date,Hour,HOEP,Hour 1 Predispatch,Hour 2 Predispatch,Hour 3 Predispatch,OR 10 Min Sync,"
                         "OR 10 Min non-sync,OR 30 Min\n"))
    abort();
  for (int64_t d = au_days_from_civil(2024, 1, 1); d < au_days_from_civil(2025, 1, 1); d++) {
    int y, m, dd;
    au_civil_from_days(d, &y, &m, &dd);
    for (int h = 1; h <= 24; h++)
      if (au_buf_printf(&hoep, "%04d-%02d-%02d,%d,%.2f,41.03,43.00,39.59,0.15,0.15,0.15\n", y, m, dd, h, 20 + h * 0.5))
        abort();
  }
  s = parse_all("ieso.hoep_hourly", &hoep, 1, &rows, &bytes);
  report("ieso.hoep_hourly", rows, bytes, s);
  return 0;
}

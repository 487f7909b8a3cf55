/* bench_isone.c - parse+normalize throughput of the ISO-NE JSON parser on a simulated full
 * day of five-minute LMPs for every location (~1,200 pnodes x 288 intervals, the size of
 * ISO-NE's network), plus a day of hourly DA LMPs. Prints rows/s and MB/s. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 1200

static void build(struct au_buf *b, const char *cont, const char *elem, int intervals, int minutes) {
  au_buf_reset(b);
  if (au_buf_printf(b, "{\"%s\":{\"%s\":[", cont, elem))
    abort();
  size_t n = 0;
  for (int i = 0; i < intervals; i++) {
    int mins = i * minutes, h = mins / 60, m = mins % 60;
    for (int k = 0; k < NODES; k++) {
      double e = 30.0 + (i % 37) * 0.25, c = (k % 13) * 0.07 - 0.3, l = (k % 7) * 0.03 - 0.09;
      if (au_buf_printf(b,
                        "%s{\"BeginDate\":\"2024-07-01T%02d:%02d:00.000-04:00\",\"Location\":{\"@LocId\":\"%d\","
                        "\"@LocType\":\"NETWORK NODE\",\"$\":\"UN.NODE%04d 13.8\"},\"LmpTotal\":%.2f,"
                        "\"EnergyComponent\":%.2f,\"CongestionComponent\":%.2f,\"LossComponent\":%.2f}",
                        n++ ? "," : "", h, m, 10000 + k, k, e + c + l, e, c, l))
        abort();
    }
  }
  if (au_buf_adds(b, "]}}"))
    abort();
}

static void run(const char *table, const char *cont, const char *elem, int intervals, int minutes, int reps) {
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(table, &src, &t, &err))
    abort();
  struct au_buf body;
  au_buf_init(&body, 0);
  build(&body, cont, elem, intervals, minutes);
  struct au_opts opts = {0};
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://bench", .opts = &opts};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = 1;
  struct au_response resp = {200, body.ptr, body.len, "application/json"};
  struct au_batch *b = au_batch_new(t->schema, (size_t)intervals * NODES);
  double best = 1e30;
  size_t rows = 0;
  for (int r = 0; r < reps; r++) {
    au_batch_clear(b);
    struct au_reqlist more = {0};
    double t0 = au_mono();
    if (src->parse(&ctx, &req, &resp, b, &more, &err)) {
      fprintf(stderr, "parse: %s\n", err.msg);
      exit(1);
    }
    double dt = au_mono() - t0;
    if (dt < best)
      best = dt;
    rows = b->nrows;
  }
  printf("%-22s %9zu rows  %7.1f MB  best of %d: %.3f s  %10.0f rows/s  %6.1f MB/s\n", table, rows,
         (double)body.len / 1e6, reps, best, (double)rows / best, (double)body.len / 1e6 / best);
  au_batch_free(b);
  au_buf_release(&body);
}

int main(void) {
  printf("ISO-NE parse+normalize (JSON -> canonical LMP rows), %d locations\n", NODES);
  run("isone.lmp_rt_5min", "FiveMinLmps", "FiveMinLmp", 288, 5, 3);
  run("isone.lmp_da_hourly", "HourlyLmps", "HourlyLmp", 24, 60, 5);
  return 0;
}

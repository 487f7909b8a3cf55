/* bench_miso.c - parse + normalize throughput of the MISO source on a simulated full day
 * of all nodes: the da_expost_lmp market report for 2,600 nodes (3 x 2,600 CSV rows of 24
 * HE -> 62,400 LMP rows), and the Data Exchange 5-minute ex-post JSON for the same nodes
 * over one hour (31,200 rows). Bodies use the wire format of sim_miso.c and the model's
 * prices. Prints rows/s and MB/s (best of 5). */
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

#define NODES 2600

static void num(struct au_buf *b, double v) { /* MISO style: 2 decimals, ".92", "-.67" */
  long long c = llround(v * 100.0);
  char tmp[40];
  int n = snprintf(tmp, sizeof(tmp), "%s%lld.%02lld", c < 0 ? "-" : "", llabs(c) / 100, llabs(c) % 100);
  const char *s = tmp;
  if (llabs(c) < 100) { /* drop the leading zero */
    memmove(tmp + (c < 0), tmp + (c < 0) + 1, (size_t)n);
    n--;
  }
  if (au_buf_add(b, s, (size_t)n))
    abort();
}

static char *report(au_time d0, size_t *len) {
  struct au_buf b = AU_BUF_INIT(AU_MAX_HTTP_BODY);
  if (au_buf_adds(&b, "Day Ahead Market ExPost LMPs\n07/16/2024\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\n"
                      "Node,Type,Value"))
    abort();
  for (int h = 1; h <= 24; h++)
    if (au_buf_printf(&b, ",HE %d", h))
      abort();
  if (au_buf_addc(&b, '\n'))
    abort();
  static const char *const types[] = {"Gennode", "Loadzone", "Hub", "Interface"};
  static const char *const vals[] = {"LMP", "MCC", "MLC"};
  static const int comp[] = {AU_SIM_LMP, AU_SIM_CONGESTION, AU_SIM_LOSS};
  for (int v = 0; v < 3; v++)
    for (int n = 0; n < NODES; n++) {
      char name[32];
      snprintf(name, sizeof(name), "ZONE%d.NODE%04d", n % 40, n);
      if (au_buf_printf(&b, "%s,%s,%s", name, types[n % 4], vals[v]))
        abort();
      for (int h = 0; h < 24; h++) {
        if (au_buf_addc(&b, ','))
          abort();
        num(&b, au_sim_price(1, "miso", name, d0 + h * AU_HOUR, comp[v]));
      }
      if (au_buf_addc(&b, '\n'))
        abort();
    }
  return au_buf_detach(&b, len);
}

static char *api(au_time t0, int intervals, size_t *len) {
  struct au_buf b = AU_BUF_INIT(AU_MAX_HTTP_BODY);
  if (au_buf_adds(&b, "{\"data\":["))
    abort();
  for (int i = 0; i < intervals; i++)
    for (int n = 0; n < NODES; n++) {
      au_time t = t0 + (au_time)i * 5 * AU_MINUTE;
      char name[32];
      snprintf(name, sizeof(name), "ZONE%d.NODE%04d", n % 40, n);
      double p[AU_SIM_NCOMPONENTS];
      au_sim_price_parts(1, "miso", name, t, p);
      struct au_civil c, e;
      au_time_to_civil(t - 5 * AU_HOUR, &c);
      au_time_to_civil(t - 5 * AU_HOUR + 5 * AU_MINUTE, &e);
      if (au_buf_printf(&b,
                        "%s{\"interval\":\"%02d:%02d\",\"timeInterval\":{\"resolution\":\"5min\",\"start\":\"%04d-%02d-%02d "
                        "%02d:%02d:00.000\",\"end\":\"%04d-%02d-%02d %02d:%02d:00.000\",\"value\":\"x\"},\"node\":\"%s\","
                        "\"lmp\":%.5f,\"mcc\":%.5f,\"mec\":%.5f,\"mlc\":%.5f}",
                        i || n ? "," : "", c.hour, c.minute, c.year, c.month, c.day, c.hour, c.minute, e.year, e.month,
                        e.day, e.hour, e.minute, name, p[AU_SIM_LMP], p[AU_SIM_CONGESTION], p[AU_SIM_ENERGY],
                        p[AU_SIM_LOSS]))
        abort();
    }
  if (au_buf_adds(&b, "],\"page\":{\"pageNumber\":1,\"lastPage\":true}}"))
    abort();
  return au_buf_detach(&b, len);
}

static void run(const char *tname, char *body, size_t len, int64_t day, size_t want) {
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(tname, &src, &t, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  struct au_opts opts = {0};
  au_opts_set(&opts, "api_key", "k");
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://x", .opts = &opts,
                              .now = au_time_utc(2024, 7, 20, 0, 0, 0), .ingestion_time = 1};
  struct au_batch *b = au_batch_new(t->schema, want);
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    au_batch_clear(b);
    struct au_request req;
    memset(&req, 0, sizeof(req));
    req.url = "http://x/y";
    req.cookie = day;
    req.cookie2 = 1;
    struct au_response resp = {200, body, len, "text/csv"};
    struct au_reqlist more = {0};
    double s = au_mono();
    if (src->parse(&ctx, &req, &resp, b, &more, &err)) {
      fprintf(stderr, "parse: %s\n", err.msg);
      exit(1);
    }
    double e = au_mono() - s;
    best = e < best ? e : best;
    au_reqlist_release(&more);
  }
  if (b->nrows != want) {
    fprintf(stderr, "rows %zu != %zu\n", b->nrows, want);
    exit(1);
  }
  printf("%-24s %7zu rows  %6.1f MB  %7.4f s  %9.0f rows/s  %6.1f MB/s\n", tname, want, len / 1e6, best, want / best,
         len / 1e6 / best);
  au_batch_free(b);
  au_opts_release(&opts);
}

int main(void) {
  printf("MISO parse+normalize (%d nodes)\n", NODES);
  au_time d0 = au_time_utc(2024, 7, 16, 5, 0, 0);
  size_t len;
  char *r = report(d0, &len);
  run("miso.lmp_da_hourly", r, len, au_days_from_civil(2024, 7, 16), (size_t)NODES * 24);
  free(r);
  char *a = api(d0, 12, &len);
  run("miso.lmp_rt_5min", a, len, au_days_from_civil(2024, 7, 16), (size_t)NODES * 12);
  free(a);
  return 0;
}

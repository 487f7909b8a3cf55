/* bench_pjm.c - parse + normalize throughput of the PJM Data Miner 2 source on a simulated
 * full day of all pricing nodes: da_hrl_lmps for 11,000 pnodes x 24 hours (264,000 rows,
 * served as six pages of <= 50,000 rows, as the API pages them) and one hour of
 * rt_fivemin_hrl_lmps (132,000 rows). Bodies are generated from the simulator's model in
 * the wire format of sim_pjm.c. Prints rows/s and MB/s (best of 3). */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/model.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 11000
#define PAGE 50000

static const char *const types[] = {"GEN", "LOAD", "AGGREGATE", "ZONE", "HUB", "INTERFACE", "EHV"};

static void stamp(struct au_buf *b, const char *name, au_time t, int offset_h) {
  struct au_civil c;
  au_time_to_civil(t + (au_time)offset_h * AU_HOUR, &c);
  if (au_buf_printf(b, "\"%s\":\"%04d-%02d-%02dT%02d:%02d:00\",", name, c.year, c.month, c.day, c.hour, c.minute))
    abort();
}

/* One page of items [first, first + n) of the (time-major) result. */
static char *page(const char *sfx, au_time t0, int minutes, long first, long n, long total, size_t *len) {
  struct au_buf b = AU_BUF_INIT(AU_MAX_HTTP_BODY);
  if (au_buf_adds(&b, "{\"links\":[{\"rel\":\"self\",\"href\":\"https://api.pjm.com/api/v1/x\"}],\"items\":["))
    abort();
  for (long i = first; i < first + n; i++) {
    long ti = i / NODES, ni = i % NODES;
    au_time t = t0 + (au_time)ti * minutes * AU_MINUTE;
    char name[32];
    snprintf(name, sizeof(name), "NODE%05ld", ni);
    double p[AU_SIM_NCOMPONENTS];
    au_sim_price_parts(1, "pjm", name, t, p);
    if (i > first && au_buf_addc(&b, ','))
      abort();
    if (au_buf_addc(&b, '{'))
      abort();
    stamp(&b, "datetime_beginning_utc", t, 0);
    stamp(&b, "datetime_beginning_ept", t, -5);
    if (au_buf_printf(&b,
                      "\"pnode_id\":%ld,\"pnode_name\":\"%s\",\"voltage\":\"138 KV\",\"equipment\":null,\"type\":\"%s\","
                      "\"zone\":\"PECO\",\"system_energy_price%s\":%.5f,\"total_lmp%s\":%.5f,\"congestion_price%s\":%.5f,"
                      "\"marginal_loss_price%s\":%.5f,\"row_is_current\":true,\"version_nbr\":1}",
                      2156110000L + ni, name, types[ni % 7], sfx, p[AU_SIM_ENERGY], sfx, p[AU_SIM_LMP], sfx,
                      p[AU_SIM_CONGESTION], sfx, p[AU_SIM_LOSS]))
      abort();
  }
  if (au_buf_printf(&b, "],\"searchSpecification\":{\"rowCount\":50000,\"startRow\":%ld},\"totalRows\":%ld}", first + 1,
                    total))
    abort();
  return au_buf_detach(&b, len);
}

static void run(const char *tname, const char *sfx, int minutes, long intervals) {
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(tname, &src, &t, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  long total = intervals * NODES;
  size_t npages = (size_t)((total + PAGE - 1) / PAGE);
  char **bodies = calloc(npages, sizeof(*bodies));
  size_t *lens = calloc(npages, sizeof(*lens)), bytes = 0;
  au_time t0 = au_time_utc(2024, 7, 16, 4, 0, 0);
  for (size_t p = 0; p < npages; p++) {
    long first = (long)p * PAGE, n = total - first < PAGE ? total - first : PAGE;
    bodies[p] = page(sfx, t0, minutes, first, n, total, &lens[p]);
    bytes += lens[p];
  }
  struct au_opts opts = {0};
  au_opts_set(&opts, "api_key", "k");
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://x/api/v1", .opts = &opts,
                              .now = au_time_utc(2024, 7, 20, 0, 0, 0), .ingestion_time = 1};
  struct au_batch *b = au_batch_new(t->schema, (size_t)total);
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    au_batch_clear(b);
    double s = au_mono();
    for (size_t p = 0; p < npages; p++) {
      struct au_request req;
      memset(&req, 0, sizeof(req));
      req.url = "http://x/api/v1/f?rowCount=50000&startRow=1";
      req.cookie = (int64_t)p * PAGE + 1;
      req.cookie2 = (int64_t)PAGE << 1;
      struct au_response resp = {200, bodies[p], lens[p], "application/json"};
      struct au_reqlist more = {0};
      au_err_clear(&err);
      if (src->parse(&ctx, &req, &resp, b, &more, &err)) {
        fprintf(stderr, "parse: %s\n", err.msg);
        exit(1);
      }
      au_reqlist_release(&more);
    }
    double e = au_mono() - s;
    best = e < best ? e : best;
  }
  if (b->nrows != (size_t)total) {
    fprintf(stderr, "rows %zu != %ld\n", b->nrows, total);
    exit(1);
  }
  printf("%-22s %8ld rows  %6.1f MB  %2zu pages  %7.3f s  %9.0f rows/s  %6.1f MB/s\n", tname, total, bytes / 1e6, npages,
         best, total / best, bytes / 1e6 / best);
  au_batch_free(b);
  for (size_t p = 0; p < npages; p++)
    free(bodies[p]);
  free(bodies);
  free(lens);
  au_opts_release(&opts);
}

int main(void) {
  printf("PJM Data Miner 2 parse+normalize (%d pnodes, best of 3)\n", NODES);
  run("pjm.lmp_da_hourly", "_da", 60, 24);
  run("pjm.lmp_rt_5min", "_rt", 5, 12);
  return 0;
}

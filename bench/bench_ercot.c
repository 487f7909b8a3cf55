/* bench_ercot.c - parse + normalize throughput of the ERCOT source on a simulated full day of
 * all settlement points (1000 resource nodes + hubs/zones; override with ERCOT_SIM_NODES):
 * RT 15-min SPP, DAM SPP, SCED LMP (API JSON) and the RT SPP MIS CSV-in-ZIP of one interval.
 * The bodies come from the in-process simulator over loopback; only parse() is timed. */
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "sim/sim.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fetch(struct au_http_client *h, const char *url, size_t *len) {
  struct au_http_header hd[] = {{"Ocp-Apim-Subscription-Key", "k"}, {"Authorization", ""}};
  static char bearer[256];
  hd[1].value = bearer;
  if (!bearer[0]) { /* token from the simulator's B2C endpoint */
    char tu[512];
    const char *p = strstr(url, "/ercot/");
    snprintf(tu, sizeof(tu), "%.*s/ercot/b2c/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token?"
             "username=u&password=p&grant_type=password&client_id=fec253ea-0d06-4272-a5e6-b478baeecd70",
             (int)(p - url), url);
    struct au_http_request tr = {.method = "POST", .url = tu, .body = "", .label = "token"};
    struct au_http_response r;
    au_http_response_init(&r);
    struct au_err err = AU_ERR_INIT;
    if (au_http_do(h, &tr, &r, &err) || r.status != 200) {
      fprintf(stderr, "token: %s\n", err.msg);
      exit(1);
    }
    const char *t = strstr(r.body.ptr, "\"id_token\":\"");
    snprintf(bearer, sizeof(bearer), "Bearer %.*s", (int)strcspn(t + 12, "\""), t + 12);
    au_http_response_release(&r);
  }
  struct au_http_request rq = {.url = url, .headers = hd, .nheaders = 2, .label = "bench"};
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  if (au_http_do(h, &rq, &r, &err) || r.status != 200) {
    fprintf(stderr, "%s: %s (status %ld)\n", url, err.msg, r.status);
    exit(1);
  }
  return au_buf_detach(&r.body, len);
}

static void bench(const char *table, const char *mode, const char *body, size_t len, au_time pub) {
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  char q[64];
  snprintf(q, sizeof(q), "ercot.%s", table);
  if (au_table_find(q, &src, &t, &err))
    exit(1);
  struct au_opts opts = {0};
  au_opts_set(&opts, "id_token", "x");
  au_opts_set(&opts, "api_key", "k");
  au_opts_set(&opts, "mode", mode);
  struct au_source_ctx ctx = {src, t, "http://x", &opts, 0, 0, NULL, NULL};
  src->init(&ctx, &err);
  struct au_batch *b = au_batch_new(t->schema, 1 << 16);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = 1;
  req.cookie2 = strcmp(mode, "mis") == 0 ? 2 : 0;
  req.cookie = req.cookie2 ? pub : 1;
  req.win_start = au_time_utc(2024, 6, 2, 5, 0, 0); /* the CDT trade day */
  req.win_end = au_time_utc(2024, 6, 3, 5, 0, 0);
  struct au_response resp = {200, body, len, NULL};
  int reps = 0;
  size_t rows = 0;
  double t0 = au_mono(), el = 0;
  while (el < 2.0 || reps < 3) {
    au_batch_clear(b);
    if (src->parse(&ctx, &req, &resp, b, NULL, &err)) {
      fprintf(stderr, "%s: %s\n", table, err.msg);
      exit(1);
    }
    rows += b->nrows;
    reps++;
    el = au_mono() - t0;
  }
  printf("%-26s %-4s %9zu rows/parse %8.1f MB  %10.0f rows/s  %7.1f MB/s\n", table, mode, b->nrows,
         (double)len / 1e6, (double)rows / el, (double)len * reps / el / 1e6);
  au_batch_free(b);
  src->fini(&ctx);
  au_opts_release(&opts);
}

int main(void) {
  if (!getenv("ERCOT_SIM_NODES"))
    setenv("ERCOT_SIM_NODES", "1000", 1);
  setenv("ERCOT_SIM_RATE_PER_MIN", "0", 1);
  au_http_global_init();
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2024, 6, 3, 12, 0, 0), .quiet = true};
  struct au_sim *sim;
  struct au_err err = AU_ERR_INIT;
  if (au_sim_start(&cfg, &sim, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  struct au_http_policy pol = {.max_attempts = 1, .timeout = 600};
  au_http_policy_defaults(&pol);
  struct au_http_client *h = au_http_client_new("ercot", &pol);
  char base[128], url[512];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d/ercot", au_sim_port(sim));
  printf("ERCOT parse+normalize, simulated 2024-06-02 (all points: %s resource nodes + hubs/zones)\n",
         getenv("ERCOT_SIM_NODES"));
  size_t len;
  snprintf(url, sizeof(url), "%s/api/public-reports/np6-905-cd/spp_node_zone_hub?deliveryDateFrom=2024-06-02&"
           "deliveryDateTo=2024-06-02&page=1&size=1000000", base);
  char *b1 = fetch(h, url, &len);
  bench("spp_rt_15min", "api", b1, len, 0);
  free(b1);
  snprintf(url, sizeof(url), "%s/api/public-reports/np4-190-cd/dam_stlmnt_pnt_prices?deliveryDateFrom=2024-06-02&"
           "deliveryDateTo=2024-06-02&page=1&size=1000000", base);
  b1 = fetch(h, url, &len);
  bench("spp_da_hourly", "api", b1, len, 0);
  free(b1);
  snprintf(url, sizeof(url), "%s/api/public-reports/np6-788-cd/lmp_node_zone_hub?SCEDTimestampFrom=2024-06-02T00:00:00&"
           "SCEDTimestampTo=2024-06-02T23:59:59&page=1&size=1000000", base);
  b1 = fetch(h, url, &len);
  bench("lmp_sced", "api", b1, len, 0);
  free(b1);
  /* one MIS RT SPP document (interval 11:30-11:45 CDT), DocID = ((post s) * 8 + 1) * 2 */
  au_time post = au_time_utc(2024, 6, 2, 16, 46, 30);
  snprintf(url, sizeof(url), "%s/mis/misdownload/servlets/mirDownload?doclookupId=%lld", base,
           (long long)(((post / AU_USEC) * 8 + 1) * 2));
  b1 = fetch(h, url, &len);
  bench("spp_rt_15min", "mis", b1, len, post);
  free(b1);
  au_http_client_free(h);
  au_sim_stop(sim);
  au_http_global_cleanup();
  return 0;
}

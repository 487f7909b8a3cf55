/* bench_backfill.c - backfill DAYS of hourly AESO pool price from the simulator (spacing 0)
 * into SQLite with N workers; report wall time vs the sum of the simulator's response
 * times (/_sim/log duration_ms) and aurum's peak RSS. The simulator runs in a forked
 * child so its memory is not counted. Usage: bench_backfill [DAYS] [CONCURRENCY]
 * [LATENCY_S] [CHUNK_DAYS] [DB]. bench/bench_backfill.sh runs the matrix. */
#include "core/au.h"
#include "core/err.h"
#include "core/log.h"
#include "net/http.h"
#include "pipeline/backfill.h"
#include "pipeline/config.h"
#include "sim/sim.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int days = argc > 1 ? atoi(argv[1]) : 365;
  int conc = argc > 2 ? atoi(argv[2]) : 1;
  double latency = argc > 3 ? atof(argv[3]) : 0.0;
  int chunk_days = argc > 4 ? atoi(argv[4]) : 30;
  const char *db = argc > 5 ? argv[5] : "/tmp/aurum-bench-backfill.db";
  setenv("AURUM_NOW", "2025-01-01T00:00:00Z", 1);
  int pfd[2];
  if (pipe(pfd) != 0)
    return 1;
  pid_t child = fork();
  if (child == 0) {
    close(pfd[0]);
    struct au_err err = AU_ERR_INIT;
    struct au_sim_config sc = {0};
    sc.listen = "127.0.0.1:0";
    sc.seed = 1;
    sc.now = AU_TIME_NONE;
    sc.quiet = true;
    sc.latency = latency;
    struct au_sim *sim;
    if (au_sim_start(&sc, &sim, &err) != 0) {
      fprintf(stderr, "sim: %s\n", err.msg);
      _exit(1);
    }
    int port = au_sim_port(sim);
    if (write(pfd[1], &port, sizeof(port)) != sizeof(port))
      _exit(1);
    pause();
    _exit(0);
  }
  close(pfd[1]);
  int port = 0;
  if (read(pfd[0], &port, sizeof(port)) != sizeof(port)) {
    fprintf(stderr, "simulator did not start\n");
    return 1;
  }
  char path[600];
  unlink(db);
  snprintf(path, sizeof(path), "%s-wal", db);
  unlink(path);
  snprintf(path, sizeof(path), "%s-shm", db);
  unlink(path);
  au_log_setup(AU_LOG_WARN, AU_LOG_TEXT);
  au_http_global_init();
  struct au_err err = AU_ERR_INIT;
  struct au_config cfg;
  au_config_init(&cfg);
  char base[64], url[600];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  snprintf(url, sizeof(url), "sqlite:%s", db);
  struct au_source_cfg *src = au_config_source(&cfg, "aeso");
  au_opts_set(&src->opts, "base_url", base);
  au_opts_set(&src->opts, "api_key", "bench");
  au_opts_set(&src->opts, "rate_limit", "0");
  au_opts_set(&src->opts, "min_spacing", "0");
  struct au_table_cfg *t = au_config_table(&cfg, "aeso.pool_price", &err);
  t->batch_size_days = chunk_days;
  t->rate_limit_delay = 0;
  struct au_store *store = NULL;
  if (au_store_open(url, &store, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  au_time start = au_time_utc(2024, 1, 1, 7, 0, 0);
  au_time end = start + (au_time)days * AU_DAY;
  struct au_backfill_job_spec spec = {.chunk_days = chunk_days};
  struct au_job job;
  bool resumed;
  if (au_backfill_job_open(store, t, start, end, &spec, &job, &resumed, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  struct au_backfill_opts bo = {.store_url = url, .concurrency = conc, .job_id = job.id, .progress = AU_PROGRESS_NONE};
  struct au_backfill_stats st;
  int rc = au_backfill_run(&cfg, store, &bo, &st, &err);
  au_store_close(store);
  /* the simulator's own time per request */
  double sim_ms = 0;
  long nreq = 0;
  struct au_http_policy pol = {0};
  au_http_policy_defaults(&pol);
  struct au_http_client *hc = au_http_client_new("bench", &pol);
  char lurl[128];
  snprintf(lurl, sizeof(lurl), "%s/_sim/log", base);
  struct au_http_request hr = {.url = lurl};
  struct au_http_response resp;
  au_http_response_init(&resp);
  if (au_http_do(hc, &hr, &resp, &err) == 0 && resp.body.ptr) {
    for (const char *p = resp.body.ptr; (p = strstr(p, "\"duration_ms\": ")); p++) {
      sim_ms += atof(p + 15);
      nreq++;
    }
  }
  au_http_response_release(&resp);
  au_http_client_free(hc);
  kill(child, SIGTERM);
  waitpid(child, NULL, 0);
  if (rc || st.chunks_failed) {
    fprintf(stderr, "backfill failed: %s (%llu failed chunks)\n", err.msg, (unsigned long long)st.chunks_failed);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double ideal = sim_ms / 1000.0 / conc;
  printf("bench_backfill: %d days AESO, chunks of %d days, concurrency %d, sim latency %.3fs\n", days, chunk_days,
         conc, latency);
  printf("  rows %llu, chunks %llu, requests %ld\n", (unsigned long long)st.rows, (unsigned long long)st.chunks_done,
         nreq);
  printf("  wall                       %.3f s\n", st.seconds);
  printf("  sum of sim response times  %.3f s  (/ concurrency = %.3f s)\n", sim_ms / 1000.0, ideal);
  printf("  overhead beyond requests   %.1f %%  target < 5%%\n", ideal > 0 ? (st.seconds - ideal) / ideal * 100 : 0);
  printf("  peak RSS                   %.1f MB\n", ru.ru_maxrss / 1024.0);
  au_config_release(&cfg);
  au_http_global_cleanup();
  return 0;
}

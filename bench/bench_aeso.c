/* bench_aeso.c - sync 5 years of hourly AESO pool price from the simulator (no delay)
 * into SQLite and report parse + upsert throughput and aurum's peak RSS.
 *
 * The simulator runs in a forked child process so its memory is not counted; the
 * parent is exactly an `aurum sync`. Usage: bench_aeso [YEARS] [BATCH_DAYS] [DB]. */
#include "core/au.h"
#include "core/err.h"
#include "core/log.h"
#include "net/http.h"
#include "pipeline/config.h"
#include "pipeline/sync.h"
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
  int years = argc > 1 ? atoi(argv[1]) : 5;
  int batch_days = argc > 2 ? atoi(argv[2]) : 30;
  const char *db = argc > 3 ? argv[3] : "/tmp/aurum-bench-aeso.db";
  char now_s[] = "2025-01-01T00:00:00Z";
  setenv("AURUM_NOW", now_s, 1);

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

  unlink(db);
  char wal[512];
  snprintf(wal, sizeof(wal), "%s-wal", db);
  unlink(wal);
  au_log_setup(AU_LOG_WARN, AU_LOG_TEXT);
  au_http_global_init();
  struct au_err err = AU_ERR_INIT;
  struct au_config cfg;
  au_config_init(&cfg);
  char base[64], start[32], url[600];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  snprintf(start, sizeof(start), "%04d-01-01", 2025 - years);
  snprintf(url, sizeof(url), "sqlite:%s", db);
  struct au_source_cfg *src = au_config_source(&cfg, "aeso");
  au_opts_set(&src->opts, "base_url", base);
  au_opts_set(&src->opts, "api_key", "bench");
  au_opts_set(&src->opts, "rate_limit", "0"); /* no politeness limit against the local simulator */
  struct au_table_cfg *t = au_config_table(&cfg, "aeso.pool_price", &err);
  t->start_date = au_xstrdup(start);
  t->batch_size_days = batch_days;
  t->rate_limit_delay = 0;
  struct au_store *store = NULL;
  if (au_store_open(url, &store, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  struct au_sync_opts so = {.start = AU_TIME_NONE, .end = AU_TIME_NONE};
  struct au_sync_result res;
  int rc = au_sync_table(&cfg, t, store, &so, &res, &err);
  au_store_close(store);
  kill(child, SIGTERM);
  waitpid(child, NULL, 0);
  if (rc) {
    fprintf(stderr, "sync failed: %s\n", err.msg);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double work = res.parse_seconds + res.store_seconds;
  printf("bench_aeso: %d years of hourly pool price, batches of %d days, SQLite %s\n", years, batch_days, db);
  printf("  rows                 %llu (inserted %llu) in %llu requests\n", (unsigned long long)res.rows,
         (unsigned long long)res.inserted, (unsigned long long)res.requests);
  printf("  wall                 %.3f s\n", res.seconds);
  printf("  http (round trips)   %.3f s\n", res.http_seconds);
  printf("  parse                %.3f s  (%.0f rows/s)\n", res.parse_seconds, res.rows / res.parse_seconds);
  printf("  upsert + commit      %.3f s  (%.0f rows/s)\n", res.store_seconds, res.rows / res.store_seconds);
  printf("  parse + upsert       %.3f s  (%.0f rows/s)   target >= 200000 rows/s\n", work, res.rows / work);
  printf("  peak RSS             %.1f MB   target < 32 MB\n", ru.ru_maxrss / 1024.0);
  au_config_release(&cfg);
  au_http_global_cleanup();
  return 0;
}

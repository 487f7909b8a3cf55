/* bench_backfill.c - backfill DAYS of hourly AESO pool price (aeso.pool_price), or of CAISO
 * day-ahead LMP for 10 nodes (caiso.lmp_dam, one request of 10 nodes per chunk), from the
 * simulator (rate limit and spacing 0) into SQLite with N workers; report wall time vs the sum of the simulator's response
 * times (/_sim/log duration_ms) / N, vs the best schedule of those responses on N lanes
 * (what an otherwise free client could reach with these chunks), vs a bare client replaying
 * the same requests on N threads (pays connect and transfer, as any client does), and
 * aurum's peak RSS. The simulator runs in a forked child so its memory is not counted.
 * Usage: bench_backfill [aeso|caiso] [DAYS] [CONCURRENCY] [ANSWER_S] [CHUNK_DAYS] [DB]
 * DB: a SQLite path (default /tmp/aurum-bench-backfill.db, recreated) or a postgresql:// URL
 * of an empty database.
 * ANSWER_S: the simulator's --answer-time (each answer takes at least that long from the
 * request's arrival, generation included: on a 2-CPU machine the simulator building four
 * CAISO ZIPs at once would otherwise make concurrent answers unequal and slower).
 * (the source defaults to aeso). BENCH_DEBUG=1 logs every chunk with timestamps.
 * bench/bench_backfill.sh runs the matrix. */
#include "core/au.h"
#include "core/err.h"
#include "core/log.h"
#include "net/http.h"
#include "pipeline/backfill.h"
#include "pipeline/config.h"
#include "sim/sim.h"
#include "store/store.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Client-side baseline: the same requests (paths from the simulator's log) replayed with
 * the HTTP core on CONCURRENCY threads, nothing else (no parsing, no store). */
struct replay {
  const char *base;
  char **paths;
  long n, next;
  pthread_mutex_t mu;
  struct au_http_client *hc;
};

static void *replay_main(void *arg) {
  struct replay *rp = arg;
  struct au_http_header h = {"API-KEY", "bench"};
  for (;;) {
    pthread_mutex_lock(&rp->mu);
    long i = rp->next < rp->n ? rp->next++ : -1;
    pthread_mutex_unlock(&rp->mu);
    if (i < 0)
      return NULL;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", rp->base, rp->paths[i]);
    struct au_http_request hr = {.url = url, .headers = &h, .nheaders = 1};
    struct au_http_response resp;
    au_http_response_init(&resp);
    struct au_err err = AU_ERR_INIT;
    au_http_do(rp->hc, &hr, &resp, &err);
    au_http_response_release(&resp);
  }
}

static double replay_requests(const char *base, char **paths, long n, int conc) {
  struct au_http_policy pol = {0};
  au_http_policy_defaults(&pol);
  struct replay rp = {base, paths, n, 0, PTHREAD_MUTEX_INITIALIZER, au_http_client_new("replay", &pol)};
  pthread_t th[64];
  int nt = conc < 1 ? 1 : conc > 64 ? 64 : conc, started = 0;
  double t0 = au_mono();
  for (int i = 0; i < nt; i++)
    if (pthread_create(&th[i], NULL, replay_main, &rp) == 0)
      started++;
  for (int i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  double secs = au_mono() - t0;
  au_http_client_free(rp.hc);
  return secs;
}

/* 10 APNodes the simulator serves (sim_caiso.c): the 3 trading hubs, the 4 DLAPs and 2 ELAPs
 * of its hub list, and the first generated aggregated APNode of its ALL_APNODES list
 * (all_node_name(10) there). 10 nodes = one OASIS request per chunk. */
#define CAISO_NODES                                                                                \
  "TH_NP15_GEN-APND,TH_SP15_GEN-APND,TH_ZP26_GEN-APND,DLAP_PGAE-APND,DLAP_SCE-APND,DLAP_SDGE-APND," \
  "DLAP_VEA-APND,ELAP_PACE-APND,ELAP_PACW-APND,KERRIV_0_N010-APND"

int main(int argc, char **argv) {
  bool caiso = false;
  if (argc > 1 && (!strcmp(argv[1], "aeso") || !strcmp(argv[1], "caiso"))) {
    caiso = !strcmp(argv[1], "caiso");
    argv++;
    argc--;
  }
  int days = argc > 1 ? atoi(argv[1]) : 365;
  int conc = argc > 2 ? atoi(argv[2]) : 1;
  double latency = argc > 3 ? atof(argv[3]) : 0.0;
  int chunk_days = argc > 4 ? atoi(argv[4]) : 30;
  const char *db = argc > 5 ? argv[5] : "/tmp/aurum-bench-backfill.db";
  /* the simulator publishes up to its clock: put it two days after the range, so every chunk
   * has data (a fixed 2025-01-01 left the second year of a two-year run empty) */
  {
    au_time now = au_time_utc(2024, 1, 1, 0, 0, 0) + (au_time)(days + 2) * AU_DAY;
    char ts[40];
    au_time_fmt(now, ts);
    setenv("AURUM_NOW", ts, 1);
  }
  int pfd[2];
  if (pipe(pfd) != 0)
    return 1;
  pid_t child = fork();
  if (child == 0) {
    close(pfd[0]);
    /* the simulator must not outlive the bench, nor hold its stdout (a pipe to grep) open */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (freopen("/dev/null", "w", stdout) == NULL)
      _exit(1);
    struct au_err err = AU_ERR_INIT;
    struct au_sim_config sc = {0};
    sc.listen = "127.0.0.1:0";
    sc.seed = 1;
    sc.now = AU_TIME_NONE;
    sc.quiet = true;
    sc.answer_time = latency; /* each answer takes this long, whatever the sim's CPU load */
    sc.zip_level = 1;         /* the simulator's CPU is not what is measured */
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
  /* DB: a SQLite file (made fresh) or a postgresql:// URL of an empty database */
  bool pg = strncmp(db, "postgres", 8) == 0;
  if (!pg) {
    char path[600];
    unlink(db);
    snprintf(path, sizeof(path), "%s-wal", db);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", db);
    unlink(path);
  }
  au_log_setup(getenv("BENCH_DEBUG") ? AU_LOG_DEBUG : AU_LOG_WARN, AU_LOG_TEXT);
  au_http_global_init();
  struct au_err err = AU_ERR_INIT;
  struct au_config cfg;
  au_config_init(&cfg);
  char base[64], url[600];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  snprintf(url, sizeof(url), pg ? "%s" : "sqlite:%s", db);
  /* CAISO's default politeness is 5 s spacing; both sources run with rate limit and spacing 0 */
  struct au_source_cfg *src = au_config_source(&cfg, caiso ? "caiso" : "aeso");
  au_opts_set(&src->opts, "base_url", base); /* caiso: a bare host gets /oasisapi appended */
  if (!caiso)
    au_opts_set(&src->opts, "api_key", "bench");
  au_opts_set(&src->opts, "rate_limit", "0");
  au_opts_set(&src->opts, "min_spacing", "0");
  struct au_table_cfg *t = au_config_table(&cfg, caiso ? "caiso.lmp_dam" : "aeso.pool_price", &err);
  if (!t) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  if (caiso)
    au_opts_set(&t->opts, "nodes", CAISO_NODES);
  t->batch_size_days = chunk_days;
  t->rate_limit_delay = 0;
  struct au_store *store = NULL;
  if (au_store_open(url, &store, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  /* local midnight of 2024-01-01: MST for AESO, PST for CAISO */
  au_time start = au_time_utc(2024, 1, 1, caiso ? 8 : 7, 0, 0);
  au_time end = start + (au_time)days * AU_DAY;
  struct au_backfill_job_spec spec = {.chunk_days = chunk_days, .cfg = &cfg};
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
  /* the best any client can do with these chunks: the requests (one per chunk here) placed
   * in log order on the earliest-free of CONCURRENCY workers, with no other cost. With few
   * chunks per worker, sum/concurrency is below this (the last round is not full). */
  double lanes[64] = {0};
  char **paths = NULL;
  long npaths = 0;
  int nl = conc < 1 ? 1 : conc > 64 ? 64 : conc;
  struct au_http_policy pol = {0};
  au_http_policy_defaults(&pol);
  struct au_http_client *hc = au_http_client_new("bench", &pol);
  char lurl[128];
  snprintf(lurl, sizeof(lurl), "%s/_sim/log", base);
  struct au_http_request hr = {.url = lurl};
  struct au_http_response resp;
  au_http_response_init(&resp);
  if (au_http_do(hc, &hr, &resp, &err) == 0 && resp.body.ptr) {
    for (const char *p = resp.body.ptr; (p = strstr(p, "\"path\": \"")); p++) {
      const char *a = p + 9, *e = strchr(a, '"');
      if (!e || strncmp(a, "/_sim", 5) == 0)
        continue;
      paths = au_xrealloc(paths, (size_t)(npaths + 1) * sizeof(*paths));
      paths[npaths] = au_xmalloc((size_t)(e - a) + 1);
      memcpy(paths[npaths], a, (size_t)(e - a));
      paths[npaths++][e - a] = 0;
    }
    for (const char *p = resp.body.ptr; (p = strstr(p, "\"duration_ms\": ")); p++) {
      double d = atof(p + 15);
      sim_ms += d;
      nreq++;
      int best = 0;
      for (int k = 1; k < nl; k++)
        if (lanes[k] < lanes[best])
          best = k;
      lanes[best] += d;
    }
  }
  au_http_response_release(&resp);
  au_http_client_free(hc);
  /* the same requests again, from a bare client (the simulator answers them the same way) */
  double replay = npaths ? replay_requests(base, paths, npaths, conc) : 0;
  for (long i = 0; i < npaths; i++)
    free(paths[i]);
  free(paths);
  kill(child, SIGTERM);
  waitpid(child, NULL, 0);
  if (rc || st.chunks_failed) {
    fprintf(stderr, "backfill failed: %s (%llu failed chunks)\n", err.msg, (unsigned long long)st.chunks_failed);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double ideal = sim_ms / 1000.0 / conc;
  printf("bench_backfill: %d days %s, chunks of %d days, concurrency %d, sim answer time %.3fs\n", days,
         caiso ? "CAISO DAM (10 nodes)" : "AESO", chunk_days, conc, latency);
  printf("  rows %llu, chunks %llu, requests %ld\n", (unsigned long long)st.rows, (unsigned long long)st.chunks_done,
         nreq);
  printf("  wall                       %.3f s\n", st.seconds);
  printf("  sum of sim response times  %.3f s  (/ concurrency = %.3f s)\n", sim_ms / 1000.0, ideal);
  printf("  overhead beyond requests   %.1f %%  target < 5%%  (%.3f s)\n",
         ideal > 0 ? (st.seconds - ideal) / ideal * 100 : 0, st.seconds - ideal);
  if (st.chunks_done)
    printf("  aurum's work per chunk     parse %.1f ms, store + commit %.1f ms (incl. waiting for the writer)\n",
           st.parse_seconds / (double)st.chunks_done * 1e3, st.store_seconds / (double)st.chunks_done * 1e3);
  double bound = 0;
  for (int k = 0; k < nl; k++)
    if (lanes[k] > bound)
      bound = lanes[k];
  bound /= 1000.0;
  printf("  requests-only bound        %.3f s  (log order on %d lanes)\n", bound, nl);
  printf("  overhead beyond that bound %.1f %%\n", bound > 0 ? (st.seconds - bound) / bound * 100 : 0);
  printf("  bare-client replay          %.3f s  (the %ld requests, %d threads, no parse/store)\n", replay,
         npaths, nl);
  printf("  overhead beyond the replay %.1f %%\n", replay > 0 ? (st.seconds - replay) / replay * 100 : 0);
  printf("  peak RSS                   %.1f MB\n", ru.ru_maxrss / 1024.0);
  au_config_release(&cfg);
  au_http_global_cleanup();
  return 0;
}

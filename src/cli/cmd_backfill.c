/* cmd_backfill.c - `aurum backfill`, `aurum jobs`, `aurum worker`, `aurum quota`. */
#include "core/au.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/log.h"
#include "pipeline/backfill.h"
#include "pipeline/sync.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char backfill_usage[] =
    "usage: aurum backfill TABLE --start D --end D [options]\n"
    "       aurum backfill --resume ID [options]\n"
    "       aurum backfill --rolling [TABLE] [options]\n"
    "\n"
    "Load history in chunks. The range [--start, --end) (operator trade days, or ISO times) is\n"
    "planned into chunks of --chunk-days trade days (default: the table's window, i.e. its\n"
    "batch_size_days, or one day for CAISO's every-node grp_type unless that is set); the\n"
    "job and every chunk are recorded in the store and run by --concurrency worker threads that\n"
    "share the source's rate limit. Chunks are idempotent upserts; a chunk is done exactly when\n"
    "its rows are committed. Failed chunks are retried with backoff up to --max-attempts, then\n"
    "marked failed; the command then exits 1 and lists them (`aurum jobs retry ID` reruns them).\n"
    "Running the same command again (or --resume ID) after a crash continues with the chunks\n"
    "that are not done. A backfill never touches the table's incremental watermark.\n"
    "\n"
    "Options:\n"
    "  --start D / --end D    range, --end exclusive (YYYY-MM-DD trade days or ISO-8601 times)\n"
    "  --chunk-days N         trade days per chunk (default: the table's window, see above)\n"
    "  --concurrency N        worker threads (default 1)\n"
    "  --max-attempts N       tries per chunk before it is marked failed (default 3)\n"
    "  --retry-delay S        backoff base: retry n waits S*2^(n-1) seconds (default 2, max 300)\n"
    "  --priority N           job priority for `aurum worker` (default: the table's priority)\n"
    "  --lease S              chunk lease in seconds, renewed while running (default 120)\n"
    "  --progress MODE        auto (bar on a terminal, else JSON lines), bar, json, none\n"
    "  --resume ID            continue job ID\n"
    "  --detach               only record the job (for `aurum worker` processes); print its id\n"
    "  --rolling              rolling backfill from the AURUM_BACKFILL_* settings (docs/backfill.md)\n"
    "  -h, --help             this help\n";

enum {
  O_START = 1000, O_END, O_CHUNK, O_CONC, O_ATT, O_RETRY, O_PRIO, O_LEASE, O_PROG, O_RESUME, O_DETACH,
  O_ROLLING, O_JOB, O_NORUN, O_HOURS
};

struct common {
  struct au_backfill_opts bo;
  bool bad;
};

static bool parse_common(int c, struct common *cm) {
  switch (c) {
  case O_CONC: cm->bo.concurrency = atoi(optarg); cm->bad |= cm->bo.concurrency < 1 || cm->bo.concurrency > 256; return true;
  case O_LEASE: cm->bo.lease_seconds = atof(optarg); cm->bad |= cm->bo.lease_seconds <= 0; return true;
  case O_RETRY: cm->bo.retry_base = atof(optarg); cm->bad |= cm->bo.retry_base < 0; return true;
  case O_PROG:
    if (!strcmp(optarg, "auto")) cm->bo.progress = AU_PROGRESS_AUTO;
    else if (!strcmp(optarg, "bar")) cm->bo.progress = AU_PROGRESS_BAR;
    else if (!strcmp(optarg, "json")) cm->bo.progress = AU_PROGRESS_JSON;
    else if (!strcmp(optarg, "none")) cm->bo.progress = AU_PROGRESS_NONE;
    else cm->bad = true;
    return true;
  default: return false;
  }
}

static void fmt_day(au_time t, char *buf) {
  if (t == AU_TIME_NONE)
    snprintf(buf, 32, "-");
  else
    au_time_fmt(t, buf);
}

struct failed_list {
  int n;
};

static int print_failed_cb(void *arg, const struct au_chunk *c) {
  struct failed_list *fl = arg;
  if (strcmp(c->status, "failed"))
    return 0;
  char a[32], b[32];
  fmt_day(c->range_start, a);
  fmt_day(c->range_end, b);
  fprintf(stderr, "aurum: failed chunk %d [%s .. %s) after %d attempt(s): %s\n", c->seq, a, b, c->attempts,
          c->last_error);
  fl->n++;
  return 0;
}

/* Print the job's outcome; returns the exit code. */
static int report_job(struct au_store *s, int64_t id, const struct au_backfill_stats *st, int rc,
                      const struct au_err *err) {
  struct au_job j;
  struct au_err e2 = AU_ERR_INIT;
  if (s->ops->job_get(s, id, &j, &e2) != 0)
    return au_cli_fail(e2.code, e2.msg);
  char a[32], b[32];
  fmt_day(j.range_start, a);
  fmt_day(j.range_end, b);
  printf("job %lld %s [%s .. %s): %s; %lld/%lld chunks done, %lld failed, %lld pending; %llu rows (this run: %llu rows, "
         "%llu requests, %llu chunk retries) [%.2fs]\n",
         (long long)j.id, j.table_key, a, b, j.status, (long long)j.n_done, (long long)j.n_chunks,
         (long long)j.n_failed, (long long)(j.n_pending + j.n_running), (unsigned long long)j.rows,
         (unsigned long long)st->rows, (unsigned long long)st->requests, (unsigned long long)st->chunks_retried,
         st->seconds);
  fflush(stdout);
  struct failed_list fl = {0};
  s->ops->chunk_list(s, id, print_failed_cb, &fl, &e2);
  if (rc) {
    fprintf(stderr, "aurum: %s\n", err->msg);
    return au_exit_code(rc);
  }
  if (fl.n) {
    fprintf(stderr, "aurum: job %lld: %d chunk(s) failed; rerun them with `aurum jobs retry %lld`\n", (long long)id,
            fl.n, (long long)id);
    return 1;
  }
  if (j.n_pending || j.n_running)
    return 1;
  return 0;
}

static int open_store_jobs(struct au_cli *cli, struct au_store **s) {
  int rc = au_cli_open_store(cli, s);
  if (rc)
    return rc;
  if (!(*s)->ops->job_create || !(*s)->ops->chunk_claim) {
    au_store_close(*s);
    *s = NULL;
    return au_cli_fail(AU_E_UNSUPPORTED, "backfill needs a store with job support");
  }
  return 0;
}

static int run_job(struct au_cli *cli, struct au_store *store, struct common *cm, int64_t id) {
  cm->bo.store_url = au_cli_store_url(cli);
  cm->bo.job_id = id;
  struct au_backfill_stats st;
  struct au_err err = AU_ERR_INIT;
  int rc = au_backfill_run(&cli->cfg, store, &cm->bo, &st, &err);
  return report_job(store, id, &st, rc, &err);
}

int au_cmd_backfill(struct au_cli *cli, int argc, char **argv) {
  static const struct option lo[] = {
      {"start", required_argument, NULL, O_START},      {"end", required_argument, NULL, O_END},
      {"chunk-days", required_argument, NULL, O_CHUNK}, {"concurrency", required_argument, NULL, O_CONC},
      {"max-attempts", required_argument, NULL, O_ATT}, {"retry-delay", required_argument, NULL, O_RETRY},
      {"priority", required_argument, NULL, O_PRIO},    {"lease", required_argument, NULL, O_LEASE},
      {"progress", required_argument, NULL, O_PROG},    {"resume", required_argument, NULL, O_RESUME},
      {"detach", no_argument, NULL, O_DETACH},          {"rolling", no_argument, NULL, O_ROLLING},
      {"help", no_argument, NULL, 'h'},                 {NULL, 0, NULL, 0}};
  const char *start = NULL, *end = NULL;
  struct common cm = {0};
  struct au_backfill_job_spec spec = {0};
  int64_t resume = 0;
  bool detach = false, rolling = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (parse_common(c, &cm))
      continue;
    switch (c) {
    case O_START: start = optarg; break;
    case O_END: end = optarg; break;
    case O_CHUNK: spec.chunk_days = atoi(optarg); cm.bad |= spec.chunk_days < 1 || spec.chunk_days > 3660; break;
    case O_ATT: spec.max_attempts = atoi(optarg); cm.bad |= spec.max_attempts < 1; break;
    case O_PRIO: spec.priority = atoi(optarg); spec.has_priority = true; break;
    case O_RESUME: resume = atoll(optarg); cm.bad |= resume <= 0; break;
    case O_DETACH: detach = true; break;
    case O_ROLLING: rolling = true; break;
    case 'h': fputs(backfill_usage, stdout); return 0;
    default: fputs(backfill_usage, stderr); return 2;
    }
  }
  int nargs = argc - optind;
  if (cm.bad || (!rolling && !resume && (nargs != 1 || !start || !end)) || (rolling && (nargs > 1 || start || end)) ||
      (resume && (nargs > 0 || start || end))) {
    fputs(backfill_usage, stderr);
    return 2;
  }
  int rc = au_cli_load_config(cli);
  if (rc)
    return rc;
  struct au_store *store = NULL;
  if ((rc = open_store_jobs(cli, &store)))
    return rc;
  struct au_err err = AU_ERR_INIT;
  if (rolling) {
    cm.bo.store_url = au_cli_store_url(cli);
    struct au_backfill_stats st;
    rc = au_backfill_rolling(&cli->cfg, store, nargs ? argv[optind] : NULL, &cm.bo, &st, &err);
    if (rc)
      rc = au_cli_fail(rc, err.msg);
    else if (st.chunks_failed)
      rc = 1;
    au_store_close(store);
    return rc;
  }
  int64_t id = resume;
  if (resume) {
    struct au_job j;
    if ((rc = store->ops->job_get(store, resume, &j, &err)) == 0 && strcmp(j.status, "done") &&
        (j.n_failed || strcmp(j.status, "running")))
      rc = store->ops->job_retry(store, resume, NULL, &err);
    if (rc) {
      au_store_close(store);
      return au_cli_fail(rc, err.msg);
    }
    fprintf(stderr, "aurum: resuming job %lld (%s)\n", (long long)j.id, j.table_key);
  } else {
    struct au_table_cfg *t = au_config_table(&cli->cfg, argv[optind], &err);
    if (!t) {
      au_store_close(store);
      return au_cli_fail(err.code, err.msg);
    }
    au_time s0, e0;
    if (au_cli_parse_when(start, t->def->trade_tz, &s0) || au_cli_parse_when(end, t->def->trade_tz, &e0)) {
      au_store_close(store);
      fprintf(stderr, "aurum: --start/--end must be YYYY-MM-DD or an ISO-8601 time\n");
      return 2;
    }
    if (e0 <= s0) {
      au_store_close(store);
      fprintf(stderr, "aurum: --end must be after --start (--end is exclusive)\n");
      return 2;
    }
    struct au_job job;
    bool resumed = false;
    spec.cfg = &cli->cfg;
    if ((rc = au_backfill_job_open(store, t, s0, e0, &spec, &job, &resumed, &err))) {
      au_store_close(store);
      return au_cli_fail(rc, err.msg);
    }
    id = job.id;
    fprintf(stderr, "aurum: %s job %lld: %s, %lld chunk(s) of %d day(s), %lld done\n", resumed ? "resuming" : "new",
            (long long)job.id, job.table_key, (long long)job.n_chunks, job.chunk_days, (long long)job.n_done);
  }
  if (detach) {
    printf("%lld\n", (long long)id);
    au_store_close(store);
    return 0;
  }
  rc = run_job(cli, store, &cm, id);
  au_store_close(store);
  return rc;
}

/* --- jobs --- */
static const char jobs_usage[] =
    "usage: aurum jobs                 list backfill jobs\n"
    "       aurum jobs show ID         the job's chunks: state, attempts, rows, worker, last error\n"
    "       aurum jobs retry ID        requeue failed chunks and run them (--no-run: only requeue)\n"
    "       aurum jobs cancel ID       stop handing out the job's chunks (running ones finish)\n"
    "Options for retry: --concurrency N, --retry-delay S, --lease S, --progress MODE, --no-run.\n";

static int list_cb(void *arg, const struct au_job *j) {
  int *n = arg;
  if ((*n)++ == 0)
    printf("%-6s %-24s %-10s %-22s %-22s %7s %7s %7s %7s %10s\n", "ID", "TABLE", "STATUS", "START", "END", "CHUNKS",
           "DONE", "FAILED", "PENDING", "ROWS");
  char a[32], b[32];
  fmt_day(j->range_start, a);
  fmt_day(j->range_end, b);
  printf("%-6lld %-24s %-10s %-22s %-22s %7lld %7lld %7lld %7lld %10llu\n", (long long)j->id, j->table_key, j->status,
         a, b, (long long)j->n_chunks, (long long)j->n_done, (long long)j->n_failed,
         (long long)(j->n_pending + j->n_running), (unsigned long long)j->rows);
  return 0;
}

static int show_cb(void *arg, const struct au_chunk *c) {
  AU_UNUSED(arg);
  char a[32], b[32], l[32] = "-";
  fmt_day(c->range_start, a);
  fmt_day(c->range_end, b);
  if (!strcmp(c->status, "running") && c->lease_until != AU_TIME_NONE)
    au_time_fmt(c->lease_until, l);
  printf("%-5d %-22s %-22s %-8s %8d %8llu  %-28s %-22s %s\n", c->seq, a, b, c->status, c->attempts,
         (unsigned long long)c->rows, c->worker[0] ? c->worker : "-", l, c->last_error);
  return 0;
}

int au_cmd_jobs(struct au_cli *cli, int argc, char **argv) {
  static const struct option lo[] = {
      {"concurrency", required_argument, NULL, O_CONC}, {"retry-delay", required_argument, NULL, O_RETRY},
      {"lease", required_argument, NULL, O_LEASE},      {"progress", required_argument, NULL, O_PROG},
      {"no-run", no_argument, NULL, O_NORUN},           {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct common cm = {0};
  bool norun = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (parse_common(c, &cm))
      continue;
    switch (c) {
    case O_NORUN: norun = true; break;
    case 'h': fputs(jobs_usage, stdout); return 0;
    default: fputs(jobs_usage, stderr); return 2;
    }
  }
  int nargs = argc - optind;
  const char *sub = nargs ? argv[optind] : "list";
  int64_t id = nargs > 1 ? atoll(argv[optind + 1]) : 0;
  bool needs_id = strcmp(sub, "list") != 0;
  if (cm.bad || (needs_id && (nargs != 2 || id <= 0)) || (!needs_id && nargs > 1) ||
      (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "retry") && strcmp(sub, "cancel"))) {
    fputs(jobs_usage, stderr);
    return 2;
  }
  int rc = au_cli_load_config(cli);
  if (rc)
    return rc;
  struct au_store *store = NULL;
  if ((rc = open_store_jobs(cli, &store)))
    return rc;
  struct au_err err = AU_ERR_INIT;
  if (!strcmp(sub, "list")) {
    int n = 0;
    rc = store->ops->job_list(store, list_cb, &n, &err);
    if (rc == 0 && n == 0)
      printf("no backfill jobs\n");
  } else if (!strcmp(sub, "show")) {
    struct au_job j;
    int n = 0;
    rc = store->ops->job_get(store, id, &j, &err);
    if (rc == 0) {
      list_cb(&n, &j);
      printf("\n%-5s %-22s %-22s %-8s %8s %8s  %-28s %-22s %s\n", "SEQ", "START", "END", "STATUS", "ATTEMPTS", "ROWS",
             "WORKER", "LEASE UNTIL", "LAST ERROR");
      rc = store->ops->chunk_list(store, id, show_cb, NULL, &err);
    }
  } else if (!strcmp(sub, "cancel")) {
    struct au_job j;
    rc = store->ops->job_get(store, id, &j, &err);
    if (rc == 0 && !strcmp(j.status, "done"))
      rc = au_err_set(&err, AU_E_INVAL, "job %lld is already done", (long long)id);
    if (rc == 0)
      rc = store->ops->job_set_status(store, id, "cancelled", &err);
    if (rc == 0)
      printf("job %lld cancelled (%lld chunk(s) were running and will finish)\n", (long long)id, (long long)j.n_running);
  } else { /* retry */
    uint64_t n = 0;
    rc = store->ops->job_retry(store, id, &n, &err);
    if (rc == 0) {
      fprintf(stderr, "aurum: job %lld: %llu failed chunk(s) requeued\n", (long long)id, (unsigned long long)n);
      if (!norun) {
        rc = run_job(cli, store, &cm, id);
        au_store_close(store);
        return rc;
      }
    }
  }
  au_store_close(store);
  return rc ? au_cli_fail(rc, err.msg) : 0;
}

/* --- worker --- */
static const char worker_usage[] =
    "usage: aurum worker [--job ID] [--concurrency N] [options]\n"
    "\n"
    "Claim and run backfill chunks (of job ID, or of any running job, highest priority first)\n"
    "until none is left. Several workers may run at once: with SQLite on one machine, with\n"
    "PostgreSQL on many. A chunk whose worker died is reclaimed (at once when the worker was on\n"
    "this machine, else when its lease expires).\n"
    "Options: --concurrency N, --lease S, --retry-delay S, --progress MODE.\n";

int au_cmd_worker(struct au_cli *cli, int argc, char **argv) {
  static const struct option lo[] = {
      {"job", required_argument, NULL, O_JOB},       {"concurrency", required_argument, NULL, O_CONC},
      {"lease", required_argument, NULL, O_LEASE},   {"retry-delay", required_argument, NULL, O_RETRY},
      {"progress", required_argument, NULL, O_PROG}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct common cm = {0};
  int64_t job = 0;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (parse_common(c, &cm))
      continue;
    switch (c) {
    case O_JOB: job = atoll(optarg); cm.bad |= job <= 0; break;
    case 'h': fputs(worker_usage, stdout); return 0;
    default: fputs(worker_usage, stderr); return 2;
    }
  }
  if (cm.bad || optind != argc) {
    fputs(worker_usage, stderr);
    return 2;
  }
  int rc = au_cli_load_config(cli);
  if (rc)
    return rc;
  struct au_store *store = NULL;
  if ((rc = open_store_jobs(cli, &store)))
    return rc;
  if (job) {
    rc = run_job(cli, store, &cm, job);
  } else {
    cm.bo.store_url = au_cli_store_url(cli);
    struct au_backfill_stats st;
    struct au_err err = AU_ERR_INIT;
    rc = au_backfill_run(&cli->cfg, store, &cm.bo, &st, &err);
    printf("worker: %llu chunk(s) done, %llu failed, %llu rows, %llu requests [%.2fs]\n",
           (unsigned long long)st.chunks_done, (unsigned long long)st.chunks_failed, (unsigned long long)st.rows,
           (unsigned long long)st.requests, st.seconds);
    if (rc)
      rc = au_cli_fail(rc, err.msg);
    else if (st.chunks_failed)
      rc = 1;
  }
  au_store_close(store);
  return rc;
}

/* --- quota --- */
static const char quota_usage[] =
    "usage: aurum quota [--hours N]\n"
    "\n"
    "Show each configured table's backfill quotas (max_records_per_hour, max_bytes_per_hour,\n"
    "max_concurrent_requests, priority) and the usage recorded in the store per hour over the\n"
    "last N hours (default 24).\n";

static int quota_cb(void *arg, const struct au_quota_usage *u) {
  int *n = arg;
  if ((*n)++ == 0)
    printf("\n%-22s %-28s %12s %14s %10s\n", "HOUR", "DATASET", "RECORDS", "BYTES", "REQUESTS");
  char h[32];
  au_time_fmt(u->hour, h);
  printf("%-22s %-28s %12llu %14llu %10llu\n", h, u->dataset, (unsigned long long)u->records,
         (unsigned long long)u->bytes, (unsigned long long)u->requests);
  return 0;
}

int au_cmd_quota(struct au_cli *cli, int argc, char **argv) {
  static const struct option lo[] = {{"hours", required_argument, NULL, O_HOURS}, {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  int hours = 24, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case O_HOURS: hours = atoi(optarg); break;
    case 'h': fputs(quota_usage, stdout); return 0;
    default: fputs(quota_usage, stderr); return 2;
    }
  }
  if (optind != argc || hours < 1) {
    fputs(quota_usage, stderr);
    return 2;
  }
  int rc = au_cli_load_config(cli);
  if (rc)
    return rc;
  struct au_store *store = NULL;
  if ((rc = open_store_jobs(cli, &store)))
    return rc;
  printf("%-28s %20s %20s %12s %8s\n", "DATASET", "MAX_RECORDS_PER_HOUR", "MAX_BYTES_PER_HOUR", "MAX_CONCURRENT",
         "PRIORITY");
  for (size_t i = 0; i < cli->cfg.ntables; i++) {
    const struct au_table_cfg *t = &cli->cfg.tables[i];
    char r[32] = "unlimited", b[32] = "unlimited", m[32] = "unlimited";
    if (t->max_records_per_hour > 0)
      snprintf(r, sizeof(r), "%.0f", t->max_records_per_hour);
    if (t->max_bytes_per_hour > 0)
      snprintf(b, sizeof(b), "%.0f", t->max_bytes_per_hour);
    if (t->max_concurrent_requests > 0)
      snprintf(m, sizeof(m), "%d", t->max_concurrent_requests);
    printf("%-28s %20s %20s %12s %8d\n", t->qualified, r, b, m, t->priority);
  }
  int n = 0;
  struct au_err err = AU_ERR_INIT;
  rc = store->ops->quota_list(store, au_now_real() - (au_time)hours * AU_HOUR, quota_cb, &n, &err);
  if (rc == 0 && n == 0)
    printf("\nno usage recorded in the last %d hour(s)\n", hours);
  au_store_close(store);
  return rc ? au_cli_fail(rc, err.msg) : 0;
}

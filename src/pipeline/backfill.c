/* backfill.c - the backfill planner, orchestrator, worker loop, quotas and rolling mode.
 * See backfill.h and docs/backfill.md.
 *
 * Threads: N workers, each with its own store connection, plus one heartbeat thread (its
 * own connection too) that renews the leases of the chunks being run and redraws the
 * progress bar. Shared state (HTTP clients per source, job cache, progress) is behind one
 * mutex; nothing is held across a chunk's run. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "net/http.h"
#include "pipeline/backfill.h"
#include "pipeline/pace.h"
#include "pipeline/sync.h"
#include "sources/source.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern volatile sig_atomic_t au_cancel_requested;

#define RETRY_MAX 300.0
#define POLL_MIN 0.05
#define POLL_MAX 1.0
/* worker threads per request slot: while one thread waits for its response, another
 * claims its next chunk, parses and stores, so the slot is not idle between requests */
#define PIPELINE 2

void au_backfill_worker_id(int n, char *buf, size_t cap) {
  char host[64];
  if (gethostname(host, sizeof(host)) != 0)
    snprintf(host, sizeof(host), "localhost");
  host[sizeof(host) - 1] = 0;
  for (char *p = host; *p; p++)
    if (*p == ':')
      *p = '_';
  snprintf(buf, cap, "%s:%ld:%d", host, (long)getpid(), n);
}

/* --- planning ------------------------------------------------------------------------ */

int au_backfill_plan(const struct au_config *cfg, const struct au_table_cfg *t, au_time start, au_time end,
                     int chunk_days, struct au_chunk_range **out, size_t *n, struct au_err *err) {
  *out = NULL;
  *n = 0;
  if (chunk_days <= 0)
    chunk_days = au_table_window_days(cfg, t);
  if (end <= start)
    return au_err_set(err, AU_E_INVAL, "%s: the backfill range is empty (--end must be after --start)",
                      t->qualified);
  const struct au_tz *tz = au_tz_get(t->def->trade_tz ? t->def->trade_tz : "UTC", err);
  if (!tz)
    return err->code;
  int y, m, d;
  au_tz_local_date(tz, start, &y, &m, &d);
  int64_t day = au_days_from_civil(y, m, d);
  size_t cap = 16;
  struct au_chunk_range *v = au_xmalloc(cap * sizeof(*v));
  au_time ws = start;
  while (ws < end) {
    day += chunk_days;
    au_civil_from_days(day, &y, &m, &d);
    au_time we = au_tz_day_start(tz, y, m, d);
    if (we > end || we <= ws)
      we = end;
    if (*n == cap) {
      cap *= 2;
      v = au_xrealloc(v, cap * sizeof(*v));
    }
    v[(*n)++] = (struct au_chunk_range){ws, we};
    ws = we;
  }
  *out = v;
  return 0;
}

static bool has_job_ops(const struct au_store *s) {
  const struct au_store_ops *o = s->ops;
  return o->commit_chunk && o->job_create && o->job_find && o->job_get && o->job_list &&
         o->job_set_status && o->job_retry && o->chunk_list && o->chunk_claim && o->chunk_renew &&
         o->chunk_fail && o->chunk_release && o->quota_add && o->quota_get && o->quota_list;
}

static int need_jobs(const struct au_store *s, struct au_err *err) {
  if (!has_job_ops(s))
    return au_err_set(err, AU_E_UNSUPPORTED, "backfill needs a store with job support (the %s store has none)",
                      s->ops->scheme);
  return 0;
}

int au_backfill_job_open(struct au_store *s, const struct au_table_cfg *t, au_time start, au_time end,
                         const struct au_backfill_job_spec *spec, struct au_job *job, bool *resumed,
                         struct au_err *err) {
  int rc = need_jobs(s, err);
  if (rc)
    return rc;
  *resumed = false;
  rc = s->ops->job_find(s, t->qualified, start, end, job, err);
  if (rc == 0) {
    *resumed = true;
    if (job->n_failed > 0 || strcmp(job->status, "running") != 0)
      rc = s->ops->job_retry(s, job->id, NULL, err);
    if (rc == 0)
      rc = s->ops->job_get(s, job->id, job, err);
    return rc;
  }
  if (rc != AU_E_NOTFOUND)
    return rc;
  au_err_clear(err);
  int chunk_days = spec->chunk_days > 0 ? spec->chunk_days : au_table_window_days(spec->cfg, t);
  struct au_chunk_range *ch;
  size_t n;
  if ((rc = au_backfill_plan(spec->cfg, t, start, end, chunk_days, &ch, &n, err)))
    return rc;
  memset(job, 0, sizeof(*job));
  snprintf(job->table_key, sizeof(job->table_key), "%s", t->qualified);
  job->range_start = start;
  job->range_end = end;
  job->chunk_days = chunk_days;
  job->priority = spec->has_priority ? spec->priority : t->priority;
  job->max_attempts = spec->max_attempts > 0 ? spec->max_attempts : 3;
  job->max_concurrent = t->max_concurrent_requests;
  rc = s->ops->job_create(s, job, ch, n, err);
  free(ch);
  if (rc == 0)
    rc = s->ops->job_get(s, job->id, job, err);
  return rc;
}

/* --- quotas ----------------------------------------------------------------------------- */

static au_time hour_start(au_time t) { return t - ((t % AU_HOUR) + AU_HOUR) % AU_HOUR; }

au_time au_backfill_quota_wait(const struct au_table_cfg *t, const struct au_quota_usage *u,
                               double est_records, double est_bytes, au_time now) {
  bool over = false;
  /* a chunk bigger than the whole quota still runs at the start of an hour (usage 0),
   * otherwise it could never run */
  if (t->max_records_per_hour > 0 && u->records > 0 &&
      (double)u->records + est_records > t->max_records_per_hour)
    over = true;
  if (t->max_bytes_per_hour > 0 && u->bytes > 0 && (double)u->bytes + est_bytes > t->max_bytes_per_hour)
    over = true;
  return over ? hour_start(now) + AU_HOUR : 0;
}

/* --- shared run state --------------------------------------------------------------------- */

struct client_ent {
  char source[64];
  struct au_http_client *http;
  struct au_pace pace; /* shared with every process on the store (pipeline/pace.h) */
};

struct job_ent {
  struct au_job job;
  struct au_table_cfg *t; /* heap copy of the config entry (stable while cfg grows) */
  uint64_t rows_done, bytes_done, chunks_done;
  bool finished;          /* no longer claimable here */
  /* one run record (aurum_runs) per job and process run, not one per chunk */
  bool rec_started;
  struct au_run_record rec;
  char rec_error[256];
};

struct held {
  int64_t chunk_id;
  char worker[160];
};

struct run {
  struct au_config *cfg;
  const struct au_backfill_opts *o;
  struct au_backfill_stats *st;
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* signalled when a chunk finishes or the run stops */
  uint64_t finishes;
  struct client_ent *clients;
  size_t nclients;
  struct job_ent *jobs;
  size_t njobs;
  struct held *held;
  size_t nheld, capheld;
  /* SQLite has one writer: this process's threads take turns on wmu for their write
   * transactions instead of meeting the busy timeout (whose sleeps are milliseconds) */
  bool serialize;
  pthread_mutex_t wmu;
  /* requests in flight: at most o->concurrency (slots_free counts down, under mu), while
   * PIPELINE threads per slot overlap claiming, parsing and storing with the requests */
  int slots_free;
  pthread_cond_t slot_cv;
  uint64_t slots_taken;   /* requests started (under mu) */
  bool stop;              /* a fatal error or cancel: stop claiming */
  int fatal_rc;
  struct au_err fatal;
  double t0;
  double last_reclaim;
  /* progress */
  enum au_progress_mode mode;
  FILE *out;
  int64_t total, done0, done, failed;
  bool bar_drawn;
};

static void wlock(void *arg) {
  struct run *r = arg;
  if (r->serialize)
    pthread_mutex_lock(&r->wmu);
}

static void wunlock(void *arg) {
  struct run *r = arg;
  if (r->serialize)
    pthread_mutex_unlock(&r->wmu);
}

static void slot_take(void *arg) {
  struct run *r = arg;
  pthread_mutex_lock(&r->mu);
  while (r->slots_free <= 0)
    pthread_cond_wait(&r->slot_cv, &r->mu);
  r->slots_free--;
  if (++r->slots_taken == (uint64_t)r->o->concurrency)
    pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void slot_give(void *arg) {
  struct run *r = arg;
  pthread_mutex_lock(&r->mu);
  r->slots_free++;
  pthread_cond_signal(&r->slot_cv);
  pthread_mutex_unlock(&r->mu);
}

static struct job_ent *job_lookup(struct run *r, struct au_store *s, int64_t id, struct au_err *err) {
  for (size_t i = 0; i < r->njobs; i++)
    if (r->jobs[i].job.id == id)
      return &r->jobs[i];
  struct au_job j;
  if (s->ops->job_get(s, id, &j, err) != 0)
    return NULL;
  struct au_table_cfg *t = au_config_table(r->cfg, j.table_key, err);
  if (!t)
    return NULL;
  r->jobs = au_xrealloc(r->jobs, (r->njobs + 1) * sizeof(*r->jobs));
  struct job_ent *e = &r->jobs[r->njobs++];
  memset(e, 0, sizeof(*e));
  e->job = j;
  e->t = au_xmalloc(sizeof(*e->t));
  *e->t = *t;
  return e;
}

static struct au_http_client *client_for(struct run *r, const struct au_table_cfg *t, struct au_pace *pace,
                                         struct au_err *err) {
  for (size_t i = 0; i < r->nclients; i++)
    if (!strcmp(r->clients[i].source, t->src->name)) {
      *pace = r->clients[i].pace;
      return r->clients[i].http;
    }
  struct au_opts opts = {0};
  char *base = NULL;
  struct au_http_policy pol;
  int rc = au_config_resolve(r->cfg, t, &opts, &base, err);
  if (rc == 0)
    rc = au_config_http_policy(t->src, &opts, t->rate_limit_delay, &pol, err);
  free(base);
  au_opts_release(&opts);
  if (rc)
    return NULL;
  r->clients = au_xrealloc(r->clients, (r->nclients + 1) * sizeof(*r->clients));
  struct client_ent *c = &r->clients[r->nclients++];
  snprintf(c->source, sizeof(c->source), "%s", t->src->name);
  c->http = au_http_client_new(t->src->name, &pol);
  au_pace_from_policy(t->src->name, &pol, &c->pace);
  *pace = c->pace;
  return c->http;
}

/* What a chunk's HTTP calls pass through (sync's http_enter/http_leave): a request slot of
 * this process (unless the chunk holds one throughout) and the store's shared pacing. */
struct gate {
  struct run *r;
  struct au_store *s;
  struct au_pace pace;
  bool per_call_slot;
  bool warned;
};

static void gate_enter(void *arg) {
  struct gate *g = arg;
  if (g->per_call_slot)
    slot_take(g->r);
  struct au_err err = AU_ERR_INIT;
  if (au_pace_wait(g->s, &g->pace, wlock, wunlock, g->r, &err) != 0 && !g->warned) {
    /* the in-process limiter still holds; say so once per chunk */
    au_warn(g->pace.key, "shared request pacing unavailable, pacing this process only: %s", err.msg);
    g->warned = true;
  }
}

static void gate_leave(void *arg) {
  struct gate *g = arg;
  if (g->per_call_slot)
    slot_give(g->r);
}

static void hold(struct run *r, int64_t id, const char *worker) {
  pthread_mutex_lock(&r->mu);
  if (r->nheld == r->capheld) {
    r->capheld = r->capheld ? r->capheld * 2 : 8;
    r->held = au_xrealloc(r->held, r->capheld * sizeof(*r->held));
  }
  r->held[r->nheld].chunk_id = id;
  snprintf(r->held[r->nheld].worker, sizeof(r->held[r->nheld].worker), "%s", worker);
  r->nheld++;
  pthread_mutex_unlock(&r->mu);
}

static void unhold(struct run *r, int64_t id) {
  pthread_mutex_lock(&r->mu);
  for (size_t i = 0; i < r->nheld; i++)
    if (r->held[i].chunk_id == id) {
      r->held[i] = r->held[--r->nheld];
      break;
    }
  pthread_mutex_unlock(&r->mu);
}

/* --- progress ------------------------------------------------------------------------------ */

static void fmt_dur(double s, char *buf, size_t n) {
  if (s < 0 || s > 1e8) {
    snprintf(buf, n, "--:--");
    return;
  }
  long v = (long)(s + 0.5);
  if (v >= 3600)
    snprintf(buf, n, "%ld:%02ld:%02ld", v / 3600, (v / 60) % 60, v % 60);
  else
    snprintf(buf, n, "%ld:%02ld", v / 60, v % 60);
}

static double eta_of(const struct run *r, double el) {
  int64_t now_done = r->done + r->failed - r->done0;
  int64_t left = r->total - r->done - r->failed;
  if (now_done <= 0 || left < 0)
    return -1;
  return el / (double)now_done * (double)left;
}

/* mutex held */
static void draw_bar(struct run *r) {
  if (r->mode != AU_PROGRESS_BAR)
    return;
  double el = au_mono() - r->t0;
  int width = 24;
  int filled = r->total > 0 ? (int)((r->done + r->failed) * width / r->total) : 0;
  char bar[64];
  for (int i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[width] = 0;
  char eta[32], elb[32];
  fmt_dur(eta_of(r, el), eta, sizeof(eta));
  fmt_dur(el, elb, sizeof(elb));
  double rpm = el > 0 ? (double)r->st->requests / el * 60.0 : 0;
  fprintf(r->out, "\r\033[K[%s] %lld/%lld chunks%s%.0lld%s  %llu rows  %.0f req/min  %s elapsed  ETA %s", bar,
          (long long)r->done, (long long)r->total, r->failed ? " (" : "", (long long)r->failed,
          r->failed ? " failed)" : "", (unsigned long long)r->st->rows, rpm, elb, eta);
  fflush(r->out);
  r->bar_drawn = true;
}

/* mutex held */
static void chunk_event(struct run *r, const struct job_ent *je, const struct au_chunk *c, const char *status,
                        uint64_t rows, uint64_t requests, double secs, const char *error) {
  if (r->mode == AU_PROGRESS_BAR) {
    draw_bar(r);
    return;
  }
  if (r->mode != AU_PROGRESS_JSON)
    return;
  double el = au_mono() - r->t0;
  char a[32], b[32];
  au_time_fmt(c->range_start, a);
  au_time_fmt(c->range_end, b);
  struct au_buf line = AU_BUF_INIT(0);
  int e = au_buf_printf(&line,
                        "{\"event\":\"chunk\",\"job\":%lld,\"chunk\":%lld,\"seq\":%d,\"table\":\"%s\","
                        "\"start\":\"%s\",\"end\":\"%s\",\"status\":\"%s\",\"attempt\":%d,\"rows\":%llu,"
                        "\"requests\":%llu,\"seconds\":%.3f",
                        (long long)je->job.id, (long long)c->id, c->seq, je->job.table_key, a, b, status,
                        c->attempts, (unsigned long long)rows, (unsigned long long)requests, secs);
  if (!e && error)
    e = au_buf_adds(&line, ",\"error\":") || au_buf_add_json_str(&line, error, strlen(error));
  double eta = eta_of(r, el);
  if (!e)
    e = au_buf_printf(&line,
                      ",\"done\":%lld,\"failed\":%lld,\"total\":%lld,\"rows_total\":%llu,"
                      "\"requests_per_min\":%.1f,\"elapsed_seconds\":%.3f,\"eta_seconds\":%.1f}\n",
                      (long long)r->done, (long long)r->failed, (long long)r->total,
                      (unsigned long long)r->st->rows, el > 0 ? (double)r->st->requests / el * 60.0 : 0, el,
                      eta < 0 ? 0 : eta);
  if (!e) {
    fwrite(line.ptr, 1, line.len, r->out);
    fflush(r->out);
  }
  au_buf_release(&line);
}

/* --- reclaiming chunks of dead local processes ---------------------------------------- */

static bool holder_dead(const char *worker, const char *myhost) {
  const char *c1 = strchr(worker, ':');
  if (!c1)
    return false;
  size_t hl = (size_t)(c1 - worker);
  if (hl != strlen(myhost) || strncmp(worker, myhost, hl) != 0)
    return false; /* another machine: only its lease can tell */
  long pid = strtol(c1 + 1, NULL, 10);
  if (pid <= 0)
    return false;
  if (pid == (long)getpid())
    return false; /* ours: held chunks are renewed, others were released */
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

struct reclaim_ctx {
  struct au_store *s;
  const char *host;
  int n;
};

static int reclaim_cb(void *arg, const struct au_chunk *c) {
  struct reclaim_ctx *rc = arg;
  if (strcmp(c->status, "running") || !holder_dead(c->worker, rc->host))
    return 0;
  struct au_err e = AU_ERR_INIT;
  if (rc->s->ops->chunk_release(rc->s, c->id, c->worker, AU_TIME_NONE, &e) == 0) {
    au_info("backfill", "job %lld chunk %d: reclaimed from dead worker %s", (long long)c->job_id, c->seq,
            c->worker);
    rc->n++;
  }
  return 0;
}

struct joblist {
  int64_t *ids;
  size_t n;
};

static int running_jobs_cb(void *arg, const struct au_job *j) {
  struct joblist *l = arg;
  if (!strcmp(j->status, "running")) {
    l->ids = au_xrealloc(l->ids, (l->n + 1) * sizeof(int64_t));
    l->ids[l->n++] = j->id;
  }
  return 0;
}

static int reclaim_dead(struct au_store *s, int64_t job_id, struct au_err *err) {
  char me[160];
  au_backfill_worker_id(0, me, sizeof(me));
  *strchr(me, ':') = 0;
  struct reclaim_ctx ctx = {s, me, 0};
  struct joblist l = {0};
  int rc = 0;
  if (job_id > 0) {
    l.ids = au_xmalloc(sizeof(int64_t));
    l.ids[0] = job_id;
    l.n = 1;
  } else {
    rc = s->ops->job_list(s, running_jobs_cb, &l, err);
  }
  for (size_t i = 0; rc == 0 && i < l.n; i++)
    rc = s->ops->chunk_list(s, l.ids[i], reclaim_cb, &ctx, err);
  free(l.ids);
  return rc;
}

/* Chunks still to run (pending, running anywhere) in scope. */
static int remaining(struct run *r, struct au_store *s, int64_t *left, int64_t *pending, struct au_err *err) {
  *left = *pending = 0;
  if (r->o->job_id > 0) {
    struct au_job j;
    int rc = s->ops->job_get(s, r->o->job_id, &j, err);
    if (rc)
      return rc;
    if (!strcmp(j.status, "running")) {
      *left = j.n_pending + j.n_running;
      *pending = j.n_pending;
    }
    return 0;
  }
  struct joblist l = {0};
  int rc = s->ops->job_list(s, running_jobs_cb, &l, err);
  for (size_t i = 0; rc == 0 && i < l.n; i++) {
    struct au_job j;
    if ((rc = s->ops->job_get(s, l.ids[i], &j, err)) == 0) {
      *left += j.n_pending + j.n_running;
      *pending += j.n_pending;
    }
  }
  free(l.ids);
  return rc;
}

/* --- the worker ----------------------------------------------------------------------------- */

/* Per worker thread and job: the destination table is ensured on the thread's store
 * connection once (by its first chunk), not per chunk. */
struct wjob {
  int64_t job_id;
  bool table_ready;
};

struct worker {
  struct run *r;
  int n;
  char id[160];
  pthread_t th;
  struct wjob *jobs;
  size_t njobs;
};

static struct wjob *worker_job(struct worker *w, int64_t job_id) {
  for (size_t i = 0; i < w->njobs; i++)
    if (w->jobs[i].job_id == job_id)
      return &w->jobs[i];
  w->jobs = au_xrealloc(w->jobs, (w->njobs + 1) * sizeof(*w->jobs));
  struct wjob *j = &w->jobs[w->njobs++];
  memset(j, 0, sizeof(*j));
  j->job_id = job_id;
  return j;
}

/* Record the start of this process's run of a job (its first chunk here). */
static void job_run_begin(struct run *r, struct au_store *s, int64_t job_id) {
  pthread_mutex_lock(&r->mu);
  struct au_err e = AU_ERR_INIT;
  struct job_ent *je = job_lookup(r, s, job_id, &e);
  bool first = je && !je->rec_started;
  if (first)
    je->rec_started = true;
  struct au_run_record rec = {0};
  if (first) {
    rec.key = je->t->qualified;
    rec.started_at = au_now_real();
    rec.status = "running";
  }
  pthread_mutex_unlock(&r->mu);
  if (!first)
    return;
  wlock(r);
  int rc = s->ops->run_begin(s, &rec, &e);
  wunlock(r);
  if (rc) {
    au_warn(rec.key, "could not record the run: %s", e.msg);
    return;
  }
  pthread_mutex_lock(&r->mu);
  je = job_lookup(r, s, job_id, &e);
  if (je) {
    je->rec.id = rec.id;
    je->rec.started_at = rec.started_at;
  }
  pthread_mutex_unlock(&r->mu);
}

/* Finish the run records (main thread, workers joined). */
static void job_runs_end(struct run *r, struct au_store *s) {
  for (size_t i = 0; i < r->njobs; i++) {
    struct job_ent *je = &r->jobs[i];
    if (!je->rec.id)
      continue;
    je->rec.key = je->t->qualified;
    je->rec.finished_at = au_now_real();
    je->rec.status = je->rec_error[0] ? "failed" : "ok";
    je->rec.error = je->rec_error[0] ? je->rec_error : NULL;
    struct au_err e = AU_ERR_INIT;
    if (s->ops->run_end(s, &je->rec, &e))
      au_warn(je->t->qualified, "could not record the run: %s", e.msg);
  }
}

static void set_fatal(struct run *r, int rc, const struct au_err *e) {
  pthread_mutex_lock(&r->mu);
  if (!r->fatal_rc) {
    r->fatal_rc = rc;
    r->fatal = *e;
  }
  r->stop = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/* Sleep up to secs, waking early when a chunk finishes or the run stops (mutex not held).
 * Returns true when woken early. */
static bool wait_change(struct run *r, double secs) {
  pthread_mutex_lock(&r->mu);
  uint64_t seen = r->finishes;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = ts.tv_nsec + (long long)(secs * 1e9);
  ts.tv_sec += (time_t)(ns / 1000000000LL);
  ts.tv_nsec = (long)(ns % 1000000000LL);
  while (!r->stop && r->finishes == seen)
    if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
      break;
  bool woke = r->stop || r->finishes != seen;
  pthread_mutex_unlock(&r->mu);
  return woke;
}

static void finished_one(struct run *r) {
  pthread_mutex_lock(&r->mu);
  r->finishes++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static bool retryable(int rc) {
  return !(rc == AU_E_AUTH || rc == AU_E_CONFIG || rc == AU_E_UNSUPPORTED || rc == AU_E_NOTFOUND);
}

/* Run one claimed chunk. Returns 0, or a fatal error that stops every worker.
 * whole_slot: the caller holds a request slot for the whole chunk. */
static int run_chunk_in(struct worker *w, struct au_store *s, struct au_chunk *c, bool whole_slot) {
  struct run *r = w->r;
  struct au_err err = AU_ERR_INIT;
  pthread_mutex_lock(&r->mu);
  struct job_ent *je = job_lookup(r, s, c->job_id, &err);
  struct gate gate = {.r = r, .s = s, .per_call_slot = !whole_slot};
  struct au_http_client *http = je ? client_for(r, je->t, &gate.pace, &err) : NULL;
  struct au_table_cfg *t = je ? je->t : NULL;
  double est_rec = je && je->chunks_done ? (double)je->rows_done / (double)je->chunks_done : 0;
  double est_bytes = je && je->chunks_done ? (double)je->bytes_done / (double)je->chunks_done : 0;
  struct au_job job = je ? je->job : (struct au_job){0};
  pthread_mutex_unlock(&r->mu);
  if (!je || !http) {
    struct au_err e2 = AU_ERR_INIT;
    au_err_prefix(&err, "job %lld", (long long)c->job_id);
    wlock(r);
    s->ops->chunk_fail(s, c->id, w->id, err.msg, AU_TIME_NONE, &e2);
    wunlock(r);
    return err.code ? err.code : AU_E_CONFIG;
  }

  /* quota: wait (give the chunk back until the next window) rather than fail */
  if (t->max_records_per_hour > 0 || t->max_bytes_per_hour > 0) {
    struct au_quota_usage u;
    au_time now = au_now_real();
    if (s->ops->quota_get(s, t->qualified, now, &u, &err) == 0) {
      au_time until = au_backfill_quota_wait(t, &u, est_rec, est_bytes, now);
      if (until) {
        char ts[32];
        au_time_fmt(until, ts);
        au_info(t->qualified, "hourly quota reached (%llu records, %llu bytes this hour); chunk %d waits until %s",
                (unsigned long long)u.records, (unsigned long long)u.bytes, c->seq, ts);
        wlock(r);
        s->ops->chunk_release(s, c->id, w->id, until, &err);
        wunlock(r);
        return 0;
      }
    }
    au_err_clear(&err);
  }

  struct wjob *wj = worker_job(w, c->job_id);
  job_run_begin(r, s, c->job_id);
  hold(r, c->id, w->id);
  struct au_sync_opts so = {.start = c->range_start,
                            .end = c->range_end,
                            .http = http,
                            .no_lock = true,
                            .keep_watermark = true,
                            .chunk_id = c->id,
                            .chunk_worker = w->id,
                            .window_attempts = 1,
                            .no_run_record = true,
                            .table_ready = wj->table_ready,
                            .tx_enter = wlock,
                            .tx_leave = wunlock,
                            .tx_arg = r,
                            .http_enter = gate_enter,
                            .http_leave = gate_leave,
                            .http_arg = &gate};
  struct au_sync_result res;
  double t0 = au_mono();
  int rc = au_sync_table(r->cfg, t, s, &so, &res, &err);
  double secs = au_mono() - t0;
  if (rc == 0)
    wj->table_ready = true;
  unhold(r, c->id);
  finished_one(r);

  pthread_mutex_lock(&r->mu);
  r->st->requests += res.requests;
  r->st->bytes += res.bytes;
  r->st->http_seconds += res.http_seconds;
  r->st->parse_seconds += res.parse_seconds;
  r->st->store_seconds += res.store_seconds;
  struct au_err le = AU_ERR_INIT;
  struct job_ent *rj = job_lookup(r, s, c->job_id, &le);
  if (rj) {
    rj->rec.inserted += res.inserted;
    rj->rec.updated += res.updated;
    rj->rec.unchanged += res.unchanged;
    rj->rec.requests += res.requests;
    rj->rec.batches += res.batches;
  }
  pthread_mutex_unlock(&r->mu);

  if (rc == 0) {
    struct au_err qe = AU_ERR_INIT;
    wlock(r);
    int qrc = s->ops->quota_add(s, t->qualified, au_now_real(), res.rows, res.bytes, res.requests, &qe);
    wunlock(r);
    if (qrc)
      au_warn(t->qualified, "could not record quota usage: %s", qe.msg);
    c->rows = res.rows;
    snprintf(c->status, sizeof(c->status), "done");
    pthread_mutex_lock(&r->mu);
    je = job_lookup(r, s, c->job_id, &qe);
    if (je) {
      je->rows_done += res.rows;
      je->bytes_done += res.bytes;
      je->chunks_done++;
    }
    r->st->chunks_done++;
    r->st->rows += res.rows;
    r->done++;
    chunk_event(r, je ? je : &(struct job_ent){.job = job}, c, "done", res.rows, res.requests, secs, NULL);
    if (r->o->on_chunk_done)
      r->o->on_chunk_done(r->o->on_chunk_arg, &job, c);
    pthread_mutex_unlock(&r->mu);
    return 0;
  }

  struct au_err e2 = AU_ERR_INIT;
  if (rc == AU_E_CANCELLED) {
    wlock(r);
    s->ops->chunk_release(s, c->id, w->id, AU_TIME_NONE, &e2);
    wunlock(r);
    set_fatal(r, rc, &err);
    return rc;
  }
  bool final = !retryable(rc) || c->attempts >= job.max_attempts;
  au_time retry_at = AU_TIME_NONE;
  double wait = 0;
  if (!final) {
    wait = r->o->retry_base * (double)(1LL << (c->attempts > 20 ? 20 : c->attempts - 1));
    if (wait > RETRY_MAX)
      wait = RETRY_MAX;
    retry_at = au_now_real() + (au_time)(wait * 1e6);
  }
  wlock(r);
  int frc = s->ops->chunk_fail(s, c->id, w->id, err.msg, retry_at, &e2);
  wunlock(r);
  if (frc != 0)
    au_warn(t->qualified, "chunk %d: could not record the failure: %s", c->seq, e2.msg);
  if (final)
    au_error(t->qualified, "chunk %d failed after %d attempt(s): %s", c->seq, c->attempts, err.msg);
  else
    au_warn(t->qualified, "chunk %d failed (attempt %d of %d), retrying in %.1fs: %s", c->seq, c->attempts,
            job.max_attempts, wait, err.msg);
  pthread_mutex_lock(&r->mu);
  if (final) {
    r->st->chunks_failed++;
    r->failed++;
  } else {
    r->st->chunks_retried++;
  }
  je = job_lookup(r, s, c->job_id, &e2);
  if (je && final)
    snprintf(je->rec_error, sizeof(je->rec_error), "chunk %d: %.200s", c->seq, err.msg);
  chunk_event(r, je ? je : &(struct job_ent){.job = job}, c, final ? "failed" : "retry", res.rows, res.requests,
              secs, err.msg);
  pthread_mutex_unlock(&r->mu);
  if (!retryable(rc)) {
    set_fatal(r, rc, &err);
    return rc;
  }
  return 0;
}

/* A chunk of a table with an hourly quota holds its request slot from the quota check to
 * the recording of its usage, so no more chunks than slots are admitted against the same
 * usage figure (pipelining threads would otherwise pass the check on stale usage). */
static int run_chunk(struct worker *w, struct au_store *s, struct au_chunk *c) {
  struct run *r = w->r;
  struct au_err e = AU_ERR_INIT;
  pthread_mutex_lock(&r->mu);
  struct job_ent *je = job_lookup(r, s, c->job_id, &e);
  bool quota = je && (je->t->max_records_per_hour > 0 || je->t->max_bytes_per_hour > 0);
  pthread_mutex_unlock(&r->mu);
  if (quota)
    slot_take(r);
  int rc = run_chunk_in(w, s, c, quota);
  if (quota)
    slot_give(r);
  return rc;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct run *r = w->r;
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = NULL;
  if (w->n >= r->o->concurrency) {
    /* a pipelining thread is needed when the first requests are in flight: let the first
     * threads open their connections and start them without competing for the CPU */
    pthread_mutex_lock(&r->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    while (!r->stop && r->slots_taken < (uint64_t)r->o->concurrency)
      if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
        break;
    pthread_mutex_unlock(&r->mu);
  }
  if (au_store_open(r->o->store_url, &s, &err) != 0) {
    set_fatal(r, err.code ? err.code : AU_E_STORE, &err);
    return NULL;
  }
  double poll = POLL_MIN;
  for (;;) {
    if (au_cancel_requested) {
      struct au_err e = AU_ERR_INIT;
      au_err_set(&e, AU_E_CANCELLED, "interrupted");
      set_fatal(r, AU_E_CANCELLED, &e);
    }
    pthread_mutex_lock(&r->mu);
    bool stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    if (stop)
      break;
    struct au_chunk c;
    au_err_clear(&err);
    wlock(r);
    int rc = s->ops->chunk_claim(s, r->o->job_id, w->id, r->o->lease_seconds, &c, &err);
    wunlock(r);
    if (rc == 0) {
      poll = POLL_MIN;
      int crc = run_chunk(w, s, &c);
      /* what the chunk freed goes back to the system: a year's backfill keeps the
       * resident size of a month's (docs/BENCHMARKS.md) */
      au_mem_trim();
      if (crc != 0)
        break;
      continue;
    }
    if (rc != AU_E_NOTFOUND) {
      if (err.retryable) { /* busy store */
        au_sleep(poll);
        continue;
      }
      set_fatal(r, rc, &err);
      break;
    }
    au_err_clear(&err);
    int64_t left = 0, pending = 0;
    if ((rc = remaining(r, s, &left, &pending, &err)) != 0) {
      set_fatal(r, rc, &err);
      break;
    }
    if (left == 0)
      break;
    /* chunks wait for a retry / quota window or are held elsewhere: reclaim dead holders
     * of this machine now and then, and poll */
    pthread_mutex_lock(&r->mu);
    bool do_reclaim = au_mono() - r->last_reclaim > 1.0;
    if (do_reclaim)
      r->last_reclaim = au_mono();
    pthread_mutex_unlock(&r->mu);
    if (do_reclaim) {
      wlock(r);
      reclaim_dead(s, r->o->job_id, &err);
      wunlock(r);
    }
    /* A chunk finishing makes no other chunk claimable: while none is pending (the rest
     * run elsewhere), a wake-up only checks whether the job is over, without a claim (a
     * write transaction the running chunks' commits would queue behind). The claim is
     * retried when the poll interval passes (retry times, quota windows, expired leases). */
    bool over = false;
    while (wait_change(r, poll)) {
      pthread_mutex_lock(&r->mu);
      bool halt = r->stop;
      pthread_mutex_unlock(&r->mu);
      if (halt || au_cancel_requested)
        break;
      au_err_clear(&err);
      if ((rc = remaining(r, s, &left, &pending, &err)) != 0) {
        set_fatal(r, rc, &err);
        over = true;
        break;
      }
      if (left == 0) {
        over = true;
        break;
      }
      if (pending > 0)
        break;
    }
    if (over)
      break;
    poll = poll * 2 > POLL_MAX ? POLL_MAX : poll * 2;
  }
  free(w->jobs);
  w->jobs = NULL;
  w->njobs = 0;
  au_store_close(s);
  return NULL;
}

/* Renews leases of running chunks and redraws the progress bar. */
struct heart {
  struct run *r;
  pthread_t th;
  volatile int stop;
};

static void *heart_main(void *arg) {
  struct heart *h = arg;
  struct run *r = h->r;
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = NULL; /* opened when the first renewal is due (short runs need none) */
  bool open_failed = false;
  double every = r->o->lease_seconds / 4;
  if (every < 0.2)
    every = 0.2;
  double next = au_mono() + every, next_draw = 0;
  while (!h->stop) {
    wait_change(r, 0.1);
    double now = au_mono();
    if (r->mode == AU_PROGRESS_BAR && now >= next_draw) {
      pthread_mutex_lock(&r->mu);
      draw_bar(r);
      pthread_mutex_unlock(&r->mu);
      next_draw = now + 0.5;
    }
    if (now < next)
      continue;
    next = now + every;
    pthread_mutex_lock(&r->mu);
    size_t n = r->nheld;
    struct held *copy = n ? au_xmalloc(n * sizeof(*copy)) : NULL;
    if (n)
      memcpy(copy, r->held, n * sizeof(*copy));
    pthread_mutex_unlock(&r->mu);
    if (n && !s && !open_failed) {
      if (au_store_open(r->o->store_url, &s, &err) != 0) {
        au_warn("backfill", "heartbeat: %s", err.msg);
        open_failed = true;
        s = NULL;
      }
    }
    for (size_t i = 0; s && i < n; i++) {
      au_err_clear(&err);
      wlock(r);
      int nrc = s->ops->chunk_renew(s, copy[i].chunk_id, copy[i].worker, r->o->lease_seconds, &err);
      wunlock(r);
      if (nrc != 0)
        au_warn("backfill", "lease of chunk %lld: %s", (long long)copy[i].chunk_id, err.msg);
    }
    free(copy);
  }
  if (s)
    au_store_close(s);
  return NULL;
}

/* Finish the jobs worked on when nothing of them is left. */
static void finish_jobs(struct run *r, struct au_store *s) {
  for (size_t i = 0; i < r->njobs; i++) {
    struct au_err err = AU_ERR_INIT;
    struct au_job j;
    if (s->ops->job_get(s, r->jobs[i].job.id, &j, &err) != 0 || strcmp(j.status, "running") != 0)
      continue;
    if (j.n_pending || j.n_running)
      continue;
    const char *st = j.n_failed ? "failed" : "done";
    if (s->ops->job_set_status(s, j.id, st, &err) != 0)
      au_warn("backfill", "job %lld: %s", (long long)j.id, err.msg);
  }
}

int au_backfill_run(struct au_config *cfg, struct au_store *store, const struct au_backfill_opts *o,
                    struct au_backfill_stats *st, struct au_err *err) {
  memset(st, 0, sizeof(*st));
  int rc = need_jobs(store, err);
  if (rc)
    return rc;
  struct au_backfill_opts oo = *o;
  if (oo.concurrency < 1)
    oo.concurrency = 1;
  if (oo.lease_seconds <= 0)
    oo.lease_seconds = 120;
  if (oo.retry_base <= 0)
    oo.retry_base = 2;
  if (!oo.progress_out)
    oo.progress_out = stderr;
  struct run r;
  memset(&r, 0, sizeof(r));
  r.cfg = cfg;
  r.o = &oo;
  r.st = st;
  pthread_mutex_init(&r.mu, NULL);
  pthread_cond_init(&r.cv, NULL);
  pthread_mutex_init(&r.wmu, NULL);
  pthread_cond_init(&r.slot_cv, NULL);
  r.slots_free = oo.concurrency;
  r.serialize = !strcmp(store->ops->scheme, "sqlite");
  r.t0 = au_mono();
  /* a backfill is I/O-bound and may run for days: give freed memory back at once */
  au_mem_eager();
  r.out = oo.progress_out;
  r.mode = oo.progress;
  if (r.mode == AU_PROGRESS_AUTO)
    r.mode = isatty(fileno(r.out)) ? AU_PROGRESS_BAR : AU_PROGRESS_JSON;

  /* chunks of dead local workers go back to pending before anyone claims */
  if ((rc = reclaim_dead(store, oo.job_id, err)))
    goto out;
  /* the jobs in scope: resolve their tables now (the config may grow), count chunks */
  {
    struct joblist l = {0};
    if (oo.job_id > 0) {
      l.ids = au_xmalloc(sizeof(int64_t));
      l.ids[0] = oo.job_id;
      l.n = 1;
    } else if ((rc = store->ops->job_list(store, running_jobs_cb, &l, err))) {
      goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
      struct job_ent *je = job_lookup(&r, store, l.ids[i], err);
      if (!je) {
        rc = err->code ? err->code : AU_E_NOTFOUND;
        free(l.ids);
        goto out;
      }
      r.total += je->job.n_chunks;
      r.done0 += je->job.n_done;
      r.failed += je->job.n_failed;
    }
    free(l.ids);
    r.done = r.done0;
  }

  struct heart h = {&r, 0, 0};
  bool heart_ok = pthread_create(&h.th, NULL, heart_main, &h) == 0;
  int nthreads = oo.concurrency * PIPELINE;
  struct worker *ws = au_xcalloc((size_t)nthreads, sizeof(*ws));
  int started = 0;
  for (int i = 0; i < nthreads; i++) {
    ws[i].r = &r;
    ws[i].n = i;
    au_backfill_worker_id(i, ws[i].id, sizeof(ws[i].id));
    if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
      break;
    started++;
  }
  for (int i = 0; i < started; i++)
    pthread_join(ws[i].th, NULL);
  h.stop = 1;
  pthread_mutex_lock(&r.mu);
  r.stop = true;
  pthread_cond_broadcast(&r.cv);
  pthread_mutex_unlock(&r.mu);
  if (heart_ok)
    pthread_join(h.th, NULL);
  free(ws);
  if (r.bar_drawn) {
    pthread_mutex_lock(&r.mu);
    draw_bar(&r);
    fputc('\n', r.out);
    pthread_mutex_unlock(&r.mu);
  }
  if (started == 0) {
    rc = au_err_set(err, AU_E_IO, "cannot start worker threads");
    goto out;
  }
  if (r.fatal_rc) {
    *err = r.fatal;
    rc = r.fatal_rc;
  }
  job_runs_end(&r, store);
  if (rc != AU_E_CANCELLED)
    finish_jobs(&r, store);

out:
  st->seconds = au_mono() - r.t0;
  for (size_t i = 0; i < r.nclients; i++)
    au_http_client_free(r.clients[i].http);
  free(r.clients);
  for (size_t i = 0; i < r.njobs; i++)
    free(r.jobs[i].t);
  free(r.jobs);
  free(r.held);
  pthread_mutex_destroy(&r.mu);
  pthread_cond_destroy(&r.cv);
  pthread_mutex_destroy(&r.wmu);
  pthread_cond_destroy(&r.slot_cv);
  return rc;
}

/* --- rolling backfill ------------------------------------------------------------------------- */

static int env_int(const char *name, int def, int lo, int hi, int *out, struct au_err *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *out = def;
    return 0;
  }
  char *end;
  long x = strtol(v, &end, 10);
  if (*end || x < lo || x > hi)
    return au_err_set(err, AU_E_CONFIG, "%s must be an integer from %d to %d (got '%s')", name, lo, hi, v);
  *out = (int)x;
  return 0;
}

/* The done days of a rolling key: details {"done":"D1/D2,D3/D4"} (inclusive day ranges). */
static void parse_done(const char *details, int64_t lo, int64_t hi, bool *done) {
  const char *p = strstr(details, "\"done\"");
  if (!p || !(p = strchr(p + 6, '"')))
    return;
  p++;
  while (*p && *p != '"') {
    int y1, m1, d1, y2, m2, d2, n = 0;
    if (sscanf(p, "%4d-%2d-%2d/%4d-%2d-%2d%n", &y1, &m1, &d1, &y2, &m2, &d2, &n) != 6 || n == 0)
      return;
    int64_t a = au_days_from_civil(y1, m1, d1), b = au_days_from_civil(y2, m2, d2);
    for (int64_t d = a < lo ? lo : a; d <= b && d <= hi; d++)
      done[d - lo] = true;
    p += n;
    if (*p == ',')
      p++;
  }
}

static int fmt_done(const bool *done, int64_t lo, int64_t n, struct au_buf *b) {
  int e = au_buf_adds(b, "{\"done\":\"");
  bool first = true;
  for (int64_t i = 0; i < n && !e;) {
    if (!done[i]) {
      i++;
      continue;
    }
    int64_t j = i;
    while (j + 1 < n && done[j + 1])
      j++;
    int y1, m1, d1, y2, m2, d2;
    au_civil_from_days(lo + i, &y1, &m1, &d1);
    au_civil_from_days(lo + j, &y2, &m2, &d2);
    e = au_buf_printf(b, "%s%04d-%02d-%02d/%04d-%02d-%02d", first ? "" : ",", y1, m1, d1, y2, m2, d2);
    first = false;
    i = j + 1;
  }
  if (!e)
    e = au_buf_adds(b, "\"}");
  return e;
}

struct rolling {
  char key[256];
  const struct au_tz *tz;
  int64_t lo, n;          /* the window: days lo .. lo+n-1 */
  bool *done;
};

static int rolling_load(struct au_store *s, struct rolling *rl, struct au_err *err) {
  struct au_state stt;
  int rc = s->ops->state_get(s, rl->key, &stt, err);
  if (rc == AU_E_NOTFOUND) {
    au_err_clear(err);
    return 0;
  }
  if (rc == 0)
    parse_done(stt.details, rl->lo, rl->lo + rl->n - 1, rl->done);
  return rc;
}

static int rolling_save(struct au_store *s, struct rolling *rl, struct au_err *err) {
  struct au_buf b = AU_BUF_INIT(0);
  if (fmt_done(rl->done, rl->lo, rl->n, &b)) {
    au_buf_release(&b);
    return au_err_set(err, AU_E_NOMEM, "out of memory");
  }
  int64_t newest = -1;
  for (int64_t i = 0; i < rl->n; i++)
    if (rl->done[i])
      newest = i;
  au_time wm = AU_TIME_NONE;
  if (newest >= 0) {
    int y, m, d;
    au_civil_from_days(rl->lo + newest, &y, &m, &d);
    wm = au_tz_day_start(rl->tz, y, m, d);
  }
  struct au_state_update up = {rl->key, wm, b.ptr};
  int rc = s->ops->begin(s, err);
  if (rc == 0)
    rc = s->ops->commit(s, &up, err);
  au_buf_release(&b);
  return rc;
}

/* Replace {name} placeholders. */
static char *expand_template(const char *tpl, const char *const *names, const char *const *vals, size_t nv) {
  struct au_buf b = AU_BUF_INIT(0);
  int e = 0;
  for (const char *p = tpl; *p && !e;) {
    bool hit = false;
    if (*p == '{') {
      for (size_t i = 0; i < nv; i++) {
        size_t l = strlen(names[i]);
        if (!strncmp(p + 1, names[i], l) && p[1 + l] == '}') {
          e = au_buf_adds(&b, vals[i]);
          p += l + 2;
          hit = true;
          break;
        }
      }
    }
    if (!hit)
      e = au_buf_addc(&b, *p++);
  }
  char *out = au_xstrdup(b.ptr ? b.ptr : "");
  au_buf_release(&b);
  return out;
}

static int run_commands(struct rolling *rl, const int64_t *days, size_t nd, const char *tpl, const char *shell,
                        int maxjobs, const char *source, const char *table, const char *wkey, bool *ok) {
  size_t next = 0, running = 0;
  pid_t *pids = au_xcalloc(nd ? nd : 1, sizeof(pid_t));
  int failures = 0;
  while (next < nd || running > 0) {
    while (next < nd && running < (size_t)maxjobs && !au_cancel_requested) {
      int y, m, d, y2, m2, d2;
      au_civil_from_days(days[next], &y, &m, &d);
      au_civil_from_days(days[next] + 1, &y2, &m2, &d2);
      char date[16], nextd[16], st[32], en[32];
      snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
      snprintf(nextd, sizeof(nextd), "%04d-%02d-%02d", y2, m2, d2);
      au_time_fmt(au_tz_day_start(rl->tz, y, m, d), st);
      au_time_fmt(au_tz_day_start(rl->tz, y2, m2, d2), en);
      const char *names[] = {"date", "day", "next_date", "start", "end", "source", "table", "key"};
      const char *vals[] = {date, date, nextd, st, en, source ? source : "", table ? table : "", wkey};
      char *cmd = expand_template(tpl, names, vals, AU_ARRAY_LEN(names));
      au_info("backfill", "rolling %s: %s", date, cmd);
      fflush(NULL);
      pid_t pid = fork();
      if (pid == 0) {
        setenv("AURUM_BACKFILL_DATE", date, 1);
        execl(shell, shell, "-c", cmd, (char *)NULL);
        _exit(127);
      }
      free(cmd);
      if (pid < 0) {
        failures++;
        next++;
        continue;
      }
      pids[next++] = pid;
      running++;
    }
    if (running == 0)
      break;
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (size_t i = 0; i < nd; i++)
      if (pids[i] == pid) {
        pids[i] = 0;
        running--;
        bool good = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        ok[i] = good;
        if (!good) {
          failures++;
          au_error("backfill", "rolling command for day %zu of this run failed (status %d)", i + 1,
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
      }
  }
  free(pids);
  return failures;
}

struct rolling_hook {
  struct rolling *rl;
};

static void rolling_chunk_done(void *arg, const struct au_job *job, const struct au_chunk *c) {
  AU_UNUSED(job);
  struct rolling_hook *h = arg;
  int y, m, d;
  au_tz_local_date(h->rl->tz, c->range_start, &y, &m, &d);
  int64_t day = au_days_from_civil(y, m, d);
  if (day >= h->rl->lo && day < h->rl->lo + h->rl->n)
    h->rl->done[day - h->rl->lo] = true;
}

static int rolling_mark_cb(void *arg, const struct au_chunk *c) {
  if (!strcmp(c->status, "done"))
    rolling_chunk_done(arg, NULL, c);
  return 0;
}

int au_backfill_rolling(struct au_config *cfg, struct au_store *store, const char *table,
                        const struct au_backfill_opts *o, struct au_backfill_stats *st, struct au_err *err) {
  memset(st, 0, sizeof(*st));
  int days = 0, limit = 0, maxjobs = 1, rc;
  if ((rc = env_int("AURUM_BACKFILL_DAYS", 7, 1, 3660, &days, err)) ||
      (rc = env_int("AURUM_BACKFILL_HISTORY_LIMIT", 30, 1, 3660, &limit, err)) ||
      (rc = env_int("AURUM_BACKFILL_MAX_CONCURRENT_JOBS", 1, 1, 64, &maxjobs, err)))
    return rc;
  const char *wkey = getenv("AURUM_BACKFILL_WATERMARK_KEY");
  if (!wkey || !*wkey)
    wkey = "default";
  const char *tpl = getenv("AURUM_BACKFILL_COMMAND_TEMPLATE");
  const char *shell = getenv("AURUM_BACKFILL_COMMAND_SHELL");
  if (!shell || !*shell)
    shell = "/bin/sh";
  const char *source = table ? table : getenv("AURUM_BACKFILL_SOURCE");
  if (source && !*source)
    source = NULL;
  bool cmd_mode = tpl && *tpl;
  struct au_table_cfg *t = NULL;
  if (source && (strchr(source, '.') || !cmd_mode)) {
    if (!(t = au_config_table(cfg, source, err))) {
      au_err_prefix(err, "AURUM_BACKFILL_SOURCE");
      return err->code;
    }
  }
  if (!cmd_mode && !t)
    return au_err_set(err, AU_E_CONFIG,
                      "rolling backfill needs a table (aurum backfill --rolling TABLE or AURUM_BACKFILL_SOURCE=SOURCE.TABLE) "
                      "or AURUM_BACKFILL_COMMAND_TEMPLATE");
  if (!cmd_mode && (rc = need_jobs(store, err)))
    return rc;
  struct rolling rl;
  memset(&rl, 0, sizeof(rl));
  rl.tz = au_tz_get(t && t->def->trade_tz ? t->def->trade_tz : "UTC", err);
  if (!rl.tz)
    return err->code;
  if (t)
    snprintf(rl.key, sizeof(rl.key), "rolling:%s:%s", wkey, t->qualified);
  else if (source)
    snprintf(rl.key, sizeof(rl.key), "rolling:%s:%s", wkey, source);
  else
    snprintf(rl.key, sizeof(rl.key), "rolling:%s", wkey);
  /* the window: the `limit` trade days before today (the operator's today, AURUM_NOW honoured) */
  int y, m, d;
  au_tz_local_date(rl.tz, au_now(), &y, &m, &d);
  int64_t today = au_days_from_civil(y, m, d);
  rl.lo = today - limit;
  rl.n = limit;
  rl.done = au_xcalloc((size_t)rl.n, sizeof(bool));
  bool locked = false;
  int64_t *pick = NULL;
  size_t np = 0;
  if ((rc = store->ops->lock(store, rl.key, 0, err)))
    goto out;
  locked = true;
  if ((rc = rolling_load(store, &rl, err)))
    goto out;
  /* newest missing days first, at most `days` of them */
  pick = au_xcalloc((size_t)days, sizeof(int64_t));
  for (int64_t i = rl.n - 1; i >= 0 && np < (size_t)days; i--)
    if (!rl.done[i])
      pick[np++] = rl.lo + i;
  int64_t ndone = 0;
  for (int64_t i = 0; i < rl.n; i++)
    ndone += rl.done[i];
  if (np == 0) {
    printf("rolling backfill %s: all %d days of the history window are done\n", rl.key, limit);
    goto out;
  }
  au_info("backfill", "rolling %s: %zu day(s) to do this run (%lld of %d done)", rl.key, np, (long long)ndone, limit);
  if (cmd_mode) {
    bool *ok = au_xcalloc(np, sizeof(bool));
    int failures = run_commands(&rl, pick, np, tpl, shell, maxjobs, source, t ? t->qualified : NULL, wkey, ok);
    for (size_t i = 0; i < np; i++)
      if (ok[i]) {
        rl.done[pick[i] - rl.lo] = true;
        st->chunks_done++;
      }
    st->chunks_failed = (uint64_t)failures;
    free(ok);
    rc = rolling_save(store, &rl, err);
    if (rc == 0 && au_cancel_requested)
      rc = au_err_set(err, AU_E_CANCELLED, "interrupted");
  } else {
    /* one job whose chunks are the picked days (oldest first in the plan) */
    struct au_chunk_range *ch = au_xcalloc(np, sizeof(*ch));
    for (size_t i = 0; i < np; i++) {
      int64_t dd = pick[np - 1 - i];
      int y2, m2, d2;
      au_civil_from_days(dd, &y, &m, &d);
      au_civil_from_days(dd + 1, &y2, &m2, &d2);
      ch[i] = (struct au_chunk_range){au_tz_day_start(rl.tz, y, m, d), au_tz_day_start(rl.tz, y2, m2, d2)};
    }
    struct au_job job;
    rc = store->ops->job_find(store, t->qualified, ch[0].start, ch[np - 1].end, &job, err);
    if (rc == AU_E_NOTFOUND) {
      au_err_clear(err);
      memset(&job, 0, sizeof(job));
      snprintf(job.table_key, sizeof(job.table_key), "%s", t->qualified);
      job.range_start = ch[0].start;
      job.range_end = ch[np - 1].end;
      job.chunk_days = 1;
      job.priority = t->priority;
      job.max_attempts = 3;
      job.max_concurrent = t->max_concurrent_requests;
      rc = store->ops->job_create(store, &job, ch, np, err);
    } else if (rc == 0 && job.n_failed) {
      rc = store->ops->job_retry(store, job.id, NULL, err);
    }
    free(ch);
    if (rc == 0) {
      struct rolling_hook hook = {&rl};
      struct au_backfill_opts oo = *o;
      oo.job_id = job.id;
      oo.concurrency = maxjobs;
      oo.on_chunk_done = rolling_chunk_done;
      oo.on_chunk_arg = &hook;
      rc = au_backfill_run(cfg, store, &oo, st, err);
      /* chunks done by an earlier, interrupted run of this job count too */
      struct au_err e2 = AU_ERR_INIT;
      store->ops->chunk_list(store, job.id, rolling_mark_cb, &hook, &e2);
      struct au_err e3 = AU_ERR_INIT;
      int src = rolling_save(store, &rl, &e3);
      if (rc == 0 && src)
        rc = src, *err = e3;
    }
  }
  if (rc == 0 || rc == AU_E_CANCELLED) {
    ndone = 0;
    for (int64_t i = 0; i < rl.n; i++)
      ndone += rl.done[i];
    printf("rolling backfill %s: %llu day(s) done this run, %llu failed; %lld of %d history days done\n", rl.key,
           (unsigned long long)st->chunks_done, (unsigned long long)st->chunks_failed, (long long)ndone, limit);
  }
out:
  if (locked)
    store->ops->unlock(store, rl.key);
  free(pick);
  free(rl.done);
  return rc;
}

/* backfill.h - years of history in idempotent, resumable, concurrent chunks.
 *
 * A job covers [start, end) of one table, planned into chunks of whole trade days. The job
 * and its chunks live in the store (store ops job_*, chunk_*), which is the work queue:
 * worker threads (each with its own store connection, all sharing ONE HTTP client per
 * source, so the rate limit and spacing hold across threads) claim chunks with a lease,
 * run each chunk as a sync of its range (upserts, so a chunk run twice changes nothing)
 * whose last commit marks the chunk done in the same transaction as its rows, and retry
 * failed chunks with backoff up to max_attempts. A backfill never touches the table's
 * incremental watermark. See docs/backfill.md. */
#ifndef AU_BACKFILL_H
#define AU_BACKFILL_H
#include "core/au.h"
#include "core/time.h"
#include "pipeline/config.h"
#include "store/store.h"

#include <stdio.h>

struct au_err;

enum au_progress_mode { AU_PROGRESS_AUTO = 0, AU_PROGRESS_BAR, AU_PROGRESS_JSON, AU_PROGRESS_NONE };

struct au_backfill_opts {
  const char *store_url;  /* every worker thread opens its own connection to it */
  int concurrency;        /* worker threads; default 1 */
  int64_t job_id;         /* run this job's chunks only; 0 = any job, by priority */
  double lease_seconds;   /* chunk lease, renewed while running; default 120 */
  double retry_base;      /* retry n of a chunk waits retry_base * 2^(n-1) s (max 300); default 2 */
  enum au_progress_mode progress;
  FILE *progress_out;     /* default stderr */
  /* called (serialised) after each chunk that finished done, from a worker thread */
  void (*on_chunk_done)(void *arg, const struct au_job *job, const struct au_chunk *c);
  void *on_chunk_arg;
};

struct au_backfill_stats {
  uint64_t chunks_done, chunks_failed, chunks_retried;
  uint64_t rows, requests, bytes;
  double seconds, http_seconds;
  double parse_seconds, store_seconds; /* summed over chunks (see au_sync_result) */
};

/* Plan [start, end) into chunks of chunk_days trade days of the table's operator (the first
 * chunk starts at start; each later one at a trade-day start). chunk_days <= 0: the table's
 * window (au_table_window_days; cfg, which may be NULL, supplies source-level options).
 * *out is malloc'd. */
int au_backfill_plan(const struct au_config *cfg, const struct au_table_cfg *t, au_time start, au_time end,
                     int chunk_days,
                     struct au_chunk_range **out, size_t *n, struct au_err *err);

struct au_backfill_job_spec {
  int chunk_days;         /* 0 = the table's window (batch_size_days, or the source's default) */
  const struct au_config *cfg; /* source-level options for that default (may be NULL) */
  int max_attempts;       /* 0 = 3 */
  int priority;           /* used when has_priority, else the table's */
  bool has_priority;
};

/* Find the unfinished job of the same table and range (resumed: failed chunks are
 * requeued) or record a new one with its plan. */
int au_backfill_job_open(struct au_store *s, const struct au_table_cfg *t, au_time start, au_time end,
                         const struct au_backfill_job_spec *spec, struct au_job *job, bool *resumed,
                         struct au_err *err);

/* Run worker threads until no chunk of the job (o->job_id, or of any running job) is left
 * to run, including chunks that wait for a retry or a quota window or are held by another
 * live worker. Chunks held by a dead process of this machine are reclaimed at once, others
 * when their lease expires. Jobs worked on are finished ("done" / "failed") when nothing
 * is left. cfg gains entries for job tables it does not name. Returns 0 (check
 * st->chunks_failed), AU_E_CANCELLED, or an error that stopped the workers. */
int au_backfill_run(struct au_config *cfg, struct au_store *store, const struct au_backfill_opts *o,
                    struct au_backfill_stats *st, struct au_err *err);

/* How long a chunk of dataset t must wait for its hourly quota: 0 = run now, else the
 * time (real clock) to try again. est_records / est_bytes: expected size of the chunk. */
au_time au_backfill_quota_wait(const struct au_table_cfg *t, const struct au_quota_usage *u,
                               double est_records, double est_bytes, au_time now);

/* Rolling backfill (seed settings, see docs/backfill.md). table: SOURCE.TABLE or NULL for
 * AURUM_BACKFILL_SOURCE. Prints a summary on stdout. Returns 0 or an error. */
int au_backfill_rolling(struct au_config *cfg, struct au_store *store, const char *table,
                        const struct au_backfill_opts *o, struct au_backfill_stats *st, struct au_err *err);

/* The worker identity of this process's thread n: "host:pid:n". */
void au_backfill_worker_id(int n, char *buf, size_t cap);

#endif

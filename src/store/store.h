/* store.h - the store plug-in interface: a sink that also keeps state.
 *
 * A store holds the data tables and aurum's own state (watermarks, run history). Its
 * commit writes the batch's rows and the new watermark in one transaction, so a
 * watermark never moves past rows that were not stored. Implementations: sqlite.c,
 * (postgres.c). Each embeds struct au_store as its first member. */
#ifndef AU_STORE_H
#define AU_STORE_H
#include "core/au.h"
#include "core/batch.h"
#include "core/time.h"

struct au_err;

/* A destination table bound to a schema. */
struct au_table_ref {
  const char *key;      /* state key, e.g. "aeso.pool_price" */
  const char *dest;     /* destination table name, e.g. "aeso_pool_price" (an identifier:
                           [A-Za-z_][A-Za-z0-9_]*, optionally "schema.table") */
  const struct au_schema *schema;
  int seq_col;          /* index of the SCD sequence column (ingestion_time), or -1 */
};

/* SCD type 1 merge outcome per row:
 *   inserted  - new key;
 *   updated   - existing key, incoming sequence >= stored and some value differs;
 *   unchanged - existing key with equal values, or a stored row with a newer sequence
 *               (an older ingestion never overwrites a newer one). */
struct au_merge_stats {
  uint64_t inserted, updated, unchanged;
  /* Optional, caller-provided array of batch->nrows entries; when non-NULL the store
   * writes each row's outcome (AU_ROW_*), so sinks can forward only stored changes. */
  uint8_t *outcome;
};
enum { AU_ROW_UNCHANGED = 0, AU_ROW_INSERTED = 1, AU_ROW_UPDATED = 2 };

struct au_state {
  char key[128];
  au_time watermark;   /* AU_TIME_NONE if never set */
  au_time updated_at;
  char details[1024];  /* JSON text, "{}" if none */
};

struct au_state_update {
  const char *key;
  au_time watermark;   /* new watermark; the store keeps max(old, new) */
  const char *details; /* JSON or NULL */
};

struct au_run_record {
  int64_t id;
  const char *key;
  au_time started_at, finished_at;
  const char *status;  /* "running", "ok", "failed" */
  uint64_t inserted, updated, unchanged, requests, batches;
  const char *error;
};

/* --- backfill jobs, chunks and quota usage (see docs/backfill.md) ---------------- */

/* A backfill job: one table, a range of trade days, planned into chunks. Statuses:
 * "running" (claimable), "done", "failed" (some chunk failed, none left to run),
 * "cancelled". */
struct au_job {
  int64_t id;
  char table_key[160];  /* qualified table, "aeso.pool_price" */
  au_time range_start, range_end;
  int chunk_days;
  int priority;         /* higher first */
  int max_attempts;     /* per chunk */
  int max_concurrent;   /* running chunks of this table across all workers; 0 = no limit */
  char status[16];
  au_time created_at, updated_at;
  /* filled by job_get / job_list / job_find */
  int64_t n_chunks, n_pending, n_running, n_done, n_failed;
  uint64_t rows;        /* sum over done chunks */
};

/* A chunk: [range_start, range_end) of one job. Statuses: "pending", "running", "done",
 * "failed". attempts counts claims; a claim of a running chunk whose lease expired is a
 * new attempt. not_before delays a pending chunk (retry backoff, quota wait). */
struct au_chunk {
  int64_t id, job_id;
  int seq;              /* 0-based position in the job's plan */
  au_time range_start, range_end;
  char status[16];
  int attempts;
  uint64_t rows;
  char last_error[512];
  char worker[128];     /* "host:pid:thread" of the lease holder (or last holder) */
  au_time lease_until, not_before, finished_at; /* AU_TIME_NONE when unset */
};

struct au_chunk_range {
  au_time start, end;
};

/* A chunk completion recorded by commit_chunk in the same transaction as the rows. */
struct au_chunk_done {
  int64_t chunk_id;
  uint64_t rows;
  const char *worker;   /* only recorded while the chunk is still running under worker */
};

/* Usage of one dataset (qualified table) in one hour of the real clock. */
struct au_quota_usage {
  char dataset[160];
  au_time hour;         /* hour start, UTC */
  uint64_t records, bytes, requests;
};

struct au_store;

struct au_store_ops {
  const char *scheme; /* "sqlite", "postgresql" */
  int (*open)(const char *url, struct au_store **out, struct au_err *err);
  void (*close)(struct au_store *s);
  /* Create the table if missing (and its indexes). */
  int (*ensure_table)(struct au_store *s, const struct au_table_ref *t, struct au_err *err);
  int (*begin)(struct au_store *s, struct au_err *err);
  /* Merge rows (SCD type 1, see au_merge_stats) inside the open transaction. */
  int (*write)(struct au_store *s, const struct au_table_ref *t, const struct au_batch *b,
               struct au_merge_stats *st, struct au_err *err);
  /* Commit the transaction, with the state update (may be NULL) in it. */
  int (*commit)(struct au_store *s, const struct au_state_update *up, struct au_err *err);
  void (*rollback)(struct au_store *s);
  /* State. state_get returns AU_E_NOTFOUND when the key has none. */
  int (*state_get)(struct au_store *s, const char *key, struct au_state *out, struct au_err *err);
  int (*state_list)(struct au_store *s, int (*cb)(void *arg, const struct au_state *st), void *arg,
                    struct au_err *err);
  int (*state_reset)(struct au_store *s, const char *key, struct au_err *err);
  /* Run history: run_begin fills r->id. */
  int (*run_begin)(struct au_store *s, struct au_run_record *r, struct au_err *err);
  int (*run_end)(struct au_store *s, const struct au_run_record *r, struct au_err *err);
  /* Exclusive lock on a table key across processes (timeout seconds; 0 = try once).
   * Returns AU_E_LOCK when not acquired. */
  int (*lock)(struct au_store *s, const char *key, double timeout, struct au_err *err);
  void (*unlock)(struct au_store *s, const char *key);
  /* Count rows of a destination table (for reports and tests); -1 on error. */
  int64_t (*count_rows)(struct au_store *s, const struct au_table_ref *t, struct au_err *err);

  /* --- optional: backfill jobs (a store that leaves these NULL has no job support).
   * All times are the real clock (never AURUM_NOW). Ops returning one object return
   * AU_E_NOTFOUND when there is none. */
  /* Like commit (up may be NULL: no state change), and in the SAME transaction mark the
   * chunk done with its row count - but only while it is still "running" under
   * done->worker (a worker that lost its lease records nothing; the rows, being
   * idempotent upserts, are committed either way). So a chunk is "done" exactly when
   * its rows are committed. */
  int (*commit_chunk)(struct au_store *s, const struct au_state_update *up,
                      const struct au_chunk_done *done, struct au_err *err);
  /* Record a job (fills job->id, status "running") and its chunks in one transaction. */
  int (*job_create)(struct au_store *s, struct au_job *job, const struct au_chunk_range *chunks,
                    size_t n, struct au_err *err);
  /* The newest unfinished ("running" or "failed") job of table_key over exactly
   * [start, end). */
  int (*job_find)(struct au_store *s, const char *table_key, au_time start, au_time end,
                  struct au_job *out, struct au_err *err);
  int (*job_get)(struct au_store *s, int64_t id, struct au_job *out, struct au_err *err);
  /* Every job, newest first. */
  int (*job_list)(struct au_store *s, int (*cb)(void *arg, const struct au_job *j), void *arg,
                  struct au_err *err);
  int (*job_set_status)(struct au_store *s, int64_t id, const char *status, struct au_err *err);
  /* Failed chunks back to pending with attempts 0; the job back to "running".
   * *requeued (may be NULL) gets the number of chunks requeued. */
  int (*job_retry)(struct au_store *s, int64_t id, uint64_t *requeued, struct au_err *err);
  /* The job's chunks in plan order. */
  int (*chunk_list)(struct au_store *s, int64_t job_id,
                    int (*cb)(void *arg, const struct au_chunk *c), void *arg, struct au_err *err);
  /* Atomically claim one chunk of a "running" job (job_id 0: any job, highest priority
   * first, then oldest job, then plan order): a pending chunk whose not_before has passed,
   * or a running chunk whose lease expired; skipped while the table already has
   * max_concurrent chunks running under live leases. The claim sets status "running",
   * attempts + 1, worker, lease_until = now + lease. */
  int (*chunk_claim)(struct au_store *s, int64_t job_id, const char *worker, double lease_seconds,
                     struct au_chunk *out, struct au_err *err);
  /* Extend the lease; AU_E_NOTFOUND when the chunk is no longer running under worker. */
  int (*chunk_renew)(struct au_store *s, int64_t chunk_id, const char *worker,
                     double lease_seconds, struct au_err *err);
  /* A failed attempt: back to "pending" not before retry_at, or (retry_at == AU_TIME_NONE)
   * "failed" for good; the error is kept in last_error. Only while held by worker. */
  int (*chunk_fail)(struct au_store *s, int64_t chunk_id, const char *worker, const char *error,
                    au_time retry_at, struct au_err *err);
  /* Give a running chunk back without counting the attempt (cancel, quota wait, a dead
   * holder): "pending" not before not_before (AU_TIME_NONE: at once). worker NULL releases
   * whoever holds it. */
  int (*chunk_release)(struct au_store *s, int64_t chunk_id, const char *worker,
                       au_time not_before, struct au_err *err);
  /* Quota usage per dataset and hour (hour = start of the hour, UTC). */
  int (*quota_add)(struct au_store *s, const char *dataset, au_time hour, uint64_t records,
                   uint64_t bytes, uint64_t requests, struct au_err *err);
  int (*quota_get)(struct au_store *s, const char *dataset, au_time hour,
                   struct au_quota_usage *out, struct au_err *err); /* zeros when none */
  /* Usage rows with hour >= since, newest first. */
  int (*quota_list)(struct au_store *s, au_time since,
                    int (*cb)(void *arg, const struct au_quota_usage *u), void *arg,
                    struct au_err *err);
  /* Optional. Request pacing shared by every process on this store (GCRA): reserve the start
   * of the next request under key at or after now, for an emission interval `interval` (the
   * rate), a tolerance `tolerance` (interval x (burst - 1)) and a minimum spacing between
   * starts, all microseconds. now == AU_TIME_NONE: the store's clock (PostgreSQL: the
   * server's, the same for every host; SQLite: this machine's). One atomic statement;
   * *delay gets how long to wait from now (>= 0). */
  int (*rate_reserve)(struct au_store *s, const char *key, au_time now, int64_t interval,
                      int64_t tolerance, int64_t spacing, int64_t *delay, struct au_err *err);
};

struct au_store {
  const struct au_store_ops *ops;
};

/* Open by URL: "sqlite:PATH", "sqlite://PATH", "PATH.db", "postgresql://...", "postgres://...". */
int au_store_open(const char *url, struct au_store **out, struct au_err *err);
void au_store_close(struct au_store *s);
/* Validate a destination identifier (see au_table_ref.dest). */
bool au_ident_valid(const char *s);
/* Validate a table reference for a store: destination name, a non-empty schema, column
 * names [A-Za-z_][A-Za-z0-9_]* of at most max_ident bytes, the sequence column index. */
int au_store_check_ref(const struct au_table_ref *t, size_t max_ident, struct au_err *err);
/* A batch written to t must have t's schema: the same column count and types. */
int au_store_check_batch(const struct au_table_ref *t, const struct au_batch *b, struct au_err *err);
/* The primary-key columns in key order (au_schema_key_cols, bad or repeated indexes
 * dropped) and a per-column mask. Returns the key count; free *order and *is_key. */
int au_store_key_cols(const struct au_schema *sc, int **order, bool **is_key);
/* Row order of b by the key columns key[0..nkey) (NULLs first, text by bytes, stable):
 * a new array of b->nrows indexes (identity when already sorted or keyless); free it.
 * Inserting in key order keeps primary-key index updates local. */
uint32_t *au_store_key_perm(const struct au_batch *b, const int *key, int nkey);

#endif

/* sync.h - one table run: plan windows from the watermark, fetch through the HTTP core,
 * parse, merge into the store (and sinks), commit data and watermark per batch. */
#ifndef AU_SYNC_H
#define AU_SYNC_H
#include "core/au.h"
#include "core/time.h"
#include "pipeline/config.h"
#include "store/store.h"

struct au_err;

struct au_sync_opts {
  au_time start;          /* explicit range start (AU_TIME_NONE: from state/config) */
  au_time end;            /* explicit range end (AU_TIME_NONE: now) */
  bool no_state;          /* extract: do not read or write state, do not store */
  bool full_refresh;      /* ignore the watermark (re-read from start_date) */
  double lock_timeout;    /* seconds to wait for another process's lock */
  const char *const *extra_sinks; /* sinks added for this run (--sink kafka) */
  size_t nextra_sinks;
  /* extract mode: called for every parsed batch instead of the store */
  int (*on_batch)(void *arg, const struct au_batch *b, struct au_err *err);
  void *on_batch_arg;
  /* backfill chunks (all optional; see pipeline/backfill.h) */
  struct au_http_client *http; /* shared client of the source (one token bucket and spacing
                                  across threads); NULL: the run makes its own */
  bool no_lock;           /* do not take the table lock (claiming a chunk is the exclusion) */
  bool keep_watermark;    /* never read-modify the table's watermark: commits carry no state */
  int64_t chunk_id;       /* > 0: the last window's commit marks this chunk done, in the same
                             transaction as its rows (store op commit_chunk) */
  const char *chunk_worker; /* the lease holder recorded with the chunk */
  int window_attempts;    /* tries per window; 0 = the config's batch_retries + 1 */
  bool no_run_record;     /* do not add a row to the store's run history (the caller keeps
                             one record for many runs, e.g. a backfill worker) */
  bool table_ready;       /* the caller already ran ensure_table for this destination on this
                             store connection: skip it, and skip the state read when
                             keep_watermark is set and start is explicit (it is not used) */
  /* called around each of the run's store write transactions (ensure_table, begin ..
     commit/rollback), e.g. to serialise the writer threads of one process on a store with a
     single writer instead of letting them meet its busy timeout; both or neither */
  void (*tx_enter)(void *arg);
  void (*tx_leave)(void *arg);
  void *tx_arg;
  /* called around each HTTP call (with its retries), e.g. to bound the requests in flight
     across threads that overlap parsing and storing with other threads' requests; both or
     neither */
  void (*http_enter)(void *arg);
  void (*http_leave)(void *arg);
  void *http_arg;
};

struct au_sync_result {
  uint64_t inserted, updated, unchanged;
  uint64_t rows;          /* rows parsed */
  uint64_t requests;      /* HTTP calls made */
  uint64_t batches;       /* batches committed */
  uint64_t empty;         /* requests that returned no data */
  uint64_t bytes;         /* response body bytes */
  au_time watermark;      /* after the run */
  au_time watermark_before;
  au_time range_start, range_end;
  double seconds;
  double http_seconds;    /* in HTTP calls (transfers, waits, retries) */
  double parse_seconds;   /* in the source's parser */
  double store_seconds;   /* merging and committing (store and sinks) */
};

/* Run one table. Returns 0, or an error (err says why; nothing after the failed batch
 * was committed and the watermark did not pass it). */
int au_sync_table(const struct au_config *cfg, const struct au_table_cfg *t, struct au_store *store,
                  const struct au_sync_opts *o, struct au_sync_result *res, struct au_err *err);

/* Exit code for an error from au_sync_table (see `aurum --help`). */
int au_exit_code(int err_code);

#endif

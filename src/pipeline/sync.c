/* sync.c - one table run. See sync.h.
 *
 * Windows are whole trade days of the operator (batch_size_days each), in time order.
 * Each window's requests are fetched and parsed into one batch; the batch is merged
 * into the store and forwarded to the sinks, and the store commits the rows together
 * with the new watermark. The first window that fails (after its retries) stops the
 * run: nothing after it is committed, so the watermark never passes missing data. */
#include "core/au.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "net/http.h"
#include "pipeline/pace.h"
#include "pipeline/sync.h"
#include "sinks/sink.h"
#include "sources/source.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t au_cancel_requested;

int au_exit_code(int code) {
  switch (code) {
  case 0: return 0;
  case AU_E_AUTH: return 3;
  case AU_E_CONFIG:
  case AU_E_NOTFOUND:
  case AU_E_UNSUPPORTED: return 4;
  case AU_E_LOCK: return 5;
  case AU_E_STORE: return 6;
  case AU_E_CANCELLED: return 130;
  default: return 1;
  }
}

struct run {
  const struct au_config *cfg;
  const struct au_table_cfg *t;
  struct au_store *store;
  const struct au_sync_opts *o;
  struct au_sync_result *res;
  struct au_source_ctx ctx;
  struct au_table_ref ref;
  const struct au_tz *tz;
  struct au_batch *batch;
  struct au_sink **sinks;
  size_t nsinks;
  uint8_t *outcome;
  size_t outcome_cap;
  int cursor_col, requires_col;
  bool final_window;       /* the window being run is the last of the range */
  uint64_t committed_rows; /* rows committed by this run */
  struct au_pace pace;     /* shared with other processes (when no http_enter paces instead) */
  bool pace_warned;
};

static void fmt_window(const struct run *r, au_time a, au_time b, char *buf, size_t n) {
  struct au_civil ca, cb;
  au_tz_to_local(r->tz, a, &ca);
  au_tz_to_local(r->tz, b, &cb);
  snprintf(buf, n, "%04d-%02d-%02d %02d:%02d .. %04d-%02d-%02d %02d:%02d %s", ca.year, ca.month, ca.day,
           ca.hour, ca.minute, cb.year, cb.month, cb.day, cb.hour, cb.minute, au_tz_name(r->tz));
}

/* Fetch and parse every request of [ws, we) into r->batch. */
static int fetch_window(struct run *r, au_time ws, au_time we, struct au_err *err) {
  struct au_reqlist q = {0}, more = {0};
  int rc = r->t->src->plan(&r->ctx, ws, we, &q, err);
  for (size_t i = 0; rc == 0 && i < q.n; i++) {
    if (au_cancel_requested) {
      rc = au_err_set(err, AU_E_CANCELLED, "interrupted");
      break;
    }
    struct au_request *rq = &q.v[i];
    struct au_http_request hr = {
        .method = rq->method, .url = rq->url, .headers = rq->headers, .nheaders = rq->nheaders,
        .body = rq->body, .body_len = rq->body_len, .credential = rq->credential, .label = rq->label};
    struct au_http_response resp;
    au_http_response_init(&resp);
    bool slot = r->o->http_enter && r->o->http_leave;
    if (r->pace.key[0]) {
      struct au_err pe = AU_ERR_INIT;
      if (au_pace_wait(r->store, &r->pace, NULL, NULL, NULL, &pe) != 0 && !r->pace_warned) {
        au_warn(r->pace.key, "shared request pacing unavailable, pacing this process only: %s", pe.msg);
        r->pace_warned = true;
      }
    }
    if (slot)
      r->o->http_enter(r->o->http_arg);
    double h0 = au_mono();
    rc = au_http_do(r->ctx.http, &hr, &resp, err);
    double h1 = au_mono();
    if (slot)
      r->o->http_leave(r->o->http_arg);
    r->res->http_seconds += h1 - h0;
    r->res->requests++;
    r->res->bytes += resp.body.len;
    if (rc == 0) {
      struct au_response sr = {resp.status, resp.body.ptr ? resp.body.ptr : "", resp.body.len, resp.content_type};
      size_t before = r->batch->nrows;
      rc = r->t->src->parse(&r->ctx, rq, &sr, r->batch, &more, err);
      r->res->parse_seconds += au_mono() - h1;
      if (rc == AU_E_NODATA) {
        r->batch->nrows = before;
        r->res->empty++;
        au_err_clear(err);
        rc = 0;
      } else if (rc == AU_E_SPLIT) {
        r->batch->nrows = before;
        au_time mid = rq->win_start + (rq->win_end - rq->win_start) / 2;
        mid -= mid % AU_HOUR;
        if (rq->win_end - rq->win_start <= AU_HOUR || mid <= rq->win_start) {
          au_err_prefix(err, "%s", rq->label);
          rc = au_err_set(err, AU_E_SPLIT, "cannot split further");
        } else {
          au_debug(r->t->src->name, "%s: server asked to split the window", rq->label);
          au_err_clear(err);
          au_time a = rq->win_start, b = rq->win_end;
          rc = r->t->src->plan(&r->ctx, a, mid, &more, err);
          if (rc == 0)
            rc = r->t->src->plan(&r->ctx, mid, b, &more, err);
        }
      } else if (rc != 0) {
        r->batch->nrows = before;
        au_err_prefix(err, "%s", rq->label);
      }
      r->res->rows += r->batch->nrows - before;
    }
    au_http_response_release(&resp);
    /* follow-up requests (next pages, split halves) go to the end of the queue;
     * moving them invalidates rq, which is not used after this point */
    for (size_t k = 0; rc == 0 && k < more.n; k++) {
      struct au_request *dst = au_reqlist_push(&q);
      *dst = more.v[k];
      memset(&more.v[k], 0, sizeof(more.v[k]));
    }
    au_reqlist_clear(&more);
  }
  au_reqlist_release(&q);
  au_reqlist_release(&more);
  return rc;
}

static au_time batch_watermark(const struct run *r) {
  au_time wm = AU_TIME_NONE;
  const struct au_batch *b = r->batch;
  for (size_t i = 0; i < b->nrows; i++) {
    if (r->requires_col >= 0 && au_batch_is_null(b, i, r->requires_col))
      continue;
    if (au_batch_is_null(b, i, r->cursor_col))
      continue;
    au_time v = au_batch_int(b, i, r->cursor_col);
    if (wm == AU_TIME_NONE || v > wm)
      wm = v;
  }
  return wm;
}

static void tx_enter(const struct au_sync_opts *o) {
  if (o->tx_enter && o->tx_leave)
    o->tx_enter(o->tx_arg);
}

static void tx_leave(const struct au_sync_opts *o) {
  if (o->tx_enter && o->tx_leave)
    o->tx_leave(o->tx_arg);
}

/* Merge the batch into the store and sinks and commit it with the watermark. */
static int store_window_tx(struct run *r, struct au_err *err);

static int store_window(struct run *r, struct au_err *err) {
  tx_enter(r->o);
  int rc = store_window_tx(r, err);
  tx_leave(r->o);
  return rc;
}

static int store_window_tx(struct run *r, struct au_err *err) {
  struct au_store *s = r->store;
  if (r->batch->nrows > r->outcome_cap) {
    r->outcome_cap = r->batch->nrows * 2;
    r->outcome = au_xrealloc(r->outcome, r->outcome_cap);
  }
  struct au_merge_stats st = {0, 0, 0, r->outcome};
  int rc = s->ops->begin(s, err);
  if (rc)
    return rc;
  rc = s->ops->write(s, &r->ref, r->batch, &st, err);
  for (size_t i = 0; rc == 0 && i < r->nsinks; i++) {
    rc = r->sinks[i]->ops->write(r->sinks[i], r->batch, r->outcome, err);
    if (rc == 0)
      rc = r->sinks[i]->ops->flush(r->sinks[i], err);
    if (rc)
      au_err_prefix(err, "sink %s", r->sinks[i]->ops->name);
  }
  if (rc) {
    s->ops->rollback(s);
    return rc;
  }
  au_time wm = batch_watermark(r);
  struct au_state_update up = {r->ref.key, wm, NULL};
  const struct au_state_update *upp = r->o->keep_watermark ? NULL : &up;
  if (r->o->chunk_id > 0 && r->final_window) {
    struct au_chunk_done done = {r->o->chunk_id, r->committed_rows + r->batch->nrows, r->o->chunk_worker};
    rc = s->ops->commit_chunk ? s->ops->commit_chunk(s, upp, &done, err)
                              : au_err_set(err, AU_E_UNSUPPORTED, "backfill needs a store with job support");
  } else {
    rc = s->ops->commit(s, upp, err);
  }
  if (rc) {
    s->ops->rollback(s);
    return rc;
  }
  r->res->inserted += st.inserted;
  r->res->updated += st.updated;
  r->res->unchanged += st.unchanged;
  r->res->batches++;
  r->committed_rows += r->batch->nrows;
  if (upp && wm != AU_TIME_NONE && (r->res->watermark == AU_TIME_NONE || wm > r->res->watermark))
    r->res->watermark = wm;
  return 0;
}

static int run_window(struct run *r, au_time ws, au_time we, struct au_err *err) {
  char label[128];
  fmt_window(r, ws, we, label, sizeof(label));
  int attempts = r->o->window_attempts > 0 ? r->o->window_attempts : r->cfg->batch_retries + 1;
  int rc = 0;
  for (int a = 0; a < attempts; a++) {
    au_batch_clear(r->batch);
    au_err_clear(err);
    double t0 = au_mono(), st = 0, hs = r->res->http_seconds, ps = r->res->parse_seconds;
    uint64_t ins = r->res->inserted, upd = r->res->updated, unch = r->res->unchanged;
    rc = fetch_window(r, ws, we, err);
    if (rc == 0) {
      if (r->o->on_batch)
        rc = r->o->on_batch(r->o->on_batch_arg, r->batch, err);
      else if (r->batch->nrows > 0 || !r->o->no_state) {
        double s0 = au_mono();
        rc = store_window(r, err);
        st = au_mono() - s0;
        r->res->store_seconds += st;
      }
    }
    if (rc == 0) {
      au_info(r->t->qualified, "%s: %zu rows (inserted %llu, updated %llu, unchanged %llu) in %.2fs", label,
              r->batch->nrows, (unsigned long long)(r->res->inserted - ins),
              (unsigned long long)(r->res->updated - upd), (unsigned long long)(r->res->unchanged - unch),
              au_mono() - t0);
      au_debug(r->t->qualified, "%s: fetch + parse %.3fs (HTTP %.3fs, parse %.3fs), store + sinks + commit %.3fs",
               label, au_mono() - t0 - st, r->res->http_seconds - hs, r->res->parse_seconds - ps, st);
      return 0;
    }
    if (rc == AU_E_AUTH || rc == AU_E_CONFIG || rc == AU_E_CANCELLED || rc == AU_E_LOCK)
      break;
    if (a + 1 < attempts) {
      double wait = 1.0 * (1 << a);
      au_warn(r->t->qualified, "%s failed (attempt %d of %d), retrying in %.0fs: %s", label, a + 1, attempts,
              wait, err->msg);
      au_sleep(wait);
    }
  }
  au_err_prefix(err, "%s window %s", r->t->qualified, label);
  return rc;
}

static int open_sinks(struct run *r, struct au_err *err) {
  const char *names[16];
  size_t n = 0;
  for (size_t i = 0; i < r->t->nsinks && n < 16; i++)
    if (strcmp(r->t->sinks[i], "store") != 0)
      names[n++] = r->t->sinks[i];
  for (size_t i = 0; i < r->o->nextra_sinks && n < 16; i++) {
    bool dup = false;
    for (size_t k = 0; k < n; k++)
      dup |= strcmp(names[k], r->o->extra_sinks[i]) == 0;
    if (!dup && strcmp(r->o->extra_sinks[i], "store") != 0)
      names[n++] = r->o->extra_sinks[i];
  }
  if (n == 0)
    return 0;
  r->sinks = au_xcalloc(n, sizeof(*r->sinks));
  for (size_t i = 0; i < n; i++) {
    const struct au_sink_ops *ops = au_sink_find(names[i]);
    if (!ops)
      return au_err_set(err, AU_E_CONFIG, "sink '%s' is not available in this build", names[i]);
    struct au_sink_info info = {r->t->src->name, r->t->def->name, &r->ref, &r->cfg->kafka, &r->t->kafka};
    int rc = ops->open(&info, &r->sinks[r->nsinks], err);
    if (rc) {
      au_err_prefix(err, "sink %s", names[i]);
      return rc;
    }
    r->nsinks++;
  }
  return 0;
}

int au_sync_table(const struct au_config *cfg, const struct au_table_cfg *t, struct au_store *store,
                  const struct au_sync_opts *o, struct au_sync_result *res, struct au_err *err) {
  struct run r;
  memset(&r, 0, sizeof(r));
  memset(res, 0, sizeof(*res));
  res->watermark = res->watermark_before = AU_TIME_NONE;
  r.cfg = cfg;
  r.t = t;
  r.store = store;
  r.o = o;
  r.res = res;
  struct au_opts opts = {0};
  char *base = NULL;
  struct au_http_client *http = NULL;
  bool locked = false, inited = false;
  struct au_run_record run = {0};
  char dest[256];
  double t0 = au_mono();
  int rc = au_config_resolve(cfg, t, &opts, &base, err);
  if (rc)
    goto out;
  struct au_http_policy pol;
  rc = au_config_http_policy(t->src, &opts, t->rate_limit_delay, &pol, err);
  if (rc)
    goto out;
  http = o->http ? o->http : au_http_client_new(t->src->name, &pol);
  /* a backfill paces through http_enter; a sync paces itself */
  if (!o->http_enter && store && !o->no_state)
    au_pace_from_policy(t->src->name, &pol, &r.pace);
  r.tz = au_tz_get(t->def->trade_tz ? t->def->trade_tz : "UTC", err);
  if (!r.tz) {
    rc = err->code;
    goto out;
  }
  au_time now = au_now();
  r.ctx = (struct au_source_ctx){t->src, t->def, base, &opts, now, now, http, NULL};
  if (t->src->init && (rc = t->src->init(&r.ctx, err)))
    goto out;
  inited = true;
  const struct au_schema *schema = t->def->schema;
  if (t->dest_schema && *t->dest_schema && store && strcmp(store->ops->scheme, "sqlite") != 0)
    snprintf(dest, sizeof(dest), "%s.%s", t->dest_schema, t->dest);
  else
    snprintf(dest, sizeof(dest), "%s", t->dest);
  /* State (watermark, lock) is per source table and destination: the default destination
   * keeps the plain key ("aeso.pool_price"), another one gets "aeso.pool_price@dest". */
  char key[400];
  if (strcmp(dest, t->def->dest_table) == 0)
    snprintf(key, sizeof(key), "%s", t->qualified);
  else
    snprintf(key, sizeof(key), "%s@%s", t->qualified, dest);
  r.ref = (struct au_table_ref){key, dest, schema, au_schema_find(schema, t->sequence_by)};
  r.cursor_col = au_schema_find(schema, t->def->cursor_col);
  r.requires_col = t->def->watermark_requires ? au_schema_find(schema, t->def->watermark_requires) : -1;
  if (r.cursor_col < 0) {
    rc = au_err_set(err, AU_E_INVAL, "%s: cursor column %s not in schema", t->qualified, t->def->cursor_col);
    goto out;
  }
  if (!au_ident_valid(dest)) {
    rc = au_err_set(err, AU_E_CONFIG, "%s: invalid destination table name '%s'", t->qualified, dest);
    goto out;
  }
  r.batch = au_batch_new(schema, 4096);

  au_time wm = AU_TIME_NONE;
  if (!o->no_state) {
    if (!o->no_lock) {
      if ((rc = store->ops->lock(store, key, o->lock_timeout, err)))
        goto out;
      locked = true;
    }
    if (!o->table_ready) {
      tx_enter(o);
      rc = store->ops->ensure_table(store, &r.ref, err);
      tx_leave(o);
      if (rc)
        goto out;
    }
    struct au_state st;
    if (o->table_ready && o->keep_watermark && o->start != AU_TIME_NONE)
      rc = AU_E_NOTFOUND; /* the watermark would only be reported */
    else
      rc = store->ops->state_get(store, key, &st, err);
    if (rc == AU_E_NOTFOUND) {
      au_err_clear(err);
      rc = 0;
    } else if (rc) {
      goto out;
    } else {
      wm = st.watermark;
    }
    res->watermark_before = res->watermark = wm;
    if ((rc = open_sinks(&r, err)))
      goto out;
  }

  /* the range to fetch: explicit, else (watermark - lookback) but never before the
   * configured start_date, else start_date, else the default history */
  au_time floor_start = AU_TIME_NONE;
  if (t->start_date) {
    bool had_off = false;
    au_time sd;
    if (au_time_parse_iso(t->start_date, (size_t)-1, &sd, &had_off) == 0) {
      floor_start = sd;
      if (!had_off && strlen(t->start_date) == 10) { /* a trade day */
        struct au_civil c;
        au_time_to_civil(sd, &c);
        floor_start = au_tz_day_start(r.tz, c.year, c.month, c.day);
      }
    }
  }
  au_time start;
  if (o->start != AU_TIME_NONE) {
    start = o->start;
  } else if (wm != AU_TIME_NONE && !o->full_refresh) {
    start = wm - (au_time)t->lookback_hours * AU_HOUR;
    int ly, lm, ld;
    au_tz_local_date(r.tz, start, &ly, &lm, &ld);
    start = au_tz_day_start(r.tz, ly, lm, ld);
    if (floor_start != AU_TIME_NONE && start < floor_start)
      start = floor_start;
  } else if (floor_start != AU_TIME_NONE) {
    start = floor_start;
  } else {
    int64_t today = (now >= 0 ? now : now - AU_DAY + 1) / AU_DAY;
    start = (today - t->def->default_history_days) * AU_DAY;
  }
  /* align to the operator's trade day (unless a time of day was asked for explicitly) */
  int y, m, d;
  au_tz_local_date(r.tz, start, &y, &m, &d);
  int64_t day = au_days_from_civil(y, m, d);
  if (o->start == AU_TIME_NONE)
    start = au_tz_day_start(r.tz, y, m, d);
  au_time end;
  if (o->end != AU_TIME_NONE) {
    end = o->end;
  } else {
    au_tz_local_date(r.tz, now, &y, &m, &d);
    int64_t tomorrow = au_days_from_civil(y, m, d) + 1;
    au_civil_from_days(tomorrow, &y, &m, &d);
    end = au_tz_day_start(r.tz, y, m, d);
  }
  res->range_start = start;
  res->range_end = end;

  if (!o->no_state && !o->no_run_record) {
    run.key = key;
    run.started_at = au_now_real();
    run.status = "running";
    if ((rc = store->ops->run_begin(store, &run, err)))
      goto out;
  }
  int window_days = au_table_window_days(cfg, t);
  au_info(t->qualified, "syncing %s from %s (watermark %s, lookback %dh, batches of %d days)", dest, base,
          wm == AU_TIME_NONE ? "none" : "set", t->lookback_hours, window_days);

  au_time ws = start;
  while (ws < end) {
    day += window_days;
    au_civil_from_days(day, &y, &m, &d);
    au_time we = au_tz_day_start(r.tz, y, m, d);
    if (we > end)
      we = end;
    if (we <= ws)
      we = end;
    r.final_window = we >= end;
    if ((rc = run_window(&r, ws, we, err)))
      break;
    ws = we;
  }

out:
  res->seconds = au_mono() - t0;
  if (run.id) {
    run.finished_at = au_now_real();
    run.status = rc ? "failed" : "ok";
    run.inserted = res->inserted;
    run.updated = res->updated;
    run.unchanged = res->unchanged;
    run.requests = res->requests;
    run.batches = res->batches;
    run.error = rc ? err->msg : NULL;
    struct au_err e2 = AU_ERR_INIT;
    if (store->ops->run_end(store, &run, &e2))
      au_warn(t->qualified, "could not record the run: %s", e2.msg);
  }
  for (size_t i = 0; i < r.nsinks; i++)
    r.sinks[i]->ops->close(r.sinks[i]);
  free(r.sinks);
  if (locked)
    store->ops->unlock(store, r.ref.key);
  if (inited && t->src->fini)
    t->src->fini(&r.ctx);
  au_batch_free(r.batch);
  free(r.outcome);
  if (http != o->http)
    au_http_client_free(http);
  free(base);
  au_opts_release(&opts);
  return rc;
}

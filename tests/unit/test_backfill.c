/* test_backfill.c - backfill planner, quota decision and the SQLite job/chunk store ops. */
#include "core/au.h"
#include "au_test.h"
#include "rate_check.h"
#include "core/err.h"
#include "core/time.h"
#include "pipeline/backfill.h"
#include "pipeline/config.h"
#include "pipeline/pace.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(plan_trade_days) {
  struct au_config cfg;
  au_config_init(&cfg);
  struct au_err err = AU_ERR_INIT;
  struct au_table_cfg *t = au_config_table(&cfg, "aeso.pool_price", &err);
  CHECK(t != NULL);
  /* Alberta: 2023-01-01 00:00 MST = 07:00Z; 2024-01-01 = 07:00Z; DST moves day starts to 06:00Z */
  au_time s = au_time_utc(2023, 1, 1, 7, 0, 0), e = au_time_utc(2024, 1, 1, 7, 0, 0);
  struct au_chunk_range *ch;
  size_t n;
  CHECK_EQ_INT(au_backfill_plan(NULL, t, s, e, 30, &ch, &n, &err), 0);
  CHECK_EQ_INT(n, 13);
  CHECK_EQ_INT(ch[0].start, s);
  CHECK_EQ_INT(ch[12].end, e);
  for (size_t i = 1; i < n; i++)
    CHECK_EQ_INT(ch[i].start, ch[i - 1].end);
  CHECK_EQ_INT(ch[3].start, au_time_utc(2023, 4, 1, 6, 0, 0)); /* 2023-04-01 00:00 MDT */
  free(ch);
  CHECK(au_backfill_plan(NULL, t, e, s, 30, &ch, &n, &err) != 0);
  au_config_release(&cfg);
}

TEST(quota_wait) {
  struct au_table_cfg t;
  memset(&t, 0, sizeof(t));
  struct au_quota_usage u = {0};
  au_time now = au_time_utc(2024, 1, 1, 10, 20, 0);
  CHECK_EQ_INT(au_backfill_quota_wait(&t, &u, 1e9, 1e9, now), 0); /* unlimited */
  t.max_records_per_hour = 1000;
  CHECK_EQ_INT(au_backfill_quota_wait(&t, &u, 5000, 0, now), 0); /* fresh hour: runs */
  u.records = 600;
  CHECK_EQ_INT(au_backfill_quota_wait(&t, &u, 300, 0, now), 0);
  CHECK_EQ_INT(au_backfill_quota_wait(&t, &u, 500, 0, now), au_time_utc(2024, 1, 1, 11, 0, 0));
  t.max_records_per_hour = 0;
  t.max_bytes_per_hour = 100;
  u.bytes = 100;
  CHECK_EQ_INT(au_backfill_quota_wait(&t, &u, 0, 1, now), au_time_utc(2024, 1, 1, 11, 0, 0));
}

static int count_cb(void *arg, const struct au_chunk *c) {
  int *n = arg;
  if (!strcmp(c->status, "done"))
    n[0]++;
  if (!strcmp(c->status, "failed"))
    n[1]++;
  if (!strcmp(c->status, "pending"))
    n[2]++;
  return 0;
}

/* A fresh SQLite file: path (a mkstemp template, rewritten) and its store URL. */
static void tmp_sqlite(char *path, char *url, size_t cap) {
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
  snprintf(url, cap, "sqlite:%s", path);
}

/* Remove it with its WAL side files. */
static void rm_sqlite(const char *path) {
  char side[96];
  unlink(path);
  snprintf(side, sizeof(side), "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof(side), "%s-shm", path);
  unlink(side);
}

TEST(store_queue) {
  char path[] = "/tmp/aurum-test-backfill-XXXXXX", url[64];
  tmp_sqlite(path, url, sizeof(url));
  struct au_err err = AU_ERR_INIT;
  struct au_store *a = NULL, *b = NULL;
  CHECK_EQ_INT(au_store_open(url, &a, &err), 0);
  CHECK_EQ_INT(au_store_open(url, &b, &err), 0);
  if (!a || !b)
    return;
  struct au_job job;
  memset(&job, 0, sizeof(job));
  snprintf(job.table_key, sizeof(job.table_key), "x.t");
  job.range_start = 0;
  job.range_end = 3 * AU_DAY;
  job.chunk_days = 1;
  job.max_attempts = 2;
  struct au_chunk_range ch[3] = {{0, AU_DAY}, {AU_DAY, 2 * AU_DAY}, {2 * AU_DAY, 3 * AU_DAY}};
  CHECK_EQ_INT(a->ops->job_create(a, &job, ch, 3, &err), 0);
  CHECK(job.id > 0);
  struct au_job f;
  CHECK_EQ_INT(b->ops->job_find(b, "x.t", 0, 3 * AU_DAY, &f, &err), 0);
  CHECK_EQ_INT(f.id, job.id);
  CHECK_EQ_INT(f.n_chunks, 3);
  /* two connections claim different chunks */
  struct au_chunk c1, c2, c3, c4;
  CHECK_EQ_INT(a->ops->chunk_claim(a, job.id, "h:1:0", 60, &c1, &err), 0);
  CHECK_EQ_INT(b->ops->chunk_claim(b, job.id, "h:2:0", 60, &c2, &err), 0);
  CHECK(c1.id != c2.id);
  CHECK_EQ_INT(c1.seq, 0);
  CHECK_EQ_INT(c1.attempts, 1);
  /* done only in the commit, only for the holder */
  struct au_chunk_done wrong = {c1.id, 10, "h:2:0"};
  CHECK_EQ_INT(a->ops->commit_chunk(a, NULL, &wrong, &err), 0);
  struct au_chunk_done d = {c1.id, 10, "h:1:0"};
  CHECK_EQ_INT(a->ops->begin(a, &err), 0);
  CHECK_EQ_INT(a->ops->commit_chunk(a, NULL, &d, &err), 0);
  /* a failed attempt with a retry time in the future is not claimable */
  CHECK_EQ_INT(b->ops->chunk_fail(b, c2.id, "h:2:0", "boom", au_now_real() + 3600 * AU_USEC, &err), 0);
  CHECK_EQ_INT(a->ops->chunk_claim(a, job.id, "h:1:0", 60, &c3, &err), 0);
  CHECK_EQ_INT(c3.seq, 2);
  au_err_clear(&err);
  CHECK_EQ_INT(a->ops->chunk_claim(a, job.id, "h:1:0", 60, &c4, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  /* an expired lease is reclaimable; the old holder can no longer renew or finish it */
  CHECK_EQ_INT(a->ops->chunk_renew(a, c3.id, "h:1:0", -1, &err), 0);
  CHECK_EQ_INT(b->ops->chunk_claim(b, job.id, "h:2:0", 60, &c4, &err), 0);
  CHECK_EQ_INT(c4.id, c3.id);
  CHECK_EQ_INT(c4.attempts, 2);
  CHECK_EQ_INT(a->ops->chunk_renew(a, c3.id, "h:1:0", 60, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(b->ops->chunk_fail(b, c4.id, "h:2:0", "final", AU_TIME_NONE, &err), 0);
  /* release puts a chunk back without counting the attempt */
  int n[3] = {0, 0, 0};
  CHECK_EQ_INT(a->ops->chunk_list(a, job.id, count_cb, n, &err), 0);
  CHECK_EQ_INT(n[0], 1);
  CHECK_EQ_INT(n[1], 1);
  CHECK_EQ_INT(n[2], 1);
  struct au_job g;
  CHECK_EQ_INT(a->ops->job_get(a, job.id, &g, &err), 0);
  CHECK_EQ_INT(g.rows, 10);
  uint64_t rq = 0;
  CHECK_EQ_INT(a->ops->job_retry(a, job.id, &rq, &err), 0);
  CHECK_EQ_INT(rq, 1);
  /* a cancelled job hands out nothing */
  CHECK_EQ_INT(a->ops->job_set_status(a, job.id, "cancelled", &err), 0);
  CHECK_EQ_INT(a->ops->chunk_claim(a, 0, "h:1:0", 60, &c4, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  /* quota usage accumulates per hour */
  au_time h = au_time_utc(2024, 1, 1, 10, 30, 0);
  CHECK_EQ_INT(a->ops->quota_add(a, "x.t", h, 5, 100, 1, &err), 0);
  CHECK_EQ_INT(b->ops->quota_add(b, "x.t", h + 60 * AU_USEC, 7, 50, 2, &err), 0);
  struct au_quota_usage u;
  CHECK_EQ_INT(a->ops->quota_get(a, "x.t", h, &u, &err), 0);
  CHECK_EQ_INT(u.records, 12);
  CHECK_EQ_INT(u.bytes, 150);
  CHECK_EQ_INT(u.hour, au_time_utc(2024, 1, 1, 10, 0, 0));
  CHECK_EQ_INT(a->ops->quota_get(a, "x.t", h + AU_HOUR, &u, &err), 0);
  CHECK_EQ_INT(u.records, 0);
  au_store_close(a);
  au_store_close(b);
  rm_sqlite(path);
}

/* A job's default chunk size follows the table's window, source-level options included:
 * CAISO's every-node mode set under sources: gives one-day chunks. */
TEST(job_chunks_follow_source_options) {
  const char *y = "sources:\n  caiso:\n    grp_type: ALL_APNODES\n"
                  "tables:\n  - table: caiso.lmp_dam\n";
  struct au_config cfg;
  au_config_init(&cfg);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_config_parse_yaml(&cfg, y, strlen(y), &err), 0);
  struct au_store *s = NULL;
  CHECK_EQ_INT(au_store_open("sqlite::memory:", &s, &err), 0);
  if (!s) {
    au_config_release(&cfg);
    return;
  }
  /* 2024-03-01 .. 2024-03-21 Pacific: twenty trade days, one of them 23 hours long */
  au_time start = au_time_utc(2024, 3, 1, 8, 0, 0), end = au_time_utc(2024, 3, 21, 7, 0, 0);
  struct au_backfill_job_spec spec = {.cfg = &cfg};
  struct au_job job;
  bool resumed = true;
  CHECK_EQ_INT(au_backfill_job_open(s, &cfg.tables[0], start, end, &spec, &job, &resumed, &err), 0);
  CHECK(!resumed);
  CHECK_EQ_INT(job.chunk_days, 1);
  CHECK_EQ_INT(job.n_chunks, 20);
  au_store_close(s);
  au_config_release(&cfg);
}

/* Shared request pacing in SQLite: two connections (two processes) draw from one state. */
TEST(rate_reserve_sqlite) {
  char path[] = "/tmp/aurum-test-rate-XXXXXX", url[64];
  tmp_sqlite(path, url, sizeof(url));
  struct au_err err = AU_ERR_INIT;
  struct au_store *a = NULL, *b = NULL;
  CHECK_EQ_INT(au_store_open(url, &a, &err), 0);
  CHECK_EQ_INT(au_store_open(url, &b, &err), 0);
  if (a && b)
    check_rate_reserve(a, b);
  au_store_close(a);
  au_store_close(b);
  rm_sqlite(path);
}

/* A source's policy as shared pacing: the token bucket's rate and burst as a GCRA, plus the
 * spacing; nothing to reserve without either. */
TEST(pace_from_policy) {
  struct au_http_policy p = {0};
  struct au_pace pc;
  au_pace_from_policy("aeso", &p, &pc);
  CHECK_EQ_STR(pc.key, "");
  p.rate_per_min = 120;
  p.burst = 5;
  au_pace_from_policy("aeso", &p, &pc);
  CHECK_EQ_STR(pc.key, "source:aeso");
  CHECK_EQ_INT(pc.interval, 500000);
  CHECK_EQ_INT(pc.tolerance, 2000000);
  CHECK_EQ_INT(pc.spacing, 0);
  p.rate_per_min = 0;
  p.min_spacing = 0.3;
  au_pace_from_policy("caiso", &p, &pc);
  CHECK_EQ_STR(pc.key, "source:caiso");
  CHECK_EQ_INT(pc.interval, 0);
  CHECK_EQ_INT(pc.tolerance, 0);
  CHECK_EQ_INT(pc.spacing, 300000);
  /* no store op: nothing reserved, nothing waited */
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_pace_wait(NULL, &pc, NULL, NULL, NULL, &err), 0);
}

TEST_LIST{T(plan_trade_days), T(quota_wait), T(store_queue), T(job_chunks_follow_source_options),
          T(rate_reserve_sqlite), T(pace_from_policy)};
AU_TEST_MAIN()

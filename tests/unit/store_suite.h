/* store_suite.h - what every store must do the same way, checked once for SQLite and
 * PostgreSQL (test_store_sqlite.c, test_store_postgres.c). The including file defines,
 * before including this:
 *   static struct au_store *open_store(const char *url);   open or abort
 *   static const char *q1(const char *url, const char *sql); first value as text, "NULL", "NOROW"
 * Raw values are compared through qn(), which writes both stores' text the same way:
 * timestamps as 2024-01-01T07:00:01Z (fraction kept unless zero), whole doubles as "3". */
#ifndef AU_TEST_STORE_SUITE_H
#define AU_TEST_STORE_SUITE_H
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct au_column cols1[] = {
    {"interval_start", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, "start"},
    {"node", AU_T_TEXT, AU_COL_KEY, "node"},
    {"price", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "price"},
    {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "seq"},
};
static const struct au_schema schema1 = {.cols = cols1, .ncols = 4};
static const struct au_table_ref ref1 = {"test.prices", "test_prices", &schema1, 3};
static const au_time T0 = 1704092400LL * AU_USEC; /* 2024-01-01T07:00:00Z */

static void add_row(struct au_batch *b, au_time t, const char *node, bool has_price, double price,
                    au_time seq) {
  au_batch_add_row(b);
  au_batch_set_time(b, 0, t);
  au_batch_set_text(b, 1, node, strlen(node));
  if (has_price)
    au_batch_set_double(b, 2, price);
  au_batch_set_time(b, 3, seq);
}

static int write_batch(struct au_store *s, const struct au_table_ref *t, struct au_batch *b,
                       struct au_merge_stats *st) {
  struct au_err err = AU_ERR_INIT;
  memset(st, 0, sizeof(*st));
  int rc = s->ops->begin(s, &err);
  if (rc == 0)
    rc = s->ops->write(s, t, b, st, &err);
  if (rc == 0)
    rc = s->ops->commit(s, NULL, &err);
  if (rc) {
    fprintf(stderr, "  write: %s\n", err.msg);
    s->ops->rollback(s);
  }
  return rc;
}

static bool digits(const char *p, int n) {
  for (int i = 0; i < n; i++)
    if (!isdigit((unsigned char)p[i]))
      return false;
  return true;
}

/* q1 with both stores' text made alike (see the top of this file). */
static const char *qn(const char *url, const char *sql) {
  static char out[8][512];
  static int k;
  char *o = out[k++ & 7];
  const char *in = q1(url, sql);
  size_t n = 0;
  for (const char *p = in; *p && n < 500;) {
    /* YYYY-MM-DD[ T]HH:MM:SS[.ffffff](+00|Z) */
    if (digits(p, 4) && p[4] == '-' && digits(p + 5, 2) && p[7] == '-' && digits(p + 8, 2) &&
        (p[10] == ' ' || p[10] == 'T') && digits(p + 11, 2) && p[13] == ':' && digits(p + 14, 2) && p[16] == ':' &&
        digits(p + 17, 2)) {
      const char *q = p + 19, *frac = q;
      if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q))
          q++;
      }
      size_t flen = (size_t)(q - frac);
      if (strncmp(q, "+00", 3) == 0 || *q == 'Z') {
        memcpy(o + n, p, 10);
        o[n + 10] = 'T';
        memcpy(o + n + 11, p + 11, 8);
        n += 19;
        bool zero = true;
        for (size_t i = 1; i < flen; i++)
          zero &= frac[i] == '0';
        if (flen > 1 && !zero) {
          memcpy(o + n, frac, flen);
          n += flen;
        }
        o[n++] = 'Z';
        p = q + (*q == 'Z' ? 1 : 3);
        continue;
      }
    }
    o[n++] = *p++;
  }
  o[n] = 0;
  /* a whole number printed as a double */
  size_t len = strlen(o);
  if (len > 2 && strcmp(o + len - 2, ".0") == 0 && strspn(o, "-0123456789") == len - 2)
    o[len - 2] = 0;
  return o;
}

/* --- the shared checks -------------------------------------------------------- */

/* The SCD1 rules on any store; returns the store still open (caller closes). */
static struct au_store *merge_suite(const char *url) {
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = open_store(url);
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  /* ensure_table twice is harmless */
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);

  au_time seq1 = T0 + AU_DAY + 123456;
  struct au_batch *b = au_batch_new(&schema1, 4);
  for (int i = 0; i < 12; i++)
    add_row(b, T0 + i * AU_HOUR, i % 2 ? "NODE_B" : "NODE_A", true, 10.5 + i, seq1);
  struct au_merge_stats st;
  CHECK_EQ_INT(write_batch(s, &ref1, b, &st), 0);
  CHECK_EQ_INT(st.inserted, 12);
  CHECK_EQ_INT(st.updated, 0);
  CHECK_EQ_INT(st.unchanged, 0);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 12);

  /* Same rows again (even with a newer sequence): unchanged. */
  au_batch_clear(b);
  for (int i = 0; i < 12; i++)
    add_row(b, T0 + i * AU_HOUR, i % 2 ? "NODE_B" : "NODE_A", true, 10.5 + i, seq1 + AU_HOUR);
  CHECK_EQ_INT(write_batch(s, &ref1, b, &st), 0);
  CHECK_EQ_INT(st.inserted, 0);
  CHECK_EQ_INT(st.updated, 0);
  CHECK_EQ_INT(st.unchanged, 12);

  /* Changed value with a newer sequence: updated; with an older one: unchanged;
   * a new key alongside: inserted. */
  au_batch_clear(b);
  add_row(b, T0, "NODE_A", true, 99.25, seq1 + 2 * AU_HOUR);         /* updated */
  add_row(b, T0 + AU_HOUR, "NODE_B", true, -5.0, seq1 - AU_HOUR);    /* older: unchanged */
  add_row(b, T0 + 2 * AU_HOUR, "NODE_A", true, 12.5, seq1);          /* equal seq+values */
  add_row(b, T0 + 3 * AU_HOUR, "NODE_B", true, 7.0, seq1);           /* equal seq, new value */
  add_row(b, T0 + 100 * AU_HOUR, "NODE_C", false, 0, seq1);          /* inserted, NULL price */
  uint8_t outcome[5];
  memset(outcome, 0xff, sizeof(outcome));
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  memset(&st, 0, sizeof(st));
  st.outcome = outcome;
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &st, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(st.inserted, 1);
  CHECK_EQ_INT(st.updated, 2);
  CHECK_EQ_INT(st.unchanged, 2);
  CHECK_EQ_INT(outcome[0], AU_ROW_UPDATED);
  CHECK_EQ_INT(outcome[1], AU_ROW_UNCHANGED);
  CHECK_EQ_INT(outcome[2], AU_ROW_UNCHANGED);
  CHECK_EQ_INT(outcome[3], AU_ROW_UPDATED);
  CHECK_EQ_INT(outcome[4], AU_ROW_INSERTED);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 13);

  /* Write without begin: the store wraps it in its own transaction. */
  au_batch_clear(b);
  add_row(b, T0 + 101 * AU_HOUR, "NODE_C", true, 1.0, seq1);
  memset(&st, 0, sizeof(st));
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &st, &err), 0);
  CHECK_EQ_INT(st.inserted, 1);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 14);
  CHECK_EQ_INT(err.code, 0);
  au_batch_free(b);
  return s;
}


/* NULL -> NULL and a value -> the same value are unchanged; NULL <-> value updates. */
static void suite_null_changes(const char *url) {
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 8);
  struct au_merge_stats st;
  add_row(b, T0, "A", false, 0, T0);
  add_row(b, T0, "B", true, 1.0, T0);
  CHECK_EQ_INT(write_batch(s, &ref1, b, &st), 0);
  CHECK_EQ_INT(st.inserted, 2);
  CHECK_EQ_INT(write_batch(s, &ref1, b, &st), 0);
  CHECK_EQ_INT(st.unchanged, 2);
  au_batch_clear(b);
  add_row(b, T0, "A", true, 3.0, T0 + AU_USEC);
  add_row(b, T0, "B", false, 0, T0 + AU_USEC);
  CHECK_EQ_INT(write_batch(s, &ref1, b, &st), 0);
  CHECK_EQ_INT(st.updated, 2);
  CHECK_EQ_INT(st.unchanged, 0);
  CHECK_EQ_STR(qn(url, "SELECT price FROM test_prices WHERE node = 'A'"), "3");
  CHECK_EQ_STR(qn(url, "SELECT price FROM test_prices WHERE node = 'B'"), "NULL");
  CHECK_EQ_STR(qn(url, "SELECT ingestion_time FROM test_prices WHERE node = 'B'"), "2024-01-01T07:00:01Z");
  au_batch_free(b);
  au_store_close(s);
}

/* Run records: begin, end with counts, a failed run, an unknown id. */
static void suite_runs(const char *url) {
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  struct au_run_record r = {0};
  r.key = "test.prices";
  r.started_at = T0;
  CHECK_EQ_INT(s->ops->run_begin(s, &r, &err), 0);
  CHECK(r.id > 0);
  struct au_run_record r2 = {0};
  r2.key = "test.prices";
  CHECK_EQ_INT(s->ops->run_begin(s, &r2, &err), 0);
  CHECK(r2.id > r.id);
  CHECK_EQ_STR(qn(url, "SELECT status || ' ' || started_at FROM aurum_runs ORDER BY id"),
               "running 2024-01-01T07:00:00Z");
  r.finished_at = T0 + AU_MINUTE;
  r.status = "ok";
  r.inserted = 10;
  r.updated = 2;
  r.unchanged = 3;
  r.requests = 4;
  r.batches = 5;
  CHECK_EQ_INT(s->ops->run_end(s, &r, &err), 0);
  CHECK_EQ_STR(qn(url, "SELECT status || ' ' || finished_at || ' ' || rows_inserted || ' ' || "
                       "rows_updated || ' ' || rows_unchanged || ' ' || requests || ' ' || "
                       "batches || ' ' || coalesce(error, '-') FROM aurum_runs ORDER BY id"),
               "ok 2024-01-01T07:01:00Z 10 2 3 4 5 -");
  r2.status = "failed";
  r2.error = "HTTP 500";
  CHECK_EQ_INT(s->ops->run_end(s, &r2, &err), 0);
  CHECK_EQ_STR(qn(url, "SELECT status || ' ' || error FROM aurum_runs ORDER BY id DESC"), "failed HTTP 500");
  struct au_run_record bad = {0};
  bad.id = 9999;
  CHECK_EQ_INT(s->ops->run_end(s, &bad, &err), AU_E_NOTFOUND);
  au_store_close(s);
}

static int suite_list_cb(void *arg, const struct au_state *st) {
  char *out = arg;
  size_t n = strlen(out);
  char wm[32] = "none";
  if (st->watermark != AU_TIME_NONE)
    au_time_fmt(st->watermark, wm);
  snprintf(out + n, 512 - n, "%s=%s;", st->key, wm);
  return 0;
}

/* The watermark commits with the data and only moves forward; details; list; reset keeps
 * the data. */
static void suite_watermark(const char *url) {
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_state stt;
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  struct au_batch *b = au_batch_new(&schema1, 4);
  add_row(b, T0, "A", true, 1, T0);
  struct au_merge_stats ms = {0};
  au_time before = au_now_real();
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  struct au_state_update up = {"test.prices", T0 + AU_HOUR, "{\"last\":1}"};
  CHECK_EQ_INT(s->ops->commit(s, &up, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_STR(stt.key, "test.prices");
  CHECK_EQ_INT(stt.watermark, T0 + AU_HOUR);
  CHECK_EQ_STR(stt.details, "{\"last\":1}");
  CHECK(stt.updated_at >= before - AU_USEC && stt.updated_at <= au_now_real() + AU_USEC);
  CHECK_EQ_STR(qn(url, "SELECT watermark FROM aurum_state"), "2024-01-01T08:00:00Z");
  /* an older watermark does not move it back; details NULL keeps details */
  struct au_state_update older = {"test.prices", T0, NULL};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, &older, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0 + AU_HOUR);
  CHECK_EQ_STR(stt.details, "{\"last\":1}");
  /* AU_TIME_NONE leaves it; a newer one moves it (commit without begin works too) */
  struct au_state_update none = {"test.prices", AU_TIME_NONE, "{}"};
  CHECK_EQ_INT(s->ops->commit(s, &none, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0 + AU_HOUR);
  CHECK_EQ_STR(stt.details, "{}");
  struct au_state_update newer = {"test.prices", T0 + 5 * AU_HOUR, NULL};
  CHECK_EQ_INT(s->ops->commit(s, &newer, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0 + 5 * AU_HOUR);
  /* a key first seen with no watermark */
  struct au_state_update other = {"other.table", AU_TIME_NONE, NULL};
  CHECK_EQ_INT(s->ops->commit(s, &other, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "other.table", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, AU_TIME_NONE);
  CHECK_EQ_STR(stt.details, "{}");
  char listed[512] = "";
  CHECK_EQ_INT(s->ops->state_list(s, suite_list_cb, listed, &err), 0);
  CHECK_EQ_STR(listed, "other.table=none;test.prices=2024-01-01T12:00:00Z;");
  /* reset deletes the state, not the data */
  CHECK_EQ_INT(s->ops->state_reset(s, "test.prices", &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 1);
  CHECK_EQ_INT(s->ops->state_reset(s, "never.seen", &err), 0);
  listed[0] = 0;
  CHECK_EQ_INT(s->ops->state_list(s, suite_list_cb, listed, &err), 0);
  CHECK_EQ_STR(listed, "other.table=none;");
  au_batch_free(b);
  au_store_close(s);
}

/* A rolled-back write leaves no rows and no state; a failing write (NOT NULL ingestion_time)
 * fails with the table and the store's word for it (notnull), is not retryable, and the
 * store is usable afterwards; two writes of the same rows in one transaction. */
static void suite_rollback(const char *url, const char *notnull) {
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 4);
  for (int i = 0; i < 10; i++)
    add_row(b, T0 + i * AU_HOUR, "A", true, i, T0);
  struct au_merge_stats ms = {0};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  CHECK_EQ_INT(ms.inserted, 10);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 10);
  s->ops->rollback(s);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 0);
  struct au_state stt;
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  s->ops->rollback(s);

  /* a failing write (NOT NULL ingestion_time): rollback, no state, store usable */
  au_batch_clear(b);
  add_row(b, T0, "A", true, 1, T0);
  au_batch_add_row(b);
  au_batch_set_time(b, 0, T0 + AU_HOUR);
  au_batch_set_text(b, 1, "A", 1);
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  int rc = s->ops->write(s, &ref1, b, &ms, &err);
  CHECK_EQ_INT(rc, AU_E_STORE);
  CHECK(strstr(err.msg, "test_prices") != NULL);
  CHECK(strstr(err.msg, notnull) != NULL);
  CHECK(!err.retryable);
  s->ops->rollback(s);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 0);
  au_batch_drop_last(b);
  struct au_state_update up = {"test.prices", T0, NULL};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, &up, &err), 0);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 1);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  /* two writes in one transaction reuse the staging table */
  au_batch_clear(b);
  add_row(b, T0 + 2 * AU_HOUR, "A", true, 1, T0);
  memset(&ms, 0, sizeof(ms));
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(ms.inserted, 1);
  CHECK_EQ_INT(ms.unchanged, 1);
  if (err.code)
    fprintf(stderr, "  %s\n", err.msg);
  au_batch_free(b);
  au_store_close(s);
}

#endif

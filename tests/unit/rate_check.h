/* rate_check.h - the store op rate_reserve (shared request pacing, GCRA), checked the same
 * way for every store: include after au_test.h and call check_rate_reserve with two
 * connections (as two processes would hold) to one store. */
#ifndef AU_TEST_RATE_CHECK_H
#define AU_TEST_RATE_CHECK_H
#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

static void check_rate_reserve(struct au_store *a, struct au_store *b) {
  struct au_err err = AU_ERR_INIT;
  const au_time t0 = au_time_utc(2024, 1, 1, 0, 0, 0);
  const int64_t ms = 1000; /* microseconds */
  int64_t delay = 0;
  CHECK(a->ops->rate_reserve != NULL);
  if (!a->ops->rate_reserve)
    return;
  /* 10 per second with a burst of 3: three at once, then one every 100 ms, whichever
   * connection asks (the state is in the store, not in the process) */
  struct au_store *who[6] = {a, b, a, b, a, b};
  au_time want[6] = {t0, t0, t0, t0 + 100 * ms, t0 + 200 * ms, t0 + 300 * ms};
  for (int i = 0; i < 6; i++) {
    CHECK_EQ_INT(who[i]->ops->rate_reserve(who[i], "rate:x", t0, 100 * ms, 200 * ms, 0, &delay, &err), 0);
    CHECK_EQ_INT(delay, want[i] - t0);
  }
  /* after a quiet second the burst is back */
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(b->ops->rate_reserve(b, "rate:x", t0 + 1000 * ms, 100 * ms, 200 * ms, 0, &delay, &err), 0);
    CHECK_EQ_INT(delay, 0);
  }
  CHECK_EQ_INT(a->ops->rate_reserve(a, "rate:x", t0 + 1000 * ms, 100 * ms, 200 * ms, 0, &delay, &err), 0);
  CHECK_EQ_INT(delay, 100 * ms);
  /* a minimum spacing alone (no rate): starts 120 ms apart; a late caller starts at once */
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT((i % 2 ? a : b)->ops->rate_reserve(i % 2 ? a : b, "rate:y", t0, 0, 0, 120 * ms, &delay, &err), 0);
    CHECK_EQ_INT(delay, i * 120 * ms);
  }
  CHECK_EQ_INT(a->ops->rate_reserve(a, "rate:y", t0 + 5000 * ms, 0, 0, 120 * ms, &delay, &err), 0);
  CHECK_EQ_INT(delay, 0);
  /* rate and spacing together: the stricter one wins (burst 2 at 200 ms, spacing 50 ms) */
  au_time w2[4] = {0, 50, 200, 400};
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(a->ops->rate_reserve(a, "rate:z", t0, 200 * ms, 200 * ms, 50 * ms, &delay, &err), 0);
    CHECK_EQ_INT(delay, w2[i] * ms);
  }
  /* a key kept under other limits (the config changed: 1 per 10 s -> 10 per s) starts afresh
   * instead of waiting out the old pace */
  for (int i = 0; i < 3; i++)
    CHECK_EQ_INT(a->ops->rate_reserve(a, "rate:c", t0, 10000 * ms, 0, 0, &delay, &err), 0);
  CHECK_EQ_INT(delay, 20000 * ms);
  CHECK_EQ_INT(b->ops->rate_reserve(b, "rate:c", t0 + 1 * ms, 100 * ms, 0, 0, &delay, &err), 0);
  CHECK_EQ_INT(delay, 0);
  CHECK_EQ_INT(a->ops->rate_reserve(a, "rate:c", t0 + 1 * ms, 100 * ms, 0, 0, &delay, &err), 0);
  CHECK_EQ_INT(delay, 100 * ms);
  /* keys are independent */
  CHECK_EQ_INT(b->ops->rate_reserve(b, "rate:w", t0, 100 * ms, 0, 0, &delay, &err), 0);
  CHECK_EQ_INT(delay, 0);
  /* the store's own clock: a fresh key starts at once, the next waits about one interval */
  CHECK_EQ_INT(a->ops->rate_reserve(a, "rate:v", AU_TIME_NONE, 500 * ms, 0, 0, &delay, &err), 0);
  CHECK_EQ_INT(delay, 0);
  CHECK_EQ_INT(b->ops->rate_reserve(b, "rate:v", AU_TIME_NONE, 500 * ms, 0, 0, &delay, &err), 0);
  CHECK(delay > 400 * ms && delay <= 500 * ms);
}

#endif

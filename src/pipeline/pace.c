/* pace.c - see pace.h. */
#include "pipeline/pace.h"

#include "core/err.h"
#include "core/time.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

extern volatile sig_atomic_t au_cancel_requested;

void au_pace_from_policy(const char *name, const struct au_http_policy *p, struct au_pace *out) {
  memset(out, 0, sizeof(*out));
  if (!(p->rate_per_min > 0) && !(p->min_spacing > 0))
    return;
  snprintf(out->key, sizeof(out->key), "source:%s", name);
  if (p->rate_per_min > 0) {
    out->interval = (int64_t)(60e6 / p->rate_per_min);
    out->tolerance = out->interval * (p->burst > 1 ? p->burst - 1 : 0);
  }
  if (p->min_spacing > 0)
    out->spacing = (int64_t)(p->min_spacing * 1e6);
}

int au_pace_wait(struct au_store *s, const struct au_pace *pc, void (*enter)(void *), void (*leave)(void *),
                 void *arg, struct au_err *err) {
  if (!s || !s->ops->rate_reserve || !pc->key[0])
    return 0;
  int64_t delay = 0;
  if (enter && leave)
    enter(arg);
  double t0 = au_mono();
  int rc = s->ops->rate_reserve(s, pc->key, AU_TIME_NONE, pc->interval, pc->tolerance, pc->spacing, &delay, err);
  if (enter && leave)
    leave(arg);
  if (rc)
    return rc;
  /* the delay counts from the reservation (the store's clock); wait on this machine's
   * monotonic clock */
  double until = t0 + (double)delay / 1e6;
  for (;;) {
    double wait = until - au_mono();
    if (wait <= 0 || au_cancel_requested)
      return 0;
    au_sleep(wait > 0.25 ? 0.25 : wait);
  }
}

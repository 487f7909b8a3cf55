/* pace.h - request pacing shared by every process on a store (store op rate_reserve).
 *
 * A source's rate limit and minimum spacing, held in one process by its HTTP client's token
 * bucket, would be multiplied by the number of processes (several `aurum worker`s on one
 * SQLite file or on many hosts against PostgreSQL, several `aurum sync`s of one source).
 * Before each request a caller reserves its start in the store — a GCRA per source, one
 * atomic statement, on the store's clock (PostgreSQL's server clock, shared by every host)
 * — and sleeps the delay it returns on its own monotonic clock. */
#ifndef AU_PIPELINE_PACE_H
#define AU_PIPELINE_PACE_H
#include "core/au.h"
#include "net/http.h"
#include "store/store.h"

struct au_pace {
  char key[80];                       /* "source:<name>"; empty = no pacing */
  int64_t interval, tolerance, spacing; /* microseconds */
};

/* The pacing of source `name` under policy p (rate_per_min, burst, min_spacing); none when
 * the policy has neither a rate nor a spacing. */
void au_pace_from_policy(const char *name, const struct au_http_policy *p, struct au_pace *out);

/* Reserve the next request start under pc in store s and sleep until it (returns early when
 * a cancel is requested). enter/leave (both or neither) wrap the store write, e.g. to
 * serialise one process's writers. A store error is returned (the caller's in-process limiter
 * still holds); the sleep never fails. */
int au_pace_wait(struct au_store *s, const struct au_pace *pc, void (*enter)(void *), void (*leave)(void *),
                 void *arg, struct au_err *err);

#endif

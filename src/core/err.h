/* err.h - error codes and the error context carried up to the user.
 *
 * Functions return 0 on success or a negative AU_E_* code and fill a struct au_err.
 * The first failure wins: au_err_set() does not overwrite an error already set
 * (use au_err_clear() to reuse). Callers add context on the way up with
 * au_err_prefix(): "aeso.pool_price [2024-01-01 .. 2024-01-08): json row 3: ...". */
#ifndef AU_ERR_H
#define AU_ERR_H
#include "core/au.h"

#define AU_ERRNO_MAP(X)                                                        \
  X(OK, 0, "success")                                                          \
  X(INVAL, -1, "invalid argument")                                             \
  X(NOMEM, -2, "out of memory")                                                \
  X(TOOBIG, -3, "input exceeds a limit")                                       \
  X(IO, -4, "I/O error")                                                       \
  X(NET, -5, "network error")                                                  \
  X(TIMEOUT, -6, "timed out")                                                  \
  X(HTTP, -7, "HTTP error")                                                    \
  X(AUTH, -8, "authentication failed")                                         \
  X(RATE, -9, "rate limited")                                                  \
  X(BREAKER, -10, "circuit breaker open")                                      \
  X(PARSE, -11, "malformed input")                                             \
  X(STORE, -12, "store error")                                                 \
  X(CONFIG, -13, "configuration error")                                        \
  X(NOTFOUND, -14, "not found")                                                \
  X(NODATA, -15, "no data for the window")                                     \
  X(SPLIT, -16, "window too large; split it")                                  \
  X(LOCK, -17, "lock not acquired")                                            \
  X(SINK, -18, "sink error")                                                   \
  X(UNSUPPORTED, -19, "not supported")                                         \
  X(CANCELLED, -20, "cancelled")

enum au_errno {
#define AU_X(name, val, text) AU_E_##name = val,
  AU_ERRNO_MAP(AU_X)
#undef AU_X
};

#define AU_ERR_MSG_MAX 1024

struct au_err {
  int code;         /* AU_E_*; 0 = no error */
  bool retryable;   /* the pipeline may back off and try again */
  long http_status; /* last HTTP status when relevant, else 0 */
  double retry_after; /* seconds suggested by the server (Retry-After), or 0 */
  char msg[AU_ERR_MSG_MAX];
};

#define AU_ERR_INIT {0, false, 0, 0.0, {0}}

const char *au_strerror(int code);
const char *au_errname(int code);

/* Record an error (unless one is already set) and return code. */
int au_err_set(struct au_err *err, int code, const char *fmt, ...) AU_PRINTF(3, 4);
/* Same, marking it retryable. */
int au_err_set_retry(struct au_err *err, int code, const char *fmt, ...) AU_PRINTF(3, 4);
/* Prepend context to the message: "<context>: <old message>". No-op without an error. */
void au_err_prefix(struct au_err *err, const char *fmt, ...) AU_PRINTF(2, 3);
void au_err_clear(struct au_err *err);

#endif

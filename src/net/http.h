/* http.h - the HTTP core: the only code in aurum that talks to the network.
 *
 * One client per source. A client owns its politeness policy and is shared by every
 * worker thread of that source (all calls are thread-safe):
 *   - token bucket (requests/minute) plus a minimum spacing between request starts;
 *   - retries with exponential backoff and full jitter on 429, 5xx, timeouts and
 *     connection errors, honouring Retry-After (seconds or HTTP-date);
 *   - a circuit breaker: opens after N consecutive failed attempts, rejects calls
 *     while open, lets one trial call through (half-open) after a cool-down;
 *   - 401/403 fail at once (no retry, breaker untouched) with a message naming the
 *     credential to check;
 *   - a response body cap (AU_E_TOOBIG).
 * Any other final status (2xx, 3xx after redirects, 404, other 4xx) is returned to the
 * caller in resp->status with rc 0: the source decides what it means. */
#ifndef AU_HTTP_H
#define AU_HTTP_H
#include "core/au.h"
#include "core/buf.h"

struct au_err;

struct au_http_policy {
  double rate_per_min;      /* token bucket refill; 0 = unlimited */
  int burst;                /* bucket size; 0 = 1 */
  double min_spacing;       /* seconds between request starts; 0 = none */
  int max_attempts;         /* total tries per call (>= 1); default 5 */
  double backoff_base;      /* seconds; default 0.5 */
  double backoff_max;       /* seconds; default 60 */
  double retry_after_max;   /* cap on honoured Retry-After, seconds; default 300 */
  double timeout;           /* whole-transfer timeout, seconds; default 120 */
  double connect_timeout;   /* seconds; default 20 */
  int breaker_threshold;    /* consecutive failures to open; 0 = default 8 */
  double breaker_cooldown;  /* seconds open before half-open; default 30 */
  size_t max_body;          /* default AU_MAX_HTTP_BODY */
  const char *user_agent;   /* default "aurum/<version>" */
};

/* Defaults filled into zero fields. */
void au_http_policy_defaults(struct au_http_policy *p);

struct au_http_header {
  const char *name;
  const char *value;
};

struct au_http_request {
  const char *method;                 /* NULL = GET */
  const char *url;
  const struct au_http_header *headers;
  size_t nheaders;
  const char *body;                   /* for POST; may be NULL */
  size_t body_len;
  const char *credential;             /* e.g. "AESO_API_KEY", named in 401/403 errors */
  const char *label;                  /* short description for logs, e.g. "aeso pool_price 2024-01-01" */
};

struct au_http_response {
  long status;
  struct au_buf body;                 /* caller releases with au_http_response_release */
  char content_type[128];
  char retry_after[64];               /* raw header value of the last response, if any */
  int attempts;                       /* tries made */
  double elapsed;                     /* seconds spent in transfers (excl. waits) */
  double waited;                      /* seconds spent in rate-limit / backoff waits */
};

void au_http_response_init(struct au_http_response *r);
void au_http_response_release(struct au_http_response *r);

struct au_http_stats {
  uint64_t requests;      /* attempts sent */
  uint64_t retries;
  uint64_t failures;      /* calls that ended in error */
  uint64_t bytes;
  uint64_t status_429;
  uint64_t status_5xx;
  double transfer_seconds;
  double wait_seconds;
  int breaker_state;      /* 0 closed, 1 open, 2 half-open */
};

struct au_http_client;

/* name: the source name used in logs and errors ("aeso"). The policy is copied. */
struct au_http_client *au_http_client_new(const char *name, const struct au_http_policy *p);
void au_http_client_free(struct au_http_client *c);
void au_http_client_stats(struct au_http_client *c, struct au_http_stats *out);
/* Replace the policy (e.g. after config load). */
void au_http_client_set_policy(struct au_http_client *c, const struct au_http_policy *p);

/* Perform a request with the client's politeness and retry policy. Returns 0 with
 * resp->status set when a final response arrived (see above), else a negative AU_E_*
 * with err filled: AU_E_AUTH (401/403), AU_E_RATE / AU_E_HTTP (retries exhausted on
 * 429/5xx; retryable), AU_E_TIMEOUT, AU_E_NET, AU_E_BREAKER, AU_E_TOOBIG. */
int au_http_do(struct au_http_client *c, const struct au_http_request *req,
               struct au_http_response *resp, struct au_err *err);

/* Global init/cleanup (curl_global_init); call once from main. */
int au_http_global_init(void);
void au_http_global_cleanup(void);

/* URL-encode s into b (RFC 3986 unreserved kept). */
int au_url_encode(struct au_buf *b, const char *s) AU_WUR;

#endif

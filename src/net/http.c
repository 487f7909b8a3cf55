#include "core/au.h"
#include "net/http.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- policy ----------------------------------------------------------------------- */

#define DEFAULT_UA "aurum/" AU_VERSION

void au_http_policy_defaults(struct au_http_policy *p) {
  if (!(p->rate_per_min > 0))
    p->rate_per_min = 0;
  if (p->burst <= 0)
    p->burst = 1;
  if (!(p->min_spacing > 0))
    p->min_spacing = 0;
  if (p->max_attempts <= 0)
    p->max_attempts = 5;
  if (!(p->backoff_base > 0))
    p->backoff_base = 0.5;
  if (!(p->backoff_max > 0))
    p->backoff_max = 60;
  if (!(p->retry_after_max > 0))
    p->retry_after_max = 300;
  if (!(p->timeout > 0))
    p->timeout = 120;
  if (!(p->connect_timeout > 0))
    p->connect_timeout = 20;
  if (p->breaker_threshold <= 0)
    p->breaker_threshold = 8;
  if (!(p->breaker_cooldown > 0))
    p->breaker_cooldown = 30;
  if (p->max_body == 0)
    p->max_body = AU_MAX_HTTP_BODY;
  if (!p->user_agent || !*p->user_agent)
    p->user_agent = DEFAULT_UA;
}

/* --- client ----------------------------------------------------------------------- */

enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 };

struct au_http_client {
  char *name;
  pthread_mutex_t mu; /* guards everything below */
  struct au_http_policy pol;
  char ua[256]; /* owned copy of pol.user_agent */

  /* politeness (GCRA form of the token bucket, plus spacing) */
  double tat;        /* theoretical arrival time (mono seconds) */
  double last_start; /* last reserved request start */
  bool have_last;
  double not_before; /* server-imposed pause (Retry-After), mono seconds */

  /* circuit breaker */
  int breaker;
  int consecutive;
  double open_until;
  bool trial_inflight;

  struct au_http_stats st;

  CURLSH *share;
  pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud) {
  AU_UNUSED(h);
  AU_UNUSED(access);
  struct au_http_client *c = ud;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud) {
  AU_UNUSED(h);
  struct au_http_client *c = ud;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_unlock(&c->share_mu[data]);
}

static void set_policy_locked(struct au_http_client *c, const struct au_http_policy *p) {
  struct au_http_policy np;
  if (p)
    np = *p;
  else
    memset(&np, 0, sizeof(np));
  au_http_policy_defaults(&np);
  snprintf(c->ua, sizeof(c->ua), "%s", np.user_agent);
  np.user_agent = c->ua;
  c->pol = np;
}

struct au_http_client *au_http_client_new(const char *name, const struct au_http_policy *p) {
  struct au_http_client *c = au_xcalloc(1, sizeof(*c));
  c->name = au_xstrdup(name ? name : "http");
  pthread_mutex_init(&c->mu, NULL);
  set_policy_locked(c, p);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&c->share_mu[i], NULL);
  c->share = curl_share_init();
  if (c->share) {
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    /* Connections are deliberately not shared (not safe across concurrent threads). */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  return c;
}

void au_http_client_free(struct au_http_client *c) {
  if (!c)
    return;
  if (c->share)
    curl_share_cleanup(c->share);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&c->share_mu[i]);
  pthread_mutex_destroy(&c->mu);
  free(c->name);
  free(c);
}

void au_http_client_stats(struct au_http_client *c, struct au_http_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->st;
  out->breaker_state = c->breaker;
  pthread_mutex_unlock(&c->mu);
}

void au_http_client_set_policy(struct au_http_client *c, const struct au_http_policy *p) {
  pthread_mutex_lock(&c->mu);
  set_policy_locked(c, p);
  pthread_mutex_unlock(&c->mu);
}

/* --- response --------------------------------------------------------------------- */

void au_http_response_init(struct au_http_response *r) {
  memset(r, 0, sizeof(*r));
  au_buf_init(&r->body, AU_MAX_HTTP_BODY);
}

void au_http_response_release(struct au_http_response *r) {
  if (!r)
    return;
  au_buf_release(&r->body);
}

/* --- global ----------------------------------------------------------------------- */

int au_http_global_init(void) {
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : AU_E_NET;
}

/* --- per-thread handle cache ------------------------------------------------------
 * Each thread keeps one idle easy handle between calls, so its connection cache (HTTP
 * keep-alive connections) survives from one request to the next: a thread making many
 * requests to one host reuses its TCP/TLS connection instead of connecting per request.
 * A handle (and its connections) is only ever used by the thread that parked it. It is
 * reset and detached from the client's share object before it is parked, so it holds no
 * pointer to a request, a response or a client. */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
static bool handle_key_ok;

static void handle_dtor(void *h) {
  if (h)
    curl_easy_cleanup(h);
}

static void handle_key_init(void) { handle_key_ok = pthread_key_create(&handle_key, handle_dtor) == 0; }

static CURL *handle_take(void) {
  pthread_once(&handle_once, handle_key_init);
  CURL *h = handle_key_ok ? pthread_getspecific(handle_key) : NULL;
  if (!h)
    return curl_easy_init();
  pthread_setspecific(handle_key, NULL);
  return h;
}

static void handle_park(CURL *h) {
  if (!h)
    return;
  curl_easy_setopt(h, CURLOPT_SHARE, NULL);
  curl_easy_reset(h);
  if (handle_key_ok && !pthread_getspecific(handle_key) && pthread_setspecific(handle_key, h) == 0)
    return;
  curl_easy_cleanup(h);
}

void au_http_global_cleanup(void) {
  if (handle_key_ok) {
    CURL *h = pthread_getspecific(handle_key);
    pthread_setspecific(handle_key, NULL);
    handle_dtor(h);
  }
  curl_global_cleanup();
}

/* --- URL helpers ------------------------------------------------------------------ */

int au_url_encode(struct au_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char ch = *p;
    int rc;
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      rc = au_buf_addc(b, (char)ch);
    } else {
      char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      rc = au_buf_add(b, enc, 3);
    }
    if (rc)
      return rc;
  }
  if (!b->ptr) /* keep the NUL-terminated promise even for "" */
    return au_buf_add(b, "", 0);
  return 0;
}

struct sbuf {
  char *p;
  size_t cap, len;
};

static void sb_put(struct sbuf *s, const char *t, size_t n) {
  if (s->cap == 0)
    return;
  size_t room = s->cap - 1 - s->len;
  if (n > room)
    n = room;
  memcpy(s->p + s->len, t, n);
  s->len += n;
  s->p[s->len] = 0;
}

static bool param_is_secret(const char *name, size_t n) {
  static const char *const words[] = {"key", "token", "secret", "pass", "auth",
                                      "sig", "credential", "session"};
  for (size_t w = 0; w < AU_ARRAY_LEN(words); w++) {
    size_t wl = strlen(words[w]);
    for (size_t i = 0; i + wl <= n; i++)
      if (strncasecmp(name + i, words[w], wl) == 0)
        return true;
  }
  return false;
}

/* The URL for logs and errors: no userinfo, no fragment, secret-looking query values
 * replaced by "REDACTED". */
static void url_redact(const char *url, char *out, size_t outsz) {
  struct sbuf s = {out, outsz, 0};
  if (outsz)
    out[0] = 0;
  if (!url)
    return;
  const char *p = url;
  const char *sch = strstr(url, "://");
  if (sch && (size_t)(sch - url) < 16) {
    sb_put(&s, url, (size_t)(sch - url) + 3);
    p = sch + 3;
  }
  size_t alen = strcspn(p, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++)
    if (p[i] == '@')
      at = p + i;
  if (at) {
    alen -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  sb_put(&s, p, alen);
  p += alen;
  size_t plen = strcspn(p, "?#");
  sb_put(&s, p, plen);
  p += plen;
  if (*p != '?')
    return;
  sb_put(&s, "?", 1);
  p++;
  bool first = true;
  while (*p && *p != '#') {
    size_t n = strcspn(p, "&#");
    size_t kn = 0;
    while (kn < n && p[kn] != '=')
      kn++;
    if (!first)
      sb_put(&s, "&", 1);
    first = false;
    if (kn < n && param_is_secret(p, kn)) {
      sb_put(&s, p, kn + 1);
      sb_put(&s, "REDACTED", 8);
    } else {
      sb_put(&s, p, n);
    }
    p += n;
    if (*p == '&')
      p++;
  }
}

static void url_host(const char *url, char *out, size_t outsz) {
  struct sbuf s = {out, outsz, 0};
  if (outsz)
    out[0] = 0;
  if (!url)
    return;
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t alen = strcspn(p, "/?#");
  for (size_t i = alen; i > 0; i--)
    if (p[i - 1] == '@') {
      alen -= i;
      p += i;
      break;
    }
  sb_put(&s, p, alen);
}

/* --- transfer callbacks ----------------------------------------------------------- */

struct xfer {
  struct au_http_response *resp;
  bool toobig;
  bool nomem;
  uint64_t bytes;
  uint64_t clen; /* Content-Length of the last response's headers, 0 = unknown */
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct xfer *x = ud;
  size_t n = size * nmemb;
  struct au_buf *body = &x->resp->body;
  if (body->len == 0 && x->clen > n && x->clen <= 64u * 1024 * 1024 && (!body->max || x->clen <= body->max) &&
      body->cap < x->clen + 1) {
    /* one allocation of the announced size instead of a doubling chain; only a hint (a
     * decoded or mis-announced body still grows as needed, and an allocation failure
     * here just leaves the buffer to grow) */
    if (au_buf_grow(body, (size_t)x->clen) != 0)
      x->clen = 0;
  }
  int rc = au_buf_add(body, ptr, n);
  if (rc) {
    if (rc == AU_E_TOOBIG)
      x->toobig = true;
    else
      x->nomem = true;
    return 0; /* != n: curl aborts with CURLE_WRITE_ERROR */
  }
  x->bytes += n;
  return n;
}

static void header_capture(const char *line, size_t n, const char *name, char *out,
                           size_t outsz) {
  size_t nl = strlen(name);
  if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
    return;
  const char *v = line + nl + 1, *e = line + n;
  while (v < e && (*v == ' ' || *v == '\t'))
    v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
    e--;
  size_t len = (size_t)(e - v);
  if (len >= outsz)
    len = outsz - 1;
  memcpy(out, v, len);
  out[len] = 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
  struct xfer *x = ud;
  size_t n = size * nitems;
  if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    /* a new response (redirect hop, 100 Continue): keep only the last one's headers */
    x->resp->content_type[0] = 0;
    x->resp->retry_after[0] = 0;
    x->clen = 0;
  } else {
    char cl[32] = "";
    header_capture(buf, n, "content-length", cl, sizeof(cl));
    if (cl[0]) {
      char *end;
      unsigned long long v = strtoull(cl, &end, 10);
      x->clen = (*end == 0 && cl[0] != '-') ? (uint64_t)v : 0;
    }
    header_capture(buf, n, "content-type", x->resp->content_type,
                   sizeof(x->resp->content_type));
    header_capture(buf, n, "retry-after", x->resp->retry_after, sizeof(x->resp->retry_after));
  }
  return n;
}

/* --- helpers ---------------------------------------------------------------------- */

/* Seconds to wait according to a Retry-After value (delta-seconds or HTTP-date);
 * -1 when absent or unparseable. */
static double retry_after_seconds(const char *v) {
  if (!v || !*v)
    return -1;
  const char *p = v;
  if (*p >= '0' && *p <= '9') {
    double secs = 0;
    while (*p >= '0' && *p <= '9') {
      secs = secs * 10 + (*p - '0');
      p++;
    }
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == 0)
      return secs;
  }
  time_t t = curl_getdate(v, NULL);
  if (t == (time_t)-1)
    return -1;
  double d = (double)t - (double)au_now_real() / (double)AU_USEC;
  return d > 0 ? d : 0;
}

static uint64_t rng_next(uint64_t *s) {
  /* xorshift64* */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static double rng_uniform(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static uint64_t rng_seed(void) {
  static _Atomic uint64_t counter;
  uint64_t c = ++counter;
  double m = au_mono();
  uint64_t mbits;
  memcpy(&mbits, &m, sizeof(mbits));
  uint64_t s = mbits ^ ((uint64_t)pthread_self() * 0x9E3779B97F4A7C15ULL) ^
               ((uint64_t)(uintptr_t)&c << 7) ^ (c * 0xBF58476D1CE4E5B9ULL) ^
               (uint64_t)au_now_real();
  /* splitmix64 finaliser */
  s ^= s >> 30;
  s *= 0xBF58476D1CE4E5B9ULL;
  s ^= s >> 27;
  s *= 0x94D049BB133111EBULL;
  s ^= s >> 31;
  return s ? s : 0x853C49E6748FEA9BULL;
}

static void nap(struct au_http_client *c, struct au_http_response *resp, double secs) {
  if (!(secs > 0))
    return;
  au_sleep(secs);
  resp->waited += secs;
  pthread_mutex_lock(&c->mu);
  c->st.wait_seconds += secs;
  pthread_mutex_unlock(&c->mu);
}

/* Reserve the next request start for this caller (token bucket + spacing + any
 * server-imposed pause). Returns how long to wait from now. Called under c->mu. */
static double reserve_slot_locked(struct au_http_client *c) {
  const struct au_http_policy *p = &c->pol;
  double now = au_mono();
  double start = now;
  if (c->not_before > start)
    start = c->not_before;
  if (p->min_spacing > 0 && c->have_last && c->last_start + p->min_spacing > start)
    start = c->last_start + p->min_spacing;
  if (p->rate_per_min > 0) {
    double T = 60.0 / p->rate_per_min;
    double tau = (double)(p->burst > 1 ? p->burst - 1 : 0) * T;
    if (c->tat - tau > start)
      start = c->tat - tau;
    c->tat = (c->tat > start ? c->tat : start) + T;
  }
  if (!c->have_last || start > c->last_start)
    c->last_start = start;
  c->have_last = true;
  return start - now;
}

/* Whether the breaker lets an attempt through now. Claims the half-open trial when
 * admitted while half-open. Called under c->mu. */
static bool breaker_admit_locked(struct au_http_client *c, double now, bool *trial) {
  *trial = false;
  if (c->breaker == BREAKER_CLOSED)
    return true;
  if (c->breaker == BREAKER_OPEN) {
    if (now < c->open_until)
      return false;
    c->breaker = BREAKER_HALF_OPEN;
    c->trial_inflight = false;
  }
  if (c->trial_inflight)
    return false;
  c->trial_inflight = true;
  *trial = true;
  return true;
}

enum outcome { OUT_SUCCESS, OUT_FAIL, OUT_NEUTRAL };

static void breaker_record_locked(struct au_http_client *c, enum outcome o, bool trial) {
  double now = au_mono();
  if (trial)
    c->trial_inflight = false;
  switch (o) {
  case OUT_SUCCESS:
    c->consecutive = 0;
    c->breaker = BREAKER_CLOSED;
    break;
  case OUT_FAIL:
    c->consecutive++;
    if (trial || (c->breaker == BREAKER_HALF_OPEN && !c->trial_inflight) ||
        (c->breaker == BREAKER_CLOSED && c->consecutive >= c->pol.breaker_threshold)) {
      if (c->breaker != BREAKER_OPEN)
        au_warn("http", "%s: circuit breaker open after %d consecutive failures; half-open "
                "in %.1f s", c->name, c->consecutive, c->pol.breaker_cooldown);
      c->breaker = BREAKER_OPEN;
      c->open_until = now + c->pol.breaker_cooldown;
    }
    break;
  case OUT_NEUTRAL:
    break;
  }
}

/* last: the failure that just opened the breaker during this call, or NULL. */
static int breaker_reject(struct au_http_client *c, const char *method, const char *url,
                          const char *last, struct au_err *err) {
  /* called under c->mu */
  double now = au_mono();
  if (c->breaker == BREAKER_OPEN) {
    double left = c->open_until - now;
    if (left < 0)
      left = 0;
    if (last)
      au_err_set_retry(err, AU_E_BREAKER,
                       "%s: %s %s: %s; circuit breaker now open after %d consecutive "
                       "failures; half-open in %.1f s",
                       c->name, method, url, last, c->consecutive, left);
    else
      au_err_set_retry(err, AU_E_BREAKER,
                       "%s: circuit breaker open after %d consecutive failures; %s %s not "
                       "sent; half-open in %.1f s",
                       c->name, c->consecutive, method, url, left);
    if (err)
      err->retry_after = left;
  } else {
    au_err_set_retry(err, AU_E_BREAKER,
                     "%s: circuit breaker half-open with a trial request in flight; %s %s not "
                     "sent; try again shortly",
                     c->name, method, url);
    if (err)
      err->retry_after = 1;
  }
  c->st.failures++;
  return AU_E_BREAKER;
}

static bool curl_is_conn_error(CURLcode cc) {
  switch (cc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    return true;
  default:
    return false;
  }
}

static CURL *make_handle(struct au_http_client *c, const struct au_http_policy *p,
                         const struct au_http_request *req, const char *method,
                         struct curl_slist *hdrs, struct xfer *x, char *errbuf) {
  CURL *h = handle_take();
  if (!h)
    return NULL;
  long tmo = (long)(p->timeout * 1000.0 + 0.5);
  long ctmo = (long)(p->connect_timeout * 1000.0 + 0.5);
  curl_easy_setopt(h, CURLOPT_URL, req->url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_USERAGENT, p->user_agent);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo > 0 ? tmo : 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ctmo > 0 ? ctmo : 1L);
  if (hdrs)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  if (c->share)
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);

  if (strcasecmp(method, "GET") == 0) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (strcasecmp(method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    if (strcasecmp(method, "POST") == 0 || req->body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(req->body ? req->body_len : 0));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
    if (strcasecmp(method, "POST") != 0)
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }
  return h;
}

static const char *reason_phrase(long st) {
  switch (st) {
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "";
  }
}

/* --- the call --------------------------------------------------------------------- */

int au_http_do(struct au_http_client *c, const struct au_http_request *req,
               struct au_http_response *resp, struct au_err *err) {
  if (!c || !req || !req->url || !resp)
    return au_err_set(err, AU_E_INVAL, "http: missing client, request, URL or response");

  const char *method = req->method && *req->method ? req->method : "GET";
  char shown[768];
  url_redact(req->url, shown, sizeof(shown));
  const char *who = req->label && *req->label ? req->label : c->name;

  /* Snapshot the policy (set_policy may run concurrently). */
  struct au_http_policy p;
  char ua[256];
  pthread_mutex_lock(&c->mu);
  p = c->pol;
  memcpy(ua, c->ua, sizeof(ua));
  p.user_agent = ua;
  pthread_mutex_unlock(&c->mu);

  resp->status = 0;
  resp->content_type[0] = 0;
  resp->retry_after[0] = 0;
  resp->attempts = 0;
  resp->elapsed = 0;
  resp->waited = 0;
  resp->body.max = p.max_body;
  au_buf_reset(&resp->body);

  struct curl_slist *hdrs = NULL;
  for (size_t i = 0; i < req->nheaders; i++) {
    const struct au_http_header *hd = &req->headers[i];
    if (!hd->name)
      continue;
    struct au_buf line = AU_BUF_INIT(0);
    int brc = (hd->value && *hd->value) ? au_buf_printf(&line, "%s: %s", hd->name, hd->value)
                                        : au_buf_printf(&line, "%s;", hd->name);
    struct curl_slist *nh = brc ? NULL : curl_slist_append(hdrs, line.ptr);
    au_buf_release(&line);
    if (!nh) {
      curl_slist_free_all(hdrs);
      pthread_mutex_lock(&c->mu);
      c->st.failures++;
      pthread_mutex_unlock(&c->mu);
      return au_err_set(err, AU_E_NOMEM, "%s: out of memory building request headers",
                        c->name);
    }
    hdrs = nh;
  }

  uint64_t rng = rng_seed();
  struct xfer x = {resp, false, false, 0, 0};
  char errbuf[CURL_ERROR_SIZE];
  CURL *h = make_handle(c, &p, req, method, hdrs, &x, errbuf);
  if (!h) {
    curl_slist_free_all(hdrs);
    pthread_mutex_lock(&c->mu);
    c->st.failures++;
    pthread_mutex_unlock(&c->mu);
    return au_err_set(err, AU_E_NOMEM, "%s: cannot create a curl handle", c->name);
  }

  int rc = 0;
  int fail_code = 0;      /* AU_E_* of the last retryable failure */
  long fail_status = 0;   /* HTTP status of the last retryable failure */
  double fail_ra = 0;     /* Retry-After (seconds) of the last retryable failure */
  char detail[CURL_ERROR_SIZE + 128] = "";

  for (int attempt = 0; attempt < p.max_attempts; attempt++) {
    /* Fast reject while the breaker is open, before queueing on the limiter. */
    pthread_mutex_lock(&c->mu);
    if (c->breaker == BREAKER_OPEN && au_mono() < c->open_until) {
      rc = breaker_reject(c, method, shown, NULL, err);
      pthread_mutex_unlock(&c->mu);
      goto out;
    }
    double wait = reserve_slot_locked(c);
    pthread_mutex_unlock(&c->mu);
    nap(c, resp, wait);

    bool trial = false;
    pthread_mutex_lock(&c->mu);
    if (!breaker_admit_locked(c, au_mono(), &trial)) {
      rc = breaker_reject(c, method, shown, NULL, err);
      pthread_mutex_unlock(&c->mu);
      goto out;
    }
    c->st.requests++;
    if (attempt > 0)
      c->st.retries++;
    pthread_mutex_unlock(&c->mu);

    au_buf_reset(&resp->body);
    resp->content_type[0] = 0;
    resp->retry_after[0] = 0;
    resp->status = 0;
    x.toobig = x.nomem = false;
    x.bytes = 0;
    errbuf[0] = 0;
    resp->attempts++;

    double t0 = au_mono();
    CURLcode cc = curl_easy_perform(h);
    double dt = au_mono() - t0;
    resp->elapsed += dt;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;

    enum outcome o = OUT_NEUTRAL;
    bool retry = false;
    double ra = -1;
    if (cc == CURLE_OK) {
      if (status == 401 || status == 403) {
        o = OUT_NEUTRAL;
      } else if (status == 429 || (status >= 500 && status <= 599)) {
        o = OUT_FAIL;
        retry = true;
        fail_code = status == 429 ? AU_E_RATE : AU_E_HTTP;
        fail_status = status;
        ra = retry_after_seconds(resp->retry_after);
        if (ra >= 0)
          snprintf(detail, sizeof(detail), "HTTP %ld (Retry-After: %s)", status,
                   resp->retry_after);
        else
          snprintf(detail, sizeof(detail), "HTTP %ld", status);
      } else {
        o = OUT_SUCCESS;
      }
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
      o = OUT_FAIL;
      retry = true;
      fail_code = AU_E_TIMEOUT;
      fail_status = 0;
      snprintf(detail, sizeof(detail), "timed out after %.1f s (%s)", dt,
               errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else if (curl_is_conn_error(cc)) {
      o = OUT_FAIL;
      retry = true;
      fail_code = AU_E_NET;
      fail_status = status;
      snprintf(detail, sizeof(detail), "connection error: %s",
               errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }

    pthread_mutex_lock(&c->mu);
    c->st.bytes += x.bytes;
    c->st.transfer_seconds += dt;
    if (cc == CURLE_OK && status == 429)
      c->st.status_429++;
    if (cc == CURLE_OK && status >= 500 && status <= 599)
      c->st.status_5xx++;
    breaker_record_locked(c, o, trial);
    if (ra > 0) {
      /* The server asked the whole client to pause: later callers wait too. */
      double pause = ra < p.retry_after_max ? ra : p.retry_after_max;
      if (au_mono() + pause > c->not_before)
        c->not_before = au_mono() + pause;
    }
    pthread_mutex_unlock(&c->mu);

    if (cc == CURLE_OK && !retry) {
      if (status == 401 || status == 403) {
        char host[256];
        url_host(req->url, host, sizeof(host));
        if (req->credential && *req->credential)
          rc = au_err_set(err, AU_E_AUTH,
                          "%s: HTTP %ld %s from %s: check the credential %s (env or config)",
                          c->name, status, reason_phrase(status), host, req->credential);
        else
          rc = au_err_set(err, AU_E_AUTH,
                          "%s: HTTP %ld %s from %s: check the source's credentials", c->name,
                          status, reason_phrase(status), host);
        if (err)
          err->http_status = status;
        goto out_fail;
      }
      rc = 0;
      goto out;
    }
    if (!retry) {
      if (x.toobig) {
        rc = au_err_set(err, AU_E_TOOBIG,
                        "%s: %s %s: response body exceeds the limit of %zu bytes", c->name,
                        method, shown, p.max_body);
      } else if (x.nomem) {
        rc = au_err_set(err, AU_E_NOMEM, "%s: %s %s: out of memory storing the response",
                        c->name, method, shown);
      } else {
        int code = cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? AU_E_INVAL
                                                                                 : AU_E_NET;
        rc = au_err_set(err, code, "%s: %s %s failed: %s", c->name, method, shown,
                        errbuf[0] ? errbuf : curl_easy_strerror(cc));
      }
      if (err)
        err->http_status = status;
      goto out_fail;
    }

    /* Retryable failure. */
    fail_ra = ra > 0 ? ra : 0;
    if (attempt + 1 >= p.max_attempts)
      break;
    /* Do not back off for nothing if this failure (or another thread's) opened it. */
    pthread_mutex_lock(&c->mu);
    if (c->breaker == BREAKER_OPEN && au_mono() < c->open_until) {
      rc = breaker_reject(c, method, shown, detail, err);
      if (err)
        err->http_status = fail_status;
      pthread_mutex_unlock(&c->mu);
      goto out;
    }
    pthread_mutex_unlock(&c->mu);
    double sleep_s;
    const char *why;
    if (ra >= 0) {
      sleep_s = ra < p.retry_after_max ? ra : p.retry_after_max;
      why = "Retry-After";
    } else {
      double cap = ldexp(p.backoff_base, attempt);
      if (!(cap < p.backoff_max))
        cap = p.backoff_max;
      sleep_s = rng_uniform(&rng) * cap;
      why = "backoff";
    }
    au_warn("http", "%s: %s %s: %s (attempt %d/%d); retrying in %.2f s (%s)", who, method,
            shown, detail, attempt + 1, p.max_attempts, sleep_s, why);
    nap(c, resp, sleep_s);
  }

  /* Retries exhausted. */
  rc = au_err_set_retry(err, fail_code ? fail_code : AU_E_NET,
                        "%s: %s %s failed after %d attempt%s: %s", c->name, method, shown,
                        resp->attempts, resp->attempts == 1 ? "" : "s", detail);
  if (err) {
    err->http_status = fail_status;
    err->retry_after = fail_ra;
  }

out_fail:
  pthread_mutex_lock(&c->mu);
  c->st.failures++;
  pthread_mutex_unlock(&c->mu);
out:
  handle_park(h);
  curl_slist_free_all(hdrs);
  return rc;
}

/* sim.c - the simulator's HTTP server (libmicrohttpd), admin endpoints, throttling,
 * revisions, fault injection, request log and the `aurum sim` subcommand. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "sim/sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define LOG_CAP 100000u
#define STATUS_SLOTS 600

struct revision {
  au_time start, end; /* [start, end) of interval starts */
  double delta;
  char iso[16]; /* "" = every operator */
};

struct log_entry {
  uint64_t seq;
  char method[12];
  char *target;
  int status;
  int handler; /* index in au_sim_handlers, -1 = none */
  double ms;
  size_t bytes;
  char *fault; /* spec, or NULL */
};

struct au_sim {
  struct au_sim_config cfg; /* strings below are private copies */
  char *listen;
  char *aeso_key;
  struct MHD_Daemon *daemon;
  int port;
  size_t nhandlers;

  pthread_mutex_t mu;
  pthread_cond_t cond; /* signalled on stop, wakes sleepers */
  bool stopping;

  /* Everything below is guarded by mu. */
  au_time clock; /* AU_TIME_NONE = au_now() */
  uint64_t nreq, nadmin, rows, faults_fired, throttled;
  uint64_t status_count[STATUS_SLOTS];
  uint64_t *handler_count; /* nhandlers + 1 (last: no handler) */
  double *last_ok;         /* per handler: au_mono() of the last accepted request, < 0 none */
  struct revision *revs;
  size_t nrevs, caprevs;
  struct au_sim_fault *faults;
  size_t nfaults, capfaults;
  struct log_entry *log;
  size_t log_len, log_cap, log_head;
};

struct au_sim_ctx {
  struct au_sim *sim;
  au_time now;
  uint64_t seed;
  const struct revision *revs; /* private snapshot */
  size_t nrevs;
  uint64_t n;
};

/* Per-request state kept by MHD in *req_cls. */
struct conn {
  struct MHD_Connection *c;
  char *uri; /* raw request target */
  bool started;
  double t0;
};

/* --- small helpers ---------------------------------------------------------------- */

static void lock(struct au_sim *s) { pthread_mutex_lock(&s->mu); }
static void unlock(struct au_sim *s) { pthread_mutex_unlock(&s->mu); }

static void sim_sleep(struct au_sim *s, double seconds) {
  if (!(seconds > 0))
    return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double whole = floor(seconds);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  lock(s);
  while (!s->stopping)
    if (pthread_cond_timedwait(&s->cond, &s->mu, &ts) == ETIMEDOUT)
      break;
  unlock(s);
}

static bool parse_double(const char *v, double *out) {
  if (!v || !*v)
    return false;
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (*end || errno || !isfinite(d))
    return false;
  *out = d;
  return true;
}

static void fmt_iso(au_time t, char *buf) {
  if (t == AU_TIME_NONE)
    snprintf(buf, 28, "null");
  else
    au_time_fmt(t, buf);
}

/* --- public helpers for handlers ------------------------------------------------------ */

au_time au_sim_now(const struct au_sim_ctx *ctx) { return ctx->now; }
uint64_t au_sim_seed(const struct au_sim_ctx *ctx) { return ctx->seed; }
uint64_t au_sim_request_number(const struct au_sim_ctx *ctx) { return ctx->n; }
const struct au_sim_config *au_sim_ctx_config(const struct au_sim_ctx *ctx) {
  return &ctx->sim->cfg;
}
void au_sim_sleep(struct au_sim_ctx *ctx, double seconds) { sim_sleep(ctx->sim, seconds); }

double au_sim_revision_delta(const struct au_sim_ctx *ctx, const char *iso, au_time t) {
  double d = 0;
  for (size_t i = 0; i < ctx->nrevs; i++) {
    const struct revision *r = &ctx->revs[i];
    if (t >= r->start && t < r->end && (!r->iso[0] || (iso && strcasecmp(iso, r->iso) == 0)))
      d += r->delta;
  }
  return d;
}

void au_sim_served_parts(const struct au_sim_ctx *ctx, const char *iso, const char *node,
                         au_time t, double parts[AU_SIM_NCOMPONENTS]) {
  au_sim_price_parts(ctx->seed, iso, node, t, parts);
  if (ctx->nrevs) {
    double d = au_sim_revision_delta(ctx, iso, t);
    if (d != 0) {
      parts[AU_SIM_ENERGY] = au_sim_round5(parts[AU_SIM_ENERGY] + d);
      parts[AU_SIM_LMP] = parts[AU_SIM_ENERGY] + parts[AU_SIM_CONGESTION] +
                          parts[AU_SIM_LOSS] + parts[AU_SIM_GHG];
    }
  }
}

double au_sim_served_price(const struct au_sim_ctx *ctx, const char *iso, const char *node,
                           au_time t, int component) {
  double parts[AU_SIM_NCOMPONENTS];
  if (component < 0 || component >= AU_SIM_NCOMPONENTS)
    return 0;
  au_sim_served_parts(ctx, iso, node, t, parts);
  return parts[component];
}

double au_sim_served_load(const struct au_sim_ctx *ctx, const char *iso, const char *zone,
                          au_time t) {
  double v = au_sim_load(ctx->seed, iso, zone, t);
  if (ctx->nrevs)
    v = round((v + au_sim_revision_delta(ctx, iso, t)) * 100.0) / 100.0;
  return v;
}

int au_sim_reply_header(struct au_sim_reply *rep, const char *name, const char *value) {
  if (rep->nheaders >= AU_SIM_MAX_HEADERS)
    return AU_E_TOOBIG;
  rep->header_name[rep->nheaders] = au_xstrdup(name);
  rep->header_value[rep->nheaders] = au_xstrdup(value);
  rep->nheaders++;
  return 0;
}

void au_sim_reply_error(struct au_sim_reply *rep, int status, const char *message) {
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->content_type = "application/json";
  rep->rows = 0;
  if (au_buf_printf(&rep->body, "{\"error\": %d, \"message\": ", status) ||
      au_buf_add_json_str(&rep->body, message, strlen(message)) || au_buf_adds(&rep->body, "}\n"))
    au_buf_reset(&rep->body);
}

int au_sim_buf_fixed2(struct au_buf *b, double v) {
  if (!isfinite(v) || fabs(v) > 1e15)
    return au_buf_printf(b, "%.2f", v);
  long long c = llround(v * 100.0);
  bool neg = c < 0;
  unsigned long long u = neg ? (unsigned long long)(-c) : (unsigned long long)c;
  char tmp[32];
  char *e = tmp + sizeof(tmp), *p = e;
  *--p = (char)('0' + u % 10);
  u /= 10;
  *--p = (char)('0' + u % 10);
  u /= 10;
  *--p = '.';
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg)
    *--p = '-';
  return au_buf_add(b, p, (size_t)(e - p));
}

static void put2(char *p, int v) {
  p[0] = (char)('0' + (v / 10) % 10);
  p[1] = (char)('0' + v % 10);
}

int au_sim_buf_civil_min(struct au_buf *b, const struct au_civil *c) {
  if (c->year < 0 || c->year > 9999)
    return au_buf_printf(b, "%04d-%02d-%02d %02d:%02d", c->year, c->month, c->day, c->hour,
                         c->minute);
  char s[16];
  put2(s, c->year / 100);
  put2(s + 2, c->year % 100);
  s[4] = '-';
  put2(s + 5, c->month);
  s[7] = '-';
  put2(s + 8, c->day);
  s[10] = ' ';
  put2(s + 11, c->hour);
  s[13] = ':';
  put2(s + 14, c->minute);
  return au_buf_add(b, s, 16);
}

/* --- request plumbing ------------------------------------------------------------------ */

static const char *req_arg(const struct au_sim_request *r, const char *name) {
  struct conn *cn = r->impl;
  return MHD_lookup_connection_value(cn->c, MHD_GET_ARGUMENT_KIND, name);
}

static const char *req_header(const struct au_sim_request *r, const char *name) {
  struct conn *cn = r->impl;
  return MHD_lookup_connection_value(cn->c, MHD_HEADER_KIND, name);
}

static void reply_init(struct au_sim_reply *rep) {
  memset(rep, 0, sizeof(*rep));
  rep->status = 200;
  rep->content_type = "application/json";
  au_buf_init(&rep->body, AU_SIM_MAX_BODY);
}

static void reply_free(struct au_sim_reply *rep) {
  for (size_t i = 0; i < rep->nheaders; i++) {
    free(rep->header_name[i]);
    free(rep->header_value[i]);
  }
  rep->nheaders = 0;
  au_buf_release(&rep->body);
}

static int find_handler(const struct au_sim *s, const char *path) {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < s->nhandlers; i++) {
    const char *pre = au_sim_handlers[i]->path_prefix;
    size_t n = strlen(pre);
    if (n >= best_len && strncmp(path, pre, n) == 0) {
      best = (int)i;
      best_len = n;
    }
  }
  return best;
}

/* An operator may be registered under several path prefixes (several entries with the
 * same name, e.g. one per host it spans): counters, throttling and the log use the first
 * entry of that name. */
static int canonical_handler(int hi) {
  if (hi < 0)
    return hi;
  for (int i = 0; i < hi; i++)
    if (strcmp(au_sim_handlers[i]->name, au_sim_handlers[hi]->name) == 0)
      return i;
  return hi;
}

/* Body delivered through a content-reader callback (slow trickle or truncation). */
struct body_src {
  struct au_sim *sim;
  char *data;
  size_t len;
  size_t limit;  /* bytes delivered before failing (truncate), else len */
  size_t chunk;  /* slow: bytes per step */
  double step;   /* slow: seconds before each step */
};

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct body_src *b = cls;
  if (pos >= b->limit)
    return pos >= b->len ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = b->limit - (size_t)pos;
  if (n > max)
    n = max;
  if (b->step > 0) {
    if (n > b->chunk)
      n = b->chunk;
    sim_sleep(b->sim, b->step);
    lock(b->sim);
    bool stop = b->sim->stopping;
    unlock(b->sim);
    if (stop)
      return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  memcpy(buf, b->data + pos, n);
  return (ssize_t)n;
}

static void body_free(void *cls) {
  struct body_src *b = cls;
  free(b->data);
  free(b);
}

enum send_mode { SEND_NORMAL, SEND_TRUNCATE, SEND_SLOW };

/* Queue rep on the connection; returns the number of body bytes that will be sent. */
static enum MHD_Result send_reply(struct au_sim *s, struct MHD_Connection *c,
                                  struct au_sim_reply *rep, enum send_mode mode, double slow,
                                  size_t *sent) {
  size_t len = 0;
  char *data = au_buf_detach(&rep->body, &len);
  struct MHD_Response *resp;
  *sent = len;
  if (mode == SEND_NORMAL || len == 0) {
    resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  } else {
    struct body_src *b = au_xcalloc(1, sizeof(*b));
    b->sim = s;
    b->data = data;
    b->len = len;
    b->limit = len;
    if (mode == SEND_TRUNCATE) {
      b->limit = len / 2;
      *sent = b->limit;
    } else {
      b->chunk = len / 10 ? len / 10 : 1;
      b->step = slow / (double)((len + b->chunk - 1) / b->chunk);
    }
    resp = MHD_create_response_from_callback(len, 64 * 1024, body_read, b, body_free);
    if (!resp)
      body_free(b);
    data = NULL;
  }
  if (!resp) {
    free(data);
    return MHD_NO;
  }
  if (rep->content_type)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
  for (size_t i = 0; i < rep->nheaders; i++)
    MHD_add_response_header(resp, rep->header_name[i], rep->header_value[i]);
  enum MHD_Result r = MHD_queue_response(c, (unsigned)rep->status, resp);
  MHD_destroy_response(resp);
  return r;
}

/* --- admin endpoints ------------------------------------------------------------------- */

#define P(...)                                                                           \
  do {                                                                                   \
    if (!rc)                                                                             \
      rc = au_buf_printf(b, __VA_ARGS__);                                                \
  } while (0)

static void add_revision_locked(struct au_sim *s, au_time start, au_time end, double delta,
                                const char *iso) {
  if (s->nrevs == s->caprevs) {
    s->caprevs = s->caprevs ? s->caprevs * 2 : 16;
    s->revs = au_xrealloc(s->revs, s->caprevs * sizeof(*s->revs));
  }
  struct revision *r = &s->revs[s->nrevs++];
  r->start = start;
  r->end = end;
  r->delta = delta;
  snprintf(r->iso, sizeof(r->iso), "%s", iso ? iso : "");
}

static int stats_json(struct au_sim *s, struct au_buf *b) {
  int rc = 0;
  lock(s);
  P("{\"requests\": %llu, \"admin_requests\": %llu, \"rows\": %llu, \"faults_fired\": %llu, "
    "\"throttled\": %llu, \"status\": {",
    (unsigned long long)s->nreq, (unsigned long long)s->nadmin, (unsigned long long)s->rows,
    (unsigned long long)s->faults_fired, (unsigned long long)s->throttled);
  bool first = true;
  for (int i = 0; i < STATUS_SLOTS; i++)
    if (s->status_count[i]) {
      P("%s\"%d\": %llu", first ? "" : ", ", i, (unsigned long long)s->status_count[i]);
      first = false;
    }
  P("}, \"handlers\": {");
  first = true;
  for (size_t i = 0; i <= s->nhandlers; i++)
    if (s->handler_count[i]) {
      P("%s\"%s\": %llu", first ? "" : ", ", i < s->nhandlers ? au_sim_handlers[i]->name : "-",
        (unsigned long long)s->handler_count[i]);
      first = false;
    }
  P("}, \"revisions\": [");
  for (size_t i = 0; i < s->nrevs; i++) {
    char a[32], e[32];
    fmt_iso(s->revs[i].start, a);
    fmt_iso(s->revs[i].end, e);
    P("%s{\"start\": \"%s\", \"end\": \"%s\", \"delta\": %.6g, \"iso\": \"%s\"}",
      i ? ", " : "", a, e, s->revs[i].delta, s->revs[i].iso);
  }
  P("], \"faults\": [");
  for (size_t i = 0; i < s->nfaults; i++) {
    P("%s", i ? ", " : "");
    if (!rc)
      rc = au_buf_add_json_str(b, s->faults[i].spec, strlen(s->faults[i].spec));
  }
  char clk[32];
  fmt_iso(s->clock, clk);
  P("], \"clock\": %s%s%s, \"seed\": %llu}\n", s->clock == AU_TIME_NONE ? "" : "\"", clk,
    s->clock == AU_TIME_NONE ? "" : "\"", (unsigned long long)s->cfg.seed);
  unlock(s);
  return rc;
}

static int log_json(struct au_sim *s, struct au_buf *b, uint64_t since) {
  int rc = 0;
  lock(s);
  for (size_t i = 0; i < s->log_len && !rc; i++) {
    const struct log_entry *e = &s->log[(s->log_head + i) % s->log_len];
    if (e->seq <= since)
      continue;
    P("{\"seq\": %llu, \"method\": \"%s\", \"path\": ", (unsigned long long)e->seq, e->method);
    if (!rc)
      rc = au_buf_add_json_str(b, e->target, strlen(e->target));
    P(", \"status\": %d, \"handler\": \"%s\", \"duration_ms\": %.3f, \"bytes\": %zu, "
      "\"fault\": ",
      e->status, e->handler >= 0 ? au_sim_handlers[e->handler]->name : "-", e->ms, e->bytes);
    if (e->fault) {
      if (!rc)
        rc = au_buf_add_json_str(b, e->fault, strlen(e->fault));
    } else {
      P("null");
    }
    P("}\n");
  }
  unlock(s);
  return rc;
}

static void clear_log_locked(struct au_sim *s) {
  for (size_t i = 0; i < s->log_len; i++) {
    free(s->log[i].target);
    free(s->log[i].fault);
  }
  s->log_len = s->log_head = 0;
}

static void reset_locked(struct au_sim *s) {
  clear_log_locked(s);
  s->nreq = s->nadmin = s->rows = s->faults_fired = s->throttled = 0;
  memset(s->status_count, 0, sizeof(s->status_count));
  memset(s->handler_count, 0, (s->nhandlers + 1) * sizeof(*s->handler_count));
  for (size_t i = 0; i < s->nhandlers; i++)
    s->last_ok[i] = -1;
  s->nrevs = 0;
}

static int add_fault_locked(struct au_sim *s, const struct au_sim_fault *f) {
  if (s->nfaults == s->capfaults) {
    s->capfaults = s->capfaults ? s->capfaults * 2 : 8;
    s->faults = au_xrealloc(s->faults, s->capfaults * sizeof(*s->faults));
  }
  s->faults[s->nfaults++] = *f;
  return 0;
}

static void ok_json(struct au_sim_reply *rep, const char *what) {
  if (au_buf_printf(&rep->body, "{\"ok\": true, \"action\": \"%s\"}\n", what))
    au_buf_reset(&rep->body);
}

static void admin(struct au_sim *s, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *p = req->path + 5; /* after "/_sim" */
  bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  bool post = strcmp(req->method, "POST") == 0;
  bool del = strcmp(req->method, "DELETE") == 0;
  struct au_err err = AU_ERR_INIT;

  if (strcmp(p, "/stats") == 0) {
    if (!get)
      goto method;
    if (stats_json(s, &rep->body))
      au_sim_reply_error(rep, 500, "stats too large");
  } else if (strcmp(p, "/log") == 0) {
    if (!get)
      goto method;
    double since = 0;
    const char *v = req->arg(req, "since");
    if (v && (!parse_double(v, &since) || since < 0)) {
      au_sim_reply_error(rep, 400, "since: want a request number");
      return;
    }
    rep->content_type = "application/x-ndjson";
    if (log_json(s, &rep->body, (uint64_t)since))
      au_sim_reply_error(rep, 500, "log too large");
  } else if (strcmp(p, "/revise") == 0) {
    if (!post)
      goto method;
    const char *vs = req->arg(req, "start"), *ve = req->arg(req, "end");
    const char *vh = req->arg(req, "hours"), *vd = req->arg(req, "delta");
    const char *iso = req->arg(req, "iso");
    double delta, hours;
    au_time a, e;
    if (!parse_double(vd, &delta)) {
      au_sim_reply_error(rep, 400, "delta: want a number");
      return;
    }
    if (iso && strlen(iso) >= sizeof(((struct revision *)0)->iso)) {
      au_sim_reply_error(rep, 400, "iso: name too long");
      return;
    }
    if (vh) {
      if (!parse_double(vh, &hours) || hours <= 0 || hours > 24 * 366 * 50) {
        au_sim_reply_error(rep, 400, "hours: want a positive number");
        return;
      }
      lock(s);
      au_time now = s->clock != AU_TIME_NONE ? s->clock : au_now();
      unlock(s);
      e = now;
      a = now - (au_time)llround(hours * (double)AU_HOUR);
    } else {
      if (!vs || !ve || au_time_parse_iso(vs, (size_t)-1, &a, NULL) ||
          au_time_parse_iso(ve, (size_t)-1, &e, NULL)) {
        au_sim_reply_error(rep, 400, "want start=ISO&end=ISO (or hours=H) and delta=D");
        return;
      }
      if (e <= a) {
        au_sim_reply_error(rep, 400, "end must be after start");
        return;
      }
    }
    lock(s);
    add_revision_locked(s, a, e, delta, iso);
    size_t n = s->nrevs;
    unlock(s);
    char as[32], es[32];
    au_time_fmt(a, as);
    au_time_fmt(e, es);
    if (au_buf_printf(&rep->body,
                      "{\"ok\": true, \"start\": \"%s\", \"end\": \"%s\", \"delta\": %.6g, "
                      "\"revisions\": %zu}\n",
                      as, es, delta, n))
      au_buf_reset(&rep->body);
  } else if (strcmp(p, "/faults") == 0) {
    if (post) {
      struct au_sim_fault f;
      const char *spec = req->arg(req, "spec");
      if (au_sim_fault_parse(spec, &f, &err)) {
        au_sim_reply_error(rep, 400, err.msg);
        return;
      }
      lock(s);
      add_fault_locked(s, &f);
      unlock(s);
      ok_json(rep, "fault added");
    } else if (del) {
      lock(s);
      s->nfaults = 0;
      unlock(s);
      ok_json(rep, "faults cleared");
    } else if (get) {
      if (stats_json(s, &rep->body))
        au_sim_reply_error(rep, 500, "stats too large");
    } else {
      goto method;
    }
  } else if (strcmp(p, "/reset") == 0) {
    if (!post)
      goto method;
    lock(s);
    reset_locked(s);
    unlock(s);
    ok_json(rep, "reset");
  } else if (strcmp(p, "/clock") == 0) {
    if (post) {
      const char *v = req->arg(req, "now");
      au_time t;
      if (v && strcmp(v, "real") == 0) {
        t = AU_TIME_NONE;
      } else if (!v || au_time_parse_iso(v, (size_t)-1, &t, NULL)) {
        au_sim_reply_error(rep, 400, "now: want an ISO-8601 time or 'real'");
        return;
      }
      lock(s);
      s->clock = t;
      unlock(s);
      ok_json(rep, "clock set");
    } else if (!get) {
      goto method;
    }
    if (get || post) {
      lock(s);
      au_time t = s->clock != AU_TIME_NONE ? s->clock : au_now();
      bool fixed = s->clock != AU_TIME_NONE;
      unlock(s);
      char ts[32];
      au_time_fmt_us(t, ts);
      au_buf_reset(&rep->body);
      if (au_buf_printf(&rep->body, "{\"now\": \"%s\", \"fixed\": %s}\n", ts,
                        fixed ? "true" : "false"))
        au_buf_reset(&rep->body);
    }
  } else {
    au_sim_reply_error(rep, 404,
                       "admin endpoints: GET /_sim/stats, GET /_sim/log[?since=N], POST "
                       "/_sim/revise?start=&end=|hours=&delta=[&iso=], POST /_sim/faults?spec=, "
                       "DELETE /_sim/faults, POST /_sim/reset, GET|POST /_sim/clock[?now=]");
  }
  return;
method:
  au_sim_reply_error(rep, 405, "method not allowed for this admin endpoint");
}

/* --- the request path ------------------------------------------------------------------ */

static void error_reply(struct au_sim_ctx *ctx, const struct au_sim_handler *h,
                        const struct au_sim_request *req, int status, const char *msg,
                        struct au_sim_reply *rep) {
  au_buf_reset(&rep->body);
  rep->rows = 0;
  rep->content_type = "application/json";
  if (h && h->error)
    h->error(ctx, req, status, msg, rep);
  else
    au_sim_reply_error(rep, status, msg);
  rep->status = status;
}

static void retry_after(struct au_sim_reply *rep, double secs) {
  char v[32];
  snprintf(v, sizeof(v), "%.0f", ceil(secs));
  (void)au_sim_reply_header(rep, "Retry-After", v);
}

static const char *status_text(int st) {
  switch (st) {
  case 401: return "Access denied: invalid or missing API key";
  case 403: return "Forbidden";
  case 429: return "Rate limit is exceeded. Try again later.";
  case 500: return "Internal server error";
  case 502: return "Bad gateway";
  case 503: return "Service unavailable";
  default: return "Error";
  }
}

static void record(struct au_sim *s, const struct au_sim_request *req, uint64_t seq, int hi,
                   int status, double ms, size_t bytes, size_t rows, const char *fault) {
  lock(s);
  if (status >= 0 && status < STATUS_SLOTS)
    s->status_count[status]++;
  s->handler_count[hi >= 0 ? (size_t)hi : s->nhandlers]++;
  s->rows += rows;
  if (fault)
    s->faults_fired++;
  struct log_entry *e;
  if (s->log_len < LOG_CAP) {
    if (s->log_len == s->log_cap) {
      s->log_cap = s->log_cap ? s->log_cap * 2 : 256;
      if (s->log_cap > LOG_CAP)
        s->log_cap = LOG_CAP;
      s->log = au_xrealloc(s->log, s->log_cap * sizeof(*s->log));
    }
    e = &s->log[s->log_len++];
  } else {
    e = &s->log[s->log_head];
    s->log_head = (s->log_head + 1) % LOG_CAP;
    free(e->target);
    free(e->fault);
  }
  e->seq = seq;
  snprintf(e->method, sizeof(e->method), "%s", req->method);
  e->target = au_xstrdup(req->target);
  e->status = status;
  e->handler = hi;
  e->ms = ms;
  e->bytes = bytes;
  e->fault = fault ? au_xstrdup(fault) : NULL;
  unlock(s);
  if (!s->cfg.quiet)
    au_info("sim", "#%llu %s %s -> %d (%s, %zu bytes, %.1f ms)%s%s", (unsigned long long)seq,
            req->method, req->target, status, hi >= 0 ? au_sim_handlers[hi]->name : "-", bytes,
            ms, fault ? " fault " : "", fault ? fault : "");
}

static enum MHD_Result serve(struct au_sim *s, struct conn *cn, const char *url,
                             const char *method) {
  struct au_sim_request req = {method, url, cn->uri ? cn->uri : url, req_arg, req_header, cn};
  struct au_sim_reply rep;
  reply_init(&rep);
  size_t sent = 0;
  enum MHD_Result r;

  if (strncmp(url, "/_sim", 5) == 0 && (url[5] == 0 || url[5] == '/')) {
    admin(s, &req, &rep);
    lock(s);
    s->nadmin++;
    unlock(s);
    r = send_reply(s, cn->c, &rep, SEND_NORMAL, 0, &sent);
    reply_free(&rep);
    return r;
  }

  int hmatch = find_handler(s, url);
  const struct au_sim_handler *h = hmatch >= 0 ? au_sim_handlers[hmatch] : NULL;
  int hi = canonical_handler(hmatch);
  struct au_sim_ctx ctx = {.sim = s, .seed = s->cfg.seed};
  struct au_sim_fault fault;
  memset(&fault, 0, sizeof(fault));
  bool has_fault = false, throttled = false;
  struct revision *snap = NULL;

  lock(s);
  uint64_t n = ++s->nreq;
  ctx.n = n;
  ctx.now = s->clock != AU_TIME_NONE ? s->clock : au_now();
  if (h && s->cfg.min_spacing > 0) {
    double m = au_mono();
    if (s->last_ok[hi] >= 0 && m - s->last_ok[hi] < s->cfg.min_spacing) {
      throttled = true;
      s->throttled++;
    } else {
      s->last_ok[hi] = m;
    }
  }
  if (s->cfg.revise_every >= 1 && n % (uint64_t)s->cfg.revise_every == 0) {
    /* Deterministic revision: +-(0.5 .. 5.5) over [now - H h, now). */
    double u = au_sim_unit(s->cfg.seed, "sim.revise", (int64_t)n);
    double delta = round(((u < 0.5 ? -1.0 : 1.0) * (0.5 + 10.0 * fabs(u - 0.5))) * 100) / 100;
    add_revision_locked(s, ctx.now - (au_time)s->cfg.revise_hours * AU_HOUR, ctx.now, delta,
                        NULL);
  }
  if (!throttled && h)
    for (size_t i = 0; i < s->nfaults; i++)
      if (au_sim_fault_matches(&s->faults[i], s->cfg.seed, n, url)) {
        fault = s->faults[i];
        has_fault = true;
        break;
      }
  if (s->nrevs) {
    snap = au_xmalloc(s->nrevs * sizeof(*snap));
    memcpy(snap, s->revs, s->nrevs * sizeof(*snap));
    ctx.revs = snap;
    ctx.nrevs = s->nrevs;
  }
  unlock(s);

  enum send_mode mode = SEND_NORMAL;
  double slow = 0;
  if (!h) {
    au_sim_reply_error(&rep, 404, "no simulated operator serves this path");
  } else if (throttled) {
    error_reply(&ctx, h, &req, 429, status_text(429), &rep);
    retry_after(&rep, s->cfg.min_spacing);
  } else if (has_fault && fault.kind == AU_SIM_FAULT_STATUS) {
    error_reply(&ctx, h, &req, fault.status, status_text(fault.status), &rep);
    if (fault.retry_after > 0)
      retry_after(&rep, fault.retry_after);
  } else {
    if (has_fault && fault.kind == AU_SIM_FAULT_TIMEOUT)
      sim_sleep(s, fault.delay);
    int rc = h->handle(&ctx, &req, &rep);
    if (rc < 0) {
      char msg[128];
      snprintf(msg, sizeof(msg), "simulator handler failed: %s", au_strerror(rc));
      error_reply(&ctx, h, &req, 500, msg, &rep);
    } else if (has_fault) {
      switch (fault.kind) {
      case AU_SIM_FAULT_MALFORMED: {
        size_t cut = rep.body.len / 2;
        while (cut > 1 && (rep.body.ptr[cut - 1] == '\n' || rep.body.ptr[cut - 1] == '\r'))
          cut--;
        if (rep.body.ptr) {
          rep.body.len = cut;
          rep.body.ptr[cut] = 0;
        }
        rep.rows = 0;
        break;
      }
      case AU_SIM_FAULT_EMPTY:
        au_buf_reset(&rep.body);
        rep.status = 200;
        rep.rows = 0;
        break;
      case AU_SIM_FAULT_TRUNCATE:
        mode = SEND_TRUNCATE;
        rep.rows = 0;
        break;
      case AU_SIM_FAULT_SLOW:
        mode = SEND_SLOW;
        slow = fault.delay;
        break;
      default: break;
      }
    }
  }
  free(snap);
  if (s->cfg.latency > 0)
    sim_sleep(s, s->cfg.latency);
  if (s->cfg.answer_time > 0) {
    double el = au_mono() - cn->t0;
    if (el < s->cfg.answer_time)
      sim_sleep(s, s->cfg.answer_time - el);
  }

  int status = rep.status;
  size_t rows = rep.rows;
  r = send_reply(s, cn->c, &rep, mode, slow, &sent);
  reply_free(&rep);
  record(s, &req, n, hi, status, (au_mono() - cn->t0) * 1000.0, sent, rows,
         has_fault ? fault.spec : NULL);
  return r;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls) {
  struct au_sim *s = cls;
  struct conn *cn = *req_cls;
  if (!cn) {
    cn = au_xcalloc(1, sizeof(*cn));
    *req_cls = cn;
  }
  if (!cn->started) {
    cn->started = true;
    cn->c = c;
    cn->t0 = au_mono();
    return MHD_YES;
  }
  if (*upload_data_size) { /* bodies are ignored: every parameter is in the query */
    *upload_data_size = 0;
    return MHD_YES;
  }
  return serve(s, cn, url, method);
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c) {
  struct conn *cn = au_xcalloc(1, sizeof(*cn));
  cn->uri = au_xstrdup(uri ? uri : "");
  cn->c = c;
  return cn;
}

static void done_cb(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe) {
  struct conn *cn = *req_cls;
  if (cn) {
    free(cn->uri);
    free(cn);
    *req_cls = NULL;
  }
}

/* --- lifecycle -------------------------------------------------------------------------- */

static int parse_listen(const char *spec, struct sockaddr_storage *ss, bool *v6,
                        struct au_err *err) {
  char host[128] = "127.0.0.1";
  const char *port_s = spec;
  memset(ss, 0, sizeof(*ss));
  *v6 = false;
  if (spec[0] == '[') {
    const char *close = strchr(spec, ']');
    if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host))
      return au_err_set(err, AU_E_INVAL, "listen '%s': want [IPv6]:PORT", spec);
    memcpy(host, spec + 1, (size_t)(close - spec - 1));
    host[close - spec - 1] = 0;
    port_s = close + 2;
    *v6 = true;
  } else {
    const char *colon = strrchr(spec, ':');
    if (colon) {
      if ((size_t)(colon - spec) >= sizeof(host))
        return au_err_set(err, AU_E_INVAL, "listen '%s': host too long", spec);
      if (colon != spec) {
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = 0;
      }
      port_s = colon + 1;
    }
  }
  char *end;
  errno = 0;
  long port = strtol(port_s, &end, 10);
  if (!*port_s || *end || errno || port < 0 || port > 65535)
    return au_err_set(err, AU_E_INVAL, "listen '%s': bad port '%s'", spec, port_s);
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof(host), "127.0.0.1");
  if (strcmp(host, "*") == 0)
    snprintf(host, sizeof(host), "0.0.0.0");
  if (*v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
      return au_err_set(err, AU_E_INVAL, "listen '%s': bad IPv6 address '%s'", spec, host);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
      return au_err_set(err, AU_E_INVAL, "listen '%s': bad IPv4 address '%s'", spec, host);
  }
  return 0;
}

static void sim_free(struct au_sim *s) {
  reset_locked(s);
  free(s->log);
  free(s->revs);
  free(s->faults);
  free(s->handler_count);
  free(s->last_ok);
  free(s->listen);
  free(s->aeso_key);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int au_sim_start(const struct au_sim_config *cfg, struct au_sim **out, struct au_err *err) {
  *out = NULL;
  struct au_sim *s = au_xcalloc(1, sizeof(*s));
  s->cfg = *cfg;
  s->listen = au_xstrdup(cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1:0");
  s->cfg.listen = s->listen;
  s->aeso_key = cfg->aeso_api_key ? au_xstrdup(cfg->aeso_api_key) : NULL;
  s->cfg.aeso_api_key = s->aeso_key;
  s->cfg.faults = NULL;
  s->cfg.nfaults = 0;
  if (!s->cfg.seed)
    s->cfg.seed = 1;
  if (s->cfg.revise_hours <= 0)
    s->cfg.revise_hours = 6;
  s->clock = cfg->now;
  while (au_sim_handlers[s->nhandlers])
    s->nhandlers++;
  s->handler_count = au_xcalloc(s->nhandlers + 1, sizeof(*s->handler_count));
  s->last_ok = au_xcalloc(s->nhandlers + 1, sizeof(*s->last_ok));
  for (size_t i = 0; i < s->nhandlers; i++)
    s->last_ok[i] = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);

  for (size_t i = 0; i < cfg->nfaults; i++) {
    struct au_sim_fault f;
    if (au_sim_fault_parse(cfg->faults[i], &f, err)) {
      sim_free(s);
      return AU_E_INVAL;
    }
    add_fault_locked(s, &f);
  }

  struct sockaddr_storage ss;
  bool v6;
  if (parse_listen(s->listen, &ss, &v6, err)) {
    sim_free(s);
    return AU_E_INVAL;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_AUTO;
  if (v6)
    flags |= MHD_USE_IPv6;
  if (!s->cfg.quiet)
    flags |= MHD_USE_ERROR_LOG;
  uint16_t port = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  s->daemon = MHD_start_daemon(
      flags, port, NULL, NULL, access_cb, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s,
      MHD_OPTION_NOTIFY_COMPLETED, done_cb, s, MHD_OPTION_END);
  if (!s->daemon) {
    au_err_set(err, AU_E_IO, "sim: cannot listen on %s (address in use or not local?)",
               s->listen);
    sim_free(s);
    return AU_E_IO;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : port;
  *out = s;
  return 0;
}

int au_sim_port(const struct au_sim *s) { return s ? s->port : -1; }

void au_sim_stop(struct au_sim *s) {
  if (!s)
    return;
  lock(s);
  s->stopping = true;
  pthread_cond_broadcast(&s->cond);
  unlock(s);
  MHD_stop_daemon(s->daemon);
  sim_free(s);
}

/* --- `aurum sim` ------------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f,
          "usage: aurum sim [options]\n"
          "\n"
          "Serve the grid operators' public API paths and wire formats on loopback from a\n"
          "deterministic market model, with revisions, throttling and faults, so pipelines\n"
          "can be tested offline. Point a source's base URL at the printed address.\n"
          "\n"
          "options:\n"
          "  --listen HOST:PORT    address to bind (default 127.0.0.1:0 = any free port;\n"
          "                        the chosen port is printed)\n"
          "  --seed N              model seed (default 1); same seed = same bytes\n"
          "  --now ISO             fix the simulator clock (default: the real clock, or\n"
          "                        AURUM_NOW); hours ending after it have no actuals yet\n"
          "  --revise-every N      every N-th request adds a revision (+-0.5..5.5) over the\n"
          "                        last --revise-hours hours before the clock\n"
          "  --revise-hours H      hours covered by automatic revisions (default 6)\n"
          "  --min-spacing S       per-operator minimum seconds between requests; closer\n"
          "                        requests get the operator's 429 answer (default 0 = off)\n"
          "  --aeso-api-key KEY    API-KEY value AESO requests must send (default: any\n"
          "                        non-empty key); missing/wrong -> 401\n"
          "  --fault SPEC          inject a fault (repeatable, first match wins)\n"
          "  --latency S           extra delay added to every response, seconds\n"
          "  --zip-level N         deflate level of CAISO ZIP answers, 1 (fastest) .. 9;\n"
          "                        default zlib's own (6), as the operators' servers\n"
          "  --answer-time S       every answer takes at least S seconds from the request's\n"
          "                        arrival, building it included (an operator's response\n"
          "                        time, whatever the simulator's own CPU load)\n"
          "  --quiet               no per-request log lines on stderr\n"
          "  -h, --help            this help\n"
          "\n"
          "fault SPEC: KIND[:PARAM=V,...][@WHEN]\n"
          "  KIND   429 500 502 503 401 403  answer that status with the operator's error body\n"
          "         timeout    sleep delay (default 30 s) before answering\n"
          "         slow       trickle the body over delay seconds (default 3)\n"
          "         malformed  200 with the body cut in the middle (invalid JSON/CSV)\n"
          "         truncate   full Content-Length but only half the body, then close\n"
          "         empty      200 with an empty body\n"
          "  PARAM  retry-after=S (429/503: Retry-After header), delay=S (slow/timeout),\n"
          "         path=/prefix (only requests whose path starts with it)\n"
          "  WHEN   n=3 (3rd request only), n=3-5, every=4, p=0.2 (deterministic in the\n"
          "         seed and request number), always (default)\n"
          "  Requests are counted from 1 over all non-admin requests.\n"
          "  e.g. --fault 429:retry-after=2@n=2 --fault malformed@p=0.1 --fault timeout:delay=5@every=7\n"
          "\n"
          "admin endpoints:\n"
          "  GET    /_sim/stats                  counters (requests, per status, per operator,\n"
          "                                      rows, revisions, faults, clock)\n"
          "  GET    /_sim/log[?since=N]          request log, one JSON object per line\n"
          "  POST   /_sim/revise?start=ISO&end=ISO&delta=D[&iso=aeso]   add a revision\n"
          "  POST   /_sim/revise?hours=H&delta=D                        over [now-H, now)\n"
          "  POST   /_sim/faults?spec=SPEC       add a fault;  DELETE /_sim/faults  clear\n"
          "  POST   /_sim/reset                  clear log, counters and revisions\n"
          "  GET|POST /_sim/clock[?now=ISO|real] read or set the simulator clock\n"
          "\n"
          "operators served:\n");
  for (size_t i = 0; au_sim_handlers[i]; i++)
    fprintf(f, "  %-8s %s...\n", au_sim_handlers[i]->name, au_sim_handlers[i]->path_prefix);
  fprintf(f, "\nSee docs/simulator.md for the formats and the model.\n");
}

static int usage_error(const char *fmt, ...) AU_PRINTF(1, 2);
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "aurum sim: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see aurum sim --help)\n");
  va_end(ap);
  return 2;
}

int au_sim_cmd(int argc, char **argv) {
  enum { O_LISTEN = 256, O_SEED, O_NOW, O_REV_EVERY, O_REV_HOURS, O_SPACING, O_KEY, O_FAULT,
         O_LATENCY, O_ANSWER, O_ZIPLEVEL, O_QUIET };
  static const struct option opts[] = {
      {"listen", required_argument, NULL, O_LISTEN},
      {"seed", required_argument, NULL, O_SEED},
      {"now", required_argument, NULL, O_NOW},
      {"revise-every", required_argument, NULL, O_REV_EVERY},
      {"revise-hours", required_argument, NULL, O_REV_HOURS},
      {"min-spacing", required_argument, NULL, O_SPACING},
      {"aeso-api-key", required_argument, NULL, O_KEY},
      {"fault", required_argument, NULL, O_FAULT},
      {"latency", required_argument, NULL, O_LATENCY},
      {"answer-time", required_argument, NULL, O_ANSWER},
      {"zip-level", required_argument, NULL, O_ZIPLEVEL},
      {"quiet", no_argument, NULL, O_QUIET},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct au_sim_config cfg = {.listen = "127.0.0.1:0", .seed = 1, .now = AU_TIME_NONE,
                              .revise_hours = 6};
  const char **faults = au_xcalloc((size_t)argc + 1, sizeof(*faults));
  int rc = 0;
  double d;

  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (ch) {
    case O_LISTEN: cfg.listen = optarg; break;
    case O_SEED: {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (!*optarg || *end || errno || optarg[0] == '-') {
        rc = usage_error("--seed: want a non-negative integer, got '%s'", optarg);
        goto out;
      }
      cfg.seed = v;
      break;
    }
    case O_NOW:
      if (au_time_parse_iso(optarg, (size_t)-1, &cfg.now, NULL)) {
        rc = usage_error("--now: want an ISO-8601 time, got '%s'", optarg);
        goto out;
      }
      break;
    case O_REV_EVERY:
      if (!parse_double(optarg, &d) || d < 0) {
        rc = usage_error("--revise-every: want a non-negative count, got '%s'", optarg);
        goto out;
      }
      cfg.revise_every = d;
      break;
    case O_REV_HOURS:
      if (!parse_double(optarg, &d) || d < 1 || d > 24 * 366 || d != floor(d)) {
        rc = usage_error("--revise-hours: want a whole number of hours, got '%s'", optarg);
        goto out;
      }
      cfg.revise_hours = (int)d;
      break;
    case O_SPACING:
      if (!parse_double(optarg, &d) || d < 0) {
        rc = usage_error("--min-spacing: want seconds >= 0, got '%s'", optarg);
        goto out;
      }
      cfg.min_spacing = d;
      break;
    case O_KEY: cfg.aeso_api_key = optarg; break;
    case O_FAULT: {
      struct au_sim_fault f;
      struct au_err err = AU_ERR_INIT;
      if (au_sim_fault_parse(optarg, &f, &err)) {
        rc = usage_error("--fault: %s", err.msg);
        goto out;
      }
      faults[cfg.nfaults++] = optarg;
      break;
    }
    case O_LATENCY:
      if (!parse_double(optarg, &d) || d < 0) {
        rc = usage_error("--latency: want seconds >= 0, got '%s'", optarg);
        goto out;
      }
      cfg.latency = d;
      break;
    case O_ANSWER:
      if (!parse_double(optarg, &d) || d < 0) {
        rc = usage_error("--answer-time: want seconds >= 0, got '%s'", optarg);
        goto out;
      }
      cfg.answer_time = d;
      break;
    case O_ZIPLEVEL:
      if (!parse_double(optarg, &d) || d < 1 || d > 9 || d != (double)(int)d) {
        rc = usage_error("--zip-level: want an integer 1..9, got '%s'", optarg);
        goto out;
      }
      cfg.zip_level = (int)d;
      break;
    case O_QUIET: cfg.quiet = true; break;
    case 'h':
      usage(stdout);
      goto out;
    case ':':
      rc = usage_error("option %s needs a value", argv[optind - 1]);
      goto out;
    default:
      rc = usage_error("unknown option '%s'", argv[optind - 1]);
      goto out;
    }
  }
  if (optind < argc) {
    rc = usage_error("unexpected argument '%s'", argv[optind]);
    goto out;
  }
  cfg.faults = faults;

  /* Block the stop signals before the server threads exist so only sigwait() sees them. */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old);

  struct au_sim *s;
  struct au_err err = AU_ERR_INIT;
  if (au_sim_start(&cfg, &s, &err)) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "aurum sim: %s\n", err.msg);
    rc = err.code == AU_E_INVAL ? 2 : 1;
    goto out;
  }
  const char *host = "127.0.0.1";
  char hostbuf[128];
  const char *colon = strrchr(cfg.listen, ':');
  if (cfg.listen[0] == '[') {
    const char *close = strchr(cfg.listen, ']');
    snprintf(hostbuf, sizeof(hostbuf), "%.*s", (int)(close - cfg.listen + 1), cfg.listen);
    host = hostbuf;
  } else if (colon && colon != cfg.listen) {
    snprintf(hostbuf, sizeof(hostbuf), "%.*s", (int)(colon - cfg.listen), cfg.listen);
    if (strcmp(hostbuf, "0.0.0.0") != 0 && strcmp(hostbuf, "*") != 0)
      host = hostbuf;
  }
  printf("aurum sim: listening on http://%s:%d\n", host, au_sim_port(s));
  fflush(stdout);
  if (!cfg.quiet)
    au_info("sim", "seed %llu, %zu fault(s), min spacing %.3g s; Ctrl-C to stop",
            (unsigned long long)s->cfg.seed, cfg.nfaults, cfg.min_spacing);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  if (!cfg.quiet)
    au_info("sim", "signal %d: stopping", sig);
  au_sim_stop(s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
  free(faults);
  return rc;
}

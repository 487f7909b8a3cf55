#include "core/au.h"
#include "au_test.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

/* --- a scripted loopback HTTP server ------------------------------------------------ */

#define MAX_REQ 64

struct srv {
  struct MHD_Daemon *d;
  int port;
  char base[64]; /* "http://127.0.0.1:PORT" */
  pthread_mutex_t mu;
  int statuses[MAX_REQ]; /* status for the i-th request (last one repeats) */
  int nstatus;
  const char *retry_after; /* sent with 429/503 responses when set */
  int delay_ms;            /* sleep before answering */
  size_t body_size;        /* > 0: body of that many 'x' */
  int count;               /* requests received */
  double arrivals[MAX_REQ];
  char last_ua[128];
  char last_accept_enc[64];
};

struct reqstate {
  int idx;
  struct au_buf upload;
};

static void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe) {
  AU_UNUSED(cls);
  AU_UNUSED(conn);
  AU_UNUSED(toe);
  struct reqstate *rs = *con_cls;
  if (rs) {
    au_buf_release(&rs->upload);
    free(rs);
    *con_cls = NULL;
  }
}

static enum MHD_Result send_text(struct MHD_Connection *conn, int status, const char *body,
                                 size_t len, const char *retry_after, const char *location,
                                 const char *encoding) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
  if (retry_after)
    MHD_add_response_header(r, "Retry-After", retry_after);
  if (location)
    MHD_add_response_header(r, "Location", location);
  if (encoding)
    MHD_add_response_header(r, "Content-Encoding", encoding);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result srv_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls) {
  AU_UNUSED(version);
  struct srv *s = cls;
  struct reqstate *rs = *con_cls;
  if (!rs) {
    rs = calloc(1, sizeof(*rs));
    au_buf_init(&rs->upload, 1 << 20);
    pthread_mutex_lock(&s->mu);
    rs->idx = s->count++;
    if (rs->idx < MAX_REQ)
      s->arrivals[rs->idx] = au_mono();
    const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
    snprintf(s->last_ua, sizeof(s->last_ua), "%s", ua ? ua : "");
    const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    snprintf(s->last_accept_enc, sizeof(s->last_accept_enc), "%s", ae ? ae : "");
    pthread_mutex_unlock(&s->mu);
    *con_cls = rs;
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (au_buf_add(&rs->upload, upload_data, *upload_data_size))
      return MHD_NO;
    *upload_data_size = 0;
    return MHD_YES;
  }

  pthread_mutex_lock(&s->mu);
  int delay = s->delay_ms;
  int status = s->nstatus ? s->statuses[rs->idx < s->nstatus ? rs->idx : s->nstatus - 1] : 200;
  const char *ra = s->retry_after;
  size_t body_size = s->body_size;
  pthread_mutex_unlock(&s->mu);
  if (delay > 0)
    usleep((useconds_t)delay * 1000);

  if (strcmp(url, "/redirect") == 0)
    return send_text(conn, 302, "moved", 5, NULL, "/final", NULL);
  if (strcmp(url, "/final") == 0)
    return send_text(conn, 200, "landed", 6, NULL, NULL, NULL);
  if (strcmp(url, "/echo") == 0) {
    const char *xt = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Test");
    char out[512];
    int n = snprintf(out, sizeof(out), "%s|%s|%s", method, rs->upload.ptr ? rs->upload.ptr : "",
                     xt ? xt : "");
    return send_text(conn, 200, out, (size_t)n, NULL, NULL, NULL);
  }
  if (strcmp(url, "/deflate") == 0) {
    const char *plain = "hello hello hello hello deflated world";
    unsigned char z[256];
    uLongf zl = sizeof(z);
    compress2(z, &zl, (const Bytef *)plain, (uLong)strlen(plain), 9);
    return send_text(conn, 200, (const char *)z, zl, NULL, NULL, "deflate");
  }
  if (body_size > 0) {
    char *big = malloc(body_size);
    memset(big, 'x', body_size);
    enum MHD_Result ret = send_text(conn, status, big, body_size, NULL, NULL, NULL);
    free(big);
    return ret;
  }
  char out[64];
  int n = snprintf(out, sizeof(out), "status %d #%d", status, rs->idx + 1);
  return send_text(conn, status, out, (size_t)n,
                   (status == 429 || status == 503) ? ra : NULL, NULL, NULL);
}

static void srv_start(struct srv *s) {
  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->mu, NULL);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = 0;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                              MHD_USE_ERROR_LOG,
                          0, NULL, NULL, srv_handler, s, MHD_OPTION_SOCK_ADDR,
                          (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED, srv_completed,
                          s, MHD_OPTION_END);
  if (!s->d) {
    fprintf(stderr, "cannot start the test HTTP server\n");
    abort();
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info->port;
  snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
}

static void srv_stop(struct srv *s) {
  MHD_stop_daemon(s->d);
  pthread_mutex_destroy(&s->mu);
}

static void srv_script(struct srv *s, int n, const int *statuses) {
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < n && i < MAX_REQ; i++)
    s->statuses[i] = statuses[i];
  s->nstatus = n;
  pthread_mutex_unlock(&s->mu);
}

static int srv_count(struct srv *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->count;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* A fast policy for tests. */
static struct au_http_policy fast_policy(void) {
  struct au_http_policy p;
  memset(&p, 0, sizeof(p));
  p.max_attempts = 5;
  p.backoff_base = 0.01;
  p.backoff_max = 0.05;
  p.timeout = 5;
  p.connect_timeout = 2;
  p.breaker_threshold = 100;
  p.breaker_cooldown = 1;
  return p;
}

static int do_get(struct au_http_client *c, const char *url, struct au_http_response *resp,
                  struct au_err *err) {
  struct au_http_request req;
  memset(&req, 0, sizeof(req));
  req.url = url;
  req.credential = "AESO_API_KEY";
  req.label = "test";
  au_err_clear(err);
  return au_http_do(c, &req, resp, err);
}

static void init_once(void) {
  static int done;
  if (!done) {
    done = 1;
    if (au_http_global_init() != 0)
      abort();
  }
}

/* --- tests -------------------------------------------------------------------------- */

TEST(test_url_encode) {
  struct au_buf b = AU_BUF_INIT(0);
  CHECK_EQ_INT(au_url_encode(&b, "aZ09-._~ b&c/=?\xc3\xa9%+"), 0);
  CHECK_EQ_STR(b.ptr, "aZ09-._~%20b%26c%2F%3D%3F%C3%A9%25%2B");
  au_buf_release(&b);
  CHECK_EQ_INT(au_url_encode(&b, ""), 0);
  CHECK_EQ_STR(b.ptr, "");
  au_buf_release(&b);
  struct au_buf small = AU_BUF_INIT(4);
  CHECK_EQ_INT(au_url_encode(&small, "a b c"), AU_E_TOOBIG);
  au_buf_release(&small);
}

TEST(test_policy_defaults) {
  struct au_http_policy p;
  memset(&p, 0, sizeof(p));
  au_http_policy_defaults(&p);
  CHECK_EQ_INT(p.max_attempts, 5);
  CHECK_EQ_INT(p.burst, 1);
  CHECK_NEAR(p.rate_per_min, 0, 0);
  CHECK_NEAR(p.min_spacing, 0, 0);
  CHECK_NEAR(p.backoff_base, 0.5, 1e-12);
  CHECK_NEAR(p.backoff_max, 60, 1e-12);
  CHECK_NEAR(p.retry_after_max, 300, 1e-12);
  CHECK_NEAR(p.timeout, 120, 1e-12);
  CHECK_NEAR(p.connect_timeout, 20, 1e-12);
  CHECK_EQ_INT(p.breaker_threshold, 8);
  CHECK_NEAR(p.breaker_cooldown, 30, 1e-12);
  CHECK_EQ_INT(p.max_body, AU_MAX_HTTP_BODY);
  CHECK_EQ_STR(p.user_agent, "aurum/" AU_VERSION);
  /* non-zero fields are kept */
  struct au_http_policy q;
  memset(&q, 0, sizeof(q));
  q.max_attempts = 2;
  q.burst = 7;
  q.user_agent = "x/1";
  au_http_policy_defaults(&q);
  CHECK_EQ_INT(q.max_attempts, 2);
  CHECK_EQ_INT(q.burst, 7);
  CHECK_EQ_STR(q.user_agent, "x/1");
}

TEST(test_200_body) {
  init_once();
  struct srv s;
  srv_start(&s);
  struct au_http_policy p = fast_policy();
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body.ptr, "status 200 #1");
  CHECK_EQ_INT(r.body.len, strlen("status 200 #1"));
  CHECK_EQ_STR(r.content_type, "text/plain; charset=utf-8");
  CHECK_EQ_INT(r.attempts, 1);
  CHECK_EQ_INT(err.code, 0);
  CHECK_EQ_STR(s.last_ua, "aurum/" AU_VERSION);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.requests, 1);
  CHECK_EQ_INT(st.retries, 0);
  CHECK_EQ_INT(st.failures, 0);
  CHECK_EQ_INT(st.bytes, strlen("status 200 #1"));
  CHECK_EQ_INT(st.breaker_state, 0);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_404_returned) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 1, (int[]){404});
  struct au_http_policy p = fast_policy();
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/missing", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 404);
  CHECK_EQ_INT(r.attempts, 1);
  CHECK_EQ_INT(srv_count(&s), 1);
  CHECK_EQ_STR(r.body.ptr, "status 404 #1");
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_retry_500_then_200) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 2, (int[]){500, 200});
  struct au_http_policy p = fast_policy();
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.attempts, 2);
  CHECK_EQ_STR(r.body.ptr, "status 200 #2"); /* the failed attempt's body is discarded */
  CHECK_EQ_INT(srv_count(&s), 2);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.requests, 2);
  CHECK_EQ_INT(st.retries, 1);
  CHECK_EQ_INT(st.status_5xx, 1);
  CHECK_EQ_INT(st.failures, 0);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_429_retry_after_honoured) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 2, (int[]){429, 200});
  s.retry_after = "1";
  struct au_http_policy p = fast_policy();
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  double t0 = au_mono();
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  double wall = au_mono() - t0;
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.attempts, 2);
  CHECK(r.waited >= 0.99);
  CHECK(r.waited < 1.5);
  CHECK(wall >= 0.99);
  CHECK(s.arrivals[1] - s.arrivals[0] >= 0.95);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.status_429, 1);
  CHECK(st.wait_seconds >= 0.99);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_retry_after_http_date) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 2, (int[]){503, 200});
  s.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"; /* in the past: retry at once */
  struct au_http_policy p = fast_policy();
  p.backoff_base = 30; /* a backoff (unparsed date) would very likely wait seconds */
  p.backoff_max = 30;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  double t0 = au_mono();
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK(au_mono() - t0 < 0.5);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.attempts, 2);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_429_backoff_without_retry_after) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 3, (int[]){429, 429, 200});
  struct au_http_policy p = fast_policy();
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  double t0 = au_mono();
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  double wall = au_mono() - t0;
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.attempts, 3);
  CHECK_EQ_INT(srv_count(&s), 3);
  /* full jitter: each wait in [0, min(max, base*2^k)] = [0, 0.01] then [0, 0.02] */
  CHECK(r.waited >= 0 && r.waited <= 0.03 + 1e-9);
  CHECK(wall < 1.0);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_backoff_is_bounded_and_jittered) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 1, (int[]){500});
  struct au_http_policy p = fast_policy();
  p.max_attempts = 6;
  p.backoff_base = 0.02;
  p.backoff_max = 0.05;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_HTTP);
  CHECK_EQ_INT(r.attempts, 6);
  /* caps: 0.02 + 0.04 + 0.05 + 0.05 + 0.05 = 0.21 at most */
  CHECK(r.waited <= 0.21 + 1e-9);
  CHECK(r.waited > 0); /* jitter picks positive waits with probability 1 */
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_exhausted_429_is_rate) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 1, (int[]){429});
  struct au_http_policy p = fast_policy();
  p.max_attempts = 3;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[256];
  snprintf(url, sizeof(url), "%s/data?startDate=2024-01-01&api_key=SECRET123&x=1", s.base);
  int rc = do_get(c, url, &r, &err);
  CHECK_EQ_INT(rc, AU_E_RATE);
  CHECK_EQ_INT(err.code, AU_E_RATE);
  CHECK(err.retryable);
  CHECK_EQ_INT(err.http_status, 429);
  CHECK_EQ_INT(r.attempts, 3);
  CHECK_EQ_INT(srv_count(&s), 3);
  CHECK(strstr(err.msg, "aeso: GET ") == err.msg);
  CHECK(strstr(err.msg, "failed after 3 attempts: HTTP 429") != NULL);
  CHECK(strstr(err.msg, "startDate=2024-01-01") != NULL);
  CHECK(strstr(err.msg, "SECRET123") == NULL);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.requests, 3);
  CHECK_EQ_INT(st.retries, 2);
  CHECK_EQ_INT(st.status_429, 3);
  CHECK_EQ_INT(st.failures, 1);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_exhausted_503_is_http) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 1, (int[]){503});
  struct au_http_policy p = fast_policy();
  p.max_attempts = 2;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_HTTP);
  CHECK(err.retryable);
  CHECK_EQ_INT(err.http_status, 503);
  CHECK(strstr(err.msg, "failed after 2 attempts: HTTP 503") != NULL);
  CHECK_EQ_INT(srv_count(&s), 2);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_401_auth_no_retry) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 1, (int[]){401});
  struct au_http_policy p = fast_policy();
  p.breaker_threshold = 1; /* would open at once if auth failures counted */
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_AUTH);
  CHECK(!err.retryable);
  CHECK_EQ_INT(err.http_status, 401);
  CHECK_EQ_INT(r.attempts, 1);
  CHECK_EQ_INT(srv_count(&s), 1);
  CHECK(strstr(err.msg, "aeso: HTTP 401 Unauthorized from 127.0.0.1:") == err.msg);
  CHECK(strstr(err.msg, "check the credential AESO_API_KEY") != NULL);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.breaker_state, 0);
  CHECK_EQ_INT(st.failures, 1);

  /* 403 without a credential name */
  srv_script(&s, 1, (int[]){403});
  struct au_http_request req;
  memset(&req, 0, sizeof(req));
  req.url = url;
  au_err_clear(&err);
  CHECK_EQ_INT(au_http_do(c, &req, &r, &err), AU_E_AUTH);
  CHECK(strstr(err.msg, "HTTP 403 Forbidden") != NULL);
  CHECK(strstr(err.msg, "check the source's credentials") != NULL);
  CHECK_EQ_INT(srv_count(&s), 2);
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.breaker_state, 0);

  /* the breaker is still closed: a normal request goes through */
  srv_script(&s, 1, (int[]){200});
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_timeout_retried) {
  init_once();
  struct srv s;
  srv_start(&s);
  s.delay_ms = 700;
  struct au_http_policy p = fast_policy();
  p.timeout = 0.2;
  p.max_attempts = 2;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/slow", s.base);
  double t0 = au_mono();
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_TIMEOUT);
  double wall = au_mono() - t0;
  CHECK(err.retryable);
  CHECK_EQ_INT(r.attempts, 2);
  CHECK(wall < 0.65);
  CHECK(r.elapsed >= 0.35);
  CHECK(strstr(err.msg, "failed after 2 attempts: timed out") != NULL);
  CHECK_EQ_INT(srv_count(&s), 2);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_connection_refused) {
  init_once();
  /* find a free port, then close it so nothing listens there */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  socklen_t sl = sizeof(sin);
  getsockname(fd, (struct sockaddr *)&sin, &sl);
  close(fd);
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(sin.sin_port));
  struct au_http_policy p = fast_policy();
  p.max_attempts = 3;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_NET);
  CHECK(err.retryable);
  CHECK_EQ_INT(r.attempts, 3);
  CHECK(strstr(err.msg, "failed after 3 attempts: connection error") != NULL);
  au_http_response_release(&r);
  au_http_client_free(c);
}

TEST(test_body_cap) {
  init_once();
  struct srv s;
  srv_start(&s);
  s.body_size = 100000;
  struct au_http_policy p = fast_policy();
  p.max_body = 1000;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/big", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_TOOBIG);
  CHECK(!err.retryable);
  CHECK(strstr(err.msg, "exceeds the limit of 1000 bytes") != NULL);
  CHECK(r.body.len <= 1000);
  CHECK_EQ_INT(srv_count(&s), 1);
  CHECK_EQ_INT(r.attempts, 1);
  /* under the cap it is fine */
  s.body_size = 900;
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.body.len, 900);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_breaker) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 5, (int[]){500, 500, 500, 500, 200});
  struct au_http_policy p = fast_policy();
  p.max_attempts = 1;
  p.breaker_threshold = 3;
  p.breaker_cooldown = 0.3;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  struct au_http_stats st;
  for (int i = 0; i < 3; i++) {
    au_http_client_stats(c, &st);
    CHECK_EQ_INT(st.breaker_state, 0);
    CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_HTTP);
    CHECK(strstr(err.msg, "failed after 1 attempt: HTTP 500") != NULL);
  }
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.breaker_state, 1);
  CHECK_EQ_INT(srv_count(&s), 3);

  /* open: rejected at once without contacting the server */
  double t0 = au_mono();
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_BREAKER);
  CHECK(au_mono() - t0 < 0.05);
  CHECK(err.retryable);
  CHECK(strstr(err.msg, "half-open in") != NULL);
  CHECK(err.retry_after > 0 && err.retry_after <= 0.3);
  CHECK_EQ_INT(srv_count(&s), 3);

  /* after the cool-down one trial goes through; it fails and re-opens the breaker */
  au_sleep(0.35);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_HTTP);
  CHECK_EQ_INT(srv_count(&s), 4);
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.breaker_state, 1);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_BREAKER);
  CHECK_EQ_INT(srv_count(&s), 4);

  /* next trial succeeds and closes it */
  au_sleep(0.35);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(srv_count(&s), 5);
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.breaker_state, 0);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(srv_count(&s), 6);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_breaker_opens_mid_call) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 1, (int[]){502});
  struct au_http_policy p = fast_policy();
  p.max_attempts = 5;
  p.breaker_threshold = 2;
  p.breaker_cooldown = 5;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_BREAKER);
  CHECK_EQ_INT(srv_count(&s), 2);
  CHECK_EQ_INT(r.attempts, 2);
  CHECK(err.retryable);
  CHECK_EQ_INT(err.http_status, 502);
  CHECK(strstr(err.msg, "HTTP 502; circuit breaker now open after 2 consecutive failures") !=
        NULL);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

struct trial_arg {
  struct au_http_client *c;
  const char *url;
  int rc;
  char msg[AU_ERR_MSG_MAX];
};

static void *trial_thread(void *ud) {
  struct trial_arg *a = ud;
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  a->rc = do_get(a->c, a->url, &r, &err);
  memcpy(a->msg, err.msg, sizeof(a->msg));
  au_http_response_release(&r);
  return NULL;
}

TEST(test_half_open_single_trial) {
  init_once();
  struct srv s;
  srv_start(&s);
  srv_script(&s, 2, (int[]){500, 200});
  struct au_http_policy p = fast_policy();
  p.max_attempts = 1;
  p.breaker_threshold = 1;
  p.breaker_cooldown = 0.2;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), AU_E_HTTP);
  au_sleep(0.25);
  s.delay_ms = 300; /* the trial is slow: the second caller must not get through */
  struct trial_arg a1 = {c, url, 0, {0}}, a2 = {c, url, 0, {0}};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, trial_thread, &a1);
  au_sleep(0.05);
  pthread_create(&t2, NULL, trial_thread, &a2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  CHECK_EQ_INT(a1.rc, 0);
  CHECK_EQ_INT(a2.rc, AU_E_BREAKER);
  CHECK(strstr(a2.msg, "half-open") != NULL);
  CHECK_EQ_INT(srv_count(&s), 2);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK_EQ_INT(st.breaker_state, 0);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

struct spacing_arg {
  struct au_http_client *c;
  const char *url;
  int n;
  int fails;
};

static void *spacing_thread(void *ud) {
  struct spacing_arg *a = ud;
  for (int i = 0; i < a->n; i++) {
    struct au_http_response r;
    au_http_response_init(&r);
    struct au_err err = AU_ERR_INIT;
    if (do_get(a->c, a->url, &r, &err) != 0 || r.status != 200)
      a->fails++;
    au_http_response_release(&r);
  }
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

TEST(test_min_spacing_two_threads) {
  init_once();
  struct srv s;
  srv_start(&s);
  struct au_http_policy p = fast_policy();
  p.min_spacing = 0.15;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  struct spacing_arg a1 = {c, url, 3, 0}, a2 = {c, url, 3, 0};
  pthread_t t1, t2;
  double t0 = au_mono();
  pthread_create(&t1, NULL, spacing_thread, &a1);
  pthread_create(&t2, NULL, spacing_thread, &a2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  double wall = au_mono() - t0;
  CHECK_EQ_INT(a1.fails + a2.fails, 0);
  CHECK_EQ_INT(srv_count(&s), 6);
  double arr[6];
  memcpy(arr, s.arrivals, sizeof(arr));
  qsort(arr, 6, sizeof(double), cmp_double);
  for (int i = 1; i < 6; i++) {
    double gap = arr[i] - arr[i - 1];
    if (gap < 0.15 - 0.03)
      fprintf(stderr, "  gap %d = %.4f s\n", i, gap);
    CHECK(gap >= 0.15 - 0.03);
  }
  CHECK(wall >= 5 * 0.15 - 0.01);
  struct au_http_stats st;
  au_http_client_stats(c, &st);
  CHECK(st.wait_seconds >= 5 * 0.15 - 0.05);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_token_bucket) {
  init_once();
  struct srv s;
  srv_start(&s);
  struct au_http_policy p = fast_policy();
  p.rate_per_min = 600; /* one every 0.1 s */
  p.burst = 3;
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/data", s.base);
  double t0 = au_mono();
  for (int i = 0; i < 6; i++)
    CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  double wall = au_mono() - t0;
  CHECK(s.arrivals[2] - s.arrivals[0] < 0.08); /* the burst goes at once */
  CHECK(s.arrivals[3] - s.arrivals[2] >= 0.05);
  CHECK(wall >= 0.28);
  CHECK(wall < 1.0);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_post_headers) {
  init_once();
  struct srv s;
  srv_start(&s);
  struct au_http_policy p = fast_policy();
  p.user_agent = "aurum-test/9";
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/echo", s.base);
  struct au_http_header hdrs[] = {{"X-Test", "hello"}, {"Content-Type", "application/json"}};
  struct au_http_request req;
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = url;
  req.headers = hdrs;
  req.nheaders = 2;
  req.body = "{\"a\":1}";
  req.body_len = strlen(req.body);
  CHECK_EQ_INT(au_http_do(c, &req, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body.ptr, "POST|{\"a\":1}|hello");
  CHECK_EQ_STR(s.last_ua, "aurum-test/9");
  /* set_policy replaces the user agent */
  struct au_http_policy q = fast_policy();
  q.user_agent = "other/2";
  au_http_client_set_policy(c, &q);
  req.method = NULL;
  req.body = NULL;
  req.body_len = 0;
  CHECK_EQ_INT(au_http_do(c, &req, &r, &err), 0);
  CHECK_EQ_STR(r.body.ptr, "GET||hello");
  CHECK_EQ_STR(s.last_ua, "other/2");
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_redirect_and_deflate) {
  init_once();
  struct srv s;
  srv_start(&s);
  struct au_http_policy p = fast_policy();
  struct au_http_client *c = au_http_client_new("aeso", &p);
  struct au_http_response r;
  au_http_response_init(&r);
  struct au_err err = AU_ERR_INIT;
  char url[128];
  snprintf(url, sizeof(url), "%s/redirect", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body.ptr, "landed");
  snprintf(url, sizeof(url), "%s/deflate", s.base);
  CHECK_EQ_INT(do_get(c, url, &r, &err), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body.ptr, "hello hello hello hello deflated world");
  CHECK(strstr(s.last_accept_enc, "deflate") != NULL);
  au_http_response_release(&r);
  au_http_client_free(c);
  srv_stop(&s);
}

TEST(test_cleanup) { au_http_global_cleanup(); }

TEST_LIST{
    T(test_url_encode),
    T(test_policy_defaults),
    T(test_200_body),
    T(test_404_returned),
    T(test_retry_500_then_200),
    T(test_429_retry_after_honoured),
    T(test_retry_after_http_date),
    T(test_429_backoff_without_retry_after),
    T(test_backoff_is_bounded_and_jittered),
    T(test_exhausted_429_is_rate),
    T(test_exhausted_503_is_http),
    T(test_401_auth_no_retry),
    T(test_timeout_retried),
    T(test_connection_refused),
    T(test_body_cap),
    T(test_breaker),
    T(test_breaker_opens_mid_call),
    T(test_half_open_single_trial),
    T(test_min_spacing_two_threads),
    T(test_token_bucket),
    T(test_post_headers),
    T(test_redirect_and_deflate),
    T(test_cleanup),
};

AU_TEST_MAIN()

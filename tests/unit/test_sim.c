/* test_sim.c - the simulator over real loopback HTTP (libcurl client, jansson checks). */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/model.h"
#include "sim/sim.h"

#include "au_test.h"

#include <curl/curl.h>
#include <jansson.h>

#define POOL "/public/poolprice-api/v1.1/price/poolPrice"

struct resp {
  long status;
  CURLcode cc;
  char *body;
  size_t len;
  char retry_after[32];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct resp *r = ud;
  r->body = realloc(r->body, r->len + sz * n + 1);
  memcpy(r->body + r->len, p, sz * n);
  r->len += sz * n;
  r->body[r->len] = 0;
  return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  struct resp *r = ud;
  size_t len = sz * n;
  if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
    size_t k = 0;
    for (size_t i = 12; i < len && k + 1 < sizeof(r->retry_after); i++)
      if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
        r->retry_after[k++] = p[i];
    r->retry_after[k] = 0;
  }
  return len;
}

/* method NULL = GET; key NULL = no API-KEY header. */
static struct resp req(struct au_sim *s, const char *method, const char *target, const char *key,
                       long timeout_ms) {
  struct resp r = {0};
  r.body = calloc(1, 1);
  char url[1024];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", au_sim_port(s), target);
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  char kh[256];
  if (key) {
    snprintf(kh, sizeof(kh), "API-KEY: %s", key);
    h = curl_slist_append(h, kh);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 20000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (method)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  r.cc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r;
}

static struct resp pool(struct au_sim *s, const char *start, const char *end) {
  char t[256];
  if (end)
    snprintf(t, sizeof(t), "%s?startDate=%s&endDate=%s", POOL, start, end);
  else
    snprintf(t, sizeof(t), "%s?startDate=%s", POOL, start);
  return req(s, NULL, t, "k", 0);
}

static struct au_sim *start_cfg(struct au_sim_config *cfg) {
  static bool inited;
  if (!inited) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    inited = true;
  }
  if (!cfg->listen)
    cfg->listen = "127.0.0.1:0";
  cfg->quiet = true;
  struct au_sim *s = NULL;
  struct au_err err = AU_ERR_INIT;
  int rc = au_sim_start(cfg, &s, &err);
  if (rc) {
    fprintf(stderr, "au_sim_start: %s\n", err.msg);
    abort();
  }
  return s;
}

static struct au_sim *start_default(void) {
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2025, 1, 1, 0, 0, 0)};
  return start_cfg(&cfg);
}

static json_t *rows_of(const struct resp *r, json_t **root) {
  json_error_t je;
  *root = json_loads(r->body, 0, &je);
  if (!*root) {
    fprintf(stderr, "  json error: %s at %d\n", je.text, je.position);
    return NULL;
  }
  json_t *ret = json_object_get(*root, "return");
  return json_object_get(ret, "Pool Price Report");
}

static const char *field(json_t *rows, size_t i, const char *name) {
  return json_string_value(json_object_get(json_array_get(rows, i), name));
}

static au_time utc_of(const char *s) {
  au_time t = AU_TIME_NONE;
  if (!s || au_time_parse_iso(s, (size_t)-1, &t, NULL))
    return AU_TIME_NONE;
  return t;
}

/* Rows are consecutive UTC hours starting at first. */
static void check_hours(json_t *rows, size_t want, const char *first) {
  CHECK_EQ_INT(json_array_size(rows), want);
  CHECK_EQ_STR(field(rows, 0, "begin_datetime_utc"), first);
  au_time t0 = utc_of(first);
  for (size_t i = 0; i < json_array_size(rows); i++) {
    au_time t = utc_of(field(rows, i, "begin_datetime_utc"));
    if (t != t0 + (au_time)i * AU_HOUR) {
      CHECK_EQ_INT(t, t0 + (au_time)i * AU_HOUR);
      break;
    }
  }
}

TEST(aeso_dst_days) {
  struct au_sim *s = start_default();
  json_t *root;
  struct resp r = pool(s, "2024-03-10", NULL);
  CHECK_EQ_INT(r.status, 200);
  json_t *rows = rows_of(&r, &root);
  check_hours(rows, 23, "2024-03-10 07:00");
  CHECK_EQ_STR(field(rows, 0, "begin_datetime_mpt"), "2024-03-10 00:00");
  CHECK_EQ_STR(field(rows, 1, "begin_datetime_mpt"), "2024-03-10 01:00");
  CHECK_EQ_STR(field(rows, 2, "begin_datetime_mpt"), "2024-03-10 03:00"); /* 02:00 skipped */
  CHECK_EQ_STR(json_string_value(json_object_get(root, "responseCode")), "200");
  CHECK_EQ_STR(json_string_value(json_object_get(root, "timestamp")),
               "2025-01-01 00:00:00.000+0000");
  json_decref(root);
  free(r.body);

  r = pool(s, "2024-11-03", "2024-11-03");
  rows = rows_of(&r, &root);
  check_hours(rows, 25, "2024-11-03 06:00");
  CHECK_EQ_STR(field(rows, 1, "begin_datetime_mpt"), "2024-11-03 01:00");
  CHECK_EQ_STR(field(rows, 2, "begin_datetime_mpt"), "2024-11-03 01:00"); /* repeated */
  CHECK_EQ_STR(field(rows, 24, "begin_datetime_mpt"), "2024-11-03 23:00");
  /* Every value is a string with two decimals. */
  for (size_t i = 0; i < json_array_size(rows); i++) {
    const char *p = field(rows, i, "pool_price");
    const char *dot = p ? strchr(p, '.') : NULL;
    CHECK(dot && strlen(dot) == 3);
    CHECK(field(rows, i, "forecast_pool_price") != NULL);
    CHECK(field(rows, i, "rolling_30day_avg") != NULL);
  }
  json_decref(root);
  free(r.body);

  r = pool(s, "2024-03-09", "2024-03-11");
  rows = rows_of(&r, &root);
  check_hours(rows, 24 + 23 + 24, "2024-03-09 07:00");
  json_decref(root);
  free(r.body);
  au_sim_stop(s);
}

TEST(aeso_api_key) {
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2025, 1, 1, 0, 0, 0),
                              .aeso_api_key = "secret"};
  struct au_sim *s = start_cfg(&cfg);
  struct resp r = req(s, NULL, POOL "?startDate=2024-01-01", NULL, 0);
  CHECK_EQ_INT(r.status, 401);
  json_t *root = json_loads(r.body, 0, NULL);
  CHECK(root && json_string_value(json_object_get(root, "message")));
  CHECK(root && json_object_get(root, "timestamp"));
  json_decref(root);
  free(r.body);
  r = req(s, NULL, POOL "?startDate=2024-01-01", "wrong", 0);
  CHECK_EQ_INT(r.status, 401);
  free(r.body);
  r = req(s, NULL, POOL "?startDate=2024-01-01", "secret", 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  au_sim_stop(s);

  /* Without a configured key any non-empty key is accepted, none is not. */
  s = start_default();
  r = req(s, NULL, POOL "?startDate=2024-01-01", NULL, 0);
  CHECK_EQ_INT(r.status, 401);
  free(r.body);
  r = req(s, NULL, POOL "?startDate=2024-01-01", "anything", 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  au_sim_stop(s);
}

TEST(aeso_bad_dates) {
  struct au_sim *s = start_default();
  const char *bad[] = {"?startDate=2024-13-01", "?startDate=2024-02-30", "?startDate=20240101",
                       "?startDate=2024-01-10&endDate=2024-01-09",
                       "?startDate=2023-01-01&endDate=2024-01-02", "?endDate=2024-01-01"};
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    char t[256];
    snprintf(t, sizeof(t), "%s%s", POOL, bad[i]);
    struct resp r = req(s, NULL, t, "k", 0);
    CHECK_EQ_INT(r.status, 400);
    json_t *root = json_loads(r.body, 0, NULL);
    CHECK(root && json_string_value(json_object_get(root, "message")));
    CHECK(root && json_object_get(root, "details"));
    json_decref(root);
    free(r.body);
  }
  /* 366 days is the limit: 2024 is a leap year. */
  struct resp r = pool(s, "2024-01-01", "2024-12-31");
  CHECK_EQ_INT(r.status, 200);
  json_t *root;
  json_t *rows = rows_of(&r, &root);
  CHECK_EQ_INT(json_array_size(rows), 366 * 24);
  json_decref(root);
  free(r.body);
  r = req(s, NULL, "/public/nosuch-api/v1/x", "k", 0);
  CHECK_EQ_INT(r.status, 404);
  free(r.body);
  r = req(s, NULL, "/nothing/here", "k", 0);
  CHECK_EQ_INT(r.status, 404);
  free(r.body);
  au_sim_stop(s);
}

TEST(aeso_future_hours) {
  /* 2024-03-10 starts 07:00Z in Edmonton; with now = 12:00Z hours beginning 07..10 have
   * ended, 11:00 (ends 12:00) too; hours from 12:00 on are forecast only. */
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2024, 3, 10, 12, 0, 0)};
  struct au_sim *s = start_cfg(&cfg);
  struct resp r = pool(s, "2024-03-10", NULL);
  json_t *root;
  json_t *rows = rows_of(&r, &root);
  CHECK_EQ_INT(json_array_size(rows), 23);
  for (size_t i = 0; i < json_array_size(rows); i++) {
    const char *p = field(rows, i, "pool_price");
    const char *f = field(rows, i, "forecast_pool_price");
    CHECK(p && f && *f);
    if (i < 5)
      CHECK(p && *p);
    else
      CHECK(p && !*p);
  }
  json_decref(root);
  free(r.body);
  au_sim_stop(s);
}

TEST(determinism) {
  struct au_sim *a = start_default(), *b = start_default();
  struct resp ra = pool(a, "2023-07-01", "2023-07-31"), rb = pool(b, "2023-07-01", "2023-07-31");
  CHECK_EQ_INT(ra.status, 200);
  CHECK(ra.len > 1000 && ra.len == rb.len && memcmp(ra.body, rb.body, ra.len) == 0);
  struct au_sim_config cfg = {.seed = 2, .now = au_time_utc(2025, 1, 1, 0, 0, 0)};
  struct au_sim *c = start_cfg(&cfg);
  struct resp rc = pool(c, "2023-07-01", "2023-07-31");
  CHECK(rc.len != ra.len || memcmp(rc.body, ra.body, ra.len) != 0);
  free(ra.body);
  free(rb.body);
  free(rc.body);
  au_sim_stop(a);
  au_sim_stop(b);
  au_sim_stop(c);
}

static long cents_of(const char *s) { return s ? lround(strtod(s, NULL) * 100.0) : -999999; }

TEST(revision_range) {
  struct au_sim *s = start_default();
  struct resp r0 = pool(s, "2024-06-01", NULL);
  struct resp rv = req(s, "POST", "/_sim/revise?start=2024-06-01T12:00Z&end=2024-06-01T15:00Z&delta=10",
                       NULL, 0);
  CHECK_EQ_INT(rv.status, 200);
  struct resp r1 = pool(s, "2024-06-01", NULL);
  json_t *root0, *root1;
  json_t *a = rows_of(&r0, &root0), *b = rows_of(&r1, &root1);
  CHECK_EQ_INT(json_array_size(a), 24);
  CHECK_EQ_INT(json_array_size(b), 24);
  int changed = 0;
  for (size_t i = 0; i < json_array_size(a); i++) {
    au_time t = utc_of(field(a, i, "begin_datetime_utc"));
    long d = cents_of(field(b, i, "pool_price")) - cents_of(field(a, i, "pool_price"));
    bool inside = t >= au_time_utc(2024, 6, 1, 12, 0, 0) && t < au_time_utc(2024, 6, 1, 15, 0, 0);
    CHECK_EQ_INT(d, inside ? 1000 : 0);
    changed += d != 0;
  }
  CHECK_EQ_INT(changed, 3);
  json_decref(root0);
  json_decref(root1);
  free(r0.body);
  free(r1.body);
  free(rv.body);

  /* Reset drops the revision. */
  rv = req(s, "POST", "/_sim/reset", NULL, 0);
  CHECK_EQ_INT(rv.status, 200);
  free(rv.body);
  r1 = pool(s, "2024-06-01", NULL);
  r0 = pool(s, "2024-06-01", NULL);
  CHECK(r0.len == r1.len && memcmp(r0.body, r1.body, r0.len) == 0);
  free(r0.body);
  free(r1.body);
  rv = req(s, "POST", "/_sim/revise?start=nope&delta=1", NULL, 0);
  CHECK_EQ_INT(rv.status, 400);
  free(rv.body);
  au_sim_stop(s);
}

TEST(revise_every) {
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2024, 6, 2, 0, 0, 0),
                              .revise_every = 2, .revise_hours = 3};
  struct au_sim *s = start_cfg(&cfg);
  struct resp r1 = pool(s, "2024-06-01", NULL); /* request 1: no revision */
  struct resp r2 = pool(s, "2024-06-01", NULL); /* request 2: revises [21:00Z, 00:00Z) */
  json_t *root1, *root2;
  json_t *a = rows_of(&r1, &root1), *b = rows_of(&r2, &root2);
  int changed = 0;
  for (size_t i = 0; i < json_array_size(a); i++) {
    au_time t = utc_of(field(a, i, "begin_datetime_utc"));
    long d = cents_of(field(b, i, "pool_price")) - cents_of(field(a, i, "pool_price"));
    if (d)
      changed++;
    CHECK(d == 0 || t >= au_time_utc(2024, 6, 1, 21, 0, 0));
  }
  CHECK_EQ_INT(changed, 3);
  json_decref(root1);
  json_decref(root2);
  free(r1.body);
  free(r2.body);
  au_sim_stop(s);
}

TEST(fault_nth) {
  const char *faults[] = {"429:retry-after=2@n=2"};
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2025, 1, 1, 0, 0, 0),
                              .faults = faults, .nfaults = 1};
  struct au_sim *s = start_cfg(&cfg);
  long want[] = {200, 429, 200, 200};
  for (size_t i = 0; i < AU_ARRAY_LEN(want); i++) {
    struct resp r = pool(s, "2024-01-01", NULL);
    CHECK_EQ_INT(r.status, want[i]);
    if (want[i] == 429) {
      CHECK_EQ_STR(r.retry_after, "2");
      json_t *root = json_loads(r.body, 0, NULL);
      CHECK(root && json_object_get(root, "message"));
      json_decref(root);
    }
    free(r.body);
  }
  au_sim_stop(s);
}

TEST(fault_probability_deterministic) {
  const char *faults[] = {"500@p=0.3"};
  char seq[2][41];
  for (int k = 0; k < 2; k++) {
    struct au_sim_config cfg = {.seed = 7, .now = au_time_utc(2025, 1, 1, 0, 0, 0),
                                .faults = faults, .nfaults = 1};
    struct au_sim *s = start_cfg(&cfg);
    for (int i = 0; i < 40; i++) {
      struct resp r = pool(s, "2024-01-01", NULL);
      seq[k][i] = r.status == 500 ? 'x' : r.status == 200 ? '.' : '?';
      free(r.body);
    }
    seq[k][40] = 0;
    au_sim_stop(s);
  }
  CHECK_EQ_STR(seq[0], seq[1]);
  int fails = 0;
  for (int i = 0; i < 40; i++)
    fails += seq[0][i] == 'x';
  CHECK(fails >= 4 && fails <= 24);
  CHECK(strchr(seq[0], '?') == NULL);

  /* The matcher itself. */
  struct au_sim_fault f;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_sim_fault_parse("503:retry-after=5,path=/public/@every=3", &f, &err), 0);
  CHECK_EQ_INT(f.status, 503);
  CHECK_NEAR(f.retry_after, 5, 0);
  CHECK(!au_sim_fault_matches(&f, 1, 2, "/public/x"));
  CHECK(au_sim_fault_matches(&f, 1, 3, "/public/x"));
  CHECK(!au_sim_fault_matches(&f, 1, 3, "/other"));
  CHECK_EQ_INT(au_sim_fault_parse("slow:delay=2@n=3-5", &f, &err), 0);
  CHECK(f.kind == AU_SIM_FAULT_SLOW && f.lo == 3 && f.hi == 5);
  CHECK_NEAR(f.delay, 2, 0);
  const char *bad[] = {"", "418", "slow:retry-after=1", "429@n=0", "429@n=5-3", "429@p=2",
                       "timeout:delay=x", "429:foo=1", "malformed@sometimes"};
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    au_err_clear(&err);
    CHECK_EQ_INT(au_sim_fault_parse(bad[i], &f, &err), AU_E_INVAL);
    CHECK(strstr(err.msg, "byte") != NULL || bad[i][0] == 0);
  }
}

TEST(fault_bodies) {
  struct au_sim *s = start_default();
  struct resp r = req(s, "POST", "/_sim/faults?spec=malformed@n=1", NULL, 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  r = pool(s, "2024-01-01", NULL);
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.len > 100);
  json_t *root = json_loads(r.body, 0, NULL);
  CHECK(root == NULL);
  json_decref(root);
  free(r.body);

  r = req(s, "DELETE", "/_sim/faults", NULL, 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  r = req(s, "POST", "/_sim/faults?spec=empty@n=3", NULL, 0);
  free(r.body);
  r = req(s, "POST", "/_sim/faults?spec=truncate@n=4", NULL, 0);
  free(r.body);
  r = req(s, "POST", "/_sim/faults?spec=bogus", NULL, 0);
  CHECK_EQ_INT(r.status, 400);
  free(r.body);
  r = pool(s, "2024-01-01", NULL); /* request 2: fine */
  CHECK_EQ_INT(r.status, 200);
  root = json_loads(r.body, 0, NULL);
  CHECK(root != NULL);
  json_decref(root);
  free(r.body);
  r = pool(s, "2024-01-01", NULL); /* 3: empty */
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.len, 0);
  free(r.body);
  r = pool(s, "2024-01-01", "2024-01-31"); /* 4: truncated */
  CHECK_EQ_INT(r.cc, CURLE_PARTIAL_FILE);
  free(r.body);
  r = pool(s, "2024-01-01", NULL); /* 5: fine again */
  CHECK_EQ_INT(r.cc, CURLE_OK);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  au_sim_stop(s);
}

TEST(fault_timeout_and_slow) {
  const char *faults[] = {"timeout:delay=1.5@n=1", "slow:delay=0.6@n=2"};
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2025, 1, 1, 0, 0, 0),
                              .faults = faults, .nfaults = 2};
  struct au_sim *s = start_cfg(&cfg);
  double t0 = au_mono();
  struct resp r = req(s, NULL, POOL "?startDate=2024-01-01", "k", 300);
  CHECK_EQ_INT(r.cc, CURLE_OPERATION_TIMEDOUT);
  free(r.body);
  t0 = au_mono();
  r = pool(s, "2024-01-01", NULL);
  double took = au_mono() - t0;
  CHECK_EQ_INT(r.status, 200);
  CHECK(took >= 0.4);
  json_t *root = json_loads(r.body, 0, NULL);
  CHECK(root != NULL);
  json_decref(root);
  free(r.body);
  /* A handler sleeping in a timeout fault does not hold up stop(). */
  const char *f2[] = {"timeout@n=1"};
  cfg.faults = f2;
  cfg.nfaults = 1;
  struct au_sim *s2 = start_cfg(&cfg);
  r = req(s2, NULL, POOL "?startDate=2024-01-01", "k", 200);
  CHECK_EQ_INT(r.cc, CURLE_OPERATION_TIMEDOUT);
  free(r.body);
  t0 = au_mono();
  au_sim_stop(s2);
  CHECK(au_mono() - t0 < 10);
  au_sim_stop(s);
}

/* --answer-time: every answer takes at least that long from the request's arrival. */
TEST(answer_time) {
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2025, 1, 1, 0, 0, 0), .answer_time = 0.3};
  struct au_sim *s = start_cfg(&cfg);
  for (int i = 0; i < 2; i++) {
    double t0 = au_mono();
    struct resp r = pool(s, "2024-01-01", NULL);
    double took = au_mono() - t0;
    CHECK_EQ_INT(r.status, 200);
    CHECK(took >= 0.3);
    free(r.body);
  }
  au_sim_stop(s);
}

TEST(stats_and_log) {
  struct au_sim *s = start_default();
  for (int i = 0; i < 3; i++)
    free(pool(s, "2024-02-01", NULL).body);
  free(req(s, NULL, POOL "?startDate=2024-02-01", NULL, 0).body); /* 401 */
  struct resp r = req(s, NULL, "/_sim/stats", NULL, 0);
  CHECK_EQ_INT(r.status, 200);
  json_t *st = json_loads(r.body, 0, NULL);
  CHECK(st != NULL);
  CHECK_EQ_INT(json_integer_value(json_object_get(st, "requests")), 4);
  CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "status"), "200")), 3);
  CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "status"), "401")), 1);
  CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "handlers"), "aeso")), 4);
  CHECK_EQ_INT(json_integer_value(json_object_get(st, "rows")), 3 * 24);
  json_decref(st);
  free(r.body);

  r = req(s, NULL, "/_sim/log", NULL, 0);
  CHECK_EQ_INT(r.status, 200);
  int lines = 0;
  char *save = NULL;
  for (char *line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_t *e = json_loads(line, 0, NULL);
    CHECK(e != NULL);
    lines++;
    CHECK_EQ_INT(json_integer_value(json_object_get(e, "seq")), lines);
    CHECK_EQ_STR(json_string_value(json_object_get(e, "method")), "GET");
    CHECK_EQ_STR(json_string_value(json_object_get(e, "path")), POOL "?startDate=2024-02-01");
    CHECK_EQ_STR(json_string_value(json_object_get(e, "handler")), "aeso");
    CHECK_EQ_INT(json_integer_value(json_object_get(e, "status")), lines <= 3 ? 200 : 401);
    CHECK(json_integer_value(json_object_get(e, "bytes")) > 0);
    CHECK(json_is_number(json_object_get(e, "duration_ms")));
    json_decref(e);
  }
  CHECK_EQ_INT(lines, 4);
  free(r.body);

  r = req(s, "POST", "/_sim/reset", NULL, 0);
  free(r.body);
  r = req(s, NULL, "/_sim/stats", NULL, 0);
  st = json_loads(r.body, 0, NULL);
  CHECK_EQ_INT(json_integer_value(json_object_get(st, "requests")), 0);
  json_decref(st);
  free(r.body);
  r = req(s, "GET", "/_sim/reset", NULL, 0);
  CHECK_EQ_INT(r.status, 405);
  free(r.body);
  au_sim_stop(s);
}

TEST(min_spacing) {
  struct au_sim_config cfg = {.seed = 1, .now = au_time_utc(2025, 1, 1, 0, 0, 0),
                              .min_spacing = 5};
  struct au_sim *s = start_cfg(&cfg);
  struct resp a = pool(s, "2024-01-01", NULL), b = pool(s, "2024-01-01", NULL);
  CHECK_EQ_INT(a.status, 200);
  CHECK_EQ_INT(b.status, 429);
  CHECK_EQ_STR(b.retry_after, "5");
  free(a.body);
  free(b.body);
  au_sim_stop(s);

  cfg.min_spacing = 0.3;
  s = start_cfg(&cfg);
  a = pool(s, "2024-01-01", NULL);
  au_sleep(0.4);
  b = pool(s, "2024-01-01", NULL);
  CHECK_EQ_INT(a.status, 200);
  CHECK_EQ_INT(b.status, 200);
  free(a.body);
  free(b.body);
  au_sim_stop(s);
}

TEST(model_identity_and_shape) {
  au_time t0 = au_time_utc(2023, 1, 1, 0, 0, 0);
  int neg = 0, n = 0;
  for (au_time t = t0; t < t0 + 365 * AU_DAY; t += AU_HOUR, n++) {
    double p[AU_SIM_NCOMPONENTS];
    au_sim_price_parts(1, "caiso", "TH_NP15_GEN-APND", t, p);
    CHECK(p[AU_SIM_LMP] == p[AU_SIM_ENERGY] + p[AU_SIM_CONGESTION] + p[AU_SIM_LOSS] + p[AU_SIM_GHG]);
    if (p[AU_SIM_LMP] != au_sim_price(1, "caiso", "TH_NP15_GEN-APND", t, AU_SIM_LMP)) {
      CHECK(0);
      break;
    }
    for (int k = 1; k < AU_SIM_NCOMPONENTS; k++)
      CHECK(fabs(p[k] * 1e5 - round(p[k] * 1e5)) < 1e-6);
    neg += au_sim_price(1, "aeso", NULL, t, AU_SIM_LMP) < 0;
  }
  CHECK(neg > n / 100 && neg < n / 25); /* ~2% */
  CHECK(au_sim_price(1, "aeso", NULL, t0, AU_SIM_CONGESTION) == 0);
  CHECK(au_sim_price(1, "pjm", "WESTERN HUB", t0, AU_SIM_LMP) !=
        au_sim_price(2, "pjm", "WESTERN HUB", t0, AU_SIM_LMP));
  double l = au_sim_load(1, "aeso", NULL, t0);
  CHECK(l > 5000 && l < 20000);
  CHECK(l == au_sim_load(1, "aeso", NULL, t0));
}

TEST(aeso_year_is_fast) {
  struct au_sim *s = start_default();
  double t0 = au_mono();
  for (int y = 2019; y < 2024; y++) {
    char a[32], b[32];
    snprintf(a, sizeof(a), "%d-01-01", y);
    snprintf(b, sizeof(b), "%d-12-31", y);
    struct resp r = pool(s, a, b);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.len > 365 * 24 * 150);
    free(r.body);
  }
  double took = au_mono() - t0;
  fprintf(stderr, "  5 years of AESO hours served in %.3f s\n", took);
  CHECK(took < 20);
  au_sim_stop(s);
}

TEST(cmd_usage) {
  char *help[] = {"sim", "--help", NULL};
  CHECK_EQ_INT(au_sim_cmd(2, help), 0);
  char *bad[] = {"sim", "--bogus", NULL};
  CHECK_EQ_INT(au_sim_cmd(2, bad), 2);
  char *badf[] = {"sim", "--fault", "nope@n=1", NULL};
  CHECK_EQ_INT(au_sim_cmd(3, badf), 2);
  char *badn[] = {"sim", "--seed", "x", NULL};
  CHECK_EQ_INT(au_sim_cmd(3, badn), 2);
  char *miss[] = {"sim", "--listen", NULL};
  CHECK_EQ_INT(au_sim_cmd(2, miss), 2);
}

TEST_LIST{T(aeso_dst_days), T(aeso_api_key), T(aeso_bad_dates), T(aeso_future_hours),
          T(determinism), T(revision_range), T(revise_every), T(fault_nth),
          T(fault_probability_deterministic), T(fault_bodies), T(fault_timeout_and_slow),
          T(stats_and_log), T(min_spacing), T(model_identity_and_shape), T(aeso_year_is_fast),
          T(cmd_usage), T(answer_time)};
AU_TEST_MAIN()

/* test_store_postgres.c - the PostgreSQL store against a real server: SCD1 merge, state,
 * runs, locks, migrations, partitions, reconnects.
 *
 * Uses AU_TEST_PG_URL when set, else starts a throwaway cluster with
 * scripts/pg-cluster.sh (removed at exit). Exits 77 (CTest SKIP) when the PostgreSQL
 * server binaries are missing. Each test works in its own fresh database. */
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

#include "au_test.h"

#ifdef AU_HAVE_LIBPQ
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

extern const struct au_store_ops au_store_postgres;
int au_pg_open_upto(const char *url, int upto, struct au_store **out, struct au_err *err);
int au_pg_layout_for(const struct au_table_ref *t, bool timescale_available);
char *au_pg_create_sql(const struct au_table_ref *t, int layout);

static const struct au_column cols1[] = {
    {"interval_start", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, "start"},
    {"node", AU_T_TEXT, AU_COL_KEY, "node"},
    {"price", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "price"},
    {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "seq"},
};
static const struct au_schema schema1 = {.cols = cols1, .ncols = 4};
static const struct au_table_ref ref1 = {"test.prices", "test_prices", &schema1, 3};
static const au_time T0 = 1704092400LL * AU_USEC; /* 2024-01-01T07:00:00Z */

/* --- server and databases -------------------------------------------------------- */

static char base_url[512];
static char cluster_dir[256];
static char script[512];

static void stop_cluster(void) {
  if (!cluster_dir[0])
    return;
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "bash %s stop %s >/dev/null 2>&1", script, cluster_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not stop the test cluster in %s\n", cluster_dir);
}

static void start_server(void) {
  const char *u = getenv("AU_TEST_PG_URL");
  if (u && *u) {
    snprintf(base_url, sizeof(base_url), "%s", u);
    return;
  }
  /* tests/unit/test_store_postgres.c -> scripts/pg-cluster.sh */
  snprintf(script, sizeof(script), "%s", __FILE__);
  char *p = strstr(script, "tests/unit/");
  if (!p) {
    fprintf(stderr, "cannot locate scripts/pg-cluster.sh from %s\n", __FILE__);
    exit(1);
  }
  strcpy(p, "scripts/pg-cluster.sh");
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "bash %s available", script);
  if (system(cmd) != 0) {
    printf("SKIP: PostgreSQL server binaries not found (install postgresql)\n");
    exit(77);
  }
  snprintf(cluster_dir, sizeof(cluster_dir), "/tmp/au_test_pg_%d", (int)getpid());
  snprintf(cmd, sizeof(cmd), "bash %s start %s", script, cluster_dir);
  FILE *f = popen(cmd, "r");
  if (!f || !fgets(base_url, sizeof(base_url), f)) {
    fprintf(stderr, "could not start a PostgreSQL cluster with %s\n", script);
    if (f)
      pclose(f);
    exit(1);
  }
  pclose(f);
  base_url[strcspn(base_url, "\n")] = 0;
  atexit(stop_cluster);
}

/* URL of a fresh database named au_<tag> on the server. */
static const char *fresh_db(const char *tag) {
  static char urls[32][600];
  static int k;
  char *out = urls[k++ & 31];
  PGconn *c = PQconnectdb(base_url);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "connect %s: %s\n", base_url, PQerrorMessage(c));
    exit(1);
  }
  char sql[256];
  PQclear(PQexec(c, "SET client_min_messages = warning"));
  snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS au_%s WITH (FORCE)", tag);
  PQclear(PQexec(c, sql));
  snprintf(sql, sizeof(sql), "CREATE DATABASE au_%s", tag);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
    exit(1);
  }
  PQclear(r);
  PQfinish(c);
  /* base_url ends with /postgres */
  snprintf(out, 600, "%.*sau_%s", (int)(strrchr(base_url, '/') + 1 - base_url), base_url, tag);
  return out;
}

/* First column of the first row of sql on a separate connection (TimeZone UTC). */
static const char *q1(const char *url, const char *sql) {
  static char out[8][512];
  static int k;
  char *o = out[k++ & 7];
  PGconn *c = PQconnectdb(url);
  if (PQstatus(c) != CONNECTION_OK) {
    snprintf(o, 512, "CONNFAIL");
    PQfinish(c);
    return o;
  }
  PQclear(PQexec(c, "SET TimeZone = 'UTC'"));
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    snprintf(o, 512, "SQLERR %s", PQresultErrorMessage(r));
  else if (PQntuples(r) == 0)
    snprintf(o, 512, "NOROW");
  else
    snprintf(o, 512, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return o;
}

static struct au_store *open_store(const char *url) {
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = NULL;
  if (au_store_open(url, &s, &err)) {
    fprintf(stderr, "open %s: %s\n", url, err.msg);
    abort();
  }
  return s;
}

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

/* --- merge --------------------------------------------------------------------- */

static struct au_store *merge_suite(const char *url) {
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = open_store(url);
  CHECK(s->ops == &au_store_postgres);
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
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

  au_batch_clear(b);
  for (int i = 0; i < 12; i++)
    add_row(b, T0 + i * AU_HOUR, i % 2 ? "NODE_B" : "NODE_A", true, 10.5 + i, seq1 + AU_HOUR);
  CHECK_EQ_INT(write_batch(s, &ref1, b, &st), 0);
  CHECK_EQ_INT(st.inserted, 0);
  CHECK_EQ_INT(st.updated, 0);
  CHECK_EQ_INT(st.unchanged, 12);

  au_batch_clear(b);
  add_row(b, T0, "NODE_A", true, 99.25, seq1 + 2 * AU_HOUR);      /* updated */
  add_row(b, T0 + AU_HOUR, "NODE_B", true, -5.0, seq1 - AU_HOUR); /* older: unchanged */
  add_row(b, T0 + 2 * AU_HOUR, "NODE_A", true, 12.5, seq1);       /* equal seq+values */
  add_row(b, T0 + 3 * AU_HOUR, "NODE_B", true, 7.0, seq1);        /* equal seq, new value */
  add_row(b, T0 + 100 * AU_HOUR, "NODE_C", false, 0, seq1);       /* inserted, NULL price */
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

  au_batch_clear(b);
  add_row(b, T0 + 101 * AU_HOUR, "NODE_C", true, 1.0, seq1);
  memset(&st, 0, sizeof(st));
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &st, &err), 0);
  CHECK_EQ_INT(st.inserted, 1);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 14);
  CHECK_EQ_INT(err.code, 0);
  if (err.code)
    fprintf(stderr, "  %s\n", err.msg);
  au_batch_free(b);
  return s;
}

static void check_merged_values(const char *url) {
  CHECK_EQ_STR(q1(url, "SELECT interval_start FROM test_prices ORDER BY interval_start, node"),
               "2024-01-01 07:00:00+00");
  CHECK_EQ_STR(q1(url, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid ="
                       " 'test_prices'::regclass AND attname = 'price'"),
               "double precision");
  CHECK_EQ_STR(q1(url, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid ="
                       " 'test_prices'::regclass AND attname = 'interval_start'"),
               "timestamp with time zone");
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE interval_start = "
                       "'2024-01-01T07:00:00Z' AND node = 'NODE_A'"),
               "99.25");
  CHECK_EQ_STR(q1(url, "SELECT ingestion_time FROM test_prices WHERE interval_start = "
                       "'2024-01-01T07:00:00Z' AND node = 'NODE_A'"),
               "2024-01-02 09:00:00.123456+00");
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE interval_start = "
                       "'2024-01-01T08:00:00Z' AND node = 'NODE_B'"),
               "11.5");
  CHECK_EQ_STR(q1(url, "SELECT ingestion_time FROM test_prices WHERE interval_start = "
                       "'2024-01-01T09:00:00Z' AND node = 'NODE_A'"),
               "2024-01-02 07:00:00.123456+00");
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE interval_start = "
                       "'2024-01-01T10:00:00Z'"),
               "7");
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE node = 'NODE_C' ORDER BY "
                       "interval_start"),
               "NULL");
}

TEST(merge) {
  const char *url = fresh_db("merge");
  struct au_store *s = merge_suite(url);
  check_merged_values(url);
  CHECK_EQ_STR(q1(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                       "aurum_schema_migrations"),
               "1,2");
  CHECK_EQ_STR(q1(url, "SELECT relkind FROM pg_class WHERE relname = 'test_prices'"), "p");
  au_store_close(s);
  /* reopen: data stays, migrations not reapplied */
  s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 14);
  au_store_close(s);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM aurum_schema_migrations"), "2");
}

/* The hypertable code path (EXISTS instead of xmax) gives the same outcomes. */
TEST(merge_exists_path) {
  const char *url = fresh_db("merge_exists");
  setenv("AURUM_PG_FORCE_EXISTS", "1", 1);
  struct au_store *s = merge_suite(url);
  unsetenv("AURUM_PG_FORCE_EXISTS");
  check_merged_values(url);
  au_store_close(s);
}

/* Non-partitioned (no cursor column): xmax through the table itself. */
TEST(merge_plain_table) {
  static const struct au_column c[] = {
      {"interval_start", AU_T_TIME, AU_COL_KEY, NULL},
      {"node", AU_T_TEXT, AU_COL_KEY, NULL},
      {"price", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
      {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, NULL},
  };
  static const struct au_schema sc = {.cols = c, .ncols = 4};
  const struct au_table_ref r = {"test.prices", "test_prices", &sc, 3};
  const char *url = fresh_db("plain");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &r, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT relkind FROM pg_class WHERE relname = 'test_prices'"), "r");
  struct au_batch *b = au_batch_new(&sc, 4);
  add_row(b, T0, "A", true, 1, T0);
  add_row(b, T0, "B", true, 1, T0);
  struct au_merge_stats ms;
  CHECK_EQ_INT(write_batch(s, &r, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 2);
  au_batch_clear(b);
  add_row(b, T0, "A", true, 2, T0 + 1);
  add_row(b, T0, "C", true, 2, T0 + 1);
  uint8_t oc[2];
  ms = (struct au_merge_stats){0, 0, 0, oc};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &r, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(ms.inserted, 1);
  CHECK_EQ_INT(ms.updated, 1);
  CHECK_EQ_INT(oc[0], AU_ROW_UPDATED);
  CHECK_EQ_INT(oc[1], AU_ROW_INSERTED);
  au_batch_free(b);
  au_store_close(s);
}

/* A key repeated inside one batch merges in batch order, as SQLite's row-by-row merge. */
TEST(duplicate_keys_in_batch) {
  const char *url = fresh_db("dups");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 8);
  add_row(b, T0, "A", true, 1, T0);          /* inserted */
  add_row(b, T0, "A", true, 2, T0 + 10);     /* updated */
  add_row(b, T0, "A", true, 3, T0 + 5);      /* older: unchanged */
  add_row(b, T0, "B", true, 1, T0);          /* inserted */
  add_row(b, T0, "A", true, 2, T0 + 20);     /* same value: unchanged */
  uint8_t oc[5];
  struct au_merge_stats ms = {0, 0, 0, oc};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(ms.inserted, 2);
  CHECK_EQ_INT(ms.updated, 1);
  CHECK_EQ_INT(ms.unchanged, 2);
  CHECK_EQ_INT(oc[0], AU_ROW_INSERTED);
  CHECK_EQ_INT(oc[1], AU_ROW_UPDATED);
  CHECK_EQ_INT(oc[2], AU_ROW_UNCHANGED);
  CHECK_EQ_INT(oc[3], AU_ROW_INSERTED);
  CHECK_EQ_INT(oc[4], AU_ROW_UNCHANGED);
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE node = 'A'"), "2");
  au_batch_free(b);
  au_store_close(s);
}

TEST(null_changes) {
  const char *url = fresh_db("nulls");
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
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE node = 'A'"), "3");
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE node = 'B'"), "NULL");
  CHECK_EQ_STR(q1(url, "SELECT ingestion_time FROM test_prices WHERE node = 'B'"),
               "2024-01-01 07:00:01+00");
  au_batch_free(b);
  au_store_close(s);
}

/* INT/BOOL values, no sequence column, a schema-qualified destination. */
TEST(no_sequence_int_bool_schema) {
  static const struct au_column c2[] = {
      {"day", AU_T_TIME, AU_COL_KEY, NULL},
      {"n", AU_T_INT, AU_COL_NULLABLE, NULL},
      {"flag", AU_T_BOOL, 0, NULL},
      {"label", AU_T_TEXT, AU_COL_NULLABLE, NULL},
  };
  static const struct au_schema s2 = {.cols = c2, .ncols = 4};
  const struct au_table_ref r2 = {"t.two", "bronze.two", &s2, -1};
  const char *url = fresh_db("noseq");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &r2, &err), 0);
  struct au_batch *b = au_batch_new(&s2, 2);
  au_batch_add_row(b);
  au_batch_set_time(b, 0, T0);
  au_batch_set_int(b, 1, 5000000000LL);
  au_batch_set_bool(b, 2, true);
  au_batch_set_text(b, 3, "x\ty\\z\nw \\N", 10);
  struct au_merge_stats st;
  CHECK_EQ_INT(write_batch(s, &r2, b, &st), 0);
  CHECK_EQ_INT(st.inserted, 1);
  CHECK_EQ_INT(write_batch(s, &r2, b, &st), 0);
  CHECK_EQ_INT(st.unchanged, 1);
  au_batch_set_bool(b, 2, false);
  CHECK_EQ_INT(write_batch(s, &r2, b, &st), 0);
  CHECK_EQ_INT(st.updated, 1);
  CHECK_EQ_STR(q1(url, "SELECT n || '/' || flag FROM bronze.two"), "5000000000/false");
  CHECK_EQ_STR(q1(url, "SELECT label = E'x\\ty\\\\z\\nw \\\\N' FROM bronze.two"), "t");
  CHECK_EQ_STR(q1(url, "SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull FROM "
                       "pg_attribute WHERE attrelid = 'bronze.two'::regclass AND attname = 'n'"),
               "bigint false");
  CHECK_EQ_STR(q1(url, "SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull FROM "
                       "pg_attribute WHERE attrelid = 'bronze.two'::regclass AND attname = 'flag'"),
               "boolean true");
  CHECK_EQ_INT(s->ops->count_rows(s, &r2, &err), 1);
  au_batch_free(b);
  au_store_close(s);
}

/* --- state --------------------------------------------------------------------- */

static int list_cb(void *arg, const struct au_state *st) {
  char *out = arg;
  size_t n = strlen(out);
  char wm[32] = "none";
  if (st->watermark != AU_TIME_NONE)
    au_time_fmt(st->watermark, wm);
  snprintf(out + n, 512 - n, "%s=%s;", st->key, wm);
  return 0;
}

TEST(watermark_with_data) {
  const char *url = fresh_db("wm");
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
  CHECK_EQ_STR(q1(url, "SELECT watermark FROM aurum_state"), "2024-01-01 08:00:00+00");

  struct au_state_update older = {"test.prices", T0, NULL};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, &older, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0 + AU_HOUR);
  CHECK_EQ_STR(stt.details, "{\"last\":1}");

  struct au_state_update none = {"test.prices", AU_TIME_NONE, "{}"};
  CHECK_EQ_INT(s->ops->commit(s, &none, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0 + AU_HOUR);
  CHECK_EQ_STR(stt.details, "{}");
  struct au_state_update newer = {"test.prices", T0 + 5 * AU_HOUR, NULL};
  CHECK_EQ_INT(s->ops->commit(s, &newer, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0 + 5 * AU_HOUR);

  struct au_state_update other = {"other.table", AU_TIME_NONE, NULL};
  CHECK_EQ_INT(s->ops->commit(s, &other, &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "other.table", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, AU_TIME_NONE);
  CHECK_EQ_STR(stt.details, "{}");

  char listed[512] = "";
  CHECK_EQ_INT(s->ops->state_list(s, list_cb, listed, &err), 0);
  CHECK_EQ_STR(listed, "other.table=none;test.prices=2024-01-01T12:00:00Z;");

  CHECK_EQ_INT(s->ops->state_reset(s, "test.prices", &err), 0);
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 1);
  CHECK_EQ_INT(s->ops->state_reset(s, "never.seen", &err), 0);
  au_batch_free(b);
  au_store_close(s);
}

TEST(rollback_leaves_nothing) {
  const char *url = fresh_db("rb");
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
  CHECK(strstr(err.msg, "not-null") != NULL);
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

TEST(runs) {
  const char *url = fresh_db("runs");
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
  CHECK_EQ_STR(q1(url, "SELECT status || ' ' || started_at FROM aurum_runs ORDER BY id"),
               "running 2024-01-01 07:00:00+00");
  r.finished_at = T0 + AU_MINUTE;
  r.status = "ok";
  r.inserted = 10;
  r.updated = 2;
  r.unchanged = 3;
  r.requests = 4;
  r.batches = 5;
  CHECK_EQ_INT(s->ops->run_end(s, &r, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT status || ' ' || finished_at || ' ' || rows_inserted || ' ' || "
                       "rows_updated || ' ' || rows_unchanged || ' ' || requests || ' ' || "
                       "batches || ' ' || coalesce(error, '-') FROM aurum_runs ORDER BY id"),
               "ok 2024-01-01 07:01:00+00 10 2 3 4 5 -");
  r2.status = "failed";
  r2.error = "HTTP 500";
  CHECK_EQ_INT(s->ops->run_end(s, &r2, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT status || ' ' || error FROM aurum_runs ORDER BY id DESC"),
               "failed HTTP 500");
  struct au_run_record bad = {0};
  bad.id = 9999;
  CHECK_EQ_INT(s->ops->run_end(s, &bad, &err), AU_E_NOTFOUND);
  au_store_close(s);
}

/* --- locks --------------------------------------------------------------------- */

TEST(lock_two_connections) {
  const char *url = fresh_db("lock");
  struct au_store *a = open_store(url), *b = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(a->ops->lock(a, "test.prices", 0, &err), 0);
  CHECK_EQ_INT(a->ops->lock(a, "test.prices", 0, &err), 0); /* re-entrant */
  double t0 = au_mono();
  CHECK_EQ_INT(b->ops->lock(b, "test.prices", 0.3, &err), AU_E_LOCK);
  double took = au_mono() - t0;
  CHECK(took >= 0.28 && took < 5);
  CHECK(strstr(err.msg, "table test.prices is being synced by another aurum process") != NULL);
  CHECK(strstr(err.msg, "--lock-timeout") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(b->ops->lock(b, "other.table", 0, &err), 0); /* other tables are free */
  a->ops->unlock(a, "test.prices");
  CHECK_EQ_INT(b->ops->lock(b, "test.prices", 0, &err), AU_E_LOCK); /* still held once */
  au_err_clear(&err);
  a->ops->unlock(a, "test.prices");
  CHECK_EQ_INT(b->ops->lock(b, "test.prices", 0, &err), 0);
  CHECK_EQ_INT(a->ops->lock(a, "test.prices", 0, &err), AU_E_LOCK);
  au_err_clear(&err);
  /* closing the holder's session releases its locks */
  au_store_close(b);
  CHECK_EQ_INT(a->ops->lock(a, "test.prices", 2, &err), 0);
  au_store_close(a);
}

/* --- migrations ------------------------------------------------------------------- */

TEST(migrations_on_existing_db) {
  const char *url = fresh_db("migr");
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = NULL;
  CHECK_EQ_INT(au_pg_open_upto(url, 1, &s, &err), 0);
  if (!s)
    return;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 4);
  add_row(b, T0, "A", true, 1, T0);
  struct au_merge_stats ms = {0};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  struct au_state_update up = {"test.prices", T0, "{\"v\":1}"};
  CHECK_EQ_INT(s->ops->commit(s, &up, &err), 0);
  struct au_run_record r = {0};
  r.key = "test.prices";
  CHECK_EQ_INT(s->ops->run_begin(s, &r, &err), 0);
  au_store_close(s);
  CHECK_EQ_STR(q1(url, "SELECT string_agg(version::text, ',') FROM aurum_schema_migrations"), "1");
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'aurum_state'::regclass"
                       " AND attname = 'created_at'"),
               "0");
  /* the full list upgrades it and keeps the data */
  s = open_store(url);
  CHECK_EQ_STR(q1(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                       "aurum_schema_migrations"),
               "1,2");
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM aurum_state WHERE created_at IS NOT NULL"), "1");
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'aurum_runs_status'"),
               "1");
  struct au_state stt;
  CHECK_EQ_INT(s->ops->state_get(s, "test.prices", &stt, &err), 0);
  CHECK_EQ_INT(stt.watermark, T0);
  CHECK_EQ_STR(stt.details, "{\"v\":1}");
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 1);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM aurum_runs"), "1");
  au_store_close(s);
  au_batch_free(b);
}

/* --- partitions ------------------------------------------------------------------- */

TEST(partitions_across_month_boundary) {
  const char *url = fresh_db("parts");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 64);
  au_time jan31 = au_time_utc(2024, 1, 31, 20, 0, 0);
  for (int i = 0; i < 10; i++) /* 31 Jan 20:00 .. 1 Feb 05:00 */
    add_row(b, jan31 + i * AU_HOUR, "A", true, i, T0);
  struct au_merge_stats ms;
  CHECK_EQ_INT(write_batch(s, &ref1, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 10);
  CHECK_EQ_STR(q1(url, "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i"
                       " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent ="
                       " 'test_prices'::regclass"),
               "test_prices_p202401,test_prices_p202402");
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM test_prices_p202401"), "4");
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM test_prices_p202402"), "6");
  /* updates spanning both months are counted per row */
  au_batch_clear(b);
  add_row(b, jan31 + 3 * AU_HOUR, "A", true, 100, T0 + 1);
  add_row(b, jan31 + 4 * AU_HOUR, "A", true, 100, T0 + 1);
  add_row(b, jan31 + 5 * AU_HOUR, "A", true, 5, T0 + 1);
  add_row(b, au_time_utc(2024, 3, 1, 0, 0, 0), "A", true, 1, T0);
  uint8_t oc[4];
  ms = (struct au_merge_stats){0, 0, 0, oc};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(ms.updated, 2);
  CHECK_EQ_INT(ms.unchanged, 1);
  CHECK_EQ_INT(ms.inserted, 1);
  CHECK_EQ_INT(oc[0], AU_ROW_UPDATED);
  CHECK_EQ_INT(oc[1], AU_ROW_UPDATED);
  CHECK_EQ_INT(oc[2], AU_ROW_UNCHANGED);
  CHECK_EQ_INT(oc[3], AU_ROW_INSERTED);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'test_prices'::regclass"),
               "3");
  /* a partition created in a rolled-back transaction is created again next time */
  au_batch_clear(b);
  add_row(b, au_time_utc(2024, 5, 2, 0, 0, 0), "A", true, 1, T0);
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  s->ops->rollback(s);
  CHECK_EQ_INT(write_batch(s, &ref1, b, &ms), 0);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM test_prices_p202405"), "1");
  /* a second process sees the same partitions (IF NOT EXISTS) */
  struct au_store *s2 = open_store(url);
  CHECK_EQ_INT(s2->ops->ensure_table(s2, &ref1, &err), 0);
  CHECK_EQ_INT(write_batch(s2, &ref1, b, &ms), 0);
  CHECK_EQ_INT(ms.unchanged, 1);
  au_store_close(s2);
  au_batch_free(b);
  au_store_close(s);
}

TEST(layout_selection) {
  CHECK_EQ_INT(au_pg_layout_for(&ref1, false), 1);
  CHECK_EQ_INT(au_pg_layout_for(&ref1, true), 2);
  static const struct au_column nc[] = {{"k", AU_T_TEXT, AU_COL_KEY, NULL},
                                        {"t", AU_T_TIME, AU_COL_CURSOR, NULL}};
  static const struct au_schema ns = {.cols = nc, .ncols = 2};
  const struct au_table_ref nr = {"x", "x", &ns, -1};
  CHECK_EQ_INT(au_pg_layout_for(&nr, true), 0); /* cursor not in the key: plain */
  char *sql = au_pg_create_sql(&ref1, 1);
  CHECK(sql && strstr(sql, "PRIMARY KEY (\"interval_start\", \"node\")") != NULL);
  CHECK(sql && strstr(sql, "PARTITION BY RANGE (\"interval_start\")") != NULL);
  free(sql);
  sql = au_pg_create_sql(&ref1, 2);
  CHECK(sql && strstr(sql, "PARTITION BY") == NULL);
  free(sql);
  /* with AURUM_PG_TIMESCALE=1 ensure_table takes the hypertable branch (and fails here,
   * where the extension is not installed, naming it) */
  const char *url = fresh_db("ts");
  setenv("AURUM_PG_TIMESCALE", "1", 1);
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), AU_E_STORE);
  unsetenv("AURUM_PG_TIMESCALE");
  CHECK(strstr(err.msg, "timescaledb") != NULL);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM pg_class WHERE relname = 'test_prices'"), "0");
  au_store_close(s);
  /* the real detection on this server (no TimescaleDB): partitioned */
  s = open_store(url);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT relkind FROM pg_class WHERE relname = 'test_prices'"), "p");
  au_store_close(s);
}

TEST(key_order) {
  static const int order[] = {1, 0};
  static const struct au_schema sk = {.cols = cols1, .ncols = 4, .key_order = order, .nkey = 2};
  const struct au_table_ref rk = {"k.order", "korder", &sk, 3};
  const char *url = fresh_db("korder");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &rk, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid ="
                       " 'korder'::regclass AND contype = 'p'"),
               "PRIMARY KEY (node, interval_start)");
  struct au_batch *b = au_batch_new(&sk, 4);
  add_row(b, T0, "A", true, 1, T0);
  add_row(b, T0, "B", true, 1, T0);
  struct au_merge_stats ms;
  CHECK_EQ_INT(write_batch(s, &rk, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 2);
  au_batch_clear(b);
  add_row(b, T0, "B", true, 2, T0 + 1);
  CHECK_EQ_INT(write_batch(s, &rk, b, &ms), 0);
  CHECK_EQ_INT(ms.updated, 1);
  au_batch_free(b);
  au_store_close(s);
}

TEST(schema_evolution_and_identifiers) {
  const char *url = fresh_db("evo");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  static const struct au_column cols2[] = {
      {"interval_start", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, NULL},
      {"node", AU_T_TEXT, AU_COL_KEY, NULL},
      {"price", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
      {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, NULL},
      {"volume", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
  };
  static const struct au_schema schema2 = {.cols = cols2, .ncols = 5};
  const struct au_table_ref ref2 = {"test.prices", "test_prices", &schema2, 3};
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref2, &err), 0);
  struct au_batch *b = au_batch_new(&schema2, 2);
  add_row(b, T0, "A", true, 1, T0);
  au_batch_set_double(b, 4, 42.0);
  struct au_merge_stats ms;
  CHECK_EQ_INT(write_batch(s, &ref2, b, &ms), 0);
  CHECK_EQ_STR(q1(url, "SELECT volume FROM test_prices"), "42");
  au_batch_free(b);
  static const struct au_column cols3[] = {
      {"interval_start", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, NULL},
      {"node", AU_T_TEXT, AU_COL_KEY, NULL},
      {"zone", AU_T_TEXT, 0, NULL},
  };
  static const struct au_schema schema3 = {.cols = cols3, .ncols = 3};
  const struct au_table_ref ref3 = {"test.prices", "test_prices", &schema3, -1};
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref3, &err), AU_E_STORE);
  CHECK(strstr(err.msg, "\"zone\"") != NULL);
  const char *bad[] = {"bad-name", "x;drop table y", "a\"b", "1abc", "", "a.b.c"};
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    au_err_clear(&err);
    struct au_table_ref r = ref1;
    r.dest = bad[i];
    CHECK_EQ_INT(s->ops->ensure_table(s, &r, &err), AU_E_INVAL);
    au_err_clear(&err);
    CHECK_EQ_INT(s->ops->count_rows(s, &r, &err), -1);
  }
  au_err_clear(&err);
  struct au_table_ref missing = ref1;
  missing.dest = "no_such_table";
  CHECK_EQ_INT(s->ops->count_rows(s, &missing, &err), -1);
  CHECK(strstr(err.msg, "no_such_table") != NULL);
  au_store_close(s);
  struct au_store *o = NULL;
  au_err_clear(&err);
  CHECK_EQ_INT(au_store_open("postgresql://postgres@127.0.0.1:1/none", &o, &err), AU_E_STORE);
  CHECK(o == NULL && err.retryable);
  CHECK(strstr(err.msg, "cannot connect") != NULL);
}

/* --- resilience ------------------------------------------------------------------- */

static void kill_sessions(const char *url) {
  const char *db = strrchr(url, '/') + 1;
  char sql[256];
  snprintf(sql, sizeof(sql),
           "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s'"
           " AND pid <> pg_backend_pid()",
           db);
  q1(base_url, sql);
}

TEST(reconnect_after_lost_connection) {
  const char *url = fresh_db("reconn");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  CHECK_EQ_INT(s->ops->lock(s, "test.prices", 0, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 4);
  add_row(b, T0, "A", true, 1, T0);
  struct au_merge_stats ms = {0};
  /* the connection dies inside a transaction: the write fails retryably, nothing kept */
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  kill_sessions(url);
  int rc = s->ops->write(s, &ref1, b, &ms, &err);
  CHECK_EQ_INT(rc, AU_E_STORE);
  CHECK(err.retryable);
  s->ops->rollback(s);
  au_err_clear(&err);
  /* the next operation reconnects, re-takes the lock and works */
  CHECK_EQ_INT(write_batch(s, &ref1, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 1);
  struct au_store *o = open_store(url);
  CHECK_EQ_INT(o->ops->lock(o, "test.prices", 0, &err), AU_E_LOCK);
  au_err_clear(&err);
  au_store_close(o);
  /* lost while idle: state ops recover too */
  kill_sessions(url);
  struct au_state st;
  rc = s->ops->state_get(s, "test.prices", &st, &err);
  if (rc == AU_E_STORE) { /* the loss is noticed by this call; the next one reconnects */
    CHECK(err.retryable);
    au_err_clear(&err);
    rc = s->ops->state_get(s, "test.prices", &st, &err);
  }
  CHECK_EQ_INT(rc, AU_E_NOTFOUND);
  au_batch_free(b);
  au_store_close(s);
}

TEST(insert_rate) {
  const char *url = fresh_db("rate");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  enum { N = 100000, BATCH = 10000 };
  struct au_batch *b = au_batch_new(&schema1, BATCH);
  char node[32];
  uint8_t *oc = malloc(BATCH);
  double t0 = au_mono();
  uint64_t inserted = 0;
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  for (int i = 0; i < N; i++) {
    snprintf(node, sizeof(node), "NODE_%03d", i % 500);
    add_row(b, T0 + (i / 500) * 5 * AU_MINUTE, node, true, i * 0.25, T0 + AU_DAY);
    if (b->nrows == BATCH) {
      struct au_merge_stats ms = {0, 0, 0, oc};
      CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
      inserted += ms.inserted;
      au_batch_clear(b);
    }
  }
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  double took = au_mono() - t0;
  CHECK_EQ_INT(inserted, N);
  fprintf(stderr, "  fresh insert: %d rows in %.3f s = %.0f rows/s\n", N, took, N / took);
  free(oc);
  au_batch_free(b);
  au_store_close(s);
}

TEST_LIST{
    T(merge),
    T(merge_exists_path),
    T(merge_plain_table),
    T(duplicate_keys_in_batch),
    T(null_changes),
    T(no_sequence_int_bool_schema),
    T(watermark_with_data),
    T(rollback_leaves_nothing),
    T(runs),
    T(lock_two_connections),
    T(migrations_on_existing_db),
    T(partitions_across_month_boundary),
    T(layout_selection),
    T(key_order),
    T(schema_evolution_and_identifiers),
    T(reconnect_after_lost_connection),
    T(insert_rate),
};

int main(int argc, char **argv) {
  start_server();
  return au_test_main(au_tests, AU_ARRAY_LEN(au_tests), argc, argv);
}

#else /* !AU_HAVE_LIBPQ */
int main(void) {
  printf("SKIP: aurum was built without libpq\n");
  return 77;
}
#endif

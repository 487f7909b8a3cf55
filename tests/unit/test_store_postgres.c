/* test_store_postgres.c - the PostgreSQL store against a real server: SCD1 merge, state,
 * runs, locks, migrations, partitions, reconnects, backfill jobs / chunk claims / quotas.
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
#include "rate_check.h"

#ifdef AU_HAVE_LIBPQ
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

extern const struct au_store_ops au_store_postgres;
int au_pg_open_upto(const char *url, int upto, struct au_store **out, struct au_err *err);
int au_pg_layout_for(const struct au_table_ref *t, bool timescale_available);
char *au_pg_create_sql(const struct au_table_ref *t, int layout);


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

#include "store_suite.h"



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
  CHECK(s->ops == &au_store_postgres);
  check_merged_values(url);
  CHECK_EQ_STR(q1(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                       "aurum_schema_migrations"),
               "1,2,3,4");
  CHECK_EQ_STR(q1(url, "SELECT relkind FROM pg_class WHERE relname = 'test_prices'"), "p");
  au_store_close(s);
  /* reopen: data stays, migrations not reapplied */
  s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 14);
  au_store_close(s);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM aurum_schema_migrations"), "4");
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

TEST(null_changes) { suite_null_changes(fresh_db("nulls")); }

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


TEST(watermark_with_data) { suite_watermark(fresh_db("wm")); }

TEST(rollback_leaves_nothing) { suite_rollback(fresh_db("rb"), "not-null"); }

TEST(runs) { suite_runs(fresh_db("runs")); }

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
               "1,2,3,4");
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

/* --- backfill jobs, chunks, quotas ------------------------------------------------ */

static const struct au_chunk_range plan3[] = {
    {T0, T0 + AU_DAY}, {T0 + AU_DAY, T0 + 2 * AU_DAY}, {T0 + 2 * AU_DAY, T0 + 3 * AU_DAY}};

static int64_t new_job(struct au_store *s, const char *key, const struct au_chunk_range *ch,
                       size_t n, int priority, int max_concurrent) {
  struct au_err err = AU_ERR_INIT;
  struct au_job j;
  memset(&j, 0, sizeof(j));
  snprintf(j.table_key, sizeof(j.table_key), "%s", key);
  j.range_start = ch[0].start;
  j.range_end = ch[n - 1].end;
  j.chunk_days = 1;
  j.priority = priority;
  j.max_attempts = 3;
  j.max_concurrent = max_concurrent;
  CHECK_EQ_INT(s->ops->job_create(s, &j, ch, n, &err), 0);
  if (err.code)
    fprintf(stderr, "  job_create: %s\n", err.msg);
  CHECK(j.id > 0);
  CHECK_EQ_STR(j.status, "running");
  return j.id;
}

struct chunk_vec {
  struct au_chunk c[64];
  int n;
};
static int collect_chunk(void *arg, const struct au_chunk *c) {
  struct chunk_vec *v = arg;
  if (v->n < 64)
    v->c[v->n++] = *c;
  return 0;
}
struct job_vec {
  int64_t id[16];
  int n;
};
static int collect_job(void *arg, const struct au_job *j) {
  struct job_vec *v = arg;
  if (v->n < 16)
    v->id[v->n++] = j->id;
  return 0;
}

TEST(jobs_lifecycle) {
  const char *url = fresh_db("jobs");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK(s->ops->job_create && s->ops->chunk_claim && s->ops->quota_list);
  int64_t id = new_job(s, "test.prices", plan3, 3, 0, 0);
  struct au_job j;
  CHECK_EQ_INT(s->ops->job_get(s, id, &j, &err), 0);
  CHECK_EQ_STR(j.table_key, "test.prices");
  CHECK_EQ_INT(j.range_start, T0);
  CHECK_EQ_INT(j.range_end, T0 + 3 * AU_DAY);
  CHECK_EQ_INT(j.n_chunks, 3);
  CHECK_EQ_INT(j.n_pending, 3);
  CHECK_EQ_INT(j.max_attempts, 3);
  CHECK(j.created_at != AU_TIME_NONE && llabs(j.created_at - au_now_real()) < 60 * AU_USEC);
  /* find: exactly this range, unfinished jobs only, newest first */
  CHECK_EQ_INT(s->ops->job_find(s, "test.prices", T0, T0 + 3 * AU_DAY, &j, &err), 0);
  CHECK_EQ_INT(j.id, id);
  CHECK_EQ_INT(s->ops->job_find(s, "test.prices", T0, T0 + 2 * AU_DAY, &j, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->job_get(s, id + 100, &j, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  int64_t id2 = new_job(s, "test.other", plan3, 2, 0, 0);
  struct job_vec jv = {0};
  CHECK_EQ_INT(s->ops->job_list(s, collect_job, &jv, &err), 0);
  CHECK_EQ_INT(jv.n, 2);
  CHECK_EQ_INT(jv.id[0], id2);
  CHECK_EQ_INT(jv.id[1], id);
  CHECK_EQ_INT(s->ops->job_set_status(s, id2, "cancelled", &err), 0);
  CHECK_EQ_INT(s->ops->job_set_status(s, id2 + 100, "cancelled", &err), AU_E_NOTFOUND);
  au_err_clear(&err);

  /* chunks in plan order */
  struct chunk_vec cv = {0};
  CHECK_EQ_INT(s->ops->chunk_list(s, id, collect_chunk, &cv, &err), 0);
  CHECK_EQ_INT(cv.n, 3);
  for (int i = 0; i < cv.n; i++) {
    CHECK_EQ_INT(cv.c[i].seq, i);
    CHECK_EQ_INT(cv.c[i].range_start, plan3[i].start);
    CHECK_EQ_INT(cv.c[i].range_end, plan3[i].end);
    CHECK_EQ_STR(cv.c[i].status, "pending");
    CHECK_EQ_INT(cv.c[i].lease_until, AU_TIME_NONE);
    CHECK_EQ_INT(cv.c[i].not_before, AU_TIME_NONE);
  }

  /* claims in plan order; the cancelled job hands out nothing */
  struct au_chunk c0, c1, c2, cx;
  CHECK_EQ_INT(s->ops->chunk_claim(s, 0, "h:1:0", 60, &c0, &err), 0);
  CHECK_EQ_INT(c0.job_id, id);
  CHECK_EQ_INT(c0.seq, 0);
  CHECK_EQ_INT(c0.attempts, 1);
  CHECK_EQ_STR(c0.status, "running");
  CHECK_EQ_STR(c0.worker, "h:1:0");
  CHECK(c0.lease_until > au_now_real() + 50 * AU_USEC && c0.lease_until < au_now_real() + 70 * AU_USEC);
  CHECK_EQ_INT(s->ops->chunk_claim(s, id, "h:1:1", 60, &c1, &err), 0);
  CHECK_EQ_INT(c1.seq, 1);
  CHECK_EQ_INT(s->ops->chunk_claim(s, id2, "h:1:1", 60, &cx, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  /* renew: only the holder */
  CHECK_EQ_INT(s->ops->chunk_renew(s, c0.id, "h:1:0", 120, &err), 0);
  CHECK_EQ_INT(s->ops->chunk_renew(s, c0.id, "other", 120, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_STR(q1(url, "SELECT lease_until > now() + interval '100 s' FROM aurum_backfill_chunks"
                       " WHERE seq = 0 AND job_id = (SELECT min(id) FROM aurum_backfill_jobs)"),
               "t");
  /* a failed attempt with a retry time in the future is not claimable before it */
  au_time later = au_now_real() + 3600 * AU_USEC;
  CHECK_EQ_INT(s->ops->chunk_fail(s, c0.id, "other", "boom", later, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->chunk_fail(s, c0.id, "h:1:0", "HTTP 500 boom", later, &err), 0);
  CHECK_EQ_INT(s->ops->chunk_claim(s, id, "h:1:0", 60, &c2, &err), 0);
  CHECK_EQ_INT(c2.seq, 2);
  CHECK_EQ_INT(s->ops->chunk_claim(s, id, "h:1:0", 60, &cx, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  cv.n = 0;
  CHECK_EQ_INT(s->ops->chunk_list(s, id, collect_chunk, &cv, &err), 0);
  CHECK_EQ_STR(cv.c[0].status, "pending");
  CHECK_EQ_STR(cv.c[0].last_error, "HTTP 500 boom");
  CHECK_EQ_INT(cv.c[0].not_before, later);
  CHECK_EQ_INT(cv.c[0].attempts, 1);
  CHECK_EQ_INT(cv.c[0].lease_until, AU_TIME_NONE);
  /* a final failure */
  CHECK_EQ_INT(s->ops->chunk_fail(s, c1.id, "h:1:1", "fatal", AU_TIME_NONE, &err), 0);
  /* release gives the chunk back without counting the attempt */
  CHECK_EQ_INT(s->ops->chunk_release(s, c2.id, "someone", AU_TIME_NONE, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->chunk_release(s, c2.id, NULL, AU_TIME_NONE, &err), 0);
  CHECK_EQ_INT(s->ops->chunk_release(s, c2.id, NULL, AU_TIME_NONE, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->job_get(s, id, &j, &err), 0);
  CHECK_EQ_INT(j.n_pending, 2);
  CHECK_EQ_INT(j.n_failed, 1);
  CHECK_EQ_INT(j.n_running, 0);
  cv.n = 0;
  CHECK_EQ_INT(s->ops->chunk_list(s, id, collect_chunk, &cv, &err), 0);
  CHECK_EQ_STR(cv.c[1].status, "failed");
  CHECK_EQ_STR(cv.c[1].last_error, "fatal");
  CHECK(cv.c[1].finished_at != AU_TIME_NONE);
  CHECK_EQ_INT(cv.c[2].attempts, 0);
  CHECK_EQ_STR(cv.c[2].status, "pending");
  /* the released chunk is claimable again, now as attempt 1 */
  CHECK_EQ_INT(s->ops->chunk_claim(s, id, "h:2:0", 60, &cx, &err), 0);
  CHECK_EQ_INT(cx.seq, 2);
  CHECK_EQ_INT(cx.attempts, 1);
  /* done via commit_chunk (no rows, no state) */
  struct au_chunk_done d = {cx.id, 42, "h:2:0"};
  CHECK_EQ_INT(s->ops->commit_chunk(s, NULL, &d, &err), 0);
  /* a release with a future not_before (quota wait) delays the chunk */
  /* job retry: failed -> pending with attempts 0, job back to running */
  CHECK_EQ_INT(s->ops->job_set_status(s, id, "failed", &err), 0);
  CHECK_EQ_INT(s->ops->job_find(s, "test.prices", T0, T0 + 3 * AU_DAY, &j, &err), 0);
  CHECK_EQ_STR(j.status, "failed");
  uint64_t req = 99;
  CHECK_EQ_INT(s->ops->job_retry(s, id, &req, &err), 0);
  CHECK_EQ_INT(req, 1);
  CHECK_EQ_INT(s->ops->job_get(s, id, &j, &err), 0);
  CHECK_EQ_STR(j.status, "running");
  CHECK_EQ_INT(j.n_done, 1);
  CHECK_EQ_INT(j.rows, 42);
  CHECK_EQ_INT(j.n_pending, 2);
  CHECK_EQ_INT(s->ops->chunk_claim(s, id, "h:3:0", 60, &cx, &err), 0);
  CHECK_EQ_INT(cx.seq, 1);
  CHECK_EQ_INT(cx.attempts, 1);
  CHECK_EQ_STR(cx.last_error, "fatal"); /* kept until done */
  CHECK_EQ_INT(s->ops->job_retry(s, id + 100, NULL, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  /* done jobs are not found for resume */
  CHECK_EQ_INT(s->ops->job_set_status(s, id, "done", &err), 0);
  CHECK_EQ_INT(s->ops->job_find(s, "test.prices", T0, T0 + 3 * AU_DAY, &j, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->chunk_claim(s, 0, "h:3:0", 60, &cx, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  au_store_close(s);
}

TEST(chunk_priority_and_not_before) {
  const char *url = fresh_db("jobprio");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  int64_t lo = new_job(s, "a.low", plan3, 2, 0, 0);
  int64_t hi = new_job(s, "a.high", plan3, 2, 5, 0);
  int64_t lo2 = new_job(s, "a.low2", plan3, 1, 0, 0);
  struct au_chunk c;
  int64_t order[5];
  for (int i = 0; i < 5; i++) {
    CHECK_EQ_INT(s->ops->chunk_claim(s, 0, "w", 60, &c, &err), 0);
    order[i] = c.job_id * 10 + c.seq;
  }
  CHECK_EQ_INT(order[0], hi * 10 + 0);
  CHECK_EQ_INT(order[1], hi * 10 + 1);
  CHECK_EQ_INT(order[2], lo * 10 + 0);
  CHECK_EQ_INT(order[3], lo * 10 + 1);
  CHECK_EQ_INT(order[4], lo2 * 10 + 0);
  /* a chunk released until a moment shortly ahead becomes claimable then */
  au_time nb = au_now_real() + 400 * 1000;
  CHECK_EQ_INT(s->ops->chunk_release(s, c.id, "w", nb, &err), 0);
  CHECK_EQ_INT(s->ops->chunk_claim(s, 0, "w", 60, &c, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  au_sleep(0.6);
  CHECK_EQ_INT(s->ops->chunk_claim(s, 0, "w", 60, &c, &err), 0);
  CHECK_EQ_INT(c.job_id, lo2);
  CHECK_EQ_INT(c.not_before, AU_TIME_NONE);
  au_store_close(s);
}

TEST(lease_expiry_and_commit_chunk) {
  const char *url = fresh_db("lease");
  struct au_store *a = open_store(url), *b = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(a->ops->ensure_table(a, &ref1, &err), 0);
  CHECK_EQ_INT(b->ops->ensure_table(b, &ref1, &err), 0);
  int64_t id = new_job(a, "test.prices", plan3, 1, 0, 0);
  struct au_chunk ca, cb;
  CHECK_EQ_INT(a->ops->chunk_claim(a, id, "A", 0.4, &ca, &err), 0);
  CHECK_EQ_INT(b->ops->chunk_claim(b, id, "B", 30, &cb, &err), AU_E_NOTFOUND); /* leased */
  au_err_clear(&err);
  au_sleep(0.6);
  /* A "died": its lease expired, B takes the chunk over as a new attempt */
  CHECK_EQ_INT(b->ops->chunk_claim(b, id, "B", 30, &cb, &err), 0);
  CHECK_EQ_INT(cb.id, ca.id);
  CHECK_EQ_INT(cb.attempts, 2);
  CHECK_EQ_STR(cb.worker, "B");
  CHECK_EQ_INT(a->ops->chunk_renew(a, ca.id, "A", 30, &err), AU_E_NOTFOUND);
  au_err_clear(&err);

  /* A wakes up and commits its rows: they are stored (idempotent upserts) but the chunk
   * is not marked done by a worker that lost the lease */
  struct au_batch *bt = au_batch_new(&schema1, 4);
  add_row(bt, T0, "A", true, 1, T0);
  add_row(bt, T0 + AU_HOUR, "A", true, 2, T0);
  struct au_merge_stats ms = {0};
  CHECK_EQ_INT(a->ops->begin(a, &err), 0);
  CHECK_EQ_INT(a->ops->write(a, &ref1, bt, &ms, &err), 0);
  struct au_chunk_done da = {ca.id, 2, "A"};
  CHECK_EQ_INT(a->ops->commit_chunk(a, NULL, &da, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT status || '/' || coalesce(worker, '') FROM aurum_backfill_chunks"),
               "running/B");
  CHECK_EQ_INT(a->ops->count_rows(a, &ref1, &err), 2);

  /* B's rows and the chunk's completion commit together ... or not at all */
  add_row(bt, T0 + 2 * AU_HOUR, "A", true, 3, T0);
  CHECK_EQ_INT(b->ops->begin(b, &err), 0);
  CHECK_EQ_INT(b->ops->write(b, &ref1, bt, &ms, &err), 0);
  b->ops->rollback(b);
  CHECK_EQ_STR(q1(url, "SELECT status FROM aurum_backfill_chunks"), "running");
  CHECK_EQ_INT(b->ops->count_rows(b, &ref1, &err), 2);
  CHECK_EQ_INT(b->ops->begin(b, &err), 0);
  CHECK_EQ_INT(b->ops->write(b, &ref1, bt, &ms, &err), 0);
  /* while B's transaction is open nothing is visible outside */
  CHECK_EQ_STR(q1(url, "SELECT status FROM aurum_backfill_chunks"), "running");
  struct au_state_update up = {"test.prices", T0 + 2 * AU_HOUR, NULL};
  struct au_chunk_done db = {cb.id, 3, "B"};
  CHECK_EQ_INT(b->ops->commit_chunk(b, &up, &db, &err), 0);
  CHECK_EQ_STR(q1(url, "SELECT status || '/' || rows || '/' || (lease_until IS NULL) ||"
                       " '/' || (finished_at IS NOT NULL) FROM aurum_backfill_chunks"),
               "done/3/true/true");
  CHECK_EQ_INT(b->ops->count_rows(b, &ref1, &err), 3);
  struct au_state st;
  CHECK_EQ_INT(b->ops->state_get(b, "test.prices", &st, &err), 0);
  CHECK_EQ_INT(st.watermark, T0 + 2 * AU_HOUR);
  /* a done chunk is never handed out again */
  CHECK_EQ_INT(a->ops->chunk_claim(a, id, "A", 30, &ca, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  /* a failing transaction does not mark the chunk done */
  int64_t id2 = new_job(a, "test.prices2", plan3, 1, 0, 0);
  CHECK_EQ_INT(a->ops->chunk_claim(a, id2, "A", 30, &ca, &err), 0);
  CHECK_EQ_INT(a->ops->begin(a, &err), 0);
  struct au_state_update bad = {NULL, T0, NULL}; /* invalid: no key */
  struct au_chunk_done d2 = {ca.id, 1, "A"};
  CHECK(a->ops->commit_chunk(a, &bad, &d2, &err) != 0);
  au_err_clear(&err);
  CHECK_EQ_STR(q1(url, "SELECT status FROM aurum_backfill_chunks WHERE id = (SELECT max(id) FROM"
                       " aurum_backfill_chunks)"),
               "running");
  au_batch_free(bt);
  au_store_close(a);
  au_store_close(b);
}

/* Several connections claim concurrently: every chunk is handed out exactly once. */
struct claimer {
  const char *url;
  int64_t job;
  int n;
  int64_t got[64];
  int ngot;
  int errors;
  int concurrent_max; /* running chunks seen under the limit test */
  pthread_barrier_t *bar;
};

static void *claim_loop(void *arg) {
  struct claimer *c = arg;
  struct au_store *s = open_store(c->url);
  struct au_err err = AU_ERR_INIT;
  char w[32];
  snprintf(w, sizeof(w), "t:%d", c->n);
  pthread_barrier_wait(c->bar);
  for (;;) {
    struct au_chunk ch;
    au_err_clear(&err);
    int rc = s->ops->chunk_claim(s, c->job, w, 60, &ch, &err);
    if (rc == AU_E_NOTFOUND)
      break;
    if (rc) {
      c->errors++;
      fprintf(stderr, "  claim: %s\n", err.msg);
      break;
    }
    if (c->ngot < 64)
      c->got[c->ngot++] = ch.id;
    struct au_chunk_done d = {ch.id, 1, w};
    if (s->ops->begin(s, &err) || s->ops->commit_chunk(s, NULL, &d, &err)) {
      c->errors++;
      fprintf(stderr, "  commit_chunk: %s\n", err.msg);
      break;
    }
  }
  au_store_close(s);
  return NULL;
}

TEST(concurrent_claims_each_chunk_once) {
  const char *url = fresh_db("claims");
  struct au_store *s = open_store(url);
  enum { NCH = 60, NT = 6 };
  struct au_chunk_range ch[NCH];
  for (int i = 0; i < NCH; i++)
    ch[i] = (struct au_chunk_range){T0 + i * AU_HOUR, T0 + (i + 1) * AU_HOUR};
  int64_t id = new_job(s, "test.prices", ch, NCH, 0, 0);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, NT);
  struct claimer cl[NT];
  pthread_t th[NT];
  memset(cl, 0, sizeof(cl));
  for (int i = 0; i < NT; i++) {
    cl[i] = (struct claimer){.url = url, .job = id, .n = i, .bar = &bar};
    pthread_create(&th[i], NULL, claim_loop, &cl[i]);
  }
  int total = 0, errors = 0, busy = 0;
  for (int i = 0; i < NT; i++) {
    pthread_join(th[i], NULL);
    total += cl[i].ngot;
    errors += cl[i].errors;
    busy += cl[i].ngot > 0;
  }
  pthread_barrier_destroy(&bar);
  CHECK_EQ_INT(errors, 0);
  CHECK_EQ_INT(total, NCH);
  CHECK(busy >= 2); /* the work was actually shared */
  /* no chunk id handed out twice */
  int dup = 0;
  for (int i = 0; i < NT; i++)
    for (int k = 0; k < cl[i].ngot; k++)
      for (int j = 0; j < NT; j++)
        for (int l = 0; l < cl[j].ngot; l++)
          if ((i != j || k != l) && cl[i].got[k] == cl[j].got[l])
            dup++;
  CHECK_EQ_INT(dup, 0);
  CHECK_EQ_STR(q1(url, "SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'done') || '/' ||"
                       " max(attempts) || '/' || min(attempts) FROM aurum_backfill_chunks"),
               "60/60/1/1");
  au_store_close(s);
}

static void *claim_once(void *arg) {
  struct claimer *c = arg;
  struct au_store *s = open_store(c->url);
  struct au_err err = AU_ERR_INIT;
  char w[32];
  snprintf(w, sizeof(w), "m:%d", c->n);
  pthread_barrier_wait(c->bar);
  struct au_chunk ch;
  int rc = s->ops->chunk_claim(s, 0, w, 60, &ch, &err);
  if (rc == 0)
    c->got[c->ngot++] = ch.id;
  else if (rc != AU_E_NOTFOUND)
    c->errors++;
  au_store_close(s);
  return NULL;
}

TEST(max_concurrent_per_table) {
  const char *url = fresh_db("maxconc");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  struct au_chunk_range ch[10];
  for (int i = 0; i < 10; i++)
    ch[i] = (struct au_chunk_range){T0 + i * AU_HOUR, T0 + (i + 1) * AU_HOUR};
  new_job(s, "lim.t", ch, 10, 0, 2);
  int64_t other = new_job(s, "lim.u", ch, 3, 0, 0);
  /* 8 simultaneous claimers: at most 2 chunks of lim.t run; the rest take lim.u's 3 */
  enum { NT = 8 };
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, NT);
  struct claimer cl[NT];
  pthread_t th[NT];
  memset(cl, 0, sizeof(cl));
  for (int i = 0; i < NT; i++) {
    cl[i] = (struct claimer){.url = url, .n = i, .bar = &bar};
    pthread_create(&th[i], NULL, claim_once, &cl[i]);
  }
  int got = 0, errors = 0;
  for (int i = 0; i < NT; i++) {
    pthread_join(th[i], NULL);
    got += cl[i].ngot;
    errors += cl[i].errors;
  }
  pthread_barrier_destroy(&bar);
  CHECK_EQ_INT(errors, 0);
  CHECK_EQ_INT(got, 5);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM aurum_backfill_chunks c JOIN aurum_backfill_jobs j ON"
                       " j.id = c.job_id WHERE c.status = 'running' AND j.table_key = 'lim.t'"),
               "2");
  struct au_job j;
  CHECK_EQ_INT(s->ops->job_get(s, other, &j, &err), 0);
  CHECK_EQ_INT(j.n_running, 3);
  /* a further claim of lim.t waits for a slot */
  struct au_chunk c;
  CHECK_EQ_INT(s->ops->chunk_claim(s, 0, "x", 60, &c, &err), AU_E_NOTFOUND);
  au_err_clear(&err);
  au_store_close(s);
}

struct quota_vec {
  struct au_quota_usage u[8];
  int n;
};
static int collect_quota(void *arg, const struct au_quota_usage *u) {
  struct quota_vec *v = arg;
  if (v->n < 8)
    v->u[v->n++] = *u;
  return 0;
}

TEST(rate_reserve) {
  const char *url = fresh_db("rate");
  struct au_store *a = open_store(url), *b = open_store(url);
  check_rate_reserve(a, b);
  au_store_close(a);
  au_store_close(b);
}

TEST(quota_usage) {
  const char *url = fresh_db("quota");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  au_time h = T0 + 25 * AU_MINUTE; /* inside the hour T0 */
  CHECK_EQ_INT(s->ops->quota_add(s, "aeso.pool_price", h, 100, 2000, 1, &err), 0);
  CHECK_EQ_INT(s->ops->quota_add(s, "aeso.pool_price", T0 + 59 * AU_MINUTE, 50, 1000, 2, &err), 0);
  CHECK_EQ_INT(s->ops->quota_add(s, "aeso.pool_price", T0 + AU_HOUR, 7, 70, 1, &err), 0);
  CHECK_EQ_INT(s->ops->quota_add(s, "caiso.lmp", T0, 1, 1, 1, &err), 0);
  struct au_quota_usage u;
  CHECK_EQ_INT(s->ops->quota_get(s, "aeso.pool_price", T0 + 30 * AU_MINUTE, &u, &err), 0);
  CHECK_EQ_STR(u.dataset, "aeso.pool_price");
  CHECK_EQ_INT(u.hour, T0);
  CHECK_EQ_INT(u.records, 150);
  CHECK_EQ_INT(u.bytes, 3000);
  CHECK_EQ_INT(u.requests, 3);
  CHECK_EQ_INT(s->ops->quota_get(s, "aeso.pool_price", T0 - AU_HOUR, &u, &err), 0);
  CHECK_EQ_INT(u.records, 0);
  CHECK_EQ_INT(u.hour, T0 - AU_HOUR);
  CHECK_EQ_STR(u.dataset, "aeso.pool_price");
  struct quota_vec v = {0};
  CHECK_EQ_INT(s->ops->quota_list(s, AU_TIME_NONE, collect_quota, &v, &err), 0);
  CHECK_EQ_INT(v.n, 3);
  CHECK_EQ_INT(v.u[0].hour, T0 + AU_HOUR); /* newest first, then dataset */
  CHECK_EQ_STR(v.u[1].dataset, "aeso.pool_price");
  CHECK_EQ_STR(v.u[2].dataset, "caiso.lmp");
  v.n = 0;
  CHECK_EQ_INT(s->ops->quota_list(s, T0 + 10 * AU_MINUTE, collect_quota, &v, &err), 0);
  CHECK_EQ_INT(v.n, 3); /* since is floored to its hour */
  v.n = 0;
  CHECK_EQ_INT(s->ops->quota_list(s, T0 + AU_HOUR, collect_quota, &v, &err), 0);
  CHECK_EQ_INT(v.n, 1);
  CHECK_EQ_INT(v.u[0].records, 7);
  au_store_close(s);
}

/* --- fast path (direct binary COPY) ------------------------------------------------- */

static const struct au_column cols_v[] = {
    {"k", AU_T_TEXT, AU_COL_KEY, "k"},
    {"t", AU_T_TIME, AU_COL_NULLABLE, "t"},
    {"d", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "d"},
    {"i", AU_T_INT, AU_COL_NULLABLE, "i"},
    {"b", AU_T_BOOL, AU_COL_NULLABLE, "b"},
    {"s", AU_T_TEXT, AU_COL_NULLABLE, "s"},
};
static const struct au_schema schema_v = {.cols = cols_v, .ncols = 6};

static void values_roundtrip(const char *tag) {
  const char *url = fresh_db(tag);
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  const struct au_table_ref ref = {"test.vals", "vals", &schema_v, -1};
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref, &err), 0);
  struct au_batch *b = au_batch_new(&schema_v, 4);
  static const char txt[] = "tab\there\nnew \\ back \xc3\xa9 \"q\" ,;";
  /* row keys out of order: rows are sent sorted */
  const char *keys[] = {"z", "a", "m"};
  for (int r = 0; r < 3; r++) {
    au_batch_add_row(b);
    au_batch_set_text(b, 0, keys[r], 1);
    if (r == 0) {
      au_batch_set_time(b, 1, -1000000LL * AU_USEC + 123456); /* 1969, before 2000 */
      au_batch_set_double(b, 2, NAN);
      au_batch_set_int(b, 3, INT64_MIN + 1);
      au_batch_set_bool(b, 4, true);
      au_batch_set_text(b, 5, txt, sizeof(txt) - 1);
    } else if (r == 1) {
      au_batch_set_time(b, 1, T0 + 1);
      au_batch_set_double(b, 2, -1.0 / 3.0);
      au_batch_set_int(b, 3, INT64_MAX);
      au_batch_set_bool(b, 4, false);
      au_batch_set_text(b, 5, "", 0);
    } /* r == 2: all NULL */
  }
  struct au_merge_stats ms;
  uint8_t oc[3];
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  memset(&ms, 0, sizeof(ms));
  ms.outcome = oc;
  CHECK_EQ_INT(s->ops->write(s, &ref, b, &ms, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(ms.inserted, 3);
  CHECK(oc[0] == AU_ROW_INSERTED && oc[1] == AU_ROW_INSERTED && oc[2] == AU_ROW_INSERTED);
  CHECK_EQ_STR(q1(url, "SELECT t FROM vals WHERE k = 'z'"), "1969-12-20 10:13:20.123456+00");
  CHECK_EQ_STR(q1(url, "SELECT d FROM vals WHERE k = 'z'"), "NaN");
  CHECK_EQ_STR(q1(url, "SELECT i FROM vals WHERE k = 'z'"), "-9223372036854775807");
  CHECK_EQ_STR(q1(url, "SELECT b FROM vals WHERE k = 'z'"), "t");
  CHECK_EQ_STR(q1(url, "SELECT s = E'tab\\there\\nnew \\\\ back \\u00e9 \"q\" ,;' FROM vals WHERE k = 'z'"), "t");
  CHECK_EQ_STR(q1(url, "SELECT t FROM vals WHERE k = 'a'"), "2024-01-01 07:00:00.000001+00");
  CHECK_EQ_STR(q1(url, "SELECT d = -1::float8/3 FROM vals WHERE k = 'a'"), "t");
  CHECK_EQ_STR(q1(url, "SELECT i FROM vals WHERE k = 'a'"), "9223372036854775807");
  CHECK_EQ_STR(q1(url, "SELECT b::text || '/' || length(s) FROM vals WHERE k = 'a'"), "false/0");
  CHECK_EQ_STR(q1(url, "SELECT coalesce(t::text, d::text, i::text, b::text, s, 'all null') FROM vals"
                       " WHERE k = 'm'"),
               "all null");
  /* the same batch again: nothing changes (the fast path rolls back, the merge decides) */
  memset(&ms, 0, sizeof(ms));
  ms.outcome = oc;
  CHECK_EQ_INT(write_batch(s, &ref, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 0);
  CHECK_EQ_INT(ms.unchanged, 3);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref, &err), 3);
  au_batch_free(b);
  au_store_close(s);
}

TEST(binary_values_direct_and_merge) {
  values_roundtrip("vals_direct");
  setenv("AURUM_PG_DIRECT", "0", 1);
  values_roundtrip("vals_merge");
  unsetenv("AURUM_PG_DIRECT");
}

TEST(fast_path_falls_back_on_existing_keys) {
  const char *url = fresh_db("fastfb");
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 16);
  for (int i = 0; i < 10; i++)
    add_row(b, T0 + i * AU_HOUR, "N", true, i, T0);
  struct au_merge_stats ms;
  CHECK_EQ_INT(write_batch(s, &ref1, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 10);
  /* 10 new rows and, last in key order, one existing key with a newer value: the direct
   * COPY hits the unique violation at the end, rolls back, and the merge gets it right */
  au_batch_clear(b);
  for (int i = 10; i < 20; i++)
    add_row(b, T0 + i * AU_HOUR - 20 * AU_DAY, "A", true, i, T0);
  add_row(b, T0 + 9 * AU_HOUR, "N", true, 99, T0 + 1);
  uint8_t oc[11];
  memset(&ms, 0, sizeof(ms));
  ms.outcome = oc;
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
  /* the transaction is still usable after the rolled-back savepoint */
  struct au_state_update up = {"test.prices", T0, NULL};
  CHECK_EQ_INT(s->ops->commit(s, &up, &err), 0);
  CHECK_EQ_INT(ms.inserted, 10);
  CHECK_EQ_INT(ms.updated, 1);
  CHECK_EQ_INT(oc[0], AU_ROW_INSERTED);
  CHECK_EQ_INT(oc[10], AU_ROW_UPDATED);
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 20);
  CHECK_EQ_STR(q1(url, "SELECT price FROM test_prices WHERE node = 'N' ORDER BY interval_start DESC"),
               "99");
  /* rows of two months through the fast path land in their partitions */
  au_batch_clear(b);
  add_row(b, T0 + 40 * AU_DAY, "B", true, 1, T0);
  add_row(b, T0 + 70 * AU_DAY, "B", true, 2, T0);
  memset(&ms, 0, sizeof(ms));
  CHECK_EQ_INT(write_batch(s, &ref1, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 2);
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM test_prices_p202402"), "1");
  CHECK_EQ_STR(q1(url, "SELECT count(*) FROM test_prices_p202403"), "1");
  /* a table whose column type differs from aurum's (numeric, made by hand) never gets
   * binary COPY into it; the merge path casts */
  const char *url2 = fresh_db("fasttypes");
  struct au_store *s2 = open_store(url2);
  q1(url2, "CREATE TABLE test_prices (interval_start timestamptz NOT NULL, node text NOT NULL,"
           " price numeric, ingestion_time timestamptz NOT NULL,"
           " PRIMARY KEY (interval_start, node))");
  CHECK_EQ_INT(s2->ops->ensure_table(s2, &ref1, &err), 0);
  au_batch_clear(b);
  add_row(b, T0, "X", true, 1.25, T0);
  memset(&ms, 0, sizeof(ms));
  CHECK_EQ_INT(write_batch(s2, &ref1, b, &ms), 0);
  CHECK_EQ_INT(ms.inserted, 1);
  CHECK_EQ_STR(q1(url2, "SELECT price FROM test_prices"), "1.25");
  au_store_close(s2);
  au_batch_free(b);
  au_store_close(s);
}

TEST_LIST{
    T(rate_reserve),
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
    T(jobs_lifecycle),
    T(chunk_priority_and_not_before),
    T(lease_expiry_and_commit_chunk),
    T(concurrent_claims_each_chunk_once),
    T(max_concurrent_per_table),
    T(quota_usage),
    T(binary_values_direct_and_merge),
    T(fast_path_falls_back_on_existing_keys),
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

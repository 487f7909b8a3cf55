/* test_store_sqlite.c - the SQLite store: SCD1 merge, state, runs, locks, schema evolution. */
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

#include "au_test.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

extern const struct au_store_ops au_store_sqlite;


/* --- helpers ------------------------------------------------------------------- */

static const char *db_suffix[] = {"", "-wal", "-shm", "-journal", ".test.prices.lock",
                                   ".lockme.lock"};
static char tmp_paths[32][256];
static int ntmp;

static void unlink_db(const char *p) {
  for (size_t i = 0; i < AU_ARRAY_LEN(db_suffix); i++) {
    char f[300];
    snprintf(f, sizeof(f), "%s%s", p, db_suffix[i]);
    unlink(f);
  }
}

static void cleanup_tmp(void) {
  for (int i = 0; i < ntmp; i++)
    unlink_db(tmp_paths[i]);
}

/* A fresh database path under /tmp, removed (with its -wal/-shm/lock files) at exit. */
static const char *tmp_db(const char *tag) {
  if (ntmp == 0)
    atexit(cleanup_tmp);
  if (ntmp == (int)AU_ARRAY_LEN(tmp_paths))
    abort();
  char *p = tmp_paths[ntmp++];
  snprintf(p, 256, "/tmp/au_test_store_sqlite_%d_%s.db", (int)getpid(), tag);
  unlink_db(p);
  return p;
}

static struct au_store *open_store(const char *url) {
  struct au_err err = AU_ERR_INIT;
  struct au_store *s = NULL;
  int rc = au_store_sqlite.open(url, &s, &err);
  if (rc) {
    fprintf(stderr, "open %s: %s\n", url, err.msg);
    abort();
  }
  return s;
}


/* First column of the first row of sql on a fresh read-only connection, or "NULL"/"NOROW". */
static const char *q1(const char *path, const char *sql) {
  static char out[4][512];
  static int k;
  char *o = out[k++ & 3];
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    snprintf(o, 512, "OPENFAIL");
    sqlite3_close(db);
    return o;
  }
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    snprintf(o, 512, "SQLERR %s", sqlite3_errmsg(db));
  } else if (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *v = sqlite3_column_text(st, 0);
    snprintf(o, 512, "%s", v ? (const char *)v : "NULL");
  } else {
    snprintf(o, 512, "NOROW");
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return o;
}

#include "store_suite.h"


/* --- merge --------------------------------------------------------------------- */


TEST(merge_file) {
  const char *path = tmp_db("merge");
  char url[300];
  snprintf(url, sizeof(url), "sqlite:%s", path);
  struct au_store *s = merge_suite(url);
  /* Stored text formats and values, read with plain SQLite. */
  CHECK_EQ_STR(q1(path, "SELECT interval_start FROM test_prices ORDER BY interval_start, node"),
               "2024-01-01T07:00:00Z");
  CHECK_EQ_STR(q1(path, "SELECT typeof(price) FROM test_prices LIMIT 1"), "real");
  CHECK_EQ_STR(q1(path, "SELECT price FROM test_prices WHERE interval_start = "
                        "'2024-01-01T07:00:00Z' AND node = 'NODE_A'"),
               "99.25");
  CHECK_EQ_STR(q1(path, "SELECT ingestion_time FROM test_prices WHERE interval_start = "
                        "'2024-01-01T07:00:00Z' AND node = 'NODE_A'"),
               "2024-01-02T09:00:00.123456Z");
  /* older sequence did not overwrite */
  CHECK_EQ_STR(q1(path, "SELECT price FROM test_prices WHERE interval_start = "
                        "'2024-01-01T08:00:00Z' AND node = 'NODE_B'"),
               "11.5");
  /* unchanged row kept its original ingestion_time (not the re-sent newer one) */
  CHECK_EQ_STR(q1(path, "SELECT ingestion_time FROM test_prices WHERE interval_start = "
                        "'2024-01-01T09:00:00Z' AND node = 'NODE_A'"),
               "2024-01-02T07:00:00.123456Z");
  CHECK_EQ_STR(q1(path, "SELECT price FROM test_prices WHERE interval_start = "
                        "'2024-01-01T10:00:00Z'"),
               "7.0");
  CHECK_EQ_STR(q1(path, "SELECT price FROM test_prices WHERE node = 'NODE_C' ORDER BY "
                        "interval_start"),
               "NULL");
  CHECK_EQ_STR(q1(path, "PRAGMA journal_mode"), "wal");
  CHECK_EQ_STR(q1(path, "SELECT group_concat(version) FROM aurum_schema_migrations"), "1,2,3");
  CHECK_EQ_STR(q1(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                        "('aurum_state', 'aurum_runs')"),
               "2");
  au_store_close(s);

  /* Reopen (also via sqlite:// and the registry): data stays, migrations not reapplied. */
  snprintf(url, sizeof(url), "sqlite://%s", path);
  s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 14);
  au_store_close(s);
  CHECK_EQ_INT(au_store_open(path, &s, &err), 0);
  CHECK(s && s->ops == &au_store_sqlite);
  if (s) {
    CHECK_EQ_INT(s->ops->count_rows(s, &ref1, &err), 14);
    au_store_close(s);
  }
  CHECK_EQ_STR(q1(path, "SELECT count(*) FROM aurum_schema_migrations"), "3");
}

TEST(merge_memory) {
  struct au_store *s = merge_suite(":memory:");
  au_store_close(s);
  s = merge_suite("sqlite::memory:");
  au_store_close(s);
}

/* Every connection's page cache shares one process budget (AURUM_SQLITE_HEAP_MB, 2 MiB by
 * default), so many worker connections do not each grow a cache. */
TEST(heap_budget) {
  struct au_store *st = NULL;
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_store_open("sqlite::memory:", &st, &err), 0);
  const char *e = getenv("AURUM_SQLITE_HEAP_MB");
  if (!e || !*e)
    CHECK_EQ_INT((long)sqlite3_soft_heap_limit64(-1), 2L << 20);
  au_store_close(st);
}

/* Rows are written in key order, but outcomes stay at their batch rows and, for a key twice
 * in one batch, the later row still wins. */
TEST(key_order_outcomes) {
  char path[] = "/tmp/aurum-test-korder-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  char url[128];
  snprintf(url, sizeof(url), "sqlite:%s", path);
  struct au_store *s = open_store(url);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 8);
  add_row(b, T0 + 2 * AU_HOUR, "NODE_B", true, 1.0, T0 + AU_DAY);
  add_row(b, T0, "NODE_A", true, 2.0, T0 + AU_DAY);
  add_row(b, T0 + AU_HOUR, "NODE_B", true, 3.0, T0 + AU_DAY);
  add_row(b, T0, "NODE_A", true, 4.0, T0 + AU_DAY + AU_HOUR); /* same key as row 2, newer */
  add_row(b, T0 - AU_HOUR, "NODE_C", true, 5.0, T0 + AU_DAY);
  uint8_t outcome[8] = {0};
  struct au_merge_stats st = {0, 0, 0, outcome};
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  CHECK_EQ_INT(s->ops->write(s, &ref1, b, &st, &err), 0);
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  CHECK_EQ_INT(st.inserted, 4);
  CHECK_EQ_INT(st.updated, 1);
  CHECK_EQ_INT(outcome[0], AU_ROW_INSERTED);
  CHECK_EQ_INT(outcome[1], AU_ROW_INSERTED);
  CHECK_EQ_INT(outcome[2], AU_ROW_INSERTED);
  CHECK_EQ_INT(outcome[3], AU_ROW_UPDATED);
  CHECK_EQ_INT(outcome[4], AU_ROW_INSERTED);
  CHECK_EQ_STR(q1(path, "select count(*) from test_prices"), "4");
  CHECK_EQ_STR(q1(path, "select price from test_prices where node='NODE_A'"), "4.0");
  au_batch_free(b);
  s->ops->close(s);
  unlink(path);
}

TEST(null_changes) { suite_null_changes(tmp_db("nulls")); }

/* INT/BOOL values and no sequence column: any difference updates. */
TEST(no_sequence_int_bool) {
  static const struct au_column c2[] = {
      {"day", AU_T_TIME, AU_COL_KEY, NULL},
      {"n", AU_T_INT, AU_COL_NULLABLE, NULL},
      {"flag", AU_T_BOOL, 0, NULL},
      {"label", AU_T_TEXT, AU_COL_NULLABLE, NULL},
  };
  static const struct au_schema s2 = {.cols = c2, .ncols = 4};
  const struct au_table_ref r2 = {"t.two", "main.two", &s2, -1};
  const char *path = tmp_db("noseq");
  struct au_store *s = open_store(path);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &r2, &err), 0);
  struct au_batch *b = au_batch_new(&s2, 2);
  au_batch_add_row(b);
  au_batch_set_time(b, 0, T0);
  au_batch_set_int(b, 1, 5000000000LL);
  au_batch_set_bool(b, 2, true);
  au_batch_set_text(b, 3, "x", 1);
  struct au_merge_stats st;
  CHECK_EQ_INT(write_batch(s, &r2, b, &st), 0);
  CHECK_EQ_INT(st.inserted, 1);
  CHECK_EQ_INT(write_batch(s, &r2, b, &st), 0);
  CHECK_EQ_INT(st.unchanged, 1);
  au_batch_set_bool(b, 2, false);
  CHECK_EQ_INT(write_batch(s, &r2, b, &st), 0);
  CHECK_EQ_INT(st.updated, 1);
  CHECK_EQ_STR(q1(path, "SELECT n || '/' || flag || '/' || label FROM two"), "5000000000/0/x");
  CHECK_EQ_STR(q1(path, "SELECT type FROM pragma_table_info('two') WHERE name = 'flag'"),
               "INTEGER");
  CHECK_EQ_STR(q1(path, "SELECT \"notnull\" FROM pragma_table_info('two') WHERE name = 'flag'"),
               "1");
  CHECK_EQ_STR(q1(path, "SELECT \"notnull\" FROM pragma_table_info('two') WHERE name = 'n'"),
               "0");
  CHECK_EQ_STR(q1(path, "SELECT pk FROM pragma_table_info('two') WHERE name = 'day'"), "1");
  au_batch_free(b);
  au_store_close(s);
}

/* --- state --------------------------------------------------------------------- */


TEST(watermark_with_data) { suite_watermark(tmp_db("wm")); }

TEST(rollback_leaves_nothing) {
  suite_rollback(":memory:", "NOT NULL");
  suite_rollback(tmp_db("rb"), "NOT NULL");
}

/* --- runs ---------------------------------------------------------------------- */

TEST(runs) { suite_runs(tmp_db("runs")); }

/* --- locks --------------------------------------------------------------------- */

/* Several processes opening one new database at the same moment (workers started together)
 * all get it: switching the file to WAL is retried while another process holds it. */
TEST(fresh_open_race) {
  int failures = 0;
  for (int it = 0; it < 12; it++) {
    char tag[32];
    snprintf(tag, sizeof(tag), "race%d", it);
    const char *path = tmp_db(tag);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
      kids[k] = fork();
      if (kids[k] == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 0) /* released together when the parent closes the pipe */
          _exit(3);
        struct au_err err = AU_ERR_INIT;
        struct au_store *cs = NULL;
        if (au_store_sqlite.open(path, &cs, &err) != 0) {
          fprintf(stderr, "  open: %s\n", err.msg);
          _exit(1);
        }
        au_store_close(cs);
        _exit(0);
      }
    }
    close(go[0]);
    close(go[1]);
    for (int k = 0; k < 4; k++) {
      int st = 0;
      waitpid(kids[k], &st, 0);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        failures++;
    }
  }
  CHECK_EQ_INT(failures, 0);
}

TEST(lock_across_processes) {
  const char *path = tmp_db("lock");
  int c2p[2], p2c[2];
  CHECK(pipe(c2p) == 0 && pipe(p2c) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct au_err err = AU_ERR_INIT;
    struct au_store *cs = NULL;
    char ok = 'E';
    if (au_store_sqlite.open(path, &cs, &err) == 0 &&
        cs->ops->lock(cs, "test.prices", 0, &err) == 0)
      ok = 'L';
    if (write(c2p[1], &ok, 1) != 1)
      _exit(2);
    char c;
    if (read(p2c[0], &c, 1) != 1)
      _exit(3);
    if (cs) {
      cs->ops->unlock(cs, "test.prices");
      au_store_close(cs);
    }
    _exit(0);
  }
  CHECK(pid > 0);
  char c = 0;
  CHECK(read(c2p[0], &c, 1) == 1);
  CHECK_EQ_INT(c, 'L');

  struct au_store *s = open_store(path);
  struct au_err err = AU_ERR_INIT;
  double t0 = au_mono();
  CHECK_EQ_INT(s->ops->lock(s, "test.prices", 0.3, &err), AU_E_LOCK);
  double took = au_mono() - t0;
  CHECK(took >= 0.28 && took < 5);
  CHECK(strstr(err.msg, "table test.prices is being synced by another aurum process") != NULL);
  CHECK(strstr(err.msg, ".test.prices.lock") != NULL);
  CHECK(strstr(err.msg, "--lock-timeout") != NULL);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->lock(s, "test.prices", 0, &err), AU_E_LOCK);
  au_err_clear(&err);
  /* another key is free */
  CHECK_EQ_INT(s->ops->lock(s, "lockme", 0, &err), 0);

  /* Child releases while we wait: acquired. */
  CHECK(write(p2c[1], "x", 1) == 1);
  CHECK_EQ_INT(s->ops->lock(s, "test.prices", 5, &err), 0);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  s->ops->unlock(s, "test.prices");
  s->ops->unlock(s, "lockme");
  close(c2p[0]);
  close(c2p[1]);
  close(p2c[0]);
  close(p2c[1]);
  au_store_close(s);

  /* :memory: locks always succeed */
  s = open_store(":memory:");
  CHECK_EQ_INT(s->ops->lock(s, "x", 0, &err), 0);
  s->ops->unlock(s, "x");
  au_store_close(s);
}

/* --- schema evolution and identifiers ------------------------------------------- */

TEST(schema_evolution) {
  const char *path = tmp_db("evo");
  struct au_store *s = open_store(path);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  struct au_batch *b = au_batch_new(&schema1, 2);
  add_row(b, T0, "A", true, 1, T0);
  struct au_merge_stats ms;
  CHECK_EQ_INT(write_batch(s, &ref1, b, &ms), 0);
  au_batch_free(b);

  static const struct au_column cols2[] = {
      {"interval_start", AU_T_TIME, AU_COL_KEY, NULL},
      {"node", AU_T_TEXT, AU_COL_KEY, NULL},
      {"price", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
      {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, NULL},
      {"volume", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
  };
  static const struct au_schema schema2 = {.cols = cols2, .ncols = 5};
  const struct au_table_ref ref2 = {"test.prices", "test_prices", &schema2, 3};
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref2, &err), 0);
  CHECK_EQ_STR(q1(path, "SELECT type FROM pragma_table_info('test_prices') WHERE name = 'volume'"),
               "REAL");
  b = au_batch_new(&schema2, 2);
  add_row(b, T0, "A", true, 1, T0 + AU_USEC);
  au_batch_set_double(b, 4, 42.0);
  CHECK_EQ_INT(write_batch(s, &ref2, b, &ms), 0);
  CHECK_EQ_INT(ms.updated, 1);
  CHECK_EQ_STR(q1(path, "SELECT volume FROM test_prices"), "42.0");
  au_batch_free(b);

  static const struct au_column cols3[] = {
      {"interval_start", AU_T_TIME, AU_COL_KEY, NULL},
      {"node", AU_T_TEXT, AU_COL_KEY, NULL},
      {"price", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
      {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, NULL},
      {"volume", AU_T_DOUBLE, AU_COL_NULLABLE, NULL},
      {"zone", AU_T_TEXT, 0, NULL},
  };
  static const struct au_schema schema3 = {.cols = cols3, .ncols = 6};
  const struct au_table_ref ref3 = {"test.prices", "test_prices", &schema3, 3};
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref3, &err), AU_E_STORE);
  CHECK(strstr(err.msg, "\"zone\"") != NULL);
  CHECK(strstr(err.msg, "test_prices") != NULL);
  au_store_close(s);
}

TEST(invalid_identifier) {
  struct au_store *s = open_store(":memory:");
  const char *bad[] = {"bad-name", "x;drop table y", "a\"b", "1abc", "", "a.b.c", "a..b"};
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    struct au_err err = AU_ERR_INIT;
    struct au_table_ref r = ref1;
    r.dest = bad[i];
    CHECK_EQ_INT(s->ops->ensure_table(s, &r, &err), AU_E_INVAL);
    au_err_clear(&err);
    struct au_batch *b = au_batch_new(&schema1, 1);
    add_row(b, T0, "A", true, 1, T0);
    struct au_merge_stats ms = {0};
    CHECK_EQ_INT(s->ops->write(s, &r, b, &ms, &err), AU_E_INVAL);
    au_err_clear(&err);
    CHECK_EQ_INT(s->ops->count_rows(s, &r, &err), -1);
    CHECK_EQ_INT(err.code, AU_E_INVAL);
    au_batch_free(b);
  }
  /* a bad column name is rejected too */
  static const struct au_column badcols[] = {{"ok", AU_T_TEXT, AU_COL_KEY, NULL},
                                             {"x\" TEXT); DROP TABLE t; --", AU_T_TEXT, 0, NULL}};
  static const struct au_schema bs = {.cols = badcols, .ncols = 2};
  const struct au_table_ref br = {"k", "good", &bs, -1};
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &br, &err), AU_E_INVAL);
  /* a missing table reports the store error with the table name */
  au_err_clear(&err);
  struct au_table_ref missing = ref1;
  missing.dest = "no_such_table";
  CHECK_EQ_INT(s->ops->count_rows(s, &missing, &err), -1);
  CHECK_EQ_INT(err.code, AU_E_STORE);
  CHECK(strstr(err.msg, "no_such_table") != NULL);
  /* a batch of another schema is refused before anything is written, naming the column */
  static const struct au_column othercols[] = {
      {"interval_start", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, NULL},
      {"node", AU_T_TEXT, AU_COL_KEY, NULL},
      {"price", AU_T_TEXT, AU_COL_NULLABLE, NULL},
      {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, NULL}};
  static const struct au_schema os = {.cols = othercols, .ncols = 4};
  struct au_batch *ob = au_batch_new(&os, 1);
  au_batch_add_row(ob);
  au_err_clear(&err);
  struct au_merge_stats oms = {0};
  CHECK_EQ_INT(s->ops->write(s, &ref1, ob, &oms, &err), AU_E_INVAL);
  CHECK(strstr(err.msg, "column 2 (price) has type text, not double") != NULL);
  au_batch_free(ob);
  struct au_batch *short_b = au_batch_new(&bs, 1);
  au_err_clear(&err);
  CHECK_EQ_INT(s->ops->write(s, &ref1, short_b, &oms, &err), AU_E_INVAL);
  CHECK(strstr(err.msg, "batch schema does not match") != NULL);
  au_batch_free(short_b);
  au_store_close(s);

  /* open errors */
  struct au_store *o = NULL;
  au_err_clear(&err);
  CHECK_EQ_INT(au_store_sqlite.open("sqlite:", &o, &err), AU_E_CONFIG);
  au_err_clear(&err);
  CHECK_EQ_INT(au_store_sqlite.open("/nonexistent_dir_xyz/a.db", &o, &err), AU_E_STORE);
  CHECK(o == NULL);
  CHECK(strstr(err.msg, "/nonexistent_dir_xyz/a.db") != NULL);
}

/* --- speed --------------------------------------------------------------------- */

TEST(insert_rate) {
  const char *path = tmp_db("rate");
  struct au_store *s = open_store(path);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &ref1, &err), 0);
  enum { N = 200000, BATCH = 10000 };
  struct au_batch *b = au_batch_new(&schema1, BATCH);
  char node[32];
  double t0 = au_mono();
  uint64_t inserted = 0;
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  for (int i = 0; i < N; i++) {
    snprintf(node, sizeof(node), "NODE_%03d", i % 500);
    add_row(b, T0 + (i / 500) * 5 * AU_MINUTE, node, true, i * 0.25, T0 + AU_DAY);
    if (b->nrows == BATCH) {
      struct au_merge_stats ms = {0};
      CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
      inserted += ms.inserted;
      au_batch_clear(b);
    }
  }
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  double took = au_mono() - t0;
  CHECK_EQ_INT(inserted, N);
  fprintf(stderr, "  fresh insert: %d rows in %.3f s = %.0f rows/s (batch filling included)\n",
          N, took, N / took);
  /* re-merge: all unchanged */
  t0 = au_mono();
  uint64_t unchanged = 0;
  CHECK_EQ_INT(s->ops->begin(s, &err), 0);
  for (int i = 0; i < N; i++) {
    snprintf(node, sizeof(node), "NODE_%03d", i % 500);
    add_row(b, T0 + (i / 500) * 5 * AU_MINUTE, node, true, i * 0.25, T0 + AU_DAY);
    if (b->nrows == BATCH) {
      struct au_merge_stats ms = {0};
      CHECK_EQ_INT(s->ops->write(s, &ref1, b, &ms, &err), 0);
      unchanged += ms.unchanged;
      au_batch_clear(b);
    }
  }
  CHECK_EQ_INT(s->ops->commit(s, NULL, &err), 0);
  took = au_mono() - t0;
  CHECK_EQ_INT(unchanged, N);
  fprintf(stderr, "  unchanged re-merge: %.0f rows/s\n", N / took);
  au_batch_free(b);
  au_store_close(s);
}

/* An explicit key order (node before time) gives that PRIMARY KEY order. */
TEST(key_order) {
  static const int order[] = {1, 0};
  static const struct au_schema sk = {.cols = cols1, .ncols = 4, .key_order = order, .nkey = 2};
  const struct au_table_ref rk = {"k.order", "korder", &sk, 3};
  const char *path = tmp_db("korder");
  struct au_store *s = open_store(path);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(s->ops->ensure_table(s, &rk, &err), 0);
  CHECK_EQ_STR(q1(path, "SELECT group_concat(name, ',') FROM (SELECT name FROM "
                        "pragma_table_info('korder') WHERE pk > 0 ORDER BY pk)"),
               "node,interval_start");
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
  CHECK_EQ_STR(q1(path, "SELECT group_concat(price, ',') FROM (SELECT price FROM korder "
                        "ORDER BY node)"),
               "1.0,2.0");
  au_batch_free(b);
  au_store_close(s);
}

TEST_LIST{
    T(merge_file),      T(merge_memory),         T(null_changes),
    T(no_sequence_int_bool), T(watermark_with_data), T(rollback_leaves_nothing),
    T(runs),            T(lock_across_processes), T(schema_evolution),
    T(invalid_identifier), T(key_order), T(insert_rate), T(heap_budget), T(key_order_outcomes),
    T(fresh_open_race)};

AU_TEST_MAIN()

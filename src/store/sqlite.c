/* sqlite.c - the SQLite store: data tables, watermarks and run history in one file.
 *
 * One connection per store object (WAL, synchronous=NORMAL, 30 s busy timeout). aurum's
 * own tables are created by the numbered migrations below. Data rows are merged SCD type 1
 * with two cached prepared statements per destination table:
 *
 *   INSERT INTO t(c1..cn) VALUES(?1..?n) ON CONFLICT DO NOTHING      -> inserted
 *   UPDATE t SET <non-key> = ?i WHERE <key> = ?k AND <seq> <= ?s
 *          AND (<value> IS NOT ?v OR ...)                             -> updated / unchanged
 *
 * Parameter ?N always carries schema column N-1 in both statements, so a row is bound
 * column by column straight from the batch (times formatted into per-table scratch
 * buffers, strings bound from the batch pool without copies).
 *
 * Locks are flock()s on "<dbpath>.<key>.lock" files beside the database. */
#include "core/au.h"
#include "core/batch.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#define SQL_MAX (1024u * 1024u)
#define TBUF_SZ 32
#define LOCK_POLL 0.05

/* --- migrations ---------------------------------------------------------------- */

struct migration {
  int version;
  const char *sql;
};

/* Append new migrations at the end; never edit an applied one. */
static const struct migration migrations[] = {
    {1, "CREATE TABLE IF NOT EXISTS aurum_state("
        " table_key TEXT PRIMARY KEY,"
        " watermark TEXT,"
        " details TEXT NOT NULL DEFAULT '{}',"
        " updated_at TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS aurum_runs("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " table_key TEXT NOT NULL,"
        " started_at TEXT NOT NULL,"
        " finished_at TEXT,"
        " status TEXT NOT NULL,"
        " rows_inserted INTEGER,"
        " rows_updated INTEGER,"
        " rows_unchanged INTEGER,"
        " requests INTEGER,"
        " batches INTEGER,"
        " error TEXT);"
        "CREATE INDEX IF NOT EXISTS aurum_runs_table_key ON aurum_runs(table_key, id);"},
    /* backfill jobs, their chunks (a work queue with leases) and quota usage per hour */
    {2, "CREATE TABLE IF NOT EXISTS aurum_backfill_jobs("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " table_key TEXT NOT NULL,"
        " range_start TEXT NOT NULL,"
        " range_end TEXT NOT NULL,"
        " chunk_days INTEGER NOT NULL,"
        " priority INTEGER NOT NULL DEFAULT 0,"
        " max_attempts INTEGER NOT NULL DEFAULT 3,"
        " max_concurrent INTEGER NOT NULL DEFAULT 0,"
        " status TEXT NOT NULL,"
        " created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS aurum_backfill_jobs_find"
        " ON aurum_backfill_jobs(table_key, range_start, range_end);"
        "CREATE TABLE IF NOT EXISTS aurum_backfill_chunks("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " job_id INTEGER NOT NULL REFERENCES aurum_backfill_jobs(id) ON DELETE CASCADE,"
        " seq INTEGER NOT NULL,"
        " range_start TEXT NOT NULL,"
        " range_end TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " rows INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT,"
        " worker TEXT,"
        " lease_until INTEGER,"
        " not_before INTEGER NOT NULL DEFAULT 0,"
        " started_at TEXT,"
        " finished_at TEXT,"
        " UNIQUE(job_id, range_start));"
        "CREATE INDEX IF NOT EXISTS aurum_backfill_chunks_claim"
        " ON aurum_backfill_chunks(status, job_id, seq);"
        "CREATE TABLE IF NOT EXISTS aurum_quota_usage("
        " dataset TEXT NOT NULL,"
        " hour TEXT NOT NULL,"
        " records INTEGER NOT NULL DEFAULT 0,"
        " bytes INTEGER NOT NULL DEFAULT 0,"
        " requests INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY(dataset, hour));"},
    /* request pacing shared by processes (rate_reserve): microseconds since the epoch */
    {3, "CREATE TABLE IF NOT EXISTS aurum_rate("
        " rate_key TEXT PRIMARY KEY,"
        " tat INTEGER NOT NULL,"
        " last_start INTEGER NOT NULL,"
        " interval_us INTEGER NOT NULL,"
        " tolerance_us INTEGER NOT NULL,"
        " spacing_us INTEGER NOT NULL);"},
};

/* --- store object -------------------------------------------------------------- */

/* Cached merge statements of one destination table. */
struct tcache {
  char *dest;
  const struct au_schema *schema;
  int ncols;
  int seq_col;
  sqlite3_stmt *ins;
  sqlite3_stmt *upd;        /* NULL when an existing row can never change (no key or values) */
  char (*tbuf)[TBUF_SZ];    /* per-column scratch for formatted times */
  int *tlen;
  int *key;                 /* key columns in key order: rows are written in key order */
  int nkey;
};

struct held_lock {
  char *key;
  int fd;
  int refs;
};

struct sq {
  struct au_store base;
  sqlite3 *db;
  char *path;
  bool memory;
  struct tcache *tabs;
  size_t ntabs, captabs;
  struct held_lock *locks;
  size_t nlocks, caplocks;
};

const struct au_store_ops au_store_sqlite;

/* --- errors and small helpers -------------------------------------------------- */

static bool is_busy(int rc) {
  int p = rc & 0xff;
  return p == SQLITE_BUSY || p == SQLITE_LOCKED;
}

/* Record AU_E_STORE "sqlite <context>: <sqlite message>" (retryable when busy/locked). */
AU_PRINTF(4, 5)
static int fail(struct sq *s, struct au_err *err, int rc, const char *fmt, ...) {
  char ctx[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof(ctx), fmt, ap);
  va_end(ap);
  const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
  if (is_busy(rc))
    return au_err_set_retry(err, AU_E_STORE, "sqlite %s: %s", ctx, msg);
  return au_err_set(err, AU_E_STORE, "sqlite %s: %s", ctx, msg);
}

static int exec_sql(struct sq *s, const char *sql, struct au_err *err, const char *what) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return fail(s, err, rc, "%s", what);
  return 0;
}

static int prepare(struct sq *s, const char *sql, sqlite3_stmt **st, struct au_err *err,
                   const char *what) {
  int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
  if (rc != SQLITE_OK) {
    *st = NULL;
    return fail(s, err, rc, "%s", what);
  }
  return 0;
}

static bool in_tx(struct sq *s) { return sqlite3_get_autocommit(s->db) == 0; }

static void rollback_quiet(struct sq *s) {
  if (in_tx(s))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* SQL text builder with a sticky error. */
struct sqlb {
  struct au_buf b;
  int rc;
};
#define SB(sb, ...)                                                                         \
  do {                                                                                      \
    if ((sb)->rc == 0)                                                                      \
      (sb)->rc = au_buf_printf(&(sb)->b, __VA_ARGS__);                                      \
  } while (0)

/* A validated destination "t" or "s.t" as "t" / "s"."t". */
static void sb_table(struct sqlb *sb, const char *dest) {
  const char *dot = strchr(dest, '.');
  if (dot)
    SB(sb, "\"%.*s\".\"%s\"", (int)(dot - dest), dest, dot + 1);
  else
    SB(sb, "\"%s\"", dest);
}

static const char *sql_type(enum au_type t) {
  switch (t) {
  case AU_T_DOUBLE:
    return "REAL";
  case AU_T_INT:
  case AU_T_BOOL:
    return "INTEGER";
  case AU_T_TIME:
  case AU_T_TIMESTAMP:
  case AU_T_TEXT:
    break;
  }
  return "TEXT";
}

static int check_ref(const struct au_table_ref *t, struct au_err *err) {
  return au_store_check_ref(t, 120, err);
}


/* --- open / migrations ---------------------------------------------------------- */

static int max_version(struct sq *s, int *out, struct au_err *err) {
  sqlite3_stmt *st;
  int rc = prepare(s, "SELECT coalesce(max(version), 0) FROM aurum_schema_migrations", &st, err,
                   "read schema version");
  if (rc)
    return rc;
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    fail(s, err, rc, "read schema version");
    sqlite3_finalize(st);
    return AU_E_STORE;
  }
  *out = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return 0;
}

static int migrate(struct sq *s, struct au_err *err) {
  int rc = exec_sql(s,
                    "CREATE TABLE IF NOT EXISTS aurum_schema_migrations("
                    "version INTEGER PRIMARY KEY, applied_at TEXT)",
                    err, "create aurum_schema_migrations");
  if (rc)
    return rc;
  int have = 0;
  if ((rc = max_version(s, &have, err)))
    return rc;
  int latest = migrations[AU_ARRAY_LEN(migrations) - 1].version;
  if (have >= latest)
    return 0;
  /* Re-read under the write lock: another process may be migrating at the same time. */
  if ((rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin migration")))
    return rc;
  if ((rc = max_version(s, &have, err)))
    goto out;
  for (size_t i = 0; i < AU_ARRAY_LEN(migrations); i++) {
    const struct migration *m = &migrations[i];
    if (m->version <= have)
      continue;
    char what[64];
    snprintf(what, sizeof(what), "migration %d", m->version);
    if ((rc = exec_sql(s, m->sql, err, what)))
      goto out;
    sqlite3_stmt *st;
    if ((rc = prepare(s, "INSERT INTO aurum_schema_migrations(version, applied_at) VALUES(?1, ?2)",
                      &st, err, what)))
      goto out;
    char ts[TBUF_SZ];
    au_time_fmt(au_now_real(), ts);
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
      rc = fail(s, err, src, "record %s", what);
    sqlite3_finalize(st);
    if (rc)
      goto out;
  }
  rc = exec_sql(s, "COMMIT", err, "commit migrations");
out:
  if (rc)
    rollback_quiet(s);
  return rc;
}

static void sq_close(struct au_store *st);

static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
static void heap_limit_init(void) {
  const char *e = getenv("AURUM_SQLITE_HEAP_MB");
  long mb = e && *e ? atol(e) : 2;
  if (mb > 0)
    sqlite3_soft_heap_limit64((sqlite3_int64)mb << 20);
}

static int sq_open(const char *url, struct au_store **out, struct au_err *err) {
  *out = NULL;
  if (!url)
    return au_err_set(err, AU_E_CONFIG, "sqlite: no database path");
  const char *path = url;
  if (strncmp(path, "sqlite://", 9) == 0)
    path += 9;
  else if (strncmp(path, "sqlite:", 7) == 0)
    path += 7;
  if (!*path)
    return au_err_set(err, AU_E_CONFIG, "sqlite: empty database path in '%s'", url);

  pthread_once(&heap_once, heap_limit_init);
  struct sq *s = au_xcalloc(1, sizeof(*s));
  s->base.ops = &au_store_sqlite;
  s->path = au_xstrdup(path);
  s->memory = strcmp(path, ":memory:") == 0;
  int rc = sqlite3_open_v2(path, &s->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    fail(s, err, rc, "open %s", path);
    sq_close(&s->base);
    return AU_E_STORE;
  }
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, 30000);
  /* Switching a new file to WAL takes an exclusive lock without calling the busy handler:
   * processes opening a fresh database at the same moment (two workers) retry here for as
   * long as the busy timeout. */
  double waited = 0, step = 0.002;
  while (is_busy(rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) && waited < 30) {
    au_sleep(step);
    waited += step;
    step = step * 2 > 0.1 ? 0.1 : step * 2;
  }
  if (rc != SQLITE_OK) {
    rc = fail(s, err, rc, "configure (journal_mode=WAL)");
  } else {
    rc = exec_sql(s,
                  "PRAGMA synchronous=NORMAL;"
                  "PRAGMA foreign_keys=ON;",
                  err, "configure");
  }
  if (rc == 0)
    rc = migrate(s, err);
  if (rc) {
    au_err_prefix(err, "%s", path);
    sq_close(&s->base);
    return rc;
  }
  *out = &s->base;
  return 0;
}

/* --- merge statement cache ---------------------------------------------------- */

static void tc_release(struct tcache *tc) {
  sqlite3_finalize(tc->ins);
  sqlite3_finalize(tc->upd);
  tc->ins = tc->upd = NULL;
  free(tc->tbuf);
  free(tc->tlen);
  free(tc->key);
  tc->tbuf = NULL;
  tc->tlen = NULL;
  tc->key = NULL;
  tc->nkey = 0;
}

static int tc_prepare(struct sq *s, const char *sql, sqlite3_stmt **st, const char *dest,
                      struct au_err *err) {
  int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
  if (rc != SQLITE_OK) {
    *st = NULL;
    return fail(s, err, rc, "prepare merge for %s", dest);
  }
  return 0;
}

static int tc_build(struct sq *s, const struct au_table_ref *t, struct tcache *tc,
                    struct au_err *err) {
  const struct au_schema *sc = t->schema;
  tc_release(tc);
  tc->schema = sc;
  tc->ncols = sc->ncols;
  tc->seq_col = t->seq_col;
  tc->tbuf = au_xcalloc((size_t)sc->ncols, TBUF_SZ);
  tc->tlen = au_xcalloc((size_t)sc->ncols, sizeof(int));
  bool *key_mask = NULL;
  tc->nkey = au_store_key_cols(sc, &tc->key, &key_mask);
  free(key_mask);

  struct sqlb sb = {AU_BUF_INIT(SQL_MAX), 0};
  SB(&sb, "INSERT INTO ");
  sb_table(&sb, t->dest);
  SB(&sb, "(");
  for (int c = 0; c < sc->ncols; c++)
    SB(&sb, "%s\"%s\"", c ? ", " : "", sc->cols[c].name);
  SB(&sb, ") VALUES(");
  for (int c = 0; c < sc->ncols; c++)
    SB(&sb, "%s?%d", c ? ", " : "", c + 1);
  SB(&sb, ") ON CONFLICT DO NOTHING");
  if (sb.rc) {
    au_buf_release(&sb.b);
    return au_err_set(err, AU_E_TOOBIG, "table %s: merge statement too long", t->dest);
  }
  int rc = tc_prepare(s, sb.b.ptr, &tc->ins, t->dest, err);
  if (rc) {
    au_buf_release(&sb.b);
    return rc;
  }

  int *order;
  bool *is_key;
  int nkey = au_store_key_cols(sc, &order, &is_key);
  int nset = 0, ncmp = 0;
  for (int c = 0; c < sc->ncols; c++) {
    if (!is_key[c])
      nset++;
    if (!is_key[c] && c != t->seq_col)
      ncmp++;
  }
  /* Without a key every row is new; without values an existing row cannot differ. */
  if (nkey == 0 || nset == 0 || ncmp == 0) {
    rc = 0;
    goto out;
  }
  au_buf_reset(&sb.b);
  SB(&sb, "UPDATE ");
  sb_table(&sb, t->dest);
  SB(&sb, " SET ");
  int k = 0;
  for (int c = 0; c < sc->ncols; c++)
    if (!is_key[c])
      SB(&sb, "%s\"%s\" = ?%d", k++ ? ", " : "", sc->cols[c].name, c + 1);
  SB(&sb, " WHERE ");
  for (int i = 0; i < nkey; i++) {
    int c = order[i];
    SB(&sb, "%s\"%s\" %s ?%d", i ? " AND " : "", sc->cols[c].name,
       (sc->cols[c].flags & AU_COL_NULLABLE) ? "IS" : "=", c + 1);
  }
  if (t->seq_col >= 0) {
    const char *sn = sc->cols[t->seq_col].name;
    SB(&sb, " AND (\"%s\" IS NULL OR \"%s\" <= ?%d)", sn, sn, t->seq_col + 1);
  }
  SB(&sb, " AND (");
  k = 0;
  for (int c = 0; c < sc->ncols; c++)
    if (!is_key[c] && c != t->seq_col)
      SB(&sb, "%s\"%s\" IS NOT ?%d", k++ ? " OR " : "", sc->cols[c].name, c + 1);
  SB(&sb, ")");
  if (sb.rc)
    rc = au_err_set(err, AU_E_TOOBIG, "table %s: merge statement too long", t->dest);
  else
    rc = tc_prepare(s, sb.b.ptr, &tc->upd, t->dest, err);
out:
  free(order);
  free(is_key);
  au_buf_release(&sb.b);
  return rc;
}

/* The cache entry of t->dest, (re)built when missing or bound to another schema. */
static int tc_get(struct sq *s, const struct au_table_ref *t, bool rebuild, struct tcache **out,
                  struct au_err *err) {
  struct tcache *tc = NULL;
  for (size_t i = 0; i < s->ntabs; i++)
    if (strcmp(s->tabs[i].dest, t->dest) == 0) {
      tc = &s->tabs[i];
      break;
    }
  if (!tc) {
    if (s->ntabs == s->captabs) {
      s->captabs = s->captabs ? s->captabs * 2 : 8;
      s->tabs = au_xrealloc(s->tabs, s->captabs * sizeof(*s->tabs));
    }
    tc = &s->tabs[s->ntabs++];
    memset(tc, 0, sizeof(*tc));
    tc->dest = au_xstrdup(t->dest);
    rebuild = true;
  }
  if (rebuild || tc->schema != t->schema || tc->ncols != t->schema->ncols ||
      tc->seq_col != t->seq_col || !tc->ins) {
    int rc = tc_build(s, t, tc, err);
    if (rc) {
      tc_release(tc);
      tc->schema = NULL;
      return rc;
    }
  }
  *out = tc;
  return 0;
}

/* --- ensure_table -------------------------------------------------------------- */

struct namelist {
  char **v;
  size_t n, cap;
};

static void names_free(struct namelist *nl) {
  for (size_t i = 0; i < nl->n; i++)
    free(nl->v[i]);
  free(nl->v);
}

static bool names_has(const struct namelist *nl, const char *name) {
  for (size_t i = 0; i < nl->n; i++)
    if (strcasecmp(nl->v[i], name) == 0)
      return true;
  return false;
}

static int existing_columns(struct sq *s, const char *dest, struct namelist *nl,
                            struct au_err *err) {
  const char *dot = strchr(dest, '.');
  sqlite3_stmt *st;
  int rc = prepare(s, dot ? "SELECT name FROM pragma_table_info(?1, ?2)"
                          : "SELECT name FROM pragma_table_info(?1)",
                   &st, err, "inspect table");
  if (rc) {
    au_err_prefix(err, "table %s", dest);
    return rc;
  }
  if (dot) {
    sqlite3_bind_text(st, 1, dot + 1, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dest, (int)(dot - dest), SQLITE_STATIC);
  } else {
    sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC);
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *n = (const char *)sqlite3_column_text(st, 0);
    if (!n)
      continue;
    if (nl->n == nl->cap) {
      nl->cap = nl->cap ? nl->cap * 2 : 16;
      nl->v = au_xrealloc(nl->v, nl->cap * sizeof(*nl->v));
    }
    nl->v[nl->n++] = au_xstrdup(n);
  }
  if (rc != SQLITE_DONE) {
    fail(s, err, rc, "inspect table %s", dest);
    sqlite3_finalize(st);
    return AU_E_STORE;
  }
  sqlite3_finalize(st);
  return 0;
}

static int create_table(struct sq *s, const struct au_table_ref *t, struct au_err *err) {
  const struct au_schema *sc = t->schema;
  struct sqlb sb = {AU_BUF_INIT(SQL_MAX), 0};
  SB(&sb, "CREATE TABLE IF NOT EXISTS ");
  sb_table(&sb, t->dest);
  SB(&sb, " (");
  for (int c = 0; c < sc->ncols; c++) {
    const struct au_column *col = &sc->cols[c];
    SB(&sb, "%s\"%s\" %s%s", c ? ", " : "", col->name, sql_type(col->type),
       (col->flags & AU_COL_NULLABLE) ? "" : " NOT NULL");
  }
  int *order;
  bool *is_key;
  int nkey = au_store_key_cols(sc, &order, &is_key);
  if (nkey) {
    SB(&sb, ", PRIMARY KEY (");
    for (int i = 0; i < nkey; i++)
      SB(&sb, "%s\"%s\"", i ? ", " : "", sc->cols[order[i]].name);
    SB(&sb, ")");
  }
  free(order);
  free(is_key);
  SB(&sb, ")");
  int rc;
  if (sb.rc)
    rc = au_err_set(err, AU_E_TOOBIG, "table %s: CREATE TABLE statement too long", t->dest);
  else
    rc = exec_sql(s, sb.b.ptr, err, "create table");
  au_buf_release(&sb.b);
  if (rc)
    au_err_prefix(err, "%s", t->dest);
  return rc;
}

static int add_column(struct sq *s, const struct au_table_ref *t, const struct au_column *col,
                      struct au_err *err) {
  struct sqlb sb = {AU_BUF_INIT(SQL_MAX), 0};
  SB(&sb, "ALTER TABLE ");
  sb_table(&sb, t->dest);
  SB(&sb, " ADD COLUMN \"%s\" %s", col->name, sql_type(col->type));
  int rc;
  if (sb.rc) {
    rc = au_err_set(err, AU_E_TOOBIG, "table %s: ALTER TABLE too long", t->dest);
  } else {
    rc = sqlite3_exec(s->db, sb.b.ptr, NULL, NULL, NULL);
    rc = rc == SQLITE_OK ? 0 : fail(s, err, rc, "add column %s to %s", col->name, t->dest);
  }
  au_buf_release(&sb.b);
  return rc;
}

static int sq_ensure_table(struct au_store *st, const struct au_table_ref *t,
                           struct au_err *err) {
  struct sq *s = (struct sq *)st;
  int rc = check_ref(t, err);
  if (rc)
    return rc;
  struct namelist have = {0};
  if ((rc = existing_columns(s, t->dest, &have, err)))
    return rc;
  if (have.n == 0) {
    rc = create_table(s, t, err);
  } else {
    /* Schema evolution: add new nullable columns; a new NOT NULL column needs a human. */
    for (int c = 0; c < t->schema->ncols && rc == 0; c++) {
      const struct au_column *col = &t->schema->cols[c];
      if (names_has(&have, col->name))
        continue;
      if (!(col->flags & AU_COL_NULLABLE))
        rc = au_err_set(err, AU_E_STORE,
                        "sqlite table %s exists without the NOT NULL column \"%s\"; it cannot "
                        "be added to existing rows (migrate or drop the table)",
                        t->dest, col->name);
      else
        rc = add_column(s, t, col, err);
    }
  }
  names_free(&have);
  if (rc)
    return rc;
  struct tcache *tc;
  return tc_get(s, t, true, &tc, err);
}

/* --- transactions and write ------------------------------------------------------ */

static int sq_begin(struct au_store *st, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  return exec_sql(s, "BEGIN IMMEDIATE", err, "begin transaction");
}

static void sq_rollback(struct au_store *st) {
  struct sq *s = (struct sq *)st;
  sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Format row r's time cells once into the scratch buffers (shared by both statements). */
static void format_row(struct tcache *tc, const struct au_batch *b, size_t r) {
  const struct au_column *cols = tc->schema->cols;
  for (int c = 0; c < tc->ncols; c++) {
    enum au_type ty = cols[c].type;
    if ((ty != AU_T_TIME && ty != AU_T_TIMESTAMP) || b->nulls[c][r])
      continue;
    au_time v = b->cols[c][r].i;
    if (v == AU_TIME_NONE)
      tc->tlen[c] = -1;
    else if (ty == AU_T_TIME)
      tc->tlen[c] = (int)au_time_fmt(v, tc->tbuf[c]);
    else
      tc->tlen[c] = (int)au_time_fmt_us(v, tc->tbuf[c]);
  }
}

static int bind_row(struct tcache *tc, const struct au_batch *b, size_t r, sqlite3_stmt *st) {
  const struct au_column *cols = tc->schema->cols;
  int rc = SQLITE_OK;
  for (int c = 0; c < tc->ncols; c++) {
    int p = c + 1;
    if (b->nulls[c][r]) {
      rc |= sqlite3_bind_null(st, p);
      continue;
    }
    const union au_cell *cell = &b->cols[c][r];
    switch (cols[c].type) {
    case AU_T_TIME:
    case AU_T_TIMESTAMP:
      if (tc->tlen[c] < 0)
        rc |= sqlite3_bind_null(st, p);
      else
        rc |= sqlite3_bind_text(st, p, tc->tbuf[c], tc->tlen[c], SQLITE_STATIC);
      break;
    case AU_T_DOUBLE:
      rc |= sqlite3_bind_double(st, p, cell->d);
      break;
    case AU_T_INT:
      rc |= sqlite3_bind_int64(st, p, cell->i);
      break;
    case AU_T_BOOL:
      rc |= sqlite3_bind_int(st, p, cell->i != 0);
      break;
    case AU_T_TEXT: {
      size_t len = 0;
      const char *sv = au_batch_str(b, cell->s, &len);
      rc |= sqlite3_bind_text(st, p, sv, (int)len, SQLITE_STATIC);
      break;
    }
    }
  }
  return rc;
}

/* Adds the outcome counts to *ms (callers summing over batches pass the same struct) and
 * fills ms->outcome[r] per batch row when given. On error the counts are not added. */
static int sq_write(struct au_store *st, const struct au_table_ref *t, const struct au_batch *b,
                    struct au_merge_stats *ms, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  int rc = check_ref(t, err);
  if (rc)
    return rc;
  if ((rc = au_store_check_batch(t, b, err)))
    return rc;
  struct tcache *tc;
  if ((rc = tc_get(s, t, false, &tc, err)))
    return rc;
  if (b->nrows == 0)
    return 0;

  bool own_tx = !in_tx(s);
  if (own_tx && (rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin transaction")))
    return rc;

  uint64_t n_ins = 0, n_upd = 0, n_same = 0;
  uint8_t *outcome = ms ? ms->outcome : NULL;
  /* in key order: each insert lands next to the previous one in the primary-key index
   * (equal keys keep their batch order, so the last one still wins) */
  uint32_t *perm = au_store_key_perm(b, tc->key, tc->nkey);
  for (size_t i = 0; i < b->nrows; i++) {
    size_t r = perm[i];
    format_row(tc, b, r);
    if (bind_row(tc, b, r, tc->ins) != SQLITE_OK) {
      rc = fail(s, err, SQLITE_ERROR, "bind row %zu of %s", r, t->dest);
      goto out;
    }
    int src = sqlite3_step(tc->ins);
    if (src != SQLITE_DONE) {
      rc = fail(s, err, src, "insert into %s (batch row %zu)", t->dest, r);
      sqlite3_reset(tc->ins);
      goto out;
    }
    sqlite3_reset(tc->ins);
    if (sqlite3_changes(s->db) == 1) {
      n_ins++;
      if (outcome)
        outcome[r] = AU_ROW_INSERTED;
      continue;
    }
    if (!tc->upd) {
      n_same++;
      if (outcome)
        outcome[r] = AU_ROW_UNCHANGED;
      continue;
    }
    if (bind_row(tc, b, r, tc->upd) != SQLITE_OK) {
      rc = fail(s, err, SQLITE_ERROR, "bind row %zu of %s", r, t->dest);
      goto out;
    }
    src = sqlite3_step(tc->upd);
    if (src != SQLITE_DONE) {
      rc = fail(s, err, src, "update %s (batch row %zu)", t->dest, r);
      sqlite3_reset(tc->upd);
      goto out;
    }
    sqlite3_reset(tc->upd);
    bool changed = sqlite3_changes(s->db) == 1;
    if (changed)
      n_upd++;
    else
      n_same++;
    if (outcome)
      outcome[r] = changed ? AU_ROW_UPDATED : AU_ROW_UNCHANGED;
  }
  if (own_tx)
    rc = exec_sql(s, "COMMIT", err, "commit");
out:
  free(perm);
  /* Drop the SQLITE_STATIC bindings into the batch before the caller reuses it. */
  sqlite3_clear_bindings(tc->ins);
  if (tc->upd)
    sqlite3_clear_bindings(tc->upd);
  if (rc) {
    if (own_tx)
      rollback_quiet(s);
    return rc;
  }
  if (ms) {
    ms->inserted += n_ins;
    ms->updated += n_upd;
    ms->unchanged += n_same;
  }
  return 0;
}

/* --- state ------------------------------------------------------------------------ */

static au_time parse_time_col(sqlite3_stmt *st, int i) {
  const char *v = (const char *)sqlite3_column_text(st, i);
  au_time t;
  if (!v || au_time_parse_iso(v, (size_t)-1, &t, NULL) != 0)
    return AU_TIME_NONE;
  return t;
}

static int state_upsert(struct sq *s, const struct au_state_update *up, struct au_err *err) {
  if (!up->key)
    return au_err_set(err, AU_E_INVAL, "state update without a table key");
  sqlite3_stmt *st;
  int rc = prepare(s, "SELECT watermark FROM aurum_state WHERE table_key = ?1", &st, err,
                   "read state");
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, up->key, -1, SQLITE_STATIC);
  au_time old = AU_TIME_NONE;
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW)
    old = parse_time_col(st, 0);
  else if (src != SQLITE_DONE)
    rc = fail(s, err, src, "read state of %s", up->key);
  sqlite3_finalize(st);
  if (rc)
    return rc;

  au_time wm = old;
  if (up->watermark != AU_TIME_NONE && (old == AU_TIME_NONE || up->watermark > old))
    wm = up->watermark;
  char wbuf[TBUF_SZ], nbuf[TBUF_SZ];
  if (wm != AU_TIME_NONE)
    au_time_fmt(wm, wbuf);
  au_time_fmt_us(au_now_real(), nbuf);

  if ((rc = prepare(s,
                    "INSERT INTO aurum_state(table_key, watermark, details, updated_at)"
                    " VALUES(?1, ?2, coalesce(?3, '{}'), ?4)"
                    " ON CONFLICT(table_key) DO UPDATE SET watermark = excluded.watermark,"
                    " details = coalesce(?3, aurum_state.details),"
                    " updated_at = excluded.updated_at",
                    &st, err, "write state")))
    return rc;
  sqlite3_bind_text(st, 1, up->key, -1, SQLITE_STATIC);
  if (wm != AU_TIME_NONE)
    sqlite3_bind_text(st, 2, wbuf, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 2);
  if (up->details)
    sqlite3_bind_text(st, 3, up->details, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 3);
  sqlite3_bind_text(st, 4, nbuf, -1, SQLITE_STATIC);
  src = sqlite3_step(st);
  if (src != SQLITE_DONE)
    rc = fail(s, err, src, "write state of %s", up->key);
  sqlite3_finalize(st);
  return rc;
}

static int sq_commit(struct au_store *st, const struct au_state_update *up, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  int rc = 0;
  if (!in_tx(s) && (rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin transaction")))
    return rc;
  if (up && (rc = state_upsert(s, up, err))) {
    rollback_quiet(s);
    return rc;
  }
  if ((rc = exec_sql(s, "COMMIT", err, "commit")))
    rollback_quiet(s);
  return rc;
}

static void copy_str(char *dst, size_t cap, const unsigned char *src) {
  snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Row: table_key, watermark, details, updated_at */
static void fill_state(sqlite3_stmt *st, struct au_state *out) {
  memset(out, 0, sizeof(*out));
  copy_str(out->key, sizeof(out->key), sqlite3_column_text(st, 0));
  out->watermark = parse_time_col(st, 1);
  const unsigned char *d = sqlite3_column_text(st, 2);
  copy_str(out->details, sizeof(out->details), d ? d : (const unsigned char *)"{}");
  out->updated_at = parse_time_col(st, 3);
}

static int sq_state_get(struct au_store *st, const char *key, struct au_state *out,
                        struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "SELECT table_key, watermark, details, updated_at FROM aurum_state"
                   " WHERE table_key = ?1",
                   &q, err, "read state");
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, key ? key : "", -1, SQLITE_STATIC);
  int src = sqlite3_step(q);
  if (src == SQLITE_ROW)
    fill_state(q, out);
  else if (src == SQLITE_DONE)
    rc = au_err_set(err, AU_E_NOTFOUND, "no state for %s", key ? key : "(null)");
  else
    rc = fail(s, err, src, "read state of %s", key ? key : "(null)");
  sqlite3_finalize(q);
  return rc;
}

static int sq_state_list(struct au_store *st, int (*cb)(void *arg, const struct au_state *s),
                         void *arg, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "SELECT table_key, watermark, details, updated_at FROM aurum_state"
                   " ORDER BY table_key",
                   &q, err, "list state");
  if (rc)
    return rc;
  struct au_state row;
  int src;
  while ((src = sqlite3_step(q)) == SQLITE_ROW) {
    fill_state(q, &row);
    if ((rc = cb(arg, &row)) != 0)
      break;
  }
  if (rc == 0 && src != SQLITE_DONE)
    rc = fail(s, err, src, "list state");
  sqlite3_finalize(q);
  return rc;
}

/* Deletes the state row only (the data stays); a missing row is not an error. */
static int sq_state_reset(struct au_store *st, const char *key, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s, "DELETE FROM aurum_state WHERE table_key = ?1", &q, err, "reset state");
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, key ? key : "", -1, SQLITE_STATIC);
  int src = sqlite3_step(q);
  if (src != SQLITE_DONE)
    rc = fail(s, err, src, "reset state of %s", key ? key : "(null)");
  sqlite3_finalize(q);
  return rc;
}

/* --- runs ----------------------------------------------------------------------- */

/* started_at/finished_at of 0 or AU_TIME_NONE mean "now". */
static au_time or_now(au_time t) { return t == AU_TIME_NONE || t == 0 ? au_now_real() : t; }

static int sq_run_begin(struct au_store *st, struct au_run_record *r, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  if (!r || !r->key)
    return au_err_set(err, AU_E_INVAL, "run record without a table key");
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "INSERT INTO aurum_runs(table_key, started_at, status) VALUES(?1, ?2, 'running')",
                   &q, err, "record run");
  if (rc)
    return rc;
  char ts[TBUF_SZ];
  au_time_fmt_us(or_now(r->started_at), ts);
  sqlite3_bind_text(q, 1, r->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, ts, -1, SQLITE_STATIC);
  int src = sqlite3_step(q);
  if (src != SQLITE_DONE)
    rc = fail(s, err, src, "record run of %s", r->key);
  else
    r->id = sqlite3_last_insert_rowid(s->db);
  sqlite3_finalize(q);
  return rc;
}

static int sq_run_end(struct au_store *st, const struct au_run_record *r, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  if (!r)
    return au_err_set(err, AU_E_INVAL, "no run record");
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "UPDATE aurum_runs SET finished_at = ?2, status = ?3, rows_inserted = ?4,"
                   " rows_updated = ?5, rows_unchanged = ?6, requests = ?7, batches = ?8,"
                   " error = ?9 WHERE id = ?1",
                   &q, err, "finish run");
  if (rc)
    return rc;
  char ts[TBUF_SZ];
  au_time_fmt_us(or_now(r->finished_at), ts);
  sqlite3_bind_int64(q, 1, r->id);
  sqlite3_bind_text(q, 2, ts, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, r->status ? r->status : "ok", -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 4, (sqlite3_int64)r->inserted);
  sqlite3_bind_int64(q, 5, (sqlite3_int64)r->updated);
  sqlite3_bind_int64(q, 6, (sqlite3_int64)r->unchanged);
  sqlite3_bind_int64(q, 7, (sqlite3_int64)r->requests);
  sqlite3_bind_int64(q, 8, (sqlite3_int64)r->batches);
  if (r->error)
    sqlite3_bind_text(q, 9, r->error, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 9);
  int src = sqlite3_step(q);
  if (src != SQLITE_DONE)
    rc = fail(s, err, src, "finish run %lld", (long long)r->id);
  else if (sqlite3_changes(s->db) == 0)
    rc = au_err_set(err, AU_E_NOTFOUND, "no run with id %lld", (long long)r->id);
  sqlite3_finalize(q);
  return rc;
}

/* --- locks ---------------------------------------------------------------------- */

static struct held_lock *find_lock(struct sq *s, const char *key) {
  for (size_t i = 0; i < s->nlocks; i++)
    if (strcmp(s->locks[i].key, key) == 0)
      return &s->locks[i];
  return NULL;
}

/* "<dbpath>.<key with [^A-Za-z0-9._-] as _>.lock" */
static char *lock_path(const struct sq *s, const char *key) {
  size_t pl = strlen(s->path), kl = strlen(key);
  char *p = au_xmalloc(pl + kl + 7);
  memcpy(p, s->path, pl);
  p[pl] = '.';
  char *q = p + pl + 1;
  for (size_t i = 0; i < kl; i++) {
    char c = key[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    *q++ = ok ? c : '_';
  }
  memcpy(q, ".lock", 6);
  return p;
}

static int sq_lock(struct au_store *st, const char *key, double timeout, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  if (!key || !*key)
    return au_err_set(err, AU_E_INVAL, "lock without a table key");
  if (s->memory)
    return 0;
  struct held_lock *h = find_lock(s, key);
  if (h) {
    h->refs++;
    return 0;
  }
  char *path = lock_path(s, key);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    au_err_set(err, AU_E_IO, "cannot open lock file %s: %s", path, strerror(e));
    free(path);
    return AU_E_IO;
  }
  double deadline = au_mono() + (timeout > 0 ? timeout : 0);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      break;
    int e = errno;
    if (e == EINTR)
      continue;
    if (e != EWOULDBLOCK) {
      au_err_set(err, AU_E_IO, "cannot lock %s: %s", path, strerror(e));
      close(fd);
      free(path);
      return AU_E_IO;
    }
    double left = deadline - au_mono();
    if (left <= 0) {
      au_err_set(err, AU_E_LOCK,
                 "table %s is being synced by another aurum process (lock %s); try again "
                 "later or raise --lock-timeout",
                 key, path);
      close(fd);
      free(path);
      return AU_E_LOCK;
    }
    au_sleep(left < LOCK_POLL ? left : LOCK_POLL);
  }
  free(path);
  if (s->nlocks == s->caplocks) {
    s->caplocks = s->caplocks ? s->caplocks * 2 : 4;
    s->locks = au_xrealloc(s->locks, s->caplocks * sizeof(*s->locks));
  }
  s->locks[s->nlocks++] = (struct held_lock){au_xstrdup(key), fd, 1};
  return 0;
}

static void drop_lock(struct sq *s, size_t i) {
  flock(s->locks[i].fd, LOCK_UN);
  close(s->locks[i].fd);
  free(s->locks[i].key);
  s->locks[i] = s->locks[--s->nlocks];
}

static void sq_unlock(struct au_store *st, const char *key) {
  struct sq *s = (struct sq *)st;
  if (!key)
    return;
  struct held_lock *h = find_lock(s, key);
  if (!h || --h->refs > 0)
    return;
  drop_lock(s, (size_t)(h - s->locks));
}

/* --- misc ----------------------------------------------------------------------- */

static int64_t sq_count_rows(struct au_store *st, const struct au_table_ref *t,
                             struct au_err *err) {
  struct sq *s = (struct sq *)st;
  if (!t || !t->dest || !au_ident_valid(t->dest)) {
    au_err_set(err, AU_E_INVAL, "invalid destination table name '%s'",
               t && t->dest ? t->dest : "(null)");
    return -1;
  }
  struct sqlb sb = {AU_BUF_INIT(4096), 0};
  SB(&sb, "SELECT count(*) FROM ");
  sb_table(&sb, t->dest);
  if (sb.rc) {
    au_buf_release(&sb.b);
    au_err_set(err, AU_E_TOOBIG, "table name too long");
    return -1;
  }
  sqlite3_stmt *q;
  int rc = prepare(s, sb.b.ptr, &q, err, "count rows");
  au_buf_release(&sb.b);
  if (rc) {
    au_err_prefix(err, "%s", t->dest);
    return -1;
  }
  int64_t n = -1;
  int src = sqlite3_step(q);
  if (src == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  else
    fail(s, err, src, "count rows of %s", t->dest);
  sqlite3_finalize(q);
  return n;
}

/* --- backfill jobs, chunks and quota usage ---------------------------------------- *
 *
 * Tables of migration 2. Chunk leases and backoff (lease_until, not_before) are integer
 * microseconds of the real clock; ranges and stamps are ISO text. A claim is one
 * "BEGIN IMMEDIATE; UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING ...; COMMIT",
 * so two connections never claim the same chunk (SQLite's write lock is the mutual
 * exclusion; PostgreSQL uses FOR UPDATE SKIP LOCKED for the same statement). */

#define JOB_COLS                                                                            \
  "j.id, j.table_key, j.range_start, j.range_end, j.chunk_days, j.priority,"               \
  " j.max_attempts, j.max_concurrent, j.status, j.created_at, j.updated_at,"               \
  " count(c.id), coalesce(sum(c.status = 'pending'), 0), coalesce(sum(c.status = 'running'), 0)," \
  " coalesce(sum(c.status = 'done'), 0), coalesce(sum(c.status = 'failed'), 0),"           \
  " coalesce(sum(CASE WHEN c.status = 'done' THEN c.rows END), 0)"
#define JOB_FROM " FROM aurum_backfill_jobs j LEFT JOIN aurum_backfill_chunks c ON c.job_id = j.id"
#define CHUNK_COLS                                                                          \
  "id, job_id, seq, range_start, range_end, status, attempts, rows, last_error, worker,"    \
  " lease_until, not_before, finished_at"

static void fill_job(sqlite3_stmt *q, struct au_job *j) {
  memset(j, 0, sizeof(*j));
  j->id = sqlite3_column_int64(q, 0);
  copy_str(j->table_key, sizeof(j->table_key), sqlite3_column_text(q, 1));
  j->range_start = parse_time_col(q, 2);
  j->range_end = parse_time_col(q, 3);
  j->chunk_days = sqlite3_column_int(q, 4);
  j->priority = sqlite3_column_int(q, 5);
  j->max_attempts = sqlite3_column_int(q, 6);
  j->max_concurrent = sqlite3_column_int(q, 7);
  copy_str(j->status, sizeof(j->status), sqlite3_column_text(q, 8));
  j->created_at = parse_time_col(q, 9);
  j->updated_at = parse_time_col(q, 10);
  j->n_chunks = sqlite3_column_int64(q, 11);
  j->n_pending = sqlite3_column_int64(q, 12);
  j->n_running = sqlite3_column_int64(q, 13);
  j->n_done = sqlite3_column_int64(q, 14);
  j->n_failed = sqlite3_column_int64(q, 15);
  j->rows = (uint64_t)sqlite3_column_int64(q, 16);
}

static au_time int_time_col(sqlite3_stmt *q, int i) {
  return sqlite3_column_type(q, i) == SQLITE_NULL ? AU_TIME_NONE : sqlite3_column_int64(q, i);
}

static void fill_chunk(sqlite3_stmt *q, struct au_chunk *c) {
  memset(c, 0, sizeof(*c));
  c->id = sqlite3_column_int64(q, 0);
  c->job_id = sqlite3_column_int64(q, 1);
  c->seq = sqlite3_column_int(q, 2);
  c->range_start = parse_time_col(q, 3);
  c->range_end = parse_time_col(q, 4);
  copy_str(c->status, sizeof(c->status), sqlite3_column_text(q, 5));
  c->attempts = sqlite3_column_int(q, 6);
  c->rows = (uint64_t)sqlite3_column_int64(q, 7);
  copy_str(c->last_error, sizeof(c->last_error), sqlite3_column_text(q, 8));
  copy_str(c->worker, sizeof(c->worker), sqlite3_column_text(q, 9));
  c->lease_until = int_time_col(q, 10);
  c->not_before = int_time_col(q, 11);
  if (c->not_before == 0)
    c->not_before = AU_TIME_NONE;
  c->finished_at = parse_time_col(q, 12);
}

static void bind_time_text(sqlite3_stmt *q, int i, au_time t) {
  char b[TBUF_SZ];
  au_time_fmt(t, b);
  sqlite3_bind_text(q, i, b, -1, SQLITE_TRANSIENT);
}

static void bind_now_text(sqlite3_stmt *q, int i) {
  char b[TBUF_SZ];
  au_time_fmt_us(au_now_real(), b);
  sqlite3_bind_text(q, i, b, -1, SQLITE_TRANSIENT);
}

/* Step a statement that returns no rows; *changes gets sqlite3_changes (may be NULL). */
static int step_done(struct sq *s, sqlite3_stmt *q, int *changes, struct au_err *err,
                     const char *what) {
  int src = sqlite3_step(q);
  int rc = 0;
  if (src != SQLITE_DONE && src != SQLITE_ROW)
    rc = fail(s, err, src, "%s", what);
  else if (changes)
    *changes = sqlite3_changes(s->db);
  sqlite3_finalize(q);
  return rc;
}

static int sq_job_create(struct au_store *st, struct au_job *job, const struct au_chunk_range *ch,
                         size_t n, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  if (!job || !job->table_key[0] || n == 0)
    return au_err_set(err, AU_E_INVAL, "a backfill job needs a table and at least one chunk");
  bool own = !in_tx(s);
  int rc = 0;
  if (own && (rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin job")))
    return rc;
  sqlite3_stmt *q = NULL;
  if ((rc = prepare(s,
                    "INSERT INTO aurum_backfill_jobs(table_key, range_start, range_end, chunk_days,"
                    " priority, max_attempts, max_concurrent, status, created_at, updated_at)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?8)",
                    &q, err, "create job")))
    goto out;
  sqlite3_bind_text(q, 1, job->table_key, -1, SQLITE_STATIC);
  bind_time_text(q, 2, job->range_start);
  bind_time_text(q, 3, job->range_end);
  sqlite3_bind_int(q, 4, job->chunk_days);
  sqlite3_bind_int(q, 5, job->priority);
  sqlite3_bind_int(q, 6, job->max_attempts > 0 ? job->max_attempts : 3);
  sqlite3_bind_int(q, 7, job->max_concurrent);
  bind_now_text(q, 8);
  if ((rc = step_done(s, q, NULL, err, "create job")))
    goto out;
  job->id = sqlite3_last_insert_rowid(s->db);
  if ((rc = prepare(s,
                    "INSERT INTO aurum_backfill_chunks(job_id, seq, range_start, range_end)"
                    " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    &q, err, "plan chunks")))
    goto out;
  for (size_t i = 0; i < n && rc == 0; i++) {
    sqlite3_bind_int64(q, 1, job->id);
    sqlite3_bind_int(q, 2, (int)i);
    bind_time_text(q, 3, ch[i].start);
    bind_time_text(q, 4, ch[i].end);
    int src = sqlite3_step(q);
    if (src != SQLITE_DONE)
      rc = fail(s, err, src, "plan chunk %zu", i);
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  if (rc == 0 && own)
    rc = exec_sql(s, "COMMIT", err, "commit job");
out:
  if (rc && own)
    rollback_quiet(s);
  if (rc == 0)
    snprintf(job->status, sizeof(job->status), "running");
  return rc;
}

static int job_query_one(struct sq *s, sqlite3_stmt *q, struct au_job *out, struct au_err *err,
                         const char *what) {
  int src = sqlite3_step(q);
  int rc = 0;
  if (src == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
    fill_job(q, out);
  else if (src == SQLITE_ROW || src == SQLITE_DONE)
    rc = au_err_set(err, AU_E_NOTFOUND, "%s: no such backfill job", what);
  else
    rc = fail(s, err, src, "%s", what);
  sqlite3_finalize(q);
  return rc;
}

static int sq_job_find(struct au_store *st, const char *table_key, au_time start, au_time end,
                       struct au_job *out, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "SELECT " JOB_COLS JOB_FROM
                   " WHERE j.table_key = ?1 AND j.range_start = ?2 AND j.range_end = ?3"
                   " AND j.status IN ('running', 'failed') GROUP BY j.id ORDER BY j.id DESC LIMIT 1",
                   &q, err, "find job");
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, table_key, -1, SQLITE_STATIC);
  bind_time_text(q, 2, start);
  bind_time_text(q, 3, end);
  return job_query_one(s, q, out, err, table_key);
}

static int sq_job_get(struct au_store *st, int64_t id, struct au_job *out, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s, "SELECT " JOB_COLS JOB_FROM " WHERE j.id = ?1 GROUP BY j.id", &q, err,
                   "read job");
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, id);
  char what[48];
  snprintf(what, sizeof(what), "job %lld", (long long)id);
  return job_query_one(s, q, out, err, what);
}

static int sq_job_list(struct au_store *st, int (*cb)(void *arg, const struct au_job *j),
                       void *arg, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s, "SELECT " JOB_COLS JOB_FROM " GROUP BY j.id ORDER BY j.id DESC", &q, err,
                   "list jobs");
  if (rc)
    return rc;
  struct au_job j;
  int src;
  while ((src = sqlite3_step(q)) == SQLITE_ROW) {
    fill_job(q, &j);
    if ((rc = cb(arg, &j)) != 0)
      break;
  }
  if (rc == 0 && src != SQLITE_DONE)
    rc = fail(s, err, src, "list jobs");
  sqlite3_finalize(q);
  return rc;
}

static int sq_job_set_status(struct au_store *st, int64_t id, const char *status,
                             struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s, "UPDATE aurum_backfill_jobs SET status = ?2, updated_at = ?3 WHERE id = ?1",
                   &q, err, "update job");
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
  bind_now_text(q, 3);
  int ch = 0;
  if ((rc = step_done(s, q, &ch, err, "update job")))
    return rc;
  if (ch == 0)
    return au_err_set(err, AU_E_NOTFOUND, "no backfill job %lld", (long long)id);
  return 0;
}

static int sq_job_retry(struct au_store *st, int64_t id, uint64_t *requeued, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  bool own = !in_tx(s);
  int rc = 0, ch = 0;
  if (own && (rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin retry")))
    return rc;
  sqlite3_stmt *q;
  if ((rc = prepare(s,
                    "UPDATE aurum_backfill_chunks SET status = 'pending', attempts = 0,"
                    " not_before = 0, worker = NULL, lease_until = NULL"
                    " WHERE job_id = ?1 AND status = 'failed'",
                    &q, err, "retry job")))
    goto out;
  sqlite3_bind_int64(q, 1, id);
  if ((rc = step_done(s, q, &ch, err, "retry job")))
    goto out;
  if ((rc = sq_job_set_status(st, id, "running", err)))
    goto out;
  if (own)
    rc = exec_sql(s, "COMMIT", err, "commit retry");
out:
  if (rc && own)
    rollback_quiet(s);
  if (rc == 0 && requeued)
    *requeued = (uint64_t)ch;
  return rc;
}

static int sq_chunk_list(struct au_store *st, int64_t job_id,
                         int (*cb)(void *arg, const struct au_chunk *c), void *arg,
                         struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s, "SELECT " CHUNK_COLS " FROM aurum_backfill_chunks WHERE job_id = ?1 ORDER BY seq",
                   &q, err, "list chunks");
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, job_id);
  struct au_chunk c;
  int src;
  while ((src = sqlite3_step(q)) == SQLITE_ROW) {
    fill_chunk(q, &c);
    if ((rc = cb(arg, &c)) != 0)
      break;
  }
  if (rc == 0 && src != SQLITE_DONE)
    rc = fail(s, err, src, "list chunks");
  sqlite3_finalize(q);
  return rc;
}

static int sq_chunk_claim(struct au_store *st, int64_t job_id, const char *worker, double lease,
                          struct au_chunk *out, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  int rc;
  if ((rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin claim")))
    return rc;
  sqlite3_stmt *q;
  rc = prepare(s,
               "UPDATE aurum_backfill_chunks SET status = 'running', attempts = attempts + 1,"
               " worker = ?1, lease_until = ?2, not_before = 0, started_at = ?5"
               " WHERE id = (SELECT c.id FROM aurum_backfill_chunks c"
               "  JOIN aurum_backfill_jobs j ON j.id = c.job_id"
               "  WHERE j.status = 'running' AND (?3 = 0 OR c.job_id = ?3)"
               "  AND ((c.status = 'pending' AND c.not_before <= ?4)"
               "    OR (c.status = 'running' AND c.lease_until < ?4))"
               "  AND (j.max_concurrent <= 0 OR (SELECT count(*) FROM aurum_backfill_chunks c2"
               "    JOIN aurum_backfill_jobs j2 ON j2.id = c2.job_id WHERE j2.table_key = j.table_key"
               "    AND c2.status = 'running' AND c2.lease_until >= ?4) < j.max_concurrent)"
               "  ORDER BY j.priority DESC, j.id, c.seq LIMIT 1)"
               " RETURNING " CHUNK_COLS,
               &q, err, "claim chunk");
  if (rc) {
    rollback_quiet(s);
    return rc;
  }
  au_time now = au_now_real();
  sqlite3_bind_text(q, 1, worker, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, now + (au_time)(lease * 1e6));
  sqlite3_bind_int64(q, 3, job_id);
  sqlite3_bind_int64(q, 4, now);
  bind_now_text(q, 5);
  int src = sqlite3_step(q);
  if (src == SQLITE_ROW)
    fill_chunk(q, out);
  else if (src == SQLITE_DONE)
    rc = au_err_set(err, AU_E_NOTFOUND, "no chunk to claim");
  else
    rc = fail(s, err, src, "claim chunk");
  sqlite3_finalize(q);
  if (rc == 0)
    rc = exec_sql(s, "COMMIT", err, "commit claim");
  if (rc)
    rollback_quiet(s);
  return rc;
}

static int sq_chunk_renew(struct au_store *st, int64_t id, const char *worker, double lease,
                          struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "UPDATE aurum_backfill_chunks SET lease_until = ?3"
                   " WHERE id = ?1 AND worker = ?2 AND status = 'running'",
                   &q, err, "renew lease");
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, worker, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, au_now_real() + (au_time)(lease * 1e6));
  int ch = 0;
  if ((rc = step_done(s, q, &ch, err, "renew lease")))
    return rc;
  return ch ? 0 : au_err_set(err, AU_E_NOTFOUND, "chunk %lld is no longer held by %s", (long long)id, worker);
}

static int sq_chunk_fail(struct au_store *st, int64_t id, const char *worker, const char *error,
                         au_time retry_at, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "UPDATE aurum_backfill_chunks SET status = CASE WHEN ?4 IS NULL THEN 'failed'"
                   " ELSE 'pending' END, not_before = coalesce(?4, 0), last_error = ?3,"
                   " lease_until = NULL, finished_at = CASE WHEN ?4 IS NULL THEN ?5 END"
                   " WHERE id = ?1 AND worker = ?2 AND status = 'running'",
                   &q, err, "record chunk failure");
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, worker, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, error ? error : "", -1, SQLITE_STATIC);
  if (retry_at != AU_TIME_NONE)
    sqlite3_bind_int64(q, 4, retry_at);
  else
    sqlite3_bind_null(q, 4);
  bind_now_text(q, 5);
  int ch = 0;
  if ((rc = step_done(s, q, &ch, err, "record chunk failure")))
    return rc;
  return ch ? 0 : au_err_set(err, AU_E_NOTFOUND, "chunk %lld is no longer held by %s", (long long)id, worker);
}

static int sq_chunk_release(struct au_store *st, int64_t id, const char *worker, au_time not_before,
                            struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "UPDATE aurum_backfill_chunks SET status = 'pending', attempts = max(attempts - 1, 0),"
                   " not_before = ?3, lease_until = NULL"
                   " WHERE id = ?1 AND (?2 IS NULL OR worker = ?2) AND status = 'running'",
                   &q, err, "release chunk");
  if (rc)
    return rc;
  sqlite3_bind_int64(q, 1, id);
  if (worker)
    sqlite3_bind_text(q, 2, worker, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 2);
  sqlite3_bind_int64(q, 3, not_before == AU_TIME_NONE ? 0 : not_before);
  int ch = 0;
  if ((rc = step_done(s, q, &ch, err, "release chunk")))
    return rc;
  return ch ? 0 : au_err_set(err, AU_E_NOTFOUND, "chunk %lld is not running", (long long)id);
}

static int sq_commit_chunk(struct au_store *st, const struct au_state_update *up,
                           const struct au_chunk_done *done, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  int rc = 0;
  if (!in_tx(s) && (rc = exec_sql(s, "BEGIN IMMEDIATE", err, "begin transaction")))
    return rc;
  if (up && (rc = state_upsert(s, up, err)))
    goto fail;
  if (done && done->chunk_id > 0) {
    sqlite3_stmt *q;
    if ((rc = prepare(s,
                      "UPDATE aurum_backfill_chunks SET status = 'done', rows = ?3, finished_at = ?4,"
                      " lease_until = NULL, last_error = NULL"
                      " WHERE id = ?1 AND status = 'running' AND worker = ?2",
                      &q, err, "record chunk done")))
      goto fail;
    sqlite3_bind_int64(q, 1, done->chunk_id);
    sqlite3_bind_text(q, 2, done->worker ? done->worker : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)done->rows);
    bind_now_text(q, 4);
    if ((rc = step_done(s, q, NULL, err, "record chunk done")))
      goto fail;
  }
  if ((rc = exec_sql(s, "COMMIT", err, "commit")) == 0)
    return 0;
fail:
  rollback_quiet(s);
  return rc;
}

static au_time hour_floor(au_time t) { return t - ((t % AU_HOUR) + AU_HOUR) % AU_HOUR; }

static int sq_quota_add(struct au_store *st, const char *dataset, au_time hour, uint64_t records,
                        uint64_t bytes, uint64_t requests, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "INSERT INTO aurum_quota_usage(dataset, hour, records, bytes, requests)"
                   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(dataset, hour) DO UPDATE SET"
                   " records = records + excluded.records, bytes = bytes + excluded.bytes,"
                   " requests = requests + excluded.requests",
                   &q, err, "record quota usage");
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, dataset, -1, SQLITE_STATIC);
  bind_time_text(q, 2, hour_floor(hour));
  sqlite3_bind_int64(q, 3, (sqlite3_int64)records);
  sqlite3_bind_int64(q, 4, (sqlite3_int64)bytes);
  sqlite3_bind_int64(q, 5, (sqlite3_int64)requests);
  return step_done(s, q, NULL, err, "record quota usage");
}

/* GCRA in one statement: the SET expressions read the row's old values. A row kept under
 * other limits (the config changed) starts afresh rather than making the new pace wait out
 * the old one. */
static int sq_rate_reserve(struct au_store *st, const char *key, au_time now, int64_t interval,
                           int64_t tolerance, int64_t spacing, int64_t *delay, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  if (now == AU_TIME_NONE)
    now = au_now_real();
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "INSERT INTO aurum_rate(rate_key, tat, last_start, interval_us, tolerance_us, spacing_us)"
                   " VALUES(?1, ?2 + ?3, ?2, ?3, ?4, ?5)"
                   " ON CONFLICT(rate_key) DO UPDATE SET"
                   " last_start = CASE WHEN interval_us = ?3 AND tolerance_us = ?4 AND spacing_us = ?5"
                   "  THEN max(?2, tat - ?4, last_start + ?5) ELSE ?2 END,"
                   " tat = CASE WHEN interval_us = ?3 AND tolerance_us = ?4 AND spacing_us = ?5"
                   "  THEN max(tat, ?2, last_start + ?5) + ?3 ELSE ?2 + ?3 END,"
                   " interval_us = ?3, tolerance_us = ?4, spacing_us = ?5"
                   " RETURNING last_start",
                   &q, err, "reserve a request slot");
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, now);
  sqlite3_bind_int64(q, 3, interval);
  sqlite3_bind_int64(q, 4, tolerance);
  sqlite3_bind_int64(q, 5, spacing);
  int src = sqlite3_step(q);
  if (src == SQLITE_ROW)
    *delay = sqlite3_column_int64(q, 0) - now;
  else
    rc = fail(s, err, src, "reserve a request slot for %s", key);
  sqlite3_finalize(q);
  return rc;
}

static void fill_quota(sqlite3_stmt *q, struct au_quota_usage *u) {
  memset(u, 0, sizeof(*u));
  copy_str(u->dataset, sizeof(u->dataset), sqlite3_column_text(q, 0));
  u->hour = parse_time_col(q, 1);
  u->records = (uint64_t)sqlite3_column_int64(q, 2);
  u->bytes = (uint64_t)sqlite3_column_int64(q, 3);
  u->requests = (uint64_t)sqlite3_column_int64(q, 4);
}

static int sq_quota_get(struct au_store *st, const char *dataset, au_time hour,
                        struct au_quota_usage *out, struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "SELECT dataset, hour, records, bytes, requests FROM aurum_quota_usage"
                   " WHERE dataset = ?1 AND hour = ?2",
                   &q, err, "read quota usage");
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, dataset, -1, SQLITE_STATIC);
  bind_time_text(q, 2, hour_floor(hour));
  int src = sqlite3_step(q);
  if (src == SQLITE_ROW) {
    fill_quota(q, out);
  } else if (src == SQLITE_DONE) {
    memset(out, 0, sizeof(*out));
    snprintf(out->dataset, sizeof(out->dataset), "%s", dataset);
    out->hour = hour_floor(hour);
  } else {
    rc = fail(s, err, src, "read quota usage");
  }
  sqlite3_finalize(q);
  return rc;
}

static int sq_quota_list(struct au_store *st, au_time since,
                         int (*cb)(void *arg, const struct au_quota_usage *u), void *arg,
                         struct au_err *err) {
  struct sq *s = (struct sq *)st;
  sqlite3_stmt *q;
  int rc = prepare(s,
                   "SELECT dataset, hour, records, bytes, requests FROM aurum_quota_usage"
                   " WHERE hour >= ?1 ORDER BY hour DESC, dataset",
                   &q, err, "list quota usage");
  if (rc)
    return rc;
  bind_time_text(q, 1, since == AU_TIME_NONE ? 0 : hour_floor(since));
  struct au_quota_usage u;
  int src;
  while ((src = sqlite3_step(q)) == SQLITE_ROW) {
    fill_quota(q, &u);
    if ((rc = cb(arg, &u)) != 0)
      break;
  }
  if (rc == 0 && src != SQLITE_DONE)
    rc = fail(s, err, src, "list quota usage");
  sqlite3_finalize(q);
  return rc;
}

static void sq_close(struct au_store *st) {
  struct sq *s = (struct sq *)st;
  if (!s)
    return;
  for (size_t i = 0; i < s->ntabs; i++) {
    tc_release(&s->tabs[i]);
    free(s->tabs[i].dest);
  }
  free(s->tabs);
  while (s->nlocks)
    drop_lock(s, s->nlocks - 1);
  free(s->locks);
  if (s->db) {
    rollback_quiet(s);
    sqlite3_close(s->db);
  }
  free(s->path);
  free(s);
}

const struct au_store_ops au_store_sqlite = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .ensure_table = sq_ensure_table,
    .begin = sq_begin,
    .write = sq_write,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .state_get = sq_state_get,
    .state_list = sq_state_list,
    .state_reset = sq_state_reset,
    .run_begin = sq_run_begin,
    .run_end = sq_run_end,
    .lock = sq_lock,
    .unlock = sq_unlock,
    .count_rows = sq_count_rows,
    .commit_chunk = sq_commit_chunk,
    .job_create = sq_job_create,
    .job_find = sq_job_find,
    .job_get = sq_job_get,
    .job_list = sq_job_list,
    .job_set_status = sq_job_set_status,
    .job_retry = sq_job_retry,
    .chunk_list = sq_chunk_list,
    .chunk_claim = sq_chunk_claim,
    .chunk_renew = sq_chunk_renew,
    .chunk_fail = sq_chunk_fail,
    .chunk_release = sq_chunk_release,
    .quota_add = sq_quota_add,
    .rate_reserve = sq_rate_reserve,
    .quota_get = sq_quota_get,
    .quota_list = sq_quota_list,
};

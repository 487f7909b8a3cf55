/* postgres.c - the PostgreSQL (and TimescaleDB) store.
 *
 * One libpq connection per store object; the session runs with TimeZone=UTC. aurum's own
 * tables (aurum_state, aurum_runs) are created by the numbered migrations below, recorded
 * in aurum_schema_migrations and applied under a transaction-scoped advisory lock, so
 * several processes opening a fresh database at once do not race.
 *
 * Data tables: timestamptz / double precision / bigint / boolean / text, PRIMARY KEY in key
 * order (au_schema_key_cols; UNIQUE NULLS NOT DISTINCT when a key column is nullable).
 * A time-series table (a NOT NULL key column flagged AU_COL_CURSOR) becomes a TimescaleDB
 * hypertable when the extension is available on the server, else a table range-partitioned
 * by that column with monthly partitions "<table>_pYYYYMM" created on demand before a
 * write (under an advisory transaction lock, so concurrent writers do not race).
 *
 * A write (SCD type 1, same rules as sqlite.c):
 *   0. fast path (no key repeated in the batch, every column of aurum's type, and the
 *      previous batch found no existing key): binary COPY of the rows, sorted by key,
 *      straight into the table under a savepoint - success means every row was new
 *      ("inserted"); a unique violation rolls back to the savepoint and continues with 1;
 *   1. COPY the batch (binary, key-sorted, see copy_binary) into a session TEMP
 *      staging table "aurum_stage_N" (rn = batch row, occ = occurrence of the key in
 *      the batch) - ON COMMIT DELETE ROWS, truncated when reused in one transaction;
 *   2. per key occurrence round (a key repeated in one batch is merged in batch order,
 *      as SQLite's row-by-row merge does) and per target (the table, or each monthly
 *      leaf partition - PG 15 cannot RETURN system columns through a partitioned parent):
 *        WITH m AS (INSERT INTO target AS t (...) SELECT ... FROM stage WHERE occ = $1 ...
 *                   ON CONFLICT (key) DO UPDATE SET <non-key> = excluded.<non-key>
 *                   WHERE (t.seq IS NULL OR t.seq <= excluded.seq)
 *                     AND (t.<values>) IS DISTINCT FROM (excluded.<values>)
 *                   RETURNING <key>, (t.xmax = 0) AS ins)
 *        SELECT s.rn, m.ins FROM m JOIN stage s ON <key> AND s.occ = $1
 *      rows returned are inserted (ins) or updated; the others are unchanged. A
 *      hypertable (chunks, no leaf access) computes "existed" with EXISTS in the same
 *      statement snapshot instead of xmax.
 * Equal sequence with different values updates (>=), as in SQLite. The watermark is
 * upserted with GREATEST() in the same transaction as the rows (commit).
 *
 * Backfill jobs (migration 3: aurum_backfill_jobs, aurum_backfill_chunks,
 * aurum_quota_usage): a work queue claimed with FOR UPDATE SKIP LOCKED under leases on
 * the server's clock; commit_chunk marks the chunk done in the rows' transaction. See the
 * section "backfill jobs" below.
 *
 * Locks: pg_try_advisory_lock(hashtext('aurum.sync:' || key)) on the store's session,
 * polled until the timeout. Errors: SQLSTATE class 08, 40001, 40P01, 57P0x, 53300 and a
 * lost connection are retryable; a lost connection is re-established (PQreset) before
 * the next operation, and the advisory locks held are re-taken.
 *
 * No value is pasted into SQL: rows go through COPY, everything else through
 * PQexecParams parameters; identifiers come from validated schema names and are quoted
 * (PQescapeIdentifier). Partition bounds are computed month starts. */
#include "core/au.h"
#include "core/batch.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AU_HAVE_LIBPQ

static int pg_open_unavailable(const char *url, struct au_store **out, struct au_err *err) {
  *out = NULL;
  return au_err_set(err, AU_E_UNSUPPORTED,
                    "this aurum was built without libpq (PostgreSQL support); cannot open %s",
                    url ? url : "(null)");
}
const struct au_store_ops au_store_postgres = {.scheme = "postgresql", .open = pg_open_unavailable};

#else

#include <libpq-fe.h>

#define SQL_MAX (1024u * 1024u)
#define LOCK_POLL 0.05
#define COPY_CHUNK (256u * 1024u)

/* --- migrations ---------------------------------------------------------------- */

struct migration {
  int version;
  const char *sql;
};

/* Append new migrations at the end; never edit an applied one. */
static const struct migration migrations[] = {
    {1, "CREATE TABLE IF NOT EXISTS aurum_state("
        " table_key text PRIMARY KEY,"
        " watermark timestamptz,"
        " details text NOT NULL DEFAULT '{}',"
        " updated_at timestamptz NOT NULL);"
        "CREATE TABLE IF NOT EXISTS aurum_runs("
        " id bigserial PRIMARY KEY,"
        " table_key text NOT NULL,"
        " started_at timestamptz NOT NULL,"
        " finished_at timestamptz,"
        " status text NOT NULL,"
        " rows_inserted bigint,"
        " rows_updated bigint,"
        " rows_unchanged bigint,"
        " requests bigint,"
        " batches bigint,"
        " error text);"
        "CREATE INDEX IF NOT EXISTS aurum_runs_table_key ON aurum_runs(table_key, id);"},
    {2, "ALTER TABLE aurum_state ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL"
        " DEFAULT now();"
        "CREATE INDEX IF NOT EXISTS aurum_runs_status ON aurum_runs(status, id);"},
    /* backfill jobs, their chunks (a work queue with leases) and quota usage per hour;
     * the same tables and columns as sqlite.c's migration 2 */
    {3, "CREATE TABLE IF NOT EXISTS aurum_backfill_jobs("
        " id bigserial PRIMARY KEY,"
        " table_key text NOT NULL,"
        " range_start timestamptz NOT NULL,"
        " range_end timestamptz NOT NULL,"
        " chunk_days integer NOT NULL,"
        " priority integer NOT NULL DEFAULT 0,"
        " max_attempts integer NOT NULL DEFAULT 3,"
        " max_concurrent integer NOT NULL DEFAULT 0,"
        " status text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now());"
        "CREATE INDEX IF NOT EXISTS aurum_backfill_jobs_find"
        " ON aurum_backfill_jobs(table_key, range_start, range_end);"
        "CREATE TABLE IF NOT EXISTS aurum_backfill_chunks("
        " id bigserial PRIMARY KEY,"
        " job_id bigint NOT NULL REFERENCES aurum_backfill_jobs(id) ON DELETE CASCADE,"
        " seq integer NOT NULL,"
        " range_start timestamptz NOT NULL,"
        " range_end timestamptz NOT NULL,"
        " status text NOT NULL DEFAULT 'pending',"
        " attempts integer NOT NULL DEFAULT 0,"
        " rows bigint NOT NULL DEFAULT 0,"
        " last_error text,"
        " worker text,"
        " lease_until timestamptz,"
        " not_before timestamptz,"
        " started_at timestamptz,"
        " finished_at timestamptz,"
        " UNIQUE(job_id, range_start));"
        "CREATE INDEX IF NOT EXISTS aurum_backfill_chunks_claim"
        " ON aurum_backfill_chunks(status, job_id, seq);"
        "CREATE TABLE IF NOT EXISTS aurum_quota_usage("
        " dataset text NOT NULL,"
        " hour timestamptz NOT NULL,"
        " records bigint NOT NULL DEFAULT 0,"
        " bytes bigint NOT NULL DEFAULT 0,"
        " requests bigint NOT NULL DEFAULT 0,"
        " PRIMARY KEY(dataset, hour));"},
    /* request pacing shared by processes and hosts (rate_reserve): microseconds since the epoch */
    {4, "CREATE TABLE IF NOT EXISTS aurum_rate("
        " rate_key text PRIMARY KEY,"
        " tat bigint NOT NULL,"
        " last_start bigint NOT NULL,"
        " interval_us bigint NOT NULL,"
        " tolerance_us bigint NOT NULL,"
        " spacing_us bigint NOT NULL);"},
};

/* --- store object -------------------------------------------------------------- */

enum layout { L_PLAIN = 0, L_PARTITIONED = 1, L_HYPERTABLE = 2 };

struct tcache {
  char *dest;
  const struct au_schema *schema;
  int ncols, seq_col;
  enum layout layout;
  int part_col;         /* partition / hypertable time column, or -1 */
  int nkey;
  int *key;             /* key columns in key order */
  bool *is_key;
  char *qtable;         /* quoted "schema"."table" */
  char *qschema;        /* quoted schema or NULL */
  char *tname;          /* bare table name */
  char **qcol;          /* quoted column names */
  bool types_ok;        /* every column has exactly aurum's type: binary COPY into it */
  bool try_direct;      /* next batch: try COPY straight into the table (see pg_write) */
  int stage_id;         /* aurum_stage_<id> */
  bool stage_exists;    /* created in this session (and committed or in this tx) */
  bool stage_new_in_tx; /* created in the open transaction */
  bool stage_used_in_tx;
  int32_t *months;      /* confirmed partitions (year*12 + month-1), sorted */
  size_t nmonths, capmonths;
  int32_t *pending;     /* created in the open transaction */
  size_t npending, cappending;
};

struct held_lock {
  char *key;
  int refs;
};

struct pg {
  struct au_store base;
  PGconn *conn;
  struct tcache *tabs;
  size_t ntabs, captabs;
  struct held_lock *locks;
  size_t nlocks, caplocks;
  int next_stage;
  int timescale; /* -1 unknown, 0 no, 1 available */
};

const struct au_store_ops au_store_postgres;

/* Test hook: force the EXISTS-based outcome detection on every table. */
static bool force_exists(void) {
  const char *e = getenv("AURUM_PG_FORCE_EXISTS");
  return e && *e == '1';
}

/* --- errors -------------------------------------------------------------------- */

static bool conn_bad(struct pg *s) { return !s->conn || PQstatus(s->conn) == CONNECTION_BAD; }

static bool sqlstate_retryable(const char *st) {
  if (!st)
    return false;
  return strncmp(st, "08", 2) == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
         strncmp(st, "57P0", 4) == 0 || strcmp(st, "53300") == 0 || strcmp(st, "55P03") == 0;
}

/* Record AU_E_STORE "postgresql <context>: <server message>" (retryable when the
 * connection is gone or the SQLSTATE says so). res may be NULL. */
AU_PRINTF(4, 5)
static int fail(struct pg *s, struct au_err *err, const PGresult *res, const char *fmt, ...) {
  char ctx[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof(ctx), fmt, ap);
  va_end(ap);
  const char *msg = res ? PQresultErrorMessage(res) : NULL;
  if (!msg || !*msg)
    msg = s->conn ? PQerrorMessage(s->conn) : "no connection";
  if (!msg || !*msg)
    msg = "unknown error";
  char m[900];
  snprintf(m, sizeof(m), "%s", msg);
  for (size_t n = strlen(m); n && (m[n - 1] == '\n' || m[n - 1] == ' '); n--)
    m[n - 1] = 0;
  for (char *p = m; *p; p++)
    if (*p == '\n')
      *p = ' ';
  const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  bool retry = conn_bad(s) || sqlstate_retryable(st) || !res;
  if (retry)
    return au_err_set_retry(err, AU_E_STORE, "postgresql %s: %s%s", ctx, m,
                            conn_bad(s) ? " (connection lost; will reconnect)" : "");
  return au_err_set(err, AU_E_STORE, "postgresql %s: %s", ctx, m);
}

/* Run a statement without result rows. */
static int exec_cmd(struct pg *s, const char *sql, struct au_err *err, const char *what) {
  PGresult *r = PQexec(s->conn, sql);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  int rc = 0;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    rc = fail(s, err, r, "%s", what);
  PQclear(r);
  return rc;
}

/* PQexecParams with text parameters; returns the result (caller PQclears) or NULL with
 * err set. */
static PGresult *exec_params(struct pg *s, const char *sql, int n, const char *const *vals,
                             struct au_err *err, const char *what) {
  PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    fail(s, err, r, "%s", what);
    PQclear(r);
    return NULL;
  }
  return r;
}

static bool in_tx(struct pg *s) {
  if (!s->conn)
    return false;
  PGTransactionStatusType t = PQtransactionStatus(s->conn);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* --- identifiers ------------------------------------------------------------- */

static char *quote_ident(struct pg *s, const char *name, size_t len) {
  char *q = PQescapeIdentifier(s->conn, name, len);
  if (!q)
    return NULL;
  char *out = au_xstrdup(q);
  PQfreemem(q);
  return out;
}

struct sqlb {
  struct au_buf b;
  int rc;
};
#define SB(sb, ...)                                                                         \
  do {                                                                                      \
    if ((sb)->rc == 0)                                                                      \
      (sb)->rc = au_buf_printf(&(sb)->b, __VA_ARGS__);                                      \
  } while (0)

static const char *sql_type(enum au_type t) {
  switch (t) {
  case AU_T_TIME:
  case AU_T_TIMESTAMP:
    return "timestamptz";
  case AU_T_DOUBLE:
    return "double precision";
  case AU_T_INT:
    return "bigint";
  case AU_T_BOOL:
    return "boolean";
  case AU_T_TEXT:
    break;
  }
  return "text";
}

/* sql_type() as format_type() prints it. */
static const char *sql_type_name(enum au_type t) {
  return t == AU_T_TIME || t == AU_T_TIMESTAMP ? "timestamp with time zone" : sql_type(t);
}

static int check_ref(const struct au_table_ref *t, struct au_err *err) {
  if (t && t->dest && au_ident_valid(t->dest)) {
    const char *dot = strchr(t->dest, '.');
    if (strlen(dot ? dot + 1 : t->dest) > 63 || (dot && dot - t->dest > 63))
      return au_err_set(err, AU_E_INVAL, "destination table name '%s' is longer than 63 bytes",
                        t->dest);
  }
  return au_store_check_ref(t, 63, err); /* PostgreSQL identifiers: at most 63 bytes */
}


/* The time column a table is partitioned by: the first NOT NULL key column flagged
 * AU_COL_CURSOR with a time type, or -1. */
static int cursor_key_col(const struct au_schema *sc, const bool *is_key) {
  for (int c = 0; c < sc->ncols; c++) {
    const struct au_column *col = &sc->cols[c];
    if ((col->flags & AU_COL_CURSOR) && is_key[c] && !(col->flags & AU_COL_NULLABLE) &&
        (col->type == AU_T_TIME || col->type == AU_T_TIMESTAMP))
      return c;
  }
  return -1;
}

/* Which layout a new table gets (exported for the unit test of the branch selection). */
int au_pg_layout_for(const struct au_table_ref *t, bool timescale_available);
int au_pg_layout_for(const struct au_table_ref *t, bool timescale_available) {
  int *order;
  bool *is_key;
  au_store_key_cols(t->schema, &order, &is_key);
  int pc = cursor_key_col(t->schema, is_key);
  free(order);
  free(is_key);
  if (pc < 0)
    return L_PLAIN;
  return timescale_available ? L_HYPERTABLE : L_PARTITIONED;
}

/* --- connection ------------------------------------------------------------------ */

static int session_setup(struct pg *s, struct au_err *err) {
  return exec_cmd(s,
                  "SET TimeZone = 'UTC'; SET client_min_messages = warning;"
                  " SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1;"
                  " SET work_mem = '64MB'", /* in-memory hash join of RETURNING rows */
                  err, "configure session");
}

static void tx_forget(struct pg *s, bool committed);

/* Re-take the advisory locks held before a reconnect. */
static int relock(struct pg *s, struct au_err *err) {
  for (size_t i = 0; i < s->nlocks; i++) {
    const char *v[1] = {s->locks[i].key};
    PGresult *r = exec_params(s, "SELECT pg_try_advisory_lock(hashtext('aurum.sync:' || $1))", 1,
                              v, err, "re-take lock");
    if (!r)
      return AU_E_STORE;
    bool got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!got)
      return au_err_set(err, AU_E_LOCK,
                        "table %s: lost the PostgreSQL connection and another aurum process "
                        "took the table's lock meanwhile",
                        s->locks[i].key);
  }
  return 0;
}

/* Make sure the connection is usable: after a lost connection, reconnect (PQreset),
 * reconfigure the session, forget session-scoped objects and re-take the locks. */
static int ensure_conn(struct pg *s, struct au_err *err) {
  if (!conn_bad(s))
    return 0;
  PQreset(s->conn);
  if (PQstatus(s->conn) != CONNECTION_OK) {
    char m[600];
    snprintf(m, sizeof(m), "%s", PQerrorMessage(s->conn));
    for (size_t n = strlen(m); n && (m[n - 1] == '\n' || m[n - 1] == ' '); n--)
      m[n - 1] = 0;
    return au_err_set_retry(err, AU_E_STORE, "postgresql: connection lost and reconnect failed: %s",
                            m);
  }
  tx_forget(s, false);
  for (size_t i = 0; i < s->ntabs; i++)
    s->tabs[i].stage_exists = false;
  int rc = session_setup(s, err);
  if (rc == 0)
    rc = relock(s, err);
  return rc;
}

/* --- migrations ---------------------------------------------------------------- */

static int migrate(struct pg *s, int upto, struct au_err *err) {
  int rc = exec_cmd(s, "BEGIN", err, "begin migration");
  if (rc)
    return rc;
  rc = exec_cmd(s,
                "SELECT pg_advisory_xact_lock(hashtext('aurum.migrations'));"
                "CREATE TABLE IF NOT EXISTS aurum_schema_migrations("
                " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                err, "create aurum_schema_migrations");
  if (rc)
    goto out;
  PGresult *r =
      exec_params(s, "SELECT coalesce(max(version), 0) FROM aurum_schema_migrations", 0, NULL, err,
                  "read schema version");
  if (!r) {
    rc = AU_E_STORE;
    goto out;
  }
  int have = atoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  for (size_t i = 0; i < AU_ARRAY_LEN(migrations); i++) {
    const struct migration *m = &migrations[i];
    if (m->version <= have || (upto > 0 && m->version > upto))
      continue;
    char what[64], ver[16];
    snprintf(what, sizeof(what), "migration %d", m->version);
    snprintf(ver, sizeof(ver), "%d", m->version);
    if ((rc = exec_cmd(s, m->sql, err, what)))
      goto out;
    const char *v[1] = {ver};
    r = exec_params(s, "INSERT INTO aurum_schema_migrations(version) VALUES($1::integer)", 1, v,
                    err, what);
    if (!r) {
      rc = AU_E_STORE;
      goto out;
    }
    PQclear(r);
  }
  rc = exec_cmd(s, "COMMIT", err, "commit migrations");
out:
  if (rc && in_tx(s))
    PQclear(PQexec(s->conn, "ROLLBACK"));
  return rc;
}

static void pg_close(struct au_store *st);

/* "postgresql:rest" without "//" is taken as a key=value conninfo "rest". */
static const char *conninfo_of(const char *url) {
  if (strncmp(url, "postgresql:", 11) == 0 && strncmp(url + 11, "//", 2) != 0)
    return url + 11;
  if (strncmp(url, "postgres:", 9) == 0 && strncmp(url + 9, "//", 2) != 0)
    return url + 9;
  return url;
}

/* Open and migrate up to version `upto` (0 = all). Exported for the migration test. */
int au_pg_open_upto(const char *url, int upto, struct au_store **out, struct au_err *err);
int au_pg_open_upto(const char *url, int upto, struct au_store **out, struct au_err *err) {
  *out = NULL;
  if (!url || !*url)
    return au_err_set(err, AU_E_CONFIG, "postgresql: empty connection string");
  const char *ci = conninfo_of(url);
  const char *keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
  const char *vals[] = {"10", ci, "aurum", NULL};
  struct pg *s = au_xcalloc(1, sizeof(*s));
  s->base.ops = &au_store_postgres;
  s->timescale = -1;
  s->conn = PQconnectdbParams(keys, vals, 1);
  if (!s->conn) {
    free(s);
    return au_err_set(err, AU_E_NOMEM, "postgresql: cannot allocate a connection");
  }
  int rc;
  if (PQstatus(s->conn) != CONNECTION_OK) {
    char m[600];
    snprintf(m, sizeof(m), "%s", PQerrorMessage(s->conn));
    for (size_t n = strlen(m); n && (m[n - 1] == '\n' || m[n - 1] == ' '); n--)
      m[n - 1] = 0;
    for (char *p = m; *p; p++)
      if (*p == '\n')
        *p = ' ';
    /* do not echo a password from the URL */
    rc = au_err_set_retry(err, AU_E_STORE, "postgresql: cannot connect to %s@%s:%s/%s: %s",
                          PQuser(s->conn) ? PQuser(s->conn) : "", PQhost(s->conn) ? PQhost(s->conn) : "",
                          PQport(s->conn) ? PQport(s->conn) : "", PQdb(s->conn) ? PQdb(s->conn) : "", m);
    pg_close(&s->base);
    return rc;
  }
  if (PQserverVersion(s->conn) < 150000) {
    rc = au_err_set(err, AU_E_UNSUPPORTED, "postgresql: server version %d is older than 15",
                    PQserverVersion(s->conn));
    pg_close(&s->base);
    return rc;
  }
  rc = session_setup(s, err);
  if (rc == 0)
    rc = migrate(s, upto, err);
  if (rc) {
    au_err_prefix(err, "%s", PQdb(s->conn) ? PQdb(s->conn) : "postgresql");
    pg_close(&s->base);
    return rc;
  }
  *out = &s->base;
  return 0;
}

static int pg_open(const char *url, struct au_store **out, struct au_err *err) {
  return au_pg_open_upto(url, 0, out, err);
}

/* --- table cache ---------------------------------------------------------------- */

static void tc_free_names(struct tcache *tc) {
  free(tc->key);
  free(tc->is_key);
  free(tc->qtable);
  free(tc->qschema);
  free(tc->tname);
  if (tc->qcol)
    for (int c = 0; c < tc->ncols; c++)
      free(tc->qcol[c]);
  free(tc->qcol);
  tc->key = NULL;
  tc->is_key = NULL;
  tc->qtable = tc->qschema = tc->tname = NULL;
  tc->qcol = NULL;
}

static struct tcache *tc_find(struct pg *s, const char *dest) {
  for (size_t i = 0; i < s->ntabs; i++)
    if (strcmp(s->tabs[i].dest, dest) == 0)
      return &s->tabs[i];
  return NULL;
}

/* (Re)bind the cache entry of t->dest to t's schema (names, key). */
static struct tcache *tc_bind(struct pg *s, const struct au_table_ref *t) {
  struct tcache *tc = tc_find(s, t->dest);
  if (!tc) {
    if (s->ntabs == s->captabs) {
      s->captabs = s->captabs ? s->captabs * 2 : 8;
      s->tabs = au_xrealloc(s->tabs, s->captabs * sizeof(*s->tabs));
    }
    tc = &s->tabs[s->ntabs++];
    memset(tc, 0, sizeof(*tc));
    tc->dest = au_xstrdup(t->dest);
    tc->stage_id = ++s->next_stage;
    tc->part_col = -1;
  }
  if (tc->schema == t->schema && tc->ncols == t->schema->ncols && tc->seq_col == t->seq_col &&
      tc->qtable)
    return tc;
  tc_free_names(tc);
  const struct au_schema *sc = t->schema;
  tc->schema = sc;
  tc->ncols = sc->ncols;
  tc->seq_col = t->seq_col;
  tc->nkey = au_store_key_cols(sc, &tc->key, &tc->is_key);
  const char *dot = strchr(t->dest, '.');
  const char *tn = dot ? dot + 1 : t->dest;
  tc->tname = au_xstrdup(tn);
  char *qt = quote_ident(s, tn, strlen(tn));
  if (dot) {
    tc->qschema = quote_ident(s, t->dest, (size_t)(dot - t->dest));
    size_t n = strlen(tc->qschema) + strlen(qt) + 2;
    tc->qtable = au_xmalloc(n);
    snprintf(tc->qtable, n, "%s.%s", tc->qschema, qt);
    free(qt);
  } else {
    tc->qtable = qt;
  }
  tc->qcol = au_xcalloc((size_t)sc->ncols, sizeof(char *));
  for (int c = 0; c < sc->ncols; c++)
    tc->qcol[c] = quote_ident(s, sc->cols[c].name, strlen(sc->cols[c].name));
  /* a schema change recreates the staging table under a new name */
  tc->stage_id = ++s->next_stage;
  tc->try_direct = true;
  tc->types_ok = false; /* until ensure_table has looked */
  tc->stage_exists = false;
  return tc;
}

/* --- ensure_table ------------------------------------------------------------- */

static int timescale_available(struct pg *s, struct au_err *err) {
  if (s->timescale >= 0)
    return s->timescale;
  const char *e = getenv("AURUM_PG_TIMESCALE");
  if (e && (*e == '0' || *e == '1')) { /* "0": never use it; "1": assume it */
    s->timescale = *e == '1';
    return s->timescale;
  }
  PGresult *r = exec_params(s, "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'",
                            0, NULL, err, "detect timescaledb");
  if (!r)
    return AU_E_STORE;
  s->timescale = PQntuples(r) > 0;
  PQclear(r);
  return s->timescale;
}

/* "schema.table" text for to_regclass / catalog lookups (quoted identifiers). */
static const char *regname(const struct tcache *tc) { return tc->qtable; }

struct colinfo {
  char **names;
  char **types; /* format_type() */
  bool *notnull;
  size_t n;
};

static void colinfo_free(struct colinfo *ci) {
  for (size_t i = 0; i < ci->n; i++) {
    free(ci->names[i]);
    free(ci->types[i]);
  }
  free(ci->names);
  free(ci->types);
  free(ci->notnull);
  memset(ci, 0, sizeof(*ci));
}

/* Existing columns and relkind ('r', 'p', 0 when missing). */
static int inspect(struct pg *s, const struct tcache *tc, struct colinfo *ci, char *relkind,
                   struct au_err *err) {
  const char *v[1] = {regname(tc)};
  *relkind = 0;
  PGresult *r = exec_params(s, "SELECT relkind FROM pg_class WHERE oid = to_regclass($1)", 1, v,
                            err, "inspect table");
  if (!r)
    return AU_E_STORE;
  if (PQntuples(r) == 1)
    *relkind = PQgetvalue(r, 0, 0)[0];
  PQclear(r);
  if (!*relkind)
    return 0;
  r = exec_params(s,
                  "SELECT attname, attnotnull, format_type(atttypid, atttypmod) FROM pg_attribute"
                  " WHERE attrelid = to_regclass($1)"
                  " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                  1, v, err, "inspect columns");
  if (!r)
    return AU_E_STORE;
  int n = PQntuples(r);
  ci->names = au_xcalloc((size_t)n + 1, sizeof(char *));
  ci->types = au_xcalloc((size_t)n + 1, sizeof(char *));
  ci->notnull = au_xcalloc((size_t)n + 1, sizeof(bool));
  for (int i = 0; i < n; i++) {
    ci->names[i] = au_xstrdup(PQgetvalue(r, i, 0));
    ci->types[i] = au_xstrdup(PQgetvalue(r, i, 2));
    ci->notnull[i] = PQgetvalue(r, i, 1)[0] == 't';
  }
  ci->n = (size_t)n;
  PQclear(r);
  return 0;
}

static bool is_hypertable(struct pg *s, const struct tcache *tc) {
  PGresult *r = PQexec(s->conn, "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
  bool have = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
  PQclear(r);
  if (!have)
    return false;
  const char *dot = strchr(tc->dest, '.');
  char schema[128];
  snprintf(schema, sizeof(schema), "%.*s", dot ? (int)(dot - tc->dest) : 0, tc->dest);
  const char *v[2] = {dot ? schema : "", tc->tname};
  r = PQexecParams(s->conn,
                   "SELECT 1 FROM _timescaledb_catalog.hypertable WHERE table_name = $2 AND"
                   " schema_name = CASE WHEN $1 = '' THEN current_schema() ELSE $1 END",
                   2, NULL, v, NULL, NULL, 0);
  bool yes = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
  PQclear(r);
  return yes;
}

/* CREATE TABLE text for a layout (exported for the unit test). Returns 0 or AU_E_TOOBIG. */
static int create_sql(const struct tcache *tc, enum layout lay, struct au_buf *out) {
  const struct au_schema *sc = tc->schema;
  struct sqlb sb = {*out, 0};
  SB(&sb, "CREATE TABLE IF NOT EXISTS %s (", tc->qtable);
  bool null_key = false;
  for (int c = 0; c < sc->ncols; c++) {
    const struct au_column *col = &sc->cols[c];
    SB(&sb, "%s%s %s%s", c ? ", " : "", tc->qcol[c], sql_type(col->type),
       (col->flags & AU_COL_NULLABLE) ? "" : " NOT NULL");
    if (tc->is_key[c] && (col->flags & AU_COL_NULLABLE))
      null_key = true;
  }
  if (tc->nkey) {
    SB(&sb, null_key ? ", UNIQUE NULLS NOT DISTINCT (" : ", PRIMARY KEY (");
    for (int i = 0; i < tc->nkey; i++)
      SB(&sb, "%s%s", i ? ", " : "", tc->qcol[tc->key[i]]);
    SB(&sb, ")");
  }
  SB(&sb, ")");
  if (lay == L_PARTITIONED)
    SB(&sb, " PARTITION BY RANGE (%s)", tc->qcol[tc->part_col]);
  *out = sb.b;
  return sb.rc ? AU_E_TOOBIG : 0;
}

/* Exported for the unit test: the CREATE TABLE statement ensure_table would run for t
 * with the given layout (caller frees). */
char *au_pg_create_sql(const struct au_table_ref *t, int layout);
char *au_pg_create_sql(const struct au_table_ref *t, int layout) {
  struct tcache tc;
  memset(&tc, 0, sizeof(tc));
  tc.schema = t->schema;
  tc.ncols = t->schema->ncols;
  tc.nkey = au_store_key_cols(t->schema, &tc.key, &tc.is_key);
  tc.part_col = cursor_key_col(t->schema, tc.is_key);
  size_t n = strlen(t->dest) + 8;
  tc.qtable = au_xmalloc(n);
  const char *dot = strchr(t->dest, '.');
  if (dot)
    snprintf(tc.qtable, n, "\"%.*s\".\"%s\"", (int)(dot - t->dest), t->dest, dot + 1);
  else
    snprintf(tc.qtable, n, "\"%s\"", t->dest);
  tc.qcol = au_xcalloc((size_t)tc.ncols, sizeof(char *));
  for (int c = 0; c < tc.ncols; c++) {
    size_t l = strlen(t->schema->cols[c].name) + 3;
    tc.qcol[c] = au_xmalloc(l);
    snprintf(tc.qcol[c], l, "\"%s\"", t->schema->cols[c].name);
  }
  struct au_buf b = AU_BUF_INIT(SQL_MAX);
  char *out = NULL;
  if (tc.part_col >= 0 || layout == L_PLAIN) {
    if (create_sql(&tc, (enum layout)layout, &b) == 0)
      out = au_buf_detach(&b, NULL);
  }
  au_buf_release(&b);
  tc_free_names(&tc);
  return out;
}

static int pg_ensure_table(struct au_store *st, const struct au_table_ref *t,
                           struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = check_ref(t, err);
  if (rc)
    return rc;
  if ((rc = ensure_conn(s, err)))
    return rc;
  if (in_tx(s))
    return au_err_set(err, AU_E_INVAL, "postgresql: ensure_table inside a transaction");
  struct tcache *tc = tc_bind(s, t);
  const struct au_schema *sc = t->schema;
  int part = cursor_key_col(sc, tc->is_key);

  if ((rc = exec_cmd(s, "BEGIN", err, "begin")))
    return rc;
  /* DDL of concurrent aurum processes is serialised by one transaction-scoped lock */
  if ((rc = exec_cmd(s, "SELECT pg_advisory_xact_lock(hashtext('aurum.ddl'))", err, "ddl lock")))
    goto out;
  if (tc->qschema) {
    char sql[256];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", tc->qschema);
    if ((rc = exec_cmd(s, sql, err, "create schema")))
      goto out;
  }
  struct colinfo ci = {0};
  char relkind = 0;
  if ((rc = inspect(s, tc, &ci, &relkind, err)))
    goto out;
  if (!relkind) {
    enum layout lay = L_PLAIN;
    if (part >= 0) {
      int ts = timescale_available(s, err);
      if (ts < 0) {
        rc = ts;
        goto out;
      }
      lay = ts ? L_HYPERTABLE : L_PARTITIONED;
    }
    tc->part_col = part;
    struct au_buf b = AU_BUF_INIT(SQL_MAX);
    if (create_sql(tc, lay, &b))
      rc = au_err_set(err, AU_E_TOOBIG, "table %s: CREATE TABLE statement too long", t->dest);
    else
      rc = exec_cmd(s, b.ptr, err, "create table");
    au_buf_release(&b);
    if (rc == 0 && lay == L_HYPERTABLE) {
      rc = exec_cmd(s, "CREATE EXTENSION IF NOT EXISTS timescaledb", err, "create extension");
      const char *v[2] = {tc->qtable, sc->cols[part].name};
      PGresult *r = rc ? NULL
                       : exec_params(s,
                                     "SELECT create_hypertable($1::regclass, $2::name,"
                                     " if_not_exists => TRUE)",
                                     2, v, err, "create hypertable");
      if (!r && rc == 0)
        rc = AU_E_STORE;
      PQclear(r);
    }
    tc->layout = lay;
    tc->types_ok = true;
  } else {
    /* binary COPY straight into the table only when every column has aurum's type */
    tc->types_ok = true;
    for (int c = 0; c < sc->ncols; c++)
      for (size_t i = 0; i < ci.n; i++)
        if (strcmp(ci.names[i], sc->cols[c].name) == 0 &&
            strcmp(ci.types[i], sql_type_name(sc->cols[c].type)) != 0)
          tc->types_ok = false;
    tc->layout = relkind == 'p' ? L_PARTITIONED : (is_hypertable(s, tc) ? L_HYPERTABLE : L_PLAIN);
    tc->part_col = tc->layout == L_PLAIN ? -1 : part;
    if (tc->layout != L_PLAIN && part < 0)
      rc = au_err_set(err, AU_E_STORE,
                      "table %s is partitioned but the schema has no NOT NULL cursor key column",
                      t->dest);
    /* Schema evolution: add new nullable columns; a new NOT NULL column needs a human. */
    for (int c = 0; c < sc->ncols && rc == 0; c++) {
      const struct au_column *col = &sc->cols[c];
      bool have = false;
      for (size_t i = 0; i < ci.n && !have; i++)
        have = strcmp(ci.names[i], col->name) == 0;
      if (have)
        continue;
      if (!(col->flags & AU_COL_NULLABLE)) {
        rc = au_err_set(err, AU_E_STORE,
                        "postgresql table %s exists without the NOT NULL column \"%s\"; it "
                        "cannot be added to existing rows (migrate or drop the table)",
                        t->dest, col->name);
        break;
      }
      char sql[512];
      snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", tc->qtable,
               tc->qcol[c], sql_type(col->type));
      rc = exec_cmd(s, sql, err, "add column");
      if (rc)
        au_err_prefix(err, "column %s", col->name);
    }
  }
  colinfo_free(&ci);
  if (rc == 0)
    rc = exec_cmd(s, "COMMIT", err, "commit");
out:
  if (rc) {
    if (in_tx(s))
      PQclear(PQexec(s->conn, "ROLLBACK"));
    au_err_prefix(err, "%s", t->dest);
    tc->schema = NULL; /* rebind next time */
    free(tc->qtable);
    tc->qtable = NULL;
  }
  return rc;
}

/* --- transactions ------------------------------------------------------------ */

/* End-of-transaction bookkeeping for session objects created inside it. */
static void tx_forget(struct pg *s, bool committed) {
  for (size_t i = 0; i < s->ntabs; i++) {
    struct tcache *tc = &s->tabs[i];
    if (tc->stage_new_in_tx && !committed)
      tc->stage_exists = false;
    tc->stage_new_in_tx = false;
    tc->stage_used_in_tx = false;
    if (committed) {
      for (size_t k = 0; k < tc->npending; k++) {
        if (tc->nmonths == tc->capmonths) {
          tc->capmonths = tc->capmonths ? tc->capmonths * 2 : 16;
          tc->months = au_xrealloc(tc->months, tc->capmonths * sizeof(int32_t));
        }
        tc->months[tc->nmonths++] = tc->pending[k];
      }
    }
    tc->npending = 0;
  }
}

static int pg_begin(struct au_store *st, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  return exec_cmd(s, "BEGIN", err, "begin transaction");
}

static void pg_rollback(struct au_store *st) {
  struct pg *s = (struct pg *)st;
  if (!conn_bad(s) && in_tx(s))
    PQclear(PQexec(s->conn, "ROLLBACK"));
  tx_forget(s, false);
}

/* --- partitions -------------------------------------------------------------- */

static int month_of(au_time t) {
  struct au_civil c;
  au_time_to_civil(t, &c);
  return c.year * 12 + (c.month - 1);
}

static au_time month_start(int m) { return au_time_utc(m / 12, m % 12 + 1, 1, 0, 0, 0); }

static bool has_month(const int32_t *v, size_t n, int m) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == m)
      return true;
  return false;
}

/* Quoted name of the leaf partition of month m: "<table>_pYYYYMM" (table names longer
 * than 54 bytes are cut and suffixed with a hash to stay within 63). */
static char *part_name(struct pg *s, const struct tcache *tc, int m, bool qualified) {
  char name[80];
  size_t tl = strlen(tc->tname);
  if (tl <= 54) {
    snprintf(name, sizeof(name), "%s_p%04d%02d", tc->tname, m / 12, m % 12 + 1);
  } else {
    uint32_t h = 2166136261u;
    for (const char *p = tc->tname; *p; p++)
      h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(name, sizeof(name), "%.40s_%08x_p%04d%02d", tc->tname, h, m / 12, m % 12 + 1);
  }
  char *q = quote_ident(s, name, strlen(name));
  if (!qualified || !tc->qschema)
    return q;
  size_t n = strlen(tc->qschema) + strlen(q) + 2;
  char *out = au_xmalloc(n);
  snprintf(out, n, "%s.%s", tc->qschema, q);
  free(q);
  return out;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* The months of the batch's partition column (sorted, distinct). */
static int32_t *batch_months(const struct tcache *tc, const struct au_batch *b, size_t *n) {
  size_t cap = 8, k = 0;
  int32_t *v = au_xmalloc(cap * sizeof(int32_t));
  int last = INT32_MIN;
  for (size_t r = 0; r < b->nrows; r++) {
    if (b->nulls[tc->part_col][r])
      continue;
    int m = month_of(b->cols[tc->part_col][r].i);
    if (m == last || has_month(v, k, m))
      continue;
    last = m;
    if (k == cap) {
      cap *= 2;
      v = au_xrealloc(v, cap * sizeof(int32_t));
    }
    v[k++] = m;
  }
  qsort(v, k, sizeof(int32_t), cmp_i32);
  *n = k;
  return v;
}

static int ensure_partitions(struct pg *s, struct tcache *tc, const int32_t *months, size_t n,
                             struct au_err *err) {
  bool locked = false;
  for (size_t i = 0; i < n; i++) {
    int m = months[i];
    if (has_month(tc->months, tc->nmonths, m) || has_month(tc->pending, tc->npending, m))
      continue;
    int rc;
    if (!locked) {
      rc = exec_cmd(s, "SELECT pg_advisory_xact_lock(hashtext('aurum.ddl'))", err, "ddl lock");
      if (rc)
        return rc;
      locked = true;
    }
    char lo[32], hi[32];
    au_time_fmt(month_start(m), lo);
    au_time_fmt(month_start(m + 1), hi);
    char *pn = part_name(s, tc, m, true);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')", pn,
             tc->qtable, lo, hi);
    free(pn);
    rc = exec_cmd(s, sql, err, "create partition");
    if (rc) {
      au_err_prefix(err, "%s month %04d-%02d", tc->dest, m / 12, m % 12 + 1);
      return rc;
    }
    if (tc->npending == tc->cappending) {
      tc->cappending = tc->cappending ? tc->cappending * 2 : 8;
      tc->pending = au_xrealloc(tc->pending, tc->cappending * sizeof(int32_t));
    }
    tc->pending[tc->npending++] = m;
  }
  return 0;
}

/* --- COPY -------------------------------------------------------------------- */

static void add_raw(struct au_buf *b, const char *p, size_t n, int *rc) {
  if (*rc == 0 && au_buf_add(b, p, n))
    *rc = AU_E_TOOBIG;
}

static int put_copy(struct pg *s, struct au_buf *b, struct au_err *err) {
  if (b->len == 0)
    return 0;
  if (PQputCopyData(s->conn, b->ptr, (int)b->len) != 1)
    return fail(s, err, NULL, "COPY data");
  au_buf_reset(b);
  return 0;
}

/* --- binary COPY ------------------------------------------------------------------ *
 *
 * Rows travel in PostgreSQL's binary COPY format (no text formatting here, no parsing of
 * timestamps and floats on the server): timestamptz = int64 microseconds since
 * 2000-01-01, double precision / bigint = 8 bytes big-endian, boolean = 1 byte, text =
 * its bytes (the server still verifies the encoding). Only used for columns whose type
 * in the database is exactly the one aurum declares (staging tables always; a target
 * table when tc->types_ok). Rows are sent in key order (perm), which keeps the inserts
 * into the primary-key index local (measured: 1M LMP rows into an indexed table, 3.3 s
 * unsorted vs 1.8 s sorted). */

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 - 1970-01-01 */

static void be16(char *p, uint16_t v) {
  p[0] = (char)(v >> 8);
  p[1] = (char)v;
}
static void be32(char *p, uint32_t v) {
  for (int i = 3; i >= 0; i--, v >>= 8)
    p[i] = (char)v;
}
static void be64(char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (char)v;
}

/* COPY the batch in binary, rows in perm order, into `into` ("table (cols)" text).
 * With meta, the first two fields are the batch row number and occ[row]. On failure
 * the server's SQLSTATE is copied to sqlstate (may be NULL). */
static int copy_binary(struct pg *s, struct tcache *tc, const char *into, const struct au_batch *b,
                       const uint32_t *perm, bool meta, const int32_t *occ, char *sqlstate,
                       struct au_err *err) {
  if (sqlstate)
    sqlstate[0] = 0;
  struct au_buf sql = AU_BUF_INIT(SQL_MAX);
  int rc = au_buf_printf(&sql, "COPY %s FROM STDIN (FORMAT binary)", into) ? AU_E_TOOBIG : 0;
  if (rc) {
    au_buf_release(&sql);
    return au_err_set(err, rc, "table %s: COPY statement too long", tc->dest);
  }
  PGresult *r = PQexec(s->conn, sql.ptr);
  au_buf_release(&sql);
  if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
    if (sqlstate && r && PQresultErrorField(r, PG_DIAG_SQLSTATE))
      snprintf(sqlstate, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
    rc = fail(s, err, r, "COPY into %s", tc->dest);
    PQclear(r);
    return rc;
  }
  PQclear(r);
  const struct au_column *cols = tc->schema->cols;
  struct au_buf out = AU_BUF_INIT(64u * 1024u * 1024u);
  int brc = 0;
  static const char head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
  add_raw(&out, head, 19, &brc);
  int nf = tc->ncols + (meta ? 2 : 0);
  for (size_t k = 0; k < b->nrows && rc == 0; k++) {
    size_t row = perm ? perm[k] : k;
    /* fixed part: 2 + per field up to 4 + 8 bytes; text is added separately */
    if (au_buf_grow(&out, 2 + (size_t)nf * 12)) {
      brc = AU_E_TOOBIG;
    } else {
      char *p = out.ptr + out.len;
      be16(p, (uint16_t)nf);
      p += 2;
      if (meta) {
        be32(p, 4);
        be32(p + 4, (uint32_t)row);
        be32(p + 8, 4);
        be32(p + 12, (uint32_t)(occ ? occ[row] : 0));
        p += 16;
      }
      out.len = (size_t)(p - out.ptr);
    }
    for (int c = 0; c < tc->ncols && !brc; c++) {
      char *p = out.ptr + out.len;
      if (b->nulls[c][row]) {
        be32(p, 0xffffffffu);
        out.len += 4;
        continue;
      }
      const union au_cell *cell = &b->cols[c][row];
      switch (cols[c].type) {
      case AU_T_TIME:
      case AU_T_TIMESTAMP:
        if (cell->i == AU_TIME_NONE) {
          be32(p, 0xffffffffu);
          out.len += 4;
          break;
        }
        be32(p, 8);
        be64(p + 4, (uint64_t)(cell->i - PG_EPOCH_US));
        out.len += 12;
        break;
      case AU_T_DOUBLE: {
        uint64_t u;
        memcpy(&u, &cell->d, 8);
        be32(p, 8);
        be64(p + 4, u);
        out.len += 12;
        break;
      }
      case AU_T_INT:
        be32(p, 8);
        be64(p + 4, (uint64_t)cell->i);
        out.len += 12;
        break;
      case AU_T_BOOL:
        be32(p, 1);
        p[4] = cell->i ? 1 : 0;
        out.len += 5;
        break;
      case AU_T_TEXT: {
        size_t len = 0;
        const char *sv = au_batch_str(b, cell->s, &len);
        if (len > 0x3fffffff) {
          brc = AU_E_TOOBIG;
          break;
        }
        be32(p, (uint32_t)len);
        out.len += 4;
        add_raw(&out, sv, len, &brc);
        /* room for the rest of the row's fixed part */
        if (!brc && au_buf_grow(&out, (size_t)nf * 12))
          brc = AU_E_TOOBIG;
        break;
      }
      }
    }
    if (brc) {
      rc = au_err_set(err, AU_E_TOOBIG, "table %s: batch row %zu too large for COPY", tc->dest,
                      row);
      break;
    }
    if (out.len >= COPY_CHUNK)
      rc = put_copy(s, &out, err);
  }
  if (rc == 0) {
    char tr[2];
    be16(tr, 0xffff);
    add_raw(&out, tr, 2, &brc);
    rc = put_copy(s, &out, err);
  }
  au_buf_release(&out);
  if (PQputCopyEnd(s->conn, rc ? "aborted by aurum" : NULL) != 1 && rc == 0)
    rc = fail(s, err, NULL, "end COPY");
  while ((r = PQgetResult(s->conn)) != NULL) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
      if (sqlstate && PQresultErrorField(r, PG_DIAG_SQLSTATE))
        snprintf(sqlstate, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
      rc = fail(s, err, r, "COPY into %s", tc->dest);
    }
    PQclear(r);
  }
  return rc;
}

static int ensure_stage(struct pg *s, struct tcache *tc, struct au_err *err) {
  char head[128];
  if (tc->stage_exists) {
    if (!tc->stage_used_in_tx)
      return 0;
    snprintf(head, sizeof(head), "TRUNCATE aurum_stage_%d", tc->stage_id);
    return exec_cmd(s, head, err, "truncate staging");
  }
  struct sqlb sb = {AU_BUF_INIT(SQL_MAX), 0};
  SB(&sb, "CREATE TEMP TABLE IF NOT EXISTS aurum_stage_%d (aurum_rn integer, aurum_occ integer",
     tc->stage_id);
  for (int c = 0; c < tc->ncols; c++)
    SB(&sb, ", %s %s", tc->qcol[c], sql_type(tc->schema->cols[c].type));
  SB(&sb, ") ON COMMIT DELETE ROWS");
  int rc = sb.rc ? au_err_set(err, AU_E_TOOBIG, "staging statement too long")
                 : exec_cmd(s, sb.b.ptr, err, "create staging table");
  au_buf_release(&sb.b);
  if (rc == 0) {
    tc->stage_exists = true;
    tc->stage_new_in_tx = true;
  }
  return rc;
}

/* --- duplicate keys within a batch -------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

static uint64_t cell_hash(const struct au_batch *b, const struct au_column *col, int c, size_t r) {
  if (b->nulls[c][r])
    return 0x5bd1e995u;
  const union au_cell *cell = &b->cols[c][r];
  switch (col->type) {
  case AU_T_DOUBLE: {
    double d = cell->d;
    if (d == 0)
      d = 0; /* -0 == 0 */
    if (isnan(d))
      return 0x7ff8;
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
  }
  case AU_T_TEXT: {
    size_t len = 0;
    const char *sv = au_batch_str(b, cell->s, &len);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
      h = (h ^ (uint8_t)sv[i]) * 1099511628211ull;
    return h;
  }
  case AU_T_BOOL:
    return cell->i != 0;
  default:
    return (uint64_t)cell->i;
  }
}

static bool cell_eq(const struct au_batch *b, const struct au_column *col, int c, size_t r1,
                    size_t r2) {
  bool n1 = b->nulls[c][r1] != 0, n2 = b->nulls[c][r2] != 0;
  if (n1 || n2)
    return n1 == n2;
  const union au_cell *x = &b->cols[c][r1], *y = &b->cols[c][r2];
  switch (col->type) {
  case AU_T_DOUBLE:
    return x->d == y->d || (isnan(x->d) && isnan(y->d));
  case AU_T_TEXT: {
    if (x->s == y->s)
      return true;
    size_t l1 = 0, l2 = 0;
    const char *s1 = au_batch_str(b, x->s, &l1), *s2 = au_batch_str(b, y->s, &l2);
    return l1 == l2 && memcmp(s1, s2, l1) == 0;
  }
  case AU_T_BOOL:
    return (x->i != 0) == (y->i != 0);
  default:
    return x->i == y->i;
  }
}

/* occ[r] = how many earlier rows of the batch have row r's key; returns the maximum. */
static int key_occurrences(const struct tcache *tc, const struct au_batch *b, int32_t *occ) {
  size_t n = b->nrows, cap = 16;
  while (cap < 2 * n)
    cap <<= 1;
  struct slot {
    uint32_t row1; /* last row with this key + 1; 0 = empty */
    int32_t count;
  } *tab = au_xcalloc(cap, sizeof(*tab));
  const struct au_column *cols = tc->schema->cols;
  int maxocc = 0;
  for (size_t r = 0; r < n; r++) {
    uint64_t h = 0x243f6a8885a308d3ull;
    for (int i = 0; i < tc->nkey; i++)
      h = mix(h, cell_hash(b, &cols[tc->key[i]], tc->key[i], r));
    size_t pos = (size_t)(h ^ (h >> 29)) & (cap - 1);
    for (;;) {
      struct slot *sl = &tab[pos];
      if (sl->row1 == 0) {
        sl->row1 = (uint32_t)r + 1;
        sl->count = 1;
        occ[r] = 0;
        break;
      }
      size_t o = sl->row1 - 1;
      bool eq = true;
      for (int i = 0; i < tc->nkey && eq; i++)
        eq = cell_eq(b, &cols[tc->key[i]], tc->key[i], o, r);
      if (eq) {
        occ[r] = sl->count++;
        sl->row1 = (uint32_t)r + 1;
        if (occ[r] > maxocc)
          maxocc = occ[r];
        break;
      }
      pos = (pos + 1) & (cap - 1);
    }
  }
  free(tab);
  return maxocc;
}

/* --- merge ------------------------------------------------------------------- */

/* The merge statement for one target (tc->qtable or a leaf partition). Params: $1 occ,
 * and with a range $2/$3 bounds of the partition column. */
static int merge_sql(const struct tcache *tc, const char *target, bool range, bool use_exists,
                     bool want_rows, struct au_buf *out) {
  const struct au_schema *sc = tc->schema;
  struct sqlb sb = {*out, 0};
  int nset = 0, ncmp = 0;
  for (int c = 0; c < sc->ncols; c++) {
    if (!tc->is_key[c])
      nset++;
    if (!tc->is_key[c] && c != tc->seq_col)
      ncmp++;
  }
  /* the join of a target row (alias a) back to the staging row (alias s) */
#define KEYJOIN(a)                                                                          \
  for (int i = 0; i < tc->nkey; i++) {                                                      \
    int c = tc->key[i];                                                                     \
    SB(&sb, " AND s.%s %s %s.%s", tc->qcol[c],                                              \
       (sc->cols[c].flags & AU_COL_NULLABLE) ? "IS NOT DISTINCT FROM" : "=", a, tc->qcol[c]); \
  }
  SB(&sb, "WITH ");
  if (use_exists && tc->nkey) {
    SB(&sb, "pre AS MATERIALIZED (SELECT s.aurum_rn, EXISTS (SELECT 1 FROM %s t WHERE true",
       target);
    KEYJOIN("t");
    SB(&sb, ") AS ex FROM aurum_stage_%d s WHERE s.aurum_occ = $1::integer), ", tc->stage_id);
  }
  SB(&sb, "m AS (INSERT INTO %s AS t (", target);
  for (int c = 0; c < sc->ncols; c++)
    SB(&sb, "%s%s", c ? ", " : "", tc->qcol[c]);
  SB(&sb, ") SELECT ");
  for (int c = 0; c < sc->ncols; c++)
    SB(&sb, "%ss.%s", c ? ", " : "", tc->qcol[c]);
  SB(&sb, " FROM aurum_stage_%d s WHERE s.aurum_occ = $1::integer", tc->stage_id);
  if (range)
    SB(&sb, " AND s.%s >= $2::timestamptz AND s.%s < $3::timestamptz", tc->qcol[tc->part_col],
       tc->qcol[tc->part_col]);
  if (tc->nkey) {
    SB(&sb, " ON CONFLICT (");
    for (int i = 0; i < tc->nkey; i++)
      SB(&sb, "%s%s", i ? ", " : "", tc->qcol[tc->key[i]]);
    SB(&sb, ")");
    if (nset == 0 || ncmp == 0) {
      SB(&sb, " DO NOTHING");
    } else {
      SB(&sb, " DO UPDATE SET ");
      int k = 0;
      for (int c = 0; c < sc->ncols; c++)
        if (!tc->is_key[c])
          SB(&sb, "%s%s = excluded.%s", k++ ? ", " : "", tc->qcol[c], tc->qcol[c]);
      SB(&sb, " WHERE ");
      if (tc->seq_col >= 0)
        SB(&sb, "(t.%s IS NULL OR t.%s <= excluded.%s) AND ", tc->qcol[tc->seq_col],
           tc->qcol[tc->seq_col], tc->qcol[tc->seq_col]);
      SB(&sb, "ROW(");
      k = 0;
      for (int c = 0; c < sc->ncols; c++)
        if (!tc->is_key[c] && c != tc->seq_col)
          SB(&sb, "%st.%s", k++ ? ", " : "", tc->qcol[c]);
      SB(&sb, ") IS DISTINCT FROM ROW(");
      k = 0;
      for (int c = 0; c < sc->ncols; c++)
        if (!tc->is_key[c] && c != tc->seq_col)
          SB(&sb, "%sexcluded.%s", k++ ? ", " : "", tc->qcol[c]);
      SB(&sb, ")");
    }
  }
  SB(&sb, " RETURNING ");
  for (int i = 0; i < tc->nkey; i++)
    SB(&sb, "t.%s, ", tc->qcol[tc->key[i]]);
  if (use_exists || !tc->nkey)
    SB(&sb, "true AS ins)");
  else
    SB(&sb, "(t.xmax = 0) AS ins)");
  if (!tc->nkey) {
    /* no key: every row is new */
    SB(&sb, " SELECT count(*), count(*) FROM m");
  } else if (!want_rows) {
    if (use_exists) {
      SB(&sb, " SELECT count(*) FILTER (WHERE NOT p.ex), count(*) FROM m JOIN aurum_stage_%d s"
              " ON s.aurum_occ = $1::integer",
         tc->stage_id);
      KEYJOIN("m");
      SB(&sb, " JOIN pre p ON p.aurum_rn = s.aurum_rn");
    } else {
      SB(&sb, " SELECT count(*) FILTER (WHERE ins), count(*) FROM m");
    }
  } else {
    SB(&sb, " SELECT s.aurum_rn, %s FROM m JOIN aurum_stage_%d s ON s.aurum_occ = $1::integer",
       use_exists ? "NOT p.ex" : "m.ins", tc->stage_id);
    KEYJOIN("m");
    if (use_exists)
      SB(&sb, " JOIN pre p ON p.aurum_rn = s.aurum_rn");
  }
#undef KEYJOIN
  *out = sb.b;
  return sb.rc ? AU_E_TOOBIG : 0;
}

/* Run one merge statement; add its outcomes. */
static int merge_one(struct pg *s, struct tcache *tc, const char *target, int occ,
                     const int32_t *month, bool use_exists, const struct au_batch *b,
                     uint8_t *outcome, uint64_t *n_ins, uint64_t *n_upd, struct au_err *err) {
  bool want_rows = outcome != NULL && tc->nkey > 0;
  struct au_buf sql = AU_BUF_INIT(SQL_MAX);
  if (merge_sql(tc, target, month != NULL, use_exists, want_rows, &sql)) {
    au_buf_release(&sql);
    return au_err_set(err, AU_E_TOOBIG, "table %s: merge statement too long", tc->dest);
  }
  char o[16], lo[32], hi[32];
  snprintf(o, sizeof(o), "%d", occ);
  const char *v[3] = {o, lo, hi};
  if (month) {
    au_time_fmt(month_start(*month), lo);
    au_time_fmt(month_start(*month + 1), hi);
  }
  PGresult *r = exec_params(s, sql.ptr, month ? 3 : 1, v, err, "merge");
  au_buf_release(&sql);
  if (!r) {
    au_err_prefix(err, "%s", tc->dest);
    return AU_E_STORE;
  }
  if (!want_rows) {
    uint64_t ins = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    uint64_t all = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    *n_ins += ins;
    *n_upd += all - ins;
    if (outcome && tc->nkey == 0) /* all rows of this round were inserted */
      for (size_t i = 0; i < b->nrows; i++)
        outcome[i] = AU_ROW_INSERTED;
  } else {
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
      long rn = strtol(PQgetvalue(r, i, 0), NULL, 10);
      bool ins = PQgetvalue(r, i, 1)[0] == 't';
      if (rn >= 0 && (size_t)rn < b->nrows)
        outcome[rn] = ins ? AU_ROW_INSERTED : AU_ROW_UPDATED;
      if (ins)
        (*n_ins)++;
      else
        (*n_upd)++;
    }
  }
  PQclear(r);
  return 0;
}

/* AURUM_PG_DIRECT=0 turns the direct-COPY fast path off (tests, benchmarks). */
static bool direct_enabled(void) {
  const char *e = getenv("AURUM_PG_DIRECT");
  return !(e && *e == '0');
}

/* COPY the batch straight into the table under a savepoint. Returns 0 (all rows
 * inserted), 1 (a key already exists: rolled back to the savepoint, nothing written) or a
 * negative error (the transaction is aborted). */
static int direct_copy(struct pg *s, struct tcache *tc, const struct au_batch *b,
                       const uint32_t *perm, struct au_err *err) {
  int rc = exec_cmd(s, "SAVEPOINT aurum_direct", err, "savepoint");
  if (rc)
    return rc;
  struct au_buf into = AU_BUF_INIT(SQL_MAX);
  int e = au_buf_printf(&into, "%s (", tc->qtable);
  for (int c = 0; c < tc->ncols && !e; c++)
    e = au_buf_printf(&into, "%s%s", c ? ", " : "", tc->qcol[c]);
  if (!e)
    e = au_buf_adds(&into, ")");
  if (e) {
    au_buf_release(&into);
    return au_err_set(err, AU_E_TOOBIG, "table %s: COPY statement too long", tc->dest);
  }
  char state[8];
  rc = copy_binary(s, tc, into.ptr, b, perm, false, NULL, state, err);
  au_buf_release(&into);
  if (rc == 0)
    return exec_cmd(s, "RELEASE SAVEPOINT aurum_direct", err, "release savepoint");
  if (strcmp(state, "23505") != 0 || conn_bad(s))
    return rc;
  au_err_clear(err);
  rc = exec_cmd(s, "ROLLBACK TO SAVEPOINT aurum_direct", err, "rollback to savepoint");
  if (rc == 0)
    rc = exec_cmd(s, "RELEASE SAVEPOINT aurum_direct", err, "release savepoint");
  return rc ? rc : 1;
}

static int pg_write(struct au_store *st, const struct au_table_ref *t, const struct au_batch *b,
                    struct au_merge_stats *ms, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = check_ref(t, err);
  if (rc)
    return rc;
  if ((rc = au_store_check_batch(t, b, err)))
    return rc;
  if (b->nrows > INT32_MAX)
    return au_err_set(err, AU_E_TOOBIG, "table %s: batch of %zu rows", t->dest, b->nrows);
  if ((rc = ensure_conn(s, err)))
    return rc;
  struct tcache *tc = tc_find(s, t->dest);
  if (!tc || !tc->qtable || tc->schema != t->schema || tc->seq_col != t->seq_col) {
    /* not ensured in this session (or another schema): ensure it now, outside a tx */
    if (in_tx(s) || (rc = pg_ensure_table(st, t, err))) {
      if (rc == 0)
        rc = au_err_set(err, AU_E_INVAL,
                        "postgresql: table %s was not ensured before the transaction", t->dest);
      return rc;
    }
    tc = tc_find(s, t->dest);
  }
  if (b->nrows == 0)
    return 0;

  bool own_tx = !in_tx(s);
  if (own_tx && (rc = exec_cmd(s, "BEGIN", err, "begin transaction")))
    return rc;

  int32_t *occ = au_xmalloc((b->nrows ? b->nrows : 1) * sizeof(int32_t));
  int maxocc = tc->nkey ? key_occurrences(tc, b, occ) : 0;
  if (!tc->nkey)
    memset(occ, 0, b->nrows * sizeof(int32_t));
  size_t nmon = 0;
  int32_t *months = NULL;
  uint32_t *perm = NULL;
  uint64_t n_ins = 0, n_upd = 0;
  uint8_t *outcome = ms ? ms->outcome : NULL;
  if (outcome)
    memset(outcome, AU_ROW_UNCHANGED, b->nrows);

  if (tc->layout == L_PARTITIONED && tc->part_col >= 0) {
    months = batch_months(tc, b, &nmon);
    if ((rc = ensure_partitions(s, tc, months, nmon, err)))
      goto out;
  }
  perm = au_store_key_perm(b, tc->key, tc->nkey);
  if (tc->try_direct && tc->types_ok && maxocc == 0 && direct_enabled()) {
    /* Fast path for new rows: COPY straight into the table under a savepoint. It only
     * succeeds when no key exists yet (a unique violation rolls it back), and then every
     * row is "inserted" - the outcome of the merge for new keys. */
    int d = direct_copy(s, tc, b, perm, err);
    if (d == 0) {
      n_ins = b->nrows;
      if (outcome)
        memset(outcome, AU_ROW_INSERTED, b->nrows);
      goto done;
    }
    if (d < 0) {
      rc = d;
      goto out;
    }
    tc->try_direct = false; /* existing keys: merge (and stay there while rows exist) */
  }
  if ((rc = ensure_stage(s, tc, err)))
    goto out;
  {
    char into[64];
    snprintf(into, sizeof(into), "aurum_stage_%d", tc->stage_id);
    if ((rc = copy_binary(s, tc, into, b, perm, true, occ, NULL, err)))
      goto out;
  }
  tc->stage_used_in_tx = true;
  { /* statistics, so the planner hash-joins the RETURNING rows back to the batch */
    char an[64];
    snprintf(an, sizeof(an), "ANALYZE aurum_stage_%d", tc->stage_id);
    if ((rc = exec_cmd(s, an, err, "analyze staging")))
      goto out;
  }
  bool use_exists = tc->layout == L_HYPERTABLE || force_exists();
  for (int k = 0; k <= maxocc && rc == 0; k++) {
    if (tc->layout == L_PARTITIONED && !use_exists) {
      for (size_t i = 0; i < nmon && rc == 0; i++) {
        char *leaf = part_name(s, tc, months[i], true);
        rc = merge_one(s, tc, leaf, k, &months[i], false, b, outcome, &n_ins, &n_upd, err);
        free(leaf);
      }
    } else {
      rc = merge_one(s, tc, tc->qtable, k, NULL, use_exists, b, outcome, &n_ins, &n_upd, err);
    }
  }
  if (rc == 0 && n_ins == b->nrows)
    tc->try_direct = true; /* all new again: the next batch tries the fast path */
done:
  if (rc == 0 && own_tx) {
    rc = exec_cmd(s, "COMMIT", err, "commit");
    if (rc == 0)
      tx_forget(s, true);
  }
out:
  free(occ);
  free(months);
  free(perm);
  if (rc) {
    if (own_tx)
      pg_rollback(st);
    return rc;
  }
  if (ms) {
    ms->inserted += n_ins;
    ms->updated += n_upd;
    ms->unchanged += b->nrows - n_ins - n_upd;
  }
  return 0;
}

/* --- state ---------------------------------------------------------------------- */

#define EPOCH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

static int state_upsert(struct pg *s, const struct au_state_update *up, struct au_err *err) {
  if (!up->key)
    return au_err_set(err, AU_E_INVAL, "state update without a table key");
  char wbuf[40], nbuf[40];
  if (up->watermark != AU_TIME_NONE)
    au_time_fmt_us(up->watermark, wbuf);
  au_time_fmt_us(au_now_real(), nbuf);
  const char *v[4] = {up->key, up->watermark != AU_TIME_NONE ? wbuf : NULL, up->details, nbuf};
  PGresult *r = exec_params(
      s,
      "INSERT INTO aurum_state AS a (table_key, watermark, details, updated_at)"
      " VALUES ($1, $2::timestamptz, coalesce($3, '{}'), $4::timestamptz)"
      " ON CONFLICT (table_key) DO UPDATE SET watermark = GREATEST(a.watermark, excluded.watermark),"
      " details = coalesce($3, a.details), updated_at = excluded.updated_at",
      4, v, err, "write state");
  if (!r) {
    au_err_prefix(err, "%s", up->key);
    return AU_E_STORE;
  }
  PQclear(r);
  return 0;
}

static int chunk_mark_done(struct pg *s, const struct au_chunk_done *done, struct au_err *err);

/* Commit with the state update and (done != NULL) the chunk completion in it. */
static int commit_with(struct pg *s, const struct au_state_update *up,
                       const struct au_chunk_done *done, struct au_err *err) {
  struct au_store *st = &s->base;
  int rc = 0;
  if (!in_tx(s)) {
    if ((rc = ensure_conn(s, err)) || (rc = exec_cmd(s, "BEGIN", err, "begin transaction")))
      return rc;
  }
  if (PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
    pg_rollback(st);
    return au_err_set(err, AU_E_STORE, "postgresql: commit of a failed transaction");
  }
  if (up && (rc = state_upsert(s, up, err))) {
    pg_rollback(st);
    return rc;
  }
  if (done && done->chunk_id > 0 && (rc = chunk_mark_done(s, done, err))) {
    pg_rollback(st);
    return rc;
  }
  /* COMMIT of an aborted transaction reports ROLLBACK as success: check the tag */
  PGresult *r = PQexec(s->conn, "COMMIT");
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
    rc = fail(s, err, r, "commit");
  } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
    rc = au_err_set(err, AU_E_STORE, "postgresql commit: transaction was rolled back");
  }
  PQclear(r);
  if (rc) {
    pg_rollback(st);
    return rc;
  }
  tx_forget(s, true);
  return 0;
}

static int pg_commit(struct au_store *st, const struct au_state_update *up, struct au_err *err) {
  return commit_with((struct pg *)st, up, NULL, err);
}

static au_time us_val(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col))
    return AU_TIME_NONE;
  return (au_time)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void fill_state(const PGresult *r, int i, struct au_state *out) {
  memset(out, 0, sizeof(*out));
  snprintf(out->key, sizeof(out->key), "%s", PQgetvalue(r, i, 0));
  out->watermark = us_val(r, i, 1);
  snprintf(out->details, sizeof(out->details), "%s",
           PQgetisnull(r, i, 2) ? "{}" : PQgetvalue(r, i, 2));
  out->updated_at = us_val(r, i, 3);
}

#define STATE_COLS                                                                          \
  "SELECT table_key, " EPOCH_US("watermark") ", details, " EPOCH_US("updated_at")           \
  " FROM aurum_state"

static int pg_state_get(struct au_store *st, const char *key, struct au_state *out,
                        struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  const char *v[1] = {key ? key : ""};
  PGresult *r = exec_params(s, STATE_COLS " WHERE table_key = $1", 1, v, err, "read state");
  if (!r)
    return AU_E_STORE;
  if (PQntuples(r) == 1)
    fill_state(r, 0, out);
  else
    rc = au_err_set(err, AU_E_NOTFOUND, "no state for %s", key ? key : "(null)");
  PQclear(r);
  return rc;
}

static int pg_state_list(struct au_store *st, int (*cb)(void *arg, const struct au_state *s),
                         void *arg, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  PGresult *r = exec_params(s, STATE_COLS " ORDER BY table_key COLLATE \"C\"", 0, NULL, err,
                            "list state");
  if (!r)
    return AU_E_STORE;
  struct au_state row;
  for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
    fill_state(r, i, &row);
    rc = cb(arg, &row);
  }
  PQclear(r);
  return rc;
}

static int pg_state_reset(struct au_store *st, const char *key, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  const char *v[1] = {key ? key : ""};
  PGresult *r = exec_params(s, "DELETE FROM aurum_state WHERE table_key = $1", 1, v, err,
                            "reset state");
  if (!r)
    return AU_E_STORE;
  PQclear(r);
  return 0;
}

/* --- runs ----------------------------------------------------------------------- */

static au_time or_now(au_time t) { return t == AU_TIME_NONE || t == 0 ? au_now_real() : t; }

static int pg_run_begin(struct au_store *st, struct au_run_record *r, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!r || !r->key)
    return au_err_set(err, AU_E_INVAL, "run record without a table key");
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  char ts[40];
  au_time_fmt_us(or_now(r->started_at), ts);
  const char *v[2] = {r->key, ts};
  PGresult *res = exec_params(s,
                              "INSERT INTO aurum_runs(table_key, started_at, status)"
                              " VALUES ($1, $2::timestamptz, 'running') RETURNING id",
                              2, v, err, "record run");
  if (!res)
    return AU_E_STORE;
  r->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return 0;
}

static int pg_run_end(struct au_store *st, const struct au_run_record *r, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!r)
    return au_err_set(err, AU_E_INVAL, "no run record");
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  char id[24], ts[40], n[6][24];
  snprintf(id, sizeof(id), "%lld", (long long)r->id);
  au_time_fmt_us(or_now(r->finished_at), ts);
  uint64_t nums[6] = {r->inserted, r->updated, r->unchanged, r->requests, r->batches, 0};
  for (int i = 0; i < 5; i++)
    snprintf(n[i], sizeof(n[i]), "%llu", (unsigned long long)nums[i]);
  const char *v[9] = {id, ts, r->status ? r->status : "ok", n[0], n[1], n[2], n[3], n[4],
                      r->error};
  PGresult *res = exec_params(s,
                              "UPDATE aurum_runs SET finished_at = $2::timestamptz, status = $3,"
                              " rows_inserted = $4::bigint, rows_updated = $5::bigint,"
                              " rows_unchanged = $6::bigint, requests = $7::bigint,"
                              " batches = $8::bigint, error = $9 WHERE id = $1::bigint",
                              9, v, err, "finish run");
  if (!res)
    return AU_E_STORE;
  if (strcmp(PQcmdTuples(res), "0") == 0)
    rc = au_err_set(err, AU_E_NOTFOUND, "no run with id %lld", (long long)r->id);
  PQclear(res);
  return rc;
}

/* --- locks ---------------------------------------------------------------------- */

static struct held_lock *find_lock(struct pg *s, const char *key) {
  for (size_t i = 0; i < s->nlocks; i++)
    if (strcmp(s->locks[i].key, key) == 0)
      return &s->locks[i];
  return NULL;
}

static int pg_lock(struct au_store *st, const char *key, double timeout, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!key || !*key)
    return au_err_set(err, AU_E_INVAL, "lock without a table key");
  struct held_lock *h = find_lock(s, key);
  if (h) {
    h->refs++;
    return 0;
  }
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  double deadline = au_mono() + (timeout > 0 ? timeout : 0);
  const char *v[1] = {key};
  for (;;) {
    PGresult *r = exec_params(s, "SELECT pg_try_advisory_lock(hashtext('aurum.sync:' || $1))", 1,
                              v, err, "lock");
    if (!r)
      return AU_E_STORE;
    bool got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got)
      break;
    double left = deadline - au_mono();
    if (left <= 0)
      return au_err_set(err, AU_E_LOCK,
                        "table %s is being synced by another aurum process (PostgreSQL advisory "
                        "lock hashtext('aurum.sync:%s') on %s); try again later or raise "
                        "--lock-timeout",
                        key, key, PQdb(s->conn) ? PQdb(s->conn) : "the database");
    au_sleep(left < LOCK_POLL ? left : LOCK_POLL);
  }
  if (s->nlocks == s->caplocks) {
    s->caplocks = s->caplocks ? s->caplocks * 2 : 4;
    s->locks = au_xrealloc(s->locks, s->caplocks * sizeof(*s->locks));
  }
  s->locks[s->nlocks++] = (struct held_lock){au_xstrdup(key), 1};
  return 0;
}

static void drop_lock(struct pg *s, size_t i) {
  if (!conn_bad(s)) {
    const char *v[1] = {s->locks[i].key};
    PQclear(PQexecParams(s->conn, "SELECT pg_advisory_unlock(hashtext('aurum.sync:' || $1))", 1,
                         NULL, v, NULL, NULL, 0));
  }
  free(s->locks[i].key);
  s->locks[i] = s->locks[--s->nlocks];
}

static void pg_unlock(struct au_store *st, const char *key) {
  struct pg *s = (struct pg *)st;
  if (!key)
    return;
  struct held_lock *h = find_lock(s, key);
  if (!h || --h->refs > 0)
    return;
  drop_lock(s, (size_t)(h - s->locks));
}

/* --- backfill jobs, chunks and quota usage ----------------------------------------- *
 *
 * Tables of migration 3 (the same tables and columns as sqlite.c; times are timestamptz).
 * Leases, backoff and "now" are the SERVER's clock (now() of the claiming transaction),
 * so workers on several hosts agree on lease expiry whatever their own clocks say; a
 * not_before given by a client (retry_at, quota waits) is compared with it too.
 *
 * A claim is one statement in its own transaction:
 *   WITH c AS (SELECT ... ORDER BY priority DESC, job, seq LIMIT 1
 *              FOR UPDATE OF c SKIP LOCKED)
 *   UPDATE aurum_backfill_chunks SET status = 'running', attempts + 1, lease ... FROM c
 * so concurrent claimers skip each other's candidate rows instead of queueing on them, and
 * a candidate taken meanwhile fails the re-check of the WHERE clause (READ COMMITTED
 * EvalPlanQual). A job with max_concurrent > 0 is additionally re-counted under a
 * transaction-scoped advisory lock per table key: two claimers that both saw "one slot
 * left" are serialised there, the second sees the first's claim, rolls back and looks
 * again. */

#define JOB_COLS                                                                            \
  "j.id, j.table_key, " EPOCH_US("j.range_start") ", " EPOCH_US("j.range_end") ","          \
  " j.chunk_days, j.priority, j.max_attempts, j.max_concurrent, j.status, "                 \
  EPOCH_US("j.created_at") ", " EPOCH_US("j.updated_at") ", count(c.id),"                   \
  " count(c.id) FILTER (WHERE c.status = 'pending'),"                                       \
  " count(c.id) FILTER (WHERE c.status = 'running'),"                                       \
  " count(c.id) FILTER (WHERE c.status = 'done'),"                                          \
  " count(c.id) FILTER (WHERE c.status = 'failed'),"                                        \
  " coalesce(sum(c.rows) FILTER (WHERE c.status = 'done'), 0)"
#define JOB_FROM                                                                            \
  " FROM aurum_backfill_jobs j LEFT JOIN aurum_backfill_chunks c ON c.job_id = j.id"
#define CHUNK_COLS(p)                                                                       \
  p "id, " p "job_id, " p "seq, " EPOCH_US(p "range_start") ", " EPOCH_US(p "range_end")     \
  ", " p "status, " p "attempts, " p "rows, " p "last_error, " p "worker, "                  \
  EPOCH_US(p "lease_until") ", " EPOCH_US(p "not_before") ", " EPOCH_US(p "finished_at")

static void copy_val(char *dst, size_t cap, const PGresult *r, int row, int col) {
  snprintf(dst, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int64_t i64_val(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void fill_job(const PGresult *r, int i, struct au_job *j) {
  memset(j, 0, sizeof(*j));
  j->id = i64_val(r, i, 0);
  copy_val(j->table_key, sizeof(j->table_key), r, i, 1);
  j->range_start = us_val(r, i, 2);
  j->range_end = us_val(r, i, 3);
  j->chunk_days = (int)i64_val(r, i, 4);
  j->priority = (int)i64_val(r, i, 5);
  j->max_attempts = (int)i64_val(r, i, 6);
  j->max_concurrent = (int)i64_val(r, i, 7);
  copy_val(j->status, sizeof(j->status), r, i, 8);
  j->created_at = us_val(r, i, 9);
  j->updated_at = us_val(r, i, 10);
  j->n_chunks = i64_val(r, i, 11);
  j->n_pending = i64_val(r, i, 12);
  j->n_running = i64_val(r, i, 13);
  j->n_done = i64_val(r, i, 14);
  j->n_failed = i64_val(r, i, 15);
  j->rows = (uint64_t)i64_val(r, i, 16);
}

static void fill_chunk(const PGresult *r, int i, struct au_chunk *c) {
  memset(c, 0, sizeof(*c));
  c->id = i64_val(r, i, 0);
  c->job_id = i64_val(r, i, 1);
  c->seq = (int)i64_val(r, i, 2);
  c->range_start = us_val(r, i, 3);
  c->range_end = us_val(r, i, 4);
  copy_val(c->status, sizeof(c->status), r, i, 5);
  c->attempts = (int)i64_val(r, i, 6);
  c->rows = (uint64_t)i64_val(r, i, 7);
  copy_val(c->last_error, sizeof(c->last_error), r, i, 8);
  copy_val(c->worker, sizeof(c->worker), r, i, 9);
  c->lease_until = us_val(r, i, 10);
  c->not_before = us_val(r, i, 11);
  c->finished_at = us_val(r, i, 12);
}

/* Text parameters. */
struct pbuf {
  char v[8][40];
};
static const char *p_i64(struct pbuf *p, int k, int64_t x) {
  snprintf(p->v[k], sizeof(p->v[k]), "%lld", (long long)x);
  return p->v[k];
}
static const char *p_dbl(struct pbuf *p, int k, double x) {
  snprintf(p->v[k], sizeof(p->v[k]), "%.6f", x);
  return p->v[k];
}
/* NULL for AU_TIME_NONE */
static const char *p_time(struct pbuf *p, int k, au_time t) {
  if (t == AU_TIME_NONE)
    return NULL;
  au_time_fmt_us(t, p->v[k]);
  return p->v[k];
}

/* Run a statement that changes rows; *changed = affected rows. */
static int exec_change(struct pg *s, const char *sql, int n, const char *const *v, int64_t *changed,
                       struct au_err *err, const char *what) {
  PGresult *r = exec_params(s, sql, n, v, err, what);
  if (!r)
    return AU_E_STORE;
  if (changed)
    *changed = strtoll(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return 0;
}

static void rollback_own(struct pg *s, bool own) {
  if (own && !conn_bad(s) && in_tx(s))
    PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* The chunk-done update of commit_chunk (inside the open transaction). */
static int chunk_mark_done(struct pg *s, const struct au_chunk_done *done, struct au_err *err) {
  struct pbuf p;
  const char *v[3] = {p_i64(&p, 0, done->chunk_id), done->worker ? done->worker : "",
                      p_i64(&p, 1, (int64_t)done->rows)};
  return exec_change(s,
                     "UPDATE aurum_backfill_chunks SET status = 'done', rows = $3::bigint,"
                     " finished_at = now(), lease_until = NULL, last_error = NULL"
                     " WHERE id = $1::bigint AND status = 'running' AND worker = $2",
                     3, v, NULL, err, "record chunk done");
}

static int pg_commit_chunk(struct au_store *st, const struct au_state_update *up,
                           const struct au_chunk_done *done, struct au_err *err) {
  return commit_with((struct pg *)st, up, done, err);
}

static int pg_job_set_status(struct au_store *st, int64_t id, const char *status,
                             struct au_err *err);

static int pg_job_create(struct au_store *st, struct au_job *job, const struct au_chunk_range *ch,
                         size_t n, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!job || !job->table_key[0] || n == 0 || !ch)
    return au_err_set(err, AU_E_INVAL, "a backfill job needs a table and at least one chunk");
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  bool own = !in_tx(s);
  if (own && (rc = exec_cmd(s, "BEGIN", err, "begin job")))
    return rc;
  struct pbuf p;
  const char *v[6] = {job->table_key,
                      p_time(&p, 0, job->range_start),
                      p_time(&p, 1, job->range_end),
                      p_i64(&p, 2, job->chunk_days),
                      p_i64(&p, 3, job->priority),
                      p_i64(&p, 4, job->max_attempts > 0 ? job->max_attempts : 3)};
  char mc[24];
  snprintf(mc, sizeof(mc), "%d", job->max_concurrent);
  const char *v7[7] = {v[0], v[1], v[2], v[3], v[4], v[5], mc};
  PGresult *r = exec_params(s,
                            "INSERT INTO aurum_backfill_jobs(table_key, range_start, range_end,"
                            " chunk_days, priority, max_attempts, max_concurrent, status)"
                            " VALUES ($1, $2::timestamptz, $3::timestamptz, $4::integer,"
                            " $5::integer, $6::integer, $7::integer, 'running') RETURNING id",
                            7, v7, err, "create job");
  if (!r) {
    rc = AU_E_STORE;
    goto out;
  }
  int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  /* every chunk in one statement: the bounds travel as two timestamptz[] parameters */
  struct au_buf a = AU_BUF_INIT(0), b = AU_BUF_INIT(0);
  int e = au_buf_adds(&a, "{") || au_buf_adds(&b, "{");
  for (size_t i = 0; i < n && !e; i++) {
    char t1[40], t2[40];
    au_time_fmt_us(ch[i].start, t1);
    au_time_fmt_us(ch[i].end, t2);
    e = au_buf_printf(&a, "%s%s", i ? "," : "", t1) || au_buf_printf(&b, "%s%s", i ? "," : "", t2);
  }
  if (!e)
    e = au_buf_adds(&a, "}") || au_buf_adds(&b, "}");
  if (e) {
    rc = au_err_set(err, AU_E_NOMEM, "out of memory planning %zu chunks", n);
  } else {
    const char *cv[3] = {p_i64(&p, 5, id), a.ptr, b.ptr};
    rc = exec_change(s,
                     "INSERT INTO aurum_backfill_chunks(job_id, seq, range_start, range_end)"
                     " SELECT $1::bigint, (u.o - 1)::integer, u.a, u.b"
                     " FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY"
                     " AS u(a, b, o) ON CONFLICT DO NOTHING",
                     3, cv, NULL, err, "plan chunks");
  }
  au_buf_release(&a);
  au_buf_release(&b);
  if (rc == 0 && own)
    rc = exec_cmd(s, "COMMIT", err, "commit job");
  if (rc == 0) {
    job->id = id;
    snprintf(job->status, sizeof(job->status), "running");
  }
out:
  if (rc)
    rollback_own(s, own);
  return rc;
}

static int job_query_one(struct pg *s, const char *sql, int n, const char *const *v,
                         struct au_job *out, struct au_err *err, const char *what) {
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  PGresult *r = exec_params(s, sql, n, v, err, what);
  if (!r)
    return AU_E_STORE;
  if (PQntuples(r) >= 1)
    fill_job(r, 0, out);
  else
    rc = au_err_set(err, AU_E_NOTFOUND, "%s: no such backfill job", what);
  PQclear(r);
  return rc;
}

static int pg_job_find(struct au_store *st, const char *table_key, au_time start, au_time end,
                       struct au_job *out, struct au_err *err) {
  struct pbuf p;
  const char *v[3] = {table_key ? table_key : "", p_time(&p, 0, start), p_time(&p, 1, end)};
  return job_query_one((struct pg *)st,
                       "SELECT " JOB_COLS JOB_FROM
                       " WHERE j.table_key = $1 AND j.range_start = $2::timestamptz"
                       " AND j.range_end = $3::timestamptz AND j.status IN ('running', 'failed')"
                       " GROUP BY j.id ORDER BY j.id DESC LIMIT 1",
                       3, v, out, err, table_key ? table_key : "(null)");
}

static int pg_job_get(struct au_store *st, int64_t id, struct au_job *out, struct au_err *err) {
  struct pbuf p;
  const char *v[1] = {p_i64(&p, 0, id)};
  char what[48];
  snprintf(what, sizeof(what), "job %lld", (long long)id);
  return job_query_one((struct pg *)st,
                       "SELECT " JOB_COLS JOB_FROM " WHERE j.id = $1::bigint GROUP BY j.id", 1, v,
                       out, err, what);
}

static int pg_job_list(struct au_store *st, int (*cb)(void *arg, const struct au_job *j),
                       void *arg, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  PGresult *r = exec_params(s, "SELECT " JOB_COLS JOB_FROM " GROUP BY j.id ORDER BY j.id DESC", 0,
                            NULL, err, "list jobs");
  if (!r)
    return AU_E_STORE;
  struct au_job j;
  for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
    fill_job(r, i, &j);
    rc = cb(arg, &j);
  }
  PQclear(r);
  return rc;
}

static int pg_job_set_status(struct au_store *st, int64_t id, const char *status,
                             struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!status || !*status)
    return au_err_set(err, AU_E_INVAL, "job %lld: empty status", (long long)id);
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[2] = {p_i64(&p, 0, id), status};
  int64_t ch = 0;
  if ((rc = exec_change(s,
                        "UPDATE aurum_backfill_jobs SET status = $2, updated_at = now()"
                        " WHERE id = $1::bigint",
                        2, v, &ch, err, "update job")))
    return rc;
  return ch ? 0 : au_err_set(err, AU_E_NOTFOUND, "no backfill job %lld", (long long)id);
}

static int pg_job_retry(struct au_store *st, int64_t id, uint64_t *requeued, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  bool own = !in_tx(s);
  if (own && (rc = exec_cmd(s, "BEGIN", err, "begin retry")))
    return rc;
  struct pbuf p;
  const char *v[1] = {p_i64(&p, 0, id)};
  int64_t ch = 0;
  if ((rc = exec_change(s,
                        "UPDATE aurum_backfill_chunks SET status = 'pending', attempts = 0,"
                        " not_before = NULL, worker = NULL, lease_until = NULL"
                        " WHERE job_id = $1::bigint AND status = 'failed'",
                        1, v, &ch, err, "retry job")))
    goto out;
  if ((rc = pg_job_set_status(st, id, "running", err)))
    goto out;
  if (own)
    rc = exec_cmd(s, "COMMIT", err, "commit retry");
out:
  if (rc)
    rollback_own(s, own);
  else if (requeued)
    *requeued = (uint64_t)ch;
  return rc;
}

static int pg_chunk_list(struct au_store *st, int64_t job_id,
                         int (*cb)(void *arg, const struct au_chunk *c), void *arg,
                         struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[1] = {p_i64(&p, 0, job_id)};
  PGresult *r = exec_params(s,
                            "SELECT " CHUNK_COLS("") " FROM aurum_backfill_chunks"
                            " WHERE job_id = $1::bigint ORDER BY seq",
                            1, v, err, "list chunks");
  if (!r)
    return AU_E_STORE;
  struct au_chunk c;
  for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
    fill_chunk(r, i, &c);
    rc = cb(arg, &c);
  }
  PQclear(r);
  return rc;
}

#define CLAIM_TRIES 8

static int pg_chunk_claim(struct au_store *st, int64_t job_id, const char *worker, double lease,
                          struct au_chunk *out, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!worker || !*worker)
    return au_err_set(err, AU_E_INVAL, "a chunk claim needs a worker id");
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  if (in_tx(s))
    return au_err_set(err, AU_E_INVAL, "postgresql: chunk_claim inside a transaction");
  struct pbuf p;
  const char *v[3] = {worker, p_i64(&p, 0, job_id), p_dbl(&p, 1, lease > 0 ? lease : 0)};
  for (int attempt = 0; attempt < CLAIM_TRIES; attempt++) {
    if ((rc = exec_cmd(s, "BEGIN", err, "begin claim")))
      return rc;
    PGresult *r = exec_params(
        s,
        "WITH c AS (SELECT c.id, j.table_key, j.max_concurrent"
        "  FROM aurum_backfill_chunks c JOIN aurum_backfill_jobs j ON j.id = c.job_id"
        "  WHERE j.status = 'running' AND ($2::bigint = 0 OR c.job_id = $2::bigint)"
        "  AND ((c.status = 'pending' AND (c.not_before IS NULL OR c.not_before <= now()))"
        "    OR (c.status = 'running' AND (c.lease_until IS NULL OR c.lease_until < now())))"
        "  AND (j.max_concurrent <= 0 OR (SELECT count(*) FROM aurum_backfill_chunks c2"
        "    JOIN aurum_backfill_jobs j2 ON j2.id = c2.job_id WHERE j2.table_key = j.table_key"
        "    AND c2.status = 'running' AND c2.lease_until >= now()) < j.max_concurrent)"
        "  ORDER BY j.priority DESC, j.id, c.seq LIMIT 1 FOR UPDATE OF c SKIP LOCKED)"
        " UPDATE aurum_backfill_chunks b SET status = 'running', attempts = b.attempts + 1,"
        " worker = $1, lease_until = now() + make_interval(secs => $3::double precision),"
        " not_before = NULL, started_at = now()"
        " FROM c WHERE b.id = c.id RETURNING " CHUNK_COLS("b.") ", c.table_key, c.max_concurrent",
        3, v, err, "claim chunk");
    if (!r) {
      rollback_own(s, true);
      return AU_E_STORE;
    }
    if (PQntuples(r) == 0) {
      PQclear(r);
      rollback_own(s, true);
      return au_err_set(err, AU_E_NOTFOUND, "no chunk to claim");
    }
    fill_chunk(r, 0, out);
    int mc = (int)i64_val(r, 0, 14);
    char key[sizeof(((struct au_job *)0)->table_key)];
    copy_val(key, sizeof(key), r, 0, 13);
    PQclear(r);
    bool over = false;
    if (mc > 0) {
      /* serialise the concurrency check of this table: a claimer that counted before
       * our commit waits here and then sees our claim */
      const char *kv[1] = {key};
      r = exec_params(s,
                      "SELECT pg_advisory_xact_lock(hashtext('aurum.claim:' || $1))",
                      1, kv, err, "claim lock");
      if (r) {
        PQclear(r);
        r = exec_params(s,
                        "SELECT count(*) FROM aurum_backfill_chunks c JOIN aurum_backfill_jobs j"
                        " ON j.id = c.job_id WHERE j.table_key = $1 AND c.status = 'running'"
                        " AND c.lease_until >= now()",
                        1, kv, err, "count running chunks");
      }
      if (!r) {
        rollback_own(s, true);
        return AU_E_STORE;
      }
      over = strtoll(PQgetvalue(r, 0, 0), NULL, 10) > mc;
      PQclear(r);
    }
    if (over) {
      rollback_own(s, true);
      continue;
    }
    return exec_cmd(s, "COMMIT", err, "commit claim");
  }
  return au_err_set(err, AU_E_NOTFOUND, "no chunk to claim (concurrency limit reached)");
}

static int pg_chunk_renew(struct au_store *st, int64_t id, const char *worker, double lease,
                          struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[3] = {p_i64(&p, 0, id), worker ? worker : "", p_dbl(&p, 1, lease > 0 ? lease : 0)};
  int64_t ch = 0;
  if ((rc = exec_change(s,
                        "UPDATE aurum_backfill_chunks"
                        " SET lease_until = now() + make_interval(secs => $3::double precision)"
                        " WHERE id = $1::bigint AND worker = $2 AND status = 'running'",
                        3, v, &ch, err, "renew lease")))
    return rc;
  return ch ? 0
            : au_err_set(err, AU_E_NOTFOUND, "chunk %lld is no longer held by %s", (long long)id,
                         worker ? worker : "(null)");
}

static int pg_chunk_fail(struct au_store *st, int64_t id, const char *worker, const char *error,
                         au_time retry_at, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[4] = {p_i64(&p, 0, id), worker ? worker : "", error ? error : "",
                      p_time(&p, 1, retry_at)};
  int64_t ch = 0;
  if ((rc = exec_change(s,
                        "UPDATE aurum_backfill_chunks SET status = CASE WHEN $4::timestamptz IS"
                        " NULL THEN 'failed' ELSE 'pending' END, not_before = $4::timestamptz,"
                        " last_error = $3, lease_until = NULL,"
                        " finished_at = CASE WHEN $4::timestamptz IS NULL THEN now() END"
                        " WHERE id = $1::bigint AND worker = $2 AND status = 'running'",
                        4, v, &ch, err, "record chunk failure")))
    return rc;
  return ch ? 0
            : au_err_set(err, AU_E_NOTFOUND, "chunk %lld is no longer held by %s", (long long)id,
                         worker ? worker : "(null)");
}

static int pg_chunk_release(struct au_store *st, int64_t id, const char *worker,
                            au_time not_before, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[3] = {p_i64(&p, 0, id), worker, p_time(&p, 1, not_before)};
  int64_t ch = 0;
  if ((rc = exec_change(s,
                        "UPDATE aurum_backfill_chunks SET status = 'pending',"
                        " attempts = greatest(attempts - 1, 0), not_before = $3::timestamptz,"
                        " lease_until = NULL"
                        " WHERE id = $1::bigint AND ($2::text IS NULL OR worker = $2)"
                        " AND status = 'running'",
                        3, v, &ch, err, "release chunk")))
    return rc;
  return ch ? 0 : au_err_set(err, AU_E_NOTFOUND, "chunk %lld is not running", (long long)id);
}

static au_time hour_floor(au_time t) { return t - ((t % AU_HOUR) + AU_HOUR) % AU_HOUR; }

static int pg_quota_add(struct au_store *st, const char *dataset, au_time hour, uint64_t records,
                        uint64_t bytes, uint64_t requests, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!dataset || !*dataset)
    return au_err_set(err, AU_E_INVAL, "quota usage without a dataset");
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[5] = {dataset, p_time(&p, 0, hour_floor(hour)), p_i64(&p, 1, (int64_t)records),
                      p_i64(&p, 2, (int64_t)bytes), p_i64(&p, 3, (int64_t)requests)};
  return exec_change(s,
                     "INSERT INTO aurum_quota_usage AS u (dataset, hour, records, bytes, requests)"
                     " VALUES ($1, $2::timestamptz, $3::bigint, $4::bigint, $5::bigint)"
                     " ON CONFLICT (dataset, hour) DO UPDATE SET"
                     " records = u.records + excluded.records, bytes = u.bytes + excluded.bytes,"
                     " requests = u.requests + excluded.requests",
                     5, v, NULL, err, "record quota usage");
}

/* GCRA in one statement: the SET expressions read the row's old values (the row lock
 * serialises concurrent reservations of the same key); excluded.last_start is "now", the
 * server's clock unless the caller gives one, so hosts' clocks need not agree. A row kept
 * under other limits (the config changed) starts afresh. */
static int pg_rate_reserve(struct au_store *st, const char *key, au_time now, int64_t interval,
                           int64_t tolerance, int64_t spacing, int64_t *delay, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[5] = {key, now == AU_TIME_NONE ? NULL : p_i64(&p, 0, now), p_i64(&p, 1, interval),
                      p_i64(&p, 2, tolerance), p_i64(&p, 3, spacing)};
  PGresult *r = exec_params(s,
                            "WITH n AS (SELECT coalesce($2::bigint,"
                            " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) AS t)"
                            " INSERT INTO aurum_rate AS a"
                            " (rate_key, tat, last_start, interval_us, tolerance_us, spacing_us)"
                            " SELECT $1, n.t + $3::bigint, n.t, $3::bigint, $4::bigint, $5::bigint FROM n"
                            " ON CONFLICT (rate_key) DO UPDATE SET"
                            " last_start = CASE WHEN (a.interval_us, a.tolerance_us, a.spacing_us) ="
                            "  (excluded.interval_us, excluded.tolerance_us, excluded.spacing_us)"
                            "  THEN greatest(excluded.last_start, a.tat - $4::bigint, a.last_start + $5::bigint)"
                            "  ELSE excluded.last_start END,"
                            " tat = CASE WHEN (a.interval_us, a.tolerance_us, a.spacing_us) ="
                            "  (excluded.interval_us, excluded.tolerance_us, excluded.spacing_us)"
                            "  THEN greatest(a.tat, excluded.last_start, a.last_start + $5::bigint) + $3::bigint"
                            "  ELSE excluded.tat END,"
                            " interval_us = excluded.interval_us, tolerance_us = excluded.tolerance_us,"
                            " spacing_us = excluded.spacing_us"
                            " RETURNING last_start - (SELECT t FROM n)",
                            5, v, err, "reserve a request slot");
  if (!r)
    return AU_E_STORE;
  if (PQntuples(r) == 1)
    *delay = i64_val(r, 0, 0);
  else
    rc = au_err_set(err, AU_E_STORE, "reserve a request slot for %s: no row returned", key);
  PQclear(r);
  return rc;
}

#define QUOTA_COLS                                                                          \
  "SELECT dataset, " EPOCH_US("hour") ", records, bytes, requests FROM aurum_quota_usage"

static void fill_quota(const PGresult *r, int i, struct au_quota_usage *u) {
  memset(u, 0, sizeof(*u));
  copy_val(u->dataset, sizeof(u->dataset), r, i, 0);
  u->hour = us_val(r, i, 1);
  u->records = (uint64_t)i64_val(r, i, 2);
  u->bytes = (uint64_t)i64_val(r, i, 3);
  u->requests = (uint64_t)i64_val(r, i, 4);
}

static int pg_quota_get(struct au_store *st, const char *dataset, au_time hour,
                        struct au_quota_usage *out, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[2] = {dataset ? dataset : "", p_time(&p, 0, hour_floor(hour))};
  PGresult *r = exec_params(s, QUOTA_COLS " WHERE dataset = $1 AND hour = $2::timestamptz", 2, v,
                            err, "read quota usage");
  if (!r)
    return AU_E_STORE;
  if (PQntuples(r) == 1) {
    fill_quota(r, 0, out);
  } else {
    memset(out, 0, sizeof(*out));
    snprintf(out->dataset, sizeof(out->dataset), "%s", dataset ? dataset : "");
    out->hour = hour_floor(hour);
  }
  PQclear(r);
  return 0;
}

static int pg_quota_list(struct au_store *st, au_time since,
                         int (*cb)(void *arg, const struct au_quota_usage *u), void *arg,
                         struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = ensure_conn(s, err);
  if (rc)
    return rc;
  struct pbuf p;
  const char *v[1] = {since == AU_TIME_NONE ? NULL : p_time(&p, 0, hour_floor(since))};
  PGresult *r = exec_params(s,
                            QUOTA_COLS " WHERE $1::timestamptz IS NULL OR hour >= $1::timestamptz"
                                       " ORDER BY hour DESC, dataset COLLATE \"C\"",
                            1, v, err, "list quota usage");
  if (!r)
    return AU_E_STORE;
  struct au_quota_usage u;
  for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
    fill_quota(r, i, &u);
    rc = cb(arg, &u);
  }
  PQclear(r);
  return rc;
}

/* --- misc ----------------------------------------------------------------------- */

static int64_t pg_count_rows(struct au_store *st, const struct au_table_ref *t,
                             struct au_err *err) {
  struct pg *s = (struct pg *)st;
  if (!t || !t->dest || !au_ident_valid(t->dest)) {
    au_err_set(err, AU_E_INVAL, "invalid destination table name '%s'",
               t && t->dest ? t->dest : "(null)");
    return -1;
  }
  if (ensure_conn(s, err))
    return -1;
  const char *dot = strchr(t->dest, '.');
  char *qt = quote_ident(s, dot ? dot + 1 : t->dest, strlen(dot ? dot + 1 : t->dest));
  char *qs = dot ? quote_ident(s, t->dest, (size_t)(dot - t->dest)) : NULL;
  char sql[512];
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s%s%s", qs ? qs : "", qs ? "." : "", qt);
  free(qt);
  free(qs);
  PGresult *r = exec_params(s, sql, 0, NULL, err, "count rows");
  if (!r) {
    au_err_prefix(err, "%s", t->dest);
    return -1;
  }
  int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return n;
}

static void pg_close(struct au_store *st) {
  struct pg *s = (struct pg *)st;
  if (!s)
    return;
  for (size_t i = 0; i < s->ntabs; i++) {
    tc_free_names(&s->tabs[i]);
    free(s->tabs[i].dest);
    free(s->tabs[i].months);
    free(s->tabs[i].pending);
  }
  free(s->tabs);
  if (s->conn && !conn_bad(s) && in_tx(s))
    PQclear(PQexec(s->conn, "ROLLBACK"));
  while (s->nlocks)
    drop_lock(s, s->nlocks - 1);
  free(s->locks);
  if (s->conn)
    PQfinish(s->conn);
  free(s);
}

const struct au_store_ops au_store_postgres = {
    .scheme = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .ensure_table = pg_ensure_table,
    .begin = pg_begin,
    .write = pg_write,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .state_get = pg_state_get,
    .state_list = pg_state_list,
    .state_reset = pg_state_reset,
    .run_begin = pg_run_begin,
    .run_end = pg_run_end,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .count_rows = pg_count_rows,
    .commit_chunk = pg_commit_chunk,
    .job_create = pg_job_create,
    .job_find = pg_job_find,
    .job_get = pg_job_get,
    .job_list = pg_job_list,
    .job_set_status = pg_job_set_status,
    .job_retry = pg_job_retry,
    .chunk_list = pg_chunk_list,
    .chunk_claim = pg_chunk_claim,
    .chunk_renew = pg_chunk_renew,
    .chunk_fail = pg_chunk_fail,
    .chunk_release = pg_chunk_release,
    .quota_add = pg_quota_add,
    .rate_reserve = pg_rate_reserve,
    .quota_get = pg_quota_get,
    .quota_list = pg_quota_list,
};

#endif /* AU_HAVE_LIBPQ */

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
 *   1. COPY the batch (text format, straight from the columns) into a session TEMP
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

/* Append new migrations at the end; never edit an applied one. Version 3+ is where the
 * backfill work queue (jobs/chunks) will go. */
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

static bool col_ident_ok(const char *n) {
  if (!n || !*n || strlen(n) > 63)
    return false;
  if (!((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || *n == '_'))
    return false;
  for (const char *p = n + 1; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '_'))
      return false;
  return true;
}

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

static int check_ref(const struct au_table_ref *t, struct au_err *err) {
  if (!t || !t->dest || !au_ident_valid(t->dest))
    return au_err_set(err, AU_E_INVAL, "invalid destination table name '%s'",
                      t && t->dest ? t->dest : "(null)");
  const char *dot = strchr(t->dest, '.');
  if (strlen(dot ? dot + 1 : t->dest) > 63 || (dot && dot - t->dest > 63))
    return au_err_set(err, AU_E_INVAL, "destination table name '%s' is longer than 63 bytes",
                      t->dest);
  if (!t->schema || t->schema->ncols <= 0 || !t->schema->cols)
    return au_err_set(err, AU_E_INVAL, "table %s: empty schema", t->dest);
  if (t->seq_col >= t->schema->ncols)
    return au_err_set(err, AU_E_INVAL, "table %s: sequence column %d out of range", t->dest,
                      t->seq_col);
  for (int c = 0; c < t->schema->ncols; c++)
    if (!col_ident_ok(t->schema->cols[c].name))
      return au_err_set(err, AU_E_INVAL, "table %s: invalid column name '%s'", t->dest,
                        t->schema->cols[c].name ? t->schema->cols[c].name : "(null)");
  return 0;
}

static int key_cols(const struct au_schema *sc, int **order, bool **is_key) {
  *order = au_xcalloc((size_t)sc->ncols, sizeof(int));
  *is_key = au_xcalloc((size_t)sc->ncols, sizeof(bool));
  int n = au_schema_key_cols(sc, *order, sc->ncols);
  int k = 0;
  for (int i = 0; i < n; i++) {
    int c = (*order)[i];
    if (c < 0 || c >= sc->ncols || (*is_key)[c])
      continue;
    (*is_key)[c] = true;
    (*order)[k++] = c;
  }
  return k;
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
  key_cols(t->schema, &order, &is_key);
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
  tc->nkey = key_cols(sc, &tc->key, &tc->is_key);
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
  bool *notnull;
  size_t n;
};

static void colinfo_free(struct colinfo *ci) {
  for (size_t i = 0; i < ci->n; i++)
    free(ci->names[i]);
  free(ci->names);
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
                  "SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = to_regclass($1)"
                  " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                  1, v, err, "inspect columns");
  if (!r)
    return AU_E_STORE;
  int n = PQntuples(r);
  ci->names = au_xcalloc((size_t)n + 1, sizeof(char *));
  ci->notnull = au_xcalloc((size_t)n + 1, sizeof(bool));
  for (int i = 0; i < n; i++) {
    ci->names[i] = au_xstrdup(PQgetvalue(r, i, 0));
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
  tc.nkey = key_cols(t->schema, &tc.key, &tc.is_key);
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
  } else {
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

/* Fast exact text of a double: values with at most 6 decimals that round-trip are
 * printed directly (m / 10^6 is correctly rounded, as is the server's parse of the same
 * decimal), others with %.17g. */
static size_t fmt_double(double v, char *out) {
  if (isnan(v))
    return (size_t)sprintf(out, "NaN");
  if (isinf(v))
    return (size_t)sprintf(out, v > 0 ? "Infinity" : "-Infinity");
  double sc = v * 1e6;
  if (fabs(sc) < 9.0e15) {
    long long m = llround(sc);
    if ((double)m / 1e6 == v) {
      char *p = out;
      unsigned long long a;
      if (m < 0) {
        *p++ = '-';
        a = (unsigned long long)(-m);
      } else {
        a = (unsigned long long)m;
        if (v == 0 && signbit(v))
          *p++ = '-';
      }
      unsigned long long ip = a / 1000000ull, fp = a % 1000000ull;
      char tmp[24];
      int k = 0;
      do {
        tmp[k++] = (char)('0' + ip % 10);
        ip /= 10;
      } while (ip);
      while (k)
        *p++ = tmp[--k];
      if (fp) {
        *p++ = '.';
        char f[6];
        for (int i = 5; i >= 0; i--) {
          f[i] = (char)('0' + fp % 10);
          fp /= 10;
        }
        int last = 5;
        while (f[last] == '0')
          last--;
        for (int i = 0; i <= last; i++)
          *p++ = f[i];
      }
      return (size_t)(p - out);
    }
  }
  return (size_t)sprintf(out, "%.17g", v);
}

static size_t fmt_int(int64_t v, char *out) {
  char tmp[24];
  int k = 0;
  uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[k++] = (char)('0' + a % 10);
    a /= 10;
  } while (a);
  char *p = out;
  if (v < 0)
    *p++ = '-';
  while (k)
    *p++ = tmp[--k];
  return (size_t)(p - out);
}

/* Append s[0..n) escaped for COPY text format. */
static void copy_text(struct au_buf *b, const char *sv, size_t n, int *rc) {
  if (*rc || au_buf_grow(b, 2 * n + 1)) {
    *rc = AU_E_TOOBIG;
    return;
  }
  char *p = b->ptr + b->len;
  for (size_t i = 0; i < n; i++) {
    char c = sv[i];
    switch (c) {
    case '\\': *p++ = '\\'; *p++ = '\\'; break;
    case '\t': *p++ = '\\'; *p++ = 't'; break;
    case '\n': *p++ = '\\'; *p++ = 'n'; break;
    case '\r': *p++ = '\\'; *p++ = 'r'; break;
    default: *p++ = c;
    }
  }
  b->len = (size_t)(p - b->ptr);
  b->ptr[b->len] = 0;
}

static void add_raw(struct au_buf *b, const char *p, size_t n, int *rc) {
  if (*rc == 0 && au_buf_add(b, p, n))
    *rc = AU_E_TOOBIG;
}

/* Per-column cache of the last formatted time (ingestion_time repeats on every row). */
struct tfmt {
  au_time last;
  size_t len;
  char buf[32];
};

static int put_copy(struct pg *s, struct au_buf *b, struct au_err *err) {
  if (b->len == 0)
    return 0;
  if (PQputCopyData(s->conn, b->ptr, (int)b->len) != 1)
    return fail(s, err, NULL, "COPY data");
  au_buf_reset(b);
  return 0;
}

static int copy_batch(struct pg *s, struct tcache *tc, const struct au_batch *b,
                      const int32_t *occ, struct au_err *err) {
  char sql[256];
  snprintf(sql, sizeof(sql), "COPY aurum_stage_%d FROM STDIN", tc->stage_id);
  PGresult *r = PQexec(s->conn, sql);
  if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
    int rc = fail(s, err, r, "COPY into staging for %s", tc->dest);
    PQclear(r);
    return rc;
  }
  PQclear(r);
  const struct au_column *cols = tc->schema->cols;
  struct tfmt *tf = au_xcalloc((size_t)tc->ncols, sizeof(*tf));
  for (int c = 0; c < tc->ncols; c++)
    tf[c].last = AU_TIME_NONE;
  struct au_buf out = AU_BUF_INIT(64u * 1024u * 1024u);
  int rc = 0, brc = 0;
  char num[48];
  for (size_t row = 0; row < b->nrows && rc == 0; row++) {
    size_t n = fmt_int((int64_t)row, num);
    num[n++] = '\t';
    n += fmt_int(occ ? occ[row] : 0, num + n);
    add_raw(&out, num, n, &brc);
    for (int c = 0; c < tc->ncols; c++) {
      add_raw(&out, "\t", 1, &brc);
      if (b->nulls[c][row]) {
        add_raw(&out, "\\N", 2, &brc);
        continue;
      }
      const union au_cell *cell = &b->cols[c][row];
      switch (cols[c].type) {
      case AU_T_TIME:
      case AU_T_TIMESTAMP:
        if (cell->i == AU_TIME_NONE) {
          add_raw(&out, "\\N", 2, &brc);
          break;
        }
        if (cell->i != tf[c].last) {
          tf[c].last = cell->i;
          tf[c].len = cols[c].type == AU_T_TIME ? au_time_fmt(cell->i, tf[c].buf)
                                                : au_time_fmt_us(cell->i, tf[c].buf);
        }
        add_raw(&out, tf[c].buf, tf[c].len, &brc);
        break;
      case AU_T_DOUBLE:
        add_raw(&out, num, fmt_double(cell->d, num), &brc);
        break;
      case AU_T_INT:
        add_raw(&out, num, fmt_int(cell->i, num), &brc);
        break;
      case AU_T_BOOL:
        add_raw(&out, cell->i ? "t" : "f", 1, &brc);
        break;
      case AU_T_TEXT: {
        size_t len = 0;
        const char *sv = au_batch_str(b, cell->s, &len);
        copy_text(&out, sv, len, &brc);
        break;
      }
      }
    }
    add_raw(&out, "\n", 1, &brc);
    if (brc) {
      rc = au_err_set(err, AU_E_TOOBIG, "table %s: batch row %zu too large for COPY", tc->dest,
                      row);
      break;
    }
    if (out.len >= COPY_CHUNK)
      rc = put_copy(s, &out, err);
  }
  if (rc == 0)
    rc = put_copy(s, &out, err);
  au_buf_release(&out);
  free(tf);
  if (PQputCopyEnd(s->conn, rc ? "aborted by aurum" : NULL) != 1 && rc == 0)
    rc = fail(s, err, NULL, "end COPY");
  while ((r = PQgetResult(s->conn)) != NULL) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
      rc = fail(s, err, r, "COPY into staging for %s", tc->dest);
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

static int pg_write(struct au_store *st, const struct au_table_ref *t, const struct au_batch *b,
                    struct au_merge_stats *ms, struct au_err *err) {
  struct pg *s = (struct pg *)st;
  int rc = check_ref(t, err);
  if (rc)
    return rc;
  if (!b || !b->schema || b->schema->ncols != t->schema->ncols)
    return au_err_set(err, AU_E_INVAL, "table %s: batch schema does not match the table",
                      t->dest);
  for (int c = 0; c < t->schema->ncols; c++)
    if (b->schema->cols[c].type != t->schema->cols[c].type)
      return au_err_set(err, AU_E_INVAL, "table %s: batch column %d (%s) has type %s, not %s",
                        t->dest, c, t->schema->cols[c].name,
                        au_type_name(b->schema->cols[c].type),
                        au_type_name(t->schema->cols[c].type));
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
  uint64_t n_ins = 0, n_upd = 0;
  uint8_t *outcome = ms ? ms->outcome : NULL;
  if (outcome)
    memset(outcome, AU_ROW_UNCHANGED, b->nrows);

  if (tc->layout == L_PARTITIONED && tc->part_col >= 0) {
    months = batch_months(tc, b, &nmon);
    if ((rc = ensure_partitions(s, tc, months, nmon, err)))
      goto out;
  }
  if ((rc = ensure_stage(s, tc, err)))
    goto out;
  if ((rc = copy_batch(s, tc, b, occ, err)))
    goto out;
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
  if (rc == 0 && own_tx) {
    rc = exec_cmd(s, "COMMIT", err, "commit");
    if (rc == 0)
      tx_forget(s, true);
  }
out:
  free(occ);
  free(months);
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

static int pg_commit(struct au_store *st, const struct au_state_update *up, struct au_err *err) {
  struct pg *s = (struct pg *)st;
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
};

#endif /* AU_HAVE_LIBPQ */

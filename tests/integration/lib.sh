# lib.sh - helpers for aurum's integration tests (sourced by test_*.sh).
# Each test gets a scratch directory, a simulator on a free loopback port, and
# assertion helpers that print both sides and count results.
set -u
AURUM=${AURUM_BIN:?AURUM_BIN must point at the built aurum binary}
T_DIR=$(mktemp -d /tmp/aurum-it.XXXXXX)
T_PASS=0
T_FAIL=0
SIM_PID=""
SIM_PORT=""
SIM=""

t_cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  [ -n "${T_KEEP:-}" ] || rm -rf "$T_DIR"
}
trap t_cleanup EXIT

ok() { T_PASS=$((T_PASS + 1)); echo "ok   $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $*"; }
check_eq() { # check_eq NAME GOT WANT
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got [$2] want [$3]"; fi
}
check_ne() {
  if [ "$2" != "$3" ]; then ok "$1"; else fail "$1: both [$2]"; fi
}
check_contains() { # check_contains NAME HAYSTACK NEEDLE
  case "$2" in *"$3"*) ok "$1" ;; *) fail "$1: [$3] not in: $2" ;; esac
}
t_done() {
  echo "$T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ]
  exit $?
}

# start_sim [aurum sim options...]: starts the simulator, sets SIM_PORT and SIM (base URL)
start_sim() {
  local out="$T_DIR/sim.out"
  "$AURUM" sim --listen 127.0.0.1:0 --quiet "$@" >"$out" 2>"$T_DIR/sim.err" &
  SIM_PID=$!
  for _ in $(seq 1 100); do
    SIM_PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$out")
    [ -n "$SIM_PORT" ] && break
    sleep 0.05
  done
  if [ -z "$SIM_PORT" ]; then
    echo "simulator did not start:"; cat "$T_DIR/sim.err"; exit 1
  fi
  SIM="http://127.0.0.1:$SIM_PORT"
}
stop_sim() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  SIM_PID=""
}
sim_post() { curl -sf -X POST "$SIM$1" >/dev/null || { echo "sim admin call failed: $1"; exit 1; }; }
sim_get() { curl -sf "$SIM$1"; }
sim_delete() { curl -sf -X DELETE "$SIM$1" >/dev/null; }

# sql DB QUERY: run a query on a store (see q below)

# --- store abstraction: the same scripts run against SQLite and PostgreSQL -------------
# AU_TEST_STORE=sqlite (default) | postgresql. For postgresql a throwaway cluster is started
# (scripts/pg-cluster.sh) on first use and removed at exit; the script is skipped (exit 0,
# a SKIP line) when the PostgreSQL server binaries are missing.
#   t_store_url NAME    -> a fresh store URL (sqlite:$T_DIR/NAME.db or a new PG database)
#   q STORE "SQL..."    -> rows as "a|b" lines; STORE is a t_store_url result or a .db path.
#                          PG runs with TimeZone=UTC and prints timestamptz like SQLite's
#                          text ("2024-03-01T07:00:00Z").
#   sql STORE "SQL"     -> same as q (older name)
#   t_dest SCHEMA TABLE -> the table name a query should use: TABLE on SQLite (which ignores
#                          destination schemas), SCHEMA.TABLE on PostgreSQL
AU_TEST_STORE=${AU_TEST_STORE:-sqlite}
T_PG_DIR=""
T_PG_URL=""
T_SRC_DIR=${AU_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T_PG_SCRIPT="$T_SRC_DIR/scripts/pg-cluster.sh"

t_pg_stop() {
  [ -n "$T_PG_DIR" ] && bash "$T_PG_SCRIPT" stop "$T_PG_DIR" >/dev/null 2>&1
  T_PG_DIR=""
}
t_cleanup_all() {
  t_cleanup
  t_pg_stop
}
trap t_cleanup_all EXIT

# t_pg_start: start this script's cluster (idempotent); sets T_PG_DIR / T_PG_URL
t_pg_start() {
  [ -n "$T_PG_URL" ] && return 0
  if ! bash "$T_PG_SCRIPT" available; then
    echo "SKIP: PostgreSQL server binaries not found (install postgresql); store tests skipped"
    exit 0
  fi
  T_PG_DIR=$(mktemp -d /tmp/aurum-it-pg.XXXXXX)
  T_PG_URL=$(bash "$T_PG_SCRIPT" start "$T_PG_DIR") || { echo "could not start PostgreSQL"; exit 1; }
}
[ "$AU_TEST_STORE" = postgresql ] && t_pg_start

t_store_url() {
  case "$AU_TEST_STORE" in
  sqlite) echo "sqlite:$T_DIR/$1.db" ;;
  postgresql)
    local db="t_$(echo "$1" | tr -c 'A-Za-z0-9_\n' '_')"
    psql -X -q "$T_PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1 \
      || { echo "cannot create database $db" >&2; return 1; }
    echo "${T_PG_URL%/*}/$db" ;;
  *) echo "unknown AU_TEST_STORE=$AU_TEST_STORE" >&2; return 1 ;;
  esac
}

t_dest() {
  if [ "$AU_TEST_STORE" = postgresql ]; then echo "$1.$2"; else echo "$2"; fi
}

q() {
  case "$1" in
  postgresql://* | postgres://*)
    printf 'SET TimeZone = UTC;\n%s\n' "$2" | PGOPTIONS='-c client_min_messages=warning' \
      psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -f - \
      | sed -E 's/([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?)\+00/\1T\2Z/g'
    return "${PIPESTATUS[1]}" ;;
  sqlite:*) sqlite3 -batch -noheader "${1#sqlite:}" "$2" ;;
  *) sqlite3 -batch -noheader "$1" "$2" ;;
  esac
}
sql() { q "$@"; }

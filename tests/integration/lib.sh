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

# sql DB QUERY: run a query with the sqlite3 shell
sql() { sqlite3 -batch -noheader "$1" "$2"; }

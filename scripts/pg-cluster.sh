#!/usr/bin/env bash
# pg-cluster.sh - a throwaway PostgreSQL cluster for tests and benchmarks.
#
#   scripts/pg-cluster.sh start [DIR]   initdb into DIR (default: a new /tmp/aurum-pg.XXXXXX),
#                                       start on a free 127.0.0.1 port, print the URL
#   scripts/pg-cluster.sh stop DIR      stop the server (fast) and remove DIR
#   scripts/pg-cluster.sh kill DIR      stop immediately (pg_ctl stop -m immediate), keep DIR
#   scripts/pg-cluster.sh restart DIR   start a stopped cluster again on its old port
#   scripts/pg-cluster.sh url DIR       print the URL of the cluster in DIR
#   scripts/pg-cluster.sh available     exit 0 when the PostgreSQL server binaries exist
#
# The cluster trusts local connections (user "postgres", database "postgres"); its unix
# socket lives in DIR. When run as root the server runs as the unprivileged "postgres" user
# (PostgreSQL refuses root), so DIR is made accessible to that user. Environment:
# PG_BIN (default: the newest /usr/lib/postgresql/*/bin with initdb, 15+ preferred).
set -euo pipefail

find_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return 0; fi
  local d
  for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

# as_pg CMD...: run as the postgres user when we are root
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

url_of() { echo "postgresql://postgres@127.0.0.1:$(cat "$1/port")/postgres"; }

start_server() { # DIR PORT
  local dir=$1 port=$2
  as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50" \
    start >/dev/null
}

cmd=${1:-}
case "$cmd" in
available)
  find_bin >/dev/null ;;
start)
  BIN=$(find_bin) || { echo "pg-cluster: PostgreSQL server binaries not found (install postgresql)" >&2; exit 2; }
  dir=${2:-}
  [ -n "$dir" ] || dir=$(mktemp -d /tmp/aurum-pg.XXXXXX)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg-cluster: no 'postgres' user to run the server as" >&2; exit 2; }
    chown postgres "$dir"
    chmod 755 "$dir"
  fi
  as_pg "$BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  ok=""
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if start_server "$dir" "$port" 2>>"$dir/start.err"; then ok=1; break; fi
  done
  [ -n "$ok" ] || { cat "$dir/server.log" "$dir/start.err" >&2 2>/dev/null; exit 1; }
  echo "$port" >"$dir/port"
  echo "$BIN" >"$dir/bin"
  url_of "$dir" ;;
stop)
  dir=${2:?usage: pg-cluster.sh stop DIR}
  if [ -f "$dir/bin" ]; then
    BIN=$(cat "$dir/bin")
    as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" ;;
kill)
  dir=${2:?usage: pg-cluster.sh kill DIR}
  BIN=$(cat "$dir/bin")
  as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null ;;
restart)
  dir=${2:?usage: pg-cluster.sh restart DIR}
  BIN=$(cat "$dir/bin")
  start_server "$dir" "$(cat "$dir/port")"
  url_of "$dir" ;;
url)
  url_of "${2:?usage: pg-cluster.sh url DIR}" ;;
*)
  sed -n '2,16p' "$0" >&2
  exit 2 ;;
esac

#!/usr/bin/env bash
# bench_pg.sh - aurum's PostgreSQL COPY+merge against the `psql \copy` ceiling.
#   bench/bench_pg.sh [BUILD_DIR] [ROWS] [BATCH]
# Builds nothing: BUILD_DIR (default build-rel-pg) must hold bench_pg, e.g.
#   cmake -S . -B build-rel-pg -DCMAKE_BUILD_TYPE=Release -DAU_BUILD_TESTS=OFF
#   cmake --build build-rel-pg -j2 --target bench_pg
# Starts a throwaway cluster (scripts/pg-cluster.sh), runs both, removes the cluster.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-rel-pg}
rows=${2:-1000000}
batch=${3:-100000}
dir=$(mktemp -d /tmp/aurum-bench-pg.XXXXXX)
chmod 755 "$dir"
cleanup() { bash "$src/scripts/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
url=$(bash "$src/scripts/pg-cluster.sh" start "$dir/pg")
base=${url%/*}
psql -X -q "$url" -c "CREATE DATABASE bench_aurum" -c "CREATE DATABASE bench_copy" \
  -c "CREATE DATABASE bench_merge"

echo "== aurum (bench_pg, $rows rows, batches of $batch)"
/usr/bin/time -f "bench_pg: max RSS %M KiB, %e s wall" "$build/bench/bench_pg" "$base/bench_aurum" "$rows" "$batch" "$dir/rows.csv" \
  | tee "$dir/aurum.out"
echo "== aurum with the direct-COPY fast path off (AURUM_PG_DIRECT=0: staging + merge for every batch)"
AURUM_PG_DIRECT=0 "$build/bench/bench_pg" "$base/bench_merge" "$rows" "$batch" | sed -n 1p

echo "== psql \\copy of the same rows as CSV into an unindexed table (ceiling)"
psql -X -q "$base/bench_copy" -c "CREATE TABLE lmp (interval_start_utc timestamptz, interval_end_utc timestamptz,
  iso_code text, iso_market text, location_id text, location_name text, location_type text,
  lmp double precision, energy double precision, congestion double precision, loss double precision,
  ghg double precision, iso_unit text, iso_timezone text, iso_interval_minutes bigint, ingestion_time timestamptz)"
t0=$(date +%s.%N)
psql -X -q "$base/bench_copy" -c "\\copy lmp FROM '$dir/rows.csv' WITH (FORMAT csv)"
t1=$(date +%s.%N)
n=$(psql -X -At "$base/bench_copy" -c "select count(*) from lmp")
ceil=$(echo "$n / ($t1 - $t0)" | bc)
echo "psql \\copy: $n rows in $(echo "$t1 - $t0" | bc) s = $ceil rows/s"

echo "== psql \\copy of the same CSV into a table with aurum's primary key (second baseline: index upkeep)"
psql -X -q "$base/bench_copy" -c "CREATE TABLE lmp_pk (LIKE lmp INCLUDING ALL,
  PRIMARY KEY (iso_market, location_id, interval_start_utc))"
t0=$(date +%s.%N)
psql -X -q "$base/bench_copy" -c "\\copy lmp_pk FROM '$dir/rows.csv' WITH (FORMAT csv)"
t1=$(date +%s.%N)
echo "psql \\copy (indexed): $n rows in $(echo "$t1 - $t0" | bc) s = $(echo "$n / ($t1 - $t0)" | bc) rows/s"
got=$(sed -n 's/^fresh insert: .* = \([0-9]*\) rows\/s.*/\1/p' "$dir/aurum.out")
[ -n "$got" ] && echo "aurum fresh insert = $(echo "100 * $got / $ceil" | bc)% of the unindexed \\copy (target >= 50%)"

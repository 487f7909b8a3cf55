#!/usr/bin/env bash
# run_all.sh - build Release and run every benchmark, printing their figures.
#   bench/run_all.sh [BUILD_DIR]        (default build-rel)
# The figures in docs/BENCHMARKS.md come from this script's output.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-rel}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DAU_BUILD_TESTS=OFF >/dev/null
cmake --build "$B" -j"$(nproc)" >/dev/null || exit 1
run() { echo; echo "### $*"; "$@"; }
run "$B/bench/bench_aeso"
run bash bench/bench_caiso.sh "$B"
for iso in ercot pjm miso spp nyiso isone ieso; do
  [ -x "$B/bench/bench_$iso" ] && run "$B/bench/bench_$iso"
done
run bash bench/bench_backfill.sh "$B"
run "$B/bench/bench_sqlite"
run bash bench/bench_pg.sh "$B" 1000000 100000
[ -x "$B/bench/bench_kafka" ] && run bash bench/bench_kafka.sh "$B" 1000000
exit 0

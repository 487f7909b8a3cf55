#!/usr/bin/env bash
# bench_backfill.sh BUILD_DIR - the backfill benchmark matrix (see bench_backfill.c).
# AESO pool price: 5- and 30-day chunks at 0 and 50 ms simulated latency, concurrency 1, 2 and 4.
# CAISO DAM LMP for 10 nodes (one request per chunk): 30-day chunks at 50 ms simulated latency,
# concurrency 1, 2 and 4. Then peak RSS of 1 month vs 1 year for each (concurrency 4, latency 0).
B=${1:-/work/main/build-rel-bf}/bench/bench_backfill
for lat in 0 0.05; do
  for chunk in 5 30; do
    for c in 1 2 4; do "$B" aeso 365 "$c" "$lat" "$chunk"; done
  done
done
for c in 1 2 4; do "$B" caiso 365 "$c" 0.05 30; done
for src in aeso caiso; do
  echo "--- $src peak RSS: 1 month vs 1 year (concurrency 4, latency 0) ---"
  "$B" "$src" 30 4 0 30 | grep -E 'days|RSS'
  "$B" "$src" 365 4 0 30 | grep -E 'days|RSS'
done

#!/usr/bin/env bash
# bench_backfill.sh [BUILD_DIR] - the backfill benchmark matrix (see bench_backfill.c).
#
# 1. Overhead beyond the requests (the target): a year of CAISO DAM LMP for 10 nodes (one
#    OASIS request per chunk) and a year of AESO pool price, chunks of 31 days (CAISO's
#    default; 12 chunks = 12, 6 and 3 per worker at concurrency 1, 2, 4, so sum/C is a
#    reachable bound), 0.5 s per answer (an operator answering a month of data; OASIS
#    takes seconds), rate limit and spacing 0.
# 1c. CAISO at concurrency 4 at 0.25, 1 and 2 s per answer (the absolute overhead stays ~0.15 s).
# 2. The same at 50 ms per answer, and AESO in its default 30-day chunks (13 chunks: the
#    last round runs one chunk, so sum/C is below what any client can reach; the best
#    schedule of the same answers is printed as "requests-only bound").
# 3. Peak RSS of 1 month vs 1 year, latency 0: concurrency 1 in 31-day chunks, concurrency 4
#    in 7-day chunks (a month is 5 chunks, so both runs keep 4 workers busy), and
#    concurrency 4 in 31-day chunks (a month is a single chunk on one worker).
B=${1:-build-rel}/bench/bench_backfill
echo "=== 1. overhead, 0.5 s per answer, 31-day chunks"
for src in caiso aeso; do
  for c in 1 2 4; do "$B" "$src" 365 "$c" 0.5 31; done
done
echo "=== 1b. the same over two years of CAISO at concurrency 4 (six rounds instead of three)"
"$B" caiso 730 4 0.5 31
echo "=== 1c. a year of CAISO at concurrency 4 by answer time: what aurum adds is a per-run cost in seconds"
for a in 0.25 1 2; do "$B" caiso 365 4 "$a" 31 | grep -E "^bench|overhead beyond requests|work per chunk"; done
echo "=== 2. overhead, 50 ms per answer"
for src in caiso aeso; do
  for c in 1 2 4; do "$B" "$src" 365 "$c" 0.05 31; done
done
for c in 1 2 4; do "$B" aeso 365 "$c" 0.05 30; done
echo "=== 3. peak RSS, 1 month vs 1 year (latency 0)"
for src in caiso aeso; do
  for cc in "1 31" "4 7" "4 31"; do
    set -- $cc
    m=$("$B" "$src" 30 "$1" 0 "$2" | sed -n 's/.*peak RSS *\([0-9.]*\) MB/\1/p')
    y=$("$B" "$src" 365 "$1" 0 "$2" | sed -n 's/.*peak RSS *\([0-9.]*\) MB/\1/p')
    awk -v s="$src" -v c="$1" -v k="$2" -v m="$m" -v y="$y" \
      'BEGIN { printf "%-5s concurrency %d, %2d-day chunks: month %.1f MB, year %.1f MB, year/month %.2f  target <= 1.2\n", s, c, k, m, y, y / m }'
  done
done

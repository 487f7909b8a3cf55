#!/usr/bin/env bash
# bench_caiso.sh [BUILD_DIR]: run bench_caiso (fetches the simulated ZIPs into /tmp and measures
# parse+pivot vs raw inflate in-process), then time `unzip -p FILE > /dev/null` on the same ZIPs.
set -eu
B=${1:-/work/main/build-rel}
"$B/bench/bench_caiso" /tmp
for f in /tmp/caiso_dam_all.zip /tmp/caiso_dam_10x31.zip; do
  best=999
  for _ in 1 2 3 4 5; do
    s=$(date +%s.%N); unzip -p "$f" >/dev/null; e=$(date +%s.%N)
    t=$(echo "($e - $s) * 1000" | bc -l)
    best=$(echo "if ($t < $best) $t else $best" | bc -l)
  done
  printf '%s: unzip -p > /dev/null best of 5: %.1f ms\n' "$f" "$best"
done

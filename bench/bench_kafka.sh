#!/usr/bin/env bash
# bench_kafka.sh - Kafka sink throughput vs. kcat -P, both against `aurum kafka-mock --brokers 3`.
#   bench/bench_kafka.sh [BUILD_DIR] [ROWS]    (default build-rel-kafka, 1000000)
# Build first:  cmake -S . -B build-rel-kafka -DCMAKE_BUILD_TYPE=Release -DAU_BUILD_TESTS=OFF
#               cmake --build build-rel-kafka -j2 --target aurum bench_kafka
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build-rel-kafka}
ROWS=${2:-1000000}
AURUM=$B/aurum
BENCH=$B/bench/bench_kafka
TMP=$(mktemp -d /tmp/aurum-bench-kafka.XXXXXX)
MOCK=""; STUB=""
cleanup() {
  [ -n "$MOCK" ] && kill "$MOCK" 2>/dev/null; [ -n "$STUB" ] && kill "$STUB" 2>/dev/null
  wait 2>/dev/null; rm -rf "$TMP"
}
trap cleanup EXIT
"$AURUM" kafka-mock --brokers 3 --topic bench.json:4 --topic bench.avro:4 --topic bench.kcat:4 \
  --topic bench.json.nh:4 --topic bench.avro.nh:4 \
  --log-level warn </dev/null >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK=$!
python3 "$SRC/tests/tools/schema_registry_stub.py" >"$TMP/stub.out" 2>&1 &
STUB=$!
for _ in $(seq 100); do [ -s "$TMP/mock.out" ] && grep -q listening "$TMP/stub.out" && break; sleep 0.05; done
BS=$(head -1 "$TMP/mock.out")
REG=$(sed -n 's/^listening on //p' "$TMP/stub.out")
echo "mock cluster: $BS   registry stub: $REG   rows: $ROWS"
export AURUM_SCHEMA_DIR=$SRC/schemas
"$BENCH" --bootstrap "$BS" --rows "$ROWS" --format json
"$BENCH" --bootstrap "$BS" --rows "$ROWS" --format avro --registry "$REG"
echo "without record headers (kafka: headers: false; kcat sends none either):"
"$BENCH" --bootstrap "$BS" --rows "$ROWS" --format json --topic bench.json.nh headers=false
"$BENCH" --bootstrap "$BS" --rows "$ROWS" --format avro --registry "$REG" --topic bench.avro.nh headers=false
# baseline: kcat producing the same records (key<TAB>JSON value lines), idempotent + acks=all
"$BENCH" --rows "$ROWS" --dump "$TMP/lines.txt"
bytes=$(( $(wc -c <"$TMP/lines.txt") - ROWS * 2 ))  # minus the tab and newline of each line
/usr/bin/time -f "%e %M" -o "$TMP/kcat.time" kcat -P -b "$BS" -t bench.kcat -K $'\t' -l \
  -X enable.idempotence=true -X acks=all -X linger.ms=20 "$TMP/lines.txt"
read -r secs rss <"$TMP/kcat.time"
awk -v s="$secs" -v n="$ROWS" -v b="$bytes" -v r="$rss" \
  'BEGIN { printf "kcat -P     json rows %d: %.2f s, %.0f msg/s, %.1f MB/s, peak RSS %d MB\n", n, s, n / s, b / s / 1e6, r / 1024 }'
# messages in each topic: sum of the partitions' last offsets + 1 (kcat -C -e stops early
# on large mock-cluster topics, so count by offsets)
for t in bench.json bench.avro bench.json.nh bench.avro.nh bench.kcat; do
  n=0
  for p in 0 1 2 3; do
    o=$(timeout 20 kcat -C -b "$BS" -t $t -p $p -o -1 -c 1 -e -q -f '%o\n')
    n=$((n + ${o:--1} + 1))
  done
  echo "$t: $n messages"
done

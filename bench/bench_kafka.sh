#!/usr/bin/env bash
# bench_kafka.sh - Kafka sink throughput vs. kcat -P, both against `aurum kafka-mock --brokers 3`.
#   bench/bench_kafka.sh [BUILD_DIR] [ROWS] [REPEAT]    (default build-rel, 1000000, 3)
# Build first:  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DAU_BUILD_TESTS=OFF
#               cmake --build build-rel -j2 --target aurum bench_kafka
#
# Every line is one run on the same fresh mock cluster (3 brokers, 4 partitions per topic):
#   aurum, one batch of ROWS rows (write + flush once: what kcat does, one wait at the end)
#   aurum, batches of 50,000 rows (a delivery barrier every 50k rows, as a sync of 50k-row
#          windows pays: the store commits only after every report of its batch)
#   kcat -P with the same records: key<TAB>JSON value lines, and the same three headers
#          (-H source= -H table= -H schema_version=), or no headers against headers=false.
# Both producers: idempotent, acks=all, linger.ms=20; aurum partitions with murmur2 (its
# default), kcat with librdkafka's default. Topics are checked to hold every message.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build-rel}
ROWS=${2:-1000000}
REPEAT=${3:-3}
AURUM=$B/aurum
BENCH=$B/bench/bench_kafka
TMP=$(mktemp -d /tmp/aurum-bench-kafka.XXXXXX)
MOCK=""; STUB=""
cleanup() {
  [ -n "$MOCK" ] && kill "$MOCK" 2>/dev/null; [ -n "$STUB" ] && kill "$STUB" 2>/dev/null
  wait 2>/dev/null; rm -rf "$TMP"
}
trap cleanup EXIT
TOPICS="json avro json.nh avro.nh json.50k avro.50k kcat kcat.nh"
args=()
for t in $TOPICS; do args+=(--topic "bench.$t:4"); done
"$AURUM" kafka-mock --brokers 3 "${args[@]}" --log-level warn </dev/null >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK=$!
python3 "$SRC/tests/tools/schema_registry_stub.py" >"$TMP/stub.out" 2>&1 &
STUB=$!
for _ in $(seq 100); do [ -s "$TMP/mock.out" ] && grep -q listening "$TMP/stub.out" && break; sleep 0.05; done
BS=$(head -1 "$TMP/mock.out")
REG=$(sed -n 's/^listening on //p' "$TMP/stub.out")
echo "mock cluster: $BS   registry stub: $REG   rows: $ROWS   runs each: $REPEAT   $(nproc) CPUs"
export AURUM_SCHEMA_DIR=$SRC/schemas
"$BENCH" --rows "$ROWS" --dump "$TMP/lines.txt"
bytes=$(( $(wc -c <"$TMP/lines.txt") - ROWS * 2 ))  # minus the tab and newline of each line
kcat_run() { # label topic [kcat args...]
  local label=$1 topic=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$TMP/kcat.time" kcat -P -b "$BS" -t "$topic" -K $'\t' -l \
    -X enable.idempotence=true -X acks=all -X linger.ms=20 "$@" "$TMP/lines.txt"
  read -r secs rss <"$TMP/kcat.time"
  awk -v l="$label" -v s="$secs" -v n="$ROWS" -v b="$bytes" -v r="$rss" \
    'BEGIN { printf "%-34s %.2f s, %.0f msg/s, %.1f MB/s, peak RSS %d MB\n", l, s, n / s, b / s / 1e6, r / 1024 }'
}
for _ in $(seq "$REPEAT"); do
  echo "-- one batch of $ROWS rows, record headers source/table/schema_version (default)"
  "$BENCH" --bootstrap "$BS" --rows "$ROWS" --batch "$ROWS" --format json --topic bench.json
  "$BENCH" --bootstrap "$BS" --rows "$ROWS" --batch "$ROWS" --format avro --registry "$REG" --topic bench.avro
  kcat_run "kcat -P json, same 3 headers" bench.kcat -H source=caiso -H table=lmp_dam -H schema_version=1
  echo "-- one batch, no record headers (headers: false)"
  "$BENCH" --bootstrap "$BS" --rows "$ROWS" --batch "$ROWS" --format json --topic bench.json.nh headers=false
  "$BENCH" --bootstrap "$BS" --rows "$ROWS" --batch "$ROWS" --format avro --registry "$REG" --topic bench.avro.nh \
    headers=false
  kcat_run "kcat -P json, no headers" bench.kcat.nh
  echo "-- batches of 50000 rows with headers (a delivery barrier per batch)"
  "$BENCH" --bootstrap "$BS" --rows "$ROWS" --batch 50000 --format json --topic bench.json.50k
  "$BENCH" --bootstrap "$BS" --rows "$ROWS" --batch 50000 --format avro --registry "$REG" --topic bench.avro.50k
done
# messages in each topic: sum of the partitions' last offsets + 1 (kcat -C -e stops early
# on large mock-cluster topics, so count by offsets)
want=$((ROWS * REPEAT))
for t in $TOPICS; do
  n=0
  for p in 0 1 2 3; do
    o=$(timeout 20 kcat -C -b "$BS" -t "bench.$t" -p $p -o -1 -c 1 -e -q -f '%o\n')
    n=$((n + ${o:--1} + 1))
  done
  echo "bench.$t: $n messages (expected $want)"
done

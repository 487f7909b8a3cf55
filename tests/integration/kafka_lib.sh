# kafka_lib.sh - Kafka helpers for the integration tests (sourced after lib.sh):
# a 3-broker librdkafka mock cluster (`aurum kafka-mock`) controlled through a FIFO on
# its stdin, an independent consumer (Debian kcat) and the message/store checker.
KCAT=$(command -v kcat || command -v kafkacat || true)
PYAVRO=/usr/bin/python3 # Debian's python3 has python3-avro
[ -x "$PYAVRO" ] || PYAVRO=python3
TOOLS=${AU_TESTS_DIR:-$(dirname "$0")/..}/tools
MOCK_PID=""
BS=""
STUB_PID=""
REG=""

kafka_cleanup() {
  [ -n "$MOCK_PID" ] && { exec 7>&- 2>/dev/null; kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null; }
  [ -n "$STUB_PID" ] && { kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; }
  t_cleanup
}
trap kafka_cleanup EXIT

need_kafka_tools() {
  if [ -z "$KCAT" ]; then echo "SKIP: kcat is not installed"; exit 0; fi
}

# start_mock [kafka-mock options]: sets BS (bootstrap servers); commands go to fd 7
start_mock() {
  mkfifo "$T_DIR/mock.ctl"
  "$AURUM" kafka-mock "$@" <"$T_DIR/mock.ctl" >"$T_DIR/mock.out" 2>"$T_DIR/mock.err" &
  MOCK_PID=$!
  exec 7>"$T_DIR/mock.ctl"
  for _ in $(seq 1 100); do
    BS=$(head -1 "$T_DIR/mock.out" 2>/dev/null)
    [ -n "$BS" ] && break
    sleep 0.05
  done
  if [ -z "$BS" ]; then echo "kafka-mock did not start:"; cat "$T_DIR/mock.err"; exit 1; fi
}
# mock_cmd LINE: send a control command and wait for its answer
mock_cmd() {
  local before
  before=$(wc -l <"$T_DIR/mock.out")
  echo "$*" >&7
  for _ in $(seq 1 100); do
    [ "$(wc -l <"$T_DIR/mock.out")" -gt "$before" ] && break
    sleep 0.02
  done
  tail -1 "$T_DIR/mock.out"
}

start_stub() {
  python3 "$TOOLS/schema_registry_stub.py" "$@" >"$T_DIR/stub.out" 2>"$T_DIR/stub.err" &
  STUB_PID=$!
  for _ in $(seq 1 100); do
    REG=$(sed -n 's|^listening on ||p' "$T_DIR/stub.out")
    [ -n "$REG" ] && break
    sleep 0.05
  done
  if [ -z "$REG" ]; then echo "schema registry stub did not start:"; cat "$T_DIR/stub.err"; exit 1; fi
}

# consume TOPIC: every message as '%h\n%K:%k%S:%s' (headers, length-prefixed key/value)
consume() {
  timeout 60 "$KCAT" -C -b "$BS" -t "$1" -o beginning -e -q -f '%h\n%K:%k%S:%s'
}
# check_topic TOPIC DB [kafka_check options]: prints the checker's "name value" lines
check_topic() {
  local topic=$1 db=$2
  shift 2
  consume "$topic" | "$PYAVRO" "$TOOLS/kafka_check.py" --db "$db" --table aeso_pool_price \
    --key begin_datetime_utc --time-cols begin_datetime_utc,ingestion_time --cursor begin_datetime_utc \
    --source aeso "$@"
}
# field NAME TEXT: the value of "NAME value" in the checker output
field() { echo "$2" | sed -n "s/^$1 //p"; }
# expect_exact NAME CHECK_OUTPUT ROWS: exactly ROWS messages, one per stored row, equal values
expect_exact() {
  check_eq "$1: messages = stored rows" "$(field messages "$2")" "$3"
  check_eq "$1: no duplicate keys" "$(field duplicates "$2")" 0
  check_eq "$1: no stored row missing" "$(field missing "$2")" 0
  check_eq "$1: decoded values match the store" "$(field mismatches "$2")" 0
  check_eq "$1: envelope (event_id, occurred_at, tenant, producer)" "$(field bad_envelope "$2")" 0
  check_eq "$1: headers (source, schema_version)" "$(field headers_ok "$2")" "$3"
}
# wait_log FILE PATTERN [TRIES]: wait until PATTERN appears in FILE
wait_log() {
  for _ in $(seq 1 "${3:-600}"); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

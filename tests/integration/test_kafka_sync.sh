#!/usr/bin/env bash
# Kafka sink (JSON) against librdkafka's mock cluster (3 brokers, `aurum kafka-mock`), read
# back with kcat: exactly the stored rows once each; re-syncs send only changes; injected
# produce errors and a broker down mid-batch neither lose nor duplicate messages; a
# Kafka outage fails the run with the watermark unchanged and the rerun sends everything once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_kafka_tools

export AESO_API_KEY=test-key
export AURUM_NOW=2024-03-15T12:00:00Z
start_sim --now 2024-03-15T12:00:00Z --aeso-api-key test-key --seed 7
export AURUM_AESO_BASE=$SIM
start_mock --brokers 3
check_eq "mock cluster has 3 brokers" "$(echo "$BS" | tr ',' '\n' | grep -c '^127.0.0.1:')" 3

# --- config: sinks [store, kafka], default topic ---
DB=$T_DIR/a.db
cat >"$T_DIR/aurum.yaml" <<YAML
kafka:
  bootstrap_servers: $BS
tables:
  - table: aeso.pool_price
    start_date: 2024-03-01
    batch_size_days: 4
    rate_limit_delay: 0
    sinks: [store, kafka]
YAML
TOPIC=ingestion.market.aeso.pool_price.raw.v1
"$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB" sync >"$T_DIR/s1.out" 2>"$T_DIR/s1.err"; rc=$?
check_eq "sync with the kafka sink: exit code" "$rc" 0
check_contains "sink logs its topic" "$(cat "$T_DIR/s1.err")" "topic $TOPIC"
check_eq "stored rows" "$(sql "$DB" 'select count(*) from aeso_pool_price')" 359
out=$(check_topic $TOPIC "$DB")
expect_exact "initial load" "$out" 359
key=$(consume $TOPIC | sed -n '2p' | sed 's/^[0-9]*:\(\[[^]]*\]\).*/\1/')
check_contains "key is the JSON array of the primary key" "$key" '["2024-03-'

# --- a re-sync at the same clock sends nothing ---
"$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB" sync >/dev/null 2>&1
out=$(check_topic $TOPIC "$DB")
check_eq "re-sync sends nothing" "$(field messages "$out")" 359

# --- revisions and newly settled hours: one message per inserted/updated row ---
sim_post "/_sim/revise?start=2024-03-15T02:00:00Z&end=2024-03-15T03:00:00Z&delta=7"
export AURUM_NOW=2024-03-15T14:00:00Z
sim_post "/_sim/clock?now=2024-03-15T14:00:00Z"
s=$("$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB" sync 2>/dev/null)
ins=$(echo "$s" | sed -n 's/.*inserted \([0-9]*\),.*/\1/p')
upd=$(echo "$s" | sed -n 's/.*updated \([0-9]*\),.*/\1/p')
check_ne "incremental sync changed rows" "$((ins + upd))" 0
out=$(check_topic $TOPIC "$DB" --latest)
check_eq "incremental: messages = previous + inserted + updated" "$(field messages "$out")" "$((359 + ins + upd))"
check_eq "incremental: the latest message of every key equals the store" "$(field mismatches "$out")" 0
check_eq "incremental: every stored row has a message" "$(field missing "$out")" 0

# --- --sink kafka for one run, env bootstrap, per-table topic; injected produce errors ---
cat >"$T_DIR/f.yaml" <<YAML
batch_retries: 3
kafka:
  properties.message.timeout.ms: 3000
tables:
  - table: aeso.pool_price
    start_date: 2024-03-01
    batch_size_days: 4
    rate_limit_delay: 0
    kafka:
      topic: it.produce-errors
YAML
check_eq "inject non-retriable produce errors" "$(mock_cmd fail-produce 5 TOPIC_AUTHORIZATION_FAILED)" ok
check_eq "inject retriable produce errors" "$(mock_cmd fail-produce 4 NOT_LEADER_FOR_PARTITION)" ok
DB2=$T_DIR/f.db
KAFKA_BOOTSTRAP_SERVERS=$BS "$AURUM" --config "$T_DIR/f.yaml" --store "sqlite:$DB2" sync --sink kafka \
  >"$T_DIR/f.out" 2>"$T_DIR/f.err"; rc=$?
check_eq "produce errors: sync completes (batch retried)" "$rc" 0
check_contains "produce errors: the batch failed once and was retried" "$(cat "$T_DIR/f.err")" "not delivered"
out=$(check_topic it.produce-errors "$DB2")
expect_exact "produce errors" "$out" 359

# --- a broker goes down mid-run; it comes back while the batch is being retried ---
sed -i 's/it.produce-errors/it.broker-down/' "$T_DIR/f.yaml"
DB3=$T_DIR/d.db
: >"$T_DIR/d.err"
KAFKA_BOOTSTRAP_SERVERS=$BS "$AURUM" --config "$T_DIR/f.yaml" --store "sqlite:$DB3" sync --sink kafka \
  >"$T_DIR/d.out" 2>"$T_DIR/d.err" &
SYNC_PID=$!
wait_log "$T_DIR/d.err" "rows (inserted" || fail "broker down: first batch never committed"
# the leader of partition 0 (the topic exists once the first batch is in)
leader=$(timeout 20 "$KCAT" -L -b "$BS" -t it.broker-down | sed -n 's/.*partition 0, leader \([0-9]*\),.*/\1/p')
check_ne "broker down: partition 0 has a leader" "${leader:-none}" none
check_eq "broker $leader down after the first batch" "$(mock_cmd down "$leader")" ok
wait_log "$T_DIR/d.err" "failed (attempt 1" 600 || fail "broker down: no batch failed"
check_eq "broker $leader back up" "$(mock_cmd up "$leader")" ok
wait $SYNC_PID; rc=$?
check_eq "broker down: sync completes after the retry" "$rc" 0
check_contains "broker down: delivery failure was reported" "$(cat "$T_DIR/d.err")" "not delivered"
check_eq "broker down: stored rows" "$(sql "$DB3" 'select count(*) from aeso_pool_price')" 359
out=$(check_topic it.broker-down "$DB3")
expect_exact "broker down" "$out" 359

# --- Kafka unreachable: the run fails, nothing is committed; the rerun sends all once ---
sed -i 's/it.broker-down/it.outage/; s/batch_retries: 3/batch_retries: 0/; s/message.timeout.ms: 3000/message.timeout.ms: 1500/' "$T_DIR/f.yaml"
DB4=$T_DIR/o.db
for b in 1 2 3; do mock_cmd down $b >/dev/null; done
KAFKA_BOOTSTRAP_SERVERS=$BS "$AURUM" --config "$T_DIR/f.yaml" --store "sqlite:$DB4" sync --sink kafka \
  >"$T_DIR/o.out" 2>"$T_DIR/o.err"; rc=$?
check_eq "outage: sync fails" "$rc" 1
check_contains "outage: the error names the sink" "$(cat "$T_DIR/o.err")" "sink kafka"
check_eq "outage: nothing stored" "$(sql "$DB4" 'select count(*) from aeso_pool_price')" 0
check_eq "outage: no watermark" "$(sql "$DB4" "select count(*) from aurum_state where watermark is not null")" 0
for b in 1 2 3; do mock_cmd up $b >/dev/null; done
KAFKA_BOOTSTRAP_SERVERS=$BS "$AURUM" --config "$T_DIR/f.yaml" --store "sqlite:$DB4" sync --sink kafka \
  >"$T_DIR/o2.out" 2>"$T_DIR/o2.err"; rc=$?
check_eq "outage: rerun succeeds" "$rc" 0
check_eq "outage: watermark set by the rerun" \
  "$(sql "$DB4" "select watermark from aurum_state where table_key='aeso.pool_price'")" "2024-03-15T13:00:00Z"
out=$(check_topic it.outage "$DB4")
expect_exact "outage rerun" "$out" "$(sql "$DB4" 'select count(*) from aeso_pool_price')"

# --- configuration errors ---
KAFKA_BOOTSTRAP_SERVERS= "$AURUM" --config "$T_DIR/f.yaml" --store "sqlite:$T_DIR/e.db" sync --sink kafka \
  >/dev/null 2>"$T_DIR/e1.err"; rc=$?
check_eq "no bootstrap servers: config error" "$rc" 4
check_contains "no bootstrap servers: names the setting" "$(cat "$T_DIR/e1.err")" "KAFKA_BOOTSTRAP_SERVERS"
cat >"$T_DIR/bad.yaml" <<YAML
kafka:
  bootstrap_servers: $BS
  format: protobuf
tables:
  - table: aeso.pool_price
    sinks: [store, kafka]
YAML
"$AURUM" --config "$T_DIR/bad.yaml" --store "sqlite:$T_DIR/e3.db" sync >/dev/null 2>"$T_DIR/e3.err"; rc=$?
check_eq "unknown format: config error" "$rc" 4
check_contains "unknown format: message" "$(cat "$T_DIR/e3.err")" "format must be json or avro"
sed -i 's/format: protobuf/properties.no.such.property: 1/' "$T_DIR/bad.yaml"
"$AURUM" --config "$T_DIR/bad.yaml" --store "sqlite:$T_DIR/e3.db" sync >/dev/null 2>"$T_DIR/e4.err"; rc=$?
check_eq "unknown librdkafka property: config error" "$rc" 4
check_contains "unknown librdkafka property: message" "$(cat "$T_DIR/e4.err")" "no.such.property"

t_done

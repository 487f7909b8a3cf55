#!/usr/bin/env bash
# Kafka sink, Avro: the shipped .avsc is registered verbatim with a Schema Registry (local
# stub) under <topic>-value; every value is Confluent-framed (magic 0, the registered id)
# and decodes with python3-avro against the shipped schema to exactly the stored rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_kafka_tools
if ! "$PYAVRO" -c 'import avro.io' 2>/dev/null; then echo "SKIP: python3-avro is not installed"; exit 0; fi
SCHEMA=${AU_SRC_DIR:-$(dirname "$0")/../..}/schemas/aeso.pool_price.avsc

export AESO_API_KEY=test-key
export AURUM_NOW=2024-03-15T12:00:00Z
start_sim --now 2024-03-15T12:00:00Z --aeso-api-key test-key --seed 7
export AURUM_AESO_BASE=$SIM
start_mock --brokers 3
start_stub --first-id 41
export KAFKA_BOOTSTRAP_SERVERS=$BS SCHEMA_REGISTRY_URL=$REG

DB=$T_DIR/a.db
cat >"$T_DIR/aurum.yaml" <<YAML
kafka:
  format: avro
  tenant_id: acme
tables:
  - table: aeso.pool_price
    start_date: 2024-03-01
    batch_size_days: 4
    rate_limit_delay: 0
    sinks: [store, kafka]
YAML
TOPIC=ingestion.market.aeso.pool_price.raw.v1
"$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB" sync >"$T_DIR/s1.out" 2>"$T_DIR/s1.err"; rc=$?
check_eq "avro sync: exit code" "$rc" 0
check_eq "subject registered" "$(curl -sf "$REG/subjects")" "[\"$TOPIC-value\"]"
check_contains "the shipped schema was used" "$(cat "$T_DIR/s1.err")" "aeso.pool_price.avsc registered"
reg_text=$(curl -sf "$REG/schemas/ids/41" | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["schema"])')
if [ "$reg_text" = "$(cat "$SCHEMA")" ]; then ok "registered schema text is the .avsc verbatim (logicalType kept)"; else
  fail "registered schema differs from $SCHEMA"; fi
check_contains "registered schema keeps logicalType" "$reg_text" "timestamp-micros"
out=$(check_topic $TOPIC "$DB" --format avro --schema "$SCHEMA" --tenant acme)
expect_exact "avro" "$out" 359
check_eq "every value carries the registered schema id" "$(field schema_ids "$out")" 41

# --- a second run: same id (registry is idempotent), only changes are sent ---
export AURUM_NOW=2024-03-15T14:00:00Z
sim_post "/_sim/clock?now=2024-03-15T14:00:00Z"
s=$("$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB" sync 2>/dev/null)
ins=$(echo "$s" | sed -n 's/.*inserted \([0-9]*\),.*/\1/p')
upd=$(echo "$s" | sed -n 's/.*updated \([0-9]*\),.*/\1/p')
out=$(check_topic $TOPIC "$DB" --format avro --schema "$SCHEMA" --tenant acme --latest)
check_eq "second run: messages = previous + inserted + updated" "$(field messages "$out")" "$((359 + ins + upd))"
check_eq "second run: latest message per key equals the store" "$(field mismatches "$out")" 0
check_eq "second run: same schema id" "$(field schema_ids "$out")" 41
check_eq "registry still has one version" "$(curl -sf "$REG/subjects/$TOPIC-value/versions")" "[1]"

# --- registry down: the run fails before anything is stored or sent ---
DB2=$T_DIR/b.db
SCHEMA_REGISTRY_URL=http://127.0.0.1:1 "$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB2" sync \
  >/dev/null 2>"$T_DIR/e.err"; rc=$?
check_ne "registry unreachable: sync fails" "$rc" 0
check_contains "registry unreachable: error names the registry" "$(cat "$T_DIR/e.err")" "schema registry"
check_eq "registry unreachable: nothing stored" "$(sql "$DB2" 'select count(*) from aeso_pool_price' 2>/dev/null || echo 0)" 0

# --- avro without a registry URL is a configuration error ---
SCHEMA_REGISTRY_URL= "$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB2" sync >/dev/null 2>"$T_DIR/e2.err"; rc=$?
check_eq "avro without registry: config error" "$rc" 4
check_contains "avro without registry: message" "$(cat "$T_DIR/e2.err")" "SCHEMA_REGISTRY_URL"

t_done

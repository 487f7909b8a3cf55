#!/usr/bin/env bash
# The seed-compatible Lakeflow pipeline spec and connection JSON, as written in the issue.
. "$(dirname "$0")/lib.sh"

export AURUM_NOW=2024-01-10T12:00:00Z
start_sim --now 2024-01-10T12:00:00Z --aeso-api-key from-conn-json
unset AESO_API_KEY
cat >"$T_DIR/spec.json" <<JSON
{"pipeline_spec":{"connection_name":"aeso_connection","object":[{"table":{"source_table":
"pool_price","destination_catalog":"main","destination_schema":"bronze","destination_table":
"aeso_pool_price_bronze","scd_type":"SCD_TYPE_1","table_configuration":{"start_date":"2024-01-01","lookback_hours":"24",
"batch_size_days":"7","rate_limit_delay":"0.5"}}}]}}
JSON
cat >"$T_DIR/spec2.json" <<JSON
{"pipeline_spec":{"connection_name":"aeso_connection","object":[{"table":{"source_table":"pool_price",
"destination_catalog":"main","destination_schema":"bronze","destination_table":"pp2",
"table_configuration":{"scd_type":"SCD_TYPE_1","start_date":"2024-01-05","lookback_hours":48,
"batch_size_days":3,"rate_limit_delay":0,"sequence_by":"ingestion_time"}}}]}}
JSON
echo "{\"api_key\":\"from-conn-json\",\"base_url\":\"$SIM\"}" >"$T_DIR/conn.json"
DB=$(t_store_url spec)

t0=$(date +%s.%N)
out=$("$AURUM" --store "$DB" sync --pipeline-spec "$T_DIR/spec.json" --connection "$T_DIR/conn.json" 2>"$T_DIR/err"); rc=$?
t1=$(date +%s.%N)
check_eq "spec sync exit code" "$rc" 0
[ "$rc" -eq 0 ] || cat "$T_DIR/err"
check_eq "rows in destination_table" "$(sql $DB "select count(*) from $(t_dest bronze aeso_pool_price_bronze)")" 240
check_contains "summary names the table" "$out" "aeso.pool_price"
# 10 days in batches of 7 = 2 requests, 0.5 s apart
check_eq "rate_limit_delay spaces the calls" "$(echo "$t1 - $t0 >= 0.5" | bc)" 1

out=$("$AURUM" --store "$DB" sync --pipeline-spec "$T_DIR/spec2.json" --connection "$T_DIR/conn.json" 2>"$T_DIR/err"); rc=$?
check_eq "numeric spec, scd_type in table_configuration" "$rc" 0
check_eq "rows in second destination" "$(sql $DB "select count(*) from $(t_dest bronze pp2)")" 144
check_eq "requests: 6 days in batches of 3" "$(sim_get /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["handlers"]["aeso"])' 2>/dev/null || echo '?')" 4

echo '{"pipeline_spec":{"object":[{"table":{"source_table":"pool_price","table_configuration":{"scd_type":"SCD_TYPE_2"}}}]}}' >"$T_DIR/bad.json"
"$AURUM" --store "$DB" sync --pipeline-spec "$T_DIR/bad.json" --connection "$T_DIR/conn.json" >/dev/null 2>"$T_DIR/err"; rc=$?
check_eq "unsupported scd_type is a config error" "$rc" 4
check_contains "message explains" "$(cat "$T_DIR/err")" "SCD_TYPE_1"
t_done

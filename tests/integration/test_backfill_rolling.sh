#!/usr/bin/env bash
# Rolling backfill (the seed's AURUM_BACKFILL_* settings) and hourly quotas that make a job
# wait instead of failing.
. "$(dirname "$0")/lib.sh"
export AURUM_NOW=2024-03-20T12:00:00Z AESO_API_KEY=k
start_sim --now 2024-03-20T12:00:00Z
export AURUM_AESO_BASE=$SIM
DB=$T_DIR/r.db

# --- rolling: the newest undone days of the history window, DAYS at a time, resumable ---
export AURUM_BACKFILL_SOURCE=aeso.pool_price AURUM_BACKFILL_DAYS=3 AURUM_BACKFILL_HISTORY_LIMIT=10
want_rows=(72 144 216 239 239)   # 2024-03-10 (spring forward) has 23 hours
for i in 0 1 2 3 4; do
  out=$("$AURUM" --store "sqlite:$DB" backfill --rolling 2>/dev/null); rc=$?
  check_eq "rolling run $((i + 1)) exit code" "$rc" 0
  check_eq "rolling run $((i + 1)) rows" "$(sql "$DB" 'select count(*) from aeso_pool_price')" "${want_rows[$i]}"
done
check_contains "last run finds the window done" "$out" "all 10 days of the history window are done"
check_eq "progress recorded under the watermark key" \
  "$(sql "$DB" "select details from aurum_state where table_key='rolling:default:aeso.pool_price'")" '{"done":"2024-03-10/2024-03-19"}'
check_eq "never before the history limit" "$(sql "$DB" 'select min(begin_datetime_utc) from aeso_pool_price')" "2024-03-10T07:00:00Z"
check_eq "the incremental watermark is untouched" \
  "$(sql "$DB" "select count(*) from aurum_state where table_key='aeso.pool_price'")" 0

# --- rolling with a command template: one command per day, newest first ---
AURUM_BACKFILL_COMMAND_TEMPLATE="echo {date} {next_date} >> $T_DIR/days.txt" AURUM_BACKFILL_WATERMARK_KEY=tmpl \
  "$AURUM" --store "sqlite:$DB" backfill --rolling >/dev/null 2>&1
check_eq "template ran once per day with the day substituted" "$(cat "$T_DIR/days.txt")" \
  "$(printf '2024-03-19 2024-03-20\n2024-03-18 2024-03-19\n2024-03-17 2024-03-18')"
AURUM_BACKFILL_COMMAND_TEMPLATE="false" AURUM_BACKFILL_WATERMARK_KEY=failing AURUM_BACKFILL_DAYS=1 \
  "$AURUM" --store "sqlite:$DB" backfill --rolling >/dev/null 2>&1; rc=$?
check_ne "a failing command fails the run" "$rc" 0
check_eq "a failed day is not recorded as done" \
  "$(sql "$DB" "select count(*) from aurum_state where table_key='rolling:failing:aeso.pool_price' and details like '%2024-03-19%'")" 0
unset AURUM_BACKFILL_SOURCE AURUM_BACKFILL_DAYS AURUM_BACKFILL_HISTORY_LIMIT

# --- quota: a job that would exceed max_records_per_hour waits (does not fail) ---
cat >"$T_DIR/q.yaml" <<YAML
tables:
  - table: aeso.pool_price
    rate_limit_delay: 0
    max_records_per_hour: 50
YAML
QDB=$T_DIR/q.db
timeout 5 "$AURUM" --config "$T_DIR/q.yaml" --store "sqlite:$QDB" backfill aeso.pool_price \
  --start 2024-03-01 --end 2024-03-06 --chunk-days 1 >/dev/null 2>"$T_DIR/q.err"; rc=$?
check_eq "quota: the job is still waiting when stopped (not failed)" "$rc" 124
check_contains "quota: the wait is explained" "$(cat "$T_DIR/q.err")" "hourly quota reached"
check_eq "quota: only what fits in the hour was loaded" "$(sql "$QDB" 'select count(*) from aeso_pool_price')" 48
check_contains "quota: usage is shown by aurum quota" "$("$AURUM" --config "$T_DIR/q.yaml" --store "sqlite:$QDB" quota)" " 48 "
check_eq "quota: no chunk failed" \
  "$(sql "$QDB" "select count(*) from aurum_backfill_chunks where status='failed'")" 0
t_done

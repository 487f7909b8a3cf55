#!/usr/bin/env bash
# AESO pool price against the simulator: initial load, incremental lookback, SCD type 1,
# failures (401, 429/500 storms, malformed bodies) and their effect on the watermark.
. "$(dirname "$0")/lib.sh"

export AESO_API_KEY=test-key
export AURUM_NOW=2024-03-15T12:00:00Z
start_sim --now 2024-03-15T12:00:00Z --aeso-api-key test-key --seed 7
export AURUM_AESO_BASE=$SIM
DB=$(t_store_url a)
cat >"$T_DIR/aurum.yaml" <<YAML
tables:
  - table: aeso.pool_price
    start_date: 2024-03-01
    batch_size_days: 4
    rate_limit_delay: 0
YAML
cfg="--config $T_DIR/aurum.yaml --store $DB"

# --- initial load of a known window ---
out=$("$AURUM" $cfg sync aeso.pool_price 2>"$T_DIR/err1"); rc=$?
check_eq "initial sync exit code" "$rc" 0
# 2024-03-01 .. 2024-03-15 Alberta days = 15 days, 2024-03-10 has 23 hours
check_eq "initial row count" "$(sql $DB 'select count(*) from aeso_pool_price')" 359
check_eq "first hour (00:00 MST)" "$(sql $DB 'select min(begin_datetime_utc) from aeso_pool_price')" "2024-03-01T07:00:00Z"
check_eq "last hour (23:00 MDT)" "$(sql $DB 'select max(begin_datetime_utc) from aeso_pool_price')" "2024-03-16T05:00:00Z"
check_eq "spring-forward day has 23 hours" \
  "$(sql $DB "select count(*) from aeso_pool_price where begin_datetime_utc >= '2024-03-10T07:00:00Z' and begin_datetime_utc < '2024-03-11T06:00:00Z'")" 23
check_eq "future hours have no actual price" \
  "$(sql $DB "select count(*) from aeso_pool_price where pool_price is null")" 18
check_eq "future hours have a forecast" \
  "$(sql $DB "select count(*) from aeso_pool_price where forecast_pool_price is null")" 0
check_eq "watermark = latest hour with an actual price" \
  "$(sql $DB "select watermark from aurum_state where table_key='aeso.pool_price'")" "2024-03-15T11:00:00Z"
check_contains "summary line" "$out" "inserted 359, updated 0, unchanged 0"
# the stored values are exactly what the operator served (extract goes through the same parser
# but not the store)
"$AURUM" extract aeso.pool_price --start 2024-03-01 --end 2024-03-16 --format csv >"$T_DIR/x.csv" 2>/dev/null
check_eq "extract rows" "$(wc -l <"$T_DIR/x.csv")" 360
check_eq "extract header" "$(head -1 "$T_DIR/x.csv")" "begin_datetime_utc,pool_price,forecast_pool_price,rolling_30day_avg,ingestion_time"
sql $DB "select begin_datetime_utc, coalesce(cast(pool_price as text),''), coalesce(cast(forecast_pool_price as text),''), coalesce(cast(rolling_30day_avg as text),'') from aeso_pool_price order by 1" \
  | tr '|' ',' | awk -F, -v OFS=, '{for(i=2;i<=NF;i++) if($i!="") $i=$i+0; print}' >"$T_DIR/store.csv"
tail -n +2 "$T_DIR/x.csv" | cut -d, -f1-4 | awk -F, -v OFS=, '{for(i=2;i<=NF;i++) if($i!="") $i=$i+0; print}' >"$T_DIR/extract.csv"
if diff -q "$T_DIR/store.csv" "$T_DIR/extract.csv" >/dev/null; then ok "store == extract (values)"; else
  fail "store != extract"; diff "$T_DIR/store.csv" "$T_DIR/extract.csv" | head -5; fi

# DST: Alberta's fall-back day has 25 hours, the spring-forward day 23, each a distinct UTC hour
fall=$("$AURUM" extract aeso.pool_price --start 2024-11-03 --end 2024-11-04 --format csv 2>/dev/null | tail -n +2 | cut -d, -f1)
check_eq "fall-back day 2024-11-03 has 25 hours" "$(echo "$fall" | sort -u | wc -l)" 25
check_eq "fall-back day starts at 06:00Z (00:00 MDT)" "$(echo "$fall" | head -1)" "2024-11-03T06:00:00Z"
check_eq "fall-back day ends at 06:00Z next day (23:00 MST)" "$(echo "$fall" | tail -1)" "2024-11-04T06:00:00Z"
spring=$("$AURUM" extract aeso.pool_price --start 2024-03-10 --end 2024-03-11 --format csv 2>/dev/null | tail -n +2 | cut -d, -f1)
check_eq "spring-forward day 2024-03-10 has 23 hours" "$(echo "$spring" | sort -u | wc -l)" 23
check_eq "spring-forward day ends at 05:00Z (23:00 MDT)" "$(echo "$spring" | tail -1)" "2024-03-11T05:00:00Z"

# --- re-sync at the same clock changes nothing ---
out=$("$AURUM" $cfg sync aeso.pool_price 2>/dev/null)
check_contains "re-sync: nothing inserted or updated" "$out" "inserted 0, updated 0"

# --- revisions: inside the lookback captured, older not ---
before_old=$(sql $DB "select pool_price from aeso_pool_price where begin_datetime_utc='2024-03-12T12:00:00Z'")
before_new=$(sql $DB "select pool_price from aeso_pool_price where begin_datetime_utc='2024-03-15T02:00:00Z'")
sim_post "/_sim/revise?start=2024-03-12T12:00:00Z&end=2024-03-12T13:00:00Z&delta=5"
sim_post "/_sim/revise?start=2024-03-15T02:00:00Z&end=2024-03-15T03:00:00Z&delta=7"
export AURUM_NOW=2024-03-15T14:00:00Z
sim_post "/_sim/clock?now=2024-03-15T14:00:00Z"
out=$("$AURUM" $cfg sync aeso.pool_price 2>/dev/null)
after_old=$(sql $DB "select pool_price from aeso_pool_price where begin_datetime_utc='2024-03-12T12:00:00Z'")
after_new=$(sql $DB "select pool_price from aeso_pool_price where begin_datetime_utc='2024-03-15T02:00:00Z'")
check_eq "revision older than the lookback is not fetched" "$after_old" "$before_old"
check_eq "revision inside the lookback is captured" "$(echo "$after_new - $before_new" | bc | sed 's/\.0*$//')" "7"
check_eq "hour that settled since the last run now has its price" \
  "$(sql $DB "select count(*) from aeso_pool_price where begin_datetime_utc in ('2024-03-15T12:00:00Z','2024-03-15T13:00:00Z') and pool_price is not null")" 2
# the re-read window equals what the operator now serves (the revision also moves the
# rolling average of later hours, so those rows are updated too)
"$AURUM" extract aeso.pool_price --start 2024-03-14 --end 2024-03-16 --format csv 2>/dev/null | tail -n +2 | cut -d, -f1-4 | awk -F, -v OFS=, '{for(i=2;i<=NF;i++) if($i!="") $i=$i+0; print}' >"$T_DIR/x2.csv"
sql $DB "select begin_datetime_utc, coalesce(cast(pool_price as text),''), coalesce(cast(forecast_pool_price as text),''), coalesce(cast(rolling_30day_avg as text),'') from aeso_pool_price where begin_datetime_utc >= '2024-03-14T06:00:00Z' order by 1" | tr '|' ',' | awk -F, -v OFS=, '{for(i=2;i<=NF;i++) if($i!="") $i=$i+0; print}' >"$T_DIR/s2.csv"
if diff -q "$T_DIR/s2.csv" "$T_DIR/x2.csv" >/dev/null; then ok "lookback window equals the operator's current data"; else
  fail "lookback window differs from the operator"; diff "$T_DIR/s2.csv" "$T_DIR/x2.csv" | head -5; fi
check_contains "incremental run reports updates" "$out" "inserted 0, updated "
check_eq "watermark advanced to the new last settled hour" \
  "$(sql $DB "select watermark from aurum_state where table_key='aeso.pool_price'")" "2024-03-15T13:00:00Z"
check_eq "run history recorded" "$(sql $DB "select count(*) from aurum_runs where status='ok'")" 3

# --- 401: clear message, exit 3, store unchanged ---
dump_before=$(sql $DB "select * from aeso_pool_price order by 1; select table_key, watermark from aurum_state")
AESO_API_KEY=wrong "$AURUM" $cfg sync aeso.pool_price >/dev/null 2>"$T_DIR/err401"; rc=$?
check_eq "401 exit code" "$rc" 3
check_contains "401 names the credential" "$(cat "$T_DIR/err401")" "AESO_API_KEY"
check_eq "401 leaves the store unchanged" \
  "$(sql $DB "select * from aeso_pool_price order by 1; select table_key, watermark from aurum_state")" "$dump_before"

# --- malformed body: that batch fails with a position, watermark unchanged ---
wm_before=$(sql $DB "select watermark from aurum_state")
export AURUM_NOW=2024-03-17T12:00:00Z
sim_post "/_sim/clock?now=2024-03-17T12:00:00Z"
sim_post "/_sim/faults?spec=malformed"
"$AURUM" $cfg sync aeso.pool_price >/dev/null 2>"$T_DIR/errmal"; rc=$?
check_eq "malformed exit code" "$rc" 1
check_contains "malformed error has a position" "$(cat "$T_DIR/errmal")" "line"
check_contains "malformed error names the window" "$(cat "$T_DIR/errmal")" "aeso.pool_price window"
check_eq "malformed keeps the watermark" "$(sql $DB "select watermark from aurum_state")" "$wm_before"
check_eq "failed run recorded" "$(sql $DB "select count(*) from aurum_runs where status='failed'")" 2
sim_delete "/_sim/faults"

# --- a 429/500 storm still completes ---
sim_post "/_sim/faults?spec=429@p=0.3"
sim_post "/_sim/faults?spec=500@p=0.2"
sim_post "/_sim/faults?spec=429:retry-after=0@n=1-3"
cat >"$T_DIR/storm.yaml" <<YAML
sources:
  aeso:
    backoff_factor: 0.01
    retry_attempts: 12
    breaker_threshold: 50
tables:
  - table: aeso.pool_price
    start_date: 2024-03-01
    batch_size_days: 1
    rate_limit_delay: 0
YAML
DB2=$(t_store_url storm)
"$AURUM" --config "$T_DIR/storm.yaml" --store "$DB2" sync aeso.pool_price >"$T_DIR/storm.out" 2>"$T_DIR/storm.err"; rc=$?
check_eq "storm sync exit code" "$rc" 0
check_eq "storm sync row count" "$(sql $DB2 'select count(*) from aeso_pool_price')" 407
stats=$(sim_get "/_sim/stats")
check_contains "simulator answered 429s" "$stats" '"429"'
check_contains "simulator answered 500s" "$stats" '"500"'
sim_delete "/_sim/faults"

t_done

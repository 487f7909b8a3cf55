#!/usr/bin/env bash
# SPP against the simulator: DA and RT LMP syncs on the DST days of 2024 (row counts and
# UTC instants), the 2026 upper-case layout, LMP identity in the store, re-sync is a no-op.
. "$(dirname "$0")/lib.sh"

NLOC=28 # locations the simulator serves
start_sim --seed 11
export AURUM_SPP_BASE=$SIM/file-browser-api/download

# run_sync NAME NOW TABLE START_DATE: sync one table into $T_DIR/NAME.db at clock NOW
run_sync() {
  local name=$1 now=$2 table=$3 start=$4
  cat >"$T_DIR/$name.yaml" <<YAML
tables:
  - table: $table
    start_date: $start
    rate_limit_delay: 0
    rate_limit: 0
YAML
  sim_post "/_sim/clock?now=$now"
  AURUM_NOW=$now "$AURUM" --config "$T_DIR/$name.yaml" --store "sqlite:$T_DIR/$name.db" sync "$table" \
    >"$T_DIR/$name.out" 2>"$T_DIR/$name.err"
}
cnt() { sql "$T_DIR/$1.db" "select count(*) from $2 ${3:-}"; }

# --- DA, fall back: 2024-11-03 has 25 hours; 11-04's file is published (13:00 CT on 11-03) ---
run_sync dafall 2024-11-04T06:00:00Z spp.lmp_da_hourly 2024-11-03; rc=$?
check_eq "da fall: exit code" "$rc" 0
check_eq "da fall: rows" "$(cnt dafall spp_lmp_da_hourly)" $((NLOC * 49))
check_eq "da fall: 25 hours on 2024-11-03" \
  "$(cnt dafall spp_lmp_da_hourly "where interval_start_utc >= '2024-11-03T05:00:00Z' and interval_start_utc < '2024-11-04T06:00:00Z'")" $((NLOC * 25))
check_eq "da fall: distinct hours" \
  "$(sql $T_DIR/dafall.db "select count(distinct interval_start_utc) from spp_lmp_da_hourly where interval_start_utc < '2024-11-04T06:00:00Z'")" 25
check_eq "da fall: first hour" "$(sql $T_DIR/dafall.db 'select min(interval_start_utc) from spp_lmp_da_hourly')" "2024-11-03T05:00:00Z"
check_eq "da fall: both 01:00 hours (CDT 06:00Z, CST 07:00Z)" \
  "$(cnt dafall spp_lmp_da_hourly "where location_id='SPPNORTH_HUB' and interval_start_utc in ('2024-11-03T06:00:00Z','2024-11-03T07:00:00Z')")" 2
check_eq "da fall: lmp = energy + congestion + loss" \
  "$(cnt dafall spp_lmp_da_hourly "where abs(lmp - (energy + congestion + loss)) > 1e-6")" 0
check_eq "da fall: hub type" "$(sql $T_DIR/dafall.db "select distinct location_type from spp_lmp_da_hourly where location_id='SPPSOUTH_HUB'")" HUB
check_eq "da fall: market/unit/minutes" \
  "$(sql $T_DIR/dafall.db "select distinct iso_code||','||iso_market||','||iso_unit||','||iso_interval_minutes||','||iso_timezone from spp_lmp_da_hourly")" \
  "SPP,DA,USD/MWh,60,America/Chicago"
out=$(AURUM_NOW=2024-11-04T06:00:00Z "$AURUM" --config "$T_DIR/dafall.yaml" --store "sqlite:$T_DIR/dafall.db" sync spp.lmp_da_hourly 2>/dev/null)
check_contains "da fall: re-sync changes nothing" "$out" "inserted 0, updated 0"

# --- DA, spring forward: 23 hours ---
run_sync daspring 2024-03-11T05:00:00Z spp.lmp_da_hourly 2024-03-10; rc=$?
check_eq "da spring: exit code" "$rc" 0
check_eq "da spring: 23 hours on 2024-03-10" \
  "$(cnt daspring spp_lmp_da_hourly "where interval_start_utc >= '2024-03-10T06:00:00Z' and interval_start_utc < '2024-03-11T05:00:00Z'")" $((NLOC * 23))
check_eq "da spring: 01:00 CST then 03:00 CDT" \
  "$(sql $T_DIR/daspring.db "select group_concat(interval_start_utc) from (select interval_start_utc from spp_lmp_da_hourly where location_id='AEC' and interval_start_utc between '2024-03-10T07:00:00Z' and '2024-03-10T08:00:00Z' order by 1)")" \
  "2024-03-10T07:00:00Z,2024-03-10T08:00:00Z"

# --- DA 2026 file in the upper-case layout with BAA ---
run_sync da2026 2026-06-04T12:00:00Z spp.lmp_da_hourly 2026-06-04; rc=$?
check_eq "da 2026 layout: exit code" "$rc" 0
check_eq "da 2026 layout: rows (today only: tomorrow not yet published)" "$(cnt da2026 spp_lmp_da_hourly)" $((NLOC * 24))
check_contains "sim serves the upper-case layout for 2026" \
  "$(curl -s "$AURUM_SPP_BASE/da-lmp-by-location?path=/2026/06/By_Day/DA-LMP-SL-202606040100.csv" | head -2)" "INTERVAL,GMTINTERVALEND,BAA"

# --- RT 5-min, fall back: 300 interval files on 2024-11-03 ---
run_sync rtfall 2024-11-04T06:00:00Z spp.lmp_rt_5min 2024-11-03; rc=$?
check_eq "rt fall: exit code" "$rc" 0
check_eq "rt fall: rows" "$(cnt rtfall spp_lmp_rt_5min)" $((NLOC * 300))
check_eq "rt fall: distinct intervals" "$(sql $T_DIR/rtfall.db 'select count(distinct interval_start_utc) from spp_lmp_rt_5min')" 300
check_eq "rt fall: first/last" \
  "$(sql $T_DIR/rtfall.db "select min(interval_start_utc)||' '||max(interval_start_utc) from spp_lmp_rt_5min")" \
  "2024-11-03T05:00:00Z 2024-11-04T05:55:00Z"
check_eq "rt fall: repeated hour fetched twice (d files)" \
  "$(cnt rtfall spp_lmp_rt_5min "where location_id='AEC' and interval_start_utc >= '2024-11-03T06:00:00Z' and interval_start_utc < '2024-11-03T08:00:00Z'")" 24
check_eq "rt fall: lmp identity" "$(cnt rtfall spp_lmp_rt_5min "where abs(lmp - (energy + congestion + loss)) > 1e-6")" 0
check_eq "rt fall: interval minutes" "$(sql $T_DIR/rtfall.db 'select distinct iso_interval_minutes from spp_lmp_rt_5min')" 5
check_eq "rt fall: requests incl. the d files" "$(curl -s "$SIM/_sim/log" | grep -c 'RTBM-LMP-SL-2024110301[0-5][05]d.csv')" 12
out=$(AURUM_NOW=2024-11-04T06:00:00Z "$AURUM" --config "$T_DIR/rtfall.yaml" --store "sqlite:$T_DIR/rtfall.db" sync spp.lmp_rt_5min 2>/dev/null)
check_contains "rt fall: re-sync changes nothing" "$out" "inserted 0, updated 0"

# --- RT 5-min, spring forward: 276 files ---
run_sync rtspring 2024-03-11T05:00:00Z spp.lmp_rt_5min 2024-03-10; rc=$?
check_eq "rt spring: exit code" "$rc" 0
check_eq "rt spring: rows" "$(cnt rtspring spp_lmp_rt_5min)" $((NLOC * 276))
check_eq "rt spring: 01:55 CST then 03:00 CDT" \
  "$(cnt rtspring spp_lmp_rt_5min "where location_id='AEC' and interval_start_utc in ('2024-03-10T07:55:00Z','2024-03-10T08:00:00Z')")" 2

# --- RT: the clock limits what is fetched; an unpublished file is not an error ---
run_sync rtnow 2024-06-01T15:02:00Z spp.lmp_rt_5min 2024-06-01; rc=$?
check_eq "rt partial day: exit code" "$rc" 0
check_eq "rt partial day: intervals up to the clock" \
  "$(sql $T_DIR/rtnow.db 'select count(distinct interval_start_utc)||max(interval_start_utc) from spp_lmp_rt_5min')" \
  "1202024-06-01T14:55:00Z"
t_done

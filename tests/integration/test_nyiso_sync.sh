#!/usr/bin/env bash
# NYISO against the simulator: every table on the DST days of 2024 (row counts, UTC
# instants, repeated hour by file order), congestion sign, gen files, monthly ZIP archives
# give the same rows as daily files, re-sync is a no-op.
. "$(dirname "$0")/lib.sh"

NZ=15   # LBMP zones
NL=11   # load zones (+ TOTAL)
start_sim --seed 5
export AURUM_NYISO_BASE=$SIM/public/csv

# run_sync NAME NOW TABLE START_DATE [extra yaml lines]
run_sync() {
  local name=$1 now=$2 table=$3 start=$4 extra=${5:-}
  printf 'tables:\n  - table: %s\n    start_date: %s\n    rate_limit_delay: 0\n%s' "$table" "$start" "$extra" >"$T_DIR/$name.yaml"
  sim_post "/_sim/clock?now=$now"
  AURUM_NOW=$now "$AURUM" --config "$T_DIR/$name.yaml" --store "sqlite:$T_DIR/$name.db" sync "$table" \
    >"$T_DIR/$name.out" 2>"$T_DIR/$name.err"
}
resync() { AURUM_NOW=$2 "$AURUM" --config "$T_DIR/$1.yaml" --store "sqlite:$T_DIR/$1.db" sync "$3" 2>/dev/null; }
nq() { sql "$T_DIR/$1.db" "$2"; }
FALL="interval_start_utc >= '2024-11-03T04:00:00Z' and interval_start_utc < '2024-11-04T05:00:00Z'"
SPRING="interval_start_utc >= '2024-03-10T05:00:00Z' and interval_start_utc < '2024-03-11T04:00:00Z'"
FNOW=2024-11-04T05:00:00Z   # midnight EST after the fall-back day
SNOW=2024-03-11T04:00:00Z   # midnight EDT after the spring-forward day

# --- DA hourly ---
run_sync dafall $FNOW nyiso.lmp_da_hourly 2024-11-03; check_eq "da fall: exit" $? 0
check_eq "da fall: rows (11-03 + published 11-04)" "$(nq dafall 'select count(*) from nyiso_lmp_da_hourly')" $((NZ * 49))
check_eq "da fall: 25 hours" "$(nq dafall "select count(distinct interval_start_utc) from nyiso_lmp_da_hourly where $FALL")" 25
check_eq "da fall: 01:00 EDT and 01:00 EST" \
  "$(nq dafall "select count(*) from nyiso_lmp_da_hourly where location_id='N.Y.C.' and interval_start_utc in ('2024-11-03T05:00:00Z','2024-11-03T06:00:00Z')")" 2
check_eq "da fall: identity" "$(nq dafall 'select count(*) from nyiso_lmp_da_hourly where abs(lmp-(energy+congestion+loss))>1e-6')" 0
# the store has congestion = -published
pub=$(curl -s "$AURUM_NYISO_BASE/damlbmp/20241103damlbmp_zone.csv" | grep '"11/03/2024 05:00","WEST"' | cut -d, -f6 | tr -d '\r')
check_eq "da: congestion stored with the opposite sign" \
  "$(nq dafall "select printf('%.2f', -congestion) from nyiso_lmp_da_hourly where location_id='WEST' and interval_start_utc='2024-11-03T10:00:00Z'")" \
  "$(printf '%.2f' "$pub")"
check_contains "da fall: re-sync no-op" "$(resync dafall $FNOW nyiso.lmp_da_hourly)" "inserted 0, updated 0"
run_sync daspring $SNOW nyiso.lmp_da_hourly 2024-03-10; check_eq "da spring: exit" $? 0
check_eq "da spring: 23 hours" "$(nq daspring "select count(*) from nyiso_lmp_da_hourly where $SPRING")" $((NZ * 23))
run_sync dagen $FNOW nyiso.lmp_da_hourly 2024-11-03 "    location_kind: gen
"; check_eq "da gen: exit" $? 0
check_eq "da gen: generator rows" "$(nq dagen "select count(*) from nyiso_lmp_da_hourly where location_type='GENERATOR' and $FALL")" $((8 * 25))

# --- RT 5-min ---
run_sync rtfall $FNOW nyiso.lmp_rt_5min 2024-11-03; check_eq "rt5 fall: exit" $? 0
check_eq "rt5 fall: rows" "$(nq rtfall 'select count(*) from nyiso_lmp_rt_5min')" $((NZ * 300))
check_eq "rt5 fall: first/last" "$(nq rtfall "select min(interval_start_utc)||' '||max(interval_start_utc) from nyiso_lmp_rt_5min")" \
  "2024-11-03T04:00:00Z 2024-11-04T04:55:00Z"
check_eq "rt5 fall: 300 distinct intervals" "$(nq rtfall 'select count(distinct interval_start_utc) from nyiso_lmp_rt_5min')" 300
check_contains "rt5 fall: re-sync no-op" "$(resync rtfall $FNOW nyiso.lmp_rt_5min)" "inserted 0, updated 0"
run_sync rtspring $SNOW nyiso.lmp_rt_5min 2024-03-10; check_eq "rt5 spring: exit" $? 0
check_eq "rt5 spring: 276 intervals" "$(nq rtspring "select count(distinct interval_start_utc) from nyiso_lmp_rt_5min where $SPRING")" 276

# --- RT hourly, daily files vs the monthly ZIP ---
run_sync rhfall $FNOW nyiso.lmp_rt_hourly 2024-11-03; check_eq "rth fall: exit" $? 0
check_eq "rth fall: rows" "$(nq rhfall 'select count(*) from nyiso_lmp_rt_hourly')" $((NZ * 25))
run_sync rhzip $FNOW nyiso.lmp_rt_hourly 2024-11-03 "    archive: monthly
"; check_eq "rth zip: exit" $? 0
check_eq "rth zip: same rows as the daily files" \
  "$(nq rhzip 'select interval_start_utc,location_id,lmp,energy,congestion,loss from nyiso_lmp_rt_hourly order by 1,2' | md5sum)" \
  "$(nq rhfall 'select interval_start_utc,location_id,lmp,energy,congestion,loss from nyiso_lmp_rt_hourly order by 1,2' | md5sum)"
check_contains "rth zip: the ZIP was requested" "$(curl -s "$SIM/_sim/log")" "20241101rtlbmp_zone_csv.zip"
run_sync rhauto 2024-12-20T12:00:00Z nyiso.lmp_rt_hourly 2024-11-03 "    batch_size_days: 40
"; check_eq "rth auto (old dates -> ZIP): exit" $? 0
check_eq "rth auto: fall day from the archive" "$(nq rhauto "select count(*) from nyiso_lmp_rt_hourly where $FALL")" $((NZ * 25))
check_contains "rth auto: recent days daily" "$(curl -s "$SIM/_sim/log")" "20241219rtlbmp_zone.csv"
run_sync rhspring $SNOW nyiso.lmp_rt_hourly 2024-03-10; check_eq "rth spring: exit" $? 0
check_eq "rth spring: rows" "$(nq rhspring "select count(*) from nyiso_lmp_rt_hourly where $SPRING")" $((NZ * 23))

# --- actual load (pal) ---
run_sync lafall $FNOW nyiso.load_actual 2024-11-03; check_eq "load fall: exit" $? 0
check_eq "load fall: rows (zones + TOTAL)" "$(nq lafall 'select count(*) from nyiso_load_actual')" $(((NL + 1) * 300))
check_eq "load fall: TOTAL = sum of zones" \
  "$(nq lafall "select count(*) from nyiso_load_actual t where location_id='TOTAL' and abs(load_mw - (select sum(load_mw) from nyiso_load_actual z where z.interval_start_utc=t.interval_start_utc and z.location_id!='TOTAL'))>1e-6")" 0
check_eq "load fall: publish = interval end" "$(nq lafall 'select count(*) from nyiso_load_actual where publish_time_utc != interval_end_utc')" 0
check_contains "load fall: re-sync no-op" "$(resync lafall $FNOW nyiso.load_actual)" "inserted 0, updated 0"
run_sync laspring $SNOW nyiso.load_actual 2024-03-10; check_eq "load spring: exit" $? 0
check_eq "load spring: 276 stamps" "$(nq laspring "select count(distinct interval_start_utc) from nyiso_load_actual where $SPRING")" 276

# --- load forecast (isolf): every issue kept ---
run_sync lffall $FNOW nyiso.load_forecast 2024-11-03; check_eq "forecast fall: exit" $? 0
check_eq "forecast fall: two issues" "$(nq lffall 'select group_concat(p) from (select distinct publish_time_utc p from nyiso_load_forecast order by 1)')" \
  "2024-11-03T04:00:00Z,2024-11-04T05:00:00Z"
check_eq "forecast fall: issue 11-03 covers 145 hours (25 + 5 x 24)" \
  "$(nq lffall "select count(distinct interval_start_utc) from nyiso_load_forecast where publish_time_utc='2024-11-03T04:00:00Z'")" 145
check_eq "forecast fall: rows" "$(nq lffall 'select count(*) from nyiso_load_forecast')" $(((145 + 144) * 12))
check_eq "forecast fall: 25 hours on the fall day" \
  "$(nq lffall "select count(distinct interval_start_utc) from nyiso_load_forecast where $FALL")" 25
check_contains "forecast fall: re-sync no-op" "$(resync lffall $FNOW nyiso.load_forecast)" "inserted 0, updated 0"
run_sync lfspring $SNOW nyiso.load_forecast 2024-03-10; check_eq "forecast spring: exit" $? 0
check_eq "forecast spring: 23 hours on the spring day" \
  "$(nq lfspring "select count(distinct interval_start_utc) from nyiso_load_forecast where publish_time_utc='2024-03-10T05:00:00Z' and $SPRING")" 23

# --- a future day's file is not an error; a missing past file is ---
sim_post "/_sim/clock?now=2024-06-01T12:00:00Z"
# monthly archives are the same bytes on every request (member times pinned to the sim clock)
curl -s "$AURUM_NYISO_BASE/realtime/20240501realtime_zone_csv.zip" -o "$T_DIR/z1.zip"
sleep 2.1   # ZIP (DOS) times have a 2-second resolution
curl -s "$AURUM_NYISO_BASE/realtime/20240501realtime_zone_csv.zip" -o "$T_DIR/z2.zip"
check_eq "sim: monthly zip is byte-identical across requests" "$(cmp -s "$T_DIR/z1.zip" "$T_DIR/z2.zip" && echo same)" same
check_eq "sim: tomorrow's rtlbmp is 404" "$(curl -s -o /dev/null -w '%{http_code}' "$AURUM_NYISO_BASE/rtlbmp/20240602rtlbmp_zone.csv")" 404
t_done

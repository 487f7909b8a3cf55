#!/usr/bin/env bash
# PJM Data Miner 2 against the simulator: every table synced over the 2024 DST days (hour
# counts and UTC instants), paging (small rowCount), LMP identity, revisions served as new
# versions, a re-sync that changes nothing, and auth / config failures naming PJM_API_KEY.
. "$(dirname "$0")/lib.sh"

export AURUM_SIM_PJM_API_KEY=pjm-test-key
export PJM_API_KEY=pjm-test-key
start_sim --seed 11 --now 2024-03-11T12:00:00Z
export AURUM_PJM_BASE=$SIM/api/v1
export AURUM_NOW=2024-03-11T12:00:00Z

cat >"$T_DIR/aurum.yaml" <<YAML
sources:
  pjm:
    rate_limit: 100000
    row_count: 400
tables:
  - table: pjm.lmp_da_hourly
    start_date: 2024-03-09
  - table: pjm.lmp_rt_hourly
    start_date: 2024-03-09
  - table: pjm.lmp_rt_5min
    start_date: 2024-03-09
  - table: pjm.load_metered
    start_date: 2024-03-09
  - table: pjm.load_forecast
    start_date: 2024-03-09
YAML
DB=$T_DIR/spring.db
cfg="--config $T_DIR/aurum.yaml --store sqlite:$DB"
out=$("$AURUM" $cfg sync 2>"$T_DIR/err1"); rc=$?
check_eq "spring sync exit code" "$rc" 0
[ "$rc" = 0 ] || cat "$T_DIR/err1" | tail -5

day="interval_start_utc >= '2024-03-10T05:00:00Z' and interval_start_utc < '2024-03-11T04:00:00Z'"
# 24 simulated pnodes; the EPT day 2024-03-10 has 23 hours
check_eq "DA: spring day rows (23 h x 24 nodes)" "$(sql $DB "select count(*) from pjm_lmp_da_hourly where $day")" 552
check_eq "DA: spring day hours" "$(sql $DB "select count(distinct interval_start_utc) from pjm_lmp_da_hourly where $day")" 23
check_eq "DA: first hour 00:00 EST" "$(sql $DB "select min(interval_start_utc) from pjm_lmp_da_hourly where $day")" "2024-03-10T05:00:00Z"
check_eq "DA: last hour 23:00 EDT" "$(sql $DB "select max(interval_start_utc) from pjm_lmp_da_hourly where $day")" "2024-03-11T03:00:00Z"
check_eq "DA: 01:00 EST (06:00Z) is followed by 03:00 EDT (07:00Z)" \
  "$(sql $DB "select count(distinct interval_start_utc) from pjm_lmp_da_hourly where interval_start_utc in ('2024-03-10T06:00:00Z','2024-03-10T07:00:00Z')")" 2
check_eq "DA: whole range (03-09 .. 03-11, DA for 03-12 not published at 08:00 EDT)" \
  "$(sql $DB "select count(*) from pjm_lmp_da_hourly")" $(( (24 + 23 + 24) * 24 ))
check_eq "RT hourly: spring day rows" "$(sql $DB "select count(*) from pjm_lmp_rt_hourly where $day")" 552
check_eq "RT hourly: only ended hours (through 07:00 EDT 03-11)" "$(sql $DB "select max(interval_start_utc) from pjm_lmp_rt_hourly")" "2024-03-11T11:00:00Z"
check_eq "RT 5-min: spring day rows (276 x 24)" "$(sql $DB "select count(*) from pjm_lmp_rt_5min where $day")" 6624
check_eq "RT 5-min: spring day intervals" "$(sql $DB "select count(distinct interval_start_utc) from pjm_lmp_rt_5min where $day")" 276
check_eq "metered load: spring day rows (23 h x 14 areas)" "$(sql $DB "select count(*) from pjm_load_metered where $day")" 322
check_eq "forecast: spring day hours" "$(sql $DB "select count(distinct interval_start_utc) from pjm_load_forecast where $day")" 23
check_eq "forecast: every vintage kept (14 per hour and area on 03-10)" \
  "$(sql $DB "select count(*) from pjm_load_forecast where $day and location_id='BG&E/MIDATL'")" $((23 * 14))
check_eq "LMP identity holds on every stored row" \
  "$(sql $DB "select count(*) from (select lmp,energy,congestion,loss from pjm_lmp_da_hourly union all select lmp,energy,congestion,loss from pjm_lmp_rt_5min) where abs(lmp - energy - congestion - loss) > 1e-6")" 0
check_eq "location types" "$(sql $DB "select group_concat(t, ',') from (select distinct location_type t from pjm_lmp_da_hourly order by 1)")" \
  "AGGREGATE,GEN,HUB,INTERFACE,LOAD,ZONE"
check_contains "paging: later pages were requested" "$(sim_get "/_sim/log")" "startRow=401"

# --- a re-sync at the same clock changes nothing ---
out=$("$AURUM" $cfg sync 2>/dev/null); rc=$?
check_eq "re-sync exit code" "$rc" 0
check_eq "re-sync: nothing inserted or updated" "$(echo "$out" | grep -c 'inserted 0, updated 0')" 5

# --- a revision is served as version 2 (version 1 row_is_current=false); the store keeps v2 ---
before=$(sql $DB "select lmp from pjm_lmp_rt_hourly where location_id='51217' and interval_start_utc='2024-03-11T10:00:00Z'")
sim_post "/_sim/revise?start=2024-03-11T10:00:00Z&end=2024-03-11T11:00:00Z&delta=4&iso=pjm"
out=$("$AURUM" $cfg sync pjm.lmp_rt_hourly 2>/dev/null)
after=$(sql $DB "select lmp from pjm_lmp_rt_hourly where location_id='51217' and interval_start_utc='2024-03-11T10:00:00Z'")
check_eq "revision captured (+4)" "$(awk "BEGIN{printf \"%.2f\", $after - ($before)}")" "4.00"
check_contains "revision: 24 rows updated" "$out" "updated 24,"

# --- auth: wrong key -> exit 3 naming the credential; missing key -> config error ---
PJM_API_KEY=wrong "$AURUM" $cfg sync pjm.lmp_da_hourly >/dev/null 2>"$T_DIR/err401"; rc=$?
check_eq "401 exit code" "$rc" 3
check_contains "401 names the credential" "$(cat "$T_DIR/err401")" "PJM_API_KEY"
env -u PJM_API_KEY "$AURUM" $cfg sync pjm.lmp_da_hourly >/dev/null 2>"$T_DIR/errcfg"; rc=$?
check_eq "missing key exit code" "$rc" 4
check_contains "missing key names the credential" "$(cat "$T_DIR/errcfg")" "PJM_API_KEY"

# --- fall back: 25 hours on 2024-11-03, 01:00 EPT twice (05:00Z and 06:00Z) ---
stop_sim
start_sim --seed 11 --now 2024-11-04T12:00:00Z
export AURUM_PJM_BASE=$SIM/api/v1
export AURUM_NOW=2024-11-04T12:00:00Z
sed -i 's/2024-03-09/2024-11-02/' "$T_DIR/aurum.yaml"
DB2=$T_DIR/fall.db
cfg2="--config $T_DIR/aurum.yaml --store sqlite:$DB2"
"$AURUM" $cfg2 sync >/dev/null 2>"$T_DIR/err2"; rc=$?
check_eq "fall sync exit code" "$rc" 0
fday="interval_start_utc >= '2024-11-03T04:00:00Z' and interval_start_utc < '2024-11-04T05:00:00Z'"
for t in pjm_lmp_da_hourly pjm_lmp_rt_hourly pjm_load_metered pjm_load_forecast; do
  check_eq "$t: fall day has 25 hours" "$(sql $DB2 "select count(distinct interval_start_utc) from $t where $fday")" 25
done
check_eq "RT 5-min: fall day intervals (300)" "$(sql $DB2 "select count(distinct interval_start_utc) from pjm_lmp_rt_5min where $fday")" 300
check_eq "DA: fall day rows (25 x 24)" "$(sql $DB2 "select count(*) from pjm_lmp_da_hourly where $fday")" 600
check_eq "both 01:00 EPT hours stored" \
  "$(sql $DB2 "select count(distinct interval_start_utc) from pjm_lmp_da_hourly where interval_start_utc in ('2024-11-03T05:00:00Z','2024-11-03T06:00:00Z')")" 2
check_eq "metered: both 01:00 EPT hours for RTO" \
  "$(sql $DB2 "select count(*) from pjm_load_metered where location_id='RTO' and interval_start_utc in ('2024-11-03T05:00:00Z','2024-11-03T06:00:00Z')")" 2

t_done

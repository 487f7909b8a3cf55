#!/usr/bin/env bash
# MISO against the simulator: market-report tables (anonymous CSV) and the keyed Data
# Exchange tables over the 2024 DST days (always 24 EST hours), paging, LMP identity,
# unpublished days as empty windows vs. an old missing file as an error, a re-sync that
# changes nothing, and auth / config failures naming MISO_API_KEY.
. "$(dirname "$0")/lib.sh"

export AURUM_SIM_MISO_API_KEY=miso-test-key
export AURUM_SIM_MISO_PAGE_SIZE=5000
export AURUM_SIM_MISO_RATE_PER_MIN=100
export MISO_API_KEY=miso-test-key
start_sim --seed 5 --now 2024-03-16T12:00:00Z
export AURUM_NOW=2024-03-16T12:00:00Z
export AURUM_MISO_BASE=$SIM/marketreports AURUM_MISO_API_BASE=$SIM/pricing/v1 AURUM_MISO_LGI_BASE=$SIM/lgi/v1

cat >"$T_DIR/aurum.yaml" <<YAML
sources:
  miso:
    rate_limit: 90 # under the Data Exchange's 100 calls/minute (the sim enforces it)
tables:
  - table: miso.lmp_da_hourly
    start_date: 2024-03-09
  - table: miso.lmp_da_exante_hourly
    start_date: 2024-03-09
  - table: miso.lmp_rt_hourly_final
    start_date: 2024-03-09
  - table: miso.lmp_rt_5min
    start_date: 2024-03-09
  - table: miso.load_actual
    start_date: 2024-03-09
YAML
DB=$T_DIR/spring.db
cfg="--config $T_DIR/aurum.yaml --store sqlite:$DB"
"$AURUM" $cfg sync >"$T_DIR/out1" 2>"$T_DIR/err1"; rc=$?
check_eq "spring sync exit code" "$rc" 0
[ "$rc" = 0 ] || tail -5 "$T_DIR/err1"

# the EST market day 2024-03-10 = [05:00Z, 03-11 05:00Z): 24 hours although DST starts that day
day="interval_start_utc >= '2024-03-10T05:00:00Z' and interval_start_utc < '2024-03-11T05:00:00Z'"
for t in miso_lmp_da_hourly miso_lmp_da_exante_hourly miso_lmp_rt_hourly_final miso_load_actual; do
  check_eq "$t: 24 hours on 2024-03-10" "$(sql $DB "select count(distinct interval_start_utc) from $t where $day")" 24
done
check_eq "5-min: 288 intervals on 2024-03-10" "$(sql $DB "select count(distinct interval_start_utc) from miso_lmp_rt_5min where $day")" 288
check_eq "DA: 20 nodes x 24 HE" "$(sql $DB "select count(*) from miso_lmp_da_hourly where $day")" 480
check_eq "DA: HE 1 = 05:00Z" "$(sql $DB "select min(interval_start_utc) from miso_lmp_da_hourly where $day")" "2024-03-10T05:00:00Z"
check_eq "DA: HE 24 = 04:00Z next day" "$(sql $DB "select max(interval_start_utc) from miso_lmp_da_hourly where $day")" "2024-03-11T04:00:00Z"
check_eq "DA: 8 market days (03-16 published 13:00 EST on 03-15)" "$(sql $DB "select count(*) from miso_lmp_da_hourly")" $((8 * 480))
check_eq "RT final: only days published (D+5): 03-09 .. 03-11" "$(sql $DB "select count(*) from miso_lmp_rt_hourly_final")" $((3 * 480))
check_eq "5-min final: through 07:00 EST 03-15 (a day behind the clock)" "$(sql $DB "select max(interval_start_utc) from miso_lmp_rt_5min")" "2024-03-15T11:55:00Z"
check_eq "load: 3 regions x hours ended" "$(sql $DB "select count(*) from miso_load_actual")" $(( (7 * 24 + 7) * 3 ))
check_eq "LMP identity on every stored row" \
  "$(sql $DB "select count(*) from (select lmp,energy,congestion,loss from miso_lmp_da_hourly union all select lmp,energy,congestion,loss from miso_lmp_rt_hourly_final union all select lmp,energy,congestion,loss from miso_lmp_rt_5min) where abs(lmp - energy - congestion - loss) > 1e-6")" 0
check_eq "location types" "$(sql $DB "select group_concat(t, ',') from (select distinct location_type t from miso_lmp_da_hourly order by 1)")" \
  "GEN_NODE,HUB,INTERFACE,LOAD_ZONE"
check_contains "5-min pages requested" "$(sim_get "/_sim/log")" "pageNumber=2"
check_contains "unpublished RT final days were asked for (404)" "$(sim_get "/_sim/stats")" '"404"'

out=$("$AURUM" $cfg sync 2>/dev/null); rc=$?
check_eq "re-sync exit code" "$rc" 0
check_eq "re-sync: nothing inserted or updated" "$(echo "$out" | grep -c 'inserted 0, updated 0')" 5

# --- keys ---
MISO_API_KEY=wrong "$AURUM" $cfg sync miso.lmp_rt_5min >/dev/null 2>"$T_DIR/err401"; rc=$?
check_eq "401 exit code" "$rc" 3
check_contains "401 names the credential" "$(cat "$T_DIR/err401")" "MISO_API_KEY"
env -u MISO_API_KEY "$AURUM" $cfg sync miso.lmp_rt_5min >/dev/null 2>"$T_DIR/errcfg"; rc=$?
check_eq "no key: config error exit code" "$rc" 4
check_contains "no key: message names MISO_API_KEY" "$(cat "$T_DIR/errcfg")" "MISO_API_KEY"
env -u MISO_API_KEY "$AURUM" $cfg sync miso.lmp_da_hourly >/dev/null 2>&1; rc=$?
check_eq "report tables need no key" "$rc" 0

# --- a missing file for a day that should be published is an error ---
cat >"$T_DIR/lag0.yaml" <<YAML
tables:
  - table: miso.lmp_rt_hourly_final
    start_date: 2024-03-12
    publish_lag_days: 0
YAML
"$AURUM" --config "$T_DIR/lag0.yaml" --store "sqlite:$T_DIR/lag0.db" sync miso.lmp_rt_hourly_final >/dev/null 2>"$T_DIR/err404"; rc=$?
check_eq "old missing report: exit code" "$rc" 1
check_contains "old missing report: BlobNotFound named" "$(cat "$T_DIR/err404")" "BlobNotFound"
check_contains "old missing report: file named" "$(cat "$T_DIR/err404")" "20240312_rt_lmp_final.csv"

# --- fall back: the EST day 2024-11-03 still has 24 hours ---
stop_sim
start_sim --seed 5 --now 2024-11-10T12:00:00Z
export AURUM_NOW=2024-11-10T12:00:00Z
export AURUM_MISO_BASE=$SIM/marketreports AURUM_MISO_API_BASE=$SIM/pricing/v1 AURUM_MISO_LGI_BASE=$SIM/lgi/v1
sed -i 's/2024-03-09/2024-11-02/' "$T_DIR/aurum.yaml"
DB2=$T_DIR/fall.db
"$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$DB2" sync >/dev/null 2>"$T_DIR/err2"; rc=$?
check_eq "fall sync exit code" "$rc" 0
fday="interval_start_utc >= '2024-11-03T05:00:00Z' and interval_start_utc < '2024-11-04T05:00:00Z'"
for t in miso_lmp_da_hourly miso_lmp_da_exante_hourly miso_lmp_rt_hourly_final miso_load_actual; do
  check_eq "$t: 24 hours on 2024-11-03" "$(sql $DB2 "select count(distinct interval_start_utc) from $t where $fday")" 24
done
check_eq "5-min: 288 intervals on 2024-11-03" "$(sql $DB2 "select count(distinct interval_start_utc) from miso_lmp_rt_5min where $fday")" 288
check_eq "DA: 480 rows on 2024-11-03" "$(sql $DB2 "select count(*) from miso_lmp_da_hourly where $fday")" 480

# --- the daily quota (24,000 in production; 2 here) ends in 403 ---
stop_sim
export AURUM_SIM_MISO_QUOTA_PER_DAY=2
start_sim --seed 5 --now 2024-11-10T12:00:00Z
export AURUM_MISO_API_BASE=$SIM/pricing/v1
"$AURUM" --config "$T_DIR/aurum.yaml" --store "sqlite:$T_DIR/q.db" sync miso.lmp_rt_5min >/dev/null 2>"$T_DIR/errq"; rc=$?
check_eq "quota exhausted: exit code (403)" "$rc" 3
check_contains "quota exhausted: 403" "$(cat "$T_DIR/errq")" "403"

t_done

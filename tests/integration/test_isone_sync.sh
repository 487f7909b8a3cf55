#!/usr/bin/env bash
# ISO-NE web services against the simulator: every table synced, DST-day row counts
# (2024-11-03 fall back, 2024-03-10 spring forward), re-sync changes nothing, wrong
# credentials -> HTTP 401 -> exit 3 naming ISONE_USERNAME/ISONE_PASSWORD, store unchanged.
. "$(dirname "$0")/lib.sh"

export AURUM_SIM_ISONE_AUTH=user:secret
export ISONE_USERNAME=user ISONE_PASSWORD=secret
export AURUM_NOW=2024-11-06T12:00:00Z
start_sim --now 2024-11-06T12:00:00Z --seed 11
export AURUM_ISONE_BASE=$SIM/api/v1.1
DB=$T_DIR/i.db
TABLES="lmp_da_hourly lmp_rt_hourly lmp_rt_5min load_actual load_forecast fuel_mix"
mkcfg() { # mkcfg FILE START 5MIN_START 5MIN_VERSION (5-minute data: 24 requests a day per version)
  { printf 'sources:\n  isone:\n    rate_limit: 600000\n    min_spacing: 0\n'
    echo "tables:"; for t in $TABLES; do
      if [ "$t" = lmp_rt_5min ]; then
        printf '  - table: isone.%s\n    start_date: %s\n    batch_size_days: 2\n    rate_limit_delay: 0\n    version: %s\n' "$t" "$3" "$4"
      else
        printf '  - table: isone.%s\n    start_date: %s\n    batch_size_days: 2\n    rate_limit_delay: 0\n' "$t" "$2"
      fi
    done; } >"$1"
}
mkcfg "$T_DIR/fall.yaml" 2024-11-02 2024-11-03 both
cfg="--config $T_DIR/fall.yaml --store sqlite:$DB"
L=56 # simulated locations
for t in $TABLES; do
  "$AURUM" $cfg sync isone.$t >"$T_DIR/$t.out" 2>"$T_DIR/$t.err"; rc=$?
  check_eq "sync isone.$t exit code" "$rc" 0
  [ "$rc" = 0 ] || cat "$T_DIR/$t.err" | tail -3
done
day="interval_start_utc >= '2024-11-03T04:00:00Z' and interval_start_utc < '2024-11-04T05:00:00Z'"
check_eq "lmp_da_hourly: 25 hours x $L on 2024-11-03" "$(sql $DB "select count(*) from isone_lmp_da_hourly where $day")" $((25 * L))
check_eq "lmp_da_hourly: 25 distinct UTC hours" "$(sql $DB "select count(distinct interval_start_utc) from isone_lmp_da_hourly where $day")" 25
check_eq "lmp_da_hourly: both 01:00 hours (05Z, 06Z)" "$(sql $DB "select count(*) from isone_lmp_da_hourly where interval_start_utc in ('2024-11-03T05:00:00Z','2024-11-03T06:00:00Z') and location_id='4000'")" 2
check_eq "lmp_rt_hourly: prelim+final 25 h" "$(sql $DB "select count(*) from isone_lmp_rt_hourly where $day")" $((2 * 25 * L))
check_eq "lmp_rt_hourly: markets" "$(sql $DB "select group_concat(distinct iso_market) from (select iso_market from isone_lmp_rt_hourly order by 1)")" "RT_FINAL,RT_PRELIM"
check_eq "lmp_rt_5min: 300 intervals x $L x 2 versions" "$(sql $DB "select count(*) from isone_lmp_rt_5min where $day")" $((2 * 300 * L))
check_eq "load_actual: 25 hours" "$(sql $DB "select count(*) from isone_load_actual where $day")" 25
check_eq "load_forecast: 25 hours x 6 vintages" "$(sql $DB "select count(*) from isone_load_forecast where $day")" 150
check_eq "fuel_mix: 300 snapshots x 10 fuels" "$(sql $DB "select count(*) from isone_fuel_mix where interval_start_utc >= '2024-11-03T04:00:00Z' and interval_start_utc < '2024-11-04T05:00:00Z'")" 3000
check_eq "lmp = energy + congestion + loss" "$(sql $DB "select count(*) from isone_lmp_da_hourly where abs(lmp - energy - congestion - loss) > 1e-9")" 0
check_eq "no future RT prelim rows" "$(sql $DB "select count(*) from isone_lmp_rt_5min where interval_end_utc > '2024-11-06T12:00:00Z'")" 0
check_eq "hub location type" "$(sql $DB "select distinct location_type from isone_lmp_da_hourly where location_id='4000'")" "HUB"

# --- re-sync at the same clock changes nothing ---
for t in $TABLES; do
  out=$("$AURUM" $cfg sync isone.$t 2>/dev/null)
  check_contains "re-sync isone.$t: nothing inserted or updated" "$out" "inserted 0, updated 0"
done

# --- spring forward: 2024-03-10 ---
export AURUM_NOW=2024-03-14T12:00:00Z # RT final of 03-10 is out (48 h after the day)
sim_post "/_sim/clock?now=2024-03-14T12:00:00Z"
mkcfg "$T_DIR/spring.yaml" 2024-03-10 2024-03-10 prelim
DB2=$T_DIR/s.db
for t in $TABLES; do
  "$AURUM" --config "$T_DIR/spring.yaml" --store "sqlite:$DB2" sync isone.$t >/dev/null 2>"$T_DIR/s.err" \
    || { fail "spring sync isone.$t"; tail -3 "$T_DIR/s.err"; }
done
sday="interval_start_utc >= '2024-03-10T05:00:00Z' and interval_start_utc < '2024-03-11T04:00:00Z'"
check_eq "spring lmp_da_hourly: 23 h" "$(sql $DB2 "select count(distinct interval_start_utc) from isone_lmp_da_hourly where $sday")" 23
check_eq "spring lmp_rt_hourly rows" "$(sql $DB2 "select count(*) from isone_lmp_rt_hourly where $sday")" $((2 * 23 * L))
check_eq "spring lmp_rt_5min: 276 intervals" "$(sql $DB2 "select count(distinct interval_start_utc) from isone_lmp_rt_5min where $sday")" 276
check_eq "spring load_actual: 23 h" "$(sql $DB2 "select count(*) from isone_load_actual where $sday")" 23
check_eq "spring load_forecast: 23 h x 6" "$(sql $DB2 "select count(*) from isone_load_forecast where $sday")" 138
check_eq "spring fuel_mix: 276 x 10" "$(sql $DB2 "select count(*) from isone_fuel_mix where $sday")" 2760
check_eq "spring: 02:00 EST is followed by 03:00 EDT (07Z)" "$(sql $DB2 "select count(*) from isone_load_actual where interval_start_utc in ('2024-03-10T06:00:00Z','2024-03-10T07:00:00Z')")" 2

export AURUM_NOW=2024-11-06T12:00:00Z
sim_post "/_sim/clock?now=2024-11-06T12:00:00Z"

# --- wrong password: 401 -> exit 3, store unchanged ---
dump_before=$(sql $DB "select count(*), max(ingestion_time) from isone_lmp_da_hourly; select * from aurum_state order by 1")
ISONE_PASSWORD=wrong "$AURUM" $cfg sync isone.lmp_da_hourly >/dev/null 2>"$T_DIR/err401"; rc=$?
check_eq "401 exit code" "$rc" 3
check_contains "401 names ISONE_USERNAME" "$(cat "$T_DIR/err401")" "ISONE_USERNAME"
check_contains "401 names ISONE_PASSWORD" "$(cat "$T_DIR/err401")" "ISONE_PASSWORD"
check_eq "401 leaves the store unchanged" \
  "$(sql $DB "select count(*), max(ingestion_time) from isone_lmp_da_hourly; select * from aurum_state order by 1")" "$dump_before"
# missing credentials: configuration error before any request
env -u ISONE_PASSWORD "$AURUM" $cfg sync isone.load_actual >/dev/null 2>"$T_DIR/errcfg"; rc=$?
check_eq "missing password exit code" "$rc" 4
check_contains "missing password message" "$(cat "$T_DIR/errcfg")" "ISONE_PASSWORD"
t_done

#!/usr/bin/env bash
# IESO report server against the simulator: every table synced; hours 1-24 EST on DST days
# (2024-03-10 / 2024-11-03 for the yearly HOEP and demand files, 2025-11-02 for the renewed-
# market reports, which start 2025-05-01); 404 before the renewal = no rows, not an error;
# re-sync changes nothing; a revision (_v2) is picked up on the next run.
. "$(dirname "$0")/lib.sh"

export AURUM_NOW=2025-11-04T12:00:00Z
start_sim --now 2025-11-04T12:00:00Z --seed 5
export AURUM_IESO_BASE=$SIM/ieso/public
DB=$T_DIR/o.db
cat >"$T_DIR/a.yaml" <<YAML
sources:
  ieso:
    rate_limit: 600000
tables:
  - table: ieso.lmp_da_hourly
    start_date: 2025-11-01
    batch_size_days: 2
    rate_limit_delay: 0
  - table: ieso.lmp_rt_5min
    start_date: 2025-11-02
    rate_limit_delay: 0
  - table: ieso.ontario_zonal_da_hourly
    start_date: 2025-11-01
    rate_limit_delay: 0
  - table: ieso.ontario_zonal_rt_5min
    start_date: 2025-11-01
    rate_limit_delay: 0
  - table: ieso.hoep_hourly
    start_date: 2024-01-01
    rate_limit_delay: 0
  - table: ieso.load_actual
    start_date: 2024-01-01
    batch_size_days: 120
    rate_limit_delay: 0
YAML
cfg="--config $T_DIR/a.yaml --store sqlite:$DB"
TABLES="lmp_da_hourly lmp_rt_5min ontario_zonal_da_hourly ontario_zonal_rt_5min hoep_hourly load_actual"
for t in $TABLES; do
  "$AURUM" $cfg sync ieso.$t >"$T_DIR/$t.out" 2>"$T_DIR/$t.err"; rc=$?
  check_eq "sync ieso.$t exit code" "$rc" 0
  [ "$rc" = 0 ] || tail -3 "$T_DIR/$t.err"
done
est() { echo "interval_start_utc >= '$1T05:00:00Z' and interval_start_utc < '$2T05:00:00Z'"; }
f25=$(est 2025-11-02 2025-11-03)
check_eq "lmp_da_hourly 2025-11-02: 24 hours" "$(sql $DB "select count(distinct interval_start_utc) from ieso_lmp_da_hourly where $f25")" 24
check_eq "lmp_da_hourly 2025-11-02 rows (50 locations)" "$(sql $DB "select count(*) from ieso_lmp_da_hourly where $f25")" 1200
check_eq "lmp_da_hourly: hour 1 at 05:00Z" "$(sql $DB "select min(interval_start_utc) from ieso_lmp_da_hourly where $f25")" "2025-11-02T05:00:00Z"
check_eq "lmp_da_hourly: energy = lmp - loss - congestion" "$(sql $DB "select count(*) from ieso_lmp_da_hourly where abs(lmp - energy - congestion - loss) > 1e-9 or energy is null")" 0
check_eq "lmp_da_hourly: CAD" "$(sql $DB "select distinct iso_unit from ieso_lmp_da_hourly")" "CAD/MWh"
check_eq "lmp_rt_5min 2025-11-02: 288 intervals" "$(sql $DB "select count(distinct interval_start_utc) from ieso_lmp_rt_5min where $f25")" 288
check_eq "ontario_zonal_da_hourly 2025-11-02: 24" "$(sql $DB "select count(*) from ieso_ontario_zonal_da_hourly where $f25")" 24
check_eq "ontario_zonal_da_hourly: 2025-11-05 not yet published (13:00 EST on 11-04)" "$(sql $DB "select count(*) from ieso_ontario_zonal_da_hourly where $(est 2025-11-05 2025-11-06)")" 0
check_eq "ontario_zonal_rt_5min 2025-11-02: 288" "$(sql $DB "select count(*) from ieso_ontario_zonal_rt_5min where $f25")" 288
check_eq "ontario_zonal_rt_5min: nothing after the clock" "$(sql $DB "select count(*) from ieso_ontario_zonal_rt_5min where interval_end_utc > '2025-11-04T12:00:00Z'")" 0
for d in "2024-03-10 2024-03-11" "2024-11-03 2024-11-04"; do
  w=$(est $d)
  check_eq "hoep_hourly ${d%% *}: 24 hours" "$(sql $DB "select count(*) from ieso_hoep_hourly where $w")" 24
  check_eq "load_actual ${d%% *}: 24 hours x 2 series" "$(sql $DB "select count(*) from ieso_load_actual where $w")" 48
done
check_eq "hoep ends 2025-04-30 hour 24" "$(sql $DB "select max(interval_start_utc) from ieso_hoep_hourly")" "2025-05-01T04:00:00Z"
check_eq "load_actual: last hour ended by the clock" "$(sql $DB "select max(interval_end_utc) from ieso_load_actual")" "2025-11-04T12:00:00Z"
# before the market renewal the LMP reports 404: empty, not an error
cat >"$T_DIR/old.yaml" <<YAML
sources:
  ieso:
    rate_limit: 600000
tables:
  - table: ieso.lmp_da_hourly
    start_date: 2024-11-02
    batch_size_days: 400
    rate_limit_delay: 0
YAML
"$AURUM" --config "$T_DIR/old.yaml" --store "sqlite:$T_DIR/old.db" sync ieso.lmp_da_hourly >/dev/null 2>&1; rc=$?
check_eq "pre-renewal days are empty windows (exit 0)" "$rc" 0
check_eq "pre-renewal rows" "$(sql $T_DIR/old.db "select count(*) from ieso_lmp_da_hourly where interval_start_utc < '2025-05-01T05:00:00Z'")" 0

# --- re-sync changes nothing ---
for t in $TABLES; do
  out=$("$AURUM" $cfg sync ieso.$t 2>/dev/null)
  check_contains "re-sync ieso.$t: nothing inserted or updated" "$out" "inserted 0, updated 0"
done

# --- a revision within the lookback: _v2 is the newest version, picked up ---
before=$(sql $DB "select lmp from ieso_ontario_zonal_da_hourly where interval_start_utc='2025-11-04T10:00:00Z'")
sim_post "/_sim/revise?start=2025-11-04T10:00:00Z&end=2025-11-04T11:00:00Z&delta=4&iso=ieso"
check_eq "sim: _v2 exists after the revision" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$SIM/ieso/public/DAHourlyOntarioZonalPrice/PUB_DAHourlyOntarioZonalPrice_20251104_v2.xml")" 200
check_eq "sim: _v3 does not" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$SIM/ieso/public/DAHourlyOntarioZonalPrice/PUB_DAHourlyOntarioZonalPrice_20251104_v3.xml")" 404
out=$("$AURUM" $cfg sync ieso.ontario_zonal_da_hourly 2>/dev/null)
check_contains "revision: one row updated" "$out" "updated 1,"
after=$(sql $DB "select lmp from ieso_ontario_zonal_da_hourly where interval_start_utc='2025-11-04T10:00:00Z'")
check_eq "revision delta" "$(echo "$after - $before" | bc)" "4.00"
# a malformed file fails the window with a position
sim_post "/_sim/faults?spec=malformed:path=/ieso/public/Demand"
"$AURUM" $cfg sync ieso.load_actual >/dev/null 2>"$T_DIR/errmal"; rc=$?
check_eq "malformed exit code" "$rc" 1
check_contains "malformed error has a position" "$(cat "$T_DIR/errmal")" "line"
sim_delete "/_sim/faults"
t_done

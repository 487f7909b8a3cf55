#!/usr/bin/env bash
# ERCOT against the simulator: every table over the 2024 fall-back day through the public API
# (id token + subscription key, paging), the MIS mode for the load tables, DST-day row counts
# and UTC instants, an unchanged re-sync, and auth failures (exit 3 naming the credential).
. "$(dirname "$0")/lib.sh"

export ERCOT_SIM_USERNAME=ann ERCOT_SIM_PASSWORD=s3cret ERCOT_SIM_API_KEY=k3y
export ERCOT_SIM_RATE_PER_MIN=0 ERCOT_SIM_NODES=3
export AURUM_NOW=2024-11-04T18:00:00Z
start_sim --now 2024-11-04T18:00:00Z --seed 11
export ERCOT_API_USERNAME=ann ERCOT_API_PASSWORD=s3cret ERCOT_API_KEY=k3y
export AURUM_ERCOT_BASE=$SIM/ercot/api/public-reports
export AURUM_ERCOT_TOKEN_URL=$SIM/ercot/b2c/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token
export AURUM_ERCOT_MIS_BASE=$SIM/ercot/mis
DB=$T_DIR/e.db
cat >"$T_DIR/aurum.yaml" <<YAML
sources:
  ercot:
    rate_limit: 6000
    page_size: 700
tables:
  - table: ercot.spp_rt_15min
    start_date: 2024-11-03
  - table: ercot.spp_da_hourly
    start_date: 2024-11-03
  - table: ercot.lmp_sced
    start_date: 2024-11-03
  - table: ercot.load_actual_weather_zone
    start_date: 2024-11-03
  - table: ercot.load_forecast
    start_date: 2024-11-03
YAML
cfg="--config $T_DIR/aurum.yaml --store sqlite:$DB"
day="interval_start_utc >= '2024-11-03T05:00:00Z' and interval_start_utc < '2024-11-04T06:00:00Z'"

for t in spp_rt_15min spp_da_hourly lmp_sced load_actual_weather_zone load_forecast; do
  out=$("$AURUM" $cfg sync ercot.$t 2>"$T_DIR/err_$t"); rc=$?
  check_eq "sync $t exit code" "$rc" 0
  [ "$rc" = 0 ] || cat "$T_DIR/err_$t" | tail -3
done
# 27 RT points (hubs, zones, energy-weighted zones, DC ties, 3 nodes), 23 DAM, 18 SCED
check_eq "RT 15-min intervals on the 25-hour day" \
  "$(sql $DB "select count(distinct interval_start_utc) from ercot_spp_rt_15min where $day")" 100
check_eq "RT rows on the fall-back day" "$(sql $DB "select count(*) from ercot_spp_rt_15min where $day")" 2700
check_eq "RT repeated hour: 01:00 CDT and 01:00 CST both present" \
  "$(sql $DB "select count(*) from ercot_spp_rt_15min where location_id='HB_HOUSTON' and interval_start_utc in ('2024-11-03T06:00:00Z','2024-11-03T07:00:00Z')")" 2
check_eq "RT energy-weighted zone keyed apart" \
  "$(sql $DB "select location_type from ercot_spp_rt_15min where location_id='LZ_HOUSTON_EW' limit 1")" ZONE_EW
check_eq "RT components are NULL" \
  "$(sql $DB "select count(*) from ercot_spp_rt_15min where energy is not null or congestion is not null or loss is not null")" 0
check_eq "DAM hours on the fall-back day" \
  "$(sql $DB "select count(distinct interval_start_utc) from ercot_spp_da_hourly where $day")" 25
check_eq "DAM first / last hour" \
  "$(sql $DB "select min(interval_start_utc)||' '||max(interval_start_utc) from ercot_spp_da_hourly where $day")" \
  "2024-11-03T05:00:00Z 2024-11-04T05:00:00Z"
check_eq "SCED intervals on the fall-back day" \
  "$(sql $DB "select count(distinct interval_start_utc) from ercot_lmp_sced where $day")" 300
check_eq "actual load hours x 9 zones" \
  "$(sql $DB "select count(*) from ercot_load_actual_weather_zone where $day")" 225
check_eq "forecast vintages posted on the fall-back day (one per hour, repeated hour too)" \
  "$(sql $DB "select count(distinct publish_time_utc) from ercot_load_forecast where publish_time_utc >= '2024-11-03T05:00:00Z' and publish_time_utc < '2024-11-04T06:00:00Z'")" 25

# --- re-sync at the same clock changes nothing ---
for t in spp_da_hourly load_actual_weather_zone; do
  out=$("$AURUM" $cfg sync ercot.$t 2>/dev/null)
  check_contains "re-sync $t: nothing inserted or updated" "$out" "inserted 0, updated 0"
done

# --- MIS mode (no credentials) gives the same load rows ---
DB2=$T_DIR/mis.db
cat >"$T_DIR/mis.yaml" <<YAML
sources:
  ercot:
    mode: mis
    rate_limit: 6000
tables:
  - table: ercot.load_actual_weather_zone
    start_date: 2024-11-03
  - table: ercot.load_forecast
    start_date: 2024-11-03
YAML
for t in load_actual_weather_zone load_forecast; do
  env -u ERCOT_API_USERNAME -u ERCOT_API_PASSWORD -u ERCOT_API_KEY \
    "$AURUM" --config "$T_DIR/mis.yaml" --store "sqlite:$DB2" sync ercot.$t >/dev/null 2>"$T_DIR/mis_$t"; rc=$?
  check_eq "MIS sync $t exit code" "$rc" 0
done
q="select interval_start_utc, location_id, load_mw from ercot_load_actual_weather_zone where $day order by 1, 2"
check_eq "MIS actual load == API actual load" "$(sql $DB2 "$q" | md5sum)" "$(sql $DB "$q" | md5sum)"
q="select publish_time_utc, interval_start_utc, location_id, load_mw from ercot_load_forecast where publish_time_utc < '2024-11-04T06:00:00Z' order by 1, 2, 3"
check_eq "MIS forecast == API forecast (repeated-hour vintages told apart)" "$(sql $DB2 "$q" | md5sum)" "$(sql $DB "$q" | md5sum)"

# --- auth failures: exit 3, credential named ---
ERCOT_API_PASSWORD=wrong "$AURUM" $cfg sync ercot.spp_da_hourly >/dev/null 2>"$T_DIR/e1"; rc=$?
check_eq "wrong password exit code" "$rc" 3
check_contains "wrong password names the account" "$(cat "$T_DIR/e1")" "ERCOT_API_USERNAME"
ERCOT_API_KEY=nope "$AURUM" $cfg sync ercot.spp_da_hourly >/dev/null 2>"$T_DIR/e2"; rc=$?
check_eq "wrong key exit code" "$rc" 3
check_contains "wrong key names the key" "$(cat "$T_DIR/e2")" "ERCOT_API_KEY"

# --- 30 requests/minute: the simulator throttles, the client waits and completes ---
stop_sim
export ERCOT_SIM_RATE_PER_MIN=2 ERCOT_SIM_RATE_WINDOW=2
start_sim --now 2024-11-04T18:00:00Z --seed 11
export AURUM_ERCOT_BASE=$SIM/ercot/api/public-reports
export AURUM_ERCOT_TOKEN_URL=$SIM/ercot/b2c/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token
"$AURUM" $cfg --store "sqlite:$T_DIR/rl.db" sync ercot.spp_rt_15min >/dev/null 2>"$T_DIR/rl"; rc=$?
check_eq "throttled sync exit code" "$rc" 0
check_contains "simulator answered 429" "$(sim_get /_sim/log)" '"status": 429'
check_eq "throttled sync rows" "$(sql $T_DIR/rl.db "select count(*) from ercot_spp_rt_15min where $day")" 2700

t_done

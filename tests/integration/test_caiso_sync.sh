#!/usr/bin/env bash
# CAISO OASIS against the simulator: DST trade days (23/25 hours, 276/300 five-minute
# intervals), node-list and 31-day splits, OASIS errors 1000/1004/1015/other, re-sync
# idempotence, XML results, load forecasts, AS prices, CRR, --format events, and the
# 429 politeness answer.
. "$(dirname "$0")/lib.sh"

export AURUM_NOW=2024-11-05T12:00:00Z
start_sim --now 2024-11-05T12:00:00Z --seed 3
unset CAISO_OASIS_BASE_URL AURUM_CAISO_BASE CAISO_OASIS_TIMEOUT
mkcfg() { # mkcfg FILE BASE [extra source lines]
  cat >"$1" <<YAML
sources:
  caiso:
    base_url: $2
    min_spacing: 0
    backoff_factor: 0.01
${3:-}
YAML
}
CFG=$T_DIR/c.yaml
mkcfg "$CFG" "$SIM/oasisapi"
X() { "$AURUM" --config "$CFG" extract "$@" 2>>"$T_DIR/x.err"; }
nreq() { sim_get "/_sim/stats" | sed -n 's/^{"requests": \([0-9]*\).*/\1/p'; }

# --- DST trade days ---
X caiso.lmp_dam --start 2024-03-10 --end 2024-03-11 >"$T_DIR/s.csv"
check_eq "spring DAM rows (3 hubs x 23 h)" "$(tail -n +2 "$T_DIR/s.csv" | wc -l)" 69
check_eq "spring DAM distinct hours" "$(tail -n +2 "$T_DIR/s.csv" | cut -d, -f1 | sort -u | wc -l)" 23
check_eq "spring DAM first hour" "$(tail -n +2 "$T_DIR/s.csv" | cut -d, -f1 | sort | head -1)" "2024-03-10T08:00:00Z"
X caiso.lmp_dam --start 2024-11-03 --end 2024-11-04 >"$T_DIR/f.csv"
check_eq "fall DAM distinct hours" "$(tail -n +2 "$T_DIR/f.csv" | cut -d, -f1 | sort -u | wc -l)" 25
check_eq "fall DAM last hour" "$(tail -n +2 "$T_DIR/f.csv" | cut -d, -f1 | sort | tail -1)" "2024-11-04T07:00:00Z"
check_eq "lmp = energy + congestion + loss + ghg" \
  "$(tail -n +2 "$T_DIR/f.csv" | awk -F, '{d=$8-($9+$10+$11+$12); if (d>1e-6||d<-1e-6) n++} END {print n+0}')" 0
X caiso.lmp_rtm --start 2024-03-10 --end 2024-03-11 --node TH_SP15_GEN-APND >"$T_DIR/rs.csv"
check_eq "spring RTM 5-minute intervals" "$(tail -n +2 "$T_DIR/rs.csv" | cut -d, -f1 | sort -u | wc -l)" 276
X caiso.lmp_rtm --start 2024-11-03 --end 2024-11-04 --node TH_SP15_GEN-APND >"$T_DIR/rf.csv"
check_eq "fall RTM 5-minute intervals" "$(tail -n +2 "$T_DIR/rf.csv" | cut -d, -f1 | sort -u | wc -l)" 300
X caiso.lmp_fmm --start 2024-11-03 --end 2024-11-04 --node TH_NP15_GEN-APND >"$T_DIR/ff.csv"
check_eq "fall FMM 15-minute intervals" "$(tail -n +2 "$T_DIR/ff.csv" | wc -l)" 100
X caiso.lmp_hasp --start 2024-11-01 --end 2024-11-02 --node TH_NP15_GEN-APND >"$T_DIR/hh.csv"
check_eq "HASP 15-minute intervals" "$(tail -n +2 "$T_DIR/hh.csv" | wc -l)" 96

# --- 11 nodes: two requests per window; 40 days: two windows ---
sim_post /_sim/reset
X caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 \
  --opt nodes=TH_NP15_GEN-APND,TH_SP15_GEN-APND,TH_ZP26_GEN-APND,N4,N5,N6,N7,N8,N9,N10,N11 >"$T_DIR/n.csv"
check_eq "11 nodes -> 2 requests" "$(nreq)" 2
check_eq "11 nodes x 24 h rows" "$(tail -n +2 "$T_DIR/n.csv" | wc -l)" 264
check_eq "no request carried more than 10 nodes" \
  "$(sim_get /_sim/log | grep -o 'node=[^&\"]*' | awk -F, 'NF>10' | wc -l)" 0
sim_post /_sim/reset
X caiso.lmp_dam --start 2024-01-01 --end 2024-02-10 --node TH_SP15_GEN-APND >"$T_DIR/d40.csv"
check_eq "40 days -> 2 requests (31 + 9 days)" "$(nreq)" 2
check_eq "40 days of hours" "$(tail -n +2 "$T_DIR/d40.csv" | wc -l)" 960
check_eq "no 1004 error" "$(sim_get /_sim/log | grep -c '20240101T08:00-0000&enddatetime=20240201T08:00-0000')" 1

# --- OASIS errors (the simulator's /_err/CODE[/LO-HI] hook) ---
mkcfg "$T_DIR/e1000.yaml" "$SIM/oasisapi/_err/1000"
out=$("$AURUM" --config "$T_DIR/e1000.yaml" extract caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 2>"$T_DIR/e1000.err"); rc=$?
check_eq "1000 = empty window, exit 0" "$rc" 0
check_eq "1000 = no rows" "$(echo "$out" | grep -c TH_)" 0
sim_post /_sim/reset
mkcfg "$T_DIR/e1004.yaml" "$SIM/oasisapi/_err/1004/1-1"
"$AURUM" --config "$T_DIR/e1004.yaml" extract caiso.lmp_dam --start 2024-01-01 --end 2024-01-03 --node TH_SP15_GEN-APND >"$T_DIR/e1004.csv" 2>"$T_DIR/e1004.err"; rc=$?
check_eq "1004 -> split and succeed" "$rc" 0
check_eq "1004 split: all rows" "$(tail -n +2 "$T_DIR/e1004.csv" | wc -l)" 48
check_eq "1004 split: 1 + 2 requests" "$(nreq)" 3
sim_post /_sim/reset
mkcfg "$T_DIR/e1015.yaml" "$SIM/oasisapi/_err/1015/1-1"
"$AURUM" --config "$T_DIR/e1015.yaml" extract caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 --node TH_SP15_GEN-APND >"$T_DIR/e1015.csv" 2>"$T_DIR/e1015.err"; rc=$?
check_eq "1015 -> window retried and succeeds" "$rc" 0
check_eq "1015 retry: rows" "$(tail -n +2 "$T_DIR/e1015.csv" | wc -l)" 24
check_contains "1015 retry logged" "$(cat "$T_DIR/e1015.err")" "1015"
mkcfg "$T_DIR/e1015b.yaml" "$SIM/oasisapi/_err/1015"
"$AURUM" --config "$T_DIR/e1015b.yaml" extract caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 >/dev/null 2>"$T_DIR/e1015b.err"; rc=$?
check_eq "1015 for ever -> fails" "$rc" 1
mkcfg "$T_DIR/e1010.yaml" "$SIM/oasisapi/_err/1010"
"$AURUM" --config "$T_DIR/e1010.yaml" extract caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 >/dev/null 2>"$T_DIR/e1010.err"; rc=$?
check_eq "other code -> fails" "$rc" 1
check_contains "other code: code and text" "$(cat "$T_DIR/e1010.err")" "OASIS error 1010: System Error"

# --- sync, re-sync changes nothing ---
DB=$T_DIR/c.db
cat >"$T_DIR/sync.yaml" <<YAML
sources:
  caiso:
    base_url: $SIM/oasisapi
    min_spacing: 0
tables:
  - table: caiso.lmp_dam
    start_date: 2024-10-20
  - table: caiso.load_forecast
    start_date: 2024-11-01
  - table: caiso.as_dam
    start_date: 2024-11-01
  - table: caiso.crr
    start_date: 2024-10-01
YAML
S() { "$AURUM" --config "$T_DIR/sync.yaml" --store "sqlite:$DB" sync "$@" 2>/dev/null; }
out=$(S caiso.lmp_dam); rc=$?
check_eq "sync exit" "$rc" 0
# 2024-10-20 .. 2024-11-06 (exclusive): 17 days, one of 25 h -> 409 h x 3 hubs
check_eq "synced rows" "$(sql $DB 'select count(*) from caiso_lmp_dam')" 1227
out=$(S caiso.lmp_dam)
check_contains "re-sync: nothing inserted or updated" "$out" "inserted 0, updated 0"
out=$(S caiso.load_forecast); rc=$?
check_eq "load sync exit" "$rc" 0
check_eq "load horizons" "$(sql $DB 'select group_concat(iso_market) from (select distinct iso_market from caiso_load_forecast order by 1)')" "2DA,7DA,DAM,RTD,RTPD"
check_eq "load RTD rows on 2024-11-01 per TAC" \
  "$(sql $DB "select count(*) from caiso_load_forecast where iso_market='RTD' and location_id='PGE-TAC' and interval_start_utc >= '2024-11-01T07:00:00Z' and interval_start_utc < '2024-11-02T07:00:00Z'")" 288
out=$(S caiso.load_forecast)
check_contains "load re-sync: nothing changed" "$out" "inserted 0, updated 0"
out=$(S caiso.as_dam); rc=$?
check_eq "as_dam sync exit" "$rc" 0
check_eq "as_dam types x regions on one hour" \
  "$(sql $DB "select count(*) from caiso_as_dam where interval_start_utc='2024-11-01T07:00:00Z'")" 24
out=$(S caiso.crr); rc=$?
check_eq "crr sync exit" "$rc" 0
check_eq "crr months" "$(sql $DB "select count(distinct crr_market_name) from caiso_crr")" 2

# --- XML results parse to the same values ---
mkcfg "$T_DIR/xml.yaml" "$SIM/oasisapi" "    oasis_result_format: 0"
"$AURUM" --config "$T_DIR/xml.yaml" extract caiso.lmp_dam --start 2024-11-03 --end 2024-11-04 2>/dev/null | cut -d, -f1-15 >"$T_DIR/xml.csv"
cut -d, -f1-15 "$T_DIR/f.csv" >"$T_DIR/csv.csv"
if cmp -s "$T_DIR/xml.csv" "$T_DIR/csv.csv"; then ok "XML result == CSV result"; else fail "XML result differs"; diff "$T_DIR/xml.csv" "$T_DIR/csv.csv" | head -4; fi
check_contains "XML request has no resultformat" "$(sim_get /_sim/log | tail -1)" "queryname=PRC_LMP&version=1"

# --- events ---
X caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 --node TH_SP15_GEN-APND --format events >"$T_DIR/ev1"
X caiso.lmp_dam --start 2024-01-01 --end 2024-01-02 --node TH_SP15_GEN-APND --format events >"$T_DIR/ev2"
check_eq "events: 24 h x 5 components" "$(wc -l <"$T_DIR/ev1")" 120
check_eq "events: ids deterministic" "$(grep -o '"event_id":"[^"]*"' "$T_DIR/ev1" | md5sum)" "$(grep -o '"event_id":"[^"]*"' "$T_DIR/ev2" | md5sum)"
check_eq "events: ids unique" "$(grep -o '"event_id":"[^"]*"' "$T_DIR/ev1" | sort -u | wc -l)" 120
first=$(head -1 "$T_DIR/ev1")
for k in occurred_at tenant_id schema_version producer market node lmp_type price market_run_id interval_start extraction_metadata extraction_time source version; do
  check_contains "events: field $k" "$first" "\"$k\""
done
check_contains "events: occurred_at in microseconds" "$first" '"occurred_at":1704096000000000'
check_eq "events: lmp_type set" "$(grep -o '"lmp_type":"[A-Z]*"' "$T_DIR/ev1" | sort -u | tr -d '\n')" \
  '"lmp_type":"LMP""lmp_type":"MCC""lmp_type":"MCE""lmp_type":"MCL""lmp_type":"MGHG"'

# --- byte-identical answers, error ZIP shape ---
U="$SIM/oasisapi/SingleZip?resultformat=6&queryname=PRC_LMP&version=1&startdatetime=20240101T08:00-0000&enddatetime=20240102T08:00-0000&market_run_id=DAM&node=TH_SP15_GEN-APND"
curl -sf -o "$T_DIR/z1.zip" "$U"; curl -sf -o "$T_DIR/z2.zip" "$U"
if cmp -s "$T_DIR/z1.zip" "$T_DIR/z2.zip"; then ok "same request -> same bytes"; else fail "ZIP bytes differ"; fi
check_contains "member name" "$(unzip -l "$T_DIR/z1.zip")" "20240101_20240102_PRC_LMP_DAM_20241105_04_00_00_v1.csv"
check_eq "rows are unsorted" "$(unzip -p "$T_DIR/z1.zip" | tail -n +2 | cut -d, -f1 | sort -c 2>/dev/null && echo sorted || echo unsorted)" unsorted
curl -sf -o "$T_DIR/e.zip" "${U/20240102T08/20240301T08}"
check_contains "beyond 31 days -> 1004" "$(unzip -p "$T_DIR/e.zip")" "<m:ERR_CODE>1004</m:ERR_CODE>"

t_done

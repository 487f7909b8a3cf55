#!/usr/bin/env bash
# CAISO politeness: with the simulator's --min-spacing 0.3, a client spacing of 0.3 s is never
# throttled; a client with no spacing gets OASIS's 429 HTML answer, backs off and still completes;
# two sync processes of one source share its spacing through the store.
. "$(dirname "$0")/lib.sh"

export AURUM_NOW=2024-11-05T12:00:00Z
start_sim --now 2024-11-05T12:00:00Z --min-spacing 0.3
mk() { cat >"$1" <<YAML
sources:
  caiso:
    base_url: $SIM/oasisapi
    min_spacing: $2
    backoff_factor: 0.05
    retry_attempts: 10
YAML
}
throttled() { sim_get /_sim/stats | sed -n 's/.*"throttled": \([0-9]*\).*/\1/p'; }
mk "$T_DIR/slow.yaml" 0.4
t0=$(date +%s.%N)
"$AURUM" --config "$T_DIR/slow.yaml" extract caiso.lmp_fmm --start 2024-11-01 --end 2024-11-05 \
  --node TH_SP15_GEN-APND >"$T_DIR/a.csv" 2>/dev/null; rc=$?
t1=$(date +%s.%N)
check_eq "spaced client: exit" "$rc" 0
check_eq "spaced client: rows (4 days x 96, +4 on 2024-11-03)" "$(tail -n +2 "$T_DIR/a.csv" | wc -l)" 388
check_eq "spaced client: never throttled" "$(throttled)" 0
check_eq "spaced client: 4 requests took >= 1.2 s" "$(echo "$t1 - $t0 >= 1.2" | bc)" 1

sim_post /_sim/reset
mk "$T_DIR/fast.yaml" 0
"$AURUM" --config "$T_DIR/fast.yaml" extract caiso.lmp_fmm --start 2024-11-01 --end 2024-11-05 \
  --node TH_SP15_GEN-APND >"$T_DIR/b.csv" 2>/dev/null; rc=$?
check_eq "unspaced client: still completes" "$rc" 0
check_eq "unspaced client: same rows" "$(tail -n +2 "$T_DIR/b.csv" | cut -d, -f1-15 | md5sum)" \
  "$(tail -n +2 "$T_DIR/a.csv" | cut -d, -f1-15 | md5sum)"
check_ne "unspaced client: was throttled" "$(throttled)" 0

# two `aurum sync` processes of two CAISO tables share the source's spacing through the store
# (aurum_rate): with per-process spacing only, their first requests collide (one attempt each)
sleep 0.4 # past the simulator's spacing window of the requests above
sim_post /_sim/reset
cat >"$T_DIR/two.yaml" <<YAML
sources:
  caiso:
    base_url: $SIM/oasisapi
    min_spacing: 0.4
    retry_attempts: 1
tables:
  - table: caiso.lmp_fmm
    nodes: TH_SP15_GEN-APND
    start_date: 2024-11-02
    batch_size_days: 1
  - table: caiso.lmp_dam
    nodes: TH_SP15_GEN-APND
    start_date: 2024-11-02
    batch_size_days: 1
YAML
TWO=$(t_store_url two)
( exec "$AURUM" --config "$T_DIR/two.yaml" --log-level error --store "$TWO" sync caiso.lmp_fmm >/dev/null 2>&1 ) &
p1=$!
"$AURUM" --config "$T_DIR/two.yaml" --log-level error --store "$TWO" sync caiso.lmp_dam >/dev/null 2>&1; rc2=$?
wait "$p1"; rc1=$?
check_eq "two syncs of one source: both exit 0" "$rc1$rc2" "00"
check_eq "two syncs of one source: never throttled" "$(throttled)" 0
check_ne "two syncs of one source: both fetched" "$(q "$TWO" 'select count(*) from caiso_lmp_fmm')" 0
check_ne "two syncs of one source: both fetched (DAM)" "$(q "$TWO" 'select count(*) from caiso_lmp_dam')" 0
check_eq "the pacing state is in the store" "$(q "$TWO" "select count(*) from aurum_rate where rate_key = 'source:caiso'")" 1

U="$SIM/oasisapi/SingleZip?resultformat=6&queryname=PRC_LMP&version=1&startdatetime=20240101T08:00-0000&enddatetime=20240102T08:00-0000&market_run_id=DAM&node=TH_SP15_GEN-APND"
curl -s -o /dev/null "$U"
body=$(curl -s -w ' %{http_code}' "$U")
check_eq "429 answer is OASIS's HTML" "$body" \
  "<html><body><p>CAISO Acceptable Use Policy Violation. Please retry your request after 5 seconds.</p></body></html> 429"
t_done

#!/usr/bin/env bash
# kill -9 in the middle of a sync, then a rerun: the table equals an uninterrupted run's.
. "$(dirname "$0")/lib.sh"

export AESO_API_KEY=k
export AURUM_NOW=2024-02-20T12:00:00Z
start_sim --now 2024-02-20T12:00:00Z --latency 0.1 --seed 3
export AURUM_AESO_BASE=$SIM
cat >"$T_DIR/aurum.yaml" <<YAML
sources:
  aeso:
    rate_limit: 0
tables:
  - table: aeso.pool_price
    start_date: 2024-01-01
    batch_size_days: 2
    rate_limit_delay: 0
YAML
dump() { sql "$1" "select * from aeso_pool_price order by 1; select table_key, watermark from aurum_state"; }

# the reference: one uninterrupted run
REF=$(t_store_url ref)
"$AURUM" --config "$T_DIR/aurum.yaml" --store "$REF" sync >/dev/null 2>&1
check_eq "reference run rows" "$(sql "$REF" 'select count(*) from aeso_pool_price')" 1224

for delay in 0.3 0.9 1.6 2.3; do
  db=$(t_store_url "crash-$delay")
  "$AURUM" --config "$T_DIR/aurum.yaml" --store "$db" sync >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  partial=$(sql "$db" 'select count(*) from aeso_pool_price' 2>/dev/null || echo 0)
  if [ "$partial" -lt 1224 ]; then ok "kill -9 at ${delay}s hit the middle of the sync"; else
    fail "kill -9 at ${delay}s came after the sync finished ($partial rows)"; fi
  "$AURUM" --config "$T_DIR/aurum.yaml" --store "$db" sync >/dev/null 2>"$T_DIR/rerun.err"; rc=$?
  check_eq "rerun after kill -9 at ${delay}s (had $partial rows) exits 0" "$rc" 0
  if [ "$(dump "$db")" = "$(dump "$REF")" ]; then ok "table after kill -9 at ${delay}s equals the uninterrupted run"
  else fail "table after kill -9 at ${delay}s differs"; fi
done
t_done

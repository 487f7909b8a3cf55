#!/usr/bin/env bash
# PostgreSQL store: the server dies (pg_ctl stop -m immediate) in the middle of a sync.
# (1) it stays down: the sync fails cleanly; after a restart a rerun completes and the
#     table equals an uninterrupted run's; (2) it comes back while aurum is retrying the
#     batch: aurum reconnects by itself and finishes.
AU_TEST_STORE=postgresql
. "$(dirname "$0")/lib.sh"

export AESO_API_KEY=k
export AURUM_NOW=2024-02-20T12:00:00Z
start_sim --now 2024-02-20T12:00:00Z --latency 0.1 --seed 3
export AURUM_AESO_BASE=$SIM
cat >"$T_DIR/aurum.yaml" <<YAML
sources:
  aeso:
    rate_limit: 0
batch_retries: 3
tables:
  - table: aeso.pool_price
    start_date: 2024-01-01
    batch_size_days: 1
    rate_limit_delay: 0
YAML
cfg="--config $T_DIR/aurum.yaml"
dump() { q "$1" "select * from aeso_pool_price order by 1; select table_key, watermark from aurum_state"; }
REF=$(t_store_url ref)
"$AURUM" $cfg --store "$REF" sync >/dev/null 2>&1
check_eq "reference rows" "$(q "$REF" 'select count(*) from aeso_pool_price')" 1224

pg() { bash "$T_PG_SCRIPT" "$@" "$T_PG_DIR"; }

# (1) server down for good
for delay in 0.7 2.1; do
  db=$(t_store_url "down-$delay")
  "$AURUM" $cfg --store "$db" sync >/dev/null 2>"$T_DIR/down.err" &
  pid=$!
  sleep "$delay"
  pg kill
  wait $pid; rc=$?
  check_ne "sync fails while the server is down (${delay}s)" "$rc" 0
  check_contains "error says the connection is gone (${delay}s)" "$(cat "$T_DIR/down.err")" "postgresql"
  pg restart >/dev/null
  partial=$(q "$db" 'select count(*) from aeso_pool_price')
  "$AURUM" $cfg --store "$db" sync >/dev/null 2>"$T_DIR/rerun.err"; rc=$?
  check_eq "rerun after the crash at ${delay}s (had $partial rows) exits 0" "$rc" 0
  if [ "$(dump "$db")" = "$(dump "$REF")" ]; then ok "table after the crash at ${delay}s equals the uninterrupted run"
  else fail "table after the crash at ${delay}s differs"; diff <(dump "$db") <(dump "$REF") | head -5; fi
done

# (2) server back while aurum retries: it reconnects and completes on its own
db=$(t_store_url back)
"$AURUM" $cfg --store "$db" sync >"$T_DIR/back.out" 2>"$T_DIR/back.err" &
pid=$!
sleep 1.2
pg kill
sleep 0.5
pg restart >/dev/null
wait $pid; rc=$?
check_eq "sync survives a server restart" "$rc" 0
[ "$rc" -eq 0 ] || tail -5 "$T_DIR/back.err"
check_contains "it retried the batch" "$(cat "$T_DIR/back.err")" "retrying"
if [ "$(dump "$db")" = "$(dump "$REF")" ]; then ok "table after the restart equals the uninterrupted run"
else fail "table after the restart differs"; fi
t_done

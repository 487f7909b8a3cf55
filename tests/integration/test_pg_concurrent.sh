#!/usr/bin/env bash
# PostgreSQL store: two `aurum sync` of one table never interleave (advisory lock): the
# second exits with the lock message, or waits with --lock-timeout and then finds nothing
# left to do; the data equals a single run's.
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
tables:
  - table: aeso.pool_price
    start_date: 2024-01-01
    batch_size_days: 1
    rate_limit_delay: 0
YAML
DB=$(t_store_url conc)
REF=$(t_store_url ref)
cfg="--config $T_DIR/aurum.yaml"
"$AURUM" $cfg --store "$REF" sync >/dev/null 2>&1
dump() { q "$1" "select * from aeso_pool_price order by 1; select table_key, watermark from aurum_state"; }

"$AURUM" $cfg --store "$DB" sync >"$T_DIR/a.out" 2>"$T_DIR/a.err" &
pid_a=$!
# wait until A holds the table's advisory lock
for _ in $(seq 1 200); do
  [ "$(q "$DB" "select count(*) from pg_locks where locktype = 'advisory' and granted" 2>/dev/null)" = 1 ] && break
  sleep 0.05
done
check_eq "first sync holds an advisory lock" "$(q "$DB" "select count(*) from pg_locks where locktype = 'advisory' and granted")" 1

t0=$(date +%s.%N)
"$AURUM" $cfg --store "$DB" sync >/dev/null 2>"$T_DIR/b.err"; rc=$?
check_eq "second sync exits with the lock code" "$rc" 5
check_contains "lock message" "$(cat "$T_DIR/b.err")" "being synced by another aurum process"
check_contains "lock message names --lock-timeout" "$(cat "$T_DIR/b.err")" "--lock-timeout"

"$AURUM" $cfg --store "$DB" sync --lock-timeout 0.5 >/dev/null 2>"$T_DIR/c.err"; rc=$?
t1=$(date +%s.%N)
check_eq "short --lock-timeout still gives up" "$rc" 5
check_eq "it waited about the timeout" "$(echo "$t1 - $t0 >= 0.5" | bc)" 1

still=$(kill -0 $pid_a 2>/dev/null && echo running || echo done)
check_eq "first sync was still running meanwhile" "$still" running
"$AURUM" $cfg --store "$DB" sync --lock-timeout 120 >"$T_DIR/d.out" 2>"$T_DIR/d.err"; rc=$?
check_eq "a waiting sync runs after the first one" "$rc" 0
wait $pid_a; rc_a=$?
check_eq "first sync exit code" "$rc_a" 0
check_contains "the waiting sync found everything stored" "$(cat "$T_DIR/d.out")" "inserted 0, updated 0"
if [ "$(dump "$DB")" = "$(dump "$REF")" ]; then ok "table equals a single run's"; else fail "table differs from a single run's"; fi
check_eq "runs recorded (2 ok)" "$(q "$DB" "select count(*) from aurum_runs where status = 'ok'")" 2
check_eq "no lock left behind" "$(q "$DB" "select count(*) from pg_locks where locktype = 'advisory'")" 0
t_done

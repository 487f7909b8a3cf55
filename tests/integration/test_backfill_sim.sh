#!/usr/bin/env bash
# Backfill orchestrator against the simulator: a year in 30-day chunks equals one sync;
# kill -9 at 5 points + resume converges with no done chunk refetched; injected failures
# mark chunks failed and `jobs retry` completes them; the rate limit holds under
# concurrency; the watermark never moves. Store-neutral: CTest runs it on SQLite and again
# with AU_TEST_STORE=postgresql (lib.sh: t_store_url, q).
. "$(dirname "$0")/lib.sh"
# count of a job's chunks in STATUS, in SQL both stores speak
n_in() { echo "sum(case when status = '$1' then 1 else 0 end)"; }
# a chunk column as its Alberta trade day (local midnight is 06:00 or 07:00 UTC)
trade_day() {
  if [ "$AU_TEST_STORE" = postgresql ]; then echo "to_char($1 at time zone 'America/Edmonton', 'YYYY-MM-DD')"
  else echo "date($1, '-6 hours')"; fi
}

export AESO_API_KEY=k
export AURUM_NOW=2023-12-31T12:00:00Z
start_sim --now 2024-02-01T00:00:00Z --latency 0.03 --seed 5
export AURUM_AESO_BASE=$SIM
cat >"$T_DIR/aurum.yaml" <<YAML
sources:
  aeso:
    min_spacing: 0
    rate_limit: 0
    retry_attempts: 1
tables:
  - table: aeso.pool_price
    start_date: 2023-01-01
    batch_size_days: 10
    rate_limit_delay: 0
YAML
A() { "$AURUM" --config "$T_DIR/aurum.yaml" --log-level error "$@"; }
dump() { q "$1" "select * from aeso_pool_price order by 1"; }
BF="backfill aeso.pool_price --start 2023-01-01 --end 2024-01-01 --chunk-days 30"

# --- reference: one sync of the same range ---
REF=$(t_store_url ref)
A --store "$REF" sync >/dev/null 2>&1
check_eq "reference rows" "$(q "$REF" 'select count(*) from aeso_pool_price')" 8760

# --- a year in 30-day chunks, 4 workers == the single sync ---
DB=$(t_store_url bf)
A --store "$DB" $BF --concurrency 4 >"$T_DIR/bf.out" 2>"$T_DIR/bf.err"; rc=$?
check_eq "backfill exit code" "$rc" 0
check_eq "13 chunks planned, all done" "$(q $DB "select count(*), $(n_in done) from aurum_backfill_chunks")" "13|13"
if [ "$(dump $DB)" = "$(dump "$REF")" ]; then ok "backfill table == single sync table"; else fail "backfill table differs from the single sync"; fi
check_eq "one JSON progress line per chunk (not a TTY)" "$(grep -c '"event":"chunk"' "$T_DIR/bf.err")" 13
check_contains "summary" "$(cat "$T_DIR/bf.out")" "13/13 chunks done, 0 failed"
check_eq "job done" "$(q $DB "select status from aurum_backfill_jobs")" "done"
check_eq "backfill leaves no watermark" "$(q $DB "select count(*) from aurum_state where table_key='aeso.pool_price'")" 0
check_eq "quota usage recorded" "$(q $DB "select sum(records) from aurum_quota_usage")" 8760
check_eq "one run record for the job (not one per chunk), finished ok with every request" \
  "$(q $DB "select count(*), min(status), sum(requests) from aurum_runs where table_key='aeso.pool_price'")" \
  "1|ok|$(q $DB "select sum(requests) from aurum_quota_usage")"
# the same command again after completion starts a new job (a deliberate re-run); idempotent
A --store "$DB" $BF --concurrency 2 >/dev/null 2>&1
if [ "$(dump $DB)" = "$(dump "$REF")" ]; then ok "re-run changes nothing"; else fail "re-run changed the table"; fi

# --- kill -9 at 5 points, then the same command again: converges, no done chunk refetched ---
stop_sim
start_sim --now 2024-02-01T00:00:00Z --latency 0.12 --seed 5
export AURUM_AESO_BASE=$SIM
for delay in 0.2 0.5 0.8 1.2 1.6; do
  db=$(t_store_url "crash_${delay/./_}")
  # exec: $! must be aurum itself, not a subshell around it
  ( exec "$AURUM" --config "$T_DIR/aurum.yaml" --log-level error --store "$db" $BF --concurrency 2 >/dev/null 2>&1 ) &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  done_before=$(q "$db" "select count(*) from aurum_backfill_chunks where status='done'" 2>/dev/null || echo 0)
  running=$(q "$db" "select count(*) from aurum_backfill_chunks where status='running'" 2>/dev/null || echo 0)
  # done chunks' trade days
  q "$db" "select $(trade_day range_start) || ' ' || $(trade_day range_end) from aurum_backfill_chunks where status='done'" \
    >"$T_DIR/done-$delay.txt" 2>/dev/null
  sleep 0.3 # requests in flight at the kill finish (and get logged) before the log is cleared
  sim_post "/_sim/reset"
  A --store "$db" $BF --concurrency 2 >/dev/null 2>"$T_DIR/resume.err"; rc=$?
  check_eq "resume after kill -9 at ${delay}s ($done_before done, $running left running) exits 0" "$rc" 0
  if [ "$(dump "$db")" = "$(dump "$REF")" ]; then ok "table after kill -9 at ${delay}s equals the single sync"
  else fail "table after kill -9 at ${delay}s differs"; fi
  check_eq "kill at ${delay}s: one job, all chunks done" \
    "$(q "$db" "select count(distinct job_id), $(n_in done) from aurum_backfill_chunks")" "1|13"
  sim_get "/_sim/log" | grep -o 'startDate=[0-9-]*' | cut -d= -f2 >"$T_DIR/req-$delay.txt"
  refetched=0
  while read -r a b; do
    [ -z "$a" ] && continue
    n=$(awk -v a="$a" -v b="$b" '$1 >= a && $1 < b' "$T_DIR/req-$delay.txt" | wc -l)
    refetched=$((refetched + n))
  done <"$T_DIR/done-$delay.txt"
  check_eq "kill at ${delay}s: requests for chunks done before the kill" "$refetched" 0
  check_eq "kill at ${delay}s: every window fetched once after resume" \
    "$(sort "$T_DIR/req-$delay.txt" | uniq -d | wc -l)" 0
done

# --- injected failures: chunks fail after --max-attempts, jobs retry completes them ---
stop_sim
start_sim --now 2024-02-01T00:00:00Z --latency 0.01 --seed 5
export AURUM_AESO_BASE=$SIM
sim_post "/_sim/faults?spec=500@always"
DBF=$(t_store_url fail)
A --store "$DBF" backfill aeso.pool_price --start 2023-01-01 --end 2023-04-01 --chunk-days 30 \
  --concurrency 2 --max-attempts 2 --retry-delay 0.05 >/dev/null 2>"$T_DIR/fail.err"; rc=$?
check_eq "failing backfill exits 1" "$rc" 1
check_eq "all chunks failed after 2 attempts" "$(q $DBF "select count(*), $(n_in failed), min(attempts), max(attempts) from aurum_backfill_chunks")" "3|3|2|2"
check_contains "failed chunks listed" "$(cat "$T_DIR/fail.err")" "failed chunk 0"
check_contains "error recorded" "$(q $DBF "select last_error from aurum_backfill_chunks limit 1")" "500"
check_eq "job failed" "$(q $DBF "select status from aurum_backfill_jobs")" "failed"
sim_delete "/_sim/faults"
id=$(q $DBF "select id from aurum_backfill_jobs")
A --store "$DBF" jobs retry "$id" --concurrency 2 >/dev/null 2>&1; rc=$?
check_eq "jobs retry exits 0" "$rc" 0
check_eq "all chunks done after retry" "$(q $DBF "select $(n_in done) from aurum_backfill_chunks")" 3
check_eq "retried rows equal the reference" \
  "$(q $DBF "select count(*) from aeso_pool_price")" \
  "$(q "$REF" "select count(*) from aeso_pool_price where begin_datetime_utc < '2023-04-01T06:00:00Z'")"
out=$(A --store "$DBF" jobs show "$id")
check_contains "jobs show lists chunk states" "$out" "done"
# a transient fault (first attempt of each window fails) is retried with backoff and succeeds
sim_post "/_sim/reset"
sim_post "/_sim/faults?spec=500@n=1-2"
DBT=$(t_store_url transient)
A --store "$DBT" backfill aeso.pool_price --start 2023-01-01 --end 2023-03-01 --chunk-days 30 \
  --concurrency 2 --max-attempts 3 --retry-delay 0.05 >/dev/null 2>"$T_DIR/transient.err"; rc=$?
[ "$rc" = 0 ] || head -50 "$T_DIR/transient.err"
check_eq "transient failures retried: exit 0" "$rc" 0
check_eq "transient: a chunk needed 2 attempts" "$(q "$DBT" "select max(attempts), $(n_in done) from aurum_backfill_chunks")" "2|2"
sim_delete "/_sim/faults"

# --- cancel: a cancelled job hands out no chunks ---
DBC=$(t_store_url cancel)
id2=$(A --store "$DBC" backfill aeso.pool_price --start 2023-01-01 --end 2023-03-01 --detach 2>/dev/null)
A --store "$DBC" jobs cancel "$id2" >/dev/null
A --store "$DBC" worker --progress none >/dev/null 2>&1
check_eq "cancelled job: nothing ran" "$(q "$DBC" "select status, (select count(*) from aurum_backfill_chunks where status='done') from aurum_backfill_jobs")" "cancelled|0"
# a detached job is run by `aurum worker` processes (two at once share the queue)
DBK=$(t_store_url work)
id3=$(A --store "$DBK" backfill aeso.pool_price --start 2023-01-01 --end 2023-07-01 --chunk-days 10 --detach 2>/dev/null)
A --store "$DBK" worker --concurrency 2 --progress none >/dev/null 2>&1 &
w1=$!
A --store "$DBK" worker --concurrency 2 --progress none >/dev/null 2>&1
wait $w1
check_eq "two workers: every chunk done once" \
  "$(q "$DBK" "select count(*), $(n_in done), max(attempts) from aurum_backfill_chunks where job_id=$id3")" "19|19|1"
check_eq "two workers: job done" "$(q "$DBK" "select status from aurum_backfill_jobs where id=$id3")" "done"

# --- the rate limit holds under concurrency: simulator throttles requests closer than 0.1 s ---
stop_sim
start_sim --now 2024-02-01T00:00:00Z --latency 0.01 --seed 5 --min-spacing 0.1
export AURUM_AESO_BASE=$SIM
cat >"$T_DIR/spaced.yaml" <<YAML
sources:
  aeso:
    min_spacing: 0.12
    rate_limit: 0
    retry_attempts: 1
tables:
  - table: aeso.pool_price
    batch_size_days: 2
    rate_limit_delay: 0
YAML
DBS=$(t_store_url spaced)
t0=$(date +%s.%N)
"$AURUM" --config "$T_DIR/spaced.yaml" --log-level error --store "$DBS" backfill aeso.pool_price \
  --start 2023-01-01 --end 2023-02-01 --chunk-days 2 --concurrency 4 --max-attempts 1 >/dev/null 2>&1; rc=$?
t1=$(date +%s.%N)
check_eq "spaced backfill with 4 workers exits 0" "$rc" 0
stats=$(sim_get "/_sim/stats")
check_contains "no request was throttled by the simulator" "$stats" '"throttled": 0'
check_eq "16 requests" "$(sim_get "/_sim/log" | grep -c poolPrice)" 16
check_eq "wall time >= 15 gaps of 0.12 s" "$(echo "$t1 - $t0 >= 1.8" | bc)" 1
# two processes on one job share the spacing through the store (aurum_rate), not only the
# threads of one process: with only per-process pacing their requests interleave closer
# than 0.1 s and the simulator throttles them (the job has one attempt per chunk)
DBS2=$(t_store_url spaced2)
S2() { "$AURUM" --config "$T_DIR/spaced.yaml" --log-level error --store "$DBS2" "$@"; }
id4=$(S2 backfill aeso.pool_price --start 2023-01-01 --end 2023-02-01 --chunk-days 2 --max-attempts 1 --detach 2>/dev/null)
sim_post "/_sim/reset"
t0=$(date +%s.%N)
( exec "$AURUM" --config "$T_DIR/spaced.yaml" --log-level error --store "$DBS2" worker --job "$id4" --concurrency 2 \
    --progress none >/dev/null 2>&1 ) &
w1=$!
S2 worker --job "$id4" --concurrency 2 --progress none >/dev/null 2>&1; rc2=$?
wait "$w1"; rc1=$?
t1=$(date +%s.%N)
check_eq "two spaced worker processes exit 0" "$rc1$rc2" "00"
check_eq "two processes: every chunk done on its first attempt" \
  "$(q "$DBS2" "select count(*), $(n_in done), max(attempts) from aurum_backfill_chunks where job_id = $id4")" "16|16|1"
check_eq "two processes: both did chunks" \
  "$(q "$DBS2" "select worker from aurum_backfill_chunks where job_id = $id4" | cut -d: -f2 | sort -u | wc -l)" 2
stats=$(sim_get "/_sim/stats")
check_contains "two processes: no request throttled by the simulator" "$stats" '"throttled": 0'
check_eq "two processes: 16 requests" "$(sim_get "/_sim/log" | grep -c poolPrice)" 16
check_eq "two processes: wall time >= 15 gaps of 0.12 s" "$(echo "$t1 - $t0 >= 1.8" | bc)" 1
check_eq "the shared pacing state is in the store" "$(q "$DBS2" "select count(*) from aurum_rate where rate_key = 'source:aeso'")" 1

# --- the watermark never moves: not backwards, not forwards ---
stop_sim
start_sim --now 2024-02-01T00:00:00Z --latency 0.005 --seed 5
export AURUM_AESO_BASE=$SIM
DBW=$(t_store_url wm)
cat >"$T_DIR/wm.yaml" <<YAML
sources:
  aeso:
    min_spacing: 0
tables:
  - table: aeso.pool_price
    start_date: 2023-12-20
    batch_size_days: 10
    rate_limit_delay: 0
YAML
W() { "$AURUM" --config "$T_DIR/wm.yaml" --log-level error --store "$DBW" "$@"; }
W sync >/dev/null 2>&1
wm=$(q $DBW "select watermark from aurum_state where table_key='aeso.pool_price'")
check_ne "incremental watermark set" "$wm" ""
W backfill aeso.pool_price --start 2023-06-01 --end 2023-08-01 >/dev/null 2>&1
check_eq "older backfill keeps the watermark" "$(q $DBW "select watermark from aurum_state where table_key='aeso.pool_price'")" "$wm"
AURUM_NOW=2024-01-20T12:00:00Z W backfill aeso.pool_price --start 2024-01-05 --end 2024-01-10 >/dev/null 2>&1
check_eq "newer backfill keeps the watermark (no hole)" "$(q $DBW "select watermark from aurum_state where table_key='aeso.pool_price'")" "$wm"

t_done

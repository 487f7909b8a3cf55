#!/usr/bin/env bash
# PostgreSQL store, distributed backfill: THREE `aurum worker` processes share one job
# recorded with `aurum backfill --detach`. Every chunk is done exactly once (chunks table:
# status, attempts 1, each worker process did some), every chunk window is fetched once
# (simulator request log), and the table equals a single sync of the same range. Then a
# worker is killed with -9 in the middle of a second job: the two survivors (and a late
# one) finish it, no chunk that was done before the kill is fetched again, and the table
# again equals the single sync.
AU_TEST_STORE=postgresql
. "$(dirname "$0")/lib.sh"

export AESO_API_KEY=k
export AURUM_NOW=2023-12-31T12:00:00Z
start_sim --now 2024-02-01T00:00:00Z --latency 0.05 --seed 5
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
# chunk i of the plan starts on trade day 2023-01-01 + 10*i (Alberta midnight = 06/07 UTC)
chunk_days() { # DB JOB [WHERE]: "YYYY-MM-DD YYYY-MM-DD" trade days of the job's chunks
  q "$1" "select to_char(range_start at time zone 'America/Edmonton', 'YYYY-MM-DD') || ' ' ||
                 to_char(range_end at time zone 'America/Edmonton', 'YYYY-MM-DD')
          from aurum_backfill_chunks where job_id = $2 ${3:-} order by seq"
}

REF=$(t_store_url ref)
A --store "$REF" sync >/dev/null 2>&1
check_eq "reference rows (a single sync of 2023)" "$(q "$REF" 'select count(*) from aeso_pool_price')" 8760
sim_post "/_sim/reset"

# --- three workers, one job -------------------------------------------------------------
DB=$(t_store_url workers)
id=$(A --store "$DB" backfill aeso.pool_price --start 2023-01-01 --end 2024-01-01 --chunk-days 10 --detach 2>/dev/null)
check_eq "detached job recorded" "$(q "$DB" "select count(*), min(status) from aurum_backfill_jobs where id = $id")" "1|running"
check_eq "37 chunks planned, all pending" \
  "$(q "$DB" "select count(*), count(*) filter (where status = 'pending') from aurum_backfill_chunks where job_id = $id")" "37|37"
check_eq "nothing fetched by planning" "$(sim_get /_sim/log | grep -c 'startDate=')" 0

pids=""
for w in 1 2 3; do
  ( exec "$AURUM" --config "$T_DIR/aurum.yaml" --log-level error --store "$DB" worker --job "$id" \
      --progress none >"$T_DIR/w$w.out" 2>"$T_DIR/w$w.err" ) &
  pids="$pids $!"
done
rcs=""
for p in $pids; do wait "$p"; rcs="$rcs$?"; done
check_eq "three workers exit 0" "$rcs" "000"
check_eq "job done" "$(q "$DB" "select status from aurum_backfill_jobs where id = $id")" "done"
check_eq "every chunk done exactly once: count, done, min/max attempts" \
  "$(q "$DB" "select count(*), count(*) filter (where status = 'done'), min(attempts), max(attempts)
              from aurum_backfill_chunks where job_id = $id")" "37|37|1|1"
check_eq "no lease or error left" \
  "$(q "$DB" "select count(*) from aurum_backfill_chunks where job_id = $id and (lease_until is not null or last_error is not null or finished_at is null)")" 0
check_eq "chunk rows add up to the table" \
  "$(q "$DB" "select sum(rows) from aurum_backfill_chunks where job_id = $id")" 8760
check_eq "all three worker processes did chunks" \
  "$(q "$DB" "select count(distinct split_part(worker, ':', 2)) from aurum_backfill_chunks where job_id = $id")" 3
for w in 1 2 3; do
  check_contains "worker $w summary" "$(cat "$T_DIR/w$w.out")" "job $id aeso.pool_price"
done
sim_get /_sim/log | grep -o 'startDate=[0-9-]*' | cut -d= -f2 | sort >"$T_DIR/req.txt"
check_eq "simulator: 37 requests" "$(wc -l <"$T_DIR/req.txt")" 37
check_eq "simulator: no chunk window fetched twice" "$(uniq -d "$T_DIR/req.txt" | wc -l)" 0
chunk_days "$DB" "$id" | cut -d' ' -f1 | sort >"$T_DIR/starts.txt"
if cmp -s "$T_DIR/req.txt" "$T_DIR/starts.txt"; then ok "simulator: one request per chunk, at each chunk's start day"
else fail "requests differ from the chunk starts: $(diff "$T_DIR/req.txt" "$T_DIR/starts.txt" | head -5)"; fi
if [ "$(dump "$DB")" = "$(dump "$REF")" ]; then ok "table == single sync of the range"; else fail "table differs from the single sync"; fi
check_eq "the backfill left the incremental watermark alone" \
  "$(q "$DB" "select count(*) from aurum_state where table_key = 'aeso.pool_price'")" 0
check_eq "quota usage recorded by all workers" "$(q "$DB" "select sum(records), sum(requests) from aurum_quota_usage")" "8760|37"
out=$(A --store "$DB" jobs show "$id" 2>&1)
check_contains "jobs show works on PostgreSQL" "$out" "done"
out=$(A --store "$DB" quota 2>&1)
check_contains "quota works on PostgreSQL" "$out" "aeso.pool_price"

# --- kill -9 one of three workers mid-job -----------------------------------------------
sim_post "/_sim/reset"
DB2=$(t_store_url killed)
id2=$(A --store "$DB2" backfill aeso.pool_price --start 2023-01-01 --end 2024-01-01 --chunk-days 10 --detach 2>/dev/null)
( exec "$AURUM" --config "$T_DIR/aurum.yaml" --log-level error --store "$DB2" worker --job "$id2" --progress none \
    >/dev/null 2>&1 ) &
victim=$!
others=""
for w in 2 3; do
  ( exec "$AURUM" --config "$T_DIR/aurum.yaml" --log-level error --store "$DB2" worker --job "$id2" \
      --progress none >/dev/null 2>&1 ) &
  others="$others $!"
done
# kill the victim once it holds a chunk and a few are done
for _ in $(seq 1 200); do
  n=$(q "$DB2" "select count(*) from aurum_backfill_chunks where job_id = $id2 and status = 'done'")
  h=$(q "$DB2" "select count(*) from aurum_backfill_chunks where job_id = $id2 and status = 'running' and split_part(worker, ':', 2) = '$victim'")
  [ "$n" -ge 6 ] && [ "$h" -ge 1 ] && break
  sleep 0.02
done
kill -9 "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
chunk_days "$DB2" "$id2" "and status = 'done'" >"$T_DIR/done-before.txt"
held=$(q "$DB2" "select count(*) from aurum_backfill_chunks where job_id = $id2 and status = 'running' and split_part(worker, ':', 2) = '$victim'")
check_ne "the victim held a chunk when killed" "$held" 0
sim_get /_sim/log | grep -o 'startDate=[0-9-]*' | cut -d= -f2 | sort >"$T_DIR/req-before.txt"
rcs=""
for p in $others; do wait "$p"; rcs="$rcs$?"; done
# the survivors on this host reclaim the dead worker's chunk (pid gone); a late worker
# finds the job finished or finishes what is left
A --store "$DB2" worker --job "$id2" --progress none >/dev/null 2>&1; late=$?
check_eq "surviving workers and a late one exit 0" "$rcs$late" "000"
check_eq "after kill -9: job done, every chunk done once" \
  "$(q "$DB2" "select j.status, count(*), count(*) filter (where c.status = 'done')
               from aurum_backfill_jobs j join aurum_backfill_chunks c on c.job_id = j.id
               where j.id = $id2 group by j.status")" "done|37|37"
if [ "$(dump "$DB2")" = "$(dump "$REF")" ]; then ok "after kill -9: table == single sync"; else fail "after kill -9: table differs"; fi
sim_get /_sim/log | grep -o 'startDate=[0-9-]*' | cut -d= -f2 | sort >"$T_DIR/req-after.txt"
refetched=0
while read -r a b; do
  [ -z "$a" ] && continue
  n=$(awk -v a="$a" -v b="$b" '$1 >= a && $1 < b' "$T_DIR/req-after.txt" | wc -l)
  [ "$n" -gt 1 ] && refetched=$((refetched + n - 1))
done <"$T_DIR/done-before.txt"
check_eq "after kill -9: no chunk done before the kill was fetched again" "$refetched" 0
# only the chunk(s) the victim held may have been fetched twice
check_eq "after kill -9: at most the victim's chunks fetched twice" \
  "$(( $(uniq -d "$T_DIR/req-after.txt" | wc -l) <= held ))" 1
t_done

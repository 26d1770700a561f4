#!/usr/bin/env bash
# monitor.sh [sqlite|postgresql] [SECONDS]: what monitoring costs. POST /api/v1/checkins
# under 64 connections (wrk, 2 threads, 16 patients) with the check-in rules on (the
# defaults: mood, sleep and risk run in each check-in's transaction over the person's
# newest 150 check-ins), then with them switched off in the clinic's configuration; then
# one `haven monitor --once` sweep over those patients, who by then hold thousands of
# check-ins each. Build first: make build/haven.
kind=${1:-sqlite}
secs=${2:-10}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start
bench_people 16
export TOKENS=$BENCH_DIR/tokens

run() { # run NAME
	bench_wrk "$secs" -s "$ROOT/bench/wrk/checkin.lua" "$BASE/api/v1/checkins"
	printf "| %-34s | %10s | %8s | %8s | %s |\n" "$1" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_NON2XX"
}

echo "backend: $kind, 64 connections, ${secs}s each, $(nproc) cores"
printf "| %-34s | %10s | %8s | %8s | %s |\n" "POST /api/v1/checkins" "req/s" p50 p99 non-2xx
printf "|%s|%s|%s|%s|%s|\n" "------------------------------------" "------------" "----------" "----------" "---------"
run "rules on (defaults)"
bench_rules false
run "rules off"
bench_rules true
run "rules on again (more history)"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
"$HAVEN" monitor --once --db "$DB_URL" >/dev/null # warm-up: caches, and the first raises
t0=$(date +%s%N)
out=$("$HAVEN" monitor --once --db "$DB_URL")
t1=$(date +%s%N)
echo "sweep (haven monitor --once, 16 patients): $(( (t1 - t0) / 1000000 )) ms, $out"

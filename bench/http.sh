#!/usr/bin/env bash
# http.sh [sqlite|postgresql] [SECONDS]: the HTTP figures of the platform core.
# 64 connections (wrk, 2 threads) on loopback against GET /healthz, authenticated
# GET /api/v1/me and the encrypted durable write POST /api/v1/checkins (with the clinic's
# monitoring rules off, then on as shipped); prints requests/s
# and p50/p99 latency for each, resident memory after start and after load, start-up time.
# Build first: make build/haven. SERVE_ARGS="--threads 64" passes options to haven serve;
# HAVEN=PATH runs another binary (copy build/haven aside to compare two builds).
kind=${1:-sqlite}
secs=${2:-10}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start ${SERVE_ARGS:-}
rss_start=$(rss_kib)
anon_start=$(anon_kib)
startup=$STARTUP_MS
bench_people 16
export TOKENS=$BENCH_DIR/tokens

run() { # run NAME wrk-args...
	local name=$1
	shift
	bench_wrk "$secs" "$@"
	printf "| %-28s | %10s | %8s | %8s | %s |\n" "$name" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_NON2XX"
}

echo "backend: $kind, 64 connections, ${secs}s each, $(nproc) cores"
printf "| %-28s | %10s | %8s | %8s | %s |\n" endpoint "req/s" p50 p99 non-2xx
printf "|%s|%s|%s|%s|%s|\n" "------------------------------" "------------" "----------" "----------" "---------"
run "GET /healthz" "$BASE/healthz"
run "GET /api/v1/me" -s "$ROOT/bench/wrk/me.lua" "$BASE/api/v1/me"
# The platform's encrypted durable write alone: the clinic's check-in monitoring rules
# (docs/monitoring.md; their cost is bench/monitor.sh's subject) switched off first, then
# the same with the rules on as shipped.
bench_rules false
run "POST /api/v1/checkins" -s "$ROOT/bench/wrk/checkin.lua" "$BASE/api/v1/checkins"
bench_rules true
run "POST /api/v1/checkins, rules on" -s "$ROOT/bench/wrk/checkin.lua" "$BASE/api/v1/checkins"
echo "start-up: ${startup} ms to first /healthz; RSS after start: $((rss_start / 1024)) MiB;" \
	"RSS after load: $(( $(rss_kib) / 1024 )) MiB (peak $(( $(hwm_kib) / 1024 )) MiB);" \
	"without mapped model files (RssAnon): $((anon_start / 1024)) MiB after start," \
	"$(( $(anon_kib) / 1024 )) MiB after load"

#!/usr/bin/env bash
# http.sh [sqlite|postgresql] [SECONDS]: the HTTP figures of the platform core.
# 64 connections (wrk, 2 threads) on loopback against GET /healthz, authenticated
# GET /api/v1/me and the encrypted durable write POST /api/v1/checkins (with the clinic's
# monitoring rules off, then on as shipped); prints requests/s
# and p50/p99 latency for each, resident memory after start and after load, start-up time.
# Build first: make build/haven.
kind=${1:-sqlite}
secs=${2:-10}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start
rss_start=$(rss_kib)
startup=$STARTUP_MS
bench_people 16
export TOKENS=$BENCH_DIR/tokens

run() { # run NAME wrk-args...
	local name=$1 out
	shift
	out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@")
	local rps p50 p99 non2xx
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	printf "| %-28s | %10s | %8s | %8s | %s |\n" "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "backend: $kind, 64 connections, ${secs}s each, $(nproc) cores"
printf "| %-28s | %10s | %8s | %8s | %s |\n" endpoint "req/s" p50 p99 non-2xx
printf "|%s|%s|%s|%s|%s|\n" "------------------------------" "------------" "----------" "----------" "---------"
run "GET /healthz" "$BASE/healthz"
run "GET /api/v1/me" -s "$ROOT/bench/wrk/me.lua" "$BASE/api/v1/me"
# The platform's encrypted durable write alone: the clinic's check-in monitoring rules
# (docs/monitoring.md; their cost is bench/monitor.sh's subject) switched off first, then
# the same with the rules on as shipped.
atok=$(api POST /auth/login "" "{\"email\":\"admin@bench.test\",\"password\":\"$PASSWORD\"}" | jq -r .token)
rules() { # rules true|false
	api PUT /monitoring/config "$atok" "{\"mood_decline\":{\"enabled\":$1},\"sleep_low\":{\"enabled\":$1},\"deterioration_risk\":{\"enabled\":$1}}" >/dev/null
}
rules false
run "POST /api/v1/checkins" -s "$ROOT/bench/wrk/checkin.lua" "$BASE/api/v1/checkins"
rules true
run "POST /api/v1/checkins, rules on" -s "$ROOT/bench/wrk/checkin.lua" "$BASE/api/v1/checkins"
echo "start-up: ${startup} ms to first /healthz; RSS after start: $((rss_start / 1024)) MiB;" \
	"RSS after load: $(( $(rss_kib) / 1024 )) MiB (peak $(( $(hwm_kib) / 1024 )) MiB)"

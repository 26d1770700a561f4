#!/usr/bin/env bash
# chat.sh [sqlite|postgresql] [SECONDS]: the support agent's full turn over HTTP.
# 64 patients, each onboarded ("hello", "yes"), then 64 connections (wrk, 2 threads) on
# loopback sending POST /api/v1/chat/messages, each turn analysed (intent, emotion, crisis,
# distortion models), screened by the safety gate, stepped through the dialog and written
# sealed and audited before the reply. Prints turns/s and the latency percentiles.
# Build first: make build/haven.
kind=${1:-sqlite}
secs=${2:-10}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start
bench_people 64
export TOKENS=$BENCH_DIR/tokens
while read -r tok; do
	api POST /chat/messages "$tok" '{"text": "hello"}' >/dev/null
	api POST /chat/messages "$tok" '{"text": "yes"}' >/dev/null
done <"$TOKENS"

run() { # run LABEL DELAY_MS
	local out rps p50 p90 p99 non2xx
	out=$(DELAY_MS=$2 wrk -t2 -c64 -d"${secs}s" --latency -s "$ROOT/bench/wrk/chat.lua" \
		"$BASE/api/v1/chat/messages")
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
	p90=$(echo "$out" | awk '$1 == "90%" {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	echo "$1: $rps turns/s, p50 $p50, p90 $p90, p99 $p99, non-2xx ${non2xx:-0}"
}
echo "backend: $kind, 64 conversations on 64 connections, ${secs}s each, $(nproc) cores"
run "saturation (no pause between turns)" 0
run "paced (each conversation pauses 50 ms between turns)" 50
pat=$(head -n 1 "$TOKENS")
echo "turns stored for one conversation: $(api GET /chat/messages "$pat" | jq '.messages | length')"

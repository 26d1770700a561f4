#!/usr/bin/env bash
# chat.sh [sqlite|postgresql] [SECONDS]: the support agent's full turn over HTTP.
# 64 patients, each onboarded ("hello", "yes"), then 64 connections (wrk, 2 threads) on
# loopback sending POST /api/v1/chat/messages, each turn analysed (intent, emotion, crisis,
# distortion models), screened by the safety gate, stepped through the dialog and written
# sealed and audited before the reply. Prints turns/s and the latency percentiles.
# Build first: make build/haven. SERVE_ARGS="--threads 16" passes options to haven serve.
kind=${1:-sqlite}
secs=${2:-10}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start ${SERVE_ARGS:-}
bench_people 64
export TOKENS=$BENCH_DIR/tokens
while read -r tok; do
	api POST /chat/messages "$tok" '{"text": "hello"}' >/dev/null
	api POST /chat/messages "$tok" '{"text": "yes"}' >/dev/null
done <"$TOKENS"

run() { # run LABEL DELAY_MS [JITTER]
	DELAY_MS=$2 JITTER=${3:-0} bench_wrk "$secs" -s "$ROOT/bench/wrk/chat.lua" "$BASE/api/v1/chat/messages"
	echo "$1: $WRK_RPS turns/s, p50 $WRK_P50, p90 $WRK_P90, p99 $WRK_P99, non-2xx $WRK_NON2XX"
}
echo "backend: $kind, 64 conversations on 64 connections, ${secs}s each, $(nproc) cores"
run "saturation (no pause between turns)" 0
run "paced (each conversation pauses 50 ms between turns)" 50
run "paced, random think time (0-100 ms between turns, mean 50)" 50 1
pat=$(head -n 1 "$TOKENS")
echo "turns stored for one conversation: $(api GET /chat/messages "$pat" | jq '.messages | length')"
echo "resident memory after the load: $(( $(rss_kib) / 1024 )) MiB (peak $(( $(hwm_kib) / 1024 )) MiB," \
	"of which the server's own allocations, without mapped model files: $(( $(anon_kib) / 1024 )) MiB)"

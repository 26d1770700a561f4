#!/usr/bin/env bash
# crash_safety.sh [sqlite|postgresql] [ROUNDS]: kills the server with SIGKILL in the middle
# of a write load, restarts it, and checks that every check-in that received a 2xx is
# present and decrypts, and that the audit chain verifies. Repeats ROUNDS times on the
# same database. Exit status 0 only if nothing acknowledged was lost.
kind=${1:-sqlite}
rounds=${2:-3}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start
bench_people 8
mapfile -t tokens <"$BENCH_DIR/tokens"
: >"$BENCH_DIR/acked"

writer() { # writer W TOKEN ROUND: posts check-ins until the server goes away
	local w=$1 tok=$2 r=$3 i=0 code
	while :; do
		i=$((i + 1))
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/v1/checkins" \
			-H "Authorization: Bearer $tok" -H "Content-Type: application/json" \
			--data "{\"mood\":5,\"sleep_hours\":7,\"note\":\"crash-r$r-w$w-i$i\"}") || true
		case $code in
		2*) echo "$w crash-r$r-w$w-i$i" >>"$BENCH_DIR/acked.$w" ;;
		000) return 0 ;;
		esac
	done
}

lost=0 total=0
for r in $(seq 1 "$rounds"); do
	pids=()
	for w in "${!tokens[@]}"; do
		writer "$w" "${tokens[$w]}" "$r" &
		pids+=($!)
	done
	sleep $((2 + RANDOM % 3))
	kill -9 "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	for p in "${pids[@]}"; do wait "$p" || true; done
	bench_start
	for w in "${!tokens[@]}"; do
		[ -f "$BENCH_DIR/acked.$w" ] || continue
		api GET /checkins "${tokens[$w]}" | jq -r '.checkins[].note' | sort >"$BENCH_DIR/have.$w"
		sort "$BENCH_DIR/acked.$w" | awk '{print $2}' >"$BENCH_DIR/want.$w"
		n=$(wc -l <"$BENCH_DIR/want.$w")
		miss=$(comm -23 "$BENCH_DIR/want.$w" "$BENCH_DIR/have.$w" | wc -l)
		total=$((total + n))
		lost=$((lost + miss))
		rm -f "$BENCH_DIR/acked.$w"
		sort -m "$BENCH_DIR/want.$w" >>"$BENCH_DIR/acked"
	done
	echo "round $r: acknowledged so far $total, missing $lost"
done
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
verify=$("$HAVEN" audit verify --db "$DB_URL" 2>&1) && vrc=0 || vrc=$?
echo "audit verify: $verify"
echo "acknowledged writes: $total, missing after SIGKILL and restart: $lost"
[ "$lost" -eq 0 ] && [ "$vrc" -eq 0 ]

#!/usr/bin/env bash
# compare.sh SECONDS ENDPOINT BINARY...: the same load against several builds in turn, for
# comparing them on a machine whose speed drifts (run it at `nice -n -20`, and more than
# once). For each binary: a fresh server and database, 16 patients, the clinic's check-in
# rules off, 64 connections (wrk, 2 threads) for SECONDS against ENDPOINT (`checkins` or
# `me`); prints requests/s, p50, p99 and the server's CPU time per request.
# RATE=N: instead of wrk at saturation, build/bench/loadgen sends N requests/s on a fixed
# schedule over the 64 connections (open loop: latency counted from when each request was
# due), for the latency at a given rate; TIMELINE=FILE keeps each request's due time and
# latency there. SERVE_ARGS: extra `haven serve` arguments.
# Copy build/haven aside before rebuilding to keep an older build to compare with. Every
# binary reads content/ and models/ from the current directory: compare builds that
# accept the same content (an older build may refuse newer content and not start).
secs=${1:?seconds}
ep=${2:?endpoint: checkins or me}
shift 2
case $ep in
checkins) script=checkin.lua ;;
me) script=me.lua ;;
*) echo "compare.sh: endpoint checkins or me, not '$ep'" >&2; exit 2 ;;
esac
for bin in "$@"; do
	(
		HAVEN=$bin
		. "$(dirname "$0")/lib.sh"
		trap bench_cleanup EXIT
		bench_db "${KIND:-sqlite}"
		"$HAVEN" migrate --db "$DB_URL" >/dev/null
		bench_start ${SERVE_ARGS:-}
		bench_people 16
		export TOKENS=$BENCH_DIR/tokens
		bench_rules false
		cpu() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
		c0=$(cpu)
		if [ -n "${RATE:-}" ]; then
			case $ep in
			checkins) lg=(--method POST --path /api/v1/checkins --tokens "$TOKENS"
				--body '{"mood": %m, "sleep_hours": 7.5, "note": "bench note %n, a few words about the day"}') ;;
			me) lg=(--path /api/v1/me --tokens "$TOKENS") ;;
			esac
			out=$("$ROOT/build/bench/loadgen" --port "$PORT" --rate "$RATE" --seconds "$secs" \
				${TIMELINE:+--timeline "$TIMELINE"} "${lg[@]}")
			c1=$(cpu)
			n=$(echo "$out" | awk '/^offered/ {print $6}')
			echo "$bin $ep: $(echo "$out" | head -n 1)"
			ck=$(curl -fs "$BASE/metrics" | awk '/^haven_store_checkpoints_total/ {printf "%s%s", sep, $0; sep=", "}')
			echo "  $(echo "$out" | tail -n 1), server CPU" \
				"$(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / n )) us per request," \
				"load $(cut -d' ' -f1 /proc/loadavg)${ck:+; $ck}"
			exit
		fi
		out=$(wrk -t2 -c64 -d"${secs}s" --latency -s "$ROOT/bench/wrk/$script" "$BASE/api/v1/$ep")
		c1=$(cpu)
		n=$(echo "$out" | awk '/requests in/ {print $1}')
		hz=$(getconf CLK_TCK)
		echo "$bin $ep: $(echo "$out" | awk '/^Requests\/sec/ {print $2}') req/s," \
			"p50 $(echo "$out" | awk '$1 == "50%" {print $2}')," \
			"p99 $(echo "$out" | awk '$1 == "99%" {print $2}')," \
			"server CPU $(( (c1 - c0) * 1000000 / hz / n )) us per request," \
			"load $(cut -d' ' -f1 /proc/loadavg)"
	)
done

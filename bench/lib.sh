# lib.sh: helpers shared by the bench scripts: a throwaway Haven server with an
# administrator, a clinician and N patients who registered by invitation.
# Source it; it sets BENCH_DIR, HAVEN, DB_URL, PORT, BASE and defines the functions below.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAVEN=${HAVEN:-$ROOT/build/haven}
BENCH_DIR=$(mktemp -d /tmp/haven-bench-XXXXXX)
# Below Linux's ephemeral range (32768-60999), which outgoing connections (wrk's, curl's,
# and their TIME_WAIT leftovers) draw from.
PORT=${PORT:-$((20000 + RANDOM % 12000))}
BASE=http://127.0.0.1:$PORT
PASSWORD=bench-password-123
export HAVEN_MASTER_KEY=${HAVEN_MASTER_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
SERVER_PID=

bench_db() { # bench_db sqlite|postgresql: sets DB_URL
	if [ "$1" = postgresql ]; then
		DB_URL=$("$ROOT/tests/scripts/pg.sh" start "$BENCH_DIR/pg")
	else
		DB_URL=sqlite:$BENCH_DIR/haven.db
	fi
}

bench_cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -d "$BENCH_DIR/pg" ] && "$ROOT/tests/scripts/pg.sh" stop "$BENCH_DIR/pg"
	rm -rf "$BENCH_DIR"
}

# bench_start [extra serve args]: starts the server, waits for /healthz, sets STARTUP_MS.
bench_start() {
	local t0 t1
	t0=$(date +%s%N)
	"$HAVEN" serve --db "$DB_URL" --listen "127.0.0.1:$PORT" "$@" >>"$BENCH_DIR/server.log" 2>&1 &
	SERVER_PID=$!
	until curl -fs "$BASE/healthz" >/dev/null 2>&1; do
		kill -0 "$SERVER_PID" 2>/dev/null || { echo "server died:"; tail "$BENCH_DIR/server.log"; return 1; }
		sleep 0.005
	done
	t1=$(date +%s%N)
	STARTUP_MS=$(( (t1 - t0) / 1000000 ))
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
# Resident memory of the server's own allocations, without the pages of files it maps
# (the models, read-only and shared with the page cache).
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$SERVER_PID/status"; }

api() { # api METHOD PATH [TOKEN] [BODY]: prints the response body, fails on non-2xx
	local args=(-fsS -X "$1" "$BASE/api/v1$2")
	[ -n "${3:-}" ] && args+=(-H "Authorization: Bearer $3")
	[ -n "${4:-}" ] && args+=(-H "Content-Type: application/json" --data "$4")
	curl "${args[@]}"
}

# bench_people N: creates admin + clinician with the CLI, N patients by invitation;
# writes the patients' tokens to $BENCH_DIR/tokens.
bench_people() {
	local n=$1 ctok code i
	echo "$PASSWORD" | "$HAVEN" user add --db "$DB_URL" --role admin --email admin@bench.test >/dev/null
	echo "$PASSWORD" | "$HAVEN" user add --db "$DB_URL" --role clinician --email clin@bench.test >/dev/null
	ctok=$(api POST /auth/login "" "{\"email\":\"clin@bench.test\",\"password\":\"$PASSWORD\"}" | jq -r .token)
	: >"$BENCH_DIR/tokens"
	for i in $(seq 1 "$n"); do
		code=$(api POST /invitations "$ctok" '{}' | jq -r .code)
		api POST /auth/register "" "{\"code\":\"$code\",\"email\":\"p$i@bench.test\",\"password\":\"$PASSWORD\"}" >/dev/null
		api POST /auth/login "" "{\"email\":\"p$i@bench.test\",\"password\":\"$PASSWORD\"}" | jq -r .token >>"$BENCH_DIR/tokens"
	done
	PATIENT_TOKEN=$(head -n 1 "$BENCH_DIR/tokens")
}

# bench_wrk SECONDS WRK-ARGS...: 64 connections, 2 threads, for SECONDS; sets WRK_RPS,
# WRK_P50, WRK_P90, WRK_P99 (wrk's own units) and WRK_NON2XX.
bench_wrk() {
	local secs=$1 out
	shift
	out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@")
	WRK_RPS=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	WRK_P50=$(echo "$out" | awk '$1 == "50%" {print $2}')
	WRK_P90=$(echo "$out" | awk '$1 == "90%" {print $2}')
	WRK_P99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	WRK_NON2XX=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	WRK_NON2XX=${WRK_NON2XX:-0}
}

# bench_rules true|false: switches the clinic's check-in monitoring rules (mood, sleep,
# deterioration risk; docs/monitoring.md) on or off, as the administrator of bench_people.
bench_rules() {
	[ -n "${BENCH_ADMIN_TOKEN:-}" ] ||
		BENCH_ADMIN_TOKEN=$(api POST /auth/login "" "{\"email\":\"admin@bench.test\",\"password\":\"$PASSWORD\"}" | jq -r .token)
	api PUT /monitoring/config "$BENCH_ADMIN_TOKEN" \
		"{\"mood_decline\":{\"enabled\":$1},\"sleep_low\":{\"enabled\":$1},\"deterioration_risk\":{\"enabled\":$1}}" >/dev/null
}

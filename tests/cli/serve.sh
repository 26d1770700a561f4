#!/usr/bin/env bash
# serve.sh: `haven serve` end to end with curl: the documented first steps (admin and
# clinician from the command line, an invitation, registration, login, a check-in),
# `haven export` and `haven erase`, then SIGTERM stops the server with exit status 0.
set -euo pipefail
: "${HAVEN_BIN:?}"
export HAVEN_PWHASH_FAST=1
dir=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
db=sqlite:$dir/haven.db
pw='a long enough password'

"$HAVEN_BIN" serve --help | grep -q -- '--listen'
echo "$pw" | "$HAVEN_BIN" user add --role admin --email admin@example.org --db "$db" >/dev/null
echo "$pw" | "$HAVEN_BIN" user add --role clinician --email doc@example.org --db "$db" >/dev/null

# A free port: pick at random until nothing answers there.
port=$((20000 + RANDOM % 12000))
while curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do port=$((20000 + RANDOM % 12000)); done
cat >"$dir/haven.conf" <<CONF
# test configuration
listen = 127.0.0.1:$port
threads = 2
max_body = 4096
CONF
"$HAVEN_BIN" serve --db "$db" --config "$dir/haven.conf" --key-file "$dir/haven.key" \
	2>"$dir/server.log" &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 200); do
	curl -fs "$base/healthz" >/dev/null 2>&1 && break
	kill -0 "$pid" || { cat "$dir/server.log"; exit 1; }
	sleep 0.05
done
curl -fs "$base/readyz" | grep -q ready
[ "$(stat -c %a "$dir/haven.key")" = 600 ]

api() { # api METHOD PATH TOKEN [BODY]
	local args=(-sS -X "$1" "$base/api/v1$2" -w '\n%{http_code}')
	[ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
	[ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
	curl "${args[@]}"
}
field() { # field NAME: the first string or number value of "NAME" in the reply's first line
	head -n 1 | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

atok=$(api POST /auth/login "" "{\"email\":\"admin@example.org\",\"password\":\"$pw\"}" | field token)
api GET /users "$atok" | tail -n 1 | grep -qx 200
ctok=$(api POST /auth/login "" "{\"email\":\"doc@example.org\",\"password\":\"$pw\"}" | field token)
code=$(api POST /invitations "$ctok" '{}' | field code)
pid_json=$(api POST /auth/register "" "{\"code\":\"$code\",\"email\":\"pat@example.org\",\"password\":\"$pw\",\"consents\":{\"care_team\":true}}")
echo "$pid_json" | tail -n 1 | grep -qx 201
patient=$(echo "$pid_json" | field id)
ptok=$(api POST /auth/login "" "{\"email\":\"pat@example.org\",\"password\":\"$pw\"}" | field token)
api POST /checkins "$ptok" '{"mood":6,"sleep_hours":7.5,"note":"cli smoke note"}' | tail -n 1 | grep -qx 201
api GET "/patients/$patient/checkins" "$ctok" | head -n 1 | grep -q 'cli smoke note'
# The configured body limit applies.
big=$(head -c 5000 /dev/zero | tr '\0' 'x')
api POST /checkins "$ptok" "{\"mood\":1,\"sleep_hours\":1,\"note\":\"$big\"}" | tail -n 1 | grep -qx 413
curl -fs "$base/metrics" | grep -q 'haven_http_requests_total{method="POST",route="/api/v1/checkins",status="201"} 1'
! grep -q 'cli smoke note' "$dir/server.log"
! grep -q "$ptok" "$dir/server.log"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || { echo "serve exited $rc"; cat "$dir/server.log"; exit 1; }
grep -q 'event=stopped' "$dir/server.log"

"$HAVEN_BIN" export --patient "$patient" --db "$db" --key-file "$dir/haven.key" >"$dir/export.json"
grep -q '"note": "cli smoke note"' "$dir/export.json"
grep -q '"email": "pat@example.org"' "$dir/export.json"
"$HAVEN_BIN" erase --patient "$patient" --db "$db" | grep -q "erased patient $patient"
rc=0
"$HAVEN_BIN" export --patient "$patient" --db "$db" --key-file "$dir/haven.key" 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'no patient' "$dir/err"
echo ok

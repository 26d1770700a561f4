#!/usr/bin/env bash
# run.sh: the web pages' end-to-end tests. Installs the test's npm packages (npm ci, from
# tests/web/package-lock.json), starts a real `haven serve` on loopback over a fresh SQLite
# file with a clinician and an administrator, and runs e2e.mjs in Debian's chromium.
# The last line is e2e.mjs's "N passed, N failed, N skipped".
#   tests/web/run.sh                          # run the flows
#   SCREENSHOTS_DIR=docs/screenshots tests/web/run.sh   # also save screenshots
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${HAVEN_BIN:-$root/build/haven}
for tool in node npm /usr/bin/chromium sqlite3; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL web: $tool is missing (scripts/deps.sh installs it)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
	echo "FAIL web: npm ci in tests/web failed"
	echo "0 passed, 1 failed"
	exit 1
fi
work=$(mktemp -d /tmp/haven-web-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export HAVEN_PWHASH_FAST=1
db="$work/haven.db"
echo 'a long test passphrase' | "$bin" user add --db "sqlite:$db" \
	--role clinician --email dr.lee@clinic.example >/dev/null || exit 1
echo 'a long test passphrase' | "$bin" user add --db "sqlite:$db" \
	--role admin --email admin@clinic.example >/dev/null || exit 1
# Port 0: the server picks a free port and logs it.
"$bin" serve --db "sqlite:$db" --key-file "$work/haven.key" --listen 127.0.0.1:0 \
	--web "$root/web" >"$work/server.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's/.*event=listening url=http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$work/server.log")
	[ -n "$port" ] && break
	sleep 0.1
done
if [ -z "$port" ]; then
	echo "FAIL web: haven serve did not start"
	cat "$work/server.log"
	echo "0 passed, 1 failed"
	exit 1
fi
(cd "$here" && node e2e.mjs "http://127.0.0.1:$port" "$db")
rc=$?
if [ $rc -ne 0 ]; then
	echo "    server log (last lines):"
	tail -n 20 "$work/server.log" | sed 's/^/    /'
fi
exit $rc

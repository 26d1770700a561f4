#!/usr/bin/env bash
# run.sh: runs every Haven test suite and ends with one line "N passed, N failed".
#  1. the unit and API tests (ASan+UBSan build) against SQLite;
#  2. the store-backed tests again against a PostgreSQL 15 server started here on loopback;
#  3. the command-line tests in tests/cli/*.sh;
#  4. the web pages in a real browser (tests/web/run.sh) and the vendored files' check;
#  5. each libFuzzer target for a bounded time.
set -uo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export HAVEN_BIN=${HAVEN_BIN:-$PWD/build/asan/haven}
export HAVEN_SHARED_DATA=${HAVEN_SHARED_DATA:-$PWD/../shared/data}
passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

count() { # count LOGFILE: adds the log's closing "N passed, N failed" to the totals
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $2 (did not finish; see output above)"
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(echo "$line" | awk '{print $1}')))
	failed=$((failed + $(echo "$line" | awk '{print $3}')))
}

echo "== unit and API tests (SQLite)"
HAVEN_TEST_LABEL=sqlite build/asan/haven-tests 2>&1 | tee "$log/sqlite.txt" | grep -v '^[0-9]* passed'
count "$log/sqlite.txt" "sqlite suite"

echo "== store-backed tests (PostgreSQL)"
pgdir=$(mktemp -d /tmp/haven-pg-XXXXXX)
if url=$(tests/scripts/pg.sh start "$pgdir/srv"); then
	HAVEN_TEST_PG=$url HAVEN_TEST_LABEL=pg build/asan/haven-tests store/ audit/ alerts/ api/ measures/ monitor dialog/ test_keyring \
		2>&1 | tee "$log/pg.txt" | grep -v '^[0-9]* passed'
	count "$log/pg.txt" "postgresql suite"
	tests/scripts/pg.sh stop "$pgdir/srv"
else
	echo "FAIL postgresql server did not start"
	failed=$((failed + 1))
fi
rm -rf "$pgdir"

echo "== command-line tests"
for t in tests/cli/*.sh; do
	[ -e "$t" ] || continue
	if bash "$t" >"$log/cli.txt" 2>&1; then
		echo "ok   cli $(basename "$t" .sh)"
		passed=$((passed + 1))
	else
		echo "FAIL cli $(basename "$t" .sh)"
		sed 's/^/    /' "$log/cli.txt" | tail -n 30
		failed=$((failed + 1))
	fi
done

echo "== web pages (chromium)"
if scripts/vendor-web.sh --check >"$log/vendor.txt" 2>&1; then
	echo "ok   web vendored files match package-lock.json"
	passed=$((passed + 1))
else
	echo "FAIL web vendored files"
	sed 's/^/    /' "$log/vendor.txt" | tail -n 20
	failed=$((failed + 1))
fi
tests/web/run.sh 2>&1 | tee "$log/web.txt" | grep -v '^[0-9]* passed'
count "$log/web.txt" "web suite"

echo "== fuzz targets (bounded)"
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	mkdir -p "$log/corpus-$name"
	args=("$log/corpus-$name")
	[ -d "$corpus" ] && args+=("$corpus")
	if "$f" -max_total_time="${HAVEN_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 "${args[@]}" >"$log/fuzz.txt" 2>&1; then
		echo "ok   fuzz $name"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz $name"
		tail -n 40 "$log/fuzz.txt"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# migrate.sh: `haven migrate` creates the schema once, is a no-op the second time, reports
# the version with --status, and fails clearly on a missing directory or a foreign file.
set -euo pipefail
bin=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

out=$("$bin" migrate --db "sqlite:$dir/haven.db" --status)
n=$(echo "$out" | sed -n 's/^schema version 0 (this build knows \([0-9]*\))$/\1/p')
[ -n "$n" ] && [ "$n" -ge 1 ] || { echo "fresh status: $out"; exit 1; }
if [ "$n" -eq 1 ]; then word=migration; else word=migrations; fi
out=$("$bin" migrate --db "sqlite:$dir/haven.db")
echo "$out" | grep -q "schema version $n ($n $word applied)" || { echo "first run: $out"; exit 1; }
out=$("$bin" migrate --db "sqlite:$dir/haven.db")
echo "$out" | grep -q "(0 migrations applied)" || { echo "second run: $out"; exit 1; }
out=$("$bin" migrate --db "sqlite:$dir/haven.db" --status)
echo "$out" | grep -q "^schema version $n (this build knows $n)" || { echo "status: $out"; exit 1; }

if err=$("$bin" migrate --db "sqlite:$dir/nope/haven.db" 2>&1); then
	echo "missing directory accepted"; exit 1
fi
echo "$err" | grep -q "directory '.*nope' does not exist" || { echo "missing dir: $err"; exit 1; }

head -c 5000 /dev/urandom >"$dir/junk.db"
if err=$("$bin" migrate --db "sqlite:$dir/junk.db" 2>&1); then
	echo "junk file accepted"; exit 1
fi
echo "$err" | grep -q "not a SQLite database" || { echo "junk: $err"; exit 1; }

if err=$("$bin" migrate --db "mysql://u:pw@h/db" 2>&1); then
	echo "bad scheme accepted"; exit 1
fi
echo "$err" | grep -q "unsupported database URL scheme 'mysql'" || { echo "scheme: $err"; exit 1; }
if echo "$err" | grep -q pw; then echo "password echoed: $err"; exit 1; fi
echo ok

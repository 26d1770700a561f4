#!/usr/bin/env bash
# keys_rotate.sh: `haven keys rotate` and `haven audit verify` on a fresh database: the key
# file is created 0600, rotation replaces it and keeps the previous one in PATH.old, bad key
# files and HAVEN_MASTER_KEY are refused with one line on stderr, the audit log verifies.
set -euo pipefail
bin=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unset HAVEN_MASTER_KEY HAVEN_KEY_FILE
db="sqlite:$dir/haven.db"
key="$dir/haven.key"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" keys --help | grep -q 'haven keys rotate' || fail "keys --help"
"$bin" audit --help | grep -q 'haven audit verify' || fail "audit --help"
"$bin" migrate --db "$db" >/dev/null

"$bin" keys rotate --db "$db" --key-file "$key" >"$dir/out"
grep -q 'master key rotated: 0 data keys re-wrapped' "$dir/out" || fail "rotate output: $(cat "$dir/out")"
[ "$(stat -c %a "$key")" = 600 ] || fail "key file mode $(stat -c %a "$key")"
[ "$(stat -c %a "$key.old")" = 600 ] || fail "old key file mode"
[ ! -e "$key.new" ] || fail "key.new left behind"
grep -Eq '^[0-9a-f]{64}$' "$key" || fail "key file format"
first=$(cat "$key")
HAVEN_KEY_FILE="$key" "$bin" keys rotate --db "$db" >/dev/null
[ "$(cat "$key")" != "$first" ] || fail "key not replaced"
[ "$(cat "$key.old")" = "$first" ] || fail "previous key not kept in .old"

"$bin" audit verify --db "$db" >"$dir/out"
grep -q '^audit log intact: 0 records$' "$dir/out" || fail "verify output: $(cat "$dir/out")"

# Refusals: exit non-zero with one line on stderr.
expect_error() { # expect_error PATTERN command...
	local pattern=$1; shift
	if "$@" >"$dir/out" 2>"$dir/err"; then fail "succeeded: $*"; fi
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "not one line: $(cat "$dir/err")"
	grep -q "$pattern" "$dir/err" || fail "message: $(cat "$dir/err")"
}
chmod 644 "$key"
expect_error 'chmod 600' "$bin" keys rotate --db "$db" --key-file "$key"
echo 'not a key' >"$key"; chmod 600 "$key"
expect_error 'not a Haven master key' "$bin" keys rotate --db "$db" --key-file "$key"
HAVEN_MASTER_KEY=$first expect_error 'HAVEN_MASTER_KEY' "$bin" keys rotate --db "$db" --key-file "$key"
expect_error 'not migrated' "$bin" audit verify --db "sqlite:$dir/empty.db"
expect_error 'verify' "$bin" audit
"$bin" keys rotate --db "$db" --bogus 2>/dev/null && fail "bad option accepted"

zeros=0000000000000000000000000000000000000000000000000000000000000000
expect_error 'anchor record 5 is gone' "$bin" audit verify --db "$db" --anchor "5:$zeros"
set +e
"$bin" audit verify --db "$db" --anchor 5:zz >/dev/null 2>&1
status=$?
set -e
[ "$status" -eq 2 ] || fail "bad --anchor exited $status"

# A forged audit record is named, with exit status 1.
if command -v sqlite3 >/dev/null; then
	sqlite3 "$dir/haven.db" "INSERT INTO audit_log (id, at, actor_id, actor_role, action,
		subject, outcome, request_id, detail, prev_hash, hash) VALUES (1, 0, 0, 'system',
		'forged', '', 'ok', '', '', zeroblob(32), zeroblob(32))"
	set +e
	"$bin" audit verify --db "$db" >/dev/null 2>"$dir/err"
	status=$?
	set -e
	[ "$status" -eq 1 ] || fail "verify of a forged log exited $status"
	grep -q 'audit log broken at record 1: hash mismatch' "$dir/err" || fail "$(cat "$dir/err")"
fi
echo ok

#!/usr/bin/env bash
# user_add.sh: `haven user add` creates accounts with the password from stdin, refuses
# short passwords, bad roles and duplicate emails with a one-line message, and --help works.
set -euo pipefail
: "${HAVEN_BIN:?}"
export HAVEN_PWHASH_FAST=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db=sqlite:$dir/haven.db

"$HAVEN_BIN" user add --help | grep -q 'password is read from the first line'
echo 'a long enough password' | "$HAVEN_BIN" user add --role admin --email Admin@Example.org --db "$db" >"$dir/out"
grep -q 'created admin admin@example.org with id 1' "$dir/out"
echo 'a long enough password' | "$HAVEN_BIN" user add --role clinician --email=doc@example.org --db "$db" >/dev/null

fails() { # fails WANT_STATUS CMD...: the command fails with that status and one stderr line
	local want=$1 rc=0
	shift
	"$@" 2>"$dir/err" >/dev/null || rc=$?
	[ "$rc" -eq "$want" ] || { echo "exit $rc, want $want: $*"; cat "$dir/err"; exit 1; }
	[ "$(wc -l <"$dir/err")" -eq 1 ] || { echo "not one line:"; cat "$dir/err"; exit 1; }
}
echo 'short' >"$dir/pw"
fails 1 "$HAVEN_BIN" user add --role admin --email x@example.org --db "$db" <"$dir/pw"
grep -q 'at least 10' "$dir/err"
echo 'a long enough password' >"$dir/pw"
fails 1 "$HAVEN_BIN" user add --role admin --email admin@example.org --db "$db" <"$dir/pw"
grep -q 'exists' "$dir/err"
fails 2 "$HAVEN_BIN" user add --role wizard --email w@example.org --db "$db" <"$dir/pw"
fails 2 "$HAVEN_BIN" user add --role admin --db "$db" <"$dir/pw"
fails 1 "$HAVEN_BIN" user add --role admin --email not-an-email --db "$db" <"$dir/pw"
fails 1 "$HAVEN_BIN" user add --role admin --email y@example.org --db "$db" </dev/null
fails 2 "$HAVEN_BIN" user remove
echo ok

#!/usr/bin/env bash
# locale.sh: issue 4 end to end with the real binary. `haven chat` gives a patient who chose
# no locale the deployment's crisis lines (HAVEN_LOCALE=en-GB: Samaritans, not 988), else
# en-US; `haven user add --locale` sets a person's own locale, which beats the deployment's;
# a locale content/crisis_lines.txt does not serve is refused with one line.
set -euo pipefail
. "$(dirname "$0")/../scripts/cli_lib.sh" locale
export HAVEN_PWHASH_FAST=1

echo "patient-password-1" | "$HAVEN" user add --db "$db" --role patient --email uk@clinic.test >/dev/null
out=$(echo "patient-password-1" | "$HAVEN" user add --db "$db" --role patient --email au@clinic.test --locale en-au)
echo "$out" | grep -q "(locale en-AU)" || fail "add --locale: $out"
[ "$(sqlite3 "$dir/haven.db" "SELECT quote(locale) FROM users WHERE email = 'uk@clinic.test'")" = NULL ] ||
	fail "a locale nobody chose is stored"

crisis() { # crisis EMAIL: the reply to a crisis message
	echo "honestly i just want to kill myself" | "$HAVEN" chat --db "$db" --as "$1" --json | jq -r .reply
}
out=$(HAVEN_LOCALE=en-GB crisis uk@clinic.test)
case $out in *"116 123"*85258*999*) ;; *) fail "deployment en-GB: $out" ;; esac
case $out in *988* | *911*) fail "US numbers for the UK: $out" ;; esac
out=$(HAVEN_LOCALE=en-GB crisis au@clinic.test)
case $out in *"13 11 14"*000*) ;; *) fail "own en-AU under en-GB: $out" ;; esac
case $out in *"116 123"*) fail "deployment beat the patient's own: $out" ;; esac

echo "patient-password-1" | "$HAVEN" user add --db "$db" --role patient --email us@clinic.test >/dev/null
out=$(HAVEN_LOCALE= crisis us@clinic.test)
case $out in *988*911*) ;; *) fail "no locale anywhere: $out" ;; esac

rc=0
echo "patient-password-1" | "$HAVEN" user add --db "$db" --role patient --email x@clinic.test --locale klingon \
	>/dev/null 2>"$dir/err" || rc=$?
[ "$rc" = 1 ] || fail "bad locale: exit $rc"
[ "$(wc -l <"$dir/err")" = 1 ] && grep -q "locale 'klingon'" "$dir/err" || fail "bad locale message: $(cat "$dir/err")"
[ "$(sqlite3 "$dir/haven.db" "SELECT COUNT(*) FROM users WHERE email = 'x@clinic.test'")" = 0 ] ||
	fail "an account was created with a bad locale"
"$HAVEN" user add --help | grep -q -- "--locale" || fail "--help does not say --locale"
echo ok

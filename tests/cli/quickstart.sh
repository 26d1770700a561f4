#!/usr/bin/env bash
# quickstart.sh: the README's first steps as a new user takes them: start the server,
# create an administrator and a clinician with `haven user add`, the clinician invites a
# patient, the patient registers with the code, grants consent, everyone logs in, and a
# check-in written by the patient is visible to the clinician only while consent allows.
set -euo pipefail
. "$(dirname "$0")/../scripts/cli_lib.sh" quickstart

"$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
wait_for_server
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || fail "server not ready"
[ "$(stat -c %a "$dir/haven.key")" = 600 ] || fail "master key file is not 0600"

echo "admin-password-1" | "$HAVEN" user add --db "$db" --role admin --email admin@clinic.test
echo "clinician-password-1" | "$HAVEN" user add --db "$db" --role clinician --email dr@clinic.test
if echo "short" | "$HAVEN" user add --db "$db" --role patient --email x@clinic.test 2>"$dir/err"; then
	fail "a too-short password was accepted"
fi
[ -s "$dir/err" ] || fail "no message for a too-short password"

post() { curl -sS -X POST "$base$1" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} --data "$2"; }
get() { curl -sS "$base$1" -H "Authorization: Bearer $2"; }
status() { curl -s -o /dev/null -w '%{http_code}' "$base$1" -H "Authorization: Bearer $2"; }

admin=$(post /auth/login '{"email":"admin@clinic.test","password":"admin-password-1"}' | jq -er .token)
clin=$(post /auth/login '{"email":"dr@clinic.test","password":"clinician-password-1"}' | jq -er .token)
[ "$(get /me "$admin" | jq -r .role)" = admin ] || fail "admin /me"
[ "$(get /me "$clin" | jq -r .role)" = clinician ] || fail "clinician /me"

code=$(post /invitations '{}' "$clin" | jq -er .code)
post /auth/register "{\"code\":\"$code\",\"email\":\"pat@clinic.test\",\"password\":\"patient-password-1\"}" >/dev/null
pat=$(post /auth/login '{"email":"pat@clinic.test","password":"patient-password-1"}' | jq -er .token)
me=$(get /me "$pat")
[ "$(echo "$me" | jq -r .role)" = patient ] || fail "patient /me: $me"
pid_patient=$(echo "$me" | jq -r .id)

# The invitation is single-use.
again=$(post /auth/register "{\"code\":\"$code\",\"email\":\"other@clinic.test\",\"password\":\"patient-password-2\"}")
echo "$again" | jq -e .error.code >/dev/null || fail "an invitation code worked twice: $again"

curl -fsS -X PUT "$base/me/consents" -H "Content-Type: application/json" -H "Authorization: Bearer $pat" \
	--data '{"scopes":{"care_team":true,"sensing":false,"research":false}}' >/dev/null
post /checkins '{"mood":4,"sleep_hours":6.5,"note":"quickstart-marker-note"}' "$pat" | jq -e . >/dev/null

# The clinician sees the patient on their caseload and, with consent, the check-in.
get /patients "$clin" | jq -e --argjson id "$pid_patient" '[.. | objects | select(.id? == $id)] | length > 0' >/dev/null ||
	fail "patient not on the clinician's caseload"
get "/patients/$pid_patient/checkins" "$clin" | grep -q quickstart-marker-note || fail "clinician cannot read consented check-in"
# The administrator reads no clinical content.
[ "$(status "/patients/$pid_patient/checkins" "$admin")" != 200 ] || fail "admin read clinical content"
# Withdrawn consent hides it again.
curl -fsS -X PUT "$base/me/consents" -H "Content-Type: application/json" -H "Authorization: Bearer $pat" \
	--data '{"scopes":{"care_team":false,"sensing":false,"research":false}}' >/dev/null
[ "$(status "/patients/$pid_patient/checkins" "$clin")" != 200 ] || fail "clinical content visible after consent withdrawn"

# The audit chain verifies after all this, and no clinical text reached the log.
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
"$HAVEN" audit verify --db "$db"
if grep -q -e quickstart-marker-note -e patient-password-1 -e "$pat" "$dir/server.log"; then
	fail "clinical text, a password or a token reached the server log"
fi
echo "quickstart ok"

#!/usr/bin/env bash
# measures.sh: measurement-based care end to end with the real binary: a patient answers
# PHQ-9 and GAD-7 over HTTP, an item-9 answer raises an urgent alert, the clinician closes
# the episode and reads the outcome and the FHIR Bundle, `haven export` holds the same
# Bundle, answers never reach the server log, and the audit chain verifies.
set -euo pipefail
. "$(dirname "$0")/../scripts/cli_lib.sh" measures

"$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
wait_for_server
echo "clinician-password-1" | "$HAVEN" user add --db "$db" --role clinician --email dr@clinic.test

post() { curl -sS -X POST "$base$1" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} --data "$2"; }
get() { curl -sS "$base$1" -H "Authorization: Bearer $2"; }

clin=$(post /auth/login '{"email":"dr@clinic.test","password":"clinician-password-1"}' | jq -er .token)
code=$(post /invitations '{}' "$clin" | jq -er .code)
post /auth/register "{\"code\":\"$code\",\"email\":\"pat@clinic.test\",\"password\":\"patient-password-1\",\"consents\":{\"care_team\":true,\"sensing\":false,\"research\":false}}" >/dev/null
pat=$(post /auth/login '{"email":"pat@clinic.test","password":"patient-password-1"}' | jq -er .token)
p=$(get /me "$pat" | jq -r .id)

[ "$(get /instruments "$pat" | jq '.instruments | length')" = 5 ] || fail "instrument list"
r=$(post /assessments '{"instrument":"phq9","answers":[2,2,2,2,2,2,2,1,1]}' "$pat")
[ "$(echo "$r" | jq -r .total)" = 16 ] || fail "PHQ-9 total: $r"
[ "$(echo "$r" | jq -r '.alerts[0].kind')" = phq9_item9 ] || fail "no item-9 alert: $r"
post /assessments '{"instrument":"gad7","answers":[2,2,2,2,2,1,1]}' "$pat" >/dev/null
r=$(post /assessments '{"instrument":"phq9","answers":[1,1,1,1,1,1,1,0,0]}' "$pat")
[ "$(echo "$r" | jq -r .change.reliable)" = improvement ] || fail "change: $r"
post /assessments '{"instrument":"gad7","answers":[1,1,1,1,1,1,0]}' "$pat" >/dev/null
r=$(post /assessments '{"instrument":"phq9","answers":[1,1]}' "$pat")
[ "$(echo "$r" | jq -r .error.code)" = invalid_answers ] || fail "a wrong count was accepted: $r"

r=$(post "/patients/$p/episodes/close" '{}' "$clin")
[ "$(echo "$r" | jq -r .status)" = closed ] || fail "close: $r"
o=$(get "/patients/$p/outcomes" "$clin")
[ "$(echo "$o" | jq -r '.episodes[0].outcome.reliable_recovery')" = true ] || fail "outcome: $o"
[ "$(get /outcomes "$clin" | jq -r ".recovery_rate == 1")" = true ] || fail "caseload recovery rate"
f=$(get "/patients/$p/fhir" "$clin")
[ "$(echo "$f" | jq -r .resourceType)" = Bundle ] || fail "fhir: $f"
[ "$(echo "$f" | jq '[.entry[].resource | select(.resourceType == "Observation" and .code.coding[0].code == "44260-8")] | length')" = 2 ] ||
	fail "item 9 Observations"
echo "$f" | grep -q clinic.test && fail "the FHIR Patient is not pseudonymous"

kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
"$HAVEN" export --db "$db" --patient "$p" >"$dir/export.json"
[ "$(jq '.fhir.entry | length' "$dir/export.json")" = "$(echo "$f" | jq '.entry | length')" ] || fail "export bundle differs"
[ "$(jq '.assessments | length' "$dir/export.json")" = 4 ] || fail "export assessments"
"$HAVEN" audit verify --db "$db"
if grep -q -e '"answers"' -e patient-password-1 -e "$pat" "$dir/server.log"; then
	fail "answers, a password or a token reached the server log"
fi
echo "measures ok"

#!/usr/bin/env bash
# fhir_schema.sh: the FHIR Bundle a running `haven serve` exports, checked against the
# official FHIR R4 JSON schema (tests/fhir/validate.mjs, with the npm packages pinned in
# tests/fhir/package-lock.json and installed here by `npm ci`). A patient answers every
# instrument over HTTP on loopback; the clinician's GET /patients/{id}/fhir and the
# patient's own GET /me/export (its "fhir" member) must both validate, and the validator
# must refuse broken copies of the Bundle.
set -euo pipefail
. "$(dirname "$0")/../scripts/cli_lib.sh" fhir_schema
fhirdir=$(cd "$(dirname "$0")/../fhir" && pwd)
for tool in node npm curl jq; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done
(cd "$fhirdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci in tests/fhir failed"

HAVEN_PWHASH_FAST=1 "$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
wait_for_server
echo "clinician-password-1" | HAVEN_PWHASH_FAST=1 "$HAVEN" user add --db "$db" --role clinician --email dr@clinic.test >/dev/null

post() { curl -sS -X POST "$base$1" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} --data "$2"; }
get() { curl -sS -f "$base$1" -H "Authorization: Bearer $2"; }

clin=$(post /auth/login '{"email":"dr@clinic.test","password":"clinician-password-1"}' | jq -er .token)
code=$(post /invitations '{}' "$clin" | jq -er .code)
post /auth/register "{\"code\":\"$code\",\"email\":\"pat@clinic.test\",\"password\":\"patient-password-1\",\"consents\":{\"care_team\":true,\"sensing\":false,\"research\":false}}" >/dev/null
pat=$(post /auth/login '{"email":"pat@clinic.test","password":"patient-password-1"}' | jq -er .token)
p=$(get /me "$pat" | jq -r .id)
for a in '{"instrument":"phq9","answers":[2,2,2,2,2,2,2,1,1]}' '{"instrument":"gad7","answers":[2,2,2,2,2,1,1]}' \
	'{"instrument":"phq2","answers":[1,2]}' '{"instrument":"gad2","answers":[2,2]}' \
	'{"instrument":"who5","answers":[5,4,3,2,1]}' '{"instrument":"phq9","answers":[1,1,1,1,1,1,1,0,0]}'; do
	[ "$(post /assessments "$a" "$pat" | jq -r .id)" != null ] || fail "assessment refused: $a"
done

get "/patients/$p/fhir" "$clin" >"$dir/bundle.json" || fail "GET /patients/$p/fhir"
[ "$(jq '.entry | length' "$dir/bundle.json")" -gt 40 ] || fail "the Bundle is too small"
(cd "$fhirdir" && node validate.mjs "$dir/bundle.json" Patient Questionnaire QuestionnaireResponse Observation) ||
	fail "the clinician's Bundle does not validate against the FHIR R4 schema"
get /me/export "$pat" | jq .fhir >"$dir/export.json" || fail "GET /me/export"
(cd "$fhirdir" && node validate.mjs "$dir/export.json" Patient Observation) ||
	fail "the export's Bundle does not validate against the FHIR R4 schema"
echo "fhir_schema ok"

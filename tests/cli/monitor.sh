#!/usr/bin/env bash
# monitor.sh: monitoring end to end with the real binary: sensing refused without the
# sensing consent and accepted with it (plain JSON and a FHIR Observation), daily
# features, the sweep thread of `haven serve`, `haven monitor --once`, the training
# export of research-consenting patients, `haven train --task deterioration` on a
# generated cohort with --install, and the audit chain verifies. Sensed values never
# reach the server log.
set -euo pipefail
. "$(dirname "$0")/../scripts/cli_lib.sh" monitor

HAVEN_MONITOR_SWEEP_MS=200 "$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
wait_for_server
echo "clinician-password-1" | "$HAVEN" user add --db "$db" --role clinician --email dr@clinic.test
echo "admin-password-1" | "$HAVEN" user add --db "$db" --role admin --email admin@clinic.test

post() { curl -sS -X "${4:-POST}" "$base$1" -H "Content-Type: ${5:-application/json}" ${3:+-H "Authorization: Bearer $3"} --data "$2"; }
get() { curl -sS "$base$1" -H "Authorization: Bearer $2"; }

clin=$(post /auth/login '{"email":"dr@clinic.test","password":"clinician-password-1"}' | jq -er .token)
adm=$(post /auth/login '{"email":"admin@clinic.test","password":"admin-password-1"}' | jq -er .token)
code=$(post /invitations '{}' "$clin" | jq -er .code)
post /auth/register "{\"code\":\"$code\",\"email\":\"pat@clinic.test\",\"password\":\"patient-password-1\",\"consents\":{\"care_team\":true,\"sensing\":false,\"research\":true}}" >/dev/null
pat=$(post /auth/login '{"email":"pat@clinic.test","password":"patient-password-1"}' | jq -er .token)
p=$(get /me "$pat" | jq -r .id)

yesterday=$(date -u -d yesterday +%F)
obs="{\"observations\":[{\"type\":\"steps\",\"value\":7321,\"date\":\"$yesterday\"}]}"
r=$(post /sensing "$obs" "$pat")
[ "$(echo "$r" | jq -r .error.code)" = consent_required ] || fail "sensing without consent: $r"
post /me/consents '{"scopes":{"sensing":true}}' "$pat" PUT >/dev/null
r=$(post /sensing "$obs" "$pat")
[ "$(echo "$r" | jq -r .accepted)" = 1 ] || fail "sensing: $r"
fhir="{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"93832-4\"}]},\"valueQuantity\":{\"value\":6.5,\"system\":\"http://unitsofmeasure.org\",\"code\":\"h\"},\"effectiveDateTime\":\"$yesterday\"}"
r=$(post /sensing "$fhir" "$pat" POST application/fhir+json)
[ "$(echo "$r" | jq -r .accepted)" = 1 ] || fail "FHIR sensing: $r"
d=$(get "/patients/$p/sensing?days=3" "$clin")
[ "$(echo "$d" | jq -r ".days[1].steps")" = 7321 ] || fail "daily steps: $d"
[ "$(echo "$d" | jq -r ".days[1].sleep_minutes")" = 390 ] || fail "daily sleep: $d"
[ "$(echo "$d" | jq -r '.days_without_data | length')" = 2 ] || fail "missing days: $d"

# The sweep thread runs every 200 ms here.
for _ in $(seq 1 100); do grep -q "event=monitor.sweep patients=" "$dir/server.log" && break; sleep 0.05; done
grep -q "event=monitor.sweep patients=1 " "$dir/server.log" || fail "no sweep in the server log"

# Two PHQ-9s now: judged 30 days later, the first is followed by a rise of 6 or more.
post /assessments '{"instrument":"phq9","answers":[1,1,1,1,1,0,0,0,0]}' "$pat" >/dev/null
post /assessments '{"instrument":"phq9","answers":[2,2,2,2,1,1,1,1,0]}' "$pat" >/dev/null
post /checkins '{"mood":6,"sleep_hours":7}' "$pat" >/dev/null
r=$(post /monitoring/config '{"disengagement":{"days":3}}' "$adm" PUT)
[ "$(echo "$r" | jq -r .disengagement.days)" = 3 ] || fail "config: $r"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

out=$("$HAVEN" monitor --once --db "$db")
[ "$(echo "$out" | jq -r .patients)" = 1 ] || fail "monitor --once: $out"
later=$(( $(date +%s) * 1000 + 30 * 86400000 ))
"$HAVEN" monitor --export-training "$dir/export.jsonl" --db "$db" --now "$later"
[ "$(wc -l <"$dir/export.jsonl")" = 2 ] || fail "export: $(cat "$dir/export.jsonl")"
[ "$(head -1 "$dir/export.jsonl" | jq -r .deteriorated)" = true ] || fail "export label"
[ "$(tail -1 "$dir/export.jsonl" | jq -r .deteriorated)" = false ] || fail "export label 2"
grep -q "$p" "$dir/export.jsonl" && grep -q "\"id\"" "$dir/export.jsonl" && fail "ids in the export"
# With the disengagement limit at 3 days, a sweep a week later raises it.
out=$("$HAVEN" monitor --once --db "$db" --now $(( $(date +%s) * 1000 + 7 * 86400000 )))
[ "$(echo "$out" | jq -r .raised)" -ge 1 ] || fail "no disengagement alert a week on: $out"

# A generated cohort: risk rises with mood_drop; haven train recovers it and installs it.
awk 'BEGIN { s = 12345;
  for (i = 0; i < 600; i++) {
    s = (s * 1103515245 + 12345) % 2147483648; u = s / 2147483648;
    s = (s * 1103515245 + 12345) % 2147483648; v = s / 2147483648;
    drop = 4 * u - 1; y = (v < 1 / (1 + exp(-(-2 + 1.2 * drop)))) ? "true" : "false";
    printf "{\"features\":{\"phq9_last\":%d,\"mood_drop\":%.3f,\"checkin_adherence\":null},\"deteriorated\":%s}\n", i % 27, drop, y } }' >"$dir/cohort.jsonl"
"$HAVEN" train --task deterioration --data "$dir/cohort.jsonl" --out "$dir/model.json" --install --db "$db" >"$dir/train.txt"
grep -q "AUROC" "$dir/train.txt" || fail "no evaluation: $(cat "$dir/train.txt")"
w=$(jq -r .features.mood_drop.weight "$dir/model.json")
awk -v w="$w" 'BEGIN { exit !(w > 0.8 && w < 1.6) }' || fail "mood_drop weight $w"
"$HAVEN" train --task deterioration --data "$dir/export.jsonl" >/dev/null 2>&1 && fail "trained on 2 examples"
echo '{"features":{"x":1},"deteriorated":true}' >"$dir/bad.jsonl"
msg=$("$HAVEN" train --task deterioration --data "$dir/bad.jsonl" 2>&1) && fail "bad feature accepted"
echo "$msg" | grep -q "line 1: unknown feature 'x'" || fail "bad feature message: $msg"

HAVEN_MONITOR_SWEEP_MS=100000 "$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" >>"$dir/server.log" 2>&1 &
pid=$!
wait_for_server
src=$(get /monitoring/config "$adm" | jq -r .deterioration_risk.model.source)
case "$src" in "fitted by haven train on 600 examples"*) ;; *) fail "installed model: $src" ;; esac
risk=$(get "/patients/$p/risk" "$clin")
[ "$(echo "$risk" | jq '(.intercept + ([.features[].contribution] | add) - .logit) | fabs < 1e-9')" = true ] ||
	fail "contributions do not add up: $risk"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

"$HAVEN" audit verify --db "$db"
if grep -q -e 7321 -e patient-password-1 -e "$pat" "$dir/server.log"; then
	fail "a sensed value, a password or a token reached the server log"
fi
echo "monitor ok"

#!/usr/bin/env bash
# chat.sh: `haven chat --json` end to end with the real binary: the conversation resumes in
# a new process, a slang crisis message runs the protocol and leaves an urgent alert row
# for the message, a denial keeps the protocol, the text is sealed (not in the database
# file), a PHQ-9 answered in chat is listed by GET /api/v1/assessments, a bad content
# directory and an unknown patient are clear errors, and the audit chain verifies.
set -euo pipefail
. "$(dirname "$0")/../scripts/cli_lib.sh" chat

echo "patient-password-1" | "$HAVEN" user add --db "$db" --role patient --email pat@clinic.test >/dev/null
chat() { printf '%s\n' "$@" | "$HAVEN" chat --db "$db" --as pat@clinic.test --json; }

out=$(chat hello yes "can we do some breathing")
[ "$(echo "$out" | wc -l)" = 3 ] || fail "three turns expected: $out"
[ "$(echo "$out" | tail -n 1 | jq -r .state)" = breathing.intro ] || fail "breathing: $out"

# A new process resumes where the last one stopped.
out=$(chat 7)
[ "$(echo "$out" | jq -r .state)" = breathing.guide ] || fail "did not resume: $out"

out=$(chat "tbh i wanna kms")
[ "$(echo "$out" | jq -r .risk.level)" = high ] || fail "slang crisis not high: $out"
[ "$(echo "$out" | jq -r .state)" = safety.crisis ] || fail "no crisis protocol: $out"
echo "$out" | jq -e '.reply | contains("988")' >/dev/null || fail "no crisis line: $out"
echo "$out" | jq -e '[.actions[] | select(.type == "alert" and .kind == "crisis_chat")] | length == 1' \
	>/dev/null || fail "no alert action: $out"
out=$(chat "I'm fine")
[ "$(echo "$out" | jq -r .state)" = safety.confirm ] || fail "a denial ended the protocol: $out"
out=$(chat no)
[ "$(echo "$out" | jq -r .state)" = breathing.guide ] || fail "did not return: $out"
n=$(sqlite3 "$dir/haven.db" "SELECT COUNT(*) FROM alerts a JOIN messages m ON a.source = 'message:' || m.rid WHERE a.kind = 'crisis_chat' AND a.severity = 'urgent' AND m.risk_level = 'high'")
[ "$n" = 1 ] || fail "alerts for the crisis message: $n"
if grep -a -q "wanna kms" "$dir/haven.db" "$dir"/haven.db-wal 2>/dev/null; then
	fail "chat text stored in clear"
fi

# A PHQ-9 in chat is an assessment the HTTP API lists.
chat stop phq9 yes 1 1 2 2 1 0 0 1 0 >"$dir/phq9"
tail -n 1 "$dir/phq9" | jq -e '.reply | contains("Your total is 8 out of 27")' >/dev/null ||
	fail "phq9 result: $(tail -n 1 "$dir/phq9")"
"$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
wait_for_server
tok=$(curl -sS -X POST "$base/auth/login" -H "Content-Type: application/json" \
	--data '{"email":"pat@clinic.test","password":"patient-password-1"}' | jq -er .token)
curl -sS "$base/assessments" -H "Authorization: Bearer $tok" |
	jq -e '[.assessments[] | select(.instrument == "phq9" and .total == 8)] | length == 1' >/dev/null ||
	fail "the chat PHQ-9 is not in GET /assessments"
# Over HTTP the same conversation goes on.
curl -sS -X POST "$base/chat/messages" -H "Authorization: Bearer $tok" -H "Content-Type: application/json" \
	--data '{"text":"show my safety plan"}' | jq -e '.state | startswith("home.")' >/dev/null ||
	fail "HTTP turn"
if grep -q "wanna kms" "$dir/server.log"; then fail "chat text in the server log"; fi
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# Clear errors.
if echo hi | "$HAVEN" chat --db "$db" --as nobody@clinic.test --json 2>"$dir/err"; then
	fail "an unknown patient was accepted"
fi
[ -s "$dir/err" ] || fail "no message for an unknown patient"
mkdir -p "$dir/content/flows" "$dir/content/intents"
cp -r content/. "$dir/content/"
printf 'flow broken\nnode a\nsay hi\non any -> nowhere\n' >"$dir/content/flows/broken.flow"
if echo hi | HAVEN_CONTENT_DIR=$dir/content "$HAVEN" chat --db "$db" --as pat@clinic.test --json 2>"$dir/err"; then
	fail "broken content was accepted"
fi
grep -q "broken.flow:" "$dir/err" || fail "the content error does not name the file: $(cat "$dir/err")"

"$HAVEN" audit verify --db "$db" >/dev/null || fail "audit chain"
echo "chat: ok"

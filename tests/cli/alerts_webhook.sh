#!/usr/bin/env bash
# alerts_webhook.sh: alert delivery with the real binary across a server restart. `haven
# serve --alert-webhook` runs while the receiver is down; an item-9 answer raises an urgent
# alert whose delivery fails and stays queued; the server is stopped with the row pending
# and started again once the receiver is up, and the alert arrives, signed (checked with
# openssl, as docs/alerts.md shows), with an Idempotency-Key, and without clinical text.
# Then the clinician acknowledges it over HTTP and that event arrives too.
set -euo pipefail
HAVEN=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
rport=$((port + 1))
base=http://127.0.0.1:$port/api/v1
pid=
rpid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
export HAVEN_KEY_FILE=$dir/haven.key
export HAVEN_WEBHOOK_SECRET=cli-test-secret-4f1c9a0b7e
export HAVEN_ALERT_POLL_MS=50 HAVEN_ALERT_BACKOFF_MS=50
db=sqlite:$dir/haven.db
fail() { echo "alerts_webhook: $*" >&2; exit 1; }
mkdir "$dir/hits"

start_server() {
	"$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" \
		--alert-webhook "http://127.0.0.1:$rport/hook" >>"$dir/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.05; done
	fail "server did not start"
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# The receiver: every POST is written to hits/N.body and hits/N.headers, answered 200.
start_receiver() {
	python3 - "$rport" "$dir/hits" <<'EOF' &
import http.server, os, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = len([f for f in os.listdir(out) if f.endswith(".body")])
        with open(os.path.join(out, "%d.headers" % n), "w") as f:
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k.lower(), v))
        with open(os.path.join(out, "%d.body.tmp" % n), "wb") as f:
            f.write(body)
        os.rename(os.path.join(out, "%d.body.tmp" % n), os.path.join(out, "%d.body" % n))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
	rpid=$!
	for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$rport/" && return; sleep 0.05; done
	fail "receiver did not start"
}

start_server
echo "clinician-password-1" | "$HAVEN" user add --db "$db" --role clinician --email dr@clinic.test
post() { curl -sS -X POST "$base$1" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} --data "$2"; }
get() { curl -sS "$base$1" -H "Authorization: Bearer $2"; }
clin=$(post /auth/login '{"email":"dr@clinic.test","password":"clinician-password-1"}' | jq -er .token)
code=$(post /invitations '{}' "$clin" | jq -er .code)
post /auth/register "{\"code\":\"$code\",\"email\":\"pat@clinic.test\",\"password\":\"patient-password-1\",\"consents\":{\"care_team\":true,\"sensing\":false,\"research\":false}}" >/dev/null
pat=$(post /auth/login '{"email":"pat@clinic.test","password":"patient-password-1"}' | jq -er .token)

r=$(post /assessments '{"instrument":"phq9","answers":[2,2,2,2,2,2,2,1,2]}' "$pat")
id=$(echo "$r" | jq -er '.alerts[0].id')

# The receiver is down: attempts fail and the row stays queued.
for _ in $(seq 1 400); do grep -q 'event=alert_delivery_failed' "$dir/server.log" && break; sleep 0.05; done
grep -q 'event=alert_delivery_failed' "$dir/server.log" || fail "no failed attempt logged"
stop_server
[ -z "$(ls "$dir/hits")" ] || fail "something was delivered while the receiver was down"

# Restart with the receiver up: the pending row is delivered.
start_receiver
start_server
for _ in $(seq 1 400); do [ -e "$dir/hits/0.body" ] && break; sleep 0.05; done
[ -e "$dir/hits/0.body" ] || fail "the alert was not delivered after the restart"
body=$dir/hits/0.body
[ "$(jq -r .event "$body")" = alert.raised ] || fail "event: $(cat "$body")"
[ "$(jq -r .alert.id "$body")" = "$id" ] || fail "alert id: $(cat "$body")"
[ "$(jq -r .alert.kind "$body")" = phq9_item9 ] || fail "kind: $(cat "$body")"
[ "$(jq -r '.alert.reasons // "none"' "$body")" = none ] || fail "reasons left the server"
sig=$(grep '^x-haven-signature: ' "$dir/hits/0.headers" | cut -d' ' -f2 | tr -d '\r')
want="sha256=$(openssl dgst -sha256 -hmac "$HAVEN_WEBHOOK_SECRET" -hex <"$body" | sed 's/^.*= //')"
[ "$sig" = "$want" ] || fail "signature $sig, want $want"
key=$(grep '^idempotency-key: ' "$dir/hits/0.headers" | cut -d' ' -f2 | tr -d '\r')
[ "${#key}" = 32 ] || fail "idempotency key '$key'"
[ "$(jq -r .delivery_id "$body")" = "$key" ] || fail "delivery_id differs from the key"

# Acknowledge over HTTP: the status change is delivered too.
post "/alerts/$id/ack" '' "$clin" >/dev/null
[ "$(get "/alerts/$id" "$clin" | jq -r .status)" = acknowledged ] || fail "not acknowledged"
for _ in $(seq 1 400); do [ -e "$dir/hits/1.body" ] && break; sleep 0.05; done
[ "$(jq -r .event "$dir/hits/1.body")" = alert.acknowledged ] || fail "no acknowledgement event"
[ "$(get "/alerts?status=acknowledged" "$clin" | jq '.alerts | length')" = 1 ] || fail "list"

# Nothing clinical in the server log: not the reasons, not the secret.
reason=$(get "/alerts/$id" "$clin" | jq -er '.reasons[0].text')
[ ${#reason} -gt 10 ] || fail "reason text '$reason'"
if grep -qF -e "$reason" -e "$HAVEN_WEBHOOK_SECRET" "$dir/server.log" ||
	grep -qF -e "$reason" "$dir/hits/0.body"; then
	fail "the server log holds clinical text or the secret"
fi
stop_server

# An escalation contact must be an enabled clinician account: serve refuses to start
# otherwise, and says which address is wrong.
if out=$("$HAVEN" serve --db "$db" --listen "127.0.0.1:$port" \
	--alert-escalation-contact "pat@clinic.test" 2>&1); then
	fail "serve started with a patient as escalation contact"
fi
echo "$out" | grep -q "no enabled clinician account 'pat@clinic.test'" ||
	fail "escalation contact message: $out"
"$HAVEN" serve --help | grep -q -- "--alert-escalation-contact" || fail "--help"
"$HAVEN" audit verify --db "$db" >/dev/null || fail "audit chain"
echo "alerts_webhook: ok"

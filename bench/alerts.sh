#!/usr/bin/env bash
# alerts.sh [sqlite|postgresql] [N]: webhook delivery figures. The server runs with
# --alert-webhook pointing at a receiver that is down while N urgent alerts are raised
# (PHQ-9 item 9 answers over HTTP); then the receiver (Python, HTTP/1.1 keep-alive) comes
# up and the time to drain the backlog is measured; then, with the receiver up, the time
# from one POST /assessments reply to the webhook's arrival, with the default 1 s poll.
# Build first: make build/haven.
kind=${1:-sqlite}
n=${2:-300}
. "$(dirname "$0")/lib.sh"
RPORT=$((PORT + 1))
RPID=
cleanup_all() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; bench_cleanup; }
trap cleanup_all EXIT
export HAVEN_WEBHOOK_SECRET=bench-webhook-secret-0123456789
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start --alert-webhook "http://127.0.0.1:$RPORT/hook" --alert-escalate-after 0
bench_people 1

for _ in $(seq 1 "$n"); do
	api POST /assessments "$PATIENT_TOKEN" '{"instrument":"phq9","answers":[1,1,1,1,1,1,1,1,1]}' >/dev/null
done

: >"$BENCH_DIR/hits"
python3 - "$RPORT" "$BENCH_DIR/hits" <<'EOF' &
import http.server, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "a") as f:
            f.write("%d %s\n" % (time.time_ns(), self.headers.get("Idempotency-Key")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
RPID=$!
t0=$(date +%s%N)
until [ "$(wc -l <"$BENCH_DIR/hits")" -ge "$n" ]; do sleep 0.01; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
dups=$(awk '{print $2}' "$BENCH_DIR/hits" | sort | uniq -d | wc -l)
echo "backend: $kind, $(nproc) cores"
echo "backlog of $n alert.raised events drained in ${ms} ms after the receiver came up" \
	"($(( n * 1000 / (ms > 0 ? ms : 1) )) events/s, includes up to one backoff delay), duplicate keys: $dups"

lat=()
for _ in 1 2 3 4 5; do
	before=$(wc -l <"$BENCH_DIR/hits")
	t0=$(date +%s%N)
	api POST /assessments "$PATIENT_TOKEN" '{"instrument":"phq9","answers":[1,1,1,1,1,1,1,1,1]}' >/dev/null
	until [ "$(wc -l <"$BENCH_DIR/hits")" -gt "$before" ]; do sleep 0.002; done
	t1=$(date +%s%N)
	lat+=($(( (t1 - t0) / 1000000 )))
done
echo "raise-to-webhook latency (5 alerts, poll 1000 ms): ${lat[*]} ms"

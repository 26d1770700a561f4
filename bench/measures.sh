#!/usr/bin/env bash
# measures.sh [sqlite|postgresql] [SECONDS]: the figures of measurement-based care.
# 64 connections (wrk, 2 threads) on loopback against POST /api/v1/assessments (scored,
# sealed, audited, durable before the reply), then the time of one GET
# /api/v1/patients/{id}/fhir and one GET /api/v1/patients/{id}/outcomes for a patient
# with the assessments the load left behind. Build first: make build/haven.
kind=${1:-sqlite}
secs=${2:-10}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db "$kind"
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start
bench_people 16
export TOKENS=$BENCH_DIR/tokens

out=$(wrk -t2 -c64 -d"${secs}s" --latency -s "$ROOT/bench/wrk/assessment.lua" "$BASE/api/v1/assessments")
rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
echo "backend: $kind, 64 connections, ${secs}s, $(nproc) cores"
echo "POST /api/v1/assessments: $rps req/s, p50 $p50, p99 $p99, non-2xx ${non2xx:-0}"

ctok=$(api POST /auth/login "" "{\"email\":\"clin@bench.test\",\"password\":\"$PASSWORD\"}" | jq -r .token)
pat=$(head -n 1 "$TOKENS")
pid=$(api GET /me "$pat" | jq -r .id)
n=$(api GET /assessments "$pat" | jq '.assessments | length')
api PUT /me/consents "$pat" '{"scopes": {"care_team": true}}' >/dev/null
for what in fhir outcomes; do
	t=$(curl -s -o "$BENCH_DIR/$what.json" -w '%{time_total}' "$BASE/api/v1/patients/$pid/$what" \
		-H "Authorization: Bearer $ctok")
	echo "GET /api/v1/patients/{id}/$what for $n assessments: ${t}s, $(wc -c <"$BENCH_DIR/$what.json") bytes"
done

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

bench_wrk "$secs" -s "$ROOT/bench/wrk/assessment.lua" "$BASE/api/v1/assessments"
echo "backend: $kind, 64 connections, ${secs}s, $(nproc) cores"
echo "POST /api/v1/assessments: $WRK_RPS req/s, p50 $WRK_P50, p99 $WRK_P99, non-2xx $WRK_NON2XX"

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

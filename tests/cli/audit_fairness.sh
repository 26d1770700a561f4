#!/usr/bin/env bash
# audit_fairness.sh: `haven audit-fairness` on a hand-worked example (see
# tests/unit/nlp/test_fairness.c for the arithmetic), as a table and as JSON, and its errors.
set -euo pipefail
BIN=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
printf 'id,group,label,pred\n1,a,1,1\n2,a,1,0\n3,a,0,1\n4,a,0,0\n5,b,1,1\n6,b,1,1\n7,b,0,0\n8,b,0,0\n9,b,0,1\n' >"$dir/p.csv"
"$BIN" audit-fairness --predictions "$dir/p.csv" --group-col group --label-col label \
	--pred-col pred >"$dir/t.txt"
grep -q "^demographic_parity_difference 0.1000" "$dir/t.txt" || fail "$(cat "$dir/t.txt")"
grep -q "^equalized_odds_difference     0.5000" "$dir/t.txt" || fail "$(cat "$dir/t.txt")"
"$BIN" audit-fairness --predictions "$dir/p.csv" --group-col 2 --label-col 3 --pred-col 4 \
	--json >"$dir/j.json"
python3 - "$dir/j.json" <<'PY' || exit 1
import json, sys
o = json.load(open(sys.argv[1]))
assert abs(o["demographic_parity_difference"] - 0.1) < 1e-6
assert abs(o["equalized_odds_difference"] - 0.5) < 1e-6
assert [g["group"] for g in o["groups"]] == ["a", "b"]
assert abs(o["groups"][1]["fpr"] - 1/3) < 1e-6
PY
if "$BIN" audit-fairness --predictions "$dir/p.csv" --group-col nope --label-col label \
	--pred-col pred 2>"$dir/e"; then fail "missing column accepted"; fi
grep -q "p.csv:1: no column 'nope'" "$dir/e" || fail "$(cat "$dir/e")"
if "$BIN" audit-fairness --predictions "$dir/p.csv" 2>/dev/null; then fail "usage"; fi
echo ok

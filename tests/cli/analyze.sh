#!/usr/bin/env bash
# analyze.sh: `haven analyze` answers every line with one valid JSON object, in order,
# including bad input (empty, over-long, invalid UTF-8, binary, CRLF), reports missing
# models instead of inventing results, and fails clearly on a broken lexicon.
set -euo pipefail
BIN=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

{
	printf 'i want to kill myself\n'
	printf '\n'
	printf 'this traffic is killing me\r\n'
	printf 'bad utf8 \xff\xfe here and want to die \xc3\n'
	printf 'binary \x00\x01\x02\x1b[0m garbage\n'
	head -c 40000 /dev/zero | tr '\0' 'a'; printf ' kms\n'
	printf '   \t  \n'
	printf 'my friend wants to kill herself'   # no final newline
} >"$dir/in.txt"

"$BIN" analyze --max-line 20000 <"$dir/in.txt" >"$dir/out.jsonl" || fail "analyze exited $?"
python3 - "$dir/out.jsonl" <<'PY' || exit 1
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "output must end with a newline"
objs = [json.loads(l) for l in lines[:-1]]
assert len(objs) == 8, f"8 input lines, {len(objs)} output lines"
assert [o["line"] for o in objs] == list(range(1, 9))
assert objs[0]["risk"]["level"] == "high", objs[0]
assert objs[0]["risk"]["reasons"][0]["phrase"] == "want to kill myself"
for key in ("emotions", "sentiment", "stress", "distortions"):
    assert key in objs[0], key
    assert objs[0][key]["status"] in ("ok", "missing")
    if objs[0][key]["status"] == "ok":
        assert objs[0][key]["scores"] and "explanation" in objs[0][key]
assert objs[1]["error"]["code"] == "empty_line"
assert objs[2]["risk"]["level"] == "none" and "figurative" in objs[2]["risk"]["flags"]
assert objs[3]["input"]["invalid_utf8_replaced"] is True
assert objs[3]["risk"]["level"] == "high"
assert objs[4]["input"]["control_characters"] >= 3
assert objs[5]["input"]["truncated"] is True and "message" in objs[5]["input"]
assert objs[6]["error"]["code"] == "empty_line"
assert objs[7]["risk"]["level"] == "low" and "about_other" in objs[7]["risk"]["flags"]
PY

# Without models: every analysis says it is missing; risk comes from the lexicon alone.
echo "i want to die" | "$BIN" analyze --models "$dir/none" >"$dir/nomodels.jsonl"
python3 - "$dir/nomodels.jsonl" <<'PY' || exit 1
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["risk"]["level"] == "high"
assert o["risk"]["model"]["status"] == "missing"
for key in ("emotions", "sentiment", "stress", "distortions"):
    assert o[key]["status"] == "missing" and "not installed" in o[key]["message"], o[key]
PY

# A broken lexicon is a clear error naming the file and line, and nothing is analysed.
printf '@version x\nideation sky-high want to die\n' >"$dir/bad.txt"
if echo hi | "$BIN" analyze --lexicon "$dir/bad.txt" >"$dir/o" 2>"$dir/e"; then
	fail "a broken lexicon must fail"
fi
grep -q "bad.txt:2: unknown level 'sky-high'" "$dir/e" || fail "error: $(cat "$dir/e")"
[ ! -s "$dir/o" ] || fail "output despite a broken lexicon"

# Usage errors.
if "$BIN" analyze --bogus </dev/null 2>/dev/null; then fail "unknown option accepted"; fi
"$BIN" analyze --help | grep -q "one text per line" || fail "help"
echo ok

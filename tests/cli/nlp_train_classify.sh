#!/usr/bin/env bash
# nlp_train_classify.sh: `haven train`, `eval`, `classify` and `models` on tiny data made here,
# including bad input (empty, long, invalid UTF-8 and binary lines; missing and corrupt models).
set -euo pipefail
BIN=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A tiny CSV with a quoted multi-line field, a group column and two labels.
{
	echo 'id,post,text,label'
	i=0
	for w in love great wonderful happy awesome; do
		for f in "i feel %s today" "this is %s" "%s day at work" "so %s about it"; do
			i=$((i + 1)); printf '%d,p%d,"%s",pos\n' $i $((i % 7)) "$(printf "$f" $w)"
		done
	done
	for w in hate awful terrible sad horrible; do
		for f in "i feel %s today" "this is %s" "%s day at work" "so %s about it"; do
			i=$((i + 1)); printf '%d,p%d,"%s",neg\n' $i $((i % 7)) "$(printf "$f" $w)"
		done
	done
	echo '99,p1,"a ""quoted""
multi-line text that is great",pos'
} >"$dir/data.csv"
mkdir "$dir/again"

"$BIN" train --data "$dir/data.csv" --text-col text --label-col label --buckets 4096 \
	--epochs 30 --seed 3 --out "$dir/m1.hvm" --name tiny --task "tiny test" --quiet
"$BIN" train --data "$dir/data.csv" --text-col text --label-col label --buckets 4096 \
	--epochs 30 --seed 3 --out "$dir/again/m1.hvm" --name tiny --task "tiny test" --quiet
cmp -s "$dir/m1.hvm" "$dir/again/m1.hvm" || fail "training is not deterministic"
"$BIN" train --data "$dir/data.csv" --text-col 3 --label-col 4 --group-col post --dev-split 0.3 \
	--model ensemble --dim 8 --out "$dir/m3.hvm" --quiet

# --nb: NB-weighted features for two-label data, deterministic; refused on three labels
"$BIN" train --data "$dir/data.csv" --text-col text --label-col label --buckets 4096 \
	--epochs 30 --nb 1 --out "$dir/nb.hvm" --quiet
"$BIN" train --data "$dir/data.csv" --text-col text --label-col label --buckets 4096 \
	--epochs 30 --nb 1 --out "$dir/again/nb.hvm" --quiet
cmp -s "$dir/nb.hvm" "$dir/again/nb.hvm" || fail "--nb training is not deterministic"
sed 's/,neg$/,meh/; 3s/,pos$/,other/' "$dir/data.csv" >"$dir/three.csv"
rc=0
"$BIN" train --data "$dir/three.csv" --text-col text --label-col label --nb 1 \
	--out "$dir/nb3.hvm" --quiet 2>"$dir/nb3.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "two-label" "$dir/nb3.err" || fail "--nb on three labels: $rc"

# eval: text and JSON
"$BIN" eval --model "$dir/m1.hvm" --data "$dir/data.csv" --text-col text --label-col label \
	>"$dir/eval.txt"
grep -q '^accuracy  *1.0000' "$dir/eval.txt" || { cat "$dir/eval.txt"; fail "accuracy"; }
grep -q 'confusion matrix' "$dir/eval.txt" || fail "confusion matrix missing"
"$BIN" eval --json --model "$dir/m1.hvm" --data "$dir/data.csv" --text-col text --label-col label \
	--binary-negative neg >"$dir/eval.json"
grep -q '"macro_f1": 1' "$dir/eval.json" || { cat "$dir/eval.json"; fail "json eval"; }
grep -q '"binary"' "$dir/eval.json" || fail "binary metrics missing"

# classify: ordinary, empty, long, invalid UTF-8 and binary lines all get an answer
long=$(head -c 40000 /dev/zero | tr '\0' 'a')
{
	echo "what a wonderful day"
	echo ""
	echo "i hate this so much"
	echo "$long"
	printf 'bad \xff\xfe bytes but great\n'
	head -c 300 /dev/urandom | tr '\n' ' '
	echo
	printf 'no newline at the end, awful'
} | "$BIN" classify --model "$dir/m1.hvm" >"$dir/out.jsonl"
[ "$(wc -l <"$dir/out.jsonl")" -eq 7 ] || { cat "$dir/out.jsonl"; fail "expected 7 lines"; }
sed -n 1p "$dir/out.jsonl" | grep -q '"predicted": \["pos"\]' || fail "line 1"
sed -n 2p "$dir/out.jsonl" | grep -q '"error": "empty input"' || fail "empty line"
sed -n 3p "$dir/out.jsonl" | grep -q '"predicted": \["neg"\]' || fail "line 3"
sed -n 4p "$dir/out.jsonl" | grep -q '"truncated": true' || fail "long line"
sed -n 5p "$dir/out.jsonl" | grep -q '"invalid_utf8": true' || fail "invalid utf-8"
sed -n 7p "$dir/out.jsonl" | grep -q '"predicted": \["neg"\]' || fail "last line"
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$dir/out.jsonl" ||
		fail "output is not JSON lines"
fi
echo "so happy today" | "$BIN" classify --model "$dir/m3.hvm" --explain 3 | grep -q '"explanation"' ||
	fail "explanation"

# models: by directory and by name
mkdir "$dir/models"
cp "$dir/m1.hvm" "$dir/models/tiny.hvm"
HAVEN_MODELS="$dir/models" "$BIN" models | grep -q 'tiny test' || fail "models listing"
echo "great" | HAVEN_MODELS="$dir/models" "$BIN" classify --model tiny | grep -q pos ||
	fail "model by name"

# missing and corrupt models: clear messages, exit status 1
if HAVEN_MODELS="$dir/models" "$BIN" classify --model nosuch </dev/null 2>"$dir/err.txt"; then
	fail "missing model accepted"
fi
grep -q "not found" "$dir/err.txt" || fail "missing model message"
head -c 500 "$dir/m1.hvm" >"$dir/models/broken.hvm"
if echo hi | "$BIN" classify --model "$dir/models/broken.hvm" 2>"$dir/err.txt"; then
	fail "truncated model accepted"
fi
grep -q "truncated" "$dir/err.txt" || { cat "$dir/err.txt"; fail "truncated model message"; }
HAVEN_MODELS="$dir/models" "$BIN" models | grep -q "broken: cannot load" || fail "broken listing"
if "$BIN" train --data "$dir/data.csv" --text-col nosuch --label-col label --out "$dir/x.hvm" \
	2>"$dir/err.txt"; then
	fail "bad column accepted"
fi
grep -q "no text column 'nosuch'" "$dir/err.txt" || fail "bad column message"
echo ok

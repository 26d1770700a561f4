#!/usr/bin/env bash
# crisis_analyze.sh: throughput of `haven analyze` (the whole pipeline: crisis lexicon and
# classifier, emotion, sentiment, stress and distortion models, JSON out) and of the crisis
# lexicon alone, on one core, on short chat messages (the texts of tests/data/crisis/*.tsv
# repeated to N lines). Results go in bench/README.md ("Crisis and analyze").
#   bash bench/crisis_analyze.sh [N]        (default 200000)
#   HAVEN_BIN=path/to/haven bash bench/crisis_analyze.sh [N]   (time another build, e.g. an
#                                           older commit's, on the same input and lexicon)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
if [ -z "${HAVEN_BIN:-}" ]; then
	make --no-print-directory -s build/haven
	HAVEN_BIN=build/haven
fi
mkdir -p build/bench
in=build/bench/chat_messages.txt
src=$(mktemp)
trap 'rm -f "$src"' EXIT
tail -q -n +2 tests/data/crisis/dev.tsv tests/data/crisis/challenge.tsv | cut -f1 >"$src"
: >"$in"
while [ "$(wc -l <"$in")" -lt "$N" ]; do cat "$src" >>"$in"; done
head -n "$N" "$in" >"$in.tmp" && mv "$in.tmp" "$in"
empty=$(mktemp -d)
run() { # run LABEL ARGS...: best of 3 user+system times
	local label=$1 best= t
	shift
	for _ in 1 2 3; do
		t=$( { /usr/bin/time -f "%U %S" taskset -c 0 "$HAVEN_BIN" analyze "$@" <"$in" >/dev/null; } 2>&1 | awk '{print $1 + $2}')
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$t; fi
	done
	awk -v n="$N" -v t="$best" -v l="$label" 'BEGIN{printf "%-40s %8d msgs %7.2f s %9.0f msgs/s\n", l, n, t, n / t}'
}
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $HAVEN_BIN, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run "analyze (all models, JSON out)"
run "analyze --models <empty> (lexicon only)" --models "$empty"
rmdir "$empty"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# nlp_compare.sh: Haven's text classifiers against fastText and LIBLINEAR on the same training
# data and the same dev split, for every shipped task. Prints one table: dev metrics, training
# time, predictions per second on one core (taskset -c 0) and peak memory (max RSS) of the
# prediction process. Results and commands are recorded in bench/README.md.
#   bash bench/nlp_compare.sh [task ...]     tasks: emotion sentiment stress distortion sdcnl
# Needs: build/haven, fasttext, liblinear-tools (liblinear-train/-predict), python3.
# Work files go to bench/out/nlp/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${HAVEN_SHARED_DATA:-../shared/data}
make --no-print-directory -s build/haven
mkdir -p build bench/out/nlp
ln -sfn "$(cd "$DATA_DIR" && pwd)" build/data
D=build/data
H=$PWD/build/haven
TASKS=${*:-emotion sentiment stress distortion sdcnl}
LINES=${BENCH_LINES:-100000}
results=bench/out/nlp/results.md

# Haven's training flags per task: exactly those of models/train.sh.
haven_flags() {
	case $1 in
	emotion) echo "--data $D/goemotions/original/train.tsv --dev $D/goemotions/original/dev.tsv --no-header --text-col 1 --label-col 2 --label-sep , --label-names $D/goemotions/original/labels.txt --buckets 32768 --epochs 12 --threads 2 --seed 1" ;;
	sentiment) echo "--data $D/goemotions/group/train.tsv --dev $D/goemotions/group/dev.tsv --no-header --text-col 1 --label-col 2 --label-sep , --label-names $D/goemotions/group/labels.txt --buckets 32768 --epochs 12 --threads 2 --seed 1" ;;
	stress) echo "--data $D/dreaddit/dreaddit-train.csv --text-col text --label-col label --group-col post_id --dev-split 0.2 --seed 1 --buckets 131072 --char-weight 0.2 --weight-col confidence --weight-power 2" ;;
	distortion) echo "--data $D/cognitive_distortions_shreevastava2021/train.csv --text-col Patient_Question --label-col Dominant_Distortion --dev-split 0.2 --seed 1 --buckets 65536 --class-weight balanced --extra-text-col Distorted_part --extra-text-crop" ;;
	sdcnl) echo "--data $D/sdcnl/training-set.csv --text-col title,selftext --label-col is_suicide --dev-split 0.2 --seed 1 --threshold balanced --buckets 131072" ;;
	esac
}
# Haven's eval flags per task (dev data = the training run's dev data).
eval_flags() {
	case $1 in
	emotion) echo "--data $D/goemotions/original/dev.tsv --no-header --text-col 1 --label-col 2 --label-sep , --label-names $D/goemotions/original/labels.txt" ;;
	sentiment) echo "--data $D/goemotions/group/dev.tsv --no-header --text-col 1 --label-col 2 --label-sep , --label-names $D/goemotions/group/labels.txt" ;;
	stress) echo "--data $D/dreaddit/dreaddit-train.csv --text-col text --label-col label --group-col post_id --dev-split 0.2 --seed 1" ;;
	distortion) echo "--data $D/cognitive_distortions_shreevastava2021/train.csv --text-col Patient_Question --label-col Dominant_Distortion --dev-split 0.2 --seed 1" ;;
	sdcnl) echo "--data $D/sdcnl/training-set.csv --text-col title,selftext --label-col is_suicide --dev-split 0.2 --seed 1" ;;
	esac
}
# word splitting with spaces inside column names: written with _ above, restored here
fix() { sed 's/Patient_Question/Patient Question/; s/Dominant_Distortion/Dominant Distortion/; s/Distorted_part/Distorted part/'; }

now() { date +%s.%N; }
# timed CMD...: runs on core 0, sets T (seconds) and M (max RSS, MB)
timed() {
	local f
	f=$(mktemp)
	taskset -c 0 /usr/bin/time -f "%e %M" -o "$f" "$@"
	read -r T M <"$f"
	M=$(awk -v m="$M" 'BEGIN{printf "%.1f", m/1024}')
	rm -f "$f"
}
summ() { # summ JSON-metrics -> "macroF1 acc balacc [F1pos]"
	python3 -c '
import json,sys
m=json.load(sys.stdin)
m=m.get("metrics",m)
pos=m.get("f1_positive")
if pos is None and "labels" in m and len(m["labels"])==2 and not m.get("multi_label"):
    pos=list(m["labels"].values())[1]["f1"]
print("%.3f | %.3f | %.3f | %s" % (m["macro_f1"], m["accuracy"], m["balanced_accuracy"], "%.3f"%pos if pos is not None else "-"))'
}

{
echo "| task | system | macro-F1 | accuracy | balanced acc. | F1 (pos.) | train s | pred/s (1 core) | pred. RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|"
} >"$results"

for task in $TASKS; do
	W=bench/out/nlp/$task
	python3 bench/nlp_prep.py "$task" "$D" "$W" >&2
	L=$(wc -l <"$W/labels.txt")
	n=$(wc -l <"$W/dev.txt")
	reps=$(( (LINES + n - 1) / n ))
	: >"$W/texts.txt"
	for _ in $(seq "$reps"); do cat "$W/dev.txt" >>"$W/texts.txt"; done
	lines=$(wc -l <"$W/texts.txt")
	multi=0
	grep -q ' ' "$W/dev.gold" && multi=1
	[ "$task" = emotion ] || [ "$task" = sentiment ] && multi=1

	# Haven
	mapfile -t hf < <(haven_flags "$task" | fix | tr ' ' '\n' | sed 's/Patient$/Patient Question/; /^Question$/d; s/Dominant$/Dominant Distortion/; /^Distortion$/d; s/Distorted$/Distorted part/; /^part$/d')
	mapfile -t ef < <(eval_flags "$task" | fix | tr ' ' '\n' | sed 's/Patient$/Patient Question/; /^Question$/d; s/Dominant$/Dominant Distortion/; /^Distortion$/d')
	t0=$(now)
	"$H" train --quiet "${hf[@]}" --name "$task" --out "$W/haven.hvm"
	tt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
	hm=$("$H" eval --json --model "$W/haven.hvm" "${ef[@]}" | summ)
	timed "$H" classify --model "$W/haven.hvm" <"$W/texts.txt" >/dev/null
	echo "| $task | Haven (linear) | $hm | $tt | $(awk -v l="$lines" -v t="$T" 'BEGIN{printf "%d", l/t}') | $M |" >>"$results"

	# fastText (2 training threads; same train/dev rows)
	ftargs=(-epoch 25 -lr 0.5 -wordNgrams 2 -dim 50 -thread 2 -verbose 0)
	[ $multi = 1 ] && ftargs+=(-loss ova)
	t0=$(now)
	fasttext supervised -input "$W/train.ft" -output "$W/ft" "${ftargs[@]}"
	export GOAL=f1
	[ "$task" = sdcnl ] && GOAL=balanced
	tt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
	fasttext predict-prob "$W/ft.bin" "$W/dev.txt" -1 0.0 >"$W/ft.pred"
	fm=$(python3 bench/nlp_score.py ft "$W" "$W/ft.pred" | summ)
	timed fasttext predict "$W/ft.bin" "$W/texts.txt" >/dev/null
	echo "| $task | fastText | $fm | $tt | $(awk -v l="$lines" -v t="$T" 'BEGIN{printf "%d", l/t}') | $M |" >>"$results"

	# LIBLINEAR: L2 logistic regression (-s 0) on TF-IDF word uni+bigrams; one-vs-rest
	# binary models for multi-label tasks
	t0=$(now)
	if [ $multi = 1 ]; then
		preds=()
		awk '{$1=0; print}' "$W/dev.svm" >"$W/dev0.svm"
		for ((l = 0; l < L; l++)); do
			awk -v l=$l '{n=split($1,a,","); y=0; for(i=1;i<=n;i++) if(a[i]==l) y=1; $1=y; print}' \
				"$W/train.svm" >"$W/train.$l.svm"
			liblinear-train -q -s 0 -c 1 -B 1 "$W/train.$l.svm" "$W/ll.$l.model" >/dev/null
			liblinear-predict -b 1 "$W/dev0.svm" "$W/ll.$l.model" "$W/ll.$l.pred" >/dev/null
			preds+=("$W/ll.$l.pred")
		done
		tt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
		lm=$(python3 bench/nlp_score.py llml "$W" "${preds[@]}" | summ)
		model=$W/ll.0.model
	else
		awk '{split($1,a,","); $1=a[1]; print}' "$W/train.svm" >"$W/train.1.svm"
		liblinear-train -q -s 0 -c 1 -B 1 "$W/train.1.svm" "$W/ll.model" >/dev/null
		tt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
		awk '{split($1,a,","); $1=a[1]; print}' "$W/dev.svm" >"$W/dev.1.svm"
		liblinear-predict -b 1 "$W/dev.1.svm" "$W/ll.model" "$W/ll.pred" >/dev/null
		lm=$(python3 bench/nlp_score.py ll "$W" "$W/ll.pred" | summ)
		model=$W/ll.model
	fi
	: >"$W/texts.svm"
	for _ in $(seq "$reps"); do awk '{$1=0; print}' "$W/dev.svm" >>"$W/texts.svm"; done
	timed liblinear-predict "$W/texts.svm" "$model" "$W/ll.speed" >/dev/null
	rate=$(awk -v l="$lines" -v t="$T" -v k=$([ $multi = 1 ] && echo "$L" || echo 1) 'BEGIN{printf "%d", l/t/k}')
	echo "| $task | LIBLINEAR | $lm | $tt | $rate* | $M |" >>"$results"
done
cat "$results"
echo
echo "Peers' decisions use thresholds tuned on the same dev data as Haven's (TUNE=1)."
echo "* LIBLINEAR's rate excludes feature extraction (done in Python beforehand); for"
echo "  multi-label tasks it is one binary model's rate divided by the number of labels."

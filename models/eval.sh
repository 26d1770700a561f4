#!/usr/bin/env bash
# eval.sh: prints the dev metrics of every shipped model, as quoted in the model cards.
# Dev data: GoEmotions dev.tsv; for the other tasks the part of the training file that
# models/train.sh held out (--dev-split 0.2 --seed 1, grouped as in training).
# Usage: bash models/eval.sh [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${HAVEN_SHARED_DATA:-../shared/data}
make --no-print-directory -s build/haven
mkdir -p build
ln -sfn "$(cd "$DATA_DIR" && pwd)" build/data
D=build/data
H=build/haven
echo "== emotion"
$H eval "$@" --model models/emotion.hvm --data $D/goemotions/original/dev.tsv --no-header \
	--text-col 1 --label-col 2 --label-sep , --label-names $D/goemotions/original/labels.txt
echo "== sentiment"
$H eval "$@" --model models/sentiment.hvm --data $D/goemotions/group/dev.tsv --no-header \
	--text-col 1 --label-col 2 --label-sep , --label-names $D/goemotions/group/labels.txt
echo "== stress"
$H eval "$@" --model models/stress.hvm --data $D/dreaddit/dreaddit-train.csv --text-col text \
	--label-col label --group-col post_id --dev-split 0.2 --seed 1
echo "== distortion"
$H eval "$@" --model models/distortion.hvm --data $D/cognitive_distortions_shreevastava2021/train.csv \
	--text-col "Patient Question" --label-col "Dominant Distortion" --dev-split 0.2 --seed 1 \
	--binary-negative "No Distortion"
echo "== sdcnl"
$H eval "$@" --model models/sdcnl.hvm --data $D/sdcnl/training-set.csv --text-col title,selftext \
	--label-col is_suicide --dev-split 0.2 --seed 1

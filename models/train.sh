#!/usr/bin/env bash
# train.sh: rebuilds every shipped model in models/ from ../shared/data, deterministically
# (same data + same commands = the same bytes; each command is also written into its model
# file as created_by). Run from anywhere: bash models/train.sh [name ...]
# Uses at most 2 threads; the whole set trains in about a minute on a 2-core machine.
# The data directory is reached through the symlink build/data, so the paths recorded in
# the files do not depend on where the data lives ($HAVEN_SHARED_DATA, default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${HAVEN_SHARED_DATA:-../shared/data}
[ -d "$DATA_DIR" ] || { echo "train.sh: no data directory $DATA_DIR" >&2; exit 1; }
make --no-print-directory -s build/haven
mkdir -p build
ln -sfn "$(cd "$DATA_DIR" && pwd)" build/data
D=build/data
H=build/haven
want() { [ $# -eq 0 ] || [[ " ${ONLY} " == *" $1 "* ]]; }
ONLY="$*"

# emotion: GoEmotions, 28 labels, multi-label; thresholds per label on the official dev.tsv
if [ -z "$ONLY" ] || want emotion; then
$H train --quiet --data $D/goemotions/original/train.tsv --dev $D/goemotions/original/dev.tsv \
	--no-header --text-col 1 --label-col 2 --label-sep , \
	--label-names $D/goemotions/original/labels.txt \
	--buckets 32768 --epochs 12 --threads 2 --seed 1 \
	--name emotion --version 1.0.0 \
	--task "emotion: GoEmotions 27 emotions + neutral, multi-label" \
	--data-desc "GoEmotions (Demszky et al. 2020) train.tsv 43,410 Reddit comments; thresholds and calibration on dev.tsv 5,426" \
	--license "Apache-2.0 (data)" --out models/emotion.hvm
fi

# sentiment: GoEmotions' 4 groups (positive, negative, ambiguous, neutral), multi-label
if [ -z "$ONLY" ] || want sentiment; then
$H train --quiet --data $D/goemotions/group/train.tsv --dev $D/goemotions/group/dev.tsv \
	--no-header --text-col 1 --label-col 2 --label-sep , \
	--label-names $D/goemotions/group/labels.txt \
	--buckets 32768 --epochs 12 --threads 2 --seed 1 \
	--name sentiment --version 1.0.0 \
	--task "sentiment: GoEmotions groups positive/negative/ambiguous/neutral, multi-label" \
	--data-desc "GoEmotions group taxonomy, train.tsv 43,410 Reddit comments; dev.tsv 5,426" \
	--license "Apache-2.0 (data)" --out models/sentiment.hvm
fi

# stress: Dreaddit, 0/1; dev = 20% of train grouped by post_id (seed 1); training rows
# weighted by the square of the annotators' agreement (confidence), dev rows unweighted
if [ -z "$ONLY" ] || want stress; then
$H train --quiet --data $D/dreaddit/dreaddit-train.csv --text-col text --label-col label \
	--group-col post_id --dev-split 0.2 --seed 1 \
	--weight-col confidence --weight-power 2 \
	--buckets 131072 --char-weight 0.2 \
	--name stress --version 1.1.0 --task "stress: Dreaddit stressed (1) vs not (0)" \
	--data-desc "Dreaddit (Turcan & McKeown 2019) dreaddit-train.csv 2,838 Reddit post segments; 80% train / 20% dev grouped by post_id; training rows weighted by annotator agreement squared" \
	--license "unknown (research data)" --out models/stress.hvm
fi

# distortion: 10 cognitive distortions + No Distortion; dev = 20% of train (seed 1)
if [ -z "$ONLY" ] || want distortion; then
$H train --quiet --data $D/cognitive_distortions_shreevastava2021/train.csv \
	--text-col "Patient Question" --label-col "Dominant Distortion" --dev-split 0.2 --seed 1 \
	--buckets 65536 --class-weight balanced \
	--extra-text-col "Distorted part" --extra-text-crop \
	--name distortion --version 1.1.0 \
	--task "cognitive distortion: 10 types + No Distortion, single-label" \
	--data-desc "Shreevastava & Foltz 2021 therapist Q&A, train.csv 2,530 patient questions; 80% train / 20% dev; training rows also as their distorted span (or two sentences of a question without one)" \
	--license "unknown (research data)" --out models/distortion.hvm
fi

# sdcnl: suicidal (1) vs depressed (0) posts; threshold for balanced accuracy
if [ -z "$ONLY" ] || want sdcnl; then
$H train --quiet --data $D/sdcnl/training-set.csv --text-col title,selftext --label-col is_suicide \
	--dev-split 0.2 --seed 1 --threshold balanced --buckets 131072 \
	--name sdcnl --version 1.0.0 \
	--task "SDCNL: suicidal (1, r/SuicideWatch) vs depressed (0, r/depression) posts" \
	--data-desc "SDCNL (Haque et al. 2021) training-set.csv 1,516 Reddit posts, title + selftext; 80% train / 20% dev" \
	--license "unknown (research data)" --out models/sdcnl.hvm
fi
# crisis (long posts and tweets) and crisis_short (short chat messages): their own scripts
if [ -z "$ONLY" ] || want crisis; then
	bash models/train_crisis.sh
fi
if [ -z "$ONLY" ] || want crisis_short; then
	bash models/train_crisis_short.sh
fi
ls -l models/*.hvm

#!/usr/bin/env bash
# train_crisis.sh: rebuilds models/crisis.hvm (the crisis screen's classifier) from
# ../shared/data, deterministically. models/crisis_data.py assembles the labelled table
# (crisis / distress / none) into build/crisis/{train,dev}.tsv, never into the repository;
# then the engine trains a word uni+bigram logistic regression on it. See models/crisis.md.
#   bash models/train_crisis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HAVEN_SHARED_DATA=${HAVEN_SHARED_DATA:-../shared/data}
make --no-print-directory -s build/haven
python3 models/crisis_data.py build/crisis
build/haven train --quiet --data build/crisis/train.tsv --dev build/crisis/dev.tsv \
	--text-col text --label-col label --loss softmax --class-weight balanced \
	--threshold none --minn 0 --maxn 0 --buckets 262144 --threads 2 --seed 1 \
	--name crisis --version 1.0.0 \
	--task "crisis screen classifier: crisis / distress / none (long posts and tweets)" \
	--data-desc "SDCNL, twitter_suicidal_ideation, counsel_chat self-harm (crisis); SDCNL depression, CAMS added posts, Dreaddit stress, IMHI DR yes, counsel_chat distress topics (distress); Dreaddit non-stress, IMHI DR no, counsel_chat other topics, 8,000 GoEmotions comments (none); deduplicated, 80/20 split by text hash (models/crisis_data.py)" \
	--license "unknown / research-only (see models/crisis.md)" \
	--out models/crisis.hvm
build/haven eval --model models/crisis.hvm --data build/crisis/dev.tsv --text-col text \
	--label-col label

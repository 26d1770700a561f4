#!/usr/bin/env bash
# train_crisis_short.sh: rebuilds models/crisis_short.hvm, the crisis screen's classifier for
# short chat messages, deterministically, from the messages written for Haven
# (every set in tests/data/crisis/) and a fixed GoEmotions sample from ../shared/data.
# See models/crisis_short.md.
#   bash models/train_crisis_short.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HAVEN_SHARED_DATA=${HAVEN_SHARED_DATA:-../shared/data}
make --no-print-directory -s build/haven
python3 models/crisis_short_data.py build/crisis_short/train.tsv
build/haven train --quiet --data build/crisis_short/train.tsv --text-col text --label-col label \
	--loss softmax --class-weight none --threshold none --no-calibrate --buckets 262144 \
	--c 16 --threads 1 --seed 1 --name crisis_short --version 1.14.0 \
	--task "crisis screen, short chat messages: crisis_high / crisis / none" \
	--data-desc "short chat messages written for Haven (tests/data/crisis dev, challenge, blind1-15 and train1-36; x3) and 15,000 GoEmotions train comments (none)" \
	--license "Haven's own messages; GoEmotions Apache-2.0" \
	--out models/crisis_short.hvm

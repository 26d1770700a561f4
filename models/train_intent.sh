#!/usr/bin/env bash
# train_intent.sh: rebuilds models/intent.hvm, the support agent's intent classifier, from
# the examples written for Haven in content/intents/intents.tsv. Deterministic: the same
# examples and command give the same bytes (one thread, fixed seed). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory -s build/haven
build/haven train --quiet --data content/intents/intents.tsv --no-header --text-col 1 \
	--label-col 2 --dev-split 0.2 --seed 1 --threads 1 --loss softmax --threshold none \
	--buckets 16384 --epochs 30 --c 16 --char-weight 0.5 \
	--name intent --version 1.0.0 \
	--task "intent: what a chat message asks of the support agent (30 intents, one per text)" \
	--data-desc "content/intents/intents.tsv: examples written for Haven; dev = 20% held out (seed 1), then trained on the rest" \
	--license "Apache-2.0 (written for Haven)" --out models/intent.hvm

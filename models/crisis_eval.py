#!/usr/bin/env python3
"""crisis_eval.py: the whole crisis screen (lexicon + classifier, through `haven analyze`)
on the classifier's held-out dev split of the shared data (build/crisis/dev.tsv, made by
models/train_crisis.sh). A message counts as flagged at level moderate or high; "crisis"
rows are the positives. Prints recall and precision overall and per source.

  python3 models/crisis_eval.py [build/crisis/dev.tsv] [--lexicon-only]
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

csv.field_size_limit(10**9)
args = [a for a in sys.argv[1:] if not a.startswith("--")]
path = args[0] if args else "build/crisis/dev.tsv"
cmd = ["build/haven", "analyze"]
if "--lexicon-only" in sys.argv:
    cmd += ["--models", tempfile.mkdtemp()]  # an empty directory: no models at all
rows = list(csv.DictReader(open(path, encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
out = subprocess.run(cmd, input=("\n".join(r["text"] for r in rows) + "\n").encode(),
                     capture_output=True, check=True).stdout.decode().splitlines()
flag = {"none": 0, "low": 0, "moderate": 1, "high": 1}
per = defaultdict(Counter)
for r, line in zip(rows, out):
    o = json.loads(line)
    pred = flag[o["risk"]["level"]] if "risk" in o else 0
    pos = r["label"] == "crisis"
    for key in ("all", r["source"]):
        per[key]["tp" if pos and pred else "fn" if pos else "fp" if pred else "tn"] += 1
print(f"{'source':14s} {'n':>6s} {'recall':>7s} {'precision':>9s} {'flag rate':>9s}")
for key in ["all"] + sorted(k for k in per if k != "all"):
    c = per[key]
    n = sum(c.values())
    rec = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
    prec = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
    print(f"{key:14s} {n:6d} {rec:7.3f} {prec:9.3f} {(c['tp'] + c['fp']) / n:9.3f}")

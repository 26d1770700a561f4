#!/usr/bin/env python3
"""crisis_short_data.py: assembles the short-message crisis classifier's training table.

The positives and the hard negatives are the chat messages written for Haven in
tests/data/crisis/: the evaluation sets dev, challenge and blind1-15, each run once on the
screen as it stood before it was trained on (blind8 and blind9 since 1.7.0, blind10 and
blind11 since 1.8.0, blind12 to blind15 since 1.9.0), and the training-only sets train1-36
(never used to measure anything but their first run; train13 and train14 since 1.7.0,
train15 and train16 since 1.10.0, train17 to train22 since 1.11.0, train23 to train28
since 1.12.0, train29 to train34 since 1.13.0, train35 and
train36 since 1.14.0). A message expected at
level high is "crisis_high", at moderate "crisis", any other "none". blind16 to blind23
are kept for evaluation only: a training text that also appears in them is left out (a
set not yet written is skipped without error). Added as "none": the everyday turns of the
agent's intent examples (content/intents/intents.tsv) and the everyday answers and places
in models/crisis_short_everyday.txt. All of these are repeated three times so that they
are not outweighed by a fixed sample of 15,000 GoEmotions train comments (seed 3, "none";
10,000 until 1.8.0, 12,000 until 1.11.0) from ../shared/data. Writes one TSV (text, label) to the path given (default
build/crisis_short/train.tsv). Deterministic: the same data gives the same file.
Experiments (models/crisis_short.md): HAVEN_CRISIS_SHORT_HOLDOUT=a.tsv,b.tsv leaves sets
out, HAVEN_CRISIS_SHORT_EXTRA names the training-only sets, HAVEN_CRISIS_SHORT_GOEMOTIONS
the sample size.
"""
import csv
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("HAVEN_SHARED_DATA", os.path.join(HERE, "..", "..", "shared", "data"))
OUT = sys.argv[1] if len(sys.argv) > 1 else "build/crisis_short/train.tsv"
SETS = ["dev.tsv", "challenge.tsv", "blind.tsv", "blind2.tsv", "blind3.tsv", "blind4.tsv",
        "blind5.tsv", "blind6.tsv", "blind7.tsv", "blind8.tsv", "blind9.tsv", "blind10.tsv",
        "blind11.tsv", "blind12.tsv", "blind13.tsv", "blind14.tsv", "blind15.tsv"]
# Training-only sets written for the classifier (never evaluated on), and the sets kept for
# evaluation only: a training text that also appears in one of those is left out.
SETS += [s for s in os.environ.get("HAVEN_CRISIS_SHORT_EXTRA", ",".join(f"train{i}.tsv" for i in range(1, 37))).split(",") if s]
UNSEEN = [f"blind{i}.tsv" for i in range(16, 24)]
# Hold sets out (to measure the classifier on a set it has not seen), e.g.
# HAVEN_CRISIS_SHORT_HOLDOUT=blind5.tsv; the shipped model holds nothing out.
HOLDOUT = set(filter(None, os.environ.get("HAVEN_CRISIS_SHORT_HOLDOUT", "").split(",")))
SETS = [s for s in SETS if s not in HOLDOUT]
# A message expected at level high is "crisis_high", at moderate "crisis", any other "none".
LABEL = {"high": "crisis_high", "moderate": "crisis"}
REPEAT = 3
GOEMOTIONS = int(os.environ.get("HAVEN_CRISIS_SHORT_GOEMOTIONS", "15000"))


def clean(t):
    return " ".join((t or "").replace("\t", " ").split())


def key(t):
    return " ".join("".join(ch for ch in t.lower() if ch.isalnum() or ch == " ").split())


held = set()
for name in UNSEEN:
    path = os.path.join(HERE, "..", "tests", "data", "crisis", name)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            held.update(key(r["text"]) for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
rows = []
for name in SETS:
    path = os.path.join(HERE, "..", "tests", "data", "crisis", name)
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if key(r["text"]) in held:
                continue
            label = LABEL.get(r["level"], "none")
            rows.append((clean(r["text"]), label))
# Everyday turns of a conversation with the agent (the intent examples: greetings, answers,
# requests, "goodbye", "i want to stop"): none of them is a crisis message.
with open(os.path.join(HERE, "..", "content", "intents", "intents.tsv"), encoding="utf-8") as f:
    for line in f:  # text <tab> intent, no header
        text = clean(line.split("\t")[0])
        if text:
            rows.append((text, "none"))
# Everyday answers to the agent's own questions ("tonight after dinner"): a time or an
# ordinary plan is not a crisis by itself.
with open(os.path.join(HERE, "crisis_short_everyday.txt"), encoding="utf-8") as f:
    for line in f:
        text = clean(line)
        if text and not text.startswith("#"):
            rows.append((text, "none"))
rows = rows * REPEAT
go = []
with open(os.path.join(DATA, "goemotions/original/train.tsv"), encoding="utf-8") as f:
    for line in f:
        t = clean(line.split("\t")[0])
        if t:
            go.append(t)
random.Random(3).shuffle(go)
rows += [(t, "none") for t in go[:GOEMOTIONS]]
os.makedirs(os.path.dirname(OUT) or ".", exist_ok=True)
with open(OUT, "w", encoding="utf-8") as f:
    f.write("text\tlabel\n")
    for t, label in rows:
        f.write(f"{t}\t{label}\n")
print(f"{OUT}: {len(rows)} rows ({sum(1 for _, l in rows if l != 'none')} crisis)")

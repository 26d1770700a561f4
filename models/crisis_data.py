#!/usr/bin/env python3
"""crisis_data.py: assembles the crisis classifier's training table from ../shared/data.

Writes train.tsv and dev.tsv (text, label, group, source) into the directory given (default
build/crisis, never inside the repository's tracked files); dev is the 20% of groups whose
hash falls below 0.2. Labels:
  crisis   sdcnl is_suicide=1 (r/SuicideWatch), twitter_suicidal_ideation Sem=1,
           counsel_chat questions on the self-harm topic
  distress sdcnl is_suicide=0 (r/depression), CAMS added posts (causes of depression and
           suicidality, no crisis label of their own), dreaddit label=1, imhi_dr "yes",
           counsel_chat questions on depression, anxiety, trauma, grief, self-esteem,
           stress, sleep and eating topics
  none     dreaddit label=0, imhi_dr "no", counsel_chat other topics, a fixed sample of
           GoEmotions train comments
The CAMS IntentSDCNL files re-annotate the SDCNL posts and are left out (they would put the
same post on both sides of the split). Duplicate texts are dropped; the group column is a
hash of the normalised first 200 characters, so near-copies stay on one side of a split.
Deterministic: the same data gives the same file.
"""
import csv
import hashlib
import os
import random
import re
import sys

csv.field_size_limit(10**8)
DATA = os.environ.get("HAVEN_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
OUT = sys.argv[1] if len(sys.argv) > 1 else "build/crisis"

DISTRESS_TOPICS = {"depression", "anxiety", "trauma", "grief-and-loss", "self-esteem", "stress",
                   "sleep-improvement", "eating-disorders"}


def clean(t):
    t = (t or "").replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return re.sub(r"\s+", " ", t).strip()


def key(t):
    return re.sub(r"[^a-z0-9]+", "", t.lower())[:200]


rows, seen = [], set()


def add(text, label, source):
    text = clean(text)
    if len(text) < 3:
        return
    k = key(text)
    if not k or k in seen:
        return
    seen.add(k)
    group = hashlib.sha1(k.encode()).hexdigest()[:12]
    rows.append((text, label, group, source))


def read(path, **kw):
    with open(os.path.join(DATA, path), newline="", encoding="utf-8", errors="replace") as f:
        return list(csv.DictReader(f, **kw))


for r in read("sdcnl/training-set.csv"):
    add((r["title"] or "") + ". " + (r["selftext"] or ""), "crisis" if r["is_suicide"] == "1" else "distress", "sdcnl")
for r in read("twitter_suicidal_ideation/Suicide_Ideation_Dataset(Twitter-based).csv"):
    add(r["Text"], "crisis" if r["Sem"].strip() == "1" else "none", "twitter")
for r in read("cams/added_CAMS_data.csv"):
    add(r["selftext"], "distress", "cams")
for r in read("dreaddit/dreaddit-train.csv"):
    add(r["text"], "distress" if r["label"] == "1" else "none", "dreaddit")
for f in ("imhi_dr/train.csv", "imhi_dr/valid.csv"):
    for r in read(f):
        add(r["text"], "distress" if r["label"].strip().lower() == "yes" else "none", "imhi_dr")
questions = {}
for r in read("counsel_chat/20200325_counsel_chat.csv"):
    questions.setdefault(r["questionID"], r)
for q in questions.values():
    topic = q["topic"]
    label = "crisis" if topic == "self-harm" else "distress" if topic in DISTRESS_TOPICS else "none"
    add((q["questionTitle"] or "") + ". " + (q["questionText"] or ""), label, "counsel_chat")
go = []
with open(os.path.join(DATA, "goemotions/original/train.tsv"), encoding="utf-8") as f:
    for line in f:
        go.append(line.split("\t")[0])
random.Random(1).shuffle(go)
for t in go[:8000]:
    add(t, "none", "goemotions")

os.makedirs(OUT, exist_ok=True)
split = {"train": [], "dev": []}
for r in rows:
    split["dev" if int(r[2][:8], 16) / 0x100000000 < 0.2 else "train"].append(r)
from collections import Counter
for name, part in split.items():
    with open(os.path.join(OUT, name + ".tsv"), "w", encoding="utf-8", newline="") as f:
        f.write("text\tlabel\tgroup\tsource\n")
        for r in part:
            f.write("\t".join(r) + "\n")
    print(name, len(part), dict(Counter(r[1] for r in part)), file=sys.stderr)

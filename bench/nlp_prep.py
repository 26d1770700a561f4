#!/usr/bin/env python3
"""nlp_prep.py: writes the train/dev files of one task for the peers in bench/nlp_compare.sh.

The split is Haven's own (`--dev-split F --seed S`): a row is dev when FNV-1a-64 over the
seed's 8 little-endian bytes and then the group key (or the text) maps below F. Outputs, in
OUT: train.ft/dev.ft (fastText), train.svm/dev.svm (LIBLINEAR, TF-IDF word uni+bigrams,
L2-normalised, vocabulary from train), labels.txt, dev.gold (label indices per row, space
separated), dev.txt (one text per line).
usage: nlp_prep.py TASK DATA_DIR OUT
"""
import csv, math, os, re, sys
from collections import Counter

csv.field_size_limit(1 << 30)
MASK = (1 << 64) - 1


def fnv(h, data):
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & MASK
    return h


def is_dev(key, frac, seed):
    h = fnv(0xCBF29CE484222325, seed.to_bytes(8, "little"))
    h = fnv(h, key.encode("utf-8"))
    return (h >> 11) / 9007199254740992.0 < frac


def read_goemotions(d, taxonomy):
    names = [l.strip() for l in open(f"{d}/goemotions/{taxonomy}/labels.txt") if l.strip()]
    out = {}
    for split in ("train", "dev"):
        rows = []
        with open(f"{d}/goemotions/{taxonomy}/{split}.tsv", encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 2 or not parts[0]:
                    continue
                rows.append((parts[0], [names[int(x)] for x in parts[1].split(",") if x.strip()]))
        out[split] = rows
    return names, out["train"], out["dev"]


def read_csv_split(path, text_cols, label_col, group_col, frac=0.2, seed=1):
    train, dev = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = "\n".join(row[c] for c in text_cols if row.get(c))
            label = (row.get(label_col) or "").strip()
            if not text or not label:
                continue
            key = row[group_col] if group_col else text
            (dev if is_dev(key, frac, seed) else train).append((text, [label]))
    names = sorted({l for _, ls in train + dev for l in ls})
    return names, train, dev


def load(task, d):
    if task == "emotion":
        return read_goemotions(d, "original")
    if task == "sentiment":
        return read_goemotions(d, "group")
    if task == "stress":
        return read_csv_split(f"{d}/dreaddit/dreaddit-train.csv", ["text"], "label", "post_id")
    if task == "distortion":
        return read_csv_split(f"{d}/cognitive_distortions_shreevastava2021/train.csv",
                              ["Patient Question"], "Dominant Distortion", None)
    if task == "sdcnl":
        return read_csv_split(f"{d}/sdcnl/training-set.csv", ["title", "selftext"],
                              "is_suicide", None)
    raise SystemExit(f"unknown task {task}")


TOKEN = re.compile(r"\w+|[^\w\s]")


def feats(text):
    t = TOKEN.findall(text.lower())
    return t + [a + " " + b for a, b in zip(t, t[1:])]


def main():
    task, d, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    names, train, dev = load(task, d)
    idx = {n: i for i, n in enumerate(names)}
    with open(f"{out}/labels.txt", "w") as f:
        f.write("\n".join(names) + "\n")
    flat = lambda s: " ".join(s.split())
    for split, rows in (("train", train), ("dev", dev)):
        with open(f"{out}/{split}.ft", "w", encoding="utf-8") as f:
            for text, labels in rows:
                f.write(" ".join("__label__" + l.replace(" ", "_") for l in labels) + " " + flat(text) + "\n")
    with open(f"{out}/dev.txt", "w", encoding="utf-8") as f:
        for text, _ in dev:
            f.write(flat(text) + "\n")
    with open(f"{out}/dev.gold", "w") as f:
        for _, labels in dev:
            f.write(" ".join(str(idx[l]) for l in labels) + "\n")
    df = Counter()
    for text, _ in train:
        df.update(set(feats(text)))
    vocab = {w: i + 1 for i, w in enumerate(sorted(w for w, c in df.items() if c >= 2))}
    n = len(train)
    idf = {w: math.log((1 + n) / (1 + df[w])) + 1 for w in vocab}
    for split, rows in (("train", train), ("dev", dev)):
        with open(f"{out}/{split}.svm", "w") as f:
            for text, labels in rows:
                c = Counter(w for w in feats(text) if w in vocab)
                v = {vocab[w]: (1 + math.log(k)) * idf[w] for w, k in c.items()}
                norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
                f.write(",".join(str(idx[l]) for l in labels) + " " +
                        " ".join(f"{i}:{v[i] / norm:.6g}" for i in sorted(v)) + "\n")
    print(f"{task}: {len(train)} train, {len(dev)} dev, {len(names)} labels, {len(vocab)} features")


if __name__ == "__main__":
    main()

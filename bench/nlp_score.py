#!/usr/bin/env python3
"""nlp_score.py: scores a peer's dev predictions for bench/nlp_compare.sh and prints one
JSON object with the same metrics `haven eval --json` gives (macro/micro F1, accuracy,
balanced accuracy, binary F1 of the second label).
usage: nlp_score.py ft DIR PRED          fastText `predict-prob` output (k -1, threshold)
       nlp_score.py ll DIR PRED          LIBLINEAR `-b 1` output, one multi-class model
       nlp_score.py llml DIR PRED0 ...   LIBLINEAR `-b 1` outputs, one binary model per label
"""
import json, sys


def metrics(gold, pred, L, multi):
    tp = [0] * L; fp = [0] * L; fn = [0] * L
    exact = 0
    for g, p in zip(gold, pred):
        exact += g == p
        for l in range(L):
            if l in g and l in p: tp[l] += 1
            elif l in p: fp[l] += 1
            elif l in g: fn[l] += 1
    f1 = [2 * tp[l] / (2 * tp[l] + fp[l] + fn[l]) if tp[l] + fp[l] + fn[l] else 0 for l in range(L)]
    rec = [tp[l] / (tp[l] + fn[l]) for l in range(L) if tp[l] + fn[l]]
    T, F, N = sum(tp), sum(fp), sum(fn)
    m = {"n": len(gold), "accuracy": exact / len(gold), "macro_f1": sum(f1) / L,
         "micro_f1": 2 * T / (2 * T + F + N) if T + F + N else 0,
         "balanced_accuracy": sum(rec) / len(rec) if rec else 0}
    if L == 2 and not multi:
        m["f1_positive"] = f1[1]
    return m


def main():
    kind, d = sys.argv[1], sys.argv[2]
    names = [l.rstrip("\n") for l in open(f"{d}/labels.txt") if l.strip()]
    L = len(names)
    gold = [set(int(x) for x in l.split()) for l in open(f"{d}/dev.gold")]
    multi = any(len(g) > 1 for g in gold) or kind == "llml"
    pred = []
    if kind == "ft":
        idx = {"__label__" + n.replace(" ", "_"): i for i, n in enumerate(names)}
        for line in open(sys.argv[3]):
            t = line.split()
            labs = [(idx[t[i]], float(t[i + 1])) for i in range(0, len(t) - 1, 2) if t[i] in idx]
            if multi:
                p = {l for l, s in labs if s >= 0.5} or ({max(labs, key=lambda x: x[1])[0]} if labs else set())
            else:
                p = {max(labs, key=lambda x: x[1])[0]} if labs else set()
            pred.append(p)
    elif kind == "ll":
        for line in list(open(sys.argv[3]))[1:]:
            pred.append({int(line.split()[0])})
    else:
        cols = []
        for path in sys.argv[3:]:
            rows = list(open(path))
            hdr = rows[0].split()[1:]
            pos = hdr.index("1")
            cols.append([float(r.split()[1 + pos]) for r in rows[1:]])
        for i in range(len(gold)):
            ps = [c[i] for c in cols]
            p = {l for l in range(L) if ps[l] >= 0.5} or {max(range(L), key=lambda l: ps[l])}
            pred.append(p)
    print(json.dumps(metrics(gold, pred, L, multi)))


if __name__ == "__main__":
    main()

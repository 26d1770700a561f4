#!/usr/bin/env python3
"""nlp_score.py: scores a peer's dev predictions for bench/nlp_compare.sh and prints one
JSON object with the same metrics `haven eval --json` gives (macro/micro F1, accuracy,
balanced accuracy, binary F1 of the second label). With TUNE=1 (default) decisions use
thresholds chosen on the same dev data exactly as Haven chooses its own (per label for
multi-label, on p(second label) for binary tasks; GOAL=f1|balanced); TUNE=0 uses the
peers' defaults (argmax, or 0.5 for multi-label).
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


def best_threshold(ps, ys, goal):
    """Threshold on ps maximising F1 (or balanced accuracy) of ys, as Haven tunes on dev."""
    pos = sum(ys)
    if pos in (0, len(ys)):
        return 0.5
    order = sorted(zip(ps, ys), key=lambda x: -x[0])
    best, best_t, tp = -1, 0.5, 0
    for k, (p, y) in enumerate(order, 1):
        tp += y
        if k < len(order) and order[k][0] == p:
            continue
        if goal == "balanced":
            sc = 0.5 * (tp / pos + (len(ys) - k - (pos - tp)) / (len(ys) - pos))
        else:
            sc = 2 * tp / (k + pos)
        if sc > best:
            nxt = order[k][0] if k < len(order) else p / 2
            best, best_t = sc, (p + nxt) / 2
    return best_t


def decide(P, L, multi, goal):
    if multi:
        th = [best_threshold([r[l] for r in P], [int(l in g) for g in GOLD], goal) for l in range(L)]
        return [{l for l in range(L) if r[l] >= th[l]} or {max(range(L), key=lambda l: r[l])} for r in P]
    if L == 2:
        t = best_threshold([r[1] for r in P], [int(1 in g) for g in GOLD], goal)
        return [{1} if r[1] >= t else {0} for r in P]
    return [{max(range(L), key=lambda l: r[l])} for r in P]


def main():
    kind, d = sys.argv[1], sys.argv[2]
    names = [l.rstrip("\n") for l in open(f"{d}/labels.txt") if l.strip()]
    L = len(names)
    gold = [set(int(x) for x in l.split()) for l in open(f"{d}/dev.gold")]
    global GOLD
    GOLD = gold
    import os
    goal = os.environ.get("GOAL", "f1")
    tune = os.environ.get("TUNE", "1") == "1"
    P = []
    multi = any(len(g) > 1 for g in gold) or kind == "llml"
    pred = []
    if kind == "ft":
        idx = {"__label__" + n.replace(" ", "_"): i for i, n in enumerate(names)}
        for line in open(sys.argv[3]):
            t = line.split()
            labs = [(idx[t[i]], float(t[i + 1])) for i in range(0, len(t) - 1, 2) if t[i] in idx]
            row = [0.0] * L
            for l, sc in labs:
                row[l] = sc
            P.append(row)
            if multi:
                p = {l for l, s in labs if s >= 0.5} or ({max(labs, key=lambda x: x[1])[0]} if labs else set())
            else:
                p = {max(labs, key=lambda x: x[1])[0]} if labs else set()
            pred.append(p)
    elif kind == "ll":
        rows = list(open(sys.argv[3]))
        hdr = [int(x) for x in rows[0].split()[1:]]
        for line in rows[1:]:
            pred.append({int(line.split()[0])})
            v = [float(x) for x in line.split()[1:]]
            row = [0.0] * L
            for k, l in enumerate(hdr):
                row[l] = v[k]
            P.append(row)
    else:
        cols = []
        for path in sys.argv[3:]:
            rows = list(open(path))
            hdr = rows[0].split()[1:]
            pos = hdr.index("1")
            cols.append([float(r.split()[1 + pos]) for r in rows[1:]])
        for i in range(len(gold)):
            ps = [c[i] for c in cols]
            P.append(ps)
            p = {l for l in range(L) if ps[l] >= 0.5} or {max(range(L), key=lambda l: ps[l])}
            pred.append(p)
    if tune:
        pred = decide(P, L, multi, goal)
    print(json.dumps(metrics(gold, pred, L, multi)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""gen_probe_golden.py: goldens for probe-fit / probe-eval from scikit-learn.

Run with Debian's python3 (python3-sklearn 1.2, python3-numpy) from the
repository root:

    /usr/bin/python3 tests/oracles/gen_probe_golden.py

Writes tests/golden/probes/:

  synthetic.json.zst   cases of synthetic float32 features with POS-like tags
                       (several seeds, class imbalance, a tag absent from
                       training, a tag only in the test set, a binary case,
                       tiny sets, features in the thousands, tag merging, the empty tag
                       dropped).  Each
                       case holds the tags (train and test) and the integer
                       recipe of its features (make_features: splitmix64
                       integers scaled by a power of two, so the C test makes
                       bit-identical float32 values without storing them),
                       which the C test turns into activations streams, and per probe
                       scikit-learn's classes, coef / intercept (in probe-fit's
                       K x (d+1) layout: binary problems as row 0 = 0, row 1 =
                       coef), its test predictions and
                       classification_report(output_dict=True, zero_division=1)
                       on those predictions.
  reports.json.zst     classification_report dicts for fixed (y_true, y_pred)
                       label lists: the report arithmetic alone.
  compare_a.json, compare_b.json, compare_ab.tsv, compare_study_q_k.tsv
                       probe-compare's expected rows (--tsv) for two small grids
                       (nulls, ties, a tag on one side) and for the study's
                       results_queries.json vs results_keys.json (needs
                       `make data`), with scipy's spearmanr.
  randmodel.json.zst   the same for features from a random test model
                       (bin/model-init + bin/forward-dump over tagged streams
                       written by the C test itself: `test_probes
                       --write-randmodel-input DIR`); needs `make` first.
  randmodel64.json.zst the same for one 64-dim head (GPT-2 small's head
                       size) of a random GPT-Neo on real POS tags: 50 + 30
                       mirror stories through tokenize | postag-join --align
                       study (`test_probes --write-randmodel64-input DIR`);
                       needs `make` and `make data` first.

The fits use the float32 features converted to float64 (the exact optimum
of the same data), LogisticRegression(solver='newton-cg', max_iter=100,
C=1.0), multi_class auto (multinomial for > 2 classes, binary for 2).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(TOP, "tests", "golden", "probes")

PTB = ["", "''", ",", ".", ":", "CC", "CD", "DT", "EX", "FW", "IN", "JJ", "JJR", "JJS",
       "MD", "NN", "NNP", "NNPS", "NNS", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS",
       "RP", "TO", "UH", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WRB", "``"]


def fit(X, y):
    """sklearn fit on float64 features; returns dict in probe-fit's layout."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression(solver="newton-cg", max_iter=100).fit(X.astype(np.float64), y)
    classes = [str(c) for c in m.classes_]
    if len(classes) == 2:
        W = np.vstack([np.zeros(X.shape[1] + 1),
                       np.hstack([m.coef_[0], m.intercept_])])
    else:
        W = np.hstack([m.coef_, m.intercept_[:, None]])
    return m, classes, W


def report(y_true, y_pred):
    return classification_report(y_true, y_pred, output_dict=True, zero_division=1)


M64 = (1 << 64) - 1


class SplitMix64:
    """splitmix64, the same sequence as the C test's generator."""
    def __init__(self, seed):
        self.s = seed & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)


def make_features(seed, tag_idx, mean_int, sd_k, shift):
    """Features exactly as the C test makes them: for token i, probe p,
    dimension a: x = (mean_int[t][p][a] + sd_k[p][a] * (u1+u2+u3+u4-510)) *
    2^-shift with u = next() >> 56: integers, then one exact scaling, so
    float32 values are bit-identical in C and here."""
    g = SplitMix64(seed)
    n = len(tag_idx)
    P, d = len(sd_k), len(sd_k[0])
    X = np.empty((n, P, d), dtype=np.float32)
    for i, t in enumerate(tag_idx):
        for p in range(P):
            for a in range(d):
                noise = sum(g.next() >> 56 for _ in range(4)) - 510
                X[i, p, a] = np.float32((mean_int[t][p][a] + sd_k[p][a] * noise) * 2.0 ** -shift)
    return X


def case(name, seed, n_train, n_test, tags, n_head=1, d=4, shift=8, alpha=0.7,
         train_only=(), test_only=(), merge=None, drop_empty=False, zipf=None, dim_scale=None):
    rng = np.random.default_rng(seed)
    if zipf is None:
        pri = rng.dirichlet(np.ones(len(tags)) * alpha)
    else:
        # Zipf-like tag frequencies (POS tags: a few very common, a long
        # tail): p ~ 1 / rank^zipf, ranks in a random order
        pri = 1.0 / (1.0 + rng.permutation(len(tags))) ** zipf
        pri /= pri.sum()
    def draw(n, exclude):
        p = pri.copy()
        for t in exclude:
            p[tags.index(t)] = 0
        p /= p.sum()
        return [int(i) for i in rng.choice(len(tags), size=n, p=p)]
    tr = draw(n_train, test_only)
    te = draw(n_test, train_only)
    # every (non-excluded) tag at least once in training
    for i, t in enumerate(t for t in tags if t not in test_only):
        if i < n_train:
            tr[i] = tags.index(t)
    for t in test_only:
        if n_test:
            te[int(rng.integers(n_test))] = tags.index(t)
    P = n_head * 2
    mean_int = [[[int(v) for v in rng.normal(0, 1.5 * 296, d)] for _ in range(P)] for _ in tags]
    sd_k = [[int(v) for v in rng.integers(1, 5, d)] for _ in range(P)]
    if dim_scale:
        # badly scaled features: dimension a's integers times dim_scale[a]
        # (still exact in float32 after the 2^-shift scaling)
        mean_int = [[[v * dim_scale[a] for a, v in enumerate(m)] for m in mp] for mp in mean_int]
        sd_k = [[v * dim_scale[a] for a, v in enumerate(sp)] for sp in sd_k]
    Xall = make_features(seed, tr + te, mean_int, sd_k, shift)
    Xtr, Xte = Xall[:n_train], Xall[n_train:]

    def mapped(ilist):
        out, keep = [], []
        for i in ilist:
            t = tags[i]
            if merge:
                pat, to = merge.split("=")
                if (pat.endswith("*") and t.startswith(pat[:-1])) or t == pat:
                    t = to
            if drop_empty and t == "":
                keep.append(False)
                continue
            keep.append(True)
            out.append(t)
        return out, np.array(keep, dtype=bool)

    ytr, ktr = mapped(tr)
    yte, kte = mapped(te)
    args = []
    if merge:
        args += ["--merge", merge]
    if drop_empty:
        args += ["--drop-empty"]
    probes = []
    for h in range(n_head):
        for vi, vec in enumerate("kq"):
            p = h * 2 + vi
            m, classes, W = fit(Xtr[ktr, p, :], np.array(ytr, dtype=object))
            pred = [str(c) for c in m.predict(Xte[kte, p, :].astype(np.float64))] if len(yte) else []
            probes.append({
                "layer": 0, "head": h, "vec": vec, "classes": classes,
                "W": [float(v) for v in W.ravel()], "n_iter": int(m.n_iter_[0]),
                "pred": [classes.index(c) for c in pred],
                "report": report(yte, pred) if len(yte) else None,
            })
    # probe-eval --json k=FILE's exact text, as the study wrote its files:
    # json.dump(grid, indent=4) with supports as floats (the study's files
    # have 5099.0; sklearn 1.2 returns ints)
    def floated(rep):
        out = {}
        for k, v in rep.items():
            out[k] = v if not isinstance(v, dict) else {a: (float(b) if a == "support" else b) for a, b in v.items()}
        return out
    json_k = None
    if len(yte):
        json_k = json.dumps([[floated(p["report"]) for p in probes if p["vec"] == "k"]], indent=4)
    return {
        "json_k": json_k,
        "name": name, "seed": seed, "d": d, "n_head": n_head, "shift": shift, "args": args,
        "tags": tags, "train": tr, "test": te, "mean_int": mean_int, "sd_k": sd_k,
        "probes": probes,
    }


def synthetic():
    common = ["", "''", ",", "CC", "DT", "IN", "JJ", "NN", "NNP", "PRP", "PRP$", "RB",
              "VB", "VBD", "VBZ", "``"]
    cases = [
        case("imbalanced-s1", 1, 3000, 800, common, n_head=2),
        case("imbalanced-s2", 2, 2500, 700, common[:10], n_head=1, alpha=0.3),
        case("many-tags-s3", 3, 6000, 1500, PTB, n_head=1, alpha=1.0),
        case("absent-from-train", 4, 1500, 600, common + ["FW"], test_only=("FW",)),
        case("train-only-tag", 5, 1500, 500, common, train_only=("RB",)),
        case("binary", 6, 800, 300, ["NN", "VBD"]),
        case("binary-imbalanced", 7, 600, 200, ["''", "DT"], alpha=0.2),
        case("tiny", 8, 5, 4, ["DT", "NN", "VB"]),
        case("tiny-2", 9, 3, 3, ["NN", "VB"]),
        case("scaled", 10, 2000, 500, common[:8], shift=5),
        # features in the thousands: x^2 dwarfs the intercept's curvature,
        # probe-fit's Hessian switches to double (sklearn needs 59-71 iterations)
        case("large-scale", 13, 1500, 500, ["DT", "NN", "VB", "VBD", "PRP", "IN"], shift=0),
        case("merge-vb", 11, 2500, 800, ["DT", "NN", "VB", "VBD", "VBG", "VBN", "VBZ", "PRP"],
             merge="VB*=VB"),
        case("drop-empty", 12, 2000, 600, common, drop_empty=True),
    ]
    return {"cases": cases}


def large():
    """Training sets large enough (> 8,192 tokens with <= 40 classes, d = 4)
    that probe-fit sums its Hessian over every m-th sample only (m = 4-5
    here): 39 and 30 PTB-like tags with Zipf-like frequencies and
    overlapping class means; the second with badly scaled dimensions
    (spreads ~5, ~160, ~1.3, ~5)."""
    cases = [
        case("large-zipf-39", 21, 24000, 6000, PTB, zipf=1.5),
        case("large-zipf-30-badscale", 22, 20000, 5000, PTB[:30], zipf=1.0, shift=10,
             dim_scale=[4, 128, 1, 4]),
    ]
    for c in cases:
        for p in c["probes"]:
            print("  %s %s: %d classes, sklearn n_iter %d" % (c["name"], p["vec"], len(p["classes"]), p["n_iter"]))
    return {"cases": cases}


def reports():
    rng = np.random.default_rng(99)
    out = []
    specs = [("multiclass", 500, PTB, PTB), ("pred-only", 200, ["NN", "DT", "IN"], ["NN", "DT", "IN", "VB"]),
             ("true-only", 200, ["NN", "DT", "IN", "UH"], ["NN", "DT"]), ("binary", 100, ["A", "B"], ["A", "B"]),
             ("one-label", 10, ["NN"], ["NN"]), ("one-sample", 1, ["NN"], ["VB"]),
             ("large", 3000, PTB, PTB[:30])]
    for name, n, tl, pl in specs:
        yt = [tl[i] for i in rng.integers(len(tl), size=n)]
        yp = [t if rng.random() < 0.4 and t in pl else pl[rng.integers(len(pl))] for t in yt]
        out.append({"name": name, "y_true": yt, "y_pred": yp, "report": report(yt, yp)})
    return {"cases": out}


def randmodel(flag="--write-randmodel-input"):
    """Features of a random test model, read back through stream-view.
    flag: the test helper's option that writes the inputs
    (--write-randmodel64-input: real POS tags of mirror stories, one 64-dim
    head; needs `make data` too)."""
    tb = os.path.join(TOP, "build", "release", "tests", "test_probes")
    for exe in (tb, os.path.join(TOP, "bin", "model-init"), os.path.join(TOP, "bin", "forward-dump")):
        if not os.path.exists(exe):
            sys.exit("gen_probe_golden.py: %s missing; run make and make check first" % exe)
    env = dict(os.environ, TOP=TOP, BIN=os.path.join(TOP, "bin"), DATA=os.path.join(TOP, "data", "cache"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([tb, flag, tmp], check=True, env=env)
        spec = json.load(open(os.path.join(tmp, "spec.json")))
        data = {}
        for split in ("train", "test"):
            csv = subprocess.run([os.path.join(TOP, "bin", "stream-view"), "--csv",
                                  os.path.join(tmp, split + ".acts")],
                                 check=True, capture_output=True, encoding="latin-1").stdout
            import csv as csvmod
            rows = list(csvmod.reader(csv.splitlines()))
            data[split] = rows
        probes = []
        d = spec["d"]

        def feats(rows, layer, head, vec):
            names = rows[0]
            cols = [names.index("L%dH%d%s%d" % (layer, head, vec, i)) for i in range(d)]
            return np.array([[float(r[c]) for c in cols] for r in rows[1:]], dtype=np.float32)
        ytr = [r[rows_tag(data["train"])] for r in data["train"][1:]]
        yte = [r[rows_tag(data["test"])] for r in data["test"][1:]]
        for p, (layer, head, vec) in enumerate(spec["probes"]):
            Xtr = feats(data["train"], layer, head, vec)
            Xte = feats(data["test"], layer, head, vec)
            t0 = time.process_time()
            m, classes, W = fit(Xtr, np.array(ytr, dtype=object))
            print("  L%dH%d%s: %d tokens, %d classes, sklearn n_iter %d, %.1f CPU s" % (
                layer, head, vec, len(ytr), len(classes), m.n_iter_[0], time.process_time() - t0))
            pred = [str(c) for c in m.predict(Xte.astype(np.float64))]
            probes.append({"layer": layer, "head": head, "vec": vec, "classes": classes,
                           "W": [float(v) for v in W.ravel()], "n_iter": int(m.n_iter_[0]),
                           "pred": [classes.index(c) for c in pred], "report": report(yte, pred)})
        return {"spec": spec, "probes": probes}


def compare_rows(A, B, min_support=1):
    """probe-compare --tsv's rows, computed independently (scipy's spearmanr)."""
    from scipy.stats import spearmanr
    NL, NH = min(len(A), len(B)), min(max(len(r) for r in A), max(len(r) for r in B))
    def cell(G, l, h):
        return G[l][h] if l < len(G) and h < len(G[l]) else None
    common = [(l, h) for l in range(NL) for h in range(NH)
              if cell(A, l, h) is not None and cell(B, l, h) is not None]
    avg = ["accuracy", "macro avg", "weighted avg"]
    keys = sorted({k for l, h in common for G in (A, B) for k in cell(G, l, h) if k not in avg})
    out = []
    for key in keys + avg:
        def f1(c):
            v = c.get(key)
            if v is None:
                return None
            return v if isinstance(v, (int, float)) else v["f1-score"]
        def sup(G):
            for l, h in common:
                c = cell(G, l, h)
                k = "macro avg" if key in avg else key
                if k in c:
                    return float(c[k]["support"])
            return float("nan")
        fa, fb, at = [], [], []
        for l, h in common:
            a, b = f1(cell(A, l, h)), f1(cell(B, l, h))
            if a is None or b is None:
                continue
            fa.append(a); fb.append(b); at.append((l, h))
        if not fa:
            continue
        sa, sb = sup(A), sup(B)
        if key not in avg and not (sa >= min_support and sb >= min_support):
            continue
        ia = max(range(len(fa)), key=lambda i: (fa[i], -i))
        ib = max(range(len(fb)), key=lambda i: (fb[i], -i))
        d = [abs(x - y) for x, y in zip(fa, fb)]
        im = max(range(len(d)), key=lambda i: (d[i], -i))
        if len(fa) < 2 or len(set(fa)) == 1 or len(set(fb)) == 1:
            rho = "-"
        else:
            rho = repr(float(spearmanr(fa, fb).correlation))
        L = lambda lh: "L%dH%d" % lh
        out.append([key, repr(sa), repr(sb), L(at[ia]), repr(fa[ia]), L(at[ib]), repr(fb[ib]),
                    "yes" if ia == ib else "no", str(1 + sum(x > fa[ib] for x in fa)),
                    repr(sum(d) / len(d)), repr(d[im]), L(at[im]), rho, str(len(fa))])
    return out


def compare():
    """Two small report grids with nulls, ties and a tag on one side only,
    plus the study's own queries-vs-keys comparison."""
    rng = np.random.default_rng(5)
    tags = ["", "''", "CC", "DT", "NN", "VBD", "``"]
    def grid(extra):
        G = []
        for l in range(3):
            row = []
            for h in range(4):
                if (l, h) == (1, 2):
                    row.append(None)
                    continue
                c = {}
                for t in tags + extra:
                    f = float(rng.choice([0.0, 0.5, round(rng.random(), 3)]))
                    c[t] = {"precision": f, "recall": f, "f1-score": f, "support": float(1 + tags.index(t) if t in tags else 3)}
                c["accuracy"] = float(rng.random())
                for a in ("macro avg", "weighted avg"):
                    c[a] = {"precision": 0.5, "recall": 0.5, "f1-score": float(rng.random()), "support": 28.0}
                row.append(c)
            G.append(row)
        return G
    A, B = grid(["UH"]), grid([])
    os.makedirs(OUT, exist_ok=True)
    for name, G in (("compare_a.json", A), ("compare_b.json", B)):
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(G, f, indent=4)
    with open(os.path.join(OUT, "compare_ab.tsv"), "w") as f:
        for r in compare_rows(A, B):
            f.write("\t".join(r) + "\n")
    study = os.path.join(TOP, "data", "cache", "study")
    Q = json.load(open(os.path.join(study, "results_queries.json")))
    K = json.load(open(os.path.join(study, "results_keys.json")))
    with open(os.path.join(OUT, "compare_study_q_k.tsv"), "w") as f:
        for r in compare_rows(Q, K):
            f.write("\t".join(r) + "\n")
    print("wrote compare goldens")


def rows_tag(rows):
    return rows[0].index("tag")


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    raw = json.dumps(obj, indent=None, separators=(",", ":")).encode()
    path = os.path.join(OUT, name)
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", path], input=raw, check=True)
    print("wrote", path, len(raw), "bytes raw,", os.path.getsize(path), "compressed")


if __name__ == "__main__":
    what = sys.argv[1:] or ["synthetic", "large", "reports", "randmodel", "randmodel64", "compare"]
    if "compare" in what:
        compare()
    if "synthetic" in what:
        write("synthetic.json.zst", synthetic())
    if "large" in what:
        write("large.json.zst", large())
    if "reports" in what:
        write("reports.json.zst", reports())
    if "randmodel" in what:
        write("randmodel.json.zst", randmodel())
    if "randmodel64" in what:
        write("randmodel64.json.zst", randmodel("--write-randmodel64-input"))

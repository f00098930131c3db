#!/usr/bin/python3
"""gen_figures_golden.py MODEL_DIR OUTDIR: goldens for activity and attn-slice.
gen_figures_golden.py --long MODEL_DIR OUTDIR: the long-story case (below).

Builds two tagged toy stories (random token ids from numpy RandomState(21),
words and POS tags drawn from a small list, including the empty tag and the
study's quote tags), writes them as stream-import TSV (OUTDIR/input.tsv), runs
the independent NumPy reference forward (ref_gptneo.py, float64) on each and
writes, in the exact row order of the tools' output:

  activity.tsv     story pos layer head activity      (every layer and head)
  attn.tsv         story layer head query key attention visible
                   (every head, every query, keys 0..query: rows mode of
                   `attn-slice --heads all` with no --window/--query)
  from-PRPS.tsv    layer head tag mean_attention pairs attention_sum tokens
  to-NN.tsv        (the aggregates over both stories, every head)

--long (a model with TinyStories-1M's shape: window 256, layer 1 local):
one story of 300 random tokens (RandomState(22)), written as long-input.tsv;
long-attn.tsv holds the rows of queries 250..299, keys 0..query, of heads
L1H3 (local: keys i-j >= 256 masked) and L0H5 (global), as
`attn-slice --heads L1H3,L0H5 --query 250-299 --window 0:300` filtered to
key <= query; long-activity.tsv the activity of L1H3 at every token.

Attention is taken from the reference's own softmax (ref_gptneo.forward's
attn_of), not recomputed here, so the masks are the reference's.
"""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ref_gptneo  # noqa: E402

WORDS = [("the", "DT"), ("dog", "NN"), ("his", "PRP$"), ("her", "PRP$"), ("ran", "VBD"),
         ("said", "VBD"), ("and", "CC"), ("but", "CC"), ("\"", "``"), ("\"", "''"),
         (".", ""), (",", ""), ("ball", "NN"), ("happy", "JJ"), ("she", "PRP"), ("to", "TO"),
         ("play", "VB"), ("in", "IN"), ("park", "NN"), ("Tom", "NNP")]
LENGTHS = {3: 40, 8: 29}   # story index -> tokens


def tagfield(t):
    return t if t else "(none)"


def main_long(mdir, out):
    model = ref_gptneo.load_model(mdir)
    cfg = model[0]
    V, win = cfg["vocab_size"], cfg["window_size"]
    local = [a == "local" for a in cfg["attention_layers"]]
    assert local[1] and not local[0] and win == 256
    rng = np.random.RandomState(22)
    T = 300
    ids = rng.randint(0, V, size=T).tolist()
    widx = rng.randint(0, len(WORDS), size=T).tolist()
    pos = 0
    with open(out + "/long-input.tsv", "w") as f:
        f.write("# story pos id start end text tag  (gen_figures_golden.py --long)\n")
        for t in range(T):
            w, tag = WORDS[widx[t]]
            text = (" " if t else "") + w
            n = len(text.encode())
            f.write("%d\t%d\t%d\t%d\t%d\t%s\t%s\n" % (0, t, ids[t], pos, pos + n, text, tag))
            pos += n
    rows = []
    for (l, h) in ((1, 3), (0, 5)):
        A = ref_gptneo.forward(model, ids, attn_of=(l, h), logits_rows=[0])["attn"]
        for i in range(250, T):
            for j in range(i + 1):
                vis = not local[l] or i - j < win
                rows.append("0\t%d\t%d\t%d\t%d\t%.12g\t%d" % (l, h, i, j, A[i][j], vis))
    with open(out + "/long-attn.tsv", "w") as f:
        f.write("\n".join(rows) + "\n")
    r = ref_gptneo.forward(model, ids, logits_rows=[0])
    with open(out + "/long-activity.tsv", "w") as f:
        for t in range(T):
            f.write("0\t%d\t1\t3\t%.12g\n" % (t, r["activity"][1][t][3]))


def main():
    if sys.argv[1] == "--long":
        return main_long(sys.argv[2], sys.argv[3])
    mdir, out = sys.argv[1:3]
    model = ref_gptneo.load_model(mdir)
    cfg = model[0]
    L, H, V = cfg["num_layers"], cfg["num_heads"], cfg["vocab_size"]
    win = cfg["window_size"]
    local = [a == "local" for a in cfg["attention_layers"]]
    rng = np.random.RandomState(21)
    stories = []
    with open(out + "/input.tsv", "w") as f:
        f.write("# story pos id start end text tag  (gen_figures_golden.py)\n")
        for sid, T in LENGTHS.items():
            ids = rng.randint(0, V, size=T).tolist()
            widx = rng.randint(0, len(WORDS), size=T).tolist()
            toks, pos = [], 0
            for t in range(T):
                w, tag = WORDS[widx[t]]
                text = (" " if t and w not in (".", ",") else "") + w
                n = len(text.encode())
                toks.append((ids[t], pos, pos + n, text, tag))
                f.write("%d\t%d\t%d\t%d\t%d\t%s\t%s\n" % (sid, t, ids[t], pos, pos + n, text, tag))
                pos += n
            stories.append((sid, toks))
    heads = [(l, h) for l in range(L) for h in range(H)]
    act_rows, attn_rows = [], []
    agg = {"from": {}, "to": {}}
    tagcount = {}
    for sid, toks in stories:
        ids = [t[0] for t in toks]
        tags = [t[4] for t in toks]
        T = len(ids)
        for tg in tags:
            tagcount[tg] = tagcount.get(tg, 0) + 1
        attn = {}
        for (l, h) in heads:
            attn[(l, h)] = ref_gptneo.forward(model, ids, attn_of=(l, h), logits_rows=[0])["attn"]
        r = ref_gptneo.forward(model, ids, logits_rows=[0])
        for (l, h) in heads:
            for t in range(T):
                act_rows.append("%d\t%d\t%d\t%d\t%.12g" % (sid, t, l, h, r["activity"][l][t][h]))
        for (l, h) in heads:
            A = attn[(l, h)]
            for i in range(T):
                for j in range(i + 1):
                    vis = j <= i and (not local[l] or i - j < win)
                    attn_rows.append("%d\t%d\t%d\t%d\t%d\t%.12g\t%d" % (sid, l, h, i, j, A[i][j], vis))
                    if not vis:
                        continue
                    if tags[i] == "PRP$":
                        d = agg["from"].setdefault((l, h, tags[j]), [0.0, 0])
                        d[0] += A[i][j]
                        d[1] += 1
                    if tags[j] == "NN":
                        d = agg["to"].setdefault((l, h, tags[i]), [0.0, 0])
                        d[0] += A[i][j]
                        d[1] += 1
    with open(out + "/activity.tsv", "w") as f:
        f.write("\n".join(act_rows) + "\n")
    with open(out + "/attn.tsv", "w") as f:
        f.write("\n".join(attn_rows) + "\n")
    for mode, name in (("from", "from-PRPS.tsv"), ("to", "to-NN.tsv")):
        with open(out + "/" + name, "w") as f:
            for (l, h) in heads:
                for tg in sorted(tagcount):
                    s, n = agg[mode].get((l, h, tg), [0.0, 0])
                    f.write("%d\t%d\t%s\t%.12g\t%d\t%.12g\t%d\n" % (l, h, tagfield(tg), s / n if n else 0.0,
                                                                   n, s, tagcount[tg]))


if __name__ == "__main__":
    main()

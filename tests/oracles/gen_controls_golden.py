#!/usr/bin/python3
"""gen_controls_golden.py OUT TMP: the goldens of tests/golden/controls/ from
the definitions in docs/controls.md, computed directly (plain Python, NumPy,
scikit-learn 1.2's classification_report); called by gen_controls_golden.sh,
which leaves the inputs as text in TMP.

- baselines: majority class and token-id lookup (most frequent tag of each
  id in the training tokens; ties to the tag that sorts first; ids the
  training split lacks get the majority tag), scored with
  classification_report(output_dict=True, zero_division=1), written as
  json.dump(indent=4) writes {"majority": ..., "token-id": ...}.
- control task: for each token id t, z = splitmix64 mix of
  ((seed ^ 0x436F6E74726F6C54) + (t + 1) * 0x9E3779B97F4A7C15) mod 2^64,
  r = floor(z * total / 2^64), the first tag in sorted order whose cumulative
  training count exceeds r.
- bootstrap: per probe, predictions argmax_k (sum_a w_ka x_a + b_k) (in that
  order, float64, first maximum), per-story tp / predicted / support per tag;
  draws from splitmix64 state = seed; per replicate F1 of the summed counts
  (zero_division=1; replicates without the tag left out);
  numpy.percentile(v, [2.5, 97.5]); best_share.
"""
import collections
import json
import subprocess
import sys

import numpy as np
from sklearn.metrics import classification_report

M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
SALT = 0x436F6E74726F6C54


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\':
            out.append({'t': '\t', 'n': '\n', 'r': '\r', '\\': '\\'}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def read_tokens(path):
    """rows of stream-view / stream-import: story pos id start end text tag [floats]"""
    rows = []
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            if line.startswith('#'):
                continue
            c = line.rstrip('\n').split('\t')
            rows.append({'story': int(c[0]), 'pos': int(c[1]), 'id': int(c[2]), 'tag': unescape(c[6]),
                         'floats': [float(x) for x in c[7:]]})
    return rows


# --- baselines -----------------------------------------------------------------
def baselines(train, test):
    counts = collections.Counter(r['tag'] for r in train)
    best = max(counts.values())
    majority = sorted(t for t, c in counts.items() if c == best)[0]
    per_id = collections.defaultdict(collections.Counter)
    for r in train:
        per_id[r['id']][r['tag']] += 1
    lookup = {}
    for i, c in per_id.items():
        m = max(c.values())
        lookup[i] = sorted(t for t, n in c.items() if n == m)[0]
    y = [r['tag'] for r in test]
    maj = [majority] * len(test)
    tok = [lookup.get(r['id'], majority) for r in test]
    rep = {}
    for name, pred in (('majority', maj), ('token-id', tok)):
        d = classification_report(y, pred, output_dict=True, zero_division=1)
        # the study's files (and probe-eval) write supports as floats
        for k, v in d.items():
            if isinstance(v, dict):
                v['support'] = float(v['support'])
        rep[name] = d
    return rep


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=4)


# --- control task ----------------------------------------------------------------
def control_labels(train, seed):
    counts = collections.Counter(r['tag'] for r in train)
    tags = sorted(counts)
    cum, total = [], 0
    for t in tags:
        total += counts[t]
        cum.append(total)

    def label(tid):
        z = mix64(((seed ^ SALT) + (tid + 1) * GAMMA) & M64)
        r = (z * total) >> 64
        for t, c in zip(tags, cum):
            if c > r:
                return t
        raise AssertionError
    return label


# --- bootstrap ---------------------------------------------------------------------
def read_probes(path):
    """-> list of (layer, head, vec, classes, W [K][d], b [K]) in stream order"""
    probes = collections.OrderedDict()
    with open(path) as f:
        for line in f:
            if line.startswith('#'):
                continue
            c = line.rstrip('\n').split('\t')
            key = (int(c[0]), int(c[1]), c[2])
            w = [float(x) for x in c[8:]]
            probes.setdefault(key, []).append((unescape(c[3]), w))
    out = []
    for (l, h, v), rows in probes.items():
        classes = [r[0] for r in rows]
        W = np.array([r[1][:-1] for r in rows])
        b = np.array([r[1][-1] for r in rows])
        out.append((l, h, v, classes, W, b))
    return out


def f1_of(tp, pred, sup):
    p = tp / pred if pred else 1.0
    r = tp / sup if sup else 1.0
    den = 1.0 * p + r
    if den == 0.0:
        den = 1.0
    return (2.0 * p) * r / den


def bootstrap(probes, test, B, seed, top, d_head, layout):
    stories = sorted(set(r['story'] for r in test), key=lambda s: [r['story'] for r in test].index(s))
    sidx = {s: i for i, s in enumerate(stories)}
    S = len(stories)
    labels = sorted(set(r['tag'] for r in test) | {c for p in probes for c in p[3]})
    L = {t: i for i, t in enumerate(labels)}
    y = np.array([L[r['tag']] for r in test])
    st = np.array([sidx[r['story']] for r in test])
    X = np.array([r['floats'] for r in test])
    counts = np.zeros((len(probes), S, len(labels), 3), dtype=np.int64)  # tp, pred, support
    for pi, (l, h, v, classes, W, b) in enumerate(probes):
        off = layout[(l, h, v)]
        x = X[:, off:off + d_head]
        s = np.zeros((len(test), len(classes)))
        for a in range(d_head):
            s = s + W[:, a][None, :] * x[:, a][:, None]
        s = s + b[None, :]
        pred = np.array([L[classes[k]] for k in np.argmax(s, axis=1)])
        for i in range(len(test)):
            counts[pi, st[i], y[i], 2] += 1
            counts[pi, st[i], pred[i], 1] += 1
            if pred[i] == y[i]:
                counts[pi, st[i], y[i], 0] += 1
    tot = counts.sum(axis=1)
    # the draws
    draws = np.zeros((B, S), dtype=np.int64)
    s = seed
    for bi in range(B):
        for i in range(S):
            s = (s + GAMMA) & M64
            draws[bi, i] = (mix64(s) * S) >> 64
    rows = []
    for vec in sorted(set(p[2] for p in probes), key=[p[2] for p in probes].index):
        cand = [i for i, p in enumerate(probes) if p[2] == vec]
        for t in labels:
            k = L[t]
            sup = tot[cand[0], k, 2]
            if sup == 0:
                continue
            f1 = {i: f1_of(*tot[i, k]) for i in cand}
            ranked = sorted(cand, key=lambda i: (-f1[i], i))[:top]
            reps = []
            for i in ranked:
                c = counts[i, :, k, :][draws]          # [B][S][3]
                sums = c.sum(axis=1)
                # a replicate without the tag has no F1 for it: left out
                reps.append(np.array([f1_of(*sm) for sm in sums if sm[2] > 0]))
            reps = np.array(reps)                      # [top][replicates with the tag]
            nb = reps.shape[1]
            best = reps.max(axis=0)
            winners = (reps == best[None, :])
            share = (winners / winners.sum(axis=0)[None, :]).sum(axis=1) / nb
            for rank, i in enumerate(ranked):
                lo, hi = np.percentile(reps[rank], [2.5, 97.5])
                l, h = probes[i][0], probes[i][1]
                rows.append('%s\t%s\t%d\tL%dH%d\t%r\t%r\t%r\t%r\t%d\t%d' % (
                    vec, t, rank + 1, l, h, f1[i], float(lo), float(hi), float(share[rank]), sup, nb))
    return rows


def main():
    out, tmp = sys.argv[1], sys.argv[2]
    # baselines: the hand-made case and the mirror stories
    write_json(out + '/synth-baselines.json',
               baselines(read_tokens(out + '/synth-train.tsv'), read_tokens(out + '/synth-test.tsv')))
    train, test = read_tokens(tmp + '/train.tsv'), read_tokens(tmp + '/test.tsv')
    write_json(out + '/baselines.json', baselines(train, test))

    # control task, seed 7, distribution = the training split
    label = control_labels(train, 7)
    lines = ['# split\tstory\tpos\tid\tcontrol tag']
    for name, rows in (('train', train), ('test', test)):
        for r in rows:
            lines.append('%s\t%d\t%d\t%d\t%s' % (name, r['story'], r['pos'], r['id'], label(r['id'])))
    text = '\n'.join(lines) + '\n'
    subprocess.run(['zstd', '-q', '-19', '-f', '-o', out + '/control-task-seed7.tsv.zst'],
                   input=text.encode(), check=True)

    # bootstrap: layout of the test activations (k only: [layer][head][4])
    probes = read_probes(tmp + '/boot-probes.tsv')
    test = read_tokens(tmp + '/boot-test.tsv')
    d_head = probes[0][4].shape[1]
    layout, off = {}, 0
    for (l, h, v, *_rest) in probes:
        layout[(l, h, v)] = off
        off += d_head
    assert off == len(test[0]['floats']), 'the test activations hold exactly the probes\' vectors'
    rows = bootstrap(probes, test, 500, 3, 3, d_head, layout)
    with open(out + '/bootstrap.tsv', 'w') as f:
        f.write('# probe-bootstrap --probes boot.probes -B 500 --seed 3 --top 3 boot-test.acts\n')
        f.write('#vector\ttag\trank\thead\tf1\tlo\thi\tbest_share\tsupport\treplicates\n')
        f.write('\n'.join(rows) + '\n')


main()

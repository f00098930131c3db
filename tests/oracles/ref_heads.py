#!/usr/bin/python3
"""ref_heads.py: float64 NumPy references for `head-scores`, `logit-lens`,
`ablate` and `head-stats`, written from docs/heads.md (not from the C tools), on top of the
reference GPT-Neo forward of ref_gptneo.py (its loading, and its forward with
the optional hook argument).

Each sub-command takes the C tool's options and prints the same TSV (the
model-identity comment lines, a "# key: value" line per setting, the
"#"-prefixed column line, the rows; numbers with %.9g), so the golden
generator (gen_heads_golden.sh) runs one command line through both:

  ref_heads.py head-scores --model DIR [--seq-len 50] [--batch 10] [--seed 1]
               [--tokens-from STREAM] [--bos ID] [--text STREAM] [-o FILE]
  ref_heads.py logit-lens --model DIR --final-ln none|scale --top K
               [--positions LIST] [--story LIST] [--heads LIST]
               --tokenizer DIR [INPUT] [-o FILE]
  ref_heads.py logit-lens --model DIR --final-ln none|scale --grid [--heads LIST] [INPUT]
  ref_heads.py ablate --model DIR --mode zero|mean --heads LIST|none [INPUT]
  ref_heads.py ablate --model DIR --mode zero|mean --sweep [INPUT]
  ref_heads.py head-stats --model DIR --heads LIST [--activity SEL]...
               [--attention QSEL/KSEL]... [INPUT] [-o FILE]
  ref_heads.py bias-ablate --model DIR --layer L [INPUT]
        ablate's --heads table for "every head of layer L zero-ablated",
        computed the other way: the whole attention block output of layer L
        replaced by its out_proj bias (no z involved).
  ref_heads.py self-check --model DIR INPUT
        internal consistency (see self_check()); exits non-zero on failure.
  ref_heads.py compare GOT WANT
        the comparison test_heads.sh does (same tolerance rule), used by the
        generator to measure what float32 rounding does to every table.

Hidden option --dtype float32 (any sub-command): the same arithmetic in
float32, to estimate a float32 implementation's rounding error against the
float64 goldens (gen_heads_golden.sh reports it; nothing uses it as truth).

Semantics (docs/heads.md): see the functions below; where the document left a
choice open the choice is written next to the code as "AMBIGUOUS:".
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_gptneo  # noqa: E402

TS1M_BIN_SHA256 = "07f9609ea882b8163ff3b23d40e2b82cb715d409631beb15c84b164f3877dae7"
MASK64 = (1 << 64) - 1


class Refused(Exception):
    """Input the tools must refuse (one line, non-zero exit)."""


# ---------------------------------------------------------------------------
# Streams: zstd frames + the layout of common/io/stream.h and records.h
# (the approach of gen_postag_align_golden.py: zstd -dc, then struct).

END_TAG = 0xFFFFFFFF
HAS_TOKENS, HAS_TAGS, HAS_FLOATS = 1, 2, 4
KINDS = {1: "tokens", 2: "tagged", 3: "activations", 4: "probes"}


def read_stream(path):
    """-> (kind, header lines of the first part, [story dicts]).  A story:
    story (u32), text (bytes), ids, spans [(start, end)], tags (str, "" = none)."""
    if path in (None, "-"):
        raw = subprocess.run(["zstd", "-dc"], stdin=sys.stdin.buffer, stdout=subprocess.PIPE,
                             check=True).stdout
    else:
        raw = subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, check=True).stdout
    pos, kind0, header, stories = 0, None, None, []
    while pos < len(raw):
        magic, version, kind, hdr_len = struct.unpack_from("<8sIII", raw, pos)
        if magic != b"HEADSTRM" or version != 1:
            raise Refused("%s: not a heads stream" % path)
        if kind0 is None:
            kind0, header = kind, raw[pos + 20:pos + 20 + hdr_len].decode("utf8").splitlines()
        elif kind != kind0:
            raise Refused("%s: parts of different kinds" % path)
        pos += 20 + hdr_len
        while True:
            (rlen,) = struct.unpack_from("<I", raw, pos)
            pos += 4
            if rlen == END_TAG:
                pos += 16  # u64 count, "HEADSEND"
                break
            rec = raw[pos:pos + rlen]
            pos += rlen
            if kind not in (1, 2, 3):
                raise Refused("%s: a %s stream; expected tokens, tagged or activations"
                              % (path, KINDS.get(kind, "unknown")))
            story, flags, text_len = struct.unpack_from("<III", rec, 0)
            text = rec[12:12 + text_len]
            off = 12 + text_len
            ids, spans, tags = [], [], []
            if flags & HAS_TOKENS:
                (n,) = struct.unpack_from("<I", rec, off)
                off += 4
                for i in range(n):
                    tid, s, e = struct.unpack_from("<III", rec, off + 12 * i)
                    ids.append(tid)
                    spans.append((s, e))
                off += 12 * n
            if flags & HAS_TAGS:
                for i in range(len(ids)):
                    tl = rec[off]
                    tags.append(rec[off + 1:off + 1 + tl].decode("utf8"))
                    off += 1 + tl
            else:
                tags = [""] * len(ids)
            stories.append(dict(story=story, flags=flags, text=text, ids=ids, spans=spans, tags=tags))
    return KINDS.get(kind0, "unknown"), header, stories


def header_get(header, key):
    val = None
    for line in header:
        if line.startswith(key + ": "):
            val = line[len(key) + 2:]
    return val


def token_word(st, t):
    """common/io/headtab.c token_word: the token's bytes in the story text,
    trimmed of C isspace() bytes, control bytes (< 0x20, 0x7f) as spaces."""
    s, e = st["spans"][t]
    b = st["text"][s:e]
    ws = b" \t\n\v\f\r"
    b = b.strip(ws)
    return bytes(0x20 if (c < 0x20 or c == 0x7F) else c for c in b)


def tag_field(tag):
    return tag if tag else "(none)"


# ---------------------------------------------------------------------------
# Model

class Model:
    def __init__(self, mdir, dtype=np.float64):
        self.dir = mdir
        self.m = ref_gptneo.load_model(mdir)
        self.cfg, sd = self.m
        self.dtype = dtype
        cfg = self.cfg
        self.L, self.H, self.D = cfg["num_layers"], cfg["num_heads"], cfg["hidden_size"]
        self.dk = self.D // self.H
        self.V, self.P = cfg["vocab_size"], cfg["max_position_embeddings"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        g = lambda n: sd[n].astype(dtype)
        self.WU = g("lm_head.weight") if "lm_head.weight" in sd else g("transformer.wte.weight")
        self.WO = [g("transformer.h.%d.attn.attention.out_proj.weight" % l) for l in range(self.L)]
        self.bO = [g("transformer.h.%d.attn.attention.out_proj.bias" % l) for l in range(self.L)]
        self.wf, self.bf = g("transformer.ln_f.weight"), g("transformer.ln_f.bias")
        with open(mdir + "/model.safetensors", "rb") as f:
            self.sha256 = hashlib.sha256(f.read()).hexdigest()
        name = cfg.get("_name_or_path") or ""
        if self.sha256 == TS1M_BIN_SHA256:  # (never for a safetensors file; as gptneo_identity)
            self.identity = "TinyStories-1M (roneneldan/TinyStories-1M, weights sha256 verified)"
        else:
            self.identity = "%s (not TinyStories-1M: weights sha256 %.12s...)" % (
                name if name else "unnamed model", self.sha256)

    def wo_head(self, l, h):
        """W_O[:, h*dk:(h+1)*dk], [D][dk]."""
        return self.WO[l][:, h * self.dk:(h + 1) * self.dk]

    def run(self, ids, z_set=None, attn_out_set=None, want_attn=False, logits=True):
        """One forward.  z_set: {(l, h): value [dk] (broadcast over positions)}
        replaces z_h of layer l before out_proj; attn_out_set: {l: [D]} replaces
        layer l's whole attention block output.  Returns a dict: z [L][T][H][dk]
        (after replacement), attn {l: [H][T][T]}, emb, mlp [L][T][D], attn_out,
        xL [T][D] (the stream entering ln_f), logits [T][V]."""
        out = {"attn": {}, "mlp": [], "attn_out": []}
        hook = {"embed": lambda x: out.__setitem__("emb", x),
                "final": lambda x: out.__setitem__("xL", x),
                "mlp_out": lambda l, m: out["mlp"].append(m)}
        if want_attn:
            hook["attn"] = lambda l, w: out["attn"].__setitem__(l, w)
        if z_set:
            def zhook(l, zh):
                mine = [(h, v) for (ll, h), v in z_set.items() if ll == l]
                if not mine:
                    return None
                zh = zh.copy()
                for h, v in mine:
                    zh[h, :, :] = v
                return zh
            hook["z"] = zhook

        def ohook(l, o):
            if attn_out_set and l in attn_out_set:
                o = np.broadcast_to(np.asarray(attn_out_set[l], dtype=o.dtype), o.shape).copy()
            out["attn_out"].append(o)
            return o
        hook["attn_out"] = ohook
        with np.errstate(over="ignore"):  # float32 mode: masked scores - max may overflow to -inf
            r = ref_gptneo.forward(self.m, list(ids), logits_rows=None if logits else [],
                                   hook=hook, dtype=self.dtype)
        out["z"] = r["z"]
        out["logits"] = r["logits"]
        return out


def losses(logits, ids):
    """loss[t] = logsumexp(logits[t]) - logits[t][ids[t+1]], t < T-1."""
    lg = logits[:-1]
    mx = lg.max(-1, keepdims=True)
    lse = (mx + np.log(np.exp(lg - mx).sum(-1, keepdims=True)))[:, 0]
    return lse - lg[np.arange(len(ids) - 1), np.asarray(ids[1:])]


def check_stories(model, stories, what):
    """The refusals every tool shares: 0-token stories, stories longer than
    the model's positions, ids outside the vocabulary."""
    for st in stories:
        if not st["flags"] & HAS_TOKENS:
            raise Refused("%s: story %d has no tokens" % (what, st["story"]))
        T = len(st["ids"])
        if T == 0:
            raise Refused("%s: story %d has 0 tokens" % (what, st["story"]))
        if T > model.P:
            raise Refused("%s: story %d: %d tokens exceed the model's %d positions"
                          % (what, st["story"], T, model.P))
        if max(st["ids"]) >= model.V:
            raise Refused("%s: story %d: a token id outside the vocabulary (%d)"
                          % (what, st["story"], model.V))


def open_input(model, path):
    kind, header, stories = read_stream(path)
    name = path if path not in (None, "-") else "stdin"
    if kind == "activations":
        sha = header_get(header, "model-sha256")
        if sha != model.sha256:
            raise Refused("%s: activations of another model (model-sha256 %.12s..., loaded %.12s...)"
                          % (name, sha or "none", model.sha256))
    check_stories(model, stories, name)
    return kind, header, stories


def parse_heads(spec, model, allow_none=False):
    """"L2H0,L6H4" (case-insensitive), "all", or (ablate) "none".
    AMBIGUOUS: the order of a list -- kept as given (the goldens only use
    ascending lists, so sorting would agree)."""
    if spec is None or spec == "all":
        return [(l, h) for l in range(model.L) for h in range(model.H)]
    if allow_none and spec == "none":
        return []
    out = []
    for item in spec.split(","):
        s = item.strip().upper()
        try:
            assert s[0] == "L" and "H" in s
            l, h = s[1:].split("H")
            l, h = int(l), int(h)
        except (AssertionError, ValueError, IndexError):
            raise Refused("--heads: '%s' is not L<layer>H<head>" % item)
        if not (0 <= l < model.L and 0 <= h < model.H):
            raise Refused("--heads: L%dH%d: the model has %d layers of %d heads" % (l, h, model.L, model.H))
        out.append((l, h))
    return out


def fmt(x):
    return "%.9g" % float(x)


class Table:
    """The TSV every tool prints: identity, settings, columns, rows (bytes)."""

    def __init__(self, model, settings, columns):
        self.lines = [b"# model: " + model.identity.encode(), b"# model-sha256: " + model.sha256.encode()]
        # AMBIGUOUS: docs/heads.md says "a # key: value line per setting" but
        # names no keys; these are ours and the test does not compare them.
        for k, v in settings:
            self.lines.append(("# %s: %s" % (k, v)).encode())
        self.lines.append(("#" + "\t".join(columns)).encode())

    def row(self, fields):
        self.lines.append(b"\t".join(f if isinstance(f, bytes) else str(f).encode() for f in fields))

    def write(self, path):
        data = b"\n".join(self.lines) + b"\n"
        if path in (None, "-"):
            sys.stdout.buffer.write(data)
        else:
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)


# ---------------------------------------------------------------------------
# head-scores

def splitmix64_next(state):
    """docs/heads.md: s += 0x9E3779B97F4A7C15, z = mix(s).  -> (new s, z)."""
    s = (state + 0x9E3779B97F4A7C15) & MASK64
    z = s
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return s, z ^ (z >> 31)


def gen_sequences(pool, seq_len, batch, seed, bos):
    """--batch sequences [bos] r_0..r_{L-1} r_0..r_{L-1}; r drawn as
    pool[z mod |pool|] from one splitmix64 state, redrawn while already in
    the current sequence's first copy."""
    if len(pool) < seq_len:
        raise Refused("the token pool has %d distinct ids; --seq-len %d needs at least that many"
                      % (len(pool), seq_len))
    s = seed & MASK64
    seqs = []
    for _ in range(batch):
        first, seen = [], set()
        while len(first) < seq_len:
            s, z = splitmix64_next(s)
            tok = pool[z % len(pool)]
            if tok in seen:
                continue
            seen.add(tok)
            first.append(tok)
        seqs.append(([bos] if bos is not None else []) + first + first)
    return seqs


def head_scores(model, seq_len=50, batch=10, seed=1, pool=None, bos=None, text=None):
    """-> (induction, duplicate, previous, previous_text or None), each [L][H]."""
    if pool is None:
        pool = list(range(model.V))
    o = 1 if bos is not None else 0
    T = 2 * seq_len + o
    if T > model.P:
        raise Refused("sequences of %d tokens exceed the model's %d positions" % (T, model.P))
    if bos is not None and not 0 <= bos < model.V:
        raise Refused("--bos %d is outside the vocabulary (%d)" % (bos, model.V))
    ind = np.zeros((model.L, model.H))
    dup = np.zeros((model.L, model.H))
    prev = np.zeros((model.L, model.H))
    qi = np.arange(o + seq_len, o + 2 * seq_len)  # the second copy
    pi = np.arange(1, T)
    for seq in gen_sequences(pool, seq_len, batch, seed, bos):
        attn = model.run(seq, want_attn=True, logits=False)["attn"]
        for l in range(model.L):
            p = attn[l]  # [H][T][T]
            ind[l] += p[:, qi, qi - seq_len + 1].sum(-1)
            dup[l] += p[:, qi, qi - seq_len].sum(-1)
            prev[l] += p[:, pi, pi - 1].sum(-1)
    ind /= batch * seq_len
    dup /= batch * seq_len
    prev /= batch * (T - 1)
    ptext = None
    if text is not None:
        ptext, n = np.zeros((model.L, model.H)), 0
        for st in text:
            T_s = len(st["ids"])
            attn = model.run(st["ids"], want_attn=True, logits=False)["attn"]
            i = np.arange(1, T_s)
            for l in range(model.L):
                ptext[l] += attn[l][:, i, i - 1].sum(-1)
            n += T_s - 1
        if n == 0:
            raise Refused("--text: no story has two tokens")
        ptext /= n
    return ind, dup, prev, ptext


def distinct_ids(stories):
    return sorted({t for st in stories for t in st["ids"]})


def cmd_head_scores(a, model):
    pool = None
    if a.tokens_from:
        # AMBIGUOUS: of the stream refusals only "activations of another
        # model" is applied to the pool's stream (its 0-token or long stories
        # do no harm to a pool); the test checks neither.
        kind, header, st = read_stream(a.tokens_from)
        if kind == "activations" and header_get(header, "model-sha256") != model.sha256:
            raise Refused("--tokens-from: activations of another model")
        pool = distinct_ids(st)
        if pool and pool[-1] >= model.V:
            raise Refused("--tokens-from: id %d is outside the vocabulary (%d)" % (pool[-1], model.V))
    text = None
    if a.text:
        _, _, text = open_input(model, a.text)
    ind, dup, prev, ptext = head_scores(model, a.seq_len, a.batch, a.seed, pool, a.bos, text)
    settings = [("seq-len", a.seq_len), ("batch", a.batch), ("seed", a.seed),
                ("bos", a.bos if a.bos is not None else "none"),
                ("pool", "%d ids (%s)" % (len(pool) if pool else model.V,
                                          "those of --tokens-from" if pool else "the vocabulary"))]
    cols = ["layer", "head", "induction", "duplicate", "previous"] + (["previous_text"] if text else [])
    tab = Table(model, settings, cols)
    for l in range(model.L):
        for h in range(model.H):
            r = [l, h, fmt(ind[l, h]), fmt(dup[l, h]), fmt(prev[l, h])]
            if text:
                r.append(fmt(ptext[l, h]))
            tab.row(r)
    return tab


# ---------------------------------------------------------------------------
# logit-lens

def head_contrib(model, z, l, h):
    """c = W_O[:, h*dk:(h+1)*dk] z_h[i] for every position, [T][D] (no bias)."""
    return z[l][:, h, :] @ model.wo_head(l, h).T


def ln_scale(model, xL):
    """sigma_i = sqrt(var(x_L[i]) + eps), biased variance, [T][1]."""
    mu = xL.mean(-1, keepdims=True)
    return np.sqrt(((xL - mu) ** 2).mean(-1, keepdims=True) + model.eps)


def lens_vec(model, c, sigma, final_ln):
    """The vector W_U is applied to: c (none) or w_f (c - mean(c)) / sigma (scale)."""
    if final_ln == "none":
        return c
    return model.wf * (c - c.mean(-1, keepdims=True)) / sigma


def topk_ids(a, K):
    """The K largest entries of a, ties to the lower id."""
    order = np.lexsort((np.arange(len(a)), -a))
    return order[:K]


def byte_decoder():
    # GPT-2's bytes_to_unicode (openai/gpt-2 src/encoder.py), inverted.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def load_vocab_texts(tokdir):
    with open(tokdir + "/vocab.json", encoding="utf8") as f:
        vocab = json.load(f)
    dec = byte_decoder()
    out = {}
    for s, i in vocab.items():
        b = bytes(dec[ch] for ch in s)
        # "white space shown as is, tabs and newlines as spaces"
        # AMBIGUOUS: only \t and \n are replaced (the document's words); other
        # control bytes (\r, \x0b, ...) are written as they are.
        out[i] = b.replace(b"\t", b" ").replace(b"\n", b" ")
    return out


def parse_positions(spec):
    """None -> all; "A:B" (either may be omitted) -> ("slice", a, b); "3,7,12" -> list."""
    if spec is None:
        return None
    if ":" in spec:
        a, b = spec.split(":", 1)
        return ("slice", int(a) if a else 0, int(b) if b else None)
    return [int(x) for x in spec.split(",")]


def resolve_positions(pos, T, story):
    if pos is None:
        return list(range(T))
    if isinstance(pos, tuple):
        a, b = pos[1], (T if pos[2] is None else pos[2])
        if a >= T or b > T:
            raise Refused("--positions: %d:%d lies outside story %d (%d tokens)" % (a, b, story, T))
        return list(range(a, b))
    for p in pos:
        if p >= T:
            raise Refused("--positions: %d is outside story %d (%d tokens)" % (p, story, T))
    return pos


def parse_story_sel(spec):
    """None/"all" -> None; "0-99,120" -> set of ints (the records' story indices,
    as activity's --story)."""
    if spec is None or spec == "all":
        return None
    sel = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            sel.update(range(int(lo), int(hi) + 1))
        else:
            sel.add(int(part))
    return sel


def clean_pass(model, st):
    """z, x_L, sigma of one story (and the full clean forward)."""
    r = model.run(st["ids"])
    r["sigma"] = ln_scale(model, r["xL"])
    return r


def cmd_logit_lens(a, model):
    if a.top is None and not a.grid:
        raise Refused("give --top K or --grid")
    if a.top is not None and a.grid:
        raise Refused("--top and --grid exclude each other")
    heads = parse_heads(a.heads, model)
    kind, _, stories = open_input(model, a.input)
    if a.grid:
        if kind == "tokens":
            raise Refused("--grid needs a tagged stream (tags of the next tokens)")
        return logit_lens_grid(model, stories, heads, a.final_ln)
    texts = load_vocab_texts(a.tokenizer or model.dir)
    sel = parse_story_sel(a.story)
    pos = parse_positions(a.positions)
    tab = Table(model, [("final-ln", a.final_ln), ("top", a.top)],
                ["story", "pos", "token", "layer", "head", "rank", "id", "text", "attribution"])
    met = set()
    for st in stories:
        if sel is not None and st["story"] not in sel:
            continue
        met.add(st["story"])
        T = len(st["ids"])
        ps = resolve_positions(pos, T, st["story"])
        r = clean_pass(model, st)
        for t in ps:
            for (l, h) in heads:
                c = head_contrib(model, r["z"], l, h)[t]
                av = model.WU @ lens_vec(model, c, r["sigma"][t], a.final_ln)
                top = topk_ids(av, a.top + 1)
                # A golden must not hinge on a near tie: a float32 tool could
                # rank two attributions closer than its rounding either way.
                gaps = (av[top[:-1]] - av[top[1:]]) / np.maximum(np.abs(av[top[:-1]]), FLOOR)
                if gaps.min() < MIN_GAP and not a.allow_near_ties:
                    raise Refused("story %d pos %d L%dH%d: ranks within %.2g of each other (near tie);"
                                  " choose other positions" % (st["story"], t, l, h, gaps.min()))
                for k, i in enumerate(top[:-1]):
                    # AMBIGUOUS: rank counts from 1 (the largest attribution).
                    tab.row([st["story"], t, token_word(st, t), l, h, k + 1, int(i),
                             texts.get(int(i), b""), fmt(av[i])])
    if sel is not None and sel - met:
        raise Refused("story %d is not in the stream" % min(sel - met))
    return tab


def grid_order(tags):
    """AMBIGUOUS: row order within a head: tags in byte order of the raw tag
    (so the empty tag, shown "(none)", first), then "(all)" (the test
    compares these tables as sorted sets of rows)."""
    return sorted(tags, key=lambda t: t.encode())


def logit_lens_grid(model, stories, heads, final_ln):
    """Per head and tag of the next token: n, mean of a[ids[t+1]], t < T-1."""
    sums = {hd: {} for hd in heads}
    for st in stories:
        ids = st["ids"]
        T = len(ids)
        if T < 2:
            continue
        r = clean_pass(model, st)
        wu_next = model.WU[np.asarray(ids[1:])]  # [T-1][D]
        for (l, h) in heads:
            c = head_contrib(model, r["z"], l, h)[:-1]
            v = lens_vec(model, c, r["sigma"][:-1], final_ln)
            an = (v * wu_next).sum(-1)  # [T-1]
            d = sums[(l, h)]
            for t in range(T - 1):
                for key in (st["tags"][t + 1], None):
                    e = d.setdefault(key, [0, 0.0])
                    e[0] += 1
                    e[1] += an[t]
    tab = Table(model, [("final-ln", final_ln), ("mode", "grid")], ["layer", "head", "tag", "n", "mean"])
    for (l, h) in heads:
        d = sums[(l, h)]
        for tag in grid_order([k for k in d if k is not None]) + [None]:
            if tag not in d:
                continue
            n, s = d[tag]
            tab.row([l, h, "(all)" if tag is None else tag_field(tag), n, fmt(s / n)])
    return tab


# ---------------------------------------------------------------------------
# ablate

def mean_z(model, stories):
    """m_h: the mean of z_h over every position of every story, [L][H][dk]."""
    s, n = None, 0
    for st in stories:
        z = model.run(st["ids"], logits=False)["z"]  # [L][T][H][dk]
        s = z.sum(1) if s is None else s + z.sum(1)
        n += z.shape[1]
    return s / n


def ablation_values(model, heads, mode, mz):
    if mode == "zero":
        return {hd: np.zeros(model.dk, dtype=model.dtype) for hd in heads}
    return {(l, h): mz[l][h] for (l, h) in heads}


def story_losses(model, stories, z_set=None, attn_out_set=None):
    return [losses(model.run(st["ids"], z_set=z_set, attn_out_set=attn_out_set)["logits"], st["ids"])
            for st in stories]


def heads_table(model, stories, clean, abl, settings):
    tab = Table(model, settings, ["story", "pos", "token", "next", "tag", "clean", "ablated", "delta"])
    for st, c, ab in zip(stories, clean, abl):
        for t in range(len(st["ids"]) - 1):
            tab.row([st["story"], t, token_word(st, t), token_word(st, t + 1),
                     tag_field(st["tags"][t + 1]), fmt(c[t]), fmt(ab[t]), fmt(ab[t] - c[t])])
    return tab


def cmd_ablate(a, model):
    if (a.heads is None) == (not a.sweep):
        raise Refused("give --heads LIST or --sweep")
    heads = None if a.sweep else parse_heads(a.heads, model, allow_none=True)
    _, _, stories = open_input(model, a.input)
    clean = story_losses(model, stories)
    mz = mean_z(model, stories) if a.mode == "mean" else None
    if not a.sweep:
        abl = story_losses(model, stories, z_set=ablation_values(model, heads, a.mode, mz)) if heads else clean
        return heads_table(model, stories, clean, abl,
                           [("mode", a.mode), ("heads", a.heads)])
    tab = Table(model, [("mode", a.mode), ("sweep", "every head alone")],
                ["layer", "head", "tag", "n", "clean", "ablated", "delta"])
    for l in range(model.L):
        for h in range(model.H):
            abl = story_losses(model, stories, z_set=ablation_values(model, [(l, h)], a.mode, mz))
            d = {}
            for st, c, ab in zip(stories, clean, abl):
                for t in range(len(st["ids"]) - 1):
                    for key in (st["tags"][t + 1], None):
                        e = d.setdefault(key, [0, 0.0, 0.0])
                        e[0] += 1
                        e[1] += c[t]
                        e[2] += ab[t]
            for tag in grid_order([k for k in d if k is not None]) + [None]:
                if tag not in d:
                    continue
                n, sc, sa = d[tag]
                tab.row([l, h, "(all)" if tag is None else tag_field(tag), n,
                         fmt(sc / n), fmt(sa / n), fmt((sa - sc) / n)])
    return tab


def cmd_bias_ablate(a, model):
    """Every head of layer L zero-ablated, computed as the attention block's
    output replaced by out_proj.bias (independent of the z hook)."""
    if not 0 <= a.layer < model.L:
        raise Refused("--layer %d: the model has %d layers" % (a.layer, model.L))
    _, _, stories = open_input(model, a.input)
    clean = story_losses(model, stories)
    abl = story_losses(model, stories, attn_out_set={a.layer: model.bO[a.layer]})
    heads = ",".join("L%dH%d" % (a.layer, h) for h in range(model.H))
    return heads_table(model, stories, clean, abl, [("mode", "zero"), ("heads", heads)])


# ---------------------------------------------------------------------------
# head-stats

class Selector:
    """docs/heads.md: tag=T1,T2 (the token's tag is one of these), next=T1,T2
    (the next token's tag is), quote (inside a quotation), any."""

    def __init__(self, spec, opt):
        self.spec = spec
        if spec in ("any", "quote"):
            self.kind, self.tags = spec, None
            return
        kind, eq, rest = spec.partition("=")
        if kind not in ("tag", "next") or not eq:
            raise Refused("%s: '%s' is not a selector (tag=T,.. next=T,.. quote any)" % (opt, spec))
        tags = rest.split(",")
        # AMBIGUOUS: an empty tag name ("tag=", "tag=NN,") is refused: the
        # document's tags are names, and the empty tag (untagged tokens,
        # shown "(none)" elsewhere) would otherwise be picked by a stray comma.
        if any(t == "" for t in tags):
            raise Refused("%s: '%s': an empty tag name" % (opt, spec))
        self.kind, self.tags = kind, set(tags)

    def picks(self, st, inquote):
        """-> [T] bools: the tokens of story st this selector picks."""
        tags, T = st["tags"], len(st["ids"])
        if self.kind == "any":
            return [True] * T
        if self.kind == "quote":
            return list(inquote)
        if self.kind == "tag":
            return [tags[t] in self.tags for t in range(T)]
        # next=: the last token has no next token, so it is not picked
        return [t + 1 < T and tags[t + 1] in self.tags for t in range(T)]


def inside_quote(tags):
    """The document's words, literally: token t is inside a quotation when some
    earlier token j < t is tagged `` and no token after it, j < k <= t, is
    tagged ''.  (So the `` itself and the closing '' are outside.)"""
    return [any(tags[j] == "``" and "''" not in tags[j + 1:t + 1] for j in range(t))
            for t in range(len(tags))]


def visible_keys(model, l, i):
    """Keys query i sees in layer l: j <= i; on a local layer also i - j <
    window_size (GPT-Neo's tril XOR tril(-window) mask)."""
    lo = 0
    if model.cfg["attention_layers"][l] == "local":
        lo = max(0, i - model.cfg.get("window_size", 256) + 1)
    return np.arange(lo, i + 1)


def parse_stats(given):
    """given: [(kind, spec)] in command-line order -> [(name, kind, sel, ksel)].
    AMBIGUOUS: docs/heads.md names the column `statistic` but not its values;
    these are "activity:SEL" and "attention:QSEL/KSEL" as given (the C tool's
    choice).  Rows: heads in --heads order, then statistics in command-line
    order (the document fixes no order; the test compares the tables as sets
    keyed by layer, head, statistic)."""
    out = []
    for kind, s in given or []:
        if kind == "activity":
            out.append(("activity:" + s, "activity", Selector(s, "--activity"), None))
            continue
        if "/" not in s:
            raise Refused("--attention takes QSEL/KSEL, e.g. 'quote/tag=``'")
        q, k = s.split("/", 1)
        out.append(("attention:" + s, "attention", Selector(q, "--attention"), Selector(k, "--attention")))
    if not out:
        raise Refused("nothing to measure (--activity SEL, --attention QSEL/KSEL)")
    return out


def head_stats(model, stories, heads, stats):
    """-> {(l, h, name): (group sum, rest sum, n_group, n_rest)}.
    activity: the sums of ||c|| (c = W_O[:, h dk:(h+1) dk] z_h[i]) over the
    tokens the selector picks (group) and over the others (rest).
    attention: over the queries QSEL picks that see >= 1 key KSEL picks,
    the sums of A_i (mean probability per visible KSEL key) and B_i
    (1 / visible keys); n_group = n_rest = those queries."""
    acc = {(l, h, s[0]): [0.0, 0.0, 0, 0] for (l, h) in heads for s in stats}
    want_attn = any(s[1] == "attention" for s in stats)
    for st in stories:
        T = len(st["ids"])
        inq = inside_quote(st["tags"])
        r = model.run(st["ids"], want_attn=want_attn, logits=False)
        for (l, h) in heads:
            act = np.linalg.norm(head_contrib(model, r["z"], l, h), axis=-1) if T else None
            for name, kind, sel, ksel in stats:
                e = acc[(l, h, name)]
                g = sel.picks(st, inq)
                if kind == "activity":
                    for t in range(T):
                        e[0 if g[t] else 1] += act[t]
                        e[2 if g[t] else 3] += 1
                    continue
                kp = ksel.picks(st, inq)
                P = r["attn"][l][h]  # [T][T]
                for i in range(T):
                    if not g[i]:
                        continue
                    vis = visible_keys(model, l, i)
                    keys = [j for j in vis if kp[j]]
                    if not keys:
                        continue
                    e[0] += P[i, keys].sum() / len(keys)
                    e[1] += 1.0 / len(vis)
                    e[2] += 1
                    e[3] += 1
    return acc


def cmd_head_stats(a, model):
    stats = parse_stats(a.stats)
    heads = parse_heads(a.heads, model)
    kind, _, stories = open_input(model, a.input)
    for st in stories:
        if not st["flags"] & HAS_TAGS:
            raise Refused("story %d has no POS tags (head-stats needs a tagged stream)" % st["story"])
    acc = head_stats(model, stories, heads, stats)
    tab = Table(model, [("head-stats", "%d stories" % len(stories))],
                ["layer", "head", "statistic", "group", "rest", "ratio", "n_group", "n_rest"])
    for (l, h) in heads:
        for name, _, _, _ in stats:
            sg, sr, ng, nr = acc[(l, h, name)]
            g = sg / ng if ng else None
            r = sr / nr if nr else None
            # '-' where a group is empty (and then no ratio).  AMBIGUOUS: a
            # rest mean of exactly 0 (a head whose W_O slice is 0) has no
            # ratio either: '-', never inf or NaN.
            tab.row([l, h, name, fmt(g) if g is not None else "-", fmt(r) if r is not None else "-",
                     fmt(g / r) if g is not None and r else "-", ng, nr])
    return tab


# ---------------------------------------------------------------------------
# The comparison test_heads.sh makes (kept in step with its awk).

NUMERIC = {"induction", "duplicate", "previous", "previous_text", "attribution", "mean",
           "clean", "ablated", "delta", "group", "rest", "ratio"}
LOSS = {"clean", "ablated", "delta"}
REL = 1e-4
FLOOR = 1e-3
REL_LOSS = 1e-5
MIN_GAP = 2 * REL  # smallest relative gap between ranks 1..K+1 in a top-mode golden: a tool
# within the tolerance could swap two attributions closer than that


def parse_table(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    ident, cols, rows = [], None, []
    for ln in lines:
        if ln.startswith(b"#"):
            if ln.startswith(b"# model: ") or ln.startswith(b"# model-sha256: "):
                ident.append(ln)
            if not rows:
                cols = ln
        else:
            rows.append(ln.split(b"\t"))
    return ident, cols, rows


def compare_tables(got, want, sort_rows=False):
    """-> (list of problems, worst |got-want| / allowed).  Tolerance: a score
    or attribution matches when |got - want| <= REL * max(|want|, FLOOR); the
    loss columns clean, ablated and delta when |got - want| <= REL_LOSS *
    max(|clean wanted in that row|, FLOOR): a delta is the difference of two
    losses of about ln V, each known to that much, and a tolerance relative
    to the delta itself would ask more than float32 logits give, while one
    of 1e-4 of the loss would let most single-head ablations pass as no-ops."""
    gi, gc, gr = parse_table(got)
    wi, wc, wr = parse_table(want)
    bad, worst = [], 0.0
    if gi != wi:
        bad.append("identity lines differ")
    if gc != wc:
        bad.append("column lines differ: %r vs %r" % (gc, wc))
    if sort_rows:
        key = lambda r: r[:3]
        gr, wr = sorted(gr, key=key), sorted(wr, key=key)
    if len(gr) != len(wr):
        bad.append("%d rows, want %d" % (len(gr), len(wr)))
    names = wc[1:].decode().split("\t") if wc else []
    for n, (g, w) in enumerate(zip(gr, wr)):
        if len(g) != len(w):
            bad.append("row %d: %d fields, want %d" % (n + 1, len(g), len(w)))
            continue
        for j, (x, y) in enumerate(zip(g, w)):
            name = names[j] if j < len(names) else "?"
            if name in NUMERIC and y == b"-":  # head-stats: no mean (an empty group)
                if x != y:
                    bad.append("row %d %s: %r, want '-'" % (n + 1, name, x))
            elif name in NUMERIC:
                try:
                    xv, yv = float(x), float(y)
                except ValueError:
                    bad.append("row %d %s: %r, want %r" % (n + 1, name, x, y))
                    continue
                if name in LOSS:
                    err = abs(xv - yv) / (REL_LOSS * max(abs(float(w[names.index("clean")])), FLOOR))
                else:
                    err = abs(xv - yv) / (REL * max(abs(yv), FLOOR))
                if not np.isfinite(xv) or err > 1:
                    bad.append("row %d %s: %s, want %s" % (n + 1, name, x.decode(), y.decode()))
                worst = max(worst, err if np.isfinite(err) else np.inf)
            elif x != y:
                bad.append("row %d %s: %r, want %r" % (n + 1, name, x, y))
    return bad, worst


# ---------------------------------------------------------------------------
# self-check

def self_check(model, stories, say):
    """Internal consistency of the reference itself.  Returns failures."""
    fails = []

    def expect(ok, what):
        say(("ok   " if ok else "FAIL ") + what)
        if not ok:
            fails.append(what)

    # splitmix64 known answers (Vigna's splitmix64.c seeded with 0)
    s, z1 = splitmix64_next(0)
    s, z2 = splitmix64_next(s)
    expect((z1, z2) == (0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4), "splitmix64(0) known answers")
    seqs = gen_sequences(list(range(model.V)), 50, 10, 1, None)
    expect(all(len(set(q[:50])) == 50 and q[:50] == q[50:] for q in seqs),
           "random sequences: distinct first copy, second copy identical")
    small = gen_sequences(list(range(12)), 12, 3, 5, 7)
    expect(all(q[0] == 7 and sorted(q[1:13]) == list(range(12)) and q[1:13] == q[13:] for q in small),
           "a pool exactly |pool| = L long gives permutations (redraws work)")

    # DLA identity: scale-mode attributions of every component + W_U b_f = logits.
    st = max(stories, key=lambda s: len(s["ids"]))
    ids = st["ids"]
    r = clean_pass(model, st)
    comps = [r["emb"]]
    for l in range(model.L):
        for h in range(model.H):
            comps.append(head_contrib(model, r["z"], l, h))
        comps.append(np.broadcast_to(model.bO[l], r["emb"].shape))
        comps.append(r["mlp"][l])
    total = sum(comps)
    expect(np.abs(total - r["xL"]).max() <= 1e-10 * np.abs(r["xL"]).max(),
           "components sum to the stream entering ln_f (%.2e)" % np.abs(total - r["xL"]).max())
    dla = sum(model.WU @ lens_vec(model, c_, r["sigma"], "scale").T for c_ in comps).T + model.WU @ model.bf
    err = np.abs(dla - r["logits"]).max() / np.abs(r["logits"]).max()
    expect(err < 1e-10, "scale-mode attributions of all %d components + W_U b_f = logits (rel %.2e)"
           % (len(comps), err))
    # none mode: the attributions of all components sum to W_U x_L (no LayerNorm at all)
    dn = sum(model.WU @ lens_vec(model, c_, r["sigma"], "none").T for c_ in comps).T
    wx = r["xL"] @ model.WU.T
    expect(np.abs(dn - wx).max() <= 1e-10 * np.abs(wx).max(), "none mode: all components sum to W_U x_L")
    expect(np.abs(dn + model.WU @ model.bf - r["logits"]).max() > 1e-2 * np.abs(r["logits"]).max(),
           "... which is not the logits (the scale identity is not a tautology)")
    c0 = head_contrib(model, r["z"], 0, 0)
    # the grid's a[ids[t+1]] equals the full vector's entry
    tab = logit_lens_grid(model, [st], [(0, 0)], "scale")
    mean_direct = np.mean([(model.WU @ lens_vec(model, c0[t], r["sigma"][t], "scale"))[ids[t + 1]]
                           for t in range(len(ids) - 1)])
    allrow = [ln for ln in tab.lines if ln.startswith(b"0\t0\t(all)\t")][0].split(b"\t")
    expect(abs(float(allrow[4]) - mean_direct) <= 1e-8 * abs(mean_direct) + 1e-15
           and int(allrow[3]) == len(ids) - 1, "grid (all) row = mean of the full attribution vectors")
    # the (all) row is the n-weighted mean of the tag rows
    rows = [ln.split(b"\t") for ln in tab.lines if not ln.startswith(b"#")]
    tagrows = [x for x in rows if x[2] != b"(all)"]
    wsum = sum(int(x[3]) * float(x[4]) for x in tagrows) / sum(int(x[3]) for x in tagrows)
    expect(abs(wsum - float(allrow[4])) <= 1e-7 * abs(float(allrow[4])) + 1e-12,
           "grid: (all) = n-weighted mean of the tag rows")
    # top-K ties go to the lower id
    expect(list(topk_ids(np.array([0.0, 2.0, 1.0, 2.0, 2.0]), 3)) == [1, 3, 4], "top-K ties to the lower id")

    # head-scores: the hook's attention equals ref_gptneo's own attn_of path
    seq = gen_sequences(list(range(model.V)), 20, 1, 3, 50256 % model.V)[0]
    ind, dup, prev, _ = head_scores(model, 20, 1, 3, None, 50256 % model.V)
    ok = True
    for l in range(model.L):
        for h in range(model.H):
            A = ref_gptneo.forward(model.m, seq, attn_of=(l, h), logits_rows=[0])["attn"]
            i = np.arange(21, 41)
            ok &= abs(A[i, i - 19].mean() - ind[l, h]) < 1e-12
            ok &= abs(A[i, i - 20].mean() - dup[l, h]) < 1e-12
            ok &= abs(np.diag(A, -1).mean() - prev[l, h]) < 1e-12
    expect(ok, "induction / duplicate / previous = means of ref_gptneo's attention rows (attn_of)")
    _, _, _, pt = head_scores(model, 5, 1, 1, None, None, text=[st])
    ok = True
    for l in range(model.L):
        for h in range(model.H):
            A = ref_gptneo.forward(model.m, ids, attn_of=(l, h), logits_rows=[0])["attn"]
            ok &= abs(np.diag(A, -1).mean() - pt[l, h]) < 1e-12
    expect(ok, "previous_text of one story = mean of its attention's first sub-diagonal")

    # ablation
    clean = losses(r["logits"], ids)
    lw = losses(ref_gptneo.forward(model.m, ids)["logits"], ids)
    expect(np.array_equal(clean, lw), "clean losses = ref_gptneo's plain forward's")
    for l in range(model.L):
        zl = losses(model.run(ids, z_set={(l, h): np.zeros(model.dk) for h in range(model.H)})["logits"], ids)
        bl = losses(model.run(ids, attn_out_set={l: model.bO[l]})["logits"], ids)
        expect(np.abs(zl - bl).max() < 1e-10,
               "layer %d: all heads zero-ablated = attention output replaced by b_O (%.1e; mean |delta| %.3g)"
               % (l, np.abs(zl - bl).max(), np.abs(zl - clean).mean()))
    # a head whose W_O slice is zero: zero-ablating it changes nothing
    cfg, sd = model.m
    sd2 = dict(sd)
    name = "transformer.h.%d.attn.attention.out_proj.weight" % (model.L - 1)
    w = sd[name].copy()
    w[:, 1 * model.dk:2 * model.dk] = 0
    sd2[name] = w
    m2 = Model.__new__(Model)
    m2.__dict__.update(model.__dict__)
    m2.m = (cfg, sd2)
    m2.WO = list(model.WO)
    m2.WO[-1] = w.astype(model.dtype)
    c2 = losses(m2.run(ids)["logits"], ids)
    a2 = losses(m2.run(ids, z_set={(model.L - 1, 1): np.zeros(model.dk)})["logits"], ids)
    expect(np.abs(a2 - c2).max() <= 1e-12 * np.abs(c2).max() and np.abs(c2 - clean).max() > 1e-6,
           "a head with a zero W_O slice: zero ablation changes nothing (%.1e), though the model differs"
           % np.abs(a2 - c2).max())
    # m_h = the mean of the clean z_h over the positions (one story here)
    mz = mean_z(model, [st])
    expect(np.allclose(mz, r["z"].mean(1), rtol=1e-12, atol=1e-15), "m_h = mean of the clean z_h")
    # mean-ablating every head of a layer = attention output (m @ W_O^T + b_O)
    l = model.L - 1
    ml = losses(model.run(ids, z_set={(l, h): mz[l][h] for h in range(model.H)})["logits"], ids)
    repl = mz[l].reshape(model.D) @ model.WO[l].T + model.bO[l]
    bl = losses(model.run(ids, attn_out_set={l: repl})["logits"], ids)
    expect(np.abs(ml - bl).max() < 1e-10, "layer %d: all heads mean-ablated = attention output m W_O^T + b_O" % l)
    # an early and a late head ablated together (one run, each replaced by a constant):
    # not the same as either alone, so a tool that dropped one of them would be seen
    e, t = (0, 0), (model.L - 1, model.H - 1)
    lb = losses(model.run(ids, z_set={e: np.zeros(model.dk), t: mz[t[0]][t[1]]})["logits"], ids)
    le = losses(model.run(ids, z_set={e: np.zeros(model.dk)})["logits"], ids)
    lt = losses(model.run(ids, z_set={t: mz[t[0]][t[1]]})["logits"], ids)
    expect(min(np.abs(lb - le).max(), np.abs(lb - lt).max(), np.abs(lb - clean).max()) > 1e-3,
           "two heads of two layers together differ from each alone and from clean")

    # head-stats
    tg = ["``", "NN", "''", "NN", "``", "``", "NN", "''", "''", "NN", "``", "NN", ""]
    expect(inside_quote(tg) == [bool(c) for c in [0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]],
           "inside_quote: a hand-worked example (double ``, stray '', open at the end)")
    ra = ref_gptneo.forward(model.m, ids)
    act = np.stack([np.linalg.norm(head_contrib(model, r["z"], l, h), axis=-1)
                    for l in range(model.L) for h in range(model.H)])
    want = ra["activity"].transpose(0, 2, 1).reshape(model.L * model.H, -1)
    expect(np.abs(act - want).max() <= 1e-12 * np.abs(want).max(),
           "||W_O[:, h dk:(h+1) dk] z_h|| = ref_gptneo's own activity")
    attn = model.run(ids, want_attn=True, logits=False)["attn"]
    T, ok, nlocal = len(ids), True, 0
    for l in range(model.L):
        for i in range(T):
            vis = visible_keys(model, l, i)
            out = np.setdiff1d(np.arange(T), vis)
            ok &= bool(np.all(attn[l][:, i, out] == 0)) and np.allclose(attn[l][:, i, vis].sum(-1), 1, atol=1e-12)
            nlocal += len(vis) < i + 1
    expect(ok, "visible keys: the attention rows are 0 outside them and sum to 1 on them"
           " (%d rows cut by a window)" % nlocal)
    heads = [(l, h) for l in range(model.L) for h in range(model.H)]
    stats = parse_stats([("activity", "tag=NN"), ("activity", "any"), ("attention", "quote/any"),
                         ("attention", "any/tag=NN")])
    acc = head_stats(model, stories, heads, stats)
    ok_part, ok_any = True, True
    for (l, h) in heads:
        gN, rN, nG, nR = acc[(l, h, "activity:tag=NN")]
        gA, _, nA, _ = acc[(l, h, "activity:any")]
        ok_part &= nG + nR == nA and abs((gN + rN) - gA) <= 1e-12 * gA
        g, rr, n1, n2 = acc[(l, h, "attention:quote/any")]
        ok_any &= n1 == n2 and abs(g - rr) <= 1e-12 * max(rr, 1e-300)
    expect(ok_part, "activity: tag=NN's group + rest = any's group (sums and counts)")
    expect(ok_any, "attention QSEL/any: group = rest (probabilities sum to 1 over the visible keys)")
    n_q = sum(1 for st in stories for t in inside_quote(st["tags"]) if t)
    expect(all(acc[(l, h, "attention:quote/any")][2] == n_q for (l, h) in heads) and n_q > 0,
           "attention quote/any counts every quoted token as a query (%d)" % n_q)
    return fails


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(prog="ref_heads.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, input_=True):
        p.add_argument("--model", required=True)
        p.add_argument("-o", "--output")
        p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
        p.add_argument("--threads", type=int)  # accepted, no effect
        # oracle only: top mode refuses near ties unless told (see cmd_logit_lens)
        p.add_argument("--allow-near-ties", action="store_true")
        if input_:
            p.add_argument("input", nargs="?")

    p = sub.add_parser("head-scores")
    common(p, input_=False)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tokens-from")
    p.add_argument("--bos", type=int)
    p.add_argument("--text")
    p = sub.add_parser("logit-lens")
    common(p)
    p.add_argument("--final-ln", choices=["none", "scale"], required=True)
    p.add_argument("--top", type=int)
    p.add_argument("--grid", action="store_true")
    p.add_argument("--positions")
    p.add_argument("--story")
    p.add_argument("--heads")
    p.add_argument("--tokenizer")
    p = sub.add_parser("ablate")
    common(p)
    p.add_argument("--mode", choices=["zero", "mean"], required=True)
    p.add_argument("--heads")
    p.add_argument("--sweep", action="store_true")
    p = sub.add_parser("head-stats")
    common(p)
    p.add_argument("--heads", required=True)
    p.add_argument("--activity", dest="stats", action="append", type=lambda s: ("activity", s))
    p.add_argument("--attention", dest="stats", action="append", type=lambda s: ("attention", s))
    p = sub.add_parser("bias-ablate")
    common(p)
    p.add_argument("--layer", type=int, required=True)
    p = sub.add_parser("self-check")
    common(p)
    p = sub.add_parser("compare")
    p.add_argument("got")
    p.add_argument("want")
    p.add_argument("--sort", action="store_true")
    a = ap.parse_args()
    if a.cmd == "compare":
        bad, worst = compare_tables(a.got, a.want, a.sort)
        for b in bad[:10]:
            print("  " + b)
        print("%s: %d problems, worst error %.3g of the tolerance" % (a.got, len(bad), worst))
        sys.exit(1 if bad else 0)
    try:
        model = Model(a.model, np.float32 if a.dtype == "float32" else np.float64)
        if a.cmd == "self-check":
            _, _, stories = open_input(model, a.input)
            fails = self_check(model, stories, lambda s: print("self-check %s: %s" % (a.model, s)))
            sys.exit(1 if fails else 0)
        tab = {"head-scores": cmd_head_scores, "logit-lens": cmd_logit_lens,
               "ablate": cmd_ablate, "bias-ablate": cmd_bias_ablate,
               "head-stats": cmd_head_stats}[a.cmd](a, model)
        tab.write(a.output)
    except Refused as e:
        sys.stderr.write("ref_heads %s: %s\n" % (a.cmd, e))
        sys.exit(1)


if __name__ == "__main__":
    main()

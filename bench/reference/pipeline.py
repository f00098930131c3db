#!/usr/bin/python3
"""pipeline.py: the study's Python pipeline, as the reference for `make bench`.

Mirrors the structure of the study's code (github.com/MarkusSibbesen/
tinystories_induction_heads: data_handling.py, pos_tagger.py,
attention_extraction.py, attention-probe.ipynb) with what Debian 12 ships
(python3-torch 1.13, python3-sklearn 1.2, python3-nltk 3.8, python3-regex);
Hugging Face transformers / tokenizers are not available here, so the two
pieces the study took from them are written out:

  1. tokenize  GPT-2 byte-level BPE in pure Python with the `regex` module
               (Debian's python3-regex: real \\p{L} / \\p{N} classes), the GPT-2
               pre-tokenisation pattern, byte-to-unicode map and merges by rank
               (OpenAI's encoder.py algorithm), plus Hugging Face's offset
               mapping (character offsets, a token's leading space included).
  2. tag       the study's PosTagger: NLTK TreebankWordTokenizer on the whole
               story, pos_tag (called once per story, which in NLTK reloads the
               perceptron tagger each call: the study's code paid that too),
               span_tokenize, character-level tags, and the middle-character
               rule on each token's offsets (quirks included).
  3. forward   a GPT-Neo written as torch.nn modules with Hugging Face's module
               names (transformer.h.{i}.attn.attention.{q,k,v,out}_proj, ...),
               loaded from config.json + model.safetensors by a tiny reader;
               q and k are collected with forward hooks on q_proj / k_proj, as
               the study's HookManager does.  HF semantics: no 1/sqrt(d)
               scaling, causal mask + local window on "local" layers, float32
               softmax, gelu_new, tied LM head.  model.forward() computes the
               logits as the study's call did; --forwards nologits skips them
               (several runs may be timed, with different torch thread counts).
  4. fit       sklearn LogisticRegression(solver='newton-cg', max_iter=100)
               per (layer, head, kind); only the probes chosen with
               --probe-layers/--probe-heads/--probe-vectors (cross product),
               since all 256 take ~30 min here.
  5. eval      predict + classification_report(output_dict=True,
               zero_division=1) for the same probes.

Stories: the study's load_tinystories_data (each line's newline -> a space,
a line "<|endoftext|>" ends a story).  The train / test story indices come
from files (one index a line, e.g. taken from `tokenize --split` via
stream-view) so both pipelines see the same stories; without them a seeded
train_test_split(test_size=0.2) as in the study.

Output on stdout, one line per timed stage (seconds include loading what the
stage needs: vocab/merges, tagger pickle, model):
    stage <TAB> seconds <TAB> count <TAB> unit <TAB> CPU seconds (user + sys)
Everything else goes to stderr.

usage: /usr/bin/python3 bench/reference/pipeline.py --stories FILE --vocab F
       --merges F --tagger-zip F --model DIR [--train-ids F --test-ids F]
       [--threads 2] [--probe-layers 2,6 --probe-heads 0,4 --probe-vectors k,q]
       [--forwards logits,nologits@1] [--dump-tagged PREFIX] [--report-csv FILE]
"""
import argparse
import os
import sys
import time

T_START = (time.perf_counter(), time.process_time())


def parse_args():
    p = argparse.ArgumentParser(description="the study's pipeline (reference)")
    p.add_argument("--stories", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--merges", required=True)
    p.add_argument("--tagger-zip", required=True, help="averaged_perceptron_tagger.zip (NLTK 3.8 pickle)")
    p.add_argument("--model", required=True, help="dir with config.json + model.safetensors")
    p.add_argument("--train-ids", help="file: train story indices, one a line")
    p.add_argument("--test-ids", help="file: test story indices, one a line")
    p.add_argument("--n-train", type=int, default=200)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--split-seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--probe-layers", default="2,6")
    p.add_argument("--probe-heads", default="0,4")
    p.add_argument("--probe-vectors", default="k,q")
    p.add_argument("--vb", action="store_true", help="the study's VB* -> VB merge")
    p.add_argument("--forwards", default="logits",
                   help="forward runs to time, comma-separated, each 'logits' (the study's "
                        "model.forward: the LM head is computed) or 'nologits', optionally "
                        "'@N' for N torch threads (default --threads); q, k come from the first")
    p.add_argument("--dump-tagged", help="PREFIX: write PREFIX-train.tsv, PREFIX-test.tsv "
                   "(stream-view rows: story pos id byte-start byte-end text tag)")
    p.add_argument("--report-csv", help="CSV of the classification reports of the fitted probes")
    return p.parse_args()


ARGS = parse_args()
# Thread count for every BLAS / OpenMP pool, before numpy / torch load.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# OpenMP workers sleep instead of spinning between parallel regions: on a
# shared, oversubscribed machine spinning made torch's small per-story ops
# 10-100x slower (measured: 5.3 s vs 0.04 s for one 220-token forward), which
# would measure the machine's load, not the reference.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import warnings  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402
import regex  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import classification_report  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

torch.set_num_threads(ARGS.threads)
# scipy/sklearn line-search and convergence warnings (frequent on random test
# models) are not printed per probe; probes that hit max_iter are counted.
warnings.simplefilter("ignore")
T_IMPORTS = (time.perf_counter() - T_START[0], time.process_time() - T_START[1])


def log(*a):
    print("pipeline.py:", *a, file=sys.stderr, flush=True)


def clock():
    """@return (wall, cpu) now; cpu = user + sys of every thread of the process."""
    return time.perf_counter(), time.process_time()


def since(t0):
    """@return (wall, cpu) seconds since clock() gave t0."""
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


def emit(stage, wall_cpu, count, unit):
    wall, cpu = wall_cpu
    print(f"{stage}\t{wall:.4f}\t{count}\t{unit}\t{cpu:.4f}", flush=True)


# ---------------------------------------------------------------------------
# data (the study's data_handling.py)

def read_stories(path):
    """Stories as the study read them: every line's newline becomes a space;
    a line '<|endoftext|>' closes a story; text after the last one is dropped."""
    stories, cur = [], []
    with open(path, "r", encoding="utf8") as f:
        for line in f:
            if line == "<|endoftext|>\n":
                stories.append("".join(cur))
                cur = []
            else:
                cur.append(line.replace("\n", " "))
    return stories


# ---------------------------------------------------------------------------
# 1. GPT-2 byte-level BPE (what the study's AutoTokenizer did)

GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_alphabet():
    """GPT-2's reversible map from the 256 bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ByteLevelBPE:
    def __init__(self, vocab_path, merges_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            rows = [ln.split() for ln in f.read().split("\n")[1:] if ln.strip()]
        self.rank = {(a, b): i for i, (a, b) in enumerate(rows)}
        self.b2u = byte_alphabet()
        self.memo = {}

    def merge_word(self, symbols):
        """Merge adjacent pairs by rank until none is in merges.txt.
        @return the final symbols (strings of the byte alphabet)."""
        word = tuple(symbols)
        if word in self.memo:
            return self.memo[word]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for pair in zip(parts, parts[1:]):
                r = self.rank.get(pair)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = pair, r
            if best is None:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == best[0] and parts[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.memo[word] = parts
        return parts

    def encode_with_offsets(self, text):
        """@return (ids, char_offsets, byte_offsets): Hugging Face's offset
        mapping counts characters and keeps a token's leading space."""
        ids, coffs, boffs = [], [], []
        byte_base = 0
        for m in GPT2_SPLIT.finditer(text):
            piece = m.group(0)
            raw = piece.encode("utf-8")
            # char index (within text) of every byte of the piece
            char_of_byte = []
            for ci, ch in enumerate(piece):
                char_of_byte.extend([m.start() + ci] * len(ch.encode("utf-8")))
            b = 0
            for sym in self.merge_word(self.b2u[x] for x in raw):
                n = len(sym)  # one alphabet character per byte
                ids.append(self.vocab[sym])
                coffs.append((char_of_byte[b], char_of_byte[b + n - 1] + 1))
                boffs.append((byte_base + b, byte_base + b + n))
                b += n
            byte_base += len(raw)
        return ids, coffs, boffs


# ---------------------------------------------------------------------------
# 2. the study's PosTagger (NLTK whole-story tagging + char-offset alignment)

class StudyPosTagger:
    def __init__(self, bpe):
        from nltk.tokenize import TreebankWordTokenizer
        self.treebank = TreebankWordTokenizer()
        self.bpe = bpe

    def char_tags(self, text):
        from nltk.tag import pos_tag
        per_char = [""] * len(text)
        words = self.treebank.tokenize(text)
        tagged = pos_tag(words)  # NLTK 3.8 builds (loads) a PerceptronTagger per call
        for (s, e), (_, tag) in zip(self.treebank.span_tokenize(text), tagged):
            for i in range(s, e):
                per_char[i] = tag
        return per_char

    def tag_tokens(self, text, char_offsets):
        """The study's middle-character rule: even span length -> the char at
        (start+stop)//2; odd -> one further, clamped to the text."""
        per_char = self.char_tags(text)
        tags = []
        for start, stop in char_offsets:
            mid = (start + stop) // 2
            if (stop - start) % 2 != 0:
                mid = min(mid + 1, len(text) - 1)
            tags.append(per_char[mid])
        return tags


def setup_nltk_tagger(zip_path):
    root = tempfile.mkdtemp(prefix="nltk_data.")
    os.makedirs(os.path.join(root, "taggers"))
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(os.path.join(root, "taggers"))
    os.environ["NLTK_DATA"] = root
    import nltk.data
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)


# ---------------------------------------------------------------------------
# 3. GPT-Neo in torch, Hugging Face module names and semantics

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def load_safetensors(path):
    """Tiny safetensors reader: u64 header size, JSON header, raw buffer
    (little-endian float tensors; other dtypes, e.g. bool masks, skipped)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        buf = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in ST_DTYPES:
            continue
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[b:e], dtype=np.dtype(ST_DTYPES[info["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(arr.reshape(info["shape"]).astype(np.float32))
    return tensors


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0))))


class NeoSelfAttention(nn.Module):
    def __init__(self, cfg, kind):
        super().__init__()
        d = cfg["hidden_size"]
        self.heads = cfg["num_heads"]
        self.head_dim = d // self.heads
        n = cfg["max_position_embeddings"]
        mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
        if kind == "local":
            mask = mask ^ torch.tril(mask, -cfg["window_size"])
        self.register_buffer("bias", mask, persistent=False)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=True)

    def split(self, x):  # [T, d] -> [heads, T, head_dim]
        return x.view(x.shape[0], self.heads, self.head_dim).transpose(0, 1)

    def forward(self, h):
        T = h.shape[0]
        q, k, v = self.split(self.q_proj(h)), self.split(self.k_proj(h)), self.split(self.v_proj(h))
        w = torch.matmul(q.float(), k.float().transpose(-1, -2))  # no 1/sqrt(d) in GPT-Neo
        w = torch.where(self.bias[:T, :T], w, torch.tensor(torch.finfo(w.dtype).min))
        w = torch.softmax(w, dim=-1)
        z = torch.matmul(w, v).transpose(0, 1).reshape(T, -1)
        return self.out_proj(z)


class NeoAttention(nn.Module):
    def __init__(self, cfg, kind):
        super().__init__()
        self.attention = NeoSelfAttention(cfg, kind)

    def forward(self, h):
        return self.attention(h)


class NeoMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, inner = cfg["hidden_size"], cfg.get("intermediate_size") or 4 * cfg["hidden_size"]
        self.c_fc = nn.Linear(d, inner)
        self.c_proj = nn.Linear(inner, d)

    def forward(self, h):
        return self.c_proj(gelu_new(self.c_fc(h)))


class NeoBlock(nn.Module):
    def __init__(self, cfg, kind):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = NeoAttention(cfg, kind)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = NeoMLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NeoTransformer(nn.Module):
    def __init__(self, cfg, kinds):
        super().__init__()
        d = cfg["hidden_size"]
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.wpe = nn.Embedding(cfg["max_position_embeddings"], d)
        self.h = nn.ModuleList(NeoBlock(cfg, k) for k in kinds)
        self.ln_f = nn.LayerNorm(d, eps=cfg["layer_norm_epsilon"])


class NeoForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if "attention_types" in cfg:  # [[["global","local"], 4]] -> per-layer kinds
            kinds = [k for ks, n in cfg["attention_types"] for _ in range(n) for k in ks]
        else:
            kinds = cfg["attention_layers"]
        self.config = cfg
        self.transformer = NeoTransformer(cfg, kinds)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        self.compute_logits = True

    @classmethod
    def from_dir(cls, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        assert cfg.get("activation_function", "gelu_new") == "gelu_new"
        model = cls(cfg)
        sd = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        sd = {k: v for k, v in sd.items() if not k.endswith(("attn.attention.bias", "attn.attention.masked_bias"))}
        if "lm_head.weight" not in sd:
            sd["lm_head.weight"] = sd["transformer.wte.weight"]
        model.load_state_dict(sd, strict=True)
        model.lm_head.weight = model.transformer.wte.weight  # tied
        return model.eval()

    def forward(self, ids):  # ids: [T] long
        t = self.transformer
        x = t.wte(ids) + t.wpe(torch.arange(ids.shape[0]))
        for block in t.h:
            x = block(x)
        x = t.ln_f(x)
        return self.lm_head(x) if self.compute_logits else x


class HookManager:
    """The study's hooks: per layer, the q_proj / k_proj outputs of every
    story, split into heads ([heads, T, head_dim] each)."""

    def __init__(self, model):
        self.model, self.hooks = model, []
        self.heads = model.config["num_heads"]

    def attach(self, layer, kind):
        name = {"k": "k_proj", "q": "q_proj", "v": "v_proj"}[kind]
        store = []

        def hook(module, inp, out):
            store.append(torch.stack(torch.chunk(out.detach(), self.heads, dim=-1)))

        mod = self.model.get_submodule(f"transformer.h.{layer}.attn.attention.{name}")
        self.hooks.append(mod.register_forward_hook(hook))
        return store

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.hooks:
            h.remove()
        self.hooks.clear()


def extract_keys_queries(model, stories_ids):
    """@return keys, queries as numpy [layers, heads, tokens, head_dim]."""
    layers = model.config["num_layers"]
    with HookManager(model) as hm, torch.no_grad():
        keys = [hm.attach(l, "k") for l in range(layers)]
        queries = [hm.attach(l, "q") for l in range(layers)]
        for ids in stories_ids:
            model(torch.tensor(ids, dtype=torch.long))
    keys = torch.stack([torch.cat(per, dim=1) for per in keys]).numpy()
    queries = torch.stack([torch.cat(per, dim=1) for per in queries]).numpy()
    return keys, queries


# ---------------------------------------------------------------------------

def int_list(s):
    out = []
    for part in s.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def read_ids(path):
    with open(path) as f:
        return [int(x) for x in f.read().split()]


def escape(b):
    """stream-view's TSV escapes, on raw bytes (a token may hold part of a
    character: its bytes are written as they are, as stream-view does)."""
    return b.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def dump_tagged(path, story_idx, texts, toks):
    """Rows as stream-view prints a tagged stream (and stream-import reads):
    story pos id byte-start byte-end text tag."""
    with open(path, "wb") as f:
        for si, text, (ids, boffs, tags) in zip(story_idx, texts, toks):
            raw = text.encode("utf-8")
            for pos, (tid, (b, e), tag) in enumerate(zip(ids, boffs, tags)):
                f.write(b"%d\t%d\t%d\t%d\t%d\t%s\t%s\n" % (si, pos, tid, b, e, escape(raw[b:e]), tag.encode()))


def main():
    a = ARGS
    emit("imports", T_IMPORTS, 0, "-")
    stories = read_stories(a.stories)
    if a.train_ids and a.test_ids:
        train_idx, test_idx = read_ids(a.train_ids), read_ids(a.test_ids)
    else:
        tr, te = train_test_split(list(range(len(stories))), test_size=0.2, random_state=a.split_seed)
        train_idx, test_idx = tr[: a.n_train], te[: a.n_test]
    data = {"train": [stories[i] for i in train_idx], "test": [stories[i] for i in test_idx]}
    n_stories = len(train_idx) + len(test_idx)

    # 1. tokenize (vocab + merges loading included)
    t0 = clock()
    bpe = ByteLevelBPE(a.vocab, a.merges)
    enc = {s: [bpe.encode_with_offsets(t) for t in data[s]] for s in ("train", "test")}
    t_tok = since(t0)
    n_tok = sum(len(e[0]) for s in enc for e in enc[s])
    emit("tokenize", t_tok, n_tok, "tokens")

    # 2. tag (NLTK whole stories + the study's alignment)
    t0 = clock()
    setup_nltk_tagger(a.tagger_zip)
    tagger = StudyPosTagger(bpe)
    tags = {s: [tagger.tag_tokens(t, e[1]) for t, e in zip(data[s], enc[s])] for s in ("train", "test")}
    if a.vb:
        tags = {s: [["VB" if g.startswith("VB") else g for g in st] for st in tags[s]] for s in tags}
    t_tag = since(t0)
    emit("tag", t_tag, n_tok, "tokens")
    if a.dump_tagged:
        for s, idx in (("train", train_idx), ("test", test_idx)):
            dump_tagged(f"{a.dump_tagged}-{s}.tsv", idx, data[s],
                        [(e[0], e[2], g) for e, g in zip(enc[s], tags[s])])

    # 3. forward with hooks on q_proj / k_proj (model loading included)
    acts = None
    for spec in a.forwards.split(","):
        kind, _, nthreads = spec.partition("@")
        if kind not in ("logits", "nologits"):
            sys.exit(f"pipeline.py: --forwards: bad run '{spec}'")
        torch.set_num_threads(int(nthreads or a.threads))
        t0 = clock()
        model = NeoForCausalLM.from_dir(a.model)
        model.compute_logits = kind == "logits"
        kq = {s: extract_keys_queries(model, [e[0] for e in enc[s]]) for s in ("train", "test")}
        t_fwd = since(t0)
        emit(f"forward-{spec}", t_fwd, n_tok, "tokens")
        acts = acts or kq
    torch.set_num_threads(a.threads)
    keys = {s: acts[s][0] for s in acts}
    queries = {s: acts[s][1] for s in acts}
    y = {s: [g for st in tags[s] for g in st] for s in ("train", "test")}
    assert keys["train"].shape[2] == len(y["train"]) and keys["test"].shape[2] == len(y["test"])

    # 4. fit the chosen probes, 5. evaluate them
    chosen = [(l, h, v) for v in a.probe_vectors.split(",") for l in int_list(a.probe_layers)
              for h in int_list(a.probe_heads)]
    vec = {"k": keys, "q": queries}
    probes = {}
    t0 = clock()
    for l, h, v in chosen:
        probe = LogisticRegression(solver="newton-cg", max_iter=100)
        probe.fit(vec[v]["train"][l][h], y["train"])
        probes[(l, h, v)] = probe
    t_fit = since(t0)
    emit("fit", t_fit, len(chosen), "probes")
    capped = sum(int(np.max(p.n_iter_)) >= 100 for p in probes.values())

    t0 = clock()
    reports = {}
    for key in chosen:
        l, h, v = key
        preds = probes[key].predict(vec[v]["test"][l][h])
        reports[key] = classification_report(y["test"], preds, output_dict=True, zero_division=1)
    t_eval = since(t0)
    emit("eval", t_eval, len(chosen), "probes")
    log(f"{n_stories} stories ({len(train_idx)} train, {len(test_idx)} test), {n_tok} tokens "
        f"({len(y['train'])} train), {len(chosen)} probes fitted, {capped} stopped at max_iter")

    if a.report_csv:
        with open(a.report_csv, "w") as f:
            f.write("vector,layer,head,label,precision,recall,f1-score,support\n")
            for (l, h, v), rep in reports.items():
                for label, row in rep.items():
                    if label == "accuracy":
                        f.write(f"{v},{l},{h},accuracy,,,{row!r},\n")
                    else:
                        lab = '"' + label.replace('"', '""') + '"'
                        f.write(f"{v},{l},{h},{lab},{row['precision']!r},{row['recall']!r},"
                                f"{row['f1-score']!r},{row['support']}\n")


if __name__ == "__main__":
    main()

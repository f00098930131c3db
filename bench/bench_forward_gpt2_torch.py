#!/usr/bin/python3
"""bench_forward_gpt2_torch.py [--model DIR] [--ids IDS_TXT | --lengths L,L,... --tokens N]
                               [--threads 1,2] [--seed S]

The plain PyTorch side of a GPT-2 forward-dump benchmark: GPT-2 as Hugging
Face computes it (float32, Conv1D weights [in, out], fused c_attn split
q|k|v, scores / sqrt(d_head) (and / (layer+1) when the config says
scale_attn_by_inverse_layer_idx), causal mask on every layer, gelu_new, LM
head not computed), story by story, keeping every layer's q and k of all
heads as numpy arrays (what `forward-dump --vectors q,k` dumps: 144 heads for
GPT-2 small).

Model: --model DIR (any Hugging Face GPT-2 directory, read with
tests/oracles/ref_gpt2.py's loader) or, by default, GPT-2 small's exact shape
(12 layers, 12 heads, 768, vocab 50257) with random weights
(tests/oracles/make_gpt2_fixture.py's gpt2-small, built in memory).
Tokens: --ids IDS_TXT (one story per line of token ids, as bench_forward.sh
writes them) or random ids (seed --seed) in stories whose lengths cycle
through --lengths (default 200) until --tokens (default 4000) are reached.

Prints one line per thread count (torch.set_num_threads), forward loop only
(model loading excluded):
    threads N tokens T wall S cpu C tokens/s R
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oracles"))
import make_gpt2_fixture  # noqa: E402  (random GPT-2 small weights)
import ref_gpt2  # noqa: E402  (config + weights loader only)


def load(model_dir):
    if model_dir is None:
        cfg = ref_gpt2.resolve_config(dict(make_gpt2_fixture.CASES["gpt2-small"]["cfg"], model_type="gpt2"))
        w = make_gpt2_fixture.make_weights("gpt2-small")
        return cfg, {k: torch.from_numpy(v) for k, v in w.items()}, "GPT-2 small shape, random weights"
    m = ref_gpt2.load_model(model_dir)
    w = {k: torch.from_numpy(v.astype(np.float32)) for k, v in m.w.items() if k != "lm_head"}
    return m.cfg, w, model_dir


def stories_of(args, cfg):
    if args.ids:
        return [[int(x) for x in line.split()] for line in open(args.ids) if line.strip()]
    rng = np.random.RandomState(args.seed)
    lengths = [int(x) for x in args.lengths.split(",")]
    out, n, i = [], 0, 0
    while n < args.tokens:
        T = min(lengths[i % len(lengths)], args.tokens - n, cfg["max_tokens"])
        out.append(rng.randint(0, cfg["vocab_size"], size=T).tolist())
        n, i = n + T, i + 1
    return out


def run(cfg, W, stories):
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    dk, eps = D // H, cfg["layer_norm_epsilon"]
    inv = cfg["scale_attn_by_inverse_layer_idx"]
    sw = cfg["scale_attn_weights"]
    with torch.no_grad():
        for ids in stories:
            T = len(ids)
            x = W["wte.weight"][torch.tensor(ids)] + W["wpe.weight"][:T]
            causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
            dump = []
            for l in range(L):
                p = "h.%d." % l
                h = F.layer_norm(x, (D,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
                qkv = torch.addmm(W[p + "attn.c_attn.bias"], h, W[p + "attn.c_attn.weight"])  # [T][3D]
                q, k, v = (t.view(T, H, dk).transpose(0, 1) for t in qkv.split(D, dim=1))
                s = q @ k.transpose(-1, -2)
                if sw:
                    s = s / (dk ** 0.5)
                if inv:
                    s = s / float(l + 1)
                s = torch.where(causal, s, torch.finfo(torch.float32).min)
                z = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(T, D)
                x = x + torch.addmm(W[p + "attn.c_proj.bias"], z, W[p + "attn.c_proj.weight"])
                h = F.layer_norm(x, (D,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
                h = F.gelu(torch.addmm(W[p + "mlp.c_fc.bias"], h, W[p + "mlp.c_fc.weight"]), approximate="tanh")
                x = x + torch.addmm(W[p + "mlp.c_proj.bias"], h, W[p + "mlp.c_proj.weight"])
                dump.append(q.transpose(0, 1).numpy().copy())
                dump.append(k.transpose(0, 1).numpy().copy())
            F.layer_norm(x, (D,), W["ln_f.weight"], W["ln_f.bias"], eps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--model")
    ap.add_argument("--ids")
    ap.add_argument("--lengths", default="200")
    ap.add_argument("--tokens", type=int, default=4000)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    cfg, W, what = load(args.model)
    stories = stories_of(args, cfg)
    ntok = sum(len(s) for s in stories)
    print("# %s; %d layers x %d heads, d_head %d; %d tokens in %d stories; q,k of all heads kept"
          % (what, cfg["n_layer"], cfg["n_head"], cfg["n_embd"] // cfg["n_head"], ntok, len(stories)))
    for th in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(th)
        t0, c0 = time.perf_counter(), time.process_time()
        run(cfg, W, stories)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print("threads %d tokens %d wall %.4f cpu %.4f tokens/s %.1f" % (th, ntok, wall, cpu, ntok / wall))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""check_ref_gpt2.py [FIXTURE_ROOT [MODEL_DIR T]]: checks the float64 NumPy reference
(ref_gpt2.py) against a second, independent GPT-2 written here in float32
PyTorch from the same upstream semantics (modeling_gpt2.py, eager path), and
shows that the fixtures would catch the usual ways of getting GPT-2 wrong.

1. Agreement: on random models (the committed fixtures under FIXTURE_ROOT,
   default tests/golden/gpt2, plus extra configs made here: no attention
   scaling at all, scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn,
   both, n_inner null, a non-default layer_norm_epsilon, untied LM head) q, k,
   v, z, activity, every head's attention and the logits agree within 1e-5 of
   the largest magnitude of each quantity.  The PyTorch side reads the
   pytorch_model.bin with torch.load and its own name handling; the reference
   reads model.safetensors with its own parser.  With reorder_and_upcast_attn
   the PyTorch side runs the upcast/reordered path (baddbmm with alpha), as
   GPT2Attention._upcast_and_reordered_attn does.  MODEL_DIR T adds any
   other GPT-2 directory (e.g. GPT-2 small's shape) on T random ids.
2. Sensitivity: the same PyTorch forward with one deliberate mistake each
   (the mistakes a GPT-Neo forward would make on GPT-2, and a few more) must
   fail the C test's tolerance (|got - ref| <= 1e-4 |ref| + 1e-5 max|ref|) on
   some fixture; two harmless variants (mask value -1e4 instead of finfo.min;
   the reordered attention on a model that does not ask for it) must pass it.

Needs Debian's python3-numpy and python3-torch (torch 1.13: no
F.scaled_dot_product_attention; everything is explicit ops).  Exit status 0
only when every check holds.
"""
import collections
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_gpt2_fixture as fx  # noqa: E402
import ref_gpt2  # noqa: E402

KEYS = ("q", "k", "v", "z", "activity", "attn", "logits")


def load_bin(d):
    """config.json + pytorch_model.bin, independent of ref_gpt2's loader
    (a directory with only model.safetensors is read with ref_gpt2's
    safetensors parser: the name handling and the forward stay independent)."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    if os.path.exists(os.path.join(d, "pytorch_model.bin")):
        sd = torch.load(os.path.join(d, "pytorch_model.bin"), map_location="cpu")
    else:
        sd = {k: torch.from_numpy(np.array(v)) for k, v in
              ref_gpt2.read_safetensors(os.path.join(d, "model.safetensors")).items()}
    w = {}
    for n, t in sd.items():
        n2 = n[len("transformer."):] if n.startswith("transformer.") else n
        if n2.endswith(".attn.bias") or n2.endswith(".attn.masked_bias"):
            continue  # causal-mask buffers, not weights
        w[n2] = t.to(torch.float32)
    if cfg.get("tie_word_embeddings", True) or "lm_head.weight" not in w:
        w["lm_head.weight"] = w["wte.weight"]
    return cfg, w


def conv1d(x, weight, bias):
    # transformers' Conv1D: addmm(bias, x, weight) with weight [in, out]
    return torch.addmm(bias, x, weight)


def torch_forward(cfg, w, ids, mut=frozenset(), reorder=None):
    """float32 GPT-2 forward; `mut` names deliberate mistakes (sensitivity)."""
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    dk = D // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    if "eps-1e-5" in mut:
        eps = 1e-5
    inner = cfg.get("n_inner") or 4 * D
    scale_w = cfg.get("scale_attn_weights", True) and "no-sqrt-scale" not in mut
    scale_l = cfg.get("scale_attn_by_inverse_layer_idx", False) and "no-layer-scale" not in mut
    if reorder is None:
        reorder = cfg.get("reorder_and_upcast_attn", False)
    T = len(ids)
    idx = torch.tensor(ids, dtype=torch.long)
    x = F_embed(w["wte.weight"], idx) + w["wpe.weight"][:T]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    if "local-window-4" in mut:  # GPT-Neo's local layers on odd layers
        local = causal ^ torch.tril(causal, -4)
    out = collections.defaultdict(list)
    for l in range(L):
        p = "h.%d." % l
        a = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = conv1d(a, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"])
        q, k, v = qkv.split(D, dim=1)
        if "split-k-q-v" in mut:
            k, q = q, k
        if "heads-interleaved" in mut:
            sh = lambda t: t.view(T, dk, H).permute(2, 0, 1)
        else:
            sh = lambda t: t.view(T, H, dk).permute(1, 0, 2)  # [H][T][dk]
        q, k, v = sh(q), sh(k), sh(v)
        if reorder:
            # _upcast_and_reordered_attn: one scale factor as baddbmm's alpha
            alpha = 1.0
            if scale_w:
                alpha /= float(dk) ** 0.5
            if scale_l:
                alpha /= float(l + 1)
            s = torch.baddbmm(torch.empty(H, T, T), q.float(), k.transpose(-1, -2).float(), beta=0, alpha=alpha)
        else:
            s = torch.matmul(q, k.transpose(-1, -2))
            if scale_w:
                s = s / torch.full([], v.size(-1) ** 0.5, dtype=s.dtype)
            if scale_l:
                s = s / float(l + 1)
        mask = local if ("local-window-4" in mut and l % 2 == 1) else causal
        mval = -1e4 if "mask-1e4" in mut else torch.finfo(s.dtype).min
        s = torch.where(mask, s, torch.full([], mval, dtype=s.dtype))
        pr = torch.nn.functional.softmax(s, dim=-1)
        z = torch.matmul(pr, v)                        # [H][T][dk]
        Wo = w[p + "attn.c_proj.weight"]               # [in][out]
        if "c_proj-as-linear" in mut:
            Wo = Wo.t().contiguous()
        if "activity-columns" in mut:
            act = torch.stack([torch.linalg.norm(z[h] @ Wo[:, h * dk:(h + 1) * dk].t(), dim=-1)
                               for h in range(H)], dim=-1)
        else:
            act = torch.stack([torch.linalg.norm(z[h] @ Wo[h * dk:(h + 1) * dk, :], dim=-1)
                               for h in range(H)], dim=-1)
        zm = z.permute(1, 0, 2).reshape(T, D)
        x = x + conv1d(zm, Wo, w[p + "attn.c_proj.bias"])
        m = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = conv1d(m, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"])
        if "gelu-erf" in mut:
            m = torch.nn.functional.gelu(m)
        else:  # NewGELUActivation
            m = 0.5 * m * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (m + 0.044715 * torch.pow(m, 3.0))))
        assert m.shape[1] == inner
        x = x + conv1d(m, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
        for key, t in (("q", q), ("k", k), ("v", v), ("z", z)):
            out[key].append(t.permute(1, 0, 2))
        out["activity"].append(act)
        out["attn"].append(pr)
    h = torch.nn.functional.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"], eps)
    res = {k: torch.stack(v).numpy().astype(np.float64) for k, v in out.items()}
    res["logits"] = (h @ w["lm_head.weight"].t()).numpy().astype(np.float64)
    return res


def F_embed(table, idx):
    return torch.nn.functional.embedding(idx, table)


def reference(model, ids):
    return ref_gpt2.forward(model, ids, attn_of="all")


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def c_tolerance_ok(got, ref):
    # the C tests' criterion (tests/unit/test_gptneo.c): per element
    return bool(np.all(np.abs(got - ref) <= 1e-4 * np.abs(ref) + 1e-5 * np.max(np.abs(ref))))


# Extra random configs for the agreement check (never committed).
EXTRA = {
    "x-noscale": dict(seed=31, std=0.3, cfg=dict(n_layer=2, n_head=2, n_embd=16, n_inner=None, vocab_size=60,
                                                 n_positions=24, scale_attn_weights=False)),
    "x-invlayer": dict(seed=32, std=0.3, cfg=dict(n_layer=3, n_head=4, n_embd=32, n_inner=40, vocab_size=80,
                                                  n_positions=32, scale_attn_by_inverse_layer_idx=True)),
    "x-reorder": dict(seed=33, std=0.3, cfg=dict(n_layer=3, n_head=2, n_embd=16, n_inner=None, vocab_size=70,
                                                 n_positions=32, reorder_and_upcast_attn=True,
                                                 layer_norm_epsilon=1e-6)),
    "x-both-untied": dict(seed=34, std=0.25, cfg=dict(n_layer=3, n_head=3, n_embd=24, n_inner=None, vocab_size=90,
                                                      n_positions=40, scale_attn_by_inverse_layer_idx=True,
                                                      reorder_and_upcast_attn=True, tie_word_embeddings=False)),
}
MISTAKES = ["no-sqrt-scale", "no-layer-scale", "eps-1e-5", "split-k-q-v", "heads-interleaved",
            "c_proj-as-linear", "activity-columns", "gelu-erf", "local-window-4"]
HARMLESS = ["mask-1e4", "reorder-path"]


def make_extra(name, root):
    fx.CASES[name] = EXTRA[name]
    fx.NOPREFIX_MASK[name] = "uint8"
    d = os.path.join(root, name)
    fx.main(["make_gpt2_fixture.py", name, d])
    if not EXTRA[name]["cfg"].get("tie_word_embeddings", True):
        # an untied head: add lm_head.weight with its own values to the .bin
        sd = torch.load(os.path.join(d, "bin", "pytorch_model.bin"))
        V, D = sd["transformer.wte.weight"].shape
        sd["lm_head.weight"] = torch.from_numpy(np.random.RandomState(99).normal(0, 0.3, (V, D)).astype(np.float32))
        torch.save(sd, os.path.join(d, "bin", "pytorch_model.bin"))
        # and to the safetensors file, which the reference reads
        st = ref_gpt2.read_safetensors(os.path.join(d, "safetensors", "model.safetensors"))
        st = collections.OrderedDict((k, np.array(v)) for k, v in st.items())
        st["lm_head.weight"] = sd["lm_head.weight"].numpy()
        fx.write_safetensors(os.path.join(d, "safetensors", "model.safetensors"), st)
    return d


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.join(HERE, "..", "golden", "gpt2")
    torch.set_num_threads(1)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [(c, os.path.join(root, c)) for c in ("tiny", "small") if os.path.isdir(os.path.join(root, c))]
        if len(dirs) != 2:
            print("not ok - committed fixtures tiny/ and small/ under %s" % root)
            return 1
        dirs += [(n, make_extra(n, tmp)) for n in EXTRA]
        extra_T = {}
        if len(argv) == 4:
            dirs.append(("arg", argv[2]))  # printed as "arg": the MODEL_DIR given
            extra_T["arg"] = int(argv[3])
        print("# agreement: float32 PyTorch (pytorch_model.bin) vs float64 NumPy reference (model.safetensors)")
        runs = []
        for name, d in dirs:
            if name == "arg":
                model, bindir = ref_gpt2.load_model(d), d
            else:
                model, bindir = ref_gpt2.load_model(os.path.join(d, "safetensors")), os.path.join(d, "bin")
            cfg, w = load_bin(bindir)
            T = extra_T.get(name, model.cfg["max_tokens"])
            ids = np.random.RandomState(7).randint(0, model.cfg["vocab_size"], size=T).tolist()
            ref = reference(model, ids)
            got = torch_forward(cfg, w, ids)
            errs = {k: rel_err(got[k], ref[k]) for k in KEYS}
            worst = max(errs.values())
            ok = worst <= 1e-5
            failures += not ok
            print("%s - %-14s T=%-3d worst relative error %.2e  (%s)" % (
                "ok" if ok else "not ok", name, T, worst,
                " ".join("%s %.1e" % (k, e) for k, e in errs.items())))
            runs.append((name, cfg, w, ids, ref))
        print("# sensitivity: each mistake must fail the C tolerance on some model; harmless variants must pass")
        for mut in MISTAKES + HARMLESS:
            caught = []
            for name, cfg, w, ids, ref in runs:
                if mut == "reorder-path":
                    got = torch_forward(cfg, w, ids, reorder=not cfg.get("reorder_and_upcast_attn", False))
                else:
                    got = torch_forward(cfg, w, ids, mut=frozenset([mut]))
                bad = [k for k in KEYS if not c_tolerance_ok(got[k], ref[k])]
                if bad:
                    caught.append("%s(%s)" % (name, ",".join(bad)))
            want_caught = mut in MISTAKES
            ok = bool(caught) == want_caught
            failures += not ok
            print("%s - %-18s %s" % ("ok" if ok else "not ok", mut,
                                     ("caught by " + " ".join(caught)) if caught else "within tolerance everywhere"))
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

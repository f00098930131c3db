#!/usr/bin/python3
"""ref_gptneo.py: an independent reference forward of GPT-Neo in NumPy.

Written from the semantics of Hugging Face transformers' modeling_gpt_neo.py
(GPTNeoForCausalLM, no past, no padding), not from the project's C code:

  x = wte[ids] + wpe[arange(T)]
  per block:  a = LN1(x); q, k, v = a @ Wq.T, a @ Wk.T, a @ Wv.T   (no bias)
              per head: w = q @ k.T            (GPT-Neo does NOT scale by 1/sqrt(d))
                        causal mask (tril); "local" layers: tril XOR tril(-window)
                        masked scores -> finfo(float32).min, softmax, z = w @ v
              x = x + merge_heads(z) @ Wo.T + bo
              x = x + c_proj(gelu_new(c_fc(LN2(x))))
  logits = LN_f(x) @ lm_head.T   (lm_head tied to wte when absent)

Everything is computed in float64 from the float32 weights (the reference is
the exact function; the C forward is float32 and must be within tolerance).

Also usable as a module: load_model(dir), forward(model, ids).
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    """A minimal safetensors reader: u64 header length, JSON header, buffer."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buf = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in DTYPES:
            continue  # bool / integer buffers (causal masks): not weights
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[b:e], dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).astype(np.float32)
    return out


def expand_attention_types(types):
    # GPTNeoConfig.expand_attention_types_params
    layers = []
    for kinds, count in types:
        for _ in range(count):
            layers.extend(kinds)
    return layers


def load_model(model_dir):
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    assert cfg.get("activation_function", "gelu_new") == "gelu_new"
    if "attention_types" in cfg:
        cfg["attention_layers"] = expand_attention_types(cfg["attention_types"])
    assert len(cfg["attention_layers"]) == cfg["num_layers"]
    if cfg.get("intermediate_size") is None:
        cfg["intermediate_size"] = 4 * cfg["hidden_size"]
    sd = read_safetensors(model_dir + "/model.safetensors")
    return cfg, sd


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def forward(model, ids, attn_of=None, logits_rows=None, hook=None, dtype=np.float64):
    """Run one sequence.  Returns a dict with per-layer arrays
    q, k, v, z: [L][T][H][dk], activity: [L][T][H], attn: [T][T] of
    attn_of=(layer, head), logits: [len(logits_rows)][V] (None = all rows).

    hook (optional, for head analyses; tests/oracles/ref_heads.py): a dict of
    callables, each called at one point of the forward; one that returns
    something other than None replaces the value it was shown:
      "embed"(x)            x = wte[ids] + wpe[pos], [T][D]
      "attn"(l, w)          layer l's attention probabilities, [H][T][T]
      "z"(l, zh)            head outputs before out_proj, [H][T][dk] (replaceable)
      "attn_out"(l, o)      the attention block's output z @ Wo.T + bo, [T][D]
                            (replaceable; activity is computed from z first)
      "mlp_out"(l, m)       the MLP block's output (c_proj incl. bias), [T][D]
      "final"(x)            the residual stream entering ln_f, [T][D]
    dtype: the arithmetic type (float64, the reference; float32 only to
    estimate what a float32 implementation's rounding does)."""
    cfg, sd = model
    g = lambda n: sd[n].astype(dtype)
    hook = hook or {}

    def at(name, *args):
        f = hook.get(name)
        r = f(*args) if f else None
        return args[-1] if r is None else r
    D, H, L = cfg["hidden_size"], cfg["num_heads"], cfg["num_layers"]
    dk = D // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    win = cfg.get("window_size", 256)
    T = len(ids)
    ids = np.asarray(ids)
    assert ids.max() < cfg["vocab_size"] and T <= cfg["max_position_embeddings"]
    x = g("transformer.wte.weight")[ids] + g("transformer.wpe.weight")[np.arange(T)]
    x = at("embed", x)
    causal = np.tril(np.ones((T, T), dtype=bool))
    res = {k: [] for k in ("q", "k", "v", "z", "activity")}
    res["attn"] = None
    big_neg = np.finfo(np.float32).min
    for l in range(L):
        p = "transformer.h.%d." % l
        a = layer_norm(x, g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps)
        q = a @ g(p + "attn.attention.q_proj.weight").T
        k = a @ g(p + "attn.attention.k_proj.weight").T
        v = a @ g(p + "attn.attention.v_proj.weight").T
        split = lambda t: t.reshape(T, H, dk).transpose(1, 0, 2)  # [H][T][dk]
        qh, kh, vh = split(q), split(k), split(v)
        mask = causal
        if cfg["attention_layers"][l] == "local":
            mask = np.bitwise_xor(causal, np.tril(causal, -win))
        w = qh @ kh.transpose(0, 2, 1)  # [H][T][T], no scaling
        w = np.where(mask[None], w, big_neg)
        w = w - w.max(-1, keepdims=True)
        w = np.exp(w)
        w = w / w.sum(-1, keepdims=True)
        w = at("attn", l, w)
        zh = at("z", l, w @ vh)  # [H][T][dk]
        if attn_of is not None and attn_of[0] == l:
            res["attn"] = w[attn_of[1]]
        z = zh.transpose(1, 0, 2).reshape(T, D)
        Wo = g(p + "attn.attention.out_proj.weight")  # [D out][D in]
        # activity: || Wo[:, h*dk:(h+1)*dk] @ z_h ||_2 per token and head
        act = np.stack([np.linalg.norm(zh[h] @ Wo[:, h * dk:(h + 1) * dk].T, axis=-1)
                        for h in range(H)], axis=-1)  # [T][H]
        x = x + at("attn_out", l, z @ Wo.T + g(p + "attn.attention.out_proj.bias"))
        m = layer_norm(x, g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps)
        m = gelu_new(m @ g(p + "mlp.c_fc.weight").T + g(p + "mlp.c_fc.bias"))
        x = x + at("mlp_out", l, m @ g(p + "mlp.c_proj.weight").T + g(p + "mlp.c_proj.bias"))
        res["q"].append(qh.transpose(1, 0, 2))
        res["k"].append(kh.transpose(1, 0, 2))
        res["v"].append(vh.transpose(1, 0, 2))
        res["z"].append(zh.transpose(1, 0, 2))
        res["activity"].append(act)
    for key in ("q", "k", "v", "z", "activity"):
        res[key] = np.stack(res[key])
    x = at("final", x)
    hfin = layer_norm(x, g("transformer.ln_f.weight"), g("transformer.ln_f.bias"), eps)
    lm = g("lm_head.weight") if "lm_head.weight" in sd else g("transformer.wte.weight")
    rows = range(T) if logits_rows is None else logits_rows
    res["logits"] = hfin[list(rows)] @ lm.T
    return res


def main(argv):
    """ref_gptneo.py MODEL_DIR ID,ID,...: print top-5 logits of the last token."""
    model = load_model(argv[1])
    ids = [int(s) for s in argv[2].split(",")]
    r = forward(model, ids, logits_rows=[len(ids) - 1])
    top = np.argsort(-r["logits"][0])[:5]
    for i in top:
        print(i, "%.6f" % r["logits"][0][i])


if __name__ == "__main__":
    main(sys.argv)

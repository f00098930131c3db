#!/usr/bin/python3
"""ref_gpt2.py: an independent float64 reference forward of GPT-2 in NumPy.

Written from the semantics of Hugging Face transformers' modeling_gpt2.py
(GPT2LMHeadModel, eager attention, eval mode: no dropout, no past, no padding,
no token_type_ids), as docs/gpt2.md spells them out; not copied from
transformers and not from the project's C code:

  x = wte[ids] + wpe[arange(T)]
  per block l = 0 .. n_layer-1:
      a = LN1(x)                                    nn.LayerNorm: biased variance, eps inside sqrt
      qkv = a @ c_attn.weight + c_attn.bias         Conv1D: weight is [in=D, out=3D]
      q, k, v = qkv[:, 0:D], qkv[:, D:2D], qkv[:, 2D:3D]     (split(D, dim=2): q first)
      head h = columns h*dk .. (h+1)*dk of each     (view(T, H, dk))
      s = q_h k_h^T
          / sqrt(dk)       if scale_attn_weights            (default true)
          / (l + 1)        if scale_attn_by_inverse_layer_idx (default false)
      causal: keys j <= i only (every layer is global: no local window)
      p = softmax(s), z_h = p v_h
      x = x + concat_h(z_h) @ c_proj.weight + c_proj.bias    (Conv1D [D, D])
      x = x + c_proj_mlp(gelu_new(c_fc(LN2(x))))             (Conv1D [D, inner], [inner, D])
  logits = LN_f(x) @ wte^T          (lm_head tied to wte unless tie_word_embeddings is false)

activity[t][h] = || z_h[t] @ c_proj.weight[h*dk:(h+1)*dk, :] ||_2   (the rows of
the [in, out] weight that head h feeds; c_proj's bias is not part of it).

reorder_and_upcast_attn only changes the order of float operations (and the
dtype, which float32 already is): the exact function is the same, so the
reference accepts it and computes the same thing (check_ref_gpt2.py runs both
PyTorch paths against it).

Everything is computed in float64 from the stored weights; the C forward is
float32 and is compared within tolerance.

Also usable as a module: load_model(dir[, weights_file]) -> Model,
forward(model, ids, attn_of=(layer, head), logits_rows=[...]), greedy().
"""
import json
import os
import struct
import sys

import numpy as np

# GPT2Config.__init__ defaults (transformers configuration_gpt2.py); used when
# a key is absent from config.json, as from_pretrained does.
GPT2_DEFAULTS = {
    "vocab_size": 50257,
    "n_positions": 1024,
    "n_embd": 768,
    "n_layer": 12,
    "n_head": 12,
    "n_inner": None,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5,
    "scale_attn_weights": True,
    "scale_attn_by_inverse_layer_idx": False,
    "reorder_and_upcast_attn": False,
    "tie_word_embeddings": True,   # PretrainedConfig's default
    "add_cross_attention": False,  # PretrainedConfig's default
}
# GPT2Config.attribute_map: the generic names a config.json may use instead.
ALIASES = {"hidden_size": "n_embd", "max_position_embeddings": "n_positions",
           "num_attention_heads": "n_head", "num_hidden_layers": "n_layer"}

SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
                      "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                      "U8": "u1", "BOOL": "?"}


class RefError(Exception):
    pass


class Model:
    def __init__(self, cfg, w, source):
        self.cfg = cfg          # the resolved config (defaults filled in)
        self.w = w              # name without "transformer." -> float64 array
        self.source = source    # the weights file read


def read_safetensors(path):
    """All tensors of a .safetensors file, parsed by hand: u64 little-endian
    header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
    then the data (offsets relative to its start)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise RefError("%s: shorter than 8 bytes" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise RefError("%s: header length beyond the file" % path)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in SAFETENSORS_DTYPES:
            raise RefError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        b, e = info["data_offsets"]
        if not 0 <= b <= e <= len(data):
            raise RefError("%s: tensor %s outside the data" % (path, name))
        a = np.frombuffer(data[b:e], dtype=np.dtype(SAFETENSORS_DTYPES[dt]))
        if dt == "BF16":  # the top 16 bits of a float32
            a = (a.astype(np.uint32) << 16).view("<f4")
        if a.size != int(np.prod(info["shape"], dtype=np.int64)):
            raise RefError("%s: tensor %s: size does not match its shape" % (path, name))
        out[name] = a.reshape(info["shape"])
    return out


def read_torch_bin(path):
    """A pytorch_model.bin state dict via torch.load (CPU), as NumPy arrays."""
    import torch
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        sd = torch.load(path, map_location="cpu")
    out = {}
    for name, t in sd.items():
        if t.dtype == torch.bfloat16:
            t = t.float()
        out[name] = t.numpy()
    return out


def resolve_config(raw):
    """config.json -> the config the forward uses, or RefError for what we
    refuse (see docs/gpt2.md, 'Config')."""
    cfg = dict(raw)
    for alias, key in ALIASES.items():
        if alias in cfg:
            if key in cfg and cfg[key] != cfg[alias]:
                raise RefError("config: %s=%r disagrees with %s=%r" % (alias, cfg[alias], key, cfg[key]))
            cfg[key] = cfg[alias]
    if cfg.get("model_type", "gpt2") != "gpt2":
        raise RefError("config: model_type %r is not gpt2" % cfg.get("model_type"))
    for key, dflt in GPT2_DEFAULTS.items():
        if key not in cfg:
            cfg[key] = dflt
    if cfg["activation_function"] != "gelu_new":
        raise RefError("config: activation_function %r is not supported (only gelu_new)"
                       % cfg["activation_function"])
    if cfg["add_cross_attention"]:
        raise RefError("config: add_cross_attention (encoder-decoder GPT-2) is not supported")
    D, H = cfg["n_embd"], cfg["n_head"]
    if D % H:
        raise RefError("config: n_embd %d is not divisible by n_head %d" % (D, H))
    if cfg["n_inner"] is None:
        cfg["n_inner"] = 4 * D
    # Sequences may be as long as wpe has rows; the legacy n_ctx (GPT2Config
    # before transformers dropped it sized the causal-mask buffer) caps it too.
    cfg["max_tokens"] = cfg["n_positions"]
    if cfg.get("n_ctx") is not None:
        cfg["max_tokens"] = min(cfg["max_tokens"], cfg["n_ctx"])
    return cfg


def is_buffer(name):
    # GPT2Attention's registered buffers: the causal mask "bias" ([1,1,P,P],
    # bool, uint8 or float32 depending on the transformers version that saved
    # it) and "masked_bias" (a scalar, -1e4).  Not weights: skip by name,
    # whatever their dtype (a float32 mask would otherwise look like a weight).
    return name.endswith(".attn.bias") or name.endswith(".attn.masked_bias")


def expected_shapes(cfg):
    D, L, V, P, I = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"], cfg["n_inner"]
    s = {"wte.weight": (V, D), "wpe.weight": (P, D), "ln_f.weight": (D,), "ln_f.bias": (D,)}
    for l in range(L):
        p = "h.%d." % l
        s.update({p + "ln_1.weight": (D,), p + "ln_1.bias": (D,),
                  p + "attn.c_attn.weight": (D, 3 * D), p + "attn.c_attn.bias": (3 * D,),
                  p + "attn.c_proj.weight": (D, D), p + "attn.c_proj.bias": (D,),
                  p + "ln_2.weight": (D,), p + "ln_2.bias": (D,),
                  p + "mlp.c_fc.weight": (D, I), p + "mlp.c_fc.bias": (I,),
                  p + "mlp.c_proj.weight": (I, D), p + "mlp.c_proj.bias": (D,)})
    return s


def normalise(tensors, cfg, path):
    """State-dict names -> names without 'transformer.'; buffers dropped;
    shapes checked; lm_head handled as GPT2LMHeadModel ties it."""
    names = list(tensors)
    prefixed = [n for n in names if n.startswith("transformer.")]
    bare = [n for n in names if not n.startswith("transformer.") and n != "lm_head.weight"]
    if prefixed and bare:
        raise RefError("%s: mixes names with and without 'transformer.' (%s, %s)" % (path, prefixed[0], bare[0]))
    w, lm_head = {}, None
    for n, a in tensors.items():
        key = n[len("transformer."):] if n.startswith("transformer.") else n
        if n == "lm_head.weight":
            lm_head = a
            continue
        if is_buffer(key):
            if key.endswith(".attn.bias"):
                P = cfg["n_positions"]
                # A sanity check of what we skip: a lower-triangular 0/1 mask.
                m = np.asarray(a).reshape(a.shape[-2], a.shape[-1]) != 0
                if not np.array_equal(m, np.tril(np.ones(m.shape, dtype=bool))) or m.shape[0] > max(P, cfg.get("n_ctx") or 0):
                    raise RefError("%s: %s is not a causal mask" % (path, n))
            continue
        w[key] = a
    want = expected_shapes(cfg)
    for key, shape in want.items():
        if key not in w:
            raise RefError("%s: missing tensor %s" % (path, key))
        if tuple(w[key].shape) != shape:
            raise RefError("%s: %s has shape %s, expected %s" % (path, key, tuple(w[key].shape), shape))
        if w[key].dtype.kind != "f":
            raise RefError("%s: %s is not floating point" % (path, key))
    extra = sorted(set(w) - set(want))
    if extra:
        raise RefError("%s: unexpected tensor %s (not GPT2LMHeadModel)" % (path, extra[0]))
    w = {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}
    if cfg["tie_word_embeddings"]:
        # HF ties lm_head.weight to wte after loading: a stored copy is not used.
        w["lm_head"] = w["wte.weight"]
    else:
        if lm_head is None:
            raise RefError("%s: tie_word_embeddings is false but there is no lm_head.weight" % path)
        if tuple(lm_head.shape) != want["wte.weight"]:
            raise RefError("%s: lm_head.weight has shape %s" % (path, tuple(lm_head.shape)))
        w["lm_head"] = np.asarray(lm_head, dtype=np.float64)
    return w


def load_model(model_dir, weights=None):
    """A Hugging Face GPT-2 directory: config.json plus model.safetensors
    (preferred, as from_pretrained prefers it) or pytorch_model.bin, or the
    weights file named by `weights`."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = resolve_config(json.load(f))
    if weights is None:
        for cand in ("model.safetensors", "pytorch_model.bin"):
            if os.path.exists(os.path.join(model_dir, cand)):
                weights = os.path.join(model_dir, cand)
                break
        else:
            raise RefError("%s: no model.safetensors or pytorch_model.bin" % model_dir)
    if weights.endswith(".safetensors"):
        tensors = read_safetensors(weights)
    else:
        tensors = read_torch_bin(weights)
    return Model(cfg, normalise(tensors, cfg, weights), weights)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)  # biased, as nn.LayerNorm
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def attn_scale(cfg, layer):
    """What GPT-2 divides q.k by in layer `layer` (0-based)."""
    dk = cfg["n_embd"] // cfg["n_head"]
    s = 1.0
    if cfg["scale_attn_weights"]:
        s *= np.sqrt(dk)
    if cfg["scale_attn_by_inverse_layer_idx"]:
        s *= layer + 1
    return s


def forward(model, ids, attn_of=None, logits_rows=None):
    """Run one sequence.  Returns a dict of float64 arrays:
    q, k, v, z: [L][T][H][dk]; activity: [L][T][H]; attn: [T][T] softmax of
    attn_of=(layer, head) (row i = query i; zero above the diagonal), or
    [L][H][T][T] for attn_of="all"; logits: [len(logits_rows)][V]
    (logits_rows None = every position)."""
    cfg, w = model.cfg, model.w
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    dk, eps = D // H, cfg["layer_norm_epsilon"]
    ids = np.asarray(ids, dtype=np.int64)
    T = len(ids)
    if T == 0 or T > cfg["max_tokens"]:
        raise RefError("%d tokens: the model takes 1 .. %d" % (T, cfg["max_tokens"]))
    if ids.min() < 0 or ids.max() >= cfg["vocab_size"]:
        raise RefError("token id outside the vocabulary")
    x = w["wte.weight"][ids] + w["wpe.weight"][np.arange(T)]   # [T][D]
    causal = np.tril(np.ones((T, T), dtype=bool))                # [T][T] key j <= query i
    res = {k: [] for k in ("q", "k", "v", "z", "activity")}
    res["attn"] = [] if attn_of == "all" else None
    for l in range(L):
        p = "h.%d." % l
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # [T][3D]
        heads = lambda t: t.reshape(T, H, dk).transpose(1, 0, 2)            # [H][T][dk]
        qh, kh, vh = heads(qkv[:, :D]), heads(qkv[:, D:2 * D]), heads(qkv[:, 2 * D:])
        s = (qh @ kh.transpose(0, 2, 1)) / attn_scale(cfg, l)              # [H][T][T]
        s = np.where(causal[None], s, -np.inf)  # masked keys get probability exactly 0
        s = s - s.max(-1, keepdims=True)
        e = np.exp(s)
        pr = e / e.sum(-1, keepdims=True)
        zh = pr @ vh                                                        # [H][T][dk]
        if attn_of == "all":
            res["attn"].append(pr)
        elif attn_of is not None and attn_of[0] == l:
            res["attn"] = pr[attn_of[1]]
        Wo = w[p + "attn.c_proj.weight"]                                    # [D in][D out]
        act = np.stack([np.linalg.norm(zh[h] @ Wo[h * dk:(h + 1) * dk, :], axis=-1)
                        for h in range(H)], axis=-1)                        # [T][H]
        z = zh.transpose(1, 0, 2).reshape(T, D)                             # merge heads
        x = x + z @ Wo + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        for key, t in (("q", qh), ("k", kh), ("v", vh), ("z", zh)):
            res[key].append(t.transpose(1, 0, 2))                          # [T][H][dk]
        res["activity"].append(act)
    for key in ("q", "k", "v", "z", "activity") + (("attn",) if attn_of == "all" else ()):
        res[key] = np.stack(res[key])
    hfin = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    rows = list(range(T)) if logits_rows is None else list(logits_rows)
    res["logits"] = hfin[rows] @ w["lm_head"].T
    return res


def greedy(model, ids, n):
    """Greedy continuation by n tokens (argmax, lowest id on ties), as
    generate(do_sample=False) picks them."""
    out = list(ids)
    for _ in range(n):
        r = forward(model, out, logits_rows=[len(out) - 1])
        out.append(int(np.argmax(r["logits"][0])))
    return out


def main(argv):
    """ref_gpt2.py MODEL_DIR ID,ID,...            top-5 logits of the last token
       ref_gpt2.py MODEL_DIR ID,ID,... --greedy N   greedy continuation ids"""
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--greedy"):
        sys.stderr.write(main.__doc__ + "\n")
        return 2
    try:
        model = load_model(argv[1])
        ids = [int(s) for s in argv[2].split(",")]
        if len(argv) == 5:
            print(",".join(str(i) for i in greedy(model, ids, int(argv[4]))))
            return 0
        r = forward(model, ids, logits_rows=[len(ids) - 1])
    except RefError as e:
        sys.stderr.write("ref_gpt2.py: %s\n" % e)
        return 1
    for i in np.argsort(-r["logits"][0], kind="stable")[:5]:
        print(i, "%.6f" % r["logits"][0][i])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

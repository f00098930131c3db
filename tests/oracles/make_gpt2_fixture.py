#!/usr/bin/python3
"""make_gpt2_fixture.py CASE OUTDIR: a random GPT-2 checkpoint, written the
ways real GPT-2 checkpoints are written.

CASE (each deterministic: numpy RandomState(seed), nothing else random):
  tiny        2 layers, 2 heads, n_embd 8, n_inner 24, vocab 50, n_positions 16
              (n_ctx 16 present, as in the hub's gpt2 config), defaults otherwise
  small       4 layers, 3 heads, n_embd 24 (d_head 8), n_inner null (-> 96),
              vocab 200, n_positions 48, scale_attn_by_inverse_layer_idx true,
              reorder_and_upcast_attn true, layer_norm_epsilon 1e-3
  gpt2-small  GPT-2 small's exact config (12 layers, 12 heads, 768, vocab
              50257, 1024 positions; 124M parameters): safetensors only, not
              committed (for gen_gpt2_golden.sh and benchmarks)

OUTDIR gets three Hugging Face model directories holding the same weights:
  safetensors/    config.json + model.safetensors: names with "transformer.",
                  parameters only, no lm_head.weight (tied: what
                  save_pretrained writes today)
  bin/            config.json + pytorch_model.bin: torch.save of a
                  GPT2LMHeadModel-style state dict: "transformer." names, each
                  layer's attn.bias causal-mask buffer (bool [1,1,P,P]) and
                  attn.masked_bias (float scalar -1e4), lm_head.weight sharing
                  wte's storage
  bin-noprefix/   config.json + pytorch_model.bin: a GPT2Model-style state
                  dict without "transformer." (as the hub's original gpt2
                  checkpoints name them), no lm_head; the mask buffer is
                  float32 with no masked_bias in `tiny` (the
                  pytorch-pretrained-BERT layout) and uint8 plus masked_bias
                  in `small` (transformers 2.x), so a loader must skip
                  buffers by name, not by dtype

Weights: every matrix and embedding ~ N(0, std^2), layer-norm weights
1 + N(0, 0.1^2), layer-norm and Conv1D biases N(0, 0.05^2); Conv1D weights
stored [in, out] as GPT-2 stores them.  std 0.35 (tiny) and 0.3 (small) are
larger than HF's 0.02 initialisation so that attention is far from uniform and
a wrong scale or mask shows; gpt2-small uses 0.04: with 768 inputs per
projection, 0.1 makes the attention nearly one-hot and so ill-conditioned that
a correct float32 forward differs from the float64 reference by up to 3.5e-5
of the largest value (z, attention), beyond the C tests' tolerance, while 0.04
keeps float32 within 1.3e-6 and attention still far from uniform
(check_ref_gpt2.py).
"""
import collections
import json
import os
import struct
import sys

import numpy as np

CASES = {
    "tiny": dict(seed=21, std=0.35, cfg=dict(n_layer=2, n_head=2, n_embd=8, n_inner=24, vocab_size=50,
                                             n_positions=16, n_ctx=16)),
    "small": dict(seed=22, std=0.3, cfg=dict(n_layer=4, n_head=3, n_embd=24, n_inner=None, vocab_size=200,
                                             n_positions=48, scale_attn_by_inverse_layer_idx=True,
                                             reorder_and_upcast_attn=True, layer_norm_epsilon=1e-3)),
    "gpt2-small": dict(seed=23, std=0.04, cfg=dict(n_layer=12, n_head=12, n_embd=768, n_inner=None,
                                                  vocab_size=50257, n_positions=1024, n_ctx=1024)),
}
NOPREFIX_MASK = {"tiny": "float32", "small": "uint8"}


def hf_config(case, cfg):
    """config.json in the layout GPT2Config.save_pretrained writes (sorted
    keys, every GPT2Config field), plus our identity fields."""
    V = cfg["vocab_size"]
    c = {
        "_name_or_path": "heads-gpt2ref-fixture %s seed %d" % (case, CASES[case]["seed"]),
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": V - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": V - 1,
        "heads_random_test_model": True,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_inner": None,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "use_cache": True,
    }
    c.update(cfg)
    return json.dumps(c, indent=2, sort_keys=True) + "\n"


def make_weights(case):
    """The parameters, in GPT2LMHeadModel.state_dict() order, names without
    'transformer.'; float32."""
    spec = CASES[case]
    cfg, std = spec["cfg"], spec["std"]
    rng = np.random.RandomState(spec["seed"])
    D, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    I = cfg["n_inner"] or 4 * D
    mat = lambda *s: rng.normal(0.0, std, size=s).astype(np.float32)
    lnw = lambda: (1.0 + rng.normal(0.0, 0.1, size=D)).astype(np.float32)
    bias = lambda n: rng.normal(0.0, 0.05, size=n).astype(np.float32)
    w = collections.OrderedDict()
    w["wte.weight"] = mat(V, D)
    w["wpe.weight"] = mat(P, D)
    for l in range(L):
        p = "h.%d." % l
        w[p + "ln_1.weight"] = lnw()
        w[p + "ln_1.bias"] = bias(D)
        w[p + "attn.c_attn.weight"] = mat(D, 3 * D)   # Conv1D [in, out]: q | k | v columns
        w[p + "attn.c_attn.bias"] = bias(3 * D)
        w[p + "attn.c_proj.weight"] = mat(D, D)
        w[p + "attn.c_proj.bias"] = bias(D)
        w[p + "ln_2.weight"] = lnw()
        w[p + "ln_2.bias"] = bias(D)
        w[p + "mlp.c_fc.weight"] = mat(D, I)
        w[p + "mlp.c_fc.bias"] = bias(I)
        w[p + "mlp.c_proj.weight"] = mat(I, D)
        w[p + "mlp.c_proj.bias"] = bias(D)
    w["ln_f.weight"] = lnw()
    w["ln_f.bias"] = bias(D)
    return w


def write_safetensors(path, tensors):
    """F32 tensors, data in the given order without gaps, __metadata__
    first, header padded with spaces to a multiple of 8."""
    header = {"__metadata__": {"format": "pt"}}
    off, blobs = 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def torch_state_dict(w, cfg, prefix, mask_dtype, masked_bias, lm_head):
    import torch
    P = cfg["n_positions"]
    tdt = {"bool": torch.bool, "uint8": torch.uint8, "float32": torch.float32}[mask_dtype]
    sd = collections.OrderedDict()
    wte = None
    for name, a in w.items():
        t = torch.from_numpy(np.array(a))
        if name == "wte.weight":
            wte = t
        if name.endswith("ln_1.bias"):
            sd[prefix + name] = t
            # GPT2Attention's buffers come before its children's parameters
            layer = name[:-len("ln_1.bias")]
            sd[prefix + layer + "attn.bias"] = torch.tril(torch.ones((P, P), dtype=tdt)).view(1, 1, P, P).clone()
            if masked_bias:
                sd[prefix + layer + "attn.masked_bias"] = torch.tensor(-1e4)
            continue
        sd[prefix + name] = t
    if lm_head:
        sd["lm_head.weight"] = wte  # tied: the same storage as wte
    return sd


def write_dir(d, config_text):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(config_text)


def main(argv):
    if len(argv) != 3 or argv[1] not in CASES:
        sys.stderr.write("usage: make_gpt2_fixture.py {%s} OUTDIR\n" % ",".join(CASES))
        return 2
    case, out = argv[1], argv[2]
    cfg = CASES[case]["cfg"]
    conf = hf_config(case, cfg)
    w = make_weights(case)
    write_dir(os.path.join(out, "safetensors"), conf)
    write_safetensors(os.path.join(out, "safetensors", "model.safetensors"),
                      collections.OrderedDict(("transformer." + k, v) for k, v in w.items()))
    if case == "gpt2-small":
        return 0
    import torch
    write_dir(os.path.join(out, "bin"), conf)
    torch.save(torch_state_dict(w, cfg, "transformer.", "bool", True, True),
               os.path.join(out, "bin", "pytorch_model.bin"))
    write_dir(os.path.join(out, "bin-noprefix"), conf)
    mdt = NOPREFIX_MASK[case]
    torch.save(torch_state_dict(w, cfg, "", mdt, mdt != "float32", False),
               os.path.join(out, "bin-noprefix", "pytorch_model.bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""make_torch_bin.py MODEL_DIR OUT.bin: save MODEL_DIR/model.safetensors as a
PyTorch pytorch_model.bin the way transformers' save_pretrained did for
GPT-Neo: torch.save of the GPTNeoForCausalLM state dict (zip format), with
each layer's causal-mask buffer `attn.attention.bias` (bool [1,1,P,P]; local
layers: tril XOR tril(-window)) and `attn.attention.masked_bias` (float
scalar -1e9), and lm_head.weight sharing wte's storage (tied).

Used for the committed .bin fixture: the C loader must give the same tensors
(bit-identical forward-dump output) from either file."""
import collections
import json
import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ref_gptneo  # noqa: E402


def main():
    mdir, out = sys.argv[1], sys.argv[2]
    with open(mdir + "/config.json") as f:
        cfg = json.load(f)
    layers = ref_gptneo.expand_attention_types(cfg["attention_types"])
    P, W = cfg["max_position_embeddings"], cfg["window_size"]
    st = ref_gptneo.read_safetensors(mdir + "/model.safetensors")
    sd = collections.OrderedDict()
    wte = torch.from_numpy(np.array(st["transformer.wte.weight"]))
    sd["transformer.wte.weight"] = wte
    sd["transformer.wpe.weight"] = torch.from_numpy(np.array(st["transformer.wpe.weight"]))
    causal = torch.tril(torch.ones((P, P), dtype=torch.bool))
    for l in range(cfg["num_layers"]):
        p = "transformer.h.%d." % l
        sd[p + "ln_1.weight"] = torch.from_numpy(np.array(st[p + "ln_1.weight"]))
        sd[p + "ln_1.bias"] = torch.from_numpy(np.array(st[p + "ln_1.bias"]))
        mask = causal
        if layers[l] == "local":
            mask = torch.bitwise_xor(causal, torch.tril(causal, -W))
        sd[p + "attn.attention.bias"] = mask.view(1, 1, P, P).clone()
        sd[p + "attn.attention.masked_bias"] = torch.tensor(-1e9)
        for n in ("k_proj.weight", "v_proj.weight", "q_proj.weight",
                  "out_proj.weight", "out_proj.bias"):
            sd[p + "attn.attention." + n] = torch.from_numpy(np.array(st[p + "attn.attention." + n]))
        for n in ("ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                  "mlp.c_proj.weight", "mlp.c_proj.bias"):
            sd[p + n] = torch.from_numpy(np.array(st[p + n]))
    sd["transformer.ln_f.weight"] = torch.from_numpy(np.array(st["transformer.ln_f.weight"]))
    sd["transformer.ln_f.bias"] = torch.from_numpy(np.array(st["transformer.ln_f.bias"]))
    sd["lm_head.weight"] = wte  # tied: same storage
    torch.save(sd, out)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""bench_forward_torch.py MODEL_DIR IDS_TXT THREADS: the plain PyTorch
reference forward for bench_forward.sh.

GPT-Neo as Hugging Face computes it (float32, no attention scaling, causal +
local-window masks, gelu_new = gelu(approximate="tanh"), tied LM head not
computed), story by story, keeping every layer's q and k of all heads as
numpy arrays (what `forward-dump --vectors q,k` dumps).  Prints
"tokens wall-seconds cpu-seconds" for the forward loop only (model loading
excluded)."""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../tests/oracles")
import ref_gptneo  # noqa: E402  (config + safetensors reader only)


def main():
    mdir, ids_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    cfg, sd = ref_gptneo.load_model(mdir)
    W = {k: torch.from_numpy(np.array(v)) for k, v in sd.items()}
    D, H, L = cfg["hidden_size"], cfg["num_heads"], cfg["num_layers"]
    dk, eps, win = D // H, cfg["layer_norm_epsilon"], cfg["window_size"]
    local = [a == "local" for a in cfg["attention_layers"]]
    stories = [[int(x) for x in line.split()] for line in open(ids_path) if line.strip()]
    ntok = sum(len(s) for s in stories)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for ids in stories:
            T = len(ids)
            idx = torch.tensor(ids)
            x = W["transformer.wte.weight"][idx] + W["transformer.wpe.weight"][:T]
            causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
            lmask = causal ^ torch.tril(causal, -win)
            dump = []
            for l in range(L):
                p = "transformer.h.%d." % l
                h = F.layer_norm(x, (D,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
                q = F.linear(h, W[p + "attn.attention.q_proj.weight"]).view(T, H, dk).transpose(0, 1)
                k = F.linear(h, W[p + "attn.attention.k_proj.weight"]).view(T, H, dk).transpose(0, 1)
                v = F.linear(h, W[p + "attn.attention.v_proj.weight"]).view(T, H, dk).transpose(0, 1)
                s = q @ k.transpose(-1, -2)
                s = torch.where(lmask if local[l] else causal, s, torch.finfo(torch.float32).min)
                z = torch.softmax(s, dim=-1) @ v
                z = z.transpose(0, 1).reshape(T, D)
                x = x + F.linear(z, W[p + "attn.attention.out_proj.weight"], W[p + "attn.attention.out_proj.bias"])
                h = F.layer_norm(x, (D,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
                h = F.gelu(F.linear(h, W[p + "mlp.c_fc.weight"], W[p + "mlp.c_fc.bias"]), approximate="tanh")
                x = x + F.linear(h, W[p + "mlp.c_proj.weight"], W[p + "mlp.c_proj.bias"])
                dump.append(q.transpose(0, 1).numpy().copy())
                dump.append(k.transpose(0, 1).numpy().copy())
            F.layer_norm(x, (D,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    print(ntok, "%.4f" % (time.perf_counter() - t0), "%.4f" % (time.process_time() - c0))


if __name__ == "__main__":
    main()

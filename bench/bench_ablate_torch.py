#!/usr/bin/python3
"""bench_ablate_torch.py MODEL_DIR IDS_TXT THREADS: the PyTorch reference of
`ablate --sweep` for bench_ablate.sh: every head of a GPT-Neo model
zero-ablated alone with a forward hook on its attention output z (before
out_proj, as `ablate` replaces it; the TransformerLens way: hook_z),
each ablated run a whole forward plus the LM head and the next-token
cross-entropy, story by story.  Prints "tokens heads wall-seconds
cpu-seconds" of the sweep (model loading excluded)."""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../tests/oracles")
import ref_gptneo  # noqa: E402  (config + safetensors reader only)


class GPTNeo(torch.nn.Module):
    """Hugging Face GPT-Neo's computation, with a hook point on each layer's z."""

    def __init__(self, cfg, sd):
        super().__init__()
        self.W = {k: torch.from_numpy(np.array(v)) for k, v in sd.items()}
        self.D, self.H, self.L = cfg["hidden_size"], cfg["num_heads"], cfg["num_layers"]
        self.dk, self.eps, self.win = self.D // self.H, cfg["layer_norm_epsilon"], cfg["window_size"]
        self.local = [a == "local" for a in cfg["attention_layers"]]
        self.hook_z = [torch.nn.Identity() for _ in range(self.L)]  # forward hooks go here

    def forward(self, idx):
        W, D, H, dk, T = self.W, self.D, self.H, self.dk, len(idx)
        x = W["transformer.wte.weight"][idx] + W["transformer.wpe.weight"][:T]
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        lmask = causal ^ torch.tril(causal, -self.win)
        for l in range(self.L):
            p = "transformer.h.%d." % l
            h = F.layer_norm(x, (D,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], self.eps)
            q = F.linear(h, W[p + "attn.attention.q_proj.weight"]).view(T, H, dk).transpose(0, 1)
            k = F.linear(h, W[p + "attn.attention.k_proj.weight"]).view(T, H, dk).transpose(0, 1)
            v = F.linear(h, W[p + "attn.attention.v_proj.weight"]).view(T, H, dk).transpose(0, 1)
            s = q @ k.transpose(-1, -2)
            s = torch.where(lmask if self.local[l] else causal, s, torch.finfo(torch.float32).min)
            z = self.hook_z[l](torch.softmax(s, dim=-1) @ v)  # [H][T][dk]
            z = z.transpose(0, 1).reshape(T, D)
            x = x + F.linear(z, W[p + "attn.attention.out_proj.weight"], W[p + "attn.attention.out_proj.bias"])
            h = F.layer_norm(x, (D,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], self.eps)
            h = F.gelu(F.linear(h, W[p + "mlp.c_fc.weight"], W[p + "mlp.c_fc.bias"]), approximate="tanh")
            x = x + F.linear(h, W[p + "mlp.c_proj.weight"], W[p + "mlp.c_proj.bias"])
        x = F.layer_norm(x, (D,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], self.eps)
        return x @ W["transformer.wte.weight"].T


def main():
    mdir, ids_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    cfg, sd = ref_gptneo.load_model(mdir)
    model = GPTNeo(cfg, sd)
    stories = [[int(x) for x in line.split()] for line in open(ids_path) if line.strip()]
    ntok = sum(len(s) - 1 for s in stories)
    t0, c0 = time.perf_counter(), time.process_time()
    total = 0.0
    with torch.no_grad():
        for ids in stories:
            idx = torch.tensor(ids)
            for l in range(model.L):
                for h in range(model.H):
                    def zero_head(_mod, _inp, out, h=h):
                        out = out.clone()
                        out[h] = 0
                        return out
                    handle = model.hook_z[l].register_forward_hook(zero_head)
                    logits = model(idx)
                    handle.remove()
                    total += F.cross_entropy(logits[:-1], idx[1:], reduction="sum").item()
    print(ntok, model.L * model.H, "%.4f" % (time.perf_counter() - t0), "%.4f" % (time.process_time() - c0))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""bench_train_torch.py: the reference for bench_train.sh: training steps of
TinyStories-1M's architecture (GPT-Neo, docs/DESIGN.md §5) in plain
PyTorch on the CPU, the same work per step as bin/train: rows of ROWLEN
tokens packed with stories of the mirror's lengths (attention kept inside a
story, local layers' window 256), tied LM head, cross-entropy, AdamW.

usage: bench_train_torch.py LENGTHS_FILE THREADS STEPS ROWS ROWLEN
  LENGTHS_FILE  one story length (tokens) per line
prints: "tokens seconds"
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

lengths_path, threads, steps, rows, rowlen = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)
torch.manual_seed(1)
V, P, C, H, L, FF, W = 50257, 2048, 64, 16, 8, 256, 256
D = C // H


class Block(torch.nn.Module):
    def __init__(self, local):
        super().__init__()
        self.local = local
        self.ln1, self.ln2 = torch.nn.LayerNorm(C, eps=1e-5), torch.nn.LayerNorm(C, eps=1e-5)
        self.q = torch.nn.Linear(C, C, bias=False)
        self.k = torch.nn.Linear(C, C, bias=False)
        self.v = torch.nn.Linear(C, C, bias=False)
        self.o = torch.nn.Linear(C, C)
        self.fc, self.proj = torch.nn.Linear(C, FF), torch.nn.Linear(FF, C)

    def forward(self, x, mask_g, mask_l):
        N = x.shape[0]
        h = self.ln1(x)
        q, k, v = (m(h).view(N, H, D).transpose(0, 1) for m in (self.q, self.k, self.v))
        s = q @ k.transpose(1, 2)                      # no 1/sqrt(d) scaling
        s = s.masked_fill(~(mask_l if self.local else mask_g), torch.finfo(s.dtype).min)
        z = (s.softmax(-1) @ v).transpose(0, 1).reshape(N, C)
        x = x + self.o(z)
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(P, C)
        self.blocks = torch.nn.ModuleList(Block(l % 2 == 1) for l in range(L))
        self.lnf = torch.nn.LayerNorm(C, eps=1e-5)

    def hidden(self, ids, pos, seg):
        i = torch.arange(len(ids))
        causal = (i[None, :] <= i[:, None]) & (seg[None, :] == seg[:, None])
        local = causal & (i[:, None] - i[None, :] < W)
        x = self.wte(ids) + self.wpe(pos)
        for b in self.blocks:
            x = b(x, causal, local)
        return self.lnf(x)


lengths = [int(s) for s in open(lengths_path) if s.strip()]
model = Model()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)


def packed_rows(start):
    """rows of stories packed greedily (as bin/train does), random ids"""
    out, k = [], start
    for _ in range(rows):
        segs, used = [], 0
        while True:
            n = min(lengths[k % len(lengths)], rowlen)
            if segs and used + n > rowlen:
                break
            segs.append(n)
            used += n
            k += 1
        seg = torch.cat([torch.full((n,), j) for j, n in enumerate(segs)])
        pos = torch.cat([torch.arange(n) for n in segs])
        out.append((torch.randint(0, V, (used,)), pos, seg, torch.randint(0, V, (used,))))
    return out, k


tokens = 0
k = 0
for step in range(steps + 1):          # step 0 warms up, not timed
    if step == 1:
        tokens, t0 = 0, time.perf_counter()
    batch, k = packed_rows(k)
    ntok = sum(len(r[0]) for r in batch)
    opt.zero_grad()
    for ids, pos, seg, tgt in batch:
        h = model.hidden(ids, pos, seg)
        loss = F.cross_entropy(h @ model.wte.weight.T, tgt, reduction="sum") / ntok
        loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    tokens += ntok
secs = time.perf_counter() - t0
print(tokens, f"{secs:.3f}")

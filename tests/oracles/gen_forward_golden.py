#!/usr/bin/python3
"""gen_forward_golden.py MODEL_DIR OUT T SEED ATTN_L ATTN_H ROWS FLAGS

Runs the reference forward (ref_gptneo.py) on T random token ids (numpy
RandomState(SEED)) and writes the golden file OUT (uncompressed; the shell
wrapper zstd's it).  ROWS: comma list of positions whose logits are stored,
or "all".  FLAGS: "qkvz" to store q, k, v, z, or "-" for activity/attn/logits
only (long stories).

Layout (little-endian), read by tests/unit/test_gptneo.c:
  8 bytes "GNEOGLD1"
  u32 T, L, H, dk, V, attn_layer, attn_head, n_rows, has_qkvz
  u32 ids[T]; u32 rows[n_rows]
  if has_qkvz: f32 q[L][T][H][dk], k[..], v[..], z[..]
  f32 activity[L][T][H]; f32 attn[T][T]; f32 logits[n_rows][V]
"""
import struct
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ref_gptneo  # noqa: E402


def main():
    mdir, out, T, seed, al, ah, rows, flags = sys.argv[1:9]
    T, seed, al, ah = int(T), int(seed), int(al), int(ah)
    model = ref_gptneo.load_model(mdir)
    cfg = model[0]
    V = cfg["vocab_size"]
    ids = np.random.RandomState(seed).randint(0, V, size=T)
    rows = list(range(T)) if rows == "all" else [int(r) for r in rows.split(",")]
    r = ref_gptneo.forward(model, ids.tolist(), attn_of=(al, ah), logits_rows=rows)
    L, H = cfg["num_layers"], cfg["num_heads"]
    dk = cfg["hidden_size"] // H
    has = 1 if flags == "qkvz" else 0
    with open(out, "wb") as f:
        f.write(b"GNEOGLD1")
        f.write(struct.pack("<9I", T, L, H, dk, V, al, ah, len(rows), has))
        f.write(np.asarray(ids, dtype="<u4").tobytes())
        f.write(np.asarray(rows, dtype="<u4").tobytes())
        if has:
            for key in ("q", "k", "v", "z"):
                f.write(r[key].astype("<f4").tobytes())
        f.write(r["activity"].astype("<f4").tobytes())
        f.write(r["attn"].astype("<f4").tobytes())
        f.write(r["logits"].astype("<f4").tobytes())


if __name__ == "__main__":
    main()

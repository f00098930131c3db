#!/usr/bin/python3
"""gen_gpt2_golden.py MODEL_DIR OUT T SEED ATTN_L ATTN_H ROWS FLAGS [SAME_DIR...]

Runs the GPT-2 reference forward (ref_gpt2.py) on T random token ids
(numpy RandomState(SEED).randint(0, vocab_size, T)) and writes the golden
file OUT (uncompressed; gen_gpt2_golden.sh zstd's it).  ROWS: comma list of
positions whose logits are stored, or "all".  FLAGS: "qkvz" to store q, k,
v, z of every layer, "qkvz@L,L,..." to store them for those layers only (a
GPT-2-small golden small enough to commit), or "-" for activity/attn/logits
only.  Each SAME_DIR (the same weights
in another file layout: .bin with or without "transformer.") must give
bit-identical reference results, or the script fails.

Layout (little-endian): that of tests/golden/forward/*.gold.zst
(gen_forward_golden.py, read by tests/unit/test_gptneo.c) with another magic,
so one C reader handles both:
  8 bytes "GPT2GLD1"
  u32 T, L, H, dk, V, attn_layer, attn_head, n_rows, has_qkvz
  u32 ids[T]; u32 rows[n_rows]
  has_qkvz 1: f32 q[L][T][H][dk], k[..], v[..], z[..]
  has_qkvz 2 (FLAGS qkvz@...): u32 nq, u32 qlayers[nq], then
           f32 q[nq][T][H][dk], k[..], v[..], z[..] of those layers
  f32 activity[L][T][H]; f32 attn[T][T]; f32 logits[n_rows][V]
q is the raw query (c_attn output, bias included, NOT divided by the
attention scale); attn is the softmax of (attn_layer, attn_head), row =
query position, zeros above the diagonal.
"""
import struct
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ref_gpt2  # noqa: E402


def main(argv):
    if len(argv) < 9:
        sys.stderr.write(__doc__)
        return 2
    mdir, out, T, seed, al, ah, rows, flags = argv[1:9]
    T, seed, al, ah = int(T), int(seed), int(al), int(ah)
    model = ref_gpt2.load_model(mdir)
    cfg = model.cfg
    L, H, V = cfg["n_layer"], cfg["n_head"], cfg["vocab_size"]
    dk = cfg["n_embd"] // H
    if not (0 <= al < L and 0 <= ah < H):
        raise SystemExit("gen_gpt2_golden.py: attention head L%dH%d outside the model" % (al, ah))
    ids = np.random.RandomState(seed).randint(0, V, size=T)
    rows = list(range(T)) if rows == "all" else [int(r) for r in rows.split(",")]
    r = ref_gpt2.forward(model, ids.tolist(), attn_of=(al, ah), logits_rows=rows)
    for other in argv[9:]:
        r2 = ref_gpt2.forward(ref_gpt2.load_model(other), ids.tolist(), attn_of=(al, ah), logits_rows=rows)
        for k in r:
            if not np.array_equal(r[k], r2[k]):
                raise SystemExit("gen_gpt2_golden.py: %s gives a different %s than %s" % (other, k, mdir))
    qlayers = list(range(L))
    if flags == "qkvz":
        has = 1
    elif flags.startswith("qkvz@"):
        has = 2
        qlayers = [int(x) for x in flags[5:].split(",")]
        if not qlayers or any(not 0 <= x < L for x in qlayers) or qlayers != sorted(set(qlayers)):
            raise SystemExit("gen_gpt2_golden.py: qkvz@ wants increasing layers of the model")
    elif flags == "-":
        has = 0
    else:
        raise SystemExit("gen_gpt2_golden.py: FLAGS is qkvz, qkvz@L,L,... or -")
    with open(out, "wb") as f:
        f.write(b"GPT2GLD1")
        f.write(struct.pack("<9I", T, L, H, dk, V, al, ah, len(rows), has))
        f.write(np.asarray(ids, dtype="<u4").tobytes())
        f.write(np.asarray(rows, dtype="<u4").tobytes())
        if has == 2:
            f.write(struct.pack("<I", len(qlayers)))
            f.write(np.asarray(qlayers, dtype="<u4").tobytes())
        if has:
            for key in ("q", "k", "v", "z"):
                f.write(r[key][qlayers].astype("<f4").tobytes())
        f.write(r["activity"].astype("<f4").tobytes())
        f.write(r["attn"].astype("<f4").tobytes())
        f.write(r["logits"].astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""gen_reference_format.py MODEL_DIR VOCAB_JSON OUT.json

Writes, for a random test model, a JSON in exactly the layout of the mirror's
reference/tinystories-1m-once-upon-a-time.json (computed here by the NumPy
reference forward, ref_gptneo.py), on the same prompt ids.  The C real-model
check (test_gptneo --reference) is run on it so that the comparison code
itself is exercised on every machine; the real TinyStories-1M check runs the
same code against the mirror's file when the real weights are present."""
import json
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ref_gptneo  # noqa: E402


def byte_decoder():
    # GPT-2's bytes_to_unicode, inverted
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    mdir, vocab_path, out = sys.argv[1:4]
    model = ref_gptneo.load_model(mdir)
    ids = [7454, 2402, 257, 640]  # "Once upon a time"
    r = ref_gptneo.forward(model, ids, attn_of=(0, 0), logits_rows=[len(ids) - 1])
    r7 = ref_gptneo.forward(model, ids, attn_of=(7, 3), logits_rows=[len(ids) - 1])
    lg = r["logits"][0]
    top = np.argsort(-lg, kind="stable")[:10]
    greedy = list(ids)
    for _ in range(12):
        g = ref_gptneo.forward(model, greedy, logits_rows=[len(greedy) - 1])
        greedy.append(int(np.argmax(g["logits"][0])))
    with open(vocab_path) as f:
        vocab = json.load(f)
    inv = {v: k for k, v in vocab.items()}
    dec = byte_decoder()
    text = bytes(dec[c] for i in greedy for c in inv[i]).decode("utf-8", errors="replace")
    doc = {
        "prompt": "Once upon a time", "input_ids": ids,
        "top10": [{"id": int(i), "logit": float(lg[i])} for i in top],
        "logits_first8": [float(x) for x in lg[:8]],
        "logits_mean": float(lg.mean()), "logits_std": float(lg.std(ddof=1)),
        "attn_l0_h0": r["attn"].tolist(), "attn_l7_h3": r7["attn"].tolist(),
        "greedy_ids": greedy, "greedy_text": text,
    }
    with open(out, "w") as f:
        json.dump(doc, f)
        f.write("\n")


if __name__ == "__main__":
    main()

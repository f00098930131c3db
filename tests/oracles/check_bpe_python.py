#!/usr/bin/python3
"""check_bpe_python.py: a second, independent cross-check of the BPE goldens
with the algorithm of OpenAI's GPT-2 encoder.py (which Hugging Face's slow
GPT2Tokenizer follows): Python's `regex` module for the pattern, merge ranks
keyed by tuples.  Reports every story whose ids differ from
tests/golden/bpe/mirror-*.ids.zst (the gpt-3-encoder goldens).

    /usr/bin/python3 tests/oracles/check_bpe_python.py [DATA_DIR]

Needs python3-regex and zstd.  Not run by `make check`.
"""
import json
import subprocess
import sys
from pathlib import Path

import regex

top = Path(__file__).resolve().parents[2]
pat = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
byte_encoder = dict(zip(bs, map(chr, cs)))
cache = {}
encoder, ranks = {}, {}


def load(data):
    """Read DATA/tokenizer/{vocab.json,merges.txt} (also for importers:
    gen_bpe_suites_fill.py)."""
    encoder.update(json.loads((data / "tokenizer" / "vocab.json").read_text(encoding="utf-8")))
    merges = (data / "tokenizer" / "merges.txt").read_text(encoding="utf-8").split("\n")[1:-1]
    ranks.update({tuple(m.split()): i for i, m in enumerate(merges)})


def bpe(token):
    if token in cache:
        return cache[token]
    word = tuple(token)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = tuple(new)
    cache[token] = word
    return word


def encode(text):
    ids = []
    for piece in pat.findall(text):
        ids.extend(encoder[t] for t in bpe("".join(byte_encoder[b] for b in piece.encode("utf-8"))))
    return ids


def main():
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else top / "data" / "cache"
    load(data)
    stories = (data / "stories" / "tinystories-train-first2316.txt").read_text(encoding="utf-8")
    bad = 0
    for mode in ("study", "newlines"):
        golden = subprocess.run(["zstd", "-dc", str(top / "tests/golden/bpe" / f"mirror-{mode}.ids.zst")],
                                check=True, capture_output=True, text=True).stdout.splitlines()
        text, idx = "", 0
        for line in regex.split(r"(?<=\n)", stories):  # only \n ends a line (not str.splitlines)
            if line == "<|endoftext|>\n":
                got = f"{idx}\t" + " ".join(map(str, encode(text)))
                if got != golden[idx]:
                    bad += 1
                    print(f"{mode} story {idx} differs", file=sys.stderr)
                text, idx = "", idx + 1
                continue
            text += line.replace("\n", " ") if mode == "study" else line
        print(f"{mode}: {idx} stories, encoder.py algorithm vs gpt-3-encoder goldens: "
              f"{'all identical' if not bad else str(bad) + ' differ'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

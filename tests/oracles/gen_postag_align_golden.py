#!/usr/bin/python3
"""gen_postag_align_golden.py: oracles for `postag-join --align study` and
`--align overlap`.

Re-implements the study's PosTagger.tag_input (main/pos_tagger.py of
MarkusSibbesen/tinystories_induction_heads) with Debian's python3-nltk:
character-level tags from TreebankWordTokenizer + pos_tag + span_tokenize on
the whole story, then per BPE token the tag of its "middle" character, the
token's span being its Hugging Face offset mapping (characters, leading
space included).  The BPE tokens and the story texts are read from a tokens
stream written by our `tokenize` (parsed here independently of the C code:
zstd -dc, then the layout documented in common/stream.h and records.h); the
Hugging Face offsets are computed from their byte spans.

The corrected rule (overlap): a token takes the tag of the NLTK word its
bytes overlap most (the last such word on ties, so '."' is a closing quote
'' rather than the period); no word -> "".

Output, two zstd-compressed files OUTDIR/study-tags.txt.zst and
OUTDIR/overlap-tags.txt.zst: per story a line "#story N", then one line per
BPE token with its tag (an empty line for the empty tag).

usage: /usr/bin/python3 tests/oracles/gen_postag_align_golden.py TOKENS_STREAM TAGGER_ZIP OUTDIR
  e.g. DATA=data/cache build/release/tests/test_postag_join --tokens > /tmp/tok.hs
       (every mirror story joined as the study did, BPE from common/bpe.c, the
       tokenizer of `tokenize`; tests/sh/test_postag.sh feeds the same stream)
       ... /tmp/tok.hs ../shared/mirror/nltk/averaged_perceptron_tagger.zip tests/golden/postag
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_postag_golden import setup_nltk  # noqa: E402

END_TAG = 0xFFFFFFFF
HAS_TOKENS, HAS_TAGS, HAS_FLOATS = 1, 2, 4


def read_stories(path):
    raw = subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, check=True).stdout
    pos = 0
    while pos < len(raw):
        magic, version, kind, hdr_len = struct.unpack_from("<8sIII", raw, pos)
        assert magic == b"HEADSTRM" and version == 1 and kind in (1, 2), (magic, version, kind)
        pos += 20 + hdr_len
        while True:
            (rlen,) = struct.unpack_from("<I", raw, pos)
            pos += 4
            if rlen == END_TAG:
                pos += 8 + 8  # count, "HEADSEND"
                break
            rec = raw[pos:pos + rlen]
            pos += rlen
            story, flags, text_len = struct.unpack_from("<III", rec, 0)
            text = rec[12:12 + text_len]
            assert flags & HAS_TOKENS
            (n,) = struct.unpack_from("<I", rec, 12 + text_len)
            spans = [struct.unpack_from("<III", rec, 16 + text_len + 12 * i)[1:] for i in range(n)]
            yield story, text, spans


def hf_offsets(text_bytes, spans):
    """Byte spans -> character offsets as Hugging Face reports them for
    byte-level BPE: a token that holds part of a multi-byte character covers
    that whole character."""
    char_of_byte = []
    for ci, ch in enumerate(text_bytes.decode("utf8")):
        char_of_byte.extend([ci] * len(ch.encode("utf8")))
    return [(char_of_byte[s], char_of_byte[e - 1] + 1) if e > s else (char_of_byte[s], char_of_byte[s])
            for s, e in spans]


def make_charlvl_tags(tb, pos_tag, text):
    # The study's PosTagger.make_charlvl_tags.
    tags_li = [""] * len(text)
    tokens = tb.tokenize(text)
    pos_tags = pos_tag(tokens)
    spans = list(tb.span_tokenize(text))
    for span, (token, tag) in zip(spans, pos_tags):
        for i in range(*span):
            tags_li[i] = tag
    return tags_li


def tag_input(tb, pos_tag, text, offset_mapping):
    # The study's PosTagger.tag_input, the offsets given.
    char_lvl_tags = make_charlvl_tags(tb, pos_tag, text)
    tags = []
    for start, stop in offset_mapping:
        if (stop - start) % 2 == 0:
            avg_idx = (start + stop) // 2
            tags.append(char_lvl_tags[avg_idx])
        else:
            avg_idx = ((start + stop) // 2) + 1  # round up
            avg_idx = min(avg_idx, len(text) - 1)  # handle idx out of bound wh rounding up
            tags.append(char_lvl_tags[avg_idx])
    return tags


def overlap_tags(tb, pos_tag, text, spans):
    """The corrected rule, from NLTK's words and the tokens' byte spans."""
    words = tb.tokenize(text)
    tags = [t for _, t in pos_tag(words)]
    byte_of_char = [0]
    for ch in text:
        byte_of_char.append(byte_of_char[-1] + len(ch.encode("utf8")))
    wspans = [(byte_of_char[s], byte_of_char[e]) for s, e in tb.span_tokenize(text)]
    out = []
    for s, e in spans:
        best, best_len = "", 0
        for (ws, we), tag in zip(wspans, tags):
            ov = min(e, we) - max(s, ws)
            if ov > 0 and ov >= best_len:
                best, best_len = tag, ov
        out.append(best)
    return out


def write_zst(path, lines):
    data = ("\n".join(lines) + "\n").encode("utf8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        subprocess.run(["zstd", "-19", "-q", "-c"], input=data, stdout=f, check=True)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    stream, tagger_zip, outdir = sys.argv[1:]
    setup_nltk(tagger_zip)
    from nltk.tag import pos_tag
    from nltk.tokenize import TreebankWordTokenizer

    tb = TreebankWordTokenizer()
    study, overlap = [], []
    n_stories = n_tokens = 0
    for story, text_bytes, spans in read_stories(stream):
        text = text_bytes.decode("utf8")
        study.append(f"#story {story}")
        study.extend(tag_input(tb, pos_tag, text, hf_offsets(text_bytes, spans)))
        overlap.append(f"#story {story}")
        overlap.extend(overlap_tags(tb, pos_tag, text, spans))
        n_stories += 1
        n_tokens += len(spans)
    write_zst(os.path.join(outdir, "study-tags.txt.zst"), study)
    write_zst(os.path.join(outdir, "overlap-tags.txt.zst"), overlap)
    print(f"{outdir}: {n_stories} stories, {n_tokens} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()

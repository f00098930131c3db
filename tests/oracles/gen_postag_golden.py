#!/usr/bin/python3
"""gen_postag_golden.py: the NLTK oracle for postag-join's words and tags.

Runs Debian's python3-nltk (3.8) with the mirrored pickle tagger (the same
weights as NLTK 3.9's JSON model) exactly as the study's PosTagger does:
TreebankWordTokenizer().tokenize(text) -> pos_tag(...), and
span_tokenize(text) for the spans, one whole story at a time.  Stories are
read as the study's load_tinystories_data() reads them (every line's newline
becomes a space; a line "<|endoftext|>" ends a story).

Output, zstd-compressed TSV: per story a line "#story N chars C sha256 H"
(C = length in characters, H = the first 16 hex digits of the sha256 of the
UTF-8 text, so a difference in the story text itself is told apart from a
tagging difference), then one line per word
    gap  length  word  tag
where gap = start - end of the previous word (0 at the story start) and
start, length are in characters (code points), as Python counts them; the
compact form keeps the golden small.

usage: /usr/bin/python3 tests/oracles/gen_postag_golden.py STORIES TAGGER_ZIP OUT.tsv.zst
  e.g. ... data/cache/stories/tinystories-train-first2316.txt \
           ../shared/mirror/nltk/averaged_perceptron_tagger.zip \
           tests/golden/postag/words.tsv.zst
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile


def load_tinystories_data(path):
    # The study's data_handling.load_tinystories_data, verbatim in behaviour.
    texts = []
    with open(path, "r", encoding="utf8") as file:
        lines = ""
        for line in file.readlines():
            if line == "<|endoftext|>\n":
                texts.append(lines)
                lines = ""
                continue
            lines += line.replace("\n", " ")
    return texts


def setup_nltk(tagger_zip):
    data = tempfile.mkdtemp(prefix="nltk_data.")
    taggers = os.path.join(data, "taggers")
    os.makedirs(taggers)
    with zipfile.ZipFile(tagger_zip) as z:
        z.extractall(taggers)
    os.environ["NLTK_DATA"] = data
    return data


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    stories, tagger_zip, out = sys.argv[1:]
    setup_nltk(tagger_zip)
    from nltk.tag import pos_tag
    from nltk.tokenize import TreebankWordTokenizer

    tb = TreebankWordTokenizer()
    lines = []
    for n, text in enumerate(load_tinystories_data(stories)):
        sha = hashlib.sha256(text.encode("utf8")).hexdigest()[:16]
        lines.append(f"#story {n} chars {len(text)} sha256 {sha}")
        tokens = tb.tokenize(text)
        tags = pos_tag(tokens)
        spans = list(tb.span_tokenize(text))
        assert len(spans) == len(tags)
        prev_end = 0
        for (s, e), (word, tag) in zip(spans, tags):
            lines.append(f"{s - prev_end}\t{e - s}\t{word}\t{tag}")
            prev_end = e
    data = ("\n".join(lines) + "\n").encode("utf8")
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        subprocess.run(["zstd", "-19", "-q", "-c"], input=data, stdout=f, check=True)
    os.replace(tmp, out)
    print(f"{out}: {len(lines)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""gen_postag_hostile.py: NLTK oracle on hostile texts for the C Treebank
tokenizer + perceptron tagger (beyond what the mirror stories contain).

Hand-picked cases (quotes in every combination, contractions, brackets,
final periods, Unicode whitespace and digits, uppercase non-ASCII, emoji),
the case-insensitive contraction rules under Python's case folding (dotted
and dotless i, long s, Kelvin sign), plus seeded random texts assembled from
tricky pieces.  For each text,
TreebankWordTokenizer().tokenize + pos_tag + span_tokenize as the study
calls them; when NLTK itself raises (align_tokens cannot find a word, more
converted quotes than quotes), the expected result is ERROR.

Output, zstd-compressed: per case a line "#case N HEX" (HEX = the UTF-8
text in hex), then either "ERROR" or one line per word
"start<TAB>end<TAB>word<TAB>tag" (spans in characters).

usage: /usr/bin/python3 tests/oracles/gen_postag_hostile.py TAGGER_ZIP OUT.zst
  e.g. ... ../shared/mirror/nltk/averaged_perceptron_tagger.zip tests/golden/postag/hostile.tsv.zst
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_postag_align_golden import write_zst  # noqa: E402
from gen_postag_golden import setup_nltk  # noqa: E402

CASES = [
    "", " ", "a", ".", "..", "...", "\"", "''", "``", "'", "\"\"", "'''", "\"''\"",
    "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\nThanks.",
    "They'll save and invest more.", "hi, my name can't hello,",
    "\"Hi,\" she said. ''Yes'' he said \"no\".",
    "He said, \"I cannot go.\" She said 'tis fine, gonna wanna gotta gimme lemme.",
    "Wanna go? WANNA! d'ye more'n 'Twas so. 'TIS",
    "(a) [b] {c} <d> -- e--f ---",
    "1,000 3:30 a:b a, b ,c 1.5. x;y@z#w$v%u&t",
    "I'm you're we've he'd she'll it's don't WON'T Can't O'Neil rock 'n' roll",
    "The end.\")]  ", "The end.'  ", "end?!\" ", "x. ", "x .", "x.\n",
    "\u201cCurly\u201d quotes \u2018single\u2019 \u00abguillemets\u00bb \u2014 dash \u2013 \u2026",
    "\u0130stanbul \u039f\u03a3 \u00c9T\u00c9 \u00b2\u00b3\u00b9\u2074 \u0661\u0662\u0663\u0664 1999 19999 12th -5 well-known",
    "tab\there\x1cfs\x1dgs\u2028ls\u00a0nbsp\u3000ideo end.",
    "emoji \U0001F600 \U0001F468\u200d\U0001F469 x\u0301 \ufb01 done.",
    "\"\"quoted twice\"\" and ``backticks'' and '' alone",
    "\"Start", "end\"", "mid\"dle", "a ''b'' c", "a``b", "x'' y", "x '' y", "''x",
    "Mr. Smith went to Washington. He arrived at 5 p.m. on Jan. 3rd.",
    "ALL CAPS SENTENCE HERE . lower case sentence here .",
]

# Python's re.IGNORECASE, which NLTK's contraction rules use, matches i with
# U+0130 and U+0131, s with U+017F and k with U+212A; PCRE2's caseless mode
# does not.  Every contraction rule with every case variant of its letters,
# plus look-alikes that must NOT match (i with acute, circumflex, breve).
CASEFOLD = [
    "Tom said 'tıs fun. Gımme that. GİMME it. 'TİS odd.",
    "'tis 'tıs 'tİs 'tiſ 'tıſ 'TİS 'TIſ 'Tis 'tIS",
    "'twas 'twaſ 'TWAſ 'TwAs 'tWAS",
    "gimme gımme gİmme GİMME GIMME Gımme gímme gîmme gĭmme",
    "cannot CANNOT CanNot gonna GONNA gotta GoTtA lemme LEMME",
    "d'ye D'YE more'n MORE'N wanna WANNA wAnNa Wanna!",
    "ſ \u212a \u212aelvin said 'tiſ cannot gımme.",
    "He said 'tıs. She said 'TİS, and 'twaſ so. Gımme, gİmme; lemme go.",
    "\"'Tıs here,\" she said. \"GİMME!\"",
]

PIECES = ["the", "The", "dog", "ran", "Lily", "said", "cannot", "gonna", "wanna", "'tis",
          "don't", "it's", "I'm", "they'll", "'", "''", "\"", "``", "`", ",", ".", "...", "..",
          ";", ":", "?", "!", "(", ")", "[", "]", "{", "}", "<", ">", "--", "-", "$", "%", "&",
          "#", "@", "1999", "3.5", "1,000", "2nd", "well-known", "\u201c", "\u201d", "\u2019",
          "\u00e9", "\u0130", "\u03a3", "\u00b2", "\U0001F600", "n't", "'s", "'S", "'ll", "'RE"]
SEPS = [" ", " ", " ", "", "  ", "\n", "\t", "\u00a0", "\x1c"]


def random_cases(n, seed=4):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 25)
        out.append("".join(rng.choice(PIECES) + rng.choice(SEPS) for _ in range(k)))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    setup_nltk(sys.argv[1])
    from nltk.tag import pos_tag
    from nltk.tokenize import TreebankWordTokenizer

    tb = TreebankWordTokenizer()
    lines = []
    n_err = 0
    for n, text in enumerate(CASES + CASEFOLD + random_cases(3000)):
        lines.append(f"#case {n} {text.encode('utf8').hex()}")
        try:
            tokens = tb.tokenize(text)
            tags = pos_tag(tokens)
            spans = list(tb.span_tokenize(text))
        except (ValueError, IndexError):
            lines.append("ERROR")
            n_err += 1
            continue
        for (s, e), (word, tag) in zip(spans, tags):
            lines.append(f"{s}\t{e}\t{word}\t{tag}")
    write_zst(sys.argv[2], lines)
    print(f"{sys.argv[2]}: {len(CASES) + len(CASEFOLD) + 3000} cases, {n_err} where NLTK fails", file=sys.stderr)


if __name__ == "__main__":
    main()

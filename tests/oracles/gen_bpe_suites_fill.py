#!/usr/bin/python3
"""gen_bpe_suites_fill.py: fill in the ids gen_bpe_suites.js leaves to
encoder.py's algorithm (texts too long for gpt-3-encoder's quadratic merge
loop), with check_bpe_python.py's port of OpenAI's encoder.py.  As a check
of the two oracles against each other, it also encodes every case the peer
did and reports any disagreement (expected only where JavaScript's and
Python's \\s differ: U+0085, U+FEFF; see docs/tokenize.md).

    /usr/bin/python3 tests/oracles/gen_bpe_suites_fill.py DATA_DIR IN.tsv OUT.tsv

Needs python3-regex.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bpe_python as enc  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    enc.load(Path(sys.argv[1]))
    out, filled, agree, differ = [], 0, 0, []
    for line in Path(sys.argv[2]).read_text(encoding="utf-8").splitlines():
        name, pre, unit, count, suf, oracle, ids = line.split("\t")
        raw = b"".join(bytes.fromhex(h) if h != "-" else b"" for h in (pre,))
        raw += (bytes.fromhex(unit) if unit != "-" else b"") * int(count)
        raw += bytes.fromhex(suf) if suf != "-" else b""
        got = " ".join(map(str, enc.encode(raw.decode("utf-8", errors="replace")))) or "-"
        if oracle == "encoder.py":
            ids = got
            filled += 1
        elif got == ids:
            agree += 1
        else:
            differ.append(name)
        out.append("\t".join([name, pre, unit, count, suf, oracle, ids]))
    Path(sys.argv[3]).write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{sys.argv[3]}: {filled} cases by encoder.py; of the peer's, {agree} agree with encoder.py"
          f"{', differ: ' + ' '.join(differ) if differ else ''}", file=sys.stderr)


if __name__ == "__main__":
    main()

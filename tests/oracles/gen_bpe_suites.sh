#!/usr/bin/env bash
# gen_bpe_suites.sh: regenerate tests/golden/tokenize/suites.tsv.zst, the
# published test strings of GPT-3-Encoder and tiktoken with ids from the
# peer implementation (npm gpt-3-encoder 1.1.4, installed into a scratch
# directory, never committed) and, for texts too long for it, encoder.py's
# algorithm (gen_bpe_suites_fill.py).  Needs node + npm and Debian's
# python3-regex; `make check` does not.
#
#   tests/oracles/gen_bpe_suites.sh [SCRATCH_DIR]     (default /tmp/gpt3enc)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SCRATCH=${1:-/tmp/gpt3enc}
DATA=${DATA:-$TOP/data/cache}
if [ ! -f "$SCRATCH/node_modules/gpt-3-encoder/package.json" ]; then
  mkdir -p "$SCRATCH"
  (cd "$SCRATCH" && npm init -y >/dev/null && npm install --no-audit --no-fund gpt-3-encoder@1.1.4 >/dev/null)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$TOP/tests/oracles/gen_bpe_suites.js" "$SCRATCH/node_modules" \
  "$DATA/tokenizer/vocab.json" "$DATA/tokenizer/merges.txt" "$work/peer.tsv"
/usr/bin/python3 "$TOP/tests/oracles/gen_bpe_suites_fill.py" "$DATA" "$work/peer.tsv" "$work/suites.tsv"
mkdir -p "$TOP/tests/golden/tokenize"
zstd -19 -q -f "$work/suites.tsv" -o "$TOP/tests/golden/tokenize/suites.tsv.zst"
ls -l "$TOP/tests/golden/tokenize/suites.tsv.zst"

#!/usr/bin/env bash
# gen_bpe_golden.sh: regenerate tests/golden/bpe/ from the peer implementation,
# the npm package gpt-3-encoder 1.1.4, installed into a scratch directory
# (never committed).  Needs node + npm; `make check` does not.
#
#   tests/oracles/gen_bpe_golden.sh [SCRATCH_DIR]     (default /tmp/gpt3enc)
#
# Takes ~10 minutes: gpt-3-encoder's encode() is quadratic in the number of
# tokens (Array.concat per word), and the hostile suite holds a 1 MB story.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SCRATCH=${1:-/tmp/gpt3enc}
DATA=${DATA:-$TOP/data/cache}
OUT=$TOP/tests/golden/bpe
if [ ! -f "$SCRATCH/node_modules/gpt-3-encoder/package.json" ]; then
  mkdir -p "$SCRATCH"
  (cd "$SCRATCH" && npm init -y >/dev/null && npm install --no-audit --no-fund gpt-3-encoder@1.1.4 >/dev/null)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$TOP/tests/oracles/gen_bpe_golden.js" "$SCRATCH/node_modules" \
  "$DATA/tokenizer/vocab.json" "$DATA/tokenizer/merges.txt" \
  "$DATA/stories/tinystories-train-first2316.txt" "$work"
mkdir -p "$OUT"
for f in mirror-study.ids mirror-newlines.ids hostile.bin hostile.ids; do
  zstd -19 -q -f "$work/$f" -o "$OUT/$f.zst"
done
cp "$work/quirks.tsv" "$OUT/quirks.tsv"
ls -l "$OUT"

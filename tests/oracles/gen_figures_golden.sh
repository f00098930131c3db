#!/usr/bin/env bash
# gen_figures_golden.sh: regenerate tests/golden/figures/ (activity and
# attn-slice against the NumPy reference forward).  Needs bin/model-init
# (make) and Debian's /usr/bin/python3 with python3-numpy.
#
# The long case (long-*) uses TinyStories-1M's shape (window 256, local layer 1)
# and a 300-token story, so the real window size is exercised too.
# The model is a random test model with a small local window (5) on layers 0
# and 2, so the local mask matters for stories of 29 and 40 tokens; its
# model-init flags and the sha256 of the weights it made go to model.tsv so the
# test notices if model-init ever drifts.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/tests/golden/figures
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
FLAGS="--layers 3 --heads 4 --hidden 16 --inner 40 --vocab 300 --positions 64 --window 5 --attention local,global,local --seed 12"
mkdir -p "$OUT"
# shellcheck disable=SC2086
"$TOP/bin/model-init" $FLAGS -o "$TMP/m"
/usr/bin/python3 "$TOP/tests/oracles/gen_figures_golden.py" "$TMP/m" "$TMP"
cp "$TMP/input.tsv" "$TMP/from-PRPS.tsv" "$TMP/to-NN.tsv" "$TMP/activity.tsv" "$OUT/"
zstd -q -19 -f "$TMP/attn.tsv" -o "$OUT/attn.tsv.zst"
printf '%s\t%s\n' "$FLAGS" "$(sha256sum "$TMP/m/model.safetensors" | cut -d' ' -f1)" >"$OUT/model.tsv"
# The long case: TinyStories-1M's shape (window 256), a 300-token story.
LFLAGS="--tinystories-1m-config --seed 14"
# shellcheck disable=SC2086
"$TOP/bin/model-init" $LFLAGS -o "$TMP/l"
/usr/bin/python3 "$TOP/tests/oracles/gen_figures_golden.py" --long "$TMP/l" "$TMP"
cp "$TMP/long-input.tsv" "$TMP/long-activity.tsv" "$OUT/"
zstd -q -19 -f "$TMP/long-attn.tsv" -o "$OUT/long-attn.tsv.zst"
printf '%s\t%s\n' "$LFLAGS" "$(sha256sum "$TMP/l/model.safetensors" | cut -d' ' -f1)" >"$OUT/long-model.tsv"
ls -l "$OUT"

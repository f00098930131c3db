#!/usr/bin/env bash
# gen_gpt2_golden.sh: GPT-2 goldens from the float64 reference (ref_gpt2.py).
# Needs Debian's /usr/bin/python3 with python3-numpy and python3-torch, zstd.
#
#   gen_gpt2_golden.sh
#       Regenerates the committed fixtures: make_gpt2_fixture.py writes the
#       `tiny` and `small` random GPT-2 checkpoints into tests/golden/gpt2/CASE/
#       (safetensors/, bin/, bin-noprefix/), then checks the reference against
#       the independent PyTorch forward (check_ref_gpt2.py), then writes
#       CASE.gold.zst; the reference must give bit-identical results from all
#       three weight files.
#
#   gen_gpt2_golden.sh NAME MODEL_DIR T SEED ATTN_L ATTN_H ROWS STORED MADE_BY
#       One golden from any Hugging Face GPT-2 directory (config.json +
#       model.safetensors or pytorch_model.bin), whatever made it: e.g.
#       model-init's GPT-2 mode once it exists, for GPT-2 small's shape:
#         bin/model-init <gpt2-small flags> --seed 14 -o /tmp/g2s
#         tests/oracles/gen_gpt2_golden.sh gpt2-small /tmp/g2s 24 4 11 7 0,23 qkvz \
#             "model-init <gpt2-small flags> --seed 14"
#       MADE_BY is recorded verbatim in cases.tsv (the C test can rebuild the
#       model from it and must find the same weights sha256).
#
# ROWS: logit rows ("all" or a comma list); STORED: "qkvz" (every layer),
# "qkvz@L,L" (those layers only) or "-" (activity, attention and logits only).  Output: $GOLDEN_DIR (default
# tests/golden/gpt2)/NAME.gold.zst and NAME's row in $GOLDEN_DIR/cases.tsv
# (replaced if present):
#   name  made-by  T  id-seed  attn-layer  attn-head  logit-rows  stored
#   weights-file  weights-sha256  config-sha256
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${GOLDEN_DIR:-$TOP/tests/golden/gpt2}
PY=/usr/bin/python3
ORA=$TOP/tests/oracles
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
HEADER=$'# name\tmade-by\tT\tid-seed\tattn-layer\tattn-head\tlogit-rows\tstored\tweights-file\tweights-sha256\tconfig-sha256'

weights_file() {  # what a loader picks: model.safetensors first
  if [ -f "$1/model.safetensors" ]; then echo model.safetensors
  elif [ -f "$1/pytorch_model.bin" ]; then echo pytorch_model.bin
  else echo "gen_gpt2_golden.sh: $1 has no model.safetensors or pytorch_model.bin" >&2; exit 1; fi
}

one() {  # NAME MODEL_DIR T SEED AL AH ROWS STORED MADE_BY [SAME_DIR...]
  local name=$1 dir=$2 T=$3 seed=$4 al=$5 ah=$6 rows=$7 stored=$8 made=$9
  shift 9
  local wf ws cs
  wf=$(weights_file "$dir")
  "$PY" "$ORA/gen_gpt2_golden.py" "$dir" "$TMP/$name.gold" "$T" "$seed" "$al" "$ah" "$rows" "$stored" "$@"
  zstd -q -19 -f --rm "$TMP/$name.gold" -o "$OUT/$name.gold.zst"
  ws=$(sha256sum "$dir/$wf" | cut -d' ' -f1)
  cs=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  [ -f "$OUT/cases.tsv" ] || printf '%s\n' "$HEADER" >"$OUT/cases.tsv"
  awk -F'\t' -v n="$name" '$1 != n' "$OUT/cases.tsv" >"$TMP/cases"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$made" "$T" "$seed" "$al" "$ah" "$rows" \
    "$stored" "$wf" "$ws" "$cs" >>"$TMP/cases"
  cp "$TMP/cases" "$OUT/cases.tsv"
  echo "$OUT/$name.gold.zst: $(stat -c %s "$OUT/$name.gold.zst") bytes, weights sha256 $ws"
}

if [ $# -eq 0 ]; then
  # name | T | id seed | attn layer | attn head | logit rows | stored
  cases=(
    "tiny|16|1|1|1|all|qkvz"
    "small|48|2|3|2|all|qkvz"
  )
  for c in "${cases[@]}"; do
    IFS='|' read -r name T seed al ah rows stored <<<"$c"
    rm -rf "${OUT:?}/$name"
    "$PY" "$ORA/make_gpt2_fixture.py" "$name" "$OUT/$name"
  done
  "$PY" "$ORA/check_ref_gpt2.py" "$OUT"
  for c in "${cases[@]}"; do
    IFS='|' read -r name T seed al ah rows stored <<<"$c"
    one "$name" "$OUT/$name/safetensors" "$T" "$seed" "$al" "$ah" "$rows" "$stored" \
      "make_gpt2_fixture.py $name (tests/golden/gpt2/$name/)" "$OUT/$name/bin" "$OUT/$name/bin-noprefix"
  done
elif [ $# -eq 9 ]; then
  one "$@"
else
  sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2
  exit 2
fi

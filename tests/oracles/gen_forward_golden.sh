#!/usr/bin/env bash
# gen_forward_golden.sh: regenerate tests/golden/forward/ from the NumPy
# reference forward (tests/oracles/ref_gptneo.py).  Needs bin/model-init
# (make), `make data` (the tokenizer, for the reference-format JSON),
# Debian's /usr/bin/python3 with python3-numpy (and python3-torch
# for the pytorch_model.bin fixture), zstd.
#
# For each case: model-init writes a random test model (deterministic from
# its flags), the reference runs it on random ids, and the golden records the
# result; cases.tsv keeps the model-init flags and the sha256 of the weights
# and config it made, so the test notices if model-init ever drifts.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/tests/golden/forward
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.gold.zst
# name | model-init flags | T | id seed | attn layer | attn head | logit rows | stored
cases=(
  "tiny|--layers 2 --heads 2 --hidden 8 --vocab 50 --positions 16 --window 4 --seed 11|16|1|1|1|all|qkvz"
  "mixed|--layers 3 --heads 4 --hidden 16 --inner 40 --vocab 300 --positions 64 --window 5 --attention local,global,local --seed 12|40|2|0|2|all|qkvz"
  "sharp|--layers 2 --heads 3 --hidden 24 --vocab 1000 --positions 128 --window 32 --std 0.3 --seed 13|100|3|1|0|0,50,99|qkvz"
  "ts1m|--tinystories-1m-config --seed 14|24|4|7|3|0,23|qkvz"
  "ts1m-long|--tinystories-1m-config --seed 15|300|5|1|5|299|-"
)
printf '# name\tmodel-init flags\tT\tid-seed\tattn-layer\tattn-head\tlogit-rows\tstored\tweights-sha256\tconfig-sha256\n' >"$OUT/cases.tsv"
for c in "${cases[@]}"; do
  IFS='|' read -r name flags T seed al ah rows stored <<<"$c"
  # shellcheck disable=SC2086
  "$TOP/bin/model-init" $flags -o "$TMP/$name"
  "$PY" "$TOP/tests/oracles/gen_forward_golden.py" "$TMP/$name" "$TMP/$name.gold" "$T" "$seed" "$al" "$ah" "$rows" "$stored"
  zstd -q -19 --rm "$TMP/$name.gold" -o "$OUT/$name.gold.zst"
  ws=$(sha256sum "$TMP/$name/model.safetensors" | cut -d' ' -f1)
  cs=$(sha256sum "$TMP/$name/config.json" | cut -d' ' -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$flags" "$T" "$seed" "$al" "$ah" "$rows" "$stored" "$ws" "$cs" >>"$OUT/cases.tsv"
done
# The pytorch_model.bin fixture: the "mixed" model's state dict saved by torch.
"$TOP/bin/model-init" --layers 3 --heads 4 --hidden 16 --inner 40 --vocab 300 --positions 64 --window 5 --attention local,global,local --seed 12 -o "$TMP/binfix"
"$PY" "$TOP/tests/oracles/make_torch_bin.py" "$TMP/binfix" "$OUT/mixed.pytorch_model.bin"
ls -l "$OUT"
# The real-model check's comparison code, exercised on a random model with
# TinyStories-1M's config (the mirror's reference JSON layout).
"$TOP/bin/model-init" --tinystories-1m-config --seed 14 -o "$TMP/ts1m-ref"
"$PY" "$TOP/tests/oracles/gen_reference_format.py" "$TMP/ts1m-ref" "$TOP/data/cache/tokenizer/vocab.json" \
  "$OUT/ts1m-seed14-reference-format.json"

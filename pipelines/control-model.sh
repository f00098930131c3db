#!/usr/bin/env bash
# control-model.sh CONFIG SEED STD OUTDIR: the control model of the study (a
# model with the same architecture as CONFIG's, random weights from model-init
# with seed SEED, matrices ~ N(0, STD^2)), written to OUTDIR.  GPT-Neo only
# (model-init makes GPT-Neo models); anything else stops with one line.
# Env: BIN (tools).
set -euo pipefail
config=$1 seed=$2 std=$3 out=$4
[ -r "$config" ] || { echo "make: control model: $config: cannot read" >&2; exit 1; }
flat=$(tr -d ' \t\r\n' <"$config")
get() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$flat" | head -n 1; }
type=$(get model_type | tr -d '"')
if [ "$type" != gpt_neo ]; then
  echo "make: control model: model-init makes GPT-Neo models; $config is model_type '${type:-?}' (give CONTROL=no to skip the control model)" >&2
  exit 1
fi
layers=$(get num_layers) heads=$(get num_heads) hidden=$(get hidden_size) vocab=$(get vocab_size)
pos=$(get max_position_embeddings) window=$(get window_size) inner=$(get intermediate_size)
attn=$(sed -n 's/.*"attention_layers":\[\([^]]*\)\].*/\1/p' <<<"$flat" | tr -d '"')
[ "$inner" = null ] && inner=$(( 4 * hidden ))
if [ "$layers" = 8 ] && [ "$heads" = 16 ] && [ "$hidden" = 64 ] && [ "$vocab" = 50257 ] && [ "$pos" = 2048 ] &&
   [ "$window" = 256 ] && [ "$inner" = 256 ] && [ "$attn" = "global,local,global,local,global,local,global,local" ]; then
  flags=(--tinystories-1m-config)
else
  flags=(--layers "$layers" --heads "$heads" --hidden "$hidden" --inner "$inner" --vocab "$vocab"
         --positions "$pos" --window "$window" ${attn:+--attention "$attn"})
fi
"$BIN/model-init" "${flags[@]}" --seed "$seed" --std "$std" -o "$out"

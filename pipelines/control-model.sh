#!/usr/bin/env bash
# control-model.sh CONFIG SEED STD OUTDIR: the control model of the study (a
# model with the same architecture as CONFIG's, random weights from model-init
# with seed SEED, matrices ~ N(0, STD^2)), written to OUTDIR.  GPT-Neo or
# GPT-2 (model-init --gpt2); anything else stops with one line.
# Env: BIN (tools).
set -euo pipefail
config=$1 seed=$2 std=$3 out=$4
[ -r "$config" ] || { echo "make: control model: $config: cannot read" >&2; exit 1; }
flat=$(tr -d ' \t\r\n' <"$config")
get() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$flat" | head -n 1; }
type=$(get model_type | tr -d '"')
if [ "$type" = gpt2 ]; then
  layers=$(get n_layer) heads=$(get n_head) hidden=$(get n_embd) vocab=$(get vocab_size)
  pos=$(get n_positions) inner=$(get n_inner) inv=$(get scale_attn_by_inverse_layer_idx)
  [ -z "$inner" ] || [ "$inner" = null ] && inner=$(( 4 * hidden ))
  if [ "$layers" = 12 ] && [ "$heads" = 12 ] && [ "$hidden" = 768 ] && [ "$vocab" = 50257 ] && [ "$pos" = 1024 ] &&
     [ "$inner" = 3072 ] && [ "$inv" != true ]; then
    flags=(--gpt2-small-config)
  else
    flags=(--gpt2 --layers "$layers" --heads "$heads" --hidden "$hidden" --inner "$inner" --vocab "$vocab"
           --positions "$pos")
    [ "$inv" = true ] && flags+=(--scale-attn-by-inverse-layer-idx)
  fi
  exec "$BIN/model-init" "${flags[@]}" --seed "$seed" --std "$std" -o "$out"
fi
if [ "$type" != gpt_neo ]; then
  echo "make: control model: model-init makes GPT-Neo and GPT-2 models; $config is model_type '${type:-?}' (give CONTROL=no to skip the control model)" >&2
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

#!/usr/bin/env bash
# test_gpt2.sh: GPT-2 through every tool that takes a model, against the
# float64 reference (tests/oracles/ref_gpt2.py; goldens in tests/golden/gpt2/
# from gen_gpt2_golden.sh): the library forward and forward-dump (q, k, v, z,
# activity, attention, logits) on three shapes (tiny; small with
# scale_attn_by_inverse_layer_idx; GPT-2 small's exact config made by
# model-init), .safetensors = .bin = .bin without "transformer.", attn-slice
# and activity on GPT-2 streams, the header lines, `make all` on a GPT-2
# directory, the real GPT-2 check (when GPT2_DIR holds the weights), and bad
# input.
. "$TOP/tests/sh/lib.sh"
G=$TOP/tests/golden/gpt2
TG=$TESTBIN/test_gptneo
T2=$TESTBIN/test_gpt2
FD=$BIN/forward-dump
SV=$BIN/stream-view
M=$TMP/models
mkdir -p "$M"

# --- the goldens: every weight file of each case ------------------------------
while IFS=$'\t' read -r name made T seed al ah rows stored wfile wsha csha; do
  case $name in '#'*) continue;; esac
  case $made in
    model-init\ *)  # a model the toolkit makes: rebuild it, same bytes
      # shellcheck disable=SC2086
      "$BIN/model-init" ${made#model-init } -o "$M/$name" >/dev/null
      dirs=("$M/$name");;
    *) dirs=("$G/$name/safetensors" "$G/$name/bin" "$G/$name/bin-noprefix");;
  esac
  check_eq "$name: the weights are the golden's (sha256)" "$(sha256sum "${dirs[0]}/$wfile" | cut -d' ' -f1)" "$wsha"
  check_eq "$name: config.json is the golden's (sha256)" "$(sha256sum "${dirs[0]}/config.json" | cut -d' ' -f1)" "$csha"
  "$TG" --golden "$G/$name.gold.zst" --write-tokens "$TMP/$name.tagged"
  for d in "${dirs[@]}"; do
    v=$(basename "$d")
    # the library forward: q, k, v, z, activity, attention, logits vs reference
    "$TG" --golden "$G/$name.gold.zst" --model "$d" | sed "s/^\(ok\|not ok\) - /&[$v] /"
    # forward-dump end to end, every vector
    "$FD" --model "$d" --vectors q,k,v,z,a --threads 1 "$TMP/$name.tagged" -o "$TMP/$name-$v.act"
    "$TG" --golden "$G/$name.gold.zst" --dump "$TMP/$name-$v.act" | sed "s/^\(ok\|not ok\) - /&[$v dump] /"
  done
  for d in "${dirs[@]:1}"; do
    v=$(basename "$d")
    check_same_file "$name: $v gives the same dump as safetensors, bit for bit" \
      <("$SV" --no-header "$TMP/$name-$v.act") <("$SV" --no-header "$TMP/$name-safetensors.act")
  done
  a=$TMP/$name-$(basename "${dirs[0]}").act
  # attn-slice recomputes the golden head's attention with the header's scale
  "$BIN/attn-slice" --layer "$al" --head "$ah" "$a" -o "$TMP/$name.attn"
  "$TG" --golden "$G/$name.gold.zst" --attn-tsv "$TMP/$name.attn"
  # activity from z and the model's c_proj rows, and from the dumped floats
  "$BIN/activity" --model "${dirs[0]}" --heads all "$a" -o "$TMP/$name.actv"
  "$TG" --golden "$G/$name.gold.zst" --activity-tsv "$TMP/$name.actv"
  "$BIN/activity" --heads all "$a" -o "$TMP/$name.actv2"
  "$TG" --golden "$G/$name.gold.zst" --activity-tsv "$TMP/$name.actv2" | sed 's/^\(ok\|not ok\) - /&[dumped a] /'
  check "$name: activity's table says GPT-2's c_proj rows" grep -q '^# activity = ||z_h @ c_proj.weight\[h\*dk:(h+1)\*dk, :\]||_2 (GPT-2' "$TMP/$name.actv"
  # logits: the top-1 of the golden's rows through --logits
done <"$G/cases.tsv"

# --- headers --------------------------------------------------------------------
hdr=$("$SV" --header "$TMP/small-safetensors.act")
check "a GPT-2 stream says model-type: gpt2" grep -qx 'model-type: gpt2' <<<"$hdr"
check "... its score scale (sqrt-d-head)" grep -qx 'attention-scale: sqrt-d-head' <<<"$hdr"
check "... and the inverse-layer flag of the small fixture (yes)" grep -qx 'attention-scale-inverse-layer: yes' <<<"$hdr"
check "... every layer global" grep -qx 'attention-layers: global global global global' <<<"$hdr"
check_eq "tiny: attention-scale-inverse-layer: no" "$("$SV" --header "$TMP/tiny-safetensors.act" | sed -n 's/^attention-scale-inverse-layer: //p')" no
hdr=$("$SV" --header "$TMP/gpt2-small-gpt2-small.act")
check "GPT-2 small's shape: named a random GPT-2-small-shaped test model, not GPT-2" \
  grep -q '^model: random-test-model gpt2 seed 14 (a random GPT-2-small-shaped test model, not GPT-2; not TinyStories-1M' <<<"$hdr"
check "attn-slice names the scale it applied" grep -q '^# attention: softmax(q.k / s) causal, every layer global (GPT-2); s = sqrt(d_head) = 8$' "$TMP/gpt2-small.attn"
check "attn-slice with inverse-layer scaling says so" grep -q 's = sqrt(d_head) = 2.82842712 \* (layer + 1)$' "$TMP/small.attn"
"$BIN/model-init" --layers 2 --heads 2 --hidden 8 --vocab 50 --positions 16 --window 4 --seed 3 -o "$M/neo" >/dev/null
"$FD" --model "$M/neo" --vectors q,k "$TMP/tiny.tagged" -o "$TMP/neo.act"
check "a GPT-Neo stream has no model-type line (its header as before)" test -z "$("$SV" --header "$TMP/neo.act" | grep '^model-type\|^attention-scale')"
# the scale matters: a GPT-2 stream read as GPT-Neo gives other attention
"$T2" --relabel "$TMP/small-safetensors.act" "$TMP/small-as-neo.act" model-type -
"$T2" --relabel "$TMP/small-as-neo.act" "$TMP/small-as-neo.act" attention-scale -
"$BIN/attn-slice" --layer 3 --head 2 "$TMP/small-as-neo.act" -o "$TMP/small-as-neo.attn"
if "$TG" --golden "$G/small.gold.zst" --attn-tsv "$TMP/small-as-neo.attn" >"$TMP/neg.out"; then
  fail "attn-slice without GPT-2's scale must miss the reference"
else ok "attn-slice without GPT-2's scale misses the reference (the check can fail)"; fi

# .bin: the tied lm_head copy and the mask buffers are in the file, and skipped
check "the .bin fixture's dump names its weights file" grep -q '^model-weights: .*small/bin/pytorch_model.bin$' <("$SV" --header "$TMP/small-bin.act")

# --logits and --generate on GPT-2
top=$("$FD" --model "$G/small/safetensors" --logits 3 "$TMP/small.tagged" | grep -vc '^#')
check_eq "--logits: a line per token" "$top" 48
g1=$("$FD" --model "$G/small/bin-noprefix" --generate 5 --prompt-ids 1,2,3 | sed -n 's/^ids\t//p')
g2=$("$FD" --model "$G/small/safetensors" --generate 5 --prompt-ids 1,2,3 | sed -n 's/^ids\t//p')
check "--generate: 5 greedy ids after 3, the same from .bin and .safetensors" test -n "$g1" -a "$g1" = "$g2" -a "$(tr ',' '\n' <<<"$g1" | wc -l)" = 8

# every story runs alone (no grouping of stories into one product: BLAS
# kernels may round a row by its place in it), so its floats equal those of
# the story dumped alone, and do not depend on --threads
awk 'BEGIN { srand(7); n = split("150 300 90 200 1 260 40", len, " ");
  for (s = 1; s <= n; s++) { line = ""; for (t = 0; t < len[s]; t++) line = line (t ? " " : "") int(rand() * 50257); print line } }' >"$TMP/g.ids"
"$FD" --model "$M/gpt2-small" --ids-text --vectors q,z,a --threads 2 "$TMP/g.ids" -o "$TMP/g2.act"
"$FD" --model "$M/gpt2-small" --ids-text --vectors q,z,a --threads 1 "$TMP/g.ids" -o "$TMP/g1.act"
check_same_file "GPT-2 small, stories run in groups: threads 1 and 2 give identical floats" \
  <("$SV" --no-header "$TMP/g1.act") <("$SV" --no-header "$TMP/g2.act")
for i in 1 2 3 4 5 6 7; do sed -n "${i}p" "$TMP/g.ids"; done | while IFS= read -r line; do
  printf '%s\n' "$line" >"$TMP/one.ids"
  "$FD" --model "$M/gpt2-small" --ids-text --vectors q,z,a --threads 1 "$TMP/one.ids" -o "$TMP/one.act"
  "$SV" --no-header "$TMP/one.act" | cut -f2-
done >"$TMP/alone.txt"
check_same_file "... and each story's floats equal those of the story run alone (7 stories, one of one token)" \
  <("$SV" --no-header "$TMP/g2.act" | cut -f2-) "$TMP/alone.txt"
check_eq "... every story kept" "$("$SV" --count "$TMP/g2.act")" 7

# --- the real GPT-2 (only when GPT2_DIR holds it) -------------------------------
PIN=$G/real-gpt2-pinned.json
# real_check DIR TOKDIR: forward-dump --generate against the pinned values from
# transformers' GPT-2 integration tests (docs/gpt2.md)
real_check() {
  local d=$1 tok=$2 want got
  want=$(grep -o '"expected_ids": \[[0-9, ]*\]' "$PIN" | head -n 1 | sed 's/.*\[\(.*\)\]/\1/; s/ //g')
  got=$("$FD" --model "$d" --generate 18 --prompt-ids 464,3290 | sed -n 's/^ids\t//p')
  check_eq "real GPT-2: greedy ids after \"The dog\" (transformers' test_lm_generate_gpt2)" "$got" "$want"
  while IFS=$'\t' read -r prompt total text; do
    local n
    n=$("$FD" --model "$d" --generate 0 --prompt "$prompt" --tokenizer "$tok" | sed -n 's/^ids\t//p' | tr ',' '\n' | wc -l)
    got=$("$FD" --model "$d" --generate $((total - n)) --prompt "$prompt" --tokenizer "$tok" | sed -n 's/^text\t//p')
    check_eq "real GPT-2: greedy text of \"$prompt\" to $total tokens (test_batch_generation)" "$got" "$text"
  done < <(sed -n '/"greedy_text"/,$ { s/^ *"prompt": "\(.*\)",$/\1/p; s/^ *"max_length": \([0-9]*\),$/\1/p; s/^ *"expected_text": "\(.*\)"$/\1/p }' "$PIN" |
           paste - - -)
}
# the comparison must be able to fail: a random GPT-2-small-shaped model is not GPT-2
real_check "$M/gpt2-small" "$DATA/tokenizer" >"$TMP/real-neg.out" 2>&1
check "the real-GPT-2 comparison runs and rejects a random model (3 checks, all fail)" \
  test "$(grep -c '^not ok' "$TMP/real-neg.out")" = 3 -a "$(grep -c '^ok' "$TMP/real-neg.out")" = 0
GD=${GPT2_DIR:-}
if [ -n "$GD" ] && [ -f "$GD/config.json" ] && { [ -f "$GD/model.safetensors" ] || [ -f "$GD/pytorch_model.bin" ]; }; then
  tok=$GD; [ -f "$GD/vocab.json" ] && [ -f "$GD/merges.txt" ] || tok=$DATA/tokenizer
  real_check "$GD" "$tok"
  check "real GPT-2: never called verified (no GPT-2 sha256 is pinned)" \
    grep -q '^model	.*weights not verified against any release' <("$FD" --model "$GD" --generate 1 --prompt-ids 464)
else
  skip "real GPT-2 check: GPT2_DIR (${GD:-unset}) holds no config.json + model.safetensors or pytorch_model.bin"
fi

# --- make all on a GPT-2 directory ----------------------------------------------
"$BIN/model-init" --gpt2 --layers 3 --heads 4 --hidden 32 --vocab 50257 --positions 1024 --seed 3 -o "$M/g2" >/dev/null
ARGS=(MODEL="$M/g2" N_TRAIN=24 N_TEST=12 SHARDS=2 SANITIZE="${SANITIZE:-}" OUT="$TMP/all")
[ -n "${MIRROR:-}" ] && ARGS+=(MIRROR="$MIRROR")
if make -s --no-print-directory -C "$TOP" all "${ARGS[@]}" >"$TMP/all.log" 2>&1; then
  ok "make all completes on a random GPT-2 model"
  check "... with probes of all 3 layers" test "$(ls "$TMP/all/probes" | wc -l)" = 3
  check "... the summary names a random GPT-2-architecture test model, not GPT-2" \
    grep -q '^- model: `random-test-model gpt2 seed 3 (a random GPT-2-architecture test model, not GPT-2' "$TMP/all/summary.md"
  check "... the test activations are GPT-2's" grep -qx 'model-type: gpt2' <("$SV" --header "$TMP/all/test.acts")
  check "... figures were drawn" test -s "$TMP/all/figures/defnoun-activity.png" -a -s "$TMP/all/figures/f1-grid-keys.png"
  check "... the F1 grid's table names the model" \
    grep -q '^# model: random-test-model gpt2 seed 3 (a random GPT-2' "$TMP/all/figures/f1-grid-keys.txt"
else
  fail "make all on a random GPT-2 model"; tail -n 15 "$TMP/all.log"
fi

# --- bad input: one line, non-zero exit ------------------------------------------
bad=$TMP/bad; mkdir -p "$bad"
mk() { rm -rf "$bad/$1"; mkdir -p "$bad/$1"; cp "$G/tiny/safetensors/config.json" "$G/tiny/safetensors/model.safetensors" "$bad/$1/"; }
mk type; sed -i 's/"model_type": "gpt2"/"model_type": "llama"/' "$bad/type/config.json"
check_fails "an unknown model_type" '^forward-dump: .*config.json: config: unsupported model_type "llama" \(gpt_neo or gpt2\)$' "$FD" --model "$bad/type" "$TMP/tiny.tagged"
mk heads; sed -i 's/"n_head": 2/"n_head": 3/' "$bad/heads/config.json"
check_fails "n_embd not a multiple of n_head" 'config: n_embd 8 is not divisible by n_head 3$' "$FD" --model "$bad/heads" "$TMP/tiny.tagged"
mk cross; sed -i 's/"model_type": "gpt2",/"model_type": "gpt2", "add_cross_attention": true,/' "$bad/cross/config.json"
check_fails "add_cross_attention" 'add_cross_attention' "$FD" --model "$bad/cross" "$TMP/tiny.tagged"
mk mixed; "$T2" --edit-weights "$G/tiny/safetensors/model.safetensors" "$bad/mixed/model.safetensors" transformer.h.1.ln_2.bias h.1.ln_2.bias
check_fails "names with and without transformer. in one file" 'model.safetensors: model: the weights mix names with and without "transformer." \(transformer\.[^,]*, h\.1\.ln_2\.bias\)$' "$FD" --model "$bad/mixed" "$TMP/tiny.tagged"
mk neoname; "$T2" --edit-weights "$G/tiny/safetensors/model.safetensors" "$bad/neoname/model.safetensors" transformer.h.0.attn.c_proj.weight transformer.h.0.attn.attention.out_proj.weight
check_fails "a GPT-Neo tensor name in a GPT-2 model" 'tensor transformer.h.0.attn.attention.out_proj.weight is a GPT-Neo name in a GPT-2 model' "$FD" --model "$bad/neoname" "$TMP/tiny.tagged"
mk asneo; cp "$M/neo/config.json" "$bad/asneo/config.json"
check_fails "GPT-2 weights under a GPT-Neo config" 'tensor transformer.h.0.attn.c_attn.weight is a GPT-2 name in a GPT-Neo model' "$FD" --model "$bad/asneo" "$TMP/tiny.tagged"
mk asgpt2; cp "$M/neo/model.safetensors" "$bad/asgpt2/model.safetensors"
check_fails "GPT-Neo weights under a GPT-2 config" 'is a GPT-Neo name in a GPT-2 model' "$FD" --model "$bad/asgpt2" "$TMP/tiny.tagged"
mk nobias; "$T2" --edit-weights "$G/tiny/safetensors/model.safetensors" "$bad/nobias/model.safetensors" transformer.h.1.attn.c_attn.bias -
check_fails "a missing c_attn bias" 'model: missing tensor transformer.h.1.attn.c_attn.bias$' "$FD" --model "$bad/nobias" "$TMP/tiny.tagged"
mk untied; sed -i 's/"model_type": "gpt2",/"model_type": "gpt2", "tie_word_embeddings": false,/' "$bad/untied/config.json"
check_fails "tie_word_embeddings false without lm_head.weight" 'no lm_head.weight' "$FD" --model "$bad/untied" "$TMP/tiny.tagged"
check_fails "a story longer than n_ctx / n_positions" '48 tokens exceed the model.s 16 positions' "$FD" --model "$G/tiny/bin" "$TMP/small.tagged"
"$T2" --relabel "$TMP/tiny-safetensors.act" "$TMP/llama.act" model-type llama
check_fails "attn-slice: an unknown model-type in the header" "^attn-slice: .*model-type 'llama' in the header is not gpt_neo or gpt2$" "$BIN/attn-slice" --layer 0 --head 0 "$TMP/llama.act"
"$T2" --relabel "$TMP/tiny-safetensors.act" "$TMP/noscale.act" attention-scale -
check_fails "attn-slice: a GPT-2 stream without its scale" "^attn-slice: .*needs 'attention-scale: sqrt-d-head' or 'none'" "$BIN/attn-slice" --layer 0 --head 0 "$TMP/noscale.act"
check_fails "model-init: --gpt2 with a local window" 'GPT-2 has no local attention' "$BIN/model-init" --gpt2 --window 4 -o "$bad/x"
check_fails "model-init: --gpt2-small-config with size flags" 'fixes every size' "$BIN/model-init" --gpt2-small-config --layers 2 -o "$bad/x"
check_fails "model-init: --tinystories-1m-config with --gpt2" 'does not go with --gpt2' "$BIN/model-init" --tinystories-1m-config --gpt2 -o "$bad/x"
check_fails "model-init: inverse-layer scaling without --gpt2" 'GPT-2 option' "$BIN/model-init" --scale-attn-by-inverse-layer-idx -o "$bad/x"
check "nothing written by the refused model-init runs" test ! -e "$bad/x"

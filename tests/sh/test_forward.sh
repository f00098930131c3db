#!/usr/bin/env bash
# test_forward.sh: forward-dump and the GPT-Neo forward against the NumPy
# reference (goldens from tests/oracles/gen_forward_golden.sh), .bin vs
# .safetensors, the real TinyStories-1M check (when its files are present),
# and refusals of bad input.
. "$TOP/tests/sh/lib.sh"
G=$TOP/tests/golden/forward
TG=$TESTBIN/test_gptneo
FD=$BIN/forward-dump
M=$TMP/models
mkdir -p "$M"

# --- random test models: model-init is deterministic ------------------------
while IFS=$'\t' read -r name flags T seed al ah rows stored wsha csha; do
  case $name in '#'*) continue;; esac
  # shellcheck disable=SC2086
  "$BIN/model-init" $flags -o "$M/$name"
  got=$(sha256sum "$M/$name/model.safetensors" | cut -d' ' -f1)
  check_eq "$name: model-init reproduces the golden's weights (sha256)" "$got" "$wsha"
  got=$(sha256sum "$M/$name/config.json" | cut -d' ' -f1)
  check_eq "$name: model-init reproduces the golden's config.json" "$got" "$csha"
  # the library forward: q, k, v, z, activity, attention, logits vs reference
  "$TG" --golden "$G/$name.gold.zst" --model "$M/$name"
done <"$G/cases.tsv"
check "random models are named as test models, not TinyStories-1M" \
  grep -q '"_name_or_path": "random-test-model seed 14"' "$M/ts1m/config.json"

# --- forward-dump end to end --------------------------------------------------
for name in tiny mixed sharp ts1m; do
  "$TG" --golden "$G/$name.gold.zst" --write-tokens "$TMP/$name.tok"
  "$FD" --model "$M/$name" --vectors q,k,v,z,a "$TMP/$name.tok" -o "$TMP/$name.act"
  "$TG" --golden "$G/$name.gold.zst" --dump "$TMP/$name.act"
done
# subsets of layers / heads / vectors, in any order on the command line
"$FD" --model "$M/mixed" --layers 2,0 --heads 1-2 --vectors a,v "$TMP/mixed.tok" -o "$TMP/mixed-sub.act"
"$TG" --golden "$G/mixed.gold.zst" --dump "$TMP/mixed-sub.act"
check_eq "subset header: layers" "$("$BIN/stream-view" --header "$TMP/mixed-sub.act" | sed -n "s/^layers: //p")" "0 2"
check_eq "subset header: vectors in canonical order" \
  "$("$BIN/stream-view" --header "$TMP/mixed-sub.act" | sed -n "s/^vectors: //p")" "v a"
hdr=$("$BIN/stream-view" --header "$TMP/ts1m.act")
check "header names the model and its weights sha256" \
  grep -q "^model-sha256: $(sha256sum "$M/ts1m/model.safetensors" | cut -d' ' -f1)\$" <<<"$hdr"
check "header: config sha256" \
  grep -q "^model-config-sha256: $(sha256sum "$M/ts1m/config.json" | cut -d' ' -f1)\$" <<<"$hdr"
check "header: a random model is marked not TinyStories-1M" \
  grep -q "^model: random-test-model seed 14 (not TinyStories-1M" <<<"$hdr"
check "header: layout for attn-slice (attention layers, window)" \
  grep -q "^attention-layers: global local global local global local global local$" <<<"$hdr"

# --ids-text: one story per line of ids
"$BIN/stream-view" --no-header "$TMP/mixed.tok" | cut -f3 | tr '\n' ' ' >"$TMP/mixed.ids"; echo >>"$TMP/mixed.ids"
"$FD" --model "$M/mixed" --ids-text --vectors q,z,a "$TMP/mixed.ids" -o "$TMP/mixed-ids.act"
"$TG" --golden "$G/mixed.gold.zst" --dump "$TMP/mixed-ids.act"
printf '1 2 x\n' >"$TMP/bad.ids"
check_fails "--ids-text: a non-number refused" 'line 1: not a list of token ids' "$FD" --model "$M/mixed" --ids-text "$TMP/bad.ids"

# tags travel through
"$TG" --golden "$G/mixed.gold.zst" --write-tokens "$TMP/mixed.tagged"
"$FD" --model "$M/mixed" --vectors q "$TMP/mixed.tagged" -o "$TMP/mixed-tagged.act"
check_eq "tags carried into the activations" \
  "$("$BIN/stream-view" --no-header "$TMP/mixed-tagged.act" | head -n 3 | cut -f7 | tr '\n' ' ')" "NN VBD  "
"$TG" --golden "$G/mixed.gold.zst" --dump "$TMP/mixed-tagged.act"

# many stories (several batches), 1 vs 2 threads: same floats, same order
for i in $(seq 1 37); do cat "$TMP/mixed.tok"; done >"$TMP/many.tok"
"$FD" --model "$M/mixed" --vectors q,k,z,a --threads 1 "$TMP/many.tok" -o "$TMP/many1.act"
"$FD" --model "$M/mixed" --vectors q,k,z,a --threads 2 "$TMP/many.tok" -o "$TMP/many2.act"
check_eq "37 concatenated stories in, 37 out" "$("$BIN/stream-view" --count "$TMP/many2.act")" "37"
check_same_file "threads 1 and 2 give identical floats" \
  <("$BIN/stream-view" --no-header "$TMP/many1.act") <("$BIN/stream-view" --no-header "$TMP/many2.act")
"$FD" --model "$M/mixed" --vectors q,k,z,a --threads 1 "$TMP/mixed.tok" -o "$TMP/one.act"
check_eq "every story's dump equals the single-story dump" \
  "$("$BIN/stream-view" --no-header "$TMP/many2.act" | sort -u | wc -l)" \
  "$("$BIN/stream-view" --no-header "$TMP/one.act" | wc -l)"

# --- pytorch_model.bin vs model.safetensors: bit-identical --------------------
mkdir -p "$M/mixed-bin"
cp "$M/mixed/config.json" "$M/mixed-bin/"
cp "$G/mixed.pytorch_model.bin" "$M/mixed-bin/pytorch_model.bin"
"$FD" --model "$M/mixed-bin" --vectors q,k,v,z,a "$TMP/mixed.tok" -o "$TMP/mixed-bin.act"
"$FD" --model "$M/mixed" --vectors q,k,v,z,a --threads 1 "$TMP/mixed.tok" -o "$TMP/mixed-st.act"
check_same_file ".bin and .safetensors give bit-identical dumps (%.9g = exact float32)" \
  <("$BIN/stream-view" --no-header "$TMP/mixed-bin.act") <("$BIN/stream-view" --no-header "$TMP/mixed-st.act")
check "the .bin dump names the .bin weights" \
  grep -q "^model-weights: .*pytorch_model.bin" <("$BIN/stream-view" --header "$TMP/mixed-bin.act")

# --- logits and greedy generation ---------------------------------------------
REF=$G/ts1m-seed14-reference-format.json
"$TG" --reference "$REF" --model "$M/ts1m" --tokenizer "$DATA/tokenizer"
# the comparison must be able to fail: another seed is not that model
if "$TG" --reference "$REF" --model "$M/ts1m-long" >"$TMP/neg.out" 2>&1; then
  fail "the reference comparison rejects a different model"
else ok "the reference comparison rejects a different model"; fi
want_ids=$(sed 's/.*"greedy_ids": \[\([0-9, ]*\)\].*/\1/' "$REF" | tr -d ' ')
got_ids=$("$FD" --model "$M/ts1m" --generate 12 --prompt-ids 7454,2402,257,640 | sed -n 's/^ids\t//p')
check_eq "forward-dump --generate --prompt-ids: greedy ids = reference" "$got_ids" "$want_ids"
want_text=$(sed 's/.*"greedy_text": "\([^"]*\)".*/\1/' "$REF")
got_text=$("$FD" --model "$M/ts1m" --generate 12 --prompt "Once upon a time" --tokenizer "$DATA/tokenizer" | sed -n 's/^text\t//p')
check_eq "forward-dump --generate --prompt: text = reference" "$got_text" "$want_text"
echo "7454 2402 257 640" >"$TMP/once.ids"
got=$("$FD" --model "$M/ts1m" --ids-text --logits 10 "$TMP/once.ids" | tail -n 1 | cut -f6- | tr '\t' '\n' | cut -d: -f1 | tr '\n' ' ')
want=$(grep -o '"id": [0-9]*' "$REF" | cut -d' ' -f2 | tr '\n' ' ')
check_eq "forward-dump --logits 10: top-10 ids at the last position = reference" "$got" "$want"
top=$("$FD" --model "$M/tiny" --logits 3 "$TMP/tiny.tok" | grep -v '^#' | tail -n 1 | cut -f6 | cut -d: -f1)
check "forward-dump --logits: a top-3 line per token" \
  test "$("$FD" --model "$M/tiny" --logits 3 "$TMP/tiny.tok" | grep -vc '^#')" = 16 -a -n "$top"

# --- the real TinyStories-1M (only where its files are present) ----------------
REAL=${TINYSTORIES_1M_DIR:-$DATA/models/tinystories-1m}
if [ -f "$REAL/config.json" ] && { [ -f "$REAL/pytorch_model.bin" ] || [ -f "$REAL/model.safetensors" ]; }; then
  RREF=$DATA/reference/tinystories-1m-once-upon-a-time.json
  "$TG" --reference "$RREF" --model "$REAL" --tokenizer "$DATA/tokenizer"
  out=$("$FD" --model "$REAL" --generate 12 --prompt "Once upon a time" --tokenizer "$DATA/tokenizer")
  check_eq "real TinyStories-1M: forward-dump --generate text" "$(sed -n 's/^text\t//p' <<<"$out")" \
    "$(sed 's/.*"greedy_text": "\([^"]*\)".*/\1/' "$RREF")"
  if [ -f "$REAL/pytorch_model.bin" ] && [ "$(sha256sum "$REAL/pytorch_model.bin" | cut -d' ' -f1)" = \
       07f9609ea882b8163ff3b23d40e2b82cb715d409631beb15c84b164f3877dae7 ]; then
    check "real TinyStories-1M: identity says verified" grep -q '^model	TinyStories-1M (roneneldan' <<<"$out"
  else
    skip "real TinyStories-1M identity: $REAL has no pytorch_model.bin with the pinned sha256"
  fi
else
  skip "real TinyStories-1M check: no weights in $REAL (config.json + pytorch_model.bin); set TINYSTORIES_1M_DIR"
fi

# --- bad input: one line, non-zero exit, nothing written -----------------------
bad=$TMP/bad; mkdir -p "$bad"
mk() { rm -rf "$bad/$1"; mkdir -p "$bad/$1"; cp "$M/tiny/config.json" "$M/tiny/model.safetensors" "$bad/$1/"; }
mk trunc; head -c 5000 "$M/tiny/model.safetensors" >"$bad/trunc/model.safetensors"
check_fails "truncated model.safetensors" '^forward-dump: .*model.safetensors' "$FD" --model "$bad/trunc" "$TMP/tiny.tok"
mk corrupt; printf 'XXXXXXXXXXXXXXXX' | dd of="$bad/corrupt/model.safetensors" bs=1 seek=8 conv=notrunc 2>/dev/null
check_fails "corrupt safetensors header" '^forward-dump: ' "$FD" --model "$bad/corrupt" "$TMP/tiny.tok"
mk missing; "$BIN/model-init" --layers 3 --heads 2 --hidden 8 --vocab 50 --positions 16 --window 4 -o "$bad/l3"
cp "$bad/l3/config.json" "$bad/missing/config.json"
check_fails "missing tensor (config has a 3rd layer)" 'missing tensor transformer.h.2' "$FD" --model "$bad/missing" "$TMP/tiny.tok"
mk shape; "$BIN/model-init" --layers 2 --heads 2 --hidden 8 --vocab 51 --positions 16 --window 4 -o "$bad/v51"
cp "$bad/v51/config.json" "$bad/shape/config.json"
check_fails "wrong shape (config vocab 51, wte has 50 rows)" 'wte.weight has shape \[50x8\], config says \[51x8\]' "$FD" --model "$bad/shape" "$TMP/tiny.tok"
mk relu; sed -i 's/"gelu_new"/"relu"/' "$bad/relu/config.json"
check_fails "unsupported activation" 'unsupported activation_function "relu"' "$FD" --model "$bad/relu" "$TMP/tiny.tok"
mk attn; sed -i 's/"local"/"sparse"/g' "$bad/attn/config.json"
check_fails "unsupported attention type" 'unsupported attention type' "$FD" --model "$bad/attn" "$TMP/tiny.tok"
mk noconf; rm "$bad/noconf/config.json"
check_fails "missing config.json" 'config.json' "$FD" --model "$bad/noconf" "$TMP/tiny.tok"
mk noweights; rm "$bad/noweights/model.safetensors"
check_fails "no weights file" 'no model.safetensors or pytorch_model.bin' "$FD" --model "$bad/noweights" "$TMP/tiny.tok"
for f in bad_global bad_opcode bad_shortstorage; do
  if [ -f "$TOP/tests/golden/tensors/$f.bin" ]; then
    mk "$f"; rm "$bad/$f/model.safetensors"; cp "$TOP/tests/golden/tensors/$f.bin" "$bad/$f/pytorch_model.bin"
    check_fails "pytorch_model.bin fixture $f refused" '^forward-dump: .*pytorch_model.bin' "$FD" --model "$bad/$f" "$TMP/tiny.tok"
  fi
done
mk binbad; rm "$bad/binbad/model.safetensors"; head -c 20000 "$G/mixed.pytorch_model.bin" >"$bad/binbad/pytorch_model.bin"
check_fails "truncated pytorch_model.bin" '^forward-dump: .*pytorch_model.bin' "$FD" --model "$bad/binbad" "$TMP/tiny.tok"
check_fails "token id outside the vocabulary" 'token id [0-9]+ at position [0-9]+ is outside the vocabulary \(300\)' \
  "$FD" --model "$M/mixed" "$TMP/ts1m.tok"
check_fails "story longer than the position table" '40 tokens exceed the model.s 16 positions' \
  "$FD" --model "$M/tiny" "$TMP/mixed.tok"
check_fails "no --model" 'no model' "$FD" "$TMP/tiny.tok"
check_fails "bad --vectors" "--vectors: 'x'" "$FD" --model "$M/tiny" --vectors q,x "$TMP/tiny.tok"
check_fails "--layers out of range" '^forward-dump: .*--layers' "$FD" --model "$M/tiny" --layers 5 "$TMP/tiny.tok"
check_fails "an activations stream is not accepted as input" '^forward-dump: .*activations' "$FD" --model "$M/tiny" "$TMP/tiny.act"
# nothing half-written: 20 good stories, then one too long
{ for i in $(seq 1 20); do cat "$TMP/tiny.tok"; done; cat "$TMP/mixed.tok"; } >"$TMP/late-bad.tok"
check_fails "a bad story after good ones fails" 'exceed' "$FD" --model "$M/tiny" "$TMP/late-bad.tok" -o "$TMP/late.act"
check "... and leaves no output file" test ! -e "$TMP/late.act"
check_eq "... nor a temporary" "$(ls -A "$TMP" | grep -c 'late\.act')" "0"
check_fails "--logits: a bad story fails" 'exceed' "$FD" --model "$M/tiny" --logits 2 "$TMP/late-bad.tok" -o "$TMP/late.tsv"
check "... and leaves no --logits file" test ! -e "$TMP/late.tsv"
check_fails "--generate beyond the position table" 'exceeds the model.s 16 positions' "$FD" --model "$M/tiny" --generate 20 --prompt-ids 1,2
check_fails "--prompt without a tokenizer" 'needs a tokenizer' "$FD" --model "$M/tiny" --generate 2 --prompt hi
check_fails "model-init refuses hidden not divisible by heads" 'not divisible' "$BIN/model-init" --hidden 10 --heads 3 -o "$bad/x"
check_fails "--tinystories-1m-config with size flags" 'fixes every size' "$BIN/model-init" --tinystories-1m-config --layers 2 -o "$bad/y"

# --- help and version ----------------------------------------------------------
for t in forward-dump model-init; do
  check "$t --help shows an example and exits 0" grep -q 'example' <("$BIN/$t" --help)
  check_eq "$t --version" "$("$BIN/$t" --version)" "$t 0.1.0"
done

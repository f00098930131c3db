#!/usr/bin/env bash
# test_train.sh: the trainer end to end on a tiny config and a dozen mirror
# stories: output files and names, determinism, checkpoint + resume giving
# the same weights as an uninterrupted run, the
# saved model loading in forward-dump, and refusals of bad input (corrupt or
# mismatched checkpoint, empty corpus).
. "$TOP/tests/sh/lib.sh"
TR=$BIN/train
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")
# a tiny model: 16 hidden, 4 heads, 2 layers (global, local window 8)
TINY=(--hidden 16 --heads 4 --layers 2 --window 8 --seq-len 96 --batch 4 --threads 2
      --warmup 2 --lr 0.01 --eval-every 3 --log-every 1)

awk '{print} /^<\|endoftext\|>$/ {n++} n == 16 {exit}' "$STORIES" >"$TMP/s16.txt"
"$BIN/tokenize" "${TOK[@]}" "$TMP/s16.txt" -o "$TMP/s16.tok"

# --- a run, its files ---------------------------------------------------------
check "train 6 steps from a tokens stream" \
  "$TR" "${TINY[@]}" --steps 6 --log "$TMP/a.tsv" --checkpoint "$TMP/a.ckpt" -o "$TMP/a" "$TMP/s16.tok"
check "config.json names a test shape by its shape" grep -q '"_name_or_path": "heads-standin-gptneo-2l-4h-16d"' "$TMP/a/config.json"
check "training.json: the same name" grep -q '"model": "heads-standin-gptneo-2l-4h-16d"' "$TMP/a/training.json"
check "train 1 step in TinyStories-1M's shape" \
  "$TR" --steps 1 --eval-every 0 --threads 2 -o "$TMP/ts" "$TMP/s16.tok"
check "only TinyStories-1M's shape is named after it" \
  grep -q '"_name_or_path": "heads-standin-tinystories-1m-arch"' "$TMP/ts/config.json"
rm -rf "$TMP/ts"
check "config.json: GPTNeoForCausalLM" grep -q '"GPTNeoForCausalLM"' "$TMP/a/config.json"
check "config.json: layers alternate global/local" grep -q '"local"' "$TMP/a/config.json"
names=$(head -c 100000 "$TMP/a/model.safetensors" | grep -ao '"[a-z_.0-9]*weight"' | sort -u | tr '\n' ' ')
for t in transformer.wte.weight transformer.wpe.weight transformer.h.1.attn.attention.q_proj.weight \
         transformer.h.1.attn.attention.out_proj.weight transformer.h.0.mlp.c_fc.weight \
         transformer.ln_f.weight lm_head.weight; do
  case " $names " in *"\"$t\""*) ok "model.safetensors has $t";; *) fail "model.safetensors lacks $t";; esac
done
check_eq "TSV log: header + 6 step lines" "$(wc -l <"$TMP/a.tsv" | tr -d ' ')" 7
first=$(awk -F'\t' 'NR == 2 {print $4}' "$TMP/a.tsv"); last=$(awk -F'\t' 'NR == 7 {print $4}' "$TMP/a.tsv")
check "train loss falls ($first -> $last)" awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < a - 0.05)}'
held=$(awk -F'\t' 'NR == 7 {print $5}' "$TMP/a.tsv")
check "held-out loss logged and below ln(50257) = 10.825 ($held)" awk -v h="$held" 'BEGIN {exit !(h > 0 && h < 10.825)}'
check "training.json records the held-out loss" grep -q '"heldout_loss": [0-9]' "$TMP/a/training.json"

# --- determinism ----------------------------------------------------------------
check "same run again" "$TR" "${TINY[@]}" --steps 6 -o "$TMP/b" "$TMP/s16.tok"
check_same_file "same seed and threads -> identical weights" "$TMP/a/model.safetensors" "$TMP/b/model.safetensors"
check "tokenize | train (a pipe)" bash -c "'$BIN/tokenize' ${TOK[*]} '$TMP/s16.txt' | '$TR' ${TINY[*]} --steps 6 -o '$TMP/c'"
check_same_file "a pipe gives the weights of a tokens file" "$TMP/a/model.safetensors" "$TMP/c/model.safetensors"
check "another seed" "$TR" "${TINY[@]}" --steps 6 --seed 2 -o "$TMP/d" "$TMP/s16.tok"
if cmp -s "$TMP/a/model.safetensors" "$TMP/d/model.safetensors"; then fail "another seed -> other weights"; else ok "another seed -> other weights"; fi

# --- interruption + resume = uninterrupted run -------------------------------
check "interrupted after step 3" "$TR" "${TINY[@]}" --steps 6 --stop-after 3 --checkpoint "$TMP/r.ckpt" -o "$TMP/r" "$TMP/s16.tok"
if [ -e "$TMP/r/model.safetensors" ]; then fail "an interrupted run writes no model"; else ok "an interrupted run writes no model"; fi
cp "$TMP/r.ckpt" "$TMP/r3.ckpt"
check "resume from step 3" "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/r.ckpt" --checkpoint "$TMP/r.ckpt" -o "$TMP/r" "$TMP/s16.tok"
check_same_file "resumed run = uninterrupted run (weights)" "$TMP/a/model.safetensors" "$TMP/r/model.safetensors"
check_same_file "resumed run = uninterrupted run (final checkpoint)" "$TMP/a.ckpt" "$TMP/r.ckpt"

# --- dropout: deterministic, resumable, and it changes the training -----------
DROP=(--dropout 0.2 --steps 6 --log "$TMP/dr.tsv")
check "train with --dropout 0.2" "$TR" "${TINY[@]}" "${DROP[@]}" --checkpoint "$TMP/da.ckpt" -o "$TMP/da" "$TMP/s16.tok"
if cmp -s "$TMP/a/model.safetensors" "$TMP/da/model.safetensors"; then fail "dropout changes the weights"; else ok "dropout changes the weights"; fi
check "dropout run again" "$TR" "${TINY[@]}" "${DROP[@]}" -o "$TMP/db" "$TMP/s16.tok"
check_same_file "dropout: same seed and threads -> identical weights" "$TMP/da/model.safetensors" "$TMP/db/model.safetensors"
check "dropout: interrupted after step 4" "$TR" "${TINY[@]}" "${DROP[@]}" --stop-after 4 --checkpoint "$TMP/dr.ckpt" -o "$TMP/dr" "$TMP/s16.tok"
check "dropout: resumed" "$TR" "${TINY[@]}" "${DROP[@]}" --resume "$TMP/dr.ckpt" --checkpoint "$TMP/dr.ckpt" -o "$TMP/dr" "$TMP/s16.tok"
check_same_file "dropout: resumed run = uninterrupted run" "$TMP/da/model.safetensors" "$TMP/dr/model.safetensors"
check "training.json records the dropout" grep -q '"dropout": 0.2' "$TMP/da/training.json"

# --- weight averaging (--ema): the saved model is the average, the training
# itself is unchanged, and a run resumes bit-identically ----------------------
EMA=(--ema 0.8 --steps 6 --log "$TMP/ea.tsv")
check "train with --ema 0.8" "$TR" "${TINY[@]}" "${EMA[@]}" --checkpoint "$TMP/ea.ckpt" -o "$TMP/ea" "$TMP/s16.tok"
if cmp -s "$TMP/a/model.safetensors" "$TMP/ea/model.safetensors"; then fail "--ema saves other weights (the average)"; else ok "--ema saves other weights (the average)"; fi
check_eq "--ema: the training is the run without it (log columns 1-6)" \
  "$(cut -f1-6 "$TMP/ea.tsv" | sed 1d)" "$(cut -f1-6 "$TMP/a.tsv" | sed 1d)"
check_eq "TSV log: the average's held-out loss on evaluated steps (3, 6), NA otherwise" \
  "$(awk -F'\t' 'NR > 1 {printf "%s ", ($8 == "NA" ? "NA" : ($8 > 0 ? "x" : "?"))}' "$TMP/ea.tsv")" "NA NA x NA NA x "
check_eq "TSV log without --ema: heldout_loss_ema is NA" "$(awk -F'\t' 'NR > 1 {print $8}' "$TMP/a.tsv" | sort -u)" "NA"
check "training.json records the decay" grep -q '"ema": 0.8' "$TMP/ea/training.json"
ls_=$(grep -o '"heldout_loss_last_step": [0-9.]*' "$TMP/ea/training.json" | grep -o '[0-9.]*$')
la=$(grep -o '"heldout_loss": [0-9.]*' "$TMP/a/training.json" | grep -o '[0-9.]*$')
check "training.json: the last step's held-out loss is the run without --ema's ($ls_ vs $la)" \
  awk -v a="$ls_" -v b="$la" 'BEGIN {exit !(a > 0 && a - b < 1e-4 && b - a < 1e-4)}'
check_eq "a run without --ema writes checkpoint format version 2" "$(od -An -tu4 -j8 -N4 "$TMP/a.ckpt" | tr -d ' ')" 2
check_eq "a run with --ema writes version 3 (+ the average)" "$(od -An -tu4 -j8 -N4 "$TMP/ea.ckpt" | tr -d ' ')" 3
check "--ema: interrupted after step 4" "$TR" "${TINY[@]}" "${EMA[@]}" --stop-after 4 --checkpoint "$TMP/er.ckpt" -o "$TMP/er" "$TMP/s16.tok"
check "--ema: resumed" "$TR" "${TINY[@]}" "${EMA[@]}" --resume "$TMP/er.ckpt" --checkpoint "$TMP/er.ckpt" -o "$TMP/er" "$TMP/s16.tok"
check_same_file "--ema: resumed run = uninterrupted run (the average)" "$TMP/ea/model.safetensors" "$TMP/er/model.safetensors"
check_same_file "--ema: resumed run = uninterrupted run (final checkpoint)" "$TMP/ea.ckpt" "$TMP/er.ckpt"
check_fails "an --ema checkpoint resumed without --ema is refused" '^train: .*checkpoint was trained with --ema 0.8, not 0$' \
  "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/ea.ckpt" -o "$TMP/x" "$TMP/s16.tok"
check_fails "a version 2 checkpoint resumed with --ema is refused" '^train: .*checkpoint was trained with --ema 0, not 0.8$' \
  "$TR" "${TINY[@]}" --steps 6 --ema 0.8 --resume "$TMP/r3.ckpt" -o "$TMP/x" "$TMP/s16.tok"
check_fails "--ema 1 refused" '^train: --ema must be in \[0, 1\)' \
  "$TR" "${TINY[@]}" --ema 1 --steps 2 -o "$TMP/x" "$TMP/s16.tok"

# --- the shared row of tokens absent from the training stories ---------------
# The run trains a compact vocabulary; its held-out loss (+ log(unseen) per
# unseen target) must equal the loss of the saved full-vocabulary model,
# which finish() measures through the plain 50257-row path.
if "$TR" "${TINY[@]}" --steps 6 -o "$TMP/sh" "$TMP/s16.tok" 2>"$TMP/sh.err"; then
  ok "train, tokens absent from training sharing one row (default)"
else
  fail "train, tokens absent from training sharing one row (default)"; tail -3 "$TMP/sh.err"
fi
line=$(grep 'of the saved model' "$TMP/sh.err")
full=$(sed -E 's/.*loss ([0-9.]+) nats.*/\1/' <<<"$line"); comp=$(sed -E 's/.*\(([0-9.]+) from the training vocabulary\)/\1/' <<<"$line")
check "held-out loss of the saved model = loss computed on the shared-row vocabulary ($full vs $comp)" \
  awk -v a="$full" -v b="$comp" 'BEGIN {exit !(a > 0 && a - b < 1e-4 && b - a < 1e-4)}'
check "the log says how many tokens share the row" grep -q 'the other [0-9]* share one' "$TMP/sh.err"
rows=$(grep -o '"trained_wte_rows": [0-9]*' "$TMP/sh/training.json" | grep -o '[0-9]*$')
check "training.json: trained wte rows = distinct training tokens + 1 ($rows)" test "$rows" -gt 50 -a "$rows" -lt 5000
# every unseen token's row is the shared one (ids 31000, 45000, 50000 are not in 16 stories)
check "the saved model has the shared row in place of every unseen token's row" \
    python3 -c "
import json,struct,sys
raw=open('$TMP/sh/model.safetensors','rb').read(); n=struct.unpack('<Q',raw[:8])[0]; h=json.loads(raw[8:8+n]); b=raw[8+n:]
w=h['transformer.wte.weight']; a,e=w['data_offsets']; C=w['shape'][1]; row=lambda i: b[a+4*C*i:a+4*C*(i+1)]
sys.exit(0 if row(31000)==row(45000)==row(50000) and row(31000)!=row(13) else 1)"
check "--full-vocab trains every row" "$TR" "${TINY[@]}" --steps 6 --full-vocab -o "$TMP/fv" "$TMP/s16.tok"
check "--full-vocab: 50257 trained rows" grep -q '"trained_wte_rows": 50257' "$TMP/fv/training.json"
check "--full-vocab checkpoint" "$TR" "${TINY[@]}" --steps 6 --full-vocab --stop-after 2 --checkpoint "$TMP/fv.ckpt" -o "$TMP/fv2" "$TMP/s16.tok"
check_fails "a --full-vocab checkpoint resumed without it is refused" '^train: .*checkpoint trained 50257 wte rows, this run [0-9]+ \(--full-vocab differs\)' \
  "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/fv.ckpt" -o "$TMP/x" "$TMP/s16.tok"

# --- the model loads in forward-dump ------------------------------------------
if [ -x "$BIN/forward-dump" ]; then
  check "forward-dump runs on the trained model" "$BIN/forward-dump" --model "$TMP/a" --vectors k "$TMP/s16.tok" -o "$TMP/a.act"
else
  skip "forward-dump not built"
fi

# --- bad input: one line, non-zero exit ---------------------------------------
cp "$TMP/r3.ckpt" "$TMP/bad.ckpt"
printf '\x55' | dd of="$TMP/bad.ckpt" bs=1 seek=5000 conv=notrunc 2>/dev/null
check_fails "corrupt checkpoint refused" '^train: .*corrupt checkpoint \(checksum mismatch\)' \
  "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/bad.ckpt" -o "$TMP/x" "$TMP/s16.tok"
head -c 3000 "$TMP/r3.ckpt" >"$TMP/short.ckpt"
check_fails "truncated checkpoint refused" '^train: .*corrupt checkpoint' \
  "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/short.ckpt" -o "$TMP/x" "$TMP/s16.tok"
check_fails "not a checkpoint refused" '^train: .*not a train checkpoint' \
  "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/s16.txt" -o "$TMP/x" "$TMP/s16.tok"
check_fails "checkpoint of another model config refused" '^train: .*model config differs: hidden size 16, not 32' \
  "$TR" "${TINY[@]}" --hidden 32 --steps 6 --resume "$TMP/r3.ckpt" -o "$TMP/x" "$TMP/s16.tok"
check_fails "checkpoint of another seed refused" '^train: .*trained with --seed 1, not 5' \
  "$TR" "${TINY[@]}" --seed 5 --steps 6 --resume "$TMP/r3.ckpt" -o "$TMP/x" "$TMP/s16.tok"
awk '{print} /^<\|endoftext\|>$/ {n++} n == 15 {exit}' "$STORIES" >"$TMP/s15.txt"
"$BIN/tokenize" "${TOK[@]}" "$TMP/s15.txt" -o "$TMP/s15.tok"
check_fails "checkpoint of other data refused" '^train: .*trained on other data' \
  "$TR" "${TINY[@]}" --steps 6 --resume "$TMP/r3.ckpt" -o "$TMP/x" "$TMP/s15.tok"
: >"$TMP/empty.txt"
"$BIN/tokenize" "${TOK[@]}" "$TMP/empty.txt" -o "$TMP/empty.tok"
check_fails "empty corpus refused" '^train: empty corpus' \
  "$TR" "${TINY[@]}" --steps 2 -o "$TMP/x" "$TMP/empty.tok"
printf '<|endoftext|>\n   \n<|endoftext|>\n' >"$TMP/spaces.txt"
"$BIN/tokenize" "${TOK[@]}" "$TMP/spaces.txt" -o "$TMP/spaces.tok"
check_fails "corpus of blank stories refused" '^train: empty corpus' \
  "$TR" "${TINY[@]}" --steps 2 -o "$TMP/x" "$TMP/spaces.tok"
check_fails "a text file instead of a tokens stream refused" '^train: .*' \
  "$TR" "${TINY[@]}" --steps 2 -o "$TMP/x" "$TMP/s16.txt"
check_fails "an unknown option is one line" "^train: unknown option '--bogus'" "$TR" --bogus -o "$TMP/x"
check_fails "heads not dividing hidden refused" '^train: model config: hidden size not divisible' \
  "$TR" --hidden 16 --heads 3 --steps 2 -o "$TMP/x" "$TMP/s16.tok"
check_fails "dropout out of range refused" '^train: --dropout must be in \[0, 0.9\)' \
  "$TR" "${TINY[@]}" --dropout 0.95 --steps 2 -o "$TMP/x" "$TMP/s16.tok"
check_fails "truncated tokens stream refused" '^train: ' \
  "$TR" "${TINY[@]}" --steps 2 -o "$TMP/x" <(head -c 2000 "$TMP/s16.tok")
if [ -e "$TMP/x" ]; then fail "no output left behind by refused runs"; else ok "no output left behind by refused runs"; fi

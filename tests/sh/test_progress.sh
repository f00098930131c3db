# test_progress.sh: the progress display of long work (common/cli/progress.c)
# in train, forward-dump and probe-fit: one line redrawn in place on a
# terminal (HEADS_PROGRESS=bar stands in for one), a few plain lines in a
# log (HEADS_PROGRESS=lines; HEADS_PROGRESS_MIN=0 makes a short run count as
# long), nothing from short work in a log (the default off a terminal).
. "$TOP/tests/sh/lib.sh"
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")
"$BIN/tokenize" "${TOK[@]}" --stories 0-15 "$STORIES" -o "$TMP/s16.tok"
TINY=(--hidden 16 --heads 4 --layers 2 --window 8 --seq-len 96 --batch 4 --threads 2 --warmup 2
      --eval-every 3 --log-every 1 --steps 12)

# --- train ---------------------------------------------------------------------
"$BIN/train" "${TINY[@]}" -o "$TMP/a" "$TMP/s16.tok" 2>"$TMP/quiet.err"
check_eq "train in a log, short run: no progress lines (setup + result lines only)" \
  "$(grep -c 'steps' "$TMP/quiet.err")" 1
check "train: the setup line counts the corpus's tokens" grep -qE '^train: 16 stories \([1-9][0-9]* tokens\)' "$TMP/quiet.err"
HEADS_PROGRESS=lines HEADS_PROGRESS_MIN=0 "$BIN/train" "${TINY[@]}" -o "$TMP/b" "$TMP/s16.tok" 2>"$TMP/lines.err"
check_eq "train in a log, long run: a line at 1/4, 1/2, 3/4 of the steps" \
  "$(grep -oE '^train: [0-9]+/12 steps' "$TMP/lines.err" | tr '\n' ' ')" "train: 3/12 steps train: 6/12 steps train: 9/12 steps "
check "train in a log: each line has rate, time left, loss and held-out loss" \
  grep -qE '^train: 6/12 steps, [0-9.]+/s, [0-9.]+ s left, loss [0-9.]+, held-out [0-9.]+, [0-9]+ tokens/s$' "$TMP/lines.err"
check "train in a log: a summary line at the end" grep -qE '^train: 12 steps in [0-9.]+ s \([0-9.]+/s\)' "$TMP/lines.err"
check "train in a log: no carriage returns or escapes" bash -c "! grep -q \$'[\r\033]' '$TMP/lines.err'"
check_eq "train: at most 12 stderr lines in a log" "$(( $(wc -l <"$TMP/lines.err") <= 12 ))" 1
HEADS_PROGRESS=bar "$BIN/train" "${TINY[@]}" --steps 400 --eval-every 50 -o "$TMP/c" "$TMP/s16.tok" 2>"$TMP/bar.err"
check "train on a terminal: the line is redrawn in place (\\r ... erase to the end)" \
  grep -q $'\rtrain: [0-9]*/400 steps, .* left, loss .*\033\[K' "$TMP/bar.err"
check "train on a terminal: ends with the summary line" grep -qE $'\rtrain: 400 steps in [0-9.]+ s' "$TMP/bar.err"
check_same_file "the progress display does not change the model" "$TMP/a/model.safetensors" "$TMP/b/model.safetensors"
HEADS_PROGRESS=off "$BIN/train" "${TINY[@]}" -o "$TMP/d" "$TMP/s16.tok" 2>"$TMP/off.err"
check "HEADS_PROGRESS=off: no progress lines" bash -c "! grep -qE 'steps,|steps in' '$TMP/off.err'"

# --- forward-dump, probe-fit -----------------------------------------------------
"$BIN/model-init" --layers 2 --heads 4 --hidden 16 --vocab 50257 --positions 512 -o "$TMP/m" >/dev/null
"$BIN/postag-join" --tagger "$DATA/nltk/averaged_perceptron_tagger_eng" <"$TMP/s16.tok" >"$TMP/s16.tagged"
HEADS_PROGRESS=lines HEADS_PROGRESS_MIN=0 "$BIN/forward-dump" --model "$TMP/m" --vectors q,k --threads 1 \
  -o "$TMP/s16.acts" "$TMP/s16.tagged" 2>"$TMP/fd.err"
check "forward-dump in a log (long run): stories, rate and tokens, then the summary" \
  grep -qE '^forward-dump: 16 stories in [0-9.]+ s \([0-9.]+/s\), [0-9]+ tokens$' "$TMP/fd.err"
"$BIN/forward-dump" --model "$TMP/m" --vectors q,k --threads 1 -o "$TMP/s16b.acts" "$TMP/s16.tagged" 2>"$TMP/fd2.err"
check_eq "forward-dump in a log, short run: silent" "$(wc -c <"$TMP/fd2.err")" 0
HEADS_PROGRESS=lines HEADS_PROGRESS_MIN=0 "$BIN/probe-fit" --threads 1 -o "$TMP/p.probes" "$TMP/s16.acts" 2>"$TMP/pf.err"
check_eq "probe-fit in a log (long run): 1/4, 1/2, 3/4 of the 16 probes" \
  "$(grep -oE '^probe-fit: [0-9]+/16 probes' "$TMP/pf.err" | tr '\n' ' ')" "probe-fit: 4/16 probes probe-fit: 8/16 probes probe-fit: 12/16 probes "
check "probe-fit: a summary line per task (stories read, probes fitted)" \
  bash -c "grep -qE '^probe-fit: 16 stories in' '$TMP/pf.err' && grep -qE '^probe-fit: 16 probes in' '$TMP/pf.err'"
HEADS_PROGRESS=bar "$BIN/probe-fit" --threads 1 -o /nonexistent-dir/p.probes "$TMP/s16.acts" 2>"$TMP/pf-bad.err"
check_eq "a refusal is still one line (the progress display draws nothing first)" "$(wc -l <"$TMP/pf-bad.err")" 1

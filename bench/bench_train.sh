#!/usr/bin/env bash
# bench_train.sh: training throughput of bin/train on TinyStories-1M's config
# (3.75 M parameters, 2.6 M of them the tied 50257 x 64 embedding / LM head),
# 2 threads, rows of 512 tokens packed with the mirror's stories, 8 rows a
# step; the share of forward/backward time spent in the LM head + loss; and
# side by side the same training steps in plain PyTorch
# (bench/bench_train_torch.py, same shapes, same threads).
#
# Two LM heads: the default, where the tokens absent from the training
# stories share one wte row (an LM head over the ~6.9k seen tokens + 1; the
# same loss as 50257 rows with those rows tied), and --full-vocab (every one
# of the 50257 rows trained: what the PyTorch reference does too, so that is
# the like-for-like ratio).
#
# OpenBLAS 0.3.21 (Debian 12) runs its Haswell kernels on AMD Zen 4; with
# OPENBLAS_CORETYPE=SkylakeX it uses its AVX-512 kernels.  Both are measured
# when the CPU has AVX-512.  Tokens per CPU-second = tokens / (user + system
# time of all threads): the figure to read on a loaded machine.
set -euo pipefail
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
STEPS=${BENCH_TRAIN_STEPS:-8}
TORCH_STEPS=${BENCH_TORCH_STEPS:-2}   # PyTorch is ~10x slower: fewer timed steps
THREADS=${BENCH_THREADS:-2}
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")

"$BIN/tokenize" "${TOK[@]}" "$STORIES" -o "$TMP/all.tok"

run_c() { # run_c KEY LABEL "TRAIN ARGS" [ENV...]: one bin/train run, prints a table row
  local key=$1 label=$2 args=$3; shift 3
  # shellcheck disable=SC2086
  env "$@" "$BIN/train" "$TMP/all.tok" $args --steps "$STEPS" --batch 8 --seq-len 512 --threads "$THREADS" \
    --heldout 0 --eval-every 0 --warmup 2 -o "$TMP/m" 2>"$TMP/log"
  # "train: T tokens in S s: R tokens/s on N threads (C tokens per CPU-second, ...); LM head + loss P% ..."
  sed -n 's/^train: \([0-9]*\) tokens in \([0-9.]*\) s: \([0-9]*\) tokens\/s on [0-9]* threads (\([0-9]*\) tokens per CPU-second.*LM head + loss \([0-9]*\)%.*/\1 \2 \3 \4 \5/p' "$TMP/log" >"$TMP/row"
  read -r tok secs rate cpu lm <"$TMP/row"
  printf '%-34s %8s %8s %10s %12s %9s%%\n' "$label" "$tok" "$secs" "$rate" "$cpu" "$lm"
  echo "$rate" >"$TMP/rate.$key"
}

echo "train: TinyStories-1M config, $STEPS steps x 8 rows x 512 tokens, $THREADS threads; load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-34s %8s %8s %10s %12s %10s\n' "path" "tokens" "seconds" "tokens/s" "tok/CPU-s" "LM head"
run_c default "bin/train (shared unseen row)" ""
run_c full "bin/train --full-vocab" "--full-vocab"
if grep -qw avx512f /proc/cpuinfo; then
  run_c skx "  same, OPENBLAS_CORETYPE=SkylakeX" "" OPENBLAS_CORETYPE=SkylakeX
  run_c skxfull "  --full-vocab, SkylakeX" "--full-vocab" OPENBLAS_CORETYPE=SkylakeX
fi
"$BIN/stream-view" --no-header "$TMP/all.tok" | awk -F'\t' '{n[$1]++} END {for (s in n) print n[s]}' >"$TMP/lengths"
if "$PY" -c 'import torch' 2>/dev/null; then
  read -r t_tok t_s < <("$PY" "$TOP/bench/bench_train_torch.py" "$TMP/lengths" "$THREADS" "$TORCH_STEPS" 8 512)
  t_rate=$(awk -v a="$t_tok" -v b="$t_s" 'BEGIN {printf "%.0f", a / b}')
  printf '%-34s %8s %8s %10s %12s %10s\n' "PyTorch $("$PY" -c 'import torch; print(torch.__version__)') (reference)" "$t_tok" "$t_s" "$t_rate" "-" "-"
  c_rate=$(cat "$TMP/rate.full")
  [ -n "$c_rate" ] && awk -v c="$c_rate" -v t="$t_rate" 'BEGIN {printf "ratio bin/train --full-vocab / PyTorch (both 50257 rows): %.2f\n", c / t}'
  c_rate=$(cat "$TMP/rate.default")
  [ -n "$c_rate" ] && awk -v c="$c_rate" -v t="$t_rate" 'BEGIN {printf "ratio bin/train (shared unseen row) / PyTorch: %.2f\n", c / t}'
else
  echo "PyTorch reference skipped (no python3-torch)"
fi
echo "target: >= 1500 tokens/s on 2 cores"

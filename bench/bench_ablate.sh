#!/usr/bin/env bash
# bench_ablate.sh: `ablate --sweep` (every head of TinyStories-1M's shape
# zero-ablated alone, random weights) on BENCH_ABLATE_STORIES test stories
# (default 100), 2 threads, side by side in one run with
#   - its floor: the LM head + loss, once per head per story (ablate-floor),
#     the part no exact method avoids;
#   - the same sweep in PyTorch with forward hooks on z (bench_ablate_torch.py),
#     on BENCH_ABLATE_TORCH_STORIES stories (default 10: it is slow), scaled
#     per token x head;
# and head-scores (batch 10, length 50) and logit-lens --grid (200 stories),
# whose targets are 1 s and 10 s.
set -euo pipefail
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
N=${BENCH_ABLATE_STORIES:-100}
NT=${BENCH_ABLATE_TORCH_STORIES:-10}
THREADS=${BENCH_THREADS:-2}
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
STORIES=$DATA/stories/tinystories-train-first2316.txt
"$BIN/model-init" --tinystories-1m-config --seed 1 -o "$TMP/m"
"$BIN/tokenize" --vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt" --split test --take 200 "$STORIES" |
  "$BIN/postag-join" --tagger "$DATA/nltk/averaged_perceptron_tagger_eng" -o "$TMP/test.tagged"
"$BIN/stream-view" --no-header "$TMP/test.tagged" |
  awk -F'\t' -v nt="$NT" 'n > nt { next }  # read to the end: no SIGPIPE under pipefail
    $1 != s { if (NR > 1) print line; s = $1; n++; line = $3; next } { line = line " " $3 } END { if (n <= nt) print line }' >"$TMP/ids.txt"
now() { date +%s.%N; }
echo "ablate --sweep: TinyStories-1M's shape (random weights), $THREADS threads; load $(cut -d' ' -f1 /proc/loadavg)"
# each figure is printed as soon as it is measured (the sweep takes minutes)
printf '%-44s %10s %10s %16s\n' "" "tokens" "seconds" "token x heads/s"
t0=$(now); "$BIN/ablate" --model "$TMP/m" --sweep --take "$N" --threads "$THREADS" -o "$TMP/sweep.tsv" "$TMP/test.tagged"; t1=$(now)
tok=$(awk -F'\t' '!/^#/ && $3 == "(all)" {print $4; exit}' "$TMP/sweep.tsv")
s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
awk -v s="$s" -v tok="$tok" 'BEGIN {printf "%-44s %10d %10.2f %16.0f\n", "bin/ablate --sweep", tok, s, tok * 128 / s}'
read -r ftok _ fsec < <("$TOP/build/bench/ablate-floor" "$TMP/m" "$TMP/test.tagged" "$THREADS" "$N")
awk -v ftok="$ftok" -v fsec="$fsec" -v s="$s" 'BEGIN {
  printf "%-44s %10d %10.2f %16.0f\n", "floor: LM head + loss x 128 (ablate-floor)", ftok, fsec, ftok * 128 / fsec
  printf "sweep / floor: %.2fx the time of the LM-head passes alone (LM head ~%.0f%% of the sweep)\n", s / fsec, 100 * fsec / s }'
if read -r ptok _ pwall _ < <("$PY" "$TOP/bench/bench_ablate_torch.py" "$TMP/m" "$TMP/ids.txt" "$THREADS"); then
  awk -v ptok="$ptok" -v pwall="$pwall" -v tok="$tok" -v s="$s" 'BEGIN {
    printf "%-44s %10d %10.2f %16.0f\n", "PyTorch, forward hooks on z", ptok, pwall, ptok * 128 / pwall
    printf "ratio ablate / PyTorch: %.1fx (token x heads per second)\n", (tok * 128 / s) / (ptok * 128 / pwall) }'
else
  echo "PyTorch reference failed (needs /usr/bin/python3 with torch and numpy): no ratio"
fi
t0=$(now); "$BIN/head-scores" --model "$TMP/m" --seq-len 50 --batch 10 --threads "$THREADS" >/dev/null; t1=$(now)
t2=$(now); "$BIN/logit-lens" --model "$TMP/m" --grid --threads "$THREADS" "$TMP/test.tagged" >/dev/null; t3=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
  printf "head-scores, all 128 heads, batch 10 x length 50: %.2f s (target < 1 s)\n", b - a
  printf "logit-lens --grid, 200 stories: %.2f s (target < 10 s)\n", d - c }'

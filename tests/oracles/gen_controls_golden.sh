#!/usr/bin/env bash
# gen_controls_golden.sh: regenerate tests/golden/controls/ (docs/controls.md):
# the baselines against scikit-learn's classification_report on a direct
# Python computation, the control task's labels recomputed in Python from
# the definition in common/probe/controls.h, and the bootstrap intervals
# recomputed with NumPy (draws, per-story counts, F1, numpy.percentile) on
# fixed probes and test activations.
#
# Needs: bin/ (`make`), the pinned inputs (`make data MIRROR=...`), Debian's
# /usr/bin/python3 with python3-numpy and python3-sklearn, and zstd.  The
# tools under test (probe-baselines, control-task, probe-bootstrap) are not
# run here; the inputs are made once with the other tools and committed, so
# the goldens never depend on this machine's BLAS.
#
#   tests/oracles/gen_controls_golden.sh          (a few seconds)
#
# Writes (tests/sh/test_controls.sh reads them, without Python):
#   synth-train.tsv synth-test.tsv   a hand-made case for stream-import: ties
#                    in the lookup and the majority, an id the training split
#                    lacks, a test tag training never saw, a training tag the
#                    test split lacks, the empty tag
#   synth-baselines.json             classification_report dicts of both baselines
#   train.tagged test.tagged         40 + 30 mirror stories, tagged (study alignment)
#   baselines.json                   the same on them
#   control-task-seed7.tsv.zst       story, pos, id, control tag of every token of
#                                    both streams (seed 7, distribution = train.tagged)
#   boot.probes boot-test.acts       key probes of a random 2-layer, 2-head model and
#                                    its test activations (k), 16 stories
#   bootstrap.tsv                    probe-bootstrap's rows for -B 500 --seed 3 --top 3
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/tests/golden/controls
BIN=$TOP/bin
DATA=${DATA:-$TOP/data/cache}
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
mkdir -p "$OUT"
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")
TAGGER=$DATA/nltk/averaged_perceptron_tagger_eng

# --- inputs, made once and committed -----------------------------------------------
"$BIN/tokenize" "${TOK[@]}" --stories 0-39 "$STORIES" | "$BIN/postag-join" --tagger "$TAGGER" --align study -o "$OUT/train.tagged"
"$BIN/tokenize" "${TOK[@]}" --stories 40-69 "$STORIES" | "$BIN/postag-join" --tagger "$TAGGER" --align study -o "$OUT/test.tagged"
"$BIN/model-init" --layers 2 --heads 2 --hidden 8 --vocab 50257 --positions 512 --std 0.3 --seed 31 -o "$TMP/m" >/dev/null
"$BIN/tokenize" "${TOK[@]}" --stories 100-159 "$STORIES" | "$BIN/postag-join" --tagger "$TAGGER" --align study |
  "$BIN/forward-dump" --model "$TMP/m" --vectors k --threads 1 -o "$TMP/boot-train.acts"
"$BIN/tokenize" "${TOK[@]}" --stories 200-215 "$STORIES" | "$BIN/postag-join" --tagger "$TAGGER" --align study |
  "$BIN/forward-dump" --model "$TMP/m" --vectors k --threads 1 -o "$OUT/boot-test.acts"
"$BIN/probe-fit" --vectors k --threads 2 -o "$OUT/boot.probes" "$TMP/boot-train.acts"

# the hand-made case: story pos id start end text tag (one byte per token)
row() { printf '%s\t%s\t%s\t%s\t%s\tx\t%s\n' "$1" "$2" "$3" "$2" "$(( $2 + 1 ))" "$4"; }
{ # id 5: A A B B (a tie: A); id 6: C C C A; id 7: empty empty; id 8: B; id 11: E
  # counts A 3, B 3, C 3, empty 2, E 1: a majority tie (A)
  i=0; for t in A A B B; do row 0 $i 5 "$t"; i=$((i + 1)); done
  i=0; for t in C C C A; do row 1 $i 6 "$t"; i=$((i + 1)); done
  row 2 0 7 ""; row 2 1 7 ""; row 2 2 8 B; row 2 3 11 E
} >"$OUT/synth-train.tsv"
{ # D: a test tag training never saw; 9, 10: ids training lacks; 11 -> E, absent from the test tags
  row 0 0 5 A; row 0 1 5 B; row 0 2 6 C; row 0 3 6 C; row 0 4 6 B
  row 1 0 7 ""; row 1 1 7 A; row 1 2 9 D; row 1 3 10 C; row 1 4 8 B; row 1 5 11 A
} >"$OUT/synth-test.tsv"

# --- the oracle's inputs as text --------------------------------------------------
for f in train test; do "$BIN/stream-view" --no-header "$OUT/$f.tagged" >"$TMP/$f.tsv"; done
"$BIN/stream-view" --no-header "$OUT/boot.probes" >"$TMP/boot-probes.tsv"
"$BIN/stream-view" --no-header "$OUT/boot-test.acts" >"$TMP/boot-test.tsv"

"$PY" "$TOP/tests/oracles/gen_controls_golden.py" "$OUT" "$TMP"
ls -l "$OUT"

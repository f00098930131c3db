#!/usr/bin/env bash
# overlap.sh MODEL_DIR TRAIN.tagged TEST.tagged: were the study's stories part
# of the model's training data?  Writes `key: value` lines (summary.sh reads
# them) and exits non-zero, with one line on stderr, when the model was
# trained on any of them: the DAG's own check (study.mk runs it before any
# probe is fitted).
#
#   a model trained here (pipelines/standin.mk: MODEL_DIR/stories.tokens is
#   the tokens stream train read, training.json says so): the story indices
#   of the two (when both come from the same stories file, by its sha256) and
#   the story texts (whatever the file) are intersected; both must be empty;
#   and the study tokens at positions >= training.json's seq_len are counted
#   (untrained-positions: train never shows the model those positions);
#   a random model (model-init: "heads_random_test_model": true): never
#   trained, overlap 0;
#   TinyStories-1M (IS_REAL=yes): its training stories are not published one
#   by one: "unknown, TinyStories-valid" (the study's stories) and which
#   stories this run used;
#   any other model: unknown.
# Env: BIN (tools), IS_REAL (yes|no).
set -euo pipefail
model_dir=$1 train=$2 test=$3
export LC_ALL=C
view() { "$BIN/stream-view" "$@"; }
hget() { sed -n "s/^$1: //p" | tail -n 1; }
# a whole number of the model's training.json (empty when absent)
tnum() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$model_dir/training.json" 2>/dev/null | head -n 1; }
# story index and text (the token texts joined, as stream-view escapes them)
stories() { view --no-header "$1" | awk -F'\t' 'BEGIN { s = "-" } { if ($1 != s) { if (n++) print s "\t" t; s = $1; t = "" } t = t $6 } END { if (n) print s "\t" t }'; }

# the model, as its config names it (the streams name it by weights sha256 too)
echo "model: $(sed -n 's/^ *"_name_or_path": *"\(.*\)",*$/\1/p' "$model_dir/config.json" 2>/dev/null | head -n 1) ($model_dir)"
study_header=$(view --header "$test")
study_sha=$(hget stories-sha256 <<<"$study_header")
stories "$train" >"$train.overlap.tmp"
stories "$test" >>"$train.overlap.tmp"
trap 'rm -f "$train.overlap.tmp"' EXIT
n_study=$(wc -l <"$train.overlap.tmp")
echo "study-stories: $n_study (stories-sha256 ${study_sha:-unknown}, select $(hget stories-select <<<"$study_header"), split-seed $(hget split-seed <<<"$study_header"))"

if [ -f "$model_dir/stories.tokens" ]; then
  manifest=$model_dir/stories.tokens
  if [ -f "$model_dir/training.json" ] && ! grep -q "\"input\": \"[^\"]*stories.tokens\"" "$model_dir/training.json"; then
    echo "make: $model_dir/training.json names another input than $manifest: its training stories are not known; remove the model (make standin-clean) and train it again" >&2
    exit 1
  fi
  m_header=$(view --header "$manifest")
  m_sha=$(hget stories-sha256 <<<"$m_header")
  heldout=$(tnum heldout_stories)
  stories "$manifest" >"$train.overlap.tmp.m"
  trap 'rm -f "$train.overlap.tmp" "$train.overlap.tmp.m"' EXIT
  n_model=$(wc -l <"$train.overlap.tmp.m")
  echo "model-training-stories: $n_model given to train (stories-sha256 ${m_sha:-unknown}, select $(hget stories-select <<<"$m_header")${heldout:+; the last $heldout held out, never trained on})"
  # "N<TAB>first indices" of the study stories also in the model's
  if [ -n "$m_sha" ] && [ "$m_sha" = "$study_sha" ]; then
    read -r n_idx l_idx < <(awk -F'\t' 'NR == FNR { s[$1] = 1; next } ($1 in s) { n++; if (n <= 5) l = l (n > 1 ? "," : "") $1 } END { print n + 0, l }' \
      "$train.overlap.tmp.m" "$train.overlap.tmp")
  else
    n_idx="-" l_idx="(indices not comparable: the two come from different stories files)"
  fi
  read -r n_txt l_txt < <(awk -F'\t' 'NR == FNR { sub(/^[^\t]*\t/, ""); s[$0] = 1; next }
      { i = $1; sub(/^[^\t]*\t/, "") } ($0 in s) { n++; if (n <= 5) l = l (n > 1 ? "," : "") i } END { print n + 0, l }' \
    "$train.overlap.tmp.m" "$train.overlap.tmp")
  echo "shared-story-indices: $n_idx${l_idx:+ ($l_idx)}"
  echo "shared-story-texts: $n_txt${l_txt:+ (study stories $l_txt)}"
  if { [ "$n_idx" != "-" ] && [ "$n_idx" != 0 ]; } || [ "$n_txt" != 0 ]; then
    echo "make: the model in $model_dir was trained on the study's stories ($n_idx shared story indices${l_idx:+: $l_idx}; $n_txt shared story texts${l_txt:+: $l_txt}); the study must draw from stories the model never saw (STUDY_POOL, STANDIN_SELECT; make standin-clean retrains)" >&2
    exit 1
  fi
  echo "overlap: 0"
  # train cuts stories at --seq-len, so positions from there on never trained
  # (their wpe rows get no gradient; weight decay shrinks them): how many study tokens sit there
  seq=$(tnum seq_len)
  if [ -n "$seq" ]; then
    read -r n_tok n_far < <({ view --no-header "$train"; view --no-header "$test"; } |
      awk -F'\t' -v s="$seq" '{ n++ } $2 >= s { m++ } END { print n + 0, m + 0 }')
    pct=$(awk -v a="$n_far" -v b="$n_tok" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }')
    echo "untrained-positions: $n_far of the study's $n_tok tokens ($pct%) sit at positions >= $seq, which the model never trained on (train --seq-len $seq cuts longer stories)"
  fi
elif grep -q '"heads_random_test_model": *true' "$model_dir/config.json" 2>/dev/null; then
  echo "model-training-stories: none (random weights from model-init, never trained)"
  echo "overlap: 0"
elif [ "${IS_REAL:-no}" = yes ]; then
  echo "model-training-stories: not published story by story (TinyStories-1M was trained on TinyStories' training split)"
  pinned=$(awk -F'\t' '$1 == "stories/tinystories-train-first2316.txt" { print $2 }' "$(dirname "$0")/../data/sources.tsv")
  if [ -n "$study_sha" ] && [ "$study_sha" = "$pinned" ]; then
    echo "overlap: unknown, TinyStories-valid (the study's stories; this run's are TinyStories-train's first 2,316, which TinyStories-1M most likely trained on)"
  else
    echo "overlap: unknown, TinyStories-valid (the study's stories; this run's: stories-sha256 ${study_sha:-unknown})"
  fi
else
  echo "model-training-stories: unknown (no record of them in $model_dir)"
  echo "overlap: unknown"
fi

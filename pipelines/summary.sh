#!/usr/bin/env bash
# summary.sh OUT STUDY_KEYS STUDY_QUERIES: the Markdown summary of a study
# run: which model (by identity, never mistaken for TinyStories-1M), which
# data and whether the model was trained on it (overlap.txt), the
# case-study tags (``, '', VBD, PRP$, CC) with their controls (controls.tsv:
# interval, baselines, control model, selectivity, stability; see
# docs/controls.md), then every tag's best heads of the key and query probes
# with the same controls; beside them the study's published values when the
# model is the real TinyStories-1M.
# Env: BIN (tools), MODEL_NAME, IS_REAL (yes|no), CONTROL (yes|no).
set -euo pipefail
out=$1 study_keys=$2 study_queries=$3
export LC_ALL=C
view() { "$BIN/stream-view" --header "$1"; }
hget() { sed -n "s/^$1: //p" | tail -n 1; }

probes_header=$(view "$out/probes.probes")
model_id=$(hget model <<<"$probes_header")
model_sha=$(hget model-sha256 <<<"$probes_header")
test_header=$(view "$out/test.acts")

echo "# Probe summary: $MODEL_NAME"
echo
echo "- model: \`${model_id:-unknown}\`"
echo "- weights sha256: \`${model_sha:-unknown}\`"
if [ "$IS_REAL" = yes ]; then
  echo "- this is TinyStories-1M (pinned revision, sha256 verified): the study's published values are shown beside ours"
else
  echo "- **this is not TinyStories-1M**: the study's published values are listed separately for reference only; they describe a different model"
fi
for key in stories-sha256 tokenizer-sha256 tagger-sha256 split-seed train-fraction postag-align; do
  v=$(hget "$key" <<<"$test_header")
  [ -n "$v" ] && echo "- $key: \`$v\`"
done
echo "- train tokens: $("$BIN/stream-view" --no-header "$out/train.tagged" | wc -l), test tokens: $("$BIN/stream-view" --no-header "$out/test.tagged" | wc -l)"
# were the study's stories part of the model's training data? (overlap.sh)
ov() { sed -n "s/^$1: //p" "$out/overlap.txt"; }
echo "- **overlap of the model's training stories with the study's: $(ov overlap)**"
echo "  - study stories: $(ov study-stories)"
echo "  - model's training stories: $(ov model-training-stories)"
[ -n "$(ov shared-story-indices)" ] && echo "  - shared story indices: $(ov shared-story-indices); shared story texts: $(ov shared-story-texts)"
[ -n "$(ov untrained-positions)" ] && echo "  - untrained positions: $(ov untrained-positions)"
echo

# --- the controls of the case-study tags (controls.tsv) ---------------------
ct=$out/controls.tsv
echo "## Controls and uncertainty: the case-study tags"
echo
"$(dirname "$0")/controls-case.sh" "$ct"
. "$(dirname "$0")/md.sh"
echo
echo "What these heads do (activity, attention, direct logit attribution, ablation; the study's claims as checks): heads.md, whose rows name the same heads (on TinyStories-1M, the study's)."
echo

# table KIND OURS STUDY
table() {
  local kind=$1 ours=$2 study=$3 tsv
  if [ "$IS_REAL" = yes ]; then
    tsv=$("$BIN/probe-compare" --tsv "$ours" "$study")
  else
    tsv=$("$BIN/probe-compare" --tsv "$ours" "$ours")
  fi
  echo "## $kind probes"
  echo
  echo 'Best head `-`: no probe of any head predicts the tag (F1 0 in every head).'
  echo
  if [ "$IS_REAL" = yes ]; then
    echo "| tag | support | best head (ours) | F1 | best head (study) | F1 | same | Spearman of the 8x16 grids |"
    echo "|---|---:|---|---:|---|---:|---|---:|"
  else
    echo "| tag | support | best head | F1 |"
    echo "|---|---:|---|---:|"
  fi
  # Case-study tags first, in the study's order, then the rest as sorted.
  { for t in '``' "''" VBD 'PRP$' CC; do awk -F'\t' -v t="$t" 'NR > 1 && $1 == t' <<<"$tsv"; done
    awk -F'\t' 'NR > 1 && $1 != "``" && $1 != "'"''"'" && $1 != "VBD" && $1 != "PRP$" && $1 != "CC"' <<<"$tsv"; } |
  awk -F'\t' -v real="$IS_REAL" '{
      tag = ($1 == "") ? "(none)" : $1; gsub(/\|/, "\\|", tag); gsub(/`/, "\\`", tag)
      # F1 0 in every head: no head predicts the tag, so none is its best
      # (probe-compare names the first head of the tie)
      ours = ($5 + 0 == 0) ? "-" : $4; theirs = ($7 + 0 == 0) ? "-" : $6
      if (real == "yes")
        printf "| %s | %d | %s | %.3f | %s | %.3f | %s | %s |\n", tag, $2, ours, $5, theirs, $7, $8, ($13 == "-" ? "-" : sprintf("%.3f", $13))
      else
        printf "| %s | %d | %s | %.3f |\n", tag, $2, ours, $5
    }'
  echo
}
table Key "$out/results_keys.json" "$study_keys"
table Query "$out/results_queries.json" "$study_queries"

# --- every tag with its controls ------------------------------------------------
for v in k q; do
  kind=Key; [ "$v" = q ] && kind=Query
  echo "## $kind probes: every tag with its controls"
  echo
  echo 'Best head `-`: F1 0 in every head; best in seeds `-`: its wins would be ties at 0.'
  echo
  echo "| tag | support | best head | F1 [95% interval] | runner-up F1 | token-id F1 | control F1 | selectivity | best in seeds | stable |"
  echo "|---|---:|---|---|---:|---:|---:|---:|---:|---|"
  # one awk for the table (a shell loop with an awk per number forked ~600
  # times); awk keeps empty fields, which read with a tab IFS collapsed (the
  # empty tag's row came out shifted by a column)
  awk -F'\t' -v v="$v" '
    function f3(x) { return (x == "-" || x == "") ? "-" : sprintf("%.3f", x) }
    function esc(t) { if (t == "") return "(none)"; gsub(/\|/, "\\|", t); gsub(/`/, "\\`", t); return t }
    !/^#/ && $1 == v {
      # columns: kind tag support best f1 lo hi share runner-up ruf1 rulo
      # ruhi majority tokid control_f1 f1-control control_best
      # control_best_f1 selectivity wins seeds stable
      best = $4; won = $20 " of " $21
      # F1 0 in every head: no best head, and its "wins" are ties at 0
      if ($5 == "0" || $5 + 0 == 0) { best = "-"; won = "-" }
      printf "| %s | %s | %s | %s [%s, %s] | %s | %s | %s | %s | %s | %s |\n", esc($2), $3, best, f3($5), f3($6),
        f3($7), f3($10), f3($14), f3($15), f3($19), won, $22
    }' "$ct"
  echo
done

if [ "$IS_REAL" != yes ]; then
  echo "## The study's published best heads (TinyStories-1M, for reference)"
  echo
  echo "| tag | key: best head | F1 | query: best head | F1 |"
  echo "|---|---|---:|---|---:|"
  k=$("$BIN/probe-compare" --tsv --tags '``,'"''"',VBD,PRP$,CC' "$study_keys" "$study_keys")
  q=$("$BIN/probe-compare" --tsv --tags '``,'"''"',VBD,PRP$,CC' "$study_queries" "$study_queries")
  for t in '``' "''" VBD 'PRP$' CC; do
    kr=$(awk -F'\t' -v t="$t" 'NR > 1 && $1 == t {printf "%s | %.3f", $4, $5}' <<<"$k")
    qr=$(awk -F'\t' -v t="$t" 'NR > 1 && $1 == t {printf "%s | %.3f", $4, $5}' <<<"$q")
    tt=${t//\`/\\\`}
    echo "| $tt | ${kr:-- | -} | ${qr:-- | -} |"
  done
  echo
fi

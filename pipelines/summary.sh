#!/usr/bin/env bash
# summary.sh OUT STUDY_KEYS STUDY_QUERIES: the Markdown summary of a study
# run: which model (by identity, never mistaken for TinyStories-1M), which
# data, and for the case-study tags (``, '', VBD, PRP$, CC) and then every
# other tag, the best heads of the key and query probes; beside them the
# study's published values when the model is the real TinyStories-1M.
# Env: BIN (tools), MODEL_NAME, IS_REAL (yes|no).
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
      tag = ($1 == "") ? "(empty)" : $1; gsub(/\|/, "\\|", tag); gsub(/`/, "\\`", tag)
      if (real == "yes")
        printf "| %s | %d | %s | %.3f | %s | %.3f | %s | %s |\n", tag, $2, $4, $5, $6, $7, $8, ($13 == "-" ? "-" : sprintf("%.3f", $13))
      else
        printf "| %s | %d | %s | %.3f |\n", tag, $2, $4, $5
    }'
  echo
}
table Key "$out/results_keys.json" "$study_keys"
table Query "$out/results_queries.json" "$study_queries"

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

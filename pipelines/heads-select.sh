#!/usr/bin/env bash
# heads-select.sh KEYS.json QUERIES.json IS_REAL: the heads the report card
# looks at (docs/heads.md), as TSV: role tag kind head f1
#   the case-study heads: the study's own on TinyStories-1M (IS_REAL=yes),
#   otherwise this model's best head for the case's tag (the study's head
#   numbers describe TinyStories-1M only);
#   then the best key and the best query head of every tag with support >= 20.
# Env: BIN (tools).
set -euo pipefail
keys=$1 queries=$2 is_real=$3
export LC_ALL=C
best() { # best REPORT TAG -> "head f1", nothing when no head has the tag
  "$BIN/report-grid" --list --model-label x "$1" | grep -qxF -- "$2" || return 0
  "$BIN/probe-compare" --tsv --tags "$2" "$1" "$1" | awk -F'\t' 'NR == 2 {print $4 "\t" $5}'
}
f1_of() { # f1_of REPORT TAG HEAD -> f1 of that head (the same report's row)
  "$BIN/report-grid" --tag "$2" --model-label x "$1" | awk -v h="$3" '
    !/^#/ && NF { l++; if (h ~ "^L" (l - 1) "H") { split(h, a, "H"); print $(a[2] + 1); exit } }'
}
printf 'role\ttag\tkind\thead\tf1\n'
case_row() { # case_row ROLE TAG KIND STUDY_HEAD
  local report=$keys
  [ "$3" = query ] && report=$queries
  if [ "$is_real" = yes ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(f1_of "$report" "$2" "$4")"
  else
    read -r head f1 <<<"$(best "$report" "$2")"
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${head:-none}" "${f1:--}"
  fi
}
case_row quote '``' key L2H0
case_row past-tense VBD key L6H4
case_row definite-noun 'PRP$' query L5H5
case_row but CC key L6H13
for kind in key query; do
  report=$keys
  [ $kind = query ] && report=$queries
  "$BIN/probe-compare" --tsv --min-support 20 "$report" "$report" |
    awk -F'\t' -v k=$kind 'NR > 1 && $1 != "accuracy" && $1 != "macro avg" && $1 != "weighted avg" {
      printf "best-%s\t%s\t%s\t%s\t%s\n", k, $1, k, $4, $5 }'
done

#!/usr/bin/env bash
# stability.sh OUT MAIN_SEED SEED...: how often each tag's best head (in the
# main split, MAIN_SEED) is also the best head of the study rerun on other
# split seeds (OUT/seeds/seed-N/results_*.json; the main run's for MAIN_SEED).
# TSV: model lines, then per vector and tag: the main best head and F1, the
# seeds where it is best ("wins", the main seed included), the seeds that
# have the tag, and the best head of every seed ("-": the tag is absent from
# that seed's test stories).  Env: BIN (tools).
set -euo pipefail
out=$1 main=$2; shift 2
seeds=("$@")
export LC_ALL=C
file() { if [ "$1" = "$main" ]; then echo "$out/results_$2.json"; else echo "$out/seeds/seed-$1/results_$2.json"; fi; }
"$BIN/stream-view" --header "$out/probes.probes" | sed -n 's/^\(model\|model-sha256\): /# \1: /p'
echo "# split seeds: ${seeds[*]} (main: $main); a seed's best head: probe-compare's best by F1 over its test stories"
echo "#vector	tag	best	f1	wins	seeds	best_by_seed"
for kind in keys queries; do
  v=${kind:0:1}
  # per seed: tag -> best head
  for s in "${seeds[@]}"; do
    "$BIN/probe-compare" --tsv "$(file "$s" "$kind")" "$(file "$s" "$kind")" |
      awk -F'\t' -v s="$s" 'NR > 1 && $1 != "accuracy" && $1 != "macro avg" && $1 != "weighted avg" { print s "\t" $1 "\t" $4 }'
  done >"$out/.stability-$kind.tmp"
  "$BIN/probe-compare" --tsv "$(file "$main" "$kind")" "$(file "$main" "$kind")" |
    awk -F'\t' -v v="$v" -v main="$main" -v seeds="${seeds[*]}" '
      NR == FNR { best[$1 SUBSEP $2] = $3; next }
      FNR > 1 && $1 != "accuracy" && $1 != "macro avg" && $1 != "weighted avg" {
        n = split(seeds, S, " "); wins = 0; have = 0; list = ""
        for (i = 1; i <= n; i++) {
          b = ((S[i] SUBSEP $1) in best) ? best[S[i] SUBSEP $1] : "-"
          if (b != "-") have++
          if (b == $4) wins++
          list = list (i > 1 ? " " : "") S[i] ":" b
        }
        printf "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", v, $1, $4, $5, wins, have, list
      }' "$out/.stability-$kind.tmp" -
  rm -f "$out/.stability-$kind.tmp"
done

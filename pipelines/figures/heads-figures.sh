#!/usr/bin/env bash
# heads-figures.sh HEADS_DIR FIG_DIR TAG...: the head-analysis figures, one
# layer x head heatmap each (pipelines/figures/head-grid.gp):
#   heads-{induction,duplicate,previous}  from HEADS_DIR/scores.tsv
#   heads-attribution-TAG   mean direct logit attribution to the next token
#                           when it carries TAG (logit-grid.tsv)
#   heads-dloss-TAG         mean loss change on TAG targets, head zero-ablated
#                           (ablate-sweep.tsv)
set -euo pipefail
dir=$1 fig=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$fig"
# matrix TABLE COLUMN TAG OUT: rows = layers, columns = heads (0 where absent)
matrix() {
  { grep '^# model' "$1"
    awk -F'\t' -v c="$2" -v tag="$3" '!/^#/ && (tag == "" || $3 == tag) {
        v[$1, $2] = $c; if ($1 + 0 > L) L = $1 + 0; if ($2 + 0 > H) H = $2 + 0 }
      END { for (l = 0; l <= L; l++) { for (h = 0; h <= H; h++) printf "%s%s", (h ? " " : ""), ((l, h) in v ? v[l, h] : 0); print "" } }' "$1"
  } > "$4"
}
draw() { # draw TABLE OUT TITLE DIVERGING
  gnuplot -e "data='$1'; out='$2'; ttl='$3'; diverging=$4" "$here/head-grid.gp"
}
for s in induction:3 duplicate:4 previous:5; do
  name=${s%%:*} col=${s##*:}
  matrix "$dir/scores.tsv" "$col" "" "$fig/heads-$name.txt"
  draw "$fig/heads-$name.txt" "$fig/heads-$name" "$name score" 0
done
for tag in "$@"; do
  f=${tag//\`\`/open-quote}; f=${f//\'\'/close-quote}; f=${f//\$/S}
  matrix "$dir/logit-grid.tsv" 5 "$tag" "$fig/heads-attribution-$f.txt"
  draw "$fig/heads-attribution-$f.txt" "$fig/heads-attribution-$f" "direct logit attribution to the next token when it is $tag" 1
  matrix "$dir/ablate-sweep.tsv" 7 "$tag" "$fig/heads-dloss-$f.txt"
  draw "$fig/heads-dloss-$f.txt" "$fig/heads-dloss-$f" "loss change on $tag targets when the head is zero-ablated" 1
done

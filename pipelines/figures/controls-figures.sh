#!/usr/bin/env bash
# controls-figures.sh OUT FIG_DIR: the controls' figures (docs/controls.md),
# drawn with panel-grid.gp from the study's reports and their controls:
#   controls-case-tags    per case-study tag (the study's vector kind): the F1
#                         grid, the control model's, and their difference
#   f1-minus-control-keys, f1-minus-control-queries
#                         F1 minus the control model's F1, every tag
#   selectivity           accuracy minus the control task's accuracy, per head,
#                         key and query probes (Hewitt & Liang 2019)
# Each figure also keeps its table (.txt).  Env: BIN (tools), CONTROL (yes|no:
# without the control model only the selectivity figure is drawn).
set -euo pipefail
out=$1 fig=$2
export LC_ALL=C
mkdir -p "$fig"
here=$(dirname "$0")
P=$out/probes.probes
draw() { gnuplot -e "data='$1.txt'; out='$1'; title=\"$2\"; cols=$3" "$here/panel-grid.gp"; }
# block TAG FILE: the matrix of TAG in a report-grid --all / probe-compare --grid table
block() { awk -v t="$1" '/^# tag: / { on = (substr($0, 8) == t); next } on && /^#/ { next } on && NF { print } on && !NF { exit }' "$2"; }
# model lines of a table
model_lines() { grep -E '^# model(-sha256)?: ' "$1"; }
one() { [ "$1" = keys ] && echo key || echo query; }

sel=$fig/selectivity
for kind in keys queries; do
  "$BIN/probe-compare" --grid --tags accuracy --model-from "$P" -o "$sel-$kind.part" \
    "$out/results_$kind.json" "$out/control-task/results_$kind.json"
done
{ model_lines "$sel-keys.part"; echo "# panels: 2"
  echo "# panel: key probes|diff"; block accuracy "$sel-keys.part"; printf '\n\n'
  echo "# panel: query probes|diff"; block accuracy "$sel-queries.part"; } >"$sel.txt"
rm -f "$sel-keys.part" "$sel-queries.part"
draw "$sel" "Selectivity: probe accuracy minus control-task accuracy (Hewitt & Liang 2019), per head (x: head, y: layer)" 2

[ "${CONTROL:-yes}" = yes ] || exit 0
for kind in keys queries; do
  "$BIN/report-grid" --all --model-from "$P" -o "$fig/.raw-$kind.txt" "$out/results_$kind.json"
  "$BIN/report-grid" --all --model-from "$out/control/probes.probes" -o "$fig/.ctl-$kind.txt" "$out/control/results_$kind.json"
  "$BIN/probe-compare" --grid --model-from "$P" -o "$fig/.diff-$kind.txt" "$out/results_$kind.json" "$out/control/results_$kind.json"
  # every tag's difference (the average rows left out)
  d=$fig/f1-minus-control-$kind
  tags=$(sed -n 's/^# tag: //p' "$fig/.diff-$kind.txt" | grep -vxE 'accuracy|macro avg|weighted avg')
  { model_lines "$fig/.diff-$kind.txt"; echo "# panels: $(wc -l <<<"$tags")"
    n=0; while IFS= read -r t; do
      [ $((n++)) -gt 0 ] && printf '\n\n'
      echo "# panel: $t|diff"; block "$t" "$fig/.diff-$kind.txt"
    done <<<"$tags"; } >"$d.txt"
  draw "$d" "F1 of the $(one "$kind") probes minus the control model's (random weights), per POS tag (x: head, y: layer)" 5
done

# the case-study tags, each in the study's vector kind: F1 | control | difference
c=$fig/controls-case-tags
{ model_lines "$fig/.diff-keys.txt"; n=0; body=""
  for tk in '``:keys' "'':keys" 'VBD:keys' 'PRP$:queries' 'CC:keys'; do
    t=${tk%:*} kind=${tk##*:}
    grep -qxF "# tag: $t" "$fig/.diff-$kind.txt" || continue
    n=$((n + 1))
    body+="# panel: $t ($(one "$kind")): F1|f1"$'\n'"$(block "$t" "$fig/.raw-$kind.txt")"$'\n\n\n'
    body+="# panel: $t: control model's F1|f1"$'\n'"$(block "$t" "$fig/.ctl-$kind.txt")"$'\n\n\n'
    body+="# panel: $t: F1 minus control|diff"$'\n'"$(block "$t" "$fig/.diff-$kind.txt")"$'\n\n\n'
  done
  echo "# panels: $((3 * n))"; printf '%s' "$body"; } >"$c.txt"
rm -f "$fig"/.raw-*.txt "$fig"/.ctl-*.txt "$fig"/.diff-*.txt
draw "$c" "Case-study tags: F1, the control model's F1 (random weights), the difference (x: head, y: layer)" 3

# test_figures_draw.sh: report-grid against the study's published JSON, and
# every gnuplot figure script drawn from real tables (a random test model's
# activity / attention, the study's F1 report): PNG + PDF written, PNG of the
# expected size, the model named, bad inputs refused.
. tests/sh/lib.sh
G=$TOP/tests/golden/figures
F=$TOP/pipelines/figures
KEYS=$DATA/study/results_keys.json

# --- report-grid -------------------------------------------------------------
if [ -f "$KEYS" ]; then
  "$BIN/report-grid" --tag '``' --model-label "TinyStories-1M (the study's results_keys.json)" -o "$TMP/q.txt" "$KEYS"
  check_eq "report-grid: 8 rows (layers) x 16 columns (heads)" "$(grep -v '^#' "$TMP/q.txt" | awk '{ print NF }' | sort -u | tr '\n' ' ')$(grep -vc '^#' "$TMP/q.txt")" "16 8"
  check_eq "report-grid: L0H0 and L7H15 are the JSON's f1-score of \`\`" "$(grep -v '^#' "$TMP/q.txt" | awk 'NR == 1 { a = $1 } NR == 8 { b = $16 } END { print a, b }')" "0.24907063197026022 0.011695906432748537"
  check "report-grid names the model" grep -qx "# model: TinyStories-1M (the study's results_keys.json)" "$TMP/q.txt"
  check_eq "report-grid --list: 38 tags, accuracy and averages left out" "$("$BIN/report-grid" --list "$KEYS" | wc -l) $("$BIN/report-grid" --list "$KEYS" | grep -c 'avg\|accuracy')" "38 0"
  "$BIN/report-grid" --all --model-label x -o "$TMP/all.txt" "$KEYS"
  check_eq "report-grid --all: one 8-row block per tag" "$(grep -c '^# tag: ' "$TMP/all.txt") $(grep -v '^#' "$TMP/all.txt" | grep -c .)" "38 304"
  check_eq "--metric support: L0H0 of '' is the JSON's 423" "$("$BIN/report-grid" --tag "''" --metric support --model-label x "$KEYS" | grep -v '^#' | head -1 | cut -d' ' -f1)" 423
  check_fails "report-grid: a tag no head has" "report-grid: .*no head's report has the tag 'XYZ'" "$BIN/report-grid" --tag XYZ --model-label x "$KEYS"
  check_fails "report-grid: a figure table must name its model" 'report-grid: name the model' "$BIN/report-grid" --tag NN "$KEYS"
else
  skip "report-grid on the study's JSON (no $KEYS: make data)"
fi
check_fails "report-grid: not JSON" 'report-grid: .*not JSON' "$BIN/report-grid" --tag NN --model-label x <(echo '[1,')
check_fails "report-grid: not a report" 'report-grid: .*not a probe report' "$BIN/report-grid" --tag NN --model-label x <(echo '{}')
check_fails "report-grid: ragged layers" 'report-grid: .*layer 1 has 1 heads, layer 0 has 2' "$BIN/report-grid" --tag NN --model-label x <(echo '[[{"NN":{"f1-score":1}},{}],[{}]]')
check_fails "report-grid: --model-from a stream without a model" 'report-grid: .*names no model' "$BIN/report-grid" --tag NN --model-from <("$BIN/stream-import" "$G/input.tsv") <(echo '[[{"NN":{"f1-score":1}}]]')

# --- tables from the random test model ---------------------------------------
if ! command -v gnuplot >/dev/null; then skip "gnuplot not installed (make installs gnuplot-nox)"; exit 0; fi
# shellcheck disable=SC2046
"$BIN/model-init" $(cut -f1 "$G/model.tsv") -o "$TMP/m" >/dev/null
"$BIN/stream-import" "$G/input.tsv" | "$BIN/forward-dump" --model "$TMP/m" --vectors q,k,z -o "$TMP/acts.hs"
"$BIN/activity" --model "$TMP/m" --heads L1H2 --story 3 --window 5:35 -o "$TMP/act.tsv" "$TMP/acts.hs"
"$BIN/attn-slice" --heads L1H2 --story 3 --query 30 --window 10:31 -o "$TMP/a.tsv" "$TMP/acts.hs"
"$BIN/attn-slice" --heads L2H1 --story 3 --query 20-29 --window 14:30 -o "$TMP/s.tsv" "$TMP/acts.hs"
"$BIN/attn-slice" --heads L1H1 --from-tag 'PRP$' -o "$TMP/from.tsv" "$TMP/acts.hs"
"$BIN/attn-slice" --heads L1H1 --to-tag NN -o "$TMP/to.tsv" "$TMP/acts.hs"
"$BIN/report-grid" --tag NN --model-label "TinyStories-1M (the study's results_keys.json)" -o "$TMP/nn.txt" "$KEYS" 2>/dev/null ||
  printf '# model: m\n%s\n' "$(seq 0 15 | tr '\n' ' ')" >"$TMP/nn.txt"

# draw NAME SCRIPT VARS: PNG + PDF written
pngsize() { od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 "x" $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'; }
draw() {
  local name=$1 script=$2 vars=$3 size=$4
  if gnuplot -e "data='$TMP/$name.data'; out='$TMP/fig-$name'; $vars" "$F/$script" >"$TMP/gp.err" 2>&1 &&
     [ -s "$TMP/fig-$name.png" ] && [ -s "$TMP/fig-$name.pdf" ] && [ "$(head -c 4 "$TMP/fig-$name.pdf")" = "%PDF" ]; then
    if [ -z "$size" ] || [ "$(pngsize "$TMP/fig-$name.png")" = "$size" ]; then ok "$script draws PNG + PDF ($name $(pngsize "$TMP/fig-$name.png"))"
    else fail "$script: PNG is $(pngsize "$TMP/fig-$name.png"), want $size"; fi
  else
    fail "$script ($name) drew nothing"; sed 's/^/    /' "$TMP/gp.err" | head -5
  fi
}
cp "$TMP/nn.txt" "$TMP/heat.data"; draw heat f1-heatmap.gp "kind='key'" 620x340
[ -f "$KEYS" ] && { cp "$TMP/all.txt" "$TMP/grid.data"; draw grid f1-grid.gp "kind='key'" 1290x1610; }
cp "$TMP/act.tsv" "$TMP/act.data"; draw act activity-bars.gp "hl_from=12; hl_to=18" 1000x380
cp "$TMP/a.tsv" "$TMP/attn.data"; draw attn attn-bars.gp "hl_tag='NN'" 790x400
cp "$TMP/s.tsv" "$TMP/strip.data"; draw strip attn-strip.gp "" 712x930
cp "$TMP/from.tsv" "$TMP/from.data"; draw from attn-avg.gp "" 640x400
cp "$TMP/to.tsv" "$TMP/to.data"; draw to attn-avg.gp "" 640x400
# the figure names the model: the PDF's text holds the table's model line
if command -v pdftotext >/dev/null; then
  check "the activity PDF names the random test model" grep -q 'random-test-model seed 12 (not TinyStories-1M' <(pdftotext "$TMP/fig-act.pdf" -)
fi
# refusals: one line, non-zero
grep -v '^# model' "$TMP/act.tsv" >"$TMP/nomodel.tsv"
check_fails "a table without a model line is refused" "figure: .*names no model" gnuplot -e "data='$TMP/nomodel.tsv'; out='$TMP/x'" "$F/activity-bars.gp"
check_fails "activity-bars wants one head and story" "figure: .*exactly one head and one story" gnuplot -e "data='$TMP/s.tsv'; out='$TMP/x'" "$F/activity-bars.gp"
check_fails "attn-bars wants one query" "figure: .*one head, story and query" gnuplot -e "data='$TMP/s.tsv'; out='$TMP/x'" "$F/attn-bars.gp"
check_fails "attn-avg wants an aggregate" "figure: .*is not an aggregate" gnuplot -e "data='$TMP/a.tsv'; out='$TMP/x'" "$F/attn-avg.gp"
check_fails "a missing table" "figure: .*cannot read" gnuplot -e "data='$TMP/nope'; out='$TMP/x'" "$F/attn-bars.gp"
check_eq "refused figures write nothing" "$(ls "$TMP" | grep -c '^x\.')" 0

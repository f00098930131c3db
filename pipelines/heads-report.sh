#!/usr/bin/env bash
# heads-report.sh DIR TSV_OUT [CONTROLS_TSV]: the report card (docs/heads.md): reads the
# tables made in DIR (select.tsv, scores.tsv, logit-grid.tsv,
# ablate-sweep.tsv, stats.tsv, top-tokens.tsv), writes the per-head table as
# TSV to TSV_OUT and the Markdown card (heads.md) to stdout, each claim of
# the study as a measured check with its numbers and a verdict; with
# CONTROLS_TSV (controls-table.sh's), then the controls of the case-study
# tags (pipelines/controls-case.sh).
set -euo pipefail
dir=$1 tsv_out=$2 controls=${3:-}
export LC_ALL=C
for f in select scores logit-grid ablate-sweep stats top-tokens; do
  [ -s "$dir/$f.tsv" ] || { echo "heads-report.sh: $dir/$f.tsv is missing or empty" >&2; exit 1; }
done

# One awk program over all tables: first the lookups, then select.tsv drives
# the rows.  Keys: "L H" for heads, "L H TAG" for per-tag rows.
awk -F'\t' -v OFS='\t' -v md="$dir/.card.md" '
FILENAME ~ /scores.tsv$/ && !/^#/ { ind[$1" "$2] = $3; dup[$1" "$2] = $4; prev[$1" "$2] = $5;
  if (NF >= 6) ptxt[$1" "$2] = $6; nind++; indv[nind] = $3; next }
FILENAME ~ /logit-grid.tsv$/ && !/^#/ { attr[$1" "$2" "$3] = $5; attn[$1" "$2" "$3] = $4; next }
FILENAME ~ /ablate-sweep.tsv$/ && !/^#/ { dl[$1" "$2" "$3] = $7; dn[$1" "$2" "$3] = $4; next }
FILENAME ~ /stats.tsv$/ && !/^#/ { st[$1" "$2" "$3] = $6; sg[$1" "$2" "$3] = $4; sr[$1" "$2" "$3] = $5; sn[$1" "$2" "$3] = $7; next }
FILENAME ~ /top-tokens.tsv$/ && !/^#/ { k = $1" "$2; t = $5; gsub(/\|/, "/", t);
  top[k] = top[k] (top[k] == "" ? "" : " | ") t; next }
FILENAME ~ /select.tsv$/ && FNR > 1 {
  role = $1; tag = $2; kind = $3; head = $4; f1 = $5
  if (head !~ /^L[0-9]+H[0-9]+$/) { print role, tag, kind, "-", "-", f1 > "/dev/stderr"; next }
  split(substr(head, 2), a, "H"); l = a[1]; h = a[2]; k = l" "h
  ftag = tag == "" ? "(none)" : tag
  n++; R[n] = role; T[n] = ftag; K[n] = kind; H[n] = head; F[n] = f1; L[n] = l; HH[n] = h
  print role, ftag, kind, l, h, f1, (k" activity:any" in sg ? sg[k" activity:any"] : "-"), ind[k], dup[k], prev[k],
        (k" "ftag in attr ? attr[k" "ftag] : "-"), (k" "ftag in dl ? dl[k" "ftag] : "-"), top[k]
}
END {
  # the induction median over every head of the model
  m = nind; for (i = 1; i <= m; i++) v[i] = indv[i] + 0
  for (i = 2; i <= m; i++) { x = v[i]; j = i - 1; while (j >= 1 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
  median = m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
  for (i = 1; i <= n; i++) {
    k = L[i]" "HH[i]
    printf "| %s | %s %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", R[i], K[i], code(T[i]), H[i], fmt(F[i]),
      fmt(sg[k" activity:any"]), fmt(ind[k]), fmt(prev[k]), fmt(attr[k" "T[i]]), fmt(dl[k" "T[i]]),
      top[k] == "" ? "-" : code(top[k]) > md
  }
  print "@@" > md
  for (i = 1; i <= 4; i++) {
    k = L[i]" "HH[i]
    if (R[i] == "quote") claim1(k, H[i])
    if (R[i] == "past-tense") claim2(k, H[i], median)
    if (R[i] == "definite-noun") claim3(k, H[i])
  }
}
function fmt(x) { return x == "" || x == "-" ? "-" : sprintf("%.4g", x) }
function code(s) { return index(s, "`") ? "`` " s " ``" : "`" s "`" }
function ratio_txt(key) { return sprintf("%s vs %s (ratio %s; n = %s)", fmt(sg[key]), fmt(sr[key]), fmt(st[key]), sn[key]) }
function testable(key) { return (key in st) && st[key] != "-" && st[key] != "" }
function verdict(ok, can) { return !can ? "not testable here" : ok ? "supported" : "not supported" }
function claim1(k, head,   a, b, can, ok) {
  a = k" activity:quote"; b = k" attention:quote/tag=``"
  can = testable(a) && testable(b); ok = can && st[a] > 1 && st[b] > 1
  print "### 1. The quote head (" head ") is more active inside quotations and attends to the opening quote there" > md
  print "" > md
  print "- activity inside vs outside quotations: " (testable(a) ? ratio_txt(a) : "no quotation in the test stories") > md
  print "- attention from tokens inside a quotation, per ``` `` ``` key vs per key: " (testable(b) ? ratio_txt(b) : "no quoted token sees an opening quote") > md
  print "- **verdict: " verdict(ok, can) "**" > md
  print "" > md
}
function claim2(k, head, median,   a, b, c, d, can, ok, dv, dall, nv, nall, doth) {
  a = k" activity:next=VBD"; b = k" attention:next=VBD/tag=VBD"
  dv = dl[k" VBD"]; nv = dn[k" VBD"]; dall = dl[k" (all)"]; nall = dn[k" (all)"]
  doth = (nall > nv) ? (nall * dall - nv * dv) / (nall - nv) : ""
  can = testable(a) && testable(b) && nv != "" && doth != ""
  ok = can && st[a] > 1 && st[b] > 1 && ind[k] > median && dv > doth
  print "### 2. The past-tense head (" head ") predicts VBD" > md
  print "" > md
  print "- activity right before a VBD vs elsewhere: " (testable(a) ? ratio_txt(a) : "no VBD in the test stories") > md
  print "- attention from the token before a VBD, per earlier VBD key vs per key: " (testable(b) ? ratio_txt(b) : "no earlier VBD to attend to") > md
  printf "- induction score %s against the model'"'"'s median %s: %s\n", fmt(ind[k]), fmt(median), (ind[k] > median ? "above" : "not above") > md
  if (nv != "") printf "- ablating it (`ablate --sweep`): loss change on VBD targets %s (n = %s) vs on the other targets %s\n", fmt(dv), nv, fmt(doth) > md
  else print "- ablating it: no VBD target in the ablated stories" > md
  print "- **verdict: " verdict(ok, can) "**" > md
  print "" > md
}
function claim3(k, head,   a, b, can, ok) {
  a = k" activity:tag=PRP$,DT"; b = k" attention:tag=PRP$,DT/tag=NN,NNS,NNP,NNPS"
  can = testable(a) && testable(b); ok = can && st[a] > 1 && st[b] > 1
  print "### 3. The definite-noun head (" head ") is active on PRP$ and DT and attends from them to earlier nouns" > md
  print "" > md
  print "- activity on PRP$ and DT tokens vs elsewhere: " (testable(a) ? ratio_txt(a) : "no PRP$ or DT token") > md
  print "- attention from PRP$ / DT, per earlier noun key vs per key: " (testable(b) ? ratio_txt(b) : "no noun before a PRP$ or DT") > md
  print "- **verdict: " verdict(ok, can) "**" > md
  print "" > md
}
' "$dir/scores.tsv" "$dir/logit-grid.tsv" "$dir/ablate-sweep.tsv" "$dir/stats.tsv" "$dir/top-tokens.tsv" \
  "$dir/select.tsv" > "$tsv_out.tmp" 2> "$dir/.missing"

{
  printf 'role\ttag\tkind\tlayer\thead\tprobe_f1\tactivity\tinduction\tduplicate\tprevious\tattribution_to_tag\tdelta_loss_on_tag\ttop10_promoted\n'
  cat "$tsv_out.tmp"
} > "$tsv_out"
rm -f "$tsv_out.tmp"

model=$(sed -n 's/^# model: //p' "$dir/scores.tsv" | head -n 1)
sha=$(sed -n 's/^# model-sha256: //p' "$dir/scores.tsv" | head -n 1)
echo "# What the heads do: $model"
echo
echo "- model: \`$model\`"
echo "- weights sha256: \`$sha\`"
sed -n 's/^# \(head-scores\|logit-lens\|ablate\|head-stats\): /- \1: /p' "$dir/scores.tsv" "$dir/logit-grid.tsv" \
  "$dir/ablate-sweep.tsv" "$dir/stats.tsv"
echo
echo "## The study's claims, measured"
echo
sed -n '/^@@$/,$p' "$dir/.card.md" | sed 1d
echo "## The heads"
echo
echo "Case-study heads (the study's on TinyStories-1M, otherwise this model's best head for the tag), then the best key and query head of every tag. activity: mean ||W_O[h] z_h|| over the test tokens; induction, previous: head-scores; attribution: mean direct logit attribution to the next token when it carries the tag (final LayerNorm scaled); Δloss: mean loss change on tokens of the tag when the head alone is zero-ablated; top tokens: of the head's mean attribution."
echo
echo "| role | probe | head | F1 | activity | induction | previous | attribution to tag | Δloss on tag | top promoted tokens |"
echo "|---|---|---|---|---|---|---|---|---|---|"
sed -n '1,/^@@$/p' "$dir/.card.md" | sed '$d'
if [ -s "$dir/.missing" ]; then
  echo
  echo "Without a head (no probe for the tag): $(cut -f1,2 "$dir/.missing" | tr '\t\n' ' ;')"
fi
rm -f "$dir/.card.md" "$dir/.missing"
if [ -n "$controls" ]; then
  echo
  echo "## Do the probe results hold up? The case-study tags' controls"
  echo
  "$(dirname "$0")/controls-case.sh" "$controls"
fi

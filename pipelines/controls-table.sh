#!/usr/bin/env bash
# controls-table.sh OUT: every control of the study's probe results joined per
# vector kind and tag (docs/controls.md) -> TSV on stdout (summary.sh reads it):
#
#   vector tag support        k or q, the tag, its test support
#   best f1 lo hi best_share  the best head, its F1 and 95% bootstrap interval
#                             over test stories, how often it beats the
#                             runner-up in the bootstrap (bootstrap.tsv)
#   runner_up ru_f1 ru_lo ru_hi    the second-best head, the same
#   majority_f1 token_id_f1   the baselines (baselines.tsv)
#   control_f1 f1_minus_control    the control model's F1 at the best head
#   control_best control_best_f1   the control model's own best head
#   selectivity               at the best head: accuracy minus the control
#                             task's accuracy (Hewitt & Liang 2019)
#   wins seeds                split seeds in which the best head is best / run
#   stable                    yes when wins >= 4/5 of the seeds and the interval
#                             lies above the runner-up's; else no
# "-" where a value does not exist (a tag absent from the test split, no
# control model with CONTROL=no, ...).  Env: BIN (tools), CONTROL (yes|no).
set -euo pipefail
out=$1
export LC_ALL=C
tmp=$(mktemp -d "$out/.controls.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# grid rows "v tag layer head value" of a report-grid --all / probe-compare --grid table
cells() { awk -v v="$1" '/^# tag: / { t = substr($0, 8); l = 0; next } /^#/ || !NF { next }
  { for (h = 1; h <= NF; h++) print v "\t" (t == "(none)" ? "" : t) "\t" l "\t" h - 1 "\t" $h; l++ }' "$2"; }
for kind in keys queries; do
  v=${kind:0:1}
  if [ "${CONTROL:-yes}" = yes ]; then
    "$BIN/report-grid" --all --model-label control -o "$tmp/ctl.txt" "$out/control/results_$kind.json"
    cells "$v" "$tmp/ctl.txt" >>"$tmp/ctl.tsv"
    "$BIN/probe-compare" --tsv "$out/control/results_$kind.json" "$out/control/results_$kind.json" |
      awk -F'\t' -v v="$v" 'NR > 1 { print v "\t" $1 "\t" $4 "\t" $5 }' >>"$tmp/cbest.tsv"
  fi
  "$BIN/probe-compare" --grid --tags accuracy --model-label x -o "$tmp/sel.txt" \
    "$out/results_$kind.json" "$out/control-task/results_$kind.json"
  cells "$v" "$tmp/sel.txt" >>"$tmp/sel.tsv"
done
touch "$tmp/ctl.tsv" "$tmp/cbest.tsv"
"$BIN/stream-view" --header "$out/probes.probes" | sed -n 's/^\(model\|model-sha256\): /# \1: /p'
grep -E '^# (bootstrap|split seeds):' "$out/bootstrap.tsv" "$out/stability.tsv" | sed 's/^[^:]*://'
printf '#vector\ttag\tsupport\tbest\tf1\tlo\thi\tbest_share\trunner_up\tru_f1\tru_lo\tru_hi\tmajority_f1\ttoken_id_f1\t'
printf 'control_f1\tf1_minus_control\tcontrol_best\tcontrol_best_f1\tselectivity\twins\tseeds\tstable\n'
awk -F'\t' '
  FILENAME ~ /bootstrap.tsv$/ { if (/^#/) next; k = $1 SUBSEP $2; if ($3 == 1) { B1[k] = $4 "\t" $5 "\t" $6 "\t" $7 "\t" $8; sup[k] = $9; order[++n] = k }
                                else if ($3 == 2) R[k] = $4 "\t" $5 "\t" $6 "\t" $7; next }
  FILENAME ~ /baselines.tsv$/ { if (/^#/) next; MAJ[$1] = $4; TOK[$1] = $7; next }
  FILENAME ~ /ctl.tsv$/ { C[$1 SUBSEP $2 SUBSEP "L" $3 "H" $4] = $5; next }
  FILENAME ~ /cbest.tsv$/ { CB[$1 SUBSEP $2] = $3 "\t" $4; next }
  FILENAME ~ /sel.tsv$/ { if ($2 == "accuracy") S[$1 SUBSEP "L" $3 "H" $4] = $5; next }
  FILENAME ~ /stability.tsv$/ { if (/^#/) next; W[$1 SUBSEP $2] = $5; N[$1 SUBSEP $2] = split($7, x, " "); next }
  function num(x) { return (x == "" || x == "-" || x == "NaN") ? "-" : x }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, kv, SUBSEP); v = kv[1]; t = kv[2]
      split(B1[k], b, "\t"); head = b[1]
      ru = (k in R) ? R[k] : "-\t-\t-\t-"; split(ru, r, "\t")
      cf = num(C[v SUBSEP t SUBSEP head]); diff = (cf == "-") ? "-" : sprintf("%.6f", b[2] - cf)
      cb = (k in CB) ? CB[k] : "-\t-"
      sel = num(S[v SUBSEP head])
      w = (k in W) ? W[k] : "-"; ns = (k in N) ? N[k] : "-"
      need = (ns == "-") ? 0 : int(0.8 * ns + 0.999999)
      sep = (r[1] == "-") || (b[3] != "-" && r[4] != "-" && b[3] + 0 > r[4] + 0)
      stable = (w != "-" && w + 0 >= need && b[3] != "-" && sep) ? "yes" : "no"
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v, t, sup[k], B1[k], ru, \
        num(MAJ[t]), num(TOK[t]), cf, diff, cb, sel, w, ns, stable
    }
  }' "$out/bootstrap.tsv" "$out/baselines.tsv" "$tmp/ctl.tsv" "$tmp/cbest.tsv" "$tmp/sel.tsv" "$out/stability.tsv"

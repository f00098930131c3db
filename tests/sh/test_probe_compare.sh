#!/usr/bin/env bash
# test_probe_compare.sh: probe-compare --tsv against rows computed by the
# oracle (tests/oracles/gen_probe_golden.py compare: scipy's spearmanr),
# on two small grids (nulls, ties, a tag on one side) and on the study's
# published query vs key reports; plus its refusals.
. "$TOP/tests/sh/lib.sh"
G=$TOP/tests/golden/probes
# same_rows GOT WANT: same rows and text fields; numbers within 1e-12
same_rows() {
  awk -F'\t' 'NR == FNR { want[FNR] = $0; n = FNR; next }
    { got[FNR] = $0; m = FNR }
    END {
      if (m != n) { print "rows: got " m ", want " n; exit 1 }
      for (i = 1; i <= n; i++) {
        a = split(got[i], x, "\t"); b = split(want[i], y, "\t")
        if (a != b) { print "row " i ": fields differ"; exit 1 }
        for (j = 1; j <= a; j++) {
          if (x[j] == y[j]) continue
          if (x[j] ~ /^-?[0-9.e+-]+$/ && y[j] ~ /^-?[0-9.e+-]+$/) {
            d = x[j] - y[j]; if (d < 0) d = -d
            if (d <= 1e-12) continue
          }
          print "row " i " field " j ": got " x[j] ", want " y[j]; exit 1
        }
      }
    }' "$2" "$1"
}
"$BIN/probe-compare" --tsv "$G/compare_a.json" "$G/compare_b.json" | tail -n +2 > "$TMP/ab.tsv"
check "small grids: rows as the oracle's (best heads, ranks, |dF1|, Spearman)" same_rows "$TMP/ab.tsv" "$G/compare_ab.tsv"
if [ -f "$DATA/study/results_keys.json" ]; then
  "$BIN/probe-compare" --tsv "$DATA/study/results_queries.json" "$DATA/study/results_keys.json" | tail -n +2 > "$TMP/qk.tsv"
  check "study queries vs keys: rows as the oracle's" same_rows "$TMP/qk.tsv" "$G/compare_study_q_k.tsv"
  "$BIN/probe-compare" --tsv "$DATA/study/results_keys.json" "$DATA/study/results_keys.json" > "$TMP/self.tsv"
  check "a report against itself: every tag's best head the same, |dF1| 0, rho 1" \
    awk -F'\t' 'NR > 1 && !($8 == "yes" && $9 == 1 && $10 == 0 && $11 == 0 && ($13 == "1.0" || $13 == "-")) { bad = 1; print } END { exit bad || NR < 30 }' "$TMP/self.tsv"
  "$BIN/probe-compare" "$DATA/study/results_queries.json" "$DATA/study/results_keys.json" > "$TMP/table.txt"
  check "the table names both files and a row per tag" grep -q '^VBD .*L6H4 0.796' "$TMP/table.txt"
else
  skip "study reports not fetched (make data)"
fi
"$BIN/probe-compare" --tags CC,DT --tsv "$G/compare_a.json" "$G/compare_b.json" | cut -f1 | tr '\n' ' ' > "$TMP/tags.txt"
check_eq "--tags keeps those tags (and the averages)" "$(cat "$TMP/tags.txt")" "tag CC DT accuracy macro avg weighted avg "
M1='{"precision": 1, "recall": 1, "f1-score": 1, "support": 3}'
REP="{\"NN\": $M1, \"accuracy\": 1, \"macro avg\": $M1, \"weighted avg\": $M1}"
echo "[[$REP]]" > "$TMP/one.json"
echo '{"not": "a grid"}' > "$TMP/bad.json"
echo '[[null]]' > "$TMP/null.json"
check_fails "refuses a file that is not a grid" '^probe-compare: .*bad.json: not a probe report' "$BIN/probe-compare" "$TMP/one.json" "$TMP/bad.json"
check_fails "refuses broken JSON" '^probe-compare: .*nope.json' "$BIN/probe-compare" "$TMP/one.json" "$TMP/nope.json"
check_fails "refuses a report of no probed head" '^probe-compare: .*null.json: every head.s report is null' "$BIN/probe-compare" "$TMP/one.json" "$TMP/null.json"
echo "[[null, $REP]]" > "$TMP/other.json"
echo "[[{\"NN\": $M1, \"accuracy\": 1}]]" > "$TMP/noavg.json"
check_fails "refuses a head report without the averages" '^probe-compare: .*noavg.json: L0H0 has no .macro avg.' "$BIN/probe-compare" "$TMP/one.json" "$TMP/noavg.json"
printf '[[{"NN": %s, "NN": %s}]]' "$M1" "$M1" > "$TMP/dupkey.json"
check_fails "refuses a key given twice" '^probe-compare: .*dupkey.json.*duplicate' "$BIN/probe-compare" "$TMP/one.json" "$TMP/dupkey.json"
: > "$TMP/empty.json"
check_fails "calls a 0-byte report empty" '^probe-compare: .*empty.json: empty file' "$BIN/probe-compare" "$TMP/one.json" "$TMP/empty.json"
check_fails "refuses grids with no head in common" '^probe-compare: .*no probed head in common' "$BIN/probe-compare" "$TMP/one.json" "$TMP/other.json"
check_fails "wants two reports" '^probe-compare: want two reports' "$BIN/probe-compare" "$TMP/one.json"

# test_controls.sh: the controls of a probe result (docs/controls.md) against
# the goldens of tests/oracles/gen_controls_golden.py: probe-baselines'
# reports equal scikit-learn's classification_report on a direct Python
# computation (a hand-made case with every tie and edge, and 40 + 30 mirror
# stories); control-task's labels equal the Python recomputation of the
# definition, depend on the token id only and on the seed; probe-bootstrap's
# intervals equal NumPy's on fixed probes and test activations; probe-eval
# refuses control-task probes on real tags and the reverse; probe-compare
# --grid is the difference of the two reports' grids.
. "$TOP/tests/sh/lib.sh"
G=$TOP/tests/golden/controls
B=$BIN

# --- probe-baselines ---------------------------------------------------------------
"$B/stream-import" "$G/synth-train.tsv" -o "$TMP/st.tagged" && "$B/stream-import" "$G/synth-test.tsv" -o "$TMP/se.tagged"
check "baselines, hand-made case (ties, unseen ids, tags on one side only, the empty tag)" \
  "$B/probe-baselines" --train "$TMP/st.tagged" --json "$TMP/sb.json" -o "$TMP/sb.tsv" "$TMP/se.tagged"
check_same_file "baselines, hand-made case: both reports = scikit-learn's, byte for byte" "$TMP/sb.json" "$G/synth-baselines.json"
check_eq "hand-made case: the majority tie goes to the tag that sorts first (A), the lookup's tie of id 5 too" \
  "$(grep -c "^# majority tag: 'A'" "$TMP/sb.tsv")" 1
check_eq "hand-made case: the TSV row of A (support, train support, majority F1, token-id P, R, F1)" \
  "$(awk -F'\t' '$1 == "A"' "$TMP/sb.tsv")" "$(printf 'A\t3\t3\t0.42857142857142855\t0.25\t0.3333333333333333\t0.28571428571428575')"
check_eq "hand-made case: a tag only in training that is predicted (E) has support 0" \
  "$(awk -F'\t' '$1 == "E" {print $2}' "$TMP/sb.tsv")" 0
check "baselines, 40 + 30 mirror stories" \
  "$B/probe-baselines" --train "$G/train.tagged" --json "$TMP/b.json" -o "$TMP/b.tsv" "$G/test.tagged"
check_same_file "mirror stories: both reports = scikit-learn's, byte for byte" "$TMP/b.json" "$G/baselines.json"
check "the TSV says the baselines use no model" grep -q '^# model: none' "$TMP/b.tsv"
check "the TSV's accuracy row = the reports' accuracies" bash -c "
  m=\$(awk -F'\t' '\$1 == \"accuracy\" {print \$4}' '$TMP/b.tsv'); t=\$(awk -F'\t' '\$1 == \"accuracy\" {print \$7}' '$TMP/b.tsv')
  grep -q \"\\\"accuracy\\\": \$m,\" '$TMP/b.json' && grep -q \"\\\"accuracy\\\": \$t,\" '$TMP/b.json'"
check "the token-id lookup beats the majority class on the mirror stories" \
  awk -F'\t' '$1 == "accuracy" { exit !($7 > $4) }' "$TMP/b.tsv"
check_fails "probe-baselines without --train" '^probe-baselines: no --train' "$B/probe-baselines" "$G/test.tagged"
check_fails "probe-baselines on a tokens stream (no tags)" '^probe-baselines: .*expected' \
  bash -c "'$B/tokenize' --vocab '$DATA/tokenizer/vocab.json' --merges '$DATA/tokenizer/merges.txt' --stories 0-1 \
    '$DATA/stories/tinystories-train-first2316.txt' | '$B/probe-baselines' --train '$G/train.tagged'"

# --- control-task -------------------------------------------------------------------
for s in train test; do
  check "control-task --seed 7 on the $s stream" "$B/control-task" --seed 7 --dist-from "$G/train.tagged" -o "$TMP/ct-$s.tagged" "$G/$s.tagged"
done
{ for s in train test; do "$B/stream-view" --no-header "$TMP/ct-$s.tagged" | awk -F'\t' -v s=$s '{print s "\t" $1 "\t" $2 "\t" $3 "\t" $7}'; done; } >"$TMP/ct.tsv"
check_same_file "control tags = the Python recomputation of the definition (every token of both streams)" \
  <(zstd -dc "$G/control-task-seed7.tsv.zst" | grep -v '^#') "$TMP/ct.tsv"
check_eq "control tags are a function of the token id only (one tag per id over both streams)" \
  "$(awk -F'\t' '{ if (($4 in t) && t[$4] != $5) bad++; t[$4] = $5 } END { print bad + 0 }' "$TMP/ct.tsv")" 0
check_eq "and not of the real tag (ids whose real tags differ share one control tag; real tags vary)" \
  "$(cat <("$B/stream-view" --no-header "$G/train.tagged") <("$B/stream-view" --no-header "$G/test.tagged") |
     awk -F'\t' '{ k = $3; if ((k in t) && t[k] != $7) m[k] = 1; t[k] = $7 } END { print (length(m) > 10) }')" 1
"$B/control-task" --seed 7 --dist-from "$G/train.tagged" -o "$TMP/ct-again.tagged" "$G/test.tagged"
check_same_file "control-task is deterministic (same seed, same records)" <("$B/stream-view" --no-header "$TMP/ct-test.tagged") <("$B/stream-view" --no-header "$TMP/ct-again.tagged")
"$B/control-task" --seed 8 --dist-from "$G/train.tagged" -o "$TMP/ct8.tagged" "$G/test.tagged"
check_eq "another seed draws other tags (more than half the types change)" \
  "$(paste <("$B/stream-view" --no-header "$TMP/ct-test.tagged" | cut -f3,7) <("$B/stream-view" --no-header "$TMP/ct8.tagged" | cut -f7) |
     awk -F'\t' '{ n[$1] = 1; if ($2 != $3) d[$1] = 1 } END { print (length(d) > length(n) / 2) }')" 1
check_eq "everything but the tags is copied" \
  "$("$B/stream-view" --no-header "$TMP/ct-test.tagged" | cut -f1-6 | sha256sum)" "$("$B/stream-view" --no-header "$G/test.tagged" | cut -f1-6 | sha256sum)"
check "the header says control-task, its seed and distribution" bash -c \
  "'$B/stream-view' --header '$TMP/ct-test.tagged' | grep -q '^control-task: hewitt-liang-2019 type token-id seed 7$' &&
   '$B/stream-view' --header '$TMP/ct-test.tagged' | grep -qE '^control-task-dist: [0-9]+ tags [0-9]+ tokens sha256 [0-9a-f]{64}$'"
check_fails "control-task without --seed" '^control-task: no --seed' "$B/control-task" --dist-from "$G/train.tagged" "$G/test.tagged"
check_fails "control-task on a control-task stream" 'control-task tags already' \
  "$B/control-task" --seed 1 --dist-from "$G/train.tagged" -o "$TMP/x.tagged" "$TMP/ct-test.tagged"
check_fails "a distribution from control-task tags" 'must come from the real tags' \
  "$B/control-task" --seed 1 --dist-from "$TMP/ct-train.tagged" -o "$TMP/x.tagged" "$G/test.tagged"
check "and nothing is left behind" test ! -e "$TMP/x.tagged"
check_fails "probe-baselines refuses control-task tags" 'control-task tags' \
  "$B/probe-baselines" --train "$TMP/ct-train.tagged" "$G/test.tagged"

# --- probe-eval / probe-bootstrap: control-task probes score only on their own tags
"$B/control-task" --seed 2 --dist-from "$G/boot-test.acts" -o "$TMP/ct.acts" "$G/boot-test.acts"
"$B/probe-fit" --vectors k --threads 2 -o "$TMP/ct.probes" "$TMP/ct.acts"
check "control-task probes score on the same control task's activations" \
  "$B/probe-eval" --probes "$TMP/ct.probes" -o "$TMP/ct.csv" "$TMP/ct.acts"
check_fails "probe-eval: control-task probes on real tags" 'fitted on control-task tags.*real tags' \
  "$B/probe-eval" --probes "$TMP/ct.probes" -o "$TMP/x.csv" "$G/boot-test.acts"
check_fails "probe-eval: real-tag probes on control-task tags" 'fitted on real tags.*control-task tags' \
  "$B/probe-eval" --probes "$G/boot.probes" -o "$TMP/x.csv" "$TMP/ct.acts"
"$B/control-task" --seed 3 --dist-from "$G/boot-test.acts" -o "$TMP/ct3.acts" "$G/boot-test.acts"
check_fails "probe-eval: probes of another control task's seed" "another control task than" \
  "$B/probe-eval" --probes "$TMP/ct.probes" -o "$TMP/x.csv" "$TMP/ct3.acts"
check_fails "probe-bootstrap: control-task probes on real tags" 'fitted on control-task tags' \
  "$B/probe-bootstrap" --probes "$TMP/ct.probes" -o "$TMP/x.tsv" "$G/boot-test.acts"

# --- probe-bootstrap -----------------------------------------------------------------
check "probe-bootstrap -B 500 --seed 3 --top 3" \
  "$B/probe-bootstrap" --probes "$G/boot.probes" -B 500 --seed 3 --top 3 -o "$TMP/boot.tsv" "$G/boot-test.acts"
# heads, tags, ranks, supports and replicate counts exact; F1, interval and share to 1e-12
cmp_boot() {
  paste <(grep -v '^#' "$1") <(grep -v '^#' "$2") | awk -F'\t' '
    NF != 20 { bad++; next }
    { for (i = 1; i <= 10; i++) { a = $i; b = $(i + 10)
        if (i >= 5 && i <= 8) { d = a - b; if (d < 0) d = -d; if (d > 1e-12) bad++ } else if (a != b) bad++ } }
    END { if (NR == 0 || bad) { print NR " rows, " bad + 0 " differ"; exit 1 } }'
}
check "bootstrap: every row = NumPy's (draws, per-story counts, F1, numpy.percentile, best share), $(grep -vc '^#' "$G/bootstrap.tsv") rows" \
  cmp_boot "$TMP/boot.tsv" "$G/bootstrap.tsv"
"$B/probe-bootstrap" --probes "$G/boot.probes" -B 500 --seed 3 --top 3 --threads 1 -o "$TMP/boot1.tsv" "$G/boot-test.acts"
check_same_file "bootstrap: the same bytes with 1 thread" "$TMP/boot.tsv" "$TMP/boot1.tsv"
"$B/probe-eval" --probes "$G/boot.probes" -o "$TMP/boot.csv" "$G/boot-test.acts"
check_eq "bootstrap: each head's F1 = probe-eval's F1 of that head and tag" \
  "$(awk -F'\t' 'NR == FNR { if ($0 !~ /^#/) { h = $4; sub(/^L/, "", h); split(h, lh, "H"); want[$1 "," lh[1] "," lh[2] "," $2] = $5; n++ } next }
                 FNR > 1 { k = $1 "," $2 "," $3 "," $4; gsub(/"/, "", k); if (k in want) { if (want[k] + 0 != $7 + 0) bad++; seen++ } }
                 END { print (seen == n && !bad) }' "$TMP/boot.tsv" FS=, "$TMP/boot.csv")" 1
check "bootstrap: the intervals hold their F1 for the well-supported tags (support >= 50)" \
  awk -F'\t' '!/^#/ && $9 >= 50 && !($6 <= $5 && $5 <= $7) { bad++ } END { exit bad > 0 }' "$TMP/boot.tsv"
"$B/probe-bootstrap" --probes "$G/boot.probes" -B 500 --seed 4 --top 3 -o "$TMP/boot4.tsv" "$G/boot-test.acts"
check "bootstrap: another seed, other intervals, the same F1s" bash -c \
  "! cmp -s <(grep -v '^#' '$TMP/boot.tsv' | cut -f6) <(grep -v '^#' '$TMP/boot4.tsv' | cut -f6) &&
   cmp -s <(grep -v '^#' '$TMP/boot.tsv' | cut -f1-5) <(grep -v '^#' '$TMP/boot4.tsv' | cut -f1-5)"
check "bootstrap: the table names the model and the bootstrap" bash -c \
  "grep -q '^# model: random-test-model seed 31' '$TMP/boot.tsv' && grep -q '^# bootstrap: 500 replicates of 16 stories' '$TMP/boot.tsv'"
check "bootstrap: no NaN in the table" bash -c "! grep -qi nan '$TMP/boot.tsv'"
check_fails "probe-bootstrap without --probes" '^probe-bootstrap: no probes' "$B/probe-bootstrap" "$G/boot-test.acts"

# --- probe-compare --grid ----------------------------------------------------------------
"$B/probe-eval" --probes "$G/boot.probes" --json "$TMP/a.json" "$G/boot-test.acts"
"$B/probe-eval" --probes "$TMP/ct.probes" --json "$TMP/c.json" "$TMP/ct.acts"
check "probe-compare --grid: A minus B" \
  "$B/probe-compare" --grid --model-from "$G/boot.probes" -o "$TMP/diff.txt" "$TMP/a.json" "$TMP/c.json"
"$B/report-grid" --tag NN --model-label x -o "$TMP/a-nn.txt" "$TMP/a.json"
"$B/report-grid" --tag NN --model-label x -o "$TMP/c-nn.txt" "$TMP/c.json"
check "--grid: NN's matrix = report-grid(A) - report-grid(B), cell by cell" bash -c "
  paste -d' ' <(grep -v '^#' '$TMP/a-nn.txt') <(grep -v '^#' '$TMP/c-nn.txt') <(awk '/^# tag: /{on = (\$3 == \"NN\")} on && !/^#/ && NF' '$TMP/diff.txt') |
  awk '{ n = NF / 3; for (i = 1; i <= n; i++) { d = \$i - \$(i + n) - \$(i + 2 * n); if (d < -1e-15 || d > 1e-15) bad++ } } END { exit !(NR == 2 && !bad) }'"
check "--grid: the layout report-grid --all writes (model lines, # tags:, # tag: blocks)" bash -c \
  "grep -q '^# model: random-test-model seed 31' '$TMP/diff.txt' && grep -q '^# tags: [0-9]' '$TMP/diff.txt' && grep -q '^# tag: accuracy' '$TMP/diff.txt'"
"$B/probe-compare" --grid --tags accuracy --model-label x -o "$TMP/sel.txt" "$TMP/a.json" "$TMP/c.json"
check_eq "--grid --tags accuracy: one matrix (selectivity)" "$(grep -c '^# tag:' "$TMP/sel.txt")" 1
check_fails "--grid names a model" 'name A.s model' "$B/probe-compare" --grid "$TMP/a.json" "$TMP/c.json"

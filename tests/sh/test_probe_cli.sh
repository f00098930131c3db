#!/usr/bin/env bash
# test_probe_cli.sh: probe-fit / probe-eval as filters in a pipe: --help,
# --version, stdin / stdout, shards fitted separately (--layers) and joined
# with cat evaluate exactly as one run, --merge recorded in the probes header
# and applied by probe-eval, and one-line refusals of bad options.
. "$TOP/tests/sh/lib.sh"
F=$BIN/probe-fit E=$BIN/probe-eval
check "probe-fit --help shows usage and an example pipe" grep -q '^example:' <($F --help)
check "probe-eval --help shows usage and an example pipe" grep -q '^example:' <($E --help)
check_eq "probe-fit --version" "$($F --version)" "probe-fit 0.1.0"
check_eq "probe-eval --version" "$($E --version)" "probe-eval 0.1.0"
check_fails "probe-fit: an unknown option is one line" '^probe-fit: unknown option' $F --bogus
check_fails "probe-fit: -C must be positive" '^probe-fit: -C must be a positive' $F -C 0
check_fails "probe-eval: an unknown option is one line" '^probe-eval: unknown option' $E --bogus

# a small tagged input (stream-import), a 2-layer random model, activations
awk 'BEGIN { split("NN DT VBD VBZ VB PRP IN", T, " "); srand(3)
  for (t = 0; t < 1200; t++) { id = int(rand() * 200); tag = T[id % 7 + 1]; if (rand() < 0.1) tag = T[int(rand() * 7) + 1]
    printf "%d\t%d\t%d\t%d\t%d\tw\t%s\n", int(t / 40), t % 40, id + 50, 2 * (t % 40), 2 * (t % 40) + 1, tag } }' > "$TMP/in.tsv"
"$BIN/stream-import" "$TMP/in.tsv" > "$TMP/in.tagged"
"$BIN/model-init" --layers 2 --heads 4 --hidden 16 --vocab 300 --seed 5 -o "$TMP/m" > /dev/null
"$BIN/forward-dump" --model "$TMP/m" --vectors q,k < "$TMP/in.tagged" > "$TMP/acts"
check "the fixture activations exist" test -s "$TMP/acts"

$F < "$TMP/acts" > "$TMP/all.probes"
check_eq "stdin to stdout: 2 layers x 4 heads x {k, q} probes" "$("$BIN/stream-view" --count "$TMP/all.probes")" 16
$F --layers 0 "$TMP/acts" > "$TMP/l0.probes"
$F --layers 1 "$TMP/acts" > "$TMP/l1.probes"
cat "$TMP/l0.probes" "$TMP/l1.probes" > "$TMP/joined.probes"
$E --probes "$TMP/all.probes" --json k=$TMP/all.k.json --json q=$TMP/all.q.json --csv $TMP/all.csv < "$TMP/acts"
$E --probes "$TMP/joined.probes" --json k=$TMP/j.k.json --json q=$TMP/j.q.json --csv $TMP/j.csv < "$TMP/acts"
check_same_file "shards by --layers joined with cat: the same key report" "$TMP/all.k.json" "$TMP/j.k.json"
check_same_file "... the same query report" "$TMP/all.q.json" "$TMP/j.q.json"
check_same_file "... the same CSV" "$TMP/all.csv" "$TMP/j.csv"
check_eq "CSV to stdout when no output is named" "$($E --probes "$TMP/all.probes" < "$TMP/acts" | head -1)" \
  "vector,layer,head,label,precision,recall,f1-score,support"
$F --heads 2 --vectors k "$TMP/acts" > "$TMP/h2.probes"
$E --probes "$TMP/h2.probes" --json "$TMP/h2.json" "$TMP/acts"
check "a partial grid: unprobed heads are null, [layer][head] indexing kept" \
  grep -qzP '^\[\n    \[\n        null,\n        null,\n        \{' "$TMP/h2.json"
# report-grid takes that partial report (issue 15, kind 5): NaN for the
# unprobed heads, head 2's numbers as the full report has them
tag=$("$BIN/report-grid" --list "$TMP/h2.json" | head -1)
check "report-grid accepts a report with unprobed (null) heads" \
  "$BIN/report-grid" --tag "$tag" --model-from "$TMP/h2.probes" -o "$TMP/h2.grid" "$TMP/h2.json"
"$BIN/report-grid" --tag "$tag" --model-from "$TMP/all.probes" -o "$TMP/all.grid" "$TMP/all.k.json"
check_eq "... NaN where no head was probed, the full report's value in column 2" \
  "$(grep -v '^#' "$TMP/h2.grid" | awk '{for (i = 1; i <= NF; i++) if ((i == 3) != ($i != "NaN")) bad++} END {print NR, bad + 0}')" \
  "$(grep -vc '^#' "$TMP/all.grid") 0"
check_eq "... column 2 = the full report's column 2" "$(grep -v '^#' "$TMP/h2.grid" | cut -d' ' -f3)" \
  "$(grep -v '^#' "$TMP/all.grid" | cut -d' ' -f3)"
# probe-fit's default vectors are k,q as far as the stream holds them
"$BIN/forward-dump" --model "$TMP/m" --vectors k --layers 0 < "$TMP/in.tagged" > "$TMP/konly.acts"
check_eq "probe-fit on a k-only stream fits k probes by default" \
  "$($F "$TMP/konly.acts" | "$BIN/stream-view" --no-header | cut -f3 | sort -u)" "k"
check_fails "probe-fit: a stream with neither k nor q" 'probe-fit: .*no k or q' $F <("$BIN/forward-dump" --model "$TMP/m" --vectors v --layers 0 < "$TMP/in.tagged")

$F --merge 'VB*=VB' "$TMP/acts" > "$TMP/vb.probes"
check "--merge is recorded in the probes header" grep -qx 'probe-merge: VB\*=VB' <("$BIN/stream-view" --header "$TMP/vb.probes")
$E --probes "$TMP/vb.probes" --csv "$TMP/vb.csv" "$TMP/acts"
check "probe-eval merges the test tags as the probes' header says (no VBD / VBZ rows)" \
  test "$(cut -d, -f4 "$TMP/vb.csv" | grep -c -e '"VBD"' -e '"VBZ"')" -eq 0
check "... and VB has the merged support" \
  test "$(grep -m1 '"VB"' "$TMP/vb.csv" | cut -d, -f8)" = "$(cut -f7 "$TMP/in.tsv" | grep -c '^VB')".0
$F --drop-empty --drop DT "$TMP/acts" > "$TMP/drop.probes"
check "--drop: DT is no class" test "$("$BIN/stream-view" --no-header "$TMP/drop.probes" | cut -f4 | grep -cx DT)" -eq 0

# outputs that are not regular files (a FIFO here; /dev/null in real use)
# are written in place: renaming a temporary onto them would replace them
mkfifo "$TMP/fifo"
cat "$TMP/fifo" > "$TMP/from-fifo.json" &
$E --probes "$TMP/all.probes" --json k="$TMP/fifo" --json q="$TMP/q2.json" "$TMP/acts"
wait
check "a FIFO output is written in place and stays a FIFO" test -p "$TMP/fifo"
check_same_file "... with the same report" "$TMP/from-fifo.json" "$TMP/all.k.json"
cat "$TMP/fifo" > "$TMP/cmp-fifo.txt" &
"$BIN/probe-compare" -o "$TMP/fifo" "$TMP/all.k.json" "$TMP/all.k.json"
wait
check "probe-compare -o FIFO: in place" test -p "$TMP/fifo" -a -s "$TMP/cmp-fifo.txt"

# provenance and model identity
$E --probes "$TMP/all.probes" --meta "$TMP/meta.txt" --csv "$TMP/x.csv" "$TMP/acts"
check "--meta carries the model identity and this run's pg line" \
  grep -q '^model-sha256: ' "$TMP/meta.txt"
check "... and probe-eval's provenance" grep -q '^pg: probe-eval ' "$TMP/meta.txt"
"$BIN/model-init" --layers 2 --heads 4 --hidden 16 --vocab 300 --seed 6 -o "$TMP/m6" > /dev/null
"$BIN/forward-dump" --model "$TMP/m6" --vectors q,k < "$TMP/in.tagged" > "$TMP/acts6"
check_fails "probes of one model are refused on activations of another" \
  '^probe-eval: the probes were fitted on model .*model-sha256' $E --probes "$TMP/all.probes" "$TMP/acts6"

# outputs are checked before the work: with an input that fails only while
# being read (cut short), the refusal names the output, not the input
head -c 3000 "$TMP/acts" > "$TMP/cut.acts"
check_fails "probe-fit: a truncated input is reported (control)" 'truncated' $F -o "$TMP/x.probes" "$TMP/cut.acts"
check_fails "probe-fit: a bad -o directory is refused before the input is read" \
  "^probe-fit: $TMP/no/such/dir/x.probes: cannot create" $F -o "$TMP/no/such/dir/x.probes" "$TMP/cut.acts"
script -qec "$F $TMP/cut.acts" /dev/null > "$TMP/tty.out" 2>&1
check "probe-fit: stdout on a terminal is refused before the input is read" \
  grep -q '^probe-fit: refusing to write a binary stream to a terminal' "$TMP/tty.out"
bad=$TMP/no/dir/out
for args in "--json k=$bad" "--json q=$bad --csv $TMP/z.csv" "--csv $bad" "-o $bad" "--meta $bad --csv $TMP/z.csv"; do
  # shellcheck disable=SC2086
  check_fails "probe-eval ${args//$TMP/TMP}: a bad path is refused before the test set is read" \
    "^probe-eval: $bad: cannot create" $E --probes "$TMP/all.probes" $args "$TMP/cut.acts"
done
check_fails "probe-eval: ... (control: with good outputs the truncation is reported)" 'truncated' \
  $E --probes "$TMP/all.probes" --csv "$TMP/y.csv" "$TMP/cut.acts"
check "... and no output is left behind" test ! -e "$TMP/y.csv"
ls "$TMP" | grep -q '\.tmp\.' && fail "temporaries left behind: $(ls "$TMP" | grep '\.tmp\.')" || ok "no temporaries left behind"

# 64-dim heads through the pipe: the Newton-CG path (auto), --solver
"$BIN/model-init" --layers 1 --heads 2 --hidden 128 --vocab 300 --seed 5 -o "$TMP/m64" > /dev/null
"$BIN/forward-dump" --model "$TMP/m64" --vectors q,k < "$TMP/in.tagged" > "$TMP/acts64"
$F --threads 2 "$TMP/acts64" > "$TMP/p64.probes"
$F --threads 1 "$TMP/acts64" > "$TMP/p64.1.probes"
check_eq "64-dim heads: 1 layer x 2 heads x {k, q} probes of dimension 64" \
  "$("$BIN/stream-view" --no-header "$TMP/p64.probes" | awk -F'\t' '{print $1 $2 $3, NF - 9}' | sort -u | paste -sd' ')" \
  "00k 64 00q 64 01k 64 01q 64"
check_same_file "64-dim heads: the same bytes with 1 and 2 threads" "$TMP/p64.probes" "$TMP/p64.1.probes"
check "64-dim heads: every probe converged" test "$("$BIN/stream-view" --no-header "$TMP/p64.probes" | awk -F'\t' '$7 != 1' | wc -l)" -eq 0
# 7 classes x 65 = 455 parameters: auto takes dense Newton; Newton-CG must
# reach the same optimum
$F --solver newton-cg "$TMP/acts64" > "$TMP/p64.cg.probes"
paste <("$BIN/stream-view" --no-header "$TMP/p64.probes") <("$BIN/stream-view" --no-header "$TMP/p64.cg.probes") |
  awk -F'\t' '{ h = NF / 2; if ($4 != $(h + 4) || $7 != 1 || $(h + 7) != 1) bad = 1
    for (i = 9; i <= h; i++) { d = $i - $(h + i); if (d < 0) d = -d; a = $i < 0 ? -$i : $i; r = d / (1 + a); if (r > m) m = r } }
    END { print m; exit bad || m > 1e-4 }' > "$TMP/cgdiff.txt"
cg_rc=$?
check "--solver newton-cg and dense Newton (auto here: 455 parameters) reach the same optimum (weights within $(cat "$TMP/cgdiff.txt"))" \
  test "$cg_rc" = 0
$E --probes "$TMP/p64.probes" --csv "$TMP/p64.csv" "$TMP/acts64"
check "probe-eval reads 64-dim probes" grep -q '^k,0,1,"NN"' "$TMP/p64.csv"
check_fails "probe-fit: --solver with a bad name" "^probe-fit: --solver: 'lbfgs' is not" $F --solver lbfgs "$TMP/acts64"

# Unconverged probes: probe-fit flags them, probe-eval still reports them
# and says so on stderr (one line), rather than passing them on silently.
$F --max-iter 1 --layers 0 -o "$TMP/unconv.probes" "$TMP/acts" 2>/dev/null
$E --probes "$TMP/unconv.probes" --json "k=$TMP/unconv-k.json" "$TMP/acts" > /dev/null 2> "$TMP/unconv.err"
check_eq "probe-eval warns once about unconverged probes" \
  "$(grep -c 'did not converge' "$TMP/unconv.err")" 1
check "probe-eval still writes their report" test -s "$TMP/unconv-k.json"

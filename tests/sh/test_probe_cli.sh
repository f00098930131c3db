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

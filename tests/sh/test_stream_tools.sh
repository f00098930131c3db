# test_stream_tools.sh: stream-view on known streams, its errors, and a
# short smoke run of the stream-reader fuzz target.
. tests/sh/lib.sh
V=$BIN/stream-view
for k in tokens tagged activations probes; do
  tail -c +2 tests/fuzz/seeds/raw-$k.stream > "$TMP/$k.stream"
done
check_eq "stream-view --count counts the records" "$($V --count "$TMP/tokens.stream")" 12
check_eq "stream-view reads stdin" "$($V --count < "$TMP/probes.stream")" 12
check "stream-view --header prints the kind and header" grep -qx 'kind: activations' <($V --header "$TMP/activations.stream")
check "activations header carries the layout" grep -qx 'vectors: q k' <($V --header "$TMP/activations.stream")
check "--head 1 prints rows of one story only" test "$($V --no-header --head 1 "$TMP/tagged.stream" | cut -f1 | sort -u | wc -l)" -le 1
check "--no-header prints no comment lines" test "$($V --no-header "$TMP/tagged.stream" | grep -c '^#')" -eq 0
cols=$($V "$TMP/activations.stream" | grep -m1 '^#story' | awk -F'\t' '{print NF}')
check_eq "activations rows: 7 token columns + 8 floats" "$cols" 15
check "every activations row has 15 fields" test "$($V --no-header "$TMP/activations.stream" | awk -F'\t' 'NF != 15' | wc -l)" -eq 0
check "CSV output starts with the column names" grep -q '^layer,head,vector,class' <($V --csv "$TMP/probes.stream")
check_fails "a truncated file is one line naming truncation" 'stream-view: .*truncated' $V "$(head -c 300 "$TMP/tokens.stream" > "$TMP/cut"; echo "$TMP/cut")"
check_fails "plain text is refused" 'stream-view: .*not a heads stream' $V <(echo hello)
check_fails "a missing file is one line" 'stream-view: /nonexistent: No such file' $V /nonexistent
check_fails "an unknown option is one line" 'stream-view: unknown option .--bogus' $V --bogus
check_fails "two shards that disagree are refused" "concatenated streams of different kinds" $V <(cat "$TMP/tokens.stream" "$TMP/tagged.stream")
check_eq "two identical shards read as one" "$(cat "$TMP/tokens.stream" "$TMP/tokens.stream" | $V --count)" 24
check_eq "--version" "$($V --version)" "stream-view 0.1.0"
# zstd itself can decompress a stream (the frame check is a skippable frame).
check "zstd -t accepts a stream" zstd -q -t "$TMP/tokens.stream"

if [ -x "$FUZZBIN/fuzz_stream" ]; then
  mkdir -p "$TMP/corpus"
  if "$FUZZBIN/fuzz_stream" -max_total_time=15 -rss_limit_mb=2048 -print_final_stats=0 \
       "$TMP/corpus" tests/fuzz/seeds >"$TMP/fuzz.log" 2>&1; then
    ok "fuzz smoke: $(grep -o 'Done [0-9]* runs' "$TMP/fuzz.log") with no crash, leak or sanitizer report"
  else
    fail "fuzz smoke found a problem"; tail -n 20 "$TMP/fuzz.log"
  fi
else
  fail "fuzz target not built (make check builds it with clang)"
fi

# Writing to a device or FIFO writes in place: never renamed over.
S=$DATA/stories/tinystories-train-first2316.txt
mkfifo "$TMP/fifo"
( "$BIN/stream-view" --count "$TMP/fifo" > "$TMP/fifo.count" ) &
"$BIN/tokenize" --stories 0-11 -o "$TMP/fifo" "$S"; wait
check "a FIFO given to -o is written in place and stays a FIFO" test -p "$TMP/fifo"
check_eq "the reader at the FIFO's other end got the whole stream" "$(cat "$TMP/fifo.count")" 12
"$BIN/tokenize" --stories 0-11 -o /dev/null "$S"
check "-o /dev/null leaves /dev/null a character device" test -c /dev/null

# Binary is never written to a terminal (script(1) gives the tool a tty).
if command -v script >/dev/null 2>&1; then
  script -qec "$BIN/tokenize --stories 0 $S" /dev/null > "$TMP/tty.out" 2>&1
  check "a stream is refused on a terminal, with one line" grep -q "tokenize: refusing to write a binary stream to a terminal" "$TMP/tty.out"
  check "and no binary reached the terminal" test "$(grep -c HEADSTRM "$TMP/tty.out")" -eq 0
else
  skip "script(1) not installed: terminal refusal not tested"
fi

# Text outputs go through the same outfile: /dev/null stays a device.
"$BIN/tokenize" --ids --stories 0-2 -o /dev/null "$S"
"$BIN/tokenize" --stories 0-2 "$S" | "$BIN/postag-join" --words -o /dev/null
check "text outputs (-o /dev/null) leave /dev/null a character device" test -c /dev/null
"$BIN/tokenize" --ids --stories 0-2 -o "$TMP/ids.txt" "$S"
check_eq "a text output to a file appears whole, with no temporary left" "$(ls "$TMP" | grep -c 'ids.txt')" 1

# A closed stdin (`tool <&-`) or stdout (`tool >&-`) is one line and a
# non-zero exit for every tool, never a read of the tool's own files
# (issue 15, kind 4): cli_init holds a closed fd with /dev/null opened the
# wrong way round, so the next file the tool opens cannot land on fd 0 or 1.
"$BIN/model-init" --layers 1 --heads 2 --hidden 8 --vocab 50257 --positions 256 --seed 5 -o "$TMP/cm" >/dev/null
"$BIN/tokenize" --stories 0-1 "$S" | "$BIN/postag-join" -o "$TMP/c.tagged"
"$BIN/forward-dump" --model "$TMP/cm" --vectors q,k,z,a -o "$TMP/c.acts" "$TMP/c.tagged"
"$BIN/probe-fit" -o "$TMP/c.probes" "$TMP/c.acts" 2>/dev/null
while IFS='|' read -r tool args; do
  # shellcheck disable=SC2086
  check_fails "$tool, stdin closed" "^$tool: (.*: )?stdin is closed" "$BIN/$tool" $args <&- 2>/dev/null
done <<LIST
tokenize|
postag-join|
stream-import|
stream-view|
forward-dump|--model $TMP/cm
forward-dump|--model $TMP/cm --ids-text
probe-fit|
probe-eval|--probes $TMP/c.probes
activity|--heads all
attn-slice|--heads L0H0
report-grid|--list
train|-o $TMP/never
ablate|--model $TMP/cm --heads L0H0
logit-lens|--model $TMP/cm --grid
head-stats|--model $TMP/cm --heads L0H0 --activity any
head-scores|--model $TMP/cm --text -
LIST
check_eq "... and train made no model" "$(ls "$TMP" | grep -c never)" 0
closed_stdout() { "$@" >&-; }
while IFS='|' read -r tool args; do
  # shellcheck disable=SC2086
  check_fails "$tool, stdout closed" "^$tool: .*(stdout|write)" closed_stdout "$BIN/$tool" $args </dev/null
done <<LIST
tokenize|--stories 0 $S
stream-view|$TMP/c.tagged
forward-dump|--model $TMP/cm $TMP/c.tagged
activity|--heads all $TMP/c.acts
attn-slice|--heads L0H0 $TMP/c.acts
probe-eval|--probes $TMP/c.probes $TMP/c.acts
LIST

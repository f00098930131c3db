# test_tokenize.sh: the tokenize tool.  Ids against gpt-3-encoder's goldens
# (tests/golden/bpe/, tests/oracles/gen_bpe_golden.sh) on every mirror story
# in both joinings, token spans vs the text, header identities, the seeded
# split vs an independent Python oracle (tests/golden/tokenize/split.txt),
# shards, story selection and its errors, edge cases of the input format,
# whitespace-only stories, the published test suites of GPT-3-Encoder and
# tiktoken (tests/golden/tokenize/suites.tsv.zst, ids from gpt-3-encoder:
# tests/oracles/gen_bpe_suites.sh), long words, closed stdin, binary input.
. "$TOP/tests/sh/lib.sh"
T=$BIN/tokenize
SV=$BIN/stream-view
STORIES=$DATA/stories/tinystories-train-first2316.txt
VOCAB=$DATA/tokenizer/vocab.json
MERGES=$DATA/tokenizer/merges.txt
G=$TOP/tests/golden/bpe
TOK=(--vocab "$VOCAB" --merges "$MERGES")

# --- ids identical to the peer on every mirror story -----------------------
"$T" "${TOK[@]}" --ids "$STORIES" >"$TMP/study.ids"
check_same_file "ids == gpt-3-encoder on all 2316 stories (study joining)" <(zstd -dc "$G/mirror-study.ids.zst") "$TMP/study.ids"
"$T" "${TOK[@]}" --ids --keep-newlines "$STORIES" >"$TMP/nl.ids"
check_same_file "ids == gpt-3-encoder on all 2316 stories (--keep-newlines)" <(zstd -dc "$G/mirror-newlines.ids.zst") "$TMP/nl.ids"

# --- the stream: spans tile the text, text is the study's joining -----------
"$T" "${TOK[@]}" -o "$TMP/all.tok" "$STORIES"
check_eq "stream holds 2316 stories" "$("$SV" --count "$TMP/all.tok")" 2316
"$SV" --no-header "$TMP/all.tok" | awk -F'\t' '
  !seen || $1 != cur { if (seen) print cur "\t" text; seen = 1; cur = $1; text = ""; want = 0 }
  { if ($4 != want) bad++; want = $5; text = text $6 }
  END { print cur "\t" text; if (bad) print "BAD SPANS " bad }' >"$TMP/concat.txt"
awk '$0 == "<|endoftext|>" { print n + 0 "\t" s; n++; s = ""; next } { s = s $0 " " }' "$STORIES" >"$TMP/joined.txt"
check_same_file "token texts concatenate to each story (lines joined by spaces), spans contiguous" "$TMP/joined.txt" "$TMP/concat.txt"
"$SV" --no-header "$TMP/all.tok" | awk -F'\t' '$1 == 0 && $2 < 4 { printf "%s ", $3 }' >"$TMP/first4"
check_eq "story 0 starts 'One day, a' = 3198 1110 11 257" "$(cat "$TMP/first4")" "3198 1110 11 257 "

# --- "Once upon a time" -------------------------------------------------------
check_eq "'Once upon a time' -> 7454 2402 257 640" "$(printf 'Once upon a time' | "$T" "${TOK[@]}" --ids)" "$(printf '0\t7454 2402 257 640')"
check_eq "study joining: a line break becomes a space (220)" \
  "$(printf 'Once upon a time\n<|endoftext|>\n' | "$T" "${TOK[@]}" --ids)" "$(printf '0\t7454 2402 257 640 220')"
check_eq "--keep-newlines keeps the line break (198)" \
  "$(printf 'Once upon a time\n<|endoftext|>\n' | "$T" "${TOK[@]}" --ids --keep-newlines)" "$(printf '0\t7454 2402 257 640 198')"
check_eq "CRLF input: same ids as LF in the study joining" \
  "$(printf 'A b\r\nc\r\n<|endoftext|>\r\n' | "$T" "${TOK[@]}" --ids)" "$(printf 'A b\nc\n<|endoftext|>\n' | "$T" "${TOK[@]}" --ids)"

# --- header identities ---------------------------------------------------------
"$SV" --header "$TMP/all.tok" >"$TMP/hdr"
want_tok=$(cat "$VOCAB" "$MERGES" | sha256sum | cut -c1-64)
check "header tokenizer-sha256 = sha256(vocab.json + merges.txt)" grep -qx "tokenizer-sha256: $want_tok" "$TMP/hdr"
check "header stories-sha256 = sha256 of the input" grep -qx "stories-sha256: $(sha256sum <"$STORIES" | cut -c1-64)" "$TMP/hdr"
check "header vocab-sha256 and merges-sha256" grep -qx "merges-sha256: $(sha256sum <"$MERGES" | cut -c1-64)" "$TMP/hdr"
cat "$STORIES" | "$T" "${TOK[@]}" --stories 0 | "$SV" --header >"$TMP/hdr-pipe"
check "stdin from a pipe: same stories-sha256" grep -qx "stories-sha256: $(sha256sum <"$STORIES" | cut -c1-64)" "$TMP/hdr-pipe"

# --- the seeded split vs the Python oracle ------------------------------------
split_ids() { "$T" "${TOK[@]}" --ids "$@" "$STORIES" | cut -f1 | tr '\n' ' ' | sed 's/ $//'; }
while read -r _ seed _ fraction _ ntrain _ ntest; do
  read -r _ want_train; read -r _ want_test
  check_eq "split seed $seed fraction $fraction: train size" "$(split_ids --split train --seed "$seed" --train-fraction "$fraction" | wc -w)" "$ntrain"
  check_eq "split seed $seed fraction $fraction: test size" "$(split_ids --split test --seed "$seed" --train-fraction "$fraction" | wc -w)" "$ntest"
  check_eq "split seed $seed: first 200 train stories as the oracle" "$(split_ids --split train --seed "$seed" --train-fraction "$fraction" --take 200)" "$want_train"
  check_eq "split seed $seed: first 200 test stories as the oracle" "$(split_ids --split test --seed "$seed" --train-fraction "$fraction" --take 200)" "$want_test"
done <"$TOP/tests/golden/tokenize/split.txt"
a=$("$T" "${TOK[@]}" --split test --seed 1 --take 200 "$STORIES" | "$SV" | sha256sum)
b=$("$T" "${TOK[@]}" --split test --seed 1 --take 200 "$STORIES" | "$SV" | sha256sum)
check_eq "split: same output on every run" "$a" "$b"

# --- shards joined with cat = the unsharded selection ---------------------------
for k in 0 1 2 3; do "$T" "${TOK[@]}" --split test --take 200 --shard $k/4 -o "$TMP/shard$k.tok" "$STORIES"; done
cat "$TMP"/shard{0,1,2,3}.tok >"$TMP/shards.tok"
check_eq "4 shards joined with cat: a valid stream of 200 stories" "$("$SV" --count "$TMP/shards.tok")" 200
"$SV" --no-header "$TMP/shards.tok" | sort -n -k1,1 -k2,2 >"$TMP/shards.txt"
"$T" "${TOK[@]}" --split test --take 200 "$STORIES" | "$SV" --no-header | sort -n -k1,1 -k2,2 >"$TMP/whole.txt"
check_same_file "shards hold exactly the unsharded stories" "$TMP/whole.txt" "$TMP/shards.txt"

# --- selection and input format ---------------------------------------------------
check_eq "--stories 5-7,10,2314-: those indices" "$("$T" "${TOK[@]}" --ids --stories 5-7,10,2314- "$STORIES" | cut -f1 | tr '\n' ' ')" "5 6 7 10 2314 2315 "
printf 'a\n<|endoftext|>\n<|endoftext|>\n  \n<|endoftext|>\nb\n<|endoftext|>\n' >"$TMP/empty.txt"
check_eq "empty stories skipped, indices kept" "$("$T" "${TOK[@]}" --ids "$TMP/empty.txt" | cut -f1 | tr '\n' ' ')" "0 3 "
check_eq "--keep-empty writes them with no tokens" "$("$T" "${TOK[@]}" --ids --keep-empty "$TMP/empty.txt" | tr '\t\n' ':|')" "0:64 220|1:|2:220 220 220|3:65 220|"
"$T" "${TOK[@]}" --keep-empty -o "$TMP/empty.tok" "$TMP/empty.txt"
check_eq "--keep-empty stream: 4 records" "$("$SV" --count "$TMP/empty.tok")" 4
printf 'one\n<|endoftext|>\n' >"$TMP/f1.txt"; printf 'two\n<|endoftext|>\nthree' >"$TMP/f2.txt"
check_eq "several files read in order like cat; a last story without separator counts" \
  "$("$T" "${TOK[@]}" --ids "$TMP/f1.txt" "$TMP/f2.txt" | cut -f1 | tr '\n' ' ')" "0 1 2 "
printf 'caf\xe9 ok\n<|endoftext|>\n' >"$TMP/latin1.txt"
"$T" "${TOK[@]}" -o "$TMP/latin1.tok" "$TMP/latin1.txt" 2>"$TMP/latin1.err"
check_eq "a stray invalid byte: one warning line" "$(wc -l <"$TMP/latin1.err")" 1
check_eq "... and the stored text has U+FFFD in its place" "$("$SV" --no-header "$TMP/latin1.tok" | cut -f6 | tr -d '\n')" "$(printf 'caf\357\277\275 ok ')"

# --- bad input: one line, non-zero exit, nothing left behind -------------------------
check_fails "missing vocab" "^tokenize: .*nope.json" "$T" --vocab "$TMP/nope.json" --merges "$MERGES" "$STORIES"
head -c 5000 "$VOCAB" >"$TMP/trunc.json"
check_fails "truncated vocab" "^tokenize: .*malformed JSON" "$T" --vocab "$TMP/trunc.json" --merges "$MERGES" "$STORIES"
check_fails "missing merges" "^tokenize: .*nope.txt" "$T" --vocab "$VOCAB" --merges "$TMP/nope.txt" "$STORIES"
printf '#version: 0.2\nonly-one-field\n' >"$TMP/bad-merges.txt"
check_fails "malformed merges" "^tokenize: .*bad-merges.txt:2: expected two symbols" "$T" --vocab "$VOCAB" --merges "$TMP/bad-merges.txt" "$STORIES"
check_fails "binary input (NUL bytes)" "^tokenize: story 0: binary data, not text \(a NUL byte at byte 7\)" "$T" "${TOK[@]}" -o "$TMP/bin.tok" "$T"
check "... no output left behind" test ! -e "$TMP/bin.tok"
awk 'BEGIN { for (i = 0; i < 4000; i++) printf "%c", 128 + i % 128 }' >"$TMP/high.bin"
check_fails "binary input (no NUL, mostly invalid UTF-8)" "^tokenize: story 0: binary data, not text \(.* invalid UTF-8" "$T" "${TOK[@]}" "$TMP/high.bin"
awk 'BEGIN { for (i = 0; i < 2000; i++) printf "%c", 1 + i % 8 }' >"$TMP/ctrl.bin"
check_fails "binary input (ASCII control characters, valid UTF-8)" "^tokenize: story 0: binary data, not text" "$T" "${TOK[@]}" "$TMP/ctrl.bin"
check_fails "a tokens stream given as text" "^tokenize: story 0: zstd-compressed data, not text" "$T" "${TOK[@]}" "$TMP/all.tok"
printf 'ok story\n<|endoftext|>\nbad \000 story\n<|endoftext|>\n' >"$TMP/late-nul.txt"
check_fails "binary in a later, unselected story" "^tokenize: story 1: binary data" "$T" "${TOK[@]}" --stories 0 --ids -o "$TMP/late.ids" "$TMP/late-nul.txt"
check "... no output left behind" test ! -e "$TMP/late.ids"
printf 'a line with an escape \033[1mbold\033[0m and a\tTAB\n<|endoftext|>\n' >"$TMP/esc.txt"
check "text with a few escapes and tabs is text" "$T" "${TOK[@]}" --ids -o /dev/null "$TMP/esc.txt"
check_fails "a story over --max-tokens 2048" "^tokenize: story 0 has 3000 tokens, more than --max-tokens 2048" \
  sh -c "awk 'BEGIN { for (i = 0; i < 3000; i++) printf \" a\" }' | '$T' --vocab '$VOCAB' --merges '$MERGES' --max-tokens 2048 -o '$TMP/long.tok'"
check "... no output left behind" test ! -e "$TMP/long.tok"
check "the mirror's longest story fits 2048 tokens" "$T" "${TOK[@]}" --max-tokens 2048 -o /dev/null "$STORIES"
check_fails "missing input file" "^tokenize: .*nofile.txt" "$T" "${TOK[@]}" "$TMP/nofile.txt"
check_fails "bad --split" "^tokenize: --split" "$T" "${TOK[@]}" --split dev "$STORIES"
check_fails "bad --shard" "^tokenize: --shard" "$T" "${TOK[@]}" --shard 4/4 "$STORIES"
check_fails "bad --stories" "^tokenize: --stories" "$T" "${TOK[@]}" --stories 9-3 "$STORIES"

# --- selections that cannot be met: one line, nothing written ---------------------
printf 'a\n<|endoftext|>\nb\n<|endoftext|>\nc\n<|endoftext|>\n  \n<|endoftext|>\ne\n<|endoftext|>\n' >"$TMP/five.txt"
sel_fails() {  # WHAT PATTERN ARGS...: fails, writes nothing on stdout or to -o
  local what=$1 pat=$2; shift 2
  check_fails "$what" "$pat" "$T" "${TOK[@]}" "$@" -o "$TMP/sel.out" "$TMP/five.txt"
  check "... no output file" test ! -e "$TMP/sel.out"
  check_eq "... nothing on stdout either" "$("$T" "${TOK[@]}" --ids "$@" "$TMP/five.txt" 2>/dev/null | wc -c)" 0
}
sel_fails "--stories 100 on a 5-story file" "^tokenize: --stories 100: story 100 does not exist \(the input has 5 stories\)" --stories 100
sel_fails "--stories 3-7 (a closed range past the end)" "^tokenize: --stories 3-7: story 7 does not exist" --stories 3-7
sel_fails "--stories 5- (an open range starting past the end)" "^tokenize: --stories 5-: story 5 does not exist" --stories 5-
sel_fails "--stories 0-99 --take 2 (the range is checked even when --take stops early)" "^tokenize: --stories 0-99: story 99" --stories 0-99 --take 2
sel_fails "--take 5 with 4 non-empty stories" "^tokenize: --take 5: only 4 stories selected" --take 5
sel_fails "--stories 3: an empty story" "^tokenize: no story selected: the one story is empty .*--keep-empty" --stories 3
sel_fails "--split test --stories 0 (story 0 is on the train side)" "^tokenize: no story selected: the one story is not on the test side" --split test --stories 0
sel_fails "--shard 3/4 of 3 stories" "^tokenize: --shard 3/4: no story in this shard \(the selection holds 3\)" --take 3 --shard 3/4
sel_fails "--take 0" "^tokenize: --take takes a whole number from 1" --take 0
check_eq "--stories 4- (an open range from the last story)" "$("$T" "${TOK[@]}" --ids --stories 4- "$TMP/five.txt" | cut -f1)" "4"
check_eq "--stories 3 --keep-empty writes the empty story" "$("$T" "${TOK[@]}" --ids --keep-empty --stories 3 "$TMP/five.txt" | cut -f1)" "3"
check_eq "--take 4 --shard 1/2: stories 1 and 4" "$("$T" "${TOK[@]}" --ids --take 4 --shard 1/2 "$TMP/five.txt" | cut -f1 | tr '\n' ' ')" "1 4 "
: >"$TMP/nothing.txt"
check_eq "an empty input without selection: an empty stream, exit 0" "$("$T" "${TOK[@]}" "$TMP/nothing.txt" | "$SV" --count)" "0"
check_fails "an empty input with --stories 0" "^tokenize: --stories 0: story 0 does not exist \(the input has 0 stories\)" "$T" "${TOK[@]}" --stories 0 "$TMP/nothing.txt"

# --- stdin closed or unreadable: an error, before any file is opened -----------------
check_fails "stdin closed (<&-)" "^tokenize: stdin is closed" sh -c "'$T' --vocab '$VOCAB' --merges '$MERGES' --ids <&-"
check_fails "stdin closed, '-' as input" "^tokenize: stdin is closed" sh -c "'$T' --vocab '$VOCAB' --merges '$MERGES' --ids '$TMP/five.txt' - <&-"
check_fails "stdin open for writing only" "^tokenize: stdin is (closed or )?not open for reading" sh -c "'$T' --vocab '$VOCAB' --merges '$MERGES' --ids 0>'$TMP/wo'"
check_eq "stdin closed but a file given: fine" "$(sh -c "'$T' --vocab '$VOCAB' --merges '$MERGES' --ids --stories 0 '$TMP/five.txt' <&-" | cut -f1)" "0"
check_fails "a directory as input" "^tokenize: .*: read error: Is a directory" "$T" "${TOK[@]}" --ids "$TMP"

# --- whitespace-only stories (--keep-empty writes them, text after the last
# separator included); 0-token stories stay in the stream --------------------------
check_eq "printf ' ' | tokenize --keep-newlines --keep-empty --ids: one story" \
  "$(printf ' ' | "$T" "${TOK[@]}" --keep-newlines --keep-empty --ids | cut -f1)" "0"
check_eq "... without --keep-empty: nothing (an empty story is skipped)" "$(printf ' ' | "$T" "${TOK[@]}" --keep-newlines --ids | wc -c)" "0"
printf 'a\n<|endoftext|>\n<|endoftext|>\n' >"$TMP/zero.txt"
"$T" "${TOK[@]}" --keep-empty -o "$TMP/zero.tok" "$TMP/zero.txt"
check_eq "--keep-empty keeps a 0-token story (two separators in a row) in the stream" \
  "$("$SV" --count "$TMP/zero.tok"):$("$SV" --no-header "$TMP/zero.tok" | cut -f1 | sort -u | tr '\n' ' ')" "2:0 "

# --- a long word: memory linear with a small constant (the heap merge took
# 36 bytes per byte here, 64 writing a stream); ASan's shadow memory would
# blur the figure, so only in the release build --------------------------------
if [ -z "${SANITIZE:-}" ] && [ -x /usr/bin/time ]; then
  awk 'BEGIN { x = 12345; for (i = 0; i < 4194304; i++) { x = (x * 1103515245 + 12345) % 2147483648
    printf "%c", 97 + int(x / 65536) % 26 } }' >"$TMP/word4m.txt"
  /usr/bin/time -f %M -o "$TMP/word4m.rss" "$T" "${TOK[@]}" --ids -o "$TMP/word4m.ids" "$TMP/word4m.txt"
  rss=$(cat "$TMP/word4m.rss")
  check "a 4 MB word: peak RSS ${rss} kB, under 28 bytes per byte of input" test "$rss" -lt $((4194304 * 28 / 1024))
else
  skip "long-word memory: not measured under SANITIZE=1 (or no /usr/bin/time)"
fi

# --- the published test suites of GPT-2 tokenizers, ids from gpt-3-encoder --------
# Each case is one story (--keep-newlines --keep-empty keeps its bytes as
# they are); an empty text is no story at all.
unhex() { local h=$1 out=""; while [ -n "$h" ]; do out+="\\x${h:0:2}"; h=${h:2}; done; printf "$out"; }
n_suite=0 bad_suite=""
while IFS=$'\t' read -r name pre unit count suf _oracle want; do
  [ "$pre" = - ] && pre=""; [ "$unit" = - ] && unit=""; [ "$suf" = - ] && suf=""
  { unhex "$pre"; u=$(unhex "$unit"; printf .); u=${u%.}
    if [ "$count" -gt 0 ]; then U=$u awk -v n="$count" 'BEGIN { u = ENVIRON["U"]; for (i = 0; i < n; i++) printf "%s", u }'; fi
    unhex "$suf"; } >"$TMP/case.txt"
  got=$("$T" "${TOK[@]}" --keep-newlines --keep-empty --ids "$TMP/case.txt" 2>/dev/null)
  if [ -s "$TMP/case.txt" ]; then want=$(printf '0\t%s' "$want"); else want=""; fi
  [ "$got" = "$want" ] || bad_suite+=" $name"
  n_suite=$((n_suite + 1))
done < <(zstd -dcq "$TOP/tests/golden/tokenize/suites.tsv.zst")
check_eq "GPT-3-Encoder's and tiktoken's test strings + whitespace-only texts: $n_suite cases, ids = gpt-3-encoder" "${bad_suite:-none differ}" "none differ"
[ "$n_suite" -ge 60 ] || fail "the suites golden holds only $n_suite cases"
check_fails "unknown option" "^tokenize: unknown option" "$T" --frobnicate "$STORIES"
check "--help exits 0 and shows an example" sh -c "'$T' --help | grep -q example"

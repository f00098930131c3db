#!/usr/bin/env bash
# test_postag.sh: postag-join against the NLTK oracles (tests/oracles/
# gen_postag_golden.py, gen_postag_align_golden.py) on every mirror story,
# tag-set options, provenance, and bad input.
. "$TOP/tests/sh/lib.sh"
PJ=$BIN/postag-join
FIX=$TESTBIN/test_postag_join
TAGGER=$DATA/nltk/averaged_perceptron_tagger_eng
G=$TOP/tests/golden/postag
STORIES=$DATA/stories/tinystories-train-first2316.txt
if [ ! -f "$TAGGER/averaged_perceptron_tagger_eng.weights.json" ] || [ ! -f "$STORIES" ]; then
  skip "postag: tagger or stories not fetched (make data)"; exit 0
fi
export HEADS_TAGGER=$TAGGER

# Tokens of every mirror story (the study's joining), built with the records
# API so this test does not depend on tokenize's command line.
"$FIX" --tokens >"$TMP/tok.hs"

# tagged stream -> "#story N" + one tag per token (the goldens' layout)
tags_of() { "$BIN/stream-view" --no-header "$1" | awk -F'\t' 'BEGIN{s="none"} $1!=s{print "#story " $1; s=$1} {print $NF}'; }

# 1. words, spans (characters) and tags vs NLTK, every story
"$PJ" --words "$TMP/tok.hs" >"$TMP/words.tsv"
awk -F'\t' '/^#story/{print; pe=0; next} {print ($3-pe) "\t" ($4-$3) "\t" $7 "\t" $8; pe=$4}' \
  "$TMP/words.tsv" >"$TMP/words.compact"
zstd -dcq "$G/words.tsv.zst" >"$TMP/words.want"
check_same_file "words, spans and tags = NLTK on all $(grep -c '^#story' "$TMP/words.want") mirror stories ($(grep -vc '^#' "$TMP/words.want") words)" \
  "$TMP/words.compact" "$TMP/words.want"

# 2. --align study = the study's PosTagger.tag_input, token for token
"$PJ" --align study -o "$TMP/study.hs" "$TMP/tok.hs"
tags_of "$TMP/study.hs" >"$TMP/study.tags"
zstd -dcq "$G/study-tags.txt.zst" >"$TMP/study.want"
check_same_file "--align study = the study's tag_input on all stories ($(grep -vc '^#' "$TMP/study.want") tokens)" \
  "$TMP/study.tags" "$TMP/study.want"
empty=$(awk '!/^#/{n++; if ($0=="") e++} END{printf "%.1f", 100*e/n}' "$TMP/study.tags")
check "study rule's signature: empty tag on ${empty}% of tokens (study: 12.7%)" \
  awk -v e="$empty" 'BEGIN{exit !(e >= 11.5 && e <= 14.0)}'

# 3. --align overlap (default) = the oracle's largest-overlap rule
"$PJ" "$TMP/tok.hs" >"$TMP/overlap.hs"
tags_of "$TMP/overlap.hs" >"$TMP/overlap.tags"
zstd -dcq "$G/overlap-tags.txt.zst" >"$TMP/overlap.want"
check_same_file "--align overlap = the oracle's overlap rule on all stories" "$TMP/overlap.tags" "$TMP/overlap.want"

# 4. the real pipe, when tokenize is built: same tags as from the fixture
if [ -x "$BIN/tokenize" ]; then
  if "$BIN/tokenize" "$STORIES" 2>"$TMP/tokenize.err" | "$PJ" --align study -o "$TMP/pipe.hs"; then
    tags_of "$TMP/pipe.hs" >"$TMP/pipe.tags"
    check_same_file "tokenize | postag-join --align study = the study golden" "$TMP/pipe.tags" "$TMP/study.want"
  else
    fail "tokenize | postag-join failed: $(head -c 300 "$TMP/tokenize.err")"
  fi
  # shards tagged with two copies of the model (different paths) join with cat
  "$BIN/tokenize" --take 20 --shard 0/2 "$STORIES" | "$PJ" >"$TMP/shard0.hs"
  cp -r "$TAGGER" "$TMP/tagger-copy"
  "$BIN/tokenize" --take 20 --shard 1/2 "$STORIES" | "$PJ" --tagger "$TMP/tagger-copy" >"$TMP/shard1.hs"
  check_eq "shards tagged from two copies of the model join with cat" \
    "$(cat "$TMP/shard0.hs" "$TMP/shard1.hs" | "$BIN/stream-view" --count)" "20"
else
  skip "tokenize not built: the tokenize | postag-join pipe is not checked"
fi

# 5. header: tagger identity, rule, provenance
hdr=$("$BIN/stream-view" --header "$TMP/study.hs")
want_sha=$(cat "$TAGGER"/averaged_perceptron_tagger_eng.{classes,tagdict,weights}.json | sha256sum | cut -c1-64)
check_eq "header tagger-sha256 = sha256 of classes+tagdict+weights" \
  "$(sed -n 's/^tagger-sha256: //p' <<<"$hdr")" "$want_sha"
check_eq "header names the alignment rule" "$(sed -n 's/^postag-align: //p' <<<"$hdr")" "study"
check "header has postag-join's provenance line" grep -q '^pg: postag-join ' <<<"$hdr"
check_eq "output kind is tagged" "$(sed -n 's/^kind: //p' <<<"$hdr")" "tagged"

# 6. --merge 'VB*=VB': the study's merge; counts add up
"$PJ" --merge 'VB*=VB' "$TMP/tok.hs" >"$TMP/merged.hs"
tags_of "$TMP/merged.hs" >"$TMP/merged.tags"
check "--merge 'VB*=VB' leaves no VBD/VBG/VBN/VBP/VBZ" bash -c "! grep -qE '^VB.' '$TMP/merged.tags'"
n_vb_all=$(grep -cE '^VB' "$TMP/overlap.tags")
check_eq "--merge: every VB* token is now VB" "$(grep -cx VB "$TMP/merged.tags")" "$n_vb_all"
check "--merge records the renaming in the header" \
  bash -c "'$BIN/stream-view' --header '$TMP/merged.hs' | grep -q '^postag-merge: .*VBD=VB'"

# 7. --keep: only the listed tags remain, others become ""
"$PJ" --keep 'NN,VB' --merge 'VB*=VB' "$TMP/tok.hs" | "$BIN/stream-view" --no-header | cut -f7 | sort -u >"$TMP/kept"
check_eq "--keep NN,VB with the merge leaves only NN, VB and \"\"" "$(tr '\n' ' ' <"$TMP/kept")" " NN VB "

# 7b. --merge has probe-fit's grammar (text/tagmap.h): the first matching
# rule wins, patterns match the tag as it was, TAG may be empty
"$PJ" --merge 'VBD=VBD,VB*=VB' "$TMP/tok.hs" >"$TMP/first.hs"
tags_of "$TMP/first.hs" >"$TMP/first.tags"
check_eq "--merge 'VBD=VBD,VB*=VB': VBD kept (first rule wins)" "$(grep -cx VBD "$TMP/first.tags")" "$(grep -cx VBD "$TMP/overlap.tags")"
check_eq "... and every other VB* token is VB" "$(grep -cx VB "$TMP/first.tags")" "$(grep -cE '^VB([^D]|$)' "$TMP/overlap.tags")"
"$PJ" --merge 'VB*=VB' --merge 'VBD=VBD' "$TMP/tok.hs" | tags_of /dev/stdin >"$TMP/later.tags"
check "--merge 'VB*=VB' --merge 'VBD=VBD': the later rule never applies (no VBD left)" bash -c "! grep -qx VBD '$TMP/later.tags'"
check "... the header records the effective renaming (VBD=VBD is no renaming)" \
  bash -c "'$BIN/stream-view' --header '$TMP/first.hs' | grep '^postag-merge: ' | grep -v 'VBD=' | grep -q 'VBZ=VB'"
"$PJ" --merge 'DT=' "$TMP/tok.hs" >"$TMP/nodt.hs"
check_eq "--merge 'DT=': DT tokens lose their tag" "$(tags_of "$TMP/nodt.hs" | grep -cx DT)" "0"
check "... and the header says DT=" bash -c "'$BIN/stream-view' --header '$TMP/nodt.hs' | grep -qx 'postag-merge: DT='"
check_fails "--merge with two '='" "^postag-join: --merge: rule 'VB=V=B': expected PATTERN=TAG" \
  "$PJ" --merge 'VB=V=B' "$TMP/tok.hs" -o "$TMP/out13.hs"

# 8. bad input: one line, non-zero exit, no output left behind
check_fails "missing tagger dir" '^postag-join: .*nonexistent.*cannot open' \
  "$PJ" --tagger "$TMP/nonexistent" "$TMP/tok.hs" -o "$TMP/out1.hs"
mkdir -p "$TMP/corrupt"
cp "$TAGGER"/*.json "$TMP/corrupt/"
head -c 100000 "$TAGGER/averaged_perceptron_tagger_eng.weights.json" >"$TMP/corrupt/averaged_perceptron_tagger_eng.weights.json"
check_fails "corrupt (truncated) weights.json" '^postag-join: .*weights.json: corrupt tagger file' \
  "$PJ" --tagger "$TMP/corrupt" "$TMP/tok.hs" -o "$TMP/out2.hs"
echo '["NN", 3]' >"$TMP/corrupt/averaged_perceptron_tagger_eng.classes.json"
cp "$TAGGER/averaged_perceptron_tagger_eng.weights.json" "$TMP/corrupt/"
check_fails "classes.json with a non-tag" '^postag-join: .*corrupt tagger' \
  "$PJ" --tagger "$TMP/corrupt" "$TMP/tok.hs" -o "$TMP/out3.hs"
"$FIX" --no-text >"$TMP/notext.hs"
check_fails "a stream without story text" '^postag-join: .*no story text' "$PJ" -o "$TMP/out4.hs" "$TMP/notext.hs"
"$FIX" --no-tokens >"$TMP/notok.hs"
check_fails "a story without tokens" '^postag-join: .*has no tokens' "$PJ" -o "$TMP/out5.hs" "$TMP/notok.hs"
"$FIX" --bad-utf8 >"$TMP/badutf8.hs"
check_fails "story text that is not UTF-8" '^postag-join: .*story 0: story text is not valid UTF-8' \
  "$PJ" -o "$TMP/out12.hs" "$TMP/badutf8.hs"
check_fails "--merge to a tag that does not exist" "^postag-join: --merge: tag 'VERB' does not exist" \
  "$PJ" --merge 'VB*=VERB' "$TMP/tok.hs" -o "$TMP/out6.hs"
check_fails "--merge pattern matching no tag" "^postag-join: --merge: pattern 'XY\\*' matches no tag" \
  "$PJ" --merge 'XY*=NN' "$TMP/tok.hs" -o "$TMP/out7.hs"
check_fails "--keep an unknown tag" "^postag-join: --keep: tag 'FOO' does not exist" \
  "$PJ" --keep 'NN,FOO' "$TMP/tok.hs" -o "$TMP/out8.hs"
check_fails "--align with an unknown rule" "^postag-join: --align 'middle'" \
  "$PJ" --align middle "$TMP/tok.hs" -o "$TMP/out9.hs"
head -c 20000 "$TMP/tok.hs" >"$TMP/trunc.hs"
check_fails "a truncated tokens stream" '^postag-join: ' "$PJ" -o "$TMP/out10.hs" "$TMP/trunc.hs"
check_fails "a file that is not a stream (zstd-compressed text)" '^postag-join: ' \
  "$PJ" -o "$TMP/out11.hs" "$G/words.tsv.zst"
check_fails "stdin closed (<&-)" '^postag-join: stdin is closed' sh -c "'$PJ' -o '$TMP/out14.hs' <&-"
check_fails "stdin open for writing only" '^postag-join: stdin is (closed or )?not open for reading' \
  sh -c "'$PJ' -o '$TMP/out15.hs' 0>'$TMP/wo'"
check "no output file left behind by any failure" bash -c "! ls '$TMP'/out*.hs* 2>/dev/null | grep -q ."

#!/usr/bin/env bash
# test_heads.sh: head-scores, logit-lens, ablate and head-stats (docs/heads.md) against
# float64 NumPy references (tests/oracles/ref_heads.py; goldens written by
# tests/oracles/gen_heads_golden.sh), the identities the document states, and
# refusals of bad input.  Needs no Python: the goldens are committed.
#
# Numbers are compared with this rule (the same as ref_heads.py compare):
#   scores, attributions, means (head-stats: group, rest, ratio):
#                                 |got - want| <= 1e-4 * max(|want|, 1e-3)
#     (float32 tools against a float64 reference; the floor keeps values near
#     0, e.g. a grid mean of mixed signs, from asking for more than float32
#     rounding of the terms gives);
#   the loss columns clean, ablated, delta:  |got - want| <= 1e-5 * max(|clean|, 1e-3)
#     (losses are about ln V; a delta is a difference of two of them, so its
#     error is on the scale of the loss, not of the delta; 1e-5 of the loss
#     still lets through no single-head ablation of the goldens as a no-op).
# The generator measured what float32 rounding of the same reference uses of
# these tolerances: at most 2% (losses) and 6% (grid means); head-stats 0.23%
# (bin/head-stats itself: 0.34%, relative errors up to 3.4e-7).
# A "-" (head-stats: an empty group has no mean) must be "-" in both.
# Every non-numeric field must be equal byte for byte; the identity lines
# ("# model: ...", "# model-sha256: ...") and the column line too.  Rows are
# compared in order, except the grid and sweep tables (compare "sorted"),
# whose order within a head docs/heads.md does not fix: they are compared as
# sets keyed by (layer, head, tag); head-stats' too, keyed by (layer, head,
# statistic).  The "# key: value" settings lines are not
# compared (docs/heads.md names no keys).
. "$TOP/tests/sh/lib.sh"
G=$TOP/tests/golden/heads
M=$TMP/models
mkdir -p "$M"

# --- the models: model-init is deterministic ------------------------------------
while IFS=$'\t' read -r name flags wsha csha; do
  case $name in '#'*) continue;; esac
  # shellcheck disable=SC2086
  "$BIN/model-init" $flags -o "$M/$name"
  check_eq "$name: model-init reproduces the golden's weights (sha256)" \
    "$(sha256sum "$M/$name/model.safetensors" | cut -d' ' -f1)" "$wsha"
  check_eq "$name: model-init reproduces the golden's config.json" \
    "$(sha256sum "$M/$name/config.json" | cut -d' ' -f1)" "$csha"
done <"$G/models.tsv"

# --- the streams: 3 mirror stories, tagged as the study does; the quotes stream ----
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOKZ="--vocab $DATA/tokenizer/vocab.json --merges $DATA/tokenizer/merges.txt"
TAGGER=$DATA/nltk/averaged_perceptron_tagger_eng
# shellcheck disable=SC2086
"$BIN/tokenize" $TOKZ --split test --seed 1 --take 3 "$STORIES" >"$TMP/tokens.hs"
"$BIN/postag-join" --tagger "$TAGGER" --align study "$TMP/tokens.hs" >"$TMP/tagged.hs"
"$BIN/stream-import" --kind tagged "$G/quotes-stream.tsv" -o "$TMP/quotes.hs"
while IFS=$'\t' read -r name how sha; do
  case $name in '#'*) continue;; esac
  check_eq "$name stream ($how) = the golden's" \
    "$("$BIN/stream-view" --no-header "$TMP/$name.hs" | sha256sum | cut -d' ' -f1)" "$sha"
done <"$G/streams.tsv"
for m in tiny local; do
  "$BIN/forward-dump" --model "$M/$m" --vectors z "$TMP/tagged.hs" -o "$TMP/$m.acts"
done

# --- the comparison ----------------------------------------------------------------
cat >"$TMP/cmp.awk" <<'EOF'
# awk -v mode=rows|sorted -f cmp.awk WANT GOT: exit 0 when GOT matches WANT
BEGIN {
  FS = "\t"; REL = 1e-4; FLOOR = 1e-3; REL_LOSS = 1e-5
  n = split("induction duplicate previous previous_text attribution mean clean ablated delta group rest ratio", a, " ")
  for (i = 1; i <= n; i++) num[a[i]] = 1
  loss["clean"] = 1; loss["ablated"] = 1; loss["delta"] = 1
}
function bad(msg) { if (++nbad <= 10) print "    " msg }
function isnum(s) { return s ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
function abs(x) { return x < 0 ? -x : x }
FNR == 1 { f++ }
{
  if ($0 ~ /^# model: / || $0 ~ /^# model-sha256: /) { id[f] = id[f] $0 "|"; next }
  if (substr($0, 1, 1) == "#") { if (!nr[f]) col[f] = $0; next }
  r = ++nr[f]; row[f, r] = $0
  if (mode == "sorted") { k = $1 FS $2 FS $3; if ((f, k) in key) dup[f] = k; key[f, k] = r }
}
END {
  if (f < 2) { print "    no output"; exit 1 }
  if (id[1] "" != id[2] "") bad("identity lines: got [" id[2] "], want [" id[1] "]")
  if (col[1] "" != col[2] "") bad("column line: got '" col[2] "', want '" col[1] "'")
  if (nr[1] != nr[2]) bad("got " nr[2] + 0 " rows, want " nr[1] + 0)
  if (dup[1] != "" || dup[2] != "") bad("two rows for " dup[1] dup[2])
  nc = split(substr(col[1], 2), names, "\t")
  cc = 0; for (j = 1; j <= nc; j++) if (names[j] == "clean") cc = j
  for (r = 1; r <= nr[1]; r++) {
    nw = split(row[1, r], w, "\t")
    gr = r
    if (mode == "sorted") {
      k = w[1] FS w[2] FS w[3]
      if (!((2, k) in key)) { bad("no row for " k); continue }
      gr = key[2, k]
    }
    if (!((2, gr) in row)) continue
    ng = split(row[2, gr], g, "\t")
    if (ng != nw) { bad("row " r ": " ng " fields, want " nw); continue }
    for (j = 1; j <= nw; j++) {
      if ((names[j] in num) && w[j] == "-") {
        if (g[j] != "-") bad("row " r " " names[j] ": '" g[j] "', want '-'")
      } else if (names[j] in num) {
        if (!isnum(g[j])) { bad("row " r " " names[j] ": '" g[j] "' is not a number"); continue }
        if (names[j] in loss) tol = REL_LOSS * (abs(w[cc]) > FLOOR ? abs(w[cc]) : FLOOR)
        else tol = REL * (abs(w[j]) > FLOOR ? abs(w[j]) : FLOOR)
        if (abs(g[j] - w[j]) > tol) bad("row " r " " names[j] ": " g[j] ", want " w[j] " (tolerance " tol ")")
      } else if (g[j] "" != w[j] "") bad("row " r " " names[j] ": '" g[j] "', want '" w[j] "'")
    }
  }
  if (nbad > 10) print "    ... " nbad " problems"
  exit nbad > 0
}
EOF
unz() { case $1 in *.zst) zstd -qdc "$1";; *) cat "$1";; esac; }
# same_table GOT WANT MODE: GOT (a file) matches the golden WANT (.tsv or .tsv.zst)
same_table() { awk -v mode="$3" -f "$TMP/cmp.awk" <(unz "$2") "$1"; }
subst() {  # subst MODEL ARGS
  local s=$2
  s=${s//@TOKENS@/$TMP/tokens.hs}; s=${s//@TAGGED@/$TMP/tagged.hs}; s=${s//@QUOTES@/$TMP/quotes.hs}
  s=${s//@ACTS@/$TMP/$1.acts}; s=${s//@TOKENIZER@/$DATA/tokenizer}
  printf '%s' "$s"
}

# --- every golden case ---------------------------------------------------------------
# (fields split on \037: with IFS=tab, read would merge the empty arguments field)
while IFS=$'\037' read -r name model tool args oracle gold cmp; do
  case $name in '#'*) continue;; esac
  what="$name: $tool $args"
  [ "$oracle" = "=" ] || what="$what = the reference's $oracle"
  # shellcheck disable=SC2046
  if "$BIN/$tool" --model "$M/$model" -o "$TMP/$name.out" $(subst "$model" "$args") 2>"$TMP/$name.err"; then
    check "$what (golden $gold)" same_table "$TMP/$name.out" "$G/$gold" "$cmp"
  else
    fail "$what: exit status $?: $(head -c 300 "$TMP/$name.err")"
  fi
done < <(tr '\t' '\037' <"$G/cases.tsv")

# --- the comparison can fail ----------------------------------------------------------
unz "$G/ab-local-zero-L1H2.tsv.zst" >"$TMP/ab.gold"
check "the comparison accepts a golden as itself" same_table "$TMP/ab.gold" "$G/ab-local-zero-L1H2.tsv.zst" rows
awk -F'\t' 'BEGIN { OFS = FS } /^#/ { print; next } { $7 = $6; $8 = 0; print }' "$TMP/ab.gold" >"$TMP/ab.noop"
check "the comparison rejects an ablation that changes nothing" \
  bash -c '! awk -v mode=rows -f "$1" "$2" "$3" >/dev/null' _ "$TMP/cmp.awk" "$TMP/ab.gold" "$TMP/ab.noop"
check "... on every row but those whose |delta| is within 1e-5 of the loss" \
  test "$(awk -v mode=rows -f "$TMP/cmp.awk" "$TMP/ab.gold" "$TMP/ab.noop" | tail -n 1 | tr -dc 0-9)" -ge 1000
check "the comparison tells the two final-LN conventions apart" \
  bash -c '! awk -v mode=sorted -f "$1" <(cat "$2") "$3" >/dev/null' _ "$TMP/cmp.awk" \
  "$G/ll-local-grid-scale.tsv" "$G/ll-local-grid-none.tsv"
# one number 3x the tolerance off is caught, 0.5x is not (the previous score of L1H0)
perturb() { awk -F'\t' -v f="$1" 'BEGIN { OFS = FS } /^#/ { print; next }
  $1 == 1 && $2 == 0 { $5 = sprintf("%.9g", $5 * (1 + f)) } { print }' "$G/hs-local-bos.tsv"; }
perturb 3e-4 >"$TMP/hs.far"
perturb 5e-5 >"$TMP/hs.near"
check "the perturbed copies differ from the golden" test "$(cmp -s "$TMP/hs.far" "$G/hs-local-bos.tsv"; echo $?)$(cmp -s "$TMP/hs.near" "$G/hs-local-bos.tsv"; echo $?)" = 11
check "the comparison rejects a score 3e-4 off (relative)" \
  bash -c '! awk -v mode=rows -f "$1" "$2" "$3" >/dev/null' _ "$TMP/cmp.awk" "$G/hs-local-bos.tsv" "$TMP/hs.far"
check "the comparison accepts a score 5e-5 off (relative)" same_table "$TMP/hs.near" "$G/hs-local-bos.tsv" rows
sed 's/\tNN\t/\tNNS\t/' "$TMP/ab.gold" >"$TMP/ab.tag"
check "the comparison rejects a changed tag" \
  bash -c '! awk -v mode=rows -f "$1" "$2" "$3" >/dev/null' _ "$TMP/cmp.awk" "$TMP/ab.gold" "$TMP/ab.tag"
sed 's/^# model-sha256: ./# model-sha256: x/' "$G/hs-local-bos.tsv" >"$TMP/hs.id"
check "the comparison rejects another model's identity line" \
  bash -c '! awk -v mode=rows -f "$1" "$2" "$3" >/dev/null' _ "$TMP/cmp.awk" "$G/hs-local-bos.tsv" "$TMP/hs.id"

# head-stats' "-" (an empty group) is a value of its own: a number for it, or it for a number, is caught
ST=$G/st-local-tagged.tsv
awk -F'\t' 'BEGIN { OFS = FS } /^#/ { print; next } !done && $4 == "-" { $4 = "0.1"; done = 1 } { print }' "$ST" >"$TMP/st.num"
awk -F'\t' 'BEGIN { OFS = FS } /^#/ { print; next } !done && $6 != "-" { $6 = "-"; done = 1 } { print }' "$ST" >"$TMP/st.dash"
awk -F'\t' 'BEGIN { OFS = FS } /^#/ { print; next } !done && $7 > 0 { $7 = $7 + 1; done = 1 } { print }' "$ST" >"$TMP/st.n"
for v in num dash n; do
  check "the comparison rejects head-stats' golden with one field changed ($v)" \
    bash -c '! cmp -s "$3" "$4" && ! awk -v mode=sorted -f "$1" "$3" "$2" >/dev/null' _ "$TMP/cmp.awk" "$TMP/st.$v" "$ST"
done
check "the comparison accepts head-stats' golden with its rows reversed (compared as a set)" \
  same_table <(grep '^#' "$ST"; grep -v '^#' "$ST" | tac) "$ST" sorted

# --- head-stats: what docs/heads.md implies, on the C tool alone ---------------------
# KSEL any: A_i = the row's mass on its visible keys / their number = B_i, so group = rest
# (the local model's window decides "visible"); activity: tag=NN's group and rest are a
# partition of any's tokens; the thread count changes nothing.
if "$BIN/head-stats" --model "$M/local" --heads all --attention any/any --attention tag=NN/any \
     --activity tag=NN --activity any "$TMP/tagged.hs" -o "$TMP/st-id.tsv" 2>"$TMP/st-id.err"; then
  check_eq "head-stats --attention QSEL/any: group = rest within 1e-6, ratio 1 (24 rows, none off)" \
    "$(awk -F'\t' '!/^#/ && $3 ~ /^attention:/ { n++; d = $4 - $5; if (d < 0) d = -d
         if (d > 1e-6 * $5 || $6 - 1 > 1e-6 || 1 - $6 > 1e-6 || $7 != $8) b++ } END { print n + 0, b + 0 }' "$TMP/st-id.tsv")" "24 0"
  check_eq "head-stats --activity: tag=NN's n_group + n_rest = any's, and its group/rest means average to any's (12 heads)" \
    "$(awk -F'\t' '!/^#/ && $3 == "activity:tag=NN" { s[$1 FS $2] = $4 * $7 + $5 * $8; n[$1 FS $2] = $7 + $8 }
         !/^#/ && $3 == "activity:any" { k = $1 FS $2; m++; d = s[k] - $4 * $7; if (d < 0) d = -d
           if (n[k] != $7 || $8 != 0 || d > 1e-6 * $4 * $7) b++ } END { print m + 0, b + 0 }' "$TMP/st-id.tsv")" "12 0"
  "$BIN/head-stats" --model "$M/local" --heads all --attention any/any --attention tag=NN/any \
    --activity tag=NN --activity any --threads 1 "$TMP/tagged.hs" -o "$TMP/st-id1.tsv"
  check "head-stats --threads 1 and 2 print the same bytes" cmp -s "$TMP/st-id.tsv" "$TMP/st-id1.tsv"
else
  fail "head-stats identities: exit status $?: $(head -c 300 "$TMP/st-id.err")"
fi

# --- --heads none: ablated == clean exactly -------------------------------------------
for mode in zero mean; do
  if "$BIN/ablate" --model "$M/local" --mode "$mode" --heads none "$TMP/tagged.hs" -o "$TMP/none-$mode.tsv" 2>"$TMP/none.err"; then
    check_eq "ablate --mode $mode --heads none: ablated = clean (as strings) and delta = 0 on every row" \
      "$(awk -F'\t' '!/^#/ { n++; if ($6 "" != $7 "" || $8 + 0 != 0) b++ } END { print n + 0, b + 0 }' "$TMP/none-$mode.tsv")" "550 0"
    check "ablate --mode $mode --heads none: clean = the golden's clean losses, ablated = clean" \
      same_table "$TMP/none-$mode.tsv" "$TMP/ab.noop" rows
  else
    fail "ablate --mode $mode --heads none: exit status $?: $(head -c 300 "$TMP/none.err")"
  fi
done

# --- the clean loss = the loss of forward-dump --logits V ------------------------------
# A vocabulary of 300 ids, so --logits 300 prints every logit; the stories are
# made up of ids < 300 (stream-import), one of exactly the model's 64 positions.
"$BIN/model-init" --layers 2 --heads 2 --hidden 8 --vocab 300 --positions 64 --seed 23 -o "$M/small"
awk 'BEGIN { x = 7; n[0] = 40; n[1] = 17; n[2] = 64
  for (s = 0; s < 3; s++) for (p = 0; p < n[s]; p++) { x = (x * 75 + 74) % 65537; printf "%d\t%d\t%d\t%d\t%d\tw\n", s, p, x % 300, p, p + 1 } }' |
  "$BIN/stream-import" --kind tokens -o "$TMP/small.hs"
"$BIN/forward-dump" --model "$M/small" --logits 300 "$TMP/small.hs" -o "$TMP/small.logits"
# loss[t] = logsumexp(logits[t]) - logits[t][ids[t+1]], from the printed logits
awk -F'\t' '!/^#/ {
    if (NF != 305) { print "bad line: " NF " fields"; exit 1 }
    if ($1 == ps && $2 == pp + 1) printf "%s\t%s\t%.9g\n", ps, pp, lse - lg[$3]
    split("", lg); mx = -1e300
    for (i = 6; i <= NF; i++) { split($i, kv, ":"); lg[kv[1]] = kv[2] + 0; if (kv[2] + 0 > mx) mx = kv[2] + 0 }
    s = 0; for (k in lg) s += exp(lg[k] - mx); lse = mx + log(s); ps = $1; pp = $2 }' "$TMP/small.logits" >"$TMP/small.fdloss"
check_eq "forward-dump --logits 300: 118 next-token losses recomputed in awk" "$(wc -l <"$TMP/small.fdloss")" 118
if "$BIN/ablate" --model "$M/small" --mode zero --heads none "$TMP/small.hs" -o "$TMP/small.ab" 2>"$TMP/small.err"; then
  check_eq "ablate's clean loss = logsumexp - logit of the next id from forward-dump's logits (within 1e-5)" \
    "$(paste "$TMP/small.fdloss" <(grep -v '^#' "$TMP/small.ab") |
       awk -F'\t' '{ n++; d = $3 - $9; if (d < 0) d = -d; if (d > 1e-5 || $1 != $4 || $2 != $5) b++ } END { print n + 0, b + 0 }')" "118 0"
else
  fail "ablate on the vocabulary-300 model: exit status $?: $(head -c 300 "$TMP/small.err")"
fi

# --- bad input: one line on stderr, non-zero exit, nothing written ------------------------
"$BIN/model-init" --layers 1 --heads 2 --hidden 8 --vocab 50257 --positions 64 --seed 24 -o "$M/short"
printf 'Once upon a time there was a cat.\n<|endoftext|>\n<|endoftext|>\nThe cat sat.\n' >"$TMP/zero.txt"
# shellcheck disable=SC2086
"$BIN/tokenize" $TOKZ --keep-empty "$TMP/zero.txt" >"$TMP/zero.hs"
"$BIN/postag-join" --tagger "$TAGGER" --align study "$TMP/zero.hs" >"$TMP/zero.tagged"
check_eq "the 0-token story is in the stream (3 stories)" "$("$BIN/stream-view" --count "$TMP/zero.tagged")" 3
LOC=$M/local TOKDIR=$DATA/tokenizer
# refuse WHAT PATTERN TOOL ARGS...: TOOL ARGS -o FILE exits non-zero with one
# stderr line "TOOL: ..." matching PATTERN, and writes neither FILE nor stdout
refuse() {
  local what="$3: $1" pat=$2 tool=$3 n; shift 3
  rm -f "$TMP/refused.out"
  if "$BIN/$tool" "$@" -o "$TMP/refused.out" >"$TMP/rf.out" 2>"$TMP/rf.err"; then fail "$what (exit 0)"; return; fi
  n=$(wc -l <"$TMP/rf.err")
  if [ "$n" -ne 1 ]; then fail "$what ($n stderr lines)"; sed 's/^/    /' "$TMP/rf.err" | head -n 5; return; fi
  # the pattern must match the message, not a file name in it
  if ! sed "s#$TMP/[^ :]*#FILE#g" "$TMP/rf.err" | grep -qE -- "^$tool: .*($pat)"; then fail "$what: $(cat "$TMP/rf.err")"; return; fi
  if [ -e "$TMP/refused.out" ] || [ -s "$TMP/rf.out" ]; then fail "$what: an output was written"; return; fi
  ok "$what: one line, no output ($(cat "$TMP/rf.err"))"
}
refuse "a head the model does not have (--heads L99H0)" 'L99H0|99' logit-lens --model "$LOC" --final-ln none --top 2 --heads L99H0 --tokenizer "$TOKDIR" "$TMP/tagged.hs"
refuse "a head the model does not have, grid (--heads L99H0)" 'L99H0|99' logit-lens --model "$LOC" --final-ln scale --grid --heads L99H0 "$TMP/tagged.hs"
refuse "a head the model does not have (--heads L0H0,L99H0)" 'L99H0|99' ablate --model "$LOC" --mode zero --heads L0H0,L99H0 "$TMP/tagged.hs"
refuse "a head the model does not have (--heads L1H4)" 'L1H4|head' ablate --model "$LOC" --mode mean --heads L1H4 "$TMP/tagged.hs"
refuse "activations of another model" 'model|sha256' logit-lens --model "$LOC" --final-ln none --top 2 --tokenizer "$TOKDIR" "$TMP/tiny.acts"
refuse "activations of another model, grid" 'model|sha256' logit-lens --model "$LOC" --final-ln none --grid "$TMP/tiny.acts"
refuse "activations of another model" 'model|sha256' ablate --model "$LOC" --mode zero --heads L0H0 "$TMP/tiny.acts"
refuse "activations of another model (--text)" 'model|sha256' head-scores --model "$LOC" --seq-len 5 --batch 1 --text "$TMP/tiny.acts"
# A 0-token story is a valid stream (tokenize --keep-empty writes it): it is
# left out, the other stories give the rows they give alone (issue 15, kind 5)
"$BIN/tokenize" $TOKZ "$TMP/zero.txt" >"$TMP/nozero.hs"   # the same two stories (0 and 2), no empty one
"$BIN/postag-join" --tagger "$TAGGER" --align study "$TMP/nozero.hs" >"$TMP/nozero.tagged"
# accept WHAT IN_WITH IN_WITHOUT TOOL ARGS...: exit 0, nothing on stderr, and
# the rows equal those of the stream without the empty story
accept() {
  local what="$4: $1" with=$2 without=$3 tool=$4; shift 4
  if ! "$BIN/$tool" "$@" "$with" >"$TMP/acc.out" 2>"$TMP/acc.err" || [ -s "$TMP/acc.err" ]; then
    fail "$what: $(head -c 300 "$TMP/acc.err")"; return; fi
  "$BIN/$tool" "$@" "$without" >"$TMP/acc.want" 2>/dev/null
  if cmp -s <(grep -v '^#' "$TMP/acc.out") \
            <(grep -v '^#' "$TMP/acc.want") && [ -s "$TMP/acc.want" ]; then ok "$what"; else fail "$what: rows differ"; fi
}
accept "a 0-token story is left out" "$TMP/zero.hs" "$TMP/nozero.hs" logit-lens --model "$LOC" --final-ln none --top 2 --tokenizer "$TOKDIR"
accept "a 0-token story is left out (grid)" "$TMP/zero.tagged" "$TMP/nozero.tagged" logit-lens --model "$LOC" --final-ln scale --grid
accept "a 0-token story is left out" "$TMP/zero.tagged" "$TMP/nozero.tagged" ablate --model "$LOC" --mode zero --heads L0H0
accept "a 0-token story is left out (--sweep)" "$TMP/zero.tagged" "$TMP/nozero.tagged" ablate --model "$LOC" --mode mean --sweep
accept "a 0-token story is left out (--text)" "$TMP/zero.tagged" "$TMP/nozero.tagged" head-scores --model "$LOC" --seq-len 5 --batch 1 --text
accept "a 0-token story is left out" "$TMP/zero.tagged" "$TMP/nozero.tagged" head-stats --model "$LOC" --heads all --activity tag=NN --attention any/tag=DT
for z in zero nozero; do "$BIN/forward-dump" --model "$LOC" --vectors q,k,z,a "$TMP/$z.tagged" -o "$TMP/$z.acts"; done
accept "a 0-token story is left out" "$TMP/zero.acts" "$TMP/nozero.acts" activity --heads all
accept "a 0-token story is left out (--model)" "$TMP/zero.acts" "$TMP/nozero.acts" activity --model "$LOC" --heads L1H1
accept "a 0-token story is left out" "$TMP/zero.acts" "$TMP/nozero.acts" attn-slice --layer 1 --head 0
printf '<|endoftext|>\n<|endoftext|>\n' >"$TMP/allzero.txt"
# shellcheck disable=SC2086
"$BIN/tokenize" $TOKZ --keep-empty "$TMP/allzero.txt" >"$TMP/allzero.hs"
refuse "a stream of 0-token stories only" '0 tokens|no tokens|nothing' logit-lens --model "$LOC" --final-ln none --top 2 --tokenizer "$TOKDIR" "$TMP/allzero.hs"
refuse "a stream of 0-token stories only" '0 tokens|no tokens|nothing' ablate --model "$LOC" --mode zero --heads L0H0 "$TMP/allzero.hs"
refuse "--top: no tokenizer (before any output)" 'tokenizer' logit-lens --model "$LOC" --final-ln none --top 2 --tokenizer "$TMP" "$TMP/tagged.hs"
refuse "--positions outside a story (before any output)" 'positions|outside' logit-lens --model "$LOC" --final-ln none --top 2 --tokenizer "$TOKDIR" --positions 0:400 "$TMP/tagged.hs"
refuse "a story longer than the model's 64 positions" 'exceed|positions|longer' logit-lens --model "$M/short" --final-ln none --top 2 --tokenizer "$TOKDIR" "$TMP/tagged.hs"
refuse "a story longer than the model's 64 positions" 'exceed|positions|longer' ablate --model "$M/short" --mode zero --heads L0H1 "$TMP/tagged.hs"
refuse "a story longer than the model's 64 positions (--text)" 'exceed|positions|longer' head-scores --model "$M/short" --seq-len 5 --batch 1 --text "$TMP/tagged.hs"
refuse "sequences longer than the model's 64 positions (--seq-len 40: 80 tokens)" 'exceed|positions|longer|seq-len' head-scores --model "$M/short" --seq-len 40 --batch 1
refuse "a pool smaller than --seq-len (11 distinct ids, --seq-len 20)" 'pool|distinct|seq-len' head-scores --model "$LOC" --seq-len 20 --batch 1 --tokens-from "$TMP/zero.hs"
refuse "--grid without tags (a tokens stream)" 'tag' logit-lens --model "$LOC" --final-ln none --grid "$TMP/tokens.hs"
HSA=(head-stats --model "$LOC" --heads all)
refuse "a selector that does not parse (--activity foo)" 'selector' "${HSA[@]}" --activity foo "$TMP/tagged.hs"
refuse "a selector that does not parse (--attention quote/tags=NN)" 'selector' "${HSA[@]}" --attention quote/tags=NN "$TMP/tagged.hs"
refuse "an empty tag name in a selector (--activity tag=NN,)" 'empty tag' "${HSA[@]}" --activity tag=NN, "$TMP/tagged.hs"
refuse "--attention without '/' (--attention quote)" 'QSEL/KSEL' "${HSA[@]}" --attention quote "$TMP/tagged.hs"
refuse "a head the model does not have (--heads L99H0)" 'L99H0|99' head-stats --model "$LOC" --heads L99H0 --activity any "$TMP/tagged.hs"
refuse "a head the model does not have (--heads L1H4)" 'L1H4|head' head-stats --model "$LOC" --heads L0H0,L1H4 --activity any "$TMP/tagged.hs"
refuse "a head list that does not parse (--heads L2X)" "'L2X' is not a head" head-stats --model "$LOC" --heads L2X --activity any "$TMP/tagged.hs"
refuse "an untagged tokens stream" 'POS tags|tagged' "${HSA[@]}" --activity quote "$TMP/tokens.hs"
refuse "nothing to measure" 'nothing to measure' "${HSA[@]}" "$TMP/tagged.hs"
refuse "activations of another model" 'model|sha256' "${HSA[@]}" --activity any "$TMP/tiny.acts"
refuse "a story longer than the model's 64 positions" 'exceed|positions|longer' head-stats --model "$M/short" --heads all --activity any "$TMP/tagged.hs"
"$BIN/postag-join" --tagger "$TAGGER" --align study "$TMP/allzero.hs" >"$TMP/allzero.tagged"
refuse "a stream of 0-token stories only" '0 tokens|no tokens|nothing' "${HSA[@]}" --activity any "$TMP/allzero.tagged"
check_eq "the pool of that check really has 11 distinct ids" \
  "$("$BIN/stream-view" --no-header "$TMP/zero.hs" | cut -f3 | sort -u | wc -l)" 11

# --- help and version -------------------------------------------------------------------
for t in head-scores logit-lens ablate head-stats; do
  check "$t --help shows an example and exits 0" grep -q 'example' <("$BIN/$t" --help 2>&1)
  check_eq "$t --version" "$("$BIN/$t" --version 2>&1)" "$t 0.1.0"
done

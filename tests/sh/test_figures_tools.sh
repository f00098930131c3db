# test_figures_tools.sh: activity and attn-slice against the NumPy reference
# forward (goldens from tests/oracles/gen_figures_golden.sh), attention masks
# and row sums, the appendix aggregates, stream-import, and bad input.
. tests/sh/lib.sh
G=$TOP/tests/golden/figures
FLAGS=$(cut -f1 "$G/model.tsv"); WSHA=$(cut -f2 "$G/model.tsv")
# shellcheck disable=SC2086
"$BIN/model-init" $FLAGS -o "$TMP/m" >/dev/null
check_eq "model-init still makes the golden's test model" "$(sha256sum "$TMP/m/model.safetensors" | cut -d' ' -f1)" "$WSHA"
"$BIN/model-init" --layers 3 --heads 4 --hidden 16 --inner 40 --vocab 300 --positions 64 --window 5 --seed 99 -o "$TMP/other" >/dev/null

# --- stream-import ----------------------------------------------------------
check "stream-import builds a tagged stream" "$BIN/stream-import" -o "$TMP/tagged.hs" "$G/input.tsv"
check_eq "stream-import: two stories" "$("$BIN/stream-view" --count "$TMP/tagged.hs")" 2
"$BIN/stream-view" --no-header "$TMP/tagged.hs" >"$TMP/view1"
"$BIN/stream-import" <"$TMP/view1" | "$BIN/stream-view" --no-header >"$TMP/view2"
check_same_file "stream-view | stream-import | stream-view round-trips" "$TMP/view1" "$TMP/view2"
check_fails "stream-import: a span that disagrees with the text" 'stream-import: .*:1: span 0..3 does not match' "$BIN/stream-import" <(printf '0\t0\t5\t0\t3\tHi\tUH\n')
check_fails "stream-import: positions must count up" 'stream-import: .*:2: story 0: pos 2, expected 1' "$BIN/stream-import" <(printf '0\t0\t5\t0\t2\tHi\tUH\n0\t2\t5\t2\t4\tHo\tUH\n')
check_fails "stream-import: wrong field count" 'stream-import: .*want 6 or 7' "$BIN/stream-import" <(printf 'a\tb\n')

# --- activations from the test model --------------------------------------
"$BIN/forward-dump" --model "$TMP/m" --vectors q,k,z,a -o "$TMP/acts.hs" "$TMP/tagged.hs"
"$BIN/forward-dump" --model "$TMP/m" --vectors q -o "$TMP/q.hs" "$TMP/tagged.hs"
"$BIN/forward-dump" --model "$TMP/m" --vectors k,z --layers 1 --heads 2 -o "$TMP/kz.hs" "$TMP/tagged.hs"

# cmp_rel WHAT FILE: FILE has "keys... got | keys... want" (paste); columns
# given as awk program args: nk = number of key columns, value follows keys.
cmp_rel() {  # WHAT NKEYS GOTFILE WANTFILE
  local what=$1 nk=$2
  local res
  res=$(paste "$3" "$4" | awk -F'\t' -v nk="$nk" '
    { n = nk + 1; for (i = 1; i <= nk; i++) if ($i != $(i + n)) { bad++; if (!first) first = NR }
      g = $(nk + 1); w = $(2 * nk + 2); d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w
      r = a > 0 ? d / a : d; if (r > m) m = r; if (r > 1e-5) { over++; if (!fo) fo = NR } }
    END { printf "%d %d %d %.3g %d %d\n", NR, bad + 0, over + 0, m, first + 0, fo + 0 }')
  local n bad over m first fo; read -r n bad over m first fo <<<"$res"
  if [ "$n" -gt 0 ] && [ "$bad" = 0 ] && [ "$over" = 0 ] && [ "$(wc -l <"$3")" = "$(wc -l <"$4")" ]; then
    ok "$what ($n values, max relative error $m)"
  else
    fail "$what: $n rows, $bad key mismatches (first row $first), $over beyond 1e-5 (first row $fo), max $m"
  fi
}

# activity: from z and W_O, and from the dumped 'a' floats
"$BIN/activity" --model "$TMP/m" --heads all "$TMP/acts.hs" >"$TMP/act.tsv"
check "activity's table names the test model" grep -q '^# model: random-test-model seed 12 (not TinyStories-1M' "$TMP/act.tsv"
grep -v '^#' "$TMP/act.tsv" | cut -f1,2,5,6,7 >"$TMP/act.got"
cmp_rel "activity from z and W_O = reference ||W_O[:,h] z_h|| within 1e-5 relative" 4 "$TMP/act.got" "$G/activity.tsv"
"$BIN/activity" --heads all "$TMP/acts.hs" | grep -v '^#' | cut -f1,2,5,6,7 >"$TMP/act2.got"
cmp_rel "activity from dumped a floats = reference within 1e-5 relative" 4 "$TMP/act2.got" "$G/activity.tsv"
"$BIN/activity" --model "$TMP/m" --layer 1 --head 2 --story 8 --window 3:6 "$TMP/acts.hs" >"$TMP/act3.tsv"
check_eq "--layer/--head --story --window select rows" "$(grep -v '^#' "$TMP/act3.tsv" | cut -f1,2,5,6 | tr '\t\n' ', ')" "8,3,1,2 8,4,1,2 8,5,1,2 "
check_eq "activity rows carry token, tag and the study's label" "$(grep -v '^#' "$TMP/act3.tsv" | head -1 | cut -f3,4,8)" "$(printf 'the\tDT\tthe (DT)')"

# attention rows: every head, every query, keys 0..T-1
"$BIN/attn-slice" --heads all -o "$TMP/attn.tsv" "$TMP/acts.hs"
check "attn-slice's table names the test model" grep -q '^# model: random-test-model seed 12 (not TinyStories-1M' "$TMP/attn.tsv"
grep -v '^#' "$TMP/attn.tsv" | awk -F'\t' '$5 <= $4' | cut -f1-6 >"$TMP/attn.got"
zstd -dc "$G/attn.tsv.zst" | cut -f1-6 >"$TMP/attn.want"
cmp_rel "attention rows = reference softmax within 1e-5 relative" 5 "$TMP/attn.got" "$TMP/attn.want"
check_eq "visible flags = the reference mask (causal, window 5 on layers 0 and 2)" \
  "$(grep -v '^#' "$TMP/attn.tsv" | awk -F'\t' '$5 <= $4' | cut -f7 | md5sum)" "$(zstd -dc "$G/attn.tsv.zst" | cut -f7 | md5sum)"
check_eq "every attention row sums to 1 (within 1e-6)" "$(grep -v '^#' "$TMP/attn.tsv" | awk -F'\t' '
  { k = $1 " " $2 " " $3 " " $4; s[k] += $6 }
  END { for (k in s) { n++; d = s[k] - 1; if (d < 0) d = -d; if (d > 1e-6) bad++ } print n, bad + 0 }')" "828 0"
check_eq "future keys get 0 and are marked invisible" "$(grep -v '^#' "$TMP/attn.tsv" | awk -F'\t' '$5 > $4 && ($6 != 0 || $7 != 0)' | wc -l)" 0
check_eq "local layers: keys i-j >= 5 get exactly 0, i-j < 5 are visible" "$(grep -v '^#' "$TMP/attn.tsv" | awk -F'\t' '
  ($2 == 0 || $2 == 2) && $5 <= $4 { far = ($4 - $5 >= 5); if (far && ($6 != 0 || $7 != 0)) bad++; if (!far && $7 != 1) bad++; if (far) masked++ }
  END { print bad + 0, (masked > 1000) }')" "0 1"
check_eq "global layer 1 sees every earlier key with attention > 0" "$(grep -v '^#' "$TMP/attn.tsv" | awk -F'\t' '$2 == 1 && $5 <= $4 && ($7 != 1 || $6 <= 0)' | wc -l)" 0

# rows mode selections
"$BIN/attn-slice" --heads L2H1 --story 3 --query 20,22-23 --window 10:25 "$TMP/acts.hs" | grep -v '^#' >"$TMP/sel.tsv"
check_eq "--query/--window give queries x window keys" "$(cut -f4 "$TMP/sel.tsv" | uniq -c | awk '{printf "%s:%s ", $2, $1}')" "20:15 22:15 23:15 "
check_eq "rows carry qlabel, klabel and qword" "$(awk -F'\t' '$4 == 20 && $5 == 20' "$TMP/sel.tsv" | cut -f8-12)" \
  "$(grep -v '^#' "$TMP/act.tsv" | awk -F'\t' '$1 == 3 && $2 == 20 && $5 == 0 && $6 == 0 { printf "%s\t%s\t%s\t%s\t%s", $4, $4, $8, $8, $3 }')"
"$BIN/attn-slice" --layer 2 --head 1 --story 3 --query 23 "$TMP/acts.hs" | grep -v '^#' >"$TMP/q23.tsv"
check_eq "one query: keys 0..query by default" "$(wc -l <"$TMP/q23.tsv")" 24

# appendix aggregates
"$BIN/attn-slice" --heads all --story 3,8 --from-tag 'PRP$' "$TMP/acts.hs" >"$TMP/from.tsv"
check "aggregate table says what it averages" grep -qx '# from tag PRP\$' "$TMP/from.tsv"
grep -v '^#' "$TMP/from.tsv" | awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $5, $7, $4 }' >"$TMP/from.got"
awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $5, $7, $4 }' "$G/from-PRPS.tsv" >"$TMP/from.want"
cmp_rel "average attention from PRP\$ (mean, pairs, tokens) = reference" 5 "$TMP/from.got" "$TMP/from.want"
"$BIN/attn-slice" --heads all --to-tag NN "$TMP/acts.hs" | grep -v '^#' | awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $5, $7, $6 }' >"$TMP/to.got"
awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $5, $7, $6 }' "$G/to-NN.tsv" >"$TMP/to.want"
cmp_rel "attention to NN (sums, pairs, tokens) = reference" 5 "$TMP/to.got" "$TMP/to.want"

# long story on TinyStories-1M's shape: window 256 on local layer 1
LFLAGS=$(cut -f1 "$G/long-model.tsv")
# shellcheck disable=SC2086
"$BIN/model-init" $LFLAGS -o "$TMP/l" >/dev/null
check_eq "model-init still makes the long case's model" "$(sha256sum "$TMP/l/model.safetensors" | cut -d' ' -f1)" "$(cut -f2 "$G/long-model.tsv")"
"$BIN/stream-import" "$G/long-input.tsv" | "$BIN/forward-dump" --model "$TMP/l" --vectors q,k,z --layers 0,1 -o "$TMP/long.hs"
"$BIN/attn-slice" --heads L1H3,L0H5 --query 250-299 --window 0:300 "$TMP/long.hs" | grep -v '^#' >"$TMP/long.tsv"
awk -F'\t' '$5 <= $4' "$TMP/long.tsv" | cut -f1-6 >"$TMP/long.got"
zstd -dc "$G/long-attn.tsv.zst" | cut -f1-6 >"$TMP/long.want"
cmp_rel "300 tokens, window 256: attention rows = reference within 1e-5 relative" 5 "$TMP/long.got" "$TMP/long.want"
check_eq "window 256: on local L1 query 299 sees keys 44..299 only; global L0 sees 0..299" \
  "$(awk -F'\t' '$4 == 299 && $7 == 1 { n[$2]++; if (!($2 in lo)) lo[$2] = $5 } END { print lo[1], n[1], lo[0], n[0] }' "$TMP/long.tsv")" "44 256 0 300"
check_eq "window 256: masked keys get exactly 0, rows sum to 1" "$(awk -F'\t' '
  { s[$2 " " $4] += $6; if ($7 == 0 && $6 != 0) bad++ }
  END { for (k in s) { d = s[k] - 1; if (d < 0) d = -d; if (d > 1e-6) bad++; n++ } print n, bad + 0 }' "$TMP/long.tsv")" "100 0"
"$BIN/activity" --model "$TMP/l" --heads L1H3 "$TMP/long.hs" | grep -v '^#' | cut -f1,2,5,6,7 >"$TMP/long-act.got"
cmp_rel "300 tokens: activity of L1H3 = reference within 1e-5 relative" 4 "$TMP/long-act.got" "$G/long-activity.tsv"

# --- bad input: one line, non-zero exit, nothing half-written --------------
A=$TMP/acts.hs
check_fails "layer out of range" 'attn-slice: L3H0: layer 3 is out of range \(the model has 3 layers\)' "$BIN/attn-slice" --heads L3H0 "$A"
check_fails "head out of range" 'activity: L0H4: head 4 is out of range \(the model has 4 heads\)' "$BIN/activity" --model "$TMP/m" --heads L0H4 "$A"
check_fails "query index out of range" 'attn-slice: --query 40 is outside story 3 \(40 tokens\)' "$BIN/attn-slice" --heads L0H0 --story 3 --query 40 "$A"
check_fails "token window out of range" 'activity: --window: token window 30:41 is outside story 3 \(40 tokens\)' "$BIN/activity" --heads L0H0 --story 3 --window 30:41 "$A"
check_fails "a story not in the stream" 'attn-slice: story 5 is not in the stream' "$BIN/attn-slice" --heads L0H0 --story 5 "$A"
check_fails "activations without k" 'attn-slice: .*no k vector for L1H1 .*--vectors q,k' "$BIN/attn-slice" --heads L1H1 "$TMP/q.hs"
check_fails "activations without the head asked for" 'attn-slice: .*no q vector for L1H3' "$BIN/attn-slice" --heads L1H3 "$TMP/kz.hs"
check_fails "activity without z" 'activity: .*no z vector for L0H0 .*--vectors z' "$BIN/activity" --model "$TMP/m" --heads L0H0 "$TMP/q.hs"
check_fails "activity from z needs the model" 'activity: activity from z vectors needs .*--model' "$BIN/activity" --heads L1H2 "$TMP/kz.hs"
check_fails "another model's W_O is refused" 'activity: --model .* is not the model of the activations' "$BIN/activity" --model "$TMP/other" --heads L0H0 "$A"
check_fails "a tagged stream is not activations" 'attn-slice: .*is a tagged stream; expected activations' "$BIN/attn-slice" --heads L0H0 "$TMP/tagged.hs"
check_fails "a bad head spec" "activity: --heads: 'X2' is not a head" "$BIN/activity" --heads L0H0,X2 "$A"
check_fails "no tag in the stories" 'attn-slice: no token is tagged WP' "$BIN/attn-slice" --heads L0H0 --from-tag WP "$A"
check_fails "from and to together" 'attn-slice: give --from-tag or --to-tag, not both' "$BIN/attn-slice" --heads L0H0 --from-tag NN --to-tag NN "$A"
check_fails "an unknown option" "activity: unknown option .--bogus" "$BIN/activity" --bogus
check_fails "a truncated stream" 'attn-slice: .*truncated' "$BIN/attn-slice" --heads L0H0 <(head -c 2000 "$A")
"$BIN/activity" --heads L0H0 --story 3,5 -o "$TMP/half.tsv" "$A" 2>/dev/null
check_eq "an error leaves no half-written table" "$(ls "$TMP" | grep -c half)" 0
check_eq "--version" "$("$BIN/attn-slice" --version)" "attn-slice 0.1.0"
check_fails "a bad token window" "activity: --window: '9:3' is empty|activity: --window: window '9:3' is empty" "$BIN/activity" --heads L0H0 --window 9:3 "$A"
check_fails "a bad story list" "attn-slice: --story: 'x1' is not a story list" "$BIN/attn-slice" --heads L0H0 --story x1 "$A"
check_fails "--heads and --layer together" "activity: give --heads or --layer/--head, not both" "$BIN/activity" --heads L0H0 --layer 1 --head 1 "$A"
# non-finite floats in a stream are refused by the tools that compute with
# them (issue 15, kind 1): a float of the last story made NaN / -Inf by a
# test helper (the stream otherwise well formed)
last=$("$BIN/stream-view" --no-header "$A" | tail -1 | cut -f1)
"$TESTBIN/helpers/stream-set-float" "$A" "$TMP/nan.hs" "$last" 1 2 nan
"$TESTBIN/helpers/stream-set-float" "$A" "$TMP/inf.hs" "$last" 1 0 -inf
check_eq "stream-view still shows a stream holding NaN" "$("$BIN/stream-view" --no-header "$TMP/nan.hs" | grep -c nan)" 1
for t in activity attn-slice; do
  check_fails "$t: a NaN in the stream is refused, naming story and position" "$t: .*story [0-9]+, position [0-9]+: .*NaN" "$BIN/$t" --heads all "$TMP/nan.hs"
  check_fails "$t: a -Inf in the stream is refused" "$t: .*story [0-9]+, position [0-9]+: .*-Inf" "$BIN/$t" --heads all "$TMP/inf.hs"
done
check_fails "probe-fit: a NaN in a probed vector is refused, naming story and token" 'probe-fit: .*story [0-9]+, token [0-9]+: non-finite' "$BIN/probe-fit" --layers 0 --heads 0 --vectors q -o "$TMP/nan.probes" "$TMP/nan.hs"
for t in activity attn-slice report-grid stream-import; do
  check "$t --help shows usage and an example" bash -c "'$BIN/$t' --help | grep -q '^example:'"
done

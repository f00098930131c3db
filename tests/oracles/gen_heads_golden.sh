#!/usr/bin/env bash
# gen_heads_golden.sh: regenerate tests/golden/heads/ from the float64 NumPy
# references of head-scores, logit-lens, ablate and head-stats
# (tests/oracles/ref_heads.py, on ref_gptneo.py's forward), written from
# docs/heads.md.
#
# Needs: bin/model-init, bin/tokenize, bin/postag-join, bin/forward-dump,
# bin/stream-view (`make`), the pinned inputs (`make data MIRROR=...`: the
# tokenizer, the NLTK tagger, the mirror stories), Debian's /usr/bin/python3
# with python3-numpy, and zstd.  The C tools under test are not used.
#
#   tests/oracles/gen_heads_golden.sh          (about 2 minutes on 2 cores)
#   tests/oracles/gen_heads_golden.sh st-      only the cases whose name starts with st-
#       (the other goldens are left as they are; models.tsv, streams.tsv and
#       cases.tsv are written whole, the same bytes for the cases left alone)
#
# What it writes (tests/sh/test_heads.sh reads it, without Python):
#   models.tsv   name, model-init flags, sha256 of model.safetensors and config.json
#   streams.tsv  name, how it is made, sha256 of its rows as `stream-view --no-header` prints them
#   quotes-stream.tsv  (an input, not generated: the rows of the @QUOTES@ stream)
#   cases.tsv    name, model, tool, arguments, the oracle's sub-command (= the same), golden
#                file, how rows are compared (rows: in order; sorted: as a set keyed by
#                layer, head, tag)
#   NAME.tsv or NAME.tsv.zst (over 16 KB)   the table, in docs/heads.md's layout
# Placeholders in arguments: @TOKENS@ @TAGGED@ @QUOTES@ (the streams below), @ACTS@
# (forward-dump --vectors z of the case's model on @TAGGED@), @TOKENIZER@ (the tokenizer
# directory).  Arguments are split on blanks, never unquoted: no shell quoting in them.
#
# Every case is also run through the same reference in float32 and compared with the
# float64 golden by the test's rule (ref_heads.py compare): the table below shows how
# much of the tolerance a float32 implementation's rounding can be expected to use.
# Then ref_heads.py self-check runs on both models.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/tests/golden/heads
BIN=$TOP/bin
DATA=${DATA:-$TOP/data/cache}
PY=/usr/bin/python3
REF=$TOP/tests/oracles/ref_heads.py
ONLY=${1:-}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
mkdir -p "$OUT"
if [ -z "$ONLY" ]; then
  find "$OUT" -maxdepth 1 \( -name '*.tsv' -o -name '*.tsv.zst' \) ! -name quotes-stream.tsv -delete
fi

# --- models (random, deterministic from the flags) ------------------------------
# tiny: 2 layers of 2 heads, sharper attention (std 0.3), window larger than the stories.
# local: layers local,global,local with a 5-token window: the window decides most scores.
declare -A MODEL=(
  [tiny]="--layers 2 --heads 2 --hidden 8 --vocab 50257 --positions 512 --window 256 --std 0.3 --seed 21"
  [local]="--layers 3 --heads 4 --hidden 16 --vocab 50257 --positions 512 --window 5 --attention local,global,local --seed 22"
)
printf '# name\tmodel-init flags\tweights-sha256\tconfig-sha256\n' >"$OUT/models.tsv"
for name in tiny local; do
  # shellcheck disable=SC2086
  "$BIN/model-init" ${MODEL[$name]} -o "$TMP/$name"
  printf '%s\t%s\t%s\t%s\n' "$name" "${MODEL[$name]}" \
    "$(sha256sum "$TMP/$name/model.safetensors" | cut -d' ' -f1)" \
    "$(sha256sum "$TMP/$name/config.json" | cut -d' ' -f1)" >>"$OUT/models.tsv"
done

# --- streams: 3 mirror stories of the test split, tagged as the study does --------
TOK="--vocab $DATA/tokenizer/vocab.json --merges $DATA/tokenizer/merges.txt"
"$BIN/tokenize" $TOK --split test --seed 1 --take 3 "$DATA/stories/tinystories-train-first2316.txt" >"$TMP/tokens.hs"
"$BIN/postag-join" --tagger "$DATA/nltk/averaged_perceptron_tagger_eng" --align study "$TMP/tokens.hs" >"$TMP/tagged.hs"
for m in tiny local; do
  "$BIN/forward-dump" --model "$TMP/$m" --vectors z "$TMP/tagged.hs" -o "$TMP/$m.acts"
done
# ... and (head-stats' quote selector at its edges) a small tagged stream from committed rows
"$BIN/stream-import" --kind tagged "$OUT/quotes-stream.tsv" -o "$TMP/quotes.hs"
rows_sha() { "$BIN/stream-view" --no-header "$1" | sha256sum | cut -d' ' -f1; }
{
  printf '# name\thow\trows-sha256 (stream-view --no-header)\n'
  printf 'tokens\ttokenize --split test --seed 1 --take 3 tinystories-train-first2316.txt\t%s\n' "$(rows_sha "$TMP/tokens.hs")"
  printf 'tagged\tpostag-join --align study (of tokens)\t%s\n' "$(rows_sha "$TMP/tagged.hs")"
  printf 'quotes\tstream-import --kind tagged quotes-stream.tsv\t%s\n' "$(rows_sha "$TMP/quotes.hs")"
} >"$OUT/streams.tsv"

# --- cases: name | model | tool | arguments | oracle sub-command (= same) | compare ----
cases=(
  # head-scores: defaults (all 50,257 ids, 10 x 50, seed 1); --bos; a pool from a stream; --text
  "hs-tiny-default|tiny|head-scores||=|rows"
  "hs-local-bos|local|head-scores|--seq-len 20 --batch 4 --seed 7 --bos 50256|=|rows"
  "hs-local-pool-text|local|head-scores|--tokens-from @TAGGED@ --text @TAGGED@|=|rows"
  "hs-tiny-pool-bos-text|tiny|head-scores|--seq-len 30 --batch 3 --seed 5 --bos 0 --tokens-from @TOKENS@ --text @TAGGED@|=|rows"
  "hs-local-text-acts|local|head-scores|--seq-len 8 --batch 2 --text @ACTS@|=|rows"
  # logit-lens, top mode: story and position selections, both final-LN conventions
  "ll-local-top-scale|local|logit-lens|--final-ln scale --top 3 --story 2,17 --positions 0,1,9,99,150 --tokenizer @TOKENIZER@ @TAGGED@|=|rows"
  "ll-local-top-none|local|logit-lens|--final-ln none --top 3 --story 6 --positions 40:44 --heads L0H3,L2H1 --tokenizer @TOKENIZER@ @TAGGED@|=|rows"
  "ll-tiny-top-none|tiny|logit-lens|--final-ln none --top 5 --positions 10:13 --heads L1H0,L1H1 --tokenizer @TOKENIZER@ @TAGGED@|=|rows"
  "ll-tiny-top-scale-acts|tiny|logit-lens|--final-ln scale --top 4 --story 17 --positions 0:3 --tokenizer @TOKENIZER@ @ACTS@|=|rows"
  # logit-lens, grid mode
  "ll-local-grid-none|local|logit-lens|--final-ln none --grid @TAGGED@|=|sorted"
  "ll-local-grid-scale|local|logit-lens|--final-ln scale --grid @TAGGED@|=|sorted"
  "ll-tiny-grid-scale|tiny|logit-lens|--final-ln scale --grid --heads L0H1,L1H0 @TAGGED@|=|sorted"
  # ablate --heads: one head; heads of two layers (mean); an untagged stream; activations in
  "ab-local-zero-L1H2|local|ablate|--mode zero --heads L1H2 @TAGGED@|=|rows"
  "ab-local-zero-L1H2-acts|local|ablate|--mode zero --heads L1H2 @ACTS@|=|rows"
  "ab-local-mean-L0H1-L2H3|local|ablate|--mode mean --heads L0H1,L2H3 @TAGGED@|=|rows"
  "ab-tiny-zero-L0H0-tokens|tiny|ablate|--mode zero --heads L0H0 @TOKENS@|=|rows"
  # every head of layer 1 zero-ablated = the attention block's output replaced by its
  # out_proj bias (the oracle computes this golden that second way: bias-ablate)
  "ab-local-layer1-all|local|ablate|--mode zero --heads L1H0,L1H1,L1H2,L1H3 @TAGGED@|bias-ablate --layer 1 @TAGGED@|rows"
  "ab-tiny-layer0-all|tiny|ablate|--mode zero --heads L0H0,L0H1 @TAGGED@|bias-ablate --layer 0 @TAGGED@|rows"
  # ablate --sweep
  "ab-local-sweep-zero|local|ablate|--mode zero --sweep @TAGGED@|=|sorted"
  "ab-local-sweep-mean|local|ablate|--mode mean --sweep --threads 2 @TAGGED@|=|sorted"
  "ab-tiny-sweep-mean|tiny|ablate|--mode mean --sweep @TAGGED@|=|sorted"
  # head-stats (single quotes: the selectors hold `` and $): every head; every selector
  # kind as --activity SEL, as QSEL and as KSEL; tag=ZZZ picks nothing (group "-"),
  # any leaves no rest ("-"), a KSEL that picks nothing leaves no query (all "-").
  # Compared as sets: docs/heads.md fixes no row order.
  'st-local-tagged|local|head-stats|--heads all --activity quote --activity next=VBD --activity tag=PRP$,DT --activity tag=ZZZ --activity any --attention quote/tag=`` --attention next=VBD/tag=VBD --attention tag=PRP$,DT/tag=NN,NNS,NNP,NNPS --attention any/tag=ZZZ --attention tag=``/any --attention any/next=DT --attention quote/quote @TAGGED@|=|sorted'
  'st-tiny-tagged|tiny|head-stats|--heads all --activity quote --activity next=VBD,VBZ --activity tag=NN --attention quote/tag=`` --attention next=VBD/tag=VBD --attention tag=ZZZ/any --attention next=NN/quote @TAGGED@|=|sorted'
  # the quote selector at its edges (quotes-stream.tsv), a one-token story
  'st-local-quotes|local|head-stats|--heads all --activity quote --activity next=`` --activity tag='"''"' --activity next=VB --attention quote/tag=`` --attention tag=``/quote --attention any/quote --attention quote/any --attention next='"''"'/quote --attention tag=VB/any @QUOTES@|=|sorted'
  'st-tiny-quotes|tiny|head-stats|--heads all --activity quote --attention quote/tag=`` --attention tag=``/quote --attention next=UH/tag=NNP,PRP @QUOTES@|=|sorted'
  # an activations stream in, heads out of order, --threads 1
  'st-tiny-acts|tiny|head-stats|--heads L1H1,L0H0 --threads 1 --activity next=VBD --attention quote/tag=`` @ACTS@|=|sorted'
)
subst() {  # subst MODEL ARGS
  local s=$2
  s=${s//@TOKENS@/$TMP/tokens.hs}; s=${s//@TAGGED@/$TMP/tagged.hs}; s=${s//@QUOTES@/$TMP/quotes.hs}
  s=${s//@ACTS@/$TMP/$1.acts}; s=${s//@TOKENIZER@/$DATA/tokenizer}
  printf '%s' "$s"
}
printf '# name\tmodel\ttool\targuments\toracle\tgolden\tcompare\n' >"$OUT/cases.tsv"
printf '%-26s %6s %8s  %s\n' case rows bytes "float32 reference: worst error / tolerance"
for c in "${cases[@]}"; do
  IFS='|' read -r name model tool args oracle cmp <<<"$c"
  if [ -n "$ONLY" ] && [ "${name#"$ONLY"}" = "$name" ]; then  # left as it is
    if [ -e "$OUT/$name.tsv" ]; then gold=$name.tsv; else gold=$name.tsv.zst; fi
    [ -e "$OUT/$gold" ] || { echo "gen_heads_golden: $name: no golden to keep" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$model" "$tool" "$args" "$oracle" "$gold" "$cmp" >>"$OUT/cases.tsv"
    continue
  fi
  rm -f "$OUT/$name.tsv" "$OUT/$name.tsv.zst"
  if [ "$oracle" = "=" ]; then ocmd="$tool $args"; else ocmd=$oracle; fi
  # shellcheck disable=SC2046
  "$PY" "$REF" $(subst "$model" "$ocmd") --model "$TMP/$model" -o "$TMP/$name.tsv"
  # shellcheck disable=SC2046
  "$PY" "$REF" $(subst "$model" "$ocmd") --model "$TMP/$model" --dtype float32 --allow-near-ties -o "$TMP/$name.f32"
  sortflag=; [ "$cmp" = sorted ] && sortflag=--sort
  f32=$("$PY" "$REF" compare $sortflag "$TMP/$name.f32" "$TMP/$name.tsv" | tail -n 1 | sed 's/.*: //')
  "$PY" "$REF" compare $sortflag "$TMP/$name.f32" "$TMP/$name.tsv" >/dev/null \
    || { echo "gen_heads_golden: $name: the float32 reference is outside the tolerance ($f32)" >&2; exit 1; }
  size=$(wc -c <"$TMP/$name.tsv")
  if [ "$size" -gt 16384 ]; then
    gold=$name.tsv.zst; zstd -q -19 "$TMP/$name.tsv" -o "$OUT/$gold"
  else
    gold=$name.tsv; cp "$TMP/$name.tsv" "$OUT/$gold"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$model" "$tool" "$args" "$oracle" "$gold" "$cmp" >>"$OUT/cases.tsv"
  printf '%-26s %6d %8d  %s\n' "$name" "$(grep -vc '^#' "$TMP/$name.tsv")" "$(wc -c <"$OUT/$gold")" "$f32"
done

# --- the reference's own consistency --------------------------------------------
for m in tiny local; do
  "$PY" "$REF" self-check --model "$TMP/$m" "$TMP/tagged.hs"
done
du -cb "$OUT"/* | tail -n 1

#!/usr/bin/env bash
# bench_rebuild.sh: forward-dump, probe-fit and train of this tree side by
# side with the same tools at REBUILD_BEFORE (default 010267e, the commit
# before the rebuild of issue 14: one model definition, one pool, herr),
# built from git in a scratch clone.  Same inputs, same threads, runs
# interleaved (before, after, before, after, ...) so both see the same
# machine load; the median of REBUILD_ROUNDS rounds (default 3) of CPU
# seconds (user + sys: the figure to read on a shared machine) and wall
# seconds.  The outputs are compared too: forward-dump's and probe-fit's
# records (printed in full by stream-view); train's held-out loss (the vector-math unification changes
# the trainer's float rounding, not its inference).
#
#   forward-dump: q,k of all 128 heads, 200 mirror stories, 2 threads,
#                 random TinyStories-1M-shaped model (seed 1)
#   probe-fit:    the 256 probes of bench_probes.sh's input (40,000 tokens,
#                 ~36 tags), 2 threads
#   train:        8 steps x 8 rows x 512 tokens, 2 threads
set -uo pipefail
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
REF=${REBUILD_BEFORE:-010267e}
ROUNDS=${REBUILD_ROUNDS:-3}
TMPD=$(mktemp -d); trap 'rm -rf "$TMPD"' EXIT
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")

if ! git -C "$TOP" cat-file -e "$REF^{commit}" 2>/dev/null; then
  echo "bench_rebuild: $REF is not in this clone's history: no before/after comparison"; exit 0
fi
git clone -q --no-checkout "$TOP" "$TMPD/before" 2>/dev/null && git -C "$TMPD/before" checkout -q "$REF" &&
  make -s -C "$TMPD/before" bin/forward-dump bin/probe-fit bin/train >"$TMPD/build.log" 2>&1 ||
  { echo "bench_rebuild: tools at $REF could not be built: $(tail -2 "$TMPD/build.log")"; exit 1; }
OLD=$TMPD/before/bin

# inputs (made once, by this tree's tools)
"$BIN/model-init" --tinystories-1m-config --seed 1 -o "$TMPD/model" >/dev/null
"$BIN/tokenize" "${TOK[@]}" --stories 0-199 "$STORIES" -o "$TMPD/fd.tok"
"$BIN/tokenize" "${TOK[@]}" "$STORIES" -o "$TMPD/all.tok"
awk -v n=40000 'BEGIN {
  nt = split("NN DT VBD PRP IN X . JJ RB CC NNP VB TO PRP$ `` '"''"' NNS VBZ VBN VBG VBP MD CD WRB WP EX RP POS UH PDT JJR JJS WDT : FW RBR", T, " ")
  srand(1)
  for (i = 1; i <= 3000; i++) { r = rand(); tagof[i] = T[int(nt * r * r * r) + 1] }
  story = 0; pos = 0; off = 0
  for (t = 0; t < n; t++) {
    id = int(rand() * 3000) + 1; tag = tagof[id]
    if (rand() < 0.15) tag = T[int(rand() * nt) + 1]
    printf "%d\t%d\t%d\t%d\t%d\tw\t%s\n", story, pos, id * 13 + 100, off, off + 1, tag
    pos++; off += 2
    if (pos == 50) { story++; pos = 0; off = 0 }
  }
}' >"$TMPD/probe.tsv"
"$BIN/stream-import" "$TMPD/probe.tsv" >"$TMPD/probe.tagged"
"$BIN/forward-dump" --model "$TMPD/model" --vectors k,q --threads 2 -o "$TMPD/probe.acts" "$TMPD/probe.tagged"

# run TOOLDIR NAME OUT: one timed run; appends "wall cpu" to $TMPD/t.NAME.TAG
run() {
  local dir=$1 name=$2 tag=$3 out=$TMPD/out.$2.$3
  case $name in
    forward-dump) set -- "$dir/forward-dump" --model "$TMPD/model" --vectors q,k --threads 2 -o "$out" "$TMPD/fd.tok" ;;
    probe-fit) set -- "$dir/probe-fit" --threads 2 -o "$out" "$TMPD/probe.acts" ;;
    train) set -- "$dir/train" --steps 8 --batch 8 --seq-len 512 --threads 2 --heldout 0.05 --eval-every 0 \
             --warmup 2 -o "$out.dir" "$TMPD/all.tok" ;;
  esac
  /usr/bin/time -f '%e %U %S' -o "$TMPD/time" "$@" >/dev/null 2>"$TMPD/err.$name.$tag" ||
    { echo "bench_rebuild: $name ($tag) failed: $(tail -1 "$TMPD/err.$name.$tag")"; return 1; }
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$TMPD/time" >>"$TMPD/t.$name.$tag"
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "rebuild: this tree vs $REF, $ROUNDS interleaved rounds, 2 threads; load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-14s %10s %10s %10s %10s %9s %9s  %s\n' tool "before CPU" "after CPU" "before wall" "after wall" "CPU a/b" "wall a/b" "outputs"
for name in forward-dump probe-fit train; do
  for ((r = 0; r < ROUNDS; r++)); do
    run "$OLD" "$name" before || continue 2
    run "$BIN" "$name" after || continue 2
  done
  bc=$(cut -d' ' -f2 "$TMPD/t.$name.before" | median); ac=$(cut -d' ' -f2 "$TMPD/t.$name.after" | median)
  bw=$(cut -d' ' -f1 "$TMPD/t.$name.before" | median); aw=$(cut -d' ' -f1 "$TMPD/t.$name.after" | median)
  case $name in
    train)
      lb=$(sed -n 's/^train: held-out loss \([0-9.]*\).*/\1/p' "$TMPD/err.$name.before")
      la=$(sed -n 's/^train: held-out loss \([0-9.]*\).*/\1/p' "$TMPD/err.$name.after")
      same="held-out loss $lb -> $la" ;;
    *) # records byte for byte (the header's pg: line holds each command line)
       cmp -s <("$BIN/stream-view" --no-header "$TMPD/out.$name.before") <("$BIN/stream-view" --no-header "$TMPD/out.$name.after") &&
         same="same records" || same="RECORDS DIFFER" ;;
  esac
  printf '%-14s %10.2f %10.2f %10.2f %10.2f %9.3f %9.3f  %s\n' "$name" "$bc" "$ac" "$bw" "$aw" \
    "$(awk -v a="$ac" -v b="$bc" 'BEGIN {print a / b}')" "$(awk -v a="$aw" -v b="$bw" 'BEGIN {print a / b}')" "$same"
done
echo "(a/b < 1.05: within 5% of before; CPU seconds are the figure on a loaded machine)"

# test_make_all.sh: `make all` end to end on a small random test model:
# completes, with its controls (control model, control task, baselines,
# bootstrap, a second split seed: the DAG of 5 seeds, smaller); `make -j2`
# gives byte-identical outputs; a run killed at random points and rerun ends
# identical, with nothing half-written taken as done; the DAG's own check
# stops a model trained on the study's stories before any probe is fitted.
. tests/sh/lib.sh
M="$TMP/model"
# A small GPT-Neo (4 layers of 4 heads; on any model but TinyStories-1M the
# case studies take the model's own best heads): the DAG is the same as for
# 8 x 16 heads, with 32 probes per run instead of 256.
"$BIN/model-init" --layers 4 --heads 4 --hidden 16 --vocab 50257 --positions 1024 --window 64 --seed 5 -o "$M" >/dev/null 2>&1 ||
  { fail "model-init for the test model"; exit 0; }
# Small sizes keep this quick; the DAG and sharding are the same as the full run.
ARGS=(MODEL="$M" N_TRAIN=24 N_TEST=12 SHARDS=3 ABLATE_TAKE=2 STABILITY_SEEDS="1 2" BOOTSTRAP_B=200 SANITIZE="${SANITIZE:-}")
[ -n "${MIRROR:-}" ] && ARGS+=(MIRROR="$MIRROR")
run_all() { # run_all OUT [make options...]
  local out=$1; shift
  make -s --no-print-directory -C "$TOP" all "${ARGS[@]}" OUT="$out" "$@"
}
# The files a run delivers: results, summary, figures and their tables.
# (Intermediate streams carry their own path in provenance lines; PDFs carry
# a creation date and are compared through their PNG twins.)
outputs() { (cd "$1" && find . -maxdepth 1 -type f \( -name '*.json' -o -name '*.csv' -o -name '*.md' -o -name '*.tsv' -o -name '*.txt' \) && \
             find ./control ./control-task ./seeds -type f -name '*.json' 2>/dev/null && \
             find ./figures -type f ! -name '*.pdf' ! -name '*.tmp*' 2>/dev/null) | LC_ALL=C sort; }
same_tree() { # same_tree A B: identical lists and bytes
  [ "$(outputs "$1")" = "$(outputs "$2")" ] || { echo "file lists differ"; diff <(outputs "$1") <(outputs "$2") | head; return 1; }
  local f
  # Text outputs may name their own directory (provenance comments): equal
  # up to that name.  Everything else byte for byte.
  for f in $(outputs "$1"); do
    case "$f" in
      *.png) cmp -s "$1/$f" "$2/$f" ;;
      *) cmp -s <(sed "s|$1|OUT|g" "$1/$f") <(sed "s|$2|OUT|g" "$2/$f") ;;
    esac || { echo "$f differs"; diff <(sed "s|$1|OUT|g" "$1/$f") <(sed "s|$2|OUT|g" "$2/$f") | head -n 6; return 1; }
  done
}

ls -A "$TOP" >"$TMP/top-before"
if run_all "$TMP/j1" -j1 >"$TMP/j1.log" 2>&1; then
  ok "make all completes on a random test model (-j1)"
else
  fail "make all -j1"; tail -n 15 "$TMP/j1.log"; exit 0
fi
for f in results_keys.json results_queries.json report.csv summary.md heads.md heads.tsv; do
  check "make all wrote $f" test -s "$TMP/j1/$f"
done
# the report card: three claims, each with its measured lines and a verdict
check_eq "heads.md: three claim checks, each with a verdict" \
  "$(grep -c '^### [123]\. ' "$TMP/j1/heads.md") $(grep -c '^- \*\*verdict: \(supported\|not supported\|not testable here\)\*\*$' "$TMP/j1/heads.md")" "3 3"
check "heads.md: the past-tense head's induction score against the model's median" \
  grep -qE "^- induction score [0-9.e-]+ against the model's median [0-9.e-]+: (above|not above)$" "$TMP/j1/heads.md"
check "heads.md names the random test model" grep -q 'random-test-model' "$TMP/j1/heads.md"
check_eq "make all leaves no stray file in the source tree's top folder" "$(ls -A "$TOP" | comm -13 "$TMP/top-before" -)" ""
check "the summary names the random test model, not TinyStories-1M" \
  grep -q 'random-test-model' "$TMP/j1/summary.md"
check "figures were drawn" test -n "$(find "$TMP/j1/figures" -name '*.png' 2>/dev/null | head -n 1)"
check_eq "make all begins with two lines: what it will do, and how long" \
  "$(head -n 2 "$TMP/j1.log" | grep -cE '^make all: (the study on .* split seeds; into |roughly [0-9]+ (s|min) on this machine)')" 2
for f in controls.tsv stability.tsv bootstrap.tsv baselines.tsv overlap.txt control/results_keys.json \
         control-task/results_queries.json seeds/seed-2/results_keys.json figures/selectivity.png \
         figures/controls-case-tags.png figures/f1-minus-control-keys.png; do
  check "make all wrote $f" test -s "$TMP/j1/$f"
done
check "the control model is a random model of the same shape, named as such" \
  grep -q '"_name_or_path": "random-test-model seed 1"' "$TMP/j1/control/model/config.json"
check_eq "overlap with the model's training stories: 0 (a random model)" "$(sed -n 's/^overlap: //p' "$TMP/j1/overlap.txt")" 0
check_eq "the summary's case-study rows: 5, each with interval, baselines, control, selectivity and seeds" \
  "$(grep -cE '^\| [^|]+ \| (key|query) \| [0-9]+ \| L[0-9]+H[0-9]+ \| [0-9.]+ \[[0-9.]+, [0-9.]+\] \|.* \| -?[0-9.]+ \| [0-9] of 2 \| (yes|no) \|$' "$TMP/j1/summary.md")" 5
# A tag no head's probe predicts (F1 0 everywhere) has no best head: the
# tie's first head (L0H0) is never shown as if it were one
check "the summary shows no best head with F1 0.000 (every-tag tables)" \
  bash -c "! grep -qE '^\| [^|]+ \| [0-9]+ \| L[0-9]+H[0-9]+ \| 0\.000( \[|\s\|)' '$TMP/j1/summary.md'"
check "... but '-' for the tags no head predicts" grep -qE '^\| [^|]+ \| [0-9]+ \| - \| 0\.000 \|' "$TMP/j1/summary.md"
# every row of the every-tag tables ends in its seeds and stable cells (a
# shell read once collapsed the empty tag's empty field and shifted its row)
check "the every-tag tables: each row ends '| N of M (or -) | yes|no |', the untagged tokens as (none)" \
  awk '/^## .* every tag with its controls/ { on = 1; next } /^## / { on = 0 }
       on && /^\| / && !/^\| tag \|/ { n++; if ($0 !~ /\| ([0-9]+ of [0-9]+|-) \| (yes|no) \|$/) bad++; if ($0 ~ /^\| \(none\) \| /) none++ }
       END { exit !(n > 0 && bad == 0 && none == 2) }' "$TMP/j1/summary.md"
check "the summary states the overlap" grep -q '^- \*\*overlap of the model.s training stories with the study.s: 0\*\*' "$TMP/j1/summary.md"
check "no NaN in the summary or the controls table" bash -c "! grep -qiw nan '$TMP/j1/summary.md' '$TMP/j1/controls.tsv'"

if run_all "$TMP/j2" -j2 >"$TMP/j2.log" 2>&1; then ok "make all -j2 completes"; else fail "make all -j2"; tail -n 15 "$TMP/j2.log"; fi
check "make -j2 gives byte-identical outputs to -j1" same_tree "$TMP/j1" "$TMP/j2"

# Kill at random points, rerun, and end identical.
seed=${KILL_SEED:-$$}
RANDOM=$seed
for round in 1 2 3; do
  rm -rf "$TMP/k"
  delay=$(( RANDOM % 40 ))
  # A new session, so the kill reaches make and every recipe, like Ctrl-C.
  setsid bash -c "$(declare -f run_all); ARGS=(${ARGS[*]@Q}); run_all '$TMP/k' -j2" >/dev/null 2>&1 & pid=$!
  sleep "0.$(printf %02d "$delay")"; sleep $(( RANDOM % 3 ))
  kill -TERM -- -$pid 2>/dev/null; wait $pid 2>/dev/null
  sleep 0.2
  # Nothing half-written may look done: every stream present must read whole.
  bad=0
  while IFS= read -r f; do "$BIN/stream-view" --count "$f" >/dev/null 2>&1 || { bad=1; echo "    half-written: $f"; }; done \
    < <(find "$TMP/k" -type f \( -name '*.tagged' -o -name '*.acts' -o -name '*.probes' \) 2>/dev/null)
  check_eq "round $round (seed $seed): no half-written stream left under its final name" "$bad" 0
  if run_all "$TMP/k" -j2 >"$TMP/k.log" 2>&1; then
    check "round $round: the rerun after a kill ends byte-identical" same_tree "$TMP/j1" "$TMP/k"
  else
    fail "round $round: rerun after a kill"; tail -n 10 "$TMP/k.log"
  fi
done

# The DAG's own check: a model trained on the study's stories stops the run
# before any probe is fitted, with one line naming the shared stories.
mkdir -p "$TMP/leaky"; cp "$M"/config.json "$M"/model.safetensors "$TMP/leaky/"
"$BIN/tokenize" --vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt" --stories 1800-1999 \
  "$DATA/stories/tinystories-train-first2316.txt" -o "$TMP/leaky/stories.tokens"
sed 's/"heads_random_test_model": true/"heads_standin_model": true/' "$M/config.json" >"$TMP/leaky/config.json"
echo '{"input": "leaky/stories.tokens", "heldout_stories": 10, "seq_len": 16}' >"$TMP/leaky/training.json"
if make -s --no-print-directory -C "$TOP" results "${ARGS[@]}" MODEL="$TMP/leaky" OUT="$TMP/leak" >"$TMP/leak.log" 2>&1; then
  fail "a model trained on study stories must stop make results"
else
  check "a model trained on the study's stories stops the DAG, naming the shared stories" \
    grep -qE "^make: the model in .*leaky was trained on the study's stories \([1-9][0-9]* shared story indices: 1[89][0-9]{2}" "$TMP/leak.log"
  check "and no probe was fitted" test ! -e "$TMP/leak/probes.probes" -a -z "$(ls "$TMP/leak/probes" 2>/dev/null)"
fi
"$BIN/tokenize" --vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt" --stories 0-99 \
  "$DATA/stories/tinystories-train-first2316.txt" -o "$TMP/leaky/stories.tokens"
if make -s --no-print-directory -C "$TOP" "$TMP/leak/overlap.txt" "${ARGS[@]}" MODEL="$TMP/leaky" OUT="$TMP/leak" >"$TMP/leak2.log" 2>&1; then
  check_eq "trained on other stories: the check passes, overlap 0" "$(sed -n 's/^overlap: //p' "$TMP/leak/overlap.txt")" 0
  check "and it says how many stories the model was given" grep -qE '^model-training-stories: (99|100) given to train' "$TMP/leak/overlap.txt"
  far=$({ "$BIN/stream-view" --no-header "$TMP/leak/train.tagged"; "$BIN/stream-view" --no-header "$TMP/leak/test.tagged"; } | awk -F'\t' '$2 >= 16' | wc -l)
  check "and counts the study tokens at positions it never trained (>= seq_len 16: $far)" \
    grep -qE "^untrained-positions: $far of the study's [0-9]+ tokens \([0-9.]+%\) sit at positions >= 16," "$TMP/leak/overlap.txt"
  check "(some)" test "$far" -gt 0
else
  fail "the overlap check on a model trained on other stories"; tail -n 5 "$TMP/leak2.log"
fi

# The real model, when it cannot be had, stops the run with one line saying what to do.
mkdir -p "$TMP/empty-mirror"
if make -s --no-print-directory -C "$TOP" all MODEL=tinystories-1m MIRROR="$TMP/empty-mirror" \
     DATA_CACHE="$TMP/cache" OUT="$TMP/real" >"$TMP/real.log" 2>&1; then
  fail "MODEL=tinystories-1m without the weights must fail"
else
  check "without the real weights, MODEL=tinystories-1m stops and says what to do" \
    grep -q "cannot be had here.*MODEL=standin" "$TMP/real.log"
  check "and wrote no results" test ! -e "$TMP/real/results_keys.json"
fi

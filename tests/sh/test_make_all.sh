# test_make_all.sh: `make all` end to end on a small random test model:
# completes; `make -j2` gives byte-identical outputs; a run killed at random
# points and rerun ends identical, with nothing half-written taken as done.
. tests/sh/lib.sh
M="$TMP/model"
# TinyStories-1M's shape, so the case studies' heads (L6H13, ...) exist.
"$BIN/model-init" --tinystories-1m-config --seed 5 -o "$M" >/dev/null 2>&1 || { fail "model-init for the test model"; exit 0; }
# Small sizes keep this quick; the DAG and sharding are the same as the full run.
ARGS=(MODEL="$M" N_TRAIN=24 N_TEST=12 SHARDS=3 ABLATE_TAKE=2 SANITIZE="${SANITIZE:-}")
[ -n "${MIRROR:-}" ] && ARGS+=(MIRROR="$MIRROR")
run_all() { # run_all OUT [make options...]
  local out=$1; shift
  make -s --no-print-directory -C "$TOP" all "${ARGS[@]}" OUT="$out" "$@"
}
# The files a run delivers: results, summary, figures and their tables.
# (Intermediate streams carry their own path in provenance lines; PDFs carry
# a creation date and are compared through their PNG twins.)
outputs() { (cd "$1" && find . -maxdepth 1 -type f \( -name '*.json' -o -name '*.csv' -o -name '*.md' \) && \
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

#!/usr/bin/env bash
# bench_pipeline.sh: the whole study, stage by stage, ours (the C tools) vs the
# study's Python pipeline (bench/reference/pipeline.py), on the same stories,
# the same random test model with TinyStories-1M's config, the same thread
# count, measured one after the other in this one run.
#
#   stages: tokenize -> postag-join (study alignment) -> forward-dump (q,k) ->
#           probe-fit -> probe-eval; then ours end to end (400 stories).
#
# The reference fits only a subset of the probes (sklearn newton-cg takes
# seconds per probe; all 256 would take ~30 min): BENCH_PROBE_LAYERS x
# BENCH_PROBE_HEADS x BENCH_PROBE_VECTORS (default 2,6 x 0,4 x k,q = 8).  Ours
# fits that same subset (the like-for-like per-probe ratio) and all 256; the
# reference's 256-probe figures are extrapolated from its per-probe cost and
# labelled so.
#
# Env: TOP, BIN, DATA (set by `make bench`); optional BENCH_THREADS (2),
# BENCH_TRAIN / BENCH_TEST (200 / 200), BENCH_SEED (1, the split),
# BENCH_MODEL_SEED (1), BENCH_PROBE_LAYERS / _HEADS / _VECTORS, BENCH_KEEP=DIR
# (keep the intermediate files there), BENCH_NO_REF=1 (ours only).
# A missing tool or oracle is named and skipped; the rest goes on.
set -u
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
THREADS=${BENCH_THREADS:-2}
N_TRAIN=${BENCH_TRAIN:-200}
N_TEST=${BENCH_TEST:-200}
SEED=${BENCH_SEED:-1}
MODEL_SEED=${BENCH_MODEL_SEED:-1}
PL=${BENCH_PROBE_LAYERS:-2,6}
PH=${BENCH_PROBE_HEADS:-0,4}
PV=${BENCH_PROBE_VECTORS:-k,q}
PY=/usr/bin/python3
STORIES=$DATA/stories/tinystories-train-first2316.txt
VOCAB=$DATA/tokenizer/vocab.json
MERGES=$DATA/tokenizer/merges.txt
TAGGER_DIR=$DATA/nltk/averaged_perceptron_tagger_eng
TAGGER_ZIP=$DATA/nltk/averaged_perceptron_tagger.zip
if [ -n "${BENCH_KEEP:-}" ]; then
  W=$BENCH_KEEP; mkdir -p "$W"
else
  W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fi
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

now() { date +%s.%N; }
declare -A T   # T[stage] = wall seconds (ours); R[stage] = wall seconds (reference)
declare -A R
declare -A TC  # TC / RC: CPU seconds (user + sys, all threads and processes)
declare -A RC
declare -A N   # counts per stage
missing=()
have() { if [ -x "$BIN/$1" ]; then return 0; fi; missing+=("$1"); echo "bench_pipeline: $BIN/$1 missing; its stages are skipped" >&2; return 1; }
# children's CPU seconds so far (bash's `times`, 2nd line: user sys), read
# in this shell (a subshell would see its own, empty, children)
cpu_mark() { times > "$W/.times.$1"; }
cpu_secs() { awk 'FNR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' "$W/.times.$1"; }
# timed NAME CMD...: run CMD, record its wall time in T[NAME] and its CPU
# time in TC[NAME]; on failure neither is set
timed() {
  local name=$1; shift
  local t0; t0=$(now); cpu_mark a
  if "$@"; then
    cpu_mark b
    T[$name]=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b - a}')
    TC[$name]=$(awk -v a="$(cpu_secs a)" -v b="$(cpu_secs b)" 'BEGIN{printf "%.3f", b - a}')
  else echo "bench_pipeline: stage $name failed" >&2; fi
}

echo "bench_pipeline: $N_TRAIN train + $N_TEST test stories (split seed $SEED), $THREADS threads;" \
     "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the model: a random test model with TinyStories-1M's hyper-parameters --
ok_model=0
if have model-init && "$BIN/model-init" --tinystories-1m-config --seed "$MODEL_SEED" -o "$W/model" >/dev/null; then
  ok_model=1
fi

# --- the reference (a function: it runs first when tokenize is missing) -------
ref_ok=0; ref_ran=0
run_reference() {
  ref_ran=1
  if [ -n "${BENCH_NO_REF:-}" ]; then
    echo "reference skipped (BENCH_NO_REF)"; return
  elif ! "$PY" -c 'import torch, sklearn, nltk, regex, numpy' 2>/dev/null; then
    echo "reference unavailable: Debian's python3-torch, -sklearn, -nltk, -regex, -numpy needed" >&2; return
  elif [ ! -f "$TAGGER_ZIP" ] || [ "$ok_model" != 1 ]; then
    echo "reference unavailable: needs $TAGGER_ZIP and the test model" >&2; return
  fi
  local idopt=()
  [ "$ids_ok" = 1 ] && idopt=(--train-ids "$W/train.ids" --test-ids "$W/test.ids")
  if "$PY" "$TOP/bench/reference/pipeline.py" --stories "$STORIES" --vocab "$VOCAB" --merges "$MERGES" \
       --tagger-zip "$TAGGER_ZIP" --model "$W/model" "${idopt[@]}" --n-train "$N_TRAIN" --n-test "$N_TEST" \
       --split-seed "$SEED" --threads "$THREADS" --probe-layers "$PL" --probe-heads "$PH" --probe-vectors "$PV" \
       --forwards logits,nologits,nologits@1 --dump-tagged "$W/ref" --report-csv "$W/ref-report.csv" > "$W/ref-times.tsv"; then
    ref_ok=1
    while IFS=$'\t' read -r st sec cnt unit cpu; do R[$st]=$sec; RC[$st]=$cpu; N[ref_$st]=$cnt; done < "$W/ref-times.tsv"
  else
    echo "bench_pipeline: the reference pipeline failed" >&2
  fi
}

# --- ours, stage by stage ---------------------------------------------------
split_opts() { echo --vocab "$VOCAB" --merges "$MERGES" --split "$1" --seed "$SEED" --take "$2"; }
tok_both() {
  "$BIN/tokenize" $(split_opts train "$N_TRAIN") "$STORIES" > "$W/train.tok" &&
  "$BIN/tokenize" $(split_opts test "$N_TEST") "$STORIES" > "$W/test.tok"
}
tag_both() {
  "$BIN/postag-join" --tagger "$TAGGER_DIR" --align study "$W/train.tok" > "$W/train.tagged" &&
  "$BIN/postag-join" --tagger "$TAGGER_DIR" --align study "$W/test.tok" > "$W/test.tagged"
}
fwd_both() {
  "$BIN/forward-dump" --model "$W/model" --vectors q,k --threads "$THREADS" -o "$W/train.acts" "$W/train.tagged" &&
  "$BIN/forward-dump" --model "$W/model" --vectors q,k --threads "$THREADS" -o "$W/test.acts" "$W/test.tagged"
}
ids_ok=0
if have tokenize && have stream-view; then
  timed tokenize tok_both
  if [ -n "${T[tokenize]:-}" ]; then
    for s in train test; do
      "$BIN/stream-view" --no-header "$W/$s.tok" | cut -f1 | uniq > "$W/$s.ids"
    done
    ids_ok=1
  fi
fi
# Without tokenize: the reference runs first (its own seeded split) and its
# tokens, imported with stream-import, feed our later stages.
tok_src="tokenize"
if [ "$ids_ok" = 0 ] && [ -x "$BIN/stream-import" ] && [ -x "$BIN/stream-view" ]; then
  run_reference
  if [ "$ref_ok" = 1 ]; then
    ids_ok=1; tok_src="the reference's tokens via stream-import (no tokenize)"
    for s in train test; do
      cut -f1-6 "$W/ref-$s.tsv" | "$BIN/stream-import" --kind tokens -o "$W/$s.tok" || ids_ok=0
      cut -f1 "$W/ref-$s.tsv" | uniq > "$W/$s.ids"
    done
    [ "$ids_ok" = 1 ] && echo "bench_pipeline: tokens for our later stages: $tok_src"
  fi
fi
ntok=""
if [ "$ids_ok" = 1 ]; then
  ntok=$(( $("$BIN/stream-view" --no-header "$W/train.tok" | wc -l) + $("$BIN/stream-view" --no-header "$W/test.tok" | wc -l) ))
fi
if [ "$ids_ok" = 1 ] && have postag-join; then timed tag tag_both; fi
if [ -n "${T[tag]:-}" ] && [ "$ok_model" = 1 ] && have forward-dump; then timed forward fwd_both; fi
nprobes_all=0; nprobes_sub=0
if [ -n "${T[forward]:-}" ] && have probe-fit; then
  timed fit "$BIN/probe-fit" --vectors k,q --threads "$THREADS" -o "$W/probes.hs" "$W/train.acts"
  timed fit_sub "$BIN/probe-fit" --layers "$PL" --heads "$PH" --vectors "$PV" --threads "$THREADS" \
    -o "$W/probes-sub.hs" "$W/train.acts"
  [ -n "${T[fit]:-}" ] && nprobes_all=$("$BIN/stream-view" --count "$W/probes.hs")
  [ -n "${T[fit_sub]:-}" ] && nprobes_sub=$("$BIN/stream-view" --count "$W/probes-sub.hs")
fi
if [ -n "${T[fit]:-}" ] && have probe-eval; then
  timed eval "$BIN/probe-eval" --probes "$W/probes.hs" --threads "$THREADS" --csv "$W/report.csv" "$W/test.acts"
fi
if [ -n "${T[fit_sub]:-}" ] && [ -x "$BIN/probe-eval" ]; then
  timed eval_sub "$BIN/probe-eval" --probes "$W/probes-sub.hs" --threads "$THREADS" --csv "$W/report-sub.csv" "$W/test.acts"
fi

# --- ours end to end: both splits as pipes side by side, then probes --------
e2e() {
  local s n pids=()
  for s in train test; do
    n=$N_TRAIN; [ "$s" = test ] && n=$N_TEST
    ( set -o pipefail
      "$BIN/tokenize" $(split_opts "$s" "$n") "$STORIES" |
      "$BIN/postag-join" --tagger "$TAGGER_DIR" --align study |
      "$BIN/forward-dump" --model "$W/model" --vectors q,k --threads 1 -o "$W/e2e-$s.acts" ) & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || return 1; done
  "$BIN/probe-fit" --vectors k,q --threads "$THREADS" -o "$W/e2e.probes" "$W/e2e-train.acts" &&
  "$BIN/probe-eval" --probes "$W/e2e.probes" --threads "$THREADS" --csv "$W/e2e-report.csv" "$W/e2e-test.acts"
}
if [ -n "${T[eval]:-}" ] && [ -n "${T[tokenize]:-}" ]; then
  timed e2e e2e
  if [ -n "${T[e2e]:-}" ] && ! cmp -s "$W/e2e-report.csv" "$W/report.csv"; then
    echo "bench_pipeline: note: end-to-end report differs from the stage-by-stage one" >&2
  fi
fi

[ "$ref_ran" = 1 ] || run_reference

# --- same inputs? same outputs? ---------------------------------------------
echo
if [ "$ref_ok" = 1 ] && [ -n "${T[tag]:-}" ]; then
  for s in train test; do
    "$BIN/stream-view" --no-header "$W/$s.tagged" | cut -f1-3,7 > "$W/ours-$s.cmp"
    cut -f1-3,7 "$W/ref-$s.tsv" > "$W/ref-$s.cmp"
    if cmp -s "$W/ours-$s.cmp" "$W/ref-$s.cmp"; then
      echo "check: $s split: story, position, token id and tag identical on all $(wc -l < "$W/ref-$s.cmp") tokens (ours vs reference)"
    else
      echo "check: $s split: token ids / tags DIFFER on $(diff "$W/ours-$s.cmp" "$W/ref-$s.cmp" | grep -c '^<') of $(wc -l < "$W/ref-$s.cmp") rows"
    fi
  done
fi
if [ "$ref_ok" = 1 ] && [ -f "$W/report-sub.csv" ]; then
  "$PY" - "$W/report-sub.csv" "$W/ref-report.csv" <<'EOF'
import csv, sys
def load(p):
    out = {}
    for r in csv.DictReader(open(p)):
        out[(r["vector"], int(r["layer"]), int(r["head"]), r["label"])] = r
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
keys = [k for k in b if k in a]
probes = {k[:3] for k in b}
df1 = max((abs(float(a[k]["f1-score"]) - float(b[k]["f1-score"])) for k in keys), default=float("nan"))
acc = [(float(a[k]["f1-score"]), float(b[k]["f1-score"])) for k in keys if k[3] == "accuracy"]
print(f"check: {len(probes)} probes fitted by both: {len(keys)}/{len(b)} report rows matched; "
      f"max |F1 ours - sklearn| = {df1:.4f}; accuracy ours/sklearn: "
      + ", ".join(f"{x:.4f}/{y:.4f}" for x, y in acc[:8]))
EOF
fi

# --- the table ----------------------------------------------------------------
# row STAGE OURS OURS_CPU REF REF_CPU COUNT UNIT [NOTE]
# ratio = reference / ours (> 1: ours faster), on wall time and on CPU time;
# per-unit costs on wall time.
row() {
  awk -v st="$1" -v o="$2" -v oc="$3" -v r="$4" -v rc="$5" -v n="$6" -v u="$7" -v note="${8:-}" '
  function f(x) { return (x == "") ? "-" : sprintf("%.2f", x) }
  function ratio(a, b) { return (a != "" && b != "" && a > 0) ? sprintf("%.1fx", b / a) : "-" }
  BEGIN {
    if (u == "tokens" && n > 0) { k = 1e6; un = "us/token" } else if (u == "probes" && n > 0) { k = 1e3; un = "ms/probe" } else { k = 0; un = "" }
    ou = (k && o != "") ? sprintf("%.4g", o * k / n) : "-"; ru = (k && r != "") ? sprintf("%.4g", r * k / n) : "-"
    printf "| %-48s | %8s | %8s | %9s | %9s | %7s | %7s | %9s | %9s | %-8s | %s |\n", st, f(o), f(oc), f(r), f(rc), ratio(o, r), ratio(oc, rc), ou, ru, un, note }'
}
# extra SECONDS N D: SECONDS * N / D (the extrapolation of D probes to N)
extra() { awk -v a="$1" -v n="$2" -v d="$3" 'BEGIN{ if (a == "" || d == 0) print ""; else printf "%.3f", a * n / d }'; }
# add A B ...: the sum, empty when any is empty
add() { awk 'BEGIN{ s = 0; for (i = 1; i < ARGC; i++) { if (ARGV[i] == "") { print ""; exit } s += ARGV[i] } printf "%.3f", s }' "$@"; }

nref_fit=${N[ref_fit]:-0}
ref_fit_all=$(extra "${R[fit]:-}" 256 "$nref_fit");  ref_fit_all_c=$(extra "${RC[fit]:-}" 256 "$nref_fit")
ref_eval_all=$(extra "${R[eval]:-}" 256 "$nref_fit"); ref_eval_all_c=$(extra "${RC[eval]:-}" 256 "$nref_fit")
ours_sum=$(add "${T[tokenize]:-}" "${T[tag]:-}" "${T[forward]:-}" "${T[fit]:-}" "${T[eval]:-}")
ours_sum_c=$(add "${TC[tokenize]:-}" "${TC[tag]:-}" "${TC[forward]:-}" "${TC[fit]:-}" "${TC[eval]:-}")
ref_sum=$(add "${R[imports]:-}" "${R[tokenize]:-}" "${R[tag]:-}" "${R[forward-logits]:-}" "$ref_fit_all" "$ref_eval_all")
ref_sum_c=$(add "${RC[imports]:-}" "${RC[tokenize]:-}" "${RC[tag]:-}" "${RC[forward-logits]:-}" "$ref_fit_all_c" "$ref_eval_all_c")
nt=${ntok:-${N[ref_tokenize]:-0}}

echo
printf '| %-48s | %8s | %8s | %9s | %9s | %7s | %7s | %9s | %9s | %-8s | %s |\n' stage "ours s" "ours CPU" "ref s" "ref CPU" ratio "CPU rat" "ours/unit" "ref/unit" unit note
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..50})" ---------- ---------- ----------- ----------- --------- --------- ----------- ----------- ---------- ------
row "python imports (torch, sklearn, nltk)" "" "" "${R[imports]:-}" "${RC[imports]:-}" 0 "-"
row "tokenize (BPE, $((N_TRAIN + N_TEST)) stories, $nt tokens)" "${T[tokenize]:-}" "${TC[tokenize]:-}" "${R[tokenize]:-}" "${RC[tokenize]:-}" "$nt" tokens
row "tag (NLTK words + tags, study alignment)" "${T[tag]:-}" "${TC[tag]:-}" "${R[tag]:-}" "${RC[tag]:-}" "$nt" tokens
row "forward q,k; ref: HF forward with logits" "${T[forward]:-}" "${TC[forward]:-}" "${R[forward-logits]:-}" "${RC[forward-logits]:-}" "$nt" tokens "the study's model.forward computes the LM head"
row "forward q,k; ref: no LM head" "${T[forward]:-}" "${TC[forward]:-}" "${R[forward-nologits]:-}" "${RC[forward-nologits]:-}" "$nt" tokens "like for like"
row "forward q,k; ref: no LM head, torch 1 thread" "${T[forward]:-}" "${TC[forward]:-}" "${R[forward-nologits@1]:-}" "${RC[forward-nologits@1]:-}" "$nt" tokens "ours 2 threads"
row "probe-fit, the same $nref_fit probes" "${T[fit_sub]:-}" "${TC[fit_sub]:-}" "${R[fit]:-}" "${RC[fit]:-}" "$nref_fit" probes "layers $PL x heads $PH x $PV"
row "probe-eval, the same $nref_fit probes" "${T[eval_sub]:-}" "${TC[eval_sub]:-}" "${R[eval]:-}" "${RC[eval]:-}" "$nref_fit" probes
row "probe-fit, all ${nprobes_all/#0/256}" "${T[fit]:-}" "${TC[fit]:-}" "$ref_fit_all" "$ref_fit_all_c" "${nprobes_all/#0/256}" probes "ref: EXTRAPOLATED from $nref_fit probes"
row "probe-eval, all ${nprobes_all/#0/256}" "${T[eval]:-}" "${TC[eval]:-}" "$ref_eval_all" "$ref_eval_all_c" "${nprobes_all/#0/256}" probes "ref: EXTRAPOLATED from $nref_fit probes"
row "sum of the stages above (256 probes)" "$ours_sum" "$ours_sum_c" "$ref_sum" "$ref_sum_c" "$nt" tokens "ref: measured stages + extrapolated probes"
row "ours end to end (2 split pipes in parallel)" "${T[e2e]:-}" "${TC[e2e]:-}" "$ref_sum" "$ref_sum_c" "$nt" tokens "target <= 60 s on 2 cores"
echo
echo "ratio = reference / ours (> 1: ours faster), wall and CPU (user + sys).  Model: random test model with" \
     "TinyStories-1M's config (seed $MODEL_SEED); $THREADS threads on both sides."
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1);" \
     "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ${#missing[@]} -gt 0 ]; then echo "missing tools (stages skipped): ${missing[*]}"; fi
if [ -n "${T[e2e]:-}" ]; then
  awk -v t="${T[e2e]}" -v c="${TC[e2e]}" 'BEGIN{ printf "end to end: %.1f s wall, %.1f s CPU (%s the 60 s target on wall time)\n", t, c, (t <= 60 ? "within" : "OVER") }'
fi

#!/usr/bin/env bash
# bench_controls.sh: what the controls of `make all` (pipelines/controls.mk,
# docs/controls.md) add to the study, stage by stage, measured one after the
# other in one run with make -j$BENCH_JOBS on the same model and stories:
#
#   study        make results: tokenize, tag, forward, 256 probes, eval (the base)
#   baselines    probe-baselines (majority, token-id lookup)
#   bootstrap    probe-bootstrap: B replicates over test stories
#   control      the control model: model-init + the same DAG (forward, probes, eval)
#   control task control-task on both splits + 256 probes + eval
#   seeds        the study's DAG for the other STABILITY_SEEDS (4 by default)
#   joined       stability.tsv, controls.tsv, the controls' figures
#
# then the added total against the study.  The model: BENCH_MODEL=DIR (e.g.
# models/standin once trained: the real workload, its probes converge as on
# real tags), default a random model with TinyStories-1M's shape (probes on a
# random model take longer to converge, so its costs are an upper bound).
# Env: TOP, BIN, DATA (make bench); BENCH_JOBS (2), BENCH_MODEL, BENCH_SEEDS
# ("1 2 3 4 5"), BENCH_KEEP=DIR (keep the outputs there).
set -u
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
JOBS=${BENCH_JOBS:-2}
SEEDS=${BENCH_SEEDS:-1 2 3 4 5}
if [ -n "${BENCH_KEEP:-}" ]; then W=$BENCH_KEEP; mkdir -p "$W"; else W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; fi
if [ -n "${BENCH_MODEL:-}" ]; then
  MODEL=$BENCH_MODEL
else
  MODEL=$W/random-model
  [ -f "$MODEL/config.json" ] || "$BIN/model-init" --tinystories-1m-config --seed 1 -o "$MODEL" >/dev/null || exit 1
fi
OUT=$W/out
MK=(make --no-print-directory -s -C "$TOP" -j"$JOBS" MODEL="$MODEL" OUT="$OUT" STABILITY_SEEDS="$SEEDS" PLAN=no)
[ -n "${MIRROR:-}" ] && MK+=(MIRROR="$MIRROR")
echo "bench_controls: model $MODEL, make -j$JOBS, split seeds: $SEEDS;" \
     "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }
cpu_mark() { times > "$W/.times.$1"; }
cpu_secs() { awk 'FNR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' "$W/.times.$1"; }
declare -A T TC
order=()
stage() { # stage NAME TARGET...: make the targets, record wall and CPU seconds
  local name=$1; shift
  local t0; t0=$(now); cpu_mark a
  if "${MK[@]}" "$@" >"$W/$name.log" 2>&1; then
    cpu_mark b
    T[$name]=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    TC[$name]=$(awk -v a="$(cpu_secs a)" -v b="$(cpu_secs b)" 'BEGIN { printf "%.1f", b - a }')
  else
    echo "bench_controls: stage $name failed:" >&2; tail -n 5 "$W/$name.log" >&2
  fi
  order+=("$name")
}
main_seed=$(awk '{ print $1 }' <<<"$SEEDS")
stage study "$OUT/results_keys.json" "$OUT/results_queries.json" "$OUT/train.tagged" "$OUT/test.tagged"
stage baselines "$OUT/baselines.tsv"
stage bootstrap "$OUT/bootstrap.tsv"
stage control "$OUT/control/results_keys.json"
stage "control task" "$OUT/control-task/results_keys.json" "$OUT/control-task/results_queries.json"
seed_targets=(); for s in $SEEDS; do [ "$s" = "$main_seed" ] || seed_targets+=("$OUT/seeds/seed-$s/results_keys.json"); done
stage seeds "${seed_targets[@]}"
stage joined "$OUT/controls.tsv" "$OUT/figures/controls.done"

echo
printf '| %-14s | %8s | %8s | %s |\n' stage "wall s" "CPU s" "added to the study (wall)"
printf '|%s|%s|%s|%s|\n' ---------------- ---------- ---------- ----------------------------
base=${T[study]:-}
for s in "${order[@]}"; do
  awk -v s="$s" -v t="${T[$s]:-}" -v c="${TC[$s]:-}" -v b="$base" 'BEGIN {
    rel = (s == "study") ? "(the base)" : ((t != "" && b > 0) ? sprintf("+%.0f%%", 100 * t / b) : "-")
    printf "| %-14s | %8s | %8s | %s |\n", s, (t == "" ? "failed" : t), (c == "" ? "-" : c), rel }'
done
awk -v b="$base" 'BEGIN { t = 0; c = 0 } { t += $1; c += $2 } END {
  printf "controls in all: %.1f s wall, %.1f s CPU (%.1fx the study'"'"'s %s s); study + controls: %.1f s wall\n", t, c, (b > 0 ? t / b : 0), b, t + b }' \
  < <(for s in "${order[@]}"; do [ "$s" = study ] || echo "${T[$s]:-0} ${TC[$s]:-0}"; done)
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# bench_slurm.sh: what running the DAG's recipes as Slurm job steps costs,
# on a private single-node cluster (tests/slurm/cluster.sh) on this machine.
#
#   1. cluster start-up (munged + slurmctld + slurmd until the node is idle)
#   2. launcher overhead per step: R steps one after another, `true` and one
#      real shard recipe (forward-dump of a mini shard), plain vs
#      `srun -N1 -n1 --exclusive` inside one salloc
#   3. end to end on the same inputs, local vs salloc + srun, make -j CPUS:
#      the mini DAG (tests/slurm/mini.mk, 19 steps) and `make results`
#      (tokenize, tag, forward, per-layer probes, eval) on a random model with
#      TinyStories-1M's shape
#
# Local and srun runs alternate and medians are reported, since the machine
# may be shared.  Env: TOP, BIN (as `make bench` sets them); R steps per round
# (20), K rounds (3), P mini pairs (3), P_STUDY study pairs (2); N_TRAIN,
# N_TEST, SHARDS for the study run (32, 16, 4).
set -u
export LC_ALL=C
cd "${TOP:?}"
BIN=${BIN:-$TOP/bin}
. tests/slurm/cluster.sh
if ! slurm_have; then echo "bench_slurm: skip - Debian's slurm-wlm and munge are not installed"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "bench_slurm: skip - the private cluster needs root"; exit 0; }
R=${R:-20}; K=${K:-3}; P=${P:-3}; P_STUDY=${P_STUDY:-2}
N_TRAIN=${N_TRAIN:-32}; N_TEST=${N_TEST:-16}; SHARDS=${SHARDS:-4}
CPUS=$(nproc)
W=$(mktemp -d /tmp/bslurm.XXXXXX)
trap 'slurm_down "$W/s"; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
unset SLURM_JOB_ID SLURM_JOBID SLURM_STEP_ID
SRUN='srun -N1 -n1 --exclusive'
now() { date +%s.%N; }
dt() { echo "$2 - $1" | bc; }

echo "machine: $CPUS CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; slurm $(slurmctld -V | awk '{print $2}')"
t0=$(now)
slurm_up "$W/s" || { echo "bench_slurm: the cluster did not start"; exit 1; }
printf '%-52s %8.2f s\n' "cluster start-up (node idle)" "$(dt "$t0" "$(now)")"

# --- 2. per-step overhead -------------------------------------------------------
M=$W/model; "$BIN/model-init" --seed 11 -o "$M" >/dev/null
make -s -f tests/slurm/mini.mk BIN="$BIN" MODEL_DIR="$M" OUT="$W/mini-pre" SHARDS=4 LAYERS=2 STORIES=40 "$W/mini-pre/shards/test-0.tagged"
SHARD=$W/mini-pre/shards/test-0.tagged
cat >"$W/steps.sh" <<EOF
#!/bin/bash
# steps.sh LAUNCH...: R times true, then R times one forward-dump shard; prints two durations
set -e
launch=("\$@")
t0=\$(date +%s.%N)
for i in \$(seq $R); do "\${launch[@]}" true; done
t1=\$(date +%s.%N)
for i in \$(seq $R); do "\${launch[@]}" "$BIN/forward-dump" --model "$M" --vectors q,k --threads 1 -o "$W/step.acts" "$SHARD"; done
t2=\$(date +%s.%N)
echo "\$(echo "\$t1 - \$t0" | bc) \$(echo "\$t2 - \$t1" | bc)"
EOF
chmod +x "$W/steps.sh"
# K rounds, local and srun alternating (the machine may be shared): medians.
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
: >"$W/lt"; : >"$W/lf"; : >"$W/st"; : >"$W/sf"
for k in $(seq "$K"); do
  read -r a b < <("$W/steps.sh" env); echo "$a" >>"$W/lt"; echo "$b" >>"$W/lf"
  read -r a b < <(salloc -N1 --exclusive "$W/steps.sh" $SRUN 2>/dev/null); echo "$a" >>"$W/st"; echo "$b" >>"$W/sf"
done
lt=$(med <"$W/lt"); lf=$(med <"$W/lf"); st=$(med <"$W/st"); sf=$(med <"$W/sf")
ms() { echo "$1 * 1000 / $R" | bc -l | awk '{printf "%.1f", $1}'; }
printf '%-52s %8s %8s %10s\n' "per step (median of $K rounds of $R, sequential)" "local" "srun" "overhead"
printf '%-52s %6s ms %6s ms %7s ms\n' "  true" "$(ms "$lt")" "$(ms "$st")" "$(ms "$(echo "$st - $lt" | bc)")"
printf '%-52s %6s ms %6s ms %7s ms\n' "  forward-dump, one mini shard" "$(ms "$lf")" "$(ms "$sf")" "$(ms "$(echo "$sf - $lf" | bc)")"

# --- 3. end to end --------------------------------------------------------------
run_pair() {  # run_pair LABEL NSTEPS PAIRS MAKEARGS...: local / srun alternating, fresh OUTs, medians
  local label=$1 nsteps=$2 pairs=$3 ok=same f p a b c; shift 3
  : >"$W/$label.l"; : >"$W/$label.s"
  for p in $(seq "$pairs"); do
    rm -rf "$W/$label-local" "$W/$label-srun"
    a=$(now)
    make -s -j"$CPUS" "$@" OUT="$W/$label-local" >"$W/$label-local.log" 2>&1 || { echo "bench_slurm: $label local failed"; tail -n 5 "$W/$label-local.log"; return 1; }
    b=$(now)
    salloc -N1 --exclusive make -s -j"$CPUS" "$@" OUT="$W/$label-srun" LAUNCH="$SRUN" >"$W/$label-srun.log" 2>&1 || { echo "bench_slurm: $label srun failed"; tail -n 5 "$W/$label-srun.log"; return 1; }
    c=$(now)
    dt "$a" "$b" >>"$W/$label.l"; dt "$b" "$c" >>"$W/$label.s"
    for f in results_keys.json results_queries.json report.csv; do cmp -s "$W/$label-local/$f" "$W/$label-srun/$f" || ok=DIFFERENT; done
  done
  local l s; l=$(med <"$W/$label.l"); s=$(med <"$W/$label.s")
  printf '%-52s %7.2fs %7.2fs %+8.2fs  (median of %s; %s steps, %+.0f ms/step; results %s)\n' "  $label" \
    "$l" "$s" "$(echo "$s - $l" | bc)" "$pairs" "$nsteps" "$(echo "($s - $l) * 1000 / $nsteps" | bc -l)" "$ok"
}
printf '%-52s %8s %8s %9s\n' "end to end, make -j$CPUS (wall)" "local" "srun" "difference"
run_pair mini 19 "$P" -f tests/slurm/mini.mk BIN="$BIN" MODEL_DIR="$M" SHARDS=4 LAYERS=2 STORIES=40 all
FM=$W/tsmodel; "$BIN/model-init" --tinystories-1m-config --seed 5 -o "$FM" >/dev/null
# steps: 2 splits x SHARDS x (tag + forward) + 8 probe layers + 1 eval
run_pair "study-N${N_TRAIN}+${N_TEST}-S${SHARDS}" $((4 * SHARDS + 9)) "$P_STUDY" results MODEL="$FM" N_TRAIN="$N_TRAIN" N_TEST="$N_TEST" SHARDS="$SHARDS" PROBE_THREADS=1
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

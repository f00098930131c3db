#!/usr/bin/env bash
# bench_slurm.sh: what running the DAG's recipes as Slurm job steps costs,
# on a private single-node cluster (tests/slurm/cluster.sh) on this machine.
#
#   1. cluster start-up (munged + slurmctld + slurmd until the node is idle)
#   2. launcher overhead per step: R steps one after another, `true` and one
#      real shard recipe (forward-dump of a mini shard), run plainly, in their
#      own session (setsid -w, as Slurm runs a step's task), and as
#      `srun -N1 -n1 --exclusive` steps inside one salloc
#   3. end to end on the same inputs, the same three ways, make -j CPUS:
#      the mini DAG (tests/slurm/mini.mk, 19 steps) and `make results`
#      (tokenize, tag, forward, per-layer probes, eval) on a random model with
#      TinyStories-1M's shape
#
# The ways alternate and medians are reported, since the machine may be
# shared.  Env: TOP, BIN (as `make bench` sets them); R steps per round
# (20), K rounds (3), P mini rounds (3), P_STUDY study rounds (3); N_TRAIN,
# N_TEST, SHARDS for the study run (32, 16, 4).
set -u
export LC_ALL=C
cd "${TOP:?}"
BIN=${BIN:-$TOP/bin}
. tests/slurm/cluster.sh
if ! slurm_have; then echo "bench_slurm: skip - Debian's slurm-wlm and munge are not installed"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "bench_slurm: skip - the private cluster needs root"; exit 0; }
R=${R:-20}; K=${K:-3}; P=${P:-3}; P_STUDY=${P_STUDY:-3}
N_TRAIN=${N_TRAIN:-32}; N_TEST=${N_TEST:-16}; SHARDS=${SHARDS:-4}
CPUS=$(nproc)
W=$(mktemp -d /tmp/bslurm.XXXXXX)
trap 'slurm_down "$W/s"; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
SRUN='srun -N1 -n1 --exclusive --mem=512M'
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\\n\", $* }"; }   # calc EXPR: floating-point arithmetic
dt() { calc "$2 - $1"; }

echo "machine: $CPUS CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; slurm $(slurmctld -V | awk '{print $2}')"
t0=$(now)
slurm_up "$W/s" || { echo "bench_slurm: the cluster did not start"; exit 1; }
printf '%-52s %8.2f s\n' "cluster start-up (node idle)" "$(dt "$t0" "$(now)")"

# A snapshot of the tools, so a rebuild elsewhere in the tree during the
# run cannot change or remove them under the measurement.
mkdir -p "$W/bin" && cp "$BIN"/* "$W/bin/" && BIN=$W/bin

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
awk -v a="\$t0" -v b="\$t1" -v c="\$t2" 'BEGIN { printf "%.6f %.6f\\n", b - a, c - b }'
EOF
chmod +x "$W/steps.sh"
# Three ways to launch, in rotating order, K rounds (the machine may be
# shared): medians.  "local" runs the command as make would; "setsid" runs it
# in its own session, as srun's steps are (slurmstepd starts every task in a
# new session): with the kernel's autogroup scheduling (on here) each session
# gets its own CPU share, so on a loaded machine a step's own session alone
# makes it faster; "setsid" separates that from what srun costs.
MODES="local setsid srun"
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
rotate() { local k=$1; set -- $MODES; case $((k % 3)) in 0) echo "$1 $2 $3";; 1) echo "$2 $3 $1";; 2) echo "$3 $1 $2";; esac; }
for m in $MODES; do : >"$W/t.$m"; : >"$W/f.$m"; done
for k in $(seq "$K"); do
  for m in $(rotate "$k"); do
    case $m in
      local) "$W/steps.sh" env ;;
      setsid) "$W/steps.sh" setsid -w ;;
      srun) salloc -N1 --exclusive "$W/steps.sh" $SRUN 2>"$W/e" ;;
    esac >"$W/o" || { echo "bench_slurm: $m steps failed"; tail -n 3 "$W/e"; exit 1; }
    read -r a b <"$W/o"; echo "$a" >>"$W/t.$m"; echo "$b" >>"$W/f.$m"
  done
done
ms() { awk -v x="$1" -v r="$R" 'BEGIN { printf "%.1f", x * 1000 / r }'; }
printf '%-44s %9s %9s %9s %16s\n' "per step (median of $K rounds of $R in a row)" local setsid srun "srun - setsid"
for x in t f; do
  case $x in t) label="true";; f) label="forward-dump, one mini shard";; esac
  l=$(med <"$W/$x.local"); e=$(med <"$W/$x.setsid"); r=$(med <"$W/$x.srun")
  printf '%-44s %6s ms %6s ms %6s ms %13s ms\n' "  $label" "$(ms "$l")" "$(ms "$e")" "$(ms "$r")" "$(ms "$(calc "$r - $e")")"
done

# --- 3. end to end --------------------------------------------------------------
run_modes() {  # run_modes LABEL NSTEPS ROUNDS MAKEARGS...: the three ways, rotating, fresh OUTs, medians
  local label=$1 nsteps=$2 rounds=$3 ok=same f k m a b; shift 3
  for m in $MODES; do : >"$W/$label.$m"; done
  for k in $(seq "$rounds"); do
    for m in $(rotate "$k"); do
      rm -rf "$W/$label-$m"
      a=$(now)
      case $m in
        local) make -s -j"$CPUS" "$@" OUT="$W/$label-$m" ;;
        setsid) make -s -j"$CPUS" "$@" OUT="$W/$label-$m" LAUNCH="setsid -w" ;;
        srun) salloc -N1 --exclusive make -s -j"$CPUS" "$@" OUT="$W/$label-$m" LAUNCH="$SRUN" ;;
      esac >"$W/$label-$m.log" 2>&1 || { echo "bench_slurm: $label $m failed"; tail -n 5 "$W/$label-$m.log"; return 1; }
      b=$(now)
      dt "$a" "$b" >>"$W/$label.$m"
    done
    for m in setsid srun; do
      for f in results_keys.json results_queries.json report.csv; do cmp -s "$W/$label-local/$f" "$W/$label-$m/$f" || ok=DIFFERENT; done
    done
  done
  local l e r; l=$(med <"$W/$label.local"); e=$(med <"$W/$label.setsid"); r=$(med <"$W/$label.srun")
  printf '%-44s %8.2fs %8.2fs %8.2fs %+8.2fs %+5.0f ms/step  (%s steps; median of %s; results %s)\n' "  $label" \
    "$l" "$e" "$r" "$(calc "$r - $e")" "$(calc "($r - $e) * 1000 / $nsteps")" "$nsteps" "$rounds" "$ok"
}
printf '%-44s %9s %9s %9s %16s\n' "end to end, make -j$CPUS (wall)" local setsid srun "srun - setsid"
run_modes mini 19 "$P" -f tests/slurm/mini.mk BIN="$BIN" MODEL_DIR="$M" SHARDS=4 LAYERS=2 STORIES=40 all
FM=$W/tsmodel; "$BIN/model-init" --tinystories-1m-config --seed 5 -o "$FM" >/dev/null
# steps: 2 splits x SHARDS x (tag + forward) + 8 probe layers + 1 eval
run_modes "study-N${N_TRAIN}+${N_TEST}-S${SHARDS}" $((4 * SHARDS + 9)) "$P_STUDY" results BIN="$BIN" MODEL="$FM" N_TRAIN="$N_TRAIN" N_TEST="$N_TEST" SHARDS="$SHARDS" PROBE_THREADS=1
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# test_slurm.sh: the make DAG on a real single-node Slurm cluster (Debian's
# slurm-wlm + munge, started here from a generated slurm.conf in a temp
# directory by tests/slurm/cluster.sh, and always stopped again).
#
#  1. the launcher's contract on tests/slurm/mini.mk (the study's shape, the
#     project's tools): srun steps give byte-identical outputs; a step that
#     fails or is cancelled by the scheduler fails make with the step's
#     error, leaves no target behind, and a rerun resumes (nothing done twice)
#  2. the documented sbatch script (pipelines/slurm.sbatch) under sbatch
#     --wait; a whole job cancelled with a step in flight leaves nothing
#     half-made and resubmitting resumes
#  3. `make results` with logging tool wrappers: every tool of every launched
#     recipe runs inside a job step; `make all` on a small random test model
#     (TinyStories-1M's shape), locally and through salloc + srun into
#     another OUT: results JSON, CSV and summary byte-identical
#
# Needs root (the daemons run as SlurmUser=root) and the Debian packages;
# otherwise one visible skip line.  TEST_SLURM_FULL=0 leaves out part 3.
. tests/sh/lib.sh
. tests/slurm/cluster.sh

if ! slurm_have; then
  skip "slurm: Debian's slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)"; exit 0
fi
if [ "$(id -u)" != 0 ]; then skip "slurm: the private cluster's daemons must run as root"; exit 0; fi

S=$TMP/slurm
trap 'slurm_down "$S"; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# (once more on a failed start: two clusters on one machine could draw the same port)
if slurm_up "$S" || { slurm_down "$S"; rm -rf "$S"; slurm_up "$S"; }; then
  ok "single-node cluster up from a generated slurm.conf (node $(hostname -s) idle after ${CLUSTER_UP_SECONDS}s)"
else
  fail "single-node cluster up (see the daemon logs above)"; exit 1
fi
check "srun runs a step on the private cluster" test "$(srun -N1 -n1 hostname)" = "$(hostname)"

SRUN='srun -N1 -n1 --exclusive --mem=512M'
FL=$TOP/tests/slurm/fault-launch.sh
CPUS=$(nproc)
M=$TMP/model; "$BIN/model-init" --seed 11 -o "$M" >/dev/null
mini() {  # mini OUTDIR [make args...]: the mini DAG, -j over the node's CPUs
  local out=$1; shift
  make --no-print-directory -f tests/slurm/mini.mk -j"$CPUS" BIN="$BIN" MODEL_DIR="$M" OUT="$out" SHARDS=4 LAYERS=2 STORIES=40 all "$@"
}
# mtimes OUT: every file under OUT with its modification time (ns)
mtimes() { find "$1" -type f ! -name '*.tsv' -printf '%P %T@\n' | sort; }
same_results() {  # same_results WHAT A B: the three result files byte-identical
  local f bad=""
  for f in results_keys.json results_queries.json report.csv; do
    cmp -s "$2/$f" "$3/$f" || bad="$bad $f"
  done
  if [ -z "$bad" ]; then ok "$1"; else fail "$1: differ:$bad"; fi
}

# --- 1. the launcher's contract on the mini DAG ----------------------------
L=$TMP/mini-local
check "mini DAG runs locally" mini "$L"
check "mini DAG runs as srun steps inside salloc" salloc -N1 --exclusive \
  make --no-print-directory -f tests/slurm/mini.mk -j"$CPUS" BIN="$BIN" MODEL_DIR="$M" OUT="$TMP/mini-srun" \
  SHARDS=4 LAYERS=2 STORIES=40 all LAUNCH="$SRUN"
same_results "mini DAG: srun outputs byte-identical to the local run" "$L" "$TMP/mini-srun"
# the steps really ran under Slurm: slurmd logged their launch
n=$(grep -c 'launch task StepId=' "$S/log/slurmd.log" || true)
check "slurmd launched the 19 steps as Slurm job steps (${n} so far)" test "$n" -ge 20

# fault_case KIND TARGET PATTERN...: run with the fault, check make's failure
# (every PATTERN in its output), then resume and check nothing was done twice.
fault_case() {
  local kind=$1 target=$2 out=$TMP/mini-$1 rc; shift 2
  local pats=("$@")
  : >"$TMP/$kind.log"
  salloc -N1 --exclusive env FAULT="$kind" FAULT_MATCH="$target" FAULT_LOG="$TMP/$kind.log" \
    make --no-print-directory -f tests/slurm/mini.mk -j"$CPUS" BIN="$BIN" MODEL_DIR="$M" OUT="$out" \
    SHARDS=4 LAYERS=2 STORIES=40 all LAUNCH="$FL $SRUN --" >"$TMP/$kind.out" 2>&1
  rc=$?
  check_eq "$kind: make fails (exit 2) when the step $kind""s" "$rc" 2
  local p miss=""
  for p in "${pats[@]}" "\\[.*${target}\\] Error"; do grep -qE -- "$p" "$TMP/$kind.out" || miss="$miss /$p/"; done
  if [ -z "$miss" ]; then
    ok "$kind: make reports the step's error: $(grep -E -- "${pats[0]}" "$TMP/$kind.out" | head -n 1)"
  else
    fail "$kind: make's output lacks$miss"; sed 's/^/    /' "$TMP/$kind.out" | tail -n 12
  fi
  check "$kind: no $target left behind" test ! -e "$out/shards/$target"
  # scancel JOB.STEP kills with SIGKILL: the tool cannot remove its temporary
  if [ "$kind" = cancel ]; then
    local tmp; tmp=$(cd "$out/shards" && ls -d "$target".tmp.* 2>/dev/null | head -n 1)
    check "cancel: the tool was killed mid-write (its temporary ${tmp:-none} is left, never taken for $target)" test -n "$tmp"
  fi
  check "$kind: results not made" test ! -e "$out/report.csv"
  local before; before=$(mtimes "$out")
  : >"$TMP/$kind.resume.log"
  check "$kind: rerun under srun resumes and completes" salloc -N1 --exclusive env FAULT_LOG="$TMP/$kind.resume.log" \
    make --no-print-directory -f tests/slurm/mini.mk -j"$CPUS" BIN="$BIN" MODEL_DIR="$M" OUT="$out" \
    SHARDS=4 LAYERS=2 STORIES=40 all LAUNCH="$FL $SRUN --"
  # Files present before the rerun were not made again ...
  local redone; redone=$(join <(echo "$before") <(mtimes "$out") | awk '$2 != $3 {print $1}')
  check_eq "$kind: the rerun left every finished file untouched" "$redone" ""
  # ... and it launched only what was missing (the failed step among them).
  local n1 n2; n1=$(wc -l <"$TMP/$kind.log"); n2=$(wc -l <"$TMP/$kind.resume.log")
  if [ "$n2" -lt 19 ] && [ $((n1 + n2)) -le 20 ] && grep -q -- "$target" "$TMP/$kind.resume.log"; then
    ok "$kind: the rerun launched only the $n2 missing steps ($n1 launched before the fault, 19 in all)"
  else
    fail "$kind: steps launched: $n1 before, $n2 on resume (19 in all)"
  fi
  same_results "$kind: resumed outputs byte-identical to the local run" "$L" "$out"
}
fault_case fail test-1.acts "^forward-dump: --vectors: 'bogus'" "srun: error: .*task 0: Exited with exit code 1"
# srun reports the SIGKILL of a cancelled step either way, depending on
# whether the task's exit status or the signal reaches it first
fault_case cancel test-2.acts "STEP [0-9.]+ ON .* CANCELLED AT" \
  "srun: error: .*task 0: (Killed|Exited with exit code 137)"

# --- 2. the documented sbatch script ----------------------------------------
if sb=$(sbatch --parsable --wait -o "$TMP/sbatch.out" -N1 -n"$CPUS" --mem-per-cpu=512M pipelines/slurm.sbatch \
        -f tests/slurm/mini.mk BIN="$BIN" MODEL_DIR="$M" OUT="$TMP/mini-sbatch" SHARDS=4 LAYERS=2 STORIES=40 all \
        2>"$TMP/sbatch.err"); then
  ok "sbatch --wait pipelines/slurm.sbatch (job $sb) exits 0"
  same_results "sbatch: outputs byte-identical to the local run" "$L" "$TMP/mini-sbatch"
else
  fail "sbatch --wait pipelines/slurm.sbatch: $(cat "$TMP/sbatch.err")"; sed 's/^/    /' "$TMP/sbatch.out" 2>/dev/null | tail -n 12
fi

# A whole batch job cancelled mid-run (as at its time limit): every step and
# make get SIGTERM with a tool in flight, its output half written; nothing
# half-made stays; resubmitting resumes.
J=$TMP/mini-jobcancel
if jid=$(sbatch --parsable -o "$TMP/jobcancel.out" -N1 -n"$CPUS" --mem-per-cpu=512M \
           --export=ALL,FAULT=slow,FAULT_MATCH=train-3.acts pipelines/slurm.sbatch \
           -f tests/slurm/mini.mk BIN="$BIN" MODEL_DIR="$M" OUT="$J" SHARDS=4 LAYERS=2 STORIES=40 \
           LAUNCH="$FL srun -N1 -n1 --exclusive --" all 2>"$TMP/jobcancel.err"); then
  held=""
  for _ in $(seq 600); do
    held=$(squeue -h -s -j "$jid" -o '%i %j' 2>/dev/null | awk '$2 == "fault-slow" {print $1}')
    [ -n "$held" ] && ls "$J"/shards/train-3.acts.tmp.* >/dev/null 2>&1 && break
    [ -n "$(squeue -h -j "$jid" -o %i 2>/dev/null)" ] || break
    sleep 0.1
  done
  check "job cancel: step $held is writing train-3.acts when the job is cancelled" \
    sh -c "test -n '$held' && ls '$J'/shards/train-3.acts.tmp.*"
  scancel "$jid"
  for _ in $(seq 300); do [ -z "$(squeue -h -j "$jid" -o %i 2>/dev/null)" ] && break; sleep 0.1; done
  state=$(scontrol show job "$jid" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  check_eq "job cancel: job $jid ended CANCELLED" "$state" CANCELLED
  check "job cancel: no train-3.acts left behind" test ! -e "$J/shards/train-3.acts"
  check "job cancel: nothing downstream made" test ! -e "$J/train.acts" -a ! -e "$J/report.csv"
  left=$(find "$J" -name '*.tmp*' | head -n 3)
  check_eq "job cancel: no temporary files left" "$left" ""
  if sb=$(sbatch --parsable --wait -o "$TMP/jobcancel2.out" -N1 -n"$CPUS" --mem-per-cpu=512M pipelines/slurm.sbatch \
            -f tests/slurm/mini.mk BIN="$BIN" MODEL_DIR="$M" OUT="$J" SHARDS=4 LAYERS=2 STORIES=40 all 2>&1); then
    ok "job cancel: resubmitted job $sb completes"
    same_results "job cancel: resumed outputs byte-identical to the local run" "$L" "$J"
  else
    fail "job cancel: resubmitted job failed: $sb"; tail -n 8 "$TMP/jobcancel2.out" | sed 's/^/    | /'
  fi
else
  fail "sbatch for the job-cancel case: $(cat "$TMP/jobcancel.err")"
fi

# --- 3. make results / make all on a test model: local vs srun ---------------
if [ "${TEST_SLURM_FULL:-1}" = 0 ]; then skip "slurm: make all (TEST_SLURM_FULL=0)"; exit 0; fi
FM=$TMP/tsmodel
"$BIN/model-init" --tinystories-1m-config --seed 5 -o "$FM" >/dev/null
# the same tools the rest of `make check` tests (SANITIZE=1: build/san/bin)
ALL_ARGS=(MODEL="$FM" N_TRAIN=16 N_TEST=8 SHARDS=2 PROBE_THREADS=1 ABLATE_TAKE=1 STABILITY_SEEDS="1 2" BOOTSTRAP_B=200 SANITIZE="${SANITIZE:-}")
# Every tool of every launched recipe runs inside a job step (a pipe runs
# whole under LAUNCH, not just its first command): tools wrapped to log
# $SLURM_STEP_ID, which srun sets in a step and salloc's shell lacks.
# (--assume-old: make must not relink a wrapper from the tool's objects)
WB=$TMP/wbin; mkdir -p "$WB"; old=()
for t in "$BIN"/*; do
  printf '#!/bin/bash\necho "${0##*/} ${SLURM_STEP_ID:-none}" >>%q\nexec %q "$@"\n' "$TMP/wbin.log" "$t" >"$WB/${t##*/}"
  chmod +x "$WB/${t##*/}"; old+=(--assume-old="$WB/${t##*/}")
done
: >"$TMP/wbin.log"
salloc -N1 --exclusive make --no-print-directory -j"$CPUS" "${old[@]}" results "${ALL_ARGS[@]}" N_TRAIN=4 N_TEST=2 BIN="$WB" OUT="$TMP/wrapped" \
  LAUNCH="$SRUN" >"$TMP/wrapped.log" 2>&1 || { fail "make results with logging tool wrappers"; tail -n 8 "$TMP/wrapped.log" | sed 's/^/    | /'; }
for t in tokenize postag-join forward-dump probe-fit probe-eval; do
  n=$(grep -c "^$t " "$TMP/wbin.log"); out=$(grep "^$t none" "$TMP/wbin.log" | head -n 1)
  if [ "$n" -gt 0 ] && [ -z "$out" ]; then ok "make results under srun: all $n runs of $t inside a job step"
  else fail "make results under srun: $t ran $n times, outside a job step: '${out}'"; fi
done

t0=$(date +%s.%N)
make --no-print-directory -j"$CPUS" all "${ALL_ARGS[@]}" OUT="$TMP/all-local" >"$TMP/all-local.log" 2>&1
rc=$?; t1=$(date +%s.%N)
check_eq "make all runs locally ($(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')s)" "$rc" 0
[ "$rc" = 0 ] || tail -n 15 "$TMP/all-local.log" | sed 's/^/    | /'
steps0=$(grep -c 'launch task StepId=' "$S/log/slurmd.log")
# --no-silent: the recipes are counted from make's echo, even under `make -s check`
salloc -N1 --exclusive make --no-print-directory --no-silent -j"$CPUS" all "${ALL_ARGS[@]}" OUT="$TMP/all-srun" LAUNCH="$SRUN" >"$TMP/all-srun.log" 2>&1
rc=$?; t2=$(date +%s.%N)
check_eq "make all runs through salloc + srun ($(awk -v a="$t2" -v b="$t1" 'BEGIN { printf "%.1f", a - b }')s)" "$rc" 0
[ "$rc" = 0 ] || tail -n 15 "$TMP/all-srun.log" | sed 's/^/    | /'
# every recipe make echoed with the launcher became a job step on slurmd
# (today 2 splits x 2 shards x (tokenize+tag, forward) + 8 probe layers + 1 eval)
nsteps=$(( $(grep -c 'launch task StepId=' "$S/log/slurmd.log") - steps0 ))
nlaunch=$(grep -c "^$SRUN " "$TMP/all-srun.log")
check_eq "make all ran its $nlaunch launched recipes as Slurm job steps" "$nsteps" "$nlaunch"
check "make all launched the shard, probe and eval recipes ($nlaunch >= 17)" test "$nlaunch" -ge 17
for f in results_keys.json results_queries.json report.csv summary.md; do
  check_same_file "make all: $f byte-identical, local vs srun" "$TMP/all-local/$f" "$TMP/all-srun/$f"
done
# every stream's records (not its header: provenance names OUT) identical
for f in train.acts test.acts probes.probes; do
  if [ -f "$TMP/all-local/$f" ] && [ -f "$TMP/all-srun/$f" ]; then
    check_same_file "make all: $f records identical, local vs srun" \
      <("$BIN/stream-view" --no-header "$TMP/all-local/$f" | sha256sum) <("$BIN/stream-view" --no-header "$TMP/all-srun/$f" | sha256sum)
  else
    fail "make all: $f missing from a run"
  fi
done

#!/usr/bin/env bash
# plan.sh: the two lines `make all` begins with: what it will do, and roughly
# how long that takes on this machine.  The estimate counts only what is not
# done yet (outputs present are taken as done, as make will) and divides the
# CPU time of the work by the cores make may use (-j, nproc); the per-stage
# CPU costs below were measured on a 2-core AMD EPYC (Zen 5, 2.1 GHz;
# 2026-12-01: bench_controls and the no-training `make all`, README's bench
# table, docs/controls.md "Cost"), the slower of the machines the project has run on (the other did
# the same work in 0.76x the CPU time), so elsewhere it is a rough figure.
# Env (from pipelines/controls.mk): MODEL_NAME NEED_TRAIN TRAIN_STEPS
# STANDIN_SELECT STUDY_POOL OUT DONE_MAIN DONE_CONTROL DONE_CT SEEDS_TODO
# N_SEEDS CONTROL LAYERS HEADS EMBD VOCAB N_TRAIN N_TEST, and MAKE_PID (make's process: its -j is
# read from /proc/MAKE_PID/cmdline, or JOBS when given).
set -u
cpus=$(nproc 2>/dev/null || echo 1)
if [ -z "${JOBS:-}" ] && [ -r "/proc/${MAKE_PID:-0}/cmdline" ]; then
  # -jN, -j N, --jobs=N, --jobs N; a bare -j means as many as there are
  JOBS=$(tr '\0' '\n' <"/proc/$MAKE_PID/cmdline" | awk '
    want { if ($0 ~ /^[0-9]+$/) j = $0; want = 0 }
    /^-j[0-9]+$/ { j = substr($0, 3) } /^--jobs=[0-9]+$/ { j = substr($0, 8) }
    /^(-j|--jobs)$/ { j = "max"; want = 1 }
    /^-[a-zA-Z]*j[0-9]*$/ && !/^--/ && j == "" { s = $0; sub(/^-[a-zA-Z]*j/, "", s); j = (s == "" ? "max" : s) }
    END { print j }')
fi
jobs=${JOBS:-1}
[ -z "$jobs" ] && jobs=1
[ "$jobs" = max ] && jobs=$cpus
par=$(( jobs < cpus ? jobs : cpus )); [ "$par" -ge 1 ] || par=1
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)

# CPU seconds, measured (bench_controls and a whole make -j2 all without
# training, 2026-12-01, 2-core AMD EPYC Zen 5 at 2.1 GHz, AVX-512 probe
# objective): one run of the study's DAG (tokenize + tag + forward of ~400
# stories, 2 x LAYERS x HEADS probes on ~50,000 tokens, their evaluation),
# per 256 probes (the main run and a split seed: 59-60); the main run's
# extras (head analyses with the ablation sweep, figures, bootstrap,
# tables: 97); the control model's run (its probes converge sooner: 28);
# the control task (its probes on the same vectors: 33)
run_cpu=60 main_extra_cpu=97 ctl_cpu=28 ct_cpu=33
probes=$(( 2 * ${LAYERS:-8} * ${HEADS:-16} ))
# The costs scale with the probes (2 x layers x heads, against 256), with
# the model's multiply-adds per token and layer (the LM head's share and
# 12 E^2, against TinyStories-1M's) and with the stories (the measured run
# used the pool's 400; N_TRAIN + N_TEST when given): a rough figure for
# other shapes.
size=$(awk -v e="${EMBD:-64}" -v v="${VOCAB:-50257}" -v l="${LAYERS:-8}" \
  'BEGIN { printf "%d", 1000 * (v * e / l + 12 * e * e) / (50257 * 64 / 8 + 12 * 64 * 64) }')
share=1000
if [ -n "${N_TRAIN:-}" ] && [ -n "${N_TEST:-}" ]; then share=$(( (N_TRAIN + N_TEST) * 1000 / 400 )); fi
[ "$share" -gt 1000 ] && share=1000
scale() { awk -v c="$1" -v p="$probes" -v z="$size" -v s="$share" 'BEGIN { v = c * p / 256 * z / 1000 * s / 1000; printf "%d", v < 1 ? 1 : v + 0.5 }'; }
cpu=0
[ "${DONE_MAIN:-no}" = yes ] || cpu=$(( cpu + $(scale $run_cpu) + $(scale $main_extra_cpu) ))
[ "${CONTROL:-yes}" = yes ] && [ "${DONE_CONTROL:-no}" != yes ] && cpu=$(( cpu + $(scale $ctl_cpu) ))
[ "${DONE_CT:-no}" = yes ] || cpu=$(( cpu + $(scale $ct_cpu) ))
cpu=$(( cpu + ${SEEDS_TODO:-0} * $(scale $run_cpu) ))
rest=$(( (cpu + par - 1) / par ))
# training: 2 threads whatever -j is (TRAIN_THREADS), 0.144 s a step there
# (12,000 steps in 28:53 with the held-out evaluations; the other machine:
# about 0.107)
train=0
[ "${NEED_TRAIN:-no}" = yes ] && train=$(( ${TRAIN_STEPS:-12000} * 144 / 1000 ))
mins() { awk -v s="$1" 'BEGIN { if (s < 90) printf "%d s", s; else printf "%d min", (s + 30) / 60 }'; }

what="make all:"
[ "${NEED_TRAIN:-no}" = yes ] && what+=" train the stand-in (${TRAIN_STEPS} steps on stories ${STANDIN_SELECT}), then"
what+=" the study on ${MODEL_NAME} (stories ${STUDY_POOL}: key and query probes of $(( probes / 2 )) heads, head analyses, figures)"
what+=", its controls (baselines,"
[ "${CONTROL:-yes}" = yes ] && what+=" a random-weights model,"
seeds_txt="${N_SEEDS:-5} split seeds"; [ "${N_SEEDS:-5}" = 1 ] && seeds_txt="1 split seed"
what+=" a control task, a bootstrap) and $seeds_txt; into ${OUT}/"
echo "$what"
when="make all: roughly $(mins $(( train + rest ))) on this machine ($cpus CPUs, -j$jobs"
[ "$train" -gt 0 ] && when+="; training $(mins "$train"), the rest $(mins "$rest")"
when+=")"
[ "$cpu" -eq 0 ] && [ "$train" -eq 0 ] && when="make all: the probe results are all there; only what changed since is redone"
awk -v l="$load" -v c="$cpus" 'BEGIN { exit !(l > 0.5 * c) }' && when+="; the machine is busy (load $load), so expect longer"
[ "$jobs" -lt "$cpus" ] && [ "$cpus" -gt 1 ] && when+="; make -j$cpus runs shards and probe jobs on all $cpus cores"
echo "$when"

#!/usr/bin/env bash
# fault-launch.sh LAUNCHER... -- CMD...: a LAUNCH wrapper for tests that runs
# CMD through LAUNCHER (e.g. srun -N1 -n1 --exclusive) and, when CMD's
# command line contains $FAULT_MATCH, injects a fault in that one step:
#
#   FAULT=fail    the step runs CMD with an extra bad option the tool refuses
#                 (`--vectors bogus` for forward-dump, `--layers bogus`
#                 otherwise): the tool's own error line and exit status
#   FAULT=cancel  the step is held (sleep) and cancelled through the
#                 scheduler (scancel JOB.STEP) once squeue shows it running,
#                 as an operator or a preemption would
#   FAULT=hold    the step (named fault-hold) sleeps 300 s before running CMD,
#                 so a test can cancel the whole job while it is in flight
#
# Every command line it launches is appended to $FAULT_LOG when set, so a
# test can count the steps a rerun needed.
#
#   make ... LAUNCH='tests/slurm/fault-launch.sh srun -N1 -n1 --exclusive --'
set -u
launcher=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do launcher+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || { echo "fault-launch.sh: usage: fault-launch.sh LAUNCHER... -- CMD..." >&2; exit 2; }
[ -n "${FAULT_LOG:-}" ] && echo "$*" >>"$FAULT_LOG"
match=${FAULT_MATCH:-}
case "$*" in
  *"$match"*) [ -n "$match" ] || exec "${launcher[@]}" "$@" ;;
  *) exec "${launcher[@]}" "$@" ;;
esac

case "${FAULT:-}" in
  fail)
    case "$1" in
      */forward-dump) exec "${launcher[@]}" "$@" --vectors bogus ;;
      *) exec "${launcher[@]}" "$@" --layers bogus ;;
    esac ;;
  hold)
    exec "${launcher[@]}" -J fault-hold bash -c 'sleep 300; exec "$@"' _ "$@" ;;
  cancel)
    name=fault-victim-$$
    "${launcher[@]}" -J "$name" bash -c 'sleep 120; exec "$@"' _ "$@" &
    pid=$!
    step=""
    for _ in $(seq 300); do
      step=$(squeue -h -s -j "${SLURM_JOB_ID:?not inside an allocation}" -o '%i %j' 2>/dev/null | awk -v n="$name" '$2 == n {print $1}')
      [ -n "$step" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ -n "$step" ]; then
      echo "fault-launch.sh: cancelling step $step" >&2
      scancel "$step"
    else
      echo "fault-launch.sh: the step never showed in squeue" >&2
      kill "$pid" 2>/dev/null
    fi
    wait "$pid"; rc=$?
    exit "$rc" ;;
  *) echo "fault-launch.sh: FAULT must be fail, cancel or hold" >&2; exit 2 ;;
esac

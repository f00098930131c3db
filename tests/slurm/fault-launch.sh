#!/usr/bin/env bash
# fault-launch.sh LAUNCHER... -- CMD...: a LAUNCH wrapper for tests that runs
# CMD through LAUNCHER (e.g. srun -N1 -n1 --exclusive) and, when CMD's
# command line contains $FAULT_MATCH, injects a fault in that one step:
#
#   FAULT=fail    the step runs CMD with an extra bad option the tool refuses
#                 (`--vectors bogus` for forward-dump, `--layers bogus`
#                 otherwise): the tool's own error line and exit status
#   FAULT=cancel  the step runs CMD with its input fed as in FAULT=slow, and
#                 is cancelled through the scheduler (scancel JOB.STEP) a
#                 second after squeue shows it running, as an operator would
#   FAULT=hold    the step (named fault-hold) sleeps 300 s before running CMD,
#                 so a test can cancel the whole job while it is in flight
#   FAULT=slow    the step (named fault-slow) runs CMD with its input (the
#                 last argument, a stream) fed through a pipe: 300 copies of
#                 it joined as with cat, a 300 s pause, one more copy -- the
#                 tool is running, its output half written, when a test
#                 cancels the job
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
  slow)
    input=${*: -1}; set -- "${@:1:$#-1}"
    exec "${launcher[@]}" -J fault-slow bash -c 'f=$1; shift; { for i in $(seq 300); do cat "$f"; done; sleep 300; cat "$f"; } | "$@" /dev/stdin' _ "$input" "$@" ;;
  hold)
    exec "${launcher[@]}" -J fault-hold bash -c 'sleep 300; exec "$@"' _ "$@" ;;
  cancel)
    name=fault-victim-$$
    input=${*: -1}; set -- "${@:1:$#-1}"
    "${launcher[@]}" -J "$name" bash -c 'f=$1; shift; { for i in $(seq 300); do cat "$f"; done; sleep 300; cat "$f"; } | "$@" /dev/stdin' _ "$input" "$@" &
    pid=$!
    step=""
    for _ in $(seq 300); do
      step=$(squeue -h -s -j "${SLURM_JOB_ID:?not inside an allocation}" -o '%i %j' 2>/dev/null | awk -v n="$name" '$2 == n {print $1}')
      [ -n "$step" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ -n "$step" ]; then
      sleep 1
      echo "fault-launch.sh: cancelling step $step" >&2
      scancel "$step"
    else
      echo "fault-launch.sh: the step never showed in squeue" >&2
      kill "$pid" 2>/dev/null
    fi
    wait "$pid"; rc=$?
    exit "$rc" ;;
  *) echo "fault-launch.sh: FAULT must be fail, cancel, hold or slow" >&2; exit 2 ;;
esac

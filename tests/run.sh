#!/usr/bin/env bash
# run.sh [NAME...]: run every test (C unit tests in $TESTBIN, shell tests in
# tests/sh/), or only those whose name contains one of NAME.  Each test prints
# lines "ok - what", "not ok - what" or "skip - what"; a test that exits
# non-zero without a "not ok" line counts as one failure.  Ends with
# "N passed, N failed, N skipped" and exits non-zero on any failure.
set -u
cd "$TOP"
export TOP BIN TESTBIN FUZZBIN DATA SANITIZE
export LC_ALL=C
tests=()
for t in "$TESTBIN"/test_*; do [ -x "$t" ] && [ "${t%.o}" = "$t" ] && [ "${t%.d}" = "$t" ] && tests+=("$t"); done
for t in tests/sh/test_*.sh; do [ -f "$t" ] && tests+=("$t"); done
# Tests run CHECK_JOBS at a time (default: the cores; CHECK_JOBS=1 runs
# them one after the other): many are single-threaded or wait on a
# scheduler, so two at a time halve the suite's wall time on 2 cores.
# Results are printed in the tests' order, each as soon as it and those
# before it are done; the time shown is the test's own wall time, which
# includes what ran beside it.
# Tests in CHECK_ALONE run with nothing beside them: test_slurm cancels a
# job mid-write, which needs the tool to still be writing when it does.
jobs=${CHECK_JOBS:-$(nproc 2>/dev/null || echo 1)}
alone=${CHECK_ALONE-test_slurm}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
passed=0 failed=0 skipped=0
log=$(mktemp -d)
# The tests run in the launcher's own process group (set -m below), so an
# interrupted run (Ctrl-C, kill) ends the tests it started, not just the
# launcher; INT / TERM go through exit so that the EXIT trap runs.
launcher=
trap '[ -n "$launcher" ] && kill -TERM -- -"$launcher" 2>/dev/null; rm -rf "$log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
names=()
for t in "${tests[@]}"; do
  name=$(basename "$t"); name=${name%.sh}
  if [ $# -gt 0 ]; then
    keep=0; for pat in "$@"; do case "$name" in *"$pat"*) keep=1;; esac; done
    [ $keep = 1 ] || continue
  fi
  names+=("$name:$t")
done
run_one() { # run_one KEY PATH: its output in $log/KEY.out, then "rc seconds" in $log/KEY.rc
  local start rc; start=$(date +%s)
  if [ "${2%.sh}" != "$2" ]; then bash "$2" >"$log/$1.out" 2>&1 </dev/null; rc=$?
  else "$2" >"$log/$1.out" 2>&1 </dev/null; rc=$?; fi
  echo "$rc $(( $(date +%s) - start ))" >"$log/$1.rc.tmp" && mv "$log/$1.rc.tmp" "$log/$1.rc"
}
set -m
(
  for i in "${!names[@]}"; do  # keys by position: a unit test and a shell test share names
    case " $alone " in
      *" ${names[$i]%%:*} "*) wait; run_one "$i" "${names[$i]#*:}"; continue;;
    esac
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_one "$i" "${names[$i]#*:}" &
  done
  wait
) &
launcher=$!
set +m
for i in "${!names[@]}"; do
  name=${names[$i]%%:*}
  while [ ! -f "$log/$i.rc" ]; do sleep 0.2; done
  read -r rc secs <"$log/$i.rc"
  out=$log/$i.out
  p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out"); s=$(grep -c '^skip ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited with status $rc" >>"$out"; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  printf '%-28s %4d passed %3d failed %3d skipped  (%ss)\n' "$name" "$p" "$f" "$s" "$secs"
  # Show failures and skips with their context; the rest stays quiet.
  grep -E '^(not ok|skip) ' "$out" | sed 's/^/    /'
  if [ "$f" -gt 0 ]; then grep -vE '^(ok|not ok|skip) ' "$out" | tail -n 20 | sed 's/^/    | /'; fi
done
wait
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

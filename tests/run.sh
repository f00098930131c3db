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
passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
for t in "${tests[@]}"; do
  name=$(basename "$t"); name=${name%.sh}
  if [ $# -gt 0 ]; then
    keep=0; for pat in "$@"; do case "$name" in *"$pat"*) keep=1;; esac; done
    [ $keep = 1 ] || continue
  fi
  start=$(date +%s)
  if [ "${t%.sh}" != "$t" ]; then bash "$t" >"$log/out" 2>&1; rc=$?
  else "$t" >"$log/out" 2>&1; rc=$?; fi
  p=$(grep -c '^ok ' "$log/out"); f=$(grep -c '^not ok ' "$log/out"); s=$(grep -c '^skip ' "$log/out")
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited with status $rc" >>"$log/out"; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  printf '%-28s %4d passed %3d failed %3d skipped  (%ss)\n' "$name" "$p" "$f" "$s" $(( $(date +%s) - start ))
  # Show failures and skips with their context; the rest stays quiet.
  grep -E '^(not ok|skip) ' "$log/out" | sed 's/^/    /'
  if [ "$f" -gt 0 ]; then grep -vE '^(ok|not ok|skip) ' "$log/out" | tail -n 20 | sed 's/^/    | /'; fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

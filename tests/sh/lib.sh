# lib.sh: helpers for shell tests (sourced).  Each check prints one line
# "ok - what" or "not ok - what" for tests/run.sh to count.
set -u
export LC_ALL=C
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ok()   { echo "ok - $*"; }
fail() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }
# check WHAT CMD...: ok if CMD succeeds
check() { local what=$1; shift; if "$@" >"$TMP/.check.out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/    /' "$TMP/.check.out" | head -n 15; fi; }
# check_fails WHAT PATTERN CMD...: CMD must exit non-zero with exactly one
# stderr line that matches PATTERN and starts with the tool's name
check_fails() {
  local what=$1 pat=$2; shift 2
  if "$@" >"$TMP/.cf.out" 2>"$TMP/.cf.err"; then fail "$what (exit 0)"; return; fi
  local n; n=$(wc -l <"$TMP/.cf.err")
  if [ "$n" -ne 1 ]; then fail "$what ($n stderr lines)"; sed 's/^/    /' "$TMP/.cf.err" | head; return; fi
  if grep -qE -- "$pat" "$TMP/.cf.err"; then ok "$what"; else fail "$what: $(cat "$TMP/.cf.err")"; fi
}
# check_eq WHAT GOT WANT
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
# check_same_file WHAT A B
check_same_file() { if cmp -s "$2" "$3"; then ok "$1"; else fail "$1: $2 and $3 differ"; diff <(head -c 20000 "$2") <(head -c 20000 "$3") | head -n 10 | sed 's/^/    /'; fi; }

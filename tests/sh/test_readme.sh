# test_readme.sh: the README's hand-composed pipe runs as written (plain
# bash -e, as a user would paste it: `| head` may end a writer early).
. tests/sh/lib.sh
block=$(awk '/^```sh$/ {on = 1; next} /^```$/ {on = 0} on' README.md)
check "the README has a pipe example" test -n "$block"
block=${block//\/tmp\//$TMP/}
if (cd "$TOP" && PATH="$BIN:$PATH" bash -eu -c "$block") >"$TMP/out" 2>"$TMP/err"; then
  ok "the README's pipe example runs"
  check "it printed stream rows" grep -q 'Once\|the\|a' "$TMP/out"
  check "it printed activity rows for L2H0" grep -qP '\t2\t0\t' "$TMP/out"
  check "nothing went to stderr" test ! -s "$TMP/err"
else
  fail "the README's pipe example runs"; head -n 5 "$TMP/err"
fi

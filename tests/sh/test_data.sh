# test_data.sh: the fetch rules verify sha256, refuse corrupt copies and
# leave nothing behind, and say in one line what is missing.
. tests/sh/lib.sh
F=data/fetch.sh
mkdir -p "$TMP/mirror/tokenizer" "$TMP/out"
if [ -n "${MIRROR:-}" ] && [ -d "$MIRROR" ]; then
  n=0 bad=0
  while IFS=$'\t' read -r rel sha _; do
    case "$rel" in '#'*|'') continue;; models/*) continue;; esac
    n=$((n + 1))
    MIRROR=$MIRROR $F "$rel" "$TMP/out/$rel" 2>"$TMP/err" || { bad=$((bad + 1)); cat "$TMP/err"; }
  done < data/sources.tsv
  check_eq "every pinned input in the mirror verifies ($n files)" "$bad" 0
  cp "$MIRROR/tokenizer/merges.txt" "$TMP/mirror/tokenizer/merges.txt"
  echo "tampered" >> "$TMP/mirror/tokenizer/merges.txt"
  check_fails "a corrupted copy is refused" 'fetch: tokenizer/merges.txt: sha256 mismatch' env MIRROR="$TMP/mirror" $F tokenizer/merges.txt "$TMP/out/m.txt"
  check "nothing is left in place after a mismatch" test -z "$(ls "$TMP/out" | grep m.txt)"
else
  skip "no MIRROR set: mirror verification not run (make check MIRROR=DIR)"
fi
check_fails "a file missing from the mirror is one line naming it" 'fetch: tokenizer/vocab.json is not in the mirror' env MIRROR="$TMP/mirror" $F tokenizer/vocab.json "$TMP/out/v.json"
check_fails "an unlisted file is refused" 'not listed' env MIRROR="$TMP/mirror" $F nope.txt "$TMP/out/n"
check_fails "the model is not mirrored, and says so" 'models/tinystories-1m/pytorch_model.bin is not in the mirror' env MIRROR="$TMP/mirror" $F models/tinystories-1m/pytorch_model.bin "$TMP/out/p.bin"
check "sha256 without the SHA extensions (nettle's portable path) passes its vectors" env NETTLE_FAT_OVERRIDE=none "$TESTBIN/test_cli"
# Without MIRROR the rule downloads from upstream; offline (as here) that fails
# with one line naming the file and how to use MIRROR.  Connected, it verifies.
if env -u MIRROR timeout 60 $F tokenizer/merges.txt "$TMP/out/up.txt" 2>"$TMP/up.err"; then
  check "downloaded from upstream and verified" test -s "$TMP/out/up.txt"
else
  check_eq "an offline download fails with one line" "$(wc -l < "$TMP/up.err")" 1
  check "the line names the file and MIRROR" grep -q "cannot download tokenizer/merges.txt .*MIRROR=DIR" "$TMP/up.err"
  check "nothing is left in place" test ! -e "$TMP/out/up.txt"
fi

# test_stream_import.sh: stream-import's input checks, shared with every tool
# that reads text (common/text/textin.h): closed or write-only stdin, binary
# data, a stream given where TSV rows are expected.  (Round trips and row
# errors: tests/sh/test_figures_tools.sh.)
. "$TOP/tests/sh/lib.sh"
SI=$BIN/stream-import
SV=$BIN/stream-view
printf '0\t0\t7\t0\t2\tHi\tUH\n0\t1\t5\t2\t3\t!\t.\n' >"$TMP/rows.tsv"
check_eq "two rows -> one story of two tokens" "$("$SI" "$TMP/rows.tsv" | "$SV" --no-header | cut -f1,2,6 | tr '\t\n' ':|')" "0:0:Hi|0:1:!|"
check_fails "stdin closed (<&-)" '^stream-import: stdin is closed' sh -c "'$SI' -o '$TMP/out1.hs' <&-"
check_fails "stdin open for writing only" '^stream-import: stdin is (closed or )?not open for reading' \
  sh -c "'$SI' -o '$TMP/out2.hs' 0>'$TMP/wo'"
check_eq "stdin closed but a file given: fine" "$(sh -c "'$SI' '$TMP/rows.tsv' <&-" | "$SV" --count)" "1"
check_fails "binary input (NUL bytes)" '^stream-import: .*:1: binary data, not text \(a NUL byte' \
  "$SI" -o "$TMP/out3.hs" "$SI"
"$SI" "$TMP/rows.tsv" >"$TMP/rows.hs"
check_fails "a stream given as rows" '^stream-import: .*rows.hs:1: zstd-compressed data, not text' \
  "$SI" -o "$TMP/out4.hs" "$TMP/rows.hs"
awk 'BEGIN { for (i = 0; i < 300; i++) printf "%c", 128 + i % 64 }' >"$TMP/high.bin"
check_fails "binary input (invalid UTF-8)" '^stream-import: .*high.bin:1: binary data, not text' \
  "$SI" -o "$TMP/out5.hs" "$TMP/high.bin"
check_fails "a missing file" '^stream-import: .*nofile.tsv: cannot open: No such file' "$SI" "$TMP/nofile.tsv"
check_fails "an empty input" '^stream-import: stdin: no token rows' sh -c "'$SI' </dev/null"
check "no output file left behind by any failure" bash -c "! ls '$TMP'/out*.hs* 2>/dev/null | grep -q ."

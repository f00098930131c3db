# bench_tokenize.sh: tokenize throughput on one core (target >= 10 MB/s of
# story text), peak memory for 1x and 8x the input (story by story: it should
# not grow), the ratio against the peer implementation, the npm package
# gpt-3-encoder 1.1.4, encoding the same stories in the same run, and long
# words: time and RSS on 1 MB and 8 MB single-word inputs, this tokenize and
# the one before the bucket merge (TOKENIZE_BEFORE, default c88c0ea: built
# from git in a scratch clone), side by side.  Wall and CPU (user + sys)
# seconds are both shown: on a busy machine wall time lies.
set -u
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
ONE_CORE="taskset -c 0"
command -v taskset >/dev/null || ONE_CORE=""
for i in 1 2 3 4 5 6 7 8; do cat "$STORIES"; done >"$TMPD/x8.txt"

# story text bytes as the study joins them (every line break -> one space)
text_mb() { awk '$0 != "<|endoftext|>" {n += length($0) + 1} END {printf "%.3f", n / 1e6}' "$1"; }
# measure LABEL MB CMD...: one table row; sets last_wall, last_cpu, last_rss
measure() {
  local label=$1 mb=$2; shift 2
  /usr/bin/time -o "$TMPD/time" -f '%e %U %S %M' $ONE_CORE "$@" >/dev/null || { echo "$label: failed"; return 1; }
  read -r last_wall u s last_rss <"$TMPD/time"
  last_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
  printf '%-46s %7s %7s %7s %8s %8s %9s\n' "$label" "$mb" "$last_wall" "$last_cpu" \
    "$(awk -v m="$mb" -v t="$last_wall" 'BEGIN{printf "%.1f", m / t}')" \
    "$(awk -v m="$mb" -v t="$last_cpu" 'BEGIN{printf "%.1f", (t > 0) ? m / t : 0}')" "$last_rss"
}

mb1=$(text_mb "$STORIES"); mb8=$(text_mb "$TMPD/x8.txt")
printf '%-46s %7s %7s %7s %8s %8s %9s\n' "one core" "MB text" "wall s" "cpu s" "MB/s" "MB/cpu-s" "RSS kB"
measure "tokenize --ids, mirror (incl. vocab load)" "$mb1" "$BIN/tokenize" "${TOK[@]}" --ids -o "$TMPD/c.ids" "$STORIES"
c1_wall=$last_wall c1_cpu=$last_cpu rss1=$last_rss
measure "tokenize --ids, mirror x8" "$mb8" "$BIN/tokenize" "${TOK[@]}" --ids "$TMPD/x8.txt"
measure "tokenize -> tokens stream (zstd), mirror x8" "$mb8" "$BIN/tokenize" "${TOK[@]}" -o "$TMPD/x8.tok" "$TMPD/x8.txt"
rss8=$last_rss

# The peer on the same stories (installed into a scratch dir if missing).
NODE_DIR=${GPT3ENC_DIR:-/tmp/gpt3enc}
if command -v node >/dev/null && [ ! -f "$NODE_DIR/node_modules/gpt-3-encoder/package.json" ]; then
  mkdir -p "$NODE_DIR" && (cd "$NODE_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund gpt-3-encoder@1.1.4 >/dev/null 2>&1)
fi
if [ -f "$NODE_DIR/node_modules/gpt-3-encoder/package.json" ]; then
  cat >"$TMPD/peer.js" <<'JS'
const fs = require('fs');
const enc = require(process.argv[2] + '/node_modules/gpt-3-encoder');
const out = [];
let story = '', idx = 0;
for (const line of fs.readFileSync(process.argv[3], 'utf8').split(/(?<=\n)/)) {
  if (line === '<|endoftext|>\n') { out.push(idx++ + '\t' + enc.encode(story).join(' ')); story = ''; continue; }
  story += line.replace('\n', ' ');
}
fs.writeFileSync(process.argv[4], out.join('\n') + '\n');
JS
  measure "gpt-3-encoder 1.1.4 (node), mirror" "$mb1" node "$TMPD/peer.js" "$NODE_DIR" "$STORIES" "$TMPD/js.ids"
  cmp -s "$TMPD/c.ids" "$TMPD/js.ids" && same="identical ids" || same="IDS DIFFER"
  printf 'ratio on the same file: tokenize is %sx faster (wall), %sx (cpu) than gpt-3-encoder; %s\n' \
    "$(awk -v a="$last_wall" -v b="$c1_wall" 'BEGIN{printf "%.1f", a / b}')" \
    "$(awk -v a="$last_cpu" -v b="$c1_cpu" 'BEGIN{printf "%.1f", (b > 0) ? a / b : 0}')" "$same"
else
  echo "gpt-3-encoder not available (needs node + npm): no ratio"
fi
printf 'peak RSS: %s kB on 1x, %s kB on 8x the input\n' "$rss1" "$rss8"

# --- long words: one story that is one piece, before and after ------------------
# Random lowercase letters (an LCG, deterministic; plain awk arithmetic):
# the worst usual case for the merge (many distinct pairs); and a run of one
# letter.
word() { awk -v n="$1" -v run="$2" 'BEGIN { x = 12345; for (i = 0; i < n; i++) {
  if (run) { printf "a"; continue }
  x = (x * 1103515245 + 12345) % 2147483648; printf "%c", 97 + int(x / 65536) % 26 } }'; }
word 1048576 0 >"$TMPD/w1.txt"; word 8388608 0 >"$TMPD/w8.txt"; word 8388608 1 >"$TMPD/a8.txt"
BEFORE_REF=${TOKENIZE_BEFORE:-c88c0ea}
before=""
if git -C "$TOP" cat-file -e "$BEFORE_REF^{commit}" 2>/dev/null; then
  git clone -q --no-checkout "$TOP" "$TMPD/before" 2>/dev/null && git -C "$TMPD/before" checkout -q "$BEFORE_REF" &&
    make -s -C "$TMPD/before" bin/tokenize >/dev/null 2>&1 && before=$TMPD/before/bin/tokenize
fi
[ -n "$before" ] || echo "tokenize at $BEFORE_REF could not be built: no before/after comparison"
echo
printf '%-46s %7s %7s %7s %8s %8s %9s\n' "one word (one piece), one core" "MB text" "wall s" "cpu s" "MB/s" "MB/cpu-s" "RSS kB"
for w in w1 w8 a8; do
  mb=$(awk -v b="$(wc -c <"$TMPD/$w.txt")" 'BEGIN{printf "%.3f", b / 1e6}')
  case $w in w1) what="1 MB random letters";; w8) what="8 MB random letters";; a8) what="8 MB 'aaa...'";; esac
  for mode in ids stream; do
    if [ $mode = ids ]; then args=(--ids -o "$TMPD/$w.after.ids"); else args=(-o "$TMPD/$w.after.tok"); fi
    measure "$what, $mode: now" "$mb" "$BIN/tokenize" "${TOK[@]}" "${args[@]}" "$TMPD/$w.txt"
    a_cpu=$last_cpu a_rss=$last_rss
    if [ -n "$before" ]; then
      if [ $mode = ids ]; then args=(--ids -o "$TMPD/$w.before.ids"); else args=(-o "$TMPD/$w.before.tok"); fi
      measure "$what, $mode: before ($BEFORE_REF)" "$mb" "$before" "${TOK[@]}" "${args[@]}" "$TMPD/$w.txt"
      printf '%-46s %s\n' "  now vs before" "$(awk -v a="$a_cpu" -v b="$last_cpu" -v ra="$a_rss" -v rb="$last_rss" \
        'BEGIN{printf "%.1fx less CPU, %.1fx less RSS", (a > 0) ? b / a : 0, (ra > 0) ? rb / ra : 0}')"
    fi
  done
  if [ -n "$before" ]; then
    cmp -s "$TMPD/$w.after.ids" "$TMPD/$w.before.ids" && echo "  $what: identical ids before and after" ||
      echo "  $what: IDS DIFFER between before and after"
  fi
done

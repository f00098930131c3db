# bench_tokenize.sh: tokenize throughput on one core (target >= 10 MB/s of
# story text), peak memory for 1x and 8x the input (story by story: it should
# not grow), and the ratio against the peer implementation, the npm package
# gpt-3-encoder 1.1.4, encoding the same stories in the same run.
set -u
STORIES=$DATA/stories/tinystories-train-first2316.txt
TOK=(--vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt")
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
ONE_CORE="taskset -c 0"
command -v taskset >/dev/null || ONE_CORE=""
for i in 1 2 3 4 5 6 7 8; do cat "$STORIES"; done >"$TMPD/x8.txt"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b - a}'; }
# story text bytes as the study joins them (every line break -> one space)
text_mb() { awk '$0 != "<|endoftext|>" {n += length($0) + 1} END {printf "%.3f", n / 1e6}' "$1"; }
rss_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }

mb1=$(text_mb "$STORIES"); mb8=$(text_mb "$TMPD/x8.txt")
t0=$(now); $ONE_CORE "$BIN/tokenize" "${TOK[@]}" --ids "$STORIES" >"$TMPD/c.ids"; t1=$(now)
$ONE_CORE "$BIN/tokenize" "${TOK[@]}" --ids "$TMPD/x8.txt" >/dev/null; t2=$(now)
$ONE_CORE "$BIN/tokenize" "${TOK[@]}" -o "$TMPD/x8.tok" "$TMPD/x8.txt"; t3=$(now)
c1=$(secs "$t0" "$t1"); c8=$(secs "$t1" "$t2"); c8s=$(secs "$t2" "$t3")
m1=$(rss_kb "$BIN/tokenize" "${TOK[@]}" -o /dev/null "$STORIES")
m8=$(rss_kb "$BIN/tokenize" "${TOK[@]}" -o /dev/null "$TMPD/x8.txt")

# The peer on the same stories (installed into a scratch dir if missing).
NODE_DIR=${GPT3ENC_DIR:-/tmp/gpt3enc}
if command -v node >/dev/null && [ ! -f "$NODE_DIR/node_modules/gpt-3-encoder/package.json" ]; then
  mkdir -p "$NODE_DIR" && (cd "$NODE_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund gpt-3-encoder@1.1.4 >/dev/null 2>&1)
fi
t_js=""
if [ -f "$NODE_DIR/node_modules/gpt-3-encoder/package.json" ]; then
  cat >"$TMPD/peer.js" <<'JS'
const fs = require('fs');
const enc = require(process.argv[2] + '/node_modules/gpt-3-encoder');
const t0 = process.hrtime.bigint();
const out = [];
let story = '', idx = 0;
for (const line of fs.readFileSync(process.argv[3], 'utf8').split(/(?<=\n)/)) {
  if (line === '<|endoftext|>\n') { out.push(idx++ + '\t' + enc.encode(story).join(' ')); story = ''; continue; }
  story += line.replace('\n', ' ');
}
const t1 = process.hrtime.bigint();
fs.writeFileSync(process.argv[4], out.join('\n') + '\n');
console.log((Number(t1 - t0) / 1e9).toFixed(3));
JS
  t0=$(now)
  $ONE_CORE node "$TMPD/peer.js" "$NODE_DIR" "$STORIES" "$TMPD/js.ids" >"$TMPD/js.inner"
  t1=$(now)
  t_js=$(secs "$t0" "$t1"); t_js_inner=$(cat "$TMPD/js.inner")
  cmp -s "$TMPD/c.ids" "$TMPD/js.ids" && same="identical ids" || same="IDS DIFFER"
fi

rate() { awk -v m="$1" -v s="$2" 'BEGIN{printf "%.1f", m / s}'; }
printf '%-52s %8s %9s %9s\n' "tokenize (1 core)" "MB text" "seconds" "MB/s"
printf '%-52s %8s %9s %9s\n' "tokenize --ids, mirror file (incl. ~50 ms load)" "$mb1" "$c1" "$(rate "$mb1" "$c1")"
printf '%-52s %8s %9s %9s\n' "tokenize --ids, mirror x8" "$mb8" "$c8" "$(rate "$mb8" "$c8")"
printf '%-52s %8s %9s %9s\n' "tokenize -> zstd tokens stream, mirror x8" "$mb8" "$c8s" "$(rate "$mb8" "$c8s")"
printf 'peak RSS: %s kB on 1x, %s kB on 8x the input (story by story)\n' "$m1" "$m8"
if [ -n "$t_js" ]; then
  printf '%-52s %8s %9s %9s\n' "gpt-3-encoder 1.1.4 (node, process)" "$mb1" "$t_js" "$(rate "$mb1" "$t_js")"
  printf '%-52s %8s %9s %9s\n' "gpt-3-encoder 1.1.4 (encode loop only)" "$mb1" "$t_js_inner" "$(rate "$mb1" "$t_js_inner")"
  printf 'ratio on the same file: tokenize is %sx faster than gpt-3-encoder (process), %sx (encode loop only); %s\n' \
    "$(awk -v a="$t_js" -v b="$c1" 'BEGIN{printf "%.1f", a / b}')" \
    "$(awk -v a="$t_js_inner" -v b="$c1" 'BEGIN{printf "%.1f", a / b}')" "$same"
else
  echo "gpt-3-encoder not available (needs node + npm): no ratio"
fi

# bench_postag.sh: tokenize + tag + join throughput on one core (target
# >= 3 MB/s of story text), side by side with the NLTK oracle doing the
# study's tagging (TreebankWordTokenizer + pos_tag + span_tokenize + the
# study's character-level tags) on the same stories, in the same run.
#
# Both wall-clock and CPU seconds (user + sys of every process) are shown:
# on a shared machine the wall clock also counts waiting for the core.
set -u
STORIES=$DATA/stories/tinystories-train-first2316.txt
export HEADS_TAGGER=$DATA/nltk/averaged_perceptron_tagger_eng
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
ONE_CORE="taskset -c 0"
command -v taskset >/dev/null || ONE_CORE=""

# Token source: the tokenize tool when built, else the test fixture (same BPE
# library, the study's joining).
if [ -x "$BIN/tokenize" ]; then
  tokenize() { "$BIN/tokenize" "$@"; }; src="tokenize"
else
  make -s -C "$TOP" build/release/tests/test_postag_join >/dev/null
  tokenize() { DATA="$DATA" "$TOP/build/release/tests/test_postag_join" --tokens; }
  src="fixture tokenizer (tokenize not built; 1x only)"
fi
export -f tokenize
export BIN

for i in 1 2 3 4 5; do cat "$STORIES"; done >"$TMPD/stories5.txt"
mb_of() { awk '$0 != "<|endoftext|>" {n += length($0) + 1} END {printf "%.3f", n / 1e6}' "$1"; }
mb1=$(mb_of "$STORIES")
mb5=$(mb_of "$TMPD/stories5.txt")

# run LABEL MB CMD...: wall and CPU seconds of CMD (children included)
run() {
  local label=$1 mb=$2; shift 2
  /usr/bin/time -f "%e %U %S" -o "$TMPD/time" $ONE_CORE "$@" >/dev/null 2>"$TMPD/err" ||
    { echo "$label: failed: $(head -c 200 "$TMPD/err")"; return; }
  read -r wall user sys <"$TMPD/time"
  awk -v l="$label" -v mb="$mb" -v w="$wall" -v c="$(awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}')" \
      -v o="${NLTK_CPU:-}" -v o_mb="${NLTK_MB:-1}" 'BEGIN{
    r = (o != "" && c > 0) ? sprintf("%.1fx", o * (mb / o_mb) / c) : "-";
    printf "%-46s %6.2f %6.2f %8.2f %8.2f %8s\n", l, w, c, mb / w, mb / c, r }'
}

# The oracle first: NLTK on the 2316 stories, one core; CPU seconds of the
# tagging loop only (imports and the tagger's load not counted).
read -r NLTK_WALL NLTK_CPU < <($ONE_CORE /usr/bin/python3 - "$STORIES" "$DATA/nltk/averaged_perceptron_tagger.zip" "$TOP/tests/oracles" <<'EOF' 2>/dev/null
import sys, time
sys.path.insert(0, sys.argv[3])
from gen_postag_golden import load_tinystories_data, setup_nltk
setup_nltk(sys.argv[2])
from nltk.tag import pos_tag
from nltk.tokenize import TreebankWordTokenizer
texts = load_tinystories_data(sys.argv[1])
tb = TreebankWordTokenizer()
pos_tag(["warm", "up"])
w, c = time.perf_counter(), time.process_time()
for text in texts:
    tags_li = [""] * len(text)
    tagged = pos_tag(tb.tokenize(text))
    for (s, e), (_, tag) in zip(tb.span_tokenize(text), tagged):
        for i in range(s, e):
            tags_li[i] = tag
print(f"{time.perf_counter() - w:.3f} {time.process_time() - c:.3f}")
EOF
)
NLTK_MB=$mb1

printf '%-46s %6s %6s %8s %8s %8s\n' "postag: tokenize + tag + join" "wall s" "cpu s" "MB/s" "MB/s cpu" "vs NLTK"
run "tokenize | postag-join, 2316 stories (${mb1} MB)" "$mb1" \
  bash -c 'tokenize "$0" | "$BIN/postag-join" --align study' "$STORIES"
if [ -x "$BIN/tokenize" ]; then
  run "the same, stories x5 (${mb5} MB)" "$mb5" \
    bash -c 'tokenize "$0" | "$BIN/postag-join" --align study' "$TMPD/stories5.txt"
fi
tokenize "$STORIES" >"$TMPD/tok.hs"
run "postag-join alone (tokens ready, ${mb1} MB)" "$mb1" "$BIN/postag-join" --align study "$TMPD/tok.hs"
if [ -n "${NLTK_CPU:-}" ]; then
  awk -v w="$NLTK_WALL" -v c="$NLTK_CPU" -v mb="$mb1" 'BEGIN{
    printf "%-46s %6.2f %6.2f %8.2f %8.2f %8s\n", "NLTK 3.8 oracle: words + tags + char tags", w, c, mb / w, mb / c, "1.0x" }'
else
  echo "NLTK oracle unavailable (Debian python3-nltk + the mirror's tagger zip)"
fi
echo "token source: $src; one core (taskset -c 0); target >= 3 MB/s; vs NLTK = CPU-time ratio"

# bench_postag.sh: tokenize + tag + join throughput on one core (target
# >= 3 MB/s of story text), side by side with the NLTK oracle doing the
# study's tagging (TreebankWordTokenizer + pos_tag + span_tokenize + the
# study's character-level tags) on the same stories, in the same run.
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
  TOKENIZE=("$BIN/tokenize" "$STORIES"); src="tokenize"
else
  make -s -C "$TOP" build/release/tests/test_postag_join >/dev/null
  TOKENIZE=(env DATA="$DATA" "$TOP/build/release/tests/test_postag_join" --tokens); src="fixture tokenizer (tokenize not built)"
fi
text_bytes=$(awk '$0 != "<|endoftext|>" {n += length($0) + 1} END {print n}' "$STORIES")
mb=$(awk -v b="$text_bytes" 'BEGIN{printf "%.3f", b / 1e6}')

now() { date +%s.%N; }
t0=$(now)
$ONE_CORE bash -c '"$@" | "'"$BIN"'/postag-join" --align study > "'"$TMPD"'/tagged.hs"' _ "${TOKENIZE[@]}"
t1=$(now)
"${TOKENIZE[@]}" >"$TMPD/tok.hs"
t2=$(now)
$ONE_CORE "$BIN/postag-join" --align study "$TMPD/tok.hs" >/dev/null
t3=$(now)

t_pipe=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
t_tag=$(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.3f", b - a}')

# The oracle: NLTK on the same stories, one core.
t_nltk=$($ONE_CORE /usr/bin/python3 - "$STORIES" "$DATA/nltk/averaged_perceptron_tagger.zip" "$TOP/tests/oracles" <<'EOF' 2>/dev/null
import sys, time
sys.path.insert(0, sys.argv[3])
from gen_postag_golden import load_tinystories_data, setup_nltk
setup_nltk(sys.argv[2])
from nltk.tag import pos_tag
from nltk.tokenize import TreebankWordTokenizer
texts = load_tinystories_data(sys.argv[1])
tb = TreebankWordTokenizer()
pos_tag(["warm", "up"])
t = time.perf_counter()
for text in texts:
    tags_li = [""] * len(text)
    tagged = pos_tag(tb.tokenize(text))
    for (s, e), (_, tag) in zip(tb.span_tokenize(text), tagged):
        for i in range(s, e):
            tags_li[i] = tag
print(f"{time.perf_counter() - t:.3f}")
EOF
)

printf '%-44s %9s %10s %8s\n' "postag (2316 mirror stories, ${mb} MB text)" "seconds" "MB/s" "vs NLTK"
row() { awk -v n="$1" -v t="$2" -v mb="$mb" -v o="$3" 'BEGIN{
  r = (o != "" && t > 0) ? sprintf("%.1fx", o / t) : "-";
  printf "%-44s %9.3f %10.2f %8s\n", n, t, mb / t, r}'; }
row "tokenize | postag-join --align study (1 core)" "$t_pipe" "${t_nltk:-}"
row "postag-join alone (tokens ready, 1 core)" "$t_tag" "${t_nltk:-}"
if [ -n "${t_nltk:-}" ]; then
  row "NLTK 3.8 oracle: words + tags + char tags" "$t_nltk" "$t_nltk"
else
  echo "NLTK oracle unavailable (Debian python3-nltk + the mirror's tagger zip)"
fi
echo "token source: $src; target >= 3 MB/s for the pipe"

# bench_probes.sh: probe-fit, side by side in the same run with
# scikit-learn's LogisticRegression(solver='newton-cg', max_iter=100) on a
# sample of the same probes (same features: the float32 values read back
# from the stream), whose per-probe cost is extrapolated to all of them.
#
# Part 1, 4-dim heads (the study's TinyStories-1M shape; probe-fit's dense
# Newton path): all 256 probes (8 layers x 16 heads x {k, q}) of a random
# TinyStories-1M-shaped model over 40,000 training tokens with ~36 POS-like
# tags (target: <= 30 s on 2 cores).
#
# Part 2, 64-dim heads (GPT-2 small's shape; probe-fit's Newton-CG path):
# all 288 probes (12 layers x 12 heads x {k, q}) of a random GPT-Neo with
# hidden 768, 12 heads, 12 layers, on the study's real training split
# (tokenize --split train --take 200 | postag-join --align study: 37,785
# tokens, 38 tags; target: <= 5 minutes on 2 cores), sklearn on
# BENCH_SK64_PROBES (default 2 probes, ~5-7 CPU minutes each), and our
# predictions against sklearn's on the test split (200 stories).
# BENCH_P64=0 skips part 2 (it writes a ~10 GB activations stream to
# TMPDIR and holds 2.8 GB of features in memory).  BENCH_PROBE_FIT_BEFORE=
# PATH times another probe-fit build on part 1's input beside this one.
#
# Inputs: tags are a fixed function of the token id (skewed over 36 tags,
# 15% random), stories of 50 tokens, ids from 3000 vocabulary entries; the
# features are the model's real key / query vectors for those tokens.
# Wall and CPU seconds (user + sys) are both shown: on a shared machine the
# wall clock also counts waiting for a core.
set -u
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
N=${BENCH_PROBE_TOKENS:-40000}
SK_PROBES=${BENCH_SK_PROBES:-"0 0 k;3 5 q;7 15 k"}

awk -v n="$N" -v seed=1 'BEGIN {
  nt = split("NN DT VBD PRP IN EMPTY . JJ RB CC NNP VB TO PRP$ `` '"''"' NNS VBZ VBN VBG VBP MD CD WRB WP EX RP POS UH PDT JJR JJS WDT : FW RBR", T, " ")
  for (i = 1; i <= nt; i++) if (T[i] == "EMPTY") T[i] = ""
  srand(seed)
  for (i = 1; i <= 3000; i++) { r = rand(); tagof[i] = T[int(nt * r * r * r) + 1] }
  story = 0; pos = 0; off = 0
  for (t = 0; t < n; t++) {
    id = int(rand() * 3000) + 1; tag = tagof[id]
    if (rand() < 0.15) tag = T[int(rand() * nt) + 1]
    printf "%d\t%d\t%d\t%d\t%d\tw\t%s\n", story, pos, id * 13 + 100, off, off + 1, tag
    pos++; off += 2
    if (pos == 50) { story++; pos = 0; off = 0 }
  }
}' >"$TMPD/train.tsv"
"$BIN/stream-import" "$TMPD/train.tsv" >"$TMPD/train.tagged" || { echo "stream-import failed"; exit 1; }
"$BIN/model-init" --tinystories-1m-config --seed 3 -o "$TMPD/model" >/dev/null || { echo "model-init failed"; exit 1; }
"$BIN/forward-dump" --model "$TMPD/model" --vectors k,q --threads 2 -o "$TMPD/train.acts" "$TMPD/train.tagged" ||
  { echo "forward-dump failed"; exit 1; }
ntags=$(cut -f7 "$TMPD/train.tsv" | sort -u | wc -l)

# time_run OUT CMD...: "wall cpu" of CMD
time_run() {
  local out=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$TMPD/time" "$@" >"$out" 2>"$TMPD/err" ||
    { echo "failed: $* : $(head -c 300 "$TMPD/err")" >&2; return 1; }
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$TMPD/time"
}

read -r w2 c2 < <(time_run "$TMPD/probes.hs" "$BIN/probe-fit" --threads 2 "$TMPD/train.acts")
read -r w1 c1 < <(time_run "$TMPD/probes1.hs" "$BIN/probe-fit" --threads 1 "$TMPD/train.acts")
same=$(cmp -s "$TMPD/probes.hs" "$TMPD/probes1.hs" && echo yes || echo NO)
# BENCH_PROBE_FIT_BEFORE=PATH: another build of probe-fit (e.g. the previous
# commit's) timed on the same input in the same run, its records compared
if [ -n "${BENCH_PROBE_FIT_BEFORE:-}" ]; then
  read -r wb cb < <(time_run "$TMPD/probesb.hs" "$BENCH_PROBE_FIT_BEFORE" --threads 1 "$TMPD/train.acts")
  sameb=$(cmp -s <("$BIN/stream-view" --no-header "$TMPD/probes1.hs") <("$BIN/stream-view" --no-header "$TMPD/probesb.hs") &&
    echo yes || echo NO)
fi
nprobes=$("$BIN/stream-view" --count "$TMPD/probes.hs")
unconv=$("$BIN/stream-view" --no-header "$TMPD/probes.hs" | awk -F'\t' '$7 == 0' | wc -l)
iters=$("$BIN/stream-view" --no-header "$TMPD/probes.hs" | awk -F'\t' '{k = $1 " " $2 " " $3; if (!(k in s)) {s[k] = 1; n++; t += $6}} END {printf "%.1f", t / n}')

# scikit-learn on a few of the same probes: features read back through
# stream-view (float32 values printed with 9 digits: exact), fitted as the
# study did (float32 arrays) and on float64 copies; our predictions on the
# training tokens compared with sklearn's.
layers=$(echo "$SK_PROBES" | tr ';' '\n' | awk '{print $1}' | sort -un | paste -sd,)
heads=$(echo "$SK_PROBES" | tr ';' '\n' | awk '{print $2}' | sort -un | paste -sd,)
"$BIN/forward-dump" --model "$TMPD/model" --vectors k,q --layers "$layers" --heads "$heads" --threads 2 \
  "$TMPD/train.tagged" | "$BIN/stream-view" --csv >"$TMPD/sub.csv"
"$BIN/stream-view" --no-header "$TMPD/probes.hs" >"$TMPD/probes.tsv"
/usr/bin/python3 - "$TMPD/sub.csv" "$TMPD/probes.tsv" "$SK_PROBES" >"$TMPD/sk.txt" 2>"$TMPD/sk.err" <<'EOF'
import csv, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
rows = list(csv.reader(open(sys.argv[1])))
names = rows[0]; rows = rows[1:]
y = np.array([r[names.index("tag")] for r in rows], dtype=object)
W = {}
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    W.setdefault((int(f[0]), int(f[1]), f[2]), []).append([float(v) for v in f[8:]])
tot32 = tot64 = 0.0
n = 0
for spec in sys.argv[3].split(";"):
    l, h, v = spec.split()
    cols = [names.index("L%sH%s%s%d" % (l, h, v, i)) for i in range(4)]
    X = np.array([[float(r[c]) for c in cols] for r in rows], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.process_time(); m32 = LogisticRegression(solver="newton-cg", max_iter=100).fit(X, y); c32 = time.process_time() - t
        t = time.process_time(); m64 = LogisticRegression(solver="newton-cg", max_iter=100).fit(X.astype(np.float64), y); c64 = time.process_time() - t
    Wo = np.array(W[(int(l), int(h), v)])
    ours = np.argmax(X.astype(np.float64) @ Wo[:, :4].T + Wo[:, 4], axis=1)
    classes = list(m64.classes_)
    p64 = np.array([classes.index(c) for c in m64.predict(X.astype(np.float64))])
    p32 = np.array([classes.index(c) for c in m32.predict(X)])
    print("L%sH%s%s %.2f %d %.2f %d %.5f %.5f" % (l, h, v, c32, m32.n_iter_[0], c64, m64.n_iter_[0],
          (ours == p64).mean(), (ours == p32).mean()))
    tot32 += c32; tot64 += c64; n += 1
print("TOTAL %.3f %.3f %d" % (tot32 / n, tot64 / n, n))
EOF
[ -s "$TMPD/sk.txt" ] || { echo "sklearn part failed: $(tail -3 "$TMPD/sk.err")"; }

printf 'probe-fit: %d probes, %d training tokens, %d tags, random TinyStories-1M-shaped model (seed 3)\n' \
  "$nprobes" "$N" "$ntags"
printf '%-40s %8s %8s %10s\n' "run" "wall s" "CPU s" "CPU s/probe"
printf '%-40s %8.2f %8.2f %10.4f\n' "probe-fit --threads 2 (target <= 30 s)" "$w2" "$c2" "$(awk -v c="$c2" -v n="$nprobes" 'BEGIN{print c / n}')"
printf '%-40s %8.2f %8.2f %10.4f\n' "probe-fit --threads 1" "$w1" "$c1" "$(awk -v c="$c1" -v n="$nprobes" 'BEGIN{print c / n}')"
[ -n "${BENCH_PROBE_FIT_BEFORE:-}" ] &&
  printf '%-40s %8.2f %8.2f %10.4f   (records identical to this one: %s)\n' "before: $BENCH_PROBE_FIT_BEFORE --threads 1" \
    "$wb" "$cb" "$(awk -v c="$cb" -v n="$nprobes" 'BEGIN{print c / n}')" "$sameb"
echo "byte-identical probes with 1 and 2 threads: $same; mean Newton iterations $iters; not converged: $unconv"
echo
echo "scikit-learn newton-cg on the same features (CPU s per probe; iterations; our predictions = sklearn's):"
printf '%-10s %10s %6s %10s %6s %14s %14s\n' probe "f32 CPU s" iters "f64 CPU s" iters "agree f64" "agree f32"
grep -v '^TOTAL' "$TMPD/sk.txt" | while read -r p a b c d e f; do
  printf '%-10s %10s %6s %10s %6s %14s %14s\n' "$p" "$a" "$b" "$c" "$d" "$e" "$f"; done
read -r _ sk32 sk64 nsk < <(grep '^TOTAL' "$TMPD/sk.txt")
awk -v s32="$sk32" -v s64="$sk64" -v n="$nprobes" -v c1="$c1" -v c2="$c2" -v w2="$w2" -v k="$nsk" 'BEGIN {
  printf "\nsklearn extrapolated to %d probes (mean of %d measured x %d): %.0f CPU s (float32, as the study) / %.0f CPU s (float64)\n", n, k, n, s32 * n, s64 * n
  printf "ratio, CPU s per probe, sklearn / probe-fit (1 thread): %.0fx (float32), %.0fx (float64)\n", s32 * n / c1, s64 * n / c1
  printf "ratio, sklearn CPU s (one core, extrapolated) / probe-fit wall s on 2 cores: %.0fx (float32)\n", s32 * n / w2
}'

# ------------------------------------------------------------------------
# Part 2: 64-dim heads
[ "${BENCH_P64:-1}" = 0 ] && exit 0
: "${DATA:?}"
echo
P64_STORIES=${BENCH_P64_STORIES:-200}
SK64_PROBES=${BENCH_SK64_PROBES:-"0 3 k;7 5 q"}
for split in train test; do
  "$BIN/tokenize" --vocab "$DATA/tokenizer/vocab.json" --merges "$DATA/tokenizer/merges.txt" --split $split --seed 1 \
    --take "$P64_STORIES" "$DATA/stories/tinystories-train-first2316.txt" |
    "$BIN/postag-join" --tagger "$DATA/nltk/averaged_perceptron_tagger_eng" --align study -o "$TMPD/p64-$split.tagged" ||
    { echo "tokenize | postag-join failed"; exit 1; }
done
"$BIN/model-init" --hidden 768 --heads 12 --layers 12 --vocab 50257 --positions 2048 --window 256 --seed 3 \
  -o "$TMPD/model64" >/dev/null || { echo "model-init failed"; exit 1; }
"$BIN/forward-dump" --model "$TMPD/model64" --vectors k,q --threads 2 -o "$TMPD/p64.acts" "$TMPD/p64-train.tagged" ||
  { echo "forward-dump failed"; exit 1; }
read -r w64 c64 < <(time_run "$TMPD/p64.probes" "$BIN/probe-fit" --threads 2 "$TMPD/p64.acts")
rm -f "$TMPD/p64.acts"
n64=$("$BIN/stream-view" --count "$TMPD/p64.probes")
"$BIN/stream-view" --no-header "$TMPD/p64.probes" >"$TMPD/p64.tsv"
ntok64=$(awk -F'\t' 'NR == 1 {print $5}' "$TMPD/p64.tsv")
ntag64=$(awk -F'\t' 'NR == 1 {k = $1 " " $2 " " $3} $1 " " $2 " " $3 == k' "$TMPD/p64.tsv" | wc -l)
unconv64=$(awk -F'\t' '$7 == 0 {print $1, $2, $3}' "$TMPD/p64.tsv" | sort -u | wc -l)
iters64=$(awk -F'\t' '{k = $1 " " $2 " " $3; if (!(k in s)) {s[k] = 1; n++; t += $6; if ($6 > m) m = $6}} END {printf "%.1f (max %d)", t / n, m}' "$TMPD/p64.tsv")

# sklearn on the sample: the same features (a forward-dump of just those
# heads; train and test), fitted as the study did (float32 arrays)
layers=$(echo "$SK64_PROBES" | tr ';' '\n' | awk '{print $1}' | sort -un | paste -sd,)
heads=$(echo "$SK64_PROBES" | tr ';' '\n' | awk '{print $2}' | sort -un | paste -sd,)
for split in train test; do
  "$BIN/forward-dump" --model "$TMPD/model64" --vectors k,q --layers "$layers" --heads "$heads" --threads 2 \
    "$TMPD/p64-$split.tagged" | "$BIN/stream-view" --csv >"$TMPD/p64-$split.csv"
done
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 - "$TMPD/p64-train.csv" "$TMPD/p64-test.csv" "$TMPD/p64.tsv" "$SK64_PROBES" \
  >"$TMPD/sk64.txt" 2>"$TMPD/sk64.err" <<'EOF'
import csv, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
def load(path):
    rows = list(csv.reader(open(path, encoding="latin-1")))
    return rows[0], rows[1:]
ntr, rtr = load(sys.argv[1])
nte, rte = load(sys.argv[2])
ytr = np.array([r[ntr.index("tag")] for r in rtr], dtype=object)
yte = [r[nte.index("tag")] for r in rte]
W = {}
for line in open(sys.argv[3], encoding="latin-1"):
    f = line.rstrip("\n").split("\t")
    W.setdefault((int(f[0]), int(f[1]), f[2]), []).append((f[3], [float(v) for v in f[8:]]))
tot = 0.0
n = 0
for spec in sys.argv[4].split(";"):
    l, h, v = spec.split()
    def feats(names, rows):
        cols = [names.index("L%sH%s%s%d" % (l, h, v, i)) for i in range(64)]
        return np.array([[float(r[c]) for c in cols] for r in rows], dtype=np.float32)
    Xtr, Xte = feats(ntr, rtr), feats(nte, rte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.process_time(); m = LogisticRegression(solver="newton-cg", max_iter=100).fit(Xtr, ytr); c = time.process_time() - t
    ours = W[(int(l), int(h), v)]
    classes = [k for k, _ in ours]
    Wo = np.array([w for _, w in ours])
    pred_ours = [classes[i] for i in np.argmax(Xte.astype(np.float64) @ Wo[:, :64].T + Wo[:, 64], axis=1)]
    pred_sk = [str(p) for p in m.predict(Xte)]
    agree = np.mean([a == b for a, b in zip(pred_ours, pred_sk)])
    ro = classification_report(yte, pred_ours, output_dict=True, zero_division=1)
    rs = classification_report(yte, pred_sk, output_dict=True, zero_division=1)
    df1 = max(abs(ro[k]["f1-score"] - rs[k]["f1-score"]) for k in rs if k != "accuracy")
    print("L%sH%s%s %.1f %d %.5f %.2g %d %.4f %.4f" % (l, h, v, c, m.n_iter_[0], agree, df1, len(yte),
          rs["macro avg"]["f1-score"], ro["macro avg"]["f1-score"]))
    tot += c; n += 1
print("TOTAL %.3f %d" % (tot / n, n))
EOF
[ -s "$TMPD/sk64.txt" ] || { echo "sklearn part (64-dim) failed: $(tail -3 "$TMPD/sk64.err")"; }
printf 'probe-fit, 64-dim heads: %d probes, %s training tokens, %s tags (real: %d mirror stories, --align study), random GPT-Neo 768/12x12 (seed 3)\n' \
  "$n64" "$ntok64" "$ntag64" "$P64_STORIES"
printf '%-40s %8s %8s %10s\n' "run" "wall s" "CPU s" "CPU s/probe"
printf '%-40s %8.2f %8.2f %10.3f\n' "probe-fit --threads 2 (target <= 300 s)" "$w64" "$c64" "$(awk -v c="$c64" -v n="$n64" 'BEGIN{print c / n}')"
echo "solver newton-cg (auto); mean Newton iterations $iters64; not converged: $unconv64"
echo
echo "scikit-learn newton-cg (float32, as the study) on a sample; test split, our predictions vs sklearn's:"
printf '%-10s %10s %6s %12s %12s %8s %10s %10s\n' probe "CPU s" iters "agree test" "max |dF1|" tokens "macroF1 sk" "ours"
grep -v '^TOTAL' "$TMPD/sk64.txt" | while read -r p a b c d e f g; do
  printf '%-10s %10s %6s %12s %12s %8s %10s %10s\n' "$p" "$a" "$b" "$c" "$d" "$e" "$f" "$g"; done
read -r _ sk64 nsk64 < <(grep '^TOTAL' "$TMPD/sk64.txt")
awk -v s="$sk64" -v n="$n64" -v c="$c64" -v w="$w64" -v k="$nsk64" 'BEGIN {
  printf "\nsklearn extrapolated to %d probes (mean of %d measured x %d): %.0f CPU s\n", n, k, n, s * n
  printf "ratio, CPU s per probe, sklearn / probe-fit: %.0fx; sklearn CPU s (one core) / probe-fit wall s on 2 cores: %.0fx\n", s * n / c, s * n / w
}'

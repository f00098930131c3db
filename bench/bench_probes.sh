# bench_probes.sh: probe-fit on all 256 probes (8 layers x 16 heads x {k, q})
# of a random TinyStories-1M-shaped model over 40,000 training tokens with
# ~36 POS-like tags (target: <= 30 s on 2 cores), side by side in the same
# run with scikit-learn's LogisticRegression(solver='newton-cg',
# max_iter=100) on a few of the same probes (same features: the float32
# values read back from the stream), whose per-probe cost is extrapolated to
# 256 probes.
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

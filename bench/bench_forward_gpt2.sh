#!/usr/bin/env bash
# bench_forward_gpt2.sh: forward-dump on GPT-2 small's exact shape (random
# weights: model-init --gpt2-small-config), q and k of all 144 heads dumped,
# 2 threads, side by side in one run with
#   - PyTorch's forward of the same model on the same tokens
#     (bench/bench_forward_gpt2_torch.py, 1 and 2 threads; the faster is the
#     reference), and
#   - the machine's OpenBLAS sgemm rate on the forward's shapes
#     (bench/sgemm_rate.c: the four products of a layer with as many rows as
#     forward-dump gives them: GPT-2 small runs stories in groups of about 512
#     tokens; OpenBLAS with 2 threads, and 2 threads running single-threaded
#     OpenBLAS each, which is what forward-dump does), measured before and
#     after the forward runs.
# At this width both forwards are matrix-multiply bound, so the forward's
# GFLOP/s (2 T (3D^2 + D^2 + 2 D I) L for the projections + 2 D T (T+1) L for
# q.k and p.v, per story) is reported against the sgemm rate.
#
# Tokens: the mirror's first BENCH_STORIES stories (default 20) through
# bin/tokenize.  forward-dump's model load (reading, hashing and transposing
# 500 MB) is timed alone with an empty input and reported apart.
set -euo pipefail
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
N=${BENCH_STORIES:-20}
THREADS=2
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
STORIES=$DATA/stories/tinystories-train-first2316.txt

"$BIN/model-init" --gpt2-small-config --seed 1 -o "$TMP/model"
"$BIN/tokenize" --stories "0-$((N - 1))" "$STORIES" | "$BIN/stream-view" --no-header |
  awk -F'\t' '$1 != s { if (NR > 1) print line; s = $1; line = $3; next } { line = line " " $3 } END { print line }' >"$TMP/ids.txt"
: >"$TMP/empty.txt"
ntok=$(wc -w <"$TMP/ids.txt")
lengths=$(awk '{ printf("%s%d", (NR > 1 ? " " : ""), NF) }' "$TMP/ids.txt")
# the rows of each product: forward-dump's groups (tools/forward-dump.c:
# stories until 512 tokens, a one-token story alone)
groups=$(awk '{ if (NF == 1) { if (g) out = out " " g; out = out " 1"; g = 0; next }
  g += NF; if (g >= 512) { out = out " " g; g = 0 } } END { if (g) out = out " " g; print substr(out, 2) }' "$TMP/ids.txt")
# the forward's flops: projections and attention, per story of T tokens
gflop=$(awk -v D=768 -v I=3072 -v L=12 '{ T = NF; f += 2 * T * (4 * D * D + 2 * D * I) * L + 2 * D * T * (T + 1) * L }
  END { printf "%.3f", f / 1e9 }' "$TMP/ids.txt")

cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra $(pkg-config --cflags openblas) "$TOP/bench/sgemm_rate.c" \
  $(pkg-config --libs openblas) -lpthread -o "$TMP/sgemm_rate"
sgemm() { # -> GFLOP/s: "two_threads two_by_one" per wall second, the same per CPU second
  # shellcheck disable=SC2086
  "$TMP/sgemm_rate" 768 3072 1.5 $groups | awk '{ v[NR] = $4; c[NR] = $6 } END { print v[1], v[2], c[1], c[2] }'
}
run_c() { # run_c IDS -> "wall maxrss_kb cpu"
  /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$BIN/forward-dump" --model "$TMP/model" --ids-text "$1" \
    --vectors q,k --threads "$THREADS" -o "$TMP/acts.hs"
  awk '{ print $1, $2, $3 + $4 }' "$TMP/time"
}

read -r s2a s11a cs2a cs11a < <(sgemm)
read -r l_s l_kb l_cpu < <(run_c "$TMP/empty.txt")
read -r c_s c_kb c_cpu < <(run_c "$TMP/ids.txt")
"$PY" "$TOP/bench/bench_forward_gpt2_torch.py" --model "$TMP/model" --ids "$TMP/ids.txt" --threads 1,2 >"$TMP/torch.txt"
read -r c2_s c2_kb c2_cpu < <(run_c "$TMP/ids.txt")
read -r s2b s11b cs2b cs11b < <(sgemm)
out_mb=$(du -m "$TMP/acts.hs" | cut -f1)
t1=$(awk '$1 == "threads" && $2 == 1 { print $6, $8 }' "$TMP/torch.txt")
t2=$(awk '$1 == "threads" && $2 == 2 { print $6, $8 }' "$TMP/torch.txt")

echo "forward-dump bench: GPT-2 small's config (random test model), q,k of 12x12 heads, $THREADS threads"
echo "tokens: $ntok in $N stories (bin/tokenize; lengths $lengths); forward: $gflop GFLOP"
echo "rows per product (forward-dump's groups of stories): $groups"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$ntok" -v gf="$gflop" -v cs="$c_s" -v ccpu="$c_cpu" -v c2s="$c2_s" -v c2cpu="$c2_cpu" -v ls="$l_s" -v lcpu="$l_cpu" \
    -v kb="$c_kb" -v t1="$t1" -v t2="$t2" -v s2a="$s2a" -v s2b="$s2b" -v s11a="$s11a" -v s11b="$s11b" -v mb="$out_mb" \
    -v cs2a="$cs2a" -v cs2b="$cs2b" -v cs11a="$cs11a" -v cs11b="$cs11b" 'BEGIN {
  split(t1, a); split(t2, b); t1s = a[1]; t1c = a[2]; t2s = b[1]; t2c = b[2]
  # the faster of the two C runs (a loaded machine slows one or the other)
  if (c2s < cs) { cs = c2s; ccpu = c2cpu }
  fs = cs - ls; if (fs <= 0) fs = cs   # forward alone: minus the model load
  best = t1s < t2s ? t1s : t2s; bestc = t1s < t2s ? t1c : t2c
  sg2 = (s2a > s2b ? s2a : s2b); sg11 = (s11a > s11b ? s11a : s11b); sg = sg2 > sg11 ? sg2 : sg11
  printf "%-40s %9s %9s %10s %11s %9s\n", "run", "wall s", "CPU s", "tokens/s", "tok/CPU-s", "GFLOP/s"
  printf "%-40s %9.2f %9.2f %10.0f %11.0f %9.1f\n", "forward-dump (C, incl. load + zstd)", cs, ccpu, n / cs, n / ccpu, gf / cs
  printf "%-40s %9.2f %9.2f %10.0f %11.0f %9.1f\n", "forward-dump, forward only (minus load)", fs, ccpu - lcpu, n / fs, n / (ccpu - lcpu), gf / fs
  printf "%-40s %9.2f %9.2f %10s %11s %9s\n", "forward-dump, model load alone", ls, lcpu, "", "", ""
  printf "%-40s %9.2f %9.2f %10.0f %11.0f %9.1f\n", "PyTorch reference, 2 threads", t2s, t2c, n / t2s, n / t2c, gf / t2s
  printf "%-40s %9.2f %9.2f %10.0f %11.0f %9.1f\n", "PyTorch reference, 1 thread", t1s, t1c, n / t1s, n / t1c, gf / t1s
  printf "OpenBLAS sgemm on the same shapes: 2 threads %.1f / %.1f GFLOP/s, 2 x 1 thread %.1f / %.1f (before / after)\n", s2a, s2b, s11a, s11b
  printf "  per CPU second: 2 threads %.1f / %.1f, 2 x 1 thread %.1f / %.1f\n", cs2a, cs2b, cs11a, cs11b
  csg = cs11a > cs11b ? cs11a : cs11b
  printf "speed-up (wall, incl. load) vs the faster PyTorch run: %.2fx (target >= 1.2x); forward only: %.2fx\n", best / cs, best / fs
  printf "speed-up per CPU-second vs that PyTorch run: %.2fx (robust when the machine is loaded)\n", (n / ccpu) / (n / bestc)
  printf "forward GFLOP/s vs the best sgemm rate (%.1f): %.0f%% incl. load, %.0f%% forward only (target >= 70%%)\n", sg, 100 * gf / cs / sg, 100 * gf / fs / sg
  printf "per CPU second (robust when loaded): forward %.1f GFLOP/CPU-s = %.0f%% of sgemm 2 x 1 thread (%.1f); incl. load %.0f%%\n", gf / (ccpu - lcpu), 100 * gf / (ccpu - lcpu) / csg, csg, 100 * gf / ccpu / csg
  printf "memory: %.1f MB peak RSS (weights 498 MB); output: %d MB of zstd-compressed q,k for %d tokens\n", kb / 1024, mb, n
}'

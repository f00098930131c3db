#!/usr/bin/env bash
# bench_forward.sh: forward-dump throughput on TinyStories-1M's config
# (random weights: a test model), q and k of all 128 heads dumped, 2 threads,
# side by side with a plain PyTorch forward of the same config on the same
# tokens with the same threads (bench/bench_forward_torch.py).
#
# Tokens: the mirror's first BENCH_STORIES stories (default 200) through
# bin/tokenize when it exists, else random ids with each story's length
# estimated from its bytes (4.3 bytes per token).  Memory: peak RSS for N and
# 2N stories (bounded by a batch of stories, not by the stream).
set -euo pipefail
: "${TOP:?}" "${BIN:?}" "${DATA:?}"
N=${BENCH_STORIES:-200}
THREADS=${BENCH_THREADS:-2}
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
STORIES=$DATA/stories/tinystories-train-first2316.txt

"$BIN/model-init" --tinystories-1m-config --seed 1 -o "$TMP/model"

make_ids() { # make_ids N OUT
  if [ -x "$BIN/tokenize" ]; then
    "$BIN/tokenize" --stories "0-$(($1 - 1))" "$STORIES" | "$BIN/stream-view" --no-header |
      awk -F'\t' '$1 != s { if (NR > 1) print line; s = $1; line = $3; next } { line = line " " $3 } END { print line }' >"$2"
    echo "real token ids from bin/tokenize"
  else
    "$PY" - "$STORIES" "$1" "$2" <<'PYEOF'
import random, sys
random.seed(1)
stories = open(sys.argv[1], encoding="utf-8").read().split("<|endoftext|>")[: int(sys.argv[2])]
with open(sys.argv[3], "w") as f:
    for s in stories:
        T = max(1, min(2048, round(len(s.strip().encode()) / 4.3)))
        f.write(" ".join(str(random.randrange(50257)) for _ in range(T)) + "\n")
PYEOF
    echo "random ids, story lengths from the stories' bytes (no bin/tokenize)"
  fi
}
src=$(make_ids "$N" "$TMP/ids.txt")
make_ids $((2 * N)) "$TMP/ids2.txt" >/dev/null
ntok=$(wc -w <"$TMP/ids.txt")

run_c() { # run_c IDS -> "seconds maxrss_kb cpu_seconds"
  /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$BIN/forward-dump" --model "$TMP/model" --ids-text "$1" \
    --vectors q,k --threads "$THREADS" -o "$TMP/acts.hs"
  awk '{ print $1, $2, $3 + $4 }' "$TMP/time"
}
read -r c_s c_kb c_cpu < <(run_c "$TMP/ids.txt")
# PyTorch with THREADS threads and with 1 (intra-op threads can lose on tiny
# matrices, badly so on a loaded machine); the faster one is the reference.
read -r t_tok t_s t_cpu < <("$PY" "$TOP/bench/bench_forward_torch.py" "$TMP/model" "$TMP/ids.txt" "$THREADS")
read -r t1_tok t1_s t1_cpu < <("$PY" "$TOP/bench/bench_forward_torch.py" "$TMP/model" "$TMP/ids.txt" 1)
read -r c2_s c2_kb c2_cpu < <(run_c "$TMP/ids2.txt")
out_mb=$(du -m "$TMP/acts.hs" | cut -f1)

echo "forward-dump bench: TinyStories-1M config (random test model), q,k of 8x16 heads, $THREADS threads"
echo "tokens: $ntok in $N stories ($src); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$ntok" -v cs="$c_s" -v ts="$t_s" -v tt="$t_tok" -v kb="$c_kb" -v kb2="$c2_kb" -v s2="$c2_s" -v N="$N" -v mb="$out_mb" -v t1s="$t1_s" -v th="$THREADS" -v ccpu="$c_cpu" -v tcpu="$t_cpu" -v t1cpu="$t1_cpu" 'BEGIN {
  best = ts < t1s ? ts : t1s
  printf "%-34s %9s %9s %10s %11s %10s\n", "run", "wall s", "CPU s", "tokens/s", "tok/CPU-s", "peak RSS"
  printf "%-34s %9.2f %9.2f %10.0f %11.0f %7.1f MB\n", "forward-dump (C, incl. load+zstd)", cs, ccpu, n / cs, n / ccpu, kb / 1024
  printf "%-34s %9.2f %9.2f %10.0f %11.0f %10s\n", "PyTorch reference, " th " threads", ts, tcpu, tt / ts, tt / tcpu, "-"
  printf "%-34s %9.2f %9.2f %10.0f %11.0f %10s\n", "PyTorch reference, 1 thread", t1s, t1cpu, tt / t1s, tt / t1cpu, "-"
  printf "%-34s %9.2f %9s %10s %11s %7.1f MB\n", "forward-dump, " 2 * N " stories", s2, "", "", "", kb2 / 1024
  printf "speed-up (wall) vs the faster PyTorch run: %.2fx (target >= 2x); C tokens/s %.0f (target >= 20000)\n", (n / cs) / (tt / best), n / cs
  printf "speed-up per CPU-second vs PyTorch 1 thread: %.2fx (robust when the machine is loaded)\n", (n / ccpu) / (tt / t1cpu)
  printf "memory: %.1f MB for %d stories, %.1f MB for %d (bounded by a batch of stories)\n", kb / 1024, N, kb2 / 1024, 2 * N
  printf "output: %d MB of zstd-compressed activations for %d tokens\n", mb, n
}'

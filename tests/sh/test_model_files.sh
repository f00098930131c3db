#!/usr/bin/env bash
# test_model_files.sh: forward-dump on model files saved well and saved
# hostile, with its peak memory measured (/usr/bin/time, Debian's `time`).
#
# tests/golden/tensors/gptneo/ (from tests/oracles/gen_tensor_fixtures.py):
# a tiny GPT-Neo as torch.save and as safetensors (float32 and float16,
# with the bool attn.bias buffers, masked_bias, an int64 buffer and a tied
# lm_head), and variants with a NaN, an infinity, an F64 value beyond
# float32, integer or bool dtypes where weights belong, and an unused view
# of 2^28 elements over a 1-element storage.  cases.txt says which must load
# and which must be refused with what.  4 MB pickles of repeated small
# opcodes are made here with printf and zip (not committed).
. "$TOP/tests/sh/lib.sh"
FD=$BIN/forward-dump
G=$TOP/tests/golden/tensors/gptneo
LIMIT_KB=$((128 * 1024))    # a refusal may cost this much at most (the ASan build peaks near 100 MB;
                            # before the bounded pickle machine: 0.5 to 1.5 GB)

if [ ! -x /usr/bin/time ]; then
  fail "/usr/bin/time missing (Debian package time; make check installs it)"
  exit 0
fi

# model DIR FILE: a model directory with the fixture's config and FILE as its weights
model() {
  rm -rf "$1"; mkdir -p "$1"; cp "$G/config.json" "$1/"
  case $2 in
    *.safetensors) cp "$2" "$1/model.safetensors" ;;
    *) cp "$2" "$1/pytorch_model.bin" ;;
  esac
}

# refused WHAT ERE DIR: forward-dump on DIR exits non-zero with one stderr
# line "forward-dump: ..." matching ERE, and peaks under LIMIT_KB
refused() {
  local what=$1 pat=$2 dir=$3 kb n
  if /usr/bin/time -f %M -o "$TMP/rss" "$FD" --model "$dir" "$TMP/ids.tok" >"$TMP/out" 2>"$TMP/err"; then
    fail "$what: exit 0"; return
  fi
  kb=$(tail -n 1 "$TMP/rss"); n=$(wc -l <"$TMP/err")
  if [ "$n" -ne 1 ] || ! grep -qE -- "^forward-dump: $pat" "$TMP/err" || [ -s "$TMP/out" ]; then
    fail "$what: $(head -c 400 "$TMP/err")"; return
  fi
  if [ "$kb" -gt "$LIMIT_KB" ]; then fail "$what: refused, but at a peak of $kb kB"; return; fi
  ok "$what: refused at a peak of $kb kB: $(cut -c1-160 "$TMP/err")"
}

# two stories (16 and 5 tokens) as a tokens stream
for i in $(seq 0 15); do printf '0\t%d\t%d\t%d\t%d\tw\n' "$i" $((i + 1)) $((2 * i)) $((2 * i + 1)); done >"$TMP/ids.tsv"
for i in 0 1 2 3 4; do printf '1\t%d\t%d\t%d\t%d\tw\n' "$i" $((49 - 7 * i)) $((2 * i)) $((2 * i + 1)); done >>"$TMP/ids.tsv"
"$BIN/stream-import" --kind tokens -o "$TMP/ids.tok" "$TMP/ids.tsv"

while IFS=$'\t' read -r file want; do
  case $file in '#'*|'') continue ;; esac
  d=$TMP/m/${file//./_}
  model "$d" "$G/$file"
  if [ "$want" = ok ]; then
    # every vector of every head (all weights but the last MLP, ln_f and the
    # head), then greedy ids (those too): the dump as text, %.9g = exact float32
    if "$FD" --model "$d" --vectors q,k,v,z,a -o "$d.act" "$TMP/ids.tok" 2>"$TMP/err" &&
       "$FD" --model "$d" --generate 12 --prompt-ids 1,2,3 2>>"$TMP/err" | grep '^ids' >"$d.gen"; then
      "$BIN/stream-view" --no-header "$d.act" >"$d.txt"
      cat "$d.gen" >>"$d.txt"
      check_eq "$file loads (its bool and int64 buffers, and float16's -inf masked_bias, are never read): 21 tokens dumped, 12 generated" \
        "$(grep -vc '^ids' "$d.txt") $(tr ',' '\n' <"$d.gen" | wc -l)" "21 15"
    else
      fail "$file: $(head -c 300 "$TMP/err")"
    fi
  else
    refused "$file" "$d/(pytorch_model.bin|model.safetensors): (model: )?$want" "$d"
  fi
done <"$G/cases.txt"
check_same_file "ok.bin and ok.safetensors give bit-identical dumps and generations" "$TMP/m/ok_bin.txt" "$TMP/m/ok_safetensors.txt"
check_same_file "ok_f16.bin and ok_f16.safetensors (float16, widened) give bit-identical dumps and generations" \
  "$TMP/m/ok_f16_bin.txt" "$TMP/m/ok_f16_safetensors.txt"
check "float16 weights give other activations than float32 ones (the widening path ran)" \
  bash -c "! cmp -s '$TMP/m/ok_bin.txt' '$TMP/m/ok_f16_bin.txt'"

# 4 MB pickles of repeated small opcodes, zipped as torch.save would (stored).
# Before the bounded pickle machine these reached 0.5-1.5 GB before refusal.
if command -v zip >/dev/null; then
  # bigpickle NAME PREFIX REPEAT: data.pkl = PROTO 2, PREFIX, then REPEAT up to 4 MB
  bigpickle() {
    local d=$TMP/pk/$1
    rm -rf "$d"; mkdir -p "$d/x"
    { printf '\x80\x02'; printf "$2"; yes "$(printf "$3")" | tr -d '\n' | head -c 4194300; } >"$d/x/data.pkl"
    (cd "$d" && zip -q -0 pytorch_model.bin x/data.pkl)
    model "$TMP/pm/$1" "$d/pytorch_model.bin"
  }
  bigpickle dicts '' '}'
  refused "a 4 MB pickle of EMPTY_DICTs" "$TMP/pm/dicts/pytorch_model.bin: data.pkl offset [0-9]+: pickle stack deeper" "$TMP/pm/dicts"
  bigpickle tuples 'N' '\x85'
  refused "a 4 MB pickle of TUPLE1s (each wraps the last)" \
    "$TMP/pm/tuples/pytorch_model.bin: data.pkl offset [0-9]+: running this pickle would take more than 6[45] MB" "$TMP/pm/tuples"
  bigpickle appends ']' 'Na'
  refused "a 4 MB pickle of NONE APPENDs" "$TMP/pm/appends/pytorch_model.bin: data.pkl offset [0-9]+: pickle ends without STOP" "$TMP/pm/appends"
  bigpickle memo 'N' '\x94'
  refused "a 4 MB pickle of MEMOIZEs" "$TMP/pm/memo/pytorch_model.bin: data.pkl offset [0-9]+: pickle ends without STOP" "$TMP/pm/memo"
else
  fail "zip missing (Debian package zip; make check installs it)"
fi

# test_bad_input.sh: the bad-input matrix of issue 15.  Every tool in tools/
# is handed bad input of every kind (options, files, streams, reports, model
# directories) and must refuse it with exactly one stderr line "TOOL: ..."
# naming the problem, a non-zero exit, no crash or hang, and nothing left
# behind by -o; and valid but unusual input the toolkit itself writes
# (0-token and one-token stories, shards joined with cat, partial probe
# reports) must be accepted, with no NaN or Inf printed as a result.
#
# The cases are the table at the end, one per line:
#     TOOL | STDIN | ARGS | EXPECT
#   STDIN   -        /dev/null
#           closed   stdin closed (<&-)
#           nobody   /dev/null, the tool run as an unprivileged user (to
#                    meet a file it may not read even when the suite runs
#                    as root; skipped when that cannot be arranged)
#           else     a file (variables expand), e.g. $TOK
#   ARGS    the arguments, as shell words (variables and quotes expand)
#   EXPECT  refuse REGEX    exit != 0, exactly one stderr line, starting
#                           "TOOL: " and matching REGEX (bash =~, ERE), the
#                           output directory $O left empty (outputs go there)
#                           and nothing on stdout
#           refuse-late REGEX  the same, but stdout may hold what came before
#                           the problem: a filter that streams (stream-view,
#                           activity, attn-slice's rows) prints the stories
#                           read before a bad one (a NaN in story 1, a
#                           second shard of another model, a --story found
#                           missing at the end); -o FILE is still removed
#           accept          exit 0; no "nan"/"inf" field in stdout (a stream
#                           on stdout is read back with stream-view first)
#           accept-nan      exit 0; NaN allowed (report-grid's documented
#                           cell for an unprobed head; stream-view showing a
#                           stream's floats as they are)
# In every case: no sanitizer report, done within 60 s (timeout; a hang
# fails).  A line "# KNOWN: WHY" marks the next case as a known failure in
# code owned elsewhere: it is run, and printed as "skip - KNOWN: WHY" when it
# still fails (a KNOWN case that passes is reported as a failure, so the
# marker is removed once the fix lands).
#
# Run alone: make check TESTS=bad_input (SANITIZE=1 too).  BADIN_TIMES=FILE
# appends each case's wall time and stderr to FILE, to review the messages.
. tests/sh/lib.sh
start=$(date +%s)
F=$TMP/f O=$TMP/out
mkdir -p "$F" "$O"
S=$DATA/stories/tinystories-train-first2316.txt
TOKDIR=$DATA/tokenizer
TAGGER=$DATA/nltk/averaged_perceptron_tagger_eng

# --- fixtures -------------------------------------------------------------
setup_failed=0
mk() { if ! "$@" >/dev/null 2>"$TMP/mk.err"; then fail "setup: $*"; sed 's/^/    /' "$TMP/mk.err" | head -n 5; setup_failed=1; fi; }
mkdir "$F/dir"
DIR=$F/dir NOENT=$F/nonexistent EMPTY=$F/empty
: >"$EMPTY"
# Binary garbage (fixed bytes) and plain text.
perl -e 'srand(7); print map { chr(int(rand(256))) } 1 .. 4096' >"$F/garbage"
GARB=$F/garbage
TXT=$F/text.txt
printf 'Once upon a time, there was a cat.\n<|endoftext|>\nThe dog ran home.\n' >"$TXT"

# Models: M and M2 differ only in their seed (streams from another model);
# MV has a 300-token vocabulary (GPT-2's ids are outside it), MP 16
# positions (the stories are longer), MG is a GPT-2.
MI="--layers 2 --heads 2 --hidden 8 --vocab 50257 --positions 256"
# shellcheck disable=SC2086
{
mk "$BIN/model-init" $MI --seed 5 -o "$F/m"
mk "$BIN/model-init" $MI --seed 6 -o "$F/m2"
mk "$BIN/model-init" --layers 2 --heads 2 --hidden 8 --vocab 300 --positions 256 --seed 5 -o "$F/mv"
mk "$BIN/model-init" --layers 2 --heads 2 --hidden 8 --vocab 50257 --positions 16 --seed 5 -o "$F/mp"
mk "$BIN/model-init" --gpt2 $MI --seed 5 -o "$F/mg"
}
M=$F/m M2=$F/m2 MV=$F/mv MP=$F/mp MG=$F/mg

# Streams: 3 stories through the pipeline.
mk "$BIN/tokenize" --stories 0-2 -o "$F/tok" "$S"
mk "$BIN/postag-join" --tagger "$TAGGER" -o "$F/tag" "$F/tok"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts" "$F/tag"
mk "$BIN/forward-dump" --model "$M" --vectors q,k -o "$F/acts-qk" "$F/tag"
mk "$BIN/forward-dump" --model "$M" --vectors z -o "$F/acts-z" "$F/tag"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a --layers 0 -o "$F/acts-l0" "$F/tag"
mk "$BIN/forward-dump" --model "$M2" --vectors q,k,z,a -o "$F/acts2" "$F/tag"
mk "$BIN/forward-dump" --model "$MG" --vectors q,k,z,a -o "$F/actsg" "$F/tag"
mk "$BIN/probe-fit" -o "$F/probes" "$F/acts"
mk "$BIN/probe-fit" -o "$F/probes2" "$F/acts2"
mk "$BIN/probe-fit" --layers 1 --heads 0 --vectors k -o "$F/probes-sub" "$F/acts"
mk "$BIN/probe-eval" --probes "$F/probes" --json k="$F/k.json" --json q="$F/q.json" -o "$F/report.csv" "$F/acts"
mk "$BIN/probe-eval" --probes "$F/probes-sub" --json "$F/sub.json" -o /dev/null "$F/acts"
TOK=$F/tok TAG=$F/tag ACTS=$F/acts ACTSQK=$F/acts-qk ACTSZ=$F/acts-z ACTSL0=$F/acts-l0 ACTS2=$F/acts2 ACTSG=$F/actsg
PRB=$F/probes PRB2=$F/probes2 PRBSUB=$F/probes-sub KJ=$F/k.json QJ=$F/q.json SUBJ=$F/sub.json
STUDY=$DATA/study/results_keys.json

# Valid but unusual: a 0-token story between two others (tokenize
# --keep-empty), one-token stories (tokenize, stream-import), shards joined
# with cat, a stream with no story at all.
printf 'Once upon a time.\n<|endoftext|>\n<|endoftext|>\nThe end.\n' >"$F/empty-story.txt"
mk "$BIN/tokenize" --keep-empty -o "$F/tok0" "$F/empty-story.txt"
mk "$BIN/postag-join" --tagger "$TAGGER" -o "$F/tag0" "$F/tok0"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts0" "$F/tag0"
printf 'Hi' >"$F/hi.txt"
mk "$BIN/tokenize" --keep-newlines -o "$F/tok1" "$F/hi.txt"
mk "$BIN/postag-join" --tagger "$TAGGER" -o "$F/tag1" "$F/tok1"
printf '0\t0\t17250\t0\t2\tHi\tUH\n1\t0\t13\t0\t1\t.\t.\n' >"$F/one.tsv"
mk "$BIN/stream-import" -o "$F/tag1i" "$F/one.tsv"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts1" "$F/tag1i"
for k in 0 1; do
  mk "$BIN/tokenize" --stories 0-3 --shard $k/2 -o "$F/tok-s$k" "$S"
  mk "$BIN/postag-join" --tagger "$TAGGER" -o "$F/tag-s$k" "$F/tok-s$k"
  mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts-s$k" "$F/tag-s$k"
done
cat "$F/tok-s0" "$F/tok-s1" >"$F/tok-cat"
cat "$F/tag-s0" "$F/tag-s1" >"$F/tag-cat"
cat "$F/acts-s0" "$F/acts-s1" >"$F/acts-cat"
mk "$BIN/tokenize" -o "$F/tok-none" "$EMPTY"
mk "$BIN/postag-join" --tagger "$TAGGER" -o "$F/tag-none" "$F/tok-none"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts-none" "$F/tag-none"
# Only 0-token stories; text with CR LF line ends, with a byte-order mark.
printf '<|endoftext|>\n<|endoftext|>\n' >"$F/separators.txt"
mk "$BIN/tokenize" --keep-empty -o "$F/tok-zero" "$F/separators.txt"
mk "$BIN/postag-join" --tagger "$TAGGER" -o "$F/tag-zero" "$F/tok-zero"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts-zero" "$F/tag-zero"
printf 'Hi there.\r\n<|endoftext|>\r\nBye.\r\n' >"$F/crlf.txt"
printf '\xef\xbb\xbfHi there.\n' >"$F/bom.txt"
# A short story, then a long one: too long for MP's 16 positions, found late.
{ printf 'Hi.\n<|endoftext|>\n'; head -c 1500 "$S"; } >"$F/short-long.txt"
mk "$BIN/tokenize" -o "$F/tok-short-long" "$F/short-long.txt"
TOK0=$F/tok0 TAG0=$F/tag0 ACTS0=$F/acts0 TOK1=$F/tok1 TAG1=$F/tag1 TAG1I=$F/tag1i ACTS1=$F/acts1
TOKCAT=$F/tok-cat TAGCAT=$F/tag-cat ACTSCAT=$F/acts-cat TOKNONE=$F/tok-none TAGNONE=$F/tag-none
ACTSNONE=$F/acts-none TAGZERO=$F/tag-zero ACTSZERO=$F/acts-zero

# Broken streams: cut at various bytes, one byte flipped, NaN and -Inf
# floats (well formed otherwise: tests/helpers/stream-set-float), shards of
# different kinds or models joined, a stream's text in place of a stream.
cut_at() { head -c "$2" "$1" >"$3"; }
flip_at() { cp "$1" "$3"; printf '\x5a' | dd of="$3" bs=1 seek="$2" conv=notrunc status=none; }
size() { wc -c <"$1"; }
for s in tok tag acts probes; do
  n=$(size "$F/$s")
  cut_at "$F/$s" 3 "$F/$s-cut3"
  cut_at "$F/$s" 40 "$F/$s-cut40"
  cut_at "$F/$s" $((n / 2)) "$F/$s-half"
  cut_at "$F/$s" $((n - 1)) "$F/$s-less1"
  flip_at "$F/$s" $((n / 2)) "$F/$s-flip"
done
mk "$TESTBIN/helpers/stream-set-float" "$ACTS" "$F/acts-nan" 1 3 0 nan
mk "$TESTBIN/helpers/stream-set-float" "$ACTS" "$F/acts-inf" 2 0 5 -inf
ACTSNAN=$F/acts-nan ACTSINF=$F/acts-inf
# Headers that lie about the records (tests/helpers/stream-set-header): a
# d-head that does not match the floats, no valid window, attention-layers
# for one layer of two, no model named.
SSH=$TESTBIN/helpers/stream-set-header
mk "$SSH" "$ACTS" "$F/h-dhead" d-head 5
mk "$SSH" "$ACTS" "$F/h-window" window-size 0
mk "$SSH" "$ACTS" "$F/h-attn" attention-layers global
mk "$SSH" "$ACTS" "$F/h-nomodel0" model
mk "$SSH" "$F/h-nomodel0" "$F/h-nomodel" model-sha256
cat "$TOK" "$ACTS" >"$F/mixed-kinds"
cat "$ACTS" "$ACTS2" >"$F/mixed-models"
"$BIN/stream-view" "$TAG" >"$F/tag.tsv" 2>/dev/null
cat "$TAG" "$GARB" >"$F/tag-garbage"
cat "$TAG" "$ACTS" >"$F/mixed-tag-acts"

# The controls (control-task, probe-baselines, probe-bootstrap): activations
# with no tags (forward-dump on tokens) and of a one-token story; control-task
# streams (seed 1; seed 2; another distribution) and probes fitted on them;
# probe shards joined with cat, and a stream joined twice; probes with tag
# rules; probes whose header names no model or holds a bad rule.
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts-untagged" "$TOK"
mk "$BIN/forward-dump" --model "$M" --vectors q,k,z,a -o "$F/acts-one" "$TAG1"
mk "$BIN/control-task" --seed 1 --dist-from "$TAG" -o "$F/ct-tag" "$TAG"
mk "$BIN/control-task" --seed 1 --dist-from "$TAG" -o "$F/ct-acts" "$ACTS"
mk "$BIN/control-task" --seed 2 --dist-from "$TAG" -o "$F/ct2-acts" "$ACTS"
mk "$BIN/control-task" --seed 1 --dist-from "$TAG0" -o "$F/ctd-acts" "$ACTS"
mk "$BIN/probe-fit" -o "$F/ct-probes" "$F/ct-acts"
mk "$BIN/probe-fit" --layers 0 -o "$F/probes-l0" "$ACTS"
mk "$BIN/probe-fit" --layers 1 -o "$F/probes-l1" "$ACTS"
cat "$F/probes-l0" "$F/probes-l1" >"$F/probes-cat"
cat "$PRB" "$PRB" >"$F/probes-twice"
mk "$BIN/probe-fit" --drop-empty --merge 'VB*=VB' --drop DT -o "$F/probes-rules" "$ACTS"
mk "$SSH" "$PRB" "$F/probes-nomodel" model-sha256
mk "$SSH" "$F/probes-rules" "$F/probes-badrule" probe-merge nonsense
ACTSUNTAG=$F/acts-untagged ACTSONE=$F/acts-one CTTAG=$F/ct-tag CTACTS=$F/ct-acts CT2ACTS=$F/ct2-acts
CTDACTS=$F/ctd-acts CTPRB=$F/ct-probes PRBCAT=$F/probes-cat PRBTWICE=$F/probes-twice PRBRULES=$F/probes-rules
PRBNOMODEL=$F/probes-nomodel PRBBADRULE=$F/probes-badrule

# Hostile TSV rows (stream-import) and id lines (forward-dump --ids-text).
printf 'x\t0\t17250\t0\t2\tHi\tUH\n' >"$F/bad-story.tsv"
printf '0\t-1\t17250\t0\t2\tHi\tUH\n' >"$F/neg-pos.tsv"
printf '0\t0\t99999999999\t0\t2\tHi\tUH\n' >"$F/big-id.tsv"
printf '0\t0\t17250\t5\t2\tHi\tUH\n' >"$F/span.tsv"
printf '0\t0\t17250\n' >"$F/short-row.tsv"
printf '0\t0\t17250\t0\t2\tHi\tUH\n0\t5\t13\t2\t3\t.\t.\n' >"$F/pos-gap.tsv"
printf '0\t0\t17250\t0\t2\tHi\tUH\n0\t1\t13\t2\t3\t.\n' >"$F/mixed-tags.tsv"
printf '0\t1 -5 3\n' >"$F/ids-neg.txt"
printf '0\t1 50257 3\n' >"$F/ids-big.txt"

# Unreadable: a file the tool may not open.  As root, run the tool as
# nobody (setpriv); otherwise chmod 000 alone does it.
NOREAD=$F/noread NOREADJ=$F/noread.json
cp "$TOK" "$NOREAD"; cp "$KJ" "$NOREADJ"
chmod 000 "$NOREAD" "$NOREADJ"
ASNOBODY=
if [ "$(id -u)" = 0 ]; then
  if command -v setpriv >/dev/null 2>&1; then
    ASNOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --"
    chmod 711 "$TMP"; chmod 755 "$F"
  else
    ASNOBODY=none
  fi
fi

# Hostile JSON reports (report-grid, probe-compare).
J=$F/json; mkdir "$J"
printf '[]' >"$J/empty-array.json"
printf '{}' >"$J/object.json"
printf 'null' >"$J/null.json"
printf '[[null, null], [null, null]]' >"$J/all-null.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": "0.5", "support": 3}}]]' >"$J/string-f1.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": null, "support": 3}}]]' >"$J/null-f1.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": 1e999, "support": 3}}]]' >"$J/huge-f1.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": 7, "support": -3}}]]' >"$J/f1-7.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": 0.5, "support": -3}}]]' >"$J/support-neg.json"
printf '[[{"NN": 5}]]' >"$J/tag-number.json"
printf '[[{"accuracy": "high"}]]' >"$J/accuracy-string.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": 0.5, "support": 3}}], [{}, {}, {}]]' >"$J/ragged.json"
M5='{"precision": 1, "recall": 1, "f1-score": 0.5, "support": 3}'
printf '[[{"NN": %s, "accuracy": 0.5}]]' "$M5" >"$J/noavg.json"
printf '[[{"NN": %s, "NN": %s, "macro avg": %s, "weighted avg": %s}]]' "$M5" "$M5" "$M5" "$M5" >"$J/dupkey.json"
printf '[[{"%s": %s, "macro avg": %s, "weighted avg": %s}]]' "$(printf 'T%.0s' {1..70})" "$M5" "$M5" "$M5" >"$J/longtag.json"
printf '0\t0\t7\t0\t2\tHi\taccuracy\n' >"$F/accuracy.tsv"
printf '0\t0\t7\t0\t2\tHi\t(none)\n' >"$F/none-tag.tsv"
printf '[[{"NN": %s, "macro avg": %s, "weighted avg": %s}, 7]]' "$M5" "$M5" "$M5" >"$J/head-number.json"
printf '[[{"NN": {"precision": 1, "recall": 1, "f1-score": 0.5, "support": 3}}]' >"$J/unclosed.json"
perl -e 'print "[" x 100000, "]" x 100000' >"$J/deep.json"
perl -e 'print "[[{\"NN\": {\"f1-score\": 1", "0" x 5000, "}}]]"' >"$J/long-number.json"
# probe-compare: the issue's ragged study layout (layer 1 has 3 heads).
perl -e '
  my $r = q({"NN": {"precision": 1, "recall": 1, "f1-score": 0.5, "support": 3}, "accuracy": 0.5,
             "macro avg": {"precision": 1, "recall": 1, "f1-score": 0.5, "support": 3},
             "weighted avg": {"precision": 1, "recall": 1, "f1-score": 0.5, "support": 3}});
  print "[[", join(",", ($r) x 2), "],[", join(",", ($r) x 3), "]]"' >"$J/ragged-reports.json"
sed 's/"f1-score": 0.5/"f1-score": "0.5"/' "$J/ragged-reports.json" | perl -0777 -pe 's/\],\[.*\]\]/]]/s' >"$J/string-reports.json"

# Hostile model directories: config.json edited, weights cut or garbage.
# cfg NAME SED: a copy of M whose config.json is run through sed.
cfg() { mkdir "$F/cfg-$1"; ln -s "$M/model.safetensors" "$F/cfg-$1/model.safetensors"; sed -e "$2" "$M/config.json" >"$F/cfg-$1/config.json"; }
cfg neg-hidden 's/"hidden_size": 8/"hidden_size": -8/'
cfg huge-hidden 's/"hidden_size": 8/"hidden_size": 65536/'
cfg huge-inner 's/"intermediate_size": null/"intermediate_size": 1000000/'
cfg huge-vocab 's/"vocab_size": 50257/"vocab_size": 16777216/'
cfg huge-layers 's/"num_layers": 2/"num_layers": 1000000000000/'
cfg float-heads 's/"num_heads": 2/"num_heads": 2.5/'
cfg string-heads 's/"num_heads": 2/"num_heads": "2"/'
cfg three-heads 's/"num_heads": 2/"num_heads": 3/'
cfg no-hidden '/"hidden_size"/d'
cfg null-layers 's/"num_layers": 2/"num_layers": null/'
cfg bad-kind 's/"local"/"sparse"/'
cfg neg-eps 's/"layer_norm_epsilon": 1e-5/"layer_norm_epsilon": -1/'
cfg bert 's/"gpt_neo"/"bert"/'
cfg zero-positions 's/"max_position_embeddings": 256/"max_position_embeddings": 0/'
cfg huge-number 's/"window_size": 8/"window_size": 1e400/'
cfg array '1s/.*/[/; $s/.*/]/'
mkdir "$F/cfg-gpt2-wide"; ln -s "$MG/model.safetensors" "$F/cfg-gpt2-wide/"
sed 's/"n_embd": 8/"n_embd": 65536/' "$MG/config.json" >"$F/cfg-gpt2-wide/config.json"
# cfgg NAME SED: the same from the GPT-2 model MG.
cfgg() { mkdir "$F/cfg-$1"; ln -s "$MG/model.safetensors" "$F/cfg-$1/model.safetensors"; sed -e "$2" "$MG/config.json" >"$F/cfg-$1/config.json"; }
cfgg g2-zero-heads 's/"n_head": 2/"n_head": 0/'
cfgg g2-string-scale 's/"scale_attn_weights": true/"scale_attn_weights": "yes"/'
cfgg g2-untied 's/"vocab_size": 50257/"vocab_size": 50257, "tie_word_embeddings": false/'
cfgg g2-relu 's/"gelu_new"/"relu"/'
cfgg g2-positions 's/"n_positions": 256/"n_positions": 4/'
mkdir "$F/cfg-missing"; ln -s "$M/model.safetensors" "$F/cfg-missing/model.safetensors"
mkdir "$F/cfg-garbage"; ln -s "$M/model.safetensors" "$F/cfg-garbage/model.safetensors"; cp "$GARB" "$F/cfg-garbage/config.json"
mkdir "$F/cfg-deep"; ln -s "$M/model.safetensors" "$F/cfg-deep/model.safetensors"; cp "$J/deep.json" "$F/cfg-deep/config.json"
mkdir "$F/w-cut" "$F/w-garbage" "$F/w-empty" "$F/w-none"
for d in w-cut w-garbage w-empty w-none; do cp "$M/config.json" "$F/$d/"; done
head -c 5000 "$M/model.safetensors" >"$F/w-cut/model.safetensors"
cp "$GARB" "$F/w-garbage/model.safetensors"
mkdir "$F/w-bin"; cp "$M/config.json" "$F/w-bin/"; cp "$GARB" "$F/w-bin/pytorch_model.bin"
# A NaN in wte (the 17th float of the data; safetensors: u64 header length,
# header, data).
mkdir "$F/w-nan"; cp "$M/config.json" "$F/w-nan/"
perl -e 'open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $d = <$f>;
  my $n = unpack("Q<", substr($d, 0, 8)); substr($d, 8 + $n + 64, 4) = pack("L<", 0x7fc00000);
  open(my $o, ">:raw", $ARGV[1]) or die; print $o $d' "$M/model.safetensors" "$F/w-nan/model.safetensors"
: >"$F/w-empty/model.safetensors"
C=$F/cfg-
# Hostile tokenizer and tagger files.
printf '{"a": "x"}' >"$F/vocab-string.json"
printf '{"Hi": 0, "x": 0}' >"$F/vocab-dup.json"
mkdir "$F/tagger-garbage"
for s in weights tagdict classes; do cp "$GARB" "$F/tagger-garbage/averaged_perceptron_tagger_eng.$s.json"; done
mkdir "$F/tagger-array"
for s in weights tagdict classes; do printf '[1,2' >"$F/tagger-array/averaged_perceptron_tagger_eng.$s.json"; done

# Train cases run a tiny model, so that a wrongly accepted case ends soon;
# "one input at most" messages differ from tool to tool.
TINY="--steps 2 --layers 1 --heads 2 --hidden 8 --seq-len 16 --positions 32 --batch 2"
EXTRA='(too many|extra|one input|operand|argument)'

[ "$setup_failed" = 0 ] || { fail "setup failed: the matrix is not run"; exit 1; }
(cd "$F" && find . -type f ! -name 'noread*' -print0 | sort -z | xargs -0 sha256sum) >"$TMP/fixtures.sha"
setup_s=$(( $(date +%s) - start ))
check "setup took under 30 s (${setup_s}s)" test "$setup_s" -lt 30

# --- the runner -------------------------------------------------------------
# Cases are read into an array, then run by two workers (even and odd cases,
# each with its own scratch files and output directory $O); each case's
# lines go to $TMP/res/NNNNN and are printed in table order at the end.
# run_case keeps to shell builtins where it can: 500 cases, a few forks each.
shopt -s nullglob dotglob
trim() { local s=$2; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf -v "$1" '%s' "$s"; }
nanpat='(^|[[:space:],])[-+]?(nan|inf|infinity)([[:space:],]|$)'
sanpat='runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer'
zstd_magic=$'\x28\xb5\x2f\xfd'
# run_case TOOL STDIN ARGS EXPECT KNOWN (with W, O set by the worker):
# prints one ok / not ok / skip line, and a failure's stderr.
run_case() {
  local tool=$1 stdin=$2 args=$3 expect=$4 known=$5 pre= why= rc in=/dev/null
  local name="$tool $args${stdin:+ <$stdin}"
  eval "set -- $args"
  local left=("$O"/*)
  if [ ${#left[@]} -gt 0 ]; then rm -rf "$O"; mkdir "$O"; fi
  case $stdin in
    -|closed) ;;
    nobody)
      if [ "$ASNOBODY" = none ]; then skip "$name: cannot run as an unprivileged user"; return; fi
      pre=$ASNOBODY; chmod 777 "$O" ;;
    *) eval "in=$stdin" ;;
  esac
  [ -n "${BADIN_TIMES:-}" ] && local t0=$EPOCHREALTIME
  if [ "$stdin" = closed ]; then
    timeout -k 5 60 $pre "$BIN/$tool" "$@" >"$W/out" 2>"$W/err" <&-; rc=$?
  else
    timeout -k 5 60 $pre "$BIN/$tool" "$@" >"$W/out" 2>"$W/err" <"$in"; rc=$?
  fi
  local err=()
  mapfile -t err <"$W/err"
  [ -n "${BADIN_TIMES:-}" ] && echo "$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms $name  =>  ${err[*]:0:2}" >>"$BADIN_TIMES"
  if [ $rc = 124 ] || [ $rc = 137 ]; then why="no answer within 60 s"
  elif [[ ${err[*]} =~ $sanpat ]]; then why="sanitizer report: ${err[*]:0:3}"
  elif [ $rc -gt 128 ]; then why="killed by signal $((rc - 128))"
  else
    case $expect in
      refuse\ *|refuse-late\ *)
        local pat=${expect#refuse* }
        pat=${pat//'$EXTRA'/$EXTRA}
        left=("$O"/*)
        if [ $rc = 0 ]; then why="exit 0, want a refusal"
        elif [ ${#err[@]} != 1 ]; then why="${#err[@]} stderr lines, want 1"
        elif [[ ${err[0]} != "$tool: "* ]]; then why="the line does not start with '$tool: '"
        elif ! [[ ${err[0]} =~ $pat ]]; then why="the line does not match /$pat/"
        elif [ ${#left[@]} -gt 0 ]; then why="left behind in the output directory: ${left[*]##*/}"
        elif [ "${expect%% *}" = refuse ] && [ -s "$W/out" ]; then why="output on stdout before the refusal"
        fi ;;
      accept|accept-nan)
        if [ $rc != 0 ]; then why="exit $rc, want 0"
        elif [ "$expect" = accept ]; then
          local head=
          LC_ALL=C read -r -N 4 head <"$W/out"
          if [ "$head" = "$zstd_magic" ]; then
            "$BIN/stream-view" "$W/out" >"$W/view" 2>&1 || why="its stdout stream does not read back: $(head -n 1 "$W/view")"
          else
            cp "$W/out" "$W/view"
          fi
          if [ -z "$why" ] && grep -qiE "$nanpat" "$W/view"; then why="NaN or Inf in the output: $(grep -m1 -iE "$nanpat" "$W/view" | head -c 120)"; fi
        fi ;;
      *) why="bad EXPECT '$expect' in the table" ;;
    esac
  fi
  if [ -n "$known" ]; then
    if [ -n "$why" ]; then skip "KNOWN: $known ($name: $why)"
    else fail "$name: passes now; remove its '# KNOWN: $known' marker"; fi
  elif [ -z "$why" ]; then ok "$name"
  else
    fail "$name: $why"
    [ ${#err[@]} -gt 0 ] && printf '    stderr: %s\n' "${err[@]:0:4}"
  fi
}

c_tool=() c_stdin=() c_args=() c_expect=() c_known=() known=
declare -A ncases
n_known=0
while IFS= read -r line; do
  case $line in
    '# KNOWN: '*) known=${line#'# KNOWN: '}; continue ;;
    '#'*|'') continue ;;
  esac
  IFS='|' read -r tool stdin args expect <<<"$line"
  trim tool "$tool"
  ncases[$tool]=$(( ${ncases[$tool]:-0} + 1 ))
  [ -n "$known" ] && n_known=$((n_known + 1))
  c_tool+=("$tool") c_stdin+=("$stdin") c_args+=("$args") c_expect+=("$expect") c_known+=("$known")
  known=
done <<'CASES'
# tool        | stdin   | arguments                                              | expect
# --- tokenize: stories text -> tokens ---------------------------------------------
tokenize      | -       | --bogus $S                                               | refuse unknown option.*--bogus
tokenize      | -       | $S --stories                                             | refuse --stories
tokenize      | -       | --stories -1 $S                                          | refuse --stories.*'-1'
tokenize      | -       | --stories abc $S                                         | refuse --stories
tokenize      | -       | --stories '' $S                                          | refuse --stories
tokenize      | -       | --stories 5000 $S                                        | refuse (story|stories|index).*5000|5000.*(story|stories|input)
tokenize      | -       | --stories 99999999999999999999999 $S                     | refuse --stories
tokenize      | -       | --split both $S                                          | refuse --split
tokenize      | -       | --split test --train-fraction 1.5 $S                     | refuse --train-fraction
tokenize      | -       | --split test --train-fraction nan $S                     | refuse --train-fraction
tokenize      | -       | --split test --seed x $S                                 | refuse --seed
tokenize      | -       | --split test --seed 99999999999999999999999 $S           | refuse --seed
tokenize      | -       | --take '' $S                                             | refuse --take
tokenize      | -       | --take 0 $S                                              | refuse --take
tokenize      | -       | --take -3 $S                                             | refuse --take
tokenize      | -       | --shard 2/2 $S                                           | refuse --shard
tokenize      | -       | --shard 0/0 $S                                           | refuse --shard
tokenize      | -       | --shard x $S                                             | refuse --shard
tokenize      | -       | --max-tokens 3 --stories 0 $S                            | refuse (longer|more) than 3|3 tokens|--max-tokens
tokenize      | -       | --max-tokens -1 $S                                       | refuse --max-tokens
tokenize      | -       | $NOENT                                                   | refuse nonexistent.*No such file
tokenize      | -       | $DIR                                                     | refuse dir.*(directory|not a regular)
tokenize      | -       | $GARB                                                    | refuse garbage.*binary|binary
tokenize      | -       | $TOK                                                     | refuse binary|stream
tokenize      | -       | $TXT $NOENT                                              | refuse nonexistent.*No such file
tokenize      | nobody  | $NOREAD                                                  | refuse noread.*Permission denied
tokenize      | closed  |                                                          | refuse stdin is closed
tokenize      | -       | --stories 0 -o $O/missing/tokens $S                      | refuse missing
tokenize      | -       | --stories 0 -o $DIR $S                                   | refuse dir.*(directory|not a regular)
tokenize      | -       | --stories 0 -o '' $S                                     | refuse empty
tokenize      | -       | --vocab $NOENT $TXT                                      | refuse nonexistent.*No such file
tokenize      | -       | --vocab $DIR $TXT                                        | refuse dir.*(directory|not a regular)
tokenize      | -       | --vocab $GARB $TXT                                       | refuse vocab|JSON|json
tokenize      | -       | --vocab $F/vocab-string.json $TXT                        | refuse vocab|id
tokenize      | -       | --vocab $F/vocab-dup.json $TXT                           | refuse vocab|id|merge
tokenize      | -       | --merges $GARB $TXT                                      | refuse merges
tokenize      | -       | --merges $EMPTY $TXT                                     | refuse merges
tokenize      | -       | $EMPTY                                                   | accept
tokenize      | -       | --keep-empty $F/empty-story.txt                          | accept
tokenize      | -       | --keep-newlines $F/hi.txt                                | accept
tokenize      | -       | --ids --keep-empty $F/empty-story.txt                    | accept
tokenize      | -       | --keep-empty $F/separators.txt                           | accept
tokenize      | -       | --ids $F/crlf.txt                                        | accept
tokenize      | $F/bom.txt | --keep-newlines                                          | accept
# --- postag-join: tokens -> tagged --------------------------------------------------
postag-join   | -       | --bogus $TOK                                             | refuse unknown option.*--bogus
postag-join   | -       | $TOK $TOK                                                | refuse $EXTRA
postag-join   | -       | --align middle $TOK                                      | refuse --align
postag-join   | -       | --merge NN $TOK                                          | refuse --merge
postag-join   | -       | --merge 'QQ*=NN' $TOK                                    | refuse QQ
postag-join   | -       | --merge 'NN*=ZZ' $TOK                                    | refuse ZZ
postag-join   | -       | --keep ZZ $TOK                                           | refuse ZZ
postag-join   | -       | --tagger $NOENT $TOK                                     | refuse nonexistent
postag-join   | -       | --tagger $F/tagger-garbage $TOK                          | refuse tagger-garbage
postag-join   | -       | --tagger $F/tagger-array $TOK                            | refuse tagger-array
postag-join   | -       | $NOENT                                                   | refuse nonexistent.*No such file
postag-join   | -       | $DIR                                                     | refuse dir.*(directory|not a regular)
postag-join   | nobody  | $NOREAD                                                  | refuse noread.*Permission denied
postag-join   | -       | $EMPTY                                                   | refuse empty.*(empty|truncated|not a heads stream)
postag-join   | -       | $GARB                                                    | refuse not a heads stream
postag-join   | -       | $TXT                                                     | refuse not a heads stream
postag-join   | -       | $ACTS                                                    | refuse an activations stream
postag-join   | -       | $PRB                                                     | refuse probes
postag-join   | -       | $F/tok-cut40                                             | refuse truncated
postag-join   | -       | $F/tok-half                                              | refuse truncated|corrupt
postag-join   | -       | $F/tok-less1                                             | refuse truncated|corrupt
postag-join   | -       | $F/tok-flip                                              | refuse corrupt
postag-join   | -       | $F/mixed-kinds                                           | refuse different kinds
postag-join   | closed  |                                                          | refuse stdin is closed
postag-join   | -       | -o $O/missing/t $TOK                                     | refuse missing
postag-join   | -       | -o $DIR $TOK                                             | refuse dir.*(directory|not a regular)
postag-join   | -       | $TOK0                                                    | accept
postag-join   | -       | $TOK1                                                    | accept
postag-join   | -       | $TOKCAT                                                  | accept
postag-join   | -       | $TOKNONE                                                 | accept
postag-join   | -       | --align study $TAG                                       | accept
# --- stream-import: TSV rows -> tokens / tagged ---------------------------------------
stream-import | -       | --bogus $F/one.tsv                                       | refuse unknown option.*--bogus
stream-import | -       | --kind probes $F/one.tsv                                 | refuse --kind
stream-import | -       | --kind '' $F/one.tsv                                     | refuse --kind
stream-import | -       | $F/accuracy.tsv                                          | refuse tag named 'accuracy'
stream-import | -       | $F/none-tag.tsv                                          | refuse tag named '\(none\)'
stream-import | -       | $F/one.tsv $F/one.tsv                                    | refuse $EXTRA
stream-import | -       | $NOENT                                                   | refuse nonexistent.*No such file
stream-import | -       | $DIR                                                     | refuse dir.*(directory|not a regular)
stream-import | nobody  | $NOREAD                                                  | refuse noread.*Permission denied
stream-import | -       | $GARB                                                    | refuse binary
stream-import | -       | $TOK                                                     | refuse binary|not text
stream-import | $F/bad-story.tsv | -o $O/x                                                  | refuse :1: .*field 1
stream-import | $F/neg-pos.tsv | -o $O/x                                                  | refuse :1: .*field 2
stream-import | $F/big-id.tsv | -o $O/x                                                  | refuse :1: .*field 3
stream-import | $F/span.tsv | -o $O/x                                                  | refuse :1: .*span
stream-import | $F/short-row.tsv | -o $O/x                                                  | refuse :1: .*fields
stream-import | $F/pos-gap.tsv | -o $O/x                                                  | refuse :2: .*pos 5
stream-import | $F/mixed-tags.tsv | -o $O/x                                                  | refuse :2: .*tag
stream-import | $F/one.tsv | --kind tokens                                            | accept
stream-import | closed  |                                                          | refuse stdin is closed
stream-import | -       | -o $O/missing/t $F/one.tsv                               | refuse missing
stream-import | -       | -o $DIR $F/one.tsv                                       | refuse dir.*(directory|not a regular)
stream-import | -       | $F/one.tsv                                               | accept
stream-import | -       | $F/tag.tsv                                               | accept
# --- stream-view: any stream -> text -------------------------------------------------
stream-view   | -       | --bogus $TOK                                             | refuse unknown option.*--bogus
stream-view   | -       | --head -1 $TOK                                           | refuse --head
stream-view   | -       | --head x $TOK                                            | refuse --head
stream-view   | -       | --head '' $TOK                                           | refuse --head
stream-view   | -       | --head 99999999999999999999999 $TOK                      | refuse --head
stream-view   | -       | $TOK $TOK                                                | refuse $EXTRA
stream-view   | -       | $NOENT                                                   | refuse nonexistent.*No such file
stream-view   | -       | $DIR                                                     | refuse dir.*(directory|not a regular)
stream-view   | nobody  | $NOREAD                                                  | refuse noread.*Permission denied
stream-view   | -       | $EMPTY                                                   | refuse empty.*(empty|truncated|not a heads stream)
stream-view   | -       | $GARB                                                    | refuse not a heads stream
stream-view   | -       | $F/tag-cut3                                              | refuse truncated|not a heads stream
stream-view   | -       | $F/acts-cut40                                            | refuse truncated
stream-view   | -       | $F/acts-half                                             | refuse truncated|corrupt
stream-view   | -       | $F/probes-less1                                          | refuse truncated|corrupt
stream-view   | -       | $F/probes-flip                                           | refuse corrupt
stream-view   | -       | $F/tag-garbage                                           | refuse-late corrupt|not a heads stream|garbage
stream-view   | -       | $F/mixed-kinds                                           | refuse-late different kinds
stream-view   | -       | $F/mixed-models                                          | refuse-late (model|header).*(differ|disagree)|concatenated
stream-view   | -       | $F/h-dhead                                               | refuse-late 52 floats.*64
stream-view   | -       | $F/h-attn                                                | refuse attention-layers
stream-view   | closed  |                                                          | refuse stdin is closed
stream-view   | $ACTSNAN | --count                                                  | accept
stream-view   | -       | $ACTSNAN                                                 | accept-nan
stream-view   | -       | $TOK0                                                    | accept
stream-view   | -       | $TOKNONE                                                 | accept
stream-view   | -       | $ACTSZERO                                                | accept
stream-view   | -       | --csv $ACTSCAT                                           | accept
stream-view   | $ACTSG  | --head 1                                                 | accept
# --- forward-dump: tokens/tagged + model -> activations ------------------------------
forward-dump  | -       | $TAG                                                     | refuse --model
forward-dump  | -       | --bogus --model $M $TAG                                  | refuse unknown option.*--bogus
forward-dump  | -       | --model $M $TAG $TAG                                     | refuse $EXTRA
forward-dump  | -       | --model $NOENT $TAG                                      | refuse nonexistent
forward-dump  | -       | --model $DIR $TAG                                        | refuse config.json
forward-dump  | -       | --model $S $TAG                                          | refuse first2316
forward-dump  | -       | --model $M --vectors x $TAG                              | refuse --vectors
forward-dump  | -       | --model $M --vectors '' $TAG                             | refuse --vectors
forward-dump  | -       | --model $M --layers 2 $TAG                               | refuse --layers.*2
forward-dump  | -       | --model $M --layers -1 $TAG                              | refuse --layers
forward-dump  | -       | --model $M --heads 2 $TAG                                | refuse --heads.*2
forward-dump  | -       | --model $M --heads 99999999999999999999 $TAG             | refuse --heads.*99999999999999999999 out of range
forward-dump  | -       | --model $M --threads 0 $TAG                              | refuse --threads
forward-dump  | -       | --model $M --threads 9999999 $TAG                        | refuse --threads
forward-dump  | -       | --model $M --logits 0 $TAG                               | refuse --logits
forward-dump  | -       | --model $M --logits -2 $TAG                              | refuse --logits
forward-dump  | -       | --model $M --logits 99999999 $TAG                        | refuse --logits
forward-dump  | -       | --model $M --generate 5                                  | refuse --prompt
forward-dump  | -       | --model $M --generate -5 --prompt-ids 1,2                | refuse --generate
forward-dump  | -       | --model $M --generate 5 --prompt-ids 1,99999             | refuse 99999
forward-dump  | -       | --model $M --generate 5 --prompt-ids 1,x                 | refuse --prompt-ids
forward-dump  | -       | --model $M --generate 5 --prompt-ids ''                  | refuse --prompt-ids
forward-dump  | -       | --model $MP --generate 50 --prompt-ids 1,2               | refuse (position|16)
forward-dump  | -       | --model $M --generate 2 --prompt Hi --tokenizer $NOENT   | refuse nonexistent
forward-dump  | -       | --model $MV $TAG                                         | refuse (vocab|300)
forward-dump  | -       | --model $MP $TAG                                         | refuse (position|16|longer)
forward-dump  | -       | --model $MP $F/tok-short-long                            | refuse-late story 1: .* exceed the model.s 16 positions
forward-dump  | -       | --model $MP -o $O/a $F/tok-short-long                    | refuse story 1: .* exceed the model.s 16 positions
forward-dump  | -       | --model $M $NOENT                                        | refuse nonexistent.*No such file
forward-dump  | -       | --model $M $DIR                                          | refuse dir.*(directory|not a regular)
forward-dump  | nobody  | --model $M $NOREAD                                       | refuse noread.*Permission denied
forward-dump  | -       | --model $M $EMPTY                                        | refuse empty.*(empty|truncated|not a heads stream)
forward-dump  | -       | --model $M $GARB                                         | refuse not a heads stream
forward-dump  | -       | --model $M $ACTS                                         | refuse activations
forward-dump  | -       | --model $M $PRB                                          | refuse probes
forward-dump  | -       | --model $M $F/tag-cut40                                  | refuse truncated
forward-dump  | -       | --model $M $F/tag-less1                                  | refuse truncated|corrupt
forward-dump  | -       | --model $M $F/tag-flip                                   | refuse corrupt
forward-dump  | -       | --model $M $F/mixed-kinds                                | refuse different kinds
forward-dump  | closed  | --model $M                                               | refuse stdin is closed
forward-dump  | -       | --model $M -o $O/missing/a $TAG                          | refuse missing
forward-dump  | -       | --model $M -o $DIR $TAG                                  | refuse dir.*(directory|not a regular)
forward-dump  | $GARB   | --model $M --ids-text                                    | refuse binary
forward-dump  | $F/ids-neg.txt | --model $M --ids-text                                    | refuse line 1|-5
forward-dump  | $F/ids-big.txt | --model $M --ids-text                                    | refuse line 1|vocab|50257
forward-dump  | -       | --model ${C}neg-hidden $TAG                              | refuse hidden_size
forward-dump  | -       | --model ${C}huge-hidden $TAG                             | refuse hidden_size|shape|wte
forward-dump  | -       | --model ${C}huge-vocab $TAG                              | refuse vocab|shape|wte
forward-dump  | -       | --model ${C}huge-inner $TAG                              | refuse c_fc.*1000000|intermediate_size
forward-dump  | -       | --model ${C}gpt2-wide $TAG                               | refuse (65536|n_embd|parameters)
forward-dump  | -       | --model ${C}g2-zero-heads $TAG                           | refuse n_head
forward-dump  | -       | --model ${C}g2-string-scale $TAG                         | refuse scale_attn_weights
forward-dump  | -       | --model ${C}g2-untied $TAG                               | refuse lm_head
forward-dump  | -       | --model ${C}g2-relu $TAG                                 | refuse relu
forward-dump  | -       | --model ${C}g2-positions $TAG                            | refuse wpe.*256.*4
forward-dump  | -       | --model ${C}huge-layers $TAG                             | refuse num_layers
forward-dump  | -       | --model ${C}float-heads $TAG                             | refuse num_heads
forward-dump  | -       | --model ${C}string-heads $TAG                            | refuse num_heads
forward-dump  | -       | --model ${C}three-heads $TAG                             | refuse num_heads|divisible|hidden
forward-dump  | -       | --model ${C}no-hidden $TAG                               | refuse hidden_size
forward-dump  | -       | --model ${C}null-layers $TAG                             | refuse num_layers
forward-dump  | -       | --model ${C}bad-kind $TAG                                | refuse sparse|attention
forward-dump  | -       | --model ${C}neg-eps $TAG                                 | refuse layer_norm_epsilon
forward-dump  | -       | --model ${C}bert $TAG                                    | refuse bert|model_type
forward-dump  | -       | --model ${C}zero-positions $TAG                          | refuse max_position_embeddings
forward-dump  | -       | --model ${C}huge-number $TAG                             | refuse window_size|config
forward-dump  | -       | --model ${C}array $TAG                                   | refuse config
forward-dump  | -       | --model ${C}missing $TAG                                 | refuse config.json
forward-dump  | -       | --model ${C}garbage $TAG                                 | refuse config
forward-dump  | -       | --model ${C}deep $TAG                                    | refuse config
forward-dump  | -       | --model $F/w-cut $TAG                                    | refuse safetensors|truncated
forward-dump  | -       | --model $F/w-garbage $TAG                                | refuse safetensors
forward-dump  | -       | --model $F/w-empty $TAG                                  | refuse safetensors
forward-dump  | -       | --model $F/w-none $TAG                                   | refuse (model.safetensors|pytorch_model.bin|weights)
forward-dump  | -       | --model $F/w-bin $TAG                                    | refuse pytorch_model.bin.*(zip|PyTorch)
forward-dump  | -       | --model $F/w-nan $TAG                                    | refuse wte.*NaN
forward-dump  | -       | --model $M -o '' $TAG                                    | refuse empty
forward-dump  | -       | --model '' $TAG                                          | refuse config.json
forward-dump  | -       | --model $M $TOK0                                         | accept
forward-dump  | -       | --model $M $TAG1I                                        | accept
forward-dump  | -       | --model $M $TAGCAT                                       | accept
forward-dump  | -       | --model $M $TOKNONE                                      | accept
forward-dump  | -       | --model $M $TAGZERO                                      | accept
forward-dump  | -       | --model $MG --vectors q,k,v,z,a $TAG1                    | accept
forward-dump  | -       | --model $M --logits 3 $TAG0                              | accept
forward-dump  | -       | --model $M --generate 3 --prompt-ids 50256               | accept
# --- probe-fit: activations -> probes ------------------------------------------------
probe-fit     | -       | --bogus $ACTS                                            | refuse unknown option.*--bogus
probe-fit     | -       | $ACTS $ACTS                                              | refuse $EXTRA
probe-fit     | -       | -C -1 $ACTS                                              | refuse -C
probe-fit     | -       | -C nan $ACTS                                             | refuse -C
probe-fit     | -       | -C '' $ACTS                                              | refuse -C
probe-fit     | -       | --max-iter -1 $ACTS                                      | refuse --max-iter
probe-fit     | -       | --tol x $ACTS                                            | refuse --tol
probe-fit     | -       | --solver lbfgs $ACTS                                     | refuse --solver
probe-fit     | -       | --layers 5 $ACTS                                         | refuse layers.*5
probe-fit     | -       | --heads 7 $ACTS                                          | refuse heads.*7
probe-fit     | -       | --vectors v $ACTS                                        | refuse no vector v
probe-fit     | -       | --threads 0 $ACTS                                        | refuse --threads
probe-fit     | -       | --merge NN $ACTS                                         | refuse --merge
probe-fit     | -       | $TAG                                                     | refuse tagged
probe-fit     | -       | $PRB                                                     | refuse probes
probe-fit     | -       | $EMPTY                                                   | refuse empty.*(empty|truncated|not a heads stream)
probe-fit     | -       | $GARB                                                    | refuse not a heads stream
probe-fit     | nobody  | $NOREAD                                                  | refuse noread.*Permission denied
probe-fit     | -       | $F/acts-half                                             | refuse truncated|corrupt
probe-fit     | -       | $F/acts-flip                                             | refuse corrupt
probe-fit     | -       | $F/mixed-models                                          | refuse (model|header).*(differ|disagree)|concatenated
probe-fit     | -       | $ACTSNAN                                                 | refuse story 1.*position 3|NaN|non-finite
probe-fit     | -       | $ACTSINF                                                 | refuse story 2.*position 0|Inf|non-finite
probe-fit     | -       | $ACTSZ                                                   | refuse (k|q|vectors)
probe-fit     | -       | $ACTSNONE                                                | refuse no training tokens
probe-fit     | -       | $F/h-dhead                                               | refuse 52 floats.*64
probe-fit     | -       | $F/h-window                                              | refuse window-size
probe-fit     | -       | $F/h-nomodel                                             | refuse (names no|no) model
probe-fit     | closed  |                                                          | refuse stdin is closed
probe-fit     | -       | -o $O/missing/p $ACTS                                    | refuse missing
probe-fit     | -       | -o $DIR $ACTS                                            | refuse dir.*(directory|not a regular)
probe-fit     | -       | -o '' $ACTS                                              | refuse empty
probe-fit     | -       | --merge '*=NN' $ACTS                                     | refuse (two|2) classes|one class
probe-fit     | -       | --layers 0 --heads 0 $ACTS0                              | accept
probe-fit     | -       | --layers 0 --heads 0 $ACTSCAT                            | accept
# --- probe-eval: probes + activations -> report --------------------------------------
probe-eval    | -       | $ACTS                                                    | refuse --probes
probe-eval    | -       | --bogus --probes $PRB $ACTS                              | refuse unknown option.*--bogus
probe-eval    | -       | --probes $PRB $ACTS $ACTS                                | refuse $EXTRA
probe-eval    | -       | --probes $NOENT $ACTS                                    | refuse nonexistent
probe-eval    | nobody  | --probes $NOREAD $ACTS                                   | refuse noread.*Permission denied
probe-eval    | -       | --probes $TAG $ACTS                                      | refuse tagged
probe-eval    | -       | --probes $F/probes-half $ACTS                            | refuse truncated|corrupt
probe-eval    | -       | --probes $PRB2 $ACTS                                     | refuse model
probe-eval    | -       | --probes $PRB $ACTS2                                     | refuse model
probe-eval    | -       | --probes $PRB $ACTSNONE                                  | refuse no test tokens
probe-eval    | -       | --probes $PRB $ACTSL0                                    | refuse L1H0|layer 1
probe-eval    | -       | --probes $PRB $F/h-dhead                                 | refuse dimension 4.*5|floats
probe-eval    | -       | --probes $PRB $F/h-nomodel                               | refuse (names no|no) model
probe-eval    | -       | --probes $PRBTWICE $ACTS                                 | refuse probes-twice.*both of layer 0 head 0 k
probe-eval    | -       | --probes $PRBNOMODEL $ACTS                               | refuse probes-nomodel names no model
probe-eval    | -       | --probes $PRB --json k=$O/x.json --json q=$O/x.json $ACTS | refuse x.json is given as two outputs
probe-eval    | -       | --probes $PRB --csv $O/x --meta $O/./x $ACTS             | refuse x is given as two outputs
probe-eval    | -       | --probes $PRB --csv - --json k=- $ACTS                   | refuse stdout is given as two outputs
probe-eval    | -       | --probes=$PRB -zq $ACTS                                  | refuse unknown option '-z'
probe-eval    | -       | --pro $PRB $ACTS                                         | accept
probe-eval    | -       | --probes $PRB $TAG                                       | refuse tagged
probe-eval    | -       | --probes $PRB $GARB                                      | refuse not a heads stream
probe-eval    | -       | --probes $PRB $F/acts-cut40                              | refuse truncated
probe-eval    | -       | --probes $PRB $ACTSNAN                                   | refuse story 1.*position 3|NaN|non-finite
probe-eval    | -       | --probes $PRB --json x=$O/j.json $ACTS                   | refuse --json
probe-eval    | -       | --probes $PRB --json k=$O/missing/j.json $ACTS           | refuse missing
probe-eval    | -       | --probes $PRB --csv $DIR $ACTS                           | refuse dir.*(directory|not a regular)
probe-eval    | -       | --probes $PRB --threads -1 $ACTS                         | refuse --threads
probe-eval    | closed  | --probes $PRB                                            | refuse stdin is closed
probe-eval    | -       | --probes $CTPRB $ACTS                                    | refuse fitted on control-task tags.*acts has real tags
probe-eval    | -       | --probes $PRB $CTACTS                                    | refuse fitted on real tags.*ct-acts has control-task tags
probe-eval    | -       | --probes $CTPRB $CT2ACTS                                 | refuse another control task.*seed 1.*seed 2
probe-eval    | -       | --probes $CTPRB $CTDACTS                                 | refuse another distribution than .*ctd-acts
probe-eval    | -       | --probes $CTPRB $CTACTS                                  | accept
probe-eval    | -       | --probes $PRB $ACTS0                                     | accept
probe-eval    | -       | --probes $PRBSUB --json $O/sub.json $ACTSCAT             | accept
# --- probe-compare: two reports -> comparison ----------------------------------------
probe-compare | -       | $KJ                                                      | refuse (two|2|A.json|B.json)
probe-compare | -       | $KJ $KJ $KJ                                              | refuse two reports
probe-compare | -       | --bogus $KJ $KJ                                          | refuse unknown option.*--bogus
probe-compare | -       | --min-support -1 $KJ $KJ                                 | refuse --min-support
probe-compare | -       | --min-support x $KJ $KJ                                  | refuse --min-support
probe-compare | -       | --tags '' $KJ $KJ                                        | refuse --tags
probe-compare | -       | --tags VBD,NOTATAG $KJ $KJ                              | refuse no head probed in both .* has the tag 'NOTATAG'
probe-compare | -       | - -                                                      | refuse both reports read stdin
probe-compare | closed  | - $KJ                                                    | refuse stdin is closed
probe-compare | -       | $KJ $J/noavg.json                                        | refuse noavg.json: L0H0 has no 'macro avg'
probe-compare | -       | $KJ $J/dupkey.json                                       | refuse dupkey.json.*duplicate object key
probe-compare | -       | $KJ $EMPTY                                               | refuse empty file \(0 bytes\)
report-grid   | -       | --list --model-label x $J/longtag.json                   | refuse longtag.json: L0H0: the tag .* is longer than
probe-compare | -       | --tags 'VBD,,NN' $KJ $KJ                               | refuse --tags: 'VBD,,NN' has an empty item
probe-compare | -       | $KJ $NOENT                                               | refuse nonexistent
probe-compare | -       | $KJ $DIR                                                 | refuse dir.*directory
probe-compare | nobody  | $KJ $NOREADJ                                             | refuse noread.json.*Permission denied
probe-compare | -       | $KJ $EMPTY                                               | refuse empty
probe-compare | -       | $KJ $GARB                                                | refuse garbage
probe-compare | -       | $KJ $J/object.json                                       | refuse object.json
probe-compare | -       | $KJ $J/all-null.json                                     | refuse all-null.json
probe-compare | -       | $J/ragged-reports.json $J/ragged-reports.json            | refuse layer 1.*3 heads
probe-compare | -       | $J/string-reports.json $J/string-reports.json            | refuse f1-score
probe-compare | -       | $KJ $J/deep.json                                         | refuse deep.json
probe-compare | -       | $KJ $J/huge-f1.json                                      | refuse huge-f1.json
probe-compare | -       | $KJ $J/unclosed.json                                     | refuse unclosed.json
probe-compare | -       | -o $O/missing/c $KJ $KJ                                  | refuse missing
probe-compare | -       | $KJ $KJ                                                  | accept
probe-compare | -       | $KJ $SUBJ                                                | accept
probe-compare | -       | --tsv $QJ $KJ                                            | accept
# --- activity: activations -> per-token activity ------------------------------------
activity      | -       | $ACTS                                                    | refuse --heads
activity      | -       | --bogus --heads all $ACTS                                | refuse unknown option.*--bogus
activity      | -       | --heads all $ACTS $ACTS                                  | refuse $EXTRA
activity      | -       | --heads L2H0 $ACTS                                       | refuse L2H0
activity      | -       | --heads L0H2 $ACTS                                       | refuse L0H2
activity      | -       | --heads L1H0 $ACTSL0                                     | refuse L1H0
activity      | -       | --heads all --model ${C}three-heads $ACTS                | refuse num_heads|divisible|hidden
activity      | -       | --heads L0 $ACTS                                         | refuse --heads
activity      | -       | --heads '' $ACTS                                         | refuse --heads
activity      | -       | --layer 0 $ACTS                                          | refuse --head
activity      | -       | --layer -1 --head 0 $ACTS                                | refuse --layer
activity      | -       | --heads all --layer 0 --head 0 $ACTS                     | refuse --heads
activity      | -       | --heads all --story 7 $ACTS                              | refuse-late story 7|--story
activity      | -       | --heads all --story x $ACTS                              | refuse --story
activity      | -       | --heads all --window 5:2 $ACTS                           | refuse --window
activity      | -       | --heads all --window x $ACTS                             | refuse --window
activity      | -       | --heads all --window 0:99999 $ACTS                       | refuse --window|99999
activity      | -       | --heads all --model $M2 $ACTS                            | refuse model
activity      | -       | --heads all --model $NOENT $ACTS                         | refuse nonexistent
activity      | -       | --heads all --model $F/w-nan $ACTS                       | refuse wte.*NaN
activity      | -       | --heads all -o '' $ACTS                                  | refuse empty
activity      | -       | --heads all $ACTSQK                                      | refuse (z|a|activity)
activity      | -       | --heads all $F/h-dhead                                   | refuse 52 floats.*64
activity      | -       | --heads all $F/h-window                                  | refuse window-size
activity      | -       | --heads all $F/h-nomodel                                 | refuse names no model
activity      | -       | --heads all $TAG                                         | refuse tagged
activity      | -       | --heads all $EMPTY                                       | refuse empty.*(empty|truncated|not a heads stream)
activity      | -       | --heads all $GARB                                        | refuse not a heads stream
activity      | nobody  | --heads all $NOREAD                                      | refuse noread.*Permission denied
activity      | -       | --heads all $F/acts-half                                 | refuse truncated|corrupt
activity      | -       | --heads all $F/acts-flip                                 | refuse corrupt
activity      | -       | --heads all $F/mixed-models                              | refuse-late (model|header).*(differ|disagree)|concatenated
activity      | -       | --heads all $ACTSNAN                                     | refuse-late story 1.*position 3
activity      | -       | --heads all -o $O/a $ACTSNAN                             | refuse story 1, position 3
activity      | -       | --heads all --model $M $ACTSINF                          | refuse-late story 2.*position 0
activity      | closed  | --heads all                                              | refuse stdin is closed
activity      | -       | --heads all -o $O/missing/a $ACTS                        | refuse missing
activity      | -       | --heads all -o $DIR $ACTS                                | refuse dir.*(directory|not a regular)
activity      | -       | --heads all $ACTS0                                       | accept
activity      | -       | --heads all $ACTSNONE                                    | accept
activity      | -       | --heads all $ACTSZERO                                    | accept
activity      | -       | --heads all --model $M $ACTS1                            | accept
activity      | -       | --heads L1H1 $ACTSCAT                                    | accept
activity      | -       | --heads all --model $MG $ACTSG                           | accept
# --- attn-slice: activations -> attention rows / aggregates --------------------------
attn-slice    | -       | $ACTS                                                    | refuse --heads
attn-slice    | -       | --bogus --heads all $ACTS                                | refuse unknown option.*--bogus
attn-slice    | -       | --heads L5H0 $ACTS                                       | refuse L5H0
attn-slice    | -       | --heads L1H0 $ACTSL0                                     | refuse L1H0
attn-slice    | -       | --heads all --story 99 $ACTS                             | refuse-late story 99|--story
attn-slice    | -       | --heads all --query x $ACTS                              | refuse --query.*positions
attn-slice    | -       | --heads all --query 99999 $ACTS                          | refuse --query|99999
attn-slice    | -       | --heads all --window 3:1 $ACTS                           | refuse --window
attn-slice    | -       | --heads all --from-tag NN --to-tag NN $ACTS              | refuse --from-tag|--to-tag
attn-slice    | -       | --heads all $ACTSZ                                       | refuse (q|k)
attn-slice    | -       | --heads all $F/h-dhead                                   | refuse 52 floats.*64
attn-slice    | -       | --heads all $F/h-attn                                    | refuse attention-layers
attn-slice    | -       | --heads all $F/h-nomodel                                 | refuse names no model
attn-slice    | -       | --heads all $TOK                                         | refuse tokens
attn-slice    | -       | --heads all $GARB                                        | refuse not a heads stream
attn-slice    | nobody  | --heads all $NOREAD                                      | refuse noread.*Permission denied
attn-slice    | -       | --heads all $F/acts-less1                                | refuse truncated|corrupt
attn-slice    | -       | --heads all $ACTSNAN                                     | refuse-late story 1.*position 3
attn-slice    | -       | --heads all -o $O/a $ACTSNAN                             | refuse story 1, position 3
attn-slice    | closed  | --heads all                                              | refuse stdin is closed
attn-slice    | -       | --heads all -o $O/missing/a $ACTS                        | refuse missing
attn-slice    | -       | --heads all -o $DIR $ACTS                                | refuse dir.*(directory|not a regular)
attn-slice    | -       | --heads all $ACTS0                                       | accept
attn-slice    | -       | --heads all $ACTSNONE                                    | accept
attn-slice    | -       | --heads L1H0 $ACTSZERO                                   | accept
attn-slice    | -       | --heads all $ACTS1                                       | accept
attn-slice    | -       | --heads L0H1 --from-tag NN $ACTSCAT                      | accept
attn-slice    | -       | --heads all --to-tag DT $ACTSG                           | accept
# --- report-grid: a JSON report -> layer x head matrices -----------------------------
report-grid   | -       | --model-label x $KJ                                      | refuse --tag|--all|--list
report-grid   | -       | --tag NN $KJ                                             | refuse --model-from|--model-label
report-grid   | -       | --bogus --list --model-label x $KJ                       | refuse unknown option.*--bogus
report-grid   | -       | --list --model-label x $KJ $KJ                           | refuse $EXTRA
report-grid   | -       | --tag NN --metric auc --model-label x $KJ                | refuse --metric
report-grid   | -       | --tag ZZ --model-label x $KJ                             | refuse ZZ
report-grid   | -       | --list --model-from $NOENT $KJ                           | refuse nonexistent
report-grid   | -       | --list --model-from $GARB $KJ                            | refuse not a heads stream
report-grid   | -       | --list --model-from $TXT $KJ                             | refuse not a heads stream
report-grid   | -       | --list --model-from $TAG $KJ                             | refuse names no model
report-grid   | -       | --list --model-from $F/h-nomodel $KJ                     | refuse names no model
report-grid   | -       | --list --model-label x $NOENT                            | refuse nonexistent: No such file
report-grid   | -       | --list --model-label x $DIR                              | refuse dir.*directory
report-grid   | nobody  | --list --model-label x $NOREADJ                          | refuse noread.json.*Permission denied
report-grid   | $GARB   | --list --model-label x                                   | refuse stdin.*not JSON
report-grid   | -       | --list --model-label x $EMPTY                            | refuse empty
report-grid   | -       | --list --model-label x $GARB                             | refuse garbage
report-grid   | -       | --list --model-label x $J/empty-array.json               | refuse empty-array.json
report-grid   | -       | --list --model-label x $J/object.json                    | refuse object.json
report-grid   | -       | --list --model-label x $J/null.json                      | refuse null.json
report-grid   | -       | --tag NN --model-label x $J/string-f1.json               | refuse string-f1.json.*f1-score
report-grid   | -       | --tag NN --model-label x $J/null-f1.json                 | refuse null-f1.json.*f1-score
report-grid   | -       | --tag NN --model-label x $J/huge-f1.json                 | refuse huge-f1.json
report-grid   | -       | --tag NN --model-label x $J/f1-7.json                    | refuse f1-7.json.*f1-score
report-grid   | -       | --tag NN --metric support --model-label x $J/support-neg.json | refuse support-neg.json.*support
report-grid   | -       | --tag NN --model-label x $J/tag-number.json              | refuse tag-number.json.*NN
report-grid   | -       | --list --model-label x $J/accuracy-string.json           | refuse accuracy-string.json.*accuracy
report-grid   | -       | --list --model-label x $J/ragged.json                    | refuse ragged.json.*layer 1
report-grid   | -       | --list --model-label x $J/head-number.json               | refuse head-number.json.*L0H1
report-grid   | -       | --list --model-label x $J/unclosed.json                  | refuse unclosed.json
report-grid   | -       | --list --model-label x $J/deep.json                      | refuse deep.json
report-grid   | -       | --list --model-label x $J/long-number.json               | refuse long-number.json
report-grid   | -       | --list --model-label x $J/all-null.json                  | refuse all-null.json
report-grid   | closed  | --list --model-label x                                   | refuse stdin is closed
report-grid   | -       | --list --model-label x -o $O/missing/g $KJ               | refuse missing
report-grid   | -       | --list --model-label x -o $DIR $KJ                       | refuse dir.*(directory|not a regular)
report-grid   | -       | --tag NN --model-from $PRB $SUBJ                         | accept-nan
report-grid   | -       | --all --model-from $ACTS $KJ                             | accept
report-grid   | -       | --list --model-from $PRBSUB $SUBJ                        | accept
report-grid   | $STUDY  | --tag VBD --metric support --model-label study           | accept
# --- model-init: -> a random model -------------------------------------------------
model-init    | -       | --layers 1                                               | refuse -o
model-init    | -       | --bogus -o $O/m                                          | refuse unknown option.*--bogus
model-init    | -       | -o $O/m extra                                            | refuse $EXTRA
model-init    | -       | --layers 0 -o $O/m                                       | refuse --layers
model-init    | -       | --layers -1 -o $O/m                                      | refuse --layers
model-init    | -       | --layers x -o $O/m                                       | refuse --layers
model-init    | -       | --heads 0 -o $O/m                                        | refuse --heads
model-init    | -       | --hidden 7 --heads 2 -o $O/m                             | refuse --hidden|--heads|divisible
model-init    | -       | --hidden '' -o $O/m                                      | refuse --hidden
model-init    | -       | --vocab 0 -o $O/m                                        | refuse --vocab
model-init    | -       | --positions 0 -o $O/m                                    | refuse --positions
model-init    | -       | --window 0 -o $O/m                                       | refuse --window
model-init    | -       | --attention global,sparse -o $O/m                        | refuse --attention|sparse
model-init    | -       | --std -1 -o $O/m                                         | refuse --std
model-init    | -       | --std nan -o $O/m                                        | refuse --std
model-init    | -       | --seed x -o $O/m                                         | refuse --seed
model-init    | -       | --hidden 65536 --layers 64 --vocab 16777216 -o $O/m      | refuse (large|memory|size|--hidden|--vocab)
model-init    | -       | -o $O/missing/m                                          | refuse missing
model-init    | -       | -o $S                                                    | refuse first2316.*not a directory
model-init    | -       | -o ''                                                    | refuse empty
model-init    | -       | --layers 1 --heads 1 --hidden 4 --vocab 10 --positions 4 -o $O/m | accept
# --- train: tokens -> a trained model ------------------------------------------------
train         | -       | $TOK                                                     | refuse -o
train         | -       | $TINY --bogus -o $O/m $TOK                               | refuse unknown option.*--bogus
train         | -       | $TINY -o $O/m $TOK $TOK                                  | refuse $EXTRA
train         | -       | $TINY --steps 0 -o $O/m $TOK                             | refuse --steps
train         | -       | $TINY --steps -1 -o $O/m $TOK                            | refuse --steps
train         | -       | $TINY --batch 0 -o $O/m $TOK                             | refuse --batch
train         | -       | $TINY --seq-len 0 -o $O/m $TOK                           | refuse --seq-len
train         | -       | $TINY --lr nan -o $O/m $TOK                              | refuse --lr
train         | -       | $TINY --lr -1 -o $O/m $TOK                               | refuse --lr
train         | -       | $TINY --heldout 1.5 -o $O/m $TOK                         | refuse --heldout
train         | -       | $TINY --dropout 2 -o $O/m $TOK                           | refuse --dropout
train         | -       | $TINY --ema 1 -o $O/m $TOK                               | refuse --ema
train         | -       | $TINY --ema nan -o $O/m $TOK                             | refuse --ema
train         | -       | $TINY --ema -0.5 -o $O/m $TOK                            | refuse --ema
train         | -       | $TINY --beta2 x -o $O/m $TOK                             | refuse --beta2
train         | -       | $TINY --beta1 1 -o $O/m $TOK                             | refuse --beta1
train         | -       | $TINY --adam-eps 0 -o $O/m $TOK                          | refuse --adam-eps
train         | -       | $TINY --prompt Hi --tokenizer $NOENT -o $O/m $TOK        | refuse nonexistent
train         | -       | $TINY --checkpoint $O/missing/c -o $O/m $TOK             | refuse --checkpoint.*missing
train         | -       | $TINY --log $DIR -o $O/m $TOK                            | refuse --log.*dir
train         | -       | $TINY --hidden 7 --heads 2 -o $O/m $TOK                  | refuse --hidden|--heads|divisible
train         | -       | $TINY --eos 99999999 -o $O/m $TOK                        | refuse --eos
train         | -       | $TINY --resume $NOENT -o $O/m $TOK                       | refuse nonexistent
train         | -       | $TINY --resume $GARB -o $O/m $TOK                        | refuse garbage
train         | -       | $TINY -o $O/m $PRB                                       | refuse probes
train         | -       | $TINY -o $O/m $GARB                                      | refuse not a heads stream
train         | nobody  | $TINY -o $O/m $NOREAD                                    | refuse noread.*Permission denied
train         | -       | $TINY -o $O/m $TXT                                       | refuse not a heads stream
train         | -       | $TINY -o $O/m $EMPTY                                     | refuse empty.*(empty|truncated|not a heads stream)
train         | -       | $TINY -o $O/m $F/tok-half                                | refuse truncated|corrupt
train         | -       | $TINY -o $O/m $TOKNONE                                   | refuse (no|0) stor
train         | closed  | $TINY -o $O/m                                            | refuse stdin is closed
train         | -       | $TINY -o $O/missing/m $TOK                               | refuse missing
train         | -       | $TINY -o $S $TOK                                         | refuse first2316
train         | -       | $TINY -o '' $TOK                                         | refuse empty
train         | -       | --steps 2 --layers 1 --heads 2 --hidden 8 --seq-len 16 --positions 32 --batch 2 --heldout 0.34 --eval-every 1 -o $O/m $TOK0 | accept
# --- head-scores: a model -> per-head induction / duplicate / previous-token scores ---
head-scores   | -       |                                                          | refuse --model
head-scores   | -       | --bogus --model $M                                       | refuse unknown option.*--bogus
head-scores   | -       | --model $M extra                                         | refuse $EXTRA
head-scores   | -       | --model $M --seq-len 0                                   | refuse --seq-len
head-scores   | -       | --model $M --seq-len -1                                  | refuse --seq-len
head-scores   | -       | --model $M --seq-len 200                                 | refuse --seq-len|positions|256
head-scores   | -       | --model $M --batch 0                                     | refuse --batch
head-scores   | -       | --model $M --seed x                                      | refuse --seed
head-scores   | -       | --model $M --bos 99999999                                | refuse --bos
head-scores   | -       | --model $M --threads 0                                   | refuse --threads
head-scores   | -       | --model $NOENT                                           | refuse nonexistent
head-scores   | -       | --model ${C}three-heads                                  | refuse num_heads|divisible|hidden
head-scores   | -       | --model ${C}huge-vocab                                   | refuse wte.*16777216|vocab
head-scores   | -       | --model $M --seq-len 5 --batch 2 --text $ACTSNAN         | accept
head-scores   | -       | --model $M --tokens-from $NOENT                          | refuse nonexistent
head-scores   | -       | --model $M --tokens-from $PRB                            | refuse probes
head-scores   | -       | --model $M --tokens-from $GARB                           | refuse not a heads stream
head-scores   | -       | --model $MV --tokens-from $TOK                           | refuse (vocab|300)
head-scores   | -       | --model $M --text $GARB                                  | refuse not a heads stream
head-scores   | nobody  | --model $M --text $NOREAD                                | refuse noread.*Permission denied
head-scores   | closed  | --model $M --text -                                      | refuse stdin is closed
head-scores   | -       | --model $M --text $F/tok-flip                            | refuse corrupt
head-scores   | -       | --model $M --text $TOKNONE                               | refuse (no|0) (stor|token)
head-scores   | -       | --model $M -o $O/missing/s                               | refuse missing
head-scores   | -       | --model $M -o $DIR                                       | refuse dir.*(directory|not a regular)
head-scores   | -       | --model $M --seq-len 5 --batch 2 --text $TOK0            | accept
head-scores   | -       | --model $M --seq-len 2 --batch 2 --tokens-from $TAG1I    | accept
# --- logit-lens: tagged + model -> head logit attributions --------------------------
logit-lens    | -       | --grid $TAG                                              | refuse --model
logit-lens    | -       | --model $M $TAG                                          | refuse --top|--grid
logit-lens    | -       | --model $M --top 3 --grid $TAG                           | refuse --top|--grid
logit-lens    | -       | --bogus --model $M --grid $TAG                           | refuse unknown option.*--bogus
logit-lens    | -       | --model $M --grid $TAG $TAG                              | refuse $EXTRA
logit-lens    | -       | --model $M --top 0 $TAG                                  | refuse --top
logit-lens    | -       | --model $M --top -1 $TAG                                 | refuse --top
logit-lens    | -       | --model $M --top 99999999 $TAG                           | refuse --top
logit-lens    | -       | --model $M --grid --final-ln both $TAG                   | refuse --final-ln
logit-lens    | -       | --model $M --top 3 --positions 5:2 --tokenizer $TOKDIR $TAG | refuse --positions
logit-lens    | -       | --model $M --top 3 --story 99 --tokenizer $TOKDIR $TAG   | refuse story 99|--story
logit-lens    | -       | --model $M --grid --heads L2H0 $TAG                      | refuse L2H0
logit-lens    | -       | --model $M --grid --threads 0 $TAG                       | refuse --threads
logit-lens    | -       | --model $M --grid $TOK                                   | refuse (tag|tokens)
logit-lens    | -       | --model $M --grid $TAGNONE                               | refuse no story
logit-lens    | -       | --model $M --top 3 --tokenizer $NOENT $TAG               | refuse nonexistent
logit-lens    | -       | --model $MV --grid $TAG                                  | refuse (vocab|300)
logit-lens    | -       | --model ${C}bad-kind --grid $TAG                         | refuse sparse|attention
logit-lens    | -       | --model $F/w-nan --grid $TAG                             | refuse wte.*NaN
logit-lens    | -       | --model $M --grid -o $O/missing/l $TAG                   | refuse missing
logit-lens    | -       | --model $M --grid $ACTSNAN                               | accept
logit-lens    | -       | --model $M --grid $ACTS                                  | accept
logit-lens    | -       | --model $M --grid $GARB                                  | refuse not a heads stream
logit-lens    | closed  | --model $M --grid                                        | refuse stdin is closed
logit-lens    | nobody  | --model $M --grid $NOREAD                                | refuse noread.*Permission denied
logit-lens    | -       | --model $M --grid $F/tag-half                            | refuse truncated|corrupt
logit-lens    | -       | --model $M --grid $TAG0                                  | accept
logit-lens    | -       | --model $M --top 2 --tokenizer $TOKDIR --mean $TAG1I     | accept
# --- ablate: tagged + model -> losses with heads removed ---------------------------
ablate        | -       | --heads L0H0 $TAG                                        | refuse --model
ablate        | -       | --model $M $TAG                                          | refuse --heads|--sweep
ablate        | -       | --bogus --model $M --sweep $TAG                          | refuse unknown option.*--bogus
ablate        | -       | --sweep=3 --model $M $TAG                                | refuse option .--sweep. takes no value
ablate        | -       | --model                                                  | refuse option .--model. needs a value
ablate        | -       | --model $M --sweep $TAG $TAG                             | refuse $EXTRA
ablate        | -       | --model $M --sweep --mode half $TAG                      | refuse --mode
ablate        | -       | --model $M --heads L2H0 $TAG                             | refuse L2H0
ablate        | -       | --model $M --heads L0H9 $TAG                             | refuse L0H9
ablate        | -       | --model $M --heads x $TAG                                | refuse --heads
ablate        | -       | --model $M --sweep --take 0 $TAG                         | refuse --take
ablate        | -       | --model $M --sweep --take -1 $TAG                        | refuse --take
ablate        | -       | --model $M --sweep --threads 0 $TAG                      | refuse --threads
ablate        | -       | --model $MV --sweep $TAG                                 | refuse (vocab|300)
ablate        | -       | --model $MP --sweep $TAG                                 | refuse (position|16|longer)
ablate        | -       | --model ${C}huge-hidden --sweep $TAG                     | refuse wte.*65536|hidden_size
ablate        | -       | --model $F/w-nan --sweep $TAG                            | refuse wte.*NaN
ablate        | -       | --model $M --sweep -o $DIR $TAG                          | refuse dir.*(directory|not a regular)
ablate        | -       | --model $M --sweep $PRB                                  | refuse probes
ablate        | -       | --model $M --sweep $EMPTY                                | refuse empty.*(empty|truncated|not a heads stream)
ablate        | nobody  | --model $M --sweep $NOREAD                               | refuse noread.*Permission denied
ablate        | -       | --model $M --sweep $F/tag-flip                           | refuse corrupt
ablate        | -       | --model $M --sweep $TOKNONE                              | refuse (no|0) (stor|token)
ablate        | -       | --model $M --sweep $TAGZERO                              | refuse have 0 tokens
ablate        | closed  | --model $M --sweep                                       | refuse stdin is closed
ablate        | -       | --model $M --sweep -o $O/missing/a $TAG                  | refuse missing
ablate        | -       | --model $M --heads L0H0 $TAG0                            | accept
ablate        | -       | --model $M --mode mean --sweep $TAGCAT                   | accept
ablate        | -       | --model $M --heads none $TAG1I                           | accept
# --- head-stats: tagged + model -> group / rest statistics ---------------------------
head-stats    | -       | --heads L0H0 --activity any $TAG                         | refuse --model
head-stats    | -       | --model $M --activity any $TAG                           | refuse --heads
head-stats    | -       | --model $M --heads L0H0 $TAG                             | refuse --activity|--attention
head-stats    | -       | --bogus --model $M --heads L0H0 --activity any $TAG      | refuse unknown option.*--bogus
head-stats    | -       | --model $M --heads L0H0 --activity any $TAG $TAG         | refuse $EXTRA
head-stats    | -       | --model $M --heads L0H0 --activity color=red $TAG        | refuse color
head-stats    | -       | --model $M --heads L0H0 --activity '' $TAG               | refuse --activity
head-stats    | -       | --model $M --heads L0H0 --attention any $TAG             | refuse --attention
head-stats    | -       | --model $M --heads L0H0 --attention 'quote/' $TAG        | refuse --attention
head-stats    | -       | --model $M --heads L9H9 --activity any $TAG              | refuse L9H9
head-stats    | -       | --model $M --heads L0H0 --activity any --threads 0 $TAG  | refuse --threads
head-stats    | -       | --model $M --heads L0H0 --activity any $TOK              | refuse (tag|tokens)
head-stats    | -       | --model $M --heads L0H0 --activity any $TAGNONE          | refuse no story
head-stats    | -       | --model $M --heads L0H0 --activity any $TAGZERO          | refuse have 0 tokens
head-stats    | -       | --model $M --heads L0H0 --activity any $GARB             | refuse not a heads stream
head-stats    | nobody  | --model $M --heads L0H0 --activity any $NOREAD           | refuse noread.*Permission denied
head-stats    | -       | --model $M --heads L0H0 --activity any $F/tag-cut40      | refuse truncated
head-stats    | -       | --model $MP --heads L0H0 --activity any $TAG             | refuse (position|16|longer)
head-stats    | -       | --model ${C}no-hidden --heads L0H0 --activity any $TAG   | refuse hidden_size
head-stats    | closed  | --model $M --heads L0H0 --activity any                   | refuse stdin is closed
head-stats    | -       | --model $M --heads L0H0 --activity any -o $DIR $TAG      | refuse dir.*(directory|not a regular)
head-stats    | -       | --model $M --heads L0H0 --activity any -o $O/missing/h $TAG | refuse missing
head-stats    | -       | --model $M --heads all --activity tag=NN --attention any/quote $TAG0 | accept
head-stats    | -       | --model $M --heads L1H1 --activity any $TAGCAT           | accept
head-stats    | -       | --model $M --heads L0H0 --activity quote $TAG1I          | accept
head-stats    | -       | --model $M --heads L0H0 --activity 'tag=(none)' $TAG          | accept
# --- control-task: tagged / activations -> the same with control-task tags ----------
control-task  | -       | --dist-from $TAG $TAG                                    | refuse no --seed
control-task  | -       | --seed 1 $TAG                                            | refuse no --dist-from
control-task  | -       | --bogus --seed 1 --dist-from $TAG $TAG                   | refuse unknown option.*--bogus
control-task  | -       | --seed 1 --dist-from                                     | refuse --dist-from.*needs a value
control-task  | -       | --seed 1 --dist-from $TAG $TAG $TAG                      | refuse $EXTRA
control-task  | -       | --seed -1 --dist-from $TAG $TAG                          | refuse --seed.*'-1'
control-task  | -       | --seed x --dist-from $TAG $TAG                           | refuse --seed.*'x'
control-task  | -       | --seed '' --dist-from $TAG $TAG                          | refuse --seed
control-task  | -       | --seed 99999999999999999999 --dist-from $TAG $TAG        | refuse --seed.*99999999999999999999
control-task  | $TAG    | --seed 1 --dist-from -                                   | refuse --dist-from.*not stdin
control-task  | -       | --seed 1 --dist-from '' $TAG                             | refuse empty input file name
control-task  | -       | --seed 1 --dist-from $NOENT $TAG                         | refuse nonexistent.*No such file
control-task  | -       | --seed 1 --dist-from $DIR $TAG                           | refuse dir.*(directory|not a regular)
control-task  | nobody  | --seed 1 --dist-from $NOREAD $TAG                        | refuse noread.*Permission denied
control-task  | -       | --seed 1 --dist-from $EMPTY $TAG                         | refuse empty.*(empty|truncated|not a heads stream)
control-task  | -       | --seed 1 --dist-from $GARB $TAG                          | refuse garbage.*not a heads stream
control-task  | -       | --seed 1 --dist-from $TXT $TAG                           | refuse text.txt.*not a heads stream
control-task  | -       | --seed 1 --dist-from $TOK $TAG                           | refuse tok is a tokens stream
control-task  | -       | --seed 1 --dist-from $PRB $TAG                           | refuse probes is a probes stream
control-task  | -       | --seed 1 --dist-from $F/tag-half $TAG                    | refuse tag-half.*(truncated|corrupt)
control-task  | -       | --seed 1 --dist-from $F/tag-flip $TAG                    | refuse tag-flip.*corrupt
control-task  | -       | --seed 1 --dist-from $ACTSUNTAG $TAG                     | refuse acts-untagged: story 0 has no POS tags
control-task  | -       | --seed 1 --dist-from $CTTAG $TAG                         | refuse ct-tag holds control-task tags already
control-task  | -       | --seed 1 --dist-from $TAGNONE $TAG                       | refuse tag-none: no tagged tokens
control-task  | -       | --seed 1 --dist-from $TAGZERO $TAG                       | refuse tag-zero: no tagged tokens
control-task  | -       | --seed 1 --dist-from $ACTSNAN $TAG                       | refuse acts-nan: story 1, position 3.*NaN
control-task  | -       | --seed 1 --dist-from $TAG $TOK                           | refuse tok is a tokens stream
control-task  | -       | --seed 1 --dist-from $TAG $PRB                           | refuse probes is a probes stream
control-task  | -       | --seed 1 --dist-from $TAG $NOENT                         | refuse nonexistent.*No such file
control-task  | -       | --seed 1 --dist-from $TAG $DIR                           | refuse dir.*(directory|not a regular)
control-task  | nobody  | --seed 1 --dist-from $TAG $NOREAD                        | refuse noread.*Permission denied
control-task  | -       | --seed 1 --dist-from $TAG $EMPTY                         | refuse empty.*(empty|truncated|not a heads stream)
control-task  | -       | --seed 1 --dist-from $TAG $GARB                          | refuse garbage.*not a heads stream
control-task  | -       | --seed 1 --dist-from $TAG $F/tag-cut3                    | refuse tag-cut3.*(truncated|not a heads stream)
control-task  | -       | --seed 1 --dist-from $TAG $F/tag-less1                   | refuse-late tag-less1.*(truncated|corrupt)
control-task  | -       | --seed 1 --dist-from $TAG -o $O/c $F/acts-half           | refuse acts-half.*(truncated|corrupt)
control-task  | -       | --seed 1 --dist-from $TAG -o $O/c $F/acts-flip           | refuse acts-flip.*corrupt
control-task  | -       | --seed 1 --dist-from $TAG $F/mixed-tag-acts              | refuse-late different kinds
control-task  | -       | --seed 1 --dist-from $TAG -o $O/c $F/mixed-models        | refuse (model|header).*(differ|disagree)|concatenated
control-task  | -       | --seed 1 --dist-from $TAG $F/tag-garbage                 | refuse-late corrupt|not a heads stream|garbage
control-task  | -       | --seed 1 --dist-from $TAG $ACTSUNTAG                     | refuse-late acts-untagged: story 0 has no POS tags
control-task  | -       | --seed 1 --dist-from $TAG -o $O/c $ACTSUNTAG             | refuse acts-untagged: story 0 has no POS tags
control-task  | -       | --seed 1 --dist-from $TAG $ACTSNAN                       | refuse-late story 1, position 3.*NaN
control-task  | -       | --seed 1 --dist-from $TAG -o $O/c $ACTSINF               | refuse story 2, position 0.*Inf
control-task  | -       | --seed 1 --dist-from $TAG $CTACTS                        | refuse ct-acts holds control-task tags already
control-task  | closed  | --seed 1 --dist-from $TAG                                | refuse stdin is closed
control-task  | -       | --seed 1 --dist-from $TAG -o $O/missing/c $TAG           | refuse missing
control-task  | -       | --seed 1 --dist-from $TAG -o $DIR $TAG                   | refuse dir.*(directory|not a regular)
control-task  | -       | --seed 1 --dist-from $TAG -o '' $TAG                     | refuse empty
control-task  | -       | --seed 1 --dist-from $TAG -o $O/missing/c $TOK           | refuse tok is a tokens stream
control-task  | -       | --seed 1 --dist-from $ACTSNAN $TOK                       | refuse tok is a tokens stream
control-task  | -       | --seed 1 --dist-from $ACTSUNTAG -o $O/missing/c $TAG     | refuse missing
control-task  | -       | --seed 1 --dist-from $TAG $TAG0                          | accept
control-task  | -       | --seed 1 --dist-from $TAG0 $ACTS0                        | accept
control-task  | -       | --seed 1 --dist-from $TAG $TAG1I                         | accept
control-task  | -       | --seed 1 --dist-from $TAG1 $ACTSONE                      | accept
control-task  | $ACTSCAT | --seed 0 --dist-from $TAGCAT                            | accept
control-task  | -       | --seed 9223372036854775807 --dist-from $ACTS $TAG        | accept
control-task  | -       | --seed 1 --dist-from $TAG $TAGNONE                       | accept
control-task  | -       | --seed 1 --dist-from $TAG $TAGZERO                       | accept
control-task  | -       | --seed 1 --dist-from $TAG -o $O/c $ACTS                  | accept
# --- probe-baselines: train + test tagged -> majority / token-id baselines ----------
probe-baselines | -     | $TAG                                                     | refuse no --train
probe-baselines | -     | --bogus --train $TAG $TAG                                | refuse unknown option.*--bogus
probe-baselines | -     | $TAG --train                                             | refuse --train.*needs a value
probe-baselines | -     | --train $TAG $TAG $TAG                                   | refuse $EXTRA
probe-baselines | $TAG  | --train -                                                | refuse --train and the test split both read stdin
probe-baselines | $TAG  | --train $TAG --rules-from -                              | refuse --rules-from and the test split both read stdin
probe-baselines | -     | --train '' $TAG                                          | refuse empty input file name
probe-baselines | -     | --train $NOENT $TAG                                      | refuse nonexistent.*No such file
probe-baselines | -     | --train $TAG $NOENT                                      | refuse nonexistent.*No such file
probe-baselines | -     | --train $DIR $TAG                                        | refuse dir.*(directory|not a regular)
probe-baselines | -     | --train $TAG $DIR                                        | refuse dir.*(directory|not a regular)
probe-baselines | nobody | --train $NOREAD $TAG                                    | refuse noread.*Permission denied
probe-baselines | nobody | --train $TAG $NOREAD                                    | refuse noread.*Permission denied
probe-baselines | -     | --train $EMPTY $TAG                                      | refuse empty.*(empty|truncated|not a heads stream)
probe-baselines | -     | --train $TAG $EMPTY                                      | refuse empty.*(empty|truncated|not a heads stream)
probe-baselines | -     | --train $GARB $TAG                                       | refuse garbage.*not a heads stream
probe-baselines | -     | --train $TAG $TXT                                        | refuse text.txt.*not a heads stream
probe-baselines | -     | --train $TOK $TAG                                        | refuse tok is a tokens stream
probe-baselines | -     | --train $TAG $TOK                                        | refuse tok is a tokens stream
probe-baselines | -     | --train $TAG $PRB                                        | refuse probes is a probes stream
probe-baselines | -     | --train $F/tag-cut40 $TAG                                | refuse tag-cut40.*truncated
probe-baselines | -     | --train $TAG $F/tag-less1                                | refuse tag-less1.*(truncated|corrupt)
probe-baselines | -     | --train $TAG $F/tag-flip                                 | refuse tag-flip.*corrupt
probe-baselines | -     | --train $TAG $F/acts-half                                | refuse acts-half.*(truncated|corrupt)
probe-baselines | -     | --train $TAG $F/mixed-tag-acts                           | refuse different kinds
probe-baselines | -     | --train $F/mixed-models $TAG                             | refuse (model|header).*(differ|disagree)|concatenated
probe-baselines | -     | --train $F/tag-garbage $TAG                              | refuse corrupt|not a heads stream|garbage
probe-baselines | -     | --train $ACTSUNTAG $TAG                                  | refuse acts-untagged: story 0 has no POS tags
probe-baselines | -     | --train $TAG $ACTSUNTAG                                  | refuse acts-untagged: story 0 has no POS tags
probe-baselines | -     | --train $TAG $ACTSNAN                                    | refuse acts-nan: story 1, position 3.*NaN
probe-baselines | -     | --train $ACTSINF $TAG                                    | refuse acts-inf: story 2, position 0.*Inf
probe-baselines | -     | --train $CTTAG $TAG                                      | refuse ct-tag holds control-task tags
probe-baselines | -     | --train $TAG $CTACTS                                     | refuse ct-acts holds control-task tags
probe-baselines | -     | --train $TAGNONE $TAG                                    | refuse tag-none: no training tokens
probe-baselines | -     | --train $TAG $TAGZERO                                    | refuse tag-zero: no test tokens
probe-baselines | -     | --train $TAG --rules-from $TAG $TAG                      | refuse tag is a tagged stream; expected probes
probe-baselines | -     | --train $TAG --rules-from $NOENT $TAG                    | refuse nonexistent.*No such file
probe-baselines | -     | --train $TAG --rules-from $F/probes-half $TAG            | refuse probes-half.*(truncated|corrupt)
probe-baselines | -     | --train $TAG --rules-from $PRBBADRULE $TAG               | refuse probes-badrule.*probe-merge.*nonsense
probe-baselines | closed | --train $TAG                                            | refuse stdin is closed
probe-baselines | -     | --train $TAG -o $O/missing/b $TAG                        | refuse missing
probe-baselines | -     | --train $TAG -o $DIR $TAG                                | refuse dir.*(directory|not a regular)
probe-baselines | -     | --train $TAG -o '' $TAG                                  | refuse empty
probe-baselines | -     | --train $TAG -o $O/b --json $O/missing/b.json $TAG       | refuse missing
probe-baselines | -     | --train $TAG --json $DIR $TAG                            | refuse dir.*(directory|not a regular)
probe-baselines | -     | --train $TAG -o $O/b --json $O/b $TAG                    | refuse b is given as two outputs
probe-baselines | -     | --train $TAG -o $O/b --json $O/b.json $TOK               | refuse tok is a tokens stream
probe-baselines | -     | --train $ACTSNAN $TOK                                    | refuse tok is a tokens stream
probe-baselines | -     | --train $TAG0 $TAG                                       | accept
probe-baselines | -     | --train $TAG $TAG0                                       | accept
probe-baselines | -     | --train $TAG1I $TAG1I                                    | accept
probe-baselines | -     | --train $TAG1 $TAG                                       | accept
probe-baselines | -     | --train $TAG $ACTSONE                                    | accept
probe-baselines | $ACTSCAT | --train $TAGCAT                                       | accept
probe-baselines | $TAG  | --train - $ACTS0                                         | accept
probe-baselines | -     | --train $TAG --rules-from $PRBRULES --json $O/b.json $ACTS | accept
# --- probe-bootstrap: probes + activations -> best heads with bootstrap intervals --
probe-bootstrap | -     | $ACTS                                                    | refuse --probes
probe-bootstrap | -     | --bogus --probes $PRB $ACTS                              | refuse unknown option.*--bogus
probe-bootstrap | -     | --probes $PRB $ACTS $ACTS                                | refuse $EXTRA
probe-bootstrap | -     | --probes $PRB $ACTS -B                                   | refuse -B.*needs a value
probe-bootstrap | -     | --probes $PRB -B 0 $ACTS                                 | refuse --replicates.*'0'
probe-bootstrap | -     | --probes $PRB --replicates -5 $ACTS                      | refuse --replicates.*'-5'
probe-bootstrap | -     | --probes $PRB -B x $ACTS                                 | refuse --replicates.*'x'
probe-bootstrap | -     | --probes $PRB -B 99999999999999999999 $ACTS              | refuse --replicates
probe-bootstrap | -     | --probes $PRB --seed -1 $ACTS                            | refuse --seed
probe-bootstrap | -     | --probes $PRB --seed 1.5 $ACTS                           | refuse --seed
probe-bootstrap | -     | --probes $PRB --seed '' $ACTS                            | refuse --seed
probe-bootstrap | -     | --probes $PRB --top 0 $ACTS                              | refuse --top
probe-bootstrap | -     | --probes $PRB --top 65 $ACTS                             | refuse --top
probe-bootstrap | -     | --probes $PRB --threads 0 $ACTS                          | refuse --threads
probe-bootstrap | -     | --probes $PRB --tags ZZ $ACTS                            | refuse --tags.*'ZZ'
probe-bootstrap | -     | --probes $PRB --tags NN,ZZ $ACTS                         | refuse --tags.*'ZZ'
probe-bootstrap | -     | --probes $PRB --tags '(none)' $ACTS                      | accept
probe-bootstrap | -     | --probes $PRBRULES --tags VBD $ACTS                      | refuse --tags.*'VBD'.*merges
probe-bootstrap | -     | --probes $PRBRULES --tags '' $ACTS                       | refuse --tags.*empty tag
probe-bootstrap | -     | --probes $PRB --tags NN $ACTS1                           | refuse --tags.*'NN'
probe-bootstrap | -     | --probes '' $ACTS                                        | refuse empty input file name
probe-bootstrap | -     | --probes $NOENT $ACTS                                    | refuse nonexistent.*No such file
probe-bootstrap | -     | --probes $DIR $ACTS                                      | refuse dir.*(directory|not a regular)
probe-bootstrap | nobody | --probes $NOREAD $ACTS                                  | refuse noread.*Permission denied
probe-bootstrap | -     | --probes $EMPTY $ACTS                                    | refuse empty.*(empty|truncated|not a heads stream)
probe-bootstrap | -     | --probes $GARB $ACTS                                     | refuse garbage.*not a heads stream
probe-bootstrap | -     | --probes $ACTS $ACTS                                     | refuse acts is an activations stream; expected probes
probe-bootstrap | -     | --probes $F/probes-cut3 $ACTS                            | refuse probes-cut3.*(truncated|not a heads stream)
probe-bootstrap | -     | --probes $F/probes-half $ACTS                            | refuse probes-half.*(truncated|corrupt)
probe-bootstrap | -     | --probes $F/probes-flip $ACTS                            | refuse probes-flip.*corrupt
probe-bootstrap | -     | --probes $PRBTWICE $ACTS                                 | refuse probes-twice.*both of layer 0 head 0 k
probe-bootstrap | -     | --probes $PRBNOMODEL $ACTS                               | refuse probes-nomodel names no model
probe-bootstrap | -     | --probes $PRBBADRULE $ACTS                               | refuse probes-badrule.*probe-merge.*nonsense
probe-bootstrap | $ACTS | --probes -                                               | refuse --probes and the test activations both read stdin
probe-bootstrap | -     | --probes $PRB $NOENT                                     | refuse nonexistent.*No such file
probe-bootstrap | -     | --probes $PRB $DIR                                       | refuse dir.*(directory|not a regular)
probe-bootstrap | nobody | --probes $PRB $NOREAD                                   | refuse noread.*Permission denied
probe-bootstrap | -     | --probes $PRB $TXT                                       | refuse text.txt.*not a heads stream
probe-bootstrap | -     | --probes $PRB $TAG                                       | refuse tag is a tagged stream
probe-bootstrap | -     | --probes $PRB $PRB                                       | refuse probes is a probes stream; expected activations
probe-bootstrap | -     | --probes $PRB $F/acts-cut40                              | refuse acts-cut40.*truncated
probe-bootstrap | -     | --probes $PRB $F/acts-less1                              | refuse acts-less1.*(truncated|corrupt)
probe-bootstrap | -     | --probes $PRB $F/acts-flip                               | refuse acts-flip.*corrupt
probe-bootstrap | -     | --probes $PRB $F/mixed-models                            | refuse (model|header).*(differ|disagree)|concatenated
probe-bootstrap | -     | --probes $PRB $F/mixed-kinds                             | refuse mixed-kinds is a tokens stream
probe-bootstrap | -     | --probes $PRB $ACTSNAN                                   | refuse story 1, token 3.*NaN
probe-bootstrap | -     | --probes $PRB $ACTSINF                                   | refuse story 2, token 0.*Inf
probe-bootstrap | -     | --probes $PRB2 $ACTS                                     | refuse probes were fitted on model
probe-bootstrap | -     | --probes $PRB $ACTSG                                     | refuse actsg comes from model
probe-bootstrap | -     | --probes $PRB $ACTSL0                                    | refuse acts-l0 has no vector k of layer 1
probe-bootstrap | -     | --probes $PRB $ACTSZ                                     | refuse acts-z has no vector k
probe-bootstrap | -     | --probes $PRB $F/h-dhead                                 | refuse dimension 4.*5 floats
probe-bootstrap | -     | --probes $PRB $F/h-window                                | refuse window-size
probe-bootstrap | -     | --probes $PRB $F/h-nomodel                               | refuse h-nomodel.* names no model
probe-bootstrap | -     | --probes $PRB $ACTSNONE                                  | refuse acts-none: no test tokens
probe-bootstrap | -     | --probes $PRB $ACTSZERO                                  | refuse acts-zero: no test tokens
probe-bootstrap | -     | --probes $PRB $ACTSUNTAG                                 | refuse acts-untagged: story 0 has no POS tags
probe-bootstrap | -     | --probes $CTPRB $ACTS                                    | refuse fitted on control-task tags.*acts has real tags
probe-bootstrap | -     | --probes $PRB $CTACTS                                    | refuse fitted on real tags.*ct-acts has control-task tags
probe-bootstrap | -     | --probes $CTPRB $CT2ACTS                                 | refuse another control task.*seed 1.*seed 2
probe-bootstrap | -     | --probes $CTPRB $CTDACTS                                 | refuse another distribution.*control-task-dist
probe-bootstrap | closed | --probes $PRB                                           | refuse stdin is closed
probe-bootstrap | -     | --probes $PRB -o $O/missing/b $ACTS                      | refuse missing
probe-bootstrap | -     | --probes $PRB -o $DIR $ACTS                              | refuse dir.*(directory|not a regular)
probe-bootstrap | -     | --probes $PRB -o '' $ACTS                                | refuse empty
probe-bootstrap | -     | --probes $PRB -o $O/b $ACTSNAN                           | refuse story 1, token 3.*NaN
probe-bootstrap | -     | --probes $PRB -B 50 $ACTS0                               | accept
probe-bootstrap | -     | --probes $PRB -B 50 $ACTS1                               | accept
probe-bootstrap | -     | --probes $PRB -B 50 $ACTSONE                             | accept
probe-bootstrap | $ACTSCAT | --probes $PRBCAT -B 50                                | accept
probe-bootstrap | -     | --probes $PRBSUB --top 64 -B 1 $ACTSCAT                  | accept
probe-bootstrap | -     | --probes $PRB -B 20 $ACTSQK                              | accept
probe-bootstrap | -     | --probes $PRBRULES --tags VB,NN -B 20 $ACTS              | accept
probe-bootstrap | -     | --probes $CTPRB --seed 0 -B 20 $CTACTS                   | accept
probe-bootstrap | -     | --probes $PRB --tags '' --threads 256 -B 20 $ACTS        | accept
CASES

mkdir "$TMP/res"
worker() {
  local w=$1 i stdin args expect res
  W=$TMP/w$w O=$TMP/out$w
  mkdir -p "$W" "$O"
  for ((i = w; i < ${#c_tool[@]}; i += 2)); do
    trim stdin "${c_stdin[i]}"; trim args "${c_args[i]}"; trim expect "${c_expect[i]}"
    printf -v res '%s/res/%05d' "$TMP" "$i"
    run_case "${c_tool[i]}" "$stdin" "$args" "$expect" "${c_known[i]}" >"$res"
  done
}
worker 0 & worker 1 & wait
res=("$TMP"/res/*)
[ ${#res[@]} -gt 0 ] && cat "${res[@]}" | sed "s|$TMP/||g"
check_eq "every case reported" "${#res[@]}" "${#c_tool[@]}"

# Every tool in tools/ has cases; the fixtures were left as they were.
total=0
for t in "$TOP"/tools/*.c; do
  t=$(basename "$t" .c)
  check "$t has at least 6 cases (${ncases[$t]:-0})" test "${ncases[$t]:-0}" -ge 6
  total=$((total + ${ncases[$t]:-0}))
done
check "at least 150 cases ($total, $n_known known failures)" test "$total" -ge 150
check "no case changed a fixture" sh -c "cd '$F' && sha256sum --quiet -c '$TMP/fixtures.sha'"
# Its wall time is reported, not asserted: on a loaded machine or under the
# sanitizers it varies by a factor of 4 (the per-case timeout catches a hang).
echo "# the matrix ran in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# case-study.sh: draw one of the study's case studies (docs/DESIGN.md §1.4) from a
# test split: the F1 heatmap(s) of its probe tag(s), the head's activity over
# a story window around an anchor token, and its attention (bars from one
# query token, or the stacked strip of one panel per query token).  Run by
# pipelines/case-studies.mk; usable by hand.
#
#   pipelines/figures/case-study.sh --name quote --head L2H0 --kind key --tags '`` '"''" \
#     --style quote --acts out/m/test.acts --tagged out/m/test.tagged \
#     --report out/m/results_keys.json --probes out/m/probes.probes --model-dir m --out out/m/figures
#
# --story N picks the story (a story index of the stream); auto (default) takes
# the first story with the anchor token at position >= 12 (quote: an opening
# `` followed by a closing '').  Styles:
#   quote     activity window around the quotation, the quotation highlighted;
#             strip of queries from the opening quote on
#   pre-verb  anchor = a VBD; activity with the token before it highlighted;
#             attention from that token, VBD keys in bold
#   noun      anchor = a PRP$; activity with it highlighted; attention from it,
#             NN keys in bold; plus average attention from the anchor tag and
#             to NN over the whole split
#   but       anchor = a token "but" (tag CC); strip of queries around it
set -euo pipefail
BIN=${BIN:-bin}
HERE=$(cd "$(dirname "$0")" && pwd)
name= head= kind=key tags= style= story=auto acts= tagged= report= probes= model_dir= out= anchor=
while [ $# -gt 0 ]; do
  case $1 in
    --name) name=$2;; --head) head=$2;; --kind) kind=$2;; --tags) tags=$2;;
    --style) style=$2;; --story) story=$2;; --acts) acts=$2;; --tagged) tagged=$2;;
    --report) report=$2;; --probes) probes=$2;; --model-dir) model_dir=$2;; --out) out=$2;;
    --anchor) anchor=$2;;
    *) echo "case-study.sh: unknown option $1" >&2; exit 2;;
  esac
  shift 2
done
die() { echo "case-study.sh: $name: $*" >&2; exit 1; }
for v in name head style acts tagged out; do [ -n "${!v}" ] || die "--$v is required"; done
# --head best: the head whose probe has the highest F1 for the first tag in
# this model's report (on a model other than TinyStories-1M the study's heads
# mean nothing; its own best head is the one worth looking at).
if [ "$head" = best ]; then
  [ -n "$report" ] || die "--head best needs --report"
  read -r first_tag _ <<<"$tags"
  head=$("$BIN/probe-compare" --tsv --tags "$first_tag" "$report" "$report" | awk -F'\t' 'NR == 2 {print $4}')
  [ -n "$head" ] || die "no probe for tag $first_tag in $report to pick the best head from"
  echo "case-study $name: best head for $first_tag in this model's report: $head"
fi
[[ $head =~ ^L([0-9]+)H([0-9]+)$ ]] || die "--head $head is not LxHy or best"
case $style in quote) anchor=${anchor:-'``'};; pre-verb) anchor=${anchor:-VBD};; noun) anchor=${anchor:-'PRP$'};;
  but) anchor=${anchor:-CC};; *) die "--style $style: want quote, pre-verb, noun or but";; esac
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# token rows of the tagged split: story pos id start end text tag
"$BIN/stream-view" --no-header "$tagged" >"$tmp/tok.tsv"
# pick: story, anchor position, end position (quote: the closing '')
pick=$(awk -F'\t' -v want="$story" -v style="$style" -v anchor="$anchor" '
  function flush() {
    if (done || cur == "") return
    if (want != "auto" && cur != want) return
    for (i = 12; i < n; i++) {
      if (tag[i] != anchor) continue
      if (style == "but" && tolower(word[i]) !~ /^ *but$/) continue
      if (style == "quote") { for (j = i + 2; j < n; j++) if (tag[j] == "'"''"'") break; if (j >= n || j - i > 24) continue
        print cur, i, j, n; done = 1; return }
      if (style == "pre-verb" && tag[i - 1] == "VBD") continue
      print cur, i, i, n; done = 1; return
    }
  }
  $1 != cur { flush(); cur = $1; n = 0 }
  { word[n] = $6; tag[n] = $7; n++ }
  END { flush() }' "$tmp/tok.tsv")
[ -n "$pick" ] || die "no story ${story/auto/(auto)} has a suitable $anchor token at position >= 12 in $tagged"
read -r S A E T <<<"$pick"
echo "case-study $name: $head, story $S, anchor $anchor at token $A$([ "$style" = quote ] && echo " (closing quote at $E)")"

mf=()
[ -n "$model_dir" ] && mf=(--model "$model_dir")
lo() { local x=$1; [ "$x" -lt 0 ] && x=0; echo "$x"; }
hi() { local x=$1; [ "$x" -gt "$T" ] && x=$T; echo "$x"; }
gp() { gnuplot -e "$1" "$HERE/$2"; }
gpq() { printf "%s" "$1" | sed "s/'/''/g"; }   # a gnuplot single-quoted string

# F1 heatmaps of the probe tags
if [ -n "$report" ]; then
  mflag=(--model-label "unknown model")
  [ -n "$probes" ] && mflag=(--model-from "$probes")
  for t in $tags; do
    safe=$(printf '%s' "$t" | sed 's/``/open-quote/; s/'"''"'/close-quote/; s/\$/S/g; s/[^A-Za-z0-9_-]/_/g')
    "$BIN/report-grid" --tag "$t" "${mflag[@]}" -o "$tmp/grid-$safe.txt" "$report"
    gp "data='$tmp/grid-$safe.txt'; out='$out/$name-f1-$kind-$safe'; kind='$kind'" f1-heatmap.gp
  done
fi

# activity over a window around the anchor
case $style in
  quote) w0=$(lo $((A - 10))); w1=$(hi $((E + 6))); h0=$A; h1=$E;;
  pre-verb) w0=$(lo $((A - 20))); w1=$(hi $((A + 8))); h0=$((A - 1)); h1=$((A - 1));;
  noun) w0=$(lo $((A - 20))); w1=$(hi $((A + 8))); h0=$A; h1=$A;;
  but) w0=$(lo $((A - 12))); w1=$(hi $((A + 12))); h0=$A; h1=$A;;
esac
"$BIN/activity" "${mf[@]}" --heads "$head" --story "$S" --window "$w0:$w1" -o "$tmp/act.tsv" "$acts"
gp "data='$tmp/act.tsv'; out='$out/$name-activity'; hl_from=$h0; hl_to=$h1" activity-bars.gp

# attention
case $style in
  quote)
    q1=$((E + 1 < A + 10 ? E + 1 : A + 10)); q1=$(hi "$q1"); q1=$((q1 - 1))
    "$BIN/attn-slice" --heads "$head" --story "$S" --query "$A-$q1" --window "$(lo $((A - 5))):$((q1 + 1))" -o "$tmp/strip.tsv" "$acts"
    gp "data='$tmp/strip.tsv'; out='$out/$name-attention-strip'" attn-strip.gp;;
  but)
    q0=$(lo $((A - 2))); q1=$(hi $((A + 8))); q1=$((q1 - 1))
    "$BIN/attn-slice" --heads "$head" --story "$S" --query "$q0-$q1" --window "$(lo $((A - 6))):$((q1 + 1))" -o "$tmp/strip.tsv" "$acts"
    gp "data='$tmp/strip.tsv'; out='$out/$name-attention-strip'" attn-strip.gp;;
  pre-verb)
    "$BIN/attn-slice" --heads "$head" --story "$S" --query $((A - 1)) --window "$w0:$A" -o "$tmp/attn.tsv" "$acts"
    gp "data='$tmp/attn.tsv'; out='$out/$name-attention'; hl_tag='VBD'" attn-bars.gp;;
  noun)
    "$BIN/attn-slice" --heads "$head" --story "$S" --query "$A" --window "$w0:$((A + 1))" -o "$tmp/attn.tsv" "$acts"
    gp "data='$tmp/attn.tsv'; out='$out/$name-attention'; hl_tag='NN'" attn-bars.gp
    "$BIN/attn-slice" --heads "$head" --from-tag "$anchor" -o "$tmp/from.tsv" "$acts"
    gp "data='$tmp/from.tsv'; out='$out/$name-attention-from-$(printf '%s' "$anchor" | tr '$' S)'" attn-avg.gp
    "$BIN/attn-slice" --heads "$head" --to-tag NN -o "$tmp/to.tsv" "$acts"
    gp "data='$tmp/to.tsv'; out='$out/$name-attention-to-NN'" attn-avg.gp;;
esac

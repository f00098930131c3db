# attn-bars.gp: one head's attention from one query token to the tokens
# before it (bars labelled "word (TAG)"), the query token's own bar in a
# lighter colour; keys tagged hl_tag (e.g. VBD) get bold labels.
#   attn-slice --heads L6H4 --story 12 --query 57 --window 38:58 acts.hs > a.tsv
#   gnuplot -e "data='a.tsv'; out='fig/l6h4-attn'; hl_tag='VBD'" pipelines/figures/attn-bars.gp
# vars: data out [hl_tag] [title] [model]
# The table must hold one head, one story and one query.
load ARG0[1:strstrt(ARG0, "attn-bars.gp") - 1] . "common.gp"
q_s = system(sprintf("awk -F'\t' '!/^#/ { k = \"L\" $2 \"H\" $3 \"|\" $1 \"|\" $4 \"|\" $10; if (!s[k]++) { n++; last = k } } END { if (n == 1) print last }' '%s'", data))
if (strlen(q_s) == 0) { print sprintf("figure: %s must hold one head, story and query (attn-slice --heads LxHy --story N --query I)", data); exit status 1 }
# q_s = "LxHy|story|query|qlabel"
p1 = strstrt(q_s, "|"); head_s = q_s[1:p1-1]; rest = q_s[p1+1:*]
p2 = strstrt(rest, "|"); story_s = rest[1:p2-1]; rest = rest[p2+1:*]
p3 = strstrt(rest, "|"); qpos = int(rest[1:p3-1]); qlabel = rest[p3+1:*]
if (!exists("hl_tag")) hl_tag = ""
if (!exists("title")) title = sprintf("Attention from %s (%s, story %s, token %d)", qlabel, head_s, story_s, qpos)
nkey = int(system(sprintf("grep -vc '^#' '%s'", data)))
set style fill solid 1.0 noborder
set boxwidth 0.8
set ylabel "Attention"
set yrange [0:*]
set xtics rotate by 90 right nomirror scale 0 font ",9"
set ytics nomirror
set grid ytics lt 0 lw 0.5 lc rgb "#bbbbbb"
set title title noenhanced
set key off
set bmargin 10
set label 1 model_line at screen 0.01, screen 0.02 left font ",8" tc rgb MODELTC noenhanced
W = 160 + 30 * nkey
W = W < 600 ? 600 : W
do for [f in "png pdf"] {
  eval setterm(f, W, 400)
  plot DATA using 5:6:($5 == $4 ? 0x6699cc : 0x00008b): \
       xticlabels((strlen(hl_tag) && strcol(9) eq hl_tag) ? bold(strcol(11)) : esc(strcol(11))) \
       with boxes lc rgb variable
  unset output
}

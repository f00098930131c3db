# attn-strip.gp: the "but" case-study strip: one small attention panel per
# query token, stacked, all over the same key window (bars labelled
# "word (TAG)" under the bottom panel), each query's own bar lighter and its
# word written at the right of its panel.
#   attn-slice --heads L6H13 --story 12 --query 40-49 --window 36:50 acts.hs > s.tsv
#   gnuplot -e "data='s.tsv'; out='fig/l6h13-strip'" pipelines/figures/attn-strip.gp
# vars: data out [title] [model]
# The table must hold one head and one story.
load ARG0[1:strstrt(ARG0, "attn-strip.gp") - 1] . "common.gp"
hs = system(sprintf("awk -F'\t' '!/^#/ { k = \"L\" $2 \"H\" $3 \" story \" $1; if (!s[k]++) { n++; last = k } } END { if (n == 1) print last }' '%s'", data))
if (strlen(hs) == 0) { print sprintf("figure: %s must hold one head and one story (attn-slice --heads LxHy --story N)", data); exit status 1 }
queries = system(sprintf("awk -F'\t' '!/^#/ && !s[$4]++ { printf \"%%s \", $4 }' '%s'", data))
nq = words(queries)
kmin = int(system(sprintf("awk -F'\t' '!/^#/ { if (m == \"\" || $5 < m) m = $5 } END { print m }' '%s'", data)))
kmax = int(system(sprintf("awk -F'\t' '!/^#/ { if ($5 > m) m = $5 } END { print m }' '%s'", data)))
ymax = real(system(sprintf("awk -F'\t' '!/^#/ { if ($6 > m) m = $6 } END { print m + 0 }' '%s'", data)))
ymax = ymax > 0 ? ymax * 1.05 : 1
if (!exists("title")) title = "Attention of " . hs . ", one panel per query token"
set style fill solid 1.0 noborder
set boxwidth 0.8
set xrange [kmin - 0.6:kmax + 0.6]
set yrange [0:ymax]
set ytics nomirror font ",8" 0, (ymax > 0.5 ? 0.5 : (ymax > 0.2 ? 0.1 : 0.05))
set key off
set lmargin 8; set rmargin 12
PH = 75
H = PH * nq + 180
W = 200 + 32 * (kmax - kmin + 1)
W = W < 520 ? 520 : W
do for [f in "png pdf"] {
  eval setterm(f, W, H)
  set multiplot title title noenhanced
  set label 1 model_line at screen 0.01, screen 0.012 left font ",8" tc rgb MODELTC noenhanced
  top = 1.0 - 40.0 / H
  bottom = 120.0 / H
  ph = (top - bottom) / nq
  do for [i = 1:nq] {
    q = int(word(queries, i))
    set tmargin at screen top - (i - 1) * ph
    set bmargin at screen top - i * ph + 0.12 * ph
    qw = system(sprintf("awk -F'\t' '!/^#/ && $4 == %d { print $12; exit }' '%s'", q, data))
    set label 2 qw at graph 1.03, graph 0.5 left font ",11" noenhanced
    if (i < nq) { set xtics format "" scale 0.5 nomirror } else {
      set xtics rotate by 60 right nomirror scale 0 font ",9" }
    if (i < nq) {
      plot DATA using 5:($4 == q ? $6 : NaN):($5 == $4 ? 0x6699cc : 0x1f2f7f) with boxes lc rgb variable
    } else {
      plot DATA using 5:($4 == q ? $6 : NaN):($5 == $4 ? 0x6699cc : 0x1f2f7f): \
           xticlabels($4 == q ? esc(strcol(11)) : "") with boxes lc rgb variable
    }
    unset label 1
  }
  unset label 2
  unset multiplot
  unset output
}

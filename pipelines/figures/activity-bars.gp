# activity-bars.gp: a head's activity ||c_i||_2 over the tokens of a story
# window, one bar per token labelled "word (TAG)"; tokens hl_from..hl_to
# (positions, inclusive) highlighted: shaded, lighter bars, bold labels.
#   activity --model m --heads L2H0 --story 12 --window 40:70 acts.hs > act.tsv
#   gnuplot -e "data='act.tsv'; out='fig/l2h0-activity'; hl_from=52; hl_to=58" \
#     pipelines/figures/activity-bars.gp
# vars: data out [hl_from hl_to] [title] [model]
# The table must hold one head and one story (activity --heads LxHy --story N).
load ARG0[1:strstrt(ARG0, "activity-bars.gp") - 1] . "common.gp"
head_s = system(sprintf("awk -F'\t' '!/^#/ { k = \"L\" $5 \"H\" $6 \" story \" $1; if (!s[k]++) { n++; last = k } } END { if (n == 1) print last }' '%s'", data))
if (strlen(head_s) == 0) { print sprintf("figure: %s must hold exactly one head and one story (activity --heads LxHy --story N)", data); exit status 1 }
if (!exists("hl_from")) hl_from = -1
if (!exists("hl_to")) hl_to = -2
if (!exists("title")) title = "Activity of " . head_s
ishl(p) = (p >= hl_from && p <= hl_to)
ntok = int(system(sprintf("grep -vc '^#' '%s'", data)))
set style fill solid 1.0 noborder
set boxwidth 0.8
set ylabel "Activity ||c_i||_2 (norm of vector)" noenhanced
set yrange [0:*]
set xtics rotate by 60 right nomirror scale 0 font ",9"
set ytics nomirror
set grid ytics lt 0 lw 0.5 lc rgb "#bbbbbb"
set title title noenhanced
set key off
set bmargin 9
if (hl_to >= hl_from) {
  set object 1 rect from hl_from - 0.5, graph 0 to hl_to + 0.5, graph 1 behind fc rgb "#fdf0c8" fs solid 1.0 noborder
}
set label 1 model_line at screen 0.01, screen 0.02 left font ",8" tc rgb MODELTC noenhanced
W = 160 + 28 * ntok
W = W < 600 ? 600 : W
do for [f in "png pdf"] {
  eval setterm(f, W, 380)
  plot DATA using 2:7:(ishl($2) ? 0xc0504d : 0x7f1f1f): \
       xticlabels(ishl(column(2)) ? bold(strcol(8)) : esc(strcol(8))) with boxes lc rgb variable
  unset output
}

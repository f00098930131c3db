# head-grid.gp: one number per head as a layer x head heatmap (x: head, y:
# layer), for the head analyses (head-scores, logit-lens --grid, ablate
# --sweep).  The table is a matrix, one row per layer, one column per head,
# after '#' lines (the model's identity among them); the grid's size is read
# from it, so any model shape draws.
#   gnuplot -e "data='ind.txt'; out='fig/heads-induction'; ttl='induction score'" pipelines/figures/head-grid.gp
# vars: data out ttl [cblabel] [diverging=1: a blue-white-red scale centred on 0]
load ARG0[1:strstrt(ARG0, "head-grid.gp") - 1] . "common.gp"
if (!exists("cblabel")) cblabel = ""
if (!exists("diverging")) diverging = 0
set datafile separator whitespace
stats data matrix nooutput
nh = STATS_size_x; nl = STATS_size_y
if (diverging) {
  a = abs(STATS_min) > abs(STATS_max) ? abs(STATS_min) : abs(STATS_max)
  a = (a == 0) ? 1 : a
  set cbrange [-a:a]
  set palette defined (-1 "#2166ac", -0.5 "#92c5de", 0 "#f7f7f7", 0.5 "#f4a582", 1 "#b2182b")
} else {
  set cbrange [STATS_min:(STATS_max > STATS_min ? STATS_max : STATS_min + 1)]
  set palette defined (0 "#f7fbff", 0.25 "#c6dbef", 0.5 "#6baed6", 0.75 "#2171b5", 1 "#08306b")
}
set cblabel cblabel noenhanced
set xrange [-0.5:nh - 0.5]; set yrange [-0.5:nl - 0.5]
set xtics 0,1,nh - 1 out nomirror scale 0.5; set ytics 0,1,nl - 1 out nomirror scale 0.5
set xlabel "Head"; set ylabel "Layer"
set title ttl noenhanced
set tics front
set bmargin 5
set label 1 model_line at screen 0.01, screen 0.02 left font ",8" tc rgb MODELTC noenhanced
do for [f in "png pdf"] {
  eval setterm(f, 620, 340)
  plot data matrix with image notitle
  unset output
}

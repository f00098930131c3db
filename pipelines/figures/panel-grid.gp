# panel-grid.gp: layer x head grids side by side, each with its own scale: F1
# (0..1, sequential) or a difference (-1..1, diverging: red = the model
# above its control, blue = below).  The controls' figures
# (pipelines/figures/controls-figures.sh): a tag's F1 beside the control
# model's and their difference; F1 minus the control's for every tag;
# selectivity (accuracy minus the control task's).
#   gnuplot -e "data='panels.txt'; out='fig/controls'; title='...'; cols=3" pipelines/figures/panel-grid.gp
# The table: "# model:" lines, "# panels: N", then N matrices (rows = layers,
# columns = heads) separated by two blank lines, each after a line
# "# panel: TITLE|SCALE" (SCALE f1 or diff).
# vars: data out [title] [cols (default 3)] [model]
load ARG0[1:strstrt(ARG0, "panel-grid.gp") - 1] . "common.gp"
if (!exists("title")) title = ""
if (!exists("cols")) cols = 3
npanels = int(system(sprintf("sed -n 's/^# panels: //p' '%s' | head -n 1", data)))
if (npanels < 1) { print sprintf("figure: %s has no '# panels:' line", data); exit status 1 }
# the panels' "TITLE|SCALE" lines, read once (a system() per use cost a
# shell and two seds each: most of a 38-panel figure's time on a slow fork)
array PANEL[npanels]
rest = system(sprintf("sed -n 's/^# panel: //p' '%s'", data))
do for [i = 1:npanels] {
  k = strstrt(rest, "\n")
  PANEL[i] = k > 0 ? rest[1:k - 1] : rest
  rest = k > 0 ? rest[k + 1:*] : ""
}
ptitle(i) = PANEL[i][1:strstrt(PANEL[i], "|") - 1]
pscale(i) = PANEL[i][strstrt(PANEL[i], "|") + 1:*]
# the grid's size from the first matrix
nl = int(system(sprintf("awk '/^# panel: /{n++} n == 1 && !/^#/ && NF {r++} END {print r}' '%s'", data)))
nh = int(system(sprintf("awk '!/^#/ && NF {print NF; exit}' '%s'", data)))
rows = (npanels + cols - 1) / cols
set datafile separator whitespace
set xrange [-0.5:nh - 0.5]; set yrange [-0.5:nl - 0.5]
set xtics 0,(nh > 16 ? 4 : 5),nh - 1 out nomirror scale 0.3 font ",7"
set ytics 0,(nl > 8 ? 4 : 2),nl - 1 out nomirror scale 0.3 font ",7"
set cbtics font ",7" scale 0.3
set tics front
W = 300 * cols + 40
H = 200 * rows + 90
do for [f in "png pdf"] {
  eval setterm(f, W, H)
  set multiplot title title noenhanced layout rows, cols margins 0.04, 0.95, 0.07, 0.92 spacing 0.07, 0.07
  set label 1 model_line at screen 0.01, screen 0.012 left font ",9" tc rgb MODELTC noenhanced
  do for [i = 1:npanels] {
    if (pscale(i) eq "diff") {
      set palette defined (-1 "#08306b", -0.5 "#4292c6", 0 "#f7f7f7", 0.5 "#ef3b2c", 1 "#67000d")
      set cbrange [-1:1]; set cbtics -1,0.5,1
    } else {
      set palette defined (0 "#fff5f0", 0.25 "#fcbba1", 0.5 "#fb6a4a", 0.75 "#cb181d", 1 "#67000d")
      set cbrange [0:1]; set cbtics 0,0.5,1
    }
    set title ptitle(i) font ",9" noenhanced offset 0,-0.6
    plot data index (i - 1) matrix with image notitle
    unset label 1
  }
  unset multiplot
  unset output
}

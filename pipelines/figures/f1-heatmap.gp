# f1-heatmap.gp: F1 of one POS tag's probes for every head (x: head 0..15,
# y: layer 0..7, colour 0..1), as in the study's case-study figures.
#   report-grid --tag VBD --model-from probes.hs keys.json > vbd.txt
#   gnuplot -e "data='vbd.txt'; out='fig/vbd'; kind='key'" pipelines/figures/f1-heatmap.gp
# vars: data out [tag (default: the table's '# tag:' line)] [kind: key|query] [model]
load ARG0[1:strstrt(ARG0, "f1-heatmap.gp") - 1] . "common.gp"
if (!exists("tag")) tag = system(sprintf("sed -n 's/^# tag: //p' '%s' | head -n 1", data))
if (tag eq "(none)") tag = ""
if (!exists("kind")) kind = ""
ttl = (strlen(kind) ? kind . " probes: " : "") . "POS tag " . (strlen(tag) ? tag : "(none)")
set palette defined (0 "#f7fbff", 0.25 "#c6dbef", 0.5 "#6baed6", 0.75 "#2171b5", 1 "#08306b")
set datafile separator whitespace
set cbrange [0:1]
set cblabel "F1-score"
# the grid's size from report-grid's "# report: ... rows: layers 0..L columns:
# heads 0..H" line (GPT-2 small: 12 x 12); the study's 8 x 16 otherwise
nlay = int(system(sprintf("sed -n 's/^# report: .*rows: layers 0[.][.]\\([0-9]*\\).*/\\1/p' '%s' | head -n 1", data)) + 1)
nhead = int(system(sprintf("sed -n 's/^# report: .*columns: heads 0[.][.]\\([0-9]*\\).*/\\1/p' '%s' | head -n 1", data)) + 1)
if (nlay < 2 || nhead < 2) { nlay = 8; nhead = 16 }
set xrange [-0.5:nhead - 0.5]; set yrange [-0.5:nlay - 0.5]
set xtics 0,1,nhead - 1 out nomirror scale 0.5; set ytics 0,1,nlay - 1 out nomirror scale 0.5
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

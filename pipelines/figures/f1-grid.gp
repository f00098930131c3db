# f1-grid.gp: the study's appendix grid: one small F1 heatmap per POS tag
# (x: head, y: layer, colour 0..1), five per row.
#   report-grid --all --model-from probes.hs keys.json > all.txt
#   gnuplot -e "data='all.txt'; out='fig/keys-grid'; kind='key'" pipelines/figures/f1-grid.gp
# vars: data out [kind: key|query] [model] [cols (default 5)]
load ARG0[1:strstrt(ARG0, "f1-grid.gp") - 1] . "common.gp"
if (!exists("kind")) kind = ""
if (!exists("cols")) cols = 5
ntags = int(system(sprintf("sed -n 's/^# tags: //p' '%s' | head -n 1", data)))
if (ntags < 1) { print sprintf("figure: %s has no '# tags:' line (make it with report-grid --all)", data); exit status 1 }
# the tag names, read once (a system() per panel costs a shell and two seds
# per tag and terminal: most of the figure's time on a slow fork)
tagnames = system(sprintf("sed -n 's/^# tag: //p' '%s'", data))
array TAG[ntags]
rest = tagnames
do for [i = 1:ntags] {
  k = strstrt(rest, "\n")
  TAG[i] = k > 0 ? rest[1:k - 1] : rest
  rest = k > 0 ? rest[k + 1:*] : ""
}
rows = (ntags + cols - 1) / cols
set datafile separator whitespace
set palette defined (0 "#fff5f0", 0.25 "#fcbba1", 0.5 "#fb6a4a", 0.75 "#cb181d", 1 "#67000d")
set cbrange [0:1]
set cbtics 0,0.5,1 font ",7" scale 0.3
# the grid's size from report-grid's "# report: ... rows: layers 0..L columns:
# heads 0..H" line (GPT-2 small: 12 x 12); the study's 8 x 16 otherwise
nlay = int(system(sprintf("sed -n 's/^# report: .*rows: layers 0[.][.]\\([0-9]*\\).*/\\1/p' '%s' | head -n 1", data)) + 1)
nhead = int(system(sprintf("sed -n 's/^# report: .*columns: heads 0[.][.]\\([0-9]*\\).*/\\1/p' '%s' | head -n 1", data)) + 1)
if (nlay < 2 || nhead < 2) { nlay = 8; nhead = 16 }
set xrange [-0.5:nhead - 0.5]; set yrange [-0.5:nlay - 0.5]
set xtics 0,5,nhead - 1 out nomirror scale 0.3 font ",7"
set ytics 0,2,nlay - 1 out nomirror scale 0.3 font ",7"
set tics front
W = 250 * cols + 40
H = 190 * rows + 90
do for [f in "png pdf"] {
  eval setterm(f, W, H)
  set multiplot title sprintf("F1 of the %s probes per POS tag (x: head, y: layer)", strlen(kind) ? kind : "") noenhanced \
      layout rows, cols margins 0.03, 0.955, 0.06, 0.94 spacing 0.065, 0.045
  set label 1 model_line at screen 0.01, screen 0.012 left font ",9" tc rgb MODELTC noenhanced
  do for [i = 1:ntags] {
    set title "POS-Tag: " . TAG[i] font ",9" noenhanced offset 0,-0.6
    plot data index (i - 1) matrix with image notitle
    unset label 1
  }
  unset multiplot
  unset output
}

# attn-avg.gp: the study's appendix: average attention from a tag to every
# tag (or to a tag from every tag), one bar per tag; bar opacity = how
# frequent the tag is (its token count / the most frequent tag's).
#   attn-slice --heads L5H5 --story 0-99 --from-tag 'PRP$' acts.hs > from.tsv
#   gnuplot -e "data='from.tsv'; out='fig/from-prp'" pipelines/figures/attn-avg.gp
# vars: data out [title] [model]
# The table must hold one head (attn-slice --heads LxHy --from-tag/--to-tag).
load ARG0[1:strstrt(ARG0, "attn-avg.gp") - 1] . "common.gp"
mode = system(sprintf("sed -n 's/^# \\(from\\|to\\) tag .*/\\1/p' '%s' | head -n 1", data))
tag = system(sprintf("sed -n 's/^# \\(from\\|to\\) tag //p' '%s' | head -n 1", data))
if (strlen(mode) == 0) { print sprintf("figure: %s is not an aggregate (attn-slice --from-tag / --to-tag)", data); exit status 1 }
hs = system(sprintf("awk -F'\t' '!/^#/ { k = \"L\" $1 \"H\" $2; if (!s[k]++) { n++; last = k } } END { if (n == 1) print last }' '%s'", data))
if (strlen(hs) == 0) { print sprintf("figure: %s must hold exactly one head (attn-slice --heads LxHy)", data); exit status 1 }
maxtok = real(system(sprintf("awk -F'\t' '!/^#/ { if ($7 > m) m = $7 } END { print m + 0 }' '%s'", data)))
nstories = system(sprintf("sed -n 's/^# stories: //p' '%s' | head -n 1", data))
ntag = int(system(sprintf("grep -vc '^#' '%s'", data)))
if (!exists("title")) title = sprintf("Averaged attention %s %s (%s)", mode, tag, hs)
# navy blended with white by alpha = tokens / maxtok (as the study's opacity)
alpha(n) = 0.12 + 0.88 * (maxtok > 0 ? n / maxtok : 0)
blend(a) = (int(255 - a * 255) << 16) + (int(255 - a * 255) << 8) + int(255 - a * (255 - 139))
set style fill solid 1.0 border lc rgb "#9999bb"
set boxwidth 0.75
set yrange [0:*]
set ylabel "Average attention"
set xlabel "POS tags (" . (mode eq "from" ? "keys" : "queries") . "; opacity: tokens with the tag, max " . sprintf("%d", maxtok) . ")" noenhanced
set xtics rotate by 90 right nomirror scale 0 font ",9"
set ytics nomirror
set grid ytics lt 0 lw 0.5 lc rgb "#bbbbbb"
set title title noenhanced
set key off
set bmargin 7
set label 1 model_line at screen 0.01, screen 0.02 left font ",8" tc rgb MODELTC noenhanced
W = 200 + 26 * ntag
W = W < 640 ? 640 : W
do for [f in "png pdf"] {
  eval setterm(f, W, 400)
  plot DATA using 0:4:(blend(alpha($7))):xticlabels(esc(strcol(3))) with boxes lc rgb variable
  unset output
}

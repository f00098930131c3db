# common.gp: loaded by every figure script in this directory (not run alone).
#
# Every script is run as
#   gnuplot -e "data='TABLE'; out='PATH/NAME'; ..." pipelines/figures/SCRIPT.gp
# and writes PATH/NAME.png (pngcairo, else png) and PATH/NAME.pdf (pdfcairo,
# else PATH/NAME.svg).  The model is read from the table's "# model:" line
# (tables from activity / attn-slice / report-grid always carry it) unless
# model='...' is given; a figure without a model is refused.
if (!exists("data")) { print "figure: no data (gnuplot -e \"data='TABLE'; out='NAME'\" SCRIPT.gp)"; exit status 2 }
if (!exists("out")) { print "figure: no out (gnuplot -e \"data='TABLE'; out='NAME'\" SCRIPT.gp)"; exit status 2 }
if (system(sprintf("test -r '%s' && echo y", data)) ne "y") { print sprintf("figure: %s: cannot read", data); exit status 1 }
if (!exists("model")) model = system(sprintf("sed -n 's/^# model: //p' '%s' | head -n 1", data))
if (strlen(model) == 0) { print sprintf("figure: %s names no model (no '# model:' line); give model='...'", data); exit status 1 }
if (!exists("modelsha")) modelsha = system(sprintf("sed -n 's/^# model-sha256: //p' '%s' | head -n 1", data))
model_line = "model: " . model . ((strlen(modelsha) >= 12 && strstrt(model, modelsha[1:12]) == 0) ? "   sha256 " . modelsha[1:12] . "..." : "")

MODELTC = strstrt(model, "not TinyStories-1M") > 0 ? "#b00000" : "#000000"
PNGTERM = strstrt(GPVAL_TERMINALS, " pngcairo ") > 0 ? "pngcairo" : "png"
PDFTERM = strstrt(GPVAL_TERMINALS, " pdfcairo ") > 0 ? "pdfcairo" : "svg"
PDFEXT = PDFTERM eq "pdfcairo" ? "pdf" : "svg"
FONT = "Sans"

set datafile separator "\t"
set datafile commentschars "#"

# gnuplot reads '"' in a data file as the start of a quoted field, so tables are
# read through DATA, which turns '"' into byte 001; esc() turns it back.
DATA = sprintf("< tr '\"' '\\001' < '%s'", data)
# Escape a string for enhanced text (token text may contain _ ^ { } @ & ~ \).
esc1(c) = c eq "\001" ? "\"" : (strstrt("\\^_@&~{}", c) > 0 ? "\\" . c : c)
esc(s) = strlen(s) == 0 ? "" : esc1(s[1:1]) . esc(s[2:*])
bold(s) = "{/:Bold " . esc(s) . "}"

# Terminal for format f ("png" or "pdf") at W x H pixels (PDF: W/100 x H/100 inches).
# Use:  eval setterm("png", 900, 400)
setterm(f, W, H) = f eq "png" ? \
  sprintf("set terminal %s size %d,%d enhanced font '%s,10'; set output '%s.png'", PNGTERM, W, H, FONT, out) : \
  (PDFTERM eq "pdfcairo" ? \
    sprintf("set terminal pdfcairo size %.2fin,%.2fin enhanced font '%s,7'; set output '%s.pdf'", W/100.0, H/100.0, FONT, out) : \
    sprintf("set terminal svg size %d,%d enhanced font '%s,10'; set output '%s.svg'", W, H, FONT, out))

# md.sh: Markdown cells for the reports (sourced by summary.sh and
# controls-case.sh).
#   f3 X    a number to 3 decimals, "-" for a missing one ("-" or empty)
#   esc T   a tag as a table cell: "(none)" for the empty tag, | and `
#           escaped
f3() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.3f", x }'; }
esc() { local t=$1; [ -z "$t" ] && t="(none)"; t=${t//|/\\|}; t=${t//\`/\\\`}; printf '%s' "$t"; }

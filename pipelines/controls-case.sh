#!/usr/bin/env bash
# controls-case.sh CONTROLS_TSV: the controls of the case-study tags as a
# Markdown legend and table (docs/controls.md), for summary.md and the report
# card heads.md: per tag, in the vector kind the study probed it with, the
# best head with its bootstrap interval, the runner-up, the baselines, the
# control model's F1, selectivity and the split-seed stability.
# Env: CONTROL (yes|no), CONTROL_SEED.
set -euo pipefail
ct=$1
export LC_ALL=C
echo "Each tag in the vector kind the study probed it with (docs/controls.md)."
echo "F1 [95% interval]: bootstrap over test stories ($(sed -n 's/^# bootstrap: \([0-9]*\) replicates.*/\1/p' "$ct") replicates)."
echo "Majority / token id: F1 of the majority tag and of the most frequent tag of each token id (no vector at all)."
if [ "${CONTROL:-yes}" = yes ]; then
  echo "Control: the same probe on a model with the same architecture and random weights (model-init seed ${CONTROL_SEED:-1}), same head."
else
  echo "Control: not run (CONTROL=no)."
fi
echo "Selectivity: accuracy minus the control task's accuracy, same head (Hewitt & Liang 2019)."
echo "Best in seeds: split seeds ($(sed -n 's/^# split seeds: \([0-9 ]*\) (.*/\1/p' "$ct")) in which this head is the best one."
echo "Stable: best in at least 4/5 of the seeds and its interval above the runner-up's."
echo
echo "| tag | probe | support | best head | F1 [95% interval] | runner-up | F1 [95% interval] | majority F1 | token-id F1 | control F1 | F1 - control | selectivity | best in seeds | stable |"
echo "|---|---|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"
. "$(dirname "$0")/md.sh"
case_rows() { # the study's kind per tag: key probes, query probes for PRP$
  for tk in '``:k' "'':k" 'VBD:k' 'PRP$:q' 'CC:k'; do
    t=${tk%:*} v=${tk##*:}
    row=$(awk -F'\t' -v v="$v" -v t="$t" '!/^#/ && $1 == v && $2 == t' "$ct")
    kind=key; [ "$v" = q ] && kind=query
    if [ -z "$row" ]; then echo "| $(esc "$t") | $kind | 0 | - | - | - | - | - | - | - | - | - | - | - |"; continue; fi
    IFS=$'\t' read -r _ _ sup best f1 lo hi share ru ruf1 rulo ruhi maj tok cf dcf cbest cbf1 sel wins seeds stable <<<"$row"
    echo "| $(esc "$t") | $kind | $sup | $best | $(f3 "$f1") [$(f3 "$lo"), $(f3 "$hi")] | $ru | $(f3 "$ruf1") [$(f3 "$rulo"), $(f3 "$ruhi")] | $(f3 "$maj") | $(f3 "$tok") | $(f3 "$cf") | $(f3 "$dcf") | $(f3 "$sel") | $wins of $seeds | $stable |"
  done
}
case_rows

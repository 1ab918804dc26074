#!/usr/bin/env bash
# The experts' fusion (lttw.fusion), end to end: what the frozen experts and scene encoder read of
# 13,000 generated scenes, the fusion module and the decoder trained on it, into models/default,
# then the Swift fixtures, evaluations and the model card. Run from the repository root, after the
# experts are shipped (ship_signal.sh, ship_obstacle.sh, ship_crosswalk_real.sh: a later change to
# an expert or the scene model needs this run again); about 10 minutes of extraction and 15 of
# training on 2 CPU cores, then the evaluations.
#
#   ./training/ship_fusion.sh                                  # the shipped recipe
#   FROM_RUN=training/runs/fusion ./training/ship_fusion.sh    # ship a finished run
set -euo pipefail
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
RUN=${FROM_RUN:-training/runs/fusion}
if [ -z "${FROM_RUN:-}" ]; then
  $PY -m lttw.fusion_train extract --model models/default --split val --n 1000
  $PY -m lttw.fusion_train extract --model models/default --split train --n 12000
  $PY -m lttw.fusion_train train --model models/default --run_dir "$RUN" --epochs 12
fi
$PY -m lttw.artifact merge-fusion --run "$RUN" --model models/default
$PY -m lttw.fixtures --model models/default --out Tests/Fixtures/reference
./training/ship_evaluations.sh

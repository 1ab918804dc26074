#!/usr/bin/env bash
# The scene model's real-photo crosswalk fine-tune, end to end: fine-tune (lttw.crosswalk_real: the
# generated-scene losses of every head and the captions, plus crosswalk presence on the real train
# split's source and viewed labels), into models/default beside its signal expert with the heads
# recalibrated on generated validation, known-answer frames, Swift fixtures, evaluations and the
# model card. Run from the repository root, after ship_default.sh and ship_signal.sh; about 15
# minutes of training on 2 CPU cores and 30 of evaluations.
#
#   ./training/ship_crosswalk_real.sh                                         # the shipped recipe
#   FROM_RUN=training/runs/crosswalk_real ./training/ship_crosswalk_real.sh   # ship a finished run
set -euo pipefail
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
RUN=${FROM_RUN:-training/runs/crosswalk_real}
[ -n "${FROM_RUN:-}" ] || $PY -m lttw.crosswalk_real --model models/default --run "$RUN" --steps 600 --eval_every 150
$PY -m lttw.artifact merge-scene --run "$RUN" --model models/default
rm -rf models/default/selftest && $PY -m lttw.selftest --model models/default
$PY -m lttw.fixtures --model models/default --out Tests/Fixtures/reference
./training/ship_evaluations.sh

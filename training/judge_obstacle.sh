#!/usr/bin/env bash
# Every figure the obstacle expert's ship rule reads, for a trained run against the shipped expert:
# renders (validation and holdout, each expert at its own temperature and threshold, by distance
# and kind, false calls split), the real train split's folds and val split (labels found, calls on
# empty photos), real traffic-light crops (every call false), and the samples (named, false calls
# split). The run is merged into a copy of models/default; nothing in the repository changes.
#
#   FROM_RUN=training/runs/obstacle_fresh3 ./training/judge_obstacle.sh
#   FROM_RUN=... OUT=training/runs/judge ./training/judge_obstacle.sh   (keeps the candidate model folder there)
# The run's best.pt is judged with the temperature and threshold its trainer fitted (calibration.json).
set -euo pipefail
export PYTHONPATH=training
: "${FROM_RUN:?set FROM_RUN to an obstacle_expert_train run folder}"
PY=${PY:-.venv/bin/python}
OUT=${OUT:-$(mktemp -d)}
CAND="$OUT/candidate"
rm -rf "$CAND" && mkdir -p "$OUT" && cp -r models/default "$CAND"
$PY -m lttw.artifact merge-obstacle --run "$FROM_RUN" --model "$CAND" > "$OUT/merge.txt"
# A candidate still holding the shipped weights judges nothing (2026-12-06: a candidate folder left
# a copy of models/default was read as a pass).
if cmp -s models/default/model.safetensors "$CAND/model.safetensors"; then
  echo "judge_obstacle.sh: $CAND holds the shipped weights after the merge; nothing to judge" >&2
  exit 1
fi
echo "== renders"
$PY -m lttw.obstacle_holdout --run "$FROM_RUN" 2>/dev/null
for model in models/default "$CAND"; do
  echo "== $model"
  for scope in "--split train --fold 1" "--split train --fold 0" "--split val"; do
    printf '%s: ' "$scope"; $PY -m lttw.real_obstacles --model "$model" $scope | grep "photos,"
  done
  $PY -m lttw.obstacle_false_calls --model "$model" 2>&1 | tail -2
  $PY -m lttw.samples_obstacles --model "$model" | tail -1
done
echo "(candidate model folder: $CAND)"

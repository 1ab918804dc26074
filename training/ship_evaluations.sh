#!/usr/bin/env bash
# The evaluations every ship script ends with: the generated test split (made first if missing),
# the real val split, the real val split with the exports' damage (training/damaged_evaluations.sh,
# when the Swift listen is built), every set under ../shared/eval, then model_info and the model card. Run from
# the repository root, after the model folder changed:  ./training/ship_evaluations.sh
set -euo pipefail
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
[ -f training/data/sets/synthetic_test/labels.jsonl ] || \
  $PY -m lttw.make_set --out training/data/sets/synthetic_test --start 2000000 --n 2500
$PY -m lttw.evaluate --model models/default --set training/data/sets/synthetic_test --out models/default/eval/synthetic_test
$PY -m lttw.evaluate --model models/default --set ../shared/train/real --split val --captions no --out models/default/eval/train-real-val
if [ -x .build/release/listen ]; then
  ./training/damaged_evaluations.sh models/default > models/default/eval/train-real-val-damaged.txt
fi
for s in ../shared/eval/*/; do
  [ -f "$s/labels.jsonl" ] && $PY -m lttw.evaluate --model models/default --set "$s" --out "models/default/eval/$(basename "$s")"
done
$PY -m lttw.model_info --model models/default > models/default/model_info.json
$PY -m lttw.model_card --model models/default

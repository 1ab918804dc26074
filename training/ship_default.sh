#!/usr/bin/env bash
# After `python -m lttw.train --config training/configs/cpu_default.json`: export, check and evaluate
# the default model, regenerate fixtures. Run from the repository root.
# The export STARTS models/default OVER with the scene model alone: ship_signal.sh,
# ship_crosswalk_real.sh, ship_obstacle.sh and ship_fusion.sh must run again after it
# (training/README.md, "Commands").
set -euo pipefail
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
CKPT=${CKPT:-best.pt}
$PY -m lttw.artifact export --run training/runs/default --ckpt "$CKPT" --out models/default
cp training/runs/default/loss.png training/runs/default/log.csv models/default/ 2>/dev/null || true
$PY -m lttw.onnx_export --model models/default --out training/runs/onnx/default --check
[ -f training/data/sets/synthetic_test/labels.jsonl ] || \
  $PY -m lttw.make_set --out training/data/sets/synthetic_test --start 2000000 --n 2500
$PY -m lttw.evaluate --model models/default --set training/data/sets/synthetic_test --out models/default/eval/synthetic_test
for s in ../shared/eval/*/; do
  [ -f "$s/labels.jsonl" ] && $PY -m lttw.evaluate --model models/default --set "$s" --out "models/default/eval/$(basename "$s")"
done
$PY -m lttw.fixtures --model models/default --out Tests/Fixtures/reference
$PY -m lttw.model_info --model models/default > models/default/model_info.json
$PY -m lttw.model_card --model models/default

#!/usr/bin/env bash
# The real val split with the public exports' damage baked in (lttw.photo_corruptions: hue shift,
# salt-and-pepper, rotation, grayscale, desaturation, washed-out, blur, pixelation, squash), scored
# by the Swift engine kind by kind: false green first, then light accuracy, abstention and the
# greens said. All of the val split, then its street photos (ptl_*) alone, since the evaluation
# sets are mostly those. The sets are written once under training/data/sets (ignored).
#
#   ./training/damaged_evaluations.sh                    # models/default
#   ./training/damaged_evaluations.sh path/to/model      # a trial model folder
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/default}
PY=${PY:-.venv/bin/python}
LISTEN=${LISTEN:-.build/release/listen}
SETS=training/data/sets
[ -x "$LISTEN" ] || { echo "$LISTEN: not built (swift build -c release --product listen)" >&2; exit 1; }
[ -f "$SETS/real_val_damaged/blur/labels.jsonl" ] || PYTHONPATH=training $PY -m lttw.photo_corruptions \
  --set ../shared/train/real --split val --out "$SETS/real_val_damaged"
[ -f "$SETS/real_val_ptl_damaged/blur/labels.jsonl" ] || PYTHONPATH=training $PY -m lttw.photo_corruptions \
  --set ../shared/train/real --split val --sources ptl --out "$SETS/real_val_ptl_damaged"
for root in "$SETS/real_val_damaged" "$SETS/real_val_ptl_damaged"; do
  echo "== $root ($MODEL)"
  for kind in $(ls "$root"); do
    echo "$kind $("$LISTEN" eval --model "$MODEL" --json "$root/$kind")"
  done | PYTHONPATH=training $PY -m lttw.photo_corruptions --table
done

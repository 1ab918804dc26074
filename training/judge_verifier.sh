#!/usr/bin/env bash
# Every figure a green verifier's ship rule reads, for a calibrated verifier run against the
# shipped model, both read by the release `listen` (the Swift engine): the real val split (its
# greens said; it is also in the calibration), the generated test split (unseen seeds: false
# greens and light accuracy), the real val split's damaged copies (damaged_evaluations.sh), the
# samples (every green sample walks, no other does) and the fresh renders (FRESH: the first seeds
# of 11,500-scene sets, training/data/sets/freshN, made when missing; false greens first). The run is merged into a copy of
# models/default; nothing in the repository changes. real-dev is not read here: it is read once,
# for a verifier that passes everything else, by ship_evaluations.sh.
#
#   RUN=training/runs/verifier_mnv2_f11_cal10k ./training/judge_verifier.sh
#   RUN=... OUT=training/runs/judge_verifier ./training/judge_verifier.sh   (keeps the candidate folder there)
#   RUN=... SHIPPED=0 ./training/judge_verifier.sh     (the candidate alone, the shipped figures already read)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=training
: "${RUN:?set RUN to a calibrated green_verifier_train run folder (best.pt and calibration.json)}"
[ -f "$RUN/calibration.json" ] || { echo "judge_verifier.sh: $RUN has no calibration.json: calibrate it first" >&2; exit 1; }
PY=${PY:-.venv/bin/python}
FRESH=${FRESH:-4630000 4660000 4690000 4850000 4870000}
LISTEN=${LISTEN:-.build/release/listen}
[ -x "$LISTEN" ] || { echo "$LISTEN: not built (swift build -c release --product listen)" >&2; exit 1; }
OUT=${OUT:-$(mktemp -d)}
CAND="$OUT/candidate"
rm -rf "$CAND" && mkdir -p "$OUT" && cp -r models/default "$CAND" && rm -rf "$CAND/eval"
$PY -m lttw.artifact merge-verifier --run "$RUN" --model "$CAND" > "$OUT/merge.txt"
# The known answers checked at every load, read again with the candidate (as ship_verifier.sh does).
rm -rf "$CAND/selftest" && $PY -m lttw.selftest --model "$CAND" > "$OUT/selftest.txt"
# A candidate still holding the shipped weights judges nothing (judge_obstacle.sh, 2026-12-06).
if cmp -s models/default/model.safetensors "$CAND/model.safetensors"; then
  echo "judge_verifier.sh: $CAND holds the shipped weights after the merge; nothing to judge" >&2
  exit 1
fi
# The fresh renders no calibration saw (a bar that lets one of them walk is not shipped; NOTES,
# 2026-12-06, evening), each set made here the first time (about 80 s), so none goes unread.
for seeds in $FRESH; do
  [ -d "training/data/sets/fresh$seeds" ] ||
    $PY -m lttw.make_set --out "training/data/sets/fresh$seeds" --start "$seeds" --n 11500 --workers 2 > /dev/null
done
models=("$CAND")
[ "${SHIPPED:-1}" = 0 ] || models=(models/default "$CAND")
for model in "${models[@]}"; do
  echo "== $model"
  "$LISTEN" model info "$model" | grep -E -A1 "green verifier" || true
  echo "-- real val split"
  "$LISTEN" eval --model "$model" --split val ../shared/train/real | sed -n '1,12p'
  echo "-- generated test split"
  "$LISTEN" eval --model "$model" training/data/sets/synthetic_test | sed -n '1,12p'
  echo "-- damaged real val"
  ./training/damaged_evaluations.sh "$model" | grep -E "==|damage|all kinds" || true
  echo "-- samples"
  "$LISTEN" describe --model "$model" samples | grep -iE "walk|green" || true
  for seeds in $FRESH; do
    printf -- '-- fresh renders %s: ' "$seeds"; "$LISTEN" eval --model "$model" "training/data/sets/fresh$seeds" | sed -n '1p'
  done
done
echo "(candidate model folder: $CAND)"

#!/usr/bin/env bash
# Reader recipes compared on real pedestrian photos they were not trained on (lttw.signal_folds):
# the train split's ptl_* photos in two folds by group; for each fold and recipe, the shipped
# reader trained further (3 epochs at 5e-4, as rounds 5, 8 and 9 were) without that fold's photos,
# composites or mined real crops, swapped into a copy of the shipped model (its thresholds and
# verifier kept) and read on the held-out fold. About 15 minutes a training on 2 cores (two at
# once with a thread each), 1 minute a read-out. Needs the crop folder of ship_signal.sh's round 6
# (signal_data --real_copies 6) and round 7's mined sets in training/data/signal.
#
#   ./training/signal_cv.sh                       # recipes "base" and "negatives", folds 0 and 1
#   RECIPES="base negatives" FOLDS="0" ./training/signal_cv.sh
#   RECIPES="long deep" ./training/signal_cv.sh   # does the reader underfit for want of epochs or of depth?
#   DATA=training/data/signal_c TAG=_clean RECIPES=base ./training/signal_cv.sh   # other crop sets, same photos held out
#   DATA=training/data/signal_c TAG=_clean RECIPES=scratch ./training/signal_cv.sh
#   DATA=training/data/signal_w TAG=_clean RECIPES=wide ./training/signal_cv.sh   # crop sets built with --wide 3
# Every recipe but "scratch" starts from the shipped reader, which was trained on all of the train
# split's photos, the held-out fold's too: their figures lean optimistic. "scratch" starts from
# random weights, so the fold's photos are truly unseen (6 epochs at 2e-3, about 40 minutes a fold);
# "wide" is "scratch" with a wide view beside each crop (signal_train --wide 3; the crop sets must
# hold the views: signal_data and signal_mining --wide 3), so the two compare like for like.
# A recipe's flags follow the common ones, so its --epochs or --depth wins.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
DATA=${DATA:-training/data/signal}
RUNS=${RUNS:-training/runs}
FOLDS=${FOLDS:-0 1}
RECIPES=${RECIPES:-base negatives}
TAG=${TAG:-}   # appended to run names, e.g. "_clean" for crop sets built with other labels

recipe_flags() {
  case "$1" in
    base) echo "--real_weight 3" ;;                                  # round 5's, the shipped reader's
    negatives) echo "--real_weight 3 --real_negative_weight 3" ;;    # round 8's
    class-negatives) echo "--real_weight 3 --negative_weight 2" ;;   # round 9's
    long) echo "--real_weight 3 --epochs 6" ;;                        # base, twice the epochs
    deep) echo "--real_weight 3 --epochs 6 --depth 4 --deepen" ;;     # long, a fourth block added as the identity
    scratch) echo "--real_weight 3 --epochs 6 --lr 2e-3" ;;           # no shipped reader to start from (see below)
    wide) echo "--real_weight 3 --epochs 6 --lr 2e-3 --wide 3" ;;     # scratch, with a wide view beside each crop
    wide-base) echo "--real_weight 3 --wide 3" ;;                      # base, the shipped reader widened (signal_model.widened)
    *) echo "signal_cv: unknown recipe $1" >&2; exit 2 ;;
  esac
}

[ -d "$RUNS/signal_shipped" ] || $PY -m lttw.artifact extract-signal --model models/default --run "$RUNS/signal_shipped"
for K in $FOLDS; do
  OUT=${DATA}_fold$K
  [ -f "$OUT/eval/labels.jsonl" ] || $PY -m lttw.signal_folds --data "$DATA" --real_copies 6 \
    --extra "$DATA/round7_mined.npz" "$DATA/round7_unlit.npz" --fold "$K" --out "$OUT"
  pids=()
  for R in $RECIPES; do
    [ -f "$RUNS/cv_f${K}_$R$TAG/calibration.json" ] && continue
    INIT="--init $RUNS/signal_shipped"
    case "$R" in scratch|wide) INIT="" ;; esac
    # shellcheck disable=SC2046,SC2086
    $PY -m lttw.signal_train --data "$OUT" --extra "$OUT/round7_mined.npz" "$OUT/round7_unlit.npz" \
      $INIT --run_dir "$RUNS/cv_f${K}_$R$TAG" --epochs 3 --lr 5e-4 --threads 1 \
      --calibration_workers 1 --width 64 --depth 3 --heads 2 --patch 4 $(recipe_flags "$R") \
      > "$RUNS/cv_f${K}_$R$TAG.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for R in shipped $RECIPES; do
    M="$RUNS/cv_model_f${K}_$R$TAG"
    rm -rf "$M" && cp -r models/default "$M"
    [ "$R" = shipped ] || $PY -m lttw.artifact swap-reader --run "$RUNS/cv_f${K}_$R$TAG" --model "$M" > /dev/null
    $PY -m lttw.signal_breakdown --model "$M" --set "$OUT/eval" --json > "$RUNS/cv_f${K}_$R$TAG.json"
  done
done
for R in shipped $RECIPES; do
  echo "== $R (folds: $FOLDS)"
  $PY -m lttw.signal_folds --pool $(for K in $FOLDS; do echo "$RUNS/cv_f${K}_$R$TAG.json"; done) \
    | $PY -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d[k] for k in ("n","false_greens","light_accuracy","abstention","greens","reds","no_signal","unknown_why")}))'
done

#!/usr/bin/env bash
# The obstacle expert on a lent GPU, in one device call (`run`): render as many 128 px training
# scenes as the machine's cores manage in RENDER_MIN minutes (validation: the usual 3,000 from
# seed 1,000,000), then train three variants side by side on the one GPU for TRAIN_MIN minutes
# each (batch 512, learning rate 2e-3, the cosine over wall-clock time):
#   a: the shipped shape (width 64, depth 2), flips only;
#   b: the shipped shape with photometric jitter;
#   c: width 96, depth 3, with jitter.
# Each variant's best.pt (validation F1) lands in OUT beside the logs. That
# machine's OpenCV is not the product's 4.6, so fit the temperature and threshold again here on
# this machine's validation renders before shipping: put best.pt in a run folder and run
# `lttw.obstacle_expert_train --run RUN --steps 0 --train_scenes 1000 --precision 0.7` with the
# variant's shape (--width, --depth, --heads, --token_features).
# The shipped expert is variant c after a fine-tune here with real negatives (ship_obstacle.sh says
# how). ../shared does not travel to the device; to train with --real_negatives there, copy
# ../shared/train/real into a folder .git/info/exclude ignores, name it in `carry`, and begin the
# command with `mkdir -p ../shared/train && ln -s "$PWD/FOLDER" ../shared/train/real`.
#   OUT=$OUT bash training/gpu_obstacle.sh                             # on the device machine
#   DEVICE=cpu VAL=1000 RENDER_MIN=0.1 TRAIN_MIN=0.1 bash training/gpu_obstacle.sh   # a dry run here
set -uo pipefail
export PYTHONPATH=training PYTHONUNBUFFERED=1 TQDM_DISABLE=1
PY=${PY:-python3}
OUT=${OUT:-training/runs/gpu_obstacle}
CACHE=${CACHE:-/tmp/obstacle_cache}
RUNS=${RUNS:-/tmp/obstacle_runs}
RENDER_MIN=${RENDER_MIN:-2.5}
TRAIN_MIN=${TRAIN_MIN:-4}
DEVICE=${DEVICE:-cuda}
VAL=${VAL:-3000}
mkdir -p "$OUT" "$RUNS"
$PY -c "import os, torch, cv2, numpy; print('cores', os.cpu_count(), 'usable', len(os.sched_getaffinity(0)), 'torch', torch.__version__, 'cv2', cv2.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
date
$PY -m lttw.data --root "$CACHE" --split val --n "$VAL" --size 128 --workers 0 > "$OUT/render.log" 2>&1 || { tail "$OUT/render.log"; exit 1; }
$PY -m lttw.data --root "$CACHE" --split train --n 400000 --size 128 --workers 0 --minutes "$RENDER_MIN" >> "$OUT/render.log" 2>&1 || { tail "$OUT/render.log"; exit 1; }
N=$(awk '/^scenes/ {n = $2} END {print n}' "$OUT/render.log")
echo "training scenes: $N"; date
for v in "a 64 2 2 0" "b 64 2 2 0.25" "c 96 3 3 0.25"; do
  set -- $v
  $PY -m lttw.obstacle_expert_train --run "$RUNS/$1" --cache "$CACHE" --train_scenes "$N" --val_scenes "$VAL" --device "$DEVICE" \
    --batch 512 --lr 2e-3 --steps 1000000 --minutes "$TRAIN_MIN" --eval_every 1000 --precision 0.7 --threads 2 \
    --token_features 16 --width "$2" --depth "$3" --heads "$4" --jitter "$5" > "$OUT/train_$1.log" 2>&1 &
done
wait
date
for v in a b c; do
  echo "== $v"; grep -E "^eval|^calibrated|Error|error" "$OUT/train_$v.log" | tail -8
  cp "$RUNS/$v/best.pt" "$OUT/${v}_best.pt"
done

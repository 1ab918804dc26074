#!/usr/bin/env bash
# The obstacle expert, end to end: render the 128 px scene caches (60,000 training scenes from seed
# 0, 3,000 validation from 1,000,000), train the expert from scratch in two stages
# (lttw.obstacle_expert_train: slot loss plus the training-only per-patch kind loss), put it into
# models/default beside the scene model and the signal expert, then the Swift fixtures,
# evaluations and the model card. Run from the repository root after the other ship scripts;
# about 10 minutes of rendering and 60 of training on 2 CPU cores (the recipe that was run, warm
# starts included: each stage keeps the tensors of the one before whose shapes still fit).
#   stage 1: 4,000 steps of batch 32 (the first half of an 8,000-step cosine from 1e-3), 8 features
#            per patch token into the slots;
#   stage 2: the stage-1 encoder and per-patch kind head, 32 features per patch token (the kinds
#            the patches knew, 64 % right, did not fit through 8), 4,000 steps of a fresh cosine;
#   stage 3: the stage-2 encoder and kind head, 16 features per patch token (32 made the model
#            folder 22 MB), 6,000 steps from 7e-4; temperature and threshold (validation
#            precision >= 0.7) fitted on the validation scenes.
#
#   ./training/ship_obstacle.sh                                           # the shipped recipe
#   FROM_RUN=training/runs/obstacle_expert ./training/ship_obstacle.sh    # ship a finished run
set -euo pipefail
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
RUN=${FROM_RUN:-training/runs/obstacle_expert}
if [ -z "${FROM_RUN:-}" ]; then
  $PY -m lttw.obstacle_expert_train --run "$RUN.stage1" --batch 32 --steps 8000 --stop_after 4000 --eval_every 1000 --token_features 8
  $PY -m lttw.obstacle_expert_train --run "$RUN.stage2" --init "$RUN.stage1/last.pt" --token_features 32 --batch 32 --steps 4000 \
    --eval_every 1000 --precision 0.7
  $PY -m lttw.obstacle_expert_train --run "$RUN" --init "$RUN.stage2/last.pt" --token_features 16 --batch 32 --steps 6000 \
    --lr 7e-4 --eval_every 1000 --precision 0.7
fi
$PY -m lttw.artifact merge-obstacle --run "$RUN" --model models/default
$PY -m lttw.obstacle_fixtures --model models/default --out Tests/Fixtures/obstacle
./training/ship_evaluations.sh

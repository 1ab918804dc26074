#!/usr/bin/env bash
# The obstacle expert, end to end: render the 128 px scene caches (60,000 training scenes from seed
# 0, 3,000 validation from 1,000,000), train the expert from scratch (lttw.obstacle_expert_train:
# slot loss plus the training-only per-patch kind loss; temperature and threshold fitted on the
# validation scenes), put it into models/default beside the scene model and the signal expert,
# then the Swift fixtures, evaluations and the model card. Run from the repository root after the
# other ship scripts; about 10 minutes of rendering and 35 of training on 2 CPU cores.
#
#   ./training/ship_obstacle.sh                                           # the shipped recipe
#   FROM_RUN=training/runs/obstacle_expert ./training/ship_obstacle.sh    # ship a finished run
set -euo pipefail
export PYTHONPATH=training
PY=${PY:-.venv/bin/python}
RUN=${FROM_RUN:-training/runs/obstacle_expert}
[ -n "${FROM_RUN:-}" ] || $PY -m lttw.obstacle_expert_train --run "$RUN" --batch 32 --steps 8000 --eval_every 1000 --precision 0.7
$PY -m lttw.artifact merge-obstacle --run "$RUN" --model models/default
$PY -m lttw.obstacle_fixtures --model models/default --out Tests/Fixtures/obstacle
./training/ship_evaluations.sh

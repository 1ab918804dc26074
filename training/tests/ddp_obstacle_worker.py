"""One rank of the obstacle trainer's data-parallel test (test_obstacle_training.py): trains
through `lttw.obstacle_expert_train.train` exactly as `torchrun -m lttw.obstacle_expert_train`
does, then saves this rank's weights.

    torchrun --nproc_per_node 2 training/tests/ddp_obstacle_worker.py OUT_DIR [key=value ...]

Each key=value is the trainer's --key value (torchrun would take a --run of ours for its own
--run-path).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lttw.distributed import join, leave  # noqa: E402
from lttw.obstacle_expert_train import parse_args, train  # noqa: E402

out = sys.argv[1]
a = parse_args([part for kv in sys.argv[2:] for part in ("--" + kv.split("=", 1)[0], kv.split("=", 1)[1])])
world = join(a.device)
try:
    model = train(a, world)
    torch.save(model.state_dict(), os.path.join(out, f"rank{world.rank}.pt"))
finally:
    leave(world)

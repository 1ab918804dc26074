"""One rank of the fusion trainer's data-parallel test (test_fusion.py): trains through
`lttw.fusion_train.train` exactly as `torchrun -m lttw.fusion_train train` does, then saves this
rank's weights.

    torchrun --nproc_per_node 2 training/tests/ddp_fusion_worker.py OUT_DIR train --root ... --run_dir ...
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lttw.distributed import join, leave  # noqa: E402
from lttw import fusion_train  # noqa: E402

out = sys.argv[1]
sys.argv = [sys.argv[0]] + sys.argv[2:]
world = join("cpu")
try:
    args = fusion_train.parser().parse_args()
    captioner = fusion_train.train(args, world)
    torch.save(captioner.state_dict(), os.path.join(out, f"rank{world.rank}.pt"))
finally:
    leave(world)

"""One rank of the data-parallel test (test_distributed.py): trains the tiny config through
`lttw.train.train` exactly as `torchrun -m lttw.train` does, then saves this rank's weights.

    torchrun --nproc_per_node 2 training/tests/ddp_worker.py OUT_DIR [key=json ...]
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lttw.distributed import join, leave  # noqa: E402
from lttw.train import load_config, train  # noqa: E402

out = sys.argv[1]
overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in sys.argv[2:])}
cfg = load_config(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "tiny_test.json"),
                  overrides)
world = join(cfg["device"])
try:
    model, _ = train(cfg, quiet=True, world=world)
    torch.save(model.state_dict(), os.path.join(out, f"rank{world.rank}.pt"))
finally:
    leave(world)

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(2)
TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TRAINING)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A tiny model trained for a few steps, exported to an artifact folder."""
    from lttw.artifact import calibrate, export
    from lttw.data import build_cache
    from lttw.tokenizer import default_tokenizer
    from lttw.train import load_config, train
    root = tmp_path_factory.mktemp("tiny")
    cfg = load_config(os.path.join(TRAINING, "configs", "tiny_test.json"),
                      {"runs_root": str(root / "runs"), "cache_root": str(root / "cache"), "threads": 2})
    model, rows = train(cfg, quiet=True)
    val = build_cache(cfg["cache_root"], "val", cfg["n_val"], model.config.image_size, 1)
    temps, thr, stats = calibrate(model, val)
    art = root / "artifact"
    export(model, str(art), default_tokenizer(), temps, thr, stats)
    return {"cfg": cfg, "model": model, "rows": rows, "artifact": str(art), "root": root}

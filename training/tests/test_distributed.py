"""Data-parallel training: two CPU processes under torchrun (gloo) keep identical weights.

(Their weights are not compared with a one-process run: AdamW's first steps move each weight by
about ±lr whatever the gradient's size, so a near-zero gradient summed in another order can flip
a weight's direction.)"""
import os
import socket
import subprocess
import sys

import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(nproc: int, out, cache, runs, steps=4):
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    args = [f"runs_root=\"{runs}\"", f"cache_root=\"{cache}\"", f"steps={steps}", f"eval_every={steps}", "threads=1",
            "amp=false", "n_val_eval=16"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_port", str(_free_port()),
           os.path.join(HERE, "ddp_worker.py"), str(out)] + args
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    cache = root / "cache"
    (root / "two").mkdir()
    _run(2, root / "two", cache, root / "runs2")
    return root


def test_two_processes_keep_identical_weights(runs):
    a = torch.load(runs / "two" / "rank0.pt")
    b = torch.load(runs / "two" / "rank1.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_the_two_processes_trained(runs):
    """Identical weights mean something only if they moved: each rank saw a different half of
    every batch, so without the gradient all-reduce their weights would part after one step."""
    from lttw.model import StreetVLM
    from lttw.tokenizer import default_tokenizer
    from lttw.train import load_config, model_config, seed_all
    cfg = load_config(os.path.join(os.path.dirname(HERE), "configs", "tiny_test.json"))
    seed_all(cfg["seed"])
    start = StreetVLM(model_config(cfg, len(default_tokenizer()))).state_dict()
    two = torch.load(runs / "two" / "rank0.pt")
    moved = max(float((two[k].float() - start[k].float()).abs().max()) for k in two)
    assert moved > 1e-3, "training did not change the weights"


def test_only_rank0_writes_the_run(runs):
    run = runs / "runs2" / "tiny_test"
    assert (run / "last.pt").exists() and (run / "best.pt").exists() and (run / "log.jsonl").exists()

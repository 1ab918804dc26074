"""The obstacle trainer's pieces for a lent GPU: batches cut on the device, the wall-clock
schedule, photometric jitter, and a render cache cut short by time."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

from lttw.data import build_cache
from lttw.obstacle_expert_train import jittered, normalized, schedule, signal_crops
from lttw.preprocess import normalize_small
from lttw.signal_data import real_rows

TRAINING = os.path.join(os.path.dirname(__file__), "..")


def test_normalising_on_the_device_is_normalize_small():
    frames = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    got = normalized(torch.from_numpy(frames)).numpy()
    want = normalize_small(frames)
    assert got.shape == want.shape == (5, 3, 16, 16)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_jitter_scales_and_shifts_each_frame_and_stays_in_range():
    frames = torch.tensor([[[[0, 100, 250]]], [[[0, 100, 250]]], [[[0, 100, 250]]]], dtype=torch.uint8)
    out = jittered(frames, torch.tensor([1.0, 1.25, 0.75]), torch.tensor([0.0, 20.0, -20.0]))
    assert out.dtype == torch.uint8
    assert out[0].flatten().tolist() == [0, 100, 250]
    assert out[1].flatten().tolist() == [20, 145, 255]  # 250·1.25+20 clamps at white
    assert out[2].flatten().tolist() == [0, 55, 168]  # 0·0.75−20 clamps at black


def test_the_schedule_warms_up_then_follows_steps_or_the_clock():
    assert schedule(0, 1000, 100, 0.0) == 0.01
    assert schedule(500, 1000, 100, 0.0) == 0.5 * (1 + np.cos(np.pi * 0.5))
    # With a budget the clock, not the step count, drives the cosine, and it ends at zero.
    assert schedule(500, 1_000_000, 100, 30.0, budget=60.0) == 0.5 * (1 + np.cos(np.pi * 0.5))
    assert schedule(500, 1_000_000, 100, 90.0, budget=60.0) == 0.0


def test_a_cache_cut_short_by_time_holds_a_whole_chunk_prefix_of_its_seeds(tmp_path):
    cut = build_cache(str(tmp_path), "tests", 6, size=32, workers=1, chunk=2, minutes=0)
    assert cut["seeds"].tolist() == [9_000_000, 9_000_001]
    assert cut["images"].shape == (2, 32, 32, 3)
    whole = build_cache(str(tmp_path), "tests", 6, size=32, workers=1, chunk=2)
    assert whole["seeds"].tolist() == list(range(9_000_000, 9_000_006))
    np.testing.assert_array_equal(whole["images"][:2], cut["images"])


def test_the_real_negatives_are_the_train_splits_signal_crops_alone():
    crops = signal_crops("train", 32)
    train = [r["file"] for r in real_rows("train") if os.path.basename(r["file"]).startswith("mit_")]
    assert crops.shape == (len(train), 32, 32, 3) and crops.dtype == np.uint8
    assert len(train) > 500
    assert not {r["file"] for r in real_rows("val")} & set(train)


def test_a_timed_run_stops_on_the_clock_and_leaves_a_calibrated_checkpoint(tmp_path):
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=TRAINING, TQDM_DISABLE="1")
    done = subprocess.run(
        [sys.executable, "-m", "lttw.obstacle_expert_train", "--run", str(run), "--cache", str(tmp_path / "cache"),
         "--train_scenes", "8", "--val_scenes", "8", "--batch", "4", "--steps", "1000000", "--minutes", "0.02",
         "--eval_every", "1000000", "--jitter", "0.25", "--real_negatives", "0.25", "--keep", "last", "--width", "32", "--heads", "2", "--threads", "1"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [int(line.split(",")[0]) for line in (run / "log.csv").read_text().splitlines()]
    assert len(steps) == 1 and 0 < steps[0] < 1_000_000
    best = torch.load(run / "best.pt", weights_only=False)
    assert best["config"]["width"] == 32 and best["step"] == steps[0]
    calibration = json.loads((run / "calibration.json").read_text())
    assert calibration["validation"]["scenes"] == 8
    # --calibrate_only: the same checkpoint, nothing trained, the threshold fitted again for another
    # precision target (the same temperature: it does not depend on the target).
    weights = (run / "best.pt").read_bytes()
    again = subprocess.run(
        [sys.executable, "-m", "lttw.obstacle_expert_train", "--run", str(run), "--cache", str(tmp_path / "cache"),
         "--val_scenes", "8", "--threads", "1", "--calibrate_only", "--precision", "0.95"],
        env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    recalibrated = json.loads((run / "calibration.json").read_text())
    assert recalibrated["precision_target"] == 0.95 and calibration["precision_target"] == 0.8
    assert recalibrated["temperature"] == calibration["temperature"]
    assert recalibrated["validation"]["curve"] == calibration["validation"]["curve"]
    assert (run / "best.pt").read_bytes() == weights
    assert len((run / "log.csv").read_text().splitlines()) == 1
    missing = subprocess.run(
        [sys.executable, "-m", "lttw.obstacle_expert_train", "--run", str(tmp_path / "none"), "--calibrate_only"],
        env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "no checkpoint to calibrate" in missing.stderr


def test_the_shipped_expert_calls_obstacles_on_few_real_traffic_light_crops():
    """Nothing is in the way in a crop of a signal head. The shipped expert, fine-tuned with the
    train split's crops as negatives, names something on none of the real val split's 68 (before
    that fine-tune: 4; the expert trained on renders alone before it: 4); one that hallucinates on
    real photos as the renders-only variants did (3 to 6) fails here."""
    from lttw.artifact import Predictor
    from lttw.obstacle_false_calls import false_calls, summary
    from lttw.signal_data import signal_crop_files

    repo = os.path.join(TRAINING, "..")
    calls = false_calls(Predictor(os.path.join(repo, "models", "default")), signal_crop_files("val"))
    s = summary(calls)
    assert s["photos"] == 68
    assert s["calls"] >= s["photos_with_a_call"] == sum(1 for v in calls.values() if v)
    assert s["photos_with_a_call"] <= 2


def test_two_processes_on_the_clock_stop_together_with_identical_weights(tmp_path):
    """Under torchrun each rank reads its own clock; the learning rate and the stop come from rank
    0's, or the ranks would step at different rates and one would wait for the other forever.
    (Nine seconds of training: a loaded machine must still take more than one step, since the
    first step's learning rate is the same on every rank whatever the clocks say.)"""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=TRAINING, TQDM_DISABLE="1", OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
         os.path.join(os.path.dirname(__file__), "ddp_obstacle_worker.py"), str(tmp_path),
         f"run={tmp_path / 'run'}", f"cache={tmp_path / 'cache'}", "train_scenes=8", "val_scenes=8", "batch=8",
         "steps=1000000", "minutes=0.15", "eval_every=1000000", "jitter=0.25", "real_negatives=0.25", "width=32",
         "heads=2", "threads=2", "render_workers=1"],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps = [int(line.split(",")[0]) for line in (tmp_path / "run" / "log.csv").read_text().splitlines()]
    assert len(steps) == 1 and steps[0] > 1


def test_keep_last_writes_every_evaluation_into_best_whatever_its_f1(tmp_path):
    """With --keep last, best.pt follows the last evaluation even when validation F1 falls (an
    untrained expert's F1 is 0 at every step, so `best` would keep the first)."""
    env = dict(os.environ, PYTHONPATH=TRAINING, TQDM_DISABLE="1")
    for keep, want in (("best", 2), ("last", 6)):
        run = tmp_path / keep
        done = subprocess.run(
            [sys.executable, "-m", "lttw.obstacle_expert_train", "--run", str(run), "--cache", str(tmp_path / "cache"),
             "--train_scenes", "8", "--val_scenes", "8", "--batch", "4", "--steps", "6", "--eval_every", "2", "--lr", "0",
             "--width", "32", "--heads", "2", "--threads", "1", "--keep", keep],
            env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert torch.load(run / "best.pt", weights_only=False)["step"] == want


def test_a_frozen_pretrained_trunk_keeps_its_first_layers_and_trains_the_rest(tmp_path):
    """--frozen_blocks: the mobilenet_v2 trunk's first layers stay exactly as --pretrained gave them
    (their outputs computed once), the layers after them and the heads train; a frozen trunk
    without pretrained weights, or with jitter, is refused before anything is rendered."""
    from lttw.obstacle_expert import mobilenet_v2_features
    torch.manual_seed(0)
    imagenet = tmp_path / "imagenet.pt"
    torch.save({f"features.{k}": v for k, v in mobilenet_v2_features(18).state_dict().items()}, imagenet)
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=TRAINING, TQDM_DISABLE="1")
    common = [sys.executable, "-m", "lttw.obstacle_expert_train", "--run", str(run), "--cache", str(tmp_path / "cache"),
              "--train_scenes", "8", "--val_scenes", "8", "--batch", "4", "--threads", "1", "--trunk", "mobilenet_v2",
              "--trunk_blocks", "7"]
    # --resume on a run folder with no last.pt yet is a first run: the pretrained layers are still taken.
    done = subprocess.run(common + ["--resume", "--steps", "3", "--eval_every", "3", "--pretrained", str(imagenet), "--frozen_blocks", "4",
                                    "--real_negatives", "0.25", "--lr", "0.01", "--trunk_lr", "0.01", "--keep", "last"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "frozen features (8, 24, 32, 32)" in done.stdout
    given = torch.load(imagenet, weights_only=False)
    trained = torch.load(run / "best.pt", weights_only=False)["model"]
    frozen = [k for k in trained if k.startswith("trunk.") and int(k.split(".")[1]) < 4 and "num_batches" not in k]
    moved = [k for k in trained if k.startswith("trunk.") and int(k.split(".")[1]) >= 4 and k.endswith("weight")]
    assert frozen and all(torch.equal(trained[k], given["features." + k[len("trunk."):]]) for k in frozen)
    assert any(not torch.equal(trained[k], given["features." + k[len("trunk."):]]) for k in moved)
    for bad, named in ((["--frozen_blocks", "4"], "--frozen_blocks"),
                       (["--frozen_blocks", "4", "--pretrained", str(imagenet), "--jitter", "0.2"], "--frozen_blocks"),
                       (["--trunk_blocks", "0"], "--trunk_blocks 0")):
        refused = subprocess.run(common + bad, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and named in refused.stderr, refused.stderr

"""The signal expert's calibration on the shipped reader: its frames are read in parallel without
changing the threshold, and its confidence is the largest threshold at which a frame is said green."""
import json
import os

import pytest

from lttw.signal_train import calibrate, calibration_jobs

MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "models", "default")


def _shipped_reader():
    from lttw.artifact import Predictor
    runner = Predictor(MODEL).signal
    return runner.model, runner.T


def test_calibration_jobs_are_real_val_then_generated_validation_seeds():
    jobs = calibration_jobs(3)
    assert [j[0] for j in jobs[-3:]] == ["generated_val"] * 3
    assert [j[1] for j in jobs[-3:]] == [4_500_000, 4_500_001, 4_500_002]
    real = [j for j in jobs if j[0] == "real_val"]
    assert real and all(j[2] in ("red", "green", "yellow", "off_or_none") for j in real)


@pytest.fixture(scope="module")
def two_workers():
    """The shipped reader calibrated on the real val split and 12 generated scenes, in two processes."""
    model, T = _shipped_reader()
    return calibrate(model, T, 12, workers=2)


def test_two_workers_give_the_single_process_threshold_and_counts(two_workers):
    model, T = _shipped_reader()
    one = calibrate(model, T, 12, workers=1)
    assert json.dumps(one, sort_keys=True) == json.dumps(two_workers, sort_keys=True)
    thr, stats = one
    assert stats["frames"] == len(calibration_jobs(12))
    assert stats["real_val"]["false_greens_at_threshold"] == 0 and stats["generated_val"]["false_greens_at_threshold"] == 0


def test_calibration_names_the_frames_that_set_the_threshold(two_workers):
    thr, stats = two_workers
    top = stats["greenest_non_green"]
    assert top, "12 generated scenes and the real val split hold non-green frames read green at threshold 0"
    assert top[0]["green_mass"] == stats["max_green_mass_on_non_green"]
    assert all(a["green_mass"] >= b["green_mass"] for a, b in zip(top, top[1:]))
    assert all(r["truth"] != "green" and r["source"] in ("real_val", "generated_val") for r in top)
    assert thr["green"] == max(0.9, (top[0]["green_mass"] + 1) / 2)

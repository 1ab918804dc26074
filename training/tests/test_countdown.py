"""The countdown: the generator's labels, the reader's squares and labels, the evaluator's tally,
and the shipped reader on generated scenes it never saw."""
import os
from collections import Counter

import numpy as np
import pytest

from lttw import countdown, lamps
from lttw.countdown import CONTEXT, CROP_SIZE, MIN_DIGIT_PX, SKIP, countdown_rect, label_of
from lttw.evaluate import countdown_metrics, countdown_tally
from lttw.generator import generate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lit_fraction(rgb, box):
    """Share of the box's pixels that are bright and saturated (a lit digit stroke)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    patch = rgb[max(0, y0):y1, max(0, x0):x1].astype(np.int32)
    chroma = patch.max(-1) - patch.min(-1)
    return float(((patch.max(-1) >= 120) & (chroma >= 60)).mean())


def test_a_countdown_head_shows_its_seconds_where_the_label_says():
    seen = Counter()
    for seed in range(9_100_000, 9_100_040):
        sc = generate(seed, countdown_head=True)
        light = sc.facts["light"]
        assert light["kind"] == "pedestrian" and light["state"] in ("red", "green")
        assert sc.countdown is not None
        seconds, box = sc.countdown
        assert 1 <= seconds <= 59
        H, W = sc.bgr.shape[:2]
        if not countdown.shown(box, W, H) or box[3] - box[1] < 12:
            continue
        rgb = sc.bgr[..., ::-1]
        # Lit strokes inside the digits' box (fog, glare and grayscale frames wash some out).
        inside = lit_fraction(rgb, box)
        seen["shown"] += 1
        seen["lit"] += inside > 0.08
    assert seen["shown"] >= 10
    assert seen["lit"] >= 0.65 * seen["shown"], seen


def test_plain_scenes_label_a_countdown_only_beside_a_lit_pedestrian_signal():
    labelled = 0
    for seed in range(9_100_100, 9_100_400):
        sc = generate(seed)
        if sc.countdown is not None:
            labelled += 1
            assert sc.facts["light"]["kind"] == "pedestrian" and sc.facts["light"]["state"] in ("red", "green")
            rec = sc.labelled_record("x.png")
            assert rec["countdown"]["seconds"] == sc.countdown[0]
        else:
            assert "countdown" not in sc.labelled_record("x.png")
    assert labelled > 0


def test_countdown_rect_is_context_times_the_lamp_on_its_centre():
    odd = lamps.Candidate(0, 0, 4, 5, 3, 100, 1)  # (0 + 4 - 25) // 2 floors to -11, not -10
    assert countdown_rect(odd, 640, 480, 5) == (-11, -10, 25, 25)
    k = lamps.Candidate(10, 20, 16, 30, 3, 100, 1)
    side = CONTEXT * 10
    assert countdown_rect(k, 640, 480) == ((10 + 16 - side) // 2, (20 + 30 - side) // 2, side, side)
    tiny = lamps.Candidate(5, 5, 7, 7, 1, 100, 1)
    assert countdown_rect(tiny, 640, 480)[2] == lamps.CROP_MIN_SIDE
    whole = lamps.Candidate(0, 0, 300, 200, 0, -1, 0, whole=True)
    assert countdown_rect(whole, 300, 200) == (0, 0, 300, 200)
    # A figure is twice its blob: the square follows the blob's size (Candidate.side).
    figure = lamps.Candidate(100, 100, 120, 140, 3, 100, lamps.FIGURE_SCALE)
    assert countdown_rect(figure, 640, 480)[2] == CONTEXT * figure.side == CONTEXT * 20


def test_a_square_is_taught_the_seconds_only_when_it_holds_all_of_them_large_enough():
    assert MIN_DIGIT_PX >= 8  # smaller digits were not learnt in a session (NOTES)
    rect = (0, 0, 96, 96)  # 2 frame pixels per square pixel
    tall = MIN_DIGIT_PX * 96 / CROP_SIZE
    assert label_of(rect, 12, (10, 10, 30, 10 + tall)) == 12
    assert label_of(rect, 12, (10, 10, 30, 10 + tall * 0.9)) == 0           # too small to read: none
    assert label_of(rect, 12, (80, 10, 110, 10 + tall)) == SKIP             # cut by the square
    assert label_of(rect, 12, (200, 10, 230, 10 + tall)) == 0               # elsewhere
    assert label_of(rect, None, None) == 0


def test_the_evaluator_counts_right_wrong_unsaid_and_invented_seconds():
    t = Counter()
    rec = {"countdown": {"seconds": 12, "box": [10, 10, 20, 30]}}
    countdown_tally(rec, {"light": {"state": "green", "seconds_left": 12}}, (100, 100), t)
    countdown_tally(rec, {"light": {"state": "red", "seconds_left": 13}}, (100, 100), t)
    countdown_tally(rec, {"light": {"state": "unknown"}}, (100, 100), t)
    countdown_tally({"countdown": {"seconds": 12, "box": [95, 10, 105, 30]}}, {"light": {"state": "green"}}, (100, 100), t)
    countdown_tally({}, {"light": {"state": "red", "seconds_left": 4}}, None, t)
    m = countdown_metrics(t)
    assert (m["shown"], m["read_right"], m["read_wrong"], m["not_said"], m["said_where_none_shown"]) == (3, 1, 1, 1, 1)
    assert m["accuracy_where_light_said"] == 0.5 and m["shown_with_light_said"] == 2


def test_a_countdown_reader_merged_into_a_model_folder_loads_and_is_read_beside_red_and_green(tmp_path):
    """merge-countdown then Predictor: the same weights come back, and the runner reads the square
    beside an announced red or green lamp only (a seeded reader: no model ships one yet)."""
    import json
    import shutil

    import torch

    from lttw.artifact import Predictor, merge_countdown
    model_dir = tmp_path / "model"
    shutil.copytree(os.path.join(REPO, "models", "default"), model_dir)
    run = tmp_path / "run"
    run.mkdir()
    torch.manual_seed(0)
    reader = countdown.new_reader(countdown.FIXTURE_ARCHITECTURE)
    torch.save({"model": reader.state_dict(), "config": reader.architecture, "step": 1}, run / "best.pt")
    (run / "calibration.json").write_text(json.dumps({"temperature": 1.0, "threshold": 0.5, "validation": {"squares": 0}}))
    merge_countdown(str(run), str(model_dir))
    p = Predictor(str(model_dir))
    loaded = p.signal.countdown.model
    for k, v in reader.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    said = Counter()
    for seed in range(9_300_000, 9_300_040):
        sc = generate(seed, countdown_head=seed % 2 == 0)
        d = p.signal.read(np.ascontiguousarray(sc.bgr[..., ::-1]))
        said[(d["state"] in ("red", "green"), "countdown_p" in d)] += 1
    assert said[(True, True)] > 0 and said[(False, True)] == 0 and said[(True, False)] == 0, said
    cfg = json.loads((model_dir / "config.json").read_text())
    for key, value, problem in (("context", 1, "countdown_reader.context"), ("groups", [10, 7], "countdown_reader.groups"),
                                ("threshold", 0.2, "countdown_reader.threshold")):
        bad = json.loads(json.dumps(cfg))
        bad["signal_expert"]["countdown_reader"][key] = value
        (model_dir / "config.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=problem):
            Predictor(str(model_dir))

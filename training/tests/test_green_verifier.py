"""The green verifier (lttw.green_verifier): what it reads, how it starts from the reader, how it is
calibrated with the reader, and the shipped one on a frame it turns down."""
import json
import os

import cv2
import numpy as np
import pytest
import torch

from lttw import lamps
from lttw.green_verifier import ARCHITECTURE, CROP_SIZE, GreenVerifier, new_verifier, verifier_crops, verifier_rects
from lttw.green_verifier_train import choose, final_state, reader_as_verifier, shipped_verifier, val_metrics
from lttw.preprocess import MEAN, STD

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MODEL = os.path.join(ROOT, "models", "default")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "signal")


def test_the_verifier_reads_the_readers_square_then_every_confirmation_view():
    k = lamps.Candidate(200, 100, 210, 120, 3, 100, 1)
    assert verifier_rects(k, 640, 480) == [lamps.crop_rect(k, 640, 480)] + lamps.confirmation_rects(k, 640, 480)
    rgb = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert verifier_crops(rgb, k, MEAN, STD).shape == (1 + len(lamps.CONFIRMATION_VIEWS), 3, CROP_SIZE, CROP_SIZE)


@torch.no_grad()
def test_started_from_the_reader_it_reads_a_64_crop_as_the_reader_reads_the_32_one():
    """A 4×4 patch of the 32×32 crop is the mean of an 8×8 patch of the 64×64 one when the square's
    side is a multiple of 64 (each 32-bin is two 64-bins of equal size): the embeddings agree."""
    from lttw.artifact import load_artifact
    reader = load_artifact(MODEL)[0].signal_expert
    verifier = new_verifier()
    verifier.load_state_dict(reader_as_verifier(MODEL))
    rgb = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    rgb[64:192, 96:160] = (40, 220, 90)
    rect = (0, 0, 256, 256)
    x32 = torch.from_numpy(lamps.normalise_crop(lamps.sample_rect(rgb, rect, 32), MEAN, STD))[None]
    x64 = torch.from_numpy(lamps.normalise_crop(lamps.sample_rect(rgb, rect, 64), MEAN, STD))[None]
    assert torch.allclose(reader.features(x32), verifier.features(x64), atol=1e-4)


def _record(state, verifier_green=None, decided=None):
    """A frame_record: the same reader decision at every grid threshold."""
    from lttw.green_verifier_train import GRID
    r = ("green", verifier_green) if state == "green" else ("disagree", decided, verifier_green) if state == "disagree" else (state, None)
    return {rule: r for rule in GRID}


def test_calibration_sets_the_verifier_halfway_above_its_greenest_distractor_and_says_no_false_green():
    rows = [("off_or_none", "generated_val", 1, _record("green", 0.6)),  # the reader fooled, the verifier less so
            ("green", "generated_val", 2, _record("green", 0.9)),
            ("green", "generated_val", 3, _record("green", 0.7)),
            ("red", "real_val", "images/a.jpg", _record("disagree", 0.95, "red")),
            ("green", "real_val", "images/b.jpg", _record("green", 0.99))]
    chosen = choose(rows)
    assert chosen["verify"] == 0.8
    for entry in chosen["grid"]:
        assert entry["real_val"]["false_greens"] == 0 and entry["generated_val"]["false_greens"] == 0
        assert entry["generated_val"]["green_recall"] == 0.5
    # A red overruled by a green the verifier accepts is unknown; one it rejects stands.
    assert final_state(_record("disagree", 0.95, "red"), (0.98, 0, 0.3), 0.8) == "unknown"
    assert final_state(_record("disagree", 0.5, "red"), (0.98, 1, 0.3), 0.8) == "red"
    # A quarter of the way instead (--margin 0.25): the bar comes down, still above the greenest
    # non-green frame, and the green at 0.7 is said.
    quarter = choose(rows, margin=0.25)
    assert quarter["verify"] == pytest.approx(0.7) and quarter["margin"] == 0.25
    assert all(e["generated_val"]["false_greens"] == 0 and e["generated_val"]["green_recall"] == 1.0 for e in quarter["grid"])


def test_pin_chooses_the_bar_at_one_grid_point_and_the_whole_grid_is_still_read():
    """--pin G M: the bar is the one at that reader point (its own greenest non-green frame, the
    margin above it), though another point says more greens; the choice records the pin, and a
    point not on the grid is refused by name."""
    from lttw.green_verifier_train import GRID
    def record(below_99, from_99):
        return {rule: below_99 if rule[0] < 0.99 else from_99 for rule in GRID}
    rows = [("off_or_none", "generated_val", 1, record(("green", 0.8), ("none", None))),  # fooled only at low reader bars
            ("green", "generated_val", 2, record(("green", 0.95), ("green", 0.95))),
            ("green", "generated_val", 3, record(("green", 0.9), ("none", None))),
            ("green", "real_val", "images/b.jpg", record(("green", 0.99), ("green", 0.99)))]
    free = choose(rows)
    assert free["reader_green"] < 0.99 and free["verify"] == pytest.approx(0.9) and "pinned" not in free
    pinned = choose(rows, margin=0.75, pin=(0.99, 1))
    assert (pinned["reader_green"], pinned["view_misses"], pinned["verify"]) == (0.99, 1, 0.75) and pinned["pinned"] == [0.99, 1]
    assert len(pinned["grid"]) == len(GRID)
    with pytest.raises(ValueError, match="not a point of the grid"):
        choose(rows, pin=(0.97, 1))


def test_the_verifier_bar_is_a_share_of_the_way_to_one_and_never_under_even_odds():
    from lttw.model_card import verify_rule
    from lttw.green_verifier_train import verify_bar
    assert verify_bar(0.8) == pytest.approx(0.9) and verify_bar(0.8, 0.25) == pytest.approx(0.85)
    assert verify_bar(0.1, 0.25) == 0.5 and verify_bar(0.0) == 0.5
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="share of the way"):
            verify_bar(0.8, bad)
    assert verify_rule(0.5).startswith("halfway between") and verify_rule(0.25).startswith("0.25 of the way from")


def _stub_runner(cands, p):
    """frame_record's runner over fixed candidates and probabilities: every view reads as the
    candidate's own read (its green, and its pedestrian red as its stop)."""
    from lttw.green_verifier_train import _FrameMemo

    class Runner(_FrameMemo):
        def __init__(self):
            self.confirmation, self.verifier = True, None

        def probabilities(self, rgb):
            return cands, p

        def green_reads(self, rgb, cands, p, n):
            return np.full(7, float(p[n, 2] + p[n, 5]))

        def view_stops(self, rgb, cands, n, pedestrian):
            return np.full(6, float(p[n, 1]))

    return Runner()


class _VerifierAt300:
    """A green verifier that reads `green` on the candidate at x 300 and 0 on every other."""

    def __init__(self, green):
        self.green = green

    def smallest_green(self, rgb, k):
        return self.green if k.x0 == 300 else 0.0


def test_calibration_takes_the_second_look_as_the_runtime_does():
    """frame_record sets aside a green-reading candidate the verifier gives less than even odds,
    as SignalExpertRunner.decide_frame does at runtime: the red lamp it hid then decides."""
    from lttw.green_verifier_train import frame_record
    from lttw.lamps import Candidate

    cands = [Candidate(300, 100, 310, 120, 3, 100, 1), Candidate(50, 100, 60, 120, 1, 100, 1)]
    p = np.array([[0.001, 0, 0.999, 0, 0, 0], [0.1, 0.9, 0, 0, 0, 0]], np.float32)

    rgb = np.zeros((200, 600, 3), np.uint8)
    assert set(frame_record(_stub_runner(cands, p), _VerifierAt300(0.1), rgb).values()) == {("red", None)}
    assert set(frame_record(_stub_runner(cands, p), _VerifierAt300(0.9), rgb).values()) == {("unknown", None)}


def test_calibration_counts_a_held_standby_the_verifier_passes_after_turning_down_the_walk_lamp():
    """frame_record: the runtime tries the later standbys that hold when the verifier turns the
    walk lamp down (confirm_verified_standby), so a green's record carries the largest verifier
    green over them; choose then counts it on a non-green frame, and final_state walks on it."""
    from lttw.green_verifier_train import frame_record
    from lttw.lamps import Candidate

    # The strongest green (x 300) and a standby (x 500): both hold in every view.
    cands = [Candidate(300, 100, 310, 120, 3, 100, 1), Candidate(500, 100, 510, 120, 3, 100, 1)]
    p = np.array([[0.0005, 0, 0.9995, 0, 0, 0], [0.001, 0, 0.999, 0, 0, 0]], np.float32)

    class Verifier:
        def __init__(self, standby):
            self.standby, self.read = standby, []

        def smallest_green(self, rgb, k):
            self.read.append(k.x0)
            return 0.1 if k.x0 == 300 else self.standby

    rgb = np.zeros((200, 600, 3), np.uint8)
    record = frame_record(_stub_runner(cands, p), Verifier(0.9), rgb)
    assert final_state(record, (0.99, 1, 0.3), 0.8) == "green"
    assert final_state(record, (0.99, 1, 0.3), 0.95) != "green"
    # On a non-green frame that green is what the verifier's threshold must clear.
    chosen = choose([("off_or_none", "generated_val", 1, record), ("green", "generated_val", 2, record)])
    assert chosen["verify"] == 0.95
    assert all(e["generated_val"]["false_greens"] == 0 for e in chosen["grid"])
    # A standby the verifier turns down too leaves nothing to walk on.
    assert final_state(frame_record(_stub_runner(cands, p), Verifier(0.3), rgb), (0.99, 1, 0.3), 0.5) != "green"


def test_calibration_keeps_the_red_veto_at_0_3_even_where_a_weaker_one_would_say_more_greens():
    """The red veto is pinned, not calibrated (green_verifier_train.VETO_GRID): a weak red blob
    (stop mass 0.5 in every view) beside a walk lamp the verifier passes silences it, and the
    calibration, offered only frames where a weaker veto would have said walk, still chooses 0.3."""
    from lttw.green_verifier_train import GRID, frame_record
    from lttw.lamps import Candidate

    assert {v for _, _, v in GRID} == {0.3}
    cands = [Candidate(300, 100, 310, 120, 3, 100, 1), Candidate(100, 100, 110, 120, 1, 100, 1)]
    p = np.array([[0.001, 0, 0.999, 0, 0, 0], [0.45, 0.5, 0.05, 0, 0, 0]], np.float32)

    rgb = np.zeros((200, 600, 3), np.uint8)
    walk = frame_record(_stub_runner(cands, p), _VerifierAt300(0.9), rgb)
    assert final_state(walk, (0.99, 1, 0.3), 0.5) == "unknown"
    chosen = choose([("green", "generated_val", 1, walk)])
    assert chosen["red_veto"] == 0.3
    assert all(e["red_veto"] == 0.3 for e in chosen["grid"])


def test_the_runner_reads_the_verifier_only_for_standbys_that_hold_and_stops_at_the_first_it_passes():
    from lttw.lamps import Candidate
    from lttw.signal_model import SignalExpertRunner

    cands = [Candidate(x, 100, x + 10, 120, 3, 100, 1) for x in (300, 100, 500, 50)]
    p = np.array([[0.0005, 0, 0.9995, 0, 0, 0], [0.001, 0, 0.999, 0, 0, 0], [0.002, 0, 0.998, 0, 0, 0],
                  [0.003, 0, 0.997, 0, 0, 0]])
    held = {300: 0.995, 100: 0.9, 500: 0.995, 50: 0.995}  # 100 does not hold in its views

    class Runner(SignalExpertRunner):
        def __init__(self, verifier):
            self.confirmation, self.verifier, self.T, self.countdown = True, verifier, 1.0, None
            self.thr = {"signal": 0.5, "abstain": 0.5, "green": 0.99, "red_veto": 0.3, "verify": 0.5, "view_misses": 0}

        def probabilities(self, rgb):
            return cands, p

        def green_reads(self, rgb, cands, p, n):
            return np.full(7, held[cands[n].x0])

    class Verifier:
        def __init__(self):
            self.read = []

        def smallest_green(self, rgb, k):
            self.read.append(k.x0)
            return {300: 0.2, 100: 0.9, 500: 0.8, 50: 0.9}[k.x0]

    v = Verifier()
    # The candidates are stubbed; the frame needs colour only so that it is not a colourless one,
    # where no walk is said (signal_model.no_colour).
    rgb = np.zeros((200, 600, 3), np.uint8)
    rgb[100:120, 500:510] = (40, 230, 120)
    d = Runner(v).read(rgb)
    assert (d["state"], d["candidate"], d["turned_down"], d["verified"]) == ("green", 2, 0, 0.8)
    assert v.read == [300, 500], "the verifier reads the walk lamp, then only the first standby that holds and passes"


def test_a_second_look_that_ends_in_a_disagreement_is_settled_by_the_verifier_as_at_runtime():
    """The second look's red, overruled by another green that holds in its views, stands only when
    the verifier turns that green down at the calibrated threshold; otherwise the first doubt."""
    from lttw.green_verifier_train import final_state
    second = {("0.98", 0): ("second", ("unknown", None), "red", 0.3)}
    assert final_state(second, ("0.98", 0), 0.7) == "red"
    second = {("0.98", 0): ("second", ("green", 0.2), "red", 0.9)}
    assert final_state(second, ("0.98", 0), 0.7) == "unknown"


def test_the_shipped_verifier_turns_down_the_fixture_green_it_should():
    from lttw.artifact import Predictor
    runner = Predictor(MODEL).signal
    assert runner.verifier is not None, "models/default ships a green verifier"
    bgr = cv2.imread(os.path.join(FIXTURES, "green_not_verified.png"), cv2.IMREAD_COLOR)
    d = runner.read(np.ascontiguousarray(bgr[..., ::-1]))
    assert d["state"] == "unknown" and d["why"] == "green not verified"
    assert d["verified"] < runner.thr["verify"]
    assert isinstance(runner.verifier, GreenVerifier)


def test_the_shipped_pair_does_not_walk_on_the_greenest_non_green_frame_of_its_calibration():
    """The pharmacy_cross fixture: an unlit close-up with a green pharmacy cross (seed 4,782,171,
    the unlit close-ups' calibration range) that the shipped reader calls a walk lamp and only the
    verifier's bar holds back. A later pair may stop it earlier; only walking on it fails."""
    from lttw.artifact import Predictor
    runner = Predictor(MODEL).signal
    with open(os.path.join(FIXTURES, "index.json")) as f:
        scene = next(s for s in json.load(f)["scenes"] if s["name"] == "pharmacy_cross")
    assert scene["seed"] == 4_782_171 and scene["truth"]["state"] == "none"
    bgr = cv2.imread(os.path.join(FIXTURES, "pharmacy_cross.png"), cv2.IMREAD_COLOR)
    d = runner.read(np.ascontiguousarray(bgr[..., ::-1]))
    assert d["state"] != "green"
    assert d.get("verified", 0.0) < runner.thr["verify"]


def test_from_model_recalibration_starts_from_the_shipped_verifier(tmp_path):
    """--calibrate-only --from_model: the verifier calibrated is the model folder's own (its weights,
    its temperature), and RUN/best.pt holds it for merge-verifier."""
    import json

    from lttw.artifact import load_artifact
    model, T = shipped_verifier(MODEL, str(tmp_path))
    with open(os.path.join(MODEL, "config.json")) as f:
        assert T == json.load(f)["signal_expert"]["green_verifier"]["temperature"]
    shipped = load_artifact(MODEL)[0].signal_expert.green_verifier.state_dict()
    saved = torch.load(os.path.join(tmp_path, "best.pt"), weights_only=False)["model"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, shipped[name]) and torch.equal(saved[name], value), name


def test_an_unlit_close_up_the_verifier_passes_raises_its_bar_without_counting_as_a_green_missed():
    rows = [("green", "generated_val", 1, _record("green", 0.9)),
            ("green", "real_val", "images/b.jpg", _record("green", 0.99)),
            ("off_or_none", "unlit_val", 4_633_548, _record("green", 0.83))]
    chosen = choose(rows)
    assert chosen["verify"] == pytest.approx(0.915)
    assert final_state(rows[2][3], (chosen["reader_green"], chosen["view_misses"], chosen["red_veto"]), chosen["verify"]) == "unknown"
    assert chosen["grid"][0]["generated_val"]["n"] == 1 and chosen["grid"][0]["real_val"]["n"] == 1


def test_calibration_on_unlit_close_ups_reuses_the_saved_rows_and_reads_only_unlit_frames(tmp_path):
    """--rows_from RUN --unlit_scenes N: the run's rows come back as they were saved, and of N more
    generated scenes only the unlit close-ups (signal_mining.unlit_closeup) are read, as non-green
    frames; the shipped pair says none of them walk."""
    from lttw.generator import generate
    from lttw.green_verifier_train import UNLIT_VAL_SEEDS, calibrate, load_rows, save_rows
    from lttw.signal_mining import unlit_closeup
    saved = [("green", "generated_val", 7, _record("green", 0.9)), ("red", "real_val", "images/a.jpg", _record("red"))]
    save_rows(str(tmp_path), saved)
    assert [(t, s, f) for t, s, f, _ in load_rows(str(tmp_path))] == [(t, s, f) for t, s, f, _ in saved]
    verifier, T = shipped_verifier(MODEL, str(tmp_path / "shipped"))
    chosen, rows = calibrate(MODEL, verifier, T, 0, 1, n_unlit=40, rows_from=str(tmp_path))
    new = rows[len(saved):]
    seeds = [s for s in range(UNLIT_VAL_SEEDS, UNLIT_VAL_SEEDS + 40) if unlit_closeup(generate(s))]
    assert seeds and [f for _, _, f, _ in new] == seeds
    assert all(t == "off_or_none" and s == "unlit_val" for t, s, _, _ in new)
    with open(os.path.join(MODEL, "config.json")) as f:
        shipped = json.load(f)["signal_expert"]["thresholds"]
    rule = (shipped["green"], shipped["view_misses"], shipped["red_veto"])
    assert all(final_state(rec, rule, shipped["verify"]) != "green" for _, _, _, rec in new)


def test_rows_from_takes_the_old_runs_verifier_and_the_temperature_its_rows_were_read_at(tmp_path):
    from lttw.green_verifier_train import run_verifier
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    trained = new_verifier()
    torch.save({"model": trained.state_dict()}, old / "best.pt")
    (old / "calibration.json").write_text(json.dumps({"temperature": 1.1247}))
    model, T = run_verifier(str(old), str(new))
    assert T == pytest.approx(1.1247)
    copied = torch.load(new / "best.pt", weights_only=False)["model"]
    for name, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[name], value) and torch.equal(copied[name], value), name


def test_val_metrics_measure_greens_against_the_hardest_negative_the_reader_is_sure_of():
    # Crops: three greens, a hard negative (reader 0.95) at verifier 0.7, an easy one (reader 0.3)
    # at 0.99 — the easy one is no hard negative, so it sets nothing.
    p = torch.tensor([0.9, 0.6, 0.75, 0.7, 0.99, 0.2])
    y = torch.tensor([1, 1, 1, 0, 0, 0])
    reader = torch.tensor([0.99, 0.99, 0.99, 0.95, 0.3, 0.92])
    m = val_metrics(p, y, reader)
    assert m["val_hardest_negative"] == pytest.approx(0.7)
    assert m["val_greens_above_hardest"] == pytest.approx(2 / 3)
    assert m["val_hard_negatives_rejected"] == pytest.approx(0.5)
    assert m["val_greens_kept"] == pytest.approx(1.0)
    assert m["val_acc"] == pytest.approx(4 / 6)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))])
def test_training_a_few_steps_saves_a_cpu_checkpoint_the_calibration_loads(tmp_path, device):
    """`green_verifier_train.train` on crops `green_verifier_data` builds from a few mining-range
    scenes: it logs its epoch and writes best.pt with every tensor on the CPU (the calibration and
    merge-verifier load it there), whichever device trained it."""
    import argparse
    import json

    from lttw.green_verifier_data import build
    from lttw.green_verifier_train import train
    crops = build(MODEL, 12, 4_206_000, 1, 0, 0.2, 0.05, 1, distractors=True)
    assert crops["y"].sum() > 0 and (crops["y"] == 0).sum() > 0
    path = tmp_path / "crops.npz"
    np.savez(path, **crops)
    run = tmp_path / "run"
    a = argparse.Namespace(model=MODEL, train=[str(path)], val=[str(path)], run=str(run), epochs=1, batch=32, lr=1e-3, damage=0.5,
                           threads=2, device=device, seed=0, real_weight=2.0, init=None, init_from_reader=False,
                           patch=ARCHITECTURE["patch_size"], width=ARCHITECTURE["width"], depth=ARCHITECTURE["depth"],
                           heads=ARCHITECTURE["heads"], stem_channels=None, max_pixelate=8.0,
                           whole_green_weight=2.0)
    train(a)
    log = json.loads((run / "log.json").read_text())
    assert len(log) == 1 and np.isfinite(log[0]["val_nll"])
    state = torch.load(run / "best.pt", map_location="cpu", weights_only=False)["model"]
    assert all(v.device.type == "cpu" for v in state.values())
    new_verifier().load_state_dict(state)


@pytest.mark.parametrize("shape", [{"patch_size": 4, "width": 32, "depth": 2}, {"stem": "conv", "stem_channels": [16, 32]},
                                   {"trunk": "mobilenet_v2", "trunk_blocks": 7}],
                         ids=["patch4", "stem", "mobilenet_v2"])
def test_a_verifier_of_another_shape_goes_from_its_run_into_a_model_folder_and_back(tmp_path, shape):
    """--patch 4 (256 tokens of the same 64 px crop), a convolutional stem or MobileNetV2 layers:
    the run's checkpoint records the shape, merge-verifier writes it into config.json (without batch
    norm's step counters), and the model folder loads the verifier in that shape with the same
    reads; a crop size other than the crop sets', classes in another order or a trunk Swift would
    refuse are refused."""
    import shutil

    from lttw.artifact import load_artifact, merge_verifier
    from lttw.green_verifier import CROP_SIZE, architecture_of, verifier_of, verifier_shaped
    torch.manual_seed(3)
    fine = verifier_shaped(shape)
    assert all(getattr(fine.c, k) == v for k, v in shape.items()) and fine.c.crop_size == CROP_SIZE
    run, folder = tmp_path / "run", tmp_path / "model"
    run.mkdir()
    shutil.copytree(MODEL, folder, ignore=shutil.ignore_patterns("eval", "*.png", "*.csv", "selftest"))
    torch.save({"model": fine.state_dict(), "config": fine.c.to_dict()}, run / "best.pt")
    assert architecture_of(verifier_of(torch.load(run / "best.pt", weights_only=False))) == architecture_of(fine)
    with open(os.path.join(MODEL, "config.json")) as f:
        th = json.load(f)["signal_expert"]["thresholds"]
    calibration = {"temperature": 1.0, "architecture": architecture_of(fine),
                   "thresholds": {k: th[k] for k in ("green", "verify", "red_veto", "red_veto_side", "set_aside", "view_misses")},
                   "frames": 1, "calibration": {"margin": 0.5, "grid": [
                       {"reader_green": th["green"], "view_misses": th["view_misses"], "red_veto": th["red_veto"],
                        "verify": th["verify"], "greenest_non_green": []}]}}
    (run / "calibration.json").write_text(json.dumps(calibration))
    merge_verifier(str(run), str(folder))
    with open(folder / "config.json") as f:
        assert json.load(f)["signal_expert"]["green_verifier"]["architecture"] == architecture_of(fine)
    from safetensors.torch import load_file
    stored = {k: v for k, v in load_file(str(folder / "model.safetensors")).items() if k.startswith("signal.verifier.")}
    assert not any(k.endswith("num_batches_tracked") for k in stored)
    # Its matrices are stored in half precision, biases and batch-norm statistics in float32; the
    # rest of the model keeps float32.
    assert {k for k, v in stored.items() if v.dtype == torch.float16} == {k for k, v in stored.items() if v.dim() >= 2} != set()
    assert all(v.dtype == torch.float32 for k, v in load_file(str(folder / "model.safetensors")).items() if k not in stored)
    loaded = load_artifact(str(folder))[0].signal_expert.green_verifier
    rounded = verifier_shaped(shape)
    rounded.load_state_dict({k: v.half().float() if v.dim() >= 2 else v for k, v in fine.state_dict().items()})
    x = torch.randn(2, 3, CROP_SIZE, CROP_SIZE)
    g = torch.rand(2, 5)
    assert torch.equal(loaded(x, g), rounded.eval()(x, g))
    assert torch.allclose(torch.softmax(loaded(x, g), -1), torch.softmax(fine.eval()(x, g), -1), atol=2e-2)
    with pytest.raises(ValueError, match="64×64"):
        new_verifier({"crop_size": 32})
    with pytest.raises(ValueError, match="in that order"):
        verifier_shaped({**shape, "classes": ["green", "not_green"]})
    with pytest.raises(ValueError, match="trunk_blocks 1"):
        verifier_shaped({"trunk": "mobilenet_v2", "trunk_blocks": 1})


def test_read_weights_widens_the_verifiers_half_matrices_and_refuses_half_precision_elsewhere(tmp_path):
    """The green verifier's matrices are stored in float16 and read as float32; a half tensor
    anywhere else means a model saved in the wrong precision, and is refused by name (as Swift's
    ModelFolder.load refuses it)."""
    from safetensors.torch import save_file

    from lttw.artifact import read_weights
    w = torch.randn(4, 3)
    save_file({"signal.verifier.hidden.weight": w.half(), "heads.out.light_state.weight": w}, str(tmp_path / "model.safetensors"))
    sd = read_weights(str(tmp_path))
    assert all(v.dtype == torch.float32 for v in sd.values())
    assert torch.equal(sd["signal.verifier.hidden.weight"], w.half().float())
    save_file({"signal.verifier.hidden.weight": w.half(), "heads.out.light_state.weight": w.half()}, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="'heads.out.light_state.weight' is torch.float16; only the green verifier"):
        read_weights(str(tmp_path))


def test_a_mobilenet_v2_verifier_trains_above_its_frozen_imagenet_layers_and_loads_back(tmp_path):
    """`--trunk mobilenet_v2`: the verifier's first --frozen_blocks layers stay exactly as the
    ImageNet file gave them (their outputs computed once per augmented pass), the layers above and
    the head train, best.pt loads back through `verifier_of` with the same reads, and reading the
    crops whole equals reading the frozen features from where they stop."""
    import argparse

    from lttw.green_verifier import MobileNetVerifier, MobileNetVerifierConfig, verifier_of
    from lttw.green_verifier_data import build
    from lttw.green_verifier_train import train_mobilenet
    from lttw.obstacle_expert import mobilenet_v2_features
    from lttw.signal_train import to_input
    torch.manual_seed(0)
    imagenet = tmp_path / "imagenet.pt"
    torch.save({f"features.{k}": v for k, v in mobilenet_v2_features(18).state_dict().items()}, imagenet)
    crops = build(MODEL, 12, 4_206_000, 1, 0, 0.2, 0.05, 1, distractors=True)
    path = tmp_path / "crops.npz"
    np.savez(path, **crops)
    run = tmp_path / "run"
    a = argparse.Namespace(train=[str(path)], val=[str(path)], run=str(run), epochs=2, batch=16, lr=1e-2, trunk_lr=1e-2, damage=0.0,
                           threads=1, seed=0, real_weight=2.0, trunk_blocks=14, pretrained=str(imagenet), frozen_blocks=11,
                           feature_passes=2, max_pixelate=4.0, whole_green_weight=1.0)
    train_mobilenet(a)
    saved = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    given = torch.load(imagenet, weights_only=False)
    trained = saved["model"]
    frozen = [k for k in trained if k.startswith("trunk.") and int(k.split(".")[1]) < 11]
    moved = [k for k in trained if k.startswith("trunk.") and int(k.split(".")[1]) >= 11 and k.endswith("weight")]
    assert frozen and all(torch.equal(trained[k], given["features." + k[len("trunk."):]]) for k in frozen)
    assert any(not torch.equal(trained[k], given["features." + k[len("trunk."):]]) for k in moved)
    verifier = verifier_of(saved).eval()
    assert isinstance(verifier, MobileNetVerifier) and verifier.c.grid == 4
    x = to_input(torch.from_numpy(crops["x"][:6]))
    g = torch.from_numpy(crops["geometry"][:6])
    whole = verifier(x, g)
    assert torch.allclose(whole, verifier(verifier.frozen_features(x, 11).float(), g, from_block=11), atol=1e-2)
    with pytest.raises(ValueError, match="frozen_blocks"):
        train_mobilenet(argparse.Namespace(**{**vars(a), "frozen_blocks": 14}))
    with pytest.raises(ValueError, match="64 px"):
        MobileNetVerifier(MobileNetVerifierConfig(crop_size=48))


def test_loss_weights_count_sure_distractors_real_crops_and_whole_frame_greens():
    from lttw.green_verifier_train import loss_weights
    y = torch.tensor([0, 0, 1, 1, 1, 0])
    reader_green = torch.tensor([0.95, 0.5, 0.99, 0.99, 0.99, 0.95])
    source = torch.tensor([1, 1, 1, 0, 1, 0])
    whole = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    geometry = torch.cat([torch.full((6, 4), 0.5), whole[:, None]], 1)
    w = loss_weights(y, reader_green, source, geometry, real_weight=4.0, whole_green_weight=2.0)
    # sure distractor 3; plain negative 1; green 1; real green 4; whole-frame green 2;
    # a whole-frame negative keeps its weight (3 sure × 4 real).
    assert w.tolist() == [3.0, 1.0, 1.0, 4.0, 2.0, 12.0]
    assert loss_weights(y, reader_green, source, geometry, 4.0).tolist() == [3.0, 1.0, 1.0, 4.0, 1.0, 12.0]

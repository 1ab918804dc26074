"""The exports' damage: the evaluation copies (lttw.photo_corruptions) on real photos, and the
training augmentation (signal_train.export_damage) on crops."""
import json
import os

import cv2
import numpy as np
import pytest
import torch

from lttw.photo_corruptions import DAMAGES, damage, damaged_row, write_damaged_sets
from lttw.signal_data import REAL_ROOT
from lttw.signal_train import EXPORT_DAMAGES, augment, export_damage, hue_turned

needs_real = pytest.mark.skipif(not os.path.exists(os.path.join(REAL_ROOT, "labels.jsonl")),
                                reason=f"{REAL_ROOT} is not here (run from the repository root beside ../shared)")


def _hue(rgb: np.ndarray) -> float:
    return float(cv2.cvtColor(rgb.reshape(1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV_FULL)[0, 0, 0]) * 360 / 256


def test_each_damage_keeps_the_frame_and_changes_it_the_way_it_says():
    rng = np.random.default_rng(0)
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :32] = (30, 200, 120)  # a green half
    frame[:, 32:] = (200, 40, 40)   # a red half
    texture = np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for kind in DAMAGES:
        out, move = damage(texture, kind, np.random.default_rng(1))
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, kind
        assert not np.array_equal(out, texture), kind
        if kind != "squash":
            assert out.shape == texture.shape, kind
    assert damage(frame, "squash", rng)[0].shape == (640, 640, 3)
    grey = damage(frame, "grayscale", rng)[0]
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    turned = damage(frame, "hue_shift", np.random.default_rng(3))[0]
    shift = (_hue(turned[0, 0]) - _hue(frame[0, 0]) + 180) % 360 - 180
    assert 8 <= abs(shift) <= 27, shift
    dots = damage(frame, "salt_and_pepper", rng)[0]
    changed = (dots != frame).any(-1).mean()
    assert 0.005 < changed < 0.06 and set(np.unique(dots[(dots != frame).any(-1)])) <= {0, 255}
    with pytest.raises(ValueError, match="unknown damage"):
        damage(frame, "sepia", rng)
    with pytest.raises(ValueError, match="RGB uint8"):
        damage(frame[..., 0], "blur", rng)


def test_a_rotation_moves_the_boxes_with_the_pixels():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[40:60, 140:160] = 255  # a lamp right of centre
    out, move = damage(frame, "rotation", np.random.default_rng(2))
    box = move([0.70, 0.40, 0.80, 0.60])
    ys, xs = np.nonzero(out[..., 0] > 128)
    # The bright square's centre lands inside the moved box, which still lies in the frame.
    cx, cy = xs.mean() / 200, ys.mean() / 100
    assert box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
    assert all(0 <= v <= 1 for v in box)
    row = {"file": "images/a.jpg", "light_boxes": [{"state": "red", "box": [0.70, 0.40, 0.80, 0.60]}], "crosswalk_boxes": []}
    moved = damaged_row(row, "rotation", "images/a.png", move)
    assert moved["light_boxes"][0]["box"] == box and moved["corruption"] == "rotation"
    assert damaged_row(row, "blur", "images/a.png", None)["light_boxes"] == row["light_boxes"]


@needs_real
def test_damaged_sets_of_the_real_val_split_are_complete_and_repeatable(tmp_path):
    kinds = ["hue_shift", "rotation"]
    n = write_damaged_sets(REAL_ROOT, str(tmp_path / "a"), kinds, split="val", seed=4)
    write_damaged_sets(REAL_ROOT, str(tmp_path / "b"), kinds, split="val", seed=4)
    val = [json.loads(l) for l in open(os.path.join(REAL_ROOT, "labels.jsonl")) if json.loads(l)["split"] == "val"]
    assert n == 2 * len(val)
    for kind in kinds:
        rows = [json.loads(l) for l in open(tmp_path / "a" / kind / "labels.jsonl")]
        assert [r["pedestrian_light"] for r in rows] == [r["pedestrian_light"] for r in val]
        assert all(r["corruption"] == kind for r in rows)
        for r in rows[:5]:
            a = cv2.imread(str(tmp_path / "a" / kind / r["file"]))
            b = cv2.imread(str(tmp_path / "b" / kind / r["file"]))
            assert a is not None and np.array_equal(a, b), r["file"]
    with pytest.raises(SystemExit, match="no row has split"):
        write_damaged_sets(REAL_ROOT, str(tmp_path / "c"), kinds, split="nope")
    ptl = write_damaged_sets(REAL_ROOT, str(tmp_path / "d"), ["blur"], split="val", sources=["ptl"])
    assert ptl == sum(r["file"].startswith("images/ptl_") for r in val) > 0


def test_a_hue_turn_keeps_greys_and_luma_and_keeps_a_green_green():
    grey = torch.full((1, 2, 2, 3), 90.0)
    assert torch.allclose(hue_turned(grey, torch.tensor([15.0])), grey, atol=1e-3)
    teal = torch.tensor([[[[30.0, 200.0, 150.0]]]])
    luma = torch.tensor([0.299, 0.587, 0.114])
    for deg in (-15.0, 15.0):
        out = hue_turned(teal, torch.tensor([deg]))
        assert torch.allclose((out * luma).sum(-1), (teal * luma).sum(-1), atol=1e-3)
        hue = _hue(out.clamp(0, 255).round().numpy()[0, 0, 0])
        assert 110 <= hue <= 190, hue  # still green, teal or cyan; never yellow or blue
        assert abs(hue - _hue(teal.numpy()[0, 0, 0])) > 5


def test_export_damage_touches_only_its_share_and_costs_no_draws_when_off():
    crops = torch.randint(0, 256, (400, 16, 16, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)).float()
    out = export_damage(crops, torch.Generator().manual_seed(2), 0.5)
    touched = (out != crops).flatten(1).any(1).float().mean()
    assert 0.35 < touched < 0.6
    assert out.shape == crops.shape and out.min() >= -1 and out.max() <= 256
    assert torch.equal(export_damage(crops, torch.Generator().manual_seed(2), 0.0), crops)
    assert len(EXPORT_DAMAGES) == 5
    x = crops.to(torch.uint8)
    g0, g1 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(augment(x, g0), augment(x, g1, damage=0.0))
    assert not torch.equal(augment(x, torch.Generator().manual_seed(5), damage=0.5), augment(x, torch.Generator().manual_seed(5)))


def test_the_damage_table_sums_the_kinds():
    from lttw.photo_corruptions import damage_table

    def metrics(fg, acc, ab, recall):
        return json.dumps({"counts": {"light_labelled": 10}, "false_green_count": fg, "false_green_denominator": 6,
                           "light_accuracy": acc, "abstention_rate": ab,
                           "light_per_class": {"green": {"recall": recall, "support": 4}}})
    table = damage_table([f"blur {metrics(0, 0.9, 0.1, 0.75)}\n", "\n", f"hue_shift {metrics(1, 0.5, 0.3, None)}\n"]).splitlines()
    assert table[1].split() == ["blur", "0/6", "90.0%", "10.0%", "3/4"]
    assert table[2].split() == ["hue_shift", "1/6", "50.0%", "30.0%", "0/4"]
    assert table[3].split() == ["all", "kinds", "1/12", "70.0%", "20.0%", "3/8"]


def _runs_across(crop: torch.Tensor) -> int:
    """Distinct pixel runs along the crop's middle row: a pixelated crop's block count."""
    row = crop[crop.shape[0] // 2]
    return 1 + int((row[1:] != row[:-1]).any(-1).sum())


def test_a_higher_max_pixelate_reaches_blocks_the_default_never_makes():
    crops = torch.randint(0, 256, (300, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(3)).float()
    default = export_damage(crops, torch.Generator().manual_seed(4), 1.0)
    coarse = export_damage(crops, torch.Generator().manual_seed(4), 1.0, max_pixelate=8.0)
    # Down 4× at most leaves at least 16 blocks across 64 px; down 8× can leave 8.
    assert min(_runs_across(c) for c in default) >= 16
    assert min(_runs_across(c) for c in coarse) <= 10
    with pytest.raises(ValueError, match="max_pixelate"):
        export_damage(crops, torch.Generator().manual_seed(4), 1.0, max_pixelate=1.5)

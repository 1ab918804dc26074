"""The crop reader's wide view (measured, not shipped): the context around each crop, read as
tokens of its own. Building the wide views must leave the crops as they were (so readers with and
without them are trained on the same crops), the view must sit around the crop, the training
augmentation must treat a crop and its wide view alike, and the runner must read the view where
its crops are read."""
import numpy as np
import pytest
import torch

from lttw import lamps
from lttw.preprocess import MEAN, STD
from lttw.generator import generate
from lttw.signal_data import WIDE_SIZE, crops_of, label_generated
from lttw.signal_model import SignalConfig, SignalExpertRunner, SignalReader
from lttw.signal_train import augment_pair


def test_the_wide_view_is_centred_on_the_crop_and_is_the_frame_for_the_whole_frame():
    assert lamps.wide_rect((100, 60, 40, 40), False, 640, 480, 3) == (60, 20, 120, 120)
    x0, y0, w, h = lamps.wide_rect((101, 61, 33, 33), False, 640, 480, 3)
    assert (w, h) == (99, 99) and abs((x0 + w / 2) - (101 + 33 / 2)) <= 1 and abs((y0 + h / 2) - (61 + 33 / 2)) <= 1
    assert lamps.wide_rect((20, 15, 600, 450), True, 640, 480, 3) == (0, 0, 640, 480)


def test_wide_views_leave_the_crops_labels_and_geometry_unchanged():
    scene = generate(4_000_007)
    rgb, labelled = label_generated(scene)
    assert labelled
    for copies in (0, 3):
        plain = crops_of(rgb, labelled, copies, np.random.default_rng(5))
        wide = crops_of(rgb, labelled, copies, np.random.default_rng(5), wide=3)
        assert plain[3] == [] and len(wide[3]) == len(wide[0]) > 0
        for a, b in zip(plain[:3], wide[:3]):
            assert all(np.array_equal(u, v) for u, v in zip(a, b)) and len(a) == len(b)
        views, crops = np.stack(wide[3]), np.stack(wide[0])
        assert views.shape == (len(crops), WIDE_SIZE, WIDE_SIZE, 3)
        # A wide view holds more of the frame than its crop, so it is not the crop scaled down.
        small = crops.reshape(-1, WIDE_SIZE, 2, WIDE_SIZE, 2, 3).mean((2, 4))
        assert np.abs(small - views).mean() > 2


def test_a_crop_and_its_wide_view_are_augmented_alike():
    # Left half dark, right half bright, in both views: after the augmentation the bright side is
    # the same side in both (the same flip), and their brightness moved together (the same gain).
    x = np.zeros((64, 32, 32, 3), np.uint8)
    x[:, :, 16:] = 200
    w = np.zeros((64, WIDE_SIZE, WIDE_SIZE, 3), np.uint8)
    w[:, :, WIDE_SIZE // 2:] = 200
    ax, aw = augment_pair(torch.from_numpy(x), torch.from_numpy(w), torch.Generator().manual_seed(3))
    assert ax.shape == x.shape and aw.shape == w.shape
    right_x = ax[:, :, 16:].float().mean((1, 2, 3)) > ax[:, :, :16].float().mean((1, 2, 3))
    right_w = aw[:, :, WIDE_SIZE // 2:].float().mean((1, 2, 3)) > aw[:, :, :WIDE_SIZE // 2].float().mean((1, 2, 3))
    assert torch.equal(right_x, right_w) and 0 < int(right_x.sum()) < 64
    bright_x = torch.maximum(ax[:, :, 16:], ax[:, :, :16].flip(2)).float().mean((1, 2, 3))
    bright_w = torch.maximum(aw[:, :, WIDE_SIZE // 2:], aw[:, :, :WIDE_SIZE // 2].flip(2)).float().mean((1, 2, 3))
    assert float(torch.corrcoef(torch.stack([bright_x, bright_w]))[0, 1]) > 0.9


def test_a_wide_reader_needs_its_view_and_the_runner_reads_it_for_crops_and_views():
    torch.manual_seed(0)
    c = SignalConfig(patch_size=4, width=16, depth=1, heads=2, head_hidden=8, wide_size=WIDE_SIZE, wide_context=3)
    reader = SignalReader(c).eval()
    assert c.to_dict()["wide_context"] == 3 and "wide_size" not in SignalConfig().to_dict()
    x, g = torch.randn(2, 3, 32, 32), torch.zeros(2, 5)
    with pytest.raises(ValueError, match="pass wide"):
        reader(x, g)
    assert reader(x, g, torch.randn(2, 3, WIDE_SIZE, WIDE_SIZE)).shape == (2, 6)
    with pytest.raises(ValueError, match="multiple"):
        SignalReader(SignalConfig(patch_size=4, width=16, depth=1, wide_size=18, wide_context=3))
    # A red lamp on a dark frame: the runner reads each candidate's wide view around its runtime
    # crop, and each confirmation view's around that view.
    rgb = np.full((240, 320, 3), 20, np.uint8)
    rgb[100:110, 150:160] = (255, 30, 20)
    rgb[60:80, 20:60] = (30, 200, 60)
    runner = SignalExpertRunner(reader, 1.0, {"signal": 0.5, "green": 0.9}, MEAN, STD)
    cands, p = runner.probabilities(rgb)
    assert cands and p.shape == (len(cands), 6)
    with torch.no_grad():
        crops = torch.from_numpy(lamps.read_crops(rgb, cands, MEAN, STD))
        geometry = torch.from_numpy(lamps.read_geometry(cands, 320, 240))
        views = torch.from_numpy(np.stack([lamps.normalise_crop(lamps.sample_rect(
            rgb, lamps.wide_rect(lamps.crop_rect(k, 320, 240), k.whole, 320, 240, 3), WIDE_SIZE), MEAN, STD) for k in cands]))
        assert np.array_equal(p, torch.softmax(reader(crops, geometry, views), -1).numpy())
    v = runner.view_probabilities(rgb, cands[0])
    with torch.no_grad():
        reader.wide_embed.weight.mul_(40)
    assert np.abs(runner.probabilities(rgb)[1] - p).max() > 1e-3
    assert np.abs(runner.view_probabilities(rgb, cands[0]) - v).max() > 1e-3


def test_the_shipped_reader_widened_keeps_its_weights_and_starts_its_wide_head_at_zero():
    import json
    import os
    from lttw.artifact import Predictor
    from lttw.signal_model import widened
    model = os.path.join(os.path.dirname(__file__), "..", "..", "models", "default")
    shipped = Predictor(model).signal.model
    wide = widened(shipped, WIDE_SIZE, 3)
    d = shipped.c.width
    old, new = shipped.state_dict(), wide.state_dict()
    assert all(torch.equal(old[k], new[k]) for k in old if k != "fc1.weight")
    assert torch.equal(new["fc1.weight"][:, :2 * d], old["fc1.weight"][:, :2 * d])
    assert torch.equal(new["fc1.weight"][:, 3 * d:], old["fc1.weight"][:, 2 * d:])
    assert not new["fc1.weight"][:, 2 * d:3 * d].any()
    assert torch.equal(new["wide_embed.weight"], old["encoder.patch_embed.weight"])
    assert wide.c.wide_size == WIDE_SIZE and json.dumps(wide.c.to_dict())
    with pytest.raises(ValueError, match="can be widened"):
        widened(wide, WIDE_SIZE, 3)

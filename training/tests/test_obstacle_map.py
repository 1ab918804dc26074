"""The obstacle map's targets and its reading agree with the generator's labels."""
import numpy as np
import torch

from lttw.data import obstacle_box_rows
from lttw.generator import generate
from lttw.obstacle_map import N_KINDS, loss, read, score, targets


def _logits_from_targets(heat, dist):
    """A perfect map: heat as logits, distance one-hot at the centres."""
    h = np.clip(heat, 1e-4, 1 - 1e-4)
    d = np.zeros(dist.shape + (3,), np.float32)
    d[dist >= 0, dist[dist >= 0]] = 10.0
    return np.concatenate([np.log(h / (1 - h)), d], axis=-1)


def test_boxes_follow_the_labelled_obstacles():
    scenes = [generate(s) for s in range(9_000_300, 9_000_360)]
    labelled = [sc for sc in scenes if sc.facts["obstacles"]]
    assert len(labelled) >= 20
    for sc in labelled:
        H, W = sc.bgr.shape[:2]
        assert len(sc.obstacle_boxes) == len(sc.facts["obstacles"])
        for (x0, y0, x1, y1), o in zip(sc.obstacle_boxes, sc.facts["obstacles"]):
            assert x0 < x1 and y0 < y1 and x1 > 0 and x0 < W and y1 > 0 and y0 < H  # at least partly in view
            cx = (x0 + x1) / 2 / W  # the box sits on the labelled side (camera roll moves it a little)
            assert {"left": cx < 0.45, "ahead": 0.3 < cx < 0.7, "right": cx > 0.55}[o["position"]], (sc.seed, o, cx)


def test_a_perfect_map_reads_back_the_labels():
    scenes = [sc for sc in (generate(s) for s in range(9_000_400, 9_000_500)) if sc.facts["obstacles"]]
    rows = np.stack([obstacle_box_rows(sc) for sc in scenes])
    heat, dist = targets(rows, 10)
    assert heat.shape == (len(scenes), 100, N_KINDS) and (heat.max(axis=(1, 2)) == 1.0).all()
    predicted = [read(l, 10, 0.5) for l in _logits_from_targets(heat, dist)]
    truth = [sc.facts["obstacles"] for sc in scenes]
    s = score(predicted, truth)
    # Two obstacles of one kind centred in neighbouring cells merge into one peak; the rest is exact.
    assert s["recall"] >= 0.95 and s["precision"] >= 0.97 and s["distance_accuracy"] >= 0.95, s


def test_the_loss_prefers_the_right_map():
    scenes = [sc for sc in (generate(s) for s in range(9_000_500, 9_000_540)) if sc.facts["obstacles"]]
    heat, dist = targets(np.stack([obstacle_box_rows(sc) for sc in scenes]), 10)
    right = torch.from_numpy(_logits_from_targets(heat, dist))
    empty = right.clone()
    empty[..., :N_KINDS] = -4.6  # the prior: nothing anywhere
    h, d = torch.from_numpy(heat), torch.from_numpy(dist)
    assert sum(loss(right, h, d)) < 0.2 * sum(loss(empty, h, d))

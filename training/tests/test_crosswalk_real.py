"""The real crosswalk labels the scene model is fine-tuned on: viewed labels only fill what the
source left unlabelled, and the shipped model's crosswalk head holds on the real val split."""
import json
import os

import numpy as np
import pytest

import torch

from lttw.crosswalk_real import augment, join_batches, real_crosswalk_rows, viewed_labels
from lttw.data import build_cache
from lttw.train import to_batch
from lttw.signal_data import REAL_ROOT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_real = pytest.mark.skipif(not os.path.exists(os.path.join(REAL_ROOT, "labels.jsonl")),
                                reason=f"{REAL_ROOT} is not here (run from the repository root beside ../shared)")


def source_rows():
    with open(os.path.join(REAL_ROOT, "labels.jsonl")) as f:
        return {r["file"]: r for r in map(json.loads, f)}


@needs_real
def test_viewed_labels_only_fill_unlabelled_light_photos():
    rows = source_rows()
    viewed = viewed_labels()
    assert len(viewed) >= 100
    for file, label in viewed.items():
        assert label in ("yes", "no"), file
        assert file in rows, f"{file}: not in {REAL_ROOT}/labels.jsonl"
        assert rows[file]["crosswalk"] is None, f"{file}: the source labels it {rows[file]['crosswalk']}; a viewed label must not override it"
        assert rows[file]["pedestrian_light"] is not None, file


@needs_real
def test_rows_keep_the_splits_apart_and_have_both_answers():
    rows = source_rows()
    train, val = real_crosswalk_rows("train"), real_crosswalk_rows("val")
    assert {rows[r["file"]]["split"] for r in train} == {"train"}
    assert {rows[r["file"]]["split"] for r in val} == {"val"}
    for split in (train, val):
        labels = [r["crosswalk"] for r in split]
        assert 0 < sum(labels) < len(labels)
    for r in train + val:  # a source label is used as it is
        src = rows[r["file"]]["crosswalk"]
        if src is not None:
            assert r["crosswalk"] == (1 if src == "yes" else 0), r["file"]


def test_augment_gives_a_valid_image_of_at_most_the_input_size():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    for _ in range(20):
        out = augment(bgr, rng)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert 0.7 * 120 <= out.shape[0] <= 120 and 0.7 * 90 <= out.shape[1] <= 90
        assert out.flags["C_CONTIGUOUS"]


@needs_real
def test_shipped_scene_model_sees_crosswalks_on_real_val_photos():
    """The fine-tuned model's crosswalk presence on the real val split (source and viewed labels):
    43 of 44 at shipping, 40 before the fine-tune; below 95 % means the real-photo fine-tune was lost."""
    import cv2
    import torch
    from lttw.artifact import Predictor
    from lttw.preprocess import preprocess
    pred = Predictor(os.path.join(REPO, "models", "default"))
    rows = real_crosswalk_rows("val")
    x = torch.from_numpy(np.stack([preprocess(cv2.imread(os.path.join(REAL_ROOT, r["file"])), pred.size, pred.mean, pred.std)
                                   for r in rows]))
    with torch.no_grad():
        _, head_logits, _ = pred.model.encode(x)
    p = pred.probs(head_logits)["crosswalk"][:, 1]
    right = int(sum((pi >= pred.thr["crosswalk"]) == bool(r["crosswalk"]) for pi, r in zip(p, rows)))
    assert right >= 0.95 * len(rows), f"{right} of {len(rows)}"


def test_a_batch_joined_from_two_caches_lays_out_its_captions_as_one(tmp_path):
    """The crossing variety's scenes join each step's plain ones: the heads' rows in order and the
    captions as `to_batch` lays them out (every English caption, then every Mandarin one), so the
    decoder's `vis.repeat` pairs each caption with its own frame."""
    plain = build_cache(str(tmp_path), "tests", 6, 64, 1, chunk=6)
    variety = build_cache(str(tmp_path), "tests", 4, 64, 1, chunk=4, start=9_200_000, crosswalk_variety=True)
    ia, ib = np.arange(6), np.arange(4)
    (xa, ya), (xb, yb) = to_batch(plain, ia, "cpu"), to_batch(variety, ib, "cpu")
    y = join_batches(ya, yb)
    assert torch.equal(y["crosswalk"], torch.cat([ya["crosswalk"], yb["crosswalk"]]))
    caps = y["caps"]
    assert caps.shape[0] == 20
    strip = lambda row: [int(t) for t in row if int(t) != 0]
    for i in range(6):
        assert strip(caps[i]) == strip(ya["caps"][i]) and strip(caps[10 + i]) == strip(ya["caps"][6 + i])
    for j in range(4):
        assert strip(caps[6 + j]) == strip(yb["caps"][j]) and strip(caps[16 + j]) == strip(yb["caps"][4 + j])


def test_the_crossing_breakdown_counts_by_side_and_by_the_share_of_the_frame():
    """`evaluate.crosswalk_breakdown` on generated labels: a labelled crossing counts by its side
    and by the share of the frame its stripes cover; a frame without one counts under "none";
    photos' labels, which carry no share, count by their box's side ("center" is ahead) or not at all."""
    from lttw.evaluate import crossing_side, crosswalk_breakdown

    def scene(offset, share):
        return {"crosswalk": "yes", "facts": {"crosswalk": {"present": True, "offset": offset},
                                              "conditions": {"crosswalk_seen_fraction": share}}}

    tally = {}
    crosswalk_breakdown(scene("left", 0.01), False, tally)   # a small crossing missed
    crosswalk_breakdown(scene("left", 0.05), True, tally)
    crosswalk_breakdown(scene("ahead", 0.2), True, tally)
    crosswalk_breakdown({"crosswalk": "no", "facts": {"crosswalk": {"present": False, "offset": None}}}, True, tally)
    crosswalk_breakdown({"crosswalk": "yes"}, True, tally)    # a photo: nothing to break down by
    crosswalk_breakdown({"crosswalk": None}, True, tally)     # not labelled
    crosswalk_breakdown({"crosswalk": "yes", "crosswalk_position": "center"}, True, tally)  # a photo's centred box
    assert tally == {("side", "left"): [1, 2], ("share of frame", "under 3 %"): [0, 1],
                     ("share of frame", "3-8 %"): [1, 1], ("side", "ahead"): [2, 2],
                     ("share of frame", "8 % or more"): [1, 1], ("none", "labelled absent"): [0, 1]}
    assert crossing_side({"crosswalk_position": "right"}) == "right" and crossing_side({"crosswalk": "yes"}) is None

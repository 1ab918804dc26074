"""Training labels of lamp candidates inside a signal head (signal_data.in_head_label)."""
import json
import os

import cv2
import numpy as np
import pytest

from lttw import lamps
from lttw.signal_data import NOT_SIGNAL, REAL_ROOT, SKIP, label_real

PED_RED, PED_GREEN = 1, 2


def head_photo(top=(255, 60, 30), bottom=(40, 255, 90)):
    """A dark 640×480 frame with one pedestrian head at (300..340, 100..200): a lamp of colour
    `top` above one of colour `bottom`, and a red tail light far away."""
    rgb = np.full((480, 640, 3), (20, 20, 24), np.uint8)
    cv2.rectangle(rgb, (300, 100), (340, 200), (45, 45, 45), -1)
    cv2.circle(rgb, (320, 125), 9, top, -1)
    cv2.circle(rgb, (320, 175), 9, bottom, -1)
    cv2.circle(rgb, (80, 400), 6, (255, 40, 30), -1)
    return rgb


def row(state):
    return {"file": "images/ptl_test.jpg", "pedestrian_light": state, "light_kind": "pedestrian",
            "light_boxes": [{"state": state, "box": [300 / 640, 100 / 480, 340 / 640, 200 / 480]}]}


def labels_by_place(rgb, state):
    out = {}
    for k, y in label_real(row(state), rgb):
        if not k.whole:
            out[("top" if (k.y0 + k.y1) / 2 < 150 else "bottom") if k.x0 > 200 else "far"] = (lamps.COLOURS[k.colour], y)
    return out


def test_the_lit_lamp_takes_the_heads_state_and_the_other_colour_in_it_is_not_a_signal():
    got = labels_by_place(head_photo(), "green")
    assert got["bottom"] == ("green", PED_GREEN)
    assert got["top"][1] == NOT_SIGNAL, got  # the red lamp of a green head is not lit: not a red
    assert got["far"] == ("red", NOT_SIGNAL)


def test_a_green_blob_inside_a_red_head_is_not_a_signal_and_amber_is_red():
    got = labels_by_place(head_photo(top=(255, 150, 20), bottom=(40, 255, 90)), "red")
    assert got["top"] == ("amber", PED_RED)
    assert got["bottom"] == ("green", NOT_SIGNAL)


def test_an_off_colour_blob_in_the_boxs_margin_is_skipped():
    rgb = head_photo()
    cv2.circle(rgb, (320, 125), 9, (40, 255, 90), -1)  # the head lit green at the top
    cv2.circle(rgb, (320, 175), 9, (45, 45, 45), -1)
    cv2.circle(rgb, (344, 150), 3, (255, 40, 30), -1)  # a red speck just right of the box
    labels = {(lamps.COLOURS[k.colour], k.x0 > 335): y for k, y in label_real(row("green"), rgb) if not k.whole}
    assert labels[("green", False)] == PED_GREEN
    assert labels[("red", True)] == SKIP


@pytest.mark.skipif(not os.path.exists(os.path.join(REAL_ROOT, "labels.jsonl")), reason="../shared/train/real not here")
def test_the_unlit_red_above_a_real_green_man_is_not_a_signal():
    """ptl_0117 (train split): a green man lit, its red man above caught by the proposer."""
    rows = [json.loads(l) for l in open(os.path.join(REAL_ROOT, "labels.jsonl"))]
    r = next(x for x in rows if x["file"] == "images/ptl_0117.jpg")
    rgb = np.ascontiguousarray(cv2.imread(os.path.join(REAL_ROOT, r["file"]))[..., ::-1])
    H, W = rgb.shape[:2]
    x0, y0, x1, y1 = (v * s for v, s in zip(r["light_boxes"][0]["box"], (W, H, W, H)))
    inside = [(lamps.COLOURS[k.colour], y) for k, y in label_real(r, rgb)
              if not k.whole and x0 <= (k.x0 + k.x1) / 2 <= x1 and y0 <= (k.y0 + k.y1) / 2 <= y1]
    assert ("green", PED_GREEN) in inside
    assert any(c in ("red", "amber") and y == NOT_SIGNAL for c, y in inside), inside
    assert all(y != PED_GREEN for c, y in inside if c != "green")

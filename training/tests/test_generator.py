import numpy as np

from lttw.generator import DISTANCES, LIGHT_KINDS, LIGHT_STATES, OBSTACLE_KINDS, POSITIONS, generate
from lttw.preprocess import MEAN, STD, preprocess
import cv2


def test_deterministic_by_seed():
    for s in (9_000_001, 9_000_002, 9_000_003):
        a, b = generate(s), generate(s)
        assert np.array_equal(a.bgr, b.bgr)
        assert a.facts == b.facts and a.captions == b.captions
    a, b = generate(9_000_001), generate(9_000_004)
    assert a.bgr.shape != b.bgr.shape or not np.array_equal(a.bgr, b.bgr)


def _greenish(bgr):
    b, g, r = (bgr[..., i].astype(np.int32) for i in range(3))
    return int(((g > r + 20) & (g >= b - 20)).sum())


def test_green_distractors_add_green_non_signals_and_keep_the_scene_its_facts_and_its_lamp():
    """The green verifier's hard negatives (generate(..., green_distractors=True)) are the plain
    scene of the same seed with green things added away from the lit housing: same facts, same
    lamp box, more green pixels; a tiny crop has no room for them and stays as it was. (Up to three
    are tried; one that would reach the lit housing is not drawn, so a close-up may get none.)"""
    changed = greener = roomy = 0
    for s in range(9_000_300, 9_000_340):
        plain, busy = generate(s), generate(s, green_distractors=True)
        assert busy.facts == plain.facts and busy.captions == plain.captions and busy.light_box == plain.light_box
        if plain.facts["conditions"]["framing"] == "tiny":
            assert np.array_equal(plain.bgr, busy.bgr)
            continue
        roomy += 1
        changed += not np.array_equal(plain.bgr, busy.bgr)
        greener += _greenish(busy.bgr) > _greenish(plain.bgr)
        if plain.light_box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in plain.light_box)
            inside = (slice(max(0, y0), max(0, y1)), slice(max(0, x0), max(0, x1)))
            lamp = np.abs(busy.bgr[inside].astype(np.int32) - plain.bgr[inside].astype(np.int32))
            assert lamp.size == 0 or lamp.mean() < 8, f"seed {s}: a distractor was drawn over the lit housing"
    assert roomy >= 25 and changed >= 0.7 * roomy and greener >= 0.5 * roomy


def test_label_sanity_and_coverage():
    seen_states, seen_framings = set(), set()
    for s in range(9_000_100, 9_000_260):
        sc = generate(s)
        f = sc.facts
        assert sc.bgr.dtype == np.uint8 and sc.bgr.ndim == 3 and sc.bgr.shape[2] == 3
        lt = f["light"]
        assert lt["state"] in LIGHT_STATES
        if lt["state"] == "none":
            assert lt["kind"] is None and lt["position"] is None
        else:
            assert lt["kind"] in LIGHT_KINDS and lt["position"] in POSITIONS
        if lt["state"] == "yellow":
            assert lt["kind"] == "vehicle"
        cw = f["crosswalk"]
        assert (cw["offset"] in POSITIONS) == bool(cw["present"])
        if cw["present"]:
            assert -40 <= cw["heading_deg"] <= 40
        for o in f["obstacles"]:
            assert o["kind"] in OBSTACLE_KINDS and o["position"] in POSITIONS and o["distance"] in DISTANCES
        rec = sc.labelled_record("images/x.png")
        assert rec["pedestrian_light"] in ("red", "green", "yellow", "off_or_none")
        assert rec["crosswalk"] in ("yes", "no")
        seen_states.add(lt["state"]); seen_framings.add(f["conditions"]["framing"])
    assert seen_states == set(LIGHT_STATES)
    assert seen_framings == {"street", "closeup", "tiny", "ground"}


def test_preprocess_contract():
    bgr = generate(9_000_010).bgr
    x = preprocess(bgr, 160)
    assert x.shape == (3, 160, 160) and x.dtype == np.float32
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    small = cv2.resize(rgb, (160, 160), interpolation=cv2.INTER_AREA)
    ref = ((small.astype(np.float32) / np.float32(255.0)) - MEAN) / STD
    assert np.array_equal(x, ref.transpose(2, 0, 1))


def test_unlit_lamps_are_grey_not_dim_lit():
    """An unlit lamp must not look like a dim lit one: generator v1's saturated dark teal "off"
    figures were read as walk signals and set the signal expert's green threshold. Unlit lamps
    are dark or pale grey with at most a faint tint, far from every lit colour."""
    from lttw.generator import _dark_colour, _lit_colour
    rng = np.random.default_rng(7)
    for _ in range(500):
        for state in ("red", "yellow", "green"):
            unlit = np.array(_dark_colour(rng, state))
            assert unlit.max() - unlit.min() <= 10.0 and unlit.max() <= 100.0
            lit = np.array(_lit_colour(rng, state, "vehicle"))
            assert np.abs(lit - unlit).max() >= 100.0

import numpy as np

from lttw.generator import (CROSSWALK_CONTRAST, CROSSWALK_STRIPES, DISTANCES, LIGHT_KINDS, LIGHT_STATES, OBSTACLE_KINDS,
                            POSITIONS, crosswalk_visibility, generate)
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
    scene of the same seed with green things added away from the lit housing: same light and
    obstacles, same lamp box, more green pixels; a tiny crop has no room for them and stays as it
    was. (Up to three are tried; one that would reach the lit housing is not drawn, so a close-up
    may get none. One drawn over a crossing may hide it, and the crossing's label follows.)"""
    changed = greener = roomy = 0
    for s in range(9_000_300, 9_000_340):
        plain, busy = generate(s), generate(s, green_distractors=True)
        for k in ("light", "obstacles"):
            assert busy.facts[k] == plain.facts[k]
        assert busy.light_box == plain.light_box
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


def _stripes(h=120, w=160, n=4, rows=8, gap=8, top=40):
    """n horizontal stripes, ids 1..n, each `rows` tall, starting at `top`."""
    m = np.zeros((h, w), np.uint8)
    for i in range(n):
        y = top + i * (rows + gap)
        m[y:y + rows, 20:140] = i + 1
    return m


def test_crosswalk_visibility_counts_the_stripes_in_view_and_the_contrast_of_the_second_clearest():
    drawn = _stripes()
    road = np.full(drawn.shape + (3,), 90, np.uint8)
    painted = road.copy()
    painted[drawn > 0] = 220
    n, frac, contrast = crosswalk_visibility(painted, drawn, drawn)
    assert n == 4 and abs(frac - (drawn > 0).mean()) < 1e-4
    assert abs(contrast - 130 * np.sqrt(3) / (90 + 16)) < 1e-3  # colour distance over the road's luminance
    seen = drawn.copy()
    seen[seen >= 2] = 0  # three stripes drawn over: one left in view
    assert crosswalk_visibility(painted, seen, drawn)[0] == 1
    assert crosswalk_visibility(np.zeros_like(painted), drawn, drawn)[2] == 0  # a black frame shows none
    purple = np.zeros_like(painted)
    purple[...] = (150, 90, 170)
    purple[drawn > 0] = (120, 110, 100)  # about the road's luminance, another colour
    assert crosswalk_visibility(purple, drawn, drawn)[2] > CROSSWALK_CONTRAST
    fogged = painted.copy()
    fogged[drawn >= 3] = 90  # fog washes out the far stripes: the near two still show the crossing
    assert abs(crosswalk_visibility(fogged, drawn, drawn)[2] - 130 * np.sqrt(3) / (90 + 16)) < 1e-3
    fogged[drawn == 2] = 90  # one stripe left is not a crossing: its contrast is the second stripe's
    assert crosswalk_visibility(fogged, drawn, drawn)[2] == 0
    night = np.full_like(painted, 4)
    night[drawn > 0] = 9  # five levels over a black road: noise, not paint, however large the ratio
    assert crosswalk_visibility(night, drawn, drawn)[2] == 0


def test_a_crossing_the_frame_does_not_show_is_labelled_absent():
    """The generator draws a crossing in perspective and may then lose it: out of the frame,
    drawn over by a car, rolled out, or too dark, fogged or worn to read. Its label follows what
    the frame shows (CROSSWALK_STRIPES stripes with CROSSWALK_CONTRAST), and its captions follow
    its label; the pixels are the ones drawn either way."""
    hidden = shown = 0
    for s in range(9_300_000, 9_300_400):
        sc = generate(s)
        c, cw = sc.facts["conditions"], sc.facts["crosswalk"]
        if "crosswalk_contrast" not in c:
            assert not cw["present"] and "crosswalk_hidden" not in c
            continue
        visible = c["crosswalk_stripes_seen"] >= CROSSWALK_STRIPES and c["crosswalk_contrast"] >= CROSSWALK_CONTRAST
        assert cw["present"] == visible and c.get("crosswalk_hidden", False) == (not visible)
        mentions = "crosswalk" in sc.captions["en"].lower() or "人行横道" in sc.captions["zh"]
        assert mentions == visible, (s, sc.captions)
        hidden += not visible
        shown += visible
    assert hidden >= 5 and shown >= 60


def test_the_crossing_variety_turns_crossings_and_greys_roads_and_keeps_the_rest_of_the_scene():
    """`generate(crosswalk_variety=True)` draws from a stream of its own: the light, the obstacles
    and every close-up and tiny crop are the plain scene's; crossings are turned past 35 degrees
    about half the time; some street and ground frames are grey and noisy, crossing or not; and
    the crossing's label still follows what the frame shows."""
    wide = grey = grey_without = crossings = 0
    for s in range(9_300_400, 9_300_700):
        plain, varied = generate(s), generate(s, crosswalk_variety=True)
        for k in ("light", "obstacles"):
            assert varied.facts[k] == plain.facts[k]
        framing = plain.facts["conditions"]["framing"]
        if framing in ("closeup", "tiny"):
            assert np.array_equal(plain.bgr, varied.bgr)
            continue
        c, cw = varied.facts["conditions"], varied.facts["crosswalk"]
        if c.get("grey_noise"):
            grey += 1
            grey_without += not cw["present"]
            b, g, r = (varied.bgr[..., i].astype(np.int32) for i in range(3))
            assert np.array_equal(b, g) and np.array_equal(g, r)
        if "crosswalk_contrast" in c:
            visible = c["crosswalk_stripes_seen"] >= CROSSWALK_STRIPES and c["crosswalk_contrast"] >= CROSSWALK_CONTRAST
            assert cw["present"] == visible
        if cw["present"]:
            crossings += 1
            assert abs(cw["heading_deg"]) <= 85
            wide += abs(cw["heading_deg"]) > 35
    assert crossings >= 40 and 0.3 * crossings <= wide <= 0.7 * crossings
    assert grey >= 20 and grey_without >= 5

import os

import pytest

from conftest import REPO

MODEL = os.path.join(REPO, "models", "default")


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")), reason="models/default not shipped yet")
def test_shipped_default_model(tmp_path):
    from lttw.evaluate import evaluate
    from lttw.make_set import make_set
    make_set(str(tmp_path / "set"), 9_100_000, 48, workers=1, quiet=True)
    m = evaluate(MODEL, str(tmp_path / "set"), None, quiet=True, captions="no")
    assert m["false_green_count"] == 0
    # "mostly right": the shipped model abstains often (see models/default/README.md), so the light
    # check is on answered items; abstentions are never green. The light comes from the signal
    # expert, which reads these small renders worse than real photos (70.7 % answered on the
    # 2,500-scene test split, 96.5 % on real-dev; models/default/NOTES.md).
    assert m["light_accuracy_answered"] >= 0.6
    assert m["light_accuracy"] >= 0.4
    assert m["crosswalk_accuracy"] >= 0.8


SAMPLES = os.path.join(REPO, "samples")


def _sample_lights():
    import json

    from lttw.artifact import Predictor
    from lttw.preprocess import load_bgr
    pred = Predictor(MODEL)
    assert pred.signal is not None, "the shipped model has no signal expert"
    with open(os.path.join(SAMPLES, "expected.jsonl")) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    return [(r["file"], r["pedestrian_light"], pred.signal_light(load_bgr(os.path.join(SAMPLES, r["file"])))) for r in rows]


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")), reason="models/default not shipped yet")
def test_shipped_signal_expert_never_reads_a_non_green_sample_as_green():
    """Safety half of the signal-expert issue's sample rule: no red, yellow or no-signal sample
    is announced as a walk signal, and the red samples read red."""
    for file, truth, light in _sample_lights():
        if truth != "green":
            assert light["state"] != "green", (file, light)
        if truth == "red" and "street" in file:
            assert light["state"] == "red", (file, light)


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")), reason="models/default not shipped yet")
def test_shipped_signal_expert_reads_every_green_sample_as_green():
    # Issue 12's line "every green sample is announced as a walk signal": 01 (street) and 13
    # (night) walk through their lamp figure (lamps.py step 7), the pale LED figure framed whole.
    for file, truth, light in _sample_lights():
        if truth == "green":
            assert light["state"] == "green", (file, light)


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")), reason="models/default not shipped yet")
def test_shipped_signal_expert_does_not_walk_on_the_fresh_false_greens_the_80k_calibration_stops():
    """Two of the three false greens that the 20,000-frame operating point (reader 0.99, verifier
    0.5) gave on 23,000 fresh generated scenes (seeds 4,630,000+ and 4,660,000+, never calibrated
    on): a teal tree behind a car's window read as a walk lamp (4,631,314, reader 0.9905,
    verifier 0.51) and a pharmacy cross at night (4,668,666, truth: a yellow vehicle signal). The
    80,000-frame operating point (models/default/NOTES.md, 2026-12-03 evening) says neither is walk.
    The third, a glowing green ellipse read through the whole frame at verifier 0.905, still walks
    at the verifier's 0.896: the NOTES name it as the open lead. Also an unlit walk lamp close up
    (4,633,548) that a retrained verifier at reader 0.9925 walked on (NOTES, 2026-12-04): the
    shipped pair holds it."""
    import numpy as np

    from lttw.artifact import Predictor
    from lttw.generator import generate
    pred = Predictor(MODEL)
    for seed in (4_631_314, 4_668_666, 4_633_548):
        scene = generate(seed)
        assert scene.facts["light"]["state"] != "green"
        d = pred.signal.read(np.ascontiguousarray(scene.bgr[..., ::-1]))
        assert d["state"] != "green", (seed, d)

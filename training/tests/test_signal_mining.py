"""The hard-example miner keeps what the reader gets wrong or nearly wrong, and nothing the labels
cannot vouch for."""
import numpy as np

from lttw import lamps
from lttw.signal_data import NOT_SIGNAL, SKIP
from lttw.signal_mining import hard


def _cand(i):
    return lamps.Candidate(i, 0, i + 4, 4, 3, 100, 1)


def test_keeps_confident_mistakes_and_near_misses_only():
    labelled = [(_cand(0), NOT_SIGNAL), (_cand(10), NOT_SIGNAL), (_cand(20), 2), (_cand(30), 2), (_cand(40), SKIP),
                (_cand(50), NOT_SIGNAL)]
    p = np.array([
        [0.95, 0.01, 0.02, 0.0, 0.0, 0.02],   # background read as background: easy, dropped
        [0.40, 0.0, 0.55, 0.0, 0.0, 0.05],    # background read as a walk signal: kept
        [0.01, 0.0, 0.98, 0.0, 0.0, 0.01],    # green read green: easy, dropped
        [0.30, 0.0, 0.60, 0.0, 0.0, 0.10],    # green read weakly: kept
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],       # unlabelled: never kept, whatever the reader says
        [0.65, 0.0, 0.0, 0.35, 0.0, 0.0],     # background with a third of a red lamp: kept
    ])
    kept = hard(labelled, p, min_mass=0.3)
    assert [(k.x0, y) for k, y in kept] == [(10, NOT_SIGNAL), (30, 2), (50, NOT_SIGNAL)]


def test_green_below_the_operating_threshold_is_hard_when_asked():
    """A walk signal read at 0.98 is never announced under a 0.998 threshold: round 3 mines it."""
    labelled = [(_cand(0), 2), (_cand(10), 1)]
    p = np.array([
        [0.01, 0.0, 0.98, 0.0, 0.0, 0.01],    # green at 0.98
        [0.01, 0.98, 0.0, 0.0, 0.0, 0.01],    # red at 0.98: the red criterion stays 0.9
    ])
    assert hard(labelled, p, min_mass=0.3) == []
    assert [(k.x0, y) for k, y in hard(labelled, p, min_mass=0.3, green_hard=0.998)] == [(0, 2)]


def test_unlit_scenes_are_close_ups_tiny_crops_and_ground_views_with_no_lamp_lit():
    """`--scenes unlit` keeps exactly the frames whose whole-frame candidate shows no lit lamp."""
    from lttw.generator import generate
    from lttw.signal_mining import unlit_closeup
    seen = set()
    for seed in range(4_440_000, 4_440_300):
        scene = generate(seed)
        framing, state = scene.facts["conditions"]["framing"], scene.facts["light"]["state"]
        keep = unlit_closeup(scene)
        assert keep == (framing in ("closeup", "tiny", "ground") and state in ("off", "none"))
        seen.add((keep, framing))
    assert (True, "closeup") in seen and (False, "closeup") in seen and (False, "street") in seen

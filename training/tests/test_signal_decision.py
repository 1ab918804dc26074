"""The signal expert's frame decision (lttw.signal_model.decide): the safety rules, one by one.
Swift's SignalDecision mirrors it; Tests/PipelineTests/SignalDecisionTests.swift checks the same cases."""
import numpy as np

from lttw.lamps import Candidate
from lttw.signal_model import decide

THR = {"signal": 0.5, "abstain": 0.5, "green": 0.95, "red_veto": 0.3}
W = 600


def cand(x, whole=False):
    return Candidate(x, 100, x + 10, 120, 3, 100, 1, whole)


def probs(*rows):
    """rows of (not_signal, ped_red, ped_green, veh_red, veh_yellow, veh_green)."""
    p = np.asarray(rows, np.float64)
    assert np.allclose(p.sum(1), 1)
    return p


def test_no_candidates_is_no_signal():
    assert decide(np.zeros((0, 6)), [], W, THR)["state"] == "none"


def test_nothing_lit_is_no_signal_with_its_confidence():
    d = decide(probs((0.9, 0.05, 0.05, 0, 0, 0), (0.7, 0.1, 0.1, 0.1, 0, 0)), [cand(10), cand(300)], W, THR)
    assert d["state"] == "none"
    assert abs(d["confidence"] - 0.7) < 1e-12


def test_confident_pedestrian_green_is_green_with_kind_and_position():
    d = decide(probs((0.01, 0.0, 0.99, 0, 0, 0)), [cand(500)], W, THR)
    assert (d["state"], d["kind"], d["position"]) == ("green", "pedestrian", "right")


def test_green_below_threshold_is_unknown():
    d = decide(probs((0.05, 0.02, 0.93, 0, 0, 0)), [cand(300)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "green below threshold"


def test_a_faint_red_pedestrian_lamp_anywhere_vetoes_green():
    # The red candidate is not even lit (signal 0.4 < 0.5), but 0.35 of red is enough to veto.
    d = decide(probs((0.005, 0.0, 0.995, 0, 0, 0), (0.6, 0.35, 0.05, 0, 0, 0)), [cand(300), cand(50)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "a red lamp in view"


def test_pedestrian_red_and_green_together_is_unknown():
    # The green is the strongest: the red lamp vetoes it.
    d = decide(probs((0.01, 0.0, 0.99, 0, 0, 0), (0.02, 0.98, 0.0, 0, 0, 0)), [cand(300), cand(50)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "a red lamp in view"
    # The red is the strongest: a confident green beside it makes it unknown.
    d = decide(probs((0.02, 0.0, 0.98, 0, 0, 0), (0.01, 0.99, 0.0, 0, 0, 0)), [cand(300), cand(50)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "candidates disagree"


def test_red_beside_a_weak_green_is_red():
    d = decide(probs((0.01, 0.99, 0.0, 0, 0, 0), (0.3, 0.0, 0.7, 0, 0, 0)), [cand(300), cand(50)], W, THR)
    assert d["state"] == "red"


def test_pedestrian_signal_wins_over_a_red_vehicle_light():
    # Cross traffic has red while the pedestrians have green: the vehicle red neither disagrees
    # (it is not in the chosen pedestrian set) nor vetoes (the veto looks at pedestrian red).
    d = decide(probs((0.01, 0.0, 0.99, 0, 0, 0), (0.01, 0.0, 0.0, 0.99, 0, 0)), [cand(300), cand(50)], W, THR)
    assert (d["state"], d["kind"]) == ("green", "pedestrian")


def test_vehicle_green_with_a_vehicle_red_or_yellow_is_unknown():
    d = decide(probs((0.01, 0, 0, 0, 0, 0.99), (0.01, 0, 0, 0.99, 0, 0)), [cand(300), cand(50)], W, THR)
    assert d["state"] == "unknown"
    d = decide(probs((0.01, 0, 0, 0, 0, 0.99), (0.02, 0, 0, 0, 0.98, 0)), [cand(300), cand(50)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "a red lamp in view"


def test_red_needs_its_mass_over_abstain():
    d = decide(probs((0.1, 0.45, 0.15, 0.0, 0.3, 0.0)), [cand(300)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "unsure"
    d = decide(probs((0.1, 0.8, 0.1, 0, 0, 0)), [cand(300)], W, THR)
    assert (d["state"], d["kind"], d["position"]) == ("red", "pedestrian", "ahead")


def test_the_strongest_signal_is_chosen_and_the_whole_frame_is_ahead():
    d = decide(probs((0.3, 0.7, 0, 0, 0, 0), (0.05, 0.95, 0, 0, 0, 0)), [cand(10), cand(0, whole=True)], W, THR)
    assert d["candidate"] == 1 and d["position"] == "ahead" and d["state"] == "red"

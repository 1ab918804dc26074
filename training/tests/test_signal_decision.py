"""The signal expert's frame decision (lttw.signal_model.decide): the safety rules, one by one.
Swift's SignalDecision mirrors it; Tests/PipelineTests/SignalDecisionTests.swift checks the same cases."""
import numpy as np

from lttw import lamps
from lttw.lamps import Candidate
from lttw.signal_model import (SignalExpertRunner, confirm_disagreement, confirm_green, confirm_standby, confirm_veto,
                               confirm_verified, confirm_verified_standby, decide, held_green, no_colour, sets_aside,
                               standby_after)

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


def test_no_colour_turns_no_signal_and_green_into_unknown():
    none = decide(np.zeros((0, 6)), [], W, THR)
    assert no_colour(none, False, False) == none
    d = no_colour(none, True, True)
    assert (d["state"], d["why"], d["confidence"]) == ("unknown", "no colour in the frame", 0.0)
    assert not sets_aside(d, {**THR, "set_aside": 0.5})
    walk = decide(probs((0.005, 0, 0.995, 0, 0, 0)), [cand(300)], W, THR)
    assert walk["state"] == "green"
    assert (no_colour(walk, True, True)["state"], no_colour(walk, True, True)["why"]) == ("unknown", "no colour in the frame")
    for rows in ([(0.05, 0.95, 0, 0, 0, 0)], [(0.3, 0.4, 0.3, 0, 0, 0)], [(0.1, 0, 0, 0, 0.9, 0)]):
        d = decide(probs(*rows), [cand(300)], W, THR)
        assert no_colour(d, True, True) == d


def test_colour_only_noise_turns_no_signal_into_unknown_but_not_a_walk():
    none = decide(np.zeros((0, 6)), [], W, THR)
    d = no_colour(none, False, True)
    assert (d["state"], d["why"], d["confidence"]) == ("unknown", "no colour in the frame", 0.0)
    walk = decide(probs((0.005, 0, 0.995, 0, 0, 0)), [cand(300)], W, THR)
    assert no_colour(walk, False, True) == walk
    for rows in ([(0.05, 0.95, 0, 0, 0, 0)], [(0.1, 0, 0, 0, 0.9, 0)]):
        d = decide(probs(*rows), [cand(300)], W, THR)
        assert no_colour(d, False, True) == d


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


def sized(x, side):
    return Candidate(x, 100, x + side // 2, 100 + side, 3, 100, 1, False)


def test_with_red_veto_side_a_red_speck_under_that_fraction_of_the_walk_lamp_does_not_veto():
    thr = {**THR, "red_veto_side": 1 / 3}
    p = probs((0.005, 0.0, 0.995, 0, 0, 0), (0.2, 0.8, 0.0, 0, 0, 0))
    assert decide(p, [sized(300, 60), sized(50, 19)], W, thr)["state"] == "green"
    assert decide(p, [sized(300, 60), sized(50, 20)], W, thr)["why"] == "a red lamp in view"
    assert decide(p, [sized(300, 60), sized(50, 19)], W, THR)["why"] == "a red lamp in view"


def test_red_veto_side_compares_with_the_smallest_lamp_that_could_become_the_walk_lamp():
    # The best green is 90 px, a standby green 30 px: a 12 px red (over a third of the standby)
    # vetoes, since the standby could take over as the walk lamp.
    p = probs((0.005, 0.0, 0.995, 0, 0, 0), (0.01, 0.0, 0.99, 0, 0, 0), (0.2, 0.8, 0.0, 0, 0, 0))
    d = decide(p, [sized(300, 90), sized(400, 30), sized(50, 12)], W, {**THR, "red_veto_side": 1 / 3})
    assert d["why"] == "a red lamp in view" and d["vetoers"] == [2]


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


def test_green_stands_only_when_every_confirmation_view_reads_green():
    d = decide(probs([0.01, 0, 0.99, 0, 0, 0]), [cand(300)], W, THR)
    assert d["state"] == "green"
    kept = confirm_green(d, np.array([0.98, 0.97, 0.99, 0.96, 0.99, 0.98]), THR)
    assert kept["state"] == "green" and kept["confidence"] == 0.96
    lost = confirm_green(d, np.array([0.98, 0.97, 0.99, 0.40, 0.99, 0.98]), THR)
    assert lost["state"] == "unknown" and lost["why"] == "green not confirmed by every view"
    assert lost["confidence"] == 0.40


def test_a_confirmed_green_stands_only_when_the_verifier_reaches_its_threshold():
    thr = {**THR, "verify": 0.8}
    d = confirm_green(decide(probs([0.01, 0, 0.99, 0, 0, 0]), [cand(300)], W, thr), np.array([0.97]), thr)
    kept = confirm_verified(d, 0.9, thr)
    assert kept["state"] == "green" and kept["verified"] == 0.9 and kept["confidence"] == 0.97
    lost = confirm_verified(d, 0.79, thr)
    assert lost["state"] == "unknown" and lost["why"] == "green not verified"
    unconfirmed = confirm_green(d, np.array([0.4]), thr)
    assert confirm_verified(unconfirmed, 1.0, thr) == unconfirmed
    red = decide(probs([0.01, 0.99, 0, 0, 0, 0]), [cand(300)], W, thr)
    assert confirm_verified(red, 1.0, thr) == red


def test_a_later_standby_the_verifier_passes_is_walk_when_it_turned_down_the_walk_lamp():
    # The whole frame of a close-up outranks the lamp's own blob by a hair; both read green and
    # hold in their views, the verifier turns the whole frame down and passes the blob.
    thr = {**THR, "verify": 0.5}
    p = probs([0.0001, 0, 0.9999, 0, 0, 0], [0.3, 0, 0.7, 0, 0, 0], [0.001, 0, 0.999, 0, 0, 0], [0.002, 0, 0.998, 0, 0, 0])
    cands = [cand(0, whole=True), cand(50), cand(500), cand(300)]
    d = decide(p, cands, W, thr)
    assert (d["candidate"], d["standby"]) == (0, [2, 3])
    turned_down = confirm_verified(confirm_green(d, np.array([0.99]), thr), 0.31, thr)
    assert turned_down["why"] == "green not verified" and standby_after(turned_down) == [2, 3]
    # Candidate 2 holds but the verifier turns it down too; candidate 3 passes both.
    walk = confirm_verified_standby(turned_down, [(2, 0.97, 0.2), (3, 0.96, 0.73)], cands, W, thr)
    assert walk["state"] == "green" and "why" not in walk
    assert (walk["candidate"], walk["position"], walk["confidence"], walk["verified"], walk["turned_down"]) == (3, "ahead", 0.96, 0.73, 0)
    # A standby that does not hold is not walk, whatever the verifier says (it is not read: None).
    assert confirm_verified_standby(turned_down, [(2, 0.94, None), (3, 0.5, None)], cands, W, thr) == turned_down
    assert confirm_verified_standby(turned_down, [(2, 0.97, 0.49)], cands, W, thr) == turned_down
    # Only a standby of the lamp turned down can take its place (candidate 1 reads 0.7: no standby).
    assert confirm_verified_standby(turned_down, [(1, 0.99, 0.99)], cands, W, thr) == turned_down
    # A standby that won the walk lamp's place and was turned down: only those after it are left.
    failed = confirm_standby(confirm_green(d, np.array([0.4]), thr), [(2, 0.97)], cands, W, thr)
    assert failed["candidate"] == 2 and standby_after(confirm_verified(failed, 0.1, thr)) == [3]
    # Every other decision passes unchanged: a verified walk, a green not confirmed, a red.
    verified = confirm_verified(confirm_green(d, np.array([0.99]), thr), 0.9, thr)
    assert confirm_verified_standby(verified, [(3, 0.99, 0.99)], cands, W, thr) == verified
    unconfirmed = confirm_green(d, np.array([0.4]), thr)
    assert confirm_verified_standby(unconfirmed, [(3, 0.99, 0.99)], cands, W, thr) == unconfirmed
    red = decide(probs([0.01, 0.99, 0, 0, 0, 0]), [cand(300)], W, thr)
    assert confirm_verified_standby(red, [(0, 0.99, 0.99)], [cand(300)], W, thr) == red


def test_confirmation_leaves_every_other_decision_alone():
    red = decide(probs([0.01, 0.99, 0, 0, 0, 0]), [cand(300)], W, THR)
    assert confirm_green(red, np.zeros(6), THR) == red


def test_confirmation_views_are_the_crop_resized_and_moved():
    k = Candidate(100, 50, 110, 70, 3, 100, 1)  # 10×20: the usual crop is 80 px square
    W_, H_ = 640, 480
    x0, y0, side, _ = lamps.crop_rect(k, W_, H_)
    assert side == 80
    rects = lamps.confirmation_rects(k, W_, H_)
    assert len(rects) == len(lamps.CONFIRMATION_VIEWS)
    assert rects[0][2] == 60 and rects[1][2] == 100  # 3× and 5× the longer side
    for r in rects[:2]:  # centred on the box like the usual crop
        assert r[0] + r[2] // 2 == 105 and r[1] + r[3] // 2 == 60
    assert rects[2:] == [(x0 + 8, y0, 80, 80), (x0 - 8, y0, 80, 80), (x0, y0 + 8, 80, 80), (x0, y0 - 8, 80, 80)]
    whole = lamps.confirmation_rects(Candidate(0, 0, W_, H_, 0, -1, 0, True), W_, H_)
    assert whole == [(40, 30, 560, 420), (20, 15, 600, 450), (40, 0, 600, 480), (0, 0, 600, 480), (0, 30, 640, 450),
                     (0, 0, 640, 450)]
    for x, y, w, h in whole:  # never past the frame: the whole-frame crops were only ever trimmed
        assert x >= 0 and y >= 0 and x + w <= W_ and y + h <= H_


def test_a_red_stands_when_the_green_beside_it_fails_its_views():
    p = probs([0.01, 0.99, 0, 0, 0, 0], [0.02, 0, 0.98, 0, 0, 0])
    d = decide(p, [cand(300), cand(50)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "candidates disagree" and d["greens"] == [1]
    assert confirm_disagreement(d, [0.97], THR) == d  # the green holds in every view: still unknown
    stands = confirm_disagreement(d, [0.40], THR)
    assert stands["state"] == "red" and "why" not in stands and stands["candidate"] == 0


def test_a_red_vetoes_only_when_it_holds_in_half_its_views_and_the_green_then_needs_its_own():
    p = probs([0.005, 0, 0.995, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0])
    d = decide(p, [cand(300), cand(50), cand(500)], W, THR)
    assert d["state"] == "unknown" and d["why"] == "a red lamp in view" and d["vetoers"] == [1, 2]
    weak = np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1])           # red in 1 of 6 views: a tail light
    half = np.array([0.3, 0.31, 0.5, 0.0, 0.29, 0.1])         # red in 3 of 6 views: a red lamp
    assert confirm_veto(d, [weak, half], THR) == d            # one red holds in half its views: still vetoed
    dipping = np.array([0.16, 0.8, 0.8, 0.8, 0.8, 0.8])       # a real red that dips in one view still vetoes
    assert confirm_veto(d, [weak, dipping], THR) == d
    lifted = confirm_veto(d, [weak, np.array([0.29, 0.31, 0.4, 0.0, 0.0, 0.0])], THR)  # 2 of 6
    assert lifted["state"] == "green" and "why" not in lifted and "vetoers" not in lifted
    assert lifted["candidate"] == 0 and lifted["confidence"] == d["confidence"]
    # Lifted, the green still has to hold in its own views.
    assert confirm_green(lifted, np.array([0.4]), THR)["why"] == "green not confirmed by every view"
    # A vehicle green's veto counts red + yellow; every other decision passes unchanged.
    v = decide(probs((0.01, 0, 0, 0, 0, 0.99), (0.4, 0, 0, 0.2, 0.4, 0)), [cand(300), cand(50)], W, THR)
    assert v["vetoers"] == [1] and confirm_veto(v, [np.full(6, 0.3)], THR) == v
    red = decide(probs([0.01, 0.99, 0, 0, 0, 0]), [cand(300)], W, THR)
    assert confirm_veto(red, [], THR) == red


def test_a_standby_green_is_walk_when_the_strongest_green_fails_its_views():
    # A bright green sign outshines the walk lamp (signal 0.999 vs 0.99); both read green >= 0.95.
    p = probs([0.001, 0, 0.999, 0, 0, 0], [0.3, 0, 0.7, 0, 0, 0], [0.01, 0, 0.99, 0, 0, 0])
    cands = [cand(300), cand(50), cand(500)]
    d = decide(p, cands, W, THR)
    assert d["state"] == "green" and d["candidate"] == 0 and d["standby"] == [2]  # 0.7 is no standby
    failed = confirm_green(d, np.array([0.4]), THR)
    walk = confirm_standby(failed, [(2, 0.96)], cands, W, THR)
    assert walk["state"] == "green" and "why" not in walk
    assert (walk["candidate"], walk["position"], walk["confidence"]) == (2, "right", 0.96)
    assert confirm_standby(failed, [(2, 0.94)], cands, W, THR) == failed  # the standby fails too: unknown
    # A confirmed best, a vetoed green and a green below the threshold are left alone.
    assert confirm_standby(confirm_green(d, np.array([0.99]), THR), [(2, 0.99)], cands, W, THR)["candidate"] == 0
    vetoed = decide(probs([0.001, 0, 0.999, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0], [0.01, 0, 0.99, 0, 0, 0]), cands, W, THR)
    assert vetoed["why"] == "a red lamp in view" and confirm_standby(vetoed, [(2, 0.99)], cands, W, THR) == vetoed
    weak = decide(probs([0.001, 0, 0.9, 0.099, 0, 0], [0.01, 0, 0.99, 0, 0, 0]), cands[:2], W, THR)
    assert weak["why"] == "green below threshold" and "standby" not in weak


def test_a_standby_is_never_a_lamp_of_the_other_set():
    # Pedestrian candidates are chosen: a vehicle green is no standby for a pedestrian walk.
    p = probs([0.001, 0, 0.999, 0, 0, 0], [0.01, 0, 0, 0, 0, 0.99])
    d = decide(p, [cand(300), cand(500)], W, THR)
    assert d["state"] == "green" and d["kind"] == "pedestrian" and "standby" not in d


class _Verifier:
    """A verifier that reads each candidate (by its x) at a fixed green."""

    def __init__(self, greens):
        self.greens = greens

    def smallest_green(self, rgb, k):
        return self.greens[k.x0]


class _StubbedRunner(SignalExpertRunner):
    """SignalExpertRunner.decide_frame with fixed green reads per candidate (one number: the same
    in its own read and every view; or its seven reads) and a fixed verifier: no model is read."""

    def __init__(self, view_greens, verifier_greens):
        self.view_greens = view_greens
        self.thr, self.confirmation = {**THR, "verify": 0.8}, True
        self.verifier = _Verifier(verifier_greens)

    def green_reads(self, rgb, cands, p, n):
        reads = np.asarray(self.view_greens[n], np.float64)
        return np.full(1 + len(lamps.CONFIRMATION_VIEWS), reads) if reads.ndim == 0 else reads


def test_the_runner_verifies_the_walk_candidate_and_only_verified_greens_disagree():
    rgb = np.zeros((200, W, 3), np.uint8)
    cands = [cand(300), cand(50)]
    thr = {**THR, "verify": 0.8}
    green = probs([0.01, 0, 0.99, 0, 0, 0], [0.9, 0.05, 0.05, 0, 0, 0])
    said = _StubbedRunner([0.97, 0.0], {300: 0.9, 50: 0.0}).decide_frame(rgb, cands, green, thr)
    assert said["state"] == "green" and said["verified"] == 0.9
    turned_down = _StubbedRunner([0.97, 0.0], {300: 0.5, 50: 0.0}).decide_frame(rgb, cands, green, thr)
    assert turned_down["state"] == "unknown" and turned_down["why"] == "green not verified"
    # A red with a green beside it that holds in its views: unknown only when the verifier agrees.
    red = probs([0.01, 0.98, 0.01, 0, 0, 0], [0.02, 0.0, 0.98, 0, 0, 0])
    assert _StubbedRunner([0.0, 0.97], {300: 0.0, 50: 0.9}).decide_frame(rgb, cands, red, thr)["why"] == "candidates disagree"
    assert _StubbedRunner([0.0, 0.97], {300: 0.0, 50: 0.5}).decide_frame(rgb, cands, red, thr)["state"] == "red"


def test_held_green_sets_aside_the_lowest_reads():
    reads = [0.99, 0.97, 0.5, 0.995, 0.96, 0.99, 0.98]
    assert held_green(reads) == 0.5
    assert held_green(reads, 1) == 0.96
    assert held_green(reads, 2) == 0.97


def test_view_misses_lets_one_short_view_pass_and_never_two():
    rgb = np.zeros((200, W, 3), np.uint8)
    cands = [cand(300)]
    green = probs([0.01, 0, 0.99, 0, 0, 0])
    one_short = [[0.99, 0.99, 0.99, 0.5, 0.99, 0.99, 0.99]]
    two_short = [[0.99, 0.99, 0.99, 0.5, 0.99, 0.6, 0.99]]
    every_view = {**THR, "verify": 0.8}
    one_miss = {**every_view, "view_misses": 1}
    strict = _StubbedRunner(one_short, {300: 0.9}).decide_frame(rgb, cands, green, every_view)
    assert strict["state"] == "unknown" and strict["why"] == "green not confirmed by every view"
    relaxed = _StubbedRunner(one_short, {300: 0.9}).decide_frame(rgb, cands, green, one_miss)
    assert relaxed["state"] == "green" and relaxed["confidence"] == 0.99
    assert _StubbedRunner(two_short, {300: 0.9}).decide_frame(rgb, cands, green, one_miss)["state"] == "unknown"
    # The verifier is never relaxed: a green that holds but does not convince it stays unsaid.
    assert _StubbedRunner(one_short, {300: 0.5}).decide_frame(rgb, cands, green, one_miss)["why"] == "green not verified"


def test_a_candidate_set_aside_takes_no_part():
    pair = [cand(300), cand(50)]
    p = probs([0.1, 0, 0.88, 0, 0, 0.02], [0.1, 0.9, 0, 0, 0, 0])
    doubt = decide(p, pair, W, THR)
    assert doubt["why"] == "green below threshold" and sets_aside(doubt, {**THR, "set_aside": 0.5})
    assert not sets_aside(doubt, THR)  # a model without thresholds.set_aside never takes the second look
    red = decide(p, pair, W, THR, set_aside=(0,))
    assert red["state"] == "red" and red["candidate"] == 1
    vetoed = probs([0.005, 0, 0.995, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0])
    assert decide(vetoed, pair, W, THR)["why"] == "a red lamp in view"
    assert decide(vetoed, pair, W, THR, set_aside=(1,))["state"] == "green"
    alone = decide(p[:1], pair[:1], W, THR, set_aside=(0,))
    assert alone["state"] == "none" and alone["confidence"] == 1.0
    assert not sets_aside(decide(probs([0.3, 0.4, 0.3, 0, 0, 0]), pair[:1], W, THR), {**THR, "set_aside": 0.5})


def test_the_second_look_sets_aside_a_green_the_verifier_calls_no_lamp_and_never_makes_a_green_by_itself():
    rgb = np.zeros((200, W, 3), np.uint8)
    cands = [cand(300), cand(50)]
    thr = {**THR, "verify": 0.8, "set_aside": 0.5}
    tinted = probs([0.1, 0, 0.88, 0, 0, 0.02], [0.1, 0.9, 0, 0, 0, 0])
    red = _StubbedRunner([0.0, 0.0], {300: 0.2, 50: 0.0}).decide_frame(rgb, cands, tinted, thr)
    assert red["state"] == "red" and red["set_aside"] == 0 and red["set_aside_verified"] == 0.2
    # Nothing else lit: the doubt stands, the frame is never declared empty on the verifier's word.
    alone = _StubbedRunner([0.0], {300: 0.1}).decide_frame(rgb, cands[:1], tinted[:1], thr)
    assert alone["state"] == "unknown" and alone["why"] == "green below threshold" and "set_aside" not in alone
    # Even odds or more: the doubt stands.
    kept = _StubbedRunner([0.0, 0.0], {300: 0.6, 50: 0.0}).decide_frame(rgb, cands, tinted, thr)
    assert kept["state"] == "unknown" and "set_aside" not in kept
    # The second look never ends at walk: a green found only once the rejected one is gone (here a
    # vehicle green, no standby of the pedestrian walk lamp), even one that holds in its views and
    # convinces the verifier, leaves the doubt standing.
    outshone = probs([0.01, 0, 0.99, 0, 0, 0], [0.02, 0, 0, 0, 0, 0.98])
    walk = _StubbedRunner([0.97, 0.97], {300: 0.1, 50: 0.9}).decide_frame(rgb, cands, outshone, thr)
    assert walk["state"] == "unknown" and walk["why"] == "green not verified" and walk["candidate"] == 0 and "set_aside" not in walk
    # A standby of the walk lamp (a pedestrian green at the threshold in the first decision) that
    # holds and convinces the verifier is the walk lamp (confirm_verified_standby), before any
    # second look; one the verifier turns down too leaves the doubt standing.
    standby = probs([0.01, 0, 0.99, 0, 0, 0], [0.02, 0, 0.98, 0, 0, 0])
    walk = _StubbedRunner([0.97, 0.97], {300: 0.1, 50: 0.9}).decide_frame(rgb, cands, standby, thr)
    assert (walk["state"], walk["candidate"], walk["turned_down"], walk["verified"]) == ("green", 1, 0, 0.9)
    doubt = _StubbedRunner([0.97, 0.97], {300: 0.1, 50: 0.7}).decide_frame(rgb, cands, standby, thr)
    assert doubt["state"] == "unknown" and doubt["why"] == "green not verified" and doubt["candidate"] == 0
    # A yellow behind it stands.
    amber = probs([0.01, 0, 0.99, 0, 0, 0], [0.05, 0, 0, 0.05, 0.9, 0])
    yellow = _StubbedRunner([0.97, 0.0], {300: 0.1, 50: 0.0}).decide_frame(rgb, cands, amber, thr)
    assert yellow["state"] == "yellow" and yellow["set_aside"] == 0


def figure(x):
    """The figure (lamps.figures) of cand(x): the 40 px square on its 10×20 box."""
    return Candidate(x - 15, 90, x + 25, 130, 3, 100, lamps.FIGURE_SCALE)


def test_a_figure_can_add_a_walk_and_never_a_doubt():
    rgb = np.zeros((200, W, 3), np.uint8)
    thr = {**THR, "verify": 0.8}
    cands = [cand(300), figure(300)]
    # The blob reads a weak green; its figure, the whole walk figure, a sure one: walk, through the figure.
    p = probs([0.2, 0, 0.8, 0, 0, 0], [0.01, 0, 0.99, 0, 0, 0])
    walk = _StubbedRunner([0.8, 0.97], {300: 0.9, 285: 0.9}).decide_frame(rgb, cands, p, thr)
    assert walk["state"] == "green" and walk["candidate"] == 1 and walk["figure_walk"]
    # The same, but the verifier turns the figure down: the decision without figures stands.
    kept = _StubbedRunner([0.8, 0.97], {300: 0.9, 285: 0.5}).decide_frame(rgb, cands, p, thr)
    assert kept["state"] == "unknown" and kept["why"] == "green below threshold" and kept["candidate"] == 0
    # A green-tinted sign: the blob is no signal, its figure reads a weak green. Without figures the
    # frame has no signal, and the figure's doubt does not make it unknown.
    tinted = probs([0.9, 0, 0.1, 0, 0, 0], [0.2, 0, 0.8, 0, 0, 0])
    assert decide(tinted, cands, W, THR)["why"] == "green below threshold"
    none = _StubbedRunner([0.1, 0.8], {300: 0.1, 285: 0.1}).decide_frame(rgb, cands, tinted, thr)
    assert none["state"] == "none" and "figure_walk" not in none


def test_a_figure_is_its_blobs_size_for_the_red_veto():
    # A red lamp of 7 px is over a third of the 20 px walk blob, under a third of its 40 px figure:
    # read through the figure, the walk lamp is still compared at its blob's size, and vetoed.
    red = Candidate(100, 50, 107, 57, 1, 100, 1)
    p = probs([0.01, 0, 0.99, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0])
    veto = {**THR, "red_veto_side": 1 / 3}
    assert figure(300).side == cand(300).side == 20
    assert decide(p, [figure(300), red], W, veto)["why"] == "a red lamp in view"


def test_a_read_that_is_not_a_number_makes_the_frame_unsure_and_fails_every_green_check():
    walk = (0.005, 0, 0.995, 0, 0, 0)
    pair = [cand(300), cand(50)]
    assert decide(np.asarray([walk, (0.9, 0.1, 0, 0, 0, 0)]), pair, W, THR)["state"] == "green"
    for broken in [(np.nan, 0, 0, 0, 0, 0), (0.5, np.nan, 0, 0, 0, 0), (0.1, 0, np.inf, 0, 0, 0)]:
        d = decide(np.asarray([walk, broken]), pair, W, THR)
        assert (d["state"], d["why"], d["candidate"]) == ("unknown", "unsure", None), broken
    # Set aside, a broken read takes no part.
    assert decide(np.asarray([walk, (np.nan, 0, 0, 0, 0, 0)]), pair, W, THR, set_aside=[1])["state"] == "green"
    green = decide(np.asarray([walk]), [pair[0]], W, THR)
    assert confirm_green(green, [0.99, np.nan], THR)["state"] == "unknown"
    assert confirm_verified(green, float("nan"), THR | {"verify": 0.9})["state"] == "unknown"
    # A NaN read holds no green; np.sort would have put it last, past the reads that count.
    assert held_green([0.99, np.nan, 0.99], misses=1) == 0.99 and held_green([0.99, np.nan, 0.99]) == 0.0
    # A stop view that is not a number holds the stop.
    vetoed = {**green, "state": "unknown", "why": "a red lamp in view", "vetoers": [1]}
    assert confirm_veto(vetoed, [np.asarray([np.nan, np.nan, np.nan, 0, 0, 0])], THR)["state"] == "unknown"

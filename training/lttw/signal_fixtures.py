"""Reference fixtures for the Swift signal expert: Tests/Fixtures/signal/.

  PYTHONPATH=training .venv/bin/python -m lttw.signal_fixtures --model models/default --out Tests/Fixtures/signal

For each scene (PNG, lossless, so decoding is exact on both sides):
  <name>.png                 input image (BGR file as written by cv2.imwrite)
  <name>.candidates.json     lamps.propose output: [x0, y0, x1, y1, colour, score, scale, whole] per candidate
  <name>.features.npy        float32 [N, 2·width] candidate embeddings (CLS, max over patches)
  <name>.geometry.npy        float32 [N, 5] candidate geometry (lamps.geometry)
  <name>.probabilities.npy   float32 [N, classes] calibrated class probabilities
  <name>.confirmation_rects.json  lamps.confirmation_rects of every candidate: [[x, y, w, h] × views] per candidate
  <name>.views.npy           float32 [views, classes] probabilities, in each confirmation view, of the candidate
                             whose views the runner read last (as the runtime's buffer holds them; only when
                             views were read)
  <name>.verifier.npy        float32 [1 + views, 2] the green verifier's probabilities of the candidate it read
                             (its square, then the confirmation views; only when the decision was verified)
  <name>.countdown.npy       float32 [17] the countdown reader's tens and ones probabilities of the announced lamp's square
                             (only when the decision is red or green and the model has a countdown reader)
  <name>.decision.json       the frame decision (SignalExpertRunner: decide, then confirm_veto / confirm_green /
                             confirm_disagreement / the verifier and the standbys after the lamp it turned down
                             (turned_down), and the second look: set_aside; figure_walk when only the decision
                             with the figures walks)
index.json lists the scenes, the model's checksum-free settings and the tolerance the tests use.
"""
import argparse
import json
import os

import cv2
import numpy as np
import torch

from . import lamps
from .artifact import load_artifact
from .generator import generate
from .countdown import CountdownReader
from .green_verifier import GreenVerifier, verifier_crops
from .signal_model import SignalExpertRunner, decide

SCENES = [
    ("red_closeup", 3_200_000, lambda f: f["light"]["state"] == "red" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup"),
    ("green_closeup", 3_200_100, lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup"),
    ("green_street", 3_200_200, lambda f: f["light"]["state"] == "green" and f["conditions"]["framing"] == "street"),
    ("vehicle_tiny", 3_200_300, lambda f: f["light"]["kind"] == "vehicle" and f["light"]["state"] in ("red", "yellow") and f["conditions"]["framing"] == "tiny"),
    ("no_signal_street", 3_200_400, lambda f: f["light"]["state"] == "none" and f["conditions"]["framing"] == "street"),
    # A walk signal the model announces: the green confirmation's views are read and compared.
    ("green_walk", 3_200_500, lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian"),
    # A green that a stop lamp vetoes on its first read, and the veto lifted because that stop
    # does not hold in half of its views: the stop's views are read, then the green's.
    ("veto_lifted", 3_200_600, lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian"),
    # A green whose veto holds: a stop lamp reads as one in at least half of its views.
    ("veto_held", 3_200_700, lambda f: f["light"]["kind"] == "pedestrian"),
    # A walk lamp outshone by another green-reading candidate that fails its views: the standby
    # holds in every view and is announced.
    ("standby_walk", 3_200_800, lambda f: f["light"]["state"] == "green"),
    # With a green verifier: a green that held in every view and that the verifier turned down.
    ("green_not_verified", 3_200_900, lambda f: True),
    # With a green verifier: a walk lamp it passes after turning down the green before it (the
    # strongest, or a standby that held in its views).
    ("verified_standby_walk", 3_201_500, lambda f: f["light"]["state"] == "green"),
    # With thresholds.red_veto_side: a red speck that would veto at every size and is too small
    # beside the walk lamp to.
    ("small_stop_ignored", 3_201_000, lambda f: f["light"]["state"] == "green"),
    # With thresholds.view_misses: a walk lamp that one confirmation view reads short of the
    # threshold, announced all the same (with every view required it would not be).
    ("view_miss_held", 3_201_100, lambda f: f["light"]["state"] == "green"),
    # With thresholds.set_aside: a frame left unknown by a green-reading candidate the verifier
    # calls no lamp, read as the stop lamp behind it on the second look.
    ("second_look_stop", 3_201_200, lambda f: f["light"]["state"] in ("red", "yellow")),
    # With figures (lamps.figures): a walk lamp said only through a green blob's figure, the
    # frame decided without the figures being no walk.
    ("figure_walk", 3_201_300, lambda f: f["light"]["state"] == "green"),
    # A figure that would be the strongest candidate and leave the frame unknown, kept out of the
    # decision: figures can add a walk, never a doubt.
    ("figure_doubt_ignored", 3_201_400, lambda f: f["light"]["state"] != "green"),
    # With a countdown reader: a walk lamp whose countdown it reads (the seconds said).
    ("countdown_walk", 3_201_600, lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian"),
    # With a green verifier: the greenest non-green frame of the calibration (the unlit close-ups
    # of green_verifier_train.unlit_jobs), a green pharmacy cross the shipped reader calls a walk
    # lamp and only the verifier's bar turns down, at the generator's own size (at 480 px the
    # reader finds no lamp in it). Always this seed, whatever a later model decides on it.
    ("pharmacy_cross", 4_782_171, lambda f: f["light"]["state"] == "none"),
    # A grey render of a lit signal the proposer cannot see (lamps step 9): decided "none", read
    # "unknown", why "no colour in the frame" (signal_model.no_colour).
    ("colourless", 3_201_700, lambda f: f["light"]["state"] in ("red", "green")),
    # A grey render with colour noise that passes step 9 but not step 10 (lamps.colour_is_noise),
    # of a lit signal: decided "none", read "unknown", why "no colour in the frame".
    ("colour_noise", 3_201_800, lambda f: f["light"]["state"] in ("red", "green")),
]
# The long side the scenes are drawn at where it is not 480 px (None: the generator's own).
LONG_SIDE = {"pharmacy_cross": None}
# Scenes drawn grey (the others are never grey): the frame shows no colour at all (step 9), or only
# colour noise (step 10).
GREY = {"colourless", "colour_noise"}
# Scenes that are kept only when the decision is of this kind (the first such seed): a test of
# (decide's first decision, the runner's final one, decide's first decision with every stop lamp
# vetoing whatever its size, the runner's final one with every view required).
DECIDED = {
    "green_walk": lambda first, final, every_size, every_view, cands: final["state"] == "green",
    "veto_lifted": lambda first, final, every_size, every_view, cands: first.get("why") == "a red lamp in view" and final.get("why") != "a red lamp in view",
    "veto_held": lambda first, final, every_size, every_view, cands: first.get("why") == "a red lamp in view" and final.get("why") == "a red lamp in view",
    "standby_walk": lambda first, final, every_size, every_view, cands: final["state"] == "green" and final["candidate"] != first.get("candidate"),
    "green_not_verified": lambda first, final, every_size, every_view, cands: final.get("why") == "green not verified",
    # Not through a figure: the Swift test finds the announced lamp among the standbys of the
    # decision without the figures.
    "verified_standby_walk": lambda first, final, every_size, every_view, cands: "turned_down" in final and not final.get("figure_walk", False),
    "small_stop_ignored": lambda first, final, every_size, every_view, cands: every_size.get("why") == "a red lamp in view" and first.get("why") is None,
    "view_miss_held": lambda first, final, every_size, every_view, cands: final["state"] == "green" and every_view.get("why") == "green not confirmed by every view",
    "second_look_stop": lambda first, final, every_size, every_view, cands: "set_aside" in final,
    "figure_walk": lambda first, final, every_size, every_view, cands: final.get("figure_walk", False),
    "countdown_walk": lambda first, final, every_size, every_view, cands: final["state"] == "green",
    "colourless": lambda first, final, every_size, every_view, cands: final["state"] == "none",
    "colour_noise": lambda first, final, every_size, every_view, cands: final["state"] == "none",
    "figure_doubt_ignored": lambda first, final, every_size, every_view, cands: (
        first["state"] == "unknown" and first.get("candidate") is not None
        and cands[first["candidate"]].is_figure and final["state"] != "unknown"),
}
# Scenes that only a model with a green verifier, a red_veto_side or view_misses can show.
NEEDS_VERIFIER = {"green_not_verified", "verified_standby_walk", "pharmacy_cross"}
NEEDS_VETO_SIDE = {"small_stop_ignored"}
NEEDS_VIEW_MISSES = {"view_miss_held"}
NEEDS_SET_ASIDE = {"second_look_stop"}
NEEDS_COUNTDOWN = {"countdown_walk"}


def pick(seed0, pred, long_side=480, grey=None):
    """The first scene from seed0 that pred accepts: with colour and more than one candidate, or
    a grey one the proposer cannot see colour in (`grey` "colourless": lamps step 9) or whose
    colour is only noise (`grey` "colour_noise": it passes step 9, not step 10)."""
    s = seed0
    while True:
        sc = generate(s, long_side=long_side)
        rgb = np.ascontiguousarray(sc.bgr[..., ::-1])
        if pred(sc.facts):
            drawn_grey = sc.facts["conditions"].get("grayscale")
            if grey == "colourless" and drawn_grey and lamps.colourless(rgb):
                return s, sc
            if grey == "colour_noise" and drawn_grey and not lamps.colourless(rgb) and lamps.colour_is_noise(rgb):
                return s, sc
            if grey is None and not drawn_grey and len(lamps.propose(rgb)) > 1:
                return s, sc
        s += 1


@torch.no_grad()
def make(model_dir, out):
    model, cfg, _ = load_artifact(model_dir)
    reader = model.signal_expert
    if reader is None:
        raise SystemExit(f"{model_dir}: no signal expert in this model")
    se = cfg["signal_expert"]
    mean = np.asarray(cfg["preprocessing"]["mean"], np.float32)
    std = np.asarray(cfg["preprocessing"]["std"], np.float32)
    # The Python reference of the runtime expert: the decision (decide, then confirm_green /
    # confirm_disagreement) and the confirmation views' probabilities come from it.
    verifier = None
    if se.get("green_verifier"):
        verifier = GreenVerifier(reader.green_verifier, se["green_verifier"]["temperature"], mean, std)
    countdown = None
    if se.get("countdown_reader"):
        cr = se["countdown_reader"]
        countdown = CountdownReader(reader.countdown_reader, cr["temperature"], cr["threshold"], mean, std, cr["context"])
    runner = SignalExpertRunner(reader, se["temperature"], se["thresholds"], mean, std,
                                confirmation=bool(se.get("green_confirmation")), verifier=verifier, countdown=countdown)
    os.makedirs(out, exist_ok=True)
    # A scene dropped since (or a verifier file a model without one would leave behind) must not linger.
    names = tuple(f"{name}." for name, _, _ in SCENES)
    for stale in os.listdir(out):
        if stale.startswith(names):
            os.remove(os.path.join(out, stale))
    index = {"tolerance": {"features": 1e-4, "probabilities": 1e-5}, "scenes": []}
    for name, seed0, pred in SCENES:
        if ((name in NEEDS_VERIFIER and verifier is None) or (name in NEEDS_VETO_SIDE and not se["thresholds"].get("red_veto_side"))
                or (name in NEEDS_VIEW_MISSES and not se["thresholds"].get("view_misses"))
                or (name in NEEDS_SET_ASIDE and not (verifier and se["thresholds"].get("set_aside")))
                or (name in NEEDS_COUNTDOWN and countdown is None)):
            continue
        long_side = LONG_SIDE.get(name, 480)
        grey = name if name in GREY else None
        seed, sc = pick(seed0, pred, long_side, grey)
        while name in DECIDED:
            rgb = np.ascontiguousarray(sc.bgr[..., ::-1])
            cands, p = runner.probabilities(rgb)
            if DECIDED[name](decide(p, cands, rgb.shape[1], se["thresholds"]), runner.decide_frame(rgb, cands, p, runner.thr),
                             decide(p, cands, rgb.shape[1], {**se["thresholds"], "red_veto_side": 0.0}),
                             runner.decide_frame(rgb, cands, p, {**runner.thr, "view_misses": 0}), cands) \
                    and (name not in NEEDS_COUNTDOWN or "seconds_left" in runner.read(rgb)):
                break
            seed, sc = pick(seed + 1, pred, long_side, grey)
            if seed - seed0 > 20_000:
                raise SystemExit(f"{name}: no scene of this kind in 20,000 seeds from {seed0}")
        path = os.path.join(out, f"{name}.png")
        cv2.imwrite(path, sc.bgr)
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        cands = lamps.propose(rgb)
        x = torch.from_numpy(lamps.read_crops(rgb, cands, mean, std))
        geometry = torch.from_numpy(lamps.read_geometry(cands, rgb.shape[1], rgb.shape[0]))
        feats = reader.features(x)
        p = torch.softmax(reader.head(feats, geometry) / float(se["temperature"]), -1)
        # The views and the verifier squares read last, as the runtime's buffers hold them: the
        # runner's reads are recorded in the order the runtime makes them (lazily, in candidate
        # order; the decision with the figures after the one without them).
        last = {}
        read_views, read_verifier = runner.view_probabilities, verifier.smallest_green if verifier else None

        def views_of(rgb_, k):
            last["views"] = k
            return read_views(rgb_, k)

        def verifier_of(rgb_, k):
            last["verifier"] = k
            return read_verifier(rgb_, k)

        runner.view_probabilities = views_of
        if verifier:
            verifier.smallest_green = verifier_of
        try:
            d = {k: v for k, v in runner.read(rgb).items() if k not in ("candidates", "box")}
        finally:
            del runner.view_probabilities
            if verifier:
                del verifier.smallest_green
        views_path = os.path.join(out, f"{name}.views.npy")
        if os.path.exists(views_path):
            os.remove(views_path)
        if "views" in last:
            np.save(views_path, read_views(rgb, last["views"]).astype(np.float32))
        if "countdown_p" in d:
            k = cands[d["candidate"]]
            np.save(os.path.join(out, f"{name}.countdown.npy"), countdown.probabilities(rgb, k).astype(np.float32))
        if "verifier" in last:
            k = last["verifier"]
            n = cands.index(k)
            np.save(os.path.join(out, f"{name}.verifier.npy"),
                    torch.softmax(reader.green_verifier(torch.from_numpy(verifier_crops(rgb, k, mean, std)),
                                                        geometry[n:n + 1].repeat(len(lamps.CONFIRMATION_VIEWS) + 1, 1))
                                  / float(se["green_verifier"]["temperature"]), -1).numpy().astype(np.float32))
        with open(os.path.join(out, f"{name}.candidates.json"), "w") as f:
            json.dump([k.as_list() for k in cands], f)
        with open(os.path.join(out, f"{name}.confirmation_rects.json"), "w") as f:
            json.dump([[list(r) for r in lamps.confirmation_rects(k, rgb.shape[1], rgb.shape[0])] for k in cands], f)
        np.save(os.path.join(out, f"{name}.features.npy"), feats.numpy().astype(np.float32))
        np.save(os.path.join(out, f"{name}.geometry.npy"), geometry.numpy())
        np.save(os.path.join(out, f"{name}.probabilities.npy"), p.numpy().astype(np.float32))
        with open(os.path.join(out, f"{name}.decision.json"), "w") as f:
            json.dump({k: v for k, v in d.items()}, f, indent=1)
        index["scenes"].append({"name": name, "seed": seed, "truth": sc.facts["light"], "candidates": len(cands), "decision": d["state"]})
        print(name, seed, sc.facts["light"]["state"], "->", d["state"], len(cands), "candidates")
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


# A MobileNetV2 verifier's batch norms are folded into its convolutions at load in Swift, one more
# float32 rounding per layer (obstacle_fixtures.MOBILENET_TOLERANCE).
MOBILENET_VERIFIER_TOLERANCE = 5e-5
MOBILENET_VERIFIER_BLOCKS = 8
MOBILENET_VERIFIER_SCENES = ["green_closeup", "figure_walk", "pharmacy_cross"]


@torch.no_grad()
def mobilenet_verifier_fixture(out: str, scenes_from: str, mean: np.ndarray, std: np.ndarray):
    """A seeded green verifier on MobileNetV2's first 8 layers (green_verifier.MobileNetVerifier)
    and its reads of the verifier squares (the candidate's own, then its confirmation views) of
    the first candidate of a few signal fixture scenes, into `out`:
      verifier.safetensors, verifier.json   the weights; config.json's green_verifier block, the
                                             scenes, the tolerance
      <scene>.json                           {"rects": [[x, y, w, h] × 1 + views], "geometry": [5]}
      <scene>.probabilities.npy              float32 [1 + views, 2] at the block's temperature
    """
    from safetensors.torch import save_file

    from .green_verifier import CROP_SIZE, MobileNetVerifier, MobileNetVerifierConfig, architecture_of, verifier_rects
    from .obstacle_fixtures import seed_batch_norms
    torch.manual_seed(11)
    verifier = MobileNetVerifier(MobileNetVerifierConfig(trunk_blocks=MOBILENET_VERIFIER_BLOCKS, token_features=8, head_hidden=16))
    reads = []
    for name in MOBILENET_VERIFIER_SCENES:
        rgb = np.ascontiguousarray(cv2.imread(os.path.join(scenes_from, f"{name}.png"), cv2.IMREAD_COLOR)[..., ::-1])
        H, W = rgb.shape[:2]
        k = lamps.propose(rgb)[0]
        rects = verifier_rects(k, W, H)
        crops = torch.from_numpy(np.stack([lamps.normalise_crop(lamps.sample_rect(rgb, r, CROP_SIZE), mean, std) for r in rects]))
        geometry = lamps.read_geometry([k], W, H)[0]
        reads.append((name, rects, crops, geometry))
    seed_batch_norms(verifier, verifier.trunk, torch.cat([c for _, _, c, _ in reads]))
    verifier.out.weight.normal_(0, 0.5)  # logits spread enough that the probabilities say something
    verifier.eval()
    temperature = 1.3
    os.makedirs(out, exist_ok=True)
    prefix = "signal.verifier."
    save_file({prefix + k: v.float().contiguous() for k, v in verifier.exported_state().items()}, os.path.join(out, "verifier.safetensors"))
    for name, rects, crops, geometry in reads:
        g = torch.from_numpy(np.repeat(geometry[None], len(crops), 0))
        p = torch.softmax(verifier(crops, g) / temperature, -1).numpy().astype(np.float32)
        np.save(os.path.join(out, f"{name}.probabilities.npy"), p)
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump({"rects": [list(map(int, r)) for r in rects], "geometry": [float(v) for v in geometry]}, f)
    block = {"architecture": architecture_of(verifier), "classes": list(verifier.c.classes), "weights_prefix": prefix,
             "temperature": temperature}
    with open(os.path.join(out, "verifier.json"), "w") as f:
        json.dump({"green_verifier": block, "scenes": MOBILENET_VERIFIER_SCENES, "tolerance": MOBILENET_VERIFIER_TOLERANCE}, f, indent=1)
    print(f"{out}: a {MOBILENET_VERIFIER_BLOCKS}-layer MobileNetV2 verifier read on {len(reads)} scenes' verifier squares")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--out", default="Tests/Fixtures/signal")
    ap.add_argument("--mobilenet_verifier", default=None, metavar="OUT",
                    help="write only a seeded MobileNetV2 green verifier's fixtures here, read on --out's scenes")
    a = ap.parse_args()
    if a.mobilenet_verifier:
        _, cfg, _ = load_artifact(a.model)
        return mobilenet_verifier_fixture(a.mobilenet_verifier, a.out, np.asarray(cfg["preprocessing"]["mean"], np.float32),
                                          np.asarray(cfg["preprocessing"]["std"], np.float32))
    make(a.model, a.out)


if __name__ == "__main__":
    main()

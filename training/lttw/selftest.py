"""Known-answer frames for a model folder (DESIGN.md safety rule 6): a red, a green and a
no-signal frame that the model reads correctly with a margin, written into the folder and listed
in config.json's `self_test`. The Swift loader reads them at every start and refuses a model that
does not reproduce them.

  PYTHONPATH=training .venv/bin/python -m lttw.selftest --model models/default

Frames are generated scenes (PNG, lossless) searched from seed 3_300_000 upward; a frame is taken
only when the model's decision equals the truth with room to spare (green at least halfway from
its threshold to 1, the others 0.1 clear of theirs), so float32
rounding between PyTorch and the Swift engine cannot flip it.
"""
import argparse
import json
import os

import cv2
import numpy as np

from .artifact import Predictor
from .generator import generate

WANT = [
    ("red", lambda f: f["light"]["state"] == "red" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup"),
    ("green", lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup"),
    ("none", lambda f: f["light"]["state"] == "none" and f["conditions"]["framing"] == "street"),
]


def clear_enough(light, want, thr):
    if light["state"] != want:
        return False
    if want == "green":
        return light["confidence"] >= thr["green"] + 0.5 * (1 - thr["green"])
    if want == "none":
        # A frame with lit blobs that are not signals: the expert must reject them, not just
        # find nothing.
        return light["confidence"] >= 1 - thr["signal"] + 0.1 and light["candidates"] >= 3
    return light["confidence"] >= thr["abstain"] + 0.1


def make(model_dir, start=3_300_000, long_side=320):
    pred = Predictor(model_dir)
    if pred.signal is None:
        raise SystemExit(f"{model_dir}: no signal expert, nothing to self-test")
    thr = pred.cfg["signal_expert"]["thresholds"]
    out_dir = os.path.join(model_dir, "selftest")
    os.makedirs(out_dir, exist_ok=True)
    answers = []
    for want, pick in WANT:
        seed = start
        while seed < start + 5000:
            sc = generate(seed, long_side=long_side)
            seed += 1
            if not pick(sc.facts) or sc.facts["conditions"].get("grayscale"):
                continue
            rel = f"selftest/{want}.png"
            cv2.imwrite(os.path.join(model_dir, rel), sc.bgr)
            light = pred.signal_light(cv2.imread(os.path.join(model_dir, rel), cv2.IMREAD_COLOR))
            if clear_enough(light, want, thr):
                answers.append({"file": rel, "light": want, "seed": seed - 1, "confidence": light["confidence"]})
                print(want, seed - 1, light)
                break
        else:
            raise SystemExit(f"{model_dir}: no generated {want} frame read clearly enough in 5000 seeds")
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    cfg["self_test"] = [{"file": a["file"], "light": a["light"]} for a in answers]
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return answers


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/default")
    a = ap.parse_args()
    make(a.model)


if __name__ == "__main__":
    main()

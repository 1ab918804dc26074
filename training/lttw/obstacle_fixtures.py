"""Reference fixtures for the Swift obstacle expert: Tests/Fixtures/obstacle/.

  PYTHONPATH=training .venv/bin/python -m lttw.obstacle_fixtures --model models/default --out Tests/Fixtures/obstacle

For each scene (PNG, lossless, so decoding is exact on both sides):
  <name>.png                 input image (BGR file as written by cv2.imwrite)
  <name>.probabilities.npy   float32 [slots, 1 + kinds] calibrated slot probabilities (obstacle_expert.probabilities)
  <name>.obstacles.json      obstacle_expert.read at the model's threshold: [{kind, position, distance, confidence}]
index.json lists the scenes, the generator's labels and the tolerance the tests use.
"""
import argparse
import json
import os

import cv2
import numpy as np
import torch

from .artifact import load_artifact
from .generator import generate
from .obstacle_expert import probabilities, read
from .preprocess import preprocess

# Seeds from the fixtures range (3,200,000–3,300,000; the signal fixtures use 3,200,000–3,201,299).
SCENES = [
    ("street_one", 3_250_000, lambda f: f["conditions"]["framing"] == "street" and len(f["obstacles"]) == 1),
    ("street_several", 3_250_100, lambda f: f["conditions"]["framing"] == "street" and len(f["obstacles"]) >= 2),
    ("ground_view", 3_250_200, lambda f: f["conditions"]["framing"] == "ground" and len(f["obstacles"]) == 1),
    ("street_empty", 3_250_300, lambda f: f["conditions"]["framing"] == "street" and not f["obstacles"]),
    ("closeup", 3_250_400, lambda f: f["conditions"]["framing"] == "closeup"),
]
TOLERANCE = 1e-5


def first_scene(start, want):
    seed = start
    while True:
        sc = generate(seed)
        if want(sc.facts):
            return seed, sc
        seed += 1


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--out", default="Tests/Fixtures/obstacle")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, cfg, _ = load_artifact(a.model)
    expert = model.obstacle_expert
    if expert is None:
        raise SystemExit(f"{a.model}: no obstacle expert in this model folder")
    oe = cfg["obstacle_expert"]
    mean = np.asarray(cfg["preprocessing"]["mean"], np.float32)
    std = np.asarray(cfg["preprocessing"]["std"], np.float32)
    os.makedirs(a.out, exist_ok=True)
    index = {"tolerance": TOLERANCE, "threshold": oe["threshold"], "temperature": oe["temperature"], "scenes": []}
    for name, start, want in SCENES:
        seed, sc = first_scene(start, want)
        path = os.path.join(a.out, f"{name}.png")
        cv2.imwrite(path, sc.bgr)
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        x = torch.from_numpy(preprocess(bgr, expert.c.image_size, mean, std))[None]
        p = probabilities(expert(x).numpy()[0], oe["temperature"])
        np.save(os.path.join(a.out, f"{name}.probabilities.npy"), p.astype(np.float32))
        found = read(p, oe["threshold"])
        with open(os.path.join(a.out, f"{name}.obstacles.json"), "w") as f:
            json.dump(found, f, indent=1)
        index["scenes"].append({"name": name, "seed": seed, "labels": sc.facts["obstacles"],
                                "read": [(o["kind"], o["position"], o["distance"]) for o in found]})
        print(name, seed, "labels", [(o["kind"], o["position"], o["distance"]) for o in sc.facts["obstacles"]],
              "read", index["scenes"][-1]["read"])
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()

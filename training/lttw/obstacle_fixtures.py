"""Reference fixtures for the Swift obstacle expert: Tests/Fixtures/obstacle/.

  PYTHONPATH=training .venv/bin/python -m lttw.obstacle_fixtures --model models/default --out Tests/Fixtures/obstacle

For each scene (PNG, lossless, so decoding is exact on both sides):
  <name>.png                 input image (BGR file as written by cv2.imwrite)
  <name>.probabilities.npy   float32 [slots, 1 + kinds] calibrated slot probabilities (obstacle_expert.probabilities)
  <name>.obstacles.json      obstacle_expert.read at the model's threshold: [{kind, position, distance, confidence}]
index.json lists the scenes, the generator's labels and the tolerance the tests use.

With --mobilenet OUT (Tests/Fixtures/obstacle_mobilenet), only a small expert on a MobileNetV2 trunk
with seeded weights and batch-norm statistics of these frames (the first 8 feature layers: the expansion-1 block,
residual and stride-2 blocks; 64 px, a 4×4 grid), read on this folder's scenes, so the Swift
trunk's arithmetic (batch norms folded at load, ReLU6 inside the depthwise kernel) is checked
whatever trunk the shipped expert has:
  expert.safetensors        its tensors under "obstacle." (as merge-obstacle writes them)
  expert.json               config.json's obstacle_expert for it
  <name>.tokens.npy         float32 [16, 64] the trunk's tokens (grid row-major)
  <name>.probabilities.npy  float32 [slots, 1 + kinds] at expert.json's temperature
"""
import argparse
import json
import os

import cv2
import numpy as np
import torch

from .artifact import load_artifact
from .generator import DISTANCES, POSITIONS, generate
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
# A MobileNetV2 trunk's batch norms are folded into its convolutions at load in Swift, one more
# float32 rounding per layer than PyTorch's two steps (worst seen 1.2e-5 on a shipped-size trunk).
MOBILENET_TOLERANCE = 5e-5
MOBILENET_SIZE, MOBILENET_BLOCKS = 64, 8


def first_scene(start, want):
    seed = start
    while True:
        sc = generate(seed)
        if want(sc.facts):
            return seed, sc
        seed += 1


@torch.no_grad()
def seed_batch_norms(model: torch.nn.Module, trunk: torch.nn.Module, inputs: torch.Tensor):
    """A seeded MobileNetV2 trunk's batch norms given the statistics of `inputs` and their mirror
    images (as training leaves a trunk: each layer's inputs normalised, so the inputs' differences
    survive to the tokens) and an affine part of their own; `model` is left in train mode."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.6)
    model.train()
    trunk(torch.cat([inputs, inputs.flip(3)]))


@torch.no_grad()
def mobilenet_fixture(out: str, scenes_from: str, mean: np.ndarray, std: np.ndarray):
    """The seeded MobileNetV2-trunk expert and its reads of `scenes_from`'s PNGs into `out`."""
    from safetensors.torch import save_file
    from .artifact import OBSTACLE_PREFIX, exported_architecture
    from .obstacle_expert import ObstacleConfig, ObstacleExpert
    torch.manual_seed(7)
    expert = ObstacleExpert(ObstacleConfig(image_size=MOBILENET_SIZE, trunk="mobilenet_v2", trunk_blocks=MOBILENET_BLOCKS))
    names = sorted(f[:-4] for f in os.listdir(scenes_from) if f.endswith(".png"))
    frames = torch.cat([torch.from_numpy(preprocess(cv2.imread(os.path.join(scenes_from, f"{n}.png"), cv2.IMREAD_COLOR),
                                                    MOBILENET_SIZE, mean, std))[None] for n in names])
    seed_batch_norms(expert, expert.trunk, frames)
    expert.slots.weight.normal_(0, 0.2)  # logits spread enough that the probabilities say something
    expert.eval()
    os.makedirs(out, exist_ok=True)
    save_file({OBSTACLE_PREFIX + k: v.float().contiguous() for k, v in expert.exported_state().items()},
              os.path.join(out, "expert.safetensors"))
    temperature, threshold = 1.5, 0.3
    config = {"architecture": exported_architecture(expert.c), "kinds": list(expert.c.kinds), "positions": list(POSITIONS),
              "distances": list(DISTANCES), "weights_prefix": OBSTACLE_PREFIX, "temperature": temperature, "threshold": threshold}
    for name, x in zip(names, frames[:, None]):
        tokens = expert.trunk(x).flatten(2).transpose(1, 2)[0]
        np.save(os.path.join(out, f"{name}.tokens.npy"), np.ascontiguousarray(tokens.numpy(), np.float32))
        np.save(os.path.join(out, f"{name}.probabilities.npy"), probabilities(expert(x).numpy()[0], temperature).astype(np.float32))
    with open(os.path.join(out, "expert.json"), "w") as f:
        json.dump({"obstacle_expert": config, "scenes": names, "tolerance": MOBILENET_TOLERANCE}, f, indent=1)
    print(f"{out}: a {MOBILENET_BLOCKS}-layer MobileNetV2 expert at {MOBILENET_SIZE} px read on {len(names)} scenes")


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--out", default="Tests/Fixtures/obstacle")
    ap.add_argument("--mobilenet", default=None, metavar="OUT",
                    help="write only the seeded MobileNetV2-trunk expert's fixtures here, read on --out's scenes")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, cfg, _ = load_artifact(a.model)
    if a.mobilenet:
        return mobilenet_fixture(a.mobilenet, a.out, np.asarray(cfg["preprocessing"]["mean"], np.float32),
                                 np.asarray(cfg["preprocessing"]["std"], np.float32))
    expert = model.obstacle_expert
    if expert is None:
        raise SystemExit(f"{a.model}: no obstacle expert in this model folder")
    oe = cfg["obstacle_expert"]
    mean = np.asarray(cfg["preprocessing"]["mean"], np.float32)
    std = np.asarray(cfg["preprocessing"]["std"], np.float32)
    os.makedirs(a.out, exist_ok=True)
    index = {"tolerance": MOBILENET_TOLERANCE if expert.c.trunk == "mobilenet_v2" else TOLERANCE,
             "threshold": oe["threshold"], "temperature": oe["temperature"], "scenes": []}
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

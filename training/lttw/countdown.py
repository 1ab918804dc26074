"""The countdown reader: how many seconds a lit pedestrian signal's countdown shows.

Many pedestrian signals show the seconds left beside or below the lit figure, in lit
seven-segment digits of the lamp's colour. The signal expert has already chosen the lamp it
announces; the countdown sits within a few lamp sizes of it. So the reader reads one square,
centred on that lamp, `CONTEXT` times its size (the whole frame for a close-up's whole-frame
candidate), at `CROP_SIZE`² on 4×4 patches (digits a few pixels tall stay readable), and answers
in two groups of classes, each its own softmax: the tens ("none": no countdown it can read;
"blank": one digit; 1..5) and the ones (0..9). Read digit by digit, every digit class is seen in
every position of the number: 59 classes of one softmax had too few examples each to learn in a
session on two cores (the first try stayed at 1 % of numbers read after two epochs).

    square [3, 48, 48] -> conv stem (3×3 stride 2: 3 -> 32 -> 64, 12×12 tokens) -> the reader's
                          blocks (CLS, max over patches; geometry) -> 7 + 10 logits

The convolutional stem (as the obstacle expert's): with the plain 4×4 patch embedding the reader
had learnt no digit after two epochs (numbers read 3 %); early convolutions see strokes.

It is read only for a frame the expert calls red or green, and a number is said only when its
calibrated probability reaches `threshold` (set on generated validation scenes so that no wrong
number passes there); otherwise nothing is said about the seconds (issue 12, point 3).

Data: generated scenes only (the real photos carry no countdown labels). Three in four scenes are
`generate(seed, countdown_head=True)` (a lit pedestrian head with a countdown), one in four a
plain scene (its lamps and distractors are the "none" examples). Every candidate of the lit
signal's housing is read (the runtime may choose any of them: the lamp, a digit, the figure, the
whole frame), and two others per frame as negatives. A square that holds the whole countdown is
labelled its seconds when the digits are at least `MIN_DIGIT_PX` tall in the square and "none"
when smaller (a countdown it cannot read is one it must not guess); a square that cuts the
countdown is skipped; one that misses it is "none".

    PYTHONPATH=training python -m lttw.countdown build --out training/data/countdown
    PYTHONPATH=training python -m lttw.countdown train --data training/data/countdown --run training/runs/countdown
"""
import argparse
import json
import math
import os
import time
from multiprocessing import Pool
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import lamps
from .generator import generate
from .signal_model import SignalConfig, SignalReader
from .signal_train import warmup_cosine

CROP_SIZE = 48
CONTEXT = 5
TENS = ["none", "blank", "1", "2", "3", "4", "5"]
ONES = [str(n) for n in range(10)]
CLASSES = TENS + ONES
GROUPS = [len(TENS), len(ONES)]
ARCHITECTURE = {"crop_size": CROP_SIZE, "patch_size": 4, "width": 64, "depth": 3, "heads": 2, "mlp_ratio": 4.0,
                "ln_eps": 1e-5, "head_hidden": 64}
# The stem's channels between the image's 3 and the encoder's width (obstacle_expert.conv_stem).
STEM_CHANNELS = [32]
MIN_DIGIT_PX = 10.0
# The lowest threshold a reader may ship with (Swift: CountdownReader.lowestThreshold) and the
# square's context, in lamp sizes, a config may ask for (Swift validates the same).
LOWEST_THRESHOLD = 0.5
CONTEXT_RANGE = (2, 16)
SKIP = -1
SEEDS = {"train": 5_000_000, "val": 5_200_000}


def new_reader(architecture: Optional[Dict] = None) -> SignalReader:
    """The countdown reader: the signal reader's blocks behind a convolutional stem."""
    a = dict(architecture or {**ARCHITECTURE, "stem": "conv", "stem_channels": STEM_CHANNELS})
    model = SignalReader(SignalConfig(**a, classes=list(CLASSES)))
    model.architecture = {k: v for k, v in model.c.to_dict().items() if k != "classes"}
    return model


def countdown_rect(k: lamps.Candidate, W: int, H: int, context: int = CONTEXT) -> Tuple[int, int, int, int]:
    """(x0, y0, w, h) in frame pixels of the square read for the countdown beside candidate k: the
    whole frame for the whole-frame candidate, else `context` times the lamp's size
    (Candidate.side: a blob's figure's blob) on the candidate's centre. Integers only, as
    lamps.crop_rect. Beside the lamp figure (lamps.py step 7) this square is too small, 5/32 of its
    green mass times `context` (models/default/NOTES.md, 2026-12-02 afternoon): mend before a
    countdown reader ships."""
    if k.whole:
        return 0, 0, W, H
    side = max(context * k.side, lamps.CROP_MIN_SIDE)
    return (k.x0 + k.x1 - side) // 2, (k.y0 + k.y1 - side) // 2, side, side


def shown(box, W: int, H: int) -> bool:
    """A countdown is shown when its digits lie wholly inside the frame."""
    return box[0] >= 0 and box[1] >= 0 and box[2] <= W and box[3] <= H


def label_of(rect, seconds: Optional[int], box) -> int:
    """The class a square `rect` (x0, y0, w, h) is taught: the seconds when it holds the whole
    countdown with digits at least MIN_DIGIT_PX tall once sampled to CROP_SIZE, 0 ("none") when
    the digits are smaller or it holds no part of one; SKIP when it cuts the countdown."""
    if seconds is None:
        return 0
    x0, y0, w, h = rect
    inside = box[0] >= x0 and box[1] >= y0 and box[2] <= x0 + w and box[3] <= y0 + h
    apart = box[2] <= x0 or box[0] >= x0 + w or box[3] <= y0 or box[1] >= y0 + h
    if apart:
        return 0
    if not inside:
        return SKIP
    return seconds if (box[3] - box[1]) * CROP_SIZE / h >= MIN_DIGIT_PX else 0


def _jitter(rect, rng) -> Tuple[int, int, int, int]:
    """A training square near the runtime one: context ×0.85-1.2, centre moved up to a tenth."""
    x0, y0, w, h = rect
    cx, cy = x0 + w / 2, y0 + h / 2
    s = rng.uniform(0.85, 1.2)
    nw, nh = max(4, int(w * s)), max(4, int(h * s))
    cx += rng.uniform(-0.1, 0.1) * w
    cy += rng.uniform(-0.1, 0.1) * h
    return int(cx - nw / 2), int(cy - nh / 2), nw, nh


def _inside_box(k: lamps.Candidate, box) -> bool:
    cx, cy = (k.x0 + k.x1) / 2, (k.y0 + k.y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def scene_crops(seed: int, jitter: bool):
    """(crops uint8 [n, S, S, 3], geometry [n, 5], labels [n], digit heights in the square [n])
    for one scene (module docstring)."""
    rng = np.random.default_rng([seed, 61])
    sc = generate(seed, countdown_head=seed % 4 != 0)
    rgb = np.ascontiguousarray(sc.bgr[..., ::-1])
    H, W = rgb.shape[:2]
    cands = lamps.propose(rgb)
    seconds, box = sc.countdown if sc.countdown else (None, None)
    housing = sc.light_box
    mine = [k for k in cands if k.whole or (housing is not None and _inside_box(k, housing))]
    others = [k for k in cands if k not in mine]
    picked = mine + [others[i] for i in rng.permutation(len(others))[:2]]
    xs, gs, ys, hs = [], [], [], []
    for k in picked:
        rect = countdown_rect(k, W, H)
        if jitter and not k.whole:
            rect = _jitter(rect, rng)
        y = label_of(rect, seconds, box)
        if y == SKIP:
            continue
        xs.append(np.round(lamps.sample_rect(rgb, rect, CROP_SIZE)).astype(np.uint8))
        gs.append(lamps.geometry(k, W, H))
        ys.append(y)
        hs.append(0.0 if box is None else (box[3] - box[1]) * CROP_SIZE / rect[3])
    return xs, gs, ys, hs


def _job(args):
    seeds, jitter = args
    out = ([], [], [], [])
    for s in seeds:
        for acc, v in zip(out, scene_crops(int(s), jitter)):
            acc += v
    return out


def build(out_dir: str, n_train: int, n_val: int, workers: int = 2):
    os.makedirs(out_dir, exist_ok=True)
    for split, n, jitter in (("val", n_val, False), ("train", n_train, True)):
        seeds = np.arange(SEEDS[split], SEEDS[split] + n)
        chunks = [(seeds[i:i + 250], jitter) for i in range(0, n, 250)]
        xs, gs, ys, hs = [], [], [], []
        t0 = time.time()
        with Pool(workers) as pool:
            for i, (x, g, y, h) in enumerate(pool.imap(_job, chunks)):
                xs += x
                gs += g
                ys += y
                hs += h
                print(f"{split}: {min(n, (i + 1) * 250)}/{n} scenes, {len(ys)} crops, {time.time() - t0:.0f} s", flush=True)
        y = np.asarray(ys, np.int64)
        np.savez_compressed(os.path.join(out_dir, f"{split}.npz"), x=np.stack(xs), geometry=np.stack(gs).astype(np.float32),
                            y=y, digit_px=np.asarray(hs, np.float32))
        print(f"{split}: {len(y)} crops, {(y > 0).sum()} with seconds", flush=True)


# ----------------------------------------------------------------------------- runtime
def group_probabilities(logits: np.ndarray, T: float) -> np.ndarray:
    """float64 [17]: the tens and the ones, each softmax(logits / T) over its own group."""
    z = np.asarray(logits, np.float64) / T
    out = np.empty_like(z)
    start = 0
    for n in GROUPS:
        g = z[start:start + n]
        e = np.exp(g - g.max())
        out[start:start + n] = e / e.sum()
        start += n
    return out


def seconds_of(p: np.ndarray) -> Tuple[int, float]:
    """(seconds read, its probability) from group probabilities [17]: the most likely tens and
    ones (the first of equals); 0 when the tens say "none" (its probability then) or the digits
    make 0. The probability is the product of the two, in float64."""
    t = int(np.argmax(p[:GROUPS[0]]))
    if t == 0:
        return 0, float(p[0])
    o = int(np.argmax(p[GROUPS[0]:]))
    return 10 * (t - 1) + o, float(p[t]) * float(p[GROUPS[0] + o])


def targets(y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Seconds labels (0 = none) -> (tens class, ones class; -100 where there is no countdown)."""
    tens = torch.where(y > 0, y // 10 + 1, torch.zeros_like(y))
    ones = torch.where(y > 0, y % 10, torch.full_like(y, -100))
    return tens, ones


def loss_of(logits: torch.Tensor, y: torch.Tensor, none_weight: float = 1.0, T: float = 1.0) -> torch.Tensor:
    tens, ones = targets(y)
    w = torch.ones(GROUPS[0])
    w[0] = none_weight
    return (F.cross_entropy(logits[:, :GROUPS[0]] / T, tens, weight=w)
            + F.cross_entropy(logits[:, GROUPS[0]:] / T, ones, ignore_index=-100))


class CountdownReader:
    """Python reference of the runtime countdown reading: the seconds beside the lamp the signal
    expert announces, or None when no number reaches the threshold."""

    def __init__(self, model: SignalReader, temperature: float, threshold: float, mean, std, context: int = CONTEXT):
        self.model = model.eval()
        self.context = int(context)
        self.T = float(temperature)
        self.threshold = float(threshold)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    @torch.no_grad()
    def probabilities(self, rgb: np.ndarray, k: lamps.Candidate) -> np.ndarray:
        """[17]: the calibrated tens and ones probabilities of candidate k's countdown square
        (float32, as the runtime holds them)."""
        H, W = rgb.shape[:2]
        size = self.model.c.crop_size
        x = lamps.normalise_crop(lamps.sample_rect(rgb, countdown_rect(k, W, H, self.context), size), self.mean, self.std)
        g = lamps.geometry(k, W, H)
        logits = self.model(torch.from_numpy(x[None]), torch.from_numpy(g[None]))[0]
        return torch.cat([torch.softmax(logits[:GROUPS[0]] / self.T, -1), torch.softmax(logits[GROUPS[0]:] / self.T, -1)]).numpy()

    def seconds(self, rgb: np.ndarray, k: lamps.Candidate) -> Tuple[Optional[int], float]:
        """(seconds or None, the probability of what was read: the number, or "none")."""
        n, p = seconds_of(self.probabilities(rgb, k).astype(np.float64))
        return (n if n > 0 and p >= self.threshold else None), p


# ----------------------------------------------------------------------------- training
def _to_input(x_uint8: torch.Tensor, mean, std) -> torch.Tensor:
    x = x_uint8.float() / 255.0
    x = (x - torch.as_tensor(mean, dtype=torch.float32)) / torch.as_tensor(std, dtype=torch.float32)
    return x.permute(0, 3, 1, 2).contiguous()


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Lighting, colour cast and noise on uint8 NHWC squares; never a flip (a mirrored 2 is no
    digit) and never a hue change."""
    B = x.shape[0]
    x = x.float()
    x = x * (0.65 + 0.7 * torch.rand(B, 1, 1, 1, generator=g)) * (0.9 + 0.2 * torch.rand(B, 1, 1, 3, generator=g))
    x = x + (torch.rand(B, 1, 1, 1, generator=g) - 0.5) * 40
    noisy = (torch.rand(B, 1, 1, 1, generator=g) < 0.3).float()
    x = x + noisy * torch.randn(x.shape, generator=g) * (3 + 10 * torch.rand(B, 1, 1, 1, generator=g))
    return x.clamp(0, 255).round().to(torch.uint8)


@torch.no_grad()
def logits_of(model, x, geo, mean, std, batch=512):
    model.eval()
    return torch.cat([model(_to_input(x[i:i + batch], mean, std), geo[i:i + batch]) for i in range(0, len(x), batch)])


def group_probabilities_batch(logits: torch.Tensor, T: float = 1.0) -> np.ndarray:
    """float64 [n, 17] group probabilities of a batch of logits."""
    z = logits.double() / T
    return torch.cat([torch.softmax(z[:, :GROUPS[0]], -1), torch.softmax(z[:, GROUPS[0]:], -1)], 1).numpy()


def fit_temperature(logits, y) -> float:
    best = (1e9, 1.0)
    for T in np.exp(np.linspace(math.log(0.5), math.log(4.0), 60)):
        best = min(best, (float(loss_of(logits, y, T=float(T))), float(T)))
    return best[1]


def threshold_for(p: np.ndarray, y: np.ndarray) -> Tuple[float, Dict]:
    """The threshold for saying a number: halfway between the most confident wrong number on the
    validation squares (a number on a "none" square, or another number) and 1, at least 0.5, so no
    validation square is read wrong with a margin; with what it reads there. p: [n, 17] group
    probabilities."""
    read = [seconds_of(row) for row in p.astype(np.float64)]
    said = np.array([n for n, _ in read])
    conf = np.array([c for _, c in read])
    wrong = (said > 0) & (said != y)
    top = float(conf[wrong].max()) if wrong.any() else 0.0
    thr = max(LOWEST_THRESHOLD, (top + 1.0) / 2)
    read = (said > 0) & (conf >= thr)
    positives = y > 0
    return thr, {"most_confident_wrong_number": top, "numbers": int(positives.sum()),
                 "read_right": int((read & (said == y)).sum()), "read_wrong": int((read & (said != y)).sum())}


def train(a):
    from .preprocess import MEAN, STD
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    dt, dv = np.load(os.path.join(a.data, "train.npz")), np.load(os.path.join(a.data, "val.npz"))
    xt, gt, yt = torch.from_numpy(dt["x"]), torch.from_numpy(dt["geometry"]), torch.from_numpy(dt["y"])
    xv, gv, yv = torch.from_numpy(dv["x"]), torch.from_numpy(dv["geometry"]), torch.from_numpy(dv["y"])
    model = new_reader()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    steps_per_epoch = max(1, len(xt) // a.batch)
    total = steps_per_epoch * a.epochs
    g = torch.Generator().manual_seed(a.seed)
    step, log, best, t0 = 0, [], 1e9, time.time()
    while step < total:
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(perm) - a.batch + 1, a.batch):
            if step >= total:
                break
            idx = perm[i:i + a.batch]
            lr = warmup_cosine(a.lr, step, total)
            for group in opt.param_groups:
                group["lr"] = lr
            # "none" is half the squares: weighed down so the digits are learnt.
            loss = loss_of(model(_to_input(_augment(xt[idx], g), MEAN, STD), gt[idx]), yt[idx], a.none_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 100 == 0:
                print(f"step {step}/{total}: loss {float(loss.detach()):.3f}, {(time.time() - t0) / 60:.1f} min", flush=True)
            if step % steps_per_epoch == 0 or step == total:
                lv = logits_of(model, xv, gv, MEAN, STD)
                nll = float(loss_of(lv, yv))
                said = torch.tensor([seconds_of(row)[0] for row in group_probabilities_batch(lv)])
                pos = yv > 0
                row = {"step": step, "epoch": step / steps_per_epoch, "loss": float(loss.detach()), "val_nll": nll,
                       "val_acc": float((said == yv).float().mean()),
                       "val_number_acc": float((said[pos] == yv[pos]).float().mean()),
                       "minutes": (time.time() - t0) / 60}
                log.append(row)
                print(json.dumps(row), flush=True)
                if nll < best:
                    best = nll
                    torch.save({"model": model.state_dict(), "config": model.architecture, "step": step}, os.path.join(a.run, "best.pt"))
    with open(os.path.join(a.run, "log.json"), "w") as f:
        json.dump(log, f, indent=1)
    calibrate(a.run, a.data)


def calibrate(run: str, data: str) -> Dict:
    """Temperature and threshold on the validation squares; writes run/calibration.json."""
    from .preprocess import MEAN, STD
    ck = torch.load(os.path.join(run, "best.pt"), map_location="cpu", weights_only=False)
    model = new_reader(ck["config"])
    model.load_state_dict(ck["model"])
    dv = np.load(os.path.join(data, "val.npz"))
    xv, gv, yv = torch.from_numpy(dv["x"]), torch.from_numpy(dv["geometry"]), torch.from_numpy(dv["y"])
    lv = logits_of(model, xv, gv, MEAN, STD)
    T = fit_temperature(lv, yv)
    p = group_probabilities_batch(lv, T)
    thr, stats = threshold_for(p, yv.numpy())
    px = dv["digit_px"]
    pos = yv.numpy() > 0
    read = [seconds_of(row) for row in p]
    said = np.array([n for n, _ in read])
    read_right = (said == yv.numpy()) & (np.array([c for _, c in read]) >= thr) & pos
    by_px = {}
    for lo, hi in ((10, 14), (14, 20), (20, 30), (30, 1e9)):
        m = pos & (px >= lo) & (px < hi)
        by_px[f"{lo}-{hi if hi < 1e9 else 'up'} px"] = {"n": int(m.sum()), "read_right": float(read_right[m].mean()) if m.any() else None}
    out = {"temperature": T, "threshold": thr, "validation": {"squares": int(len(yv)), **stats, "by_digit_height": by_px}}
    with open(os.path.join(run, "calibration.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))
    return out


# ----------------------------------------------------------------------------- parity fixture
# A small reader of the same kind (stem, blocks, two softmax groups) with seeded weights: the Swift
# CropReader's arithmetic is checked against PyTorch on it (Tests/Fixtures/countdown). No model
# ships a countdown reader yet (NOTES), so the fixture cannot come from models/default.
FIXTURE_ARCHITECTURE = {"crop_size": 16, "patch_size": 4, "width": 16, "depth": 2, "heads": 2, "mlp_ratio": 2.0,
                        "ln_eps": 1e-5, "head_hidden": 8, "stem": "conv", "stem_channels": [8]}
FIXTURE_TEMPERATURE = 0.75
FIXTURE_CONTEXT = 5
# Signal fixtures (Tests/Fixtures/signal) the whole path is checked on: a walk, a red, no signal.
FIXTURE_SCENES = ["green_walk", "red_closeup", "no_signal_street"]


@torch.no_grad()
def make_fixture(out: str):
    """reader.safetensors (prefix `countdown.`), squares.npy [4, 3, S, S] (normalised), geometry.npy
    [4, 5], probabilities.npy [4, 17] (group softmax of logits / FIXTURE_TEMPERATURE) and
    reads.json (seconds_of of each row)."""
    from safetensors.torch import save_file
    torch.manual_seed(20261202)
    model = new_reader(FIXTURE_ARCHITECTURE).eval()
    for p in model.parameters():  # spread the logits, so the groups' argmaxes differ from row to row
        p.mul_(3.0)
    g = torch.Generator().manual_seed(7)
    S = FIXTURE_ARCHITECTURE["crop_size"]
    x = torch.randn(4, 3, S, S, generator=g)
    geo = torch.rand(4, 5, generator=g)
    geo[:, 4] = torch.tensor([0.0, 1.0, 0.0, 0.0])
    logits = model(x, geo)
    p = torch.cat([torch.softmax(logits[:, :GROUPS[0]] / FIXTURE_TEMPERATURE, -1),
                   torch.softmax(logits[:, GROUPS[0]:] / FIXTURE_TEMPERATURE, -1)], 1)
    os.makedirs(out, exist_ok=True)
    save_file({"countdown." + k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out, "reader.safetensors"))
    np.save(os.path.join(out, "squares.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "geometry.npy"), geo.numpy().astype(np.float32))
    np.save(os.path.join(out, "probabilities.npy"), p.numpy().astype(np.float32))
    reads = [seconds_of(row.astype(np.float64)) for row in p.numpy()]
    # The whole runtime path on signal fixtures: the shipped expert decides, this reader reads the
    # square beside a red or green lamp (FIXTURE_CONTEXT, threshold 0.5).
    from .artifact import Predictor
    import cv2
    pred = Predictor("models/default")
    pred.signal.countdown = CountdownReader(model, FIXTURE_TEMPERATURE, 0.5, pred.mean, pred.std, FIXTURE_CONTEXT)
    scenes = {}
    for name in FIXTURE_SCENES:
        bgr = cv2.imread(os.path.join("Tests", "Fixtures", "signal", f"{name}.png"), cv2.IMREAD_COLOR)
        d = pred.signal.read(np.ascontiguousarray(bgr[..., ::-1]))
        scenes[name] = {"state": d["state"], "countdown_p": d.get("countdown_p"), "seconds_left": d.get("seconds_left")}
    with open(os.path.join(out, "reads.json"), "w") as f:
        json.dump({"architecture": FIXTURE_ARCHITECTURE, "temperature": FIXTURE_TEMPERATURE, "groups": GROUPS,
                   "context": FIXTURE_CONTEXT, "reads": [{"seconds": n, "probability": q} for n, q in reads],
                   "scenes": scenes}, f, indent=1)
    print(out, reads, scenes)


def main():
    ap = argparse.ArgumentParser(description="The countdown reader: build its squares from generated scenes, train, calibrate.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="training and validation squares from generated scenes")
    b.add_argument("--out", default="training/data/countdown")
    b.add_argument("--train", type=int, default=16000, help="training scenes (seeds 5,000,000+)")
    b.add_argument("--val", type=int, default=2000, help="validation scenes (seeds 5,200,000+)")
    b.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("train", help="train, then calibrate on the validation squares")
    t.add_argument("--data", default="training/data/countdown")
    t.add_argument("--run", default="training/runs/countdown")
    t.add_argument("--epochs", type=int, default=6)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--none_weight", type=float, default=0.3)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=0)
    fx = sub.add_parser("fixture", help="the Swift parity fixture (a small seeded reader)")
    fx.add_argument("--out", default="Tests/Fixtures/countdown")
    c = sub.add_parser("calibrate", help="temperature and threshold of a trained run")
    c.add_argument("--data", default="training/data/countdown")
    c.add_argument("--run", default="training/runs/countdown")
    a = ap.parse_args()
    if a.cmd == "build":
        build(a.out, a.train, a.val, a.workers)
    elif a.cmd == "train":
        train(a)
    elif a.cmd == "fixture":
        make_fixture(a.out)
    else:
        calibrate(a.run, a.data)


if __name__ == "__main__":
    main()

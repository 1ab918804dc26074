"""The countdown reader: how many seconds a lit pedestrian signal's countdown shows.

Many pedestrian signals show the seconds left beside or below the lit figure, in lit
seven-segment digits of the lamp's colour. The signal expert has already chosen the lamp it
announces; the countdown sits within a few lamp sizes of it. So the reader reads one square,
centred on that lamp, `CONTEXT` times its size (the whole frame for a close-up's whole-frame
candidate), at `CROP_SIZE`² on 4×4 patches (digits a few pixels tall stay readable), and answers
one of 60 classes: "none" (no countdown it can read) or 1..59 seconds.

    square [3, 48, 48] -> SignalReader (4×4 patches, CLS, max over patches; geometry) -> 60 classes

It is read only for a frame the expert calls red or green, and a number is said only when its
calibrated probability reaches `threshold` (set on generated validation scenes so that no wrong
number passes there); otherwise nothing is said about the seconds (issue 12, point 3).

Data: generated scenes only (the real photos carry no countdown labels). Three in four scenes are
`generate(seed, countdown_head=True)` (a lit pedestrian head with a countdown), one in four a
plain scene (its lamps and distractors are the "none" examples). Every candidate of the lit
signal's housing is read (the runtime may choose any of them: the lamp, a digit, the figure, the
whole frame), and two others per frame as negatives. A square that holds the whole countdown is
labelled its seconds when the digits are at least `MIN_DIGIT_PX` tall in the square, skipped when
smaller; a square that cuts the countdown is skipped; one that misses it is "none".

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

CROP_SIZE = 48
CONTEXT = 6
CLASSES = ["none"] + [str(n) for n in range(1, 60)]
ARCHITECTURE = {"crop_size": CROP_SIZE, "patch_size": 4, "width": 64, "depth": 3, "heads": 2, "mlp_ratio": 4.0,
                "ln_eps": 1e-5, "head_hidden": 64}
MIN_DIGIT_PX = 5.0
SKIP = -1
SEEDS = {"train": 5_000_000, "val": 5_200_000}


def new_reader() -> SignalReader:
    return SignalReader(SignalConfig(**ARCHITECTURE, classes=list(CLASSES)))


def countdown_rect(k: lamps.Candidate, W: int, H: int) -> Tuple[int, int, int, int]:
    """(x0, y0, w, h) in frame pixels of the square read for the countdown beside candidate k: the
    whole frame for the whole-frame candidate, else CONTEXT times the lamp's size (Candidate.side:
    a figure's blob) on the candidate's centre. Integers only, as lamps.crop_rect."""
    if k.whole:
        return 0, 0, W, H
    side = max(CONTEXT * k.side, lamps.CROP_MIN_SIDE)
    return (k.x0 + k.x1 - side) // 2, (k.y0 + k.y1 - side) // 2, side, side


def shown(box, W: int, H: int) -> bool:
    """A countdown is shown when its digits lie wholly inside the frame."""
    return box[0] >= 0 and box[1] >= 0 and box[2] <= W and box[3] <= H


def label_of(rect, seconds: Optional[int], box) -> int:
    """The class a square `rect` (x0, y0, w, h) is taught: the seconds when it holds the whole
    countdown with digits at least MIN_DIGIT_PX tall once sampled to CROP_SIZE; SKIP when it cuts
    the countdown or the digits are smaller; 0 ("none") when it holds no part of one."""
    if seconds is None:
        return 0
    x0, y0, w, h = rect
    inside = box[0] >= x0 and box[1] >= y0 and box[2] <= x0 + w and box[3] <= y0 + h
    apart = box[2] <= x0 or box[0] >= x0 + w or box[3] <= y0 or box[1] >= y0 + h
    if apart:
        return 0
    if not inside:
        return SKIP
    return seconds if (box[3] - box[1]) * CROP_SIZE / h >= MIN_DIGIT_PX else SKIP


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
class CountdownReader:
    """Python reference of the runtime countdown reading: the seconds beside the lamp the signal
    expert announces, or None when no number reaches the threshold."""

    def __init__(self, model: SignalReader, temperature: float, threshold: float, mean, std):
        self.model = model.eval()
        self.T = float(temperature)
        self.threshold = float(threshold)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    @torch.no_grad()
    def probabilities(self, rgb: np.ndarray, k: lamps.Candidate) -> np.ndarray:
        """float64 [60]: the calibrated class probabilities of candidate k's countdown square."""
        H, W = rgb.shape[:2]
        x = lamps.normalise_crop(lamps.sample_rect(rgb, countdown_rect(k, W, H), CROP_SIZE), self.mean, self.std)
        g = lamps.geometry(k, W, H)
        logits = self.model(torch.from_numpy(x[None]), torch.from_numpy(g[None]))[0]
        return torch.softmax(logits / self.T, -1).double().numpy()

    def seconds(self, rgb: np.ndarray, k: lamps.Candidate) -> Tuple[Optional[int], float]:
        """(seconds or None, the probability of the class read)."""
        p = self.probabilities(rgb, k)
        c = int(p.argmax())
        return (c if c > 0 and p[c] >= self.threshold else None), float(p[c])


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


def fit_temperature(logits, y) -> float:
    best = (1e9, 1.0)
    for T in np.exp(np.linspace(math.log(0.5), math.log(4.0), 60)):
        best = min(best, (float(F.cross_entropy(logits / float(T), y)), float(T)))
    return best[1]


def threshold_for(p: np.ndarray, y: np.ndarray) -> Tuple[float, Dict]:
    """The lowest threshold at which no validation square is read as a wrong number (a number on
    a "none" square, or another number), halfway from the most confident wrong read to 1 (and at
    least 0.5); with what it reads there."""
    said = p.argmax(1)
    conf = p.max(1)
    wrong = (said > 0) & (said != y)
    top = float(conf[wrong].max()) if wrong.any() else 0.0
    thr = max(0.5, (top + 1.0) / 2)
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
    # "none" is most of the squares: weigh it down so the numbers are learnt.
    weights = torch.ones(len(CLASSES))
    weights[0] = a.none_weight
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
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * step / total)) if step > 100 else a.lr * step / 100
            for group in opt.param_groups:
                group["lr"] = lr
            loss = F.cross_entropy(model(_to_input(_augment(xt[idx], g), MEAN, STD), gt[idx]), yt[idx], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % steps_per_epoch == 0 or step == total:
                lv = logits_of(model, xv, gv, MEAN, STD)
                nll = float(F.cross_entropy(lv, yv))
                pos = yv > 0
                row = {"step": step, "epoch": step / steps_per_epoch, "loss": float(loss), "val_nll": nll,
                       "val_acc": float((lv.argmax(1) == yv).float().mean()),
                       "val_number_acc": float((lv[pos].argmax(1) == yv[pos]).float().mean()),
                       "minutes": (time.time() - t0) / 60}
                log.append(row)
                print(json.dumps(row), flush=True)
                if nll < best:
                    best = nll
                    torch.save({"model": model.state_dict(), "config": ARCHITECTURE, "step": step}, os.path.join(a.run, "best.pt"))
    with open(os.path.join(a.run, "log.json"), "w") as f:
        json.dump(log, f, indent=1)
    calibrate(a.run, a.data)


def calibrate(run: str, data: str) -> Dict:
    """Temperature and threshold on the validation squares; writes run/calibration.json."""
    from .preprocess import MEAN, STD
    model = new_reader()
    model.load_state_dict(torch.load(os.path.join(run, "best.pt"), map_location="cpu", weights_only=False)["model"])
    dv = np.load(os.path.join(data, "val.npz"))
    xv, gv, yv = torch.from_numpy(dv["x"]), torch.from_numpy(dv["geometry"]), torch.from_numpy(dv["y"])
    lv = logits_of(model, xv, gv, MEAN, STD)
    T = fit_temperature(lv, yv)
    p = torch.softmax(lv / T, -1).numpy()
    thr, stats = threshold_for(p, yv.numpy())
    px = dv["digit_px"]
    pos = yv.numpy() > 0
    said = p.argmax(1)
    read_right = (said == yv.numpy()) & (p.max(1) >= thr) & pos
    by_px = {}
    for lo, hi in ((5, 8), (8, 12), (12, 20), (20, 1e9)):
        m = pos & (px >= lo) & (px < hi)
        by_px[f"{lo}-{hi if hi < 1e9 else 'up'} px"] = {"n": int(m.sum()), "read_right": float(read_right[m].mean()) if m.any() else None}
    out = {"temperature": T, "threshold": thr, "validation": {"squares": int(len(yv)), **stats, "by_digit_height": by_px}}
    with open(os.path.join(run, "calibration.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))
    return out


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
    c = sub.add_parser("calibrate", help="temperature and threshold of a trained run")
    c.add_argument("--data", default="training/data/countdown")
    c.add_argument("--run", default="training/runs/countdown")
    a = ap.parse_args()
    if a.cmd == "build":
        build(a.out, a.train, a.val, a.workers)
    elif a.cmd == "train":
        train(a)
    else:
        calibrate(a.run, a.data)


if __name__ == "__main__":
    main()

"""Trains the signal expert's crop reader on the crops `lttw.signal_data` built, calibrates it on
validation frames (real val split + generated validation scenes, never ../shared/eval) and
writes a checkpoint that `lttw.artifact merge-signal` puts into a model folder.

    python -m lttw.signal_train --data training/data/signal --run training/runs/signal
    python -m lttw.signal_train --run training/runs/signal --resume          # continue
    python -m lttw.signal_train --run training/runs/signal --calibrate-only  # thresholds again
    torchrun --nproc_per_node 2 -m lttw.signal_train --run_dir ...          # data-parallel (lttw.distributed)

Calibration (frames, not crops): the temperature minimises the validation crops' NLL; the green
threshold is halfway between the largest green mass the decision rule would announce on any
non-green validation frame and 1 (at least GREEN_FLOOR), so the validation frames have no false
green with a margin; the red veto and the signal threshold are fixed design values.
"""
import argparse
import json
import math
import os
import time
from multiprocessing import get_context
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import lamps
from .distributed import World, join, leave
from .generator import generate
from .preprocess import MEAN, STD
from .signal_data import NOT_SIGNAL, REAL_ROOT, SEEDS, real_rows
from .signal_model import CLASSES, SignalConfig, SignalExpertRunner, SignalReader, deepened, widened

GREEN_FLOOR = 0.9
# red_veto_side: a stop lamp vetoes walk only when its longer side is at least a third of the walk
# lamp's (signal_model.decide): smaller red specks beside a walk figure are tail lights, signs and
# other streets' lamps (they silenced 7 of the real train split's 24 unsaid pedestrian greens).
FIXED_THRESHOLDS = {"signal": 0.5, "abstain": 0.5, "red_veto": 0.3, "red_veto_side": 1 / 3}


def warmup_cosine(base: float, step: int, total: int, warmup: int = 100) -> float:
    """The learning rate of every crop reader's training: linear warm-up over `warmup` steps, then
    a cosine to 0 at `total`."""
    return base * 0.5 * (1 + math.cos(math.pi * step / total)) if step > warmup else base * step / warmup


def to_input(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC crops -> normalised float NCHW, preprocess.normalize_small's arithmetic."""
    x = x_uint8.float() / 255.0
    x = (x - torch.from_numpy(MEAN)) / torch.from_numpy(STD)
    return x.permute(0, 3, 1, 2).contiguous()


def towards_grey(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Float NHWC crops moved the fraction t (per crop) of the way to their own luma: less
    saturated, the same hue and the same luma."""
    grey = (x * torch.tensor([0.299, 0.587, 0.114])).sum(-1, keepdim=True)
    return x * (1 - t) + grey * t


def augment_pair(x: torch.Tensor, wide: torch.Tensor, g: torch.Generator, desaturate: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """`augment` of crops and their wide views alike (the same light, cast, flip and grey per
    crop): the wide view, scaled up to the crop's side, is stacked under it, augmented with it and
    taken back at every other pixel."""
    S, w = x.shape[1], wide.shape[1]
    if S % w:
        raise ValueError(f"a {w} px wide view cannot be stacked under a {S} px crop")
    f = S // w
    up = wide.repeat_interleave(f, 1).repeat_interleave(f, 2)
    both = augment(torch.cat([x, up], dim=1), g, desaturate)
    return both[:, :S].contiguous(), both[:, S::f, ::f].contiguous()


# RGB -> YIQ (NTSC): Y is luma, (I, Q) the chroma plane a hue turn rotates.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_RGB = torch.linalg.inv(_YIQ)
EXPORT_DAMAGES = ("hue", "salt_and_pepper", "soften", "pixelate", "desaturate")


def hue_turned(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Float NHWC crops with their chroma turned by `degrees` (per crop) about the grey axis in
    YIQ: the hue moves, luma and greys stay."""
    t = torch.deg2rad(degrees)
    c, s = torch.cos(t), torch.sin(t)
    rot = torch.zeros(len(t), 3, 3)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = c, -s, s, c
    m = _RGB @ rot @ _YIQ  # (B, 3, 3): rgb -> yiq -> turned -> rgb
    return torch.einsum("bij,bhwj->bhwi", m, x)


def export_damage(x: torch.Tensor, g: torch.Generator, share: float, max_hue: float = 15.0,
                  max_pixelate: float = 4.0) -> torch.Tensor:
    """The damage the public exports bake into their photos (lttw.photo_corruptions), on a `share`
    of float NHWC crops, one kind each (EXPORT_DAMAGES): a hue turn of 3–`max_hue` degrees in YIQ
    either way (15 there is about 20 of HSV hue: small enough that green stays green and yellow
    yellow; the evaluation damage goes to 25 of HSV), 1–4 % salt-and-pepper pixels, a blur (down
    1.5–3× and back up, bilinear), pixelation (down 2–`max_pixelate`× by area, back up by nearest)
    or saturation cut by 40–75 %. Never grayscale: a grey crop labelled green would teach that colour
    is not needed. A `max_pixelate` of 8 reaches the blocks of a tiny photo blown up to a lamp crop
    (sample 07: a 13-pixel-wide frame shown at 640, three blocks across the walk figure)."""
    if max_pixelate < 2:
        raise ValueError(f"max_pixelate must be at least 2 (the smallest pixelation); got {max_pixelate}")
    B, H, W, _ = x.shape
    hit = torch.rand(B, generator=g) < share
    kinds = torch.randint(len(EXPORT_DAMAGES), (B,), generator=g)
    amount = torch.rand(B, generator=g)
    sign = torch.where(torch.rand(B, generator=g) < 0.5, -1.0, 1.0)
    x = x.clone()
    chosen = {kind: torch.nonzero(hit & (kinds == k)).flatten() for k, kind in enumerate(EXPORT_DAMAGES)}
    n = chosen["hue"]
    if len(n):
        x[n] = hue_turned(x[n], sign[n] * (3 + (max_hue - 3) * amount[n])).clamp(0, 255)
    n = chosen["salt_and_pepper"]
    if len(n):
        dots = torch.rand(len(n), H, W, generator=g) < (0.01 + 0.03 * amount[n]).view(-1, 1, 1)
        white = torch.rand(len(n), H, W, generator=g) < 0.5
        crops = x[n]
        crops[dots & white] = 255.0
        crops[dots & ~white] = 0.0
        x[n] = crops
    n = chosen["desaturate"]
    if len(n):
        x[n] = towards_grey(x[n], (0.4 + 0.35 * amount[n]).view(-1, 1, 1, 1))
    # Blur and pixelation resample each crop by its own factor: one crop at a time.
    for kind in ("soften", "pixelate"):
        for i in chosen[kind].tolist():
            u = float(amount[i])
            f = 1.5 + 1.5 * u if kind == "soften" else 2 + (max_pixelate - 2) * u
            size = (max(1, round(H / f)), max(1, round(W / f)))
            nchw = x[i:i + 1].permute(0, 3, 1, 2)
            if kind == "soften":
                small = F.interpolate(nchw, size=size, mode="bilinear", antialias=True, align_corners=False)
                back = F.interpolate(small, size=(H, W), mode="bilinear", align_corners=False)
            else:
                back = F.interpolate(F.adaptive_avg_pool2d(nchw, size), size=(H, W), mode="nearest")
            x[i:i + 1] = back.permute(0, 2, 3, 1)
    return x


def augment(x: torch.Tensor, g: torch.Generator, desaturate: float = 0.0, damage: float = 0.0,
            max_pixelate: float = 4.0) -> torch.Tensor:
    """Lighting, colour cast, noise, blur-free flips and a little grayscale on uint8 NHWC crops.
    Never a hue change beyond `export_damage`'s few degrees: the colour is the label. With
    `desaturate` > 0, that share of the crops is also pulled part of the way (up to 60 %) towards
    its own grey, hue kept: a real walk lamp's LED figure is often pale, overexposed teal, which the
    generator rarely draws. With `damage` > 0, that share first gets one kind of `export_damage`
    (pixelation up to `max_pixelate`×)."""
    B = x.shape[0]
    x = x.float()
    if damage > 0:
        x = export_damage(x, g, damage, max_pixelate=max_pixelate)
    if desaturate > 0:
        pale = torch.rand(B, generator=g) < desaturate
        if pale.any():
            x[pale] = towards_grey(x[pale], 0.6 * torch.rand(int(pale.sum()), 1, 1, 1, generator=g))
    flip = torch.rand(B, generator=g) < 0.5
    x[flip] = x[flip].flip(2)
    gain = 0.65 + 0.7 * torch.rand(B, 1, 1, 1, generator=g)
    cast = 0.9 + 0.2 * torch.rand(B, 1, 1, 3, generator=g)
    bias = (torch.rand(B, 1, 1, 1, generator=g) - 0.5) * 40
    x = x * gain * cast + bias
    noisy = (torch.rand(B, 1, 1, 1, generator=g) < 0.3).float()
    x = x + noisy * torch.randn(x.shape, generator=g) * (3 + 10 * torch.rand(B, 1, 1, 1, generator=g))
    gray = torch.rand(B, generator=g) < 0.04
    if gray.any():
        x[gray] = towards_grey(x[gray], torch.ones(()))
    return x.clamp(0, 255).round().to(torch.uint8)


def load(path, wide: bool = False):
    """(crops, geometry, labels, sources, wide views or None) of a crop set file; with `wide`, a
    set built without wide views is refused."""
    d = np.load(path)
    if wide and "wide" not in d:
        raise SystemExit(f"{path}: no wide views; build it with signal_data --wide (or signal_mining --wide)")
    return (torch.from_numpy(d["x"]), torch.from_numpy(d["geometry"]), torch.from_numpy(d["y"]),
            torch.from_numpy(d["source"]), torch.from_numpy(d["wide"]) if wide else None)


@torch.no_grad()
def crop_metrics(model, x, geo, y, batch=1024, T=1.0, wide=None):
    model.eval()
    logits = torch.cat([model(to_input(x[i:i + batch]), geo[i:i + batch], None if wide is None else to_input(wide[i:i + batch]))
                        for i in range(0, len(x), batch)])
    nll = float(F.cross_entropy(logits / T, y))
    acc = float((logits.argmax(1) == y).float().mean())
    return logits, nll, acc


def fit_temperature(logits, y):
    best = (1e9, 1.0)
    for T in np.exp(np.linspace(math.log(0.5), math.log(4.0), 60)):
        nll = float(F.cross_entropy(logits / float(T), y))
        best = min(best, (nll, float(T)))
    return best[1]


def calibration_jobs(n_generated: int) -> List[Tuple[str, object, Optional[str]]]:
    """The validation frames calibration reads, in order: (source, file or seed, truth or None)
    for the real val split's light-labelled frames, then the generated validation scenes."""
    jobs = [("real_val", r["file"], r["pedestrian_light"]) for r in real_rows("val") if r.get("pedestrian_light") is not None]
    return jobs + [("generated_val", s, None) for s in range(SEEDS["val"], SEEDS["val"] + n_generated)]


def calibration_frame(job) -> Tuple[np.ndarray, str, str]:
    """(rgb, truth state, source) of one calibration job."""
    src, key, truth = job
    if src == "real_val":
        bgr = cv2.imread(os.path.join(REAL_ROOT, key), cv2.IMREAD_COLOR)
        return np.ascontiguousarray(bgr[..., ::-1]), truth, src
    sc = generate(key)
    st = sc.facts["light"]["state"]
    return np.ascontiguousarray(sc.bgr[..., ::-1]), st if st in ("red", "green", "yellow") else "off_or_none", src


def green_confidence(runner: SignalExpertRunner, rgb: np.ndarray) -> Dict:
    """The decision at green threshold 0 with its confidence: the largest threshold at which the
    frame would still be announced green. Figures can add a walk (SignalExpertRunner.decide_frame),
    so the frame's confidence is the greener of its decisions without and with them."""
    cands, p = runner.probabilities(rgb)
    figures = lamps.figure_indices(cands)
    d = _green_confidence(runner, rgb, cands, p, figures)
    if figures:
        walk = _green_confidence(runner, rgb, cands, p, ())
        if walk["state"] == "green" and (d["state"] != "green" or walk["confidence"] > d["confidence"]):
            return walk
    return d


def _green_confidence(runner: SignalExpertRunner, rgb: np.ndarray, cands, p, set_aside) -> Dict:
    """green_confidence of one decision, with the candidates in `set_aside` taking no part."""
    d = runner.confirmed(rgb, cands, p, {**FIXED_THRESHOLDS, "green": 0.0}, set_aside)
    if d["state"] == "green" and d.get("standby"):
        # At threshold g the frame is also green when the best's own read reaches g and a
        # standby holds at g in every view (confirm_standby): its mass is the best's smallest,
        # or the strongest standby's smallest capped by the best's own read.
        best = d["candidate"]
        own = float(np.float64(p[best, 2]) + np.float64(p[best, 5]))
        standby = max(runner.smallest_green(rgb, cands, p, n) for n in d["standby"])
        d = {**d, "confidence": max(d["confidence"], min(own, standby))}
    return d


_calibration_runner: Optional[SignalExpertRunner] = None


def _init_calibration_worker(config: Dict, state: Dict, T: float, confirmation: bool):
    global _calibration_runner
    torch.set_num_threads(1)
    model = SignalReader(SignalConfig(**config))
    model.load_state_dict(state)
    _calibration_runner = SignalExpertRunner(model, T, {**FIXED_THRESHOLDS, "green": 0.0}, MEAN, STD, confirmation=confirmation)


def _calibration_rows(jobs):
    rows = []
    for job in jobs:
        rgb, truth, src = calibration_frame(job)
        d = green_confidence(_calibration_runner, rgb)
        rows.append((truth, src, {"state": d["state"], "confidence": d["confidence"], "frame": job[1]}))
    return rows


def calibrate(model, T, n_generated, confirmation=True, workers=2):
    """Green threshold from validation frames (with the green confirmation's smallest mass when
    `confirmation`); returns (thresholds, stats). The frames are read by `workers` processes
    (each one thread); the result does not depend on how many."""
    jobs = calibration_jobs(n_generated)
    chunks = [jobs[i:i + 200] for i in range(0, len(jobs), 200)]
    init = (model.c.to_dict(), model.state_dict(), T, confirmation)
    rows = []
    if workers <= 1:
        _init_calibration_worker(*init)
        for chunk in chunks:
            rows += _calibration_rows(chunk)
    else:
        with get_context("fork").Pool(workers, initializer=_init_calibration_worker, initargs=init) as pool:
            for done, part in enumerate(pool.imap(_calibration_rows, chunks), 1):
                rows += part
                if done % 10 == 0 or done == len(chunks):
                    print(f"calibration: {len(rows)} of {len(jobs)} frames", flush=True)
    # Non-green frames the rule would call green, greenest first: the first sets the threshold,
    # the first five are named for the next round of mining to look at.
    greenest = sorted(((d["confidence"], s, d["frame"], t) for t, s, d in rows if t != "green" and d["state"] == "green"),
                      key=lambda r: -r[0])
    worst = greenest[0][0] if greenest else 0.0
    green_thr = max(GREEN_FLOOR, (worst + 1.0) / 2)
    thr = {**FIXED_THRESHOLDS, "green": float(green_thr)}
    stats = {"frames": len(rows), "max_green_mass_on_non_green": float(worst),
             "greenest_non_green": [{"source": s, "frame": f, "truth": t, "green_mass": float(c)} for c, s, f, t in greenest[:5]]}
    for src in ("real_val", "generated_val"):
        sub = [(t, d) for t, s, d in rows if s == src]
        greens = [d for t, d in sub if t == "green"]
        stats[src] = {
            "n": len(sub),
            "green_recall_at_threshold": (sum(d["state"] == "green" and d["confidence"] >= green_thr for d in greens) / len(greens)) if greens else None,
            "false_greens_at_threshold": sum(t != "green" and d["state"] == "green" and d["confidence"] >= green_thr for t, d in sub),
        }
    return thr, stats


def class_weights(counts: torch.Tensor, negative_weight: float = 1.0) -> torch.Tensor:
    """Loss weight per class: the inverse square root of its crop count, not-a-signal's then
    multiplied by `negative_weight`, normalised to mean 1. (Not-a-signal is the commonest class,
    so without the factor a distractor read as a lamp costs the least of any mistake.)"""
    w = (counts.sum() / counts.clamp(min=1)).sqrt()
    w[NOT_SIGNAL] = w[NOT_SIGNAL] * float(negative_weight)
    return w / w.mean()


def real_sample_weights(y: torch.Tensor, source: torch.Tensor, real_weight: float, real_negative_weight: float = 1.0) -> torch.Tensor:
    """Per-crop loss weights: real crops (source 0) `real_weight`, their not-a-signal crops
    `real_negative_weight` times more; generated and composite crops 1.

    Why the second factor: the class weights (inverse square root of the counts) make not-a-signal,
    the commonest class, the cheapest to get wrong, and the real photos' distractors (clothing,
    foliage, a striped kerb) are few among the generated ones. The shipped reader read 10 % of its
    own real training negatives as a stop lamp and 10 % as a walk lamp (models/default/NOTES.md,
    2026-12-03), and those are the no-signal street photos it says "Wait." or "Signal unclear." on."""
    real = source == 0
    w = torch.where(real, torch.tensor(float(real_weight)), torch.tensor(1.0))
    return torch.where(real & (y == NOT_SIGNAL), w * float(real_negative_weight), w)


def train(a, world: World):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    wide = a.wide is not None
    xt, gt, yt, st, wt = load(os.path.join(a.data, "train.npz"), wide)
    for extra in a.extra:  # e.g. hard examples from lttw.signal_mining
        xe, ge, ye, se, we = load(extra, wide)
        xt, gt, yt, st = torch.cat([xt, xe]), torch.cat([gt, ge]), torch.cat([yt, ye]), torch.cat([st, se])
        wt = torch.cat([wt, we]) if wide else None
        print(f"{extra}: {len(ye)} more training crops", flush=True)
    xv, gv, yv, sv, wv = load(os.path.join(a.data, "val.npz"), wide)
    stem = {"stem": "conv", "stem_channels": list(a.stem_channels)} if a.stem_channels else {}
    views = {"wide_size": int(wt.shape[1]), "wide_context": a.wide} if wide else {}
    c = SignalConfig(patch_size=a.patch, width=a.width, depth=a.depth, heads=a.heads, **stem, **views)
    model = SignalReader(c)
    if a.init:  # a second round (e.g. on mined hard examples) starts from the first round's reader
        ck = torch.load(os.path.join(a.init, "best.pt"), map_location="cpu", weights_only=False)
        if a.deepen and {**ck["config"], "depth": c.depth} == c.to_dict() and ck["config"]["depth"] <= c.depth:
            first = SignalReader(SignalConfig(**ck["config"]))
            first.load_state_dict(ck["model"])
            model = deepened(first, c.depth)
            print(f"--init {a.init}: depth {ck['config']['depth']} deepened to {c.depth} (new blocks start as the identity)", flush=True)
        elif wide and {**ck["config"], "wide_size": c.wide_size, "wide_context": c.wide_context} == c.to_dict():
            first = SignalReader(SignalConfig(**ck["config"]))
            first.load_state_dict(ck["model"])
            model = widened(first, c.wide_size, c.wide_context)
            print(f"--init {a.init}: its reader widened (signal_model.widened: the wide view's head weights start at zero)", flush=True)
        elif ck["config"] != c.to_dict():
            raise SystemExit(f"--init {a.init}: its reader is {ck['config']}, this run asks for {c.to_dict()}"
                             + ("" if a.deepen else " (--deepen lets a shallower reader start a deeper one)"))
        else:
            model.load_state_dict(ck["model"])
    forward = world.wrap(model)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    counts = torch.bincount(yt, minlength=len(CLASSES)).float()
    weights = class_weights(counts, a.negative_weight)
    # Real crops count more (double by default): they are the domain the product meets.
    sample_w = real_sample_weights(yt, st, a.real_weight, a.real_negative_weight)
    steps_per_epoch = max(1, len(xt) // a.batch)
    total = steps_per_epoch * a.epochs
    step, log, best = 0, [], (1e9, -1)
    ck_path = os.path.join(a.run, "last.pt")
    if a.resume and os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, log, best = ck["step"], ck["log"], tuple(ck["best"])
    g = torch.Generator().manual_seed(a.seed + step)
    t0 = time.time()
    while step < total:
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(perm) - a.batch + 1, a.batch):
            if step >= total:
                break
            idx = world.shard(perm[i:i + a.batch])
            lr = warmup_cosine(a.lr, step, total)
            for group in opt.param_groups:
                group["lr"] = lr
            if wide:
                x, w = augment_pair(xt[idx], wt[idx], g, a.desaturate)
                x, w = to_input(x), to_input(w)
            else:
                x, w = to_input(augment(xt[idx], g, a.desaturate)), None
            geo = gt[idx].clone()
            flipped = torch.rand(len(idx), generator=g) < 0.5  # the frame mirrored: centre_x too
            geo[flipped, 0] = 1 - geo[flipped, 0]
            logits = forward(x, geo) if w is None else forward(x, geo, w)
            loss = (F.cross_entropy(logits, yt[idx], weight=weights, reduction="none") * sample_w[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if (step % steps_per_epoch == 0 or step == total) and world.is_main:
                _, nll, acc = crop_metrics(model, xv, gv, yv, wide=wv)
                real = sv == 0
                _, nll_r, acc_r = crop_metrics(model, xv[real], gv[real], yv[real], wide=None if wv is None else wv[real])
                row = {"step": step, "epoch": step / steps_per_epoch, "loss": loss.item(), "val_nll": nll, "val_acc": acc,
                       "val_real_nll": nll_r, "val_real_acc": acc_r, "minutes": (time.time() - t0) / 60}
                log.append(row)
                print(json.dumps(row), flush=True)
                if nll < best[0]:
                    best = (nll, step)
                    torch.save({"model": model.state_dict(), "config": c.to_dict(), "step": step}, os.path.join(a.run, "best.pt"))
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "config": c.to_dict(), "step": step,
                            "log": log, "best": list(best)}, ck_path)
    if world.is_main:
        with open(os.path.join(a.run, "log.json"), "w") as f:
            json.dump(log, f, indent=1)
    world.barrier()
    return model


def main():
    ap = argparse.ArgumentParser(description="Train and calibrate the signal expert's crop reader.")
    ap.add_argument("--data", default="training/data/signal")
    # --run_dir: under torchrun, "--run" would be taken for an abbreviation of its own --run-path.
    ap.add_argument("--run_dir", "--run", dest="run", default="training/runs/signal")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--stem_channels", type=int, nargs="*", default=[],
                    help="a convolutional stem in place of the patch embedding: the channels between the image's 3 and "
                         "--width, one per halving but the last (4-pixel patches: one, e.g. 32). Measured, not shipped "
                         "(models/default/NOTES.md); the Swift runtime refuses a signal reader with a stem")
    ap.add_argument("--wide", type=int, default=None,
                    help="read a wide view beside each crop, this many times the crop's side (the crop sets must hold "
                         "them: signal_data --wide with the same value); an --init reader without one is widened "
                         "(signal_model.widened). Measured, not shipped: the Swift runtime refuses such a reader")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--calibration_scenes", type=int, default=1000)
    ap.add_argument("--calibration_workers", type=int, default=2, help="processes that read the calibration frames")
    ap.add_argument("--init", help="a run folder whose best.pt the training starts from")
    ap.add_argument("--deepen", action="store_true",
                    help="--init may hold a shallower reader: its blocks are kept and the missing ones added after "
                         "them as the identity (signal_model.deepened)")
    ap.add_argument("--extra", nargs="*", default=[], help="more training crop sets (npz), e.g. mined hard examples")
    ap.add_argument("--desaturate", type=float, default=0.0,
                    help="share of the training crops pulled part of the way towards grey, hue kept (pale real LED "
                         "figures); 0: the augmentation of rounds 1-6")
    ap.add_argument("--real_weight", type=float, default=2.0, help="loss weight of the real photos' crops (generated and composite: 1)")
    ap.add_argument("--negative_weight", type=float, default=1.0,
                    help="not-a-signal's class weight is multiplied by this (default 1: the inverse square root of the counts alone)")
    ap.add_argument("--real_negative_weight", type=float, default=1.0,
                    help="the real photos' not-a-signal crops weigh this many times --real_weight (default 1: as the other real crops)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--calibrate-only", dest="calibrate_only", action="store_true")
    ap.add_argument("--no-confirmation", dest="no_confirmation", action="store_true",
                    help="calibrate (and ship) without the green confirmation views (models before v5)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    world = join("cpu")
    try:
        if not a.calibrate_only:
            train(a, world)
    finally:
        leave(world)
    if not world.is_main:
        return
    ck = torch.load(os.path.join(a.run, "best.pt"), map_location="cpu", weights_only=False)
    model = SignalReader(SignalConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    xv, gv, yv, _, wv = load(os.path.join(a.data, "val.npz"), model.c.wide_size is not None)
    logits, _, acc = crop_metrics(model, xv, gv, yv, wide=wv)
    T = fit_temperature(logits, yv)
    thr, stats = calibrate(model, T, a.calibration_scenes, confirmation=not a.no_confirmation, workers=a.calibration_workers)
    out = {"temperature": T, "thresholds": thr, "stats": {**stats, "val_crop_accuracy": acc}, "step": ck["step"],
           "green_confirmation": [] if a.no_confirmation else list(lamps.CONFIRMATION_VIEWS)}
    with open(os.path.join(a.run, "calibration.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Trains the green verifier (lttw.green_verifier) on the crops lttw.green_verifier_data built,
fits its temperature on validation crops, then calibrates the pair on validation frames (the
signal expert's calibration frames: the real val split and 80,000 generated validation scenes,
never ../shared/eval; with --unlit_scenes N also the unlit close-ups among N more, unlit_jobs).

    PYTHONPATH=training python -m lttw.green_verifier_train --model models/default \
        --train training/data/verifier/all.npz training/data/verifier/unlit.npz \
        --val training/data/verifier/val.npz --run training/runs/verifier
    ... --run training/runs/verifier --calibrate-only
    ... --run training/runs/verifier_recalibrated --calibrate-only --from_model   (the shipped verifier, after a rule change)
    ... --model NEW --run training/runs/verifier_kept --calibrate-only --verifier_from models/default
                                                  (the shipped verifier beside a new reader in model folder NEW)

Calibration: for each reader green threshold G, view misses m and red veto v on a short grid
(the reader's green held over its reads, the smallest once the m lowest are set aside, must reach
G; a lamp vetoes a green at stop mass v), every frame is decided by the reader at (G, m, v); a
frame the reader calls green, or a red the reader's greens overrule, is read by the verifier (its
smallest green over its views, never relaxed); a green's verifier green is the largest over its
walk lamp and the later standbys that hold, since the runtime tries those when the verifier turns
the walk lamp down (confirm_verified_standby). The verifier's threshold at (G, m, v) is the largest
verifier green on any non-green validation frame the reader called green there, raised by
--margin (default 0.5: halfway) of the way to 1 (at least 0.5), so no validation frame is a false
green, with a margin. (G, m, v) is the grid point with the most validation greens said (the mean
of the real and generated recalls; the higher G, then the fewer misses, then the lower veto on
ties). Frames are decided with the
runtime's second look (signal_model.sets_aside, thresholds.set_aside = SET_ASIDE): a candidate
read green that the verifier gives less than even odds is set aside and the frame decided again
without it; that decision stands when it is a stop.
"""
import argparse
import json
import os
import time
from multiprocessing import get_context
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import lamps
from .artifact import load_signal_expert, read_weights
from .generator import generate
from .green_verifier import (ARCHITECTURE, GreenVerifier, MobileNetVerifier, MobileNetVerifierConfig, architecture_of, load_verifier,
                             new_verifier, verifier_of)
from .preprocess import MEAN, STD
from .signal_mining import unlit_closeup
from .signal_model import SECOND_LOOK_STATES, SignalConfig, SignalExpertRunner, SignalReader, sets_aside, standby_after
from .signal_train import FIXED_THRESHOLDS, augment, calibration_frame, calibration_jobs, fit_temperature, to_input, warmup_cosine

# Finer near the top, where the calibrated points have landed since the verifier learned the green
# distractors (0.99 and 0.995 gave real val greens 0.68 and 0.88 with one step between them).
READER_GRID = [0.9, 0.95, 0.98, 0.99, 0.9925, 0.995, 0.998]
# How many of a green's reads may fall short of the reader threshold (thresholds.view_misses).
MISSES_GRID = [0, 1, 2]
# The stop mass at which a lamp vetoes a green (thresholds.red_veto; it must also hold in half its
# views, signal_model.confirm_veto). On held-out real pedestrian photos 0.3 let a red barrier, a
# patch of grass or another street's vehicle signal read at 0.4-0.7 silence 5 of 14 walk lamps
# missed (models/default/NOTES.md, 2026-12-03 midday), so 0.5 and 0.7 were put on the grid; on
# 40,000 calibration frames the grid would take 0.7 (with a verifier bar high enough that no frame
# walks). It stays at 0.3 by rule, not by calibration: the generator draws one signal per scene,
# so no calibration frame shows what a weaker veto risks on a real corner (the user's red read at
# 0.5 beside another crossing's walk lamp). A red in view keeps silencing walk.
VETO_GRID = [0.3]
GRID = [(G, m, v) for G in READER_GRID for m in MISSES_GRID for v in VETO_GRID]
VERIFY_FLOOR = 0.5
# The share of the way from the greenest non-green validation frame to 1 that the verifier's bar
# adds (--margin). Halfway is the shipped rule. A quarter, calibrated with the unlit close-ups
# (NOTES, 2026-12-05), chose a higher bar than the shipped one: their green pharmacy cross sets it.
VERIFY_MARGIN = 0.5
# thresholds.set_aside: a candidate read green that the verifier gives less than even odds is no
# lamp (signal_model.sets_aside). At or below VERIFY_FLOOR, so it never passes one the verifier accepts.
SET_ASIDE = 0.5


def load_sets(paths: List[str]):
    parts = [np.load(p) for p in paths]
    cat = lambda k: torch.from_numpy(np.concatenate([d[k] for d in parts]))  # noqa: E731
    return cat("x"), cat("geometry"), cat("y"), cat("reader_green"), cat("source")


def logits_of(model, x, geo, batch=512):
    """Logits of uint8 crops `x`, on the CPU, whatever device the model is on."""
    model.eval()
    dev = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(to_input(x[i:i + batch]).to(dev), geo[i:i + batch].to(dev)).cpu() for i in range(0, len(x), batch)])


def val_metrics(p: torch.Tensor, y: torch.Tensor, reader_green: torch.Tensor) -> Dict:
    """How well verifier greens `p` separate validation crops: accuracy at even odds, the reader's
    hard negatives (non-green crops it reads at least 0.9 green) turned down, greens kept, and what
    the calibration cares about — the largest green on any hard negative and the share of green
    crops above it (an extreme value: a few hundred validation scenes move it)."""
    hard = (y == 0) & (reader_green >= 0.9)
    worst = float(p[hard].max()) if hard.any() else 0.0
    return {"val_acc": float(((p >= 0.5).long() == y).float().mean()),
            "val_hard_negatives_rejected": float((p[hard] < 0.5).float().mean()) if hard.any() else None,
            "val_greens_kept": float((p[y == 1] >= 0.5).float().mean()),
            "val_hardest_negative": worst, "val_greens_above_hardest": float((p[y == 1] > worst).float().mean())}


def shape_of(a) -> Dict:
    """The new verifier's shape from the command line (ARCHITECTURE's keys; the crop stays 64 px)."""
    shape = {"patch_size": a.patch, "width": a.width, "depth": a.depth, "heads": a.heads}
    if a.stem_channels:
        shape.update(stem="conv", stem_channels=list(a.stem_channels))
    return shape


def training_sets(a):
    """Both trainers' start: threads, seed, the run folder, the training and validation crops,
    and each training crop's loss weight. The distractors the reader is sure of are the
    verifier's reason to exist: they count three times; real crops count `--real_weight` times
    (the domain the product meets)."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    xt, gt, yt, rt, st = load_sets(a.train)
    xv, gv, yv, rv, _ = load_sets(a.val)
    print(f"train {len(yt)} crops ({int(yt.sum())} green, {int((st == 0).sum())} real); val {len(yv)} ({int(yv.sum())} green)",
          flush=True)
    return (xt, gt, yt), (xv, gv, yv, rv), loss_weights(yt, rt, st, gt, a.real_weight, a.whole_green_weight)


def loss_weights(y: torch.Tensor, reader_green: torch.Tensor, source: torch.Tensor, geometry: torch.Tensor,
                 real_weight: float, whole_green_weight: float = 1.0) -> torch.Tensor:
    """Each training crop's loss weight: a non-green crop the reader reads ≥ 0.9 green counts 3,
    a real one (source 0) `real_weight` times, a green whole-frame crop (geometry's last column:
    the close-up rule's candidate) `whole_green_weight` times — the mined unlit close-ups add
    whole-frame negatives only, and a tiny photo blown up (sample 07) is read whole."""
    w = torch.where((y == 0) & (reader_green >= 0.9), 3.0, 1.0) * torch.where(source == 0, real_weight, 1.0)
    return w * torch.where((y == 1) & (geometry[:, 4] > 0.5), whole_green_weight, 1.0)


def save_best(model, run: str, step: int):
    torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}, "config": model.c.to_dict(), "step": step},
               os.path.join(run, "best.pt"))


def epoch_end(model, run: str, logits: torch.Tensor, val, step: int, steps_per_epoch: int, loss: float, t0: float,
              log: List, best: Tuple[float, int]) -> Tuple[float, int]:
    """Both trainers' end of an epoch: the validation row logged and printed, best.pt written when
    the validation NLL is the lowest yet; returns the (NLL, step) best so far."""
    yv, rv = val
    nll = float(F.cross_entropy(logits, yv))
    row = {"step": step, "epoch": round(step / steps_per_epoch, 2), "loss": loss, "val_nll": nll,
           **val_metrics(torch.softmax(logits, -1)[:, 1], yv, rv), "minutes": round((time.time() - t0) / 60, 2)}
    log.append(row)
    print(json.dumps(row), flush=True)
    if nll < best[0]:
        save_best(model, run, step)
        return nll, step
    return best


def train(a) -> Dict:
    (xt, gt, yt), (xv, gv, yv, rv), sample_w = training_sets(a)
    dev = torch.device(a.device)
    model = new_verifier(shape_of(a))
    if a.init_from_reader:
        model.load_state_dict(reader_as_verifier(a.model))
    elif a.init:  # a longer schedule continues a finished run
        model.load_state_dict(torch.load(os.path.join(a.init, "best.pt"), map_location="cpu", weights_only=False)["model"])
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    steps_per_epoch = max(1, len(xt) // a.batch)
    total = steps_per_epoch * a.epochs
    g = torch.Generator().manual_seed(a.seed)
    step, best, log, t0 = 0, (1e9, -1), [], time.time()
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
            x = to_input(augment(xt[idx], g, damage=a.damage, max_pixelate=a.max_pixelate)).to(dev)
            geo = gt[idx].clone()
            flipped = torch.rand(len(idx), generator=g) < 0.5
            geo[flipped, 0] = 1 - geo[flipped, 0]
            loss = (F.cross_entropy(model(x, geo.to(dev)), yt[idx].to(dev), reduction="none") * sample_w[idx].to(dev)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % steps_per_epoch == 0 or step == total:
                best = epoch_end(model, a.run, logits_of(model, xv, gv), (yv, rv), step, steps_per_epoch, loss.item(), t0, log, best)
    with open(os.path.join(a.run, "log.json"), "w") as f:
        json.dump(log, f, indent=1)
    return {"best_step": best[1]}


def train_mobilenet(a) -> Dict:
    """`train` for a verifier on an ImageNet MobileNetV2 trunk (`--trunk mobilenet_v2`): its first
    `--frozen_blocks` layers keep ImageNet's weights, so their outputs are computed once for
    `--feature_passes` augmented copies of every training crop (the pass an epoch reads turns
    with the epoch) and a step trains only the layers above. Same data, loss weights, geometry
    flips, validation and best-by-NLL checkpoint as `train`."""
    if not 0 < a.frozen_blocks < a.trunk_blocks:
        raise ValueError(f"--frozen_blocks must leave some of the {a.trunk_blocks} trunk layers to train; got {a.frozen_blocks}")
    (xt, gt, yt), (xv, gv, yv, rv), sample_w = training_sets(a)
    model = MobileNetVerifier(MobileNetVerifierConfig(trunk_blocks=a.trunk_blocks))
    print(f"trunk from {a.pretrained}: {model.load_pretrained_trunk(a.pretrained)} tensors", flush=True)
    frozen = a.frozen_blocks
    g = torch.Generator().manual_seed(a.seed)
    t0 = time.time()

    def features(x, augmented: bool) -> torch.Tensor:
        out = []
        for i in range(0, len(x), 1024):
            part = augment(x[i:i + 1024], g, damage=a.damage, max_pixelate=a.max_pixelate) if augmented else x[i:i + 1024]
            out.append(model.frozen_features(to_input(part), frozen))
        return torch.cat(out)

    fv = features(xv, False)
    passes = []
    for n in range(a.feature_passes):
        passes.append(features(xt, True))
        print(f"frozen features, pass {n + 1} of {a.feature_passes}: {tuple(passes[-1].shape)}, {time.time() - t0:.0f} s", flush=True)
    trunk = [q for q in model.trunk[frozen:].parameters()]
    head = [q for name, q in model.named_parameters() if not name.startswith("trunk.")]
    opt = torch.optim.AdamW([{"params": trunk, "base": a.trunk_lr or a.lr}, {"params": head, "base": a.lr}], weight_decay=0.05)
    steps_per_epoch = max(1, len(xt) // a.batch)
    total = steps_per_epoch * a.epochs
    step, best, log = 0, (1e9, -1), []

    def val_logits() -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return torch.cat([model(fv[i:i + 1024], gv[i:i + 1024], from_block=frozen) for i in range(0, len(fv), 1024)])

    while step < total:
        model.train()
        model.trunk[:frozen].eval()
        ft = passes[(step // steps_per_epoch) % len(passes)]
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(perm) - a.batch + 1, a.batch):
            if step >= total:
                break
            idx = perm[i:i + a.batch]
            for group in opt.param_groups:
                group["lr"] = warmup_cosine(group["base"], step, total)
            geo = gt[idx].clone()
            flipped = torch.rand(len(idx), generator=g) < 0.5
            geo[flipped, 0] = 1 - geo[flipped, 0]
            loss = (F.cross_entropy(model(ft[idx], geo, from_block=frozen), yt[idx], reduction="none") * sample_w[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % steps_per_epoch == 0 or step == total:
                best = epoch_end(model, a.run, val_logits(), (yv, rv), step, steps_per_epoch, loss.item(), t0, log, best)
                model.train()
                model.trunk[:frozen].eval()
    with open(os.path.join(a.run, "log.json"), "w") as f:
        json.dump(log, f, indent=1)
    return {"best_step": best[1]}


def temperature(model, val_paths: List[str]) -> float:
    """The temperature that minimises the validation crops' NLL."""
    xv, gv, yv, _, _ = load_sets(val_paths)
    return fit_temperature(logits_of(model, xv, gv), yv)


def shipped_verifier(model_dir: str, run: str) -> Tuple[SignalReader, float]:
    """The model folder's green verifier and its temperature; written to RUN/best.pt (so
    merge-verifier finds it)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    gv = (cfg.get("signal_expert") or {}).get("green_verifier")
    if gv is None:
        raise SystemExit(f"{model_dir}: no green verifier to recalibrate")
    prefix = gv["weights_prefix"]
    model = load_verifier({**gv["architecture"], "classes": gv["classes"]},
                          {k[len(prefix):]: v for k, v in read_weights(model_dir).items()
                           if k.startswith(prefix)}, f"{model_dir}/model.safetensors")
    os.makedirs(run, exist_ok=True)
    torch.save({"model": model.state_dict(), "config": model.c.to_dict(), "from_model": model_dir}, os.path.join(run, "best.pt"))
    return model, float(gv["temperature"])


def reader_as_verifier(model_dir: str) -> Dict[str, torch.Tensor]:
    """The model folder's signal reader as a starting verifier: a 4×4 patch of the 32×32 crop is the
    average of an 8×8 patch of the 64×64 one (2×2 blocks), so the patch embedding spread over the
    larger patch reads the same; blocks, positions and fc1 are copied, and fc2's two rows are the
    means of the reader's green rows and of the others. Training then sharpens it on what only
    the higher resolution shows."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    reader = load_signal_expert(cfg, read_weights(model_dir), model_dir)
    rc, vc = reader.c, new_verifier().c
    if (rc.width, rc.depth, rc.heads, rc.head_hidden) != (vc.width, vc.depth, vc.heads, vc.head_hidden) or \
            (rc.crop_size // rc.patch_size) != (vc.crop_size // vc.patch_size):
        raise SystemExit(f"{model_dir}: its reader {rc.to_dict()} does not map onto the verifier {vc.to_dict()}")
    f = vc.patch_size // rc.patch_size
    sd = {k: v.clone() for k, v in reader.state_dict().items()}
    w = sd["encoder.patch_embed.weight"]
    sd["encoder.patch_embed.weight"] = w.repeat_interleave(f, 2).repeat_interleave(f, 3) / (f * f)
    green = [reader.c.classes.index(c) for c in ("ped_green", "veh_green")]
    other = [n for n in range(len(reader.c.classes)) if n not in green]
    for name in ("fc2.weight", "fc2.bias"):
        v = sd[name]
        sd[name] = torch.stack([v[other].mean(0), v[green].mean(0)])
    return sd


# ----------------------------------------------------------------------------- calibration
class _FrameMemo(SignalExpertRunner):
    """The runner with each candidate's confirmation views read once per frame, whatever the
    green threshold: calibration decides every frame at several thresholds."""

    def reset(self):
        self._greens, self._stops = {}, {}

    def green_reads(self, rgb, cands, p, n):
        if n not in self._greens:
            self._greens[n] = super().green_reads(rgb, cands, p, n)
        return self._greens[n]

    def view_stops(self, rgb, cands, n, pedestrian):
        if (n, pedestrian) not in self._stops:
            self._stops[(n, pedestrian)] = super().view_stops(rgb, cands, n, pedestrian)
        return self._stops[(n, pedestrian)]


_pair = None


def _init_worker(model_dir: str, verifier_checkpoint: Dict, verifier_T: float):
    global _pair
    torch.set_num_threads(1)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    reader = load_signal_expert(cfg, read_weights(model_dir), model_dir)
    runner = _FrameMemo(reader, cfg["signal_expert"]["temperature"], {**FIXED_THRESHOLDS, "green": 1.0}, MEAN, STD, confirmation=True)
    _pair = (runner, GreenVerifier(verifier_of(verifier_checkpoint), verifier_T, MEAN, STD))


def frame_record(runner: _FrameMemo, verifier: GreenVerifier, rgb: np.ndarray) -> Dict:
    """What the pair needs to decide this frame at every (reader threshold, view misses) on the grid:
    ("green", verifier green) when the reader says green; ("disagree", the state it overrules, the
    largest verifier green of the greens that hold in their views) when the reader's greens
    overrule a red or yellow; (state, None) otherwise; and, when the second look's decision is
    itself such a disagreement, ("second", the first decision's record, the stop it overrules, the
    largest verifier green of its held greens): the stop stands only where the verifier turns
    them all down, as the runtime's held_green does. A green's verifier green is the largest over
    its walk lamp and the later standbys that hold (confirm_verified_standby). Where the walk lamp
    itself would be set aside, the record is wrapped as ("standby", the record the second look
    gives, ("green", the standbys' largest)): a standby the verifier passes walks before the second
    look is taken. (The second look keeps such a standby as a disagreeing green, so the wrap changes
    no outcome today; it states the runtime's order rather than rely on that.)"""
    runner.reset()
    cands, p = runner.probabilities(rgb)
    verified: Dict[int, float] = {}

    def verify(n):
        if n not in verified:
            verified[n] = verifier.smallest_green(rgb, cands[n])
        return verified[n]

    def rescue(d, G, m):
        """The largest verifier green of the standbys after d's walk lamp that hold at G
        (confirm_verified_standby: the first the verifier passes walks), or None."""
        held = [n for n in standby_after(d) if runner.smallest_green(rgb, cands, p, n, m) >= G]
        return max(verify(n) for n in held) if held else None

    def record(d, G, m):
        if d["state"] == "green":
            later = rescue(d, G, m)
            return ("green", max(verify(d["candidate"]), later if later is not None else 0.0))
        if d.get("why") == "candidates disagree":
            held = [n for n in d["greens"] if runner.smallest_green(rgb, cands, p, n, m) >= G]
            return ("disagree", d["decided"], max(verify(n) for n in held))
        return (d["state"], None)

    figures = lamps.figure_indices(cands)
    out = {}
    for G, m, v in GRID:
        thr = {**FIXED_THRESHOLDS, "green": G, "view_misses": m, "red_veto": v, "set_aside": SET_ASIDE}
        d = runner.decide_look(rgb, cands, p, thr, figures)
        first = record(d, G, m)
        # The runtime's second look (the runner here has no verifier of its own): a green the
        # reader passes but the verifier gives less than even odds fails at every calibrated
        # threshold (>= VERIFY_FLOOR), so it is set aside as a doubt would be.
        if (d["state"] == "green" or sets_aside(d, thr)) and verify(d["candidate"]) < SET_ASIDE:
            second = runner.decide_look(rgb, cands, p, thr, (d["candidate"],) + figures)
            if second["state"] in SECOND_LOOK_STATES:
                first = record(second, G, m)
            elif second.get("why") == "candidates disagree" and second["decided"] in SECOND_LOOK_STATES:
                first = ("second", first) + record(second, G, m)[1:]
            # A later standby the verifier passes walks before any second look is taken.
            later = rescue(d, G, m) if d["state"] == "green" else None
            if later is not None:
                first = ("standby", first, ("green", later))
        # Figures can add a walk (SignalExpertRunner.decide_frame): the frame decided with them
        # walks wherever its green passes the verifier, whatever the first decision says.
        if figures:
            walk = runner.confirmed(rgb, cands, p, thr)
            if walk["state"] == "green":
                first = ("figures", first, record(walk, G, m))
        out[(G, m, v)] = first
    return out


# Unlit close-ups for the calibration (--unlit_scenes): seeds after the fresh check sets
# (4,630,000+, 4,660,000+, 4,690,000+, 11,500 each), before the countdown's 5,000,000+.
UNLIT_VAL_SEEDS = 4_720_000


def unlit_jobs(n_seeds: int) -> List:
    """Calibration jobs for the unlit close-ups among n_seeds generated scenes (about one in
    seven): close-ups and tiny crops of unlit heads and ground views, where a dark walk lamp or a
    green reflection can fool the pair. The natural mix holds too few of them to set the bar: the
    80,087-frame calibration let 5 non-green frames past reader 0.9925, while 8,573 fresh non-green
    frames gave one more, an unlit walk lamp close up (4,633,548) the verifier passed at 0.83
    (models/default/NOTES.md, 2026-12-04)."""
    return [("unlit_val", s, None) for s in range(UNLIT_VAL_SEEDS, UNLIT_VAL_SEEDS + n_seeds)]


def _rows(jobs):
    runner, verifier = _pair
    rows = []
    for job in jobs:
        if job[0] == "unlit_val":
            scene = generate(job[1])
            if not unlit_closeup(scene):
                continue
            rgb, truth, src = np.ascontiguousarray(scene.bgr[..., ::-1]), "off_or_none", job[0]
        else:
            rgb, truth, src = calibration_frame(job)
        rows.append((truth, src, job[1], frame_record(runner, verifier, rgb)))
    return rows


def save_rows(run: str, rows: List):
    """Every calibration frame's record, to recalibrate without reading the frames again."""
    with open(os.path.join(run, "calibration_rows.json"), "w") as f:
        json.dump([[t, s, fr, {f"{G}/{m}/{v}": r for (G, m, v), r in rec.items()}] for t, s, fr, rec in rows], f)


def run_verifier(old_run: str, run: str) -> Tuple[SignalReader, float]:
    """OLD_RUN's verifier and the temperature its calibration rows were read at, so rows reused
    with --rows_from and the frames read now come from one verifier; written to RUN/best.pt for
    merge-verifier."""
    state = torch.load(os.path.join(old_run, "best.pt"), map_location="cpu", weights_only=False)
    model = verifier_of(state)
    with open(os.path.join(old_run, "calibration.json")) as f:
        T = float(json.load(f)["temperature"])
    if os.path.abspath(old_run) != os.path.abspath(run):
        os.makedirs(run, exist_ok=True)
        torch.save(state, os.path.join(run, "best.pt"))
    return model, T


def load_rows(run: str) -> List:
    """A run's calibration rows (calibration_rows.json) as `calibrate` returns them."""
    with open(os.path.join(run, "calibration_rows.json")) as f:
        saved = json.load(f)
    def rule(key):
        G, m, v = key.split("/")
        return float(G), int(m), float(v)
    return [(t, s, fr, {rule(k): r for k, r in rec.items()}) for t, s, fr, rec in saved]


def final_state(record, rule, t_verify: float) -> str:
    return _final(record[rule], t_verify)


def _final(r, t_verify: float) -> str:
    if r[0] in ("figures", "standby"):
        return "green" if _final(r[2], t_verify) == "green" else _final(r[1], t_verify)
    if r[0] == "second":
        return r[2] if r[3] < t_verify else _final(r[1], t_verify)
    if r[0] == "green":
        return "green" if r[1] >= t_verify else "unknown"
    if r[0] == "disagree":
        return "unknown" if r[2] >= t_verify else r[1]
    return r[0]


def verify_bar(worst: float, margin: float = VERIFY_MARGIN) -> float:
    """The verifier's threshold above the greenest non-green validation frame `worst`: `margin` of
    the way from it to 1, never under VERIFY_FLOOR."""
    if not 0 < margin <= 1:
        raise ValueError(f"the verifier's margin is a share of the way to 1, in (0, 1]; got {margin}")
    return max(VERIFY_FLOOR, worst + margin * (1.0 - worst))


def choose(rows, margin: float = VERIFY_MARGIN, pin: Optional[Tuple[float, int]] = None) -> Dict:
    """The reader threshold, view misses and verifier threshold (see the module doc) and the
    figures behind them. `pin` (reader green, view misses): choose among that point's vetoes only
    (--pin), e.g. to keep the halfway margin's reader point under a wider margin; the whole grid
    is still read and recorded."""
    table = []
    def reader_green(r):
        """The verifier green of a frame the reader called green first (a second look's record
        wraps the first decision's; a figures record the decisions without and with the figures:
        the greener of the two), or None."""
        if r[0] in ("figures", "standby"):
            both = [g for g in (reader_green(r[1]), reader_green(r[2])) if g is not None]
            return max(both) if both else None
        return r[1] if r[0] == "green" else reader_green(r[1]) if r[0] == "second" else None

    for rule in GRID:
        fooled = sorted(((reader_green(rec[rule]), src, frame) for truth, src, frame, rec in rows
                         if truth != "green" and reader_green(rec[rule]) is not None), reverse=True)
        worst = fooled[0][0] if fooled else 0.0
        t = verify_bar(worst, margin)
        entry = {"reader_green": rule[0], "view_misses": rule[1], "red_veto": rule[2], "verify": t, "max_verifier_green_on_non_green": worst,
                 "margin": margin,
                 "greenest_non_green": [{"source": s, "frame": f, "verifier_green": v} for v, s, f in fooled[:5]]}
        for src in ("real_val", "generated_val"):
            sub = [(truth, final_state(rec, rule, t)) for truth, s, _, rec in rows if s == src]
            greens = [said for truth, said in sub if truth == "green"]
            entry[src] = {"n": len(sub), "green_recall": sum(s == "green" for s in greens) / max(1, len(greens)),
                          "false_greens": sum(truth != "green" and said == "green" for truth, said in sub),
                          "light_accuracy": sum((truth if truth != "off_or_none" else "none") == said for truth, said in sub) / max(1, len(sub))}
        table.append(entry)
    allowed = [e for e in table if pin is None or (e["reader_green"], e["view_misses"]) == (float(pin[0]), int(pin[1]))]
    if not allowed:
        raise ValueError(f"--pin {pin[0]} {pin[1]} is not a point of the grid (reader green, view misses): "
                         f"{sorted({(e['reader_green'], e['view_misses']) for e in table})}")
    best = max(allowed, key=lambda e: ((e["real_val"]["green_recall"] + e["generated_val"]["green_recall"]) / 2,
                                     e["reader_green"], -e["view_misses"], -e["red_veto"]))
    return {"reader_green": best["reader_green"], "view_misses": best["view_misses"], "red_veto": best["red_veto"],
            "verify": best["verify"], "margin": margin, **({"pinned": [float(pin[0]), int(pin[1])]} if pin else {}), "grid": table}


def calibrate(model_dir: str, verifier, T: float, n_generated: int, workers: int, n_unlit: int = 0,
              rows_from: Optional[str] = None, margin: float = VERIFY_MARGIN, pin: Optional[Tuple[float, int]] = None) -> Dict:
    """The chosen rule and every frame's record. rows_from: take the real val and generated
    frames' rows from that run (computed with the same verifier) and read only the unlit ones."""
    rows = load_rows(rows_from) if rows_from else []
    jobs = ([] if rows_from else calibration_jobs(n_generated)) + unlit_jobs(n_unlit)
    chunks = [jobs[i:i + 200] for i in range(0, len(jobs), 200)]
    with get_context("fork").Pool(workers, initializer=_init_worker, initargs=(model_dir, {"model": verifier.state_dict(), "config": verifier.c.to_dict()}, T)) as pool:
        for done, part in enumerate(pool.imap(_rows, chunks), 1):
            rows += part
            if done % 10 == 0 or done == len(chunks):
                print(f"calibration: {min(done * 200, len(jobs))} of {len(jobs)} jobs, {len(rows)} frames", flush=True)
    return choose(rows, margin, pin), rows


def main():
    ap = argparse.ArgumentParser(description="Train and calibrate the green verifier.")
    ap.add_argument("--model", default="models/default", help="model folder whose signal reader the verifier backs")
    ap.add_argument("--train", nargs="+", default=["training/data/verifier/all.npz", "training/data/verifier/unlit.npz"])
    ap.add_argument("--val", nargs="+", default=["training/data/verifier/val.npz"])
    ap.add_argument("--run", default="training/runs/verifier")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="where training runs (cpu, cuda); calibration always runs on the CPU")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real_weight", type=float, default=2.0, help="loss weight of the real photos' crops")
    ap.add_argument("--damage", type=float, default=0.0,
                    help="share of training crops given one kind of the exports' damage (signal_train.export_damage)")
    ap.add_argument("--whole_green_weight", type=float, default=1.0,
                    help="loss weight of green whole-frame crops (the close-up rule's candidate; sample 07 is read whole)")
    ap.add_argument("--max_pixelate", type=float, default=4.0,
                    help="the damage's strongest pixelation, as a downscale factor (8 reaches a tiny photo blown up, sample 07)")
    ap.add_argument("--calibration_scenes", type=int, default=80000)
    ap.add_argument("--unlit_scenes", type=int, default=0,
                    help="also calibrate on the unlit close-ups among this many more generated scenes (unlit_jobs)")
    ap.add_argument("--rows_from", metavar="RUN",
                    help="with --calibrate-only: RUN's verifier, its temperature and its calibration rows; only the unlit frames are read")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pin", type=float, nargs=2, metavar=("READER_GREEN", "VIEW_MISSES"),
                    help="choose the verifier bar at this grid point only (e.g. 0.99 1), the whole grid still read and recorded")
    ap.add_argument("--margin", type=float, default=VERIFY_MARGIN,
                    help="the verifier's bar: this share of the way from the greenest non-green validation frame to 1 "
                         "(0.5, halfway, is the shipped rule)")
    ap.add_argument("--calibrate-only", dest="calibrate_only", action="store_true")
    ap.add_argument("--val-report", dest="val_report", action="store_true",
                    help="with --calibrate-only: print the verifier's separation on each --val crop set "
                         "(val_metrics, at its temperature) and stop before calibrating")
    ap.add_argument("--patch", type=int, default=ARCHITECTURE["patch_size"],
                    help="patch side of a new verifier (its crops stay 64 px: 4 gives four times the tokens of 8 and took ten times "
                         "as long to train on 2 CPU cores)")
    ap.add_argument("--width", type=int, default=ARCHITECTURE["width"], help="encoder width of a new verifier")
    ap.add_argument("--depth", type=int, default=ARCHITECTURE["depth"], help="encoder blocks of a new verifier")
    ap.add_argument("--heads", type=int, default=ARCHITECTURE["heads"], help="attention heads of a new verifier (must divide --width)")
    ap.add_argument("--stem_channels", type=int, nargs="+", default=None,
                    help="a convolutional stem in place of the patch embedding, with these channels between the image's and "
                         "the encoder's (one per halving but the last: 2 for 8 px patches, e.g. 16 32)")
    ap.add_argument("--trunk", choices=["vit", "mobilenet_v2"], default="vit",
                    help="mobilenet_v2: a new verifier on ImageNet MobileNetV2 layers (green_verifier.MobileNetVerifier), "
                         "needs --pretrained; its first --frozen_blocks layers are held")
    ap.add_argument("--trunk_blocks", type=int, default=MobileNetVerifierConfig.trunk_blocks, help="MobileNetV2 layers kept")
    ap.add_argument("--pretrained", help="ImageNet MobileNetV2 state dict (training/fetch_pretrained.sh)")
    ap.add_argument("--frozen_blocks", type=int, default=11, help="MobileNetV2 layers held at ImageNet's weights")
    ap.add_argument("--feature_passes", type=int, default=2, help="augmented copies of the training crops' frozen features")
    ap.add_argument("--trunk_lr", type=float, default=None, help="learning rate of the trained trunk layers (default: --lr)")
    ap.add_argument("--calibration", dest="calibration", action=argparse.BooleanOptionalAction, default=True,
                    help="calibrate after training (--no-calibration: train only, e.g. to compare shapes by --val-report first)")
    ap.add_argument("--init", help="start from this verifier run's best.pt (a second, longer schedule)")
    ap.add_argument("--init_from_reader", action="store_true",
                    help="start from the model folder's signal reader (its patch embedding spread over the larger patch)")
    ap.add_argument("--from_model", action="store_true",
                    help="with --calibrate-only: recalibrate the model folder's own verifier (its weights and temperature, "
                         "e.g. after a change to the decision rule); RUN then holds them for `lttw.artifact merge-verifier`")
    ap.add_argument("--verifier_from", metavar="DIR",
                    help="with --calibrate-only: calibrate the green verifier of model folder DIR (its weights and temperature) "
                         "with --model's signal reader, e.g. the shipped verifier kept beside a new reader (merge-signal drops it)")
    a = ap.parse_args()
    if a.from_model:
        a.verifier_from = a.verifier_from or a.model
    torch.set_num_threads(a.threads)
    if (a.verifier_from or a.val_report or a.rows_from) and not a.calibrate_only:
        ap.error("--from_model, --verifier_from, --val-report and --rows_from read a trained verifier: use them with --calibrate-only")
    if a.init_from_reader and shape_of(a) != {k: ARCHITECTURE.get(k) for k in shape_of(a)}:
        ap.error("--init_from_reader maps the reader onto the shipped verifier shape: leave --patch/--width/--depth/--heads at their defaults")
    if a.trunk == "mobilenet_v2" and not a.calibrate_only:
        if not a.pretrained:
            ap.error("--trunk mobilenet_v2 starts from ImageNet weights: give --pretrained (training/fetch_pretrained.sh)")
        if not 0 < a.frozen_blocks < a.trunk_blocks:
            ap.error(f"--frozen_blocks {a.frozen_blocks} must leave some of the {a.trunk_blocks} --trunk_blocks to train")
        if a.device != "cpu" or a.init or a.init_from_reader or a.stem_channels or shape_of(a) != {k: ARCHITECTURE.get(k) for k in shape_of(a)}:
            ap.error("--trunk mobilenet_v2 trains on the CPU from ImageNet weights: --device, --init, --init_from_reader and the "
                     "patch reader's shape flags (--patch/--width/--depth/--heads/--stem_channels) do not apply")
    if not a.calibrate_only:
        train_mobilenet(a) if a.trunk == "mobilenet_v2" else train(a)
    if a.verifier_from:
        model, T = shipped_verifier(a.verifier_from, a.run)
        print(f"temperature {T:.4f} ({a.verifier_from}'s)", flush=True)
    elif a.rows_from:
        model, T = run_verifier(a.rows_from, a.run)
        print(f"temperature {T:.4f} ({a.rows_from}'s, with its rows)", flush=True)
    else:
        model = verifier_of(torch.load(os.path.join(a.run, "best.pt"), map_location="cpu", weights_only=False))
        T = temperature(model, a.val)
        print(f"temperature {T:.4f} (validation crops)", flush=True)
    if a.val_report or not a.calibration:
        for path in a.val:
            xv, gv, yv, rv, sv = load_sets([path])
            p = torch.softmax(logits_of(model, xv, gv) / T, -1)[:, 1]
            print(f"{path}: {len(yv)} crops, {int(yv.sum())} green: {json.dumps(val_metrics(p, yv, rv))}", flush=True)
            real = sv == 0
            if real.any():  # the real val split's crops alone: the domain the product meets
                print(f"{path}, real crops: {int(real.sum())}, {int(yv[real].sum())} green: "
                      f"{json.dumps(val_metrics(p[real], yv[real], rv[real]))}", flush=True)
        return
    t0 = time.time()
    chosen, rows = calibrate(a.model, model, T, a.calibration_scenes, a.workers, a.unlit_scenes, a.rows_from, a.margin,
                             (a.pin[0], int(a.pin[1])) if a.pin else None)
    # The fixed thresholds that shape the decision (red_veto_side) travel with the calibration.
    fixed = {k: FIXED_THRESHOLDS[k] for k in ("red_veto_side",) if k in FIXED_THRESHOLDS} | {"set_aside": SET_ASIDE}
    out = {"temperature": T, "thresholds": {"green": chosen["reader_green"], "view_misses": chosen["view_misses"],
                                            "red_veto": chosen["red_veto"], "verify": chosen["verify"], **fixed},
           "architecture": architecture_of(model), "calibration": chosen, "frames": len(rows), "minutes": round((time.time() - t0) / 60, 1)}
    with open(os.path.join(a.run, "calibration.json"), "w") as f:
        json.dump(out, f, indent=1)
    save_rows(a.run, rows)
    for e in chosen["grid"]:
        print(f"reader {e['reader_green']} misses {e['view_misses']} veto {e['red_veto']}: verify {e['verify']:.5f}  real val greens {e['real_val']['green_recall']:.3f} "
              f"light {e['real_val']['light_accuracy']:.3f}  generated greens {e['generated_val']['green_recall']:.3f} "
              f"light {e['generated_val']['light_accuracy']:.3f}")
    print(f"chosen: reader green {chosen['reader_green']}, view misses {chosen['view_misses']}, verify {chosen['verify']:.5f}")


if __name__ == "__main__":
    main()

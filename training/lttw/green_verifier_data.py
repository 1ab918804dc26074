"""Crops for the green verifier (lttw.green_verifier), at 64×64.

    PYTHONPATH=training python -m lttw.green_verifier_data --model models/default \
        --out training/data/verifier/train.npz --n_generated 30000

Every candidate the proposer finds is labelled as `lttw.signal_data` labels it (SKIP stays
skipped), then read by the model folder's signal reader. Kept:
  - every green lamp (pedestrian or vehicle green): the positives;
  - every other candidate the reader gives a green mass of at least `--min_green`: the
    distractors the verifier is for (unlit heads, specks, foliage, signs, red and yellow lamps);
  - a few of the rest (`--easy`), so it still knows an ordinary blob.
Each kept candidate gives `--copies` jittered squares (signal_data.jittered_rect: context 3-5.2,
centre ±0.12) plus its exact runtime square; real photos (the train split of ../shared/train/real,
with extra positives straight from their lamp boxes) are read `--real_passes` times with
different jitter. Generated scenes come from the mining range (seeds 4,200,000+, never the
validation or test ranges); the model's own training never read most of them.
"""
import argparse
import os
import time
from multiprocessing import Pool

import numpy as np
import torch

from . import lamps
from .artifact import load_signal_expert, read_weights
from .generator import generate
from .green_verifier import CROP_SIZE
from .preprocess import MEAN, STD
from .signal_data import SKIP, box_candidates, jittered_rect, label_generated, label_real, real_frames, real_rows
from .signal_mining import SCENES
from .signal_model import candidate_probabilities

GREEN = (2, 5)
VAL_SEEDS = 4_580_000  # after the pair's 80,000 calibration scenes (4,500,000+; the shipped verifier's val crops came from 4,520,000+)
SOURCES = ["real", "generated"]

_reader = None
_temperature = 1.0


def _init(model_dir: str):
    global _reader, _temperature
    import json

    torch.set_num_threads(1)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    _reader = load_signal_expert(cfg, read_weights(model_dir), model_dir)
    _temperature = float(cfg["signal_expert"]["temperature"])


def _greens(rgb, cands) -> np.ndarray:
    p = candidate_probabilities(_reader, rgb, cands, MEAN, STD, _temperature)
    return p[:, 2] + p[:, 5]


def _crops(rgb, labelled, copies, min_green, easy, rng):
    labelled = [(k, y) for k, y in labelled if y != SKIP]
    if not labelled:
        return [], [], [], []
    H, W = rgb.shape[:2]
    greens = _greens(rgb, [k for k, _ in labelled])
    xs, ys, gs, rs = [], [], [], []
    for (k, y), q in zip(labelled, greens):
        positive = y in GREEN
        if not (positive or q >= min_green or rng.random() < easy):
            continue
        rects = [lamps.crop_rect(k, W, H)] + [jittered_rect(k, W, H, rng) for _ in range(copies)]
        g = lamps.geometry(k, W, H)
        for r in rects:
            xs.append(np.clip(np.rint(lamps.sample_rect(rgb, r, CROP_SIZE)), 0, 255).astype(np.uint8))
            ys.append(1 if positive else 0)
            gs.append(g)
            rs.append(float(q))
    return xs, ys, gs, rs


def _generated_job(args):
    seeds, copies, min_green, easy, scenes, distractors = args
    rng = np.random.default_rng(seeds[0])
    out = ([], [], [], [])
    for s in seeds:
        scene = generate(s, green_distractors=distractors)
        if not SCENES[scenes](scene):
            continue
        rgb, lab = label_generated(scene)
        for acc, part in zip(out, _crops(rgb, lab, copies, min_green, easy, rng)):
            acc += part
    return out


def _real_job(args):
    rows, copies, min_green, easy, seed = args
    rng = np.random.default_rng(seed)
    out = ([], [], [], [])
    for row, rgb in real_frames(rows):
        H, W = rgb.shape[:2]
        lab = label_real(row, rgb) + box_candidates(row, W, H, rng)
        for acc, part in zip(out, _crops(rgb, lab, copies, min_green, easy, rng)):
            acc += part
    return out


def build(model_dir: str, n_generated: int, first_seed: int, copies: int, real_passes: int, min_green: float,
          easy: float, workers: int, scenes: str = "all", split: str = "train", distractors: bool = False) -> dict:
    rows = real_rows(split) if real_passes else []
    jobs_real = [(rows[i:i + 40], copies, min_green, easy, 1000 * p + i) for p in range(real_passes) for i in range(0, len(rows), 40)]
    jobs_gen = [(list(range(first_seed + i, first_seed + min(n_generated, i + 100))), copies, min_green, easy, scenes, distractors)
                for i in range(0, n_generated, 100)]
    xs, ys, gs, rs, src = [], [], [], [], []
    t0 = time.time()
    with Pool(workers, initializer=_init, initargs=(model_dir,)) as pool:
        for name, fn, jobs in (("real", _real_job, jobs_real), ("generated", _generated_job, jobs_gen)):
            if not jobs:
                continue
            for done, (a, b, c, d) in enumerate(pool.imap(fn, jobs), 1):
                xs += a
                ys += b
                gs += c
                rs += d
                src += [SOURCES.index(name)] * len(a)
                if done % 25 == 0 or done == len(jobs):
                    print(f"{name}: {done}/{len(jobs)} jobs, {len(xs)} crops ({sum(ys)} green), {time.time() - t0:.0f} s", flush=True)
    return {"x": np.stack(xs), "geometry": np.stack(gs), "y": np.asarray(ys, np.int64),
            "reader_green": np.asarray(rs, np.float32), "source": np.asarray(src, np.int64)}


def main():
    ap = argparse.ArgumentParser(description="Build the green verifier's 64×64 crops from the model folder's signal reader.")
    ap.add_argument("--model", default="models/default", help="model folder whose signal reader picks the distractors")
    ap.add_argument("--out", default="training/data/verifier/train.npz")
    ap.add_argument("--n_generated", type=int, default=30000)
    ap.add_argument("--first_seed", type=int, default=4_206_000, help="first generated seed (mining range, 4,200,000-4,500,000)")
    ap.add_argument("--copies", type=int, default=2, help="jittered squares per candidate, besides the exact one")
    ap.add_argument("--real_passes", type=int, default=3, help="times the real train split is read (different jitter)")
    ap.add_argument("--min_green", type=float, default=0.05, help="a non-green candidate is kept from this reader green mass up")
    ap.add_argument("--easy", type=float, default=0.02, help="share of the other non-green candidates kept")
    ap.add_argument("--scenes", choices=sorted(SCENES), default="all",
                    help="all generated scenes, or only those where no lamp is lit (close-ups, tiny crops, ground views)")
    ap.add_argument("--green_distractors", action="store_true",
                    help="generated scenes with extra green things that are not signals (pharmacy crosses, green "
                         "reflections, teal crowns, LED signs: generator._green_distractors), the verifier's hard negatives")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--split", choices=["train", "val"], default="train",
                    help="val: the real val split (once; not with --real_passes 0) and generated validation scenes "
                         "(seeds 4,580,000-4,599,999, after the 80,000 the calibration reads), exact runtime squares only, "
                         "for early stopping and the temperature")
    a = ap.parse_args()
    if a.split == "val":
        a.first_seed, a.copies, a.real_passes = max(a.first_seed, VAL_SEEDS), 0, min(a.real_passes, 1)
    lo, hi = (VAL_SEEDS, 4_600_000) if a.split == "val" else (4_200_000, 4_500_000)
    if not (lo <= a.first_seed and a.first_seed + a.n_generated <= hi):
        raise SystemExit(f"--first_seed {a.first_seed} + --n_generated {a.n_generated} leaves the {a.split} range {lo:,}-{hi:,}")
    d = build(a.model, a.n_generated, a.first_seed, a.copies, a.real_passes, a.min_green, a.easy, a.workers, a.scenes, a.split,
              a.green_distractors)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    np.savez(a.out, **d)
    print(f"wrote {a.out}: {len(d['y'])} crops, {int(d['y'].sum())} green, "
          f"{int((d['source'] == 0).sum())} real")


if __name__ == "__main__":
    main()

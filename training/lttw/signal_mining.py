"""Hard examples for the signal expert, mined with a trained reader (bootstrapping).

The green threshold is set by the greenest non-green validation frame, so a handful of
lamp-like distractors (a teal bin in sunlight, a green reflection on a wet road, an unlit LED
figure) decide how many real walk signals the product can announce. This reads fresh generated
training scenes and the real train split with a trained reader and keeps, with several jittered
crops each:

  - not-a-signal candidates the reader calls a signal or green (signal or green mass >= --min_mass),
  - signal candidates it reads wrongly or weakly (true class mass < 0.9; for the green classes
    < --green_hard, since a green below the operating threshold is as unspoken as a wrong one),

from every scene, or (`--scenes unlit`) only from close-ups, tiny crops and ground views where
no lamp is lit, the frames that set the green threshold,

labelled exactly as `lttw.signal_data` labels them (SKIP stays skipped: unknown is not
negative). Seeds come from their own range, never the validation or test seeds.

    python -m lttw.signal_mining --run training/runs/signal_v2 --out training/data/signal/mined.npz
"""
import argparse
import json
import os
import time
from multiprocessing import Pool
from typing import Optional

import numpy as np
import torch

from .generator import generate
from .preprocess import MEAN, STD
from .signal_data import CLASSES, NOT_SIGNAL, SKIP, crop_set, crops_of, label_generated, label_real, real_frames, real_rows
from .signal_model import SignalConfig, SignalExpertRunner, SignalReader

MINING_SEEDS = 4_200_000  # between the train (4,000,000+) and val (4,500,000+) scene ranges
GREEN = (2, 5)

_runner = None


def _load_runner(run: str) -> SignalExpertRunner:
    ck = torch.load(os.path.join(run, "best.pt"), map_location="cpu", weights_only=False)
    cal = json.load(open(os.path.join(run, "calibration.json")))
    model = SignalReader(SignalConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    return SignalExpertRunner(model, cal["temperature"], cal["thresholds"], MEAN, STD)


def _init(run: str):
    global _runner
    torch.set_num_threads(1)
    _runner = _load_runner(run)


def hard(labelled, p: np.ndarray, min_mass: float, green_hard: float = 0.9):
    """The labelled candidates the reader gets wrong or nearly wrong."""
    out = []
    for (k, y), q in zip(labelled, p):
        if y == SKIP:
            continue
        if y == NOT_SIGNAL:
            if 1.0 - q[0] >= min_mass or q[list(GREEN)].sum() >= min_mass:
                out.append((k, y))
        elif q[y] < (green_hard if y in GREEN else 0.9):
            out.append((k, y))
    return out


def _mine(rgb: np.ndarray, labelled, copies: int, min_mass: float, green_hard: float, rng, wide: Optional[int] = None):
    if not labelled:
        return [], [], [], []
    p = _runner.class_probabilities(rgb, [k for k, _ in labelled])
    return crops_of(rgb, hard(labelled, p, min_mass, green_hard), copies, rng, wide)


def unlit_closeup(scene) -> bool:
    """A frame the whole-frame candidate reads and no lamp lights: a close-up or tiny crop of an
    unlit head (or of none), or a ground view. The 20,000-frame calibration's greenest non-green
    frames were of this kind (an unlit vehicle head read as green through the whole frame)."""
    framing = scene.facts["conditions"]["framing"]
    return framing in ("closeup", "tiny", "ground") and scene.facts["light"]["state"] in ("off", "none")


SCENES = {"all": lambda scene: True, "unlit": unlit_closeup}


def _generated_job(args):
    seeds, copies, min_mass, green_hard, scenes, wide = args
    rng = np.random.default_rng(seeds[0])
    xs, ys, gs, ws = [], [], [], []
    for s in seeds:
        scene = generate(s)
        if not SCENES[scenes](scene):
            continue
        rgb, lab = label_generated(scene)
        a, b, c, d = _mine(rgb, lab, copies, min_mass, green_hard, rng, wide)
        xs += a
        ys += b
        gs += c
        ws += d
    return xs, ys, gs, ws


def _real_job(args):
    rows, copies, min_mass, green_hard, seed, wide = args
    rng = np.random.default_rng(seed)
    xs, ys, gs, ws = [], [], [], []
    for row, rgb in real_frames(rows):
        a, b, c, d = _mine(rgb, label_real(row, rgb), copies, min_mass, green_hard, rng, wide)
        xs += a
        ys += b
        gs += c
        ws += d
    return xs, ys, gs, ws


def mine(run: str, n_generated: int, copies: int, min_mass: float, workers: int, green_hard: float = 0.9,
         first_seed: int = MINING_SEEDS, scenes: str = "all", real: bool = True, wide: Optional[int] = None):
    rows = real_rows("train") if real else []
    jobs_real = [(rows[i:i + 40], copies, min_mass, green_hard, first_seed - MINING_SEEDS + 11 + i // 40, wide) for i in range(0, len(rows), 40)]
    jobs_gen = [(list(range(first_seed + i, first_seed + min(n_generated, i + 100))), copies, min_mass, green_hard, scenes, wide)
                for i in range(0, n_generated, 100)]
    xs, ys, gs, ws, src = [], [], [], [], []
    with Pool(workers, initializer=_init, initargs=(run,)) as pool:
        for name, fn, jobs in (("real", _real_job, jobs_real), ("generated", _generated_job, jobs_gen)):
            for a, b, c, d in pool.imap(fn, jobs):
                xs += a
                ys += b
                gs += c
                ws += d
                src += [name] * len(a)
    return crop_set(xs, ys, gs, ws if wide is not None else None, src)


def main():
    ap = argparse.ArgumentParser(description="Mine hard signal-expert crops with a trained reader.")
    ap.add_argument("--run", required=True, help="a signal_train run folder (best.pt, calibration.json)")
    ap.add_argument("--out", default="training/data/signal/mined.npz")
    ap.add_argument("--n_generated", type=int, default=6000)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--min_mass", type=float, default=0.3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--green_hard", type=float, default=0.9,
                    help="a green lamp counts as hard while its class mass is below this (e.g. the operating threshold)")
    ap.add_argument("--first_seed", type=int, default=MINING_SEEDS,
                    help="first generated scene; a later round takes fresh scenes (between 4,200,000 and 4,500,000)")
    ap.add_argument("--scenes", choices=sorted(SCENES), default="all",
                    help="which generated scenes to mine: all, or unlit (close-ups, tiny crops and ground views with no lamp lit)")
    ap.add_argument("--no_real", action="store_true", help="mine generated scenes only, not the real train split")
    ap.add_argument("--wide", type=int, default=None, help="also store each crop's wide view (signal_data --wide)")
    a = ap.parse_args()
    if not (MINING_SEEDS <= a.first_seed and a.first_seed + a.n_generated <= 4_500_000):
        raise SystemExit(f"--first_seed {a.first_seed}: mining scenes must lie in [4,200,000, 4,500,000), "
                         "between the training and validation ranges")
    try:  # here, not only in the workers: a Pool respawns a worker whose initializer fails, forever
        _load_runner(a.run)
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise SystemExit(f"--run {a.run}: cannot load its reader and calibration: {e}")
    t = time.time()
    d = mine(a.run, a.n_generated, a.copies, a.min_mass, a.workers, a.green_hard, a.first_seed, a.scenes, not a.no_real, a.wide)
    np.savez_compressed(a.out, **d)
    counts = {c: {s: int(((d["y"] == i) & (d["source"] == j)).sum()) for j, s in enumerate(["real", "generated"])}
              for i, c in enumerate(CLASSES)}
    print(f"mined {len(d['y'])} crops in {time.time() - t:.0f} s; {json.dumps(counts)}", flush=True)


if __name__ == "__main__":
    main()

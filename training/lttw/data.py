"""Pre-rendered dataset cache: scenes -> preprocessed uint8 (the INTER_AREA `small` image of
preprocess(), normalisation is elementwise and done per batch) + label arrays + caption token ids.

Seed ranges (never overlap):
  train       0 .. 999_999
  val         1_000_000 .. 1_999_999   (calibration temperature, operating threshold)
  test        2_000_000 .. 2_999_999   (synthetic test split)
  samples/fixtures 3_000_000 ..        tests 9_000_000 ..
"""
import argparse
import os
import time
from contextlib import nullcontext
from multiprocessing import Pool

import numpy as np
from tqdm import tqdm

from .generator import GENERATOR_VERSION, DISTANCES, LIGHT_KINDS, LIGHT_STATES, OBSTACLE_KINDS, POSITIONS, generate
from .preprocess import resize_small
from .tokenizer import default_tokenizer

SEED_BASE = {"train": 0, "val": 1_000_000, "test": 2_000_000, "samples": 3_000_000, "tests": 9_000_000}
MAX_TOK = 64
NK = len(OBSTACLE_KINDS)


def scene_labels(facts):
    lt = facts["light"]
    lab = {
        "light_state": LIGHT_STATES.index(lt["state"]),
        "light_kind": LIGHT_KINDS.index(lt["kind"]) if lt["state"] != "none" else -1,
        "light_position": POSITIONS.index(lt["position"]) if lt["state"] != "none" and lt["position"] else -1,
        "crosswalk": int(bool(facts["crosswalk"]["present"])),
        "crosswalk_offset": POSITIONS.index(facts["crosswalk"]["offset"]) if facts["crosswalk"]["present"] else -1,
        "crosswalk_heading": (facts["crosswalk"]["heading_deg"] / 30.0) if facts["crosswalk"]["present"] else np.nan,
    }
    obs = np.zeros(len(POSITIONS) * NK, np.float32)
    dist = np.full(len(POSITIONS), -1, np.int64)
    for o in facts["obstacles"]:
        p = POSITIONS.index(o["position"])
        obs[p * NK + OBSTACLE_KINDS.index(o["kind"])] = 1
        d = DISTANCES.index(o["distance"])
        dist[p] = d if dist[p] < 0 else min(dist[p], d)
    lab["obstacles"] = obs
    lab["obstacle_distance"] = dist
    return lab


MAX_OBSTACLES = 3  # the generator labels at most three per scene


def obstacle_box_rows(scene):
    """[MAX_OBSTACLES, 7] float32: kind, position, distance (label indices), x0, y0, x1, y1 (box in
    0-1 of the frame) per labelled obstacle, rows of -1 after the last: the obstacle map's dense
    targets."""
    H, W = scene.bgr.shape[:2]
    rows = np.full((MAX_OBSTACLES, 7), -1.0, np.float32)
    for i, (o, (x0, y0, x1, y1)) in enumerate(zip(scene.facts["obstacles"], scene.obstacle_boxes)):
        rows[i] = (OBSTACLE_KINDS.index(o["kind"]), POSITIONS.index(o["position"]), DISTANCES.index(o["distance"]),
                   x0 / W, y0 / H, x1 / W, y1 / H)
    return rows


def _render_chunk(args):
    seeds, size, path, variety = args
    import torch
    torch.set_num_threads(1)
    if os.path.exists(path):
        return path
    tok = default_tokenizer()
    imgs, caps = [], {"en": [], "zh": []}
    cols = {}
    for s in seeds:
        sc = generate(int(s), crosswalk_variety=variety)
        imgs.append(resize_small(sc.bgr, size))
        for k, v in scene_labels(sc.facts).items():
            cols.setdefault(k, []).append(v)
        cols.setdefault("obstacle_boxes", []).append(obstacle_box_rows(sc))
        for lang in ("en", "zh"):
            ids = tok.encode(sc.captions[lang], lang)[:MAX_TOK]
            caps[lang].append(ids + [tok.pad] * (MAX_TOK - len(ids)))
    out = {k: np.asarray(v) for k, v in cols.items()}
    out["images"] = np.stack(imgs)
    out["seeds"] = np.asarray(seeds, np.int64)
    out["cap_en"] = np.asarray(caps["en"], np.int16)
    out["cap_zh"] = np.asarray(caps["zh"], np.int16)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **out)
    os.replace(tmp, path)
    return path


def build_cache(root, split, n, size=160, workers=2, chunk=1000, start=None, minutes=None, crosswalk_variety=False):
    """The first `n` scenes of `split` (rendered where their chunk is not on disk yet); with
    `crosswalk_variety`, `generate`'s crossing variety, in a folder of its own.

    With `minutes`, rendering stops at the first chunk finished after that time and the cache
    holds the chunks before it, a whole-chunk prefix of the seeds: a lent machine renders what
    its cores can in the time it has, and `--train_scenes` then names that prefix."""
    start = SEED_BASE[split] if start is None else start
    d = os.path.join(root, f"g{GENERATOR_VERSION}_{split}_s{size}_{start}" + ("_crosswalk_variety" if crosswalk_variety else ""))
    os.makedirs(d, exist_ok=True)
    jobs = []
    for i in range(0, n, chunk):
        seeds = list(range(start + i, start + min(n, i + chunk)))
        jobs.append((seeds, size, os.path.join(d, f"chunk_{i // chunk:05d}.npz"), crosswalk_variety))
    deadline = None if minutes is None else time.monotonic() + 60 * minutes
    done = []
    with Pool(workers) if workers > 1 else nullcontext() as pool:
        rendered = pool.imap(_render_chunk, jobs) if pool else map(_render_chunk, jobs)
        for path in tqdm(rendered, total=len(jobs), desc=f"render {split}"):
            done.append(os.path.basename(path))
            if deadline is not None and time.monotonic() > deadline:
                break
    return load_cache(d, done)


def load_cache(d, files=None):
    if files is None:
        files = sorted(f for f in os.listdir(d) if f.startswith("chunk_") and f.endswith(".npz") and ".tmp" not in f)
    # Filled in place: concatenating the loaded chunks held every array twice, and a 240,000-scene
    # cache of 128 px renders (11 GB) would not fit twice in this machine's 24 GB.
    counts = []
    for f in files:
        with np.load(os.path.join(d, f)) as z:
            counts.append(len(z[z.files[0]]))
    with np.load(os.path.join(d, files[0])) as z:
        out = {k: np.empty((sum(counts),) + z[k].shape[1:], z[k].dtype) for k in z.files}
    at = 0
    for f, n in zip(files, counts):
        with np.load(os.path.join(d, f)) as z:
            for k in out:
                out[k][at:at + n] = z[k]
        at += n
    return out


def main():
    ap = argparse.ArgumentParser(description="pre-render a scene cache")
    ap.add_argument("--root", default="training/data/cache")
    ap.add_argument("--split", default="train")
    ap.add_argument("--n", type=int, default=40000)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--workers", type=int, default=2, help="render processes (0: one per core this process may use)")
    ap.add_argument("--minutes", type=float, default=None, help="stop rendering after this long; the cache is the chunks done")
    ap.add_argument("--start", type=int, default=None, help="first seed (default: the split's)")
    a = ap.parse_args()
    c = build_cache(a.root, a.split, a.n, a.size, a.workers or len(os.sched_getaffinity(0)), start=a.start, minutes=a.minutes)
    print({k: v.shape for k, v in c.items()})
    print(f"scenes {len(c['seeds'])}")


if __name__ == "__main__":
    main()

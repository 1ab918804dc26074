"""Training crops for the signal expert: every lamp candidate `lamps.propose` finds, labelled.

Sources (never ../shared/eval):
  real       ../shared/train/real (its own train/val split). Pedestrian lamp boxes (`light_boxes`)
             label the candidates inside them; candidates away from every box on a light-labelled
             frame are real hard negatives (brake lights, shop signs, sky, foliage, paint); frames
             labelled off_or_none give negatives only; MIT vehicle crops are whole signal heads.
  generated  procedural scenes (`lttw.generator`) with the lit housing's box.
  composite  real pedestrian lamp crops pasted, small, onto real and generated signal-free
             backgrounds (scale, blur, lighting jitter), so a distant real signal is seen too.

A frame whose light is not labelled (null) gives nothing: unknown is not negative.

Classes: 0 not a signal, 1 pedestrian red, 2 pedestrian green, 3 vehicle red, 4 vehicle yellow,
5 vehicle green. Crops are stored as uint8 CROP_SIZE² RGB (the sampled values rounded) with
jittered context for training; validation crops are the exact runtime crops.
"""
import json
import os
from multiprocessing import Pool
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from . import lamps
from .generator import generate

CLASSES = ["not_signal", "ped_red", "ped_green", "veh_red", "veh_yellow", "veh_green"]
NOT_SIGNAL = 0
SKIP = -1
REAL_ROOT = os.path.join("..", "shared", "train", "real")
SEEDS = {"train": 4_000_000, "val": 4_500_000}
# The wide view's side in pixels (signal_model.SignalConfig.wide_size): with 4-pixel patches, 16 tokens.
WIDE_SIZE = 16


def class_of(kind: Optional[str], state: Optional[str]) -> int:
    if state not in ("red", "green", "yellow") or kind not in ("pedestrian", "vehicle"):
        return NOT_SIGNAL
    if kind == "pedestrian":
        return {"red": 1, "green": 2, "yellow": 4}[state]  # no pedestrian yellow exists: amber is amber
    return {"red": 3, "yellow": 4, "green": 5}[state]


# The blob colours (lamps.COLOURS ids) a lit lamp of each class shows: a stop lamp red or amber
# (red LEDs photograph orange), an amber lamp amber or red, a walk or go lamp green.
LAMP_COLOURS = {1: (1, 2), 3: (1, 2), 4: (2, 1), 2: (3,), 5: (3,)}


def lamp_label(k: lamps.Candidate, y: int) -> int:
    """The label of a blob inside a lamp's box: the lamp's class when the blob has a colour that
    lamp shows, SKIP when not. Whole frames and figures keep the lamp's class (a figure holds the
    lamp's shape, not one colour).

    Why: a box holds more than its lamp. Inside generated housings the proposer also finds sky,
    lit windows, a countdown's amber digits; inside real walk-lamp boxes, 51 of 184 blobs are red
    or amber (train split). Labelled as the lamp, they taught the reader that a patch of sky is a
    stop lamp and a red blob a walk lamp: 348 of the 935 lamp-labelled blobs of 600 generated
    validation scenes had another colour than their lamp, and the shipped reader read 63 % of
    them otherwise than labelled (models/default/NOTES.md, 2026-12-03)."""
    if y in (NOT_SIGNAL, SKIP) or k.whole or k.is_figure or k.colour in LAMP_COLOURS[y]:
        return y
    return SKIP


def _inside(k: lamps.Candidate, box, grow=0.15) -> bool:
    x0, y0, x1, y1 = box
    gx, gy = (x1 - x0) * grow, (y1 - y0) * grow
    cx, cy = (k.x0 + k.x1) / 2, (k.y0 + k.y1) / 2
    return x0 - gx <= cx <= x1 + gx and y0 - gy <= cy <= y1 + gy


def _overlaps(k: lamps.Candidate, box) -> bool:
    x0, y0, x1, y1 = box
    return min(k.x1, x1) > max(k.x0, x0) and min(k.y1, y1) > max(k.y0, y0)


def jittered_rect(k: lamps.Candidate, W: int, H: int, rng: np.random.Generator) -> Tuple[int, int, int, int]:
    """The runtime crop with its context and centre jittered (training only)."""
    if k.whole:
        fx0, fy0, fx1, fy1 = (rng.uniform(0, 0.08) for _ in range(4))
        return (int(fx0 * W), int(fy0 * H), max(4, int(W * (1 - fx0 - fx1))), max(4, int(H * (1 - fy0 - fy1))))
    side = max(int(rng.uniform(3.0, 5.2) * max(k.w, k.h)), lamps.CROP_MIN_SIDE)
    cx = (k.x0 + k.x1) / 2 + rng.uniform(-0.12, 0.12) * side
    cy = (k.y0 + k.y1) / 2 + rng.uniform(-0.12, 0.12) * side
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side, side


def crops_of(rgb: np.ndarray, labelled: List[Tuple[lamps.Candidate, int]], copies: int, rng,
             wide: Optional[int] = None) -> Tuple[List, List, List, List]:
    """Crops, labels, the candidates' geometry and (with `wide`, a context multiple) each crop's
    wide view (lamps.wide_rect around the same rectangle, WIDE_SIZE² uint8; else an empty list);
    copies = 0: the exact runtime crop, else that many jittered ones. The wide views draw nothing
    from `rng`, so the crops are the same with or without them."""
    H, W = rgb.shape[:2]
    xs, ys, gs, ws = [], [], [], []
    for k, y in labelled:
        if y == SKIP:
            continue
        rects = [lamps.crop_rect(k, W, H)] if copies == 0 else [jittered_rect(k, W, H, rng) for _ in range(copies)]
        g = lamps.geometry(k, W, H)
        for r in rects:
            xs.append(_uint8(lamps.sample_rect(rgb, r)))
            ys.append(y)
            gs.append(g)
            if wide is not None:
                ws.append(_uint8(lamps.sample_rect(rgb, lamps.wide_rect(r, k.whole, W, H, wide), WIDE_SIZE)))
    return xs, ys, gs, ws


def _uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- labelling
def label_real(row: Dict, rgb: np.ndarray) -> List[Tuple[lamps.Candidate, int]]:
    """Labels for the candidates of one real photo; SKIP where the labels cannot say."""
    H, W = rgb.shape[:2]
    truth = row.get("pedestrian_light")
    cands = lamps.propose(rgb)
    if truth is None:
        return []
    if truth == "off_or_none":
        return [(k, NOT_SIGNAL) for k in cands]
    kind = row.get("light_kind")
    if row["file"].startswith("images/mit_"):
        # A tight crop of one vehicle signal head: the frame is the signal; a blob of the lit
        # colour is its lamp, a blob of another colour cannot be told apart from a reflection.
        want = {"red": 1, "yellow": 2, "green": 3}[truth]
        return [(k, class_of("vehicle", truth) if (k.whole or k.colour == want) else SKIP) for k in cands]
    boxes = [(b["box"][0] * W, b["box"][1] * H, b["box"][2] * W, b["box"][3] * H, b["state"]) for b in row.get("light_boxes") or []]
    if not boxes:
        return []
    out = []
    for k in cands:
        if k.whole:
            # The whole frame is read when a lamp is big in it (lamps.propose: a blob at least 1/8
            # of the shorter side), so it is labelled the lamp's state under the same rule: a
            # labelled box at least 1/8 of the shorter side. (At a fifth of the frame's area,
            # as before, the street photos' whole frames were never taught, and the reader and
            # verifier read them as they pleased: 6 of the train split's 22 unsaid walk lamps.)
            big = 8 * max(max(b[2] - b[0], b[3] - b[1]) for b in boxes) >= min(W, H)
            out.append((k, class_of(kind or "pedestrian", boxes[0][4]) if big else SKIP))
            continue
        inside = [b for b in boxes if _inside(k, b[:4])]
        if inside:
            out.append((k, lamp_label(k, class_of(kind or "pedestrian", inside[0][4]))))
        elif any(_overlaps(k, b[:4]) for b in boxes):
            out.append((k, SKIP))
        else:
            out.append((k, NOT_SIGNAL))
    return out


def box_candidates(row: Dict, W: int, H: int, rng) -> List[Tuple[lamps.Candidate, int]]:
    """Extra positives straight from the labelled lamp boxes, as if the proposer had found a lit
    blob about half the head's height (the runtime crop is then about twice the head)."""
    out = []
    for b in row.get("light_boxes") or []:
        x0, y0, x1, y1 = b["box"][0] * W, b["box"][1] * H, b["box"][2] * W, b["box"][3] * H
        s = max(2.0, max(x1 - x0, y1 - y0) * rng.uniform(0.35, 0.6))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        k = lamps.Candidate(int(cx - s / 2), int(cy - s / 2), int(cx + s / 2) + 1, int(cy + s / 2) + 1, 0, 0, 1)
        out.append((k, class_of(row.get("light_kind") or "pedestrian", b["state"])))
    return out


def label_generated(scene) -> Tuple[np.ndarray, List[Tuple[lamps.Candidate, int]]]:
    rgb = np.ascontiguousarray(scene.bgr[..., ::-1])
    H, W = rgb.shape[:2]
    light = scene.facts["light"]
    framing = scene.facts["conditions"]["framing"]
    y_light = class_of(light.get("kind"), light["state"])
    out = []
    for k in lamps.propose(rgb):
        if k.whole:
            if y_light and framing in ("closeup", "tiny"):
                out.append((k, y_light))
            elif light["state"] == "none" or framing in ("street", "ground"):
                out.append((k, NOT_SIGNAL if not y_light else SKIP))
            else:
                out.append((k, NOT_SIGNAL))
        elif scene.light_box is not None and _inside(k, scene.light_box):
            out.append((k, lamp_label(k, y_light)))
        elif scene.light_box is not None and _overlaps(k, scene.light_box):
            out.append((k, SKIP))
        else:
            out.append((k, NOT_SIGNAL))
    return rgb, out


# ----------------------------------------------------------------------------- composites
def composite(background: np.ndarray, lamp: np.ndarray, rng) -> Tuple[np.ndarray, Tuple[float, float, float, float]]:
    """Pastes a real signal-head crop onto a background, small, blurred and relit like the
    scene around it; returns the frame and the pasted box."""
    H, W = background.shape[:2]
    h = int(np.clip(rng.uniform(0.04, 0.25) * H, 6, H - 2))
    w = int(np.clip(h * lamp.shape[1] / max(1, lamp.shape[0]), 3, W - 2))
    small = cv2.resize(lamp, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    small *= rng.uniform(0.6, 1.15)
    if rng.random() < 0.5:
        small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 1.2))
    x0 = int(rng.uniform(0, W - w))
    y0 = int(rng.uniform(0, max(1, H * 0.7 - h)))
    out = background.astype(np.float32).copy()
    a = np.ones((h, w, 1), np.float32)
    e = max(1, min(w, h) // 8)
    a[:e] *= 0.6
    a[-e:] *= 0.6
    out[y0:y0 + h, x0:x0 + w] = out[y0:y0 + h, x0:x0 + w] * (1 - a) + small * a
    if rng.random() < 0.4:
        out += rng.normal(0, rng.uniform(1, 8), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8), (x0, y0, x0 + w, y0 + h)


# ----------------------------------------------------------------------------- building
def real_frames(rows):
    """(row, RGB frame) for each readable photo of `rows`."""
    for row in rows:
        bgr = cv2.imread(os.path.join(REAL_ROOT, row["file"]), cv2.IMREAD_COLOR)
        if bgr is not None:
            yield row, np.ascontiguousarray(bgr[..., ::-1])


def _real_job(args):
    rows, copies, seed, wide = args
    rng = np.random.default_rng(seed)
    xs, ys, gs, ws = [], [], [], []
    for row, rgb in real_frames(rows):
        lab = label_real(row, rgb)
        if copies and row.get("light_boxes") and row.get("pedestrian_light") in ("red", "green", "yellow"):
            lab += box_candidates(row, rgb.shape[1], rgb.shape[0], rng)
        a, b, c, d = crops_of(rgb, lab, copies, rng, wide)
        xs += a
        ys += b
        gs += c
        ws += d
    return xs, ys, gs, ws


def _gen_job(args):
    seeds, copies, wide = args
    rng = np.random.default_rng(seeds[0])
    xs, ys, gs, ws = [], [], [], []
    for s in seeds:
        rgb, lab = label_generated(generate(s))
        a, b, c, d = crops_of(rgb, lab, copies, rng, wide)
        xs += a
        ys += b
        gs += c
        ws += d
    return xs, ys, gs, ws


def _composite_job(args):
    pairs, seed, wide = args
    rng = np.random.default_rng(seed)
    xs, ys, gs, ws = [], [], [], []
    for bg_ref, lamp_ref, y in pairs:
        bg = _load_background(bg_ref)
        lamp = _load_lamp(lamp_ref)
        if bg is None or lamp is None or lamp.size == 0:
            continue
        frame, box = composite(bg, lamp, rng)
        lab = []
        for k in lamps.propose(frame):
            if k.whole:
                lab.append((k, SKIP))
            elif _inside(k, box):
                lab.append((k, lamp_label(k, y)))
            elif _overlaps(k, box):
                lab.append((k, SKIP))
            else:
                # Both kinds of background hold no signal (generated scenes without one, real
                # frames labelled off_or_none): what else lights up there is a hard negative.
                lab.append((k, NOT_SIGNAL))
        a, b, c, d = crops_of(frame, lab, 1, rng, wide)
        xs += a
        ys += b
        gs += c
        ws += d
    return xs, ys, gs, ws


def _load_background(ref):
    kind, v = ref
    if kind == "gen":
        return np.ascontiguousarray(generate(v).bgr[..., ::-1])
    bgr = cv2.imread(os.path.join(REAL_ROOT, v), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[..., ::-1])


def _load_lamp(ref):
    file, box = ref
    bgr = cv2.imread(os.path.join(REAL_ROOT, file), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    H, W = bgr.shape[:2]
    x0, y0, x1, y1 = box
    gx, gy = (x1 - x0) * 0.2, (y1 - y0) * 0.2
    X0, Y0 = max(0, int((x0 - gx) * W)), max(0, int((y0 - gy) * H))
    X1, Y1 = min(W, int((x1 + gx) * W) + 1), min(H, int((y1 + gy) * H) + 1)
    return np.ascontiguousarray(bgr[Y0:Y1, X0:X1, ::-1])


def real_rows(split: str) -> List[Dict]:
    with open(os.path.join(REAL_ROOT, "labels.jsonl")) as f:
        return [r for r in (json.loads(l) for l in f) if r.get("split") == split]


def signal_crop_files(split: str) -> List[str]:
    """The photos of `split` that are a tight crop of one signal head (the MIT / Udacity source,
    `mit_*`: "nothing but the signal head", the folder's README says), relative to REAL_ROOT."""
    return [r["file"] for r in real_rows(split) if os.path.basename(r["file"]).startswith("mit_")]


def _signal_free_generated(start: int, n: int) -> List[int]:
    out, s = [], start
    while len(out) < n:
        sc_light = generate(s).facts["light"]["state"]
        if sc_light == "none":
            out.append(s)
        s += 1
    return out


def build(split: str, n_generated: int, copies: int, n_composites: int = 0, workers: int = 2, seed: int = 0,
          real_copies: Optional[int] = None, wide: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Crops and labels for `split` ('train' jittered, 'val' exact); `real_copies` jittered crops
    per candidate of a real photo (default: `copies`, as for the generated scenes); with `wide`
    (a context multiple), each crop's wide view too ("wide")."""
    jobs_real, jobs_gen = [], []
    rows = real_rows(split)
    # Validation (copies 0) keeps the exact runtime crops, whatever real_copies says.
    per_real = real_copies if real_copies is not None and copies > 0 else copies
    for i in range(0, len(rows), 40):
        jobs_real.append((rows[i:i + 40], per_real, seed + i, wide))
    start = SEEDS[split]
    for i in range(0, n_generated, 100):
        jobs_gen.append((list(range(start + i, start + min(n_generated, i + 100))), copies, wide))
    jobs_comp = []
    if n_composites:
        rng = np.random.default_rng(seed + 99)
        lamps_src = [((r["file"], b["box"]), class_of(r.get("light_kind") or "pedestrian", b["state"]))
                     for r in rows for b in (r.get("light_boxes") or [])
                     if b["state"] in ("red", "green") and (b["box"][3] - b["box"][1]) < 0.9]
        bgs = [("real", r["file"]) for r in rows if r.get("pedestrian_light") == "off_or_none"]
        bgs += [("gen", s) for s in _signal_free_generated(start + 300_000, max(50, n_composites // 4))]
        pairs = []
        for _ in range(n_composites):
            (lamp_ref, y) = lamps_src[rng.integers(len(lamps_src))]
            pairs.append((bgs[rng.integers(len(bgs))], lamp_ref, y))
        for i in range(0, len(pairs), 50):
            jobs_comp.append((pairs[i:i + 50], seed + 7 + i, wide))
    xs, ys, gs, ws, src = [], [], [], [], []
    with Pool(workers) as pool:
        for name, fn, jobs in (("real", _real_job, jobs_real), ("generated", _gen_job, jobs_gen), ("composite", _composite_job, jobs_comp)):
            for a, b, c, d in pool.imap(fn, jobs):
                xs += a
                ys += b
                gs += c
                ws += d
                src += [name] * len(a)
    return crop_set(xs, ys, gs, ws if wide is not None else None, src)


SOURCES = ["real", "generated", "composite"]


def crop_set(xs, ys, gs, ws, src) -> Dict[str, np.ndarray]:
    """The arrays of a crop set file (train.npz, val.npz, a mined set); "wide" only when `ws` is not None."""
    out = {"x": np.stack(xs) if xs else np.zeros((0, lamps.CROP_SIZE, lamps.CROP_SIZE, 3), np.uint8),
           "geometry": np.stack(gs) if gs else np.zeros((0, len(lamps.GEOMETRY)), np.float32),
           "y": np.asarray(ys, np.int64), "source": np.asarray([SOURCES.index(s) for s in src], np.int64)}
    if ws is not None:
        out["wide"] = np.stack(ws) if ws else np.zeros((0, WIDE_SIZE, WIDE_SIZE, 3), np.uint8)
    return out


def main():
    import argparse
    import time
    ap = argparse.ArgumentParser(description="Build the signal expert's crop sets (train: jittered; val: exact runtime crops).")
    ap.add_argument("--out", default="training/data/signal")
    ap.add_argument("--n_generated", type=int, default=6000)
    ap.add_argument("--n_generated_val", type=int, default=1500)
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--composites", type=int, default=3000)
    ap.add_argument("--real_copies", type=int, default=None,
                    help="jittered crops per candidate of a real training photo (default: --copies); more real "
                         "views of the few real walk lamps")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wide", type=int, default=None,
                    help="also store each crop's wide view: the crop's square this many times wider, at "
                         f"{WIDE_SIZE} px (for a reader with signal_train --wide); default: none")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for split, n, copies, comp in (("val", a.n_generated_val, 0, 0), ("train", a.n_generated, a.copies, a.composites)):
        t = time.time()
        d = build(split, n, copies, comp, a.workers, real_copies=a.real_copies, wide=a.wide)
        np.savez_compressed(os.path.join(a.out, f"{split}.npz"), **d)
        counts = {c: {s: int(((d["y"] == i) & (d["source"] == j)).sum()) for j, s in enumerate(["real", "generated", "composite"])}
                  for i, c in enumerate(CLASSES)}
        print(f"{split}: {len(d['y'])} crops in {time.time() - t:.0f} s; {json.dumps(counts)}", flush=True)


if __name__ == "__main__":
    main()

"""How well the lamp candidates frame the labelled lamps of a labelled-scenes set, and what the
shipped reader says when it is shown the lamp itself: a diagnostic for the signal expert's misses.

Why it exists: the real pedestrian photos' walk lamps are big (a median longer side of half the
frame's shorter side on ../shared/train/real's `ptl_*`), while the colour-blob proposer frames
fragments of their LED figures; most of the greens left unsaid there have no candidate framing the
lamp, and the reader reads most of them green when shown the labelled box at a tight context
(models/default/NOTES.md, 2026-12-02 midday). This measures that, per labelled lamp:

- `side`: the lamp's longer side as a share of the frame's shorter side;
- `best_iou`: the best IoU of any candidate (blobs, figures, the whole frame) with the lamp's box;
- `oracle`: the reader's calibrated mass of the lamp's state (pedestrian + vehicle) on a square crop
  of `context` × the box's longer side around it, for each of `--contexts`;
- `said`: the frame's decision by the full signal expert (views, verifier and all).

Use it on ../shared/train/real (either split) or a generated set, never to tune on ../shared/eval.

    PYTHONPATH=training python -m lttw.lamp_coverage --set ../shared/train/real --prefix ptl --state green
"""
import argparse
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from . import lamps
from .artifact import Predictor
from .evaluate import _map_pred_light
from .preprocess import load_bgr
from .signal_model import CLASSES

# The classes whose mass is a state's, pedestrian and vehicle together.
STATE_CLASSES = {"red": ("ped_red", "veh_red"), "green": ("ped_green", "veh_green"), "yellow": ("veh_yellow",)}


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two [x0, y0, x1, y1] boxes (0 when either is empty)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def square_around(box: Sequence[float], context: float) -> tuple:
    """(x0, y0, side, side) of the square `context` × the box's longer side on its centre, in whole
    pixels (at least lamps.CROP_MIN_SIDE), as lamps.crop_rect frames a candidate."""
    side = max(int(context * max(box[2] - box[0], box[3] - box[1])), lamps.CROP_MIN_SIDE)
    cx2, cy2 = int(round(box[0] + box[2])), int(round(box[1] + box[3]))
    return (cx2 - side) // 2, (cy2 - side) // 2, side, side


@torch.no_grad()
def oracle_masses(signal, rgb: np.ndarray, box: Sequence[float], state: str, contexts: Sequence[float]) -> List[float]:
    """The reader's calibrated mass of `state` on the lamp `box`, cropped at each context."""
    H, W = rgb.shape[:2]
    k = lamps.Candidate(*(int(round(v)) for v in box), 0, 0, 1)
    x = np.stack([lamps.normalise_crop(lamps.sample_rect(rgb, square_around(box, c)), signal.mean, signal.std) for c in contexts])
    g = np.repeat(lamps.read_geometry([k], W, H), len(contexts), 0)
    p = torch.softmax(signal.model(torch.from_numpy(x), torch.from_numpy(g)) / signal.T, -1).numpy()
    columns = [CLASSES.index(c) for c in STATE_CLASSES[state]]
    return [float(sum(np.float64(row[c]) for c in columns)) for row in p]


def coverage(set_dir: str, model_dir: str = "models/default", split: Optional[str] = None, prefix: Optional[str] = None,
             state: str = "green", contexts: Sequence[float] = (1.25, 2.0, 4.0), predictor: Optional[Predictor] = None) -> List[Dict]:
    """One row per labelled lamp of `state` (in frames labelled that state; of `split`, of files
    whose name starts with `prefix`): file, side, best_iou, oracle, said."""
    pred = predictor or Predictor(model_dir)
    if pred.signal is None:
        raise SystemExit(f"{model_dir}: no signal expert")
    rows = []
    with open(os.path.join(set_dir, "labels.jsonl")) as f:
        labelled = [json.loads(line) for line in f if line.strip()]
    for row in labelled:
        name = os.path.basename(row["file"])
        if row.get("pedestrian_light") != state or (split and row.get("split") != split) or (prefix and not name.startswith(prefix)):
            continue
        boxes = [b["box"] for b in row.get("light_boxes") or [] if b.get("state") == state]
        if not boxes:
            continue
        rgb = load_bgr(os.path.join(set_dir, row["file"]))[..., ::-1].copy()
        H, W = rgb.shape[:2]
        candidates = [[k.x0, k.y0, k.x1, k.y1] for k in lamps.propose(rgb)]
        said = _map_pred_light(pred.signal.read(rgb)["state"])
        for b in boxes:
            box = [b[0] * W, b[1] * H, b[2] * W, b[3] * H]
            rows.append({
                "file": row["file"],
                "side": max(box[2] - box[0], box[3] - box[1]) / min(W, H),
                "best_iou": max((box_iou(box, k) for k in candidates), default=0.0),
                "oracle": oracle_masses(pred.signal, rgb, box, state, contexts),
                "said": said,
            })
    return rows


def summary(rows: List[Dict], state: str, contexts: Sequence[float], threshold: float, framed: float = 0.15) -> str:
    """What the rows say, in a few lines: sizes, framing, and the oracle reads of the lamps said and missed."""
    if not rows:
        return "no labelled lamps"
    sides = np.array([r["side"] for r in rows])
    lines = [f"{len(rows)} labelled {state} lamps; longer side / frame's shorter side: median {np.median(sides):.2f}, "
             f"at least 1/4: {np.mean(sides >= 0.25):.0%}"]
    loose = [r for r in rows if r["best_iou"] < framed]
    tight = [r for r in rows if r["best_iou"] >= framed]
    for name, group in ((f"no candidate with IoU >= {framed}", loose), (f"a candidate with IoU >= {framed}", tight)):
        missed = sum(r["said"] != state for r in group)
        lines.append(f"  {name}: {len(group)} lamps, {missed} in frames not said {state}")
    for name, group in (("said", [r for r in rows if r["said"] == state]), ("missed", [r for r in rows if r["said"] != state])):
        if group:
            reads = np.array([r["oracle"] for r in group])
            shares = ", ".join(f"{c:g}x {np.mean(reads[:, i] >= threshold):.0%}" for i, c in enumerate(contexts))
            lines.append(f"  lamps in frames {name} {state} ({len(group)}): the labelled box reads {state} >= {threshold:g} at {shares}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="How well the lamp candidates frame the labelled lamps, and what the reader "
                                             "says when shown the lamp itself.")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--set", required=True, help="a labelled-scenes folder with light_boxes, e.g. ../shared/train/real")
    ap.add_argument("--split", help="only the rows whose `split` is this (train or val)")
    ap.add_argument("--prefix", help="only the files whose name starts with this (e.g. ptl)")
    ap.add_argument("--state", default="green", choices=sorted(STATE_CLASSES))
    ap.add_argument("--contexts", type=float, nargs="+", default=[1.25, 2.0, 4.0],
                    help="crop sides around the labelled box, as multiples of its longer side")
    ap.add_argument("--threshold", type=float, help="the read counted as sure (default: the model's green threshold)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON lines instead of the summary")
    a = ap.parse_args()
    pred = Predictor(a.model)
    rows = coverage(a.set, a.model, a.split, a.prefix, a.state, a.contexts, predictor=pred)
    if a.json:
        for r in rows:
            print(json.dumps(r))
    else:
        print(summary(rows, a.state, a.contexts, a.threshold if a.threshold is not None else float(pred.signal.thr["green"])))


if __name__ == "__main__":
    main()

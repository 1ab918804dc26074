"""Obstacle recall and precision on real street photos of ../shared/train/real, against obstacle
labels set by viewing (training/labels/real_obstacles_viewed.jsonl; the source photos carry none).

The labelling rule follows the generator's (lttw.generator: obstacles within 16 m, position by
where the object stands across the image, distance in three bands), so the figures read like the
generated test split's:
- an object of the ten kinds (OBSTACLE_KINDS) standing on the ground within about 16 m and
  recognisable; a signal close-up's own pole and whatever stands behind it are the subject, not
  obstacles;
- position from the object's centre across the frame: left of a third, right of two thirds, else
  ahead; distance near (up to about 4 m), mid (about 4 to 8 m) or far (about 8 to 16 m);
- one label per kind and position, the nearest (the expert names one per kind and position);
- `obstacles: []` means viewed and nothing of the kinds is there; `null` means viewed and not
  annotated (overhead views, telephoto close-ups whose distances cannot be judged, frames too dark),
  with the reason in `origin`.

    PYTHONPATH=training python -m lttw.real_obstacles --model models/default
    PYTHONPATH=training python -m lttw.real_obstacles --model models/default --split val --show
"""
import argparse
import json
import os
from typing import Dict, List, Optional

import numpy as np

from .evaluate import match_obstacles, obstacle_breakdown, recall_by_distance
from .generator import DISTANCES, OBSTACLE_KINDS, POSITIONS
from .obstacle_expert import N_SLOTS, slot_of
from .preprocess import load_bgr
from .signal_data import REAL_ROOT

VIEWED_LABELS = os.path.join(os.path.dirname(__file__), "..", "labels", "real_obstacles_viewed.jsonl")


def viewed_labels(path: str = VIEWED_LABELS) -> List[Dict]:
    """The viewed rows, checked: known kinds, positions and distances, one label per kind and
    position, a reason for every row. Raises ValueError naming the file and row otherwise."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            where = f"{path}:{n} ({r.get('file')})"
            if not r.get("origin", "").startswith("viewed"):
                raise ValueError(f"{where}: origin must say how the row was viewed")
            obstacles = r.get("obstacles")
            if obstacles is not None:
                pairs = set()
                for o in obstacles:
                    if o.get("kind") not in OBSTACLE_KINDS or o.get("position") not in POSITIONS \
                            or o.get("distance") not in DISTANCES:
                        raise ValueError(f"{where}: {o} is not a kind, position and distance the generator knows")
                    if (o["kind"], o["position"]) in pairs:
                        raise ValueError(f"{where}: two labels of {o['kind']} {o['position']} (one per kind and position)")
                    pairs.add((o["kind"], o["position"]))
            rows.append(r)
    return rows


def annotated(rows: List[Dict], splits: Dict[str, str], split: Optional[str]) -> List[Dict]:
    """The rows with obstacles annotated (a list, maybe empty), of `split` (None: every split)."""
    return [r for r in rows if r["obstacles"] is not None and (split is None or splits.get(r["file"]) == split)]


def source_rows() -> Dict[str, Dict]:
    """../shared/train/real's rows by file."""
    with open(os.path.join(REAL_ROOT, "labels.jsonl")) as f:
        return {r["file"]: r for r in map(json.loads, f)}


def splits_of(sources: Dict[str, Dict]) -> Dict[str, str]:
    """Each photo's own split (train / val), by file, from `source_rows`."""
    return {f: r["split"] for f, r in sources.items()}


def in_fold(file: str, sources: Dict[str, Dict], fold: Optional[int], folds: int = 2) -> bool:
    """Whether a photo is in `fold` of the train split's photo groups (signal_folds.fold_of: the same
    on every machine; None: every photo)."""
    from .signal_folds import fold_of
    return fold is None or fold_of(sources[file]["group"], folds) == fold


def slot_targets(obstacles: List[Dict]) -> np.ndarray:
    """A labelled photo's slot classes [9] (0 empty, 1 + kind), as obstacle_expert.targets makes
    them for a render: slot (position, distance). Two labels in one slot keep the first."""
    out = np.zeros(N_SLOTS, np.int64)
    for o in obstacles:
        slot = slot_of(POSITIONS.index(o["position"]), DISTANCES.index(o["distance"]))
        if out[slot] == 0:
            out[slot] = 1 + OBSTACLE_KINDS.index(o["kind"])
    return out


def score(labels: List[List[Dict]], predictions: List[List[Dict]]) -> Dict:
    """Recall and precision of (kind, position) pairs over the photos, as lttw.evaluate scores the
    generated test split, by kind and by position too; recall by the labels' distance; and the calls
    on photos with nothing labelled."""
    matched = total_labels = total_predictions = 0
    tally: Dict = {}
    empty_photos = calls_on_empty = 0
    for gt, pred in zip(labels, predictions):
        tp, n_gt, n_pred = match_obstacles(gt, pred)
        matched += tp
        total_labels += n_gt
        total_predictions += n_pred
        obstacle_breakdown(gt, pred, tally)
        if not gt:
            empty_photos += 1
            calls_on_empty += n_pred
    return {
        "photos": len(labels), "labels": total_labels, "predictions": total_predictions, "matched": matched,
        "recall": matched / total_labels if total_labels else None,
        "precision": matched / total_predictions if total_predictions else None,
        "photos_with_nothing_labelled": empty_photos, "calls_on_them": calls_on_empty,
        "recall_by_distance": recall_by_distance(labels, predictions),
        "by": {f"{axis} {key}": {"recall": t[0] / t[1] if t[1] else None, "precision": t[2] / t[3] if t[3] else None,
                                 "labelled": t[1], "predicted": t[3]}
               for (axis, key), t in sorted(tally.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))},
    }


def _percent(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--split", choices=["train", "val", "both"], default="both", help="the real photos' own split")
    ap.add_argument("--labels", default=VIEWED_LABELS, help="viewed obstacle labels (JSONL)")
    ap.add_argument("--fold", type=int, choices=[0, 1], help="only the photos of this fold of the photo groups "
                    "(what obstacle_expert_train --real_holdout_fold held out)")
    ap.add_argument("--show", action="store_true", help="list every photo's labels and calls")
    a = ap.parse_args()
    from .artifact import Predictor
    predictor = Predictor(a.model)
    if predictor.obstacle is None:
        raise SystemExit(f"{a.model}: this model has no obstacle expert")
    sources = source_rows()
    splits = splits_of(sources)
    rows = viewed_labels(a.labels)
    for split in (["train", "val"] if a.split == "both" else [a.split]):
        chosen = [r for r in annotated(rows, splits, split) if in_fold(r["file"], sources, a.fold)]
        if not chosen:
            print(f"{split}: no annotated photos")
            continue
        predictions = predictor.expert_obstacles([load_bgr(os.path.join(REAL_ROOT, r["file"])) for r in chosen])
        s = score([r["obstacles"] for r in chosen], predictions)
        print(f"{split}: {s['photos']} photos, {s['labels']} labels: recall {_percent(s['recall'])} "
              f"({s['matched']}/{s['labels']}), precision {_percent(s['precision'])} ({s['matched']}/{s['predictions']}); "
              f"{s['calls_on_them']} calls on the {s['photos_with_nothing_labelled']} photos with nothing labelled")
        print("  recall by the labels' distance: " + ", ".join(
            f"{d} {_percent(t['recall'])} of {t['labelled']}" for d, t in s["recall_by_distance"].items()))
        for key, t in s["by"].items():
            print(f"  {key:16s} recall {_percent(t['recall']):>8s} of {t['labelled']:3d}, "
                  f"precision {_percent(t['precision']):>8s} of {t['predicted']:3d}")
        if a.show:
            for r, p in zip(chosen, predictions):
                said = ", ".join(f"{o['kind']} {o['position']} {o['distance']} {o['confidence']:.2f}" for o in p) or "-"
                truth = ", ".join(f"{o['kind']} {o['position']} {o['distance']}" for o in r["obstacles"]) or "-"
                print(f"  {r['file']}: labelled {truth}; called {said}")


if __name__ == "__main__":
    main()

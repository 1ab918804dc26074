"""The damage the public pedestrian-light exports bake into their photos, applied on purpose.

The real train split keeps, of every upload, the copy with the fewest augmentation flags
(../shared/train/real/README.md, "De-duplication"), while the evaluation sets come from the same
uploads' other splits with the exporter's augmentations baked in: hue shifts, salt-and-pepper
noise, rotations with black corners, grayscale, washed-out exposure, blur, pixelation. A reader
validated on the clean copies alone does not know how it does on those. This module makes a
labelled-scenes set of damaged copies of another set's rows (one split), so that figure can be
measured on training-side photos, and gives the same damage to training frames.

  python -m lttw.photo_corruptions --set ../shared/train/real --split val --out training/data/sets/real_val_damaged
  listen eval training/data/sets/real_val_damaged/hue_shift
  python -m lttw.photo_corruptions --set ../shared/train/real --split val --sources ptl --out training/data/sets/real_val_ptl_damaged

Each kind of damage (`--kinds`, default all) is a set of its own, OUT/<kind>/ (images/ and
labels.jsonl), each row with a `corruption` field; boxes follow the geometry (a rotation's boxes are the rotated corners' hull,
clipped to the frame). Severities are fixed ranges drawn per image from `--seed`: the same command
writes the same bytes.
"""
import argparse
import json
import math
import os
import sys
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import cv2
import numpy as np

Box = List[float]  # [x0, y0, x1, y1], normalised to the frame

# (rgb uint8 HxWx3, rng) -> (rgb, box map or None). The box map sends a normalised box to its new
# place; None: boxes unchanged.
Damage = Callable[[np.ndarray, np.random.Generator], Tuple[np.ndarray, Optional[Callable[[Box], Box]]]]


def hue_shift(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """Every pixel's hue turned by 10–25 degrees either way (the exporter's "hue ±25°"): a green
    LED goes teal or yellow-green, a red one orange or magenta; the lamp's place and figure stay."""
    deg = rng.uniform(10, 25) * rng.choice([-1, 1])
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + round(deg * 256 / 360)) % 256
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL), None


def salt_and_pepper(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """1–5 % of the pixels set to black or white, all channels alike."""
    out = rgb.copy()
    share = rng.uniform(0.01, 0.05)
    hit = rng.random(rgb.shape[:2]) < share
    white = rng.random(rgb.shape[:2]) < 0.5
    out[hit & white] = 255
    out[hit & ~white] = 0
    return out, None


def rotation(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, Callable[[Box], Box]]:
    """Turned 5–15 degrees either way about the centre, same size, black corners."""
    h, w = rgb.shape[:2]
    deg = rng.uniform(5, 15) * rng.choice([-1, 1])
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def move(b: Box) -> Box:
        xs, ys = [b[0] * w, b[2] * w], [b[1] * h, b[3] * h]
        pts = np.array([[x, y, 1.0] for x in xs for y in ys]) @ m.T
        x0, y0 = np.clip(pts[:, 0].min() / w, 0, 1), np.clip(pts[:, 1].min() / h, 0, 1)
        x1, y1 = np.clip(pts[:, 0].max() / w, 0, 1), np.clip(pts[:, 1].max() / h, 0, 1)
        return [float(x0), float(y0), float(x1), float(y1)]

    return out, move


def grayscale(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """Luma in all three channels: the state can only come from which lamp is lit and its figure."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.repeat(g[..., None], 3, axis=2), None


def desaturation(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """Saturation cut by 40–75 %, hue and value kept."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= 1 - rng.uniform(0.4, 0.75)
    return cv2.cvtColor(hsv.round().astype(np.uint8), cv2.COLOR_HSV2RGB), None


def washed_out(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """Overexposed and flat: contrast cut to 50–75 % and lifted towards white."""
    c = rng.uniform(0.5, 0.75)
    lift = rng.uniform(40, 90)
    return np.clip(rgb.astype(np.float32) * c + lift, 0, 255).round().astype(np.uint8), None


def blur(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """A Gaussian blur of 1–2.5 px sigma at 640 px long side (scaled with the frame, at least
    0.5 px: a tiny crop is blurred too)."""
    sigma = max(0.5, rng.uniform(1.0, 2.5) * max(rgb.shape[:2]) / 640)
    return cv2.GaussianBlur(rgb, (0, 0), sigma), None


def pixelation(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """Down to a 1/4–1/8 of the size by area averaging and back up with nearest neighbours."""
    h, w = rgb.shape[:2]
    f = rng.uniform(4, 8)
    small = cv2.resize(rgb, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST), None


def squash(rgb: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, None]:
    """Stretched to 640×640 whatever its aspect (the exporter's resize; normalised boxes stay)."""
    return cv2.resize(rgb, (640, 640), interpolation=cv2.INTER_LINEAR), None


DAMAGES: Dict[str, Damage] = {
    "hue_shift": hue_shift,
    "salt_and_pepper": salt_and_pepper,
    "rotation": rotation,
    "grayscale": grayscale,
    "desaturation": desaturation,
    "washed_out": washed_out,
    "blur": blur,
    "pixelation": pixelation,
    "squash": squash,
}


def damage(rgb: np.ndarray, kind: str, rng: np.random.Generator) -> Tuple[np.ndarray, Optional[Callable[[Box], Box]]]:
    """One kind of damage (a key of DAMAGES) on an RGB uint8 frame."""
    if kind not in DAMAGES:
        raise ValueError(f"unknown damage {kind!r}; known: {', '.join(DAMAGES)}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 frame, got {rgb.dtype} {rgb.shape}")
    return DAMAGES[kind](rgb, rng)


def damaged_row(row: Dict, kind: str, file: str, move: Optional[Callable[[Box], Box]]) -> Dict:
    """The row of a damaged copy: its file, the damage, and boxes moved with the pixels."""
    out = dict(row, file=file, corruption=kind)
    if move is not None:
        out["crosswalk_boxes"] = [move(b) for b in row.get("crosswalk_boxes") or []]
        out["light_boxes"] = [dict(lb, box=move(lb["box"])) for lb in row.get("light_boxes") or []]
    return out


def source_of(row: Dict) -> str:
    """The source of a row, from its file name: `ptl` for images/ptl_0012.jpg."""
    return os.path.basename(row["file"]).split("_")[0]


def write_damaged_sets(set_dir: str, out: str, kinds: List[str], split: Optional[str] = None, seed: int = 0,
                       sources: Optional[List[str]] = None) -> int:
    """Writes OUT/<kind>/images/<name>.png and OUT/<kind>/labels.jsonl for every row of SET_DIR
    (of `split` and of `sources` when given) and every kind; returns the rows written."""
    rows = [json.loads(l) for l in open(os.path.join(set_dir, "labels.jsonl"), encoding="utf-8") if l.strip()]
    if split is not None:
        rows = [r for r in rows if r.get("split") == split]
    if sources is not None:
        rows = [r for r in rows if source_of(r) in sources]
    if not rows:
        raise SystemExit(f"{set_dir}/labels.jsonl: no row has split {split!r} and a source in {sources}")
    total = 0
    for ki, kind in enumerate(kinds):
        os.makedirs(os.path.join(out, kind, "images"), exist_ok=True)
        written = []
        for ri, r in enumerate(rows):
            path = os.path.join(set_dir, r["file"])
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise SystemExit(f"{path}: not a readable image")
            rng = np.random.default_rng([seed, ki, ri])
            rgb, move = damage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), kind, rng)
            rel = f"images/{os.path.splitext(os.path.basename(r['file']))[0]}.png"
            cv2.imwrite(os.path.join(out, kind, rel), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            written.append(damaged_row(r, kind, rel, move))
        with open(os.path.join(out, kind, "labels.jsonl"), "w", encoding="utf-8") as f:
            for r in written:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        total += len(written)
    return total


def damage_table(lines: Iterable[str]) -> str:
    """The table of `KIND <listen eval --json of that kind's set>` lines: false green, light
    accuracy, abstention and greens said per kind, and over all kinds."""
    keys = ("false_green", "non_green", "labelled", "right", "unknown", "greens_said", "greens")
    total = dict.fromkeys(keys, 0)
    out = [f"{'damage':16s} {'false green':>11s} {'light':>7s} {'abstain':>8s} {'greens said':>11s}"]

    def line(name, r):
        return (f"{name:16s} {r['false_green']:>5d}/{r['non_green']:<5d} {100 * r['right'] / max(1, r['labelled']):6.1f}% "
                f"{100 * r['unknown'] / max(1, r['labelled']):7.1f}% {r['greens_said']:>5d}/{r['greens']:<5d}")

    for text in lines:
        if not text.strip():
            continue
        kind, metrics = text.split(" ", 1)
        m = json.loads(metrics)
        n, g = m["counts"]["light_labelled"], m["light_per_class"]["green"]
        row = dict(false_green=m["false_green_count"], non_green=m["false_green_denominator"], labelled=n,
                   right=round(m["light_accuracy"] * n), unknown=round(m["abstention_rate"] * n),
                   greens_said=round((g["recall"] or 0) * g["support"]), greens=g["support"])
        for k in keys:
            total[k] += row[k]
        out.append(line(kind, row))
    out.append(line("all kinds", total))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", action="store_true",
                    help="instead: read `KIND <listen eval --json>` lines from standard input and print the table "
                         "(training/damaged_evaluations.sh)")
    ap.add_argument("--set", help="a labelled-scenes folder (images + labels.jsonl)")
    ap.add_argument("--out", help="the damaged set's folder (written)")
    ap.add_argument("--split", help="only the rows whose `split` is this (e.g. val)")
    ap.add_argument("--kinds", nargs="+", default=list(DAMAGES), choices=list(DAMAGES))
    ap.add_argument("--sources", nargs="+", help="only these sources (the file name's prefix: ptl, mit, cwd)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.table:
        print(damage_table(sys.stdin))
        return
    if not a.set or not a.out:
        ap.error("--set and --out are needed to write damaged sets")
    n = write_damaged_sets(a.set, a.out, a.kinds, a.split, a.seed, a.sources)
    print(f"{a.out}: {n} damaged rows ({len(a.kinds)} kinds)")


if __name__ == "__main__":
    main()

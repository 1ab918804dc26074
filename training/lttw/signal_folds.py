"""Held-out folds of the real pedestrian photos, to choose between reader recipes on real photos
the reader was not trained on.

Why: the validation the project chooses readers by (the real val split, 25 greens of which 21 are
MIT vehicle crops, and generated scenes) has moved the other way from real-dev three rounds running
(models/default/NOTES.md, 2026-12-02 evening and 2026-12-03). The real val split holds only 19
pedestrian photos. The train split holds 219 (`ptl_*`, 180 light-labelled), so a reader recipe can
be trained with half of their groups held out and read on them, and then with the other half.

`write` makes, for fold K, a crop folder for `lttw.signal_train`: the crop set built by
`lttw.signal_data` without the real crops of the held-out photos (a photo's crops are found by
building its crops again, which is deterministic, and checked against the set byte for byte),
without composites (their lamps come from real photos, held-out ones included) and, of the mined
sets, without the real crops (mining keeps no photo of origin); and `eval/`, a labelled-scenes
folder of the held-out photos (labels and links to the images) for `lttw.signal_breakdown` and
`listen eval`. Groups never straddle folds (near-duplicates stay together). Never ../shared/eval.

    PYTHONPATH=training python -m lttw.signal_folds --data training/data/signal --real_copies 6 \\
        --extra training/data/signal/round7_mined.npz --fold 0 --out training/data/signal_fold0
"""
import argparse
import json
import os
import zlib
from typing import Dict, List, Sequence

import numpy as np

from .signal_data import REAL_ROOT, SOURCES, box_candidates, crops_of, label_real, real_frames, real_rows

PEDESTRIAN_PREFIX = "ptl_"


def fold_of(group: str, folds: int = 2) -> int:
    """The fold a photo group belongs to (CRC-32 of its id, so the same on every machine)."""
    return zlib.crc32(str(group).encode()) % folds


def held_out(row: Dict, fold: int, folds: int = 2) -> bool:
    """Whether a train-split row is held out in `fold`: a pedestrian photo whose group falls in it."""
    return os.path.basename(row["file"]).startswith(PEDESTRIAN_PREFIX) and fold_of(row["group"], folds) == fold


def real_crop_rows(copies: int, real_copies: int, expected: np.ndarray, seed: int = 0) -> List[int]:
    """For each real crop of the train set `signal_data.build('train', ..., real_copies=...)` wrote,
    the index (into `real_rows('train')`) of its photo: the crops built again, job by job with the
    same random streams, each compared byte for byte with the set's (`expected`, its crops in
    order), so a set built with other options is refused rather than split wrongly."""
    rows = real_rows("train")
    per_real = real_copies if real_copies is not None and copies > 0 else copies
    owners: List[int] = []
    for start in range(0, len(rows), 40):
        rng = np.random.default_rng(seed + start)
        chunk = rows[start:start + 40]
        readable = {row["file"]: i for i, row in enumerate(chunk)}
        for row, rgb in real_frames(chunk):
            lab = label_real(row, rgb)
            if per_real and row.get("light_boxes") and row.get("pedestrian_light") in ("red", "green", "yellow"):
                lab += box_candidates(row, rgb.shape[1], rgb.shape[0], rng)
            xs = crops_of(rgb, lab, per_real, rng)[0]
            at = len(owners)
            if xs and (at + len(xs) > len(expected) or not np.array_equal(np.stack(xs), expected[at:at + len(xs)])):
                raise SystemExit(f"{row['file']}: its crops rebuilt with --copies {copies} --real_copies {real_copies} "
                                 "differ from the set's: pass the options the set was built with")
            owners += [start + readable[row["file"]]] * len(xs)
    return owners


def write(data: str, extras: Sequence[str], out: str, fold: int, folds: int = 2, copies: int = 2,
          real_copies: int = 6) -> Dict:
    """Writes fold `fold`'s training folder and held-out eval folder under `out`; returns counts."""
    os.makedirs(out, exist_ok=True)
    train = dict(np.load(os.path.join(data, "train.npz")))
    real = np.flatnonzero(train["source"] == SOURCES.index("real"))
    if len(real) and real[-1] != len(real) - 1:
        raise SystemExit(f"{data}/train.npz: its real crops are not the first ones, as signal_data writes them")
    owners = real_crop_rows(copies, real_copies, train["x"][:len(real)])
    if len(owners) != len(real):
        raise SystemExit(f"{data}/train.npz holds {len(real)} real crops, a rebuild with --copies {copies} "
                         f"--real_copies {real_copies} makes {len(owners)}: pass the options the set was built with")
    rows = real_rows("train")
    drop_photo = np.array([held_out(rows[i], fold, folds) for i in owners], bool)
    keep = np.ones(len(train["y"]), bool)
    keep[:len(owners)] = ~drop_photo
    keep &= train["source"] != SOURCES.index("composite")
    np.savez_compressed(os.path.join(out, "train.npz"), **{k: v[keep] for k, v in train.items()})
    val = dict(np.load(os.path.join(data, "val.npz")))
    np.savez_compressed(os.path.join(out, "val.npz"), **val)
    extra_out = []
    for path in extras:
        d = dict(np.load(path))
        k = d["source"] != SOURCES.index("real")
        name = os.path.join(out, os.path.basename(path))
        np.savez_compressed(name, **{key: v[k] for key, v in d.items()})
        extra_out.append((name, int(k.sum()), int((~k).sum())))
    eval_dir = os.path.join(out, "eval")
    os.makedirs(os.path.join(eval_dir, "images"), exist_ok=True)
    held = [r for r in rows if held_out(r, fold, folds)]
    with open(os.path.join(eval_dir, "labels.jsonl"), "w") as f:
        for r in held:
            f.write(json.dumps(r) + "\n")
            link = os.path.join(eval_dir, r["file"])
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(REAL_ROOT, r["file"])), link)
    return {"fold": fold, "held_out_photos": len(held),
            "held_out_light_labelled": sum(r.get("pedestrian_light") is not None for r in held),
            "train_crops": int(keep.sum()), "dropped_real_crops": int(drop_photo.sum()),
            "dropped_composites": int((train["source"] == SOURCES.index("composite")).sum()),
            "extras": [{"file": n, "kept": a, "dropped_real": b} for n, a, b in extra_out]}


def pooled(breakdowns: Sequence[Dict], source: str = "ptl") -> Dict:
    """`lttw.signal_breakdown` results of several folds (JSON), one source's counts summed: the
    confusion, why frames were left unknown, false greens, and the figures that choose a recipe."""
    confusion: Dict[str, Dict[str, int]] = {}
    why: Dict[str, Dict[str, int]] = {}
    n, false_greens = 0, []
    for b in breakdowns:
        s = b.get(source)
        if not s:
            continue
        n += s["n"]
        false_greens += s["false_greens"]
        for table, into in ((s["confusion"], confusion), (s["unknown_why"], why)):
            for truth, row in table.items():
                for said, k in row.items():
                    into.setdefault(truth, {})
                    into[truth][said] = into[truth].get(said, 0) + k
    right = sum(confusion.get(t, {}).get(t, 0) for t in confusion)
    said_unknown = sum(row.get("unknown", 0) for row in confusion.values())
    of = lambda t: sum(confusion.get(t, {}).values())
    return {"n": n, "false_greens": false_greens, "light_accuracy": right / n if n else None,
            "abstention": said_unknown / n if n else None,
            "greens": [confusion.get("green", {}).get("green", 0), of("green")],
            "reds": [confusion.get("red", {}).get("red", 0), of("red")],
            "no_signal": [confusion.get("off_or_none", {}).get("off_or_none", 0), of("off_or_none")],
            "confusion": confusion, "unknown_why": why}


def main():
    ap = argparse.ArgumentParser(description="A held-out fold of the real pedestrian photos: a crop folder for "
                                             "signal_train without them, and an eval folder of them. With --pool, "
                                             "the signal_breakdown JSON of each fold summed instead.")
    ap.add_argument("--pool", nargs="+", help="signal_breakdown --json outputs, one per fold: print their sum")
    ap.add_argument("--data", default="training/data/signal", help="crop folder signal_data wrote (train.npz, val.npz)")
    ap.add_argument("--extra", nargs="*", default=[], help="mined crop sets; their real crops are dropped")
    ap.add_argument("--fold", type=int)
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--copies", type=int, default=2, help="signal_data's --copies for the set")
    ap.add_argument("--real_copies", type=int, default=6, help="signal_data's --real_copies for the set")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.pool:
        loaded = []
        for path in a.pool:
            with open(path) as f:
                loaded.append(json.load(f))
        print(json.dumps(pooled(loaded), indent=1))
        return
    if a.fold is None or a.out is None:
        ap.error("--fold and --out are needed to write a fold (or --pool to sum breakdowns)")
    print(json.dumps(write(a.data, a.extra, a.out, a.fold, a.folds, a.copies, a.real_copies), indent=1))


if __name__ == "__main__":
    main()

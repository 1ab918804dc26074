"""Write a labelled-scenes set (DESIGN.md format) from a seed range.

  python -m lttw.make_set --out training/data/sets/test --start 2000000 --n 2500

Writes OUT/images/<seed>.jpg (or .png) and OUT/labels.jsonl, one object per image:
  {"file", "pedestrian_light": red|green|yellow|off_or_none, "light_kind": pedestrian|vehicle|null,
   "crosswalk": yes|no, "obstacles": [{"kind", "position", "distance"}],
   extras: "seed", "facts" (DESIGN.md scene facts), "captions" {"en","zh"},
   "countdown" {"seconds", "box"} where a lit countdown is drawn}

  python -m lttw.make_set --out training/data/sets/countdown_test --start 5400000 --n 1000 --countdown_head

`--countdown_head` makes every scene a lit pedestrian signal with a countdown (the countdown
reader's test; lttw.generator.generate).

  python -m lttw.make_set --out training/data/sets/crosswalk_variety_test --start 2500000 --n 1500 --crosswalk_variety

`--crosswalk_variety` draws the generator's crossing variety (crossings turned up to 85 degrees,
grey noisy street and ground views): the scene model's crossing test beside the plain split.
"""
import argparse
import json
import os
from multiprocessing import Pool

import cv2
from tqdm import tqdm

from .generator import generate


def _one(args):
    seed, out, ext, quality, long_side, countdown_head, crosswalk_variety = args
    sc = generate(seed, long_side=long_side, countdown_head=countdown_head, crosswalk_variety=crosswalk_variety)
    rel = f"images/{seed}.{ext}"
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext == "jpg" else []
    cv2.imwrite(os.path.join(out, rel), sc.bgr, params)
    return sc.labelled_record(rel)


def make_set(out, start, n, ext="png", quality=95, workers=2, long_side=None, quiet=False, countdown_head=False,
             crosswalk_variety=False):
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    jobs = [(s, out, ext, quality, long_side, countdown_head, crosswalk_variety) for s in range(start, start + n)]
    if workers > 1:
        with Pool(workers) as p:
            recs = list(tqdm(p.imap(_one, jobs, chunksize=16), total=n, desc="scenes", disable=quiet))
    else:
        recs = [_one(j) for j in tqdm(jobs, desc="scenes", disable=quiet)]
    with open(os.path.join(out, "labels.jsonl"), "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--start", type=int, default=2_000_000)
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--ext", default="png", choices=["png", "jpg"])
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--countdown_head", action="store_true", help="every scene a lit pedestrian signal with a countdown")
    ap.add_argument("--crosswalk_variety", action="store_true",
                    help="the generator's crossing variety: crossings turned up to 85 degrees, grey noisy views")
    a = ap.parse_args()
    make_set(a.out, a.start, a.n, a.ext, a.quality, a.workers, countdown_head=a.countdown_head,
             crosswalk_variety=a.crosswalk_variety)


if __name__ == "__main__":
    main()

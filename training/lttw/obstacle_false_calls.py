"""Obstacle calls on real photos with nothing in the way: the traffic-light crops (`mit_*`) of
../shared/train/real, where any obstacle the expert names is false. The real photos carry no
obstacle labels, so this is the one real-photo precision figure the training side can measure;
the renders' recall comes from `lttw.evaluate` on the generated test split.

    PYTHONPATH=training python -m lttw.obstacle_false_calls --model models/default
    PYTHONPATH=training python -m lttw.obstacle_false_calls --model models/default --split val --show 10
"""
import argparse
import collections
import json
import os
from typing import Dict, List

from .artifact import Predictor
from .preprocess import load_bgr
from .signal_data import REAL_ROOT, signal_crop_files


def false_calls(predictor: Predictor, files: List[str], batch: int = 64) -> Dict[str, list]:
    """Each file's obstacle calls (all of them false on these photos)."""
    calls = {}
    for i in range(0, len(files), batch):
        part = files[i:i + batch]
        for f, obstacles in zip(part, predictor.expert_obstacles([load_bgr(os.path.join(REAL_ROOT, f)) for f in part])):
            calls[f] = obstacles
    return calls


def summary(calls: Dict[str, list]) -> Dict:
    kinds = collections.Counter(o["kind"] for obstacles in calls.values() for o in obstacles)
    return {"photos": len(calls), "calls": sum(map(len, calls.values())),
            "photos_with_a_call": sum(bool(o) for o in calls.values()), "by_kind": dict(kinds.most_common())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--split", choices=["train", "val", "both"], default="both",
                    help="the real photos' own split (train: what --real_negatives trains on)")
    ap.add_argument("--show", type=int, default=0, help="list this many photos with calls, most confident first")
    a = ap.parse_args()
    predictor = Predictor(a.model)
    if predictor.obstacle is None:
        raise SystemExit(f"{a.model}: this model has no obstacle expert")
    for split in (["train", "val"] if a.split == "both" else [a.split]):
        calls = false_calls(predictor, signal_crop_files(split))
        s = summary(calls)
        print(f"{split}: {s['calls']} obstacle calls on {s['photos_with_a_call']} of {s['photos']} traffic-light crops "
              f"({s['photos_with_a_call'] / max(1, s['photos']):.1%}); by kind {json.dumps(s['by_kind'])}")
        worst = sorted(((max(o["confidence"] for o in v), f, v) for f, v in calls.items() if v), reverse=True)[:a.show]
        for conf, f, v in worst:
            print(f"  {f}: " + ", ".join(f"{o['kind']} {o['position']} {o['distance']} {o['confidence']:.2f}" for o in v))


if __name__ == "__main__":
    main()

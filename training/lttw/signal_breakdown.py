"""Where the signal expert's light decisions go, by source: for each kind of photo in a labelled-scenes
set (the file name's prefix: ptl_, mit_, cwd_, ...), the decisions per labelled state and, for the
frames left "unknown", why (the decision rule's reason).

Why it exists: a set's figures mix sources that behave very differently. The real val split's green
recall, for one, is mostly the MIT vehicle crops (21 of its 25 greens), while the pedestrian photos
(`ptl_*`, the kind real-dev's greens are) went unsaid about half the time, trained on or not
(models/default/NOTES.md, 2026-12-01 afternoon). Use it on ../shared/train/real (either split),
never to tune on ../shared/eval.

    PYTHONPATH=training python -m lttw.signal_breakdown --set ../shared/train/real --split train
    ... --prefix ptl --json
"""
import argparse
import json
import os
from collections import Counter, defaultdict
from typing import Dict, Optional

from .artifact import Predictor
from .evaluate import LIGHT_TRUTH, PRED_COLS, _map_pred_light
from .preprocess import load_bgr


def source_of(file: str) -> str:
    """The kind of photo a labelled file is: its name up to the first underscore (ptl_0137.jpg -> ptl)."""
    name = os.path.basename(file)
    return name.split("_", 1)[0] if "_" in name else name.rsplit(".", 1)[0]


def breakdown(model_dir: str, set_dir: str, split: Optional[str] = None, prefix: Optional[str] = None,
              predictor: Optional[Predictor] = None) -> Dict:
    """{source: {"confusion": {truth: {decision: n}}, "unknown_why": {truth: {reason: n}}, "n": n,
    "false_greens": [file, ...]}} over the set's light-labelled rows (of `split`, of sources
    starting with `prefix`)."""
    pred = predictor or Predictor(model_dir)
    if pred.signal is None:
        raise SystemExit(f"{model_dir}: no signal expert; the scene heads alone decide the light there")
    out: Dict[str, Dict] = defaultdict(lambda: {"confusion": defaultdict(Counter), "unknown_why": defaultdict(Counter),
                                                "n": 0, "false_greens": []})
    with open(os.path.join(set_dir, "labels.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for row in rows:
        truth = row.get("pedestrian_light")
        src = source_of(row["file"])
        if truth not in LIGHT_TRUTH or (split and row.get("split") != split) or (prefix and not src.startswith(prefix)):
            continue
        d = pred.signal.read(load_bgr(os.path.join(set_dir, row["file"]))[..., ::-1].copy())
        said = _map_pred_light(d["state"])
        s = out[src]
        s["n"] += 1
        s["confusion"][truth][said] += 1
        if said == "unknown":
            s["unknown_why"][truth][d.get("why", "unsure")] += 1
        if said == "green" and truth != "green":
            s["false_greens"].append(row["file"])
    return {src: {"n": s["n"], "false_greens": s["false_greens"],
                  "confusion": {t: dict(c) for t, c in s["confusion"].items()},
                  "unknown_why": {t: dict(c) for t, c in s["unknown_why"].items()}} for src, s in sorted(out.items())}


def breakdown_text(b: Dict) -> str:
    lines = []
    for src, s in b.items():
        fg = len(s["false_greens"])
        lines.append(f"{src}: {s['n']} light-labelled, false greens {fg}" + (f" ({', '.join(s['false_greens'])})" if fg else ""))
        lines.append("  truth \\ said   " + "".join(f"{c:>12}" for c in PRED_COLS))
        for t in LIGHT_TRUTH:
            row = s["confusion"].get(t)
            if row:
                lines.append(f"  {t:14}" + "".join(f"{row.get(c, 0):>12}" for c in PRED_COLS))
        for t, why in s["unknown_why"].items():
            lines.append(f"  {t} left unknown: " + ", ".join(f"{r} {n}" for r, n in sorted(why.items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="The signal expert's decisions on a labelled-scenes set, by kind of photo, "
                                             "with why the unknown ones were left unknown.")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--set", required=True, help="a labelled-scenes folder (labels.jsonl + images), e.g. ../shared/train/real")
    ap.add_argument("--split", help="only the rows whose `split` is this (train or val)")
    ap.add_argument("--prefix", help="only the sources whose name starts with this (e.g. ptl)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.set, "labels.jsonl")):
        raise SystemExit(f"{a.set}: no labels.jsonl (a labelled-scenes folder has labels.jsonl and the images it names)")
    b = breakdown(a.model, a.set, a.split, a.prefix)
    print(json.dumps(b, indent=1) if a.json else breakdown_text(b))


if __name__ == "__main__":
    main()

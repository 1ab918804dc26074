"""A trained obstacle expert against a model folder's, on renders: the validation cache the run
calibrates on, and a holdout no run trains or calibrates on (seeds 6,000,000+, rendered here when
missing). Each expert is read at its own temperature and threshold (the model folder's as shipped;
the run's fitted on validation for the run's precision target), with recall by the labels'
distance, so a candidate is judged as it would ship.

    PYTHONPATH=training python -m lttw.obstacle_holdout --run training/runs/obstacle_fresh2
    PYTHONPATH=training python -m lttw.obstacle_holdout --run RUN --checkpoint last.pt --holdout 4000
"""
import argparse
import json
import os
from typing import Dict

import torch
from safetensors.torch import load_file

from .data import build_cache
from .evaluate import false_calls, obstacle_breakdown, recall_by_distance
from .obstacle_expert import ObstacleConfig, ObstacleExpert, probabilities, read, targets
from .obstacle_expert_train import choose_threshold, fit_temperature, logits_of, operating_points, truth_of
from .obstacle_map import score

HOLDOUT_START = 6_000_000


def measure(expert, temperature: float, threshold: float, cache) -> Dict:
    """Recall, precision and distance accuracy at the expert's operating point on `cache`, recall
    by distance and by kind, and the false calls split into a wrong kind at a labelled place and
    calls where nothing is."""
    truth = truth_of(cache)
    found = [read(q, threshold) for q in probabilities(logits_of(expert, cache["images"]), temperature)]
    at = score(found, truth)
    tally = {}
    for gt, pred in zip(truth, found):
        obstacle_breakdown(gt, pred, tally)
    by_kind = {k: {"recall": t[0] / t[1] if t[1] else None, "labelled": t[1],
                   "precision": t[2] / t[3] if t[3] else None, "calls": t[3]}
               for (axis, k), t in sorted(tally.items()) if axis == "kind"}
    wrong = false_calls(truth, found)
    confusion = sorted(wrong.pop("confusion").items(), key=lambda kv: -kv[1])
    return {**{k: at[k] for k in ("recall", "precision", "distance_accuracy")},
            "recall_by_distance": recall_by_distance(truth, found), "by_kind": by_kind,
            "false_calls": {**wrong, "confusion": [{"label": l, "called": c, "count": n} for (l, c), n in confusion]}}


def shipped_expert(model: str):
    from .artifact import load_obstacle_expert
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)
    expert = load_obstacle_expert(cfg, load_file(os.path.join(model, "model.safetensors")), model)
    if expert is None:
        raise SystemExit(f"{model}: this model folder has no obstacle expert")
    return expert, cfg["obstacle_expert"]["temperature"], cfg["obstacle_expert"]["threshold"]


def precision_target(run: str, given=None) -> float:
    """The precision a run's threshold is fitted for: `given`, else the one its trainer calibrated
    for (so the judge reads the run as it would merge), else 0.7."""
    if given is not None:
        return given
    path = os.path.join(run, "calibration.json")
    if os.path.exists(path):
        with open(path) as f:
            return float(json.load(f).get("precision_target", 0.7))
    return 0.7


def run_expert(run: str, checkpoint: str, scenes, precision: float):
    """The run's expert, with the temperature and threshold fitted on the validation scenes at its
    own input side (`scenes(size)` gives the validation and holdout caches)."""
    path = os.path.join(run, checkpoint)
    if not os.path.exists(path):
        raise SystemExit(f"{path}: no such checkpoint (the trainer writes best.pt and last.pt into its run folder)")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    expert = ObstacleExpert(ObstacleConfig(**ck["config"]))
    expert.load_state_dict(ck["model"])
    expert.eval()
    validation = scenes(expert.c.image_size)[0]
    logits = logits_of(expert, validation["images"])
    temperature = fit_temperature(logits, targets(validation["obstacle_boxes"]))
    threshold = choose_threshold(operating_points(logits, truth_of(validation), temperature), precision)
    return expert, temperature, threshold, ck.get("step")


def _line(name: str, m: Dict) -> str:
    by = ", ".join(f"{d} {100 * t['recall']:.1f} %" for d, t in m["recall_by_distance"].items() if t["recall"] is not None)
    return (f"  {name:10s} recall {100 * m['recall']:.2f} %, precision {100 * m['precision']:.2f} %, "
            f"distance {100 * m['distance_accuracy']:.1f} % | by distance: {by}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--run", required=True, help="an obstacle_expert_train run folder")
    ap.add_argument("--checkpoint", default="best.pt", help="the run's checkpoint to read (best.pt or last.pt)")
    ap.add_argument("--model", default="models/default", help="the model folder whose obstacle expert it is measured against")
    ap.add_argument("--cache", default="training/data/obstacle", help="scene cache root of the validation renders (at each expert's size)")
    ap.add_argument("--validation", type=int, default=3000, help="validation scenes (seeds 1,000,000+), as the trainer's")
    ap.add_argument("--holdout_cache", default="training/data/obstacle_hold", help="scene cache root of the holdout renders")
    ap.add_argument("--holdout", type=int, default=2000, help="holdout scenes (seeds 6,000,000+)")
    ap.add_argument("--precision", type=float, default=None,
                    help="the validation precision the run's threshold must reach (default: the target its trainer "
                         "calibrated for, calibration.json's precision_target, else 0.7)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    renders = {}

    def scenes(size: int):
        """The validation and holdout scenes at one expert's input side (the same seeds at each)."""
        if size not in renders:
            renders[size] = (build_cache(a.cache, "val", a.validation, size=size),
                             build_cache(a.holdout_cache, "val", a.holdout, size=size, start=HOLDOUT_START))
        return renders[size]

    shipped, t_s, thr_s = shipped_expert(a.model)
    candidate, t_c, thr_c, step = run_expert(a.run, a.checkpoint, scenes, precision_target(a.run, a.precision))
    out = {}
    for name, (expert, t, thr) in {"shipped": (shipped, t_s, thr_s), "candidate": (candidate, t_c, thr_c)}.items():
        validation, holdout = scenes(expert.c.image_size)
        out[name] = {"temperature": t, "threshold": thr, "image_size": expert.c.image_size,
                     "validation": measure(expert, t, thr, validation), "holdout": measure(expert, t, thr, holdout)}
    if a.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{a.model} against {a.run}/{a.checkpoint} (step {step}); each at its own temperature and threshold")
    for split, scenes in (("validation", f"seeds 1,000,000+, {a.validation}"), ("holdout", f"seeds 6,000,000+, {a.holdout}")):
        print(f"{split} ({scenes}):")
        for name, o in out.items():
            m = o[split]
            print(_line(f"{name}", m) + f"  [T {o['temperature']:.3f}, threshold {o['threshold']}, {o['image_size']} px]")
            kinds = ", ".join(f"{k} {100 * t['recall']:.0f}/{100 * (t['precision'] or 0):.0f}"
                              for k, t in m["by_kind"].items() if t["recall"] is not None)
            f = m["false_calls"]
            top = ", ".join(f"{c['label']}→{c['called']} {c['count']}" for c in f["confusion"][:5])
            print(f"             by kind (recall/precision %): {kinds}")
            print(f"             false calls: {f['wrong_kind']} a wrong kind at a labelled place ({top}), {f['nothing']} where nothing is")


if __name__ == "__main__":
    main()

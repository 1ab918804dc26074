"""Score a model artifact on any labelled-scenes set (DESIGN.md format).

  python -m lttw.evaluate --model models/default --set ../shared/eval/real-dev --out models/default/eval/real-dev

Prints the FALSE-GREEN RATE first. Definitions:
  false_green_rate = #(predicted green AND truth in {red, yellow, off_or_none}) / #(items whose
                     pedestrian_light is labelled and is not green)   [the "non-green" denominator]
  predicted green  = with a signal expert: its decided walk (its green threshold, no red lamp in view,
                     its confirmation views and its verifier: signal_model.decide and confirm_*);
                     without one: argmax of the calibrated light_state head is green AND
                     p(green) >= thresholds.green
  abstention       = the light decision is "unknown" (the signal expert's doubts, or without it max
                     prob < thresholds.abstain, or green below the green threshold);
                     abstention_rate = #unknown / #light-labelled items
  light_accuracy   = #(decision == truth) / #light-labelled (abstentions count as wrong);
                     none/off decisions map to off_or_none
  obstacles        = (kind, position) pairs; a labelled position null matches any position;
                     aliases tree_trunk->tree, movable_signage->sign, traffic_sign->pole, center->ahead
Writes OUT/metrics.json, OUT/report.md, OUT/confusion.png, OUT/predictions.jsonl.
"""
import argparse
import json
import math
import os
from collections import Counter
from typing import Dict, Tuple

import numpy as np
import torch
from tqdm import tqdm

from .artifact import Predictor
from .generator import DISTANCES
from .preprocess import load_bgr
from .tokenizer import split

LIGHT_TRUTH = ["red", "green", "yellow", "off_or_none"]
PRED_COLS = LIGHT_TRUTH + ["unknown"]
KIND_ALIAS = {"tree_trunk": "tree", "movable_signage": "sign", "traffic_sign": "pole", "bike": "bicycle",
              "pedestrian": "person", "trash_can": "bin", "bus": "car", "truck": "car"}
POS_ALIAS = {"center": "ahead", "centre": "ahead", "middle": "ahead", "front": "ahead"}


def _map_pred_light(st):
    return {"none": "off_or_none", "off": "off_or_none"}.get(st, st)


# ----------------------------------------------------------------------------- caption metrics
def _ngrams(t, n):
    return Counter(tuple(t[i:i + n]) for i in range(len(t) - n + 1))


def corpus_bleu4(refs, hyps):
    num = [0] * 4
    den = [0] * 4
    rl = hl = 0
    for r, h in zip(refs, hyps):
        rl += len(r)
        hl += len(h)
        for n in range(1, 5):
            hn, rn = _ngrams(h, n), _ngrams(r, n)
            num[n - 1] += sum(min(c, rn[g]) for g, c in hn.items())
            den[n - 1] += max(0, len(h) - n + 1)
    if min(num) == 0 or hl == 0:
        return 0.0
    logp = sum(math.log(num[i] / den[i]) for i in range(4)) / 4
    bp = 1.0 if hl > rl else math.exp(1 - rl / max(hl, 1))
    return bp * math.exp(logp)


def rouge_l(ref, hyp):
    if not ref or not hyp:
        return 0.0
    m, n = len(ref), len(hyp)
    dp = [[0] * (n + 1) for _ in range(m + 1)]
    for i in range(m):
        for j in range(n):
            dp[i + 1][j + 1] = dp[i][j] + 1 if ref[i] == hyp[j] else max(dp[i][j + 1], dp[i + 1][j])
    lcs = dp[m][n]
    if lcs == 0:
        return 0.0
    p, r = lcs / n, lcs / m
    return 2 * p * r / (p + r)


# ----------------------------------------------------------------------------- obstacles
def _norm_obs(o):
    k = o.get("kind") or o.get("class")
    k = KIND_ALIAS.get(k, k)
    p = o.get("position")
    p = POS_ALIAS.get(p, p)
    return k, p


def pair_obstacles(gt, pred):
    """Which labels a prediction found and which predictions found one: a prediction matches a
    label of its kind at its position (any position when the label has none), each used once,
    labels in order. -> ([hit per label], [used per prediction])."""
    calls = [(o["kind"], o["position"]) for o in pred]
    used = [False] * len(calls)
    hits = []
    for k, p in (_norm_obs(o) for o in gt):
        hit = next((j for j, (pk, pp) in enumerate(calls) if not used[j] and pk == k and (p is None or pp == p)), None)
        if hit is not None:
            used[hit] = True
        hits.append(hit is not None)
    return hits, used


def recall_by_distance(labels, predictions):
    """The share of the labels of each distance (near / mid / far) that a prediction of their kind
    and position found (`pair_obstacles`), frame by frame: {distance: {"recall", "labelled"}}."""
    tally = {d: [0, 0] for d in DISTANCES}
    for gt, pred in zip(labels, predictions):
        for o, hit in zip(gt, pair_obstacles(gt, pred)[0]):
            tally[o["distance"]][0] += hit
            tally[o["distance"]][1] += 1
    return {d: {"recall": f / n if n else None, "labelled": n} for d, (f, n) in tally.items()}


def false_calls(labels, predictions):
    """The calls that found no label, split by what stands at their place, frame by frame:
    {"wrong_kind": calls at a position where a label of another kind went unfound, "nothing":
    the rest, "confusion": {(label kind, called kind): count} of the wrong-kind calls}. A wrong kind
    still tells the wearer that something is there; a call where nothing is sends them around air,
    so a rule may weigh the two apart. Pairing is `pair_obstacles`', each unfound label used once."""
    out = {"wrong_kind": 0, "nothing": 0, "confusion": {}}
    for gt, pred in zip(labels, predictions):
        hits, used = pair_obstacles(gt, pred)
        unfound = [_norm_obs(o) for o, hit in zip(gt, hits) if not hit]
        for o, u in zip(pred, used):
            if u:
                continue
            kind, position = _norm_obs(o)
            other = next((i for i, (k, p) in enumerate(unfound) if k != kind and (p is None or p == position)), None)
            if other is None:
                out["nothing"] += 1
                continue
            pair = (unfound.pop(other)[0], kind)
            out["wrong_kind"] += 1
            out["confusion"][pair] = out["confusion"].get(pair, 0) + 1
    return out


def match_obstacles(gt, pred):
    hits, _ = pair_obstacles(gt, pred)
    return sum(hits), len(gt), len(pred)


def obstacle_breakdown(gt, pred, tally):
    """Adds one frame's obstacles to `tally` by kind and by position: [matched labels, labels,
    matched predictions, predictions] per key, so recall and precision can be read per kind and per
    position, paired as pair_obstacles pairs them."""
    hits, used = pair_obstacles(gt, pred)
    for (k, p), hit in zip((_norm_obs(o) for o in gt), hits):
        for key in (("kind", k), ("position", p)):
            if key[1] is not None:
                t = tally.setdefault(key, [0, 0, 0, 0])
                t[0] += hit
                t[1] += 1
    pred = [(o["kind"], o["position"]) for o in pred]
    for (k, p), u in zip(pred, used):
        for key in (("kind", k), ("position", p)):
            t = tally.setdefault(key, [0, 0, 0, 0])
            t[2] += u
            t[3] += 1


CROSSING_SHARES = ((0.03, "under 3 %"), (0.08, "3-8 %"), (float("inf"), "8 % or more"))  # of the frame


def _share_rank(name):
    """Table order: the crossing shares small to large, everything else by name."""
    names = [n for _, n in CROSSING_SHARES]
    return (names.index(name), "") if name in names else (len(names), str(name))


def crossing_side(r):
    """The labelled side of a frame's crossing: a generated label's `facts.crosswalk.offset`, or a
    real photo's `crosswalk_position` (from its largest crossing box; "center" is ahead)."""
    offset = ((r.get("facts") or {}).get("crosswalk") or {}).get("offset")
    if offset is None and r.get("crosswalk_position"):
        offset = {"center": "ahead"}.get(r["crosswalk_position"], r["crosswalk_position"])
    return offset


def crosswalk_breakdown(r, said_present: bool, tally):
    """Adds one frame's crossing to `tally`: [right, labelled] per key. A labelled crossing counts
    by its side and, where a generated label carries it (`conditions.crosswalk_seen_fraction`), by
    the share of the frame its stripes cover, because small crossings are where the scene model's
    160 px input runs out; a frame without one counts under "none" (the false crossings)."""
    if r.get("crosswalk") not in ("yes", "no"):
        return
    keys = [("none", "labelled absent")]
    if r["crosswalk"] == "yes":
        offset = crossing_side(r)
        share = ((r.get("facts") or {}).get("conditions") or {}).get("crosswalk_seen_fraction")
        keys = [("side", offset)] if offset else []
        if share is not None:
            keys.append(("share of frame", next(name for top, name in CROSSING_SHARES if share < top)))
    for key in keys:
        t = tally.setdefault(key, [0, 0])
        t[0] += int(said_present == (r["crosswalk"] == "yes"))
        t[1] += 1


# ----------------------------------------------------------------------------- main
def load_size(set_dir, r) -> Tuple[int, int]:
    """(W, H) of a record's image, from its header."""
    import cv2
    im = cv2.imread(os.path.join(set_dir, r["file"]), cv2.IMREAD_UNCHANGED)
    return im.shape[1], im.shape[0]


def countdown_tally(r: Dict, p: Dict, size, tally: Counter):
    """Counts one record's countdown outcome: a labelled countdown wholly in the frame is read
    right, read wrong or not said; seconds said where none is shown count as said without one."""
    said = p["light"].get("seconds_left")
    label = r.get("countdown")
    if label and size and label["box"][0] >= 0 and label["box"][1] >= 0 and label["box"][2] <= size[0] and label["box"][3] <= size[1]:
        tally["shown"] += 1
        if said is None:
            tally["not_said"] += 1
        elif said == label["seconds"]:
            tally["right"] += 1
        else:
            tally["wrong"] += 1
        if p["light"]["state"] in ("red", "green"):
            tally["shown_light_said"] += 1
            tally["right_light_said"] += int(said == label["seconds"])
    elif said is not None:
        tally["said_without"] += 1


def countdown_metrics(t: Counter) -> Dict:
    return {"shown": t["shown"], "read_right": t["right"], "read_wrong": t["wrong"], "not_said": t["not_said"],
            "said_where_none_shown": t["said_without"],
            "accuracy_of_shown": (t["right"] / t["shown"]) if t["shown"] else None,
            "accuracy_where_light_said": (t["right_light_said"] / t["shown_light_said"]) if t["shown_light_said"] else None,
            "shown_with_light_said": t["shown_light_said"]}


def read_labels(set_dir):
    """labels.jsonl's records. A `pedestrian_light` other than the four truth classes or null is
    an error naming the line: a set that says "Red" or "off" would otherwise leave those frames out
    of the false-green rate without a word."""
    path = os.path.join(set_dir, "labels.jsonl")
    recs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            light = r.get("pedestrian_light")
            if light is not None and light not in LIGHT_TRUTH:
                raise ValueError(f"{path}:{number}: pedestrian_light {light!r} is none of {', '.join(LIGHT_TRUTH)} (null: not labelled)")
            recs.append(r)
    return recs


def evaluate(model_dir, set_dir, out_dir=None, batch=32, captions="auto", limit=None, quiet=False, predictor=None, only_split=None):
    pred = predictor or Predictor(model_dir)
    recs = read_labels(set_dir)
    if only_split:
        recs = [r for r in recs if r.get("split") == only_split]
    if limit:
        recs = recs[:limit]
    want_caps = captions == "yes" or (captions == "auto" and any(isinstance(r.get("captions"), dict) for r in recs))
    preds = []
    for i in tqdm(range(0, len(recs), batch), desc="eval", disable=quiet):
        chunk = recs[i:i + batch]
        imgs = [load_bgr(os.path.join(set_dir, r["file"])) for r in chunk]
        preds += pred.run_batch(imgs, captions=want_caps)

    conf = np.zeros((len(LIGHT_TRUTH), len(PRED_COLS)), np.int64)
    n_light = n_nongreen = fg = abst = correct = 0
    fg_by = Counter()
    kind_ok = kind_n = 0
    cw_ok = cw_n = cw_tp = cw_fp = cw_fn = 0
    side_ok = side_n = 0
    o_tp = o_gt = o_pred = 0
    o_tp_kind = 0
    o_tally = {}
    cw_tally = {}
    n_obs_items = 0
    refs = {"en": [], "zh": []}
    hyps = {"en": [], "zh": []}
    rouge = {"en": [], "zh": []}
    cd = Counter()
    rows = []
    for r, p in zip(recs, preds):
        row = {"file": r["file"], "pred": {k: v for k, v in p.items()}}
        t = r.get("pedestrian_light")
        d = _map_pred_light(p["light"]["state"])
        row["pred_light"] = d
        if t in LIGHT_TRUTH:
            n_light += 1
            conf[LIGHT_TRUTH.index(t), PRED_COLS.index(d)] += 1
            correct += int(d == t)
            abst += int(d == "unknown")
            if t != "green":
                n_nongreen += 1
                if d == "green":
                    fg += 1
                    fg_by[t] += 1
            if t in ("red", "green", "yellow") and r.get("light_kind") in ("pedestrian", "vehicle") and d == t:
                kind_n += 1
                kind_ok += int(p["light"].get("kind") == r["light_kind"])
        countdown_tally(r, p, load_size(set_dir, r) if "countdown" in r else None, cd)
        c = r.get("crosswalk")
        if c in ("yes", "no"):
            cw_n += 1
            py = bool(p["crosswalk"]["present"])
            ty = c == "yes"
            cw_ok += int(py == ty)
            cw_tp += int(py and ty); cw_fp += int(py and not ty); cw_fn += int(ty and not py)
            crosswalk_breakdown(r, py, cw_tally)
            side = crossing_side(r) if py and ty else None
            if side:
                side_n += 1
                side_ok += int(p["crosswalk"].get("offset") == side)
        if isinstance(r.get("obstacles"), list):
            n_obs_items += 1
            tp, ng, npred = match_obstacles(r["obstacles"], p["obstacles"])
            o_tp += tp; o_gt += ng; o_pred += npred
            tpk, _, _ = match_obstacles([{"kind": _norm_obs(o)[0], "position": None} for o in r["obstacles"]], p["obstacles"])
            o_tp_kind += tpk
            obstacle_breakdown(r["obstacles"], p["obstacles"], o_tally)
        if want_caps and isinstance(r.get("captions"), dict):
            for lang in ("en", "zh"):
                if lang in r["captions"]:
                    rt, ht = split(r["captions"][lang], lang), split(p["captions"][lang], lang)
                    refs[lang].append(rt); hyps[lang].append(ht)
                    rouge[lang].append(rouge_l(rt, ht))
        rows.append(row)

    def prf(i):
        tp = conf[i, i]
        col = conf[:, PRED_COLS.index(LIGHT_TRUTH[i])].sum()
        rowsum = conf[i].sum()
        return {"precision": float(tp / col) if col else None, "recall": float(tp / rowsum) if rowsum else None,
                "support": int(rowsum), "predicted": int(col)}

    m = {
        "false_green_rate": (fg / n_nongreen) if n_nongreen else None,
        "false_green_count": fg,
        "false_green_denominator": n_nongreen,
        "false_green_by_truth": dict(fg_by),
        "light_accuracy": (correct / n_light) if n_light else None,
        "light_accuracy_answered": (correct / (n_light - abst)) if n_light - abst else None,
        "abstention_rate": (abst / n_light) if n_light else None,
        "light_per_class": {c: prf(i) for i, c in enumerate(LIGHT_TRUTH)},
        "light_confusion": {"rows_truth": LIGHT_TRUTH, "cols_pred": PRED_COLS, "matrix": conf.tolist()},
        "light_kind_accuracy_on_correct_lit": (kind_ok / kind_n) if kind_n else None,
        "crosswalk_accuracy": (cw_ok / cw_n) if cw_n else None,
        "crosswalk_precision": (cw_tp / (cw_tp + cw_fp)) if cw_tp + cw_fp else None,
        "crosswalk_recall": (cw_tp / (cw_tp + cw_fn)) if cw_tp + cw_fn else None,
        "crosswalk_side_accuracy": (side_ok / side_n) if side_n else None,
        "crosswalk_side_scored": side_n,
        "crosswalk_by": {f"{axis}: {key}": {"accuracy": t[0] / t[1], "right": t[0], "labelled": t[1]}
                         for (axis, key), t in sorted(cw_tally.items(), key=lambda kv: (kv[0][0], _share_rank(kv[0][1])))},
        "obstacle_recall": (o_tp / o_gt) if o_gt else None,
        "obstacle_precision": (o_tp / o_pred) if o_pred else None,
        "obstacle_recall_kind_only": (o_tp_kind / o_gt) if o_gt else None,
        "obstacles_by": {f"{axis} {key}": {"recall": (t[0] / t[1]) if t[1] else None, "precision": (t[2] / t[3]) if t[3] else None,
                                           "labelled": t[1], "predicted": t[3]}
                         for (axis, key), t in sorted(o_tally.items(), key=lambda kv: (kv[0][0] != "position", str(kv[0][1])))},
        "countdown": countdown_metrics(cd),
        "n": len(recs),
        "counts": {"light_labelled": n_light, "light_non_green": n_nongreen,
                   "light_by_truth": {c: int(conf[i].sum()) for i, c in enumerate(LIGHT_TRUTH)},
                   "crosswalk_labelled": cw_n, "obstacle_labelled_items": n_obs_items,
                   "obstacles_labelled": o_gt, "obstacles_predicted_on_labelled_items": o_pred},
        "thresholds": pred.thr,
        "signal_thresholds": dict(pred.signal.thr) if pred.signal is not None else None,
        "model": os.path.relpath(model_dir) if model_dir else None,  # relative: no machine path in committed reports
        "set": os.path.relpath(set_dir),
    }
    if want_caps and refs["en"]:
        for lang in ("en", "zh"):
            m[f"caption_bleu4_{lang}"] = corpus_bleu4(refs[lang], hyps[lang])
            m[f"caption_rougeL_{lang}"] = float(np.mean(rouge[lang]))
            m[f"caption_exact_{lang}"] = float(np.mean([a == b for a, b in zip(refs[lang], hyps[lang])]))
    if not quiet:
        print(summary_text(m))
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "metrics.json"), "w") as f:
            json.dump(m, f, indent=1)
        with open(os.path.join(out_dir, "predictions.jsonl"), "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        plot_confusion(conf, os.path.join(out_dir, "confusion.png"), os.path.basename(os.path.normpath(set_dir)))
        with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
            f.write(report_md(m, set_dir))
    return m


def _f(v, pct=True):
    if v is None:
        return "n/a"
    return f"{100 * v:.2f} %" if pct else f"{v:.4f}"


def summary_text(m):
    L = [f"FALSE-GREEN RATE: {_f(m['false_green_rate'])}  ({m['false_green_count']} / {m['false_green_denominator']} light-labelled non-green items)",
         f"light-state accuracy: {_f(m['light_accuracy'])}  (answered only: {_f(m['light_accuracy_answered'])}; abstention rate {_f(m['abstention_rate'])})"]
    for c, v in m["light_per_class"].items():
        L.append(f"  {c:12s} precision {_f(v['precision'])}  recall {_f(v['recall'])}  support {v['support']}")
    L.append(f"crosswalk accuracy: {_f(m['crosswalk_accuracy'])}  (n={m['counts']['crosswalk_labelled']})"
             + (f"; side {_f(m['crosswalk_side_accuracy'])} of the {m['crosswalk_side_scored']} found with a labelled side"
                if m["crosswalk_side_scored"] else ""))
    L.append(f"obstacle recall: {_f(m['obstacle_recall'])}  precision: {_f(m['obstacle_precision'])}  "
             f"(kind-only recall {_f(m['obstacle_recall_kind_only'])}; {m['counts']['obstacles_labelled']} labelled on {m['counts']['obstacle_labelled_items']} items)")
    c = m.get("countdown") or {}
    if c.get("shown") or c.get("said_where_none_shown"):
        L.append(f"countdown: {c['read_right']} of {c['shown']} shown read right ({_f(c['accuracy_of_shown'])}; "
                 f"{_f(c['accuracy_where_light_said'])} of the {c['shown_with_light_said']} whose light is said red or green), "
                 f"{c['read_wrong']} wrong, {c['said_where_none_shown']} said where none is shown")
    if "caption_bleu4_en" in m:
        L.append(f"captions: BLEU-4 en {m['caption_bleu4_en']:.4f} zh {m['caption_bleu4_zh']:.4f}; "
                 f"ROUGE-L en {m['caption_rougeL_en']:.4f} zh {m['caption_rougeL_zh']:.4f}; exact en {_f(m['caption_exact_en'])} zh {_f(m['caption_exact_zh'])}")
    L.append(f"n = {m['n']}  counts: {json.dumps(m['counts'])}")
    return "\n".join(L)


def report_md(m, set_dir):
    cm = m["light_confusion"]
    s = [f"# Evaluation on `{os.path.basename(os.path.normpath(set_dir))}`\n",
         f"- **False-green rate: {_f(m['false_green_rate'])}** ({m['false_green_count']} of {m['false_green_denominator']} "
         f"light-labelled items whose truth is red, yellow or off_or_none were announced green; by truth: {m['false_green_by_truth']})",
         f"- Light-state accuracy: {_f(m['light_accuracy'])} (abstentions count as wrong; on answered items {_f(m['light_accuracy_answered'])})",
         f"- Abstention rate (light decision 'unknown'): {_f(m['abstention_rate'])}",
         f"- Crosswalk presence accuracy: {_f(m['crosswalk_accuracy'])} (precision {_f(m['crosswalk_precision'])}, recall {_f(m['crosswalk_recall'])})"
         + (f"; its side right on {_f(m['crosswalk_side_accuracy'])} of the {m['crosswalk_side_scored']} found with a labelled side"
            if m["crosswalk_side_scored"] else ""),
         f"- Obstacles: recall {_f(m['obstacle_recall'])}, precision {_f(m['obstacle_precision'])}, kind-only recall {_f(m['obstacle_recall_kind_only'])}",
         f"- n = {m['n']}; " + (f"the light's green threshold {m['signal_thresholds']['green']:.5f} (signal expert"
                                + (f", with the green verifier at {m['signal_thresholds']['verify']:.5f}"
                                   if m["signal_thresholds"].get("verify") is not None else "")
                                + f"; the scene heads' {m['thresholds']['green']:.4f} does not decide the light)" if m.get("signal_thresholds")
                                else f"thresholds: green {m['thresholds']['green']:.4f}, abstain {m['thresholds']['abstain']}"),
         ]
    if "caption_bleu4_en" in m:
        s.append(f"- Captions vs generated references: BLEU-4 en {m['caption_bleu4_en']:.4f}, zh {m['caption_bleu4_zh']:.4f}; "
                 f"ROUGE-L en {m['caption_rougeL_en']:.4f}, zh {m['caption_rougeL_zh']:.4f}")
    s.append("\n## Light state per class\n\n| truth | precision | recall | support |\n|---|---|---|---|")
    for c, v in m["light_per_class"].items():
        s.append(f"| {c} | {_f(v['precision'])} | {_f(v['recall'])} | {v['support']} |")
    s.append("\n## Confusion (rows truth, columns decision)\n\n| truth \\ decision | " + " | ".join(cm["cols_pred"]) + " |")
    s.append("|---" * (len(cm["cols_pred"]) + 1) + "|")
    for name, row in zip(cm["rows_truth"], cm["matrix"]):
        s.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    if m.get("crosswalk_by"):
        s.append("\n## Crosswalks by side and by the share of the frame they cover\n\n"
                 "| crossings | right | labelled | accuracy |\n|---|---|---|---|")
        for key, v in m["crosswalk_by"].items():
            s.append(f"| {key} | {v['right']} | {v['labelled']} | {_f(v['accuracy'])} |")
    if m.get("obstacles_by"):
        s.append("\n## Obstacles by kind and by position\n\n| | recall | precision | labelled | predicted |\n|---|---|---|---|---|")
        for key, v in m["obstacles_by"].items():
            s.append(f"| {key} | {_f(v['recall'])} | {_f(v['precision'])} | {v['labelled']} | {v['predicted']} |")
    s.append(f"\nPer-field counts: `{json.dumps(m['counts'])}`\n\n![confusion](confusion.png)\n")
    return "\n".join(s)


def plot_confusion(conf, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.imshow(conf, cmap="Blues")
    ax.set_xticks(range(len(PRED_COLS)), PRED_COLS, rotation=30)
    ax.set_yticks(range(len(LIGHT_TRUTH)), LIGHT_TRUTH)
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            ax.text(j, i, str(conf[i, j]), ha="center", va="center", color="black")
    ax.set_xlabel("decision"); ax.set_ylabel("truth"); ax.set_title(f"light state — {title}")
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--set", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--captions", default="auto", choices=["auto", "yes", "no"])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", default=None, help="score only the rows whose `split` is this (e.g. val of ../shared/train/real)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    evaluate(a.model, a.set, a.out, a.batch, a.captions, a.limit, only_split=a.split)


if __name__ == "__main__":
    main()

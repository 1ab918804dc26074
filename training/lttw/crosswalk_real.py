"""Fine-tunes the shipped scene model so that its crosswalk head holds on real photographs, without
letting the rest of the model drift: every batch is generated scenes with all the usual losses
(heads and captions, `train.losses`) plus real photos from ../shared/train/real with the crosswalk
presence loss only.

Why: the scene model has only seen generated scenes. On real street photos it calls a crosswalk
where there is none (close-ups of signal heads, kerb views): the source labels give few real
negatives, because the upstream annotators labelled lights or crosswalks, rarely both. The
real negatives here are the train split's light photos whose crosswalk was labelled by viewing
(training/labels/real_crosswalk_viewed.jsonl), the source's own crosswalk labels, and a share of
the MIT signal-head crops (no road in frame).

    PYTHONPATH=training python -m lttw.crosswalk_real --model models/default --run training/runs/crosswalk_real
    PYTHONPATH=training python -m lttw.crosswalk_real --run training/runs/crosswalk_real --resume

The run's checkpoints (`last.pt` at every evaluation, `best.pt` by the validation score) have the
layout `lttw.artifact export` reads. Validation: the generated validation cache (every head) and
the real val split's crosswalk labels; never ../shared/eval.
"""
import argparse
import json
import math
import os
import time
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .artifact import head_logits_on_cache, load_artifact
from .data import build_cache
from .preprocess import preprocess
from .signal_data import REAL_ROOT
from .train import losses, to_batch

VIEWED_LABELS = os.path.join(os.path.dirname(__file__), "..", "labels", "real_crosswalk_viewed.jsonl")
VARIETY_SEEDS = {"train": 100_000, "val": 1_100_000}  # the crossing variety's scenes, away from the plain caches'
MIT_SHARE = 0.25  # of the MIT signal-head crops used as crosswalk negatives (there are 680)


def viewed_labels(path: str = VIEWED_LABELS) -> Dict[str, str]:
    with open(path) as f:
        return {r["file"]: r["crosswalk"] for r in map(json.loads, f)}


def real_crosswalk_rows(split: str, seed: int = 0) -> List[Dict]:
    """The split's frames with a crosswalk label: the source's, else the viewed one; MIT crops
    (a signal head filling the frame) as negatives, a fixed share of them."""
    viewed = viewed_labels()
    rng = np.random.default_rng(seed)
    out = []
    with open(os.path.join(REAL_ROOT, "labels.jsonl")) as f:
        for r in map(json.loads, f):
            if r["split"] != split:
                continue
            label = r["crosswalk"] if r["crosswalk"] is not None else viewed.get(r["file"])
            if label is None and r["file"].startswith("images/mit_") and rng.random() < MIT_SHARE:
                label = "no"
            if label in ("yes", "no"):
                out.append({"file": r["file"], "crosswalk": 1 if label == "yes" else 0})
    return out


def load_images(rows: List[Dict]) -> List[np.ndarray]:
    images = []
    for r in rows:
        bgr = cv2.imread(os.path.join(REAL_ROOT, r["file"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{REAL_ROOT}/{r['file']}: cannot be read as an image")
        images.append(bgr)
    return images


def augment(bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mirrored, cropped (75-100 % a side) and relit copy: presence does not change with any."""
    h, w = bgr.shape[:2]
    if rng.random() < 0.5:
        bgr = bgr[:, ::-1]
    ch, cw = max(8, int(h * rng.uniform(0.75, 1.0))), max(8, int(w * rng.uniform(0.75, 1.0)))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = bgr[y0:y0 + ch, x0:x0 + cw].astype(np.float32) * rng.uniform(0.7, 1.3) + rng.uniform(-20, 20)
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8))


def real_batch(images, labels, n: int, rng, size, mean, std):
    """n real frames, half with a crosswalk and half without."""
    labels = np.asarray(labels)
    yes, no = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    idx = np.concatenate([rng.choice(yes, n // 2), rng.choice(no, n - n // 2)])
    x = np.stack([preprocess(augment(images[i], rng), size, mean, std) for i in idx])
    return torch.from_numpy(x), torch.from_numpy(labels[idx]).long()


def join_batches(a: Dict, b: Dict) -> Dict:
    """Two `to_batch` label sets as one: the heads' rows in order, the captions as `to_batch` lays
    them out (every English caption, then every Mandarin one), padded to the longer."""
    out = {k: torch.cat([a[k], b[k]]) for k in a if k != "caps"}
    L = max(a["caps"].shape[1], b["caps"].shape[1])
    pad = lambda c: F.pad(c, (0, L - c.shape[1]))  # the tokenizer's pad id is 0
    na, nb = a["caps"].shape[0] // 2, b["caps"].shape[0] // 2
    ca, cb = pad(a["caps"]), pad(b["caps"])
    out["caps"] = torch.cat([ca[:na], cb[:nb], ca[na:], cb[nb:]])
    return out


@torch.no_grad()
def evaluate(vlm, val_c, real_images, real_labels, size, mean, std, temperature: float, batch: int = 100,
             variety_c=None) -> Dict:
    """Generated validation: each head's accuracy and the caption loss; the crossing variety's
    validation (`variety_c`, when given): crosswalk presence; real val: crosswalk presence accuracy
    at p >= 0.5 with the shipped temperature."""
    vlm.eval()
    if variety_c is not None:
        t = torch.from_numpy(np.asarray(variety_c["crosswalk"])).long()
        out_v = float((head_logits_on_cache(vlm, variety_c)["crosswalk"].argmax(-1) == t).float().mean())
    L = head_logits_on_cache(vlm, val_c)
    out = {}
    for k in ("crosswalk", "crosswalk_offset", "light_state", "light_position"):
        t = torch.from_numpy(np.asarray(val_c[k])).long()
        m = t >= 0
        out[f"gen_{k}"] = float((L[k].argmax(-1)[m] == t[m]).float().mean())
    lm, n = 0.0, 0
    for i in range(0, len(val_c["seeds"]), batch):
        idx = np.arange(i, min(len(val_c["seeds"]), i + batch))
        x, y = to_batch(val_c, idx, "cpu", lang_both=False)
        tokens, hl, vis = vlm.encode(x)
        lm_logits, _ = vlm.decoder(y["caps"][:, :-1], vis)
        _, parts = losses(hl, lm_logits, y, {"light_weight": 1.0, "lm_weight": 1.0})
        lm += float(parts["lm"]) * len(idx)
        n += len(idx)
    out["gen_caption_loss"] = lm / n
    right = 0
    for i in range(0, len(real_images), batch):
        x = torch.from_numpy(np.stack([preprocess(b, size, mean, std) for b in real_images[i:i + batch]]))
        _, hl, _ = vlm.encode(x)
        p = F.softmax(hl["crosswalk"] / temperature, -1)[:, 1].numpy()
        right += int(((p >= 0.5).astype(int) == np.asarray(real_labels[i:i + batch])).sum())
    out["real_val_crosswalk"] = right / max(1, len(real_images))
    if variety_c is not None:
        out["gen_variety_crosswalk"] = out_v
    vlm.train()
    return out


def main(argv: Optional[List[str]] = None):
    ap = argparse.ArgumentParser(description="Fine-tune the scene model's crosswalk sense on real photos, "
                                             "keeping every generated-scene loss.")
    ap.add_argument("--model", default="models/default", help="the model folder whose scene model is the start")
    ap.add_argument("--run", default="training/runs/crosswalk_real")
    ap.add_argument("--cache_root", default="training/data/cache")
    ap.add_argument("--n_train", type=int, default=12000)
    ap.add_argument("--n_val", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=48, help="generated scenes per step")
    ap.add_argument("--real_batch", type=int, default=16, help="real photos per step")
    ap.add_argument("--real_weight", type=float, default=1.0)
    ap.add_argument("--variety_share", type=float, default=0.0,
                    help="share of each step's generated scenes from the crossing variety (generate(crosswalk_variety=True): "
                         "crossings turned up to 85 degrees, grey noisy views), rendered from seed 100,000 (validation 1,100,000)")
    ap.add_argument("--n_variety", type=int, default=6000, help="crossing-variety training scenes (validation: n_val)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--eval_every", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    vlm, model_cfg, _ = load_artifact(a.model)
    mc = vlm.config
    size = mc.image_size
    mean = np.asarray(model_cfg["preprocessing"]["mean"], np.float32)
    std = np.asarray(model_cfg["preprocessing"]["std"], np.float32)
    temperature = model_cfg["calibration"]["temperatures"].get("crosswalk", 1.0)
    train_c = build_cache(a.cache_root, "train", a.n_train, size, 2)
    val_c = build_cache(a.cache_root, "val", a.n_val, size, 2)
    variety_c = variety_val = None
    if a.variety_share > 0:
        variety_c = build_cache(a.cache_root, "train", a.n_variety, size, 2, start=VARIETY_SEEDS["train"], crosswalk_variety=True)
        variety_val = build_cache(a.cache_root, "val", a.n_val, size, 2, start=VARIETY_SEEDS["val"], crosswalk_variety=True)
    real_train, real_val = real_crosswalk_rows("train", a.seed), real_crosswalk_rows("val", a.seed)
    train_images, val_images = load_images(real_train), load_images(real_val)
    train_labels, val_labels = [r["crosswalk"] for r in real_train], [r["crosswalk"] for r in real_val]
    print(f"real crosswalk frames: train {len(real_train)} ({sum(train_labels)} with one), "
          f"val {len(real_val)} ({sum(val_labels)} with one)", flush=True)
    opt = torch.optim.AdamW(vlm.parameters(), lr=a.lr, weight_decay=0.05, betas=(0.9, 0.98))
    step, log, best = 0, [], -1.0
    last = os.path.join(a.run, "last.pt")
    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        vlm.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        step, log, best = ck["step"], ck["log"], ck["best"]
    cfg = {"light_weight": 2.0, "lm_weight": 0.5, "cache_root": a.cache_root, "n_val": a.n_val, "n_train": a.n_train,
           "seed": a.seed}
    n_variety = int(round(a.batch * a.variety_share)) if variety_c is not None else 0

    def checkpoint(path, ev):
        torch.save({"model": vlm.state_dict(), "opt": opt.state_dict(), "model_config": mc.to_dict(), "cfg": cfg,
                    "step": step, "log": log, "best": best, "val": ev, "args": vars(a)}, path)

    if step == 0:
        ev = evaluate(vlm, val_c, val_images, val_labels, size, mean, std, temperature, variety_c=variety_val)
        log.append({"step": 0, **ev})
        print(json.dumps({"step": 0, **{k: round(v, 4) for k, v in ev.items()}}), flush=True)
    rng = np.random.default_rng([a.seed, step])
    N = len(train_c["seeds"])
    vlm.train()
    t0, acc = time.time(), {}
    while step < a.steps:
        lr = a.lr * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = np.sort(rng.choice(N, a.batch - n_variety, replace=False))
        x, y = to_batch(train_c, idx, "cpu")
        if n_variety:
            xv, yv = to_batch(variety_c, np.sort(rng.choice(len(variety_c["seeds"]), n_variety, replace=False)), "cpu")
            x, y = torch.cat([x, xv]), join_batches(y, yv)
        xr, yr = real_batch(train_images, train_labels, a.real_batch, rng, size, mean, std)
        tokens, hl, vis = vlm.encode(torch.cat([x, xr]))
        gen_hl = {k: v[:a.batch] for k, v in hl.items()}
        reps = y["caps"].shape[0] // x.shape[0]
        lm, _ = vlm.decoder(y["caps"][:, :-1], vis[:a.batch].repeat(reps, 1, 1))
        total, L = losses(gen_hl, lm, y, cfg)
        real_loss = F.cross_entropy(hl["crosswalk"][a.batch:], yr)
        total = total + a.real_weight * real_loss
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(vlm.parameters(), 1.0)
        opt.step()
        step += 1
        for k, v in (("loss", total), ("real_crosswalk", real_loss), ("crosswalk", L["crosswalk"]), ("lm", L["lm"])):
            acc[k] = acc.get(k, 0.0) + float(v.detach())
        if step % 25 == 0:
            print(json.dumps({"step": step, "lr": round(lr, 7), "min": round((time.time() - t0) / 60, 1),
                              **{k: round(v / 25, 4) for k, v in acc.items()}}), flush=True)
            acc = {}
        if step % a.eval_every == 0 or step == a.steps:
            ev = evaluate(vlm, val_c, val_images, val_labels, size, mean, std, temperature, variety_c=variety_val)
            log.append({"step": step, **ev})
            print(json.dumps({"step": step, **{k: round(v, 4) for k, v in ev.items()}}), flush=True)
            score = ev["gen_crosswalk"] + ev["real_val_crosswalk"] + ev.get("gen_variety_crosswalk", 0.0)
            if score > best:
                best = score
                checkpoint(os.path.join(a.run, "best.pt"), ev)
            checkpoint(last, ev)
            with open(os.path.join(a.run, "log.json"), "w") as f:
                json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()

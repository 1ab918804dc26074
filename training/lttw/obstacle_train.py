"""Fine-tunes the shipped scene model with the obstacle map (`lttw.obstacle_map`) on generated
scenes whose obstacle boxes are known, keeping every other head's and the caption's loss so the
rest of the model does not drift; measures obstacles read from the map against the v1 obstacle head
on the generated validation split.

    PYTHONPATH=training python -m lttw.obstacle_train --model models/default --run training/runs/obstacle_map
    PYTHONPATH=training python -m lttw.obstacle_train --run training/runs/obstacle_map --resume

Checkpoints (last.pt every evaluation, best.pt by validation F1 of the map) let a run stop and go on.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from .artifact import load_artifact
from .data import build_cache
from .generator import DISTANCES, OBSTACLE_KINDS, POSITIONS
from .obstacle_map import ObstacleMap, loss as map_loss, read, score, targets
from .train import losses, to_batch

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def v1_obstacles(head_logits, i, temperature: float, threshold: float):
    """The v1 head's obstacles for frame i as `listen` reads them: calibrated temperature and the
    model's `thresholds.obstacle`."""
    p = torch.sigmoid(head_logits["obstacles"][i] / temperature).numpy()
    d = head_logits["obstacle_distance"][i].view(len(POSITIONS), len(DISTANCES)).argmax(-1).numpy()
    K = len(OBSTACLE_KINDS)
    return [{"kind": OBSTACLE_KINDS[j % K], "position": POSITIONS[j // K], "distance": DISTANCES[d[j // K]]}
            for j in np.nonzero(p >= threshold)[0]]


@torch.no_grad()
def encoded_patches(vlm, cache, batch=200):
    """The frozen encoder's patch tokens for every frame of `cache` [N, g*g, D] (float16 to halve
    the memory; the map reads them back as float32)."""
    vlm.eval()
    out = []
    for i in range(0, len(cache["seeds"]), batch):
        x, _ = to_batch(cache, np.arange(i, min(len(cache["seeds"]), i + batch)), "cpu", lang_both=False)
        out.append(vlm.encoder(x)[:, 1:].to(torch.float16))
    return torch.cat(out)


def truth_of(cache):
    return [[{"kind": OBSTACLE_KINDS[int(k)], "position": POSITIONS[int(p)], "distance": DISTANCES[int(d)]}
             for k, p, d, *_ in rows if k >= 0] for rows in cache["obstacle_boxes"]]


@torch.no_grad()
def evaluate_frozen(omap, patches, cache, grid, batch=500):
    omap.eval()
    logits = np.concatenate([omap(patches[i:i + batch].float()).numpy() for i in range(0, len(patches), batch)])
    omap.train()
    truth = truth_of(cache)
    return {f"map@{t}": score([read(l, grid, t) for l in logits], truth) for t in THRESHOLDS}


def train_frozen(a, vlm, train_c, val_c):
    """Only the map learns, on the shipped encoder's patch tokens (computed once): the scene
    model, its parity fixtures and its captions stay exactly as shipped."""
    grid = vlm.config.grid
    t0 = time.time()
    train_p, val_p = encoded_patches(vlm, train_c), encoded_patches(vlm, val_c)
    print(f"encoded {len(train_p)} + {len(val_p)} frames in {time.time() - t0:.0f} s", flush=True)
    heat, dist = targets(train_c["obstacle_boxes"], grid)
    heat, dist = torch.from_numpy(heat), torch.from_numpy(dist)
    omap = ObstacleMap(vlm.config.enc_width, a.hidden)
    opt = torch.optim.AdamW(omap.parameters(), lr=a.lr, weight_decay=0.05)
    g = torch.Generator().manual_seed(a.seed)
    N, log, best = len(train_p), [], -1.0
    total = a.steps
    for step in range(total):
        lr = a.lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / total))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, N, (a.batch,), generator=g)
        focal, dl = map_loss(omap(train_p[idx].float()), heat[idx], dist[idx])
        opt.zero_grad(set_to_none=True)
        (focal + 0.5 * dl).backward()
        opt.step()
        if (step + 1) % a.eval_every == 0 or step + 1 == total:
            ev = evaluate_frozen(omap, val_p, val_c, grid)
            f1 = {k: 2 * e["recall"] * e["precision"] / max(1e-9, e["recall"] + e["precision"]) for k, e in ev.items()}
            log.append({"step": step + 1, "focal": float(focal.detach()), "distance": float(dl.detach()), "eval": ev})
            print(json.dumps({"step": step + 1, "focal": round(float(focal.detach()), 4), "min": round((time.time() - t0) / 60, 1),
                              **{k: {m: round(e[m], 3) for m in ("recall", "precision", "distance_accuracy")}
                                 for k, e in ev.items()}}), flush=True)
            if max(f1.values()) > best:
                best = max(f1.values())
                torch.save({"map": omap.state_dict(), "step": step + 1, "hidden": a.hidden, "frozen": True,
                            "val": ev}, os.path.join(a.run, "best.pt"))
            with open(os.path.join(a.run, "log.json"), "w") as f:
                json.dump(log, f, indent=1)


@torch.no_grad()
def evaluate(vlm, omap, cache, v1_operating_point, batch=200):
    """Map obstacles at each threshold and the v1 head (at `v1_operating_point`: temperature,
    threshold), scored on (position, kind)."""
    vlm.eval(); omap.eval()
    grid = vlm.config.grid
    logits, v1 = [], []
    for i in range(0, len(cache["seeds"]), batch):
        idx = np.arange(i, min(len(cache["seeds"]), i + batch))
        x, _ = to_batch(cache, idx, "cpu", lang_both=False)
        tokens, hl, _ = vlm.encode(x)
        logits.append(omap(tokens[:, 1:]).float().numpy())
        v1 += [v1_obstacles(hl, j, *v1_operating_point) for j in range(len(idx))]
    logits = np.concatenate(logits)
    truth = truth_of(cache)
    out = {"v1_head": score(v1, truth)}
    for t in THRESHOLDS:
        out[f"map@{t}"] = score([read(l, grid, t) for l in logits], truth)
    vlm.train(); omap.train()
    return out


def main():
    ap = argparse.ArgumentParser(description="Fine-tune the scene model with the dense obstacle map.")
    ap.add_argument("--model", default="models/default", help="the model folder whose scene model is the start")
    ap.add_argument("--run", default="training/runs/obstacle_map")
    ap.add_argument("--cache_root", default="training/data/cache")
    ap.add_argument("--n_train", type=int, default=20000)
    ap.add_argument("--n_val", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--map_weight", type=float, default=1.0)
    ap.add_argument("--map_lr_scale", type=float, default=10.0, help="the new map's learning rate over the model's")
    ap.add_argument("--eval_every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--freeze", action="store_true", help="train the map alone on the shipped encoder's tokens")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    vlm, model_cfg, _ = load_artifact(a.model)
    v1_point = (model_cfg["calibration"]["temperatures"].get("obstacles", 1.0), model_cfg["thresholds"]["obstacle"])
    mc = vlm.config
    train_c = build_cache(a.cache_root, "train", a.n_train, mc.image_size, a.workers)
    val_c = build_cache(a.cache_root, "val", a.n_val, mc.image_size, a.workers)
    if a.freeze:
        return train_frozen(a, vlm, train_c, val_c)
    omap = ObstacleMap(mc.enc_width, a.hidden)
    params = list(vlm.parameters()) + list(omap.parameters())
    # The new map starts from nothing and learns at map_lr_scale times the trained model's rate.
    opt = torch.optim.AdamW([{"params": list(vlm.parameters()), "scale": 1.0},
                             {"params": list(omap.parameters()), "scale": a.map_lr_scale}],
                            lr=a.lr, weight_decay=0.05, betas=(0.9, 0.98))
    step, log, best = 0, [], -1.0
    last = os.path.join(a.run, "last.pt")
    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        vlm.load_state_dict(ck["scene"]); omap.load_state_dict(ck["map"]); opt.load_state_dict(ck["opt"])
        step, log, best = ck["step"], ck["log"], ck["best"]
    if step == 0:
        ev = evaluate(vlm, omap, val_c, v1_point)
        log.append({"step": 0, "eval": ev})
        print(json.dumps({"step": 0, "v1_head": {k: ev["v1_head"][k] for k in ("recall", "precision")}}), flush=True)
    rng = np.random.default_rng([a.seed, step])
    cfg = {"light_weight": 2.0, "lm_weight": 0.5}
    N = len(train_c["seeds"])
    vlm.train(); omap.train()
    t0, acc = time.time(), {}
    while step < a.steps:
        lr = a.lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr * g["scale"]
        idx = np.sort(rng.choice(N, a.batch, replace=False))
        x, y = to_batch(train_c, idx, "cpu")
        tokens, hl, vis = vlm.encode(x)
        reps = y["caps"].shape[0] // x.shape[0]
        lm, _ = vlm.decoder(y["caps"][:, :-1], vis.repeat(reps, 1, 1))
        total, L = losses(hl, lm, y, cfg)
        heat, dist = targets(train_c["obstacle_boxes"][idx], mc.grid)
        focal, dl = map_loss(omap(tokens[:, 1:]), torch.from_numpy(heat), torch.from_numpy(dist))
        total = total + a.map_weight * (focal + 0.5 * dl)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        for k, v in (("loss", total), ("focal", focal), ("map_distance", dl), ("obstacles_v1", L["obstacles"]),
                     ("light", L["light_state"]), ("lm", L["lm"])):
            acc[k] = acc.get(k, 0.0) + float(v.detach())
        if step % 25 == 0:
            print(json.dumps({"step": step, "lr": round(lr, 6), "min": round((time.time() - t0) / 60, 1),
                              **{k: round(v / 25, 4) for k, v in acc.items()}}), flush=True)
            acc = {}
        if step % a.eval_every == 0 or step == a.steps:
            ev = evaluate(vlm, omap, val_c, v1_point)
            f1 = max(2 * e["recall"] * e["precision"] / max(1e-9, e["recall"] + e["precision"])
                     for k, e in ev.items() if k.startswith("map@"))
            log.append({"step": step, "eval": ev, "best_map_f1": f1})
            print(json.dumps({"step": step, **{k: {m: round(e[m], 3) for m in ("recall", "precision", "distance_accuracy")}
                                               for k, e in ev.items()}}), flush=True)
            ck = {"scene": vlm.state_dict(), "map": omap.state_dict(), "opt": opt.state_dict(), "step": step,
                  "log": log, "best": max(best, f1), "scene_config": mc.to_dict(), "hidden": a.hidden}
            torch.save(ck, last + ".tmp")
            os.replace(last + ".tmp", last)
            if f1 > best:
                best = f1
                torch.save({k: ck[k] for k in ("scene", "map", "step", "scene_config", "hidden")},
                           os.path.join(a.run, "best.pt"))
            with open(os.path.join(a.run, "log.json"), "w") as f:
                json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()

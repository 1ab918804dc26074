"""Training: multi-task loss (perception heads + caption LM loss, both languages every step).

  python -m lttw.train --config training/configs/cpu_default.json            # from the repository root
  python -m lttw.train --config training/configs/cpu_default.json --resume   # continue from last.pt
  torchrun --nproc_per_node 2 -m lttw.train --config ...                    # data-parallel (lttw.distributed)

Writes training/runs/<name>/: last.pt, best.pt, log.jsonl, log.csv, loss.png, config.json
"""
import argparse
import csv
import json
import math
import os
import random
import time
from dataclasses import fields

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import build_cache
from .distributed import World, join, leave
from .generator import OBSTACLE_KINDS, POSITIONS
from .model import ModelConfig, StreetVLM, count_params
from .preprocess import MEAN, STD, normalize_small
from .tokenizer import default_tokenizer

DEFAULTS = {
    "name": "default", "seed": 1234, "device": "cpu", "threads": 2,
    "n_train": 60000, "n_val": 2000, "cache_root": "training/data/cache", "render_workers": 2,
    "steps": 3000, "batch": 64, "lr": 1e-3, "min_lr": 2e-5, "warmup": 200, "weight_decay": 0.05,
    "grad_clip": 1.0, "lm_weight": 0.5, "light_weight": 2.0, "eval_every": 250, "log_every": 25,
    "runs_root": "training/runs", "amp": False, "n_val_eval": 1000, "time_limit_min": 0, "model": {},
}


def load_config(path=None, overrides=None):
    cfg = json.loads(json.dumps(DEFAULTS))
    if path:
        with open(path) as f:
            user = json.load(f)
        model = {**cfg["model"], **user.pop("model", {})}
        cfg.update(user)
        cfg["model"] = model
    for k, v in (overrides or {}).items():
        cfg[k] = v
    return cfg


def model_config(cfg, vocab_size):
    names = {f.name for f in fields(ModelConfig)}
    mc = ModelConfig(**{k: v for k, v in cfg["model"].items() if k in names})
    mc.vocab_size = vocab_size
    return mc


def seed_all(s):
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)


def to_batch(cache, idx, device, lang_both=True):
    x = torch.from_numpy(normalize_small(cache["images"][idx], MEAN, STD)).to(device)
    y = {k: torch.from_numpy(np.asarray(cache[k][idx])).to(device) for k in
         ("light_state", "light_kind", "light_position", "crosswalk", "crosswalk_offset",
          "crosswalk_heading", "obstacles", "obstacle_distance")}
    caps = np.concatenate([cache["cap_en"][idx], cache["cap_zh"][idx]]) if lang_both else cache["cap_en"][idx]
    L = int((caps != 0).sum(1).max())
    y["caps"] = torch.from_numpy(caps[:, :L].astype(np.int64)).to(device)
    return x, y


def losses(head_logits, lm_logits, y, cfg):
    L = {}
    L["light_state"] = F.cross_entropy(head_logits["light_state"], y["light_state"])
    for k in ("light_kind", "light_position", "crosswalk_offset"):
        L[k] = F.cross_entropy(head_logits[k], y[k], ignore_index=-1) if (y[k] >= 0).any() else head_logits[k].sum() * 0
    L["crosswalk"] = F.cross_entropy(head_logits["crosswalk"], y["crosswalk"])
    h = y["crosswalk_heading"].float()
    m = ~torch.isnan(h)
    L["crosswalk_heading"] = (F.smooth_l1_loss(head_logits["crosswalk_heading"][m, 0], h[m])
                              if m.any() else head_logits["crosswalk_heading"].sum() * 0)
    L["obstacles"] = F.binary_cross_entropy_with_logits(
        head_logits["obstacles"], y["obstacles"].float(),
        pos_weight=torch.tensor(cfg.get("obstacle_pos_weight", 3.0), device=y["obstacles"].device)) * 4.0
    dl = head_logits["obstacle_distance"].view(-1, len(POSITIONS), 3).reshape(-1, 3)
    dt = y["obstacle_distance"].reshape(-1)
    L["obstacle_distance"] = F.cross_entropy(dl, dt, ignore_index=-1) if (dt >= 0).any() else dl.sum() * 0
    caps = y["caps"]
    tgt = caps[:, 1:].clone()
    tgt[:, 0] = -100  # <lang> is given, not predicted
    tgt[tgt == 0] = -100
    L["lm"] = F.cross_entropy(lm_logits.reshape(-1, lm_logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
    total = (cfg["light_weight"] * L["light_state"] + L["light_kind"] + L["light_position"] + L["crosswalk"]
             + L["crosswalk_offset"] + 0.5 * L["crosswalk_heading"] + L["obstacles"] + 0.5 * L["obstacle_distance"]
             + cfg["lm_weight"] * L["lm"])
    return total, L


def step_forward(model, x, y):
    tokens, head_logits, vis = model.encode(x)
    caps = y["caps"]
    reps = caps.shape[0] // x.shape[0]
    vis_r = vis.repeat(reps, 1, 1) if reps > 1 else vis
    lm_logits, _ = model.decoder(caps[:, :-1], vis_r)
    return head_logits, lm_logits


class TrainingForward(torch.nn.Module):
    """The whole training forward as one module's `forward`, so DistributedDataParallel sees every
    parameter used between its forward and the backward."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, caps):
        return step_forward(self.model, x, {"caps": caps})


@torch.no_grad()
def evaluate_cache(model, cache, device, batch=200):
    """Quick val metrics on a cache: argmax light acc, crosswalk acc, obstacle P/R at 0.5, LM loss."""
    model.eval()
    n = len(cache["seeds"])
    out = {"light": [], "cw": [], "obs_p": [], "lm": []}
    ok_l = ok_c = tp = fp = fn = 0
    lm_sum = 0.0
    lm_n = 0
    for i in range(0, n, batch):
        idx = np.arange(i, min(n, i + batch))
        x, y = to_batch(cache, idx, device)
        hl, lm = step_forward(model, x, y)
        hl = {k: v.float() for k, v in hl.items()}
        lm = lm.float()
        ok_l += int((hl["light_state"].argmax(-1) == y["light_state"]).sum())
        ok_c += int((hl["crosswalk"].argmax(-1) == y["crosswalk"]).sum())
        p = torch.sigmoid(hl["obstacles"]) >= 0.5
        t = y["obstacles"] > 0.5
        tp += int((p & t).sum()); fp += int((p & ~t).sum()); fn += int((~p & t).sum())
        _, L = losses(hl, lm, y, {"light_weight": 1, "lm_weight": 1})
        lm_sum += float(L["lm"]) * len(idx)
        lm_n += len(idx)
    model.train()
    del out
    return {"val_light_acc": ok_l / n, "val_crosswalk_acc": ok_c / n,
            "val_obstacle_recall": tp / max(1, tp + fn), "val_obstacle_precision": tp / max(1, tp + fp),
            "val_lm_loss": lm_sum / lm_n}


def lr_at(step, cfg):
    if step < cfg["warmup"]:
        return cfg["lr"] * (step + 1) / cfg["warmup"]
    t = (step - cfg["warmup"]) / max(1, cfg["steps"] - cfg["warmup"])
    return cfg["min_lr"] + 0.5 * (cfg["lr"] - cfg["min_lr"]) * (1 + math.cos(math.pi * min(1.0, t)))


def plot_log(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tr = [r for r in rows if r["kind"] == "train"]
    ev = [r for r in rows if r["kind"] == "eval"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    if tr:
        s = [r["step"] for r in tr]
        for k in ("loss", "light_state", "crosswalk", "obstacles", "lm"):
            ax[0].plot(s, [r[k] for r in tr], label=k)
        ax[0].set_yscale("log"); ax[0].set_xlabel("step"); ax[0].legend(); ax[0].set_title("train losses")
    if ev:
        s = [r["step"] for r in ev]
        for k in ("val_light_acc", "val_crosswalk_acc", "val_obstacle_recall", "val_obstacle_precision"):
            ax[1].plot(s, [r[k] for r in ev], marker="o", label=k)
        ax[1].set_xlabel("step"); ax[1].legend(); ax[1].set_title("validation")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def train(cfg, resume=False, quiet=False, cache_train=None, cache_val=None, world: World = None):
    """Trains (alone, or as one rank of `world`); returns the model and the log rows."""
    world = world or join(cfg["device"])
    torch.set_num_threads(int(cfg["threads"]))
    seed_all(cfg["seed"])
    device = world.device
    quiet = quiet or not world.is_main
    run = os.path.join(cfg["runs_root"], cfg["name"])
    os.makedirs(run, exist_ok=True)
    tok = default_tokenizer()
    mc = model_config(cfg, len(tok))
    # Rank 0 renders the caches; the others then read the finished chunks.
    for turn in ((True, False) if world.distributed else (True,)):
        if world.is_main == turn:
            if cache_train is None:
                cache_train = build_cache(cfg["cache_root"], "train", cfg["n_train"], mc.image_size, cfg["render_workers"])
            if cache_val is None and world.is_main:
                cache_val = build_cache(cfg["cache_root"], "val", cfg["n_val"], mc.image_size, cfg["render_workers"])
        world.barrier()
    model = StreetVLM(mc).to(device)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos_embed" not in n and "wpe" not in n and "cls" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos_embed" not in n and "wpe" not in n and "cls" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg["lr"], betas=(0.9, 0.98))
    start, best, rows = 0, -1.0, []
    last = os.path.join(run, "last.pt")
    if resume and os.path.exists(last):
        ck = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        start, best, rows = ck["step"], ck["best"], ck["rows"]
        torch.set_rng_state(ck["torch_rng"])
        if not quiet:
            print(f"resumed from {last} at step {start}")
    if world.is_main:
        with open(os.path.join(run, "config.json"), "w") as f:
            json.dump({"train": cfg, "model": mc.to_dict(), "params": count_params(model), "processes": world.size}, f, indent=1)
    forward = world.wrap(TrainingForward(model))
    N = len(cache_train["seeds"])
    B = cfg["batch"]
    per_epoch = N // B

    def batch_idx(step):
        ep, off = divmod(step, per_epoch)
        perm = np.random.default_rng([cfg["seed"], ep]).permutation(N)
        return np.sort(perm[off * B:(off + 1) * B])

    model.train()
    acc = {}
    t0 = time.time()
    pbar = tqdm(range(start, cfg["steps"]), initial=start, total=cfg["steps"], desc=cfg["name"], disable=quiet,
                mininterval=5)
    for step in pbar:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        x, y = to_batch(cache_train, world.shard(batch_idx(step)), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(cfg["amp"])):
            hl, lm = forward(x, y["caps"])
        total, L = losses({k: v.float() for k, v in hl.items()}, lm.float(), y, cfg)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        for k, v in [("loss", total)] + list(L.items()):
            acc[k] = acc.get(k, 0.0) + float(v.detach())
        acc["_n"] = acc.get("_n", 0) + 1
        s1 = step + 1
        if s1 % cfg["log_every"] == 0 or s1 == cfg["steps"]:
            row = {"kind": "train", "step": s1, "lr": lr_at(step, cfg), "elapsed_s": round(time.time() - t0, 1)}
            row.update({k: v / acc["_n"] for k, v in acc.items() if k != "_n"})
            rows.append(row)
            acc = {}
            pbar.set_postfix(loss=f"{row['loss']:.3f}", light=f"{row['light_state']:.3f}", lm=f"{row['lm']:.3f}")
        if (s1 % cfg["eval_every"] == 0 or s1 == cfg["steps"]) and not world.is_main:
            if stop_everywhere(world, False):
                break
        elif s1 % cfg["eval_every"] == 0 or s1 == cfg["steps"]:
            sub = {k: v[:cfg["n_val_eval"]] for k, v in cache_val.items()}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(cfg["amp"])):
                ev = evaluate_cache(model, sub, device)
            score = ev["val_light_acc"] + ev["val_crosswalk_acc"] + ev["val_obstacle_recall"]
            ev.update({"kind": "eval", "step": s1, "elapsed_s": round(time.time() - t0, 1)})
            rows.append(ev)
            if not quiet:
                tqdm.write(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in ev.items()}))
            ck = {"model": model.state_dict(), "opt": opt.state_dict(), "step": s1, "best": max(best, score),
                  "rows": rows, "cfg": cfg, "model_config": mc.to_dict(), "torch_rng": torch.get_rng_state()}
            torch.save(ck, last + ".tmp"); os.replace(last + ".tmp", last)
            if score > best:
                best = score
                torch.save({"model": model.state_dict(), "step": s1, "model_config": mc.to_dict(), "cfg": cfg,
                            "val": ev}, os.path.join(run, "best.pt"))
            write_logs(rows, run)
            over = bool(cfg["time_limit_min"]) and (time.time() - t0) / 60 > cfg["time_limit_min"]
            if stop_everywhere(world, over):
                tqdm.write(f"time limit {cfg['time_limit_min']} min reached at step {s1}: stopping (checkpoints saved)")
                break
    if world.is_main:
        write_logs(rows, run)
    world.barrier()
    return model, rows


def stop_everywhere(world: World, stop: bool) -> bool:
    """Rank 0's decision to stop, shared with every rank (each rank's own clock would differ)."""
    if not world.distributed:
        return stop
    flag = torch.tensor([1 if stop else 0], device=world.device)
    torch.distributed.broadcast(flag, 0)
    return bool(flag.item())


def write_logs(rows, run):
    with open(os.path.join(run, "log.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    keys = sorted({k for r in rows for k in r})
    with open(os.path.join(run, "log.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    try:
        plot_log(rows, os.path.join(run, "loss.png"))
    except Exception as e:  # plotting must never kill training
        print("plot failed:", e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="training/configs/cpu_default.json")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], help="overrides key=value (json values)")
    a = ap.parse_args()
    ov = {}
    for kv in a.set:
        k, v = kv.split("=", 1)
        try:
            ov[k] = json.loads(v)
        except json.JSONDecodeError:
            ov[k] = v
    cfg = load_config(a.config, ov)
    world = join(cfg["device"])
    try:
        train(cfg, resume=a.resume, world=world)
    finally:
        leave(world)


if __name__ == "__main__":
    main()

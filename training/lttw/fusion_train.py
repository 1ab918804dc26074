"""Trains the poly-expert fusion (lttw.fusion) and the caption decoder on what the frozen experts
read of generated scenes, and measures the caption–facts contradictions it leaves.

Two steps, each resumable:

    # the experts' reads of each scene (scene tokens, signal rows, obstacle slots, captions, facts)
    PYTHONPATH=training python -m lttw.fusion_train extract --split train --n 12000
    PYTHONPATH=training python -m lttw.fusion_train extract --split val --n 1000
    # the fusion module and the decoder (the shipped decoder's weights to start from)
    PYTHONPATH=training python -m lttw.fusion_train train --run_dir training/runs/fusion
    # the same, data-parallel over two processes (lttw.distributed; --batch is the global batch)
    PYTHONPATH=training torchrun --nproc_per_node 2 -m lttw.fusion_train train --run_dir training/runs/fusion
    # into a model folder (scene encoder, heads and experts unchanged)
    PYTHONPATH=training python -m lttw.artifact merge-fusion --run training/runs/fusion --model models/default

Why the experts stay frozen: their figures (the light's false-green calibration above all) hold
only for the weights they were calibrated with. Only what turns their reads into words trains.

Why the captions learnt are the facts' own (captions.caption of the light, crossing and obstacles
the model decided) and not the generator's truth: a caption is checked against the facts before
anything reads it (DESIGN.md rule 5), and a decoder taught the truth learns to say what the experts
almost saw: trained on the truth, the fused decoder contradicted its facts on 37 % of validation
captions, more than the scene tokens alone (33 %) (models/default/NOTES.md).
"""
import argparse
import json
import math
import os
import time
from multiprocessing import Pool
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from .data import MAX_TOK, SEED_BASE
from .distributed import World, join, leave
from .fusion import ExpertFusion, FusionConfig, crossing_rows, obstacle_inputs, obstacle_rows, signal_inputs

CHUNK = 250


def _extract_chunk(args):
    model_dir, seeds, path = args
    if os.path.exists(path):
        return path
    torch.set_num_threads(1)
    from .artifact import Predictor
    from .generator import generate
    from .preprocess import preprocess
    from .captions import caption
    from .obstacle_expert import read
    pred = Predictor(model_dir)
    k = FusionConfig().signal_tokens
    expert, T, threshold = pred.obstacle
    imgs, obst_x, rows, present, lights, facts = [], [], [], [], [], []
    caps = {"en": [], "zh": [], "facts_en": [], "facts_zh": []}

    def tokens(text, lang):
        ids = pred.tok.encode(text, lang)[:MAX_TOK]
        return ids + [pred.tok.pad] * (MAX_TOK - len(ids))
    for s in seeds:
        sc = generate(int(s))
        rgb = np.ascontiguousarray(sc.bgr[..., ::-1])
        imgs.append(preprocess(sc.bgr, pred.size, pred.mean, pred.std))
        obst_x.append(preprocess(sc.bgr, expert.c.image_size, pred.mean, pred.std))
        reads = pred.signal.candidate_reads(rgb)
        r, p = signal_inputs(pred.signal, rgb, k, reads)
        rows.append(r)
        present.append(p)
        d = pred.signal.read(rgb, reads)
        # No candidate, no kind or position: "none", and an "unknown" from a frame without colour or
        # from an unreadable read (as Swift's facts have none there).
        lights.append({"state": d["state"]} | ({"kind": d["kind"], "position": d["position"]} if d.get("candidate") is not None else {}))
        for lang in ("en", "zh"):
            caps[lang].append(tokens(sc.captions[lang], lang))
    with torch.no_grad():
        x = torch.from_numpy(np.stack(imgs))
        _, head_logits, vis = pred.model.encode(x)
        P = pred.probs(head_logits)
        obstacles = obstacle_inputs(expert, T, torch.from_numpy(np.stack(obst_x)))
    for i in range(len(seeds)):
        f = {"light": lights[i], "crosswalk": pred.facts_from_probs(P, i)["crosswalk"],
             "obstacles": read(obstacles[i].astype(np.float64), threshold)}
        facts.append(json.dumps(f))
        for lang in ("en", "zh"):
            caps["facts_" + lang].append(tokens(caption(f, lang), lang))
    tmp = path + ".tmp.npz"
    np.savez(tmp, seeds=np.asarray(seeds, np.int64), vis=vis.numpy().astype(np.float32), signal=np.stack(rows),
             present=np.stack(present), crosswalk=np.asarray(P["crosswalk"], np.float32),
             crosswalk_side=np.asarray(P["crosswalk_offset"], np.float32), obstacles=obstacles,
             **{"cap_" + k: np.asarray(v, np.int16) for k, v in caps.items()}, facts=np.asarray(facts))
    os.replace(tmp, path)
    return path


def extract(model_dir: str, root: str, split: str, n: int, workers: int) -> str:
    """Renders scenes `split` 0..n-1 (data.SEED_BASE) and stores what the model's frozen parts
    read of each, in chunks of CHUNK under root/split."""
    start = SEED_BASE[split]
    d = os.path.join(root, split)
    os.makedirs(d, exist_ok=True)
    jobs = [(model_dir, list(range(start + i, start + min(n, i + CHUNK))), os.path.join(d, f"chunk_{i // CHUNK:05d}.npz"))
            for i in range(0, n, CHUNK)]
    t0 = time.time()
    with Pool(workers) as pool:
        for done, path in enumerate(pool.imap(_extract_chunk, jobs), 1):
            print(f"extract {split}: {done}/{len(jobs)} chunks ({time.time() - t0:.0f} s) {path}", flush=True)
    return d


def load(root: str, split: str) -> Dict[str, np.ndarray]:
    d = os.path.join(root, split)
    files = sorted(f for f in os.listdir(d) if f.startswith("chunk_") and f.endswith(".npz") and ".tmp" not in f)
    if not files:
        raise SystemExit(f"{d}: no extracted chunks; run `python -m lttw.fusion_train extract --split {split}` first")
    parts = [dict(np.load(os.path.join(d, f))) for f in files]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def expert_inputs(data: Dict[str, np.ndarray], idx, thresholds: Dict[str, float]):
    """ExpertFusion's inputs for scenes idx (`thresholds`: the model's crosswalk and obstacle
    thresholds, which decide the facts)."""
    return (torch.from_numpy(data["signal"][idx]), torch.from_numpy(data["present"][idx]),
            torch.from_numpy(crossing_rows(data["crosswalk"][idx], data["crosswalk_side"][idx], thresholds["crosswalk"])),
            torch.from_numpy(obstacle_rows(data["obstacles"][idx], thresholds["obstacle"])))


def memory(fusion: ExpertFusion, data: Dict[str, np.ndarray], idx, thresholds: Dict[str, float]) -> torch.Tensor:
    """The decoder's memory for scenes idx: scene tokens, then the experts' tokens."""
    return torch.cat([torch.from_numpy(data["vis"][idx]), fusion(*expert_inputs(data, idx, thresholds))], dim=1)


def targets(caps: np.ndarray) -> np.ndarray:
    """The tokens the decoder predicts of captions [B, T] (<bos> <lang> ... <eos> pad): each next
    token, <lang> (given, not predicted) and the padding as -100."""
    tgt = caps[:, 1:].astype(np.int64)
    tgt[:, 0] = -100
    tgt[tgt == 0] = -100
    return tgt


def caption_loss(decoder, mem: torch.Tensor, caps: np.ndarray, normaliser: float = None) -> torch.Tensor:
    """Teacher-forced cross-entropy of captions [B, MAX_TOK] given the memory [B, tokens, width],
    as lttw.train scores the decoder: the mean over the predicted tokens, or their sum divided by
    `normaliser` (data-parallel training: the global batch's token count over the process count,
    so the averaged gradients are the whole batch's mean)."""
    L = int((caps != 0).sum(1).max())
    ids = torch.from_numpy(caps[:, :L].astype(np.int64))
    logits, _ = decoder(ids[:, :-1], mem)
    tgt = torch.from_numpy(targets(caps[:, :L]))
    if normaliser is None:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction="sum") / normaliser


def unbacked_claims(caption: str, facts: Dict) -> List[str]:
    """The caption's sentences that claim a crossing or an obstacle `facts` do not back, in either
    language (Swift's CaptionGuard.unbackedClaims)."""
    from .captions import KIND_EN, KIND_ZH, crosswalk_text, obstacle_text
    from .description import sentences
    backed = set()
    for lang in ("en", "zh"):
        cw = crosswalk_text(facts.get("crosswalk"), lang) if (facts.get("crosswalk") or {}).get("offset") else None
        backed |= {cw} if cw else set()
        backed |= {obstacle_text(o, lang) for o in facts.get("obstacles") or []}

    def claims(s):
        return (s.startswith("Crosswalk") or "人行横道" in s or any(s.startswith(v + " ") for v in KIND_EN.values())
                or any("有" + v in s for v in KIND_ZH.values()))
    return [s for s in sentences(caption) if s not in backed and claims(s)]


@torch.no_grad()
def contradictions(model, fusion, tok, data, thresholds, n: int = None, batch: int = 100) -> Dict[str, float]:
    """Greedy captions of the first n scenes of `data` in both languages, and how many claim a
    crossing or an obstacle the facts deny (fusion None: the scene tokens alone)."""
    n = min(n or len(data["seeds"]), len(data["seeds"]))
    bad = total = 0
    for i in range(0, n, batch):
        idx = np.arange(i, min(n, i + batch))
        mem = memory(fusion, data, idx, thresholds) if fusion is not None else torch.from_numpy(data["vis"][idx])
        facts = [json.loads(f) for f in data["facts"][idx]]
        for lang in ("en", "zh"):
            seq = model.generate(mem, tok.lang_id[lang], tok.bos, tok.eos)
            for j, f in enumerate(facts):
                total += 1
                bad += bool(unbacked_claims(tok.decode(seq[j].tolist(), lang), f))
    return {"captions": total, "contradicting": bad, "rate": bad / max(1, total)}


class FusedCaptioner(torch.nn.Module):
    """The fusion and the decoder as one module whose forward is the training loss: what DDP wraps
    (lttw.distributed), so their gradients are averaged over the processes."""

    def __init__(self, fusion: ExpertFusion, decoder):
        super().__init__()
        self.fusion = fusion
        self.decoder = decoder

    def forward(self, vis, signal, present, crossing, obstacles, caps, normaliser=None):
        mem = torch.cat([vis, self.fusion(signal, present, crossing, obstacles)], dim=1)
        return caption_loss(self.decoder, torch.cat([mem, mem]), caps, normaliser)


def batch(data: Dict[str, np.ndarray], idx, thresholds: Dict[str, float], en: str, zh: str):
    """FusedCaptioner's inputs for scenes idx (both languages' captions)."""
    return (torch.from_numpy(data["vis"][idx]), *expert_inputs(data, idx, thresholds), np.concatenate([data[en][idx], data[zh][idx]]))


def train(a, world: World = None) -> FusedCaptioner:
    """Trains the fusion and the decoder; alone, or one rank of a torchrun job (`world`: every rank
    draws the same global batch of `a.batch` scenes and reads its slice; only rank 0 evaluates and
    writes). Returns the captioner with its last weights."""
    from .artifact import load_artifact
    world = world or join("cpu")
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    model, cfg, tok = load_artifact(a.model)
    tr, va = load(a.root, "train"), load(a.root, "val")
    fc = FusionConfig(dec_width=model.config.dec_width, signal_features=tr["signal"].shape[-1],
                      signal_tokens=tr["signal"].shape[1], obstacle_slots=tr["obstacles"].shape[1],
                      obstacle_classes=tr["obstacles"].shape[2])
    thresholds = {"crosswalk": cfg["thresholds"]["crosswalk"], "obstacle": cfg["obstacle_expert"]["threshold"]}
    # The captions to learn: the ones the frame's own facts give (default), or the generator's truth.
    en, zh = ("cap_facts_en", "cap_facts_zh") if a.target == "facts" else ("cap_en", "cap_zh")
    captioner = FusedCaptioner(ExpertFusion(fc), model.decoder)
    fusion, decoder = captioner.fusion, captioner.decoder
    ck_path = os.path.join(a.run_dir, "last.pt")
    params = [{"params": fusion.parameters(), "lr": a.lr}, {"params": decoder.parameters(), "lr": a.lr * a.decoder_lr_scale}]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    n = len(tr["seeds"])
    steps = a.epochs * (n // a.batch)
    if steps == 0:
        raise SystemExit(f"{a.root}/train: {n} scenes make no batch of {a.batch} (--batch)")
    step, best = 0, math.inf
    if os.path.exists(ck_path) and a.resume:
        ck = torch.load(ck_path, map_location="cpu", weights_only=False)
        fusion.load_state_dict(ck["fusion"])
        decoder.load_state_dict(ck["decoder"])
        opt.load_state_dict(ck["opt"])
        step, best = ck["step"], ck["best"]
    net = world.wrap(captioner)
    rng = np.random.default_rng(a.seed)
    order = np.concatenate([rng.permutation(n) for _ in range(a.epochs + 1)])
    log = None
    if world.is_main:
        os.makedirs(a.run_dir, exist_ok=True)
        log = open(os.path.join(a.run_dir, "log.csv"), "a")
    t0 = time.time()

    def val_loss():
        captioner.eval()
        with torch.no_grad():
            chunks = range(0, len(va["seeds"]), 200)
            tot = sum(float(captioner(*batch(va, np.arange(i, min(len(va["seeds"]), i + 200)), thresholds, en, zh)))
                      for i in chunks)
        captioner.train()
        return tot / len(chunks)

    captioner.train()
    while step < steps:
        lr_scale = (step + 1) / a.warmup if step < a.warmup else 0.5 * (1 + math.cos(math.pi * step / steps))
        for g, base in zip(opt.param_groups, (a.lr, a.lr * a.decoder_lr_scale)):
            g["lr"] = base * lr_scale
        scenes = order[step * a.batch:(step + 1) * a.batch]
        # The global batch's predicted tokens, so that every rank's share of the loss adds up to
        # the whole batch's mean once DDP averages the gradients.
        tokens = int((targets(np.concatenate([tr[en][scenes], tr[zh][scenes]])) != -100).sum())
        loss = net(*batch(tr, world.shard(scenes), thresholds, en, zh), tokens / world.size)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(captioner.parameters(), 1.0)
        opt.step()
        step += 1
        if world.is_main and (step % a.eval_every == 0 or step == steps):
            v = val_loss()
            print(f"step {step}/{steps} loss {loss.item():.4f} val {v:.4f} ({time.time() - t0:.0f} s)", flush=True)
            log.write(f"{step},{loss.item():.5f},{v:.5f}\n")
            log.flush()
            state = {"fusion": fusion.state_dict(), "decoder": decoder.state_dict(), "fusion_config": fc.to_dict(),
                     "step": step, "best": min(best, v), "val_loss": v, "args": vars(a), "model": a.model}
            if v < best:
                best = v
                torch.save(state, os.path.join(a.run_dir, "best.pt"))
            torch.save({**state, "opt": opt.state_dict()}, ck_path)
    world.barrier()
    if world.is_main and not a.no_report:
        report(a, fc, tok, va, thresholds, en)
    return captioner


def report(a, fc: FusionConfig, tok, va, thresholds: Dict[str, float], en: str):
    """The best checkpoint's caption–facts contradictions on validation, beside the decoder it
    replaces, into the run's report.json."""
    from .artifact import load_artifact
    ck = torch.load(os.path.join(a.run_dir, "best.pt"), map_location="cpu", weights_only=False)
    model, _, _ = load_artifact(a.model)
    fusion = ExpertFusion(fc)
    fusion.load_state_dict(ck["fusion"])
    model.decoder.load_state_dict(ck["decoder"])
    fusion.eval()
    shipped, _, _ = load_artifact(a.model)
    out = {"val_loss": ck["val_loss"], "step": ck["step"], "fused": contradictions(model, fusion, tok, va, thresholds)}
    # The decoder it replaces, on the scene tokens alone (when --model's decoder is one of those).
    if shipped.fusion is None:
        out["scene_tokens_alone"] = contradictions(shipped, None, tok, va, thresholds)
    with open(os.path.join(a.run_dir, "report.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Train the poly-expert fusion and the caption decoder on the frozen experts' "
                                             "reads of generated scenes.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract", help="render scenes and store what the frozen experts and scene encoder read of them")
    e.add_argument("--model", default="models/default")
    e.add_argument("--root", default="training/data/fusion")
    e.add_argument("--split", default="train", choices=["train", "val"])
    e.add_argument("--n", type=int, default=12000, help="scenes (the shipped fusion: 12,000 train, 1,000 val)")
    e.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("train", help="train the fusion module and the decoder on the extracted reads")
    t.add_argument("--model", default="models/default", help="the model whose decoder to start from")
    t.add_argument("--root", default="training/data/fusion")
    t.add_argument("--run_dir", default="training/runs/fusion")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch", type=int, default=64, help="scenes a step, over all processes (each captioned in both languages)")
    t.add_argument("--lr", type=float, default=1e-3, help="the fusion module's learning rate")
    t.add_argument("--decoder_lr_scale", type=float, default=0.3, help="the decoder's learning rate as a share of --lr")
    t.add_argument("--warmup", type=int, default=100)
    t.add_argument("--eval_every", type=int, default=200)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--target", default="facts", choices=["facts", "truth"],
                   help="learn the captions the frame's facts give (they never contradict them) or the generator's "
                        "truth (they do where an expert erred: 37 %% of validation captions, the first run)")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--no_report", action="store_true", help="skip the contradiction count at the end (the DDP test)")
    return ap


def main():
    a = parser().parse_args()
    if a.cmd == "extract":
        extract(a.model, a.root, a.split, a.n, a.workers)
        return
    world = join("cpu")
    try:
        train(a, world)
    finally:
        leave(world)


if __name__ == "__main__":
    main()

"""Trains the obstacle expert (`lttw.obstacle_expert`) from scratch on generated scenes, then fits
its temperature and picks its threshold on the generated validation split.

    PYTHONPATH=training python -m lttw.obstacle_expert_train --run training/runs/obstacle_expert
    PYTHONPATH=training python -m lttw.obstacle_expert_train --run training/runs/obstacle_expert --resume
    torchrun --nproc_per_node 2 -m lttw.obstacle_expert_train --run ...    # data-parallel, same script
    ./training/gpu_obstacle.sh                                             # a lent GPU's few minutes

With `--minutes` the learning rate follows its cosine over wall-clock time instead of steps and the
run ends when the time is up: a lent GPU's minutes are fixed, its step rate is not known ahead.
On a GPU the scenes are held on the device and each batch is cut, flipped and normalised there.

Scenes come from the pre-rendered caches (`lttw.data.build_cache`, 128 px squash, obstacle boxes
kept): training seeds 0+, validation seeds 1,000,000+ (the test split, 2,000,000+, is never read
here). Every evaluation writes last.pt; best.pt keeps the best validation F1 of (kind, position).
`calibration.json` holds the temperature (fitted by NLL on validation) and the threshold: the
lowest whose validation precision is at least --precision, so recall is as high as that allows.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from .data import build_cache
from .distributed import join, leave
from .obstacle_expert import (FLIPPED_SLOT, N_CLASSES, ObstacleConfig, ObstacleExpert, covered_targets, loss as slot_loss,
                              mobilenet_v2_stride, probabilities, read, targets)
from .obstacle_map import score
from .obstacle_train import truth_of
from .preprocess import MEAN, STD, load_bgr, normalize_small, resize_small
from .signal_data import REAL_ROOT, signal_crop_files

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.2, 0.96, 0.05))


class TrainingForward(torch.nn.Module):
    """The whole training forward (slots and the per-token kinds), as DDP needs it in one call;
    from the frozen trunk layers' outputs when `from_block` > 0."""

    def __init__(self, expert, from_block: int = 0):
        super().__init__()
        self.expert = expert
        self.from_block = from_block

    def forward(self, x):
        return self.expert.forward_train(x, self.from_block)


def signal_crops(split: str, size: int, holdout_fold=None) -> np.ndarray:
    """The real photos of `split` in ../shared/train/real that are a traffic-light crop (the MIT /
    Udacity source, `mit_*`), squashed to `size`: a crop of a signal head has no path in it, so
    nothing in it is in the wearer's way. The renders never show a camera's blur, noise and
    colour, and on these crops the expert trained on them alone calls obstacles that are not there.
    Crops of `holdout_fold`'s photo groups are left out, as `real_labelled` leaves its photos out:
    nothing of a held-out fold reaches training."""
    files = signal_crop_files(split)
    if holdout_fold is not None:
        from .real_obstacles import in_fold, source_rows
        sources = source_rows()
        files = [f for f in files if not in_fold(f, sources, holdout_fold)]
    return np.stack([resize_small(load_bgr(os.path.join(REAL_ROOT, f)), size) for f in files])


def real_labelled(size: int, grid: int, holdout_fold=None, empty_only: bool = False):
    """The train split's street photos with viewed obstacle labels (lttw.real_obstacles), squashed
    to `size`, with their slot classes [N, 9] and per-token classes [N, g*g] to train on: every
    token empty on a photo with nothing labelled, none to learn (-100, ignored) where something is
    labelled (the labels carry no boxes). Photos of `holdout_fold` are left out; with `empty_only`,
    so are the photos with something labelled (real streets with nothing in the way: negatives
    whose labels need no boxes)."""
    from .real_obstacles import annotated, in_fold, slot_targets, source_rows, splits_of, viewed_labels
    sources = source_rows()
    rows = [r for r in annotated(viewed_labels(), splits_of(sources), "train")
            if (holdout_fold is None or not in_fold(r["file"], sources, holdout_fold))
            and not (empty_only and r["obstacles"])]
    images = np.stack([resize_small(load_bgr(os.path.join(REAL_ROOT, r["file"])), size) for r in rows])
    slots = np.stack([slot_targets(r["obstacles"]) for r in rows])
    tokens = np.repeat(np.where(slots.any(1), -100, 0)[:, None], grid * grid, axis=1).astype(np.int64)
    return images, slots, tokens


def normalized(images: torch.Tensor) -> torch.Tensor:
    """`normalize_small` on a uint8 [..., S, S, 3] tensor wherever it lives: [..., 3, S, S] float32."""
    mean = torch.as_tensor(MEAN, device=images.device)
    std = torch.as_tensor(STD, device=images.device)
    return ((images.float() / 255.0 - mean) / std).movedim(-1, -3).contiguous()


def jittered(images: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Each uint8 frame of [B, S, S, 3] times its gain plus its offset, clamped to 0..255: the
    exposure and contrast a real camera varies and the renderer's lighting does not cover."""
    return (images.float() * gain[:, None, None, None] + offset[:, None, None, None]).clamp_(0, 255).round_().to(torch.uint8)


def schedule(step: int, steps: int, warm: int, elapsed: float, budget: float = None) -> float:
    """The learning-rate factor: linear warm-up over `warm` steps, then a cosine to 0 over `steps`,
    or over `budget` seconds of wall clock when one is given."""
    progress = step / steps if budget is None else elapsed / budget
    return min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def logits_of(model, images, batch=256):
    model.eval()
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(normalize_small(images[i:i + batch])).to(device)).cpu().numpy()
           for i in range(0, len(images), batch)]
    model.train()
    return np.concatenate(out)


def fit_temperature(logits: np.ndarray, target: np.ndarray) -> float:
    """The temperature minimising validation NLL over every slot (a grid, then a finer grid)."""
    z = torch.from_numpy(logits.reshape(-1, N_CLASSES)).double()
    y = torch.from_numpy(target.reshape(-1))

    def nll(t):
        return float(torch.nn.functional.cross_entropy(z / t, y))

    best = min(np.arange(0.3, 3.01, 0.05), key=nll)
    return float(min(np.arange(best - 0.05, best + 0.051, 0.005), key=nll))


def operating_points(logits, truth, temperature):
    p = probabilities(logits, temperature)
    return {t: score([read(q, t) for q in p], truth) for t in THRESHOLDS}


def choose_threshold(points, precision: float) -> float:
    ok = [t for t, s in points.items() if s["precision"] >= precision]
    return min(ok) if ok else max(points)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="run folder: checkpoints, log.csv, calibration.json")
    ap.add_argument("--cache", default="training/data/obstacle", help="scene cache root (one folder per split, start and size)")
    ap.add_argument("--train_scenes", type=int, default=60000)
    ap.add_argument("--train_start", type=int, default=None,
                    help="first training seed (default: the train split's, 0); a warm start continues on scenes it never saw "
                         "from past the seeds its first run rendered")
    ap.add_argument("--val_scenes", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--stop_after", type=int, default=None, help="stop at this step, the learning-rate schedule still that of --steps")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--empty_weight", type=float, default=0.3, help="loss weight of the empty class")
    ap.add_argument("--far_weight", type=float, default=1.0,
                    help="loss weight of an obstacle in a far slot, against 1 for a near or mid one (slot loss only)")
    ap.add_argument("--token_weight", type=float, default=1.0, help="weight of the training-only per-token kind loss")
    ap.add_argument("--eval_every", type=int, default=500)
    ap.add_argument("--precision", type=float, default=0.8, help="the validation precision the threshold must reach")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default=None, help="start from this checkpoint's tensors, or a model folder's obstacle expert's, "
                                                 "where their shapes match (a warm start for another head size), the rest fresh")
    ap.add_argument("--token_features", type=int, default=ObstacleConfig.token_features)
    ap.add_argument("--width", type=int, default=ObstacleConfig.width, help="encoder width (the stem's last channels)")
    ap.add_argument("--depth", type=int, default=ObstacleConfig.depth, help="encoder blocks")
    ap.add_argument("--heads", type=int, default=ObstacleConfig.heads, help="attention heads (must divide --width)")
    ap.add_argument("--jitter", type=float, default=0.0,
                    help="photometric jitter: each frame's gain drawn from 1±J and offset from ±80·J grey levels (0: none)")
    ap.add_argument("--real_negatives", type=float, default=0.0,
                    help="share of each batch drawn from the real train split's traffic-light crops, every slot empty "
                         "(signal_crops; 0: none)")
    ap.add_argument("--real_labels", type=float, default=0.0,
                    help="share of each batch drawn from the real train split's street photos with viewed obstacle "
                         "labels (training/labels/real_obstacles_viewed.jsonl)")
    ap.add_argument("--real_empty", type=float, default=0.0,
                    help="share of each batch drawn from the train split's viewed street photos with nothing "
                         "labelled in the way, every slot and token empty (--real_labels' empty photos alone)")
    ap.add_argument("--real_holdout_fold", type=int, choices=[0, 1], default=None,
                    help="leave this fold of the labelled photos' groups out, to score it after (real_obstacles --fold)")
    ap.add_argument("--keep", choices=["best", "last"], default="best",
                    help="the checkpoint best.pt holds and the calibration reads: the best validation F1 of the "
                         "renders, or the last step (a fine-tune whose point is what the renders do not measure, "
                         "such as --real_negatives)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="train for this long (the cosine over wall-clock time; --steps then only caps the steps)")
    ap.add_argument("--render_workers", type=int, default=2, help="processes rendering scenes not cached yet (0: one per usable core)")
    ap.add_argument("--trunk", choices=["vit", "mobilenet_v2"], default="vit",
                    help="the expert's trunk (ObstacleConfig.trunk); mobilenet_v2: the first layers of an ImageNet "
                         "MobileNetV2 (the Swift engine runs it as MobileNetTrunk)")
    ap.add_argument("--trunk_blocks", type=int, default=ObstacleConfig.trunk_blocks, help="MobileNetV2 feature layers kept")
    ap.add_argument("--image_size", type=int, default=ObstacleConfig.image_size,
                    help="the side the frame is squashed to (a multiple of the grid's stride); the scene cache is rendered at it")
    ap.add_argument("--pretrained", default=None, help="an ImageNet MobileNetV2 state dict to start the mobilenet_v2 trunk from "
                                                       "(training/fetch_pretrained.sh)")
    ap.add_argument("--trunk_lr", type=float, default=None, help="the mobilenet_v2 trunk's learning rate (default: --lr)")
    ap.add_argument("--frozen_blocks", type=int, default=0,
                    help="keep the mobilenet_v2 trunk's first N layers as --pretrained gives them, their outputs computed "
                         "once over every scene (float16): ten times the steps an hour on CPU; frames are then not flipped "
                         "or jittered (0: train the whole trunk)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--calibrate_only", action="store_true",
                    help="train nothing: fit the run's best.pt's temperature and threshold again at --precision "
                         "(calibration.json rewritten; its config comes from the checkpoint)")
    a = ap.parse_args(argv)
    if a.trunk == "mobilenet_v2" and not 1 <= a.trunk_blocks <= 18:
        ap.error(f"--trunk_blocks {a.trunk_blocks}: MobileNetV2 has feature layers 1 to 18")
    if a.pretrained and a.trunk != "mobilenet_v2":
        ap.error("--pretrained starts a mobilenet_v2 trunk: give --trunk mobilenet_v2")
    if a.frozen_blocks and not (a.pretrained and 0 < a.frozen_blocks < a.trunk_blocks):
        ap.error(f"--frozen_blocks {a.frozen_blocks}: keeps pretrained layers, so give --pretrained, and fewer than --trunk_blocks")
    if a.frozen_blocks and a.jitter:
        ap.error("--frozen_blocks: frames are not jittered (their frozen features are computed once); drop --jitter")
    stride = mobilenet_v2_stride(a.trunk_blocks) if a.trunk == "mobilenet_v2" else ObstacleConfig.patch_size
    if a.image_size < 16 or a.image_size % stride:
        ap.error(f"--image_size {a.image_size}: a multiple of the grid's stride {stride}, at least 16")
    if a.width % a.heads:
        ap.error(f"--heads {a.heads} does not divide --width {a.width}")
    if not 0 <= a.real_negatives < 1:
        ap.error(f"--real_negatives {a.real_negatives}: a share of the batch, at least 0 and under 1")
    if not 0 <= a.real_labels < 1 or a.real_negatives + a.real_labels >= 1:
        ap.error(f"--real_labels {a.real_labels}: a share of the batch, at least 0 and under 1 with --real_negatives")
    if a.real_empty and a.real_labels:
        ap.error("--real_empty and --real_labels: choose one (--real_labels already draws the empty photos)")
    if not 0 <= a.real_empty < 1 or a.real_negatives + a.real_empty >= 1:
        ap.error(f"--real_empty {a.real_empty}: a share of the batch, at least 0 and under 1 with --real_negatives")
    return a


def init_tensors(path: str, device) -> dict:
    """A run checkpoint's tensors, or (`path` a model folder) its shipped obstacle expert's: the
    shipped expert can be trained on without the run that made it."""
    if not os.path.isdir(path):
        return torch.load(path, map_location=device, weights_only=False)["model"]
    from safetensors.torch import load_file
    from .artifact import load_obstacle_expert
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    expert = load_obstacle_expert(cfg, load_file(os.path.join(path, "model.safetensors")), path)
    if expert is None:
        raise SystemExit(f"{path}: the model folder has no obstacle expert to start from")
    return {k: v.to(device) for k, v in expert.exported_state().items()}


def train(a: argparse.Namespace, world) -> ObstacleExpert:
    """Trains as `a` says; rank 0 writes the run folder (checkpoints, log.csv, calibration.json).
    Returns this rank's expert at its last step (every rank's the same under DDP)."""
    torch.set_num_threads(max(1, a.threads // world.size))
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    cfg = ObstacleConfig(token_features=a.token_features, width=a.width, depth=a.depth, heads=a.heads,
                         trunk=a.trunk, trunk_blocks=a.trunk_blocks, image_size=a.image_size)
    workers = a.render_workers or len(os.sched_getaffinity(0))
    # Rank 0 renders what the cache lacks while the others wait, then they load its chunks: every
    # rank rendering the same chunks did the work once per rank and raced on the files.
    if not world.is_main:
        world.barrier()
    train = build_cache(a.cache, "train", a.train_scenes, size=cfg.image_size, workers=workers, start=a.train_start)
    val = build_cache(a.cache, "val", a.val_scenes, size=cfg.image_size, workers=workers)
    if world.is_main:
        world.barrier()
    y_train, y_val = targets(train["obstacle_boxes"]), targets(val["obstacle_boxes"])
    grid = cfg.grid
    tokens_train = covered_targets(train["obstacle_boxes"], grid)
    truth_val = truth_of(val)

    model = ObstacleExpert(cfg).to(world.device)
    last = os.path.join(a.run, "last.pt")
    if a.pretrained and not (a.resume and os.path.exists(last)):
        taken = model.load_pretrained_trunk(a.pretrained)
        if world.is_main:
            print(f"trunk from {a.pretrained}: {taken} tensors", flush=True)
    if a.frozen_blocks:
        for p in model.trunk[:a.frozen_blocks].parameters():
            p.requires_grad_(False)
    trunk = [p for n, p in model.named_parameters() if n.startswith("trunk.") and p.requires_grad]
    rest = [p for n, p in model.named_parameters() if not n.startswith("trunk.")]
    groups = ([{"params": trunk, "lr": a.trunk_lr or a.lr}] if trunk else []) + [{"params": rest, "lr": a.lr}]
    opt = torch.optim.AdamW(groups, weight_decay=0.05)
    base_lr = [g["lr"] for g in opt.param_groups]
    step, best_f1 = 0, -1.0
    if a.init and not (a.resume and os.path.exists(last)):
        own = model.state_dict()
        given = init_tensors(a.init, world.device)
        kept = {k: v for k, v in given.items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(kept, strict=False)
        if world.is_main:
            print(f"warm start from {a.init}: {len(kept)} of {len(own)} tensors ({sorted(set(own) - set(kept))} fresh)", flush=True)
    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location=world.device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best_f1 = ck["step"], ck["best_f1"]
    trained = world.wrap(TrainingForward(model, a.frozen_blocks))
    rng = np.random.default_rng(a.seed + step)

    def inputs(frames: np.ndarray) -> torch.Tensor:
        """uint8 frames as the training forward takes them: as they are (normalised per batch), or
        through the frozen trunk layers, a chunk at a time (the whole cache normalised at once
        would not fit in memory)."""
        if not a.frozen_blocks:
            return torch.from_numpy(frames).to(world.device)
        return torch.cat([model.frozen_features(normalized(torch.from_numpy(frames[i:i + 1024]).to(world.device)), a.frozen_blocks)
                          for i in range(0, len(frames), 1024)])

    t_features = time.time()
    images = inputs(train["images"])
    if a.frozen_blocks and world.is_main:
        print(f"frozen features {tuple(images.shape)} in {time.time() - t_features:.0f}s", flush=True)
    slot_truth = torch.from_numpy(y_train).to(world.device)
    token_truth = torch.from_numpy(tokens_train).to(world.device)
    flipped_slot = torch.as_tensor(FLIPPED_SLOT, device=world.device)
    n_real = round(a.batch * a.real_negatives) // world.size
    negatives = inputs(signal_crops("train", cfg.image_size, a.real_holdout_fold)) if n_real else None
    n_labelled = round(a.batch * (a.real_labels or a.real_empty)) // world.size
    if n_labelled:
        photos, *labels = real_labelled(cfg.image_size, grid, a.real_holdout_fold, empty_only=a.real_empty > 0)
        labelled = [inputs(photos)] + [torch.from_numpy(t).to(world.device) for t in labels]
        if world.is_main:
            print(f"real labelled photos: {len(labelled[0])} ({int((labelled[1] > 0).sum())} labels)", flush=True)
    warm = max(1, min(300, a.steps // 10))
    t0 = time.time()
    log = open(os.path.join(a.run, "log.csv"), "a") if world.is_main else None
    end = min(a.steps, a.stop_after or a.steps)
    # Under DDP every rank must take the same learning rate and stop at the same step, so the
    # wall clock that drives both is rank 0's.
    budget = None if a.minutes is None else 60 * a.minutes
    elapsed = 0.0
    while step < end:
        idx = torch.from_numpy(world.shard(rng.integers(0, len(images), a.batch))).to(world.device)
        # Frozen features are of the frames as rendered: a mirrored feature map is not the features of
        # the mirrored frame, so those frames are not flipped.
        flip = torch.from_numpy((rng.random(len(idx)) < 0.5) & (a.frozen_blocks == 0)).to(world.device)
        imgs, y, yt = images[idx], slot_truth[idx], token_truth[idx].view(-1, grid, grid)
        if n_real:
            real = torch.from_numpy(rng.integers(0, len(negatives), n_real)).to(world.device)
            imgs = torch.cat([imgs[n_real:], negatives[real]])
            y, yt = torch.cat([y[n_real:], torch.zeros_like(y[:n_real])]), torch.cat([yt[n_real:], torch.zeros_like(yt[:n_real])])
        if n_labelled:
            pick = torch.from_numpy(rng.integers(0, len(labelled[0]), n_labelled)).to(world.device)
            imgs = torch.cat([labelled[0][pick], imgs[n_labelled:]])
            y = torch.cat([labelled[1][pick], y[n_labelled:]])
            yt = torch.cat([labelled[2][pick].view(-1, grid, grid), yt[n_labelled:]])
        if not a.frozen_blocks:
            imgs = torch.where(flip[:, None, None, None], imgs.flip(2), imgs)
        if a.jitter:
            gain = torch.from_numpy(rng.uniform(1 - a.jitter, 1 + a.jitter, len(idx)).astype(np.float32)).to(world.device)
            offset = torch.from_numpy(rng.uniform(-80 * a.jitter, 80 * a.jitter, len(idx)).astype(np.float32)).to(world.device)
            imgs = jittered(imgs, gain, offset)
        y = torch.where(flip[:, None], y[:, flipped_slot], y)
        yt = torch.where(flip[:, None, None], yt.flip(2), yt).view(-1, grid * grid)
        factor = schedule(step, a.steps, warm, elapsed, budget)
        lr = a.lr * factor
        for g, base in zip(opt.param_groups, base_lr):
            g["lr"] = base * factor
        slots, token_kinds = trained(imgs if a.frozen_blocks else normalized(imgs))
        loss = slot_loss(slots, y, a.empty_weight, a.far_weight) + a.token_weight * slot_loss(token_kinds, yt, a.empty_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if world.is_main and step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
        if budget is not None:
            elapsed = world.rank0(time.time() - t0)
        out_of_time = budget is not None and elapsed >= budget
        if step % a.eval_every == 0 or step == end or out_of_time:
            if world.is_main:
                lv = logits_of(model, val["images"])
                vloss = float(slot_loss(torch.from_numpy(lv), torch.from_numpy(y_val), a.empty_weight))
                pts = operating_points(lv, truth_val, 1.0)
                f1 = max(2 * s["recall"] * s["precision"] / max(1e-9, s["recall"] + s["precision"]) for s in pts.values())
                s5 = pts[0.5]
                print(f"eval step {step}: val loss {vloss:.4f}, at 0.5 recall {s5['recall']:.3f} precision {s5['precision']:.3f}, "
                      f"best F1 {f1:.3f}", flush=True)
                log.write(f"{step},{loss.item():.5f},{vloss:.5f},{s5['recall']:.4f},{s5['precision']:.4f},{f1:.4f}\n")
                log.flush()
                if f1 > best_f1 or a.keep == "last":
                    best_f1 = max(f1, best_f1)
                    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step}, os.path.join(a.run, "best.pt"))
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best_f1": best_f1,
                            "config": cfg.to_dict()}, last)
            world.barrier()
        if out_of_time:
            break
    if log:
        log.close()
    if world.is_main:
        calibrate(a.run, cfg, val, a.precision, world.device)
    return model


def calibrate(run: str, cfg: ObstacleConfig, val: dict, precision: float, device) -> dict:
    """Fits the temperature of the run's best.pt on the validation scenes `val` (NLL) and picks the
    lowest threshold whose validation precision reaches `precision`; writes calibration.json."""
    best = ObstacleExpert(cfg).to(device)
    best.load_state_dict(torch.load(os.path.join(run, "best.pt"), map_location=device)["model"])
    y_val = targets(val["obstacle_boxes"])
    lv = logits_of(best, val["images"])
    T = fit_temperature(lv, y_val)
    pts = operating_points(lv, truth_of(val), T)
    thr = choose_threshold(pts, precision)
    cal = {"temperature": T, "threshold": thr, "precision_target": precision,
           "validation": {"scenes": len(y_val), "seeds_from": int(val["seeds"][0]),
                          "at_threshold": pts[thr],
                          "curve": {str(t): {"recall": s["recall"], "precision": s["precision"]} for t, s in pts.items()}}}
    with open(os.path.join(run, "calibration.json"), "w") as f:
        json.dump(cal, f, indent=1)
    s = pts[thr]
    print(f"calibrated: T {T:.3f}, threshold {thr}: recall {s['recall']:.3f}, precision {s['precision']:.3f}, "
          f"distance accuracy {s['distance_accuracy']:.3f}")
    return cal


def calibrate_only(a: argparse.Namespace) -> dict:
    """`--calibrate_only`: the run's best.pt calibrated again at `--precision`, nothing trained."""
    path = os.path.join(a.run, "best.pt")
    if not os.path.exists(path):
        raise SystemExit(f"{path}: no checkpoint to calibrate (--calibrate_only reads a trained run's best.pt)")
    torch.set_num_threads(a.threads)
    cfg = ObstacleConfig(**torch.load(path, map_location="cpu", weights_only=False)["config"])
    val = build_cache(a.cache, "val", a.val_scenes, size=cfg.image_size,
                      workers=a.render_workers or len(os.sched_getaffinity(0)))
    return calibrate(a.run, cfg, val, a.precision, "cpu")


def main(argv=None):
    a = parse_args(argv)
    if a.calibrate_only:
        calibrate_only(a)
        return
    world = join(a.device)
    try:
        train(a, world)
    finally:
        leave(world)


if __name__ == "__main__":
    main()

"""Model artifact (config.json + model.safetensors + tokenizer.json): export, load, inference.

  python -m lttw.artifact export --run training/runs/default --out models/default
  python -m lttw.artifact merge-signal --run training/runs/signal --model models/default
  python -m lttw.artifact merge-scene --run training/runs/crosswalk_real --model models/default
  python -m lttw.artifact merge-obstacle --run training/runs/obstacle_expert --model models/default

Export = load checkpoint -> fit temperatures on the synthetic validation split -> choose the green
operating threshold (zero false greens on validation) -> write the three files -> reload and compare.
"""
import argparse
import json
import os
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .caption_constraint import allowed_sentences
from .description import still_description
from .fusion import PREFIX as FUSION_PREFIX
from .fusion import load_fusion
from .generator import DISTANCES, LIGHT_KINDS, LIGHT_STATES, OBSTACLE_KINDS, POSITIONS
from .model import HEAD_LABELS, HEADS, ModelConfig, StreetVLM, count_params, flops_per_frame
from .model_card import verify_rule
from .preprocess import MEAN, STD, normalize_small, preprocess
from .tokenizer import Tokenizer, default_tokenizer

FORMAT_VERSION = 1
SOFTMAX_HEADS = ["light_state", "light_kind", "light_position", "crosswalk", "crosswalk_offset", "obstacle_distance"]


# ----------------------------------------------------------------------------- calibration
@torch.no_grad()
def head_logits_on_cache(model, cache, batch=250):
    model.eval()
    outs = {k: [] for k in HEADS}
    n = len(cache["seeds"])
    for i in range(0, n, batch):
        x = torch.from_numpy(normalize_small(cache["images"][i:i + batch]))
        _, hl, _ = model.encode(x)
        for k in HEADS:
            outs[k].append(hl[k])
    return {k: torch.cat(v) for k, v in outs.items()}


def _fit_T(logits, target, kind):
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
    best, bestT = None, 1.0
    for T in grid:
        if kind == "softmax":
            nll = float(F.cross_entropy(logits / T, target, ignore_index=-1))
        else:
            nll = float(F.binary_cross_entropy_with_logits(logits / T, target))
        if best is None or nll < best:
            best, bestT = nll, float(T)
    return round(bestT, 4)


def calibrate(model, cache):
    L = head_logits_on_cache(model, cache)
    temps = {}
    for k in SOFTMAX_HEADS:
        lg, tg = L[k], torch.from_numpy(np.asarray(cache[k])).long()
        if k == "obstacle_distance":
            lg, tg = lg.view(-1, 3), tg.view(-1)
        temps[k] = _fit_T(lg, tg, "softmax") if (tg >= 0).any() else 1.0
    temps["obstacles"] = _fit_T(L["obstacles"], torch.from_numpy(cache["obstacles"]).float(), "sigmoid")
    p = F.softmax(L["light_state"] / temps["light_state"], -1).numpy()
    truth = np.asarray(cache["light_state"])
    g = LIGHT_STATES.index("green")
    neg = p[truth != g, g]
    max_neg = float(neg.max()) if len(neg) else 0.0
    thr = max(0.5, max_neg + 0.5 * (1.0 - max_neg))
    thr = float(np.float32(min(thr, 0.9999)))
    # obstacle decision threshold: best F1 on the validation split
    po = torch.sigmoid(L["obstacles"] / temps["obstacles"]).numpy()
    to = np.asarray(cache["obstacles"]) > 0.5
    best_f1, obs_thr = -1.0, 0.5
    for t in np.arange(0.1, 0.91, 0.05):
        pr = po >= t
        tp = float((pr & to).sum()); f1 = 2 * tp / max(1.0, float(pr.sum() + to.sum()))
        if f1 > best_f1:
            best_f1, obs_thr = f1, round(float(t), 2)
    pos = p[truth == g, g]
    stats = {"val_n": int(len(truth)), "val_max_p_green_on_non_green": max_neg,
             "val_green_recall_at_threshold": float((pos >= thr).mean()) if len(pos) else None,
             "val_false_greens_at_threshold": int((neg >= thr).sum()),
             "val_obstacle_f1_at_threshold": best_f1, "obstacle_threshold": obs_thr}
    return temps, thr, stats


# ----------------------------------------------------------------------------- export / load
def artifact_config(mc: ModelConfig, tok: Tokenizer, temps, green_thr, stats, extra=None):
    return {
        "format_version": FORMAT_VERSION,
        "model_type": "lttw-street-vlm",
        "architecture": mc.to_dict(),
        "derived": {"grid": mc.grid, "n_patches": mc.n_patches, "n_visual_tokens": mc.n_visual_tokens,
                    "encoder_tokens": mc.n_patches + (1 if mc.use_cls else 0)},
        "block_math": {
            "norm": "pre-norm: x = x + attn(ln1(x)); x = x + mlp(ln2(x)) (decoder: + cross(ln2), mlp(ln3))",
            "gelu": "exact erf: 0.5*x*(1+erf(x/sqrt(2)))", "ln_eps": mc.ln_eps,
            "attention_scale": "1/sqrt(head_dim)", "lm_head": "tied to decoder.wte.weight" if mc.tie_lm_head else "decoder.lm_head.weight",
        },
        "preprocessing": {"input_size": mc.image_size, "resize": "area", "channel_order": "RGB",
                          "scale": 1.0 / 255.0, "mean": [float(v) for v in MEAN], "std": [float(v) for v in STD],
                          "layout": "NCHW float32", "decode": "cv2.IMREAD_COLOR (BGR) then BGR->RGB"},
        "heads": {k: {"labels": HEAD_LABELS[k], "size": n,
                      "activation": ("sigmoid" if k == "obstacles" else "identity" if k == "crosswalk_heading"
                                     else "softmax per position (groups of 3)" if k == "obstacle_distance" else "softmax")}
                  for k, n in HEADS.items()},
        "obstacle_kinds": OBSTACLE_KINDS, "positions": POSITIONS, "distances": DISTANCES,
        "light_states": LIGHT_STATES, "light_kinds": LIGHT_KINDS,
        "calibration": {"temperatures": temps, "method": "grid search of NLL on the synthetic validation split; "
                        "green threshold = halfway between the largest calibrated p(green) on a non-green validation scene and 1; "
                        "obstacle threshold = best F1 on validation",
                        "stats": stats},
        "thresholds": {"green": green_thr, "abstain": 0.5, "obstacle": stats.get("obstacle_threshold", 0.5), "crosswalk": 0.5,
                       "rule": "state = argmax of calibrated light_state probs; if state==green and p(green) < green -> unknown; "
                               "if max prob < abstain -> unknown"},
        "languages": ["en", "zh"],
        "decoding": {"start": ["<bos>", "<lang>"], "stop": "<eos> or dec_max_len positions", "strategy": "greedy"},
        "params": None, **(extra or {}),
    }


def weights_crc32(model_dir) -> str:
    """model.safetensors' CRC-32 (zlib's), eight hex digits: config.json's `weights_crc32`, which
    the Swift loader checks so damaged or mismatched weights are refused (ModelFolder.load)."""
    import zlib
    crc = 0
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def write_weights_and_config(model_dir, sd, cfg):
    """model.safetensors from `sd`, then config.json from `cfg` with the weights' CRC-32: the one
    way a model folder's weights are written, so the two always agree."""
    save_file(sd, os.path.join(model_dir, "model.safetensors"), metadata={"format": "pt", "format_version": str(FORMAT_VERSION)})
    cfg["weights_crc32"] = weights_crc32(model_dir)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def export(model: StreetVLM, out_dir, tok: Tokenizer, temps, green_thr, stats, extra=None, check=True):
    os.makedirs(out_dir, exist_ok=True)
    mc = model.config
    cfg = artifact_config(mc, tok, temps, green_thr, stats, extra)
    cfg["params"] = count_params(model)
    cfg["flops_per_frame"] = flops_per_frame(mc)
    sd = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    write_weights_and_config(out_dir, sd, cfg)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    if check:
        roundtrip_check(model, out_dir)
    return cfg


def read_weights(model_dir) -> Dict[str, torch.Tensor]:
    """A model folder's tensors, each widened to float32 as the Swift engine widens them at load:
    the green verifier's matrices are stored in half precision (merge_verifier), and both engines
    compute with the same rounded values. A half tensor anywhere else is refused, as Swift's
    ModelFolder.load refuses it: the model was saved in the wrong precision."""
    path = os.path.join(model_dir, "model.safetensors")
    sd = load_file(path)
    for k, v in sd.items():
        if v.dtype in (torch.float16, torch.bfloat16) and not k.startswith(SIGNAL_PREFIX + VERIFIER_KEY):
            raise ValueError(f"{path}: tensor '{k}' is {v.dtype}; only the green verifier's matrices are stored in half "
                             f"precision (half_matrices) — the model was saved in the wrong precision: save it after .float()")
    return {k: v.float() if v.dtype in (torch.float16, torch.bfloat16) else v for k, v in sd.items()}


def half_matrices(sd: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    """`sd` with the matrices under `prefix` (every tensor of two or more dimensions: convolution
    and linear weights) in half precision; biases and batch-norm statistics stay float32. Why:
    the green verifier on MobileNetV2 layers holds 570 k weights, and in float32 it would take the
    weights past the issues' 20 MB (read as MiB); its calibration's margin (its bar sits a share
    of the way from its greenest non-green frame to 1) is far wider than the rounding moves a
    probability."""
    return {k: v.half() if k.startswith(prefix) and v.dim() >= 2 else v for k, v in sd.items()}


def load_artifact(path):
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}/config.json: unsupported format_version {cfg.get('format_version')}")
    if "weights_crc32" in cfg and cfg["weights_crc32"] != weights_crc32(path):
        raise ValueError(f"{path}/model.safetensors: its CRC-32 is {weights_crc32(path)} but config.json's weights_crc32 says "
                         f"{cfg['weights_crc32']}: the weights are damaged or belong to another config.json")
    mc = ModelConfig(**cfg["architecture"])
    tok = Tokenizer.load(os.path.join(path, "tokenizer.json"))
    if len(tok) != mc.vocab_size:
        raise ValueError(f"{path}/tokenizer.json: vocab size {len(tok)} != config vocab_size {mc.vocab_size}")
    model = StreetVLM(mc)
    sd = read_weights(path)
    scene = {k: v for k, v in sd.items() if not k.startswith(EXPERT_PREFIXES)}
    missing, unexpected = model.load_state_dict(scene, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}/model.safetensors: missing {missing} unexpected {unexpected}")
    model.eval()
    # Kept beside the scene model, not registered as its submodule: the scene model's state dict
    # stays what export writes.
    model.__dict__["signal_expert"] = load_signal_expert(cfg, sd, path)
    model.__dict__["obstacle_expert"] = load_obstacle_expert(cfg, sd, path)
    model.__dict__["fusion"] = load_fusion(cfg, sd, path)
    return model, cfg, tok


# ----------------------------------------------------------------------------- obstacle expert
OBSTACLE_PREFIX = "obstacle."
# Tensors beside the scene model's (its state dict is what export writes): the experts' and the
# fusion's. SIGNAL_PREFIX is defined with the signal expert below.
EXPERT_PREFIXES = ("signal.", OBSTACLE_PREFIX, FUSION_PREFIX)


def load_obstacle_expert(cfg, sd, path):
    """The config's obstacle expert with its weights (prefix `obstacle.`), or None when the model
    folder has none (the obstacles then come from the scene heads)."""
    from .obstacle_expert import ObstacleConfig, ObstacleExpert
    oe = cfg.get("obstacle_expert")
    own = {k[len(OBSTACLE_PREFIX):]: v for k, v in sd.items() if k.startswith(OBSTACLE_PREFIX)}
    if oe is None:
        if own:
            raise ValueError(f"{path}/model.safetensors: obstacle expert weights but no obstacle_expert in config.json")
        return None
    if oe["kinds"] != OBSTACLE_KINDS or oe["positions"] != POSITIONS or oe["distances"] != DISTANCES:
        raise ValueError(f"{path}/config.json: obstacle_expert slots {oe['positions']} x {oe['distances']} of {oe['kinds']} "
                         "are not this code's")
    expert = ObstacleExpert(ObstacleConfig(**oe["architecture"], kinds=oe["kinds"]))
    missing, unexpected = expert.load_state_dict(own, strict=False)
    missing = [k for k in missing if k in expert.exported_state()]  # the training-only token head is never shipped
    if missing or unexpected:
        raise ValueError(f"{path}/model.safetensors: obstacle expert missing {missing} unexpected {unexpected}")
    return expert.eval()


# The ObstacleConfig fields only a ViT trunk reads: a MobileNetV2 expert's config.json leaves them
# out, so nobody reads a shape the model does not have.
VIT_ONLY_FIELDS = ("patch_size", "width", "depth", "heads", "mlp_ratio", "ln_eps", "stem", "stem_channels")


def exported_architecture(c) -> Dict:
    """config.json's obstacle_expert.architecture: the fields its trunk uses (kinds are written
    beside it). A MobileNetV2 trunk the Swift engine would refuse (ObstacleExpertConfiguration:
    2…18 layers, image_size a multiple of its stride, up to 512 px and a 64-cell grid side) is
    refused here, before a model folder is written."""
    fields = {k: v for k, v in c.to_dict().items() if k != "kinds"}
    if c.trunk == "mobilenet_v2":
        from .obstacle_expert import mobilenet_v2_stride
        fits = 2 <= c.trunk_blocks <= 18 and 16 <= c.image_size <= 512
        stride = mobilenet_v2_stride(c.trunk_blocks) if fits else 1
        if not fits or c.image_size % stride or c.image_size // stride > 64:
            raise ValueError(f"a mobilenet_v2 trunk of {c.trunk_blocks} layers at {c.image_size} px: the Swift engine runs "
                             "2…18 layers on 16…512 px, a multiple of the trunk's stride, at most 64 cells a side")
        return {k: v for k, v in fields.items() if k not in VIT_ONLY_FIELDS}
    return {k: v for k, v in fields.items() if k != "trunk_blocks"}


def merge_obstacle(run, model_dir, ckpt="best.pt", recipe=None):
    """Puts a trained, calibrated obstacle expert (lttw.obstacle_expert_train) into a model folder
    (replacing one already there). `recipe` says how the run was trained, for the model card."""
    from .obstacle_expert import ObstacleConfig, ObstacleExpert
    ck = torch.load(os.path.join(run, ckpt), map_location="cpu", weights_only=False)
    expert = ObstacleExpert(ObstacleConfig(**ck["config"]))
    expert.load_state_dict(ck["model"])
    with open(os.path.join(run, "calibration.json")) as f:
        calibration = json.load(f)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    sd = {k: v for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items() if not k.startswith(OBSTACLE_PREFIX)}
    sd.update({OBSTACLE_PREFIX + k: v.detach().float().contiguous().clone() for k, v in expert.exported_state().items()})
    c = expert.c
    cfg["obstacle_expert"] = {
        "architecture": exported_architecture(c),
        "kinds": list(c.kinds), "positions": list(POSITIONS), "distances": list(DISTANCES),
        "weights_prefix": OBSTACLE_PREFIX,
        "input": "the frame squashed to image_size x image_size (area), the model's preprocessing mean and std",
        "slots": "position-major (left, ahead, right) x (near, mid, far); per slot softmax(logits / temperature) over "
                 "empty + kinds; an obstacle when the most likely kind's probability >= threshold; one per position and kind",
        "temperature": round(float(calibration["temperature"]), 4),
        "threshold": float(calibration["threshold"]),
        "calibration": {"method": f"temperature: NLL over the generated validation slots; threshold: the lowest whose "
                                  f"validation precision of (kind, position) is at least {calibration['precision_target']}",
                        "validation": {k: calibration["validation"][k] for k in ("scenes", "seeds_from")},
                        "at_threshold": {k: calibration["validation"]["at_threshold"][k]
                                         for k in ("recall", "precision", "distance_accuracy", "labelled")}},
        "training": {"run": run, "step": ck.get("step"), **({"recipe": recipe} if recipe else {})},
        "params": int(sum(v.numel() for v in expert.exported_state().values())),
    }
    write_weights_and_config(model_dir, sd, cfg)
    return cfg


# ----------------------------------------------------------------------------- signal expert
SIGNAL_PREFIX = "signal."


def proposal_constants() -> Dict:
    """The lamp proposal contract's constants (lamps.py), as config.json records them and as a
    model's are checked against at load (Swift: LampProposer.constants)."""
    from . import lamps
    return {"long_side": lamps.PROPOSAL_LONG_SIDE, "min_brightness": lamps.MIN_BRIGHTNESS,
            "min_saturation_pct": lamps.MIN_SATURATION_PCT, "min_lit": lamps.MIN_LIT,
            "min_fill_pct": lamps.MIN_FILL_PCT, "max_blobs": lamps.MAX_BLOBS,
            "figure_from": lamps.FIGURE_FROM, "figure_growth": lamps.FIGURE_GROWTH,
            "whole_frame_max_side": lamps.WHOLE_FRAME_MAX_SIDE, "whole_frame_filling": lamps.WHOLE_FRAME_FILLING,
            "cluster_cell_pct": lamps.CLUSTER_CELL_PCT, "cluster_min_pct": lamps.CLUSTER_MIN_PCT,
            "cluster_max_pct": lamps.CLUSTER_MAX_PCT, "cluster_max": lamps.CLUSTER_MAX,
            "cluster_side_sixteenths": lamps.CLUSTER_SIDE_SIXTEENTHS, "colourless_chroma": lamps.COLOURLESS_CHROMA,
            "noise_tile": lamps.NOISE_TILE, "noise_chroma": lamps.NOISE_CHROMA,
            "crop_size": lamps.CROP_SIZE, "crop_context": lamps.CROP_CONTEXT, "crop_min_side": lamps.CROP_MIN_SIDE}


def load_signal_expert(cfg, sd, path):
    """The config's signal expert with its weights (prefix `signal.`), or None when the model
    folder has none (the light then comes from the scene heads)."""
    from .signal_model import SignalConfig, SignalReader
    se = cfg.get("signal_expert")
    own = {k[len(SIGNAL_PREFIX):]: v for k, v in sd.items() if k.startswith(SIGNAL_PREFIX)}
    if se is None:
        if own:
            raise ValueError(f"{path}/model.safetensors: signal expert weights but no signal_expert in config.json")
        return None
    if se.get("proposals") != proposal_constants():
        raise ValueError(f"{path}/config.json: signal_expert proposal constants {se.get('proposals')} differ from this "
                         f"code's lamp proposer ({proposal_constants()}): the model was calibrated on other candidates")
    reader = SignalReader(SignalConfig(**se["architecture"], classes=se["classes"]))
    verifier_own = {k[len(VERIFIER_KEY):]: own.pop(k) for k in list(own) if k.startswith(VERIFIER_KEY)}
    countdown_own = {k[len(COUNTDOWN_KEY):]: own.pop(k) for k in list(own) if k.startswith(COUNTDOWN_KEY)}
    missing, unexpected = reader.load_state_dict(own, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}/model.safetensors: signal expert missing {missing} unexpected {unexpected}")
    gv = se.get("green_verifier")
    if gv is None and verifier_own:
        raise ValueError(f"{path}/model.safetensors: green verifier weights but no signal_expert.green_verifier in config.json")
    if gv is not None:
        from .green_verifier import load_verifier
        verifier = load_verifier({**gv["architecture"], "classes": gv["classes"]}, verifier_own, f"{path}/model.safetensors")
        # Kept beside the reader, not registered as its submodule: the reader's state dict stays its own.
        reader.__dict__["green_verifier"] = verifier
    cr = se.get("countdown_reader")
    if cr is None and countdown_own:
        raise ValueError(f"{path}/model.safetensors: countdown reader weights but no signal_expert.countdown_reader in config.json")
    if cr is not None:
        from .countdown import CLASSES as COUNTDOWN_CLASSES, CONTEXT_RANGE, GROUPS, LOWEST_THRESHOLD
        from .countdown import new_reader as new_countdown_reader
        # The checks Swift's SignalExpertConfiguration.CountdownReader.validate makes.
        if cr["classes"] != COUNTDOWN_CLASSES:
            raise ValueError(f"{path}/config.json: countdown_reader.classes {cr['classes']} are not this code's {COUNTDOWN_CLASSES}")
        lo, hi = CONTEXT_RANGE
        if not (isinstance(cr.get("context"), int) and lo <= cr["context"] <= hi):
            raise ValueError(f"{path}/config.json: countdown_reader.context {cr.get('context')} outside {lo}…{hi}")
        if cr.get("groups") != GROUPS:
            raise ValueError(f"{path}/config.json: countdown_reader.groups {cr.get('groups')} are not {GROUPS}")
        if not LOWEST_THRESHOLD <= cr["threshold"] < 1:
            raise ValueError(f"{path}/config.json: countdown_reader.threshold {cr['threshold']} below the calibrated floor "
                             f"{LOWEST_THRESHOLD} or not below 1")
        countdown = new_countdown_reader(cr["architecture"])
        missing, unexpected = countdown.load_state_dict(countdown_own, strict=False)
        if missing or unexpected:
            raise ValueError(f"{path}/model.safetensors: countdown reader missing {missing} unexpected {unexpected}")
        reader.__dict__["countdown_reader"] = countdown.eval()
    return reader.eval()


# The green verifier's tensors sit inside the signal expert's: signal.verifier.<name>; the
# countdown reader's likewise: signal.countdown.<name>.
VERIFIER_KEY = "verifier."
COUNTDOWN_KEY = "countdown."


def signal_expert_config(reader, calibration, run):
    """config.json's `signal_expert` section: architecture, the proposal contract's constants
    (Swift refuses a model whose constants differ from the ones it was built with), the
    calibrated temperature and thresholds."""
    from . import lamps
    c = reader.c
    return {
        "architecture": {k: v for k, v in c.to_dict().items() if k != "classes"},
        "classes": list(c.classes),
        "weights_prefix": SIGNAL_PREFIX,
        "feature": "concat(CLS, max over patches) of the final layer norm; head = fc2(GELU(fc1(concat(feature, geometry)))), "
                   "geometry = " + ", ".join(lamps.GEOMETRY) + " as fractions of the frame",
        "proposals": proposal_constants(),
        **({"green_confirmation": list(calibration["green_confirmation"])} if calibration.get("green_confirmation") else {}),
        "temperature": round(float(calibration["temperature"]), 4),
        "thresholds": {k: float(v) for k, v in calibration["thresholds"].items()},
        "calibration": {"stats": calibration["stats"],
                        "method": "temperature: NLL on the validation crops (real val split + generated validation scenes); "
                                  "green: halfway between the largest green mass the decision rule announces on a non-green "
                                  "validation frame (after the green confirmation, when listed) and 1 (at least 0.9); "
                                  "signal, abstain and red_veto are fixed"},
        "rule": "lit = signal >= thresholds.signal; pedestrian candidates first; the strongest decides; green needs mass >= "
                "thresholds.green and no same-kind stop mass >= thresholds.red_veto anywhere"
                + (" (of a lamp whose longer side is at least thresholds.red_veto_side times the smallest lamp that could be "
                   "the walk lamp)" if "red_veto_side" in calibration["thresholds"] else "")
                + (" (with confirmation: a stop that also holds in at least half of its confirmation views)"
                   if calibration.get("green_confirmation") else "")
                + (", then its smallest green mass over the green_confirmation views >= thresholds.green (failing that, the"
                   " next chosen candidate reading green >= thresholds.green that holds in its views is the walk lamp)"
                   if calibration.get("green_confirmation") else "")
                + "; red/yellow need mass >= thresholds.abstain and no other chosen candidate green >= thresholds.green"
                + (" (with confirmation: a green that also holds in its views)" if calibration.get("green_confirmation") else "")
                + "; a frame whose proposal image's largest chroma is <= proposals.colourless_chroma is unknown (no "
                  "colour in the frame) where it would be none or green, and one whose proposal image's largest tile-mean "
                  "chroma (tiles of proposals.noise_tile pixels a side) is <= proposals.noise_chroma where it would be none",
        "training": {"run": run, "step": calibration.get("step")},
    }


def _signal_run(run, ckpt="best.pt"):
    """A signal_train run folder's reader (weights loaded) and its calibration.json."""
    from .signal_model import SignalConfig, SignalReader
    ck = torch.load(os.path.join(run, ckpt), map_location="cpu", weights_only=False)
    reader = SignalReader(SignalConfig(**ck["config"]))
    reader.load_state_dict(ck["model"])
    with open(os.path.join(run, "calibration.json")) as f:
        return reader, json.load(f)


def merge_signal(run, model_dir, ckpt="best.pt"):
    """Puts a trained, calibrated signal expert into a model folder (replacing one already there)."""
    reader, calibration = _signal_run(run, ckpt)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    sd = {k: v for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items() if not k.startswith(SIGNAL_PREFIX)}
    sd.update({SIGNAL_PREFIX + k: v.detach().float().contiguous().clone() for k, v in reader.state_dict().items()})
    cfg["signal_expert"] = signal_expert_config(reader, calibration, run)
    cfg["signal_expert"]["params"] = count_params(reader)
    write_weights_and_config(model_dir, sd, cfg)
    return cfg


# The thresholds that belong to the green verifier, not to the reader (lttw.green_verifier_train).
VERIFIER_THRESHOLDS = ("verify", "set_aside")


def extract_signal(model_dir, run):
    """The model folder's signal reader, without its verifier, as a signal_train run folder
    (best.pt and calibration.json), so that mining and a further training round can start from
    the shipped reader on a fresh clone, where the runs it came from are not kept. Returns the
    calibration written."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    sd = load_file(os.path.join(model_dir, "model.safetensors"))
    reader = load_signal_expert(cfg, sd, model_dir)
    if reader is None:
        raise SystemExit(f"{model_dir}: no signal expert to extract")
    se = cfg["signal_expert"]
    os.makedirs(run, exist_ok=True)
    step = (se.get("training") or {}).get("step")
    torch.save({"model": reader.state_dict(), "config": reader.c.to_dict(), "step": step, "from_model": model_dir},
               os.path.join(run, "best.pt"))
    # The verifier's thresholds stay behind with the verifier: the run folder holds the reader alone,
    # as signal_train writes it.
    reader_thresholds = {k: v for k, v in se["thresholds"].items() if k not in VERIFIER_THRESHOLDS}
    calibration = {"temperature": se["temperature"], "thresholds": reader_thresholds,
                   "stats": (se.get("calibration") or {}).get("stats", {}), "step": step,
                   "green_confirmation": list(se.get("green_confirmation", []))}
    with open(os.path.join(run, "calibration.json"), "w") as f:
        json.dump(calibration, f, indent=1)
    return calibration


def swap_reader(run, model_dir, ckpt="best.pt"):
    """The model folder's signal reader replaced by a run's, with the run's temperature; every
    threshold, the green confirmation views, the verifier and the countdown reader stay as they
    are. For comparing readers under one decision rule (lttw.signal_folds) without calibrating
    each again; a reader to ship goes in with merge-signal and its own calibration."""
    reader, calibration = _signal_run(run, ckpt)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    se = cfg.get("signal_expert")
    if se is None:
        raise SystemExit(f"{model_dir}: no signal expert whose reader could be swapped")
    if reader.c.to_dict()["crop_size"] != se["architecture"]["crop_size"]:
        raise SystemExit(f"{run}: a reader of {reader.c.crop_size} px crops, the model's proposals make "
                         f"{se['architecture']['crop_size']} px crops")
    own = (SIGNAL_PREFIX + "verifier.", SIGNAL_PREFIX + "countdown.")
    sd = {k: v for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()
          if not k.startswith(SIGNAL_PREFIX) or k.startswith(own)}
    sd.update({SIGNAL_PREFIX + k: v.detach().float().contiguous().clone() for k, v in reader.state_dict().items()})
    fresh = signal_expert_config(reader, calibration, run)
    se["architecture"] = fresh["architecture"]
    se["temperature"] = fresh["temperature"]
    se["training"] = fresh["training"]
    se["params"] = count_params(reader)
    _write_model(model_dir, cfg, sd)
    return cfg


def _signal_part(model_dir, key, module, what):
    """The model folder's config and tensors with `module`'s weights put under the signal expert's
    prefix + `key` (replacing any there): for a part that sits beside the signal reader."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("signal_expert") is None:
        raise SystemExit(f"{model_dir}: no signal expert for the {what}")
    prefix = SIGNAL_PREFIX + key
    sd = {k: v for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items() if not k.startswith(prefix)}
    exported = module.exported_state() if hasattr(module, "exported_state") else module.state_dict()
    sd.update({prefix + k: v.detach().float().contiguous().clone() for k, v in exported.items()})
    return cfg, sd, prefix


def _write_model(model_dir, cfg, sd):
    write_weights_and_config(model_dir, sd, cfg)


def merge_verifier(run, model_dir, ckpt="best.pt"):
    """Puts a trained, calibrated green verifier (lttw.green_verifier_train) beside the model
    folder's signal reader; the reader's green threshold becomes the one calibrated with it."""
    from .green_verifier import architecture_of, verifier_of
    verifier = verifier_of(torch.load(os.path.join(run, ckpt), map_location="cpu", weights_only=False))
    with open(os.path.join(run, "calibration.json")) as f:
        calibration = json.load(f)
    cfg, sd, prefix = _signal_part(model_dir, VERIFIER_KEY, verifier, "green verifier to back")
    sd = half_matrices(sd, prefix)
    se = cfg["signal_expert"]
    c = verifier.c
    grid = calibration["calibration"]["grid"]
    margin = float(calibration["calibration"].get("margin", 0.5))  # runs before --margin: halfway
    # The reader's own calibration stays, with the threshold it set alone.
    se["calibration"].setdefault("reader_alone_green", se["thresholds"]["green"])
    se["thresholds"]["green"] = float(calibration["thresholds"]["green"])
    se["thresholds"]["verify"] = float(calibration["thresholds"]["verify"])
    for name in ("red_veto", "red_veto_side"):  # red_veto: calibrations since the grid weighs it
        if name in calibration["thresholds"]:
            se["thresholds"][name] = float(calibration["thresholds"][name])
    se["thresholds"].pop("set_aside", None)
    if "set_aside" in calibration["thresholds"]:
        se["thresholds"]["set_aside"] = float(calibration["thresholds"]["set_aside"])
    misses = int(calibration["thresholds"].get("view_misses", 0))
    se["thresholds"].pop("view_misses", None)
    if misses:
        se["thresholds"]["view_misses"] = misses
    se["green_verifier"] = {
        "architecture": architecture_of(verifier),
        "classes": list(c.classes),
        "weights_prefix": prefix,
        "temperature": round(float(calibration["temperature"]), 4),
        "params": count_params(verifier),
        "views": ["own"] + se.get("green_confirmation", []),
        "calibration": {"frames": calibration["frames"], "margin": margin,
                        **({"pinned": calibration["calibration"]["pinned"]} if "pinned" in calibration["calibration"] else {}), "grid": [
            {k: e[k] for k in ("reader_green", "view_misses", "red_veto", "verify", "max_verifier_green_on_non_green", "real_val",
                               "generated_val") if k in e} for e in grid],
            "greenest_non_green": next(e for e in grid if e["reader_green"] == calibration["thresholds"]["green"]
                                       and e.get("view_misses", 0) == misses
                                       and e.get("red_veto") == calibration["thresholds"].get("red_veto"))["greenest_non_green"]},
        "method": "the frame is walk only when the reader's green held over its own read and its views (the smallest once "
                  "thresholds.view_misses of the lowest are set aside; absent: 0) reaches thresholds.green and the "
                  "verifier's smallest green over the candidate's square and the same views (64x64) reaches thresholds.verify "
                  "(when it does not, the later standbys that hold are tried in turn); "
                  f"thresholds.verify: {verify_rule(margin)} (at least 0.5); thresholds.green, view_misses "
                  "(and red_veto, where the grid holds it): "
                  + ("the grid point given by --pin" if "pinned" in calibration["calibration"] else
                     "the grid point with the most validation greens said"),
        "run": run,
    }
    _write_model(model_dir, cfg, sd)
    return cfg


def merge_countdown(run, model_dir, ckpt="best.pt"):
    """Puts a trained, calibrated countdown reader (lttw.countdown) beside the model folder's
    signal reader."""
    from . import countdown
    ck = torch.load(os.path.join(run, ckpt), map_location="cpu", weights_only=False)
    reader = countdown.new_reader(ck["config"])
    reader.load_state_dict(ck["model"])
    with open(os.path.join(run, "calibration.json")) as f:
        calibration = json.load(f)
    cfg, sd, prefix = _signal_part(model_dir, COUNTDOWN_KEY, reader, "countdown reader to follow")
    se = cfg["signal_expert"]
    se["countdown_reader"] = {
        "architecture": dict(reader.architecture),
        "classes": list(reader.c.classes),
        "groups": list(countdown.GROUPS),
        "weights_prefix": prefix,
        "context": countdown.CONTEXT,
        "temperature": round(float(calibration["temperature"]), 4),
        "threshold": float(calibration["threshold"]),
        "params": count_params(reader),
        "calibration": calibration["validation"],
        "method": "read once per frame the signal expert calls red or green, on the square of `context` times the announced "
                  "lamp's size (Candidate.side) centred on it (the whole frame for the whole-frame candidate), sampled to "
                  "crop_size; the logits are two groups (`groups`: the tens none/blank/1-5, the ones 0-9), each softmax(logits / "
                  "temperature); seconds = 10 x tens + ones of the most likely of each, said when the tens are not 'none', the "
                  "number is not 0 and the product of the two probabilities reaches threshold: halfway between the most "
                  "confident wrong number on the generated validation squares and 1 (at least 0.5)",
        "run": run,
    }
    _write_model(model_dir, cfg, sd)
    return cfg


def merge_scene(run, model_dir, ckpt="best.pt"):
    """Puts a fine-tuned scene model (e.g. lttw.crosswalk_real) into a model folder, keeping its
    signal expert, tokenizer and architecture: the scene tensors are replaced, the heads'
    temperatures and thresholds fitted again on the run's generated validation split (`calibrate`),
    and the fine-tune recorded under training.fine_tune."""
    from .data import build_cache
    ck = torch.load(os.path.join(run, ckpt), map_location="cpu", weights_only=False)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("fusion"):
        raise SystemExit(f"{model_dir}: its decoder was trained with the experts' fusion (lttw.fusion_train); a scene "
                         "run's decoder would not match it: merge the scene run into a folder without fusion, then "
                         "train and merge the fusion again")
    if ck["model_config"] != cfg["architecture"]:
        raise SystemExit(f"{run}/{ckpt}: its scene model is {ck['model_config']}, {model_dir} holds {cfg['architecture']}")
    model = StreetVLM(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    val = build_cache(ck["cfg"]["cache_root"], "val", ck["cfg"]["n_val"], model.config.image_size, 1)
    temps, green_thr, stats = calibrate(model, val)
    sd = load_file(os.path.join(model_dir, "model.safetensors"))
    scene = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    if set(scene) != {k for k in sd if not k.startswith(EXPERT_PREFIXES)}:
        raise SystemExit(f"{run}/{ckpt}: its tensors are not the scene tensors of {model_dir}/model.safetensors")
    sd.update(scene)
    cfg["calibration"]["temperatures"] = temps
    cfg["calibration"]["stats"] = stats
    cfg["thresholds"]["green"] = green_thr
    cfg["thresholds"]["obstacle"] = stats.get("obstacle_threshold", 0.5)
    cfg["training"]["fine_tune"] = {"run": run, "checkpoint": ckpt, "step": ck["step"], "val": ck.get("val"),
                                    "command": "python -m lttw.crosswalk_real " + " ".join(
                                        f"--{k} {v}" for k, v in ck.get("args", {}).items() if k not in ("resume", "threads"))}
    write_weights_and_config(model_dir, sd, cfg)
    roundtrip_check(model, model_dir)
    return cfg


def merge_fusion(run, model_dir, ckpt="best.pt"):
    """Puts a trained poly-expert fusion (lttw.fusion_train) and the decoder trained with it into a
    model folder whose experts and scene encoder it was trained on (the run's `model`)."""
    ck = torch.load(os.path.join(run, ckpt), map_location="cpu", weights_only=False)
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("signal_expert") is None or cfg.get("obstacle_expert") is None:
        raise SystemExit(f"{model_dir}: fusion needs a signal expert and an obstacle expert in the folder")
    sd = load_file(os.path.join(model_dir, "model.safetensors"))
    decoder = {f"decoder.{k}": v.detach().float().contiguous().clone() for k, v in ck["decoder"].items()}
    if not set(decoder) <= set(sd) or any(sd[k].shape != v.shape for k, v in decoder.items()):
        raise SystemExit(f"{run}/{ckpt}: its decoder's tensors are not those of {model_dir}/model.safetensors")
    sd = {k: v for k, v in sd.items() if not k.startswith(FUSION_PREFIX)}
    sd.update(decoder)
    sd.update({FUSION_PREFIX + k: v.detach().float().contiguous().clone() for k, v in ck["fusion"].items()})
    report = {}
    if os.path.exists(os.path.join(run, "report.json")):
        with open(os.path.join(run, "report.json")) as f:
            report = json.load(f)
    cfg["fusion"] = {
        "architecture": ck["fusion_config"],
        "weights_prefix": FUSION_PREFIX,
        "method": "the decoder attends to the scene tokens, then signal_tokens tokens from the signal expert's candidates "
                  "most likely a signal (1 - p[not a signal], highest first, the earlier on ties): [embedding, geometry, "
                  "calibrated p] -> fc1 -> GELU (exact) -> fc2, + signal_rank[r]; a rank with no candidate is "
                  "signal_absent + signal_rank[r]; then the crossing: [p(crosswalk), its side's 3, present (p >= "
                  "thresholds.crosswalk), the side's one-hot if present] -> fc1 -> GELU -> fc2, + crossing_place; then one "
                  "token per obstacle slot: [its calibrated probabilities, the one-hot of the obstacle the read rule decides "
                  "there ('empty' if none)] -> fc1 -> GELU -> fc2, + obstacle_slot[s]",
        "params": sum(int(v.numel()) for v in ck["fusion"].values()),
        "training": {"run": run, "checkpoint": ckpt, "step": ck["step"], "val_loss": ck["val_loss"],
                     "command": "python -m lttw.fusion_train train " + " ".join(
                         f"--{k} {v}" for k, v in ck.get("args", {}).items()
                         if k in ("epochs", "batch", "lr", "decoder_lr_scale", "warmup", "seed", "target"))},
        "validation": report,
    }
    _write_model(model_dir, cfg, sd)
    load_artifact(model_dir)
    return cfg


@torch.no_grad()
def roundtrip_check(model, out_dir, n=4):
    from .generator import generate
    m2, cfg, tok = load_artifact(out_dir)
    model.eval()
    x = torch.from_numpy(np.stack([preprocess(generate(9_500_000 + i).bgr, model.config.image_size) for i in range(n)]))
    ids = torch.tensor([tok.encode("Wait. Red pedestrian signal ahead.", "en")] * n)
    a_h, a_l = model(x, ids)
    b_h, b_l = m2(x, ids)
    diff = max([float((a_h[k] - b_h[k]).abs().max()) for k in a_h] + [float((a_l - b_l).abs().max())])
    if diff > 1e-5:
        raise AssertionError(f"artifact round-trip mismatch: max abs diff {diff}")
    return diff


# ----------------------------------------------------------------------------- inference
class Predictor:
    def __init__(self, path):
        self.model, self.cfg, self.tok = load_artifact(path)
        self.T = self.cfg["calibration"]["temperatures"]
        self.thr = self.cfg["thresholds"]
        self.size = self.cfg["preprocessing"]["input_size"]
        self.mean = np.asarray(self.cfg["preprocessing"]["mean"], np.float32)
        self.std = np.asarray(self.cfg["preprocessing"]["std"], np.float32)
        self.signal = None
        if self.model.signal_expert is not None:
            from . import lamps
            from .signal_model import SignalExpertRunner
            se = self.cfg["signal_expert"]
            views = se.get("green_confirmation") or []
            if views and views != lamps.CONFIRMATION_VIEWS:
                raise ValueError(f"{path}/config.json: green_confirmation {views} is not this code's {lamps.CONFIRMATION_VIEWS}")
            verifier = None
            if se.get("green_verifier"):
                from .green_verifier import GreenVerifier
                verifier = GreenVerifier(self.model.signal_expert.green_verifier, se["green_verifier"]["temperature"],
                                         self.mean, self.std)
            countdown = None
            if se.get("countdown_reader"):
                from .countdown import CountdownReader
                cr = se["countdown_reader"]
                countdown = CountdownReader(self.model.signal_expert.countdown_reader, cr["temperature"], cr["threshold"],
                                            self.mean, self.std, cr["context"])
            self.signal = SignalExpertRunner(self.model.signal_expert, se["temperature"], se["thresholds"], self.mean, self.std,
                                             confirmation=bool(views), verifier=verifier, countdown=countdown)
        self.obstacle = None
        if self.model.obstacle_expert is not None:
            oe = self.cfg["obstacle_expert"]
            self.obstacle = (self.model.obstacle_expert, oe["temperature"], oe["threshold"])

    def probs(self, head_logits) -> Dict[str, np.ndarray]:
        P = {}
        for k, v in head_logits.items():
            T = self.T.get(k, 1.0)
            if k == "obstacles":
                P[k] = torch.sigmoid(v / T).numpy()
            elif k == "obstacle_distance":
                P[k] = F.softmax(v.view(v.shape[0], -1, 3) / T, -1).reshape(v.shape[0], -1).numpy()
            elif k == "crosswalk_heading":
                P[k] = (v * 30.0).numpy()
            else:
                P[k] = F.softmax(v / T, -1).numpy()
        return P

    def light_decision(self, p_state):
        k = int(np.argmax(p_state))
        st = LIGHT_STATES[k]
        if st == "green" and p_state[k] < self.thr["green"]:
            return "unknown"
        if p_state[k] < self.thr["abstain"]:
            return "unknown"
        return st

    def facts_from_probs(self, P, i):
        st = self.light_decision(P["light_state"][i])
        light = {"state": st, "confidence": round(float(P["light_state"][i].max()), 4),
                 "p": {s: round(float(v), 4) for s, v in zip(LIGHT_STATES, P["light_state"][i])}}
        if st not in ("none",):
            light["kind"] = LIGHT_KINDS[int(np.argmax(P["light_kind"][i]))]
            light["position"] = POSITIONS[int(np.argmax(P["light_position"][i]))]
        pc = float(P["crosswalk"][i][1])
        cw = {"present": pc >= self.thr["crosswalk"], "confidence": round(pc if pc >= 0.5 else 1 - pc, 4)}
        if cw["present"]:
            cw["offset"] = POSITIONS[int(np.argmax(P["crosswalk_offset"][i]))]
            cw["heading_deg"] = round(float(P["crosswalk_heading"][i][0]), 1)
        obs = []
        nk = len(OBSTACLE_KINDS)
        for pi, pos in enumerate(POSITIONS):
            d = DISTANCES[int(np.argmax(P["obstacle_distance"][i][pi * 3:(pi + 1) * 3]))]
            for ki, kind in enumerate(OBSTACLE_KINDS):
                p = float(P["obstacles"][i][pi * nk + ki])
                if p >= self.thr["obstacle"]:
                    obs.append({"kind": kind, "position": pos, "distance": d, "confidence": round(p, 4)})
        return {"light": light, "crosswalk": cw, "obstacles": obs}

    def signal_light(self, bgr, reads=None):
        """The frame's light from the signal expert (DESIGN.md facts, plus what decided it);
        `reads`: the frame's SignalExpertRunner.candidate_reads when already made."""
        d = self.signal.read(np.ascontiguousarray(self._bgr(bgr)[..., ::-1]), reads)
        light = {"state": d["state"], "confidence": round(float(d["confidence"]), 4), "candidates": d["candidates"]}
        if d["state"] != "none" and d.get("candidate") is not None:
            light["kind"] = d["kind"]
            light["position"] = d["position"]
            light["box"] = d["box"]
        if "seconds_left" in d:
            light["seconds_left"] = d["seconds_left"]
        if d["state"] == "unknown":
            light["why"] = d.get("why", "unsure")
        return light

    @torch.no_grad()
    def obstacle_probabilities(self, bgr_list: List[np.ndarray]) -> np.ndarray:
        """The obstacle expert's calibrated slot probabilities of each frame [B, slots, classes] (float64)."""
        from .obstacle_expert import probabilities
        expert, T, _ = self.obstacle
        x = torch.from_numpy(np.stack([preprocess(b, expert.c.image_size, self.mean, self.std) for b in bgr_list]))
        return probabilities(expert(x).numpy(), T)

    def expert_obstacles(self, bgr_list: List[np.ndarray], p: np.ndarray = None):
        """Each frame's obstacles from the obstacle expert (obstacle_expert.read; `p` its
        probabilities when already read), confidences rounded as the facts carry them."""
        from .obstacle_expert import read
        p = self.obstacle_probabilities(bgr_list) if p is None else p
        return [[{**o, "confidence": round(o["confidence"], 4)} for o in read(q, self.obstacle[2])] for q in p]

    @torch.no_grad()
    def decoder_memory(self, bgr_list: List[np.ndarray], vis: torch.Tensor, P: Dict[str, np.ndarray],
                       obstacle_p: np.ndarray = None, reads: List = None) -> torch.Tensor:
        """What the decoder attends to: the scene tokens, then (with fusion) the experts' tokens
        (`P`: the scene heads' calibrated probabilities, `probs`; `obstacle_p` and `reads`, the
        obstacle expert's probabilities and each frame's candidate reads, when already made)."""
        fusion = self.model.fusion
        if fusion is None:
            return vis
        from .fusion import crossing_rows, obstacle_rows, signal_inputs
        reads = reads or [None] * len(bgr_list)
        rows = [signal_inputs(self.signal, np.ascontiguousarray(self._bgr(b)[..., ::-1]), fusion.c.signal_tokens, r)
                for b, r in zip(bgr_list, reads)]
        p = self.obstacle_probabilities(bgr_list) if obstacle_p is None else obstacle_p
        experts = fusion(torch.from_numpy(np.stack([r for r, _ in rows])), torch.from_numpy(np.stack([m for _, m in rows])),
                         torch.from_numpy(crossing_rows(P["crosswalk"], P["crosswalk_offset"], self.thr["crosswalk"])),
                         torch.from_numpy(obstacle_rows(p, self.obstacle[2])))
        return torch.cat([vis, experts], dim=1)

    @staticmethod
    def _bgr(bgr: np.ndarray) -> np.ndarray:
        if bgr.ndim == 2:
            import cv2
            return cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        return bgr

    @torch.no_grad()
    def run_batch(self, bgr_list: List[np.ndarray], captions=True, constrained=True):
        """Each frame's facts and (with `captions`) its captions in both languages and its English
        description; `constrained=False` lets the decoder write freely (to measure it alone)."""
        x = torch.from_numpy(np.stack([preprocess(b, self.size, self.mean, self.std) for b in bgr_list]))
        tokens, hl, vis = self.model.encode(x)
        P = self.probs(hl)
        facts = [self.facts_from_probs(P, i) for i in range(len(bgr_list))]
        # Each frame's lamp candidates are read once: for the light and for the decoder's fusion.
        reads = [None] * len(bgr_list)
        if self.signal is not None:
            reads = [self.signal.candidate_reads(np.ascontiguousarray(self._bgr(b)[..., ::-1])) for b in bgr_list]
            for f, bgr, r in zip(facts, bgr_list, reads):
                f["light"] = self.signal_light(bgr, r)
        obstacle_p = None
        if self.obstacle is not None:
            obstacle_p = self.obstacle_probabilities(bgr_list)
            for f, obstacles in zip(facts, self.expert_obstacles(bgr_list, obstacle_p)):
                f["obstacles"] = obstacles
        if captions:
            mem = self.decoder_memory(bgr_list, vis, P, obstacle_p, reads)
            for lang in ("en", "zh"):
                # Each caption says only sentences its own frame's facts back (caption_constraint.py).
                allowed = [allowed_sentences(f, lang, self.tok) for f in facts] if constrained else None
                seq = self.model.generate(mem, self.tok.lang_id[lang], self.tok.bos, self.tok.eos, allowed=allowed)
                for i, f in enumerate(facts):
                    f.setdefault("captions", {})[lang] = self.tok.decode(seq[i].tolist(), lang)
            for f in facts:
                f["description"] = still_description(f, f["captions"]["en"])
        return facts


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--run", default="training/runs/default")
    e.add_argument("--ckpt", default="best.pt")
    e.add_argument("--out", default="models/default")
    e.add_argument("--cache_root", default=None)
    m = sub.add_parser("merge-signal", help="put a trained signal expert (lttw.signal_train) into a model folder")
    m.add_argument("--run", default="training/runs/signal")
    m.add_argument("--ckpt", default="best.pt")
    m.add_argument("--model", default="models/default")
    cd = sub.add_parser("merge-countdown", help="put a trained countdown reader (lttw.countdown) into a model folder")
    cd.add_argument("--run", default="training/runs/countdown")
    cd.add_argument("--model", default="models/default")
    cd.add_argument("--ckpt", default="best.pt")
    v = sub.add_parser("merge-verifier", help="put a trained green verifier (lttw.green_verifier_train) into a model folder")
    v.add_argument("--run", default="training/runs/verifier")
    v.add_argument("--ckpt", default="best.pt")
    v.add_argument("--model", default="models/default")
    ob = sub.add_parser("merge-obstacle", help="put a trained obstacle expert (lttw.obstacle_expert_train) into a model folder")
    ob.add_argument("--run", default="training/runs/obstacle_expert")
    ob.add_argument("--ckpt", default="best.pt")
    ob.add_argument("--model", default="models/default")
    ob.add_argument("--recipe", default=None, help="how the run was trained, in a phrase the model card can quote")
    xs = sub.add_parser("extract-signal", help="write a model folder's signal reader as a signal_train run folder "
                                               "(best.pt, calibration.json), to mine with it or train it further")
    xs.add_argument("--model", default="models/default")
    xs.add_argument("--run", default="training/runs/signal_shipped")
    sw = sub.add_parser("swap-reader", help="replace a model folder's signal reader by a run's (its temperature; "
                                            "thresholds, verifier and countdown reader kept), to compare readers")
    sw.add_argument("--run", required=True)
    sw.add_argument("--ckpt", default="best.pt")
    sw.add_argument("--model", required=True)
    fu = sub.add_parser("merge-fusion", help="put a trained poly-expert fusion and its decoder (lttw.fusion_train) into a model folder")
    fu.add_argument("--run", default="training/runs/fusion")
    fu.add_argument("--ckpt", default="best.pt")
    fu.add_argument("--model", default="models/default")
    sc = sub.add_parser("merge-scene", help="put a fine-tuned scene model (lttw.crosswalk_real) into a model folder")
    sc.add_argument("--run", default="training/runs/crosswalk_real")
    sc.add_argument("--ckpt", default="best.pt")
    sc.add_argument("--model", default="models/default")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if a.cmd == "merge-signal":
        cfg = merge_signal(a.run, a.model, a.ckpt)
        print(json.dumps({k: cfg["signal_expert"][k] for k in ("temperature", "thresholds", "params")}, indent=1))
        return
    if a.cmd == "merge-countdown":
        cfg = merge_countdown(a.run, a.model, a.ckpt)
        cr = cfg["signal_expert"]["countdown_reader"]
        print(json.dumps({"threshold": cr["threshold"], "params": cr["params"], "validation": cr["calibration"]}, indent=1))
        return
    if a.cmd == "merge-verifier":
        cfg = merge_verifier(a.run, a.model, a.ckpt)
        print(json.dumps({"thresholds": cfg["signal_expert"]["thresholds"], "verifier_params": cfg["signal_expert"]["green_verifier"]["params"]}, indent=1))
        return
    if a.cmd == "merge-obstacle":
        cfg = merge_obstacle(a.run, a.model, a.ckpt, a.recipe)
        print(json.dumps({k: cfg["obstacle_expert"][k] for k in ("temperature", "threshold", "calibration", "params")}, indent=1))
        return
    if a.cmd == "extract-signal":
        cal = extract_signal(a.model, a.run)
        print(json.dumps({"run": a.run, "temperature": cal["temperature"], "thresholds": cal["thresholds"]}, indent=1))
        return
    if a.cmd == "swap-reader":
        cfg = swap_reader(a.run, a.model, a.ckpt)
        print(json.dumps({k: cfg["signal_expert"][k] for k in ("temperature", "thresholds", "params")}, indent=1))
        return
    if a.cmd == "merge-fusion":
        cfg = merge_fusion(a.run, a.model, a.ckpt)
        print(json.dumps({k: cfg["fusion"][k] for k in ("architecture", "params", "validation")}, indent=1))
        return
    if a.cmd == "merge-scene":
        cfg = merge_scene(a.run, a.model, a.ckpt)
        print(json.dumps({"temperatures": cfg["calibration"]["temperatures"], "thresholds": cfg["thresholds"]}, indent=1))
        return
    from .data import build_cache
    ck = torch.load(os.path.join(a.run, a.ckpt), map_location="cpu", weights_only=False)
    mc = ModelConfig(**ck["model_config"])
    model = StreetVLM(mc)
    model.load_state_dict(ck["model"])
    model.eval()
    cfg = ck["cfg"]
    val = build_cache(a.cache_root or cfg["cache_root"], "val", cfg["n_val"], mc.image_size, 1)
    temps, thr, stats = calibrate(model, val)
    tok = default_tokenizer()
    out = export(model, a.out, tok, temps, thr, stats,
                 extra={"training": {"run": a.run, "checkpoint": a.ckpt, "step": ck["step"], "seed": cfg["seed"],
                                     "n_train": cfg["n_train"], "command": "python -m lttw.train --config training/configs/cpu_default.json && python -m lttw.train --config training/configs/cpu_default.json --resume --set steps=4500"}})
    print(json.dumps({"temperatures": temps, "green_threshold": thr, "stats": stats, "params": out["params"]}, indent=1))
    print("round-trip OK:", a.out)


if __name__ == "__main__":
    main()

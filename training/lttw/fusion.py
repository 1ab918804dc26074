"""Poly-expert fusion, as in MouSi: what the signal and obstacle experts read, and the scene
heads' crossing, join the scene encoder's visual tokens, so the caption decoder attends to all
three experts and to the facts they decide.

Why: the decoder read only the scene encoder, while the facts' light and obstacles come from the
experts; its captions claimed crossings and obstacles the facts denied on a third of the generated
frames (models/default/NOTES.md, "Captions against the facts"). Each expert's output is projected
into the decoder's width, as the scene tokens are, and appended to them:

    signal: the `signal_tokens` candidates most likely a signal (1 - p[not a signal], highest
            first, the earlier candidate on ties), each [embedding (2·width), geometry (5),
            calibrated p (6)] -> Linear -> GELU -> Linear, + its rank's embedding; a rank with
            no candidate is the learned `signal_absent` token + the rank's embedding
    crossing: the scene heads' calibrated p(crosswalk) and its side's [left, ahead, right], then
            the facts decided from them: present (p >= thresholds.crosswalk) and the side's
            one-hot (zeros when absent) -> Linear -> GELU -> Linear, + its own embedding (one token)
    obstacles: each of the obstacle expert's 9 slots' calibrated probabilities [1 + kinds], then
            the slot's decided obstacle as a one-hot over the same classes ("empty" when the read
            rule, obstacle_expert.read, puts no obstacle there)
            -> Linear -> GELU -> Linear, + the slot's embedding
    memory = [scene tokens (26), signal tokens, crossing token, obstacle tokens]

The decided facts ride beside the probabilities because the decoder is taught to say what the
facts hold (DESIGN.md rule 5: a caption never contradicts them): given only the probabilities, it
had to learn the thresholds and the one-obstacle-per-(side, kind) rule itself, and missed them on
13 % of validation captions (models/default/NOTES.md). The experts and the scene encoder stay
frozen; `lttw.fusion_train` trains this module and the decoder on generated scenes. Swift's
`ExpertFusion` mirrors `ranked`, `crossing_rows`, `obstacle_rows` and `forward`.
"""
from dataclasses import asdict, dataclass
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PREFIX = "fusion."


@dataclass
class FusionConfig:
    dec_width: int = 128
    signal_tokens: int = 4
    # A candidate's row: the reader's embedding (2·width), its geometry (lamps.GEOMETRY) and its
    # calibrated class probabilities (signal_model.CLASSES).
    signal_features: int = 128 + 5 + 6  # the shipped reader: width 64, 5 geometry values, 6 classes
    crossing_features: int = 8  # p(crosswalk), the side's three probabilities, present, the side's one-hot
    obstacle_slots: int = 9
    obstacle_classes: int = 11

    def to_dict(self) -> Dict:
        return asdict(self)

    @property
    def tokens(self) -> int:
        return self.signal_tokens + 1 + self.obstacle_slots


class ExpertFusion(nn.Module):
    def __init__(self, c: FusionConfig):
        super().__init__()
        self.c = c
        d = c.dec_width
        self.signal_fc1 = nn.Linear(c.signal_features, d)
        self.signal_fc2 = nn.Linear(d, d)
        self.signal_rank = nn.Parameter(torch.randn(c.signal_tokens, d) * 0.02)
        self.signal_absent = nn.Parameter(torch.randn(d) * 0.02)
        self.crossing_fc1 = nn.Linear(c.crossing_features, d)
        self.crossing_fc2 = nn.Linear(d, d)
        self.crossing_place = nn.Parameter(torch.randn(d) * 0.02)
        self.obstacle_fc1 = nn.Linear(2 * c.obstacle_classes, d)
        self.obstacle_fc2 = nn.Linear(d, d)
        self.obstacle_slot = nn.Parameter(torch.randn(c.obstacle_slots, d) * 0.02)

    def forward(self, signal: torch.Tensor, present: torch.Tensor, crossing: torch.Tensor, obstacles: torch.Tensor) -> torch.Tensor:
        """signal [B, K, signal_features], present [B, K] (bool), crossing [B, crossing_features]
        (crossing_rows), obstacles [B, slots, 2 · classes] (obstacle_rows) -> the experts' tokens
        [B, K + 1 + slots, dec_width]."""
        s = self.signal_fc2(F.gelu(self.signal_fc1(signal)))
        s = torch.where(present[..., None], s, self.signal_absent.expand_as(s)) + self.signal_rank
        c = self.crossing_fc2(F.gelu(self.crossing_fc1(crossing))) + self.crossing_place
        o = self.obstacle_fc2(F.gelu(self.obstacle_fc1(obstacles))) + self.obstacle_slot
        return torch.cat([s, c[:, None], o], dim=1)


def ranked(p: np.ndarray, k: int) -> np.ndarray:
    """The indices of the `k` candidates most likely a signal (largest 1 - p[:, 0] first; the
    earlier candidate on ties), as Swift's ExpertFusion ranks them (float32 comparisons)."""
    signal = (np.float32(1) - np.asarray(p, np.float32)[:, 0]).astype(np.float32)
    order = sorted(range(len(signal)), key=lambda n: (-float(signal[n]), n))
    return np.asarray(order[:k], np.int64)


def signal_inputs(runner, rgb: np.ndarray, k: int, reads=None) -> Tuple[np.ndarray, np.ndarray]:
    """The signal expert's fusion rows of frame `rgb` (RGB uint8): [k, features] float32 and
    present [k] bool, from its candidates (`reads`: SignalExpertRunner.candidate_reads of the frame,
    made here when not given; no confirmation views, no verifier)."""
    if runner.model.c.wide_size is not None:
        raise ValueError("fusion reads the plain reader's embedding; this reader has a wide view")
    r = reads or runner.candidate_reads(rgb)
    return signal_rows(r.features, r.geometry, r.p, k)


def signal_rows(embeddings: np.ndarray, geometry: np.ndarray, p: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The fusion rows of a frame's candidates (their embeddings [N, 2·width], geometry [N, 5] and
    calibrated probabilities [N, classes]): the `k` most likely a signal, [k, features] float32,
    and present [k] bool (False past the last candidate, whose row stays zero)."""
    rows = np.zeros((k, embeddings.shape[1] + geometry.shape[1] + p.shape[1]), np.float32)
    present = np.zeros(k, bool)
    top = ranked(p, k)
    rows[:len(top)] = np.concatenate([embeddings, geometry, p], axis=1)[top]
    present[:len(top)] = True
    return rows, present


@torch.no_grad()
def obstacle_inputs(expert, temperature: float, x: torch.Tensor) -> np.ndarray:
    """The obstacle expert's calibrated slot probabilities [B, slots, classes] float32 for its
    preprocessed inputs x [B, 3, S, S]."""
    from .obstacle_expert import probabilities
    return probabilities(expert(x).numpy(), temperature).astype(np.float32)


def crossing_rows(crosswalk: np.ndarray, side: np.ndarray, threshold: float) -> np.ndarray:
    """The crossing token's input of each frame [B, 8] float32 from the scene heads' calibrated
    probabilities (artifact.Predictor.probs: crosswalk [B, 2], crosswalk_offset [B, 3]): p(crosswalk),
    its side's, then present (p >= threshold, as the facts decide) and the side's one-hot (the
    first most likely; zeros when absent)."""
    p = np.asarray(crosswalk, np.float32)[:, 1]
    side = np.asarray(side, np.float32)
    present = p >= np.float32(threshold)
    one_hot = np.zeros_like(side)
    one_hot[np.arange(len(side)), side.argmax(1)] = 1
    return np.concatenate([p[:, None], side, present[:, None].astype(np.float32), one_hot * present[:, None]], axis=1).astype(np.float32)


def decided_slots(p: np.ndarray, threshold: float, distances: int = 3) -> np.ndarray:
    """[slots] int: each slot's decided kind (1 + its index among the kinds) or 0, by
    obstacle_expert.read's rule on one frame's probabilities p [slots, 1 + kinds] (float32): the
    slot's most likely kind (first on ties) at >= threshold, and of the slots of one position with
    the same kind only the nearest (the first: slots run near, mid, far)."""
    p = np.asarray(p, np.float32)
    kinds = p[:, 1:].argmax(1)
    conf = p[np.arange(len(p)), 1 + kinds]
    # Compared in float64 with the threshold, as Swift's ObstacleExpert.detections decides the facts.
    held = conf.astype(np.float64) >= threshold
    out = np.zeros(len(p), np.int64)
    for s in range(len(p)):
        if not held[s]:
            continue
        rivals = [t for t in range(s // distances * distances, s) if kinds[t] == kinds[s] and held[t]]
        if not rivals:
            out[s] = 1 + kinds[s]
    return out


def obstacle_rows(p: np.ndarray, threshold: float, distances: int = 3) -> np.ndarray:
    """The obstacle tokens' input [B, slots, 2 · classes] float32 from the obstacle expert's
    calibrated probabilities p [B, slots, classes]: the probabilities, then the decided one-hot
    (decided_slots; "empty" where no obstacle is decided)."""
    p = np.asarray(p, np.float32)
    one_hot = np.zeros_like(p)
    for b in range(len(p)):
        one_hot[b, np.arange(p.shape[1]), decided_slots(p[b], threshold, distances)] = 1
    return np.concatenate([p, one_hot], axis=2)


def load_fusion(cfg: Dict, sd: Dict[str, torch.Tensor], path: str):
    """The config's fusion module with its weights (prefix `fusion.`), or None when the model
    folder has none (the decoder then attends to the scene tokens alone)."""
    fc = cfg.get("fusion")
    own = {k[len(PREFIX):]: v for k, v in sd.items() if k.startswith(PREFIX)}
    if fc is None:
        if own:
            raise ValueError(f"{path}/model.safetensors: fusion weights but no fusion in config.json")
        return None
    if cfg.get("signal_expert") is None or cfg.get("obstacle_expert") is None:
        raise ValueError(f"{path}/config.json: fusion needs both a signal expert and an obstacle expert")
    fusion = ExpertFusion(FusionConfig(**fc["architecture"]))
    missing, unexpected = fusion.load_state_dict(own, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}/model.safetensors: fusion missing {missing} unexpected {unexpected}")
    return fusion.eval()

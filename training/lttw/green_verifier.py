"""The green verifier: a second, stricter look before walk is said.

The signal reader reads every candidate at 32×32, and on generated frames with no lit lamp
(specks, unlit heads beside foliage, tiny crops) it can be as sure of green as it is of a real
walk lamp across the street, so its green threshold had to rise to 0.998 and most real walk
lamps fall short of it (NOTES). The verifier is a separate reader, trained for one question —
is this candidate a lit green signal? — mostly on the candidates the signal reader reads green,
and it looks at twice the resolution (64×64 of the same squares), where the figure, the housing
and the dark lamp of the other state are visible. Its mistakes are not the reader's, so the
frame is walk only when both agree: the reader's smallest green over its confirmation views
reaches `thresholds.green` (now a lower, fixed design value) and the verifier's smallest green
over the same views reaches `thresholds.verify` (calibrated as the reader's threshold was).

    crop [3, 64, 64] -> SignalReader (8×8 patches, CLS, max over patches; geometry) -> 2 classes

It reads only the candidate about to be announced and, for a red beside a green, the greens that
would overrule it: never on a frame the reader already calls red, none or unknown.

The shipped verifier reads its squares through MobileNetV2's first ImageNet layers instead
(`MobileNetVerifier`, since models/default/NOTES.md 2026-12-06 evening); the patch reader above
is the earlier shape, still loaded from config.json when no trunk is named.
"""
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import lamps
from .obstacle_expert import mobilenet_v2_channels, mobilenet_v2_features, mobilenet_v2_stride
from .signal_model import SignalConfig, SignalReader

CROP_SIZE = 64
CLASSES = ["not_green", "green"]
# The verifier's architecture: the reader's blocks on 8×8 patches of a 64×64 crop (64 tokens).
ARCHITECTURE = {"crop_size": CROP_SIZE, "patch_size": 8, "width": 64, "depth": 3, "heads": 2, "mlp_ratio": 4.0,
                "ln_eps": 1e-5, "head_hidden": 64}


# What a verifier's shape may set: ARCHITECTURE's keys, and a convolutional stem in place of the
# patch embedding (`signal_model.conv_stem`: one 3×3 stride-2 convolution per halving down to the
# patch grid, so the figure's shape is seen below the patch size at little cost).
SHAPE_KEYS = tuple(ARCHITECTURE) + ("stem", "stem_channels")


@dataclass
class MobileNetVerifierConfig:
    """A verifier on MobileNetV2's first `trunk_blocks` ImageNet layers (8 to 14 layers: stride 16,
    a 4×4 grid of a 64 px crop). Why: the patch-reader verifier learned walk lamps from renders and a few hundred
    real crops on 2 cores, and at the calibration's tail it is as sure of a green pharmacy cross as of
    many real walk lamps (NOTES); a trunk that has seen a million real photographs may tell a
    figure in a housing from a sign. Each grid cell keeps its place (the lamp is at the centre, the
    dark lamp of the other state above or below it):

        crop [3, 64, 64] -> MobileNetV2 layers 0..trunk_blocks-1          [C, 4, 4]
             -> per cell Linear(C -> token_features) -> GELU, flattened in grid order
             -> cat geometry -> Linear -> GELU -> Linear                     2 classes
    """
    crop_size: int = CROP_SIZE
    trunk: str = "mobilenet_v2"
    trunk_blocks: int = 14
    token_features: int = 24
    head_hidden: int = 64
    classes: List[str] = field(default_factory=lambda: list(CLASSES))

    @property
    def grid(self) -> int:
        return self.crop_size // mobilenet_v2_stride(self.trunk_blocks)

    def to_dict(self) -> Dict:
        return asdict(self)


class MobileNetVerifier(nn.Module):
    def __init__(self, c: MobileNetVerifierConfig):
        super().__init__()
        # The checks Swift's SignalExpertConfiguration.MobileNetArchitecture.validate makes.
        if c.trunk != "mobilenet_v2":
            raise ValueError(f"a MobileNetV2 verifier's trunk is mobilenet_v2, not {c.trunk!r}")
        if not 2 <= c.trunk_blocks <= 18:
            raise ValueError(f"a MobileNetV2 verifier keeps 2 to 18 of its feature layers, not trunk_blocks {c.trunk_blocks}")
        if c.crop_size != CROP_SIZE:
            raise ValueError(f"a MobileNetV2 verifier reads the verifier's {CROP_SIZE} px crops, not crop_size {c.crop_size}")
        if not 1 <= c.token_features <= 256:
            raise ValueError(f"token_features {c.token_features} outside 1…256")
        if list(c.classes) != CLASSES:
            raise ValueError(f"a green verifier's classes are {CLASSES} in that order, not {c.classes}")
        self.c = c
        self.trunk = mobilenet_v2_features(c.trunk_blocks)
        self.token_proj = nn.Linear(mobilenet_v2_channels(c.trunk_blocks), c.token_features)
        self.hidden = nn.Linear(c.grid * c.grid * c.token_features + len(lamps.GEOMETRY), c.head_hidden)
        self.out = nn.Linear(c.head_hidden, len(c.classes))

    def forward(self, x, geometry, from_block: int = 0):
        """`from_block` > 0: x is the output of the trunk's first `from_block` layers (held frozen
        and computed once by the trainer, `frozen_features`)."""
        t = self.trunk[from_block:](x.float()).flatten(2).transpose(1, 2)
        f = F.gelu(self.token_proj(t)).flatten(1)
        return self.out(F.gelu(self.hidden(torch.cat([f, geometry], 1))))

    def load_pretrained_trunk(self, path: str) -> int:
        """Starts the trunk from an ImageNet MobileNetV2 state dict (`features.N...` tensors)."""
        from .obstacle_expert import ObstacleConfig, ObstacleExpert
        donor = ObstacleExpert(ObstacleConfig(trunk="mobilenet_v2", trunk_blocks=self.c.trunk_blocks))
        n = donor.load_pretrained_trunk(path)
        self.trunk.load_state_dict(donor.trunk.state_dict())
        return n

    def exported_state(self) -> Dict[str, torch.Tensor]:
        """The tensors the product runs: batch norm's step counters left out (the Swift engine
        folds each batch norm into its convolution at load)."""
        return {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}

    @torch.no_grad()
    def frozen_features(self, crops: torch.Tensor, blocks: int) -> torch.Tensor:
        """The first `blocks` trunk layers (batch norm at its running statistics) over normalised
        crops -> float16. Leaves those layers in eval mode, as training keeps them."""
        return self.trunk[:blocks].eval()(crops.float()).half()


def new_verifier(architecture: Optional[Dict] = None) -> SignalReader:
    """A verifier of the shipped shape, or with some of its keys replaced (finer patches, a wider
    or deeper encoder, a convolutional stem: `green_verifier_train --patch/--width/--depth/--heads/
    --stem_channels`). Its crops stay CROP_SIZE square: the verifier's crop sets are sampled at that
    size."""
    arch = {**ARCHITECTURE, **(architecture or {})}
    if arch["crop_size"] != CROP_SIZE:
        raise ValueError(f"a green verifier reads {CROP_SIZE}×{CROP_SIZE} crops, not {arch['crop_size']}")
    return SignalReader(SignalConfig(**arch, classes=list(CLASSES)))


def verifier_shaped(config: Dict) -> nn.Module:
    """A new verifier in the shape `config` records (a run's checkpoint config, or config.json's
    architecture beside its classes): on MobileNetV2 layers when it names that trunk, else the
    patch reader (configs from before verifiers had a choice of shape record the shipped one).
    Classes other than CLASSES, in that order, are refused: the runtime reads output 1 as green."""
    if list(config.get("classes", CLASSES)) != CLASSES:
        raise ValueError(f"a green verifier's classes are {CLASSES} in that order, not {config['classes']}")
    if config.get("trunk") is not None:
        return MobileNetVerifier(MobileNetVerifierConfig(**{k: v for k, v in config.items() if k != "classes"}))
    return new_verifier({k: v for k, v in config.items() if k in SHAPE_KEYS})


def load_verifier(config: Dict, tensors: Dict[str, torch.Tensor], where: str) -> nn.Module:
    """The verifier `config` shapes with a model folder's `tensors` (its weights prefix taken off),
    in eval mode; a MobileNetV2 verifier's batch-norm step counters are not exported."""
    model = verifier_shaped(config)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{where}: green verifier missing {missing} unexpected {unexpected}")
    return model.eval()


def verifier_of(checkpoint: Dict) -> nn.Module:
    """The verifier a run's checkpoint holds, in the shape its "config" records (all of its
    tensors, strictly)."""
    model = verifier_shaped(checkpoint.get("config", {}))
    model.load_state_dict(checkpoint["model"])
    return model


def architecture_of(model: nn.Module) -> Dict:
    """A verifier's shape as config.json and calibration.json hold it (no classes)."""
    return {k: v for k, v in model.c.to_dict().items() if k != "classes"}


def verifier_rects(k: lamps.Candidate, W: int, H: int) -> List[Tuple[int, int, int, int]]:
    """The squares the verifier reads for candidate k: the reader's own crop, then its
    confirmation views, in lamps.confirmation_rects order."""
    return [lamps.crop_rect(k, W, H)] + lamps.confirmation_rects(k, W, H)


def verifier_crops(rgb: np.ndarray, k: lamps.Candidate, mean, std) -> np.ndarray:
    """float32 [views, 3, 64, 64]: candidate k through every verifier rect."""
    H, W = rgb.shape[:2]
    return np.stack([lamps.normalise_crop(lamps.sample_rect(rgb, r, CROP_SIZE), mean, std) for r in verifier_rects(k, W, H)])


class GreenVerifier:
    """Python reference of the runtime verifier: the smallest calibrated green probability of one
    candidate over its own square and every confirmation view (float64)."""

    def __init__(self, model: nn.Module, temperature: float, mean, std):
        self.model = model.eval()
        self.T = float(temperature)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    @torch.no_grad()
    def view_greens(self, rgb: np.ndarray, k: lamps.Candidate) -> np.ndarray:
        H, W = rgb.shape[:2]
        x = torch.from_numpy(verifier_crops(rgb, k, self.mean, self.std))
        g = torch.from_numpy(np.repeat(lamps.read_geometry([k], W, H), len(x), 0))
        return torch.softmax(self.model(x, g) / self.T, -1).numpy()[:, 1].astype(np.float64)

    def smallest_green(self, rgb: np.ndarray, k: lamps.Candidate) -> float:
        return float(np.min(self.view_greens(rgb, k)))


def smallest_over(verifier: GreenVerifier, rgb: np.ndarray, cands: Sequence[lamps.Candidate], indices) -> float:
    """The largest of the verifier's smallest greens over the candidates `indices` (0 when none)."""
    return max((verifier.smallest_green(rgb, cands[n]) for n in indices), default=0.0)

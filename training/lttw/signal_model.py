"""The signal expert: a small ViT reading each lamp candidate's crop, and the frame's light
decided from all candidates.

    crop [3, 32, 32] -> Encoder (the scene encoder's blocks: 8×8 patches, CLS, pre-norm blocks)
                     -> feature = concat(CLS, max over patches)   (the candidate embedding)
    [feature, geometry (lamps.geometry: centre, size, whole frame)]
                     -> Linear -> GELU -> Linear -> 6 classes (not a signal, pedestrian red/green,
                                                               vehicle red/yellow/green)

The frame decision (`decide`) is the product's safety logic, mirrored by Swift's
`SignalExpert.decide`; keep them identical:

  p = softmax(logits / T) per candidate; signal = 1 - p[not_signal]
  lit = candidates with signal >= thresholds.signal; none lit -> state "none"
  pedestrian candidates (p_ped_red + p_ped_green >= vehicle mass) are preferred; the chosen set
  is the lit pedestrian candidates, else all lit ones; the best is the one most likely a signal
  (first on ties); its state is the argmax of red (ped + veh red), yellow, green (ped + veh
  green), first on ties in that order.
  - best says green: needs green mass >= thresholds.green, and no candidate at all with a
    "stop" mass (pedestrian: its red; vehicle: red + yellow) >= thresholds.red_veto — a red
    lamp anywhere in view vetoes walk                 -> else "unknown"
    (thresholds.red_veto_side: only a stop lamp whose side (Candidate.side) is at least that
    fraction of the smallest green that could be the walk lamp (the best, a standby) vetoes: a
    red speck a third the walk lamp's size is a tail light, a sign or a far lamp of another
    street, not the stop state of the signal being read; 0 or absent: every size vetoes)
  - best says red / yellow: needs that mass >= thresholds.abstain, and no other chosen
    candidate confidently green (green mass >= thresholds.green): two signals saying stop and
    go is not something to guess on                  -> else "unknown"
  (A weak green next to a red never makes the frame green; a red next to a weak green is red:
  saying "wait" wrongly costs a cycle, saying "walk" wrongly can kill.)
  - with green confirmation, "candidates disagree" needs a green that holds in its views too
    (every view but thresholds.view_misses; `confirm_disagreement`); otherwise the red / yellow
    stands. Likewise the red veto needs a
    stop lamp whose stop mass holds (>= thresholds.red_veto) in its own read and in at least half
    of its views (`confirm_veto`); otherwise the green goes on to its own confirmation.
  - green confirmation (`confirm_green`, when the model lists `green_confirmation` views): the
    chosen candidate is read again through lamps.confirmation_rects (other context sizes, moved
    by a tenth); the frame is green only when the smallest green mass over the first read and
    every view is >= thresholds.green (confidence: that smallest mass; with
    thresholds.view_misses = m, the smallest once the m lowest reads are dropped: held_green)
    -> else the other chosen candidates that read green >= thresholds.green (`standby`), in
    candidate order, get the same test and the first that holds is the walk lamp
    (`confirm_standby`) -> else "unknown".
    One lucky crop of a distractor no longer sets the threshold; calibration uses the same
    smallest mass.
  - green verifier (when the model has one): the walk lamp must pass it too (`confirm_verified`);
    when it does not, the standbys after it that hold in their views are read by the verifier in
    turn and the first it passes is the walk lamp (`confirm_verified_standby`) -> else "unknown".
  position: the best candidate's box centre (lamps.position_of); kind: pedestrian if chosen from
  the pedestrian set.
  - no colour (`no_colour`): a frame decided "none" or green that shows no colour at all (lamps
    step 9: a grey or infrared camera) is "unknown": the proposer finds lamps by their colour, so
    it cannot see one there, and "no signal" would be a guess (DESIGN.md rule 3); a green read
    from a lamp's shape alone is no walk.
"""
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Dict, Iterable, List, NamedTuple, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import lamps
from .model import Encoder, ModelConfig

CLASSES = ["not_signal", "ped_red", "ped_green", "veh_red", "veh_yellow", "veh_green"]


@dataclass
class SignalConfig:
    crop_size: int = lamps.CROP_SIZE
    patch_size: int = 8
    width: int = 64
    depth: int = 3
    heads: int = 2
    mlp_ratio: float = 4.0
    ln_eps: float = 1e-5
    head_hidden: int = 64
    classes: List[str] = field(default_factory=lambda: list(CLASSES))
    # A convolutional stem in place of the patch embedding ("conv": 3×3 stride-2 convolutions
    # 3 -> stem_channels... -> width, one per halving down to the patch grid), or None.
    stem: Optional[str] = None
    stem_channels: Optional[List[int]] = None
    # A wide view beside the crop (lamps.wide_rect: `wide_context` times the crop's side, sampled
    # to wide_size² and cut into patch_size patches, tokens of their own), or None.
    wide_size: Optional[int] = None
    wide_context: Optional[int] = None

    def encoder_config(self) -> ModelConfig:
        return ModelConfig(image_size=self.crop_size, patch_size=self.patch_size, enc_width=self.width,
                           enc_depth=self.depth, enc_heads=self.heads, enc_mlp_ratio=self.mlp_ratio,
                           use_cls=True, ln_eps=self.ln_eps)

    def to_dict(self):
        """The config as config.json and checkpoints hold it; a reader without a stem writes no
        stem keys, so folders and checkpoints made before stems existed compare equal."""
        d = asdict(self)
        if self.stem is None:
            d.pop("stem")
            d.pop("stem_channels")
        if self.wide_size is None:
            d.pop("wide_size")
            d.pop("wide_context")
        return d


def conv_stem(patch_size: int, channels: List[int]) -> nn.Sequential:
    """3×3 convolutions, stride 2, padding 1, one per halving down to the patch grid, GELU between
    (obstacle_expert.conv_stem; Swift ConvolutionalStem)."""
    halvings = int(round(math.log2(patch_size))) if patch_size > 0 else 0
    if 2 ** halvings != patch_size:
        raise ValueError(f"a conv stem needs a power-of-two patch size, not {patch_size}")
    if len(channels) - 1 != halvings:
        raise ValueError(f"a conv stem for {patch_size}-pixel patches needs {halvings - 1} stem channel counts")
    layers: List[nn.Module] = []
    for i in range(len(channels) - 1):
        layers.append(nn.Conv2d(channels[i], channels[i + 1], 3, stride=2, padding=1))
        if i + 2 < len(channels):
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


class SignalReader(nn.Module):
    def __init__(self, c: SignalConfig):
        super().__init__()
        self.c = c
        if c.stem not in (None, "conv"):
            raise ValueError(f"unknown stem {c.stem!r} (known: conv)")
        if (c.wide_size is None) != (c.wide_context is None):
            raise ValueError("a wide view needs both wide_size and wide_context")
        if c.wide_size is not None and (c.wide_size % c.patch_size or c.wide_context < 2):
            raise ValueError(f"wide view {c.wide_size} px at context {c.wide_context}: the size must be a multiple of "
                             f"the {c.patch_size} px patch and the context at least 2")
        self.encoder = Encoder(c.encoder_config())
        parts = 2
        if c.wide_size is not None:
            # The wide view's tokens: their own patch embedding and places, read by the same blocks.
            self.wide_embed = nn.Conv2d(3, c.width, c.patch_size, c.patch_size)
            self.wide_pos = nn.Parameter(torch.randn(1, (c.wide_size // c.patch_size) ** 2, c.width) * 0.02)
            parts = 3
        self.fc1 = nn.Linear(parts * c.width + len(lamps.GEOMETRY), c.head_hidden)
        self.fc2 = nn.Linear(c.head_hidden, len(c.classes))
        # The stem is made last, so a seed gives the head the same weights with or without one
        # (the countdown fixture, Tests/Fixtures/countdown, is made from a seed).
        if c.stem == "conv":
            self.encoder.patch_embed = conv_stem(c.patch_size, [3] + list(c.stem_channels or []) + [c.width])

    def features(self, x, wide=None):
        """[B,3,S,S] (and the wide views [B,3,w,w]) -> the candidate embedding: the class token and
        the crop tokens' maxima [B, 2·width], then the wide tokens' maxima [B, 3·width]."""
        if self.c.wide_size is None:
            return self._pooled(self.encoder(x))
        if wide is None:
            raise ValueError("this reader reads a wide view beside each crop: pass wide")
        e = self.encoder
        t = e.patch_embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([e.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + e.pos_embed
        w = self.wide_embed(wide).flatten(2).transpose(1, 2) + self.wide_pos
        n = t.shape[1]
        t = torch.cat([t, w], dim=1)
        for b in e.blocks:
            t = b(t)
        t = e.norm(t)
        return torch.cat([self._pooled(t[:, :n]), t[:, n:].amax(1)], dim=-1)

    @staticmethod
    def _pooled(t):
        return torch.cat([t[:, 0], t[:, 1:].amax(1)], dim=-1)

    def head(self, features, geometry):
        return self.fc2(F.gelu(self.fc1(torch.cat([features, geometry], dim=-1))))

    def forward(self, x, geometry, wide=None):
        return self.head(self.features(x, wide), geometry)


def deepened(reader: SignalReader, depth: int) -> SignalReader:
    """`reader` with encoder blocks added after its last one, each starting as the identity (its
    attention's and MLP's output projections zero, so the residual stream passes unchanged): the
    deeper reader reads every crop exactly as `reader` does until training moves the new blocks.

    Why: to ask whether the reader lacks depth without losing its rounds of training on 2 cores.
    Measured (models/default/NOTES.md, 2026-12-03 morning): a fourth block gained nothing on
    held-out photos; the crops' labels, not the depth, held the reader back."""
    if depth < reader.c.depth:
        raise ValueError(f"a reader of depth {reader.c.depth} cannot be deepened to {depth}")
    grown = SignalReader(replace(reader.c, depth=depth))
    own = grown.state_dict()
    own.update(reader.state_dict())
    grown.load_state_dict(own)
    for block in grown.encoder.blocks[reader.c.depth:]:
        for linear in (block.attn.proj, block.mlp.fc2):
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)
    return grown


def widened(reader: SignalReader, wide_size: int, wide_context: int) -> SignalReader:
    """`reader` with a wide view added: every weight kept, the head's weights for the wide tokens'
    maxima zero, the wide view's patch embedding a copy of the crop's (the same kind of pixels,
    fewer of them a patch) and its places new. It does not read exactly as `reader` (the wide
    tokens take part in attention from the start), but near it, so a wide reader can start from
    the shipped reader's rounds of training instead of from random weights."""
    if reader.c.wide_size is not None or reader.c.stem is not None:
        raise ValueError("only a reader with a plain patch embedding and no wide view can be widened")
    grown = SignalReader(replace(reader.c, wide_size=wide_size, wide_context=wide_context))
    own = grown.state_dict()
    d = reader.c.width
    for k, v in reader.state_dict().items():
        if k != "fc1.weight":
            own[k] = v.clone()
    fc1 = torch.zeros_like(own["fc1.weight"])
    old = reader.state_dict()["fc1.weight"]
    fc1[:, :2 * d] = old[:, :2 * d]
    fc1[:, 3 * d:] = old[:, 2 * d:]
    own["fc1.weight"] = fc1
    own["wide_embed.weight"] = reader.encoder.patch_embed.weight.detach().clone()
    own["wide_embed.bias"] = reader.encoder.patch_embed.bias.detach().clone()
    grown.load_state_dict(own)
    return grown


def decide(p: np.ndarray, cands: List[lamps.Candidate], W: int, thr: Dict[str, float], set_aside: Iterable[int] = ()) -> Dict:
    """The frame's light from its candidates' calibrated class probabilities p [N, 6]. Candidates
    in `set_aside` (ones the green verifier called no lamp, SignalExpertRunner.decide_frame) take
    no part: never lit, never a stop lamp."""
    if len(cands) == 0:
        return {"state": "none", "confidence": 1.0, "candidate": None}
    p = np.asarray(p, np.float64)
    in_play = [n for n in range(len(cands)) if n not in set(set_aside)]
    if not np.isfinite(p[in_play]).all():
        # A read that is not a number passes no check and fails none the way it should: the
        # frame is unsure, whatever else it holds (never green, never "no signal").
        return {"state": "unknown", "why": "unsure", "confidence": 0.0, "candidate": None}
    signal = 1.0 - p[:, 0]
    ped = p[:, 1] + p[:, 2]
    veh = p[:, 3] + p[:, 4] + p[:, 5]
    red = p[:, 1] + p[:, 3]
    yellow = p[:, 4]
    green = p[:, 2] + p[:, 5]
    lit = [n for n in in_play if signal[n] >= thr["signal"]]
    if not lit:
        return {"state": "none", "confidence": float(1.0 - max(signal[n] for n in in_play)) if in_play else 1.0, "candidate": None}
    pedestrian = [n for n in lit if ped[n] >= veh[n]]
    chosen = pedestrian or lit
    best = max(chosen, key=lambda n: (signal[n], -n))
    state = ("red", "yellow", "green")[int(np.argmax((red[best], yellow[best], green[best])))]
    out = {"kind": "pedestrian" if pedestrian else "vehicle", "position": lamps.position_of(cands[best], W),
           "candidate": best, "signal": float(signal[best])}
    mass = {"red": red[best], "yellow": yellow[best], "green": green[best]}[state]
    out["confidence"] = float(mass)
    if state == "green":
        if mass < thr["green"]:
            return {**out, "state": "unknown", "why": "green below threshold"}
        # Other chosen candidates that read green at the threshold too: when the best fails its
        # confirmation views, one of them may still be the walk lamp (`confirm_standby`).
        standby = [n for n in chosen if n != best and green[n] >= thr["green"]]
        if standby:
            out["standby"] = standby
        stop = p[:, 1] if pedestrian else red + yellow
        # Sizes are compared with the smallest lamp that could become the walk lamp (the best or a
        # standby), so a standby taking over never escapes a stop its own size would have met.
        floor = thr.get("red_veto_side", 0.0) * min(cands[n].side for n in [best] + standby)
        vetoers = [n for n in in_play if stop[n] >= thr["red_veto"] and cands[n].side >= floor]
        if vetoers:
            return {**out, "state": "unknown", "why": "a red lamp in view", "vetoers": vetoers}
        return {**out, "state": "green"}
    if mass < thr["abstain"]:
        return {**out, "state": "unknown", "why": "unsure"}
    greens = [n for n in chosen if n != best and green[n] >= thr["green"]]
    if greens:
        return {**out, "state": "unknown", "why": "candidates disagree", "decided": state, "greens": greens}
    return {**out, "state": state}


def held_green(reads, misses: int = 0) -> float:
    """The green a candidate holds over its reads (its own and its confirmation views): the
    (misses + 1)-th smallest, the `misses` lowest dropped. thresholds.view_misses reads may fall
    short of the green threshold and the green still holds: one view shifted onto the pole or the
    sky does not silence a walk lamp that every other read, and then the verifier, call green."""
    return float(np.sort(np.nan_to_num(np.asarray(reads, np.float64), nan=0.0))[misses])


# Why a frame whose strongest candidate reads green can be left unknown: the cases the verifier
# may settle by calling that candidate no lamp (`sets_aside`).
# What the second look may end at: the stop lamp behind a false green. Never walk (the standbys of
# the lamp set aside, greens at the threshold in the first decision, are read before it, by
# confirm_standby and confirm_verified_standby; any other green found only once a brighter one is
# gone is where calibration showed generated non-green frames slip through), never "no
# signal" (a missed red announced as an empty street could send the wearer across on their own
# judgement; "unknown" makes them wait).
NO_COLOUR = "no colour in the frame"


def no_colour(d: Dict, colourless: bool, colour_is_noise: bool) -> Dict:
    """The frame's decision d once its colour is known: "none" from a colourless frame
    (lamps.colourless) is "unknown", why NO_COLOUR. On the generated test split, "no signal in
    view" said on colourless frames was right 89 times of 171, and 44 of the others were red
    lights (62 % of the reds said to be no signal there). So is "none" from a frame whose colour
    is only sensor noise (lamps.colour_is_noise): 43 of the same split's 277 grey frames showed a
    lit light and were said to have none, their colour noise passing step 9. A green on a
    colourless frame is unknown too: read from a lamp's shape alone, with no colour to back it,
    it is not a walk (none on that split). A green where the colour only reads as noise stands:
    ten real photos of lit walk lamps (faded ones) are under that bound, and a walk there has
    passed every check of the walk path. Red and yellow are unchanged."""
    if not ((d["state"] == "none" and (colourless or colour_is_noise)) or (d["state"] == "green" and colourless)):
        return d
    return {**d, "state": "unknown", "why": NO_COLOUR, "confidence": 0.0}


SECOND_LOOK_STATES = ("red", "yellow")
GREEN_DOUBTS = ("green below threshold", "a red lamp in view", "green not confirmed by every view", "green not verified")


def sets_aside(d: Dict, thr: Dict[str, float]) -> bool:
    """Whether decision d (unknown because its strongest candidate reads green but does not pass)
    gets a second look: the verifier reads that candidate and, when its smallest green is below
    thresholds.set_aside (the verifier's even odds), the frame is decided again without it — a
    green-tinted sign, leaf or paint blob no longer hides the red lamp behind it. The second
    decision stands only when it is red or yellow (SECOND_LOOK_STATES); otherwise the doubt
    stands. Never on a model without thresholds.set_aside."""
    return "set_aside" in thr and d["state"] == "unknown" and d.get("why") in GREEN_DOUBTS and d.get("candidate") is not None


def confirm_disagreement(d: Dict, smallest_view_green: Iterable[float], thr: Dict[str, float]) -> Dict:
    """A red or yellow left "unknown" because other candidates read green (`d["greens"]`) stands
    after all when none of those greens holds in its confirmation views (`smallest_view_green`:
    each one's green held over its own read and its views, held_green): only a green the expert
    would announce disagrees with a stop."""
    if d.get("why") != "candidates disagree" or any(g >= thr["green"] for g in smallest_view_green):
        return d
    return {k: v for k, v in d.items() if k not in ("why", "decided", "greens")} | {"state": d["decided"]}


def confirm_veto(d: Dict, view_stops: Iterable[np.ndarray], thr: Dict[str, float]) -> Dict:
    """A green left "unknown" because other candidates read as a stop lamp (`d["vetoers"]`, each
    at >= thresholds.red_veto in its own read) goes on to its own confirmation after all when no
    such stop also holds in at least half of its confirmation views (`view_stops`: each vetoer's
    stop mass per view, float64). A tail light or a dim blob that looks red in one crop no longer
    silences a green; a red lamp that reads red from most sides still does. (Every view, as a
    green must, was too weak: a real red dipping in one view let a false green through.)"""
    # A view whose stop mass is not a number counts as holding the stop.
    if d.get("why") != "a red lamp in view" or any(2 * int(np.sum(~(np.asarray(s) < thr["red_veto"]))) >= len(s) for s in view_stops):
        return d
    return {k: v for k, v in d.items() if k not in ("why", "vetoers")} | {"state": "green"}


def confirm_green(d: Dict, view_green, thr: Dict[str, float]) -> Dict:
    """`decide`'s green, checked against the chosen candidate's green mass in the confirmation
    views (float64: one per view, or already their smallest); other decisions pass unchanged."""
    if d["state"] != "green":
        return d
    mass = float(min(d["confidence"], float(np.min(np.nan_to_num(np.asarray(view_green, np.float64), nan=0.0)))))
    out = {**d, "confidence": mass}
    if not mass >= thr["green"]:
        return {**out, "state": "unknown", "why": "green not confirmed by every view"}
    return out


def confirm_standby(d: Dict, standby_greens: Iterable, cands: List[lamps.Candidate], W: int, thr: Dict[str, float]) -> Dict:
    """A green whose strongest candidate was not confirmed by its views is walk after all when
    another chosen candidate that read green at the threshold (`d["standby"]`) holds in its views
    (`standby_greens`: (candidate, its green held over its own read and its views), in
    candidate order, read lazily; the first that holds wins). The red veto was already settled for
    the whole frame; the walk lamp is then that candidate (its position, its smallest mass). A sign
    or a bush that outshines the real lamp no longer silences it."""
    if d.get("why") != "green not confirmed by every view" or not d.get("standby"):
        return d
    for n, mass in standby_greens:
        if mass >= thr["green"]:
            out = {k: v for k, v in d.items() if k != "why"}
            return {**out, "state": "green", "candidate": n, "position": lamps.position_of(cands[n], W), "confidence": float(mass)}
    return d


def standby_after(d: Dict) -> List[int]:
    """The standby candidates still to be tried once the verifier turned down decision d's walk
    lamp: every standby when that lamp was the strongest candidate, else those after it (the
    ones before it already failed their views)."""
    standby = list(d.get("standby", []))
    n = d.get("candidate")
    return standby[standby.index(n) + 1:] if n in standby else standby


def confirm_verified_standby(d: Dict, standby_checks: Iterable, cands: List[lamps.Candidate], W: int, thr: Dict[str, float]) -> Dict:
    """A green the verifier turned down ("green not verified") is walk after all when a later
    standby candidate (`standby_after`) holds in its views and the verifier passes it:
    `standby_checks` gives (candidate, its held green, its verifier green — None where the held
    green is under the threshold, so the verifier is read only for a lamp that holds), in
    candidate order, read lazily; the first that passes both is the walk lamp. A larger crop of the
    same lamp (a close-up's whole frame, a blob's wider square) can win the strongest-candidate
    place by a hair and fail the verifier while the lamp's own blob passes every read (ptl_0082 and
    ptl_0137 of the real train split); every check a walk lamp must pass is still passed, by the
    lamp that is announced."""
    if d.get("why") != "green not verified":
        return d
    after = standby_after(d)
    for n, mass, verified in standby_checks:
        if n in after and mass >= thr["green"] and verified is not None and verified >= thr["verify"]:
            out = {k: v for k, v in d.items() if k != "why"}
            return {**out, "state": "green", "candidate": n, "position": lamps.position_of(cands[n], W),
                    "confidence": float(mass), "verified": float(verified), "turned_down": d["candidate"]}
    return d


def confirm_verified(d: Dict, verifier_green: float, thr: Dict[str, float]) -> Dict:
    """A green that held in its views stands only when the green verifier (lttw.green_verifier)
    agrees: its smallest green over the candidate's square and views reaches thresholds.verify.
    Other decisions pass unchanged."""
    if d["state"] != "green":
        return d
    out = {**d, "verified": float(verifier_green)}
    if not verifier_green >= thr["verify"]:  # a verifier green that is not a number fails
        return {**out, "state": "unknown", "why": "green not verified"}
    return out


def wide_views(model: SignalReader, rgb: np.ndarray, rects, mean, std) -> Optional[torch.Tensor]:
    """The wide views around (crop rectangle, whole frame?) pairs [N, 3, w, w], or None for a
    reader without them."""
    c = model.c
    if c.wide_size is None:
        return None
    H, W = rgb.shape[:2]
    return torch.from_numpy(np.stack([
        lamps.normalise_crop(lamps.sample_rect(rgb, lamps.wide_rect(r, whole, W, H, c.wide_context), c.wide_size), mean, std)
        for r, whole in rects]))


class CandidateReads(NamedTuple):
    """One frame's candidates as the reader read them: what the decision and the experts' fusion
    (lttw.fusion) both use, read once."""
    cands: List[lamps.Candidate]
    features: np.ndarray    # [N, embedding] float32
    geometry: np.ndarray    # [N, len(lamps.GEOMETRY)] float32
    p: np.ndarray           # [N, classes] float32, calibrated


@torch.no_grad()
def candidate_reads(model: SignalReader, rgb: np.ndarray, cands, mean, std, temperature: float) -> CandidateReads:
    """A reader's embedding, geometry and calibrated class probabilities of each candidate's runtime crop (and wide view)."""
    H, W = rgb.shape[:2]
    x = torch.from_numpy(lamps.read_crops(rgb, cands, mean, std))
    g = torch.from_numpy(lamps.read_geometry(cands, W, H))
    wide = wide_views(model, rgb, [(lamps.crop_rect(k, W, H), k.whole) for k in cands], mean, std)
    f = model.features(x, wide)
    return CandidateReads(cands, f.numpy(), g.numpy(), torch.softmax(model.head(f, g) / temperature, -1).numpy())


def candidate_probabilities(model: SignalReader, rgb: np.ndarray, cands, mean, std, temperature: float) -> np.ndarray:
    """A reader's calibrated class probabilities of each candidate's runtime crop (and wide view) [N, classes]."""
    return candidate_reads(model, rgb, cands, mean, std, temperature).p


class SignalExpertRunner:
    """Python reference of the runtime signal expert: propose, crop, read, decide, confirm and,
    with a green verifier, verify."""

    def __init__(self, model: SignalReader, temperature: float, thresholds: Dict[str, float], mean, std,
                 confirmation: bool = False, verifier=None, countdown=None):
        self.model = model.eval()
        self.T = float(temperature)
        self.thr = dict(thresholds)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.confirmation = confirmation
        # lttw.green_verifier.GreenVerifier, or None: the reader alone decides green.
        self.verifier = verifier
        # lttw.countdown.CountdownReader, or None: no seconds are read.
        self.countdown = countdown
        # The checks Swift's SignalExpertConfiguration.validate makes of the two newest rules.
        misses = self.thr.get("view_misses", 0)
        if not (isinstance(misses, int) and 0 <= misses <= len(lamps.CONFIRMATION_VIEWS) // 2):
            raise ValueError(f"thresholds.view_misses {misses} is not between 0 and {len(lamps.CONFIRMATION_VIEWS) // 2} (half the views)")
        if "set_aside" in self.thr and not (verifier is not None and 0 < self.thr["set_aside"] <= self.thr.get("verify", 0)):
            raise ValueError(f"thresholds.set_aside {self.thr['set_aside']} needs a green verifier and must be above 0 and at most thresholds.verify")

    def held_green(self, rgb: np.ndarray, cands, p, n: int, thr: Dict[str, float]) -> float:
        """Candidate n's green held over its views (held_green), or 0 when the verifier (if any)
        rejects a green that holds there: a disagreeing green counts only when it would be announced."""
        mass = self.smallest_green(rgb, cands, p, n, thr.get("view_misses", 0))
        if self.verifier is not None and mass >= thr["green"] and self.verifier.smallest_green(rgb, cands[n]) < thr["verify"]:
            return 0.0
        return mass

    @torch.no_grad()
    def view_probabilities(self, rgb: np.ndarray, k: lamps.Candidate) -> np.ndarray:
        """Calibrated class probabilities of candidate k in each confirmation view [V, classes]."""
        H, W = rgb.shape[:2]
        rects = lamps.confirmation_rects(k, W, H)
        x = np.stack([lamps.normalise_crop(lamps.sample_rect(rgb, r), self.mean, self.std) for r in rects])
        g = np.repeat(lamps.read_geometry([k], W, H), len(x), 0)
        wide = wide_views(self.model, rgb, [(r, k.whole) for r in rects], self.mean, self.std)
        return torch.softmax(self.model(torch.from_numpy(x), torch.from_numpy(g), wide) / self.T, -1).numpy()

    def class_probabilities(self, rgb: np.ndarray, cands) -> np.ndarray:
        """Calibrated class probabilities of each candidate's runtime crop [N, classes]."""
        return candidate_probabilities(self.model, rgb, cands, self.mean, self.std, self.T)

    def green_reads(self, rgb: np.ndarray, cands, p, n: int) -> np.ndarray:
        """Candidate n's green mass (pedestrian + vehicle, float64) in its own read (row n of p),
        then in each confirmation view [1 + V]."""
        q = np.concatenate([np.asarray(p[n:n + 1], np.float64), self.view_probabilities(rgb, cands[n]).astype(np.float64)])
        return q[:, 2] + q[:, 5]

    def smallest_green(self, rgb: np.ndarray, cands, p, n: int, misses: int = 0) -> float:
        """Candidate n's green held over its own read and its confirmation views: the smallest
        mass once the `misses` lowest reads are dropped (held_green)."""
        return held_green(self.green_reads(rgb, cands, p, n), misses)

    def standby_checks(self, rgb: np.ndarray, cands, p, standby: Iterable[int], thr: Dict[str, float]):
        """(candidate, held green, verifier green or None) for each of `standby`, lazily: the
        verifier reads a candidate only when it holds (confirm_verified_standby)."""
        for n in standby:
            mass = self.smallest_green(rgb, cands, p, n, thr.get("view_misses", 0))
            yield n, mass, (self.verifier.smallest_green(rgb, cands[n]) if mass >= thr["green"] else None)

    def view_stops(self, rgb: np.ndarray, cands, n: int, pedestrian: bool) -> np.ndarray:
        """Candidate n's stop mass (pedestrian: its red; vehicle: red + yellow, as the veto adds
        them) in each confirmation view [V], float64."""
        q = self.view_probabilities(rgb, cands[n]).astype(np.float64)
        return q[:, 1] if pedestrian else q[:, 1] + q[:, 3] + q[:, 4]

    def decide_frame(self, rgb: np.ndarray, cands, p, thr: Dict[str, float], set_aside=()) -> Dict:
        """The frame's decision. Figures (lamps.figures) can add a walk, never a doubt: the frame is
        decided without them (`decide_look`); when that is not green, it is decided once more with
        them, and only a green (confirmed and verified) from that replaces the first decision.

        Why: a green blob's figure holds a whole LED walk figure where the blob holds a sliver of
        it, so a walk lamp the blob alone leaves unsaid can pass; but a figure around a
        green-tinted sign or leaf reads greener than the blob and, below the threshold, turned
        "no signal" into "unknown" (19 of 1,031 unlit frames of a generated gate). Both decisions
        are calibrated at the same thresholds (no non-green validation frame walks in either), so
        neither walks a frame the calibration saw stop."""
        figures = tuple(n for n in lamps.figure_indices(cands) if n not in set_aside)
        d = self.decide_look(rgb, cands, p, thr, tuple(set_aside) + figures, look_again=not set_aside)
        # With no figure lit, the second decision has the first's lamps and at most more stop lamps,
        # so it cannot walk where the first did not: it is not taken (as in Swift, whose view reads
        # the fixtures record).
        lit = any(1.0 - float(np.float64(p[n, 0])) >= thr["signal"] for n in figures)
        if lit and d["state"] != "green":
            walk = self.confirmed(rgb, cands, p, thr, tuple(set_aside))
            if walk["state"] == "green":
                return {**walk, "figure_walk": True}
        return d

    def decide_look(self, rgb: np.ndarray, cands, p, thr: Dict[str, float], set_aside=(), look_again: bool = True) -> Dict:
        """decide, then (with confirmation) confirm_veto on the views of the stop lamps that veto
        a green, confirm_green on the chosen candidate's views, or confirm_disagreement on the
        views of the greens that disagree with a stop. Each candidate's views are read lazily, in
        candidate order, until one holds, as the Swift runtime does. With a verifier,
        thresholds.set_aside and `look_again`, a frame left unknown by a candidate that reads
        green but that the verifier calls no lamp is decided once more without it as well
        (`sets_aside`); that decision stands only when it is a stop (SECOND_LOOK_STATES)."""
        d = self.confirmed(rgb, cands, p, thr, set_aside)
        if look_again and self.verifier is not None and sets_aside(d, thr):
            n = d["candidate"]
            green = d["verified"] if "verified" in d else self.verifier.smallest_green(rgb, cands[n])
            # Only a stop can stand, and of the decisions that are not one yet only a disagreement
            # can become one (its greens turned down): a green is never confirmed for nothing.
            second = decide(p, cands, rgb.shape[1], thr, tuple(set_aside) + (n,)) if green < thr["set_aside"] else None
            if second is not None and (second["state"] in SECOND_LOOK_STATES or second.get("why") == "candidates disagree"):
                second = self.confirm(rgb, cands, p, thr, second)
                if second["state"] in SECOND_LOOK_STATES:
                    return {**second, "set_aside": n, "set_aside_verified": float(green)}
        return d

    def confirmed(self, rgb: np.ndarray, cands, p, thr: Dict[str, float], set_aside=()) -> Dict:
        """decide_frame's decision and confirmations, without its second look."""
        return self.confirm(rgb, cands, p, thr, decide(p, cands, rgb.shape[1], thr, set_aside))

    def confirm(self, rgb: np.ndarray, cands, p, thr: Dict[str, float], d: Dict) -> Dict:
        """decide's decision d after the veto's, the green's and the disagreement's views and the verifier."""
        if self.confirmation and d.get("why") == "a red lamp in view":
            ped = d["kind"] == "pedestrian"
            d = confirm_veto(d, (self.view_stops(rgb, cands, n, ped) for n in d["vetoers"]), thr)
        if self.confirmation and d["state"] == "green":
            misses = thr.get("view_misses", 0)
            d = confirm_green(d, self.smallest_green(rgb, cands, p, d["candidate"], misses), thr)
            d = confirm_standby(d, ((n, self.smallest_green(rgb, cands, p, n, misses)) for n in d.get("standby", [])),
                                cands, rgb.shape[1], thr)
            if self.verifier is not None:
                d = confirm_verified(d, self.verifier.smallest_green(rgb, cands[d["candidate"]]) if d["state"] == "green" else 0.0, thr)
                d = confirm_verified_standby(d, self.standby_checks(rgb, cands, p, standby_after(d), thr), cands, rgb.shape[1], thr)
        elif self.confirmation and d.get("why") == "candidates disagree":
            d = confirm_disagreement(d, (self.held_green(rgb, cands, p, n, thr) for n in d["greens"]), thr)
        return d

    def candidate_reads(self, rgb: np.ndarray) -> CandidateReads:
        """The frame's lamp candidates and the reader's reads of them (none: empty arrays)."""
        cands = lamps.propose(rgb)
        if not cands:
            width = (3 if self.model.c.wide_size is not None else 2) * self.model.c.width
            return CandidateReads(cands, np.zeros((0, width), np.float32), np.zeros((0, len(lamps.GEOMETRY)), np.float32),
                                  np.zeros((0, len(CLASSES)), np.float32))
        return candidate_reads(self.model, rgb, cands, self.mean, self.std, self.T)

    def probabilities(self, rgb: np.ndarray):
        r = self.candidate_reads(rgb)
        return r.cands, r.p

    def read(self, rgb: np.ndarray, reads: Optional[CandidateReads] = None) -> Dict:
        """The frame's light; `reads`: its candidate_reads when already made (the fusion reads them too)."""
        cands, p = self.probabilities(rgb) if reads is None else (reads.cands, reads.p)
        d = no_colour(self.decide_frame(rgb, cands, p, self.thr), lamps.colourless(rgb), lamps.colour_is_noise(rgb))
        d["candidates"] = len(cands)
        if d.get("candidate") is not None:
            k = cands[d["candidate"]]
            d["box"] = [k.x0, k.y0, k.x1, k.y1]
            # The seconds are read only beside a lamp that is announced (red or green), once.
            if self.countdown is not None and d["state"] in ("red", "green"):
                seconds, p_read = self.countdown.seconds(rgb, k)
                d["countdown_p"] = p_read
                if seconds is not None:
                    d["seconds_left"] = seconds
        return d

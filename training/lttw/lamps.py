"""Lamp candidates: where a lit signal lamp may be, found on the full frame at native resolution,
and the fixed-size crops the signal expert reads.

A pedestrian signal across the street is a few pixels in the scene expert's 160 px input, so the
signal expert looks at the frame itself: coloured, bright, compact blobs are proposed here and
each is read, with its surroundings (housing, the other lamp, the figure, countdown digits), by a
small patch encoder (`lttw.signal_model`).

Bit-exact contract with Sources/CVBridge/Lamps.cpp — integer arithmetic only, so Python and the
Swift runtime propose the same boxes and read the same crop values:

1. Proposal image. f = ceil(max(W, H) / PROPOSAL_LONG_SIDE); the RGB frame is box-averaged by f
   (W1 = W // f, H1 = H // f, pixel = (sum of its f×f block + f²//2) // f², per channel; f = 1 is
   the frame itself). The second scale box-averages that image again by 2 (W2 = W1 // 2, ...), so
   neighbouring dots of an LED figure and a lamp's halo merge.
2. Lit pixels, per scale: mx = max(r,g,b), mn = min(r,g,b), c = mx - mn; a pixel is lit when
   mx >= MIN_BRIGHTNESS and 100·c >= MIN_SATURATION_PCT·mx. Its colour (hue in degrees, compared
   by cross-multiplication, ties resolved r, then g, then b as the maximum):
     mx == r:  d = 60·(g - b):  red if -30c <= d < 25c;  amber if d >= 25c
     mx == g:  d = 60·(b - r):  amber if d < -55c;  green if d >= -40c
     mx == b:  d = 60·(r - g):  green if d < -40c
   (red covers hue 330°–25°, amber 25°–65°, green/teal/cyan 80°–200°; other lit pixels are none).
3. Each colour's mask is dilated by a 3×3 square (outside the image counts as unlit) and split
   into 8-connected components. A component's box is its dilated extent; `lit` counts its
   undilated pixels of that colour and `chroma` sums their c.
4. A component is a candidate when lit >= MIN_LIT, 2·max(w,h) <= min(Ws,Hs) (not half the frame),
   max(w,h) <= 4·min(w,h), and 100·lit >= MIN_FILL_PCT·w·h. Score = chroma·256 // lit.
5. Boxes go to frame pixels (×f, ×2f at the second scale: x0·F, (x1+1)·F exclusive), are ordered
   by (score desc, scale, colour, y0, x0), and kept greedily unless one already kept overlaps them
   with 2·intersection > union (IoU above ½); at most MAX_BLOBS are kept.
6. Figures: each of the first FIGURE_FROM kept blobs (in that order) whose colour is green also
   gives the square of side FIGURE_GROWTH·max(w,h) on its centre, x0 = (x0 + x1 - side) // 2
   (the same for y; it may leave the frame), with colour and score of its blob and scale 3,
   unless its side is more than half the frame's shorter side or it overlaps a kept blob or an
   earlier figure with IoU above ½. They follow the blobs, in order.
7. Lamp figures: the green lit pixels of the proposal image (scale 1 only, class green in step 2)
   are gathered in square cells of side cell = max(2, CLUSTER_CELL_PCT·min(W1,H1) // 100), the
   last row and column of cells possibly partial; a cell is lit when it holds a green pixel. Each
   8-connected component of lit cells is one mass: n, its green pixels, their extent (x0, y0, x1,
   y1 exclusive, proposal pixels) and their chroma sum. A mass is kept when CLUSTER_MIN_PCT·min(W1,H1)
   <= 100·max(w,h) <= CLUSTER_MAX_PCT·min(W1,H1) and max(w,h) <= 4·min(w,h); the kept ones are
   ordered by (chroma_sum·256 // n desc, n desc, y0, x0) — two masses never share n, y0 and x0, so
   the order in which they were found never decides — and the first CLUSTER_MAX become candidates
   (a first mass left out below leaves no lamp figure; the next is not tried): in frame pixels
   X0 = x0·f, X1 = x1·f (the same for y), L = max(X1-X0, Y1-Y0), the square of side
   s = max(1, CLUSTER_SIDE_SIXTEENTHS·L // 16) with x0 = (X0 + X1 - s) // 2 (the same for y), so
   the usual crop (4·s) frames the mass at 5/4 of its size; colour green, score
   chroma_sum·256 // n, scale 3 (a figure), unless its crop would be enlarged to be read
   (4·s < CROP_SIZE) or it overlaps a kept blob or an earlier figure with IoU above ½. They
   follow the blob figures.
8. The whole frame is one more candidate (a close-up that is one signal head) when
   max(W,H) <= WHOLE_FRAME_MAX_SIDE, or a kept blob's longer side (not a figure's) is at least 1/8
   of the frame's shorter side (8·max(w,h) >= min(W,H)), or a component at either scale failed
   step 4 only for being more than half the frame (a lamp filling the frame: no blob of it is
   kept, and without this rule nothing of it would be read).

9. Colour seen (`frame_chroma`): the largest c of step 2 over the proposal image (scale 1). A
   frame whose largest c is at most COLOURLESS_CHROMA shows no colour at all (a grey or infrared
   camera, a grey photo; sensor noise and JPEG rounding leave a few units): no pixel can be lit in
   step 2, so the proposer is blind there and "no signal" would be a guess (the expert says
   "unknown" instead, `signal_model.no_colour`).
10. Colour beyond noise (`tile_chroma`): the proposal image (scale 1) box-averaged as in step 1
   by NOISE_TILE (min(NOISE_TILE, w, h) when smaller: whole tiles only, from the top-left), and
   the largest chroma of that tile image. A frame at or under NOISE_CHROMA shows
   colour only as sensor noise: a grey or infrared camera whose per-pixel colour noise defeats
   step 9 (its pixels reach chroma 128 where a tile's mean stays at 9 or under). Noise is independent
   pixel to pixel and cancels in a tile's mean; a street's colour (sky, cars, signs, a lamp's
   glow) fills whole tiles. "No signal" there is a guess as in step 9 (`signal_model.no_colour`).

Why figures: a walk figure drawn in LED dots, or pale in its middle, is found as a few small
blobs (a foot, the head, a dot cluster); the crop around one of them holds a sliver of the figure
and reads green weakly or not in every view, while the reader was taught crops of the whole head
(signal_data.box_candidates: a blob half the head's height). Twice the blob is about the figure.
Green blobs only: a red blob's figure (a red window's, in one generated validation scene) was read
as a walk lamp at 0.998, and a red figure adds nothing the red blob does not already stop for.

Why lamp figures: a real walk lamp in a close-up is big (a median longer side of half the frame's
shorter side on ../shared/train/real's pedestrian photos) and its LED figure is found as fragments,
each framed at 4× its own size: a sliver of the figure, or the whole frame. The green mass gathered
over cells of 3 % of the frame frames the lit figure whole, and the reader is shown it at 5/4 of its
size, the tight context at which it reads the labelled lamps (models/default/NOTES.md, 2026-12-02).
A mass whose crop the reader would see enlarged is left out: so tight a crop of a small green glow
(a sign at night, generated validation frame 4,517,108) is a green disc with nothing around it, and
it read as a walk lamp in every view.

Crop (`crop_rect`, `read_crop`): a blob's crop is the square of side max(4·max(w,h), 16) frame
pixels centred on its box (floor division); the whole-frame candidate's crop is the frame. It is
sampled to CROP_SIZE×CROP_SIZE by integer box averaging: output row i covers source rows
[y0 + i·h//S, y0 + (i+1)·h//S) (one row, the first, when that is empty), the same for columns;
pixels outside the frame count as black; value = float32(sum) / float32(count), then
(value / 255 - mean) / std in float32, CHW — `preprocess.normalize_small`'s arithmetic.
"""
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np

PROPOSAL_LONG_SIDE = 640
# Step 9. Set on the generated validation scenes (seeds 1,100,000+) and ../shared/train/real, never
# on evaluation sets: grey renders 232 of 316 at or under it, colour renders 17 of 2,184 (fog,
# rain, heavy JPEG: no colour left either), real photos the 11 grey ones of 952 (0) and none with
# colour (the least colourful has 12; faded vehicle lamp crops read red and green, 15 and 16).
COLOURLESS_CHROMA = 8
# Step 10. Set on 9,000 fresh renders (seeds 4,882,000–4,890,999) and ../shared/train/real, never on
# evaluation sets. Of the 348 grey renders that pass step 9 (their noise reaches chroma 9–128), 339
# are at or under 6 (222 of their 226 lit lights; at 5, 308 and 201); of all 1,051 grey the largest
# is 9. Of 7,949 colour renders 23 more are (21 with no signal, to be said unknown: 0.3 %). Of 952
# real photos 11 more are, every one a faded photo of a lit lamp (10 walk, 1 red), none without one.
NOISE_TILE = 16
NOISE_CHROMA = 6
MIN_BRIGHTNESS = 100
MIN_SATURATION_PCT = 35
MIN_LIT = 3
MIN_FILL_PCT = 12
MAX_BLOBS = 12
FIGURE_FROM = 4
FIGURE_GROWTH = 2
FIGURE_SCALE = 3  # Candidate.scale of a figure
WHOLE_FRAME_MAX_SIDE = 320
CLUSTER_CELL_PCT = 3
CLUSTER_MIN_PCT = 8
CLUSTER_MAX_PCT = 75
CLUSTER_MAX = 1
CLUSTER_SIDE_SIXTEENTHS = 5
# Step 8's last clause (a lamp filling the frame brings the whole frame) is in force: models record
# it, and one calibrated before it (no such key) is refused rather than read with candidates it
# never saw.
WHOLE_FRAME_FILLING = 1
CROP_SIZE = 32
CROP_CONTEXT = 4
CROP_MIN_SIDE = 16

COLOURS = ["none", "red", "amber", "green"]  # colour class ids 0..3


@dataclass(frozen=True)
class Candidate:
    """A place that may hold a lit lamp. Box in frame pixels, x1/y1 exclusive."""
    x0: int
    y0: int
    x1: int
    y1: int
    colour: int      # 1 red, 2 amber, 3 green; 0 for the whole frame
    score: int       # mean chroma × 256; -1 for the whole frame
    scale: int       # 1 or 2 (a blob), 3 (a figure: a green blob's, or the lamp figure); 0 for the whole frame
    whole: bool = False

    @property
    def w(self):
        return self.x1 - self.x0

    @property
    def h(self):
        return self.y1 - self.y0

    @property
    def is_figure(self) -> bool:
        """A figure (a green blob's, step 6, or the lamp figure, step 7; Swift's
        LampCandidate.isFigure): it can add a walk, never a doubt (signal_model.decide_frame)."""
        return self.scale == FIGURE_SCALE

    @property
    def side(self):
        """The lamp's size when lamps are compared (the red veto's sizes): the box's longer side in
        frame pixels (the frame's for the whole frame); for a figure, half its box: its blob's for
        a blob's figure, so that reading a walk lamp through its figure never lets a smaller red
        lamp escape the veto; for the lamp figure, 5/32 of the mass, smaller than its lamp: as the
        walk lamp, a red lamp beside it vetoes sooner (safe); the countdown square beside it
        (countdown.py) is too small (no countdown reader ships; mend before one does, NOTES.md)."""
        s = max(self.x1 - self.x0, self.y1 - self.y0)
        return s // FIGURE_GROWTH if self.is_figure else s

    def as_list(self):
        return [self.x0, self.y0, self.x1, self.y1, self.colour, self.score, self.scale, int(self.whole)]


def box_average(rgb: np.ndarray, f: int) -> np.ndarray:
    """(sum of each f×f block + f²//2) // f², dropping a partial last block (uint8 out)."""
    if f == 1:
        return rgb
    H, W = rgb.shape[0] // f, rgb.shape[1] // f
    s = rgb[:H * f, :W * f].astype(np.int64).reshape(H, f, W, f, 3).sum(axis=(1, 3))
    return ((s + (f * f) // 2) // (f * f)).astype(np.uint8)


def colour_classes(rgb: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per pixel colour class (0 none, 1 red, 2 amber, 3 green) and chroma c (int64)."""
    x = rgb.astype(np.int64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    c = mx - mn
    lit = (mx >= MIN_BRIGHTNESS) & (100 * c >= MIN_SATURATION_PCT * mx) & (c > 0)
    is_r = r == mx
    is_g = ~is_r & (g == mx)
    is_b = ~is_r & ~is_g
    cls = np.zeros(r.shape, np.uint8)
    d = 60 * (g - b)
    cls[lit & is_r & (d >= -30 * c) & (d < 25 * c)] = 1
    cls[lit & is_r & (d >= 25 * c)] = 2
    d = 60 * (b - r)
    cls[lit & is_g & (d < -55 * c)] = 2
    cls[lit & is_g & (d >= -40 * c)] = 3
    d = 60 * (r - g)
    cls[lit & is_b & (d < -40 * c)] = 3
    return cls, c


def proposal_image(rgb: np.ndarray) -> np.ndarray:
    """Step 1's proposal image (scale 1) of an RGB uint8 frame."""
    H, W = rgb.shape[:2]
    return box_average(rgb, -(-max(W, H) // PROPOSAL_LONG_SIDE))


def frame_chroma(rgb: np.ndarray) -> int:
    """Step 9: the largest chroma (max - min of a pixel's r, g, b) over the proposal image."""
    x = proposal_image(rgb).astype(np.int16)
    return int((x.max(axis=2) - x.min(axis=2)).max()) if x.size else 0


def colourless(rgb: np.ndarray) -> bool:
    """Step 9: the frame shows no colour, so no lamp of it can be proposed by its colour."""
    return frame_chroma(rgb) <= COLOURLESS_CHROMA


def tile_chroma(rgb: np.ndarray) -> int:
    """Step 10: the largest chroma of the proposal image box-averaged into tiles (step 1's
    averaging)."""
    x = proposal_image(rgb)
    side = min(NOISE_TILE, x.shape[0], x.shape[1])
    if side == 0:
        return 0
    t = box_average(x, side).astype(np.int16)
    return int((t.max(axis=2) - t.min(axis=2)).max())


def colour_is_noise(rgb: np.ndarray) -> bool:
    """Step 10: what colour the frame shows is sensor noise, so no lamp of it can be found either."""
    return tile_chroma(rgb) <= NOISE_CHROMA


def _dilate3(mask: np.ndarray) -> np.ndarray:
    p = np.pad(mask, 1)
    out = np.zeros_like(mask)
    H, W = mask.shape
    for dy in range(3):
        for dx in range(3):
            out |= p[dy:dy + H, dx:dx + W]
    return out


def _blobs(img: np.ndarray, scale: int, F: int) -> Tuple[List[Candidate], bool]:
    """The candidate blobs of one proposal scale, and whether a component failed only for being
    more than half the frame (a lamp filling a close-up: the whole frame is then read instead)."""
    Hs, Ws = img.shape[:2]
    cls, c = colour_classes(img)
    found = []
    filling = False
    for colour in (1, 2, 3):
        own = cls == colour
        if not own.any():
            continue
        dil = _dilate3(own.astype(np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(dil, connectivity=8, ltype=cv2.CV_32S)
        if n <= 1:
            continue
        lab = labels[own]
        lit = np.bincount(lab, minlength=n)
        chroma = np.bincount(lab, weights=c[own].astype(np.float64), minlength=n).astype(np.int64)
        for k in range(1, n):
            x, y, w, h = (int(v) for v in stats[k, :4])
            L = int(lit[k])
            if L < MIN_LIT or max(w, h) > 4 * min(w, h) or 100 * L < MIN_FILL_PCT * w * h:
                continue
            if 2 * max(w, h) > min(Ws, Hs):
                filling = True
                continue
            score = int(chroma[k]) * 256 // L
            found.append(Candidate(x * F, y * F, (x + w) * F, (y + h) * F, colour, score, scale))
    return found, filling


def _iou_over_half(a: Candidate, b: Candidate) -> bool:
    iw = min(a.x1, b.x1) - max(a.x0, b.x0)
    ih = min(a.y1, b.y1) - max(a.y0, b.y0)
    if iw <= 0 or ih <= 0:
        return False
    inter = iw * ih
    union = a.w * a.h + b.w * b.h - inter
    return 2 * inter > union


def propose(rgb: np.ndarray) -> List[Candidate]:
    """RGB uint8 H×W×3 frame -> candidates: blobs by rank, the green blobs' figures, the lamp
    figure, then the whole frame if it qualifies."""
    H, W = rgb.shape[:2]
    f = -(-max(W, H) // PROPOSAL_LONG_SIDE)
    s1 = proposal_image(rgb)
    s2 = box_average(s1, 2)
    found, filling = _blobs(s1, 1, f)
    if min(s2.shape[:2]) >= 4:
        more, filling2 = _blobs(s2, 2, 2 * f)
        found += more
        filling = filling or filling2
    found.sort(key=lambda k: (-k.score, k.scale, k.colour, k.y0, k.x0))
    kept: List[Candidate] = []
    for k in found:
        if len(kept) >= MAX_BLOBS:
            break
        if not any(_iou_over_half(k, o) for o in kept):
            kept.append(k)
    whole = (max(W, H) <= WHOLE_FRAME_MAX_SIDE or filling
             or any(8 * max(k.w, k.h) >= min(W, H) for k in kept))
    kept += figures(kept, W, H)
    kept += lamp_figures(s1, f, kept)
    if whole:
        kept.append(Candidate(0, 0, W, H, 0, -1, 0, True))
    return kept


def figures(blobs: List[Candidate], W: int, H: int) -> List[Candidate]:
    """The squares of FIGURE_GROWTH times the longer side of the green ones among the first
    FIGURE_FROM blobs, on their centres (step 6 of the contract)."""
    out: List[Candidate] = []
    for k in blobs[:FIGURE_FROM]:
        if k.colour != 3:
            continue
        side = FIGURE_GROWTH * k.side
        if 2 * side > min(W, H):
            continue
        x0, y0 = (k.x0 + k.x1 - side) // 2, (k.y0 + k.y1 - side) // 2
        f = Candidate(x0, y0, x0 + side, y0 + side, k.colour, k.score, FIGURE_SCALE)
        if not any(_iou_over_half(f, o) for o in blobs + out):
            out.append(f)
    return out


def green_masses(img: np.ndarray) -> List[Tuple[int, int, int, int, int, int]]:
    """Step 7's masses of one proposal image, kept and ordered: (n, x0, y0, x1, y1, chroma sum),
    proposal pixels, x1/y1 exclusive."""
    H1, W1 = img.shape[:2]
    if H1 == 0 or W1 == 0:
        return []
    cls, c = colour_classes(img)
    ys, xs = np.nonzero(cls == 3)
    if len(ys) == 0:
        return []
    cell = max(2, CLUSTER_CELL_PCT * min(W1, H1) // 100)
    gy, gx = -(-H1 // cell), -(-W1 // cell)
    lit = np.zeros((gy, gx), np.uint8)
    lit[ys // cell, xs // cell] = 1
    _, labels = cv2.connectedComponents(lit, connectivity=8, ltype=cv2.CV_32S)
    # Per mass, in one pass over the green pixels (not one pass per mass: foliage makes hundreds).
    of = labels[ys // cell, xs // cell]
    count = labels.max() + 1
    n = np.bincount(of, minlength=count)
    chroma = np.bincount(of, weights=c[ys, xs].astype(np.float64), minlength=count).astype(np.int64)
    x0, y0 = np.full(count, W1), np.full(count, H1)
    x1, y1 = np.zeros(count, np.int64), np.zeros(count, np.int64)
    np.minimum.at(x0, of, xs)
    np.minimum.at(y0, of, ys)
    np.maximum.at(x1, of, xs + 1)
    np.maximum.at(y1, of, ys + 1)
    masses = []
    for k in np.nonzero(n)[0]:
        w, h = int(x1[k] - x0[k]), int(y1[k] - y0[k])
        longer = max(w, h)
        if (100 * longer < CLUSTER_MIN_PCT * min(W1, H1) or 100 * longer > CLUSTER_MAX_PCT * min(W1, H1)
                or longer > 4 * min(w, h)):
            continue
        masses.append((int(n[k]), int(x0[k]), int(y0[k]), int(x1[k]), int(y1[k]), int(chroma[k])))
    masses.sort(key=lambda q: (-(q[5] * 256 // q[0]), -q[0], q[2], q[1]))
    return masses


def lamp_figures(img: np.ndarray, f: int, kept: List[Candidate]) -> List[Candidate]:
    """Step 7: the first CLUSTER_MAX green masses of the proposal image `img` (box-averaged by f)
    as figure candidates, each unless its crop is smaller than the reader's input or it overlaps
    `kept` or an earlier one with IoU above ½."""
    out: List[Candidate] = []
    for n, x0, y0, x1, y1, chroma in green_masses(img)[:CLUSTER_MAX]:
        X0, Y0, X1, Y1 = x0 * f, y0 * f, x1 * f, y1 * f
        s = max(1, CLUSTER_SIDE_SIXTEENTHS * max(X1 - X0, Y1 - Y0) // 16)
        cx0, cy0 = (X0 + X1 - s) // 2, (Y0 + Y1 - s) // 2
        k = Candidate(cx0, cy0, cx0 + s, cy0 + s, 3, chroma * 256 // n, FIGURE_SCALE)
        if CROP_CONTEXT * s >= CROP_SIZE and not any(_iou_over_half(k, o) for o in kept + out):
            out.append(k)
    return out


def figure_indices(cands: List[Candidate]) -> Tuple[int, ...]:
    """The indices of the figure candidates: the ones the decision sets aside first."""
    return tuple(n for n, k in enumerate(cands) if k.is_figure)


def crop_rect(k: Candidate, W: int, H: int, context: int = CROP_CONTEXT) -> Tuple[int, int, int, int]:
    """(x0, y0, w, h) in frame pixels of the region the crop reader sees for candidate k."""
    if k.whole:
        return 0, 0, W, H
    side = max(context * max(k.w, k.h), CROP_MIN_SIDE)
    return (k.x0 + k.x1 - side) // 2, (k.y0 + k.y1 - side) // 2, side, side


def sample_rect(rgb: np.ndarray, rect: Tuple[int, int, int, int], size: int = CROP_SIZE) -> np.ndarray:
    """Integer box averaging of a frame rectangle (may extend past the frame: black there) to
    size×size; float32 values 0..255 (the sums divided by the counts), HWC."""
    H, W = rgb.shape[:2]
    x0, y0, w, h = rect
    i = np.arange(size)
    ys, ye = y0 + i * h // size, y0 + (i + 1) * h // size
    ye = np.maximum(ye, ys + 1)
    xs, xe = x0 + i * w // size, x0 + (i + 1) * w // size
    xe = np.maximum(xe, xs + 1)
    # A summed-area table of the part of the frame under the rectangle only: outside the frame is
    # black, so each cell sums its part inside it. (One over the whole padded frame per crop made
    # building crop sets and calibrating 170 times slower, 32 ms a crop on a 640 px frame.)
    wy0, wy1 = min(max(int(ys.min()), 0), H), min(max(int(ye.max()), 0), H)
    wx0, wx1 = min(max(int(xs.min()), 0), W), min(max(int(xe.max()), 0), W)
    sat = np.zeros((wy1 - wy0 + 1, wx1 - wx0 + 1, 3), np.int64)
    sat[1:, 1:] = rgb[wy0:wy1, wx0:wx1].astype(np.int64).cumsum(0).cumsum(1)
    cys, cye = np.clip(ys, wy0, wy1) - wy0, np.clip(ye, wy0, wy1) - wy0
    cxs, cxe = np.clip(xs, wx0, wx1) - wx0, np.clip(xe, wx0, wx1) - wx0
    s = (sat[cye][:, cxe] - sat[cys][:, cxe] - sat[cye][:, cxs] + sat[cys][:, cxs])
    count = ((ye - ys)[:, None] * (xe - xs)[None, :]).astype(np.float32)
    return s.astype(np.float32) / count[..., None]


def normalise_crop(values: np.ndarray, mean, std) -> np.ndarray:
    """float32 HWC 0..255 -> float32 CHW, as preprocess.normalize_small does for uint8."""
    x = values.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def read_crops(rgb: np.ndarray, cands: List[Candidate], mean, std, size: int = CROP_SIZE) -> np.ndarray:
    """The crop reader's input for every candidate: float32 [N, 3, size, size]."""
    H, W = rgb.shape[:2]
    out = np.zeros((len(cands), 3, size, size), np.float32)
    for n, k in enumerate(cands):
        out[n] = normalise_crop(sample_rect(rgb, crop_rect(k, W, H), size), mean, std)
    return out


def wide_rect(rect: Tuple[int, int, int, int], whole: bool, W: int, H: int, context: int) -> Tuple[int, int, int, int]:
    """(x0, y0, w, h) of the wide view around a crop rectangle: the same centre, `context` times
    its sides (integers only); for the whole-frame candidate, the frame.

    Why: the 32 px crop shows the lamp and a little housing. What tells a walk lamp from a red
    coat, a tail light or a green shirt is around it: the pole, the person, the car
    (models/default/NOTES.md, 2026-12-03: the reader read its own real training distractors
    as lamps at 0.92-0.97)."""
    if whole:
        return 0, 0, W, H
    x0, y0, w, h = rect
    return x0 - (context - 1) * w // 2, y0 - (context - 1) * h // 2, context * w, context * h


# The green confirmation's views of one candidate (`confirmation_rects`), in this order. Swift
# refuses a model whose config.json lists other views.
CONFIRMATION_VIEWS = ["context 3", "context 5", "right 1/10", "left 1/10", "down 1/10", "up 1/10"]


def confirmation_rects(k: Candidate, W: int, H: int) -> List[Tuple[int, int, int, int]]:
    """The other ways the crop reader can look at candidate k before walk is said: the square at
    3 and 5 times the box's longer side instead of 4 (less and more housing and street), and the
    usual square moved by a tenth of its side right, left, down and up. A real walk lamp reads
    green in all of them; a green-looking patch of sign, foliage or paint rarely does. Every view
    lies inside the training crops' jitter (signal_data.jittered_rect: context 3-5.2, centre
    ±0.12 of the side; the whole frame trimmed by up to 8 % a side), so the reader knows them.

    Integers only (floor division, as crop_rect). The whole-frame candidate's views: the frame
    trimmed by W//16 and H//16 on every side, by half that, then on one side only (left, right,
    top, bottom)."""
    if k.whole:
        dx, dy = W // 16, H // 16
        return [(dx, dy, W - 2 * dx, H - 2 * dy), (dx // 2, dy // 2, W - 2 * (dx // 2), H - 2 * (dy // 2)),
                (dx, 0, W - dx, H), (0, 0, W - dx, H), (0, dy, W, H - dy), (0, 0, W, H - dy)]
    x0, y0, side, _ = crop_rect(k, W, H)
    s = side // 10
    return [crop_rect(k, W, H, 3), crop_rect(k, W, H, 5),
            (x0 + s, y0, side, side), (x0 - s, y0, side, side), (x0, y0 + s, side, side), (x0, y0 - s, side, side)]


GEOMETRY = ["centre_x", "centre_y", "width", "height", "whole_frame"]


def geometry(k: Candidate, W: int, H: int) -> np.ndarray:
    """Where the candidate sits and how big it is, as fractions of the frame (float32, one
    division of exact integers each, as Swift computes them): a lamp on a pole is high and
    small, a reflection on a wet road low; the crop alone cannot tell them apart."""
    f = np.float32
    return np.array([f(k.x0 + k.x1) / f(2 * W), f(k.y0 + k.y1) / f(2 * H), f(k.x1 - k.x0) / f(W),
                     f(k.y1 - k.y0) / f(H), f(1.0 if k.whole else 0.0)], np.float32)


def read_geometry(cands: List[Candidate], W: int, H: int) -> np.ndarray:
    return np.stack([geometry(k, W, H) for k in cands]) if cands else np.zeros((0, len(GEOMETRY)), np.float32)


def position_of(k: Candidate, W: int) -> str:
    """left / ahead / right from the box centre (the position labels' 0.36 / 0.64 cut-offs)."""
    if k.whole:
        return "ahead"
    centre2 = k.x0 + k.x1  # twice the centre
    if 100 * centre2 < 72 * W:
        return "left"
    if 100 * centre2 > 128 * W:
        return "right"
    return "ahead"

#!/usr/bin/env python3
"""Writes the reference lamp candidates and crops that Tests/ImagingTests compares CVBridge against.

training/lttw/lamps.py is the contract (integer arithmetic, so the Swift side must match it
exactly). Each input is a lossless PNG, so both sides read the same pixels; lamps.json records,
per image, `propose`'s candidates as lamps.Candidate.as_list() rows, each candidate's crop
rectangle and position, and names a raw little-endian float32 file holding every candidate's
crop ([N, 3, 32, 32], ImageNet statistics), read back from the PNG as the Swift tests read it.

Inputs: a few generated scenes with lit signals (street, close-up and tiny framings) and
synthetic frames for the corners of the contract: a 2000×1500 frame (proposal factor 4), a
641×37 strip (factor 2, odd sizes), a hue sweep with more blobs than the cap of 12, equal scores
and the brightness and saturation thresholds, tiny frames (the whole-frame rule, no second
scale), a lamp filling the frame, LED-dot walk figures (the lamp figure), shapes for the connected-component labelling a frame
with no lit colour, one whose colour is one pixel just above the colourless bound, one whose
colour is only per-channel noise, and one whose one tile's mean is just above the noise bound.
Each image's `frame_chroma` and `tile_chroma` (lamps steps 9 and 10) are recorded too.

Run from the repository root:  .venv/bin/python scripts/make_lamp_fixtures.py
"""
import json
import pathlib
import sys

import cv2
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

from lttw import lamps  # noqa: E402
from lttw.generator import generate  # noqa: E402
from lttw.preprocess import MEAN, STD  # noqa: E402

OUT = ROOT / "Tests" / "ImagingTests" / "Fixtures" / "lamps"

# Generated scenes with a lit signal, small enough as PNG: framing, state, size.
SEEDS = {
    10: "street, green, 387×387: two blobs, no whole frame",
    12: "tiny, green, 264×264: the whole frame only",
    58: "street, red, 235×313: scale-2 blobs first",
    35: "close-up, red, 293×220",
    57: "close-up, green, 325×244: a large blob brings the whole frame",
}


def hue_rgb(hue_degrees: float, saturation: float, value: int) -> tuple:
    """An RGB colour (uint8 values) from hue, saturation and value, through cv2's HSV."""
    hsv = np.array([[[round(hue_degrees / 2) % 180, round(255 * saturation), value]]], np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def large_frame() -> np.ndarray:
    """2000×1500 (f = 4): discs of each colour, an LED-dot figure, an elongated bar (refused by
    its aspect ratio), magenta (no colour class) and teal (green by the g-before-b tie rule)."""
    img = np.full((1500, 2000, 3), (18, 18, 24), np.uint8)
    cv2.circle(img, (300, 400), 40, (255, 40, 30), -1, cv2.LINE_AA)
    cv2.circle(img, (1500, 500), 30, (40, 230, 120), -1, cv2.LINE_AA)
    cv2.circle(img, (1000, 1200), 25, (255, 190, 20), -1, cv2.LINE_AA)
    cv2.circle(img, (620, 900), 22, (0, 200, 200), -1, cv2.LINE_AA)
    cv2.circle(img, (800, 300), 30, (200, 0, 200), -1, cv2.LINE_AA)
    for y in range(1000, 1120, 12):
        for x in range(1700, 1760, 12):
            cv2.circle(img, (x, y), 3, (60, 255, 140), -1)
    cv2.rectangle(img, (200, 1380), (1100, 1420), (230, 30, 30), -1)
    return img


def strip() -> np.ndarray:
    """641×37 (f = 2, odd width): squares of each colour at the edges and in the middle."""
    img = np.full((37, 641, 3), (30, 30, 30), np.uint8)
    img[0:8, 0:8] = (250, 60, 40)
    img[14:22, 300:310] = (250, 200, 0)
    img[29:37, 633:641] = (0, 240, 90)
    img[10:20, 500:504] = (240, 20, 60)
    return img


def hue_sweep() -> np.ndarray:
    """400×120: 8×8 squares, 5° of hue apart, at full value, at the brightness threshold and
    just under it, and at the saturation threshold: more blobs than the cap, many equal scores."""
    img = np.zeros((120, 400, 3), np.uint8)
    rows = [(1.0, 255), (1.0, 100), (1.0, 99), (0.35, 255)]
    for r, (saturation, value) in enumerate(rows):
        for i in range(36):
            x, y = 4 + 11 * i, 4 + 29 * r
            img[y:y + 8, x:x + 8] = hue_rgb(10 * i + 5 * (r % 2), saturation, value)
    return img


def small() -> np.ndarray:
    """20×30: a red square; the whole frame comes by size."""
    img = np.zeros((30, 20, 3), np.uint8)
    img[10:14, 8:12] = (255, 30, 30)
    return img


def tiny() -> np.ndarray:
    """9×7: the second scale (4×3) is too small to search."""
    img = np.zeros((7, 9, 3), np.uint8)
    img[2:5, 3:6] = (20, 250, 80)
    return img


def shapes() -> np.ndarray:
    """160×120: shapes for the labelling's corners: a U and a comb whose arms join only in their
    last row, a square spiral, 5×5 squares touching only diagonally once dilated, a dot in the
    corner of an L that shares its top-left corner and score, and squares at the frame's edges."""
    img = np.zeros((120, 160, 3), np.uint8)
    img[10:26, 10] = img[10:26, 20] = img[25, 10:21] = (240, 40, 40)
    green = (30, 230, 90)
    x0, y0, x1, y1 = 40, 10, 70, 40
    while x0 <= x1 and y0 <= y1:
        img[y0, x0:x1 + 1] = img[y0:y1 + 1, x1] = img[y1, x0:x1 + 1] = green
        img[y0 + 3:y1 + 1, x0] = green
        x0, y0, x1, y1 = x0 + 3, y0 + 3, x1 - 3, y1 - 3
    for k in range(3):
        img[10 + 7 * k:15 + 7 * k, 95 + 7 * k:100 + 7 * k] = (250, 200, 0)
    img[40:42, 10:12] = img[40:60, 28:30] = img[58:60, 10:30] = (250, 30, 30)
    for x in range(40, 64, 6):
        img[60:81, x] = (40, 250, 120)
    img[80, 40:59] = (40, 250, 120)
    img[0:3, 0:3] = (20, 200, 60)
    img[117:120, 157:160] = (240, 180, 10)
    img[60:63, 158:160] = (230, 50, 20)
    return img


def filling() -> np.ndarray:
    """400×340: a green lamp filling the frame (its disc is more than half the shorter side at
    both scales, so no blob of it is kept) and a small red one: the whole frame comes for it."""
    img = np.full((340, 400, 3), (20, 22, 26), np.uint8)
    cv2.circle(img, (200, 170), 120, (60, 235, 150), -1, cv2.LINE_AA)
    cv2.circle(img, (360, 40), 8, (250, 40, 30), -1, cv2.LINE_AA)
    return img


def led_figures() -> np.ndarray:
    """500×420: two LED walk figures of 2 px dots 6 px apart (no blob spans either; the lamp
    figure's 12 px cells gather each), the teal one more saturated than the green one, a noisy
    green wash over the bottom (a mass too large) and a red lamp: the lamp figure is the teal's."""
    rgb = np.full((420, 500, 3), (15, 15, 20), np.uint8)
    for y in range(60, 150, 6):
        for x in range(100, 150, 6):
            rgb[y:y + 2, x:x + 2] = (20, 250, 200)
    for y in range(200, 280, 5):
        for x in range(300, 350, 5):
            rgb[y:y + 2, x:x + 2] = (90, 200, 110)
    noise = np.random.default_rng(7).random((90, 500)) < 0.2
    rgb[330:420][noise] = (40, 180, 60)
    cv2.circle(rgb, (420, 60), 9, (250, 30, 20), -1)
    return rgb


def led_figure_large() -> np.ndarray:
    """1500×1100 (f = 3): an LED walk figure of 5 px dots 15 px apart over 240×330 px, gathered
    on the proposal image and scaled back by f."""
    rgb = np.full((1100, 1500, 3), (25, 20, 20), np.uint8)
    for y in range(400, 730, 15):
        for x in range(900, 1140, 15):
            rgb[y:y + 5, x:x + 5] = (30, 230, 210)
    return rgb


def lamp_figure_suppressed() -> np.ndarray:
    """480×400: LED dots around a solid green square of 5/16 of their extent at their centre: the
    square's blob overlaps the lamp figure by more than half, so no lamp figure is added."""
    rgb = np.full((400, 480, 3), (15, 15, 20), np.uint8)
    for y in range(100, 196, 6):
        for x in range(200, 296, 6):
            if not (224 <= x < 272 and 124 <= y < 172):
                rgb[y:y + 2, x:x + 2] = (30, 200, 120)
    rgb[133:163, 233:263] = (20, 250, 60)
    return rgb


def no_colour() -> np.ndarray:
    """400×300 of grays and a white disc: no lit colour, no candidate at all."""
    ramp = np.tile(np.linspace(0, 255, 400).astype(np.uint8)[None, :, None], (300, 1, 3))
    cv2.circle(ramp, (200, 150), 50, (255, 255, 255), -1)
    return np.ascontiguousarray(ramp)


def faint_tint() -> np.ndarray:
    """321×240 of grey noise whose one pixel, the last of the last row (past the 16-pixel groups),
    has chroma COLOURLESS_CHROMA + 1: the frame just shows colour (lamps step 9)."""
    rng = np.random.default_rng(7)
    grey = rng.integers(40, 220, (240, 321), dtype=np.uint8)
    rgb = np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    rgb[239, 320] = (120, 120 + lamps.COLOURLESS_CHROMA + 1, 120)
    return rgb


def colour_noise() -> np.ndarray:
    """331×251 of a grey street-like ramp with per-channel Gaussian noise (sigma 18), as a grey or
    infrared camera's: its pixels pass step 9 by far, its tile means stay at NOISE_CHROMA or under
    (lamps step 10)."""
    rng = np.random.default_rng(7)
    grey = np.tile(np.linspace(60, 200, 331, dtype=np.float32)[None, :, None], (251, 1, 3))
    rgb = np.clip(grey + rng.normal(0, 18, grey.shape), 0, 255).astype(np.uint8)
    assert lamps.frame_chroma(rgb) > lamps.COLOURLESS_CHROMA and lamps.colour_is_noise(rgb)
    return np.ascontiguousarray(rgb)


def tinted_tile() -> np.ndarray:
    """337×250 (21 whole tiles and a pixel across, 15 whole tiles and 10 rows down) of plain grey
    whose last whole tile has a mean chroma of NOISE_CHROMA + 1, and whose partial column and rows
    past the whole tiles are strongly coloured: those are not read by step 10, so the frame's tile
    chroma is just past the bound."""
    rgb = np.full((250, 337, 3), 120, np.uint8)
    rgb[224:240, 320:336, 1] += lamps.NOISE_CHROMA + 1
    rgb[:, 336] = (250, 40, 30)
    rgb[240:, :] = (40, 60, 240)
    assert lamps.tile_chroma(rgb) == lamps.NOISE_CHROMA + 1
    return rgb


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    frames = {f"scene_{seed}": np.ascontiguousarray(generate(seed).bgr[..., ::-1]) for seed in SEEDS}
    frames.update({
        "large_2000x1500": large_frame(),
        "strip_641x37": strip(),
        "hues_400x120": hue_sweep(),
        "small_20x30": small(),
        "tiny_9x7": tiny(),
        "shapes_160x120": shapes(),
        "no_colour_400x300": no_colour(),
        "faint_tint_321x240": faint_tint(),
        "colour_noise_331x251": colour_noise(),
        "tinted_tile_337x250": tinted_tile(),
        "filling_400x340": filling(),
        "led_figures_500x420": led_figures(),
        "led_figure_1500x1100": led_figure_large(),
        "lamp_figure_suppressed_480x400": lamp_figure_suppressed(),
    })
    images = []
    for name, rgb in frames.items():
        png = f"{name}.png"
        cv2.imwrite(str(OUT / png), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        decoded = cv2.cvtColor(cv2.imread(str(OUT / png), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert np.array_equal(decoded, rgb), name
        H, W = decoded.shape[:2]
        candidates = lamps.propose(decoded)
        crops = lamps.read_crops(decoded, candidates, MEAN, STD)
        crops_file = f"{name}_crops.f32"
        (OUT / crops_file).write_bytes(crops.astype("<f4").tobytes())
        images.append({
            "file": png,
            "width": W,
            "height": H,
            "candidates": [k.as_list() for k in candidates],
            "crop_rects": [list(lamps.crop_rect(k, W, H)) for k in candidates],
            "positions": [lamps.position_of(k, W) for k in candidates],
            "crops": crops_file,
            "frame_chroma": lamps.frame_chroma(decoded),
            "tile_chroma": lamps.tile_chroma(decoded),
        })
    manifest = {
        "generator": "scripts/make_lamp_fixtures.py",
        "candidate_fields": ["x0", "y0", "x1", "y1", "colour", "score", "scale", "whole"],
        "colours": lamps.COLOURS,
        "crop_size": lamps.CROP_SIZE,
        "mean": MEAN.tolist(),
        "std": STD.tolist(),
        "scenes": {f"scene_{seed}.png": about for seed, about in SEEDS.items()},
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "images": images,
    }
    (OUT / "lamps.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()

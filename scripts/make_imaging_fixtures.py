#!/usr/bin/env python3
"""Writes the reference outputs that Tests/ImagingTests compares CVBridge against.

The Swift side must resize and preprocess exactly as the training code does with the pinned
opencv-python-headless (same OpenCV 4.6 series as Debian's libopencv). This script renders a
deterministic test image and stores what cv2 and numpy make of it, as raw little-endian
bytes, so the Swift tests need no Python.

Run from the repository root:  .venv/bin/python scripts/make_imaging_fixtures.py
"""
import json
import pathlib
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "ImagingTests" / "Fixtures"
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def scene() -> np.ndarray:
    """A 123×97 BGR image with gradients, edges, a disc and noise: hard cases for resampling."""
    h, w = 97, 123
    rng = np.random.default_rng(20261123)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (x * 255 // (w - 1)).astype(np.uint8)
    img[..., 1] = (y * 255 // (h - 1)).astype(np.uint8)
    img[..., 2] = ((x + y) % 32 * 8).astype(np.uint8)
    cv2.rectangle(img, (10, 12), (50, 60), (0, 0, 255), -1)
    cv2.circle(img, (90, 40), 18, (40, 220, 60), -1)
    cv2.line(img, (0, 96), (122, 0), (255, 255, 255), 2)
    noise = rng.integers(-20, 21, size=img.shape)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def with_orientation(jpeg: bytes, orientation: int, byte_order: str) -> bytes:
    """The JPEG with an EXIF APP1 segment right after SOI holding only an orientation tag."""
    order = "<" if byte_order == "II" else ">"
    tiff = byte_order.encode() + struct.pack(order + "HI", 42, 8)
    tiff += struct.pack(order + "H", 1) + struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(order + "I", 0)
    payload = b"Exif\0\0" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def jpeg_references() -> dict:
    """What cv2.imread(IMREAD_COLOR) makes of the samples and of JPEGs that take other paths
    through the decoder (grey, CMYK, EXIF orientation): size and CRC-32 of the RGB pixels.
    The bridge decodes JPEGs through libjpeg itself; these pin it to OpenCV's output."""
    jpeg = (OUT / "scene.jpg").read_bytes()
    (OUT / "jpeg").mkdir(exist_ok=True)
    (OUT / "jpeg" / "gray.jpg").write_bytes(cv2.imencode(".jpg", cv2.cvtColor(scene(), cv2.COLOR_BGR2GRAY), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    Image.fromarray(cv2.cvtColor(scene(), cv2.COLOR_BGR2RGB)).convert("CMYK").save(OUT / "jpeg" / "cmyk.jpg", quality=90)
    for orientation, byte_order in [(3, "MM"), (6, "II"), (8, "II")]:
        (OUT / "jpeg" / f"orientation-{orientation}.jpg").write_bytes(with_orientation(jpeg, orientation, byte_order))
    root = OUT.parent.parent.parent
    files = sorted((root / "samples" / "images").glob("*.jpg")) + [OUT / "scene.jpg"] + sorted((OUT / "jpeg").glob("*.jpg"))
    references = {}
    for path in files:
        rgb = np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
        references[str(path.relative_to(root))] = {
            "width": rgb.shape[1], "height": rgb.shape[0], "crc32": zlib.crc32(rgb.tobytes())}
    return references


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT / "scene.png"), scene())
    cv2.imwrite(str(OUT / "scene.jpg"), scene(), [cv2.IMWRITE_JPEG_QUALITY, 90])

    rgb = cv2.cvtColor(cv2.imread(str(OUT / "scene.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    jpeg_rgb = cv2.cvtColor(cv2.imread(str(OUT / "scene.jpg"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    outputs = {
        "scene_png_decoded.rgb": rgb,
        "scene_jpg_decoded.rgb": jpeg_rgb,
        "scene_area_40x30.rgb": cv2.resize(rgb, (40, 30), interpolation=cv2.INTER_AREA),
        "scene_area_64x64.rgb": cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA),
        "scene_bilinear_50x61.rgb": cv2.resize(rgb, (50, 61), interpolation=cv2.INTER_LINEAR),
        "scene_area_up_200x150.rgb": cv2.resize(rgb, (200, 150), interpolation=cv2.INTER_AREA),
        "scene_gray.gray": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
    }
    small = cv2.resize(rgb, (32, 32), interpolation=cv2.INTER_AREA)
    x = small.astype(np.float32) / np.float32(255.0)
    x = (x - MEAN) / STD
    outputs["scene_preprocess_32.f32"] = np.ascontiguousarray(x.transpose(2, 0, 1)).astype("<f4")
    for name, array in outputs.items():
        (OUT / name).write_bytes(np.ascontiguousarray(array).tobytes())

    manifest = {
        "generator": "scripts/make_imaging_fixtures.py",
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "mean": MEAN.tolist(),
        "std": STD.tolist(),
        "files": {name: list(array.shape) for name, array in outputs.items()},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (OUT / "jpeg_decoded.json").write_text(json.dumps(jpeg_references(), indent=2) + "\n")


if __name__ == "__main__":
    main()

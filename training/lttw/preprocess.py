"""The one preprocessing function shared by training, evaluation, export and fixtures.

Bit-for-bit contract (reproduced in Swift through OpenCV 4.6 C++ / CVBridge):
    bgr   = cv2.imread(path, cv2.IMREAD_COLOR)          # or cv2.imdecode(buf, cv2.IMREAD_COLOR)
    rgb   = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    small = cv2.resize(rgb, (S, S), interpolation=cv2.INTER_AREA)   # squash, no letterbox
    x     = small.astype(np.float32) / np.float32(255.0)
    x     = (x - MEAN) / STD                              # float32, per channel, RGB order
    x     = x.transpose(2, 0, 1)                          # CHW; batch dim added by the caller
"""
import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DEFAULT_SIZE = 160


def resize_small(bgr_uint8: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """BGR uint8 HxWx3 -> RGB uint8 size x size x 3 (INTER_AREA squash). Cached by the trainer."""
    if bgr_uint8.ndim == 2:
        bgr_uint8 = cv2.cvtColor(bgr_uint8, cv2.COLOR_GRAY2BGR)
    rgb = cv2.cvtColor(bgr_uint8, cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def normalize_small(small_rgb_uint8: np.ndarray, mean=MEAN, std=STD) -> np.ndarray:
    """RGB uint8 (...,S,S,3) -> float32 (...,3,S,S). Elementwise, so batching gives identical bits."""
    x = small_rgb_uint8.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def preprocess(bgr_uint8: np.ndarray, size: int = DEFAULT_SIZE, mean=MEAN, std=STD) -> np.ndarray:
    """BGR uint8 image (as cv2.imread gives) -> float32[3, size, size]."""
    return normalize_small(resize_small(bgr_uint8, size), mean, std)


def load_bgr(path: str) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot decode image: {path}")
    return bgr

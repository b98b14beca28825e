"""Checks on screenshots of the editor: what the preview panel really shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np


def video_frame(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a video, BGR."""
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
    finally:
        cap.release()
    assert ok, f"cannot read frame {index} of {path}"
    return frame


def preview_region(screenshot: Path, probe: dict[str, Any], origin: tuple[float, float]) -> np.ndarray:
    """The part of the screenshot where the preview drew its frame (BGR)."""
    shot = cv2.imread(str(screenshot))
    assert shot is not None, f"cannot read {screenshot}"
    x, y = probe["preview"]["rect"][:2]
    place = probe["preview"]["placement"]
    left, top = round(origin[0] + x + place["x"]), round(origin[1] + y + place["y"])
    return shot[top : top + place["height"], left : left + place["width"]]


def changed_fraction(shown: np.ndarray, original: np.ndarray, threshold: int = 40) -> tuple[float, np.ndarray]:
    """Share of pixels where the preview differs from the original frame (resized like the preview
    resizes it), and the mask of those pixels."""
    h, w = shown.shape[:2]
    expected = cv2.resize(original, (w, h), interpolation=cv2.INTER_AREA)
    diff = np.abs(shown.astype(np.int16) - expected.astype(np.int16)).max(axis=2)
    changed = diff > threshold
    return float(changed.mean()), changed


def inside(mask: np.ndarray, box: list[float], scale: float, margin: float = 0.35) -> float:
    """Share of the changed pixels that fall in ``box`` (frame pixels, widened by ``margin``)."""
    x1, y1, x2, y2 = (v * scale for v in box)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0.0
    hit = (xs >= x1 - mx) & (xs <= x2 + mx) & (ys >= y1 - my) & (ys <= y2 + my)
    return float(hit.mean())

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


def face_change(
    shown: np.ndarray, original: np.ndarray, box: list[float], scale: float, margin: float = 0.3
) -> tuple[float, float]:
    """Mean absolute difference between the preview and the original frame (resized the way the
    preview resizes it) inside the face box, and outside the box widened by ``margin``."""
    h, w = shown.shape[:2]
    expected = cv2.resize(original, (w, h), interpolation=cv2.INTER_AREA)
    diff = np.abs(shown.astype(np.float32) - expected.astype(np.float32)).mean(axis=2)
    x1, y1, x2, y2 = (round(v * scale) for v in box)
    inside = float(diff[max(0, y1) : y2, max(0, x1) : x2].mean())
    mx, my = round((x2 - x1) * margin), round((y2 - y1) * margin)
    outside_mask = np.ones_like(diff, bool)
    outside_mask[max(0, y1 - my) : y2 + my, max(0, x1 - mx) : x2 + mx] = False
    return inside, float(diff[outside_mask].mean())

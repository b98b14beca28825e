"""Pure helpers for the frame sources and sinks: resizing, pacing, ffmpeg command lines.

Nothing here opens a file or a device, so all of it is testable without media.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_CONTAINERS = (".mp4", ".mkv", ".mov", ".m4v", ".avi")


# -- images -----------------------------------------------------------------
def fit_width(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` resized to ``width`` pixels wide keeping its aspect (0 or same width: unchanged)."""
    h, w = image.shape[:2]
    if width <= 0 or width == w:
        return image
    height = max(1, round(h * width / w))
    interpolation = cv2.INTER_AREA if width < w else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interpolation)


def fit_size(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to exactly ``size`` = (width, height) when it differs."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    interpolation = cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR
    return cv2.resize(image, tuple(size), interpolation=interpolation)


_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def orient(image: np.ndarray, rotation: int, flip_horizontal: bool) -> np.ndarray:
    """Rotate clockwise by 0/90/180/270 degrees, then mirror left-right when asked."""
    if rotation in _ROTATIONS:
        image = cv2.rotate(image, _ROTATIONS[rotation])
    if flip_horizontal:
        image = cv2.flip(image, 1)
    return image


def natural_key(name: str) -> list[object]:
    """Sort key that puts frame2 before frame10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, in natural name order."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: natural_key(p.name))


def median_soften(image: np.ndarray, percent: float, kernel: int = 5) -> np.ndarray:
    """Blend a median-blurred copy over ``image`` with opacity ``percent``/100."""
    if percent <= 0:
        return image
    blurred = cv2.medianBlur(image, kernel)
    return blend(image, blurred, percent / 100.0)


def degrade(image: np.ndarray, percent: float) -> np.ndarray:
    """Lose detail as DeepFaceLive does: shrink to (1 - percent / 100) of the size (4 pixels at least) and scale
    back up, bicubic both ways."""
    if percent <= 0:
        return image
    h, w = image.shape[:2]
    scale = 1.0 - min(percent, 100.0) / 100.0
    small = (max(4, int(w * scale)), max(4, int(h * scale)))
    down = cv2.resize(image, small, interpolation=cv2.INTER_CUBIC)
    return cv2.resize(down, (w, h), interpolation=cv2.INTER_CUBIC)


def blend(a: np.ndarray, b: np.ndarray, opacity: float) -> np.ndarray:
    """``a`` * (1 - opacity) + ``b`` * opacity, uint8."""
    opacity = float(np.clip(opacity, 0.0, 1.0))
    if opacity >= 1.0:
        return b
    return cv2.addWeighted(a, 1.0 - opacity, b, opacity, 0.0)


def side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b`` scaled to ``a``'s height, placed right of ``a``."""
    h = a.shape[0]
    if b.shape[0] != h:
        b = cv2.resize(b, (max(1, round(b.shape[1] * h / b.shape[0])), h), interpolation=cv2.INTER_AREA)
    return np.concatenate([a, b], axis=1)


def split_view(a: np.ndarray, b: np.ndarray, position: float, line: tuple[int, int, int] | None) -> np.ndarray:
    """``a`` left of a vertical cut at ``position`` (0..1 of the width), ``b`` right of it."""
    h, w = a.shape[:2]
    b = fit_size(b, (w, h))
    cut = round(float(np.clip(position, 0.0, 1.0)) * w)
    out: np.ndarray = b.copy()
    out[:, :cut] = a[:, :cut]
    if line is not None and 0 < cut < w:
        out[:, max(0, cut - 1) : cut + 1] = line
    return out


# -- pacing -----------------------------------------------------------------
class Pacer:
    """Maps wall-clock time to a media frame index for real-time playback.

    ``anchor`` ties frame ``index`` to time ``now``. ``plan`` says how long to
    wait before frame ``next_index`` is due, or which later frame is due now
    when playback is late. Being more than ``max_late`` seconds behind (a pause,
    a stall) re-anchors instead of skipping.
    """

    def __init__(self, fps: float, max_late: float = 1.0) -> None:
        self.fps = fps if fps > 0 else 30.0
        self.max_late = max_late
        self.index0 = 0
        self.time0: float | None = None

    def anchor(self, index: int, now: float) -> None:
        self.index0, self.time0 = index, now

    def jump(self, from_index: int, to_index: int) -> None:
        """Continue the timing at ``to_index`` where ``from_index`` was due (a loop back)."""
        if self.time0 is not None:
            self.time0 += (from_index - self.index0) / self.fps
            self.index0 = to_index

    def plan(self, next_index: int, now: float) -> tuple[float, int]:
        """(seconds to wait, index to show). Anchors on first use."""
        time0 = self.time0
        if time0 is None:
            self.anchor(next_index, now)
            time0 = now
        due = time0 + (next_index - self.index0) / self.fps
        if now <= due:
            return due - now, next_index
        if now - due > self.max_late:
            self.anchor(next_index, now)
            return 0.0, next_index
        target = self.index0 + math.floor((now - time0) * self.fps + 1e-9)
        return 0.0, max(next_index, target)


def gap_fill(last_index: int | None, index: int, limit: int) -> int:
    """How many copies of the previous frame to insert before ``index`` (0 when in order)."""
    if last_index is None or index <= last_index + 1:
        return 0
    return min(index - last_index - 1, limit)

"""Preview images from a node's outputs (no GUI): pure numpy/OpenCV, testable on its own.

A FRAME output shows as the frame; FACES show as boxes and landmarks drawn over
the frame they were found in, with the aligned and swapped crops in a strip at
the bottom; IMAGE and MASK outputs show as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..types import Face, Frame

BOX_COLOR = (60, 170, 255)  # BGR
KPS_COLOR = (80, 255, 80)
LANDMARK_COLOR = (255, 220, 90)


@dataclass
class Placement:
    """Where the frame landed inside the preview image (for tests and overlays)."""

    frame_index: int = -1
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0
    scale: float = 1.0
    faces: int = 0
    swapped: int = 0
    boxes: list[list[float]] = field(default_factory=list)
    kind: str = "empty"


def _is_faces(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(f, Face) for f in value)


def pick_output(outputs: dict[str, Any]) -> tuple[str, Any]:
    """The output worth showing: a frame first, then faces, then an image or a mask."""
    for name, value in outputs.items():
        if isinstance(value, Frame):
            return name, value
    for name, value in outputs.items():
        if _is_faces(value):
            return name, value
    for name, value in outputs.items():
        if isinstance(value, np.ndarray) and value.ndim in (2, 3):
            return name, value
    return "", None


def draw_faces(image: np.ndarray, faces: tuple[Face, ...], scale: float = 1.0) -> np.ndarray:
    """A copy of ``image`` with each face's box, keypoints and landmarks drawn (coordinates times ``scale``)."""
    out: np.ndarray = image.copy()
    thick = max(1, round(out.shape[1] / 400))
    for i, face in enumerate(faces):
        x1, y1, x2, y2 = (round(v * scale) for v in face.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), BOX_COLOR, thick, cv2.LINE_AA)
        label = f"{face.track_id if face.track_id else i} {face.score:.2f}"
        cv2.putText(out, label, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, BOX_COLOR, 1, cv2.LINE_AA)
        if face.landmarks is not None:
            for x, y in np.asarray(face.landmarks)[:, :2] * scale:
                cv2.circle(out, (int(x), int(y)), 1, LANDMARK_COLOR, -1)
        if face.kps is not None:
            for x, y in np.asarray(face.kps)[:, :2] * scale:
                cv2.circle(out, (int(x), int(y)), max(2, thick + 1), KPS_COLOR, -1, cv2.LINE_AA)
    return out


def _crops(faces: tuple[Face, ...]) -> list[np.ndarray]:
    crops = []
    for face in faces[:4]:
        if face.aligned is not None:
            crops.append(face.aligned.image)
        if face.swapped is not None:
            crops.append(face.swapped.image)
    return crops


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:  # a mask in [0, 1] or a grey image
        grey = image if image.dtype == np.uint8 else np.clip(image * 255.0, 0, 255).astype(np.uint8)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    if image.dtype != np.uint8:
        image = np.clip(image * 255.0 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
    return image[:, :, :3]


def compose(
    outputs: dict[str, Any] | None, frame: Frame | None, width: int, height: int
) -> tuple[np.ndarray, Placement]:
    """A ``height`` x ``width`` BGR uint8 preview of ``outputs`` and where its frame was placed.

    ``frame``: the frame the node worked on (used to draw faces over).
    """
    canvas = np.full((height, width, 3), 32, np.uint8)
    placement = Placement()
    if not outputs:
        return canvas, placement
    _, value = pick_output(outputs)
    crops: list[np.ndarray] = []
    faces: tuple[Face, ...] = ()
    if isinstance(value, Frame):
        base, placement.kind, placement.frame_index = value.image, "frame", value.index
    elif _is_faces(value):
        faces = value
        crops = _crops(faces)
        placement.kind = "faces"
        if frame is not None:
            base, placement.frame_index = frame.image, frame.index
        elif crops:
            base = np.zeros((height, width, 3), np.uint8)
        else:
            return canvas, placement
    elif isinstance(value, np.ndarray):
        base, placement.kind = _as_bgr(value), "image"
    else:
        return canvas, placement
    strip_h = min(height // 3, 128) if crops else 0
    area_h = height - strip_h
    h, w = base.shape[:2]
    scale = min(width / w, area_h / h)
    new_w, new_h = max(1, int(w * scale)), max(1, int(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    shown = cv2.resize(base, (new_w, new_h), interpolation=interp)
    if faces:
        shown = draw_faces(shown, faces, scale)
    x, y = (width - new_w) // 2, (area_h - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = shown
    placement.x, placement.y, placement.width, placement.height, placement.scale = x, y, new_w, new_h, scale
    placement.faces = len(faces)
    placement.swapped = sum(1 for f in faces if f.swapped is not None)
    placement.boxes = [[round(float(v), 1) for v in f.box] for f in faces]
    if crops:
        size = strip_h - 4
        for i, crop in enumerate(crops[: max(1, width // (size + 4))]):
            thumb = cv2.resize(_as_bgr(crop), (size, size), interpolation=cv2.INTER_AREA)
            cx = 2 + i * (size + 4)
            canvas[area_h + 2 : area_h + 2 + size, cx : cx + size] = thumb
    return canvas, placement


def to_texture(image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """BGR uint8 -> the flat RGBA float32 array in [0, 1] a dearpygui texture holds."""
    rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
    if out is None:
        out = np.empty(rgba.size, np.float32)
    np.multiply(rgba.reshape(-1), 1.0 / 255.0, out=out, casting="unsafe")
    return out

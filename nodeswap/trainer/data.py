"""Faces for training: a faceset read into memory at the model's resolution, with the masks and yaw that
training needs, all from the landmarks.

- face mask: the convex hull of the landmarks (masked training and the learned mask heads);
- eyes-and-mouth mask: the hulls of each eye and of the outer lips, grown by 1/32 of the side and blurred
  (eyes_mouth_prio);
- yaw: the faceset's head pose, or estimated from the eye and nose points (uniform yaw sampling).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from nodeswap.errors import UserError
from nodeswap.faceset import FaceRecord, load_faceset, read_image
from nodeswap.nodes.ops.align import hull_mask, kps_from_landmarks

log = logging.getLogger(__name__)

# FaceMesh contours: each eye's ring and the outer lips.
EYE_LEFT_468 = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_RIGHT_468 = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
LIPS_468 = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
REGIONS: dict[int, tuple[tuple[int, ...], ...]] = {
    468: (EYE_LEFT_468, EYE_RIGHT_468, LIPS_468),
    68: (tuple(range(36, 42)), tuple(range(42, 48)), tuple(range(48, 60))),
    106: (tuple(range(33, 43)), tuple(range(87, 97)), tuple(range(52, 72))),
}


@dataclass
class FaceData:
    """One faceset at one resolution: BGR images, face and eyes-mouth masks (uint8 0-255), yaw in degrees."""

    folder: str
    images: np.ndarray  # (N, res, res, 3) uint8
    masks: np.ndarray  # (N, res, res) uint8
    em_masks: np.ndarray  # (N, res, res) uint8
    yaws: np.ndarray  # (N,) float32

    def __len__(self) -> int:
        return len(self.images)


def eyes_mouth_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Eyes and mouth of a face (float32 HW in [0, 1]); all zero for a layout without known regions."""
    mask: np.ndarray = np.zeros((size, size), np.float32)
    points = np.asarray(landmarks, np.float64)
    for region in REGIONS.get(len(points), ()):
        mask = np.maximum(mask, hull_mask(points[list(region)], size))
    grow = max(1, size // 32)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    blurred: np.ndarray = cv2.GaussianBlur(mask, (0, 0), grow / 2.0)
    return blurred


def estimate_yaw(landmarks: np.ndarray) -> float:
    """A rough yaw in degrees from where the nose tip sits between the eyes (0 frontal; sign: towards the
    image's right). Only used to sort faces into yaw bins."""
    kps = kps_from_landmarks(landmarks)
    if kps is None:
        return 0.0
    eye_l, eye_r, nose = kps[0], kps[1], kps[2]
    axis = eye_r - eye_l
    span = float(np.linalg.norm(axis)) or 1.0
    offset = float(np.dot(nose - (eye_l + eye_r) / 2.0, axis / span)) / span
    return math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * offset))))


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    shrink = image.shape[0] > size
    fitted: np.ndarray = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return fitted


def load_faces(folder: str | Path, resolution: int, what: str = "faceset") -> FaceData:
    """Every face of a faceset folder at ``resolution``; UserError naming the folder when it has none."""
    records: list[FaceRecord] = load_faceset(folder)
    if not records:
        raise UserError(f"{what} {folder}: no faces")
    n = len(records)
    images = np.empty((n, resolution, resolution, 3), np.uint8)
    masks = np.empty((n, resolution, resolution), np.uint8)
    em_masks = np.empty((n, resolution, resolution), np.uint8)
    yaws = np.empty(n, np.float32)
    for i, record in enumerate(tqdm(records, desc=f"loading {Path(folder).name}", unit="face", leave=False)):
        images[i] = _fit(read_image(record), resolution)
        points = np.asarray(record.landmarks, np.float64) * (resolution / record.size)
        masks[i] = np.round(hull_mask(points, resolution) * 255)
        em_masks[i] = np.round(eyes_mouth_mask(points, resolution) * 255)
        yaws[i] = record.pose[0] if record.pose is not None else estimate_yaw(points)
    return FaceData(str(folder), images, masks, em_masks, yaws)


def join(parts: list[FaceData]) -> FaceData:
    """Several facesets as one (pretraining on src and dst pooled)."""
    if len(parts) == 1:
        return parts[0]
    return FaceData(
        " + ".join(p.folder for p in parts),
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.masks for p in parts]),
        np.concatenate([p.em_masks for p in parts]),
        np.concatenate([p.yaws for p in parts]),
    )


def yaw_bins(yaws: np.ndarray, count: int = 32) -> list[np.ndarray]:
    """The face indices in ``count`` equal yaw bins over the range present; empty bins dropped."""
    low, high = float(yaws.min()), float(yaws.max())
    if high - low < 1e-6:
        return [np.arange(len(yaws))]
    which = np.minimum(((yaws - low) / (high - low) * count).astype(np.int64), count - 1)
    return [found for b in range(count) if len(found := np.flatnonzero(which == b))]

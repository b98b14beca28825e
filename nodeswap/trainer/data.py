"""Faces for training: a faceset read into memory at the model's resolution, with the masks and yaw that
training needs, all from the landmarks.

- face mask: the faceset's XSeg mask, else the landmarks' hull with the brows pushed up (masks.py; masked
  training and the learned mask heads);
- eyes-and-mouth mask: the eyes and the inner mouth, as DeepFaceLab makes it (masks.py; eyes_mouth_prio);
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
from nodeswap.nodes.ops.align import kps_from_landmarks

from .masks import eyes_mouth_mask, face_mask

log = logging.getLogger(__name__)


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
        face = face_mask(points, resolution, record.xseg)
        masks[i] = np.round(face * 255)
        em_masks[i] = np.round(eyes_mouth_mask(points, resolution, face) * 255)
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


def yaw_bins(yaws: np.ndarray, count: int = 128, limit: float = 1.2) -> list[np.ndarray]:
    """The face indices in DeepFaceLab's uniform-yaw bins: ``count`` bins from -1.2 to 1.2 radians (the first
    and last also take what lies beyond), of the negated yaw as DeepFaceLab reads it; empty bins dropped."""
    edges = np.linspace(-limit, limit, count)
    which = np.clip(np.searchsorted(edges, -np.radians(yaws.astype(np.float64)), side="right") - 1, 0, count - 1)
    return [found for b in range(count) if len(found := np.flatnonzero(which == b))]

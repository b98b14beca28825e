"""Realism measures of a face swap, per frame, from 468 FaceMesh points (the judge's own call).

- mouth_ratio / eye_ratio: how open the mouth and the eyes are (the swap should follow the input's);
- shape_error: eyes, brows, nose and mouth of the output similarity-fitted onto the input's;
- edge_step: the colour step at the lower two thirds of the face oval (CIELAB);
- face_change: how much the face moves between two frames (flicker is output over input).

Pure numpy/OpenCV; the definitions follow the realism issue, so DeepFaceLive's output can be scored alike.
"""

from __future__ import annotations

import cv2
import numpy as np

from nodeswap.nodes.ops import morph
from nodeswap.nodes.ops.morph_shape import similarity_fit

SHAPE_POINTS = (
    33,
    133,
    159,
    145,
    362,
    263,
    386,
    374,
    70,
    105,
    107,
    336,
    334,
    300,
    1,
    4,
    98,
    327,
    61,
    291,
    13,
    14,
    0,
    17,
)
BAND = 0.06  # edge band width, share of the face width (234-454)


def mouth_ratio(points: np.ndarray) -> float:
    """Inner-lip gap (13-14) over mouth width (78-308)."""
    return _ratio(points, 13, 14, 78, 308)


def eye_ratio(points: np.ndarray) -> float:
    """Mean eye opening: lid gap (159-145, 386-374) over eye width (33-133, 362-263)."""
    return 0.5 * (_ratio(points, 159, 145, 33, 133) + _ratio(points, 386, 374, 362, 263))


def _ratio(points: np.ndarray, a: int, b: int, c: int, d: int) -> float:
    gap = float(np.linalg.norm(points[a, :2] - points[b, :2]))
    return gap / max(float(np.linalg.norm(points[c, :2] - points[d, :2])), 1e-6)


def shape_error(output: np.ndarray, reference: np.ndarray) -> float:
    """Mean residual of the output's feature points similarity-fitted onto the reference's, over the
    reference's inter-ocular distance (33-263)."""
    out, ref = (np.asarray(p[list(SHAPE_POINTS), :2], np.float64) for p in (output, reference))
    scale, rotation, shift = similarity_fit(out, ref)
    fitted = out @ (scale * rotation).T + shift
    eyes = float(np.linalg.norm(reference[33, :2] - reference[263, :2]))
    return float(np.linalg.norm(fitted - ref, axis=1).mean() / max(eyes, 1e-6))


def lab(image: np.ndarray) -> np.ndarray:
    """CIELAB float32 with L in 0..100 and a, b centred on 0."""
    out = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).astype(np.float32)
    out[..., 0] *= 100.0 / 255.0
    out[..., 1:] -= 128.0
    return out


def edge_bands(points: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Bool masks of a band just inside and just outside the face oval, lower two thirds only."""
    h, w = shape[:2]
    oval = points[list(morph.FACE_OVAL), :2].astype(np.float64)
    width = BAND * float(np.linalg.norm(points[234, :2] - points[454, :2]))
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(oval).astype(np.int32)], 1)
    k = max(1, round(width))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    inner = (face > 0) & (cv2.erode(face, kernel) == 0)
    outer = (cv2.dilate(face, kernel) > 0) & (face == 0)
    top, bottom = oval[:, 1].min(), oval[:, 1].max()
    lower = (np.arange(h) > top + (bottom - top) / 3)[:, None]
    return inner & lower, outer & lower


def edge_step(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3,) Lab mean of the band inside the oval minus the band outside it."""
    inner, outer = edge_bands(points, image.shape)
    if inner.sum() < 10 or outer.sum() < 10:
        return np.zeros(3)
    values = lab(image)
    step: np.ndarray = values[inner].mean(0) - values[outer].mean(0)
    return step


def face_change(first: np.ndarray, second: np.ndarray, points: np.ndarray) -> float:
    """Mean absolute difference inside the face oval (of ``points``) between two frames."""
    mask = np.zeros(first.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[list(morph.FACE_OVAL), :2]).astype(np.int32)], 1)
    if not mask.any():
        return 0.0
    diff = cv2.absdiff(first, second)
    return float(diff[mask > 0].mean())


def correlation(a: list[float], b: list[float]) -> float:
    """Pearson correlation, 0 when either series is constant or too short."""
    if len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])

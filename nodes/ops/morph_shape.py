"""Face shape transfer for the morph swap: the source's eyes, brows and nose geometry laid onto a target's
landmarks, keeping the target's pose, outline, mouth and blinks. Pure numpy/OpenCV on 468 FaceMesh points.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .morph import CHIN, FACE_OVAL, FOREHEAD_TOP, LEFT_EYE, OUTER_LIPS, RIGHT_EYE


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (scale, rotation, translation) taking ``src`` onto ``dst``, any dimension.

    Returns (scale, rotation (D, D), translation (D,)) with dst ~ scale * rotation @ src + translation.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    u, sing, vt = np.linalg.svd(d_c.T @ s_c / len(src))
    fix = np.ones(len(sing))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[-1] = -1.0  # a rotation, never a reflection
    rotation = u @ np.diag(fix) @ vt
    var = s_c.var(0).sum()
    scale = float((sing * fix).sum() / var) if var > 0 else 1.0
    return scale, rotation, mu_d - scale * rotation @ mu_s


@dataclass(frozen=True)
class ShapePlan:
    """How the source's face shape is laid onto a target, computed once from the source's landmarks.

    weights: (468,) how much each point takes the source's position (0 on the face outline and around the
    mouth, which stay the target's so the mask and the inner mouth still fit; 1 at eyes, brows, nose).
    fit: indices used to pose the source like the target (away from the mouth and the eyelids).
    eyes: per eye, the indices that move together (the eyelids keep the target's blink).
    """

    weights: np.ndarray
    fit: np.ndarray
    eyes: tuple[np.ndarray, np.ndarray]


def shape_plan(points: np.ndarray) -> ShapePlan:
    """The ShapePlan of a (roughly frontal) source face given its 468 landmarks (2-D)."""
    pts = np.asarray(points[:, :2], np.float64)
    oval = pts[list(FACE_OVAL)].astype(np.float32).reshape(-1, 1, 2)
    height = float(np.linalg.norm(pts[FOREHEAD_TOP] - pts[CHIN]))
    inside = np.array([cv2.pointPolygonTest(oval, (float(x), float(y)), True) for x, y in pts])
    w_outline = np.clip(inside / (0.12 * height), 0.0, 1.0)
    mouth = pts[list(OUTER_LIPS)]
    mouth_centre, mouth_width = mouth.mean(0), float(np.ptp(mouth[:, 0]))
    to_mouth = np.linalg.norm(pts - mouth_centre, axis=1)
    w_mouth = np.clip((to_mouth - 0.7 * mouth_width) / (0.5 * mouth_width), 0.0, 1.0)
    weights = w_outline * w_mouth
    weights[list(FACE_OVAL)] = 0.0
    eyes = []
    for contour in (RIGHT_EYE, LEFT_EYE):
        c = pts[list(contour)]
        radius = 0.75 * float(np.ptp(c[:, 0]))
        eyes.append(np.nonzero(np.linalg.norm(pts - c.mean(0), axis=1) < radius)[0])
    near_eye = np.zeros(len(pts), bool)
    for group in eyes:
        near_eye[group] = True
    fit = np.nonzero((w_mouth > 0.99) & ~near_eye)[0]
    return ShapePlan(weights=weights, fit=fit, eyes=(eyes[0], eyes[1]))


def shaped_landmarks(target: np.ndarray, source: np.ndarray, plan: ShapePlan, strength: float) -> np.ndarray:
    """Target landmarks (N, 2 or 3) moved toward the source's face shape, keeping the target's pose,
    outline, mouth and blinks; returns (N, 2).

    The source (N, same dims) is posed onto the target by a similarity fit; each point then moves by
    ``strength * weight`` of its offset, the points around each eye by the eye's mean offset.
    """
    dims = min(target.shape[1], source.shape[1])
    tgt, src = np.asarray(target[:, :dims], np.float64), np.asarray(source[:, :dims], np.float64)
    scale, rotation, shift = similarity_fit(src[plan.fit], tgt[plan.fit])
    posed = src @ (scale * rotation).T + shift
    offset = (posed - tgt)[:, :2]
    for group, contour in zip(plan.eyes, (RIGHT_EYE, LEFT_EYE), strict=True):
        offset[group] = offset[list(contour)].mean(0)
    return tgt[:, :2] + (strength * plan.weights)[:, None] * offset

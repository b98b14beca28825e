"""Face shape transfer for the morph swap: the source's eyes, brows and nose geometry laid onto a target's
landmarks, keeping the target's pose, mouth and blinks; and the width of the source's cheeks, jaw and
mouth, with a ring around the face that the target's surroundings are stretched within.
Pure numpy/OpenCV on 468 FaceMesh points.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .morph import (
    BROW_CENTRE,
    CHIN,
    FACE_OVAL,
    FOREHEAD_TOP,
    INNER_LIPS,
    LEFT_EYE,
    LOWER_LIP,
    MOUTH_CORNERS,
    OUTER_EYE_CORNERS,
    OUTER_LIPS,
    RIGHT_EYE,
    eye_centres,
)


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
    fit: indices used to pose the source like the target (away from the mouth, the eyelids and the outline).
    eyes: per eye, the indices that move together (the eyelids keep the target's blink).
    outline: (468,) how much each point takes the sideways part of its offset, for the source's cheek and
    jaw line (1 on the outline from the temples down, 0 at the forehead, where hair sits, and inside).
    mouth: (468,) how much each point follows the mouth's change of width (1 at the lips, 0 away from them).
    chin: (468,) how much an outline point moves with the lower jaw (1 from the lower lip down, 0 above
    the mouth), so its offset is taken from the lower lip, which opens and closes with it.
    """

    weights: np.ndarray
    fit: np.ndarray
    eyes: tuple[np.ndarray, np.ndarray]
    outline: np.ndarray
    mouth: np.ndarray
    chin: np.ndarray


@dataclass(frozen=True)
class ShapeOffsets:
    """Where a target's landmarks would go for the source's face shape (``shape_offsets``).

    offset: (N, 2) the whole move per point, one move per eye (the eyelids keep the target's blink).
    sideways: (N, 2) its part along the face's own left-right axis (a width, not an opening).
    jaw: (N, 2) the offset of each point relative to the lower lip (the chin's length and shape).
    lips: (N, 2) for the outer lip contour, the source's lip thickness minus the target's (0 elsewhere).
    mouth_scale: the source's mouth width over the target's.
    axis: (2,) the face's left-right direction in the image (unit).
    """

    offset: np.ndarray
    sideways: np.ndarray
    jaw: np.ndarray
    lips: np.ndarray
    mouth_scale: float
    axis: np.ndarray


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
    fit = np.nonzero((w_mouth > 0.99) & ~near_eye & (w_outline > 0.99))[0]
    brow_y, eye_y = float(pts[list(BROW_CENTRE)][:, 1].mean()), float(eye_centres(pts)[:, 1].mean())
    below_brows = np.clip((pts[:, 1] - brow_y) / max(eye_y - brow_y, 1e-6), 0.0, 1.0)
    outline = (1.0 - w_outline) * below_brows
    corner_y, lip_y = float(pts[list(MOUTH_CORNERS), 1].mean()), float(pts[LOWER_LIP, 1])
    chin = np.clip((pts[:, 1] - corner_y) / max(lip_y - corner_y, 1e-6), 0.0, 1.0)
    return ShapePlan(weights=weights, fit=fit, eyes=(eyes[0], eyes[1]), outline=outline, mouth=1.0 - w_mouth, chin=chin)


def shape_offsets(target: np.ndarray, source: np.ndarray, plan: ShapePlan) -> ShapeOffsets:
    """How far each target landmark (N, 2 or 3) is from the source's (N, same dims) posed like it by a
    similarity fit."""
    dims = min(target.shape[1], source.shape[1])
    tgt, src = np.asarray(target[:, :dims], np.float64), np.asarray(source[:, :dims], np.float64)
    scale, rotation, shift = similarity_fit(src[plan.fit], tgt[plan.fit])
    posed = src @ (scale * rotation).T + shift
    move = posed - tgt
    axis = rotation[:, 0]  # the source's x axis as the target has it (unit; 3-D when the points have depth)
    sideways = ((move @ axis)[:, None] * axis)[:, :2]
    offset = move[:, :2].copy()
    for group, contour in zip(plan.eyes, (RIGHT_EYE, LEFT_EYE), strict=True):
        offset[group] = offset[list(contour)].mean(0)
    jaw = ((posed - posed[LOWER_LIP]) - (tgt - tgt[LOWER_LIP]))[:, :2]
    lips = np.zeros_like(offset)
    outer, inner = list(OUTER_LIPS), list(INNER_LIPS)  # point for point, around the mouth
    lips[outer] = ((posed[outer] - posed[inner]) - (tgt[outer] - tgt[inner]))[:, :2]
    left, right = MOUTH_CORNERS
    widths = [float((pts[right] - pts[left]) @ axis) for pts in (posed, tgt)]
    mouth_scale = widths[0] / widths[1] if abs(widths[1]) > 1e-6 else 1.0
    flat = axis[:2] / max(float(np.linalg.norm(axis[:2])), 1e-6)
    return ShapeOffsets(offset=offset, sideways=sideways, jaw=jaw, lips=lips, mouth_scale=mouth_scale, axis=flat)


def shaped_landmarks(
    target: np.ndarray, offsets: ShapeOffsets, plan: ShapePlan, strength: float, width: float = 0.0
) -> np.ndarray:
    """Target landmarks (N, 2 or more) moved toward the source's face shape; returns (N, 2).

    ``strength``: share of the offset taken by the eyes, brows and nose (``plan.weights``). ``width``:
    share of the source's width taken by the cheeks and jaw (their sideways offset) and the mouth (its
    width scaled about its centre, so the target's smile, pout and asymmetry stay).
    """
    tgt = np.asarray(target[:, :2], np.float64)
    moved: np.ndarray = tgt + (strength * plan.weights)[:, None] * offsets.offset
    if width <= 0:
        return moved
    centre = tgt[list(MOUTH_CORNERS)].mean(0)
    across = ((tgt - centre) @ offsets.axis)[:, None] * offsets.axis
    mouth = (offsets.mouth_scale - 1.0) * across
    chin = plan.chin[:, None]
    jaw = ((1.0 - plan.mouth) * plan.outline)[:, None] * ((1.0 - chin) * offsets.sideways + chin * offsets.jaw)
    shaped: np.ndarray = moved + width * (jaw + plan.mouth[:, None] * mouth + offsets.lips)
    return shaped


def yaw(points: np.ndarray) -> float:
    """Radians the face is turned about the vertical axis, from the depth of its outer eye corners (0 without
    depth)."""
    pts = np.asarray(points, np.float64)
    if pts.shape[1] < 3:
        return 0.0
    across = pts[OUTER_EYE_CORNERS[1]] - pts[OUTER_EYE_CORNERS[0]]
    return float(np.arctan2(across[2], across[0]))


def frontal(points: np.ndarray) -> np.ndarray:
    """(N, 2): 3-D face landmarks (x, y, depth) turned to face the camera about the vertical axis, for a mesh
    that does not fold on a turned face; the 2-D points as they are without depth."""
    pts = np.asarray(points, np.float64)
    if pts.shape[1] < 3:
        flat: np.ndarray = pts[:, :2].copy()
        return flat
    turn = yaw(pts)
    c, s = np.cos(turn), np.sin(turn)
    centre = pts.mean(0)
    x = (pts[:, 0] - centre[0]) * c + (pts[:, 2] - centre[2]) * s + centre[0]
    return np.column_stack([x, pts[:, 1]])


def surround_ring(points: np.ndarray, margin: float) -> np.ndarray:
    """(36, 2): the face outline pushed out from its centre by ``margin`` of its own size. The target's
    pixels between the outline and this ring are stretched to follow a reshaped outline; the ring stays."""
    oval = np.asarray(points[list(FACE_OVAL), :2], np.float64)
    centre = oval.mean(0)
    ring: np.ndarray = centre + (oval - centre) * (1.0 + margin)
    return ring


def follow(previous: np.ndarray | None, current: np.ndarray, rate: float) -> np.ndarray:
    """``current`` followed slowly: ``rate`` of the way from ``previous`` (all of it when there is none)."""
    if previous is None or previous.shape != current.shape:
        return current
    followed: np.ndarray = previous + rate * (current - previous)
    return followed

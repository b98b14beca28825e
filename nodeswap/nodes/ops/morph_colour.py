"""Colour of the morph swap: Reinhard colour transfer, the eyes' own colour after it, the target's shading,
and blending. Pure numpy/OpenCV on uint8 BGR images.
"""

from __future__ import annotations

import cv2
import numpy as np

from .morph import LEFT_EYE, RIGHT_EYE, feather, fill_polygon
from .relight import lowpass_small, relight


def blend(front: np.ndarray, back: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``front`` over ``back`` (uint8 images) by ``alpha`` (HW float, 0..1)."""
    a = np.ascontiguousarray(alpha, np.float32)
    return cv2.blendLinear(front, back, a, 1.0 - a)


def colour_transfer(
    src: np.ndarray,
    target: np.ndarray,
    src_mask: np.ndarray,
    target_mask: np.ndarray,
    spread: bool = True,
    amount: float = 1.0,
) -> np.ndarray:
    """Reinhard colour transfer in Lab: ``src`` (BGR uint8) given the mean (and, with ``spread``, the standard
    deviation) of ``target`` under the masks. Without ``spread`` the source keeps its own contrast; with
    ``amount`` < 1 it moves only that share of the way to the target's colour.

    Works on 8-bit Lab with one lookup table per channel, so it costs well under a millisecond.
    """
    s = cv2.cvtColor(src, cv2.COLOR_BGR2LAB)
    t = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    sm, tm = (src_mask > 0.5).astype(np.uint8), (target_mask > 0.5).astype(np.uint8)
    if cv2.countNonZero(sm) < 16 or cv2.countNonZero(tm) < 16:
        unchanged: np.ndarray = src.copy()
        return unchanged
    s_mean, s_std = (v.ravel() for v in cv2.meanStdDev(s, mask=sm))
    t_mean, t_std = (v.ravel() for v in cv2.meanStdDev(t, mask=tm))
    scale = np.clip((t_std + 1e-3) / (s_std + 1e-3), 0.5, 2.0) if spread else np.ones(3)
    levels = np.arange(256, dtype=np.float64)[:, None]
    moved = (levels - s_mean) * scale + t_mean
    lut = np.clip(levels + amount * (moved - levels) + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.cvtColor(cv2.LUT(s, lut), cv2.COLOR_LAB2BGR)


def restore_eyes(
    matched: np.ndarray, original: np.ndarray, points: np.ndarray, region: np.ndarray, strength: float = 0.5
) -> np.ndarray:
    """Give the eye openings back ``strength`` of their own colour after a colour match (which tints the whites
    with the target's skin tone; fully restored they keep the photo's colour cast, hence the default half).
    The restored part follows the match's brightness by the skin's brightness ratio."""
    size = matched.shape[0]
    eye_pts = points[list(RIGHT_EYE) + list(LEFT_EYE)]
    pad = max(2, round(size / 64))
    x0, y0 = np.clip(np.floor(eye_pts.min(0)).astype(int) - pad, 0, size)
    x1, y1 = np.clip(np.ceil(eye_pts.max(0)).astype(int) + pad, 0, size)
    skin = (region > 0.5).astype(np.uint8)
    if x1 <= x0 or y1 <= y0 or cv2.countNonZero(skin) < 16:
        return matched
    eyes: np.ndarray = np.zeros((size, size), np.float32)
    for contour in (RIGHT_EYE, LEFT_EYE):
        eyes = np.maximum(eyes, fill_polygon(size, points[list(contour)]))
    box = (slice(y0, y1), slice(x0, x1))  # only the eyes' box is blended
    eyes = feather(eyes[box], 0, max(1.0, size / 128))[..., None] * float(strength)
    grey_m, grey_o = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) for x in (matched, original))
    gain = float(np.clip(cv2.mean(grey_m, skin)[0] / max(cv2.mean(grey_o, skin)[0], 1.0), 0.5, 1.5))
    eye_colour = original[box].astype(np.float32) * gain
    out: np.ndarray = matched.copy()
    out[box] = np.clip(matched[box] * (1 - eyes) + eye_colour * eyes + 0.5, 0, 255).astype(np.uint8)
    return out


def shading_transfer(
    src: np.ndarray, target: np.ndarray, mask: np.ndarray, radius: float, weight_map: np.ndarray | None = None
) -> np.ndarray:
    """Replace the low frequencies (lighting, tint) of ``src`` with the target's, keep its detail; with
    ``weight_map`` (HW, 0..1) only that much of the correction per pixel.

    Both low-passes are relight's normalised blur over the mask (the face edge does not darken), at a
    quarter of the size.
    """
    low = lowpass_small(target, mask, radius) - lowpass_small(src, mask, radius)
    diff = cv2.resize(low, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR)
    if weight_map is not None:
        diff *= weight_map[..., None]
    out: np.ndarray = np.clip(src.astype(np.float32) + diff, 0, 255).astype(np.uint8)
    return out


def edge_band(mask: np.ndarray, width: float) -> np.ndarray:
    """HW float32: 1 at the edge of ``mask`` (and outside it), falling to 0 about ``width`` pixels inside."""
    core = feather((mask > 0.5).astype(np.float32), width, width / 2)
    return 1.0 - core


def match_colour(
    face: np.ndarray,
    target: np.ndarray,
    region: np.ndarray,
    mode: str,
    amount: float = 1.0,
    light_radius: float = 50.0,
    edge_match: float = 0.0,
) -> np.ndarray:
    """The face's colour matched to the target's under ``region`` by ``mode``: light (its detail on the target's
    light and tone below ``light_radius`` pixels), rct or mean (Reinhard, with or without the spread; with
    ``edge_match`` pixels of the target's lighting along the edge), shading (the target's fine shading), none."""
    size = region.shape[0]
    if mode == "light":
        return relight(face, target, region, light_radius, amount)
    if mode in ("rct", "mean"):
        matched = colour_transfer(face, target, region, region, spread=mode == "rct", amount=amount)
        if edge_match > 0:  # the target's lighting near the edge only: softer seams
            matched = shading_transfer(matched, target, region, size / 16, edge_band(region, edge_match))
        return matched
    if mode == "shading":
        return shading_transfer(face, target, region, size / 16)
    return face

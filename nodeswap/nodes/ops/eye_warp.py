"""The photo's eyes moved as the target's: gaze from the dark of the target's iris.

The morph mesh already lays the photo's lids on the target's lid contour (a blink closes the photo's eye,
a squint narrows it). FaceMesh's 468 points have no iris, so where the target looks is read from its
picture: the darkness-weighted centre of each eye opening, as a share of the corner-to-corner line. The
photo's eye opening is then shifted inside its own lids so its iris sits at the same share; the lids,
lashes and the photo's iris itself stay the photo's.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import relight
from .morph import LEFT_EYE, RIGHT_EYE, feather, fill_polygon
from .morph_colour import blend

CORNERS = ((33, 133), (362, 263))  # per eye (RIGHT_EYE, LEFT_EYE): outer / inner corner, image left to right
LIDS = ((159, 145), (386, 374))  # per eye: upper and lower lid middle
MIN_OPEN = 0.12  # an opening lower than this share of the eye's width is closing: its gaze is not read
CLOSED_LOW, CLOSED_HIGH = 0.5, 0.75  # share of an opening showing lid skin (open eyes: 0.1-0.45): closed above
MAX_SHIFT = 0.22  # the iris moves at most this share of the eye's width from where the photo has it


def iris_position(lightness: np.ndarray, contour: np.ndarray, corners: np.ndarray) -> np.ndarray | None:
    """Where the iris is in an eye opening: (along, down) as shares of the corner-to-corner distance from the
    corners' middle, from the darkness-weighted centre of the opening (``lightness``: float32 HW, Lab L;
    ``contour``: (16, 2) lid points; ``corners``: (2, 2)). None when the opening shows too little."""
    size = lightness.shape[0]
    opening = fill_polygon(size, contour)
    ys, xs = np.nonzero(opening > 0.5)
    if len(xs) < 6:
        return None
    values = lightness[ys, xs]
    dark = np.clip(np.percentile(values, 70) - values, 0.0, None) ** 2  # the iris and pupil, not the whites
    if float(dark.sum()) <= 1e-6:
        return None
    centre = np.array([(xs * dark).sum(), (ys * dark).sum()]) / dark.sum()
    axis = corners[1] - corners[0]
    width = float(np.linalg.norm(axis))
    if width < 2.0:
        return None
    along, down = axis / width, np.array([-axis[1], axis[0]]) / width
    rel = centre - corners.mean(0)
    return np.array([rel @ along, rel @ down]) / width


def openness(points: np.ndarray, eye: int) -> float:
    """Lid gap over the eye's width for eye 0 (RIGHT_EYE) or 1 (LEFT_EYE)."""
    (a, b), (u, d) = CORNERS[eye], LIDS[eye]
    return float(np.linalg.norm(points[u] - points[d]) / max(float(np.linalg.norm(points[a] - points[b])), 1e-6))


def gaze_shifts(
    face: np.ndarray, target: np.ndarray, points: np.ndarray, target_points: np.ndarray, amount: float = 1.0
) -> list[np.ndarray | None]:
    """Per eye, the pixel shift (x, y) that puts the face's iris where the target's is (BGR crops, their
    landmarks ``points`` and ``target_points``); None for an eye that is closing or unreadable in either."""
    face_l = cv2.cvtColor(face, cv2.COLOR_BGR2LAB)[..., 0].astype(np.float32)
    target_l = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)[..., 0].astype(np.float32)
    shifts: list[np.ndarray | None] = []
    for eye, contour in enumerate((RIGHT_EYE, LEFT_EYE)):
        corners = points[list(CORNERS[eye])]
        if min(openness(points, eye), openness(target_points, eye)) < MIN_OPEN:
            shifts.append(None)
            continue
        want = iris_position(target_l, target_points[list(contour)], target_points[list(CORNERS[eye])])
        have = iris_position(face_l, points[list(contour)], corners)
        if want is None or have is None:
            shifts.append(None)
            continue
        axis = corners[1] - corners[0]
        width = float(np.linalg.norm(axis))
        along, down = axis / width, np.array([-axis[1], axis[0]]) / width
        move = np.clip(want - have, -MAX_SHIFT, MAX_SHIFT) * width * amount
        shifts.append(move[0] * along + move[1] * down * 0.5)  # a vertical read is less sure: half of it
    return shifts


def shift_eyes(face: np.ndarray, points: np.ndarray, shifts: list[np.ndarray | None]) -> np.ndarray:
    """``face`` with the inside of each eye opening slid sideways by its shift (less toward the corners), each
    column's content kept between its own lids: the iris turns under the lids, which stay where they are."""
    size = face.shape[0]
    map_x, map_y = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
    inside = np.zeros((size, size), np.float32)
    for eye, contour in enumerate((RIGHT_EYE, LEFT_EYE)):
        shift = shifts[eye]
        opening = fill_polygon(size, points[list(contour)]) > 0.5
        cols = np.nonzero(opening.any(0))[0]
        if shift is None or abs(float(shift[0])) < 0.25 or len(cols) < 4:
            continue
        top = np.argmax(opening[:, cols], 0).astype(np.float32)
        bottom = (size - 1 - np.argmax(opening[::-1, cols], 0)).astype(np.float32)
        ys, xs = np.nonzero(opening)
        t = (xs - (cols[0] + cols[-1]) / 2) / max(cols[-1] - cols[0], 1)  # -0.5 .. 0.5 corner to corner
        weight = np.clip(1.0 - np.abs(2.0 * t) ** 3, 0.0, 1.0)  # 1 in the middle, 0 at the corners
        here = xs - cols[0]
        share = (ys - top[here]) / np.maximum(bottom[here] - top[here], 1.0)  # 0 at the upper lid, 1 the lower
        src_x = np.clip(xs - weight * float(shift[0]), cols[0], cols[-1])
        src_top, src_bottom = np.interp(src_x, cols, top), np.interp(src_x, cols, bottom)
        map_x[ys, xs] = src_x
        map_y[ys, xs] = src_top + share * (src_bottom - src_top)
        inside[ys, xs] = 1.0
    if not inside.any():
        return face
    moved = cv2.remap(face, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return blend(moved, face, feather(inside, 0, 1.0))


def lid_cover(face: np.ndarray, target: np.ndarray, inner: np.ndarray, skin: np.ndarray, sigma: float) -> np.ndarray:
    """Where the target's eye opening (``inner``: its contours, not grown) shows lid skin rather than an
    eyeball (a blink, a look down: near the colour of the skin around the eyes, ``skin`` mask averaged over
    ``sigma`` px), the target's own lid over the face's eye; where it shows an eyeball the face's eye stays."""
    ys, xs = np.nonzero(inner > 0.002)
    if not len(xs) or not skin.any():
        return face
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    target_all = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    away = target_all[box].astype(np.float32) - relight.lowpass(target_all, skin, sigma)[box]
    distance = np.sqrt((away[..., 0] / 1.5) ** 2 + away[..., 1] ** 2 + away[..., 2] ** 2)
    lid = 1.0 - np.clip((distance - 8.0) / 12.0, 0.0, 1.0)  # the same reading as relight.target_eyes
    share = float((lid * inner[box]).sum() / max(float(inner[box].sum()), 1e-6))  # how closed the eye looks
    lid = np.maximum(lid, np.clip((share - CLOSED_LOW) / (CLOSED_HIGH - CLOSED_LOW), 0.0, 1.0))
    out: np.ndarray = face.copy()
    out[box] = blend(target[box], face[box], inner[box] * lid)
    return out


def warp_eyes(
    face: np.ndarray,
    target: np.ndarray,
    points: np.ndarray,
    target_points: np.ndarray,
    eyes: np.ndarray,
    skin: np.ndarray,
    theirs: float = 0.0,
) -> np.ndarray:
    """The face's eyes (on ``points``) turned to the target's gaze; ``theirs`` (0-1) of the target's own eye
    openings (``eyes`` mask, on ``target_points``) laid back over them, its lid skin in its own colour."""
    out = shift_eyes(face, points, gaze_shifts(face, target, points, target_points))
    size = face.shape[0]
    out = lid_cover(out, target, relight.eye_openings(target_points, size, -size / 256, size / 256), skin, size / 16)
    if theirs <= 0:
        return out
    own = relight.target_eyes(out, target, eyes, skin, face.shape[0] / 16)
    return blend(own, out, eyes * float(theirs))

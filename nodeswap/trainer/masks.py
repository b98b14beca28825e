"""The masks DeepFaceLab trains with, made from a face's landmarks or taken from its XSeg mask.

- face mask: the faceset's XSeg mask where it has one; else the landmarks' hull with the brows pushed up by
  half their height above the eyes (LandmarksProcessor.get_image_hull_mask with expand_eyebrows: for 68 points
  the same parts; for FaceMesh's 468 each brow point moves away from the nearest upper-lid point; 106 points
  keep their plain hull), so the forehead's lower band is in the mask;
- eyes-and-mouth mask (eyes_mouth_prio): each eye's hull and the inner mouth's, dilated by 1/32 of the side and
  blurred (a Gaussian of an odd 1/16 of the side), added, clipped to 1 and cut to the face mask; after the
  random transform it is scaled so its peak is 1 again (SampleProcessor).
"""

from __future__ import annotations

import cv2
import numpy as np

from nodeswap.nodes.ops.align import MOUTH_INNER, hull_mask

EYES: dict[int, tuple[tuple[int, ...], ...]] = {
    468: (
        (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
        (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    ),
    68: (tuple(range(36, 42)), tuple(range(42, 48))),
    106: (tuple(range(33, 43)), tuple(range(87, 97))),
}
BROWS_468 = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107, 276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
UPPER_LIDS_468 = (246, 161, 160, 159, 158, 157, 173, 466, 388, 387, 386, 385, 384, 398)


def expand_brows(points: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """The landmarks with the brows pushed up by ``amount`` x half their height above the eyes."""
    lm: np.ndarray = np.array(points, np.float64)
    if len(lm) == 68:
        outer_l, outer_r = (lm[36] + lm[0]) / 2.0, (lm[16] + lm[45]) / 2.0
        below_l = np.array([(lm[36] + outer_l) / 2.0, lm[36], lm[37], lm[38], lm[39]])
        below_r = np.array([lm[42], lm[43], lm[44], lm[45], (lm[45] + outer_r) / 2.0])
        lm[17:22] += amount * 0.5 * (lm[17:22] - below_l)
        lm[22:27] += amount * 0.5 * (lm[22:27] - below_r)
    elif len(lm) == 468:
        brows, lids = lm[list(BROWS_468)], lm[list(UPPER_LIDS_468)]
        nearest = lids[np.argmin(np.linalg.norm(brows[:, None] - lids[None], axis=2), axis=1)]
        lm[list(BROWS_468)] = brows + amount * 0.5 * (brows - nearest)
    return lm


def _parts_68(lm: np.ndarray) -> list[np.ndarray]:
    """DeepFaceLab's hull parts of a 68-point face: jaw halves, cheeks, nose ridge, eye regions, nose."""
    parts = [
        (range(0, 9), [17]),
        (range(8, 17), [26]),
        (range(17, 20), [8]),
        (range(24, 27), [8]),
        (range(19, 25), [8]),
        (range(17, 22), [27], range(31, 36), [8]),
        (range(22, 27), [27], range(31, 36), [8]),
        (range(27, 31), range(31, 36)),
    ]
    return [lm[[i for group in part for i in group]] for part in parts]


def face_mask(points: np.ndarray, size: int, xseg: np.ndarray | None = None) -> np.ndarray:
    """The face mask (float32 HW in [0, 1]) of a ``size`` crop: its XSeg mask, else the brow-expanded hull."""
    if xseg is not None:
        grey = xseg if xseg.ndim == 2 else xseg[..., 0]
        if grey.shape[0] != size:
            grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_CUBIC)
        scale = 255.0 if grey.dtype == np.uint8 else 1.0
        clipped: np.ndarray = np.clip(grey.astype(np.float32) / scale, 0.0, 1.0)
        return clipped
    lm = expand_brows(points)
    if len(lm) != 68:
        return hull_mask(lm, size)
    mask = np.zeros((size, size), np.float32)
    for part in _parts_68(lm):
        mask = np.maximum(mask, hull_mask(part, size))
    return mask


def _grown(mask: np.ndarray, size: int) -> np.ndarray:
    grow = max(1, size // 32)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    blur = max(1, size // 16)
    blur += 1 - blur % 2
    grown: np.ndarray = cv2.GaussianBlur(mask, (blur, blur), 0)
    return grown


def eyes_mouth_mask(points: np.ndarray, size: int, face: np.ndarray) -> np.ndarray:
    """The eyes and the inner mouth (float32 HW in [0, 1]), cut to where ``face`` is not 0; zeros for a layout
    without known regions."""
    lm = np.asarray(points, np.float64)
    eyes = EYES.get(len(lm))
    if eyes is None or len(lm) not in MOUTH_INNER:
        return np.zeros((size, size), np.float32)
    eye_mask = np.zeros((size, size), np.float32)
    for eye in eyes:
        eye_mask = np.maximum(eye_mask, hull_mask(lm[list(eye)], size))
    mouth = hull_mask(lm[list(MOUTH_INNER[len(lm)])], size)
    both: np.ndarray = np.clip(_grown(eye_mask, size) + _grown(mouth, size), 0.0, 1.0) * (face > 0)
    return both.astype(np.float32)


def renormalised(em: np.ndarray) -> np.ndarray:
    """An eyes-and-mouth mask (uint8) scaled so its peak is 255 again after a warp (SampleProcessor)."""
    peak = int(em.max())
    if peak == 0 or peak == 255:
        return em
    return np.clip(np.round(em.astype(np.float32) * (255.0 / peak)), 0, 255).astype(np.uint8)

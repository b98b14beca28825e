"""The whole-face crop a faceset keeps: DeepFaceLive's default aligner crop (from points, coverage 2.2, moving parts
left out of the fit), the crop a DFM model is fed at run time, in DeepFaceLive and in swap.dfm; or taken from an
aligner upstream that cut the same one."""

from __future__ import annotations

import cv2
import numpy as np

from nodeswap.faceset import COVERAGE
from nodeswap.types import Face

from .align import transform_points
from .face_crop import from_points_matrix

SAME_CROP_PX = 0.5  # an upstream crop whose landmarks land within this of ours is the same crop


def whole_face_matrix(face: Face, size: int) -> np.ndarray | None:
    """The 2x3 frame -> crop affine of the face's whole-face crop, or None without landmarks or keypoints."""
    return from_points_matrix(face, size, COVERAGE)


def same_crop(a: np.ndarray, b: np.ndarray, points: np.ndarray) -> bool:
    """True when two frame -> crop affines put ``points`` (frame pixels) within SAME_CROP_PX of each other."""
    gap = np.abs(transform_points(a, points) - transform_points(b, points))
    return bool(gap.max() <= SAME_CROP_PX)


def whole_face_crop(image: np.ndarray, face: Face, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(crop, mat frame -> crop) of ``face``: the aligner's crop when it is this one, else cut here."""
    mat = whole_face_matrix(face, size)
    if mat is None:
        return None
    upstream = face.aligned
    points = None if face.landmarks is None else np.asarray(face.landmarks, np.float64)[:, :2]
    if upstream is not None and upstream.size == size and points is not None and same_crop(upstream.mat, mat, points):
        return upstream.image, upstream.mat
    crop = cv2.warpAffine(image, mat, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop, mat

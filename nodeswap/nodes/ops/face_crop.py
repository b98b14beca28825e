"""One face's aligned crop: the matrix for a template and align mode, the crop, and its landmark-hull mask.

Template ``facemesh`` (and its old name ``dfl_whole_face``) is DeepFaceLive's "from points" cut (dfl_align.py),
sampled as DeepFaceLive samples it: bilinear, black outside the frame. The arcface templates are insightface's
5-point crops. The rect modes put a square on the detector's box or in the middle of the frame, as DeepFaceLive's.
"""

from __future__ import annotations

import cv2
import numpy as np

from nodeswap.types import Aligned, Face

from . import dfl_align
from .align import (
    crop_matrix,
    hull_mask,
    hull_points,
    invert,
    rect_to_frame,
    template_to_frame,
    transform_points,
    unit_to_frame,
)

DEEPFACELIVE_TEMPLATES = ("facemesh", "dfl_whole_face")


def from_points_matrix(
    face: Face,
    size: int,
    coverage: float,
    x_offset: float = 0.0,
    y_offset: float = 0.0,
    exclude_moving: bool = True,
    head_mode: bool = False,
    freeze_z: bool = False,
) -> np.ndarray | None:
    """DeepFaceLive's FaceAligner matrix (frame -> crop) for ``face`` with its settings, or None without points."""
    to_uniform = dfl_align.to_uniform(face.landmarks, face.kps, exclude_moving)
    if to_uniform is None:
        return None
    yaw = dfl_align.head_yaw(face.landmarks_3d) if head_mode or freeze_z else None
    return dfl_align.cut_matrix(
        to_uniform,
        size,
        coverage + (1.0 if head_mode else 0.0),
        x_offset,
        y_offset + dfl_align.Y_SHIFT + (-0.5 if head_mode else 0.0),
        yaw,
        freeze_z,
    )


def deepfacelive_hull_mask(points: np.ndarray, size: int) -> np.ndarray:
    """DeepFaceLive's landmark mask of a crop (float32 0/1): the hull of the points truncated to whole pixels,
    filled without anti-aliasing."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.asarray(points).astype(np.int32)), 1)
    return mask.astype(np.float32)


def align_face(
    image: np.ndarray,
    face: Face,
    template: str,
    size: int,
    coverage: float = 2.2,
    x_offset: float = 0.0,
    y_offset: float = 0.0,
    exclude_moving: bool = True,
    head_mode: bool = False,
    freeze_z: bool = False,
    interpolation: int | None = None,
    mode: str = "from points",
) -> Aligned | None:
    """The aligned crop of ``face`` in ``image`` (HWC), or None when the face has neither landmarks nor keypoints.

    mode: DeepFaceLive's align mode: from points (the template fitted to the face's points), from rect (a
    square on the detector's box) or from static rect (a size x size square in the middle of the frame);
    head mode and freeze Z apply to "from points" only, as there. interpolation: None = the template's own
    (bilinear for DeepFaceLive's cut, bicubic otherwise).
    """
    deepfacelive = mode != "from points" or template in DEEPFACELIVE_TEMPLATES
    if mode == "from points" and deepfacelive:
        mat = from_points_matrix(face, size, coverage, x_offset, y_offset, exclude_moving, head_mode, freeze_z)
        if mat is None:
            return None
    elif mode == "from points":
        to_frame = template_to_frame(template, face.landmarks, face.kps)
        if to_frame is None:
            return None
        mat = crop_matrix(to_frame, template, size, coverage, x_offset, y_offset, freeze_z)
    else:
        height, width = image.shape[:2]
        half = size / 2.0
        box = (
            face.box
            if mode == "from rect"
            else (width / 2 - half, height / 2 - half, width / 2 + half, height / 2 + half)
        )
        mat = crop_matrix(rect_to_frame(box), "unit", size, coverage, x_offset, y_offset)
    if interpolation is None:
        interpolation = cv2.INTER_LINEAR if deepfacelive else cv2.INTER_CUBIC
    border = cv2.BORDER_CONSTANT if deepfacelive else cv2.BORDER_REPLICATE
    crop = cv2.warpAffine(image, mat, (size, size), flags=interpolation, borderMode=border)
    kps_fit = unit_to_frame(None, face.kps) if face.landmarks is None else None
    points = hull_points(face.landmarks, kps_fit)
    mask = None
    if points is not None:
        crop_points = transform_points(mat, points)
        mask = deepfacelive_hull_mask(crop_points, size) if deepfacelive else hull_mask(crop_points, size)
    return Aligned(image=crop, mat=mat, inverse=invert(mat), size=size, mask=mask)

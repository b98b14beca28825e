"""The morph swap's source face, prepared once from a photo and its 468 FaceMesh landmarks: an upright crop
with a mask of the skin that may be used, its meshes, and how edge-on a turned photo sees each triangle.
Pure numpy/OpenCV; no model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import morph, morph_shape
from .morph import (
    FACE_OVAL,
    LEFT_BROW,
    LEFT_EYE,
    OUTER_LIPS,
    RIGHT_BROW,
    RIGHT_EYE,
    feather,
    fill_polygon,
    hull_polygon,
)

SOURCE_SIZE = 512  # resolution of the source face crop
OPEN_MOUTH = 0.04  # inner-lip gap (share of the crop) of a mouth taken as wide open
# An open-mouthed or smiling photo: this share of the mouth's width around its inner lips (teeth, the lip
# line) is left to the target, or it would show an open mouth on every frame; a closed mouth keeps its lips.
LIP_GAP = 0.1
PHOTO_CLOSED = 0.012  # inner-lip gap (share of the crop) FaceMesh gives a photo's closed mouth
RING_MARGIN = 0.25  # how far around the face (share of its size) the target stretches to a new outline
# Landmarks that carry the reshaped target (what shows of it: outline, mouth, eyes); a light mesh.
RESHAPE_POINTS = np.array(
    sorted(set(morph.FACE_OVAL + morph.OUTER_LIPS + morph.INNER_LIPS + morph.RIGHT_EYE + morph.LEFT_EYE))
)


SKIN_SHADE_TOLERANCE = 3.0  # skin in shade is darker than the skin sampled but keeps its hue
BLOWN_OUT = 225  # a pixel whose every channel is this bright is burnt out: light, not skin


def skin_mask(image: np.ndarray, points: np.ndarray, threshold: float = 4.0) -> np.ndarray:
    """Float mask (1 = skin) of a face image: pixels near the face edge whose Lab colour is far from the skin
    sampled on the cheeks and nose (hair over the temples, background inside the landmark hull, deep shadow)
    get 0, and so do burnt-out highlights anywhere on the face (a flash on the nose: no face is left in them).
    Eyes, brows and lips are never marked. Meant for the source photo, once.
    """
    size = image.shape[0]
    centre = points[list(FACE_OVAL)].mean(0)
    inner = fill_polygon(size, centre + (hull_polygon(points, 0.3) - centre) * 0.7)
    features = np.zeros((size, size), np.float32)
    for region in (RIGHT_EYE, LEFT_EYE, OUTER_LIPS, RIGHT_BROW, LEFT_BROW):
        poly = cv2.convexHull(points[list(region)].astype(np.float32)).reshape(-1, 2)
        features = np.maximum(features, fill_polygon(size, poly))
    features = feather(features, -size / 40, 0)
    sample = (inner > 0.5) & (features < 0.5)
    if sample.sum() < 50:
        return np.ones((size, size), np.float32)
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).astype(np.float32)
    skin = lab[sample]
    median = np.median(skin, axis=0)
    spread = np.median(np.abs(skin - median), axis=0) * 1.4826 + 1.0  # robust sigma per channel
    spread[0] *= SKIN_SHADE_TOLERANCE
    distance = np.sqrt((((lab - median) / spread) ** 2).sum(-1))
    reach = np.ones((size // 112 * 2 + 1,) * 2, np.uint8)  # the glow around a burnt-out patch: 9 px at 512
    blown = cv2.dilate((image.min(axis=-1) >= BLOWN_OUT).astype(np.uint8), reach) > 0
    other = (((distance > threshold) & (inner < 0.5) | blown) & (features < 0.5)).astype(np.uint8)
    other = cv2.morphologyEx(other, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    other = cv2.dilate(other, np.ones((3, 3), np.uint8))
    return 1.0 - feather(other.astype(np.float32), 0, size / 40)


# -- aligned crop ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFace:
    """crop: SOURCE_SIZE square, BGR + the usable skin (0..255, warped along with the texture); points and
    points_3d: its landmarks in crop pixels (with FaceMesh depth); tris_all / tris_open: its mesh with and
    without the inner mouth, and per triangle how edge-on the photo sees it; tris_ring: the mesh of
    RESHAPE_POINTS and the ring around them; yaw: degrees the photo's face is turned."""

    crop: np.ndarray
    points: np.ndarray
    points_3d: np.ndarray
    shape_plan: morph_shape.ShapePlan
    tris_all: np.ndarray
    tris_open: np.ndarray
    edge_on_all: np.ndarray
    edge_on_open: np.ndarray
    tris_ring: np.ndarray
    yaw: float

    def mesh(self, mouth_from_target: bool) -> tuple[np.ndarray, np.ndarray]:
        """(triangles, how edge-on each is), without the inner mouth when the target keeps its own."""
        if mouth_from_target:
            return self.tris_open, self.edge_on_open
        return self.tris_all, self.edge_on_all


def prepare_source(image: np.ndarray, landmarks: np.ndarray) -> SourceFace:
    """The SourceFace of a photo (BGR) and its face's landmarks ((468, 3), image pixels)."""
    points = landmarks[:, :2]
    mat, _ = morph.crop_transform(points, SOURCE_SIZE, 1.3)
    scale = float(np.hypot(*mat[:, 0]))
    if scale < 0.5:  # photo face much larger than the crop: shrink first to avoid aliasing
        image = cv2.resize(image, None, fx=scale * 1.5, fy=scale * 1.5, interpolation=cv2.INTER_AREA)
        points, landmarks = points * scale * 1.5, landmarks * scale * 1.5
        mat, _ = morph.crop_transform(points, SOURCE_SIZE, 1.3)
    crop = cv2.warpAffine(
        image, mat, (SOURCE_SIZE, SOURCE_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    pts = morph.transform_points(points, mat)
    gap = LIP_GAP * morph.open_share(pts, OPEN_MOUTH * SOURCE_SIZE, PHOTO_CLOSED * SOURCE_SIZE)
    usable = skin_mask(crop, pts) * (1.0 - morph.lip_gap(pts, SOURCE_SIZE, gap))
    skin = np.rint(usable * 255).astype(np.uint8)
    points_3d = np.column_stack([pts, landmarks[:, 2] * np.hypot(*mat[:, 0])])
    tris_all = morph.triangulate(pts)
    tris_open = morph.drop_region(tris_all, pts, morph.INNER_LIPS)
    # a turned photo's far side is seen edge-on: little of it is in the picture (a frontal one: none)
    yaw = abs(float(np.degrees(morph_shape.yaw(points_3d))))
    turned = float(np.clip((yaw - 12.0) / 8.0, 0.0, 1.0))
    front = morph_shape.frontal(points_3d)  # a turned photo's far side would fold the mesh
    ring = morph_shape.surround_ring(front, RING_MARGIN)
    return SourceFace(
        crop=np.dstack([crop, skin]),
        points=pts,
        points_3d=points_3d,
        shape_plan=morph_shape.shape_plan(pts),
        tris_all=tris_all,
        tris_open=tris_open,
        edge_on_all=turned * morph.grazing(points_3d, tris_all),
        edge_on_open=turned * morph.grazing(points_3d, tris_open),
        tris_ring=morph.triangulate(np.vstack([front[RESHAPE_POINTS], ring])),
        yaw=yaw,
    )

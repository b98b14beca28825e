"""The morph swap's source face, prepared once from a photo and its 468 FaceMesh landmarks: an upright crop
with a mask of the skin that may be used, its meshes, and how edge-on a turned photo sees each triangle.
Pure numpy/OpenCV; no model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import morph, morph_shape

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
    usable = morph.skin_mask(crop, pts) * (1.0 - morph.lip_gap(pts, SOURCE_SIZE, gap))
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

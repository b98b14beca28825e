"""The landmark networks the marker uses (FaceMesh 468, PFLD 68 and 106) and one run of them on a face box:
the crop, the network, the points back in frame pixels. No model is loaded here: a caller passes its
onnxruntime session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class MarkerSpec:
    """One landmark network: input size, colour order, layout, default crop coverage."""

    name: str
    file: str
    size: int
    rgb: bool
    nhwc: bool
    layout: str  # "facemesh", "68" or "106" (see nodes.ops.pose)
    coverage: float
    output: str = ""  # output name to read; "" = the first


MARKERS = {
    # FaceMesh: [1,192,192,3] NHWC [0,1] -> 468 x (x,y,z) in crop pixels. RGB measured
    # slightly better than BGR against detector keypoints on the 50 photos.
    "facemesh": MarkerSpec("facemesh", "facemesh", 192, rgb=True, nhwc=True, layout="facemesh", coverage=1.4),
    # PFLD: [1,3,112,112] /255 -> points in 0..1 crop coordinates. Coverages measured on the
    # 50 photos against detector keypoints (pfld68 RGB per MODELS.md, pfld106 BGR).
    "pfld68": MarkerSpec("pfld68", "pfld68", 112, rgb=True, nhwc=False, layout="68", coverage=1.2),
    "pfld106": MarkerSpec(
        "pfld106", "pfld106", 112, rgb=False, nhwc=False, layout="106", coverage=1.0, output="output"
    ),
}


def crop_matrix(box: tuple[float, float, float, float], coverage: float, size: int) -> np.ndarray:
    """2x3 frame -> crop matrix of an upright square of side ``coverage`` x the
    box's longer side, centred on the box, scaled to ``size`` pixels."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1, 1.0) * coverage
    scale = size / side
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]], np.float64)


def to_frame(points: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """Map crop points (N,2+) back to frame pixels with the inverse of ``mat``
    (a further z column is scaled, not shifted)."""
    inverse = cv2.invertAffineTransform(mat)
    out = np.array(points, np.float64, copy=True)
    out[:, :2] = out[:, :2] @ inverse[:, :2].T + inverse[:, 2]
    if out.shape[1] > 2:
        out[:, 2:] *= inverse[0, 0]
    return out


def run_marker(
    session: Any, spec: MarkerSpec, image: np.ndarray, box: tuple[float, float, float, float], coverage: float
) -> np.ndarray:
    """Landmarks (N,2), or (N,3) for FaceMesh, in frame pixels, of the face in ``box`` (x1, y1, x2, y2)."""
    mat = crop_matrix(box, coverage, spec.size)
    crop = cv2.warpAffine(image, mat, (spec.size, spec.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if spec.rgb:
        crop = crop[..., ::-1]
    blob = crop.astype(np.float32) / 255.0
    blob = blob[None] if spec.nhwc else blob.transpose(2, 0, 1)[None]
    names = [o.name for o in session.get_outputs()]
    feed = {session.get_inputs()[0].name: np.ascontiguousarray(blob)}
    raw = session.run([spec.output or names[0]], feed)[0]
    if spec.layout == "facemesh":
        points = raw.reshape(-1, 3).astype(np.float64)
    else:
        points = raw.reshape(-1, 2).astype(np.float64) * spec.size
    return to_frame(points, mat)

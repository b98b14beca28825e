"""Face alignment math: templates, Umeyama similarity, crop transforms, hull masks.

Mean-face templates live in one "unit face" frame, DeepFaceLab's convention: the
inner face (brows, eyes, nose, mouth; no jaw) spans x 0..1 from brow corner to
brow corner, centred between the brow tops and the lower lip, the nose tip at
x = 0.5. A crop of ``coverage`` units around the unit square's centre is the
aligned face: coverage 2.2 is DeepFaceLab's whole face.

The templates (468 FaceMesh, 68 iBUG, 106 JD, 5 keypoints) were measured for this
project: the median of the photos in the shared media set after similarity
alignment, near-frontal faces only (FaceMesh 3D shape frontalised). They are
stored as int16 ten-thousandths, base64 encoded. tests/test_align.py re-derives
the 468 mean from the photos and checks it against the stored one.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

# insightface's ArcFace 5-point template for 112x112 crops (eyes, nose, mouth corners; image left first).
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)

TEMPLATES = ("facemesh", "dfl_whole_face", "arcface_112", "arcface_128")
STANDARD_COVERAGE = 2.2  # coverage that gives each template's standard crop

_MEAN_468 = (
    "jBOSHIgTWhWMEzIY1hFyDowTAhOPEysQjRPGCc8EFgqEExQFgxMWAocT9fWME5kdjxNhHpMTuB6UE78glROTIZQToCKTE/MjjRN+"
    "JooTnha2EdYWHP2AAu4KowveCM8L2QbHCwQE3gqcDC8L8AdwBisKkgbiBdIGggSYB2sCWgzwCyYq/gOrCXv8egwjAEILFAlLFMkQ"
    "PhwVEVke+Q3UHCkMrh0ID3IecQ3BHt8J1CHfEU8VpBELE1gBjwVdDeYOHw0IFQIN6RO9AkAUvRF6EGgGHQNrA+ADKP/9/VsP2AQY"
    "DE8HMAiEH+3+HSKbDmgWWhArFxgKYx8aC1MfQAJ0AhAN/xVaClID9glQAYsHl/fNAAcA/Qgm/A4AswSX/qID4xBzHY4OzR3ODDke"
    "Ig/VFpkKWh+oCykgZAtIH6UPiRXTDaUebg+YHlIRqB6nEE0m1xCxI/QQXiIZEVUhSRGmILANJyBeDV0g7AzhIIoMqyGLCrMbnPx9"
    "F4wTdxefDPMfKAz0HwERJhi1DXgXshCrFzYLJBC9B5ARqAzvFH4CRPolBHX9rQU9AZsLoiOvDsUB6g2y+wgNQfYNBYQLPgAADqYN"
    "twpDAmcI0g5/DV8OJhQR/tIPoQE1D0gEug9DCFYPMgt7Dk8NdA2XEXIKK/5KFJcAMAiJEosWhw30EOX7JQ3bDlMMbQxNFVUD2glL"
    "DsUSZv3DHI0NBAr7D1wROQPaJZED8yh1/BQWhgAzI3D9xgeqC68swxJmF60LhxJr/ugLAQeOCtgIowolC4wgc/7rGFsP6y9cCUct"
    "uQaBK4UTr/t+E1UwkQp/CigMPQofDSQKGv/uB78Lcgj4Cc0HKgivB1sGEwg3BbgIHfxcB7oFVwqLE7AZkwxrGo4OBRanEMYZiRNl"
    "BygGjSjXCKcqNg8JLhMBIyb7DGAJPhDTDX8Tei4gDMwuIf35GlEPbSD+DuMgsg60IXUO7CLPDS4l/gv7HloLwx7CCmse4whdHQsB"
    "bRlAEOALKw9mCN4Nwwh5DMweCwFOH+sQ+AfMDJonkBMFDrMRhQyPE/8LzQ4nEYET/iuHExIpChDaKDMIMSOtChIXVAq4JaAF+BaS"
    "CEsZ3AO0GmwPnyuZDXUSnwaCJVAJBShfBkUgFf/gHNMDQCFW/nAf1AYFHOgOZQ8DDxkVuw3DFeoPgxOaDbEGUgqIBWMHRgXoBKUF"
    "JAOjBvwBfwo1/EMRkgMeDcEFjw2ICHsNIQv+DBUNTgxlDqILOfxgEs8NXBY8EJgPdxAbFZMRRhZ1EJAVWw4RF+4RbhYlEjUXSw4g"
    "Cm0PdQoLEKIKiQQ6CXMDighEFXMOSSIYCmQV1hb4KY8CIRynCzQe0As+IMoLFiPgCnMaMwsWH3QG2hyXBiUh0waJIpwHqyRcDB4b"
    "NioUI68JmyqSDO4mSwv8HUsUUxY3HAoWVx4qGcwc+hqjHR0Ybh61GbweRR3VITUVTRVxFQgTriWWBa8Z6Q76GQEVExrkE1UkQhRf"
    "FXoQmSAkA5Uj5wPmJwP+rRfcBPQaVgf0HoEfQChMIoAYYhbHFigXDh1gHxUcTR+8JH8CERr7FascWAMQHVUBhR+S9zwmDQANHiX8"
    "9ya+BHUosgM7FnAdkxjHHVcaMB7/F9IWkRxUH4cbJiDNG0YfcBeGFVYZoB63F5cezxWnHnIWTyZOFrIjNBZeIgwWWCHcFakgfRkk"
    "IM8ZWiBBGt8goRqqIZEcsBuNKqcXjhrxHwYb8R8eFiUYbxl2F20WqRfaGyYQUh+REXEa6hSPJD/65CJ3/VEhRQGEG6YjWhjKASMZ"
    "sfsLGjz2DiKHC9QmBA5sGb8KyiRsCD8YgQ22GCIUASneD3AlNg/HIrgPyh5XD9kbew69GXcNghV0CuQoWBR2JjoIjRSMFocZ9hA+"
    "K0kNMRhXDKcaSBXAI94JyBjBEscp8RyGGQ0KHBdaEeIjASaTIyopniouFpcmXiOkKdoHYhvGLFQUZBdiG4cSqCj2CxYgkQo5HqYK"
    "BhyFIKAo+xikF/0vsR1wLV0gsCt9HIEK6RpCCvIZLQr1J/sHTRt5CA8d0QfcHrEHsCAVCNghuAgAK3UHXyFbCo0aZBqLGP4VdhbB"
    "Gesgryg7HsYqzBcWLhYmWSYUGmoJ1hbVDeUa6C74KRkb1RdsICgY4yB2GLQhshjtIk0ZNiUwG/UezRu8HmMcZB44HlodCCZ4GdYW"
    "4gvkF20IMBnMCLYayR4JJmcfJRb8B0gapSdmFYYMQBgkEQcX3yjnHjgjaRwOF8QcxCVzIfkWgB5MGTgjuRqcF6grdxlyEnMgkiXH"
    "HRoovCBIIAAo+RxCI1IhyiiXH0EgBxwmGGYPFBgVFWEZvRUsF4ETcxm5BrYcjAWiH0cFHiKmBeUjpwYaJYMK3CpgEYQjHQ1QIY8N"
    "hh57Desb/gz7GVAMqximC+kqihJRGVcW1xaYD54WGBWFFUQWoBaNFcoYEBcqFWsW9hQ0F8cYKQqjF3oKBxelCokiOgmcI4wI"
)

_MEAN_68 = (
    "LvxjCT78wQ8//ScWcf5pHLwAYiIhBIYnBQngK0cOWS9EFGcwOBolL1IfayuzI7kmJCd4IVcpfxuZKiMVayvsDssryQiFAAUF2wP/"
    "AgIIrQIrDIUD5g/iBHsYtARUHCADSSBRAoskxgKVJ+IERRRgCTkUjA0vFLkRIhT3FRkPlxh7EacZFhRcGrsWsBkYGaoYbwWQCUUI"
    "NAhIC0II4w1yCiML8QoLCMUKTBpbCjIdKghFICQIyyKICWAg0QpoHeEKsworHw0O1R29EWUdJxQTHtAWbR1YGtQdox3VHpwabyIf"
    "FzkkIBS/JHoReCTeDY8i6gteH6cReR8WFMof4xaIH1McER/4Fg0hEBRkIZ8RCyE="
)

_MEAN_106 = (
    "mxPSLz/68AVeAIgiUgIlJQMFoCd/B9kpJgoILLYM6i3UD0QvCvo6CQP6ggwy+soPlvoSEzb7UhYm/IoZUv21HJn+vR90K2gEkSaa"
    "IackKiRiIrAmBCARKYIdzyuwGikuZhddL88rvwcELBoL9iuoDq4r7BErKzYVYyp7GJQprBs+KK4e+wfMCSsIMwgZA2oITQVsCdQK"
    "gAkvCCMIEw0ACTAIngZTBSEH+Qp1Byf/DQPkAr4CjQaHApANFwQcCgcDmQKYAI0GFgAFDmECbArDAM4JXx9wE/kkQQ4RIRYMPyIY"
    "D0AkZRinIMIapCG6F+4jVROnIRodyx49E64fFhGOHVkNZR4oC7MflQ6AH1oVjx1iGc8dqBsLHy8Y3h46Ew8eORNqBzcTEgxwE4QQ"
    "pA8uCTUOhBLLDKwWzA5IGAQR4xiQE3YZDBfXCM8YHxJmGgwWshjGF1QWfRhdEz0Vhx7pCDweWweUGYQI9xsBCRMhcQg1HmQH/yJQ"
    "BwkexAWAG7YG3SAfBjwZ0AOnHHoCSiCVAdQjggEoJ74B9BgbAiwcXgBBIEb/LSRE/w=="
)

_MEAN_5 = "+wgcCXkeMwnaE68V0gmpHiYdyB4="


def _decode(blob: str) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(blob), dtype="<i2")
    return raw.reshape(-1, 2).astype(np.float64) / 10000.0


MEAN_FACE: dict[int, np.ndarray] = {
    n: _decode(b) for n, b in ((468, _MEAN_468), (68, _MEAN_68), (106, _MEAN_106), (5, _MEAN_5))
}

# Topology facts: FaceMesh eyebrows; inner lip contours of FaceMesh, iBUG-68 and
# InsightFace-106 (the pfld106 model's layout, checked on an open-mouth photo).
BROWS_468 = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107, 276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
MOUTH_INNER = {
    468: (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95),
    68: (60, 61, 62, 63, 64, 65, 66, 67),
    106: (65, 66, 62, 70, 69, 57, 60, 54),
}
# Points used for the unit-face fit per layout: no jaw line for 68 and 106.
FIT_POINTS = {468: np.arange(468), 68: np.arange(17, 68), 106: np.arange(33, 106), 5: np.arange(5)}


def arcface_template(size: int) -> np.ndarray:
    """insightface's norm_crop template for a ``size`` crop.

    Sizes divisible by 112 scale the 112 template; others (128, 256, ...) scale it
    by size/128 and shift x by 8*size/128 (so at 128: the 112 points + 8 px in x).
    """
    if size % 112 == 0:
        return ARCFACE_112 * (size / 112.0)
    ratio = size / 128.0
    template: np.ndarray = ARCFACE_112 * ratio + np.array([8.0 * ratio, 0.0])
    return template


def umeyama(src: np.ndarray, dst: np.ndarray, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) src -> dst, as 2x3."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_src, mu_dst = src.mean(0), dst.mean(0)
    src_c, dst_c = src - mu_src, dst - mu_dst
    u, s, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0  # no reflections
    rotation = u @ np.diag(d) @ vt
    var = src_c.var(0).sum()
    scale = float((s * d).sum() / var) if estimate_scale and var > 0 else 1.0
    mat = np.empty((2, 3))
    mat[:, :2] = scale * rotation
    mat[:, 2] = mu_dst - scale * rotation @ mu_src
    return mat


def transform_points(mat: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to (N, 2) points."""
    points = np.asarray(points, np.float64)
    out: np.ndarray = points @ mat[:, :2].T + mat[:, 2]
    return out


def invert(mat: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(mat, np.float64))


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine of ``outer(inner(p))``."""
    a = np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]])
    out: np.ndarray = a[:2]
    return out


def kps_from_landmarks(landmarks: np.ndarray) -> np.ndarray | None:
    """Five keypoints (eyes, nose tip, mouth corners; image left first) from 468/68/106 landmarks."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    if len(lm) == 468:
        return np.array([(lm[33] + lm[133]) / 2, (lm[362] + lm[263]) / 2, lm[1], lm[61], lm[291]])
    if len(lm) == 68:
        return np.array([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])
    if len(lm) == 106:
        return np.array([lm[33:43].mean(0), lm[87:97].mean(0), lm[86], lm[52], lm[61]])
    return None


def unit_to_frame(
    landmarks: np.ndarray | None, kps: np.ndarray | None, prefer: tuple[int, ...] = (468, 68, 106)
) -> np.ndarray | None:
    """Similarity from the unit-face frame (the mean faces above) to the frame, fitted to the best points the face
    has (the face's points onto the template, then inverted); the 5 keypoints are the fallback."""
    if landmarks is not None and len(landmarks) in prefer:
        n = len(landmarks)
        return invert(umeyama(np.asarray(landmarks, np.float64)[FIT_POINTS[n], :2], MEAN_FACE[n][FIT_POINTS[n]]))
    if kps is not None and len(kps) >= 5:
        return invert(umeyama(np.asarray(kps, np.float64)[:5], MEAN_FACE[5]))
    return None


@dataclass(frozen=True)
class CropGeometry:
    """Where the crop lies in a template's space at the standard coverage (2.2).

    center: the square's centre; unit: template units per coverage unit (offsets
    are in these units too); shift_y: the template's built-in vertical offset.
    """

    center: tuple[float, float]
    unit: float
    shift_y: float = 0.0


GEOMETRY = {
    "arcface_112": CropGeometry((56.0, 56.0), 112.0 / STANDARD_COVERAGE),
    "arcface_128": CropGeometry((64.0, 64.0), 128.0 / STANDARD_COVERAGE),
    "unit": CropGeometry((0.5, 0.5), 1.0),  # the unit square itself (align modes from rect; the match crop)
}
ALIGN_MODES = ("from points", "from rect", "from static rect")


def rect_to_frame(box: tuple[float, float, float, float]) -> np.ndarray:
    """Similarity from the unit square to the frame for a box, as DeepFaceLive fits it: an upright square on the
    box's centre with side (w² + h²) / (w + h) (the least-squares square through the box's corners)."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)
    side = (w * w + h * h) / (w + h)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return np.array([[side, 0.0, cx - side / 2.0], [0.0, side, cy - side / 2.0]])


def template_to_frame(template: str, landmarks: np.ndarray | None, kps: np.ndarray | None) -> np.ndarray | None:
    """Similarity from an arcface template's crop space to the frame, or None when the face lacks the points.
    (The facemesh template is DeepFaceLive's cut: dfl_align.py.)"""
    if template in ("arcface_112", "arcface_128"):
        points = kps if kps is not None else (kps_from_landmarks(landmarks) if landmarks is not None else None)
        if points is None:
            return None
        size = 112 if template == "arcface_112" else 128
        return invert(umeyama(np.asarray(points, np.float64)[:5], arcface_template(size)))
    raise ValueError(f"unknown template {template!r} (use one of {', '.join(TEMPLATES)})")


def crop_matrix(
    to_frame: np.ndarray,
    template: str,
    size: int,
    coverage: float = STANDARD_COVERAGE,
    x_offset: float = 0.0,
    y_offset: float = 0.0,
    freeze_z: bool = False,
) -> np.ndarray:
    """The 2x3 frame -> crop affine for a ``size`` x ``size`` crop.

    coverage: crop side in template units (2.2 = the template's standard crop);
    x/y offset: move the crop centre, in the same units; freeze_z: keep the crop
    upright (an axis-aligned square of the same size) instead of following roll.
    """
    geo = GEOMETRY[template]
    half = geo.unit * coverage / 2.0
    cx = geo.center[0] + geo.unit * x_offset
    cy = geo.center[1] + geo.unit * (y_offset + geo.shift_y)
    corners = np.array([[cx - half, cy - half], [cx + half, cy - half], [cx - half, cy + half]])
    tl, tr, bl = transform_points(to_frame, corners)
    if freeze_z:
        side = float(np.linalg.norm(tr - tl))
        centre = (tr + bl) / 2.0
        tl = centre - side / 2.0
        tr, bl = tl + np.array([side, 0.0]), tl + np.array([0.0, side])
    src = np.array([tl, tr, bl], np.float32)
    dst = np.array([[0, 0], [size, 0], [0, size]], np.float32)
    return cv2.getAffineTransform(src, dst).astype(np.float64)


def hull_points(landmarks: np.ndarray | None, to_unit_frame: np.ndarray | None) -> np.ndarray | None:
    """Points whose convex hull is the face: the landmarks, or the mean face (no
    forehead) mapped through the fit when the face has only keypoints."""
    if landmarks is not None and len(landmarks) >= 3:
        return np.asarray(landmarks, np.float64)[:, :2]
    if to_unit_frame is not None:
        return transform_points(to_unit_frame, MEAN_FACE[68])
    return None


def hull_mask(points: np.ndarray, size: int) -> np.ndarray:
    """Filled convex hull of ``points`` (crop pixels) as an HW float32 mask in [0, 1]."""
    mask = np.zeros((size, size), np.uint8)
    hull = cv2.convexHull(np.round(np.asarray(points) * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Filled polygon (points in order) as an HW float32 mask."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(points) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0

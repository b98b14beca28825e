"""Pure math of the morph swap: FaceMesh regions, mesh triangulation, piecewise-affine warp, masks and
the landmark-based aligned crop (colour matching is in morph_colour). No model is needed here.

Points are (N, 2) float arrays in pixels. Triangles are (T, 3) int arrays of point indices.
"""

from __future__ import annotations

import cv2
import numpy as np

# MediaPipe FaceMesh (468 points) regions, image-left eye first.
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
# Oval points above the brows: the forehead edge, pulled down by `forehead` in face_mask (hair sits there).
FOREHEAD = (10, 338, 297, 332, 284, 251, 21, 54, 103, 67, 109)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)  # image-left
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)  # image-right
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)  # image-left
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)  # image-right
BROW_CENTRE = (105, 334)  # mid-brow points, image-left first
NOSE_TIP, CHIN, FOREHEAD_TOP = 1, 152, 10
MOUTH_CORNERS = (61, 291)
OUTER_EYE_CORNERS = (33, 263)  # image-left, image-right
LIP_INNER_UP, LIP_INNER_DOWN = 13, 14
LOWER_LIP = 17  # middle of the lower lip's outer edge


def eye_centres(points: np.ndarray) -> np.ndarray:
    """(2, 2): centres of the image-left and image-right eye contours."""
    return np.stack([points[list(RIGHT_EYE)].mean(0), points[list(LEFT_EYE)].mean(0)])


def five_points(points: np.ndarray) -> np.ndarray:
    """(5, 2) ArcFace-style points from 468 landmarks: eyes, nose tip, mouth corners."""
    return np.vstack([eye_centres(points), points[[NOSE_TIP, *MOUTH_CORNERS]]]).astype(np.float32)


def open_share(points: np.ndarray, wide: float, closed: float = 0.0) -> float:
    """0 for a mouth whose inner-lip gap is at most ``closed`` pixels, rising to 1 at ``wide`` pixels."""
    gap = float(np.linalg.norm(points[LIP_INNER_UP] - points[LIP_INNER_DOWN]))
    return float(np.clip((gap - closed) / max(wide - closed, 1e-6), 0.0, 1.0))


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap divided by the face height (forehead top to chin)."""
    gap = float(np.linalg.norm(points[LIP_INNER_UP] - points[LIP_INNER_DOWN]))
    height = float(np.linalg.norm(points[FOREHEAD_TOP] - points[CHIN]))
    return gap / max(height, 1e-6)


# -- triangulation -----------------------------------------------------------------------------------------


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (T, 3) of ``points`` (indices into ``points``)."""
    pts = np.asarray(points, np.float64)
    lo, hi = pts.min(0) - 10, pts.max(0) + 10
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    # Subdiv2D returns vertex coordinates; map them back to indices (jitter-free: exact floats survive).
    lookup: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(pts):
        key = (float(np.float32(x)), float(np.float32(y)))
        if key not in lookup:  # duplicate points: keep the first
            lookup[key] = i
            subdiv.insert((float(x), float(y)))
    tris = []
    for t in subdiv.getTriangleList():
        corners = [(float(np.float32(t[k])), float(np.float32(t[k + 1]))) for k in (0, 2, 4)]
        if all(c in lookup for c in corners):  # skip triangles touching the outer super-triangle
            tris.append([lookup[c] for c in corners])
    return np.asarray(tris, np.int32).reshape(-1, 3)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Bool per point: strictly inside ``polygon`` (K, 2)."""
    poly = polygon.astype(np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(poly, (float(x), float(y)), False) > 0 for x, y in points], bool)


def drop_region(tris: np.ndarray, points: np.ndarray, region: tuple[int, ...]) -> np.ndarray:
    """Triangles whose centroid lies inside the polygon ``region`` (indices in order) removed."""
    centroids = points[tris].mean(axis=1)
    kept: np.ndarray = tris[~inside_polygon(centroids, points[list(region)])]
    return kept


def face_triangles(points: np.ndarray) -> np.ndarray:
    """Mesh of a (frontal) 468-point face without the inner mouth (the target keeps its own mouth)."""
    return drop_region(triangulate(points), points, INNER_LIPS)


# -- piecewise-affine warp ------------------------------------------------------------------------------------


def triangle_affines(src: np.ndarray, dst: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T, 2, 3) affine maps taking each triangle of ``dst`` onto the same triangle of ``src``.

    Degenerate (zero-area) destination triangles get an all-zero map; they cover no pixel.
    """
    d = np.concatenate([dst[tris], np.ones((len(tris), 3, 1))], axis=2)  # (T, 3, 3) rows [x y 1]
    s = src[tris].astype(np.float64)  # (T, 3, 2)
    det = np.linalg.det(d)
    ok = np.abs(det) > 1e-9
    out = np.zeros((len(tris), 2, 3))
    if ok.any():
        out[ok] = np.transpose(np.linalg.solve(d[ok], s[ok]), (0, 2, 1))  # d @ A^T = s
    return out


def triangle_index_map(dst: np.ndarray, tris: np.ndarray, size: int, depth: np.ndarray | None = None) -> np.ndarray:
    """(size, size) int32: which triangle covers each pixel, -1 for none.

    depth: per-point z (larger = farther, as FaceMesh gives it); triangles are drawn far to near so the
    near side of a turned head wins where the mesh folds over itself.
    """
    index = np.full((size, size), -1, np.int32)
    order = np.arange(len(tris))
    if depth is not None:
        order = np.argsort(-depth[tris].mean(axis=1), kind="stable")
    corners = np.round(dst * 16).astype(np.int32)[tris[order]]  # 4 fractional bits, drawing order
    fill = cv2.fillConvexPoly
    for t, triangle in zip(order.tolist(), corners, strict=True):
        fill(index, triangle, t, cv2.LINE_8, 4)
    return index


def warp_maps(index: np.ndarray, affines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (float32) from a triangle index map and per-triangle dst->src affines.

    Pixels outside every triangle map to -1 (outside the source: black with BORDER_CONSTANT).
    """
    h, w = index.shape
    map_x = np.full((h, w), -1.0, np.float32)
    map_y = np.full((h, w), -1.0, np.float32)
    ys, xs = np.nonzero(index >= 0)
    if len(xs):
        a = affines[index[ys, xs]]
        map_x[ys, xs] = a[:, 0, 0] * xs + a[:, 0, 1] * ys + a[:, 0, 2]
        map_y[ys, xs] = a[:, 1, 0] * xs + a[:, 1, 1] * ys + a[:, 1, 2]
    return map_x, map_y


def warp_mesh(
    src_img: np.ndarray,
    src_pts: np.ndarray,
    dst_pts: np.ndarray,
    tris: np.ndarray,
    size: int,
    depth: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``src_img`` so each triangle of ``src_pts`` lands on ``dst_pts``; a (size, size) image.

    Returns (image, index): which triangle each pixel came from, -1 outside the mesh.
    """
    index = triangle_index_map(dst_pts, tris, size, depth)
    map_x, map_y = warp_maps(index, triangle_affines(src_pts, dst_pts, tris))
    return cv2.remap(src_img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), index


def per_pixel(index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(H, W) float32: each pixel's triangle value from a triangle index map, 0 outside the mesh."""
    table = np.append(np.asarray(values, np.float32), np.float32(0))  # index -1 reads the 0 at the end
    out: np.ndarray = table[index]
    return out


def _signed_areas(pts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    area: np.ndarray = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    return area


def grazing(points_3d: np.ndarray, tris: np.ndarray, low: float = 0.25, high: float = 0.45) -> np.ndarray:
    """(T,) 1 for triangles a photo sees edge-on (the far side of a turned face: the picture holds little
    of them), 0 for those it sees face-on; by the ratio of each triangle's drawn area to its 3-D area."""
    pts = np.asarray(points_3d, np.float64)
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    true_area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    facing = np.abs(_signed_areas(pts, tris)) / np.maximum(true_area, 1e-9)
    edge_on: np.ndarray = np.clip((high - facing) / (high - low), 0.0, 1.0)
    return edge_on


def triangle_trust(
    src_pts: np.ndarray, dst_pts: np.ndarray, tris: np.ndarray, edge_on: np.ndarray, max_stretch: float = 8.0
) -> np.ndarray:
    """(T,) how far each triangle's texture can be trusted where it lands. A triangle the photo sees edge-on
    (``edge_on``, from ``grazing``: a turned photo's far side) loses trust when it lands flipped over or
    stretched from half of ``max_stretch`` to ``max_stretch`` times more than the mesh as a whole, where it
    would paint stripes. Lips and eyelids, which stretch and fold with expressions, keep it."""
    src_area, dst_area = _signed_areas(src_pts, tris), _signed_areas(dst_pts, tris)
    scale = abs(dst_area.sum()) / max(abs(src_area.sum()), 1e-9)
    stretch = np.abs(dst_area) / np.maximum(np.abs(src_area) * scale, 1e-9)
    sound = np.clip((max_stretch - stretch) / (max_stretch / 2), 0.0, 1.0)
    sound[np.sign(src_area) != np.sign(dst_area)] = 0.0
    trust: np.ndarray = 1.0 - edge_on * (1.0 - sound)
    return trust


def smooth_warp(
    image: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray, tris: np.ndarray, step: int = 2
) -> np.ndarray:
    """``image`` warped so each triangle of ``src_pts`` lands on ``dst_pts``, unchanged outside the mesh.

    For gentle, smooth moves (the mesh must keep its outer edge in place): the map is built at 1/``step``
    of the size and scaled up, which is exact inside each triangle and costs a quarter at step 2.
    """
    h, w = image.shape[:2]
    small = -(-max(h, w) // step)
    index = triangle_index_map(dst_pts / step, tris, small)
    map_x, map_y = warp_maps(index, triangle_affines(src_pts / step, dst_pts / step, tris))
    outside = index < 0
    grid_y, grid_x = np.mgrid[0:small, 0:small].astype(np.float32)
    map_x[outside], map_y[outside] = grid_x[outside], grid_y[outside]
    big = (small * step, small * step)
    # pixel centres: full-size x maps to (x + 0.5) / step - 0.5 in the small map, and back
    map_x = (cv2.resize(map_x, big, interpolation=cv2.INTER_LINEAR) + 0.5) * step - 0.5
    map_y = (cv2.resize(map_y, big, interpolation=cv2.INTER_LINEAR) + 0.5) * step - 0.5
    return cv2.remap(image, map_x[:h, :w], map_y[:h, :w], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# -- masks -------------------------------------------------------------------------------------------------


def hull_polygon(points: np.ndarray, forehead: float = 0.0) -> np.ndarray:
    """The face oval (K, 2), its forehead points moved ``forehead`` of the way down to the brows."""
    poly: np.ndarray = points[list(FACE_OVAL)].astype(np.float64).copy()
    if forehead > 0:
        brow_y = points[list(BROW_CENTRE)].mean(0)
        for k, idx in enumerate(FACE_OVAL):
            if idx in FOREHEAD:
                poly[k] += forehead * (brow_y - poly[k]) * np.array([0.25, 1.0])  # mostly down, a bit inward
    return poly


def fill_polygon(size: int, polygon: np.ndarray) -> np.ndarray:
    """(size, size) float32 mask, 1 inside ``polygon``."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def feather(mask: np.ndarray, erode: float, blur: float) -> np.ndarray:
    """Erode by ``erode`` px (negative dilates), then Gaussian-blur by ``blur`` px; float32 [0,1]."""
    out: np.ndarray = mask.astype(np.float32)
    e = round(abs(erode))
    if e:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * e + 1, 2 * e + 1))
        out = cv2.erode(out, kernel) if erode > 0 else cv2.dilate(out, kernel)
    b = round(blur)
    if b:
        out = cv2.GaussianBlur(out, (0, 0), b / 2.0)
    out = np.clip(out, 0.0, 1.0)
    return out


def face_mask(
    points: np.ndarray,
    size: int,
    forehead: float = 0.3,
    mouth_hole: bool = True,
    erode: float = 0.0,
    blur: float = 0.0,
    mouth_grow: float = 0.0,
    within: np.ndarray | None = None,
    mouth_blur: float = 0.0,
) -> np.ndarray:
    """Where the morphed face goes: the landmark hull (forehead lowered; only ``within`` that mask before
    it is feathered), minus the inner mouth grown by ``mouth_grow`` pixels (room for landmarks that lag
    behind a fast-moving mouth)."""
    mask = fill_polygon(size, hull_polygon(points, forehead))
    if within is not None:
        mask = mask * within
    mask = feather(mask, erode, blur)
    if mouth_hole:
        mouth = fill_polygon(size, points[list(INNER_LIPS)])
        mouth = feather(mouth, -max(1.0, size / 256) - mouth_grow, max(1.0, size / 128, mouth_blur))
        mask = mask * (1.0 - mouth)
    return mask


def lip_gap(points: np.ndarray, size: int, margin: float) -> np.ndarray:
    """(size, size) float mask of the inner mouth grown by ``margin`` of the mouth's width: where a photo's
    teeth and the line between its lips are, which would show an open or a smiling mouth on every frame."""
    width = float(np.linalg.norm(points[MOUTH_CORNERS[1]] - points[MOUTH_CORNERS[0]]))
    grow = margin * width
    return feather(fill_polygon(size, points[list(INNER_LIPS)]), -grow, grow)


def crop_transform(points: np.ndarray, size: int, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """Similarity (mat frame->crop, inverse crop->frame) that puts the face upright in a square crop.

    Rotation from the eye line; the face oval's larger side spans ``size / coverage`` pixels, centred.
    """
    eyes = eye_centres(points)
    dx, dy = eyes[1] - eyes[0]
    angle = np.arctan2(dy, dx)
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    oval = points[list(FACE_OVAL)] @ rot.T
    lo, hi = oval.min(0), oval.max(0)
    extent = max(float((hi - lo).max()), 1.0)
    scale = size / (coverage * extent)
    centre = (lo + hi) / 2
    mat = np.zeros((2, 3))
    mat[:, :2] = scale * rot
    mat[:, 2] = size / 2 - scale * centre
    return mat, cv2.invertAffineTransform(mat)


def visible_share(points: np.ndarray, width: int, height: int) -> float:
    """Share (0..1) of the face oval's convex hull that lies inside a width x height frame."""
    hull = cv2.convexHull(points[list(FACE_OVAL)].astype(np.float32))
    area = float(cv2.contourArea(hull))
    if area <= 0:
        return 0.0
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32).reshape(-1, 1, 2)
    inside, _ = cv2.intersectConvexConvex(hull, frame)
    return float(inside) / area


def transform_points(points: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to (N, 2) points."""
    out: np.ndarray = points @ mat[:, :2].T + mat[:, 2]
    return out

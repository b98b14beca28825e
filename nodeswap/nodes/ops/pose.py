"""Head pose and 5-point keypoints from facial landmarks.

Pose convention (degrees, camera looking at the face, image y down):
yaw > 0: the face turns toward the image's right side; pitch > 0: it looks up;
roll > 0: it tilts clockwise on screen. Frontal face: (0, 0, 0).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Landmark indices for the 5 keypoints (image-left eye, image-right eye, nose tip,
# image-left mouth corner, image-right mouth corner) of an unmirrored face; each
# entry is averaged. FaceMesh: eye corners 33/133 and 362/263, nose tip 1, mouth
# corners 61/291. iBUG-68: eyes 36-41 / 42-47, nose tip 30, mouth 48/54.
# InsightFace-106 (the pfld106 layout, checked on photos): eyes 33-42 / 87-96,
# nose tip 86, mouth corners 52/61.
KPS_INDICES: dict[str, tuple[tuple[int, ...], ...]] = {
    "facemesh": ((33, 133), (362, 263), (1,), (61,), (291,)),
    "68": (tuple(range(36, 42)), tuple(range(42, 48)), (30,), (48,), (54,)),
    "106": (tuple(range(33, 43)), tuple(range(87, 97)), (86,), (52,), (61,)),
}

# A generic head in millimetres, x to the image right, y down, z away from the
# camera (a rough anthropometric average, good to about 10 degrees): outer and
# inner eye corners, nose tip, mouth corners, chin.
GENERIC_HEAD = np.array(
    [
        [-45.0, -35.0, 12.0],
        [-15.0, -33.0, 4.0],
        [15.0, -33.0, 4.0],
        [45.0, -35.0, 12.0],
        [0.0, 5.0, -22.0],
        [-25.0, 32.0, 6.0],
        [25.0, 32.0, 6.0],
        [0.0, 72.0, 6.0],
    ]
)
# Landmark indices matching GENERIC_HEAD's rows, per layout.
PNP_INDICES: dict[str, tuple[int, ...]] = {
    "68": (36, 39, 42, 45, 30, 48, 54, 8),
    "106": (35, 39, 89, 93, 86, 52, 61, 0),
}


def kps_from_landmarks(landmarks: np.ndarray, layout: str) -> np.ndarray:
    """(5,2) keypoints from (N,2+) landmarks of ``layout`` ("facemesh", "68", "106")."""
    points = np.asarray(landmarks, np.float64)[:, :2]
    kps = np.stack([points[list(group)].mean(axis=0) for group in KPS_INDICES[layout]])
    if kps[0, 0] > kps[1, 0]:  # a mirrored face: keep image-left first
        kps[[0, 1]] = kps[[1, 0]]
        kps[[3, 4]] = kps[[4, 3]]
    return kps.astype(np.float32)


def euler_from_axes(x_axis: np.ndarray, y_axis: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) of a face whose right-pointing axis (image-left cheek to
    image-right cheek) and downward axis (brow to chin) are given in camera
    coordinates (x right, y down, z away from the camera)."""
    x = np.asarray(x_axis, np.float64)
    x = x / max(float(np.linalg.norm(x)), 1e-12)
    z = np.cross(x, np.asarray(y_axis, np.float64))
    z = z / max(float(np.linalg.norm(z)), 1e-12)  # points into the head, away from the camera
    yaw = math.degrees(math.atan2(-z[0], z[2]))
    pitch = math.degrees(math.atan2(z[1], math.hypot(z[0], z[2])))
    roll = math.degrees(math.atan2(x[1], x[0]))
    return yaw, pitch, roll


# The forehead (10) -> chin (152) line leans away from the camera's vertical on an
# upright face; this tilt (degrees) makes FaceMesh pitch agree with the solvePnP
# pitch of pfld68/pfld106 (median over 100 real photos and their mirrors).
FACEMESH_PITCH_TILT = 14.0


def facemesh_pose(landmarks_3d: np.ndarray) -> tuple[float, float, float]:
    """Pose from FaceMesh's 468 3D points: cheek 234 -> cheek 454 and forehead 10 -> chin 152."""
    points = np.asarray(landmarks_3d, np.float64)
    x = points[454] - points[234]
    y = points[152] - points[10]
    x = x / max(np.linalg.norm(x), 1e-12)
    y = y - x * np.dot(x, y)
    y = y / max(np.linalg.norm(y), 1e-12)
    z = np.cross(x, y)
    tilt = math.radians(FACEMESH_PITCH_TILT)
    return euler_from_axes(x, math.cos(tilt) * y - math.sin(tilt) * z)


def pnp_pose(landmarks: np.ndarray, layout: str) -> tuple[float, float, float] | None:
    """Pose from 2D landmarks (68 or 106) fitted to ``GENERIC_HEAD`` with solvePnP.

    The camera is nearly orthographic (long focal length, centred on the face),
    so a face's place in the frame does not bias its angles. None if the fit fails.
    """
    points = np.asarray(landmarks, np.float64)[list(PNP_INDICES[layout]), :2]
    centre = points.mean(axis=0)
    eye_span = float(np.linalg.norm(points[3] - points[0])) or 1.0
    focal = 20.0 * eye_span
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]])
    # start from a frontal head at the distance its eye span implies: no upside-down fits
    model_span = float(np.linalg.norm(GENERIC_HEAD[3] - GENERIC_HEAD[0]))
    rvec: np.ndarray = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [focal * model_span / eye_span]])
    ok, rvec, _ = cv2.solvePnP(
        GENERIC_HEAD, points, camera, None, rvec, tvec, useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    return euler_from_axes(rotation[:, 0], rotation[:, 1])

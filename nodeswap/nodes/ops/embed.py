"""Face identity embeddings (MobileFaceNet, ArcFace) and finding the face in a still photo.

Both recognisers take the ArcFace 5-point crop at 112 x 112 in RGB, NCHW:
MobileFaceNet (128-d) wants (x - 127.5) / 128, ArcFace w600k_r50 (512-d)
wants (x - 127.5) / 127.5. Embeddings are returned L2-normalised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.models import model_path
from nodeswap.types import Face

from . import align

MOBILEFACENET_STD = 128.0
ARCFACE_STD = 127.5
_MAX_PHOTO_SIDE = 1280  # photos are searched for faces at most this large


def normalize(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def face_kps(face: Face) -> np.ndarray | None:
    """The face's 5 keypoints, from its landmarks when the detector gave none."""
    if face.kps is not None:
        return np.asarray(face.kps, np.float64)[:5]
    if face.landmarks is not None:
        return align.kps_from_landmarks(np.asarray(face.landmarks)[:, :2])
    return None


def arcface_crop(image: np.ndarray, kps: np.ndarray, size: int = 112) -> tuple[np.ndarray, np.ndarray]:
    """insightface's norm_crop: the ``size`` crop whose keypoints sit on the ArcFace template, and its matrix."""
    mat = align.umeyama(np.asarray(kps, np.float64)[:5], align.arcface_template(size))
    return cv2.warpAffine(image, mat, (size, size), flags=cv2.INTER_LINEAR, borderValue=0), mat


def match_crop(
    image: np.ndarray, kps: np.ndarray, coverage: float, x_offset: float, y_offset: float, size: int = 112
) -> np.ndarray:
    """DeepFaceLive's source crop for the InsightFace swapper (its Match C/X/Y): ``coverage`` times the unit face
    square, moved by the offsets in its widths and heights, upright to the face."""
    to_frame = align.unit_to_frame(None, kps)
    assert to_frame is not None  # five keypoints always fit
    mat = align.crop_matrix(to_frame, "unit", size, coverage, x_offset, y_offset)
    return cv2.warpAffine(image, mat, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def to_blob(crop_bgr: np.ndarray, std: float) -> np.ndarray:
    """BGR uint8 HWC -> RGB float32 NCHW, (x - 127.5) / std."""
    rgb = crop_bgr[..., ::-1].astype(np.float32)
    return np.ascontiguousarray(((rgb - 127.5) / std).transpose(2, 0, 1)[None])


class Recognizer:
    """An ONNX face recogniser on ArcFace 112 crops: ``embed(image, kps)`` -> unit vector."""

    def __init__(self, sess: Any, std: float, node_id: str = "", name: str = "recogniser") -> None:
        inputs = sess.get_inputs()
        shape = list(inputs[0].shape) if inputs else []
        fits = len(shape) == 4 and all(
            not isinstance(d, int) or d == w for d, w in zip(shape[1:], (3, 112, 112), strict=True)
        )
        if len(inputs) != 1 or not fits:
            got = ", ".join(f"{i.name} {list(i.shape)}" for i in inputs)
            raise NodeLoadError(node_id, f"{name}: expected one input [1,3,112,112], got {got}")
        self.session = sess
        self.input = inputs[0].name
        self.std = std

    def embed_crop(self, crop_bgr: np.ndarray) -> np.ndarray:
        return normalize(self.session.run(None, {self.input: to_blob(crop_bgr, self.std)})[0])

    def embed(self, image: np.ndarray, kps: np.ndarray) -> np.ndarray:
        return self.embed_crop(arcface_crop(image, kps, 112)[0])


def read_image(path: str | Path, node_id: str, what: str = "image") -> np.ndarray:
    """A colour image from disk or a NodeLoadError naming the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise NodeLoadError(node_id, f"{what} not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise NodeLoadError(node_id, f"{what} {path} is not an image OpenCV can read")
    return image


def photo_faces(image: np.ndarray, node_id: str = "", min_score: float = 0.6) -> list[Face]:
    """Faces in a still photo, largest first: YuNet through OpenCV's FaceDetectorYN."""
    detector_file = model_path("yunet", node_id)
    scale = min(1.0, _MAX_PHOTO_SIDE / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    height, width = small.shape[:2]
    try:
        detector = cv2.FaceDetectorYN.create(str(detector_file), "", (width, height), min_score, 0.3, 100)
        detector.setInputSize((width, height))
        _, rows = detector.detect(small)
    except cv2.error as exc:
        raise NodeLoadError(node_id, f"face detection in the photo failed: {str(exc).strip()[:200]}") from None
    faces = []
    for row in [] if rows is None else rows:
        x, y, w, h = (float(v) / scale for v in row[:4])
        faces.append(Face(box=(x, y, x + w, y + h), score=float(row[14]), kps=row[4:14].reshape(5, 2) / scale))
    return sorted(faces, key=lambda f: -f.width * f.height)


def largest_face(path: str | Path, node_id: str, what: str) -> tuple[np.ndarray, Face]:
    """The photo at ``path`` and its largest face, or a NodeLoadError naming the file."""
    image = read_image(path, node_id, what)
    faces = photo_faces(image, node_id)
    if not faces:
        raise NodeLoadError(node_id, f"no face found in the {what} {path}")
    return image, faces[0]

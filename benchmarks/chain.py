"""The face-swap chain the benchmarks run: detect (YuNet) -> FaceMesh -> swapper -> merge.

It uses the project's own nodes (``detect.face``, ``mark.face``, ``merge.faces``) when they are
in the registry, and small stand-ins otherwise, so the swap can be measured before every stage
has landed. Each stage's time is recorded per frame.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodeswap.models import model_path
from nodeswap.node import LoadContext, Node
from nodeswap.nodes.ops import morph
from nodeswap.registry import load_registry
from nodeswap.runtime import session
from nodeswap.types import Face, Frame


def read_video(path: Path, limit: int = 0) -> list[np.ndarray]:
    """Every frame of a video (BGR), or the first ``limit``."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok or (limit and len(frames) >= limit):
            break
        frames.append(image)
    cap.release()
    return frames


def facemesh_landmarks(image: np.ndarray, box: np.ndarray, kps: np.ndarray, device: str = "cpu") -> np.ndarray:
    """(468, 3) FaceMesh landmarks of the face in ``box`` (x, y, w, h): the judge's own call, independent of
    the marker node (a crop rotated upright by the eye keypoints, 1.4 x the box, no smoothing)."""
    sess = session(model_path("facemesh"), device)
    x, y, w, h = box
    centre = np.array([x + w / 2, y + h / 2])
    side = max(w, h) * 1.4
    angle = np.degrees(np.arctan2(kps[1, 1] - kps[0, 1], kps[1, 0] - kps[0, 0]))
    mat = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), 192 / side)
    mat[:, 2] += 96 - centre
    crop = cv2.warpAffine(image, mat, (192, 192), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    feed = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255.0
    raw = sess.run(None, {sess.get_inputs()[0].name: feed})[0].reshape(468, 3)
    points = morph.transform_points(raw[:, :2].astype(np.float64), cv2.invertAffineTransform(mat))
    return np.column_stack([points, raw[:, 2] * side / 192])


class YuNet:
    """Minimal YuNet (OpenCV's FaceDetectorYN) on the full frame: (box x1,y1,x2,y2, kps (5,2), score)."""

    def __init__(self, threshold: float = 0.6) -> None:
        self._det = cv2.FaceDetectorYN.create(str(model_path("yunet")), "", (320, 320), threshold, 0.3, 50)

    def __call__(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        self._det.setInputSize((image.shape[1], image.shape[0]))
        _, found = self._det.detect(image)
        if found is None:
            return []
        out = [(np.array([r[0], r[1], r[0] + r[2], r[1] + r[3]]), r[4:14].reshape(5, 2), float(r[14])) for r in found]
        return sorted(out, key=lambda f: -(f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))


def paste_back(image: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray:
    """Stand-in merger: each Face.swapped warped back through Face.aligned.inverse with its mask."""
    out = image.astype(np.float32)
    h, w = image.shape[:2]
    for face in faces:
        if face.swapped is None or face.aligned is None:
            continue
        inv = face.aligned.inverse
        face_img = cv2.warpAffine(
            face.swapped.image, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        mask = face.swapped.mask if face.swapped.mask is not None else np.ones(face.swapped.image.shape[:2], np.float32)
        alpha = cv2.warpAffine(mask, inv, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        out = out * (1 - alpha) + face_img.astype(np.float32) * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass
class Chain:
    """detect -> mark -> swap -> merge, with per-stage milliseconds in ``times``."""

    swapper: Node
    device: str = "cpu"
    use_project_nodes: bool = True
    marker_params: dict[str, Any] = field(default_factory=dict)
    merger_params: dict[str, Any] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stages: dict[str, str] = field(default_factory=dict)  # stage -> what runs it

    def __post_init__(self) -> None:
        registry = load_registry(plugins=False) if self.use_project_nodes else None
        self._detector = self._node(registry, "detect.face", {"model": "yunet", "device": self.device})
        self._marker = self._node(registry, "mark.face", {"device": self.device, **self.marker_params})
        self._merger = self._node(registry, "merge.faces", self.merger_params)
        self._yunet = None if self._detector else YuNet()
        self.stages = {
            "detect": "detect.face" if self._detector else "YuNet stand-in (cv2.FaceDetectorYN)",
            "mark": "mark.face" if self._marker else "FaceMesh stand-in (benchmarks.chain.facemesh_landmarks)",
            "swap": self.swapper.type_id,
            "merge": "merge.faces" if self._merger else "feathered paste-back stand-in",
        }
        self.swapper.load(LoadContext(self.swapper.id, live=False))

    @staticmethod
    def _node(registry: Any, type_id: str, params: dict[str, Any]) -> Node | None:
        cls = registry.get(type_id) if registry is not None else None
        if cls is None:
            return None
        known = {p.name for p in cls.params}
        node = cls(type_id, {k: v for k, v in params.items() if k in known})
        node.load(LoadContext(type_id, live=False))
        return node

    def _timed(self, stage: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self.times[stage].append((time.perf_counter() - start) * 1000)
        return result

    def detect_and_mark(self, frame: Frame) -> tuple[Face, ...]:
        if self._detector is not None:
            faces = self._timed("detect", self._detector.process, frame=frame)["faces"]
        else:
            found = self._timed("detect", self._yunet, frame.image)
            faces = tuple(Face(box=tuple(b), score=s, kps=k, track_id=i) for i, (b, k, s) in enumerate(found[:1]))
        if self._marker is not None:
            return self._timed("mark", self._marker.process, frame=frame, faces=faces)["faces"]
        return self._timed("mark", self._mark_fallback, frame.image, faces)

    def _mark_fallback(self, image: np.ndarray, faces: tuple[Face, ...]) -> tuple[Face, ...]:
        out = []
        for face in faces:
            x1, y1, x2, y2 = face.box
            points = facemesh_landmarks(image, np.array([x1, y1, x2 - x1, y2 - y1]), face.kps, self.device)
            out.append(replace(face, landmarks=points[:, :2], landmarks_3d=points))
        return tuple(out)

    def run(self, frame: Frame) -> tuple[np.ndarray, tuple[Face, ...]]:
        """The output image of one frame and the faces the swapper returned."""
        faces = self.detect_and_mark(frame)
        swapped = self._timed("swap", self.swapper.process, frame=frame, faces=faces)["faces"]
        if self._merger is not None:
            merged = self._timed("merge", self._merger.process, frame=frame, faces=swapped)["frame"].image
        else:
            merged = self._timed("merge", paste_back, frame.image, swapped)
        return merged, swapped

    def close(self) -> None:
        for node in (self._detector, self._marker, self._merger, self.swapper):
            if node is not None:
                node.unload()

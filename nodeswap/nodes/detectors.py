"""Face detector node: finds faces in a frame, tracks and smooths them over time."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.models import first_model
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.ops import detect
from nodeswap.nodes.ops.detect import Detections
from nodeswap.nodes.ops.detect_models import DETECTORS, MODEL_CHOICES, DetectorSpec, Variant, run_model
from nodeswap.nodes.ops.track import SORT_MODES, IoUTracker, MovingAverage, TrackSmoother, flow_shift, sort_order
from nodeswap.nodes.values import FaceDetectorValues
from nodeswap.runtime import DEVICES, session
from nodeswap.types import FACES, FRAME, Face, Frame

log = logging.getLogger(__name__)

FLOW_WIDTH = 320  # frames are shrunk to about this width for the optical flow between detections


@dataclass
class _Tracked:
    """One face carried from frame to frame (frame pixels)."""

    track_id: int
    box: np.ndarray
    score: float
    kps: np.ndarray | None


class FaceDetector(Node):
    """Finds faces in each frame: boxes, scores, 5 keypoints, stable track ids.

    Models: yunet (default, fast), retinaface, scrfd, centerface, blazeface (close-ups),
    ultraface (boxes only), yolov5face, s3fd (boxes only). Optional One-Euro smoothing of boxes and
    keypoints, IoU tracking for stable ids, and "detect every N frames" which moves
    the tracked faces by the optical flow of their points in between.
    """

    type_id = "detect.face"
    key_params = ("model", "threshold")
    values: FaceDetectorValues
    title = "Face Detector"
    category = "detector"
    inputs = (Port("frame", FRAME, "Frame to search"),)
    outputs = (Port("faces", FACES, "Faces found, sorted; kps = eyes, nose, mouth corners (image-left first)"),)
    params = (
        Param("device", "choice", "auto", choices=DEVICES, reload=True, help="Where the model runs"),
        Param("model", "choice", "yunet", choices=MODEL_CHOICES, reload=True, help="Detector network"),
        Param("threshold", "float", 0.5, min=0.01, max=1.0, step=0.01, help="Minimum face score"),
        Param("nms_iou", "float", 0.4, min=0.05, max=0.95, step=0.05, help="Overlap above which boxes are merged"),
        Param(
            "max_faces",
            "int",
            1,
            min=0,
            max=256,
            help="Keep at most this many faces after sorting (0 = all; 1, as in DeepFaceLive, leaves bystanders alone)",
        ),
        Param("min_size", "int", 0, min=0, max=4096, help="Drop faces smaller than this (pixels, shorter side)"),
        Param(
            "window",
            "int",
            480,
            min=0,
            max=4096,
            step=32,
            help="Detection size: the longer side the frame is scaled to (multiple of 32; never enlarged; 0 = the "
            "frame's own size). Models with a fixed input (blazeface 128, ultraface 320x240, yolov5face 320) ignore it",
        ),
        Param("sort_by", "choice", "largest", choices=SORT_MODES, help="Order of the faces (first = face 0)"),
        Param("smoothing", "bool", True, help="Smooth boxes and keypoints over time (One-Euro filter)"),
        Param(
            "min_cutoff", "float", 1.0, min=0.01, max=30.0, step=0.1, help="Smoothing: lower = steadier when still (Hz)"
        ),
        Param(
            "beta",
            "float",
            1.0,
            min=0.0,
            max=50.0,
            step=0.1,
            help="Smoothing: higher = less lag when moving (per face size per second)",
        ),
        Param(
            "temporal_smoothing",
            "int",
            1,
            min=1,
            max=150,
            help="DeepFaceLive's smoothing: average boxes and keypoints over this many frames (1 = off); "
            "steadier but lags a moving head. The One-Euro smoothing above lags less",
        ),
        Param(
            "track_ids",
            "bool",
            True,
            help="Stable face ids across frames by box overlap (off: id = position in the sorted list)",
        ),
        Param(
            "every_n",
            "int",
            1,
            min=1,
            max=30,
            help="Run the detector every N frames; in between, faces follow the optical flow",
        ),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._session: Any = None
        self._spec: DetectorSpec | None = None
        self._variant: Variant | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._tracker = IoUTracker()
        self._smoother = TrackSmoother()
        self._average = MovingAverage()
        self._tracked: list[_Tracked] = []
        self._since_detect = 0
        self._prev_grey: np.ndarray | None = None
        self._prev_source = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def required_models(self) -> list[tuple[str, ...]]:
        return [tuple(candidate.file for candidate in DETECTORS[self.values["model"]].variants)]

    def load(self, ctx: LoadContext) -> None:
        spec = DETECTORS[self.values["model"]]
        index, path = first_model(self.required_models()[0], self.id)
        variant = spec.variants[index]
        try:
            self._session = session(path, self.values["device"], prepare=spec.prepare)
        except NodeLoadError as exc:
            raise NodeLoadError(self.id, str(exc)) from None
        self._spec, self._variant = spec, variant
        if spec.note:
            log.info("%s: %s (%s)", self.id, spec.note, path.name)
        self._reset_state()

    def unload(self) -> None:
        self._session = None
        self._reset_state()

    def params_changed(self, changed: set[str]) -> None:
        if changed & {"track_ids", "every_n"}:
            self._since_detect = 0

    # -- per frame -------------------------------------------------------------------------------
    def detect(self, image: np.ndarray) -> Detections:
        """Raw detections for one image in frame pixels, after NMS and the size filter."""
        if self._session is None or self._spec is None or self._variant is None:
            raise NodeLoadError(self.id, "the detector is not loaded")
        v = self.values
        dets = run_model(self._spec, self._variant, self._session, image, v["window"], v["threshold"])
        dets = detect.postprocess(dets, v["nms_iou"])
        height, width = image.shape[:2]
        boxes = dets.boxes.copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        keep = np.nonzero(sides >= max(v["min_size"], 2))[0]
        return Detections(boxes, dets.scores, dets.kps).take(keep)

    def process(self, frame: Frame) -> dict[str, Any]:
        image = frame.image
        if frame.source != self._prev_source:
            self._reset_state()
            self._prev_source = frame.source
        grey, flow_scale = self._flow_image(image)
        every_n = self.values["every_n"]
        if every_n > 1 and self._tracked and self._since_detect < every_n and self._prev_grey is not None:
            self._follow_flow(grey, flow_scale, image.shape)
            self._since_detect += 1
        else:
            self._tracked = self._track(self.detect(image))
            self._since_detect = 1
        self._prev_grey = grey if every_n > 1 else None
        return {"faces": self._output(frame)}

    def _track(self, dets: Detections) -> list[_Tracked]:
        ids = self._tracker.update(dets.boxes)
        return [
            _Tracked(
                ids[i],
                dets.boxes[i].astype(np.float64),
                float(dets.scores[i]),
                None if dets.kps is None else dets.kps[i].astype(np.float64),
            )
            for i in range(len(dets))
        ]

    def _flow_image(self, image: np.ndarray) -> tuple[np.ndarray | None, float]:
        if self.values["every_n"] <= 1:
            return None, 1.0
        scale = min(1.0, FLOW_WIDTH / image.shape[1])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), scale

    def _follow_flow(self, grey: np.ndarray | None, scale: float, shape: tuple[int, ...]) -> None:
        """Move the tracked faces by optical flow (between two detections)."""
        assert grey is not None and self._prev_grey is not None
        boxes = [t.box * scale for t in self._tracked]
        kps = [None if t.kps is None else t.kps * scale for t in self._tracked]
        new_boxes, new_kps = flow_shift(self._prev_grey, grey, boxes, kps)
        height, width = shape[:2]
        for tracked, box, points in zip(self._tracked, new_boxes, new_kps, strict=True):
            tracked.box = np.asarray(box) / scale
            tracked.box[[0, 2]] = tracked.box[[0, 2]].clip(0, width)
            tracked.box[[1, 3]] = tracked.box[[1, 3]].clip(0, height)
            tracked.kps = None if points is None else np.asarray(points) / scale
        self._tracker.update(np.array([t.box for t in self._tracked]).reshape(-1, 4))

    def _output(self, frame: Frame) -> tuple[Face, ...]:
        v = self.values
        now = frame.clock
        extra = {"kps_estimated": True} if self._spec is not None and self._spec.kps_estimated else {}
        faces = []
        for tracked in self._tracked:
            box, kps = tracked.box, tracked.kps
            if v["smoothing"]:
                size = float(max(box[2] - box[0], box[3] - box[1], 1.0))
                box = self._smoother.smooth(tracked.track_id, "box", box, now, size, v["min_cutoff"], v["beta"])
                if kps is not None:
                    kps = self._smoother.smooth(tracked.track_id, "kps", kps, now, size, v["min_cutoff"], v["beta"])
            if v["temporal_smoothing"] > 1:
                box = self._average.average(tracked.track_id, "box", box, v["temporal_smoothing"])
                if kps is not None:
                    kps = self._average.average(tracked.track_id, "kps", kps, v["temporal_smoothing"])
            faces.append(
                Face(
                    box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                    score=tracked.score,
                    kps=None if kps is None else np.asarray(kps, np.float32),
                    track_id=tracked.track_id,
                    extra=dict(extra),
                )
            )
        self._smoother.end_frame()
        self._average.end_frame()
        order = sort_order(np.array([f.box for f in faces]).reshape(-1, 4), v["sort_by"], frame.size)
        faces = [faces[i] for i in order]
        if v["max_faces"]:
            faces = faces[: v["max_faces"]]
        if not v["track_ids"]:
            faces = [replace(f, track_id=index) for index, f in enumerate(faces)]
        return tuple(faces)


NODE_TYPES = [FaceDetector]

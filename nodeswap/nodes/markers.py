"""Face marker node: dense landmarks and head pose for each detected face."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.models import model_path
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.ops.marker_models import MARKERS, MarkerSpec, run_marker
from nodeswap.nodes.ops.pose import facemesh_pose, kps_from_landmarks, pnp_pose
from nodeswap.nodes.ops.track import MovingAverage, TrackSmoother
from nodeswap.nodes.values import FaceMarkerValues
from nodeswap.runtime import DEVICES, session
from nodeswap.types import FACES, FRAME, LANDMARKS, Cap, Face, Frame


class FaceMarker(Node):
    """Adds landmarks and head pose to each face (FaceMesh 468, PFLD 68 or 106 points).

    Each face is cut from the frame as an upright square around its box (marker
    coverage x box size), run through the network and mapped back to frame
    pixels. Fills the 5 keypoints from the landmarks when the detector gave none
    (or only estimated them, as BlazeFace does for the mouth corners).
    """

    type_id = "mark.face"
    key_params = ("model",)
    values: FaceMarkerValues
    title = "Face Marker"
    category = "marker"
    inputs = (Port("frame", FRAME, "Frame the faces were found in"), Port("faces", FACES, "Faces with boxes"))
    outputs = (Port("faces", FACES, "Faces with landmarks, landmarks_3d (FaceMesh), pose and kps"),)
    params = (
        Param("device", "choice", "auto", choices=DEVICES, reload=True, help="Where the model runs"),
        Param(
            "model",
            "choice",
            "facemesh",
            choices=tuple(MARKERS),
            reload=True,
            help="facemesh: 468 3D points; pfld68: 68 points; pfld106: 106 points",
        ),
        Param(
            "coverage",
            "float",
            0.0,
            min=0.0,
            max=3.0,
            step=0.05,
            help="Crop size around the box, times the box size (0 = the model's default: "
            "facemesh 1.4, pfld68 1.2, pfld106 1.0)",
        ),
        Param("smoothing", "bool", True, help="Smooth landmarks over time (One-Euro filter)"),
        Param(
            "min_cutoff",
            "float",
            8.0,
            min=0.01,
            max=30.0,
            step=0.1,
            help="Smoothing of where the face is and its size: lower = steadier when still, higher = no lag on a "
            "moving head (Hz)",
        ),
        Param(
            "beta",
            "float",
            2.0,
            min=0.0,
            max=50.0,
            step=0.1,
            help="Smoothing: higher = less lag when moving (per face size per second)",
        ),
        Param(
            "shape_cutoff",
            "float",
            10.0,
            min=0.5,
            max=30.0,
            step=0.5,
            help="Smoothing of the face's shape around its position (blinks, speech): higher = follows faster, "
            "lower = steadier (Hz); the position and size use min_cutoff",
        ),
        Param(
            "temporal_smoothing",
            "int",
            1,
            min=1,
            max=150,
            help="DeepFaceLive's smoothing: average the landmarks over this many frames, relative to the face's "
            "box (1 = off)",
        ),
    )

    @classmethod
    def provides(cls, port: str, values: dict[str, Any]) -> dict[str, Cap]:
        layout = MARKERS[values["model"]].layout  # how many points the model gives
        return {LANDMARKS: Cap("468" if layout == "facemesh" else layout, f"model {values['model']}")}

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._session: Any = None
        self._spec: MarkerSpec | None = None
        self._smoother = TrackSmoother()
        self._average = MovingAverage()

    def required_models(self) -> list[tuple[str, ...]]:
        return [(MARKERS[self.values["model"]].file,)]

    def load(self, ctx: LoadContext) -> None:
        spec = MARKERS[self.values["model"]]
        path = model_path(spec.file, self.id)
        try:
            self._session = session(path, self.values["device"])
        except NodeLoadError as exc:
            raise NodeLoadError(self.id, str(exc)) from None
        names = [o.name for o in self._session.get_outputs()]
        if spec.output and spec.output not in names:
            raise NodeLoadError(self.id, f"model {path.name} has no output '{spec.output}' (outputs: {names})")
        self._spec = spec
        self._smoother.reset()

    def unload(self) -> None:
        self._session = None
        self._smoother.reset()

    def coverage(self) -> float:
        assert self._spec is not None
        return self.values["coverage"] or self._spec.coverage

    def landmarks(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """Landmarks (N,2) or (N,3) for FaceMesh, in frame pixels, for the face in ``box``."""
        if self._session is None or self._spec is None:
            raise NodeLoadError(self.id, "the marker is not loaded")
        return run_marker(self._session, self._spec, image, box, self.coverage())

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        if self._spec is None:
            raise NodeLoadError(self.id, "the marker is not loaded")
        v = self.values
        layout = self._spec.layout
        now = frame.clock
        out = []
        for face in faces:
            points = self.landmarks(frame.image, face.box)
            if v["smoothing"]:
                size = float(max(face.width, face.height, 1.0))
                points = self._smoother.smooth_landmarks(
                    face.track_id, points, now, size, v["min_cutoff"], v["beta"], v["shape_cutoff"]
                )
            if v["temporal_smoothing"] > 1:  # in the box's frame, as DeepFaceLive averages in its crop
                centre = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])
                scale = float(max(face.width, face.height, 1.0))
                offset = np.zeros(points.shape[1])
                offset[:2] = centre
                relative = self._average.average(
                    face.track_id, "points", (points - offset) / scale, v["temporal_smoothing"]
                )
                points = relative * scale + offset
            pose: tuple[float, float, float] | None
            if layout == "facemesh":
                pose = facemesh_pose(points)
                lm3d = points.astype(np.float32)
            else:
                pose = pnp_pose(points, layout)
                lm3d = None
            landmarks = points[:, :2].astype(np.float32)
            estimated = face.kps is None or face.extra.get("kps_estimated", False)
            kps = kps_from_landmarks(landmarks, layout) if estimated else face.kps
            extra = {key: value for key, value in face.extra.items() if key != "kps_estimated"}
            out.append(replace(face, landmarks=landmarks, landmarks_3d=lm3d, pose=pose, kps=kps, extra=extra))
        self._smoother.end_frame()
        self._average.end_frame()
        return {"faces": tuple(out)}


NODE_TYPES = [FaceMarker]

"""The faceset sink: aligned whole-face crops and faceset.jsonl, the training data of `nodeswap train`."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from nodeswap.errors import NodeLoadError, UserError
from nodeswap.faceset import DEFAULT_RESOLUTION, FaceRecord, face_change, sharpness, thumbnail
from nodeswap.faceset_writer import FacesetWriter, safe_stem
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.ops.align import transform_points
from nodeswap.nodes.ops.faceset_crop import whole_face_crop
from nodeswap.nodes.values import FacesetSinkValues
from nodeswap.types import FACES, FRAME, Face, Frame, caps

log = logging.getLogger(__name__)


class FacesetSink(Node):
    """Writes each kept face as a DeepFaceLab whole-face crop (JPEG) and its line in faceset.jsonl: source,
    frame, track id, landmarks in crop pixels, the frame -> crop transform, head pose and sharpness.

    It cuts the crop itself from the landmarks (template dfl_whole_face, coverage 2.2, as swap.dfm does), so no
    aligner is needed; when an aligner upstream cut exactly this crop (dfl_whole_face, coverage 2.2, the same
    resolution, no offsets, exclude_moving_parts off: graphs/extract_faceset.json) its crop is kept. Faces are
    skipped by frame step, size, yaw, sharpness and near-duplicates of the track's last kept face; the index
    is complete when the run ends, and a killed run keeps every face it wrote (see nodeswap.faceset_writer).
    """

    type_id = "sink.faceset"
    key_params = ("path", "resolution")
    values: FacesetSinkValues
    title = "Faceset (training data)"
    category = "sink"
    inputs = (
        Port("frame", FRAME, "The frame the faces were found in"),
        Port(
            "faces",
            FACES,
            "Faces with landmarks (and a whole-face crop, optional)",
            caps=caps(landmarks=("468", "106", "68")),
        ),
    )
    params = (
        Param(
            "path",
            "path",
            "",
            required=True,
            must_exist=False,
            reload=True,
            help="Output folder (empty, or a faceset to add to)",
        ),
        Param(
            "resolution",
            "int",
            DEFAULT_RESOLUTION,
            min=64,
            max=1024,
            step=16,
            help="Crop side in pixels (DeepFaceLive's default aligner crop: from points, coverage 2.2)",
        ),
        Param("jpeg_quality", "int", 95, min=1, max=100, help="JPEG quality of the crops"),
        Param(
            "every_n", "int", 1, min=1, max=1000, help="Keep faces of every Nth frame only (frame index divisible by N)"
        ),
        Param(
            "min_face_size",
            "int",
            64,
            min=0,
            max=4096,
            help="Skip faces whose detector box is smaller (larger side, frame pixels)",
        ),
        Param(
            "max_yaw",
            "float",
            90.0,
            min=0.0,
            max=90.0,
            step=1.0,
            help="Skip faces turned further than this (degrees, either way)",
        ),
        Param(
            "min_sharpness",
            "float",
            0.0,
            min=0.0,
            max=10000.0,
            step=5.0,
            help="Skip blurrier faces: variance of the Laplacian of the inner face at 128 px (sharp faces: hundreds)",
        ),
        Param(
            "min_change",
            "float",
            1.0,
            min=0.0,
            max=50.0,
            step=0.1,
            help="Skip a face that differs from its track's last kept face by less (mean grey levels of a 32 px "
            "thumbnail of the inner face); 0 keeps near-duplicates",
        ),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._writer: FacesetWriter | None = None
        self._last_thumb: dict[int, np.ndarray] = {}
        self._live_stem = ""
        self.kept = 0
        self.skipped: Counter[str] = Counter()

    def load(self, ctx: LoadContext) -> None:
        value = str(self.values["path"] or "").strip()
        if not value:
            raise NodeLoadError(self.id, "param 'path' is empty: set it to the faceset folder")
        try:
            self._writer = FacesetWriter(Path(value))
        except UserError as exc:
            raise NodeLoadError(self.id, f"param 'path': {exc}") from None
        self._last_thumb.clear()
        self.kept, self.skipped = 0, Counter()

    def _skip_reason(self, face: Face) -> str | None:
        v = self.values
        if max(face.width, face.height) < v["min_face_size"]:
            return "small"
        if face.pose is not None and abs(face.pose[0]) > v["max_yaw"]:
            return "turned"
        return None

    def _stem(self, frame: Frame) -> str:
        if frame.source:
            return safe_stem(frame.source)
        self._live_stem = self._live_stem or safe_stem("")
        return self._live_stem

    def process(self, frame: Frame, faces: tuple[Face, ...] = ()) -> dict[str, Any]:
        writer, v = self._writer, self.values
        if writer is None:
            raise RuntimeError("the faceset sink is not loaded")
        if frame.index % v["every_n"]:
            return {}
        size = int(v["resolution"])
        for position, face in enumerate(faces):
            if face.landmarks is None:
                continue
            reason = self._skip_reason(face)
            cut = None if reason else whole_face_crop(frame.image, face, size)
            if cut is None:
                self.skipped[reason or "no crop"] += 1
                continue
            crop, mat = cut
            score = sharpness(crop)
            thumb = thumbnail(crop)
            last = self._last_thumb.get(face.track_id)
            if score < v["min_sharpness"]:
                self.skipped["blurry"] += 1
                continue
            if last is not None and v["min_change"] > 0 and face_change(thumb, last) < v["min_change"]:
                self.skipped["duplicate"] += 1
                continue
            record = FaceRecord(
                path=writer.folder / f"{self._stem(frame)}_{frame.index:06d}_{position}.jpg",
                size=size,
                landmarks=transform_points(mat, np.asarray(face.landmarks)[:, :2]).astype(np.float32),
                source=frame.source,
                frame=frame.index,
                track_id=face.track_id,
                mat=mat,
                pose=face.pose,
                sharpness=score,
            )
            writer.add(crop, record, v["jpeg_quality"])
            self._last_thumb[face.track_id] = thumb
            self.kept += 1
        return {}

    def unload(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items())) or "none"
        log.info("node '%s': kept %d faces in %s (skipped: %s)", self.id, self.kept, writer.folder, skipped)


NODE_TYPES = [FacesetSink]

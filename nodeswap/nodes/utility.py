"""Utilities on frames: a constant output delay, an A/B compare view, a face view for sinks, and a softening
filter."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.ops.video import degrade, median_soften, side_by_side, split_view
from nodeswap.nodes.values import CompareValues, DelayValues, FaceViewValues, FrameAdjustValues
from nodeswap.types import FACES, FRAME, Face, Frame

FACE_VIEWS = ("aligned", "swapped", "mask", "swapped mask", "target mask")


class Delay(Node):
    """Lets each frame out a constant time after its capture, evenly spaced (sync the audio by the same amount).

    Live runs only (offline frames pass straight through). Frames are held in a
    buffer; each call returns the oldest frame once it is due, sleeping at most
    about one frame interval for it. While the buffer first fills there is
    nothing due yet: the call returns None and the scheduler drops (and counts)
    that frame. Of several overdue frames only the newest leaves (the rest are
    counted in ``skipped``), so the delay never grows.
    """

    type_id = "utility.delay"
    key_params = ("ms",)
    values: DelayValues
    title = "Delay"
    category = "utility"
    inputs = (Port("frame", FRAME, "Frames to delay"),)
    outputs = (Port("frame", FRAME, "The same frames, later"),)
    params = (Param("ms", "int", 500, min=0, max=5000, step=10, help="Target delay after capture, ms"),)

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._live = False
        self._buffer: deque[Frame] = deque()
        self._interval = 1 / 30  # smoothed gap between capture times, seconds
        self._last_time: float | None = None
        self.skipped = 0

    def load(self, ctx: LoadContext) -> None:
        self._live = ctx.live

    def _track_interval(self, frame: Frame) -> None:
        if self._last_time is not None and 0 < frame.time - self._last_time < 1.0:
            self._interval = 0.9 * self._interval + 0.1 * (frame.time - self._last_time)
        self._last_time = frame.time

    def process(self, frame: Frame) -> dict[str, Any] | None:
        delay = self.values["ms"] / 1000.0
        if not self._live or delay <= 0:
            self._buffer.clear()
            return {"frame": frame}
        self._track_interval(frame)
        self._buffer.append(frame)
        now = time.perf_counter()
        while len(self._buffer) > 1 and self._buffer[1].time + delay <= now:
            self._buffer.popleft()
            self.skipped += 1
        wait = self._buffer[0].time + delay - now
        if wait > 1.5 * self._interval:
            return None  # the next frame arrives before this one is due
        if wait > 0:
            time.sleep(wait)
        return {"frame": self._buffer.popleft()}

    def unload(self) -> None:
        self._buffer.clear()


class Compare(Node):
    """Shows two frames side by side, or split at a slider: a left, b right."""

    type_id = "utility.compare"
    key_params = ("mode",)
    values: CompareValues
    title = "Compare"
    category = "utility"
    inputs = (Port("a", FRAME, "Left frame (e.g. the source)"), Port("b", FRAME, "Right frame (e.g. the result)"))
    outputs = (Port("frame", FRAME, "The comparison (timing of a)"),)
    params = (
        Param("mode", "choice", "split", choices=("split", "side by side"), help="How to combine the two"),
        Param("position", "float", 0.5, min=0.0, max=1.0, step=0.01, help="Split: where a ends, 0..1 of the width"),
        Param("line", "bool", True, help="Split: draw the dividing line"),
    )

    def process(self, a: Frame, b: Frame) -> dict[str, Any]:
        if self.values["mode"] == "side by side":
            image = side_by_side(a.image, b.image)
        else:
            line = (255, 255, 255) if self.values["line"] else None
            image = split_view(a.image, b.image, self.values["position"], line)
        return {"frame": replace(a, image=image)}


def face_picture(face: Face, show: str) -> np.ndarray | None:
    """One of a face's pictures as a BGR image (masks in grey), or None when the face does not have it."""
    aligned, swapped = face.aligned, face.swapped
    picture: np.ndarray | None = None
    if show == "aligned" and aligned is not None:
        picture = aligned.image
    elif show == "swapped" and swapped is not None:
        picture = swapped.image
    else:
        mask = {
            "mask": aligned.mask if aligned is not None else None,
            "swapped mask": swapped.mask if swapped is not None else None,
            "target mask": swapped.target_mask if swapped is not None else None,
        }.get(show)
        if mask is not None:
            grey = (np.clip(mask, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            picture = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    return picture


class FaceView(Node):
    """One face's aligned crop, swapped face or a mask as a frame, for a sink to show or record
    (DeepFaceLive's stream output "aligned face" and "swapped face" views)."""

    type_id = "utility.face_view"
    key_params = ("face", "show")
    values: FaceViewValues
    title = "Face view"
    category = "utility"
    inputs = (Port("frame", FRAME, "The frame the faces are in (for its timing)"), Port("faces", FACES, "Faces"))
    outputs = (Port("frame", FRAME, "The picture, size x size; black while the face or its picture is missing"),)
    params = (
        Param("face", "int", 0, min=0, max=64, help="Which face: its position in the list (0 = the first)"),
        Param(
            "show",
            "choice",
            "swapped",
            choices=FACE_VIEWS,
            help="aligned: the aligner's crop; swapped: the swapper's new face; mask: the landmark hull; "
            "swapped mask / target mask: the swapper's masks of the new and the target face",
        ),
        Param("size", "int", 256, min=32, max=2048, step=32, help="Side of the square frame it gives, pixels"),
    )

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        v = self.values
        size = int(v["size"])
        picture = face_picture(faces[v["face"]], v["show"]) if v["face"] < len(faces) else None
        image: np.ndarray
        if picture is None:
            image = np.zeros((size, size, 3), np.uint8)
        elif picture.shape[:2] == (size, size):
            image = picture
        else:
            shrink = picture.shape[0] > size
            image = cv2.resize(picture, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        return {"frame": replace(frame, image=image)}


class FrameAdjust(Node):
    """Softens the frame (median blur and a bicubic down/up-scale) to match a swapped face's detail."""

    type_id = "filter.adjust"
    key_params = ("median_blur", "degrade")
    values: FrameAdjustValues
    title = "Frame adjust"
    category = "filter"
    inputs = (Port("frame", FRAME, "Frame to soften"),)
    outputs = (Port("frame", FRAME, "Softened frame"),)
    params = (
        Param("median_blur", "float", 0.0, min=0.0, max=100.0, step=1.0, help="Median blur blended in, %"),
        Param("degrade", "float", 0.0, min=0.0, max=100.0, step=1.0, help="Bicubic degrade, % of detail lost"),
    )

    def process(self, frame: Frame) -> dict[str, Any]:
        image = median_soften(frame.image, self.values["median_blur"])
        image = degrade(image, self.values["degrade"])
        return {"frame": frame if image is frame.image else replace(frame, image=image)}


NODE_TYPES = [Delay, Compare, FaceView, FrameAdjust]

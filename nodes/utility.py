"""Utilities on frames: a constant output delay, an A/B compare view, and a softening filter."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from typing import Any

from nodes.ops.video import degrade, median_soften, side_by_side, split_view
from nodes.values import CompareValues, DelayValues, FrameAdjustValues
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.types import FRAME, Frame


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


NODE_TYPES = [Delay, Compare, FrameAdjust]

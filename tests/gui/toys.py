"""Small node types for the editor's tests without a display (history, mapping, runner)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from nodeswap.errors import EndOfStream, NodeLoadError
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.registry import Registry
from nodeswap.types import FACES, FRAME, Face, Frame


class Counter(Node):
    """Frames of a constant grey whose index counts up."""

    type_id = "source.counter"
    title = "Counter"
    category = "source"
    outputs = (Port("frame", FRAME),)
    params = (Param("frames", "int", 50, min=1, max=100000), Param("delay_ms", "int", 0, min=0, max=1000))

    def load(self, ctx: LoadContext) -> None:
        self.index = 0

    def process(self) -> dict[str, Any]:
        if self.index >= self.values["frames"]:
            raise EndOfStream
        time.sleep(self.values["delay_ms"] / 1000.0)
        frame = Frame(np.full((8, 8, 3), 100, np.uint8), index=self.index, time=time.perf_counter())
        self.index += 1
        return {"frame": frame}


class Gain(Node):
    """Multiplies the pixels by gain."""

    type_id = "filter.gain"
    title = "Gain"
    category = "filter"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("frame", FRAME),)
    params = (
        Param("gain", "float", 1.0, min=0.0, max=2.0, help="factor"),
        Param("mode", "choice", "mul", choices=("mul", "add")),
        Param("model", "choice", "a", choices=("a", "b", "broken"), reload=True),
    )

    def load(self, ctx: LoadContext) -> None:
        if self.values["model"] == "broken":
            raise NodeLoadError(ctx.node_id, "model 'broken' is missing: python run.py models fetch broken")
        self.loaded_model = self.values["model"]

    def process(self, frame: Frame) -> dict[str, Any]:
        image = np.clip(frame.image.astype(np.float32) * self.values["gain"], 0, 255).astype(np.uint8)
        return {"frame": replace(frame, image=image)}


class Finder(Node):
    """One face in the middle of the frame."""

    type_id = "detect.toy"
    title = "Finder"
    category = "detector"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("faces", FACES),)

    def process(self, frame: Frame) -> dict[str, Any]:
        return {"faces": (Face((2.0, 2.0, 6.0, 6.0), 0.9),)}


class Collect(Node):
    """Keeps what it receives (class-level list so tests can read it)."""

    type_id = "sink.collect"
    title = "Collect"
    category = "sink"
    inputs = (Port("frame", FRAME), Port("faces", FACES, optional=True))
    params = (Param("path", "path", "", required=False, must_exist=False),)
    seen: ClassVar[list[tuple[int, int]]] = []  # (frame index, first pixel)
    lock = threading.Lock()

    def process(self, frame: Frame, faces: Any = None) -> dict[str, Any]:
        with self.lock:
            Collect.seen.append((frame.index, int(frame.image[0, 0, 0])))
        return {}


class NeedsFile(Node):
    """A source that needs a file."""

    type_id = "source.file"
    title = "File"
    category = "source"
    outputs = (Port("frame", FRAME),)
    params = (Param("path", "path", "", required=True, reload=True),)

    def process(self) -> dict[str, Any]:
        raise EndOfStream


TOYS = [Counter, Gain, Finder, Collect, NeedsFile]


def toy_registry() -> Registry:
    return Registry(TOYS)

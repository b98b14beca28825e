"""Small nodes for engine tests: no models, deterministic, with knobs for timing and failure."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

import numpy as np

from nodeswap.errors import EndOfStream
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.registry import Registry
from nodeswap.types import FACES, FRAME, Face, Frame


class CounterSource(Node):
    """Frames whose pixels hold their index; ends after ``count`` frames."""

    type_id = "test.counter"
    title = "Counter"
    category = "source"
    outputs = (Port("frame", FRAME),)
    params = (
        Param("count", "int", 20, min=1, max=100000),
        Param("interval_ms", "float", 0.0, min=0, max=1000, help="pause between frames (a live camera)"),
    )

    def load(self, ctx: LoadContext) -> None:
        self.next_index = 0

    def process(self) -> dict[str, Any]:
        if self.next_index >= self.values["count"]:
            raise EndOfStream
        if self.values["interval_ms"]:
            time.sleep(self.values["interval_ms"] / 1000)
        image = np.full((8, 8, 3), self.next_index % 256, np.uint8)
        frame = Frame(image, self.next_index, time.perf_counter(), 30.0)
        self.next_index += 1
        return {"frame": frame}


class AddNode(Node):
    """Adds ``amount`` to every pixel (wraps), after ``sleep_ms`` of GIL-free waiting."""

    type_id = "test.add"
    title = "Add"
    category = "filter"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("frame", FRAME),)
    params = (
        Param("amount", "int", 1, min=-255, max=255),
        Param("sleep_ms", "float", 0.0, min=0, max=1000),
        Param("fail_every", "int", 0, min=0, max=1000, help="raise on every Nth frame (0 = never)"),
        Param("label", "text", "", reload=True),
        Param("warn", "text", "", help="a warning it gives at load and on frame 3"),
        Param("zero", "signal", 0, help="a button: add nothing from the next frame on"),
    )
    presses_seen = 0

    def params_changed(self, changed: set[str]) -> None:
        if "zero" in changed:
            self.presses_seen += 1

    def load(self, ctx: LoadContext) -> None:
        self.loads = getattr(self, "loads", 0) + 1
        if self.values["label"] == "slow-load":
            time.sleep(0.3)
        if self.values["label"] == "broken":
            raise RuntimeError("cannot load a broken label")
        if self.values["warn"]:
            self.warn(f"{self.values['warn']} at load")

    def process(self, frame: Frame) -> dict[str, Any]:
        if self.values["sleep_ms"]:
            time.sleep(self.values["sleep_ms"] / 1000)
        if self.values["warn"] and frame.index == 3:
            self.warn(f"{self.values['warn']} on frame 3")
        n = self.values["fail_every"]
        if n and frame.index % n == n - 1:
            raise ValueError(f"planned failure on frame {frame.index}")
        image = (frame.image.astype(np.int32) + (0 if self.presses_seen else self.values["amount"])) % 256
        return {"frame": replace(frame, image=image.astype(np.uint8))}


class AddInWorker(AddNode):
    """``test.add`` that may run in a worker process; writes the pid it ran in on the frame's source."""

    type_id = "test.add_worker"
    may_run_in_process = True

    def process(self, frame: Frame) -> dict[str, Any]:
        out = super().process(frame)["frame"]
        return {"frame": replace(out, source=str(os.getpid()))}


class FindFaces(Node):
    """One fake face per frame; fails on frames listed in ``fail_on``."""

    type_id = "test.faces"
    title = "Fake faces"
    category = "detector"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("faces", FACES),)
    params = (Param("fail_on", "text", ""),)

    def process(self, frame: Frame) -> dict[str, Any]:
        if str(frame.index) in self.values["fail_on"].split(","):
            raise RuntimeError("detector broke")
        return {"faces": (Face((0, 0, 4, 4), 0.9),)}


class DrawFaces(Node):
    """Writes the number of faces into pixel (0, 0) channel 0."""

    type_id = "test.draw"
    title = "Draw"
    category = "merger"
    inputs = (Port("frame", FRAME), Port("faces", FACES))
    outputs = (Port("frame", FRAME),)

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        image = frame.image.copy()
        image[0, 0, 0] = len(faces)
        return {"frame": replace(frame, image=image)}


class Recorder(Node):
    """Keeps every frame it gets, in ``received``; counts unloads."""

    type_id = "test.recorder"
    title = "Recorder"
    category = "sink"
    inputs = (Port("frame", FRAME),)
    params = (Param("sleep_ms", "float", 0.0, min=0, max=1000, help="a slow sink (an encoder)"),)
    instances: list[Recorder] = []  # noqa: RUF012 - test registry of live instances

    def load(self, ctx: LoadContext) -> None:
        self.received: list[Frame] = []
        self.unloads = 0
        Recorder.instances.append(self)

    def process(self, frame: Frame) -> dict[str, Any]:
        if self.values["sleep_ms"]:
            time.sleep(self.values["sleep_ms"] / 1000)
        self.received.append(frame)
        return {}

    def unload(self) -> None:
        self.unloads = getattr(self, "unloads", 0) + 1


TOY_TYPES = [CounterSource, AddNode, AddInWorker, FindFaces, DrawFaces, Recorder]


def toy_registry() -> Registry:
    return Registry(TOY_TYPES)

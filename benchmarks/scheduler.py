"""Scheduler benchmark: overhead per node per frame, and pipelined vs sequential throughput.

Run: python benchmarks/scheduler.py [--frames N] [--repeats R]
Both numbers are ratios or differences measured in the same run, so they hold on a busy machine;
the medians over the repeats are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from nodeswap.errors import EndOfStream
from nodeswap.graph import Graph
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.registry import Registry
from nodeswap.scheduler import Scheduler
from nodeswap.types import FRAME, Frame


class Frames(Node):
    """A fixed frame, ``count`` times."""

    type_id = "bench.frames"
    title = "Frames"
    category = "source"
    outputs = (Port("frame", FRAME),)
    params = (Param("count", "int", 100, min=1, max=10**7), Param("size", "int", 64, min=8, max=4096))

    def load(self, ctx: LoadContext) -> None:
        self.sent = 0
        self.image = np.random.default_rng(0).integers(0, 255, (self.values["size"],) * 2 + (3,), np.uint8)

    def process(self) -> dict[str, Any]:
        if self.sent >= self.values["count"]:
            raise EndOfStream
        self.sent += 1
        return {"frame": Frame(self.image, self.sent, time.perf_counter())}


class Noop(Node):
    """Returns a new frame value around the same image: the cheapest real node."""

    type_id = "bench.noop"
    title = "No-op"
    category = "filter"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("frame", FRAME),)

    def process(self, frame: Frame) -> dict[str, Any]:
        return {"frame": replace(frame, index=frame.index)}


class Blur(Node):
    """A GIL-releasing OpenCV stage (Gaussian blur), the stand-in for an ONNX model."""

    type_id = "bench.blur"
    title = "Blur"
    category = "filter"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("frame", FRAME),)

    def process(self, frame: Frame) -> dict[str, Any]:
        return {"frame": replace(frame, image=cv2.GaussianBlur(frame.image, (31, 31), 0))}


class Drop(Node):
    """Discards frames."""

    type_id = "bench.drop"
    title = "Drop"
    category = "sink"
    inputs = (Port("frame", FRAME),)

    def process(self, frame: Frame) -> dict[str, Any]:
        return {}


REGISTRY = Registry([Frames, Noop, Blur, Drop])


def chain(kind: str, stages: int, count: int, size: int) -> Graph:
    g = Graph(REGISTRY)
    g.add_node("bench.frames", "source", {"count": count, "size": size})
    previous = "source"
    for i in range(stages):
        g.add_node(kind, f"s{i}")
        g.link(previous, "frame", f"s{i}", "frame")
        previous = f"s{i}"
    g.add_node("bench.drop", "sink")
    g.link(previous, "frame", "sink", "frame")
    return g


def timed_run(graph: Graph, sequential: bool) -> float:
    scheduler = Scheduler(graph, sequential=sequential)
    scheduler.load()
    began = time.perf_counter()
    scheduler.start()
    scheduler.wait()
    elapsed = time.perf_counter() - began
    scheduler.stop()
    return elapsed


def hand_loop(kind: str, stages: int, count: int, size: int) -> float:
    """The same node callables in a plain Python loop: the floor the scheduler is measured against."""
    source = Frames("source", {"count": count, "size": size})
    source.load(LoadContext())
    cls = REGISTRY.get(kind)
    assert cls is not None
    nodes = [cls(f"s{i}") for i in range(stages)]
    sink = Drop("sink")
    began = time.perf_counter()
    while True:
        try:
            frame = source.process()["frame"]
        except EndOfStream:
            break
        for node in nodes:
            frame = node.process(frame=frame)["frame"]
        sink.process(frame=frame)
    return time.perf_counter() - began


def two_thread_ceiling(frames: int, size: int) -> float:
    """How much faster two plain threads run the same blurs than one: what 2 cores allow right now."""
    import threading

    image = np.random.default_rng(0).integers(0, 255, (size, size, 3), np.uint8)

    def work(n: int) -> None:
        for _ in range(n):
            cv2.GaussianBlur(image, (31, 31), 0)

    began = time.perf_counter()
    work(2 * frames)
    one = time.perf_counter() - began
    threads = [threading.Thread(target=work, args=(frames,)) for _ in range(2)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return one / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # each stage single-threaded, like an ONNX session with one intra-op thread
    stages, n = 8, args.frames
    seq_overhead, pipe_overhead, speedups, ceilings = [], [], [], []
    for _ in range(args.repeats):
        base = hand_loop("bench.noop", stages, n, 64)
        per_node = stages + 2  # the source and the sink are nodes too
        seq = timed_run(chain("bench.noop", stages, n, 64), sequential=True)
        pipe = timed_run(chain("bench.noop", stages, n, 64), sequential=False)
        seq_overhead.append((seq - base) / (n * per_node) * 1000)
        pipe_overhead.append((pipe - base) / (n * per_node) * 1000)
        blur_frames = 120
        s = timed_run(chain("bench.blur", 2, blur_frames, 720), sequential=True)
        p = timed_run(chain("bench.blur", 2, blur_frames, 720), sequential=False)
        speedups.append(s / p)
        ceilings.append(two_thread_ceiling(blur_frames, 720))
    rows = [
        ("scheduler overhead, sequential (ms per node per frame)", f"{statistics.median(seq_overhead):.4f}", "< 0.1"),
        ("scheduler overhead, pipelined (ms per node per frame)", f"{statistics.median(pipe_overhead):.4f}", "< 0.1"),
        ("pipelined / sequential, 2 balanced OpenCV stages", f"{statistics.median(speedups):.2f}x", ">= 1.7x"),
        ("two plain threads / one thread on the same blurs (the ceiling)", f"{statistics.median(ceilings):.2f}x", "-"),
    ]
    print("| measure | median | target |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n{args.repeats} repeats; overhead over {n} frames x {stages} no-op stages; speedup on 720x720 blurs.")


if __name__ == "__main__":
    main()

"""Delay timing (unit and through the live scheduler), compare views, frame adjust on a real frame."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from nodeswap.graph import Graph
from nodeswap.node import LoadContext, Node, Port
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.sources import MediaSource
from nodeswap.nodes.utility import Compare, Delay, FaceView, FrameAdjust
from nodeswap.registry import Registry
from nodeswap.scheduler import Scheduler
from nodeswap.types import FRAME, Frame, Swapped
from tests.onnx_builders import real_faces


def first_frame(obama: Path, index: int = 0) -> Frame:
    node = MediaSource("src", {"path": str(obama), "start": index})
    node.load(LoadContext("src"))
    frame = node.process()["frame"]
    node.unload()
    return frame


def loaded(node: Node, live: bool) -> Node:
    node.load(LoadContext(node.id, live))
    return node


# -- delay ----------------------------------------------------------------------
def test_delay_passes_frames_straight_through_offline_or_at_zero() -> None:
    frame = Frame(np.zeros((4, 4, 3), np.uint8), time=time.perf_counter())
    assert loaded(Delay("d", {"ms": 500}), live=False).process(frame=frame)["frame"] is frame
    assert loaded(Delay("d", {"ms": 0}), live=True).process(frame=frame)["frame"] is frame


def test_delay_holds_frames_then_lets_them_out_on_time() -> None:
    node = loaded(Delay("d", {"ms": 200}), live=True)
    began = time.perf_counter()
    out: list[tuple[float, Frame]] = []
    for i in range(24):  # a 40 fps capture, called right at capture as a fast graph would
        capture = began + i * 0.025
        time.sleep(max(0.0, capture - time.perf_counter()))
        result = node.process(frame=Frame(np.zeros((2, 2, 3), np.uint8), index=i, time=time.perf_counter()))
        if result is not None:
            out.append((time.perf_counter(), result["frame"]))
    assert 10 <= len(out) <= 17  # the first ~200 ms of frames fill the buffer
    indices = [f.index for _, f in out]
    assert indices[0] == 0 and indices == sorted(set(indices))  # in order (a stall may skip overdue ones)
    assert node.skipped == indices[-1] + 1 - len(out)
    errors = [(t - (f.time + 0.2)) * 1000 for t, f in out]
    assert np.median(np.abs(errors)) < 15, errors
    node.values = {"ms": 0}
    assert node.process(frame=out[0][1]) is not None  # delay switched off: straight through


class Recorder(Node):
    """Test sink: records when each frame arrived."""

    type_id = "test.recorder"
    title = "Recorder"
    category = "sink"
    inputs = (Port("frame", FRAME),)
    arrivals: ClassVar[list[tuple[float, Frame]]] = []

    def process(self, frame: Frame) -> dict[str, Any]:
        Recorder.arrivals.append((time.perf_counter(), frame))
        return {}


@pytest.mark.media
def test_delay_in_a_live_graph_keeps_a_constant_latency(obama: Path) -> None:
    """Benchmark-style: source (paced at 30 fps) -> adjust -> delay 300 ms -> recorder, real scheduler."""
    graph = Graph(Registry([MediaSource, FrameAdjust, Delay, Recorder]))
    graph.add_node("source.media", "src", {"path": str(obama)})
    graph.add_node("filter.adjust", "adjust", {"median_blur": 50.0})
    graph.add_node("utility.delay", "delay", {"ms": 300})
    graph.add_node("test.recorder", "rec")
    graph.link("src", "frame", "adjust", "frame")
    graph.link("adjust", "frame", "delay", "frame")
    graph.link("delay", "frame", "rec", "frame")
    Recorder.arrivals = []
    Scheduler(graph, live=True).run(frames=75)
    arrivals = Recorder.arrivals
    assert len(arrivals) >= 45, len(arrivals)  # 75 frames less the ~10 that filled the buffer
    latency_ms = np.array([(t - f.time) * 1000 for t, f in arrivals[5:]])
    gaps_ms = np.diff([t for t, _ in arrivals[5:]]) * 1000
    indices = [f.index for _, f in arrivals]
    assert indices == sorted(indices)
    assert abs(np.median(latency_ms) - 300) < 15, latency_ms
    assert abs(np.median(gaps_ms) - 1000 / 30) < 8, gaps_ms  # evenly spaced at the file's rate


# -- compare --------------------------------------------------------------------
def test_compare_split_and_side_by_side(obama: Path) -> None:
    a = first_frame(obama, 0)
    b_image = cv2.resize(first_frame(obama, 100).image, (256, 194))  # a different size
    b = Frame(b_image, index=100)
    split = Compare("cmp", {"position": 0.25, "line": False}).process(a=a, b=b)["frame"]
    assert split.size == a.size and split.index == a.index
    assert np.array_equal(split.image[:, :128], a.image[:, :128])
    b_full = cv2.resize(b_image, a.size, interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(split.image[:, 128:], b_full[:, 128:])
    lined = Compare("cmp", {"position": 0.5}).process(a=a, b=b)["frame"].image
    assert (lined[:, 255:257] == 255).all()
    for position, expected in ((0.0, b_full), (1.0, a.image)):
        edge = Compare("cmp", {"position": position}).process(a=a, b=b)["frame"].image
        assert np.array_equal(edge, expected)
    both = Compare("cmp", {"mode": "side by side"}).process(a=a, b=b)["frame"]
    assert both.size == (512 + 512, 388)
    assert np.array_equal(both.image[:, :512], a.image)


# -- frame adjust -------------------------------------------------------------------
def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_frame_adjust_softens_more_as_the_percentages_rise(obama: Path) -> None:
    frame = first_frame(obama, 50)
    assert FrameAdjust("adj", {}).process(frame=frame)["frame"] is frame  # 0 %: untouched
    full = FrameAdjust("adj", {"median_blur": 100.0}).process(frame=frame)["frame"]
    assert np.array_equal(full.image, cv2.medianBlur(frame.image, 5)) and full.index == frame.index
    values = [sharpness(frame.image)]
    for percent in (25.0, 50.0, 100.0):
        values.append(sharpness(FrameAdjust("adj", {"degrade": percent}).process(frame=frame)["frame"].image))
    assert values == sorted(values, reverse=True) and values[-1] < values[0] / 5, values
    h, w = frame.image.shape[:2]
    small = cv2.resize(frame.image, (int(w * 0.6), int(h * 0.6)), interpolation=cv2.INTER_CUBIC)
    expected = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)  # DeepFaceLive's scale: 1 - p
    assert np.array_equal(FrameAdjust("adj", {"degrade": 40.0}).process(frame=frame)["frame"].image, expected)
    both = FrameAdjust("adj", {"median_blur": 50.0, "degrade": 30.0}).process(frame=frame)["frame"]
    assert both.image.shape == frame.image.shape and both.image.dtype == np.uint8
    assert sharpness(both.image) < values[0]
    assert frame.image.flags.writeable and np.array_equal(frame.image, first_frame(obama, 50).image)  # input intact


def test_face_view_shows_a_real_face_crop_its_swap_and_masks_at_the_size_asked(obama: Path, models_dir: Path) -> None:
    frame = first_frame(obama, 50)
    faces = FaceAligner("al", {"resolution": 192}).process(frame, tuple(real_faces(frame.image, models_dir)))["faces"]
    aligned = faces[0].aligned
    assert aligned is not None and aligned.mask is not None
    swapped = Swapped(image=aligned.image[:, ::-1].copy(), mask=np.ones((64, 64), np.float32))
    faces = (replace(faces[0], swapped=swapped),)
    same = FaceView("v", {"show": "aligned", "size": 192}).process(frame, faces)["frame"]
    assert np.array_equal(same.image, aligned.image) and same.index == frame.index
    flipped = FaceView("v", {"show": "swapped", "size": 96}).process(frame, faces)["frame"].image
    assert flipped.shape == (96, 96, 3)
    assert np.abs(flipped.astype(int) - cv2.resize(aligned.image[:, ::-1], (96, 96)).astype(int)).mean() < 3
    hull = FaceView("v", {"show": "mask", "size": 192}).process(frame, faces)["frame"].image
    assert hull.shape == (192, 192, 3) and np.array_equal(hull[..., 0], hull[..., 2])
    assert abs(hull[..., 0].mean() / 255 - aligned.mask.mean()) < 0.01  # the landmark hull, in grey
    white = FaceView("v", {"show": "swapped mask", "size": 64}).process(frame, faces)["frame"].image
    assert white.min() == 255
    for missing in ({"show": "target mask"}, {"face": 3}):  # no such mask / no such face: black, same size
        blank = FaceView("v", {**missing, "size": 64}).process(frame, faces)["frame"].image
        assert blank.shape == (64, 64, 3) and blank.max() == 0

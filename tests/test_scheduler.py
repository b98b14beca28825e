"""The scheduler: order, determinism, pipelining, live drops, errors, live changes."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from nodeswap.channels import LatestSlot
from nodeswap.errors import EndOfStream, GraphError, NodeLoadError
from nodeswap.events import NodeFailed, NodeWarned
from nodeswap.graph import Graph
from nodeswap.plan import compile_plan
from nodeswap.scheduler import Scheduler
from nodeswap.types import Frame
from tests.toy_nodes import Recorder, toy_registry


def chain(count: int = 20, **add: object) -> Graph:
    g = Graph(toy_registry())
    g.add_node("test.counter", "source", {"count": count})
    g.add_node("test.add", "add", dict(add))
    g.add_node("test.recorder", "sink")
    g.link("source", "frame", "add", "frame")
    g.link("add", "frame", "sink", "frame")
    return g


def received(s: Scheduler) -> list[int]:
    return [int(f.image[0, 0, 0]) for f in s.instances["sink"].received]


def run_and_keep(graph: Graph, **kwargs: object) -> tuple[Scheduler, Recorder]:
    s = Scheduler(graph, **kwargs)  # type: ignore[arg-type]
    s.start()
    assert s.wait(20)
    sink = s.instances["sink"]
    s.stop()
    return s, sink  # type: ignore[return-value]


def test_topological_order_and_only_nodes_upstream_of_a_sink() -> None:
    g = chain()
    g.add_node("test.add", "unused")
    g.link("source", "frame", "unused", "frame")
    order = [step.node_id for step in compile_plan(g)]
    assert order == ["source", "add", "sink"]


def test_a_graph_without_a_sink_is_refused() -> None:
    g = Graph(toy_registry())
    g.add_node("test.counter", "source")
    with pytest.raises(GraphError, match="no sink"):
        compile_plan(g)


def test_offline_runs_every_frame_in_order_and_unloads() -> None:
    s, sink = run_and_keep(chain(50, amount=3))
    assert [f.index for f in sink.received] == list(range(50))
    assert [int(f.image[0, 0, 0]) for f in sink.received] == [(i + 3) % 256 for i in range(50)]
    assert sink.unloads == 1
    stats = s.stats()
    assert stats["frames"] == 50 and stats["dropped"] == 0
    assert stats["nodes"]["add"]["calls"] == 50


def test_pipelined_output_equals_sequential_output() -> None:
    a = run_and_keep(chain(40, amount=7, sleep_ms=1.0))[1]
    b = run_and_keep(chain(40, amount=7, sleep_ms=1.0), sequential=True)[1]
    assert len(a.received) == len(b.received) == 40
    for x, y in zip(a.received, b.received, strict=True):
        assert x.index == y.index and np.array_equal(x.image, y.image)


def test_offline_is_deterministic() -> None:
    runs = [[int(f.image[0, 0, 0]) for f in run_and_keep(chain(30, amount=5))[1].received] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


def test_pipelining_overlaps_stages() -> None:
    def graph() -> Graph:
        g = Graph(toy_registry())
        g.add_node("test.counter", "source", {"count": 20})
        g.add_node("test.add", "a", {"sleep_ms": 20.0})
        g.add_node("test.add", "b", {"sleep_ms": 20.0})
        g.add_node("test.recorder", "sink")
        g.link("source", "frame", "a", "frame")
        g.link("a", "frame", "b", "frame")
        g.link("b", "frame", "sink", "frame")
        return g

    pipelined = run_and_keep(graph())[0].stats()["seconds"]
    sequential = run_and_keep(graph(), sequential=True)[0].stats()["seconds"]
    assert sequential / pipelined > 1.4  # ideal 2.0 for two equal sleeping stages


def test_live_keeps_the_newest_frame_and_counts_drops() -> None:
    """A camera-like source (frame numbers follow its clock) into two slow stages: live, the source is read
    just when the first stage is free, every edge holds one frame and the newest wins; every frame that
    never reached the sink is counted, against the node that missed it, and latency stays near the work."""
    from tests.toy_nodes import CounterSource

    class Camera(CounterSource):
        """Frame i is due at i * interval after the first read; a read returns the newest frame due."""

        type_id = "test.camera"

        def process(self) -> dict[str, Any]:
            now = time.perf_counter()
            self.t0 = getattr(self, "t0", now)
            last = self.values["count"] - 1
            if getattr(self, "last", -1) >= last:
                raise EndOfStream
            self.last = max(getattr(self, "last", -1) + 1, min(int((now - self.t0) * 1000 / 5.0), last))
            return {"frame": Frame(np.full((8, 8, 3), self.last % 256, np.uint8), self.last, now, 200.0)}

    reg = toy_registry()
    reg.add(Camera)
    g = Graph(reg)
    g.add_node("test.camera", "source", {"count": 120})
    g.add_node("test.add", "first", {"sleep_ms": 15.0})
    g.add_node("test.add", "second", {"sleep_ms": 15.0})
    g.add_node("test.recorder", "sink")
    g.link("source", "frame", "first", "frame")
    g.link("first", "frame", "second", "frame")
    g.link("second", "frame", "sink", "frame")
    s, sink = run_and_keep(g, live=True)
    got = [f.index for f in sink.received]
    stats = s.stats()
    assert got == sorted(got) and 10 < len(got) < 120
    assert stats["dropped"] == 120 - len(got)
    assert sum(n["dropped"] for n in stats["nodes"].values()) == stats["dropped"]
    assert stats["nodes"]["first"]["dropped"] > 0  # the source skipped frames while the first stage worked
    assert got[-1] == 119  # the last frame is never lost
    work = stats["nodes"]["first"]["ms_mean"] + stats["nodes"]["second"]["ms_mean"]
    assert stats["latency_ms"]["p50"] < 1.5 * work + 10  # no frame waits behind an older one


def test_latest_slot_replaces_and_counts() -> None:
    slot = LatestSlot()
    slot.put(1)
    slot.put(2)
    assert slot.get(0.1) == 2 and slot.dropped == 1


def test_a_failing_node_does_not_stop_the_graph() -> None:
    s, sink = run_and_keep(chain(20, fail_every=5))
    stats = s.stats()["nodes"]["add"]
    assert stats["errors"] == 4 and "planned failure" in stats["last_error"]
    # frame passes through unchanged (bypass policy), the others get +1
    values = {f.index: int(f.image[0, 0, 0]) for f in sink.received}
    assert len(values) == 20 and values[4] == 4 and values[5] == 6
    assert any(isinstance(e, NodeFailed) and e.node_id == "add" for e in list(s.events.queue))


def test_failed_detector_gives_no_faces_and_the_frame_goes_on() -> None:
    g = Graph(toy_registry())
    g.add_node("test.counter", "source", {"count": 6})
    g.add_node("test.faces", "detector", {"fail_on": "2"})
    g.add_node("test.draw", "merger")
    g.add_node("test.recorder", "sink")
    g.link("source", "frame", "detector", "frame")
    g.link("source", "frame", "merger", "frame")
    g.link("detector", "faces", "merger", "faces")
    g.link("merger", "frame", "sink", "frame")
    _, sink = run_and_keep(g)
    assert [int(f.image[0, 0, 0]) for f in sink.received] == [1, 1, 0, 1, 1, 1]


def test_bypass_passes_the_input_through() -> None:
    g = chain(5, amount=9)
    g.set_bypass("add", True)
    _, sink = run_and_keep(g)
    assert [int(f.image[0, 0, 0]) for f in sink.received] == [0, 1, 2, 3, 4]


def test_param_change_applies_from_the_next_frame_without_restart() -> None:
    g = chain(400, amount=0, sleep_ms=2.0)
    s = Scheduler(g)
    s.start()
    while len(s.instances["sink"].received) < 20:
        time.sleep(0.005)
    node_before = s.instances["add"]
    s.set_param("add", "amount", 100)
    assert s.wait(20)
    sink = s.instances["sink"]
    assert s.instances["add"] is node_before
    s.stop()
    deltas = [(int(f.image[0, 0, 0]) - f.index % 256) % 256 for f in sink.received]
    switch = deltas.index(100)
    assert set(deltas[:switch]) == {0} and set(deltas[switch:]) == {100}


def test_reload_param_loads_in_background_while_frames_flow() -> None:
    g = chain(300, sleep_ms=2.0)
    s = Scheduler(g)
    s.start()
    old = s.instances["add"]
    s.set_param("add", "label", "slow-load")
    count_before = len(s.instances["sink"].received)
    time.sleep(0.15)  # the new instance is still loading (0.3 s)
    assert len(s.instances["sink"].received) > count_before
    deadline = time.time() + 5
    while s.instances["add"] is old and time.time() < deadline:
        time.sleep(0.01)
    assert s.instances["add"] is not old and s.instances["add"].values["label"] == "slow-load"
    s.set_param("add", "label", "broken")  # a failed reload keeps the working node
    time.sleep(0.2)
    assert s.instances["add"].values["label"] == "slow-load"
    assert "broken" in s.node_stats["add"].last_error
    s.stop()


def test_pause_step_and_resume() -> None:
    s = Scheduler(chain(100, sleep_ms=1.0))
    s.start()
    s.pause()
    time.sleep(0.1)
    sink = s.instances["sink"]
    frozen = len(sink.received)
    time.sleep(0.1)
    assert len(sink.received) == frozen
    s.step()
    time.sleep(0.1)
    assert len(sink.received) == frozen + 1
    s.rerender()
    time.sleep(0.1)
    assert sink.received[-1].index == sink.received[-2].index
    s.resume()
    assert s.wait(10)
    s.stop()


def test_frame_limit_and_stop_finalise_sinks() -> None:
    s = Scheduler(chain(1000, sleep_ms=1.0))
    stats = s.run(frames=10)
    assert stats["frames"] == 10
    assert Recorder.instances[-1].unloads == 1


@pytest.mark.parametrize("attempt", range(3))
def test_a_stop_mid_run_delivers_an_unbroken_run_of_frames(attempt: int) -> None:
    """Offline, a stop while queues are full must not lose a frame in the middle: a sink would see a gap
    (and a video sink fill it), so its file would not match the frames counted."""
    g = Graph(toy_registry())
    g.add_node("test.counter", "source", {"count": 1000})
    g.add_node("test.add", "fast")
    g.add_node("test.recorder", "sink", {"sleep_ms": 60.0})
    g.link("source", "frame", "fast", "frame")
    g.link("fast", "frame", "sink", "frame")
    s = Scheduler(g)
    s.start()
    time.sleep(0.5 + 0.2 * attempt)
    sink = s.instances["sink"]
    s.stop()
    indices = [f.index for f in sink.received]  # type: ignore[attr-defined]
    assert indices and indices == list(range(len(indices)))
    assert s.stats()["frames"] == len(indices)


def test_node_warnings_become_events_once_each() -> None:
    s = Scheduler(chain(20, warn="odd input"))
    s.run()
    said = [e for e in drain(s.events) if isinstance(e, NodeWarned)]
    assert said == [NodeWarned("add", "odd input at load"), NodeWarned("add", "odd input on frame 3")]


def drain(events: Any) -> list[Any]:
    out = []
    while not events.empty():
        out.append(events.get_nowait())
    return out


def test_load_error_names_the_node() -> None:
    g = chain(5, label="broken")
    with pytest.raises(NodeLoadError, match="node 'add'"):
        Scheduler(g).start()


def test_rebuild_keeps_unchanged_nodes() -> None:
    g = chain(300, sleep_ms=2.0)
    s = Scheduler(g)
    s.start()
    source, sink = s.instances["source"], s.instances["sink"]
    g2 = g.copy()
    g2.add_node("test.add", "more", {"amount": 50})
    g2.link("add", "frame", "more", "frame")
    g2.link("more", "frame", "sink", "frame")
    s.rebuild(g2)
    assert s.instances["source"] is source and s.instances["sink"] is sink and "more" in s.instances
    assert s.wait(20)
    s.stop()
    last = sink.received[-1]
    assert int(last.image[0, 0, 0]) == (last.index + 51) % 256


def test_a_signal_press_reaches_the_running_node_once_and_survives_a_rebuild() -> None:
    g = chain(300, amount=7, sleep_ms=2.0)
    s = Scheduler(g)
    s.start()
    while len(s.instances["sink"].received) < 10:
        time.sleep(0.005)
    add = s.instances["add"]
    s.set_param("add", "zero", 1)
    while len(s.instances["sink"].received) < 30:
        time.sleep(0.005)
    g2 = g.copy()
    g2.set_param("add", "sleep_ms", 1.0)  # an edit elsewhere: the press is neither repeated nor undone
    s.rebuild(g2)
    assert s.instances["add"] is add
    sink = s.instances["sink"]
    assert s.wait(20)
    s.stop()
    assert add.presses_seen == 1 and add.values["zero"] == 1
    deltas = [(int(f.image[0, 0, 0]) - f.index % 256) % 256 for f in sink.received]
    switch = deltas.index(0)
    assert set(deltas[:switch]) == {7} and set(deltas[switch:]) == {0}


def test_a_bypassed_node_is_not_loaded_until_enabled() -> None:
    g = chain(400, amount=10, label="slow-load")
    g.set_param("source", "interval_ms", 3.0)
    g.set_bypass("add", True)
    s = Scheduler(g)
    s.start()
    assert "add" not in s.instances
    s.set_bypass("add", False)
    deadline = time.time() + 5
    while "add" not in s.instances and time.time() < deadline:
        time.sleep(0.01)
    assert s.wait(20)
    sink = s.instances["sink"]
    s.stop()
    deltas = [(int(f.image[0, 0, 0]) - f.index % 256) % 256 for f in sink.received]
    assert deltas[0] == 0 and deltas[-1] == 10


def test_frames_are_read_only_downstream_so_inputs_cannot_be_mutated() -> None:
    from dataclasses import replace as dc_replace

    from nodeswap.node import Node, Port
    from nodeswap.types import FRAME

    class Scribble(Node):
        """Writes into its input: a bug the scheduler must catch."""

        type_id = "test.scribble"
        title = "Scribble"
        category = "filter"
        inputs = (Port("frame", FRAME),)
        outputs = (Port("frame", FRAME),)

        def process(self, frame: Frame) -> dict[str, object]:
            frame.image[0, 0, 0] = 255
            return {"frame": dc_replace(frame)}

    reg = toy_registry()
    reg.add(Scribble)
    g = Graph(reg)
    g.add_node("test.counter", "source", {"count": 3})
    g.add_node("test.scribble", "bad")
    g.add_node("test.recorder", "sink")
    g.link("source", "frame", "bad", "frame")
    g.link("bad", "frame", "sink", "frame")
    s, sink = run_and_keep(g)
    assert s.stats()["nodes"]["bad"]["errors"] == 3
    assert [int(f.image[0, 0, 0]) for f in sink.received] == [0, 1, 2]


def test_seek_moves_a_paused_source_and_shows_the_frame() -> None:
    from tests.toy_nodes import CounterSource

    class Seekable(CounterSource):
        """A counter that can seek."""

        type_id = "test.seekable"

        def info(self) -> dict[str, Any]:
            return {"frame_count": 1000, "fps": 30.0, "width": 8, "height": 8}

        def seek(self, index: int) -> None:
            self.next_index = index

        def step(self, delta: int) -> None:
            self.next_index += delta - 1

    reg = toy_registry()
    reg.add(Seekable)
    g = Graph(reg)
    g.add_node("test.seekable", "source", {"count": 1000, "interval_ms": 2.0})
    g.add_node("test.recorder", "sink")
    g.link("source", "frame", "sink", "frame")
    s = Scheduler(g)
    s.start()
    s.pause()
    time.sleep(0.1)
    sink = s.instances["sink"]
    s.seek("source", index=500)
    time.sleep(0.2)
    assert sink.received[-1].index == 500
    s.seek("source", delta=-1)
    time.sleep(0.2)
    assert sink.received[-1].index == 499
    s.stop()

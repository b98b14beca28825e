"""Nodes in worker processes (nodeswap/workers.py): same frames as in threads, in another process, with
param changes, errors and load failures handled as for a node in a thread, and no shared memory left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nodeswap.errors import NodeLoadError
from nodeswap.events import NodeWarned
from nodeswap.graph import Graph
from nodeswap.scheduler import Scheduler
from tests.test_scheduler import drain
from tests.toy_nodes import toy_registry


def chain(count: int = 30, **params: object) -> Graph:
    g = Graph(toy_registry())
    g.add_node("test.counter", "source", {"count": count})
    g.add_node("test.add_worker", "add", dict(params))
    g.add_node("test.recorder", "sink")
    g.link("source", "frame", "add", "frame")
    g.link("add", "frame", "sink", "frame")
    return g


def run(graph: Graph, processes: bool) -> tuple[Scheduler, list[int], set[str]]:
    s = Scheduler(graph, processes=processes)
    s.start()
    assert s.wait(60)
    frames = s.instances["sink"].received  # type: ignore[attr-defined]
    s.stop()
    return s, [int(f.image[0, 0, 0]) for f in frames], {f.source for f in frames}


def shared_blocks() -> set[str]:
    return {p.name for p in Path("/dev/shm").glob("psm_*")} if Path("/dev/shm").is_dir() else set()


def test_a_node_in_a_worker_gives_the_same_frames_from_another_process() -> None:
    before = shared_blocks()
    _, in_threads, pids_threads = run(chain(amount=3), processes=False)
    s, in_worker, pids_worker = run(chain(amount=3), processes=True)
    assert in_worker == in_threads == [(i + 3) % 256 for i in range(30)]
    assert pids_threads == {str(os.getpid())} and len(pids_worker) == 1 and pids_worker != pids_threads
    assert s.stats()["nodes"]["add"]["calls"] == 30
    assert shared_blocks() <= before  # the frames' shared memory is gone with the worker


def test_a_param_change_reaches_the_worker_between_frames() -> None:
    s = Scheduler(chain(count=400, sleep_ms=2.0), processes=True)
    s.start()
    s.set_param("add", "amount", 50)
    assert s.wait(60)
    values = [int(f.image[0, 0, 0]) for f in s.instances["sink"].received]  # type: ignore[attr-defined]
    s.stop()
    assert values[0] in ((0 + 1) % 256, 50) and values[-1] == (399 + 50) % 256


def test_an_error_in_the_worker_is_the_node_s_error_and_the_graph_goes_on() -> None:
    s, values, _ = run(chain(count=20, fail_every=5), processes=True)
    stats = s.stats()["nodes"]["add"]
    assert stats["errors"] == 4 and "ValueError: planned failure" in stats["last_error"]
    assert len(values) == 20  # failed frames pass through unchanged, as with a node in a thread


def test_a_load_failure_in_the_worker_names_the_node() -> None:
    s = Scheduler(chain(label="broken"), processes=True)
    with pytest.raises(NodeLoadError, match="node 'add': failed to load: cannot load a broken label"):
        s.start()
    s.stop()


def test_warnings_of_a_node_in_a_worker_reach_the_scheduler(caplog: pytest.LogCaptureFixture) -> None:
    s, _, pids = run(chain(10, warn="odd input"), processes=True)
    assert pids != {str(os.getpid())}  # it ran in a worker
    said = [e for e in drain(s.events) if isinstance(e, NodeWarned)]
    assert said == [NodeWarned("add", "odd input at load"), NodeWarned("add", "odd input on frame 3")]
    assert caplog.text.count("odd input at load") == 1  # said once, here (the worker's own log is quiet)

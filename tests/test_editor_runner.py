"""The editor's Runner thread on real Scheduler runs of small nodes (no display)."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from nodeswap.editor.runner import Runner
from nodeswap.events import LoadFailed, NodeFailed, NodeReloaded, Problem, Rebuilt, RunEvent, RunFinished
from nodeswap.graph import Graph
from nodeswap.validate import path_problems, run_issues
from tests.gui.toys import Collect, toy_registry


@pytest.fixture
def runner() -> Iterator[Runner]:
    r = Runner()
    yield r
    r.shutdown()


def chain(frames: int = 100000, delay_ms: int = 5) -> Graph:
    g = Graph(toy_registry())
    g.add_node("source.counter", "src", {"frames": frames, "delay_ms": delay_ms})
    g.add_node("filter.gain", "gain", {"gain": 1.0})
    g.add_node("sink.collect", "out")
    g.link("src", "frame", "gain", "frame")
    g.link("gain", "frame", "out", "frame")
    return g


E = TypeVar("E", bound=RunEvent)


def wait_event(r: Runner, kind: type[E], timeout: float = 10.0) -> E:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            event = r.events.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(event)
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} event in {timeout} s; saw {seen}")


def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_offline_run_to_the_end(runner: Runner) -> None:
    Collect.seen.clear()
    runner.start(chain(frames=30, delay_ms=0), live=False)
    wait_event(runner, RunFinished)
    assert [i for i, _ in Collect.seen] == list(range(30))
    assert runner.state == "idle" and runner.stats()["frames"] == 30
    assert runner.latest("out") == {} and runner.latest("gain")["frame"].index == 29  # kept for the preview


def test_param_change_applies_on_next_frame_without_restart(runner: Runner) -> None:
    Collect.seen.clear()
    runner.start(chain(), live=True)
    wait_until(lambda: len(Collect.seen) > 3)
    runner.set_param("gain", "gain", 2.0)
    wait_until(lambda: Collect.seen[-1][1] == 200)
    first_new = next(i for i, (_, v) in enumerate(Collect.seen) if v == 200)
    assert all(v == 100 for _, v in Collect.seen[:first_new])
    assert Collect.seen[first_new][0] > 0  # same run: the frame counter went on
    runner.stop()
    wait_until(lambda: runner.state == "idle")


def test_paused_run_rerenders_the_current_frame_on_param_change(runner: Runner) -> None:
    Collect.seen.clear()
    runner.start(chain(), live=True)
    wait_until(lambda: len(Collect.seen) > 3)
    runner.pause()
    wait_until(lambda: runner.state == "paused")
    time.sleep(0.3)
    count = len(Collect.seen)
    time.sleep(0.3)
    assert len(Collect.seen) == count  # really paused
    runner.set_param("gain", "gain", 0.5)
    wait_until(lambda: len(Collect.seen) > count)
    time.sleep(0.2)
    assert Collect.seen[-1][1] == 50
    assert Collect.seen[-1][0] == Collect.seen[count - 1][0]  # the same frame again
    runner.step()
    wait_until(lambda: Collect.seen[-1][0] > Collect.seen[count - 1][0])
    runner.resume()
    wait_until(lambda: runner.state == "running")


def test_the_fps_readout_holds_while_paused(runner: Runner) -> None:
    """Steps and re-renders of a paused graph are not its running rate: the readout keeps the rate it ran at."""
    Collect.seen.clear()
    runner.start(chain(delay_ms=10), live=True)
    wait_until(lambda: len(Collect.seen) > 40 and runner.stats().get("live_fps", 0) > 0, 20)
    runner.pause()
    wait_until(lambda: runner.state == "paused")
    time.sleep(0.5)
    running = runner.stats()["live_fps"]
    assert running > 20
    for _ in range(3):  # a step each half second: about 2 frames a second, if counted
        runner.step()
        time.sleep(0.5)
    assert runner.stats()["live_fps"] == running


def test_reload_param_loads_in_background_and_a_failed_load_keeps_running(runner: Runner) -> None:
    Collect.seen.clear()
    runner.start(chain(), live=True)
    wait_until(lambda: len(Collect.seen) > 3)
    runner.set_param("gain", "model", "b")
    wait_event(runner, NodeReloaded)
    runner.set_param("gain", "model", "broken")
    failed = wait_event(runner, NodeFailed)
    assert failed.node_id == "gain" and "models fetch broken" in failed.message
    assert failed.message.endswith("it keeps running with model='b'")  # issue 24: says what still runs
    count = len(Collect.seen)
    wait_until(lambda: len(Collect.seen) > count + 3)  # frames keep flowing on the old instance
    assert runner.state == "running"


def test_rewiring_while_running(runner: Runner) -> None:
    Collect.seen.clear()
    g = chain()
    runner.start(g.copy(), live=True)
    wait_until(lambda: len(Collect.seen) > 3)
    g.remove_node("gain")
    runner.rebuild(g.copy())  # sink unlinked: not applied, the old wiring runs on
    assert "required input is not linked" in wait_event(runner, Problem).message
    g.link("src", "frame", "out", "frame")
    g.add_node("detect.toy", "find")
    g.link("src", "frame", "find", "frame")
    g.link("find", "faces", "out", "faces")
    runner.rebuild(g.copy())
    wait_event(runner, Rebuilt)
    wait_until(lambda: runner.latest("find") is not None and runner.state == "running")
    assert "gain" not in runner._scheduler.instances


def test_load_failure_names_the_node(runner: Runner) -> None:
    g = chain()
    g.set_param("gain", "model", "broken")
    runner.start(g, live=False)
    failed = wait_event(runner, LoadFailed)
    assert failed.node_id == "gain" and "node 'gain'" in failed.message
    assert runner.state == "idle"


def test_run_problems_name_the_param_to_set() -> None:
    g = Graph(toy_registry())
    g.add_node("source.file", "src")
    g.add_node("sink.collect", "out")
    g.link("src", "frame", "out", "frame")
    problems = run_issues(g)
    assert [str(p) for p in problems] == ["node 'src' param 'path': is empty: set it to a file"]
    assert path_problems(g, "src") == {"path": "is empty: set it to a file"}
    g.set_param("src", "path", "/no/such/file.mp4")
    assert "file not found" in str(run_issues(g)[0])
    assert path_problems(g, "out") == {}  # an output path may be empty
    g.remove_node("out")
    assert "no sink" in str(run_issues(g)[0])


def test_a_bypassed_node_loads_with_the_params_set_meanwhile(runner: Runner) -> None:
    Collect.seen.clear()
    g = chain()
    g.set_bypass("gain", True)
    runner.start(g, live=True)
    wait_until(lambda: len(Collect.seen) > 3)
    assert Collect.seen[-1][1] == 100  # bypassed: frames pass unchanged
    runner.set_param("gain", "gain", 2.0)
    runner.set_bypass("gain", False)
    wait_event(runner, NodeReloaded)
    wait_until(lambda: Collect.seen[-1][1] == 200)


def test_an_offline_run_over_a_file_reports_its_progress(obama: Path) -> None:
    """The share of the file's frames read, for the status bar's 'done, time left' (a paused run holds it)."""
    from nodeswap.editor.runner import run_progress
    from nodeswap.graph import Graph as RealGraph
    from nodeswap.scheduler import Scheduler

    g = RealGraph()
    g.add_node("source.media", "source", {"path": str(obama), "start": 10})
    g.add_node("sink.preview", "sink", {"window": False})
    g.link("source", "frame", "sink", "frame")
    scheduler = Scheduler(g)
    scheduler.start()
    scheduler.pause()  # at once: 249 frames to read are far from done
    try:
        wait_until(lambda: scheduler.latest("source") is not None)
        time.sleep(0.3)  # the paused source stays where it is
        index = scheduler.latest("source")["frame"].index  # type: ignore[index]
        count = scheduler.instances["source"].info()["frame_count"]  # type: ignore[attr-defined]
        assert run_progress(scheduler) == pytest.approx((index - 10 + 1) / (count - 10))
        assert 0 < run_progress(scheduler) < 1  # type: ignore[operator]
    finally:
        scheduler.stop()


def test_a_live_rewiring_keeps_writing_the_new_file(runner: Runner, obama: Path, tmp_path: Path) -> None:
    """Issue 24: the editor's graph still names the finished file; a rewiring during the live run that wrote
    beside it must not move the sink back onto the finished file."""
    from nodeswap.live_outputs import prepare_live

    out = tmp_path / "out.mp4"
    out.write_bytes(b"a finished render")
    g = Graph()
    g.add_node("source.media", "source", {"path": str(obama), "loop": True})
    g.add_node("sink.video", "sink", {"path": str(out)})
    g.link("source", "frame", "sink", "frame")
    run = g.copy()
    assert prepare_live(run) == [f"'sink' writes out-live.mp4 ({out.name} exists: a live run does not replace it)"]
    runner.start(run, live=True)
    wait_until(lambda: runner.state == "running" and (runner.stats().get("frames") or 0) > 3, 30)
    g.add_node("utility.delay", "delay")  # an edit the run adopts
    runner.rebuild(g.copy())
    wait_event(runner, Rebuilt)
    runner.stop()
    wait_until(lambda: runner.state == "idle", 30)
    assert out.read_bytes() == b"a finished render"
    assert (tmp_path / "out-live.mp4").stat().st_size > 0

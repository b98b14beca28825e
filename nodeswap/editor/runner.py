"""A thread that owns the Scheduler (no GUI).

The GUI thread owns dearpygui; this thread owns the scheduler and so the node
instances. They talk through two queues: commands in (start, stop, pause,
param changes, rewiring) and events out (state changes, node errors, a run
finished). ``load()`` and ``stop()`` can take seconds (models, files), so they
only ever run here, never on the GUI thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from ..errors import GraphError, Issue, NodeLoadError, UserError
from ..graph import Graph
from ..node import path_problems as _node_path_problems
from ..plan import compile_plan
from ..scheduler import Scheduler

log = logging.getLogger(__name__)

IDLE, LOADING, RUNNING, PAUSED = "idle", "loading", "running", "paused"
STATS_PERIOD = 0.25  # seconds between stats snapshots


def run_problems(graph: Graph) -> list[Issue]:
    """Why the graph cannot run yet (empty required paths, missing files, unlinked inputs, no sink)."""
    try:
        steps = compile_plan(graph)
    except GraphError as exc:
        return list(exc.issues)
    issues = []
    for step in steps:
        for name, problem in _node_path_problems(step.cls, graph.param_values(step.node_id)).items():
            issues.append(Issue(f"node '{step.node_id}' param '{name}'", problem))
    return issues


def path_problems(graph: Graph, node_id: str) -> dict[str, str]:
    """Param name -> problem for the node's path params (an empty required path, a missing file)."""
    try:
        cls = graph.node_class(node_id)
    except UserError:
        return {}
    return _node_path_problems(cls, graph.param_values(node_id))


class Runner:
    """Runs graphs in a background thread; every public method returns at once."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self.state = IDLE
        self.live = False
        self._commands: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._scheduler: Scheduler | None = None
        self._stats: dict[str, Any] = {}
        self._final_latest: dict[str, dict[str, Any]] = {}
        self._thread = threading.Thread(target=self._loop, name="nodeswap-runner", daemon=True)
        self._thread.start()

    # -- GUI side: all non-blocking ------------------------------------------------
    def start(self, graph: Graph, live: bool, sequential: bool = False) -> None:
        """Run a copy of ``graph`` (the caller must not pass the graph it keeps editing)."""
        self._commands.put(("start", graph, live, sequential))

    def stop(self) -> None:
        self._commands.put(("stop",))

    def pause(self) -> None:
        self._commands.put(("pause",))

    def resume(self) -> None:
        self._commands.put(("resume",))

    def step(self) -> None:
        self._commands.put(("step",))

    def rerender(self) -> None:
        self._commands.put(("rerender",))

    def seek(self, node_id: str, index: int | None = None, delta: int = 0) -> None:
        """Seek a media source: to ``index``, or by ``delta`` frames."""
        self._commands.put(("seek", node_id, index, delta))

    def source_info(self, node_id: str) -> dict[str, Any]:
        """frame_count/fps/size of a running source, and the index of its last frame."""
        scheduler = self._scheduler
        node = scheduler.instances.get(node_id) if scheduler is not None else None
        if node is None or not hasattr(node, "info"):
            return {}
        info = dict(node.info())
        last = scheduler.latest(node_id) if scheduler is not None else None
        frame = (last or {}).get("frame")
        info["index"] = getattr(frame, "index", 0)
        return info

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        self._commands.put(("set_param", node_id, name, value))

    def set_bypass(self, node_id: str, bypass: bool) -> None:
        self._commands.put(("set_bypass", node_id, bypass))

    def rebuild(self, graph: Graph) -> None:
        """Adopt an edited copy of the graph while running (only changed nodes reload)."""
        self._commands.put(("rebuild", graph))

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop any run and end the thread (used when the editor closes)."""
        self._commands.put(("quit",))
        self._thread.join(timeout)

    @property
    def busy(self) -> bool:
        return self.state != IDLE

    def latest(self, node_id: str) -> dict[str, Any] | None:
        """The node's last outputs (kept after a run ends, for the preview)."""
        scheduler = self._scheduler
        if scheduler is not None:
            value = scheduler.latest(node_id)
            if value is not None:
                return value
        return self._final_latest.get(node_id)

    def stats(self) -> dict[str, Any]:
        """The last stats snapshot: state, fps, frames, dropped, latency, per-node summaries."""
        return self._stats

    # -- runner thread ------------------------------------------------------------
    def _emit(self, kind: str, node_id: str = "", message: str = "") -> None:
        self.events.put((kind, node_id, message))

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._emit("state", "", state)

    def _loop(self) -> None:
        last_stats = 0.0
        while True:
            try:
                command = self._commands.get(timeout=0.05)
            except queue.Empty:
                command = None
            if command is not None and command[0] == "quit":
                self._safe(self._stop)
                return
            if command is not None:
                self._safe(self._handle, command)
            self._safe(self._drain_scheduler_events)
            now = time.monotonic()
            if now - last_stats >= STATS_PERIOD:
                last_stats = now
                self._safe(self._publish_stats)

    def _safe(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except UserError as exc:
            self._emit("error", getattr(exc, "node_id", ""), str(exc))
        except Exception as exc:  # never let the runner thread die
            log.exception("runner: %s", exc)
            self._emit("error", "", f"{type(exc).__name__}: {exc}")

    def _handle(self, command: tuple[Any, ...]) -> None:
        name, *args = command
        scheduler = self._scheduler
        if name == "start":
            self._start(*args)
        elif name == "stop":
            self._stop()
        elif scheduler is None:
            return  # nothing running: the GUI already stored the change in the graph
        elif name == "pause":
            scheduler.pause()
            self._set_state(PAUSED)
        elif name == "resume":
            scheduler.resume()
            self._set_state(RUNNING)
        elif name == "step":
            if not scheduler.paused:
                scheduler.pause()
                self._set_state(PAUSED)
            scheduler.step()
        elif name == "rerender":
            scheduler.rerender()
        elif name == "seek":
            scheduler.seek(*args)
        elif name == "set_param":
            node_id, param, value = args
            if node_id in scheduler.graph.nodes:  # the run's own copy: a node loaded later gets the value
                scheduler.graph.set_param(node_id, param, value)
            if node_id in scheduler.instances:
                scheduler.set_param(node_id, param, value)
                if scheduler.paused:
                    scheduler.rerender()
        elif name == "set_bypass":
            if args[0] in scheduler.graph.nodes:
                scheduler.graph.set_bypass(*args)
            scheduler.set_bypass(*args)
            if scheduler.paused:
                scheduler.rerender()
        elif name == "rebuild":
            self._rebuild(args[0])

    def _start(self, graph: Graph, live: bool, sequential: bool) -> None:
        if self._scheduler is not None:
            self._stop()
        self._set_state(LOADING)
        self.live = live
        try:
            scheduler = Scheduler(graph, live=live, sequential=sequential)
            scheduler.load()
        except NodeLoadError as exc:
            self._set_state(IDLE)
            self._emit("load_failed", exc.node_id, str(exc))
            return
        except UserError as exc:
            self._set_state(IDLE)
            self._emit("load_failed", "", str(exc))
            return
        self._final_latest = {}
        self._scheduler = scheduler
        scheduler.start()
        self._set_state(RUNNING)

    def _stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        self._final_latest = {s.node_id: v for s in scheduler.steps if (v := scheduler.latest(s.node_id)) is not None}
        try:
            scheduler.stop()
        finally:
            self._publish_stats(scheduler)
            self._drain_scheduler_events(scheduler)
            self._set_state(IDLE)

    def _rebuild(self, graph: Graph) -> None:
        scheduler = self._scheduler
        assert scheduler is not None
        try:
            compile_plan(graph)
        except GraphError as exc:
            self._emit("problem", "", "rewiring not applied yet: " + "; ".join(str(i) for i in exc.issues))
            return
        try:
            scheduler.rebuild(graph)
        except NodeLoadError as exc:
            self._emit("load_failed", exc.node_id, str(exc))
            self._stop()
            return
        self._emit("rebuilt", "", "")
        if scheduler.paused:
            scheduler.rerender()

    def _drain_scheduler_events(self, scheduler: Scheduler | None = None) -> None:
        scheduler = scheduler or self._scheduler
        if scheduler is None:
            return
        while True:
            try:
                kind, node_id, message = scheduler.events.get_nowait()
            except queue.Empty:
                return
            if kind == "finished":
                # a rebuild halts and restarts the threads, which leaves a stale "finished" behind
                if scheduler is self._scheduler and not scheduler.running:
                    self._stop()
                    stats = self._stats
                    self._emit("finished", "", f"{stats.get('frames', 0)} frames in {stats.get('seconds', 0):.1f} s")
                continue
            if kind == "reloaded" and scheduler.paused:
                scheduler.rerender()
            self._emit(kind, node_id, message)

    def _publish_stats(self, scheduler: Scheduler | None = None) -> None:
        scheduler = scheduler or self._scheduler
        if scheduler is None:
            return
        report = scheduler.stats()
        live_fps = scheduler.graph_stats.live_fps()
        report["live_fps"] = round(live_fps, 2)
        report["state"] = self.state
        report["live"] = self.live
        self._stats = report

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import GraphError, NodeLoadError, UserError
from ..events import (
    LoadFailed,
    NodeFailed,
    NodeReloaded,
    Problem,
    Rebuilt,
    RunEvent,
    RunFinished,
    StateChanged,
)
from ..graph import Graph
from ..live_outputs import FILE_SINKS
from ..node import Seekable
from ..plan import compile_plan
from ..scheduler import Scheduler

log = logging.getLogger(__name__)

IDLE, LOADING, RUNNING, PAUSED = "idle", "loading", "running", "paused"
STATS_PERIOD = 0.25  # seconds between stats snapshots


# -- commands: the GUI thread -> the runner thread ------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    graph: Graph
    live: bool
    sequential: bool = False


@dataclass(frozen=True)
class Seek:
    node_id: str
    index: int | None = None
    delta: int = 0


@dataclass(frozen=True)
class SetParam:
    node_id: str
    name: str
    value: Any


@dataclass(frozen=True)
class SetBypass:
    node_id: str
    bypass: bool


@dataclass(frozen=True)
class Rebuild:
    graph: Graph


@dataclass(frozen=True)
class Control:
    """A command without arguments: stop, pause, resume, step, rerender, forget or quit."""

    action: str


Command = Start | Seek | SetParam | SetBypass | Rebuild | Control


class Runner:
    """Runs graphs in a background thread; every public method returns at once."""

    def __init__(self) -> None:
        self.events: queue.Queue[RunEvent] = queue.Queue()
        self.state = IDLE
        self.live = False
        self._commands: queue.Queue[Command] = queue.Queue()
        self._scheduler: Scheduler | None = None
        self._stats: dict[str, Any] = {}
        self._final_latest: dict[str, dict[str, Any]] = {}
        self._running_params: dict[str, dict[str, Any]] = {}  # node -> reload params it still runs with
        self._thread = threading.Thread(target=self._loop, name="nodeswap-runner", daemon=True)
        self._thread.start()

    # -- GUI side: all non-blocking ------------------------------------------------
    def start(self, graph: Graph, live: bool, sequential: bool = False) -> None:
        """Run a copy of ``graph`` (the caller must not pass the graph it keeps editing)."""
        self._commands.put(Start(graph, live, sequential))

    def stop(self) -> None:
        self._commands.put(Control("stop"))

    def pause(self) -> None:
        self._commands.put(Control("pause"))

    def resume(self) -> None:
        self._commands.put(Control("resume"))

    def step(self) -> None:
        self._commands.put(Control("step"))

    def rerender(self) -> None:
        self._commands.put(Control("rerender"))

    def seek(self, node_id: str, index: int | None = None, delta: int = 0) -> None:
        """Seek a media source: to ``index``, or by ``delta`` frames."""
        self._commands.put(Seek(node_id, index, delta))

    def source_info(self, node_id: str) -> dict[str, Any]:
        """frame_count/fps/size of a running source, and the index of its last frame."""
        scheduler = self._scheduler
        node = scheduler.instances.get(node_id) if scheduler is not None else None
        if not isinstance(node, Seekable):
            return {}
        info = dict(node.info())
        last = scheduler.latest(node_id) if scheduler is not None else None
        frame = (last or {}).get("frame")
        info["index"] = getattr(frame, "index", 0)
        return info

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        self._commands.put(SetParam(node_id, name, value))

    def set_bypass(self, node_id: str, bypass: bool) -> None:
        self._commands.put(SetBypass(node_id, bypass))

    def forget(self) -> None:
        """Drop the last run's stats and outputs (after any stop already asked for): a new document."""
        self._commands.put(Control("forget"))

    def rebuild(self, graph: Graph) -> None:
        """Adopt an edited copy of the graph while running (only changed nodes reload)."""
        self._commands.put(Rebuild(graph))

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop any run and end the thread (used when the editor closes)."""
        self._commands.put(Control("quit"))
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
    def _emit(self, event: RunEvent) -> None:
        self.events.put(event)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._emit(StateChanged(state))

    def _loop(self) -> None:
        last_stats = 0.0
        while True:
            try:
                command = self._commands.get(timeout=0.05)
            except queue.Empty:
                command = None
            if command == Control("quit"):
                self._safe(self._stop)
                return
            if command is not None:
                self._safe(self._handle, command)
            self._safe(self._drain_scheduler_events)
            now = time.monotonic()
            if now - last_stats >= STATS_PERIOD:
                last_stats = now
                self._safe(self._publish_stats)

    def _safe(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except UserError as exc:
            self._emit(NodeFailed(getattr(exc, "node_id", ""), str(exc)))
        except Exception as exc:  # never let the runner thread die
            log.exception("runner: %s", exc)
            self._emit(NodeFailed("", f"{type(exc).__name__}: {exc}"))

    def _handle(self, command: Command) -> None:
        scheduler = self._scheduler
        if isinstance(command, Start):
            self._start(command.graph, command.live, command.sequential)
            return
        if command == Control("stop"):
            self._stop()
            return
        if command == Control("forget"):
            self._stats, self._final_latest = {}, {}
            return
        if scheduler is None:
            return  # nothing running: the GUI already stored the change in the graph
        match command:
            case Control("pause"):
                scheduler.pause()
                self._set_state(PAUSED)
            case Control("resume"):
                scheduler.resume()
                self._set_state(RUNNING)
            case Control("step"):
                if not scheduler.paused:
                    scheduler.pause()
                    self._set_state(PAUSED)
                scheduler.step()
            case Control("rerender"):
                scheduler.rerender()
            case Seek(node_id, index, delta):
                scheduler.seek(node_id, index, delta)
            case SetParam(node_id, name, value):
                if node_id in scheduler.graph.nodes:  # the run's own copy: a node loaded later gets the value
                    self._note_reload(scheduler, node_id, name)
                    scheduler.graph.set_param(node_id, name, value)
                if node_id in scheduler.instances:
                    scheduler.set_param(node_id, name, value)
                    if scheduler.paused:
                        scheduler.rerender()
            case SetBypass(node_id, bypass):
                if node_id in scheduler.graph.nodes:
                    scheduler.graph.set_bypass(node_id, bypass)
                scheduler.set_bypass(node_id, bypass)
                if scheduler.paused:
                    scheduler.rerender()
            case Rebuild(graph):
                self._rebuild(graph)

    def _start(self, graph: Graph, live: bool, sequential: bool) -> None:
        if self._scheduler is not None:
            self._stop()
        self._set_state(LOADING)
        self.live = live
        try:
            scheduler = Scheduler(graph, live=live, sequential=sequential, processes=True)
            scheduler.load()
        except NodeLoadError as exc:
            self._set_state(IDLE)
            self._emit(LoadFailed(exc.node_id, str(exc)))
            return
        except UserError as exc:
            self._set_state(IDLE)
            self._emit(LoadFailed("", str(exc)))
            return
        self._final_latest = {}
        self._scheduler = scheduler
        scheduler.start()
        self._set_state(RUNNING)

    def _stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        self._running_params = {}
        if scheduler is None:
            return
        self._final_latest = {s.node_id: v for s in scheduler.steps if (v := scheduler.latest(s.node_id)) is not None}
        try:
            scheduler.stop()
        finally:
            self._publish_stats(scheduler)
            self._drain_scheduler_events(scheduler)
            self._set_state(IDLE)

    def _note_reload(self, scheduler: Scheduler, node_id: str, name: str) -> None:
        """Before a param that reloads the node changes: remember the values the running instance has (the
        first change's), so that a failed reload can say what still runs."""
        spec = scheduler.graph.node_class(node_id).param_spec(name)
        if spec is not None and spec.reload and node_id in scheduler.instances:
            kept = self._running_params.setdefault(node_id, {})
            kept.setdefault(name, scheduler.graph.param_values(node_id)[name])

    def _rebuild(self, graph: Graph) -> None:
        scheduler = self._scheduler
        assert scheduler is not None
        if self.live:
            keep_live_outputs(scheduler.graph, graph)
        try:
            compile_plan(graph)
        except GraphError as exc:
            self._emit(Problem("rewiring not applied yet: " + "; ".join(str(i) for i in exc.issues)))
            return
        try:
            scheduler.rebuild(graph)
        except NodeLoadError as exc:
            self._emit(LoadFailed(exc.node_id, str(exc)))
            self._stop()
            return
        self._emit(Rebuilt())
        if scheduler.paused:
            scheduler.rerender()

    def _drain_scheduler_events(self, scheduler: Scheduler | None = None) -> None:
        scheduler = scheduler or self._scheduler
        if scheduler is None:
            return
        while True:
            try:
                event = scheduler.events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, RunFinished):
                # a rebuild halts and restarts the threads, which leaves a stale RunFinished behind
                if scheduler is self._scheduler and not scheduler.running:
                    self._stop()
                    stats = self._stats
                    self._emit(RunFinished(f"{stats.get('frames', 0)} frames in {stats.get('seconds', 0):.1f} s"))
                continue
            if isinstance(event, NodeReloaded):
                self._running_params.pop(event.node_id, None)
                if scheduler.paused:
                    scheduler.rerender()
            if isinstance(event, NodeFailed) and event.node_id in self._running_params:
                event = NodeFailed(event.node_id, kept_note(event.message, self._running_params.pop(event.node_id)))
            self._emit(event)

    def _publish_stats(self, scheduler: Scheduler | None = None) -> None:
        scheduler = scheduler or self._scheduler
        if scheduler is None:
            return
        report = scheduler.stats()
        live_fps = round(scheduler.graph_stats.live_fps(), 2)
        if scheduler.paused:  # steps and re-renders are not the running rate: keep the rate it ran at
            live_fps = self._stats.get("live_fps", live_fps) if self._stats else live_fps
        report["live_fps"] = live_fps
        report["progress"] = None if self.live else run_progress(scheduler)
        report["state"] = self.state
        report["live"] = self.live
        self._stats = report


def keep_live_outputs(running: Graph, edited: Graph) -> None:
    """A live run's rewiring: the file sinks keep writing where the run started them (a new file beside a
    finished one) and the media sources keep playing once, as prepare_live set them; a param edited
    meanwhile has reached the running copy too."""
    for node_id, entry in edited.nodes.items():
        if node_id not in running.nodes or running.nodes[node_id].type != entry.type:
            continue
        name = "path" if entry.type in FILE_SINKS else "auto_rewind" if entry.type == "source.media" else ""
        if name:
            edited.set_param(node_id, name, running.param_values(node_id)[name])


def kept_note(message: str, kept: dict[str, Any]) -> str:
    """A failed reload's message, saying that the node keeps running with its old values."""
    values = ", ".join(f"{name}={value!r}" for name, value in kept.items())
    return f"{message}; it keeps running with {values}"


def run_progress(scheduler: Scheduler) -> float | None:
    """Share of the frames to read that the sources have read (the least of them), for an offline run."""
    shares: list[float] = []
    for step in scheduler.steps:
        node = scheduler.instances.get(step.node_id)
        frame = (scheduler.latest(step.node_id) or {}).get("frame")
        if step.is_source and isinstance(node, Seekable) and frame is not None:
            start = int(node.values.get("start") or 0)
            end = int(node.values.get("end") or node.info().get("frame_count") or 0)
            if end > start:
                shares.append(min(1.0, (frame.index - start + 1) / (end - start)))
    return min(shares) if shares else None

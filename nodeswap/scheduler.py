"""Run a graph once per frame, offline or live, pipelined or sequential.

Pipelined, every node of the plan runs in its own thread (or, when it may, a worker process of its own:
nodeswap/workers.py), so stage N works on frame k while stage N+1 works on frame k-1; order is kept, so
the output is that of a sequential run. Between stages (nodeswap/channels.py): offline, bounded FIFOs
(backpressure, no frame lost); live, one frame per edge, newest wins, and the source captures just when
the first stage is free.

When a node raises, the error is recorded against it and the frame goes on as if the node were bypassed
(its forwarded input, or no faces), or is dropped and counted. The node is called again on the next frame.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from .channels import STOP as _STOP
from .channels import Edges, LatestSlot, Packet
from .errors import EndOfStream, ModelMissingError, NodeLoadError, ParamError
from .events import NodeFailed, NodeReloaded, NodeWarned, RunEvent, RunFinished
from .graph import Graph
from .node import LoadContext, Node
from .plan import Step, compile_plan
from .playback import Playback
from .stats import GraphStats, NodeStats, stats_report
from .types import Frame
from .workers import out_of_process

log = logging.getLogger(__name__)


class Scheduler:
    """Owns the node instances of one graph and the threads that run them."""

    def __init__(
        self, graph: Graph, live: bool = False, sequential: bool = False, queue_size: int = 2, processes: bool = False
    ) -> None:
        self.graph = graph
        self.processes = processes and not sequential  # nodes that may run in a worker process do
        self.live, self.sequential = live, sequential
        self.queue_size = queue_size
        self.steps: list[Step] = compile_plan(graph)
        self.instances: dict[str, Node] = {}
        self.node_stats: dict[str, NodeStats] = {s.node_id: NodeStats() for s in self.steps}
        self.graph_stats = GraphStats()
        self.events: queue.Queue[RunEvent] = queue.Queue()
        self._latest: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, dict[str, Any]] = {}
        self._swaps: dict[str, Node] = {}
        self._lock = threading.Lock()
        self._stop, self._finished = threading.Event(), threading.Event()
        self.playback = Playback()
        self._frame_limit: int | None = None
        self._edges = Edges(live, [])
        self._threads: list[threading.Thread] = []
        self._seq = self._error_drops = 0
        self.stop_on_sink_error = False  # a run that must deliver every frame stops when a sink fails
        self.failures: list[str] = []  # sinks that failed (frames lost) or could not finalise their output

    # -- lifecycle ----------------------------------------------------------
    def load(self) -> None:
        """Create and load every node not bypassed; raises NodeLoadError naming the node, or one
        ModelMissingError listing every model that is missing, so the user fetches them all at once."""
        missing: list[ModelMissingError] = []
        for step in self.steps:
            if step.node_id not in self.instances and not step.bypass:
                try:
                    self.instances[step.node_id] = self._make(step)
                except ModelMissingError as exc:
                    missing.append(exc)
        if len(missing) == 1:
            raise missing[0]
        if missing:  # one error, on the first node, that names them all
            every = ModelMissingError("", "\n".join(dict.fromkeys(str(exc) for exc in missing)))
            every.node_id = missing[0].node_id
            raise every

    def _context(self, node_id: str) -> LoadContext:
        paths = tuple(str(self.graph.param_values(s.node_id).get("path") or "") for s in self.steps if s.is_source)
        return LoadContext(node_id, self.live, tuple(p for p in paths if p))

    def _node_class(self, step: Step) -> type[Node]:
        return out_of_process(step.cls) if self.processes and step.cls.may_run_in_process else step.cls

    def _make(self, step: Step) -> Node:
        node = self._node_class(step)(step.node_id, self.graph.param_values(step.node_id))
        try:
            node.load(self._context(step.node_id))
        except NodeLoadError as exc:
            node.unload()
            if not exc.node_id:
                raise type(exc)(step.node_id, str(exc)) from None
            raise
        except Exception as exc:
            node.unload()
            raise NodeLoadError(step.node_id, f"failed to load: {exc}") from exc
        return node

    def start(self) -> None:
        """Load the nodes (if needed) and start the frame threads."""
        self.load()
        self._stop.clear()
        self._finished.clear()
        self.graph_stats.started = self.graph_stats.started or time.perf_counter()
        sources = [s for s in self.steps if s.is_source]
        work = [s for s in self.steps if not s.is_source]
        stages = [work] if self.sequential or not work else [[step] for step in work]
        self._edges = Edges(self.live, [stage[0].node_id if stage else "" for stage in stages], self.queue_size)
        channels = self._edges.channels
        self._spawn(self._source_loop, sources, channels[0], name="source")
        for i, stage in enumerate(stages):
            outbox = channels[i + 1] if i + 1 < len(stages) else None
            self._spawn(self._work_loop, stage, channels[i], outbox, name=stage[0].node_id if stage else "work")

    def _spawn(self, target: Any, *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=f"nodeswap-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the source ends (or stop). True when finished."""
        return self._finished.wait(timeout)

    def stop(self) -> None:
        """Stop the threads and unload every node (sinks finalise their files)."""
        self._halt()
        self.graph_stats.ended = self.graph_stats.ended or time.perf_counter()
        self.unload()

    def _halt(self) -> None:
        self._stop.set()
        self.playback.release()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def rebuild(self, graph: Graph) -> None:
        """Adopt an edited graph: keep the instances of unchanged nodes, load new
        ones, unload removed ones, and carry on running if it was running."""
        was_running = self.running
        paused = self.playback.paused
        self._halt()
        steps = compile_plan(graph)
        keep = {s.node_id for s in steps if s.node_id in self.instances}
        for node_id in list(self.instances):
            node = self.instances[node_id]
            if node_id not in keep or getattr(node, "node_class", type(node)) is not graph.node_class(node_id):
                node.unload()
                del self.instances[node_id]
                continue
            wanted = graph.param_values(node_id) | node.presses()  # a button press is not an edit
            changed = {k for k, v in wanted.items() if node.values.get(k) != v}
            if any(getattr(node.param_spec(k), "reload", False) for k in changed):
                node.unload()
                del self.instances[node_id]
            elif changed:
                node.values = wanted
                node.params_changed(changed)
        self.graph, self.steps = graph, steps
        for step in steps:
            self.node_stats.setdefault(step.node_id, NodeStats())
        self.load()
        if was_running:
            self.start()
            if paused:
                self.pause()

    def unload(self) -> None:
        for node_id, node in list(self.instances.items()):
            try:
                node.unload()
            except Exception as exc:  # finalise the rest regardless
                log.error("node '%s' failed to unload: %s", node_id, exc)
                self.failures.append(f"node '{node_id}': {exc}")
        self.instances.clear()

    def run(self, frames: int | None = None) -> dict[str, Any]:
        """Start, run to the end (or ``frames`` frames), stop; returns the stats."""
        self._frame_limit = frames
        self.start()
        try:
            while not self.wait(0.1):
                pass
        finally:
            self.stop()
        return self.stats()

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._finished.is_set()

    @property
    def paused(self) -> bool:
        return self.playback.paused

    def pause(self) -> None:
        self.playback.pause()

    def resume(self) -> None:
        self.graph_stats.recent.clear()  # the live fps counts from here, not across the pause
        self.playback.resume()

    def step(self) -> None:
        """While paused, let exactly one more frame through."""
        self.playback.step()

    def seek(self, node_id: str, index: int | None = None, delta: int = 0) -> None:
        self.playback.seek(node_id, index, delta)

    def rerender(self) -> None:
        self.playback.rerender()

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Change a param of a running node, applied from its next frame.

        A param marked ``reload`` makes a new instance load in the background
        while the old one keeps processing; it is swapped in when ready.
        """
        cls = self.graph.node_class(node_id)
        spec = cls.param_spec(name)
        if spec is None:
            raise ParamError(f"node '{node_id}': no param '{name}'")
        value = spec.coerce(value)
        if spec.reload and node_id in self.instances:
            params = {**self.instances[node_id].values, **self._pending.get(node_id, {}), name: value}
            threading.Thread(target=self._reload, args=(node_id, params), daemon=True).start()
            return
        with self._lock:
            self._pending.setdefault(node_id, {})[name] = value

    def set_bypass(self, node_id: str, bypass: bool) -> None:
        """Bypass a node from the next frame; a node never loaded loads in the background first."""
        step = next((s for s in self.steps if s.node_id == node_id), None)
        if step is None:
            return
        if bypass or node_id in self.instances:
            step.bypass = bypass
            return
        params = self.graph.param_values(node_id)
        threading.Thread(target=self._reload, args=(node_id, params, step), daemon=True).start()

    def _reload(self, node_id: str, params: dict[str, Any], unbypass: Step | None = None) -> None:
        step = next(s for s in self.steps if s.node_id == node_id)
        node = self._node_class(step)(node_id, params)
        try:
            node.load(self._context(node_id))
        except Exception as exc:  # report and keep the old instance running
            node.unload()
            message = str(exc) if isinstance(exc, NodeLoadError) else f"failed to load: {exc}"
            self.node_stats[node_id].last_error = message
            self.events.put(NodeFailed(node_id, message))
            return
        with self._lock:
            if unbypass is not None and node_id not in self.instances:
                self.instances[node_id] = node
                unbypass.bypass = False
            else:
                self._swaps[node_id] = node
        self.events.put(NodeReloaded(node_id))

    def latest(self, node_id: str) -> dict[str, Any] | None:
        """The last outputs of a node (for previews)."""
        return self._latest.get(node_id)

    def stats(self) -> dict[str, Any]:
        dropped = self._edges.dropped()
        for reader in dropped.keys() & self.node_stats.keys():
            self.node_stats[reader].dropped = dropped[reader]
        self.graph_stats.dropped = self._error_drops + sum(dropped.values())
        return stats_report(self.graph_stats, self.node_stats)

    # -- threads --------------------------------------------------------------
    def _source_loop(self, sources: list[Step], out: Any) -> None:
        try:
            while not self._stop.is_set():
                if self._frame_limit is not None and self._seq >= self._frame_limit:
                    break
                if not self.playback.wait_unpaused(self._stop) or not self._edges.wait_first_taken(self._stop):
                    break
                self.playback.apply_seeks(self.instances)
                packet = self.playback.take_reemit()
                if packet is None:
                    packet = Packet(self._seq, time.perf_counter())
                    if not self._run_step_list(sources, packet):
                        self._stop.wait(0.05)  # a failing source: retry without spinning
                        continue
                    self.playback.last_source = packet
                    for step in sources:
                        frame = packet.values.get((step.node_id, "frame"))
                        if isinstance(frame, Frame):
                            self._edges.source_frame(step.node_id, frame.index)
                else:
                    packet = Packet(self._seq, time.perf_counter(), dict(packet.values))
                self._seq += 1
                self.playback.take_step_permit()
                self._put(out, packet)
        except EndOfStream:
            pass
        self._put(out, _STOP)

    def _put(self, out: Any, item: Any) -> bool:
        """Hand ``item`` on; False when a stop came while the queue was full (the item is not sent)."""
        if isinstance(out, LatestSlot):
            out.put(item)
            return True
        while True:
            try:
                out.put(item, timeout=0.05)
                return True
            except queue.Full:
                if self._stop.is_set():
                    return False

    def _work_loop(self, steps: list[Step], inbox: Any, outbox: Any) -> None:
        while not self._stop.is_set():  # a stop ends every stage after the frame in hand: no gaps downstream
            try:
                packet = inbox.get(timeout=0.05)
            except queue.Empty:
                continue
            if packet is _STOP:
                break
            if self._run_step_list(steps, packet):
                if outbox is None:
                    self.graph_stats.frame_done(packet.capture_time)
                elif not self._put(outbox, packet):
                    break  # stopping: a later frame must not reach the sinks after a lost one
        if outbox is not None:
            self._put(outbox, _STOP)
        else:
            self.graph_stats.ended = time.perf_counter()
            self._finished.set()
            if not self._stop.is_set():  # the source ended by itself, not a stop or rebuild
                self.events.put(RunFinished())

    def _run_step_list(self, steps: list[Step], packet: Packet) -> bool:
        """Run ``steps`` on ``packet``; False when the frame is dropped."""
        for step in steps:
            if not self._run_step(step, packet):
                self._error_drops += 1
                return False
        return True

    def _apply_changes(self, node_id: str) -> Node | None:
        with self._lock:
            fresh = self._swaps.pop(node_id, None)
            pending = self._pending.pop(node_id, None)
        if fresh is not None:
            old = self.instances.get(node_id)
            self.instances[node_id] = fresh
            if old is not None:
                threading.Thread(target=old.unload, daemon=True).start()
        node = self.instances.get(node_id)
        if node is not None and pending:
            node.values = {**node.values, **pending}
            node.params_changed(set(pending))
        return node

    def _run_step(self, step: Step, packet: Packet) -> bool:
        node = self._apply_changes(step.node_id)
        inputs = {port: packet.values[src] for port, src in step.sources.items() if src in packet.values}
        stats = self.node_stats[step.node_id]
        if node is None or (step.bypass and not step.is_source):
            outputs = step.fallback(inputs)
        else:
            began = time.perf_counter()
            try:
                outputs = node.process(**inputs)
                stats.ms.append((time.perf_counter() - began) * 1000.0)
                stats.calls += 1
            except EndOfStream:
                raise
            except Exception as exc:
                stats.calls += 1
                stats.errors += 1
                message = f"{type(exc).__name__}: {exc}"
                if message != stats.last_error or stats.errors % 100 == 1:
                    log.warning("node '%s' failed on frame %d: %s", step.node_id, packet.seq, message)
                    self.events.put(NodeFailed(step.node_id, message))
                stats.last_error = message
                outputs = None if step.is_source else step.fallback(inputs)
                if self.stop_on_sink_error and step.cls.category == "sink":
                    self.failures.append(f"node '{step.node_id}' failed on frame {packet.seq}: {message}")
                    self._stop.set()
        if node is not None:
            for message in node.take_warnings():
                self.events.put(NodeWarned(step.node_id, message))
        if outputs is None:
            return False
        for port, value in outputs.items():
            if isinstance(value, Frame) and value.image.flags.writeable:
                value.image.flags.writeable = False  # downstream nodes must not mutate their inputs
            packet.values[(step.node_id, port)] = value
        self._latest[step.node_id] = outputs
        if step.is_source and "frame" in outputs:
            packet.capture_time = getattr(outputs["frame"], "time", 0.0) or packet.capture_time
        return True

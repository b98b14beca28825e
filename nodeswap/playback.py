"""Pause, single steps, seeks and re-renders of a running graph: asked for from any thread (the editor's),
taken by the scheduler's source thread between two frames."""

from __future__ import annotations

import threading

from .channels import Packet
from .node import Node, Seekable


class Playback:
    """The playback state of one run; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.paused = False
        self._steps_allowed = 0
        self._seeks: list[tuple[str, int | None, int]] = []
        self._reemit: Packet | None = None
        self.last_source: Packet | None = None  # the source's last packet, for a re-render

    def pause(self) -> None:
        with self._lock:
            self.paused, self._steps_allowed = True, 0
            self._unpaused.clear()

    def resume(self) -> None:
        with self._lock:
            self.paused, self._steps_allowed = False, 0
            self._unpaused.set()

    def step(self) -> None:
        """While paused, let exactly one more frame through."""
        with self._lock:
            if self.paused:
                self._steps_allowed += 1
                self._unpaused.set()

    def seek(self, node_id: str, index: int | None = None, delta: int = 0) -> None:
        """Move a seekable source (to ``index``, or by ``delta``) before its next frame; while paused, the
        frame sought is shown at once."""
        with self._lock:
            self._seeks.append((node_id, index, delta))
        if self.paused:
            self.step()

    def rerender(self) -> None:
        """Send the last source frame through again (a paused frame after a param change)."""
        with self._lock:
            self._reemit = self.last_source
        if self.paused:
            self.step()

    def release(self) -> None:
        """Wake a source thread waiting to be unpaused (the run is stopping)."""
        self._unpaused.set()

    # -- the source thread ---------------------------------------------------------------------------------
    def wait_unpaused(self, stop: threading.Event) -> bool:
        """Block while paused; False when ``stop`` is set."""
        while not stop.is_set():
            if self._unpaused.wait(0.05):
                return True
        return False

    def take_step_permit(self) -> None:
        with self._lock:
            if self.paused and self._steps_allowed > 0:
                self._steps_allowed -= 1
                if self._steps_allowed == 0:
                    self._unpaused.clear()

    def apply_seeks(self, instances: dict[str, Node]) -> None:
        with self._lock:
            seeks, self._seeks = self._seeks, []
        for node_id, index, delta in seeks:
            node = instances.get(node_id)
            if isinstance(node, Seekable) and index is not None:
                node.seek(index)
            elif isinstance(node, Seekable) and delta:
                node.step(delta)

    def take_reemit(self) -> Packet | None:
        with self._lock:
            packet, self._reemit = self._reemit, None
        return packet

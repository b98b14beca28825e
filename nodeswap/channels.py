"""Frame channels between pipeline stages: the packet of one frame's values, and
the newest-frame mailbox a live source writes into."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

STOP = object()  # sent down a channel after the last frame


@dataclass
class Packet:
    """One frame's values as it moves through the plan."""

    seq: int
    capture_time: float
    values: dict[tuple[str, str], Any] = field(default_factory=dict)


class LatestSlot:
    """A one-item mailbox, the live edge between two stages: ``put`` replaces an unread item (newest wins)
    and counts it as dropped, so a frame never waits behind an older one.

    Putting ``STOP`` closes the slot; the last item is still delivered first.
    """

    def __init__(self) -> None:
        self._item: Any = None
        self._full = False
        self._closed = False
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._cond:
            if item is STOP:
                self._closed = True
            else:
                self.dropped += int(self._full)
                self._item, self._full = item, True
            self._cond.notify()

    def wait_empty(self, timeout: float | None = None) -> bool:
        """Block until the item was taken (or the slot closed); False on timeout. A live source waits here so
        that it captures just when the next stage is ready, not at the camera's rate."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._full or self._closed, timeout)

    def get(self, timeout: float | None = None) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                raise queue.Empty
            if not self._full:
                return STOP
            item, self._item, self._full = self._item, None, False
            self._cond.notify_all()  # a producer may be waiting for the slot to empty
            return item


class Edges:
    """The channels between a run's stages, each named by the node that reads it, and what they dropped.

    Live, every edge is a LatestSlot (one frame, newest wins); offline, a bounded FIFO (lossless, the source
    waits). A live source's skipped frames (gaps in its frame numbers) count against the first stage."""

    def __init__(self, live: bool, readers: list[str], queue_size: int = 2) -> None:
        self.live = live
        self.channels: list[Any] = [LatestSlot() if live else queue.Queue(queue_size) for _ in readers]
        self.readers = readers
        self._skipped = 0
        self._last_index: dict[str, int] = {}

    def wait_first_taken(self, stop: threading.Event) -> bool:
        """Live: block until the first stage took the last frame, so the source captures just in time (not at
        the camera's rate); False when ``stop`` is set. Offline: at once."""
        first = self.channels[0]
        while isinstance(first, LatestSlot) and not first.wait_empty(0.05):
            if stop.is_set():
                return False
        return True

    def source_frame(self, source_id: str, index: int) -> None:
        """A live source gave frame ``index``: frames it skipped to stay on time are drops."""
        gap = index - self._last_index.get(source_id, index - 1) - 1
        self._last_index[source_id] = index
        if self.live and gap > 0:  # a loop back to the start is no skip
            self._skipped += gap

    def dropped(self) -> dict[str, int]:
        """Frames that never reached each reading node (live)."""
        pairs = zip(self.channels, self.readers, strict=True)
        found = {reader: getattr(channel, "dropped", 0) for channel, reader in pairs}
        if self.readers:
            found[self.readers[0]] += self._skipped
        return found

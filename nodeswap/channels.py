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
    """A one-item mailbox: ``put`` replaces an unread item and counts it as dropped.

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

    def get(self, timeout: float | None = None) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                raise queue.Empty
            if not self._full:
                return STOP
            item, self._item, self._full = self._item, None, False
            return item

"""What the status bar says about a run: its one-line summary, and a message per run event. No GUI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..events import (
    LoadFailed,
    NodeFailed,
    NodeReloaded,
    NodeWarned,
    Problem,
    Rebuilt,
    RunEvent,
    RunFinished,
    StateChanged,
)

STATE_LABELS = {"loading": "loading the nodes...", "running": "running", "paused": "paused", "idle": "stopped"}


@dataclass(frozen=True)
class Notice:
    """A run event for the user: the status text, whether it is an error, and the node whose error badge it
    sets (``error`` on ``node_id``) or clears (``error`` None)."""

    text: str
    is_error: bool = False
    node_id: str = ""
    node_error: str | None = None
    node_warning: str = ""  # a warning to show on the node


def notice(event: RunEvent) -> Notice:
    match event:
        case StateChanged(state):
            return Notice(STATE_LABELS.get(state, state))
        case LoadFailed(node_id, message):
            return Notice("cannot run: " + message, True, node_id, message)
        case NodeFailed(node_id, message):
            return Notice(message, True, node_id, message)
        case NodeWarned(node_id, message):
            return Notice(f"'{node_id}': {message}", node_id=node_id, node_warning=message)
        case NodeReloaded(node_id):
            return Notice(f"'{node_id}' reloaded", node_id=node_id)
        case RunFinished(summary):
            return Notice(f"finished: {summary}")
        case Problem(message):
            return Notice(message, True)
        case Rebuilt():
            return Notice("rewired while running")
    return Notice(str(event))


def run_line(state: str, stats: dict[str, Any], paused_s: float = 0.0) -> str:
    """The status bar's run summary: state, fps, latency, frames and drops; for an offline run over files,
    the share done and the time left (from the time spent running: ``paused_s`` does not count)."""
    if not stats or (state == "idle" and not stats.get("frames")):
        return state
    fps = stats.get("live_fps") or stats.get("fps", 0.0)
    latency = stats.get("latency_ms", {})
    line = (
        f"{state} | {fps:5.1f} fps | latency {latency.get('p50', 0):.0f} ms (p95 {latency.get('p95', 0):.0f}) | "
        f"{stats.get('frames', 0)} frames | dropped {stats.get('dropped', 0)} |"
    )
    done = stats.get("progress")
    if done and state in ("running", "paused") and 0 < done < 1:  # an offline run over files
        left = max(0.0, stats.get("seconds", 0.0) - paused_s) * (1 - done) / done
        line += f" {done:.0%} done, {left:.0f} s left |"
    return line


class PausedClock:
    """Seconds a run has spent paused, so that its time left does not grow while it waits."""

    def __init__(self) -> None:
        self.total = 0.0
        self._since: float | None = None

    def seconds(self, state: str, now: float) -> float:
        """The paused seconds so far, given the run's ``state`` at ``now`` (monotonic); 0 again once idle."""
        if state == "idle":
            self.total, self._since = 0.0, None
        elif state == "paused" and self._since is None:
            self._since = now
        elif state != "paused" and self._since is not None:
            self.total, self._since = self.total + now - self._since, None
        return self.total + (now - self._since if self._since is not None else 0.0)

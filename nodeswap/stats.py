"""Per-node and per-graph run statistics (thread-safe enough: each counter has one writer)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

WINDOW = 1000  # samples kept for means and percentiles


def _percentile(values: deque[float], q: float) -> float:
    return float(np.percentile(np.fromiter(values, float), q)) if values else 0.0


@dataclass
class NodeStats:
    ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    calls: int = 0
    errors: int = 0
    dropped: int = 0  # live: frames that never reached this node (replaced on its input, or skipped by a source)
    last_error: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "ms_mean": round(sum(self.ms) / len(self.ms), 3) if self.ms else 0.0,
            "ms_p95": round(_percentile(self.ms, 95), 3),
            "calls": self.calls,
            "errors": self.errors,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }


@dataclass
class GraphStats:
    frames: int = 0
    dropped: int = 0
    started: float = 0.0
    ended: float = 0.0
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=60))  # end times, for live fps

    def frame_done(self, capture_time: float) -> None:
        now = time.perf_counter()
        self.frames += 1
        self.ended = now
        self.recent.append(now)
        if capture_time:
            self.latency_ms.append((now - capture_time) * 1000.0)

    def fps(self) -> float:
        end = self.ended or time.perf_counter()
        seconds = end - self.started if self.started else 0.0
        return self.frames / seconds if seconds > 0 else 0.0

    def live_fps(self) -> float:
        if len(self.recent) < 2:
            return 0.0
        return (len(self.recent) - 1) / max(self.recent[-1] - self.recent[0], 1e-9)


def stats_report(graph_stats: GraphStats, nodes: dict[str, NodeStats]) -> dict[str, Any]:
    """The ``--stats`` JSON object."""
    seconds = (graph_stats.ended or time.perf_counter()) - graph_stats.started if graph_stats.started else 0.0
    return {
        "frames": graph_stats.frames,
        "seconds": round(seconds, 3),
        "fps": round(graph_stats.fps(), 2),
        "dropped": graph_stats.dropped,
        "latency_ms": {
            "p50": round(_percentile(graph_stats.latency_ms, 50), 2),
            "p95": round(_percentile(graph_stats.latency_ms, 95), 2),
        },
        "nodes": {node_id: s.summary() for node_id, s in nodes.items()},
    }

"""How often the editor draws a frame: often while someone uses it, rarely while it only watches a run or
sits idle, so that drawing never takes the cores a running graph needs. No GUI."""

from __future__ import annotations

FPS_CAP = 30.0  # the GUI redraws at most this often
MIN_FPS = 0.25  # ... and at least this often (input is only seen when a frame is drawn)
IDLE_AFTER = 2.0  # seconds after the last mouse or key input that the GUI counts as in use
# Share of one core the GUI's drawing may take when nobody is using it: little while a graph runs (the
# pipeline needs the cores), less when idle. In use, it draws at FPS_CAP whatever it costs. With a GPU a
# frame costs about a millisecond and these change nothing; drawn in software (Xvfb, a VM) a frame can
# cost 80 ms, and a fixed rate would take most of a core from the graph.
GUI_SHARE_RUNNING = 0.08
GUI_SHARE_IDLE = 0.03


def frame_interval(draw_seconds: float, in_use: bool, running: bool) -> float:
    """Seconds between two GUI frames: FPS_CAP in use, else as often as the drawing's share allows."""
    if in_use:
        return 1.0 / FPS_CAP
    share = GUI_SHARE_RUNNING if running else GUI_SHARE_IDLE
    return min(max(1.0 / FPS_CAP, draw_seconds / share), 1.0 / MIN_FPS)

"""The editor's frame pacing and status texts (no GUI): drawing never takes the cores a run needs."""

from __future__ import annotations

import time

import pytest

from nodeswap.editor.pacing import FPS_CAP, GUI_SHARE_IDLE, GUI_SHARE_RUNNING, MIN_FPS, frame_interval
from nodeswap.editor.status import notice, run_line
from nodeswap.events import LoadFailed, NodeReloaded, RunFinished, StateChanged


def test_in_use_the_editor_draws_at_the_cap_whatever_a_frame_costs() -> None:
    assert frame_interval(0.08, in_use=True, running=True) == pytest.approx(1 / FPS_CAP)


@pytest.mark.parametrize("running, share", [(True, GUI_SHARE_RUNNING), (False, GUI_SHARE_IDLE)])
def test_unattended_drawing_keeps_to_its_share_of_a_core(running: bool, share: float) -> None:
    cheap = frame_interval(0.001, in_use=False, running=running)  # a GPU: as good as the cap
    assert cheap == pytest.approx(max(1 / FPS_CAP, 0.001 / share))
    software = frame_interval(0.02, in_use=False, running=running)  # software GL: 20 ms a frame
    assert 0.02 / software == pytest.approx(share)
    assert frame_interval(5.0, in_use=False, running=running) == pytest.approx(1 / MIN_FPS)  # never frozen


def test_run_events_become_status_texts_and_node_badges() -> None:
    failed = notice(LoadFailed("swapper", "node 'swapper': model missing"))
    assert failed.is_error and failed.node_id == "swapper" and failed.text.startswith("cannot run: ")
    assert notice(NodeReloaded("marker")).node_error is None  # clears the node's error badge
    assert notice(RunFinished("40 frames in 2.0 s")).text == "finished: 40 frames in 2.0 s"
    assert notice(StateChanged("loading")).text == "loading the nodes..."
    line = run_line("running", {"live_fps": 29.5, "latency_ms": {"p50": 80, "p95": 110}, "frames": 9, "dropped": 2})
    assert "29.5 fps" in line and "latency 80 ms (p95 110)" in line and "dropped 2" in line


@pytest.mark.parametrize(
    "app_data, save, expected",
    [
        # a file picked under the "all files" filter: exactly that file (the dialog's own answer is "clip.*")
        (
            {"file_name": "clip.*", "current_path": "/m", "selections": {"clip.mp4": "/m/clip.mp4"}},
            False,
            "/m/clip.mp4",
        ),
        # an absolute path typed: as typed (the dialog puts its folder in front of it)
        ({"file_name": "/tmp/x/g.json", "current_path": "/work/main", "selections": {}}, True, "/tmp/x/g.json"),
        # a bare name typed to save, under "all files": in the folder shown, with the type's extension
        ({"file_name": "out.*", "current_path": "/tmp/x", "selections": {}}, True, "/tmp/x/out.mp4"),
        ({"file_name": "out.mkv", "current_path": "/tmp/x", "selections": {}}, True, "/tmp/x/out.mkv"),
        ({"file_name": "", "current_path": "/tmp/x", "selections": {}}, False, ""),  # nothing chosen
    ],
)
def test_the_file_dialog_gives_exactly_the_path_meant(app_data: dict[str, object], save: bool, expected: str) -> None:
    from nodeswap.editor.files import chosen_path

    assert chosen_path(app_data, save, ".mp4") == expected


class FakePointer:
    """A pointer that moves after ``moves_after`` reads."""

    def __init__(self, moves_after: int | None) -> None:
        self.reads, self.moves_after = 0, moves_after

    def state(self) -> tuple[int, int, int, bytes] | None:
        self.reads += 1
        moved = self.moves_after is not None and self.reads > self.moves_after
        return (5, 5, 0, bytes(32)) if moved else (0, 0, 0, bytes(32))

    def wait_event(self, seconds: float) -> bool:  # no window watched: it only sleeps
        time.sleep(seconds)
        return False


def test_an_idle_editor_wakes_when_the_mouse_moves() -> None:
    import time

    from nodeswap.editor.pacing import sleep_unless_touched

    began = time.monotonic()
    assert sleep_unless_touched(3.0, FakePointer(moves_after=3))  # type: ignore[arg-type]
    assert time.monotonic() - began < 1.0  # woken, not the whole 3 s
    began = time.monotonic()
    assert not sleep_unless_touched(0.3, FakePointer(moves_after=None))  # type: ignore[arg-type]
    assert time.monotonic() - began >= 0.29


def test_the_pointer_is_read_from_a_real_x_display() -> None:
    """Under Xvfb (as the GUI tests run) the pointer's position comes from libX11 without a window."""
    import os
    import shutil
    import subprocess
    import sys

    if not shutil.which("xvfb-run"):
        pytest.skip("needs xvfb-run")
    code = "from nodeswap.editor.pacing import PointerWatch; p = PointerWatch(); print(p.state()); p.close()"
    done = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert done.returncode == 0 and done.stdout.startswith("("), done.stderr


def test_an_offline_run_shows_its_progress_and_the_time_left() -> None:
    stats = {"fps": 20.0, "latency_ms": {}, "frames": 100, "dropped": 0, "seconds": 5.0, "progress": 0.25}
    assert "25% done, 15 s left" in run_line("running", stats)
    assert "done" not in run_line("running", {**stats, "progress": None})  # live: no end to count down to


def test_the_preview_column_grows_with_the_window() -> None:
    from nodeswap.editor.preview import column_width

    assert column_width(1280) == column_width(1600) == 440
    assert column_width(1920) == 600 and column_width(3840) == 900

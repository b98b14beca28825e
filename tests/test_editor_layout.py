"""The editor's layout and file helpers without a window: where a new node goes, how far a link reaches, the
side panels of a small window, a cut status message, time left while paused, file sizes, folder order."""

from __future__ import annotations

from pathlib import Path

from nodeswap.editor.files import LastFolders, folder_listing, size_text
from nodeswap.editor.framing import bezier_distance, spot_in_view
from nodeswap.editor.status import PausedClock, run_line
from nodeswap.editor.ui import fit_line, ready_text, side_widths

VIEW = (0.0, 0.0, 900.0, 700.0)
MINIMAP = [(700.0, 540.0, 200.0, 160.0)]


def test_a_new_node_goes_in_view_clear_of_nodes_and_minimap() -> None:
    boxes = [(20.0, 20.0, 300.0, 300.0), (360.0, 20.0, 300.0, 300.0)]
    x, y = spot_in_view((2000.0, 2000.0), (230.0, 200.0), boxes, VIEW, MINIMAP)  # asked for far off screen
    assert x >= 0 and x + 230 <= 900 and y >= 0 and y + 200 <= 700
    assert all(x + 230 <= bx or bx + bw <= x or y + 200 <= by or by + bh <= y for bx, by, bw, bh in boxes + MINIMAP)
    assert spot_in_view((400.0, 380.0), (230.0, 200.0), boxes, VIEW, MINIMAP) == (400.0, 380.0)  # free: there


def test_a_link_is_hit_within_ten_pixels_of_its_curve() -> None:
    start, end = (100.0, 100.0), (500.0, 300.0)
    assert bezier_distance((300.0, 208.0), start, end) < 10  # 8 px beside its middle
    assert bezier_distance((300.0, 240.0), start, end) > 10


def test_a_small_window_narrows_the_side_panels() -> None:
    assert side_widths(1600) == (220, 440) and side_widths(2000) == (220, 640)
    left, column = side_widths(1100)
    assert 1100 - left - column >= 580  # the canvas keeps a usable width


def test_a_long_message_is_cut_with_dots_and_ready_says_what_space_does() -> None:
    text = "x" * 300
    cut = fit_line(text, 700.0)
    assert cut.endswith("...") and len(cut) * 7 <= 700 and fit_line("short", 700.0) == "short"
    assert "Space or F5 runs offline" in ready_text(True) and "Space runs live" in ready_text(False)


def test_time_left_does_not_grow_while_paused() -> None:
    clock = PausedClock()
    stats = {"frames": 50, "progress": 0.5, "seconds": 5.0}
    assert clock.seconds("running", 100.0) == 0.0
    assert "5 s left" in run_line("running", stats)
    paused_at = clock.seconds("paused", 100.0)
    later = clock.seconds("paused", 113.0)  # 13 s paused: the run's wall time grew by as much
    assert paused_at == 0.0 and later == 13.0
    assert "5 s left" in run_line("paused", {**stats, "seconds": 18.0}, later)
    assert clock.seconds("running", 120.0) == 20.0 and clock.seconds("idle", 121.0) == 0.0


def test_sizes_in_kb_and_mb_and_folders_a_to_z(tmp_path: Path) -> None:
    assert [size_text(n) for n in (512, 2048, 2_500_000, 300 * 1024**2)] == ["512 B", "2.0 KB", "2.4 MB", "300 MB"]
    for name in ("b", "A", "c", ".hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / "clip.MP4").write_bytes(b"x" * 10)
    (tmp_path / "notes.txt").write_text("x")
    folders, files = folder_listing(tmp_path, (".mp4",))
    assert folders == ["A", "b", "c"] and files == [("clip.MP4", 10)]
    last = LastFolders(tmp_path / "folders.json")
    last.remember("open:.mp4", tmp_path / "A" / "x.mp4")
    assert LastFolders(tmp_path / "folders.json").get("open:.mp4") == (tmp_path / "A").resolve()

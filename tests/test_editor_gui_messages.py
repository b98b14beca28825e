"""Issue 24, stumbles 1 and 7, in the real editor window (Xvfb, xdotool): a live run never replaces a finished
video and ends with its input; a failed model switch says what keeps running, the error goes once its cause
is undone, and New leaves no old message in the status bar."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui


def write_graph(path: Path, nodes: dict, links: list[tuple[str, str]], layout: dict) -> Path:
    links_json = [{"from": a, "to": b} for a, b in links]
    data = {"format": "nodeswap.graph", "version": 1, "nodes": nodes, "links": links_json, "layout": layout}
    path.write_text(json.dumps(data))
    return path


def test_a_live_run_keeps_the_finished_video_and_ends_with_its_input(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path
) -> None:
    out = tmp_path / "out.mp4"
    nodes = {
        "source": {"type": "source.media", "params": {"path": str(obama), "end": 40}},
        "sink": {"type": "sink.video", "params": {"path": str(out)}},
    }
    graph = write_graph(
        tmp_path / "g.json", nodes, [("source.frame", "sink.frame")], {"source": [20, 20], "sink": [320, 20]}
    )
    editor = start(editors, display, tmp_path, graph)
    probe = editor.wait(lambda p: "sink" in p["nodes"], 20, "the graph drawn")
    editor.click_item(probe["buttons"]["run_offline"], "Run offline")  # the finished video
    editor.wait(lambda p: p["status"].startswith("finished"), 60, "the offline run")
    finished = out.read_bytes()

    editor.click_item(editor.probe()["buttons"]["run_live"], "Run live")
    probe = editor.wait(lambda p: p["state"] == "running", 30, "the live run")
    probe = editor.wait(lambda p: p["state"] == "idle", 60, "the live run ending with its input, by itself")
    assert out.read_bytes() == finished  # not replaced
    live = tmp_path / "out-live.mp4"
    assert live.stat().st_size > 0
    assert probe["graph"]["nodes"]["sink"]["params"]["path"] == str(out)  # the graph itself is not changed
    assert probe["graph"]["nodes"]["source"]["params"].get("auto_rewind", True) is True
    editor.screenshot(tmp_path / "live_done.png")


def choose_row(editor: Editor, combo: list[float], row: int) -> None:
    """Open a combo and click its ``row``-th entry (the list opens below it, 17 px a row)."""
    editor.click(Editor.center(combo))
    time.sleep(0.5)
    editor.click((combo[0] + 40, combo[1] + combo[3] + 8 + 17 * row))


def test_a_failed_switch_says_what_runs_and_its_error_goes_with_its_cause(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path
) -> None:
    nodes = {
        "source": {"type": "source.media", "params": {"path": str(obama), "loop": True}},
        "detector": {"type": "detect.face"},
        "overlay": {"type": "utility.overlay"},
        "preview": {"type": "sink.preview"},
    }
    links = [
        ("source.frame", "detector.frame"),
        ("source.frame", "overlay.frame"),
        ("detector.faces", "overlay.faces"),
        ("overlay.frame", "preview.frame"),
    ]
    layout = {"source": [20, 20], "detector": [300, 20], "overlay": [580, 20], "preview": [580, 300]}
    editor = start(editors, display, tmp_path, write_graph(tmp_path / "g.json", nodes, links, layout))
    probe = editor.wait(lambda p: "detector.model" in p["params"], 20, "the graph drawn")
    editor.click_item(probe["buttons"]["run_live"], "Run live")
    editor.wait(lambda p: p["state"] == "running" and (p["stats"]["frames"] or 0) > 3, 60, "the live run")

    for _ in range(3):  # s3fd is the list's last row; its model is not on this machine
        choose_row(editor, editor.probe()["params"]["detector.model"], 7)
        try:
            editor.wait(lambda p: p["graph"]["nodes"]["detector"]["params"].get("model") == "s3fd", 5)
            break
        except AssertionError:
            editor.key("Escape")
    probe = editor.wait(lambda p: "detector" in p["errors"], 30, "the failed switch")
    assert p_error(probe).endswith("it keeps running with model='yunet'"), p_error(probe)
    assert probe["state"] == "running"
    editor.click(title_point(probe["nodes"]["detector"]))
    probe = editor.wait(lambda p: "keeps running with model='yunet'" in p["inspector"]["notes"], 15, "the inspector")
    editor.screenshot(tmp_path / "failed_switch.png")

    editor.click_item(probe["buttons"]["undo"], "Undo")  # back to yunet: it reloads, the error goes
    editor.wait(lambda p: p["graph"]["nodes"]["detector"]["params"].get("model", "yunet") == "yunet", 10, "undone")
    probe = editor.wait(lambda p: "detector" not in p["errors"], 30, "the error gone with its cause")
    assert probe["inspector"]["node"] == "detector"
    probe = editor.wait(lambda p: "last error" not in p["inspector"]["notes"], 10, "the inspector's error gone")
    assert "S3FD" not in probe["inspector"]["notes"]

    editor.click_item(probe["buttons"]["stop"], "Stop")
    editor.wait(lambda p: p["state"] == "idle", 30, "stopped")
    editor.move(Editor.center(editor.probe()["canvas"]))  # a key reaches an idle editor once the mouse moves
    editor.key("ctrl+n")  # the undo left nothing unsaved: no question
    probe = editor.wait(lambda p: p["graph"]["nodes"] == {}, 10, "the new graph")
    assert not probe["status_error"] and "s3fd" not in probe["status"] and not probe["errors"], probe["status"]


def p_error(probe: dict) -> str:
    return str(probe["errors"]["detector"])

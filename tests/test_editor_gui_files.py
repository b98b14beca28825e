"""The file dialog in the real editor window (Xvfb, xdotool): what the user types or picks is exactly the
path the param gets (it once became '.../out.*' or '/work/main//tmp/x/out.mp4')."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nodeswap.editor.preview import column_width
from tests.gui import fixtures
from tests.gui.driver import ROOT, Editor
from tests.gui.fixtures import start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui


def test_a_path_typed_in_the_file_dialog_is_the_param_s_exact_value(
    display: str, editors: list[Editor], tmp_path: Path, media_dir: Path
) -> None:
    editor = start(editors, display, tmp_path, ROOT / "graphs" / "video_swap.json")
    (tmp_path / "renders").mkdir()
    clip, out = media_dir / "videos" / "Obama_speaking.mp4", tmp_path / "renders" / "out.mp4"
    for field, path in (("source.path", clip), ("sink.path", out)):  # an input to open, an output to save
        editor.click_item(editor.fresh()["browse"][field], f"the '...' button of {field}")
        probe = editor.wait(lambda p: p["modal"] == "file" and p["files"] and p["files"]["name_box"], 15, "dialog")
        editor.click(Editor.center(probe["files"]["name_box"]))  # the Name box
        time.sleep(0.3)
        editor.key("ctrl+a")
        editor.type(str(path))  # an absolute path, typed where the dialog shows another folder
        editor.wait(lambda p, v=str(path): p["files"]["name"] == v, 30, "the path typed")
        editor.click_item(probe["files"]["ok"], "Open/Save")
        node, param = field.split(".")
        editor.wait(lambda p, n=node, k=param, v=str(path): p["graph"]["nodes"][n]["params"].get(k) == v, 20, field)
    assert editor.probe()["modal"] is None


def test_a_new_document_after_a_run_shows_nothing_of_the_old_one(
    display: str, editors: list[Editor], tmp_path: Path, media_dir: Path
) -> None:
    """New after a run: a node that reuses an id shows no old timings, the preview no old frame."""
    graph = tmp_path / "clip.json"
    nodes = {
        "source": {
            "type": "source.media",
            "params": {"path": str(media_dir / "videos" / "Obama_speaking.mp4"), "end": 15},
        },
        "sink": {"type": "sink.video", "params": {"path": str(tmp_path / "out.mp4")}},
    }
    layout = {"source": [40, 40], "sink": [340, 40]}
    links = [{"from": "source.frame", "to": "sink.frame"}]
    graph.write_text(
        json.dumps({"format": "nodeswap.graph", "version": 1, "nodes": nodes, "links": links, "layout": layout})
    )
    editor = start(editors, display, tmp_path, graph)
    editor.click_item(editor.fresh()["buttons"]["run_offline"], "Run offline")
    probe = editor.wait(lambda p: "finished" in p["status"] and "ms" in p["badges"].get("source", ""), 60, "the run")
    assert probe["preview"]["placement"]["frame_index"] == 14  # the last frame shows after the run
    editor.click(title_point(probe["nodes"]["sink"]))  # a sink shows the frame it received
    probe = editor.wait(lambda p: p["preview"]["node"] == "sink", 10, "the sink previewed")
    assert probe["preview"]["placement"]["frame_index"] == 14
    assert probe["preview"]["rect"][2] == column_width(probe["viewport"][0]) - 40  # fills its column
    editor.screenshot(tmp_path / "after_run.png")

    editor.key("ctrl+n")
    editor.wait(lambda p: not p["graph"]["nodes"], 10, "an empty document")
    editor.click_item(editor.fresh()["palette"]["source.media"], "Media file")
    probe = editor.wait(lambda p: "source" in p["badges"] and p["preview"]["node"] == "source", 10, "a new 'source'")
    assert "ms" not in probe["badges"]["source"]  # not the old node's timing
    assert probe["preview"]["placement"]["frame_index"] == -1 and not probe["stats"].get("frames")
    time.sleep(1.0)  # a frame drawn after the probe was written
    editor.screenshot(tmp_path / "new_document.png")

    # double-click the preview: the output at full size, in a window of its own (here the run before was forgotten,
    # so it shows the new source: nothing)
    for attempt in range(3):  # a loaded machine can draw the two clicks of a double click in one frame
        editor.move(Editor.center(editor.probe()["preview"]["rect"]))  # wake the idle window first
        editor.click(Editor.center(editor.fresh(20.0)["preview"]["rect"]), double=True)
        try:
            probe = editor.wait(lambda p: p["preview"]["large"], 5, "the large preview")
            break
        except AssertionError:
            if attempt == 2:
                raise
    assert probe["preview"]["large"][2] >= 0.8 * probe["viewport"][0] - 2
    editor.screenshot(tmp_path / "large_preview.png")

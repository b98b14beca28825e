"""Issue 24, stumble 2, in the real editor window (Xvfb, xdotool): every missing model of the graph at once,
before any run, on the node that needs it (its badge, its inspector with the Download buttons) and in the
problems window the status bar's button opens; Run's refusal points to the buttons, not a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui


def no_models(tmp_path: Path) -> dict[str, str]:
    """Empty model folders for the editor: nothing is on this machine."""
    for name in ("env", "data", "cache"):
        (tmp_path / name).mkdir()
    return {
        "NODESWAP_MODELS": str(tmp_path / "env"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def inswapper_graph(tmp_path: Path, video: Path, photo: Path) -> Path:
    nodes = {
        "source": {"type": "source.media", "params": {"path": str(video)}},
        "detector": {"type": "detect.face"},
        "swap": {"type": "swap.inswapper", "params": {"source": str(photo)}},
        "merger": {"type": "merge.faces"},
        "sink": {"type": "sink.video", "params": {"path": str(tmp_path / "out.mp4")}},
    }
    links = [
        {"from": "source.frame", "to": "detector.frame"},
        {"from": "source.frame", "to": "swap.frame"},
        {"from": "detector.faces", "to": "swap.faces"},
        {"from": "source.frame", "to": "merger.frame"},
        {"from": "swap.faces", "to": "merger.faces"},
        {"from": "merger.frame", "to": "sink.frame"},
    ]
    layout = {"source": [20, 20], "detector": [20, 260], "swap": [300, 20], "merger": [560, 20], "sink": [560, 260]}
    graph = tmp_path / "inswapper.json"
    data = {"format": "nodeswap.graph", "version": 1, "nodes": nodes, "links": links, "layout": layout}
    graph.write_text(json.dumps(data))
    return graph


def test_every_missing_model_at_once_on_its_node_with_its_fix(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path, photos: list[Path]
) -> None:
    graph = inswapper_graph(tmp_path, obama, photos[0])
    editor = start(editors, display, tmp_path, graph, **no_models(tmp_path))
    # before any run: the button counts all three, the badges name them
    probe = editor.wait(lambda p: p["problems"]["button"] and "swap" in p["nodes"], 20, "the problems button")
    assert probe["problems"]["label"] == "3 problems...", probe["problems"]
    issues = "\n".join(probe["problems"]["issues"])
    for node, model in (("detector", "yunet_dynamic"), ("swap", "inswapper_128"), ("swap", "w600k_r50")):
        assert f"node '{node}' model '{model}'" in issues
    assert "models fetch" not in issues and "press 'Download" in issues
    assert probe["badges"]["swap"] == "missing 2 models (hover)"
    assert probe["badges"]["detector"] == "missing model yunet_dynamic (hover)"

    # the inspector: both models, each with its Download button
    editor.click(title_point(probe["nodes"]["swap"]))
    probe = editor.wait(
        lambda p: len(p["inspector"]["downloads"]) == 2 and "to do" in p["inspector"]["notes"], 15, "the swap inspected"
    )
    assert sorted(probe["inspector"]["downloads"]) == ["inswapper_128", "w600k_r50"]
    notes = probe["inspector"]["notes"]
    assert "to do: model 'inswapper_128.onnx'" in notes and "to do: model 'w600k_r50.onnx'" in notes
    editor.screenshot(tmp_path / "inspector.png")

    # Run is refused naming the first, pointing to the buttons and to the whole list
    editor.click_item(editor.probe()["buttons"]["run_offline"], "Run offline")  # keys: issue 24 item 3
    probe = editor.wait(lambda p: p["status"].startswith("cannot run"), 15, "the refusal")
    assert "press 'Download" in probe["status"] and "models fetch" not in probe["status"]
    assert "(+2 more: see all with the problems button)" in probe["status"]
    assert probe["state"] == "idle"

    # the problems window lists them all, each with its Download button
    editor.click_item(probe["problems"]["button"], "the problems button")
    probe = editor.wait(lambda p: p["problems"]["shown"], 15, "the problems window")
    editor.screenshot(tmp_path / "problems.png")

"""Where nodes land in the real editor window (Xvfb, xdotool): the presets open with every node in view, a
node added from the palette or by dropping a link lands in view, clear of the other nodes and of the
minimap, and frame-all (Home) keeps each node's view mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start, title_point
from tests.test_editor_gui_view import all_in_view, inside, overlap

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "graphs").glob("*.json"))


def minimap(canvas: list[float]) -> list[float]:
    """The canvas's bottom-right fifth, where imnodes draws the minimap over the nodes."""
    return [canvas[0] + canvas[2] * 0.8, canvas[1] + canvas[3] * 0.8, canvas[2] * 0.2, canvas[3] * 0.2]


def well_placed(probe: dict, node: str) -> bool:
    """``node`` is wholly in view, on no other node and not under the minimap."""
    rect, canvas = probe["nodes"][node], probe["canvas"]
    others = [r for n, r in probe["nodes"].items() if n != node]
    return inside(rect, canvas) and not any(overlap(rect, r) for r in others) and not overlap(rect, minimap(canvas))


def test_every_preset_opens_with_every_node_in_view(display: str, editors: list[Editor], tmp_path: Path) -> None:
    doc = tmp_path / "video_swap.json"
    shutil.copy(ROOT / "graphs" / "video_swap.json", doc)  # the default preset (python run.py)
    editor = start(editors, display, tmp_path, doc)
    count = len(json.loads(doc.read_text())["nodes"])
    editor.wait(lambda p: all_in_view(p, count), 20, "video_swap: every node in view")
    editor.screenshot(tmp_path / "video_swap.png")
    probe = editor.fresh()
    editor.click_item(probe["presets"]["_header"], "Presets")
    for preset in PRESETS:
        probe = editor.wait(lambda p, n=preset.stem: n in p["presets"], 10, "the preset list")
        editor.click_item(probe["presets"][preset.stem], preset.stem)
        count = len(json.loads(preset.read_text())["nodes"])
        editor.wait(
            lambda p, n=count, s=preset.stem: s in str(p["title"]) and all_in_view(p, n),
            20,
            f"{preset.stem}: every node in view",
        )


def test_home_keeps_full_nodes_and_new_nodes_land_in_view(display: str, editors: list[Editor], tmp_path: Path) -> None:
    doc = tmp_path / "face_debug.json"
    shutil.copy(ROOT / "graphs" / "face_debug.json", doc)
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: all_in_view(p, 6), 20, "the graph")
    canvas = probe["canvas"]

    # one node dragged half out of view; Home brings it back, every node at its full size
    heights = {n: r[3] for n, r in probe["nodes"].items()}
    preview = probe["nodes"]["preview"]
    editor.drag(title_point(preview), (canvas[0] + canvas[2] - 20, title_point(preview)[1]))
    editor.wait(lambda p: not inside(p["nodes"].get("preview", canvas), p["canvas"]), 10, "the preview out of view")
    editor.move(Editor.center(canvas))
    editor.key("Home")
    probe = editor.wait(lambda p: all_in_view(p, 6), 15, "every node framed")
    assert all(abs(probe["nodes"][n][3] - h) < 3 for n, h in heights.items()), "frame-all changed node sizes"
    editor.screenshot(tmp_path / "framed.png")

    for added, type_id in enumerate(("filter.adjust", "utility.delay"), start=1):
        editor.click_item(editor.fresh()["palette"][type_id], type_id)
        probe = editor.wait(lambda p, n=6 + added: len(p["graph"]["nodes"]) == n, 10, f"{type_id} added")
        new = next(n for n in probe["graph"]["nodes"] if probe["graph"]["nodes"][n]["type"] == type_id)
        probe = editor.wait(lambda p, n=new: n in p["nodes"], 10, f"{new} drawn")
        assert well_placed(editor.fresh(), new), f"{new} at {probe['nodes'][new]}, canvas {probe['canvas']}"
    editor.screenshot(tmp_path / "palette_added.png")

    # a link dragged from the overlay's output and dropped at the bottom right, where the minimap is
    probe = editor.fresh()
    editor.drag(probe["pins"]["overlay.frame:out"], (canvas[0] + canvas[2] - 30, canvas[1] + canvas[3] - 30))
    editor.wait(lambda p: p["quick_add"]["shown"] and p["active_text"] is not None, 10, "the node search")
    editor.type("adjust")
    editor.wait(lambda p: p["active_text"] == "adjust", 30, "the query")
    editor.key("Return")
    probe = editor.wait(lambda p: len(p["graph"]["nodes"]) == 9, 10, "the node added for the link")
    new = [n for n in probe["graph"]["nodes"] if probe["graph"]["nodes"][n]["type"] == "filter.adjust"][-1]
    probe = editor.wait(lambda p: new in p["nodes"], 10, "drawn")
    assert well_placed(editor.fresh(), new), f"{new} at {probe['nodes'][new]}, canvas {canvas}"
    editor.screenshot(tmp_path / "link_added.png")


def test_a_small_window_keeps_a_usable_canvas_whole_messages_and_a_step_that_starts(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path
) -> None:
    doc = tmp_path / "a_graph_whose_file_name_is_long_enough_to_need_the_whole_status_bar.json"
    doc.write_text(
        json.dumps(
            {
                "format": "nodeswap.graph",
                "version": 1,
                "nodes": {
                    "source": {"type": "source.media", "params": {"end": 30}},
                    "sink": {"type": "sink.preview"},
                    "video": {"type": "sink.video"},
                },
                "links": [{"from": "source.frame", "to": "sink.frame"}, {"from": "source.frame", "to": "video.frame"}],
                "layout": {"source": [20, 20], "sink": [320, 20], "video": [320, 220]},
            }
        )
    )
    editor = start(editors, display, tmp_path, doc, NODESWAP_EDITOR_SIZE="1100x750")
    probe = editor.wait(lambda p: len(p["nodes"]) == 3 and "to do" in p["status"], 20, "the graph")
    assert probe["viewport"][0] == 1100
    assert probe["canvas"][2] >= 560, f"the canvas is {probe['canvas'][2]} px wide of 1100"
    editor.screenshot(tmp_path / "small_window.png")

    # the long message ends in "..." inside the window; the whole of it is kept (and in the tooltip)
    bar = probe["status_bar"]
    assert bar["rect"][0] + bar["rect"][2] <= probe["viewport"][0], bar
    assert bar["text"].endswith("...") and probe["status"].startswith(bar["text"][:-3]), bar

    # the video's output and the clip chosen: ready, and the status bar says what Space does
    for node, path in (("video", tmp_path / "out.mp4"), ("source", obama)):
        editor.click(title_point(editor.fresh()["nodes"][node]))
        probe = editor.wait(
            lambda p, n=node: p["inspector"]["node"] == n and p["inspector"]["params"].get("path"), 10, node
        )
        editor.enter_text(probe["inspector"]["params"]["path"], str(path))
        editor.wait(lambda p, n=node, v=str(path): p["graph"]["nodes"][n]["params"].get("path") == v, 10, "set")
    probe = editor.wait(lambda p: "ready to run" in p["status"], 10, "ready")
    assert "Space or F5 runs offline" in probe["status"] and "Run live (Space)" not in probe["status"]

    # F10 from idle: the run starts, paused on its first frame
    editor.key("F10")
    probe = editor.wait(lambda p: p["state"] == "paused" and (p["stats"]["frames"] or 0) >= 1, 60, "paused")
    editor.key("shift+F5")
    editor.wait(lambda p: p["state"] == "idle", 30, "stopped")

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

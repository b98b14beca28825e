"""Dense graphs in the real editor window (Xvfb, xdotool): frame all, compact and collapsed nodes, and a
node whose type is not installed kept as a placeholder through a save."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def inside(rect: list[float], area: list[float]) -> bool:
    return (
        rect[0] >= area[0]
        and rect[1] >= area[1]
        and rect[0] + rect[2] <= area[0] + area[2]
        and (rect[1] + rect[3] <= area[1] + area[3])
    )


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def all_in_view(probe: dict, count: int) -> bool:
    nodes = probe["nodes"]
    rects = list(nodes.values())
    return (
        len(nodes) == count
        and all(inside(r, probe["canvas"]) for r in rects)
        and not any(overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    )


def test_two_faces_framed_compact_then_collapsed(display: str, editors: list[Editor], tmp_path: Path) -> None:
    doc = tmp_path / "two_faces.json"
    shutil.copy(ROOT / "graphs" / "two_faces.json", doc)
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: all_in_view(p, 10), 20, "the preset, collapsed, all in view")
    editor.screenshot(tmp_path / "preset.png")
    collapsed_height = probe["nodes"]["detector"][3]

    editor.move(Editor.center(probe["canvas"]))
    editor.key("ctrl+h")  # nothing selected, all collapsed: every node expands, and they no longer fit
    probe = editor.wait(lambda p: not any(n.get("collapsed") for n in p["graph"]["nodes"].values()), 10, "expanded")
    probe = editor.wait(lambda p: p["nodes"].get("detector", [0, 0, 0, 0])[3] > 2 * collapsed_height, 10, "drawn")
    assert not all_in_view(probe, 10)
    full_height = probe["nodes"]["detector"][3]

    editor.key("Home")  # frame all: too big as it is, so compact and arranged
    probe = editor.wait(lambda p: all_in_view(p, 10), 15, "every node framed")
    assert probe["nodes"]["detector"][3] < full_height / 1.5  # key params only
    pins = len(probe["pins"])
    editor.screenshot(tmp_path / "framed.png")

    editor.key("ctrl+h")  # nothing selected: every node collapses to title and pins
    probe = editor.wait(lambda p: all(n.get("collapsed") for n in p["graph"]["nodes"].values()), 10, "collapsed")
    editor.key("ctrl+l")
    probe = editor.wait(lambda p: all_in_view(p, 10), 15, "collapsed and arranged")
    assert max(r[3] for r in probe["nodes"].values()) < 160
    assert len(probe["pins"]) == pins  # every pin is still there to drag links from and to
    editor.screenshot(tmp_path / "collapsed.png")

    editor.key("ctrl+s")
    editor.wait(lambda p: not p["dirty"], 10, "saved")
    saved = json.loads(doc.read_text())
    assert all(n["collapsed"] for n in saved["nodes"].values())
    editor.key("ctrl+z")  # undo the arrangement, then the collapse
    editor.key("ctrl+z")
    editor.wait(lambda p: not any(n.get("collapsed") for n in p["graph"]["nodes"].values()), 10, "expanded again")
    editor.key("ctrl+k")  # compact off: full nodes again
    probe = editor.wait(lambda p: p["nodes"].get("detector", [0, 0, 0, 0])[3] >= full_height - 2, 10, "full nodes")


def test_an_unknown_node_is_drawn_as_a_placeholder_and_saved_back(
    display: str, editors: list[Editor], tmp_path: Path
) -> None:
    doc = tmp_path / "plugin.json"
    graph = json.loads((ROOT / "graphs" / "video_swap.json").read_text())
    graph["nodes"]["glow"] = {"type": "acme.glow", "params": {"power": 3}, "title": "Glow"}
    graph["links"] = [x for x in graph["links"] if x["to"] != "sink.frame"]
    graph["links"] += [{"from": "merger.frame", "to": "glow.frame"}, {"from": "glow.frame", "to": "sink.frame"}]
    graph["nodes"]["merger"]["params"]["blur"] = "very"  # invalid: kept, shown, saved back
    doc.write_text(json.dumps(graph))
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: p["modal"] == "message", 10, "the problems window")
    assert "unknown node type 'acme.glow'" in probe["dialog_text"]
    editor.click_item(probe["buttons"]["dialog:OK"], "OK")
    probe = editor.wait(lambda p: p["modal"] is None and "glow" in p["nodes"], 10, "the placeholder drawn")
    assert probe["badges"]["glow"] == "missing type (hover)"
    assert probe["badges"]["merger"] == "set 'blur'"
    assert {"glow.frame:in", "glow.frame:out"} <= set(probe["pins"])
    editor.screenshot(tmp_path / "placeholder.png")

    editor.key("ctrl+s")
    editor.wait(lambda p: not p["dirty"], 10, "saved")  # saved though it cannot run
    saved = json.loads(doc.read_text())
    assert saved["nodes"]["glow"]["type"] == "acme.glow" and saved["nodes"]["glow"]["params"] == {"power": 3}
    assert {"from": "glow.frame", "to": "sink.frame"} in saved["links"]
    assert saved["nodes"]["merger"]["params"]["blur"] == "very"


def test_a_node_s_warning_shows_on_the_node_and_in_the_inspector(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path, photos: list[Path]
) -> None:
    """The morph swap warns about a turned photo (000041, about 49 degrees): once on the terminal, and on the
    swapper's badge and in its inspector while the graph runs."""
    doc = tmp_path / "turned.json"
    graph = json.loads((ROOT / "graphs" / "video_swap.json").read_text())
    graph["nodes"]["source"]["params"].update(path=str(obama), end=20)
    graph["nodes"]["swapper"]["params"]["source_image"] = str(next(p for p in photos if p.stem == "000041"))
    graph["nodes"]["sink"]["params"]["path"] = str(tmp_path / "out.mp4")
    doc.write_text(json.dumps(graph))
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: "swapper" in p["nodes"], 20, "nodes drawn")
    editor.move(Editor.center(probe["canvas"]))
    editor.key("Home")  # the swapper is half out of view: frame all
    editor.wait(lambda p: all_in_view(p, 6), 15, "every node framed")
    editor.key("F5")
    probe = editor.wait(lambda p: p["badges"].get("swapper") == "warning (hover)", 90, "the warning on the node")
    editor.click(title_point(editor.fresh()["nodes"]["swapper"]))
    probe = editor.wait(lambda p: p["inspector"]["node"] == "swapper", 10, "swapper inspected")
    probe = editor.wait(lambda p: "turned" in p["inspector"]["notes"], 10, "the warning in the inspector")
    assert "warning: the photo's face is turned" in probe["inspector"]["notes"]
    editor.screenshot(tmp_path / "warning.png")
    assert editor.log().count("WARNING nodeswap.nodes: node 'swapper': the photo's face is turned") == 1


def test_a_link_dropped_on_the_canvas_opens_the_search_for_what_can_take_it(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path
) -> None:
    doc = tmp_path / "drop.json"
    doc.write_text(
        json.dumps(
            {
                "format": "nodeswap.graph",
                "version": 1,
                "nodes": {"source": {"type": "source.media", "params": {"path": str(obama)}}},
                "links": [],
                "layout": {"source": [20, 20]},
            }
        )
    )
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: "source.frame:out" in p["pins"], 20, "the source drawn")
    canvas = probe["canvas"]
    empty = (canvas[0] + 420, canvas[1] + 420)
    editor.drag(probe["pins"]["source.frame:out"], empty)
    probe = editor.wait(lambda p: p["quick_add"]["shown"], 10, "the node search at the drop")
    offered = probe["quick_add"]["items"]
    assert any("[sink.video]" in x for x in offered) and any("[filter.adjust]" in x for x in offered)
    assert offered and not any("[source." in x for x in offered)  # sources have no input to take it
    editor.type("adjust")
    editor.key("Return")
    probe = editor.wait(lambda p: len(p["graph"]["nodes"]) == 2, 10, "a node added")
    added = next(n for n in probe["graph"]["nodes"] if n != "source")
    assert probe["graph"]["nodes"][added]["type"] == "filter.adjust"
    assert probe["graph"]["links"] == [{"from": "source.frame", "to": f"{added}.frame"}]
    editor.screenshot(tmp_path / "dropped.png")

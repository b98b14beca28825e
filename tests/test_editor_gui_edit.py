"""Editing in the real editor window (Xvfb, xdotool): undo/redo, copy/paste, the unsaved-changes
question, broken files, crash recovery, the context menu, quick-add, help, rewiring a running graph.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import quit_editor, start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui


def test_edit_undo_redo_copy_paste_and_unsaved_prompt(display: str, editors: list[Editor], tmp_path: Path) -> None:
    doc = tmp_path / "edit.json"
    editor = start(editors, display, tmp_path, doc)
    probe = editor.probe()
    for type_id in ("source.media", "filter.adjust", "sink.preview"):
        editor.click_item(probe["palette"][type_id], type_id)
    probe = editor.wait(lambda p: len(p["nodes"]) == 3, 10, "three nodes")
    pins = probe["pins"]
    editor.drag(pins["source.frame:out"], pins["filter.frame:in"])
    editor.drag(editor.fresh()["pins"]["filter.frame:out"], editor.fresh()["pins"]["sink.frame:in"])
    probe = editor.wait(lambda p: len(p["graph"]["links"]) == 2, 10, "two links")
    built = probe["graph"]

    # move a node by its title bar: one undo step
    start_xy = title_point(probe["nodes"]["sink"])
    editor.drag(start_xy, (start_xy[0] + 80, start_xy[1] + 60))
    probe = editor.wait(lambda p: p["graph"]["layout"]["sink"] != built["layout"]["sink"], 10, "moved")
    moved = probe["graph"]["layout"]["sink"]
    assert abs(moved[0] - built["layout"]["sink"][0] - 80) < 3 and abs(moved[1] - built["layout"]["sink"][1] - 60) < 3

    # select the filter, delete it with the Delete key: node and its links go
    editor.click(title_point(probe["nodes"]["filter"]))
    editor.wait(lambda p: p["selected"] == ["filter"], 10, "filter selected")
    editor.key("Delete")
    probe = editor.wait(lambda p: "filter" not in p["graph"]["nodes"], 10, "deleted")
    assert probe["graph"]["links"] == []
    assert "deleted 1 node and 2 links" in editor.wait(lambda p: "deleted" in p["status"], 10, "status")["status"]

    # undo twice: the node, its params and links come back, then the move is undone; redo both
    editor.key("ctrl+z")
    probe = editor.wait(lambda p: "filter" in p["graph"]["nodes"] and len(p["graph"]["links"]) == 2, 10, "undo")
    editor.key("ctrl+z")
    probe = editor.wait(lambda p: p["graph"]["layout"]["sink"] == built["layout"]["sink"], 10, "undo move")
    assert probe["graph"] == built
    editor.key("ctrl+y", "ctrl+y")
    probe = editor.wait(lambda p: "filter" not in p["graph"]["nodes"], 10, "redo")
    editor.key("ctrl+z")
    editor.wait(lambda p: "filter" in p["nodes"], 10, "undo again")

    # a param change in the inspector, then copy/paste and duplicate keep it (and inner links)
    probe = editor.fresh()
    editor.click(title_point(probe["nodes"]["filter"]))
    probe = editor.wait(lambda p: p["inspector"]["node"] == "filter", 10, "inspector")
    slider = probe["inspector"]["params"]["median_blur"]
    editor.click((slider[0] + 60, slider[1] + slider[3] / 2))  # a slider jumps to where it is clicked
    probe = editor.wait(lambda p: 5 < p["graph"]["nodes"]["filter"]["params"].get("median_blur", 0) < 95, 10, "blur")
    blur = probe["graph"]["nodes"]["filter"]["params"]["median_blur"]
    # box-select source and filter (drag on empty canvas around them), copy, paste at the cursor
    canvas = probe["canvas"]
    corner = (canvas[0] + 10, canvas[1] + 10)
    src, flt = probe["nodes"]["source"], probe["nodes"]["filter"]
    far = (max(src[0] + src[2], flt[0] + flt[2]) + 10, max(src[1] + src[3], flt[1] + flt[3]) + 10)
    editor.drag(far, corner)  # from empty canvas below-right of the two nodes to above-left of them
    editor.wait(lambda p: sorted(p["selected"]) == ["filter", "source"], 10, "box selection")
    editor.key("ctrl+c")
    editor.move((canvas[0] + canvas[2] * 0.3, canvas[1] + canvas[3] * 0.6))
    editor.key("ctrl+v")
    probe = editor.wait(lambda p: "source2" in p["nodes"] and "filter2" in p["nodes"], 10, "paste")
    assert {"from": "source2.frame", "to": "filter2.frame"} in probe["graph"]["links"]
    assert probe["graph"]["nodes"]["filter2"]["params"] == {"median_blur": blur}
    assert len(probe["graph"]["links"]) == 3  # the link to the sink was outside the copy
    pasted = probe["nodes"]["source2"]  # top-left node of the copy, pasted at the cursor
    assert abs(pasted[0] - (canvas[0] + canvas[2] * 0.3)) < 4 and abs(pasted[1] - (canvas[1] + canvas[3] * 0.6)) < 4
    # duplicate one node with Ctrl+D: its params come along, it lands where nothing else is
    editor.click((canvas[0] + 30, canvas[1] + canvas[3] - 30))  # empty canvas: clears the selection
    editor.click(title_point(probe["nodes"]["filter"]))
    editor.wait(lambda p: p["selected"] == ["filter"], 10, "filter selected")
    editor.key("ctrl+d")
    probe = editor.wait(lambda p: "filter3" in p["graph"]["nodes"] and "filter3" in p["nodes"], 10, "duplicate")
    assert probe["graph"]["nodes"]["filter3"]["params"] == {"median_blur": blur}
    a, b = probe["nodes"]["filter3"], probe["nodes"]["filter"]
    assert a[0] >= b[0] + b[2] or b[0] >= a[0] + a[2] or a[1] >= b[1] + b[3] or b[1] >= a[1] + a[3]

    # closing the window with unsaved changes asks first; Cancel keeps the editor open; Save writes and quits
    assert probe["dirty"] and probe["title"].endswith("*")
    editor.close_window()
    probe = editor.wait(lambda p: p["modal"] == "confirm" and "dialog:Cancel" in p["buttons"], 10, "the question")
    assert "Save the changes to edit.json" in probe["dialog_text"]
    editor.screenshot(tmp_path / "unsaved.png")
    editor.click_item(probe["buttons"]["dialog:Cancel"], "Cancel")
    probe = editor.wait(lambda p: p["modal"] is None, 10, "question closed")
    assert editor.proc.poll() is None and not doc.exists()
    final = probe["graph"]
    assert quit_editor(editor, "Save") == 0
    assert json.loads(doc.read_text())["nodes"] == final["nodes"]

    # Ctrl+N on a changed graph asks too; Discard gives an empty graph
    editor = start(editors, display, tmp_path, doc)
    probe = editor.probe()
    editor.click_item(probe["palette"]["utility.delay"], "delay")
    editor.wait(lambda p: p["dirty"], 10, "dirty")
    editor.key("ctrl+n")
    probe = editor.wait(lambda p: p["modal"] == "confirm" and "dialog:Discard" in p["buttons"], 10, "question")
    editor.click_item(probe["buttons"]["dialog:Discard"], "Discard")
    probe = editor.wait(lambda p: p["graph"]["nodes"] == {} and p["path"] is None, 10, "new graph")
    assert quit_editor(editor) == 0
    assert "delay" not in json.loads(doc.read_text())["nodes"]


def test_broken_file_opens_with_its_problems_and_recovery_after_a_crash(
    display: str, editors: list[Editor], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "format": "nodeswap.graph",
                "version": 1,
                "nodes": {
                    "source": {"type": "source.media", "params": {"loop": True, "nope": 1}},
                    "ghost": {"type": "no.such.node"},
                    "sink": {"type": "sink.preview"},
                },
                "links": [{"from": "source.frame", "to": "sink.frame"}, {"from": "ghost.frame", "to": "sink.frame"}],
                "layout": {"source": [40, 40]},
            }
        )
    )
    editor = start(editors, display, tmp_path, broken, NODESWAP_AUTOSAVE_SECONDS="1")
    probe = editor.wait(lambda p: p["modal"] == "message", 10, "the problems window")
    text = probe["dialog_text"]
    assert "unknown node type 'no.such.node'" in text and "has no such param" in text
    assert set(probe["graph"]["nodes"]) == {"source", "sink", "ghost"}  # the unknown node as a placeholder
    assert probe["graph"]["nodes"]["ghost"]["type"] == "no.such.node"
    assert probe["graph"]["nodes"]["source"]["params"] == {"loop": True, "nope": 1}  # kept, to be saved back
    assert probe["graph"]["links"] == [{"from": "source.frame", "to": "sink.frame"}]
    editor.screenshot(tmp_path / "broken.png")
    editor.click_item(probe["buttons"]["dialog:OK"], "OK")
    probe = editor.wait(lambda p: p["modal"] is None and "ghost" in p["nodes"], 10, "closed")
    assert probe["badges"]["ghost"] == "missing type (hover)"

    # an edit is autosaved; the editor is killed; the next start offers it back
    probe = editor.fresh()
    editor.click_item(probe["palette"]["utility.delay"], "delay")
    recovery = tmp_path / "config" / "recovery.json"
    editor.wait(
        lambda p: "utility" in p["graph"]["nodes"] and recovery.exists() and "utility" in recovery.read_text(),
        15,
        "autosave",
    )
    editor.kill()
    shutil.copy(broken, tmp_path / "broken-copy.json")
    editor = start(editors, display, tmp_path, None)
    probe = editor.wait(lambda p: p["modal"] == "confirm" and "dialog:Restore" in p["buttons"], 10, "restore question")
    assert "did not close cleanly" in probe["dialog_text"] and "broken.json" in probe["dialog_text"]
    editor.click_item(probe["buttons"]["dialog:Restore"], "Restore")
    probe = editor.wait(lambda p: "utility" in p["graph"]["nodes"], 10, "restored")
    assert probe["dirty"] and probe["path"] == str(broken)
    assert quit_editor(editor, "Discard") == 0
    assert not recovery.exists()  # a clean exit forgets the recovery file


def test_context_menu_quick_add_help_and_rewiring_while_running(
    display: str, editors: list[Editor], tmp_path: Path, obama: Path
) -> None:
    graph = tmp_path / "chain.json"
    graph.write_text(
        json.dumps(
            {
                "format": "nodeswap.graph",
                "version": 1,
                "nodes": {
                    "source": {"type": "source.media", "params": {"path": str(obama), "loop": True}},
                    "sink": {"type": "sink.preview"},
                },
                "links": [{"from": "source.frame", "to": "sink.frame"}],
                "layout": {"source": [20, 20], "sink": [620, 20]},
            }
        )
    )
    editor = start(editors, display, tmp_path, graph)
    probe = editor.wait(lambda p: len(p["nodes"]) == 2, 10, "the graph")
    canvas = probe["canvas"]

    # F1 shows the keyboard help; F1 again hides it
    editor.key("F1")
    editor.wait(lambda p: p["modal"] == "help", 10, "help")
    editor.screenshot(tmp_path / "help.png")
    editor.key("F1")
    editor.wait(lambda p: p["modal"] is None, 10, "help closed")

    # double-click on empty canvas: a search box at the cursor; type, Enter adds there
    spot = (canvas[0] + 300, canvas[1] + 420)
    editor.click(spot, double=True)
    probe = editor.wait(lambda p: p["quick_add"]["shown"] and p["active_text"] is not None, 10, "quick add")
    editor.type("adjust")
    editor.wait(lambda p: p["active_text"] == "adjust", 30, "the query")
    editor.key("Return")
    probe = editor.wait(lambda p: "filter" in p["nodes"], 10, "the filter at the cursor")
    assert abs(probe["nodes"]["filter"][0] - spot[0]) < 4 and abs(probe["nodes"]["filter"][1] - spot[1]) < 4

    # right-click a node: its context menu; Bypass toggles it (the inspector's box follows), Delete removes it
    editor.click(title_point(probe["nodes"]["filter"]))
    editor.wait(lambda p: p["inspector"]["node"] == "filter", 10, "the filter inspected")
    editor.click(title_point(probe["nodes"]["filter"]), button=3)
    probe = editor.wait(lambda p: "context:bypass" in p["buttons"], 10, "context menu")
    editor.click_item(probe["buttons"]["context:bypass"], "Bypass")
    probe = editor.wait(lambda p: p["graph"]["nodes"]["filter"]["bypass"], 10, "bypassed")
    editor.wait(lambda p: p["inspector"]["bypass"] is True, 10, "the inspector's bypass box ticked")
    editor.key("ctrl+z")
    probe = editor.wait(lambda p: not p["graph"]["nodes"]["filter"]["bypass"], 10, "bypass undone")

    # rewire while running: put the filter between source and sink; only the new node loads
    editor.click_item(probe["buttons"]["run_live"], "Run live")
    probe = editor.wait(lambda p: p["state"] == "running" and p["node_stats"]["sink"]["calls"] > 5, 60, "running")
    pins = probe["pins"]
    editor.drag(pins["source.frame:out"], pins["filter.frame:in"])
    editor.drag(pins["filter.frame:out"], pins["sink.frame:in"])  # replaces the source -> sink link
    probe = editor.wait(
        lambda p: (
            {"from": "filter.frame", "to": "sink.frame"} in p["graph"]["links"]
            and (p["node_stats"].get("filter") or {}).get("calls", 0) > 3
        ),
        60,
        "the filter running",
    )
    assert probe["state"] == "running" and "rewired while running" in editor.log()
    assert {"from": "source.frame", "to": "sink.frame"} not in probe["graph"]["links"]
    source_calls = probe["node_stats"]["source"]["calls"]
    editor.click(title_point(probe["nodes"]["filter"]), button=3)
    probe = editor.wait(lambda p: "context:delete" in p["buttons"], 10, "context menu")
    editor.click_item(probe["buttons"]["context:delete"], "Delete")
    # the sink's input is now unlinked: that wiring cannot run, so the old one keeps running, and says so
    probe = editor.wait(
        lambda p: "filter" not in p["graph"]["nodes"] and "rewiring not applied" in p["status"],
        10,
        "the refusal to rewire",
    )
    assert "node 'sink' input 'frame': required input is not linked" in probe["status"]
    later = editor.wait(lambda p: p["node_stats"]["source"]["calls"] > source_calls + 5, 30, "frames still flowing")
    assert later["state"] == "running"
    editor.key("shift+F5")
    editor.wait(lambda p: p["state"] == "idle", 30, "stopped")
    assert quit_editor(editor, "Discard") == 0

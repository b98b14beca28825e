"""Keys reach the idle editor while the mouse is still (Xvfb, xdotool): a key alone wakes it at once, and a
saved graph gets the permissions of an ordinary file."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]
HEARD_WITHIN = 1.5  # seconds from a key to its effect; an idle editor draws only every few seconds


def idle(editor: Editor) -> None:
    """Leave the mouse and keys alone until the editor counts as idle (it then draws rarely)."""
    time.sleep(3.5)


def keys(editor: Editor, *args: str) -> None:
    """xdotool's own quick key strokes (pressed and released within milliseconds), with no mouse move."""
    editor.xdo(*args)


def test_keys_and_text_reach_the_idle_editor_while_the_mouse_is_still(
    display: str, editors: list[Editor], tmp_path: Path
) -> None:
    doc = tmp_path / "face_debug.json"
    shutil.copy(ROOT / "graphs" / "face_debug.json", doc)
    doc.chmod(0o600)  # an existing file keeps its own mode through a save
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: len(p["nodes"]) > 2, 20, "the graph")
    count = len(probe["nodes"])
    canvas = probe["canvas"]
    editor.move((canvas[0] + 200, canvas[1] + canvas[3] - 120))  # empty canvas below the nodes

    idle(editor)
    keys(editor, "key", "Tab")  # the quick-add box at the cursor
    editor.wait(lambda p: p["quick_add"]["shown"] and p["active_text"] is not None, HEARD_WITHIN, "Tab heard")
    idle(editor)
    keys(editor, "type", "--delay", "40", "adjust")
    editor.wait(lambda p: p["active_text"] == "adjust", HEARD_WITHIN + 1, "every letter typed")
    idle(editor)
    keys(editor, "key", "Return")
    probe = editor.wait(lambda p: len(p["nodes"]) == count + 1, HEARD_WITHIN, "Enter heard: the node added")

    idle(editor)
    keys(editor, "key", "ctrl+s")
    editor.wait(lambda p: not p["dirty"], HEARD_WITHIN, "Ctrl+S heard")
    assert stat.S_IMODE(doc.stat().st_mode) == 0o600

    idle(editor)
    keys(editor, "key", "ctrl+n")
    editor.wait(lambda p: not p["nodes"] and p["path"] is None, HEARD_WITHIN, "Ctrl+N heard")


def test_a_new_graph_file_gets_the_mode_of_an_ordinary_file(tmp_path: Path) -> None:
    from nodeswap import graph_io
    from nodeswap.graph import Graph
    from nodeswap.registry import default_registry

    path = tmp_path / "new.json"
    graph_io.save(Graph(default_registry()), path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask  # 0644 under the usual umask, not 0600


def link_point(probe: dict, src: str, dst: str, off: float) -> tuple[float, float]:
    """A point ``off`` pixels below the middle of the link drawn from pin ``src`` to pin ``dst``."""
    (x0, y0), (x1, y1) = probe["pins"][src], probe["pins"][dst]
    return ((x0 + x1) / 2, (y0 + y1) / 2 + off)  # a Bezier with level handles passes through the middle


def menu(probe: dict) -> set[str]:
    return {k.removeprefix("context:") for k, r in probe["buttons"].items() if k.startswith("context:") and r}


def test_right_click_menus_belong_to_what_is_under_the_pointer(
    display: str, editors: list[Editor], tmp_path: Path
) -> None:
    doc = tmp_path / "face_debug.json"
    shutil.copy(ROOT / "graphs" / "face_debug.json", doc)
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: len(p["nodes"]) == 6, 20, "the graph")
    canvas = probe["canvas"]
    editor.click(title_point(probe["nodes"]["detector"]))
    editor.wait(lambda p: p["selected"] == ["detector"], 10, "the detector selected")

    # empty canvas, far from the selected detector: no menu for the detector
    editor.click((canvas[0] + canvas[2] - 300, canvas[1] + canvas[3] - 300), button=3)
    probe = editor.wait(lambda p: p["context_shown"] and "add" in menu(p), 10, "the canvas menu")
    assert not {"delete", "bypass", "inspect"} & menu(probe), menu(probe)
    editor.screenshot(tmp_path / "canvas_menu.png")
    editor.xdo("key", "Escape")
    editor.wait(lambda p: not p["context_shown"], 10, "Escape closes the menu")

    # 8 px off the middle of the overlay -> preview link: that link's menu
    probe = editor.fresh()
    links = len(probe["graph"]["links"])
    editor.click(link_point(probe, "overlay.frame:out", "preview.frame:in", 8), button=3)
    probe = editor.wait(lambda p: p["context_shown"] and "unlink" in menu(p), 10, "the link's menu")
    assert not {"delete", "bypass"} & menu(probe), menu(probe)
    editor.click_item(probe["buttons"]["context:unlink"], "Delete link")
    probe = editor.wait(lambda p: len(p["graph"]["links"]) == links - 1, 10, "the link deleted")
    assert {"from": "overlay.frame", "to": "preview.frame"} not in probe["graph"]["links"]

    # a menu open when the window is resized closes
    editor.click((canvas[0] + canvas[2] - 300, canvas[1] + canvas[3] - 300), button=3)
    editor.wait(lambda p: p["context_shown"], 10, "the canvas menu again")
    found = subprocess.run(
        ["xdotool", "search", "--pid", str(editor.proc.pid)], env=editor.env, capture_output=True, text=True
    )
    for window in found.stdout.split():
        editor.xdo("windowsize", window, 1300, 900)
    editor.fresh()
    editor.wait(lambda p: p["viewport"][0] == 1300 and not p["context_shown"], 10, "closed on resize")

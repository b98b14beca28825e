"""The file dialog in the real editor window (Xvfb, xdotool): Open and Save look different, the name field
starts empty, folders sort A to Z, sizes read KB/MB, a double-click opens a folder and picks a file, and the
next dialog for the same kind of file starts in the folder last used."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def dialog(editor: Editor, what: str) -> dict:
    return editor.wait(lambda p: p["modal"] == "file" and p["files"] and p["files"]["name_box"], 15, what)["files"]


def go_to(editor: Editor, files: dict, folder: Path) -> dict:
    """Type a folder's path in the name field and press Enter: the dialog shows that folder."""
    editor.enter_text(files["name_box"], str(folder), echo=True)
    return editor.wait(
        lambda p: p["files"]["folder"] == str(folder) and len(p["files"]["rects"]) == len(p["files"]["entries"]),
        10,
        f"the dialog in {folder}",
    )["files"]


def test_the_file_dialog_sorts_sizes_titles_double_clicks_and_remembers(
    display: str, editors: list[Editor], tmp_path: Path
) -> None:
    media = tmp_path / "media"
    for name in ("b_takes", "A_clips", "c_other"):
        (media / name).mkdir(parents=True)
    clip = media / "A_clips" / "clip.mp4"
    with open(clip, "wb") as handle:  # 2.5 MB, sparse
        handle.truncate(2_500_000)
    (media / "A_clips" / "notes.txt").write_text("not a video")
    doc = tmp_path / "face_debug.json"
    shutil.copy(ROOT / "graphs" / "face_debug.json", doc)
    editor = start(editors, display, tmp_path, doc)
    editor.wait(lambda p: len(p["nodes"]) == 6, 20, "the graph")

    editor.click_item(editor.fresh()["browse"]["source.path"], "the '...' of the source's path")
    files = dialog(editor, "the Open dialog")
    assert files["title"].startswith("Open") and files["ok_label"] == "Open" and files["name"] == ""
    files = go_to(editor, files, media)
    assert files["entries"] == ["[A_clips]", "[b_takes]", "[c_other]"]  # A to Z, whatever the case
    editor.screenshot(tmp_path / "open_dialog.png")

    editor.click(Editor.center(files["rects"]["A_clips/"]), double=True)
    files = editor.wait(
        lambda p: p["files"]["folder"] == str(media / "A_clips") and "clip.mp4" in p["files"]["rects"], 10, "opened"
    )["files"]
    assert len(files["entries"]) == 1 and files["entries"][0].split() == ["clip.mp4", "2.4", "MB"], files
    editor.click(Editor.center(files["rects"]["clip.mp4"]), double=True)
    editor.wait(lambda p: p["graph"]["nodes"]["source"]["params"].get("path") == str(clip), 10, "the clip chosen")
    assert editor.probe()["modal"] is None

    # Save looks like Save: its title and button
    editor.click_item(editor.fresh()["browse"]["faces.path"], "the '...' of the face data's path")
    files = dialog(editor, "the Save dialog")
    assert files["title"].startswith("Save") and files["ok_label"] == "Save" and files["name"] == ""
    editor.screenshot(tmp_path / "save_dialog.png")
    editor.click_item(files["cancel"], "Cancel")
    editor.wait(lambda p: p["modal"] is None, 10, "closed")

    # a new graph, a new media source: its dialog starts where the last video came from
    editor.key("ctrl+n")
    probe = editor.wait(lambda p: not p["graph"]["nodes"] or "dialog:Discard" in p["buttons"], 10, "new or asked")
    if probe["graph"]["nodes"]:  # the source's path was set: unsaved
        editor.click_item(probe["buttons"]["dialog:Discard"], "Discard")
    editor.wait(lambda p: not p["graph"]["nodes"], 10, "an empty graph")
    editor.click_item(editor.fresh()["palette"]["source.media"], "Media file")
    probe = editor.wait(lambda p: "source.path" in p["browse"], 10, "the new source's '...'")
    editor.click_item(probe["browse"]["source.path"], "the '...'")
    files = dialog(editor, "the Open dialog again")
    assert files["folder"] == str(media / "A_clips") and files["name"] == ""
    saved = json.loads((tmp_path / "config" / "folders.json").read_text())
    assert str(media / "A_clips") in saved.values()
    assert os.environ.get("DISPLAY") != editor.display  # the dialog is the editor's, on its own display

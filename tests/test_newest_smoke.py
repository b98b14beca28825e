"""The editor opens the default preset under a real X display: part of the fast subset that CI also runs on the
newest releases of every dependency (marker ``newest``; the rest of that subset is marked in test_presets.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import quit_editor, start

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used below

pytestmark = [pytest.mark.gui, pytest.mark.newest]

ROOT = Path(__file__).resolve().parent.parent


def test_the_editor_opens_the_default_preset(display: str, editors: list[Editor], tmp_path: Path) -> None:
    doc = tmp_path / "video_swap.json"
    shutil.copy(ROOT / "graphs" / "video_swap.json", doc)
    editor = start(editors, display, tmp_path, doc)
    probe = editor.wait(lambda p: len(p["graph"]["nodes"]) == 6 and len(p["nodes"]) >= 4, 60, "the preset drawn")
    assert set(probe["graph"]["nodes"]) == {"source", "detector", "marker", "swapper", "merger", "sink"}
    shot = cv2.imread(str(editor.screenshot(tmp_path / "opened.png")))
    assert shot is not None and float(np.std(shot)) > 10  # a drawn window, not a blank screen
    assert quit_editor(editor) == 0

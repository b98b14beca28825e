"""The file dialog in the real editor window (Xvfb, xdotool): what the user types or picks is exactly the
path the param gets (it once became '.../out.*' or '/work/main//tmp/x/out.mp4')."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.gui import fixtures
from tests.gui.driver import ROOT, Editor
from tests.gui.fixtures import start

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
        probe = editor.wait(lambda p: p["modal"] == "file" and p["file_dialog"], 15, "the file dialog")
        x, y, width, height = probe["file_dialog"]
        editor.click((x + width * 0.4, y + height - 45))  # the File Name box
        time.sleep(0.3)
        editor.key("ctrl+a")
        editor.type(str(path))  # an absolute path, typed where the dialog shows another folder
        time.sleep(0.5)
        editor.click((x + 19, y + height - 21))  # OK
        node, param = field.split(".")
        editor.wait(lambda p, n=node, k=param, v=str(path): p["graph"]["nodes"][n]["params"].get(k) == v, 20, field)
    assert editor.probe()["modal"] is None

"""Fixtures and steps shared by the GUI tests (import the fixtures into a test module to use them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from tests.gui.driver import Editor, x_display


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with x_display() as name:
        yield name


@pytest.fixture
def editors(display: str, tmp_path: Path) -> Iterator[list[Editor]]:
    """Editors a test starts; all are ended afterwards."""
    started: list[Editor] = []
    yield started
    for i, editor in enumerate(started):
        if editor.proc.poll() is None:  # still open: keep a picture of how it ended
            editor.screenshot(tmp_path / f"end-{i}.png")
        editor.kill()


def start(editors: list[Editor], display: str, tmp_path: Path, graph: Path | None, **env: str) -> Editor:
    editor = Editor(display, tmp_path, graph, env=env)
    editors.append(editor)
    return editor


def title_point(rect: list[float]) -> tuple[float, float]:
    return (rect[0] + 50, rect[1] + 10)


def quit_editor(editor: Editor, answer: str | None = None) -> int:
    editor.key("ctrl+q")
    if answer:
        probe = editor.wait(
            lambda p: p["modal"] == "confirm" and f"dialog:{answer}" in p["buttons"], 10, "the unsaved-changes question"
        )
        editor.click_item(probe["buttons"][f"dialog:{answer}"], answer)
    return editor.close()


def settled_shot(editor: Editor, path: Path, same_frame: int | None = None) -> tuple[Path, dict]:
    """A screenshot taken while the paused preview stays on one frame (checked before and after)."""
    for _ in range(20):
        before = editor.fresh()
        place = before["preview"]["placement"]
        if same_frame is not None and place["frame_index"] != same_frame:
            continue
        updates = before["preview"]["updates"]
        editor.screenshot(path)
        after = editor.fresh()
        if after["preview"]["updates"] == updates and after["preview"]["placement"] == place:
            return path, after
    raise AssertionError(f"the preview did not settle: {editor.probe().get('preview')}")


def video_frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count

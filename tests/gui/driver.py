"""Drive the editor like a person: a real window under Xvfb, real X mouse and key events (xdotool).

The editor writes where its items are (NODESWAP_EDITOR_PROBE) so the test knows where to
click; every click, drag and key press is a real X event sent by xdotool.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
Point = tuple[float, float]


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (GUI tests are required under CI)")
    pytest.skip(reason)


def _free_display() -> int:
    for number in range(99, 160):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


@contextmanager
def x_display(size: str = "1600x1000x24") -> Iterator[str]:
    """An X display: $DISPLAY when set, else a fresh Xvfb on a free display number."""
    for tool in ("xdotool", "xwininfo", "import"):
        if shutil.which(tool) is None:
            _fail_or_skip(f"{tool} is not installed (Debian: xdotool, x11-utils, imagemagick)")
    existing = os.environ.get("DISPLAY")
    if existing:
        yield existing
        return
    if shutil.which("Xvfb") is None:
        _fail_or_skip("no DISPLAY and no Xvfb (Debian package xvfb)")
    number = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", size, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                break
            if proc.poll() is not None:
                _fail_or_skip(f"Xvfb :{number} did not start")
            time.sleep(0.05)
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


class Editor:
    """One editor process on ``display`` and the means to use it."""

    def __init__(
        self,
        display: str,
        workdir: Path,
        graph: str | Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.display = display
        self.workdir = workdir
        self.probe_path = workdir / f"probe-{time.monotonic_ns()}.json"
        self.log_path = workdir / "editor.log"
        self.env = {
            **os.environ,
            "DISPLAY": display,
            "NODESWAP_EDITOR_PROBE": str(self.probe_path),
            "NODESWAP_CONFIG_DIR": str(workdir / "config"),
            **(env or {}),
        }
        args = [sys.executable, str(ROOT / "run.py"), "-vv", "edit"] + ([str(graph)] if graph else [])
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        self.origin: Point = (0.0, 0.0)
        self.wait(lambda p: p.get("frame", 0) > 5, timeout, "the editor window to come up")
        self.origin = self._window_origin()

    # -- state ----------------------------------------------------------------
    def probe(self) -> dict[str, Any]:
        try:
            return json.loads(self.probe_path.read_text())
        except (OSError, ValueError):
            return {}

    def wait(self, predicate: Callable[[dict[str, Any]], Any], timeout: float = 20.0, what: str = "") -> dict[str, Any]:
        """Poll the probe until ``predicate(probe)`` is true; returns that probe."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the editor exited with {self.proc.returncode} waiting for {what}:\n{self.log()}")
            last = self.probe()
            try:
                if last and predicate(last):
                    return last
            except (KeyError, TypeError, IndexError):
                pass
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}; status: {last.get('status')!r}, modal: "
            f"{last.get('modal')!r}\n{self.log()[-3000:]}"
        )

    def fresh(self, timeout: float = 15.0) -> dict[str, Any]:
        """A probe written after now. The mouse twitches first, as a hand's would: an idle editor draws (and
        writes the probe) only every few seconds until something moves."""
        now = time.time()
        self.xdo("mousemove_relative", "--", "1", "0")
        self.xdo("mousemove_relative", "--", "-1", "0")
        return self.wait(lambda p: p["time"] > now, timeout, "a fresh probe")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- X input --------------------------------------------------------------
    def xdo(self, *args: Any) -> None:
        for attempt in range(3):  # a busy X server can refuse a connection now and then
            done = subprocess.run(["xdotool", *map(str, args)], env=self.env, timeout=20, stderr=subprocess.PIPE)
            if done.returncode == 0 or b"Can't open display" not in done.stderr or attempt == 2:
                break
            time.sleep(0.5)
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, done.args, stderr=done.stderr)

    def _window_origin(self) -> Point:
        out = subprocess.run(
            ["xdotool", "search", "--pid", str(self.proc.pid)], env=self.env, capture_output=True, text=True, timeout=20
        ).stdout.split()
        for window in out:
            info = subprocess.run(["xwininfo", "-id", window], env=self.env, capture_output=True, text=True).stdout
            values = dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)
            try:
                if int(values.get("Width", "0")) > 400:
                    return (float(values["Absolute upper-left X"]), float(values["Absolute upper-left Y"]))
            except ValueError:
                continue
        return (0.0, 0.0)

    def screen(self, point: Point) -> tuple[int, int]:
        return (round(self.origin[0] + point[0]), round(self.origin[1] + point[1]))

    def move(self, point: Point) -> None:
        self.xdo("mousemove", *self.screen(point))
        time.sleep(0.08)

    def click(self, point: Point, button: int = 1, double: bool = False) -> None:
        """Move there, then press and release as a hand does (a press held a tenth of a second)."""
        self.move(point)
        time.sleep(0.4 if double else 0.1)  # an idle editor wakes on the move; a double click needs it awake
        if double:
            self.fresh(20.0)  # awake: it drew a frame after the move
            self.xdo("click", "--repeat", "2", "--delay", "80", button)
        else:
            self.xdo("mousedown", button)
            time.sleep(0.1)
            self.xdo("mouseup", button)
        time.sleep(0.25)

    def drag(self, start: Point, end: Point, steps: int = 8, button: int = 1) -> None:
        """Press at ``start``, move in steps, release at ``end``; each step held long enough for the editor to
        draw a frame even on a loaded machine (a drag it sees only at its ends is no drag to dear imgui)."""
        self.move(start)
        time.sleep(0.1)
        self.xdo("mousedown", button)
        time.sleep(0.3)
        for i in range(1, steps + 1):
            t = i / steps
            self.move((start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t))
            time.sleep(0.06)
        time.sleep(0.3)
        self.xdo("mouseup", button)
        time.sleep(0.3)

    def key(self, *combos: str) -> None:
        """Press keys like a person: modifiers held down a moment around the key."""
        for combo in combos:
            *mods, key = combo.split("+")
            for mod in mods:
                self.xdo("keydown", mod)
            time.sleep(0.12 if mods else 0)
            self.xdo("keydown", key)
            time.sleep(0.08)
            self.xdo("keyup", key)
            time.sleep(0.12 if mods else 0)
            for mod in reversed(mods):
                self.xdo("keyup", mod)
            time.sleep(0.2)

    def type(self, text: str) -> None:
        self.xdo("type", "--delay", "60", text)
        time.sleep(0.2)

    def enter_text(self, rect: list[float], text: str, timeout: float = 60.0, echo: bool = True) -> None:
        """Click a text field, replace its text by typing, wait until the field holds it, press Enter.

        (A busy machine may draw only a few frames a second and dear imgui takes key events one
        by one, so typing can lag; the probe shows the field's text.)"""
        self.click(self.center(rect))
        self.wait(lambda p: p.get("active_text") is not None, 10, "the text field to take the keyboard")
        self.key("ctrl+a")
        self.type(text)
        if echo:  # number fields keep their old value until Enter
            self.wait(lambda p: p.get("active_text") == text, timeout, f"the field to hold {text!r}")
        else:
            time.sleep(0.5)
        self.key("Return")

    def screenshot(self, path: Path) -> Path:
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True, timeout=30)
        return path

    # -- helpers on probe rectangles -----------------------------------------
    @staticmethod
    def center(rect: list[float]) -> Point:
        return (rect[0] + rect[2] / 2, rect[1] + rect[3] / 2)

    def click_item(self, rect: list[float] | None, what: str = "") -> None:
        assert rect, f"{what} is not on screen"
        self.click(self.center(rect))

    def close_window(self) -> None:
        """What a window manager's close button does: send WM_DELETE_WINDOW to the editor's window."""
        windows = subprocess.run(
            ["xdotool", "search", "--pid", str(self.proc.pid)], env=self.env, capture_output=True, text=True, timeout=20
        ).stdout.split()
        assert windows, "no window of the editor found"
        code = (Path(__file__).parent / "xclose.py").read_text()
        for window in windows:
            subprocess.run([sys.executable, "-c", code, window], env=self.env, check=True, timeout=20)
        time.sleep(0.3)

    # -- ending ---------------------------------------------------------------
    def close(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        return int(self.proc.returncode)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

"""How often the editor draws a frame: often while someone uses it, rarely while it only watches a run or
sits idle, so that drawing never takes the cores a running graph needs. No GUI."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import time
from typing import Any

FPS_CAP = 30.0  # the GUI redraws at most this often
MIN_FPS = 0.2  # ... and at least this often (keys and the mouse wake it at once where X can be read)
IDLE_AFTER = 2.0  # seconds after the last mouse or key input that the GUI counts as in use
# Share of one core the GUI's drawing may take when nobody is using it: little while a graph runs (the
# pipeline needs the cores), less when idle. In use, it draws at FPS_CAP whatever it costs. With a GPU a
# frame costs about a millisecond and these change nothing; drawn in software (Xvfb, a VM) a frame can
# cost 80 ms, and a fixed rate would take most of a core from the graph. Between frames the mouse is
# watched (PointerWatch), so moving it wakes the window at once however rarely it draws.
GUI_SHARE_RUNNING = 0.08
GUI_SHARE_IDLE = 0.01
# KeyPressMask | KeyReleaseMask | ButtonReleaseMask | PointerMotionMask (X.h): what wakes the idle editor
WATCH_MASK = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 6)


def frame_interval(draw_seconds: float, in_use: bool, running: bool) -> float:
    """Seconds between two GUI frames: FPS_CAP in use, else as often as the drawing's share allows."""
    if in_use:
        return 1.0 / FPS_CAP
    share = GUI_SHARE_RUNNING if running else GUI_SHARE_IDLE
    return min(max(1.0 / FPS_CAP, draw_seconds / share), 1.0 / MIN_FPS)


def sleep_unless_touched(seconds: float, pointer: PointerWatch) -> bool:
    """Sleep up to ``seconds``, waking early when the mouse moves or a button or key changes (where X can be
    read); True when woken that way."""
    before = pointer.state()
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if pointer.wait_event(min(left, 0.05)):  # a key, a release or a move on the editor's window
            return True
        if before is not None and pointer.state() != before:
            return True
    return False


class PointerWatch:
    """The mouse pointer's position and buttons and the keys held on the X display, read through libX11
    without drawing a frame, so an editor that draws rarely while idle wakes the moment it is used. ``state()`` is
    None where there is no X display or libX11 (Windows, macOS, Wayland): the editor then wakes at its next
    frame."""

    def __init__(self) -> None:
        self._lib: Any = None
        self._display: Any = None
        self._watched = False
        if not os.environ.get("DISPLAY"):
            return
        try:
            name = ctypes.util.find_library("X11")
            lib = ctypes.CDLL(name) if name else None
            if lib is None:
                return
            lib.XOpenDisplay.restype = ctypes.c_void_p
            lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
            lib.XDefaultRootWindow.restype = ctypes.c_ulong
            lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
            lib.XQueryPointer.argtypes = (ctypes.c_void_p, ctypes.c_ulong, *(ctypes.c_void_p,) * 7)
            lib.XQueryKeymap.argtypes = (ctypes.c_void_p, ctypes.c_char_p)
            lib.XQueryTree.argtypes = (ctypes.c_void_p, ctypes.c_ulong, *(ctypes.c_void_p,) * 4)
            lib.XInternAtom.restype = ctypes.c_ulong
            lib.XInternAtom.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
            lib.XGetWindowProperty.argtypes = (
                ctypes.c_void_p,
                ctypes.c_ulong,
                ctypes.c_ulong,
                ctypes.c_long,
                ctypes.c_long,
                ctypes.c_int,
                ctypes.c_ulong,
                *(ctypes.c_void_p,) * 5,
            )
            lib.XSelectInput.argtypes = (ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long)
            lib.XPending.argtypes = (ctypes.c_void_p,)
            lib.XNextEvent.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
            lib.XFree.argtypes = (ctypes.c_void_p,)
            lib.XFlush.argtypes = (ctypes.c_void_p,)
            lib.XConnectionNumber.argtypes = (ctypes.c_void_p,)
            self._display = lib.XOpenDisplay(None)
            if self._display:
                self._lib, self._root = lib, lib.XDefaultRootWindow(self._display)
        except (OSError, AttributeError):
            self._lib = None

    def watch_window(self) -> bool:
        """Ask X for the key presses and releases, button releases and moves on this process's own window
        (found by its _NET_WM_PID), as a second listener beside the window's own: a key typed while the
        mouse is still then wakes the editor at once. ButtonPress is not asked for (X lets one client only
        select it); the pointer's button mask covers presses. True once watched."""
        if self._lib is None or self._watched:
            return self._watched
        lib, display = self._lib, self._display
        atom = lib.XInternAtom(display, b"_NET_WM_PID", 1)
        if not atom:
            return False
        root_ret, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p(), ctypes.c_uint()
        refs = (ctypes.byref(root_ret), ctypes.byref(parent), ctypes.byref(children), ctypes.byref(count))
        if not lib.XQueryTree(display, self._root, *refs) or not children.value:
            return False
        windows = [ctypes.cast(children, ctypes.POINTER(ctypes.c_ulong))[i] for i in range(count.value)]
        lib.XFree(children)
        for window in windows:
            if self._window_pid(window, atom) == os.getpid():
                lib.XSelectInput(display, window, WATCH_MASK)
                lib.XFlush(display)
                self._watched = True
        return self._watched

    def _window_pid(self, window: int, atom: int) -> int:
        kind, fmt, items, after = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong()
        data = ctypes.c_void_p()
        refs = [ctypes.byref(v) for v in (kind, fmt, items, after, data)]
        if self._lib.XGetWindowProperty(self._display, window, atom, 0, 1, 0, 0, *refs) != 0 or not data.value:
            return -1
        pid = int(ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[0]) if items.value else -1
        self._lib.XFree(data)
        return pid

    def wait_event(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for an input event on the watched window (drained); False where nothing is
        watched (it then only sleeps)."""
        if not self.watch_window():
            time.sleep(seconds)
            return False
        lib, display = self._lib, self._display
        if not lib.XPending(display):
            select.select([lib.XConnectionNumber(display)], [], [], seconds)
        seen = False
        event = ctypes.create_string_buffer(192)  # sizeof(XEvent)
        while lib.XPending(display):
            lib.XNextEvent(display, event)
            seen = True
        return seen

    def state(self) -> tuple[int, int, int, bytes] | None:
        """(x, y, button mask) of the pointer and the keys held down, or None when they cannot be read."""
        if self._lib is None:
            return None
        window = ctypes.c_ulong()
        x, y, wx, wy = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        mask = ctypes.c_uint()
        refs = [ctypes.byref(v) for v in (window, window, x, y, wx, wy, mask)]
        if not self._lib.XQueryPointer(self._display, self._root, *refs):
            return None
        keys = ctypes.create_string_buffer(32)
        self._lib.XQueryKeymap(self._display, keys)
        return x.value, y.value, mask.value, keys.raw

    def close(self) -> None:
        if self._lib is not None and self._display:
            self._lib.XCloseDisplay(ctypes.c_void_p(self._display))
        self._lib = None

"""Menus, the run toolbar, keyboard shortcuts and the canvas context menu of the editor window."""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import dearpygui.dearpygui as dpg

Tag = int | str
log = logging.getLogger(__name__)
MODIFIERS = {
    dpg.mvKey_LControl: "ctrl",
    dpg.mvKey_RControl: "ctrl",
    dpg.mvKey_LShift: "shift",
    dpg.mvKey_RShift: "shift",
}
MODIFIER_MEMORY = 3.0  # seconds a modifier press counts as held without its release seen
FIRST_PSEUDO_KEY = 655  # dear imgui: mouse buttons, then ImGuiMod_* (real keys are below)


def build_menus(app: Any) -> dict[str, Tag]:
    """The menu bar; returns the tags of menus that change (recent files, presets)."""
    tags: dict[str, Tag] = {}
    with dpg.menu_bar():
        with dpg.menu(label="File") as tags["file"]:
            dpg.add_menu_item(label="New", shortcut="Ctrl+N", callback=app.new_graph)
            dpg.add_menu_item(label="Open...", shortcut="Ctrl+O", callback=app.open_dialog)
            with dpg.menu(label="Presets") as tags["presets"]:
                paths = app.preset_paths()
                for path in paths:
                    tags[f"preset:{path.stem}"] = dpg.add_menu_item(
                        label=path.stem, callback=lambda s, a, u: app.open_path(u, True), user_data=str(path)
                    )
                if not paths:
                    dpg.add_menu_item(label="(no presets in graphs/)", enabled=False)
            with dpg.menu(label="Recent") as tags["recent"]:
                pass
            dpg.add_separator()
            dpg.add_menu_item(label="Save", shortcut="Ctrl+S", callback=app.save)
            dpg.add_menu_item(label="Save As...", shortcut="Ctrl+Shift+S", callback=app.save_as)
            dpg.add_separator()
            dpg.add_menu_item(label="Quit", shortcut="Ctrl+Q", callback=app.request_quit)
        with dpg.menu(label="Edit") as tags["edit"]:
            dpg.add_menu_item(label="Undo", shortcut="Ctrl+Z", callback=app.undo)
            dpg.add_menu_item(label="Redo", shortcut="Ctrl+Y", callback=app.redo)
            dpg.add_separator()
            dpg.add_menu_item(label="Copy", shortcut="Ctrl+C", callback=lambda: app.copy_selected())
            dpg.add_menu_item(label="Paste", shortcut="Ctrl+V", callback=lambda: app.paste())
            dpg.add_menu_item(label="Duplicate", shortcut="Ctrl+D", callback=lambda: app.duplicate_selected())
            dpg.add_menu_item(label="Delete", shortcut="Delete", callback=lambda: app.delete_selected())
            dpg.add_menu_item(
                label="Bypass on/off",
                shortcut="Ctrl+B",
                callback=lambda: app.request_bypass(app.canvas.selected_nodes()),
            )
            dpg.add_separator()
            dpg.add_menu_item(label="Arrange to fit the view", shortcut="Ctrl+L", callback=app.arrange)
        with dpg.menu(label="View") as tags["view"]:
            dpg.add_menu_item(label="Frame all", shortcut="Home", callback=app.frame_all)
            tags["compact"] = dpg.add_menu_item(
                label="Compact nodes (key params only)", shortcut="Ctrl+K", check=True, callback=app.toggle_compact
            )
            dpg.add_menu_item(
                label="Collapse / expand selected (all: none selected)",
                shortcut="Ctrl+H",
                callback=lambda: app.toggle_collapsed(app.canvas.selected_nodes()),
            )
        with dpg.menu(label="Run") as tags["run"]:
            dpg.add_menu_item(label="Run live", shortcut="Space (camera)", callback=lambda: app.run(live=True))
            dpg.add_menu_item(
                label="Run offline (every frame)", shortcut="F5, Space (files)", callback=lambda: app.run(live=False)
            )
            dpg.add_menu_item(label="Pause / resume", shortcut="Space", callback=app.toggle_pause)
            dpg.add_menu_item(label="Step one frame", shortcut="F10", callback=app.step)
            dpg.add_menu_item(label="Stop", shortcut="Shift+F5", callback=app.stop)
        with dpg.menu(label="Help") as tags["help"]:
            dpg.add_menu_item(label="Keyboard and mouse", shortcut="F1", callback=app.dialogs.toggle_help)
    app.menus = tags
    app.rebuild_recent_menu()
    return tags


def build_toolbar(app: Any) -> dict[str, Tag]:
    tags: dict[str, Tag] = {}
    with dpg.group(horizontal=True):
        tags["run_live"] = dpg.add_button(label="Run live", callback=lambda: app.run(live=True))
        tags["run_offline"] = dpg.add_button(label="Run offline", callback=lambda: app.run(live=False))
        tags["pause"] = dpg.add_button(label="Pause", width=70, callback=app.toggle_pause)
        tags["step"] = dpg.add_button(label="Step", callback=app.step)
        tags["stop"] = dpg.add_button(label="Stop", callback=app.stop)
        dpg.add_spacer(width=20)
        tags["undo"] = dpg.add_button(label="Undo", callback=app.undo)
        tags["redo"] = dpg.add_button(label="Redo", callback=app.redo)
        tags["help"] = dpg.add_button(label="? Help", callback=app.dialogs.toggle_help)
    for name, tip in (
        ("run_live", "real time: newest frame wins, late frames dropped (Space when the source is a camera)"),
        ("run_offline", "every frame in order, as fast as possible (F5; Space when every source is a file)"),
        ("pause", "pause / resume (Space); a param change re-renders the paused frame"),
        ("step", "one frame (F10)"),
        ("stop", "stop and finalise outputs (Shift+F5)"),
    ):
        with dpg.tooltip(tags[name]):
            dpg.add_text(tip)
    return tags


def typing(app: Any) -> bool:
    """True while a text field has the keyboard (plain keys belong to it then)."""
    fields = [*app.widgets.active_candidates(), app.palette.search_box, app.quick_add.box]
    return any(dpg.does_item_exist(t) and dpg.is_item_active(t) for t in fields)


def key_released(app: Any, key: int) -> None:
    app.held_mods.pop(MODIFIERS.get(key, ""), None)


def handle_key(app: Any, key: int) -> None:
    if key in MODIFIERS:
        app.held_mods[MODIFIERS[key]] = time.monotonic()
    if key >= FIRST_PSEUDO_KEY:
        return  # mouse buttons and modifier pseudo-keys come through the key handler too
    if app.dialogs.active in ("confirm", "file"):
        return
    # a key stroke handled frames after it happened (an idle editor wakes on it) finds the modifier already
    # up: the presses and releases seen in order tell what was held when the key went down (a release
    # missed while the window had no focus counts for a few seconds at most)
    recent = time.monotonic() - MODIFIER_MEMORY
    ctrl = dpg.is_key_down(dpg.mvKey_ModCtrl) or app.held_mods.get("ctrl", 0.0) > recent
    shift = dpg.is_key_down(dpg.mvKey_ModShift) or app.held_mods.get("shift", 0.0) > recent
    log.debug("key %s ctrl=%s shift=%s typing=%s", key, ctrl, shift, typing(app))
    if key == dpg.mvKey_F1:
        app.dialogs.toggle_help()
        return
    if key == dpg.mvKey_Escape:
        app.quick_add.hide()
        dpg.configure_item(app.context_window, show=False)
        if app.dialogs.active in ("help", "message"):
            app.dialogs.toggle_help() if app.dialogs.active == "help" else app.dialogs.close_message()
        return
    if ctrl:
        files = {
            dpg.mvKey_S: (app.save_as if shift else app.save),
            dpg.mvKey_O: app.open_dialog,
            dpg.mvKey_N: app.new_graph,
            dpg.mvKey_Q: app.request_quit,
        }
        if key in files:
            files[key]()
            return
        if typing(app):
            return  # Ctrl+Z/C/V in a text field edit the text
        edits = {
            dpg.mvKey_Z: (app.redo if shift else app.undo),
            dpg.mvKey_Y: app.redo,
            dpg.mvKey_C: lambda: app.copy_selected(),
            dpg.mvKey_V: lambda: app.paste(_mouse_grid(app)),
            dpg.mvKey_D: lambda: app.duplicate_selected(),
            dpg.mvKey_B: lambda: app.request_bypass(app.canvas.selected_nodes()),
            dpg.mvKey_L: app.arrange,
            dpg.mvKey_K: app.toggle_compact,
            dpg.mvKey_H: lambda: app.toggle_collapsed(app.canvas.selected_nodes()),
        }
        if key in edits:
            edits[key]()
        return
    if typing(app):
        return
    if key == dpg.mvKey_Delete:
        app.delete_selected()
    elif key == dpg.mvKey_Spacebar:
        app.toggle_pause()
    elif key == dpg.mvKey_F5:
        app.stop() if shift else app.run(live=False)
    elif key == dpg.mvKey_F10:
        app.step()
    elif key == dpg.mvKey_Home:
        app.frame_all()
    elif key == dpg.mvKey_Tab:
        mouse = dpg.get_mouse_pos(local=False)
        app.quick_add.open(mouse, app.canvas.to_grid(mouse))


def _mouse_grid(app: Any) -> Any:
    mouse = dpg.get_mouse_pos(local=False)
    return app.canvas.to_grid(mouse) if app.canvas.hovered() else None


def open_context_menu(app: Any) -> None:
    """Right-click on the canvas: actions on the node under the cursor, or on the selection."""
    if not app.canvas.hovered() or app.dialogs.active:
        return
    mouse = dpg.get_mouse_pos(local=False)
    grid = app.canvas.to_grid(mouse)
    under = app.canvas.node_at(mouse)
    selection = app.canvas.selected_nodes()
    # the menu is for what is under the pointer: that node (the whole selection when it is one of them), the
    # link under it, or the empty canvas; never a selected node elsewhere
    targets = ([under] if under not in selection else selection) if under else []
    link = None if under else app.canvas.link_at(mouse)
    window = app.context_window
    dpg.delete_item(window, children_only=True)
    items = app.context_items
    items.clear()

    def entry(name: str, label: str, action: Any) -> None:
        def chosen(*_: Any) -> None:
            dpg.configure_item(window, show=False)
            action()

        items[name] = dpg.add_selectable(label=label, parent=window, callback=chosen, width=240)

    what = f"'{targets[0]}'" if len(targets) == 1 else f"{len(targets)} nodes"
    entry("add", "Add node here...", lambda: app.quick_add.open(mouse, grid))
    entry("paste", "Paste here", lambda: app.paste(grid))
    if targets:
        dpg.add_separator(parent=window)
        entry("inspect", f"Inspect {what}", lambda: app.inspect(targets[-1]))
        entry("copy", f"Copy {what}", lambda: app.copy_selected(targets))
        entry("duplicate", f"Duplicate {what}", lambda: app.duplicate_selected(targets))
        entry("bypass", f"Bypass on/off {what}", lambda: app.request_bypass(targets))
        entry("collapse", f"Collapse / expand {what}", lambda: app.toggle_collapsed(targets))
        entry("delete", f"Delete {what}", lambda: app.delete_selected(targets))
    if link is not None:
        dpg.add_separator(parent=window)
        entry("unlink", f"Delete link {link}", lambda: app.request_unlink([link]))
    dpg.configure_item(window, show=True, pos=[int(mouse[0]), int(mouse[1])])


def side_widths(viewport_width: float) -> tuple[int, int]:
    """Widths of the palette and of the preview/inspector column: 220 and 440 px from a 1600 px window (the
    column grows by half of every pixel more, to 900), narrower below it, so a small window keeps a canvas
    wide enough to work in (1100 px: 170 and 320, the canvas about 590)."""
    if viewport_width >= 1600:
        return 220, int(min(440 + (viewport_width - 1600) / 2, 900))
    short = 1600 - viewport_width
    return int(max(170, 220 - short / 10)), int(max(300, 440 - short * 0.24))


def fit_line(text: str, room: float, char_width: float = 7.0) -> str:
    """``text`` cut to ``room`` pixels of the default font (7 px a character), ending in "..." when cut."""
    fits = max(4, int(room // char_width))
    return text if len(text) <= fits else text[: fits - 3].rstrip() + "..."


def fit_status(app: Any) -> None:
    """The status message as much as fits left of the window's edge, "..." where cut; its tooltip has it
    whole."""
    rect = item_rect(app.status_text)
    room = dpg.get_viewport_client_width() - (rect[0] if rect else 300.0) - 16.0
    dpg.set_value(app.status_text, fit_line(app.message, room))
    dpg.set_value(app.status_tip, app.message)


def ready_text(from_files: bool) -> str:
    """What the status bar says once a graph can run: what Space does for this graph."""
    if from_files:
        return "ready to run: Space or F5 runs offline over the files (every frame); Run live for real time"
    return "ready to run: Space runs live from the camera; F5 runs offline"


def viewport_size() -> tuple[int, int]:
    """The window size: NODESWAP_EDITOR_SIZE (WIDTHxHEIGHT), else 1600x1000."""
    size = os.environ.get("NODESWAP_EDITOR_SIZE", "1600x1000")
    try:
        w, h = (int(v) for v in size.lower().split("x"))
        return w, h
    except ValueError:
        return 1600, 1000


def viewport_height() -> float:
    """The window's height in pixels (1000 without a viewport)."""
    try:
        return float(dpg.get_viewport_client_height())
    except Exception:
        return 1000.0


def viewport_width() -> float:
    """The window's width in pixels (1600 without a viewport: tests that draw without a display)."""
    try:
        return float(dpg.get_viewport_client_width())
    except Exception:
        return 1600.0


def item_rect(tag: Any) -> list[float] | None:
    """[x, y, w, h] of an item in viewport pixels, or None when it is not drawn."""
    if not tag or not dpg.does_item_exist(tag) or not dpg.is_item_shown(tag):
        return None
    state = dpg.get_item_state(tag)
    corner = state.get("rect_min") or state.get("pos")  # child windows report only pos
    size = state.get("rect_size")
    if corner is None or size is None or state.get("visible") is False or size[0] <= 0 or size[1] <= 0:
        return None
    return [float(corner[0]), float(corner[1]), float(size[0]), float(size[1])]


def run_job(job: Any, report: Callable[[BaseException], None]) -> None:
    """Run one of dearpygui's queued callbacks with the arguments it takes; an exception goes to ``report``."""
    callback = job[0]
    if callback is None:
        return
    try:
        callback(*job[1 : 1 + len(inspect.signature(callback).parameters)])
    except Exception as exc:
        report(exc)

"""Modal questions, message boxes, file dialogs and the keyboard help overlay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from .file_dialog import FileDialog

SHORTCUTS = (
    ("Ctrl+N", "new graph"),
    ("Ctrl+O", "open a graph"),
    ("Ctrl+S / Ctrl+Shift+S", "save / save as"),
    ("Ctrl+Z / Ctrl+Y", "undo / redo (Ctrl+Shift+Z redoes too)"),
    ("Ctrl+C / Ctrl+V", "copy / paste the selected nodes (with their links)"),
    ("Ctrl+D", "duplicate the selected nodes"),
    ("Ctrl+B", "bypass the selected nodes on/off"),
    ("Ctrl+L", "arrange the nodes to fit the view"),
    ("Home", "frame all: bring every node into view (compact, then collapsed, when they do not fit)"),
    ("Ctrl+K", "compact nodes: key params only (the inspector shows all)"),
    ("Ctrl+H", "collapse the selected nodes (all when none is) to title and pins, or expand them"),
    ("Delete", "delete the selected nodes and links"),
    ("Space", "run (offline from files, live from a camera) / pause / resume"),
    ("F5 / Shift+F5", "run offline / stop"),
    ("F10", "step one frame (pauses first; from idle, starts the run paused)"),
    ("Tab or double-click", "add a node at the cursor (type, Enter)"),
    ("drag output pin -> input pin", "link (an incompatible link is refused, the reason in the status bar)"),
    ("drag a pin -> empty canvas", "add a node that can take the link, and link it"),
    ("left-drag on empty canvas", "box-select; Ctrl+click adds to the selection"),
    ("middle-drag", "pan (dearpygui's node editor has no zoom)"),
    ("right-click", "context menu"),
    ("F1", "this help"),
    ("Ctrl+Q", "quit"),
)


class Dialogs:
    def __init__(self) -> None:
        self.buttons: dict[str, int | str] = {}
        self.active: str | None = None  # the open modal, for the test probe
        self.file_dialog: int | str = 0  # the open file dialog (for the test probe)
        self.files: FileDialog | None = None  # made on first use
        self._on_choice: Callable[[str], None] | None = None
        with dpg.window(
            label="nodeswap",
            modal=True,
            show=False,
            no_resize=True,
            autosize=True,
            no_saved_settings=True,
            no_close=True,
        ) as self.confirm_window:
            self.confirm_text = dpg.add_text("", wrap=460)
            with dpg.group(horizontal=True):
                for choice in ("Save", "Discard", "Cancel", "Restore"):
                    self.buttons[choice] = dpg.add_button(
                        label=choice, width=100, callback=self._chosen, user_data=choice
                    )
        with dpg.window(
            label="Problems",
            show=False,
            autosize=True,
            no_saved_settings=True,
            on_close=lambda: self._closed("message"),
        ) as self.message_window:
            self.message_text = dpg.add_text("", wrap=620)
            self.buttons["OK"] = dpg.add_button(label="OK", width=100, callback=self.close_message)
        with dpg.window(
            label="Keyboard and mouse (F1)",
            show=False,
            autosize=True,
            no_saved_settings=True,
            on_close=lambda: self._closed("help"),
        ) as self.help_window:
            with dpg.table(header_row=False, borders_innerH=True):
                dpg.add_table_column(width_fixed=True)
                dpg.add_table_column()
                for keys, what in SHORTCUTS:
                    with dpg.table_row():
                        dpg.add_text(keys, color=(255, 210, 120))
                        dpg.add_text(what)
            self.buttons["help_close"] = dpg.add_button(label="Close", callback=self.toggle_help)

    # -- questions --------------------------------------------------------------
    def ask(
        self, text: str, choices: tuple[str, ...], on_choice: Callable[[str], None], title: str = "nodeswap"
    ) -> None:
        """A modal question; ``on_choice(choice)`` runs when a button is pressed."""
        self._on_choice = on_choice
        dpg.set_value(self.confirm_text, text)
        for name in ("Save", "Discard", "Cancel", "Restore"):
            dpg.configure_item(self.buttons[name], show=name in choices)
        dpg.configure_item(self.confirm_window, label=title, show=True)
        self._center(self.confirm_window, 480, 110)
        self.active = "confirm"

    def _chosen(self, sender: Any, app_data: Any, user_data: str) -> None:
        dpg.configure_item(self.confirm_window, show=False)
        self.active = None
        callback, self._on_choice = self._on_choice, None
        if callback is not None:
            callback(user_data)

    # -- messages ---------------------------------------------------------------
    def message(self, title: str, text: str) -> None:
        dpg.set_value(self.message_text, text)
        dpg.configure_item(self.message_window, label=title, show=True)
        self._center(self.message_window, 640, 200)
        self.active = "message"

    def close_message(self, *_: Any) -> None:
        dpg.configure_item(self.message_window, show=False)
        self._closed("message")

    def toggle_help(self, *_: Any) -> None:
        show = not dpg.is_item_shown(self.help_window)
        dpg.configure_item(self.help_window, show=show)
        if show:
            self._center(self.help_window, 620, 520)
            self.active = "help"
        else:
            self._closed("help")

    def _closed(self, name: str) -> None:
        if self.active == name:
            self.active = None

    @staticmethod
    def _center(window: int | str, width: int, height: int) -> None:
        x = max(0, (dpg.get_viewport_client_width() - width) // 2)
        y = max(0, (dpg.get_viewport_client_height() - height) // 3)
        dpg.set_item_pos(window, [x, y])

    def inputs(self) -> list[int | str]:
        """The file dialog's text fields (for the test probe)."""
        return [self.files.name_box, self.files.path_box] if self.files is not None else []

    # -- files ------------------------------------------------------------------
    def choose_file(
        self,
        title: str,
        on_path: Callable[[str], object],
        extensions: tuple[str, ...] = (".json",),
        start: str | Path = "",
        save: bool = False,
        kind: str = "Files",
        fallback: str | Path = "",
    ) -> None:
        """The file dialog (file_dialog.FileDialog); ``on_path(path)`` with the chosen file. It starts in
        ``start``'s folder, else the last folder used for this kind of file, else ``fallback``."""
        if self.files is None:
            self.files = FileDialog()
        self.file_dialog = self.files.window
        self.files.open(title, on_path, lambda: self._closed("file"), extensions, start, save, fallback)
        self.active = "file"

"""The editor's own file dialog (dearpygui's sorts folders Z to A, shows sizes as "Ko"/"Mo", looks the same
for Save as for Open and always starts in the working folder): folders A to Z, then the files of the chosen
type with sizes in KB/MB, a Save title and button when saving, an empty name field unless a name is
proposed, and the last folder used for each kind of file.

A click selects an entry; a second click on the selected entry opens it (a folder) or chooses it (a file),
so a double-click works however slowly the editor draws. Enter in the name field is the Open/Save button.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from .files import LastFolders, folder_listing, size_text
from .ui import item_rect

WIDTH, HEIGHT = 760, 460
NAME_COLUMN = 64  # characters of an entry's name before its size (the font is 7 px a character)


class FileDialog:
    def __init__(self, last: LastFolders | None = None) -> None:
        self.last = last or LastFolders()
        self.folder = Path.cwd()
        self.extensions: tuple[str, ...] = (".*",)
        self.save = False
        self.key = ""
        self.selected = ""
        self.entries: dict[str, int | str] = {}  # entry name ("name/" for a folder) -> its selectable
        self._on_path: Callable[[str], object] | None = None
        self._on_close: Callable[[], None] | None = None
        with dpg.window(
            modal=True, show=False, width=WIDTH, height=HEIGHT, no_saved_settings=True, on_close=self.cancel
        ) as self.window:
            with dpg.group(horizontal=True):
                self.up = dpg.add_button(label="Up", width=40, callback=lambda: self.go(self.folder.parent))
                self.path_box = dpg.add_input_text(width=-1, on_enter=True, callback=self._typed_folder)
            self.list = dpg.add_child_window(height=-58)
            with dpg.group(horizontal=True):
                dpg.add_text("Name")
                self.name_box = dpg.add_input_text(width=-1, on_enter=True, callback=lambda: self.accept())
            with dpg.group(horizontal=True):
                self.ok = dpg.add_button(label="Open", width=80, callback=lambda: self.accept())
                self.cancel_button = dpg.add_button(label="Cancel", width=80, callback=lambda: self.cancel())
                self.filter_text = dpg.add_text("", color=(150, 200, 150))

    # -- opening ----------------------------------------------------------------------
    def open(
        self,
        title: str,
        on_path: Callable[[str], object],
        on_close: Callable[[], None],
        extensions: tuple[str, ...],
        start: str | Path,
        save: bool,
        fallback: str | Path = "",
    ) -> None:
        """Show the dialog: in ``start``'s folder (a file: its folder, its name proposed when saving), else
        the folder last used for this kind of file, else ``fallback``, else the working folder."""
        self._on_path, self._on_close = on_path, on_close
        self.extensions, self.save = extensions, save
        self.key = f"{'save' if save else 'open'}:{','.join(sorted(extensions))}"
        start_path = Path(start).expanduser() if start else None
        folder = (
            start_path
            if start_path is not None and start_path.is_dir()
            else start_path.parent
            if start_path is not None and start_path.parent.is_dir() and str(start_path.parent) != "."
            else self.last.get(self.key) or (Path(fallback) if fallback else Path.cwd())
        )
        name = start_path.name if start_path is not None and save and not start_path.is_dir() else ""
        dpg.configure_item(self.window, label=f"{'Save' if save else 'Open'}: {title}")
        dpg.configure_item(self.ok, label="Save" if save else "Open")
        typed = [e for e in extensions if e != ".*"]
        dpg.set_value(self.filter_text, "files: " + (" ".join("*" + e for e in typed) if typed else "all"))
        dpg.set_value(self.name_box, name)
        self.go(folder)
        x = max(0, (dpg.get_viewport_client_width() - WIDTH) // 2)
        y = max(0, (dpg.get_viewport_client_height() - HEIGHT) // 2)
        dpg.configure_item(self.window, show=True, pos=[x, y])
        dpg.focus_item(self.name_box)

    def go(self, folder: Path) -> None:
        """Show ``folder``'s content: folders A to Z, then the files of the type asked for."""
        self.folder, self.selected = folder.resolve(), ""
        dpg.set_value(self.path_box, str(self.folder))
        dpg.delete_item(self.list, children_only=True)
        self.entries.clear()
        folders, found = folder_listing(self.folder, self.extensions)
        for name in folders:
            self._entry(name + "/", f"[{name}]")
        for name, size in found:
            self._entry(name, f"{name:<{NAME_COLUMN}} {size_text(size):>9}")

    def _entry(self, key: str, label: str) -> None:
        self.entries[key] = dpg.add_selectable(label=label, parent=self.list, callback=self._clicked, user_data=key)

    # -- choosing ---------------------------------------------------------------------
    def _clicked(self, sender: Any, app_data: Any, key: str) -> None:
        again = key == self.selected
        self.selected = key
        for other, tag in self.entries.items():
            dpg.set_value(tag, other == key)
        if key.endswith("/"):
            if again:  # the second click of a double-click, however slow the frames
                self.go(self.folder / key[:-1])
            return
        dpg.set_value(self.name_box, key)
        if again:
            self.accept()

    def _typed_folder(self, *_: Any) -> None:
        folder = Path(str(dpg.get_value(self.path_box))).expanduser()
        if folder.is_dir():
            self.go(folder)
        else:
            dpg.set_value(self.path_box, str(self.folder))

    def accept(self) -> None:
        """The Open/Save button: the typed name (absolute as typed, else in the folder shown); a folder's
        name opens that folder; saving a name without an extension adds the type's."""
        typed = str(dpg.get_value(self.name_box) or "").strip()
        if not typed and self.selected.endswith("/"):
            self.go(self.folder / self.selected[:-1])
            return
        if not typed:
            return
        path = Path(typed).expanduser()
        path = path if path.is_absolute() else self.folder / path
        if path.is_dir():
            dpg.set_value(self.name_box, "")
            self.go(path)
            return
        suffix = next((e for e in self.extensions if e != ".*"), "")
        if self.save and not path.suffix and suffix:
            path = path.with_suffix(suffix)
        if not self.save and not path.exists():
            dpg.set_value(self.filter_text, f"no such file: {path.name}")
            return
        self.last.remember(self.key, path)
        callback = self._on_path
        self._close()
        if callback is not None:
            callback(str(path))

    def cancel(self, *_: Any) -> None:
        self._close()

    def _close(self) -> None:
        dpg.configure_item(self.window, show=False)
        self._on_path = None
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    # -- for the test probe ----------------------------------------------------------------
    def probe(self) -> dict[str, Any]:
        return {
            "title": dpg.get_item_label(self.window),
            "folder": str(self.folder),
            "name": dpg.get_value(self.name_box),
            "ok_label": dpg.get_item_label(self.ok),
            "entries": [dpg.get_item_label(tag) for tag in self.entries.values()],
            "rects": {k: r for k, tag in self.entries.items() if (r := item_rect(tag))},
            "name_box": item_rect(self.name_box),
            "ok": item_rect(self.ok),
            "cancel": item_rect(self.cancel_button),
        }

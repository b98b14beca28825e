"""Adding nodes: the palette by category with a search box, and a quick-add box at the cursor.

Type to filter; Enter adds the first match. Third-party node types from the
registry's plugins are listed too, marked "plugin".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from ..node import Node
from ..registry import Registry


def preset_list(paths: list[Path], on_open: Callable[[str], None]) -> dict[str, int | str]:
    """The presets as buttons under a "Presets" header (the File menu lists them too): a click opens one as
    a new graph. Keyed by name, plus "_header"."""
    buttons: dict[str, int | str] = {}
    with dpg.collapsing_header(label="Presets", default_open=False) as header:
        buttons["_header"] = header
        for path in paths:
            buttons[path.stem] = dpg.add_button(
                label=path.stem, width=-1, user_data=str(path), callback=lambda s, a, u: on_open(u)
            )
    return buttons


def is_plugin(cls: type[Node]) -> bool:
    """A node type from another package than nodeswap's own nodes (nodeswap.nodes)."""
    return not (cls.__module__.startswith("nodeswap.nodes.") or cls.__module__ == "nodeswap.nodes")


def matches(cls: type[Node], query: str) -> bool:
    """Every word of ``query`` appears in the type id, title, category or help."""
    text = " ".join([cls.type_id, cls.title, cls.category, (cls.__doc__ or "").split("\n")[0]]).lower()
    return all(word in text for word in query.lower().split())


def search(registry: Registry, query: str) -> list[type[Node]]:
    """Matching node types, best first (type id or title starting with the query first)."""
    found = [cls for cls in registry if matches(cls, query)]
    q = query.lower().strip()
    return sorted(found, key=lambda c: (not (c.type_id.startswith(q) or c.title.lower().startswith(q)),))


class Palette:
    """The left panel: a search box over collapsible categories of node buttons."""

    def __init__(self, registry: Registry, parent: int | str, on_add: Callable[[str, Any], object]) -> None:
        self.registry = registry
        self.on_add = on_add  # (type_id, position or None)
        self.entries: dict[str, int | str] = {}  # type id -> button tag
        self.headers: dict[str, int | str] = {}
        dpg.add_text("Nodes", parent=parent)
        self.search_box = dpg.add_input_text(
            parent=parent, hint="search (Enter adds)", width=-1, on_enter=False, callback=self._filter
        )
        with dpg.item_handler_registry() as handlers:
            dpg.add_item_deactivated_after_edit_handler(callback=self._maybe_enter)
        dpg.bind_item_handler_registry(self.search_box, handlers)
        for category, types in registry.by_category().items():
            if not types:
                continue
            with dpg.collapsing_header(label=category, parent=parent, default_open=True) as header:
                self.headers[category] = header
                for cls in types:
                    label = cls.title or cls.type_id
                    if is_plugin(cls):
                        label += "  (plugin)"
                    button = dpg.add_button(label=label, width=-1, callback=self._clicked, user_data=cls.type_id)
                    with dpg.tooltip(button):
                        doc = (cls.__doc__ or "").strip().split("\n")[0]
                        dpg.add_text(f"{cls.type_id}\n{doc}", wrap=360)
                    self.entries[cls.type_id] = button
        if registry.load_errors:
            dpg.add_text("Some node modules failed to load:", parent=parent, color=(255, 110, 110))
            for error in registry.load_errors:
                dpg.add_text(error, parent=parent, wrap=200, color=(255, 110, 110))

    def _clicked(self, sender: Any, app_data: Any, user_data: str) -> None:
        self.on_add(user_data, None)

    def _filter(self, sender: Any = None, app_data: Any = None, user_data: Any = None) -> None:
        query = dpg.get_value(self.search_box)
        shown = {cls.type_id for cls in search(self.registry, query)} if query.strip() else set(self.entries)
        for type_id, button in self.entries.items():
            dpg.configure_item(button, show=type_id in shown)
        for category, header in self.headers.items():
            any_shown = any(cls.type_id in shown for cls in self.registry.by_category()[category])
            dpg.configure_item(header, show=any_shown)

    def _maybe_enter(self, *_: Any) -> None:
        if dpg.is_key_down(dpg.mvKey_Return) or dpg.is_key_released(dpg.mvKey_Return):
            self.add_first()

    def add_first(self) -> str | None:
        query = dpg.get_value(self.search_box)
        found = search(self.registry, query)
        if not query.strip() or not found:
            return None
        self.on_add(found[0].type_id, None)
        dpg.set_value(self.search_box, "")
        self._filter()
        return found[0].type_id


class QuickAdd:
    """A small search box that pops up at the cursor (double-click on the canvas, or Tab)."""

    def __init__(self, registry: Registry, on_add: Callable[[str, Any], object]) -> None:
        self.registry = registry
        self.on_add = on_add
        self.position: Any = None  # grid position the new node goes to
        self.only: Callable[[type[Node]], bool] | None = None  # node types to offer (a link dropped: compatible)
        self.then: Callable[[str], object] | None = None  # called with the new node's id
        with dpg.window(
            label="Add node", show=False, no_collapse=True, autosize=True, no_saved_settings=True, on_close=self.hide
        ) as self.window:
            self.box = dpg.add_input_text(hint="type to search, Enter adds", width=300, callback=self._filter)
            self.list = dpg.add_listbox([], width=300, num_items=8, callback=self._picked)
        with dpg.item_handler_registry() as handlers:
            dpg.add_item_deactivated_after_edit_handler(callback=self._maybe_enter)
        dpg.bind_item_handler_registry(self.box, handlers)
        self._found: list[type[Node]] = []

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(
        self,
        screen_pos: tuple[float, float],
        grid_pos: Any,
        only: Callable[[type[Node]], bool] | None = None,
        then: Callable[[str], object] | None = None,
        title: str = "Add node",
    ) -> None:
        self.position, self.only, self.then = grid_pos, only, then
        dpg.configure_item(self.window, label=title)
        dpg.set_value(self.box, "")
        self._filter()
        dpg.configure_item(self.window, show=True, pos=[int(screen_pos[0]), int(screen_pos[1])])
        dpg.focus_item(self.window)
        dpg.focus_item(self.box)

    def hide(self, *_: Any) -> None:
        dpg.configure_item(self.window, show=False)

    def _filter(self, *_: Any) -> None:
        self._found = [c for c in search(self.registry, dpg.get_value(self.box)) if not self.only or self.only(c)]
        dpg.configure_item(self.list, items=[f"{c.title}  [{c.type_id}]" for c in self._found])

    def _maybe_enter(self, *_: Any) -> None:
        if dpg.is_key_down(dpg.mvKey_Return) or dpg.is_key_released(dpg.mvKey_Return):
            self.add_first()

    def add_first(self) -> None:
        if self._found:
            self._add(self._found[0].type_id)
        self.hide()

    def _picked(self, sender: Any, app_data: str, user_data: Any = None) -> None:
        for cls in self._found:
            if app_data == f"{cls.title}  [{cls.type_id}]":
                self._add(cls.type_id)
                break
        self.hide()

    def _add(self, type_id: str) -> None:
        node_id = self.on_add(type_id, self.position)
        if isinstance(node_id, str) and self.then is not None:
            self.then(node_id)

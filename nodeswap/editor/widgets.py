"""Param -> dearpygui widget: slider with range, checkbox, combo, text, path with a file
dialog, colour. The value conversions at the top need no GUI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..node import Param

Tag = int | str
INT_SLIDER_SPAN = 5000  # wider int ranges get a typed field instead of a slider


def hex_to_rgb(text: str) -> list[int]:
    text = text.lstrip("#")
    if len(text) != 6:
        return [0, 0, 0]
    return [int(text[i : i + 2], 16) for i in (0, 2, 4)]


def rgb_to_hex(values: Any) -> str:
    """'#rrggbb' from dearpygui colour values: [r, g, b, a] in 0..255 (get_value), or in 0..1
    (some callbacks), told apart by the alpha (255 or 1.0)."""
    values = list(values)
    rgb = values[:3]
    if len(values) >= 4 and float(values[3]) <= 1.0:
        rgb = [v * 255.0 for v in rgb]
    return "#" + "".join(f"{max(0, min(255, round(v))):02x}" for v in rgb)


def widget_kind(spec: Param) -> str:
    """Which widget shows ``spec``: checkbox, slider_int, input_int, slider_float, input_float,
    combo, path, text or color."""
    if spec.kind == "bool":
        return "checkbox"
    if spec.kind in ("int", "float"):
        bounded = spec.min is not None and spec.max is not None
        if spec.kind == "int":
            return "slider_int" if bounded and spec.max - spec.min <= INT_SLIDER_SPAN else "input_int"
        return "slider_float" if bounded else "input_float"
    if spec.kind == "choice":
        return "combo"
    return spec.kind  # path, text, color


def to_widget(spec: Param, value: Any) -> Any:
    """A model value as the widget holds it."""
    if spec.kind == "color":
        return [*hex_to_rgb(str(value)), 255]
    if spec.kind in ("path", "text", "choice"):
        return "" if value is None else str(value)
    return value


def from_widget(spec: Param, raw: Any) -> Any:
    """A widget value as the model wants it (the Graph still checks it)."""
    if spec.kind == "color":
        return rgb_to_hex(raw)
    if spec.kind == "int":
        return round(float(raw))
    if spec.kind == "float":
        return float(raw)
    if spec.kind == "bool":
        return bool(raw)
    return raw


def float_format(spec: Param) -> str:
    step = spec.step or 0.0
    span = (spec.max or 1.0) - (spec.min or 0.0)
    if step >= 1 or span >= 100:
        return "%.1f"
    if (step and step >= 0.01) or span >= 5:
        return "%.2f"
    return "%.3f"


class ParamWidgets:
    """Creates param widgets and routes their edits to ``on_edit(node_id, name, value)``.

    Text and path fields apply on Enter or when they lose focus; sliders report
    every change while dragging and ``on_release()`` when let go (so a drag can
    be one undo step).
    """

    def __init__(
        self,
        on_edit: Callable[[str, str, Any], None],
        on_release: Callable[[], None],
        on_browse: Callable[[str, Param], None],
    ) -> None:
        import dearpygui.dearpygui as dpg

        self.dpg = dpg
        self.on_edit = on_edit
        self.on_release = on_release
        self.on_browse = on_browse
        self.text_inputs: set[Tag] = set()  # the app skips plain-key shortcuts while one is active
        self._meta: dict[Tag, tuple[str, Param]] = {}
        with dpg.item_handler_registry() as self._release_handlers:
            dpg.add_item_deactivated_handler(callback=lambda *_: self.on_release())
        with dpg.item_handler_registry() as self._text_handlers:
            dpg.add_item_deactivated_after_edit_handler(callback=self._text_committed)

    def active_candidates(self) -> list[Tag]:
        """Every param widget (a slider Ctrl+clicked into a text field takes keys too)."""
        return list(self._meta)

    def forget(self, tags: list[Tag]) -> None:
        for tag in tags:
            self._meta.pop(tag, None)
            self.text_inputs.discard(tag)

    def _changed(self, sender: Tag, app_data: Any, user_data: Any = None) -> None:
        meta = self._meta.get(sender)
        if meta is not None:
            node_id, spec = meta
            self.on_edit(node_id, spec.name, from_widget(spec, self.dpg.get_value(sender)))

    def _text_committed(self, sender: Tag, app_data: Any, user_data: Any = None) -> None:
        self._changed(app_data, None)

    def add(self, node_id: str, spec: Param, value: Any, width: int, parent: Tag, label: str | None = None) -> Tag:
        """Add the widget for ``spec`` under ``parent``; returns the tag that holds the value."""
        dpg = self.dpg
        kind = widget_kind(spec)
        label = spec.name if label is None else label
        common: dict[str, Any] = {"label": label, "parent": parent, "callback": self._changed}
        shown = to_widget(spec, value)
        if kind == "checkbox":
            tag = dpg.add_checkbox(default_value=bool(shown), **common)
        elif kind == "slider_int":
            tag = dpg.add_slider_int(
                default_value=int(shown), min_value=int(spec.min), max_value=int(spec.max), width=width, **common
            )
        elif kind == "slider_float":
            tag = dpg.add_slider_float(
                default_value=float(shown),
                min_value=float(spec.min),
                max_value=float(spec.max),
                format=float_format(spec),
                width=width,
                **common,
            )
        elif kind == "input_int":
            tag = dpg.add_input_int(
                default_value=int(shown),
                width=width,
                step=int(spec.step or 1),
                min_value=int(spec.min if spec.min is not None else -(2**31)),
                max_value=int(spec.max if spec.max is not None else 2**31 - 1),
                min_clamped=spec.min is not None,
                max_clamped=spec.max is not None,
                on_enter=True,
                **common,
            )
            self.text_inputs.add(tag)
        elif kind == "input_float":
            tag = dpg.add_input_float(
                default_value=float(shown),
                width=width,
                format=float_format(spec),
                min_value=float(spec.min if spec.min is not None else -1e12),
                max_value=float(spec.max if spec.max is not None else 1e12),
                min_clamped=spec.min is not None,
                max_clamped=spec.max is not None,
                step=float(spec.step or 0.0),
                on_enter=True,
                **common,
            )
            self.text_inputs.add(tag)
        elif kind == "combo":
            tag = dpg.add_combo(list(spec.choices), default_value=str(shown), width=width, **common)
        elif kind == "color":
            tag = dpg.add_color_edit(default_value=shown, no_alpha=True, width=width, no_inputs=False, **common)
        else:  # path, text
            with dpg.group(horizontal=True, parent=parent):
                browse = kind == "path"
                tag = dpg.add_input_text(
                    default_value=str(shown),
                    width=width - (30 if browse else 0),
                    hint="choose a file..." if browse else "",
                    on_enter=True,
                    label="" if browse else label,
                    callback=self._changed,
                )
                if browse:
                    dpg.add_button(label="...", width=26, callback=lambda: self.on_browse(node_id, spec))
                    dpg.add_text(label)
            dpg.bind_item_handler_registry(tag, self._text_handlers)
            self.text_inputs.add(tag)
        if kind in ("slider_int", "slider_float", "color", "input_int", "input_float"):
            dpg.bind_item_handler_registry(tag, self._release_handlers)
        if spec.help:
            with dpg.tooltip(tag):
                dpg.add_text(_help_text(spec), wrap=360)
        self._meta[tag] = (node_id, spec)
        return tag

    def set(self, tag: Tag, spec: Param, value: Any) -> None:
        """Show ``value`` without firing the widget's callback."""
        if self.dpg.does_item_exist(tag):
            self.dpg.set_value(tag, to_widget(spec, value))


def _help_text(spec: Param) -> str:
    parts = [spec.help]
    if spec.min is not None or spec.max is not None:
        low, high = ("-" if v is None else v for v in (spec.min, spec.max))
        parts.append(f"range {low} .. {high}")
    parts.append(f"default {spec.default!r}")
    if spec.reload:
        parts.append("changing it reloads the node (in the background while running)")
    if spec.required:
        parts.append("required")
    return "\n".join(parts)

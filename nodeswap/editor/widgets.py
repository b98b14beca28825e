"""Param -> dearpygui widget: slider with range, checkbox, combo, text, path with a file
dialog, colour. The value conversions at the top need no GUI."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..params import Param

Tag = int | str
INT_SLIDER_SPAN = 5000  # wider int ranges get a typed field instead of a slider
OPTIONS_EVERY = 2.0  # seconds between two looks at what a param with options offers (files in the model folders)


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
    bounded = spec.min is not None and spec.max is not None
    if spec.kind == "int":
        return "slider_int" if bounded and spec.max - spec.min <= INT_SLIDER_SPAN else "input_int"  # type: ignore[operator]
    if spec.kind == "float":
        return "slider_float" if bounded else "input_float"
    return {"bool": "checkbox", "choice": "combo"}.get(spec.kind, spec.kind)  # path, text, color


# A model value as its widget holds it, and back (the Graph still checks what comes back), per param kind.
TO_WIDGET: dict[str, Callable[[Any], Any]] = {
    "color": lambda v: [*hex_to_rgb(str(v)), 255],
    "path": lambda v: "" if v is None else str(v),
    "text": lambda v: "" if v is None else str(v),
    "choice": lambda v: "" if v is None else str(v),
}
FROM_WIDGET: dict[str, Callable[[Any], Any]] = {
    "color": rgb_to_hex,
    "int": lambda raw: round(float(raw)),
    "float": float,
    "bool": bool,
}


def to_widget(spec: Param, value: Any) -> Any:
    """A model value as the widget holds it."""
    convert = TO_WIDGET.get(spec.kind)
    return value if convert is None else convert(value)


def from_widget(spec: Param, raw: Any) -> Any:
    """A widget value as the model wants it (the Graph still checks it)."""
    convert = FROM_WIDGET.get(spec.kind)
    return raw if convert is None else convert(raw)


def float_format(spec: Param) -> str:
    step = spec.step or 0.0
    span = (spec.max or 1.0) - (spec.min or 0.0)
    if step >= 1 or span >= 100:
        return "%.1f"
    if (step and step >= 0.01) or span >= 5:
        return "%.2f"
    return "%.3f"


@dataclass(frozen=True)
class Widget:
    """What a param's widget is built from."""

    node_id: str
    spec: Param
    shown: Any  # the value as the widget holds it
    width: int
    parent: Tag
    label: str


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
        self.browse_buttons: dict[str, Tag] = {}  # 'node.param' -> its "..." button (for the test probe)
        self._meta: dict[Tag, tuple[str, Param]] = {}
        self._options: dict[Tag, Param] = {}  # the lists of path params with options, kept up to date
        self._options_due = 0.0
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
            self._options.pop(tag, None)
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
        widget = Widget(node_id, spec, to_widget(spec, value), width, parent, spec.name if label is None else label)
        tag: Tag = getattr(self, f"_add_{spec.kind}")(widget)
        if spec.help:
            with self.dpg.tooltip(tag):
                self.dpg.add_text(_help_text(spec), wrap=360)
        self._meta[tag] = (node_id, spec)
        return tag

    # -- one widget per param kind (Param.kind) ----------------------------------------------------------
    def _common(self, w: Widget) -> dict[str, Any]:
        return {"label": w.label, "parent": w.parent, "callback": self._changed}

    def _dragged(self, tag: Tag) -> Tag:
        self.dpg.bind_item_handler_registry(tag, self._release_handlers)  # a drag is one undo step
        return tag

    def _typed(self, tag: Tag) -> Tag:
        self.text_inputs.add(tag)
        return tag

    def _add_bool(self, w: Widget) -> Tag:
        tag: Tag = self.dpg.add_checkbox(default_value=bool(w.shown), **self._common(w))
        return tag

    def _add_int(self, w: Widget) -> Tag:
        spec, dpg = w.spec, self.dpg
        if widget_kind(spec) == "slider_int":
            return self._dragged(
                dpg.add_slider_int(
                    default_value=int(w.shown),
                    min_value=int(spec.min or 0),
                    max_value=int(spec.max or 0),
                    width=w.width,
                    **self._common(w),
                )
            )
        tag = dpg.add_input_int(
            default_value=int(w.shown),
            width=w.width,
            step=int(spec.step or 1),
            min_value=int(spec.min if spec.min is not None else -(2**31)),
            max_value=int(spec.max if spec.max is not None else 2**31 - 1),
            min_clamped=spec.min is not None,
            max_clamped=spec.max is not None,
            on_enter=True,
            **self._common(w),
        )
        return self._typed(self._dragged(tag))

    def _add_float(self, w: Widget) -> Tag:
        spec, dpg = w.spec, self.dpg
        if widget_kind(spec) == "slider_float":
            return self._dragged(
                dpg.add_slider_float(
                    default_value=float(w.shown),
                    min_value=float(spec.min or 0.0),
                    max_value=float(spec.max or 0.0),
                    format=float_format(spec),
                    width=w.width,
                    **self._common(w),
                )
            )
        tag = dpg.add_input_float(
            default_value=float(w.shown),
            width=w.width,
            format=float_format(spec),
            min_value=float(spec.min if spec.min is not None else -1e12),
            max_value=float(spec.max if spec.max is not None else 1e12),
            min_clamped=spec.min is not None,
            max_clamped=spec.max is not None,
            step=float(spec.step or 0.0),
            on_enter=True,
            **self._common(w),
        )
        return self._typed(self._dragged(tag))

    def _add_choice(self, w: Widget) -> Tag:
        tag: Tag = self.dpg.add_combo(
            list(w.spec.choices), default_value=str(w.shown), width=w.width, **self._common(w)
        )
        return tag

    def _add_color(self, w: Widget) -> Tag:
        common = self._common(w)
        return self._dragged(
            self.dpg.add_color_edit(default_value=w.shown, no_alpha=True, width=w.width, no_inputs=False, **common)
        )

    def _add_signal(self, w: Widget) -> Tag:
        """A button: each press goes to the running node (never to the graph or the undo history)."""
        node_id, name = w.node_id, w.spec.name
        tag: Tag = self.dpg.add_button(
            label=w.label.replace("_", " "), parent=w.parent, callback=lambda: self.on_edit(node_id, name, None)
        )
        return tag

    def _add_text(self, w: Widget, browse: bool = False) -> Tag:
        dpg = self.dpg
        with dpg.group(horizontal=True, parent=w.parent):
            tag: Tag = dpg.add_input_text(
                default_value=str(w.shown),
                width=w.width - (30 if browse else 0),
                hint="choose a file..." if browse else "",
                on_enter=True,
                label="" if browse else w.label,
                callback=self._changed,
            )
            if browse:
                browse_tag = dpg.add_button(label="...", width=26, callback=lambda: self.on_browse(w.node_id, w.spec))
                self.browse_buttons[f"{w.node_id}.{w.spec.name}"] = browse_tag
                dpg.add_text(w.label)
        dpg.bind_item_handler_registry(tag, self._text_handlers)
        return self._typed(tag)

    def _add_path(self, w: Widget) -> Tag:
        return self._add_text(w, browse=True) if w.spec.options is None else self._add_options(w)

    def _add_options(self, w: Widget) -> Tag:
        """A path with options (swap.dfm's models): a list of them, and "..." for any other file. A value
        that is not in the list (a path) shows as it is."""
        dpg, options = self.dpg, w.spec.options
        assert options is not None
        with dpg.group(horizontal=True, parent=w.parent):
            tag: Tag = dpg.add_combo(
                list(options()), default_value=str(w.shown), width=w.width - 30, callback=self._changed
            )
            browse_tag = dpg.add_button(label="...", width=26, callback=lambda: self.on_browse(w.node_id, w.spec))
            self.browse_buttons[f"{w.node_id}.{w.spec.name}"] = browse_tag
            dpg.add_text(w.label)
        self._options[tag] = w.spec
        return tag

    def refresh_options(self, now: float | None = None, force: bool = False) -> None:
        """Bring the lists of params with options up to date (a model downloaded, a file put in a model
        folder): every OPTIONS_EVERY seconds, or at once with ``force``."""
        now = time.monotonic() if now is None else now
        if not self._options or (now < self._options_due and not force):
            return
        self._options_due = now + OPTIONS_EVERY
        found: dict[int, list[str]] = {}  # one look per param, however many widgets show it
        for tag, spec in list(self._options.items()):
            if not self.dpg.does_item_exist(tag):
                self._options.pop(tag, None)
                continue
            assert spec.options is not None
            items = found.setdefault(id(spec), list(spec.options()))
            if items != list(self.dpg.get_item_configuration(tag).get("items") or []):
                self.dpg.configure_item(tag, items=items)

    def row_of(self, tag: Tag) -> Tag:
        """The item to hide to hide the param: its group (a path's field, button and label), or itself."""
        parent = self.dpg.get_item_parent(tag)
        return parent if parent and self.dpg.get_item_type(parent).endswith("mvGroup") else tag

    def set(self, tag: Tag, spec: Param, value: Any) -> None:
        """Show ``value`` without firing the widget's callback."""
        if spec.kind != "signal" and self.dpg.does_item_exist(tag):
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

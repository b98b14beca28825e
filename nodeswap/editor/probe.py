"""Test hook: with NODESWAP_EDITOR_PROBE=/path/file.json the editor writes, twice a second,
where its pins, nodes, palette entries, buttons and preview are on screen (viewport pixels)
and what state it is in. GUI tests read it to aim real X mouse events; nothing else uses it."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from .. import graph_io
from .canvas import Canvas
from .ui import item_rect

PERIOD = 0.5


_rect = item_rect


class Probe:
    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = Path(path) if path else None
        self._next = 0.0
        self.writes = 0

    def maybe_write(self, now: float) -> None:
        if self.path is None or now < self._next:
            return
        self._next = now + PERIOD
        try:
            self.write()
        except Exception as exc:  # a test hook must never break the editor
            self.app.status(f"probe: {type(exc).__name__}: {exc}", error=True)

    def snapshot(self) -> dict[str, Any]:
        app = self.app
        buttons = {name: _rect(tag) for name, tag in app.toolbar.items()}
        buttons.update({f"dialog:{name}": _rect(tag) for name, tag in app.dialogs.buttons.items()})
        buttons.update({f"menu:{name}": _rect(tag) for name, tag in app.menus.items()})
        for name in ("file", "edit", "run", "help"):  # menu bar headers report no size: 7 px a letter
            state = dpg.get_item_state(app.menus[name])
            corner = state.get("rect_min") or state.get("pos")
            if corner is not None:
                label = dpg.get_item_label(app.menus[name]) or name
                buttons[f"menu:{name}"] = [*corner, 7.0 * len(label) + 8.0, 19.0]
        buttons.update({f"context:{name}": _rect(tag) for name, tag in app.context_items.items()})
        stats = app.runner.stats()
        return {
            "time": time.time(),
            "pid": os.getpid(),
            "frame": dpg.get_frame_count(),
            "title": dpg.get_viewport_title(),
            "viewport": [dpg.get_viewport_client_width(), dpg.get_viewport_client_height()],
            "buttons": {k: v for k, v in buttons.items() if v},
            "palette": {t: r for t, tag in app.palette.entries.items() if (r := _rect(tag))},
            "search": _rect(app.palette.search_box),
            "presets": {name: r for name, tag in app.preset_buttons.items() if (r := _rect(tag))},
            "quick_add": {
                "shown": app.quick_add.shown,
                "box": _rect(app.quick_add.box),
                "items": list(dpg.get_item_configuration(app.quick_add.list).get("items") or []),
            },
            "canvas": _rect(app.middle),
            "nodes": {n: r for n in app.graph.nodes if (r := app.canvas.node_rect(n))},
            "pins": pin_points(app.canvas),
            "params": param_rects(app.canvas),
            "inspector": {
                "node": app.inspected,
                "bypass": bool(dpg.get_value(app.inspector.bypass_box)) if app.inspector.bypass_box else None,
                "params": {k: r for k, tag in app.inspector._param_tags.items() if (r := _rect(tag))},
                "seek": {k: r for k, tag in app.inspector.seek_buttons.items() if (r := _rect(tag))},
                "downloads": {k: _rect(tag) for k, tag in app.inspector.download_buttons.items()},
                "download_labels": [dpg.get_item_label(tag) for tag in app.inspector.download_buttons.values()],
                "reset": _rect(app.inspector.reset_button),
                "notes": _text(getattr(app.inspector, "_error_text", 0)),
            },
            "selected": app.selected,
            "active_text": next(
                (
                    dpg.get_value(t)
                    for t in [
                        *app.widgets.text_inputs,
                        app.palette.search_box,
                        app.quick_add.box,
                        *app.dialogs.inputs(),
                    ]
                    if dpg.does_item_exist(t) and dpg.is_item_active(t)
                ),
                None,
            ),
            "preview": {
                "node": app.preview.node_id,
                "rect": app.preview.rect(),
                "updates": app.preview.updates,
                "placement": asdict(app.preview.placement),
                "large": _rect(app.preview.large.image) if app.preview.large else None,
            },
            "state": app.runner.state,
            "stats": {k: stats.get(k) for k in ("frames", "fps", "live_fps", "dropped", "latency_ms")},
            "node_stats": stats.get("nodes", {}),
            "status": app.message,
            "status_error": app.message_error,
            "status_bar": {"text": dpg.get_value(app.status_text), "rect": _rect(app.status_text)},
            "context_shown": dpg.is_item_shown(app.context_window),
            "side": {"left": _rect(app.left), "right": _rect(app.right)},
            "refusal_shown": bool(app._refuse_until),
            "errors": dict(app.canvas.errors),
            "modal": app.dialogs.active,
            "file_dialog": _dialog_rect(app.dialogs.file_dialog) if app.dialogs.active == "file" else None,
            "files": app.dialogs.files.probe() if app.dialogs.active == "file" and app.dialogs.files else None,
            "badges": {n: str(dpg.get_value(t.extra["badge"])) for n, t in app.canvas.map.nodes.items()},
            "problems": {  # the status bar's problems button and the window listing them all
                "button": _rect(app.problems.button) if dpg.is_item_shown(app.problems.button) else None,
                "label": dpg.get_item_label(app.problems.button),
                "shown": dpg.is_item_shown(app.problems.window),
                "window": _rect(app.problems.window),
                "issues": [str(issue) for issue in app.problems.issues],
            },
            "browse": {k: r for k, tag in app.widgets.browse_buttons.items() if (r := _rect(tag))},
            "dialog_text": dpg.get_value(app.dialogs.confirm_text)
            if app.dialogs.active == "confirm"
            else dpg.get_value(app.dialogs.message_text)
            if app.dialogs.active == "message"
            else "",
            "dirty": app.dirty,
            "path": app.path,
            "history": {"undo": len(app.history._undo), "redo": len(app.history._redo)},
            "graph": graph_io.to_dict(app.graph),
        }

    def write(self) -> None:
        assert self.path is not None
        data = self.snapshot()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".probe.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, default=str)
        os.replace(tmp, self.path)
        self.writes += 1


def pin_points(canvas: Canvas) -> dict[str, list[float]]:
    """'node.port:in|out' -> [x, y]: where each pin is drawn."""
    return {f"{r.node_id}.{r.port}:{r.direction}": [x, y] for r, (x, y) in canvas.pin_points().items()}


def param_rects(canvas: Canvas) -> dict[str, list[float]]:
    """'node.param' -> [x, y, w, h] of each param widget drawn on the canvas."""
    out = {}
    for node_id, tags in canvas.map.nodes.items():
        for name, widget_tags in tags.params.items():
            state = dpg.get_item_state(widget_tags[0])
            if state.get("visible") and state.get("rect_min") is not None:
                out[f"{node_id}.{name}"] = [*state["rect_min"], *state["rect_size"]]
    return out


def _text(tag: int | str) -> str:
    return str(dpg.get_value(tag)) if tag and dpg.does_item_exist(tag) else ""


def _dialog_rect(tag: int | str) -> list[float] | None:
    """[x, y, w, h] of the open file dialog: dear imgui centres it in the viewport at its configured size
    (it reports no rect of its own)."""
    if not tag or not dpg.does_item_exist(tag):
        return None
    config = dpg.get_item_configuration(tag)
    width, height = float(config["width"]), float(config["height"])
    x = (dpg.get_viewport_client_width() - width) / 2
    y = (dpg.get_viewport_client_height() - height) / 2
    return [x, y, width, height]

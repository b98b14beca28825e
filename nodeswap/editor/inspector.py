"""The inspector: the selected node's params (the right widget per kind, help as tooltip,
reset to default, all of them at once), its ports, its run stats and its last error, and a
button to download each model it needs that is missing."""

from __future__ import annotations

import json
import time
from typing import Any

import dearpygui.dearpygui as dpg

from .. import models
from ..graph import Graph
from ..node import Seekable
from ..placeholder import is_placeholder
from ..types import PORT_COLORS
from ..validate import kept_problems, node_problems, path_problems
from .downloads import button_label, missing_models
from .param_edits import reset_node_command

WIDTH = 200


class Inspector:
    def __init__(self, app: Any, parent: int | str) -> None:
        self.app = app
        self.node_id: str | None = None
        self.graph: Graph | None = None
        self._param_tags: dict[str, int | str] = {}
        self.header = dpg.add_text("Inspector: select a node", parent=parent)
        self.body = dpg.add_group(parent=parent)
        self._stats_text: int | str = 0
        self._error_text: int | str = 0
        self.bypass_box: int | str = 0
        self.reset_button: int | str = 0
        self.download_group: int | str = 0
        self.download_buttons: dict[str, int | str] = {}  # model name -> its "Download" button
        self._downloads_due = 0.0

    def show(self, graph: Graph, node_id: str | None) -> None:
        """Rebuild the panel for ``node_id`` (None: nothing selected)."""
        self.app.widgets.forget(list(self._param_tags.values()))
        self._param_tags.clear()
        self.seek_buttons: dict[str, int | str] = {}
        self.download_buttons, self.reset_button = {}, 0
        dpg.delete_item(self.body, children_only=True)
        self.graph, self.node_id = graph, node_id
        if node_id is None or node_id not in graph.nodes:
            self.node_id = None
            dpg.set_value(self.header, "Inspector: select a node")
            return
        cls = graph.node_class(node_id)
        entry = graph.nodes[node_id]
        dpg.set_value(self.header, f"{cls.title or cls.type_id}  ({node_id})")
        values = graph.param_values(node_id)
        with dpg.group(parent=self.body):
            dpg.add_text(f"{cls.type_id} - {cls.category}", color=(160, 160, 160))
            doc = (cls.__doc__ or "").strip().split("\n")[0]
            if doc:
                dpg.add_text(doc, wrap=380, color=(160, 160, 160))
            self.bypass_box = dpg.add_checkbox(
                label="bypass (inputs pass through)",
                default_value=entry.bypass,
                callback=lambda s, a: self.app.request_bypass([node_id], bool(a)),
            )
            self._stats_text = dpg.add_text("not run yet", color=(160, 160, 160))
            self._error_text = dpg.add_text("", wrap=390, color=(255, 110, 110))  # errors, warnings, params to set
            self.download_group = dpg.add_group()  # a "Download <model>" button per missing model
            if cls.params:
                dpg.add_separator()
                with dpg.group(horizontal=True):
                    dpg.add_text("Params")
                    self.reset_button = dpg.add_button(label="Reset to defaults", callback=lambda: self._reset_all())
                    with dpg.tooltip(self.reset_button):
                        dpg.add_text("every param back to its default, in one undo step; the files it needs stay")
            if is_placeholder(cls) and entry.kept:
                dpg.add_separator()
                dpg.add_text("Params kept from the file (saved as they are)")
                for name, value in entry.kept.items():
                    dpg.add_text(f"{name} = {json.dumps(value, default=str)[:60]}", color=(255, 150, 150))
            for spec in cls.params:
                with dpg.group(horizontal=True):
                    if spec.kind == "signal":  # a button has no value to reset
                        dpg.add_spacer(width=20)
                    else:
                        dpg.add_button(label="R", width=20, callback=self._reset, user_data=spec.name)
                        with dpg.tooltip(dpg.last_item()):
                            dpg.add_text(f"reset to the default: {spec.default!r}")
                    with dpg.group() as cell:
                        tag = self.app.widgets.add(node_id, spec, values[spec.name], WIDTH, cell)
                self._param_tags[spec.name] = tag
            dpg.add_separator()
            dpg.add_text("Ports")
            for direction, ports in (("in", cls.inputs), ("out", cls.outputs)):
                for port in ports:
                    ends = [(x.dst, x.dst_port) if direction == "in" else (x.src, x.src_port) for x in graph.links]
                    linked = [str(x) for x, end in zip(graph.links, ends, strict=True) if end == (node_id, port.name)]
                    text = f"{direction:>3} {port.name}: {port.type}{' (optional)' if port.optional else ''}"
                    dpg.add_text(text, color=PORT_COLORS.get(port.type, (200, 200, 200)))
                    if port.help or linked:
                        with dpg.tooltip(dpg.last_item()):
                            dpg.add_text("\n".join([port.help, *linked]).strip(), wrap=360)
            if issubclass(cls, Seekable):
                self._add_seek_bar(node_id)
        self.refresh_problems()
        self.refresh_downloads()

    def refresh_downloads(self) -> None:
        """The node's "Download <model>" buttons (one per missing model the manifest can fetch), labelled with
        the progress of a download under way."""
        if self.graph is None or self.node_id is None or not dpg.does_item_exist(self.download_group):
            return
        names = missing_models(self.graph, self.node_id)
        if names != list(self.download_buttons):
            dpg.delete_item(self.download_group, children_only=True)
            self.download_buttons = {}
            start = self.app.model_downloads.start
            for name in names:
                tag = dpg.add_button(parent=self.download_group, callback=lambda s, a, u: start(u), user_data=name)
                with dpg.tooltip(tag):
                    info = models.lookup(name)
                    dpg.add_text(f"{info.title if info else name}\nlicence: {info.licence if info else '?'}", wrap=360)
                self.download_buttons[name] = tag
        progress = self.app.model_downloads.downloads.progress
        for name, tag in self.download_buttons.items():
            dpg.configure_item(tag, label=button_label(name, progress.get(name)), enabled=name not in progress)

    def _reset_all(self) -> None:
        """Every param of the node back to its default (but the files it needs), one undo step."""
        if self.graph is None or self.node_id is None:
            return
        command = reset_node_command(self.graph, self.node_id)
        if command is None:
            self.app.status(f"'{self.node_id}' is at its defaults already")
        elif self.app.edit(command):
            self.app.status(f"reset '{self.node_id}' to its defaults (Ctrl+Z undoes it)")

    def _add_seek_bar(self, node_id: str) -> None:
        """Start / -1 / +1 / end buttons and a frame slider for a media source."""
        dpg.add_separator()
        dpg.add_text("Seek")
        runner = self.app.runner
        with dpg.group(horizontal=True):
            self.seek_buttons = {
                "start": dpg.add_button(label="|<", callback=lambda: runner.seek(node_id, index=0)),
                "back": dpg.add_button(label="-1", callback=lambda: runner.seek(node_id, delta=-1)),
                "forward": dpg.add_button(label="+1", callback=lambda: runner.seek(node_id, delta=1)),
                "end": dpg.add_button(label=">|", callback=lambda: runner.seek(node_id, index=10**9)),
            }
        self._seek_slider = dpg.add_slider_int(
            label="frame",
            width=WIDTH,
            min_value=0,
            max_value=1,
            callback=lambda s, a: runner.seek(node_id, index=int(a)),
        )

    def update_seek(self) -> None:
        """Keep the frame slider on the source's current frame (called with the stats)."""
        slider = getattr(self, "_seek_slider", None)
        if self.node_id is None or slider is None or not dpg.does_item_exist(slider):
            return
        info = self.app.runner.source_info(self.node_id)
        if info.get("frame_count"):
            dpg.configure_item(slider, max_value=max(1, int(info["frame_count"]) - 1))
            if not dpg.is_item_active(slider):
                dpg.set_value(slider, int(info["index"]))

    def _reset(self, sender: Any, app_data: Any, user_data: str) -> None:
        if self.node_id is not None:
            self.app.request_param(self.node_id, user_data, None, reset=True)

    def on_bypass(self, node_id: str, bypass: bool) -> None:
        """The node's bypass changed (Ctrl+B, the context menu, undo): the box follows."""
        if node_id == self.node_id and dpg.does_item_exist(self.bypass_box):
            dpg.set_value(self.bypass_box, bypass)

    def on_param(self, node_id: str, name: str, value: Any) -> None:
        app = self.app
        if not app.runner.busy and node_id in app.canvas.errors:  # the last run's error was about the old value
            error = app.canvas.errors[node_id]
            app.canvas.set_error(node_id, None)
            if app.message_error and error in app.message:
                app.status(f"'{node_id}' changed: its last error no longer applies")
        if node_id == self.node_id and name in self._param_tags and self.graph is not None:
            spec = self.graph.node_class(node_id).param_spec(name)
            self.app.widgets.set(self._param_tags[name], spec, value)
            self.refresh_problems()
            if spec is not None and spec.reload:  # another model: another one may be missing
                self.refresh_downloads()

    def refresh_problems(self) -> None:
        if self.graph is None or self.node_id is None:
            return
        problems = {**kept_problems(self.graph, self.node_id), **path_problems(self.graph, self.node_id)}
        for name, tag in self._param_tags.items():
            if dpg.does_item_exist(tag):
                dpg.bind_item_theme(tag, self.app.canvas.themes.warn if name in problems else 0)

    def update(self, stats: dict[str, Any], errors: dict[str, str], warnings: dict[str, str]) -> None:
        """Stats (ms mean/p95, frames, errors), the last error, the last warning and every problem of the
        shown node."""
        self.app.widgets.refresh_options()  # the model lists follow the folders
        self.app.problems.refresh(force=False)  # a model downloaded, a file put in place
        if self.node_id is None or not dpg.does_item_exist(self._stats_text):
            return
        now = time.monotonic()
        if now >= self._downloads_due:  # a model fetched from a terminal, a file put in a folder
            self._downloads_due = now + 2.0
            self.refresh_downloads()
        node = stats.get("nodes", {}).get(self.node_id)
        if node:
            text = (
                f"{node['ms_mean']:.2f} ms mean, {node['ms_p95']:.2f} ms p95\n"
                f"{node['calls']} frames, {node['errors']} errors"
            )
        else:
            text = "not run yet"
        dpg.set_value(self._stats_text, text)
        graph = self.graph
        # the error the node has now (a reload that worked clears it), not the stats' last one, which stays
        message = errors.get(self.node_id, "")
        lines = [f"last error: {message}"] if message else []
        lines += [f"warning: {warnings[self.node_id]}"] if self.node_id in warnings else []
        lines += [f"to do: {problem}" for problem in node_problems(graph, self.node_id)] if graph else []
        dpg.set_value(self._error_text, "\n".join(lines))

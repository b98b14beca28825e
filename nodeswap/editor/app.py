"""The editor window: dearpygui context, layout, menus, keyboard, and the render loop.

The GUI thread owns dearpygui and runs every widget callback itself (manual
callback management), so callbacks never race the drawing. The graph model is
the single source of truth; the Runner thread owns the Scheduler.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from ..errors import UserError
from ..events import BypassSet, GraphEvent, Linked, NodeAdded, NodeRemoved, ParamSet, StateChanged, Unlinked
from ..graph import Graph
from ..registry import default_registry
from ..validate import run_issues
from . import ui
from .actions import Actions, todo_text
from .canvas import Canvas
from .dialogs import Dialogs
from .downloads import ModelDownloads
from .files import RecentFiles, Recovery, presets, process_alive
from .history import History
from .inspector import Inspector
from .pacing import IDLE_AFTER, PointerWatch, frame_interval, sleep_unless_touched
from .palette import Palette, QuickAdd, preset_list
from .preview import Preview
from .probe import Probe
from .problems import ProblemsList
from .runner import Runner
from .status import PausedClock, notice, run_line
from .ui import build_menus, build_toolbar, handle_key, key_released, open_context_menu, run_job, viewport_size
from .view_actions import ViewActions
from .widgets import ParamWidgets

log = logging.getLogger(__name__)


class EditorApp(Actions, ViewActions):
    def __init__(self, graph_path: str | None = None) -> None:
        self.registry = default_registry()
        self.graph = Graph(self.registry)
        self.history = History(self.graph)
        self.path: str | None = None
        self.doc_name = ""
        self.restored = False  # the graph came from a crash recovery and is not saved yet
        self.clip: dict[str, Any] | None = None
        self.selected: list[str] = []
        self.inspected: str | None = None
        self.message, self.message_error = "", False
        self.quitting = False
        self.runner = Runner()
        self.model_downloads = ModelDownloads(self)  # the inspector's "Download <model>" buttons
        self.recent, self.recovery = RecentFiles(), Recovery()
        self.autosave_every = float(os.environ.get("NODESWAP_AUTOSAVE_SECONDS", "30"))
        self._last_autosave = time.monotonic()
        self._changes = 0
        self._autosaved_version = -1
        self._rebuild_due: float | None = None
        self._slow_tick = 0.0
        self._refuse_until = 0.0
        self._last_input = time.monotonic()
        self._draw_seconds = 0.0  # what drawing a frame costs (moving average)
        self._pointer = PointerWatch()
        self._paused = PausedClock()
        self.held_mods: dict[str, float] = {}  # modifier -> when pressed, from the key events (ui.handle_key)
        self._build_ui()
        self.probe = Probe(self, os.environ.get("NODESWAP_EDITOR_PROBE", ""))
        self._start_document(graph_path)

    # -- layout -------------------------------------------------------------------
    def _build_ui(self) -> None:
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        width, height = viewport_size()
        dpg.create_viewport(
            title="nodeswap", width=width, height=height, x_pos=0, y_pos=0, disable_close=True, vsync=True
        )
        dpg.set_exit_callback(lambda *_: self.request_quit())
        dpg.set_viewport_resize_callback(self._resized)
        self.widgets = ParamWidgets(self.request_param, self._slider_released, self._browse)
        self.dialogs = Dialogs()
        with dpg.window(tag="main", no_scrollbar=True) as self.window:
            self.menus = build_menus(self)
            self.toolbar = build_toolbar(self)
            with dpg.group(horizontal=True):
                left, column = ui.side_widths(width)
                with dpg.child_window(width=left, height=-30) as self.left:
                    self.preset_buttons = preset_list(presets(), lambda path: self.open_path(path, True))
                    self.palette = Palette(self.registry, self.left, self.add_node)
                with dpg.child_window(width=-column, height=-30, no_scrollbar=True) as self.middle:
                    self.canvas = Canvas(self, self.middle)
                with dpg.child_window(width=-1, height=-30) as self.right:
                    self.preview = Preview(self.right, column - 40)
                    dpg.add_separator()
                    self.inspector = Inspector(self, self.right)
            with dpg.group(horizontal=True) as status_row:
                self.run_text = dpg.add_text("idle", color=(170, 170, 170))
                self.status_text = dpg.add_text("")
                with dpg.tooltip(self.status_text):  # the whole message, where the bar shows it cut short
                    self.status_tip = dpg.add_text("", wrap=700)
            self.problems = ProblemsList(self, status_row, self.status_text)
        self.quick_add = QuickAdd(self.registry, self.add_node)
        with dpg.window(
            no_title_bar=True,
            show=False,
            autosize=True,
            no_focus_on_appearing=True,
            no_saved_settings=True,
            min_size=[40, 20],
        ) as self.refuse_window:
            self.refuse_text = dpg.add_text("", color=(255, 120, 120), wrap=420)
        with dpg.window(popup=True, show=False, autosize=True, no_saved_settings=True) as self.context_window:
            self.context_items: dict[str, int | str] = {}
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=lambda s, key: handle_key(self, key))
            dpg.add_key_release_handler(callback=lambda s, key: key_released(self, key))
            dpg.add_mouse_move_handler(callback=self._touched)
            dpg.add_mouse_wheel_handler(callback=self._touched)
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Right, callback=lambda *_: open_context_menu(self))
            dpg.add_mouse_double_click_handler(button=dpg.mvMouseButton_Left, callback=self._double_click)
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left, callback=lambda *_: self.pointer_pressed())
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left, callback=lambda *_: self.pointer_released())
        dpg.set_primary_window(self.window, True)
        dpg.setup_dearpygui()
        dpg.show_viewport()

    # -- documents ----------------------------------------------------------------
    def _start_document(self, graph_path: str | None) -> None:
        pending = self.recovery.pending()
        if graph_path and Path(graph_path).exists():
            self.open_path(graph_path)
        elif graph_path:
            self.set_graph(Graph(self.registry), graph_path)
            self.status(f"new graph: {graph_path} will be created when you save")
        else:
            self.set_graph(Graph(self.registry), None)
        if pending and not process_alive(int(pending.get("pid", 0) or 0)):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(pending["time"])))
            doc = pending.get("document") or "an unsaved graph"
            self.dialogs.ask(
                f"nodeswap did not close cleanly. Restore the unsaved work on {doc} from {when}?",
                ("Restore", "Discard"),
                self._recovery_choice,
                title="Restore unsaved work",
            )

    def _recovery_choice(self, answer: str) -> None:
        if answer != "Restore":
            self.recovery.clear()
            return
        try:
            graph, issues = self.recovery.load(self.registry)
        except UserError as exc:
            self.status(f"cannot restore: {exc}", error=True)
            return
        document = (self.recovery.pending() or {}).get("document") or None
        self.set_graph(graph, document)
        self.restored = True
        self.update_title()
        self.status("restored the unsaved work: save it to keep it" + (f" ({len(issues)} problems)" if issues else ""))

    def set_graph(self, graph: Graph, path: str | None, arrange: bool = False) -> None:
        """Show a new document (the caller has dealt with unsaved changes)."""
        if self.runner.busy:
            self.runner.stop()
        self.runner.forget()  # no timings or preview of the last document's run on this one
        self.graph = graph
        self.history = History(graph)
        self.path, self.doc_name, self.restored = path, "", False
        self.selected, self.inspected = [], None
        self.canvas.attach(graph, arrange)
        graph.subscribe(partial(self._graph_changed, graph))
        self.inspector.show(graph, None)
        self.update_title()

    @property
    def dirty(self) -> bool:
        return self.history.dirty or self.restored

    def update_title(self) -> None:
        name = self.doc_name or (Path(self.path).name if self.path else "untitled")
        dpg.set_viewport_title(f"nodeswap - {name}{' *' if self.dirty else ''}")

    def rebuild_recent_menu(self) -> None:
        dpg.delete_item(self.menus["recent"], children_only=True)
        items = self.recent.existing()
        for path in items:
            dpg.add_menu_item(
                label=path,
                parent=self.menus["recent"],
                callback=lambda s, a, u: self.open_path(u, True),
                user_data=path,
            )
        if not items:
            dpg.add_menu_item(label="(none)", parent=self.menus["recent"], enabled=False)

    def preset_paths(self) -> list[Path]:
        return presets()

    def _graph_changed(self, graph: Graph, event: GraphEvent) -> None:
        if graph is not self.graph:
            return
        self._changes += 1  # for the autosave
        self.problems.refresh()
        if self.todo_message and self.message == self.todo_message:  # still shown: keep it true
            issues = run_issues(graph, editor=True)
            self.status(todo_text(issues) if issues else ui.ready_text(self._files_in_and_out(sinks=False)))
            self.todo_message = self.message if issues else ""
        match event:
            case ParamSet(node_id, name, value):
                self.inspector.on_param(node_id, name, value)
                if self.runner.busy:
                    self.runner.set_param(node_id, name, value)
            case BypassSet(node_id, bypass):
                self.inspector.on_bypass(node_id, bypass)
                if self.runner.busy:
                    self.runner.set_bypass(node_id, bypass)
            case NodeAdded() | NodeRemoved() | Linked() | Unlinked():
                if self.runner.busy:
                    self._rebuild_due = time.monotonic() + 0.3  # rewire once the edit burst is over
                if isinstance(event, NodeRemoved) and event.node_id == self.inspected:
                    self.inspect(None)
                elif self.inspected and isinstance(event, (Linked, Unlinked)):
                    self.inspect(self.inspected)

    def inspect(self, node_id: str | None) -> None:
        self.inspected = node_id
        self.inspector.show(self.graph, node_id)

    def _slider_released(self) -> None:
        self.history.seal()

    def _browse(self, node_id: str, spec: Any) -> None:
        current = self.graph.param_values(node_id).get(spec.name) or ""
        self.dialogs.choose_file(
            f"{node_id}: {spec.name}",
            lambda path: self.request_param(node_id, spec.name, path),
            extensions=spec.extensions or (".*",),
            start=current,  # else the folder last used for this kind of file
            save=not spec.must_exist,
            kind=spec.name,
        )

    def _resized(self, *_: Any) -> None:
        left, column = ui.side_widths(dpg.get_viewport_client_width())  # the preview grows with the window
        dpg.configure_item(self.left, width=left)
        dpg.configure_item(self.middle, width=-column)
        self.preview.fit(column - 40)
        dpg.configure_item(self.context_window, show=False)  # a menu from before points at nothing now
        ui.fit_status(self)

    def _double_click(self, *_: Any) -> None:
        mouse = dpg.get_mouse_pos(local=False)
        if self.preview.under(mouse):
            self.preview.open_large((dpg.get_viewport_client_width(), dpg.get_viewport_client_height()))
        if self.canvas.hovered() and self.canvas.node_at(mouse) is None and not self.dialogs.active:
            self.quick_add.open(mouse, self.canvas.to_grid(mouse))

    def status(self, text: str, error: bool = False) -> None:
        self.message, self.message_error = text, error
        ui.fit_status(self)
        dpg.configure_item(self.status_text, color=(255, 110, 110) if error else (220, 220, 220))
        (log.warning if error else log.info)("%s", text)

    def refuse(self, text: str) -> None:
        """A refused edit: the reason in the status bar and next to the cursor for a few seconds."""
        self.status(text, error=True)
        x, y = dpg.get_mouse_pos(local=False)
        dpg.set_value(self.refuse_text, text)
        dpg.configure_item(self.refuse_window, show=True, pos=[int(x) + 16, int(y) + 16])
        self._refuse_until = time.monotonic() + 4.0

    def report(self, exc: BaseException) -> None:
        """Any exception from a callback: a status message, never a crash or a traceback."""
        if isinstance(exc, UserError):
            self.status(str(exc), error=True)
        else:
            log.debug("editor callback failed", exc_info=exc)
            self.status(f"internal error: {type(exc).__name__}: {exc}", error=True)

    def request_quit(self) -> None:
        self.guard_unsaved(self._quit_now, "quit")

    def _quit_now(self) -> None:
        self.quitting = True

    # -- render loop ------------------------------------------------------------------
    def _touched(self, *_: Any) -> None:
        self._last_input = time.monotonic()

    def run_loop(self) -> None:
        while dpg.is_dearpygui_running() and not self.quitting:
            began = time.perf_counter()
            jobs = dpg.get_callback_queue() or []
            if jobs or dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
                self._touched()
            for job in jobs:
                run_job(job, self.report)
            try:
                self.tick()
            except Exception as exc:  # keep the window alive whatever happens
                self.report(exc)
            drawn = time.perf_counter()
            dpg.render_dearpygui_frame()
            self._draw_seconds = 0.8 * self._draw_seconds + 0.2 * (time.perf_counter() - drawn)
            in_use = time.monotonic() - self._last_input <= IDLE_AFTER
            spare = frame_interval(self._draw_seconds, in_use, self.runner.busy) - (time.perf_counter() - began)
            if spare > 0 and sleep_unless_touched(spare, self._pointer):
                self._touched()  # the mouse moved while no frame was drawn: draw at full rate again

    def tick(self) -> None:
        now = time.monotonic()
        if not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
            self.commit_moves()
        selected = self.canvas.selected_nodes()
        if selected != self.selected:
            self.selected = selected
            if selected and selected[-1] != self.inspected:
                self.inspect(selected[-1])
        self._drain_runner_events()
        self.model_downloads.tick()
        if self._rebuild_due is not None and now >= self._rebuild_due and self.runner.busy:
            self._rebuild_due = None
            self.runner.rebuild(self.graph.copy())
        self.preview.update(self.graph, self.inspected, self.runner.latest)
        self.frame_tick()
        if now >= self._slow_tick:
            self._slow_tick = now + 0.25
            self._slow_updates(now)
        self.probe.maybe_write(now)

    def _slow_updates(self, now: float) -> None:
        self.canvas.align_outputs()
        stats = self.runner.stats()
        self.canvas.show_stats(stats.get("nodes", {}))
        self.inspector.update(stats, self.canvas.errors, self.canvas.warnings)
        self.inspector.update_seek()
        state = self.runner.state
        dpg.set_value(self.run_text, run_line(state, stats, self._paused.seconds(state, time.monotonic())))
        ui.fit_status(self)  # the run summary's width changes
        dpg.configure_item(self.toolbar["pause"], label="Resume" if self.runner.state == "paused" else "Pause")
        self.update_title()
        if self._refuse_until and now > self._refuse_until:
            self._refuse_until = 0.0
            dpg.configure_item(self.refuse_window, show=False)
        if self.dirty and now - self._last_autosave >= self.autosave_every:
            self._autosave(now)

    def _autosave(self, now: float) -> None:
        self._last_autosave = now
        if self._changes == self._autosaved_version:
            return
        try:
            self.recovery.save(self.graph, self.path)
            self._autosaved_version = self._changes
        except OSError as exc:
            log.warning("autosave failed: %s", exc)

    def _drain_runner_events(self) -> None:
        for _ in range(100):
            try:
                event = self.runner.events.get_nowait()
            except queue.Empty:
                return
            self.canvas.show_notice(shown := notice(event))
            warn = self.run_warning if event == StateChanged("running") else ""  # said once the run runs
            if not (shown.node_warning and self.run_warning):  # a node's warning is on the node: keep the run's
                self.status(warn or shown.text, error=shown.is_error or bool(warn))

    def close(self) -> None:
        self.runner.shutdown()
        self._pointer.close()
        self.recovery.clear()
        dpg.destroy_context()


def main(graph_path: str | None = None) -> int:
    """Open the editor on ``graph_path`` (a missing file becomes a new graph saved there)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError(
            "the editor needs a display (DISPLAY is not set); to run a graph without it: python run.py run GRAPH"
        )
    app = EditorApp(graph_path)
    try:
        app.run_loop()
    finally:
        app.close()
    return 0

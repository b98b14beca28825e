"""What the user can do: edits through the undo history (``self.history``: every edit can be undone), files,
run controls. A mixin of EditorApp (app.py); errors become status-bar messages, never tracebacks."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from .. import graph_io
from ..errors import GraphError, LinkError, UserError
from ..graph import Graph, Link
from ..live_outputs import prepare_live
from ..registry import Registry
from ..validate import run_issues
from . import clipboard
from .canvas import Canvas
from .dialogs import Dialogs
from .files import PRESETS, RecentFiles, Recovery, open_graph
from .history import AddLink, AddNode, Batch, History, Move, RemoveLink, RemoveNodes, SetBypass
from .inspector import Inspector
from .param_edits import param_command
from .runner import Runner

log = logging.getLogger(__name__)
LIVE_INTO_FILE = (
    "running live from a file into a file: frames the graph cannot keep up with are dropped (the video "
    "repeats the one before); Run offline (F5) writes every frame"
)


class Actions:
    """Mixed into EditorApp. What it uses of the app is declared here, typed: its collaborators and the few
    app methods below (EditorApp defines them; these bodies only say what they must do)."""

    registry: Registry
    graph: Graph
    history: History
    path: str | None
    canvas: Canvas
    runner: Runner
    dialogs: Dialogs
    inspector: Inspector
    recent: RecentFiles
    recovery: Recovery
    clip: dict[str, Any] | None
    message = ""  # what the status bar says
    todo_message = ""  # the status bar's list of what to do before running: kept up to date while it shows
    run_warning = ""  # said in the status bar when the run starts
    presses = 0  # signal (button) presses so far: each press sends a new count

    def status(self, text: str, error: bool = False) -> None:
        """Show ``text`` in the status bar (red when ``error``)."""
        raise NotImplementedError

    def refuse(self, text: str) -> None:
        """Say why an edit was refused, near the mouse."""
        raise NotImplementedError

    def set_graph(self, graph: Graph, path: str | None, arrange: bool = False) -> None:
        """Show ``graph`` (read from ``path``) in place of the current one."""
        raise NotImplementedError

    def update_title(self) -> None:
        raise NotImplementedError

    def rebuild_recent_menu(self) -> None:
        raise NotImplementedError

    def inspect(self, node_id: str | None) -> None:
        """Show ``node_id`` (or nothing) in the inspector."""
        raise NotImplementedError

    @property
    def dirty(self) -> bool:
        """Unsaved changes."""
        raise NotImplementedError

    # -- edits --------------------------------------------------------------------
    def add_node(self, type_id: str, pos: Any = None) -> str | None:
        cls = self.graph.registry.get(type_id)
        if cls is None:
            self.status(f"unknown node type '{type_id}'", error=True)
            return None
        pos = self.canvas.free_spot(tuple(pos) if pos is not None else None, type_id)
        command = AddNode(
            type_id,
            self.graph.free_id(cls.category),
            pos=(float(pos[0]), float(pos[1])),
            label=f"add {cls.title or type_id}",
        )
        self.edit(command)
        self.status(f"added '{command.node_id}' ({type_id})")
        return command.node_id

    def edit(self, command: Any, merge_key: Any = None) -> bool:
        """Apply an undoable command; a refusal becomes a status message. True when applied."""
        try:
            self.history.do(command, merge_key=merge_key)
        except UserError as exc:
            self.status(str(exc), error=True)
            return False
        return True

    def request_link(self, link: Link | None) -> None:
        if link is None:
            self.refuse("a link goes from an output pin to an input pin")
            return
        try:
            self.history.do(AddLink(link))
        except LinkError as exc:
            self.refuse(f"link refused: {exc}")
            return
        except UserError as exc:
            self.refuse(str(exc))
            return
        self.status(f"linked {link}")

    def request_unlink(self, links: list[Link]) -> None:
        if links:
            self.edit(Batch([RemoveLink(x) for x in links], "unlink"))

    def request_param(self, node_id: str, name: str, value: Any, reset: bool = False) -> None:
        if node_id not in self.graph.nodes:
            return
        spec = self.graph.node_class(node_id).param_spec(name)
        if spec is None:
            return
        if spec.kind == "signal":  # a button: straight to the running node
            self.presses += 1
            self.runner.set_param(node_id, name, self.presses)
            self.status(f"{node_id}: {name.replace('_', ' ')}" + ("" if self.runner.busy else " (not running)"))
            return
        command = param_command(self.graph, node_id, name, value, reset)  # a model: its remembered params too
        if not self.edit(command, merge_key=None if reset else (node_id, name)):
            kept = self.graph.param_values(node_id)[name]  # refused: the widgets show the value kept
            self.canvas.show_param(node_id, name, kept)
            self.inspector.on_param(node_id, name, kept)

    def request_bypass(self, node_ids: list[str], value: bool | None = None) -> None:
        ids = [n for n in node_ids if n in self.graph.nodes]
        if not ids:
            return
        if value is None:
            value = not all(self.graph.nodes[n].bypass for n in ids)
        self.edit(Batch([SetBypass(n, value) for n in ids], "bypass"))

    def delete_selected(self, node_ids: list[str] | None = None) -> None:
        nodes = node_ids if node_ids is not None else self.canvas.selected_nodes()
        links = [x for x in self.canvas.selected_links() if x.src not in nodes and x.dst not in nodes]
        if not nodes and not links:
            self.status("select nodes or links to delete (click, Ctrl+click, or drag a box)")
            return
        commands: list[Any] = [RemoveLink(x) for x in links]
        if nodes:
            commands.append(RemoveNodes(list(nodes)))
        attached = [x for x in self.graph.links if x.src in nodes or x.dst in nodes]  # they go with the nodes
        if self.edit(Batch(commands, "delete")):
            self.status(f"deleted {_count(len(nodes), 'node')} and {_count(len(links) + len(attached), 'link')}")

    def arrange(self) -> None:
        """Lay all nodes out in columns that fit the view (one undo step)."""
        moves = [
            Move(n, pos, self.graph.layout.get(n))
            for n, pos in self.canvas.layout_for_view().items()
            if self.graph.layout.get(n) != pos
        ]
        if moves and self.edit(Batch(moves, "arrange")):
            self.status(f"arranged {len(moves)} node(s)")

    def commit_moves(self) -> None:
        moves = self.canvas.moved_nodes()
        if moves:
            self.history.do(Batch([Move(n, new, old) for n, new, old in moves], "move"))

    def copy_selected(self, node_ids: list[str] | None = None) -> None:
        ids = node_ids if node_ids is not None else self.canvas.selected_nodes()
        if not ids:
            self.status("select nodes to copy")
            return
        self.clip = clipboard.copy_nodes(self.graph, ids)
        with contextlib.suppress(Exception):  # no system clipboard: the internal one still works
            dpg.set_clipboard_text(clipboard.to_text(self.clip))
        self.status(f"copied {len(ids)} node(s)")

    def paste(self, at: Any = None) -> None:
        clip = self.clip
        with contextlib.suppress(Exception):
            clip = clipboard.from_text(dpg.get_clipboard_text() or "") or clip
        if not clip:
            self.status("nothing to paste")
            return
        command, renamed = clipboard.paste_command(self.graph, clip, origin=at)
        if renamed and self.edit(command):
            self.status(f"pasted {', '.join(renamed.values())}")

    def duplicate_selected(self, node_ids: list[str] | None = None) -> None:
        ids = node_ids if node_ids is not None else self.canvas.selected_nodes()
        if not ids:
            self.status("select nodes to duplicate")
            return
        clip = clipboard.copy_nodes(self.graph, ids)
        xs, ys = zip(*(self.graph.layout.get(n, (0.0, 0.0)) for n in clip["nodes"]), strict=True)
        at = self.canvas.free_spot((min(xs) + 40.0, min(ys) + 40.0))
        command, renamed = clipboard.paste_command(self.graph, clip, origin=at)
        if self.edit(command):
            self.status(f"duplicated as {', '.join(renamed.values())}")

    def undo(self) -> None:
        try:
            command = self.history.undo()
        except UserError as exc:
            self.status(f"cannot undo: {exc}", error=True)
            return
        self.status(f"undid {command.label}" if command else "nothing to undo")

    def redo(self) -> None:
        try:
            command = self.history.redo()
        except UserError as exc:
            self.status(f"cannot redo: {exc}", error=True)
            return
        self.status(f"redid {command.label}" if command else "nothing to redo")

    # -- files ------------------------------------------------------------------
    def guard_unsaved(self, then: Any, doing: str = "continue") -> None:
        """Run ``then()`` now, or after asking to save unsaved changes."""
        if not self.dirty:
            then()
            return
        name = Path(self.path).name if self.path else "this new graph"

        def choice(answer: str) -> None:
            if answer == "Save":
                if self.save():
                    then()
            elif answer == "Discard":
                then()

        self.dialogs.ask(
            f"Save the changes to {name} before you {doing}?",
            ("Save", "Discard", "Cancel"),
            choice,
            title="Unsaved changes",
        )

    def new_graph(self) -> None:
        self.guard_unsaved(self._new_now, "start a new graph")

    def _new_now(self) -> None:
        self.set_graph(Graph(self.registry), None)
        self.todo_message = ""
        self.status("new graph: add nodes from the palette, or open a preset")  # the old graph's message goes

    def open_dialog(self) -> None:
        choose = self.dialogs.choose_file  # from the current graph's folder, else the last, else the presets
        self.guard_unsaved(
            lambda: choose("Open graph", self.open_path, start=self.path or "", fallback=PRESETS), "open"
        )

    def open_path(self, path: str, guard: bool = False) -> None:
        if guard:
            self.guard_unsaved(lambda: self.open_path(path), "open another")
            return
        file = Path(path)
        try:
            graph, issues = open_graph(file, self.registry)
        except GraphError as exc:
            self.dialogs.message("Cannot open", f"{path}:\n" + "\n".join(str(i.message) for i in exc.issues))
            self.status(f"cannot open {path}: {exc.issues[0].message if exc.issues else exc}", error=True)
            return
        is_preset = file.resolve().parent == PRESETS.resolve()
        self.set_graph(graph, None if is_preset else str(file), arrange=is_preset)  # a preset: fit the view
        if is_preset:
            self.doc_name = f"{file.stem} (preset: Save As to keep your changes)"
            self.update_title()
        else:
            self.recent.add(file)
            self.rebuild_recent_menu()
        serious = [i for i in issues if not _work_in_progress(i)]
        if serious:
            text = "\n".join(f"- {i}" for i in issues)
            self.dialogs.message(
                f"Problems in {file.name}",
                f"{file.name} opened with {len(issues)} problem(s); the valid part is shown.\n\n{text}",
            )
            self.status(f"opened {file.name} with {len(issues)} problem(s)", error=True)
        elif issues:  # unlinked inputs, paths to fill in: the nodes show them; the list follows the edits
            self.status(f"opened {file.name}; " + todo_text(issues))
            self.todo_message = self.message
        else:
            self.status(f"opened {file}")

    def save(self) -> bool:
        if not self.path:
            self.save_as()
            return False
        return self.save_to(self.path)

    def save_as(self) -> None:
        self.dialogs.choose_file("Save graph as", self.save_to, start=self.path or "graph.json", save=True)

    def save_to(self, path: str) -> bool:
        self.commit_moves()
        try:
            graph_io.save(self.graph, path)
        except OSError as exc:
            self.status(f"cannot save {path}: {exc.strerror or exc}", error=True)
            self.dialogs.message("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.path, self.doc_name = str(path), ""
        self.history.mark_saved()
        self.restored = False
        self.recovery.clear()  # nothing unsaved left to recover
        self.recent.add(path)
        self.rebuild_recent_menu()
        self.update_title()
        self.status(f"saved {path}")
        return True

    # -- running ----------------------------------------------------------------
    def run(self, live: bool) -> None:
        if self.runner.busy:
            self.status("already running: stop first (Shift+F5)")
            return
        self.commit_moves()
        problems = run_issues(self.graph, editor=True)
        if problems:
            self.status(f"cannot run: {todo_text(problems).removeprefix('to do before running: ')}", error=True)
            self.todo_message = self.message
            node_id = _node_in(problems[0].where)
            if node_id in self.graph.nodes:
                self.inspect(node_id)
            for node_id in self.graph.nodes:
                self.canvas.refresh_node(node_id)
            return
        self.canvas.clear_errors()
        graph = self.graph.copy()
        notes = prepare_live(graph) if live else []  # never over a finished output; files play once
        self.runner.start(graph, live=live)
        self.status(f"starting {'live' if live else 'offline'} run..." + "".join(f"; {n}" for n in notes))
        warning = LIVE_INTO_FILE if live and self._files_in_and_out() else ""
        self.run_warning = "; ".join([warning, *notes]) if warning else ""

    def toggle_pause(self) -> None:
        state = self.runner.state
        if state == "running":
            self.runner.pause()
        elif state == "paused":
            self.runner.resume()
        else:
            self.run(live=not self._files_in_and_out(sinks=False))  # from files: every frame, in order

    def _files_in_and_out(self, sinks: bool = True) -> bool:
        """Every source reads a file (not a camera), and (``sinks``) some sink writes one."""
        kinds = [(self.graph.node_class(n).category, self.graph.nodes[n].type) for n in self.graph.nodes]
        sources = [t for c, t in kinds if c == "source"]
        files_out = any(t in ("sink.video", "sink.images", "sink.facedata") for c, t in kinds)
        return bool(sources) and all(t == "source.media" for t in sources) and (files_out or not sinks)

    def step(self) -> None:
        """One frame; from idle, the run Space would start, paused at its first frame."""
        idle = not self.runner.busy
        if idle:
            self.toggle_pause()  # refused with the reason in the status bar when the graph cannot run
        if not idle or not run_issues(self.graph, editor=True):  # the run queued: its first command steps
            self.runner.step()
            if idle:
                self.status("started paused: F10 steps one frame, Space resumes")

    def stop(self) -> None:
        if self.runner.busy:
            self.runner.stop()
            self.status("stopping...")


def _work_in_progress(issue: Any) -> bool:
    """Issues a graph being built normally has (shown on the nodes, not in a window)."""
    return "required input is not linked" in issue.message or "is empty: set it" in issue.message


def _node_in(where: str) -> str:
    """'node 'x' param 'y'' -> 'x'."""
    if where.startswith("node '"):
        return where.split("'")[1]
    return ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def todo_text(issues: list[Any]) -> str:
    more = f" (+{len(issues) - 1} more: see all with the problems button)" if len(issues) > 1 else ""
    return f"to do before running: {issues[0]}{more}"

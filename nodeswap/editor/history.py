"""Undo/redo as commands on the Graph API (no GUI: testable on its own).

Every edit the editor makes is a command: ``do`` applies it through the Graph
methods (so the graph's listeners, e.g. the canvas, see the change) and
``undo`` reverts it the same way. A failed ``do`` leaves the graph unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..graph import Graph, Link, NodeEntry

Pos = tuple[float, float]


class Command(Protocol):
    label: str

    def do(self, graph: Graph) -> None: ...

    def undo(self, graph: Graph) -> None: ...


def unset_param(graph: Graph, node_id: str, name: str) -> None:
    """Forget a param's value so it follows its default again (listeners get a 'param' event)."""
    graph.unset_param(node_id, name)


def _restore_order(graph: Graph, order: list[Link]) -> None:
    """Put the links back in their earlier order (undo gives the same file, byte for byte)."""
    rank = {link: i for i, link in enumerate(order)}
    graph.links.sort(key=lambda link: rank.get(link, len(rank)))


@dataclass
class AddNode:
    type_id: str
    node_id: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: Pos | None = None
    title: str = ""
    bypass: bool = False
    label: str = "add node"
    remembered: dict[str, dict[str, Any]] = field(default_factory=dict)  # params kept per model (NodeEntry)

    def do(self, graph: Graph) -> None:
        self.node_id = graph.add_node(
            self.type_id, self.node_id, dict(self.params), self.pos, self.title, self.bypass, None, self.remembered
        )

    def undo(self, graph: Graph) -> None:
        graph.remove_node(self.node_id)


@dataclass
class RemoveNodes:
    node_ids: list[str]
    label: str = "delete"
    _entries: dict[str, NodeEntry] = field(default_factory=dict)
    _layout: dict[str, Pos] = field(default_factory=dict)
    _links: list[Link] = field(default_factory=list)
    _order: list[Link] = field(default_factory=list)

    def do(self, graph: Graph) -> None:
        ids = [n for n in self.node_ids if n in graph.nodes]
        self._order = list(graph.links)
        self._entries = {n: graph.nodes[n] for n in ids}
        self._layout = {n: graph.layout[n] for n in ids if n in graph.layout}
        self._links = [link for link in graph.links if link.src in ids or link.dst in ids]
        for node_id in ids:
            graph.remove_node(node_id)

    def undo(self, graph: Graph) -> None:
        for node_id, e in self._entries.items():
            graph.add_node(
                e.type, node_id, dict(e.params), self._layout.get(node_id), e.title, e.bypass, e.kept, e.remembered
            )
            if e.collapsed:
                graph.set_collapsed(node_id, True)
        for link in self._links:
            graph.link(link.src, link.src_port, link.dst, link.dst_port)
        _restore_order(graph, self._order)


@dataclass
class AddLink:
    link: Link
    label: str = "link"
    _replaced: list[Link] = field(default_factory=list)
    _order: list[Link] = field(default_factory=list)

    def do(self, graph: Graph) -> None:
        graph.check_link(self.link)  # raises LinkError before anything changes
        self._order = list(graph.links)
        new = self.link
        self._replaced = [x for x in graph.links if x.dst == new.dst and x.dst_port == new.dst_port and x != new]
        graph.link(new.src, new.src_port, new.dst, new.dst_port)

    def undo(self, graph: Graph) -> None:
        graph.unlink(self.link)
        for old in self._replaced:
            graph.link(old.src, old.src_port, old.dst, old.dst_port)
        _restore_order(graph, self._order)


@dataclass
class RemoveLink:
    link: Link
    label: str = "unlink"
    _order: list[Link] = field(default_factory=list)

    def do(self, graph: Graph) -> None:
        self._order = list(graph.links)
        graph.unlink(self.link)

    def undo(self, graph: Graph) -> None:
        graph.link(self.link.src, self.link.src_port, self.link.dst, self.link.dst_port)
        _restore_order(graph, self._order)


_UNSET = object()


@dataclass
class SetParam:
    node_id: str
    name: str
    value: Any
    old: Any = _UNSET  # _UNSET: the param was not set (it followed its default)
    label: str = "set param"
    reset: bool = False  # True: forget the value (back to the default) instead of setting it

    def do(self, graph: Graph) -> None:
        params = graph.nodes[self.node_id].params
        self.old = params.get(self.name, _UNSET)
        if self.reset:
            unset_param(graph, self.node_id, self.name)
        else:
            self.value = graph.set_param(self.node_id, self.name, self.value)

    def undo(self, graph: Graph) -> None:
        if self.old is _UNSET:
            unset_param(graph, self.node_id, self.name)
        else:
            graph.set_param(self.node_id, self.name, self.old)


@dataclass
class SetBypass:
    node_id: str
    bypass: bool
    label: str = "bypass"
    _old: bool = False

    def do(self, graph: Graph) -> None:
        self._old = graph.nodes[self.node_id].bypass
        graph.set_bypass(self.node_id, self.bypass)

    def undo(self, graph: Graph) -> None:
        graph.set_bypass(self.node_id, self._old)


@dataclass
class SetCollapsed:
    node_id: str
    collapsed: bool
    label: str = "collapse"
    _old: bool = False

    def do(self, graph: Graph) -> None:
        self._old = graph.nodes[self.node_id].collapsed
        graph.set_collapsed(self.node_id, self.collapsed)

    def undo(self, graph: Graph) -> None:
        graph.set_collapsed(self.node_id, self._old)


@dataclass
class Move:
    node_id: str
    pos: Pos
    old: Pos | None = None
    label: str = "move"

    def do(self, graph: Graph) -> None:
        graph.move(self.node_id, *self.pos)

    def undo(self, graph: Graph) -> None:
        if self.old is None:
            graph.layout.pop(self.node_id, None)
        else:
            graph.move(self.node_id, *self.old)


@dataclass
class Batch:
    """Several commands as one undo step (delete a selection, paste, move a selection)."""

    commands: list[Any]
    label: str = "edit"

    def do(self, graph: Graph) -> None:
        done: list[Any] = []
        try:
            for command in self.commands:
                command.do(graph)
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo(graph)
            raise

    def undo(self, graph: Graph) -> None:
        for command in reversed(self.commands):
            command.undo(graph)


class History:
    """The undo and redo stacks of one graph, with a saved-state marker.

    ``do(command, merge_key=...)``: consecutive commands with the same merge key
    (a slider being dragged) become one step until ``seal()`` is called or
    ``merge_window`` seconds pass between them.
    """

    def __init__(self, graph: Graph, limit: int = 500, merge_window: float = 5.0) -> None:
        self.graph = graph
        self.limit = limit
        self.merge_window = merge_window
        self._undo: list[Any] = []
        self._redo: list[Any] = []
        self._merge_key: Any = None
        self._merge_time = 0.0
        self._saved: Any = None  # the command on top of the undo stack when saved (None: empty stack)
        self._saved_valid = True

    def do(self, command: Any, merge_key: Any = None) -> Any:
        """Apply ``command`` and record it; exceptions propagate with the graph unchanged."""
        now = time.monotonic()
        top = self._undo[-1] if self._undo else None
        mergeable = (
            merge_key is not None
            and merge_key == self._merge_key
            and now - self._merge_time <= self.merge_window
            and isinstance(top, SetParam)
            and isinstance(command, SetParam)
        )
        command.do(self.graph)
        self._redo.clear()
        if mergeable:
            assert isinstance(top, SetParam)
            top.value = command.value
            top.reset = command.reset
            if top is self._saved:
                self._saved_valid = False
            # a drag that ends where it started is no step at all
            if not top.reset and top.old is not _UNSET and top.old == top.value:
                self._undo.pop()
                self._merge_key = None
        else:
            self._undo.append(command)
            if len(self._undo) > self.limit:
                dropped = self._undo.pop(0)
                if dropped is self._saved:
                    self._saved_valid = False
            self._merge_key = merge_key
        self._merge_time = now
        return command

    def seal(self) -> None:
        """End the current merge: the next command is a new step."""
        self._merge_key = None

    def undo(self) -> Any | None:
        self.seal()
        if not self._undo:
            return None
        command = self._undo.pop()
        command.undo(self.graph)
        self._redo.append(command)
        return command

    def redo(self) -> Any | None:
        self.seal()
        if not self._redo:
            return None
        command = self._redo.pop()
        command.do(self.graph)
        self._undo.append(command)
        return command

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    def mark_saved(self) -> None:
        self.seal()
        self._saved = self._undo[-1] if self._undo else None
        self._saved_valid = True

    @property
    def dirty(self) -> bool:
        top = self._undo[-1] if self._undo else None
        return not self._saved_valid or top is not self._saved

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._merge_key = None
        self._saved, self._saved_valid = None, True

"""The graph model: nodes with params, typed links, layout. No execution, no GUI.

The editor and the CLI both edit graphs only through this class; listeners
are told after every change.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .errors import LinkError, ParamError, UserError
from .events import (
    BypassSet,
    CollapsedSet,
    GraphEvent,
    Linked,
    Moved,
    NodeAdded,
    NodeRemoved,
    ParamSet,
    RememberedSet,
    TitleSet,
    Unlinked,
)
from .node import Node
from .registry import Registry, default_registry

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class Link:
    """An edge from ``src.src_port`` (an output) to ``dst.dst_port`` (an input)."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    @classmethod
    def parse(cls, src: str, dst: str) -> Link:
        a, _, b = src.partition(".")
        c, _, d = dst.partition(".")
        return cls(a, b, c, d)

    def to_json(self) -> dict[str, str]:
        return {"from": f"{self.src}.{self.src_port}", "to": f"{self.dst}.{self.dst_port}"}

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass
class NodeEntry:
    """A node in a graph: its type, the params set (non-default or given), title, bypass, and ``kept``: values
    from its file that the node cannot take (an unknown param, an invalid value, every param of a missing
    node type), saved back as they were until that param is set."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    bypass: bool = False
    kept: dict[str, Any] = field(default_factory=dict)
    collapsed: bool = False  # drawn as its title and pins only
    # value of the node type's ``remember_per`` param (a DFM model) -> the ``remember_params`` set while it
    # was chosen (those at their default are left out); the current value's are in ``params``
    remembered: dict[str, dict[str, Any]] = field(default_factory=dict)


class Graph:
    """Nodes by id, links, and editor layout."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or default_registry()
        self.nodes: dict[str, NodeEntry] = {}
        self.links: list[Link] = []
        self.layout: dict[str, tuple[float, float]] = {}
        self.placeholders: dict[str, type[Node]] = {}  # type id -> stand-in, for types no plugin provides
        self._listeners: list[Callable[[GraphEvent], None]] = []

    # -- events ---------------------------------------------------------------
    def subscribe(self, listener: Callable[[GraphEvent], None]) -> None:
        """``listener(event)`` after each change, with one of nodeswap.events' graph events."""
        self._listeners.append(listener)

    def _emit(self, event: GraphEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    # -- queries --------------------------------------------------------------
    def node_class(self, node_id: str) -> type[Node]:
        entry = self.nodes.get(node_id)
        if entry is None:
            raise UserError(f"no node '{node_id}'")
        cls = self.registry.get(entry.type) or self.placeholders.get(entry.type)
        if cls is None:
            raise UserError(f"node '{node_id}': unknown node type '{entry.type}'")
        return cls

    def param_values(self, node_id: str) -> dict[str, Any]:
        """Every param of the node: defaults overlaid with the values set."""
        return self.node_class(node_id).resolve_params(self.nodes[node_id].params)

    def links_into(self, node_id: str) -> list[Link]:
        return [link for link in self.links if link.dst == node_id]

    def links_from(self, node_id: str) -> list[Link]:
        return [link for link in self.links if link.src == node_id]

    def to_networkx(self) -> nx.MultiDiGraph[str]:
        g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        for link in self.links:
            g.add_edge(link.src, link.dst, link=link)
        return g

    def free_id(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_\-]", "_", base) or "node"
        if base[0].isdigit():
            base = "n" + base
        if base not in self.nodes:
            return base
        n = 2
        while f"{base}{n}" in self.nodes:
            n += 1
        return f"{base}{n}"

    # -- edits ----------------------------------------------------------------
    def add_node(
        self,
        type_id: str,
        node_id: str = "",
        params: dict[str, Any] | None = None,
        pos: tuple[float, float] | None = None,
        title: str = "",
        bypass: bool = False,
        kept: dict[str, Any] | None = None,
        remembered: dict[str, dict[str, Any]] | None = None,
    ) -> str:
        cls = self.registry.get(type_id) or self.placeholders.get(type_id)
        if cls is None:
            raise UserError(f"unknown node type '{type_id}'")
        node_id = node_id or self.free_id(cls.category)
        if not ID_PATTERN.match(node_id):
            raise UserError(f"node id '{node_id}' must start with a letter and use letters, digits, _ or -")
        if node_id in self.nodes:
            raise UserError(f"node id '{node_id}' is already used")
        cls.resolve_params(params or {})  # raises ParamError naming the param
        self.nodes[node_id] = NodeEntry(cls.type_id, dict(params or {}), title, bypass, dict(kept or {}))
        self.nodes[node_id].remembered = copy.deepcopy(remembered or {})
        if pos is not None:
            self.layout[node_id] = (float(pos[0]), float(pos[1]))
        self._emit(NodeAdded(node_id))
        return node_id

    def remove_node(self, node_id: str) -> list[Link]:
        """Remove the node and its links; returns the links removed."""
        if node_id not in self.nodes:
            raise UserError(f"no node '{node_id}'")
        removed = [link for link in self.links if node_id in (link.src, link.dst)]
        for link in removed:
            self.unlink(link)
        del self.nodes[node_id]
        self.layout.pop(node_id, None)
        self._emit(NodeRemoved(node_id))
        return removed

    def check_link(self, link: Link) -> None:
        """Raise LinkError saying why ``link`` cannot be made (nodeswap.validate.link_problem)."""
        from .validate import link_problem  # validate reads graphs: imported when first needed

        problem = link_problem(self, link)
        if problem:
            raise LinkError(problem)

    def link(self, src: str, src_port: str, dst: str, dst_port: str) -> Link:
        """Link an output to an input, replacing the input's existing link."""
        new = Link(src, src_port, dst, dst_port)
        self.check_link(new)
        for old in [x for x in self.links if x.dst == dst and x.dst_port == dst_port]:
            self.unlink(old)
        self.links.append(new)
        self._emit(Linked(new))
        return new

    def unlink(self, link: Link) -> None:
        if link in self.links:
            self.links.remove(link)
            self._emit(Unlinked(link))

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set a param (checked); returns the stored value."""
        spec = self.node_class(node_id).param_spec(name)
        if spec is None:
            raise ParamError(f"node '{node_id}': no param '{name}'")
        try:
            value = spec.coerce(value)
        except ParamError as exc:
            raise ParamError(f"node '{node_id}' param '{name}': {exc}") from None
        self.nodes[node_id].params[name] = value
        self.nodes[node_id].kept.pop(name, None)  # the user's value replaces the file's invalid one
        self._emit(ParamSet(node_id, name, value))
        return value

    def unset_param(self, node_id: str, name: str) -> Any:
        """Forget a param's value so it follows its default again; returns the default."""
        if self.node_class(node_id).param_spec(name) is None:
            raise ParamError(f"node '{node_id}': no param '{name}'")
        self.nodes[node_id].params.pop(name, None)
        self.nodes[node_id].kept.pop(name, None)
        default = self.param_values(node_id)[name]
        self._emit(ParamSet(node_id, name, default))
        return default

    def set_remembered(self, node_id: str, key: str, values: dict[str, Any] | None) -> None:
        """Remember ``values`` (param -> value) for the value ``key`` of the node's ``remember_per`` param;
        None or {} forgets them."""
        remembered = self.nodes[node_id].remembered
        if values:
            remembered[key] = dict(values)
        else:
            remembered.pop(key, None)
        self._emit(RememberedSet(node_id, key))

    def set_bypass(self, node_id: str, bypass: bool) -> None:
        self.nodes[node_id].bypass = bool(bypass)
        self._emit(BypassSet(node_id, bool(bypass)))

    def set_collapsed(self, node_id: str, collapsed: bool) -> None:
        self.nodes[node_id].collapsed = bool(collapsed)
        self._emit(CollapsedSet(node_id, bool(collapsed)))

    def set_title(self, node_id: str, title: str) -> None:
        self.nodes[node_id].title = title
        self._emit(TitleSet(node_id, title))

    def move(self, node_id: str, x: float, y: float) -> None:
        self.layout[node_id] = (float(x), float(y))
        self._emit(Moved(node_id, x, y))

    def copy(self) -> Graph:
        other = Graph(self.registry)
        other.nodes = copy.deepcopy(self.nodes)
        other.links = list(self.links)
        other.layout = dict(self.layout)
        other.placeholders = dict(self.placeholders)
        return other

"""The only state the canvas keeps: which dearpygui item tag stands for which
node, port, link or param widget (no GUI: testable on its own), and a simple
automatic layout for nodes that have no saved position."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import networkx as nx

from ..graph import Graph, Link
from ..params import Param

Tag = int | str

IN, OUT = "in", "out"


@dataclass(frozen=True)
class PortRef:
    node_id: str
    direction: str  # IN or OUT
    port: str


@dataclass
class NodeTags:
    """The items of one drawn node."""

    node: Tag
    ports: dict[tuple[str, str], Tag] = field(default_factory=dict)  # (direction, port) -> attribute tag
    params: dict[str, list[Tag]] = field(default_factory=dict)  # param -> widget tags (value holders)
    extra: dict[str, Tag] = field(default_factory=dict)  # badge, error text, ...


class TagMap:
    """Two-way map between dearpygui tags and graph things."""

    def __init__(self, new_tag: Callable[[], Tag] | None = None) -> None:
        counter = count(1_000_000)
        self.new_tag: Callable[[], Tag] = new_tag or (lambda: next(counter))
        self.nodes: dict[str, NodeTags] = {}
        self.links: dict[Link, Tag] = {}
        self._owner: dict[Tag, Any] = {}  # tag -> node id (str), PortRef, or Link

    # -- registering ------------------------------------------------------------
    def add_node(self, node_id: str) -> NodeTags:
        tags = NodeTags(self.new_tag())
        self.nodes[node_id] = tags
        self._owner[tags.node] = node_id
        return tags

    def add_port(self, node_id: str, direction: str, port: str) -> Tag:
        tag = self.new_tag()
        self.nodes[node_id].ports[(direction, port)] = tag
        self._owner[tag] = PortRef(node_id, direction, port)
        return tag

    def add_param_widget(self, node_id: str, name: str, tag: Tag) -> None:
        self.nodes[node_id].params.setdefault(name, []).append(tag)

    def add_link(self, link: Link) -> Tag:
        tag = self.new_tag()
        self.links[link] = tag
        self._owner[tag] = link
        return tag

    def remove_node(self, node_id: str) -> Tag | None:
        """Forget a node and its ports; returns the node's tag (the caller deletes the item)."""
        tags = self.nodes.pop(node_id, None)
        if tags is None:
            return None
        for tag in (tags.node, *tags.ports.values()):
            self._owner.pop(tag, None)
        return tags.node

    def remove_link(self, link: Link) -> Tag | None:
        tag = self.links.pop(link, None)
        if tag is not None:
            self._owner.pop(tag, None)
        return tag

    def clear(self) -> None:
        self.nodes.clear()
        self.links.clear()
        self._owner.clear()

    # -- lookups ----------------------------------------------------------------
    def node_of(self, tag: Tag) -> str | None:
        owner = self._owner.get(tag)
        return owner if isinstance(owner, str) else None

    def port_of(self, tag: Tag) -> PortRef | None:
        owner = self._owner.get(tag)
        return owner if isinstance(owner, PortRef) else None

    def link_of(self, tag: Tag) -> Link | None:
        owner = self._owner.get(tag)
        return owner if isinstance(owner, Link) else None

    def node_tag(self, node_id: str) -> Tag | None:
        tags = self.nodes.get(node_id)
        return tags.node if tags else None

    def port_tag(self, node_id: str, direction: str, port: str) -> Tag | None:
        tags = self.nodes.get(node_id)
        return tags.ports.get((direction, port)) if tags else None

    def link_tag(self, link: Link) -> Tag | None:
        return self.links.get(link)

    def param_tags(self, node_id: str, name: str) -> list[Tag]:
        tags = self.nodes.get(node_id)
        return list(tags.params.get(name, [])) if tags else []

    def link_for_pins(self, a: Tag, b: Tag) -> Link | None:
        """The Link a drag between two pin attributes asks for (output first), or None."""
        pa, pb = self.port_of(a), self.port_of(b)
        if pa is None or pb is None:
            return None
        if pa.direction == IN and pb.direction == OUT:
            pa, pb = pb, pa
        if pa.direction != OUT or pb.direction != IN:
            return None
        return Link(pa.node_id, pa.port, pb.node_id, pb.port)

    def ports(self) -> Iterator[tuple[PortRef, Tag]]:
        for node_id, tags in self.nodes.items():
            for (direction, port), tag in tags.ports.items():
                yield PortRef(node_id, direction, port), tag


def key_params(graph: Graph, node_id: str) -> list[Param]:
    """The params a compact node shows: its class's ``key_params``, else its path params."""
    cls = graph.node_class(node_id)
    if cls.key_params:
        return [p for p in cls.params if p.name in cls.key_params]
    return [p for p in cls.params if p.kind == "path"]


def shown_params(graph: Graph, node_id: str, compact: bool = False) -> list[Param]:
    """The params drawn inside the node on the canvas: all, the key ones (compact) or none (collapsed)."""
    if graph.nodes[node_id].collapsed:
        return []
    return key_params(graph, node_id) if compact else list(graph.node_class(node_id).params)


def node_size(graph: Graph, node_id: str, compact: bool = False) -> tuple[float, float]:
    """A drawn node's size estimate (pixels): 7 px a character, one 20 px line per port and param."""
    cls, entry = graph.node_class(node_id), graph.nodes[node_id]
    ports = len(cls.inputs) + len(cls.outputs)
    if entry.collapsed:  # the title, and unlabelled pins
        return max(60.0, 7.0 * len(entry.title or node_id) + 30.0), 40.0 + 12.0 * ports
    params = shown_params(graph, node_id, compact)
    title = len(entry.title or cls.title or cls.type_id) + len(node_id) + 4
    width = max(
        [190.0, 7.0 * title + 16.0]
        + [7.0 * len(p.name) + (40.0 if p.kind == "bool" else 180.0) for p in params]
        + [7.0 * (len(p.name) + 11) + 40.0 for p in (*cls.inputs, *cls.outputs)]
    )
    return width, 70.0 + 20.0 * (ports + len(params))


def auto_layout(
    graph: Graph,
    missing_only: bool = True,
    max_width: float = 900.0,
    x0: float = 30.0,
    y0: float = 30.0,
    gap: float = 40.0,
    compact: bool = False,
    sizes: dict[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """Positions for nodes (those without a saved one when ``missing_only``): one column per depth
    from the sources, left to right; a column that would pass ``max_width`` starts a band below."""
    g = graph.to_networkx()
    depth: dict[str, int] = {}
    order = list(nx.topological_sort(g)) if nx.is_directed_acyclic_graph(g) else list(graph.nodes)
    for node_id in order:
        preds = [depth.get(p, 0) for p in g.predecessors(node_id)]
        depth[node_id] = max(preds) + 1 if preds else 0
    columns: dict[int, list[str]] = {}
    for node_id in order:
        columns.setdefault(depth[node_id], []).append(node_id)
    positions: dict[str, tuple[float, float]] = {}
    x, band_top, band_height = x0, y0, 0.0
    for column in sorted(columns):
        column_sizes = [(sizes or {}).get(n) or node_size(graph, n, compact) for n in columns[column]]
        width = max(w for w, _ in column_sizes)
        if x > x0 and x + width > x0 + max_width:
            x, band_top, band_height = x0, band_top + band_height + gap, 0.0
        y = band_top
        for node_id, (_, height) in zip(columns[column], column_sizes, strict=True):
            if not (missing_only and node_id in graph.layout):
                positions[node_id] = (x, y)
            y += height + gap
        band_height = max(band_height, y - gap - band_top)
        x += width + gap
    return positions


def free_spot(
    graph: Graph,
    near: tuple[float, float],
    sizes: dict[str, tuple[float, float]] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    size: tuple[float, float] = (260.0, 220.0),
    margin: float = 30.0,
) -> tuple[float, float]:
    """The first position right of, then below, ``near`` where a ``size`` box overlaps no node
    (and fits left of ``bounds``' right edge, when given: left, top, right, bottom).

    ``sizes``: drawn node sizes by id (nodes not listed count as ``size``).
    """
    sizes = sizes or {}
    boxes = [(x, y, *sizes.get(n, size)) for n, (x, y) in graph.layout.items() if n in graph.nodes]

    def free(x: float, y: float) -> bool:
        return all(
            x + size[0] + margin <= bx or bx + bw + margin <= x or y + size[1] + margin <= by or by + bh + margin <= y
            for bx, by, bw, bh in boxes
        )

    for row in range(16):
        for col in range(10):
            x, y = near[0] + col * 150.0, near[1] + row * 120.0
            if bounds is not None and col and x + size[0] > bounds[2]:
                break
            if free(x, y):
                return (x, y)
    return near

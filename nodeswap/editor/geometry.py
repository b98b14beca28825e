"""Where things are on the node editor canvas: selection, grid and screen coordinates, node boxes, and where
new or arranged nodes go. A mixin of Canvas (canvas.py), kept apart to keep each file short."""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from ..graph import Graph, Link
from .framing import bezier_distance, spot_in_view
from .tagmap import IN, OUT, PortRef, TagMap, auto_layout, free_spot, node_size
from .themes import LINK_REACH
from .ui import item_rect, viewport_height, viewport_width

NODE_PAD = 8  # imnodes' default node padding, pixels
NEW_NODE = (230.0, 200.0)  # assumed size of a node not drawn yet
FIT_AFTER = 3  # frames for a just-opened graph's nodes to be drawn before it is fitted to the view
MINIMAP_SHARE = 0.2  # imnodes draws the minimap over this share of the canvas, bottom right
Pos = tuple[float, float]


class CanvasGeometry:
    """Mixed into Canvas: what it uses of it."""

    graph: Graph | None
    map: TagMap
    editor: int | str
    parent: int | str
    compact: bool

    def selected_nodes(self) -> list[str]:
        ids = (self.map.node_of(tag_of(t)) for t in dpg.get_selected_nodes(self.editor))
        return [n for n in ids if n is not None]

    def selected_links(self) -> list[Link]:
        links = (self.map.link_of(tag_of(t)) for t in dpg.get_selected_links(self.editor))
        return [x for x in links if x is not None]

    def moved_nodes(self) -> list[tuple[str, tuple[float, float], tuple[float, float] | None]]:
        """Nodes whose drawn position differs from the graph's layout: (id, new, old)."""
        graph = self.graph
        if graph is None:
            return []
        out = []
        for node_id, tags in self.map.nodes.items():
            x, y = dpg.get_item_pos(tags.node)
            old = graph.layout.get(node_id)
            if old is None or abs(old[0] - x) > 0.5 or abs(old[1] - y) > 0.5:
                out.append((node_id, (float(x), float(y)), old))
        return out

    def origin(self) -> tuple[float, float]:
        """Screen position of grid (0, 0) (follows panning)."""
        for tags in self.map.nodes.values():
            state = dpg.get_item_state(tags.node)
            if state.get("visible") and state.get("rect_min") is not None:
                gx, gy = dpg.get_item_pos(tags.node)
                rx, ry = state["rect_min"]
                return (rx - NODE_PAD - gx, ry - NODE_PAD - gy)
        x, y, _, _ = item_rect(self.parent) or (0.0, 0.0, 0.0, 0.0)
        return (x + NODE_PAD, y + NODE_PAD)

    def to_grid(self, screen: tuple[float, float]) -> tuple[float, float]:
        ox, oy = self.origin()
        return (round(screen[0] - ox), round(screen[1] - oy))

    def layout_for_view(self, missing_only: bool = False) -> dict[str, tuple[float, float]]:
        """Automatic positions (columns by depth) starting at the top-left of the visible canvas; the gaps
        between nodes narrow when that keeps the graph within the view's height."""
        graph = self.graph
        assert graph is not None
        x, y, width, height = item_rect(self.parent) or [0.0, 0.0, 0.0, 0.0]
        if width < 300:  # not drawn yet (so not panned either): the viewport less the side panels
            left, top, width, height = 0.0, 0.0, viewport_width() - 680.0, viewport_height() - 140.0
        else:
            left, top = self.to_grid((x, y))
        sizes = self.node_sizes()
        placed: dict[str, tuple[float, float]] = {}
        for gap in (40.0, 20.0):
            placed = auto_layout(
                graph,
                missing_only,
                max_width=max(300.0, width - 40.0),
                x0=left + 20.0,
                y0=top + 20.0,
                gap=gap,
                compact=self.compact,
                sizes=sizes,
            )
            bottom = max(
                (py + (sizes.get(n) or node_size(graph, n, self.compact))[1] for n, (_, py) in placed.items()),
                default=0.0,
            )
            if bottom <= top + height - 20.0:
                break
        return placed

    def view_in_grid(self) -> tuple[float, float, float, float]:
        """The visible canvas as (left, top, width, height) in grid pixels."""
        x, y, w, h = item_rect(self.parent) or (0.0, 0.0, viewport_width() - 680.0, 700.0)
        left, top = self.to_grid((x, y))
        return (left, top, w, h)

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        return {n: (r[2], r[3]) for n in self.map.nodes if (r := self.node_rect(n))}

    def free_spot(self, near: tuple[float, float] | None = None, type_id: str = "") -> Pos:
        """Where a new node (of ``type_id``: its size is estimated) goes: in the visible canvas, clear of the
        other nodes and of the minimap, as near as can be to ``near`` (grid pixels; None: right of the newest
        node, else the view's top-left)."""
        graph = self.graph
        assert graph is not None
        size = NEW_NODE
        if type_id:
            scratch = Graph(graph.registry)
            new = node_size(scratch, scratch.add_node(type_id), self.compact)
            size = (max(new[0], NEW_NODE[0]), new[1])
        view = self.view_in_grid()
        sizes = self.node_sizes()
        boxes = [(x, y, *(sizes.get(n) or node_size(graph, n, self.compact))) for n, (x, y) in graph.layout.items()]
        if near is None:
            newest = next(reversed([n for n in graph.nodes if n in graph.layout]), None)
            if newest is not None:
                x, y = graph.layout[newest]
                near = (x + (sizes.get(newest) or node_size(graph, newest, self.compact))[0] + 40.0, y)
        left, top, width, height = view
        minimap = (
            left + width * (1 - MINIMAP_SHARE) - 20.0,
            top + height * (1 - MINIMAP_SHARE) - 20.0,
            width * MINIMAP_SHARE + 20.0,
            height * MINIMAP_SHARE + 20.0,
        )
        spot = spot_in_view(near, size, boxes, view, [minimap])
        if spot is not None:
            return spot
        # no room in view: right of ``near`` then in rows below the nodes, as small as a new node can be
        bounds = (left + 20.0, top + 20.0, left + width - 20.0, top + height - 20.0)
        start = near or (bounds[0], bounds[1])
        if start[0] + NEW_NODE[0] > bounds[2]:
            start = (bounds[0], max((y + h for _, y, _, h in boxes), default=bounds[1]) + 40.0)
        return free_spot(graph, start, sizes, bounds, NEW_NODE)

    def hovered(self) -> bool:
        """The mouse is over the canvas (dear imgui's hover state of the child window ignores its content)."""
        rect = item_rect(self.parent)
        x, y = dpg.get_mouse_pos(local=False)
        return rect is not None and rect[0] <= x < rect[0] + rect[2] and rect[1] <= y < rect[1] + rect[3]

    def node_rect(self, node_id: str) -> list[float] | None:
        """[x, y, w, h] of the node's box in viewport pixels."""
        tags = self.map.nodes.get(node_id)
        if tags is None:
            return None
        state = dpg.get_item_state(tags.node)
        if not state.get("visible") or state.get("rect_min") is None:
            return None
        (x, y), (w, h) = state["rect_min"], state["rect_size"]
        return [x - NODE_PAD, y - NODE_PAD, w, h]

    def pin_points(self) -> dict[PortRef, tuple[float, float]]:
        """Where each drawn pin is, in viewport pixels (on the node's edge, level with its label)."""
        out = {}
        for ref, _ in self.map.ports():
            rect = self.node_rect(ref.node_id)
            label = self.map.nodes[ref.node_id].extra.get(f"{ref.direction}:{ref.port}")
            label_rect = item_rect(label) if label is not None else None
            if rect is None or label_rect is None:
                continue
            x = rect[0] if ref.direction == IN else rect[0] + rect[2]
            out[ref] = (float(x), float(label_rect[1] + label_rect[3] / 2))
        return out

    def pin_at(self, screen: tuple[float, float], reach: float = 10.0) -> PortRef | None:
        """The pin under ``screen``, if any."""
        for ref, (x, y) in self.pin_points().items():
            if abs(x - screen[0]) <= reach and abs(y - screen[1]) <= reach:
                return ref
        return None

    def link_at(self, screen: tuple[float, float], reach: float = LINK_REACH) -> Link | None:
        """The link whose curve passes within ``reach`` pixels of ``screen``, the nearest one."""
        graph = self.graph
        pins = self.pin_points()
        near: list[tuple[float, Link]] = []
        for link in graph.links if graph is not None else []:
            start, end = pins.get(PortRef(link.src, OUT, link.src_port)), pins.get(PortRef(link.dst, IN, link.dst_port))
            if start is not None and end is not None:
                near.append((bezier_distance(screen, start, end), link))
        best = min(near, key=lambda x: x[0], default=None)
        return best[1] if best is not None and best[0] <= reach else None

    def node_at(self, screen: tuple[float, float]) -> str | None:
        for node_id in self.map.nodes:
            rect = self.node_rect(node_id)
            if rect and rect[0] <= screen[0] <= rect[0] + rect[2] and rect[1] <= screen[1] <= rect[1] + rect[3]:
                return node_id
        return None


def tag_of(value: Any) -> Any:
    """dearpygui hands tags back as ints or alias strings; ours are ints."""
    if isinstance(value, str):
        return dpg.get_alias_id(value) if dpg.does_alias_exist(value) else value
    return value

"""Frame all: where every node goes so that the whole graph is in view (no GUI; dearpygui's node editor
can neither zoom nor pan from code, so framing moves the nodes, and makes them smaller when they do not fit).
"""

from __future__ import annotations

from ..graph import Graph
from .tagmap import auto_layout, node_size

Pos = tuple[float, float]
Size = tuple[float, float]
View = tuple[float, float, float, float]  # left, top, width, height in grid pixels
MARGIN = 20.0
GAP = 30.0


def bounds(positions: dict[str, Pos], sizes: dict[str, Size]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the nodes' boxes."""
    boxes = [(x, y, x + sizes[n][0], y + sizes[n][1]) for n, (x, y) in positions.items()]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def fits(positions: dict[str, Pos], sizes: dict[str, Size], view: View) -> bool:
    left, top, right, bottom = bounds(positions, sizes)
    return right - left <= view[2] - 2 * MARGIN and bottom - top <= view[3] - 2 * MARGIN


def moved_into_view(graph: Graph, sizes: dict[str, Size], view: View) -> dict[str, Pos] | None:
    """The layout as it is, shifted to the view's top-left corner; None when it does not fit."""
    corner = (view[0] + MARGIN, view[1] + MARGIN)
    placed = {n: graph.layout.get(n, corner) for n in graph.nodes}
    if not placed or not fits(placed, sizes, view):
        return None
    left, top, _, _ = bounds(placed, sizes)
    return {n: (x - left + corner[0], y - top + corner[1]) for n, (x, y) in placed.items()}


def arranged_in_view(graph: Graph, sizes: dict[str, Size], view: View, compact: bool) -> dict[str, Pos]:
    """Columns by depth, left to right, wrapping into bands below at the view's width."""
    return auto_layout(
        graph,
        False,
        max_width=view[2] - 2 * MARGIN,
        x0=view[0] + MARGIN,
        y0=view[1] + MARGIN,
        gap=GAP,
        compact=compact,
        sizes=sizes,
    )


def smallest_view(graph: Graph, view: View) -> tuple[bool, list[str]]:
    """The least reduction that lets an arrangement fit: (compact, nodes to collapse), from estimated sizes."""
    sizes = {n: node_size(graph, n, compact=True) for n in graph.nodes}
    if fits(arranged_in_view(graph, sizes, view, True), sizes, view):
        return True, []
    return True, [n for n, e in graph.nodes.items() if not e.collapsed]

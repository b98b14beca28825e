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


Box = tuple[float, float, float, float]  # left, top, width, height in grid pixels
STEP = 20.0  # grid of the places tried for a new node


def _clear(x: float, y: float, size: Size, boxes: list[Box], margin: float) -> bool:
    return all(
        x + size[0] + margin <= bx or bx + bw + margin <= x or y + size[1] + margin <= by or by + bh + margin <= y
        for bx, by, bw, bh in boxes
    )


def spot_in_view(
    near: Pos | None, size: Size, boxes: list[Box], view: View, avoid: list[Box], margin: float = 20.0
) -> Pos | None:
    """Where a new node of ``size`` goes: wholly inside ``view``, clear of the nodes' ``boxes`` and of the
    ``avoid`` areas (the minimap), as close to ``near`` as can be (the view's top-left when None). When the
    view has no room: None."""
    left, top, width, height = view
    right = max(left + MARGIN, left + width - MARGIN - size[0])
    bottom = max(top + MARGIN, top + height - MARGIN - size[1])
    want = near if near is not None else (left + MARGIN, top + MARGIN)
    start = (min(max(want[0], left + MARGIN), right), min(max(want[1], top + MARGIN), bottom))
    blocked = boxes + [(x - margin, y - margin, w, h) for x, y, w, h in avoid]  # no gap needed by an area
    xs = [left + MARGIN + i * STEP for i in range(int((right - left - MARGIN) // STEP) + 1)]
    ys = [top + MARGIN + j * STEP for j in range(int((bottom - top - MARGIN) // STEP) + 1)]
    grid = sorted(((x, y) for x in xs for y in ys), key=lambda p: (p[0] - start[0]) ** 2 + (p[1] - start[1]) ** 2)
    places = [start, *grid]
    return next((p for p in places if _clear(p[0], p[1], size, blocked, margin)), None)


def bezier_distance(point: Pos, start: Pos, end: Pos, samples: int = 48) -> float:
    """Pixels from ``point`` to the curve imnodes draws for a link from ``start`` to ``end`` (a cubic Bezier
    whose handles reach a quarter of the link's length straight out of each pin)."""
    reach = 0.25 * ((end[0] - start[0]) ** 2 + (end[1] - start[1]) ** 2) ** 0.5
    c1, c2 = (start[0] + reach, start[1]), (end[0] - reach, end[1])
    best = float("inf")
    for i in range(samples + 1):
        t = i / samples
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        x = a * start[0] + b * c1[0] + c * c2[0] + d * end[0]
        y = a * start[1] + b * c1[1] + c * c2[1] + d * end[1]
        best = min(best, ((x - point[0]) ** 2 + (y - point[1]) ** 2) ** 0.5)
    return best

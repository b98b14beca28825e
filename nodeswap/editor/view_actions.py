"""What the user does to the view of the graph: compact nodes, collapse nodes, frame all; and a link dropped
on empty canvas, which opens the node search for what can take it.

A mixin of EditorApp (app.py), like actions.Actions. Collapsing and the moves of frame-all are edits (saved
with the graph, undone with Ctrl+Z); compact is a view setting of the editor.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from ..graph import Graph, Link
from ..node import Node
from ..types import can_link
from .canvas import Canvas
from .framing import arranged_in_view, fits, moved_into_view, smallest_view
from .history import Batch, Move, SetCollapsed
from .palette import QuickAdd
from .tagmap import OUT, PortRef, node_size

SETTLE_FRAMES = 3  # frames for the nodes to be drawn at their new size before they are arranged


class ViewActions:
    """Mixed into EditorApp; uses its graph, canvas, menus and edit/status methods."""

    graph: Graph
    canvas: Canvas
    menus: dict[str, Any]
    quick_add: QuickAdd
    _arrange_in: int = 0  # frames left until frame-all arranges the nodes it made smaller
    _pressed: tuple[PortRef | None, tuple[float, float], int] = (None, (0.0, 0.0), 0)  # pin, where, links then
    _dropped: tuple[PortRef, tuple[float, float], int] | None = None  # a drag from a pin ended: check later

    def request_link(self, link: Link | None) -> None:
        raise NotImplementedError

    def edit(self, command: Any, merge_key: Any = None) -> bool:
        raise NotImplementedError

    def status(self, text: str, error: bool = False) -> None:
        raise NotImplementedError

    def set_compact(self, compact: bool) -> None:
        """Nodes show their key params only (all of them are in the inspector)."""
        self.canvas.set_compact(compact)
        if "compact" in self.menus and dpg.does_item_exist(self.menus["compact"]):
            dpg.set_value(self.menus["compact"], compact)
        self.status("compact nodes: key params only (the inspector shows all)" if compact else "full nodes")

    def toggle_compact(self) -> None:
        self.set_compact(not self.canvas.compact)

    def toggle_collapsed(self, node_ids: list[str]) -> None:
        """Collapse the nodes (every node when none is given) to title and pins, or expand them when all are
        collapsed (one undo step)."""
        node_ids = [n for n in node_ids if n in self.graph.nodes] or list(self.graph.nodes)
        if not node_ids:
            return
        collapse = not all(self.graph.nodes[n].collapsed for n in node_ids)
        if self.edit(Batch([SetCollapsed(n, collapse) for n in node_ids], "collapse" if collapse else "expand")):
            self.status(f"{'collapsed' if collapse else 'expanded'} {len(node_ids)} node(s)")

    def frame_all(self) -> None:
        """Bring every node into view: moved as they are when they fit, else arranged as they are; only when
        that does not fit either made compact (and collapsed when
        that is not enough) and, once drawn at their new size, arranged left to right."""
        view = self.canvas.view_in_grid()
        moved = moved_into_view(self.graph, self._sizes(), view)
        if moved is not None:
            self._move(moved, "every node is in view")
            return
        sizes = self._sizes()
        arranged = arranged_in_view(self.graph, sizes, view, self.canvas.compact)
        if fits(arranged, sizes, view):  # each node keeps its view mode where an arrangement is enough
            self._move(arranged, "every node is in view")
            return
        compact, collapse = smallest_view(self.graph, view)
        if compact != self.canvas.compact:
            self.set_compact(compact)
        if collapse:
            self.edit(Batch([SetCollapsed(n, True) for n in collapse], "collapse"))
        self._arrange_in = SETTLE_FRAMES

    def pointer_pressed(self) -> None:
        """Left button down: remember the pin under it (a link may be dragged from it)."""
        mouse = dpg.get_mouse_pos(local=False)
        pin = self.canvas.pin_at(mouse) if self.canvas.hovered() else None
        self._pressed = (pin, (float(mouse[0]), float(mouse[1])), len(self.graph.links))

    def pointer_released(self) -> None:
        pin, start, links = self._pressed
        self._pressed = (None, start, links)
        mouse = dpg.get_mouse_pos(local=False)
        if pin is not None and abs(mouse[0] - start[0]) + abs(mouse[1] - start[1]) > 30:
            self._dropped = (pin, (float(mouse[0]), float(mouse[1])), links)  # did it make a link? next frames

    def _link_dropped(self, pin: PortRef, where: tuple[float, float]) -> None:
        """A link dragged from ``pin`` was dropped on empty canvas: offer the node types that can take it, and
        link the one chosen (as ComfyUI does)."""
        if pin.node_id not in self.graph.nodes or not self.canvas.hovered() or self.canvas.node_at(where):
            return
        cls = self.graph.node_class(pin.node_id)
        port = cls.output_port(pin.port) if pin.direction == OUT else cls.input_port(pin.port)
        if port is None:
            return

        def ends(other: type[Node]) -> list[str]:
            if pin.direction == OUT:
                return [p.name for p in other.inputs if can_link(port.type, p.type)]
            return [p.name for p in other.outputs if can_link(p.type, port.type)]

        def link_to(new_id: str) -> None:
            end = ends(self.graph.node_class(new_id))[0]
            out = pin.direction == OUT
            link = Link(pin.node_id, pin.port, new_id, end) if out else Link(new_id, end, pin.node_id, pin.port)
            self.request_link(link)

        title = f"Add a node for {pin.node_id}.{pin.port}"
        self.quick_add.open(where, self.canvas.to_grid(where), lambda c: bool(ends(c)), link_to, title)

    def frame_tick(self) -> None:
        """Called every frame: the second half of frame-all, and links dropped on the canvas."""
        if self._dropped is not None and not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
            pin, where, links = self._dropped
            self._dropped = None
            if len(self.graph.links) == links:  # no link was made: it was dropped on empty canvas
                self._link_dropped(pin, where)
        if self.canvas.fit_pending > 0:
            self.canvas.fit_pending -= 1
            if self.canvas.fit_pending == 0:
                self._fit_opened()
        if self._arrange_in > 0:
            self._arrange_in -= 1
            if self._arrange_in == 0:
                arranged = arranged_in_view(self.graph, self._sizes(), self.canvas.view_in_grid(), self.canvas.compact)
                self._move(arranged, "every node is in view")

    def _fit_opened(self) -> None:
        """A preset just opened, now drawn at its real size: its own layout shifted into view when that
        fits, else arranged at the nodes' view mode. Not an edit: nothing to undo or save."""
        view, sizes = self.canvas.view_in_grid(), self._sizes()
        placed = moved_into_view(self.graph, sizes, view) or arranged_in_view(
            self.graph, sizes, view, self.canvas.compact
        )
        for node_id, (x, y) in placed.items():
            if self.graph.layout.get(node_id) != (x, y):
                self.graph.move(node_id, x, y)

    def _sizes(self) -> dict[str, tuple[float, float]]:
        """Each node's size as drawn, or estimated where it is not drawn."""
        drawn = self.canvas.node_sizes()
        return {n: drawn.get(n) or node_size(self.graph, n, self.canvas.compact) for n in self.graph.nodes}

    def _move(self, positions: dict[str, tuple[float, float]], done: str) -> None:
        layout = self.graph.layout
        moves = [Move(n, pos, layout.get(n)) for n, pos in positions.items() if layout.get(n) != pos]
        if moves and self.edit(Batch(moves, "frame all")):
            self.status(f"framed {len(self.graph.nodes)} node(s)")
        elif not moves:
            self.status(done)

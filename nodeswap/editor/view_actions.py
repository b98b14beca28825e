"""What the user does to the view of the graph: compact nodes, collapse nodes, frame all.

A mixin of EditorApp (app.py), like actions.Actions. Collapsing and the moves of frame-all are edits (saved
with the graph, undone with Ctrl+Z); compact is a view setting of the editor.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from ..graph import Graph
from .canvas import Canvas
from .framing import arranged_in_view, moved_into_view, smallest_view
from .history import Batch, Move, SetCollapsed
from .tagmap import node_size

SETTLE_FRAMES = 3  # frames for the nodes to be drawn at their new size before they are arranged


class ViewActions:
    """Mixed into EditorApp; uses its graph, canvas, menus and edit/status methods."""

    graph: Graph
    canvas: Canvas
    menus: dict[str, Any]
    _arrange_in: int = 0  # frames left until frame-all arranges the nodes it made smaller

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
        """Bring every node into view: moved as they are when they fit; else made compact (and collapsed when
        that is not enough) and, once drawn at their new size, arranged left to right."""
        view = self.canvas.view_in_grid()
        moved = moved_into_view(self.graph, self._sizes(), view)
        if moved is not None:
            self._move(moved, "every node is in view")
            return
        compact, collapse = smallest_view(self.graph, view)
        if compact != self.canvas.compact:
            self.set_compact(compact)
        if collapse:
            self.edit(Batch([SetCollapsed(n, True) for n in collapse], "collapse"))
        self._arrange_in = SETTLE_FRAMES

    def frame_tick(self) -> None:
        """Called every frame: the second half of frame-all."""
        if self._arrange_in > 0:
            self._arrange_in -= 1
            if self._arrange_in == 0:
                arranged = arranged_in_view(self.graph, self._sizes(), self.canvas.view_in_grid(), self.canvas.compact)
                self._move(arranged, "every node is in view")

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

"""The preview panel: the selected node's last output in a dearpygui dynamic texture (sent to the GPU only
when it changes: a raw texture is sent every frame, which cost an idle software-drawn window 20% more).

Updated at most ``MAX_HZ`` times a second and only when the node produced
something new, so drawing never starves the pipeline.
"""

from __future__ import annotations

import time
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np

from ..graph import Graph
from ..types import FRAME, Frame
from .frames import Placement, compose, to_texture

MAX_HZ = 15.0


def default_node(graph: Graph) -> str | None:
    """What to show with nothing selected: what feeds the first sink's frame input."""
    for node_id in graph.nodes:
        if graph.node_class(node_id).category == "sink":
            for link in graph.links_into(node_id):
                if link.dst_port == "frame":
                    return link.src
    return next(iter(graph.nodes), None)


def input_frame(graph: Graph, node_id: str, latest: Any) -> Frame | None:
    """The frame the node worked on: the last value on its linked FRAME input."""
    cls = graph.node_class(node_id)
    for link in graph.links_into(node_id):
        port = cls.input_port(link.dst_port)
        if port is not None and port.type == FRAME:
            outputs = latest(link.src) or {}
            value = outputs.get(link.src_port)
            if isinstance(value, Frame):
                return value
    return None


class Preview:
    def __init__(self, parent: int | str, width: int = 400, height: int = 300) -> None:
        self.width, self.height = width, height
        self._buffer = np.zeros(width * height * 4, np.float32)
        self._buffer[3::4] = 1.0
        with dpg.texture_registry():
            self.texture = dpg.add_dynamic_texture(width, height, self._buffer)
        self.title = dpg.add_text("Preview", parent=parent)
        self.image = dpg.add_image(self.texture, parent=parent, width=width, height=height)
        self.node_id: str | None = None
        self.placement = Placement()
        self._last: Any = None
        self._last_time = 0.0
        self.updates = 0

    def update(self, graph: Graph, node_id: str | None, latest: Any, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_time < 1.0 / MAX_HZ:
            return
        if node_id is not None and node_id not in graph.nodes:
            node_id = None
        node_id = node_id or default_node(graph)
        outputs = latest(node_id) if node_id else None
        frame = input_frame(graph, node_id, latest) if node_id else None
        if node_id and not graph.node_class(node_id).outputs:  # a sink: the frame it receives
            outputs = None if frame is None else {"frame": frame}
            seen = frame
        else:
            seen = outputs
        if not force and seen is self._last and node_id == self.node_id:
            return
        self._last_time = now
        self._last, self.node_id = seen, node_id
        image, self.placement = compose(outputs, frame, self.width, self.height)
        to_texture(image, self._buffer)
        dpg.set_value(self.texture, self._buffer)
        self.updates += 1
        where = ""
        if self.placement.frame_index >= 0:
            where = f"  frame {self.placement.frame_index}"
        if self.placement.kind == "faces":
            where += f"  {self.placement.faces} face(s), {self.placement.swapped} swapped"
        dpg.set_value(self.title, f"Preview: {node_id or '-'}{where}")

    def rect(self) -> list[float] | None:
        from .ui import item_rect

        return item_rect(self.image)

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


def column_width(viewport_width: float) -> int:
    """Width of the preview and inspector column: 440 px up to a 1600 px window, then half of every pixel
    more (the canvas gets the other half), at most 900."""
    return int(min(440 + max(0.0, viewport_width - 1600) / 2, 900))


class Surface:
    """An image item showing a texture of its own size (recreated when it is resized)."""

    def __init__(self, parent: int | str, width: int, height: int) -> None:
        self.width, self.height, self.texture = width, height, self._texture(width, height)
        self.image = dpg.add_image(self.texture, parent=parent, width=width, height=height)

    def _texture(self, width: int, height: int) -> int | str:
        self.buffer = np.zeros(width * height * 4, np.float32)
        self.buffer[3::4] = 1.0
        with dpg.texture_registry():
            tag: int | str = dpg.add_dynamic_texture(width, height, self.buffer)
        return tag

    def resize(self, width: int, height: int) -> bool:
        if (width, height) == (self.width, self.height):
            return False
        old, self.width, self.height = self.texture, width, height
        self.texture = self._texture(width, height)
        dpg.configure_item(self.image, texture_tag=self.texture, width=width, height=height)
        dpg.delete_item(old)
        return True

    def show(self, image: np.ndarray) -> None:
        to_texture(image, self.buffer)
        dpg.set_value(self.texture, self.buffer)


class Preview:
    def __init__(self, parent: int | str, width: int = 400) -> None:
        self.title = dpg.add_text("Preview", parent=parent)
        self.surface = Surface(parent, width, width * 3 // 4)
        self.image = self.surface.image
        self.large: Surface | None = None  # the full-size window (double-click), once opened
        self.large_window: int | str = 0
        self.node_id: str | None = None
        self.placement = Placement()
        self._last: Any = None
        self._last_time = 0.0
        self.updates = 0

    @property
    def width(self) -> int:
        return self.surface.width

    @property
    def height(self) -> int:
        return self.surface.height

    def fit(self, width: int) -> None:
        """Fill ``width`` pixels of its column, 4:3; redrawn at the next update."""
        if self.surface.resize(max(160, width), max(120, width * 3 // 4)):
            self._last = None

    def under(self, mouse: list[float]) -> bool:
        """The point (viewport pixels) is on the preview."""
        rect = self.rect()
        return rect is not None and rect[0] <= mouse[0] < rect[0] + rect[2] and rect[1] <= mouse[1] < rect[1] + rect[3]

    def open_large(self, viewport: tuple[int, int]) -> None:
        """The previewed output at up to 80% of the window, in a window of its own (double-click)."""
        if self.large_window and dpg.does_item_exist(self.large_window):
            dpg.configure_item(self.large_window, show=True)
        else:
            width, height = int(viewport[0] * 0.8), int(viewport[1] * 0.8) - 40
            with dpg.window(label="Preview", width=width + 16, height=height + 40, pos=(40, 40)) as self.large_window:
                self.large = Surface(self.large_window, width, height)
        self._last = None

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
        self.surface.show(image)
        if self.large is not None and dpg.is_item_shown(self.large_window):
            self.large.show(compose(outputs, frame, self.large.width, self.large.height)[0])
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

"""The node editor view: draws the Graph with dearpygui and follows its change events.

The canvas keeps no graph state of its own, only the TagMap from item tags to
node ids, ports, links and param widgets. Edits the user makes on the canvas
(a link dragged, a node moved) go to the app, which applies them to the Graph
through the undo history; the Graph's events then update the drawing.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

import dearpygui.dearpygui as dpg
import networkx as nx

from ..events import BypassSet, GraphEvent, Linked, Moved, NodeAdded, NodeRemoved, ParamSet, TitleSet, Unlinked
from ..graph import Graph, Link
from ..types import PORT_COLORS
from ..validate import caps_issues, path_problems
from .tagmap import IN, OUT, TagMap, auto_layout, free_spot
from .themes import ERROR_COLOR, WARN_TEXT, Themes
from .ui import item_rect, viewport_width
from .widgets import ParamWidgets

NODE_PAD = 8  # imnodes' default node padding, pixels
WIDGET_WIDTH = 140
NEW_NODE = (230.0, 200.0)  # assumed size of a node not drawn yet
WARNINGS = ("set '", "needs ", "bypassed")  # badges refresh_node sets and clears (not timings or errors)


class CanvasHost(Protocol):
    """What the canvas needs of the app: the param widgets, and where the user's link edits go."""

    widgets: ParamWidgets

    def request_link(self, link: Link | None) -> None: ...

    def request_unlink(self, links: list[Link]) -> None: ...


class Canvas:
    """The node editor item and the drawing of one Graph."""

    def __init__(self, app: CanvasHost, parent: int | str) -> None:
        self.app = app
        self.parent = parent
        self.graph: Graph | None = None
        self.map = TagMap(dpg.generate_uuid)
        self.errors: dict[str, str] = {}  # node id -> last run/load error
        self.editor: int | str = 0
        self._new_editor()
        self.themes = Themes()
        self._aligned: set[str] = set()

    # -- whole graph --------------------------------------------------------------
    def attach(self, graph: Graph, arrange: bool = False) -> None:
        """Draw ``graph`` (replacing what was drawn) and follow its events; ``arrange``: lay every
        node out to fit the view (else only nodes saved without a position)."""
        self.clear()
        self._new_editor()  # dearpygui cannot reset a node editor's panning: a new one starts unpanned
        self.graph = graph
        graph.layout.update(self.layout_for_view(missing_only=not arrange))
        graph.subscribe(partial(self._on_event, graph))
        for node_id in graph.nodes:
            self._add_node(node_id)
        for link in graph.links:
            self._add_link(link)

    def _new_editor(self) -> None:
        if self.editor and dpg.does_item_exist(self.editor):
            dpg.delete_item(self.editor)
        self.editor = dpg.add_node_editor(
            parent=self.parent,
            callback=self._link_dragged,
            delink_callback=self._delinked,
            minimap=True,
            minimap_location=dpg.mvNodeMiniMap_Location_BottomRight,
            width=-1,
            height=-1,
        )

    def clear(self) -> None:
        dpg.clear_selected_nodes(self.editor)
        dpg.clear_selected_links(self.editor)
        for link in list(self.map.links):  # links first: a link whose pins are gone crashes imnodes
            tag = self.map.remove_link(link)
            if tag is not None and dpg.does_item_exist(tag):
                dpg.delete_item(tag)
        for node_id in list(self.map.nodes):
            self._forget_node(node_id)
        self.map.clear()
        self.errors.clear()
        self._aligned.clear()

    def _on_event(self, graph: Graph, event: GraphEvent) -> None:
        if graph is not self.graph:
            return  # a graph that was closed
        match event:
            case NodeAdded(node_id):
                self._add_node(node_id)
            case NodeRemoved(node_id):
                self._forget_node(node_id)
                self.errors.pop(node_id, None)
            case Linked(link):
                self._add_link(link)
                self.refresh_node(link.dst)
            case Unlinked(link):
                tag = self.map.remove_link(link)
                if tag is not None and dpg.does_item_exist(tag):
                    dpg.delete_item(tag)
                self.refresh_node(link.dst)
            case ParamSet(node_id, name, value):
                self.show_param(node_id, name, value)
                for changed in (node_id, *nx.descendants(graph.to_networkx(), node_id)):
                    self.refresh_node(changed)  # a param may change what reaches the nodes after it (caps)
            case BypassSet(node_id) | TitleSet(node_id):
                self.refresh_node(node_id)
            case Moved(node_id, x, y):
                tag = self.map.node_tag(node_id)
                if tag is not None and list(dpg.get_item_pos(tag)) != [x, y]:
                    dpg.set_item_pos(tag, [x, y])

    def show_param(self, node_id: str, name: str, value: Any) -> None:
        """Put ``value`` in the param's widgets (without firing their callbacks)."""
        spec = self.graph.node_class(node_id).param_spec(name) if self.graph else None
        if spec is not None:
            for tag in self.map.param_tags(node_id, name):
                self.app.widgets.set(tag, spec, value)

    # -- nodes ------------------------------------------------------------------
    def _label(self, node_id: str) -> str:
        assert self.graph is not None
        entry = self.graph.nodes[node_id]
        title = entry.title or self.graph.node_class(node_id).title or entry.type
        return f"{title}  ({node_id})"  # bypass shows as the node's dimmed theme and badge: no wider title

    def _add_node(self, node_id: str) -> None:
        graph = self.graph
        assert graph is not None
        cls = graph.node_class(node_id)
        values = graph.param_values(node_id)
        if node_id not in graph.layout:
            graph.layout[node_id] = self.free_spot()
        tags = self.map.add_node(node_id)
        with dpg.node(tag=tags.node, label=self._label(node_id), parent=self.editor, pos=list(graph.layout[node_id])):
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static):
                tags.extra["badge"] = dpg.add_text("", color=(150, 150, 150))
                with dpg.tooltip(tags.extra["badge"]):
                    tags.extra["badge_tip"] = dpg.add_text(
                        cls.__doc__.strip().split("\n")[0] if cls.__doc__ else "", wrap=420
                    )
            for direction, ports in ((IN, cls.inputs), (OUT, cls.outputs)):
                kind = dpg.mvNode_Attr_Input if direction == IN else dpg.mvNode_Attr_Output
                for port in ports:
                    attr = self.map.add_port(node_id, direction, port.name)
                    with dpg.node_attribute(tag=attr, attribute_type=kind, shape=dpg.mvNode_PinShape_CircleFilled):
                        text = port.name + (" (optional)" if port.optional else "")
                        label = dpg.add_text(text, color=PORT_COLORS.get(port.type, (200, 200, 200)))
                        tags.extra[f"{direction}:{port.name}"] = label
                        with dpg.tooltip(label):
                            dpg.add_text(f"{direction}put '{port.name}': {port.type}\n{port.help}".strip(), wrap=360)
                    dpg.bind_item_theme(attr, self.themes.pins.get(port.type, self.themes.pins["any"]))
            if cls.params:
                with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static) as params_attr:
                    for spec in cls.params:
                        tag = self.app.widgets.add(node_id, spec, values[spec.name], WIDGET_WIDTH, params_attr)
                        self.map.add_param_widget(node_id, spec.name, tag)
        self.refresh_node(node_id)

    def _forget_node(self, node_id: str) -> None:
        tags = self.map.nodes.get(node_id)
        if tags is not None:
            self.app.widgets.forget([t for ts in tags.params.values() for t in ts])
        tag = self.map.remove_node(node_id)
        self._aligned.discard(node_id)
        if tag is not None and dpg.does_item_exist(tag):
            dpg.delete_item(tag)

    def refresh_node(self, node_id: str) -> None:
        """Title, colour and warnings of a node after its params, bypass or errors changed."""
        graph, tags = self.graph, self.map.nodes.get(node_id)
        if graph is None or tags is None or node_id not in graph.nodes:
            return
        entry = graph.nodes[node_id]
        dpg.configure_item(tags.node, label=self._label(node_id))
        problems = path_problems(graph, node_id)
        unmet = caps_issues(graph, [node_id])  # links whose values this node cannot use
        for name, widget_tags in tags.params.items():
            for tag in widget_tags:
                dpg.bind_item_theme(tag, self.themes.warn if name in problems else 0)
        if node_id in self.errors or problems or unmet:
            theme = self.themes.error
        elif entry.bypass:
            theme = self.themes.bypass
        else:
            theme = self.themes.category.get(graph.node_class(node_id).category, 0)
        dpg.bind_item_theme(tags.node, theme)
        if problems and node_id not in self.errors:
            name, problem = next(iter(problems.items()))
            self._badge(node_id, f"set '{name}'", WARN_TEXT, f"param '{name}': {problem}")
        elif unmet and node_id not in self.errors:
            needs = unmet[0].message.split(";")[0].split(" needs ", 1)[-1]
            self._badge(node_id, f"needs {needs}", WARN_TEXT, unmet[0].message)
        elif entry.bypass and node_id not in self.errors:
            self._badge(node_id, "bypassed", (150, 150, 150), "bypassed: inputs pass through")
        elif node_id not in self.errors and str(dpg.get_value(tags.extra["badge"])).startswith(
            ("set '", "needs ", "by")
        ):
            self._badge(node_id, "", (150, 150, 150), "")  # the warning is mended, the bypass ended

    def _badge(self, node_id: str, text: str, color: tuple[int, int, int], tip: str) -> None:
        tags = self.map.nodes.get(node_id)
        if tags is None:
            return
        dpg.set_value(tags.extra["badge"], text)
        dpg.configure_item(tags.extra["badge"], color=color)
        dpg.set_value(tags.extra["badge_tip"], tip)

    def show_stats(self, node_stats: dict[str, dict[str, Any]]) -> None:
        """Per-node badges: ms per frame, or the error in red (the message on hover)."""
        graph = self.graph
        if graph is None:
            return
        for node_id in self.map.nodes:
            if node_id not in graph.nodes:
                continue
            stats = node_stats.get(node_id)
            error = self.errors.get(node_id)
            if error:
                count = f" x{stats['errors']}" if stats and stats.get("errors") else ""
                self._badge(node_id, _error_badge(error, count), ERROR_COLOR, error)
            elif path_problems(graph, node_id) or caps_issues(graph, [node_id]):
                self.refresh_node(node_id)
            elif graph.nodes[node_id].bypass:
                self._badge(node_id, "bypassed", (150, 150, 150), "bypassed: inputs pass through")
            elif stats and stats.get("calls"):
                text = f"{stats['ms_mean']:.1f} ms  p95 {stats['ms_p95']:.1f}"
                tip = f"{stats['calls']} frames, {stats['errors']} errors"
                if stats.get("dropped"):  # live: frames replaced on its input by newer ones
                    text, tip = f"{text}  -{stats['dropped']}", f"{tip}, {stats['dropped']} dropped before it"
                self._badge(node_id, text, (120, 220, 120), tip)
            else:
                self._badge(node_id, "", (150, 150, 150), "")

    def set_error(self, node_id: str, message: str | None) -> None:
        if message:
            self.errors[node_id] = message
            self._badge(node_id, _error_badge(message), ERROR_COLOR, message)
        else:
            self.errors.pop(node_id, None)
        self.refresh_node(node_id)

    def clear_errors(self) -> None:
        for node_id in list(self.errors):
            self.set_error(node_id, None)

    def align_outputs(self) -> None:
        """Right-align output labels once a node has been drawn (the pins sit on the right edge)."""
        for node_id, tags in self.map.nodes.items():
            if node_id in self._aligned:
                continue
            width = dpg.get_item_rect_size(tags.node)[0]
            if width <= 0:
                continue
            self._aligned.add(node_id)
            for key, label in tags.extra.items():
                if key.startswith(f"{OUT}:"):
                    text_w = dpg.get_item_rect_size(label)[0]
                    dpg.configure_item(label, indent=max(0, int(width - 2 * NODE_PAD - text_w)))

    # -- links ------------------------------------------------------------------
    def _add_link(self, link: Link) -> None:
        graph = self.graph
        assert graph is not None
        a = self.map.port_tag(link.src, OUT, link.src_port)
        b = self.map.port_tag(link.dst, IN, link.dst_port)
        if a is None or b is None:
            return
        tag = self.map.add_link(link)
        dpg.add_node_link(a, b, parent=self.editor, tag=tag)
        port = graph.node_class(link.src).output_port(link.src_port)
        dpg.bind_item_theme(tag, self.themes.links.get(port.type if port else "any", 0))

    def _link_dragged(self, sender: Any, app_data: Any, user_data: Any = None) -> None:
        a, b = app_data
        link = self.map.link_for_pins(_tag(a), _tag(b))
        self.app.request_link(link)

    def _delinked(self, sender: Any, app_data: Any, user_data: Any = None) -> None:
        link = self.map.link_of(_tag(app_data))
        if link is not None:
            self.app.request_unlink([link])

    # -- selection and geometry -------------------------------------------------
    def selected_nodes(self) -> list[str]:
        ids = (self.map.node_of(_tag(t)) for t in dpg.get_selected_nodes(self.editor))
        return [n for n in ids if n is not None]

    def selected_links(self) -> list[Link]:
        links = (self.map.link_of(_tag(t)) for t in dpg.get_selected_links(self.editor))
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
        """Automatic positions (columns by depth) starting at the top-left of the visible canvas."""
        assert self.graph is not None
        x, y, width, _ = item_rect(self.parent) or [0.0, 0.0, 0.0, 0.0]
        if width < 300:  # not drawn yet (so not panned either): the viewport less the side panels
            left, top, width = 0.0, 0.0, viewport_width() - 680.0
        else:
            left, top = self.to_grid((x, y))
        return auto_layout(self.graph, missing_only, max_width=max(300.0, width - 40.0), x0=left + 20.0, y0=top + 20.0)

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        return {n: (r[2], r[3]) for n in self.map.nodes if (r := self.node_rect(n))}

    def free_spot(self, near: tuple[float, float] | None = None) -> tuple[float, float]:
        """Where a new node goes: ``near``, else right of the newest node (or below the others when
        the row is full), in view and never on top of another node."""
        graph = self.graph
        assert graph is not None
        x0, y0, w, h = item_rect(self.parent) or (0.0, 0.0, 800.0, 600.0)
        left, top = self.to_grid((x0, y0))
        bounds = (left + 20.0, top + 20.0, left + w - 20.0, top + h - 20.0)
        if near is None:
            newest = next(reversed([n for n in graph.nodes if n in graph.layout]), None)
            rect = self.node_rect(newest) if newest else None
            near = (bounds[0], bounds[1])
            if newest and rect:
                x, y = graph.layout[newest]
                near = (x + rect[2] + 40.0, y)
                if near[0] + NEW_NODE[0] > bounds[2]:
                    sizes = self.node_sizes()
                    bottom = max(py + sizes.get(n, (0, 220))[1] for n, (_, py) in graph.layout.items())
                    near = (bounds[0], bottom + 40.0)
        return free_spot(graph, near, self.node_sizes(), bounds, NEW_NODE)

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

    def node_at(self, screen: tuple[float, float]) -> str | None:
        for node_id in self.map.nodes:
            rect = self.node_rect(node_id)
            if rect and rect[0] <= screen[0] <= rect[0] + rect[2] and rect[1] <= screen[1] <= rect[1] + rect[3]:
                return node_id
        return None


def _error_badge(message: str, count: str = "") -> str:
    """Short badge text for an error (the full message shows on hover)."""
    return "model missing (hover)" if "models fetch" in message else f"error{count} (hover)"


def _tag(value: Any) -> Any:
    """dearpygui hands tags back as ints or alias strings; ours are ints."""
    if isinstance(value, str):
        return dpg.get_alias_id(value) if dpg.does_alias_exist(value) else value
    return value

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

from ..events import (
    BypassSet,
    CollapsedSet,
    GraphEvent,
    Linked,
    Moved,
    NodeAdded,
    NodeRemoved,
    ParamSet,
    TitleSet,
    Unlinked,
)
from ..graph import Graph, Link
from ..placeholder import is_placeholder, missing_reason
from ..validate import caps_issues, kept_problems, model_issues, node_problems, path_problems
from .geometry import FIT_AFTER, NODE_PAD, CanvasGeometry, tag_of
from .node_view import apply_view, draw_node
from .status import Notice
from .tagmap import IN, OUT, TagMap
from .themes import ERROR_COLOR, WARN_TEXT, Themes
from .widgets import ParamWidgets


class CanvasHost(Protocol):
    """What the canvas needs of the app: the param widgets, and where the user's link edits go."""

    widgets: ParamWidgets

    def request_link(self, link: Link | None) -> None: ...

    def request_unlink(self, links: list[Link]) -> None: ...


class Canvas(CanvasGeometry):
    """The node editor item and the drawing of one Graph."""

    def __init__(self, app: CanvasHost, parent: int | str) -> None:
        self.app = app
        self.parent = parent
        self.graph: Graph | None = None
        self.map = TagMap(dpg.generate_uuid)
        self.errors: dict[str, str] = {}  # node id -> last run/load error
        self.warnings: dict[str, str] = {}  # node id -> the last warning it gave while running
        self.editor: int | str = 0
        self._new_editor()
        self.themes = Themes()
        dpg.bind_item_theme(self.editor, self.themes.editor)  # links hit within LINK_REACH px
        self.compact = False  # nodes show their key params only
        self.fit_pending = 0  # frames until a just-opened preset is fitted to the view (0: none)
        self._aligned: set[str] = set()
        self._resized_at: dict[str, int] = {}  # node id -> frame its rows changed (its size is known after)

    # -- whole graph --------------------------------------------------------------
    def attach(self, graph: Graph, arrange: bool = False) -> None:
        """Draw ``graph`` (replacing what was drawn) and follow its events; ``arrange``: lay every
        node out to fit the view (else only nodes saved without a position)."""
        self.clear()
        self._new_editor()  # dearpygui cannot reset a node editor's panning: a new one starts unpanned
        self.graph = graph
        graph.layout.update(self.layout_for_view(missing_only=True))
        self.fit_pending = FIT_AFTER if arrange else 0  # fitted to the view once drawn (view_actions)
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
        if hasattr(self, "themes"):
            dpg.bind_item_theme(self.editor, self.themes.editor)

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
        self.warnings.clear()
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
            case CollapsedSet(node_id):
                apply_view(self, node_id)
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
    def label(self, node_id: str) -> str:
        """'Title  (id)'; a collapsed node: its title if it has its own, else its id."""
        assert self.graph is not None
        entry = self.graph.nodes[node_id]
        if entry.collapsed:
            return entry.title or node_id
        title = entry.title or self.graph.node_class(node_id).title or entry.type
        return f"{title}  ({node_id})"  # bypass shows as the node's dimmed theme and badge: no wider title

    def _add_node(self, node_id: str) -> None:
        assert self.graph is not None
        if node_id not in self.graph.layout:
            self.graph.layout[node_id] = self.free_spot()
        draw_node(self, node_id)
        self.refresh_node(node_id)

    def set_compact(self, compact: bool) -> None:
        """Compact: every node shows its key params only (the inspector shows them all)."""
        self.compact = compact
        for node_id in self.map.nodes:
            apply_view(self, node_id)

    def forget_alignment(self, node_id: str) -> None:
        """Its width changed: unindent its outputs, to right-align them again once it is drawn."""
        self._aligned.discard(node_id)
        self._resized_at[node_id] = dpg.get_frame_count()
        tags = self.map.nodes.get(node_id)
        for key, label in tags.extra.items() if tags else ():
            if key.startswith(f"{OUT}:"):
                dpg.configure_item(label, indent=-1)

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
        dpg.configure_item(tags.node, label=self.label(node_id))
        problems = {**kept_problems(graph, node_id), **path_problems(graph, node_id)}
        unmet = caps_issues(graph, [node_id])  # links whose values this node cannot use
        missing = is_placeholder(graph.node_class(node_id))
        models = model_issues(graph, [node_id], editor=True) if not missing else []
        every = "\n".join(node_problems(graph, node_id))  # the tip names every problem, not only the first
        for name, widget_tags in tags.params.items():
            for tag in widget_tags:
                dpg.bind_item_theme(tag, self.themes.warn if name in problems else 0)
        if node_id in self.errors or problems or unmet or missing or models:
            theme = self.themes.error
        elif entry.bypass:
            theme = self.themes.bypass
        else:
            theme = self.themes.category.get(graph.node_class(node_id).category, 0)
        dpg.bind_item_theme(tags.node, theme)
        if missing and node_id not in self.errors:
            self._badge(node_id, "missing type (hover)", ERROR_COLOR, missing_reason(entry.type))
        elif problems and node_id not in self.errors:
            self._badge(node_id, f"set '{next(iter(problems))}'", WARN_TEXT, every)
        elif unmet and node_id not in self.errors:
            needs = unmet[0].message.split(";")[0].split(" needs ", 1)[-1]
            self._badge(node_id, f"needs {needs}", WARN_TEXT, every)
        elif models and node_id not in self.errors:
            count = f"{len(models)} models" if len(models) > 1 else f"model {models[0].where.split(chr(39))[3]}"
            self._badge(node_id, f"missing {count} (hover)", WARN_TEXT, every)
        elif entry.bypass and node_id not in self.errors:
            self._badge(node_id, "bypassed", (150, 150, 150), "bypassed: inputs pass through")
        elif node_id not in self.errors and str(dpg.get_value(tags.extra["badge"])).startswith(
            ("set '", "needs ", "by", "missing")  # "missing type", "missing model"
        ):
            self._badge(node_id, "", (150, 150, 150), "")  # the warning is mended, the bypass ended

    def _warned(self, node_id: str) -> bool:
        """The node has a warning of its own to show (a missing type, a param to set, an unmet link)."""
        assert self.graph is not None
        graph = self.graph
        return bool(
            is_placeholder(graph.node_class(node_id))
            or kept_problems(graph, node_id)
            or path_problems(graph, node_id)
            or caps_issues(graph, [node_id])
            or model_issues(graph, [node_id])
        )

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
            elif self._warned(node_id):
                self.refresh_node(node_id)
            elif graph.nodes[node_id].bypass:
                self._badge(node_id, "bypassed", (150, 150, 150), "bypassed: inputs pass through")
            elif node_id in self.warnings:
                self._badge(node_id, "warning (hover)", WARN_TEXT, self.warnings[node_id])
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

    def show_notice(self, notice: Notice) -> None:
        """A run event's mark on its node: a warning, or an error set or cleared."""
        if self.graph is None or notice.node_id not in self.graph.nodes:
            return
        if notice.node_warning:
            self.set_warning(notice.node_id, notice.node_warning)
        else:
            self.set_error(notice.node_id, notice.node_error)

    def set_warning(self, node_id: str, message: str) -> None:
        self.warnings[node_id] = message
        if node_id not in self.errors and not self._warned(node_id):
            self._badge(node_id, "warning (hover)", WARN_TEXT, message)

    def clear_errors(self) -> None:
        """Forget the last run's errors and warnings (a new run starts)."""
        self.warnings.clear()
        for node_id in list(self.errors):
            self.set_error(node_id, None)

    def align_outputs(self) -> None:
        """Right-align output labels once a node has been drawn (the pins sit on the right edge)."""
        for node_id, tags in self.map.nodes.items():
            if node_id in self._aligned or dpg.get_frame_count() - self._resized_at.get(node_id, -9) < 2:
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
        link = self.map.link_for_pins(tag_of(a), tag_of(b))
        self.app.request_link(link)

    def _delinked(self, sender: Any, app_data: Any, user_data: Any = None) -> None:
        link = self.map.link_of(tag_of(app_data))
        if link is not None:
            self.app.request_unlink([link])


def _error_badge(message: str, count: str = "") -> str:
    """Short badge text for an error (the full message shows on hover)."""
    return "model missing (hover)" if "models fetch" in message else f"error{count} (hover)"

"""The canvas and palette on real dearpygui items, without a display (a context, no viewport):
the graph drawn as nodes, pins and links, and kept in step with the graph's events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

dpg = pytest.importorskip("dearpygui.dearpygui")

from nodeswap.editor.canvas import Canvas  # noqa: E402
from nodeswap.editor.history import AddLink, History, RemoveNodes, SetBypass, SetParam  # noqa: E402
from nodeswap.editor.palette import Palette  # noqa: E402
from nodeswap.editor.tagmap import IN, OUT  # noqa: E402
from nodeswap.editor.widgets import ParamWidgets  # noqa: E402
from nodeswap.graph import Graph, Link  # noqa: E402
from nodeswap.node import Node, Port  # noqa: E402
from nodeswap.types import FRAME  # noqa: E402
from tests.gui.toys import TOYS, toy_registry  # noqa: E402


class StubApp:
    """What the canvas asks of the app: widgets, and where user edits go."""

    def __init__(self) -> None:
        self.edits: list[tuple[str, Any]] = []
        self.widgets = ParamWidgets(
            lambda n, k, v: self.edits.append(("param", (n, k, v))), lambda: None, lambda n, s: None
        )

    def request_link(self, link: Link | None) -> None:
        self.edits.append(("link", link))

    def request_unlink(self, links: list[Link]) -> None:
        self.edits.append(("unlink", links))


@pytest.fixture
def ui() -> Iterator[tuple[StubApp, Canvas]]:
    dpg.create_context()
    try:
        app = StubApp()
        with dpg.window() as window, dpg.child_window(parent=window) as parent:
            canvas = Canvas(app, parent)
        yield app, canvas
    finally:
        dpg.destroy_context()


def chain() -> Graph:
    g = Graph(toy_registry())
    g.add_node("source.counter", "src", pos=(0, 0))
    g.add_node("filter.gain", "gain", {"gain": 0.5}, pos=(300, 0))
    g.add_node("sink.collect", "out", pos=(600, 0))
    g.link("src", "frame", "gain", "frame")
    g.link("gain", "frame", "out", "frame")
    return g


def test_graph_is_drawn_and_follows_edits(ui: tuple[StubApp, Canvas]) -> None:
    _, canvas = ui
    g = chain()
    canvas.attach(g)
    tags = canvas.map
    assert set(tags.nodes) == {"src", "gain", "out"}
    assert all(dpg.does_item_exist(t.node) for t in tags.nodes.values())
    assert dpg.get_item_pos(tags.node_tag("gain")) == [300, 0]
    for link in g.links:
        tag = tags.link_tag(link)
        assert tag is not None and dpg.get_item_configuration(tag)["attr_1"] == tags.port_tag(link.src, OUT, "frame")
    slider = tags.param_tags("gain", "gain")[0]
    assert dpg.get_value(slider) == pytest.approx(0.5)

    history = History(g)
    history.do(SetParam("gain", "gain", 1.5))
    assert dpg.get_value(slider) == pytest.approx(1.5)  # the widget follows the model
    label = dpg.get_item_label(tags.node_tag("gain"))
    history.do(SetBypass("gain", True))
    assert dpg.get_item_label(tags.node_tag("gain")) == label  # no wider title over the next node's pins
    assert dpg.get_value(tags.nodes["gain"].extra["badge"]) == "bypassed"
    history.undo()
    assert dpg.get_value(tags.nodes["gain"].extra["badge"]) == ""
    history.redo()
    history.do(RemoveNodes(["gain"]))
    assert "gain" not in tags.nodes and not dpg.does_item_exist(slider) and len(tags.links) == 0
    history.undo()
    assert "gain" in tags.nodes and len(tags.links) == 2  # new items for the same node
    history.do(AddLink(Link("src", "frame", "out", "frame")))
    assert Link("gain", "frame", "out", "frame") not in tags.links and len(tags.links) == 2


def test_pin_drags_and_widget_edits_go_to_the_app_as_requests(ui: tuple[StubApp, Canvas]) -> None:
    app, canvas = ui
    g = chain()
    canvas.attach(g)
    out_pin, in_pin = canvas.map.port_tag("src", OUT, "frame"), canvas.map.port_tag("out", IN, "frame")
    canvas._link_dragged(canvas.editor, (out_pin, in_pin))
    canvas._link_dragged(canvas.editor, (in_pin, canvas.map.port_tag("gain", IN, "frame")))
    assert app.edits == [("link", Link("src", "frame", "out", "frame")), ("link", None)]
    link = g.links[0]
    canvas._delinked(canvas.editor, canvas.map.link_tag(link))
    assert app.edits[-1] == ("unlink", [link])
    assert g.links[0] == link  # nothing changed by the canvas itself
    slider = canvas.map.param_tags("gain", "gain")[0]
    dpg.set_value(slider, 0.8)
    app.widgets._changed(slider, 0.8)
    assert app.edits[-1] == ("param", ("gain", "gain", pytest.approx(0.8)))


def test_empty_required_path_marks_the_node(ui: tuple[StubApp, Canvas]) -> None:
    _, canvas = ui
    g = Graph(toy_registry())
    g.add_node("source.file", "src", pos=(0, 0))
    canvas.attach(g)
    tags = canvas.map.nodes["src"]
    assert dpg.get_value(tags.extra["badge"]) == "set 'path'"
    assert "is empty" in dpg.get_value(tags.extra["badge_tip"])
    g.set_param("src", "path", __file__)
    canvas.show_stats({})
    assert dpg.get_value(tags.extra["badge"]) == ""
    canvas.set_error("src", "node 'src': model 'x' not found; run: python run.py models fetch x")
    assert dpg.get_value(tags.extra["badge"]) == "model missing (hover)"


class PluginNode(Node):
    """A node from a third-party package."""

    type_id = "thirdparty.thing"
    title = "Thing"
    category = "filter"
    inputs = (Port("frame", FRAME),)
    outputs = (Port("frame", FRAME),)


PluginNode.__module__ = "nodeswap_thirdparty.nodes"


def test_palette_lists_every_registered_type_including_plugins(ui: tuple[StubApp, Canvas]) -> None:
    from nodeswap.registry import Registry

    added: list[tuple[str, Any]] = []
    registry = Registry([*TOYS, PluginNode])
    with dpg.window() as window:
        palette = Palette(registry, window, lambda type_id, pos: added.append((type_id, pos)))
    assert set(palette.entries) == {c.type_id for c in registry}
    assert dpg.get_item_label(palette.entries["thirdparty.thing"]) == "Thing  (plugin)"
    dpg.set_value(palette.search_box, "thing")
    palette._filter()
    shown = {t for t, tag in palette.entries.items() if dpg.is_item_shown(tag)}
    assert shown == {"thirdparty.thing"}
    assert palette.add_first() == "thirdparty.thing" and added == [("thirdparty.thing", None)]

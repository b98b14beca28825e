"""The editor's parts that need no display: tag<->graph map, layout, files, preview images,
param widget values, palette search."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nodeswap import graph_io
from nodeswap.editor import files, frames, widgets
from nodeswap.editor.framing import MARGIN, bounds, moved_into_view, smallest_view
from nodeswap.editor.palette import is_plugin, search
from nodeswap.editor.tagmap import IN, OUT, TagMap, auto_layout, free_spot, key_params, node_size, shown_params
from nodeswap.graph import Graph, Link
from nodeswap.node import Param
from nodeswap.types import Aligned, Face, Frame, Swapped
from tests.gui.toys import Counter, toy_registry


def chain() -> Graph:
    g = Graph(toy_registry())
    g.add_node("source.counter", "src")
    g.add_node("filter.gain", "gain")
    g.add_node("detect.toy", "find")
    g.add_node("sink.collect", "out")
    g.link("src", "frame", "gain", "frame")
    g.link("gain", "frame", "find", "frame")
    g.link("gain", "frame", "out", "frame")
    g.link("find", "faces", "out", "faces")
    return g


def test_tag_map_round_trips_nodes_ports_links() -> None:
    tags = TagMap()
    node = tags.add_node("gain").node
    pin_in = tags.add_port("gain", IN, "frame")
    pin_out = tags.add_port("gain", OUT, "frame")
    tags.add_node("out")
    sink_in = tags.add_port("out", IN, "frame")
    link = Link("gain", "frame", "out", "frame")
    link_tag = tags.add_link(link)
    assert len({node, pin_in, pin_out, sink_in, link_tag}) == 5
    assert tags.node_of(node) == "gain" and tags.node_tag("gain") == node
    assert tags.port_of(pin_out).direction == OUT and tags.port_tag("gain", IN, "frame") == pin_in
    assert tags.link_of(link_tag) == link and tags.link_tag(link) == link_tag
    # a drag may start on either end; the link always runs output -> input
    assert tags.link_for_pins(pin_out, sink_in) == link
    assert tags.link_for_pins(sink_in, pin_out) == link
    assert tags.link_for_pins(pin_in, sink_in) is None  # input to input
    assert tags.link_for_pins(node, sink_in) is None  # not a pin
    assert tags.node_of(pin_in) is None and tags.port_of(node) is None
    tags.add_param_widget("gain", "gain", 77)
    assert tags.param_tags("gain", "gain") == [77] and tags.param_tags("nope", "x") == []
    assert tags.remove_node("gain") == node
    assert tags.port_of(pin_in) is None and tags.node_of(node) is None
    assert tags.remove_link(link) == link_tag and tags.link_of(link_tag) is None
    assert tags.remove_node("gain") is None


def test_tag_map_uses_the_given_tag_source() -> None:
    issued = iter(["a", "b", "c"])
    tags = TagMap(lambda: next(issued))
    assert tags.add_node("x").node == "a" and tags.add_port("x", IN, "frame") == "b"


def test_auto_layout_columns_follow_the_links() -> None:
    g = chain()
    pos = auto_layout(g, max_width=5000)
    assert pos["src"][0] < pos["gain"][0] < pos["find"][0] < pos["out"][0]
    assert len({y for _, y in pos.values()}) == 1
    wrapped = auto_layout(g, max_width=600)  # two columns fit: the rest wraps to a band below
    assert wrapped["find"][0] == wrapped["src"][0] and wrapped["find"][1] > wrapped["gain"][1]
    g.layout["gain"] = (5.0, 5.0)
    assert "gain" not in auto_layout(g) and "gain" in auto_layout(g, missing_only=False)


def test_frame_all_moves_a_fitting_layout_and_shrinks_one_that_does_not() -> None:
    g = chain()
    sizes = {n: node_size(g, n) for n in g.nodes}
    for i, node_id in enumerate(g.nodes):
        g.layout[node_id] = (1000.0 + 250 * i, -500.0)  # panned away: out of view, but a row that fits
    moved = moved_into_view(g, sizes, (0.0, 0.0, 1200.0, 800.0))
    assert moved is not None and bounds(moved, sizes)[:2] == (MARGIN, MARGIN)
    assert moved["gain"][0] - moved["src"][0] == 250  # the user's layout is kept, only moved
    assert moved_into_view(g, sizes, (0.0, 0.0, 500.0, 800.0)) is None  # too wide for this view
    assert smallest_view(g, (0.0, 0.0, 600.0, 900.0)) == (True, [])  # compact, wrapped into bands, fits
    compact, collapse = smallest_view(g, (0.0, 0.0, 300.0, 260.0))
    assert compact and sorted(collapse) == sorted(g.nodes)  # only collapsed nodes fit a tiny view
    for node_id in collapse:
        g.nodes[node_id].collapsed = True
    folded = {n: node_size(g, n) for n in g.nodes}
    assert all(folded[n][1] < sizes[n][1] for n in g.nodes)
    assert shown_params(g, "gain") == [] and key_params(g, "gain") == [
        p for p in g.node_class("gain").params if p.kind == "path"
    ]


def test_collapsed_nodes_are_saved_and_loaded() -> None:
    g = chain()
    g.set_collapsed("gain", True)
    data = graph_io.to_dict(g)
    assert data["nodes"]["gain"]["collapsed"] is True and "collapsed" not in data["nodes"]["src"]
    again, _ = graph_io.build(data, toy_registry())
    assert again.nodes["gain"].collapsed and not again.nodes["src"].collapsed


def test_free_spot_avoids_nodes() -> None:
    g = chain()
    g.layout.update({"src": (0.0, 0.0), "gain": (400.0, 0.0)})
    x, y = free_spot(g, (0.0, 0.0), {"src": (250.0, 200.0), "gain": (250.0, 200.0)})
    for bx, by in ((0.0, 0.0), (400.0, 0.0)):
        assert x + 260 <= bx or bx + 250 <= x or y + 220 <= by or by + 200 <= y
    assert free_spot(Graph(toy_registry()), (10.0, 20.0)) == (10.0, 20.0)


def test_recent_files_newest_first_and_capped(tmp_path: Path) -> None:
    recent = files.RecentFiles(tmp_path / "recent.json")
    paths = []
    for i in range(12):
        p = tmp_path / f"g{i}.json"
        p.write_text("{}")
        paths.append(p)
        recent.add(p)
    recent.add(paths[3])
    again = files.RecentFiles(tmp_path / "recent.json")
    assert again.items[0] == str(paths[3].resolve()) and len(again.items) == files.MAX_RECENT
    paths[11].unlink()
    assert str(paths[11].resolve()) not in again.existing()
    (tmp_path / "bad.json").write_text("{broken")
    assert files.RecentFiles(tmp_path / "bad.json").items == []


def test_recovery_save_pending_load_clear(tmp_path: Path) -> None:
    recovery = files.Recovery(tmp_path / "cfg")
    assert recovery.pending() is None
    g = chain()
    g.set_param("gain", "gain", 1.25)
    recovery.save(g, "/some/doc.json")
    meta = recovery.pending()
    assert meta is not None and meta["document"] == "/some/doc.json" and meta["pid"] == os.getpid()
    restored, issues = recovery.load(toy_registry())
    assert issues == [] or all("required" not in str(i) for i in issues)
    assert restored.param_values("gain")["gain"] == 1.25
    recovery.clear()
    assert recovery.pending() is None


def test_open_graph_gives_the_valid_part_of_a_broken_file(tmp_path: Path) -> None:
    g = chain()
    data = graph_io.to_dict(g)
    data["nodes"]["ghost"] = {"type": "no.such.type"}
    data["links"].append({"from": "ghost.frame", "to": "out.frame"})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    graph, issues = files.open_graph(path, toy_registry())
    assert set(graph.nodes) == {"src", "gain", "find", "out", "ghost"}  # the unknown one as a placeholder
    assert len(graph.links) == 4  # out.frame is taken: the ghost's link is refused
    assert any("unknown node type 'no.such.type'" in str(i) for i in issues)
    assert any("already has a link" in str(i) for i in issues)
    (tmp_path / "nojson.json").write_text("{nope")
    from nodeswap.errors import GraphError

    with pytest.raises(GraphError, match="not JSON"):
        files.open_graph(tmp_path / "nojson.json")
    with pytest.raises(GraphError, match="file not found"):
        files.open_graph(tmp_path / "missing.json")


def _face() -> Face:
    crop = np.full((32, 32, 3), 60, np.uint8)
    swapped = np.full((32, 32, 3), 200, np.uint8)
    mat = np.eye(2, 3)
    return Face(
        (20.0, 10.0, 60.0, 50.0),
        0.9,
        kps=np.array([[30, 20], [50, 20], [40, 30], [32, 40], [48, 40]]),
        aligned=Aligned(crop, mat, mat, 32),
        swapped=Swapped(swapped),
    )


def test_preview_of_a_frame_is_letterboxed() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :100] = (0, 0, 255)  # left half red (BGR)
    frame = Frame(image, index=7)
    out, place = frames.compose({"frame": frame}, None, 400, 300)
    assert out.shape == (300, 400, 3) and place.kind == "frame" and place.frame_index == 7
    assert (place.x, place.y, place.width, place.height) == (0, 50, 400, 200)
    assert tuple(out[150, 100]) == (0, 0, 255) and tuple(out[150, 300]) == (0, 0, 0)
    assert tuple(out[10, 10]) == (32, 32, 32)  # letterbox bar
    texture = frames.to_texture(out)
    assert texture.dtype == np.float32 and texture.size == 400 * 300 * 4
    assert texture[(150 * 400 + 100) * 4] == pytest.approx(1.0) and texture[3] == 1.0


def test_preview_of_faces_draws_over_the_input_frame_with_crops() -> None:
    frame = Frame(np.full((100, 100, 3), 10, np.uint8), index=3)
    out, place = frames.compose({"faces": (_face(),)}, frame, 300, 300)
    assert place.kind == "faces" and place.faces == 1 and place.swapped == 1 and place.frame_index == 3
    assert place.boxes == [[20.0, 10.0, 60.0, 50.0]]
    strip = out[300 - 100 :]
    assert (strip == 200).all(axis=2).any() and (strip == 60).all(axis=2).any()  # swapped and aligned crops
    top = place.y + round(10 * place.scale)
    box_rows = out[top - 1 : top + 2, place.x + 45 : place.x + 115].astype(int)  # along the box's top edge
    near = (np.abs(box_rows - np.array(frames.BOX_COLOR)) < 60).all(axis=2)
    assert near.any(axis=0).mean() > 0.9


def test_preview_of_nothing_or_masks() -> None:
    out, place = frames.compose(None, None, 64, 48)
    assert place.kind == "empty" and (out == 32).all()
    out, place = frames.compose({"mask": np.ones((10, 10), np.float32)}, None, 64, 48)
    assert place.kind == "image" and out[24, 32].tolist() == [255, 255, 255]


def test_widget_values_round_trip() -> None:
    colour = Param("c", "color", "#ff8800")
    assert widgets.to_widget(colour, "#ff8800") == [255, 136, 0, 255]
    assert widgets.from_widget(colour, [255.0, 136.0, 0.0, 255.0]) == "#ff8800"
    assert widgets.from_widget(colour, [1.0, 0.5333, 0.0, 1.0]) == "#ff8800"
    assert widgets.from_widget(colour, [1.0, 1.0, 1.0, 255.0]) == "#010101"  # dark, not white
    assert widgets.from_widget(Param("n", "int", 0), 3.6) == 4
    assert widgets.widget_kind(Param("n", "int", 0, min=0, max=100)) == "slider_int"
    assert widgets.widget_kind(Param("n", "int", 0, min=0)) == "input_int"
    assert widgets.widget_kind(Param("p", "int", 1, min=1, max=65535)) == "input_int"
    assert widgets.widget_kind(Param("f", "float", 0.5, min=0.0, max=1.0)) == "slider_float"
    assert widgets.widget_kind(Param("b", "bool", True)) == "checkbox"
    assert widgets.widget_kind(Param("m", "choice", "a", choices=("a",))) == "combo"
    assert widgets.widget_kind(Param("p", "path", "")) == "path"
    assert widgets.float_format(Param("f", "float", 0.5, min=0.0, max=1.0)) == "%.3f"
    assert widgets.float_format(Param("f", "float", 0.5, min=0.0, max=240.0)) == "%.1f"


def test_palette_search() -> None:
    registry = toy_registry()
    assert [c.type_id for c in search(registry, "gain")] == ["filter.gain"]
    assert [c.type_id for c in search(registry, "sink coll")] == ["sink.collect"]
    assert search(registry, "zzz") == []
    assert {c.type_id for c in search(registry, "")} == {c.type_id for c in registry}
    assert not is_plugin(Counter) or Counter.__module__.startswith("tests")


def test_built_in_nodes_are_not_marked_plugins() -> None:
    from nodeswap.nodes.mergers import FaceMerger

    assert not is_plugin(FaceMerger)  # nodeswap's own nodes, in the nodeswap.nodes package
    assert is_plugin(Counter)  # a node from another package (the tests' toy nodes)

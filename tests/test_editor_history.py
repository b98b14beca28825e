"""Undo/redo and copy/paste of the editor, on the Graph API alone (no display)."""

from __future__ import annotations

import pytest

from nodeswap import graph_io
from nodeswap.editor import clipboard
from nodeswap.editor.history import (
    AddLink,
    AddNode,
    Batch,
    History,
    Move,
    RemoveLink,
    RemoveNodes,
    SetBypass,
    SetParam,
)
from nodeswap.errors import LinkError, ParamError
from nodeswap.events import ParamSet
from nodeswap.graph import Graph, Link
from tests.gui.toys import toy_registry


@pytest.fixture
def graph() -> Graph:
    g = Graph(toy_registry())
    g.add_node("source.counter", "src", pos=(0, 0))
    g.add_node("filter.gain", "gain", {"gain": 0.5}, pos=(300, 0))
    g.add_node("sink.collect", "out", pos=(600, 0))
    g.link("src", "frame", "gain", "frame")
    g.link("gain", "frame", "out", "frame")
    return g


def snapshot(g: Graph) -> str:
    return graph_io.dumps(g)


def test_every_edit_undoes_and_redoes_exactly(graph: Graph) -> None:
    history = History(graph)
    states = [snapshot(graph)]
    edits = [
        AddNode("detect.toy", "find", pos=(300, 200)),
        AddLink(Link("src", "frame", "find", "frame")),
        AddLink(Link("find", "faces", "out", "faces")),
        SetParam("gain", "gain", 1.5),
        SetParam("gain", "mode", "add"),
        SetBypass("gain", True),
        Move("find", (320.0, 240.0), (300.0, 200.0)),
        RemoveLink(Link("find", "faces", "out", "faces")),
        RemoveNodes(["gain"]),
        SetParam("src", "frames", 7, reset=False),
    ]
    for command in edits:
        history.do(command)
        states.append(snapshot(graph))
    assert "gain" not in graph.nodes and graph.param_values("src")["frames"] == 7
    for i in range(len(edits), 0, -1):
        assert snapshot(graph) == states[i]
        history.undo()
    assert snapshot(graph) == states[0]
    assert not history.can_undo and history.undo() is None
    for i in range(1, len(edits) + 1):
        history.redo()
        assert snapshot(graph) == states[i]
    assert not history.can_redo


def test_delete_restores_node_params_links_and_position(graph: Graph) -> None:
    history = History(graph)
    before = snapshot(graph)
    history.do(RemoveNodes(["gain", "out"]))
    assert list(graph.nodes) == ["src"] and graph.links == []
    history.undo()
    assert snapshot(graph) == before
    assert graph.layout["gain"] == (300.0, 0.0)


def test_link_replacing_an_input_restores_the_old_link(graph: Graph) -> None:
    history = History(graph)
    graph.add_node("source.counter", "src2")
    history.do(AddLink(Link("src2", "frame", "gain", "frame")))
    assert Link("src", "frame", "gain", "frame") not in graph.links
    history.undo()
    assert Link("src", "frame", "gain", "frame") in graph.links
    assert Link("src2", "frame", "gain", "frame") not in graph.links


def test_refused_edits_leave_graph_and_history_unchanged(graph: Graph) -> None:
    history = History(graph)
    before = snapshot(graph)
    with pytest.raises(LinkError, match="cannot link output type 'faces' to input type 'frame'"):
        graph.add_node("detect.toy", "find")
        history.do(AddLink(Link("find", "faces", "out", "frame")))
    graph.remove_node("find")
    with pytest.raises(LinkError, match="cycle"):
        history.do(AddLink(Link("gain", "frame", "gain", "frame")))
    with pytest.raises(ParamError, match="above the maximum"):
        history.do(SetParam("gain", "gain", 9.0))
    assert snapshot(graph) == before and not history.can_undo


def test_failed_batch_rolls_back(graph: Graph) -> None:
    history = History(graph)
    before = snapshot(graph)
    batch = Batch(
        [SetParam("gain", "gain", 0.2), AddNode("detect.toy", "find"), AddLink(Link("find", "faces", "gain", "frame"))]
    )
    with pytest.raises(LinkError):
        history.do(batch)
    assert snapshot(graph) == before


def test_slider_drag_is_one_step_and_seal_splits(graph: Graph) -> None:
    history = History(graph)
    for value in (0.6, 0.7, 0.8, 0.9):
        history.do(SetParam("gain", "gain", value), merge_key=("gain", "gain"))
    assert len(history._undo) == 1
    history.seal()
    history.do(SetParam("gain", "gain", 1.2), merge_key=("gain", "gain"))
    assert len(history._undo) == 2
    history.undo()
    assert graph.param_values("gain")["gain"] == 0.9
    history.undo()
    assert graph.param_values("gain")["gain"] == 0.5
    # a drag that returns to its start is no step at all
    history.do(SetParam("gain", "gain", 0.7), merge_key=("gain", "gain"))
    history.do(SetParam("gain", "gain", 0.5), merge_key=("gain", "gain"))
    assert not history.can_undo


def test_reset_to_default_forgets_the_value_and_undo_restores_it(graph: Graph) -> None:
    history = History(graph)
    events = []
    graph.subscribe(events.append)
    history.do(SetParam("gain", "gain", None, reset=True))
    assert "gain" not in graph.nodes["gain"].params and graph.param_values("gain")["gain"] == 1.0
    assert events[-1] == ParamSet("gain", "gain", 1.0)
    history.undo()
    assert graph.nodes["gain"].params["gain"] == 0.5
    # undoing a first change removes the value again (the file stays as it was)
    history.do(SetParam("src", "frames", 9))
    history.undo()
    assert "frames" not in graph.nodes["src"].params


def test_dirty_tracks_the_saved_state(graph: Graph) -> None:
    history = History(graph)
    assert not history.dirty
    history.do(SetParam("gain", "gain", 0.3), merge_key="k")
    assert history.dirty
    history.mark_saved()
    assert not history.dirty
    history.do(SetParam("gain", "gain", 0.4), merge_key="k2")
    history.undo()
    assert not history.dirty
    history.redo()
    assert history.dirty
    history.undo()
    history.do(SetParam("gain", "gain", 0.35), merge_key="k")
    assert history.dirty  # a merge into... a new step after the saved one


def test_copy_paste_keeps_params_and_inner_links(graph: Graph) -> None:
    history = History(graph)
    clip = clipboard.copy_nodes(graph, ["gain", "out"])
    assert clipboard.from_text(clipboard.to_text(clip)) == clip
    assert clipboard.from_text("not json") is None and clipboard.from_text('{"a": 1}') is None
    command, renamed = clipboard.paste_command(graph, clip, origin=(1000.0, 500.0))
    history.do(command)
    assert renamed == {"gain": "gain2", "out": "out2"}
    assert graph.nodes["gain2"].params == {"gain": 0.5}
    assert graph.layout["gain2"] == (1000.0, 500.0) and graph.layout["out2"] == (1300.0, 500.0)
    assert Link("gain2", "frame", "out2", "frame") in graph.links
    assert not any(x.dst == "gain2" for x in graph.links)  # the link from outside was not copied
    history.undo()
    assert "gain2" not in graph.nodes and "out2" not in graph.nodes


def test_duplicate_offsets_and_paste_skips_unknown_types(graph: Graph) -> None:
    command, renamed = clipboard.paste_command(graph, clipboard.copy_nodes(graph, ["src"]))
    command.do(graph)
    assert graph.layout[renamed["src"]] == (40.0, 40.0)
    clip = {"format": clipboard.CLIP_FORMAT, "nodes": {"x": {"type": "no.such", "pos": [0, 0]}}, "links": []}
    command, renamed = clipboard.paste_command(graph, clip)
    assert renamed == {} and command.commands == []

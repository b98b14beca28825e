"""The DFM swapper's params remembered per model (as DeepFaceLive keeps them) and a node's reset to its
defaults: each one undo step, saved with the graph (no display)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from nodeswap import graph_io
from nodeswap.editor import clipboard
from nodeswap.editor.history import History, RemoveNodes
from nodeswap.editor.param_edits import param_command, reset_node_command
from nodeswap.graph import Graph
from nodeswap.registry import default_registry


@pytest.fixture
def graph() -> Graph:
    g = Graph(default_registry())
    g.add_node("swap.dfm", "swap", {"model": "Keanu_Reeves.dfm", "morph_factor": 0.5, "two_pass": True}, pos=(0, 0))
    return g


def set_param(history: History, graph: Graph, name: str, value: object, reset: bool = False) -> None:
    history.do(param_command(graph, "swap", name, value, reset))


def test_switching_models_brings_back_each_models_params(graph: Graph) -> None:
    history = History(graph)
    set_param(history, graph, "model", "Joker.dfm")
    entry = graph.nodes["swap"]
    # Keanu's settings are stored; Joker, never chosen before, starts from the defaults (as in DeepFaceLive)
    assert entry.remembered == {"Keanu_Reeves.dfm": {"morph_factor": 0.5, "two_pass": True}}
    assert entry.params == {"model": "Joker.dfm"}
    set_param(history, graph, "pre_gamma_r", 1.5)
    set_param(history, graph, "morph_factor", 0.75)  # set to its default: not worth remembering
    set_param(history, graph, "model", "Keanu_Reeves.dfm")
    assert graph.param_values("swap")["morph_factor"] == 0.5 and graph.param_values("swap")["two_pass"] is True
    assert graph.param_values("swap")["pre_gamma_r"] == 1.0
    assert entry.remembered == {"Joker.dfm": {"pre_gamma_r": 1.5}}  # the current model's are in the params
    set_param(history, graph, "model", "Joker.dfm")
    assert graph.param_values("swap")["pre_gamma_r"] == 1.5 and graph.param_values("swap")["morph_factor"] == 0.75
    # the device is not the model's: it stays whatever the model
    set_param(history, graph, "device", "cpu")
    set_param(history, graph, "model", "Keanu_Reeves.dfm")
    assert graph.param_values("swap")["device"] == "cpu"


def test_a_model_switch_is_one_undo_step(graph: Graph) -> None:
    history = History(graph)
    before = graph_io.dumps(graph)
    set_param(history, graph, "model", "Joker.dfm")
    set_param(history, graph, "post_gamma_b", 2.0)
    after = graph_io.dumps(graph)
    set_param(history, graph, "model", "Keanu_Reeves.dfm")
    switched = graph_io.dumps(graph)
    history.undo()
    assert graph_io.dumps(graph) == after
    history.undo()
    history.undo()
    assert graph_io.dumps(graph) == before
    history.redo()
    history.redo()
    history.redo()
    assert graph_io.dumps(graph) == switched
    # the param's own reset button: back to no model, the model's params stored under it
    set_param(history, graph, "model", None, reset=True)
    assert graph.nodes["swap"].params == {}
    assert graph.nodes["swap"].remembered["Keanu_Reeves.dfm"] == {"morph_factor": 0.5, "two_pass": True}
    history.undo()
    assert graph_io.dumps(graph) == switched


def test_remembered_params_are_saved_loaded_copied_and_undeleted(graph: Graph, tmp_path: Path) -> None:
    history = History(graph)
    set_param(history, graph, "model", "Joker.dfm")
    path = tmp_path / "g.json"
    graph_io.save(graph, path)
    data = json.loads(path.read_text())
    assert data["nodes"]["swap"]["remembered"] == {"Keanu_Reeves.dfm": {"morph_factor": 0.5, "two_pass": True}}
    jsonschema.validate(data, graph_io.schema())
    loaded, _ = graph_io.build(data)
    assert graph_io.dumps(loaded) == path.read_text()
    # a node that remembers nothing has no such field in the file
    plain = Graph(default_registry())
    plain.add_node("swap.dfm", "other", {"model": "Joker.dfm"})
    assert "remembered" not in graph_io.to_dict(plain)["nodes"]["other"]
    # delete and undo, copy and paste: the memory goes with the node
    history.do(RemoveNodes(["swap"]))
    history.undo()
    assert graph.nodes["swap"].remembered == {"Keanu_Reeves.dfm": {"morph_factor": 0.5, "two_pass": True}}
    command, renamed = clipboard.paste_command(graph, clipboard.copy_nodes(graph, ["swap"]))
    history.do(command)
    assert graph.nodes[renamed["swap"]].remembered == graph.nodes["swap"].remembered
    # a value the param cannot take (a hand-edited file) falls back to the default, the switch goes on
    data["nodes"]["swap"]["remembered"] = {
        "Keanu_Reeves.dfm": {"morph_factor": 7, "pre_sharpen": "x", "two_pass": True}
    }
    odd, _ = graph_io.build(data)
    History(odd).do(param_command(odd, "swap", "model", "Keanu_Reeves.dfm"))
    values = odd.param_values("swap")
    assert (values["morph_factor"], values["pre_sharpen"], values["two_pass"]) == (0.75, 0.0, True)


def test_the_schema_refuses_a_malformed_memory() -> None:
    bad = {
        "format": "nodeswap.graph",
        "version": 1,
        "nodes": {"swap": {"type": "swap.dfm", "remembered": {"Joker.dfm": 3}}},
        "links": [],
    }
    _, issues = graph_io.build(bad)
    assert any("nodes.swap.remembered.Joker.dfm" in str(i) for i in issues)


def test_reset_to_defaults_is_one_step_and_keeps_the_files_it_needs(graph: Graph) -> None:
    history = History(graph)
    graph.set_param("swap", "device", "cpu")
    before = graph_io.dumps(graph)
    command = reset_node_command(graph, "swap")
    assert command is not None
    history.do(command)
    assert graph.nodes["swap"].params == {"model": "Keanu_Reeves.dfm"}  # required: the model stays
    assert reset_node_command(graph, "swap") is None  # nothing left to reset
    history.undo()
    assert graph_io.dumps(graph) == before
    # an invalid value the file gave (kept aside) is reset too
    graph.nodes["swap"].kept["pre_sharpen"] = "sharp"
    command = reset_node_command(graph, "swap")
    assert command is not None
    history.do(command)
    assert graph.nodes["swap"].kept == {}


def test_a_node_must_remember_params_it_has() -> None:
    from typing import ClassVar

    from nodeswap.errors import UserError
    from nodeswap.node import Node, Param
    from nodeswap.registry import Registry

    class Forgetful(Node):
        type_id = "x.forgetful"
        params = (Param("model", "path", ""), Param("gain", "float", 1.0))
        remember_per = "model"
        remember_params: ClassVar[tuple[str, ...]] = ("gain", "loss")

    with pytest.raises(UserError, match="remember_params names loss"):
        Registry([Forgetful])
    Forgetful.remember_per = "nothing"
    Forgetful.remember_params = ("gain",)
    with pytest.raises(UserError, match="remember_per 'nothing' is not a param"):
        Registry([Forgetful])

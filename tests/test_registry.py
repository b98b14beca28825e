"""Node API, registry and third-party nodes through entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TypedDict

import pytest

from nodeswap.errors import ParamError, UserError
from nodeswap.node import Node, Param, Port
from nodeswap.registry import Registry, load_registry
from nodeswap.types import FRAME, can_link
from tests.toy_nodes import AddNode, toy_registry


def test_params_are_typed_and_checked() -> None:
    node = AddNode("a", {"amount": 5})
    assert node.values == {"amount": 5, "sleep_ms": 0.0, "fail_every": 0, "label": "", "warn": "", "zero": 0}
    for bad in ({"amount": "5"}, {"amount": 5.5}, {"amount": True}, {"amount": 300}, {"label": 3}):
        with pytest.raises(ParamError, match="param '"):
            AddNode("a", bad)
    assert Param("c", "color", "#ffffff").coerce("#00ff88") == "#00ff88"
    with pytest.raises(ParamError):
        Param("c", "color", "#ffffff").coerce("green")
    with pytest.raises(ParamError, match="not one of"):
        Param("m", "choice", "a", choices=("a", "b")).coerce("c")
    assert Param("f", "float", 0.5, min=0, max=1).coerce(1) == 1.0


def test_describe_has_the_documented_shape() -> None:
    d = AddNode.describe()
    assert {"type", "title", "category", "inputs", "outputs", "params"} <= set(d)
    assert d["inputs"] == [{"name": "frame", "type": "frame", "caps": {}}]
    from nodeswap.nodes.swap_morph import MorphSwap

    assert MorphSwap.describe()["inputs"][1]["caps"] == {"landmarks": ("468",)}
    assert {"name", "type", "default", "min", "max", "choices", "help"} <= set(d["params"][0])


def test_port_types() -> None:
    assert can_link("frame", "frame") and can_link("any", "faces") and not can_link("faces", "frame")


def test_registry_rejects_bad_specs() -> None:
    class NoDot(Node):
        type_id = "nodot"

    class BadPort(Node):
        type_id = "x.bad"
        inputs = (Port("p", "pixels"),)

    for cls in (NoDot, BadPort):
        with pytest.raises(UserError):
            Registry([cls])
    with pytest.raises(UserError, match="defined twice"):
        reg = toy_registry()
        reg.add(type("Clone", (AddNode,), {}))


def test_builtin_nodes_load_without_errors() -> None:
    reg = load_registry(plugins=False)
    assert reg.load_errors == []
    assert len(reg) > 0
    for cls in reg:
        assert cls.__doc__, f"{cls.type_id} needs a docstring"
        assert cls.title, f"{cls.type_id} needs a title"


def _install_plugin(tmp_path: Path, body: str, name: str = "demo") -> None:
    (tmp_path / f"{name}_nodes.py").write_text(textwrap.dedent(body))
    info = tmp_path / f"{name}_nodes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-nodes\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[nodeswap.nodes]\n{name} = {name}_nodes\n")


def test_third_party_nodes_come_from_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_plugin(
        tmp_path,
        """
        from nodeswap.node import Node, Port
        from nodeswap.types import FRAME

        class Invert(Node):
            \"\"\"Inverts the frame.\"\"\"
            type_id = "demo.invert"
            title = "Invert"
            category = "filter"
            inputs = (Port("frame", FRAME),)
            outputs = (Port("frame", FRAME),)

        NODE_TYPES = [Invert]
        """,
    )
    _install_plugin(tmp_path, "raise ImportError('needs torch')\n", name="broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = load_registry()
    assert reg.get("demo.invert") is not None
    assert reg.get("demo.invert").inputs[0].type == FRAME  # type: ignore[union-attr]
    assert any("broken" in e and "needs torch" in e for e in reg.load_errors)
    sys.modules.pop("demo_nodes", None)


class ScaleValues(TypedDict):
    factr: float  # a typo


class ScaleValuesInt(TypedDict):
    factor: int


class Scale(Node):
    type_id = "test.scale"
    values: ScaleValues
    inputs = (Port("frame", FRAME),)
    outputs = (Port("frame", FRAME),)
    params = (Param("factor", "float", 1.0),)


class ScaleInt(Scale):
    values: ScaleValuesInt


def test_a_values_type_that_disagrees_with_the_params_is_refused() -> None:
    """A node types its values with a TypedDict; the registry refuses the class when the two drift apart."""
    with pytest.raises(UserError, match="param 'factor' is missing from ScaleValues"):
        Registry([Scale])
    with pytest.raises(UserError, match="param 'factor' is float: ScaleValuesInt must declare it float"):
        Registry([ScaleInt])


def test_a_signal_param_counts_presses_and_refuses_anything_else() -> None:
    spec = Param("reset", "signal", 0)
    assert spec.coerce(3) == 3
    for bad in (-1, 1.5, True, "press"):
        with pytest.raises(ParamError, match="press count"):
            spec.coerce(bad)

"""Param edits that are more than one SetParam, each one undo step (no GUI): a node's params remembered per
model (DeepFaceLive keeps a DFM swapper's settings per model), and a node's reset to its defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ParamError
from ..graph import Graph
from ..node import Node
from .history import Batch, SetParam

_DEFAULT = object()  # a remembered param that follows its default


@dataclass
class SetRemembered:
    """Store (``values``) or forget (None) the params a node remembers for one value of its ``remember_per``."""

    node_id: str
    key: str
    values: dict[str, Any] | None
    label: str = "remember params"
    _old: dict[str, Any] | None = None

    def do(self, graph: Graph) -> None:
        old = graph.nodes[self.node_id].remembered.get(self.key)
        self._old = dict(old) if old else None
        graph.set_remembered(self.node_id, self.key, self.values)

    def undo(self, graph: Graph) -> None:
        graph.set_remembered(self.node_id, self.key, self._old)


def param_command(graph: Graph, node_id: str, name: str, value: Any, reset: bool = False) -> Any:
    """The undo step that sets ``name`` to ``value`` (``reset``: back to its default).

    A SetParam; for the node type's ``remember_per`` param (a DFM swapper's model) a Batch that also stores
    the ``remember_params`` under the value left and brings back those stored for the value chosen (their
    defaults when it has none stored, as DeepFaceLive starts a model it has not seen)."""
    cls = graph.node_class(node_id)
    spec = cls.param_spec(name)
    assert spec is not None
    label = f"{'reset' if reset else 'set'} {node_id}.{name}"
    command = SetParam(node_id, name, spec.default if reset else value, reset=reset, label=label)
    if name != cls.remember_per or not cls.remember_params:
        return command
    try:
        new_key = spec.default if reset else spec.coerce(value)
    except ParamError:
        return command  # refused when it is done, with the reason
    old_key = graph.param_values(node_id)[name]
    if new_key == old_key:
        return command
    entry = graph.nodes[node_id]
    commands: list[Any] = []
    if old_key:
        commands.append(SetRemembered(node_id, str(old_key), _set_values(cls, entry.params)))
    commands.append(command)
    commands += _restore(cls, node_id, entry.params, entry.remembered.get(str(new_key), {}), label)
    if str(new_key) in entry.remembered:  # chosen again: its values live in the params now
        commands.append(SetRemembered(node_id, str(new_key), None))
    return Batch(commands, label)


def _set_values(cls: type[Node], params: dict[str, Any]) -> dict[str, Any]:
    """The remembered params that are set to something else than their default."""
    found = {}
    for name in cls.remember_params:
        spec = cls.param_spec(name)
        if spec is not None and name in params and params[name] != spec.default:
            found[name] = params[name]
    return found


def _restore(cls: type[Node], node_id: str, params: dict[str, Any], stored: Any, label: str) -> list[SetParam]:
    """The SetParams that bring the remembered params to ``stored`` (a value it lacks, or cannot take: the
    default)."""
    stored = stored if isinstance(stored, dict) else {}
    commands = []
    for name in cls.remember_params:
        spec = cls.param_spec(name)
        assert spec is not None
        want: Any = stored.get(name, _DEFAULT)
        if want is not _DEFAULT:
            try:
                want = spec.coerce(want)
            except ParamError:
                want = _DEFAULT  # a hand-edited file: not worth refusing the model for
        if want is _DEFAULT:
            if name in params:
                commands.append(SetParam(node_id, name, spec.default, reset=True, label=label))
        elif name not in params or params[name] != want:
            commands.append(SetParam(node_id, name, want, label=label))
    return commands


def reset_node_command(graph: Graph, node_id: str) -> Batch | None:
    """One undo step that puts every param of the node back to its default, but for the files it needs
    (``required`` params: a model, a source): None when there is nothing to reset."""
    cls, entry = graph.node_class(node_id), graph.nodes[node_id]
    label = f"reset {node_id} to defaults"
    names = [
        p.name
        for p in cls.params
        if p.kind != "signal" and not p.required and (p.name in entry.params or p.name in entry.kept)
    ]
    if not names:
        return None
    return Batch([SetParam(node_id, n, None, reset=True, label=label) for n in names], label)

"""Compile a graph into a run plan: which nodes run, in which order, fed by what."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GraphError
from .graph import Graph
from .node import Node
from .types import EMPTY_VALUES
from .validate import needed_nodes, structure_issues


@dataclass
class Step:
    """One node in the plan: where each input comes from and how to bypass it."""

    node_id: str
    cls: type[Node]
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)  # input -> (node, output)
    passthrough: dict[str, str] = field(default_factory=dict)  # output -> input of a matching type
    bypass: bool = False

    @property
    def is_source(self) -> bool:
        return not self.cls.inputs

    def fallback(self, inputs: dict[str, object]) -> dict[str, object] | None:
        """Outputs when the node is bypassed or failed; None when the frame must be dropped."""
        out: dict[str, object] = {}
        for port in self.cls.outputs:
            name = self.passthrough.get(port.name)
            if name is not None and name in inputs:
                out[port.name] = inputs[name]
            elif port.type in EMPTY_VALUES:
                out[port.name] = EMPTY_VALUES[port.type]
            else:
                return None
        return out


def compile_plan(graph: Graph) -> list[Step]:
    """Topological order of the nodes upstream of a sink. Raises GraphError (nodeswap.validate's issues)."""
    issues = structure_issues(graph)
    if issues:
        raise GraphError(issues)
    steps = []
    for node_id in needed_nodes(graph):
        cls = graph.node_class(node_id)
        sources = {link.dst_port: (link.src, link.src_port) for link in graph.links_into(node_id)}
        steps.append(Step(node_id, cls, sources, cls.passthrough(), graph.nodes[node_id].bypass))
    return steps

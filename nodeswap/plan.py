"""Compile a graph into a run plan: which nodes run, in which order, fed by what."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .errors import GraphError, Issue
from .graph import Graph
from .node import Node
from .types import EMPTY_VALUES, can_link


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


def _passthrough(cls: type[Node]) -> dict[str, str]:
    pairs = {}
    for out in cls.outputs:
        match = next((i for i in cls.inputs if i.name == out.name and can_link(i.type, out.type)), None)
        match = match or next((i for i in cls.inputs if i.type == out.type), None)
        if match is not None:
            pairs[out.name] = match.name
    return pairs


def compile_plan(graph: Graph) -> list[Step]:
    """Topological order of the nodes upstream of a sink. Raises GraphError."""
    sinks = [n for n in graph.nodes if graph.node_class(n).category == "sink"]
    if not sinks:
        raise GraphError("the graph has no sink node: nothing would use the frames")
    g = graph.to_networkx()
    if not nx.is_directed_acyclic_graph(g):
        raise GraphError(f"the graph has a cycle: {nx.find_cycle(g)}")
    needed = set(sinks).union(*(nx.ancestors(g, s) for s in sinks))
    linked = {(link.dst, link.dst_port) for link in graph.links}
    problems = [
        Issue(f"node '{n}' input '{port.name}'", "required input is not linked")
        for n in sorted(needed)
        for port in graph.node_class(n).inputs
        if not port.optional and (n, port.name) not in linked
    ]
    if problems:
        raise GraphError(problems)
    steps = []
    for node_id in nx.lexicographical_topological_sort(g):
        if node_id not in needed:
            continue
        cls = graph.node_class(node_id)
        sources = {link.dst_port: (link.src, link.src_port) for link in graph.links_into(node_id)}
        steps.append(Step(node_id, cls, sources, _passthrough(cls), graph.nodes[node_id].bypass))
    if not any(step.is_source for step in steps):
        raise GraphError([Issue("graph", "no source node feeds a sink")])
    return steps

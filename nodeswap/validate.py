"""Every check of a graph, in one place, each returning what is wrong in words that name the node, port or
param. The graph asks it before a link is made, the loader while it reads a file, the plan before a run, the
CLI's ``validate`` and the editor after every edit: they cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

import networkx as nx

from .errors import Issue, ParamError, UserError
from .params import check_path
from .placeholder import is_placeholder, missing_reason
from .types import Cap, can_link

if TYPE_CHECKING:
    from .graph import Graph, Link


# -- links and caps ------------------------------------------------------------------------------------------


def link_problem(graph: Graph, link: Link) -> str | None:
    """Why ``link`` cannot be added to ``graph`` (missing node or port, port types, a cycle, caps), or None."""
    return wiring_problem(graph, link) or caps_problem(graph, link)


def wiring_problem(graph: Graph, link: Link) -> str | None:
    """``link_problem`` without caps: whether the ports exist, their types match and no cycle is made."""
    for end in (link.src, link.dst):
        if end not in graph.nodes:
            return f"{link}: no node '{end}'"
    out = graph.node_class(link.src).output_port(link.src_port)
    if out is None:
        return f"{link}: node '{link.src}' has no output '{link.src_port}'"
    inp = graph.node_class(link.dst).input_port(link.dst_port)
    if inp is None:
        return f"{link}: node '{link.dst}' has no input '{link.dst_port}'"
    if not can_link(out.type, inp.type):
        return f"{link}: cannot link output type '{out.type}' to input type '{inp.type}'"
    if link.src == link.dst or nx.has_path(graph.to_networkx(), link.dst, link.src):
        return f"{link}: this link would make a cycle"
    return None


def output_caps(graph: Graph, node_id: str, port: str, links: Iterable[Link] | None = None) -> dict[str, Cap]:
    """The caps of output ``node_id.port``: those of the input it forwards, overlaid with what the node sets
    with its current params. ``links``: the links to follow (default: the graph's)."""
    links = list(graph.links if links is None else links)
    cls = graph.node_class(node_id)
    found: dict[str, Cap] = {}
    forwarded = cls.passthrough().get(port)
    upstream = next((x for x in links if x.dst == node_id and x.dst_port == forwarded), None)
    if upstream is not None and upstream.src != node_id:
        found.update(output_caps(graph, upstream.src, upstream.src_port, links))
    for name, cap in cls.provides(port, graph.param_values(node_id)).items():
        found[name] = Cap(cap.value, cap.why, node_id)
    return found


def caps_problem(graph: Graph, link: Link, links: Iterable[Link] | None = None) -> str | None:
    """Why the values ``link`` carries do not meet what its input requires, naming both sides, or None."""
    inp = graph.node_class(link.dst).input_port(link.dst_port)
    if inp is None or not inp.caps:
        return None
    given = output_caps(graph, link.src, link.src_port, links)
    for name, accepted in inp.caps:
        cap = given.get(name)
        if cap is not None and cap.value in accepted:
            continue
        needs = f"{link.dst}.{link.dst_port} needs {name}={'|'.join(accepted)}"
        if cap is None:
            return f"{needs}; {link.src}.{link.src_port} gives no {name}"
        why = ", ".join(x for x in (cap.node if cap.node != link.src else "", cap.why) if x)
        return f"{needs}; {link.src}.{link.src_port} gives {name}={cap.value}" + (f" ({why})" if why else "")
    return None


def caps_issues(graph: Graph, nodes: Iterable[str] | None = None) -> list[Issue]:
    """Every link (into ``nodes``, default all) whose values do not meet what its input requires."""
    wanted = set(graph.nodes if nodes is None else nodes)
    issues = []
    for link in graph.links:
        if link.dst in wanted and link.src in graph.nodes and link.dst in graph.nodes:
            problem = caps_problem(graph, link)
            if problem:
                issues.append(Issue(f"link {link}", problem))
    return issues


def cycle_issue(graph: Graph) -> Issue | None:
    g = graph.to_networkx()
    if nx.is_directed_acyclic_graph(g):
        return None
    cycle = nx.find_cycle(g)
    return Issue("links", "cycle: " + " -> ".join([str(edge[0]) for edge in cycle] + [str(cycle[0][0])]))


# -- inputs and params ---------------------------------------------------------------------------------------


def unlinked_inputs(graph: Graph, nodes: Iterable[str] | None = None) -> list[Issue]:
    """Every required input (of ``nodes``, default all) that has no link."""
    linked = {(link.dst, link.dst_port) for link in graph.links}
    return [
        Issue(f"node '{node_id}' input '{port.name}'", "required input is not linked")
        for node_id in (graph.nodes if nodes is None else nodes)
        for port in graph.node_class(node_id).inputs
        if not port.optional and (node_id, port.name) not in linked
    ]


def path_problems(graph: Graph, node_id: str) -> dict[str, str]:
    """Param name -> problem for the node's path params (an empty required path, a missing file)."""
    try:
        cls = graph.node_class(node_id)
    except UserError:
        return {}
    values = graph.param_values(node_id)
    found = {}
    for spec in cls.params:
        if spec.kind == "path":
            problem = check_path(node_id, spec, values[spec.name])
            if problem:
                found[spec.name] = problem
    return found


def kept_problems(graph: Graph, node_id: str) -> dict[str, str]:
    """Param name -> why the value its file gave is kept aside (invalid); the node would run with the
    default, so a run is refused until the param is set. Unknown params and placeholders are not listed."""
    cls, entry = graph.node_class(node_id), graph.nodes[node_id]
    if is_placeholder(cls):
        return {}
    found = {}
    for name, value in entry.kept.items():
        spec = cls.param_spec(name)
        if spec is None:
            continue  # a param this version does not know (a newer plugin's?): kept in the file, not used
        try:
            spec.coerce(value)
        except ParamError as exc:
            found[name] = f"the file's value {json.dumps(value, default=str)[:60]} is invalid ({exc}): set it"
    return found


def param_issues(graph: Graph, nodes: Iterable[str] | None = None) -> list[Issue]:
    """Missing node types, file values kept aside, and path params that cannot be used."""
    issues = []
    for node_id in graph.nodes if nodes is None else nodes:
        if is_placeholder(graph.node_class(node_id)) and nodes is None:  # a run reports it with the structure
            issues.append(Issue(f"node '{node_id}'", missing_reason(graph.nodes[node_id].type)))
        problems = {**kept_problems(graph, node_id), **path_problems(graph, node_id)}
        issues += [Issue(f"node '{node_id}' param '{name}'", problem) for name, problem in problems.items()]
    return issues


def path_issues(graph: Graph, nodes: Iterable[str] | None = None) -> list[Issue]:
    return [
        Issue(f"node '{node_id}' param '{name}'", problem)
        for node_id in (graph.nodes if nodes is None else nodes)
        for name, problem in path_problems(graph, node_id).items()
    ]


# -- whole graphs --------------------------------------------------------------------------------------------


def needed_nodes(graph: Graph) -> list[str]:
    """The sinks and every node upstream of one: what a run executes, in the order it runs them (a graph
    with a cycle: by id)."""
    g = graph.to_networkx()
    sinks = [n for n in graph.nodes if graph.node_class(n).category == "sink"]
    needed = set(sinks).union(*(nx.ancestors(g, s) for s in sinks))
    order = nx.lexicographical_topological_sort(g) if nx.is_directed_acyclic_graph(g) else sorted(g)
    return [n for n in order if n in needed]


def structure_issues(graph: Graph) -> list[Issue]:
    """What stops a plan being made: no sink, a cycle, unlinked inputs of needed nodes, no source, links that
    do not meet their input's caps."""
    if not any(graph.node_class(n).category == "sink" for n in graph.nodes):
        return [Issue("", "the graph has no sink node: nothing would use the frames")]
    cycle = cycle_issue(graph)
    if cycle is not None:
        return [cycle]
    needed = needed_nodes(graph)
    missing = [n for n in needed if is_placeholder(graph.node_class(n))]
    if missing:
        return [Issue(f"node '{n}'", missing_reason(graph.nodes[n].type)) for n in missing]
    issues = unlinked_inputs(graph, needed) + caps_issues(graph, needed)
    if not issues and not any(not graph.node_class(n).inputs for n in needed):
        issues.append(Issue("graph", "no source node feeds a sink"))
    return issues


def run_issues(graph: Graph, editor: bool = False) -> list[Issue]:
    """Why the graph cannot run yet, every reason at once: its structure, and the path params and models of
    the nodes that would run (of all nodes while there is no sink). ``editor``: a missing model's fix is its
    Download button, not a command."""
    issues = structure_issues(graph)
    needed = needed_nodes(graph) or list(graph.nodes)  # no sink yet: every node's own problems too
    return issues + param_issues(graph, needed) + model_issues(graph, needed, editor=editor)


def graph_issues(graph: Graph) -> list[Issue]:
    """Everything wrong with a graph as a file: unlinked inputs, caps and paths of every node, run or not."""
    return unlinked_inputs(graph) + caps_issues(graph) + param_issues(graph)


# -- models --------------------------------------------------------------------------------------------------

_verified: dict[tuple[str, int, int], str | None] = {}  # (path, size, mtime) -> its sha256 problem, hashed once


def _file_state(name: str, verify: bool) -> str | None:
    """What is wrong with model ``name``'s file on this machine ('missing', 'corrupt ...: its path'), or None."""
    from .models import file_problem, find_file, lookup

    info = lookup(name)
    path = find_file(info.file if info else name)
    if path is None:
        return "missing"
    if info is None:
        return None
    if not verify:
        problem = file_problem(info, path)
    else:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _verified:
            _verified[key] = file_problem(info, path, verify=True)
        problem = _verified[key]
    return None if problem is None else f"{problem}: {path}"


def model_fix(name: str, editor: bool) -> str:
    """How to get model ``name``: its Download button (editor) or the fetch command, when the manifest
    knows where; else the folders to put it in."""
    from .models import lookup, search_dirs

    info = lookup(name)
    if info is not None and info.urls:
        if editor:
            return f"press 'Download {info.name}' in the node's inspector"
        return f"run: python run.py models fetch {info.name}"
    return "put the file in one of " + ", ".join(str(d) for d in search_dirs())


def model_problems(graph: Graph, node_id: str, verify: bool = False) -> dict[str, str]:
    """Model name -> what is wrong with it, for every model the node needs with its params now (each set of
    alternatives where none is usable: its first). Bypassed nodes and nodes whose params fail need none."""
    from .models import lookup

    if graph.nodes[node_id].bypass:
        return {}
    try:
        needed = graph.node_class(node_id)(node_id, graph.param_values(node_id)).required_models()
    except (UserError, KeyError, ValueError):
        return {}  # a node whose params or type are wrong: its own message says so
    found: dict[str, str] = {}
    for choices in needed:
        states = [(name, _file_state(name, verify)) for name in choices]
        if states and all(problem for _, problem in states):
            name, problem = states[0]
            info = lookup(name)
            file_name = info.file if info else name
            found[info.name if info else name] = (
                f"model '{file_name}' is not on this machine" if problem == "missing" else f"{file_name} is {problem}"
            )
    return found


def model_issues(
    graph: Graph, nodes: Iterable[str] | None = None, editor: bool = False, verify: bool = False
) -> list[Issue]:
    """Every model the nodes (default: all) need that is missing or corrupt (with ``verify``: by its sha256),
    each with its fix. The one list ``validate``, ``run``, batch workers and the editor give."""
    return [
        Issue(f"node '{node_id}' model '{name}'", f"{problem}: {model_fix(name, editor)}")
        for node_id in (graph.nodes if nodes is None else nodes)
        if not is_placeholder(graph.node_class(node_id))
        for name, problem in model_problems(graph, node_id, verify).items()
    ]


def node_problems(graph: Graph, node_id: str, editor: bool = True) -> list[str]:
    """Every problem of one node, in words, for its badge and inspector: params to set, values kept aside,
    links whose caps do not fit, missing models (with their fix)."""
    if node_id not in graph.nodes or is_placeholder(graph.node_class(node_id)):
        return []
    params = {**kept_problems(graph, node_id), **path_problems(graph, node_id)}
    found = [f"param '{name}': {problem}" for name, problem in params.items()]
    found += [issue.message for issue in caps_issues(graph, [node_id])]
    found += [issue.message for issue in model_issues(graph, [node_id], editor=editor)]
    return found

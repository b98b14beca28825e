"""Graph <-> JSON: load with full validation, save atomically and byte-stable.

Loading never executes code from the file: it is parsed as JSON data only.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import GraphError, Issue, ParamError
from .graph import Graph, Link, NodeEntry
from .node import Node
from .placeholder import is_placeholder, missing_reason, placeholder_class
from .registry import Registry, default_registry
from .validate import caps_issues, path_issues, unlinked_inputs, wiring_problem

FORMAT = "nodeswap.graph"
VERSION = 1
MAX_BYTES = 16 * 1024 * 1024


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("nodeswap").joinpath("graph.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "nodes": {
            node_id: {"type": e.type, "params": {**e.kept, **e.params}, "title": e.title, "bypass": e.bypass}
            | ({"collapsed": True} if e.collapsed else {})
            | ({"remembered": e.remembered} if e.remembered else {})
            for node_id, e in graph.nodes.items()
        },
        "links": [link.to_json() for link in graph.links],
        "layout": {k: [round(v[0], 1), round(v[1], 1)] for k, v in graph.layout.items() if k in graph.nodes},
    }


def dumps(graph: Graph) -> str:
    """Stable text: the same graph always gives the same bytes."""
    return json.dumps(to_dict(graph), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def save(graph: Graph, path: str | Path) -> None:
    """Write atomically: a temp file in the same folder, then rename. The file gets the mode an ordinary
    write would give it (an existing file's own, else 0666 less the umask), not the temp file's 0600."""
    path = Path(path)
    text = dumps(graph)
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    """The process's umask (read by setting it and back: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file up to VERSION (version 1 is the first: nothing to do)."""
    return data


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def parse_text(text: str, source: str = "") -> dict[str, Any]:
    """JSON text -> dict, or GraphError with one readable issue."""
    if len(text) > MAX_BYTES:
        raise GraphError(f"file is larger than {MAX_BYTES // 2**20} MiB", source)
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise GraphError("not JSON: nested too deeply", source) from None
    except ValueError as exc:
        raise GraphError(f"not JSON: {exc}", source) from None
    if not isinstance(data, dict):
        raise GraphError(f"expected a JSON object at the top level, got {type(data).__name__}", source)
    return data


def _shape_issues(data: dict[str, Any]) -> list[Issue]:
    fmt, version = data.get("format"), data.get("version")
    if fmt != FORMAT:
        return [Issue("format", f'expected "{FORMAT}", got {json.dumps(fmt)[:60]}')]
    if isinstance(version, (int, float)) and not isinstance(version, bool) and version > VERSION:
        return [Issue("version", f"version {version:g} is newer than this nodeswap reads ({VERSION}): update nodeswap")]
    validator = jsonschema.Draft202012Validator(schema())
    issues = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in error.absolute_path) or "graph"
        message = error.message if len(error.message) < 160 else error.message[:157] + "..."
        issues.append(Issue(where, message))
    return issues


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def build(
    data: dict[str, Any], registry: Registry | None = None, check_files: bool = True
) -> tuple[Graph, list[Issue]]:
    """A Graph from parsed JSON plus every problem found.

    The graph holds every node and link that could be added, so an editor can
    show the valid part of a broken file.
    """
    registry = registry or default_registry()
    graph = Graph(registry)
    issues = _shape_issues(data)
    if issues:
        return graph, issues
    data = migrate(data)
    links = [Link.parse(x["from"], x["to"]) for x in data["links"]]
    for node_id, spec in data["nodes"].items():
        cls = registry.get(spec["type"]) or _placeholder(graph, spec["type"], node_id, data["nodes"], links)
        if is_placeholder(cls):
            issues.append(Issue(f"node '{node_id}'", missing_reason(cls.type_id)))
        entry = NodeEntry(cls.type_id, {}, spec.get("title", ""), spec.get("bypass", False))
        entry.collapsed = spec.get("collapsed", False)
        entry.remembered = copy.deepcopy(spec.get("remembered", {}))  # checked when the editor restores them
        for name, value in spec.get("params", {}).items():
            pspec = cls.param_spec(name)
            try:
                if pspec is None:
                    raise ParamError(f"{cls.type_id} has no such param")
                entry.params[name] = pspec.coerce(value)
            except ParamError as exc:
                entry.kept[name] = value  # shown as invalid and saved back until the user sets it
                if not is_placeholder(cls):
                    issues.append(Issue(f"node '{node_id}' param '{name}'", f"{exc}; the file's value is kept"))
        graph.nodes[node_id] = entry
    if check_files:
        issues += path_issues(graph)
    for pos_id, pos in data.get("layout", {}).items():
        if pos_id in graph.nodes and all(map(_finite, pos)):
            graph.layout[pos_id] = (float(pos[0]), float(pos[1]))
    issues += _link_issues(graph, links, set(data["nodes"]))
    issues += unlinked_inputs(graph) + caps_issues(graph)
    return graph, issues


def _placeholder(graph: Graph, type_id: str, node_id: str, nodes: dict[str, Any], links: list[Link]) -> type[Node]:
    """The graph's stand-in for an unknown ``type_id``, with the ports its links to ``node_id`` use (typed by
    the known node at the other end)."""
    registry = graph.registry

    def port_type(other: str, port: str, output: bool) -> str:
        cls = registry.get(nodes.get(other, {}).get("type", ""))
        if cls is None:
            return ""
        found = cls.output_port(port) if output else cls.input_port(port)
        return found.type if found else ""

    old = graph.placeholders.get(type_id)
    inputs = {p.name: p.type for p in old.inputs} if old else {}
    outputs = {p.name: p.type for p in old.outputs} if old else {}
    for link in links:
        if link.dst == node_id:
            inputs.setdefault(link.dst_port, port_type(link.src, link.src_port, True))
        if link.src == node_id:
            outputs.setdefault(link.src_port, port_type(link.dst, link.dst_port, False))
    graph.placeholders[type_id] = placeholder_class(type_id, inputs, outputs)
    return graph.placeholders[type_id]


def _link_issues(graph: Graph, links: list[Link], declared: set[str]) -> list[Issue]:
    """Adds each link that can be made; an issue for each that cannot (caps are checked once all are in)."""
    issues: list[Issue] = []
    taken: dict[tuple[str, str], Link] = {}
    for link in links:
        where = f"link {link}"
        if link.src not in declared or link.dst not in declared:
            missing = link.src if link.src not in declared else link.dst
            issues.append(Issue(where, f"no node '{missing}'"))
            continue
        if link.src not in graph.nodes or link.dst not in graph.nodes:
            continue  # the node's own issue is already reported
        problem = wiring_problem(graph, link)
        if problem:
            issues.append(Issue(where, problem.removeprefix(f"{link}: ")))
            continue
        first = taken.get((link.dst, link.dst_port))
        if first is not None:
            message = f"input {link.dst}.{link.dst_port} already has a link from {first.src}.{first.src_port}"
            issues.append(Issue(where, message))
            continue
        taken[(link.dst, link.dst_port)] = link
        graph.links.append(link)
    return issues


def validate_text(text: str, source: str = "", registry: Registry | None = None) -> list[Issue]:
    try:
        data = parse_text(text, source)
    except GraphError as exc:
        return exc.issues
    return build(data, registry)[1]


def load(path: str | Path, registry: Registry | None = None, strict: bool = True) -> Graph:
    """Read and check a graph file; raises GraphError listing every problem when strict."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraphError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read: {exc}", str(path)) from None
    graph, issues = build(parse_text(text, str(path)), registry)
    if issues and strict:
        raise GraphError(issues, str(path))
    return graph

"""Copy, paste and duplicate of nodes with their params and the links among them (no GUI)."""

from __future__ import annotations

import copy
import json
from typing import Any

from ..graph import Graph, Link
from .history import AddLink, AddNode, Batch

CLIP_FORMAT = "nodeswap.clip"


def copy_nodes(graph: Graph, node_ids: list[str]) -> dict[str, Any]:
    """A clipboard record: the nodes (type, params, title, bypass, position, params remembered per model) and
    their inner links."""
    ids = [n for n in node_ids if n in graph.nodes]
    nodes = {}
    for node_id in ids:
        entry = graph.nodes[node_id]
        nodes[node_id] = {
            "type": entry.type,
            "params": copy.deepcopy(entry.params),
            "title": entry.title,
            "bypass": entry.bypass,
            "pos": list(graph.layout.get(node_id, (0.0, 0.0))),
            "remembered": copy.deepcopy(entry.remembered),
        }
    links = [link.to_json() for link in graph.links if link.src in nodes and link.dst in nodes]
    return {"format": CLIP_FORMAT, "nodes": nodes, "links": links}


def to_text(clip: dict[str, Any]) -> str:
    return json.dumps(clip, sort_keys=True)


def from_text(text: str) -> dict[str, Any] | None:
    """A clipboard record from text, or None when the text is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != CLIP_FORMAT or not isinstance(data.get("nodes"), dict):
        return None
    return data


def paste_command(
    graph: Graph,
    clip: dict[str, Any],
    origin: tuple[float, float] | None = None,
    offset: tuple[float, float] = (40.0, 40.0),
) -> tuple[Batch, dict[str, str]]:
    """One undoable step that adds the clipped nodes under fresh ids (and their inner links).

    ``origin``: where the top-left node lands (grid coordinates); without it the
    copies sit ``offset`` away from the originals. Returns the step and the
    mapping old id -> new id.
    """
    nodes: dict[str, dict[str, Any]] = clip.get("nodes", {})
    known = {k: v for k, v in nodes.items() if graph.registry.get(v.get("type", "")) is not None}
    if not known:
        return Batch([], "paste"), {}
    xs = [float(v.get("pos", (0, 0))[0]) for v in known.values()]
    ys = [float(v.get("pos", (0, 0))[1]) for v in known.values()]
    if origin is None:
        dx, dy = offset
    else:
        dx, dy = origin[0] - min(xs), origin[1] - min(ys)
    taken = set(graph.nodes)
    renamed: dict[str, str] = {}
    commands: list[Any] = []
    for old_id, spec in known.items():
        new_id = _free_id(old_id, taken)
        taken.add(new_id)
        renamed[old_id] = new_id
        pos = spec.get("pos", (0, 0))
        commands.append(
            AddNode(
                spec["type"],
                new_id,
                dict(spec.get("params", {})),
                (float(pos[0]) + dx, float(pos[1]) + dy),
                spec.get("title", ""),
                bool(spec.get("bypass", False)),
                label="paste",
                remembered=copy.deepcopy(spec.get("remembered") or {}),
            )
        )
    for item in clip.get("links", []):
        link = Link.parse(item["from"], item["to"])
        if link.src in renamed and link.dst in renamed:
            commands.append(AddLink(Link(renamed[link.src], link.src_port, renamed[link.dst], link.dst_port)))
    return Batch(commands, f"paste {len(renamed)} node{'s' if len(renamed) != 1 else ''}"), renamed


def _free_id(base: str, taken: set[str]) -> str:
    stem = base.rstrip("0123456789") or base
    if base not in taken:
        return base
    n = 2
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"

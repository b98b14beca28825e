"""Stand-ins for node types that no installed plugin provides.

A graph saved with a plugin's node and opened where the plugin is missing keeps that node as a
placeholder: its id, type, params, title and links survive a load and a save, and the editor draws it
in red. It never runs: a run that needs it is refused with the reason.
"""

from __future__ import annotations

from typing import Any

from .errors import NodeLoadError
from .node import LoadContext, Node, Port
from .types import ANY

MISSING = "missing"  # the category of a placeholder


class MissingNode(Node):
    """A node whose type is not installed: kept with its params and links, never run."""

    category = MISSING

    def load(self, ctx: LoadContext) -> None:
        raise NodeLoadError(self.id, missing_reason(self.type_id))

    def process(self, *args: Any, **inputs: Any) -> dict[str, Any] | None:
        raise NodeLoadError(self.id, missing_reason(self.type_id))


def missing_reason(type_id: str) -> str:
    return f"unknown node type '{type_id}' (kept as a placeholder): install the plugin that provides it, or delete it"


def placeholder_class(type_id: str, inputs: dict[str, str], outputs: dict[str, str]) -> type[Node]:
    """A MissingNode subclass for ``type_id`` with the ports its links use (port name -> type, ANY when
    the other end is unknown too)."""
    attrs = {
        "type_id": type_id,
        "title": f"missing: {type_id}",
        "__doc__": missing_reason(type_id),
        "inputs": tuple(Port(name, kind or ANY, optional=True) for name, kind in sorted(inputs.items())),
        "outputs": tuple(Port(name, kind or ANY) for name, kind in sorted(outputs.items())),
    }
    return type(f"Missing[{type_id}]", (MissingNode,), attrs)


def is_placeholder(cls: type[Node]) -> bool:
    return issubclass(cls, MissingNode)

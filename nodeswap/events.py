"""What a graph tells its listeners after each change, and what a run tells its owner: small frozen
dataclasses, matched by type (``match event: case ParamSet(node_id=...)``) rather than by strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import Link

# -- graph edits -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeAdded:
    node_id: str


@dataclass(frozen=True)
class NodeRemoved:
    node_id: str


@dataclass(frozen=True)
class Linked:
    link: Link


@dataclass(frozen=True)
class Unlinked:
    link: Link


@dataclass(frozen=True)
class ParamSet:
    node_id: str
    name: str
    value: Any


@dataclass(frozen=True)
class BypassSet:
    node_id: str
    bypass: bool


@dataclass(frozen=True)
class CollapsedSet:
    node_id: str
    collapsed: bool


@dataclass(frozen=True)
class TitleSet:
    node_id: str
    title: str


@dataclass(frozen=True)
class Moved:
    node_id: str
    x: float
    y: float


@dataclass(frozen=True)
class RememberedSet:
    """The params a node remembers for one value of its ``remember_per`` param changed (see Node)."""

    node_id: str
    key: str


GraphEvent = (
    NodeAdded | NodeRemoved | Linked | Unlinked | ParamSet | BypassSet | CollapsedSet | TitleSet | Moved | RememberedSet
)
REWIRING = (NodeAdded, NodeRemoved, Linked, Unlinked)  # edits that change what runs


# -- a run -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeFailed:
    """A node failed on a frame (the graph goes on without its output), or a command failed ('' = no node)."""

    node_id: str
    message: str


@dataclass(frozen=True)
class NodeWarned:
    """A node warned about its input or settings (it goes on working)."""

    node_id: str
    message: str


@dataclass(frozen=True)
class LoadFailed:
    """A run could not start or rewire: a node could not load ('' = the graph itself)."""

    node_id: str
    message: str


@dataclass(frozen=True)
class NodeReloaded:
    """A node loaded again after a param that needs a reload changed."""

    node_id: str


@dataclass(frozen=True)
class RunFinished:
    """The sources ran out: ``summary`` says how many frames in how long ('' from the scheduler)."""

    summary: str = ""


@dataclass(frozen=True)
class StateChanged:
    """The editor's runner moved to idle, loading, running or paused."""

    state: str


@dataclass(frozen=True)
class Problem:
    """Something the user should know that stops nothing (e.g. rewiring not applied yet)."""

    message: str


@dataclass(frozen=True)
class Rebuilt:
    """A running graph took on the edited copy."""


RunEvent = NodeFailed | NodeWarned | LoadFailed | NodeReloaded | RunFinished | StateChanged | Problem | Rebuilt

"""Node types by type id, from the entry point group ``nodeswap.nodes``.

An entry point's object is a Node subclass, a list of them, or a module with
``NODE_TYPES``. nodeswap declares its own modules in nodeswap/nodes/ that way (pyproject.toml),
exactly as a third-party package declares its nodes.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

from .errors import UserError
from .node import CATEGORIES, Node
from .params import KINDS, PARAM_KINDS
from .types import PORT_TYPES

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "nodeswap.nodes"


class Registry:
    """A mapping of type id (and aliases) to node classes."""

    def __init__(self, types: Iterable[type[Node]] = ()) -> None:
        self._types: dict[str, type[Node]] = {}
        self._aliases: dict[str, str] = {}
        self.load_errors: list[str] = []
        for cls in types:
            self.add(cls)

    def add(self, cls: type[Node], origin: str = "") -> None:
        problem = _spec_problem(cls)
        if problem:
            raise UserError(f"node class {cls.__name__}{' from ' + origin if origin else ''}: {problem}")
        if cls.type_id in self._types and self._types[cls.type_id] is not cls:
            raise UserError(f"node type '{cls.type_id}' is defined twice ({origin or cls.__module__})")
        self._types[cls.type_id] = cls
        for alias in cls.aliases:
            self._aliases[alias] = cls.type_id

    def get(self, type_id: str) -> type[Node] | None:
        return self._types.get(type_id) or self._types.get(self._aliases.get(type_id, ""))

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, str) and self.get(type_id) is not None

    def __iter__(self) -> Iterator[type[Node]]:
        return iter(sorted(self._types.values(), key=lambda c: (CATEGORIES.index(c.category), c.type_id)))

    def __len__(self) -> int:
        return len(self._types)

    def by_category(self) -> dict[str, list[type[Node]]]:
        groups: dict[str, list[type[Node]]] = {c: [] for c in CATEGORIES}
        for cls in self:
            groups[cls.category].append(cls)
        return groups

    def add_module(self, module: ModuleType | Any, origin: str) -> None:
        for cls in _classes_in(module):
            self.add(cls, origin)


def _classes_in(obj: Any) -> list[type[Node]]:
    if isinstance(obj, type) and issubclass(obj, Node):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [c for item in obj for c in _classes_in(item)]
    types = getattr(obj, "NODE_TYPES", None)
    if types is not None:
        return _classes_in(list(types))
    raise UserError(f"{obj!r} is not a node class, a list of them, or a module with NODE_TYPES")


def _spec_problem(cls: type[Node]) -> str:
    if not cls.type_id or "." not in cls.type_id:
        return f"type_id {cls.type_id!r} must look like 'role.name'"
    if cls.category not in CATEGORIES:
        return f"category {cls.category!r} is not one of {', '.join(CATEGORIES)}"
    for port in (*cls.inputs, *cls.outputs):
        if port.type not in PORT_TYPES:
            return f"port '{port.name}' has unknown type {port.type!r}"
    for param in cls.params:
        if param.kind not in PARAM_KINDS:
            return f"param '{param.name}' has unknown kind {param.kind!r}"
    for field in ("key_params", "remember_params"):
        unknown = [name for name in getattr(cls, field) if cls.param_spec(name) is None]
        if unknown:
            return f"{field} names {', '.join(unknown)}, which is not a param"
    if cls.remember_params and cls.param_spec(cls.remember_per) is None:
        return f"remember_per {cls.remember_per!r} is not a param"
    return _values_problem(cls)


def _values_problem(cls: type[Node]) -> str:
    """Where the class's values TypedDict (``values: BlurValues``) and its params disagree ('' when it has
    none): so that a param renamed in one place and not the other fails when the node is registered."""
    try:
        values = typing.get_type_hints(cls).get("values")
    except Exception:  # annotations that do not resolve: nothing to check them against
        return ""
    if values is None or not typing.is_typeddict(values):
        return ""
    declared = typing.get_type_hints(values)
    for param in cls.params:
        wanted = KINDS[param.kind].value_type
        if param.name not in declared:
            return f"param '{param.name}' is missing from {values.__name__}"
        if declared[param.name] is not wanted:
            return f"param '{param.name}' is {param.kind}: {values.__name__} must declare it {wanted.__name__}"
    extra = sorted(set(declared) - {p.name for p in cls.params})
    return f"{values.__name__} declares {', '.join(extra)}, which is not a param" if extra else ""


def load_registry(plugins: bool = True) -> Registry:
    """Every node type registered in the entry point group ``nodeswap.nodes``: nodeswap's own (its modules in
    nodeswap/nodes/, declared in pyproject.toml) and, when ``plugins``, those of other installed packages. The core
    imports no node module itself.

    A module or plugin that fails to import is logged and skipped, so one bad
    plugin never stops the program; the messages stay in ``load_errors``.
    """
    registry = Registry()
    own = 0
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (not _is_own(e), e.name)):
        if not _is_own(ep) and not plugins:
            continue
        origin = ep.value if _is_own(ep) else f"plugin {ep.name} ({ep.value})"
        try:
            registry.add_module(ep.load(), origin)
            own += _is_own(ep)
        except Exception as exc:  # third-party code, or a broken module: report, skip
            registry.load_errors.append(f"{origin}: {exc}")
            log.error("could not load nodes from %s: %s", origin, exc)
    if not own:
        registry.load_errors.append("nodeswap's own nodes are not registered: install nodeswap (pip install -e .)")
        log.error(registry.load_errors[-1])
    return registry


def _is_own(ep: EntryPoint) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and dist.name == "nodeswap"


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _default
    if _default is None:
        _default = load_registry()
    return _default

"""Exceptions. Anything derived from ``UserError`` is the user's to fix: the CLI
prints its message alone and exits with code 2."""

from __future__ import annotations

from dataclasses import dataclass


class NodeswapError(Exception):
    """Base of every nodeswap error."""


class UserError(NodeswapError):
    """Bad input from the user: a file, a param, a graph. Exit code 2."""


@dataclass(frozen=True)
class Issue:
    """One problem in a graph. ``where`` names the file, node, port or param."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class GraphError(UserError):
    """A graph that cannot be loaded or run; carries every issue found."""

    def __init__(self, issues: list[Issue] | Issue | str, source: str = "") -> None:
        if isinstance(issues, str):
            issues = [Issue(source, issues)]
        elif isinstance(issues, Issue):
            issues = [issues]
        self.issues = list(issues)
        self.source = source
        super().__init__("\n".join(str(i) for i in self.issues))


class ParamError(UserError):
    """A param value of the wrong type or out of range."""


class LinkError(UserError):
    """A link between ports that cannot be made."""


class NodeLoadError(UserError):
    """A node could not load its resources (model, file, device)."""

    def __init__(self, node_id: str, message: str) -> None:
        self.node_id = node_id
        super().__init__(f"node '{node_id}': {message}" if node_id else message)


class ModelMissingError(NodeLoadError):
    """A model file is not on this machine."""


class EndOfStream(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a source when it has no more frames."""

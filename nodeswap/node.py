"""The node API: typed ports, typed params and the load/process/unload lifecycle.

A node type is a subclass of ``Node`` with class attributes::

    class Blur(Node):
        \"\"\"Blurs the frame.\"\"\"
        type_id = "filter.blur"
        title = "Blur"
        category = "filter"
        inputs = (Port("frame", FRAME),)
        outputs = (Port("frame", FRAME),)
        params = (Param("radius", "int", 3, min=0, max=50, help="Kernel radius in pixels"),)

        def process(self, frame: Frame) -> dict[str, Any]:
            k = 2 * self.values["radius"] + 1
            return {"frame": replace(frame, image=cv2.blur(frame.image, (k, k)))}

``process`` gets one keyword argument per linked input and returns a dict with
one entry per output. It must not modify its inputs. ``self.values`` holds the
current param values (the scheduler swaps in changed values between frames).
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .errors import ParamError
from .types import Cap, can_link

CATEGORIES = ("source", "detector", "marker", "aligner", "swapper", "merger", "filter", "sink", "utility")
PARAM_KINDS = ("bool", "int", "float", "choice", "path", "text", "color")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Port:
    """A named, typed input or output. An ``optional`` input may stay unlinked.

    caps: on an input, what it requires of the values linked to it (``caps(landmarks="468")``); on an
    output, what it always provides (a node whose caps depend on its params overrides ``Node.provides``).
    """

    name: str
    type: str
    help: str = ""
    optional: bool = False
    caps: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Param:
    """A typed node setting.

    kind: bool, int, float, choice, path, text or color ("#rrggbb").
    reload: changing it re-runs ``load`` (models, devices, files); other params
    apply from the next frame. required: a path that must be set to run.
    """

    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    reload: bool = False
    required: bool = False
    must_exist: bool = True  # for path params: the file must exist (inputs)

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this param's kind, or raise ParamError."""
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"expected true or false, got {value!r}")
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(f"expected a number, got {_short(value)}")
            if abs(value) > 2**53 or not math.isfinite(value):
                raise ParamError(f"expected a finite number of sensible size, got {_short(value)}")
            if kind == "int":
                if float(value) != int(value):
                    raise ParamError(f"expected a whole number, got {value!r}")
                value = int(value)
            else:
                value = float(value)
            if self.min is not None and value < self.min:
                raise ParamError(f"{value} is below the minimum {self.min}")
            if self.max is not None and value > self.max:
                raise ParamError(f"{value} is above the maximum {self.max}")
            return value
        if kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{_short(value)} is not one of {', '.join(self.choices)}")
            return value
        if not isinstance(value, str):
            raise ParamError(f"expected text, got {_short(value)}")
        if kind == "color" and not _COLOR.match(value):
            raise ParamError(f"expected a colour like #ff8800, got {_short(value)}")
        return value

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices else None,
            "help": self.help,
        }


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class LoadContext:
    """What ``Node.load`` may use: the node's id, the live/offline mode, and the
    media paths the graph's sources read (so a sink can refuse to overwrite them)."""

    node_id: str = ""
    live: bool = False
    source_paths: tuple[str, ...] = ()


class Node:
    """Base class of every node type. See the module docstring."""

    type_id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "utility"
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    aliases: ClassVar[tuple[str, ...]] = ()

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        self.id = node_id or self.type_id
        self.values: dict[str, Any] = self.resolve_params(params or {})

    # -- spec helpers -------------------------------------------------------
    @classmethod
    def param_spec(cls, name: str) -> Param | None:
        return next((p for p in cls.params if p.name == name), None)

    @classmethod
    def input_port(cls, name: str) -> Port | None:
        return next((p for p in cls.inputs if p.name == name), None)

    @classmethod
    def output_port(cls, name: str) -> Port | None:
        return next((p for p in cls.outputs if p.name == name), None)

    @classmethod
    def passthrough(cls) -> dict[str, str]:
        """Output -> the input it forwards (same name, else same type): what a bypassed node passes on, and
        whose caps the output carries on."""
        pairs = {}
        for out in cls.outputs:
            match = next((i for i in cls.inputs if i.name == out.name and can_link(i.type, out.type)), None)
            match = match or next((i for i in cls.inputs if i.type == out.type), None)
            if match is not None:
                pairs[out.name] = match.name
        return pairs

    @classmethod
    def provides(cls, port: str, values: dict[str, Any]) -> dict[str, Cap]:
        """The caps this node sets on output ``port`` with these param values (on top of what it forwards)."""
        spec = cls.output_port(port)
        return {name: Cap(choices[0]) for name, choices in spec.caps} if spec else {}

    @classmethod
    def resolve_params(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``; raises ParamError naming the param."""
        values = {p.name: p.default for p in cls.params}
        for name, value in given.items():
            spec = cls.param_spec(name)
            if spec is None:
                raise ParamError(f"param '{name}': {cls.type_id} has no such param")
            try:
                values[name] = spec.coerce(value)
            except ParamError as exc:
                raise ParamError(f"param '{name}': {exc}") from None
        return values

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The JSON description printed by ``nodes --json``."""
        return {
            "type": cls.type_id,
            "title": cls.title,
            "category": cls.category,
            "help": (cls.__doc__ or "").strip().split("\n")[0],
            "inputs": [{"name": p.name, "type": p.type, "caps": dict(p.caps)} for p in cls.inputs],
            "outputs": [{"name": p.name, "type": p.type, "caps": dict(p.caps)} for p in cls.outputs],
            "params": [p.describe() for p in cls.params],
        }

    def required_models(self) -> list[tuple[str, ...]]:
        """The models ``load`` will look up with the current params, each as a tuple of alternatives (any one
        will do), by manifest or file name; ``validate`` checks them before anything runs."""
        return []

    # -- lifecycle ------------------------------------------------------------
    def load(self, ctx: LoadContext) -> None:
        """Open models, files and devices. Raise NodeLoadError with a clear message."""

    def process(self, **inputs: Any) -> dict[str, Any]:
        """Handle one frame's inputs; return one value per output."""
        raise NotImplementedError

    def unload(self) -> None:
        """Release resources and finalise outputs. Must be safe to call twice."""

    def params_changed(self, changed: set[str]) -> None:
        """Called in the node's thread after light params changed (no reload)."""


def unwritable(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (created when missing), or None. A real write: permission
    bits do not tell root about a read-only filesystem."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return None


def check_path(node_id: str, spec: Param, value: str) -> str | None:
    """The problem with a path param's value, or None when it is fine."""
    if not value:
        return "is empty: set it to a file" if spec.required else None
    if spec.must_exist and not Path(value).expanduser().exists():
        return f"file not found: {value}"
    return None

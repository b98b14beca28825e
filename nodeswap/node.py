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
current param values (the scheduler swaps in changed values between frames); a node
types them with a TypedDict (``values: BlurValues``, see nodeswap/nodes/values.py) so that mypy
checks every name, and the registry checks the TypedDict against ``params``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from .errors import ParamError
from .params import Param as Param  # re-exported: nodes import it from here
from .types import Cap, can_link

CATEGORIES = ("source", "detector", "marker", "aligner", "swapper", "merger", "filter", "sink", "utility")


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


_warned: set[str] = set()


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
    # The params a compact node shows on the canvas (the rest are in the inspector); empty: its path params.
    key_params: ClassVar[tuple[str, ...]] = ()
    # True: the scheduler may run it in a worker process of its own (Python-heavy work that would hold the
    # GIL). Its inputs and outputs are then pickled, and it must not keep views of its input frames.
    may_run_in_process: ClassVar[bool] = False
    # Params the editor remembers per value of the param ``remember_per`` (DeepFaceLive keeps a DFM swapper's
    # settings per model): choosing another model stores these under the old one and brings back the new
    # one's (NodeEntry.remembered, saved with the graph).
    remember_per: ClassVar[str] = ""
    remember_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        self.id = node_id or self.type_id
        self.values: Mapping[str, Any] = self.resolve_params(params or {})

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
    def warn(self, message: str) -> None:
        """Tell the user something is off with this node's input or settings that does not stop it (a turned
        photo, a frame it cannot use): logged once, and shown on the node in the editor."""
        said = self.__dict__.setdefault("_said", set())
        if message not in said:
            said.add(message)
            logging.getLogger("nodeswap.nodes").warning("node '%s': %s", self.id, message)
            self.__dict__.setdefault("_warnings", []).append(message)

    def take_warnings(self) -> list[str]:
        """The warnings said since the last call (the scheduler passes them on as NodeWarned events)."""
        said: list[str] = self.__dict__.pop("_warnings", [])
        return said

    def load(self, ctx: LoadContext) -> None:
        """Open models, files and devices. Raise NodeLoadError with a clear message."""

    def process(self, *args: Any, **inputs: Any) -> dict[str, Any] | None:
        """Handle one frame's inputs; return one value per output."""
        raise NotImplementedError

    def unload(self) -> None:
        """Release resources and finalise outputs. Must be safe to call twice."""

    def params_changed(self, changed: set[str]) -> None:
        """Called in the node's thread after light params changed (no reload), and when a signal param's
        button was pressed."""

    def presses(self) -> dict[str, int]:
        """The current values of the signal params (buttons), which the graph does not hold."""
        return {p.name: self.values[p.name] for p in self.params if p.kind == "signal"}


@runtime_checkable
class Seekable(Protocol):
    """A source the editor can seek: a media file (a camera cannot)."""

    def info(self) -> dict[str, Any]:
        """frame_count, fps, width and height of what it reads."""

    def seek(self, index: int) -> None:
        """The next frame will be ``index``."""

    def step(self, delta: int) -> None:
        """Seek relative to the last frame given: step(1) = next, step(-1) = previous."""


def warn_once(key: str, message: str, *args: Any) -> None:
    """Log a warning the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        logging.getLogger("nodeswap.nodes").warning(message, *args)


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

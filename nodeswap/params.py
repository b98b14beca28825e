"""Node params: what a setting is (``Param``), and one class per kind of param that checks and converts a
value (``KINDS``). The editor builds one widget per kind by the same names (nodeswap/editor/widgets.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .errors import ParamError


@dataclass(frozen=True)
class Param:
    """A typed node setting.

    kind: bool, int, float, choice, path, text, color ("#rrggbb") or signal (a button: see SignalKind).
    reload: changing it re-runs ``load`` (models, devices, files); other params
    apply from the next frame. required: a path that must be set to run.
    options: for a path, the values to offer in a list (the DFM models known and found), computed each time
    they are asked for so that they follow the folders; any other value of the kind stays valid (a path).
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
    extensions: tuple[str, ...] = ()  # for path params: the file types the file dialog offers first
    options: Callable[[], tuple[str, ...]] | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this param's kind, or raise ParamError."""
        return KINDS[self.kind].coerce(self, value)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices else None,
            "help": self.help,
        } | ({"options": list(self.options())} if self.options else {})


VIDEOS = (".mp4", ".mkv", ".avi", ".mov", ".webm")
IMAGES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class Kind:
    """One kind of param: how a value given in a file, the CLI or the editor becomes the node's value."""

    name: ClassVar[str] = ""
    value_type: ClassVar[type] = object  # what coerce returns (and a node's values TypedDict declares)

    def coerce(self, spec: Param, value: Any) -> Any:
        raise NotImplementedError


class BoolKind(Kind):
    name = "bool"
    value_type = bool

    def coerce(self, spec: Param, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ParamError(f"expected true or false, got {value!r}")


class FloatKind(Kind):
    name = "float"
    value_type = float

    def coerce(self, spec: Param, value: Any) -> float:
        return float(self.checked(spec, value))

    @staticmethod
    def checked(spec: Param, value: Any) -> float | int:
        """A finite number within the param's range."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"expected a number, got {short(value)}")
        if abs(value) > 2**53 or not math.isfinite(value):
            raise ParamError(f"expected a finite number of sensible size, got {short(value)}")
        if spec.min is not None and value < spec.min:
            raise ParamError(f"{value} is below the minimum {spec.min}")
        if spec.max is not None and value > spec.max:
            raise ParamError(f"{value} is above the maximum {spec.max}")
        return value


class IntKind(Kind):
    name = "int"
    value_type = int

    def coerce(self, spec: Param, value: Any) -> int:
        number = FloatKind.checked(spec, value)
        if float(number) != int(number):
            raise ParamError(f"expected a whole number, got {value!r}")
        return int(number)


class TextKind(Kind):
    name = "text"
    value_type = str

    def coerce(self, spec: Param, value: Any) -> str:
        if not isinstance(value, str):
            raise ParamError(f"expected text, got {short(value)}")
        return value


class PathKind(TextKind):
    name = "path"


class ChoiceKind(Kind):
    name = "choice"
    value_type = str

    def coerce(self, spec: Param, value: Any) -> str:
        if value not in spec.choices:
            raise ParamError(f"{short(value)} is not one of {', '.join(spec.choices)}")
        return str(value)


class ColorKind(TextKind):
    name = "color"
    pattern = re.compile(r"^#[0-9a-fA-F]{6}$")

    def coerce(self, spec: Param, value: Any) -> str:
        text = super().coerce(spec, value)
        if not self.pattern.match(text):
            raise ParamError(f"expected a colour like #ff8800, got {short(value)}")
        return text


class SignalKind(Kind):
    """A button (DeepFaceLive's signals: reset the reference pose, open the camera's dialog). The value
    counts presses; a node acts when it changes (``params_changed``). Never saved, never undone."""

    name = "signal"
    value_type = int

    def coerce(self, spec: Param, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParamError(f"expected a press count (a whole number >= 0), got {short(value)}")
        return value


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (BoolKind(), IntKind(), FloatKind(), ChoiceKind(), PathKind(), TextKind(), ColorKind(), SignalKind())
}
PARAM_KINDS = tuple(KINDS)


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_path(node_id: str, spec: Param, value: str) -> str | None:
    """The problem with a path param's value, or None when it is fine."""
    if not value:
        return "is empty: set it to a file" if spec.required else None
    if spec.must_exist and not Path(value).expanduser().exists():
        return f"file not found: {value}"
    return None

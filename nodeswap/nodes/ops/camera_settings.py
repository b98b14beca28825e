"""A camera's driver settings (exposure, gain, white balance, focus, ...) read from and written to an OpenCV
capture, and kept per camera in the user's config folder, as DeepFaceLive saves them per device."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import cv2
import platformdirs

# The capture properties saved and restored (those this OpenCV build has; DeepFaceLive's list, plus focus).
PROPERTY_NAMES = (
    "CAP_PROP_BRIGHTNESS",
    "CAP_PROP_CONTRAST",
    "CAP_PROP_SATURATION",
    "CAP_PROP_HUE",
    "CAP_PROP_SHARPNESS",
    "CAP_PROP_GAMMA",
    "CAP_PROP_AUTO_WB",
    "CAP_PROP_WB_TEMPERATURE",
    "CAP_PROP_BACKLIGHT",
    "CAP_PROP_GAIN",
    "CAP_PROP_AUTO_EXPOSURE",
    "CAP_PROP_EXPOSURE",
    "CAP_PROP_AUTOFOCUS",
    "CAP_PROP_FOCUS",
)


def settings_file() -> Path:
    return Path(platformdirs.user_config_dir("nodeswap")) / "cameras.json"


def camera_key(backend: str, device: int) -> str:
    return f"{backend}:{device}"


def read_properties(cap: Any) -> dict[str, float]:
    """The properties the driver reports (it answers -1 or 0 for what it does not have; those are skipped
    unless the property is an on/off switch)."""
    found = {}
    for name in PROPERTY_NAMES:
        prop = getattr(cv2, name, None)
        if prop is None:
            continue
        value = float(cap.get(prop))
        if value != -1.0:
            found[name] = value
    return found


def apply_properties(cap: Any, values: dict[str, float]) -> list[str]:
    """Set the saved properties (automatic modes first, so a manual exposure or focus sticks); returns the
    names the driver refused."""
    refused = []
    order = sorted(values, key=lambda n: 0 if "AUTO" in n else 1)
    for name in order:
        prop = getattr(cv2, name, None)
        if prop is None or not cap.set(prop, float(values[name])):
            refused.append(name)
    return refused


def load_all(path: Path | None = None) -> dict[str, dict[str, float]]:
    path = path or settings_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    cameras = data.get("cameras") if isinstance(data, dict) else None
    return cameras if isinstance(cameras, dict) else {}


def saved(key: str, path: Path | None = None) -> dict[str, float] | None:
    entry = load_all(path).get(key)
    return {k: float(v) for k, v in entry.items() if isinstance(v, (int, float))} if isinstance(entry, dict) else None


def save(key: str, values: dict[str, float], path: Path | None = None) -> Path:
    """Store one camera's properties (the file is replaced atomically)."""
    path = path or settings_file()
    cameras = load_all(path)
    cameras[key] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"format": "nodeswap.cameras", "version": 1, "cameras": cameras}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path

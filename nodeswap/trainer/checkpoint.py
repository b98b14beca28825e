"""A model folder: ``model.pt`` (weights, optimiser, RNG states, iteration), ``recipe.json``, ``train.jsonl``,
``preview.png``. Every file is written to a temporary name in the same folder and moved over the old one,
so a crash or kill leaves the previous version whole.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from nodeswap.errors import UserError

CHECKPOINT = "model.pt"
RECIPE = "recipe.json"
LOG = "train.jsonl"
PREVIEW = "preview.png"
FORMAT = "nodeswap.trainer"
VERSION = 1
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk, then replace ``path`` with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; the result gets the usual mode
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def rng_states() -> dict[str, Any]:
    """torch (CPU and CUDA), numpy and Python's random states, as plain values and tensors."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [str(kind), torch.from_numpy(np.asarray(keys, np.int64)), int(pos), int(has_gauss), float(cached)],
        "python": [int(version), list(internal), gauss],
    }


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


def save(folder: Path, state: dict[str, Any]) -> None:
    state = {"format": FORMAT, "version": VERSION, **state, "rng": rng_states()}
    write_atomic(folder / CHECKPOINT, lambda handle: torch.save(state, handle))


def load(folder: Path, device: torch.device | str = "cpu") -> dict[str, Any] | None:
    """The checkpoint in ``folder``, or None when there is none; UserError when it cannot be read. Loaded with
    ``weights_only``: tensors and plain values only, never code."""
    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # pickle and zip errors have many types
        raise UserError(f"model {path}: not a checkpoint nodeswap can read ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"model {path}: not a nodeswap trainer checkpoint")
    if state.get("version", 0) > VERSION:
        raise UserError(f"model {path}: written by a newer nodeswap (format {state.get('version')})")
    return state


def trim_log(folder: Path, iteration: int) -> None:
    """Drop log lines past ``iteration`` (logged after the last checkpoint by a run that was killed)."""
    path = folder / LOG
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        try:
            if int(json.loads(line)["iter"]) <= iteration:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    if len(kept) != len(lines):
        write_text_atomic(path, "".join(f"{line}\n" for line in kept))


def append_log(folder: Path, entry: dict[str, Any]) -> None:
    with open(folder / LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def read_log(folder: Path) -> list[dict[str, Any]]:
    path = folder / LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_weights(net: torch.nn.Module, weights: dict[str, Any], folder: Path) -> None:
    """Load a checkpoint's weights into ``net``; a UserError naming the folder when its networks differ (a model
    trained by an older nodeswap whose networks have since changed)."""
    try:
        net.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise UserError(
            f"model {folder}: its saved networks do not fit this nodeswap's ({first}); it was trained by an older "
            "version: train a new model in another folder"
        ) from None

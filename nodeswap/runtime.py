"""ONNX Runtime sessions: the only module that imports onnxruntime.

Devices are named ``auto``, ``cpu``, ``cuda:N``, ``tensorrt:N``, ``directml:N``,
``coreml`` or ``rocm`` and are mapped onto the providers this onnxruntime build
offers. A device that is not available falls back to the CPU with one warning.
One session is cached per (model file, device, threads) and shared by nodes.
Each session uses one intra-op thread by default (see default_threads).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import NodeLoadError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda:0", "cuda:1", "tensorrt:0", "directml:0", "directml:1", "coreml", "rocm")
_PROVIDER = {
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_AUTO_ORDER = ("cuda", "directml", "coreml", "rocm")
_sessions: dict[tuple[str, str, int, str], Any] = {}
_lock = threading.Lock()
_warned: set[str] = set()


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise NodeLoadError(
            "",
            'onnxruntime is not installed: run  pip install "nodeswap[cpu]"  '
            "(or [cuda] for NVIDIA GPUs, [directml] on Windows)",
        ) from None
    return onnxruntime


def available_providers() -> list[str]:
    """Providers of the installed onnxruntime; empty when it is missing."""
    try:
        return list(_ort().get_available_providers())
    except NodeLoadError:
        return []


def available_devices() -> list[str]:
    """Device names usable here, ``auto`` and ``cpu`` first."""
    have = set(available_providers())
    names = ["auto", "cpu"]
    for kind in ("cuda", "tensorrt", "directml"):
        if _PROVIDER[kind] in have:
            names.append(f"{kind}:0")
    names += [k for k in ("coreml", "rocm") if _PROVIDER[k] in have]
    return names


def providers_for(device: str, available: list[str] | None = None) -> list[Any]:
    """The provider list for ``device``; falls back to CPU with one warning."""
    have = available if available is not None else available_providers()
    kind, _, index = device.partition(":")
    if kind == "auto":
        kind = next((k for k in _AUTO_ORDER if _PROVIDER[k] in have), "cpu")
        index = "0"
    if kind not in _PROVIDER:
        raise NodeLoadError("", f"unknown device '{device}' (use one of {', '.join(DEVICES)})")
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    name = _PROVIDER[kind]
    if name not in have:
        if device not in _warned:
            _warned.add(device)
            log.warning("device %s is not available (%s missing); using the CPU", device, name)
        return ["CPUExecutionProvider"]
    options: dict[str, Any] = {"device_id": int(index or 0)} if kind in ("cuda", "tensorrt", "directml", "rocm") else {}
    return [(name, options), "CPUExecutionProvider"]


def default_threads() -> int:
    """Intra-op threads per session: ``NODESWAP_ORT_THREADS``, else 1.

    The scheduler runs each node in its own thread, so one thread per session
    keeps every core busy without the sessions fighting over them (measured:
    the video_swap preset runs 67 fps with 1 thread against 40 fps with 2 on
    2 cores).
    """
    try:
        return max(1, int(os.environ.get("NODESWAP_ORT_THREADS", "1")))
    except ValueError:
        log.warning("NODESWAP_ORT_THREADS must be a whole number; using 1")
        return 1


def session(
    path: str | Path,
    device: str = "auto",
    threads: int = 0,  # 0: default_threads()
    prepare: Callable[[bytes], bytes] | None = None,
) -> Any:
    """A cached ``InferenceSession`` for the model at ``path`` on ``device``.

    prepare: rewrites the model bytes before loading (e.g. make dims dynamic);
    its qualified name is part of the cache key.
    """
    ort = _ort()
    path = Path(path)
    threads = threads or default_threads()
    key = (str(path.resolve()), device, threads, getattr(prepare, "__qualname__", ""))
    with _lock:
        cached = _sessions.get(key)
        if cached is not None:
            return cached
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        providers = providers_for(device)
        if any(isinstance(p, tuple) and p[0] == "DmlExecutionProvider" for p in providers):
            options.enable_mem_pattern = False
        try:
            data = path.read_bytes()
            if prepare is not None:
                data = prepare(data)
            sess = ort.InferenceSession(data, sess_options=options, providers=providers)
        except OSError as exc:
            raise NodeLoadError("", f"cannot read model {path}: {exc.strerror}") from None
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            from .models import fetch_hint

            message = f"model {path.name} ({path}) is not a valid ONNX model: {first}; {fetch_hint(path.name)}"
            raise NodeLoadError("", message) from None
        _sessions[key] = sess
        log.debug("session %s on %s: %s", path.name, device, sess.get_providers())
        return sess


def clear_cache() -> None:
    with _lock:
        _sessions.clear()

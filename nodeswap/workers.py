"""A node in a worker process of its own, so its Python work does not queue on the scheduler's GIL (as
DeepFaceLive runs each stage in a process). A node class opts in with ``may_run_in_process = True``; the
scheduler then runs ``out_of_process(cls)`` in its place, which looks like the node to the scheduler:
load, process, param changes and unload become messages over a pipe.

A frame's image goes through shared memory (one block, reused while the frame size stays), the rest
(faces, small crops) by pickle.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing as mp
import signal
from collections.abc import Mapping
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any, ClassVar

import numpy as np

from .errors import ModelMissingError, NodeLoadError
from .node import LoadContext, Node
from .types import Frame

_CONTEXT = mp.get_context("spawn")  # a fresh interpreter: no threads or locks copied from the parent


class RemoteError(Exception):
    """A node raised in its worker process; the message keeps the worker's exception type and text."""


def out_of_process(cls: type[Node]) -> type[OutOfProcess]:
    """A stand-in class for ``cls`` (same type id, ports and params) whose instances run one in a worker."""
    attrs = {name: getattr(cls, name) for name in ("type_id", "title", "category", "inputs", "outputs", "params")}
    return type(f"OutOfProcess_{cls.__name__}", (OutOfProcess,), {**attrs, "node_class": cls, "__doc__": cls.__doc__})


class OutOfProcess(Node):
    """Stands for a node of class ``node_class`` running in a worker process (see ``out_of_process``)."""

    node_class: ClassVar[type[Node]] = Node

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._conn: Connection | None = None
        self._process: Any = None
        self._memory: SharedMemory | None = None

    def load(self, ctx: LoadContext) -> None:
        ours, theirs = _CONTEXT.Pipe()
        where = (self.node_class.__module__, self.node_class.__qualname__)
        self._process = _CONTEXT.Process(
            target=serve, args=(theirs, where, self.id, dict(self.values), ctx), name=f"nodeswap-{self.id}", daemon=True
        )
        self._process.start()
        theirs.close()
        self._conn = ours
        kind, detail = self._ask(None)
        if kind != "ok":
            self.unload()
            raise (ModelMissingError if kind == "missing" else NodeLoadError)(self.id, str(detail))
        self._relay(detail)

    def process(self, *args: Any, **inputs: Any) -> dict[str, Any] | None:
        sent = {name: self._share(value) for name, value in inputs.items()}
        kind, detail = self._ask(("process", sent))
        if kind != "ok":
            raise RemoteError(str(detail))
        outputs, warnings = detail
        self._relay(warnings)
        return outputs  # type: ignore[no-any-return]

    def _relay(self, warnings: list[str]) -> None:
        """The worker's node warned: say it here, where the scheduler looks."""
        for message in warnings:
            self.warn(message)

    def params_changed(self, changed: set[str]) -> None:
        self._ask(("values", dict(self.values), changed))

    def unload(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.send(("unload",))
                conn.recv()
            except (EOFError, OSError):
                pass
            conn.close()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
            self._process = None
        if self._memory is not None:
            self._memory.close()
            self._memory.unlink()
            self._memory = None

    def _ask(self, message: tuple[Any, ...] | None) -> tuple[str, Any]:
        """Send ``message`` (None: only wait) and return the worker's answer."""
        if self._conn is None:
            raise RemoteError(f"node '{self.id}' is not loaded")
        try:
            if message is not None:
                self._conn.send(message)
            answer: tuple[str, Any] = self._conn.recv()
            return answer
        except (EOFError, OSError) as exc:
            raise RemoteError(f"the worker process of node '{self.id}' ended: {exc}") from None

    def _share(self, value: Any) -> Any:
        """A Frame's image put in the shared block; the Frame travels with a reference to it instead."""
        if not isinstance(value, Frame):
            return value
        image = value.image
        if self._memory is None or self._memory.size < image.nbytes:
            if self._memory is not None:
                self._memory.close()
                self._memory.unlink()
            self._memory = SharedMemory(create=True, size=image.nbytes)
        np.ndarray(image.shape, image.dtype, buffer=self._memory.buf)[...] = image
        return SharedFrame(replace(value, image=_NO_PIXELS), self._memory.name, image.shape, image.dtype.str)


_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)


@dataclass(frozen=True)
class SharedFrame:
    """A Frame on its way to a worker: its fields, and where its pixels are (a shared memory block's name,
    the image's shape and dtype)."""

    frame: Frame
    block: str
    shape: tuple[int, ...]
    dtype: str


def serve(conn: Connection, where: tuple[str, str], node_id: str, values: Mapping[str, Any], ctx: LoadContext) -> None:
    """The worker process: load the node, then answer messages until told to unload. Ctrl-C is the parent's
    to handle (it unloads the node through the pipe), so the worker ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("nodeswap.nodes").addHandler(logging.NullHandler())  # warnings are said by the parent
    logging.getLogger("nodeswap.nodes").propagate = False
    module, name = where
    blocks: dict[str, SharedMemory] = {}
    try:
        cls: type[Node] = getattr(importlib.import_module(module), name)
        node = cls(node_id, dict(values))
        node.load(ctx)
    except Exception as exc:
        kind = "missing" if isinstance(exc, ModelMissingError) else "error"
        message = str(exc) if isinstance(exc, NodeLoadError) else f"failed to load: {exc}"
        conn.send((kind, message.removeprefix(f"node '{node_id}': ")))
        return
    conn.send(("ok", node.take_warnings()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "unload":
            node.unload()
            conn.send(("ok", None))
            break
        try:
            if message[0] == "values":
                node.values = message[1]
                node.params_changed(message[2])
                conn.send(("ok", None))
                continue
            inputs = {k: _local(v, blocks) for k, v in message[1].items()}
            outputs = node.process(**inputs)
            conn.send(("ok", (outputs, node.take_warnings())))
        except Exception as exc:  # reported on the node, as in a thread
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    for block in blocks.values():
        block.close()


def _local(value: Any, blocks: dict[str, SharedMemory]) -> Any:
    """A SharedFrame as a Frame with a read-only array over the shared memory."""
    if not isinstance(value, SharedFrame):
        return value
    shared = value
    if shared.block not in blocks:
        for block in blocks.values():
            block.close()
        blocks.clear()
        blocks[shared.block] = SharedMemory(name=shared.block)  # the parent's resource tracker: it unlinks it
    image = np.ndarray(shared.shape, np.dtype(shared.dtype), buffer=blocks[shared.block].buf)
    image.flags.writeable = False
    return replace(shared.frame, image=image)

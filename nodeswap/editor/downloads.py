"""Model downloads from the editor: a "Download <model>" button in the inspector for each model a node needs
that is missing and that the manifest can fetch, the download in a background thread (never the GUI thread)
with its progress in the status bar and on the button, and the nodes that needed it reloaded once it is here.

No dearpygui here: the worker, the choice of models and what happens when one arrives are tested without a
display (tests/test_editor_downloads.py); the inspector draws the buttons.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import models
from ..errors import ModelMissingError, UserError
from ..graph import Graph


@dataclass(frozen=True)
class Progress:
    name: str
    done: int  # bytes so far
    total: int | None  # None: the server did not say


@dataclass(frozen=True)
class Done:
    name: str
    path: Path


@dataclass(frozen=True)
class Failed:
    name: str
    message: str


DownloadEvent = Progress | Done | Failed
Fetch = Callable[[str, models.ProgressFn], Path]  # (model name, progress) -> the file saved


def _fetch(name: str, progress: models.ProgressFn) -> Path:
    return models.fetch(name, progress=progress)


class Downloads:
    """Model downloads in background threads, one per model. ``start`` and ``poll`` are for the GUI thread:
    ``poll`` returns what happened since (progress at most every ``every`` seconds, then done or failed)."""

    def __init__(self, fetch: Fetch = _fetch, every: float = 0.1) -> None:
        self.fetch = fetch
        self.every = every
        self.events: queue.Queue[DownloadEvent] = queue.Queue()
        self.progress: dict[str, Progress] = {}  # the downloads under way, as far as ``poll`` has seen
        self._threads: dict[str, threading.Thread] = {}

    def start(self, name: str) -> bool:
        """Download ``name`` in the background; False when it is already under way."""
        if name in self._threads:
            return False
        self.progress[name] = Progress(name, 0, None)
        thread = threading.Thread(target=self._work, args=(name,), name=f"nodeswap-download-{name}", daemon=True)
        self._threads[name] = thread
        thread.start()
        return True

    def busy(self, name: str) -> bool:
        return name in self._threads

    def _work(self, name: str) -> None:
        last = 0.0

        def report(done: int, total: int | None) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= self.every or (total is not None and done >= total):
                last = now
                self.events.put(Progress(name, done, total))

        try:
            path = self.fetch(name, report)
        except UserError as exc:
            self.events.put(Failed(name, str(exc)))
        except Exception as exc:  # never let a download thread die unheard
            self.events.put(Failed(name, f"{type(exc).__name__}: {exc}"))
        else:
            self.events.put(Done(name, path))

    def poll(self) -> list[DownloadEvent]:
        found: list[DownloadEvent] = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return found
            if isinstance(event, Progress):
                if event.name in self._threads:
                    self.progress[event.name] = event
            else:
                self.progress.pop(event.name, None)
                self._threads.pop(event.name, None)
            found.append(event)

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the downloads under way (tests)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)


def progress_text(event: Progress) -> str:
    """'downloading X: 45% (12.0 of 26.7 MB)', or the bytes so far when the size is not known."""
    done = event.done / 1e6
    if event.total:
        return f"downloading {event.name}: {event.done / event.total:.0%} ({done:.1f} of {event.total / 1e6:.1f} MB)"
    return f"downloading {event.name}: {done:.1f} MB"


NETWORK_WORDS = (  # what urllib and the OS say -> what a user can act on
    (
        ("name resolution", "not known", "getaddrinfo", "nodename nor servname"),
        "no internet connection (the server's name could not be looked up)",
    ),
    (("timed out",), "the server did not answer in time"),
    (("Connection refused",), "the server refused the connection"),
    (("Connection reset", "RemoteDisconnected"), "the connection broke off"),
    (("CERTIFICATE_VERIFY_FAILED",), "the server's certificate could not be verified"),
    (("Network is unreachable",), "the network is unreachable"),
)


def readable(message: str) -> str:
    """A failed fetch's message ('could not fetch X: URL: <urlopen error [Errno -3] ...>; URL2: ...') in
    words: each distinct reason once, without URLs or Python's error names."""
    reasons: list[str] = []
    for part in message.split(": ", 1)[-1].split("; "):
        reason = part.split(": ", 1)[-1] if "://" in part.split(": ", 1)[0] else part
        http = re.search(r"HTTP Error (\d+): ?(.*)", reason)
        words = next((w for keys, w in NETWORK_WORDS if any(k in reason for k in keys)), None)
        if http:
            words = f"the server answered {http.group(1)} {http.group(2)}".strip()
        elif words is None:
            words = re.sub(r"<urlopen error (?:\[Errno [^\]]*\] )?(.*)>", r"\1", reason)
        if words not in reasons:
            reasons.append(words)
    return "; ".join(reasons) or message


def button_label(name: str, progress: Progress | None) -> str:
    if progress is None:
        return f"Download {name}"
    if progress.total:
        return f"Downloading {name}: {progress.done / progress.total:.0%}"
    return f"Downloading {name}..."


def _needed(graph: Graph, node_id: str) -> list[tuple[str, ...]]:
    try:
        node = graph.node_class(node_id)(node_id, graph.param_values(node_id))
        return node.required_models()
    except (UserError, KeyError):  # a node whose params or type are wrong: its own message says so
        return []


def _present(name: str) -> bool:
    try:
        models.model_path(name)
    except ModelMissingError:
        return False
    return True


def missing_models(graph: Graph, node_id: str) -> list[str]:
    """The manifest names of the models the node needs (with its params now) that are not on this machine
    (or corrupt) and that the manifest can fetch: one per set of alternatives, the first fetchable one."""
    found: list[str] = []
    for alternatives in _needed(graph, node_id):
        if any(_present(name) for name in alternatives):
            continue
        infos = (models.lookup(name) for name in alternatives)
        fetchable = next((info.name for info in infos if info is not None and info.urls), None)
        if fetchable and fetchable not in found:
            found.append(fetchable)
    return found


def needs(graph: Graph, node_id: str, name: str) -> bool:
    """Whether the node (with its params now) looks up the model ``name``."""
    wanted = models.lookup(name)
    for alternatives in _needed(graph, node_id):
        for other in alternatives:
            info = models.lookup(other)
            if other == name or (wanted is not None and info is not None and info.name == wanted.name):
                return True
    return False


class ModelDownloads:
    """The editor's side: a button starts a download, each tick says how far it is, and when a model arrives
    the nodes that needed it load again: reloaded in a running graph (as a model param edit does), or the
    run that failed for it starts again."""

    def __init__(self, app: Any, downloads: Downloads | None = None) -> None:
        self.app = app
        self.downloads = downloads or Downloads()

    def start(self, name: str) -> None:
        if self.downloads.start(name):
            self.app.status(f"downloading {name}...")
        self.app.inspector.refresh_downloads()

    def tick(self) -> None:
        events = self.downloads.poll()
        for event in events:
            if isinstance(event, Progress):
                self.app.status(progress_text(event))
            elif isinstance(event, Failed):
                self.failed(event.name, event.message)
            else:
                self.arrived(event.name, event.path)
        if events:
            self.app.inspector.refresh_downloads()

    def failed(self, name: str, message: str) -> None:
        """A download that failed: why in words, on the status bar and on each node that needs the model."""
        app, graph = self.app, self.app.graph
        text = f"download of {name} failed: {readable(message)}; press 'Download {name}' to try again"
        for node_id in [n for n in graph.nodes if needs(graph, n, name)]:
            app.canvas.set_error(node_id, text)
        app.status(text, error=True)

    def arrived(self, name: str, path: Path) -> None:
        app, graph = self.app, self.app.graph
        app.widgets.refresh_options(force=True)  # a .dfm model: the model lists offer it
        nodes = [n for n in graph.nodes if needs(graph, n, name)]
        failed = [n for n in nodes if n in app.canvas.errors]
        for node_id in failed:
            app.canvas.set_error(node_id, None)
        text = f"downloaded {name} to {path}"
        if app.runner.busy:
            reloaded = [n for n in nodes if reload_node(app.runner, graph, n)]
            text += f"; reloading {', '.join(reloaded)}" if reloaded else ""
        elif failed:  # the run stopped for want of it: run again
            app.run(live=app.runner.live)
            text += "; running again"
        app.status(text)


def reload_node(runner: Any, graph: Graph, node_id: str) -> bool:
    """Make a running node load again, as an edit of its model param does: its first ``reload`` param sent
    with the value it has. False when it has none."""
    spec = next((p for p in graph.node_class(node_id).params if p.reload), None)
    if spec is None:
        return False
    runner.set_param(node_id, spec.name, graph.param_values(node_id)[spec.name])
    return True

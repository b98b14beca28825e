"""The editor's model downloads without a display: the background worker (with fake download functions),
which models a node gets a "Download" button for, and what happens when one arrives."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nodeswap import models
from nodeswap.editor.downloads import (
    Done,
    Downloads,
    Failed,
    ModelDownloads,
    Progress,
    button_label,
    missing_models,
    needs,
    progress_text,
)
from nodeswap.errors import UserError
from nodeswap.graph import Graph
from nodeswap.registry import default_registry
from tests import onnx_builders as ob


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty model folders; returns the user's models folder (where downloads go)."""
    for name in ("env", "user", "cache"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path / "env"))
    monkeypatch.setattr(models, "user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(models, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.delenv(models.MIRROR_ENV, raising=False)
    return tmp_path / "user"


def drain(downloads: Downloads, timeout: float = 10.0) -> list[Any]:
    """Poll until a download ends (as the editor's ticks do); every event seen."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += downloads.poll()
        if seen and not isinstance(seen[-1], Progress):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"no end of the download: {seen}")


def test_the_worker_runs_off_the_calling_thread_and_reports_progress(tmp_path: Path) -> None:
    release = threading.Event()
    threads: list[str] = []

    def fetch(name: str, progress: Any) -> Path:
        threads.append(threading.current_thread().name)
        for done in range(0, 101, 10):
            progress(done, 100)
            if done == 50:
                release.wait(5)
        return tmp_path / f"{name}.dfm"

    downloads = Downloads(fetch, every=0.0)
    assert downloads.start("Joker") and downloads.busy("Joker")
    assert not downloads.start("Joker")  # one download of a model at a time
    deadline = time.monotonic() + 5
    while downloads.progress["Joker"].done < 50 and time.monotonic() < deadline:
        downloads.poll()
        time.sleep(0.01)
    assert downloads.progress["Joker"] == Progress("Joker", 50, 100)  # the GUI thread sees it half way
    assert button_label("Joker", downloads.progress["Joker"]) == "Downloading Joker: 50%"
    release.set()
    events = drain(downloads)
    assert events[-1] == Done("Joker", tmp_path / "Joker.dfm")
    assert [e.done for e in events if isinstance(e, Progress)][-1] == 100
    assert threads == ["nodeswap-download-Joker"] and threads[0] != threading.current_thread().name
    assert downloads.progress == {} and not downloads.busy("Joker")
    assert button_label("Joker", None) == "Download Joker"


def test_progress_is_throttled_and_failures_are_reported() -> None:
    def chatty(name: str, progress: Any) -> Path:
        for done in range(1, 10001):
            progress(done, 10000)
        raise UserError(f"could not fetch {name}: offline")

    downloads = Downloads(chatty, every=10.0)
    downloads.start("Rob_Doe")
    events = drain(downloads)
    assert events[-1] == Failed("Rob_Doe", "could not fetch Rob_Doe: offline")
    assert len(events) <= 3  # the first block and the last, not ten thousand
    downloads.start("Rob_Doe")  # a failed download can be tried again
    assert isinstance(drain(downloads)[-1], Failed)
    broken = Downloads(lambda name, progress: 1 / 0)  # type: ignore[arg-type, return-value]
    broken.start("x")
    assert drain(broken)[-1] == Failed("x", "ZeroDivisionError: division by zero")
    assert progress_text(Progress("Joker", 12_000_000, 48_000_000)) == "downloading Joker: 25% (12.0 of 48.0 MB)"
    assert progress_text(Progress("Joker", 2_500_000, None)) == "downloading Joker: 2.5 MB"


def test_a_real_fetch_with_a_fake_network(folders: Path, tmp_path: Path) -> None:
    """models.fetch in the worker: the download function reports progress, the DFM is checked and saved."""
    data = ob.build_dfm(tmp_path / "model.dfm", res=32).read_bytes()

    def download(url: str, progress: Any) -> bytes:
        for end in range(0, len(data), 4096):
            progress(min(end + 4096, len(data)), len(data))
        return data

    downloads = Downloads(lambda name, progress: models.fetch(name, progress=progress, download=download), 0.0)
    downloads.start("Keanu_Reeves")
    events = drain(downloads)
    assert events[-1] == Done("Keanu_Reeves", folders / "Keanu_Reeves.dfm")
    assert Progress("Keanu_Reeves", len(data), len(data)) in events
    assert (folders / "Keanu_Reeves.dfm").read_bytes() == data


def test_which_models_get_a_download_button(folders: Path, tmp_path: Path) -> None:
    graph = Graph(default_registry())
    graph.add_node("swap.dfm", "dfm", {"model": "Keanu_Reeves.dfm"})
    graph.add_node("swap.inswapper", "ins")
    graph.add_node("swap.dfm", "mine", {"model": "my_own.dfm"})  # not in the manifest: nowhere to fetch it
    graph.add_node("swap.dfm", "path", {"model": str(tmp_path / "gone.dfm")})  # a path: the user's file
    assert missing_models(graph, "dfm") == ["Keanu_Reeves"]
    assert missing_models(graph, "ins") == ["inswapper_128", "w600k_r50"]
    assert missing_models(graph, "mine") == [] and missing_models(graph, "path") == []
    assert needs(graph, "dfm", "Keanu_Reeves") and not needs(graph, "ins", "Keanu_Reeves")
    ob.build_dfm(folders / "Keanu_Reeves.dfm", res=32)
    assert missing_models(graph, "dfm") == []  # here now: no button


class FakeApp:
    """What ModelDownloads uses of the editor."""

    def __init__(self, graph: Graph, busy: bool, errors: dict[str, str]) -> None:
        self.graph = graph
        self.calls: list[tuple[Any, ...]] = []
        self.runner = self
        self.busy, self.live = busy, True
        self.canvas = self
        self.errors = dict(errors)
        self.widgets = self
        self.inspector = self
        self.message = ""

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        self.calls.append(("set_param", node_id, name, value))

    def set_error(self, node_id: str, message: str | None) -> None:
        self.errors.pop(node_id, None)

    def run(self, live: bool) -> None:
        self.calls.append(("run", live))

    def status(self, text: str, error: bool = False) -> None:
        self.message = text

    def refresh_options(self, force: bool = False) -> None:
        self.calls.append(("refresh_options",))

    def refresh_downloads(self) -> None:
        self.calls.append(("refresh_downloads",))


def test_an_arrived_model_reloads_its_nodes_or_reruns_the_run_that_failed(folders: Path) -> None:
    graph = Graph(default_registry())
    graph.add_node("swap.dfm", "swap", {"model": "Keanu_Reeves.dfm"})
    graph.add_node("swap.dfm", "other", {"model": "Joker.dfm"})
    path = folders / "Keanu_Reeves.dfm"
    # running: the node loads again in the background, as when its model param is edited
    running = FakeApp(graph, busy=True, errors={"swap": "model 'Keanu_Reeves.dfm' not found"})
    ModelDownloads(running).arrived("Keanu_Reeves", path)
    assert ("set_param", "swap", "model", "Keanu_Reeves.dfm") in running.calls
    assert not any(c[0] == "set_param" and c[1] == "other" for c in running.calls)
    assert running.errors == {} and running.message == f"downloaded Keanu_Reeves to {path}; reloading swap"
    assert ("refresh_options",) in running.calls  # the model lists offer the new file
    # the run could not start for want of it: it starts again, live as it was
    failed = FakeApp(graph, busy=False, errors={"swap": "model 'Keanu_Reeves.dfm' not found"})
    ModelDownloads(failed).arrived("Keanu_Reeves", path)
    assert ("run", True) in failed.calls and failed.message.endswith("; running again")
    # downloaded before any run: nothing starts by itself
    idle = FakeApp(graph, busy=False, errors={})
    ModelDownloads(idle).arrived("Keanu_Reeves", path)
    assert not any(c[0] in ("run", "set_param") for c in idle.calls)
    # through the worker: a tick polls, says so in the status bar, refreshes the buttons
    downloads = Downloads(lambda name, progress: path, every=0.0)
    app = FakeApp(graph, busy=True, errors={})
    editor_side = ModelDownloads(app, downloads)
    editor_side.start("Keanu_Reeves")
    assert app.message == "downloading Keanu_Reeves..."
    downloads.join()
    editor_side.tick()
    assert app.message.startswith("downloaded Keanu_Reeves") and ("refresh_downloads",) in app.calls

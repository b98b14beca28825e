"""Issue 24 without a display: every problem of a node at once with its fix (the editor's wording), and a
failed download in words on the node that needs the model."""

from __future__ import annotations

import socket
import urllib.error
from pathlib import Path
from typing import Any

from nodeswap import models
from nodeswap.editor.downloads import Downloads, ModelDownloads, readable
from nodeswap.graph import Graph
from nodeswap.registry import default_registry
from nodeswap.validate import node_problems, run_issues
from tests.test_editor_downloads import FakeApp, folders

__all__ = ["folders"]  # the pytest fixture: empty model folders


class ErrorsApp(FakeApp):
    def set_error(self, node_id: str, message: str | None) -> None:
        if message:
            self.errors[node_id] = message
        else:
            self.errors.pop(node_id, None)


def test_every_missing_model_of_a_node_with_its_download_button(folders: Path) -> None:
    graph = Graph(default_registry())
    graph.add_node("swap.inswapper", "swap", {})
    graph.add_node("swap.dfm", "dfm", {"model": "Keanu_Reeves.dfm"})
    said = node_problems(graph, "swap")  # the photo to set and both models, at once
    assert len(said) == 3 and said[0] == "param 'source': is empty: set it to a file"
    assert "inswapper_128.onnx" in said[1] and "w600k_r50.onnx" in said[2]
    assert all("press 'Download" in s and "models fetch" not in s for s in said[1:])
    assert node_problems(graph, "dfm") == [
        "model 'Keanu_Reeves.dfm' is not on this machine: press 'Download Keanu_Reeves' in the node's inspector"
    ]
    graph.set_bypass("dfm", True)
    assert node_problems(graph, "dfm") == []
    assert run_issues(graph, editor=True)[0].where == ""  # no sink: the structure comes first


def test_a_failed_download_reads_as_words_on_the_node(folders: Path) -> None:
    def offline(url: str, progress: Any) -> bytes:
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    graph = Graph(default_registry())
    graph.add_node("swap.dfm", "swap", {"model": "Keanu_Reeves.dfm"})
    downloads = Downloads(lambda name, progress: models.fetch(name, progress=progress, download=offline), every=0.0)
    app = ErrorsApp(graph, busy=False, errors={})
    side = ModelDownloads(app, downloads)
    side.start("Keanu_Reeves")
    downloads.join()
    side.tick()
    assert "urlopen" not in app.message and "Errno" not in app.message and "http" not in app.message
    assert app.message.startswith("download of Keanu_Reeves failed: no internet connection")
    assert app.message.endswith("press 'Download Keanu_Reeves' to try again")
    assert app.errors == {"swap": app.message}  # on the node that needs it, not only the status bar
    assert readable("could not fetch x: https://a/x: HTTP Error 404: Not Found") == "the server answered 404 Not Found"


def test_a_node_shows_its_unmet_link_with_its_empty_param() -> None:
    """Issue 24, stumble 7: a marker switched to pfld68 under a morph swap without its photo: the swap's
    problems name both, not the photo first and the landmarks only once it is set."""
    from tests.test_validate import swap_chain

    graph = swap_chain()
    graph.set_param("marker", "model", "pfld68")  # an edit after the links, as in the editor
    said = node_problems(graph, "swapper")
    assert said[0].startswith("param 'source_image'")
    assert any("needs landmarks=468" in s for s in said), said

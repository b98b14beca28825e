"""A missing model downloaded from the inspector, a node reset to its defaults, and a DFM model switch that
stores the model's params, in the real editor window (Xvfb, xdotool). The download comes from a local
mirror (NODESWAP_MODEL_MIRROR): no network."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests import onnx_builders as ob
from tests.gui import fixtures
from tests.gui.driver import Editor
from tests.gui.fixtures import start, title_point

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui


def test_download_a_missing_dfm_then_reset_and_switch_models(
    display: str, editors: list[Editor], tmp_path: Path
) -> None:
    for name in ("env", "mirror", "data", "cache"):
        (tmp_path / name).mkdir()
    ob.build_dfm(tmp_path / "mirror" / "Keanu_Reeves.dfm", res=32)
    graph = tmp_path / "dfm.json"
    nodes = {"swap": {"type": "swap.dfm", "params": {"model": "Keanu_Reeves.dfm", "morph_factor": 0.5}}}
    data = {"format": "nodeswap.graph", "version": 1, "nodes": nodes, "links": [], "layout": {"swap": [40, 40]}}
    graph.write_text(json.dumps(data))
    env = {
        "NODESWAP_MODELS": str(tmp_path / "env"),
        "NODESWAP_MODEL_MIRROR": str(tmp_path / "mirror"),
        "XDG_DATA_HOME": str(tmp_path / "data"),  # the user's models folder, where downloads go
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    editor = start(editors, display, tmp_path, graph, **env)
    editor.click(title_point(editor.wait(lambda p: "swap" in p["nodes"], 10, "the node drawn")["nodes"]["swap"]))
    probe = editor.wait(lambda p: p["inspector"]["downloads"].get("Keanu_Reeves"), 10, "the Download button")
    # the node's to-do list above it (issue 24) moves it down: aim where a frame drawn since puts it
    editor.wait(lambda p: "to do: model 'Keanu_Reeves.dfm'" in p["inspector"]["notes"], 10, "the to-do list")
    probe = editor.fresh()
    assert probe["inspector"]["download_labels"] == ["Download Keanu_Reeves"]

    editor.click_item(probe["inspector"]["downloads"]["Keanu_Reeves"], "Download Keanu_Reeves")
    probe = editor.wait(lambda p: p["status"].startswith("downloaded Keanu_Reeves"), 30, "the download")
    saved = tmp_path / "data" / "nodeswap" / "models" / "Keanu_Reeves.dfm"
    assert saved.read_bytes() == (tmp_path / "mirror" / "Keanu_Reeves.dfm").read_bytes()
    assert "Keanu_Reeves.dfm" in (saved.parent / "known_hashes.json").read_text()  # its sha256, for later
    gone = editor.wait(lambda p: not p["inspector"]["downloads"], 10, "the button gone once the model is here")
    # the params moved up where the button was: aim with a probe of a frame drawn since
    for _ in range(10):  # an idle editor draws (and writes its probe) every few seconds: the mouse wakes it
        editor.move(Editor.center(gone["canvas"]))
        editor.move(title_point(gone["canvas"]))
        if editor.probe().get("frame", 0) > gone["frame"] + 2:
            break
        time.sleep(0.5)
    probe = editor.wait(lambda p: p["frame"] > gone["frame"] + 2, 20, "the inspector drawn without the button")

    # Reset to defaults: one undo step, the model stays
    editor.click_item(probe["inspector"]["reset"], "Reset to defaults")
    editor.wait(lambda p: p["graph"]["nodes"]["swap"]["params"] == {"model": "Keanu_Reeves.dfm"}, 10, "the reset")
    editor.key("ctrl+z")
    probe = editor.wait(lambda p: p["graph"]["nodes"]["swap"]["params"].get("morph_factor") == 0.5, 10, "undone")

    # another model from the list (a row of it: the list opens scrolled to the current model, so try a second
    # row should the first be Keanu's): his morph factor is stored, the new model starts at the defaults;
    # undo brings it all back
    combo = probe["inspector"]["params"]["model"]
    for row in (2, 5):
        editor.click(Editor.center(combo))
        time.sleep(0.5)
        editor.click((combo[0] + 40, combo[1] + combo[3] + 8 + 17 * row))
        try:
            probe = editor.wait(lambda p: p["graph"]["nodes"]["swap"]["params"].get("model") != "Keanu_Reeves.dfm", 5)
            break
        except AssertionError:
            editor.key("Escape")
    else:
        raise AssertionError("no other model picked from the list")
    swap = probe["graph"]["nodes"]["swap"]
    assert swap["params"] == {"model": swap["params"]["model"]} and swap["params"]["model"].endswith(".dfm")
    assert swap["remembered"] == {"Keanu_Reeves.dfm": {"morph_factor": 0.5}}
    editor.key("ctrl+z")
    probe = editor.wait(lambda p: p["graph"]["nodes"]["swap"]["params"].get("model") == "Keanu_Reeves.dfm", 10, "undo")
    assert probe["graph"]["nodes"]["swap"]["params"]["morph_factor"] == 0.5
    assert "remembered" not in probe["graph"]["nodes"]["swap"]

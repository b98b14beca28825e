"""The editor used as a person uses it: a real window under Xvfb, real mouse drags and key
presses (xdotool), real models and the real Obama video. The editor's probe file only tells
the test where things are on screen; screenshots and saved files are checked for results.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nodeswap.nodes.ops import blend
from tests.gui import fixtures
from tests.gui.checks import face_change, preview_region, video_frame
from tests.gui.driver import Editor
from tests.gui.fixtures import quit_editor, settled_shot, start, title_point, video_frame_count

display, editors = fixtures.display, fixtures.editors  # pytest fixtures used by the tests below

pytestmark = pytest.mark.gui

SWAP_CHAIN = [  # palette entry, node id it gets
    ("source.media", "source"),
    ("detect.face", "detector"),
    ("mark.face", "marker"),
    ("swap.morph", "swapper"),
    ("merge.faces", "merger"),
    ("sink.preview", "sink"),
]
SWAP_LINKS = [
    ("source.frame", "detector.frame"),
    ("source.frame", "marker.frame"),
    ("detector.faces", "marker.faces"),
    ("source.frame", "swapper.frame"),
    ("marker.faces", "swapper.faces"),
    ("source.frame", "merger.frame"),
    ("swapper.faces", "merger.faces"),
    ("merger.frame", "sink.frame"),
]


def test_build_swap_graph_run_tweak_save_reopen(
    display: str, editors: list[Editor], tmp_path: Path, models_dir: Path, obama: Path, photos: list[Path]
) -> None:
    doc = tmp_path / "built.json"
    editor = start(editors, display, tmp_path, doc, NODESWAP_MODELS=str(models_dir))
    probe = editor.probe()
    assert probe["graph"]["nodes"] == {} and "will be created when you save" in probe["status"]

    # nodes from the palette: five by click, the merger by typing in the search box and Enter
    for type_id, node_id in SWAP_CHAIN:
        if type_id == "merge.faces":
            editor.enter_text(probe["search"], "merger")
        else:
            editor.click_item(probe["palette"][type_id], type_id)
        probe = editor.wait(lambda p, n=node_id: n in p["graph"]["nodes"] and n in p["nodes"], 10, f"node {node_id}")
    assert [n["type"] for n in probe["graph"]["nodes"].values()] == [t for t, _ in SWAP_CHAIN]

    # links by dragging from output pins to input pins
    for src, dst in SWAP_LINKS:
        pins = editor.fresh()["pins"]
        editor.drag(pins[f"{src}:out"], pins[f"{dst}:in"])
        probe = editor.wait(lambda p, s=src, d=dst: {"from": s, "to": d} in p["graph"]["links"], 10, f"{src}->{dst}")

    # an incompatible link is refused, with the reason on screen
    pins = probe["pins"]
    editor.drag(pins["detector.faces:out"], pins["merger.frame:in"])
    probe = editor.wait(lambda p: p["status_error"] and "link refused" in p["status"], 10, "the refusal")
    assert "cannot link output type 'faces' to input type 'frame'" in probe["status"] and probe["refusal_shown"]
    editor.screenshot(tmp_path / "refused.png")
    assert len(probe["graph"]["links"]) == len(SWAP_LINKS)

    # Run with the source path still empty says which param to set
    editor.click_item(probe["buttons"]["run_live"], "Run live")
    probe = editor.wait(lambda p: "cannot run" in p["status"], 10, "run refusal")
    assert "node 'source' param 'path'" in probe["status"] and probe["state"] == "idle"
    editor.screenshot(tmp_path / "empty-path.png")

    # params typed into the nodes' path fields, a slider dragged
    editor.enter_text(probe["params"]["source.path"], str(obama))
    editor.wait(lambda p: p["graph"]["nodes"]["source"]["params"].get("path") == str(obama), 10, "source path")
    probe = editor.fresh()
    editor.enter_text(probe["params"]["swapper.source_image"], str(photos[1]))
    probe = editor.wait(
        lambda p: p["graph"]["nodes"]["swapper"]["params"].get("source_image") == str(photos[1]), 10, "swapper photo"
    )
    editor.click(Editor.center(probe["params"]["source.loop"]))  # checkbox: loop the video
    probe = editor.wait(lambda p: p["graph"]["nodes"]["source"]["params"].get("loop") is True, 10, "loop on")

    # run live; the merger's preview shows the swapped face
    editor.click_item(probe["buttons"]["run_live"], "Run live")
    probe = editor.wait(lambda p: p["state"] == "running" and (p["stats"]["frames"] or 0) >= 10, 120, "frames")
    editor.click(title_point(probe["nodes"]["merger"]))
    editor.wait(lambda p: p["inspector"]["node"] == "merger" and p["preview"]["node"] == "merger", 10, "inspect")
    probe = editor.fresh()
    for node_id in ("source", "detector", "marker", "swapper", "merger"):
        assert probe["node_stats"][node_id]["calls"] > 0 and probe["node_stats"][node_id]["errors"] == 0, node_id
    editor.key("space")  # pause
    editor.wait(lambda p: p["state"] == "paused", 10, "pause")
    swapped_shot, probe = settled_shot(editor, tmp_path / "swapped.png")
    place = probe["preview"]["placement"]
    # the merger's default colour compression (DeepFaceLive's 1.0, levels lifted by 2 / c) touches the whole frame
    original = blend.color_compress(video_frame(obama, place["frame_index"]), 1.0)

    # the face box, from the swapper's preview (faces drawn over the frame, crops below)
    editor.click(title_point(probe["nodes"]["swapper"]))
    probe = editor.wait(
        lambda p: p["preview"]["node"] == "swapper" and p["preview"]["placement"]["faces"] == 1, 10, "swapper preview"
    )
    assert probe["preview"]["placement"]["swapped"] == 1
    assert probe["preview"]["placement"]["frame_index"] == place["frame_index"]
    box = probe["preview"]["placement"]["boxes"][0]
    editor.screenshot(tmp_path / "swapper-preview.png")

    def face_and_rest(shot: Path, shown_probe: dict) -> tuple[float, float]:
        return face_change(preview_region(shot, shown_probe, editor.origin), original, box, place["scale"])

    swapped_face, swapped_rest = face_and_rest(
        swapped_shot, place_probe := dict(probe, preview={**probe["preview"], "placement": place})
    )
    assert swapped_face > 5.0 and swapped_rest < 1.5, (swapped_face, swapped_rest)  # the face changed, only it

    # a param change on the paused video re-renders the frame: opacity 0 shows the original face
    editor.click(title_point(probe["nodes"]["merger"]))
    probe = editor.wait(lambda p: p["inspector"]["node"] == "merger", 10, "merger inspected")
    slider = probe["params"]["merger.opacity"]
    editor.drag((slider[0] + 136, slider[1] + slider[3] / 2), (slider[0] + 1, slider[1] + slider[3] / 2))
    probe = editor.wait(lambda p: p["graph"]["nodes"]["merger"]["params"].get("opacity") == 0.0, 10, "opacity 0")
    undo_steps = probe["history"]["undo"]
    plain_shot, probe = settled_shot(editor, tmp_path / "opacity0.png", same_frame=place["frame_index"])
    plain_face, _ = face_and_rest(plain_shot, place_probe)
    assert plain_face < swapped_face / 4, (plain_face, swapped_face)

    # the drag was one undo step: Ctrl+Z brings the swap back on the same paused frame
    editor.key("ctrl+z")
    probe = editor.wait(lambda p: p["graph"]["nodes"]["merger"]["params"].get("opacity", 1.0) == 1.0, 10, "undo")
    assert probe["history"]["undo"] == undo_steps - 1
    again_shot, probe = settled_shot(editor, tmp_path / "undone.png", same_frame=place["frame_index"])
    again_face, _ = face_and_rest(again_shot, place_probe)
    assert again_face > swapped_face * 0.6, (again_face, swapped_face)

    # stop, save, quit; the file holds what was built
    editor.click_item(probe["buttons"]["stop"], "Stop")
    editor.wait(lambda p: p["state"] == "idle", 30, "stopped")
    editor.key("ctrl+s")
    probe = editor.wait(lambda p: not p["dirty"] and doc.exists(), 10, "saved")
    saved = json.loads(doc.read_text())
    assert {k: v["type"] for k, v in saved["nodes"].items()} == {n: t for t, n in SWAP_CHAIN}
    assert sorted((x["from"], x["to"]) for x in saved["links"]) == sorted(SWAP_LINKS)
    assert saved["nodes"]["source"]["params"] == {"path": str(obama), "loop": True}
    assert saved["nodes"]["swapper"]["params"] == {"source_image": str(photos[1])}
    assert set(saved["layout"]) == set(saved["nodes"])
    assert quit_editor(editor) == 0

    # reopen: the same graph; saving again gives the same bytes
    first_bytes = doc.read_bytes()
    again = start(editors, display, tmp_path, doc, NODESWAP_MODELS=str(models_dir))
    probe = again.wait(lambda p: p["path"] == str(doc) and len(p["nodes"]) == len(SWAP_CHAIN), 20, "reopened")
    assert probe["graph"] == saved and not probe["dirty"]
    again.key("ctrl+s")
    again.wait(lambda p: "saved" in p["status"], 10, "saved again")
    assert doc.read_bytes() == first_bytes
    assert quit_editor(again) == 0


def test_preset_offline_render_and_live_preview(
    display: str, editors: list[Editor], tmp_path: Path, models_dir: Path, obama: Path, photos: list[Path]
) -> None:
    preset = Path(__file__).resolve().parents[1] / "graphs" / "video_swap.json"
    assert preset.is_file(), "graphs/video_swap.json (the default preset) is missing"
    editor = start(editors, display, tmp_path, tmp_path / "scratch.json", NODESWAP_MODELS=str(models_dir))
    probe = editor.probe()
    editor.click_item(probe["presets"]["_header"], "Presets")
    probe = editor.wait(lambda p: "video_swap" in p["presets"], 10, "the preset list")
    editor.click_item(probe["presets"]["video_swap"], "video_swap")
    probe = editor.wait(lambda p: "preset" in p["title"] and len(p["nodes"]) == 6, 15, "the preset, all in view")
    assert probe["path"] is None  # a preset opens as a new graph: saving never overwrites it

    # presets ship empty paths: the nodes show it and Run says which param to set
    editor.click_item(probe["buttons"]["run_offline"], "Run offline")
    probe = editor.wait(lambda p: "cannot run" in p["status"], 10, "run refusal")
    assert "param 'path': is empty" in probe["status"]
    output = tmp_path / "out.mp4"
    for field, text in (
        ("source.path", str(obama)),
        ("swapper.source_image", str(photos[1])),
        ("sink.path", str(output)),
    ):
        editor.enter_text(editor.fresh()["params"][field], text)
        node, param = field.split(".")
        editor.wait(lambda p, n=node, k=param, t=text: p["graph"]["nodes"][n]["params"].get(k) == t, 10, field)
    # the status bar's "to do before running" list followed the edits: nothing is left to do
    editor.wait(lambda p: "ready to run" in p["status"], 10, "the to-do list to empty")
    editor.enter_text(editor.fresh()["params"]["source.end"], "40", echo=False)
    probe = editor.wait(lambda p: p["graph"]["nodes"]["source"]["params"].get("end") == 40, 10, "end frame")

    # offline: every frame of 0..39 in order, the video file finalised when the run ends
    editor.click_item(probe["buttons"]["run_offline"], "Run offline")
    probe = editor.wait(lambda p: "finished" in p["status"], 180, "the offline run to finish")
    assert probe["stats"]["frames"] == 40 and probe["stats"]["dropped"] == 0 and probe["state"] == "idle"
    assert output.is_file() and output.stat().st_size > 10_000
    frames = video_frame_count(output)
    assert frames == 40, frames
    assert probe["preview"]["placement"]["frame_index"] == 39  # the last frame stays in the preview

    # a live run of the same graph (looping), stopped with Shift+F5
    editor.click(Editor.center(editor.fresh()["params"]["source.loop"]))  # checkbox: loop the video
    probe = editor.wait(lambda p: p["graph"]["nodes"]["source"]["params"].get("loop") is True, 10, "loop on")
    editor.click_item(probe["buttons"]["run_live"], "Run live")
    probe = editor.wait(lambda p: p["state"] == "running" and (p["stats"]["frames"] or 0) > 5, 60, "live frames")
    assert "Run offline (F5) writes every frame" in probe["status"]  # live from a file into a file: said
    editor.screenshot(tmp_path / "preset-live.png")

    # seek the source while paused: the preview of the source shows the frame sought
    editor.click_item(editor.fresh()["buttons"]["pause"], "Pause")
    editor.wait(lambda p: p["state"] == "paused", 10, "pause")
    editor.click(title_point(editor.fresh()["nodes"]["source"]))
    probe = editor.wait(
        lambda p: p["inspector"]["node"] == "source" and "start" in p["inspector"]["seek"], 10, "the seek bar"
    )
    editor.click_item(probe["inspector"]["seek"]["start"], "seek to the start")
    editor.wait(lambda p: p["preview"]["placement"]["frame_index"] == 0, 20, "frame 0 shown")
    editor.click_item(editor.fresh()["inspector"]["seek"]["forward"], "+1 frame")
    editor.wait(lambda p: p["preview"]["placement"]["frame_index"] == 1, 20, "frame 1 shown")
    editor.screenshot(tmp_path / "seek.png")
    editor.key("shift+F5")
    editor.wait(lambda p: p["state"] == "idle", 30, "stopped")
    assert quit_editor(editor, "Discard") == 0


def test_missing_models_show_in_the_node_with_their_download_buttons(
    display: str, editors: list[Editor], tmp_path: Path, models_dir: Path, obama: Path, photos: list[Path]
) -> None:
    if (models_dir / "inswapper_128.onnx").exists():
        pytest.skip("inswapper_128.onnx is present: no missing model to show")
    graph = tmp_path / "inswapper.json"
    graph.write_text(
        json.dumps(
            {
                "format": "nodeswap.graph",
                "version": 1,
                "nodes": {
                    "source": {"type": "source.media", "params": {"path": str(obama)}},
                    "detector": {"type": "detect.face"},
                    "marker": {"type": "mark.face"},
                    "swapper": {"type": "swap.inswapper", "params": {"source": str(photos[1])}},
                    "merger": {"type": "merge.faces"},
                    "sink": {"type": "sink.preview"},
                },
                "links": [
                    {"from": "source.frame", "to": "detector.frame"},
                    {"from": "source.frame", "to": "marker.frame"},
                    {"from": "detector.faces", "to": "marker.faces"},
                    {"from": "source.frame", "to": "swapper.frame"},
                    {"from": "marker.faces", "to": "swapper.faces"},
                    {"from": "source.frame", "to": "merger.frame"},
                    {"from": "swapper.faces", "to": "merger.faces"},
                    {"from": "merger.frame", "to": "sink.frame"},
                ],
                "layout": {},
            }
        )
    )
    home = tmp_path / "home"  # no user model folders: only NODESWAP_MODELS is searched
    for sub in ("data", "cache"):
        (home / sub).mkdir(parents=True)
    editor = start(
        editors,
        display,
        tmp_path,
        graph,
        NODESWAP_MODELS=str(models_dir),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    probe = editor.probe()
    editor.click_item(probe["buttons"]["run_live"], "Run live")
    # issue 24: refused before anything loads, every missing model named, the fix its Download button
    probe = editor.wait(lambda p: p["status"].startswith("cannot run"), 60, "the refusal")
    assert "press 'Download inswapper_128'" in probe["status"] and "models fetch" not in probe["status"]
    assert probe["state"] == "idle" and probe["badges"]["swapper"] == "missing 2 models (hover)"
    editor.click(title_point(probe["nodes"]["swapper"]))
    probe = editor.wait(lambda p: p["inspector"]["node"] == "swapper", 10, "swapper inspected")
    assert sorted(probe["inspector"]["downloads"]) == ["inswapper_128", "w600k_r50"]
    editor.move((probe["nodes"]["swapper"][0] + 40, probe["nodes"]["swapper"][1] + 42))  # hover the badge
    time.sleep(1.0)
    editor.screenshot(tmp_path / "missing-model.png")
    assert quit_editor(editor) == 0

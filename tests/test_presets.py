"""Every preset graph: schema, byte-stable round trip, validation, and real end-to-end runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from nodeswap import graph_io

ROOT = Path(__file__).resolve().parent.parent
PRESETS = sorted((ROOT / "graphs").glob("*.json"))
EXPECTED = {
    "video_swap",
    "webcam_swap",
    "two_faces",
    "face_debug",
    "inswapper_swap",
    "dfm_swap",
    "animate_photo",
    "extract_faceset",
}


def test_all_presets_ship() -> None:
    assert {p.stem for p in PRESETS} == EXPECTED


@pytest.mark.newest
@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_matches_the_schema_and_round_trips(path: Path) -> None:
    data = json.loads(path.read_text())
    jsonschema.validate(data, graph_io.schema())
    graph = graph_io.build(data, check_files=False)[0]
    assert graph_io.dumps(graph) == path.read_text()
    assert set(graph.layout) == set(graph.nodes)


@pytest.mark.newest
@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_only_asks_for_paths(path: Path) -> None:
    """Presets never point into ../shared: their paths are empty, and validation names each one."""
    issues = graph_io.validate_text(path.read_text(), path.name)
    assert issues, "a preset must ask for its input paths"
    for issue in issues:
        assert "param '" in issue.where and "is empty" in issue.message, str(issue)
    assert "shared" not in path.read_text()


@pytest.mark.newest
def test_validate_cli_names_the_params_to_set() -> None:
    proc = subprocess.run(
        [sys.executable, "run.py", "validate", "graphs/video_swap.json"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2
    for where in ("node 'source' param 'path'", "node 'swapper' param 'source_image'", "node 'sink' param 'path'"):
        assert where in proc.stderr
    assert "Traceback" not in proc.stderr


def ffprobe_frames(path: Path) -> int:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


@pytest.mark.newest
def test_video_swap_runs_end_to_end(
    tmp_path: Path, obama: Path, photos: list[Path], models_dir: Path, ffmpeg: str
) -> None:
    out, stats = tmp_path / "swapped.mp4", tmp_path / "stats.json"
    proc = subprocess.run(
        [
            sys.executable,
            "run.py",
            "run",
            "graphs/video_swap.json",
            "--offline",
            "--frames",
            "40",
            "--set",
            f"source.path={obama}",
            "--set",
            f"swapper.source_image={photos[1]}",
            "--set",
            f"sink.path={out}",
            "--stats",
            str(stats),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(stats.read_text())
    assert report["frames"] == 40 and report["dropped"] == 0
    assert all(n["errors"] == 0 for n in report["nodes"].values()), report["nodes"]
    assert set(report["nodes"]) == {"source", "detector", "marker", "swapper", "merger", "sink"}
    assert ffprobe_frames(out) == 40


def test_face_debug_writes_face_data(tmp_path: Path, obama: Path, models_dir: Path) -> None:
    faces = tmp_path / "faces.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "run.py",
            "run",
            "graphs/face_debug.json",
            "--frames",
            "10",
            "--set",
            f"source.path={obama}",
            "--set",
            f"faces.path={faces}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in faces.read_text().splitlines()]
    assert len(lines) == 10 and all(len(line["faces"]) == 1 for line in lines)
    assert len(lines[0]["faces"][0]["landmarks"]) == 468

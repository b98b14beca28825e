"""The extract_faceset preset from the command line, `nodeswap faceset` reports and contact sheets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from nodeswap.faceset import INDEX, JOURNAL_GLOB, load_faceset
from nodeswap.faceset_report import SHEET_CELL
from tests.test_faceset_dfl import dfl_jpeg, dfl_meta

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "graphs" / "extract_faceset.json"


def nodeswap(*args: str, env_models: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"NODESWAP_MODELS": str(env_models)} if env_models else {})}
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def test_preset_extracts_then_the_tool_reports_and_draws_a_sheet(
    tmp_path: Path, models_dir: Path, media_dir: Path
) -> None:
    clip, out = media_dir / "clips" / "Rob_Doe_0_in.mp4", tmp_path / "rob"
    proc = nodeswap(
        "run", str(PRESET), "--set", f"source.path={clip}", "--set", f"faceset.path={out}", "--frames", "30",
        env_models=models_dir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    records = load_faceset(out)
    lines = (out / INDEX).read_text().splitlines()
    assert len(records) == len(lines) == len(list(out.glob("*.jpg")))
    assert 10 <= len(records) <= 30  # the default skips near-duplicates, and 30 frames hold one face each
    assert {json.loads(line)["source"] for line in lines} == {str(clip)}
    sheet = tmp_path / "sheets" / "rob.jpg"
    report = nodeswap("faceset", str(out), "--sheet", str(sheet))
    assert report.returncode == 0, report.stderr
    text = report.stdout
    assert f"faces {len(records)}, tracks 1, sources 1" in text
    assert "resolution 256 px" in text and "landmarks 468 points" in text
    yaw_rows = [row for row in text.splitlines() if row.strip().startswith(("-", "+")) and ".." in row]
    assert yaw_rows and sum(int(row.split()[1]) for row in yaw_rows) == len(records)
    assert "sharpness (variance of the Laplacian" in text
    image = cv2.imread(str(sheet))
    columns = min(10, len(records))
    assert image.shape == (-(-len(records) // columns) * SHEET_CELL, columns * SHEET_CELL, 3)
    assert not [p for p in sheet.parent.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_sigterm_finalises_the_index(tmp_path: Path, models_dir: Path, obama: Path) -> None:
    out = tmp_path / "obama"
    env = {**os.environ, "NODESWAP_MODELS": str(models_dir)}
    args = ["run", str(PRESET), "--set", f"source.path={obama}", "--set", f"faceset.path={out}"]
    args += ["--set", "faceset.min_change=0"]
    proc = subprocess.Popen([sys.executable, "run.py", *args], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(out.glob("*.jpg"))) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    written = len(list(out.glob("*.jpg")))
    assert 5 <= written < 259, "stopped part way"
    assert len((out / INDEX).read_text().splitlines()) == written
    assert not list(out.glob(JOURNAL_GLOB)) and not list(out.glob(".*.tmp"))


def test_reports_a_deepfacelab_faceset(tmp_path: Path) -> None:
    for i in range(3):
        dfl_jpeg(tmp_path / f"{i:05d}_0.jpg", dfl_meta(source_filename=f"{i + 1:05d}.png"))
    proc = nodeswap("faceset", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "faces 3, tracks 3, sources 3" in proc.stdout and "landmarks 68 points (3)" in proc.stdout
    assert "face type whole_face (3)" in proc.stdout
    sharp_rows = [row for row in proc.stdout.splitlines()[-7:] if ".." in row or "+" in row]
    assert sum(int(row.split()[1]) for row in sharp_rows) == 3  # measured on the images: DFL records none


def test_user_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    dfl_jpeg(tmp_path / "00001_0.jpg", dfl_meta())
    for args, words in (
        (("faceset", str(tmp_path / "missing")), "no such folder"),
        (("faceset", str(tmp_path), "--sheet", str(tmp_path / "sheet.txt")), "use a .jpg, .jpeg, .png file name"),
        (("faceset", str(tmp_path), "--sheet", str(tmp_path)), "is a folder"),
    ):
        proc = nodeswap(*args)
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    evil = tmp_path / "evil"
    evil.mkdir()
    dfl_jpeg(evil / "00001_0.jpg", None, raw=b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    proc = nodeswap("faceset", str(evil))
    assert proc.returncode == 2 and "posix.system" in proc.stderr and "refused" in proc.stderr
    assert str(evil / "00001_0.jpg") in proc.stderr


def test_sheet_is_small_for_a_small_faceset(tmp_path: Path) -> None:
    dfl_jpeg(tmp_path / "00001_0.jpg", dfl_meta())
    proc = nodeswap("faceset", str(tmp_path), "--sheet", str(tmp_path / "s.png"))
    assert proc.returncode == 0, proc.stderr
    image = cv2.imread(str(tmp_path / "s.png"))
    assert image.shape == (SHEET_CELL, SHEET_CELL, 3) and np.ptp(image) > 50

"""nodeswap batch on real media: the three videos, the photos folder and a corrupt file through a cheap
graph (media source -> frame adjust -> video file), locally at --jobs 2 and on a local Ray; a batch stopped
by SIGTERM and run again; a worker killed mid-job and its job tried again."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from nodeswap import cli
from nodeswap.batch_journal import output_frames

ROOT = Path(__file__).resolve().parent.parent
WIDTH = "source.width=320"  # the real videos, made small: every test here runs in seconds
GRAPH = {
    "format": "nodeswap.graph",
    "version": 1,
    "nodes": {
        "source": {"type": "source.media"},
        "adjust": {"type": "filter.adjust", "params": {"degrade": 30.0, "median_blur": 20.0}},
        "sink": {"type": "sink.video"},
    },
    "links": [{"from": "source.frame", "to": "adjust.frame"}, {"from": "adjust.frame", "to": "sink.frame"}],
}
EXPECTED = {"Ben_Stiller_Owen_Wilson": 392, "Obama_speaking": 259, "Twitch1": 368, "photos": 50}


def ffprobe_streams(path: Path) -> dict[str, int]:
    """codec type -> packets counted by ffprobe (video: frames)."""
    entries = "stream=codec_type,nb_read_packets"
    command = ["ffprobe", "-v", "error", "-count_packets", "-show_entries", entries, "-of", "json", str(path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {s["codec_type"]: int(s["nb_read_packets"]) for s in json.loads(out)["streams"]}


def decoded(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def journal(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "batch.jsonl").read_text().splitlines()]


def last_status(folder: Path) -> dict[str, str]:
    return {Path(e["input"]).stem: e["status"] for e in journal(folder)}


def batch(graph: Path, out: Path, *args: str) -> tuple[int, str]:
    """cli.main batch in this process; (exit code, what it printed on stdout: the summary)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(["batch", str(graph), "--output", str(out), "--set", WIDTH, *args])
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def inputs(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("batch_inputs")
    graph = folder / "adjust.json"
    graph.write_text(json.dumps(GRAPH))
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(bytes(range(256)) * 64)  # no video header
    return {"graph": graph, "videos": media_dir / "videos", "photos": media_dir / "photos", "corrupt": corrupt}


@pytest.fixture(scope="module")
def local_run(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> dict[str, Any]:
    """The local batch, run once for the tests that read its outputs."""
    out = tmp_path_factory.mktemp("batch_local")
    sources = [str(inputs["videos"]), str(inputs["photos"]), str(inputs["corrupt"])]
    stats = tmp_path_factory.mktemp("batch_stats") / "stats.json"
    code, summary = batch(inputs["graph"], out, "--input", *sources, "--jobs", "2", "--stats", str(stats))
    return {"out": out, "code": code, "summary": summary, "stats": json.loads(stats.read_text())}


def test_local_batch_renders_every_good_input_and_reports_the_corrupt_one(
    local_run: dict[str, Any], inputs: dict[str, Path]
) -> None:
    out = local_run["out"]
    assert local_run["code"] == 2
    status = last_status(out)
    assert status == {**dict.fromkeys(EXPECTED, "done"), "corrupt": "failed"}
    failed = [e for e in journal(out) if e["status"] == "failed"]
    assert len(failed) == 1 and "cannot open" in failed[0]["error"] and str(inputs["corrupt"]) in failed[0]["error"]
    row = next(line for line in local_run["summary"].splitlines() if line.startswith("failed"))
    assert "corrupt.mp4" in row and "cannot open" in row
    assert "4 done, 1 failed" in local_run["summary"]
    assert local_run["stats"]["counts"] == {"done": 4, "failed": 1} and local_run["stats"]["frames"] == 1069
    for stem, frames in EXPECTED.items():
        streams = ffprobe_streams(out / f"{stem}.mp4")
        assert streams["video"] == frames, stem
        assert ("audio" in streams) == (stem == "Ben_Stiller_Owen_Wilson"), stem  # the one input with audio
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{s}.mp4" for s in EXPECTED), "batch.jsonl"])


def test_local_batch_outputs_match_nodeswap_run(
    local_run: dict[str, Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    for stem, source in [
        ("Obama_speaking", inputs["videos"] / "Obama_speaking.mp4"),
        ("Ben_Stiller_Owen_Wilson", inputs["videos"] / "Ben_Stiller_Owen_Wilson.mp4"),
        ("photos", inputs["photos"]),
    ]:
        single = tmp_path / f"{stem}.mp4"
        sets = ["--set", f"source.path={source}", "--set", f"sink.path={single}", "--set", WIDTH]
        assert cli.main(["run", str(inputs["graph"]), *sets]) == 0
        ours, theirs = decoded(local_run["out"] / f"{stem}.mp4"), decoded(single)
        assert len(ours) == len(theirs) == EXPECTED[stem]
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)), stem  # x264 is deterministic


def test_a_second_run_skips_what_is_done_and_tries_the_failure_again(
    local_run: dict[str, Any], inputs: dict[str, Path]
) -> None:
    out = local_run["out"]
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    sources = [str(inputs["videos"]), str(inputs["photos"]), str(inputs["corrupt"])]
    code, summary = batch(inputs["graph"], out, "--input", *sources)
    assert code == 2
    assert "4 skipped, 1 failed" in summary
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == before
    assert [e["status"] for e in journal(out) if "corrupt" in e["input"]] == ["started", "failed"] * 2


def test_resume_after_sigterm(inputs: dict[str, Path], tmp_path: Path, ffmpeg: str) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "run.py", "batch", str(inputs["graph"]), "--input", str(inputs["videos"])]
    command += ["--output", str(out), "--jobs", "1", "--set", WIDTH]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # the first job done, the second started
        text = (out / "batch.jsonl").read_text() if (out / "batch.jsonl").exists() else ""
        if '"done"' in text and '"started"' in text.rpartition('"done"')[2]:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    status = last_status(out)
    first = [s for s, state in status.items() if state == "done"]
    stopped = [e for e in journal(out) if e["status"] == "interrupted"]
    assert len(first) == 1 and len(stopped) == 1, stdout
    assert "1 done, 1 interrupted, 1 not run" in stdout
    second = Path(stopped[0]["input"]).stem
    assert not (out / f"{second}.mp4").exists()  # never a half file under a final name
    kept = out / f"{second}.partial.mp4"  # finalised as `nodeswap run` does on a stop: playable
    assert stopped[0]["partial"] == {"sink": str(kept)} and 0 < ffprobe_streams(kept)["video"] < EXPECTED[second]
    done_at = (out / f"{first[0]}.mp4").stat().st_mtime_ns

    code, summary = batch(inputs["graph"], out, "--input", str(inputs["videos"]), "--jobs", "1")
    assert code == 0, summary
    assert (out / f"{first[0]}.mp4").stat().st_mtime_ns == done_at
    assert f"skipped  {first[0]}.mp4" in summary
    assert set(last_status(out).values()) == {"done"}
    for stem in set(EXPECTED) - {"photos"}:
        assert ffprobe_streams(out / f"{stem}.mp4")["video"] == EXPECTED[stem]
    assert not list(out.glob("*.partial*")) and not list(out.glob(".*"))


def test_a_killed_worker_fails_its_try_and_the_job_runs_again(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "run.py", "batch", str(inputs["graph"]), "--retries", "1", "--set", WIDTH]
    command += ["--input", str(inputs["videos"] / "Ben_Stiller_Owen_Wilson.mp4"), "--output", str(out)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = None
    deadline = time.monotonic() + 60
    while worker is None and time.monotonic() < deadline:
        lines = (out / "batch.jsonl").read_text().splitlines() if (out / "batch.jsonl").exists() else []
        worker = next((json.loads(line)["worker"] for line in lines if '"started"' in line), None)
        time.sleep(0.05)
    assert worker is not None
    time.sleep(0.5)
    os.kill(int(worker.rpartition(":")[2]), signal.SIGKILL)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    entries = [e for e in journal(out) if e["status"] != "started"]
    assert [(e["status"], e["attempt"]) for e in entries] == [("failed", 1), ("done", 2)]
    assert "worker process ended" in entries[0]["error"]
    assert ffprobe_streams(out / "Ben_Stiller_Owen_Wilson.mp4")["video"] == 392


def test_ray_batch_matches_the_local_one(
    local_run: dict[str, Any], inputs: dict[str, Path], tmp_path: Path, models_dir: Path
) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)  # a GPU for Ray to hand out
    try:
        sources = [str(inputs["videos"]), str(inputs["photos"]), str(inputs["corrupt"])]
        code, summary = batch(inputs["graph"], tmp_path, "--input", *sources, "--ray")
        on_gpu = tmp_path / "gpu"
        clip = inputs["videos"] / "Obama_speaking.mp4"
        face_debug = ROOT / "graphs" / "face_debug.json"
        gpu_args = ["--set", "detector.device=cuda:1", "--set", "source.end=10", "--input", str(clip), "--ray"]
        gpu_code, _ = batch(face_debug, on_gpu, *gpu_args)
    finally:
        ray.shutdown()
    gpu_run = journal(on_gpu)[-1]  # the task asked for the GPU (this machine's onnxruntime then uses the CPU)
    assert gpu_code == 0 and gpu_run["status"] == "done" and gpu_run["gpus"] == ["0"]
    assert output_frames(on_gpu / "Obama_speaking.jsonl") == 10
    assert code == 2 and "4 done, 1 failed" in summary
    entries = [e for e in journal(tmp_path) if e["status"] not in ("started",)]
    assert len({e["worker"] for e in entries}) >= 2  # tasks ran in Ray's worker processes, not here
    assert all(e["worker"].rpartition(":")[2] != str(os.getpid()) for e in entries)
    for stem in EXPECTED:
        ours, local = decoded(tmp_path / f"{stem}.mp4"), decoded(local_run["out"] / f"{stem}.mp4")
        assert len(ours) == len(local) == EXPECTED[stem]
        assert all(np.array_equal(a, b) for a, b in zip(ours, local, strict=True)), stem
    assert ffprobe_streams(tmp_path / "Ben_Stiller_Owen_Wilson.mp4")["audio"] > 0

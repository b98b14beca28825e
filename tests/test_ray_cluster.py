"""nodeswap batch --ray on a real multi-node Ray cluster on this host (ray.cluster_utils.Cluster): a head
and two workers with one CPU each, the second with a (stand-in) GPU and a custom resource. The driver runs
as its own process (`python run.py batch ... --ray ADDRESS`), as on a cluster, so that this process can add
and remove nodes under it. Worker 1 acts as a node that cannot see one folder (NODESWAP_TEST_UNSEEN), for
the shared-storage check. Short inputs and a cheap graph keep the module within a few minutes on 2 cores.
Order matters: the later tests remove nodes (a worker, then the head)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.test_batch import GRAPH, decoded, ffprobe_streams

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = [pytest.mark.ray_cluster, pytest.mark.media]
ROOT = Path(__file__).resolve().parent.parent
STORE = 80 * 1024 * 1024  # object store per node: small (Ray's least is 75 MiB)
SHORT = ["--set", "source.width=160", "--set", "source.end=12"]  # 12 frames a job


def run_batch(
    graph: Path, out: Path, *args: str, address: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "run.py"), "batch", str(graph), "--output", str(out), *args]
    if address:
        command += ["--ray", address]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def start_batch(graph: Path, out: Path, *args: str, address: str) -> subprocess.Popen[str]:
    command = [sys.executable, str(ROOT / "run.py"), "batch", str(graph), "--output", str(out), *args, "--ray", address]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def journal(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "batch.jsonl").read_text().splitlines() if line.strip()]


def wait_for(condition: Any, seconds: float, what: str, batch: subprocess.Popen[str]) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end or batch.poll() is not None:
            batch.kill()
            raise AssertionError(f"no {what} in {seconds:.0f} s: {batch.communicate()}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> dict[str, Path]:
    """The graph, six short inputs (the three videos, each under two names) and a folder worker 1 cannot see."""
    folder = tmp_path_factory.mktemp("ray_shared")
    graph = folder / "adjust.json"
    graph.write_text(json.dumps(GRAPH))
    clips = folder / "clips"
    clips.mkdir()
    for video in sorted((media_dir / "videos").glob("*.mp4")):
        for copy in ("a", "b"):
            (clips / f"{video.stem}_{copy}.mp4").symlink_to(video)
    return {"graph": graph, "clips": clips, "root": folder, "unseen": tmp_path_factory.mktemp("local_only")}


@pytest.fixture(scope="module")
def cluster(shared: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """Head (1 CPU), worker 1 (1 CPU, blind to one folder), worker 2 (1 CPU, 1 GPU, resource 'accel');
    always shut down, even on a failure."""
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": STORE})
    try:
        unseen = {"NODESWAP_TEST_UNSEEN": str(shared["unseen"])}
        w1 = made.add_node(num_cpus=1, object_store_memory=STORE, env_vars=unseen)
        w2 = made.add_node(num_cpus=1, num_gpus=1, resources={"accel": 1}, object_store_memory=STORE)
        made.wait_for_nodes()
        yield {"cluster": made, "address": made.address, "w1": w1, "w2": w2}
    finally:
        made.shutdown()


def test_six_inputs_over_three_nodes_match_a_local_run(
    cluster: dict[str, Any], shared: dict[str, Path], tmp_path: Path, ffmpeg: str
) -> None:
    local = run_batch(shared["graph"], tmp_path / "local", "--input", str(shared["clips"]), *SHORT, address="")
    assert local.returncode == 0, local.stderr
    out = shared["root"] / "out_six"
    stats = shared["root"] / "six_stats.json"
    args = ["--input", str(shared["clips"]), *SHORT, "--stats", str(stats)]
    run = run_batch(shared["graph"], out, *args, address=cluster["address"])
    assert run.returncode == 0, run.stderr
    assert "6 done" in run.stdout and "per node:" in run.stdout
    report = json.loads(stats.read_text())
    assert len(report["nodes"]) >= 2  # spread over the nodes
    assert any("audio" in ffprobe_streams(clip) for clip in shared["clips"].iterdir())  # audio is tested
    for job in report["jobs"]:
        assert job["node"] and job["seconds"] > 0 and job["queued"] >= 0
    for clip in sorted(shared["clips"].iterdir()):
        ours, theirs = out / f"{clip.stem}.mp4", tmp_path / "local" / f"{clip.stem}.mp4"
        streams = ffprobe_streams(ours)
        has_audio = "audio" in ffprobe_streams(clip)
        assert streams["video"] == 12 and (streams.get("audio", 0) > 0) == has_audio, clip.name
        a, b = decoded(ours), decoded(theirs)
        assert len(a) == len(b) == 12 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), clip.name


def test_an_output_folder_one_node_cannot_see_is_refused(cluster: dict[str, Any], shared: dict[str, Path]) -> None:
    out = shared["unseen"] / "out"
    run = run_batch(shared["graph"], out, "--input", str(shared["clips"]), *SHORT, address=cluster["address"])
    assert run.returncode == 2
    assert "not shared storage" in run.stderr and cluster["w1"].node_id[:8] in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not (out / "batch.jsonl").exists()


def test_a_cuda_graph_asks_ray_for_a_gpu(cluster: dict[str, Any], shared: dict[str, Path], models_dir: Path) -> None:
    out = shared["root"] / "out_gpu"
    clip = next(iter(sorted(shared["clips"].iterdir())))
    args = ["--set", "detector.device=cuda:1", "--set", "source.end=5", "--input", str(clip)]
    run = run_batch(ROOT / "graphs" / "face_debug.json", out, *args, address=cluster["address"])
    assert run.returncode == 0, run.stderr
    done = journal(out)[-1]
    assert done["status"] == "done" and done["gpus"] == ["0"]
    assert done["node"].endswith(cluster["w2"].node_id[:8])  # the one node with a GPU
    too_many = run_batch(shared["graph"], out, "--input", str(clip), "--gpus-per-job", "2", address=cluster["address"])
    assert too_many.returncode == 2 and "has 2 GPUs" in too_many.stderr, too_many.stderr


def test_a_worker_node_lost_mid_run_costs_time_never_a_job(cluster: dict[str, Any], shared: dict[str, Path]) -> None:
    out = shared["root"] / "out_lost"
    w1 = cluster["w1"].node_id[:8]
    longer = ["--set", "source.width=160", "--set", "source.end=150"]
    batch = start_batch(shared["graph"], out, "--input", str(shared["clips"]), *longer, address=cluster["address"])
    try:

        def on_w1() -> bool:
            started = (out / "batch.jsonl").exists() and journal(out)
            return bool(started) and any(e["status"] == "started" and w1 in e.get("worker", "") for e in started)

        wait_for(on_w1, 180, "job started on worker 1", batch)
        time.sleep(1.0)
        cluster["cluster"].remove_node(cluster["w1"], allow_graceful=False)
        stdout, stderr = batch.communicate(timeout=300)
    finally:
        batch.kill()
    assert batch.returncode == 0, stderr
    entries = journal(out)
    lost = [e for e in entries if e["status"] == "failed"]
    assert lost and all(e.get("lost") and "lost with its" in e["error"] for e in lost), lost
    done = [e for e in entries if e["status"] == "done"]
    assert sorted(Path(e["input"]).stem for e in done) == sorted(p.stem for p in shared["clips"].iterdir())
    for entry in lost:  # the lost job ran again on a node left, and ended once
        again = [e for e in done if e["input"] == entry["input"]]
        assert len(again) == 1 and w1 not in again[0]["node"] and again[0]["attempt"] > entry["attempt"]
    for clip in shared["clips"].iterdir():
        assert ffprobe_streams(out / f"{clip.stem}.mp4")["video"] == 150
    assert not [p.name for p in out.iterdir() if p.name.startswith(".") or ".partial" in p.name]
    assert "6 done" in stdout


def test_the_head_lost_stops_the_run_and_a_second_run_finishes_what_was_missing(
    cluster: dict[str, Any], shared: dict[str, Path]
) -> None:
    out = shared["root"] / "out_head"
    longer = ["--set", "source.width=160", "--set", "source.end=150"]
    args = ["--input", str(shared["clips"]), *longer]
    batch = start_batch(shared["graph"], out, *args, address=cluster["address"])
    try:
        one_done = lambda: (out / "batch.jsonl").exists() and any(e["status"] == "done" for e in journal(out))  # noqa: E731
        wait_for(one_done, 240, "job done", batch)
        cluster["cluster"].remove_node(cluster["cluster"].head_node, allow_graceful=False)
        _, stderr = batch.communicate(timeout=120)
    finally:
        batch.kill()
    assert batch.returncode == 3, (batch.returncode, stderr[-2000:])
    assert "lost the Ray cluster" in stderr and "Traceback" not in stderr
    first = {e["input"]: e["status"] for e in journal(out)}
    finished = {key for key, status in first.items() if status == "done"}
    assert finished and len(finished) < 6
    cluster["cluster"].shutdown()
    again = run_batch(shared["graph"], out, *args, "--jobs", "2", address="")  # a fresh machine, same journal
    assert again.returncode == 0, again.stderr
    assert f"{len(finished)} skipped" in again.stdout and f"{6 - len(finished)} done" in again.stdout


def test_a_cuda_graph_on_a_ray_without_gpus_is_refused_at_once(shared: dict[str, Path], models_dir: Path) -> None:
    """A local Ray of this machine (no GPU): the driver says so before any job instead of waiting for one."""
    clip = next(iter(sorted(shared["clips"].iterdir())))
    args = ["--set", "detector.device=cuda:1", "--set", "source.end=5", "--input", str(clip), "--ray"]
    began = time.monotonic()
    run = run_batch(ROOT / "graphs" / "face_debug.json", shared["root"] / "out_nogpu", *args, address="", timeout=120)
    assert run.returncode == 2 and "has any GPU" in run.stderr and "detector (cuda:1)" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and time.monotonic() - began < 90

"""Wall time of ``nodeswap batch`` over six inputs (the three videos of media/videos, twice) at --jobs 1,
--jobs 2 and --ray (a local Ray started for the run), as ratios to --jobs 1 within one run of this script.

    python benchmarks/batch_speed.py [--graph video_swap|adjust] [--out benchmarks/results/batch_speed.md]

``video_swap`` is the default preset (detector, FaceMesh, morph swap, merger, H.264 with audio) with a photo
of media/photos; ``adjust`` a cheap graph (media source -> frame adjust -> video file) where the encoder
dominates. The CPU columns (local runs only: Ray's workers are not this script's children) say how many
cores a run kept busy; at --jobs 1 that is what one pipelined job uses, the number behind the default
--jobs (nodeswap/batch.py: CORES_PER_JOB). Needs NODESWAP_MODELS and NODESWAP_MEDIA, ffmpeg, and Ray for
the Ray rows (pip install "nodeswap[ray]"). ``--modes`` picks rows; the two cluster rows (not run by default)
start a Ray cluster on this host first, one node of 2 CPUs or three of 1 CPU (ray.cluster_utils), and time
only the batch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADJUST = {
    "format": "nodeswap.graph",
    "version": 1,
    "nodes": {
        "source": {"type": "source.media"},
        "adjust": {"type": "filter.adjust", "params": {"degrade": 30.0, "median_blur": 20.0}},
        "sink": {"type": "sink.video"},
    },
    "links": [{"from": "source.frame", "to": "adjust.frame"}, {"from": "adjust.frame", "to": "sink.frame"}],
}
MODES = {
    "--jobs 1": ["--jobs", "1"],
    "--jobs 2": ["--jobs", "2"],
    "--ray (local)": ["--ray"],
    "--ray, 1 node (2 CPUs)": ["--ray", "{address}"],
    "--ray, 3 nodes (1 CPU each)": ["--ray", "{address}"],
}
CLUSTERS = {"--ray, 1 node (2 CPUs)": [2], "--ray, 3 nodes (1 CPU each)": [1, 1, 1]}  # CPUs of each node


def start_cluster(cpus: list[int]) -> object:
    """A Ray cluster of len(cpus) nodes on this host (ray.cluster_utils, as tests/test_ray_cluster.py);
    its start is not part of the time measured."""
    from ray.cluster_utils import Cluster

    store = 80 * 1024 * 1024
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus[0], "object_store_memory": store})
    for n in cpus[1:]:
        cluster.add_node(num_cpus=n, object_store_memory=store)
    cluster.wait_for_nodes()
    return cluster


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_mode(graph: Path, sets: list[str], inputs: Path, out: Path, args: list[str]) -> dict[str, float]:
    stats = out.with_suffix(".json")
    command = [sys.executable, str(ROOT / "run.py"), "batch", str(graph), "--input", str(inputs)]
    command += ["--output", str(out), "--stats", str(stats), *args, *[x for s in sets for x in ("--set", s)]]
    cpu, began = children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - began, children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    report = json.loads(stats.read_text())
    jobs = [job for job in report["jobs"] if job["status"] == "done"]
    queued = [float(job["queued"]) for job in jobs if "queued" in job]
    return {
        "nodes": float(len(report.get("nodes") or {})),
        "queued": max(queued, default=0.0),
        "wall": wall,
        "frames": float(report["frames"]),
        "cpu": cpu,
        "job_seconds": sum(float(job["seconds"]) for job in jobs),
        "jobs": float(len(jobs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", choices=("video_swap", "adjust"), default="video_swap")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES)[:3])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    media = Path(os.environ.get("NODESWAP_MEDIA", ROOT.parent / "shared" / "media"))
    videos = sorted((media / "videos").glob("*.mp4"))
    if len(videos) != 3:
        raise SystemExit(f"expected the three videos in {media / 'videos'} (set NODESWAP_MEDIA)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = work / "inputs"
        inputs.mkdir()
        for video in videos:
            for copy in ("a", "b"):
                (inputs / f"{video.stem}_{copy}{video.suffix}").symlink_to(video)
        if args.graph == "adjust":
            graph, sets = work / "adjust.json", []
            graph.write_text(json.dumps(ADJUST))
        else:
            graph, sets = ROOT / "graphs" / "video_swap.json", [f"swapper.source_image={media}/photos/000007.jpg"]
        load_before = os.getloadavg()[0]
        results = {}
        for i, mode in enumerate(args.modes):
            cluster: Any = start_cluster(CLUSTERS[mode]) if mode in CLUSTERS else None
            try:
                address = cluster.address if cluster else ""
                mode_args = [a.format(address=address) for a in MODES[mode]]
                results[mode] = run_mode(graph, sets, inputs, work / f"out{i}", mode_args)
            finally:
                if cluster:
                    cluster.shutdown()
        load_after = os.getloadavg()[0]
    base = results[args.modes[0]]["wall"]
    lines = [
        f"Graph `{args.graph}`, six inputs ({', '.join(v.name for v in videos)}, each twice), "
        f"{os.cpu_count()} cores, {platform.python_version()}; load average {load_before:.1f} before, "
        f"{load_after:.1f} after.",
        "",
        f"| run | wall s | x {args.modes[0]} | frames/s | cores busy (CPU s / wall s) | job s, summed | nodes used |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, r in results.items():
        busy = f"{r['cpu'] / r['wall']:.2f}" if "ray" not in mode else "- (Ray's workers)"
        lines.append(
            f"| {mode} | {r['wall']:.1f} | {base / r['wall']:.2f}x | {r['frames'] / r['wall']:.1f} | {busy} | "
            f"{r['job_seconds']:.1f} | {int(r['nodes']) or '-'} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

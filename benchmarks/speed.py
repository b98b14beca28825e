"""Speed of the preset graphs: frames per second, latency and milliseconds per node.

Each preset that can run here runs through ``run.py run`` on a real clip: offline (every frame),
once pipelined (each node in its own thread, the default) and once sequential (one node after
another: the per-node times then carry no contention between nodes), and live (the file paced
at its fps, newest frame wins: the latency a viewer would see). The best of ``--repeats`` runs
is kept, since other work on the machine only ever slows a run down.

    python benchmarks/speed.py [--frames 150] [--repeats 2] [--out benchmarks/results/speed.md]

Presets that need what this machine lacks (a camera, the inswapper or a DFM model) are listed
with the reason instead of a number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@dataclass(frozen=True)
class Case:
    """One preset run: the graph, the clip and the --set overrides ({tmp}, {media} are filled in)."""

    name: str
    graph: str
    clip: str
    sets: tuple[str, ...]
    needs: str = ""  # why it cannot run here, when it cannot


CASES = (
    Case(
        "video_swap",
        "video_swap.json",
        "Obama_speaking.mp4",
        ("source.path={clip}", "swapper.source_image={media}/photos/000007.jpg", "sink.path={tmp}/out.mp4"),
    ),
    Case(
        "video_swap",
        "video_swap.json",
        "Twitch1.mp4",
        ("source.path={clip}", "swapper.source_image={media}/photos/000007.jpg", "sink.path={tmp}/out.mp4"),
    ),
    Case(
        "two_faces",
        "two_faces.json",
        "Ben_Stiller_Owen_Wilson.mp4",
        (
            "source.path={clip}",
            "swapper_a.source_image={media}/photos/000007.jpg",
            "swapper_b.source_image={media}/photos/000016.jpg",
            "sink.path={tmp}/out.mp4",
        ),
    ),
    Case("face_debug", "face_debug.json", "Obama_speaking.mp4", ("source.path={clip}", "faces.path={tmp}/faces.json")),
    Case("webcam_swap", "webcam_swap.json", "", (), needs="a camera"),
    Case("inswapper_swap", "inswapper_swap.json", "", (), needs="inswapper_128.onnx and w600k_r50.onnx"),
    Case("dfm_swap", "dfm_swap.json", "", (), needs="a DeepFaceLab .dfm model"),
)


def run_case(case: Case, media: Path, frames: int, sequential: bool, workdir: Path, live: bool = False) -> dict:
    """The --stats JSON of one run of ``case`` (offline, or live: the file paced at its own fps)."""
    clip = media / "videos" / case.clip
    sets = [s.format(clip=clip, media=media, tmp=workdir) for s in case.sets]
    stats = workdir / "stats.json"
    mode = "--live" if live else "--offline"
    command = [sys.executable, str(ROOT / "run.py"), "run", str(ROOT / "graphs" / case.graph), mode]
    command += ["--stats", str(stats), "--frames", str(frames), *(a for s in sets for a in ("--set", s))]
    if sequential:
        command.append("--sequential")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{case.name}: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return json.loads(stats.read_text(encoding="utf-8"))


def best_of(case: Case, media: Path, frames: int, sequential: bool, repeats: int, live: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        runs = [run_case(case, media, frames, sequential, Path(workdir), live) for _ in range(repeats)]
    return max(runs, key=lambda r: (r["fps"], -r["latency_ms"]["p50"]))


def report(rows: list[tuple[Case, dict, dict, dict]], skipped: list[Case], frames: int) -> str:
    cpu = _cpu_name()
    lines = [
        f"Runs of {frames} frames on {cpu} ({os.cpu_count()} cores, shared with other work; CPU onnxruntime), "
        "best of the repeats. Offline: every frame as fast as it goes, pipelined (a thread per node) and "
        "sequential. Live: the file paced at its own 30 fps, newest frame wins; latency is capture to sink.",
        "",
        "| preset | clip | offline fps pipelined / sequential | live fps | live latency p50 / p95 ms "
        "| dropped (live) | ms per node (sequential, mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, piped, seq, live in rows:
        nodes = ", ".join(f"{name} {v['ms_mean']:.1f}" for name, v in seq["nodes"].items())
        lines.append(
            f"| {case.name} | {case.clip} | {piped['fps']:.1f} / {seq['fps']:.1f} | {live['fps']:.1f} | "
            f"{live['latency_ms']['p50']:.0f} / {live['latency_ms']['p95']:.0f} | {live['dropped']} | {nodes} |"
        )
    lines += ["", *(f"- {c.name}: not run here (needs {c.needs})" for c in skipped)]
    return "\n".join(lines) + "\n"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per run")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case; the fastest is kept")
    parser.add_argument("--only", nargs="*", default=[], help="preset names to run (default: all)")
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    args = parser.parse_args(argv)
    media = Path(os.environ.get("NODESWAP_MEDIA", SHARED / "media"))
    os.environ.setdefault("NODESWAP_MODELS", str(SHARED / "models"))
    rows, skipped = [], []
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        if case.needs:
            skipped.append(case)
            continue
        piped = best_of(case, media, args.frames, False, args.repeats)
        seq = best_of(case, media, args.frames, True, args.repeats)
        live = best_of(case, media, args.frames, False, args.repeats, live=True)
        print(
            f"{case.name} {case.clip}: {piped['fps']:.1f} fps pipelined, {seq['fps']:.1f} sequential, live "
            f"{live['fps']:.1f} fps at {live['latency_ms']['p50']:.0f} ms",
            flush=True,
        )
        rows.append((case, piped, seq, live))
    text = report(rows, skipped, args.frames)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed of the video_swap preset offline on Obama_speaking.mp4, on this machine's CPU.

Runs ``python run.py run graphs/video_swap.json --offline --stats ...`` pipelined and
--sequential, several times each, and prints the medians: fps, latency and per-node ms.
Needs NODESWAP_MODELS and NODESWAP_MEDIA.

Run: python benchmarks/preset_speed.py [--repeats 3] [--photo 000002.jpg] [--against OTHER_CHECKOUT]

With --against, the same runs of another checkout of nodeswap (e.g. a git worktree of an earlier commit)
are interleaved with this one's, so both see the same machine, and the fps ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(media: Path, photo: str, sequential: bool, out: Path, root: Path = ROOT) -> dict:
    stats = out / "stats.json"
    cmd = [
        sys.executable,
        "run.py",
        "run",
        "graphs/video_swap.json",
        "--offline",
        "--set",
        f"source.path={media / 'videos' / 'Obama_speaking.mp4'}",
        "--set",
        f"swapper.source_image={media / 'photos' / photo}",
        "--set",
        f"sink.path={out / 'out.mp4'}",
        "--stats",
        str(stats),
    ]
    subprocess.run(cmd + (["--sequential"] if sequential else []), cwd=root, check=True, capture_output=True)
    return json.loads(stats.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--photo", default="000002.jpg")
    parser.add_argument("--against", type=Path, help="another checkout to run alternately with this one")
    args = parser.parse_args()
    media = Path(os.environ["NODESWAP_MEDIA"])
    roots = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    runs: dict[str, dict[str, list[dict]]] = {name: {"pipelined": [], "sequential": []} for name in roots}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for mode in ("pipelined", "sequential"):
                for name, root in roots.items():
                    runs[name][mode].append(run_once(media, args.photo, mode == "sequential", Path(tmp), root))
    fps = {}
    for name, by_mode in runs.items():
        print(f"\n{name} ({roots[name]}):\n")
        nodes = list(by_mode["pipelined"][0]["nodes"])
        print("| mode | fps | latency p50 ms | latency p95 ms | " + " | ".join(nodes) + " |")
        print("|---" * (4 + len(nodes)) + "|")
        for mode, results in by_mode.items():
            fps[name, mode] = statistics.median(r["fps"] for r in results)
            p50 = statistics.median(r["latency_ms"]["p50"] for r in results)
            p95 = statistics.median(r["latency_ms"]["p95"] for r in results)
            ms = [statistics.median(r["nodes"][n]["ms_mean"] for r in results) for n in nodes]
            row = f"| {mode} | {fps[name, mode]:.1f} | {p50:.0f} | {p95:.0f} | "
            print(row + " | ".join(f"{m:.1f}" for m in ms) + " |")
        speedup = fps[name, "pipelined"] / fps[name, "sequential"]
        print(f"\nmedians of {args.repeats} runs, 259 frames each; pipelined / sequential = {speedup:.2f}x")
    if args.against:
        for mode in ("pipelined", "sequential"):
            print(f"{mode}: this / against = {fps['this', mode] / fps['against', mode]:.2f}")


if __name__ == "__main__":
    main()

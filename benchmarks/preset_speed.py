"""Speed of the video_swap preset offline on Obama_speaking.mp4, on this machine's CPU.

Runs ``python run.py run graphs/video_swap.json --offline --stats ...`` pipelined and
--sequential, several times each, and prints the medians: fps, latency and per-node ms.
Needs NODESWAP_MODELS and NODESWAP_MEDIA.

Run: python benchmarks/preset_speed.py [--repeats 3] [--photo 000002.jpg]
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


def run_once(media: Path, photo: str, sequential: bool, out: Path) -> dict:
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
    subprocess.run(cmd + (["--sequential"] if sequential else []), cwd=ROOT, check=True, capture_output=True)
    return json.loads(stats.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--photo", default="000002.jpg")
    args = parser.parse_args()
    media = Path(os.environ["NODESWAP_MEDIA"])
    runs: dict[str, list[dict]] = {"pipelined": [], "sequential": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for mode in runs:
                runs[mode].append(run_once(media, args.photo, mode == "sequential", Path(tmp)))
    print("| mode | fps | latency p50 ms | latency p95 ms | " + " | ".join(runs["pipelined"][0]["nodes"]) + " |")
    print("|---" * (4 + len(runs["pipelined"][0]["nodes"])) + "|")
    for mode, results in runs.items():
        fps = statistics.median(r["fps"] for r in results)
        p50 = statistics.median(r["latency_ms"]["p50"] for r in results)
        p95 = statistics.median(r["latency_ms"]["p95"] for r in results)
        nodes = [statistics.median(r["nodes"][n]["ms_mean"] for r in results) for n in results[0]["nodes"]]
        print(f"| {mode} | {fps:.1f} | {p50:.0f} | {p95:.0f} | " + " | ".join(f"{ms:.1f}" for ms in nodes) + " |")
    speedup = statistics.median(r["fps"] for r in runs["pipelined"]) / statistics.median(
        r["fps"] for r in runs["sequential"]
    )
    print(
        f"\nmedians of {args.repeats} runs, 259 frames each; node columns are ms per frame (mean); "
        f"pipelined / sequential = {speedup:.2f}x"
    )


if __name__ == "__main__":
    main()

"""Live speed of the video_swap preset on Obama_speaking.mp4, on this machine's CPU, in one run of this script:

1. headless live (paced at the file's 30 fps): fps, capture-to-sink latency p50 / p95 beside the sum of the
   per-node means (sources left out: their time is the pacing wait) and the targets p95 <= 1.3 x sum + one
   frame interval, p50 <= 1.1 x sum + one interval; frames dropped;
2. offline, pipelined over --sequential fps (runs interleaved);
3. the same graph live inside the editor under Xvfb (its own status-bar fps, read from its probe) over
   headless live runs just before and after it;
4. the idle editor's CPU, all threads, as a share of one core (over 30 s).

    python benchmarks/live_speed.py [--repeats 3] [--frames 300] [--no-editor] [--out FILE.md]

Needs NODESWAP_MODELS and NODESWAP_MEDIA; the editor parts need Xvfb and xdotool (as the GUI tests do).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.gui.driver import Editor, x_display  # noqa: E402  (the GUI tests' driver: real X events)

INTERVAL_MS = 1000.0 / 30.0


def media() -> Path:
    return Path(os.environ.get("NODESWAP_MEDIA", ROOT.parent / "shared" / "media"))


def prepared_graph(folder: Path, loop: bool) -> Path:
    """video_swap.json with the clip, the photo and an output set (and the clip looping, for the editor)."""
    data = json.loads((ROOT / "graphs" / "video_swap.json").read_text())
    nodes = data["nodes"]
    nodes["source"]["params"].update(path=str(media() / "videos" / "Obama_speaking.mp4"), loop=loop)
    nodes["swapper"]["params"]["source_image"] = str(media() / "photos" / "000002.jpg")
    nodes["sink"]["params"]["path"] = str(folder / "out.mp4")
    path = folder / ("editor.json" if loop else "graph.json")
    path.write_text(json.dumps(data))
    return path


def headless(graph: Path, mode: list[str], frames: int, folder: Path) -> dict[str, Any]:
    stats = folder / "stats.json"
    cmd = [sys.executable, "run.py", "run", str(graph), *mode, "--frames", str(frames), "--stats", str(stats)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=600)
    report: dict[str, Any] = json.loads(stats.read_text())
    report["work_ms"] = sum(n["ms_mean"] for k, n in report["nodes"].items() if k != "source")
    return report


def editor_live_fps(graph: Path, folder: Path, seconds: float = 20.0) -> float:
    """The editor's own fps (median of its status-bar readings) running ``graph`` live."""
    with x_display() as display:
        editor = Editor(display, folder, graph)
        try:
            editor.click_item(editor.fresh()["buttons"]["run_live"], "Run live")
            editor.wait(lambda p: p["state"] == "running" and p["stats"].get("frames", 0) > 30, 120, "the live run")
            readings, end = [], time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(1.0)
                readings.append(float(editor.probe().get("stats", {}).get("live_fps", 0.0)))
            editor.key("shift+F5")
            return statistics.median(readings)
        finally:
            editor.proc.terminate()
            editor.close()


def idle_editor_cpu(graph: Path, folder: Path) -> float:
    """Share of one core the editor takes, all threads, from 12 to 42 s after it opened, untouched."""
    with x_display() as display:
        editor = Editor(display, folder, graph)
        try:
            time.sleep(12)
            ticks = os.sysconf("SC_CLK_TCK")
            first = _cpu_ticks(editor.proc.pid)
            time.sleep(30)
            return (_cpu_ticks(editor.proc.pid) - first) / ticks / 30.0
        finally:
            editor.proc.terminate()
            editor.close()


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--no-editor", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        graph = prepared_graph(folder, loop=False)
        live = [headless(graph, ["--live"], args.frames, folder) for _ in range(args.repeats)]
        offline: dict[str, list[float]] = {"pipelined": [], "sequential": []}
        for _ in range(args.repeats):
            offline["pipelined"].append(headless(graph, ["--offline"], 150, folder)["fps"])
            offline["sequential"].append(headless(graph, ["--offline", "--sequential"], 150, folder)["fps"])
        editor_fps, around, idle = None, [], None
        if not args.no_editor:
            editor_graph = prepared_graph(folder, loop=True)
            around.append(headless(graph, ["--live"], args.frames, folder)["fps"])
            editor_fps = editor_live_fps(editor_graph, folder)
            around.append(headless(graph, ["--live"], args.frames, folder)["fps"])
            idle = idle_editor_cpu(editor_graph, folder)
    lines = table(live, offline, editor_fps, around, idle)
    print(lines)
    if args.out:
        args.out.write_text(lines)
    return 0


def table(
    live: list[dict[str, Any]],
    offline: dict[str, list[float]],
    editor_fps: float | None,
    around: list[float],
    idle: float | None,
) -> str:
    med = statistics.median
    work = med(r["work_ms"] for r in live)
    p50, p95 = med(r["latency_ms"]["p50"] for r in live), med(r["latency_ms"]["p95"] for r in live)
    pipelined, sequential = med(offline["pipelined"]), med(offline["sequential"])
    rows = [
        "| measure | this run (medians) | target |",
        "|---|---|---|",
        f"| headless live fps, frames dropped | {med(r['fps'] for r in live):.1f}, "
        f"{med(r['dropped'] for r in live):.0f} | - |",
        f"| sum of per-node means (detector .. sink) | {work:.0f} ms | - |",
        f"| live latency p50 | {p50:.0f} ms | <= 1.1 x sum + interval = {1.1 * work + INTERVAL_MS:.0f} ms |",
        f"| live latency p95 | {p95:.0f} ms | <= 1.3 x sum + interval = {1.3 * work + INTERVAL_MS:.0f} ms |",
        f"| offline fps pipelined / sequential | {pipelined:.1f} / {sequential:.1f} = "
        f"{pipelined / sequential:.2f} | >= 1.7 |",
    ]
    if editor_fps is not None:
        base = statistics.mean(around)
        ratio = f"{editor_fps:.1f} / {base:.1f} = {editor_fps / base:.2f}"
        rows.append(f"| editor live fps / headless live fps | {ratio} | >= 0.9 |")
    if idle is not None:
        rows.append(f"| idle editor, share of one core | {idle:.1%} | < 5% |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

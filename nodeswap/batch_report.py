"""What a batch shows: one overall progress bar (frames, jobs, time left) and a line of the running jobs
while it runs (on a terminal), a line per finished job, and the summary table at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .batch_jobs import Job

SHOWN_RUNNING = 6  # running jobs named on the status line; the rest are counted


class BatchView:
    """Progress of the jobs that run (the skipped ones are counted, not shown)."""

    def __init__(self, jobs: list[Job], skipped: int, enabled: bool | None = None) -> None:
        self.total = len(jobs) + skipped
        self.skipped = skipped
        self.counts = {"done": 0, "failed": 0, "interrupted": 0}
        self.frames: dict[str, int] = {}  # input -> frames so far
        self.running: dict[str, Job] = {}
        self.nodes: dict[str, int] = {}  # Ray: node -> jobs done there
        disable = not sys.stderr.isatty() if enabled is None else not enabled
        expected = sum(job.expected for job in jobs)
        self.bar = tqdm(
            total=expected or None, unit="frame", file=sys.stderr, disable=disable, dynamic_ncols=True, position=0
        )
        self.status = tqdm(total=0, bar_format="{desc}", file=sys.stderr, disable=disable, position=1, leave=False)
        self._describe()

    def _describe(self) -> None:
        finished = sum(self.counts.values()) + self.skipped
        failed = f", {self.counts['failed']} failed" if self.counts["failed"] else ""
        nodes = " [" + ", ".join(f"{n} {c}" for n, c in sorted(self.nodes.items())) + "]" if self.nodes else ""
        self.bar.set_description(f"jobs {finished}/{self.total}{failed}{nodes}", refresh=False)
        names = [f"{Path(k).name} {self.frames.get(k, 0)}/{j.expected or '?'}" for k, j in self.running.items()]
        more = f" +{len(names) - SHOWN_RUNNING} more" if len(names) > SHOWN_RUNNING else ""
        self.status.set_description_str(f"running: {', '.join(names[:SHOWN_RUNNING])}{more}" if names else "")

    def _frames(self, key: str, frames: int) -> None:
        self.frames[key] = frames
        total = sum(self.frames.values())
        if total >= self.bar.n:
            self.bar.update(total - self.bar.n)
        else:  # a job tried again starts from 0
            self.bar.n = total
        self._describe()
        self.bar.refresh()

    def started(self, job: Job) -> None:
        self.running[job.input] = job
        self._frames(job.input, 0)

    def progress(self, key: str, frames: int) -> None:
        if key in self.running:
            self._frames(key, frames)

    def note(self, text: str) -> None:
        self.bar.write(text, file=sys.stderr)

    def finished(self, entry: dict[str, Any], retry: bool = False) -> None:
        key = entry["input"]
        self.running.pop(key, None)
        if not retry:
            self.counts[entry["status"]] = self.counts.get(entry["status"], 0) + 1
        if entry["status"] == "done" and entry.get("node"):
            self.nodes[short_node(entry["node"])] = self.nodes.get(short_node(entry["node"]), 0) + 1
        self._frames(key, 0 if retry else int(entry.get("frames") or 0))
        self.note(job_line(entry, retry))

    def close(self) -> None:
        self.status.close()
        self.bar.close()


def job_line(entry: dict[str, Any], retry: bool = False) -> str:
    """One line for a finished job (or a failed try that runs again)."""
    name = Path(entry["input"]).name
    if entry["status"] == "done":
        outputs = ", ".join(entry["outputs"].values())
        warnings = "".join(f"\n    warning: {w}" for w in entry.get("warnings") or [])
        node = f" on {short_node(entry['node'])}" if entry.get("node") else ""
        return f"done         {name}: {entry['frames']} frames in {entry['seconds']:.1f} s{node} -> {outputs}{warnings}"
    attempt = f" (try {entry.get('attempt', 1)}, trying again)" if retry else ""
    reason = entry.get("error") or "stopped"
    return f"{entry['status']:<12} {name}{attempt}: {reason}"


def summary(entries: list[dict[str, Any]], seconds: float, journal: Path) -> str:
    """The table of every job (done, skipped, failed with its reason, interrupted, not run) and a total."""
    rows = [("status", "input", "frames", "seconds", "output or reason")]
    counts: dict[str, int] = {}
    frames = 0
    for entry in entries:
        status = entry["status"]
        counts[status] = counts.get(status, 0) + 1
        frames += int(entry.get("frames") or 0) if status == "done" else 0
        detail = ", ".join(entry.get("outputs", {}).values()) if status in ("done", "skipped") else ""
        if status not in ("done", "skipped"):
            detail = entry.get("error") or ("stopped" if status == "interrupted" else "")
            kept = ", ".join((entry.get("partial") or {}).values())
            detail += f" (kept {kept})" if kept else ""
        seconds_text = f"{entry['seconds']:.1f}" if entry.get("seconds") is not None else "-"
        frames_text = str(entry.get("frames", "-")) if status != "not run" else "-"
        rows.append((status, Path(entry["input"]).name, frames_text, seconds_text, " ".join(detail.split())))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}"
        for row in rows
    ]
    order = ("done", "skipped", "failed", "interrupted", "not run")
    total = ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))
    rate = f", {frames / seconds:.1f} frames/s" if seconds > 0 and frames else ""
    lines.append(f"{total or 'no job'} in {seconds:.1f} s{rate}; journal: {journal}")
    nodes: dict[str, list[int]] = {}  # Ray: node -> [jobs done, frames]
    for entry in entries:
        if entry["status"] == "done" and entry.get("node"):
            count = nodes.setdefault(short_node(entry["node"]), [0, 0])
            count[0] += 1
            count[1] += int(entry.get("frames") or 0)
    if nodes:
        lines.append("per node: " + ", ".join(f"{n} {c[0]} done ({c[1]} frames)" for n, c in sorted(nodes.items())))
    return "\n".join(lines)


def short_node(node: str) -> str:
    """A Ray node as IP/id (ray_runner.node_name), or the id alone when the IP is this host's loopback."""
    ip, _, node_id = node.partition("/")
    return node_id if ip in ("127.0.0.1", "") else node

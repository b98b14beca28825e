"""The batch journal, ``DIR/batch.jsonl``: one JSON line per event of a job (started, done, failed,
interrupted), appended and flushed to disk by the batch's one process, so a killed batch leaves at most a
torn last line (ignored when read). The last line of an input says where it stands.

A job is skipped on a later run only when its last line says done with the same graph and outputs, and
every output still holds the frames it was written with (``output_frames``): checked, not just present.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import cv2

from .batch_jobs import IMAGE_FILES, Job

JOURNAL = "batch.jsonl"
TEXT_OUTPUTS = (".jsonl", ".ndjson", ".json")


def output_frames(path: Path) -> int:
    """Frames an output holds: a video's as OpenCV opens it, a folder's images, a JSON Lines file's lines
    (0 when missing or unreadable)."""
    try:
        if path.is_dir():
            return sum(1 for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_FILES)
        if not path.is_file() or path.stat().st_size == 0:
            return 0
        if path.suffix.lower() in TEXT_OUTPUTS:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return sum(1 for line in handle if line.strip())
    except OSError:
        return 0
    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
    finally:
        capture.release()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record(job: Job, status: str, **fields: Any) -> dict[str, Any]:
    """A journal line for ``job``."""
    return {
        "input": job.input,
        "status": status,
        "outputs": job.outputs,
        "attempt": job.attempt,
        "graph": job.fingerprint,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **fields,
    }


class Journal:
    """Reads and appends ``folder/batch.jsonl``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL

    def read(self) -> dict[str, dict[str, Any]]:
        """The last line of each input (lines that do not parse, a torn last line, are ignored)."""
        last: dict[str, dict[str, Any]] = {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict) and isinstance(entry.get("input"), str):
                        last[entry["input"]] = entry
        except FileNotFoundError:
            pass
        return last

    def append(self, entry: dict[str, Any]) -> None:
        """One line, on disk when this returns (a torn line before it is ended first)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            torn = False
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                torn = handle.read(1) != b"\n"
            text = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
            handle.write((b"\n" if torn else b"") + text.encode("utf-8") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())


def why_run(job: Job, last: dict[str, Any] | None) -> str | None:
    """None when ``job`` is complete (skip it); otherwise why it runs, for the log."""
    if last is None:
        return "new"
    if last.get("status") != "done":
        return f"last {last.get('status', 'unknown')}"
    if last.get("graph") != job.fingerprint:
        return "the graph or its --set changed since it was done"
    if last.get("outputs") != job.outputs:
        return "its outputs changed since it was done"
    written = last.get("output_frames") or {}
    for sink, path in job.outputs.items():
        have = output_frames(Path(path))
        if have == 0 or have != written.get(sink):
            return f"{path} has {have} frames, the journal says {written.get(sink, '?')}"
    return None

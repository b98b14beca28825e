"""Writing a nodeswap faceset so that no run, finished or killed, loses what it wrote.

Each crop is written under a temporary name and renamed into place; then its line goes to this run's
journal (``.faceset.<run>.partial.jsonl``), flushed at once. At the end the index (``faceset.jsonl``) is
rewritten with the journal's lines folded in (temporary file, then ``os.replace``) and the journal removed.
A run killed before its end leaves its journal: ``load_faceset`` reads it beside the index, and the next
writer on the folder folds it in. One run per faceset folder at a time.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from .errors import UserError
from .faceset import INDEX, JOURNAL_GLOB, FaceRecord, index_entries, is_nodeswap_faceset, record_to_json


def write_index(folder: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the folder's index with ``entries`` atomically."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{INDEX}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for data in entries:
                handle.write(json.dumps(data, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, folder / INDEX)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_stem(source: str) -> str:
    """A file-name-safe stem for a media path ('' -> 'live' with the start time)."""
    stem = Path(source).stem if source else time.strftime("live-%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "face"


class FacesetWriter:
    """Adds faces to a faceset folder (created when missing); ``close`` folds them into the index."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()
        if self.folder.exists() and not self.folder.is_dir():
            raise UserError(f"faceset {self.folder} is a file: give a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"faceset {self.folder}: cannot create: {exc.strerror or exc}") from None
        visible = [p for p in self.folder.iterdir() if not p.name.startswith(".")]
        if visible and not is_nodeswap_faceset(self.folder):
            raise UserError(
                f"faceset {self.folder} holds other files and no {INDEX}: choose an empty folder or a faceset"
            )
        self._recover()
        self.journal = self.folder / f".faceset.{uuid.uuid4().hex[:8]}.partial.jsonl"
        try:
            self._file: TextIO | None = open(self.journal, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
        except OSError as exc:
            raise UserError(f"faceset {self.folder}: cannot write: {exc.strerror or exc}") from None
        self.written = 0

    def _recover(self) -> None:
        """Fold journals left by interrupted runs into the index."""
        stale = sorted(self.folder.glob(JOURNAL_GLOB))
        if stale:
            write_index(self.folder, index_entries(self.folder))
            for path in stale:
                path.unlink(missing_ok=True)

    def add(self, crop: np.ndarray, record: FaceRecord, quality: int = 95) -> None:
        """Write the crop to ``record.path`` (in the folder) and its line to the journal."""
        if self._file is None:
            raise RuntimeError("the faceset writer is closed")
        ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise RuntimeError(f"could not encode {record.path.name} as JPEG")
        tmp = record.path.with_name(f".{record.path.name}.tmp")
        data.tofile(str(tmp))
        os.replace(tmp, record.path)
        self._file.write(json.dumps(record_to_json(record, self.folder), separators=(",", ":")) + "\n")
        self._file.flush()
        self.written += 1

    def close(self) -> None:
        """Fold this run's journal into the index (atomically) and remove it. Keeps the journal when that fails."""
        file, self._file = self._file, None
        if file is None:
            return
        try:
            os.fsync(file.fileno())
        finally:
            file.close()
        if self.written == 0 and not (self.folder / INDEX).exists():
            write_index(self.folder, [])  # an empty faceset, but a faceset
        elif self.written:
            write_index(self.folder, index_entries(self.folder))
        self.journal.unlink(missing_ok=True)

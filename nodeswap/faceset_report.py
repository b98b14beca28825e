"""`nodeswap faceset DIR [--sheet OUT.jpg]`: what a faceset holds, as text, and a contact sheet."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .errors import UserError
from .faceset import FaceRecord, load_faceset, read_image, sharpness
from .node import unwritable

YAW_BINS = tuple(range(-90, 91, 10))
SHARPNESS_BINS = (0.0, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, float("inf"))
BAR = 40
SHEET_FACES = 100
SHEET_CELL = 128
SHEET_EXTENSIONS = (".jpg", ".jpeg", ".png")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    faceset = sub.add_parser("faceset", help="count a faceset's faces, poses and sharpness; draw a contact sheet")
    faceset.add_argument("folder", help="a nodeswap faceset (faceset.jsonl) or a DeepFaceLab aligned folder")
    faceset.add_argument("--sheet", metavar="OUT.jpg", help="write a contact sheet of up to 100 faces")


def histogram(title: str, labels: Sequence[str], counts: Sequence[int]) -> list[str]:
    """Text bars, one line per bin: label, count, bar scaled to the largest bin."""
    top = max(counts, default=0) or 1
    width = max((len(label) for label in labels), default=0)
    lines = [title]
    for label, count in zip(labels, counts, strict=True):
        lines.append(f"  {label:>{width}} {count:6d} {'#' * round(BAR * count / top)}")
    return lines


def yaw_histogram(records: Sequence[FaceRecord]) -> list[str]:
    yaws = np.array([r.pose[0] for r in records if r.pose is not None])
    if not len(yaws):
        return ["yaw: no head pose recorded"]
    counts, _ = np.histogram(np.clip(yaws, -90, 90), bins=YAW_BINS)
    first, last = int(np.flatnonzero(counts)[0]), int(np.flatnonzero(counts)[-1])
    labels = [f"{YAW_BINS[i]:+d}..{YAW_BINS[i + 1]:+d}" for i in range(first, last + 1)]
    unknown = len(records) - len(yaws)
    title = "yaw (degrees; + turned to the image right)" + (f", {unknown} without pose" if unknown else "")
    return histogram(title, labels, [int(c) for c in counts[first : last + 1]])


def sharpness_histogram(scores: Sequence[float]) -> list[str]:
    counts, _ = np.histogram(np.asarray(scores), bins=SHARPNESS_BINS)
    labels = [
        f"{SHARPNESS_BINS[i]:.0f}..{SHARPNESS_BINS[i + 1]:.0f}" if i < len(counts) - 1 else f"{SHARPNESS_BINS[i]:.0f}+"
        for i in range(len(counts))
    ]
    return histogram("sharpness (variance of the Laplacian, inner face at 128 px)", labels, [int(c) for c in counts])


def scores(records: Sequence[FaceRecord]) -> list[float]:
    """Each face's sharpness: the recorded one, or measured on its image (DeepFaceLab facesets record none)."""
    return [r.sharpness if r.sharpness is not None else sharpness(read_image(r)) for r in records]


def report(folder: Path, records: Sequence[FaceRecord], sharp: Sequence[float]) -> list[str]:
    tracks = {(r.source, r.track_id) for r in records}
    sources = {r.source for r in records}
    sizes = Counter(r.size for r in records)
    layouts = Counter(len(r.landmarks) for r in records)
    types = Counter(r.face_type for r in records)
    lines = [
        f"faceset {folder}",
        f"  faces {len(records)}, tracks {len(tracks)}, sources {len(sources)}",
        "  resolution " + ", ".join(f"{s} px ({n})" for s, n in sorted(sizes.items())),
        "  landmarks " + ", ".join(f"{k} points ({n})" for k, n in sorted(layouts.items())),
        "  face type " + ", ".join(f"{k} ({n})" for k, n in sorted(types.items())),
    ]
    if set(types) != {"whole_face"}:
        lines.append("  note: nodeswap trains on whole_face crops; faces of another type are cut differently")
    return [*lines, "", *yaw_histogram(records), "", *sharpness_histogram(sharp)]


def contact_sheet(records: Sequence[FaceRecord], sharp: Sequence[float], faces: int = SHEET_FACES) -> np.ndarray:
    """Up to ``faces`` faces spread evenly over the faceset, in its order, each with its yaw and sharpness."""
    picks = np.unique(np.linspace(0, len(records) - 1, min(faces, len(records))).round().astype(int))
    columns = min(10, len(picks))
    rows = -(-len(picks) // columns)
    sheet = np.zeros((rows * SHEET_CELL, columns * SHEET_CELL, 3), np.uint8)
    for slot, index in enumerate(picks):
        record = records[index]
        cell = cv2.resize(read_image(record), (SHEET_CELL, SHEET_CELL), interpolation=cv2.INTER_AREA)
        yaw = f"y{record.pose[0]:+.0f}" if record.pose is not None else "y?"
        label = f"{yaw} s{sharp[index]:.0f}"
        cv2.putText(cell, label, (3, SHEET_CELL - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(cell, label, (3, SHEET_CELL - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        row, column = divmod(slot, columns)
        sheet[row * SHEET_CELL : (row + 1) * SHEET_CELL, column * SHEET_CELL : (column + 1) * SHEET_CELL] = cell
    return sheet


def check_sheet_path(path: Path) -> None:
    """UserError when ``path`` cannot take a contact sheet (a folder, another file type, an unwritable folder)."""
    if path.is_dir():
        raise UserError(f"--sheet {path} is a folder: give a file name")
    if path.suffix.lower() not in SHEET_EXTENSIONS:
        raise UserError(f"--sheet {path}: use a {', '.join(SHEET_EXTENSIONS)} file name")
    problem = unwritable(path.parent)
    if problem:
        raise UserError(f"--sheet {path}: {problem}")


def write_image(path: Path, image: np.ndarray) -> None:
    """Write an image atomically (a temporary file beside it, then os.replace); UserError when it cannot be."""
    check_sheet_path(path)
    ok, data = cv2.imencode(path.suffix.lower(), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise UserError(f"--sheet {path}: OpenCV cannot encode it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"--sheet {path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.tobytes())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"--sheet {path}: cannot write: {exc.strerror or exc}") from None


def cmd_faceset(args: argparse.Namespace) -> int:
    folder = Path(args.folder).expanduser()
    if args.sheet:
        check_sheet_path(Path(args.sheet).expanduser())
    records = load_faceset(folder)
    sharp = scores(records)
    print("\n".join(report(folder, records, sharp)))
    if args.sheet:
        out = Path(args.sheet).expanduser()
        write_image(out, contact_sheet(records, sharp))
        print(f"\ncontact sheet: {out}")
    return 0

"""Facesets: folders of aligned face crops for training, read and written here.

A nodeswap faceset is a folder of JPEG crops plus ``faceset.jsonl``, one JSON object per face (see
``record_to_json``). Crops are DeepFaceLab "whole face" crops (nodeswap/nodes/ops/align.py template ``dfl_whole_face``
at coverage 2.2), what DFM models are trained on and what ``swap.dfm`` feeds them. ``load_faceset`` also
reads a DeepFaceLab ``aligned`` folder (JPEGs carrying pickled metadata, read by nodeswap.dfl_jpeg without
running code). The core only: numpy, OpenCV, json.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import UserError

log = logging.getLogger(__name__)

INDEX = "faceset.jsonl"  # the index of a nodeswap faceset
JOURNAL_GLOB = ".faceset.*.partial.jsonl"  # lines of a run not yet folded into the index (a killed run's)
TEMPLATE = "dfl_whole_face"  # DeepFaceLab's whole face as DeepFaceLive's aligner cuts it (nodes/ops/dfl_align.py)
COVERAGE = 2.2
DEFAULT_RESOLUTION = 256
# The uniform face square (brows to lower lip) sits this far below the whole-face crop's centre, in its widths:
# DeepFaceLive's aligner's y shift.
_UNIT_FACE_DROP = 0.08
SHARPNESS_SIDE = 128  # the inner face is measured at this size, so a score does not depend on the resolution
THUMB_SIDE = 32


@dataclass(frozen=True, eq=False)
class FaceRecord:
    """One face of a faceset. eq=False: records hold arrays, so two records are equal only when identical."""

    path: Path  # the aligned face image (JPEG)
    size: int  # its side in pixels (square)
    landmarks: np.ndarray  # (N, 2) float32 in crop pixels (468, 106 or 68 points)
    source: str = ""  # media path it was cut from ("" unknown)
    frame: int = -1
    track_id: int = 0
    mat: np.ndarray | None = None  # 2x3 frame -> crop
    pose: tuple[float, float, float] | None = None  # yaw, pitch, roll degrees
    sharpness: float | None = None
    face_type: str = "whole_face"  # DeepFaceLab's name of the crop; nodeswap facesets are always whole_face
    xseg: np.ndarray | None = None  # a DeepFaceLab faceset's XSeg mask (uint8 HW), where it has one


def inner_face(crop: np.ndarray, coverage: float = COVERAGE) -> np.ndarray:
    """The unit-face square (brows to lower lip, cheek to cheek) of a whole-face crop."""
    size = crop.shape[0]
    unit = size / coverage
    x0 = size / 2.0 - unit / 2.0
    y0 = x0 + _UNIT_FACE_DROP * unit
    top, left = max(round(y0), 0), max(round(x0), 0)
    side = max(round(unit), 1)
    return crop[top : top + side, left : left + side]


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def sharpness(crop: np.ndarray, coverage: float = COVERAGE) -> float:
    """Variance of the Laplacian of the inner face, resized to 128 px (comparable across resolutions).

    Sharp, in-focus faces score a few hundred; motion-blurred or upscaled ones tens."""
    inner = cv2.resize(
        _grey(inner_face(crop, coverage)), (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA
    )
    return float(cv2.Laplacian(inner, cv2.CV_64F).var())


def thumbnail(crop: np.ndarray, coverage: float = COVERAGE) -> np.ndarray:
    """A 32x32 grey float32 thumbnail of the inner face, for near-duplicate checks."""
    inner = cv2.resize(_grey(inner_face(crop, coverage)), (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA)
    return inner.astype(np.float32)


def face_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, in grey levels (0-255): 0 = the same face image."""
    return float(np.abs(a - b).mean())


def _points(value: Any) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(value, np.float64).reshape(-1, 2)]


def record_to_json(record: FaceRecord, folder: Path) -> dict[str, Any]:
    """One index line: file (relative to the folder), size, source, frame, track_id, landmarks (crop pixels),
    mat (2x3 frame -> crop), pose {yaw, pitch, roll} or null, sharpness, template and coverage."""
    pose = None
    if record.pose is not None and all(math.isfinite(v) for v in record.pose):
        pose = dict(zip(("yaw", "pitch", "roll"), (round(float(v), 2) for v in record.pose), strict=True))
    mat = None if record.mat is None else [[round(float(v), 6) for v in row] for row in np.asarray(record.mat)[:2]]
    return {
        "file": record.path.relative_to(folder).as_posix() if record.path.is_relative_to(folder) else str(record.path),
        "size": int(record.size),
        "source": record.source,
        "frame": int(record.frame),
        "track_id": int(record.track_id),
        "landmarks": _points(record.landmarks),
        "mat": mat,
        "pose": pose,
        "sharpness": None if record.sharpness is None else round(float(record.sharpness), 2),
        "template": TEMPLATE,
        "coverage": COVERAGE,
    }


def record_from_json(data: Any, folder: Path) -> FaceRecord:
    """The record of one index line; ValueError (said why) when a field is missing or malformed."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        landmarks = np.asarray(data["landmarks"], np.float32)
        size = int(data["size"])
        file = str(data["file"])
    except KeyError as exc:
        raise ValueError(f"no field {exc}") from None
    except (TypeError, ValueError):
        raise ValueError("file, size or landmarks malformed") from None
    if landmarks.ndim != 2 or landmarks.shape[1] != 2 or len(landmarks) < 5 or size < 8:
        raise ValueError(f"landmarks of shape {landmarks.shape} or size {size} is not a face")
    if data.get("template", TEMPLATE) != TEMPLATE:
        raise ValueError(f"template {data.get('template')!r}: only {TEMPLATE} crops are read")
    mat = None if data.get("mat") is None else np.asarray(data["mat"], np.float64).reshape(2, 3)
    pose_data = data.get("pose")
    pose = None if not pose_data else (float(pose_data["yaw"]), float(pose_data["pitch"]), float(pose_data["roll"]))
    score = data.get("sharpness")
    return FaceRecord(
        path=folder / file,
        size=size,
        landmarks=landmarks,
        source=str(data.get("source") or ""),
        frame=int(data.get("frame", -1)),
        track_id=int(data.get("track_id", 0)),
        mat=mat,
        pose=pose,
        sharpness=None if score is None else float(score),
    )


def read_index_lines(path: Path, journal: bool = False) -> list[dict[str, Any]]:
    """The JSON objects of an index or journal. A journal's torn last line (a killed run) is skipped; any other
    bad line is a UserError naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"faceset index {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            found.append(json.loads(line))
        except ValueError:
            if journal and number == len(lines):
                log.warning("%s: the last line was cut off (an interrupted run); it is skipped", path)
                continue
            raise UserError(f"faceset index {path}, line {number}: not JSON") from None
    return found


def index_entries(folder: Path) -> list[dict[str, Any]]:
    """Every face line of a nodeswap faceset: the index, then journals left by interrupted runs; a file listed
    twice keeps its last line."""
    entries: dict[str, dict[str, Any]] = {}
    index = folder / INDEX
    sources = [(index, False)] if index.is_file() else []
    sources += [(p, True) for p in sorted(folder.glob(JOURNAL_GLOB), key=lambda p: p.stat().st_mtime)]
    for path, journal in sources:
        for data in read_index_lines(path, journal):
            key = str(data.get("file")) if isinstance(data, dict) else ""
            entries.pop(key, None)
            entries[key] = data
    return list(entries.values())


def is_nodeswap_faceset(folder: Path) -> bool:
    return (folder / INDEX).is_file() or any(folder.glob(JOURNAL_GLOB))


def load_faceset(folder: str | Path) -> list[FaceRecord]:
    """The faces of a nodeswap faceset (``faceset.jsonl``) or a DeepFaceLab aligned folder (JPEGs with APP15
    metadata). UserError naming the folder or file when it cannot be read."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"faceset {root}: {'not a folder' if root.exists() else 'no such folder'}")
    if not is_nodeswap_faceset(root):
        from .dfl_jpeg import load_dfl_folder

        return load_dfl_folder(root)
    records = []
    for number, data in enumerate(index_entries(root), 1):
        try:
            record = record_from_json(data, root)
        except (ValueError, TypeError, KeyError) as exc:
            raise UserError(f"faceset {root / INDEX}: face {number}: {exc}") from None
        if record.path.is_file():
            records.append(record)
        else:
            log.warning("faceset %s: %s is listed but missing; skipped", root, record.path.name)
    if not records:
        raise UserError(f"faceset {root}: no faces (the index lists none that exist)")
    return records


def read_image(record: FaceRecord) -> np.ndarray:
    """The crop as BGR uint8 (size, size, 3); UserError naming the file when it cannot be read."""
    try:
        data = np.fromfile(str(record.path), np.uint8)  # fromfile + imdecode: non-ASCII paths on Windows
    except OSError as exc:
        raise UserError(f"face image {record.path}: cannot read: {exc.strerror or exc}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UserError(f"face image {record.path}: not an image OpenCV can read")
    if image.shape[:2] != (record.size, record.size):
        raise UserError(f"face image {record.path}: {image.shape[1]}x{image.shape[0]}, the index says {record.size}")
    decoded: np.ndarray = image
    return decoded

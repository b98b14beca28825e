"""DeepFaceLab aligned faces: JPEGs whose APP15 segment holds a pickled dict of metadata.

DeepFaceLab writes ``pickle.dumps(dict)`` into an APP15 (0xFFEF) segment of each aligned JPEG. Its keys:
face_type ('whole_face', 'full_face', 'head', ...), landmarks (68 points in crop pixels), source_filename,
source_rect, source_landmarks (frame pixels), image_to_face_mat (2x3 frame -> crop), eyebrows_expand_mod,
seg_ie_polys, xseg_mask (an encoded image). A pickle can run any code, so it is read with
``RestrictedUnpickler``: plain containers, numbers, strings, bytes and numpy arrays, nothing else.
"""

from __future__ import annotations

import io
import logging
import math
import pickle
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import UserError
from .faceset import FaceRecord

log = logging.getLogger(__name__)

APP15 = 0xEF
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
MAX_ARRAY_ITEMS = 1 << 22  # no array in a face's metadata comes near this (a landmarks array has 136)


def _reconstruct_array(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's pickle constructor, limited to plain ndarrays of a sane size."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"array of type {subtype!r}")
    count = math.prod(int(n) for n in (shape if isinstance(shape, tuple) else (shape,)))
    if count > MAX_ARRAY_ITEMS:
        raise pickle.UnpicklingError(f"array of {count} items")
    array: np.ndarray = np.ndarray.__new__(np.ndarray, shape, dtype)
    return array


def _scalar(dtype: Any, data: Any = None) -> Any:
    """numpy's pickle constructor of scalars (np.float32(1.0)), for plain dtypes only."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError(f"numpy scalar of dtype {dtype!r}")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("numpy scalar without its bytes")
    return np.frombuffer(data, dtype)[0]


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """numpy's protocol-5 array constructor, for plain dtypes only (a copy, so the array is writable)."""
    if not isinstance(buffer, (bytes, bytearray, pickle.PickleBuffer)) or not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("numpy buffer of unexpected types")
    if dtype.hasobject or order not in ("C", "F"):
        raise pickle.UnpicklingError(f"numpy buffer of dtype {dtype!r}")
    array: np.ndarray = np.frombuffer(memoryview(buffer), dtype).reshape(shape, order=order).copy()
    return array


def _encode(text: str, encoding: str = "latin1") -> bytes:
    """What protocol-2 pickles call to make bytes (``_codecs.encode``), text only."""
    if not isinstance(text, str) or not isinstance(encoding, str):
        raise pickle.UnpicklingError("_codecs.encode of a non-string")
    return text.encode(encoding)


# Every global a pickle of plain data and numpy arrays refers to, and what it is given instead.
ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _encode,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("collections", "OrderedDict"): dict,
}
# protocol-2 pickles name the builtins the Python 2 way
ALLOWED.update(
    {("__builtin__", name): value for (module, name), value in list(ALLOWED.items()) if module == "builtins"}
)


class RefusedPickle(pickle.UnpicklingError):
    """A pickle asked for something that is not plain data."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain data (dict, list, tuple, str, bytes, numbers, sets) and numpy arrays; refuses any other
    class or function, so loading cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED.get((module, name))
        if allowed is None:
            raise RefusedPickle(f"{module}.{name}")
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle("a persistent id")


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` with ``RestrictedUnpickler``."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def jpeg_segments(data: bytes) -> tuple[tuple[int, int] | None, bytes | None]:
    """((width, height) or None, the APP15 payload or None) of a JPEG file's bytes; ValueError if not a JPEG."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos, size, app15 = 2, None, None
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        payload = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(payload) != length - 2:
            raise ValueError(f"segment at byte {pos} runs past the end of the file")
        if marker == APP15 and app15 is None:
            app15 = payload
        elif marker in _SOF and len(payload) >= 5:
            height, width = struct.unpack(">HH", payload[1:5])
            size = (width, height)
        pos += 2 + length
    return size, app15


def read_dfl_metadata(path: Path) -> tuple[tuple[int, int] | None, dict[str, Any] | None]:
    """((width, height), metadata dict) of a DeepFaceLab aligned JPEG; metadata None when it has none.
    UserError naming the file when it is unreadable or its pickle asks for anything but plain data."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        size, payload = jpeg_segments(data)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None
    if payload is None:
        return size, None
    try:
        meta = safe_loads(payload)
    except RefusedPickle as exc:
        raise UserError(
            f"{path}: its DeepFaceLab metadata asks for {exc}, which face data never needs: refused "
            "(the file may have been made to run code)"
        ) from None
    except Exception as exc:  # a corrupt pickle raises anything from EOFError to ValueError
        raise UserError(f"{path}: its DeepFaceLab metadata is corrupt ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}: its DeepFaceLab metadata is a {type(meta).__name__}, not a dict")
    return size, meta


# A generic head (mm; x right, y down, z away) for 68-point solvePnP: outer and inner eye corners, nose tip,
# mouth corners, chin; the same head and camera as nodeswap/nodes/ops/pose.py (tests/test_faceset_dfl.py compares).
_HEAD = np.array(
    [[-45, -35, 12], [-15, -33, 4], [15, -33, 4], [45, -35, 12], [0, 5, -22], [-25, 32, 6], [25, 32, 6], [0, 72, 6]],
    np.float64,
)
_HEAD_68 = (36, 39, 42, 45, 30, 48, 54, 8)


def pose_68(landmarks: np.ndarray) -> tuple[float, float, float] | None:
    """(yaw, pitch, roll) degrees of 68 landmarks, nodeswap's convention (yaw > 0: turned to the image right)."""
    points = np.asarray(landmarks, np.float64)[list(_HEAD_68), :2]
    centre = points.mean(axis=0)
    eye_span = float(np.linalg.norm(points[3] - points[0])) or 1.0
    focal = 20.0 * eye_span
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]])
    tvec = np.array([[0.0], [0.0], [focal * float(np.linalg.norm(_HEAD[3] - _HEAD[0])) / eye_span]])
    ok, rvec, _ = cv2.solvePnP(_HEAD, points, camera, None, np.zeros((3, 1)), tvec, True, cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    x, y = rotation[:, 0], rotation[:, 1]
    z = np.cross(x / np.linalg.norm(x), y)
    z = z / max(float(np.linalg.norm(z)), 1e-12)
    yaw = math.degrees(math.atan2(-z[0], z[2]))
    pitch = math.degrees(math.atan2(z[1], math.hypot(z[0], z[2])))
    roll = math.degrees(math.atan2(x[1], x[0]))
    return yaw, pitch, roll


def _frame_number(source_filename: str) -> int:
    """DeepFaceLab names extracted frames 00001.png, ... from 1: the 0-based frame index, or -1."""
    stem = Path(source_filename).stem
    return int(stem) - 1 if stem.isdigit() and int(stem) > 0 else -1


def dfl_record(path: Path) -> FaceRecord | None:
    """The FaceRecord of one DeepFaceLab aligned JPEG, or None when it carries no DeepFaceLab metadata."""
    size, meta = read_dfl_metadata(path)
    if meta is None or "landmarks" not in meta:
        return None
    try:
        landmarks = np.asarray(meta["landmarks"], np.float32).reshape(-1, 2)
        mat = meta.get("image_to_face_mat")
        mat = None if mat is None else np.asarray(mat, np.float64).reshape(2, 3)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: DeepFaceLab landmarks or matrix malformed ({exc})") from None
    if size is None or size[0] != size[1]:
        raise UserError(f"{path}: not a square face crop ({size})")
    source = str(meta.get("source_filename") or "")
    xseg = _xseg_mask(path, meta.get("xseg_mask"))
    return FaceRecord(
        path=path,
        size=size[0],
        landmarks=landmarks,
        source=source,
        frame=_frame_number(source),
        mat=mat,
        pose=pose_68(landmarks) if len(landmarks) == 68 else None,
        face_type=str(meta.get("face_type") or "full_face"),  # DeepFaceLab's default when the key is absent
        xseg=xseg,
    )


def _xseg_mask(path: Path, encoded: Any) -> np.ndarray | None:
    """The XSeg mask DeepFaceLab stores as an encoded PNG or JPEG (uint8 HW), or None when there is none."""
    if encoded is None:
        return None
    try:
        buffer = np.frombuffer(bytes(encoded), np.uint8) if isinstance(encoded, bytes) else np.asarray(encoded)
        mask = cv2.imdecode(buffer.astype(np.uint8).reshape(-1), cv2.IMREAD_UNCHANGED)
    except (TypeError, ValueError, cv2.error) as exc:
        raise UserError(f"{path}: DeepFaceLab XSeg mask malformed ({exc})") from None
    if mask is None:
        raise UserError(f"{path}: DeepFaceLab XSeg mask cannot be decoded")
    grey: np.ndarray = mask if mask.ndim == 2 else mask[..., 0]
    return grey


def load_dfl_folder(folder: Path) -> list[FaceRecord]:
    """Every DeepFaceLab aligned JPEG in ``folder`` (sorted by name); files without metadata are skipped."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg") and p.is_file())
    records, skipped = [], 0
    for path in files:
        record = dfl_record(path)
        if record is None:
            skipped += 1
        else:
            records.append(record)
    if skipped:
        log.warning("faceset %s: %d JPEGs carry no DeepFaceLab metadata; skipped", folder, skipped)
    if not records:
        raise UserError(f"faceset {folder}: no faceset.jsonl and no DeepFaceLab aligned JPEG with metadata")
    return records

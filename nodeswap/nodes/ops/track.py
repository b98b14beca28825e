"""Temporal maths for faces: One-Euro smoothing, IoU tracking, sorting, optical-flow shifts.

No model needed; everything is numpy (cv2 for Lucas-Kanade flow).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np

from .detect import iou_matrix

SORT_MODES = ("largest", "distance from centre", "left to right", "right to left", "top to bottom", "bottom to top")


# -- One-Euro filter ------------------------------------------------------------------


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """One-Euro filter (Casiez et al. 2012) on an array of values.

    The cutoff frequency rises with speed: ``min_cutoff + beta * |speed| / scale``,
    so slow jitter is smoothed hard and fast moves follow with little lag.
    ``scale`` (e.g. the face size in pixels) makes ``beta`` independent of the
    resolution: speed is measured in scales per second.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None
        self.time = 0.0

    def reset(self) -> None:
        self.value = self.speed = None

    def __call__(self, value: np.ndarray, time: float, scale: float = 1.0) -> np.ndarray:
        value = np.asarray(value, np.float64)
        dt = time - self.time
        if self.value is None or self.value.shape != value.shape or dt <= 0 or dt > 1.0:
            # first value, a re-sent or rewound frame, or a long gap: start afresh
            self.value, self.speed, self.time = value.copy(), np.zeros_like(value), time
            fresh: np.ndarray = value.copy()
            return fresh
        assert self.speed is not None
        speed = (value - self.value) / dt
        self.speed = self.speed + _alpha(self.d_cutoff, dt) * (speed - self.speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self.speed) / max(scale, 1e-6)
        self.value = self.value + _alpha(cutoff, dt) * (value - self.value)
        self.time = time
        smoothed: np.ndarray = self.value.copy()
        return smoothed


class TrackSmoother:
    """One ``OneEuro`` per (track id, what) key; keys not seen in a frame are dropped."""

    def __init__(self) -> None:
        self.filters: dict[tuple[int, str], OneEuro] = {}
        self._seen: set[tuple[int, str]] = set()

    def smooth(
        self, track_id: int, what: str, value: np.ndarray, time: float, scale: float, min_cutoff: float, beta: float
    ) -> np.ndarray:
        key = (track_id, what)
        filt = self.filters.get(key)
        if filt is None:
            filt = self.filters[key] = OneEuro(min_cutoff, beta)
        filt.min_cutoff, filt.beta = min_cutoff, beta
        self._seen.add(key)
        return filt(value, time, scale)

    def smooth_landmarks(
        self,
        track_id: int,
        points: np.ndarray,
        time: float,
        size: float,
        min_cutoff: float,
        beta: float,
        shape_cutoff: float,
    ) -> np.ndarray:
        """Landmarks (N, 2 or 3) smoothed in two parts: where the face is and how big (its centre and spread),
        with ``min_cutoff``, and its shape around that (blinks, speech), with the higher ``shape_cutoff``, so
        the head holds still without the eyes and the mouth lagging behind."""
        pts = np.asarray(points, np.float64)
        centre = pts[:, :2].mean(0)
        spread = float(np.sqrt(((pts[:, :2] - centre) ** 2).sum(1).mean())) or 1.0
        offset = np.zeros(pts.shape[1])
        offset[:2] = centre
        shape = (pts - offset) / spread
        where = self.smooth(track_id, "pose", np.append(centre, spread), time, size, min_cutoff, beta)
        shape = self.smooth(track_id, "shape", shape, time, size / spread, shape_cutoff, beta)
        offset[:2] = where[:2]
        smoothed: np.ndarray = shape * where[2] + offset
        return smoothed

    def end_frame(self) -> None:
        """Forget filters of tracks that were not seen since the last call."""
        self.filters = {k: f for k, f in self.filters.items() if k in self._seen}
        self._seen = set()

    def reset(self) -> None:
        self.filters.clear()
        self._seen.clear()


class MovingAverage:
    """DeepFaceLive's temporal smoothing: the plain mean of the last ``frames`` values per (track id, what);
    keys not seen in a frame are dropped."""

    def __init__(self) -> None:
        self.history: dict[tuple[int, str], deque[np.ndarray]] = {}
        self._seen: set[tuple[int, str]] = set()

    def average(self, track_id: int, what: str, value: np.ndarray, frames: int) -> np.ndarray:
        key = (track_id, what)
        past = self.history.get(key)
        if past is None or past.maxlen != frames or (past and past[0].shape != value.shape):
            past = self.history[key] = deque(maxlen=frames)
        past.append(np.asarray(value, np.float64))
        self._seen.add(key)
        mean: np.ndarray = np.mean(past, axis=0)
        return mean

    def end_frame(self) -> None:
        self.history = {k: h for k, h in self.history.items() if k in self._seen}
        self._seen = set()


# -- IoU tracker -------------------------------------------------------------------------


class IoUTracker:
    """Gives each box a stable id: greedy matching by IoU with the boxes of the
    previous frames. A track that is not matched is kept ``max_age`` frames so a
    missed detection does not change the face's id."""

    def __init__(self, min_iou: float = 0.3, max_age: int = 15) -> None:
        self.min_iou, self.max_age = min_iou, max_age
        self.tracks: dict[int, tuple[np.ndarray, int]] = {}  # id -> (box, frames since seen)
        self.next_id = 0

    def reset(self) -> None:
        self.tracks.clear()
        self.next_id = 0

    def update(self, boxes: np.ndarray) -> list[int]:
        """Ids for ``boxes`` (N,4) in the same order."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        track_ids = list(self.tracks)
        ids: list[int] = [-1] * len(boxes)
        if track_ids and len(boxes):
            old = np.stack([self.tracks[t][0] for t in track_ids])
            overlap = iou_matrix(boxes, old)
            for flat in np.argsort(-overlap, axis=None):
                row, col = divmod(int(flat), len(track_ids))
                if overlap[row, col] < self.min_iou:
                    break
                if ids[row] == -1 and track_ids[col] not in ids:
                    ids[row] = track_ids[col]
        for row, track in enumerate(ids):
            if track == -1:
                ids[row] = track = self.next_id
                self.next_id += 1
            self.tracks[track] = (boxes[row], 0)
        for track, (box, age) in list(self.tracks.items()):
            if track not in ids:
                if age + 1 > self.max_age:
                    del self.tracks[track]
                else:
                    self.tracks[track] = (box, age + 1)
        return ids


# -- sorting -------------------------------------------------------------------------------


def sort_order(boxes: np.ndarray, mode: str, frame_size: tuple[int, int]) -> np.ndarray:
    """Indices that order ``boxes`` (N,4) by ``mode`` (one of SORT_MODES)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    if mode == "largest":
        key = -(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    elif mode == "distance from centre":
        key = np.hypot(cx - frame_size[0] / 2, cy - frame_size[1] / 2)
    elif mode == "left to right":
        key = cx
    elif mode == "right to left":
        key = -cx
    elif mode == "top to bottom":
        key = cy
    elif mode == "bottom to top":
        key = -cy
    else:
        raise ValueError(f"unknown sort mode {mode!r}")
    return np.argsort(key, kind="stable")


# -- optical-flow shift between detections ----------------------------------------------------


def _track_points(box: np.ndarray, kps: np.ndarray | None) -> np.ndarray:
    """Points to follow for one face: its keypoints plus a 4x4 grid in the box's middle."""
    x1, y1, x2, y2 = box
    gx = np.linspace(x1 + 0.2 * (x2 - x1), x2 - 0.2 * (x2 - x1), 4)
    gy = np.linspace(y1 + 0.2 * (y2 - y1), y2 - 0.2 * (y2 - y1), 4)
    grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    return grid if kps is None else np.concatenate([np.asarray(kps).reshape(-1, 2), grid])


def flow_shift(
    prev_grey: np.ndarray, grey: np.ndarray, boxes: Sequence[np.ndarray], kps: Sequence[np.ndarray | None]
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Move each face (box and keypoints, in ``grey`` pixels) by the median
    Lucas-Kanade motion of its points and scale it by their change of spread.
    A face whose points cannot be followed stays where it was."""
    if not boxes:
        return [], []
    points = [_track_points(np.asarray(b, np.float64), k) for b, k in zip(boxes, kps, strict=True)]
    start = np.concatenate(points).astype(np.float32).reshape(-1, 1, 2)
    # nextPts is output-only here (no OPTFLOW_USE_INITIAL_FLOW); an array type-checks under every OpenCV stub
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        prev_grey,
        grey,
        start,
        np.empty_like(start),
        winSize=(15, 15),
        maxLevel=2,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03),
    )
    moved, ok = moved.reshape(-1, 2).astype(np.float64), status.reshape(-1).astype(bool)
    new_boxes, new_kps = [], []
    first = 0
    for box, face_kps, pts in zip(boxes, kps, points, strict=True):
        sel = slice(first, first + len(pts))
        first += len(pts)
        good = ok[sel]
        old_p, new_p = pts[good], moved[sel][good]
        box = np.asarray(box, np.float64)
        if len(old_p) < 3:
            new_boxes.append(box)
            new_kps.append(face_kps)
            continue
        shift = np.median(new_p - old_p, axis=0)
        old_c, new_c = np.median(old_p, axis=0), np.median(new_p, axis=0)
        spread_old = np.median(np.linalg.norm(old_p - old_c, axis=1))
        spread_new = np.median(np.linalg.norm(new_p - new_c, axis=1))
        scale = float(np.clip(spread_new / spread_old, 0.8, 1.25)) if spread_old > 1e-6 else 1.0
        centre = (box[:2] + box[2:]) / 2
        new_centre = centre + shift
        half = (box[2:] - box[:2]) / 2 * scale
        new_boxes.append(np.concatenate([new_centre - half, new_centre + half]))
        if face_kps is None:
            new_kps.append(None)
        else:
            new_kps.append((np.asarray(face_kps, np.float64) - centre) * scale + new_centre)
    return new_boxes, new_kps

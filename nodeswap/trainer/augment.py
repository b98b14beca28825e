"""Training batches, as DeepFaceLab's sample generator makes them.

Each face gets one random transform (rotation within 10 degrees, scale from 1/1.15 to 1.15, shift within 5%,
and a horizontal flip with probability 0.4 where enabled: SampleProcessor's ranges as SAEHD and AMP set them)
applied to its image and masks: that is the target. The network's input is
the same target, further bent by a smooth random grid (random warp) when enabled. With colour transfer
(ct_mode: rct, lct, mkl, idt or sot, colour.py) a src face first takes the colours of a random dst face; with
random_hsv_power a src input gets a random hue, saturation and value shift.

Batch ``i`` is a pure function of (seed, i, stage): a run that stops and resumes sees the same batches.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from .colour import hsv_shift, transfer
from .data import FaceData, yaw_bins
from .masks import renormalised
from .options import Stage


@dataclass
class Side:
    """One side of a batch, float32 NCHW: the network input, the target, the face and eyes-mouth masks."""

    warped: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    em_mask: np.ndarray


ROTATION = 10.0  # degrees either way
SCALE = 0.15  # scale from 1 / (1 + SCALE) to 1 + SCALE
SHIFT = 0.05  # share of the side either way
FLIP_CHANCE = 0.4


def random_affine(rng: np.random.Generator, size: int) -> np.ndarray:
    """2x3: rotate within 10 degrees and scale by 1/1.15-1.15 about the centre, shift within 5% of the side."""
    angle = rng.uniform(-ROTATION, ROTATION)
    scale = rng.uniform(1.0 / (1.0 + SCALE), 1.0 + SCALE)
    mat = np.asarray(cv2.getRotationMatrix2D((size // 2, size // 2), angle, scale), np.float64)
    mat[:, 2] += rng.uniform(-SHIFT, SHIFT, 2) * size
    return mat


def _cubic_weights(size: int, cells: int) -> np.ndarray:
    """(size, cells + 1) weights that interpolate grid points 0..cells onto pixels 0..size-1 (corners aligned)
    with the cubic convolution kernel (a = -0.5): exact at the grid points, smooth between them."""
    t = np.abs(np.linspace(0.0, cells, size)[:, None] - np.arange(cells + 1)[None, :])
    a = -0.5
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    weights: np.ndarray = np.where(t <= 1, near, np.where(t < 2, far, 0.0)).astype(np.float32)
    return weights


def random_warp_maps(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps that bend the image along a coarse grid (2, 4 or 8 cells) whose inner points move
    (normal, sigma 0.24 of a cell) and whose border stays, interpolated smoothly."""
    cells = int(rng.choice([2, 4, 8]))
    cell = size / cells
    grid = np.zeros((2, cells + 1, cells + 1), np.float32)
    grid[:, 1:-1, 1:-1] = rng.normal(0.0, 0.24 * cell, (2, cells - 1, cells - 1))
    weights = _cubic_weights(size, cells)
    dx, dy = (weights @ g @ weights.T for g in grid)
    base = np.arange(size, dtype=np.float32)
    return base[None, :] + dx, base[:, None] + dy


def _sample(
    faces: FaceData,
    index: int,
    rng: np.random.Generator,
    warp: bool,
    flip: bool,
    recolour: tuple[FaceData, int, str] | None,
    hsv_power: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    image, mask, em = faces.images[index], faces.masks[index], faces.em_masks[index]
    if recolour is not None:
        ref, j, mode = recolour
        image = transfer(mode, image, ref.images[j], rng)
    size = image.shape[0]
    mat = random_affine(rng, size)
    target = cv2.warpAffine(image, mat, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(mask, mat, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    em = renormalised(cv2.warpAffine(em, mat, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))
    warped = target
    if warp:
        map_x, map_y = random_warp_maps(rng, size)
        warped = cv2.remap(target, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped = hsv_shift(warped, hsv_power, rng)  # the network's input only (random_hsv_power, src)
    if flip and rng.random() < FLIP_CHANCE:
        target, warped, mask, em = (np.ascontiguousarray(a[:, ::-1]) for a in (target, warped, mask, em))
    return warped, target, mask, em


def pick(
    faces: FaceData, count: int, rng: np.random.Generator, uniform_yaw: bool, bins: list[np.ndarray]
) -> np.ndarray:
    """Face indices: uniformly at random, or a uniformly chosen yaw bin first (side faces as often as frontal)."""
    if not uniform_yaw:
        return rng.integers(0, len(faces), count)
    chosen = rng.integers(0, len(bins), count)
    return np.array([bins[b][rng.integers(0, len(bins[b]))] for b in chosen], np.int64)


def _nchw(images: list[np.ndarray]) -> np.ndarray:
    stack = np.stack(images).astype(np.float32) / 255.0
    return np.ascontiguousarray(stack.transpose(0, 3, 1, 2) if stack.ndim == 4 else stack[:, None])


class Batches:
    """Makes batch ``i`` for a stage, one iteration ahead in a worker thread."""

    def __init__(self, src: FaceData, dst: FaceData, pretrain: FaceData, seed: int) -> None:
        self.src, self.dst, self.pretrain, self.seed = src, dst, pretrain, seed
        self._bins = {id(f): yaw_bins(f.yaws) for f in (src, dst, pretrain)}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batches")
        self._ahead: dict[int, Future[tuple[Side, Side]]] = {}
        self._lock = threading.Lock()

    def sides(self, stage: Stage) -> tuple[FaceData, FaceData]:
        if stage.options.pretrain:
            return self.pretrain, self.pretrain
        return self.src, self.src if stage.dst_is_src else self.dst

    def make(self, iteration: int, stage: Stage) -> tuple[Side, Side]:
        rng = np.random.default_rng([self.seed, iteration])
        options = stage.options.effective()
        src, dst = self.sides(stage)
        out = []
        for faces, flip, is_src in ((src, options.random_src_flip, True), (dst, options.random_dst_flip, False)):
            chosen = pick(faces, options.batch, rng, options.uniform_yaw, self._bins[id(faces)])
            samples = []
            for index in chosen:
                recolour = None
                if is_src and options.ct_mode != "none" and faces is not dst:
                    recolour = (dst, int(rng.integers(0, len(dst))), options.ct_mode)
                hsv = options.random_hsv_power if is_src else 0.0
                samples.append(_sample(faces, int(index), rng, options.random_warp, flip, recolour, hsv))
            warped, target, mask, em = (list(column) for column in zip(*samples, strict=True))
            out.append(Side(_nchw(warped), _nchw(target), _nchw(mask), _nchw(em)))
        return out[0], out[1]

    def get(self, iteration: int, stage: Stage, next_stage: Stage | None) -> tuple[Side, Side]:
        """Batch ``iteration``, and start making the next one (``next_stage`` None: there is none)."""
        with self._lock:
            future = self._ahead.pop(iteration, None)
            if future is None:
                self._ahead.clear()
                future = self._pool.submit(self.make, iteration, stage)
            if next_stage is not None:
                self._ahead[iteration + 1] = self._pool.submit(self.make, iteration + 1, next_stage)
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

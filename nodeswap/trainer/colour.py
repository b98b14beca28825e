"""DeepFaceLab's colour transfers for training (ct_mode), on whole crops: a src face takes the colours of a random
dst face before it is augmented. Images are float32 BGR in [0, 1]; the statistics come from every pixel of both
crops, as DeepFaceLab's SampleProcessor computes them (no masks).

- rct: Reinhard's transfer, each Lab channel's mean and spread;
- lct: a linear map of the colour covariance (the PCA square roots);
- mkl: the Monge-Kantorovich linear map of the covariances;
- idt: iterative distribution transfer: 20 random rotations, each axis histogram-matched, relaxed 1/20 a step;
- sot: sliced optimal transport, 10 steps of 5 random directions, the change smoothed by a bilateral filter.
Random draws come from the caller's generator, so a batch is the same on every run.
"""

from __future__ import annotations

import cv2
import numpy as np

from nodeswap.nodes.ops.blend import rct_whole_crop

CT_MODES = ("none", "rct", "lct", "mkl", "idt", "sot")


def _image(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pixel values back to a float32 image of ``shape``, clipped to [0, 1]."""
    image: np.ndarray = np.clip(values, 0.0, 1.0).reshape(shape).astype(np.float32)
    return image


def rct(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Reinhard's transfer over every pixel of both crops (the merger's whole-crop RCT with nothing masked)."""
    return rct_whole_crop(image, reference, np.ones(image.shape[:2], np.float32))


def _covariance_root(pixels: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    mean = pixels.mean(0)
    centred = pixels - mean
    cov = centred.T @ centred / len(pixels) + eps * np.eye(pixels.shape[1])
    values, vectors = np.linalg.eigh(cov)
    return mean, vectors @ np.diag(np.sqrt(np.maximum(values, 0.0))) @ vectors.T


def lct(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    pixels, ref = image.reshape(-1, 3).astype(np.float64), reference.reshape(-1, 3).astype(np.float64)
    mean, root = _covariance_root(pixels, 1e-5)
    ref_mean, ref_root = _covariance_root(ref, 1e-5)
    out = (pixels - mean) @ (ref_root @ np.linalg.inv(root)).T + ref_mean
    return _image(out, image.shape)


def mkl(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    eps = np.finfo(np.float64).eps
    pixels, ref = image.reshape(-1, 3).astype(np.float64), reference.reshape(-1, 3).astype(np.float64)
    cov_a, cov_b = np.cov(pixels.T), np.cov(ref.T)
    values_a, vectors_a = np.linalg.eigh(cov_a)
    root_a = np.diag(np.sqrt(np.clip(values_a, eps, None)))
    middle = root_a @ vectors_a.T @ cov_b @ vectors_a @ root_a
    values_c, vectors_c = np.linalg.eigh(middle)
    root_c = np.diag(np.sqrt(np.clip(values_c, eps, None)))
    inverse_a = np.diag(1.0 / np.diag(root_a))
    transform = vectors_a @ inverse_a @ vectors_c @ root_c @ vectors_c.T @ inverse_a @ vectors_a.T
    out = (pixels - pixels.mean(0)) @ transform + ref.mean(0)
    return _image(out, image.shape)


def random_rotation(rng: np.random.Generator, dims: int) -> np.ndarray:
    """A uniformly random rotation (determinant 1)."""
    q, r = np.linalg.qr(rng.normal(size=(dims, dims)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def idt(
    image: np.ndarray, reference: np.ndarray, rng: np.random.Generator, bins: int = 256, turns: int = 20
) -> np.ndarray:
    d0 = image.reshape(-1, 3).T.astype(np.float64)
    d1 = reference.reshape(-1, 3).T.astype(np.float64)
    for _ in range(turns):
        rot = random_rotation(rng, 3)
        r0, r1 = rot @ d0, rot @ d1
        moved = np.empty_like(r0)
        for axis in range(3):
            lo, hi = min(r0[axis].min(), r1[axis].min()), max(r0[axis].max(), r1[axis].max())
            h0, edges = np.histogram(r0[axis], bins=bins, range=(lo, hi))
            h1, _ = np.histogram(r1[axis], bins=bins, range=(lo, hi))
            c0, c1 = np.cumsum(h0) / max(h0.sum(), 1), np.cumsum(h1) / max(h1.sum(), 1)
            mapping = np.interp(c0, c1, edges[1:])
            moved[axis] = np.interp(r0[axis], edges[1:], mapping, left=0, right=bins)
        d0 = d0 + np.linalg.solve(rot, moved - r0) / turns
    return _image(d0.T, image.shape)


def sot(
    image: np.ndarray, reference: np.ndarray, rng: np.random.Generator, steps: int = 10, batch: int = 5
) -> np.ndarray:
    source = image.reshape(-1, 3).astype(np.float32)
    target = reference.reshape(-1, 3).astype(np.float32)
    moved = source.copy()
    for _ in range(steps):
        advect = np.zeros_like(moved)
        for _ in range(batch):
            direction = rng.normal(size=3).astype(np.float32)
            direction /= np.linalg.norm(direction)
            proj_source, proj_target = moved @ direction, target @ direction
            order_source, order_target = np.argsort(proj_source), np.argsort(proj_target)
            shift = proj_target[order_target] - proj_source[order_source]
            advect[order_source] += shift[:, None] * direction[None, :]
        moved += advect / batch
    change = (moved - source).reshape(image.shape)
    smoothed = cv2.bilateralFilter(change, 0, 5.0, 16.0)
    return _image(image + smoothed.reshape(image.shape), image.shape)


def transfer(mode: str, image: np.ndarray, reference: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` (uint8 BGR) with the colours of ``reference`` (uint8 BGR, the same size) by ``mode``."""
    a, b = image.astype(np.float32) / 255.0, reference.astype(np.float32) / 255.0
    if mode == "rct":
        out = rct(a, b)
    elif mode == "lct":
        out = lct(a, b)
    elif mode == "mkl":
        out = mkl(a, b)
    elif mode == "idt":
        out = idt(a, b, rng)
    elif mode == "sot":
        out = sot(a, b, rng)
    else:
        raise ValueError(f"unknown colour transfer {mode!r}")
    result: np.ndarray = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return result


def hsv_shift(image: np.ndarray, power: float, rng: np.random.Generator) -> np.ndarray:
    """DeepFaceLab's random_hsv_power on a uint8 BGR image: hue turned by up to 180 x power degrees, saturation
    and value moved by up to power / 2."""
    if power <= 0:
        return image
    hsv = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_BGR2HSV)
    turn = max(1, int(360 * power * 0.5))
    hsv[..., 0] = (hsv[..., 0] + rng.integers(-turn, turn + 1)) % 360
    hsv[..., 1] = np.clip(hsv[..., 1] + (rng.random() - 0.5) * power, 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] + (rng.random() - 0.5) * power, 0, 1)
    bgr = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), 0, 1)
    shifted: np.ndarray = np.clip(bgr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return shifted

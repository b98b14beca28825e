"""A DFM model's pre- and post-processing as DeepFaceLive's FaceSwapDFM and DFMModel do it.

On the aligned crop (uint8, the crop's own size), before the model: pre-sharpen (a Gaussian of sigma 1 taken away
``amount`` times) and pre-gamma, each in float and truncated back to uint8. The model gets the crop resized
bilinearly to its resolution, as float in [0, 1]; its outputs are resized bilinearly back to the crop's size in
float and truncated to uint8. Two pass feeds that uint8 face back in. Post-gamma acts on the uint8 result.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .blend import to_uint8_truncated as truncated

Model = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]  # float HWC -> face mask, celeb, mask


def sharpen(crop: np.ndarray, amount: float) -> np.ndarray:
    """DeepFaceLive's gaussian_sharpen (sigma 1) of a uint8 BGR crop."""
    if amount == 0:
        return crop
    x = crop.astype(np.float32) / np.float32(255.0)
    out = cv2.addWeighted(x, 1.0 + amount, cv2.GaussianBlur(x, (0, 0), 1.0), -amount, 0)
    return truncated(np.clip(out, 0.0, 1.0))


def gamma(crop: np.ndarray, red: float, green: float, blue: float) -> np.ndarray:
    """Per-channel gamma of a uint8 BGR image, x ** (1 / gamma) in float (gamma > 1 brightens), truncated."""
    if red == green == blue == 1.0:
        return crop
    x = crop.astype(np.float32) / np.float32(255.0)
    out = np.power(x, np.array([1.0 / blue, 1.0 / green, 1.0 / red], np.float32))
    return truncated(np.clip(out, 0.0, 1.0))


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size and image.shape[1] == size:
        return image
    out: np.ndarray = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    return out


def _back(output: np.ndarray, size: int, channels: int) -> np.ndarray:
    """One model output (H, W[, C] float, any size) at the crop's size with ``channels`` channels, as
    DFMModel.convert does: resized bilinearly in float, the first channel kept (or repeated), truncated."""
    out = np.asarray(output, np.float32)
    if out.ndim == 2:
        out = out[..., None]
    out = out[..., :channels] if out.shape[-1] >= channels else np.repeat(out[..., :1], channels, -1)
    resized = _resized(np.ascontiguousarray(out), size).reshape(size, size, channels)
    return truncated(resized if channels > 1 else resized[..., 0])


def convert(model: Model, crop: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DFMModel.convert: (celeb face uint8 BGR, celeb mask uint8 HW, face mask uint8 HW) at the crop's size."""
    size = crop.shape[0]
    x = _resized(crop, resolution).astype(np.float32) / np.float32(255.0)
    face_mask, celeb, celeb_mask = model(x)
    return _back(celeb, size, 3), _back(celeb_mask, size, 1), _back(face_mask, size, 1)


def swap(
    model: Model,
    crop: np.ndarray,
    resolution: int,
    pre_sharpen: float = 0.0,
    pre_gamma: tuple[float, float, float] = (1.0, 1.0, 1.0),
    post_gamma: tuple[float, float, float] = (1.0, 1.0, 1.0),
    two_pass: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FaceSwapDFM on one aligned crop (uint8 BGR): (swapped face, its mask, the target face's mask), uint8 at the
    crop's size. Gammas are (red, green, blue)."""
    prepared = gamma(sharpen(crop, pre_sharpen), *pre_gamma)
    face, face_mask_of_celeb, target_mask = convert(model, prepared, resolution)
    if two_pass:
        face, face_mask_of_celeb, _ = convert(model, face, resolution)
    return gamma(face, *post_gamma), face_mask_of_celeb, target_mask

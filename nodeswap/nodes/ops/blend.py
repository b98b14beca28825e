"""Merging math: face masks, erode/blur, colour transfer, paste-back, Poisson, colour compression, the DeepFaceLive
merger's own arithmetic where it has one (erode_blur, rct_whole_crop, color_compress).

Crop-space images are HWC BGR; floats are in [0, 1]. Masks are HW float32 in [0, 1].
Everything here works on the face's crop or on the face's bounding region of the
frame, never on the whole frame, so the cost per face does not grow with the frame.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

INTERPOLATIONS = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
_EPS = 1e-6


def erode_blur(mask: np.ndarray, erode: int, blur: int) -> np.ndarray:
    """DeepFaceLive's mask erode and blur (ImageProcessor.erode_blur with fade_to_border): shrink (erode > 0) or
    grow (erode < 0) by ``max(1, |erode| // 2)`` passes of a 3x3 cross (about half a pixel a pass), clear
    ``blur // 2`` pixels at the crop's edge, and feather with a Gaussian of sigma ``blur / 4``. DeepFaceLive pads the
    mask with its own size of zeros first; zeros beyond the edge (constant borders) give the same numbers, bit for
    bit, on a ninth of the pixels."""
    out: np.ndarray = np.asarray(mask, np.float32)
    erode, blur = int(erode), int(blur)
    if erode == 0 and blur <= 0:
        return out
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    if erode > 0:
        out = cv2.erode(out, kernel, iterations=max(1, erode // 2), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    elif erode < 0:
        out = cv2.dilate(out, kernel, iterations=max(1, -erode // 2), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        out = out.copy()
    edge = blur // 2
    if edge > 0:
        out[:edge] = 0
        out[-edge:] = 0
        out[:, :edge] = 0
        out[:, -edge:] = 0
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur * 0.25, borderType=cv2.BORDER_CONSTANT)
    return out


def _whole_crop_stats(lab: np.ndarray, inside: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and spread over every pixel of ``lab``, those outside ``inside`` counted as 0."""
    if count == 0:
        return np.zeros(3), np.zeros(3)
    mean_in, std_in = (x.reshape(3) for x in cv2.meanStdDev(lab, mask=inside))
    share = count / inside.size
    mean = mean_in * share
    var = (std_in * std_in + mean_in * mean_in) * share - mean * mean
    return mean, np.sqrt(np.maximum(var, 0.0))


def rct_whole_crop(image: np.ndarray, like: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """DeepFaceLive's merger RCT: ``image`` takes the LAB mean and spread of ``like`` (both float32 BGR in [0, 1]).
    The statistics run over the whole crop of each, with the pixels where ``mask`` < 0.5 set to 0 but counted."""
    lab = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_BGR2LAB)
    like_lab = cv2.cvtColor(np.ascontiguousarray(like, np.float32), cv2.COLOR_BGR2LAB)
    inside = (np.asarray(mask) >= 0.5).astype(np.uint8)
    count = int(cv2.countNonZero(inside))
    mean, std = _whole_crop_stats(lab, inside, count)
    like_mean, like_std = _whole_crop_stats(like_lab, inside, count)
    gain = (like_std / np.maximum(std, 1e-12)).astype(np.float32)
    out = (lab - mean.astype(np.float32)) * gain + like_mean.astype(np.float32)
    for channel, (low, high) in enumerate(((0.0, 100.0), (-127.0, 127.0), (-127.0, 127.0))):
        np.clip(out[..., channel], low, high, out=out[..., channel])
    converted: np.ndarray = cv2.cvtColor(out.astype(np.float32), cv2.COLOR_LAB2BGR)
    return converted


def _stats_region(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Pixels to take colour statistics from: where the mask is at least 0.5 (all when too few)."""
    if mask is None:
        return np.ones(shape, bool)
    region = mask >= 0.5
    return region if region.sum() >= 16 else np.ones(shape, bool)


def rct(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Reinhard colour transfer: give ``source`` the LAB mean and spread of ``target``.

    source, target: HWC BGR, same size, both float32 in [0, 1] (exact) or both uint8
    (OpenCV's 8-bit LAB: several times faster, within a level or two); statistics
    come from the pixels where ``mask`` >= 0.5. Returns the source's dtype.
    """
    region = _stats_region(mask, source.shape[:2]).astype(np.uint8)
    eight_bit = source.dtype == np.uint8
    src_lab = cv2.cvtColor(source if eight_bit else np.ascontiguousarray(source, np.float32), cv2.COLOR_BGR2LAB)
    tgt_lab = cv2.cvtColor(target if eight_bit else np.ascontiguousarray(target, np.float32), cv2.COLOR_BGR2LAB)
    src_mean, src_std = (x.reshape(3) for x in cv2.meanStdDev(src_lab, mask=region))
    tgt_mean, tgt_std = (x.reshape(3) for x in cv2.meanStdDev(tgt_lab, mask=region))
    gain = tgt_std / np.maximum(src_std, 1e-3 if not eight_bit else 0.25)
    offset = tgt_mean - src_mean * gain
    if eight_bit:  # the same per-channel line, as a lookup table per channel
        levels = np.arange(256, dtype=np.float64)[:, None] * gain + offset
        lut = np.clip(levels + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)
        return cv2.cvtColor(cv2.LUT(src_lab, lut), cv2.COLOR_LAB2BGR)
    out_lab = src_lab * gain.astype(np.float32) + offset.astype(np.float32)
    out_lab[..., 0] = np.clip(out_lab[..., 0], 0.0, 100.0)
    return np.clip(cv2.cvtColor(out_lab.astype(np.float32), cv2.COLOR_LAB2BGR), 0.0, 1.0)


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, _EPS)
    power = -0.5 if inverse else 0.5
    root: np.ndarray = (vectors * values**power) @ vectors.T
    return root


def lct(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Linear colour transfer: match the mean and the 3x3 colour covariance of ``target``.

    Same arguments as ``rct``; works in BGR with the map C_t^1/2 C_s^-1/2.
    """
    region = _stats_region(mask, source.shape[:2])
    src = np.asarray(source, np.float32)
    src_px, tgt_px = src[region].astype(np.float64), np.asarray(target)[region].astype(np.float64)
    src_mean, tgt_mean = src_px.mean(0), tgt_px.mean(0)
    transfer = _sqrtm(np.cov(tgt_px.T) + np.eye(3) * _EPS) @ _sqrtm(np.cov(src_px.T) + np.eye(3) * _EPS, inverse=True)
    out = (src.reshape(-1, 3) - src_mean) @ transfer.T.astype(np.float32) + tgt_mean
    result: np.ndarray = np.clip(out.reshape(src.shape), 0.0, 1.0).astype(np.float32)
    return result


COMPRESSION_LEVELS = ("deepfacelive", "centred")


def color_compress(image: np.ndarray, amount: float, levels: str = "deepfacelive") -> np.ndarray:
    """Colour compression of a frame, mimicking codec loss (0 = off): each channel quantised to
    c = max(4, 127 - amount) levels on [0, 1] (``floor(x * c) / c``), then, as DeepFaceLive does, raised by
    2 / c (which also brightens the frame a little), or ("centred") set at each level's middle (+ 0.5 / c).
    Float images stay float; uint8 images go through a lookup table and are truncated as DeepFaceLive's output."""
    if amount <= 0:
        return image
    count = max(4.0, 127.0 - float(amount))
    lift = 2.0 if levels == "deepfacelive" else 0.5
    if image.dtype == np.uint8:
        steps = np.floor(np.arange(256, dtype=np.float32) / np.float32(255.0) * count) / count + lift / count
        return cv2.LUT(image, to_uint8_truncated(steps))
    posterised: np.ndarray = (np.floor(image * count) / count + lift / count).astype(np.float32)
    return posterised


def to_uint8_truncated(image: np.ndarray) -> np.ndarray:
    """A [0, 1] float image as uint8 the way DeepFaceLive writes its frames: times 255, clipped, truncated."""
    out: np.ndarray = np.clip(np.asarray(image, np.float32) * np.float32(255.0), 0, 255).astype(np.uint8)
    return out


def adjust_inverse(
    inverse: np.ndarray, size: int, x_offset: float = 0.0, y_offset: float = 0.0, scale: float = 1.0
) -> np.ndarray:
    """Crop -> frame affine with the face moved by (x, y) x crop size and scaled about the crop centre."""
    if x_offset == 0.0 and y_offset == 0.0 and scale == 1.0:
        return np.asarray(inverse, np.float64)
    centre = size / 2.0
    adjust = np.array(
        [[scale, 0.0, centre * (1 - scale) + x_offset * size], [0.0, scale, centre * (1 - scale) + y_offset * size]]
    )
    adjusted: np.ndarray = (np.vstack([inverse, [0, 0, 1]]) @ np.vstack([adjust, [0, 0, 1]]))[:2]
    return adjusted


def frame_region(
    inverse: np.ndarray, width: int, height: int, frame_shape: tuple[int, ...]
) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1): the frame pixels a ``width`` x ``height`` crop covers through ``inverse``,
    clipped to the frame; None when it lies outside."""
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], np.float64)
    points = corners @ np.asarray(inverse)[:, :2].T + np.asarray(inverse)[:, 2]
    frame_h, frame_w = frame_shape[:2]
    x0 = max(math.floor(points[:, 0].min()) - 1, 0)
    y0 = max(math.floor(points[:, 1].min()) - 1, 0)
    x1 = min(math.ceil(points[:, 0].max()) + 2, frame_w)
    y1 = min(math.ceil(points[:, 1].max()) + 2, frame_h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def mask_bounds(mask: np.ndarray, margin: int = 2) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the mask's non-zero pixels plus ``margin``; None when it is empty."""
    x, y, w, h = cv2.boundingRect((mask > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return None
    rows, cols = mask.shape[:2]
    return max(x - margin, 0), max(y - margin, 0), min(x + w + margin, cols), min(y + h + margin, rows)


def shift_inverse(inverse: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Crop -> frame affine for a sub-crop whose origin is crop pixel (dx, dy)."""
    out: np.ndarray = np.asarray(inverse, np.float64).copy()
    out[:, 2] += out[:, :2] @ np.array([dx, dy], np.float64)
    return out


def paste_face(
    frame: np.ndarray,
    face: np.ndarray,
    mask: np.ndarray,
    inverse: np.ndarray,
    interpolation: int = cv2.INTER_LINEAR,
    poisson: bool = False,
) -> None:
    """Blend a crop-space ``face`` (uint8 BGR, any H x W) into ``frame`` (uint8, changed in place)
    through ``inverse`` (crop -> frame) with the crop-space ``mask`` (its values are the opacity).

    Only the frame pixels under the mask's bounding box are touched.
    """
    bounds = mask_bounds(mask)
    if bounds is None:
        return
    cx0, cy0, cx1, cy1 = bounds
    face, mask = face[cy0:cy1, cx0:cx1], mask[cy0:cy1, cx0:cx1]
    inverse = shift_inverse(inverse, cx0, cy0)
    region = frame_region(inverse, cx1 - cx0, cy1 - cy0, frame.shape)
    if region is None:
        return
    x0, y0, x1, y1 = region
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    # one warp of face + mask packed as BGRA: OpenCV's 4-channel uint8 path is about 3x faster
    packed = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_BGR2BGRA)
    packed[..., 3] = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    warped = cv2.warpAffine(
        packed, shifted, (x1 - x0, y1 - y0), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    alpha = warped[..., 3].astype(np.float32) * np.float32(1.0 / 255.0)
    colour = cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR)
    roi = frame[y0:y1, x0:x1]
    if poisson:
        colour = seamless(colour, roi, alpha)
    np.copyto(roi, cv2.blendLinear(colour, roi, alpha, 1.0 - alpha))


def paste_float(
    canvas: np.ndarray,
    face: np.ndarray,
    mask: np.ndarray,
    inverse: np.ndarray,
    origin: tuple[int, int] = (0, 0),
    opacity: float = 1.0,
    interpolation: int = cv2.INTER_LINEAR,
) -> None:
    """DeepFaceLive's paste, into ``canvas`` (float32 BGR, the frame from pixel ``origin`` on; changed in place):
    the crop-space ``mask`` warped bilinearly and cut below 1/255, ``face`` (float32) warped with
    ``interpolation``, then frame (1 - m) + face m, or with opacity o frame (1 - m) + frame m (1 - o) + face m o.
    Only the canvas pixels under the mask's bounding box are touched (the same samples as a whole-frame warp)."""
    bounds = mask_bounds(mask, margin=6)  # lanczos4 reads up to 5 crop pixels beyond a masked one
    if bounds is None:
        return
    cx0, cy0, cx1, cy1 = bounds
    to_canvas = shift_inverse(inverse, cx0, cy0)
    to_canvas[:, 2] -= origin
    region = frame_region(to_canvas, cx1 - cx0, cy1 - cy0, canvas.shape)
    if region is None:
        return
    x0, y0, x1, y1 = region
    to_canvas[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    sub_mask = np.ascontiguousarray(mask[cy0:cy1, cx0:cx1], np.float32)
    sub_face = np.ascontiguousarray(face[cy0:cy1, cx0:cx1], np.float32)
    alpha = cv2.warpAffine(sub_mask, to_canvas, size, flags=cv2.INTER_LINEAR)
    alpha[alpha < np.float32(1.0 / 255.0)] = 0.0
    alpha[alpha > 1.0] = 1.0
    alpha = alpha[..., None]
    colour: np.ndarray = np.asarray(cv2.warpAffine(sub_face, to_canvas, size, flags=interpolation), np.float32)
    roi = canvas[y0:y1, x0:x1]
    one = np.float32(1.0)
    if opacity == 1.0:  # roi (1 - m) + face m, the same float ops in place
        colour *= alpha
        roi *= one - alpha
        roi += colour
    else:
        o = np.float32(opacity)
        roi[:] = roi * (one - alpha) + roi * alpha * (one - o) + colour * alpha * o


def seamless(face: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Poisson blend (cv2.seamlessClone) of ``face`` into ``background`` where ``alpha`` > 0.5;
    returns ``face`` unchanged when the region is too small or touches the border."""
    binary = (alpha > 0.5).astype(np.uint8) * 255
    binary[[0, -1]] = 0
    binary[:, [0, -1]] = 0
    ys, xs = np.nonzero(binary)
    if len(xs) < 16:
        return face
    x, y, w, h = cv2.boundingRect(np.column_stack([xs, ys]))
    centre = (x + w // 2, y + h // 2)
    try:
        return cv2.seamlessClone(face, background, binary, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return face


def compose(
    frame: np.ndarray,
    face: np.ndarray,
    mask: np.ndarray,
    inverse: np.ndarray,
    opacity: float = 1.0,
    interpolation: int = cv2.INTER_LINEAR,
) -> np.ndarray:
    """A new frame with ``face`` pasted at ``opacity``; opacity 0 returns an equal copy."""
    out: np.ndarray = frame.copy()
    if opacity > 0:
        paste_face(out, face, mask * np.float32(opacity), inverse, interpolation)
    return out


def to_float(image: np.ndarray) -> np.ndarray:
    out: np.ndarray = image.astype(np.float32) * np.float32(1.0 / 255.0)
    return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)

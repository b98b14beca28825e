"""Face and light apart: a face's detail (what it is) and its low frequencies (how it is lit), a multi-band
blend that hides a seam, and the eye openings a swap keeps from the target. Pure numpy/OpenCV on uint8 BGR
crops and float32 HW masks in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from .morph import LEFT_EYE, RIGHT_EYE, feather, fill_polygon


def lowpass_small(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """``lowpass`` at a quarter of the size (only low frequencies are wanted)."""
    h, w = mask.shape
    small = (max(1, w // 4), max(1, h // 4))
    m = cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    img = cv2.resize(image, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    s = max(sigma / 4, 0.5)
    weight = cv2.GaussianBlur(m, (0, 0), s)[..., None] + 1e-4
    low: np.ndarray = cv2.GaussianBlur(img * m[..., None], (0, 0), s) / weight
    return low


def lowpass(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, C) float32: ``image`` blurred by ``sigma`` pixels over ``mask`` only (normalised convolution), so
    what lies outside the mask (hair, background) does not bleed in and the mask's edge does not darken."""
    h, w = mask.shape
    low: np.ndarray = cv2.resize(lowpass_small(image, mask, sigma), (w, h), interpolation=cv2.INTER_LINEAR)
    return low


def relight(
    face: np.ndarray, target: np.ndarray, mask: np.ndarray, sigma: float, amount: float | np.ndarray = 1.0
) -> np.ndarray:
    """``face``'s detail in ``target``'s light and tone, in Lab, below ``sigma`` pixels. Lightness takes the
    target's low frequencies in place of the face's, keeping the face's contrast (its features). Colour (a, b)
    takes the target's low frequencies too, and the face's colour detail is scaled by the ratio of the two
    skins' saturation, so a warm photo's neutral brows do not turn blue on a paler target. ``amount``: share
    of the change (a float or an HW map).

    Per pixel this is lab * gain + offset with smooth gain and offset maps, built at a quarter of the size."""
    h, w = mask.shape
    face_lab = cv2.cvtColor(face, cv2.COLOR_BGR2LAB)
    low_face = lowpass_small(face_lab, mask, sigma)
    low_target = lowpass_small(cv2.cvtColor(target, cv2.COLOR_BGR2LAB), mask, sigma)
    chroma_face = np.hypot(low_face[..., 1] - 128, low_face[..., 2] - 128)
    chroma_target = np.hypot(low_target[..., 1] - 128, low_target[..., 2] - 128)
    saturation = np.clip((chroma_target + 2.0) / (chroma_face + 2.0), 0.25, 1.5)
    gain = np.dstack([np.ones_like(saturation), saturation, saturation])
    offset = low_target - low_face * gain  # lit = lab * gain + offset
    if not np.ndim(amount):
        gain, offset = 1.0 + (gain - 1.0) * np.float32(amount), offset * np.float32(amount)
    gain = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)
    offset = cv2.resize(offset, (w, h), interpolation=cv2.INTER_LINEAR)
    if np.ndim(amount):
        share = np.asarray(amount, np.float32)[..., None]
        gain, offset = 1.0 + (gain - 1.0) * share, offset * share
    lit = cv2.add(cv2.multiply(face_lab, gain, dtype=cv2.CV_32F), offset, dtype=cv2.CV_8U)  # rounds, saturates
    out: np.ndarray = cv2.cvtColor(lit, cv2.COLOR_LAB2BGR)
    return out


def pyramid_blend(front: np.ndarray, back: np.ndarray, mask: np.ndarray, levels: int = 4) -> np.ndarray:
    """``front`` over ``back`` by ``mask``, band by band of a Laplacian pyramid: fine detail meets along the
    mask's edge, light and tone over a wider band, so no edge shows (Burt and Adelson's multi-band blend).
    The pyramid is linear, so only the difference of the two images needs one: back + blend(front - back, 0)."""
    h, w = mask.shape
    unit = 1 << levels
    pad = ((0, -(-h // unit) * unit - h), (0, -(-w // unit) * unit - w))
    diff: np.ndarray = np.pad(front.astype(np.float32) - back.astype(np.float32), (*pad, (0, 0)), mode="edge")
    m: np.ndarray = np.pad(mask.astype(np.float32), pad, mode="edge")
    bands: list[np.ndarray] = []
    for _ in range(levels):
        down, m_down = cv2.pyrDown(diff), cv2.pyrDown(m)
        bands.append((diff - cv2.pyrUp(down, dstsize=(diff.shape[1], diff.shape[0]))) * m[..., None])
        diff, m = down, m_down
    out: np.ndarray = diff * m[..., None]
    for band in reversed(bands):
        out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0])) + band
    blended: np.ndarray = cv2.add(back, out[:h, :w], dtype=cv2.CV_8U)  # rounds and saturates
    return blended


def eye_openings(points: np.ndarray, size: int, grow: float, blur: float) -> np.ndarray:
    """(size, size) float32: the two eye contours (lid margins, lashes, eyeball), grown by ``grow`` pixels
    and feathered by ``blur``: where a swap keeps the target's eyes, so blinks and gaze stay the target's."""
    eyes = np.zeros((size, size), np.float32)
    for contour in (RIGHT_EYE, LEFT_EYE):
        eyes = np.maximum(eyes, fill_polygon(size, points[list(contour)]))
    return feather(eyes, -grow, blur)


def target_eyes(
    face: np.ndarray, target: np.ndarray, eyes: np.ndarray, skin: np.ndarray | None = None, sigma: float = 16.0
) -> np.ndarray:
    """Within the ``eyes`` mask, the target's lightness (lids, lashes, where the iris looks, a blink) with the
    face's colour (the photo's iris and whites) where the target shows an eyeball; where it shows lid skin (a
    blink, a squint, a look down) the target's own colour, so a closed eye is not painted with the photo's
    whites. Lid skin is what is near the target's skin colour around the eyes (``skin``: the face's skin mask,
    averaged over ``sigma`` pixels). Pixels outside the mask are left exactly as they are."""
    ys, xs = np.nonzero(eyes > 0.002)
    if not len(xs):
        return face
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    face_lab = cv2.cvtColor(face[box], cv2.COLOR_BGR2LAB).astype(np.float32)
    target_all = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    target_lab = target_all[box].astype(np.float32)
    eyeball = np.ones(target_lab.shape[:2], np.float32)
    if skin is not None and skin.any():
        lid = lowpass(target_all, skin, sigma)[box]
        away = target_lab - lid
        distance = np.sqrt((away[..., 0] / 1.5) ** 2 + away[..., 1] ** 2 + away[..., 2] ** 2)
        eyeball = np.clip((distance - 8.0) / 12.0, 0.0, 1.0)
    mixed = target_lab.copy()
    mixed[..., 1:] = target_lab[..., 1:] + (face_lab[..., 1:] - target_lab[..., 1:]) * eyeball[..., None]
    alpha = np.ascontiguousarray(eyes[box], np.float32)[..., None]
    lab = mixed * alpha + face_lab * (1.0 - alpha)
    out: np.ndarray = face.copy()
    converted = cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)
    out[box] = np.where((eyes[box] > 0)[..., None], converted, face[box])
    return out


def eye_motion(face: np.ndarray, target_l: np.ndarray, reference_l: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """The face's eyes moved as the target's move: within the ``eyes`` mask, the change of the target's
    lightness (``target_l``) from its recent look (``reference_l``, both float32 HW, Lab L) is added to the
    face's. A blink lays the target's lid over the photo's eye, a glance moves its dark iris; an eye that is
    still adds nothing, so the photo's own eyes stay."""
    ys, xs = np.nonzero(eyes > 0.002)
    if not len(xs):
        return face
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    lab = cv2.cvtColor(face[box], cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] += (target_l[box] - reference_l[box]) * eyes[box]
    moved = cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)
    out: np.ndarray = face.copy()
    out[box] = np.where((eyes[box] > 0)[..., None], moved, face[box])
    return out


class RecentLook:
    """Per track, a picture followed slowly (``rate`` of the way each frame): how the target's eyes have looked
    lately, for ``eye_motion``. Tracks not seen in a frame are forgotten."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._before: dict[int, np.ndarray] = {}
        self._now: dict[int, np.ndarray] = {}

    def follow(self, track_id: int, picture: np.ndarray) -> np.ndarray:
        """The recent look before this frame (``picture`` itself for a new track), and remember this one."""
        before = self._before.get(track_id)
        if before is None or before.shape != picture.shape:
            before = picture
        self._now[track_id] = before + self.rate * (picture - before)
        return before

    def next_frame(self) -> None:
        self._before, self._now = self._now, {}

    def clear(self) -> None:
        self._before, self._now = {}, {}

"""Latent Image Animator (LIA): the pre- and post-processing of DeepFaceLive's generator.onnx.

The generator (iperov/DeepFaceLive modelhub/onnx/LIA) has four inputs and two outputs, all float32:

- ``in_src`` [1,3,256,256]: the still portrait (DeepFaceLive's "animatable"), RGB, NCHW, x / 127.5 - 1
- ``in_drv`` [1,3,256,256]: the driving face crop, prepared the same way
- ``in_drv_start_motion`` [1,20]: the driver's motion code in the reference pose
- ``in_power`` [1]: how much of the driver's motion away from the reference is applied
- ``out`` [1,3,256,256]: the animated portrait, RGB in [-1, 1]
- ``out_drv_motion`` [1,20]: the motion code of ``in_drv`` (asked for with the other three inputs zero)

Images go in at 256 x 256 (a linear resize) and the picture comes out as (x + 1) / 2 * 255, clipped and
truncated to uint8, as DeepFaceLive's ImageProcessor does. The portrait is first fitted into the 256
square, its aspect ratio kept and the rest padded with black at the bottom and right.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError

SIZE = 256
MOTION_DIM = 20
INPUTS: dict[str, tuple[int | None, ...]] = {
    "in_src": (None, 3, SIZE, SIZE),
    "in_drv": (None, 3, SIZE, SIZE),
    "in_drv_start_motion": (None, MOTION_DIM),
    "in_power": (1,),
}
OUTPUTS: dict[str, tuple[int | None, ...]] = {"out": (None, 3, SIZE, SIZE), "out_drv_motion": (None, MOTION_DIM)}


def fit_in(image: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, tuple[int, int]]:
    """The portrait scaled (linear) to fit a ``size`` square, aspect kept, padded with black at the bottom
    and right; and the (width, height) of the picture inside the square. Smaller photos are scaled up."""
    height, width = image.shape[:2]
    scale = 1.0 / max(width / size, height / size)
    if scale != 1.0:
        width, height = max(1, int(width * scale)), max(1, int(height * scale))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    square = np.zeros((size, size, 3), np.uint8)
    square[:height, :width] = image[..., :3]
    return square, (width, height)


def to_blob(image_bgr: np.ndarray) -> np.ndarray:
    """A BGR uint8 picture of any size -> [1,3,256,256] float32 RGB in [-1, 1] (linear resize, x / 127.5 - 1)."""
    if image_bgr.shape[:2] != (SIZE, SIZE):
        image_bgr = cv2.resize(image_bgr, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    rgb = image_bgr[..., 2::-1].astype(np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


def from_blob(out: np.ndarray) -> np.ndarray:
    """The generator's ``out`` [1,3,H,W] (RGB, [-1, 1]) -> HWC BGR uint8: (x + 1) / 2 * 255, clipped, truncated."""
    rgb = (np.asarray(out[0], np.float32).transpose(1, 2, 0) + 1.0) / 2.0 * 255.0
    return np.ascontiguousarray(np.clip(rgb, 0.0, 255.0).astype(np.uint8)[..., ::-1])


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """A linear resize (DeepFaceLive's default), or the image itself when it already has that size."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def _dims(shape: Any) -> list[int | str]:
    return ["?" if not isinstance(d, int) or d <= 0 else d for d in shape]


def _shown(want: tuple[int | None, ...]) -> str:
    return "[" + ",".join("N" if w is None else str(w) for w in want) + "]"


def signature_problem(inputs: dict[str, list[int | str]], outputs: dict[str, list[int | str]], file: str) -> str | None:
    """What keeps a model with these inputs and outputs (name -> dims, '?' for a free one) from being LIA's
    generator, or None. A fixed dim must match; a free one takes any size."""
    for kind, have, wanted in (("input", inputs, INPUTS), ("output", outputs, OUTPUTS)):
        for name, want in wanted.items():
            if name not in have:
                listed = ", ".join(f"'{n}' {s}" for n, s in have.items()) or "none"
                return f"model {file}: no {kind} '{name}' {_shown(want)} (it has {listed}): not LIA's generator"
            got = have[name]
            fits = len(got) == len(want) and all(w is None or g in ("?", w) for g, w in zip(got, want, strict=True))
            if not fits:
                return f"model {file}: {kind} '{name}' is {got}, expected {_shown(want)}"
    return None


class Generator:
    """LIA's generator on an onnxruntime session: ``motion`` of a driving crop, ``animate`` a portrait."""

    def __init__(self, sess: Any, file: str, node_id: str = "") -> None:
        inputs = {i.name: _dims(i.shape) for i in sess.get_inputs()}
        outputs = {o.name: _dims(o.shape) for o in sess.get_outputs()}
        problem = signature_problem(inputs, outputs, file)
        if problem:
            raise NodeLoadError(node_id, problem)
        self.session = sess

    def motion(self, driving: np.ndarray) -> np.ndarray:
        """The [1,20] motion code of a driving blob (``to_blob``), as DeepFaceLive asks for it."""
        feed = {
            "in_src": np.zeros((1, 3, SIZE, SIZE), np.float32),
            "in_drv": driving,
            "in_drv_start_motion": np.zeros((1, MOTION_DIM), np.float32),
            "in_power": np.zeros((1,), np.float32),
        }
        return np.asarray(self.session.run(["out_drv_motion"], feed)[0], np.float32)

    def animate(self, source: np.ndarray, driving: np.ndarray, reference: np.ndarray, power: float) -> np.ndarray:
        """The [1,3,256,256] ``out`` for a portrait blob driven by a driving blob relative to ``reference``."""
        feed = {
            "in_src": source,
            "in_drv": driving,
            "in_drv_start_motion": reference,
            "in_power": np.array([power], np.float32),
        }
        return np.asarray(self.session.run(["out"], feed)[0], np.float32)

"""Data that flows between nodes, and the port types that check links.

Images are numpy arrays, HWC, BGR, uint8, in frame pixels unless a field says
otherwise. Every value here is immutable by convention: nodes build new values
with ``dataclasses.replace`` and never write into their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Port types. A link is allowed when the output and input types are equal, or
# when either side is ANY.
FRAME = "frame"  # Frame: one video frame with its timing
FACES = "faces"  # Faces: tuple[Face, ...] found in one frame
IMAGE = "image"  # np.ndarray, HWC BGR uint8
MASK = "mask"  # np.ndarray, HW float32 in [0, 1]
EMBEDDING = "embedding"  # np.ndarray, 1-D float32, L2-normalised
ANY = "any"

PORT_TYPES = (FRAME, FACES, IMAGE, MASK, EMBEDDING, ANY)
PORT_COLORS = {
    FRAME: (80, 160, 255),
    FACES: (255, 170, 60),
    IMAGE: (120, 220, 120),
    MASK: (200, 200, 200),
    EMBEDDING: (220, 110, 220),
    ANY: (160, 160, 160),
}


def can_link(out_type: str, in_type: str) -> bool:
    """True when an output of ``out_type`` may feed an input of ``in_type``."""
    return out_type == in_type or ANY in (out_type, in_type)


# Caps: what the values on a port carry beyond their type, in the spirit of GStreamer's caps. An output
# provides properties (set by its node, or passed on from the input it forwards); an input may require
# some. Properties of faces ports:
LANDMARKS = "landmarks"  # how many points Face.landmarks holds: 468, 106 or 68
ALIGNED = "aligned"  # the template of Face.aligned (facemesh, dfl_whole_face, arcface_112, arcface_128)
SWAPPED = "swapped"  # 'yes' when Face.swapped is set


@dataclass(frozen=True)
class Cap:
    """One property's value on a port, the node that set it and why (e.g. 'model pfld68')."""

    value: str
    why: str = ""
    node: str = ""


def caps(**properties: str | tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A port's caps as hashable pairs: ``caps(landmarks="468")``; a tuple lists values any of which will do."""
    return tuple((name, (value,) if isinstance(value, str) else tuple(value)) for name, value in properties.items())


@dataclass(frozen=True)
class Frame:
    """One video frame.

    image: HWC BGR uint8. index: frame number in the source (0-based).
    time: capture time, ``time.perf_counter()`` seconds, for latency.
    fps: the source's nominal frame rate. source: the media path when known
    (sinks use it to carry audio over).
    """

    image: np.ndarray
    index: int = 0
    time: float = 0.0
    fps: float = 30.0
    source: str = ""
    frame_count: int = 0  # 0 when unknown (live)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    @property
    def clock(self) -> float:
        """Seconds on the source's clock: index / fps (offline runs are unpaced, so not the capture time)."""
        return self.index / self.fps if self.fps > 0 else self.time


@dataclass(frozen=True)
class Aligned:
    """An aligned face crop: ``image = warpAffine(frame, mat, (size, size))``.

    mat: 2x3 float64 frame -> crop. inverse: 2x3 crop -> frame.
    """

    image: np.ndarray
    mat: np.ndarray
    inverse: np.ndarray
    size: int
    mask: np.ndarray | None = None  # landmark hull in crop space, HW float32


@dataclass(frozen=True)
class Swapped:
    """A swapper's result in aligned-crop space (same size as ``Aligned``)."""

    image: np.ndarray  # HWC BGR uint8
    mask: np.ndarray | None = None  # HW float32, where the new face is
    target_mask: np.ndarray | None = None  # HW float32, the model's mask of the target face


@dataclass(frozen=True)
class Face:
    """One face in one frame, built up stage by stage.

    box: (x1, y1, x2, y2) frame pixels. kps: (5, 2) eyes, nose, mouth corners
    in frame pixels (image left eye first), or None. landmarks: (N, 2) frame
    pixels. pose: (yaw, pitch, roll) degrees. track_id: stable across frames.
    """

    box: tuple[float, float, float, float]
    score: float = 1.0
    kps: np.ndarray | None = None
    track_id: int = 0
    landmarks: np.ndarray | None = None
    landmarks_3d: np.ndarray | None = None
    pose: tuple[float, float, float] | None = None
    aligned: Aligned | None = None
    swapped: Swapped | None = None
    embedding: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


Faces = tuple[Face, ...]

# The value a port carries when its node failed and has no pass-through.
EMPTY_VALUES: dict[str, Any] = {FACES: ()}

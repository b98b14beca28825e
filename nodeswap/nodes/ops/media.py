"""Frame readers for the media source: a video file through OpenCV, or image files.

Opening checks the file and raises NodeLoadError naming it; reading returns
(frame number, image) or None at the end.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.nodes.ops.video import IMAGE_EXTENSIONS, list_images

log = logging.getLogger(__name__)

# OpenCV's FFmpeg prints decoder chatter ("moov atom not found", NAL errors) to stderr; the
# readers report those problems themselves, naming the file. Set it yourself to see them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def read_image(path: Path) -> np.ndarray | None:
    """Decode an image file (any path, unicode included) to BGR, or None."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image


class VideoReader:
    """Sequential, seekable frames of a video file through OpenCV."""

    def __init__(self, path: Path, node_id: str) -> None:
        self.cap = cv2.VideoCapture(str(path))
        if not self.cap.isOpened():
            self.cap.release()
            raise NodeLoadError(
                node_id,
                f"cannot open {path} as a video: not a video file, or truncated or corrupt (no readable header)",
            )
        ok, first = self.cap.read()
        if not ok or first is None:
            self.cap.release()
            raise NodeLoadError(node_id, f"{path} has no decodable video frames (truncated or corrupt)")
        self.count = max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS)) or 30.0
        self.height, self.width = first.shape[:2]
        self.still = False
        self.seek(0)

    def seek(self, index: int) -> None:
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self.position = index

    def skip(self, n: int) -> None:
        if n > 8:  # a seek decodes from the previous key frame: cheaper for long jumps
            self.seek(self.position + n)
            return
        for _ in range(n):
            if not self.cap.grab():
                break
            self.position += 1

    def read(self) -> tuple[int, np.ndarray] | None:
        """(frame number, image) of the next frame, or None at the end."""
        ok, image = self.cap.read()
        if not ok or image is None:
            return None
        self.position += 1
        return self.position - 1, image

    def close(self) -> None:
        self.cap.release()


class ImageReader:
    """A single image or a folder of images as a frame sequence."""

    def __init__(self, files: list[Path], node_id: str, fps: float = 30.0) -> None:
        self.files = files
        self.count = len(files)
        self.fps = fps
        self.still = len(files) == 1
        self.position = 0
        self._cache: tuple[int, np.ndarray] | None = None
        first = self._decode(0)
        if first is None:
            raise NodeLoadError(node_id, f"cannot read image {files[0]} (corrupt or not an image)")
        self.height, self.width = first.shape[:2]

    def _decode(self, i: int) -> np.ndarray | None:
        if self._cache is not None and self._cache[0] == i:
            return self._cache[1]
        image = read_image(self.files[i])
        if image is not None and self.still:
            self._cache = (i, image)
        return image

    def seek(self, index: int) -> None:
        self.position = index

    def skip(self, n: int) -> None:
        self.position += n

    def read(self) -> tuple[int, np.ndarray] | None:
        while self.position < self.count:
            image = self._decode(self.position)
            self.position += 1
            if image is not None:
                return self.position - 1, image
            log.warning("skipping unreadable image %s", self.files[self.position - 1])
        return None

    def close(self) -> None:
        self._cache = None


def open_media(path: Path, node_id: str) -> VideoReader | ImageReader:
    """A reader for a video, an image or a folder of images; NodeLoadError naming the path."""
    if not path.exists():
        raise NodeLoadError(node_id, f"file not found: {path}")
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise NodeLoadError(node_id, f"no images ({', '.join(IMAGE_EXTENSIONS)}) in folder {path}")
        return ImageReader(files, node_id)
    if path.stat().st_size == 0:
        raise NodeLoadError(node_id, f"file is empty: {path}")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageReader([path], node_id)
    return VideoReader(path, node_id)

"""Frame sources: a media file (video, image, folder of images) and a camera."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import cv2

from nodeswap.errors import EndOfStream, NodeLoadError
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.ops import camera_settings
from nodeswap.nodes.ops.media import ImageReader, VideoReader, open_media
from nodeswap.nodes.ops.video import Pacer, fit_width, orient
from nodeswap.nodes.values import CameraSourceValues, MediaSourceValues
from nodeswap.params import IMAGES, VIDEOS
from nodeswap.types import FRAME, Frame

log = logging.getLogger(__name__)


class MediaSource(Node):
    """Plays a video file, a single image (repeated) or a folder of images (in name order)."""

    type_id = "source.media"
    key_params = ("path", "loop")
    values: MediaSourceValues
    title = "Media file"
    category = "source"
    outputs = (Port("frame", FRAME, "The next frame of the file"),)
    params = (
        Param(
            "path",
            "path",
            "",
            required=True,
            reload=True,
            extensions=VIDEOS + IMAGES,
            help="Video file, image, or folder of images",
        ),
        Param(
            "loop", "bool", False, help="Start again at the start frame after the end, in renders too (they never end)"
        ),
        Param(
            "auto_rewind",
            "bool",
            True,
            help="Live runs: start again at the start frame after the end (DeepFaceLive's auto rewind)",
        ),
        Param("start", "int", 0, min=0, help="First frame to play"),
        Param("end", "int", 0, min=0, help="Stop before this frame (0 = play to the end)"),
        Param("fps", "float", 0.0, min=0.0, max=240.0, help="Frame rate override (0 = the file's)"),
        Param("width", "int", 0, min=0, max=7680, help="Resize to this width keeping the aspect (0 = as is)"),
        Param("real_time", "bool", True, help="Live runs: play at the file's speed, skipping late frames"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._reader: VideoReader | ImageReader | None = None
        self._lock = threading.RLock()
        self._pacer = Pacer(30.0)
        self._live = False
        self._last: Frame | None = None
        self._path = ""

    def load(self, ctx: LoadContext) -> None:
        raw = str(self.values["path"] or "").strip()
        if not raw:
            raise NodeLoadError(self.id, "param 'path' is empty: set it to a video, an image or a folder of images")
        path = Path(raw).expanduser()
        self._reader = open_media(path, self.id)
        self._path = str(path)
        self._live = ctx.live
        start = self.values["start"]
        if self._reader.count and start >= self._reader.count:
            count = self._reader.count
            self.unload()
            raise NodeLoadError(self.id, f"start frame {start} is past the end of {path} ({count} frames)")
        end = self.values["end"]
        if 0 < end <= start:
            self.unload()
            raise NodeLoadError(self.id, f"end frame {end} must be after the start frame {start} (or 0 for the end)")
        self._reader.seek(start)

    # -- editor controls --------------------------------------------------
    def info(self) -> dict[str, Any]:
        r = self._reader
        if r is None:
            return {"frame_count": 0, "fps": 0.0, "width": 0, "height": 0}
        return {"frame_count": r.count, "fps": self._fps(), "width": r.width, "height": r.height}

    def seek(self, index: int) -> None:
        """The next frame will be ``index`` (clamped to the file)."""
        with self._lock:
            if self._reader is None:
                return
            last = (self._reader.count - 1) if self._reader.count else index
            self._reader.seek(max(0, min(int(index), last)))
            self._pacer.time0 = None

    def step(self, delta: int) -> None:
        """Seek relative to the last frame shown: step(1) = next frame, step(-1) = previous."""
        base = self._last.index if self._last is not None else self.values["start"]
        self.seek(base + int(delta))

    def current(self) -> Frame | None:
        """The last frame again, with a fresh capture time (re-render a paused frame)."""
        last = self._last
        return None if last is None else replace(last, time=time.perf_counter())

    # -- frames -------------------------------------------------------------
    def _fps(self) -> float:
        override = self.values["fps"]
        return override if override > 0 else (self._reader.fps if self._reader else 30.0)

    def _end(self) -> int:
        r = self._reader
        count = r.count if r is not None else 0
        end = self.values["end"]
        if count and (end <= 0 or end > count):
            return count
        return end if end > 0 else sys.maxsize

    def process(self) -> dict[str, Any]:
        reader = self._reader
        if reader is None:
            raise EndOfStream
        fps = self._fps()
        loop = self.values["loop"] or (self._live and (self.values["auto_rewind"] or reader.still))
        with self._lock:
            nxt = reader.position
            if nxt >= self._end():
                if not loop:
                    raise EndOfStream
                reader.seek(self.values["start"])
                self._pacer.jump(nxt, reader.position)
                nxt = reader.position
        if self._live and (self.values["real_time"] or reader.still):
            if self._pacer.fps != fps:
                self._pacer = Pacer(fps)
            wait, target = self._pacer.plan(nxt, time.perf_counter())
            if wait > 0:
                time.sleep(wait)
            with self._lock:
                target = min(target, self._end() - 1)
                if target > reader.position and reader.position == nxt:
                    reader.skip(target - nxt)
        with self._lock:
            index = reader.position
            got = reader.read()
        if got is None:
            if reader.count and index < min(self._end(), reader.count):
                self.warn(f"{self._path} ended early at frame {index} of {reader.count} (truncated or corrupt)")
            if loop and index > self.values["start"]:
                with self._lock:
                    reader.seek(self.values["start"])
                return self.process()
            raise EndOfStream
        index, image = got
        frame = Frame(
            image=fit_width(image, self.values["width"]),
            index=index,
            time=time.perf_counter(),
            fps=fps,
            source=self._path,
            frame_count=reader.count,
        )
        self._last = frame
        return {"frame": frame}

    def unload(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


# -- camera -----------------------------------------------------------------
CAMERA_BACKENDS = {
    "auto": cv2.CAP_ANY,
    "V4L2": cv2.CAP_V4L2,
    "DirectShow": cv2.CAP_DSHOW,
    "MSMF": cv2.CAP_MSMF,
    "AVFoundation": cv2.CAP_AVFOUNDATION,
    "GStreamer": cv2.CAP_GSTREAMER,
}
RESOLUTIONS = ("320x240", "640x480", "720x480", "1280x720", "1280x960", "1366x768", "1920x1080")


def open_camera(index: int, backend: str, width: int, height: int, fps: float) -> Any:
    """A cv2.VideoCapture on camera ``index`` asking for the given size and rate."""
    cap = cv2.VideoCapture(index, CAMERA_BACKENDS.get(backend, cv2.CAP_ANY))
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps > 0:
            cap.set(cv2.CAP_PROP_FPS, fps)
    return cap


def list_cameras(
    dev_root: str = "/dev", sys_root: str = "/sys/class/video4linux", probe: int = 4
) -> list[dict[str, Any]]:
    """Cameras found: [{"index", "name", "path"}]. Linux lists /dev/video* (capture nodes only);
    elsewhere indices 0..probe-1 are tried (slow: it opens each)."""
    if sys.platform.startswith("linux"):
        found = []
        for dev in sorted(Path(dev_root).glob("video*"), key=lambda p: (len(p.name), p.name)):
            number = dev.name[5:]
            if not number.isdigit():
                continue
            info = Path(sys_root) / dev.name
            node_index = (info / "index").read_text().strip() if (info / "index").exists() else "0"
            if node_index != "0":  # a second node of the same camera (metadata), not a picture
                continue
            name = (info / "name").read_text().strip() if (info / "name").exists() else dev.name
            found.append({"index": int(number), "name": name, "path": str(dev)})
        return found
    found = []
    for index in range(probe):
        cap = cv2.VideoCapture(index)
        if cap.isOpened():
            found.append({"index": index, "name": f"camera {index}", "path": ""})
        cap.release()
    return found


class CameraSource(Node):
    """Frames from a camera; reconnects on its own when the camera drops out."""

    type_id = "source.camera"
    key_params = ("device", "resolution")
    values: CameraSourceValues
    title = "Camera"
    category = "source"
    outputs = (Port("frame", FRAME, "The newest camera frame"),)
    params = (
        Param("device", "int", 0, min=0, max=63, reload=True, help="Camera index (see the list of cameras)"),
        Param("backend", "choice", "auto", choices=tuple(CAMERA_BACKENDS), reload=True, help="Capture API"),
        Param("resolution", "choice", "640x480", choices=RESOLUTIONS, reload=True, help="Size asked of the camera"),
        Param("fps", "float", 0.0, min=0.0, max=240.0, reload=True, help="Frame rate (0 = the camera's)"),
        Param("rotation", "choice", "0", choices=("0", "90", "180", "270"), help="Rotate clockwise, degrees"),
        Param("flip", "bool", False, help="Mirror left-right"),
        Param("restore_settings", "bool", True, help="Apply this camera's saved settings when it opens"),
        Param("settings_dialog", "signal", 0, help="Open the driver's settings dialog (DirectShow on Windows)"),
        Param("save_settings", "signal", 0, help="Save the camera's exposure, gain, white balance, focus..."),
        Param("load_settings", "signal", 0, help="Apply the settings saved for this camera"),
    )

    # Opens the capture object: (index, backend, width, height, fps) -> VideoCapture-like.
    # Tests replace it with a file-backed capture or a fake that fails.
    open_capture: ClassVar[Callable[..., Any]] = staticmethod(open_camera)
    retry_interval: ClassVar[float] = 1.0

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._cap: Any = None
        self._count = 0
        self._next_retry = 0.0
        self._last_time = 0.0
        self._live = False
        self.reconnects = 0
        self.status = ""

    def _size(self) -> tuple[int, int]:
        width, height = self.values["resolution"].split("x")
        return int(width), int(height)

    def _open(self) -> Any:
        v = self.values
        cap = type(self).open_capture(v["device"], v["backend"], *self._size(), v["fps"])
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            return None
        return cap

    def load(self, ctx: LoadContext) -> None:
        self._live = ctx.live
        self._cap = self._open()
        if self._cap is None:
            cams = list_cameras()
            have = ", ".join(f"{c['index']} ({c['name']})" for c in cams) if cams else "no camera was found"
            raise NodeLoadError(
                self.id,
                f"camera {self.values['device']} could not be opened (backend {self.values['backend']}); "
                f"cameras here: {have}",
            )
        self.status = "connected"
        if self.values["restore_settings"]:
            self._apply_saved(quiet=True)

    def _key(self) -> str:
        return camera_settings.camera_key(self.values["backend"], self.values["device"])

    def _apply_saved(self, quiet: bool = False) -> None:
        stored = camera_settings.saved(self._key())
        if stored is None:
            if not quiet:
                self.warn(f"no settings saved for camera {self._key()} (press save_settings first)")
            return
        refused = camera_settings.apply_properties(self._cap, stored)
        if refused:
            self.warn(f"the camera's driver refused: {', '.join(n[9:].lower() for n in refused)}")

    def params_changed(self, changed: set[str]) -> None:
        if self._cap is None:
            return
        if "settings_dialog" in changed and not self._cap.set(cv2.CAP_PROP_SETTINGS, 0):
            self.warn("this camera's driver has no settings dialog (DirectShow on Windows has one)")
        if "save_settings" in changed:
            where = camera_settings.save(self._key(), camera_settings.read_properties(self._cap))
            log.info("node '%s': camera settings saved in %s", self.id, where)
        if "load_settings" in changed:
            self._apply_saved()

    def _fps(self) -> float:
        if self.values["fps"] > 0:
            return float(self.values["fps"])
        reported = float(self._cap.get(cv2.CAP_PROP_FPS)) if self._cap is not None else 0.0
        return reported if 0 < reported <= 240 else 30.0

    def _reconnect(self) -> bool:
        now = time.perf_counter()
        if now < self._next_retry:
            time.sleep(self._next_retry - now)  # one attempt per interval, no busy loop
        self._next_retry = time.perf_counter() + self.retry_interval
        self._cap = self._open()
        if self._cap is None:
            return False
        self.reconnects += 1
        self.status = "connected"
        log.info("node '%s': camera %d is back", self.id, self.values["device"])
        return True

    def process(self) -> dict[str, Any] | None:
        # While the camera is away, return None: the scheduler drops (and counts) the
        # frame and calls again; the graph keeps running.
        if self._cap is None and not self._reconnect():
            return None
        if self._live and self.values["fps"] > 0:
            wait = self._last_time + 1.0 / self.values["fps"] - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        ok, image = self._cap.read()
        if not ok or image is None:
            self._cap.release()
            self._cap = None
            self._next_retry = time.perf_counter() + self.retry_interval
            self.status = "disconnected: reconnecting"
            log.warning(
                "node '%s': camera %d stopped sending frames; trying to reconnect every %.1f s",
                self.id,
                self.values["device"],
                self.retry_interval,
            )
            return None
        width = self._size()[0]
        image = orient(fit_width(image, width), int(self.values["rotation"]), self.values["flip"])
        self._last_time = time.perf_counter()
        frame = Frame(
            image, index=self._count, time=self._last_time, fps=self._fps(), source=f"camera:{self.values['device']}"
        )
        self._count += 1
        return {"frame": frame}

    def unload(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


NODE_TYPES = [MediaSource, CameraSource]

"""Live outputs: a preview (window), an MPEG-TS stream over UDP, a virtual camera."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import sys
import threading
from typing import Any

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.node import LoadContext, Node, Param, Port, warn_once
from nodeswap.nodes.ops.ffmpeg import FfmpegPipe, stream_command, udp_url
from nodeswap.nodes.ops.video import fit_size
from nodeswap.nodes.values import PreviewSinkValues, StreamSinkValues, VirtualCameraSinkValues
from nodeswap.types import FRAME, Frame

log = logging.getLogger(__name__)


def display_available() -> bool:
    """Whether a window can open: always on Windows/macOS, with DISPLAY or WAYLAND_DISPLAY elsewhere."""
    if os.name == "nt" or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class PreviewWindow:
    """A HighGUI window owned by one thread of its own: it is made, drawn, polled and closed there, so a run
    that ends (or is stopped by Ctrl-C or SIGTERM) from any other thread closes it without hanging."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.closed_by_user = False
        self.opened = threading.Event()  # set once the window is on screen
        self._frame: np.ndarray | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"window {title}", daemon=True)
        self._thread.start()

    def show(self, image: np.ndarray) -> None:
        with self._lock:
            self._frame = image

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        shown = False
        while not self._stop.is_set():
            with self._lock:
                image, self._frame = self._frame, None
            if image is not None:
                cv2.imshow(self.title, image)
                shown = True
            if not shown:
                self._stop.wait(0.02)
                continue
            cv2.waitKey(20)
            visible = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
            if visible:
                self.opened.set()
            elif self.opened.is_set():
                self.closed_by_user = True  # closed by the user: stay closed until 'window' is toggled
                return
        if shown:
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass


class PreviewSink(Node):
    """Keeps the last frame for the editor; optionally shows it in a window."""

    type_id = "sink.preview"
    key_params = ("window",)
    values: PreviewSinkValues
    title = "Preview"
    category = "sink"
    inputs = (Port("frame", FRAME, "Frame to show"),)
    outputs = (Port("frame", FRAME, "The same frame, for chaining"),)
    params = (
        Param("window", "bool", False, help="Also show the frames in a window (where a display exists)"),
        Param("title", "text", "nodeswap", help="Window title"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self.last: Frame | None = None
        self._window: PreviewWindow | None = None
        self._closed_by_user = False

    def process(self, frame: Frame) -> dict[str, Any]:
        self.last = frame
        if self.values["window"] and not self._closed_by_user:
            self._show(frame)
        elif self._window is not None and not self.values["window"]:
            self._close()
        return {"frame": frame}

    def _show(self, frame: Frame) -> None:
        if not display_available():
            warn_once(f"no-display-{self.id}", "node '%s': no display (DISPLAY is not set): window not shown", self.id)
            return
        title = self.values["title"] or "nodeswap"
        if self._window is not None and (self._window.title != title or self._window.closed_by_user):
            self._closed_by_user = self._window.closed_by_user
            self._close()
            if self._closed_by_user:
                return
        if self._window is None:
            self._window = PreviewWindow(title)
        self._window.show(frame.image)

    def params_changed(self, changed: set[str]) -> None:
        if "window" in changed:
            self._closed_by_user = False

    def _close(self) -> None:
        window, self._window = self._window, None
        if window is not None:
            window.close()

    def unload(self) -> None:
        self._close()


class StreamSink(Node):
    """Streams the frames as MPEG-TS over UDP through ffmpeg (open udp://@:port in VLC, OBS, ffplay)."""

    type_id = "sink.stream"
    key_params = ("address", "port")
    values: StreamSinkValues
    title = "Network stream (UDP)"
    category = "sink"
    inputs = (Port("frame", FRAME, "Frames to send"),)
    params = (
        Param("address", "text", "127.0.0.1", reload=True, help="Receiver address (IP or host name; multicast works)"),
        Param("port", "int", 1234, min=1, max=65535, reload=True, help="Receiver UDP port"),
        Param("bitrate", "int", 4000, min=100, max=100_000, reload=True, help="Video bitrate, kbit/s"),
        Param("codec", "choice", "h264", choices=("h264", "mpeg2"), reload=True, help="h264: smaller; mpeg2: less CPU"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._ffmpeg: str | None = None
        self._pipe: FfmpegPipe | None = None
        self._size = (0, 0)
        self.sent = 0

    def load(self, ctx: LoadContext) -> None:
        self._ffmpeg = shutil.which("ffmpeg")
        if self._ffmpeg is None:
            raise NodeLoadError(
                self.id,
                "ffmpeg is not on PATH: install ffmpeg to stream (apt install ffmpeg, "
                "brew install ffmpeg, or winget install ffmpeg)",
            )
        address = str(self.values["address"]).strip()
        if not address or any(c.isspace() or c in "/?#@" for c in address):
            raise NodeLoadError(self.id, f"param 'address': {address!r} is not an IP address or host name")
        try:
            ipaddress.ip_address(address)
        except ValueError:
            if ":" in address:
                raise NodeLoadError(self.id, f"param 'address': {address!r} is not a valid address") from None

    @property
    def url(self) -> str:
        return udp_url(str(self.values["address"]).strip(), self.values["port"])

    def process(self, frame: Frame) -> dict[str, Any]:
        if self._pipe is None:
            assert self._ffmpeg is not None
            self._size = frame.size
            cmd = stream_command(
                self._ffmpeg, *self._size, frame.fps, self.url, self.values["codec"], self.values["bitrate"]
            )
            self._pipe = FfmpegPipe(cmd)
            log.info("node '%s': streaming %dx%d to %s", self.id, *self._size, self.url)
        try:
            self._pipe.write(fit_size(frame.image, self._size))
        except RuntimeError:
            pipe, self._pipe = self._pipe, None  # start a new ffmpeg on the next frame
            pipe.close(timeout=5)
            raise
        self.sent += 1
        return {}

    def unload(self) -> None:
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            pipe.close(timeout=10)


VCAM_HELP = (
    'install it with  pip install "nodeswap[vcam]"  and a virtual camera driver: v4l2loopback on Linux '
    "(sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback), OBS Studio's Virtual Camera "
    "on Windows and macOS (start it once in OBS)"
)


def import_pyvirtualcam() -> Any:
    """The pyvirtualcam module, or a NodeLoadError-ready message via ImportError."""
    import pyvirtualcam

    return pyvirtualcam


class VirtualCameraSink(Node):
    """Sends the frames to a virtual camera that video-call and streaming apps can pick."""

    type_id = "sink.vcam"
    key_params = ("backend",)
    values: VirtualCameraSinkValues
    title = "Virtual camera"
    category = "sink"
    inputs = (Port("frame", FRAME, "Frames to show on the virtual camera"),)
    params = (
        Param(
            "backend",
            "choice",
            "auto",
            choices=("auto", "v4l2loopback", "obs", "unitycapture"),
            reload=True,
            help="Virtual camera driver",
        ),
        Param("device", "text", "", reload=True, help="Device, e.g. /dev/video10 (empty = the first free one)"),
        Param("fps", "float", 0.0, min=0.0, max=120.0, reload=True, help="Frame rate (0 = the stream's)"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._module: Any = None
        self._cam: Any = None
        self._size = (0, 0)
        self.sent = 0

    def _open(self, width: int, height: int, fps: float) -> Any:
        v = self.values
        kwargs: dict[str, Any] = {"fmt": self._module.PixelFormat.BGR}
        if v["backend"] != "auto":
            kwargs["backend"] = v["backend"]
        if v["device"]:
            kwargs["device"] = v["device"]
        try:
            return self._module.Camera(width, height, fps, **kwargs)
        except Exception as exc:  # pyvirtualcam raises RuntimeError/ValueError with the driver's words
            raise NodeLoadError(self.id, f"no virtual camera could be opened ({exc}); {VCAM_HELP}") from None

    def load(self, ctx: LoadContext) -> None:
        try:
            self._module = import_pyvirtualcam()
        except ImportError:
            raise NodeLoadError(
                self.id, f"the virtual camera needs pyvirtualcam, which is not installed: {VCAM_HELP}"
            ) from None
        # Open and close once so a missing driver is reported before the run starts.
        self._open(640, 480, self.values["fps"] or 30.0).close()

    def process(self, frame: Frame) -> dict[str, Any]:
        if self._cam is None:
            self._size = frame.size
            self._cam = self._open(*self._size, self.values["fps"] or frame.fps or 30.0)
            log.info("node '%s': virtual camera %s at %dx%d", self.id, self._cam.device, *self._size)
        self._cam.send(fit_size(frame.image, self._size))
        self.sent += 1
        return {}

    def unload(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            cam.close()


NODE_TYPES = [PreviewSink, StreamSink, VirtualCameraSink]

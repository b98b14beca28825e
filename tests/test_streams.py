"""Live outputs: the UDP stream round trip on loopback, the virtual camera's errors, the preview."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import nodeswap.node as node_module
import nodeswap.nodes.streams as streams
from nodeswap.errors import NodeLoadError
from nodeswap.node import LoadContext
from nodeswap.nodes.sources import MediaSource
from nodeswap.nodes.streams import PreviewSink, StreamSink, VirtualCameraSink
from nodeswap.types import Frame

ROOT = Path(__file__).resolve().parents[1]


class UdpReceiver:
    """Collects datagrams on 127.0.0.1 until the sender has been quiet for a while."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[bytes] = []
        self._done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        quiet_since = time.perf_counter()
        while not self._done.is_set() or time.perf_counter() - quiet_since < 1.0:
            try:
                self.packets.append(self.sock.recv(65536))
                quiet_since = time.perf_counter()
            except TimeoutError:
                continue

    def finish(self) -> bytes:
        self._done.set()
        self.thread.join(timeout=10)
        self.sock.close()
        return b"".join(self.packets)


@pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg")
@pytest.mark.parametrize(("codec", "name"), [("h264", "h264"), ("mpeg2", "mpeg2video")])
def test_udp_stream_round_trip_on_loopback(tmp_path: Path, obama: Path, codec: str, name: str) -> None:
    receiver = UdpReceiver()
    sink = StreamSink("udp", {"address": "127.0.0.1", "port": receiver.port, "codec": codec, "bitrate": 3000})
    sink.load(LoadContext("udp", True))
    source = MediaSource("src", {"path": str(obama), "end": 30})
    source.load(LoadContext("src"))
    for _ in range(30):
        sink.process(frame=source.process()["frame"])
        time.sleep(1 / 60)
    source.unload()
    sink.unload()
    data = receiver.finish()
    assert sink.sent == 30 and len(data) > 10_000 and len(data) % 188 == 0
    assert set(data[::188]) == {0x47}  # an MPEG-TS sync byte every 188 bytes
    ts = tmp_path / "received.ts"
    ts.write_bytes(data)
    cmd = ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(ts)]
    video = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)["streams"][0]
    assert (video["codec_name"], video["width"], video["height"]) == (name, 512, 388)
    assert int(video["nb_read_frames"]) == 30


def test_stream_errors(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: "/usr/bin/ffmpeg")  # the address is checked either way
    with pytest.raises(NodeLoadError, match="not an IP address or host name"):
        StreamSink("udp", {"address": "udp://x/y"}).load(LoadContext("udp", True))
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(NodeLoadError, match="ffmpeg is not on PATH"):
        StreamSink("udp", {}).load(LoadContext("udp", True))


# -- virtual camera -------------------------------------------------------------
def test_virtual_camera_without_pyvirtualcam_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # import fails as when it is not installed
    with pytest.raises(NodeLoadError) as err:
        VirtualCameraSink("vcam", {}).load(LoadContext("vcam", True))
    message = str(err.value)
    assert "pyvirtualcam" in message and 'pip install "nodeswap[vcam]"' in message and "v4l2loopback" in message


def test_virtual_camera_here_has_no_device_or_module() -> None:
    """Real: without pyvirtualcam, or with it but no virtual camera device (this machine)."""
    installed = __import__("importlib").util.find_spec("pyvirtualcam") is not None
    have_device = any(Path("/dev").glob("video*")) if sys.platform.startswith("linux") else True
    if installed and have_device:
        pytest.skip("a virtual camera may exist here")
    node = VirtualCameraSink("vcam", {"backend": "auto"})
    with pytest.raises(NodeLoadError) as err:
        node.load(LoadContext("vcam", True))
    node.unload()
    expected = "no virtual camera could be opened" if installed else "pyvirtualcam, which is not installed"
    assert expected in str(err.value) and "OBS" in str(err.value)


def test_virtual_camera_sends_frames_at_the_stream_size(monkeypatch) -> None:
    opened = []

    class FakeCamera:  # pyvirtualcam.Camera's interface
        def __init__(self, width, height, fps, **kwargs) -> None:
            self.size, self.fps, self.kwargs, self.frames, self.device = (width, height), fps, kwargs, [], "fake"
            opened.append(self)

        def send(self, image) -> None:
            assert image.shape == (self.size[1], self.size[0], 3)
            self.frames.append(image)

        def close(self) -> None:
            self.closed = True

    fake = type("pyvirtualcam", (), {"Camera": FakeCamera, "PixelFormat": type("PF", (), {"BGR": "bgr"})})
    monkeypatch.setattr(streams, "import_pyvirtualcam", lambda: fake)
    node = VirtualCameraSink("vcam", {"device": "/dev/video10"})
    node.load(LoadContext("vcam", True))
    node.process(frame=Frame(np.zeros((388, 512, 3), np.uint8), fps=25.0))
    node.process(frame=Frame(np.zeros((100, 100, 3), np.uint8), fps=25.0))  # resized to the first size
    node.unload()
    probe, cam = opened
    assert probe.closed and (cam.size, cam.fps, len(cam.frames)) == ((512, 388), 25.0, 2)
    assert cam.kwargs == {"fmt": "bgr", "device": "/dev/video10"} and cam.closed


# -- preview ----------------------------------------------------------------------
def test_preview_keeps_the_last_frame_and_says_once_when_no_display(monkeypatch, caplog) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(node_module, "_warned", set())
    monkeypatch.setattr(streams.sys, "platform", "linux")
    node = PreviewSink("view", {"window": True})
    frames = [Frame(np.full((8, 8, 3), i, np.uint8), index=i) for i in range(3)]
    with caplog.at_level(logging.WARNING):
        outputs = [node.process(frame=f) for f in frames]
    assert node.last is frames[-1] and outputs[1]["frame"] is frames[1]
    assert caplog.text.count("no display") == 1
    node.unload()


@pytest.mark.gui
@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run")
def test_preview_window_opens_under_a_real_x_display() -> None:
    script = (
        "import cv2, numpy as np\nfrom nodeswap.nodes.streams import PreviewSink\nfrom nodeswap.types import Frame\n"
        "node = PreviewSink('view', {'window': True, 'title': 'probe'})\n"
        "for i in range(3):\n    node.process(frame=Frame(np.full((120, 160, 3), 80, np.uint8), index=i))\n"
        "window = node._window\nprint('visible', int(window.opened.wait(10)))\nnode.unload()\n"
        "print('closed', int(not window.alive))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    done = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
    assert "visible 1" in done.stdout and "closed 1" in done.stdout  # shown, and closed by its own thread

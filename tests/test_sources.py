"""Media-file and camera sources on real media: counts, order, seek, pacing, and every error path."""

from __future__ import annotations

import itertools
import logging
import subprocess
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from nodeswap.errors import EndOfStream, NodeLoadError
from nodeswap.node import LoadContext
from nodeswap.nodes.ops import camera_settings
from nodeswap.nodes.ops.video import Pacer, natural_key
from nodeswap.nodes.sources import CameraSource, MediaSource, list_cameras


def media(path: Path | str, live: bool = False, **params: Any) -> MediaSource:
    node = MediaSource("src", {"path": str(path), **params})
    node.load(LoadContext("src", live))
    return node


def drain(node: MediaSource, limit: int = 10_000) -> list:
    frames = []
    try:
        while len(frames) < limit:
            frames.append(node.process()["frame"])
    except EndOfStream:
        pass
    return frames


def reference_frames(path: Path, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = [cap.read()[1] for _ in range(count)]
    cap.release()
    return out


def test_video_plays_every_frame_in_order(obama: Path) -> None:
    node = media(obama)
    assert node.info() == {"frame_count": 259, "fps": 30.0, "width": 512, "height": 388}
    frames = drain(node)
    node.unload()
    assert len(frames) == 259
    assert [f.index for f in frames] == list(range(259))
    first = frames[0]
    assert (first.size, first.fps, first.frame_count, first.source) == ((512, 388), 30.0, 259, str(obama))
    assert all(b.time >= a.time for a, b in itertools.pairwise(frames))
    assert np.array_equal(first.image, reference_frames(obama, 1)[0])


def test_seek_step_and_current_return_the_right_frames(obama: Path) -> None:
    ref = reference_frames(obama, 121)
    node = media(obama)
    node.seek(120)
    frame = node.process()["frame"]
    assert frame.index == 120 and np.array_equal(frame.image, ref[120])
    node.step(-20)
    frame = node.process()["frame"]
    assert frame.index == 100 and np.array_equal(frame.image, ref[100])
    assert node.process()["frame"].index == 101
    again = node.current()
    assert again.index == 101 and again.time > frame.time
    node.seek(10_000)  # clamped to the last frame
    assert node.process()["frame"].index == 258
    with pytest.raises(EndOfStream):
        node.process()
    node.unload()
    node.unload()  # twice is fine


def test_start_end_loop_and_fps_override(obama: Path) -> None:
    node = media(obama, start=10, end=40, fps=12.5)
    frames = drain(node)
    assert [f.index for f in frames] == list(range(10, 40))
    assert {f.fps for f in frames} == {12.5}
    node.unload()
    node = media(obama, start=255, loop=True)
    assert [f.index for f in drain(node, limit=9)] == [255, 256, 257, 258, 255, 256, 257, 258, 255]
    node.unload()


def test_live_runs_rewind_at_the_end_unless_told_not_to(obama: Path) -> None:
    node = media(obama, live=True, start=256, real_time=False)
    assert [f.index for f in drain(node, limit=5)] == [256, 257, 258, 256, 257]  # DeepFaceLive's auto rewind
    node.unload()
    node = media(obama, live=True, start=256, real_time=False, auto_rewind=False)
    assert [f.index for f in drain(node)] == [256, 257, 258]
    node.unload()
    node = media(obama, start=256)  # a render ends
    assert [f.index for f in drain(node)] == [256, 257, 258]
    node.unload()


@pytest.mark.parametrize(("width", "size"), [(256, (256, 194)), (301, (301, 228)), (1024, (1024, 776))])
def test_target_width_keeps_the_aspect(obama: Path, width: int, size: tuple[int, int]) -> None:
    node = media(obama, width=width, end=3)
    assert {f.size for f in drain(node)} == {size}
    node.unload()


def test_single_image_is_one_frame_offline_and_repeats_live(photos: list[Path]) -> None:
    node = media(photos[0])
    frames = drain(node)
    assert len(frames) == 1 and frames[0].image.shape[:2] == cv2.imread(str(photos[0])).shape[:2]
    node.unload()
    node = media(photos[0], loop=True)
    assert [f.index for f in drain(node, limit=4)] == [0, 0, 0, 0]
    node.unload()
    node = media(photos[0], live=True, fps=50.0)  # a still image repeats live, paced to the fps
    began = time.perf_counter()
    assert len(drain(node, limit=11)) == 11
    assert 0.15 < time.perf_counter() - began < 0.8
    node.unload()


def test_folder_of_images_in_natural_order_skips_a_bad_file(tmp_path: Path, photos: list[Path], caplog) -> None:
    names = ["frame1.jpg", "frame2.png", "frame10.jpg", "frame9.jpg", "notes.txt"]
    for name, photo in zip(names[:4], photos[:4], strict=True):
        cv2.imwrite(str(tmp_path / name), cv2.imread(str(photo)))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "frame3.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    node = media(tmp_path)
    assert node.info()["frame_count"] == 5
    with caplog.at_level(logging.WARNING):
        frames = drain(node)
    assert [f.index for f in frames] == [0, 1, 3, 4]  # frame3.jpg (index 2) is unreadable: skipped
    assert "frame3.jpg" in caplog.text
    sizes = [cv2.imread(str(p)).shape[:2] for p in photos[:4]]
    assert [f.image.shape[:2] for f in frames] == [sizes[0], sizes[1], sizes[3], sizes[2]]
    assert sorted(["b10", "b9", "a2"], key=natural_key) == ["a2", "b9", "b10"]
    node.unload()


def make_bad_files(tmp_path: Path, obama: Path) -> dict[str, Path]:
    data = obama.read_bytes()
    files = {
        "empty": tmp_path / "empty.mp4",
        "text": tmp_path / "text.mp4",
        "truncated": tmp_path / "truncated.mp4",  # moov atom at the end: cut off
        "bad_image": tmp_path / "bad.png",
        "empty_folder": tmp_path / "nothing",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not a video\n" * 20)
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["bad_image"].write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    files["empty_folder"].mkdir()
    return files


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", "file not found"),
        ("empty", "file is empty"),
        ("text", "cannot open"),
        ("truncated", "cannot open"),
        ("bad_image", "cannot read image"),
        ("empty_folder", "no images"),
    ],
)
def test_bad_inputs_give_one_clear_error(tmp_path: Path, obama: Path, kind: str, words: str) -> None:
    path = make_bad_files(tmp_path, obama).get(kind, tmp_path / "missing.mp4")
    with pytest.raises(NodeLoadError) as err:
        media(path)
    assert words in str(err.value) and str(path) in str(err.value) and "node 'src'" in str(err.value)


def test_empty_path_and_start_past_end(obama: Path) -> None:
    with pytest.raises(NodeLoadError, match="param 'path' is empty"):
        media("")
    with pytest.raises(NodeLoadError, match="start frame 300 is past the end"):
        media(obama, start=300)
    with pytest.raises(NodeLoadError, match="end frame 10 must be after the start frame 50"):
        media(obama, start=50, end=10)


def test_file_broken_midway_ends_cleanly_with_the_frames_so_far(
    tmp_path: Path, obama: Path, caplog, ffmpeg: str
) -> None:
    fast = tmp_path / "fast.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(obama), "-c", "copy", "-movflags", "+faststart", str(fast)]
    subprocess.run(cmd, check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(fast.read_bytes()[: fast.stat().st_size // 2])
    node = media(cut)
    with caplog.at_level(logging.WARNING):
        frames = drain(node)
    assert 100 < len(frames) < 200 and [f.index for f in frames] == list(range(len(frames)))
    assert "ended early" in caplog.text and str(cut) in caplog.text
    node.unload()


def test_live_paces_to_the_file_rate_and_skips_late_frames(obama: Path) -> None:
    node = media(obama, live=True)
    began = time.perf_counter()
    indices = [f.index for f in drain(node, limit=16)]
    took = time.perf_counter() - began
    assert indices == list(range(16))
    assert 0.4 < took < 1.0, took  # 15 intervals at 30 fps = 0.5 s
    slow = []
    for _ in range(5):
        time.sleep(0.1)  # a consumer at 10 fps: the source skips ~2 frames a call
        slow.append(node.process()["frame"].index)
    steps = np.diff([indices[-1], *slow])
    assert steps.min() >= 2 and steps.mean() >= 2.5, slow
    node.unload()
    node = media(obama, live=True, real_time=False)
    began = time.perf_counter()
    assert [f.index for f in drain(node, limit=30)] == list(range(30))
    assert time.perf_counter() - began < 0.9  # unpaced (paced would take 0.97 s)
    node.unload()


def test_pacer_waits_skips_and_reanchors_after_a_pause() -> None:
    pacer = Pacer(10.0, max_late=1.0)
    assert pacer.plan(0, 100.0) == (0.0, 0)
    wait, index = pacer.plan(1, 100.02)
    assert index == 1 and wait == pytest.approx(0.08)
    assert pacer.plan(2, 100.35) == (0.0, 3)  # late: frame 3 is due
    assert pacer.plan(4, 105.0) == (0.0, 4)  # 4.6 s late: a pause, start again from here
    assert pacer.plan(5, 105.1) == (pytest.approx(0.0, abs=1e-9), 5)


# -- camera -------------------------------------------------------------------
@pytest.fixture(autouse=True)
def own_camera_settings(tmp_path: Path, monkeypatch) -> Path:
    """Camera settings are saved in a folder of the test's own, never the user's."""
    path = tmp_path / "config" / "cameras.json"
    monkeypatch.setattr(camera_settings, "settings_file", lambda: path)
    return path


def camera(monkeypatch, factory, **params: Any) -> CameraSource:
    monkeypatch.setattr(CameraSource, "open_capture", staticmethod(factory))
    monkeypatch.setattr(CameraSource, "retry_interval", 0.01)
    node = CameraSource("cam", params)
    node.load(LoadContext("cam", True))
    return node


def test_missing_camera_is_a_clear_error() -> None:
    node = CameraSource("cam", {"device": 9})
    with pytest.raises(NodeLoadError) as err:
        node.load(LoadContext("cam", True))
    assert "camera 9 could not be opened" in str(err.value) and "node 'cam'" in str(err.value)
    node.unload()


def test_camera_frames_with_resolution_rotation_and_flip(monkeypatch, obama: Path) -> None:
    asked = []

    def factory(index, backend, width, height, fps):
        asked.append((index, backend, width, height, fps))
        return cv2.VideoCapture(str(obama))

    node = camera(monkeypatch, factory, device=2, backend="V4L2", resolution="1280x720", rotation="90", flip=True)
    frames = [node.process()["frame"] for _ in range(3)]
    assert asked == [(2, "V4L2", 1280, 720, 0.0)]
    assert [f.index for f in frames] == [0, 1, 2] and frames[0].source == "camera:2"
    assert frames[0].size == (970, 1280)  # 512x388 scaled to 1280 wide, then turned
    first = cv2.resize(reference_frames(obama, 1)[0], (1280, 970), interpolation=cv2.INTER_CUBIC)
    expected = cv2.flip(cv2.rotate(first, cv2.ROTATE_90_CLOCKWISE), 1)
    assert np.array_equal(frames[0].image, expected)
    assert frames[0].fps == 30.0  # the capture's rate
    node.unload()


class FlakyCapture:
    """A camera that delivers ``frames`` frames and then drops out."""

    def __init__(self, frames: int) -> None:
        self.left = frames
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - the cv2.VideoCapture API
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.full((480, 640, 3), self.left, np.uint8)

    def get(self, prop: int) -> float:
        return 25.0

    def release(self) -> None:
        self.released = True


def test_camera_reconnects_after_dropping_out(monkeypatch) -> None:
    opened: list[FlakyCapture | None] = []
    plan = [FlakyCapture(3), None, None, FlakyCapture(2), FlakyCapture(5)]  # None: the camera is still away

    def factory(*_args):
        cap = plan[len(opened)]
        opened.append(cap)
        return cap

    node = camera(monkeypatch, factory)
    results = [node.process() for _ in range(9)]
    got = [None if r is None else r["frame"].index for r in results]
    # 3 frames, the drop (None), two failed reopens (None), 2 frames, a drop, reopened at once
    assert got == [0, 1, 2, None, None, None, 3, 4, None], got
    assert node.process()["frame"].index == 5
    assert node.reconnects == 2 and node.status == "connected"
    assert all(c.released for c in opened[:4] if c is not None)
    node.unload()


def test_list_cameras_reads_linux_device_nodes(tmp_path: Path) -> None:
    dev, sys_root = tmp_path / "dev", tmp_path / "sys"
    for name, index, label in [("video0", "0", "Integrated Webcam"), ("video1", "1", "meta"), ("video10", "0", "OBS")]:
        (dev / name).parent.mkdir(exist_ok=True)
        (dev / name).touch()
        (sys_root / name).mkdir(parents=True)
        (sys_root / name / "index").write_text(index + "\n")
        (sys_root / name / "name").write_text(label + "\n")
    (dev / "video-bad").touch()
    cams = list_cameras(str(dev), str(sys_root))
    if not cams and not __import__("sys").platform.startswith("linux"):
        pytest.skip("device nodes are a Linux thing")
    assert [(c["index"], c["name"]) for c in cams] == [(0, "Integrated Webcam"), (10, "OBS")]
    assert list_cameras(str(tmp_path / "none"), str(sys_root)) == []


class SettingsCapture:
    """A camera driver with a few settings: brightness, gain, exposure and its auto switch, no dialog."""

    def __init__(self, values: dict[int, float]) -> None:
        self.values = dict(values)
        self.log: list[tuple[int, float]] = []

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray]:
        return True, np.zeros((48, 64, 3), np.uint8)

    def get(self, prop: int) -> float:
        return self.values.get(prop, -1.0)

    def set(self, prop: int, value: float) -> bool:
        if prop not in self.values:
            return False
        self.values[prop] = value
        self.log.append((prop, value))
        return True

    def release(self) -> None:
        pass


def test_camera_settings_are_saved_per_camera_and_restored(monkeypatch, own_camera_settings: Path) -> None:
    driver = SettingsCapture(
        {cv2.CAP_PROP_BRIGHTNESS: 40.0, cv2.CAP_PROP_GAIN: 3.0, cv2.CAP_PROP_AUTO_EXPOSURE: 1.0,
         cv2.CAP_PROP_EXPOSURE: -6.0}
    )  # fmt: skip
    node = camera(monkeypatch, lambda *a: driver, device=1, backend="DirectShow")
    node.values = {**node.values, "save_settings": 1}
    node.params_changed({"save_settings"})
    stored = camera_settings.load_all(own_camera_settings)
    assert stored == {"DirectShow:1": {"CAP_PROP_BRIGHTNESS": 40.0, "CAP_PROP_GAIN": 3.0,
                                       "CAP_PROP_AUTO_EXPOSURE": 1.0, "CAP_PROP_EXPOSURE": -6.0}}  # fmt: skip
    node.params_changed({"settings_dialog"})  # this driver has none: said, not raised
    assert "no settings dialog" in " ".join(node.take_warnings())
    node.unload()
    fresh = SettingsCapture({p: 0.0 for p in driver.values})
    node = camera(monkeypatch, lambda *a: fresh, device=1, backend="DirectShow")  # restored on open
    assert fresh.values == driver.values
    assert fresh.log[0][0] == cv2.CAP_PROP_AUTO_EXPOSURE  # the auto switch first, so the exposure sticks
    fresh.values[cv2.CAP_PROP_GAIN] = 9.0
    node.params_changed({"load_settings"})
    assert fresh.values[cv2.CAP_PROP_GAIN] == 3.0
    node.unload()
    other = SettingsCapture({cv2.CAP_PROP_GAIN: 0.0})
    node = camera(monkeypatch, lambda *a: other, device=2, backend="DirectShow")  # another camera: untouched
    assert other.log == []
    node.params_changed({"load_settings"})
    assert "no settings saved for camera DirectShow:2" in " ".join(node.take_warnings())
    node.unload()
    off = SettingsCapture({p: 0.0 for p in driver.values})
    camera(monkeypatch, lambda *a: off, device=1, backend="DirectShow", restore_settings=False).unload()
    assert off.log == []

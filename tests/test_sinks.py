"""File sinks on real media: the video (ffprobe: codec, frames, fps, audio in sync), image sequences, face data."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

import nodeswap.node as node_module
from nodeswap.errors import EndOfStream, NodeLoadError
from nodeswap.node import LoadContext, Node
from nodeswap.nodes.sinks import FACEDATA_SCHEMA, FaceDataSink, ImageSequenceSink, VideoSink
from nodeswap.nodes.sources import MediaSource
from nodeswap.types import Face, Frame

ROOT = Path(__file__).resolve().parents[1]
needs_ffmpeg = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg")


def loaded(node: Node, live: bool = False) -> Node:
    node.load(LoadContext(node.id, live))
    return node


def run(source: MediaSource, sink: Node) -> int:
    """Feed every frame of ``source`` to ``sink``, then unload both (as the scheduler does)."""
    count = 0
    try:
        while True:
            sink.process(frame=source.process()["frame"])
            count += 1
    except EndOfStream:
        pass
    finally:
        source.unload()
        sink.unload()
    return count


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's streams (frames counted by decoding) keyed by codec type."""
    cmd = ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)]
    streams = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)["streams"]
    return {s["codec_type"]: s for s in streams}


def pcm(path: Path, start: float = 0.0, rate: int = 8000) -> np.ndarray:
    """The audio of ``path`` from ``start`` seconds, mono float32."""
    cmd = ["ffmpeg", "-v", "error", "-ss", f"{start}", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate)]
    out = subprocess.run([*cmd, "-f", "s16le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32)


def lag_seconds(clip: np.ndarray, full: np.ndarray, rate: int = 8000) -> float:
    """Where ``clip`` best matches inside ``full`` (FFT cross-correlation), seconds."""
    n = len(full) + len(clip)
    corr = np.fft.irfft(np.fft.rfft(full, n) * np.conj(np.fft.rfft(clip, n)), n)
    return int(np.argmax(corr[: len(full)])) / rate


@needs_ffmpeg
def test_h264_video_has_every_frame_at_the_source_rate(tmp_path: Path, obama: Path) -> None:
    out = tmp_path / "new" / "folder" / "obama.mp4"  # parents are created
    source = loaded(MediaSource("src", {"path": str(obama), "end": 30}))
    assert run(source, loaded(VideoSink("out", {"path": str(out), "preset": "ultrafast"}))) == 30
    video = probe(out)["video"]
    assert (video["codec_name"], video["pix_fmt"], video["r_frame_rate"]) == ("h264", "yuv420p", "30/1")
    assert (int(video["nb_read_frames"]), video["width"], video["height"]) == (30, 512, 388)
    assert "audio" not in probe(out) and not list(out.parent.glob(".*partial*"))


@needs_ffmpeg
def test_audio_is_carried_over_in_sync(tmp_path: Path, media_dir: Path) -> None:
    ben = media_dir / "videos" / "Ben_Stiller_Owen_Wilson.mp4"
    out = tmp_path / "ben.mp4"
    source = loaded(MediaSource("src", {"path": str(ben)}))
    assert run(source, loaded(VideoSink("out", {"path": str(out), "preset": "ultrafast", "crf": 30}))) == 392
    streams = probe(out)
    video, audio = streams["video"], streams["audio"]
    assert (int(video["nb_read_frames"]), video["r_frame_rate"]) == (392, "30000/1001")
    assert audio["codec_name"] == "aac"
    video_seconds = 392 * 1001 / 30000
    assert abs(float(audio["duration"]) - video_seconds) < 0.1
    assert abs(float(audio["duration"]) - float(probe(ben)["audio"]["duration"])) < 0.1

    # A middle part: its audio must be the source's audio from the first frame's time on.
    part = tmp_path / "part.mov"
    source = loaded(MediaSource("src", {"path": str(ben), "start": 150, "end": 240}))
    assert run(source, loaded(VideoSink("out", {"path": str(part), "preset": "ultrafast"}))) == 90
    streams = probe(part)
    assert int(streams["video"]["nb_read_frames"]) == 90
    assert abs(float(streams["audio"]["duration"]) - 90 * 1001 / 30000) < 0.1
    expected = 150 * 1001 / 30000 + 0.033  # frame 150's time (the source video starts at 0.033 s)
    found = lag_seconds(pcm(part), pcm(ben))
    assert abs(found - expected) < 0.034, (found, expected)  # within one frame


def test_without_ffmpeg_falls_back_to_opencv_mp4v(tmp_path: Path, obama: Path, monkeypatch, caplog) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "ffmpeg" else real_which(name))
    monkeypatch.setattr(node_module, "_warned", set())
    out = tmp_path / "fallback.mp4"
    with caplog.at_level(logging.WARNING):
        sink = loaded(VideoSink("out", {"path": str(out)}))
        loaded(VideoSink("out2", {"path": str(tmp_path / "x.mp4")})).unload()
    assert caplog.text.count("ffmpeg is not on PATH") == 1  # said once
    assert run(loaded(MediaSource("src", {"path": str(obama), "end": 20})), sink) == 20
    if real_which("ffprobe"):
        video = probe(out)["video"]
        assert (video["codec_name"], int(video["nb_read_frames"]), video["width"]) == ("mpeg4", 20, 512)


@needs_ffmpeg
def test_never_overwrites_the_input(tmp_path: Path, obama: Path) -> None:
    copy = tmp_path / "input.mp4"
    shutil.copyfile(obama, copy)
    before = copy.read_bytes()
    source = loaded(MediaSource("src", {"path": str(copy), "end": 5}))
    sink = loaded(VideoSink("out", {"path": str(tmp_path / "." / "input.mp4")}))
    with pytest.raises(NodeLoadError, match="is the input file"):
        sink.process(frame=source.process()["frame"])
    sink.unload()
    source.unload()
    assert copy.read_bytes() == before and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    ("path", "words"), [("", "param 'path' is empty"), ("out.txt", "use one of"), ("folder.mp4", "is a folder")]
)
def test_bad_output_paths(tmp_path: Path, path: str, words: str) -> None:
    (tmp_path / "folder.mp4").mkdir()
    with pytest.raises(NodeLoadError, match=words):
        loaded(VideoSink("out", {"path": str(tmp_path / path) if path else ""}))


@needs_ffmpeg
def test_gaps_are_filled_and_odd_sizes_padded(tmp_path: Path) -> None:
    sink = loaded(VideoSink("out", {"path": str(tmp_path / "gaps.mp4"), "preset": "ultrafast"}))
    for index in (0, 1, 5, 6):  # frames 2..4 were dropped in a live run
        sink.process(frame=Frame(np.full((101, 161, 3), index * 30, np.uint8), index=index, fps=25.0))
    sink.unload()
    sink.unload()
    video = probe(tmp_path / "gaps.mp4")["video"]
    assert (int(video["nb_read_frames"]), video["width"], video["height"], video["r_frame_rate"]) == (
        7,
        162,
        102,
        "25/1",
    )


@needs_ffmpeg
def test_ctrl_c_still_leaves_a_playable_file(tmp_path: Path) -> None:
    out = tmp_path / "interrupted.mp4"
    script = (
        "import sys, time, numpy as np\n"
        "from nodeswap.nodes.sinks import VideoSink\nfrom nodeswap.node import LoadContext\n"
        "from nodeswap.types import Frame\n"
        "sink = VideoSink('out', {'path': sys.argv[1], 'preset': 'ultrafast'})\n"
        "sink.load(LoadContext('out', True))\ni = 0\n"
        "try:\n"
        "    while True:\n"
        "        sink.process(Frame(np.full((120, 160, 3), i % 250, np.uint8), index=i, fps=25.0))\n"
        "        i += 1\n"
        "        if i == 20: print('ready', flush=True)\n"
        "        time.sleep(0.005)\n"
        "except KeyboardInterrupt:\n    print('written', i, flush=True)\n"
        "finally:\n    sink.unload()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)  # fmt: skip
    assert child.stdout.readline().strip() == "ready"
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does to the foreground group
    output, _ = child.communicate(timeout=60)
    written = int(output.split()[-1])
    assert child.returncode == 0 and written >= 20
    assert int(probe(out)["video"]["nb_read_frames"]) == written


# -- image sequence -------------------------------------------------------------
def test_image_sequence_names_formats_and_gap_fill(tmp_path: Path, obama: Path) -> None:
    folder = tmp_path / "seq"
    source = loaded(MediaSource("src", {"path": str(obama), "start": 8, "end": 11}))
    sink = loaded(ImageSequenceSink("seq", {"path": str(folder), "digits": 4}))
    assert run(source, sink) == 3
    assert sorted(p.name for p in folder.iterdir()) == ["0008.png", "0009.png", "0010.png"]
    import cv2

    ref = MediaSource("ref", {"path": str(obama), "start": 9})
    ref.load(LoadContext("ref"))
    assert np.array_equal(cv2.imread(str(folder / "0009.png")), ref.process()["frame"].image)  # lossless
    ref.unload()

    jpgs = tmp_path / "jpg"
    image = cv2.imread(str(folder / "0008.png"))
    sizes = {}
    for quality in (30, 95):
        sink = loaded(
            ImageSequenceSink("seq", {"path": str(jpgs / str(quality)), "format": "jpg", "quality": quality})
        )  # fmt: skip  (gaps filled by default)
        for index in (3, 4, 7):
            sink.process(frame=Frame(image, index=index))
        names = sorted(p.name for p in (jpgs / str(quality)).iterdir())
        assert names == ["000003.jpg", "000004.jpg", "000005.jpg", "000006.jpg", "000007.jpg"]
        assert (jpgs / str(quality) / "000005.jpg").read_bytes() == (jpgs / str(quality) / "000004.jpg").read_bytes()
        sizes[quality] = (jpgs / str(quality) / "000003.jpg").stat().st_size
        assert sink.written == 5
    assert sizes[30] < sizes[95] / 2
    sink = loaded(ImageSequenceSink("seq", {"path": str(tmp_path / "gaps"), "fill_gaps": False}))
    for index in (3, 7):
        sink.process(frame=Frame(image, index=index))
    assert sorted(p.name for p in (tmp_path / "gaps").iterdir()) == ["000003.png", "000007.png"]


def test_image_sequence_refuses_a_file_or_the_input_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NodeLoadError, match="is a file"):
        loaded(ImageSequenceSink("seq", {"path": str(tmp_path / "file")}))
    sink = loaded(ImageSequenceSink("seq", {"path": str(tmp_path)}))
    with pytest.raises(NodeLoadError, match="is the input folder"):
        sink.process(frame=Frame(np.zeros((4, 4, 3), np.uint8), source=str(tmp_path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_face_data_never_overwrites_a_non_jsonl_file(tmp_path: Path, obama: Path) -> None:
    with pytest.raises(NodeLoadError, match=r"use a \.jsonl file name"):
        loaded(FaceDataSink("fd", {"path": str(obama)}))


# -- face data --------------------------------------------------------------------
def sample_faces() -> tuple[Face, ...]:
    kps = np.array([[210.4, 150.2], [260.9, 151.0], [235.5, 180.25], [215.0, 205.0], [255.0, 206.0]])
    landmarks = np.random.default_rng(0).uniform(100, 300, (68, 2))
    full = Face((180.0, 100.5, 290.25, 240.0), 0.98765, kps, track_id=3, landmarks=landmarks, pose=(12.5, -3.0, 1.25))
    bare = Face((10, 20, 50, 70), 0.5)
    nan_pose = Face((1.0, 2.0, 3.0, 4.0), 0.6, pose=(float("nan"), 0.0, 0.0))
    return full, bare, nan_pose


def test_face_data_lines_match_the_schema_and_are_flushed(tmp_path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(FACEDATA_SCHEMA)
    validator = jsonschema.Draft202012Validator(FACEDATA_SCHEMA)
    out = tmp_path / "data" / "faces.jsonl"
    sink = loaded(FaceDataSink("fd", {"path": str(out)}))
    image = np.zeros((388, 512, 3), np.uint8)
    sink.process(frame=Frame(image, index=30, fps=30.0, frame_count=259), faces=sample_faces())
    sink.process(frame=Frame(image, index=31, fps=30.0, frame_count=259), faces=())
    writing = out.with_name(f".{out.name}.writing")
    assert not out.exists()  # the output appears whole, at the end of the run
    lines = writing.read_text().splitlines()  # flushed as it goes, beside the output
    assert len(lines) == 2
    for line in lines:
        validator.validate(json.loads(line))
    first = json.loads(lines[0])
    assert (first["frame"], first["time"]) == (30, 1.0)
    full, bare, nan_pose = first["faces"]
    assert full["id"] == 3 and full["box"] == [180.0, 100.5, 290.25, 240.0] and full["score"] == 0.9877
    assert full["kps"][2] == [235.5, 180.25] and len(full["landmarks"]) == 68
    assert full["pose"] == {"yaw": 12.5, "pitch": -3.0, "roll": 1.25}
    assert (bare["kps"], bare["landmarks"], bare["pose"]) == (None, None, None)
    assert nan_pose["pose"] is None
    assert json.loads(lines[1])["faces"] == []
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**first, "faces": [{**full, "kps": [[1, 2]]}]})  # 5 key points or null
    sink.unload()
    sink.unload()
    assert out.read_text().splitlines() == lines and not writing.exists()


def test_face_data_times_of_a_live_source_start_at_zero(tmp_path: Path) -> None:
    sink = loaded(FaceDataSink("fd", {"path": str(tmp_path / "live.jsonl")}), live=True)
    for index, at in enumerate((100.0, 100.04, 100.1)):
        sink.process(frame=Frame(np.zeros((4, 4, 3), np.uint8), index=index, time=at), faces=())
    sink.unload()
    times = [json.loads(line)["time"] for line in (tmp_path / "live.jsonl").read_text().splitlines()]
    assert times == [0.0, 0.04, 0.1]

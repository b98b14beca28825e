"""Sinks that write files: a video (with the source's audio), an image sequence, face data (JSON Lines)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.node import LoadContext, Node, Param, Port, unwritable, warn_once
from nodeswap.nodes.ops.ffmpeg import FfmpegPipe, encode_command, mux_audio_command, probe_starts
from nodeswap.nodes.ops.video import IMAGE_EXTENSIONS, VIDEO_CONTAINERS, fit_size, gap_fill
from nodeswap.nodes.values import FaceDataSinkValues, ImageSequenceSinkValues, VideoSinkValues
from nodeswap.params import VIDEOS
from nodeswap.types import FACES, FRAME, Face, Frame

log = logging.getLogger(__name__)
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when both paths name the same file (resolving links and case where the OS does)."""
    try:
        if Path(a).exists() and Path(b).exists():
            return os.path.samefile(a, b)
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def output_path(node_id: str, value: str, kind: str) -> Path:
    """The output path of a sink, parents created; NodeLoadError when it cannot be."""
    if not str(value or "").strip():
        raise NodeLoadError(node_id, f"param 'path' is empty: set it to the output {kind}")
    path = Path(value).expanduser()
    target = path if kind == "folder" else path.parent
    problem = unwritable(target)
    if problem:
        raise NodeLoadError(node_id, f"param 'path': {problem}")
    return path


class VideoSink(Node):
    """Writes an H.264 video (ffmpeg) with the source's audio; OpenCV mp4v without ffmpeg."""

    type_id = "sink.video"
    key_params = ("path",)
    values: VideoSinkValues
    title = "Video file"
    category = "sink"
    inputs = (Port("frame", FRAME, "Frames to write"),)
    params = (
        Param("path", "path", "", required=True, must_exist=False, reload=True, extensions=VIDEOS, help="Output video"),
        Param("crf", "int", 18, min=0, max=51, help="H.264 quality: lower is better and bigger (used at start)"),
        Param("preset", "choice", "veryfast", choices=PRESETS, help="H.264 speed/size trade-off (used at start)"),
        Param("audio", "bool", True, help="Copy the source's audio track, in sync"),
        Param("fill_gaps", "bool", True, help="Repeat the previous frame for skipped frames, keeping the timing"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._out: Path | None = None
        self._partial: Path | None = None
        self._pipe: FfmpegPipe | None = None
        self._cv_writer: Any = None
        self._ffmpeg: str | None = None
        self._size, self._fps = (0, 0), 30.0
        self._source, self._first_index = "", 0
        self._last: Frame | None = None
        self._written = 0
        self._in_order = True

    def load(self, ctx: LoadContext) -> None:
        out = output_path(self.id, self.values["path"], "video file")
        if out.suffix.lower() not in VIDEO_CONTAINERS:
            raise NodeLoadError(self.id, f"output {out}: use one of {', '.join(VIDEO_CONTAINERS)}")
        if out.is_dir():
            raise NodeLoadError(self.id, f"output {out} is a folder: give a file name")
        if any(same_file(src, out) for src in ctx.source_paths):
            raise NodeLoadError(self.id, f"output {out} is the input file: choose another path")
        self._out = out
        self._ffmpeg = shutil.which("ffmpeg")
        if self._ffmpeg is None:
            warn_once(
                "no-ffmpeg",
                "ffmpeg is not on PATH: writing MPEG-4 (mp4v) video with OpenCV and no audio; "
                "install ffmpeg for H.264 and audio",
            )

    def _open(self, frame: Frame) -> None:
        assert self._out is not None
        if frame.source and same_file(frame.source, self._out):
            raise NodeLoadError(self.id, f"output {self._out} is the input file: choose another path")
        self._size = frame.size
        self._fps = frame.fps if frame.fps > 0 else 30.0
        self._source, self._first_index = frame.source, frame.index
        w, h = self._size
        if self._ffmpeg:
            self._partial = self._out.with_name(f".{self._out.stem}.partial{self._out.suffix}")
            v = self.values
            self._pipe = FfmpegPipe(encode_command(self._ffmpeg, self._partial, w, h, self._fps, v["crf"], v["preset"]))
        else:
            writer = cv2.VideoWriter(str(self._out), cv2.VideoWriter.fourcc(*"mp4v"), self._fps, (w, h))
            if not writer.isOpened():
                raise NodeLoadError(self.id, f"OpenCV cannot write {self._out}")
            self._cv_writer = writer

    def _write(self, image: np.ndarray) -> None:
        image = fit_size(image, self._size)
        if self._pipe is not None:
            self._pipe.write(image)
        else:
            self._cv_writer.write(image)
        self._written += 1

    def process(self, frame: Frame) -> dict[str, Any]:
        if self._pipe is None and self._cv_writer is None:
            self._open(frame)
        last = self._last
        if last is not None and frame.index <= last.index and self._in_order:
            self._in_order = False  # looped or seeked: the audio cannot follow
            self.warn("frames went back (loop or seek): the video gets no audio")
        if last is not None and self.values["fill_gaps"]:
            for _ in range(gap_fill(last.index, frame.index, limit=round(self._fps * 10))):
                self._write(last.image)
        self._write(frame.image)
        self._last = frame
        return {}

    def _audio_source(self) -> str | None:
        src = self._source
        if not (self.values["audio"] and self._ffmpeg and src and self._in_order):
            return None
        path = Path(src)
        return src if path.is_file() and path.suffix.lower() not in IMAGE_EXTENSIONS else None

    def unload(self) -> None:
        if self._cv_writer is not None:
            self._cv_writer.release()
            self._cv_writer = None
        pipe, self._pipe = self._pipe, None
        if pipe is None or self._out is None or self._partial is None:
            return
        code = pipe.close()
        if code != 0 or _frame_count(self._partial) < max(1, self._written - 1):  # mkv counts may round
            raise OSError(self._keep_partial(f"ffmpeg failed writing {self._out}: {pipe.message or 'no message'}"))
        audio = self._audio_source()
        if audio and self._mux(audio):
            self._partial.unlink(missing_ok=True)
        else:
            os.replace(self._partial, self._out)
        log.info("node '%s': wrote %d frames to %s", self.id, self._written, self._out)

    def _keep_partial(self, reason: str) -> str:
        """After a failed write: keep the frames on disk as NAME.partial.EXT, not the output; returns the message."""
        assert self._partial is not None and self._out is not None
        playable = _frame_count(self._partial)
        if playable <= 0:
            self._partial.unlink(missing_ok=True)
            return f"{reason}; nothing was written to {self._out}"
        kept = self._out.with_name(f"{self._out.stem}.partial{self._out.suffix}")
        os.replace(self._partial, kept)
        return f"{reason}; {playable} of {self._written} frames kept in {kept}"

    def _mux(self, source: str) -> bool:
        """Add ``source``'s audio to the written video; False when it has none or ffmpeg fails."""
        assert self._ffmpeg and self._partial and self._out
        has_audio, offset = probe_starts(shutil.which("ffprobe"), source)
        if not has_audio:
            return False
        start = self._first_index / self._fps + offset
        muxed = self._out.with_name(f".{self._out.stem}.muxed{self._out.suffix}")
        cmd = mux_audio_command(self._ffmpeg, self._partial, source, start, self._written / self._fps, muxed)
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=600, start_new_session=True)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("node '%s': could not add the audio of %s: %s", self.id, source, exc)
            muxed.unlink(missing_ok=True)
            return False
        if done.returncode != 0 or _frame_count(muxed) < max(1, self._written - 1):
            message = done.stderr.decode(errors="replace").strip()[-400:]
            log.warning("node '%s': could not add the audio of %s: %s", self.id, source, message)
            muxed.unlink(missing_ok=True)
            return False
        os.replace(muxed, self._out)
        return True


def _frame_count(path: Path) -> int:
    """Frames a video file holds as OpenCV opens it (0 when it cannot be opened or is missing)."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()


class ImageSequenceSink(Node):
    """Writes each frame as a numbered image (frame number from the source)."""

    type_id = "sink.images"
    key_params = ("path", "format")
    values: ImageSequenceSinkValues
    title = "Image sequence"
    category = "sink"
    inputs = (Port("frame", FRAME, "Frames to write"),)
    params = (
        Param("path", "path", "", required=True, must_exist=False, reload=True, help="Output folder"),
        Param("format", "choice", "png", choices=("png", "jpg"), help="Image format"),
        Param("quality", "int", 95, min=1, max=100, help="JPEG quality"),
        Param("digits", "int", 6, min=1, max=12, help="Zero-padded width of the frame number"),
        Param("fill_gaps", "bool", True, help="Copy the previous image for skipped frame numbers (as DeepFaceLive)"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._folder: Path | None = None
        self._last: tuple[int, Path] | None = None
        self.written = 0

    def load(self, ctx: LoadContext) -> None:
        folder = Path(str(self.values["path"] or "")).expanduser()
        if str(self.values["path"] or "").strip() and folder.is_file():
            raise NodeLoadError(self.id, f"output {folder} is a file: give a folder")
        self._folder = output_path(self.id, self.values["path"], "folder")
        if any(same_file(src, self._folder) for src in ctx.source_paths):
            raise NodeLoadError(self.id, f"output folder {self._folder} is the input folder: choose another")

    def name(self, index: int) -> Path:
        assert self._folder is not None
        return self._folder / f"{index:0{self.values['digits']}d}.{self.values['format']}"

    def process(self, frame: Frame) -> dict[str, Any]:
        if self._last is None and frame.source and same_file(frame.source, self._folder or ""):
            raise NodeLoadError(self.id, f"output folder {self._folder} is the input folder: choose another")
        fmt = self.values["format"]
        options = [cv2.IMWRITE_JPEG_QUALITY, self.values["quality"]] if fmt == "jpg" else []
        ok, data = cv2.imencode(f".{fmt}", frame.image, options)
        if not ok:
            raise RuntimeError(f"could not encode frame {frame.index} as {fmt}")
        path = self.name(frame.index)
        if self._last is not None and self.values["fill_gaps"]:
            last_index, last_path = self._last
            for i in range(gap_fill(last_index, frame.index, limit=100_000)):
                shutil.copyfile(last_path, self.name(last_index + 1 + i))
                self.written += 1
        data.tofile(str(path))
        self._last = (frame.index, path)
        self.written += 1
        return {}


def _point_list(points: Any, digits: int = 2) -> list[list[float]] | None:
    if points is None:
        return None
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(array).all():
        return None
    return [[round(float(x), digits), round(float(y), digits)] for x, y in array]


def face_record(face: Face) -> dict[str, Any]:
    """One face as a JSON-ready dict (see FACEDATA_SCHEMA)."""
    pose = None
    if face.pose is not None and all(np.isfinite(face.pose)):
        pose = dict(zip(("yaw", "pitch", "roll"), (round(float(v), 3) for v in face.pose), strict=True))
    return {
        "id": int(face.track_id),
        "box": [round(float(v), 2) for v in face.box],
        "score": round(float(face.score), 4),
        "kps": _point_list(face.kps),
        "landmarks": _point_list(face.landmarks),
        "pose": pose,
    }


_NUMBER = {"type": "number"}
_POINT = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}
_POINTS = {"type": "array", "items": {"$ref": "#/$defs/point"}}
_POSE = {
    "type": "object",
    "required": ["yaw", "pitch", "roll"],
    "additionalProperties": False,
    "properties": {"yaw": _NUMBER, "pitch": _NUMBER, "roll": _NUMBER},
}
FACEDATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "nodeswap face data: one JSON Lines record per frame",
    "type": "object",
    "required": ["frame", "time", "faces"],
    "additionalProperties": False,
    "properties": {
        "frame": {"type": "integer", "minimum": 0, "description": "frame number in the source"},
        "time": {"type": "number", "description": "seconds: media time (file sources) or since the first frame"},
        "faces": {"type": "array", "items": {"$ref": "#/$defs/face"}},
    },
    "$defs": {
        "point": _POINT,
        "face": {
            "type": "object",
            "required": ["id", "box", "score", "kps", "landmarks", "pose"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "description": "track id, stable across frames"},
                "box": {"type": "array", "items": _NUMBER, "minItems": 4, "maxItems": 4, "description": "x1,y1,x2,y2"},
                "score": _NUMBER,
                "kps": {"oneOf": [{"type": "null"}, {**_POINTS, "minItems": 5, "maxItems": 5}]},
                "landmarks": {"oneOf": [{"type": "null"}, {**_POINTS, "minItems": 1}]},
                "pose": {"oneOf": [{"type": "null"}, _POSE]},
            },
        },
    },
}


class FaceDataSink(Node):
    """Writes the faces of each frame as one JSON line (box, score, key points, landmarks, pose)."""

    type_id = "sink.facedata"
    key_params = ("path",)
    values: FaceDataSinkValues
    title = "Face data (JSON Lines)"
    category = "sink"
    inputs = (Port("frame", FRAME, "The frame the faces belong to"), Port("faces", FACES, "Faces to record"))
    params = (
        Param("path", "path", "", required=True, must_exist=False, reload=True, extensions=(".jsonl",), help="Output"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._file: TextIO | None = None
        self._path: Path | None = None  # the output, replaced once the run has written every line
        self._failed = ""
        self._t0: float | None = None
        self.lines = 0

    def load(self, ctx: LoadContext) -> None:
        path = output_path(self.id, self.values["path"], "file")
        if path.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
            raise NodeLoadError(self.id, f"output {path}: use a .jsonl file name (never overwrites other files)")
        self._path, self._failed = path, ""
        try:
            self._file = open(self._writing(), "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed in unload
        except OSError as exc:
            raise NodeLoadError(self.id, f"cannot write {path}: {exc.strerror or exc}") from None

    def _writing(self) -> Path:
        assert self._path is not None
        return self._path.with_name(f".{self._path.name}.writing")

    def record(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        """The line for one frame, as a dict."""
        if frame.frame_count > 0 and frame.fps > 0:
            seconds = frame.index / frame.fps
        else:
            self._t0 = frame.time if self._t0 is None else self._t0
            seconds = frame.time - self._t0
        return {"frame": int(frame.index), "time": round(seconds, 4), "faces": [face_record(f) for f in faces]}

    def process(self, frame: Frame, faces: tuple[Face, ...] = ()) -> dict[str, Any]:
        if self._file is None:
            raise RuntimeError("face data file is closed")
        try:
            self._file.write(json.dumps(self.record(frame, faces), separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as exc:
            self._failed = f"cannot write {self._path}: {exc.strerror or exc}"
            raise
        self.lines += 1
        return {}

    def unload(self) -> None:
        file, self._file = self._file, None
        if file is None or self._path is None:
            return
        try:
            file.close()
        except OSError as exc:
            self._failed = self._failed or f"cannot write {self._path}: {exc.strerror or exc}"
        if not self._failed:
            os.replace(self._writing(), self._path)
            return
        kept = self._path.with_name(f"{self._path.stem}.partial{self._path.suffix}")
        os.replace(self._writing(), kept)  # the lines written are valid JSON Lines; an earlier output is kept
        raise OSError(f"{self._failed}; the lines written are in {kept}")


NODE_TYPES = [VideoSink, ImageSequenceSink, FaceDataSink]

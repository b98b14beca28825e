"""ffmpeg command lines and a child-process pipe for the video and stream sinks."""

from __future__ import annotations

import math
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np


# -- command lines -----------------------------------------------------------------
def fps_fraction(fps: float) -> str:
    """A rate for ffmpeg's ``-r``: 29.97002997 -> "30000/1001", 30.0 -> "30"."""
    if not fps or fps <= 0 or not math.isfinite(fps):
        fps = 30.0
    rate = Fraction(fps).limit_denominator(1001)
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def raw_input_args(width: int, height: int, fps: float, wallclock: bool = False) -> list[str]:
    """ffmpeg input options for raw BGR frames on stdin."""
    args = ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", fps_fraction(fps)]
    if wallclock:
        args = ["-use_wallclock_as_timestamps", "1", *args]
    return [*args, "-i", "-"]


def even_pad_args(width: int, height: int) -> list[str]:
    """yuv420p needs even sizes: pad one pixel when a side is odd."""
    if width % 2 == 0 and height % 2 == 0:
        return []
    return ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]


def encode_command(ffmpeg: str, out: Path, width: int, height: int, fps: float, crf: int, preset: str) -> list[str]:
    """Raw BGR on stdin -> H.264 (libx264, yuv420p) in ``out``, constant frame rate."""
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        *raw_input_args(width, height, fps),
        "-an", *even_pad_args(width, height),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        str(out),
    ]  # fmt: skip


def mux_audio_command(
    ffmpeg: str, video: Path, audio_source: str, start_s: float, duration_s: float, out: Path
) -> list[str]:
    """Copy ``video``'s stream and add ``audio_source``'s audio from ``start_s`` for ``duration_s``.

    The audio is cut to the video's length (no frame is added or lost) and
    re-encoded to AAC so any source audio fits the container.
    """
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", str(video),
        "-ss", f"{max(0.0, start_s):.6f}", "-t", f"{duration_s:.6f}", "-i", audio_source,
        "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k",
        "-shortest", str(out),
    ]  # fmt: skip


def stream_command(
    ffmpeg: str, width: int, height: int, fps: float, url: str, codec: str, bitrate_kbps: int
) -> list[str]:
    """Raw BGR on stdin -> MPEG-TS at ``url`` (udp://...), low latency, wall-clock timestamps."""
    if codec == "h264":
        video = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p"]
    else:
        video = ["-c:v", "mpeg2video", "-pix_fmt", "yuv420p"]
    gop = str(max(1, round(fps or 30)))  # a key frame each second so a receiver can join
    rate = f"{bitrate_kbps}k"
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
        *raw_input_args(width, height, fps, wallclock=True),
        "-an", *even_pad_args(width, height), *video,
        "-b:v", rate, "-maxrate", rate, "-bufsize", f"{bitrate_kbps // 2 or 1}k", "-g", gop,
        "-vsync", "passthrough", "-flush_packets", "1", "-f", "mpegts", url,
    ]  # fmt: skip


def udp_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"udp://{host}:{port}?pkt_size=1316"


class FfmpegPipe:
    """An ffmpeg child reading raw frames on stdin. Immune to Ctrl-C in the terminal
    (own session), so the caller can always close its stdin and let it finish the file."""

    def __init__(self, command: list[str]) -> None:
        self._log: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True
        )

    def write(self, image: np.ndarray) -> None:
        assert self.proc.stdin is not None  # opened with stdin=PIPE
        try:
            self.proc.stdin.write(np.ascontiguousarray(image).data)
        except (BrokenPipeError, OSError, ValueError):
            self.proc.wait(timeout=10)
            raise RuntimeError(f"ffmpeg stopped (exit {self.proc.returncode}): {self.tail()}") from None

    message = ""  # ffmpeg's last words, kept after close()

    def tail(self) -> str:
        if self._log.closed:
            return self.message or "no message"
        self._log.seek(0)
        text = self._log.read().decode(errors="replace").strip()
        return text[-600:] or "no message"

    def close(self, timeout: float = 120.0) -> int:
        """Close stdin, wait for ffmpeg to write the file; returns its exit code."""
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.message = self.tail()
        self._log.close()
        return code


def probe_starts(ffprobe: str | None, source: str) -> tuple[bool, float]:
    """(has audio, video start - audio start in seconds) of a media file; (True, 0) when unknown."""
    if not ffprobe:
        return True, 0.0
    cmd = [ffprobe, "-v", "error", "-show_entries", "stream=codec_type,start_time", "-of", "csv=p=0", source]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, start_new_session=True).stdout
    except (OSError, subprocess.SubprocessError):
        return True, 0.0
    starts: dict[str, float] = {}
    for line in out.splitlines():
        kind, _, start = line.partition(",")
        try:
            starts.setdefault(kind, float(start))
        except ValueError:
            starts.setdefault(kind, 0.0)
    return "audio" in starts, starts.get("video", 0.0) - starts.get("audio", 0.0)

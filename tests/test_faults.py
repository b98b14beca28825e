"""Faults a user meets, through the real command line: bad files, a disk that fills up, a read-only folder,
SIGTERM and Ctrl-C in the middle of a render. Each run must say what went wrong in one line, exit with the
documented code and leave no corrupt file under the output's name."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodeswap.cli import main
from tests.test_presets import ffprobe_frames

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.media


def run_cli(*args: str, env_dirs: tuple[Path, Path]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NODESWAP_MODELS": str(env_dirs[0]), "NODESWAP_MEDIA": str(env_dirs[1])}
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def swap_args(media: Path, source: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "graphs/video_swap.json",
        "--offline",
        "--set",
        f"source.path={source}",
        "--set",
        f"swapper.source_image={media / 'photos' / '000007.jpg'}",
        "--set",
        f"sink.path={out}",
        *extra,
    ]


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors, stderr
    return errors[0]


@pytest.fixture
def dirs(models_dir: Path, media_dir: Path) -> tuple[Path, Path]:
    return models_dir, media_dir


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 120 KB tmpfs: a render of a few seconds fills it. Skipped where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); CI runs as root and can")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_graph_that_is_not_text_is_a_user_error(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    video = tmp_path / "clip.json"
    video.write_bytes((dirs[1] / "videos" / "Obama_speaking.mp4").read_bytes()[:4000])
    done = run_cli("run", str(video), env_dirs=dirs)
    assert done.returncode == 2
    assert str(video) in one_error_line(done.stderr) and "UTF-8" in done.stderr


def test_an_input_that_yields_no_frame_fails_naming_the_file(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes((dirs[1] / "clips" / "Rob_Doe.png").read_bytes())
    done = run_cli(*swap_args(dirs[1], fake, tmp_path / "out.mp4"), env_dirs=dirs)
    assert done.returncode == 2
    assert str(fake) in one_error_line(done.stderr)
    assert not (tmp_path / "out.mp4").exists()


def test_a_stats_file_that_cannot_be_written_is_refused_before_the_run(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    began = time.monotonic()
    done = run_cli(
        *swap_args(dirs[1], dirs[1] / "videos" / "Obama_speaking.mp4", tmp_path / "out.mp4"),
        "--stats",
        str(blocker / "stats.json"),
        env_dirs=dirs,
    )
    assert done.returncode == 2
    assert "--stats" in one_error_line(done.stderr)
    assert not (tmp_path / "out.mp4").exists()  # nothing was rendered
    assert time.monotonic() - began < 20


def test_a_read_only_output_folder_is_refused_at_load(
    small_disk: Path, tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    done = run_cli(
        *swap_args(dirs[1], dirs[1] / "videos" / "Obama_speaking.mp4", small_disk / "out.mp4"), env_dirs=dirs
    )
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert "sink" in line and str(small_disk) in line
    assert "frames in" not in done.stderr  # refused before the first frame


def test_a_full_disk_leaves_the_earlier_output_untouched(small_disk: Path, dirs: tuple[Path, Path]) -> None:
    out = small_disk / "out.mp4"
    out.write_bytes(b"an earlier good render")
    done = run_cli(*swap_args(dirs[1], dirs[1] / "videos" / "Obama_speaking.mp4", out), env_dirs=dirs)
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert str(out) in line and "No space left" in done.stderr
    assert out.read_bytes() == b"an earlier good render"
    assert not [p for p in small_disk.iterdir() if p.name.startswith(".")]  # no hidden half file left


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_render_finalises_a_playable_file(
    sent: signal.Signals, code: int, tmp_path: Path, dirs: tuple[Path, Path], ffmpeg: str
) -> None:
    out = tmp_path / "out.mp4"
    source = dirs[1] / "videos" / "Ben_Stiller_Owen_Wilson.mp4"  # has audio: it must be cut to match
    env = {**os.environ, "NODESWAP_MODELS": str(dirs[0]), "NODESWAP_MEDIA": str(dirs[1])}
    process = subprocess.Popen(
        [sys.executable, "run.py", *swap_args(dirs[1], source, out)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(random.uniform(4.0, 7.0))  # a random frame, after the models have loaded
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    said = next(line for line in stderr.splitlines() if line.startswith("stopped:"))
    frames = int(said.split()[1])
    assert frames > 0
    assert ffprobe_frames(out) == frames
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_as_a_graph_exit_0_or_2_never_1(tmp_path: Path, data: bytes) -> None:
    graph = tmp_path / "graph.json"
    graph.write_bytes(data)
    assert main(["run", str(graph)]) in (0, 2)


def test_a_truncated_model_is_named_with_its_path_and_the_fetch_command(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    models = tmp_path / "models"
    shutil.copytree(dirs[0], models)
    mesh = models / "FaceMesh.onnx"
    mesh.write_bytes(mesh.read_bytes()[:50_000])
    listed = run_cli("models", env_dirs=(models, dirs[1]))
    assert listed.returncode == 2
    row = next(line for line in listed.stdout.splitlines() if line.startswith("facemesh"))
    assert "CORRUPT" in row and "models fetch facemesh" in row
    done = run_cli(
        *swap_args(dirs[1], dirs[1] / "videos" / "Obama_speaking.mp4", tmp_path / "o.mp4"), env_dirs=(models, dirs[1])
    )
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert "FaceMesh.onnx" in line and str(mesh) in line and "models fetch facemesh" in line
    verified = run_cli("models", "verify", env_dirs=(dirs[0], dirs[1]))
    assert verified.returncode == 0 and "CORRUPT" not in verified.stdout


def test_every_missing_model_is_named_at_once(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    empty = tmp_path / "no_models"
    empty.mkdir()
    done = run_cli(
        *swap_args(dirs[1], dirs[1] / "videos" / "Obama_speaking.mp4", tmp_path / "o.mp4"), env_dirs=(empty, dirs[1])
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert any("'detector'" in e and "models fetch" in e for e in errors)
    assert any("'marker'" in e and "models fetch facemesh" in e for e in errors)


def test_a_preview_window_closes_when_the_run_ends(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        pytest.skip("xvfb-run is not installed (CI installs xvfb)")
    env = {**os.environ, "NODESWAP_MODELS": str(dirs[0]), "NODESWAP_MEDIA": str(dirs[1])}
    args = ["run", "graphs/face_debug.json", "--frames", "40", "--set", "preview.window=true"]
    args += ["--set", f"source.path={dirs[1] / 'videos' / 'Obama_speaking.mp4'}"]
    args += ["--set", f"faces.path={tmp_path / 'faces.jsonl'}"]
    done = subprocess.run(
        [xvfb, "-a", sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "done: 40 frames" in done.stderr


def test_a_bug_exits_1_with_the_traceback_in_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nodeswap.cli as cli

    def broken(args: object) -> int:
        raise RuntimeError("a bug on purpose")

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "nodes", broken)
    assert main(["nodes"]) == 1
    said = capsys.readouterr().err
    assert "Traceback" not in said and "a bug on purpose" in said
    log_file = Path(said.strip().rsplit("details in ", 1)[1])
    assert log_file.is_file() and "RuntimeError: a bug on purpose" in log_file.read_text()


def test_validate_names_every_missing_model_with_its_fetch_command(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    empty = tmp_path / "no_models"
    empty.mkdir()
    done = run_cli("validate", "graphs/inswapper_swap.json", env_dirs=(empty, dirs[1]))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for name in ("yunet_dynamic", "facemesh", "inswapper_128", "w600k_r50"):
        assert f"models fetch {name}" in done.stderr, name
    present = run_cli("validate", "graphs/video_swap.json", env_dirs=dirs)
    assert "models fetch" not in present.stderr  # only the empty paths are named


def test_face_data_on_a_full_disk_keeps_the_earlier_file_and_the_lines_written(
    small_disk: Path, dirs: tuple[Path, Path]
) -> None:
    out = small_disk / "faces.jsonl"
    out.write_text('{"earlier": true}\n')
    args = ["run", "graphs/face_debug.json", "--set", f"source.path={dirs[1] / 'videos' / 'Obama_speaking.mp4'}"]
    done = run_cli(*args, "--set", f"faces.path={out}", env_dirs=dirs)
    assert done.returncode == 2
    assert str(out) in one_error_line(done.stderr) and "No space left" in done.stderr
    assert out.read_text() == '{"earlier": true}\n'
    kept = small_disk / "faces.partial.jsonl"
    lines = kept.read_text().splitlines()
    assert lines and all(json.loads(line)["faces"] is not None for line in lines[:-1])  # the last may be cut

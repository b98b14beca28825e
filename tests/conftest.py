"""Shared fixtures. Real models and media come from NODESWAP_MODELS / NODESWAP_MEDIA.

Outside CI a test that needs them skips with a reason; under CI=true a missing
folder is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _folder(variable: str, probe: str) -> Path:
    value = os.environ.get(variable, "")
    folder = Path(value.split(os.pathsep)[0]) if value else None
    if folder is not None and (folder / probe).exists():
        return folder
    reason = f"{variable} is not set to a folder holding {probe}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of a program the test runs (ffmpeg, ffprobe): a skip when it is missing, a failure under CI."""
    import shutil

    found = shutil.which(name)
    if found:
        return found
    reason = f"{name} is not on PATH (install ffmpeg)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """ffmpeg and ffprobe, or a skip (a failure under CI)."""
    require_tool("ffprobe")
    return require_tool("ffmpeg")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """../shared/models: the real ONNX models."""
    return _folder("NODESWAP_MODELS", "FaceMesh.onnx")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """../shared/media: real videos and photos."""
    return _folder("NODESWAP_MEDIA", "videos/Obama_speaking.mp4")


@pytest.fixture(scope="session")
def obama(media_dir: Path) -> Path:
    return media_dir / "videos" / "Obama_speaking.mp4"


@pytest.fixture(scope="session")
def photos(media_dir: Path) -> list[Path]:
    return sorted((media_dir / "photos").glob("*.jpg"))

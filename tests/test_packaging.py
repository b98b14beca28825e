"""The wheel installs one namespace, and the test lock and pyproject.toml agree."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_installs_nothing_but_nodeswap(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("nodeswap-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"nodeswap"}
    for needed in ("nodeswap/nodes/ops/align.py", "nodeswap/trainer/recipes/quick.json", "nodeswap/models.json"):
        assert needed in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "sources = nodeswap.nodes.sources" in text and "nodeswap = nodeswap.cli:main" in text


def test_the_lock_pins_every_extra_the_test_command_installs() -> None:
    lock = (ROOT / "requirements" / "test.txt").read_text()
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", lock, re.M)}
    for package in ("numpy", "opencv-python", "onnxruntime", "torch", "ray", "ruff", "mypy", "dearpygui", "pytest"):
        assert package in pinned, package
    assert "--hash=sha256:" in lock
    assert "--index-url" not in lock and "--extra-index-url" not in lock  # PyPI only
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- test-command -->", 1)[1].split("```")[1].strip()
    assert command.startswith("pip install -r requirements/test.txt") and "\n" not in command

"""DeepFaceLive parity: every control of its pipeline (tests/deepfacelive_params.py) is in `run.py nodes --json`
with the same default and range, or with a documented mapping; docs/DEEPFACELIVE.md is the table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deepfacelive_params import CONTROLS, Control, markdown

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def described() -> dict[str, dict[str, dict[str, Any]]]:
    """node type -> param name -> its description, as the CLI prints them."""
    out = subprocess.run(
        [sys.executable, "run.py", "nodes", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {node["type"]: {p["name"]: p for p in node["params"]} for node in json.loads(out)}


def ours(row: Control, described: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    node_type, _, name = row.ours.partition(" ")
    assert node_type in described, f"{row.stage}.{row.name}: no node type {node_type}"
    assert name in described[node_type], f"{row.stage}.{row.name}: {node_type} has no param {name}"
    return described[node_type][name]


@pytest.mark.parametrize("row", CONTROLS, ids=[f"{r.stage}.{r.name}" for r in CONTROLS])
def test_each_deepfacelive_control_is_here(row: Control, described: dict[str, dict[str, dict[str, Any]]]) -> None:
    if not row.ours:
        assert row.note, f"{row.stage}.{row.name} maps to no param: the note must say where it is"
        return
    param = ours(row, described)
    if row.note:
        return  # a documented mapping
    mapped = row.choice_map.get(row.default, row.default)
    assert param["default"] == mapped, f"{row.stage}.{row.name}: default {param['default']!r}, DeepFaceLive {mapped!r}"
    if row.low is not None:
        assert (param["min"], param["max"]) == (row.low, row.high), f"{row.stage}.{row.name}: range differs"
    for choice in row.choices:
        assert row.choice_map.get(choice, choice) in param["choices"], f"{row.stage}.{row.name}: no {choice}"


def test_the_table_covers_every_stage_and_most_controls_match_exactly() -> None:
    stages = {row.stage for row in CONTROLS}
    assert stages == {
        "CameraSource", "FileSource", "FaceDetector", "FaceMarker", "FaceAligner", "FaceSwapDFM",
        "FaceSwapInsight", "FaceAnimator", "FrameAdjuster", "FaceMerger", "StreamOutput",
    }  # fmt: skip
    exact = [row for row in CONTROLS if row.ours and not row.note]
    assert len(CONTROLS) >= 85 and len(exact) >= 43


def test_buttons_are_buttons(described: dict[str, dict[str, dict[str, Any]]]) -> None:
    buttons = ("open_settings", "save_settings", "load_settings", "reset_reference_pose")
    for row in CONTROLS:
        if row.name in buttons:
            assert ours(row, described)["type"] == "signal", row.name


def test_the_users_mapping_page_is_the_table() -> None:
    page = (ROOT / "docs" / "DEEPFACELIVE.md").read_text(encoding="utf-8")
    assert page == markdown(), "regenerate it: python -m tests.deepfacelive_params > docs/DEEPFACELIVE.md"

"""The merge.faces node against DeepFaceLive's own FaceMerger results (media/dfl_reference): the same crop, matrix,
masks and swapped face give the same merged frame, for each of DeepFaceLive's merger settings there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.mergers import FaceMerger
from nodeswap.nodes.ops import blend
from nodeswap.types import Aligned, Face, Frame, Swapped


@pytest.fixture(scope="module")
def reference(media_dir: Path) -> tuple[Path, dict[str, Any]]:
    folder = media_dir / "dfl_reference"
    return folder, json.loads((folder / "index.json").read_text())


def merge_face(folder: Path, case: dict[str, Any]) -> Face:
    data = np.load(folder / case["npz"])
    crop = cv2.imread(str(folder / case["crop"]))
    size = crop.shape[0]
    aligned = Aligned(
        image=crop, mat=data["mat"], inverse=data["mat_crop_to_frame"], size=size, mask=data["mask_lmrks"] / 255.0
    )
    swapped = Swapped(
        cv2.imread(str(folder / case["swap"])),
        mask=data["mask_swap"].astype(np.float32) / 255.0,
        target_mask=data["mask_face"].astype(np.float32) / 255.0,
    )
    return Face(box=(0.0, 0.0, 1.0, 1.0), aligned=aligned, swapped=swapped)


def test_every_reference_merge_meets_deepfacelives_tolerance(reference: tuple[Path, dict[str, Any]]) -> None:
    folder, index = reference
    tol = index["tolerances"]["merged_mean_abs_in_face"]
    cases = [c for c in index["cases"] if c["kind"] == "merge"]
    assert len(cases) == 6 * 8
    worst: dict[str, float] = {}
    for case in cases:
        params = {k.split(".")[-1]: v for k, v in index["merger_settings"][case["setting"]]["project"].items()}
        node = FaceMerger("merger", params)
        node.load(LoadContext("merger"))
        frame = cv2.imread(str(folder / case["frame_png"]))
        merged = node.process(frame=Frame(frame), faces=(merge_face(folder, case),))["frame"].image
        x0, y0, x1, y1 = case["window_x0y0x1y1"]
        theirs = cv2.imread(str(folder / case["merged"]))
        region = np.load(folder / case["npz"])["face_region"].astype(bool)
        diff = np.abs(merged[y0:y1, x0:x1].astype(int) - theirs.astype(int))[region]
        worst[case["setting"]] = max(worst.get(case["setting"], 0.0), float(diff.mean()))
        outside = np.ones(frame.shape[:2], bool)
        outside[y0:y1, x0:x1] = False
        change = np.abs(merged.astype(int) - frame.astype(int))[outside]
        assert change.max() <= case["outside_window_max_abs_diff_to_frame"], case["setting"]
    assert set(worst) == set(index["merger_settings"])
    for setting, mad in worst.items():
        assert mad <= tol, (setting, mad)


def test_deepfacelives_erode_and_blur_on_a_padded_mask() -> None:
    square = np.zeros((100, 100), np.float32)
    square[20:80, 20:80] = 1.0
    for erode, edge in ((1, 1), (3, 1), (4, 2), (10, 5), (-10, -5), (-3, -1)):
        out = blend.erode_blur(square, erode, 0)
        rows = np.flatnonzero(out[:, 50] > 0.5)
        assert (rows[0], rows[-1]) == (20 + edge, 79 - edge), erode
    full = blend.erode_blur(np.ones((100, 100), np.float32), 0, 40)
    assert full[:20].max() < 0.5 and full[50, 50] > 0.99  # blur // 2 = 20 pixels cleared at the edge, then blurred
    wide = np.ones((100, 100), np.float32)
    assert np.array_equal(blend.erode_blur(wide, 0, 0), wide)


def test_colour_compression_lifts_each_level_by_two_steps_as_deepfacelive() -> None:
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :, None].repeat(3, 2)
    out = blend.color_compress(ramp, 119.0)  # 8 levels, each raised by 2 / 8 (1.0 itself is a ninth)
    assert np.allclose(np.unique(out), np.arange(9) / 8 + 2 / 8)
    centred = blend.color_compress(ramp, 119.0, "centred")
    assert np.allclose(np.unique(centred)[:8], np.arange(8) / 8 + 0.5 / 8)
    eight = blend.color_compress((ramp * 255).astype(np.uint8), 1.0)
    expected = blend.to_uint8_truncated(blend.color_compress(blend.to_float((ramp * 255).astype(np.uint8)), 1.0))
    assert np.array_equal(eight, expected)

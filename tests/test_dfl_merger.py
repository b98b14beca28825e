"""The merge.faces node against DeepFaceLive's own FaceMerger results (media/dfl_reference): the same crop, matrix,
masks and swapped face give the same merged frame, for each of DeepFaceLive's merger settings there."""

from __future__ import annotations

import json
from dataclasses import replace
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


def test_deepfacelives_blur_clears_half_its_size_at_the_crop_edge() -> None:
    # the erode steps are tested in test_merger.py (test_erode_moves_the_edge_half_a_pixel_per_step...)
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


# -- settings the stored reference does not cover, against DeepFaceLive's CPU merge written out from its source
# (FaceMerger._merge_on_cpu and on_tick, ImageProcessor.erode_blur / rct / warp_affine, Affine2DUniMat), plainly
# and independently of nodeswap/nodes/ops/blend.py.


def dfl_mat(crop_to_frame: np.ndarray, size: int, shape: tuple[int, ...], x: float, y: float, s: float) -> np.ndarray:
    """on_tick's crop -> frame matrix: the uniform one translated by (-x, -y), scaled about the centre, exact."""
    h, w = shape[:2]
    base = np.float32([(0, 0), (1, 0), (0, 1)])

    def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts @ m[:, :2].T + m[:, 2], np.float32)

    def pairs(src: Any, dst: Any) -> np.ndarray:  # Affine2DMat.from_3_pairs: float32 points
        return cv2.getAffineTransform(np.float32(src), np.float32(dst)).astype(np.float64)

    uni = pairs(base, apply(crop_to_frame, base * size) / (w, h))
    uni = pairs(base + np.float32((-x, -y)), apply(uni, base))
    uni = pairs((base - 0.5) / np.float32(s) + 0.5, apply(uni, base))
    return pairs(base * size, apply(uni, base) * (w, h))


def dfl_merge(
    frame: np.ndarray,
    crop: np.ndarray,
    swap: np.ndarray,
    masks: list[np.ndarray],
    mat: np.ndarray,
    s: dict[str, Any],
    compress: bool,
) -> np.ndarray:
    """One face merged into ``frame`` (uint8 or float32) as DeepFaceLive's CPU path does; float32 out."""
    h, w = frame.shape[:2]
    size = crop.shape[0]
    img = frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame
    mask = np.ones((size, size), np.float32)
    for m in masks:
        mask = mask * (m.astype(np.float32) / 255.0)
    erode, blur = s["erode"], s["blur"]
    pad = np.pad(mask, ((size, size), (size, size)))
    el = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    if erode > 0:
        pad = cv2.erode(pad, el, iterations=max(1, erode // 2))
    elif erode < 0:
        pad = cv2.dilate(pad, el, iterations=max(1, -erode // 2))
    c = size + blur // 2
    pad[:c], pad[-c:], pad[:, :c], pad[:, -c:] = 0, 0, 0, 0
    if blur > 0:
        pad = cv2.GaussianBlur(pad, (0, 0), blur * 0.125 * 2)
    mask = pad[size:-size, size:-size]
    alpha = cv2.warpAffine(mask, mat, (w, h), flags=cv2.INTER_LINEAR)
    alpha = np.where(alpha <= 1.0 / 255.0, 0.0, np.minimum(alpha, 1.0)).astype(np.float32)[..., None]
    face = swap.astype(np.float32) / 255.0
    if s["color_transfer"] == "rct":
        lab = cv2.cvtColor(face, cv2.COLOR_BGR2LAB)
        like = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)
        a, b = lab.copy(), like.copy()
        a[mask < 0.5], b[mask < 0.5] = 0, 0
        lab = (lab - a.mean((0, 1))) * b.std((0, 1)) / a.std((0, 1)) + b.mean((0, 1))
        lab = np.clip(lab, [0, -127, -127], [100, 127, 127]).astype(np.float32)
        face = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    inter = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
    face = cv2.warpAffine(face, mat, (w, h), flags=inter[s["interpolation"]])
    o = np.float32(s["opacity"])
    out = img * (1 - alpha) + (face * alpha if o == 1.0 else img * alpha * (1 - o) + face * alpha * o)
    if compress and s["color_compression"] != 0:
        cc = max(4, 127.0 - s["color_compression"])
        out = np.floor(out * cc) / cc + 2.0 / cc
    return out.astype(np.float32)


MORE_SETTINGS = {
    "offsets_scale": {"face_x_offset": 0.06, "face_y_offset": -0.04, "face_scale": 1.12},
    "scale_down_lanczos": {"face_scale": 0.9, "interpolation": "lanczos"},
    "celeb_mask_only": {"mask_target": False},
    "source_mask_only": {"mask_swap": False},
    "every_mask": {"mask_hull": True},
    "no_mask": {"mask_target": False, "mask_swap": False, "erode": 7, "blur": 0},
    "erode_3_blur_9": {"erode": 3, "blur": 9},
    "strong_compression": {"color_compression": 60.0, "opacity": 0.3},
    "most_compression": {"color_compression": 127.0, "color_transfer": "none"},
}
DFL_DEFAULTS = {
    "face_x_offset": 0.0,
    "face_y_offset": 0.0,
    "face_scale": 1.0,
    "mask_target": True,
    "mask_swap": True,
    "mask_hull": False,
    "erode": 5,
    "blur": 25,
    "color_transfer": "rct",
    "interpolation": "bilinear",
    "color_compression": 1.0,
    "opacity": 1.0,
}


def dfl_masks(data: Any, s: dict[str, Any]) -> list[np.ndarray]:
    pairs = (("mask_target", "mask_face"), ("mask_swap", "mask_swap"), ("mask_hull", "mask_lmrks"))
    return [data[key] for flag, key in pairs if s[flag]]


@pytest.mark.parametrize("name", sorted(MORE_SETTINGS))
def test_other_settings_as_deepfacelives_merge(reference: tuple[Path, dict[str, Any]], name: str) -> None:
    folder, index = reference
    s = {**DFL_DEFAULTS, **MORE_SETTINGS[name]}
    node = FaceMerger("merger", s)
    node.load(LoadContext("merger"))
    for case in [c for c in index["cases"] if c["kind"] == "merge" and c["setting"] == "defaults"][:3]:
        data = np.load(folder / case["npz"])
        frame = cv2.imread(str(folder / case["frame_png"]))
        face = merge_face(folder, case)
        size = face.aligned.size if face.aligned else 0
        mat = dfl_mat(
            data["mat_crop_to_frame"], size, frame.shape, s["face_x_offset"], s["face_y_offset"], s["face_scale"]
        )
        theirs = blend.to_uint8_truncated(
            dfl_merge(
                frame,
                cv2.imread(str(folder / case["crop"])),
                cv2.imread(str(folder / case["swap"])),
                dfl_masks(data, s),
                mat,
                s,
                compress=True,
            )
        )
        merged = node.process(frame=Frame(frame), faces=(face,))["frame"].image
        diff = np.abs(merged.astype(int) - theirs.astype(int))
        assert diff.mean() <= 0.05 and diff.max() <= 4, (name, case["frame"], diff.mean(), diff.max())
        assert np.abs(merged.astype(int) - frame.astype(int)).mean() > 0.3  # the setting did change the frame


def test_two_faces_compressed_once_after_the_last(reference: tuple[Path, dict[str, Any]]) -> None:
    folder, index = reference
    case = next(c for c in index["cases"] if c["kind"] == "merge" and c["setting"] == "defaults")
    data = np.load(folder / case["npz"])
    frame = cv2.imread(str(folder / case["frame_png"]))
    first = merge_face(folder, case)
    assert first.aligned is not None
    shift = np.array([[0.0, 0.0, 150.0], [0.0, 0.0, 20.0]])
    moved = np.asarray(data["mat_crop_to_frame"]) + shift
    second = replace(first, aligned=replace(first.aligned, inverse=moved, mat=cv2.invertAffineTransform(moved)))
    node = FaceMerger("merger", DFL_DEFAULTS)
    node.load(LoadContext("merger"))
    merged = node.process(frame=Frame(frame), faces=(first, second))["frame"].image
    crop, swap = cv2.imread(str(folder / case["crop"])), cv2.imread(str(folder / case["swap"]))
    masks = dfl_masks(data, DFL_DEFAULTS)
    size = crop.shape[0]
    out = frame
    for i, inverse in enumerate((data["mat_crop_to_frame"], moved)):
        mat = dfl_mat(inverse, size, frame.shape, 0.0, 0.0, 1.0)
        out = dfl_merge(out, crop, swap, masks, mat, DFL_DEFAULTS, compress=i == 1)
    diff = np.abs(merged.astype(int) - blend.to_uint8_truncated(out).astype(int))
    assert diff.mean() <= 0.05 and diff.max() <= 4, (diff.mean(), diff.max())

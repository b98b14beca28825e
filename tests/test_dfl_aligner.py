"""The align.face node against DeepFaceLive's own FaceAligner results (media/dfl_reference), and the properties of
its cut that hold for any landmarks: the same crop wherever the face is, offsets along the face's sides, a frozen
roll, head mode, and moving parts left out of the fit."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.ops import dfl_align
from nodeswap.nodes.ops.align import transform_points
from nodeswap.nodes.ops.face_crop import align_face, from_points_matrix
from nodeswap.types import Face, Frame


@pytest.fixture(scope="module")
def reference(media_dir: Path) -> tuple[Path, dict[str, Any]]:
    folder = media_dir / "dfl_reference"
    return folder, json.loads((folder / "index.json").read_text())


def frame_corners(mat: np.ndarray, size: int) -> np.ndarray:
    square = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
    return transform_points(cv2.invertAffineTransform(mat), square)


def reference_face(data: Any) -> Face:
    lm = data["lm"].astype(np.float64)
    box = (*lm.min(0), *lm.max(0))
    return Face(box=tuple(float(v) for v in box), landmarks=lm, landmarks_3d=data["lm3d"].astype(np.float64))


def test_every_reference_case_meets_deepfacelives_tolerances(reference: tuple[Path, dict[str, Any]]) -> None:
    folder, index = reference
    tol = index["tolerances"]
    worst: dict[str, tuple[float, float]] = {}
    cases = [c for c in index["cases"] if c["kind"] == "align"]
    assert len(cases) == 32 * 6
    for case in cases:
        params = {k.split(".")[-1]: v for k, v in index["aligner_settings"][case["setting"]]["project"].items()}
        node = FaceAligner("aligner", params)
        node.load(LoadContext("aligner"))
        data = np.load(folder / case["npz"])
        image = cv2.imread(str(folder / case["frame_png"]))
        (face,) = node.process(Frame(image), (reference_face(data),))["faces"]
        size = int(case["resolution"])
        corner = np.linalg.norm(
            frame_corners(face.aligned.mat, size) - frame_corners(data[case["matrix"]], size), axis=1
        )
        corner_share = float(corner.max() / float(data["face_size"]))
        theirs = cv2.imread(str(folder / case["crop"]))
        mad = float(np.abs(face.aligned.image.astype(int) - theirs.astype(int)).mean())
        best = worst.get(case["setting"], (0.0, 0.0))
        worst[case["setting"]] = (max(best[0], corner_share), max(best[1], mad))
    for setting, (corner_share, mad) in worst.items():
        assert corner_share <= tol["matrix_corner_frac_of_face_size"], (setting, corner_share)
        assert mad <= tol["crop_mean_abs"], (setting, mad)


def test_deepfacelives_yaw_from_the_3d_points(reference: tuple[Path, dict[str, Any]]) -> None:
    folder, index = reference
    for frame in index["frames"]:
        data = np.load(folder / frame["align"])
        yaw = dfl_align.head_yaw(data["lm3d"])
        assert yaw == pytest.approx(float(data["pose_pyr_rad"][1]), abs=1e-5)
    assert dfl_align.head_yaw(None) is None and dfl_align.head_yaw(np.zeros((68, 3))) is None


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.hstack([rot, np.array(shift).reshape(2, 1)])


def template_face(pose: np.ndarray) -> Face:
    lm = transform_points(pose, dfl_align.UNI_468)
    return Face(box=(*lm.min(0), *lm.max(0)), landmarks=lm)


def test_the_cut_is_the_same_wherever_the_face_is() -> None:
    reference_mat = from_points_matrix(template_face(similarity(0, 200, (0, 0))), 224, 2.2)
    assert reference_mat is not None
    expected = transform_points(reference_mat, transform_points(similarity(0, 200, (0, 0)), dfl_align.UNI_468))
    for angle, scale, shift in ((0, 200, (300, 200)), (25, 150, (80, 400)), (-40, 320, (500, 90))):
        pose = similarity(angle, scale, shift)
        mat = from_points_matrix(template_face(pose), 224, 2.2)
        assert mat is not None
        got = transform_points(mat, transform_points(pose, dfl_align.UNI_468))
        assert np.abs(got - expected).max() < 1e-6
    # the template's square is 1 / 2.2 of the crop, its centre 0.08 of the square above the crop's
    centre = transform_points(reference_mat, transform_points(similarity(0, 200, (0, 0)), np.array([[0.5, 0.5]])))
    assert centre[0] == pytest.approx([112.0, 112.0 + 0.08 * 224 / 2.2], abs=1e-6)


def test_offsets_coverage_freeze_and_head_mode() -> None:
    face = template_face(similarity(20, 180, (320, 240)))
    base = from_points_matrix(face, 200, 2.0)
    wide = from_points_matrix(face, 200, 4.0)
    moved = from_points_matrix(face, 200, 2.0, x_offset=0.2)
    frozen = from_points_matrix(face, 200, 2.0, freeze_z=True)
    head = from_points_matrix(face, 200, 2.0, head_mode=True)
    assert base is not None and wide is not None and moved is not None and frozen is not None and head is not None
    assert np.linalg.det(wide[:, :2]) == pytest.approx(np.linalg.det(base[:, :2]) / 4, rel=1e-6)
    nose = face.landmarks[1:2]  # type: ignore[index]
    shift = transform_points(moved, nose) - transform_points(base, nose)
    assert np.allclose(shift, [[-20.0, 0.0]], atol=1e-6)  # 0.2 of the face square is 0.1 of a 2.0 crop
    assert abs(frozen[0, 1]) < 1e-9 and abs(frozen[1, 0]) < 1e-9 and abs(base[0, 1]) > 0.1
    assert frozen[0, 0] ** 2 == pytest.approx(np.linalg.det(base[:, :2]), rel=1e-6)
    # head mode: coverage + 1, the centre half a face higher; without 3D points no sideways shift
    assert np.linalg.det(head[:, :2]) == pytest.approx(np.linalg.det(base[:, :2]) * (2.0 / 3.0) ** 2, rel=1e-6)


def test_moving_parts_are_left_out_of_the_fit() -> None:
    face = dfl_align.UNI_468 * 200 + 100
    opened = face.copy()
    opened[list(dfl_align.MOVING_PARTS_468)] += [0.0, 25.0]
    for exclude, same in ((True, True), (False, False)):
        a = dfl_align.to_uniform(face, None, exclude)
        b = dfl_align.to_uniform(opened, None, exclude)
        assert a is not None and b is not None
        assert np.allclose(a, b, atol=1e-6) == same
    assert len(dfl_align.MOVING_PARTS_468) == 316 and 1 not in dfl_align.MOVING_PARTS_468


def test_68_and_106_points_and_keypoints_fit_the_same_square(reference: tuple[Path, dict[str, Any]]) -> None:
    """68 points are fitted by their brows, nose, eye and mouth corners; 106 are first averaged into 68 by
    DeepFaceLive's pairs; faces with only 5 keypoints get the template's 5."""
    square_68 = dfl_align.UNI_68.astype(np.float64) * 300 + 50
    lm68 = np.zeros((68, 2))
    lm68[[*range(17, 36), 36, 39, 42, 45, 48, 54]] = square_68
    mat = dfl_align.to_uniform(lm68, None, True)
    assert mat is not None and np.allclose(transform_points(mat, square_68), dfl_align.UNI_68, atol=1e-6)
    lm106 = np.random.default_rng(0).uniform(50, 350, (106, 2))
    pairs = np.array(dfl_align.PAIRS_106_TO_68).reshape(68, 2)
    as_68 = (lm106[pairs[:, 0]] + lm106[pairs[:, 1]]) / 2.0
    mat106, mat68 = dfl_align.to_uniform(lm106, None, True), dfl_align.to_uniform(as_68, None, True)
    assert mat106 is not None and mat68 is not None and np.allclose(mat106, mat68, atol=1e-12)
    kps = transform_points(similarity(10, 250, (200, 150)), dfl_align.UNI_KPS)
    from_kps = dfl_align.to_uniform(None, kps, True)
    assert from_kps is not None and np.allclose(transform_points(from_kps, kps), dfl_align.UNI_KPS, atol=1e-6)
    assert dfl_align.to_uniform(None, None, True) is None


def test_the_crop_is_bilinear_with_a_black_border(reference: tuple[Path, dict[str, Any]]) -> None:
    folder, index = reference
    frame = index["frames"][0]
    data = np.load(folder / frame["align"])
    image = cv2.imread(str(folder / "frames" / frame["id"] / "frame.png"))
    aligned = align_face(image, reference_face(data), "facemesh", 224, 4.0)
    assert aligned is not None
    outside = transform_points(cv2.invertAffineTransform(aligned.mat), np.array([[0.0, 0.0]]))[0]
    if not (0 <= outside[0] < image.shape[1] and 0 <= outside[1] < image.shape[0]):
        assert (aligned.image[0, 0] == 0).all()
    expected = cv2.warpAffine(image, aligned.mat, (224, 224), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    assert np.array_equal(aligned.image, expected)
    assert set(np.unique(aligned.mask)) <= {0.0, 1.0}  # DeepFaceLive's hull: no anti-aliasing


@pytest.mark.skipif(
    not os.environ.get("NODESWAP_DFL_SOURCE"), reason="NODESWAP_DFL_SOURCE (a DeepFaceLive source folder) not set"
)
def test_deepfacelives_own_code_on_random_faces(reference: tuple[Path, dict[str, Any]]) -> None:
    """DeepFaceLive's xlib run beside align.face on turned, scaled, jittered landmarks, 468/106/68 points, every
    align mode and random settings (benchmarks/dfl_aligner_fuzz.py), within the reference's tolerances."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import dfl_aligner_fuzz as fuzz

    folder, index = reference
    dfl = fuzz.load_deepfacelive(Path(os.environ["NODESWAP_DFL_SOURCE"]))
    rows = fuzz.run(dfl, folder, trials=4, seed=7)
    assert sum(row[2] for row in rows.values()) == 4 * len(index["frames"])
    assert {key.split(",")[0] for key in rows} == {"from points", "from rect", "from static rect"}
    tol = index["tolerances"]
    for key, (corner_pct, mad, _) in rows.items():
        assert corner_pct <= tol["matrix_corner_frac_of_face_size"] * 100 and mad <= tol["crop_mean_abs"], key

"""Alignment math (nodeswap/nodes/ops/align.py) and the align.face node, on synthetic points and real photos."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.ops import align, dfl_align
from nodeswap.nodes.ops.face_crop import align_face
from nodeswap.types import Aligned, Face, Frame
from tests.onnx_builders import real_faces


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.hstack([rot, np.array(shift).reshape(2, 1)])


# -- pure math -------------------------------------------------------------------------------------


def test_umeyama_recovers_a_similarity() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(-50, 50, (30, 2))
    mat = similarity(37.0, 2.5, (120.0, -40.0))
    dst = align.transform_points(mat, src)
    assert np.allclose(align.umeyama(src, dst), mat, atol=1e-9)


def test_umeyama_never_reflects() -> None:
    src = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 3]], float)
    mirrored = src * [-1, 1]
    mat = align.umeyama(src, mirrored)
    assert np.linalg.det(mat[:, :2]) > 0


def test_arcface_templates_follow_insightface_norm_crop() -> None:
    assert np.allclose(align.arcface_template(112), align.ARCFACE_112)
    assert np.allclose(align.arcface_template(224), align.ARCFACE_112 * 2)
    # 128: the 112 points shifted 8 px right, not scaled (insightface estimate_norm, ratio 128/128)
    assert np.allclose(align.arcface_template(128), align.ARCFACE_112 + np.array([8, 0]))
    assert np.allclose(align.arcface_template(256), (align.ARCFACE_112 + np.array([8, 0])) * 2)


def test_arcface_crop_of_template_points_is_the_identity() -> None:
    for template, size in (("arcface_112", 112), ("arcface_128", 128)):
        kps = align.arcface_template(size)
        to_frame = align.template_to_frame(template, None, kps)
        mat = align.crop_matrix(to_frame, template, size)
        assert np.allclose(mat, [[1, 0, 0], [0, 1, 0]], atol=1e-4)


def test_mean_face_templates_share_one_frame() -> None:
    mean = align.MEAN_FACE
    assert {n: len(p) for n, p in mean.items()} == {468: 468, 68: 68, 106: 106, 5: 5}
    # nose tip in the middle, the inner 68 face spans about 0..1 across
    assert abs(mean[468][1, 0] - 0.5) < 1e-3
    inner = mean[68][17:]
    assert inner[:, 0].min() == pytest.approx(0.0, abs=0.03) and inner[:, 0].max() == pytest.approx(1.0, abs=0.03)
    # the 5 keypoints derived from each layout agree with the 5-point template
    for n in (468, 68, 106):
        kps = align.kps_from_landmarks(mean[n])
        assert np.abs(kps - mean[5]).max() < 0.05, n
    # FaceMesh facts: forehead top 10 highest, chin 152 lowest, eyes left of right
    assert mean[468][:, 1].argmin() == 10 and mean[468][:, 1].argmax() == 152
    assert mean[468][33, 0] < mean[468][263, 0]


def test_hull_mask_fills_the_polygon_only() -> None:
    square = np.array([[20, 20], [80, 20], [80, 80], [20, 80], [50, 50]], float)
    mask = align.hull_mask(square, 100)
    assert mask.dtype == np.float32 and mask.shape == (100, 100)
    assert mask[50, 50] == 1.0 and mask[10, 10] == 0.0 and mask[90, 50] == 0.0
    assert 59**2 < mask.sum() < 62.5**2  # the 60x60 square, give or take its edge pixels


# -- real faces ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_faces(models_dir: Path, photos: list[Path]) -> list[tuple[np.ndarray, Face]]:
    out = []
    for path in photos:
        image = cv2.imread(str(path))
        faces = real_faces(image, models_dir)
        if faces and faces[0].width >= 60 and faces[0].score > 0.85:
            out.append((image, faces[0]))
    assert len(out) >= 35
    return out


def test_stored_mean_face_matches_the_photos(photo_faces: list[tuple[np.ndarray, Face]]) -> None:
    """Re-derive the 468 mean (2D Procrustes over near-frontal photo faces) and compare."""
    template = align.MEAN_FACE[468]
    shapes = []
    for _, face in photo_faces:
        lm = face.landmarks.astype(np.float64)
        yaw_ratio = (lm[1, 0] - lm[234, 0]) / (lm[454, 0] - lm[234, 0])
        if abs(yaw_ratio - 0.5) < 0.12:
            shapes.append(align.transform_points(align.umeyama(lm, template), lm))
    assert len(shapes) >= 20
    mean = np.median(shapes, axis=0)
    fitted = align.transform_points(align.umeyama(mean, template), mean)
    # within 2 % of the face width (the stored mean was frontalised in 3D, this one is a 2D median)
    assert np.abs(fitted - template).mean() < 0.02


def test_kps_from_facemesh_agree_with_the_detector(photo_faces: list[tuple[np.ndarray, Face]]) -> None:
    errors = []
    for _, face in photo_faces:
        eye_distance = np.linalg.norm(face.kps[1] - face.kps[0])
        errors.append(np.linalg.norm(align.kps_from_landmarks(face.landmarks) - face.kps, axis=1).mean() / eye_distance)
    assert np.median(errors) < 0.12


def test_arcface_crop_puts_real_keypoints_on_the_template(photo_faces: list[tuple[np.ndarray, Face]]) -> None:
    errors = []
    for image, face in photo_faces:
        aligned = align_face(image, face, "arcface_112", 112)
        got = align.transform_points(aligned.mat, face.kps)
        errors.append(np.linalg.norm(got - align.ARCFACE_112, axis=1).mean())
        assert np.allclose(align.compose(aligned.inverse, aligned.mat), [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    assert np.median(errors) < 3.0 and max(errors) < 12.0  # pixels of 112 (turned faces fit worst)


def test_real_face_crop_is_rotation_invariant(photo_faces: list[tuple[np.ndarray, Face]], models_dir: Path) -> None:
    image, face = photo_faces[1]
    straight = align_face(image, face, "facemesh", 192, exclude_moving=True)
    h, w = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0)
    turned_image = cv2.warpAffine(image, rotation, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    turned_face = real_faces(turned_image, models_dir)[0]
    turned = align_face(turned_image, turned_face, "facemesh", 192, exclude_moving=True)
    # the detector's keypoints (not used by the fit) land on the same crop pixels, within
    # the detector's own jitter (3 % of the crop); a crop that missed the 20 degrees is off by 15+
    a = align.transform_points(straight.mat, face.kps)
    b = align.transform_points(turned.mat, turned_face.kps)
    assert np.linalg.norm(a - b, axis=1).mean() < 6.0
    diff = np.abs(straight.image.astype(int) - turned.image.astype(int))[40:150, 40:150].mean()
    assert diff < 25, diff
    # and the crop of the hull mask covers the face, not the background corners
    assert straight.mask[96, 96] == 1.0 and straight.mask[2, 2] == 0.0


def test_aligner_node_sets_aligned_on_real_faces(photo_faces: list[tuple[np.ndarray, Face]]) -> None:
    image, face = photo_faces[0]
    node = FaceAligner("al", {"template": "dfl_whole_face", "resolution": 160})
    node.load(LoadContext("al"))
    bare = Face(box=face.box)
    out = node.process(frame=Frame(image), faces=(face, bare))["faces"]
    aligned = out[0].aligned
    assert aligned.image.shape == (160, 160, 3) and aligned.image.dtype == np.uint8 and aligned.size == 160
    assert aligned.mask.shape == (160, 160) and 0.2 < aligned.mask.mean() < 0.8
    assert out[1] is bare  # nothing to align from: unchanged
    assert face.aligned is None  # input untouched
    # the crop really is the frame warped by mat: sample a pixel through the inverse
    x, y = align.transform_points(aligned.inverse, np.array([[80.0, 80.0]]))[0]
    assert np.abs(aligned.image[80, 80].astype(int) - image[round(y), round(x)].astype(int)).max() < 40
    # DFL whole face at 2.2: eyes in the upper half, eye distance about a quarter of the crop
    eyes = align.transform_points(aligned.mat, face.kps[:2])
    assert 0.35 < eyes[:, 1].mean() / 160 < 0.47
    assert 0.2 < (eyes[1, 0] - eyes[0, 0]) / 160 < 0.32


def test_aligner_templates_and_options_on_a_real_face(photo_faces: list[tuple[np.ndarray, Face]]) -> None:
    image, face = photo_faces[1]  # a frontal face
    kps_only = Face(box=face.box, kps=face.kps)
    for template in align.TEMPLATES:
        for f in (face, kps_only):
            aligned = align_face(image, f, template, 128, head_mode=True, freeze_z=True)
            assert aligned.image.shape == (128, 128, 3)
            assert aligned.mask is not None and aligned.mask.max() == 1.0
    # landmark-based and keypoint-based fits of the same face land close together
    a = align_face(image, face, "facemesh", 128).mat
    b = align_face(image, kps_only, "facemesh", 128).mat
    corners = np.array([[0, 0], [128, 0], [0, 128], [128, 128]], float)
    spread = np.abs(align.transform_points(align.invert(a), corners) - align.transform_points(align.invert(b), corners))
    assert spread.max() < 0.12 * face.width


def test_project_markers_give_the_same_crop_from_468_68_and_106_points(photos: list[Path]) -> None:
    """With the detector and marker nodes: each landmark layout's mean face fits the same crop."""
    from nodeswap.nodes.detectors import FaceDetector
    from nodeswap.nodes.markers import FaceMarker

    detector = FaceDetector("det", {"device": "cpu", "smoothing": False})
    detector.load(LoadContext("det"))
    markers = {}
    for model in ("facemesh", "pfld68", "pfld106"):
        markers[model] = FaceMarker("mark", {"device": "cpu", "model": model, "smoothing": False})
        markers[model].load(LoadContext("mark"))
    spreads = []
    for path in photos[:12]:
        frame = Frame(cv2.imread(str(path)))
        faces = detector.process(frame=frame)["faces"][:1]
        if not faces or faces[0].width < 80:
            continue
        corners = {}
        for model, marker in markers.items():
            face = marker.process(frame=frame, faces=faces)["faces"][0]
            aligned = align_face(frame.image, face, "dfl_whole_face", 256)
            corners[model] = align.transform_points(aligned.inverse, np.array([[0, 0], [256, 0], [0, 256]], float))
        for model in ("pfld68", "pfld106"):
            spreads.append(np.abs(corners[model] - corners["facemesh"]).max() / faces[0].width)
    assert len(spreads) >= 12
    # the crop corners agree within 12 % of the face width for the median face (measured: 6 %)
    assert np.median(spreads) < 0.12, spreads


def test_align_from_rect_and_from_static_rect_as_deepfacelive(photo_faces: list[tuple[np.ndarray, Face]]) -> None:
    image, face = photo_faces[1]
    box_only = Face(box=face.box)  # no points at all: from rect still crops
    assert align_face(image, box_only, "facemesh", 128) is None
    x1, y1, x2, y2 = face.box
    w, h = x2 - x1, y2 - y1
    side = (w * w + h * h) / (w + h)
    for f in (face, box_only):
        aligned = align_face(image, f, "facemesh", 128, 2.0, 0.1, -0.2, mode="from rect")
        corners = align.transform_points(aligned.inverse, np.array([[0, 0], [128, 0], [0, 128]], float))
        assert np.allclose(corners[1] - corners[0], [2 * side, 0], atol=1e-6)  # upright, coverage x the side
        assert np.allclose(corners[2] - corners[0], [0, 2 * side], atol=1e-6)
        centre = corners[0] + side  # (0.5 + offset) of the square, minus half the crop
        assert np.allclose(centre, [(x1 + x2) / 2 + 0.1 * side, (y1 + y2) / 2 - 0.2 * side], atol=1e-6)
        assert (aligned.mask is not None) == (f.landmarks is not None)
    static = align_face(image, box_only, "facemesh", 64, 1.5, mode="from static rect")
    height, width = image.shape[:2]
    corners = align.transform_points(static.inverse, np.array([[0, 0], [64, 64]], float))
    assert np.allclose(corners.mean(0), [width / 2, height / 2]) and np.allclose(corners[1] - corners[0], [96, 96])
    crops = FaceAligner("al", {"align_mode": "from rect"}).process(Frame(image), (box_only,))["faces"]
    assert crops[0].aligned is not None
    assert FaceAligner.provides("faces", {"template": "facemesh", "align_mode": "from rect"})["aligned"].value == (
        "from_rect"
    )


def test_head_mode_raises_the_crop_half_a_face_and_freeze_z_follows_the_turn(
    photo_faces: list[tuple[np.ndarray, Face]],
) -> None:
    image, face = photo_faces[1]
    to_uniform = dfl_align.to_uniform(face.landmarks, face.kps, True)
    assert to_uniform is not None

    def centre(aligned: Aligned | None) -> np.ndarray:
        assert aligned is not None
        return align.transform_points(to_uniform, align.transform_points(aligned.inverse, np.array([[64.0, 64.0]])))

    plain = align_face(image, face, "facemesh", 128)
    head = align_face(image, face, "facemesh", 128, head_mode=True)
    assert (centre(head) - centre(plain))[0] == pytest.approx([0.0, -0.5], abs=1e-6)  # no 3D points: no turn
    # a head turned 20 degrees (its 3D points: FaceMesh's axes rotated about the vertical)
    yaw = math.radians(20.0)
    turn = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    flat = np.hstack([dfl_align.UNI_468, np.zeros((468, 1))]) @ turn.T
    turned = replace(face, landmarks_3d=flat)
    expected = dfl_align.head_yaw(flat)
    assert expected is not None and abs(expected) > 0.3
    moved = centre(align_face(image, turned, "facemesh", 128, freeze_z=True))
    still = centre(align_face(image, face, "facemesh", 128, freeze_z=True))
    assert (moved - still)[0, 0] == pytest.approx(-expected * abs(math.tanh(2 * expected)) / 2, abs=1e-3)

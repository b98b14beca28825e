"""Face marker on real faces: FaceMesh, PFLD-68, PFLD-106; pose from landmarks."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.detectors import FaceDetector
from nodeswap.nodes.markers import FaceMarker
from nodeswap.nodes.ops.marker_models import crop_matrix, to_frame
from nodeswap.nodes.ops.pose import euler_from_axes, kps_from_landmarks, pnp_pose
from nodeswap.types import Face, Frame

PHOTOS = ("000001.jpg", "000002.jpg", "000005.jpg", "000010.jpg", "000012.jpg", "000016.jpg")
# FaceMesh indices: eye corners, mouth corners and lips
EYES = (33, 133, 362, 263)
MOUTH = (61, 291, 13, 14)


def make_marker(model: str = "facemesh", **params) -> FaceMarker:
    node = FaceMarker("mark", {"model": model, "device": "cpu", **params})
    node.load(LoadContext("mark"))
    return node


def detect_faces(image: np.ndarray, **params) -> tuple[Face, ...]:
    node = FaceDetector("det", {"device": "cpu", "smoothing": False, **params})
    node.load(LoadContext("det"))
    return node.process(frame=Frame(image))["faces"]


@pytest.fixture
def photo_faces(models_dir, media_dir, monkeypatch):
    """(image, largest face) per photo."""
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    out = []
    for name in PHOTOS:
        image = cv2.imread(str(media_dir / "photos" / name))
        faces = detect_faces(image)
        out.append((name, image, max(faces, key=lambda f: f.width * f.height)))
    return out


def test_crop_matrix_round_trip():
    mat = crop_matrix((100, 50, 200, 170), 1.4, 192)
    points = np.array([[150.0, 110.0, 7.0], [100.0, 50.0, 0.0]])
    crop = points[:, :2] @ mat[:, :2].T + mat[:, 2]
    np.testing.assert_allclose(crop[0], [96, 96])
    back = to_frame(np.column_stack([crop, [7.0 * mat[0, 0], 0.0]]), mat)
    np.testing.assert_allclose(back, points, atol=1e-9)


def test_euler_from_axes_signs():
    assert euler_from_axes([1, 0, 0], [0, 1, 0]) == pytest.approx((0, 0, 0))
    turn = np.radians(30)  # face turned toward image right: its image-right cheek moves away from the camera
    yaw, pitch, roll = euler_from_axes([np.cos(turn), 0, np.sin(turn)], [0, 1, 0])
    assert yaw == pytest.approx(30) and abs(pitch) < 1e-9 and abs(roll) < 1e-9
    yaw, pitch, roll = euler_from_axes([np.cos(turn), np.sin(turn), 0], [-np.sin(turn), np.cos(turn), 0])
    assert roll == pytest.approx(30)


@pytest.mark.parametrize("model", ["facemesh", "pfld68", "pfld106"])
def test_landmarks_sit_on_the_face(model, photo_faces):
    node = make_marker(model, smoothing=False)
    count = {"facemesh": 468, "pfld68": 68, "pfld106": 106}[model]
    for name, image, face in photo_faces:
        out = node.process(frame=Frame(image), faces=(face,))["faces"][0]
        assert out.landmarks.shape == (count, 2), name
        x1, y1, x2, y2 = face.box
        pad = 0.25 * face.width
        inside = (
            (out.landmarks[:, 0] > x1 - pad)
            & (out.landmarks[:, 0] < x2 + pad)
            & (out.landmarks[:, 1] > y1 - pad)
            & (out.landmarks[:, 1] < y2 + pad)
        )
        assert inside.all(), f"{model} on {name}: {int((~inside).sum())} points outside the enlarged box"
        kps = kps_from_landmarks(out.landmarks, node._spec.layout)
        assert kps[:2, 1].max() < kps[3:, 1].min(), f"{model} on {name}: eyes not above the mouth"
        assert out.pose is not None and all(np.isfinite(out.pose))
        if model == "facemesh":
            assert out.landmarks_3d.shape == (468, 3)
            assert out.landmarks[list(EYES), 1].max() < out.landmarks[list(MOUTH), 1].min()


@pytest.mark.parametrize("model", ["pfld68", "pfld106"])
def test_pfld_eyes_agree_with_facemesh(model, photo_faces):
    mesh, other = make_marker(smoothing=False), make_marker(model, smoothing=False)
    for name, image, face in photo_faces:
        frame = Frame(image)
        a = kps_from_landmarks(mesh.process(frame=frame, faces=(face,))["faces"][0].landmarks, "facemesh")
        b = kps_from_landmarks(other.process(frame=frame, faces=(face,))["faces"][0].landmarks, other._spec.layout)
        error = np.linalg.norm(a[:2] - b[:2], axis=1).max() / face.width
        assert error < 0.06, f"{model} on {name}: eye centres {error:.3f} face widths from FaceMesh"


@pytest.mark.parametrize("model", ["facemesh", "pfld68", "pfld106"])
def test_pose_yaw_flips_with_the_mirror_image(model, photo_faces, models_dir):
    node = make_marker(model, smoothing=False)
    turned = 0
    for name, image, _face in photo_faces:
        mirror = np.ascontiguousarray(image[:, ::-1])
        pose_a = node.process(frame=Frame(image), faces=(max(detect_faces(image), key=lambda f: f.width),))
        pose_b = node.process(frame=Frame(mirror), faces=(max(detect_faces(mirror), key=lambda f: f.width),))
        (yaw_a, pitch_a, roll_a), (yaw_b, pitch_b, roll_b) = pose_a["faces"][0].pose, pose_b["faces"][0].pose
        assert abs(yaw_a + yaw_b) < 8 and abs(roll_a + roll_b) < 8 and abs(pitch_a - pitch_b) < 8, name
        if abs(yaw_a) > 10:
            turned += 1
            assert np.sign(yaw_a) == -np.sign(yaw_b)
    assert turned >= 2  # the photos include turned heads, so the sign test means something


def test_frontal_photo_has_a_pose_near_zero(models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    image = cv2.imread(str(media_dir / "photos" / "000010.jpg"))
    face = max(detect_faces(image), key=lambda f: f.width)
    for model in ("facemesh", "pfld68", "pfld106"):
        yaw, pitch, roll = (
            make_marker(model, smoothing=False).process(frame=Frame(image), faces=(face,))["faces"][0].pose
        )
        assert abs(yaw) < 10 and abs(pitch) < 15 and abs(roll) < 10, (model, yaw, pitch, roll)


def test_marker_fills_kps_for_box_only_detector(models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    image = cv2.imread(str(media_dir / "photos" / "000002.jpg"))
    boxes_only = max(detect_faces(image, model="ultraface"), key=lambda f: f.width)
    with_kps = max(detect_faces(image), key=lambda f: f.width)
    assert boxes_only.kps is None
    out = make_marker(smoothing=False).process(frame=Frame(image), faces=(boxes_only,))["faces"][0]
    assert out.kps.shape == (5, 2)
    error = np.linalg.norm(out.kps - with_kps.kps, axis=1).max() / with_kps.width
    assert error < 0.08


def test_several_faces_per_frame(models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    a = cv2.imread(str(media_dir / "photos" / "000001.jpg"))
    b = cv2.imread(str(media_dir / "photos" / "000005.jpg"))
    height = max(a.shape[0], b.shape[0])
    canvas = np.zeros((height, a.shape[1] + b.shape[1], 3), np.uint8)
    canvas[: a.shape[0], : a.shape[1]] = a
    canvas[: b.shape[0], a.shape[1] :] = b
    faces = detect_faces(canvas, window=640, max_faces=0)
    assert len(faces) == 2
    out = make_marker(smoothing=False).process(frame=Frame(canvas), faces=faces)["faces"]
    for face, marked in zip(faces, out, strict=True):
        centre = marked.landmarks.mean(axis=0)
        assert face.box[0] < centre[0] < face.box[2] and face.box[1] < centre[1] < face.box[3]


def test_pnp_pose_of_a_projected_generic_head_is_recovered():
    from nodeswap.nodes.ops.pose import GENERIC_HEAD, PNP_INDICES

    angle = np.radians(25)
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    projected = GENERIC_HEAD @ rot.T
    landmarks = np.zeros((68, 2))
    landmarks[list(PNP_INDICES["68"])] = projected[:, :2] * 2 + 300  # orthographic, 2 px per mm
    yaw, pitch, roll = pnp_pose(landmarks, "68")
    assert abs(abs(yaw) - 25) < 2 and abs(pitch) < 2 and abs(roll) < 2


def test_smoothing_reduces_landmark_jitter_on_obama(models_dir, obama, monkeypatch):
    """The default smoothing takes the jitter off with little lag; a steadier setting (lower cutoffs) takes
    more off."""
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    detector = FaceDetector("det", {"device": "cpu"})
    detector.load(LoadContext("det"))
    markers = {
        "raw": make_marker(smoothing=False),
        "default": make_marker(smoothing=True),
        "steady": make_marker(smoothing=True, min_cutoff=1.5, shape_cutoff=3.0),
    }
    capture = cv2.VideoCapture(str(obama))
    tracks: dict[str, list[np.ndarray]] = {name: [] for name in markers}
    widths = []
    for index in range(90):
        ok, image = capture.read()
        assert ok
        frame = Frame(image, index, fps=30.0, source=str(obama))
        faces = detector.process(frame=frame)["faces"]
        for name, marker in markers.items():
            tracks[name].append(marker.process(frame=frame, faces=faces)["faces"][0].landmarks)
        widths.append(faces[0].width)
    capture.release()
    width = float(np.median(widths))

    def jitter(points: list[np.ndarray]) -> float:
        second = np.diff(np.stack(points), n=2, axis=0)  # acceleration: noise, not motion
        return float(np.linalg.norm(second, axis=2).mean() / width)

    def lag(name: str) -> float:
        return float(np.linalg.norm(np.stack(tracks["raw"]) - np.stack(tracks[name]), axis=2).mean() / width)

    assert jitter(tracks["default"]) < 0.8 * jitter(tracks["raw"])
    assert jitter(tracks["steady"]) < 0.6 * jitter(tracks["raw"])
    assert lag("default") < 0.5 * lag("steady")
    assert lag("steady") < 0.02


def test_marker_replaces_blazeface_estimated_mouth_corners(models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    image = cv2.imread(str(media_dir / "photos" / "000010.jpg"))
    face = max(detect_faces(image, model="blazeface"), key=lambda f: f.width)
    assert face.extra.get("kps_estimated") is True
    out = make_marker(smoothing=False).process(frame=Frame(image), faces=(face,))["faces"][0]
    assert "kps_estimated" not in out.extra
    np.testing.assert_allclose(out.kps, kps_from_landmarks(out.landmarks, "facemesh"))


def test_temporal_smoothing_averages_landmarks_relative_to_the_box(photo_faces) -> None:
    _, image, face = photo_faces[0]
    plain = make_marker(smoothing=False).process(frame=Frame(image), faces=(face,))["faces"][0].landmarks
    node = make_marker(smoothing=False, temporal_smoothing=3)
    first = node.process(frame=Frame(image), faces=(face,))["faces"][0].landmarks
    assert np.allclose(first, plain, atol=1e-3)  # one frame: its own points
    shifted = replace(face, box=(face.box[0] + 30, face.box[1], face.box[2] + 30, face.box[3]))
    moved = np.float32([[1, 0, 30], [0, 1, 0]])
    image2 = cv2.warpAffine(image, moved, (image.shape[1], image.shape[0]))
    out = node.process(frame=Frame(image2), faces=(shifted,))["faces"][0].landmarks
    assert np.abs(out - (plain + np.float32([30, 0]))).max() < 0.02 * face.width  # the head moved: no lag behind it

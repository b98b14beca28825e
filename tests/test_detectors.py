"""Face detector: decoders on synthetic tensors, and every model on real photos and video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.errors import ModelMissingError, NodeLoadError
from nodeswap.models import manifest
from nodeswap.node import LoadContext
from nodeswap.nodes.detectors import FaceDetector
from nodeswap.nodes.ops import detect
from nodeswap.nodes.ops.detect_models import DETECTORS, centerface_dynamic
from nodeswap.runtime import clear_cache
from nodeswap.types import Frame

# A few photos with one clear face each (checked by eye).
PHOTOS = ("000001.jpg", "000002.jpg", "000005.jpg", "000010.jpg")


def make(model: str = "yunet", **params) -> FaceDetector:
    node = FaceDetector("det", {"model": model, "device": "cpu", **params})
    node.load(LoadContext("det"))
    return node


def read_video(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def largest(faces):
    return max(faces, key=lambda f: f.width * f.height)


# -- pure maths ------------------------------------------------------------------------


def test_window_size_keeps_aspect_pads_to_32_and_never_enlarges():
    assert detect.window_size(512, 388, 480) == pytest.approx((480 / 512, 480, 384))
    scale, w, h = detect.window_size(200, 100, 480)
    assert scale == 1.0 and (w, h) == (224, 128)


def test_fit_window_puts_the_image_top_left():
    image = np.full((100, 200, 3), 255, np.uint8)
    canvas, scale = detect.fit_window(image, 320, 320)
    assert scale == pytest.approx(1.6) and canvas.shape == (320, 320, 3)
    assert canvas[:160].min() == 255 and canvas[161:].max() == 0


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    keep = detect.nms(boxes, np.array([0.5, 0.9, 0.7]), 0.4)
    assert keep.tolist() == [1, 2]


def test_order_kps_puts_image_left_points_first():
    kps = np.array([[[60, 40], [30, 40], [45, 55], [58, 70], [32, 70]]], np.float32)
    ordered = detect.order_kps(kps)[0]
    assert ordered[0, 0] < ordered[1, 0] and ordered[3, 0] < ordered[4, 0]


def test_decode_yunet_on_a_synthetic_cell():
    w, h = 64, 64
    out = {}
    for stride in (8, 16, 32):
        n = (w // stride) * (h // stride)
        out[f"cls_{stride}"] = np.zeros((1, n, 1), np.float32)
        out[f"obj_{stride}"] = np.zeros((1, n, 1), np.float32)
        out[f"bbox_{stride}"] = np.zeros((1, n, 4), np.float32)
        out[f"kps_{stride}"] = np.zeros((1, n, 10), np.float32)
    cell = 1 * 4 + 2  # row 1, col 2 at stride 16 (4 columns)
    out["cls_16"][0, cell] = out["obj_16"][0, cell] = 0.9
    out["bbox_16"][0, cell] = [0.5, 0.5, np.log(2), np.log(3)]
    out["kps_16"][0, cell] = [0.1, 0.2] * 5
    dets = detect.decode_yunet(out, w, h, 0.5)
    assert len(dets) == 1 and dets.scores[0] == pytest.approx(0.9)
    np.testing.assert_allclose(dets.boxes[0], [40 - 16, 24 - 24, 40 + 16, 24 + 24])
    np.testing.assert_allclose(dets.kps[0, 0], [(2 + 0.1) * 16, (1 + 0.2) * 16])


def test_decode_scrfd_distances():
    scores = [np.zeros((1, n, 1), np.float32) for n in (2 * 16, 2 * 4, 2 * 1)]
    boxes = [np.zeros((1, n, 4), np.float32) for n in (32, 8, 2)]
    kps = [np.zeros((1, n, 10), np.float32) for n in (32, 8, 2)]
    scores[1][0, 3] = 0.8  # stride 16, cell 1 (row 0, col 1), second anchor
    boxes[1][0, 3] = [1, 1, 2, 2]
    dets = detect.decode_scrfd(scores, boxes, kps, 32, 32, 0.5)
    np.testing.assert_allclose(dets.boxes[0], [16 - 16, 0 - 16, 16 + 32, 0 + 32])


def test_decode_centerface_box_and_points():
    heat = np.zeros((1, 1, 8, 8), np.float32)
    heat[0, 0, 2, 3] = 0.9
    scale = np.zeros((1, 2, 8, 8), np.float32)
    scale[0, :, 2, 3] = np.log(5.0)  # 20 px
    offset = np.zeros((1, 2, 8, 8), np.float32)
    lms = np.zeros((1, 10, 8, 8), np.float32)
    lms[0, 0, 2, 3], lms[0, 1, 2, 3] = 0.25, 0.5  # first point: y 0.25, x 0.5 of the box
    dets = detect.decode_centerface(heat, scale, offset, lms, 0.5)
    np.testing.assert_allclose(dets.boxes[0], [14 - 10, 10 - 10, 14 + 10, 10 + 10], atol=1e-4)
    np.testing.assert_allclose(dets.kps[0, 0], [4 + 10, 0 + 5], atol=1e-4)


def test_decode_retinaface_prior_grid():
    priors = detect.retinaface_priors(320, 320)
    assert len(priors) == 4200
    np.testing.assert_allclose(priors[0], [4 / 320, 4 / 320, 16 / 320, 16 / 320])


# -- real models -------------------------------------------------------------------------


def test_yunet_finds_the_face_in_photos(models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    node = make()
    for name in PHOTOS:
        image = cv2.imread(str(media_dir / "photos" / name))
        faces = node.process(frame=Frame(image, source=name))["faces"]
        assert faces, name
        face = largest(faces)
        assert face.width > 50 and face.score > 0.5
        x1, y1, x2, y2 = face.box
        assert face.kps.shape == (5, 2)
        assert ((face.kps[:, 0] > x1) & (face.kps[:, 0] < x2) & (face.kps[:, 1] > y1) & (face.kps[:, 1] < y2)).all()
        assert face.kps[0, 0] < face.kps[1, 0] and face.kps[3, 0] < face.kps[4, 0]
        assert face.kps[:2, 1].mean() < face.kps[2, 1] < face.kps[3:, 1].mean()  # eyes, nose, mouth


NOT_IN_SHARED_MODELS = ("s3fd",)  # tested on a model of its signature (test_s3fd_...)


@pytest.mark.parametrize("model", [m for m in DETECTORS if m not in ("yunet", *NOT_IN_SHARED_MODELS)])
def test_every_model_agrees_with_yunet(model, models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    reference, node = make(smoothing=False), make(model, smoothing=False)
    for name in PHOTOS:
        image = cv2.imread(str(media_dir / "photos" / name))
        ref = largest(reference.process(frame=Frame(image, source=name))["faces"])
        faces = node.process(frame=Frame(image, source=name))["faces"]
        assert faces, f"{model} found no face in {name}"
        overlap = detect.iou_matrix(np.array([ref.box]), np.array([f.box for f in faces]))[0]
        assert overlap.max() > 0.5, f"{model} on {name}: best IoU with YuNet {overlap.max():.2f}"
        face = faces[int(overlap.argmax())]
        if DETECTORS[model].has_kps:
            x1, y1, x2, y2 = face.box
            inside = (face.kps[:, 0] > x1) & (face.kps[:, 0] < x2) & (face.kps[:, 1] > y1) & (face.kps[:, 1] < y2)
            assert inside.all(), f"{model} on {name}: keypoints outside the box"
            eye_span = np.linalg.norm(ref.kps[0] - ref.kps[1])
            assert np.linalg.norm(face.kps[:2] - ref.kps[:2], axis=1).max() < 0.35 * eye_span
        else:
            assert face.kps is None


def test_sorting_and_max_faces(models_dir, media_dir, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    left = cv2.imread(str(media_dir / "photos" / "000001.jpg"))
    right = cv2.resize(cv2.imread(str(media_dir / "photos" / "000005.jpg")), None, fx=0.6, fy=0.6)
    height = max(left.shape[0], right.shape[0])
    canvas = np.zeros((height, left.shape[1] + right.shape[1], 3), np.uint8)
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], left.shape[1] :] = right
    assert len(make(smoothing=False, window=640).process(frame=Frame(canvas, source="pair"))["faces"]) == 1
    node = make(smoothing=False, window=640, track_ids=False, max_faces=0)  # the default 1 keeps the largest
    frame = Frame(canvas, source="pair")
    by_size = node.process(frame=frame)["faces"]
    assert len(by_size) == 2 and by_size[0].width > by_size[1].width
    assert [f.track_id for f in by_size] == [0, 1]
    node.values["sort_by"] = "right to left"
    rtl = node.process(frame=frame)["faces"]
    assert rtl[0].center[0] > rtl[1].center[0]
    node.values["sort_by"] = "left to right"
    ltr = node.process(frame=frame)["faces"]
    assert ltr[0].center[0] < ltr[1].center[0]
    node.values["max_faces"] = 1
    assert len(node.process(frame=frame)["faces"]) == 1
    node.values.update(max_faces=0, min_size=int(by_size[1].width) + 10)
    assert len(node.process(frame=frame)["faces"]) == 1


def test_track_ids_stay_stable_on_obama(models_dir, obama, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    node = make()
    ids = set()
    for index, image in enumerate(read_video(obama, 60)):
        faces = node.process(frame=Frame(image, index, fps=30.0, source=str(obama)))["faces"]
        assert len(faces) == 1
        ids.add(faces[0].track_id)
    assert ids == {0}


def test_detect_every_n_stays_close_to_per_frame(models_dir, obama, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    every, each = make(every_n=4, smoothing=False), make(smoothing=False)
    errors = []
    for index, image in enumerate(read_video(obama, 80)):
        frame = Frame(image, index, fps=30.0, source=str(obama))
        a, b = every.process(frame=frame)["faces"], each.process(frame=frame)["faces"]
        assert len(a) == len(b) == 1
        size = b[0].width
        errors.append(np.abs(np.subtract(a[0].box, b[0].box)).max() / size)
        errors.append(np.linalg.norm(a[0].kps - b[0].kps, axis=1).max() / size)
    assert np.median(errors) < 0.02 and max(errors) < 0.08


def test_yunet_falls_back_to_the_fixed_640_file(models_dir, media_dir, tmp_path, monkeypatch):
    (tmp_path / "face_detection_yunet_2023mar.onnx").symlink_to(models_dir / "face_detection_yunet_2023mar.onnx")
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path))
    monkeypatch.setattr("nodeswap.models.user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr("nodeswap.models.cache_dir", lambda: tmp_path / "cache")
    node = make()
    assert node._variant.fixed == (640, 640)
    image = cv2.imread(str(media_dir / "photos" / PHOTOS[0]))
    fixed = largest(node.process(frame=Frame(image))["faces"])
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    dynamic = largest(make().process(frame=Frame(image))["faces"])
    assert detect.iou_matrix(np.array([fixed.box]), np.array([dynamic.box]))[0, 0] > 0.8


def test_corrupt_model_gives_a_node_load_error(tmp_path, monkeypatch):
    model = tmp_path / "yunet_s_dynamic.onnx"
    model.write_bytes(b"not a model at all")
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path))
    clear_cache()
    fetch = r"run: python run\.py models fetch yunet_dynamic"
    with pytest.raises(NodeLoadError, match=rf"node 'det'.*yunet_s_dynamic\.onnx.*corrupt or truncated.*{fetch}"):
        make()
    size = manifest()["yunet_dynamic"].size
    model.write_bytes(b"x" * size)  # the right size, not a model
    with pytest.raises(NodeLoadError, match=rf"node 'det'.*yunet_s_dynamic\.onnx.*not a valid ONNX model.*{fetch}"):
        make()


def test_missing_model_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path))
    monkeypatch.setattr("nodeswap.models.user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr("nodeswap.models.cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(ModelMissingError, match=r"node 'det'.*run: python run\.py models fetch scrfd"):
        make("scrfd")


def test_centerface_prepare_makes_the_input_dynamic(models_dir):
    import onnx

    model = onnx.load_from_string(centerface_dynamic((models_dir / "centerface.onnx").read_bytes()))
    dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["n", "c", "h", "w"] and len(model.graph.input) == 1

"""swap.animate (DeepFaceLive's face animator, LIA) on a stand-in generator with the real signature.

The stand-in (tests/onnx_builders.build_lia) computes a known function of its inputs: its motion code is
the driving crop's channel means times a matrix, and its picture is the portrait with R, G, B scaled by
1, 0.5, 0 plus a colour shift proportional to (motion - reference motion) x power. So these tests see
the whole path on real photos and frames: loading and signature checks, the portrait's fit, colour order,
value ranges, the reference pose (first frame, reset by the button), relative_power and where the
animation goes (the frame, the driving face's crop). The expected values are computed here from LIA.py's
preparation written out again, not from nodeswap/nodes/ops/animate.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap import models
from nodeswap.errors import ModelMissingError, NodeLoadError, UserError
from nodeswap.node import LoadContext
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.animators import FaceAnimator
from nodeswap.nodes.ops import animate
from nodeswap.nodes.ops.face_crop import align_face
from nodeswap.registry import default_registry
from nodeswap.types import Face, Frame
from tests import onnx_builders as ob
from tests.onnx_builders import real_faces


def lia_blob(image_bgr: np.ndarray) -> np.ndarray:
    """LIA.py's input: linear resize to 256 x 256, BGR -> RGB, x / 127.5 - 1, NCHW."""
    if image_bgr.shape[:2] != (256, 256):
        image_bgr = cv2.resize(image_bgr, (256, 256), interpolation=cv2.INTER_LINEAR)
    return (image_bgr[..., ::-1].astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]


def lia_picture(out: np.ndarray) -> np.ndarray:
    """LIA.py's output: (x + 1) / 2 * 255, clipped, truncated to uint8, RGB -> BGR."""
    return np.clip((out[0].transpose(1, 2, 0) + 1.0) / 2.0 * 255.0, 0, 255).astype(np.uint8)[..., ::-1]


def fitted(photo: np.ndarray) -> tuple[np.ndarray, int, int]:
    """DeepFaceLive's fit_in(256, 256, pad_to_target, allow_upscale) of the animatable photo."""
    h, w = photo.shape[:2]
    scale = 1.0 / max(w / 256, h / 256)
    w, h = int(w * scale), int(h * scale)
    square = np.zeros((256, 256, 3), np.uint8)
    square[:h, :w] = cv2.resize(photo, (w, h), interpolation=cv2.INTER_LINEAR)
    return square, w, h


def close(a: np.ndarray, b: np.ndarray, tol: int = 1) -> bool:
    """Equal within ``tol`` levels (the truncation to uint8 turns float noise into an off-by-one)."""
    return a.shape == b.shape and int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()) <= tol


@pytest.fixture
def lia_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    ob.build_lia(folder / "generator.onnx")
    monkeypatch.setenv("NODESWAP_MODELS", str(folder))
    return folder


@pytest.fixture(scope="module")
def driving(obama: Path, models_dir: Path) -> tuple[np.ndarray, np.ndarray, Face]:
    """An Obama frame, the same frame darker (another driving pose for the stand-in), and the face."""
    capture = cv2.VideoCapture(str(obama))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image, cv2.convertScaleAbs(image, alpha=0.55), real_faces(image, models_dir)[0]


def loaded(**params: object) -> FaceAnimator:
    node = FaceAnimator(
        "anim", {"device": "cpu", **{k: str(v) if isinstance(v, Path) else v for k, v in params.items()}}
    )
    node.load(LoadContext("anim"))
    return node


def aligned_faces(image: np.ndarray, face: Face) -> tuple[Face, ...]:
    faces: tuple[Face, ...] = FaceAligner("align").process(frame=Frame(image), faces=(face,))["faces"]
    return faces


# -- the pure steps ------------------------------------------------------------------------------


def test_fit_in_keeps_the_aspect_and_pads_bottom_right_like_deepfacelive() -> None:
    tall = np.random.default_rng(0).integers(0, 256, (687, 409, 3), dtype=np.uint8)
    square, (w, h) = animate.fit_in(tall)
    want, want_w, want_h = fitted(tall)
    assert (w, h) == (want_w, want_h) == (152, 256)
    assert np.array_equal(square, want) and not square[h:].any() and not square[:, w:].any()
    small = np.full((50, 100, 3), 200, np.uint8)  # smaller photos are scaled up
    square, (w, h) = animate.fit_in(small)
    assert (w, h) == (256, 128) and square[:128].min() == 200 and not square[128:].any()


def test_blobs_are_rgb_in_minus_one_to_one_and_come_back_truncated() -> None:
    pixel = np.zeros((256, 256, 3), np.uint8)
    pixel[...] = (0, 51, 255)  # B, G, R
    blob = animate.to_blob(pixel)
    assert blob.shape == (1, 3, 256, 256) and blob.dtype == np.float32
    assert np.allclose(blob[0, :, 0, 0], [1.0, 51 / 127.5 - 1.0, -1.0])  # R first
    assert animate.to_blob(cv2.resize(pixel, (64, 64))).shape == (1, 3, 256, 256)  # any crop size
    out = np.zeros((1, 3, 2, 2), np.float32)
    out[0, :, 0, 0] = (1.0, 0.0, -1.0)  # R, G, B
    out[0, :, 0, 1] = (3.0, -3.0, 0.999)  # clipped; 0.999 -> 254.87 -> 254, truncated
    picture = animate.from_blob(out)
    assert picture.dtype == np.uint8 and picture.shape == (2, 2, 3)
    assert picture[0, 0].tolist() == [0, 127, 255] and picture[0, 1].tolist() == [254, 0, 255]


def test_signature_problems_name_the_tensor() -> None:
    good = {name: [d or 1 for d in want] for name, want in animate.INPUTS.items()}
    outs = {name: [d or 1 for d in want] for name, want in animate.OUTPUTS.items()}
    assert animate.signature_problem(good, outs, "g.onnx") is None
    assert animate.signature_problem({**good, "in_src": ["?", 3, "?", "?"]}, outs, "g.onnx") is None
    problem = animate.signature_problem({**good, "in_drv": [1, 3, 128, 128]}, outs, "g.onnx")
    assert problem is not None and "input 'in_drv' is [1, 3, 128, 128], expected [N,3,256,256]" in problem
    problem = animate.signature_problem(good, {"out": outs["out"]}, "g.onnx")
    assert problem is not None and "no output 'out_drv_motion' [N,20]" in problem and "not LIA's" in problem


# -- loading ---------------------------------------------------------------------------------------


def test_registered_with_deepfacelive_params() -> None:
    cls = default_registry().get("swap.animate")
    assert cls is FaceAnimator and cls.category == "swapper" and cls.title == "Face animator"
    params = {p.name: p for p in cls.params}
    assert list(params) == ["device", "animatable", "animator_face_id", "relative_power", "reset_reference_pose"]
    assert (params["animator_face_id"].default, params["animator_face_id"].min, params["animator_face_id"].max) == (
        0,
        0,
        16,
    )
    assert (params["relative_power"].default, params["relative_power"].min, params["relative_power"].max) == (1, 0, 2)
    assert params["reset_reference_pose"].kind == "signal" and params["animatable"].reload
    assert FaceAnimator("a").required_models() == [("lia_generator",)]
    assert models.manifest()["lia_generator"].file == "generator.onnx"


def test_wrong_signature_names_the_node_and_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = tmp_path / "portrait.png"
    cv2.imwrite(str(photo), np.full((300, 200, 3), 90, np.uint8))
    for number, variant in enumerate(({"drv_size": 128}, {"motion_output": "drv_motion"})):
        folder = tmp_path / f"models{number}"
        folder.mkdir()
        ob.build_lia(folder / "generator.onnx", **variant)  # type: ignore[arg-type]
        monkeypatch.setenv("NODESWAP_MODELS", str(folder))
        with pytest.raises(NodeLoadError, match=r"node 'anim': model generator\.onnx: .*(in_drv|out_drv_motion)"):
            loaded(animatable=photo)


def test_animatable_photo_missing_unreadable_or_unset(lia_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(NodeLoadError, match=r"node 'anim': param 'animatable' is empty"):
        loaded()
    with pytest.raises(NodeLoadError, match=r"node 'anim': animatable photo not found: .*nobody\.jpg"):
        loaded(animatable=tmp_path / "nobody.jpg")
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(NodeLoadError, match=r"node 'anim': animatable photo .*notes\.jpg is not an image"):
        loaded(animatable=text)


def test_missing_model_says_how_to_fetch_it(
    tmp_path: Path, photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path))
    monkeypatch.setattr(models, "user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(models, "cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(ModelMissingError, match=r"node 'anim'.*generator\.onnx.*models fetch lia_generator"):
        loaded(animatable=photos[0])


def test_fetch_joins_the_parts_deepfacelive_publishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(models.MIRROR_ENV, raising=False)
    info = models.manifest()["lia_generator"]
    base = info.urls[0]
    assert info.parts == 4 and base.endswith("/modelhub/onnx/LIA/generator.onnx")
    served = {f"{base}.part{n}": bytes([65 + n]) * (n + 3) for n in range(4)}
    asked: list[str] = []

    def download(url: str, progress: object) -> bytes:
        asked.append(url)
        if url not in served:
            raise FileNotFoundError(url)
        return served[url]

    saved = models.fetch("lia_generator", tmp_path / "a", progress=False, download=download)
    assert saved.name == "generator.onnx" and asked == list(served)
    assert saved.read_bytes() == b"AAA" + b"BBBB" + b"CCCCC" + b"DDDDDD"
    del served[f"{base}.part2"]  # one part missing: nothing is saved
    with pytest.raises(UserError, match=r"could not fetch lia_generator: .*part2"):
        models.fetch("lia_generator", tmp_path / "b", progress=False, download=download)
    assert not (tmp_path / "b" / "generator.onnx").exists()
    whole = models.manifest()["yunet"]  # a file in one piece is fetched as before
    monkeypatch.setitem(models.manifest(), "yunet", replace(whole, sha256=None))
    one = models.fetch("yunet", tmp_path / "c", progress=False, download=lambda url, progress: url.encode())
    assert one.read_bytes() == whole.urls[0].encode()


# -- running ---------------------------------------------------------------------------------------


def test_first_frame_gives_the_portrait_in_its_own_pose_rgb_and_in_range(
    lia_dir: Path, photos: list[Path], driving: tuple[np.ndarray, np.ndarray, Face]
) -> None:
    image, _, face = driving
    node = loaded(animatable=photos[0])
    square, w, h = fitted(cv2.imread(str(photos[0])))
    frame = Frame(image, index=7, fps=25.0, source="drive.mp4")
    out = node.process(frame=frame, faces=aligned_faces(image, face))
    picture = out["frame"].image
    assert (out["frame"].index, out["frame"].fps, out["frame"].source) == (7, 25.0, "drive.mp4")
    assert picture.shape == (h, w, 3) == (256, 152, 3) and picture.dtype == np.uint8
    # the reference is this frame's motion: no shift, so the picture is the portrait with R x 1, G x 0.5, B x 0
    still = lia_picture(ob.expected_lia(lia_blob(square), lia_blob(square), np.zeros((1, 20), np.float32), 0.0))
    assert close(picture, still[:h, :w])
    assert close(picture[..., 2], square[:h, :w, 2]) and picture[..., 0].max() == 0  # R kept, B gone: RGB in
    assert picture[..., 1].max() <= 128 < int(square[:h, :w, 1].max())


def test_reference_pose_is_the_first_frame_and_the_button_resets_it(
    lia_dir: Path, photos: list[Path], driving: tuple[np.ndarray, np.ndarray, Face]
) -> None:
    image, dark, face = driving
    node = loaded(animatable=photos[0])
    square, w, h = fitted(cv2.imread(str(photos[0])))
    a, b = aligned_faces(image, face), aligned_faces(dark, face)
    assert a[0].aligned is not None and b[0].aligned is not None
    drv_a, drv_b = lia_blob(a[0].aligned.image), lia_blob(b[0].aligned.image)

    def expected(drv: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return lia_picture(ob.expected_lia(lia_blob(square), drv, ob.expected_lia_motion(reference), 1.0))[:h, :w]

    first = node.process(frame=Frame(image), faces=a)["frame"].image
    moved = node.process(frame=Frame(dark), faces=b)["frame"].image
    assert close(first, expected(drv_a, drv_a)) and close(moved, expected(drv_b, drv_a))
    assert np.abs(moved.astype(int) - first.astype(int)).mean() > 5  # the driver moved away from the reference
    node.values = {**node.values, "reset_reference_pose": 1}  # what the scheduler does on a press
    node.params_changed({"reset_reference_pose"})
    again = node.process(frame=Frame(dark), faces=b)["frame"].image
    assert close(again, expected(drv_b, drv_b)) and close(again, first, tol=2)  # the new reference: no motion
    back = node.process(frame=Frame(image), faces=a)["frame"].image
    assert close(back, expected(drv_a, drv_b))
    node.params_changed({"relative_power"})  # another param: the reference stays
    assert close(node.process(frame=Frame(image), faces=a)["frame"].image, back)


def test_relative_power_scales_the_motion(
    lia_dir: Path, photos: list[Path], driving: tuple[np.ndarray, np.ndarray, Face]
) -> None:
    image, dark, face = driving
    square, w, h = fitted(cv2.imread(str(photos[0])))
    a, b = aligned_faces(image, face), aligned_faces(dark, face)
    assert a[0].aligned is not None and b[0].aligned is not None
    drv_a, drv_b = lia_blob(a[0].aligned.image), lia_blob(b[0].aligned.image)
    pictures = []
    for power in (0.0, 0.5, 2.0):
        node = loaded(animatable=photos[0], relative_power=power)
        node.process(frame=Frame(image), faces=a)
        picture = node.process(frame=Frame(dark), faces=b)["frame"].image
        out = ob.expected_lia(lia_blob(square), drv_b, ob.expected_lia_motion(drv_a), power)
        assert close(picture, lia_picture(out)[:h, :w]), power
        pictures.append(picture.astype(int))
    still, half, double = pictures
    first = lia_picture(ob.expected_lia(lia_blob(square), drv_a, ob.expected_lia_motion(drv_a), 1.0))[:h, :w]
    assert close(still.astype(np.uint8), first)  # no power: the portrait keeps its own pose
    assert np.abs(double - still).mean() > 2 * np.abs(half - still).mean()


def test_output_placement_and_a_face_without_a_crop(
    lia_dir: Path, photos: list[Path], driving: tuple[np.ndarray, np.ndarray, Face]
) -> None:
    image, _, face = driving
    other = replace(face, box=(0.0, 0.0, 10.0, 10.0), track_id=5)
    node = loaded(animatable=photos[1], animator_face_id=1)
    aligned = aligned_faces(image, face)[0]
    out = node.process(frame=Frame(image), faces=(other, aligned))
    kept, driven = out["faces"]
    assert kept is other and driven.aligned is aligned.aligned  # only the driving face changes
    assert driven.swapped.image.shape == (224, 224, 3)  # DeepFaceLive's swapped face: the square in the crop
    portrait = lia_blob(fitted(cv2.imread(str(photos[1])))[0])
    drv = lia_blob(aligned.aligned.image)
    square = lia_picture(ob.expected_lia(portrait, drv, ob.expected_lia_motion(drv), 1.0))
    assert close(driven.swapped.image, cv2.resize(square, (224, 224), interpolation=cv2.INTER_LINEAR))
    assert close(out["frame"].image, square[: node._still.shape[0], : node._still.shape[1]])  # the frame: unpadded
    # no crop upstream: the node cuts one itself, as the face aligner's defaults would at 256 px
    fresh = loaded(animatable=photos[1])
    own = fresh.process(frame=Frame(image), faces=(face,))["faces"][0]
    crop = align_face(image, face, "facemesh", 256, exclude_moving=True)
    assert crop is not None and own.aligned.size == 256 and own.swapped.image.shape == (256, 256, 3)
    assert np.array_equal(own.aligned.image, crop.image)
    # no face to drive: the still portrait, the faces untouched, no reference taken
    idle = loaded(animatable=photos[1], animator_face_id=3)
    result = idle.process(frame=Frame(image), faces=(face,))
    assert result["faces"] == (face,) and np.array_equal(result["frame"].image, idle._still)
    assert idle._reference is None
    bare = Face(box=(10.0, 10.0, 90.0, 90.0))  # nothing to align it by: still, with a warning
    assert np.array_equal(
        loaded(animatable=photos[1]).process(frame=Frame(image), faces=(bare,))["frame"].image, idle._still
    )


# -- the preset --------------------------------------------------------------------------------------


def test_animate_photo_preset_runs_on_a_video(
    lia_dir: Path, tmp_path: Path, obama: Path, photos: list[Path], models_dir: Path
) -> None:
    """graphs/animate_photo.json with its camera swapped for a video: every frame is the animated portrait."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    data = json.loads((root / "graphs" / "animate_photo.json").read_text())
    data["nodes"]["source"] = {**data["nodes"]["source"], "type": "source.media", "params": {"path": str(obama)}}
    graph, stats = tmp_path / "animate.json", tmp_path / "stats.json"
    graph.write_text(json.dumps(data))
    env = {**os.environ, "NODESWAP_MODELS": f"{lia_dir}{os.pathsep}{models_dir}"}
    args = ["run", str(graph), "--offline", "--frames", "12", "--stats", str(stats)]
    proc = subprocess.run(
        [sys.executable, "run.py", *args, "--set", f"animator.animatable={photos[1]}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(stats.read_text())
    assert report["frames"] == 12 and report["dropped"] == 0
    assert all(n["errors"] == 0 for n in report["nodes"].values()), report["nodes"]
    assert report["nodes"]["animator"]["calls"] == report["nodes"]["preview"]["calls"] == 12
    assert report["nodes"]["vcam"]["calls"] == 0  # the virtual camera starts bypassed

"""swap.inswapper and swap.dfm on stand-in ONNX models with the real signatures, on real faces.

The stand-ins (tests/onnx_builders.py) compute known functions of their inputs, so
these tests check the whole path: loading, signature checks, pre-processing
(template, colour order, value range), the emap, outputs and masks, and the
paste-back through the merger.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap import models
from nodeswap.errors import ModelMissingError, NodeLoadError
from nodeswap.node import LoadContext
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.mergers import FaceMerger
from nodeswap.nodes.ops import align, embed
from nodeswap.nodes.swappers import DFMSwapper, InSwapper
from nodeswap.types import Face, Frame
from tests import onnx_builders as ob
from tests.onnx_builders import real_faces


@pytest.fixture(scope="module")
def obama_frame(obama: Path, models_dir: Path) -> tuple[np.ndarray, Face]:
    capture = cv2.VideoCapture(str(obama))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image, real_faces(image, models_dir)[0]


@pytest.fixture
def standins(tmp_path: Path) -> dict[str, Path]:
    return {
        "model": ob.build_inswapper(tmp_path / "inswapper_128.onnx"),
        "recognizer": ob.build_recognizer(tmp_path / "w600k_r50.onnx"),
    }


def loaded(node_class: type, **params: object) -> InSwapper | DFMSwapper:
    node = node_class("swap", {"device": "cpu", **{k: str(v) if isinstance(v, Path) else v for k, v in params.items()}})
    node.load(LoadContext("swap"))
    return node


# -- inswapper -------------------------------------------------------------------------------------


def test_source_identity_is_arcface_times_emap(standins: dict[str, Path], photos: list[Path], models_dir: Path) -> None:
    node = loaded(InSwapper, source=photos[1], **standins)
    photo = cv2.imread(str(photos[1]))
    kps = real_faces(photo, models_dir, landmarks=False)[0].kps
    # canonical ArcFace input: 5-point 112 crop, RGB, (x - 127.5) / 127.5, NCHW
    crop = cv2.warpAffine(photo, align.umeyama(kps, align.ARCFACE_112), (112, 112))
    blob = ((crop[..., ::-1].astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
    identity = embed.normalize(ob.expected_recognition(blob))
    latent = embed.normalize(identity @ ob.inswapper_emap())
    assert node._latent.shape == (1, 512)
    assert np.allclose(node._latent[0], latent, atol=1e-4)
    assert abs(float(node._latent[0] @ identity)) < 0.5  # the emap really changed it


def test_deepfacelive_match_crop_sets_the_source_identity_live(
    standins: dict[str, Path], photos: list[Path], models_dir: Path
) -> None:
    node = loaded(InSwapper, source=photos[1], source_crop="match", **standins)
    photo = cv2.imread(str(photos[1]))
    kps = real_faces(photo, models_dir, landmarks=False)[0].kps
    unit = align.unit_to_frame(None, kps)  # the unit face square in the photo
    for c, x, y in ((1.55, 0.0, -0.15), (1.2, 0.3, 0.1)):
        node.values = {**node.values, "match_c": c, "match_x": x, "match_y": y}
        node.params_changed({"match_c", "match_x", "match_y"})  # no reload: the latent follows at once
        crop = embed.match_crop(photo, kps, c, x, y)
        mat = cv2.invertAffineTransform(align.crop_matrix(unit, "unit", 112, c, x, y))
        corners = align.transform_points(
            align.invert(unit), align.transform_points(mat, np.array([[0, 0], [112, 112]]))
        )
        assert np.allclose(corners.mean(0), [0.5 + x, 0.5 + y], atol=1e-6)  # centre moved in square units
        assert np.allclose(corners[1] - corners[0], [c, c], atol=1e-6)  # C times the square, upright to the face
        blob = ((crop[..., ::-1].astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
        expected = embed.normalize(embed.normalize(ob.expected_recognition(blob)) @ ob.inswapper_emap())
        assert np.allclose(node._latent[0], expected, atol=1e-4)
    arcface = loaded(InSwapper, source=photos[1], **standins)._latent
    assert float(arcface[0] @ node._latent[0]) < 0.999  # a different crop, a different identity vector


def test_inswapper_output_shapes_colours_and_ranges(
    standins: dict[str, Path], photos: list[Path], obama_frame: tuple[np.ndarray, Face]
) -> None:
    image, face = obama_frame
    node = loaded(InSwapper, source=photos[1], **standins)
    out = node.process(frame=Frame(image), faces=(face,))["faces"][0]
    aligned, swapped = out.aligned, out.swapped
    assert aligned.size == 128 and aligned.image.shape == (128, 128, 3)
    assert swapped.image.shape == (128, 128, 3) and swapped.image.dtype == np.uint8
    # the crop is insightface's norm_crop at 128: the 112 template + 8 px in x
    assert np.allclose(aligned.mat, align.umeyama(face.kps, align.ARCFACE_112 + np.array([8.0, 0.0])), atol=1e-6)
    # target fed as RGB [0,1] NCHW; output read as RGB [0,1] and written back as BGR uint8
    target = aligned.image[..., ::-1].astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    expected = ob.expected_inswap(target, node._latent)[0].transpose(1, 2, 0)[..., ::-1] * 255.0
    assert np.abs(swapped.image.astype(float) - expected).max() <= 1.0
    red = aligned.image[..., 2].astype(float)
    k = swapped.image[..., 2].astype(float).sum() / red.sum()
    assert 0.05 < k <= 1.0  # the source latent scales the output
    assert swapped.image[..., 0].max() == 0  # B out = 0 x R in: the colour order is right
    assert np.abs(swapped.image[..., 1] - red * k * 0.5).max() <= 1.5
    assert swapped.mask is None and aligned.mask is not None


def test_inswapper_result_is_pasted_where_the_face_is(
    standins: dict[str, Path], photos: list[Path], obama_frame: tuple[np.ndarray, Face]
) -> None:
    image, face = obama_frame
    swapped = loaded(InSwapper, source=photos[1], **standins).process(frame=Frame(image), faces=(face,))["faces"]
    merger = FaceMerger(
        "merge", {"color_transfer": "none", "erode": 0, "blur": 0, "mask_hull": True, "color_compression": 0.0}
    )
    merged = merger.process(frame=Frame(image), faces=swapped)["frame"].image
    changed = np.abs(merged.astype(int) - image.astype(int)).max(axis=2) > 0
    x, y, w, h = cv2.boundingRect(face.landmarks.astype(np.float32))
    ys, xs = np.nonzero(changed)
    reach = 1 + 2 * np.sqrt(abs(np.linalg.det(swapped[0].aligned.inverse[:, :2])))  # 2 crop pixels of edge
    assert x - reach <= xs.min() and xs.max() <= x + w + reach
    assert y - reach <= ys.min() and ys.max() <= y + h + reach
    nose_x, nose_y = np.round(face.landmarks[1]).astype(int)
    assert merged[nose_y, nose_x, 0] == 0  # the stand-in's blue-free face is there
    crop_nose = align.transform_points(swapped[0].aligned.mat, face.landmarks[1:2])[0]
    expected = swapped[0].swapped.image[round(crop_nose[1]), round(crop_nose[0])]
    assert np.abs(merged[nose_y, nose_x].astype(int) - expected.astype(int)).max() <= 12


def test_inswapper_upstream_alignment_keeps_the_aligners_crop(
    standins: dict[str, Path], photos: list[Path], obama_frame: tuple[np.ndarray, Face]
) -> None:
    image, face = obama_frame
    aligner = FaceAligner("al", {"template": "arcface_128", "resolution": 256})
    face = aligner.process(frame=Frame(image), faces=(face,))["faces"][0]
    out = loaded(InSwapper, source=photos[1], alignment="upstream", **standins).process(
        frame=Frame(image), faces=(face,)
    )["faces"][0]
    assert out.aligned is face.aligned and out.swapped.image.shape == (256, 256, 3)
    assert out.swapped.image[..., 0].max() == 0


def test_missing_inswapper_names_the_model_and_the_fetch_command(
    tmp_path: Path, photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("NODESWAP_MODELS", str(empty))
    monkeypatch.setattr(models, "user_models_dir", lambda: empty)
    monkeypatch.setattr(models, "cache_dir", lambda: empty)
    with pytest.raises(ModelMissingError) as info:
        loaded(InSwapper, source=photos[1])
    message = str(info.value)
    assert "inswapper_128.onnx" in message and "python run.py models fetch inswapper_128" in message
    assert "node 'swap'" in message


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        ({"size": 256}, "input 'target' is [1, 3, 256, 256], expected [N,3,128,128]"),
        ({"target_name": "input"}, "no input 'target' [N,3,128,128]"),
        ({"source_dim": 256}, "input 'source' is [1, 256], expected [N,512]"),
        ({"emap": False}, "last initializer is [1, 3, 1, 1], expected the 512x512 emap"),
    ],
)
def test_wrong_inswapper_signature_is_a_clear_error(
    tmp_path: Path, photos: list[Path], build: dict, expected: str
) -> None:
    model = ob.build_inswapper(tmp_path / "odd.onnx", **build)
    recognizer = ob.build_recognizer(tmp_path / "rec.onnx")
    with pytest.raises(NodeLoadError) as info:
        loaded(InSwapper, source=photos[1], model=model, recognizer=recognizer)
    assert expected in str(info.value) and "odd.onnx" in str(info.value)


def test_inswapper_without_a_source_photo_says_so(standins: dict[str, Path]) -> None:
    with pytest.raises(NodeLoadError, match="'source' is empty"):
        loaded(InSwapper, **standins)


def test_inswapper_source_errors(standins: dict[str, Path], tmp_path: Path, models_dir: Path) -> None:
    """A photo without a face, a missing or wrong recognizer (YuNet reads the photo: needs the models)."""
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 200, np.uint8))
    with pytest.raises(NodeLoadError, match="no face found in the source photo"):
        loaded(InSwapper, source=blank, **standins)
    with pytest.raises(NodeLoadError, match="param 'recognizer': file not found"):
        loaded(InSwapper, source=blank, model=standins["model"], recognizer=tmp_path / "none.onnx")
    with pytest.raises(NodeLoadError, match=r"recognizer rec_wrong\.onnx: expected one input"):
        loaded(
            InSwapper, source=blank, model=standins["model"], recognizer=ob.build_inswapper(tmp_path / "rec_wrong.onnx")
        )


# -- DFM -------------------------------------------------------------------------------------------


def test_dfm_aligns_itself_and_returns_bgr_face_and_masks(tmp_path: Path, obama_frame: tuple[np.ndarray, Face]) -> None:
    image, face = obama_frame
    node = loaded(DFMSwapper, model=ob.build_dfm(tmp_path / "celeb.dfm", res=64))
    assert node.resolution == 64
    out = node.process(frame=Frame(image), faces=(face,))["faces"][0]
    assert out.aligned.size == 64  # DFL whole face at the model's resolution
    eyes = align.transform_points(out.aligned.mat, face.kps[:2])
    assert 0.3 < eyes[:, 1].mean() / 64 < 0.5
    crop = out.aligned.image.astype(int)
    assert np.abs(out.swapped.image.astype(int) - crop[..., ::-1]).max() <= 1  # BGR in [0,1], BGR out
    left, top = ob.dfm_masks(64)
    assert np.array_equal(out.swapped.target_mask, left) and np.array_equal(out.swapped.mask, top)


def test_dfm_morph_gamma_sharpen_and_two_pass(tmp_path: Path, obama_frame: tuple[np.ndarray, Face]) -> None:
    image, face = obama_frame
    model = ob.build_dfm(tmp_path / "amp.dfm", res=64, morph=True)
    node = loaded(DFMSwapper, model=model, morph_factor=0.5)
    out = node.process(frame=Frame(image), faces=(face,))["faces"][0]
    crop = out.aligned.image.astype(float)
    assert np.abs(out.swapped.image - crop[..., ::-1] * 0.5).max() <= 1.0
    node.values = {**node.values, "morph_factor": 1.0, "pre_gamma_r": 2.0}  # R in -> B out, brightened
    out = node.process(frame=Frame(image), faces=(face,))["faces"][0]
    assert np.abs(out.swapped.image[..., 0] - 255 * (crop[..., 2] / 255) ** 0.5).max() <= 1.0
    node.values = {**node.values, "pre_gamma_r": 1.0, "two_pass": True}  # swapped twice: the crop again
    assert np.abs(node.process(frame=Frame(image), faces=(face,))["faces"][0].swapped.image - crop).max() <= 1.0
    node.values = {**node.values, "two_pass": False, "pre_sharpen": 2.0, "post_gamma_g": 0.5}
    sharp = node.process(frame=Frame(image), faces=(face,))["faces"][0].swapped.image
    assert sharp[..., 0].std() > out.swapped.image[..., 0].std()  # more contrast in detail
    assert sharp[..., 1].mean() < crop[..., 1].mean() - 10  # post gamma 0.5 darkens G


def test_dfm_uses_the_upstream_crop_and_masks_feed_the_merger(
    tmp_path: Path, obama_frame: tuple[np.ndarray, Face]
) -> None:
    image, face = obama_frame
    face = FaceAligner("al", {"template": "dfl_whole_face", "resolution": 128}).process(
        frame=Frame(image), faces=(face,)
    )["faces"][0]
    node = loaded(DFMSwapper, model=ob.build_dfm(tmp_path / "celeb.dfm", res=64))
    out = node.process(frame=Frame(image), faces=(face,))["faces"][0]
    assert out.aligned is face.aligned
    assert out.swapped.image.shape == (128, 128, 3) and out.swapped.mask.shape == (128, 128)
    merger = FaceMerger(
        "merge", {"mask_hull": False, "erode": 0, "blur": 0, "color_transfer": "none", "color_compression": 0.0}
    )
    merged = merger.process(frame=Frame(image), faces=(out,))["frame"].image
    ys, xs = np.nonzero(np.abs(merged.astype(int) - image.astype(int)).max(axis=2) > 0)
    crop_points = align.transform_points(out.aligned.mat, np.column_stack([xs, ys]).astype(float))
    assert len(xs) > 500
    assert crop_points[:, 0].max() < 66 and crop_points[:, 1].max() < 66  # top-left quadrant of 128
    assert crop_points.min() > -2


def test_dfm_model_lookup_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, obama_frame: tuple[np.ndarray, Face]
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    ob.build_dfm(folder / "Someone_224.dfm", res=32)
    monkeypatch.setenv("NODESWAP_MODELS", str(folder))
    assert loaded(DFMSwapper, model="Someone_224.dfm").resolution == 32  # a bare name from the model folders
    with pytest.raises(NodeLoadError, match=r"'model' is empty.*Someone_224\.dfm"):
        loaded(DFMSwapper)
    with pytest.raises(ModelMissingError, match=r"'nobody\.dfm' not found .*put the file in one of those folders"):
        loaded(DFMSwapper, model="nobody.dfm")  # a name: looked up in the model folders
    with pytest.raises(NodeLoadError, match=r"file not found: .*nobody\.dfm"):
        loaded(DFMSwapper, model=tmp_path / "nobody.dfm")  # a path
    # one of DeepFaceLive's public models, not downloaded: the error names the command that fetches it
    with pytest.raises(ModelMissingError, match=r"Keanu_Reeves\.dfm.*run: python run\.py models fetch Keanu_Reeves"):
        loaded(DFMSwapper, model="Keanu_Reeves.dfm")
    assert DFMSwapper("s", {"model": "Keanu_Reeves.dfm"}).required_models() == [("Keanu_Reeves.dfm",)]
    assert DFMSwapper("s", {"model": str(folder / "Someone_224.dfm")}).required_models() == []  # a path
    # the model param offers the catalogue and what the folders hold, looked up each time it is asked
    options = DFMSwapper.param_spec("model").options
    assert "Keanu_Reeves.dfm" in options() and "Someone_224.dfm" in options() and "Later.dfm" not in options()
    ob.build_dfm(folder / "Later.dfm", res=32)
    assert "Later.dfm" in options()
    odd = ob.build_inswapper(tmp_path / "odd.dfm")
    with pytest.raises(NodeLoadError, match=r"odd\.dfm: expected input 'in_face:0'"):
        loaded(DFMSwapper, model=odd)
    bare = Face(box=obama_frame[1].box)  # nothing to align from: passes unchanged
    node = loaded(DFMSwapper, model="Someone_224.dfm")
    assert node.process(frame=Frame(obama_frame[0]), faces=(bare,))["faces"][0] is bare
    assert replace(bare).swapped is None


# -- a whole graph ---------------------------------------------------------------------------------


def test_graph_detect_mark_align_select_swap_merge_overlay(tmp_path: Path, obama: Path, models_dir: Path) -> None:
    """The nodes wired as a user would, run by the CLI's offline scheduler on real video."""
    import json

    from nodeswap import cli

    capture = cv2.VideoCapture(str(obama))
    originals = []
    for _ in range(6):
        originals.append(capture.read()[1])
    capture.set(cv2.CAP_PROP_POS_FRAMES, 200)
    cv2.imwrite(str(tmp_path / "reference.png"), capture.read()[1])  # the same man, later
    capture.release()
    model = ob.build_dfm(tmp_path / "standin.dfm", res=96)
    nodes = {
        "src": ("source.media", {"path": str(obama), "end": 6}),
        "det": ("detect.face", {"device": "cpu"}),
        "mark": ("mark.face", {"device": "cpu"}),
        "align": ("align.face", {"template": "dfl_whole_face", "resolution": 96}),
        "pick": ("select.faces", {"mode": "reference", "reference": str(tmp_path / "reference.png"), "device": "cpu"}),
        "swap": ("swap.dfm", {"model": str(model), "device": "cpu"}),
        "merge": ("merge.faces", {"mask_hull": False, "erode": 0, "blur": 0, "color_transfer": "none"}),
        "overlay": ("utility.overlay", {"landmarks": False, "labels": False, "pose": False, "keypoints": False}),
        "out": ("sink.images", {"path": str(tmp_path / "frames")}),
    }
    links = [("src.frame", n + ".frame") for n in ("det", "mark", "align", "pick", "swap", "merge")]
    links += [
        ("det.faces", "mark.faces"),
        ("mark.faces", "align.faces"),
        ("align.faces", "pick.faces"),
        ("pick.faces", "swap.faces"),
        ("swap.faces", "merge.faces"),
        ("merge.frame", "overlay.frame"),
        ("swap.faces", "overlay.faces"),
        ("overlay.frame", "out.frame"),
    ]
    graph = {
        "format": "nodeswap.graph",
        "version": 1,
        "nodes": {k: {"type": t, "params": p} for k, (t, p) in nodes.items()},
        "links": [{"from": a, "to": b} for a, b in links],
    }
    (tmp_path / "graph.json").write_text(json.dumps(graph))
    assert cli.main(["run", str(tmp_path / "graph.json"), "--offline", "--stats", str(tmp_path / "stats.json")]) == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames"] == 6 and not any(n["errors"] for n in stats["nodes"].values()), stats["nodes"]
    written = sorted((tmp_path / "frames").glob("*.png"))
    assert len(written) == 6
    for path, original in zip(written, originals, strict=True):
        image = cv2.imread(str(path))
        face = real_faces(original, models_dir, landmarks=False)[0]
        changed = np.abs(image.astype(int) - original.astype(int)).max(axis=2) > 40
        x1, y1, x2, y2 = (int(v) for v in face.box)
        inside = changed[y1:y2, x1:x2].mean()
        changed[max(y1 - 60, 0) : y2 + 60, max(x1 - 60, 0) : x2 + 60] = False
        assert inside > 0.05 and changed.mean() < 0.002  # the swap (and the box) on the face, nothing elsewhere

"""swap.dfm against DeepFaceLive's FaceSwapDFM, for every pre- and post-processing setting, on real aligned crops,
with models of the .dfm signature smaller and larger than the crop (a small convolution net built here, and a model
that nodeswap's trainer exports). The reference below is written out from DeepFaceLive's FaceSwapDFM.on_tick,
DFMModel.convert and ImageProcessor, step by step, independently of nodeswap/nodes/ops/dfm_process.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nodeswap.node import LoadContext
from nodeswap.nodes.swappers import DFMSwapper
from nodeswap.runtime import session
from nodeswap.types import Aligned, Face


def conv_dfm(path: Path, res: int, morph: bool = False, seed: int = 0, out_scale: float = 1.0) -> Path:
    """A .dfm stand-in that mixes neighbouring pixels (a 3x3 convolution and a sigmoid), so that any difference
    in resizing, rounding or the order of steps shows in its output; ``out_scale`` resizes its outputs (a model
    whose outputs are not at its input size)."""
    rng = np.random.default_rng(seed)
    weights = {
        "w_face": rng.normal(0, 0.6, (3, 3, 3, 3)).astype(np.float32),
        "w_masks": rng.normal(0, 0.6, (2, 3, 3, 3)).astype(np.float32),
        "perm_in": np.array([0, 3, 1, 2], np.int64),
    }
    nodes = [
        helper.make_node("Transpose", ["in_face:0"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w_face"], ["face_raw"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["nchw", "w_masks"], ["masks_raw"], pads=[1, 1, 1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("in_face:0", TensorProto.FLOAT, ["N", res, res, 3])]
    face = "face_raw"
    if morph:
        inputs.append(helper.make_tensor_value_info("morph_value:0", TensorProto.FLOAT, [1]))
        nodes.append(helper.make_node("Mul", ["face_raw", "morph_value:0"], ["face_morphed"]))
        face = "face_morphed"
    nodes += [
        helper.make_node("Sigmoid", [face], ["face_sig"]),
        helper.make_node("Sigmoid", ["masks_raw"], ["masks_sig"]),
    ]
    if out_scale != 1.0:
        weights["scales"] = np.array([1, 1, out_scale, out_scale], np.float32)
        for name in ("face_sig", "masks_sig"):
            nodes.append(helper.make_node("Resize", [name, "", "scales"], [name + "_r"], mode="linear"))
            nodes.append(helper.make_node("Identity", [name + "_r"], [name + "_out"]))
    else:
        nodes += [helper.make_node("Identity", [n], [n + "_out"]) for n in ("face_sig", "masks_sig")]
    nodes += [
        helper.make_node("Transpose", ["face_sig_out"], ["out_celeb_face:0"], perm=[0, 2, 3, 1]),
        helper.make_node("Split", ["masks_sig_out"], ["m0", "m1"], axis=1, num_outputs=2),
        helper.make_node("Transpose", ["m0"], ["out_face_mask:0"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["m1"], ["out_celeb_face_mask:0"], perm=[0, 2, 3, 1]),
    ]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", None, None, c])
        for name, c in (("out_face_mask:0", 1), ("out_celeb_face:0", 3), ("out_celeb_face_mask:0", 1))
    ]
    graph = helper.make_graph(
        nodes, "dfm", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in weights.items() if k != "perm_in"]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, str(path))
    return path


def reference_swap(sess: Any, crop: np.ndarray, res: int, s: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """DeepFaceLive's FaceSwapDFM on one aligned crop; ``s`` holds DeepFaceLive's settings by its names."""
    img = crop
    if s["presharpen_amount"] != 0:
        f = img.astype(np.float32) / 255.0
        f = cv2.addWeighted(
            f, 1.0 + s["presharpen_amount"], cv2.GaussianBlur(f, (0, 0), 1.0), -s["presharpen_amount"], 0
        )
        img = (np.clip(np.clip(f, 0, 1) * 255.0, 0, 255)).astype(np.uint8)
    r, g, b = s["pre_gamma_red"], s["pre_gamma_green"], s["pre_gamma_blue"]
    if (r, g, b) != (1.0, 1.0, 1.0):
        f = np.clip(np.power(img.astype(np.float32) / 255.0, np.array([1 / b, 1 / g, 1 / r], np.float32)), 0, 1)
        img = np.clip(f * 255.0, 0, 255).astype(np.uint8)

    def convert(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        x = image if (h, w) == (res, res) else cv2.resize(image, (res, res), interpolation=cv2.INTER_LINEAR)
        feed = {"in_face:0": (x.astype(np.float32) / 255.0)[None]}
        if "morph_value:0" in [i.name for i in sess.get_inputs()]:
            feed["morph_value:0"] = np.float32([s["morph_factor"]])
        face_mask, celeb, celeb_mask = sess.run(None, feed)  # by position, as DFMModel.convert

        def back(out: np.ndarray) -> np.ndarray:
            out = out[0]
            if out.shape[:2] != (h, w):
                out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
            return np.clip(out * 255.0, 0, 255).astype(np.uint8)

        return back(celeb), back(celeb_mask), back(face_mask)

    celeb, celeb_mask, face_mask = convert(img)
    if s["two_pass"]:
        celeb, celeb_mask, _ = convert(celeb)
    # FaceSwapDFM calls gamma(post_gamma_red, post_gamma_blue, post_gamma_green) on gamma(red, green, blue)
    r, g, b = s["post_gamma_red"], s["post_gamma_blue"], s["post_gamma_green"]
    if (s["post_gamma_red"], s["post_gamma_green"], s["post_gamma_blue"]) != (1.0, 1.0, 1.0):
        f = np.clip(np.power(celeb.astype(np.float32) / 255.0, np.array([1 / b, 1 / g, 1 / r], np.float32)), 0, 1)
        celeb = np.clip(f * 255.0, 0, 255).astype(np.uint8)
    return celeb, celeb_mask.reshape(celeb.shape[:2]), face_mask.reshape(celeb.shape[:2])


DEFAULTS = {
    "morph_factor": 0.75,
    "presharpen_amount": 0.0,
    "pre_gamma_red": 1.0,
    "pre_gamma_green": 1.0,
    "pre_gamma_blue": 1.0,
    "post_gamma_red": 1.0,
    "post_gamma_green": 1.0,
    "post_gamma_blue": 1.0,
    "two_pass": False,
}
SETTINGS = {
    "defaults": {},
    "morph": {"morph_factor": 0.3},
    "pre_sharpen": {"presharpen_amount": 2.5},
    "pre_gamma": {"pre_gamma_red": 1.6, "pre_gamma_green": 0.7, "pre_gamma_blue": 1.2},
    "post_gamma": {"post_gamma_red": 0.8, "post_gamma_green": 1.7, "post_gamma_blue": 0.6},
    "two_pass": {"two_pass": True},
    "all": {
        "morph_factor": 0.5,
        "presharpen_amount": 1.5,
        "pre_gamma_red": 1.3,
        "pre_gamma_blue": 0.8,
        "post_gamma_green": 1.4,
        "post_gamma_blue": 0.9,
        "two_pass": True,
    },
}


def node_params(settings: dict[str, Any]) -> dict[str, Any]:
    """DeepFaceLive's settings as docs/DEEPFACELIVE.md maps them onto swap.dfm."""
    s = {**DEFAULTS, **settings}
    return {
        "morph_factor": s["morph_factor"],
        "pre_sharpen": s["presharpen_amount"],
        "pre_gamma_r": s["pre_gamma_red"],
        "pre_gamma_g": s["pre_gamma_green"],
        "pre_gamma_b": s["pre_gamma_blue"],
        "post_gamma_r": s["post_gamma_red"],
        "post_gamma_g": s["post_gamma_blue"],  # DeepFaceLive's blue slider acts on green
        "post_gamma_b": s["post_gamma_green"],
        "two_pass": s["two_pass"],
    }


@pytest.fixture(scope="module")
def crops(media_dir: Path) -> list[np.ndarray]:
    """DeepFaceLive's own 224 px aligned crops of real faces."""
    frames = sorted((media_dir / "dfl_reference" / "frames").iterdir())
    return [cv2.imread(str(folder / "crop_defaults.png")) for folder in frames[::8]]


def check(model: Path, res: int, crops: list[np.ndarray], tolerance: float = 0.0) -> dict[str, float]:
    sess = session(model, "cpu")
    worst: dict[str, float] = {}
    for name, settings in SETTINGS.items():
        node = DFMSwapper("swap", {"model": str(model), "device": "cpu", **node_params(settings)})
        node.load(LoadContext("swap"))
        for crop in crops:
            aligned = Aligned(image=crop, mat=np.eye(2, 3), inverse=np.eye(2, 3), size=crop.shape[0])
            swapped = node.swap_face(crop, Face(box=(0, 0, 1, 1), aligned=aligned)).swapped
            assert swapped is not None
            celeb, celeb_mask, face_mask = reference_swap(sess, crop, res, {**DEFAULTS, **settings})
            mad = max(
                float(np.abs(swapped.image.astype(int) - celeb.astype(int)).mean()),
                float(np.abs(swapped.mask * 255.0 - celeb_mask).mean()),
                float(np.abs(swapped.target_mask * 255.0 - face_mask).mean()),
            )
            worst[name] = max(worst.get(name, 0.0), mad)
    for name, mad in worst.items():
        assert mad <= tolerance, (name, mad)
    return worst


@pytest.mark.parametrize("res", [128, 320])
def test_every_setting_gives_deepfacelives_swap_for_smaller_and_larger_models(
    tmp_path: Path, crops: list[np.ndarray], res: int
) -> None:
    check(conv_dfm(tmp_path / f"m{res}.dfm", res, morph=True), res, crops, tolerance=0.01)


def test_a_model_of_the_crops_size_without_morph(tmp_path: Path, crops: list[np.ndarray]) -> None:
    check(conv_dfm(tmp_path / "m224.dfm", 224, morph=False, seed=3), 224, crops, tolerance=0.01)


def test_a_model_the_trainer_exports(tmp_path: Path, crops: list[np.ndarray]) -> None:
    torch = pytest.importorskip("torch")
    from nodeswap.trainer.export import onnx_bytes
    from nodeswap.trainer.models import build_model
    from nodeswap.trainer.options import ModelOptions

    torch.manual_seed(0)
    model = build_model(ModelOptions("amp", 96, 32, 8, 8, 16, 64)).eval()
    path = tmp_path / "trained.dfm"
    path.write_bytes(onnx_bytes(model))
    check(path, 96, crops[:2], tolerance=0.01)


def test_a_model_whose_outputs_are_larger_than_its_input(tmp_path: Path, crops: list[np.ndarray]) -> None:
    """DeepFaceLive resizes each output from its own size to the crop's: a 96 px input with 192 px outputs."""
    check(conv_dfm(tmp_path / "m96x2.dfm", 96, morph=True, seed=5, out_scale=2.0), 96, crops[:2], tolerance=0.01)


def test_a_320_px_crop_with_a_224_px_model(tmp_path: Path, media_dir: Path) -> None:
    """The aligner at resolution 320 (DeepFaceLive's res320_cov1.8 crops) in front of a 224 px model."""
    frames = sorted((media_dir / "dfl_reference" / "frames").iterdir())
    crops = [cv2.imread(str(folder / "crop_res320_cov1.8.png")) for folder in frames[3::12]]
    assert all(crop.shape == (320, 320, 3) for crop in crops)
    check(conv_dfm(tmp_path / "m224m.dfm", 224, morph=True, seed=7), 224, crops, tolerance=0.01)


def test_outputs_named_otherwise_are_read_by_position(tmp_path: Path, crops: list[np.ndarray]) -> None:
    """DeepFaceLive takes a DFM's three outputs in order, whatever their names: so does swap.dfm."""
    path = conv_dfm(tmp_path / "named.dfm", 128, morph=True, seed=9)
    model = onnx.load(str(path))
    renames = {"out_face_mask:0": "mask_a", "out_celeb_face:0": "face", "out_celeb_face_mask:0": "mask_b"}
    for node in model.graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
    for value in model.graph.output:
        value.name = renames[value.name]
    onnx.save(model, str(path))
    check(path, 128, crops[:2], tolerance=0.01)

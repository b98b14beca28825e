"""S3FD (DeepFaceLive's detector) on a model the test builds with its signature: one input, six
(class, box) output pairs at strides 4..128. The real file is not on the test machines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nodeswap.node import LoadContext
from nodeswap.nodes.detectors import FaceDetector
from nodeswap.nodes.ops import detect
from nodeswap.types import Frame

STRIDES = (4, 8, 16, 32, 64, 128)
SHIFT = 0.5  # the stand-in's x offset: the box centre moves 0.5 x 0.1 x the prior size


def build_s3fd(path: Path, live_stride: int = 16) -> Path:
    """An S3FD stand-in: at ``live_stride`` the face score is the mean of the blue channel (after S3FD's mean
    subtraction) over the cell, / 151 (white = 1); the other strides score 0. Box offsets: dx = SHIFT."""
    nodes = [helper.make_node("Slice", ["input", "c0", "c1", "axis1"], ["blue"])]
    outputs, inits = (
        [],
        [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (("c0", [0]), ("c1", [1]), ("axis1", [1]))],
    )
    inits += [
        numpy_helper.from_array(np.float32(v), n)
        for n, v in (("norm", 1 / 151), ("one", 1.0), ("zero", 0.0), ("shift", SHIFT))
    ]
    for stride in STRIDES:
        s = str(stride)
        nodes += [
            helper.make_node(
                "AveragePool", ["blue"], [f"pool{s}"], kernel_shape=[stride, stride], strides=[stride, stride]
            ),
            helper.make_node("Mul", [f"pool{s}", "norm" if stride == live_stride else "zero"], [f"raw{s}"]),
            helper.make_node("Clip", [f"raw{s}", "zero", "one"], [f"p{s}"]),
            helper.make_node("Sub", ["one", f"p{s}"], [f"q{s}"]),
            helper.make_node("Concat", [f"q{s}", f"p{s}"], [f"cls{s}"], axis=1),
            helper.make_node("Mul", [f"p{s}", "zero"], [f"z{s}"]),
            helper.make_node("Add", [f"z{s}", "shift"], [f"dx{s}"]),
            helper.make_node("Concat", [f"dx{s}", f"z{s}", f"z{s}", f"z{s}"], [f"reg{s}"], axis=1),
        ]
        outputs += [
            helper.make_tensor_value_info(f"cls{s}", TensorProto.FLOAT, [1, 2, "h", "w"]),
            helper.make_tensor_value_info(f"reg{s}", TensorProto.FLOAT, [1, 4, "h", "w"]),
        ]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])]
    model = helper.make_model(
        helper.make_graph(nodes, "s3fd_standin", inputs, outputs, inits), opset_imports=[helper.make_opsetid("", 13)]
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def one_white_cell(x: int, y: int, side: int, size: tuple[int, int] = (256, 320)) -> np.ndarray:
    image = np.zeros((*size, 3), np.uint8)
    image[y : y + side, x : x + side] = 255
    return image


def test_s3fd_decode_places_a_prior_of_four_strides_with_its_offsets() -> None:
    score = np.zeros((1, 2, 4, 4), np.float32)
    score[0, 1, 2, 1] = 0.9
    reg = np.zeros((1, 4, 4, 4), np.float32)
    reg[:, 0] = 0.5  # x: + 0.5 x 0.1 x 64
    reg[:, 3] = np.log(1.5) / 0.2  # height x 1.5
    outputs = [np.zeros((1, 2, 1, 1), np.float32), np.zeros((1, 4, 1, 1), np.float32)] * 6
    outputs[4:6] = [score, reg]  # stride 16
    found = detect.decode_s3fd(outputs, 0.5)
    assert found.kps is None and found.scores.tolist() == pytest.approx([0.9])
    cx, cy, height = 16 + 8 + 3.2, 32 + 8, 96.0
    expected = [cx - 32, cy - height / 2, cx + 32, cy + height / 2 + height * 0.1]
    assert found.boxes[0].tolist() == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="12 outputs"):
        detect.decode_s3fd(outputs[:10], 0.5)


@pytest.mark.parametrize("window", [0, 480, 160])
def test_the_detector_runs_s3fd_from_the_model_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    build_s3fd(tmp_path / "S3FD.onnx")
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path))
    node = FaceDetector("det", {"model": "s3fd", "smoothing": False, "window": window, "device": "cpu"})
    node.load(LoadContext("det"))
    scale = 1.0 if window in (0, 480) else 160 / 320  # 0: the frame's own size; never enlarged
    faces = node.process(frame=Frame(one_white_cell(128, 96, round(16 / scale))))["faces"]
    assert len(faces) == 1 and faces[0].kps is None
    cx, cy = 128 + (8 + SHIFT * 0.1 * 64) / scale, 96 + 8 / scale
    half = 32 / scale
    assert faces[0].box == pytest.approx((cx - half, cy - half, cx + half, cy + half * 1.2), abs=1.5 / scale)
    node.unload()

"""Small ONNX models with the signatures of real swapper models, and real faces for tests.

The real inswapper_128 / w600k_r50 / DFM files are not on the test machines, so
these builders make stand-ins with exactly their input/output names and shapes
whose outputs are known functions of the inputs. Tests then check the whole
path: loading, shapes, colour order, value ranges, the emap, the paste-back.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nodeswap.runtime import session
from nodeswap.types import Face

OPSET = 13
INSWAP_GAIN = np.array([1.0, 0.5, 0.0], np.float32)  # output RGB = target R times these


def _const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# -- inswapper -------------------------------------------------------------------------------------


def inswap_probe(seed: int = 1) -> np.ndarray:
    """The unit vector the stand-in inswapper dots the source latent with."""
    vec = np.random.default_rng(seed).normal(size=512).astype(np.float32)
    return vec / np.linalg.norm(vec)


def inswapper_emap(seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(512, 512)).astype(np.float32) / 20.0


def expected_inswap(target_rgb: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """What the stand-in returns: (1,3,128,128) = target's R channel x INSWAP_GAIN x k,
    k = clip(0.5 + 2 * latent . probe, 0, 1)."""
    k = float(np.clip(0.5 + 2.0 * latent.reshape(-1) @ inswap_probe(), 0.0, 1.0))
    red = target_rgb[:, 0:1]
    return red * INSWAP_GAIN.reshape(1, 3, 1, 1) * k


def build_inswapper(
    path: Path, size: int = 128, target_name: str = "target", source_dim: int = 512, emap: bool = True
) -> Path:
    """An inswapper stand-in: target [1,3,size,size], source [1,source_dim] -> output [1,3,size,size].

    The last initializer is the 512x512 emap (unused by the graph, as in the real file).
    """
    probe = inswap_probe()[:source_dim].reshape(source_dim, 1)
    nodes = [
        helper.make_node("MatMul", ["source", "probe"], ["dot"]),  # [1,1]
        helper.make_node("Mul", ["dot", "two"], ["dot2"]),
        helper.make_node("Add", ["dot2", "half"], ["k_raw"]),
        helper.make_node("Clip", ["k_raw", "zero", "one"], ["k"]),
        helper.make_node("Reshape", ["k", "k_shape"], ["k4"]),  # [1,1,1,1]
        helper.make_node("Slice", [target_name, "s0", "s1", "axis1"], ["red"]),  # [1,1,H,W]
        helper.make_node("Mul", ["red", "gain"], ["tinted"]),  # [1,3,H,W]
        helper.make_node("Mul", ["tinted", "k4"], ["output"]),
    ]
    inits = [
        _const("probe", probe),
        _const("two", np.float32(2.0)),
        _const("half", np.float32(0.5)),
        _const("zero", np.float32(0.0)),
        _const("one", np.float32(1.0)),
        _const("k_shape", np.array([1, 1, 1, 1], np.int64)),
        _const("s0", np.array([0], np.int64)),
        _const("s1", np.array([1], np.int64)),
        _const("axis1", np.array([1], np.int64)),
        _const("gain", INSWAP_GAIN.reshape(1, 3, 1, 1)),
    ]
    if emap:
        inits.append(_const("emap", inswapper_emap()))
    graph = helper.make_graph(
        nodes,
        "inswapper_standin",
        [
            helper.make_tensor_value_info(target_name, TensorProto.FLOAT, [1, 3, size, size]),
            helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, source_dim]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, size, size])],
        inits,
    )
    return _save(graph, path)


def recognizer_weights(seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(147, 512)).astype(np.float32)


def expected_recognition(blob: np.ndarray) -> np.ndarray:
    """The stand-in recogniser's output for a (1,3,112,112) input: 16x16 average pool, flatten, matmul."""
    pooled = blob.reshape(1, 3, 7, 16, 7, 16).mean(axis=(3, 5)).reshape(1, 147)
    return pooled @ recognizer_weights()


def build_recognizer(path: Path) -> Path:
    """A w600k_r50 stand-in: input.1 [1,3,112,112] -> [1,512] (pooled pixels times a fixed matrix)."""
    nodes = [
        helper.make_node("AveragePool", ["input.1"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("Reshape", ["pooled", "flat"], ["vec"]),
        helper.make_node("MatMul", ["vec", "w"], ["683"]),
    ]
    graph = helper.make_graph(
        nodes,
        "w600k_standin",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [1, 512])],
        [_const("flat", np.array([1, 147], np.int64)), _const("w", recognizer_weights())],
    )
    return _save(graph, path)


# -- DFM -------------------------------------------------------------------------------------------


def dfm_masks(res: int) -> tuple[np.ndarray, np.ndarray]:
    """(out_face_mask, out_celeb_face_mask) of the stand-in: left half and top half of the crop."""
    left = np.zeros((res, res), np.float32)
    left[:, : res // 2] = 1.0
    top = np.zeros((res, res), np.float32)
    top[: res // 2] = 1.0
    return left, top


def build_dfm(path: Path, res: int = 64, morph: bool = False) -> Path:
    """A DFM stand-in: in_face:0 [N,res,res,3] (+ morph_value:0 [1]) ->
    out_face_mask:0 (left half), out_celeb_face:0 (in_face with B and R swapped, x morph),
    out_celeb_face_mask:0 (top half)."""
    left, top = dfm_masks(res)
    nodes = [
        helper.make_node("Gather", ["in_face:0", "rev"], ["swapped_rb"], axis=3),
        helper.make_node("Slice", ["in_face:0", "s0", "s1", "axis3"], ["chan0"]),
        helper.make_node("Mul", ["chan0", "zero"], ["zeros"]),  # [N,res,res,1], keeps the batch
        helper.make_node("Add", ["zeros", "left"], ["out_face_mask:0"]),
        helper.make_node("Add", ["zeros", "top"], ["out_celeb_face_mask:0"]),
    ]
    inputs = [helper.make_tensor_value_info("in_face:0", TensorProto.FLOAT, ["N", res, res, 3])]
    if morph:
        nodes.append(helper.make_node("Mul", ["swapped_rb", "morph_value:0"], ["out_celeb_face:0"]))
        inputs.append(helper.make_tensor_value_info("morph_value:0", TensorProto.FLOAT, [1]))
    else:
        nodes.append(helper.make_node("Identity", ["swapped_rb"], ["out_celeb_face:0"]))
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", res, res, channels])
        for name, channels in (("out_face_mask:0", 1), ("out_celeb_face:0", 3), ("out_celeb_face_mask:0", 1))
    ]
    inits = [
        _const("rev", np.array([2, 1, 0], np.int64)),
        _const("s0", np.array([0], np.int64)),
        _const("s1", np.array([1], np.int64)),
        _const("axis3", np.array([3], np.int64)),
        _const("zero", np.float32(0.0)),
        _const("left", left.reshape(1, res, res, 1)),
        _const("top", top.reshape(1, res, res, 1)),
    ]
    return _save(helper.make_graph(nodes, "dfm_standin", inputs, outputs, inits), path)


# -- LIA (DeepFaceLive's face animator) ------------------------------------------------------------

LIA_GAIN = np.array([1.0, 0.5, 0.0], np.float32)  # the stand-in's out, RGB: (in_src + 1) x these - 1, + shift


def lia_weights(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(motion [3,20], shift [20,3]): out_drv_motion = channel means of in_drv @ motion; the colour shift of out
    is (motion - in_drv_start_motion) x in_power @ shift."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 20)).astype(np.float32) * 4.0, rng.normal(size=(20, 3)).astype(np.float32) * 0.05


def expected_lia_motion(drv: np.ndarray) -> np.ndarray:
    return drv.mean(axis=(2, 3)) @ lia_weights()[0]


def expected_lia(src: np.ndarray, drv: np.ndarray, start: np.ndarray, power: float) -> np.ndarray:
    """What the stand-in's ``out`` is for these inputs ([1,3,256,256] blobs, [1,20] start motion)."""
    shift = ((expected_lia_motion(drv) - start) * power) @ lia_weights()[1]
    return (src + 1.0) * LIA_GAIN.reshape(1, 3, 1, 1) - 1.0 + shift.reshape(1, 3, 1, 1)


def build_lia(path: Path, drv_size: int = 256, motion_output: str = "out_drv_motion") -> Path:
    """A LIA generator stand-in with DeepFaceLive's signature: in_src, in_drv [1,3,256,256], in_drv_start_motion
    [1,20], in_power [1] -> out [1,3,256,256], out_drv_motion [1,20] (see expected_lia)."""
    motion, shift = lia_weights()
    nodes = [
        helper.make_node("ReduceMean", ["in_drv"], ["means"], axes=[2, 3], keepdims=0),  # [1,3]
        helper.make_node("MatMul", ["means", "motion"], [motion_output]),  # [1,20]
        helper.make_node("Sub", [motion_output, "in_drv_start_motion"], ["delta"]),
        helper.make_node("Mul", ["delta", "in_power"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "shift"], ["rgb_shift"]),  # [1,3]
        helper.make_node("Reshape", ["rgb_shift", "shape4"], ["shift4"]),
        helper.make_node("Add", ["in_src", "one"], ["src1"]),
        helper.make_node("Mul", ["src1", "gain"], ["tinted"]),
        helper.make_node("Sub", ["tinted", "one"], ["base"]),
        helper.make_node("Add", ["base", "shift4"], ["out"]),
    ]
    inputs = [
        helper.make_tensor_value_info("in_src", TensorProto.FLOAT, [1, 3, 256, 256]),
        helper.make_tensor_value_info("in_drv", TensorProto.FLOAT, [1, 3, drv_size, drv_size]),
        helper.make_tensor_value_info("in_drv_start_motion", TensorProto.FLOAT, [1, 20]),
        helper.make_tensor_value_info("in_power", TensorProto.FLOAT, [1]),
    ]
    outputs = [
        helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 256, 256]),
        helper.make_tensor_value_info(motion_output, TensorProto.FLOAT, [1, 20]),
    ]
    inits = [
        _const("motion", motion),
        _const("shift", shift),
        _const("shape4", np.array([1, 3, 1, 1], np.int64)),
        _const("one", np.float32(1.0)),
        _const("gain", LIA_GAIN.reshape(1, 3, 1, 1)),
    ]
    return _save(helper.make_graph(nodes, "lia_standin", inputs, outputs, inits), path)


# -- real faces ------------------------------------------------------------------------------------


def _square_crop(box: tuple[float, float, float, float], scale: float, size: int) -> np.ndarray:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    k = size / (max(box[2] - box[0], box[3] - box[1]) * scale)
    return np.array([[k, 0, size / 2 - k * cx], [0, k, size / 2 - k * cy]])


def real_faces(image: np.ndarray, models_dir: Path, landmarks: bool = True, min_score: float = 0.6) -> list[Face]:
    """Faces found by YuNet (OpenCV's runner) with FaceMesh landmarks, largest first.

    A self-contained detector + marker for tests, independent of nodeswap/nodes/detectors.py.
    """
    h, w = image.shape[:2]
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # DNN warns on every create
    detector = cv2.FaceDetectorYN.create(
        str(models_dir / "face_detection_yunet_2023mar.onnx"), "", (w, h), min_score, 0.3, 50
    )
    detector.setInputSize((w, h))
    _, rows = detector.detect(image)
    faces = []
    mesh = session(models_dir / "FaceMesh.onnx", "cpu") if landmarks else None
    for row in [] if rows is None else rows:
        x, y, bw, bh = (float(v) for v in row[:4])
        box = (x, y, x + bw, y + bh)
        kps = row[4:14].reshape(5, 2).astype(np.float32)
        lms = None
        if mesh is not None:
            mat = _square_crop(box, 1.4, 192)
            crop = cv2.warpAffine(image, mat, (192, 192), borderMode=cv2.BORDER_REPLICATE)
            blob = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255.0
            points = mesh.run(None, {"input_1": blob})[0].reshape(468, 3)[:, :2].astype(np.float64)
            inv = cv2.invertAffineTransform(mat)
            lms = (points @ inv[:, :2].T + inv[:, 2]).astype(np.float32)
        faces.append(Face(box=box, score=float(row[14]), kps=kps, landmarks=lms))
    faces.sort(key=lambda f: -f.width * f.height)
    return [Face(f.box, f.score, f.kps, i, f.landmarks) for i, f in enumerate(faces)]

"""What each face-detector model needs: its file, its input window, its
pre-processing and which decoder reads its outputs.

The facts come from /work/shared/models/MODELS.md and were checked on real
photos (e.g. YOLOv5-Face finds faces with RGB [0,1] input). Nothing here
imports onnxruntime: ``run_model`` takes any object with ``run`` and
``get_outputs`` (an onnxruntime session, or a fake in tests).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import detect
from .detect import Detections

Outputs = dict[str, np.ndarray]


def _nchw(
    canvas: np.ndarray, rgb: bool = False, mean: float | tuple[float, ...] = 0.0, scale: float = 1.0
) -> np.ndarray:
    """float32 [1,3,H,W] = (pixel - mean) * scale; transposing the uint8 image first is ~8x faster."""
    image = canvas[..., ::-1] if rgb else canvas
    blob = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
    if np.any(mean):
        blob -= np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    if scale != 1.0:
        blob *= np.float32(scale)
    return blob


def _bgr_raw(canvas: np.ndarray) -> np.ndarray:
    return _nchw(canvas)


def _bgr_mean(canvas: np.ndarray) -> np.ndarray:
    return _nchw(canvas, mean=(104.0, 117.0, 123.0))


def _rgb_scrfd(canvas: np.ndarray) -> np.ndarray:
    return _nchw(canvas, rgb=True, mean=127.5, scale=1 / 128)


def _rgb_ultraface(canvas: np.ndarray) -> np.ndarray:
    return _nchw(canvas, rgb=True, mean=127.0, scale=1 / 128)


def _rgb_raw(canvas: np.ndarray) -> np.ndarray:
    return _nchw(canvas, rgb=True)


def _rgb_unit(canvas: np.ndarray) -> np.ndarray:
    return _nchw(canvas, rgb=True, scale=1 / 255)


def _rgb_signed_nhwc(canvas: np.ndarray) -> np.ndarray:
    blob = np.ascontiguousarray(canvas[None, ..., ::-1], dtype=np.float32)
    blob *= np.float32(1 / 127.5)
    blob -= np.float32(1.0)
    return blob


def _yunet(out: Outputs, w: int, h: int, thr: float) -> Detections:
    return detect.decode_yunet(out, w, h, thr)


def _retinaface(out: Outputs, w: int, h: int, thr: float) -> Detections:
    return detect.decode_retinaface(out["loc"], out["conf"], out["iou"], w, h, thr)


def _scrfd(out: Outputs, w: int, h: int, thr: float) -> Detections:
    strides = (8, 16, 32)
    return detect.decode_scrfd(
        [out[f"score_{s}"] for s in strides],
        [out[f"bbox_{s}"] for s in strides],
        [out[f"kps_{s}"] for s in strides],
        w,
        h,
        thr,
    )


def _ultraface(out: Outputs, w: int, h: int, thr: float) -> Detections:
    return detect.decode_ultraface(out["scores"], out["boxes"], w, h, thr)


def _centerface(out: Outputs, w: int, h: int, thr: float) -> Detections:
    heat, scale, offset, lms = (out[name] for name in list(out)[:4])  # positional: names are numbers
    return detect.decode_centerface(heat, scale, offset, lms, thr)


def _blazeface(out: Outputs, w: int, h: int, thr: float) -> Detections:
    by_shape = sorted(out.values(), key=lambda a: (a.shape[-1], -a.shape[1]))  # scores 512, 384; regs 512, 384
    return detect.decode_blazeface(by_shape[:2], by_shape[2:4], thr)


def _yolov5face(out: Outputs, w: int, h: int, thr: float) -> Detections:
    return detect.decode_yolov5face(next(iter(out.values())), thr)


def _s3fd(out: Outputs, w: int, h: int, thr: float) -> Detections:
    return detect.decode_s3fd(list(out.values()), thr)  # positional: (class, box) per stride


def centerface_dynamic(data: bytes) -> bytes:
    """CenterFace declares a fixed [10,3,32,32] input: make every input/output dim
    symbolic, and drop the initializers listed as graph inputs."""
    import onnx

    model = onnx.load_from_string(data)
    weights = {init.name for init in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    for value in (*model.graph.input, *model.graph.output):
        for index, dim in enumerate(value.type.tensor_type.shape.dim):
            dim.Clear()
            dim.dim_param = ("n", "c", "h", "w")[index] if index < 4 else f"d{index}"
    del model.graph.value_info[:]
    buffer = io.BytesIO()
    onnx.save(model, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Variant:
    """One model file: manifest name and fixed (W, H) window, or None for any multiple of 32."""

    file: str
    fixed: tuple[int, int] | None = None


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    variants: tuple[Variant, ...]  # first file found is used
    preprocess: Callable[[np.ndarray], np.ndarray]
    decode: Callable[[Outputs, int, int, float], Detections]
    has_kps: bool = True
    prepare: Callable[[bytes], bytes] | None = None
    note: str = ""
    kps_estimated: bool = False  # some keypoints are guessed, not predicted


DETECTORS: dict[str, DetectorSpec] = {
    spec.name: spec
    for spec in (
        DetectorSpec(
            "yunet",
            (Variant("yunet_dynamic"), Variant("yunet", (640, 640))),
            _bgr_raw,
            _yunet,
            note="YuNet: dynamic-size file at the detection size; the fixed 2023mar file letterboxed to 640",
        ),
        DetectorSpec("retinaface", (Variant("retinaface"),), _bgr_mean, _retinaface),
        DetectorSpec("scrfd", (Variant("scrfd"),), _rgb_scrfd, _scrfd),
        DetectorSpec("centerface", (Variant("centerface"),), _rgb_raw, _centerface, prepare=centerface_dynamic),
        DetectorSpec(
            "blazeface",
            (Variant("blazeface", (128, 128)),),
            _rgb_signed_nhwc,
            _blazeface,
            note="close-up faces only; mouth corners estimated from the mouth centre",
            kps_estimated=True,
        ),
        DetectorSpec(
            "ultraface",
            (Variant("ultraface", (320, 240)),),
            _rgb_ultraface,
            _ultraface,
            has_kps=False,
            note="boxes only: add a Face Marker to get keypoints",
        ),
        DetectorSpec("yolov5face", (Variant("yolov5face", (320, 320)),), _rgb_unit, _yolov5face),
        DetectorSpec(
            "s3fd",
            (Variant("s3fd"),),
            _bgr_mean,
            _s3fd,
            has_kps=False,
            note="S3FD (DeepFaceLive's): boxes only, add a Face Marker to get keypoints",
        ),
    )
}
MODEL_CHOICES = tuple(DETECTORS)


def plan_window(variant: Variant, width: int, height: int, target: int) -> tuple[float, int, int]:
    """(scale, W, H): how a ``width`` x ``height`` frame goes into the network."""
    if variant.fixed is None:
        return detect.window_size(width, height, target)
    canvas_w, canvas_h = variant.fixed
    return min(canvas_w / width, canvas_h / height), canvas_w, canvas_h


def run_model(
    spec: DetectorSpec, variant: Variant, session: Any, image: np.ndarray, target: int, threshold: float
) -> Detections:
    """Detections in frame pixels (before NMS) for one BGR image."""
    height, width = image.shape[:2]
    scale, canvas_w, canvas_h = plan_window(variant, width, height, target or max(width, height))  # 0: full size
    canvas, scale = detect.fit_window(image, canvas_w, canvas_h, scale)
    name = session.get_inputs()[0].name
    values = session.run(None, {name: spec.preprocess(canvas)})
    outputs = {o.name: v for o, v in zip(session.get_outputs(), values, strict=True)}
    return spec.decode(outputs, canvas_w, canvas_h, threshold).to_frame(scale)

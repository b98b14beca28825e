"""Export a trained model as a DeepFaceLab .dfm: the ONNX model DeepFaceLive and swap.dfm load.

Signature (DeepFaceLab's export): input ``in_face:0`` [N,H,W,3] float BGR in [0, 1] (NHWC; the graph
transposes to NCHW inside), for AMP a second input ``morph_value:0`` [1]; outputs, in this order,
``out_face_mask:0`` [N,H,W,1] (dst's own mask), ``out_celeb_face:0`` [N,H,W,3] (the face as src) and
``out_celeb_face_mask:0`` [N,H,W,1]. The path is DeepFaceLab's dst -> encoder -> inter -> src decoder.
ONNX opset 13, which the onnxruntime of every DeepFaceLive release loads.
"""

from __future__ import annotations

import inspect
import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from nodeswap import dfm
from nodeswap.errors import UserError

from . import checkpoint
from .models import FaceModel, build_model
from .options import ModelOptions

OPSET = 13
FACE_INPUT, MORPH_INPUT = "in_face:0", "morph_value:0"
OUTPUTS = ("out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0")


class DfmGraph(nn.Module):
    """The exported graph: NHWC in and out around the model's swap path."""

    def __init__(self, model: FaceModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, face: Tensor, morph_value: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        dst_mask, celeb, celeb_mask = self.model.swap(face.permute(0, 3, 1, 2), morph_value)
        return dst_mask.permute(0, 2, 3, 1), celeb.permute(0, 2, 3, 1), celeb_mask.permute(0, 2, 3, 1)


def load_model(model_dir: Path) -> tuple[FaceModel, dict[str, Any]]:
    """The trained model of a model folder, on the CPU in eval mode, and its checkpoint."""
    if not model_dir.is_dir():
        raise UserError(f"model {model_dir}: {'not a folder' if model_dir.exists() else 'no such folder'}")
    state = checkpoint.load(model_dir)
    if state is None:
        raise UserError(
            f"model {model_dir}: no {checkpoint.CHECKPOINT} (train one with: nodeswap train {model_dir} ...)"
        )
    model = build_model(ModelOptions(**state["model_options"]))
    checkpoint.load_weights(model, state["model"], model_dir)
    model.eval()
    return model, state


def onnx_bytes(model: FaceModel) -> bytes:
    """The .dfm's bytes for ``model`` (ONNX, opset 13, dynamic batch)."""
    res = model.options.resolution
    amp = model.options.kind == "amp"
    args: tuple[Tensor, ...] = (torch.rand(1, res, res, 3),) + ((torch.tensor([0.75]),) if amp else ())
    names = [FACE_INPUT, MORPH_INPUT] if amp else [FACE_INPUT]
    dynamic = {FACE_INPUT: {0: "N"}, **{name: {0: "N"} for name in OUTPUTS}}
    exporter: Any = torch.onnx.export  # typed for paths only; the TorchScript exporter also writes to a buffer
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(exporter).parameters else {}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        exporter(
            DfmGraph(model).eval(),
            args,
            buffer,
            input_names=names,
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            **legacy,
        )
    return buffer.getvalue()


def export_dfm(model_dir: Path, out: Path) -> dfm.DfmSignature:
    """Write ``out`` (atomically) from the model in ``model_dir``; its DFM signature, checked as swap.dfm does."""
    if out.suffix.lower() != dfm.SUFFIX:
        raise UserError(f"export {out}: the file name must end in {dfm.SUFFIX}")
    if out.is_dir():
        raise UserError(f"export {out} is a folder: give a file name")
    model, _ = load_model(model_dir)
    data = onnx_bytes(model)
    signature = dfm.check_bytes(data, out.name)
    try:
        checkpoint.write_atomic(out, lambda handle: handle.write(data))
    except OSError as exc:
        raise UserError(f"export {out}: cannot write: {exc.strerror or exc}") from None
    return signature

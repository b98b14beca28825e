"""DeepFaceLab / DeepFaceLive ``.dfm`` models: their signature and where they come from.

One check of the signature serves both the swap.dfm node (on its onnxruntime session, when it loads) and
``models.fetch`` (on the downloaded bytes, read with the ``onnx`` package, before anything is saved): the
core never needs onnxruntime for it. The node's model choices are the manifest's DFM catalogue plus every
``.dfm`` file in the model folders, computed each time they are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .models import files_with_suffix, manifest

SUFFIX = ".dfm"
ROLE = "dfm"  # the manifest role of the catalogue entries
OUTPUTS = ("out_face_mask", "out_celeb_face", "out_celeb_face_mask")  # in the order the node asks for them

Dims = list[int | str]


class DfmError(ValueError):
    """A model whose inputs or outputs are not a DFM's: the message names the file and what is wrong."""


@dataclass(frozen=True)
class DfmSignature:
    """What a DFM model takes and gives: the face input (N,H,W,3 with a fixed square size), the optional
    morph input, and the three outputs by their full names."""

    face_input: str
    morph_input: str  # '' when the model has no morph_value
    resolution: int
    outputs: tuple[str, str, str]


def dims(shape: Iterable[Any]) -> Dims:
    """A tensor shape with every unknown or symbolic dim as '?'."""
    return ["?" if not isinstance(d, int) or d <= 0 else d for d in shape]


def check_signature(inputs: Sequence[tuple[str, Dims]], outputs: Sequence[str], file: str) -> DfmSignature:
    """The DFM signature of a model with these (name, dims) inputs and output names; raises DfmError.

    DeepFaceLive's rules (modelhub/DFLive/DFMModel.py): input 0 is 'in_face:0' [N,H,W,3], an optional second
    input 'morph_value:0' [1], no third; outputs out_face_mask:0, out_celeb_face:0, out_celeb_face_mask:0, found by
    name, or (as DeepFaceLive reads them) by position when a model has three outputs named otherwise."""
    if not inputs or "in_face" not in inputs[0][0] or len(inputs) > 2:
        raise DfmError(
            f"model {file}: expected input 'in_face:0' [N,H,W,3] and optionally 'morph_value:0' [1], "
            f"got {[(name, shape) for name, shape in inputs]}"
        )
    name, shape = inputs[0]
    if len(shape) != 4 or shape[3] != 3 or not isinstance(shape[1], int) or shape[1] != shape[2]:
        raise DfmError(f"model {file}: input '{name}' is {shape}, expected [N,H,W,3] with a fixed square size")
    if len(inputs) == 2 and "morph_value" not in inputs[1][0]:
        raise DfmError(f"model {file}: second input '{inputs[1][0]}' should be 'morph_value:0'")
    found = []
    for key in OUTPUTS:
        exact = [n for n in outputs if n.split(":")[0] == key]
        if exact:
            found.append(exact[0])
        elif len(outputs) == 3:  # DeepFaceLive reads the outputs by position: face mask, celeb face, celeb mask
            found = list(outputs)
            break
        else:
            raise DfmError(f"model {file}: no output '{key}:0' (outputs: {', '.join(outputs)})")
    morph = inputs[1][0] if len(inputs) == 2 else ""
    return DfmSignature(name, morph, int(shape[1]), (found[0], found[1], found[2]))


def check_bytes(data: bytes, file: str) -> DfmSignature:
    """The DFM signature of a model file's bytes, read with ``onnx`` (no session); raises DfmError when the
    bytes are not an ONNX model or not a DFM."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf decode errors have several types
        raise DfmError(f"model {file} is not an ONNX model ({type(exc).__name__})") from None
    graph = model.graph
    constants = {init.name for init in graph.initializer}
    inputs = [
        (value.name, dims(d.dim_value for d in value.type.tensor_type.shape.dim))
        for value in graph.input
        if value.name not in constants
    ]
    return check_signature(inputs, [value.name for value in graph.output], file)


def catalogue() -> list[str]:
    """The file names of the manifest's DFM models (DeepFaceLive's public ones), downloadable by name."""
    return [info.file for info in manifest().values() if info.role == ROLE]


def choices() -> tuple[str, ...]:
    """What swap.dfm offers for its model: the catalogue plus every .dfm in the model folders, by file name
    (a catalogue model already downloaded is listed once). Computed when asked: it follows the folders."""
    names = {*catalogue(), *(path.name for path in files_with_suffix(SUFFIX))}
    return tuple(sorted(names, key=str.lower))

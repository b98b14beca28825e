"""Face aligner: an upright face crop and its transforms, from landmarks or keypoints."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nodeswap.node import Node, Param, Port
from nodeswap.nodes.values import FaceAlignerValues
from nodeswap.types import ALIGNED, FACES, FRAME, Cap, Face, Frame

from .ops import align, face_crop

_TEMPLATE_HELP = (
    "facemesh: DeepFaceLive's 'from points' cut (its uniform 468-point template; 106 and 68 points as it maps "
    "them; the 5 keypoints when the face has no landmarks), the crop DFM models are fed; dfl_whole_face: the "
    "same cut (its old name); arcface_112 / arcface_128: insightface's 5-point crops (recognisers, inswapper)"
)


class FaceAligner(Node):
    """Cuts an aligned face crop per face, with its frame<->crop transforms and a landmark-hull mask.

    Faces with neither landmarks nor keypoints pass through without a crop (in the "from points" mode).
    """

    type_id = "align.face"
    key_params = ("template", "resolution")
    values: FaceAlignerValues
    title = "Face aligner"
    category = "aligner"
    inputs = (Port("frame", FRAME, "the frame the faces were found in"), Port("faces", FACES, "faces with landmarks"))
    outputs = (Port("faces", FACES, "the faces with .aligned set"),)
    params = (
        Param(
            "align_mode",
            "choice",
            "from points",
            choices=align.ALIGN_MODES,
            help="from points: the template fitted to the landmarks; from rect: a square on the detector's box "
            "(no landmarks needed; the template is not used); from static rect: a resolution-sized square in the "
            "middle of the frame (DeepFaceLive's align modes)",
        ),
        Param("template", "choice", "facemesh", choices=align.TEMPLATES, help=_TEMPLATE_HELP),
        Param(
            "coverage",
            "float",
            2.2,
            min=0.1,
            max=8.0,
            step=0.05,
            help="Crop size around the face; 2.2 = the template's standard crop (DFL whole face, insightface crop)",
        ),
        Param(
            "resolution",
            "int",
            224,
            min=16,
            max=1024,
            step=16,
            help="Crop size in pixels; match the swapper model's resolution",
        ),
        Param("x_offset", "float", 0.0, min=-10.0, max=10.0, step=0.01, help="Move the crop sideways (face units)"),
        Param("y_offset", "float", 0.0, min=-10.0, max=10.0, step=0.01, help="Move the crop down (+) or up (-)"),
        Param(
            "exclude_moving_parts",
            "bool",
            True,
            help="468 points: leave DeepFaceLive's moving parts (lips, jaw, brows, eyes) out of the fit: steadier",
        ),
        Param(
            "head_mode",
            "bool",
            False,
            help="Cover the whole head: coverage +1, the crop raised by half a face, moved against the head's turn",
        ),
        Param(
            "freeze_z_rotation",
            "bool",
            False,
            help="Keep the crop upright instead of following head roll (moved against the head's turn, as head mode)",
        ),
    )

    @classmethod
    def provides(cls, port: str, values: dict[str, Any]) -> dict[str, Cap]:
        mode = values.get("align_mode", "from points")
        shape = values["template"] if mode == "from points" else mode.replace(" ", "_")
        return {ALIGNED: Cap(shape, f"template {shape}")}

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        v = self.values
        out = []
        for face in faces:
            aligned = face_crop.align_face(
                frame.image,
                face,
                v["template"],
                int(v["resolution"]),
                v["coverage"],
                v["x_offset"],
                v["y_offset"],
                v["exclude_moving_parts"],
                v["head_mode"],
                v["freeze_z_rotation"],
                mode=v["align_mode"],
            )
            if aligned is None:
                self.warn("a face has no landmarks or keypoints; it passes without a crop")
            out.append(face if aligned is None else replace(face, aligned=aligned))
        return {"faces": tuple(out)}


NODE_TYPES = [FaceAligner]

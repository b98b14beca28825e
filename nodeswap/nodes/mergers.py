"""Face merger: pastes every swapped face back into the frame through its aligned crop's inverse."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from nodeswap.node import Node, Param, Port
from nodeswap.nodes.values import FaceMergerValues
from nodeswap.types import FACES, FRAME, Face, Frame, caps

from .ops import align, blend

COLOR_TRANSFERS = ("rct", "lct", "none")


def face_mask(face: Face, hull: bool, swap: bool, target: bool, box: bool) -> np.ndarray:
    """Product (crop space) of the enabled masks the face has: landmark hull, the swapper's
    mask of the new face, its mask of the target face, the detector box. The whole crop when none."""
    aligned, swapped = face.aligned, face.swapped
    assert aligned is not None and swapped is not None  # only called for merged faces
    size = aligned.size
    parts = [
        part
        for enabled, part in ((hull, aligned.mask), (swap, swapped.mask), (target, swapped.target_mask))
        if enabled and part is not None
    ]
    if box:
        x1, y1, x2, y2 = face.box
        corners = align.transform_points(aligned.mat, np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]))
        parts.append(align.polygon_mask(corners, (size, size)))
    mask = np.ones((size, size), np.float32)
    for part in parts:
        if part.shape != (size, size):
            part = cv2.resize(part, (size, size), interpolation=cv2.INTER_LINEAR)
        mask *= np.clip(part, 0.0, 1.0)
    return mask


def mouth_mask(landmarks: np.ndarray | None, crop_from_frame: np.ndarray, size: int) -> np.ndarray | None:
    """The target's inner mouth (468/68/106 landmarks) in crop space, slightly grown and feathered."""
    if landmarks is None or len(landmarks) not in align.MOUTH_INNER:
        return None
    inner = np.asarray(landmarks)[list(align.MOUTH_INNER[len(landmarks)]), :2]
    points = align.transform_points(crop_from_frame, inner)
    mask = align.polygon_mask(points, (size, size))
    sigma = max(1.0, size / 128)
    grow = int(np.ceil(2.5 * sigma))  # the feather stays outside the mouth itself
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return cv2.GaussianBlur(mask, (0, 0), sigma)


class FaceMerger(Node):
    """Blends the swapped faces into the frame: masks, erode/blur, colour transfer, opacity, Poisson, compression.

    Faces without a swapped image pass unchanged. Work is limited to each face's
    region of the frame.
    """

    type_id = "merge.faces"
    key_params = ("erode", "blur", "opacity")
    values: FaceMergerValues
    title = "Face merger"
    category = "merger"
    inputs = (
        Port("frame", FRAME, "the frame to paste into"),
        Port("faces", FACES, "faces with .swapped", caps=caps(swapped="yes")),
    )
    outputs = (Port("frame", FRAME, "the merged frame"),)
    params = (
        Param("mask_hull", "bool", False, help="Use the landmark hull (the aligner's mask; DeepFaceLive's 'lmrks')"),
        Param("mask_swap", "bool", True, help="Use the swapper's mask of the new face (DFM celeb mask)"),
        Param("mask_target", "bool", True, help="Use the swapper's mask of the target face (DFM face mask)"),
        Param("mask_box", "bool", False, help="Use the detector's face box"),
        Param(
            "erode",
            "int",
            5,
            min=-400,
            max=400,
            help="Shrink (+) or grow (-) the mask by about half this many crop pixels (DeepFaceLive's scale)",
        ),
        Param("blur", "int", 25, min=0, max=400, help="Feather the mask edge: a Gaussian of blur / 4 crop pixels"),
        Param(
            "color_transfer",
            "choice",
            "rct",
            choices=COLOR_TRANSFERS,
            help="Match the new face's colours to the target: rct (LAB mean/spread), lct (colour covariance)",
        ),
        Param("opacity", "float", 1.0, min=0.0, max=1.0, step=0.01, help="How much of the new face shows"),
        Param("face_x_offset", "float", 0.0, min=-0.5, max=0.5, step=0.005, help="Move the face sideways (crop units)"),
        Param("face_y_offset", "float", 0.0, min=-0.5, max=0.5, step=0.005, help="Move the face down (+) or up (-)"),
        Param("face_scale", "float", 1.0, min=0.5, max=1.5, step=0.01, help="Scale the face about the crop centre"),
        Param(
            "interpolation",
            "choice",
            "bilinear",
            choices=tuple(blend.INTERPOLATIONS),
            help="Resampling of the face into the frame",
        ),
        Param("poisson", "bool", False, help="Poisson (seamless clone) blend: hides seams, slower"),
        Param(
            "keep_mouth",
            "bool",
            False,
            help="Keep the target's inner mouth (needs 468, 68 or 106 landmarks): tongue, teeth, food",
        ),
        Param(
            "color_compression",
            "float",
            1.0,
            min=0.0,
            max=127.0,
            step=0.1,
            help="Posterise the whole merged frame to 127 - this many levels, mimicking video compression (0 = off)",
        ),
    )

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        todo = [f for f in faces if f.swapped is not None and f.aligned is not None]
        if not todo:  # the same compression with or without faces: no flicker when one comes and goes
            compressed = blend.color_compress(frame.image, self.values["color_compression"])
            return {"frame": frame if compressed is frame.image else replace(frame, image=compressed)}
        out = frame.image.copy()
        for face in todo:
            self.merge_face(out, face)
        return {"frame": replace(frame, image=blend.color_compress(out, self.values["color_compression"]))}

    def merge_face(self, out: np.ndarray, face: Face) -> None:
        """Blend one face into ``out`` (changed in place)."""
        v = self.values
        aligned, swapped = face.aligned, face.swapped
        assert aligned is not None and swapped is not None  # process() merges only such faces
        size = aligned.size
        image = swapped.image
        if image.shape[:2] != (size, size):
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
        mask = face_mask(face, v["mask_hull"], v["mask_swap"], v["mask_target"], v["mask_box"])
        inverse = blend.adjust_inverse(aligned.inverse, size, v["face_x_offset"], v["face_y_offset"], v["face_scale"])
        soft = blend.erode_blur(mask, v["erode"], v["blur"]) * np.float32(v["opacity"])
        if v["keep_mouth"]:  # after the feathering, which would smear the face back over the mouth
            mouth = mouth_mask(face.landmarks, align.invert(inverse), size)
            if mouth is not None:
                soft *= 1.0 - mouth
        bounds = blend.mask_bounds(soft)
        if bounds is None:
            return
        x0, y0, x1, y1 = bounds  # work on the part of the crop the mask covers
        new_face = image[y0:y1, x0:x1]
        if v["color_transfer"] == "rct":
            new_face = blend.rct(new_face, aligned.image[y0:y1, x0:x1], mask[y0:y1, x0:x1])
        elif v["color_transfer"] == "lct":
            lct = blend.lct(blend.to_float(new_face), blend.to_float(aligned.image[y0:y1, x0:x1]), mask[y0:y1, x0:x1])
            new_face = blend.to_uint8(lct)
        if v["poisson"]:  # in crop space against the target's crop: cheap, and the same at any frame size
            moved = v["face_x_offset"] or v["face_y_offset"] or v["face_scale"] != 1.0
            target = cv2.warpAffine(out, align.invert(inverse), (size, size)) if moved else aligned.image
            new_face = blend.seamless(new_face, target[y0:y1, x0:x1], soft[y0:y1, x0:x1])
        blend.paste_face(
            out,
            new_face,
            soft[y0:y1, x0:x1],
            blend.shift_inverse(inverse, x0, y0),
            blend.INTERPOLATIONS[v["interpolation"]],
        )


NODE_TYPES = [FaceMerger]

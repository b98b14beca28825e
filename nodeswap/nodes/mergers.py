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

COLOR_TRANSFERS = ("rct", "rct_face", "lct", "none")


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
    """Blends the swapped faces into the frame as DeepFaceLive's merger does: masks, erode/blur, colour transfer,
    opacity, colour compression (its arithmetic, in float); Poisson, LCT and keeping the mouth are nodeswap's.

    Faces without a swapped image pass unchanged. The float work is limited to the faces' part of the frame.
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
            help="Match the new face's colours to the target: rct (LAB mean and spread over the crop, as "
            "DeepFaceLive), rct_face (the same from the face mask's pixels only, before erode and blur: steadier "
            "where the crop's background differs, as the morph swap's does), lct (colour covariance)",
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
        Param(
            "compression_levels",
            "choice",
            "deepfacelive",
            choices=blend.COMPRESSION_LEVELS,
            help="deepfacelive: each level raised by 2 / levels, as DeepFaceLive does (a little brighter); centred: "
            "each level at its middle",
        ),
    )

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        """As DeepFaceLive's merger: each face blended in turn in float, the frame colour-compressed after the
        last face and written out truncated. A frame with no face to merge passes as it is (DeepFaceLive shows
        the source frame then)."""
        todo = [f for f in faces if f.swapped is not None and f.aligned is not None]
        if not todo:
            return {"frame": frame}
        image = frame.image
        work = [(face, region) for face in todo if (region := self.face_region(face, image.shape)) is not None]
        if not work:
            return {"frame": replace(frame, image=self.compress(image))}
        x0 = min(r[0] for _, r in work)
        y0 = min(r[1] for _, r in work)
        x1 = max(r[2] for _, r in work)
        y1 = max(r[3] for _, r in work)
        canvas = blend.to_float(image[y0:y1, x0:x1])  # only the faces' part of the frame is worked in float
        for face, _ in work:
            self.merge_face(canvas, face, (x0, y0))
        out = self.compress(image)
        compressed = self.compress(canvas)
        out[y0:y1, x0:x1] = blend.to_uint8_truncated(compressed)
        return {"frame": replace(frame, image=out)}

    def compress(self, image: np.ndarray) -> np.ndarray:
        v = self.values
        out = blend.color_compress(image, v["color_compression"], v["compression_levels"])
        return out.copy() if out is image and image.dtype == np.uint8 else out

    def inverse(self, face: Face) -> np.ndarray:
        """The face's crop -> frame affine with the merger's offsets and scale."""
        v, aligned = self.values, face.aligned
        assert aligned is not None
        return blend.adjust_inverse(
            aligned.inverse, aligned.size, v["face_x_offset"], v["face_y_offset"], v["face_scale"]
        )

    def soft_mask(self, face: Face) -> tuple[np.ndarray, np.ndarray]:
        """The face's crop-space mask, and the same after DeepFaceLive's erode and blur (the kept mouth cut out)."""
        v, aligned = self.values, face.aligned
        assert aligned is not None
        mask = face_mask(face, v["mask_hull"], v["mask_swap"], v["mask_target"], v["mask_box"])
        soft = blend.erode_blur(mask, v["erode"], v["blur"])
        if v["keep_mouth"]:  # after the feathering, which would smear the face back over the mouth
            mouth = mouth_mask(face.landmarks, align.invert(self.inverse(face)), aligned.size)
            if mouth is not None:
                soft = soft * (1.0 - mouth)
        return mask, soft

    def face_region(self, face: Face, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
        """The frame pixels the face's mask can touch (x0, y0, x1, y1), or None."""
        aligned = face.aligned
        assert aligned is not None
        return blend.frame_region(self.inverse(face), aligned.size, aligned.size, shape)

    def merge_face(self, canvas: np.ndarray, face: Face, origin: tuple[int, int]) -> None:
        """Blend one face into ``canvas`` (float32 BGR in [0, 1], the frame from ``origin`` on; changed in place),
        with DeepFaceLive's arithmetic."""
        v = self.values
        aligned, swapped = face.aligned, face.swapped
        assert aligned is not None and swapped is not None  # process() merges only such faces
        size = aligned.size
        new_face = blend.to_float(swapped.image) if swapped.image.dtype == np.uint8 else swapped.image
        if new_face.shape[:2] != (size, size):
            new_face = cv2.resize(new_face, (size, size), interpolation=cv2.INTER_LINEAR)
        mask, soft = self.soft_mask(face)
        target = blend.to_float(aligned.image)
        if v["color_transfer"] == "rct":
            new_face = blend.rct_whole_crop(new_face, target, soft)
        elif v["color_transfer"] == "rct_face":
            new_face = blend.rct(new_face, target, mask)
        elif v["color_transfer"] == "lct":
            new_face = blend.lct(new_face, target, soft)
        inverse = self.inverse(face)
        if v["poisson"]:  # in crop space against what lies behind the face: cheap, and the same at any frame size
            moved = v["face_x_offset"] or v["face_y_offset"] or v["face_scale"] != 1.0
            behind = target
            if moved:
                to_canvas = inverse.copy()
                to_canvas[:, 2] -= origin
                behind = cv2.warpAffine(canvas, align.invert(to_canvas), (size, size))
            new_face = blend.to_float(blend.seamless(blend.to_uint8(new_face), blend.to_uint8(behind), soft))
        interpolation = blend.INTERPOLATIONS[v["interpolation"]]
        blend.paste_float(canvas, new_face, soft, inverse, origin, float(v["opacity"]), interpolation)


NODE_TYPES = [FaceMerger]

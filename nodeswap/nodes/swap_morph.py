"""Morph swap: a one-photo face swap without a swap model.

The photo's face, a triangle mesh on its 468 FaceMesh landmarks, is warped onto the target's landmarks moved
toward the photo's shape: pose, expression, lids, gaze, inner mouth and hair stay the target's, the face is the
photo's, lit like the target (ops/relight.py, ops/eye_warp.py). The result is an aligned crop for the merger.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.models import first_model, model_path
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.ops import detect, eye_warp, morph, morph_colour, morph_shape, relight
from nodeswap.nodes.ops.detect_models import DETECTORS, run_model
from nodeswap.nodes.ops.marker_models import MARKERS, run_marker
from nodeswap.nodes.ops.morph_source import OPEN_MOUTH, RESHAPE_POINTS, RING_MARGIN, SourceFace, prepare_source
from nodeswap.nodes.values import MorphSwapValues
from nodeswap.params import IMAGES
from nodeswap.runtime import DEVICES, session
from nodeswap.types import FACES, FRAME, Aligned, Face, Frame, Swapped, caps

SEAM_ERODE = 0.01  # the new face's edge on the reshaped target moves this far in (share of the crop)
MOUTH_SOFT = 0.05  # feather (share of the crop) of the lips' edge against the target's mouth
WIDTH_FOLLOW = 0.03  # per frame: how fast the width change follows the target (slow: expressions pass)
COLOUR_MODES = ("light", "rct", "mean", "shading", "none")
EYE_MODES = ("warp", "target", "motion", "photo")
EYE_FOLLOW = 0.15  # per frame: how fast the remembered look of the target's eyes follows them (eyes motion)
BLEND_LEVELS = 4  # multi-band blend of the new face onto the reshaped target


def source_landmarks(image: np.ndarray, device: str, node_id: str) -> np.ndarray:
    """(468, 3) FaceMesh landmarks of the largest face in ``image`` (x, y pixels, z in the same scale), found
    with YuNet as the detector node finds faces. NodeLoadError naming the param when the photo has no face."""
    detector, marker = DETECTORS["yunet"], MARKERS["facemesh"]
    index, path = first_model(tuple(v.file for v in detector.variants), node_id)
    try:
        finder, mesh = session(path, device), session(model_path(marker.file, node_id), device)
    except NodeLoadError as exc:
        raise type(exc)(node_id, str(exc).removeprefix(f"node '{node_id}': ")) from None
    window = int(np.clip(-(-max(image.shape[:2]) // 32) * 32, 160, 1280))  # small faces in big photos too
    found = detect.postprocess(run_model(detector, detector.variants[index], finder, image, window, 0.5), 0.4)
    if not len(found):
        raise NodeLoadError(node_id, "param 'source_image': no face found in the photo")
    sizes = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
    x1, y1, x2, y2 = (float(v) for v in found.boxes[int(np.argmax(sizes))])
    return np.asarray(run_marker(mesh, marker, image, (x1, y1, x2, y2), marker.coverage), np.float64)[:468]


class MorphSwap(Node):
    """Swaps faces for the one in a photo by warping its landmark mesh (no swap model needed).
    Needs 468 FaceMesh landmarks (its input's caps); makes its own aligned crop when no aligner ran."""

    type_id = "swap.morph"
    key_params = ("source_image", "likeness", "opacity")
    values: MorphSwapValues
    may_run_in_process = True  # per-triangle and per-face Python work: its own process, its own GIL
    title = "Morph swap"
    category = "swapper"
    inputs = (
        Port("frame", FRAME, "The frame the faces are in"),
        Port("faces", FACES, "Faces with 468 FaceMesh landmarks", caps=caps(landmarks="468")),
    )
    outputs = (Port("faces", FACES, "Faces with the swapped crop (Face.swapped)", caps=caps(swapped="yes")),)
    params = (
        Param(
            "source_image",
            "path",
            "",
            required=True,
            reload=True,
            extensions=IMAGES,
            help="Photo of the face to put on the targets (the largest face in it is used)",
        ),
        Param(
            "device",
            "choice",
            "auto",
            choices=DEVICES,
            reload=True,
            help="Where the landmark model runs for the source photo",
        ),
        Param(
            "resolution",
            "int",
            256,
            min=64,
            max=1024,
            step=16,
            help="Size of the aligned crop the face is built in (when no aligner ran)",
        ),
        Param(
            "coverage",
            "float",
            1.3,
            min=1.0,
            max=3.0,
            step=0.05,
            help="Crop size relative to the face (when no aligner ran)",
        ),
        Param("mouth_from_target", "bool", True, help="Keep the target's inner mouth (teeth, tongue) for speech"),
        Param(
            "mouth_grow",
            "float",
            0.0,
            min=0.0,
            max=0.05,
            step=0.005,
            help="Widen the kept mouth by this share of the crop (smoothed landmarks lag behind speech)",
        ),
        Param(
            "likeness",
            "float",
            0.5,
            min=0.0,
            max=1.0,
            step=0.05,
            help="0: the target's eyes, light and shape (real, less of the photo); 0.5: the photo's eyes and shape "
            "moved and lit as the target's; 1: also the photo's own shading and skin tone",
        ),
        Param(
            "eyes",
            "choice",
            "warp",
            choices=EYE_MODES,
            help="warp: the photo's eyes on the target's lids, turned where the target looks; target: the "
            "target's eye openings in the photo's colours; motion: the photo's eyes plus the target's change; photo",
        ),
        Param(
            "eye_grow",
            "float",
            0.015,
            min=-0.01,
            max=0.04,
            step=0.002,
            help="With eyes target or motion: how far around the eye openings the target's eyes are kept (share of "
            "the crop; more follows blinks and squints better, less keeps more of the photo's eyes)",
        ),
        Param(
            "shape",
            "float",
            1.0,
            min=0.0,
            max=1.0,
            step=0.05,
            help="How much of the source's face shape (eyes, brows, nose) to take; the mouth stays",
        ),
        Param(
            "width",
            "float",
            1.0,
            min=0.0,
            max=1.0,
            step=0.05,
            help="How much of the source's face and mouth width to take (cheeks, jaw, lips); the target's "
            "surroundings stretch to fit",
        ),
        Param(
            "skin_only",
            "bool",
            True,
            help="Leave out source pixels near the face edge that are not skin (hair, background)",
        ),
        Param(
            "colour",
            "choice",
            "light",
            choices=COLOUR_MODES,
            help="Colour match to the target: light (the photo's detail on the target's light and tone, below "
            "light_radius), rct (mean and spread in Lab), mean (mean only: keeps the source's contrast), "
            "shading (the target's fine shading), none",
        ),
        Param(
            "colour_amount",
            "float",
            1.0,
            min=0.0,
            max=1.0,
            step=0.05,
            help="How far the rct or mean colour match moves toward the target (1 = all the way; less keeps "
            "some of the source's skin tone)",
        ),
        Param(
            "light_radius",
            "float",
            0.2,
            min=0.02,
            max=0.3,
            step=0.01,
            help="With colour 'light': detail finer than this share of the crop is the photo's, coarser light "
            "and tone the target's (smaller follows the room's light more, larger keeps more of the photo)",
        ),
        Param(
            "edge_match",
            "float",
            0.0,
            min=0.0,
            max=0.3,
            step=0.01,
            help="Width (share of the crop) of a band along the face edge that takes the target's lighting: "
            "softer seams under uneven light, a little less of the source (about 4 ms)",
        ),
        Param(
            "forehead",
            "float",
            0.15,
            min=0.0,
            max=1.0,
            step=0.05,
            help="How far the top edge moves down from the hairline to the brows (keeps hair out)",
        ),
        Param(
            "edge_blur",
            "float",
            0.05,
            min=0.0,
            max=0.2,
            step=0.01,
            help="Feather of the new face's edge, relative to the crop size (with width 0 the merger feathers "
            "it further)",
        ),
        Param(
            "min_visible",
            "float",
            0.6,
            min=0.0,
            max=1.0,
            step=0.05,
            help="Leave faces alone when less than this share of them is inside the frame",
        ),
        Param("opacity", "float", 1.0, min=0.0, max=1.0, step=0.05, help="Strength of the swapped face"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._source: SourceFace | None = None  # the photo's face, prepared at load
        self._width_memory: dict[int, tuple[np.ndarray, float]] = {}  # per track: steadied width changes
        self._eye_looks = relight.RecentLook(EYE_FOLLOW)  # per track: the target's recent eyes (eyes motion)

    # -- lifecycle --------------------------------------------------------------------------------------
    def required_models(self) -> list[tuple[str, ...]]:
        return [tuple(v.file for v in DETECTORS["yunet"].variants), (MARKERS["facemesh"].file,)]  # source_landmarks

    def load(self, ctx: LoadContext) -> None:
        node_id = ctx.node_id or self.id
        path = str(self.values["source_image"] or "")
        if not path:
            raise NodeLoadError(node_id, "param 'source_image' is empty: set it to a photo of a face")
        if not Path(path).expanduser().is_file():
            raise NodeLoadError(node_id, f"param 'source_image': file not found: {path}")
        image = cv2.imread(str(Path(path).expanduser()), cv2.IMREAD_COLOR)
        if image is None:
            raise NodeLoadError(node_id, f"param 'source_image': not an image OpenCV can read: {path}")
        self._set_source(image, source_landmarks(image, self.values["device"], node_id))

    def _set_source(self, image: np.ndarray, landmarks: np.ndarray) -> None:
        """Prepare the photo's face ((468, 3) landmarks, image pixels) for swapping."""
        self._source = prepare_source(image, landmarks)
        if self._source.yaw > 12.0:
            self.warn(
                f"the photo's face is turned {self._source.yaw:.0f} degrees: its far side is thin in the picture "
                "and the target's shows there; a photo facing the camera swaps best"
            )
        self._width_memory = {}
        self._eye_looks.clear()

    def unload(self) -> None:
        self._source, self._width_memory = None, {}
        self._eye_looks.clear()

    # -- per frame --------------------------------------------------------------------------------------
    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        if self._source is None:
            raise NodeLoadError(self.id, "the source face is not loaded")
        steady, self._width_memory = self._width_memory, {}  # only the faces of this frame are remembered
        self._eye_looks.next_frame()
        return {"faces": tuple(self.swap_face(frame.image, face, steady) for face in faces)}

    def swap_face(
        self, image: np.ndarray, face: Face, steady: dict[int, tuple[np.ndarray, float]] | None = None
    ) -> Face:
        """``face`` with Face.swapped (and Face.aligned when it had none); unchanged without 468 landmarks.

        steady: the previous frame's width changes per track id, which this frame's follow slowly.
        """
        source = self._source
        if face.landmarks is None or len(face.landmarks) < 468 or source is None:
            return face
        v = self.values
        landmarks = np.asarray(face.landmarks[:468], np.float64)
        if morph.visible_share(landmarks, image.shape[1], image.shape[0]) < v["min_visible"]:
            return face  # mostly outside the frame: its landmarks are guesses
        aligned = face.aligned or self._align(image, landmarks)
        size = aligned.size
        target = morph.transform_points(landmarks, aligned.mat)
        depth, target_3d = None, target
        if face.landmarks_3d is not None and len(face.landmarks_3d) >= 468 and face.landmarks_3d.shape[1] >= 3:
            depth = np.asarray(face.landmarks_3d[:468, 2], np.float64)
            target_3d = np.column_stack([target, depth * np.hypot(*aligned.mat[:, 0])])
        near, far = float(np.clip(2 * v["likeness"], 0, 1)), float(np.clip(2 * v["likeness"] - 1, 0, 1))
        shape, width = v["shape"] * near, v["width"] * near  # likeness under 0.5: the target's shape comes back
        placed = target
        if shape > 0 or width > 0:  # the source's face shape
            offsets = self._steady(
                face.track_id,
                morph_shape.shape_offsets(target_3d, source.points_3d, source.shape_plan),
                size,
                steady or {},
            )
            placed = morph_shape.shaped_landmarks(target, offsets, source.shape_plan, shape, width)
        reshape = width > 0
        ring = morph_shape.surround_ring(target, RING_MARGIN)
        background = self._reshaped_target(aligned.image, target, placed, ring) if reshape else aligned.image
        base = placed if reshape else target  # where the target's outline, eyes and mouth are in `background`
        tris, edge_on = source.mesh(v["mouth_from_target"])
        warped4, index = morph.warp_mesh(source.crop, source.points, placed, tris, size, depth)
        inside = (index >= 0)[..., None]
        covered = inside[..., 0].astype(np.float32)
        if edge_on.any():  # a turned photo: its far side must not be stretched into stripes
            covered = morph.per_pixel(index, morph.triangle_trust(source.points, placed, tris, edge_on))
        warped = np.ascontiguousarray(warped4[..., :3])
        covered = covered * (warped4[..., 3].astype(np.float32) / 255.0) if v["skin_only"] else covered
        mouth, forehead, edge = v["mouth_from_target"], v["forehead"], v["edge_blur"] * size
        grow = v["mouth_grow"] * size * morph.open_share(base, OPEN_MOUTH * size)  # a closed mouth stays closed
        region = morph.face_mask(base, size, forehead, mouth) * covered  # hard edge: colour statistics
        if reshape:  # the edge is feathered here: the merger's mask covers the whole reshaped ring
            soft = MOUTH_SOFT * size  # the lips' edge blends with the target's like the face's edge does
            mask = morph.face_mask(
                base, size, forehead, mouth, SEAM_ERODE * size, edge, grow + soft / 2, covered, mouth_blur=soft
            )
        else:
            mask = morph.face_mask(base, size, forehead, mouth, blur=edge, mouth_grow=grow) * covered
        mode, eyes = v["eyes"], None  # eyes: where the target's eyes move the photo's (not 'photo')
        if mode != "photo":
            eye_grow = v["eye_grow"] * size
            eyes = relight.eye_openings(base, size, eye_grow, max(abs(eye_grow), size / 128))
            region *= 1.0 - eyes if mode != "warp" else 1.0
        colour_args = (v["light_radius"] * size, v["edge_match"] * size)
        matched = morph_colour.match_colour(warped, background, region, v["colour"], v["colour_amount"], *colour_args)
        if far > 0 and v["colour"] != "none":  # likeness over 0.5: the photo's own shading and tone come back
            own = morph_colour.match_colour(warped, background, region, "mean", 0.5, *colour_args)
            matched = morph_colour.blend(own, matched, np.full((size, size), far, np.float32))
        if eyes is not None and mode == "target":  # the relit photo's eye colour on the target's openings
            matched = relight.target_eyes(matched, background, eyes, region, size / 16)
        elif v["colour"] != "none":
            matched = morph_colour.restore_eyes(matched, warped, placed, region)
        if eyes is not None and mode == "motion":
            lightness = cv2.cvtColor(background, cv2.COLOR_BGR2LAB)[..., 0].astype(np.float32)
            matched = relight.eye_motion(matched, lightness, self._eye_looks.follow(face.track_id, lightness), eyes)
        if eyes is not None and mode == "warp":  # the photo's iris turned to the target's gaze
            matched = eye_warp.warp_eyes(matched, background, placed, base, eyes, region * (1 - eyes), 1 - near)
        warped = np.where(inside, matched, background)  # the target outside the mesh (for viewers)
        if reshape:  # the new face on the reshaped target; the merger blends the whole ring in
            warped = relight.pyramid_blend(warped, background, mask, BLEND_LEVELS)
            around = morph.fill_polygon(size, ring)
            aligned = replace(aligned, mask=around if aligned.mask is None else np.maximum(aligned.mask, around))
            mask = morph.feather(around, 0, RING_MARGIN * size / 4)
        mask = mask * v["opacity"]
        swapped = Swapped(image=warped, mask=mask.astype(np.float32))
        return replace(face, aligned=aligned, swapped=swapped)

    def _steady(
        self, track_id: int, offsets: morph_shape.ShapeOffsets, size: int, steady: dict[int, tuple[np.ndarray, float]]
    ) -> morph_shape.ShapeOffsets:
        """The width changes followed slowly per track: the constant difference between the two faces comes
        through, the target's quick changes (a smile, an 'oo', a turn of the head) stay the target's."""
        before = steady.get(track_id)
        count = len(offsets.sideways)
        moves = np.vstack([offsets.sideways, offsets.jaw, offsets.lips]) / size  # crop units: any resolution
        moves = morph_shape.follow(None if before is None else before[0], moves, WIDTH_FOLLOW)
        scale = morph_shape.follow(
            None if before is None else np.array(before[1]), np.array(offsets.mouth_scale), WIDTH_FOLLOW
        )
        self._width_memory[track_id] = (moves, float(scale))
        sideways, jaw, lips = (part * size for part in np.split(moves, [count, 2 * count]))
        return replace(offsets, sideways=sideways, jaw=jaw, lips=lips, mouth_scale=float(scale))

    def _reshaped_target(
        self, image: np.ndarray, target: np.ndarray, placed: np.ndarray, ring: np.ndarray
    ) -> np.ndarray:
        """The target crop with its landmarks moved to ``placed`` and everything out to ``ring`` following."""
        src = np.vstack([target[RESHAPE_POINTS], ring])
        assert self._source is not None
        return morph.smooth_warp(image, src, np.vstack([placed[RESHAPE_POINTS], ring]), self._source.tris_ring)

    def _align(self, image: np.ndarray, landmarks: np.ndarray) -> Aligned:
        size = int(self.values["resolution"])
        mat, inverse = morph.crop_transform(landmarks, size, self.values["coverage"])
        crop = cv2.warpAffine(image, mat, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        hull = morph.fill_polygon(size, morph.hull_polygon(morph.transform_points(landmarks, mat)))
        return Aligned(image=crop, mat=mat, inverse=inverse, size=size, mask=hull)


NODE_TYPES = [MorphSwap]

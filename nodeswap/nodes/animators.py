"""Face animator: a still portrait moved by a driving face (DeepFaceLive's FaceAnimator, on LIA)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.models import model_path
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.values import FaceAnimatorValues
from nodeswap.params import IMAGES
from nodeswap.runtime import DEVICES, session
from nodeswap.types import FACES, FRAME, Face, Frame, Swapped, caps

from .ops import animate
from .ops.embed import read_image
from .ops.face_crop import align_face

MODEL = "lia_generator"


class FaceAnimator(Node):
    """Animates a still portrait with the driving face's motion (LIA, DeepFaceLive's face animator).

    Ports. In: ``frame`` and ``faces``; face number ``animator_face_id`` of the list drives. Its aligned
    crop (an aligner upstream, as in DeepFaceLive) goes to the model; a face without a crop is cut here
    with the face aligner's defaults (facemesh template, coverage 2.2) at the model's 256 px. Out:
    ``frame`` is the driving frame (its timing, index and audio source) with its picture replaced by the
    animated portrait, as DeepFaceLive's output is: the portrait's own aspect ratio at the model's scale
    (the 256 square without the black padding the fit adds), the same size on every frame, so a preview,
    virtual camera or video sink takes it as it is; the still portrait while no face drives. ``faces``
    passes the faces on, the driving one with the animated square resized into its aligned crop
    (``Face.swapped``, DeepFaceLive's "swapped face" picture: a face view shows it, a merger pastes it).

    The driver's pose on the first frame it is seen is the reference: the portrait moves as the driver
    moves away from it, times ``relative_power``. ``reset_reference_pose`` takes the next frame's pose
    as the reference; a new photo does too.
    """

    type_id = "swap.animate"
    key_params = ("animatable", "relative_power")
    values: FaceAnimatorValues
    title = "Face animator"
    category = "swapper"
    inputs = (
        Port("frame", FRAME, "the driving frame"),
        Port("faces", FACES, "the faces in it; the one numbered animator_face_id drives"),
    )
    outputs = (
        Port("frame", FRAME, "the animated portrait (the still photo while no face drives)"),
        Port("faces", FACES, "the faces, the driving one with the animation in its crop", caps=caps(swapped="yes")),
    )
    params = (
        Param("device", "choice", "auto", choices=DEVICES, reload=True, help="Where the model runs"),
        Param(
            "animatable",
            "path",
            "",
            required=True,
            reload=True,
            extensions=IMAGES,
            help="The portrait to animate: a photo of a face looking at the camera, mouth closed",
        ),
        Param("animator_face_id", "int", 0, min=0, max=16, help="Which face drives: its place in the list (0 = first)"),
        Param(
            "relative_power",
            "float",
            1.0,
            min=0.0,
            max=2.0,
            step=0.01,
            help="How much of the driver's motion away from the reference pose the portrait follows",
        ),
        Param(
            "reset_reference_pose",
            "signal",
            0,
            help="Take the driver's pose on the next frame as the reference (the portrait's own pose)",
        ),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._generator: animate.Generator | None = None
        self._source = np.zeros((1, 3, animate.SIZE, animate.SIZE), np.float32)
        self._content = (animate.SIZE, animate.SIZE)
        self._still = np.zeros((animate.SIZE, animate.SIZE, 3), np.uint8)
        self._reference: np.ndarray | None = None

    def required_models(self) -> list[tuple[str, ...]]:
        return [(MODEL,)]

    def load(self, ctx: LoadContext) -> None:
        node_id = ctx.node_id or self.id
        path = self.values["animatable"]
        if not path:
            raise NodeLoadError(node_id, "param 'animatable' is empty: set it to a photo of the face to animate")
        square, self._content = animate.fit_in(read_image(path, node_id, "animatable photo"))
        model_file = model_path(MODEL, node_id)
        try:
            sess = session(model_file, self.values["device"])
        except NodeLoadError as exc:
            raise NodeLoadError(node_id, str(exc)) from None
        self._generator = animate.Generator(sess, model_file.name, node_id)
        self._source = animate.to_blob(square)
        self._still = self._crop(square)
        self._reference = None

    def unload(self) -> None:
        self._generator = None

    def params_changed(self, changed: set[str]) -> None:
        if "reset_reference_pose" in changed:
            self._reference = None

    def _crop(self, square: np.ndarray) -> np.ndarray:
        width, height = self._content
        return np.ascontiguousarray(square[:height, :width])

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        index = self.values["animator_face_id"]
        face = faces[index] if index < len(faces) else None
        aligned = face.aligned if face is not None else None
        if face is not None and aligned is None:
            aligned = align_face(frame.image, face, "facemesh", animate.SIZE, exclude_moving=True)
            if aligned is None:
                self.warn("the driving face has no landmarks or keypoints to align it: the portrait stays still")
        if face is None or aligned is None or self._generator is None:
            return {"frame": replace(frame, image=self._still), "faces": faces}
        driving = animate.to_blob(aligned.image)
        if self._reference is None:
            self._reference = self._generator.motion(driving)
        out = self._generator.animate(self._source, driving, self._reference, self.values["relative_power"])
        square = animate.from_blob(out)
        swapped = Swapped(image=animate.resize(square, aligned.size, aligned.size))
        driven = replace(face, aligned=aligned, swapped=swapped)
        return {
            "frame": replace(frame, image=self._crop(square)),
            "faces": (*faces[:index], driven, *faces[index + 1 :]),
        }


NODE_TYPES = [FaceAnimator]

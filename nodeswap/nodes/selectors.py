"""Face selection: all faces, faces by index, or the faces that look like a reference photo."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from nodeswap.errors import NodeLoadError
from nodeswap.models import model_path
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.values import FaceSelectorValues
from nodeswap.params import IMAGES
from nodeswap.runtime import DEVICES, session
from nodeswap.types import FACES, FRAME, Face, Frame

from .ops import embed

log = logging.getLogger(__name__)
MODES = ("all", "index", "reference")
EMBEDDING_MODEL = "mobilefacenet"


def parse_indices(text: str, node_id: str = "") -> list[int]:
    """'0, 2' -> [0, 2]; raises NodeLoadError on anything else."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise NodeLoadError(node_id, f"param 'indices': {part!r} is not a face index (use e.g. 0,1)")
        out.append(int(part))
    return out


class FaceSelector(Node):
    """Keeps some of the faces: all, by index in the detector's order, or those matching a reference photo.

    Reference mode compares MobileFaceNet embeddings (cosine similarity) of each
    face with the largest face in the photo. Two selectors with two photos let a
    graph swap two people with two sources at once.
    """

    type_id = "select.faces"
    key_params = ("mode", "reference")
    values: FaceSelectorValues
    title = "Face selector"
    category = "filter"
    inputs = (Port("frame", FRAME, "the frame the faces were found in"), Port("faces", FACES, "faces to choose from"))
    outputs = (
        Port("faces", FACES, "the selected faces"),
        Port("rest", FACES, "the faces not selected"),
    )
    params = (
        Param(
            "mode",
            "choice",
            "all",
            choices=MODES,
            reload=True,
            help="all: every face; index: faces by position (face 0 = first in the detector's order); "
            "reference: faces that look like the reference photo",
        ),
        Param("indices", "text", "0", help="Face positions for index mode, e.g. 0 or 0,2"),
        Param(
            "reference", "path", "", reload=True, extensions=IMAGES, help="Photo of the person to pick (reference mode)"
        ),
        Param(
            "threshold",
            "float",
            0.3,
            min=-1.0,
            max=1.0,
            step=0.01,
            help="Least cosine similarity to the reference (same person ~0.4-0.9, others ~0.0-0.2)",
        ),
        Param("max_matches", "int", 1, min=0, max=64, help="Keep at most this many best matches (0 = all above)"),
        Param("device", "choice", "auto", choices=DEVICES, reload=True, help="Where the recogniser runs"),
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._recognizer: embed.Recognizer | None = None
        self._reference: np.ndarray | None = None

    def required_models(self) -> list[tuple[str, ...]]:
        return [(EMBEDDING_MODEL,), ("yunet",)] if self.values["mode"] == "reference" else []

    def load(self, ctx: LoadContext) -> None:
        node_id = ctx.node_id or self.id
        parse_indices(self.values["indices"], node_id)
        self._recognizer, self._reference = None, None
        if self.values["mode"] != "reference":
            return
        if not self.values["reference"]:
            raise NodeLoadError(node_id, "param 'reference' is empty: set it to a photo of the person to pick")
        sess = session(model_path(EMBEDDING_MODEL, node_id), self.values["device"])
        self._recognizer = embed.Recognizer(sess, embed.MOBILEFACENET_STD, node_id, "mobilefacenet")
        image, face = embed.largest_face(self.values["reference"], node_id, "reference photo")
        assert face.kps is not None  # photo faces (YuNet) always have keypoints
        self._reference = self._recognizer.embed(image, face.kps)

    def unload(self) -> None:
        self._recognizer, self._reference = None, None

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        mode = self.values["mode"]
        if mode == "all":
            return {"faces": tuple(faces), "rest": ()}
        if mode == "index":
            wanted = set(parse_indices(self.values["indices"], self.id))
            chosen = [i for i in range(len(faces)) if i in wanted]
        else:
            faces, chosen = self._by_reference(frame.image, faces)
        picked = set(chosen)
        return {
            "faces": tuple(faces[i] for i in chosen),
            "rest": tuple(f for i, f in enumerate(faces) if i not in picked),
        }

    def _by_reference(self, image: np.ndarray, faces: tuple[Face, ...]) -> tuple[tuple[Face, ...], list[int]]:
        """The faces with their embedding and similarity filled in, and the indices that match."""
        if self._recognizer is None or self._reference is None:
            return faces, []
        out, scored = [], []
        for index, face in enumerate(faces):
            vector = face.embedding if face.extra.get("embedding_model") == EMBEDDING_MODEL else None
            if vector is None:
                kps = embed.face_kps(face)
                if kps is None:
                    out.append(face)
                    continue
                vector = self._recognizer.embed(image, kps)
            similarity = float(vector @ self._reference)
            extra = {**face.extra, "embedding_model": EMBEDDING_MODEL, "similarity": similarity}
            out.append(replace(face, embedding=vector, extra=extra))
            if similarity >= self.values["threshold"]:
                scored.append((similarity, index))
        scored.sort(reverse=True)
        limit = self.values["max_matches"] or len(scored)
        return tuple(out), sorted(index for _, index in scored[:limit])


NODE_TYPES = [FaceSelector]

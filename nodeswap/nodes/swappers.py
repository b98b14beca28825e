"""Face swappers on ONNX models: InsightFace inswapper_128 (one photo) and DeepFaceLab DFM (trained identity).

Both write Face.swapped in the face's aligned crop space; a face without a crop
is aligned with the model's own template first (ArcFace 128 / DFL whole face).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nodeswap import dfm
from nodeswap.errors import NodeLoadError
from nodeswap.models import files_with_suffix, find_file, model_path
from nodeswap.node import LoadContext, Node, Param, Port
from nodeswap.nodes.values import DFMSwapperValues, InSwapperValues
from nodeswap.params import IMAGES
from nodeswap.runtime import DEVICES, session
from nodeswap.types import FACES, FRAME, Aligned, Face, Frame, Swapped, caps

from .ops import dfm_process, embed
from .ops.face_crop import align_face

INSWAP_SIZE = 128
EMAP_SHAPE = (512, 512)


def _dims(shape: Any) -> list[int | str]:
    return ["?" if not isinstance(d, int) or d <= 0 else d for d in shape]


def _fits(got: list[int | str], want: tuple[int | None, ...]) -> bool:
    """A model shape fits when the ranks agree and every fixed dim matches (None / symbolic = any)."""
    return len(got) == len(want) and all(w is None or g == "?" or g == w for g, w in zip(got, want, strict=True))


def check_tensor(
    kind: str, tensors: dict[str, list[int | str]], name: str, want: tuple[int | None, ...], file: str, node_id: str
) -> None:
    """Raise NodeLoadError saying which input/output of ``file`` is missing or has the wrong shape."""
    shown = "[" + ",".join("N" if w is None else str(w) for w in want) + "]"
    if name not in tensors:
        have = ", ".join(f"'{n}' {s}" for n, s in tensors.items()) or "none"
        raise NodeLoadError(node_id, f"model {file}: no {kind} '{name}' {shown} (it has {have})")
    if not _fits(tensors[name], want):
        raise NodeLoadError(node_id, f"model {file}: {kind} '{name}' is {tensors[name]}, expected {shown}")


def last_initializer(path: Path, node_id: str) -> np.ndarray:
    """The last graph initializer of an ONNX file (inswapper's identity projection, 'emap')."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf decode errors have several types
        raise NodeLoadError(node_id, f"model {path.name} is not a readable ONNX file: {exc}") from None
    if not model.graph.initializer:
        raise NodeLoadError(node_id, f"model {path.name} has no initializers (no emap): not an inswapper model")
    return numpy_helper.to_array(model.graph.initializer[-1])


def resolve_model(value: str, default_name: str, node_id: str, param: str) -> Path:
    """The model file of a path param: the given file, or ``default_name`` from the model folders."""
    if not value:
        return model_path(default_name, node_id)
    path = Path(value).expanduser()
    if path.is_file():
        return path
    found = find_file(path.name) if path.parent == Path(".") else None
    if found:
        return found
    raise NodeLoadError(node_id, f"param '{param}': file not found: {value}")


def _rgb_blob(crop_bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((crop_bgr[..., ::-1].astype(np.float32) / 255.0).transpose(2, 0, 1)[None])


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC if size > image.shape[0] else cv2.INTER_AREA)


class InSwapper(Node):
    """InsightFace inswapper_128: puts the face from one photo on every face (ArcFace identity).

    The source photo's largest face gives a w600k_r50 ArcFace embedding, projected
    by the model's emap. Each target face is cut with insightface's 128 template.
    """

    type_id = "swap.inswapper"
    key_params = ("source", "model")
    values: InSwapperValues
    title = "InsightFace swapper"
    category = "swapper"
    inputs = (Port("frame", FRAME, "the frame the faces are in"), Port("faces", FACES, "faces to swap"))
    outputs = (Port("faces", FACES, "faces with .swapped (128 px)", caps=caps(swapped="yes")),)
    params = (
        Param("source", "path", "", required=True, reload=True, extensions=IMAGES, help="Photo of the face to put on"),
        Param(
            "model", "path", "", reload=True, extensions=(".onnx",), help="inswapper_128.onnx; empty = model folders"
        ),
        Param(
            "recognizer", "path", "", reload=True, extensions=(".onnx",), help="w600k_r50.onnx; empty = model folders"
        ),
        Param(
            "alignment",
            "choice",
            "own",
            choices=("own", "upstream"),
            help="own: insightface's 128 crop from the keypoints (what the model was trained on); "
            "upstream: the aligner's crop, resized to 128",
        ),
        Param(
            "source_crop",
            "choice",
            "arcface",
            choices=("arcface", "match"),
            help="How the photo's face is cut for its identity: arcface (insightface's 5-point crop, what the "
            "recogniser was trained on) or match (DeepFaceLive's crop, sized and moved by match C, X and Y)",
        ),
        Param("match_c", "float", 1.55, min=1.0, max=2.0, step=0.01, help="Match crop: size (DeepFaceLive's C)"),
        Param("match_x", "float", 0.0, min=-0.5, max=0.5, step=0.01, help="Match crop: sideways (DeepFaceLive's X)"),
        Param("match_y", "float", -0.15, min=-0.5, max=0.5, step=0.01, help="Match crop: down (DeepFaceLive's Y)"),
        Param("device", "choice", "auto", choices=DEVICES, reload=True, help="Where the models run"),
    )
    _MATCH = frozenset({"source_crop", "match_c", "match_x", "match_y"})

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._session: Any = None
        self._latent: np.ndarray | None = None
        self._identity: tuple[embed.Recognizer, np.ndarray, np.ndarray, np.ndarray] | None = None

    def required_models(self) -> list[tuple[str, ...]]:
        v = self.values
        return [(name,) for value, name in ((v["model"], "inswapper_128"), (v["recognizer"], "w600k_r50")) if not value]

    def load(self, ctx: LoadContext) -> None:
        node_id = ctx.node_id or self.id
        v = self.values
        if not v["source"]:
            raise NodeLoadError(node_id, "param 'source' is empty: set it to a photo of the new face")
        swapper_file = resolve_model(v["model"], "inswapper_128", node_id, "model")
        recognizer_file = resolve_model(v["recognizer"], "w600k_r50", node_id, "recognizer")
        sess = session(swapper_file, v["device"])
        ins = {i.name: _dims(i.shape) for i in sess.get_inputs()}
        outs = {o.name: _dims(o.shape) for o in sess.get_outputs()}
        check_tensor("input", ins, "target", (None, 3, INSWAP_SIZE, INSWAP_SIZE), swapper_file.name, node_id)
        check_tensor("input", ins, "source", (None, 512), swapper_file.name, node_id)
        check_tensor("output", outs, "output", (None, 3, INSWAP_SIZE, INSWAP_SIZE), swapper_file.name, node_id)
        emap = last_initializer(swapper_file, node_id)
        if emap.shape != EMAP_SHAPE:
            raise NodeLoadError(
                node_id, f"model {swapper_file.name}: last initializer is {list(emap.shape)}, expected the 512x512 emap"
            )
        recognizer = embed.Recognizer(
            session(recognizer_file, v["device"]), embed.ARCFACE_STD, node_id, f"recognizer {recognizer_file.name}"
        )
        image, face = embed.largest_face(v["source"], node_id, "source photo")
        assert face.kps is not None  # photo faces (YuNet) always have keypoints
        self._identity = (recognizer, image, face.kps, emap.astype(np.float32))
        self._latent = self._source_latent()
        if self._latent.shape != (1, 512):
            raise NodeLoadError(
                node_id,
                f"recognizer {recognizer_file.name} gives {self._latent.size} values, "
                "expected a 512-d ArcFace embedding",
            )
        self._session = sess

    def _source_latent(self) -> np.ndarray:
        """The photo's identity through the emap, from the crop the source_crop params ask for."""
        assert self._identity is not None
        recognizer, image, kps, emap = self._identity
        v = self.values
        if v["source_crop"] == "match":
            identity = recognizer.embed_crop(embed.match_crop(image, kps, v["match_c"], v["match_x"], v["match_y"]))
        else:
            identity = recognizer.embed(image, kps)
        if identity.shape != (512,):
            return identity.reshape(1, -1)
        return embed.normalize(identity @ emap).reshape(1, 512)

    def params_changed(self, changed: set[str]) -> None:
        if changed & self._MATCH and self._identity is not None:
            self._latent = self._source_latent()

    def unload(self) -> None:
        self._session, self._latent, self._identity = None, None, None

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        return {"faces": tuple(self.swap_face(frame.image, face) for face in faces)}

    def swap_face(self, image: np.ndarray, face: Face) -> Face:
        upstream = self.values["alignment"] == "upstream" and face.aligned is not None
        aligned = (
            face.aligned
            if upstream
            else align_face(image, face, "arcface_128", INSWAP_SIZE, interpolation=cv2.INTER_LINEAR)
        )
        if aligned is None:
            return face
        crop = _fit(aligned.image, INSWAP_SIZE)
        out = self._session.run(["output"], {"target": _rgb_blob(crop), "source": self._latent})[0]
        rgb = np.clip(out[0].transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        new = _fit(np.ascontiguousarray(rgb[..., ::-1]), aligned.size)
        return replace(face, aligned=aligned, swapped=Swapped(image=new))


DFM_HELP = (
    "DeepFaceLab .dfm model: one of DeepFaceLive's public models (downloaded on demand: the inspector's "
    "Download button, or python run.py models fetch NAME), a .dfm from the model folders, or a path"
)


class DFMSwapper(Node):
    """DeepFaceLab DFM model: swaps every face to the identity the model was trained on, with masks.

    Uses the upstream aligned crop (DFL users align whole faces at coverage 2.2)
    or aligns itself with the DFL whole-face template at the model's resolution.
    The editor remembers the params after ``model`` per model, as DeepFaceLive does.
    """

    type_id = "swap.dfm"
    key_params = ("model", "morph_factor")
    values: DFMSwapperValues
    title = "DFM swapper"
    category = "swapper"
    inputs = (Port("frame", FRAME, "the frame the faces are in"), Port("faces", FACES, "faces to swap"))
    outputs = (Port("faces", FACES, "faces with .swapped and the model's masks", caps=caps(swapped="yes")),)
    params = (
        Param(
            "model",
            "path",
            "",
            required=True,
            reload=True,
            must_exist=False,
            extensions=(dfm.SUFFIX,),
            options=dfm.choices,
            help=DFM_HELP,
        ),
        Param(
            "morph_factor",
            "float",
            0.75,
            min=0.0,
            max=1.0,
            step=0.01,
            help="How much of the trained identity (models with morph_value only)",
        ),
        Param("pre_sharpen", "float", 0.0, min=0.0, max=10.0, step=0.1, help="Sharpen the face before the model"),
        *(
            Param(f"pre_gamma_{c}", "float", 1.0, min=0.01, max=4.0, step=0.01, help=f"Gamma of {c.upper()} in")
            for c in "rgb"
        ),
        *(
            Param(f"post_gamma_{c}", "float", 1.0, min=0.01, max=4.0, step=0.01, help=f"Gamma of {c.upper()} out")
            for c in "rgb"
        ),
        Param("two_pass", "bool", False, help="Run the model again on its own output"),
        Param("device", "choice", "auto", choices=DEVICES, reload=True, help="Where the model runs"),
    )
    remember_per = "model"
    remember_params = (
        "morph_factor",
        "pre_sharpen",
        *(f"{when}_gamma_{c}" for when in ("pre", "post") for c in "rgb"),
        "two_pass",
    )

    def __init__(self, node_id: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(node_id, params)
        self._session: Any = None
        self._face_input = ""
        self._morph_input = ""
        self._outputs: list[str] = []
        self.resolution = 0

    def required_models(self) -> list[tuple[str, ...]]:
        """A model given by name (a catalogue model, a .dfm in the model folders), not by path."""
        value = self.values["model"]
        by_name = value and Path(value).parent == Path(".") and not Path(value).is_file()
        return [(value,)] if by_name else []

    def _model_file(self, node_id: str) -> Path:
        value = self.values["model"]
        if not value:
            names = ", ".join(p.name for p in files_with_suffix(dfm.SUFFIX)) or "none in the model folders"
            raise NodeLoadError(node_id, f"param 'model' is empty: set it to a .dfm file (available: {names})")
        path = Path(value).expanduser()
        if path.is_file():
            return path
        if path.parent != Path("."):
            raise NodeLoadError(node_id, f"param 'model': file not found: {value}")
        return model_path(value, node_id)  # a name: ModelMissingError names the folders and the fetch command

    def load(self, ctx: LoadContext) -> None:
        node_id = ctx.node_id or self.id
        path = self._model_file(node_id)
        sess = session(path, self.values["device"])
        inputs = [(i.name, dfm.dims(i.shape)) for i in sess.get_inputs()]
        try:
            sig = dfm.check_signature(inputs, [o.name for o in sess.get_outputs()], path.name)
        except dfm.DfmError as exc:
            raise NodeLoadError(node_id, str(exc)) from None
        self._session, self.resolution = sess, sig.resolution
        self._outputs = list(sig.outputs)
        self._face_input, self._morph_input = sig.face_input, sig.morph_input

    def unload(self) -> None:
        self._session = None

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        return {"faces": tuple(self.swap_face(frame.image, face) for face in faces)}

    def _run(self, face_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        feed = {self._face_input: face_bgr[None]}
        if self._morph_input:
            feed[self._morph_input] = np.array([self.values["morph_factor"]], np.float32)
        face_mask, celeb, celeb_mask = (r[0] for r in self._session.run(self._outputs, feed))
        return face_mask, celeb, celeb_mask

    def swap_face(self, image: np.ndarray, face: Face) -> Face:
        """The face swapped as DeepFaceLive's FaceSwapDFM swaps it (ops/dfm_process.py), at the crop's size."""
        aligned: Aligned | None = face.aligned
        if aligned is None:
            aligned = align_face(image, face, "facemesh", self.resolution)
            if aligned is None:
                return face
        v = self.values
        new, mask, target_mask = dfm_process.swap(
            self._run,
            aligned.image,
            self.resolution,
            v["pre_sharpen"],
            (v["pre_gamma_r"], v["pre_gamma_g"], v["pre_gamma_b"]),
            (v["post_gamma_r"], v["post_gamma_g"], v["post_gamma_b"]),
            v["two_pass"],
        )
        scale = np.float32(1.0 / 255.0)
        swapped = Swapped(
            image=new, mask=mask.astype(np.float32) * scale, target_mask=target_mask.astype(np.float32) * scale
        )
        return replace(face, aligned=aligned, swapped=swapped)


NODE_TYPES = [InSwapper, DFMSwapper]

"""select.faces: all, by index, and by a reference photo (MobileFaceNet) on real faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.errors import NodeLoadError
from nodeswap.node import LoadContext
from nodeswap.nodes.selectors import FaceSelector, parse_indices
from nodeswap.types import Face, Frame
from tests.onnx_builders import real_faces

BEN_FRAMES = (40, 220)  # Ben Stiller close-ups in two different shots
OWEN_FRAMES = (200, 300)  # Owen Wilson


def frames(video: Path, indices: tuple[int, ...]) -> dict[int, np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    out = {}
    for index in sorted(indices):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = capture.read()
        assert ok
        out[index] = image
    capture.release()
    return out


def mosaic(images: list[np.ndarray], height: int = 360) -> np.ndarray:
    """Images side by side at one height: a frame with several people."""
    return np.hstack([cv2.resize(i, (round(i.shape[1] * height / i.shape[0]), height)) for i in images])


def selector(**params: object) -> FaceSelector:
    node = FaceSelector("sel", {"device": "cpu", **params})
    node.load(LoadContext("sel"))
    return node


@pytest.fixture(scope="module")
def stills(media_dir: Path) -> dict[int, np.ndarray]:
    return frames(media_dir / "videos" / "Ben_Stiller_Owen_Wilson.mp4", BEN_FRAMES + OWEN_FRAMES)


@pytest.fixture(scope="module")
def crowd(stills: dict[int, np.ndarray], photos: list[Path], models_dir: Path) -> tuple[np.ndarray, list[Face]]:
    """Four strangers, then Ben (frame 220) and Owen (frame 300): six faces in one frame."""
    strangers = [cv2.imread(str(photos[i])) for i in (1, 5, 9, 12)]
    image = mosaic([*strangers, stills[220], stills[300]])
    faces = real_faces(image, models_dir, landmarks=False, min_score=0.8)
    faces.sort(key=lambda f: f.box[0])  # left to right: strangers, Ben, Owen
    assert len(faces) == 6
    return image, faces


def test_parse_indices() -> None:
    assert parse_indices("0, 2;5") == [0, 2, 5]
    with pytest.raises(NodeLoadError, match="indices"):
        parse_indices("first")


def test_all_and_index_modes() -> None:
    faces = tuple(Face(box=(i * 10, 0, i * 10 + 8, 8), track_id=i) for i in range(4))
    frame = Frame(np.zeros((10, 50, 3), np.uint8))
    out = selector(mode="all").process(frame=frame, faces=faces)
    assert out["faces"] == faces and out["rest"] == ()
    out = selector(mode="index", indices="2,0,9").process(frame=frame, faces=faces)
    assert [f.track_id for f in out["faces"]] == [0, 2] and [f.track_id for f in out["rest"]] == [1, 3]
    with pytest.raises(NodeLoadError, match="indices"):
        selector(mode="index", indices="0,x")


def test_reference_picks_the_same_person_among_several(
    stills: dict[int, np.ndarray], crowd: tuple[np.ndarray, list[Face]], tmp_path: Path
) -> None:
    image, faces = crowd
    for name, reference_frame, expected in (("ben", 40, 4), ("owen", 200, 5)):
        reference = tmp_path / f"{name}.png"
        cv2.imwrite(str(reference), stills[reference_frame])  # another shot of the same person
        out = selector(mode="reference", reference=str(reference)).process(frame=Frame(image), faces=tuple(faces))
        assert len(out["faces"]) == 1 and len(out["rest"]) == 5
        picked = out["faces"][0]
        assert picked.box == faces[expected].box, name
        similarities = [f.extra["similarity"] for f in (*out["faces"], *out["rest"])]
        assert picked.extra["similarity"] > 0.3 and sorted(similarities)[-2] < 0.25, similarities
        assert picked.embedding.shape == (128,) and abs(np.linalg.norm(picked.embedding) - 1) < 1e-4


def test_reference_photo_matches_its_mirror_among_photos(photos: list[Path], models_dir: Path) -> None:
    people = [cv2.imread(str(photos[i])) for i in (0, 3, 7, 13, 20)]
    target = 2
    shown = [cv2.flip(p, 1) if i == target else p for i, p in enumerate(people)]
    image = mosaic(shown, 420)
    faces = sorted(real_faces(image, models_dir, landmarks=False, min_score=0.8), key=lambda f: f.box[0])
    assert len(faces) == 5
    node = FaceSelector("sel", {"mode": "reference", "reference": str(photos[7]), "device": "cpu"})
    node.load(LoadContext("sel"))
    out = node.process(frame=Frame(image), faces=tuple(faces))
    assert [f.box for f in out["faces"]] == [faces[target].box]
    # threshold above every similarity: nothing picked; max_matches 0: all above threshold
    node.values = {**node.values, "threshold": 0.99}
    assert node.process(frame=Frame(image), faces=tuple(faces))["faces"] == ()
    node.values = {**node.values, "threshold": -1.0, "max_matches": 0}
    assert len(node.process(frame=Frame(image), faces=tuple(faces))["faces"]) == 5


def test_two_selectors_split_two_people(
    stills: dict[int, np.ndarray], crowd: tuple[np.ndarray, list[Face]], tmp_path: Path
) -> None:
    image, faces = crowd
    cv2.imwrite(str(tmp_path / "ben.png"), stills[40])
    cv2.imwrite(str(tmp_path / "owen.png"), stills[200])
    ben = selector(mode="reference", reference=str(tmp_path / "ben.png"))
    owen = selector(mode="reference", reference=str(tmp_path / "owen.png"))
    first = ben.process(frame=Frame(image), faces=tuple(faces))
    second = owen.process(frame=Frame(image), faces=first["rest"])  # chained on what the first left
    assert first["faces"][0].box == faces[4].box and second["faces"][0].box == faces[5].box


def test_reference_errors_name_the_problem(tmp_path: Path, models_dir: Path) -> None:
    with pytest.raises(NodeLoadError, match="reference"):
        selector(mode="reference")
    with pytest.raises(NodeLoadError, match="not found"):
        selector(mode="reference", reference=str(tmp_path / "nobody.jpg"))
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 127, np.uint8))
    with pytest.raises(NodeLoadError, match="no face found"):
        selector(mode="reference", reference=str(blank))
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(NodeLoadError, match="not an image"):
        selector(mode="reference", reference=str(text))

"""DeepFaceLab aligned JPEGs: the APP15 pickle is read as data only; anything else is refused unrun."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.dfl_jpeg import jpeg_segments, pose_68, read_dfl_metadata, safe_loads
from nodeswap.errors import UserError
from nodeswap.faceset import load_faceset, read_image
from nodeswap.nodes.ops.align import MEAN_FACE, crop_matrix, transform_points
from nodeswap.nodes.ops.pose import pnp_pose

SIZE = 256


def dfl_landmarks(size: int = SIZE) -> np.ndarray:
    """68 points where DeepFaceLab's whole face puts a mean face."""
    unit_to_crop = crop_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0]]), "unit", size, 2.2, 0.0, -0.08)
    return transform_points(unit_to_crop, MEAN_FACE[68]).astype(np.float32)


def dfl_jpeg(path: Path, meta: object, size: int = SIZE, raw: bytes | None = None) -> Path:
    """A JPEG with ``meta`` pickled into an APP15 segment after SOI, as DeepFaceLab writes it."""
    image = np.full((size, size, 3), 90, np.uint8)
    cv2.circle(image, (size // 2, size // 2), size // 3, (150, 170, 200), -1)
    _, data = cv2.imencode(".jpg", image)
    payload = raw if raw is not None else pickle.dumps(meta)
    segment = b"\xff\xef" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2].tobytes() + segment + data[2:].tobytes())
    return path


def dfl_meta(**changes: object) -> dict[str, object]:
    meta: dict[str, object] = {
        "face_type": "whole_face",
        "landmarks": dfl_landmarks(),
        "eyebrows_expand_mod": 1.0,
        "source_filename": "00042.png",
        "source_rect": (100, 80, 300, 320),
        "source_landmarks": dfl_landmarks() * 0.8 + 50,
        "image_to_face_mat": np.array([[1.25, 0.0, -62.5], [0.0, 1.25, -62.5]]),
        "seg_ie_polys": {"polys": [{"type": 1, "pts": [[1.0, 2.0], [3.0, 4.0], [5.0, 1.0]]}]},
        "xseg_mask": np.frombuffer(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes(), np.uint8),
    }
    meta.update(changes)
    return meta


def test_reads_a_deepfacelab_faceset(tmp_path: Path) -> None:
    dfl_jpeg(tmp_path / "00042_0.jpg", dfl_meta())
    dfl_jpeg(tmp_path / "00043_0.jpg", dfl_meta(source_filename="00043.png", landmarks=dfl_landmarks().tolist()))
    cv2.imwrite(str(tmp_path / "plain.jpg"), np.zeros((32, 32, 3), np.uint8))  # no metadata: skipped
    faces = load_faceset(tmp_path)
    assert [f.path.name for f in faces] == ["00042_0.jpg", "00043_0.jpg"]
    face = faces[0]
    assert face.size == SIZE and face.face_type == "whole_face"
    assert face.source == "00042.png" and face.frame == 41  # DeepFaceLab numbers frames from 1
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    np.testing.assert_allclose(face.landmarks, dfl_landmarks())
    np.testing.assert_allclose(faces[1].landmarks, dfl_landmarks(), atol=1e-5)  # a list works too
    np.testing.assert_allclose(face.mat, [[1.25, 0.0, -62.5], [0.0, 1.25, -62.5]])
    assert face.pose is not None and abs(face.pose[0]) < 8 and abs(face.pose[2]) < 3  # the mean face: frontal
    assert read_image(face).shape == (SIZE, SIZE, 3)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol_of_plain_data_and_arrays(protocol: int) -> None:
    meta = dfl_meta(scale=np.float32(1.5), ids={1, 2}, pair=(1, "a"), raw=b"\x00\x01")
    back = safe_loads(pickle.dumps(meta, protocol=protocol))
    assert set(back) == set(meta)
    np.testing.assert_array_equal(back["landmarks"], meta["landmarks"])
    assert back["landmarks"].dtype == np.float32
    assert back["scale"] == np.float32(1.5) and back["ids"] == {1, 2} and back["raw"] == b"\x00\x01"
    assert back["seg_ie_polys"] == meta["seg_ie_polys"]


class Payload:
    """A pickle that runs a command when loaded: what a crafted faceset would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


class Evaluated:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return eval, ("__import__('os').getpid()",)


@pytest.mark.parametrize("make", [Payload, lambda marker: Evaluated()], ids=["os.system", "builtins.eval"])
def test_a_malicious_pickle_is_refused_and_never_run(tmp_path: Path, make: object) -> None:
    marker = tmp_path / "pwned"
    assert pickle.loads(pickle.dumps(1)) == 1
    path = dfl_jpeg(tmp_path / "00001_0.jpg", dfl_meta(landmarks=make(marker)))  # type: ignore[operator]
    with pytest.raises(UserError) as caught:
        load_faceset(tmp_path)
    message = str(caught.value)
    assert str(path) in message and "refused" in message
    assert "system" in message or "eval" in message
    assert not marker.exists(), "the pickle ran"


def test_other_classes_and_tricks_are_refused(tmp_path: Path) -> None:
    for name, payload in (
        ("subclass", pickle.dumps(np.ma.masked_array([1, 2]))),  # numpy.ma: not a plain ndarray
        ("copyreg", b"\x80\x02ccopyreg\n_reconstructor\nq\x00."),
        ("persistent", b"\x80\x02X\x01\x00\x00\x00aQ."),
    ):
        path = dfl_jpeg(tmp_path / f"{name}.jpg", None, raw=payload)
        with pytest.raises(UserError, match="refused") as caught:
            read_dfl_metadata(path)
        assert str(path) in str(caught.value)


def test_a_corrupt_pickle_or_jpeg_is_a_user_error(tmp_path: Path) -> None:
    path = dfl_jpeg(tmp_path / "cut.jpg", None, raw=pickle.dumps(dfl_meta())[:-40])
    with pytest.raises(UserError, match="metadata is corrupt"):
        read_dfl_metadata(path)
    (tmp_path / "text.jpg").write_bytes(b"hello")
    with pytest.raises(UserError, match="not a JPEG"):
        read_dfl_metadata(tmp_path / "text.jpg")
    huge = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ\x00\x00\x00\x40\x85C\x01b\x87R."
    path = dfl_jpeg(tmp_path / "huge.jpg", None, raw=huge)
    with pytest.raises(UserError, match="corrupt"):  # an array of 2**30 items is not face data
        read_dfl_metadata(path)


def test_jpeg_segments_find_size_and_app15(tmp_path: Path) -> None:
    path = dfl_jpeg(tmp_path / "a.jpg", {"face_type": "head"}, size=96)
    size, payload = jpeg_segments(path.read_bytes())
    assert size == (96, 96) and payload is not None and safe_loads(payload) == {"face_type": "head"}
    assert jpeg_segments(cv2.imencode(".jpg", np.zeros((10, 20, 3), np.uint8))[1].tobytes()) == ((20, 10), None)


def test_pose_68_agrees_with_the_markers_pose() -> None:
    rng = np.random.default_rng(3)
    base = MEAN_FACE[68] * 200 + 100
    for _ in range(20):
        angle = rng.uniform(-0.3, 0.3)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        points = base @ rotation.T + rng.normal(0, 4, base.shape)
        points[:, 0] = points[:, 0] * rng.uniform(0.8, 1.0)  # squeezed: a turned head
        expected = pnp_pose(points, "68")
        assert expected is not None
        assert pose_68(points) == pytest.approx(expected, abs=1e-6)

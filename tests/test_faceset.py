"""The faceset core: records, the index and its journal, sharpness and near-duplicates; no models needed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.errors import UserError
from nodeswap.faceset import (
    INDEX,
    JOURNAL_GLOB,
    FaceRecord,
    face_change,
    load_faceset,
    read_image,
    sharpness,
    thumbnail,
)
from nodeswap.faceset_writer import FacesetWriter, safe_stem
from nodeswap.nodes.ops.align import MEAN_FACE, crop_matrix, transform_points

ROOT = Path(__file__).resolve().parent.parent
SIZE = 128


def template_landmarks(size: int = SIZE) -> np.ndarray:
    """The mean 468-point face where the whole-face template puts it in a ``size`` crop."""
    unit_to_crop = crop_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0]]), "unit", size, 2.2, 0.0, -0.08)
    return transform_points(unit_to_crop, MEAN_FACE[468]).astype(np.float32)


def textured_face(seed: int = 0, size: int = SIZE) -> np.ndarray:
    """A crop with fine detail where the inner face is (sharp), and a grey surround."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), 120, np.uint8)
    noise = rng.integers(0, 255, (size // 2, size // 2, 3), dtype=np.uint8)
    image[size // 4 : size // 4 + size // 2, size // 4 : size // 4 + size // 2] = noise
    return image


def record(folder: Path, name: str, frame: int = 0, track_id: int = 0) -> FaceRecord:
    return FaceRecord(
        path=folder / name,
        size=SIZE,
        landmarks=template_landmarks(),
        source="clip.mp4",
        frame=frame,
        track_id=track_id,
        mat=np.array([[0.5, 0.0, 10.0], [0.0, 0.5, 20.0]]),
        pose=(12.5, -3.0, 1.0),
        sharpness=321.5,
    )


def test_write_then_load_round_trips_every_field(tmp_path: Path) -> None:
    writer = FacesetWriter(tmp_path / "set")
    for i in range(3):
        writer.add(textured_face(i), record(writer.folder, f"clip_{i:06d}_0.jpg", frame=i, track_id=i % 2))
    writer.close()
    lines = [json.loads(x) for x in (tmp_path / "set" / INDEX).read_text().splitlines()]
    assert [x["file"] for x in lines] == [f"clip_{i:06d}_0.jpg" for i in range(3)]
    assert set(lines[0]) == {
        "file", "size", "source", "frame", "track_id", "landmarks", "mat", "pose", "sharpness", "template", "coverage"
    }  # fmt: skip
    assert lines[0]["pose"] == {"yaw": 12.5, "pitch": -3.0, "roll": 1.0}
    assert lines[0]["template"] == "dfl_whole_face" and lines[0]["coverage"] == 2.2
    assert not list((tmp_path / "set").glob(JOURNAL_GLOB)), "the journal is folded in and removed"
    faces = load_faceset(tmp_path / "set")
    assert [f.frame for f in faces] == [0, 1, 2] and [f.track_id for f in faces] == [0, 1, 0]
    first = faces[0]
    assert first.size == SIZE and first.source == "clip.mp4" and first.pose == (12.5, -3.0, 1.0)
    assert first.sharpness == 321.5 and first.face_type == "whole_face"
    assert first.landmarks.dtype == np.float32 and first.landmarks.shape == (468, 2)
    np.testing.assert_allclose(first.landmarks, template_landmarks(), atol=0.006)
    np.testing.assert_allclose(first.mat, [[0.5, 0.0, 10.0], [0.0, 0.5, 20.0]])
    image = read_image(first)
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(int) - textured_face(0)).mean() < 25  # JPEG of noise at quality 95


def test_a_second_run_adds_and_replaces_by_file_name(tmp_path: Path) -> None:
    for frames in ((0, 1), (1, 2)):
        writer = FacesetWriter(tmp_path)
        for i in frames:
            writer.add(textured_face(i), record(tmp_path, f"clip_{i:06d}_0.jpg", frame=i))
        writer.close()
    assert [f.frame for f in load_faceset(tmp_path)] == [0, 1, 2]


def test_a_killed_run_keeps_what_it_wrote(tmp_path: Path) -> None:
    """SIGKILL-like: the process ends without close(). Its journal is read beside the index and folded in by
    the next writer."""
    script = (
        "import os, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from pathlib import Path\n"
        "from tests.test_faceset import record, textured_face\n"
        "from nodeswap.faceset_writer import FacesetWriter\n"
        "w = FacesetWriter(sys.argv[1])\n"
        "for i in range(4):\n"
        "    w.add(textured_face(i), record(Path(sys.argv[1]), f'k_{i}.jpg', frame=i))\n"
        "os._exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    assert not (tmp_path / INDEX).exists() and len(list(tmp_path.glob(JOURNAL_GLOB))) == 1
    journal = next(tmp_path.glob(JOURNAL_GLOB))
    with journal.open("a") as handle:
        handle.write('{"file": "torn.jpg", "si')  # a line cut off mid-write
    assert [f.path.name for f in load_faceset(tmp_path)] == [f"k_{i}.jpg" for i in range(4)]
    writer = FacesetWriter(tmp_path)  # folds the left journal into the index
    assert not journal.exists() and len((tmp_path / INDEX).read_text().splitlines()) == 4
    writer.add(textured_face(9), record(tmp_path, "k_9.jpg", frame=9))
    writer.close()
    assert [f.frame for f in load_faceset(tmp_path)] == [0, 1, 2, 3, 9]


def test_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"holds other files and no faceset\.jsonl"):
        FacesetWriter(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        FacesetWriter(tmp_path / "file")


def test_unreadable_facesets_name_the_folder_or_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=re.escape(f"faceset {tmp_path / 'missing'}: no such folder")):
        load_faceset(tmp_path / "missing")
    with pytest.raises(UserError, match=r"no faceset\.jsonl and no DeepFaceLab"):
        load_faceset(tmp_path)
    (tmp_path / INDEX).write_text('{"file": "a.jpg"}\nnot json\n')
    with pytest.raises(UserError, match=r"faceset\.jsonl, line 2: not JSON"):
        load_faceset(tmp_path)
    (tmp_path / INDEX).write_text('{"file": "a.jpg", "size": 64}\n')
    with pytest.raises(UserError, match=r"face 1: no field 'landmarks'"):
        load_faceset(tmp_path)
    writer = FacesetWriter(tmp_path / "set")
    writer.add(textured_face(), record(writer.folder, "a.jpg"))
    writer.close()
    face = load_faceset(tmp_path / "set")[0]
    (tmp_path / "set" / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError, match=r"a\.jpg: not an image"):
        read_image(face)
    cv2.imwrite(str(tmp_path / "set" / "a.jpg"), textured_face(size=64))
    with pytest.raises(UserError, match="64x64, the index says 128"):
        read_image(face)


def test_sharpness_falls_with_blur_and_ignores_resolution() -> None:
    sharp = textured_face()
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    assert sharpness(sharp) > 10 * sharpness(blurred)
    bigger = cv2.resize(sharp, (256, 256), interpolation=cv2.INTER_NEAREST)
    assert sharpness(bigger) == pytest.approx(sharpness(sharp), rel=0.25)


def test_face_change_is_zero_for_the_same_face_and_large_for_another() -> None:
    face = textured_face(1)
    _, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 90])
    again = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert face_change(thumbnail(face), thumbnail(face)) == 0.0
    assert face_change(thumbnail(face), thumbnail(again)) < 1.0
    assert face_change(thumbnail(face), thumbnail(textured_face(2))) > 10.0


def test_safe_stem() -> None:
    assert safe_stem("/videos/my clip (1).mp4") == "my_clip_1"
    assert safe_stem("").startswith("live-")

"""The faceset sink on a real clip: crops, index fields, landmarks on the face, and every skip param."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.errors import UserError
from nodeswap.faceset import INDEX, load_faceset, read_image, sharpness
from nodeswap.node import LoadContext
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.detectors import FaceDetector
from nodeswap.nodes.facesets import FacesetSink
from nodeswap.nodes.markers import FaceMarker
from nodeswap.nodes.ops import dfl_align
from nodeswap.nodes.ops.align import crop_matrix, transform_points
from nodeswap.types import Face, Frame

CLIP = "Kim_Jarrey_2_in.mp4"  # one streamer, head turned 10-40 degrees, some motion blur
FRAMES = 40
SIZE = 256
LEFT_EYE, RIGHT_EYE = (33, 133), (362, 263)  # FaceMesh eye corners, image left eye first


def eye_centres(points: np.ndarray) -> np.ndarray:
    return np.array([points[list(LEFT_EYE)].mean(0), points[list(RIGHT_EYE)].mean(0)])


def template_eyes(size: int = SIZE) -> np.ndarray:
    """Where DeepFaceLive's whole-face cut puts its uniform template's eyes in a ``size`` crop."""
    unit_to_crop = crop_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0]]), "unit", size, 2.2, 0.0, -0.08)
    return eye_centres(transform_points(unit_to_crop, dfl_align.UNI_468))


@pytest.fixture(scope="module")
def clip_faces(models_dir: Path, media_dir: Path) -> list[tuple[Frame, tuple[Face, ...]]]:
    """The first 40 frames of a real clip with FaceMesh faces on them."""
    detector = FaceDetector("detector", {"device": "cpu"})
    marker = FaceMarker("marker", {"device": "cpu"})
    detector.load(LoadContext("detector"))
    marker.load(LoadContext("marker"))
    path = media_dir / "clips" / CLIP
    capture = cv2.VideoCapture(str(path))
    found = []
    for index in range(FRAMES):
        ok, image = capture.read()
        assert ok, f"{path} ended at frame {index}"
        frame = Frame(image, index=index, fps=25.0, source=str(path), frame_count=214)
        faces = detector.process(frame=frame)["faces"]
        found.append((frame, marker.process(frame=frame, faces=faces)["faces"]))
    capture.release()
    assert all(len(faces) == 1 for _, faces in found)
    return found


def extract(folder: Path, clip: list[tuple[Frame, tuple[Face, ...]]], **params: object) -> FacesetSink:
    sink = FacesetSink("faceset", {"path": str(folder), **params})
    sink.load(LoadContext("faceset"))
    for frame, faces in clip:
        sink.process(frame=frame, faces=faces)
    sink.unload()
    return sink


def test_crops_index_and_landmarks_on_a_real_clip(tmp_path: Path, clip_faces, models_dir: Path) -> None:
    sink = extract(tmp_path / "set", clip_faces, min_change=0.0)
    assert sink.kept == FRAMES and not sink.skipped
    jpegs = sorted((tmp_path / "set").glob("*.jpg"))
    assert [p.name for p in jpegs] == [f"Kim_Jarrey_2_in_{i:06d}_0.jpg" for i in range(FRAMES)]
    lines = [json.loads(line) for line in (tmp_path / "set" / INDEX).read_text().splitlines()]
    assert len(lines) == FRAMES and lines[7]["frame"] == 7 and lines[7]["source"].endswith(CLIP)
    assert len(lines[0]["landmarks"]) == 468 and lines[0]["size"] == SIZE and lines[0]["track_id"] >= 0
    records = load_faceset(tmp_path / "set")
    detector = FaceDetector("check", {"device": "cpu"})
    detector.load(LoadContext("check"))
    for record, (frame, faces) in zip(records, clip_faces, strict=True):
        crop = read_image(record)
        assert crop.shape == (SIZE, SIZE, 3)
        # the transform cuts this crop from the frame
        again = cv2.warpAffine(frame.image, record.mat, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
        assert np.abs(again.astype(int) - crop)[16:-16, 16:-16].mean() < 4
        # landmarks are the frame's landmarks in crop pixels, and the eyes sit where the template puts them
        expected = transform_points(record.mat, faces[0].landmarks[:, :2])
        np.testing.assert_allclose(record.landmarks, expected, atol=0.01)
        eyes = eye_centres(record.landmarks)
        assert np.linalg.norm(eyes - template_eyes(), axis=1).max() < 0.06 * SIZE
        # an independent detector on the crop finds the eyes where the landmarks say
        found = detector.process(frame=Frame(crop))["faces"]
        assert found and found[0].kps is not None
        assert np.linalg.norm(found[0].kps[:2] - eyes, axis=1).max() < 0.05 * SIZE
        assert record.pose == pytest.approx(faces[0].pose, abs=0.01)
        assert record.sharpness == pytest.approx(sharpness(crop), rel=0.15)


def test_uses_the_aligners_crop_only_when_it_is_the_same_crop(tmp_path: Path, clip_faces) -> None:
    frame, faces = clip_faces[0]
    for coverage, blank in ((2.2, True), (2.0, False)):
        aligner = FaceAligner(
            "aligner",
            {"resolution": SIZE, "coverage": coverage},
        )
        aligned = aligner.process(frame=frame, faces=faces)["faces"]
        assert aligned[0].aligned is not None
        marked = replace(aligned[0], aligned=replace(aligned[0].aligned, image=np.zeros((SIZE, SIZE, 3), np.uint8)))
        folder = tmp_path / f"c{coverage}"
        extract(folder, [(frame, (marked,))])
        crop = read_image(load_faceset(folder)[0])
        assert (crop.max() < 10) == blank, f"coverage {coverage}: the aligner's crop {'not ' * blank}used"


def test_every_n_frames(tmp_path: Path, clip_faces) -> None:
    sink = extract(tmp_path, clip_faces, every_n=4, min_change=0.0)
    assert [r.frame for r in load_faceset(tmp_path)] == list(range(0, FRAMES, 4)) and sink.kept == 10


def test_min_face_size(tmp_path: Path, clip_faces) -> None:
    width = max(max(f.width, f.height) for _, faces in clip_faces for f in faces)
    sink = extract(tmp_path, clip_faces, min_face_size=int(width) + 1)
    assert sink.kept == 0 and sink.skipped["small"] == FRAMES
    assert (tmp_path / INDEX).read_text() == ""  # an empty faceset, still a faceset
    with pytest.raises(UserError, match="no faces"):
        load_faceset(tmp_path)


def test_max_yaw(tmp_path: Path, clip_faces) -> None:
    yaws = sorted(abs(faces[0].pose[0]) for _, faces in clip_faces)
    limit = (yaws[len(yaws) // 2 - 1] + yaws[len(yaws) // 2]) / 2  # between two faces: rounding cannot matter
    sink = extract(tmp_path, clip_faces, max_yaw=limit, min_change=0.0)
    kept = load_faceset(tmp_path)
    assert kept and all(abs(r.pose[0]) <= limit for r in kept)
    assert sink.skipped["turned"] == sum(y > limit for y in yaws) > 0


def test_min_sharpness(tmp_path: Path, clip_faces) -> None:
    extract(tmp_path / "all", clip_faces, min_change=0.0)
    scores = sorted(r.sharpness for r in load_faceset(tmp_path / "all"))
    limit = (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
    sink = extract(tmp_path / "sharp", clip_faces, min_sharpness=limit, min_change=0.0)
    kept = load_faceset(tmp_path / "sharp")
    assert all(r.sharpness >= limit for r in kept) and len(kept) == sum(s > limit for s in scores)
    assert sink.skipped["blurry"] == FRAMES - len(kept) > 0


def test_near_duplicates_are_skipped_per_track(tmp_path: Path, clip_faces) -> None:
    frame, faces = clip_faces[0]
    still = [(replace(frame, index=i), faces) for i in range(6)]  # a frozen picture: the same face six times
    sink = extract(tmp_path / "still", still)
    assert sink.kept == 1 and sink.skipped["duplicate"] == 5
    assert extract(tmp_path / "all", still, min_change=0.0).kept == 6
    other = tuple(replace(f, track_id=f.track_id + 1) for f in faces)  # the same picture, another track
    assert extract(tmp_path / "two", [still[0], (replace(frame, index=1), other)]).kept == 2
    moving = extract(tmp_path / "moving", clip_faces)  # a real clip keeps most frames at the default
    assert 0.5 * FRAMES <= moving.kept < FRAMES

"""The morph swap's eyes: the photo's iris turned to the target's gaze, and the likeness slider."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.ops import eye_warp, morph
from nodeswap.nodes.swap_morph import MorphSwap
from nodeswap.types import Frame
from tests.test_morph import _embed, _paste, _target_face

SIZE = 200
CENTRES = ((70.0, 100.0), (130.0, 100.0))  # image-left eye (RIGHT_EYE), image-right eye (LEFT_EYE)


def eye_points(open_px: float = 8.0) -> np.ndarray:
    """468 landmarks with only the two eye contours set: ellipses 40 px wide, ``open_px`` half-height."""
    points = np.zeros((468, 2))
    for (cx, cy), contour, sign in zip(CENTRES, (morph.RIGHT_EYE, morph.LEFT_EYE), (1, -1), strict=True):
        start = np.pi if sign == 1 else 0.0  # RIGHT_EYE starts at its left corner, LEFT_EYE at its right
        for k, index in enumerate(contour):
            angle = start + sign * k * 2 * np.pi / len(contour)
            points[index] = (cx + 20 * np.cos(angle), cy - open_px * np.sin(angle))
    return points


def eye_image(iris_dx: float, open_px: float = 8.0) -> np.ndarray:
    """Grey skin, white eyeballs inside the contours, a dark iris ``iris_dx`` px right of each eye's middle."""
    image = np.full((SIZE, SIZE, 3), 150, np.uint8)
    points = eye_points(open_px)
    for (cx, cy), contour in zip(CENTRES, (morph.RIGHT_EYE, morph.LEFT_EYE), strict=True):
        inside = np.zeros((SIZE, SIZE), np.uint8)
        cv2.fillPoly(inside, [np.rint(points[list(contour)]).astype(np.int32)], 1)
        iris = np.zeros_like(inside)
        cv2.circle(iris, (round(cx + iris_dx), round(cy)), 6, 1, -1)
        image[inside > 0] = 235
        image[(inside > 0) & (iris > 0)] = (60, 40, 20)
    return image


def along(image: np.ndarray, points: np.ndarray) -> list[float]:
    lightness = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)[..., 0].astype(np.float32)
    found = []
    for eye, contour in enumerate((morph.RIGHT_EYE, morph.LEFT_EYE)):
        pos = eye_warp.iris_position(lightness, points[list(contour)], points[list(eye_warp.CORNERS[eye])])
        assert pos is not None
        found.append(float(pos[0]))
    return found


@pytest.mark.parametrize("dx", [-9.0, 0.0, 9.0])
def test_iris_position_reads_where_the_dark_iris_is(dx: float) -> None:
    for value in along(eye_image(dx), eye_points()):
        assert value == pytest.approx(dx / 40, abs=0.05)


def test_the_photos_iris_turns_to_the_targets_gaze_and_the_lids_stay() -> None:
    points = eye_points()
    face, target = eye_image(0.0), eye_image(8.0)
    shifts = eye_warp.gaze_shifts(face, target, points, points)
    assert all(s is not None and s[0] > 4 for s in shifts)
    out = eye_warp.shift_eyes(face, points, shifts)
    for value, wanted in zip(along(out, points), along(target, points), strict=True):
        assert value == pytest.approx(wanted, abs=0.06)
    both = [morph.fill_polygon(SIZE, points[list(c)]) for c in (morph.RIGHT_EYE, morph.LEFT_EYE)]
    lids = morph.feather(np.maximum(*both), -3, 0) == 0
    assert np.array_equal(out[lids], face[lids])  # outside the openings nothing moved


def test_a_closing_target_eye_leaves_the_gaze_alone() -> None:
    shifts = eye_warp.gaze_shifts(eye_image(0.0), eye_image(8.0, 1.0), eye_points(), eye_points(1.0))
    assert shifts == [None, None]
    face = eye_image(0.0)
    assert eye_warp.shift_eyes(face, eye_points(), shifts) is face


def test_likeness_moves_the_swap_from_the_target_toward_the_photo(
    models_dir: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    source = cv2.imread(str(media_dir / "photos" / "000013.jpg"))
    target = cv2.imread(str(media_dir / "photos" / "000016.jpg"))
    face = _target_face(target, models_dir)
    node = MorphSwap("morph", {"source_image": str(media_dir / "photos" / "000013.jpg"), "device": "cpu"})
    node.load(LoadContext("morph"))
    e_src = _embed(source, models_dir)
    likeness, eyes = [], []
    for value in (0.0, 0.5, 1.0):
        node.values["likeness"] = value  # a live change: no reload
        (out,) = node.process(frame=Frame(image=target), faces=(face,))["faces"]
        likeness.append(float(_embed(_paste(target, out), models_dir) @ e_src))
        assert out.swapped is not None
        eyes.append(out.swapped.image.astype(np.float32))
    assert likeness[0] < likeness[1] - 0.03 and likeness[0] < likeness[2] - 0.03, likeness
    assert not np.array_equal(eyes[1], eyes[2])  # over 0.5 the photo's own shading comes back

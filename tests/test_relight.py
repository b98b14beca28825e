"""Face and light apart (nodeswap/nodes/ops/relight.py), on real faces: relighting, the multi-band blend, the kept
eye openings; and the morph swap following a real clip's blink and light."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.nodes.ops import morph, morph_source, relight
from nodeswap.nodes.ops.morph_source import prepare_source
from nodeswap.nodes.swap_morph import source_landmarks

SIZE = 256


@lru_cache(maxsize=4)
def _face(path: str) -> tuple[np.ndarray, np.ndarray]:
    """An upright 256 crop of the largest face in an image file (or a video's first frame) and its landmarks."""
    if path.endswith(".mp4"):
        ok, image = cv2.VideoCapture(path).read()
        assert ok, path
    else:
        image = cv2.imread(path)
    points = source_landmarks(image, "cpu", "test")[:, :2]
    mat, _ = morph.crop_transform(points, SIZE, 1.4)
    crop = cv2.warpAffine(image, mat, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, morph.transform_points(points, mat)


@pytest.fixture(scope="module")
def photo(media_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    return _face(str(media_dir / "clips" / "Emily_Winston.png"))


def _side_light(image: np.ndarray) -> np.ndarray:
    """The same face lit from the image-left and tinted warm: a smooth gain across the crop."""
    gain = np.linspace(0.55, 1.15, image.shape[1], dtype=np.float32)[None, :, None] * np.array([0.85, 0.95, 1.1])
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _detail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return grey - cv2.GaussianBlur(grey, (0, 0), 3)


def test_lowpass_keeps_what_is_outside_the_mask_out(photo: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = photo
    mask = morph.fill_polygon(SIZE, morph.hull_polygon(points, 0.3))
    black_outside = (crop * mask[..., None]).astype(np.uint8)
    edge = (cv2.dilate(mask, np.ones((9, 9))) > 0) & (cv2.erode(mask, np.ones((9, 9))) > 0.99)
    with_mask = relight.lowpass(black_outside, mask, 40)
    without = relight.lowpass(black_outside, np.ones_like(mask), 40)
    skin = float(crop[mask > 0.99].mean())
    # just inside the edge the normalised blur stays near the skin's level; a plain blur darkens it
    assert abs(float(with_mask[edge].mean()) - skin) < 0.5 * abs(float(without[edge].mean()) - skin)


def test_relight_takes_the_targets_light_and_keeps_the_faces_detail(photo: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = photo
    mask = morph.fill_polygon(SIZE, morph.hull_polygon(points, 0.3))
    lit = _side_light(crop)
    out = relight.relight(crop, lit, mask, sigma=0.2 * SIZE)
    inside = mask > 0.99
    light = cv2.GaussianBlur(out.astype(np.float32), (0, 0), 20)[inside]
    wanted = cv2.GaussianBlur(lit.astype(np.float32), (0, 0), 20)[inside]
    before = cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 20)[inside]
    assert np.abs(light - wanted).mean() < 0.3 * np.abs(before - wanted).mean()

    # the left half darker than the right, as the target is lit
    def sides(image: np.ndarray) -> float:  # right half minus left half of the face
        half = SIZE // 2
        return float(image[:, half:][inside[:, half:]].mean() - image[:, :half][inside[:, :half]].mean())

    assert sides(out) > sides(crop) + 4
    corr = np.corrcoef(_detail(out)[inside], _detail(crop)[inside])[0, 1]
    assert corr > 0.9  # brows, lashes and lips are the photo's


def test_relight_amount_zero_changes_nothing(photo: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = photo
    mask = morph.fill_polygon(SIZE, morph.hull_polygon(points))
    out = relight.relight(crop, _side_light(crop), mask, 40, amount=0.0)
    assert np.abs(out.astype(int) - crop).max() <= 4  # the 8-bit Lab round trip only


def test_pyramid_blend_hides_the_seam_a_hard_paste_shows(photo: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = photo
    mask = morph.fill_polygon(SIZE, morph.hull_polygon(points, 0.3))
    darker = np.clip(crop.astype(np.float32) * 0.7, 0, 255).astype(np.uint8)
    blended = relight.pyramid_blend(darker, crop, mask, levels=4)
    pasted = (darker * mask[..., None] + crop * (1 - mask[..., None])).astype(np.uint8)
    seam = (cv2.dilate(mask, np.ones((3, 3))) > 0) & (cv2.erode(mask, np.ones((3, 3))) < 1)

    def step(image: np.ndarray) -> float:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return float(np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))[seam].mean())

    assert step(blended) < 0.7 * step(pasted)
    core = cv2.erode(mask, np.ones((41, 41))) > 0.99
    outside = cv2.dilate(mask, np.ones((41, 41))) < 0.01
    assert np.abs(blended[core].astype(int) - darker[core]).mean() < 3  # the face inside is the front's
    assert np.abs(blended[outside].astype(int) - crop[outside]).mean() < 3  # the rest is the back's


def test_pyramid_blend_any_size_and_a_full_mask_is_the_front() -> None:
    rng = np.random.default_rng(1)
    front = rng.integers(0, 255, (101, 77, 3), dtype=np.uint8)
    back = rng.integers(0, 255, (101, 77, 3), dtype=np.uint8)
    out = relight.pyramid_blend(front, back, np.ones((101, 77), np.float32))
    assert out.shape == front.shape
    assert np.abs(out.astype(int) - front).max() <= 1


def test_eye_openings_cover_the_eyes_only(photo: tuple[np.ndarray, np.ndarray]) -> None:
    _, points = photo
    eyes = relight.eye_openings(points, SIZE, grow=2, blur=2)
    for centre in morph.eye_centres(points):
        assert eyes[int(centre[1]), int(centre[0])] > 0.99
    for far in (morph.NOSE_TIP, morph.LIP_INNER_UP, morph.CHIN, morph.FOREHEAD_TOP):
        x, y = points[far]
        assert eyes[int(y), int(x)] < 0.01
    assert relight.eye_openings(points, SIZE, grow=6, blur=2).sum() > eyes.sum() * 1.3


def test_target_eyes_take_the_targets_lightness_and_the_photos_colour(
    photo: tuple[np.ndarray, np.ndarray], media_dir: Path
) -> None:
    crop, points = photo
    target, _ = _face(str(media_dir / "clips" / "Emily_Winston_1_in.mp4"))
    eyes = relight.eye_openings(points, SIZE, 2, 2)
    out = relight.target_eyes(crop, target, eyes)
    lab_out, lab_crop, lab_target = (cv2.cvtColor(x, cv2.COLOR_BGR2LAB).astype(int) for x in (out, crop, target))
    inside, outside = eyes > 0.99, eyes == 0
    assert np.abs(lab_out[..., 0][inside] - lab_target[..., 0][inside]).mean() < 2
    assert np.abs(lab_out[..., 1:][inside] - lab_crop[..., 1:][inside]).mean() < 3
    assert np.array_equal(out[outside], crop[outside])


def test_a_closed_target_eye_keeps_its_own_skin_colour(photo: tuple[np.ndarray, np.ndarray]) -> None:
    """A blink: the target shows lid skin in the eye openings, so the photo's whites and iris colour must not
    be painted on it (a grey or blue lid); an open eye does take the photo's colour."""
    crop, points = photo
    eyes = relight.eye_openings(points, SIZE, 3, 2)
    skin = morph.fill_polygon(SIZE, morph.hull_polygon(points, 0.3)) * (1.0 - eyes)
    lid = np.empty_like(crop)
    lid[:] = (120, 150, 200)  # warm skin everywhere, eyes closed
    blue_eyes = crop.copy()
    blue_eyes[eyes > 0.5] = (170, 140, 110)  # a soft blue, in gamut at the whites' lightness too
    closed = relight.target_eyes(blue_eyes, lid, eyes, skin, 16)
    inside = eyes > 0.99
    assert np.abs(closed[inside].astype(int) - lid[inside]).max() <= 3
    open_eye = lid.copy()
    open_eye[eyes > 0.5] = (200, 200, 200)  # the target's whites show
    opened = relight.target_eyes(blue_eyes, open_eye, eyes, skin, 16)
    colour = cv2.cvtColor(opened, cv2.COLOR_BGR2LAB)[inside][:, 1:].astype(int).mean(0)
    wanted = cv2.cvtColor(blue_eyes, cv2.COLOR_BGR2LAB)[inside][:, 1:].astype(int).mean(0)
    assert np.abs(colour - wanted).max() < 4


def test_eye_motion_adds_the_targets_change_only(photo: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = photo
    eyes = relight.eye_openings(points, SIZE, 3, 2)
    still = np.full((SIZE, SIZE), 120.0, np.float32)
    assert (
        np.abs(relight.eye_motion(crop, still, still, eyes).astype(int) - crop).max() <= 4
    )  # still: nothing but the Lab round trip
    lid = still + 40.0  # a blink: the dark eye turns into brighter lid skin
    out = relight.eye_motion(crop, lid, still, eyes)
    light = (cv2.cvtColor(x, cv2.COLOR_BGR2LAB)[..., 0].astype(int) for x in (out, crop))
    change = next(light) - next(light)
    assert change[eyes > 0.99].mean() > 30
    assert np.abs(change[eyes == 0]).max() == 0


def _eye_ratio(points: np.ndarray) -> float:
    """Lid gap over eye width, both eyes (FaceMesh 159-145 / 33-133 and 386-374 / 362-263)."""
    gaps = [np.linalg.norm(points[a] - points[b]) / np.linalg.norm(points[c] - points[d]) for a, b, c, d in EYE_PAIRS]
    return float(np.mean(gaps))


EYE_PAIRS = ((159, 145, 33, 133), (386, 374, 362, 263))


def test_the_swap_blinks_when_the_target_does(models_dir: Path, media_dir: Path) -> None:
    """On a real clip, the most closed and the most open eyes of the input: the output's eyes follow them with
    the target's eye openings kept, and follow them less with the photo's own eyes."""
    from nodeswap.node import LoadContext
    from nodeswap.nodes.swap_morph import MorphSwap
    from nodeswap.types import Frame
    from tests.test_morph import _paste, _target_face

    cap = cv2.VideoCapture(str(media_dir / "clips" / "Emily_Winston_1_in.mp4"))
    seen = []
    for index in range(300):
        ok, image = cap.read()
        assert ok
        if index % 3 == 0:
            face = _target_face(image, models_dir)
            seen.append((_eye_ratio(face.landmarks), image, face))
    seen.sort(key=lambda item: item[0])
    assert seen[-1][0] > 1.25 * seen[0][0]  # the clip has a squint or a look down
    node = MorphSwap("morph", {"source_image": str(media_dir / "clips" / "Emily_Winston.png"), "device": "cpu"})
    node.load(LoadContext("morph"))
    spread = {}
    for mode in ("target", "photo"):
        node.values["eyes"] = mode
        ratios = []
        for _, image, face in (seen[0], seen[-1]):
            (out_face,) = node.process(frame=Frame(image=image), faces=(face,))["faces"]
            ratios.append(_eye_ratio(_target_face(_paste(image, out_face), models_dir).landmarks))
        spread[mode] = ratios[1] - ratios[0]
    assert spread["target"] > 0.6 * (seen[-1][0] - seen[0][0]), spread  # the output opens and closes its eyes
    assert spread["target"] > spread["photo"], spread


def test_skin_mask_leaves_out_a_burnt_out_nose(media_dir: Path) -> None:
    """Photo 000038 is lit by a sun that burns out the side of the nose: no face is left there, so the swap
    must take the target's there (it pasted a white patch on the nose); the cheeks' skin stays usable."""
    image = cv2.imread(str(media_dir / "photos" / "000038.jpg"))
    source = prepare_source(image, source_landmarks(image, "cpu", "test"))  # as the morph swap prepares it
    crop, usable, points = source.crop[..., :3], source.crop[..., 3], source.points
    nose = morph.fill_polygon(len(crop), cv2.convexHull(points[[4, 45, 275, 168]].astype(np.float32))[:, 0]) > 0
    blown = nose & (crop.min(axis=-1) >= morph_source.BLOWN_OUT)
    assert blown.sum() > 50  # the photo is as described
    assert np.median(usable[blown]) < 64
    cheeks = [points[i].round().astype(int) for i in (50, 205, 425, 151)]  # cheeks and forehead
    assert all(usable[y, x] > 230 for x, y in cheeks)

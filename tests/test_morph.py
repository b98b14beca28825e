"""Morph swap: the warp's math, the masks, and a real swap on real photos."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodeswap.errors import NodeLoadError
from nodeswap.node import LoadContext
from nodeswap.nodes.markers import FaceMarker
from nodeswap.nodes.ops import morph, morph_colour, morph_source
from nodeswap.nodes.swap_morph import MorphSwap
from nodeswap.types import Aligned, Face, Frame

ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float32
)


def texture(size: int = 200) -> np.ndarray:
    """A smooth, position-coded colour image: B = x, G = y, R = x + y."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.dstack([xs, ys, (xs + ys) / 2]).clip(0, 255).astype(np.uint8)


# -- the warp's pure math ------------------------------------------------------------------------------------

triangle = st.lists(st.floats(20, 180), min_size=6, max_size=6).map(lambda v: np.array(v).reshape(3, 2))


def area(tri: np.ndarray) -> float:
    (x0, y0), (x1, y1), (x2, y2) = tri
    return abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)) / 2


@settings(max_examples=60, deadline=None)
@given(triangle, triangle)
def test_affine_maps_each_target_vertex_onto_its_source_vertex(src: np.ndarray, dst: np.ndarray) -> None:
    if area(dst) < 50:
        return
    a = morph.triangle_affines(src, dst, np.array([[0, 1, 2]]))[0]
    mapped = dst @ a[:, :2].T + a[:, 2]
    np.testing.assert_allclose(mapped, src, atol=1e-6)


def test_degenerate_target_triangle_gets_zero_map() -> None:
    dst = np.array([[10.0, 10], [20, 20], [30, 30]])  # collinear
    assert not morph.triangle_affines(dst + 5, dst, np.array([[0, 1, 2]])).any()


def test_a_triangle_is_painted_onto_its_target_with_the_source_pixels() -> None:
    img = texture()
    src = np.array([[20.0, 20], [120, 30], [40, 150]])
    dst = np.array([[60.0, 50], [170, 90], [80, 180]])
    out, index = morph.warp_mesh(img, src, dst, np.array([[0, 1, 2]]), 200)
    covered = index >= 0
    # the centroid and points inside carry the source colour of the corresponding point
    for bary in ([1 / 3, 1 / 3, 1 / 3], [0.6, 0.2, 0.2], [0.2, 0.2, 0.6]):
        b = np.array(bary)
        dx, dy = np.rint(b @ dst).astype(int)
        sx, sy = np.rint(b @ src).astype(int)
        assert covered[dy, dx]
        got = out[dy, dx].astype(float)
        want = img[sy, sx].astype(float)
        assert np.abs(got - want).max() <= 4, (bary, got, want)
    # nothing outside the target triangle is covered
    assert not covered[5, 5] and not covered[195, 5]
    inside = morph.fill_polygon(200, dst) > 0.5
    assert abs(int(covered.sum()) - int(inside.sum())) < 0.03 * inside.sum()


def test_identity_when_source_and_target_landmarks_are_equal() -> None:
    rng = np.random.default_rng(1)
    img = texture()
    points = np.vstack([rng.uniform(30, 170, (60, 2)), [[25, 25], [175, 25], [25, 175], [175, 175]]])
    tris = morph.triangulate(points)
    assert len(tris) > 60
    out, index = morph.warp_mesh(img, points, points, tris, 200)
    covered = index >= 0
    assert covered[40:160, 40:160].all()
    diff = np.abs(out.astype(int) - img.astype(int))[covered]
    assert diff.max() <= 1


def test_smooth_warp_matches_the_full_mesh_warp_inside_and_leaves_the_rest() -> None:
    img = texture()
    ring_pts = ring((100, 100), 80, 80, 24)
    inner = ring((100, 100), 40, 50, 16)
    src = np.vstack([inner, ring_pts])
    dst = np.vstack([(inner - 100) * [0.85, 1.0] + [100, 103], ring_pts])  # the inner ring narrower, lower
    tris = morph.triangulate(src)
    exact, index = morph.warp_mesh(img, src, dst, tris, 200)
    covered = index >= 0
    fast = morph.smooth_warp(img, src, dst, tris)
    inside = cv2.erode(covered.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.abs(fast.astype(int) - exact.astype(int))[inside].max() <= 2
    assert not np.array_equal(fast[inside], img[inside])  # it did move
    far = ~cv2.dilate(covered.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(fast.astype(int) - img.astype(int))[far].max() <= 1  # outside the mesh: the image itself


def test_painters_order_puts_the_nearer_triangle_on_top() -> None:
    pts = np.array([[10.0, 10], [100, 10], [10, 100], [30, 30], [150, 30], [30, 150]])
    tris = np.array([[0, 1, 2], [3, 4, 5]])
    near_first = morph.triangle_index_map(pts, tris, 160, depth=np.array([0, 0, 0, 5, 5, 5.0]))
    near_second = morph.triangle_index_map(pts, tris, 160, depth=np.array([5, 5, 5, 0, 0, 0.0]))
    assert near_first[40, 40] == 0 and near_second[40, 40] == 1  # overlap: lower z (nearer) wins


def test_triangulation_indexes_every_point_and_has_no_outer_triangles() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 500, (120, 2))
    tris = morph.triangulate(points)
    assert tris.min() >= 0 and tris.max() < len(points)
    assert set(np.unique(tris)) == set(range(len(points)))  # Delaunay uses every point
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2)
    centroids = points[tris].mean(1)
    assert all(cv2.pointPolygonTest(hull.reshape(-1, 1, 2), (float(x), float(y)), False) >= 0 for x, y in centroids)


# -- mouth and masks on a synthetic 468-point face -------------------------------------------------------------


def synthetic_face(open_mouth: float = 12.0) -> np.ndarray:
    """468 points: the oval on an ellipse, the inner lips on a ring, the rest scattered inside."""
    rng = np.random.default_rng(7)
    pts = np.zeros((468, 2))
    centre = np.array([128.0, 128.0])
    angles = np.linspace(0, 2 * np.pi, len(morph.FACE_OVAL), endpoint=False) - np.pi / 2
    pts[list(morph.FACE_OVAL)] = centre + np.c_[90 * np.cos(angles), 110 * np.sin(angles)]
    lip = np.linspace(0, 2 * np.pi, len(morph.INNER_LIPS), endpoint=False) + np.pi
    pts[list(morph.INNER_LIPS)] = np.c_[128 + 25 * np.cos(lip), 190 + open_mouth * np.sin(lip)]
    pts[morph.LIP_INNER_UP], pts[morph.LIP_INNER_DOWN] = (128, 190 - open_mouth), (128, 190 + open_mouth)
    taken = set(morph.FACE_OVAL) | set(morph.INNER_LIPS)
    for i in range(468):
        if i in taken:
            continue
        while True:
            p = centre + rng.uniform(-80, 80, 2) * [1, 1.2]
            inside_oval = ((p - centre) / [85, 105]) @ ((p - centre) / [85, 105]) < 1
            in_mouth = ((p - [128, 190]) / [30, open_mouth + 6]) @ ((p - [128, 190]) / [30, open_mouth + 6]) < 1
            if inside_oval and not in_mouth:
                pts[i] = p
                break
    return pts


def test_inner_mouth_is_left_out_of_the_mesh_and_the_mask() -> None:
    pts = synthetic_face()
    all_tris = morph.triangulate(pts)
    tris = morph.face_triangles(pts)
    assert len(tris) < len(all_tris)  # some triangles filled the mouth
    mouth = pts[list(morph.INNER_LIPS)]
    assert not morph.inside_polygon(pts[tris].mean(1), mouth).any()
    _, index = morph.warp_mesh(texture(256), pts, pts, tris, 256)
    covered = index >= 0
    assert not covered[188:193, 115:141].any()  # mouth interior: the target shows through
    assert covered[120:140, 100:150].all()  # the cheeks and nose area are warped
    mask = morph.face_mask(pts, 256, forehead=0.3, mouth_hole=True)
    assert mask[190, 128] < 0.05 and mask[130, 128] > 0.95
    assert morph.face_mask(pts, 256, mouth_hole=False)[190, 128] > 0.95


def test_forehead_is_lowered_towards_the_brows() -> None:
    pts = synthetic_face()
    pts[list(morph.BROW_CENTRE)] = [[100, 90], [156, 90]]
    top = morph.hull_polygon(pts, 0.0)[:, 1].min()
    lowered = morph.hull_polygon(pts, 0.5)[:, 1].min()
    assert lowered > top + 15
    assert morph.hull_polygon(pts, 0.5)[:, 1].max() == pytest.approx(morph.hull_polygon(pts, 0)[:, 1].max())


def ring(centre: tuple[float, float], rx: float, ry: float, n: int) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[centre[0] + rx * np.cos(angles), centre[1] + ry * np.sin(angles)]


def featured_face() -> np.ndarray:
    pts = synthetic_face()
    for region, centre in ((morph.RIGHT_EYE, (95, 100)), (morph.LEFT_EYE, (161, 100))):
        pts[list(region)] = ring(centre, 14, 5, len(region))
    pts[list(morph.OUTER_LIPS)] = ring((128, 190), 32, 18, len(morph.OUTER_LIPS))
    for brow, x in ((morph.RIGHT_BROW, 95), (morph.LEFT_BROW, 161)):
        pts[list(brow)] = np.c_[np.linspace(x - 15, x + 15, len(brow)), np.full(len(brow), 80.0)]
    return pts


def test_skin_mask_drops_hair_at_the_edge_but_keeps_skin_and_features() -> None:
    pts = synthetic_face()
    for region, centre in ((morph.RIGHT_EYE, (95, 100)), (morph.LEFT_EYE, (161, 100))):
        pts[list(region)] = ring(centre, 14, 5, len(region))
    for region, centre in ((morph.RIGHT_BROW, (95, 80)), (morph.LEFT_BROW, (161, 80))):
        pts[list(region)] = ring(centre, 16, 3, len(region))
    pts[list(morph.OUTER_LIPS)] = ring((128, 190), 30, 16, len(morph.OUTER_LIPS))
    rng = np.random.default_rng(5)
    image = np.clip(rng.normal([120, 150, 200], 4, (256, 256, 3)), 0, 255).astype(np.uint8)  # skin
    cv2.circle(image, (48, 130), 16, (30, 60, 120), -1)  # a lock of brown hair over the image-left edge
    cv2.ellipse(image, (128, 190), (26, 10), 0, 0, 360, (40, 40, 160), -1)  # red lips: a feature
    cv2.ellipse(image, (95, 100), (10, 4), 0, 0, 360, (60, 40, 30), -1)  # a dark eye: a feature
    mask = morph_source.skin_mask(image, pts)
    assert mask[130, 48] < 0.1  # hair inside the hull, near the edge: left out
    assert mask[128, 128] > 0.95 and mask[160, 205] > 0.95  # skin: kept
    assert mask[190, 128] > 0.95 and mask[100, 95] > 0.95  # lips and eyes: kept


def test_mouth_opening_grows_with_the_gap() -> None:
    assert morph.mouth_opening(synthetic_face(4)) < morph.mouth_opening(synthetic_face(16))


def test_colour_transfer_matches_the_target_mean_and_keeps_detail() -> None:
    rng = np.random.default_rng(0)
    src = np.clip(rng.normal(90, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
    tgt = np.clip(rng.normal(170, 10, (64, 64, 3)), 0, 255).astype(np.uint8)
    mask = np.ones((64, 64), np.float32)
    out = morph_colour.colour_transfer(src, tgt, mask, mask)
    lab = [cv2.cvtColor(x, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(float) for x in (out, tgt, src)]
    np.testing.assert_allclose(lab[0].mean(0), lab[1].mean(0), atol=3)
    assert np.corrcoef(lab[0][:, 0], lab[2][:, 0])[0, 1] > 0.95  # same pattern, new colour
    shaded = morph_colour.shading_transfer(src, tgt, mask, 8)
    assert abs(shaded.mean() - tgt.mean()) < 5


def test_restore_eyes_keeps_the_whites_untinted() -> None:
    pts = featured_face()
    original = np.full((256, 256, 3), (150, 170, 210), np.uint8)  # light skin
    cv2.ellipse(original, (95, 100), (12, 4), 0, 0, 360, (235, 235, 235), -1)  # white of the eye
    region = morph.face_mask(pts, 256)
    matched = morph_colour.colour_transfer(original, np.full_like(original, (40, 70, 120)), region, region)  # dark skin

    def tint(image: np.ndarray) -> int:
        b, g, r = image[100, 95].astype(int)
        return max(b, g, r) - min(b, g, r)

    assert tint(matched) > 30  # the match alone tints the white of the eye
    out = morph_colour.restore_eyes(matched, original, pts, region, strength=1.0)
    assert tint(out) < 12  # fully restored: grey-white again
    assert out[100, 95].mean() < original[100, 95].mean()  # but darker, like the rest of the face
    half = morph_colour.restore_eyes(matched, original, pts, region)
    assert tint(out) < tint(half) < tint(matched)
    np.testing.assert_array_equal(half[150, 128], matched[150, 128])  # skin is left as matched


def test_visible_share_of_a_face_cut_by_the_frame_edge() -> None:
    pts = synthetic_face()  # oval centred at (128, 128), 180 x 220
    assert morph.visible_share(pts, 256, 256) == pytest.approx(1.0)
    assert morph.visible_share(pts, 128, 256) == pytest.approx(0.5, abs=0.03)
    assert morph.visible_share(pts - [0, 300], 256, 256) == 0.0


def test_edge_match_changes_the_rim_but_not_the_middle() -> None:
    mask = np.zeros((128, 128), np.float32)
    cv2.circle(mask, (64, 64), 50, 1.0, -1)
    src = np.full((128, 128, 3), 100, np.uint8)
    tgt = np.full((128, 128, 3), 160, np.uint8)
    band = morph_colour.edge_band(mask, 12)
    assert band[64, 64] < 0.01 and band[64, 15] > 0.9
    out = morph_colour.shading_transfer(src, tgt, mask, 8, band)
    assert abs(int(out[64, 64, 0]) - 100) <= 1  # the middle keeps the source
    assert int(out[64, 16, 0]) > 150  # the rim takes the target's level


def test_crop_transform_levels_the_eyes_and_round_trips() -> None:
    pts = synthetic_face()
    pts[list(morph.RIGHT_EYE)] = np.array([90, 100]) + np.random.default_rng(1).normal(0, 2, (16, 2))
    pts[list(morph.LEFT_EYE)] = np.array([166, 100]) + np.random.default_rng(2).normal(0, 2, (16, 2))
    turn = cv2.getRotationMatrix2D((128, 128), 25, 1.3)
    turned = morph.transform_points(pts, turn)
    mat, inverse = morph.crop_transform(turned, 224, 1.3)
    eyes = morph.eye_centres(morph.transform_points(turned, mat))
    assert abs(eyes[0, 1] - eyes[1, 1]) < 0.5 and eyes[0, 0] < eyes[1, 0]
    back = morph.transform_points(morph.transform_points(turned, mat), inverse)
    np.testing.assert_allclose(back, turned, atol=1e-6)
    oval = morph.transform_points(turned, mat)[list(morph.FACE_OVAL)]
    assert oval.min() > 0 and oval.max() < 224


# -- the node on real photos -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _yunet(models: Path) -> cv2.FaceDetectorYN:
    return cv2.FaceDetectorYN.create(str(models / "face_detection_yunet_2023mar.onnx"), "", (320, 320), 0.6)


def _detect(image: np.ndarray, models: Path) -> tuple[np.ndarray, np.ndarray]:
    det = _yunet(models)
    det.setInputSize((image.shape[1], image.shape[0]))
    _, found = det.detect(image)
    assert found is not None
    best = max(found, key=lambda r: r[2] * r[3])
    return best[:4], best[4:14].reshape(5, 2)


def _embed(image: np.ndarray, models: Path) -> np.ndarray:
    from nodeswap.runtime import session

    _, kps = _detect(image, models)
    mat, _ = cv2.estimateAffinePartial2D(kps.astype(np.float32), ARCFACE_112, method=cv2.LMEDS)
    crop = cv2.cvtColor(cv2.warpAffine(image, mat, (112, 112)), cv2.COLOR_BGR2RGB).astype(np.float32)
    sess = session(models / "mobilefacenet_128.onnx", "cpu")
    vec = sess.run(None, {sess.get_inputs()[0].name: ((crop - 127.5) / 128).transpose(2, 0, 1)[None]})[0][0]
    return vec / np.linalg.norm(vec)


def _paste(image: np.ndarray, face: Face) -> np.ndarray:
    h, w = image.shape[:2]
    assert face.swapped is not None and face.aligned is not None
    back = cv2.warpAffine(face.swapped.image, face.aligned.inverse, (w, h), borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(face.swapped.mask, face.aligned.inverse, (w, h))[..., None]
    return (image * (1 - alpha) + back * alpha).astype(np.uint8)


@lru_cache(maxsize=1)
def _marker() -> FaceMarker:
    marker = FaceMarker("marker", {"device": "cpu", "smoothing": False})
    marker.load(LoadContext("marker"))
    return marker


def _target_face(image: np.ndarray, models: Path) -> Face:
    box, kps = _detect(image, models)
    x, y, w, h = box
    points = _marker().landmarks(image, (x, y, x + w, y + h))
    return Face(box=(x, y, x + w, y + h), kps=kps, landmarks=points[:, :2], landmarks_3d=points)


@pytest.fixture
def loaded(models_dir: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> MorphSwap:
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    node = MorphSwap("morph", {"source_image": str(media_dir / "photos" / "000013.jpg"), "device": "cpu"})
    node.load(LoadContext("morph"))
    return node


def test_real_swap_moves_the_embedding_toward_the_source(loaded: MorphSwap, models_dir: Path, media_dir: Path) -> None:
    source = cv2.imread(str(media_dir / "photos" / "000013.jpg"))
    target = cv2.imread(str(media_dir / "photos" / "000016.jpg"))
    face = _target_face(target, models_dir)
    (out_face,) = loaded.process(frame=Frame(image=target), faces=(face,))["faces"]
    assert out_face.swapped is not None and out_face.aligned is not None
    assert out_face.swapped.image.shape == (256, 256, 3) and out_face.swapped.mask.shape == (256, 256)
    output = _paste(target, out_face)
    e_src, e_tgt, e_out = (_embed(x, models_dir) for x in (source, target, output))
    assert e_out @ e_src > e_tgt @ e_src + 0.25, (e_out @ e_src, e_tgt @ e_src)
    assert e_out @ e_src > e_out @ e_tgt
    assert e_out @ e_tgt < 0.6


def test_open_mouth_of_the_target_stays_in_the_output(loaded: MorphSwap, models_dir: Path, media_dir: Path) -> None:
    cap = cv2.VideoCapture(str(media_dir / "videos" / "Obama_speaking.mp4"))
    seen = []
    for _ in range(120):  # the widest-open and the most-closed mouth among the first 120 frames
        ok, image = cap.read()
        assert ok
        face = _target_face(image, models_dir)
        seen.append((morph.mouth_opening(face.landmarks), image, face))
    seen.sort(key=lambda item: item[0])
    outputs = {}
    for name, (_, image, face) in (("closed", seen[0]), ("open", seen[-1])):
        (out_face,) = loaded.process(frame=Frame(image=image), faces=(face,))["faces"]
        output = _paste(image, out_face)
        outputs[name] = morph.mouth_opening(_target_face(output, models_dir).landmarks)
        if name == "open":
            target_pts = morph.transform_points(face.landmarks, out_face.aligned.mat)
            inner = morph.fill_polygon(out_face.aligned.size, target_pts[list(morph.INNER_LIPS)])
            core = cv2.erode(inner, np.ones((3, 3), np.uint8)) > 0.5
            assert core.sum() > 20  # a visibly open mouth
            loaded.values["width"] = 0.0  # the target's own mouth shape: the mask leaves its inside to the merger
            (kept,) = loaded.process(frame=Frame(image=image), faces=(face,))["faces"]
            assert kept.swapped.mask[core].max() < 0.05
            # reshaped, the target's mouth is in the swapped image; without the mouth the photo's lips are
            centre = cv2.erode(inner, np.ones((9, 9), np.uint8)) > 0.5
            face_crop = out_face.aligned.image
            loaded.values["mouth_from_target"] = False
            (covered,) = loaded.process(frame=Frame(image=image), faces=(face,))["faces"]
            loaded.values.update(width=0.8, mouth_from_target=True)
            own, teeth, lips = (x[centre].mean(0) for x in (out_face.swapped.image, face_crop, covered.swapped.image))
            assert np.abs(own - teeth).max() < 0.3 * np.abs(lips - teeth).max()  # the target's teeth and tongue
    assert seen[-1][0] > 3 * seen[0][0]
    assert outputs["open"] > 3 * outputs["closed"], outputs  # the output speaks when the input does


def test_faces_without_landmarks_or_outside_the_frame_pass_through_and_an_aligner_crop_is_used(
    loaded: MorphSwap, models_dir: Path, media_dir: Path
) -> None:
    target = cv2.imread(str(media_dir / "photos" / "000016.jpg"))
    bare = Face(box=(0, 0, 10, 10))
    face = _target_face(target, models_dir)
    mat, inverse = morph.crop_transform(face.landmarks, 320, 1.6)
    crop = cv2.warpAffine(target, mat, (320, 320))
    given = Face(box=face.box, landmarks=face.landmarks, aligned=Aligned(crop, mat, inverse, 320))
    height = target.shape[0]
    cut = Face(box=face.box, landmarks=face.landmarks + np.array([0, height * 0.8]))  # mostly below the frame
    out = loaded.process(frame=Frame(image=target), faces=(bare, given, cut))["faces"]
    assert out[0] is bare and out[2] is cut
    assert out[1].aligned.image is crop and out[1].aligned.mat is mat and out[1].swapped.image.shape == (320, 320, 3)
    assert out[1].aligned.mask.mean() > 0.3  # the reshaped ring around the face is the merger's to paste
    assert given.swapped is None  # the input face is not modified


@pytest.mark.parametrize("case", ["empty", "missing", "not_an_image", "no_face"])
def test_bad_source_image_is_a_clear_load_error(
    case: str, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    path = {
        "empty": "",
        "missing": str(tmp_path / "nobody.jpg"),
        "not_an_image": str(tmp_path / "notes.jpg"),
        "no_face": str(tmp_path / "wall.png"),
    }[case]
    (tmp_path / "notes.jpg").write_text("not a picture")
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((240, 320, 3), 128, np.uint8))
    node = MorphSwap("morph", {"source_image": path})
    with pytest.raises(NodeLoadError) as info:
        node.load(LoadContext("morph"))
    message = str(info.value)
    assert "morph" in message and "source_image" in message
    assert {"empty": "empty", "missing": "not found", "not_an_image": "not an image", "no_face": "no face"}[
        case
    ] in message

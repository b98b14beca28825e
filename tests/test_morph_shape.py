"""Morph swap: the face shape transfer (proportions, width, chin, lips), the ring the target stretches in,
and what keeps a turned photo from painting stripes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.ops import morph, morph_shape
from nodeswap.nodes.swap_morph import MorphSwap
from tests.test_morph import featured_face, ring, synthetic_face


def test_similarity_fit_recovers_a_3d_pose() -> None:
    rng = np.random.default_rng(4)
    src = rng.normal(0, 50, (40, 3))
    angle = np.radians(25)
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    dst = 1.7 * src @ rot.T + [10, -4, 3]
    scale, rotation, shift = morph_shape.similarity_fit(src, dst)
    assert scale == pytest.approx(1.7) and np.allclose(rotation, rot) and np.allclose(shift, [10, -4, 3])


def shaped(target: np.ndarray, source: np.ndarray, plan: morph_shape.ShapePlan, strength: float, width: float = 0.0):
    offsets = morph_shape.shape_offsets(target, source, plan)
    return morph_shape.shaped_landmarks(target, offsets, plan, strength, width)


def test_shape_transfer_moves_features_but_keeps_outline_mouth_and_blinks() -> None:
    target = featured_face()
    plan = morph_shape.shape_plan(target)
    assert plan.weights[list(morph.FACE_OVAL)].max() == 0 and plan.weights[list(morph.INNER_LIPS)].max() == 0
    assert plan.mouth[list(morph.INNER_LIPS)].min() == 1 and plan.mouth[list(morph.LEFT_EYE)].max() == 0
    # the same face shape, turned and scaled: nothing moves
    turn = cv2.getRotationMatrix2D((128, 128), 10, 1.2)
    posed = morph.transform_points(target, turn)
    np.testing.assert_allclose(shaped(posed, target, plan, 1.0, 1.0), posed, atol=1e-6)
    # a source with eyes set wider apart and wide open; the target blinks
    source = target.copy()
    source[list(plan.eyes[0])] += [-8, 0]
    source[list(plan.eyes[1])] += [8, 0]
    source[list(morph.RIGHT_EYE)] = ring((87, 100), 14, 9, 16)
    source[list(morph.LEFT_EYE)] = ring((169, 100), 14, 9, 16)
    blinking = target.copy()
    blinking[list(morph.RIGHT_EYE)] = ring((95, 100), 14, 1, 16)
    out = shaped(blinking, source, morph_shape.shape_plan(source), 1.0)
    eye = out[list(morph.RIGHT_EYE)]
    assert np.ptp(eye[:, 1]) == pytest.approx(2.0, abs=0.6)  # still blinking
    assert eye[:, 0].mean() < 95 - 4  # but where the source has its eyes
    np.testing.assert_allclose(out[list(morph.FACE_OVAL)], blinking[list(morph.FACE_OVAL)])
    np.testing.assert_allclose(out[list(morph.INNER_LIPS)], blinking[list(morph.INNER_LIPS)])
    np.testing.assert_allclose(shaped(blinking, source, plan, 0.0), blinking)


def test_width_transfer_narrows_jaw_and_mouth_but_keeps_the_opening_and_forehead() -> None:
    target = featured_face()
    narrow = target.copy()  # the source: jaw and mouth 15% narrower about the face's centre line
    lower = narrow[:, 1] > 130
    narrow[lower, 0] = 128 + (narrow[lower, 0] - 128) * 0.85
    talking = target.copy()  # the target opens its mouth: lower lip and chin move down
    jaw = talking[:, 1] > 195
    talking[jaw, 1] += 10
    plan = morph_shape.shape_plan(narrow)
    out = shaped(talking, narrow, plan, 0.0, 1.0)
    oval = list(morph.FACE_OVAL)
    cheeks = [i for i in oval if target[i, 1] > 150]
    assert np.ptp(out[cheeks, 0]) < 0.9 * np.ptp(talking[cheeks, 0])  # narrower jaw
    lips = list(morph.OUTER_LIPS)
    assert np.ptp(out[lips, 0]) < 0.9 * np.ptp(talking[lips, 0])  # narrower mouth
    inner = list(morph.INNER_LIPS)
    np.testing.assert_allclose(out[inner, 1], talking[inner, 1], atol=0.1)  # the mouth opens as wide
    top = [i for i in oval if target[i, 1] < 80]
    np.testing.assert_allclose(out[top], talking[top], atol=1e-6)  # the forehead (hair) stays


def test_follow_passes_a_steady_difference_and_damps_a_quick_change() -> None:
    first = np.full((3, 2), 4.0)
    assert morph_shape.follow(None, first, 0.03) is first
    steady = first
    for _ in range(300):  # a constant difference comes through in full
        steady = morph_shape.follow(steady, np.full((3, 2), 10.0), 0.03)
    np.testing.assert_allclose(steady, 10.0, atol=1e-3)
    quick = morph_shape.follow(steady, np.full((3, 2), 20.0), 0.03)  # a smile: one frame moves it 3%
    np.testing.assert_allclose(quick, 10.3, atol=1e-3)


def test_surround_ring_encloses_the_face() -> None:
    face = featured_face()
    ring_pts = morph_shape.surround_ring(face, 0.25)
    assert morph.inside_polygon(
        face[list(morph.FACE_OVAL)] * 0.999 + face[list(morph.FACE_OVAL)].mean(0) * 0.001, ring_pts
    ).all()


def turned_about_vertical(points: np.ndarray, degrees: float) -> np.ndarray:
    angle = np.radians(degrees)
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    return (points - points.mean(0)) @ rot.T + points.mean(0)


def test_yaw_and_frontal_undo_a_turn_of_the_head() -> None:
    flat = np.column_stack([featured_face(), np.zeros(468)])
    turned = turned_about_vertical(flat, 25)
    assert np.degrees(morph_shape.yaw(turned)) == pytest.approx(-25, abs=0.5)
    front = morph_shape.frontal(turned)
    np.testing.assert_allclose(front - front.mean(0), flat[:, :2] - flat[:, :2].mean(0), atol=1e-6)
    assert morph_shape.yaw(flat[:, :2]) == 0.0


def test_grazing_marks_triangles_seen_edge_on() -> None:
    tris = np.array([[0, 1, 2]])
    face_on = np.array([[0.0, 0, 0], [10, 0, 0], [0, 10, 0]])
    edge_on = np.array([[0.0, 0, 0], [1, 0, 10], [0, 10, 0]])  # 84 degrees from the camera
    assert morph.grazing(face_on, tris)[0] == 0.0 and morph.grazing(edge_on, tris)[0] == 1.0


def test_trust_drops_for_an_edge_on_triangle_stretched_or_flipped_but_not_for_others() -> None:
    tris = np.array([[0, 1, 2], [3, 4, 5]])
    src = np.array([[0.0, 0], [100, 0], [0, 100], [120, 0], [121, 0], [120, 10]])  # the second: a sliver
    wide = src.copy()
    wide[4] = [140, 0]  # the sliver spread 20 times over
    edge_on = np.array([0.0, 1.0])
    np.testing.assert_allclose(morph.triangle_trust(src, wide, tris, edge_on), [1.0, 0.0])
    np.testing.assert_allclose(morph.triangle_trust(src, wide, tris, np.zeros(2)), [1.0, 1.0])  # lips, eyelids
    flipped = src.copy()
    flipped[4] = [119, 0]  # folded over, not stretched
    np.testing.assert_allclose(morph.triangle_trust(src, flipped, tris, edge_on), [1.0, 0.0])
    np.testing.assert_allclose(morph.triangle_trust(src, src, tris, edge_on), [1.0, 1.0])


def test_lip_gap_covers_the_inner_mouth_and_a_margin_only() -> None:
    face = synthetic_face(2)
    gap = morph.lip_gap(face, 256, 0.1)
    assert gap[190, 128] > 0.95  # between the lips
    assert gap[190 + 10, 128] > 0.3  # just below the inner lip: the lip line
    assert gap[128, 128] == 0 and gap[190, 60] == 0  # nose, cheek


def test_a_turned_photo_distrusts_its_far_side_and_a_frontal_one_nothing(
    models_dir: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    far_side = {}
    for photo in ("000002", "000007"):  # turned about 20 degrees; frontal
        node = MorphSwap("morph", {"source_image": str(media_dir / "photos" / f"{photo}.jpg"), "device": "cpu"})
        node.load(LoadContext("morph"))
        edge_on = node._source.edge_on_open
        left = node._source.points[node._source.tris_open].mean(1)[:, 0] < node._source.points[morph.NOSE_TIP, 0]
        far_side[photo] = (edge_on.max(), edge_on[left].mean(), edge_on[~left].mean())
        node.unload()
    assert far_side["000007"][0] == 0.0
    turned = [r.getMessage() for r in caplog.records if "turned" in r.getMessage()]
    assert len(turned) == 1 and "morph" in turned[0] and "turned 21 degrees" in turned[0]  # told once
    most, left, right = far_side["000002"]
    assert most == 1.0 and max(left, right) > 3 * min(left, right)  # mostly on the side turned away


def test_open_share_counts_only_the_gap_beyond_a_closed_mouth() -> None:
    closed, half, wide = (morph.open_share(synthetic_face(gap / 2), 20, 4) for gap in (3, 12, 30))
    assert (closed, wide) == (0.0, 1.0) and half == pytest.approx((12 - 4) / 16)

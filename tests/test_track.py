"""Temporal maths without models: One-Euro filter, IoU tracker, sorting, optical-flow shift."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nodeswap.node import LoadContext
from nodeswap.nodes.detectors import FaceDetector
from nodeswap.nodes.ops.track import (
    SORT_MODES,
    IoUTracker,
    MovingAverage,
    OneEuro,
    TrackSmoother,
    flow_shift,
    sort_order,
)
from nodeswap.types import Frame


def noisy_step(seed: int = 0, frames: int = 120, step_at: int = 60, noise: float = 2.0) -> tuple[np.ndarray, ...]:
    """A point at x=100 that jumps to x=200 at ``step_at``, plus Gaussian noise (pixels)."""
    truth = np.where(np.arange(frames) < step_at, 100.0, 200.0)
    return truth, truth + np.random.default_rng(seed).normal(0, noise, frames)


def run_filter(values: np.ndarray, min_cutoff: float, beta: float, scale: float = 100.0) -> np.ndarray:
    filt = OneEuro(min_cutoff, beta)
    return np.array([filt(np.array([v]), i / 30.0, scale)[0] for i, v in enumerate(values)])


def test_one_euro_reduces_jitter_and_follows_a_step():
    truth, noisy = noisy_step()
    smooth = run_filter(noisy, min_cutoff=1.0, beta=1.0)
    still = slice(10, 60)
    assert np.std(np.diff(smooth[still])) < 0.35 * np.std(np.diff(noisy[still]))
    # after the jump it catches up quickly (fast motion raises the cutoff)
    assert abs(smooth[66] - 200) < 10
    assert np.abs(smooth[75:] - truth[75:]).mean() < 1.5


def test_one_euro_beta_trades_lag_for_smoothness():
    _, noisy = noisy_step(seed=1)
    slow, fast = run_filter(noisy, 1.0, 0.0), run_filter(noisy, 1.0, 5.0)
    assert abs(fast[63] - 200) < abs(slow[63] - 200)  # beta: less lag on the step


def test_one_euro_restarts_on_a_resent_or_rewound_frame():
    filt = OneEuro(1.0, 0.0)
    filt(np.array([0.0]), 0.0)
    filt(np.array([10.0]), 1 / 30)
    assert filt(np.array([50.0]), 1 / 30)[0] == 50.0  # same time: the raw value
    assert filt(np.array([70.0]), 0.0)[0] == 70.0  # rewound


def test_track_smoother_forgets_tracks_not_seen():
    smoother = TrackSmoother()
    smoother.smooth(3, "box", np.zeros(4), 0.0, 10.0, 1.0, 0.0)
    smoother.end_frame()
    smoother.smooth(4, "box", np.zeros(4), 1 / 30, 10.0, 1.0, 0.0)
    smoother.end_frame()
    assert list(smoother.filters) == [(4, "box")]


def test_iou_tracker_keeps_ids_through_motion_and_a_missed_frame():
    tracker = IoUTracker(max_age=3)
    a, b = np.array([0, 0, 100, 100.0]), np.array([300, 0, 400, 100.0])
    assert tracker.update(np.stack([a, b])) == [0, 1]
    # order swapped and both moved a bit
    assert tracker.update(np.stack([b + 5, a + 5])) == [1, 0]
    assert tracker.update(np.stack([a + 10])) == [0]  # b missed once
    assert tracker.update(np.stack([b + 10, a + 12])) == [1, 0]
    assert tracker.update(np.stack([[700, 0, 800, 100.0]])) == [2]  # a new face gets a new id


def test_iou_tracker_drops_old_tracks():
    tracker = IoUTracker(max_age=1)
    tracker.update(np.array([[0, 0, 10, 10.0]]))
    tracker.update(np.zeros((0, 4)))
    tracker.update(np.zeros((0, 4)))
    assert tracker.update(np.array([[0, 0, 10, 10.0]])) == [1]


def test_sort_orders():
    boxes = np.array([[0, 100, 50, 150], [200, 0, 400, 200], [90, 95, 110, 115.0]])
    size = (200, 200)
    assert sort_order(boxes, "largest", size).tolist() == [1, 0, 2]
    assert sort_order(boxes, "distance from centre", size).tolist()[0] == 2
    assert sort_order(boxes, "left to right", size).tolist() == [0, 2, 1]
    assert sort_order(boxes, "right to left", size).tolist() == [1, 2, 0]
    assert sort_order(boxes, "top to bottom", size).tolist() == [1, 2, 0]
    assert sort_order(boxes, "bottom to top", size).tolist() == [0, 2, 1]
    assert len(SORT_MODES) == 6
    with pytest.raises(ValueError):
        sort_order(boxes, "random", size)


def test_flow_shift_follows_a_moving_texture():
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur((rng.random((240, 320)) * 255).astype(np.uint8), (5, 5), 1.5)
    moved = np.roll(texture, (3, 5), axis=(0, 1))  # 5 px right, 3 px down
    box = np.array([100, 80, 180, 160.0])
    kps = np.array([[120, 100], [160, 100], [140, 120], [125, 140], [155, 140.0]])
    boxes, points = flow_shift(texture, moved, [box], [kps])
    np.testing.assert_allclose(boxes[0], box + np.array([5, 3, 5, 3]), atol=0.5)
    np.testing.assert_allclose(points[0], kps + np.array([5, 3]), atol=0.5)
    boxes, points = flow_shift(texture, moved, [box], [None])
    assert points == [None]
    np.testing.assert_allclose(boxes[0], box + np.array([5, 3, 5, 3]), atol=0.5)


def test_landmark_smoothing_holds_the_head_still_and_lets_a_blink_through():
    """A face that sits still with jitter on every point, and blinks (two points close and open again):
    the position's jitter is smoothed hard, the blink follows with the shape's faster cutoff."""
    rng = np.random.default_rng(3)
    base = np.array([[0.0, 0.0], [100, 0], [50, 80], [30, -10], [70, -10], [30, 10], [70, 10]]) + 200
    smoother = TrackSmoother()
    out = []
    for i in range(60):
        points = base.copy()
        if 30 <= i < 34:  # the lids meet: the lower ones (5, 6) rise to the upper ones
            points[5:7, 1] -= 20
        jittered = points + rng.normal(0, 1.0, 2)  # the whole face shakes by a pixel
        out.append(smoother.smooth_landmarks(0, jittered, i / 30.0, 100.0, 1.0, 0.0, 15.0))
        smoother.end_frame()
    out_a = np.stack(out)
    still = slice(5, 29)
    shake = np.abs(np.diff(out_a[still, 0], axis=0)).mean()
    assert shake < 0.5 * np.sqrt(2 / np.pi) * np.sqrt(2)  # well under the raw frame-to-frame shake
    gap = out_a[:, 5, 1] - out_a[:, 3, 1]  # lid gap: 20 open, 0 closed
    assert gap[32] < 8  # mid-blink the eye is mostly closed
    assert abs(gap[45] - 20) < 2  # and open again after


def test_moving_average_is_the_mean_of_the_last_frames_per_track() -> None:
    average = MovingAverage()
    for step in range(6):
        a = average.average(1, "box", np.array([step * 10.0, 0.0]), frames=3)
        b = average.average(2, "box", np.array([5.0, 5.0]), frames=3)
        average.end_frame()
    assert a.tolist() == [40.0, 0.0] and b.tolist() == [5.0, 5.0]  # (30 + 40 + 50) / 3
    average.average(1, "box", np.array([100.0, 0.0]), frames=3)
    average.end_frame()  # track 2 was not seen: forgotten
    assert set(average.history) == {(1, "box")}
    assert average.average(1, "box", np.array([0.0, 0.0]), frames=1).tolist() == [0.0, 0.0]  # a new window


def test_detector_temporal_smoothing_averages_a_jumping_box(models_dir: Path, obama: Path, monkeypatch) -> None:
    monkeypatch.setenv("NODESWAP_MODELS", str(models_dir))
    capture = cv2.VideoCapture(str(obama))
    _, image = capture.read()
    capture.release()
    node = FaceDetector("det", {"smoothing": False, "temporal_smoothing": 4, "device": "cpu"})
    node.load(LoadContext("det"))
    shift = np.float32([[1, 0, 40], [0, 1, 0]])
    moved = cv2.warpAffine(image, shift, (image.shape[1], image.shape[0]))
    boxes = [node.process(frame=Frame(img, i))["faces"][0].box for i, img in enumerate([image] * 4 + [moved] * 4)]
    x1 = np.array([b[0] for b in boxes])
    steps = np.diff(x1[3:])  # the 40 px jump arrives in four steps of about 10 px
    assert np.allclose(steps, 10, atol=2), x1

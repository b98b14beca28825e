"""Face detector maths: resizing into the network window, per-model decoders, NMS.

Everything here is numpy (plus cv2.resize for the window) and runs without
onnxruntime, so each decoder is testable on synthetic tensors. A decoder gets
the raw network outputs and returns ``Detections`` in the network input's pixel
coordinates; ``Detections.to_frame`` maps them back to frame pixels.

Keypoint order everywhere: image-left eye, image-right eye, nose tip, image-left
mouth corner, image-right mouth corner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class Detections:
    """N faces: boxes (N,4) x1,y1,x2,y2; scores (N,); kps (N,5,2) or None."""

    boxes: np.ndarray
    scores: np.ndarray
    kps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: np.ndarray) -> Detections:
        return Detections(self.boxes[index], self.scores[index], None if self.kps is None else self.kps[index])

    def to_frame(self, scale: float) -> Detections:
        """Undo a window resize by ``scale`` (top-left anchored, as ``fit_window`` does)."""
        return Detections(self.boxes / scale, self.scores, None if self.kps is None else self.kps / scale)


def empty(with_kps: bool = True) -> Detections:
    return Detections(
        np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32) if with_kps else None
    )


# -- the network window ---------------------------------------------------------


def window_size(
    width: int, height: int, target: int, multiple: int = 32, upscale: bool = False
) -> tuple[float, int, int]:
    """(scale, W, H) for a dynamic-size network: the frame's longer side scaled to
    ``target`` (never enlarged unless ``upscale``), the canvas padded up to a
    multiple of ``multiple`` on the right and bottom."""
    scale = target / max(width, height)
    if not upscale:
        scale = min(scale, 1.0)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    pad_w = -(-new_w // multiple) * multiple
    pad_h = -(-new_h // multiple) * multiple
    return scale, pad_w, pad_h


def fit_window(image: np.ndarray, canvas_w: int, canvas_h: int, scale: float | None = None) -> tuple[np.ndarray, float]:
    """The image resized by ``scale`` (default: the largest that fits) into the
    top-left of a black ``canvas_w`` x ``canvas_h`` canvas; returns (canvas, scale)."""
    height, width = image.shape[:2]
    if scale is None:
        scale = min(canvas_w / width, canvas_h / height)
    new_w = min(canvas_w, max(1, round(width * scale)))
    new_h = min(canvas_h, max(1, round(height * scale)))
    if (new_w, new_h) == (width, height):
        resized = image
    else:
        interp = cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR  # AREA only where aliasing would show
        resized = cv2.resize(image, (new_w, new_h), interpolation=interp)
    if (new_w, new_h) == (canvas_w, canvas_h):
        return np.ascontiguousarray(resized), scale
    canvas = np.zeros((canvas_h, canvas_w, image.shape[2]), image.dtype)
    canvas[:new_h, :new_w] = resized
    return canvas, scale


# -- box maths ------------------------------------------------------------------------


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N,4) with every box in ``b`` (M,4): (N,M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        overlap = iou_matrix(boxes[best][None], boxes[order[1:]])[0]
        order = order[1:][overlap <= iou_threshold]
    return np.asarray(keep, np.int64)


def postprocess(dets: Detections, iou_threshold: float) -> Detections:
    """NMS, then order the keypoints image-left first (eyes, mouth corners)."""
    if len(dets) == 0:
        return dets
    dets = dets.take(nms(dets.boxes, dets.scores, iou_threshold))
    return Detections(dets.boxes, dets.scores, None if dets.kps is None else order_kps(dets.kps))


def order_kps(kps: np.ndarray) -> np.ndarray:
    """Swap eye and mouth-corner pairs where the model put the image-right one first."""
    kps = np.array(kps, np.float32, copy=True)
    for left, right in ((0, 1), (3, 4)):
        flip = kps[:, left, 0] > kps[:, right, 0]
        kps[flip, left], kps[flip, right] = kps[flip, right].copy(), kps[flip, left].copy()
    return kps


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column index of every cell, row-major, as float32 vectors."""
    row, col = np.divmod(np.arange(rows * cols, dtype=np.float32), np.float32(cols))
    return row, col


def _squeeze(array: np.ndarray, width: int) -> np.ndarray:
    return np.asarray(array, np.float32).reshape(-1, width)


# -- decoders, one per model -------------------------------------------------------------


def decode_yunet(outputs: dict[str, np.ndarray], width: int, height: int, threshold: float) -> Detections:
    """YuNet heads cls_S, obj_S, bbox_S, kps_S for strides 8/16/32 on a WxH input.

    score = sqrt(cls * obj); centre = (cell + d) * stride; size = exp(d) * stride.
    """
    boxes, scores, kps = [], [], []
    for stride in (8, 16, 32):
        cols, rows = width // stride, height // stride
        cls = _squeeze(outputs[f"cls_{stride}"], 1)[:, 0].clip(0, 1)
        obj = _squeeze(outputs[f"obj_{stride}"], 1)[:, 0].clip(0, 1)
        score = np.sqrt(cls * obj)
        keep = np.nonzero(score >= threshold)[0]
        if keep.size == 0:
            continue
        row, col = _grid(rows, cols)
        row, col = row[keep], col[keep]
        bbox = _squeeze(outputs[f"bbox_{stride}"], 4)[keep]
        cx, cy = (col + bbox[:, 0]) * stride, (row + bbox[:, 1]) * stride
        w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
        boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        points = _squeeze(outputs[f"kps_{stride}"], 10)[keep].reshape(-1, 5, 2)
        kps.append(np.stack([(points[..., 0] + col[:, None]) * stride, (points[..., 1] + row[:, None]) * stride], -1))
        scores.append(score[keep])
    if not scores:
        return empty()
    return Detections(np.concatenate(boxes), np.concatenate(scores), np.concatenate(kps))


@lru_cache(maxsize=8)
def retinaface_priors(width: int, height: int) -> np.ndarray:
    """RetinaFace anchors (cx, cy, w, h) in 0..1: sizes 16,32 / 64,128 / 256,512 at strides 8/16/32."""
    priors = []
    for stride, sizes in ((8, (16, 32)), (16, (64, 128)), (32, (256, 512))):
        rows, cols = -(-height // stride), -(-width // stride)
        row, col = _grid(rows, cols)
        cx = np.repeat((col + 0.5) * stride / width, len(sizes))
        cy = np.repeat((row + 0.5) * stride / height, len(sizes))
        sw = np.tile(np.asarray(sizes, np.float32) / width, rows * cols)
        sh = np.tile(np.asarray(sizes, np.float32) / height, rows * cols)
        priors.append(np.stack([cx, cy, sw, sh], 1))
    return np.concatenate(priors).astype(np.float32)


def decode_retinaface(
    loc: np.ndarray, conf: np.ndarray, landmarks: np.ndarray, width: int, height: int, threshold: float
) -> Detections:
    """RetinaFace: prior-relative offsets with variances 0.1 (centre) and 0.2 (log size)."""
    priors = retinaface_priors(width, height)
    loc, conf, landmarks = _squeeze(loc, 4), _squeeze(conf, 2), _squeeze(landmarks, 10)
    if len(priors) != len(loc):
        raise ValueError(f"RetinaFace gave {len(loc)} boxes, {len(priors)} priors expected for {width}x{height}")
    keep = np.nonzero(conf[:, 1] >= threshold)[0]
    priors, loc = priors[keep], loc[keep]
    centre = priors[:, :2] + loc[:, :2] * 0.1 * priors[:, 2:]
    size = priors[:, 2:] * np.exp(loc[:, 2:] * 0.2)
    scale = np.array([width, height], np.float32)
    boxes = np.concatenate([(centre - size / 2) * scale, (centre + size / 2) * scale], 1)
    points = landmarks[keep].reshape(-1, 5, 2)
    kps = (priors[:, None, :2] + points * 0.1 * priors[:, None, 2:]) * scale
    return Detections(boxes, conf[keep, 1], kps)


def decode_s3fd(outputs: list[np.ndarray], threshold: float) -> Detections:
    """S3FD: six (class [1,2,H,W], regression [1,4,H,W]) pairs for strides 4..128; square priors of 4 strides
    at the cell centres, offsets with variances 0.1 / 0.2. Boxes only; the bottom is lowered by a tenth of
    the height (S3FD's boxes end at the mouth)."""
    if len(outputs) != 12:
        raise ValueError(f"S3FD gives 12 outputs (6 class/box pairs), got {len(outputs)}")
    all_boxes, all_scores = [], []
    for level in range(6):
        stride = 2 ** (level + 2)
        score, reg = outputs[2 * level][0, 1], outputs[2 * level + 1][0]
        ys, xs = np.nonzero(score > threshold)
        if ys.size == 0:
            continue
        prior = np.stack([xs * stride + stride / 2, ys * stride + stride / 2], 1).astype(np.float32)
        offset = reg[:, ys, xs].T
        centre = prior + offset[:, :2] * 0.1 * stride * 4
        size = stride * 4 * np.exp(offset[:, 2:] * 0.2)
        boxes = np.concatenate([centre - size / 2, centre + size / 2], 1)
        boxes[:, 3] += (boxes[:, 3] - boxes[:, 1]) * 0.1
        all_boxes.append(boxes)
        all_scores.append(score[ys, xs])
    if not all_boxes:
        return empty(with_kps=False)
    return Detections(np.concatenate(all_boxes).astype(np.float32), np.concatenate(all_scores).astype(np.float32))


def decode_scrfd(
    scores: list[np.ndarray],
    bboxes: list[np.ndarray],
    kps: list[np.ndarray] | None,
    width: int,
    height: int,
    threshold: float,
    anchors: int = 2,
) -> Detections:
    """SCRFD: per stride 8/16/32, ``anchors`` anchors per cell; boxes and points are
    distances from the anchor centre in units of the stride."""
    all_boxes, all_scores, all_kps = [], [], []
    for level, stride in enumerate((8, 16, 32)):
        rows, cols = -(-height // stride), -(-width // stride)
        score = _squeeze(scores[level], 1)[:, 0]
        keep = np.nonzero(score >= threshold)[0]
        if keep.size == 0:
            continue
        row, col = _grid(rows, cols)
        cx, cy = np.repeat(col * stride, anchors)[keep], np.repeat(row * stride, anchors)[keep]
        dist = _squeeze(bboxes[level], 4)[keep] * stride
        all_boxes.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], 1))
        all_scores.append(score[keep])
        if kps is not None:
            points = _squeeze(kps[level], 10)[keep].reshape(-1, 5, 2) * stride
            all_kps.append(points + np.stack([cx, cy], 1)[:, None, :])
    if not all_scores:
        return empty(kps is not None)
    return Detections(
        np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_kps) if all_kps else None
    )


def decode_ultraface(scores: np.ndarray, boxes: np.ndarray, width: int, height: int, threshold: float) -> Detections:
    """Ultra-Light-Fast: softmax scores (N,2) and corner boxes in 0..1; no keypoints."""
    scores, boxes = _squeeze(scores, 2), _squeeze(boxes, 4)
    keep = np.nonzero(scores[:, 1] >= threshold)[0]
    scale = np.array([width, height, width, height], np.float32)
    return Detections(boxes[keep] * scale, scores[keep, 1], None)


def decode_centerface(
    heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, landmarks: np.ndarray, threshold: float
) -> Detections:
    """CenterFace at stride 4: heatmap peak cells, size = exp(scale) * 4 (h, w order),
    centre = (cell + offset + 0.5) * 4, landmarks (y, x pairs) relative to the box."""
    heat = np.asarray(heatmap, np.float32)[0, 0]
    rows, cols = np.nonzero(heat >= threshold)
    if rows.size == 0:
        return empty()
    scale, offset, landmarks = (np.asarray(a, np.float32)[0][:, rows, cols] for a in (scale, offset, landmarks))
    h, w = np.exp(scale[0]) * 4, np.exp(scale[1]) * 4
    cy, cx = (rows + offset[0] + 0.5) * 4, (cols + offset[1] + 0.5) * 4
    x1, y1 = cx - w / 2, cy - h / 2
    boxes = np.stack([x1, y1, x1 + w, y1 + h], 1)
    points = landmarks.T.reshape(-1, 5, 2)  # (y, x) per point, in units of the box size
    kps = np.stack([points[..., 1] * w[:, None] + x1[:, None], points[..., 0] * h[:, None] + y1[:, None]], -1)
    return Detections(boxes, heat[rows, cols], kps)


@lru_cache(maxsize=1)
def blazeface_anchors() -> np.ndarray:
    """BlazeFace front (128 px) anchor centres in pixels: 2 per cell at stride 8, 6 per cell at stride 16."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = 128 // stride
        row, col = _grid(cells, cells)
        xy = np.stack([(col + 0.5) * stride, (row + 0.5) * stride], 1)
        centres.append(np.repeat(xy, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


# Mouth corners of the 5-point layout, from BlazeFace's mouth centre and eye vector
# (ratio of mouth width to eye distance in the ArcFace reference face: about 0.83).
_MOUTH_HALF_WIDTH = 0.414


def decode_blazeface(scores: list[np.ndarray], regressors: list[np.ndarray], threshold: float) -> Detections:
    """BlazeFace front: logits and 16 regressors (box cx,cy,w,h + 6 points) per anchor
    in 128-px units. Its 6 points are eyes, nose, mouth centre and ears; the
    mouth corners are estimated from the mouth centre and the eye line."""
    logits = np.concatenate([_squeeze(s, 1)[:, 0] for s in scores])
    regs = np.concatenate([_squeeze(r, 16) for r in regressors])
    prob = 1 / (1 + np.exp(-logits.clip(-50, 50)))
    keep = np.nonzero(prob >= threshold)[0]
    if keep.size == 0:
        return empty()
    anchors, regs = blazeface_anchors()[keep], regs[keep]
    cx, cy = anchors[:, 0] + regs[:, 0], anchors[:, 1] + regs[:, 1]
    w, h = regs[:, 2], regs[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    points = regs[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    eye_a, eye_b, nose, mouth = points[:, 0], points[:, 1], points[:, 2], points[:, 3]
    eye_vec = (eye_b - eye_a) * _MOUTH_HALF_WIDTH
    kps = np.stack([eye_a, eye_b, nose, mouth - eye_vec, mouth + eye_vec], 1)
    return Detections(boxes, prob[keep], kps)


def decode_yolov5face(output: np.ndarray, threshold: float) -> Detections:
    """YOLOv5-Face (decoded export): rows of cx,cy,w,h,obj, 10 keypoint coords, cls."""
    rows = _squeeze(output, 16)
    score = rows[:, 4] * rows[:, 15]
    keep = np.nonzero(score >= threshold)[0]
    rows = rows[keep]
    cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    return Detections(boxes, score[keep], rows[:, 5:15].reshape(-1, 5, 2))

"""The preview grid: one row per face, columns src, src->src, dst, dst->dst, dst->src, under a title row."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from .checkpoint import write_atomic
from .data import FaceData
from .models import FaceModel

COLUMNS = ("src", "src->src", "dst", "dst->dst", "dst->src")
ROWS = 4
PREVIEW_MORPH = 0.75  # AMP: swap.dfm's default morph factor


def preview_indices(faces: FaceData, rows: int = ROWS) -> np.ndarray:
    """Faces spread evenly over the faceset, the same ones every time."""
    spread: np.ndarray = np.linspace(0, len(faces) - 1, min(rows, len(faces))).round().astype(np.int64)
    return spread


def _tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous().to(device)


def _images(batch: torch.Tensor) -> list[np.ndarray]:
    array: np.ndarray = batch.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    return [np.round(a * 255).astype(np.uint8) for a in array]


@torch.no_grad()
def render(model: FaceModel, src: FaceData, dst: FaceData, device: torch.device) -> np.ndarray:
    """The grid as a BGR uint8 image."""
    s = src.images[preview_indices(src)]
    d = dst.images[preview_indices(dst)]
    rows = min(len(s), len(d))
    s, d = s[:rows], d[:rows]
    was_training = model.training
    model.eval()
    src_t, dst_t = _tensor(s, device), _tensor(d, device)
    src_src, _, dst_dst, _ = model.predict(src_t, dst_t)
    morph = torch.tensor([PREVIEW_MORPH], device=device) if model.options.kind == "amp" else None
    _, dst_src, _ = model.swap(dst_t, morph)
    model.train(was_training)
    columns = [list(s), _images(src_src), list(d), _images(dst_dst), _images(dst_src)]
    size = s.shape[1]
    grid = np.concatenate([np.concatenate(column, axis=0) for column in columns], axis=1)
    title = np.full((max(20, size // 6), grid.shape[1], 3), 32, np.uint8)
    scale = title.shape[0] / 40.0
    for i, name in enumerate(COLUMNS):
        cv2.putText(
            title,
            name,
            (i * size + 4, int(title.shape[0] * 0.7)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (235, 235, 235),
            1,
            cv2.LINE_AA,
        )
    return np.concatenate([title, grid], axis=0)


def save_png(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise OSError(f"cannot encode {path}")
    write_atomic(path, lambda handle: handle.write(data.tobytes()))

"""align.face against DeepFaceLive's own aligner code on landmarks the reference data never had.

DeepFaceLive's xlib (FLandmarks2D.calc_cut, FRect.cut, FPose) is imported from a checkout of its source and run
beside nodeswap's align_face: for each frame of media/dfl_reference, trials with the face's 3D landmarks
rotated, scaled and jittered at random, 468 points or a random 106- or 68-point subset (fitted by DeepFaceLive's
106 and 68 rules), every align mode, random coverage, resolution, offsets, exclude moving parts, head mode and
freeze Z. Settings are handed to DeepFaceLive as its FaceAligner hands them on (y_offset - 0.08, head mode's +1
coverage and -0.5). Reports, per mode and point count, the largest crop-corner distance (% of the face size) and
the crop's mean absolute difference (0-255); tolerances 0.5% and 1.0 as in the reference's README.

    git -C DEEPFACELIVE_GIT archive HEAD xlib | tar -x -C /tmp/dfl
    python benchmarks/dfl_aligner_fuzz.py /tmp/dfl [--trials 12] [--seed 0] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodeswap.nodes.ops.face_crop import align_face
from nodeswap.types import Face

MODES = ("from points", "from points", "from rect", "from static rect")  # points twice: it has the most settings


def load_deepfacelive(root: Path) -> Any:
    """DeepFaceLive's xlib.face under Python 3.11: its Python 3.8 imports shimmed, h5py (facesets only) stubbed."""
    for name in ("Iterable", "Sequence", "Mapping"):
        setattr(collections, name, getattr(collections.abc, name))
    if "h5py" not in sys.modules:
        stub = types.ModuleType("h5py")
        for name in ("Group", "File", "Dataset"):
            setattr(stub, name, type(name, (), {}))
        sys.modules["h5py"] = stub
    sys.path.insert(0, str(root))
    import xlib.face

    return xlib.face


def deepfacelive_matrix(
    dfl: Any, image: np.ndarray, lm: np.ndarray, lm3d: np.ndarray | None, box: Any, s: dict[str, Any]
) -> Any:
    """DeepFaceLive's frame -> crop matrix, its FaceAligner's calls with the settings ``s``."""
    h, w = image.shape[:2]
    res, cov, xo, yo = s["res"], s["cov"], s["xo"], s["yo"]
    if s["mode"] == "from points":
        kind = {468: dfl.ELandmarks2D.L468, 106: dfl.ELandmarks2D.L106, 68: dfl.ELandmarks2D.L68}[len(lm)]
        ulm = dfl.FLandmarks2D.create(kind, (lm / (w, h)).astype(np.float32))
        yaw = None
        if (s["head"] or s["freeze"]) and lm3d is not None:
            yaw = dfl.FPose.from_3D_468_landmarks(lm3d).as_radians()[1]
        mat, _ = ulm.calc_cut(
            (h, w),
            cov + (1.0 if s["head"] else 0.0),
            res,
            exclude_moving_parts=s["exclude"],
            head_yaw=yaw,
            x_offset=xo,
            y_offset=yo - 0.08 + (-0.5 if s["head"] else 0.0),
            freeze_z_rotation=s["freeze"],
        )
        return np.asarray(mat, np.float64)
    if s["mode"] == "from rect":
        ltrb = [box[0] / w, box[1] / h, box[2] / w, box[3] / h]
    else:
        ltrb = [0.5 - res / w / 2, 0.5 - res / h / 2, 0.5 + res / w / 2, 0.5 + res / h / 2]
    _, uni = dfl.FRect.from_ltrb(ltrb).cut(image, coverage=cov, output_size=res, x_offset=xo, y_offset=yo)
    return np.asarray(uni.to_exact_mat(w, h, res, res), np.float64)


def random_face(rng: np.random.Generator, lm3d: np.ndarray, size_wh: tuple[int, int]) -> tuple[np.ndarray, Any]:
    """The 3D landmarks turned, scaled and jittered about the frame centre (z scaled with them)."""
    angle, scale = rng.uniform(-0.6, 0.6), rng.uniform(0.7, 1.3)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array(size_wh, np.float64) / 2
    out = lm3d.astype(np.float64).copy()
    out[:, :2] = (out[:, :2] - centre) @ rot.T + centre + rng.normal(0.0, 0.7, (len(out), 2))
    out[:, 2] *= scale
    return out.astype(np.float32), rng.choice([468, 468, 106, 68])


def corner_error(a: np.ndarray, b: np.ndarray, res: int, face_size: float) -> float:
    """Largest distance of the crop's 4 corners mapped into the frame by two frame -> crop matrices, % of face."""
    corners = np.array([[0, 0], [res, 0], [res, res], [0, res]], np.float64)
    ia, ib = cv2.invertAffineTransform(a), cv2.invertAffineTransform(b)
    pa, pb = corners @ ia[:, :2].T + ia[:, 2], corners @ ib[:, :2].T + ib[:, 2]
    return float(np.linalg.norm(pa - pb, axis=1).max() / face_size * 100.0)


def run(dfl: Any, reference: Path, trials: int, seed: int) -> dict[str, list[float]]:
    index = json.loads((reference / "index.json").read_text())
    rng = np.random.default_rng(seed)
    rows: dict[str, list[float]] = {}
    for frame in index["frames"]:
        image = cv2.imread(str(reference / frame["frame"]))
        data = np.load(reference / frame["align"])
        height, width = image.shape[:2]
        for _ in range(trials):
            lm3d, n = random_face(rng, data["lm3d"], (width, height))
            keep = np.arange(468) if n == 468 else np.sort(rng.choice(468, n, replace=False))
            lm, l3 = lm3d[keep, :2].copy(), (lm3d if n == 468 else None)
            (x1, y1), (x2, y2) = lm.min(0), lm.max(0)
            box = (float(x1), float(y1), float(x2), float(y2))
            s = {
                "mode": str(rng.choice(MODES)),
                "cov": round(float(rng.uniform(1.2, 3.5)), 2),
                "res": int(rng.choice([128, 224, 256, 320])),
                "exclude": bool(rng.integers(2)),
                "head": bool(rng.integers(2)),
                "freeze": bool(rng.integers(2)),
                "xo": round(float(rng.uniform(-0.4, 0.4)), 2),
                "yo": round(float(rng.uniform(-0.4, 0.4)), 2),
            }
            theirs = deepfacelive_matrix(dfl, image, lm, l3, box, s)
            face = Face(box=box, landmarks=lm, landmarks_3d=l3)
            args = (s["res"], s["cov"], s["xo"], s["yo"], s["exclude"], s["head"], s["freeze"])
            ours = align_face(image, face, "facemesh", *args, mode=s["mode"])
            assert ours is not None
            err = corner_error(theirs, ours.mat, s["res"], float(max(x2 - x1, y2 - y1)))
            crop = cv2.warpAffine(image, theirs, (s["res"], s["res"]))
            mad = float(np.abs(crop.astype(np.float64) - ours.image).mean())
            row = rows.setdefault(f"{s['mode']}, {n} points", [0.0, 0.0, 0.0])
            row[0], row[1], row[2] = max(row[0], err), max(row[1], mad), row[2] + 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("deepfacelive", type=Path, help="a folder holding DeepFaceLive's xlib/")
    parser.add_argument("--media", type=Path, default=Path(os.environ.get("NODESWAP_MEDIA", "../shared/media")))
    parser.add_argument("--trials", type=int, default=12, help="random faces per reference frame")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    a = parser.parse_args()
    if not (a.deepfacelive / "xlib" / "face").is_dir():
        print(f"dfl_aligner_fuzz: {a.deepfacelive}: no xlib/face in it (a DeepFaceLive source folder)", file=sys.stderr)
        sys.exit(2)
    rows = run(load_deepfacelive(a.deepfacelive), a.media / "dfl_reference", a.trials, a.seed)
    lines = [
        "| mode, landmarks | cases | largest corner distance, % of face size | largest crop MAD (0-255) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {k} | {int(v[2])} | {v[0]:.5f} | {v[1]:.3f} |" for k, v in sorted(rows.items())]
    total = sum(int(v[2]) for v in rows.values())
    worst_err, worst_mad = max(v[0] for v in rows.values()), max(v[1] for v in rows.values())
    lines.append(f"\n{total} cases (seed {a.seed}); worst {worst_err:.5f}% and {worst_mad:.3f} (tolerances 0.5%, 1.0)")
    text = "\n".join(lines)
    print(text)
    if a.out is not None:
        a.out.write_text(text + "\n")
    sys.exit(0 if worst_err <= 0.5 and worst_mad <= 1.0 else 1)


if __name__ == "__main__":
    main()

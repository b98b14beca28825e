"""Contact sheets of nodeswap beside DeepFaceLive's own results (media/dfl_reference).

Aligner sheet, one row per frame: the frame around the face | DeepFaceLive's crop | nodeswap's crop (align.face
with the same settings) | the difference x 8. Merger sheet, one row per merge frame: DeepFaceLive's merged face |
nodeswap's (merge.faces, the same inputs) | the difference x 8. Each row is labelled with its mean absolute
difference.

    python benchmarks/dfl_parity_sheet.py [--setting defaults] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodeswap.node import LoadContext
from nodeswap.nodes.aligners import FaceAligner
from nodeswap.nodes.mergers import FaceMerger
from nodeswap.types import Aligned, Face, Frame, Swapped

TILE = 160


def tile(image: np.ndarray, label: str = "") -> np.ndarray:
    out = cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)
    if label:
        cv2.putText(out, label, (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def difference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    diff = np.abs(a.astype(int) - b.astype(int))
    return np.clip(diff * 8, 0, 255).astype(np.uint8), float(diff.mean())


def aligner_rows(folder: Path, index: dict, setting: str) -> list[np.ndarray]:
    params = {k.split(".")[-1]: v for k, v in index["aligner_settings"][setting]["project"].items()}
    node = FaceAligner("aligner", params)
    node.load(LoadContext("aligner"))
    rows = []
    for case in [c for c in index["cases"] if c["kind"] == "align" and c["setting"] == setting]:
        data = np.load(folder / case["npz"])
        frame = cv2.imread(str(folder / case["frame_png"]))
        lm = data["lm"].astype(np.float64)
        face = Face(box=(*lm.min(0), *lm.max(0)), landmarks=lm, landmarks_3d=data["lm3d"].astype(np.float64))
        (out,) = node.process(Frame(frame), (face,))["faces"]
        theirs = cv2.imread(str(folder / case["crop"]))
        x0, y0 = np.maximum(lm.min(0) - 40, 0).astype(int)
        x1, y1 = (lm.max(0) + 40).astype(int)
        diff, mad = difference(out.aligned.image, theirs)
        rows.append(
            np.hstack(
                [
                    tile(frame[y0:y1, x0:x1], case["frame"][-22:]),
                    tile(theirs, "DeepFaceLive"),
                    tile(out.aligned.image, "nodeswap"),
                    tile(diff, f"x8, MAD {mad:.2f}"),
                ]
            )
        )
    return rows


def merger_rows(folder: Path, index: dict, setting: str) -> list[np.ndarray]:
    params = {k.split(".")[-1]: v for k, v in index["merger_settings"][setting]["project"].items()}
    node = FaceMerger("merger", params)
    node.load(LoadContext("merger"))
    rows = []
    for case in [c for c in index["cases"] if c["kind"] == "merge" and c["setting"] == setting]:
        data = np.load(folder / case["npz"])
        crop = cv2.imread(str(folder / case["crop"]))
        aligned = Aligned(crop, data["mat"], data["mat_crop_to_frame"], crop.shape[0], data["mask_lmrks"] / 255.0)
        swapped = Swapped(
            cv2.imread(str(folder / case["swap"])), data["mask_swap"] / 255.0, target_mask=data["mask_face"] / 255.0
        )
        frame = cv2.imread(str(folder / case["frame_png"]))
        face = Face(box=(0.0, 0.0, 1.0, 1.0), aligned=aligned, swapped=swapped)
        merged = node.process(frame=Frame(frame), faces=(face,))["frame"].image
        x0, y0, x1, y1 = case["window_x0y0x1y1"]
        ours, theirs = merged[y0:y1, x0:x1], cv2.imread(str(folder / case["merged"]))
        diff, mad = difference(ours, theirs)
        rows.append(np.hstack([tile(theirs, "DeepFaceLive"), tile(ours, "nodeswap"), tile(diff, f"x8, MAD {mad:.2f}")]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", default="defaults", help="aligner and merger setting of the reference")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    media = Path(os.environ.get("NODESWAP_MEDIA", "../shared/media"))
    folder = media / "dfl_reference"
    index = json.loads((folder / "index.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    aligner = args.out / f"dfl_aligner_{args.setting}.jpg"
    cv2.imwrite(str(aligner), np.vstack(aligner_rows(folder, index, args.setting)[::2]), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {aligner}")
    if args.setting in index["merger_settings"]:
        merger = args.out / f"dfl_merger_{args.setting}.jpg"
        cv2.imwrite(str(merger), np.vstack(merger_rows(folder, index, args.setting)), [cv2.IMWRITE_JPEG_QUALITY, 85])
        print(f"wrote {merger}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

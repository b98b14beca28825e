"""Recall and speed of each face detector on the 50 real photos.

    NODESWAP_MODELS=... NODESWAP_MEDIA=... python benchmarks/detector_recall.py [--models yunet scrfd]
        [--window 480] [--threshold 0.5] [--repeat 3]

Prints one row per model: photos with at least one face, faces found in all,
median milliseconds per photo (the whole node: resize, network, decoding, NMS),
and the photos where nothing was found. Default settings = the node's defaults.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nodes.detectors import FaceDetector
from nodes.ops.detect_models import MODEL_CHOICES
from nodeswap.node import LoadContext
from nodeswap.types import Frame


def measure(model: str, photos: list[Path], params: dict, repeat: int) -> dict:
    node = FaceDetector("det", {"model": model, "device": "cpu", **params})
    node.load(LoadContext("det"))
    images = [(p.name, cv2.imread(str(p))) for p in photos]
    node.process(frame=Frame(images[0][1], source="warm-up"))
    found, total, missed, times = 0, 0, [], []
    for name, image in images:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            faces = node.process(frame=Frame(image, source=name))["faces"]
            best = min(best, time.perf_counter() - start)
        times.append(best * 1000)
        total += len(faces)
        if faces:
            found += 1
        else:
            missed.append(name)
    node.unload()
    return {"model": model, "found": found, "faces": total, "ms": statistics.median(times), "missed": missed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=list(MODEL_CHOICES), choices=MODEL_CHOICES)
    parser.add_argument("--photos", default=os.path.join(os.environ.get("NODESWAP_MEDIA", ""), "photos"))
    parser.add_argument("--window", type=int, help="detection size (default: the node's)")
    parser.add_argument("--threshold", type=float, help="score threshold (default: the node's)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per photo; the fastest counts")
    args = parser.parse_args(argv)
    photos = sorted(Path(args.photos).glob("*.jpg"))
    if not photos:
        print(f"no photos in {args.photos!r}: set NODESWAP_MEDIA or --photos", file=sys.stderr)
        return 2
    params = {k: v for k, v in (("window", args.window), ("threshold", args.threshold)) if v is not None}
    defaults = {p.name: p.default for p in FaceDetector.params}
    print(f"{len(photos)} photos, window {params.get('window', defaults['window'])}, "
          f"threshold {params.get('threshold', defaults['threshold'])}, cv2 threads {cv2.getNumThreads()}")
    print(f"{'model':<12} {'photos with a face':>18} {'faces':>6} {'ms/photo':>9}  missed")
    for model in args.models:
        row = measure(model, photos, params, args.repeat)
        print(f"{row['model']:<12} {row['found']:>13} / {len(photos):<2} {row['faces']:>6} {row['ms']:>9.1f}  "
              f"{' '.join(row['missed'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Recall and speed of each face detector on the 50 real photos.

    NODESWAP_MODELS=... NODESWAP_MEDIA=... python benchmarks/detector_recall.py [--models yunet scrfd]
        [--window 480] [--threshold 0.5] [--repeat 3]
    python benchmarks/detector_recall.py --video $NODESWAP_MEDIA/videos/Obama_speaking.mp4 [--every-n 1]

Prints one row per model (plus yunet-2023mar: the fixed 640x640 YuNet file letterboxed,
which the node uses only when yunet_s_dynamic.onnx is missing): photos with at least one face, faces found in all,
median milliseconds per photo (the whole node: resize, network, decoding, NMS),
and the photos where nothing was found. Default settings = the node's defaults.
With --video: median and 90th-percentile ms per frame of the default detector and
of each marker model on that video (one face track, frames in order).
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

import numpy as np

from nodeswap.models import model_path
from nodeswap.node import LoadContext
from nodeswap.nodes.detectors import FaceDetector
from nodeswap.nodes.markers import FaceMarker
from nodeswap.nodes.ops.detect_models import DETECTORS, MODEL_CHOICES
from nodeswap.nodes.ops.marker_models import MARKERS
from nodeswap.runtime import session
from nodeswap.types import Frame

FIXED_YUNET = "yunet-2023mar"  # the fixed 640x640 YuNet file, letterboxed (the node's fallback)


def measure(model: str, photos: list[Path], params: dict, repeat: int) -> dict:
    node = FaceDetector(
        "det", {"model": "yunet" if model == FIXED_YUNET else model, "device": "cpu", "max_faces": 0, **params}
    )
    node.load(LoadContext("det"))
    if model == FIXED_YUNET:
        node._variant = DETECTORS["yunet"].variants[1]
        node._session = session(model_path(node._variant.file), "cpu")
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


def video_timings(path: str, params: dict, passes: int) -> None:
    """Per-frame cost of the detector and of each marker on a real video: each
    frame's fastest time over ``passes`` runs through the whole video (fresh
    nodes each pass), so other programs on a busy machine count less."""
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    if not frames:
        print(f"cannot read frames from {path!r}", file=sys.stderr)
        return
    names = ["detect.face", *(f"mark.face {m}" for m in MARKERS)]
    best = {name: np.full(len(frames), np.inf) for name in names}
    counts = []
    for _ in range(max(1, passes)):
        detector = FaceDetector("det", {"device": "cpu", **params})
        detector.load(LoadContext("det"))
        markers = {f"mark.face {m}": FaceMarker(m, {"model": m, "device": "cpu"}) for m in MARKERS}
        for marker in markers.values():
            marker.load(LoadContext(marker.id))
        counts = []
        for index, image in enumerate(frames):
            frame = Frame(image, index, fps=30.0, source=path)
            start = time.perf_counter()
            faces = detector.process(frame=frame)["faces"]
            best["detect.face"][index] = min(best["detect.face"][index], time.perf_counter() - start)
            counts.append(len(faces))
            for name, marker in markers.items():
                start = time.perf_counter()
                marker.process(frame=frame, faces=faces)
                best[name][index] = min(best[name][index], time.perf_counter() - start)
    print(
        f"{path}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, faces per frame "
        f"{min(counts)}..{max(counts)}, detector params {params or 'default'}, best of {passes} passes"
    )
    for name, values in best.items():
        ms = values[1:] * 1000  # the first call warms up
        print(f"{name:<22} median {np.median(ms):6.2f} ms   p90 {np.percentile(ms, 90):6.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    choices = [*MODEL_CHOICES, FIXED_YUNET]
    parser.add_argument("--models", nargs="*", default=choices, choices=choices)
    parser.add_argument("--photos", default=os.path.join(os.environ.get("NODESWAP_MEDIA", ""), "photos"))
    parser.add_argument("--window", type=int, help="detection size (default: the node's)")
    parser.add_argument("--threshold", type=float, help="score threshold (default: the node's)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per photo (passes per video); the fastest counts")
    parser.add_argument("--video", help="time the detector and markers per frame on this video instead")
    parser.add_argument("--every-n", type=int, help="detector every_n for --video")
    args = parser.parse_args(argv)
    if args.video:
        extra = {} if args.every_n is None else {"every_n": args.every_n}
        video_timings(args.video, {**extra, **({"window": args.window} if args.window else {})}, args.repeat)
        return 0
    photos = sorted(Path(args.photos).glob("*.jpg"))
    if not photos:
        print(f"no photos in {args.photos!r}: set NODESWAP_MEDIA or --photos", file=sys.stderr)
        return 2
    params = {k: v for k, v in (("window", args.window), ("threshold", args.threshold)) if v is not None}
    defaults = {p.name: p.default for p in FaceDetector.params}
    print(
        f"{len(photos)} photos, window {params.get('window', defaults['window'])}, "
        f"threshold {params.get('threshold', defaults['threshold'])}, cv2 threads {cv2.getNumThreads()}"
    )
    print(f"{'model':<12} {'photos with a face':>18} {'faces':>6} {'ms/photo':>9}  missed")
    for model in args.models:
        row = measure(model, photos, params, args.repeat)
        print(
            f"{row['model']:<12} {row['found']:>13} / {len(photos):<2} {row['faces']:>6} {row['ms']:>9.1f}  "
            f"{' '.join(row['missed'])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

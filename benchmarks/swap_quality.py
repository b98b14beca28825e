"""Quality of a face swap, measured with an independent face embedder and FaceMesh.

Runs the chain (YuNet -> FaceMesh -> swapper -> merger) over clips with several source photos
and checks the issue's acceptance criteria per clip and photo:

- a face in every output frame (YuNet on the output);
- the output face closer (cosine, MobileFaceNet) to the source photo than to the input face in
  at least 95% of frames;
- mean cosine between output and input face at most 0.35;
- correlation of mouth opening (inner-lip gap / face height, FaceMesh) between input and
  output at least 0.85.

Also reported: flicker (second temporal difference of the output face over that of the input
face; about 1.0 = no wobble added) and milliseconds per stage.

    python benchmarks/swap_quality.py [--clips Obama_speaking Twitch1] [--photos 000007 ...]
        [--step 1] [--frames 0] [--out FILE.md] [--save DIR] [--graph graphs/video_swap.json]
        [--set swap.morph PARAM=VALUE ...] [--marker ...] [--merger ...]

Without --graph the chain runs in this process (benchmarks/chain.py, per-stage medians); with
--graph the preset runs through run.py and its sink's H.264 video is judged (mean ms per node).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chain import Chain, YuNet, facemesh_landmarks, read_video
from nodeswap.models import model_path
from nodeswap.nodes.ops import morph
from nodeswap.nodes.swap_morph import MorphSwap
from nodeswap.runtime import session
from nodeswap.types import Frame

ROOT = Path(__file__).resolve().parent.parent
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float32
)
DEFAULT_PHOTOS = ("000007", "000014", "000016", "000033", "000040")
DEFAULT_CLIPS = ("Obama_speaking", "Twitch1")
STAGE_NODES = {"detect": "detect.face", "mark": "mark.face", "swap": "swap.morph", "merge": "merge.faces"}
CRITERIA = {"found": 1.0, "closer": 0.95, "cos_in": 0.35, "mouth": 0.85}


class Judge:
    """The independent measure: YuNet, MobileFaceNet (ArcFace 5-point 112 crop) and FaceMesh."""

    def __init__(self) -> None:
        self.detect = YuNet()
        self._emb = session(model_path("mobilefacenet"), "cpu")
        self._emb_input = self._emb.get_inputs()[0].name
        self._clip = ""
        self._boxes: dict[int, np.ndarray | None] = {}
        self._faces: dict[int, tuple[np.ndarray, float] | None] = {}

    def embed(self, image: np.ndarray, kps: np.ndarray) -> np.ndarray:
        mat, _ = cv2.estimateAffinePartial2D(kps.astype(np.float32), ARCFACE_112, method=cv2.LMEDS)
        crop = cv2.warpAffine(image, mat, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        feed = ((cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) - 127.5) / 128).transpose(2, 0, 1)[None]
        vec = self._emb.run(None, {self._emb_input: feed})[0][0]
        return vec / np.linalg.norm(vec)

    def face(self, image: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(embedding, mouth opening) of the largest face, or None when no face is found."""
        found = self.detect(image)
        if not found:
            return None
        box, kps, _ = found[0]
        points = facemesh_landmarks(image, np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]]), kps, "cpu")
        return self.embed(image, kps), morph.mouth_opening(points[:, :2])

    def box(self, image: np.ndarray) -> np.ndarray | None:
        found = self.detect(image)
        return found[0][0] if found else None

    def start_clip(self, clip: str) -> None:
        """Input frames are judged once per clip (they are the same for every source photo)."""
        if clip != self._clip:
            self._clip, self._boxes, self._faces = clip, {}, {}

    def box_of_input(self, index: int, image: np.ndarray) -> np.ndarray | None:
        if index not in self._boxes:
            self._boxes[index] = self.box(image)
        return self._boxes[index]

    def input_face(self, index: int, image: np.ndarray) -> tuple[np.ndarray, float] | None:
        if index not in self._faces:
            self._faces[index] = self.face(image)
        return self._faces[index]


@dataclass
class Result:
    clip: str
    photo: str
    frames: int
    found: float  # share of output frames with a face
    closer: float  # share of frames where output is closer to the source than to the input
    cos_in: float  # mean cosine output-input
    cos_in_p95: float
    cos_src: float  # mean cosine output-source
    mouth: float  # correlation of mouth opening input vs output
    flicker: float  # output face wobble / input face wobble (second temporal difference)
    ms: dict[str, float]

    def passes(self) -> dict[str, bool]:
        return {
            "found": self.found >= CRITERIA["found"],
            "closer": self.closer >= CRITERIA["closer"],
            "cos_in": self.cos_in <= CRITERIA["cos_in"],
            "mouth": self.mouth >= CRITERIA["mouth"],
        }


def chain_outputs(chain: Chain, frames: list[np.ndarray], clip: str) -> list[np.ndarray]:
    """The chain's output for every frame (per-stage times land in ``chain.times``)."""
    chain.times.clear()
    return [chain.run(Frame(image=image, index=i, fps=30.0, source=clip))[0] for i, image in enumerate(frames)]


def graph_outputs(
    graph: Path, clip_path: Path, photo: Path, overrides: list[str], workdir: Path
) -> tuple[list[np.ndarray], dict[str, float]]:
    """Run a preset graph (nodes source, detector, marker, swapper, merger, sink) with ``run.py`` on the
    clip, one node after another, and read back the video its sink wrote. Returns (frames, ms per stage)."""
    out_video, stats = workdir / f"{clip_path.stem}_{photo.stem}.mp4", workdir / "stats.json"
    sets = [f"source.path={clip_path}", f"swapper.source_image={photo}", f"sink.path={out_video}", *overrides]
    command = [sys.executable, str(ROOT / "run.py"), "run", str(graph), "--offline", "--sequential"]
    command += ["--stats", str(stats), *(arg for item in sets for arg in ("--set", item))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    nodes = json.loads(stats.read_text(encoding="utf-8"))["nodes"]
    names = {"detect": "detector", "mark": "marker", "swap": "swapper", "merge": "merger"}
    ms = {stage: float(nodes[node]["ms_mean"]) for stage, node in names.items() if node in nodes}
    return read_video(out_video), ms


def measure(
    judge: Judge,
    clip: str,
    photo_path: Path,
    frames: list[np.ndarray],
    outputs: list[np.ndarray],
    ms: dict[str, float],
    step: int,
    save: Path | None = None,
) -> Result:
    """Judge ``outputs`` against the input ``frames`` and the source photo."""
    judge.start_clip(clip)
    source = judge.face(cv2.imread(str(photo_path)))
    if source is None:
        raise SystemExit(f"no face in {photo_path}")
    src_emb = source[0]
    closer, cos_in, cos_src, mouth_in, mouth_out, flicker = [], [], [], [], [], []
    found = 0
    history: list[tuple[np.ndarray, np.ndarray]] = []
    blank = np.zeros_like(frames[0])
    for index, image in enumerate(frames):
        output = outputs[index] if index < len(outputs) else blank  # a missing frame counts as faceless
        history = [*history[-2:], (image, output)]
        box = judge.box_of_input(index, image)
        if box is not None and len(history) == 3:
            flicker.append(_jitter(history, box))
        if save is not None and index in (30, 120):
            cv2.imwrite(str(save / f"{clip}_{photo_path.stem}_{index}.png"), np.hstack([image, output]))
        if index % step:
            continue
        judged_out = judge.face(output)
        if judged_out is None:
            continue
        found += 1
        judged_in = judge.input_face(index, image)
        if judged_in is None:
            continue
        out_emb, out_mouth = judged_out
        in_emb, in_mouth = judged_in
        cos_in.append(float(out_emb @ in_emb))
        cos_src.append(float(out_emb @ src_emb))
        closer.append(cos_src[-1] > cos_in[-1])
        mouth_in.append(in_mouth)
        mouth_out.append(out_mouth)
    judged = len(range(0, len(frames), step))
    return Result(
        clip=clip,
        photo=photo_path.stem,
        frames=judged,
        found=found / max(judged, 1),
        closer=float(np.mean(closer)) if closer else 0.0,
        cos_in=float(np.mean(cos_in)) if cos_in else 1.0,
        cos_in_p95=float(np.percentile(cos_in, 95)) if cos_in else 1.0,
        cos_src=float(np.mean(cos_src)) if cos_src else 0.0,
        mouth=float(np.corrcoef(mouth_in, mouth_out)[0, 1]) if len(mouth_in) > 2 else 0.0,
        flicker=float(np.median(flicker)) if flicker else 0.0,
        ms=ms,
    )


def _jitter(history: list[tuple[np.ndarray, np.ndarray]], box: np.ndarray) -> float:
    """Second temporal difference (frame t - 2 t-1 + t-2) in the face box, output over input.

    Steady motion cancels out; a swap that wobbles or flickers on top of the video's own change
    scores above 1.0.
    """
    h, w = history[-1][0].shape[:2]
    x1, y1, x2, y2 = (int(v) for v in np.clip(box, 0, [w, h, w, h]))
    crop = (slice(y1, y2), slice(x1, x2))
    i0, i1, i2 = (pair[0][crop].astype(np.float32) for pair in history)
    o0, o1, o2 = (pair[1][crop].astype(np.float32) for pair in history)
    d_in = np.abs(i2 - 2 * i1 + i0).mean()
    d_out = np.abs(o2 - 2 * o1 + o0).mean()
    return float(d_out / max(d_in, 1e-3))


def table(results: list[Result], stages: dict[str, str]) -> str:
    head = (
        "| clip | photo | frames | face found | closer to source | cos(out,in) mean / p95 | cos(out,src) "
        "| mouth corr | flicker | swap ms | all pass |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [head]
    for r in results:
        ok = all(r.passes().values())
        rows.append(
            f"| {r.clip} | {r.photo} | {r.frames} | {r.found:.0%} | {r.closer:.0%} | {r.cos_in:.3f} / "
            f"{r.cos_in_p95:.3f} | {r.cos_src:.3f} | {r.mouth:.3f} | {r.flicker:.2f} | "
            f"{r.ms.get('swap', 0):.1f} | {'yes' if ok else 'NO'} |"
        )
    stage_ms = {s: np.median([r.ms.get(s, 0.0) for r in results]) for s in ("detect", "mark", "swap", "merge")}
    lines = ["", "ms per frame per stage (one face, CPU; median in-process, mean with --graph):", ""]
    lines += [f"- {s}: {stage_ms[s]:.1f} ms ({stages.get(s, '')})" for s in stage_ms]
    return "\n".join(rows + lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", nargs="+", default=list(DEFAULT_CLIPS))
    parser.add_argument("--photos", nargs="+", default=list(DEFAULT_PHOTOS))
    parser.add_argument("--step", type=int, default=1, help="judge every Nth frame (all frames are swapped)")
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames (0 = all)")
    parser.add_argument("--set", nargs="*", default=[], metavar="PARAM=VALUE", help="swap.morph params")
    parser.add_argument("--marker", nargs="*", default=[], metavar="PARAM=VALUE", help="mark.face params")
    parser.add_argument("--merger", nargs="*", default=[], metavar="PARAM=VALUE", help="merge.faces params")
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    parser.add_argument("--save", type=Path, help="write before/after PNGs of frames 30 and 120 here")
    parser.add_argument("--fallback", action="store_true", help="use the stand-in detector/marker/merger")
    parser.add_argument(
        "--graph",
        type=Path,
        help="run this preset graph with run.py instead of the in-process chain (e.g. "
        "graphs/video_swap.json); --set/--marker/--merger then go to its swapper/marker/merger nodes",
    )
    parser.add_argument("--picture", type=Path, help="only write a before/after JPEG here (e.g. docs/before_after.jpg)")
    args = parser.parse_args(argv)
    media = Path(os.environ.get("NODESWAP_MEDIA", ROOT_MEDIA))
    os.environ.setdefault("NODESWAP_MODELS", ROOT_MODELS)
    params, marker, merger = _pairs(args.set), _pairs(args.marker), _pairs(args.merger)
    if args.picture:
        before_after(media, args.picture, params, marker, merger)
        return 0
    judge = Judge()
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    stages = dict(STAGE_NODES)
    overrides = [
        f"{node}.{item}"
        for node, items in (("swapper", args.set), ("marker", args.marker), ("merger", args.merger))
        for item in items
    ]
    with tempfile.TemporaryDirectory() as workdir:
        for clip in args.clips:
            clip_path = media / "videos" / f"{clip}.mp4"
            frames = read_video(clip_path, args.frames)
            for photo in args.photos:
                path = media / "photos" / f"{photo}.jpg"
                if args.graph:
                    outputs, ms = graph_outputs(args.graph, clip_path, path, overrides, Path(workdir))
                    stages = {k: f"{v} in {args.graph.name}, run.py --sequential" for k, v in STAGE_NODES.items()}
                else:
                    chain = Chain(
                        MorphSwap("swap", {**params, "source_image": str(path), "device": "cpu"}),
                        use_project_nodes=not args.fallback,
                        marker_params=marker,
                        merger_params=merger,
                    )
                    outputs = chain_outputs(chain, frames, clip)
                    ms = {stage: float(np.median(v)) for stage, v in chain.times.items()}
                    stages = chain.stages
                    chain.close()
                result = measure(judge, clip, path, frames, outputs, ms, args.step, args.save)
                results.append(result)
                print(
                    f"{clip} {photo}: found {result.found:.0%} closer {result.closer:.0%} cos_in "
                    f"{result.cos_in:.3f} (p95 {result.cos_in_p95:.3f}) cos_src {result.cos_src:.3f} mouth "
                    f"{result.mouth:.3f} flicker {result.flicker:.2f} ms {result.ms} pass {result.passes()}",
                    flush=True,
                )
    text = table(results, stages)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0 if all(all(r.passes().values()) for r in results) else 1


def before_after(
    media: Path, path: Path, params: dict[str, Any], marker: dict[str, Any], merger: dict[str, Any]
) -> None:
    """A JPEG (< 300 KB) of input | output rows: Obama frame 120 with photo 000007, Obama frame 200 with
    000040, Twitch1 frame 200 with 000016, made by the in-process chain (the preset's nodes)."""
    rows = []
    pictures = (("Obama_speaking", 120, "000007"), ("Obama_speaking", 200, "000040"), ("Twitch1", 200, "000016"))
    for clip, index, photo in pictures:
        frames = read_video(media / "videos" / f"{clip}.mp4", index + 1)
        source = str(media / "photos" / f"{photo}.jpg")
        chain = Chain(MorphSwap("swap", {**params, "source_image": source}), marker_params=marker, merger_params=merger)
        output = chain_outputs(chain, frames[index - 20 :], clip)[-1]  # 20 frames first: the smoothing settles
        chain.close()
        pair = np.hstack([frames[index], output])
        rows.append(cv2.resize(pair, (round(pair.shape[1] * 320 / pair.shape[0]), 320), interpolation=cv2.INTER_AREA))
    width = min(r.shape[1] for r in rows)
    picture = np.vstack([r[:, (r.shape[1] - width) // 2 :][:, :width] for r in rows])
    for quality in (90, 85, 80, 75, 70, 60):
        ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) < 300_000:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    print(f"wrote {path} ({len(data) // 1024} KB, {picture.shape[1]}x{picture.shape[0]})")


def _pairs(items: list[str]) -> dict[str, Any]:
    return {name: _parse(value) for name, _, value in (item.partition("=") for item in items)}


def _parse(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


ROOT_MEDIA = str(Path(__file__).resolve().parents[2] / "shared" / "media")
ROOT_MODELS = str(Path(__file__).resolve().parents[2] / "shared" / "models")

if __name__ == "__main__":
    raise SystemExit(main())

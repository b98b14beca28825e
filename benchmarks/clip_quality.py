"""Realism of the swap against DeepFaceLive's trained models, on the clips in media/clips.

Each clip NAME_in.mp4 is swapped with the identity photo CELEB.png and scored beside NAME_dfl.mp4 (the
same frames swapped by DeepFaceLive with its trained model of CELEB), with the same measures:
identity (MobileFaceNet), eye and mouth correlation with the input, shape error, the colour step at the
face edge and flicker (benchmarks/face_measures.py). With --photos, each clip is swapped with those
photos from media/photos instead (no DeepFaceLive column).

    python benchmarks/clip_quality.py [--clips NAME ...] [--photos 000001 ...] [--step 5] [--jobs 2]
        [--set PARAM=VALUE ...] [--graph graphs/video_swap.json] [--sheets DIR] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import face_measures as fm
from benchmarks.chain import Chain, YuNet, facemesh_landmarks, read_video
from benchmarks.swap_quality import ROOT_MEDIA, ROOT_MODELS, Judge, _pairs, chain_outputs, graph_outputs
from nodeswap.nodes.swap_morph import MorphSwap

CLIPS = (
    "Albica_Johns_0",
    "Ava_de_Addario_1",
    "Bryan_Greynolds_0",
    "Dean_Wiesel_0",
    "Emily_Winston_1",
    "Ewon_Spice_0",
    "Kim_Jarrey_2",
    "Liu_Lice_0",
    "Matilda_Bobbie_0",
    "Natasha_Former_0",
    "Rob_Doe_0",
    "Yohanna_Coralson_0",
)
MEASURES = ("closer", "cos_in", "cos_src", "eye_r", "mouth_r", "shape_err", "edge_de", "flicker")


@dataclass
class Score:
    clip: str
    source: str  # the photo's name, or 'DeepFaceLive'
    frames: int
    found: float
    closer: float
    cos_in: float
    cos_src: float
    eye_r: float
    mouth_r: float
    shape_err: float
    edge_de: float
    flicker: float
    swap_ms: float = 0.0


class Reader:
    """The judge's reading of a frame: (embedding, 468 FaceMesh points) of the largest face, or None."""

    def __init__(self) -> None:
        self.judge = Judge()

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        found = self.judge.detect(image)
        if not found:
            return None
        box, kps, _ = found[0]
        points = facemesh_landmarks(image, np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]]), kps)
        return self.judge.embed(image, kps), points


def score(
    reader: Reader,
    clip: str,
    source: str,
    source_emb: np.ndarray,
    inputs: list[np.ndarray],
    outputs: list[np.ndarray],
    readings_in: dict[int, Any],
    step: int,
) -> Score:
    """Every ``step``-th frame of ``outputs`` judged against the input and the source photo's embedding."""
    closer, cos_in, cos_src, shape, edge, flicker = [], [], [], [], [], []
    eyes: tuple[list[float], list[float]] = ([], [])
    mouths: tuple[list[float], list[float]] = ([], [])
    sampled = range(0, len(inputs), step)
    found = 0
    for i in sampled:
        if i not in readings_in:
            readings_in[i] = reader(inputs[i])
        got_in, got_out = readings_in[i], reader(outputs[i]) if i < len(outputs) else None
        found += got_out is not None
        if got_in is None or got_out is None:
            continue
        (emb_in, pts_in), (emb_out, pts_out) = got_in, got_out
        cos_in.append(float(emb_out @ emb_in))
        cos_src.append(float(emb_out @ source_emb))
        closer.append(cos_src[-1] > cos_in[-1])
        for series, measure in ((eyes, fm.eye_ratio), (mouths, fm.mouth_ratio)):
            series[0].append(measure(pts_in))
            series[1].append(measure(pts_out))
        shape.append(fm.shape_error(pts_out, pts_in))
        step_out, step_in = fm.edge_step(outputs[i], pts_out), fm.edge_step(inputs[i], pts_in)
        edge.append(float(np.linalg.norm(step_out - step_in)))
        if i + 1 < min(len(inputs), len(outputs)):
            moved_in = fm.face_change(inputs[i], inputs[i + 1], pts_in)
            if moved_in > 0.5:
                flicker.append(fm.face_change(outputs[i], outputs[i + 1], pts_in) / moved_in)
    return Score(
        clip=clip,
        source=source,
        frames=len(sampled),
        found=found / max(len(sampled), 1),
        closer=float(np.mean(closer)) if closer else 0.0,
        cos_in=float(np.median(cos_in)) if cos_in else 1.0,
        cos_src=float(np.median(cos_src)) if cos_src else 0.0,
        eye_r=fm.correlation(*eyes),
        mouth_r=fm.correlation(*mouths),
        shape_err=float(np.median(shape)) if shape else 1.0,
        edge_de=float(np.median(edge)) if edge else 99.0,
        flicker=float(np.median(flicker)) if flicker else 0.0,
    )


def contact_sheet(columns: list[list[np.ndarray]], path: Path, rows: int = 4, height: int = 180) -> None:
    """A JPEG with ``rows`` frames spread over the clip, one column per sequence (input | ours | ...)."""
    count = min(len(c) for c in columns)
    picks = [round(count * (k + 1) / (rows + 1)) for k in range(rows)]
    lines = []
    for index in picks:
        cells = [c[index] for c in columns]
        cells = [
            cv2.resize(c, (round(c.shape[1] * height / c.shape[0]), height), interpolation=cv2.INTER_AREA)
            for c in cells
        ]
        lines.append(np.hstack(cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(lines), [cv2.IMWRITE_JPEG_QUALITY, 85])


def run_clip(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Swap one clip with each source and score it (and DeepFaceLive's output, when asked); a process's job."""
    media, clip, step = Path(job["media"]), job["clip"], job["step"]
    clips = media / "clips"
    inputs = read_video(clips / f"{clip}_in.mp4", job["frames"])
    reader = Reader()
    readings_in: dict[int, Any] = {}
    scores, columns = [], [inputs]
    for photo in job["photos"]:
        photo_path = Path(photo)
        read = reader(cv2.imread(str(photo_path)))
        if read is None:
            raise SystemExit(f"no face in {photo_path}")
        if job["graph"]:
            with tempfile.TemporaryDirectory() as workdir:
                sets = [f"swapper.{item}" for item in job["set"]]
                outputs, ms = graph_outputs(
                    Path(job["graph"]), clips / f"{clip}_in.mp4", photo_path, sets, Path(workdir)
                )
        else:
            swap = MorphSwap("swap", {**_pairs(job["set"]), "source_image": str(photo_path), "device": "cpu"})
            chain = Chain(swap, marker_params=_pairs(job["marker"]))
            outputs = chain_outputs(chain, inputs, clip)
            ms = {stage: float(np.median(v)) for stage, v in chain.times.items()}
            chain.close()
        result = score(reader, clip, photo_path.stem, read[0], inputs, outputs, readings_in, step)
        result.swap_ms = ms.get("swap", 0.0)
        scores.append(result)
        columns.append(outputs)
        if job["dfl"]:
            dfl = read_video(clips / f"{clip}_dfl.mp4", job["frames"])
            scores.append(score(reader, clip, "DeepFaceLive", read[0], inputs, dfl, readings_in, step))
            columns.append(dfl)
    if job["sheets"]:
        suffix = "" if job["dfl"] else "_hard_photos"
        contact_sheet(columns, Path(job["sheets"]) / f"{clip}{suffix}.jpg")
    for s in scores:
        print(_line(s), flush=True)
    return [asdict(s) for s in scores]


def _line(s: Score) -> str:
    values = " ".join(f"{m} {getattr(s, m):.3f}" for m in MEASURES)
    return f"{s.clip} {s.source}: found {s.found:.0%} {values} swap_ms {s.swap_ms:.1f}"


def _cells(closer: str, values: dict[str, float]) -> str:
    cells = (
        [closer]
        + [f"{values[m]:.3f}" for m in MEASURES[1:-2]]
        + [f"{values['edge_de']:.2f}", f"{values['flicker']:.2f}"]
    )
    return " | ".join(cells)


def medians(scores: list[Score]) -> dict[str, float]:
    return {m: float(np.median([getattr(s, m) for s in scores])) for m in MEASURES}


def table(scores: list[Score]) -> str:
    """Markdown: one row per clip and source, then the medians of ours and of DeepFaceLive's."""
    rows = [
        "| clip | source | closer | cos(out,in) | cos(out,src) | eye_r | mouth_r | shape_err | edge_de | flicker |",
        "|" + "---|" * 10,
    ]
    rows += [f"| {s.clip} | {s.source} | {_cells(f'{s.closer:.0%}', asdict(s))} |" for s in scores]
    groups = {"ours": [s for s in scores if s.source != "DeepFaceLive"]}
    groups["DeepFaceLive"] = [s for s in scores if s.source == "DeepFaceLive"]
    for name, group in groups.items():
        if group:
            least = f"{min(s.closer for s in group):.0%} (least)"
            rows.append(f"| **median** | **{name}** | {_cells(least, medians(group))} |")
    return "\n".join(rows) + "\n"


PICTURE = (("Yohanna_Coralson_0", 120), ("Bryan_Greynolds_0", 200), ("Albica_Johns_0", 100))


def picture(media: Path, path: Path, params: list[str], likeness: tuple[float, ...] = ()) -> None:
    """A JPEG (< 300 KB) for the README, one frame of three clips a row: input | ours | DeepFaceLive, or with
    ``likeness`` input | ours at each of those likeness values (the slider's effect)."""
    rows = []
    for clip, index in PICTURE[: 2 if likeness else None]:
        clips = media / "clips"
        frames = read_video(clips / f"{clip}_in.mp4", index + 1)
        photo = clips / f"{clip.rsplit('_', 1)[0]}.png"
        cells = [frames[index]]
        for value in likeness or (None,):
            extra = {} if value is None else {"likeness": value}
            settings = {**_pairs(params), **extra, "source_image": str(photo), "device": "cpu"}
            chain = Chain(MorphSwap("swap", settings))
            cells.append(chain_outputs(chain, frames[index - 20 :], clip)[-1])  # 20 frames first: smoothing settles
            chain.close()
        if not likeness:
            cells.append(read_video(clips / f"{clip}_dfl.mp4", index + 1)[index])
        h, w = frames[index].shape[:2]
        box = YuNet()(frames[index])[0][0]  # a square around the face, as tall as the frame
        left = int(np.clip((box[0] + box[2]) / 2 - h / 2, 0, max(w - h, 0)))
        rows.append(
            np.hstack([cv2.resize(x[:, left : left + h], (260, 260), interpolation=cv2.INTER_AREA) for x in cells])
        )
    image = np.vstack(rows)
    for quality in (90, 85, 80, 75, 70):
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) < 300_000:
            break
    path.write_bytes(data.tobytes())
    print(f"wrote {path} ({len(data) // 1024} KB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    parser.add_argument("--photos", nargs="+", default=[], help="media/photos names instead of CELEB.png")
    parser.add_argument("--step", type=int, default=5, help="judge every Nth frame (all frames are swapped)")
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames (0 = all)")
    parser.add_argument("--jobs", type=int, default=2, help="clips swapped at once (processes)")
    parser.add_argument("--set", nargs="*", default=[], metavar="PARAM=VALUE", help="swap.morph params")
    parser.add_argument("--marker", nargs="*", default=[], metavar="PARAM=VALUE", help="mark.face params")
    parser.add_argument("--graph", type=Path, help="run this preset with run.py instead of the in-process chain")
    parser.add_argument("--sheets", type=Path, help="write a contact sheet per clip here")
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    parser.add_argument("--json", type=Path, help="write the scores as JSON here")
    parser.add_argument("--picture", type=Path, help="only write the README's input | ours | DeepFaceLive JPEG")
    parser.add_argument("--likeness-strip", type=Path, help="only write input | likeness 0, 0.5, 1 (a JPEG)")
    args = parser.parse_args(argv)
    media = os.environ.setdefault("NODESWAP_MEDIA", ROOT_MEDIA)
    os.environ.setdefault("NODESWAP_MODELS", ROOT_MODELS)
    if args.picture or args.likeness_strip:
        picture(Path(media), args.picture or args.likeness_strip, args.set, () if args.picture else (0.0, 0.5, 1.0))
        return 0
    jobs = []
    for clip in args.clips:
        celeb = clip.rsplit("_", 1)[0]
        photos = [f"{media}/photos/{p}.jpg" for p in args.photos] or [f"{media}/clips/{celeb}.png"]
        jobs.append(
            {
                "media": media,
                "clip": clip,
                "step": args.step,
                "frames": args.frames,
                "photos": photos,
                "dfl": not args.photos,
                "graph": str(args.graph) if args.graph else "",
                "set": args.set,
                "marker": args.marker,
                "sheets": str(args.sheets) if args.sheets else "",
            }
        )
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        found = [Score(**row) for rows in pool.map(run_clip, jobs) for row in rows]
    text = table(found)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in found], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Planning a batch: the inputs (files, folders, globs), the graph's file source and file sinks, and one
``Job`` per input: the graph with the source's path set to the input and each file sink's path set to an
output in the batch's folder (written under a hidden name first, see ``writing_path``)."""

from __future__ import annotations

import copy
import glob
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from .errors import UserError
from .graph import Graph
from .params import IMAGES, VIDEOS

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # probing a corrupt input: the job says why, not FFmpeg
VIDEO_FILES = (*VIDEOS, ".m4v")
IMAGE_FILES = (*IMAGES, ".tif", ".tiff")
DEFAULT_NAME = "{stem}"
NAME_FIELDS = ("stem", "name", "parent", "sink")
GPU_DEVICES = ("cuda", "tensorrt")


@dataclass(frozen=True)
class Targets:
    """What a batch sets in the graph: its file source, its file sinks (node id -> the output's extension,
    "" for a folder) and the nodes that run on a GPU (node id -> device)."""

    source: str
    sinks: dict[str, str]
    gpu_nodes: dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    """One input through the graph. Small and picklable: it travels to a worker process or a Ray task."""

    input: str  # absolute path; the journal's key
    outputs: dict[str, str]  # sink node id -> final output path
    graph_path: str
    graph_text: str
    sets: list[str]  # the user's --set, then the job's paths
    fingerprint: str  # the graph with the user's --set, without the job's paths
    expected: int = 0  # frames the input holds (0: unknown)
    work: int = 0  # frames x pixels: the biggest jobs start first, so the last one to end is a small one
    attempt: int = 1
    verify_models: bool = False  # check each model file's sha256 before the run (a Ray worker's own copy)

    @property
    def name(self) -> str:
        return Path(self.input).name

    @property
    def writing(self) -> dict[str, str]:
        return {sink: str(writing_path(Path(path))) for sink, path in self.outputs.items()}


def writing_path(final: Path) -> Path:
    """Where a job writes ``final`` until it is complete: a hidden name in the same folder, same extension."""
    return final.with_name(f".{final.stem}.batch{final.suffix}")


def partial_path(final: Path) -> Path:
    """Where an interrupted or failed job leaves what it wrote: ``NAME.partial.EXT`` (a folder: ``NAME.partial``)."""
    return final.with_name(f"{final.stem}.partial{final.suffix}")


def sink_kept_path(writing: Path) -> Path:
    """Where a file sink that failed keeps its frames (nodes/sinks.py: ``STEM.partial.EXT`` beside it)."""
    return writing.with_name(f"{writing.stem}.partial{writing.suffix}")


# -- the graph ----------------------------------------------------------------
def find_targets(graph: Graph) -> Targets:
    """The graph's one file source and its file sinks; UserError naming what is wrong."""
    sources: list[str] = []
    cameras: list[str] = []
    sinks: dict[str, str] = {}
    gpu: dict[str, str] = {}
    for node_id, entry in graph.nodes.items():
        cls = graph.node_class(node_id)
        kinds = {p.name: p for p in cls.params}
        device = str(graph.param_values(node_id).get("device", ""))
        if kinds.get("device") and device.partition(":")[0] in GPU_DEVICES and not entry.bypass:
            gpu[node_id] = device
        if cls.category == "source":
            path = kinds.get("path")
            (sources if path is not None and path.kind == "path" else cameras).append(node_id)
        elif cls.category == "sink" and not entry.bypass:
            for spec in cls.params:
                if spec.kind == "path" and not spec.must_exist:
                    current = Path(str(graph.param_values(node_id).get(spec.name) or ""))
                    sinks[node_id] = current.suffix.lower() or (spec.extensions[0] if spec.extensions else "")
    if cameras:
        raise UserError(f"the graph reads a camera (node '{cameras[0]}'): a batch needs a file source (source.media)")
    if len(sources) != 1:
        named = ", ".join(f"'{s}'" for s in sources)
        found = f"{len(sources)} file sources ({named})" if sources else "no file source"
        raise UserError(f"the graph has {found}: a batch sets the path of exactly one source.media node per input")
    if not sinks:
        raise UserError("the graph has no file sink (sink.video, sink.images, sink.facedata): a batch writes files")
    return Targets(sources[0], sinks, gpu)


def fingerprint(data: dict[str, Any], targets: Targets) -> str:
    """A short hash of the graph JSON (with the user's --set) without what changes per job: the source's and
    sinks' paths and the editor's layout. A journal entry of another fingerprint is not skipped."""
    data = copy.deepcopy(data)
    data.pop("layout", None)
    for node_id in (targets.source, *targets.sinks):
        data["nodes"][node_id].get("params", {}).pop("path", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- the inputs ---------------------------------------------------------------
def holds_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_FILES and p.is_file() for p in folder.iterdir())


def _folder_inputs(folder: Path, recursive: bool, skip: Path) -> list[Path]:
    """A folder of images (and no video) is one input; otherwise its videos and its subfolders of images
    are, at every depth with ``recursive``. ``skip``, the batch's own output folder, is never looked in."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name.lower())
    except OSError as exc:
        raise UserError(f"--input {folder}: cannot list the folder: {exc.strerror or exc}") from None
    videos = [p for p in entries if p.is_file() and p.suffix.lower() in VIDEO_FILES]
    if not videos and holds_images(folder):
        return [folder]
    found = list(videos)
    for sub in (p for p in entries if p.is_dir() and not p.name.startswith(".")):
        if sub.resolve() == skip:
            continue
        if recursive:
            found += _folder_inputs(sub, True, skip)
        elif holds_images(sub) and not any(p.suffix.lower() in VIDEO_FILES for p in sub.iterdir()):
            found.append(sub)
    return found


def find_inputs(patterns: list[str], recursive: bool, out_dir: Path) -> list[Path]:
    """Every input named by ``patterns`` (files, folders, globs), in order, each once."""
    found: dict[str, Path] = {}
    skip = out_dir.expanduser().resolve()
    for pattern in patterns:
        given = Path(pattern).expanduser()
        if given.exists():
            matches = [given]
        elif glob.has_magic(pattern):
            matches = [Path(p) for p in sorted(glob.glob(os.path.expanduser(pattern), recursive=recursive))]
            if not matches:
                raise UserError(f"--input {pattern}: matches no file")
        else:
            raise UserError(f"--input {pattern}: no such file or folder")
        for match in matches:
            paths = _folder_inputs(match, recursive, skip) if match.is_dir() else [match]
            if match.is_dir() and not paths:
                raise UserError(f"--input {match}: the folder holds no video and no image")
            for path in paths:
                found.setdefault(os.path.abspath(path), Path(os.path.abspath(path)))
    if not found:
        raise UserError("no input: give files, folders or globs with --input")
    return list(found.values())


def probe(path: Path, start: int = 0, end: int = 0) -> tuple[int, int]:
    """(frames the source will read from ``path`` between ``start`` and ``end``, pixels of a frame); 0 for
    what is unknown or unreadable."""
    pixels = 0
    if path.is_dir() or path.suffix.lower() in IMAGE_FILES:
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_FILES) if path.is_dir() else [path]
        count = len(images)
        header = cv2.imread(str(images[0]), cv2.IMREAD_REDUCED_GRAYSCALE_8) if images else None
        pixels = 64 * header.size if header is not None else 0
    else:
        capture = cv2.VideoCapture(str(path))
        try:
            count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
            pixels = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) * capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            capture.release()
    stop = min(end, count) if end > 0 else count
    return max(0, stop - start), pixels


# -- the jobs -----------------------------------------------------------------
def check_name(template: str) -> None:
    try:
        template.format(**dict.fromkeys(NAME_FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as exc:
        fields = ", ".join("{" + f + "}" for f in NAME_FIELDS)
        raise UserError(f"--name {template}: {exc} is not a field (use {fields})") from None


def output_paths(source: Path, out_dir: Path, targets: Targets, template: str) -> dict[str, str]:
    """Sink node id -> ``out_dir/<template><the sink's extension>`` for one input."""
    stem = source.name if source.is_dir() else source.stem
    fields = {"stem": stem, "name": source.name, "parent": source.parent.name}
    return {sink: str(out_dir / f"{template.format(**fields, sink=sink)}{ext}") for sink, ext in targets.sinks.items()}


def plan_jobs(
    graph_path: str,
    text: str,
    data: dict[str, Any],
    user_sets: list[str],
    inputs: list[Path],
    out_dir: Path,
    targets: Targets,
    template: str = DEFAULT_NAME,
) -> list[Job]:
    """One Job per input; UserError when two outputs would be the same file."""
    check_name(template)
    source_params = data["nodes"][targets.source].get("params", {})
    start, end = int(source_params.get("start", 0) or 0), int(source_params.get("end", 0) or 0)
    digest = fingerprint(data, targets)
    jobs: list[Job] = []
    owners: dict[str, tuple[str, str]] = {}
    sources = {os.path.realpath(source): source for source in inputs}
    for source in inputs:
        outputs = output_paths(source, out_dir.absolute(), targets, template)
        for sink, path in outputs.items():
            if os.path.realpath(path) in sources:
                raise UserError(f"node '{sink}' would write {path} over an input: choose another --output or --name")
            other = owners.setdefault(path, (str(source), sink))
            if other != (str(source), sink):
                hint = "{sink}" if other[0] == str(source) else "{parent}"
                raise UserError(
                    f"{other[0]} (node '{other[1]}') and {source} (node '{sink}') would both write {path}: "
                    f"give --name with {hint}, e.g. --name '{hint}_{{stem}}'"
                )
        sets = [*user_sets, f"{targets.source}.path={json.dumps(str(source))}"]
        sets += [f"{sink}.path={json.dumps(str(writing_path(Path(p))))}" for sink, p in outputs.items()]
        frames, pixels = probe(source, start, end)
        jobs.append(Job(str(source), outputs, graph_path, text, sets, digest, frames, work=frames * pixels))
    return jobs

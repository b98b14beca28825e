"""A live run never replaces a finished output and ends with its input (issue 24).

A live run is for trying tweaks: it drops frames and, from a file, rewinds at the end (DeepFaceLive's auto
rewind). Into a file sink that would replace a finished render with a growing, frame-dropping loop. So the
copy of the graph a live run uses writes each existing output under a new name, and its media sources stop at
their end unless the user set ``loop``. The editor and ``run --live`` both use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import Graph

FILE_SINKS = ("sink.video", "sink.images", "sink.facedata", "sink.faceset")


def free_name(path: Path) -> Path:
    """``name-live.ext``, or ``name-live2.ext``, ... : the first that does not exist beside ``path``."""
    for number in range(1, 10_000):
        candidate = path.with_name(f"{path.stem}-live{number if number > 1 else ''}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"no free name beside {path}")


def prepare_live(graph: Graph) -> list[str]:
    """Change ``graph`` (a copy to run live) so that no existing output is overwritten and file inputs end;
    return what was changed, in words, for the status bar or the terminal."""
    notes: list[str] = []
    sinks = [n for n in graph.nodes if graph.nodes[n].type in FILE_SINKS and not graph.nodes[n].bypass]
    for node_id in sinks:
        value = str(graph.param_values(node_id).get("path") or "").strip()
        if not value:
            continue
        path = Path(value).expanduser()
        if path.exists():
            new = free_name(path)
            graph.set_param(node_id, "path", str(new))
            notes.append(f"'{node_id}' writes {new.name} ({path.name} exists: a live run does not replace it)")
    if not sinks:
        return notes
    for node_id, entry in graph.nodes.items():
        if entry.type != "source.media":
            continue
        values = graph.param_values(node_id)
        if values.get("auto_rewind") and not values.get("loop"):
            graph.set_param(node_id, "auto_rewind", False)
            notes.append(f"'{node_id}' plays once (set its loop to play it again)")
    return notes

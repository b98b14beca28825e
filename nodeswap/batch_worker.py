"""One batch job in the process that runs it (a local worker process or a Ray task): the graph loaded as
``nodeswap run`` loads it, the scheduler run offline, the outputs checked and put under their final names.
The result is a small journal record, never frames."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

from .batch_jobs import Job, partial_path, sink_kept_path
from .batch_journal import output_frames, record, worker_name
from .cli import _load_for_run, _source_paths
from .errors import ModelMissingError, UserError
from .events import NodeWarned
from .graph import Graph
from .scheduler import Scheduler

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.5  # seconds between progress reports


class Control(Protocol):
    """How a running job hears a stop and reports its frames (a local queue, or a Ray actor)."""

    def stopping(self) -> bool: ...

    def progress(self, job: Job, frames: int) -> None: ...


class RetryableJobError(Exception):
    """A job that failed for a reason another try may not meet (a sink's write, a crash): Ray retries it.
    ``record`` is the journal record of the try."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.record = entry
        super().__init__(entry.get("error", "failed"))

    def __reduce__(self) -> tuple[Any, ...]:
        return (RetryableJobError, (self.record,))


def check_models(graph: Graph, verify: bool) -> None:
    """Every model the graph's nodes load is on this machine, and with ``verify`` has the sha256 of the
    manifest (or of its first download); one ModelMissingError naming each one that is not (the list
    ``validate`` and ``run`` give)."""
    from .validate import model_issues

    issues = model_issues(graph, verify=verify)
    if issues:
        error = ModelMissingError("", "\n".join(str(issue) for issue in issues))
        error.node_id = issues[0].where.split("'")[1]
        raise error


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _promote(writing: Path, final: Path) -> None:
    """``writing`` under its final name (a folder replaces an earlier one)."""
    if final.is_dir() and writing.is_dir():
        old = final.with_name(f".{final.name}.old")
        _remove(old)
        os.replace(final, old)
        os.replace(writing, final)
        _remove(old)
    else:
        os.replace(writing, final)


def _keep_partial(job: Job) -> dict[str, str]:
    """After a stop or a failure: what the sinks wrote, as NAME.partial.EXT beside each output."""
    kept = {}
    for sink, final in job.outputs.items():
        writing = Path(job.writing[sink])
        found = next((p for p in (sink_kept_path(writing), writing) if p.exists() and output_frames(p) > 0), None)
        if found is not None:
            target = partial_path(Path(final))
            _remove(target)
            os.replace(found, target)
            kept[sink] = str(target)
        _remove(writing)
        _remove(sink_kept_path(writing))
    return kept


def _drive(scheduler: Scheduler, job: Job, control: Control) -> bool:
    """Run to the end; True when stopped first (the sinks finalise either way)."""
    reported = time.monotonic()
    try:
        scheduler.start()
        while not scheduler.wait(0.1):
            if control.stopping():
                return True
            if time.monotonic() - reported >= PROGRESS_EVERY:
                control.progress(job, scheduler.graph_stats.frames)
                reported = time.monotonic()
        return False
    except KeyboardInterrupt:  # a cancelled Ray task
        return True
    finally:
        scheduler.stop()


def _notes(scheduler: Scheduler, stats: dict[str, Any]) -> list[str]:
    """The nodes' warnings and errors during the run, each once."""
    notes: dict[str, None] = {}
    while not scheduler.events.empty():
        event = scheduler.events.get_nowait()
        if isinstance(event, NodeWarned):
            notes[f"node '{event.node_id}': {event.message}"] = None
    for node_id, node in stats["nodes"].items():
        if node["errors"]:
            notes[f"node '{node_id}' had {node['errors']} errors, last: {node['last_error']}"] = None
    return list(notes)[:10]


def run_job(job: Job, control: Control) -> dict[str, Any]:
    """Run one job; its journal record (status done, failed or interrupted). A failed record says whether
    another try may do better (``retryable``: not for an unreadable input or a graph problem)."""
    if control.stopping():
        return record(job, "cancelled")  # a stop came before the job started
    began = time.perf_counter()
    info: dict[str, Any] = {"worker": worker_name(), "frames": 0, "error": "", "warnings": []}
    for sink, writing in job.writing.items():
        _remove(Path(writing))  # what a killed run left
        _remove(sink_kept_path(Path(writing)))
        Path(job.outputs[sink]).parent.mkdir(parents=True, exist_ok=True)
    scheduler: Scheduler | None = None
    try:
        graph = _load_for_run(job.graph_path, job.sets, text=job.graph_text)
        check_models(graph, job.verify_models)
        scheduler = Scheduler(graph, live=False, processes=True)
        scheduler.stop_on_sink_error = True
        stopped = _drive(scheduler, job, control)
        stats = scheduler.stats()
        info.update(frames=stats["frames"], warnings=_notes(scheduler, stats))
        if scheduler.failures:
            error = "; ".join(dict.fromkeys(scheduler.failures))
            return _failed(job, info, began, error, retryable=True)
        if stopped:
            info["partial"] = _keep_partial(job)
            return record(job, "interrupted", seconds=_since(began), **info)
        if stats["frames"] == 0:
            sources = ", ".join(_source_paths(graph)) or "the source"
            raise UserError(f"no frame was read from {sources}: not a video or image OpenCV can read?")
        written = {sink: output_frames(Path(path)) for sink, path in job.writing.items()}
        short = {s: n for s, n in written.items() if n < max(1, stats["frames"] - 1)}  # mkv counts may round
        if short:
            lost = ", ".join(f"{job.outputs[s]} holds {n} of {stats['frames']} frames" for s, n in short.items())
            return _failed(job, info, began, f"incomplete output: {lost}", retryable=True)
        for sink, writing in job.writing.items():
            _promote(Path(writing), Path(job.outputs[sink]))
            _remove(partial_path(Path(job.outputs[sink])))  # what an earlier, stopped try left
        return record(job, "done", seconds=_since(began), output_frames=written, **info)
    except UserError as exc:
        return _failed(job, info, began, str(exc), retryable=False)
    except Exception as exc:
        log.debug("job %s failed", job.input, exc_info=True)
        error = f"internal error (a bug in nodeswap): {type(exc).__name__}: {exc}"
        return _failed(job, info, began, error, retryable=True, bug=True)
    finally:
        if scheduler is not None and scheduler.instances:
            scheduler.stop()


def _since(began: float) -> float:
    return round(time.perf_counter() - began, 2)


def _failed(
    job: Job, info: dict[str, Any], began: float, error: str, retryable: bool, bug: bool = False
) -> dict[str, Any]:
    info = {**info, "error": error, "partial": _keep_partial(job), **({"bug": True} if bug else {})}
    return record(job, "failed", seconds=_since(began), retryable=retryable, **info)

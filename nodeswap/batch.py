"""``nodeswap batch``: one saved graph over many inputs, in worker processes here (nodeswap/batch_local.py)
or as Ray tasks (nodeswap/cluster/ray_runner.py, imported only with ``--ray``), with a journal that makes a second
run skip what is done and try again what failed (nodeswap/batch_journal.py).

Ctrl-C and SIGTERM only set a flag here: the loop then asks every running job to stop (each finalises its
outputs, kept as NAME.partial.EXT), writes their records, and exits 130 / 143. A second Ctrl-C ends the
workers at once; their outputs stay under hidden names.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import logging
import os
import signal
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from .batch_jobs import DEFAULT_NAME, Job, Targets, find_inputs, find_targets, plan_jobs
from .batch_journal import Journal, record, why_run
from .errors import UserError

log = logging.getLogger("nodeswap")
CORES_PER_JOB = 1.2  # cores one pipelined video_swap job keeps busy (benchmarks/batch_speed.py: 1.0-1.2)
STOP_WAIT = 120.0  # seconds a stopped job may take to finalise its outputs before its worker is ended
LOST_TRIES = 3  # tries of a job lost with its node or worker process run again, whatever --retries says


def default_jobs(cores: int | None = None) -> int:
    """Jobs at once on this machine: one per ``CORES_PER_JOB`` cores, at least one."""
    return max(1, round((cores or os.cpu_count() or 1) / CORES_PER_JOB))


def add_parser(sub: Any) -> None:
    batch = sub.add_parser("batch", help="run a graph over many inputs (worker processes here, or a Ray cluster)")
    batch.add_argument("graph")
    batch.add_argument(
        "--input",
        "-i",
        action="extend",
        nargs="+",
        required=True,
        metavar="PATH",
        help=("videos, image folders, folders of them, or globs ('clips/*.mp4'); each input is one job"),
    )
    batch.add_argument("--output", "-o", required=True, metavar="DIR", help="folder of the outputs and batch.jsonl")
    batch.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE", help="override a param")
    batch.add_argument(
        "--name",
        default=DEFAULT_NAME,
        metavar="TEMPLATE",
        help=(
            "output name without extension: {stem} (default), {name}, {parent} (the input's folder), {sink} (node id)"
        ),
    )
    batch.add_argument("--recursive", "-r", action="store_true", help="look in subfolders of folder inputs too")
    batch.add_argument(
        "--jobs", "-j", type=int, metavar="N", help=f"jobs at once (default here: {default_jobs()}; Ray: all)"
    )
    batch.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help=(
            "run each job as a Ray task: on the cluster at ADDRESS ('auto': $RAY_ADDRESS), or a local Ray without one"
        ),
    )
    batch.add_argument("--retries", type=int, default=0, metavar="N", help="try a failed job up to N more times")
    batch.add_argument("--cpus-per-job", type=float, default=1.0, metavar="N", help="Ray: CPUs a task asks (default 1)")
    batch.add_argument(
        "--gpus-per-job",
        type=float,
        metavar="N",
        help="Ray: GPUs a task asks (default 1 when a node is on CUDA, else 0)",
    )
    batch.add_argument("--stats", metavar="FILE", help="write the batch's statistics and every job's record as JSON")


class Runner(Protocol):
    """A backend: LocalRunner (nodeswap/batch_local.py) or RayRunner (nodeswap/cluster/ray_runner.py)."""

    retries_itself: bool

    @property
    def capacity(self) -> int: ...

    def submit(self, job: Job) -> None: ...

    def events(self, timeout: float) -> list[tuple[str, Any, Any]]: ...

    def stop(self) -> None: ...

    def kill(self) -> None: ...

    def close(self) -> None: ...


class Signals:
    """Ctrl-C and SIGTERM as a list of the signals received, in place of an exception at a random line."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._heard)
        return self

    def _heard(self, signum: int, frame: Any) -> None:
        self.received.append(signum)

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def _runner(args: argparse.Namespace, targets: Targets, count: int) -> Runner:
    if args.ray is None:
        from .batch_local import LocalRunner

        level = logging.WARNING - 10 * min(args.verbose, 2) if args.verbose else logging.ERROR
        return LocalRunner(min(count, args.jobs or default_jobs()), level)
    try:
        module = importlib.import_module("nodeswap.cluster.ray_runner")
    except ImportError as exc:
        raise UserError(f'--ray needs Ray: pip install "nodeswap[ray]" ({exc})') from None
    gpus = args.gpus_per_job if args.gpus_per_job is not None else (1.0 if targets.gpu_nodes else 0.0)
    out = Path(args.output).expanduser()
    runner: Runner = module.RayRunner(args.ray, args.retries, targets, args.jobs, args.cpus_per_job, gpus, out)
    return runner


def _drive(
    runner: Runner,
    jobs: list[Job],
    journal: Journal,
    view: Any,
    retries: int,
    signals: Signals,
    results: dict[str, dict[str, Any]],
) -> None:
    """Run ``jobs``; ``results`` gets the final record of each that started (a failed try is journaled and
    run again). A job lost with its node runs again up to LOST_TRIES times. The cluster lost (its head):
    the started jobs are journaled as interrupted and the error goes up."""
    waiting, by_key = deque(sorted(jobs, key=lambda job: -job.work)), {job.input: job for job in jobs}
    submitted: set[str] = set()
    started: set[str] = set()
    lost: dict[str, int] = {}
    stopped_at: float | None = None
    quiet = False
    while True:
        if signals.received and stopped_at is None:
            stopped_at = time.monotonic()
            runner.stop()
            view.note("stopping: the running jobs finalise their outputs (Ctrl-C again to end them now)")
        if stopped_at is not None and (len(signals.received) > 1 or time.monotonic() - stopped_at > STOP_WAIT):
            runner.kill()
            for key in started:
                entry = record(by_key[key], "interrupted", error="ended before it finalised its outputs")
                journal.append(entry)
                results[key] = entry
            return
        while stopped_at is None and waiting and len(submitted) < runner.capacity:
            job = waiting.popleft()
            runner.submit(job)
            submitted.add(job.input)
        if not submitted or (stopped_at is not None and not started and quiet):
            return
        try:
            events = runner.events(0.2)
        except UserError as exc:  # the cluster lost
            for key in started:
                entry = record(by_key[key], "interrupted", error="lost with the Ray cluster's head node")
                journal.append(entry)
                results[key] = entry
            view.note(f"error: {exc}")
            raise
        quiet = not events
        for kind, key, detail in events:
            job = by_key[key]
            if kind == "started":
                job.attempt = detail[0]
                started.add(key)
                journal.append(record(job, "started", worker=detail[1]))
                view.started(job)
            elif kind == "progress":
                view.progress(key, detail)
            elif kind in ("result", "lost", "failed"):
                submitted.discard(key)
                started.discard(key)
                entry = detail if kind == "result" else record(job, "failed", error=detail, retryable=True)
                if entry["status"] == "cancelled":
                    continue
                if kind == "lost":
                    lost[key] = lost.get(key, 0) + 1
                    entry["lost"] = True
                journal.append(entry)
                again = entry["status"] == "failed" and entry.get("retryable") and not runner.retries_itself
                again = again and job.attempt <= retries
                again = (again or (kind == "lost" and lost[key] < LOST_TRIES)) and stopped_at is None
                view.finished(entry, retry=bool(again))
                if again:
                    job.attempt += 1
                    waiting.appendleft(job)
                else:
                    results[key] = entry


def cmd_batch(args: argparse.Namespace) -> int:
    """Exit 0 when every job is done or skipped; 2 when a job failed (1 when one failed from a bug in
    nodeswap); 3 when the Ray cluster's head was lost mid-run (run again to finish); 130 / 143 after Ctrl-C /
    SIGTERM, with the running jobs' outputs finalised."""
    from .batch_report import BatchView, summary
    from .batch_worker import check_models
    from .cli import _check_writable, _load_for_run, _read_graph, _write_json, apply_sets
    from .graph_io import build, parse_text
    from .node import unwritable

    began = time.perf_counter()
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    if args.retries < 0:
        raise UserError("--retries must be 0 or more")
    if args.ray is None and (args.gpus_per_job is not None or args.cpus_per_job != 1.0):
        raise UserError("--cpus-per-job and --gpus-per-job are for --ray (here, --jobs says how many run at once)")
    if args.cpus_per_job < 0 or (args.gpus_per_job or 0) < 0:
        raise UserError("--cpus-per-job and --gpus-per-job must be 0 or more")
    if args.stats:
        _check_writable(args.stats, "--stats")
    out_dir = Path(args.output).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--output {out_dir} is a file: give a folder")
    problem = unwritable(out_dir)
    if problem:
        raise UserError(f"--output: {problem}")
    text = _read_graph(args.graph)
    data = parse_text(text, args.graph)
    apply_sets(data, args.set)
    targets = find_targets(build(copy.deepcopy(data), check_files=False)[0])
    if any(item.partition("=")[0].strip() == f"{targets.source}.path" for item in args.set):
        raise UserError(f"--set {targets.source}.path: the batch sets the source's path to each --input")
    jobs = plan_jobs(
        args.graph, text, data, args.set, find_inputs(args.input, args.recursive, out_dir), out_dir, targets, args.name
    )
    first = _load_for_run(args.graph, jobs[0].sets, text=text)  # every problem of the graph, before any job
    if args.ray is None:
        check_models(first, verify=False)  # on Ray the workers' models count: each task checks its own
    journal = Journal(out_dir)
    last = journal.read()
    entries: dict[str, dict[str, Any]] = {}
    to_run = []
    for job in jobs:
        why = why_run(job, last.get(job.input))
        if why is None:
            entries[job.input] = {**last[job.input], "status": "skipped", "seconds": None}
        else:
            log.info("%s: runs (%s)", job.input, why)
            to_run.append(job)
    signals = Signals()
    results: dict[str, dict[str, Any]] = {}
    backend = "local" if args.ray is None else "ray"
    cluster_lost = ""
    if to_run:
        runner = _runner(args, targets, len(to_run))
        view = BatchView(to_run, len(jobs) - len(to_run))
        try:
            with signals:
                _drive(runner, to_run, journal, view, args.retries, signals, results)
        except UserError as exc:  # the Ray cluster lost mid-run (ClusterLostError, exit code 3)
            if getattr(exc, "exit_code", 2) != 3:
                raise
            cluster_lost = str(exc)
        finally:
            view.close()
            runner.close()
    for job in to_run:
        entries[job.input] = results.get(job.input) or {"input": job.input, "status": "not run", "outputs": job.outputs}
    ordered = [entries[job.input] for job in jobs]
    seconds = time.perf_counter() - began
    print(summary(ordered, seconds, journal.path))
    if args.stats:
        _write_json(args.stats, _stats(ordered, seconds, backend))
    failed = [e for e in ordered if e["status"] == "failed"]
    if failed:
        names = ", ".join(Path(e["input"]).name for e in failed)
        print(
            f"error: {len(failed)} of {len(ordered)} jobs failed: {names} (reasons above and in {journal.path})",
            file=sys.stderr,
        )
    if cluster_lost:
        print(f"error: {cluster_lost}", file=sys.stderr)
        return 3
    if signals.received:
        return 143 if signal.SIGTERM in signals.received else 130
    if any(e.get("bug") for e in failed):
        return 1
    return 2 if failed else 0


def _stats(entries: list[dict[str, Any]], seconds: float, backend: str) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    frames = sum(int(e.get("frames") or 0) for e in entries if e["status"] == "done")
    nodes: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.get("node"):
            node = nodes.setdefault(entry["node"], {"jobs": 0, "frames": 0, "seconds": 0.0})
            node["jobs"] += 1
            node["frames"] += int(entry.get("frames") or 0)
            node["seconds"] = round(node["seconds"] + float(entry.get("seconds") or 0.0), 3)
    return {
        "backend": backend,
        "seconds": round(seconds, 3),
        "frames": frames,
        "fps": round(frames / seconds, 2) if seconds > 0 else 0.0,
        "counts": counts,
        "nodes": nodes,  # Ray: the jobs each node finished (a job's "node", "seconds", "queued" are in "jobs")
        "jobs": json.loads(json.dumps(entries)),
    }

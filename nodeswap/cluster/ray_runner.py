"""The Ray backend of ``nodeswap batch --ray``: one Ray task per job.

A task asks for one CPU, and one GPU when a node of the graph runs on CUDA or TensorRT (``--cpus-per-job``,
``--gpus-per-job``: a fraction shares a GPU between tasks). Ray shows a task its GPU as device 0, so those
nodes are set to ``cuda:0`` (``tensorrt:0``). Inputs and outputs are paths that every
worker reaches (a shared filesystem); a task loads the graph, resolves its models on its own machine (each
file checked against its sha256 once per worker process), runs the job and returns the journal record,
never frames. A small actor carries the stop flag and each running job's frame count to the driver.
Failed tries that another try may fix are Ray's task retries (``--retries``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import ray

from nodeswap.batch_jobs import Job, Targets
from nodeswap.batch_journal import worker_name
from nodeswap.batch_worker import RetryableJobError, run_job
from nodeswap.errors import UserError

CHECK_STOP_EVERY = 1.0  # seconds between a task's looks at the stop flag


class BatchControl:
    """The actor: the stop flag, each job's tries, and the running jobs' progress."""

    def __init__(self) -> None:
        self._stop = False
        self._tries: dict[str, int] = {}
        self._running: dict[str, tuple[int, str, int]] = {}  # input -> (attempt, worker, frames)

    def stop(self) -> None:
        self._stop = True

    def stopping(self) -> bool:
        return self._stop

    def started(self, key: str, worker: str) -> int:
        self._tries[key] = self._tries.get(key, 0) + 1
        self._running[key] = (self._tries[key], worker, 0)
        return self._tries[key]

    def progress(self, key: str, frames: int) -> None:
        if key in self._running:
            attempt, worker, _ = self._running[key]
            self._running[key] = (attempt, worker, frames)

    def finished(self, key: str) -> None:
        self._running.pop(key, None)

    def snapshot(self) -> dict[str, tuple[int, str, int]]:
        return dict(self._running)


class ActorControl:
    """The Control protocol (nodeswap.batch_worker) inside a task, through the actor. Never blocks on it: Ray
    lends a blocked task's CPU to another task, which would run more jobs at once than the CPUs asked."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self._stop = False
        self._asked: Any = None
        self._checked = 0.0

    def stopping(self) -> bool:
        if self._asked is not None and ray.wait([self._asked], timeout=0)[0]:
            self._stop = self._stop or bool(ray.get(self._asked))
            self._asked = None
        if self._asked is None and time.monotonic() - self._checked >= CHECK_STOP_EVERY:
            self._asked = self.actor.stopping.remote()
            self._checked = time.monotonic()
        return self._stop

    def progress(self, job: Job, frames: int) -> None:
        self.actor.progress.remote(job.input, frames)


def run_task(job: Job, actor: Any) -> dict[str, Any]:
    """The body of a task; raises RetryableJobError for a failed try that Ray should run again."""
    from nodeswap.cli import _quiet_opencv

    _quiet_opencv(0)
    tries = actor.started.remote(job.input, worker_name())
    try:
        entry = run_job(job, ActorControl(actor))
    finally:
        actor.finished.remote(job.input)
    entry["attempt"] = int(ray.get(tries))  # answered long ago: no wait
    if ray.get_gpu_ids():
        entry["gpus"] = [str(gpu) for gpu in ray.get_gpu_ids()]  # the GPUs Ray gave the task
    if entry["status"] == "failed" and entry.get("retryable"):
        raise RetryableJobError(entry)
    return entry


class RayRunner:
    """Submits jobs as Ray tasks; ``events()`` says what they did (as nodeswap.batch_local.LocalRunner's)."""

    retries_itself = True

    def __init__(
        self,
        address: str,
        retries: int,
        targets: Targets,
        limit: int | None = None,
        cpus: float = 1.0,
        gpus: float | None = None,
    ) -> None:
        self._own = not ray.is_initialized()
        if self._own:  # a local Ray for this run without an address; "auto": $RAY_ADDRESS or this machine's
            try:
                ray.init(address=address or None, log_to_driver=False, include_dashboard=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                named = {"": "a local Ray", "auto": "a Ray cluster ($RAY_ADDRESS, or one started here by `ray start`)"}
                where = named.get(address, f"the Ray cluster at {address}")
                raise UserError(f"--ray: cannot start or reach {where}: {exc}") from None
        self._control: Any = ray.remote(BatchControl).remote()
        self._task = ray.remote(run_task)
        self._retries = retries
        self._cpus = cpus
        self._gpus = gpus if gpus is not None else (1.0 if targets.gpu_nodes else 0.0)
        gpu_nodes = targets.gpu_nodes if self._gpus > 0 else {}
        self._device_sets = [f'{n}.device="{d.partition(":")[0]}:0"' for n, d in gpu_nodes.items()]
        self._limit = limit or 1_000_000
        self._refs: dict[Any, Job] = {}
        self._seen: dict[str, tuple[int, int]] = {}  # input -> (attempt, frames) last told
        self._running: set[str] = set()  # inputs of the tasks running at the last look
        self._cancelled: set[Any] = set()  # tasks not started when the batch stopped

    @property
    def capacity(self) -> int:
        return self._limit

    def submit(self, job: Job) -> None:
        job = dataclasses.replace(job, sets=[*job.sets, *self._device_sets], verify_models=True)
        options = {"num_cpus": self._cpus, "num_gpus": self._gpus, "max_retries": self._retries}
        ref = self._task.options(**options, retry_exceptions=[RetryableJobError]).remote(job, self._control)
        self._refs[ref] = job

    def events(self, timeout: float) -> list[tuple[str, Any, Any]]:
        found: list[tuple[str, Any, Any]] = []
        ready = ray.wait(list(self._refs), num_returns=1, timeout=timeout)[0] if self._refs else []
        rest = [ref for ref in self._refs if ref not in ready]
        ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0] if rest else []
        running: dict[str, tuple[int, str, int]] = ray.get(self._control.snapshot.remote())
        self._running = set(running)
        for key, (attempt, worker, frames) in running.items():
            if self._seen.get(key, (0, 0))[0] != attempt:
                found.append(("started", key, (attempt, worker)))
            if self._seen.get(key) != (attempt, frames):
                found.append(("progress", key, frames))
            self._seen[key] = (attempt, frames)
        for ref in ready:
            job = self._refs.pop(ref)
            found.append(self._result(ref, job))
        return found

    def _result(self, ref: Any, job: Job) -> tuple[str, Any, Any]:
        try:
            return ("result", job.input, ray.get(ref))
        except ray.exceptions.TaskCancelledError:
            if ref not in self._cancelled:
                raise
            return ("result", job.input, {"input": job.input, "status": "cancelled"})
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, RetryableJobError):
                return ("result", job.input, cause.record)
            return ("lost", job.input, f"the Ray task failed: {cause or exc}")
        except ray.exceptions.RayError as exc:  # a worker or node lost, a task cancelled
            return ("lost", job.input, f"the Ray task failed: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """Running tasks stop (they look at the actor's flag); tasks not started yet are cancelled."""
        ray.get(self._control.stop.remote())
        for ref, job in self._refs.items():
            if job.input not in self._running:
                self._cancelled.add(ref)
                ray.cancel(ref)

    def kill(self) -> None:
        for ref in self._refs:
            ray.cancel(ref, force=True)

    def close(self) -> None:
        for ref in self._refs:
            ray.cancel(ref)
        ray.kill(self._control)
        if self._own:
            ray.shutdown()

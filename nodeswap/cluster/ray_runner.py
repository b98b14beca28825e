"""The Ray backend of ``nodeswap batch --ray``: one Ray task per job.

A task asks for one CPU, and one GPU when a node of the graph runs on CUDA or TensorRT (``--cpus-per-job``,
``--gpus-per-job``: a fraction shares a GPU between tasks). Ray shows a task its GPU as device 0, so those
nodes are set to ``cuda:0`` (``tensorrt:0``). Inputs and outputs are paths that every
worker reaches (a shared filesystem); a task loads the graph, resolves its models on its own machine (each
file checked against its sha256 once per worker process), runs the job and returns the journal record,
never frames. A small actor carries the stop flag and each running job's frame count to the driver.
Failed tries that another try may fix are Ray's task retries (``--retries``). A try lost with its node or
worker process is the driver's to run again, whatever ``--retries`` says (nodeswap/batch.py): losing a node
costs time, never a job. The actor lives on the driver's node; the GCS (the head) is watched, and when it is
gone the run stops with ``ClusterLostError`` (exit code 3) and the journal says what to run again.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from nodeswap.batch_jobs import Job, Targets
from nodeswap.batch_journal import worker_name
from nodeswap.batch_worker import RetryableJobError, run_job
from nodeswap.errors import UserError

CHECK_STOP_EVERY = 1.0  # seconds between a task's looks at the stop flag
HEAD_TIMEOUT = 10.0  # seconds without an answer from the head (GCS) before the run stops
UNSEEN = "NODESWAP_TEST_UNSEEN"  # a node with this path prefix in its environment acts as if it could not see it
LOST_ERRORS = (
    "NodeDiedError",
    "WorkerCrashedError",
    "ObjectLostError",
    "OwnerDiedError",
    "ActorDiedError",
    "LocalRayletDiedError",
)


class ClusterLostError(UserError):
    """The head node (GCS) is gone: nothing more can be scheduled. Exit code 3."""

    exit_code = 3


def node_name() -> str:
    """The Ray node a task runs on: its IP and the start of its node id (several nodes may share a host)."""
    context = ray.get_runtime_context()
    ip: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    return f"{ip}/{context.get_node_id()[:8]}"


def alive_nodes() -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return [n for n in nodes if n.get("Alive")]


def sees(marker: str) -> bool:
    """True when this node reads ``marker`` (the shared-storage check; see ``UNSEEN``)."""
    unseen = os.environ.get(UNSEEN)
    if unseen and marker.startswith(unseen):
        return False
    return Path(marker).is_file()


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
    began = time.time()
    tries = actor.started.remote(job.input, f"{worker_name()} on node {node_name()}")
    try:
        entry = run_job(job, ActorControl(actor))
    finally:
        actor.finished.remote(job.input)
    entry["attempt"] = int(ray.get(tries))  # answered long ago: no wait
    entry["node"] = node_name()
    entry["began_at"] = round(began, 3)  # wall clock; the driver's queue time is this less its submit time
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
        shared: Path | None = None,
    ) -> None:
        self._own = not ray.is_initialized()
        if self._own:  # a local Ray for this run without an address; "auto": $RAY_ADDRESS or this machine's
            try:
                ray.init(address=address or None, log_to_driver=False, include_dashboard=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                named = {"": "a local Ray", "auto": "a Ray cluster ($RAY_ADDRESS, or one started here by `ray start`)"}
                where = named.get(address, f"the Ray cluster at {address}")
                raise UserError(f"--ray: cannot start or reach {where}: {exc}") from None
        self._lost = False
        self._retries = retries
        self._cpus = cpus
        self._gpus = gpus if gpus is not None else (1.0 if targets.gpu_nodes else 0.0)
        gpu_nodes = targets.gpu_nodes if self._gpus > 0 else {}
        try:
            self._check_placement(gpu_nodes)
            if shared is not None:
                check_shared(shared)
        except UserError:
            self.close()
            raise
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        actor = ray.remote(BatchControl).options(num_cpus=0, scheduling_strategy=here)
        self._control: Any = actor.remote()  # on the driver's node: lost with the driver only
        self._task = ray.remote(run_task)
        self._device_sets = [f'{n}.device="{d.partition(":")[0]}:0"' for n, d in gpu_nodes.items()]
        self._limit = limit or 1_000_000
        self._refs: dict[Any, Job] = {}
        self._seen: dict[str, tuple[int, int]] = {}  # input -> (attempt, frames) last told
        self._running: set[str] = set()  # inputs of the tasks running at the last look
        self._where: dict[str, str] = {}  # input -> the worker and node of its last try
        self._submitted: dict[str, float] = {}  # input -> wall clock of its last submit
        self._cancelled: set[Any] = set()  # tasks not started when the batch stopped

    def _check_placement(self, gpu_nodes: dict[str, str]) -> None:
        """A task's CPUs and GPUs exist on some node now, or one clear error (Ray would wait forever)."""
        nodes = alive_nodes()
        most_cpus = max((n["Resources"].get("CPU", 0.0) for n in nodes), default=0.0)
        most_gpus = max((n["Resources"].get("GPU", 0.0) for n in nodes), default=0.0)
        if self._gpus > most_gpus:
            why = (
                f"the graph's nodes {', '.join(f'{n} ({d})' for n, d in gpu_nodes.items())} run on a GPU"
                if gpu_nodes
                else "--gpus-per-job"
            )
            raise UserError(
                f"--ray: {why}, so each task asks Ray for {self._gpus:g} GPU, and no node of the Ray cluster "
                f"({len(nodes)} nodes) has {'any GPU' if most_gpus == 0 else f'{self._gpus:g} GPUs'}: add GPU "
                "nodes, or run those nodes on the CPU (--set NODE.device=cpu)"
            )
        if self._cpus > most_cpus:
            raise UserError(
                f"--cpus-per-job {self._cpus:g}: no node of the Ray cluster ({len(nodes)} nodes) has that many "
                f"CPUs (the most is {most_cpus:g})"
            )

    @property
    def capacity(self) -> int:
        return self._limit

    def submit(self, job: Job) -> None:
        job = dataclasses.replace(job, sets=[*job.sets, *self._device_sets], verify_models=True)
        options = {"num_cpus": self._cpus, "num_gpus": self._gpus, "max_retries": self._retries}
        ref = self._task.options(**options, retry_exceptions=[RetryableJobError]).remote(job, self._control)
        self._refs[ref] = job
        self._submitted[job.input] = time.time()

    def events(self, timeout: float) -> list[tuple[str, Any, Any]]:
        found: list[tuple[str, Any, Any]] = []
        ready = ray.wait(list(self._refs), num_returns=1, timeout=timeout)[0] if self._refs else []
        rest = [ref for ref in self._refs if ref not in ready]
        ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0] if rest else []
        running = self._snapshot()
        self._running = set(running)
        for key, (attempt, worker, frames) in running.items():
            self._where[key] = worker
            if self._seen.get(key, (0, 0))[0] != attempt:
                found.append(("started", key, (attempt, worker)))
            if self._seen.get(key) != (attempt, frames):
                found.append(("progress", key, frames))
            self._seen[key] = (attempt, frames)
        for ref in ready:
            job = self._refs.pop(ref)
            found.append(self._result(ref, job))
        return found

    def _snapshot(self) -> dict[str, tuple[int, str, int]]:
        """The running jobs as the actor knows them; ClusterLostError when it or the head is gone."""
        try:
            running: dict[str, tuple[int, str, int]] = ray.get(self._control.snapshot.remote(), timeout=HEAD_TIMEOUT)
            return running
        except (ray.exceptions.RayError, TimeoutError) as exc:
            self._lost = True
            gcs = ray.get_runtime_context().gcs_address
            head = "is gone" if not _answers(gcs) else "answers, but this driver's node lost its actor"
            raise ClusterLostError(
                f"--ray: lost the Ray cluster: its head node (GCS at {gcs}) {head} ({type(exc).__name__}); "
                "the jobs still running are lost with it. Start the cluster again and run the same command: "
                "the journal makes it run only what is not done"
            ) from None

    def _result(self, ref: Any, job: Job) -> tuple[str, Any, Any]:
        try:
            entry: dict[str, Any] = ray.get(ref)
            if "began_at" in entry and job.input in self._submitted:
                entry["queued"] = round(max(0.0, entry["began_at"] - self._submitted[job.input]), 3)
            return ("result", job.input, entry)
        except ray.exceptions.TaskCancelledError:
            if ref not in self._cancelled:
                raise
            return ("result", job.input, {"input": job.input, "status": "cancelled"})
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, RetryableJobError):
                return ("result", job.input, {**cause.record, "node": self._where.get(job.input, "")})
            return ("failed", job.input, f"the Ray task failed: {cause or exc}")
        except ray.exceptions.RayError as exc:  # a worker or node lost
            where = self._where.get(job.input)
            first = " ".join(str(exc).split())[:200]
            text = f"lost with its {'node' if 'Node' in type(exc).__name__ else 'worker'}"
            text += f" ({where})" if where else ""
            kind = "lost" if type(exc).__name__ in LOST_ERRORS else "failed"
            return (kind, job.input, f"{text}: {type(exc).__name__}: {first}")

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
        if not self._lost and hasattr(self, "_control"):
            for ref in self._refs:
                ray.cancel(ref)
            ray.kill(self._control)
        if self._own:
            ray.shutdown()


def _answers(address: str) -> bool:
    """True when something listens at HOST:PORT (the GCS)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2.0):
            return True
    except (OSError, ValueError):
        return False


def _sees_task(marker: str) -> tuple[str, bool]:
    return node_name(), sees(marker)


def check_shared(folder: Path) -> None:
    """Every alive node sees ``folder`` (a marker file the driver writes there), or one clear UserError
    naming the nodes that do not. One node: nothing to check."""
    nodes = alive_nodes()
    if len(nodes) < 2:
        return
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f".nodeswap-shared-{uuid.uuid4().hex[:12]}"
    marker.write_text("written by the nodeswap batch driver to check that every Ray node sees this folder\n")
    try:
        look = ray.remote(_sees_task)
        refs = [
            look.options(
                num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
            ).remote(str(marker))
            for n in nodes
        ]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=120)
        answers, gone = [], 0
        for ref in ready:
            try:
                answers.append(ray.get(ref))
            except ray.exceptions.TaskUnschedulableError:  # a node that died a moment ago: it runs nothing
                gone += 1
    finally:
        marker.unlink(missing_ok=True)
    blind = [name for name, seen in answers if not seen]
    silent = len(refs) - len(answers) - gone
    if blind or silent:
        silent_text = f"; {silent} nodes did not answer in 120 s" if silent else ""
        raise UserError(
            f"--output {folder}: not shared storage: the Ray nodes {', '.join(blind) or '-'} cannot see it"
            f"{silent_text}. "
            "On a cluster of several nodes the inputs, the graph and --output must be on a filesystem every node "
            "mounts at the same path (NFS, CephFS, a bucket through FUSE): see docs/SCALE.md"
        )

"""The local batch backend: N worker processes on this machine, each running one job at a time.

Workers start with Ctrl-C ignored (the terminal sends it to the whole process group): the batch's own
process hears it and sets a shared stop event, and each worker stops its job as ``nodeswap run`` does on
Ctrl-C, finalising its outputs. A worker that hears SIGTERM itself stops its job the same way.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import signal
import time
from typing import Any

from .batch_jobs import Job

_CONTEXT = mp.get_context("spawn")  # a fresh interpreter: no threads or locks copied from the parent
Event = tuple[str, Any, Any]  # ("started", input, (attempt, worker)) / ("progress", input, frames) / ("result", ...)


class _QueueControl:
    """A worker's side of the Control protocol (nodeswap.batch_worker)."""

    def __init__(self, events: Any, stop: Any) -> None:
        self.events, self.stop = events, stop
        self.terminated = False

    def stopping(self) -> bool:
        return self.terminated or bool(self.stop.is_set())

    def progress(self, job: Job, frames: int) -> None:
        self.events.put(("progress", job.input, frames))


def _serve(jobs: Any, events: Any, stop: Any, log_level: int) -> None:
    """A worker process: run the jobs it is given until told to end (None) or stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    from .batch_journal import worker_name
    from .batch_worker import run_job
    from .cli import _quiet_opencv

    _quiet_opencv(0 if log_level > logging.DEBUG else 2)
    control = _QueueControl(events, stop)

    def terminate(signum: int, frame: Any) -> None:
        control.terminated = True

    signal.signal(signal.SIGTERM, terminate)
    while not control.stopping():
        try:
            job = jobs.get(timeout=0.2)
        except queue.Empty:
            continue
        if job is None:
            break
        events.put(("started", job.input, (job.attempt, worker_name())))
        events.put(("result", job.input, run_job(job, control)))


class LocalRunner:
    """Runs jobs in ``workers`` processes; ``events()`` says what they did."""

    retries_itself = False

    def __init__(self, workers: int, log_level: int = logging.ERROR) -> None:
        self.workers = workers
        self._jobs: Any = _CONTEXT.Queue()
        self._events: Any = _CONTEXT.Queue()
        self._stop = _CONTEXT.Event()
        self._log_level = log_level
        self._processes: list[Any] = []
        self._running: dict[int, str] = {}  # worker pid -> input it runs
        for slot in range(workers):
            self._processes.append(self._start(slot))

    def _start(self, slot: int) -> Any:
        args = (self._jobs, self._events, self._stop, self._log_level)
        process = _CONTEXT.Process(target=_serve, args=args, name=f"nodeswap-batch-{slot}", daemon=False)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited through exec: no Ctrl-C in a spawn
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        return process

    @property
    def capacity(self) -> int:
        return self.workers

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    def events(self, timeout: float) -> list[Event]:
        """What happened since the last call (waits up to ``timeout`` for the first event)."""
        found: list[Event] = []
        try:
            found.append(self._events.get(timeout=timeout))
            while True:
                found.append(self._events.get_nowait())
        except queue.Empty:
            pass
        for kind, key, detail in found:
            if kind == "started":
                self._running[int(detail[1].rpartition(":")[2])] = key
            elif kind == "result":
                self._running = {pid: k for pid, k in self._running.items() if k != key}
        return found + self._dead_workers()

    def _dead_workers(self) -> list[Event]:
        """A worker that died (killed, out of memory) fails its job; a new worker takes its place."""
        lost: list[Event] = []
        for slot, process in enumerate(self._processes):
            if process.is_alive() or process.exitcode is None:
                continue
            key = self._running.pop(process.pid, None)
            if key is not None:
                lost.append(("failed", key, f"the worker process ended (exit code {process.exitcode})"))
            if not self._stop.is_set():
                self._processes[slot] = self._start(slot)
        return lost

    def stop(self) -> None:
        """Ask every running job to stop and finalise its outputs; no new job starts."""
        self._stop.set()

    def close(self, timeout: float = 30.0) -> None:
        """End the workers (they finish the job in hand first, unless stopped); kill those that hang."""
        for _ in self._processes:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for process in self._processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        for channel in (self._jobs, self._events):
            channel.close()
            channel.cancel_join_thread()

    def kill(self) -> None:
        """A second Ctrl-C: end the workers now (outputs stay under their hidden names, never a final one)."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()

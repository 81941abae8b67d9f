"""How the local executor starts its workers and tells whether they started: the start
method and what the fork server preloads, a new worker's options, and the starts that failed
in a row (no start while they back off, :mod:`headwater.executors.start_failures`).

Workers are never forks of the scheduler: a fork would inherit its database connections and
whatever its threads held. They come from multiprocessing's **fork server**, a clean
interpreter started with the first worker (and again after the pool emptied) with headwater
and the worker function's module preloaded (0.7-0.9 s with the scheduler's preloads on a
busy 2-CPU machine), which forks a ready worker: an attempt on a fresh worker took 18-26 ms here,
against 170-240 ms with the ``spawn`` start method, which starts a new interpreter and
imports headwater every time (``benchmarks/local_executor_overhead.py``; ``start_method=
"spawn"`` remains available). Workers (re)start after a crash, a kill, a timeout and every
recycling (``max_tasks_per_worker=1`` is one per attempt), so that cost matters.

:class:`~headwater.executors.local.LocalExecutor` decides when a worker starts;
:mod:`headwater.executors.local_workers` starts the process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.executors import _worker
from headwater.executors.local_workers import WorkerHandle, start_worker, stop_fork_server
from headwater.executors.process_tree import exit_text
from headwater.executors.start_failures import StartFailures

__all__ = ["START_METHODS", "WorkerStarts"]

START_METHODS = ("forkserver", "spawn")


class WorkerStarts:
    """Starts the workers of one executor; its thread calls every method.

    ``failures`` counts the starts that failed in a row (:mod:`~headwater.executors.
    start_failures`): the executor raises its error once there are too many.
    """

    def __init__(
        self,
        *,
        worker_function: str,
        max_tasks: int,
        max_memory_mb: int,
        start_attempts: int,
        start_method: str,
        preload: Sequence[str],
        hostname: str,
    ) -> None:
        self._worker_function = worker_function
        self._max_tasks = max_tasks
        self._max_memory_mb = max_memory_mb
        self._start_method = start_method
        self._preload = list(preload)
        self._hostname = hostname
        self.failures = StartFailures(start_attempts)
        self._context: Any = None
        self._next_id = 0

    def prepare(self) -> None:
        """Get ready to start workers. Fails here if the worker function cannot be loaded."""
        try:
            _worker.load_function(self._worker_function)
        except Exception as exc:
            raise HeadwaterError(
                f"worker_function {self._worker_function!r} cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        context: Any = multiprocessing.get_context(self._start_method)
        if self._start_method == "forkserver":
            # Takes effect when the (process-wide) fork server starts; if it already runs,
            # workers import these themselves, once each. Never "__main__": a launcher
            # script would run again in the server. On Python 3.11 the server ignores the
            # scheduler's sys.path (CPython gh-117378): a module found only through sys.path
            # changes is imported by each worker. Installed modules (headwater's) preload.
            module = self._worker_function.partition(":")[0]
            context.set_forkserver_preload(["headwater.executors._worker", module, *self._preload])
        self._context = context

    def start(self, now: float) -> WorkerHandle | None:
        """Start one more worker; None if starts are backing off after failures, or this
        start failed (counted in ``failures``)."""
        if not self.failures.may_start(now):
            return None
        self._next_id += 1
        options = _worker.WorkerOptions(
            worker_id=f"worker-{self._next_id}",
            worker_function=self._worker_function,
            max_tasks=self._max_tasks,
            max_memory_mb=self._max_memory_mb,
            scheduler_pid=os.getpid(),
            fork_server=self._start_method == "forkserver",
        )
        try:
            return start_worker(self._context, options, self._hostname, now)
        except Exception as exc:
            self.failures.failed(f"starting the process failed: {type(exc).__name__}: {exc}", now)
            return None

    def ready(self, worker: WorkerHandle, now: float) -> None:
        """``worker`` said it is ready (idle since ``now``): starts succeed again."""
        worker.ready = True
        worker.idle_since = now
        self.failures.succeeded()

    def failed_to_start(self, worker: WorkerHandle, code: int | None, now: float) -> None:
        """``worker`` exited with ``code`` before it was ready, and not because the executor
        stopped it: a start that failed, for the reason it gave if it gave one."""
        reason = worker.start_failure or f"the worker process {exit_text(code)} before it was ready"
        self.failures.failed(reason, now)

    def stop_fork_server(self) -> None:
        """Stop the fork server (once the executor has no worker left); the next worker
        starts it again."""
        if self._start_method == "forkserver":
            stop_fork_server()

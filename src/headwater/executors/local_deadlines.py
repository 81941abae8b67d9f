"""The local executor's deadlines for its own workers, all on the executor's clock: the hard
timeout of an attempt, the SIGKILL after a SIGTERM, and the exit of a worker left idle.

* An attempt still running ``timeout_s + kill_grace_s`` after it was sent (the runtime's own
  SIGALRM timeout normally ends it first; this is the backstop for a task stuck in C code or
  ignoring signals) gets its worker terminated, with the reason its attempt is reported with.
* A worker terminated (timed out, or killed on request) gets SIGTERM, so the task unwinds,
  and SIGKILL ``kill_grace_s`` later if it is still there; before the SIGKILL its direct
  children's process groups are killed, which SIGKILL would orphan.
* A ready worker without an attempt for ``idle_timeout_s`` is asked to exit.

:class:`~headwater.executors.local.LocalExecutor` checks them in ``heartbeat`` and ``poll``,
which waits no longer than the next one; the workers it adopted keep their own
(:mod:`headwater.executors.adopted_workers`).
"""

from __future__ import annotations

import logging

from headwater.executors import _worker
from headwater.executors.local_workers import WorkerHandle, described

__all__ = ["WorkerDeadlines"]

log = logging.getLogger("headwater.executors.local")


class WorkerDeadlines:
    """The deadlines of one executor's workers; its thread calls every method, with the
    executor's clock time ``now`` (seconds since the epoch)."""

    def __init__(self, kill_grace_s: float, idle_timeout_s: float) -> None:
        self._kill_grace_s = kill_grace_s
        self._idle_timeout_s = idle_timeout_s

    def sent(self, worker: WorkerHandle, timeout_s: float | None, now: float) -> None:
        """``worker`` was just given an attempt with execution timeout ``timeout_s``."""
        worker.timeout_s = timeout_s
        if timeout_s is not None:
            worker.deadline = now + timeout_s + self._kill_grace_s

    def check(self, workers: list[WorkerHandle], now: float) -> None:
        """Terminate the workers past their attempt's deadline, SIGKILL those past their
        grace, and ask the idle ones past ``idle_timeout_s`` to exit."""
        for worker in workers:
            if (
                worker.ending is None
                and worker.key is not None
                and worker.deadline is not None
                and now >= worker.deadline
            ):
                self.terminate(
                    worker,
                    f"timed out after {worker.timeout_s:g} s (execution_timeout); worker killed",
                    now,
                )
            elif worker.sigkill_at is not None and now >= worker.sigkill_at:
                worker.sigkill()
            elif self._retire_at(worker) <= now:
                self._retire(worker)

    def deadlines(self, workers: list[WorkerHandle]) -> list[float]:
        """The clock times at which :meth:`check` has something to do."""
        found = [w.deadline for w in workers if w.ending is None and w.deadline]
        found += [w.sigkill_at for w in workers if w.sigkill_at is not None]
        return found + [self._retire_at(w) for w in workers]

    def terminate(self, worker: WorkerHandle, reason: str, now: float) -> None:
        """SIGTERM ``worker`` now and SIGKILL it ``kill_grace_s`` later if still there; its
        attempt is reported failed with ``reason`` once the process is gone."""
        worker.ending = reason
        worker.sigkill_at = now + self._kill_grace_s
        log.warning(
            "Terminating worker %s (pid %d) running %s: %s",
            worker.info.worker_id,
            worker.info.pid,
            described(worker.key),
            reason,
        )
        if worker.process.exitcode is None:
            worker.process.terminate()

    def _retire_at(self, worker: WorkerHandle) -> float:
        """When an idle worker is asked to exit (infinity for a busy one)."""
        if not worker.idle or worker.idle_since is None:
            return float("inf")
        return worker.idle_since + self._idle_timeout_s

    def _retire(self, worker: WorkerHandle) -> None:
        assert worker.conn is not None
        worker.leaving = worker.retired = True
        log.info(
            "Worker %s (pid %d) idle for %g s (scheduler.worker_idle_timeout_s): it exits",
            worker.info.worker_id,
            worker.info.pid,
            self._idle_timeout_s,
        )
        try:
            worker.conn.send_bytes(_worker.encode(_worker.Stop()))
        except OSError:
            worker.process.terminate()

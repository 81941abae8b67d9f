"""The local executor's traffic with its workers: starting them, handing them attempts (now,
or as a standby: :mod:`headwater.executors.local_standby`), taking in what they send back and
how they end, and their deadlines.

:class:`WorkerPool` is the base of :class:`~headwater.executors.local.LocalExecutor`, which
holds its state and implements the ``Executor`` interface on it; the module docstring there
says what is reported when.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import wait
from typing import Any

from headwater.clock import Clock
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.executors import _worker, local_standby
from headwater.executors._worker import exception_text, failed_outcome
from headwater.executors.adopted_workers import AdoptedWorkers
from headwater.executors.base import AttemptStarted
from headwater.executors.local_deadlines import WorkerDeadlines
from headwater.executors.local_worker_starts import WorkerStarts
from headwater.executors.local_workers import (
    Dispatch,
    WorkerHandle,
    WorkerInfo,
    described,
    send_to,
)
from headwater.executors.process_tree import exit_text

__all__ = ["KILLED", "WorkerPool"]

log = logging.getLogger("headwater.executors.local")

KILLED = "killed on request; worker process terminated"

_PIPE_CLOSED_WAIT_S = 1.0
"""How long a worker whose pipe closed may take to exit before it is terminated."""


class WorkerPool:
    """What the local executor does with its workers (see the module docstring). Not
    thread-safe: the scheduler's thread calls everything."""

    parallelism: int
    standby: bool
    _prepare: Callable[[AttemptKey, WorkerInfo], Dispatch | None]
    _clock: Clock
    _starts: WorkerStarts
    _deadlines: WorkerDeadlines
    _adopted: AdoptedWorkers
    _queue: deque[AttemptKey]
    _workers: list[WorkerHandle]
    _finished: list[tuple[AttemptKey, AttemptOutcome]]
    _started_events: list[AttemptStarted]
    _started: bool
    _too_big: AttemptKey | None
    """The first queued key, if its message is too big to wait in a busy worker's pipe."""

    # -- workers -------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        """Start one more worker, unless starts are backing off after failures."""
        worker = self._starts.start(self._now())
        if worker is not None:
            self._workers.append(worker)

    def _dispatch(self) -> None:
        """Hand queued keys to idle workers; start workers for the keys left over, one per
        key, while fewer than ``parallelism`` are in the pool; with ``standby``, send busy
        workers the keys left after that, or let idle ones take over a standby."""
        while self._queue and self._started:
            worker = next((w for w in self._workers if w.idle), None)
            if worker is None:
                break
            self._send(worker, self._queue.popleft())
        if not self._started:
            return
        if not self._queue:
            if self.standby:
                local_standby.take_over(self._workers, self._start_on)
            return
        in_pool = [w for w in self._workers if w.in_pool]
        starting = sum(1 for w in in_pool if not w.ready)
        wanted = min(len(self._queue) - starting, self.parallelism - len(in_pool))
        for _ in range(wanted):
            before = len(self._workers)
            self._start_worker()
            if len(self._workers) == before:
                break  # backing off, or the start failed
        if self.standby:
            starting = sum(1 for w in self._workers if w.in_pool and not w.ready)
            for worker in self._workers:
                if len(self._queue) <= starting or self._queue[0] == self._too_big:
                    break  # the rest is for the workers that are starting, or too big
                if worker.can_stand_by and not self._send(worker, self._queue[0], standby=True):
                    self._too_big = self._queue[0]  # prepared once: it waits for an idle one
                    break

    def _send(self, worker: WorkerHandle, key: AttemptKey, *, standby: bool = False) -> bool:
        """Send ``key`` (popped from the queue if ``standby``: its first key) to ``worker``,
        to run now or as its standby; False if a standby is too big to wait in a pipe."""
        try:
            dispatch = self._prepare(key, worker.info)
        except Exception as exc:
            log.exception("prepare() failed for %s", described(key))
            self._fail(key, f"could not prepare the attempt: {exception_text(exc)}")
            dispatch = None
        try:
            data = None if dispatch is None else _worker.encode(_worker.Run(dispatch.payload))
        except Exception as exc:
            text = exception_text(exc)
            self._fail(key, f"the attempt's payload cannot be sent to a worker: {text}")
            data = None
        if standby:
            if data is not None and not local_standby.fits(data):
                return False
            self._queue.popleft()
        if data is None or dispatch is None:
            return True  # dropped, or failed
        if standby:
            local_standby.hold(worker, key, data, dispatch.timeout_s)
        else:
            self._start_on(worker, key, dispatch.timeout_s, data, True)
        return True

    def _start_on(
        self,
        worker: WorkerHandle,
        key: AttemptKey,
        timeout_s: float | None,
        data: bytes | None,
        announce: bool,
    ) -> None:
        """``worker`` runs ``key`` now: sent ``data`` (None: it read it, as its standby);
        reported started if ``announce``."""
        worker.key = key
        worker.idle_since = None
        self._deadlines.sent(worker, timeout_s, self._now())
        if announce:
            self._announce(worker, key)
        if data is not None:
            send_to(worker, data)

    def _announce(self, worker: WorkerHandle, key: AttemptKey) -> None:
        """Report that ``worker`` started ``key`` (``started()``)."""
        info = worker.info
        self._started_events.append(AttemptStarted(key, info.hostname, info.pid, self._clock.now()))

    def _fail(self, key: AttemptKey, error: str) -> None:
        self._finished.append((key, failed_outcome(error)))

    def _collect(self, timeout: float) -> None:
        """Wait up to ``timeout`` for results and worker deaths, and take them in."""
        waitables: dict[Any, WorkerHandle] = {}
        for worker in self._workers:
            if worker.conn is not None:
                waitables[worker.conn] = worker
            waitables[worker.process.sentinel] = worker
        adopted = self._adopted.waitables()
        if not waitables and not adopted:
            return
        ready = wait([*waitables, *adopted], timeout)
        dead = []
        for obj in ready:
            if obj not in waitables:
                assert isinstance(obj, int)  # a pidfd
                self._finished.append(self._adopted.ended(obj))
                continue
            worker = waitables[obj]
            if isinstance(obj, int):
                dead.append(worker)
            elif worker.conn is not None:
                self._read(worker)
        for worker in dead:
            self._reap(worker)

    def _read(self, worker: WorkerHandle) -> None:
        conn = worker.conn
        assert conn is not None
        try:
            while conn.poll():
                data = conn.recv_bytes()
                try:
                    message = _worker.decode(data)
                except Exception as exc:
                    message = _worker.Result(
                        failed_outcome(f"the worker's result cannot be read: {exception_text(exc)}")
                    )
                self._on_message(worker, message)
        except (EOFError, OSError):
            conn.close()
            worker.conn = None
            if worker.ending is None:
                # It died or is dying: its exit status is on the sentinel in a moment.
                worker.process.join(_PIPE_CLOSED_WAIT_S)
                if worker.process.exitcode is None:
                    self._deadlines.terminate(
                        worker, "worker process closed its pipe to the executor", self._now()
                    )

    def _on_message(self, worker: WorkerHandle, message: Any) -> None:
        if isinstance(message, _worker.Ready):
            self._starts.ready(worker, self._now())
            if self._queue and worker.in_pool:
                self._send(worker, self._queue.popleft())  # the key it was started for
            return
        if isinstance(message, _worker.StartFailed):
            worker.start_failure = message.reason
            return
        if not isinstance(message, _worker.Result) or worker.key is None:
            log.warning(
                "Ignoring an unexpected message from %s: %r", worker.info.worker_id, message
            )
            return
        if worker.ending is not None:
            # Being killed: reported with the reason once the process is gone. Unless it
            # leaves, it may have gone on to its standby.
            worker.ended_while_ending = message.leaving is None
            return
        outcome = message.outcome
        if worker.runs_a_copy and not outcome.recorded and not outcome.rejected:
            outcome = replace(outcome, rejected=True)  # not claimed here: the other reports
        self._finished.append((worker.key, outcome))
        worker.key = worker.timeout_s = worker.deadline = None
        worker.runs_a_copy = False
        worker.idle_since = self._now()
        if message.leaving is not None:
            worker.leaving = True
            log.info(
                "Worker %s (pid %d) %s: replacing it",
                worker.info.worker_id,
                worker.info.pid,
                message.leaving,
            )
            if self._started:
                local_standby.requeue(self._queue, local_standby.left_behind(worker))
        elif local_standby.promote(worker, self._start_on):
            self._deadlines.terminate(worker, KILLED, self._now())

    def _reap(self, worker: WorkerHandle) -> None:
        """The worker process has exited: report its attempt if it had one, forget it."""
        if worker.conn is not None:
            self._read(worker)  # a last result may be waiting in the pipe
        worker.process.join()
        code = worker.process.exitcode
        reason = worker.ending or _death_reason(code)
        if worker.key is not None:
            self._fail(worker.key, reason)
        elif not worker.ready and worker.ending is None and self._started:
            self._starts.failed_to_start(worker, code, self._now())
        elif worker.in_pool and self._started:
            log.warning(
                "Worker %s (pid %d) exited while idle (%s)",
                worker.info.worker_id,
                worker.info.pid,
                exit_text(code),
            )
        standby = local_standby.left_behind(worker)
        if standby is not None and worker.ended_while_ending:
            # It may have read its standby, and claimed it, before it was stopped: reported
            # started, then lost (the scheduler applies what it recorded, or runs it again).
            self._announce(worker, standby.key)
            error = f"its worker was stopped as it started this attempt (the one before: {reason})"
            self._finished.append((standby.key, replace(failed_outcome(error), lost=True)))
        elif self._started:
            local_standby.requeue(self._queue, standby)  # never read: run it elsewhere
        self._workers.remove(worker)
        worker.release()
        if worker.retired and not self._workers:
            self._stop_fork_server()

    def _stop_fork_server(self) -> None:
        if not self._workers:
            self._starts.stop_fork_server()

    def _raise_if_workers_cannot_start(self) -> None:
        error = self._starts.failures.error
        if error is not None:
            raise error

    # -- deadlines: timeouts, kills, idle workers ------------------------------------------------

    def _check_deadlines(self) -> None:
        now = self._now()
        self._adopted.check_deadlines(now)
        self._deadlines.check(self._workers, now)

    def _next_deadline_in(self) -> float:
        """Seconds until the next deadline on the clock (infinity if none)."""
        deadlines = self._deadlines.deadlines(self._workers) + self._adopted.deadlines()
        if self._queue and self._starts.failures.count and not self._starts.failures.error:
            deadlines.append(self._starts.failures.next_start_at)
        if not deadlines:
            return float("inf")
        return min(deadlines) - self._now()

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _death_reason(code: int | None) -> str:
    return f"worker process {exit_text(code)} while running the task"

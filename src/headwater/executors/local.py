r"""LocalExecutor: runs attempts in a pool of long-lived worker processes on this machine.

The scheduler (one thread and process, holding database connections) calls ``queue(key)``
for up to ``parallelism + queued_ahead`` attempts; when a worker is idle, the executor calls
``prepare(key, worker)`` in the scheduler's process (the message, from memory) and sends
the returned :class:`Dispatch` payload down that worker's pipe. ``poll`` waits on every
worker's result pipe and process sentinel at once (``multiprocessing.connection.wait``: no
sleeping loop), hands the keys queued ahead to the workers that just reported (before the
scheduler writes anything), and returns the outcomes that are ready.

Workers start **on demand**: a queued key with no idle worker starts one, while fewer than
``parallelism`` are in the pool, never more than the keys waiting; the key goes to it once
it says it is ready (its worker function loaded). A worker without an attempt for
``idle_timeout_s`` exits, and once none is left the fork server stops too, so an idle
scheduler holds no worker process. A worker that fails to start is started again after a
growing delay and reported once; ``start_attempts`` failures in a row make ``poll`` and
``heartbeat`` raise :class:`WorkerStartError` (:mod:`headwater.executors.start_failures`).

Workers are never forks of the scheduler: they come from multiprocessing's fork server
(:mod:`headwater.executors.local_worker_starts` says why, and what it costs).

What is reported, always as one ``(key, AttemptOutcome)`` per attempt handed to a worker:

* the worker function's outcome; an exception escaping it is a FAILED outcome with its text
  (the worker goes on);
* a worker that dies while running an attempt (segfault, ``os._exit``, ``kill -9``, the
  OOM killer): FAILED "worker process died with signal SIGSEGV while running the task" or
  "... exited with code 3 ...", and a fresh worker takes its place;
* ``kill(key)`` of a running attempt: the worker gets SIGTERM (the task unwinds, so
  ``BashOperator`` kills its command's process group), SIGKILL ``kill_grace_s`` later if it
  is still there; FAILED "killed ..." once it is gone;
* the hard timeout: an attempt still running ``timeout_s + kill_grace_s`` after it was sent
  is killed the same way and reported FAILED "timed out after N s (execution_timeout);
  worker killed" (the backstop behind the runtime's own timeout: see
  :mod:`headwater.executors.local_deadlines`, which also says what a SIGKILL kills first).

A worker whose memory (RSS) is above ``max_worker_memory_mb`` after an attempt, or that ran
``max_tasks_per_worker`` attempts, exits after reporting and is replaced. A worker outlives a
scheduler killed with ``kill -9`` only to finish the attempt it runs: it records the outcome
in the database and exits (idle workers exit at once: their pipe closed). A new scheduler
on this machine :meth:`LocalExecutor.adopt`\ s it meanwhile (a worker is recognised by its
process name and start time, so a process that reused the pid is left alone; see
:mod:`headwater.executors.adopted_workers`), so an attempt never runs twice at once and an
attempt whose code finished is never run again.

Deadlines (the hard timeout, the SIGKILL after SIGTERM, idle workers) follow the injected
clock and are checked by :meth:`heartbeat` and :meth:`poll`; :meth:`stop` waits in real time.
"""

from __future__ import annotations

import atexit
import functools
import logging
import socket
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from multiprocessing.connection import wait
from typing import Any

from headwater.clock import Clock, SystemClock
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.exceptions import HeadwaterError
from headwater.executors import _worker
from headwater.executors._worker import exception_text, failed_outcome
from headwater.executors.adopted_workers import AdoptedWorkers
from headwater.executors.base import AttemptStarted, Executor
from headwater.executors.local_deadlines import WorkerDeadlines
from headwater.executors.local_worker_starts import START_METHODS, WorkerStarts
from headwater.executors.local_workers import (
    Dispatch,
    WorkerHandle,
    WorkerInfo,
    described,
    stop_workers,
)
from headwater.executors.process_tree import exit_text
from headwater.executors.start_failures import WorkerStartError

__all__ = ["Dispatch", "LocalExecutor", "WorkerInfo", "WorkerStartError"]

log = logging.getLogger(__name__)

_PIPE_CLOSED_WAIT_S = 1.0
"""How long a worker whose pipe closed may take to exit before it is terminated."""


class LocalExecutor(Executor):
    """Runs attempts in up to ``parallelism`` worker processes, holding up to ``queued_ahead``
    more until one is free; see the module docstring.

    ``preload`` names more modules for the fork server to import once, such as what the
    worker function imports lazily (``"headwater.runtime.task_runner"``, the store).

    Not thread-safe: one thread (the scheduler's) calls every method. With
    ``start_method="spawn"`` that thread must also outlive the workers, as the kernel's
    parent-death signal follows the thread that started each one.

    Example::

        executor = LocalExecutor(
            parallelism=4,
            worker_function="myproject.worker:run_payload",  # payload -> AttemptOutcome
            prepare=lambda key, worker: Dispatch(payload=key, timeout_s=None),
        )
        executor.start()
        executor.queue(key)
        finished = executor.poll(timeout=1.0)   # [(key, AttemptOutcome), ...]
        executor.stop()
    """

    def __init__(
        self,
        *,
        parallelism: int,
        worker_function: str,
        prepare: Callable[[AttemptKey, WorkerInfo], Dispatch | None],
        max_tasks_per_worker: int = 0,
        max_worker_memory_mb: int = 0,
        kill_grace_s: float = 5.0,
        idle_timeout_s: float = 60.0,
        start_attempts: int = 5,
        clock: Clock | None = None,
        start_method: str = "forkserver",
        preload: Sequence[str] = (),
        queued_ahead: int = 0,
    ) -> None:
        if parallelism < 1:
            raise HeadwaterError(f"parallelism must be at least 1, not {parallelism}")
        if ":" not in worker_function:
            raise HeadwaterError(
                f"worker_function {worker_function!r} is not of the form 'module:function'"
            )
        counts = (max_tasks_per_worker, max_worker_memory_mb, kill_grace_s, idle_timeout_s)
        if min(*counts, queued_ahead) < 0:
            raise HeadwaterError(
                "max_tasks_per_worker, max_worker_memory_mb, kill_grace_s, idle_timeout_s and "
                "queued_ahead cannot be negative"
            )
        if start_method not in START_METHODS:
            raise HeadwaterError(
                f"start_method must be one of {', '.join(START_METHODS)}, not {start_method!r}"
            )
        self.parallelism = parallelism
        self.queued_ahead = queued_ahead
        self.worker_function = worker_function
        self._prepare = prepare
        self._kill_grace_s = kill_grace_s
        self._clock: Clock = clock or SystemClock()
        self._hostname = socket.gethostname()
        self._starts = WorkerStarts(
            worker_function=worker_function,
            max_tasks=max_tasks_per_worker,
            max_memory_mb=max_worker_memory_mb,
            start_attempts=start_attempts,
            start_method=start_method,
            preload=preload,
            hostname=self._hostname,
        )
        self._deadlines = WorkerDeadlines(kill_grace_s, idle_timeout_s)
        self._queue: deque[AttemptKey] = deque()
        self._workers: list[WorkerHandle] = []
        self._adopted = AdoptedWorkers(self._hostname, kill_grace_s)
        self._finished: list[tuple[AttemptKey, AttemptOutcome]] = []
        self._started_events: list[AttemptStarted] = []
        self._started = False
        self._at_exit: Callable[[], None] | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Get ready to start workers, which start when attempts need them. Fails here if
        the worker function cannot be loaded."""
        if self._started:
            return
        self._starts.prepare()
        self._started = True
        # Workers are not daemonic (their tasks may start processes of their own), so
        # multiprocessing would wait for them at exit forever: stop them first. atexit runs
        # this before multiprocessing's own exit handler, which was registered earlier.
        self._at_exit = functools.partial(_stop_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)

    def stop(self) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Stop every worker and wait for them; queued keys are dropped. Idempotent.

        Results already sent by workers are read first and returned (with anything ``poll``
        has not returned yet). Idle workers are asked to exit; busy and starting ones get
        SIGTERM (their tasks unwind), and SIGKILL if still there after ``kill_grace_s``.
        Attempts cut short here are not reported: the caller records them as stopped.
        """
        if not self._started:
            finished, self._finished = self._finished, []
            return finished
        self._started = False
        if self._at_exit is not None:
            atexit.unregister(self._at_exit)
            self._at_exit = None
        self._queue.clear()
        try:
            self._collect(0.0)  # an attempt that just ended is reported, not cut short
        except Exception:
            log.exception("Could not read the workers' last results")
        stop_workers(self._workers, self._kill_grace_s)
        self._workers.clear()
        self._adopted.stop()
        self._stop_fork_server()
        finished, self._finished = self._finished, []
        return finished

    # -- the Executor interface ----------------------------------------------------------------

    def queue(self, key: AttemptKey) -> None:
        """Run ``key`` on the first idle worker, in FIFO order: now if one is idle, else on
        a worker started for it (while fewer than ``parallelism`` run)."""
        if not self._started:
            raise HeadwaterError("LocalExecutor.queue() before start()")
        self._queue.append(key)
        self._dispatch()

    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Every attempt that ended, waiting up to ``timeout`` seconds for the first one.

        Raises :class:`WorkerStartError` once workers failed to start
        ``start_attempts`` times in a row.
        """
        self._check_deadlines()
        self._dispatch()
        if not self._finished:
            until = time.monotonic() + max(timeout, 0.0)
            while True:
                wait_s = max(min(until - time.monotonic(), self._next_deadline_in()), 0.0)
                if self._workers or self._adopted:
                    self._collect(wait_s)
                elif wait_s > 0:
                    time.sleep(wait_s)  # nothing runs, so nothing can end meanwhile
                self._check_deadlines()
                self._dispatch()
                if self._finished or self._starts.failures.error or time.monotonic() >= until:
                    break
        self._raise_if_workers_cannot_start()
        finished, self._finished = self._finished, []
        return finished

    def started(self) -> list[AttemptStarted]:
        started, self._started_events = self._started_events, []
        return started

    def waiting(self) -> int:
        return len(self._queue)

    def heartbeat(self) -> None:
        """Enforce timeouts, notice dead workers, retire idle ones, dispatch."""
        if not self._started:
            return
        self._check_deadlines()
        self._collect(0.0)
        self._dispatch()
        self._raise_if_workers_cannot_start()

    def kill(self, key: AttemptKey) -> None:
        """Drop ``key`` if queued; terminate its worker if running (reported by ``poll``)."""
        if key in self._queue:
            self._queue.remove(key)
            return
        if self._adopted.kill(key, "killed on request; worker process terminated", self._now()):
            return
        for worker in self._workers:
            if worker.key == key and worker.ending is None:
                self._deadlines.terminate(
                    worker, "killed on request; worker process terminated", self._now()
                )

    def adopt(
        self,
        key: AttemptKey,
        pid: int,
        hostname: str,
        started_at: datetime,
        timeout_s: float | None,
    ) -> bool:
        """Watch the worker ``pid`` an earlier scheduler on this machine left running
        ``key`` (see :mod:`~headwater.executors.adopted_workers`); ``poll`` reports it when
        it ends. False if it is not one of headwater's workers still alive here."""
        if not self._started:
            raise HeadwaterError("LocalExecutor.adopt() before start()")
        if hostname != self._hostname or any(w.info.pid == pid for w in self._workers):
            return False
        return self._adopted.adopt(key, pid, started_at, timeout_s, self._now())

    @property
    def has_work(self) -> bool:
        busy = any(w.key for w in self._workers)
        return bool(self._queue or self._finished or self._adopted or busy)

    def running(self) -> dict[AttemptKey, WorkerInfo]:
        """Attempts sent to a worker (or adopted) and not reported yet, with their worker."""
        running = {w.key: w.info for w in self._workers if w.key is not None}
        running.update(self._adopted.running())
        return running

    def worker_pids(self) -> list[int]:
        """The worker processes there are now (starting, idle, busy or on their way out)."""
        return [w.info.pid for w in self._workers]

    # -- workers -------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        """Start one more worker, unless starts are backing off after failures."""
        worker = self._starts.start(self._now())
        if worker is not None:
            self._workers.append(worker)

    def _dispatch(self) -> None:
        """Hand queued keys to idle workers; start workers for the keys left over, one per
        key, while fewer than ``parallelism`` are in the pool."""
        while self._queue and self._started:
            worker = next((w for w in self._workers if w.idle), None)
            if worker is None:
                break
            self._send(worker, self._queue.popleft())
        if not self._started or not self._queue:
            return
        in_pool = [w for w in self._workers if w.in_pool]
        starting = sum(1 for w in in_pool if not w.ready)
        wanted = min(len(self._queue) - starting, self.parallelism - len(in_pool))
        for _ in range(wanted):
            before = len(self._workers)
            self._start_worker()
            if len(self._workers) == before:
                return  # backing off, or the start failed

    def _send(self, worker: WorkerHandle, key: AttemptKey) -> None:
        try:
            dispatch = self._prepare(key, worker.info)
        except Exception as exc:
            log.exception("prepare() failed for %s", described(key))
            self._fail(key, f"could not prepare the attempt: {exception_text(exc)}")
            return
        if dispatch is None:
            return
        try:
            data = _worker.encode(_worker.Run(dispatch.payload))
        except Exception as exc:
            text = exception_text(exc)
            self._fail(key, f"the attempt's payload cannot be sent to a worker: {text}")
            return
        worker.key = key
        worker.idle_since = None
        self._deadlines.sent(worker, dispatch.timeout_s, self._now())
        assert worker.conn is not None
        info = worker.info
        self._started_events.append(AttemptStarted(key, info.hostname, info.pid, self._clock.now()))
        try:
            worker.conn.send_bytes(data)
        except OSError:
            pass  # the worker just died: its sentinel reports the attempt as lost

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
            return  # being killed: reported with the reason once the process is gone
        self._finished.append((worker.key, message.outcome))
        worker.key = worker.timeout_s = worker.deadline = None
        worker.idle_since = self._now()
        if message.leaving is not None:
            worker.leaving = True
            log.info(
                "Worker %s (pid %d) %s: replacing it",
                worker.info.worker_id,
                worker.info.pid,
                message.leaving,
            )

    def _reap(self, worker: WorkerHandle) -> None:
        """The worker process has exited: report its attempt if it had one, forget it."""
        if worker.conn is not None:
            self._read(worker)  # a last result may be waiting in the pipe
        worker.process.join()
        code = worker.process.exitcode
        if worker.key is not None:
            self._fail(worker.key, worker.ending or _death_reason(code))
        elif not worker.ready and worker.ending is None and self._started:
            self._starts.failed_to_start(worker, code, self._now())
        elif worker.in_pool and self._started:
            log.warning(
                "Worker %s (pid %d) exited while idle (%s)",
                worker.info.worker_id,
                worker.info.pid,
                exit_text(code),
            )
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


def _stop_at_exit(ref: weakref.ref[LocalExecutor]) -> None:
    executor = ref()
    if executor is not None:
        executor.stop()


def _death_reason(code: int | None) -> str:
    return f"worker process {exit_text(code)} while running the task"

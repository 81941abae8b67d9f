r"""LocalExecutor: runs attempts in a pool of long-lived worker processes on this machine.

The scheduler (one thread and process, holding database connections) calls ``queue(key)``
for up to ``parallelism + queued_ahead`` attempts; when a worker is idle, the executor calls
``prepare(key, worker)`` in the scheduler's process (the message, from memory) and sends
the returned :class:`Dispatch` payload down that worker's pipe. ``poll`` waits on every
worker's result pipe and process sentinel at once (``multiprocessing.connection.wait``: no
sleeping loop), hands the keys queued ahead to the workers that just reported (before the
scheduler writes anything), and returns the outcomes that are ready. With ``standby=True``
(the scheduler's: its worker function claims each attempt) a busy worker also holds its
next key in its pipe and starts it the moment its current attempt ends
(:mod:`headwater.executors.local_standby`).

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

from headwater.clock import Clock, SystemClock
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.exceptions import HeadwaterError
from headwater.executors import local_standby
from headwater.executors.adopted_workers import AdoptedWorkers
from headwater.executors.base import AttemptStarted, Executor
from headwater.executors.local_deadlines import WorkerDeadlines
from headwater.executors.local_pool import KILLED, WorkerPool
from headwater.executors.local_worker_starts import START_METHODS, WorkerStarts
from headwater.executors.local_workers import Dispatch, WorkerHandle, WorkerInfo, stop_workers
from headwater.executors.start_failures import WorkerStartError

__all__ = ["Dispatch", "LocalExecutor", "WorkerInfo", "WorkerStartError"]

log = logging.getLogger(__name__)


class LocalExecutor(WorkerPool, Executor):
    """Runs attempts in up to ``parallelism`` worker processes, holding up to ``queued_ahead``
    more until one is free; see the module docstring.

    ``preload`` names more modules for the fork server to import once, such as what the
    worker function imports lazily (``"headwater.runtime.task_runner"``, the store).

    ``standby=True`` sends each busy worker its next key to hold, and may send a key to two
    workers (an idle one takes over a key waiting behind a long attempt): only for a worker
    function that claims each attempt and refuses one already started elsewhere, as
    headwater's does.

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
        standby: bool = False,
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
        self.standby = standby
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
        self._too_big: AttemptKey | None = None
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
        for worker in self._workers:
            if worker.conn is not None:
                try:
                    # An attempt that ended before its worker stopped is reported, and a
                    # standby it went on to is reported started: the caller puts it back
                    # as stopped (or applies what it recorded).
                    self._read(worker)
                except Exception:
                    log.exception("Could not read the last results of %s", worker.info.worker_id)
            worker.release()
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
        """Drop ``key`` if queued; terminate its worker if running (reported by ``poll``),
        or, if it waits in a busy worker's pipe, once that worker starts it."""
        if key in self._queue:
            self._queue.remove(key)
            return
        if self._adopted.kill(key, KILLED, self._now()):
            return
        for worker in self._workers:
            if worker.key == key and worker.ending is None:
                self._deadlines.terminate(worker, KILLED, self._now())
        local_standby.kill(self._workers, key)

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


def _stop_at_exit(ref: weakref.ref[LocalExecutor]) -> None:
    executor = ref()
    if executor is not None:
        executor.stop()

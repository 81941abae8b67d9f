"""LocalExecutor: runs attempts in a pool of long-lived worker processes on this machine.

The scheduler (one thread, one process, holding database connections) calls ``queue(key)``;
when a worker is idle, the executor calls ``prepare(key, worker)`` in the scheduler's
process, where the scheduler commits the attempt as running with the worker's pid and host,
and sends the returned :class:`Dispatch` payload down that worker's pipe. ``poll`` waits on
every worker's result pipe and process sentinel at once (``multiprocessing.connection.wait``:
event driven, no sleeping loop) and returns the outcomes that are ready.

Workers are never forks of the scheduler: a fork would inherit its database connections and
whatever its threads held. They come from multiprocessing's **fork server**, a clean
interpreter started once (about 0.15 s) with headwater and the worker function's module
preloaded, which forks a ready worker: an attempt on a fresh worker took 18-26 ms here,
against 170-240 ms with the ``spawn`` start method, which starts a new interpreter and
imports headwater every time (``benchmarks/local_executor_overhead.py``; ``start_method=
"spawn"`` remains available). Workers (re)start after a crash, a kill, a timeout and every
recycling (``max_tasks_per_worker=1`` is one per attempt), so that cost matters.

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
  (the runtime's own SIGALRM timeout normally ends it first; this is the backstop for a task
  stuck in C code or ignoring signals) is killed the same way and reported FAILED "timed out
  after N s (execution_timeout); worker killed". Before a SIGKILL the executor also kills
  the worker's direct children and the process groups they lead, which SIGKILL would orphan.

A worker whose memory (RSS) is above ``max_worker_memory_mb`` after an attempt, or that ran
``max_tasks_per_worker`` attempts, exits after reporting and is replaced. Workers die with
the scheduler (the kernel SIGKILLs them, see :mod:`headwater.executors._worker`), so a
scheduler killed with ``kill -9`` leaves no attempt running; and before a new scheduler runs
a lost attempt again, :meth:`LocalExecutor.kill_leftover` kills its old worker if it is
still there (a worker is recognised by its process name and start time, so a process that
reused the pid is left alone).

Deadlines (the hard timeout, the SIGKILL after SIGTERM) follow the injected clock and are
checked by :meth:`heartbeat` and :meth:`poll`; :meth:`stop` waits in real time.
"""

from __future__ import annotations

import atexit
import functools
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from headwater.clock import Clock, SystemClock
from headwater.engine.records import AttemptOutcome, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import HeadwaterError
from headwater.executors import _worker
from headwater.executors.base import Executor

__all__ = ["Dispatch", "LocalExecutor", "WorkerInfo"]

log = logging.getLogger(__name__)

START_METHODS = ("forkserver", "spawn")

_PIPE_CLOSED_WAIT_S = 1.0
"""How long a worker whose pipe closed may take to exit before it is terminated."""

_LEFTOVER_EXIT_WAIT_S = 10.0
"""How long a leftover worker killed with SIGKILL may take to be gone."""

_START_TIME_SLACK_S = 2.0
"""A process's start time read from /proc is exact to about a second (boot time is stored
in whole seconds): a leftover worker must have started at most this long after its attempt."""


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process, as ``prepare`` and ``running()`` see it."""

    worker_id: str
    pid: int
    hostname: str
    started_at: float
    """When the worker process started (seconds since the epoch, from the executor's clock)."""


@dataclass(frozen=True)
class Dispatch:
    """What ``prepare`` returns for an attempt that should run.

    Example::

        def prepare(key, worker):
            store.start_attempt(key, pid=worker.pid, hostname=worker.hostname)
            return Dispatch(payload=AttemptPayload(...), timeout_s=600.0)
    """

    payload: Any
    """Picklable; the worker calls ``worker_function(payload)``."""
    timeout_s: float | None = None
    """The task's execution_timeout; the worker is killed ``kill_grace_s`` after it."""


@dataclass(eq=False)
class _Worker:
    info: WorkerInfo
    process: BaseProcess
    conn: Connection | None
    """The executor's end of the worker's pipe; None once it closed."""
    key: TaskInstanceKey | None = None
    """The attempt sent to this worker and not reported yet."""
    timeout_s: float | None = None
    deadline: float | None = None
    """Clock time after which the attempt is killed (timeout_s + kill_grace_s)."""
    ending: str | None = None
    """Set once the executor terminates the worker: the error its attempt is reported with."""
    sigkill_at: float | None = None
    leaving: bool = False
    """The worker announced it exits after its last result (recycled)."""

    @property
    def in_pool(self) -> bool:
        """Counts towards ``parallelism`` (not on its way out)."""
        return not self.leaving and self.ending is None

    @property
    def idle(self) -> bool:
        return self.in_pool and self.key is None and self.conn is not None


class LocalExecutor(Executor):
    """Runs attempts in ``parallelism`` worker processes; see the module docstring.

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
        prepare: Callable[[TaskInstanceKey, WorkerInfo], Dispatch | None],
        max_tasks_per_worker: int = 0,
        max_worker_memory_mb: int = 0,
        kill_grace_s: float = 5.0,
        clock: Clock | None = None,
        start_method: str = "forkserver",
        preload: Sequence[str] = (),
    ) -> None:
        if parallelism < 1:
            raise HeadwaterError(f"parallelism must be at least 1, not {parallelism}")
        if ":" not in worker_function:
            raise HeadwaterError(
                f"worker_function {worker_function!r} is not of the form 'module:function'"
            )
        if max_tasks_per_worker < 0 or max_worker_memory_mb < 0 or kill_grace_s < 0:
            raise HeadwaterError(
                "max_tasks_per_worker, max_worker_memory_mb and kill_grace_s cannot be negative"
            )
        if start_method not in START_METHODS:
            raise HeadwaterError(
                f"start_method must be one of {', '.join(START_METHODS)}, not {start_method!r}"
            )
        self.parallelism = parallelism
        self.worker_function = worker_function
        self._prepare = prepare
        self._max_tasks = max_tasks_per_worker
        self._max_memory_mb = max_worker_memory_mb
        self._kill_grace_s = kill_grace_s
        self._clock: Clock = clock or SystemClock()
        self._start_method = start_method
        self._preload = list(preload)
        self._context: Any = None
        self._hostname = socket.gethostname()
        self._queue: deque[TaskInstanceKey] = deque()
        self._workers: list[_Worker] = []
        self._finished: list[tuple[TaskInstanceKey, AttemptOutcome]] = []
        self._started = False
        self._next_id = 0
        self._at_exit: Callable[[], None] | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start ``parallelism`` workers. Fails here if the worker function cannot be loaded."""
        if self._started:
            return
        try:
            _worker.load_function(self.worker_function)
        except Exception as exc:
            raise HeadwaterError(
                f"worker_function {self.worker_function!r} cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        context: Any = multiprocessing.get_context(self._start_method)
        if self._start_method == "forkserver":
            # Takes effect when the (process-wide) fork server starts; if it already runs,
            # workers import these themselves, once each. On Python 3.11 the server ignores
            # the scheduler's sys.path and never preloads __main__ (CPython gh-117378 and
            # gh-126631, fixed in later releases): a module found only through sys.path
            # changes is imported by each worker, and each worker runs the main script's
            # imports again, as with spawn. Installed modules (headwater's) do preload.
            module = self.worker_function.partition(":")[0]
            context.set_forkserver_preload(
                ["__main__", "headwater.executors.local", module, *self._preload]
            )
        self._context = context
        self._started = True
        # Workers are not daemonic (their tasks may start processes of their own), so
        # multiprocessing would wait for them at exit forever: stop them first. atexit runs
        # this before multiprocessing's own exit handler, which was registered earlier.
        self._at_exit = functools.partial(_stop_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)
        try:
            for _ in range(self.parallelism):
                self._workers.append(self._start_worker())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> list[tuple[TaskInstanceKey, AttemptOutcome]]:
        """Stop every worker and wait for them; queued keys are dropped. Idempotent.

        Results already sent by workers are read first and returned (with anything ``poll``
        has not returned yet). Idle workers are asked to exit; busy ones get SIGTERM (their
        tasks unwind), and SIGKILL if still there after ``kill_grace_s``. Attempts cut short
        here are not reported: the caller records them as stopped.
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
        for worker in self._workers:
            if worker.process.exitcode is not None:
                continue
            if worker.idle and worker.conn is not None:
                try:
                    worker.conn.send_bytes(pickle.dumps(_worker.Stop()))
                except OSError:
                    worker.process.terminate()
            elif not worker.leaving and worker.ending is None:
                worker.process.terminate()
        deadline = time.monotonic() + self._kill_grace_s
        pending: dict[Any, _Worker] = {w.process.sentinel: w for w in self._workers}
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for sentinel in wait(list(pending), remaining):
                pending.pop(sentinel)
        for worker in pending.values():
            self._sigkill(worker)
        for worker in self._workers:
            self._release(worker)
        self._workers.clear()
        finished, self._finished = self._finished, []
        return finished

    # -- the Executor interface ----------------------------------------------------------------

    def queue(self, key: TaskInstanceKey) -> None:
        """Run ``key`` on the first idle worker, in FIFO order: now if one is idle."""
        if not self._started:
            raise HeadwaterError("LocalExecutor.queue() before start()")
        self._queue.append(key)
        self._dispatch()

    def poll(self, timeout: float) -> list[tuple[TaskInstanceKey, AttemptOutcome]]:
        """Every attempt that ended, waiting up to ``timeout`` seconds for the first one."""
        self._check_deadlines()
        if not self._finished:
            until = time.monotonic() + max(timeout, 0.0)
            while self._workers:
                self._collect(max(min(until - time.monotonic(), self._next_deadline_in()), 0.0))
                self._check_deadlines()
                if self._finished or time.monotonic() >= until:
                    break
        self._fill_pool()
        self._dispatch()
        finished, self._finished = self._finished, []
        return finished

    def heartbeat(self) -> None:
        """Enforce timeouts, notice dead workers, keep the pool full, dispatch."""
        if not self._started:
            return
        self._check_deadlines()
        self._collect(0.0)
        self._fill_pool()
        self._dispatch()

    def kill(self, key: TaskInstanceKey) -> None:
        """Drop ``key`` if queued; terminate its worker if running (reported by ``poll``)."""
        if key in self._queue:
            self._queue.remove(key)
            return
        for worker in self._workers:
            if worker.key == key and worker.ending is None:
                self._terminate(worker, "killed on request; worker process terminated")

    def kill_leftover(self, pid: int, started_at: datetime) -> bool:
        """SIGKILL worker ``pid`` left by an earlier scheduler on this machine, with the
        process groups its task started, and wait until it is gone.

        Only a live process named like a worker (``headwater-wrk``) that started before
        ``started_at`` (the attempt it ran) and is not one of this executor's is killed.
        """
        if pid <= 1 or pid == os.getpid() or any(w.info.pid == pid for w in self._workers):
            return False
        if not _worker.is_worker(pid):
            return False
        began = _process_start(pid)
        if began is None or began > started_at.timestamp() + _START_TIME_SLACK_S:
            return False  # a newer process that reused the pid
        log.warning(
            "Killing worker process %d, left running by a scheduler that stopped, before its "
            "task runs again",
            pid,
        )
        _kill_child_groups(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        deadline = time.monotonic() + _LEFTOVER_EXIT_WAIT_S
        while _worker.is_worker(pid):
            if time.monotonic() >= deadline:
                log.error("Worker process %d is still there after SIGKILL", pid)
                break
            time.sleep(0.01)
        return True

    @property
    def has_work(self) -> bool:
        return bool(self._queue or self._finished or any(w.key for w in self._workers))

    def running(self) -> dict[TaskInstanceKey, WorkerInfo]:
        """Attempts sent to a worker and not reported yet, with their worker."""
        return {w.key: w.info for w in self._workers if w.key is not None}

    # -- workers -------------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        self._next_id += 1
        worker_id = f"worker-{self._next_id}"
        options = _worker.WorkerOptions(
            worker_id=worker_id,
            worker_function=self.worker_function,
            max_tasks=self._max_tasks,
            max_memory_mb=self._max_memory_mb,
            scheduler_pid=os.getpid(),
            fork_server=self._start_method == "forkserver",
        )
        ours, theirs = self._context.Pipe()
        process: BaseProcess = self._context.Process(
            target=_worker.main, args=(theirs, options), name=f"headwater-{worker_id}"
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            # Only the worker may hold its end, so that its death reads as EOF here.
            theirs.close()
        assert process.pid is not None
        info = WorkerInfo(worker_id, process.pid, self._hostname, self._now())
        return _Worker(info, process, ours)

    def _fill_pool(self) -> None:
        if not self._started:
            return
        missing = self.parallelism - sum(1 for w in self._workers if w.in_pool)
        for _ in range(missing):
            try:
                self._workers.append(self._start_worker())
            except Exception:
                log.exception("Could not start a worker process; trying again at the next poll")
                return

    def _dispatch(self) -> None:
        while self._queue:
            worker = next((w for w in self._workers if w.idle), None)
            if worker is None:
                return
            self._send(worker, self._queue.popleft())

    def _send(self, worker: _Worker, key: TaskInstanceKey) -> None:
        try:
            dispatch = self._prepare(key, worker.info)
        except Exception as exc:
            log.exception("prepare() failed for %s", key)
            self._finished.append((key, _failed(f"could not prepare the attempt: {_text(exc)}")))
            return
        if dispatch is None:
            return
        try:
            data = pickle.dumps(_worker.Run(dispatch.payload), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            self._finished.append(
                (key, _failed(f"the attempt's payload cannot be sent to a worker: {_text(exc)}"))
            )
            return
        worker.key = key
        worker.timeout_s = dispatch.timeout_s
        if dispatch.timeout_s is not None:
            worker.deadline = self._now() + dispatch.timeout_s + self._kill_grace_s
        assert worker.conn is not None
        try:
            worker.conn.send_bytes(data)
        except OSError:
            pass  # the worker just died: its sentinel reports the attempt as lost

    def _collect(self, timeout: float) -> None:
        """Wait up to ``timeout`` for results and worker deaths, and take them in."""
        waitables: dict[Any, _Worker] = {}
        for worker in self._workers:
            if worker.conn is not None:
                waitables[worker.conn] = worker
            waitables[worker.process.sentinel] = worker
        if not waitables:
            return
        ready = wait(list(waitables), timeout)
        dead = []
        for obj in ready:
            worker = waitables[obj]
            if isinstance(obj, int):
                dead.append(worker)
            elif worker.conn is not None:
                self._read(worker)
        for worker in dead:
            self._reap(worker)

    def _read(self, worker: _Worker) -> None:
        conn = worker.conn
        assert conn is not None
        try:
            while conn.poll():
                data = conn.recv_bytes()
                try:
                    message = pickle.loads(data)
                except Exception as exc:
                    message = _worker.Result(
                        _failed(f"the worker's result cannot be read: {_text(exc)}")
                    )
                self._on_result(worker, message)
        except (EOFError, OSError):
            conn.close()
            worker.conn = None
            if worker.ending is None:
                # It died or is dying: its exit status is on the sentinel in a moment.
                worker.process.join(_PIPE_CLOSED_WAIT_S)
                if worker.process.exitcode is None:
                    self._terminate(worker, "worker process closed its pipe to the executor")

    def _on_result(self, worker: _Worker, message: Any) -> None:
        if not isinstance(message, _worker.Result) or worker.key is None:
            log.warning(
                "Ignoring an unexpected message from %s: %r", worker.info.worker_id, message
            )
            return
        if worker.ending is not None:
            return  # being killed: reported with the reason once the process is gone
        self._finished.append((worker.key, message.outcome))
        worker.key = worker.timeout_s = worker.deadline = None
        if message.leaving is not None:
            worker.leaving = True
            log.info(
                "Worker %s (pid %d) %s: replacing it",
                worker.info.worker_id,
                worker.info.pid,
                message.leaving,
            )

    def _reap(self, worker: _Worker) -> None:
        """The worker process has exited: report its attempt if it had one, forget it."""
        if worker.conn is not None:
            self._read(worker)  # a last result may be waiting in the pipe
        worker.process.join()
        code = worker.process.exitcode
        if worker.key is not None:
            self._finished.append((worker.key, _failed(worker.ending or _death_reason(code))))
        elif worker.in_pool and self._started:
            log.warning(
                "Worker %s (pid %d) exited while idle (%s); starting another",
                worker.info.worker_id,
                worker.info.pid,
                _exit_text(code),
            )
        self._workers.remove(worker)
        self._release(worker)

    def _release(self, worker: _Worker) -> None:
        worker.process.join()
        if worker.conn is not None:
            worker.conn.close()
            worker.conn = None
        worker.process.close()

    # -- timeouts and kills --------------------------------------------------------------------

    def _check_deadlines(self) -> None:
        now = self._now()
        for worker in self._workers:
            if (
                worker.ending is None
                and worker.key is not None
                and worker.deadline is not None
                and now >= worker.deadline
            ):
                self._terminate(
                    worker,
                    f"timed out after {worker.timeout_s:g} s (execution_timeout); worker killed",
                )
            elif worker.sigkill_at is not None and now >= worker.sigkill_at:
                self._sigkill(worker)

    def _next_deadline_in(self) -> float:
        """Seconds until the next deadline on the clock (infinity if none)."""
        deadlines = [w.deadline for w in self._workers if w.ending is None and w.deadline]
        deadlines += [w.sigkill_at for w in self._workers if w.sigkill_at is not None]
        if not deadlines:
            return float("inf")
        return min(deadlines) - self._now()

    def _terminate(self, worker: _Worker, reason: str) -> None:
        worker.ending = reason
        worker.sigkill_at = self._now() + self._kill_grace_s
        log.warning(
            "Terminating worker %s (pid %d) running %s: %s",
            worker.info.worker_id,
            worker.info.pid,
            worker.key,
            reason,
        )
        if worker.process.exitcode is None:
            worker.process.terminate()

    def _sigkill(self, worker: _Worker) -> None:
        worker.sigkill_at = None
        if worker.process.exitcode is None:
            _kill_child_groups(worker.info.pid)
            worker.process.kill()

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _stop_at_exit(ref: weakref.ref[LocalExecutor]) -> None:
    executor = ref()
    if executor is not None:
        executor.stop()


def _failed(error: str) -> AttemptOutcome:
    return AttemptOutcome(TaskInstanceState.FAILED, error=error)


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _exit_text(code: int | None) -> str:
    if code is None:
        return "vanished"
    if code < 0:
        try:
            return f"died with signal {signal.Signals(-code).name}"
        except ValueError:
            return f"died with signal {-code}"
    return f"exited with code {code}"


def _death_reason(code: int | None) -> str:
    return f"worker process {_exit_text(code)} while running the task"


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (Linux: /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
        ticks = int(fields[19])  # field 22 of stat: start time in clock ticks since boot
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _kill_child_groups(pid: int) -> None:
    """SIGKILL the direct children of ``pid``, and the process groups those children lead.

    A task's commands (``BashOperator`` starts each in its own session) would outlive a
    worker killed with SIGKILL. Linux only (reads /proc); elsewhere it does nothing.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
                fields = stat.read().rpartition(b")")[2].split()
            ppid, pgrp = int(fields[1]), int(fields[2])
        except (OSError, ValueError, IndexError):
            continue
        if ppid != pid:
            continue
        child = int(entry)
        try:
            if pgrp == child:
                os.killpg(child, signal.SIGKILL)
            else:
                os.kill(child, signal.SIGKILL)
        except OSError:
            pass

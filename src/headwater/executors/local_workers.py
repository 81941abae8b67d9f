"""The local executor's worker processes seen from the executor: what it knows of each one,
and how one is started and stopped.

:class:`~headwater.executors.local.LocalExecutor` decides when; this module does the
process work. What runs inside a worker is :mod:`headwater.executors._worker`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from headwater.engine.records import AttemptKey
from headwater.executors import _worker
from headwater.executors.process_tree import kill_child_groups, main_script_hidden

__all__ = [
    "Dispatch",
    "Standby",
    "WorkerHandle",
    "WorkerInfo",
    "described",
    "send_to",
    "start_worker",
    "stop_fork_server",
    "stop_workers",
]

log = logging.getLogger("headwater.executors.local")


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
            return Dispatch(payload=AttemptMessage(...).to_json(), timeout_s=600.0)
    """

    payload: Any
    """A JSON value; the worker calls ``worker_function(payload)``."""
    timeout_s: float | None = None
    """The task's execution_timeout; the worker is killed ``kill_grace_s`` after it."""


@dataclass(eq=False)
class Standby:
    """An attempt sent to a busy worker, to start the moment its current attempt ends."""

    key: AttemptKey
    data: bytes
    """The ``Run`` message as sent (sent again as is to a worker that takes it over)."""
    timeout_s: float | None
    taken_over: bool = False
    """Also sent to a worker that went idle first: whichever claims it runs it (the
    other's claim is refused), and this worker's copy is no longer the executor's to
    report, put back or start."""
    killed: bool = False
    """``kill`` asked for it while it waited: its worker is terminated if it starts it."""


@dataclass(eq=False)
class WorkerHandle:
    """The executor's view of one worker process."""

    info: WorkerInfo
    process: BaseProcess
    conn: Connection | None
    """The executor's end of the worker's pipe; None once it closed."""
    ready: bool = False
    """The worker said it started (``_worker.Ready``); until then it gets no attempt."""
    start_failure: str | None = None
    """Why the worker could not start, as it said (``_worker.StartFailed``)."""
    idle_since: float | None = None
    """Clock time since which the ready worker has had no attempt."""
    key: AttemptKey | None = None
    """The attempt sent to this worker and not reported yet."""
    standby: Standby | None = None
    """The attempt waiting in this busy worker's pipe, if any."""
    ended_while_ending: bool = False
    """The worker reported its attempt after it was told to end (and does not leave): it
    may have read its standby and started it."""
    runs_a_copy: bool = False
    """The current attempt is a standby another worker took over: a report of it that this
    worker did not record is not the attempt's (the other worker's claim won)."""
    timeout_s: float | None = None
    deadline: float | None = None
    """Clock time after which the attempt is killed (timeout_s + kill_grace_s)."""
    ending: str | None = None
    """Set once the executor terminates the worker: the error its attempt is reported with."""
    sigkill_at: float | None = None
    leaving: bool = False
    """The worker exits after its last result (recycled) or was asked to (idle)."""
    retired: bool = False
    """Asked to exit after ``idle_timeout_s`` without an attempt."""

    @property
    def in_pool(self) -> bool:
        """Counts towards ``parallelism`` (not on its way out)."""
        return not self.leaving and self.ending is None

    @property
    def idle(self) -> bool:
        """Ready for an attempt now."""
        return self.in_pool and self.ready and self.key is None and self.conn is not None

    @property
    def can_stand_by(self) -> bool:
        """Busy, staying, and with no attempt waiting in its pipe yet."""
        return (
            self.in_pool and self.key is not None and self.standby is None and self.conn is not None
        )

    def sigkill(self) -> None:
        """SIGKILL the worker, and first its children's process groups, which it would
        orphan (a task's commands in sessions of their own)."""
        self.sigkill_at = None
        if self.process.exitcode is None:
            kill_child_groups(self.info.pid)
            self.process.kill()

    def release(self) -> None:
        """Wait for the (exited or killed) process and free its pipe and handle."""
        self.process.join()
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.process.close()


def start_worker(
    context: Any, options: _worker.WorkerOptions, hostname: str, now: float
) -> WorkerHandle:
    """Start one worker process (it says ``Ready`` on its pipe once it can take attempts)."""
    ours, theirs = context.Pipe()
    process: BaseProcess = context.Process(
        target=_worker.main, args=(theirs, options), name=f"headwater-{options.worker_id}"
    )
    try:
        with main_script_hidden():
            process.start()
    except BaseException:
        ours.close()
        raise
    finally:
        # Only the worker may hold its end, so that its death reads as EOF here.
        theirs.close()
    assert process.pid is not None
    return WorkerHandle(WorkerInfo(options.worker_id, process.pid, hostname, now), process, ours)


def send_to(worker: WorkerHandle, data: bytes) -> None:
    """Send one encoded message down ``worker``'s pipe."""
    assert worker.conn is not None
    try:
        worker.conn.send_bytes(data)
    except OSError:
        pass  # the worker just died: its sentinel reports its attempt as lost


def stop_workers(workers: list[WorkerHandle], kill_grace_s: float) -> None:
    """Stop ``workers`` and wait for them: idle ones are asked to exit, busy and starting
    ones get SIGTERM (their tasks unwind), SIGKILL for those still there after
    ``kill_grace_s``. Their pipes stay open, with what the workers sent last, until the
    caller releases them."""
    for worker in workers:
        if worker.process.exitcode is not None:
            continue
        if worker.idle and worker.conn is not None:
            try:
                worker.conn.send_bytes(_worker.encode(_worker.Stop()))
            except OSError:
                worker.process.terminate()
        elif not worker.leaving and worker.ending is None:
            worker.process.terminate()
    deadline = time.monotonic() + kill_grace_s
    pending: dict[Any, WorkerHandle] = {w.process.sentinel: w for w in workers}
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for sentinel in wait(list(pending), remaining):
            pending.pop(sentinel)
    for worker in pending.values():
        worker.sigkill()
    for worker in workers:
        worker.process.join()


def stop_fork_server() -> None:
    """Stop multiprocessing's fork server if it runs (call only once no worker is left), so
    that an idle scheduler holds no preloaded interpreter; it starts again (under a second)
    with the next worker."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)  # CPython's own (its tests use it), 3.8+
    if stop is None or getattr(server, "_forkserver_pid", None) is None:
        return
    try:
        stop()
    except OSError as exc:
        log.warning("Could not stop the fork server: %s", exc)
        return
    _stop_resource_tracker()


def _stop_resource_tracker() -> None:
    """Let multiprocessing's resource tracker process exit with the fork server.

    The fork server starts it (every process the server forks gets its pipe), and nothing
    stopped it: it stayed next to an idle scheduler for good. Workers use only pipes; the
    tracker is there for the semaphores or shared memory a task might leave behind, and
    cleans them up when it exits. It exits once every process holding its pipe (this one,
    the server, the workers) has closed it: here that is as soon as the last worker has
    ended. The next worker starts it again, with the fork server.
    """
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    lock = getattr(tracker, "_lock", None)
    if tracker is None or lock is None:
        return
    with lock:
        fd, pid = getattr(tracker, "_fd", None), getattr(tracker, "_pid", None)
        if fd is None or pid is None:
            return
        # CPython's own ``_stop`` does this, then waits for the tracker without a limit; a
        # process a task started that kept the pipe would keep that wait (and the
        # executor's thread) going. Reap it in a thread of its own instead.
        os.close(fd)
        tracker._fd = None
        tracker._pid = None
    threading.Thread(target=_reap, args=(pid,), name="reap-resource-tracker", daemon=True).start()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def described(key: AttemptKey | None) -> str:
    """A task instance in a log line, as people read it (not the key's repr)."""
    if key is None:
        return "no task"
    return f"task {key.label} of run {key.run_id} of DAG {key.dag_id}"

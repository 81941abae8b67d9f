"""Workers an earlier scheduler left running, adopted by the local executor of the next one.

A worker process outlives a scheduler that dies while it runs an attempt (no parent-death
signal any more): it finishes the attempt, records the outcome with the attempt's row (see
:mod:`headwater.runtime.recorded_attempt`) and exits, as it can take no more work. A scheduler
that starts in the meantime finds the attempt running in the database and hands it to its
executor's :meth:`~headwater.executors.local.LocalExecutor.adopt`: the process is watched
through a pidfd (Linux 5.3+), killed on request or past its execution timeout like any
worker, and heartbeated by the scheduler while it lives. When it is gone the attempt is
reported *lost*, not recorded: the scheduler then finds the outcome the worker recorded
(its own compare-and-set loses) and applies that. A worker that ended without recording one
may never have received the attempt (its scheduler died while sending it), so the attempt
runs again without counting a retry, as any lost one. A process is adopted only if it is one of
headwater's workers (its name) that started before the attempt did (never a process that
reused the pid).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import wait

from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.executors import _worker
from headwater.executors.local_workers import WorkerInfo
from headwater.executors.process_tree import kill_child_groups, process_start

log = logging.getLogger("headwater.executors.local")

START_TIME_SLACK_S = 2.0
"""A process's start time read from /proc is exact to about a second (boot time is stored
in whole seconds): an adopted worker must have started at most this long after its attempt."""


def is_leftover_worker(pid: int, started_at: datetime) -> bool:
    """Whether ``pid`` is a live worker process that started before ``started_at`` (the
    attempt it ran), so the worker an earlier scheduler gave that attempt."""
    if pid <= 1 or pid == os.getpid() or not _worker.is_worker(pid):
        return False
    began = process_start(pid)
    return began is not None and began <= started_at.timestamp() + START_TIME_SLACK_S


@dataclass(eq=False)
class _Adopted:
    key: AttemptKey
    info: WorkerInfo
    pidfd: int
    deadline: float | None
    """Clock time past which it is killed (its start + execution_timeout + grace)."""
    timeout_s: float | None
    ending: str | None = None
    """Set once this executor kills it: the error its attempt is reported with."""
    sigkill_at: float | None = None

    def signal(self, signum: int) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signum)
        except ProcessLookupError:
            pass  # exited; its pidfd says so in a moment


class AdoptedWorkers:
    """The adopted workers of one executor; its thread calls every method."""

    def __init__(self, hostname: str, kill_grace_s: float) -> None:
        self._hostname = hostname
        self._kill_grace_s = kill_grace_s
        self._by_fd: dict[int, _Adopted] = {}

    def __len__(self) -> int:
        return len(self._by_fd)

    def adopt(
        self,
        key: AttemptKey,
        pid: int,
        started_at: datetime,
        timeout_s: float | None,
        now: float,
    ) -> bool:
        """Watch worker ``pid`` running ``key`` (since ``started_at``); False if it is not
        one (gone, or another process), or pidfds are not available here."""
        if not sys.platform.startswith("linux") or not is_leftover_worker(pid, started_at):
            return False
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return False
        if not is_leftover_worker(pid, started_at):  # it exited between the look and the fd
            os.close(pidfd)
            return False
        deadline = None
        if timeout_s is not None:
            deadline = started_at.timestamp() + timeout_s + self._kill_grace_s
        info = WorkerInfo(f"adopted-{pid}", pid, self._hostname, started_at.timestamp())
        self._by_fd[pidfd] = _Adopted(key, info, pidfd, deadline, timeout_s)
        log.warning(
            "Adopted worker process %d, still running task %s of run %s after its scheduler "
            "stopped; its outcome is applied when it ends",
            pid,
            key.label,
            key.run_id,
        )
        return True

    def waitables(self) -> list[int]:
        """The pidfds to wait on: each becomes readable when its process has exited."""
        return list(self._by_fd)

    def ended(self, pidfd: int) -> tuple[AttemptKey, AttemptOutcome]:
        """The report of the adopted worker whose pidfd became readable (it is forgotten)."""
        adopted = self._by_fd.pop(pidfd)
        os.close(pidfd)
        if adopted.ending is not None:
            return adopted.key, AttemptOutcome(TaskInstanceState.FAILED, error=adopted.ending)
        error = (
            f"lost: the worker process (pid {adopted.info.pid}, adopted after a scheduler "
            "restart) ended without recording how the attempt ended; it runs again (not "
            "counted as a retry)"
        )
        return adopted.key, AttemptOutcome(TaskInstanceState.FAILED, error=error, lost=True)

    def running(self) -> dict[AttemptKey, WorkerInfo]:
        return {a.key: a.info for a in self._by_fd.values()}

    def kill(self, key: AttemptKey, reason: str, now: float) -> bool:
        """SIGTERM the adopted worker running ``key`` (SIGKILL ``kill_grace_s`` later);
        False if none runs it."""
        for adopted in self._by_fd.values():
            if adopted.key == key:
                if adopted.ending is None:
                    self._terminate(adopted, reason, now)
                return True
        return False

    def check_deadlines(self, now: float) -> None:
        for adopted in self._by_fd.values():
            if adopted.ending is None and adopted.deadline is not None and now >= adopted.deadline:
                self._terminate(
                    adopted,
                    f"timed out after {adopted.timeout_s:g} s (execution_timeout); worker killed",
                    now,
                )
            elif adopted.sigkill_at is not None and now >= adopted.sigkill_at:
                adopted.sigkill_at = None
                kill_child_groups(adopted.info.pid)
                adopted.signal(signal.SIGKILL)

    def deadlines(self) -> list[float]:
        found = [a.deadline for a in self._by_fd.values() if a.ending is None and a.deadline]
        return found + [a.sigkill_at for a in self._by_fd.values() if a.sigkill_at is not None]

    def stop(self) -> None:
        """Terminate every adopted worker and wait for them (SIGKILL after the grace), on
        their pidfds as ``stop_workers`` waits on its workers' sentinels; they are not
        reported: the scheduler records them as stopped, as its own workers."""
        for adopted in self._by_fd.values():
            adopted.signal(signal.SIGTERM)
        pending = dict(self._by_fd)
        deadline = time.monotonic() + self._kill_grace_s
        while pending and (remaining := deadline - time.monotonic()) > 0:
            for pidfd in wait(list(pending), remaining):
                assert isinstance(pidfd, int)
                pending.pop(pidfd)
        for adopted in pending.values():
            kill_child_groups(adopted.info.pid)
            adopted.signal(signal.SIGKILL)
        for pidfd in self._by_fd:
            os.close(pidfd)
        self._by_fd.clear()

    def _terminate(self, adopted: _Adopted, reason: str, now: float) -> None:
        adopted.ending = reason
        adopted.sigkill_at = now + self._kill_grace_s
        log.warning(
            "Terminating adopted worker process %d running task %s of run %s: %s",
            adopted.info.pid,
            adopted.key.label,
            adopted.key.run_id,
            reason,
        )
        adopted.signal(signal.SIGTERM)

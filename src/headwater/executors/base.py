"""The executor interface: how the engine's drivers hand attempts to something that runs them.

An executor is told to ``queue`` an instance, reports finished attempts from ``poll``, can
``kill`` an attempt, and ``heartbeat`` lets it check on its workers. The in-process
executor runs attempts one by one in this process; a worker pool and Celery implement the
same four calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from headwater.engine.records import AttemptOutcome, DagRun, TaskInstance, TaskInstanceKey


class Executor(ABC):
    """Runs task attempts somewhere and reports how they ended."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare to accept work (start workers...)."""

    def stop(self) -> list[tuple[TaskInstanceKey, AttemptOutcome]]:
        """Stop accepting work and release resources.

        Returns the attempts that had ended without being reported by :meth:`poll` yet; the
        attempts it cut short are not reported (their caller puts them back).
        """
        return []

    @abstractmethod
    def queue(self, key: TaskInstanceKey) -> None:
        """Run the next attempt of the instance ``key`` when there is room."""

    @abstractmethod
    def poll(self, timeout: float) -> list[tuple[TaskInstanceKey, AttemptOutcome]]:
        """Attempts that ended since the last poll; waits up to ``timeout`` seconds for one."""

    def heartbeat(self) -> None:  # noqa: B027 - optional for executors without workers
        """Check on workers; called by drivers between polls."""

    def running(self) -> Mapping[TaskInstanceKey, object]:
        """The attempts running now, each with what the executor knows of its worker."""
        return {}

    def adopt(
        self,
        key: TaskInstanceKey,
        pid: int,
        hostname: str,
        started_at: datetime,
        timeout_s: float | None,
    ) -> bool:
        """Take over an attempt that an earlier scheduler left running: the process ``pid``
        on ``hostname`` runs ``key`` since ``started_at``.

        True when this executor now watches it: :meth:`poll` reports it when it ends (an
        outcome the worker recorded is then applied by the scheduler), :meth:`kill` and
        ``timeout_s`` apply to it as to the attempts it started. False when it cannot (not
        a worker of this kind of executor, gone, another machine): the caller ends the
        attempt as lost. The default adopts nothing.
        """
        return False

    @abstractmethod
    def kill(self, key: TaskInstanceKey) -> None:
        """Stop the running attempt of ``key`` if there is one."""

    @property
    @abstractmethod
    def has_work(self) -> bool:
        """Whether attempts are queued or running."""


@dataclass(frozen=True)
class AttemptPayload:
    """What a worker needs to run one attempt (picklable; the scheduler makes it,
    ``runtime.remote_attempt`` runs it)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    fileloc: str
    log_path: str
    database_url: str
    run: DagRun | None = None
    """The run and the instance as the scheduler just committed them: the worker needs not
    read them back from the database."""
    ti: TaskInstance | None = None

"""The executor interface: how the engine's drivers hand attempts to something that runs them.

An executor is told to ``queue`` an attempt (an :class:`~headwater.engine.records.AttemptKey`:
the instance and the try number), reports finished attempts from ``poll`` under the same key,
can ``kill`` one, ``adopt`` one an earlier scheduler left running, and ``heartbeat`` lets it
check on its workers. Whoever runs an attempt records its outcome in the database before it
is reported (:mod:`headwater.runtime.recorded_attempt`); what goes to a worker is a
versioned JSON message without credentials (:mod:`headwater.executors.messages`). The
in-process executor runs attempts one by one in this process; the local worker pool (and
Celery, later) implement the same calls. Which one a scheduler uses is a setting
(``scheduler.executor``), looked up in :mod:`headwater.scheduler.executor_registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from headwater.engine.records import AttemptKey, AttemptOutcome


@dataclass(frozen=True)
class AttemptStarted:
    """An executor's report that attempt ``key`` went to a worker: ``pid`` on ``hostname``,
    at ``at``. The worker claims the attempt's row itself when it starts it."""

    key: AttemptKey
    hostname: str
    pid: int
    at: datetime


class Executor(ABC):
    """Runs task attempts somewhere and reports how they ended."""

    queued_ahead: int = 0
    """How many attempts beyond the scheduler's ``parallelism`` this executor takes and holds
    until a worker is free (the local executor: a worker that ends an attempt gets the next
    one at once, instead of after the scheduler's next write to the database)."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare to accept work (start workers...)."""

    def stop(self) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Stop accepting work and release resources.

        Returns the attempts that had ended without being reported by :meth:`poll` yet; the
        attempts it cut short are not reported (their caller puts them back).
        """
        return []

    @abstractmethod
    def queue(self, key: AttemptKey) -> None:
        """Run attempt ``key`` (try ``key.try_number`` of its instance) when there is room.
        Every report about it names the same key: a result is never taken for another try."""

    @abstractmethod
    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Attempts that ended since the last poll; waits up to ``timeout`` seconds for one."""

    def started(self) -> list[AttemptStarted]:
        """The attempts handed to a worker since the last call (each reported once, before
        or with its outcome from :meth:`poll`); the scheduler marks their instances running.
        """
        return []

    def waiting(self) -> int:
        """How many attempts it holds queued, not handed to a worker yet (at most
        :attr:`queued_ahead` beyond what its workers run)."""
        return 0

    def heartbeat(self) -> None:  # noqa: B027 - optional for executors without workers
        """Check on workers; called by drivers between polls."""

    def running(self) -> Mapping[AttemptKey, object]:
        """The attempts running now, each with what the executor knows of its worker."""
        return {}

    def adopt(
        self,
        key: AttemptKey,
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
    def kill(self, key: AttemptKey) -> None:
        """Stop the running attempt of ``key`` if there is one."""

    @property
    @abstractmethod
    def has_work(self) -> bool:
        """Whether attempts are queued or running."""

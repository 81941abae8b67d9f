"""The executor interface: how the engine's drivers hand attempts to something that runs them.

An executor is told to ``queue`` an instance, reports finished attempts from ``poll``, can
``kill`` an attempt, and ``heartbeat`` lets it check on its workers. The in-process
executor runs attempts one by one in this process; a worker pool and Celery implement the
same four calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from headwater.engine.records import AttemptOutcome, TaskInstanceKey


class Executor(ABC):
    """Runs task attempts somewhere and reports how they ended."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare to accept work (start workers...)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop accepting work and release resources."""

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

    @abstractmethod
    def kill(self, key: TaskInstanceKey) -> None:
        """Stop the running attempt of ``key`` if there is one."""

    @property
    @abstractmethod
    def has_work(self) -> bool:
        """Whether attempts are queued or running."""

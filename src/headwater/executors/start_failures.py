"""Worker processes that fail to start: back off, say it once, give up after a bound.

A worker that cannot start (its function does not load, the fork server is gone, ``fork``
fails) would fail again at once if started again at once: the local executor used to loop
on it, restarting it and printing the same error many times a second. :class:`StartFailures`
counts the failures in a row, spaces the next start exponentially (0.5 s, 1 s, 2 s, ...,
at most 30 s, on the executor's clock), logs a failure once per distinct reason, and after
``limit`` failures in a row holds the error that the executor raises: the scheduler then
stops with that one line instead of looping.
"""

from __future__ import annotations

import logging

from headwater.exceptions import HeadwaterError

__all__ = ["StartFailures", "WorkerStartError"]

log = logging.getLogger("headwater.executors.local")

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0


class WorkerStartError(HeadwaterError):
    """Worker processes failed to start too many times in a row."""


class StartFailures:
    """Failed worker starts in a row, and when the next start may be tried.

    Example::

        failures = StartFailures(limit=5)
        failures.failed("cannot load mymodule:run: ImportError: ...", now)
        failures.may_start(now)          # False until now + 0.5 s
        failures.succeeded()             # a worker started: back to normal
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise HeadwaterError(f"the limit of failed worker starts must be at least 1: {limit}")
        self.limit = limit
        self.count = 0
        self.next_start_at = 0.0
        self._reported: str | None = None
        self.error: WorkerStartError | None = None
        """Set once ``limit`` starts failed in a row: the executor raises it."""

    def failed(self, reason: str, now: float) -> None:
        """A worker could not start, for ``reason``, at clock time ``now``."""
        self.count += 1
        delay = min(FIRST_DELAY_S * 2 ** (self.count - 1), MAX_DELAY_S)
        self.next_start_at = now + delay
        if self.count >= self.limit:
            self.error = WorkerStartError(
                f"worker processes cannot start: {reason} ({self.count} failed starts in a "
                "row, setting scheduler.worker_start_attempts)"
            )
        elif reason != self._reported:
            self._reported = reason
            log.error(
                "A worker process could not start: %s; trying again with growing delays, "
                "up to %d times",
                reason,
                self.limit,
            )
        else:
            log.debug("A worker process could not start again (%d in a row)", self.count)

    def succeeded(self) -> None:
        """A worker started: the next failure is reported again and starts a new count."""
        if self.count:
            log.info("Worker processes start again after %d failed start(s)", self.count)
        self.count = 0
        self.next_start_at = 0.0
        self._reported = None

    def may_start(self, now: float) -> bool:
        return self.error is None and now >= self.next_start_at

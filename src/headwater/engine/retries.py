"""Retry policy: whether a failed attempt is retried, and how long it waits first.

:func:`retry_failed_attempt` is the one place that decides. The task runtime asks it when an
attempt fails (to write "Marking for retry" or "Marking as failed" and call the matching
task callback) and reports the answer in the :class:`~headwater.engine.records.AttemptOutcome`;
the engine applies that answer, and asks itself only for an attempt no runtime finished (its
worker died, its heartbeat stopped).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator


def retry_failed_attempt(try_number: int, max_tries: int, *, no_retry: bool = False) -> bool:
    """Whether failed attempt ``try_number`` is retried: while attempts remain (``max_tries``
    is 1 + retries), unless the task said not to (``TaskFailedNoRetry``) or its retry policy
    failed it (``no_retry`` for both: a policy never adds attempts)."""
    return not no_retry and try_number < max_tries


def retry_delay(task: BaseOperator, try_number: int, chosen: timedelta | None = None) -> timedelta:
    """The wait before the attempt after ``try_number``: ``chosen`` when the task's retry
    policy chose one (as it is: no backoff, no cap, as Airflow's), else the task's.

    With ``retry_exponential_backoff`` the delay doubles each try (``delay * 2**(try-1)``),
    capped by ``max_retry_delay``. Unlike Airflow there is no random jitter, so runs are
    reproducible.
    """
    if chosen is not None:
        return chosen
    delay = task.retry_delay
    if task.retry_exponential_backoff:
        delay = delay * (2 ** max(try_number - 1, 0))
    if task.max_retry_delay is not None and delay > task.max_retry_delay:
        delay = task.max_retry_delay
    return delay

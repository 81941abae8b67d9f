"""The Celery executor: attempts run on ``headwater celery worker`` processes, through Redis
or RabbitMQ (``scheduler.executor = "celery"``; docs/celery.md).

* :mod:`~headwater.celery_executor.app`: the Celery app built from ``[celery]``, task ids;
* :mod:`~headwater.celery_executor.worker_task`: the one Celery task (runs an attempt message);
* :mod:`~headwater.celery_executor.attempt_heartbeat`: the worker's heartbeat of its attempt;
* :mod:`~headwater.celery_executor.results`: reading the result backend;
* :mod:`~headwater.celery_executor.executor`: :class:`CeleryExecutor`, the scheduler's side;
* :mod:`~headwater.celery_executor.workers`: starting a worker, and what workers report.

Workers reach state through the metadata database directly: the claim of an attempt and its
recorded outcome are compare-and-sets in the same database the scheduler uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.executors.base import Executor
    from headwater.scheduler.scheduler import Scheduler
    from headwater.settings import Settings

__all__ = ["celery_executor_factory"]


def celery_executor_factory(settings: Settings) -> Callable[[Scheduler], Executor]:
    """Builds the Celery executor for a scheduler; refuses bad ``[celery]`` URLs at once."""
    from headwater.celery_executor.app import check_urls
    from headwater.celery_executor.executor import CeleryExecutor

    check_urls(settings.celery)

    def factory(scheduler: Scheduler) -> Executor:
        return CeleryExecutor(
            settings.celery,
            prepare=lambda key: scheduler.prepare_attempt(key, 0, ""),
            attempts=scheduler.store,
            kill_grace_s=settings.scheduler.kill_grace_s,
            clock=scheduler.clock,
        )

    return factory

"""The scheduler's gauges that follow its own state (``[metrics]``): refreshed on each tick
of the loop from what it holds in memory, never from the database. The counts kept in the
database (runs, task instances, pools...) are read when ``/metrics`` is scraped instead
(:mod:`headwater.metrics.store_counts`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headwater.metrics.definitions import EXECUTOR_OPEN_SLOTS

if TYPE_CHECKING:
    from headwater.scheduler.scheduler_state import SchedulerState


class MetricsDuty:
    """Sets ``headwater_executor_open_slots``: parallelism (and what the executor queues
    ahead) minus the attempts queued or running through this scheduler."""

    name = "metrics"

    def __init__(self, scheduler: SchedulerState) -> None:
        self._scheduler = scheduler

    def tick(self, now: datetime) -> None:
        scheduler = self._scheduler
        busy = len(scheduler._active)  # its own scheduler: a read of a dict
        EXECUTOR_OPEN_SLOTS.set(max(scheduler.handed_out_limit - busy, 0))

    def stop(self) -> None:
        """Nothing to stop."""

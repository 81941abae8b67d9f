"""TimeDeltaSensor and TimeDeltaSensorAsync: wait until a delta after the run's data
interval ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.sensors.base import BaseSensorOperator
from headwater.sensors.date_time import attempt_now
from headwater.sensors.deferring import defer_sensor
from headwater.triggers.temporal import DateTimeTrigger


class TimeDeltaSensor(BaseSensorOperator):
    """Succeeds once ``delta`` has passed since the end of the run's data interval (its
    logical date when it has none), as Airflow's. A daily run for 2024-01-31 whose interval
    ends at midnight with ``delta=timedelta(hours=6)`` waits until 2024-02-01 06:00.

    With ``deferrable=True`` it waits in the triggerer (:class:`DateTimeTrigger`) and holds
    no worker. Example: ``TimeDeltaSensor(task_id="settle", delta=timedelta(hours=2))``.
    """

    def __init__(self, *, delta: timedelta, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(delta, timedelta):
            raise DagDefinitionError(
                f"task {self.task_id!r}: delta must be a timedelta, got {delta!r:.80}"
            )
        self.delta = delta
        self.deferrable = bool(deferrable)

    def ready_at(self, context: dict[str, Any]) -> datetime | None:
        """The moment the delay has passed: the wait before a poke ends there."""
        return self.target(context)

    def target(self, context: dict[str, Any]) -> datetime:
        """The end of the data interval (else the logical date), plus ``delta``."""
        base = context.get("data_interval_end") or context.get("logical_date")
        if not isinstance(base, datetime):
            raise HeadwaterError(
                f"task {self.task_id!r}: the run has no data interval end to count from"
            )
        return base + self.delta

    def poke(self, context: dict[str, Any]) -> bool:
        target = self.target(context)
        log = getattr(context.get("ti"), "log", None)
        if log is not None:
            log.info("Checking whether %s has passed (delta %s)", target.isoformat(), self.delta)
        return attempt_now(context) > target

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            defer_sensor(self, DateTimeTrigger(self.target(context)))
        return None

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """The delta has passed: the wait is over."""


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """:class:`TimeDeltaSensor` with ``deferrable=True``: it waits in the triggerer."""

    def __init__(self, *, delta: timedelta, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(delta=delta, **kwargs)

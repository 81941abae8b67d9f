"""DateTimeSensor and DateTimeSensorAsync: wait until a date and time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.sensors.base import BaseSensorOperator
from headwater.sensors.deferring import defer_sensor
from headwater.triggers.temporal import DateTimeTrigger


def parse_target_time(value: str, task_id: str) -> datetime:
    """``value`` (ISO 8601 text) as an aware datetime; naive text is read in UTC, as
    Airflow reads it in its default time zone."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise HeadwaterError(
            f"task {task_id!r}: target_time {value!r} is not an ISO 8601 date and time"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def attempt_now(context: dict[str, Any]) -> datetime:
    """The time on the attempt's clock (``ti.now``: a test's fake clock under ``run_dag``),
    else the system's."""
    clock = getattr(context.get("ti"), "now", None)
    now = clock() if callable(clock) else None
    return now if isinstance(now, datetime) else datetime.now(UTC)


class DateTimeSensor(BaseSensorOperator):
    """Succeeds once the time is past ``target_time`` (a datetime, or ISO 8601 text, which
    may be a template: ``"{{ data_interval_end }}"``; a moment without a time zone is UTC).

    With ``deferrable=True`` it waits in the triggerer (:class:`DateTimeTrigger`) and holds
    no worker. Example::

        DateTimeSensor(task_id="after_six", target_time="{{ ds }}T18:00:00+00:00",
                       mode="reschedule", poke_interval=600)
    """

    template_fields: Sequence[str] = ("target_time",)

    def __init__(
        self, *, target_time: str | datetime, deferrable: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(target_time, datetime):
            self.target_time = target_time.isoformat()
        elif isinstance(target_time, str):
            self.target_time = target_time
            if "{{" not in target_time and "{%" not in target_time:
                try:
                    parse_target_time(target_time, self.task_id)
                except HeadwaterError as exc:
                    raise DagDefinitionError(str(exc)) from None
        else:
            raise DagDefinitionError(
                f"task {self.task_id!r}: target_time must be a datetime or ISO 8601 text, "
                f"got {type(target_time).__name__} {target_time!r:.80}"
            )
        self.deferrable = bool(deferrable)

    def ready_at(self, context: dict[str, Any]) -> datetime | None:
        """The target moment: the wait before a poke ends there."""
        return self.moment()

    def moment(self) -> datetime:
        """The rendered ``target_time``."""
        return parse_target_time(str(self.target_time), self.task_id)

    def poke(self, context: dict[str, Any]) -> bool:
        moment = self.moment()
        log = getattr(context.get("ti"), "log", None)
        if log is not None:
            log.info("Checking whether the time (%s) has come", moment.isoformat())
        return attempt_now(context) > moment

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            defer_sensor(self, DateTimeTrigger(self.moment()))
        return None

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """The moment has come: the wait is over."""


class DateTimeSensorAsync(DateTimeSensor):
    """:class:`DateTimeSensor` with ``deferrable=True``: it waits in the triggerer."""

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(target_time=target_time, **kwargs)

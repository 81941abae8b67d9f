"""TimeSensor (and TimeSensorAsync): wait until a time of day; DayOfWeekSensor: wait until
one of the given week days (Airflow's sensors of the same names)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from headwater.authoring.schedules import schedule_zone
from headwater.exceptions import DagDefinitionError
from headwater.operators.weekday import WeekDay, week_days
from headwater.sensors.base import BaseSensorOperator
from headwater.sensors.date_time import DateTimeSensor, attempt_now


class TimeSensor(DateTimeSensor):
    """Succeeds once today's ``target_time`` (a :class:`datetime.time`) has passed. "Today"
    is the day the attempt runs, in the time zone of ``target_time`` when it has one, else
    the DAG's (its start date's; UTC without one). Airflow fixes that day when the DAG file
    is parsed; here it is the day the task runs, so a run that starts after midnight waits
    for the new day's time.

    With ``deferrable=True`` it waits in the triggerer. Example::

        TimeSensor(task_id="after_six", target_time=time(18, 0), mode="reschedule")
    """

    template_fields = ()

    def __init__(self, *, target_time: time, deferrable: bool = False, **kwargs: Any) -> None:
        if not isinstance(target_time, time):
            task_id = kwargs.get("task_id")
            raise DagDefinitionError(
                f"task {task_id!r}: target_time must be a datetime.time, "
                f"got {type(target_time).__name__} {target_time!r:.80}"
            )
        # The parent's target_time is replaced at each attempt by moment().
        super().__init__(target_time=datetime(2000, 1, 1), deferrable=deferrable, **kwargs)
        self.time_of_day = target_time

    def moment(self) -> datetime:
        """Today's ``target_time``, aware."""
        zone = self.time_of_day.tzinfo or schedule_zone(
            self.dag.start_date if self.dag is not None else None
        )
        today = self._today(zone)
        return datetime.combine(today, self.time_of_day.replace(tzinfo=None), zone)

    def poke(self, context: dict[str, Any]) -> bool:
        self._attempt_time = attempt_now(context)  # "today" is the attempt's
        return super().poke(context)

    def _today(self, zone: Any) -> Any:
        now: datetime | None = getattr(self, "_attempt_time", None)
        return (now or datetime.now(zone)).astimezone(zone).date()


class TimeSensorAsync(TimeSensor):
    """:class:`TimeSensor` with ``deferrable=True``: it waits in the triggerer."""

    def __init__(self, *, target_time: time, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(target_time=target_time, **kwargs)


class DayOfWeekSensor(BaseSensorOperator):
    """Succeeds on one of ``week_day`` (a day's name in any case, a :class:`WeekDay`, or a
    set or list of them): today's day in UTC, as Airflow, or the run's logical date's with
    ``use_task_logical_date=True`` (what backfills and reruns should use). Example::

        DayOfWeekSensor(task_id="on_weekend", week_day={"Saturday", "Sunday"},
                        mode="reschedule", poke_interval=3600)
    """

    def __init__(
        self,
        *,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.week_day: frozenset[WeekDay] = week_days(week_day)
        except ValueError as exc:
            raise DagDefinitionError(f"task {self.task_id!r}: week_day: {exc}") from None
        self.use_task_logical_date = use_task_logical_date

    def poke(self, context: dict[str, Any]) -> bool:
        moment: datetime = (
            context["logical_date"] if self.use_task_logical_date else attempt_now(context)
        )
        day = WeekDay(moment.isoweekday())
        context["ti"].log.info(
            "%s is a %s; waiting for %s",
            moment.date().isoformat(),
            day.name.title(),
            ", ".join(d.name.title() for d in sorted(self.week_day)),
        )
        return day in self.week_day

"""Schedules: when a DAG's runs happen, as data intervals.

A run covers the data interval ``[start, end)`` and, when scheduled, fires at ``end``;
its ``logical_date`` is ``start`` (Airflow's semantics). Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from headwater.exceptions import InvalidScheduleError

PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


class Schedule:
    """Turns a logical date into a data interval and finds the next interval."""

    description = "None"

    def interval_for(self, logical_date: datetime) -> tuple[datetime, datetime]:
        """The data interval of a run whose logical date is ``logical_date``."""
        return logical_date, logical_date

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        """The first interval that starts at or after ``after``; None if there is none."""
        return None


class NullSchedule(Schedule):
    """``schedule=None``: runs only when triggered."""


class OnceSchedule(Schedule):
    """``"@once"``: one run at the start date."""

    description = "@once"

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        return after, after


class CronSchedule(Schedule):
    """A cron expression (or preset); intervals run from one fire time to the next."""

    def __init__(self, expression: str) -> None:
        from croniter import croniter

        self.description = expression
        self.expression = PRESETS.get(expression, expression)
        if expression.startswith("@") and expression not in PRESETS:
            known = ", ".join([*PRESETS, "@once"])
            raise InvalidScheduleError(f"unknown schedule preset {expression!r}; known: {known}")
        if not croniter.is_valid(self.expression):
            raise InvalidScheduleError(
                f"invalid cron expression {expression!r}: expected 5 fields "
                "'minute hour day-of-month month day-of-week', e.g. '0 6 * * *'"
            )

    def _next(self, moment: datetime) -> datetime:
        from croniter import croniter

        result: datetime = croniter(self.expression, moment).get_next(datetime)
        return result

    def _prev(self, moment: datetime) -> datetime:
        from croniter import croniter

        result: datetime = croniter(self.expression, moment).get_prev(datetime)
        return result

    def _align(self, moment: datetime) -> datetime:
        """``moment`` if it is a fire time, else the fire time just before it."""
        return moment if self._next(self._prev(moment)) == moment else self._prev(moment)

    def interval_for(self, logical_date: datetime) -> tuple[datetime, datetime]:
        start = self._align(logical_date)
        return start, self._next(start)

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        start = after if self._align(after) == after else self._next(after)
        return start, self._next(start)


class DeltaSchedule(Schedule):
    """A fixed ``timedelta``: intervals of that length, counted from the start date."""

    def __init__(self, delta: timedelta) -> None:
        if delta <= timedelta(0):
            raise InvalidScheduleError(f"a timedelta schedule must be positive, got {delta}")
        self.delta = delta
        self.description = str(delta)

    def interval_for(self, logical_date: datetime) -> tuple[datetime, datetime]:
        return logical_date, logical_date + self.delta

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        return after, after + self.delta


def parse_schedule(value: Any) -> Schedule:
    """Build a :class:`Schedule` from what ``DAG(schedule=...)`` accepts."""
    if value is None:
        return NullSchedule()
    if isinstance(value, Schedule):
        return value
    if isinstance(value, timedelta):
        return DeltaSchedule(value)
    if isinstance(value, str):
        if value == "@once":
            return OnceSchedule()
        return CronSchedule(value.strip())
    raise InvalidScheduleError(
        f"schedule must be None, a cron string, a preset like '@daily' or a timedelta; "
        f"got {value!r}"
    )

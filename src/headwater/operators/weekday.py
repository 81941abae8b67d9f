"""Days of the week, as ``BranchDayOfWeekOperator`` takes them (Airflow's ``WeekDay``)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class WeekDay(IntEnum):
    """ISO week days: Monday is 1, Sunday 7 (``datetime.isoweekday()``)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def of(cls, day: str | WeekDay) -> WeekDay:
        """The day named ``day`` (any case), or ``day`` itself; ValueError naming the days."""
        if isinstance(day, WeekDay):
            return day
        if isinstance(day, str) and day.strip().upper() in cls.__members__:
            return cls[day.strip().upper()]
        names = ", ".join(d.name.title() for d in cls)
        raise ValueError(f"{day!r} is not a week day; use one of {names} or a WeekDay")


def week_days(value: str | WeekDay | Iterable[str | WeekDay]) -> frozenset[WeekDay]:
    """One day or a set/list of them as a set of :class:`WeekDay`; ValueError if empty."""
    if isinstance(value, str | WeekDay):
        return frozenset({WeekDay.of(value)})
    if not isinstance(value, Iterable):
        raise ValueError(f"expected a day, a WeekDay or a set of them, got {value!r:.80}")
    days = frozenset(WeekDay.of(day) for day in value)
    if not days:
        raise ValueError("no week day given")
    return days
